/* shell.c - the LakeShell (`tarn shell`): SQL and a few commands at a prompt with line editing
 * and history (libedit; ~/.tarn_history keeps the last 1000 entries), or read from stdin without
 * prompts when stdin is not a terminal, so scripts and tests can pipe statements in.
 *
 * SQL runs once a ';' outside quotes and comments ends it (a statement may span lines; one left
 * open at the end of input runs too). A line that starts with a command word runs at once:
 * insert, travel, history, tables, describe, ask, format, help, quit/exit (`describe T` with one
 * word, and `insert T FILE` without INTO, so DESCRIBE and INSERT statements still reach SQL).
 *
 * travel T SNAPSHOT|TIMESTAMP|REF sets, for table T only, the snapshot the following queries
 * read: each statement is parsed by DuckDB (json_serialize_sql), every reference to T without
 * an AT clause gets AT (VERSION => id) or AT (TIMESTAMP => ...), and the tree is turned back
 * into SQL. Other tables read the present. With --remote a parse-only DuckDB does the rewriting
 * and the server resolves the AT clauses; the engine's own resolution does it locally.
 *
 * Ctrl-C on a terminal cancels the statement running (main blocks SIGINT in every thread
 * before DuckDB starts its own, and a thread of the shell takes it with sigwait); at the prompt
 * it does nothing, and Ctrl-D or quit leaves.
 *
 * The exit status is 0, or that of the last statement or command that failed. */
#include "cli/cli.h"

#include <editline/readline.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <stdatomic.h>
#include <unistd.h>

#define HISTORY_MAX  1000
#define LINE_MAX_LEN (16L * 1024 * 1024)
#define WORDS_MAX    8

struct travel {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    char *spec; /* "VERSION => 12", as shown to the user */
    json_t *at; /* the parse tree's at_clause node */
};

struct shell {
    struct cli *c;
    enum cli_format format;
    struct travel *tv;
    size_t ntv;
    struct tn_engine *scratch; /* remote mode: a DuckDB that only parses */
    int interactive;
    int status;
    char *history_path;
    char *last_entry; /* the latest history entry */
};

/*---- Ctrl-C ----*/

static atomic_int leaving;

static void *sigint_thread(void *arg)
{
    sigset_t set;
    int sig;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    while (sigwait(&set, &sig) == 0 && !atomic_load(&leaving))
        cli_interrupt();
    return NULL;
}

static void report(struct shell *sh, const struct tn_err *err)
{
    cli_print_error(err);
    sh->status = tn_err_exit_status(err->code);
}

/*---- Parsing statements with DuckDB ----*/

static int parser_session(struct shell *sh, struct tn_session **out, struct tn_err *err)
{
    struct tn_warehouse *wh;
    int rc;

    if (!sh->c->remote) {
        rc = cli_warehouse(sh->c, &wh, err);
        return rc ? rc : tn_session_open(wh->engine, out, err);
    }
    if (!sh->scratch) {
        struct tn_engine_options eo = {0};
        rc = tn_engine_open(&eo, &sh->scratch, err);
        if (rc)
            return rc;
    }
    return tn_session_open(sh->scratch, out, err);
}

/* DuckDB's parse tree of "sql", or NULL when it is not one SELECT-like statement. */
static json_t *parse_tree(struct tn_session *s, const char *sql)
{
    struct tn_err ignored;
    json_t *tree = tn_query_parse(s, sql, &ignored);

    if (tree && json_array_size(json_object_get(tree, "statements")) != 1) {
        json_decref(tree);
        tree = NULL;
    }
    return tree;
}

static void collect_ctes(json_t *n, json_t *names)
{
    const char *k;
    size_t i;
    json_t *v;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v) collect_ctes(v, names);
        return;
    }
    if (!json_is_object(n))
        return;
    json_array_foreach(json_object_get(json_object_get(n, "cte_map"), "map"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "key"));
        if (name)
            json_object_set_new(names, name, json_true());
    }
    json_object_foreach(n, k, v) collect_ctes(v, names);
}

