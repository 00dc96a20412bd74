/* engine.c - DuckDB, embedded and sandboxed (see engine.h).
 *
 * The sandbox follows DuckDB's own guidance: allowed_directories limits file access to the
 * warehouse (and, for the command line, the files the user names), enable_external_access=false
 * stops extension downloads and remote access, and lock_configuration=true freezes all of it so
 * that no later statement can undo it. Times are UTC so that statistics and timestamptz values
 * print the same on every machine. */
#include "engine.h"

#include <duckdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_ipc.h"

/* Statement texts DuckDB's parser found to be exactly one statement, so that a query sent again
 * (a dashboard's, a benchmark's) is not parsed once more only to count its statements: a ring
 * of the last SINGLE_KEPT texts up to SINGLE_TEXT_MAX bytes each. */
#define SINGLE_KEPT     64
#define SINGLE_TEXT_MAX (16 * 1024)

/* Sessions handed back with tn_session_keep wait for the next tn_session_reuse (at most
 * SESSIONS_KEPT), each with the last STATEMENTS_KEPT statements prepared by
 * tn_stream_open_kept, so that a query sent again skips DuckDB's parse, bind and plan. */
#define SESSIONS_KEPT   8
#define STATEMENTS_KEPT 16

struct kept_statement {
    char *sql;
    duckdb_prepared_statement prepared;
    uint64_t used; /* the session's clock when last used, for evicting the oldest */
};

struct tn_engine {
    duckdb_database db;
    char *home; /* DuckDB's home_directory */
    pthread_mutex_t single_lock;
    char *single[SINGLE_KEPT];
    size_t single_next;
    pthread_mutex_t kept_lock;
    struct tn_session *kept; /* idle sessions (tn_session_keep), a list through next_kept */
    size_t nkept;
    uint64_t statement_counts[2]; /* kept statements run: [0] prepared then, [1] reused */
};

struct tn_session {
    duckdb_connection conn;
    struct tn_engine *engine;
    struct kept_statement statements[STATEMENTS_KEPT];
    uint64_t clock;
    struct tn_session *next_kept;
};

