/* main.c - the tarn command line: parse the command and its options, run it on a local
 * warehouse, print the result. Exit status 0 on success, otherwise the error's exit status with
 * a one-line message on stderr. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "table/table.h"

#define VERSION "0.1.0"
#define PRINT_MAX_ROWS 1000000
#define OPT_SERVE 1000 /* getopt value of every `tarn serve` option (src/http) */

struct options {
    const char *warehouse;
    const char *catalog;
    const char *format;
    const char *mode;
    const char *input_format;
    const char *as_of;
    const char *branch;
    const char *evolve;
    int64_t snapshot_id;
    json_t *path_map;
};

static void usage(FILE *f)
{
    fputs("usage: tarn <command> [options]\n"
          "\n"
          "commands:\n"
          "  ingest TABLE FILE [--mode append|overwrite] [--format csv|json|ndjson|parquet]\n"
          "         [--branch NAME] [--evolve add|strict]\n"
          "  sql \"SELECT ...\" [--format table|csv|json] [--snapshot ID] [--as-of TIME]\n"
          "  tables                      list the tables\n"
          "  describe TABLE              schema, spec, properties, current snapshot\n"
          "  history TABLE               the table's snapshots\n"
          "  register TABLE METADATA_LOCATION [--map FROM=TO ...]\n"
          "  rollback TABLE SNAPSHOT_ID|TIMESTAMP   move main; history is kept\n"
          "  tag TABLE NAME [SNAPSHOT_ID]           tag a snapshot (default: current)\n"
          "  branch TABLE NAME [SNAPSHOT_ID]        create or move a branch\n"
          "  fast-forward TABLE BRANCH              move main to the branch's head\n"
          "  drop TABLE [--purge]\n"
          "  serve [--host H] [--port P] [--token T] [--no-auth] [--max-upload SIZE]\n"
          "        [--query-timeout S] [--memory-limit SIZE]   the HTTP API\n"
          "\n"
          "options (also as environment variables):\n"
          "  --warehouse DIR   TARN_WAREHOUSE   the warehouse directory (default ./warehouse)\n"
          "  --catalog PATH    TARN_CATALOG     the SQLite catalog (default WAREHOUSE/catalog.db)\n"
          "  --memory-limit S  TARN_MEMORY_LIMIT  DuckDB's memory limit (e.g. 4GB)\n"
          "serve options (also as environment variables):\n"
          "  --host H          TARN_HOST          address to bind (default 127.0.0.1)\n"
          "  --port P          TARN_PORT          port (default 8000)\n"
          "  --token T         TARN_TOKEN         require 'Authorization: Bearer T'\n"
          "  --no-auth         TARN_NO_AUTH=1     allow a non-loopback --host without a token\n"
          "  --max-upload S    TARN_MAX_UPLOAD    largest upload (default 10GiB)\n"
          "  --query-timeout S TARN_QUERY_TIMEOUT seconds a query may run (default 60)\n",
          f);
}

static int fail(const struct tn_err *err)
{
    fprintf(stderr, "tarn: %s\n", err->msg);
    return tn_err_exit_status(err->code);
}

/*---- Printing results ----*/

static void print_csv_cell(const char *v)
{
    if (!v)
        return;
    if (strpbrk(v, ",\"\n\r")) {
        putchar('"');
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                putchar('"');
            putchar(*p);
        }
        putchar('"');
    } else {
        fputs(v, stdout);
    }
}

static size_t display_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

static void print_table(const struct tn_rows *r)
{
    size_t *w = tn_calloc(r->ncols + 1, sizeof(size_t));

    for (size_t c = 0; c < r->ncols; c++) {
        w[c] = display_width(r->names[c]);
        for (size_t i = 0; i < r->nrows; i++) {
            const char *v = tn_rows_get(r, i, c);
            size_t n = display_width(v ? v : "NULL");
            if (n > w[c])
                w[c] = n;
        }
        if (w[c] > 60)
            w[c] = 60;
    }
    for (size_t c = 0; c < r->ncols; c++)
        printf("%s%-*s", c ? " | " : "", (int)w[c], r->names[c]);
    putchar('\n');
    for (size_t c = 0; c < r->ncols; c++) {
        printf("%s", c ? "-+-" : "");
        for (size_t k = 0; k < w[c]; k++)
            putchar('-');
    }
    putchar('\n');
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t c = 0; c < r->ncols; c++) {
            const char *v = tn_rows_get(r, i, c);
            size_t n;
            if (!v)
                v = "NULL";
            n = display_width(v);
            printf("%s%s", c ? " | " : "", v);
            for (size_t k = n; k < w[c]; k++)
                putchar(' ');
        }
        putchar('\n');
    }
    printf("(%zu row%s)\n", r->nrows, r->nrows == 1 ? "" : "s");
    free(w);
}

