/* table.h - Iceberg tables in a warehouse: the layer that joins the catalog (which metadata file
 * is current), storage (where files live), the iceberg format module and the DuckDB engine.
 *
 * A struct tn_warehouse is opened once per process and shared by its threads. A struct
 * tn_table is one immutable version of one table (the metadata file the catalog pointed at when
 * it was loaded); commits produce new versions and never change a loaded one.
 *
 * Reads: tn_table_scan plans the live data and delete files of a snapshot, and tn_scan_sql turns
 * the plan into a DuckDB relation (SQL text) that reads the Parquet files by field id with that
 * snapshot's schema and applies position and equality deletes.
 *
 * Writes: tn_table_write runs a SELECT into new Parquet data files and commits them as one
 * snapshot (append or overwrite) by compare-and-swap in the catalog, retrying on a lost race. */
#ifndef TN_TABLE_H
#define TN_TABLE_H

#include <jansson.h>

#include "catalog/catalog.h"
#include "core/core.h"
#include "engine/engine.h"
#include "iceberg/iceberg.h"
#include "storage/storage.h"

struct tn_warehouse_options {
    const char *warehouse;         /* local directory, file:// URI or s3://bucket/prefix */
    const char *catalog_path;      /* NULL: <warehouse>/catalog.db (S3: ./tarn-catalog.db) */
    const char *catalog_name;      /* the catalog_name of its rows; NULL: "tarn" */
    const char *const *extra_dirs; /* further directories DuckDB may read (NULL-terminated) */
    const char *memory_limit;      /* DuckDB memory limit, or NULL */
    int threads;                   /* DuckDB threads, 0 for the default */
    /* how files are stored (storage.h): S3 endpoint, region, credentials and tuning, the
     * cache, injected faults for tests; its root is ignored ("warehouse" is the root) */
    struct tn_storage_options storage;
};

struct tn_plan_cache;

struct tn_warehouse {
    struct tn_catalog *catalog;
    struct tn_storage *storage;
    struct tn_engine *engine;
    struct tn_plan_cache *plan_cache; /* cache: metadata, manifest lists, manifests, resolved
                                         statements, data files' column names */
};

int tn_warehouse_open(const struct tn_warehouse_options *opt, struct tn_warehouse **out,
                      struct tn_err *err);
void tn_warehouse_close(struct tn_warehouse *wh);

/* The plan cache's counters: lookups that found a parsed file (hits) or had to read one. */
struct tn_plan_cache_stats {
    int64_t hits, misses, evictions;
    int64_t bytes, entries, capacity;
};
void tn_warehouse_plan_cache_stats(struct tn_warehouse *wh, struct tn_plan_cache_stats *out);

/* A rewrite of location prefixes, for tables whose files were copied elsewhere. */
struct tn_path_map {
    size_t n;
    char **from;
    char **to;
};

struct tn_table {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    char *metadata_location; /* as the catalog stores it */
    struct tn_metadata *meta;
    struct tn_path_map map;
    /* A staged table (tn__table_stage): "meta" is what "staged_updates" make of "staged_base",
     * the version at metadata_location; a commit of rows written with it applies those updates
     * in the same commit. NULL for a loaded table. */
    struct tn_metadata *staged_base;
    json_t *staged_updates, *staged_requirements;
};

/* Load the current version of ns.name (TN_ENOTABLE when absent). */
int tn_table_load(struct tn_warehouse *wh, const char *ns, const char *name, struct tn_table **out,
                  struct tn_err *err);
void tn_table_free(struct tn_table *t);

/* Every table of the catalog, by namespace and name, as a JSON array of {"namespace", "name",
 * ...}: "describe" adds what it tells of a table that loads; one that does not gets "error"
 * with the reason instead, so that one broken table hides no others. NULL when the catalog
 * cannot be listed. */
json_t *tn_table_list_json(struct tn_warehouse *wh,
                           void (*describe)(json_t *j, const struct tn_table *t),
                           struct tn_err *err);
/* Apply the table's path map to a location (caller frees). */
char *tn_table_resolve(const struct tn_table *t, const char *location);

/* Create ns.name with "schema" (a schema JSON object with field ids assigned), "properties"
 * (object or NULL) and identifier fields inside the schema. TN_EEXISTS when it exists. */
int tn_table_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *schema,
                    json_t *properties, struct tn_table **out, struct tn_err *err);
/* The same, partitioned by "partition_by" ("day(ts), bucket(16, id), region"; NULL or "" for
 * none): identity, year, month, day, hour, bucket(N, col) and truncate(W, col). */
int tn_table_create_partitioned(struct tn_warehouse *wh, const char *ns, const char *name,
                                json_t *schema, json_t *properties, const char *partition_by,
                                struct tn_table **out, struct tn_err *err);
/* Adopt an existing table whose current metadata is at "metadata_location"; "path_map" is a
 * JSON object {"from-prefix": "to-prefix"} or NULL. The metadata must parse and its current
 * snapshot's manifest list must be readable. */
int tn_table_register(struct tn_warehouse *wh, const char *ns, const char *name,
                      const char *metadata_location, json_t *path_map, struct tn_err *err);
/* tn_table_register for requests: also TN_EFORBIDDEN unless the table's location (the
 * metadata's "location", path map applied) lies inside the warehouse. */
int tn_table_register_inside(struct tn_warehouse *wh, const char *ns, const char *name,
                             const char *metadata_location, json_t *path_map, struct tn_err *err);
/* Remove ns.name from the catalog; with "purge", delete its files too (tarn-written tables). */
int tn_table_drop(struct tn_warehouse *wh, const char *ns, const char *name, int purge,
                  struct tn_err *err);
/* What a purge did: files deleted, and files its metadata names that were kept because they lie
 * outside the table's own folder (the folder that holds its metadata folder). */
