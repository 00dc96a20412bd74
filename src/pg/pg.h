/* pg.h - PostgreSQL as a source: a table or a query of a PostgreSQL database copied into a
 * tarn table, each run one commit. Rows are read with COPY ... TO STDOUT inside one
 * REPEATABLE READ, READ ONLY transaction (one consistent snapshot of the source), written to a
 * spool file as they arrive (never held in memory) and read from there by DuckDB with the
 * column types the source's catalog gives. */
#ifndef TN_PG_H
#define TN_PG_H

#include <jansson.h>
#include <stdint.h>

#include "table/table.h"

enum tn_pg_mode {
    TN_PG_FULL,        /* every row; replaces the table's rows (one overwrite snapshot) */
    TN_PG_APPEND,      /* every row (or the query's), appended */
    TN_PG_INCREMENTAL, /* rows whose cursor column is at or past the table's last value,
                          upserted by the key */
};

struct tn_pg_options {
    const char *conninfo;     /* postgresql://user@host:port/db (libpq's connection string) */
    const char *source_table; /* schema.table or table; or NULL with source_query */
    const char *source_query; /* one SELECT run on the source */
    enum tn_pg_mode mode;
    const char *cursor;    /* incremental: the cursor column (updated_at, a serial id, ...) */
    const char *key;       /* the key columns "a,b"; NULL: the source table's primary key */
    int deletes;           /* incremental: then delete the table's rows whose key the source lost */
    int json_struct;       /* json and jsonb columns become structs (else strings) */
    const char *spool_dir; /* a directory DuckDB may read, for the spool file */
    /* Called every 100,000 rows and at the end, from the reading thread. */
    void (*progress)(void *arg, int64_t rows, int64_t bytes, int done);
    void *progress_arg;
};

struct tn_pg_result {
    struct tn_ingest_result ingest;
    int64_t rows_read;
    int64_t rows_deleted;       /* the deletes pass */
    int64_t delete_snapshot_id; /* its snapshot, or -1 */
    char *key;                  /* the key used ("a,b"), or NULL */
    char *cursor_value;         /* incremental: the cursor's value the run started from, or NULL */
    double seconds;
};

/* Copy the source into ns.name as one commit (TN_EUPSTREAM when the source cannot be reached
 * or refuses the credentials or the query; TN_EINPUT for a type tarn cannot store, naming the
 * column; TN_EUNPROCESSABLE for a value that does not fit). Nothing is committed on failure. */
int tn_pg_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                 const struct tn_pg_options *o, struct tn_pg_result *res, struct tn_err *err);
void tn_pg_result_release(struct tn_pg_result *res);

/* The base tables of "schema" in the source (caller frees with tn_pg_names_free). */
int tn_pg_list_tables(const char *conninfo, const char *schema, char ***out, size_t *n,
                      struct tn_err *err);
void tn_pg_names_free(char **names, size_t n);

/* The answer of one run as JSON (the HTTP response and `tarn ingest --from` print it). */
json_t *tn_pg_result_json(const char *ns, const char *name, const struct tn_pg_result *res);

/* "full", "append" or "incremental"; -1 for anything else. */
int tn_pg_mode_parse(const char *s);

#endif /* TN_PG_H */