static int print_rows(struct tn_session *s, const char *sql, const char *format,
                      struct tn_err *err)
{
    struct tn_rows *r = NULL;
    int rc;

    if (format && strcmp(format, "json") == 0) {
        char *q = tn_asprintf("SELECT CAST(to_json(_tn_row) AS VARCHAR) FROM (%s) _tn_row", sql);
        rc = tn_engine_rows(s, q, PRINT_MAX_ROWS, &r, err);
        free(q);
        if (rc)
            return rc;
        for (size_t i = 0; i < r->nrows; i++)
            printf("%s\n", tn_rows_get(r, i, 0));
        tn_rows_free(r);
        return 0;
    }
    {
        /* DuckDB renders every type as text itself (its C value API cannot for some) */
        char *q = tn_asprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _tn_row", sql);
        rc = tn_engine_rows(s, q, PRINT_MAX_ROWS, &r, err);
        free(q);
    }
    if (rc)
        return rc;
    if (format && strcmp(format, "csv") == 0) {
        for (size_t c = 0; c < r->ncols; c++) {
            if (c)
                putchar(',');
            print_csv_cell(r->names[c]);
        }
        putchar('\n');
        for (size_t i = 0; i < r->nrows; i++) {
            for (size_t c = 0; c < r->ncols; c++) {
                if (c)
                    putchar(',');
                print_csv_cell(tn_rows_get(r, i, c));
            }
            putchar('\n');
        }
    } else {
        print_table(r);
    }
    tn_rows_free(r);
    return 0;
}

/*---- Commands ----*/

static int starts_with_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '(')
        s++;
    return strncasecmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\t' || s[n] == '\n');
}

static int cmd_sql(struct tn_warehouse *wh, const char *sql, const struct options *o,
                   struct tn_err *err)
{
    struct tn_session *s = NULL;
    struct tn_query_options qo = {o->snapshot_id, -1};
    char *resolved = NULL;
    int rc = tn_session_open(wh->engine, &s, err);

    if (!rc && o->as_of) {
        struct tn_buf q = TN_BUF_INIT(0);
        struct tn_rows *r = NULL;
        tn_buf_addstr(&q, "SELECT epoch_ms(CAST(", NULL);
        tn_sql_string(&q, o->as_of);
        tn_buf_addstr(&q, " AS TIMESTAMP))", NULL);
        rc = tn_engine_rows(s, q.buf, 1, &r, err);
        if (!rc)
            tn_parse_i64(tn_rows_get(r, 0, 0), &qo.as_of_ms);
        tn_rows_free(r);
        tn_buf_release(&q);
    }
    if (!rc && starts_with_word(sql, "ALTER")) {
        struct tn_alter_result ar;
        rc = tn_table_alter(wh, s, sql, &ar, err);
        if (!rc)
            printf("altered %s.%s\n", ar.renamed ? ar.new_ns : ar.ns,
                   ar.renamed ? ar.new_table : ar.table);
        tn_session_close(s);
        return rc;
    }
    if (!rc && starts_with_word(sql, "INSERT")) {
        struct tn_insert_result ir;
        rc = tn_table_insert(wh, s, sql, &qo, &ir, err);
        if (!rc)
            printf("%s.%s: inserted %lld rows, snapshot %lld\n", ir.ns, ir.table,
                   (long long)ir.commit.rows_added, (long long)ir.commit.snapshot_id);
        tn_session_close(s);
        return rc;
    }
    if (!rc)
        rc = tn_query_resolve(wh, s, sql, &qo, &resolved, err);
    if (!rc && getenv("TARN_TRACE_SQL"))
        fprintf(stderr, "%s\n", resolved);
    if (!rc)
        rc = print_rows(s, resolved, o->format, err);
    free(resolved);
    tn_session_close(s);
    return rc;
}

static const char *reader_for(const char *path, const char *format)
{
    const char *dot = strrchr(path, '.');

    if (!format && dot) {
        if (strcasecmp(dot, ".parquet") == 0)
            format = "parquet";
        else if (strcasecmp(dot, ".json") == 0)
            format = "json";
        else if (strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".jsonl") == 0)
            format = "ndjson";
    }
    if (!format || strcmp(format, "csv") == 0)
        return "read_csv";
    if (strcmp(format, "parquet") == 0)
        return "read_parquet";
    if (strcmp(format, "ndjson") == 0)
        return "read_ndjson";
    return "read_json";
}