/* Give every reference to a travelled table without an AT clause the table's AT clause;
 * returns how many were changed. */
static size_t add_at_clauses(const struct shell *sh, json_t *n, json_t *ctes)
{
    const char *k;
    size_t i, changed = 0;
    json_t *v;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v) changed += add_at_clauses(sh, v, ctes);
        return changed;
    }
    if (!json_is_object(n))
        return 0;
    if (json_is_string(json_object_get(n, "type")) &&
        strcmp(json_string_value(json_object_get(n, "type")), "BASE_TABLE") == 0) {
        const char *schema = json_string_value(json_object_get(n, "schema_name"));
        const char *name = json_string_value(json_object_get(n, "table_name"));
        const char *catalog = json_string_value(json_object_get(n, "catalog_name"));
        char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
        struct tn_err ignored;

        if (!name || (catalog && *catalog) || json_is_object(json_object_get(n, "at_clause")))
            return 0;
        if ((!schema || !*schema) && json_object_get(ctes, name))
            return 0;
        if (tn_name_check("namespace", schema && *schema ? schema : "default", ns, &ignored) ||
            tn_name_check("table", name, tbl, &ignored))
            return 0;
        for (size_t t = 0; t < sh->ntv; t++) {
            if (strcmp(sh->tv[t].ns, ns) == 0 && strcmp(sh->tv[t].name, tbl) == 0) {
                json_object_set_new(n, "at_clause", json_deep_copy(sh->tv[t].at));
                return 1;
            }
        }
        return 0;
    }
    json_object_foreach(n, k, v) changed += add_at_clauses(sh, v, ctes);
    return changed;
}

/* "sql" with the travelled tables' AT clauses, or NULL to run it as it is. */
static char *apply_travel(struct shell *sh, const char *sql, struct tn_err *err)
{
    struct tn_session *s = NULL;
    json_t *tree = NULL, *ctes = json_object();
    char *out = NULL;

    if (!sh->ntv || parser_session(sh, &s, err))
        goto out;
    tree = parse_tree(s, sql);
    if (!tree)
        goto out; /* not a query: DuckDB or the table layer will say what is wrong */
    collect_ctes(tree, ctes);
    if (add_at_clauses(sh, tree, ctes))
        out = tn_query_deparse(s, tree, err);
out:
    json_decref(ctes);
    json_decref(tree);
    tn_session_close(s);
    return out;
}

/*---- travel ----*/

static void travel_free(struct travel *t)
{
    free(t->spec);
    json_decref(t->at);
}

static void travel_drop(struct shell *sh, const char *ns, const char *name)
{
    for (size_t i = 0; i < sh->ntv; i++) {
        if (strcmp(sh->tv[i].ns, ns) == 0 && strcmp(sh->tv[i].name, name) == 0) {
            travel_free(&sh->tv[i]);
            sh->tv[i] = sh->tv[--sh->ntv];
            return;
        }
    }
}

/* The AT clause text for what the user typed: a snapshot id, a timestamp, or a tag or branch
 * name. */
static int travel_spec(struct tn_session *s, const char *what, struct tn_buf *spec,
                       struct tn_err *err)
{
    struct tn_err ignored = {0};
    int64_t id, ms;

    if (!tn_parse_i64(what, &id))
        return tn_buf_addf(spec, err, "VERSION => %lld", (long long)id);
    if (!tn_engine_timestamp_ms(s, what, &ms, &ignored)) {
        /* the instant, written back in UTC so that the user sees which one was read */
        time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;
        char text[40];
        gmtime_r(&secs, &tm);
        strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
        return tn_buf_addf(spec, err, "TIMESTAMP => TIMESTAMP '%s.%03d'", text,
                           (int)(ms - (int64_t)secs * 1000));
    }
    tn_buf_addstr(spec, "VERSION => ", NULL); /* a tag or a branch */
    tn_sql_string(spec, what);
    return 0;
}