struct tn_purge_result {
    int64_t deleted;
    int64_t kept;
};
/* tn_table_drop with the purge's counts in *res (zeroed when not purging). A purge is refused
 * (TN_ECONFLICT, nothing dropped) while another catalog entry keeps its metadata in the table's
 * folder or the table keeps its own in another's: a registered alias shares its files. */
int tn_table_drop_report(struct tn_warehouse *wh, const char *ns, const char *name, int purge,
                         struct tn_purge_result *res, struct tn_err *err);

/*---- Reading ----*/

struct tn_scan {
    const struct tn_schema *schema; /* the schema to read with (borrowed from the table) */
    int64_t snapshot_id;            /* -1: the table has no snapshot */
    struct tn_manifest_entry *data; /* live data files */
    size_t ndata;
    struct tn_manifest_entry *deletes; /* live delete files */
    size_t ndeletes;
    struct tn_manifest_file *manifests; /* the snapshot's manifest list */
    size_t nmanifests;
    struct tn_scan_stats {
        int64_t manifests_total, manifests_kept;   /* in the manifest list; read */
        int64_t data_files_total, data_files_kept; /* live in the snapshot; planned */
        int64_t delete_files;                      /* live delete files planned */
    } stats;
};

/* The manifest list of snapshot "snapshot_id" (-1: the current one; none: an empty list). */
int tn_table_manifests(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                       struct tn_manifest_file **out, size_t *out_n, struct tn_err *err);
/* The entries of one manifest of the table. */
int tn_table_read_manifest(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_manifest_file *mf, struct tn_manifest_entry **out,
                           size_t *out_n, struct tn_err *err);
/* Plan a scan of snapshot "snapshot_id" (-1 for the current one). */
int tn_table_scan(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                  struct tn_scan **out, struct tn_err *err);
void tn_scan_free(struct tn_scan *s);
/* The same, planning only what may hold a row satisfying "where" (a DuckDB parse-tree
 * expression, NULL for all; columns may be qualified by "alias"): manifests are skipped by
 * their partition summaries and data files by their partition values, bounds and null counts
 * (see prune.c). Parsed manifests come from the warehouse's plan cache, so planning an
 * unchanged table again reads no manifest. scan->stats counts what was considered and kept. */
int tn_table_scan_where(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                        json_t *where, const char *alias, struct tn_scan **out, struct tn_err *err);

/* Move out of "scan" the data files (without deletes) whose bounds show that every row
 * satisfies "where"; each goes into "covered" as path -> record count. Returns how many. */
size_t tn_scan_covered(const struct tn_table *t, struct tn_scan *scan, json_t *where,
                       const char *alias, json_t *covered);

enum tn_scan_flags {
    TN_SCAN_ROW_ID = (1 << 0), /* add each row's identity: _tn_file (its data file's path as
                                  the manifest has it) and _tn_pos (its position there) */
    /* v3 row lineage, after the table's columns (and before the identity): _row_id and
       _last_updated_sequence_number as the spec defines them. Each file is then read alone. */
    TN_SCAN_LINEAGE_ROW_ID = (1 << 1),
    TN_SCAN_LINEAGE_SEQ = (1 << 2),
    TN_SCAN_LINEAGE = TN_SCAN_LINEAGE_ROW_ID | TN_SCAN_LINEAGE_SEQ,
    /* the same values under the names a rewrite hands to the writer (TN_LINEAGE_SOURCE_*) */
    TN_SCAN_CARRY_ROW_ID = (1 << 3),
    TN_SCAN_CARRY_SEQ = (1 << 4),
    TN_SCAN_CARRY = TN_SCAN_CARRY_ROW_ID | TN_SCAN_CARRY_SEQ,
};

/* The row-lineage metadata columns of format-version 3 (reserved field ids and names). */
#define TN_FIELD_ID_ROW_ID           2147483540
#define TN_FIELD_ID_LAST_UPDATED_SEQ 2147483539
#define TN_COLUMN_ROW_ID             "_row_id"
#define TN_COLUMN_LAST_UPDATED_SEQ   "_last_updated_sequence_number"
/* The names under which a rewrite's rows hand their lineage to the data file writer, which
 * stores them as the columns above (with their reserved field ids) on a v3 table. */
#define TN_LINEAGE_SOURCE_ROW_ID "_tn_lineage_row_id"
#define TN_LINEAGE_SOURCE_SEQ    "_tn_lineage_seq"

/* Append to "sql" a parenthesised SELECT that yields the scan's rows, one column per
 * top-level schema field, named as in the schema. */
int tn_scan_sql(struct tn_warehouse *wh, const struct tn_table *t, const struct tn_scan *scan,
                unsigned flags, struct tn_buf *sql, struct tn_err *err);

/* The snapshot that was current at "ms" (epoch milliseconds), by the snapshot log;
 * TN_ENOTFOUND naming the oldest one when "ms" is before it. */
int tn_table_snapshot_at(const struct tn_table *t, int64_t ms, int64_t *out, struct tn_err *err);
/* The snapshot "ref" names: a snapshot id, or a tag or branch name; TN_ENOTFOUND otherwise. */
/* TN_ENOTFOUND for snapshot "id" (or, "ref" non-NULL, the snapshot or ref named "ref") that
 * "t" does not have: the message names the nearest ids with their times, the current
 * snapshot and the count. */
int tn_table_no_snapshot(const struct tn_table *t, int64_t id, const char *ref, struct tn_err *err);
int tn_table_snapshot_ref(const struct tn_table *t, const char *ref, int64_t *out,
                          struct tn_err *err);

/* Append to "sql" a parenthesised SELECT of metadata table "kind" of "t" (snapshots, history,
 * files, manifests, refs; files and manifests at "snapshot_id", -1 for the current one). */
