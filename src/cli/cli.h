/* cli.h - private to src/cli: the state one run of the command line shares between main.c
 * (options, dispatch), commands.c (every command, local or remote), print.c (result printing),
 * remote.c (the --remote client, the only user of libcurl), progress.c (the progress bar) and
 * shell.c (the LakeShell). Single-threaded, except the progress bar's own thread. */
#ifndef TN_CLI_H
#define TN_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "table/table.h"

#define TN_CLI_VERSION "0.1.0"

/* JSON: one array of row objects; NDJSON: one object a line; ARROW, PARQUET: binary streams */
enum cli_format { CLI_TABLE, CLI_CSV, CLI_JSON, CLI_NDJSON, CLI_ARROW, CLI_PARQUET };

struct cli_options {
    const char *warehouse;
    const char *catalog;
    const char *catalog_name;
    const char *memory_limit;
    struct tn_storage_options storage; /* env.c's TARN_S3_*, AWS_*, TARN_CACHE_*, TARN_FAULT,
                                          then --s3-endpoint, --s3-region, --cache-dir, ... */
    int64_t stale_uploads_s;           /* --s3-stale-uploads / TARN_S3_STALE_UPLOADS; 0: a day */
    const char *format; /* --format: the output format of sql, the input format of ingest */
    const char *mode;
    const char *as_of;
    const char *branch;
    const char *evolve;
    const char *key;            /* --key: the upsert key columns */
    const char *partition_by;   /* --partition-by: the spec of a table the ingest creates */
    const char *format_version; /* --format-version 2|3: of a table the ingest creates */
    const char *types;          /* --types 'col:type,...': the file's columns read as these */
    const char *csv[16]; /* ingest's CSV flags, by tn_csv_option_names ([0]: --delimiter, also
                            the field separator of `tarn sql --format csv`) */
    const char *header;  /* --header[=true|false], --no-header: the file's or the output's */
    int dedupe_last;     /* --dedupe last */
    uint64_t
        max_decompressed;   /* --max-decompressed: bytes a gzip/zstd file may grow to; 0: default */
    const char *older_than; /* maintain remove-orphans --older-than: a duration ("1d") */
    int dry_run;            /* maintain remove-orphans --dry-run */
    const char *remote;     /* --remote URL / TARN_REMOTE: NULL for a local warehouse */
    const char *token;      /* --token / TARN_TOKEN, sent as a bearer token */
    int64_t snapshot_id;
    int purge;
    int force;          /* tag --force: move a tag that exists */
    int explain;        /* sql --explain: tarn's planning counts and DuckDB's plan */
    const char *output; /* sql -o/--output FILE: the result goes there, not to stdout */
    /* ingest --from and sync: a PostgreSQL source (sources.c) */
    const char *from;         /* postgresql://USER@HOST:PORT/DB */
    const char *source_table; /* SCHEMA.TABLE */
    const char *source_query;
    const char *cursor;  /* incremental mode's cursor column */
    int deletes;         /* incremental mode: then delete rows the source lost */
    const char *json_as; /* --json-as string|struct: how json and jsonb columns are stored */
    const char *schema;  /* sync: the source schema (default public) */
    const char *into;    /* sync: the namespace the tables go to */
    const char *every;   /* sync: run again after this long */
    json_t *path_map;
};

struct cli_remote;

struct cli {
    struct cli_options o;
    struct tn_warehouse *wh; /* local mode: opened on first use (cli_warehouse) */
    char **dirs;             /* further directories DuckDB may read (NULL-terminated) */
    size_t ndirs;
    struct cli_remote *remote;        /* remote mode */
    const struct tn_ask_options *ask; /* `ask`: the model to ask (tn_http_options.ask) */
    int progress; /* progress bars: 0 never, 1 for large files (stderr is a terminal), 2 always
                   * (TARN_PROGRESS=1; 0 turns them off) */
};

/* How a query reads the past (both -1/NULL: the present). */
struct cli_query {
    int64_t snapshot_id;
    const char *as_of;
    int64_t limit; /* --remote: rows the server sends at most (0: its own default) */
};

/*---- main.c ----*/
/* The local warehouse, opened on first use with the directories added so far. */
int cli_warehouse(struct cli *c, struct tn_warehouse **out, struct tn_err *err);

/* env.c: the settings the environment gives, before the flags: the storage's (TARN_S3_*,
 * AWS_*, TARN_CACHE_*, TARN_STORAGE_STATS, TARN_FAULT) and the server's (TARN_HOST, TARN_PORT,
 * TARN_TOKEN, ... one per serve flag, and TARN_REST_TOKEN_TTL). TN_EINPUT naming the variable
 * whose value does not parse. */