static void cmd_travel(struct shell *sh, const char *ident, const char *what)
{
    struct tn_err err = {0};
    struct travel t = {0};
    struct tn_session *s = NULL;
    struct tn_buf spec = TN_BUF_INIT(TN_CAP_VALUE), q = TN_BUF_INIT(TN_CAP_VALUE);
    struct tn_rows *r = NULL;
    json_t *tree = NULL;
    char *count_sql = NULL;
    int rc = tn_ident_parse(ident, t.ns, t.name, &err);

    if (rc)
        goto out;
    if (!what || strcasecmp(what, "now") == 0 || strcasecmp(what, "off") == 0 ||
        strcasecmp(what, "latest") == 0) {
        int was = 0;
        for (size_t i = 0; i < sh->ntv; i++)
            was |= strcmp(sh->tv[i].ns, t.ns) == 0 && strcmp(sh->tv[i].name, t.name) == 0;
        travel_drop(sh, t.ns, t.name);
        printf(was ? "%s.%s: back to the present; queries read its current snapshot\n"
                   : "%s.%s: already reads the present (it was not travelling)\n",
               t.ns, t.name);
        goto out;
    }
    travel_drop(sh, t.ns, t.name);
    rc = parser_session(sh, &s, &err);
    if (!rc)
        rc = travel_spec(s, what, &spec, &err);
    if (!rc) {
        tn_buf_addstr(&q, "SELECT * FROM _tn_t AT (", NULL);
        tn_buf_addstr(&q, spec.buf, NULL);
        tn_buf_addstr(&q, ")", NULL);
        tree = parse_tree(s, q.buf);
        t.at = json_deep_copy(json_object_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
                "from_table"),
            "at_clause"));
        if (!json_is_object(t.at))
            rc = tn_fail(&err, TN_EINPUT, "cannot travel to '%s'", what);
    }
    tn_session_close(s);
    s = NULL;
    if (rc)
        goto out;
    t.spec = tn_buf_detach(&spec, NULL);
    sh->tv = tn_realloc(sh->tv, (sh->ntv + 1) * sizeof(*sh->tv));
    sh->tv[sh->ntv++] = t;
    /* check that the snapshot exists, and say what the table holds there */
    tn_buf_reset(&q);
    tn_buf_addstr(&q, "SELECT count(*) FROM ", NULL);
    tn_sql_ident(&q, t.ns);
    tn_buf_addstr(&q, ".", NULL);
    tn_sql_ident(&q, t.name);
    count_sql = apply_travel(sh, q.buf, &err);
    rc = count_sql ? cli_query_rows(sh->c, count_sql, &r, &err)
                   : tn_fail(&err, TN_EINPUT, "cannot travel to '%s'", what);
    if (rc) {
        travel_drop(sh, t.ns, t.name);
        memset(&t, 0, sizeof(t));
        goto out;
    }
    printf("%s.%s: queries read AT (%s), %s rows; 'travel %s' returns to the present\n", t.ns,
           t.name, t.spec, r->nrows ? tn_rows_get(r, 0, 0) : "0", ident);
    memset(&t, 0, sizeof(t)); /* owned by sh->tv */
out:
    if (rc)
        report(sh, &err);
    travel_free(&t);
    tn_rows_free(r);
    free(count_sql);
    json_decref(tree);
    tn_session_close(s);
    tn_buf_release(&spec);
    tn_buf_release(&q);
}

/*---- Commands and statements ----*/

static void help(void)
{
    puts("LakeShell: SQL ends with ';' and may span lines. Commands:\n"
         "  insert TABLE FILE [append|overwrite]  load a CSV, JSON, NDJSON or Parquet file\n"
         "  travel TABLE SNAPSHOT|TIMESTAMP|TAG   read TABLE as it was (later queries)\n"
         "  travel TABLE                          read TABLE as it is now again\n"
         "  tables                                list the tables\n"
         "  describe TABLE                        schema and current snapshot\n"
         "  history TABLE                         the table's snapshots\n"
         "  ask QUESTION                          answer in read-only SQL (--llm-url)\n"
         "  format table|csv|json                 how results print\n"
         "  help                                  this text\n"
         "  quit, exit                            leave (also Ctrl-D)");
}