int tn_metadata_table_sql(struct tn_warehouse *wh, const struct tn_table *t, const char *kind,
                          int64_t snapshot_id, struct tn_buf *sql, struct tn_err *err);

struct tn_query_options {
    int64_t snapshot_id; /* -1: none */
    int64_t as_of_ms;    /* -1: none */
    /* A row-level change's target: read at target_snapshot, with row identity columns. */
    const char *target_ns, *target_table;
    int64_t target_snapshot;
    /* When set (a DELETE): target files whose every row matches the statement's WHERE are not
       read but listed here (path -> rows), to be dropped whole. */
    json_t *covered;
    /* A row-level change or INSERT: the branch it reads and writes (NULL: main). */
    const char *branch;
    /* When set (EXPLAIN): one object per tarn table scanned is appended, with its planning
       counts (table, snapshot_id, manifests_total/kept, data_files_total/kept, delete_files,
       answered_from_metadata). */
    json_t *plan;
    /* When set (the later pages of a paged read): {"ns.table": snapshot id}, the snapshot each
       tarn table named there is read at when the statement gives it no AT clause. */
    const json_t *pins;
    /* A row-level change that rewrites rows (UPDATE, MERGE, upsert) of a v3 target: its rows
       also carry their _row_id as TN_LINEAGE_SOURCE_ROW_ID, for the rows written again. */
    int target_lineage;
};

/* Refuse (TN_EINPUT) a write ("what": INSERT, UPDATE, ...) under time travel: "opt" with a
 * snapshot or an as-of time. A write changes the table as it is now, never an old version. */
int tn_write_check_travel(const struct tn_query_options *opt, const char *what, struct tn_err *err);

/* The names and DuckDB types of the rows "resolved" (tn_query_resolve's answer to "user_sql"
 * with "opt") gives, as a JSON array of {"name", "type"} (caller frees). Kept with the
 * resolution when the statement reads tarn tables only, so a repeated query binds once. */
#define TN_QUERY_COLUMNS_MAX 100000
int tn_query_columns(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                     const struct tn_query_options *opt, const char *resolved, char **out,
                     struct tn_err *err);

/* 1 when "resolved" is the kept resolution of "user_sql" with "opt" (tn_query_resolve just
 * checked that its tables are as they were) and reads tarn tables only: its text then names
 * every file it reads, and files never change, so its result depends on the text alone (a new
 * snapshot or schema gives another text) and DuckDB's prepared statement may be reused. */
int tn_query_fixed(struct tn_warehouse *wh, const char *user_sql,
                   const struct tn_query_options *opt, const char *resolved);

/* Rewrite one SELECT statement so that each tarn table it names reads its Iceberg files at a
 * consistent snapshot (its AT clause's, else the options', else the current one). The result
 * (caller frees) runs on any session of the warehouse's engine. */
int tn_query_resolve(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                     const struct tn_query_options *opt, char **out, struct tn_err *err);

/* One line for one entry of tn_query_options.plan ("default.t (snapshot 1): manifests 2 of 5
 * kept, data files 3 of 40 kept, 0 delete files"); caller frees. */
char *tn_plan_describe(json_t *entry);

/* DuckDB's own parser, for rewriting SQL (json_serialize_sql and back): */
/* The value of a one-row query (caller frees), or NULL with "err" set. */
char *tn_query_value(struct tn_session *s, const char *sql, struct tn_err *err);
/* The parse tree of "sql", or NULL with "err" set (a syntax error: TN_EINPUT, DuckDB's words;
 * a statement that is not a query, such as SET or a PIVOT DuckDB expands into several:
 * TN_ENOTIMPL). */
json_t *tn_query_parse(struct tn_session *s, const char *sql, struct tn_err *err);
/* SQL text for a parse tree (caller frees), or NULL with "err" set. */
char *tn_query_deparse(struct tn_session *s, json_t *tree, struct tn_err *err);

/*---- Schemas from data ----*/

/* Parse DuckDB's text for a type into Iceberg type JSON, numbering nested field ids from
 * *next_id (advanced past the ids used). */
int tn_type_from_duckdb(const char *duck, int *next_id, json_t **out, struct tn_err *err);
/* A column name as tarn stores it: lowercase [a-z0-9_], "column" when nothing is left. */
void tn_column_name_sanitise(const char *name, char *out, size_t cap);
/* The schema (ids 1..n for the columns) of the rows "select_sql" returns, the map of original
 * to stored column names, and a SELECT that renames the columns to the stored names. */
int tn_schema_infer(struct tn_session *s, const char *select_sql, json_t **out_schema,
                    json_t **out_names, char **out_select, struct tn_err *err);

/*---- Writing ----*/

enum tn_write_mode { TN_WRITE_APPEND, TN_WRITE_OVERWRITE };

struct tn_write_options {
    enum tn_write_mode mode;
    const char *branch; /* NULL or "main": the table's current state; else an existing branch */
    /* The rows can be read once only (a stream still arriving): no second read explains a
     * refused value, the table must be unpartitioned, and the rows become files of about
     * write.target-file-size-bytes (default TN_TARGET_FILE_SIZE). */
    int single_pass;
    /* Called once the data files are written, before they commit; non-zero refuses the commit
     * (the files are deleted) with the error it sets. NULL: commit. */
    int (*before_commit)(void *arg, struct tn_err *err);
    void *before_commit_arg;
    /* An unpartitioned table's rows become files of about write.target-file-size-bytes, as a
     * single pass's do, but a refused value is still explained (ingest); 0: one data file. */
    int sized_files;
    /* single_pass only, or NULL: the rows come in consecutive pieces that select_sql reads in
     * turn, each by a COPY of its own (a stream cut at its records, so that DuckDB holds one
     * piece at a time, not the whole file); every piece's files go into the one commit. Called
     * before each piece with the table's target file size and the bytes of the files the pieces
     * before it became (0 before the first): *more = 1 when a piece follows, 0 when the rows
     * have ended; non-zero (err set) stops the write and nothing commits. */
    int (*next_piece)(void *arg, int64_t target, int64_t written, int *more, struct tn_err *err);
    void *next_piece_arg;
};

