/* main.c - the tarn command line: parse the command and its options, run it on a local
 * warehouse or (--remote) on a running server, print the result. Exit status 0 on success,
 * otherwise the error's exit status (tn_err_exit_status) with a one-line message on stderr.
 * The commands themselves live in commands.c, the LakeShell in shell.c. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "http/http.h"

#define OPT_SERVE            1000 /* getopt value of every `tarn serve` option (src/http) */
#define OPT_OLDER_THAN       1001
#define OPT_DRY_RUN          1002
#define OPT_MAX_DECOMPRESSED 1003 /* ingest and serve */
#define OPT_S3               1004 /* S3 limits (env.c) */
#define OPT_CATALOG_NAME     1005
#define OPT_SOURCE           1006 /* the PostgreSQL source options (sources.c) */
#define OPT_FORCE            1007
#define OPT_TYPES            1008
#define OPT_CSV              1009 /* ingest's CSV options (tn_csv_option_names) and --header */
#define OPT_NO_HEADER        1010
#define OPT_FORMAT_VERSION   1011
#define DIRS_MAX             64

static const char usage_text[] =
    "usage: tarn <command> [options]   (tarn <command> --help: that command's usage)\n"
    "\n"
    "commands:\n"
    "  ingest TABLE FILE... [--mode append|overwrite|upsert] [--key COL[,COL]] [--dedupe last]\n"
    "         (FILE: a path, a pattern, - for standard input, or s3://bucket/path/*.csv)\n"
    "         [--format csv|json|ndjson|parquet] [--branch NAME] [--evolve add|strict]\n"
    "         [--partition-by 'day(ts), bucket(16, id)']   (for a table it creates)\n"
    "         [--format-version 2|3]   (Iceberg format version of a table it creates)\n"
    "         [--types 'amount:decimal(12,2),id:long']   (instead of the sniffed types)\n"
    "         CSV: [--delimiter ';'] [--header[=true|false] | --no-header]\n"
    "         [--nullstr 'NA,empty'] [--quote Q] [--escape E] [--comment '#'] [--skip LINES]\n"
    "         [--decimal-separator ,]\n"
    "         [--dateformat '%d/%m/%Y'] [--timestampformat '%d/%m/%Y %H:%M']\n"
    "         [--encoding utf-8|utf-16|latin-1]   (a table keeps them for later files)\n"
    "         [--max-decompressed SIZE]   (a .gz/.zst file; also for serve)\n"
    "  ingest TABLE --from postgresql://USER@HOST:PORT/DB --source-table SCHEMA.TABLE\n"
    "         | --source-query 'SELECT ...'  [--mode full|append|incremental]\n"
    "         [--cursor COL] [--key COL[,COL]] [--deletes] [--json-as string|struct]\n"
    "                              copy a PostgreSQL table or query (docs/SOURCES.md)\n"
    "  sync --from postgresql://... [--schema public] --into NAMESPACE [--every 5m]\n"
    "                              every table of a schema, each one commit\n"
    "  sql \"SELECT ...\" [--format table|csv|json|ndjson|arrow|parquet] [--snapshot ID]\n"
    "      [--as-of TIME]          json: one array of row objects; ndjson: one a line\n"
    "      [--explain]             files and manifests planned, and DuckDB's plan\n"
    "      [--delimiter C] [--header|--no-header]   csv: the separator (a character or\n"
    "                              'tab'; default ,) and whether the header line is printed\n"
    "      [-o FILE]               write the result to FILE, not to standard output\n"
    "  shell                       the LakeShell: SQL and commands at a prompt\n"
    "  tables                      list the tables\n"
    "  describe TABLE              schema, spec, properties, current snapshot\n"
    "  history TABLE               the table's snapshots\n"
    "  register TABLE METADATA_LOCATION [--map FROM=TO ...]\n"
    "  register TABLE DELTA_OR_HUDI_TABLE_FOLDER   a Delta or Hudi table (read-only)\n"
    "  rollback TABLE SNAPSHOT_ID|TIMESTAMP   move main; history is kept\n"
    "  tag TABLE NAME [SNAPSHOT_ID] [--force] tag a snapshot (default: current); --force\n"
    "                                         moves a tag that exists\n"
    "  branch TABLE NAME [SNAPSHOT_ID]        create or move a branch\n"
    "  fast-forward TABLE BRANCH              move main to the branch's head\n"
    "  maintain TABLE compact|expire|rewrite-manifests|remove-orphans|rewrite-metadata\n"
    "         [--as-of TIME] [--older-than 1d] [--dry-run]   compact files; expire old\n"
    "         snapshots; merge manifests; delete unreferenced files; trim metadata log\n"
    "  drop TABLE [--purge]\n"
    "  serve [--host H] [--port P] [--token T] [--no-auth] [--max-upload SIZE]\n"
    "        [--query-timeout S] [--memory-limit SIZE] [--maintain-every 1h]\n"
    "        [--cors-origin ORIGIN] [--allowed-host NAME] [--quiet] ...   the HTTP API\n"
    "  mcp                         the MCP server on standard input/output (docs/AI.md)\n"
    "  ask \"QUESTION\"              answer in read-only SQL through --llm-url's model\n"
    "\n"
    "options (also as environment variables):\n"
    "  --warehouse DIR   TARN_WAREHOUSE   the warehouse: a directory (default ./warehouse)\n"
    "                                     or s3://bucket/prefix\n"
    "  --catalog PATH    TARN_CATALOG     the SQLite catalog (default WAREHOUSE/catalog.db;\n"
    "                                     ./tarn-catalog.db for S3)\n"
    "  --catalog-name N  TARN_CATALOG_NAME  its catalog_name (default tarn; as PyIceberg's\n"
    "                                     SqlCatalog or Java's JdbcCatalog name it)\n"
    "  --s3-endpoint URL TARN_S3_ENDPOINT an S3-compatible store (MinIO: http://host:9000)\n"
    "  --s3-region R     TARN_S3_REGION   default us-east-1 (credentials: AWS_* variables)\n"
    "  --cache-dir DIR   TARN_CACHE_DIR   local copies of S3 files\n"
    "  --cache-size S    TARN_CACHE_SIZE  how much the cache may hold (default 10GiB)\n"
    "  --s3-timeout S    TARN_S3_TIMEOUT  seconds one S3 request may take, plus 1 s per MiB\n"
    "                                     it moves (default 60); then it is retried\n"
    "  --s3-low-speed-limit B  TARN_S3_LOW_SPEED_LIMIT  a request moving fewer bytes/s\n"
    "  --s3-low-speed-time S   TARN_S3_LOW_SPEED_TIME   for S seconds is retried (1024, 15)\n"
    "  --s3-stale-uploads S    TARN_S3_STALE_UPLOADS    serve aborts multipart uploads under\n"
    "                                     the warehouse older than S seconds at start (86400)\n"
    "  --memory-limit S  TARN_MEMORY_LIMIT  DuckDB's memory limit (e.g. 4GB)\n"
    "  --remote URL      TARN_REMOTE      run the command on a tarn server instead\n"
    "  --token T         TARN_TOKEN       the server's bearer token (with --remote)\n"
    "                    TARN_PROGRESS    0: no progress bar; 1: always one (on a terminal)\n"
    "serve options (also as environment variables):\n"
    "  --host H          TARN_HOST          address to bind (default 127.0.0.1)\n"
    "  --port P          TARN_PORT          port (default 8000)\n"
    "  --token T         TARN_TOKEN         require 'Authorization: Bearer T' (not on "
    "/health)\n"
    "  --no-auth         TARN_NO_AUTH=1     allow a non-loopback --host without a token\n"
    "  --delta           TARN_DELTA=1       new tables are published as Delta too\n"
    "                    (delta.enabled=true; docs/FORMATS.md)\n"
    "  --max-upload S    TARN_MAX_UPLOAD    largest upload (default 10GiB)\n"
    "  --max-decompressed S TARN_MAX_DECOMPRESSED  largest a gzip/zstd file may grow to\n"
    "                    (also for ingest; default 20x its size, 64MiB to 100GiB)\n"
    "  --query-timeout S TARN_QUERY_TIMEOUT seconds a query may run (default 60)\n"
    "  --maintain-every D TARN_MAINTAIN_EVERY run the maintenance that tables ask for\n"
    "                    (tarn.maintain.* properties, docs/API.md) every D (1h, 30m, ...)\n"
    "  --cors-origin O   TARN_CORS_ORIGIN   a web origin (http://host:port) whose pages may\n"
    "                    call the API (CORS); repeatable or comma-separated; * allows every\n"
    "                    page (local use only). Default: none, and writes that a browser\n"
    "                    sends from another site's page are refused (403)\n"
    "  --allowed-host N  TARN_ALLOWED_HOSTS another name clients use in Host (repeatable;\n"
    "                    default: IP addresses, localhost, --host and this machine's name)\n"
    "  --header-timeout S TARN_HEADER_TIMEOUT seconds a client has to send its request\n"
    "                    headers, and to start its next request on a kept-alive connection\n"
    "                    (default 15)\n"
    "  --max-client-connections N TARN_MAX_CLIENT_CONNECTIONS connections one client\n"
    "                    address may hold (default 64, of 256 in all)\n"
    "  --quiet           TARN_QUIET=1       no access log (one line per request on stderr)\n"
    "  --client ID:SECRET TARN_CLIENT       OAuth2 client credentials the Iceberg REST\n"
    "                    catalog's /v1/oauth/tokens accepts (PyIceberg's credential=ID:SECRET)\n"
    "  --source NAME=URL TARN_SOURCES       a PostgreSQL database requests may name\n"
    "                                       (POST /ingest/{t}?source=NAME; repeatable)\n"
    "  --allow-sources   TARN_ALLOW_SOURCES requests may give connection strings too\n"
    "  --sync CONFIG     TARN_SYNC          sync sources on a schedule (docs/SOURCES.md)\n"
    "ask options (serve and ask; docs/AI.md):\n"
    "  --llm-url URL     TARN_LLM_URL       an OpenAI-compatible API (.../v1); no URL: /ask\n"
    "                                       answers 501\n"
    "  --llm-model NAME  TARN_LLM_MODEL     the model to ask for\n"
    "                    TARN_LLM_API_KEY   sent as its bearer token\n"
    "  --ask-sample-rows N TARN_ASK_SAMPLE_ROWS rows of each table sent to the model\n"
    "                                       (default 3; 0 sends schemas only)\n"
    "exit status, the same with and without --remote:\n"
    "  0 done   2 bad input or refused (HTTP 400/401/403/413/415/422)   3 not found (404)\n"
    "  4 already exists or a conflicting commit (409)   5 storage or server unavailable\n"
    "  (S3 unreachable, 502/503/507)   70 internal error (500)\n";