/* Run the fixed sandbox settings at open (tarn's own text, several statements). */
static int exec_setup(duckdb_connection conn, const char *sql, struct tn_err *err)
{
    duckdb_result res;
    int rc = 0;

    if (duckdb_query(conn, sql, &res) != DuckDBSuccess)
        rc = tn_engine_fail(err, duckdb_result_error_type(&res), duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return rc;
}

static const char *statement_type_name(duckdb_statement_type t)
{
    static const char *const names[] = {
        "this kind of", "SELECT",       "INSERT",         "UPDATE",       "EXPLAIN",
        "DELETE",       "PREPARE",      "CREATE",         "EXECUTE",      "ALTER",
        "transaction",  "COPY",         "ANALYZE",        "SET VARIABLE", "CREATE FUNCTION",
        "DROP",         "EXPORT",       "PRAGMA",         "VACUUM",       "CALL",
        "SET",          "INSTALL/LOAD", "relation",       "extension",    "logical plan",
        "ATTACH",       "DETACH",       "multi-statement"};

    return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "this kind of";
}

/* Whether tarn runs statements of type "t" with text "sql" (see engine.h): the types its own
 * reads and writes use, and for CREATE, DROP and MERGE (which the C API calls INVALID) only
 * the forms tarn writes itself, recognised by their exact first words. */
static int allowed_statement(const char *sql, duckdb_statement_type t, struct tn_err *err)
{
    switch (t) {
    case DUCKDB_STATEMENT_TYPE_SELECT:
    case DUCKDB_STATEMENT_TYPE_EXPLAIN:
    case DUCKDB_STATEMENT_TYPE_COPY:
    case DUCKDB_STATEMENT_TYPE_INSERT:
    case DUCKDB_STATEMENT_TYPE_UPDATE:
    case DUCKDB_STATEMENT_TYPE_DELETE:
        return 0;
    case DUCKDB_STATEMENT_TYPE_CREATE:
        if (strncmp(sql, "CREATE TEMP TABLE ", 18) == 0)
            return 0;
        break;
    case DUCKDB_STATEMENT_TYPE_DROP:
        if (strncmp(sql, "DROP TABLE ", 11) == 0)
            return 0;
        break;
    case DUCKDB_STATEMENT_TYPE_INVALID:
        if (strncmp(sql, "MERGE INTO ", 11) == 0)
            return 0;
        break;
    default:
        break;
    }
    return tn_fail(err, TN_EFORBIDDEN,
                   "%s statements are not allowed: tarn runs only reads and its own changes "
                   "(no CREATE MACRO/FUNCTION/SECRET/VIEW, ATTACH, SET, PRAGMA or INSTALL)",
                   statement_type_name(t));
}

/* Prepare "sql", which must be one statement of an allowed type. */
static int prepare_one(duckdb_connection conn, const char *sql, duckdb_prepared_statement *out,
                       struct tn_err *err)
{
    duckdb_extracted_statements stmts = NULL;
    idx_t n = duckdb_extract_statements(conn, sql, &stmts);
    int rc = 0;

    *out = NULL;
    if (n == 0) {
        const char *msg = duckdb_extract_statements_error(stmts);
        rc = tn_fail(err, TN_EINPUT, "%s", msg && *msg ? msg : "no SQL statement given");
    } else if (n > 1) {
        rc = tn_fail(err, TN_EINPUT, "one statement at a time: remove the ';' and what follows it");
    } else if (duckdb_prepare_extracted_statement(conn, stmts, 0, out) != DuckDBSuccess) {
        rc = tn_engine_fail_prepare(err, duckdb_prepare_error(*out));
    } else {
        rc = allowed_statement(sql, duckdb_prepared_statement_type(*out), err);
    }
    if (rc)
        duckdb_destroy_prepare(out);
    duckdb_destroy_extracted(&stmts);
    return rc;
}

/* Run "sql" (one allowed statement) into *res, materialised; destroy *res in every case. */
static int run_one(duckdb_connection conn, const char *sql, duckdb_result *res, struct tn_err *err)
{
    duckdb_prepared_statement p = NULL;
    int rc = prepare_one(conn, sql, &p, err);

    memset(res, 0, sizeof(*res));
    if (rc)
        return rc;
    if (duckdb_execute_prepared(p, res) != DuckDBSuccess)
        rc = tn_engine_fail(err, duckdb_result_error_type(res), duckdb_result_error(res));
    duckdb_destroy_prepare(&p);
    return rc;
}

/* tn_iceberg_bucket(value, n): Iceberg's bucket transform, (murmur3(value) & MAX_INT) % n,
 * for BIGINT (hashed as 8 bytes little-endian; ints, dates as days and timestamps as
 * microseconds are passed widened) and VARCHAR (its UTF-8 bytes). */
static void bucket_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector out)
{
    idx_t rows = duckdb_data_chunk_get_size(input);
    duckdb_vector values = duckdb_data_chunk_get_vector(input, 0);
    duckdb_vector counts = duckdb_data_chunk_get_vector(input, 1);
    duckdb_logical_type type = duckdb_vector_get_column_type(values);
    int is_string = duckdb_get_type_id(type) == DUCKDB_TYPE_VARCHAR;
    uint64_t *valid_v = duckdb_vector_get_validity(values);
    uint64_t *valid_n = duckdb_vector_get_validity(counts);
    int32_t *n = (int32_t *)duckdb_vector_get_data(counts);
    int32_t *result = (int32_t *)duckdb_vector_get_data(out);

    (void)info;
    duckdb_destroy_logical_type(&type);
    duckdb_vector_ensure_validity_writable(out);
    for (idx_t r = 0; r < rows; r++) {
        int32_t h;
        if ((valid_v && !duckdb_validity_row_is_valid(valid_v, r)) ||
            (valid_n && !duckdb_validity_row_is_valid(valid_n, r)) || n[r] <= 0) {
            duckdb_validity_set_row_invalid(duckdb_vector_get_validity(out), r);
            continue;
        }
        if (is_string) {
            duckdb_string_t *sv = &((duckdb_string_t *)duckdb_vector_get_data(values))[r];
            const char *p =
                duckdb_string_is_inlined(*sv) ? sv->value.inlined.inlined : sv->value.pointer.ptr;
            uint32_t len =
                duckdb_string_is_inlined(*sv) ? sv->value.inlined.length : sv->value.pointer.length;
            h = tn_murmur3_32(p, len);
        } else {
            int64_t v = ((int64_t *)duckdb_vector_get_data(values))[r];
            unsigned char le[8];
            for (int i = 0; i < 8; i++)
                le[i] = (unsigned char)((uint64_t)v >> (8 * i));
            h = tn_murmur3_32(le, 8);
        }
        result[r] = (int32_t)(((uint32_t)h & 0x7fffffffu) % (uint32_t)n[r]);
    }
}