struct tn_http_options;
int cli_env_storage(struct tn_storage_options *so, struct tn_err *err);
/* A storage flag (s3-timeout, s3-low-speed-limit, s3-low-speed-time: "flag" without dashes). */
int cli_storage_flag(struct tn_storage_options *so, const char *flag, const char *value,
                     struct tn_err *err);
int cli_env_serve(struct tn_http_options *o, struct tn_err *err);
/* Let DuckDB read the directory holding "path" (a real path); reopens the warehouse on next use
 * when the directory is new. */
void cli_allow_dir_of(struct cli *c, const char *path);
/* "table", "csv", "json" or "arrow" (NULL: table); TN_EINPUT for anything else. */
int cli_parse_format(const char *s, enum cli_format *out, struct tn_err *err);

/*---- commands.c: each command works on the local warehouse or on c->remote ----*/
/* Cancel the statement running now (from another thread); the flag stays set until reset. */
void cli_interrupt(void);
int cli_interrupted(void);
void cli_interrupt_reset(void);
int cli_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *q,
            struct tn_err *err);
/* The rows of a read-only query as text (for the shell's own checks). Caller frees. */
int cli_query_rows(struct cli *c, const char *sql, struct tn_rows **out, struct tn_err *err);
/* Ingest "files" (paths and 'globs', all in one commit; "-" or /dev/stdin alone: standard input,
 * converted as it arrives) into table "ident". */
int cli_ingest(struct cli *c, const char *ident, char *const *files, size_t nfiles,
               const char *mode, struct tn_err *err);
int cli_tables(struct cli *c, struct tn_err *err);
int cli_describe(struct cli *c, const char *ident, struct tn_err *err);
int cli_history(struct cli *c, const char *ident, struct tn_err *err);
int cli_rollback(struct cli *c, const char *ident, const char *target, struct tn_err *err);
/* tag or branch "name" of "ident" at "snapshot" (NULL: the current snapshot). */
int cli_set_ref(struct cli *c, const char *what, const char *ident, const char *name,
                const char *snapshot, struct tn_err *err);
int cli_fast_forward(struct cli *c, const char *ident, const char *branch, struct tn_err *err);
/* maintain TABLE compact|expire [--as-of TIME] */
int cli_maintain(struct cli *c, const char *ident, const char *action, struct tn_err *err);
int cli_register(struct cli *c, const char *ident, const char *location, struct tn_err *err);
int cli_drop(struct cli *c, const char *ident, struct tn_err *err);

/*---- print.c ----*/
/* "tarn: message" on one line of stderr. */
void cli_print_error(const struct tn_err *err);
/* An aligned table of "r" (cells wider than 60 characters are cut with an ellipsis). */
void cli_print_table(FILE *f, const struct tn_rows *r);
/* One CSV cell of "n" bytes, quoted when it holds "sep", a quote or a line break: NULL prints
 * nothing, an empty string "" (as the HTTP API writes them). */
void cli_print_csv_cell(FILE *f, const char *v, size_t n, char sep);
/* A stream that takes CSV as the HTTP API writes it (comma-separated, header line first) and
 * writes it to "to" with "sep" between fields, without the header line unless "header"; the
 * cells keep their NULL/empty-string distinction. Closing it flushes the last record. */
FILE *cli_csv_rewriter(FILE *to, char sep, int header);
/* Parse CSV text as the HTTP API writes it (header line first; an unquoted empty field is
 * NULL) into rows; free with tn_rows_free. TN_EINPUT for malformed text. */
int cli_rows_from_csv(const char *text, size_t len, struct tn_rows **out, struct tn_err *err);
void cli_print_describe(const char *ns, const char *name, const char *location, int format_version,
                        int64_t current_snapshot_id, const struct tn_schema *schema);
void cli_print_history_header(void);
/* describe's lines after the columns: the default partition spec, identifier fields, default
 * sort order and properties (each JSON as the table metadata or GET /tables/{t} has it). */
void cli_print_table_extras(const struct tn_schema *schema, const json_t *spec,
                            const json_t *identifier_fields, const json_t *sort_order,
                            const json_t *properties);
/* tarn tables: each table's rows, data files, size and last change (local ISO-8601 time). */
void cli_print_tables_header(void);
void cli_print_tables_row(const char *ns, const char *name, int64_t rows, int64_t files,
                          int64_t bytes, int64_t last_ms);
