/* table_int.h - what the files of the table module share and nothing else may use: publishing
 * a new metadata version, retry backoff, and metadata-only commits. */
#ifndef TN_TABLE_INT_H
#define TN_TABLE_INT_H

#include "table.h"

#define TN_COMMIT_ATTEMPTS 12

/* Sleep before retry "attempt" (1, 2, ...): exponential from 5 ms to 2 s, with jitter. */
void tn__backoff(int attempt);
/* Where the metadata version after "t" goes: <table_location>/metadata/<version+1>-<uuid>
 * .metadata.json, the version read from t's own file name (caller frees). */
char *tn__next_metadata_location(const struct tn_table *t, const char *table_location);
/* Write "next" as the metadata version after "t" and swap the catalog pointer to it.
 * TN_ECONFLICT when another commit got there first; the file is deleted on any failure. */
int tn__publish(struct tn_warehouse *wh, const struct tn_table *t, struct tn_metadata *next,
                struct tn_err *err);
/* After "next" replaced "base" in the catalog: with write.metadata.delete-after-commit.enabled,
 * delete the metadata files base's metadata-log named that next's no longer does (errors are
 * ignored: a file left behind is an orphan, never a broken table). */
void tn__delete_old_metadata(struct tn_warehouse *wh, const struct tn_table *base,
                             const struct tn_metadata *next);
/* A REST CommitTableRequest's "reqs" checked against the metadata JSON "base", then its "updates"
 * applied to a copy of it, returned in *out (NULL on failure); nothing is validated or written.
 * rest_commit.c commits with it; fuzz/fuzz_rest.c feeds it untrusted requests. */
int tn__rest_apply(json_t *base, json_t *reqs, json_t *updates, json_t **out,
                   struct tn_err *err);
/* A metadata-only commit (schema change, rollback, refs, properties): "mutate" edits a copy of
 * the current metadata JSON; it is validated, published, and retried on a lost race with the
 * mutation re-applied to the newer metadata. */
int tn__commit_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                        int (*mutate)(const struct tn_table *t, json_t *root, void *ctx,
                                      struct tn_err *err),
                        void *ctx, struct tn_err *err);

/* One commit of new files: data files and position-delete files already written and
 * published. With read_snapshot set (row-level changes), a commit over anything but appends
 * made since that snapshot is refused (TN_ECONFLICT) instead of retried. */
struct tn_row_change {
    enum tn_write_mode mode;
    const char *branch;
    const char *operation; /* "append", "overwrite" or "delete" */
    int64_t read_snapshot; /* -1: a blind append */
    struct tn_data_file *data;
    size_t ndata;
    struct tn_data_file *deletes;
    size_t ndeletes;
    const int *delete_specs; /* the partition spec of each delete file (that of the data
                                files it applies to); NULL: the default spec for all */
    json_t *remove; /* with TN_WRITE_OVERWRITE: paths of the files to remove (object used as a
                       set); NULL removes every live file */
};

/* "base" is the table as the caller loaded it: the first attempt builds on it (no second read of
 * the metadata), a retry after a lost race reloads. */
int tn__commit_rows(struct tn_warehouse *wh, const struct tn_table *base,
                    const struct tn_row_change *c, struct tn_commit_result *res,
                    struct tn_err *err);

/* Start "subset" as a scan of none of "scan"'s data files, with its snapshot, its delete files
 * and t's current schema; the caller adds entries (shallow copies) to subset->data, which has
 * room for all of scan's, and frees only subset->data. */
void tn__scan_subset_init(struct tn_scan *subset, const struct tn_scan *scan,
                          const struct tn_table *t);
/* Append the live entries of manifest "mf" to *all (*n used of *cap), as EXISTING: what a
 * rewrite of manifests carries over. */
int tn__carry_live_entries(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_manifest_file *mf, struct tn_manifest_entry **all,
                           size_t *n, size_t *cap, struct tn_err *err);
/* TN_EINPUT unless tarn can write the table (format v2). */
int tn__check_writable(const struct tn_table *t, struct tn_err *err);
/* A fresh location for a new file of "t" (data folder, write.data.path honoured). */
char *tn__new_file_location(const struct tn_table *t, const char *suffix);
/* Write the rows of "select_sql" as one new data file of "t" (statistics filled). */
int tn__write_data_file(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                        const char *select_sql, struct tn_data_file *file, struct tn_err *err);
/* Delete a file written by a change that did not commit, and release it. */
void tn__discard_file(struct tn_warehouse *wh, const struct tn_table *t,
                      struct tn_data_file *file);