/* The data file size an ingest aims at, unless the table property
 * write.target-file-size-bytes says otherwise. */
#define TN_TARGET_FILE_SIZE (128LL * 1024 * 1024)

struct tn_commit_result {
    int64_t snapshot_id;
    int64_t sequence_number;
    int64_t rows_added;
    int64_t files_added;
    int64_t bytes_added;
    int attempts; /* compare-and-swap attempts it took */
};

/* Write the rows of "select_sql" (whose columns are named like the table's current schema
 * columns; missing ones take their write-default or null) to new data files and commit them as
 * one snapshot on the branch. A value that does not fit its column's type is
 * TN_EUNPROCESSABLE, with nothing committed. */
int tn_table_write(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                   const char *select_sql, const struct tn_write_options *wo,
                   struct tn_commit_result *res, struct tn_err *err);
/* Move "main" to the head of "branch" when main's head is its ancestor (write-audit-publish);
 * TN_ECONFLICT when main has moved on since the branch was made. */
int tn_table_fast_forward(struct tn_warehouse *wh, const char *ns, const char *name,
                          const char *branch, struct tn_err *err);

/*---- Metadata-only changes: schema evolution, rollback, tags and branches ----*/

enum tn_change_kind {
    TN_CHANGE_ADD,      /* add "column" (a dotted path; its parent must be a struct) */
    TN_CHANGE_RENAME,   /* rename "column" to "new_name" */
    TN_CHANGE_DROP,     /* drop "column" */
    TN_CHANGE_TYPE,     /* widen "column" to primitive "type" */
    TN_CHANGE_OPTIONAL, /* make "column" optional */
    TN_CHANGE_MOVE,     /* move "column" first, or after sibling "after" */
};

struct tn_schema_change {
    enum tn_change_kind kind;
    const char *column;
    const char *new_name;
    json_t *type;          /* ADD: Iceberg type JSON (ids are assigned); TYPE: a type name */
    json_t *default_value; /* ADD: initial-default and write-default (JSON single value) */
    int required;          /* ADD */
    const char *after;     /* MOVE */
    int first;             /* MOVE */
    const char *doc;       /* ADD: the field's doc (tarn keeps a sanitised name's original) */
};

/* Apply "changes" in order as one new schema (metadata only; no data file is rewritten).
 * Errors change nothing: TN_ENOTFOUND for an unknown column, TN_EEXISTS for a name in use,
 * TN_EINPUT for a forbidden type change, dropping an identifier field or the last column. */
int tn_table_evolve(struct tn_warehouse *wh, const char *ns, const char *name,
                    const struct tn_schema_change *changes, size_t n, struct tn_err *err);
/* ALTER COLUMN "column" TYPE "type" (Iceberg type JSON): a promotion Iceberg allows (int to
 * long, float to double, a wider decimal) changes the schema only, as tn_table_evolve; any other
 * change of a top-level primitive column makes it a new field under the same name and rewrites
 * every live row with the value converted, in one commit (older snapshots keep the old type).
 * TN_EUNPROCESSABLE naming the value and row when one does not convert (nothing changes);
 * TN_EINPUT for a key or partition column; TN_ECONFLICT when a writer commits meanwhile. */
int tn_table_alter_type(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                        const char *name, const char *column, json_t *type, struct tn_err *err);
/* Move "main" to snapshot_id, or (snapshot_id -1) to the snapshot current at as_of_ms; history
 * is kept, so a later rollback forward works. *out gets the snapshot (may be NULL). */
int tn_table_rollback(struct tn_warehouse *wh, const char *ns, const char *name,
                      int64_t snapshot_id, int64_t as_of_ms, int64_t *out, struct tn_err *err);
/* Create or move tag or branch "ref" to "snapshot_id" (retention max_ref_age_ms, -1: none). A
 * tag that exists is moved only with "replace" (else TN_EEXISTS, as Iceberg's createTag). */
int tn_table_set_ref(struct tn_warehouse *wh, const char *ns, const char *name, const char *ref,
                     int is_tag, int64_t snapshot_id, int64_t max_ref_age_ms, int replace,
                     struct tn_err *err);
int tn_table_drop_ref(struct tn_warehouse *wh, const char *ns, const char *name, const char *ref,
                      struct tn_err *err);

/* A change's RETURNING rows: "sql" (NULL when the statement has no RETURNING) reads them on
 * the statement's session after the commit; tn_returning_release drops what keeps them. */
struct tn_returning {
    char *sql;
    char temp[48];
};
void tn_returning_release(struct tn_session *s, struct tn_returning *r);

struct tn_insert_result {
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    struct tn_commit_result commit;
    struct tn_returning returning; /* INSERT ... RETURNING */
};

/* Run INSERT INTO t [(columns)] SELECT ... | VALUES ... as one append commit; tarn tables in
 * the query read at the options' snapshot like any SELECT. */
int tn_table_insert(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                    const struct tn_query_options *opt, struct tn_insert_result *res,
                    struct tn_err *err);

struct tn_dml_result {
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    int64_t rows_affected;
    int64_t snapshot_id;           /* the new snapshot, or the current one when no row changed */
    struct tn_returning returning; /* DELETE/UPDATE ... RETURNING */
};

