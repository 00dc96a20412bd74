/* engine.h - the only user of DuckDB (duckdb.h). An engine is one DuckDB database, sandboxed at
 * open: no file access outside the allowed directories, no extension installs, settings locked.
 * A session is one connection; use one per thread. Results of internal queries come back as a
 * small materialised table of text cells.
 *
 * The SQL quoting helpers live here too, so that every identifier and literal tarn puts into SQL
 * goes through one place. */
#ifndef TN_ENGINE_H
#define TN_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "core/core.h"

struct tn_engine;
struct tn_session;

struct tn_engine_options {
    const char *const *allowed_dirs; /* NULL-terminated; each must be an absolute path; the
                                        first is also DuckDB's home directory (what '~' means
                                        in a file name), never the server user's $HOME */
    const char *temp_dir;            /* DuckDB's spill directory (inside an allowed dir) */
    const char *memory_limit;        /* e.g. "2GB"; NULL for DuckDB's default */
    int threads;                     /* 0 for DuckDB's default */
};

int tn_engine_open(const struct tn_engine_options *opt, struct tn_engine **out, struct tn_err *err);
void tn_engine_close(struct tn_engine *e);
/* The directory '~' stands for in file names DuckDB opens (the first allowed directory). */
const char *tn_engine_home(const struct tn_engine *e);

int tn_session_open(struct tn_engine *e, struct tn_session **out, struct tn_err *err);
void tn_session_close(struct tn_session *s);
/* A session kept by tn_session_keep (with the statements it prepared), else a new one. */
int tn_session_reuse(struct tn_engine *e, struct tn_session **out, struct tn_err *err);
/* Hand "s" back for a later tn_session_reuse instead of closing it (it is closed when enough
 * are kept). Only for a session whose statements all ended normally and that made nothing in
 * DuckDB (no temporary tables): the next user gets it as it is. */
void tn_session_keep(struct tn_session *s);
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
int tn_engine_rows(struct tn_session *s, const char *sql, size_t max_rows, struct tn_rows **out,
                   struct tn_err *err);
const char *tn_rows_get(const struct tn_rows *r, size_t row, size_t col);
void tn_rows_free(struct tn_rows *r);
/* The first "n" rows of "r" (at most its own count) as a JSON array of arrays of strings, SQL
 * NULL as null (the caller owns it). */
json_t *tn_rows_json(const struct tn_rows *r, size_t n);
/* The one reading of a time a user gives (as_of, rollback and expiry targets, the shell's
 * travel), in epoch milliseconds: a whole number is milliseconds already; any other text is cast
 * by DuckDB to TIMESTAMPTZ, as a quoted literal ("2026-11-23 10:00:00" is UTC, an offset such as
 * "+01:00" is applied). TN_EINPUT, with examples, when it is neither. */
int tn_engine_timestamp_ms(struct tn_session *s, const char *text, int64_t *out,
                           struct tn_err *err);

/* An error as a user is to read it: without DuckDB's excerpt of the statement tarn ran
 * ("LINE 1: ..."), tarn's own column and relation names (_tn_rows, _tn_file, _tn_pos,
 * file_row_number, __tn_relation_...) and the server's temporary file paths (upload-...,
 * query-...), which become words about the user's statement and file. */
void tn_engine_error_scrub(struct tn_err *err);

/*---- Streaming results ----*/

/* A running query whose rows arrive chunk by chunk as DuckDB produces them. tn_stream_cell
 * reads columns of text (the caller casts in SQL), NULL for SQL NULL; the tn_stream_arrow_*
 * functions render columns of any type as an Arrow IPC stream instead. */
struct tn_stream;

int tn_stream_open(struct tn_session *s, const char *sql, struct tn_stream **out,
                   struct tn_err *err);
/* tn_stream_open with the prepared statement kept in "s" for the next stream of the very same
 * text (the last 16 texts; a statement whose run fails is forgotten). Only for a text whose
 * result depends on nothing but the text: a prepared statement keeps what DuckDB bound, e.g.
 * the files a glob matched then. */
int tn_stream_open_kept(struct tn_session *s, const char *sql, struct tn_stream **out,
                        struct tn_err *err);
/* How often tn_stream_open_kept prepared a statement, and how often it reused a kept one. */
void tn_engine_kept_counts(struct tn_engine *e, uint64_t *prepared, uint64_t *reused);
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

/* 1 when "sql" holds more than one statement for DuckDB's parser, 0 when one, negative on a
 * parse error (with "err" set). */
int tn_engine_statement_count(struct tn_session *s, const char *sql, struct tn_err *err);

/*---- Statements (statement.c) ----*/

