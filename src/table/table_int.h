/* table_int.h - what the files of the table module share and nothing else may use: publishing
 * a new metadata version, retry backoff, and metadata-only commits. */
#ifndef TN_TABLE_INT_H
#define TN_TABLE_INT_H

#include "table.h"

/* How long a commit keeps retrying after lost races before it gives up (TN_ECONFLICT): long
 * enough that under a slow store (each attempt taking seconds) an append lands rather than
 * failing with 409 while the table is busy. */
#define TN_COMMIT_DEADLINE_MS 120000

/* Sleep before retry "attempt" (1, 2, ...): exponential from 5 ms to 2 s, with jitter. */
void tn__backoff(int attempt);
/* Where the metadata version after "t" goes: <table_location>/metadata/<version+1>-<uuid>
 * .metadata.json, the version read from t's own file name (caller frees). */
char *tn__next_metadata_location(const struct tn_table *t, const char *table_location);
/* TN_ENOTFOUND, with a message that says so, when the current metadata file of "t" is gone from
 * the store itself (a deleted bucket or folder that a cache would hide); one HEAD on S3, its
 * positive answer reused for 5 s. Called before a commit publishes on top of "t". */
int tn__check_base(struct tn_warehouse *wh, const struct tn_table *t, struct tn_err *err);
/* After "next" replaced "base" in the catalog: with write.metadata.delete-after-commit.enabled,
 * delete the metadata files base's metadata-log named that next's no longer does (errors are
 * ignored: a file left behind is an orphan, never a broken table). */
void tn__delete_old_metadata(struct tn_warehouse *wh, const struct tn_table *base,
                             const struct tn_metadata *next);

/* Files written for a change that are deleted again unless it is published (resolved URIs).
 * With "flush_at_commit" set, tn__files_write leaves them unflushed (tn_storage_write_unflushed)
 * and tn__commit flushes them all at once before its swap: set it only on a list that a
 * commit will see (an attempt's, or a change's "written"). */
struct tn__files {
    char **uris;
    size_t n, cap;
    int flush_at_commit;
    size_t flushed; /* uris[0, flushed) are on disk */
};
void tn__files_add(struct tn__files *f, const char *resolved);
/* Write "data" at "uri" of table "t" (path map applied) and record it in "f". */
int tn__files_write(struct tn_warehouse *wh, const struct tn_table *t, const char *uri,
                    const void *data, size_t len, struct tn__files *f, struct tn_err *err);
/* Flush what "f" holds unflushed. */
int tn__files_flush(struct tn_warehouse *wh, struct tn__files *f, struct tn_err *err);
/* Forget the files, deleting them first when "remove" is set. */
void tn__files_done(struct tn_warehouse *wh, struct tn__files *f, int remove);

/* One table's change, as tn__commit publishes it (see the top of commit.c). */
struct tn__change {
    const char *ns, *name;
    const struct tn_table *base; /* the version the caller read, or NULL: load it */
    const json_t *requirements;  /* checked against every attempt's base (may be NULL) */
    const json_t *updates;       /* applied to every attempt's base (may be NULL) */
    /* Optional, run on every attempt with the base and "staged" (the base with "updates"
     * applied, unpublished): adds the attempt's own updates to "updates" and records every file
     * it writes in "files" (deleted unless the attempt is published). TN_ECONFLICT from here is
     * a real conflict and is not retried. */
    int (*stage)(struct tn_warehouse *wh, const struct tn_table *base,
                 const struct tn_metadata *staged, void *ctx, json_t *updates,
                 struct tn__files *files, struct tn_err *err);
    void *ctx;
    struct tn__files *written; /* optional: files the caller wrote for this change with
                                  flush_at_commit set, flushed before the swap */
    int skip_if_unchanged;     /* publish nothing when the updates leave the metadata as it was */
    int translating;       /* the translation of a table tarn reads from another format (src/hudi):
                              the only change such a table accepts */
    struct tn_table **out; /* optional: the published version (or the base when unchanged) */
    /* For a table published as Delta (src/delta/publish.h): a TN_DELTA_*ROW_CHANGE* value, and
     * the change data files ({"uri", "size"}) the row-level change wrote (may be NULL). */
    int delta_row_change;
    const json_t *delta_cdc;
};
/* Publish "changes" (n tables; more than one move together in one catalog transaction) as one
 * commit: re-loaded, re-checked and re-applied after every lost race until
 * TN_COMMIT_DEADLINE_MS passes. On failure nothing is published and every file the commit
 * wrote is deleted. */