static void usage(FILE *f)
{
    fputs(usage_text, f);
}

/* "tarn COMMAND --help": the command's lines of the usage text (its line and the deeper
 * indented ones after it); 0 when there is no such command. */
static int command_usage(FILE *f, const char *name)
{
    size_t n = strlen(name);
    int found = 0, in = 0;

    for (const char *line = usage_text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int entry = len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ';
        if (entry)
            in = len >= 2 + n && strncmp(line + 2, name, n) == 0 &&
                 (line[2 + n] == ' ' || 2 + n == len);
        else if (len == 0 || line[0] != ' ')
            in = 0;
        if (in) {
            if (!found)
                fputs("usage: tarn ", f);
            fprintf(f, "%.*s\n", (int)(len - (found ? 0 : 2)), line + (found ? 0 : 2));
            found = 1;
        }
        line += len + (end ? 1 : 0);
    }
    if (found)
        fputs("options common to all commands: tarn --help\n", f);
    return found;
}

/* --max-decompressed, for ingest and serve alike; 2 when it does not parse. */
static int max_decompressed_set(struct cli *c, struct tn_http_options *so, const char *value)
{
    uint64_t v;

    if (tn_http_parse_size(value, &v) || v == 0) {
        fprintf(stderr, "tarn: --max-decompressed takes a size such as 2GiB, not '%s'\n", value);
        return 2;
    }
    c->o.max_decompressed = so->max_decompressed = v;
    return 0;
}

