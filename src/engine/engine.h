/* engine.h - the only user of DuckDB (duckdb.h). An engine is one DuckDB database, sandboxed at
 * open: no file access outside the allowed directories, no extension installs, settings locked.
 * A session is one connection; use one per thread. Results of internal queries come back as a
 * small materialised table of text cells.
 *
 * The SQL quoting helpers live here too, so that every identifier and literal tarn puts into SQL
 * goes through one place. */
#ifndef TN_ENGINE_H
#define TN_ENGINE_H

#include <stdint.h>

#include "core/core.h"

struct tn_engine;
struct tn_session;

struct tn_engine_options {
    const char *const *allowed_dirs; /* NULL-terminated; each must be an absolute path */
    const char *temp_dir;            /* DuckDB's spill directory (inside an allowed dir) */
    const char *memory_limit;        /* e.g. "2GB"; NULL for DuckDB's default */
    int threads;                     /* 0 for DuckDB's default */
};

int tn_engine_open(const struct tn_engine_options *opt, struct tn_engine **out,
                   struct tn_err *err);
void tn_engine_close(struct tn_engine *e);

int tn_session_open(struct tn_engine *e, struct tn_session **out, struct tn_err *err);
void tn_session_close(struct tn_session *s);
/* Cancel the statement running on "s" (from another thread). */
void tn_session_interrupt(struct tn_session *s);

/* Run "sql", discarding any result. */
int tn_engine_exec(struct tn_session *s, const char *sql, struct tn_err *err);

struct tn_rows {
    size_t ncols, nrows;
    char **names; /* ncols column names */
    char **cells; /* nrows * ncols, row-major; NULL for SQL NULL */
};

/* Run "sql" and collect at most "max_rows" rows as text (TN_ETOOBIG beyond). */
int tn_engine_rows(struct tn_session *s, const char *sql, size_t max_rows,
                   struct tn_rows **out, struct tn_err *err);
const char *tn_rows_get(const struct tn_rows *r, size_t row, size_t col);
void tn_rows_free(struct tn_rows *r);

/*---- Streaming results ----*/

/* A running query whose rows arrive chunk by chunk as DuckDB produces them. tn_stream_cell
 * reads columns of text (the caller casts in SQL), NULL for SQL NULL; the tn_stream_arrow_*
 * functions render columns of any type as an Arrow IPC stream instead. */
struct tn_stream;

int tn_stream_open(struct tn_session *s, const char *sql, struct tn_stream **out,
                   struct tn_err *err);
size_t tn_stream_ncols(const struct tn_stream *st);
const char *tn_stream_name(const struct tn_stream *st, size_t col);
/* The next chunk's rows: *out_n rows (0 at the end); cell (r, c) via tn_stream_cell, valid
 * until the next call. An interrupted or failed query returns an error. */
int tn_stream_next(struct tn_stream *st, size_t *out_n, struct tn_err *err);
/* Cell text and its length (cells may hold NUL bytes only if the SQL produced them). */
const char *tn_stream_cell(const struct tn_stream *st, size_t row, size_t col, size_t *len);
void tn_stream_close(struct tn_stream *st);

/* Arrow IPC stream output (application/vnd.apache.arrow.stream): call tn_stream_arrow_schema
 * once, right after tn_stream_open, then tn_stream_arrow_batch after every tn_stream_next that
 * gave rows, then tn_stream_arrow_end. Each appends its messages to "out". ENUM columns are
 * dictionary-encoded. The schema call fails with TN_EINPUT, naming the column, when a column's
 * type has no Arrow IPC form here (UNION); cast such columns in SQL. */
int tn_stream_arrow_schema(struct tn_stream *st, struct tn_buf *out, struct tn_err *err);
int tn_stream_arrow_batch(struct tn_stream *st, struct tn_buf *out, struct tn_err *err);
void tn_stream_arrow_end(struct tn_buf *out);

/* 1 when "sql" holds more than one statement, 0 when one, negative on a parse error (with
 * "err" set). */
int tn_engine_statement_count(struct tn_session *s, const char *sql, struct tn_err *err);

/*---- SQL text ----*/
/* Append "s" as a double-quoted identifier ("a""b"). */
void tn_sql_ident(struct tn_buf *b, const char *s);
/* Append "s" as a single-quoted string literal ('it''s'). */
void tn_sql_string(struct tn_buf *b, const char *s);

/* errors.c: the tarn error code for a DuckDB error type (a duckdb_error_type): conversion and
 * constraint errors 422, catalog 404, permission 403, interrupt 503, internal 500, the rest 400.
 * tn_engine_fail sets "err" to DuckDB's message with that code and returns the code. */
int tn_engine_error_code(int type);
int tn_engine_fail(struct tn_err *err, int type, const char *msg);

#endif /* TN_ENGINE_H */