static int register_bucket(duckdb_connection conn, struct tn_err *err)
{
    duckdb_scalar_function_set set = duckdb_create_scalar_function_set("tn_iceberg_bucket");
    duckdb_type arg_types[2] = {DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_VARCHAR};
    int rc = 0;

    for (int i = 0; i < 2; i++) {
        duckdb_scalar_function f = duckdb_create_scalar_function();
        duckdb_logical_type arg = duckdb_create_logical_type(arg_types[i]);
        duckdb_logical_type count = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
        duckdb_scalar_function_set_name(f, "tn_iceberg_bucket");
        duckdb_scalar_function_add_parameter(f, arg);
        duckdb_scalar_function_add_parameter(f, count);
        duckdb_scalar_function_set_return_type(f, count);
        duckdb_scalar_function_set_function(f, bucket_function);
        if (duckdb_add_scalar_function_to_set(set, f) != DuckDBSuccess)
            rc = tn_fail(err, TN_EINTERNAL, "cannot define tn_iceberg_bucket");
        duckdb_destroy_logical_type(&arg);
        duckdb_destroy_logical_type(&count);
        duckdb_destroy_scalar_function(&f);
    }
    if (!rc && duckdb_register_scalar_function_set(conn, set) != DuckDBSuccess)
        rc = tn_fail(err, TN_EINTERNAL, "cannot register tn_iceberg_bucket");
    duckdb_destroy_scalar_function_set(&set);
    return rc;
}