/* Run DELETE FROM t [[AS] a] [USING ...] [WHERE ...], UPDATE t [[AS] a] SET c = expr, ...
 * [FROM ...] [WHERE ...] or MERGE INTO t [[AS] a] USING src ON ... WHEN ... (DuckDB's syntax)
 * as one commit: position deletes for the removed or changed rows (merge-on-read; data files
 * stay untouched) plus a data file with changed and inserted rows. A commit that deleted or
 * replaced rows since the statement read the table makes it TN_ECONFLICT. */
int tn_table_dml(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                 const struct tn_query_options *opt, struct tn_dml_result *res, struct tn_err *err);

struct tn_compact_result {
    int64_t files_rewritten;      /* data files read and written again as one */
    int64_t delete_files_removed; /* delete files no longer needed */
    int64_t rows;                 /* rows in the new files */
    int64_t files_written;        /* one, or one per partition of the default spec */
    int64_t bytes_rewritten;      /* the size of the files read again */
    int64_t snapshot_id;          /* the "replace" snapshot, or the current one if nothing to do */
};

/* Rewrite the data files that carry deletes, and small data files sharing a partition, into
 * one clean file per partition of the default spec: one "replace" snapshot, the same rows.
 * TN_ECONFLICT when another commit changed rows meanwhile (nothing is committed). With
 * "dry_run", only plan: res says what would be rewritten and removed ("rows" counts the rows
 * the chosen files hold before their deletes, "files_written" stays 0); nothing is written. */
int tn_table_compact(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                     const char *name, int dry_run, struct tn_compact_result *res,
                     struct tn_err *err);

struct tn_expire_result {
    int64_t snapshots_expired;
    int64_t files_deleted;
    int64_t files_to_delete; /* with dry_run: what the expiry would delete */
    json_t *not_deleted;     /* locations whose deletion failed (left to remove_orphans), NULL
                                when none; owned */
};

/* Expire snapshots older than "older_than_ms" except each branch's newest "keep_last" (and
 * every ref's head), then delete the files only they reached (unless gc.enabled is false).
 * A file that cannot be deleted does not fail the expiry (it is committed): it is listed in
 * res->not_deleted. With "dry_run" nothing is committed or deleted: res counts the snapshots
 * that would expire and the files that would be deleted. Release "res" with
 * tn_expire_result_release, also after a failure. */
int tn_table_expire(struct tn_warehouse *wh, const char *ns, const char *name,
                    int64_t older_than_ms, int keep_last, int dry_run, struct tn_expire_result *res,
                    struct tn_err *err);
void tn_expire_result_release(struct tn_expire_result *res);

struct tn_rewrite_manifests_result {
    int64_t manifests_before, manifests_after; /* in the current snapshot's list */
    int64_t snapshot_id; /* the "replace" snapshot, or the current one if nothing to do */
};

/* Merge the current snapshot's manifests into one per (content, partition spec) -- more when
 * one would pass 100000 entries -- as a "replace" snapshot naming the same files. A lost race
 * with another commit is retried on the newer snapshot. */
int tn_table_rewrite_manifests(struct tn_warehouse *wh, const char *ns, const char *name,
                               struct tn_rewrite_manifests_result *res, struct tn_err *err);

struct tn_orphans_result {
    int64_t files_found;     /* orphans older than the margin */
    int64_t files_deleted;   /* 0 with dry_run */
    int64_t bytes;           /* their total size */
    int64_t files_too_new;   /* unreferenced but younger than the margin: kept */
    int64_t uploads_aborted; /* S3 multipart uploads under the table older than the margin */
    json_t *paths;           /* the orphans' locations (at most 1000); owned */
};

/* Delete the files under the table's location that no metadata reaches (any snapshot's
 * manifest lists, manifests, data and delete files; the metadata files in the log; statistics
 * files) and that were last modified before "older_than_ms"; with "dry_run" only report them.
 * TN_EINPUT for a table whose location is outside the warehouse (a registered one),
 * TN_ECONFLICT when another table keeps files under the same location. Release "res" with
 * tn_orphans_result_release, also after a failure. */
int tn_table_remove_orphans(struct tn_warehouse *wh, const char *ns, const char *name,
                            int64_t older_than_ms, int dry_run, struct tn_orphans_result *res,
                            struct tn_err *err);
void tn_orphans_result_release(struct tn_orphans_result *res);

struct tn_rewrite_metadata_result {
    int64_t log_entries;         /* metadata-log entries after the commit */
    int64_t log_entries_dropped; /* entries beyond write.metadata.previous-versions-max */
    int64_t files_deleted;       /* metadata files of the old log no longer in storage */
};

/* A metadata-only commit that applies write.metadata.previous-versions-max (and, when
 * write.metadata.delete-after-commit.enabled is true, deletes the dropped files) now rather
 * than at the next commit. */
int tn_table_rewrite_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                              struct tn_rewrite_metadata_result *res, struct tn_err *err);

/* Partition evolution: make "partition_by" ("day(ts), bucket(16, id)"; NULL or "" for
 * unpartitioned) the default spec of ns.name for new data, as a metadata-only commit; files
 * already written keep their spec. *out_spec_id (may be NULL) gets the default spec's id.
 * TN_EINPUT for an unknown column or transform, a transform the column's type does not allow,
 * or a bucket/truncate width outside 1..1000000. Setting the current spec again is a no-op. */
int tn_table_set_partitioning(struct tn_warehouse *wh, const char *ns, const char *name,
                              const char *partition_by, int *out_spec_id, struct tn_err *err);

struct tn_ddl_result {
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    int created, dropped;           /* 0 for both: IF [NOT] EXISTS found nothing to do */
    int view;                       /* the statement was about a view (CREATE/DROP VIEW) */
    int replaced;                   /* CREATE OR REPLACE VIEW replaced an existing view */
    struct tn_commit_result commit; /* CREATE TABLE AS: the rows' snapshot (else -1) */
};