/* One snapshot: its parent ("-" for none), its time in ISO-8601 in the local zone, the
 * operation and the rows its summary says it added and deleted. */
void cli_print_history_row(int64_t id, int64_t parent_id, int64_t sequence, int64_t timestamp_ms,
                           const char *operation, const json_t *summary);
/* The one-line summary of an ingest ("rows" written; "updated" of them replaced old rows). */
void cli_print_ingest(const char *ns, const char *name, int created, int upsert, int64_t rows,
                      int64_t updated, int64_t files, int64_t snapshot_id, int64_t sequence,
                      double seconds);

/*---- progress.c: a progress bar on stderr for a long load ----*/
struct cli_progress;

/* Start showing progress of reading "path" (total bytes "total") once "show_after" seconds
 * have passed. "poll": a thread reads the position of this process's open descriptors of the
 * file (a local ingest); otherwise the caller reports bytes with cli_progress_set (an upload).
 * Returns NULL when stderr is not a terminal. */
struct cli_progress *cli_progress_start(const char *path, uint64_t total, int poll,
                                        double show_after);
void cli_progress_set(struct cli_progress *p, uint64_t done);
/* Stop and erase the bar; NULL is a no-op. */
void cli_progress_stop(struct cli_progress *p);

/*---- remote.c: the HTTP client of --remote ----*/
int cli_remote_open(const char *url, const char *token, struct cli_remote **out,
                    struct tn_err *err);
void cli_remote_close(struct cli_remote *r);
/* "method" "path" (with its query string) with an optional JSON body; the JSON answer in *out
 * (caller frees; may be NULL). Errors carry the server's error.message and the TN_E* code of
 * its error type or HTTP status. */
int cli_remote_json(struct cli_remote *r, const char *method, const char *path, json_t *body,
                    json_t **out, struct tn_err *err);
/* POST /query: the result in "format" (csv, ndjson or arrow) is written to "sink" as it arrives
 * when "sink" is not NULL, else collected in "buf" (capped). A JSON answer (a DML statement's) is
 * returned in *out_json instead. */
int cli_remote_query(struct cli_remote *r, const char *sql, const char *format,
                     const struct cli_query *q, FILE *sink, struct tn_buf *buf, json_t **out_json,
                     struct tn_err *err);
/* POST "path" with the files' bytes streamed as the body (never read whole into memory): one
 * file as the raw body ("-": standard input, sent chunked), several as the parts named "file"
 * of a multipart/form-data body, each of "content_type". */
int cli_remote_upload(struct cli_remote *r, const char *path, const char *const *files,
                      size_t nfiles, const char *content_type, struct cli_progress *progress,
                      json_t **out, struct tn_err *err);

/*---- shell.c ----*/
/* The LakeShell: reads statements and commands from the terminal (with line editing and
 * history) or, when stdin is not one, from stdin without prompts. Returns the exit status. */
int cli_shell(struct cli *c);

/* Append "&key=value" to a URL, percent-encoding the value (commands.c). */
void cli_url_param(struct tn_buf *u, const char *key, const char *value);

/* sources.c: ingest --from and sync */
int cli_ingest_source(struct cli *c, const char *ident, struct tn_err *err);
int cli_sync(struct cli *c, struct tn_err *err);
/* A fresh directory under TMPDIR that DuckDB may read (added to its allowed directories), for
 * files a command fetches before loading them; NULL when it cannot be made. Caller frees, and
 * removes it with cli_spool_remove. */
char *cli_spool_dir(struct cli *c);

/* s3_input.c: ingest's s3:// arguments */
/* 1 when the argument of ingest is an S3 location (s3:// or s3a://). */
int cli_is_s3_location(const char *arg);
/* Download every object "pattern" names (s3://bucket/key, where the key may hold "*", "?" and
 * "[...]" matching within one path segment) into "dir", in key order, appending the local
 * paths to (*paths, *n, *cap), NULL-terminated. TN_ENOTFOUND when no object matches. The paths
 * appended stay there after a failure too, for the caller to remove. */
int cli_s3_fetch(const struct cli *c, const char *pattern, const char *dir, char ***paths,
                 size_t *n, size_t *cap, struct tn_err *err);
/* Remove "dir" and everything below it (symbolic links are removed, not followed). */
void cli_spool_remove(const char *dir);

/* ai.c: `tarn mcp` (MCP on standard input/output) and `tarn ask` */
struct tn_ask_options;
int cli_mcp(struct cli *c, struct tn_err *err);
int cli_ask(struct cli *c, const struct tn_ask_options *opt, const char *question,
            struct tn_err *err);

#endif /* TN_CLI_H */