/* While a table is travelled, a write is refused: it would change the present tables while the
 * shell reads the past (the statement's own reads would not travel either). */
static int refuse_write_in_travel(struct shell *sh, const char *sql, struct tn_err *err)
{
    struct tn_session *s = NULL;
    struct tn_statement st;
    int rc;

    if (!sh->ntv || parser_session(sh, &s, err))
        return 0;
    rc = tn_statement_classify(s, sql, &st, err);
    tn_session_close(s);
    if (rc) /* not a statement: running it says what is wrong */
        return 0;
    if (st.kind == TN_STMT_READ || st.kind == TN_STMT_EXPLAIN)
        return 0;
    return tn_fail(err, TN_EINPUT,
                   "%s would change %s.%s as it is now while the shell reads it AT (%s): "
                   "'travel %s' returns to the present first",
                   st.keyword, sh->tv[0].ns, sh->tv[0].name, sh->tv[0].spec, sh->tv[0].name);
}

static void run_sql(struct shell *sh, const char *sql)
{
    struct tn_err err = {0};
    char *rewritten;

    cli_interrupt_reset();
    if (refuse_write_in_travel(sh, sql, &err)) {
        report(sh, &err);
        return;
    }
    rewritten = apply_travel(sh, sql, &err);

    if (cli_sql(sh->c, rewritten ? rewritten : sql, sh->format, NULL, &err))
        report(sh, &err);
    fflush(stdout);
    free(rewritten);
}

/* Split a command line into words; quotes ('...' or "...") group. Returns the count. */
static size_t split_words(char *line, char **words, size_t cap)
{
    size_t n = 0;
    char *p = line;

    while (*p && n < cap) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            words[n++] = p;
            while (*p && *p != q)
                p++;
        } else {
            words[n++] = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
        }
        if (*p)
            *p++ = '\0';
    }
    return n;
}

/* Run "line" as a command when it is one; returns 0 when it is SQL, 1 when handled, 2 to
 * quit. */