/* Run CREATE TABLE t (...), CREATE TABLE t AS SELECT ... (with PARTITIONED BY and
 * TBLPROPERTIES), DROP TABLE [IF EXISTS] t [PURGE], CREATE [OR REPLACE] VIEW [IF NOT EXISTS]
 * v AS SELECT ... or DROP VIEW [IF EXISTS] v (see ddl.c); tarn tables in a CREATE TABLE AS
 * query read at the options' snapshot. Other CREATE and DROP forms are TN_EFORBIDDEN. */
int tn_table_ddl(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                 const struct tn_query_options *opt, struct tn_ddl_result *res, struct tn_err *err);

struct tn_alter_result {
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    int renamed; /* RENAME TO: the table's new name follows */
    char new_ns[TN_NAME_MAX + 1], new_table[TN_NAME_MAX + 1];
};

/* Run one ALTER TABLE statement (see alter.c for the forms) as a metadata-only change. */
int tn_table_alter(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                   struct tn_alter_result *res, struct tn_err *err);

/*---- Ingest: a file's rows into a table, creating it from the inferred schema ----*/

struct tn_ingest_result {
    struct tn_commit_result commit;
    int created;            /* the table was created by this ingest */
    json_t *column_names;   /* {"Original Name": "original_name", ...} */
    json_t *schema;         /* the table's current schema after the ingest */
    json_t *schema_changes; /* [{"action": "add_column"|"widen", "column", "type", ...}] */
    int64_t rows_updated;   /* upsert: existing rows replaced */
    int64_t rows_inserted;  /* new rows (all rows unless upserting) */
};

/* How an ingest treats a file whose columns differ from the table's. */
enum tn_evolve_mode {
    TN_EVOLVE_ADD,    /* add new columns (optional) and widen types where Iceberg allows */
    TN_EVOLVE_STRICT, /* refuse a file with new columns (TN_EUNPROCESSABLE) */
};

/* Load the rows of "source_sql" (e.g. SELECT * FROM read_csv('/path')) into ns.name: column
 * names are sanitised, the table is created from the inferred schema when absent, and the rows
 * are appended or replace every row. A table created here is dropped again if the write fails,
 * so a failed ingest leaves nothing behind. */
int tn_table_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                    const char *source_sql, enum tn_write_mode mode, struct tn_ingest_result *res,
                    struct tn_err *err);
struct tn_ingest_options {
    enum tn_write_mode mode;
    enum tn_evolve_mode evolve;
    const char *branch; /* NULL: main */
    int upsert;         /* replace rows whose key exists, insert the others */
    const char *key;    /* upsert key columns "a,b" (NULL: the table's identifier fields); without
                           upsert, the identifier fields of a table the ingest creates */
    int dedupe_last;    /* upsert: keep each key's last row instead of refusing duplicates */
    const char *partition_by; /* a table this ingest creates: its partition spec */
    int format_version;       /* a table this ingest creates: 2 or 3 (0: the default, 2) */
    const json_t *properties; /* {"key": "value"}: set in the rows' own commit (may be NULL) */
    /* As in struct tn_write_options: a source read once (no upsert then), the last word
     * before the rows commit, and the pieces a source read once comes in. */
    int single_pass;
    int (*before_commit)(void *arg, struct tn_err *err);
    void *before_commit_arg;
    int (*next_piece)(void *arg, int64_t target, int64_t written, int *more, struct tn_err *err);
    void *next_piece_arg;
    const char *types; /* "amount:decimal(12,2), id:long": the file's columns read as these
                          types instead of the sniffed ones (NULL: none) */
    const json_t *create_properties; /* {"key": "value"}: set only when the ingest creates the
                                        table (may be NULL) */
};

/* The same with every option (tn_table_ingest: TN_EVOLVE_ADD, main). */
int tn_table_ingest_opts(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                         const char *name, const char *source_sql,
                         const struct tn_ingest_options *opt, struct tn_ingest_result *res,
                         struct tn_err *err);
void tn_ingest_result_release(struct tn_ingest_result *res);

/*---- A file to ingest: how DuckDB reads it (source.c) ----*/

enum tn_source_format {
    TN_SOURCE_DETECT,
    TN_SOURCE_CSV,
    TN_SOURCE_JSON,
    TN_SOURCE_NDJSON,
    TN_SOURCE_PARQUET
};

/* A caller that measures the file's longest line needs to measure exactly only the lines at
 * least this long. */
#define TN_SOURCE_LINE_EXACT (512 * 1024)

/* CSV options a user may give (POST /ingest parameters, tarn ingest flags) or a table remembers
 * (its "tarn.csv.*" properties). Zeroed: nothing given (DuckDB sniffs or defaults). */
#define TN_CSV_NULLSTR_MAX 8  /* null strings at most */
#define TN_CSV_TEXT_MAX    32 /* bytes of a null string, date or timestamp format */
struct tn_csv_options {
    char delim[8]; /* kept here for a table's remembered delimiter; a request's is tn_source's */
    char quote[2], escape[2], comment[2]; /* one byte each */
    char decimal_separator[2];            /* "." or "," */
    char dateformat[TN_CSV_TEXT_MAX + 1], timestampformat[TN_CSV_TEXT_MAX + 1];
    char encoding[8]; /* "utf-8", "utf-16" or "latin-1" */
    char nullstr[TN_CSV_NULLSTR_MAX][TN_CSV_TEXT_MAX + 1];
    int nnullstr;   /* 0: not given (DuckDB reads an empty field as NULL) */
    int skip_given; /* 0: the lines to skip are sniffed */
    long skip;      /* lines skipped before the header */
};