/* tn_engine_exec, tn_engine_rows and tn_stream_open run exactly one statement, prepared: text
 * with a second statement is refused (TN_EINPUT), and so is any statement tarn never runs
 * itself (TN_EFORBIDDEN): ATTACH, DETACH, INSTALL/LOAD, SET, PRAGMA, CALL, EXPORT/IMPORT,
 * transactions, CREATE other than tarn's own "CREATE TEMP TABLE ", DROP other than "DROP TABLE ",
 * and statement types DuckDB's C API does not name other than tarn's own "MERGE INTO ". So
 * CREATE MACRO/FUNCTION/SECRET/VIEW and ATTACH never run, whatever text reaches the engine. */

/* A lexed SQL text. Tokens point into "text": a copy of the input with every comment blanked
 * out (same length and line breaks), so any span of it means to DuckDB what it meant in the
 * input and holds no comment that could swallow what tarn puts after it. */
enum tn_sql_tok { TN_TOK_WORD, TN_TOK_IDENT, TN_TOK_STRING, TN_TOK_NUMBER, TN_TOK_OP };
struct tn_sql_token {
    enum tn_sql_tok kind; /* IDENT: "quoted"; STRING: '...', E'...' or $tag$...$tag$ */
    size_t start, len;    /* in text, quotes included; OP tokens are one character */
    int depth;            /* brackets open before it: (, [ and { */
};
struct tn_sql_tokens {
    char *text;
    struct tn_sql_token *v;
    size_t n, cap;
};

/* TN_EINPUT when a quote or comment is not closed. */
int tn_sql_lex(const char *sql, struct tn_sql_tokens *out, struct tn_err *err);
void tn_sql_tokens_release(struct tn_sql_tokens *t);
/* Whether token i is keyword "word" (case-insensitive; never a quoted name) or, for one-char
 * "word"s like "(", that operator. */
int tn_sql_tok_is(const struct tn_sql_tokens *t, size_t i, const char *word);
/* The name token i stands for: a bare word lower-cased as DuckDB folds it, a quoted one
 * unquoted; NULL for other tokens. A new string. */
char *tn_sql_tok_name(const struct tn_sql_tokens *t, size_t i);
/* The comment-free text from token "from" up to (not including) token "to". A new string. */
char *tn_sql_tok_span(const struct tn_sql_tokens *t, size_t from, size_t to);

/* The comment-free text of "t" with every namespace written `default` (a reserved word in
 * DuckDB: default.sales does not parse) quoted, for DuckDB to parse. A new string. */
char *tn_sql_quote_default(const struct tn_sql_tokens *t);

/* What a request's statement is, found once for the HTTP API, the command line and the shell. */
enum tn_stmt_kind {
    TN_STMT_READ,    /* anything else: a read if DuckDB parses it as a SELECT (tn_query_resolve
                        refuses the rest) */
    TN_STMT_EXPLAIN, /* EXPLAIN [ANALYZE] of a read; "body" is the read */
    TN_STMT_INSERT,
    TN_STMT_UPDATE,
    TN_STMT_DELETE,
    TN_STMT_MERGE,
    TN_STMT_ALTER,
    TN_STMT_CREATE, /* CREATE TABLE [AS SELECT], CREATE VIEW (tarn's reader parses it: ddl.c) */
    TN_STMT_DROP    /* DROP TABLE, DROP VIEW */
};
struct tn_statement {
    enum tn_stmt_kind kind;
    int analyze;      /* EXPLAIN ANALYZE */
    int pivot;        /* it uses PIVOT (which DuckDB may expand into several statements) */
    const char *body; /* the statement itself, or the one EXPLAIN explains (inside the input) */
    char keyword[32]; /* its first word, upper-cased ("" for none) */
};

/* Classify "sql": exactly one statement for tarn's lexer and DuckDB's parser (else TN_EINPUT,
 * "one statement per request"), by its first word among INSERT, UPDATE, DELETE, MERGE, ALTER,
 * CREATE, DROP and EXPLAIN, else a read. */
int tn_statement_classify(struct tn_session *s, const char *sql, struct tn_statement *out,
                          struct tn_err *err);

/* TN_EINPUT when a table "ns.table" would shadow DuckDB's own objects or tarn's temporary
 * tables (information_schema, pg_catalog, duckdb_*, sqlite_master, _tn_*, ...): checked
 * wherever a table is created or renamed. */
int tn_sql_reserved_name(const char *ns, const char *table, struct tn_err *err);

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
/* The same for a failed prepare, whose type DuckDB 1.4 gives only in its message's prefix. */
int tn_engine_fail_prepare(struct tn_err *err, const char *msg);

#endif /* TN_ENGINE_H */
