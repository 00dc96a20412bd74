/* publish.h - publishing a tarn (Iceberg) table as a Delta Lake table too, over the same Parquet
 * files: with table property delta.enabled=true, every commit of the table writes the next
 * _delta_log/NNNNNNNNNNNNNNNNNNNN.json for the same change, from inside tn__commit (commit.c).
 *
 * HOW THE TWO LOGS STAY IN STEP
 *   - Delta version N is written (put-if-absent) after the next Iceberg metadata is built and
 *     before the catalog swap publishes it; the file is one of the attempt's files, so a swap
 *     that fails (or a lost race) deletes it again: neither log advances.
 *   - The Iceberg metadata that publishes it records N in property tarn.delta.published-version,
 *     so the next commit knows the last Delta version that really committed. A version file
 *     above it (left by a crash between the two steps) is recognised by its commitInfo (tarn's,
 *     naming a metadata file the catalog never published) and replaced; anything else there,
 *     or a last version not written by tarn, means another engine wrote to the log, and the
 *     write is refused (TN_ECONFLICT) rather than forking the table.
 *   - The Delta view is unpartitioned (tarn keeps partition columns in its data files, which
 *     Delta partition columns must not be), uses column mapping mode "id" (field id = Iceberg
 *     field id), and turns the position deletes of each data file into a deletion vector. */
#ifndef TN_DELTA_PUBLISH_H
#define TN_DELTA_PUBLISH_H

#include "table/table_int.h"

/* The table property that turns publishing on, and the one recording the last Delta version. */
#define TN_DELTA_ENABLED_PROP   "delta.enabled"
#define TN_DELTA_PUBLISHED_PROP "tarn.delta.published-version"
/* A checkpoint is written after every this many versions. */
#define TN_DELTA_CHECKPOINT_INTERVAL 10
/* Table properties copied into the Delta metaData and acted on: the change data feed, and how
 * long log files and tombstones (removed files, in checkpoints) are kept, with their defaults. */
#define TN_DELTA_CDF_PROP                       "delta.enableChangeDataFeed"
#define TN_DELTA_LOG_RETENTION_PROP             "delta.logRetentionDuration"
#define TN_DELTA_TOMBSTONE_RETENTION_PROP       "delta.deletedFileRetentionDuration"
#define TN_DELTA_LOG_RETENTION_DEFAULT_MS       (30LL * 86400000)
#define TN_DELTA_TOMBSTONE_RETENTION_DEFAULT_MS (7LL * 86400000)

/* Make delta.enabled=true the default of tables created from now on (tarn serve --delta). */
void tn_delta_set_default(int enabled);
int tn_delta_default(void);

/* Whether metadata "root" has delta.enabled=true (and is not a registered Delta table, whose
 * Delta log is its source: property tarn.delta.location). */
int tn_delta_enabled(const json_t *root);

/* Whether "root" is published with delta.enableChangeDataFeed=true. */
int tn_delta_cdf_enabled(const json_t *root);

/* A Delta duration ("interval 30 days", "interval 1 week 2 hours"; units week, day, hour,
 * minute, second, millisecond, singular or plural) in *out milliseconds; -1 when malformed. */
int tn_delta_duration_ms(const char *text, int64_t *out);

/* Whether the file at "uri" belongs to the Delta table published at "table_prefix" (the
 * table's location with a trailing slash, as listed): its _delta_log/, _change_data/ and its
 * deletion-vector files, which no Iceberg metadata names and remove_orphans must keep. */
int tn_delta_owns(const char *table_prefix, const char *uri);

/* What a publish leaves to do after the Iceberg commit is published (a checkpoint). */
struct tn_delta_pending;
void tn_delta_pending_free(struct tn_delta_pending *p);

/* What a change tells the publisher about row-level changes (tn__change.delta_row_change). */
enum {
    TN_DELTA_NOT_ROW_CHANGE = 0, /* appends, overwrites, maintenance, metadata */
    TN_DELTA_ROW_CHANGE,         /* DELETE/UPDATE/MERGE/upsert written without change data */
    TN_DELTA_ROW_CHANGE_CDF,     /* ... with change data files (the table had the feed on) */
};

/* Write the change data file of a row-level change of "t": the rows of "rows_sql" (the
 * table's columns, then _change_type) as <table>/_change_data/cdc-<uuid>.parquet, columns named
 * by physical name with field ids. Its {"uri", "size"} is appended to "out" (nothing for no
 * rows); the caller deletes it if its commit fails. */
int tn_delta_write_changes(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                           const char *rows_sql, json_t *out, struct tn_err *err);

/* Write Delta version N for the change from "base" to "next" (the metadata about to be
 * published at "next_location"): deletion-vector files and the version file go into "files"
 * (deleted unless the commit publishes), and the set-properties update recording N is appended
 * to "updates" (the caller applies it to the base again). *out (may stay NULL) holds what
 * tn_delta_after_publish does once the swap succeeded. "row_change" is a TN_DELTA_*ROW_CHANGE*
 * value and "cdc" (may be NULL) its change data files, which become cdc actions; a row-level
 * change whose change data does not match the feed's property is refused (TN_ECONFLICT).
 * TN_ECONFLICT with *busy set: another
 * tarn commit holds version N (a lost race: retry on a newer base); without: another engine
 * wrote to the log (refused). */
int tn_delta_publish(struct tn_warehouse *wh, const struct tn_table *base,
                     const struct tn_metadata *next, const char *next_location, json_t *updates,
                     int row_change, const json_t *cdc, struct tn__files *files,
                     struct tn_delta_pending **out, int *busy, struct tn_err *err);
/* After the commit published: write the checkpoint the version calls for (with a remove
 * tombstone for every file removed within delta.deletedFileRetentionDuration), then clean up
 * the log (after a checkpoint or an expiry): commit and checkpoint files older than
 * delta.logRetentionDuration (and than the tombstone retention) and older than the newest
 * checkpoint from which every version still within it can be rebuilt are deleted. Best
 * effort: a failure is reported on stderr and leaves the log readable. */
void tn_delta_after_publish(struct tn_warehouse *wh, struct tn_delta_pending *p);

#endif /* TN_DELTA_PUBLISH_H */