int tn__commit(struct tn_warehouse *wh, struct tn__change *changes, size_t n, struct tn_err *err);
/* A metadata-only commit (schema change, rollback, refs, properties): "build" appends to
 * "updates" what the change does to the current version "t"; run again on the newer version
 * after a lost race. */
int tn__commit_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                        int (*build)(const struct tn_table *t, void *ctx, json_t *updates,
                                     struct tn_err *err),
                        void *ctx, struct tn_err *err);

/* Whether Iceberg allows changing primitive type "from" to "to" in place (canonical names:
 * int to long, float to double, a wider decimal precision, or no change). */
int tn__promotion_allowed(const char *from, const char *to);
/* Append to "updates" the add-schema and set-current-schema that make "changes" of t's current
 * schema (new field ids after its last-column-id). Nothing is committed. */
int tn__evolve_updates(const struct tn_table *t, const struct tn_schema_change *changes, size_t n,
                       json_t *updates, struct tn_err *err);

/* A table that does not exist yet, in memory only (metadata_location NULL), with "schema"
 * (field ids assigned), format version "format_version" (0: the default, 2) and partition spec
 * text "partition_by" (or NULL): rows written with it
 * and committed (tn__commit_rows) create it in the catalog with their snapshot, in one commit
 * (TN_EEXISTS when another writer created it first). */
int tn__table_new(struct tn_warehouse *wh, const char *ns, const char *name, json_t *schema,
                  int format_version, const char *partition_by, struct tn_table **out,
                  struct tn_err *err);

/* Stage "updates" (under "requirements") on loaded table "*t" in memory: *t's metadata becomes
 * what they make of it, and the commit of the rows written with it (tn__commit_rows) publishes
 * them in the same commit. Nothing is written. References to both lists are taken. */
int tn__table_stage(struct tn_table *t, json_t *requirements, json_t *updates, struct tn_err *err);

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
    json_t *remove;       /* with TN_WRITE_OVERWRITE: paths of the files to remove (object used as a
                             set); NULL removes every live file. A deletion vector goes with the data
                             file it references. */
    json_t *replaced_dvs; /* v3, TN_WRITE_OVERWRITE: data file paths whose live deletion vector
                             the new one in "deletes" replaces (set; may be NULL) */
    int delta_row_change; /* see struct tn__change */
    const json_t *delta_cdc; /* ditto */
};

/* "base" is the table as the caller loaded it: the first attempt builds on it (no second read of
 * the metadata), a retry after a lost race reloads. */
int tn__commit_rows(struct tn_warehouse *wh, const struct tn_table *base,
                    const struct tn_row_change *c, struct tn_commit_result *res,
                    struct tn_err *err);

/* The name a relation gives top-level field "i" of "schema": its own, or "<name>_<field id>"
 * when an earlier field's name differs from it only in case (Iceberg's names are
 * case-sensitive, DuckDB's are not; the query resolver maps references to it). A new string. */
char *tn__scan_column_name(const struct tn_schema *schema, size_t i);
/* The lineage columns (TN_SCAN_LINEAGE_* and TN_SCAN_CARRY_* bits of "want") a relation of
 * "t" read with "schema" can add: none before format-version 3, and none under a name the
 * schema gives one of its own columns (the table's column wins). */