static int fail(const struct tn_err *err)
{
    cli_print_error(err);
    return tn_err_exit_status(err->code);
}

/*---- Shared state ----*/

int cli_parse_format(const char *s, enum cli_format *out, struct tn_err *err)
{
    if (!s || strcmp(s, "table") == 0)
        *out = CLI_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = CLI_CSV;
    else if (strcmp(s, "json") == 0)
        *out = CLI_JSON;
    else if (strcmp(s, "ndjson") == 0)
        *out = CLI_NDJSON;
    else if (strcmp(s, "arrow") == 0)
        *out = CLI_ARROW;
    else if (strcmp(s, "parquet") == 0)
        *out = CLI_PARQUET;
    else
        return tn_fail(err, TN_EINPUT,
                       "--format must be table, csv, json, ndjson, arrow or parquet, not '%s'", s);
    return 0;
}

int cli_warehouse(struct cli *c, struct tn_warehouse **out, struct tn_err *err)
{
    struct tn_warehouse_options wo = {0};
    int rc;

    if (!c->wh) {
        wo.warehouse = c->o.warehouse;
        wo.catalog_path = c->o.catalog;
        wo.catalog_name = c->o.catalog_name;
        wo.memory_limit = c->o.memory_limit;
        wo.storage = c->o.storage;
        wo.extra_dirs = (const char *const *)c->dirs;
        rc = tn_warehouse_open(&wo, &c->wh, err);
        if (rc)
            return rc;
    }
    *out = c->wh;
    return 0;
}