int tn_engine_open(const struct tn_engine_options *opt, struct tn_engine **out, struct tn_err *err)
{
    struct tn_engine *e = tn_calloc(1, sizeof(*e));

    pthread_mutex_init(&e->single_lock, NULL);
    pthread_mutex_init(&e->kept_lock, NULL);
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_INTERNAL);
    duckdb_connection conn = NULL;
    duckdb_config config = NULL;
    char *open_err = NULL;
    int rc = 0;

    if (duckdb_create_config(&config) != DuckDBSuccess) {
        free(e);
        return tn_fail(err, TN_EINTERNAL, "cannot create a DuckDB configuration");
    }
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
    if (duckdb_open_ext(NULL, &e->db, config, &open_err) != DuckDBSuccess) {
        rc = tn_fail(err, TN_EINTERNAL, "cannot start DuckDB: %s", open_err ? open_err : "?");
        duckdb_free(open_err);
        duckdb_destroy_config(&config);
        free(e);
        return rc;
    }
    duckdb_destroy_config(&config);
    if (duckdb_connect(e->db, &conn) != DuckDBSuccess) {
        tn_engine_close(e);
        return tn_fail(err, TN_EINTERNAL, "cannot connect to DuckDB");
    }
    tn_buf_addstr(&sql, "SET TimeZone = 'UTC'; SET allowed_directories = [", NULL);
    for (size_t i = 0; opt->allowed_dirs && opt->allowed_dirs[i]; i++) {
        struct tn_buf dir = TN_BUF_INIT(TN_CAP_INTERNAL);
        tn_buf_addf(&dir, NULL, "%s%s", opt->allowed_dirs[i],
                    opt->allowed_dirs[i][strlen(opt->allowed_dirs[i]) - 1] == '/' ? "" : "/");
        if (i)
            tn_buf_addstr(&sql, ", ", NULL);
        tn_sql_string(&sql, dir.buf);
        tn_buf_release(&dir);
    }
    tn_buf_addstr(&sql, "];", NULL);
    if (opt->allowed_dirs && opt->allowed_dirs[0]) {
        e->home = tn_strdup(opt->allowed_dirs[0]);
        tn_buf_addstr(&sql, " SET home_directory = ", NULL);
        tn_sql_string(&sql, e->home);
        tn_buf_addstr(&sql, ";", NULL);
    }
    if (opt->temp_dir) {
        tn_buf_addstr(&sql, " SET temp_directory = ", NULL);
        tn_sql_string(&sql, opt->temp_dir);
        tn_buf_addstr(&sql, ";", NULL);
    }
    if (opt->memory_limit) {
        tn_buf_addstr(&sql, " SET memory_limit = ", NULL);
        tn_sql_string(&sql, opt->memory_limit);
        tn_buf_addstr(&sql, ";", NULL);
    }
    if (opt->threads > 0)
        tn_buf_addf(&sql, NULL, " SET threads = %d;", opt->threads);
    tn_buf_addstr(&sql,
                  " SET enable_external_access = false; SET allow_community_extensions = false;"
                  /* Arrow output in the types every Arrow reader knows (utf8, not views) */
                  " SET arrow_large_buffer_size = false; SET produce_arrow_string_view = false;"
                  " SET arrow_output_list_view = false;"
                  " SET lock_configuration = true;",
                  NULL);
    rc = register_bucket(conn, err);
    if (!rc) {
        rc = exec_setup(conn, sql.buf, err);
        if (rc)
            tn_err_prefix(err, "cannot sandbox DuckDB: ");
    }
    duckdb_disconnect(&conn);
    tn_buf_release(&sql);
    if (rc) {
        tn_engine_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void tn_engine_close(struct tn_engine *e)
{
    if (!e)
        return;
    while (e->kept) {
        struct tn_session *s = e->kept;
        e->kept = s->next_kept;
        s->next_kept = NULL;
        tn_session_close(s);
    }
    duckdb_close(&e->db);
    free(e->home);
    for (size_t i = 0; i < SINGLE_KEPT; i++)
        free(e->single[i]);
    pthread_mutex_destroy(&e->single_lock);
    pthread_mutex_destroy(&e->kept_lock);
    free(e);
}

const char *tn_engine_home(const struct tn_engine *e)
{
    return e->home;
}

int tn_session_open(struct tn_engine *e, struct tn_session **out, struct tn_err *err)
{
    struct tn_session *s = tn_calloc(1, sizeof(*s));

    if (duckdb_connect(e->db, &s->conn) != DuckDBSuccess) {
        free(s);
        return tn_fail(err, TN_EUNAVAILABLE, "cannot open a DuckDB connection");
    }
    s->engine = e;
    *out = s;
    return 0;
}

void tn_session_close(struct tn_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < STATEMENTS_KEPT; i++) {
        duckdb_destroy_prepare(&s->statements[i].prepared);
        free(s->statements[i].sql);
    }
    duckdb_disconnect(&s->conn);
    free(s);
}