unsigned tn__lineage_available(const struct tn_table *t, const struct tn_schema *schema,
                               unsigned want);
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
/* TN_EFORBIDDEN when "t" is a table tarn reads from another format (a Hudi table): every change
 * but its translation is refused. */
int tn__check_read_only(const struct tn_table *t, struct tn_err *err);
/* TN_EINPUT unless tarn can write the table (format v2). */
int tn__check_writable(const struct tn_table *t, struct tn_err *err);
/* TN_EFORBIDDEN when the parse tree "tree" of a user's statement would have DuckDB open the
 * catalog by name (sandbox.c). */
int tn__sandbox_check(struct tn_warehouse *wh, json_t *tree, struct tn_err *err);
/* returning.c: the depth-0 RETURNING token at or after "from" (*at; 0 when none); the list
 * after it (a new string, NULL when empty); and the rows of "rows_sql" kept in a temporary
 * table of the session for "list" to read as "alias_sql" (SQL text: a quoted name), with the
 * SELECT that reads them in out->sql. */
int tn__returning_find(const struct tn_sql_tokens *t, size_t from, size_t *at);
char *tn__returning_list(const struct tn_sql_tokens *t, size_t at);
int tn__returning_keep(struct tn_session *s, const char *rows_sql, const char *list,
                       const char *alias_sql, struct tn_returning *out, struct tn_err *err);
/* query.c: tn_query_resolve at the current snapshots, never from the cache, with the names it
 * looked up (tables and views, at every depth) as keys "ns\x1fname" of *names (caller frees):
 * what a view's query reads; key TN__READS_FUNCTIONS is there when it calls a table function
 * (read_csv, range, ...) at any depth. */
#define TN__READS_FUNCTIONS "\x1f"
int tn__query_resolve_reads(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                            char **out, json_t **names, struct tn_err *err);

/* catalog_sql.c: answer SHOW TABLES, SHOW ALL TABLES, SHOW TABLES FROM ns, DESCRIBE t and
 * information_schema.tables/columns in parse tree "tree" from tarn's catalog (*rewritten set
 * when one was; "pinned": the request reads at a snapshot, so DESCRIBE is left to the scan). */
int tn__catalog_rewrite(struct tn_warehouse *wh, struct tn_session *s, json_t *tree, int pinned,
                        int *rewritten, struct tn_err *err);
/* A table "name" (of "schema", NULL for the default namespace) that is neither tarn's nor
 * DuckDB's: TN_ENOTABLE naming the nearest tarn table; 0 when DuckDB has it. */
int tn__catalog_unknown_table(struct tn_warehouse *wh, struct tn_session *s, const char *schema,
                              const char *name, struct tn_err *err);
/* A fresh location for a new file of "t" (data folder, write.data.path honoured). */
char *tn__new_file_location(const struct tn_table *t, const char *suffix);
/* tn_table_write on a table already loaded (or staged: its updates commit with the rows). */
int tn__table_write(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                    const char *select_sql, const struct tn_write_options *wo,
                    struct tn_commit_result *res, struct tn_err *err);
/* Write the rows of "select_sql" as one new data file of "t" (statistics filled). */
int tn__write_data_file(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                        const char *select_sql, struct tn_data_file *file, struct tn_err *err);
/* tn__write_data_file at location "uri" (owned: it becomes file->file_path, or is freed). */
int tn__write_data_file_at(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                           char *uri, const char *select_sql, struct tn_data_file *file,
                           struct tn_err *err);
/* Delete a file written by a change that did not commit, and release it. */
void tn__discard_file(struct tn_warehouse *wh, const struct tn_table *t, struct tn_data_file *file);

/* Write the distinct (_tn_file, _tn_pos) rows of "positions_sql" as one position-delete file
 * of "t", sorted as the spec asks. out->record_count is 0 (and no file is left) when there are
 * none. */