static void add_dir(struct cli *c, const char *dir)
{
    for (size_t i = 0; i < c->ndirs; i++)
        if (strcmp(c->dirs[i], dir) == 0)
            return;
    if (c->ndirs + 1 >= DIRS_MAX)
        return;
    c->dirs[c->ndirs++] = tn_strdup(dir);
    c->dirs[c->ndirs] = NULL;
    /* DuckDB's allowed directories are fixed when it opens: open it again on next use */
    tn_warehouse_close(c->wh);
    c->wh = NULL;
}

void cli_allow_dir_of(struct cli *c, const char *path)
{
    char *dir = tn_strdup(path);
    char *slash = strrchr(dir, '/');

    if (slash && slash != dir) {
        *slash = '\0';
        add_dir(c, dir);
    }
    free(dir);
}

/*---- Dispatch ----*/

struct command {
    const char *name;
    int min_args, max_args; /* operands after the command word */
    const char *args;       /* for the message when they do not fit */
};

static const struct command commands[] = {
    {"sql", 1, 1, "\"SELECT ...\""},
    {"ingest", 1, 256,
     "TABLE FILE... (one commit; - reads standard input), or TABLE --from postgresql://..."},
    {"sync", 0, 0, ""},
    {"shell", 0, 0, ""},
    {"tables", 0, 0, ""},
    {"describe", 1, 1, "TABLE"},
    {"history", 1, 1, "TABLE"},
    {"register", 2, 2, "TABLE METADATA_LOCATION"},
    {"rollback", 2, 2, "TABLE SNAPSHOT_ID|TIMESTAMP"},
    {"tag", 2, 3, "TABLE NAME [SNAPSHOT_ID]"},
    {"branch", 2, 3, "TABLE NAME [SNAPSHOT_ID]"},
    {"fast-forward", 2, 2, "TABLE BRANCH"},
    {"maintain", 2, 2, "TABLE compact|expire|rewrite-manifests|remove-orphans|rewrite-metadata"},
    {"drop", 1, 1, "TABLE"},
    {"serve", 0, 0, ""},
    {"mcp", 0, 0, ""},
    {"ask", 1, 1, "\"QUESTION\""},
};

/* At the start of tarn serve: abort the multipart uploads under the warehouse that failed
 * uploads could not abort, once older than "age" seconds (--s3-stale-uploads; 0: a day, so
 * that another process's upload under way is left alone). A failure is only reported. */
static void abort_stale_uploads(struct tn_warehouse *wh, int64_t age)
{
    int64_t n = 0;
    struct tn_err err = {0};
    char *prefix;

    if (!tn_storage_is_remote(wh->storage))
        return;
    if (age <= 0)
        age = 86400;
    prefix = tn_asprintf("%s/", tn_storage_root_uri(wh->storage));
    if (tn_storage_abort_uploads(wh->storage, prefix, tn_now_ms() - age * 1000, &n, &err))
        fprintf(stderr, "tarn: warning: %s\n", err.msg);
    free(prefix);
    if (n)
        fprintf(stderr, "tarn: aborted %lld stale multipart upload%s under %s\n", (long long)n,
                n == 1 ? "" : "s", tn_storage_root_uri(wh->storage));
}