static int cmd_ingest(struct tn_warehouse *wh, const char *ident, const char *file,
                      const struct options *o, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_session *s = NULL;
    struct tn_buf src = TN_BUF_INIT(0);
    struct tn_ingest_result res;
    char *path = realpath(file, NULL);
    struct tn_ingest_options opt = {TN_WRITE_APPEND, TN_EVOLVE_ADD, o->branch};
    int rc;

    if (!path)
        return tn_fail(err, TN_EINPUT, "cannot open %s", file);
    {
        struct stat sb;
        if (stat(path, &sb) == 0 && sb.st_size == 0) {
            free(path);
            return tn_fail(err, TN_EINPUT, "%s is empty: there is nothing to load", file);
        }
    }
    if (o->mode && strcmp(o->mode, "overwrite") == 0)
        opt.mode = TN_WRITE_OVERWRITE;
    else if (o->mode && strcmp(o->mode, "append") != 0) {
        free(path);
        return tn_fail(err, TN_EINPUT, "--mode must be append or overwrite");
    }
    if (o->evolve && strcmp(o->evolve, "strict") == 0)
        opt.evolve = TN_EVOLVE_STRICT;
    else if (o->evolve && strcmp(o->evolve, "add") != 0) {
        free(path);
        return tn_fail(err, TN_EINPUT, "--evolve must be add or strict");
    }
    rc = tn_ident_parse(ident, ns, name, err);
    if (!rc)
        rc = tn_session_open(wh->engine, &s, err);
    if (!rc) {
        tn_buf_addf(&src, NULL, "SELECT * FROM %s(", reader_for(path, o->input_format));
        tn_sql_string(&src, path);
        tn_buf_addstr(&src, ")", NULL);
        rc = tn_table_ingest_opts(wh, s, ns, name, src.buf, &opt, &res, err);
    }
    if (!rc) {
        printf("%s.%s: %s %lld rows in %lld file(s), snapshot %lld (sequence %lld)\n", ns, name,
               res.created ? "created with" : "added", (long long)res.commit.rows_added,
               (long long)res.commit.files_added, (long long)res.commit.snapshot_id,
               (long long)res.commit.sequence_number);
        tn_ingest_result_release(&res);
    }
    free(path);
    tn_buf_release(&src);
    tn_session_close(s);
    return rc;
}

static int cmd_tables(struct tn_warehouse *wh, struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;
    int rc = tn_catalog_list(wh->catalog, NULL, &e, &n, err);

    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        printf("%s.%s\n", e[i].ns, e[i].table);
    tn_catalog_entries_free(e, n);
    return 0;
}

static int cmd_describe(struct tn_warehouse *wh, const char *ident, int history,
                        struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (!rc)
        rc = tn_table_load(wh, ns, name, &t, err);
    if (rc)
        return rc;
    if (history) {
        printf("%-20s %-20s %-8s %-14s %s\n", "snapshot_id", "parent_id", "sequence",
               "timestamp_ms", "operation");
        for (size_t i = 0; i < t->meta->nsnapshots; i++) {
            const struct tn_snapshot *sn = &t->meta->snapshots[i];
            printf("%-20lld %-20lld %-8lld %-14lld %s\n", (long long)sn->id,
                   (long long)sn->parent_id, (long long)sn->sequence_number,
                   (long long)sn->timestamp_ms, sn->operation ? sn->operation : "");
        }
    } else {
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        printf("table %s.%s\nlocation %s\nformat-version %d\ncurrent-snapshot-id %lld\n", ns,
               name, t->meta->location, t->meta->format_version,
               (long long)t->meta->current_snapshot_id);
        printf("%-6s %-30s %-30s %s\n", "id", "name", "type", "required");
        for (size_t i = 0; i < schema->root.nfields; i++) {
            const struct tn_field *f = &schema->root.fields[i];
            char type[128];
            struct tn_buf b = TN_BUF_INIT(0);
            if (tn_type_is_primitive(f->type)) {
                tn_type_name(f->type, type, sizeof(type));
            } else {
                tn_type_duckdb(f->type, &b, NULL);
                snprintf(type, sizeof(type), "%s", b.buf ? b.buf : "");
            }
            printf("%-6d %-30s %-30s %s\n", f->id, f->name, type, f->required ? "yes" : "no");
            tn_buf_release(&b);
        }
    }
    tn_table_free(t);
    return 0;
}

