/* delta.h - Delta Lake tables read by tarn. A Delta table registered in the catalog becomes an
 * Iceberg table that tarn owns in its warehouse folder, translated from the Delta log: one
 * snapshot per Delta version (summary "delta-version", timestamp the commit time), over the Delta
 * table's own Parquet files; deletion vectors become position-delete files in tarn's folder. The
 * translation is kept current: loading the table first translates the versions the Delta log
 * gained since. Everything that reads Iceberg (scans, time travel, metadata tables, the REST
 * catalog) then reads the Delta table unchanged; writes are refused.
 *
 * log.c reads _delta_log (JSON commits, classic, multi-part and v2 checkpoints) and replays the
 * state at a version; translate.c turns states into Iceberg schemas, files and snapshots. */
#ifndef TN_DELTA_H
#define TN_DELTA_H

#include "table/table.h"

/* Table properties of the translated table: where the Delta table lives, and the last Delta
 * version translated. */
#define TN_DELTA_PROP_LOCATION "tarn.delta.location"
#define TN_DELTA_PROP_VERSION  "tarn.delta.version"
/* The snapshot summary key holding the Delta version a snapshot is. */
#define TN_DELTA_SUMMARY_VERSION "delta-version"

/*---- The log (log.c) ----*/

struct tn_delta_commit {
    int64_t version;
    char *uri;
    int64_t mtime_ms;
};

struct tn_delta_checkpoint {
    int64_t version;
    size_t nparts, parts_expected; /* multi-part: parts found and the total the names give */
    char **uris;
    int64_t mtime_ms;
};

/* What _delta_log holds: commits and complete or partial checkpoints, both sorted by version.
 * Anything else there (.crc, _last_checkpoint, .tmp/, _sidecars/ ...) is ignored. */
struct tn_delta_log {
    char *location; /* the table's location, without a trailing slash */
    struct tn_delta_commit *commits;
    size_t ncommits;
    struct tn_delta_checkpoint *checkpoints;
    size_t ncheckpoints;
};

/* The table's state at one version. */
struct tn_delta_state {
    int64_t version;   /* -1: nothing replayed yet */
    int64_t commit_ms; /* the version's commit time: inCommitTimestamp, else the file's mtime */
    json_t *protocol;  /* the protocol action in force */
    json_t *metadata;  /* the metaData action in force */
    json_t *files;     /* live files: add.path -> add action */
};

/* Kind of a name in _delta_log (exposed for tests). */
enum tn_delta_name {
    TN_DELTA_OTHER,
    TN_DELTA_COMMIT,     /* NNN.json */
    TN_DELTA_CHECKPOINT, /* NNN.checkpoint.parquet, NNN.checkpoint.i.n.parquet,
                            NNN.checkpoint.<uuid>.(json|parquet) */
};
/* Classify a file name (no directory): its version in *version and, for a multi-part
 * checkpoint, its part count in *parts (1 otherwise). */
enum tn_delta_name tn_delta_name_parse(const char *name, int64_t *version, size_t *parts);

/* List the log of the Delta table at "location". TN_ENOTFOUND when it has no _delta_log. */
int tn_delta_log_list(struct tn_storage *st, const char *location, struct tn_delta_log *out,
                      struct tn_err *err);
void tn_delta_log_release(struct tn_delta_log *log);
/* The latest version in the log (-1 when none). */
int64_t tn_delta_log_latest(const struct tn_delta_log *log);
/* The oldest version whose state can be rebuilt (a checkpoint, or version 0), -1 if none. */
int64_t tn_delta_log_oldest(const struct tn_delta_log *log);

void tn_delta_state_init(struct tn_delta_state *s);
void tn_delta_state_release(struct tn_delta_state *s);
/* Replay the state at "version": from the newest complete checkpoint at or before it, then
 * commits in order (per commit removes, then adds). TN_ENOTFOUND when it cannot be rebuilt. */
int tn_delta_state_at(struct tn_warehouse *wh, const struct tn_delta_log *log, int64_t version,
                      struct tn_delta_state *out, struct tn_err *err);
/* Apply commit "version" (which must be state->version + 1) to "state". */
int tn_delta_state_apply(struct tn_storage *st, const struct tn_delta_log *log, int64_t version,
                         struct tn_delta_state *state, struct tn_err *err);
/* Apply the actions of one commit's text (newline-delimited JSON) to "state"; *commit_info
 * gets the commitInfo action (a new reference, or NULL). Exposed for tests. */
int tn_delta_apply_text(const char *text, size_t len, struct tn_delta_state *state,
                        json_t **commit_info, struct tn_err *err);

/* TN_EUNSUPPORTED-style refusal (TN_EINPUT) naming the first reader feature of "protocol" tarn
 * does not read, or a reader version above 3. */
int tn_delta_protocol_check(const json_t *protocol, struct tn_err *err);

/*---- Tables (translate.c) ----*/

/* The location of a file a Delta action names (add.path, remove.path, cdc.path): a relative,
 * percent-encoded path is decoded and put under the table's "location"; an absolute URI is kept
 * (file: URIs become paths). Caller frees. */
char *tn_delta_file_uri(const char *location, const char *path);

/* 1 when "location" holds a Delta table (a _delta_log folder with a commit or checkpoint). */
int tn_delta_is_table(struct tn_storage *st, const char *location);
/* Register the Delta table at "location" as ns.name: translate every version its log can
 * rebuild into a new Iceberg table in the warehouse. Nothing is registered on failure. */
int tn_delta_register(struct tn_warehouse *wh, const char *ns, const char *name,
                      const char *location, struct tn_err *err);
/* When "*t" is a translated Delta table whose log has advanced, translate the new versions and
 * replace *t with the table as it is then. */
int tn_delta_refresh(struct tn_warehouse *wh, struct tn_table **t, struct tn_err *err);
/* The Delta location "t" was translated from, or NULL for any other table. */
const char *tn_delta_source(const struct tn_table *t);
/* TN_EFORBIDDEN when "t" is a registered Delta table, which tarn does not write. */
int tn_delta_check_write(const struct tn_table *t, struct tn_err *err);
/* TN_ENOTFOUND for time travel to "ms", before the first commit of translated table "t"
 * (its oldest snapshot at "first_ms"): the message names the earliest version and its commit
 * time, as Delta readers do. */
int tn_delta_before_first(const struct tn_table *t, int64_t ms, int64_t first_ms,
                          struct tn_err *err);
/* The snapshot of Delta version "version" (text) of translated table "t". */
int tn_delta_snapshot_of_version(const struct tn_table *t, const char *version, int64_t *out,
                                 struct tn_err *err);

/*---- The change data feed (cdf.c) ----*/

/* Append to "sql" a parenthesised SELECT of the changes of Delta table "t" from version "start"
 * to "end" (-1: the latest): its columns, then _change_type, _commit_version and
 * _commit_timestamp. TN_EINPUT for a table that is not a Delta table or a range outside its
 * versions. */
int tn_delta_changes_sql(struct tn_warehouse *wh, const struct tn_table *t, int64_t start,
                         int64_t end, struct tn_buf *sql, struct tn_err *err);

#endif /* TN_DELTA_H */