static int run(struct cli *c, const struct tn_http_options *so, char **args, int nargs,
               struct tn_err *err)
{
    const struct command *cmd = NULL;
    const char *name = args[0];
    struct cli_query q = {c->o.snapshot_id, c->o.as_of, 0};
    enum cli_format f;
    struct tn_warehouse *wh;
    int rc;

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            cmd = &commands[i];
    if (!cmd)
        return tn_fail(err, TN_EINPUT, "unknown command '%s'; run 'tarn --help' for the list",
                       name);
    if (nargs - 1 < cmd->min_args || nargs - 1 > cmd->max_args) {
        if (cmd->max_args == 0)
            return tn_fail(err, TN_EINPUT, "%s takes no arguments", name);
        return tn_fail(err, TN_EINPUT, "%s %s arguments: tarn %s %s", name,
                       nargs - 1 < cmd->min_args ? "needs" : "takes only", name, cmd->args);
    }
    if (c->o.remote && strcmp(name, "serve") == 0)
        return tn_fail(err, TN_EINPUT, "serve runs here; leave out --remote");
    if (c->o.remote) {
        rc = cli_remote_open(c->o.remote, c->o.token, &c->remote, err);
        if (rc)
            return rc;
    }
    if (c->o.output && strcmp(name, "sql") != 0)
        return tn_fail(err, TN_EINPUT, "-o FILE goes with tarn sql");
    if (strcmp(name, "sql") == 0) {
        int opened = 0;
        rc = cli_parse_format(c->o.format, &f, err);
        if (!rc && c->o.output && !(opened = freopen(c->o.output, "wb", stdout) != NULL))
            rc = tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EINPUT, "cannot write %s: %s",
                         c->o.output, strerror(errno));
        if (!rc)
            rc = cli_sql(c, args[1], f, &q, err);
        if (!rc && opened && fflush(stdout))
            rc = tn_fail(err, TN_EINTERNAL, "cannot write %s: %s", c->o.output, strerror(errno));
        if (rc && opened)
            unlink(c->o.output); /* no half-written result */
        return rc;
    }
    if (strcmp(name, "ingest") == 0 && c->o.from) {
        if (nargs >= 3)
            return tn_fail(err, TN_EINPUT,
                           "ingest --from reads the source, not a file: leave "
                           "out %s",
                           args[2]);
        return cli_ingest_source(c, args[1], err);
    }
    if (strcmp(name, "ingest") == 0) {
        if (nargs == 2)
            return tn_fail(err, TN_EINPUT,
                           "ingest needs arguments: tarn ingest TABLE FILE (or TABLE --from "
                           "postgresql://... for a database)");
        return cli_ingest(c, args[1], args + 2, (size_t)(nargs - 2), c->o.mode, err);
    }
    if (strcmp(name, "sync") == 0)
        return cli_sync(c, err);
    if (strcmp(name, "shell") == 0) {
        if (isatty(STDIN_FILENO)) {
            /* before DuckDB's threads start, so that they inherit it: the shell's own
             * thread takes Ctrl-C and cancels the statement running */
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            pthread_sigmask(SIG_BLOCK, &set, NULL);
        }
        rc = cli_parse_format(c->o.format, &f, err);
        if (!rc && (f == CLI_ARROW || f == CLI_PARQUET))
            rc = tn_fail(err, TN_EINPUT,
                         "the shell prints text; use tarn sql --format arrow|parquet for binary "
                         "output");
        /* say now when the warehouse cannot open or the server cannot be reached */
        if (!rc && !c->o.remote)
            rc = cli_warehouse(c, &wh, err);
        else if (!rc)
            rc = cli_remote_json(c->remote, "GET", "/health", NULL, NULL, err);
        if (rc)
            return rc;
        return -cli_shell(c); /* negative: the shell has reported its errors itself */
    }
    if (strcmp(name, "tables") == 0)
        return cli_tables(c, err);
    if (strcmp(name, "describe") == 0)
        return cli_describe(c, args[1], err);
    if (strcmp(name, "history") == 0)
        return cli_history(c, args[1], err);
    if (strcmp(name, "register") == 0)
        return cli_register(c, args[1], args[2], err);
    if (strcmp(name, "rollback") == 0)
        return cli_rollback(c, args[1], args[2], err);
    if (strcmp(name, "tag") == 0 || strcmp(name, "branch") == 0)
        return cli_set_ref(c, name, args[1], args[2], nargs == 4 ? args[3] : NULL, err);
    if (strcmp(name, "maintain") == 0)
        return cli_maintain(c, args[1], args[2], err);
    if (strcmp(name, "fast-forward") == 0)
        return cli_fast_forward(c, args[1], args[2], err);
    if (strcmp(name, "drop") == 0)
        return cli_drop(c, args[1], err);
    if (strcmp(name, "mcp") == 0)
        return cli_mcp(c, err);
    if (strcmp(name, "ask") == 0)
        return cli_ask(c, c->ask, args[1], err);
    /* serve */
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        abort_stale_uploads(wh, c->o.stale_uploads_s);
    return rc ? rc : tn_http_serve(wh, so, err);
}

/* Directories DuckDB may read besides the warehouse: the targets of path maps (for registered
 * tables outside the warehouse). Files given to ingest are added when they are loaded. */