/* rollback TABLE SNAPSHOT_ID|TIMESTAMP; tag/branch TABLE NAME [SNAPSHOT_ID] */
static int cmd_ref(struct tn_warehouse *wh, const char *what, char **args, int nargs,
                   struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    int64_t id = -1, as_of = -1, moved = -1;
    int rc = tn_ident_parse(args[0], ns, name, err);

    if (rc)
        return rc;
    if (strcmp(what, "rollback") == 0) {
        if (tn_parse_i64(args[1], &id)) {
            struct tn_session *s = NULL;
            struct tn_buf q = TN_BUF_INIT(0);
            struct tn_rows *r = NULL;
            rc = tn_session_open(wh->engine, &s, err);
            tn_buf_addstr(&q, "SELECT epoch_ms(CAST(", NULL);
            tn_sql_string(&q, args[1]);
            tn_buf_addstr(&q, " AS TIMESTAMP))", NULL);
            if (!rc)
                rc = tn_engine_rows(s, q.buf, 1, &r, err);
            if (rc)
                rc = tn_fail(err, TN_EINPUT, "'%s' is neither a snapshot id nor a timestamp",
                             args[1]);
            else
                tn_parse_i64(tn_rows_get(r, 0, 0), &as_of);
            tn_rows_free(r);
            tn_buf_release(&q);
            tn_session_close(s);
        }
        if (!rc)
            rc = tn_table_rollback(wh, ns, name, id, as_of, &moved, err);
        if (!rc)
            printf("%s.%s: main is now at snapshot %lld\n", ns, name, (long long)moved);
        return rc;
    }
    if (nargs >= 3 && tn_parse_i64(args[2], &id))
        return tn_fail(err, TN_EINPUT, "'%s' is not a snapshot id", args[2]);
    if (id == -1) {
        struct tn_table *t = NULL;
        rc = tn_table_load(wh, ns, name, &t, err);
        if (!rc)
            id = t->meta->current_snapshot_id;
        tn_table_free(t);
        if (!rc && id == -1)
            rc = tn_fail(err, TN_EINPUT, "table %s.%s has no snapshot to tag", ns, name);
        if (rc)
            return rc;
    }
    rc = tn_table_set_ref(wh, ns, name, args[1], strcmp(what, "tag") == 0, id, -1, err);
    if (!rc)
        printf("%s.%s: %s %s at snapshot %lld\n", ns, name, what, args[1], (long long)id);
    return rc;
}

static int cmd_register(struct tn_warehouse *wh, const char *ident, const char *location,
                        const struct options *o, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    int rc = tn_ident_parse(ident, ns, name, err);

    if (!rc)
        rc = tn_table_register(wh, ns, name, location, o->path_map, err);
    if (!rc)
        printf("registered %s.%s at %s\n", ns, name, location);
    return rc;
}

/* Directories the command line lets DuckDB read besides the warehouse: the file given to
 * ingest, and the targets of path maps (for registered tables outside the warehouse). */