int tn_session_reuse(struct tn_engine *e, struct tn_session **out, struct tn_err *err)
{
    struct tn_session *s;

    pthread_mutex_lock(&e->kept_lock);
    s = e->kept;
    if (s) {
        e->kept = s->next_kept;
        e->nkept--;
        s->next_kept = NULL;
    }
    pthread_mutex_unlock(&e->kept_lock);
    if (!s)
        return tn_session_open(e, out, err);
    *out = s;
    return 0;
}

void tn_engine_kept_counts(struct tn_engine *e, uint64_t *prepared, uint64_t *reused)
{
    *prepared = __atomic_load_n(&e->statement_counts[0], __ATOMIC_RELAXED);
    *reused = __atomic_load_n(&e->statement_counts[1], __ATOMIC_RELAXED);
}

void tn_session_keep(struct tn_session *s)
{
    struct tn_engine *e;

    if (!s)
        return;
    e = s->engine;
    pthread_mutex_lock(&e->kept_lock);
    if (e->nkept < SESSIONS_KEPT) {
        s->next_kept = e->kept;
        e->kept = s;
        e->nkept++;
        s = NULL;
    }
    pthread_mutex_unlock(&e->kept_lock);
    tn_session_close(s); /* enough are kept */
}

void tn_session_interrupt(struct tn_session *s)
{
    duckdb_interrupt(s->conn);
}

int tn_engine_exec(struct tn_session *s, const char *sql, struct tn_err *err)
{
    duckdb_result res;
    int rc = run_one(s->conn, sql, &res, err);

    duckdb_destroy_result(&res);
    return rc;
}

int tn_engine_rows(struct tn_session *s, const char *sql, size_t max_rows, struct tn_rows **out,
                   struct tn_err *err)
{
    duckdb_result res;
    struct tn_rows *r;
    int rc = 0;

    if ((rc = run_one(s->conn, sql, &res, err)) != 0) {
        duckdb_destroy_result(&res);
        return rc;
    }
    r = tn_calloc(1, sizeof(*r));
    r->ncols = (size_t)duckdb_column_count(&res);
    r->nrows = (size_t)duckdb_row_count(&res);
    if (r->nrows > max_rows) {
        duckdb_destroy_result(&res);
        free(r);
        return tn_fail(err, TN_ETOOBIG, "query returned more than %zu rows", max_rows);
    }
    r->names = tn_calloc(r->ncols, sizeof(char *));
    r->cells = tn_calloc(r->ncols * r->nrows, sizeof(char *));
    for (size_t c = 0; c < r->ncols; c++)
        r->names[c] = tn_strdup(duckdb_column_name(&res, (idx_t)c));
    for (size_t row = 0; row < r->nrows; row++) {
        for (size_t c = 0; c < r->ncols; c++) {
            char *v;
            if (duckdb_value_is_null(&res, (idx_t)c, (idx_t)row))
                continue;
            v = duckdb_value_varchar(&res, (idx_t)c, (idx_t)row);
            r->cells[row * r->ncols + c] = tn_strdup(v ? v : "");
            duckdb_free(v);
        }
    }
    duckdb_destroy_result(&res);
    *out = r;
    return 0;
}