/* Write the distinct (_tn_file, _tn_pos) rows of "positions_sql" as one position-delete file
 * of "t", sorted as the spec asks. out->record_count is 0 (and no file is left) when there are
 * none. */
int tn__write_position_deletes(struct tn_warehouse *wh, struct tn_session *s,
                               const struct tn_table *t, const char *positions_sql,
                               struct tn_data_file *out, struct tn_err *err);
/* Upsert the rows of "select_sql" into "t" by the columns named in "keys" (JSON array): rows
 * whose key exists replace the old row, the others are inserted, in one commit. */
int tn__upsert(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
               const char *branch, const char *select_sql, json_t *keys, int dedupe_last,
               struct tn_commit_result *res, int64_t *rows_updated, struct tn_err *err);
/* Set (or with value NULL remove) a table property as a metadata-only commit. */
int tn__set_property(struct tn_warehouse *wh, const char *ns, const char *name, const char *key,
                     const char *value, struct tn_err *err);

/* COPY the rows of "select_sql", cast to "schema", into Parquet at local "path" (with
 * "partition_exprs" -- ", expr AS __tn_p0, ..." -- into one folder per partition there). */
int tn__copy_to_parquet(struct tn_session *s, const struct tn_schema *schema,
                        const char *select_sql, const char *partition_exprs, const char *path,
                        int64_t *rows, struct tn_err *err);
/* Fill a data file's column statistics and split offsets from its Parquet footer at local
 * "path" (read by tarn, not DuckDB). Errors as tn_parquet_footer_read. */
int tn__file_stats(const struct tn_schema *schema, const char *path, struct tn_data_file *f,
                   struct tn_err *err);
/* Write the rows of "select_sql" into a partitioned table: one data file per partition, each
 * with its partition tuple. *out is an array of *n files (caller releases each and frees). */
int tn__write_partitioned(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                          const char *select_sql, struct tn_data_file **out, size_t *n,
                          struct tn_err *err);
/* Parse a partition spec ("day(ts), bucket(16, id), region") against "schema" into the JSON
 * fields of a partition spec (field ids from 1000). */
int tn__spec_parse(const char *text, const struct tn_schema *schema, json_t **out,
                   struct tn_err *err);

/* The plan cache (plan_cache.c): immutable files' parsed contents by location, LRU-bounded by
 * bytes, thread-safe. A handle from get or put holds a reference until released. */
#define TN_PLAN_CACHE_BYTES (256L * 1024 * 1024)
struct tn_cached;
struct tn_plan_cache *tn__plan_cache_new(size_t capacity);
void tn__plan_cache_free(struct tn_plan_cache *c);
/* The entry for "key" (counted as a hit), or NULL (a miss). */
struct tn_cached *tn__plan_cache_get(struct tn_plan_cache *c, const char *key);
/* Add "value" (owned by the cache from now on, freed by "free_value") under "key", evicting
 * least recently used entries to stay within capacity; a value larger than the whole cache is
 * not kept beyond the returned handle. */
struct tn_cached *tn__plan_cache_put(struct tn_plan_cache *c, const char *key, void *value,
                                size_t bytes, void (*free_value)(void *value));
const void *tn__plan_cached_value(const struct tn_cached *e);
void tn__plan_cache_release(struct tn_plan_cache *c, struct tn_cached *e); /* NULL is a no-op */
void tn__plan_cache_stats(struct tn_plan_cache *c, struct tn_plan_cache_stats *out);
/* Keep parsed metadata "m" (read or just written, "text_len" bytes of JSON) as the metadata
 * file at "location", so that loads of it neither read nor parse. */
void tn__metadata_cache_put(struct tn_warehouse *wh, const char *location,
                            const struct tn_metadata *m, size_t text_len);

/* A WHERE clause as prune.c understands it (see there); NULL when it prunes nothing. */
struct tn_filter;
struct tn_filter *tn__filter_new(const struct tn_table *t, const struct tn_schema *schema,
                                 json_t *where, const char *alias);
/* Whether "t" reads files without field ids by a name mapping (their statistics may then
 * describe another column than the one read). */
int tn__table_has_name_mapping(const struct tn_table *t);
void tn__filter_free(struct tn_filter *f); /* NULL is a no-op */
/* Whether data manifest "mf" of "t" may hold a matching row, by its partition summaries (delete
 * manifests always may). A NULL filter matches everything. */
int tn__filter_manifest(const struct tn_filter *f, const struct tn_table *t,
                        const struct tn_manifest_file *mf);
/* Whether data file "e" may hold a matching row, by its statistics and partition values. */
int tn__filter_file(const struct tn_filter *f, const struct tn_table *t,
                    const struct tn_manifest_entry *e);

#endif /* TN_TABLE_INT_H */