static void path_map_dirs(struct cli *c)
{
    const char *key;
    json_t *v;

    json_object_foreach(c->o.path_map, key, v)
    {
        const char *to = json_string_value(v);
        if (to)
            add_dir(c, strncmp(to, "file://", 7) == 0 ? to + 7 : to);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"warehouse", required_argument, NULL, 'w'},
        {"catalog", required_argument, NULL, 'c'},
        {"catalog-name", required_argument, NULL, OPT_CATALOG_NAME},
        {"format", required_argument, NULL, 'f'},
        {"mode", required_argument, NULL, 'm'},
        {"map", required_argument, NULL, 'M'},
        {"snapshot", required_argument, NULL, 's'},
        {"as-of", required_argument, NULL, 'a'},
        {"purge", no_argument, NULL, 'p'},
        {"explain", no_argument, NULL, 'X'},
        {"branch", required_argument, NULL, 'b'},
        {"evolve", required_argument, NULL, 'e'},
        {"key", required_argument, NULL, 'k'},
        {"partition-by", required_argument, NULL, 'P'},
        {"format-version", required_argument, NULL, OPT_FORMAT_VERSION},
        {"older-than", required_argument, NULL, OPT_OLDER_THAN},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"force", no_argument, NULL, OPT_FORCE},
        {"types", required_argument, NULL, OPT_TYPES},
        {"delimiter", required_argument, NULL, OPT_CSV},
        {"header", optional_argument, NULL, OPT_CSV},
        {"no-header", no_argument, NULL, OPT_NO_HEADER},
        {"output", required_argument, NULL, 'o'},
        {"quote", required_argument, NULL, OPT_CSV},
        {"escape", required_argument, NULL, OPT_CSV},
        {"comment", required_argument, NULL, OPT_CSV},
        {"decimal-separator", required_argument, NULL, OPT_CSV},
        {"dateformat", required_argument, NULL, OPT_CSV},
        {"timestampformat", required_argument, NULL, OPT_CSV},
        {"encoding", required_argument, NULL, OPT_CSV},
        {"nullstr", required_argument, NULL, OPT_CSV},
        {"skip", required_argument, NULL, OPT_CSV},
        {"dedupe", required_argument, NULL, 'q'},
        {"from", required_argument, NULL, OPT_SOURCE},
        {"source-table", required_argument, NULL, OPT_SOURCE},
        {"source-query", required_argument, NULL, OPT_SOURCE},
        {"cursor", required_argument, NULL, OPT_SOURCE},
        {"deletes", no_argument, NULL, OPT_SOURCE},
        {"json-as", required_argument, NULL, OPT_SOURCE},
        {"schema", required_argument, NULL, OPT_SOURCE},
        {"into", required_argument, NULL, OPT_SOURCE},
        {"every", required_argument, NULL, OPT_SOURCE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"memory-limit", required_argument, NULL, 'L'},
        {"remote", required_argument, NULL, 'R'},
        {"s3-endpoint", required_argument, NULL, 'E'},
        {"s3-region", required_argument, NULL, 'G'},
        {"cache-dir", required_argument, NULL, 'D'},
        {"cache-size", required_argument, NULL, 'Z'},
        {"s3-timeout", required_argument, NULL, OPT_S3},
        {"s3-low-speed-limit", required_argument, NULL, OPT_S3},
        {"s3-low-speed-time", required_argument, NULL, OPT_S3},
        {"s3-stale-uploads", required_argument, NULL, OPT_S3},
        /* tarn serve (--token is also the client's token with --remote) */
        {"host", required_argument, NULL, OPT_SERVE},
        {"port", required_argument, NULL, OPT_SERVE},
        {"token", required_argument, NULL, OPT_SERVE},
        {"client", required_argument, NULL, OPT_SERVE},
        {"vend-credentials", no_argument, NULL, OPT_SERVE},
        {"no-auth", no_argument, NULL, OPT_SERVE},
        {"max-upload", required_argument, NULL, OPT_SERVE},
        {"query-timeout", required_argument, NULL, OPT_SERVE},
        {"maintain-every", required_argument, NULL, OPT_SERVE},
        {"cors-origin", required_argument, NULL, OPT_SERVE},
        {"allowed-host", required_argument, NULL, OPT_SERVE},
        {"header-timeout", required_argument, NULL, OPT_SERVE},
        {"max-client-connections", required_argument, NULL, OPT_SERVE},
        {"quiet", no_argument, NULL, OPT_SERVE},
        {"delta", no_argument, NULL, OPT_SERVE},
        {"max-decompressed", required_argument, NULL, OPT_MAX_DECOMPRESSED},
        {"source", required_argument, NULL, OPT_SERVE},
        {"allow-sources", no_argument, NULL, OPT_SERVE},
        {"sync", required_argument, NULL, OPT_SERVE},
        {"llm-url", required_argument, NULL, OPT_SERVE},
        {"llm-model", required_argument, NULL, OPT_SERVE},
        {"ask-sample-rows", required_argument, NULL, OPT_SERVE},
        {NULL, 0, NULL, 0},
    };
    struct cli c = {0};
    struct tn_err err = {0};
    struct tn_http_options so = {0};
    int ch, rc, li = 0, want_help = 0;

    c.o.warehouse = getenv("TARN_WAREHOUSE") ? getenv("TARN_WAREHOUSE") : "./warehouse";
    c.o.catalog = getenv("TARN_CATALOG");
    c.o.catalog_name = getenv("TARN_CATALOG_NAME");
    c.o.memory_limit = getenv("TARN_MEMORY_LIMIT");
    if (getenv("TARN_S3_STALE_UPLOADS"))
        tn_parse_i64(getenv("TARN_S3_STALE_UPLOADS"), &c.o.stale_uploads_s);
    c.o.remote = getenv("TARN_REMOTE") && *getenv("TARN_REMOTE") ? getenv("TARN_REMOTE") : NULL;
    c.o.snapshot_id = -1;
    c.o.path_map = json_object();
    c.dirs = tn_calloc(DIRS_MAX, sizeof(char *));
    c.progress = isatty(STDERR_FILENO);
    if (getenv("TARN_PROGRESS") && strcmp(getenv("TARN_PROGRESS"), "0") == 0)
        c.progress = 0;
    else if (c.progress && getenv("TARN_PROGRESS") && strcmp(getenv("TARN_PROGRESS"), "1") == 0)
        c.progress = 2;
    so.version = TN_CLI_VERSION;
    so.ask.sample_rows = 3;
    opterr = 0; /* our own one-line messages */
    if (getenv("TARN_MAX_DECOMPRESSED") &&
        max_decompressed_set(&c, &so, getenv("TARN_MAX_DECOMPRESSED"))) {
        rc = 2;
        goto done;
    }
    if (cli_env_storage(&c.o.storage, &err) || cli_env_serve(&so, &err)) {
        rc = fail(&err);
        goto done;
    }
    rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":hVo:", longopts, &li)) != -1) {
        switch (ch) {
        case OPT_SERVE:
            if (tn_http_option_set(&so, longopts[li].name, optarg, &err))
                rc = fail(&err);
            break;
        case OPT_MAX_DECOMPRESSED:
            rc = max_decompressed_set(&c, &so, optarg);
            break;
        case OPT_S3: {
            int64_t v;
            if (strcmp(longopts[li].name, "s3-stale-uploads") != 0) {
                if (cli_storage_flag(&c.o.storage, longopts[li].name, optarg, &err))
                    rc = fail(&err);
            } else if (tn_parse_i64(optarg, &v) || v < 1) {
                fprintf(stderr, "tarn: --s3-stale-uploads takes a number of seconds, not '%s'\n",
                        optarg);
                rc = 2;
            } else {
                c.o.stale_uploads_s = v;
            }
            break;
        }
        case 'L':
            c.o.memory_limit = optarg;
            break;
        case 'w':
            c.o.warehouse = optarg;
            break;
        case 'c':
            c.o.catalog = optarg;
            break;
        case OPT_CATALOG_NAME:
            c.o.catalog_name = optarg;
            break;
        case 'f':
            c.o.format = optarg;
            break;
        case 'm':
            c.o.mode = optarg;
            break;
        case 'R':
            c.o.remote = *optarg ? optarg : NULL;
            break;
        case 'E':
            c.o.storage.s3_endpoint = optarg;
            break;
        case 'G':
            c.o.storage.s3_region = optarg;
            break;
        case 'D':
            c.o.storage.cache_dir = optarg;
            break;
        case 'Z': {
            uint64_t v;
            if (tn_http_parse_size(optarg, &v) || v == 0 || v > INT64_MAX) {
                fprintf(stderr, "tarn: --cache-size takes a size such as 20GiB, not '%s'\n",
                        optarg);
                rc = 2;
            } else {
                c.o.storage.cache_size = (int64_t)v;
            }
            break;
        }
        case 'M': {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "tarn: --map takes FROM=TO\n");
                rc = 2;
                break;
            }
            *eq = '\0';
            json_object_set_new(c.o.path_map, optarg, json_string(eq + 1));
            break;
        }
        case 's':
            if (tn_parse_i64(optarg, &c.o.snapshot_id)) {
                fprintf(stderr, "tarn: --snapshot takes a snapshot id, not '%s'\n", optarg);
                rc = 2;
            }
            break;
        case 'a':
            c.o.as_of = optarg;
            break;
        case 'b':
            c.o.branch = optarg;
            break;
        case 'e':
            c.o.evolve = optarg;
            break;
        case 'k':
            c.o.key = optarg;
            break;
        case 'P':
            c.o.partition_by = optarg;
            break;
        case OPT_FORMAT_VERSION:
            c.o.format_version = optarg;
            break;
        case OPT_SOURCE: {
            const char *opt = longopts[li].name;
            if (strcmp(opt, "from") == 0)
                c.o.from = optarg;
            else if (strcmp(opt, "source-table") == 0)
                c.o.source_table = optarg;
            else if (strcmp(opt, "source-query") == 0)
                c.o.source_query = optarg;
            else if (strcmp(opt, "cursor") == 0)
                c.o.cursor = optarg;
            else if (strcmp(opt, "deletes") == 0)
                c.o.deletes = 1;
            else if (strcmp(opt, "json-as") == 0)
                c.o.json_as = optarg;
            else if (strcmp(opt, "schema") == 0)
                c.o.schema = optarg;
            else if (strcmp(opt, "into") == 0)
                c.o.into = optarg;
            else
                c.o.every = optarg;
            break;
        }
        case OPT_OLDER_THAN:
            c.o.older_than = optarg;
            break;
        case OPT_DRY_RUN:
            c.o.dry_run = 1;
            break;
        case OPT_FORCE:
            c.o.force = 1;
            break;
        case OPT_TYPES:
            c.o.types = optarg;
            break;
        case OPT_CSV: {
            const char *opt = longopts[li].name;
            if (strcmp(opt, "header") == 0) { /* --header alone: there is one */
                c.o.header = optarg ? optarg : "true";
                break;
            }
            for (size_t i = 0; tn_csv_option_names[i]; i++) {
                const char *n = tn_csv_option_names[i];
                /* the flag spells decimal_separator with a hyphen */
                if (strcmp(opt, n) == 0 ||
                    (strcmp(n, "decimal_separator") == 0 && strcmp(opt, "decimal-separator") == 0))
                    c.o.csv[i] = optarg;
            }
            break;
        }
        case 'q':
            if (strcmp(optarg, "last") != 0) {
                fprintf(stderr, "tarn: --dedupe takes 'last'\n");
                return 2;
            }
            c.o.dedupe_last = 1;
            break;
        case 'p':
            c.o.purge = 1;
            break;
        case 'X':
            c.o.explain = 1;
            break;
        case OPT_NO_HEADER:
            c.o.header = "false";
            break;
        case 'o':
            c.o.output = optarg;
            break;
        case 'V':
            printf("tarn %s\n", TN_CLI_VERSION);
            goto done;
        case 'h': /* after the options: "tarn ingest --help" is ingest's usage */
            want_help = 1;
            break;
        case ':':
            fprintf(stderr, "tarn: %s needs a value\n", argv[optind - 1]);
            rc = 2;
            break;
        default:
            if (optopt && optopt != OPT_SERVE)
                fprintf(stderr, "tarn: unknown option -%c; run 'tarn --help'\n", optopt);
            else
                fprintf(stderr, "tarn: unknown option %s; run 'tarn --help'\n", argv[optind - 1]);
            rc = 2;
            break;
        }
    }
    if (rc)
        goto done;
    if (want_help) {
        if (optind >= argc || !command_usage(stdout, argv[optind]))
            usage(stdout);
        goto done;
    }
    /* GNU getopt moves the operands after the options, wherever they were given */
    if (optind >= argc) {
        fprintf(stderr, "tarn: no command given; run 'tarn --help' for the list\n");
        rc = 2;
        goto done;
    }
    c.o.token = so.token;
    c.ask = &so.ask;
    path_map_dirs(&c);
    rc = run(&c, &so, argv + optind, argc - optind, &err);
    if (rc < 0)
        rc = -rc; /* the shell's status; its messages are out already */
    else if (rc)
        rc = fail(&err);
done:
    tn_warehouse_close(c.wh);
    cli_remote_close(c.remote);
    for (size_t i = 0; i < c.ndirs; i++)
        free(c.dirs[i]);
    free(c.dirs);
    json_decref(c.o.path_map);
    json_decref(so.sources);
    return rc;
}