const char *tn_rows_get(const struct tn_rows *r, size_t row, size_t col)
{
    if (row >= r->nrows || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

void tn_rows_free(struct tn_rows *r)
{
    if (!r)
        return;
    for (size_t c = 0; c < r->ncols; c++)
        free(r->names[c]);
    for (size_t i = 0; i < r->ncols * r->nrows; i++)
        free(r->cells[i]);
    free(r->names);
    free(r->cells);
    free(r);
}

/*---- Streaming results ----*/

struct tn_stream {
    duckdb_prepared_statement prepared;
    struct kept_statement *kept; /* the session's kept statement it runs, or NULL (owns prepared) */
    duckdb_result result;
    int has_result;
    duckdb_data_chunk chunk;
    size_t ncols;
    char **names;
    duckdb_string_t **data;     /* per column: the chunk's string vector */
    uint64_t **validity;        /* per column: the chunk's validity mask, or NULL */
    duckdb_arrow_options arrow; /* Arrow output: the result's conversion settings */
    struct ArrowSchema schema;  /* ... and its schema (release is set once made) */
    struct tn_arrow_ipc ipc;    /* the dictionaries sent */
};

/* The statement "s" keeps for "sql", prepared now when it has none (evicting the one used
 * longest ago); NULL with "err" set when "sql" cannot be prepared. */
static struct kept_statement *kept_statement(struct tn_session *s, const char *sql,
                                             struct tn_err *err)
{
    struct kept_statement *k = &s->statements[0];

    for (size_t i = 0; i < STATEMENTS_KEPT; i++) {
        struct kept_statement *c = &s->statements[i];
        if (c->sql && strcmp(c->sql, sql) == 0) {
            c->used = ++s->clock;
            __atomic_add_fetch(&s->engine->statement_counts[1], 1, __ATOMIC_RELAXED);
            return c;
        }
        if (!c->sql ? k->sql != NULL : k->sql && c->used < k->used)
            k = c; /* an empty place, else the oldest */
    }
    duckdb_destroy_prepare(&k->prepared);
    free(k->sql);
    k->sql = NULL;
    if (prepare_one(s->conn, sql, &k->prepared, err))
        return NULL;
    k->sql = tn_strdup(sql);
    k->used = ++s->clock;
    __atomic_add_fetch(&s->engine->statement_counts[0], 1, __ATOMIC_RELAXED);
    return k;
}

static void kept_forget(struct kept_statement *k)
{
    duckdb_destroy_prepare(&k->prepared);
    free(k->sql);
    k->sql = NULL;
}

static int stream_start(struct tn_session *s, const char *sql, int keep, struct tn_stream **out,
                        struct tn_err *err)
{
    struct tn_stream *st = tn_calloc(1, sizeof(*st));
    int rc = 0;

    if (keep) {
        st->kept = kept_statement(s, sql, err);
        if (st->kept)
            st->prepared = st->kept->prepared;
        else
            rc = err->code;
    } else {
        rc = prepare_one(s->conn, sql, &st->prepared, err);
    }
    if (rc) {
        tn_stream_close(st);
        return rc;
    }
    if (duckdb_execute_prepared_streaming(st->prepared, &st->result) != DuckDBSuccess) {
        st->has_result = 1;
        rc = tn_engine_fail(err, duckdb_result_error_type(&st->result),
                            duckdb_result_error(&st->result));
        if (st->kept) /* prepared afresh next time */
            kept_forget(st->kept);
        st->kept = NULL;
        st->prepared = NULL;
        tn_stream_close(st);
        return rc;
    }
    st->has_result = 1;
    st->ncols = (size_t)duckdb_column_count(&st->result);
    st->names = tn_calloc(st->ncols + 1, sizeof(char *));
    st->data = tn_calloc(st->ncols + 1, sizeof(*st->data));
    st->validity = tn_calloc(st->ncols + 1, sizeof(*st->validity));
    for (size_t c = 0; c < st->ncols; c++)
        st->names[c] = tn_strdup(duckdb_column_name(&st->result, (idx_t)c));
    *out = st;
    return 0;
}

int tn_stream_open(struct tn_session *s, const char *sql, struct tn_stream **out,
                   struct tn_err *err)
{
    return stream_start(s, sql, 0, out, err);
}

int tn_stream_open_kept(struct tn_session *s, const char *sql, struct tn_stream **out,
                        struct tn_err *err)
{
    return stream_start(s, sql, 1, out, err);
}

size_t tn_stream_ncols(const struct tn_stream *st)
{
    return st->ncols;
}

const char *tn_stream_name(const struct tn_stream *st, size_t col)
{
    return col < st->ncols ? st->names[col] : NULL;
}

int tn_stream_next(struct tn_stream *st, size_t *out_n, struct tn_err *err)
{
    if (st->chunk)
        duckdb_destroy_data_chunk(&st->chunk);
    st->chunk = duckdb_fetch_chunk(st->result);
    *out_n = 0;
    if (!st->chunk) {
        const char *msg = duckdb_result_error(&st->result);
        if (msg && *msg)
            return tn_engine_fail(err, duckdb_result_error_type(&st->result), msg);
        return 0;
    }
    for (size_t c = 0; c < st->ncols; c++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(st->chunk, (idx_t)c);
        st->data[c] = (duckdb_string_t *)duckdb_vector_get_data(v);
        st->validity[c] = duckdb_vector_get_validity(v);
    }
    *out_n = (size_t)duckdb_data_chunk_get_size(st->chunk);
    return 0;
}

const char *tn_stream_cell(const struct tn_stream *st, size_t row, size_t col, size_t *len)
{
    duckdb_string_t *s;

    if (st->validity[col] && !duckdb_validity_row_is_valid(st->validity[col], (idx_t)row))
        return NULL;
    s = &st->data[col][row];
    if (duckdb_string_is_inlined(*s)) {
        *len = s->value.inlined.length;
        return s->value.inlined.inlined;
    }
    *len = s->value.pointer.length;
    return s->value.pointer.ptr;
}

void tn_stream_close(struct tn_stream *st)
{
    if (!st)
        return;
    if (st->chunk)
        duckdb_destroy_data_chunk(&st->chunk);
    if (st->schema.release)
        st->schema.release(&st->schema);
    tn_arrow_ipc_release(&st->ipc);
    if (st->arrow)
        duckdb_destroy_arrow_options(&st->arrow);
    if (st->has_result)
        duckdb_destroy_result(&st->result);
    if (!st->kept)
        duckdb_destroy_prepare(&st->prepared);
    for (size_t c = 0; c < st->ncols; c++)
        free(st->names[c]);
    free(st->names);
    free(st->data);
    free(st->validity);
    free(st);
}

/* Move DuckDB's error (if any) into "err" as "code"; 0 when there was none. */
static int take_error(duckdb_error_data e, int code, const char *what, struct tn_err *err)
{
    int rc = 0;

    if (duckdb_error_data_has_error(e))
        rc = tn_fail(err, code, "%s: %s", what, duckdb_error_data_message(e));
    duckdb_destroy_error_data(&e);
    return rc;
}

int tn_stream_arrow_schema(struct tn_stream *st, struct tn_buf *out, struct tn_err *err)
{
    duckdb_logical_type *types = tn_calloc(st->ncols + 1, sizeof(*types));
    int rc;

    if (st->schema.release)
        return tn_fail(err, TN_EINTERNAL, "the Arrow schema was already written");
    st->arrow = duckdb_result_get_arrow_options(&st->result);
    for (size_t c = 0; c < st->ncols; c++)
        types[c] = duckdb_column_logical_type(&st->result, (idx_t)c);
    rc = take_error(duckdb_to_arrow_schema(st->arrow, types, (const char **)st->names,
                                           (idx_t)st->ncols, &st->schema),
                    TN_EINPUT, "cannot describe the result in Arrow", err);
    for (size_t c = 0; c < st->ncols; c++)
        duckdb_destroy_logical_type(&types[c]);
    free(types);
    return rc ? rc : tn_arrow_ipc_schema(&st->schema, out, err);
}

int tn_stream_arrow_batch(struct tn_stream *st, struct tn_buf *out, struct tn_err *err)
{
    struct ArrowArray batch;
    int rc;

    if (!st->chunk || !st->schema.release)
        return tn_fail(err, TN_EINTERNAL, "no Arrow batch to write");
    memset(&batch, 0, sizeof(batch));
    rc = take_error(duckdb_data_chunk_to_arrow(st->arrow, st->chunk, &batch), TN_EINTERNAL,
                    "cannot convert the result to Arrow", err);
    if (!rc)
        rc = tn_arrow_ipc_batch(&st->ipc, &st->schema, &batch, out, err);
    if (batch.release)
        batch.release(&batch);
    return rc;
}

void tn_stream_arrow_end(struct tn_buf *out)
{
    tn_arrow_ipc_end(out);
}

/* 1 when "sql" is a text kept as one statement. */
static int known_single(struct tn_engine *e, const char *sql)
{
    int found = 0;

    pthread_mutex_lock(&e->single_lock);
    for (size_t i = 0; !found && i < SINGLE_KEPT && e->single[i]; i++)
        found = strcmp(e->single[i], sql) == 0;
    pthread_mutex_unlock(&e->single_lock);
    return found;
}

static void keep_single(struct tn_engine *e, const char *sql)
{
    if (strlen(sql) > SINGLE_TEXT_MAX)
        return;
    pthread_mutex_lock(&e->single_lock);
    free(e->single[e->single_next]);
    e->single[e->single_next] = tn_strdup(sql);
    e->single_next = (e->single_next + 1) % SINGLE_KEPT;
    pthread_mutex_unlock(&e->single_lock);
}

int tn_engine_statement_count(struct tn_session *s, const char *sql, struct tn_err *err)
{
    duckdb_extracted_statements stmts = NULL;
    idx_t n;
    int rc;

    if (known_single(s->engine, sql))
        return 0;
    n = duckdb_extract_statements(s->conn, sql, &stmts);
    if (n == 1)
        keep_single(s->engine, sql);
    if (n == 0) {
        const char *msg = duckdb_extract_statements_error(stmts);
        tn_fail(err, TN_EINPUT, "%s", msg && *msg ? msg : "no SQL statement given");
        rc = -1;
    } else {
        rc = n > 1 ? 1 : 0;
    }
    duckdb_destroy_extracted(&stmts);
    return rc;
}

static void quote(struct tn_buf *b, const char *s, char q)
{
    tn_buf_add(b, &q, 1, NULL);
    for (const char *p = s; *p; p++) {
        if (*p == q)
            tn_buf_add(b, &q, 1, NULL);
        tn_buf_add(b, p, 1, NULL);
    }
    tn_buf_add(b, &q, 1, NULL);
}

void tn_sql_ident(struct tn_buf *b, const char *s)
{
    quote(b, s, '"');
}

void tn_sql_string(struct tn_buf *b, const char *s)
{
    quote(b, s, '\'');
}

int tn_engine_timestamp_ms(struct tn_session *s, const char *text, int64_t *out, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_VALUE);
    struct tn_rows *r = NULL;
    int rc;

    if (!tn_parse_i64(text, out))
        return 0;
    tn_buf_addstr(&q, "SELECT epoch_ms(TRY_CAST(", NULL);
    tn_sql_string(&q, text);
    tn_buf_addstr(&q, " AS TIMESTAMPTZ))", NULL);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (rc || r->nrows != 1 || !tn_rows_get(r, 0, 0) || tn_parse_i64(tn_rows_get(r, 0, 0), out))
        rc = tn_fail(err, TN_EINPUT,
                     "'%.60s' is not a timestamp: use e.g. '2026-01-31 12:00:00' (UTC), "
                     "'2026-01-31T12:00:00+01:00' or epoch milliseconds",
                     text);
    tn_rows_free(r);
    tn_buf_release(&q);
    return rc;
}

json_t *tn_rows_json(const struct tn_rows *r, size_t n)
{
    json_t *rows = json_array();

    for (size_t i = 0; i < n && i < r->nrows; i++) {
        json_t *row = json_array();
        for (size_t c = 0; c < r->ncols; c++) {
            const char *v = tn_rows_get(r, i, c);
            json_array_append_new(row, v ? json_string(v) : json_null());
        }
        json_array_append_new(rows, row);
    }
    return rows;
}