static void extra_dirs(int argc, char **argv, const struct options *o, const char **dirs,
                       size_t cap)
{
    size_t n = 0;
    const char *key;
    json_t *v;

    if (argc >= 3 && strcmp(argv[0], "ingest") == 0) {
        char *path = realpath(argv[2], NULL);
        if (path) {
            char *slash = strrchr(path, '/');
            if (slash && slash != path)
                *slash = '\0';
            dirs[n++] = path;
        }
    }
    json_object_foreach(o->path_map, key, v) {
        const char *to = json_string_value(v);
        if (n + 1 < cap && to)
            dirs[n++] = tn_strdup(strncmp(to, "file://", 7) == 0 ? to + 7 : to);
    }
    dirs[n] = NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"warehouse", required_argument, NULL, 'w'}, {"catalog", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},    {"mode", required_argument, NULL, 'm'},
        {"map", required_argument, NULL, 'M'},       {"snapshot", required_argument, NULL, 's'},
        {"as-of", required_argument, NULL, 'a'},     {"purge", no_argument, NULL, 'p'},
        {"branch", required_argument, NULL, 'b'},  {"evolve", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
        {"memory-limit", required_argument, NULL, 'L'},
        /* tarn serve */
        {"host", required_argument, NULL, OPT_SERVE},  {"port", required_argument, NULL, OPT_SERVE},
        {"token", required_argument, NULL, OPT_SERVE}, {"no-auth", no_argument, NULL, OPT_SERVE},
        {"max-upload", required_argument, NULL, OPT_SERVE},
        {"query-timeout", required_argument, NULL, OPT_SERVE},
        {NULL, 0, NULL, 0},
    };
    struct options o = {0};
    struct tn_warehouse_options wo = {0};
    struct tn_warehouse *wh = NULL;
    struct tn_err err = {0};
    const char *dirs[64];
    struct tn_http_options so = {0};
    int purge = 0, c, rc, li = 0;
    char **args;
    int nargs;

    o.warehouse = getenv("TARN_WAREHOUSE") ? getenv("TARN_WAREHOUSE") : "./warehouse";
    o.catalog = getenv("TARN_CATALOG");
    o.snapshot_id = -1;
    o.path_map = json_object();
    wo.memory_limit = getenv("TARN_MEMORY_LIMIT");
    so.version = VERSION;
    if (tn_http_options_env(&so, &err))
        return fail(&err);
    while ((c = getopt_long(argc, argv, "hV", longopts, &li)) != -1) {
        switch (c) {
        case OPT_SERVE:
            if (tn_http_option_set(&so, longopts[li].name, optarg, &err))
                return fail(&err);
            break;
        case 'L':
            wo.memory_limit = optarg;
            break;
        case 'w':
            o.warehouse = optarg;
            break;
        case 'c':
            o.catalog = optarg;
            break;
        case 'f':
            o.format = optarg;
            o.input_format = optarg;
            break;
        case 'm':
            o.mode = optarg;
            break;
        case 'M': {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "tarn: --map takes FROM=TO\n");
                return 2;
            }
            *eq = '\0';
            json_object_set_new(o.path_map, optarg, json_string(eq + 1));
            break;
        }
        case 's':
            if (tn_parse_i64(optarg, &o.snapshot_id)) {
                fprintf(stderr, "tarn: --snapshot takes a snapshot id\n");
                return 2;
            }
            break;
        case 'a':
            o.as_of = optarg;
            break;
        case 'b':
            o.branch = optarg;
            break;
        case 'e':
            o.evolve = optarg;
            break;
        case 'p':
            purge = 1;
            break;
        case 'V':
            printf("tarn %s\n", VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* GNU getopt moves the operands after the options, wherever they were given */
    args = argv + optind;
    nargs = argc - optind;
    if (nargs < 1) {
        usage(stderr);
        return 2;
    }
    extra_dirs(nargs, args, &o, dirs, sizeof(dirs) / sizeof(dirs[0]));
    wo.warehouse = o.warehouse;
    wo.catalog_path = o.catalog;
    wo.extra_dirs = dirs;
    rc = tn_warehouse_open(&wo, &wh, &err);
    if (rc)
        goto done;
    if (strcmp(args[0], "sql") == 0 && nargs == 2)
        rc = cmd_sql(wh, args[1], &o, &err);
    else if (strcmp(args[0], "ingest") == 0 && nargs == 3)
        rc = cmd_ingest(wh, args[1], args[2], &o, &err);
    else if (strcmp(args[0], "tables") == 0 && nargs == 1)
        rc = cmd_tables(wh, &err);
    else if (strcmp(args[0], "describe") == 0 && nargs == 2)
        rc = cmd_describe(wh, args[1], 0, &err);
    else if (strcmp(args[0], "history") == 0 && nargs == 2)
        rc = cmd_describe(wh, args[1], 1, &err);
    else if (strcmp(args[0], "serve") == 0 && nargs == 1)
        rc = tn_http_serve(wh, &so, &err);
    else if (strcmp(args[0], "rollback") == 0 && nargs == 3)
        rc = cmd_ref(wh, "rollback", args + 1, nargs - 1, &err);
    else if ((strcmp(args[0], "tag") == 0 || strcmp(args[0], "branch") == 0) &&
             (nargs == 3 || nargs == 4))
        rc = cmd_ref(wh, args[0], args + 1, nargs - 1, &err);
    else if (strcmp(args[0], "fast-forward") == 0 && nargs == 3) {
        char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
        rc = tn_ident_parse(args[1], ns, name, &err);
        if (!rc)
            rc = tn_table_fast_forward(wh, ns, name, args[2], &err);
        if (!rc)
            printf("%s.%s: main is now at the head of %s\n", ns, name, args[2]);
    } else if (strcmp(args[0], "register") == 0 && nargs == 3)
        rc = cmd_register(wh, args[1], args[2], &o, &err);
    else if (strcmp(args[0], "drop") == 0 && nargs == 2) {
        char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
        rc = tn_ident_parse(args[1], ns, name, &err);
        if (!rc)
            rc = tn_table_drop(wh, ns, name, purge, &err);
    } else {
        usage(stderr);
        rc = tn_fail(&err, TN_EINPUT, "unknown command or wrong number of arguments: %s",
                     args[0]);
    }
done:
    tn_warehouse_close(wh);
    for (size_t i = 0; dirs[0] && i < 64 && dirs[i]; i++)
        free((char *)dirs[i]);
    json_decref(o.path_map);
    return rc ? fail(&err) : 0;
}