int tn__write_position_deletes(struct tn_warehouse *wh, struct tn_session *s,
                               const struct tn_table *t, const char *positions_sql,
                               struct tn_data_file *out, struct tn_err *err);
/* Append the local path (fetched first from S3) of file "location" of "t" to "sql" as an SQL
 * string literal. */
int tn__scan_local_path(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                        struct tn_buf *sql, struct tn_err *err);
/* v3 deletion vectors (dv_write.c, scan.c). The positions of deletion vector "del" (a live
 * delete entry with content_offset and content_size), ascending (caller frees *out_pos). */
int tn__dv_read(struct tn_warehouse *wh, const struct tn_table *t,
                const struct tn_manifest_entry *del, int64_t **out_pos, size_t *out_n,
                struct tn_err *err);
/* Copy the partition tuple of "from" into "to" (a delete file takes its data file's). */
void tn__copy_partition(const struct tn_data_file *from, struct tn_data_file *to);
/* Whether delete entry "e" is a deletion vector (a Puffin blob for one data file). */
int tn__is_dv(const struct tn_data_file *f);
/* Write the deletion vectors for the distinct (_tn_file, _tn_pos) rows of "positions_sql": one
 * per data file of "scan" they name, the union with that file's live deletion vector when it
 * has one and with the positions of position-delete files (a table upgraded from v2) that name
 * it, all in one new Puffin file. Each becomes a delete file in *deletes (its data file's
 * partition tuple, its spec in *specs; *ndeletes grows), and the data files whose old vector it
 * replaces are added to the set "replaced" (path -> true; see tn_row_change.replaced_dvs). On
 * failure nothing is left in storage. */
int tn__write_deletion_vectors(struct tn_warehouse *wh, struct tn_session *s,
                               const struct tn_table *t, const struct tn_scan *scan,
                               const char *positions_sql, struct tn_data_file **deletes,
                               int **specs, size_t *ndeletes, json_t *replaced, struct tn_err *err);
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
/* The FIELD_IDS value of a column of type "t" and field id "id" (nested ids for structs, lists
 * and maps), as DuckDB's Parquet writer takes it. */
void tn__field_id_value(const struct tn_type *t, int id, struct tn_buf *sql);
int tn__copy_to_parquet(struct tn_session *s, const struct tn_schema *schema,
                        const char *select_sql, const char *partition_exprs, const char *path,
                        int64_t *rows, struct tn_err *err);
/* Make the top-level primitive columns "schema" marks required REQUIRED in the Parquet file
 * DuckDB wrote at local "path" (tn_parquet_make_required), before its footer is read. Nothing
 * to do for a schema without any. A file the rewrite does not know how to rewrite is kept as
 * DuckDB wrote it (OPTIONAL columns, readable); TN_EUNPROCESSABLE when such a column holds a
 * NULL. */
int tn__require_columns(const struct tn_schema *schema, const char *path, struct tn_err *err);
/* Fill a data file's column statistics and split offsets from its Parquet footer at local
 * "path" (read by tarn, not DuckDB). Errors as tn_parquet_footer_read. */
int tn__file_stats(const struct tn_schema *schema, const char *path, struct tn_data_file *f,
                   struct tn_err *err);
/* Write the rows of "rows_sql" (file_path, pos; sorted) into a new position-delete Parquet
 * file at local "path", with REQUIRED columns (pos_deletes.c); *rows gets their number. */
int tn__write_position_parquet(struct tn_session *s, const char *rows_sql, const char *path,
                               int64_t *rows, struct tn_err *err);
/* Count the NaNs of the float and double columns (outside lists and maps) of the new data file
 * at local "path" into f->nan_counts, and give a column with NaNs the bounds of its other
 * values where the footer gave none (nan_counts.c). */
int tn__nan_counts(struct tn_session *s, const struct tn_schema *schema, const char *path,
                   struct tn_data_file *f, struct tn_err *err);
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