/* The options' names, as parameters and properties ("tarn.csv." NAME) spell them. */
extern const char *const tn_csv_option_names[];
/* An empty set: nothing given. */
void tn_csv_options_init(struct tn_csv_options *o);
/* Set option "name" (one of tn_csv_option_names but delimiter, or "null" for nullstr) from the
 * user's text, checked: TN_EINPUT naming the option when the value is not allowed. nullstr is
 * a comma-separated list; the word "empty" in it stands for the empty field. */
int tn_csv_option_set(struct tn_csv_options *o, const char *name, const char *value,
                      struct tn_err *err);
/* Whether any option (but delim) is given. */
int tn_csv_options_given(const struct tn_csv_options *o);

struct tn_source {
    /* What the caller knows (zero them, then set header to -1 and what is known). */
    enum tn_source_format format;  /* TN_SOURCE_DETECT: from the name, type or content */
    const char *name;              /* the file's name as the user gave it, or NULL */
    const char *content_type;      /* its media type, or NULL */
    char delim[8];                 /* a CSV delimiter the user gave, or "" */
    int header;                    /* CSV: 1 or 0 as the user said, -1 to detect */
    uint64_t longest_line;         /* exact when >= TN_SOURCE_LINE_EXACT; 0: measure it */
    uint64_t max_decompressed;     /* gzip/zstd: the most bytes it may decompress to; 0: default */
    const char *temp_dir;          /* gzip/zstd: where it is decompressed (inside the warehouse) */
    const char *const *more_paths; /* NULL, or more plain files (NULL-ended) read after the
                                      first as one source, with its dialect and columns */
    struct tn_csv_options csv;     /* CSV options the user gave */
    struct tn_csv_options table_csv; /* CSV options the table remembers (tn_source_table_dialect) */
    int new_table;                   /* the table does not exist yet (tn_source_table_dialect) */
    /* What tn_source_open found. */
    const char *compression; /* "gzip", "zstd" or NULL */
    long max_line;           /* CSV line limit; 0: DuckDB's default */
    int ragged;              /* CSV read with short rows padded with NULL */
    char *dialect;           /* CSV: the sniffed dialect as read_csv options, or NULL */
    char *plain_path;        /* the file decompressed, read instead of it; NULL: not compressed */
    int whole_sample;        /* CSV: sniffed over every row, not a sample */
    char *whole_guard;       /* CSV: the SELECT list that refuses a fraction in a column the
                                sniffer typed as whole numbers (NULL: none) */
    char found_dateformat[TN_CSV_TEXT_MAX + 1], found_timestampformat[TN_CSV_TEXT_MAX + 1];
    /* CSV, with a dialect: the lines skipped before the header, whether there is a header, and
     * the quote, escape and comment characters ("" for none) that the dialect reads with */
    long found_skip;
    int found_header;
    char found_quote[8], found_escape[8], found_comment[8];
};

/* Before tn_source_open: the CSV options table ns.name remembers (its "tarn.csv.*" properties),
 * used for what "src" does not give; and whether the table exists. A table that cannot be read
 * is left to the ingest to report. */
void tn_source_table_dialect(struct tn_warehouse *wh, const char *ns, const char *name,
                             struct tn_source *src);
/* After tn_source_open of a CSV: the "tarn.csv.*" properties a table this ingest creates keeps
 * (the options given and the date and timestamp formats found), or NULL. */
json_t *tn_source_dialect_properties(const struct tn_source *src);

/* Measure lines in "data" (n bytes; a file's next piece): *line_len carries the bytes since the
 * last newline from piece to piece, *longest the longest line -- exact once a line reaches
 * TN_SOURCE_LINE_EXACT; shorter ones are skipped a window at a time. */
void tn_source_track_lines(const char *data, size_t n, uint64_t *line_len, uint64_t *longest);
/* The format a file's name says (.csv, .tsv, .txt, .json, .ndjson, .jsonl, .parquet, .pq, also
 * ending in .gz or .zst), else TN_SOURCE_DETECT. */
enum tn_source_format tn_source_format_from_name(const char *name);
/* Decide how to read the local file "path": its format, compression and, for CSV, its
 * dialect (sniffed once, plain and with short rows allowed at once), after input_limits.c's
 * scan of a CSV or JSON file. TN_EINPUT for CSV options given for another format, JSON nested
 * too deep or too many columns; TN_ETOOBIG for a line longer than 64 MiB or a compressed file
 * that decompresses to more than max_decompressed bytes. */
int tn_source_open(struct tn_engine *engine, struct tn_session *s, const char *path,
                   struct tn_source *src, struct tn_err *err);
/* tn_table_ingest_opts of the file's rows, retried when another writer created the table
 * first, once with the longest line limit when DuckDB reports a longer line, and once after a
 * sniff of every row when a row past the sniffer's sample does not fit the sampled types. */
int tn_source_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                     const char *name, const char *path, struct tn_source *src,
                     const struct tn_ingest_options *opt, struct tn_ingest_result *res,
                     struct tn_err *err);
void tn_source_release(struct tn_source *src);
/* Sniff a small CSV written in "temp_dir" and forget it: DuckDB's first sniff costs some
 * 100 ms more than later ones, which a server pays at start instead of at its first ingest. */
void tn_source_warm(struct tn_engine *engine, const char *temp_dir);
/* What a file's first bytes say: its compression ("gzip", "zstd" or NULL in *compression),
 * Parquet's magic, a JSON document; else TN_SOURCE_DETECT. */
enum tn_source_format tn_source_sniff_bytes(const void *data, size_t n, const char **compression);
/* The format of "src" from the caller, its name, its content type, else "by_bytes" (what
 * tn_source_sniff_bytes found), else CSV. */
enum tn_source_format tn_source_format_of(const struct tn_source *src,
                                          enum tn_source_format by_bytes);
