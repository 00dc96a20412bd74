/* hudi.h - reading Apache Hudi tables: tarn translates a Hudi table's timeline into Iceberg
 * metadata it owns in the warehouse (one snapshot per completed commit, deltacommit and
 * replacecommit), so that every reader of Iceberg tables reads Hudi tables too. The Hudi files
 * themselves are never changed; the translated table refuses every change but the translation.
 *
 * Parsers of untrusted bytes (hoodie.properties, log blocks) are exposed for tests and fuzzing. */
#ifndef TN_HUDI_H
#define TN_HUDI_H

#include "core/core.h"

#include <jansson.h>

struct tn_warehouse;
struct tn_table;

/* The table property that marks a translated Hudi table and names its base path. */
#define TN_HUDI_LOCATION_PROPERTY "tarn.hudi.location"
/* Snapshot summary keys: the Hudi instant a snapshot is (main branch), and the one a snapshot of
 * the read-optimized branch is. */
#define TN_HUDI_INSTANT_KEY    "hudi-instant"
#define TN_HUDI_RO_INSTANT_KEY "hudi-read-optimized-instant"
/* Snapshot summary key of the snapshot that holds what archived instants wrote: the first instant
 * still on the active timeline, which every archived instant precedes. */
#define TN_HUDI_ARCHIVED_KEY "hudi-archived-before"
/* The branch that holds the read-optimized view (base files only) of a Merge-on-Read table. */
#define TN_HUDI_RO_BRANCH "read_optimized"

/*---- hoodie.properties (props.c) ----*/

/* Parse Java-properties text into a JSON object of strings (escapes, continuations and
 * comments as java.util.Properties reads them; a later key wins). */
int tn_hudi_props_parse(const char *text, size_t len, json_t **out, struct tn_err *err);

/*---- Log files (log.c) ----*/

enum tn_hudi_block_type {
    TN_HUDI_BLOCK_DELETE = 1,
    TN_HUDI_BLOCK_COMMAND = 2,
    TN_HUDI_BLOCK_AVRO = 3,
    TN_HUDI_BLOCK_PARQUET = 5,
};

/* One block of a log file; pointers point into the parsed bytes. */
struct tn_hudi_block {
    int type;           /* enum tn_hudi_block_type, or another Hudi block type */
    char instant[32];   /* header INSTANT_TIME ("" when absent) */
    char target[32];    /* header TARGET_INSTANT_TIME of a command block ("" when absent) */
    int command;        /* header COMMAND_BLOCK_TYPE (0 rollback), -1 when absent */
    const char *schema; /* header SCHEMA (writer Avro schema JSON), NULL when absent */
    size_t schema_len;
    const unsigned char *content;
    size_t content_len;
};

/* Split a whole log file into its blocks (*out: *n blocks, caller frees the array). A block
 * whose framing does not hold (bad magic, sizes beyond the file, a block length that does not
 * match) is refused with TN_EINPUT naming its offset. */
int tn_hudi_log_parse(const void *data, size_t len, struct tn_hudi_block **out, size_t *n,
                      struct tn_err *err);
/* The records of an Avro data block: *recs and *lens (n each, pointing into the block; caller frees
 * both arrays). */
int tn_hudi_avro_records(const struct tn_hudi_block *b, const void ***recs, size_t **lens,
                         size_t *n, struct tn_err *err);
/* The record keys of a delete block, as a JSON array of strings; "ordering" (when not NULL) gets
 * the parallel array of their ordering values (null: none or Hudi's default 0, the delete wins
 * whatever the ordering; also null for date, decimal, time and bytes ordering values). */
int tn_hudi_delete_keys(const struct tn_hudi_block *b, json_t **out, json_t **ordering,
                        struct tn_err *err);

/*---- Avro values as JSON (avrojson.c) ----*/

struct tn_avro_value;
/* Avro value "v" as JSON: records objects, maps objects, unions their branch; decimals as
 * decimal text, timestamp-micros/millis as "YYYY-MM-DD HH:MM:SS.ffffff", dates as
 * "YYYY-MM-DD", bytes and fixed as text. */
json_t *tn_hudi_avro_json(const struct tn_avro_value *v);

/*---- The table (sync.c) ----*/

/* Whether "location" holds a Hudi table (.hoodie/hoodie.properties is there). */
int tn_hudi_detect(struct tn_warehouse *wh, const char *location);
/* Register the Hudi table at "location" as ns.name: an Iceberg table in the warehouse whose
 * snapshots are the Hudi instants, read-only. */
int tn_hudi_register(struct tn_warehouse *wh, const char *ns, const char *name,
                     const char *location, struct tn_err *err);
/* Translate the instants completed since the last translated one (nothing when none). *out is
 * the table as published afterwards (or "t" again: then *out == NULL). */
int tn_hudi_sync(struct tn_warehouse *wh, const struct tn_table *t, struct tn_table **out,
                 struct tn_err *err);
/* Append to "sql" a SELECT of the incremental query of Hudi table "t": its records as of the
 * latest instant at or before "end" (NULL: the latest) written by instants in (begin, end]. */
int tn_hudi_changes_sql(struct tn_warehouse *wh, const struct tn_table *t, const char *begin,
                        const char *end, struct tn_buf *sql, struct tn_err *err);
/* The rows of metadata table "t$timeline": every instant of the Hudi timeline with its action,
 * state (REQUESTED, INFLIGHT, COMPLETED) and completion time (layout 2; null otherwise). */
int tn_hudi_timeline_rows(struct tn_warehouse *wh, const struct tn_table *t, json_t **out,
                          struct tn_err *err);
/* Time travel to snapshot "snapshot_id" of translated table "t": TN_ENOTFOUND naming the Hudi
 * instant and the cleans when a clean completed after that instant deleted one of its files,
 * or naming the first active instant when the snapshot is what archived instants wrote; 0 when
 * it reads (or "t" is no Hudi table). (clean.c) */
int tn_hudi_check_snapshot(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                           struct tn_err *err);
/* TN_ENOTFOUND when "instant" precedes the first instant still on the active timeline of
 * translated table "t" whose older instants Hudi archived (tarn has no snapshot of them and
 * would not fake one), naming that first instant; 0 otherwise. (clean.c) */
int tn_hudi_check_archived(const struct tn_table *t, const char *instant, const char *what,
                           struct tn_err *err);
/* The Hudi base path of a translated table, or NULL. */
const char *tn_hudi_location(const struct tn_table *t);

#endif /* TN_HUDI_H */