static int run_command(struct shell *sh, const char *line)
{
    char *copy = tn_strdup(line);
    char *w[WORDS_MAX];
    char cmd[32];
    struct tn_err err = {0};
    size_t n, len = strlen(copy);
    int rc = 0, handled = 1;

    cli_interrupt_reset();
    while (len && (copy[len - 1] == ';' || copy[len - 1] == ' ' || copy[len - 1] == '\t' ||
                   copy[len - 1] == '\r'))
        copy[--len] = '\0';
    n = split_words(copy, w, WORDS_MAX);
    if (!n) {
        free(copy);
        return 0;
    }
    snprintf(cmd, sizeof(cmd), "%s", w[0] + (w[0][0] == '.' || w[0][0] == '\\'));
    for (char *p = cmd; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0 || strcmp(cmd, "q") == 0) {
        free(copy);
        return n == 1 ? 2 : 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0) {
        if (n == 1)
            help();
        else
            handled = 0;
    } else if (strcmp(cmd, "tables") == 0 && n == 1) {
        rc = cli_tables(sh->c, &err);
    } else if (strcmp(cmd, "describe") == 0 && n <= 2) {
        rc = n == 2 ? cli_describe(sh->c, w[1], &err)
                    : tn_fail(&err, TN_EINPUT, "usage: describe TABLE");
    } else if (strcmp(cmd, "history") == 0) {
        rc = n == 2 ? cli_history(sh->c, w[1], &err)
                    : tn_fail(&err, TN_EINPUT, "usage: history TABLE");
    } else if (strcmp(cmd, "insert") == 0 &&
               !(n >= 2 && (strcasecmp(w[1], "into") == 0 || strcasecmp(w[1], "or") == 0))) {
        rc = n == 3 || n == 4
                 ? cli_ingest(sh->c, w[1], &w[2], 1, n == 4 ? w[3] : NULL, &err)
                 : tn_fail(&err, TN_EINPUT, "usage: insert TABLE FILE [append|overwrite]");
    } else if (strcmp(cmd, "travel") == 0) {
        if (n < 2) {
            rc = tn_fail(&err, TN_EINPUT, "usage: travel TABLE SNAPSHOT|TIMESTAMP|TAG");
        } else {
            /* the rest of the line, so that "2026-01-02 10:00:00" needs no quotes */
            char *rest = NULL;
            if (n == 3)
                rest = tn_strdup(w[2]);
            else if (n > 3)
                rest = tn_strndup(line + (w[2] - copy), len - (size_t)(w[2] - copy));
            cmd_travel(sh, w[1], rest);
            free(rest);
        }
    } else if (strcmp(cmd, "ask") == 0) {
        rc = n >= 2 ? cli_ask(sh->c, sh->c->ask, line + (w[1] - copy), &err)
                    : tn_fail(&err, TN_EINPUT, "usage: ask QUESTION (in plain language)");
    } else if (strcmp(cmd, "format") == 0) {
        enum cli_format f = CLI_TABLE;
        if (n == 2)
            rc = cli_parse_format(w[1], &f, &err);
        if (n == 2 && !rc && (f == CLI_ARROW || f == CLI_PARQUET))
            rc = tn_fail(&err, TN_EINPUT,
                         "the shell prints text; use tarn sql --format arrow|parquet for binary "
                         "output");
        else if (n == 2 && !rc)
            sh->format = f;
        else if (n != 2)
            rc = tn_fail(&err, TN_EINPUT, "usage: format table|csv|json|ndjson");
    } else {
        handled = 0;
    }
    if (rc)
        report(sh, &err);
    fflush(stdout);
    free(copy);
    return handled;
}