/* For a file read as it arrives: open "src" on "head_path" (a copy of the file's first records)
 * as tn_source_open does, and give in *out the SELECT that reads the whole file once from
 * "stream_path" (a pipe) with the dialect and columns found in the head, so that nothing is
 * sniffed from the pipe. Plain CSV and NDJSON only (TN_EINPUT otherwise). */
int tn_source_stream_sql(struct tn_engine *engine, struct tn_session *s, const char *head_path,
                         const char *stream_path, struct tn_source *src, char **out,
                         struct tn_err *err);
/* What an ingest of the file would store, without storing it: {"schema" (the inferred Iceberg
 * schema), "column_names" (original -> stored), "rows" (the first max_rows, as text)}. */
int tn_source_preview(struct tn_session *s, const char *path, const struct tn_source *src,
                      size_t max_rows, json_t **out, struct tn_err *err);

/*---- A file ingested while it arrives (stream.c) ----*/

/* The bytes held back and sniffed before a stream starts; shorter files are not streamed. */
#define TN_STREAM_HEAD (4 * 1024 * 1024)
/* tn_stream_finish: the file was not (or not wholly) converted; ingest the caller's copy. */
#define TN_STREAM_NOT_STREAMED (-1)

struct tn_stream;
/* A stream into ns.name with "src"'s CSV options and "io"'s mode (copied: they may go away).
 * Temporary files go in "temp_dir". An upsert is never streamed. */
int tn_stream_new(struct tn_warehouse *wh, const char *temp_dir, const char *ns, const char *name,
                  const struct tn_source *src, const struct tn_ingest_options *io,
                  struct tn_stream **out);
/* Read the file in pieces of about "bytes" bytes each (0: pieces that each become about one
 * file of the table's target size). For tests and measurements; before the first byte. */
void tn_stream_set_piece_size(struct tn_stream *st, int64_t bytes);
/* The file's next "n" bytes, in order. Blocks while DuckDB catches up. */
void tn_stream_feed(struct tn_stream *st, const void *data, size_t n);
/* The file ended: whole ("complete") or cut short (an aborted upload: nothing will commit). */
void tn_stream_end(struct tn_stream *st, int complete);
/* Wait for the conversion and commit it ("commit" = 1) or refuse it. 0 with *res filled when
 * the rows committed; TN_STREAM_NOT_STREAMED when nothing committed and the file must be
 * ingested whole (declined, refused, or a failure the whole-file path decides on); else the
 * error of a commit that was made. */
int tn_stream_finish(struct tn_stream *st, int commit, struct tn_ingest_result *res,
                     struct tn_err *err);
/* Refuse what was not finished (nothing commits), remove its files, free it. NULL is fine. */
void tn_stream_free(struct tn_stream *st);

/*---- The Iceberg REST catalog (ICEBERG.md 7): create and CommitTableRequest commits ----*/

/* Create ns.name from a REST CreateTableRequest ("schema" with field ids, optional "location"
 * inside the warehouse, "partition-spec", "write-order", "properties"). With "stage", nothing
 * is written: *out_staged gets the metadata JSON a later assert-create commit will build;
 * otherwise *out gets the new table. TN_EEXISTS when it exists, TN_EINPUT for a bad request. */
int tn_table_rest_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *request,
                         int stage, json_t **out_staged, struct tn_table **out, struct tn_err *err);
/* Check "requirements" against the current metadata, apply "updates" (JSON arrays of the REST
 * spec) to it and publish the result, retrying a lost compare-and-swap with the requirements
 * checked again. assert-create (alone) creates the table from the updates. *out (may be NULL)
 * gets the committed version. TN_ECONFLICT when a requirement fails (the message starts with
 * "Requirement failed") or the race is lost too often, TN_EINPUT for an unknown requirement or
 * action or metadata that does not validate, TN_ENOTABLE when the table is absent. */
int tn_table_rest_commit(struct tn_warehouse *wh, const char *ns, const char *name,
                         json_t *requirements, json_t *updates, struct tn_table **out,
                         struct tn_err *err);

/*---- Iceberg views (views.c) ----*/

struct tn_view {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    char *metadata_location; /* as the catalog stores it */
    json_t *meta;            /* the view metadata (iceberg/view.h) */
};

/* The current version of view ns.name; TN_ENOVIEW when there is none. */
int tn_view_load(struct tn_warehouse *wh, const char *ns, const char *name, struct tn_view **out,
                 struct tn_err *err);
/* Create ns.name from a REST CreateViewRequest; its location (default <warehouse>/ns/name)
 * must be inside the warehouse (TN_EFORBIDDEN). TN_EEXISTS when a table or view has the name. */
int tn_view_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *request,
                   struct tn_view **out, struct tn_err *err);
/* Adopt the view whose metadata is at "metadata_location" (inside the warehouse). */
int tn_view_register(struct tn_warehouse *wh, const char *ns, const char *name,
                     const char *metadata_location, struct tn_view **out, struct tn_err *err);
/* Check "requirements", apply "updates" (REST CommitViewRequest) and publish the next version;
 * a lost race is retried. TN_ECONFLICT ("Requirement failed...") when a requirement fails. */
int tn_view_commit(struct tn_warehouse *wh, const char *ns, const char *name, json_t *requirements,
                   json_t *updates, struct tn_view **out, struct tn_err *err);
void tn_view_free(struct tn_view *v); /* NULL is a no-op */

struct tn_rest_change {
    const char *ns, *name;
    json_t *requirements, *updates;
};

/* Commit the changes of several tables all-or-none: every new metadata file is written, then
 * all catalog pointers move in one SQLite transaction. *out (may be NULL) gets the first
 * table's new version. Errors as tn_table_rest_commit (no assert-create here). */
int tn_table_rest_commit_many(struct tn_warehouse *wh, const struct tn_rest_change *changes,
                              size_t n, struct tn_table **out, struct tn_err *err);

#endif /* TN_TABLE_H */