/* Where the first top-level ';' of "s" is (outside quotes and comments), or NULL. */
static const char *statement_end(const char *s)
{
    enum { NORMAL, SQUOTE, DQUOTE, LINE_COMMENT, BLOCK_COMMENT, DOLLAR } st = NORMAL;

    for (const char *p = s; *p; p++) {
        switch (st) {
        case NORMAL:
            if (*p == ';')
                return p;
            if (*p == '\'')
                st = SQUOTE;
            else if (*p == '"')
                st = DQUOTE;
            else if (p[0] == '-' && p[1] == '-')
                st = LINE_COMMENT;
            else if (p[0] == '/' && p[1] == '*')
                st = BLOCK_COMMENT;
            else if (p[0] == '$' && p[1] == '$') {
                st = DOLLAR;
                p++;
            }
            break;
        case SQUOTE:
            if (*p == '\'')
                st = NORMAL; /* '' re-enters at once: the same result */
            break;
        case DQUOTE:
            if (*p == '"')
                st = NORMAL;
            break;
        case LINE_COMMENT:
            if (*p == '\n')
                st = NORMAL;
            break;
        case BLOCK_COMMENT:
            if (p[0] == '*' && p[1] == '/') {
                st = NORMAL;
                p++;
            }
            break;
        case DOLLAR:
            if (p[0] == '$' && p[1] == '$') {
                st = NORMAL;
                p++;
            }
            break;
        }
    }
    return NULL;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static void remember(struct shell *sh, const char *entry)
{
    char *flat;

    if (!sh->interactive || blank(entry))
        return;
    flat = tn_strdup(entry);
    for (char *p = flat; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (sh->last_entry && strcmp(sh->last_entry, flat) == 0) {
        free(flat); /* the same as the one before: keep one */
        return;
    }
    add_history(flat);
    free(sh->last_entry);
    sh->last_entry = flat;
    if (sh->history_path && write_history(sh->history_path) == 0)
        history_truncate_file(sh->history_path, HISTORY_MAX);
}

/* Run every statement "pending" completes; what is left stays in it. */
static void run_complete(struct shell *sh, struct tn_buf *pending)
{
    const char *end;

    while (pending->buf && (end = statement_end(pending->buf)) != NULL) {
        size_t n = (size_t)(end - pending->buf);
        char *stmt = tn_strndup(pending->buf, n);
        size_t rest = pending->len - n - 1;
        if (!blank(stmt)) {
            char *entry = tn_asprintf("%s;", stmt);
            remember(sh, entry);
            free(entry);
            run_sql(sh, stmt);
        }
        free(stmt);
        memmove(pending->buf, end + 1, rest + 1);
        pending->len = rest;
    }
    if (pending->buf && blank(pending->buf))
        tn_buf_reset(pending);
}

/* One line of input; returns 1 to quit. */
static int take_line(struct shell *sh, const char *line, struct tn_buf *pending)
{
    if (pending->len == 0) {
        int r;
        if (blank(line))
            return 0;
        r = run_command(sh, line);
        if (r == 2)
            return 1;
        if (r == 1) {
            remember(sh, line);
            return 0;
        }
    }
    if (tn_buf_addstr(pending, line, NULL) || tn_buf_add(pending, "\n", 1, NULL)) {
        struct tn_err err;
        tn_fail(&err, TN_ETOOBIG, "a statement of more than %ld MiB; input dropped",
                LINE_MAX_LEN >> 20);
        report(sh, &err);
        tn_buf_reset(pending);
        return 0;
    }
    run_complete(sh, pending);
    return 0;
}

int cli_shell(struct cli *c)
{
    struct shell sh = {0};
    struct tn_buf pending = TN_BUF_INIT(LINE_MAX_LEN);
    const char *home = getenv("HOME");
    pthread_t sigint;
    int sig_thread = 0;

    sh.c = c;
    sh.format = CLI_TABLE;
    sh.interactive = isatty(STDIN_FILENO);
    if (c->o.format && cli_parse_format(c->o.format, &sh.format, NULL))
        sh.format = CLI_TABLE;
    if (sh.interactive) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        /* main blocked SIGINT already; this thread takes it */
        sig_thread = pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
                     pthread_create(&sigint, NULL, sigint_thread, NULL) == 0;
        rl_readline_name = "tarn";
        using_history();
        stifle_history(HISTORY_MAX);
        if (home && *home) {
            sh.history_path = tn_asprintf("%s/.tarn_history", home);
            read_history(sh.history_path);
        }
        printf("LakeShell (tarn %s) on %s. Type 'help' for commands; end SQL with ';'.\n",
               TN_CLI_VERSION, c->remote ? c->o.remote : c->o.warehouse);
        for (;;) {
            char *line = readline(pending.len ? "   -> " : "tarn> ");
            int quit;
            if (!line) {
                putchar('\n');
                break;
            }
            quit = take_line(&sh, line, &pending);
            free(line);
            if (quit)
                break;
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            if (n > 0 && line[n - 1] == '\n')
                line[n - 1] = '\0';
            if (take_line(&sh, line, &pending))
                break;
        }
        free(line);
    }
    if (pending.len && !blank(pending.buf ? pending.buf : "")) {
        char *last = tn_buf_detach(&pending, NULL);
        remember(&sh, last);
        run_sql(&sh, last); /* a statement left open at the end of the input */
        free(last);
    }
    if (sig_thread) {
        atomic_store(&leaving, 1);
        pthread_kill(sigint, SIGINT);
        pthread_join(sigint, NULL);
    }
    for (size_t i = 0; i < sh.ntv; i++)
        travel_free(&sh.tv[i]);
    free(sh.tv);
    tn_engine_close(sh.scratch);
    free(sh.history_path);
    free(sh.last_entry);
    tn_buf_release(&pending);
    return sh.status;
}
