/* catalog.c - the SQLite catalog in the Iceberg SQL catalog schema (see catalog.h).
 *
 * Threads share one connection: each public function holds the connection's (recursive) mutex
 * for its whole run, so a statement and the sqlite3_changes() that judges it, or the statements
 * of one transaction, never interleave with another thread's.
 *
 * Every statement is prepared per call; the catalog is small and the statements cheap next to
 * the file I/O of a commit. SQLite's own busy handler waits up to BUSY_TIMEOUT_MS for another
 * process's write lock.
 *
 * SQLite's locks are POSIX advisory locks, which a process loses when it closes any descriptor
 * of the file. Were that to happen (a library reading catalog.db), another process could take
 * itself for the last user, checkpoint and delete the -wal file this connection still writes
 * to, and later commits would vanish. So every write first checks that the database and -wal
 * files are still the ones opened (device and inode) and refuses with TN_EUNAVAILABLE if not.
 *
 * Java's JdbcCatalog migrates the file to its "V1" schema, which adds iceberg_type to
 * iceberg_tables (TABLE or VIEW; NULL on rows written before). Rows are inserted by column
 * name, and where the column exists tables are rows of type TABLE or NULL: views are neither
 * listed, loaded, renamed nor dropped as tables. */
#include "catalog.h"

#include "engine/engine.h" /* tn_sql_reserved_name */

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 10000

/* Run "call" holding the connection's mutex, and return its result. */
#define WITH_LOCK(call)                                                                            \
    do {                                                                                           \
        sqlite3_mutex *mutex_ = sqlite3_db_mutex(cat->db);                                         \
        int rc_;                                                                                   \
        sqlite3_mutex_enter(mutex_);                                                               \
        rc_ = (call);                                                                              \
        sqlite3_mutex_leave(mutex_);                                                               \
        return rc_;                                                                                \
    } while (0)

/* The same for a call that writes: the catalog's files are checked first. */
#define WITH_WRITE_LOCK(call) WITH_LOCK(files_unchanged(cat, err) ? err->code : (call))

/* A file's identity: 0 in "known" when it could not be seen. */
struct file_id {
    int known;
    dev_t dev;
    ino_t ino;
};

struct tn_catalog {
    sqlite3 *db;
    char *name;
    char *path, *wal_path;
    struct file_id db_id, wal_id; /* as opened */
    sqlite3_stmt *load[2];        /* locked_load's statements, tables [0] and views [1], kept */
};

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS iceberg_tables ("
    " catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,"
    " table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000),"
    " previous_metadata_location VARCHAR(1000),"
    " PRIMARY KEY (catalog_name, table_namespace, table_name));"
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties ("
    " catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL,"
    " property_key VARCHAR(255) NOT NULL, property_value VARCHAR(1000) NOT NULL,"
    " PRIMARY KEY (catalog_name, namespace, property_key));"
    "CREATE TABLE IF NOT EXISTS tarn_table_options ("
    " catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,"
    " table_name VARCHAR(255) NOT NULL, option_key VARCHAR(255) NOT NULL,"
    " option_value TEXT NOT NULL,"
    " PRIMARY KEY (catalog_name, table_namespace, table_name, option_key));"
    "CREATE TABLE IF NOT EXISTS tarn_allowed_roots ("
    " catalog_name VARCHAR(255) NOT NULL, root VARCHAR(1000) NOT NULL,"
    " PRIMARY KEY (catalog_name, root));";

static struct file_id file_id_of(const char *path)
{
    struct file_id id = {0};
    struct stat sb;

    if (path && stat(path, &sb) == 0) {
        id.known = 1;
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
    }
    return id;
}

static int same_file(struct file_id was, const char *path)
{
    struct file_id now = file_id_of(path);
    return !was.known || (now.known && now.dev == was.dev && now.ino == was.ino);
}

/* 0 when the database and -wal files are the ones this connection opened. */
static int files_unchanged(struct tn_catalog *cat, struct tn_err *err)
{
    if (same_file(cat->db_id, cat->path) && same_file(cat->wal_id, cat->wal_path))
        return 0;
    return tn_fail(err, TN_EUNAVAILABLE,
                   "the catalog %s changed under this process (another process removed or "
                   "replaced it or its -wal file); writes are refused so that no commit is lost: "
                   "restart tarn",
                   cat->path);
}

static int db_fail(struct tn_catalog *cat, const char *what, struct tn_err *err)
{
    int code = sqlite3_errcode(cat->db);
    int kind = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? TN_EUNAVAILABLE : TN_EINTERNAL;
    return tn_fail(err, kind, "catalog: %s: %s", what, sqlite3_errmsg(cat->db));
}

/* Whether iceberg_tables has Java's iceberg_type column (the JdbcCatalog V1 schema), as the
 * file has it now: another connection may have migrated it since this one last read its schema,
 * so a read of the schema table first makes SQLite notice a change and load the schema again. */
static int has_type_column(struct tn_catalog *cat)
{
    sqlite3_exec(cat->db, "SELECT 1 FROM sqlite_master WHERE 0", NULL, NULL, NULL);
    return sqlite3_table_column_metadata(cat->db, NULL, "iceberg_tables", "iceberg_type", NULL,
                                         NULL, NULL, NULL, NULL) == SQLITE_OK;
}

/* Where IS_TABLE appears in a statement: only rows that are tables (V1: not views); where
 * IS_VIEW appears, only views (none in a V0 file). OF_KIND picks one for "kind". */
#define IS_TABLE     "@IS_TABLE"
#define IS_TABLE_SQL " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
#define IS_VIEW      "@IS_VIEW"
#define IS_VIEW_SQL  " AND iceberg_type = 'VIEW'"
#define OF_KIND(kind, before, after)                                                               \
    ((kind) == TN_CATALOG_VIEW ? before IS_VIEW after : before IS_TABLE after)

static const char *kind_word(enum tn_catalog_kind kind)
{
    return kind == TN_CATALOG_VIEW ? "view" : "table";
}

static int kind_missing(enum tn_catalog_kind kind)
{
    return kind == TN_CATALOG_VIEW ? TN_ENOVIEW : TN_ENOTABLE;
}

/* Prepare "sql" (IS_TABLE replaced by its condition on a V1 file, else by nothing) and bind
 * the catalog name as ?1 and every following const char * argument (NULL-terminated list). */
static int prepare(struct tn_catalog *cat, sqlite3_stmt **st, struct tn_err *err, const char *sql,
                   ...)
{
    va_list ap;
    const char *arg, *mark = strstr(sql, IS_TABLE), *view_mark = strstr(sql, IS_VIEW);
    int i = 1, rc;

    if (mark || view_mark) {
        int v1 = has_type_column(cat);
        const char *cond = mark ? (v1 ? IS_TABLE_SQL : "") : (v1 ? IS_VIEW_SQL : " AND 0");
        const char *at = mark ? mark : view_mark;
        char *text = tn_asprintf("%.*s%s%s", (int)(at - sql), sql, cond,
                                 at + strlen(mark ? IS_TABLE : IS_VIEW));
        rc = sqlite3_prepare_v2(cat->db, text, -1, st, NULL);
        free(text);
    } else {
        rc = sqlite3_prepare_v2(cat->db, sql, -1, st, NULL);
    }
    if (rc != SQLITE_OK)
        return db_fail(cat, "prepare", err);
    sqlite3_bind_text(*st, i++, cat->name, -1, SQLITE_STATIC);
    va_start(ap, sql);
    while ((arg = va_arg(ap, const char *)) != NULL)
        sqlite3_bind_text(*st, i++, arg, -1, SQLITE_TRANSIENT);
    va_end(ap);
    return 0;
}

/* Run a statement that returns no rows; *changes gets the number of rows it changed. */
static int run(struct tn_catalog *cat, sqlite3_stmt *st, int *changes, struct tn_err *err)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE) {
        int result = (rc == SQLITE_CONSTRAINT) ? tn_fail(err, TN_EEXISTS, "already exists")
                                               : db_fail(cat, "write", err);
        sqlite3_finalize(st);
        return result;
    }
    if (changes)
        *changes = sqlite3_changes(cat->db);
    sqlite3_finalize(st);
    return 0;
}

int tn_catalog_open(const char *path, const char *name, struct tn_catalog **out, struct tn_err *err)
{
    struct tn_catalog *cat = tn_calloc(1, sizeof(*cat));
    char *msg = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;

    cat->name = tn_strdup(name);
    if (sqlite3_open_v2(path, &cat->db, flags, NULL) != SQLITE_OK) {
        tn_fail(err, TN_EUNAVAILABLE, "cannot open catalog %s: %s", path,
                cat->db ? sqlite3_errmsg(cat->db) : "out of memory");
        tn_catalog_close(cat);
        return err->code;
    }
    sqlite3_busy_timeout(cat->db, BUSY_TIMEOUT_MS);
    if (sqlite3_exec(cat->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(cat->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        tn_fail(err, TN_EUNAVAILABLE, "cannot set up catalog %s: %s", path,
                msg ? msg : "unknown error");
        sqlite3_free(msg);
        tn_catalog_close(cat);
        return err->code;
    }
    if (sqlite3_db_filename(cat->db, "main") && *sqlite3_db_filename(cat->db, "main")) {
        cat->path = tn_strdup(sqlite3_db_filename(cat->db, "main"));
        cat->wal_path = tn_asprintf("%s-wal", cat->path);
        cat->db_id = file_id_of(cat->path);
        cat->wal_id = file_id_of(cat->wal_path);
    }
    *out = cat;
    return 0;
}

void tn_catalog_close(struct tn_catalog *cat)
{
    if (!cat)
        return;
    sqlite3_finalize(cat->load[0]);
    sqlite3_finalize(cat->load[1]);
    sqlite3_close(cat->db);
    free(cat->name);
    free(cat->path);
    free(cat->wal_path);
    free(cat);
}

static int locked_create_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(cat, &st, err,
                     "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, "
                     "property_key, property_value) VALUES (?1, ?2, 'exists', 'true')",
                     ns, NULL);
    if (rc)
        return rc;
    rc = run(cat, st, NULL, err);
    if (rc == TN_EEXISTS)
        return tn_fail(err, TN_EEXISTS, "namespace %s already exists", ns);
    return rc;
}

static int locked_namespace_exists(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(cat, &st, err,
                     "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ?1 AND "
                     "namespace = ?2 UNION ALL SELECT 1 FROM iceberg_tables WHERE "
                     "catalog_name = ?1 AND table_namespace = ?2 LIMIT 1",
                     ns, NULL);
    if (rc)
        return -1;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    db_fail(cat, "read", err);
    return -1;
}

/* The metadata location of table (or view) ns.table. Every query reads it for each table it
 * names (a kept resolution is right only while they are unchanged), so the statement is kept
 * prepared: one read transaction instead of three. Its text depends on the file's schema (V0 or
 * V1, see prepare); when SQLite had to prepare it again because the schema changed, its answer
 * is not used and it is prepared afresh for the schema as it is now. */
static int locked_load(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                       const char *table, char **out, struct tn_err *err)
{
    sqlite3_stmt **st = &cat->load[kind == TN_CATALOG_VIEW];
    int rc;

    for (int attempt = 0;; attempt++) {
        if (!*st) {
            rc = prepare(cat, st, err,
                         OF_KIND(kind,
                                 "SELECT metadata_location FROM iceberg_tables WHERE "
                                 "catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3 "
                                 "AND (metadata_location IS NOT NULL)",
                                 ""),
                         ns, table, NULL);
            if (rc)
                return rc;
        } else {
            sqlite3_bind_text(*st, 2, ns, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(*st, 3, table, -1, SQLITE_TRANSIENT);
        }
        rc = sqlite3_step(*st);
        if (sqlite3_stmt_status(*st, SQLITE_STMTSTATUS_REPREPARE, 1) == 0 || attempt)
            break;
        sqlite3_finalize(*st); /* prepared for another schema */
        *st = NULL;
    }
    if (rc == SQLITE_ROW) {
        *out = tn_strdup((const char *)sqlite3_column_text(*st, 0));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc =
            tn_fail(err, kind_missing(kind), "%s %s.%s does not exist", kind_word(kind), ns, table);
    } else {
        rc = db_fail(cat, "read", err);
    }
    sqlite3_reset(*st); /* ends its read transaction */
    return rc;
}

static int locked_create(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *table, const char *location, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cat, "begin", err);
    /* a view needs the V1 schema: migrate the file as Java's JdbcCatalog does */
    if (kind == TN_CATALOG_VIEW && !has_type_column(cat) &&
        sqlite3_exec(cat->db, "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)", NULL,
                     NULL, NULL) != SQLITE_OK)
        rc = db_fail(cat, "add the iceberg_type column for views", err);
    if (!rc)
        rc = prepare(cat, &st, err,
                     has_type_column(cat)
                         ? "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                           "metadata_location, previous_metadata_location, iceberg_type) "
                           "VALUES (?1, ?2, ?3, ?4, NULL, ?5)"
                         : "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                           "metadata_location, previous_metadata_location) "
                           "VALUES (?1, ?2, ?3, ?4, NULL)",
                     ns, table, location, kind == TN_CATALOG_VIEW ? "VIEW" : "TABLE", NULL);
    if (!rc)
        rc = run(cat, st, NULL, err);
    if (rc == TN_EEXISTS)
        tn_fail(err, TN_EEXISTS, "a table or view %s.%s already exists", ns, table);
    if (!rc)
        rc = prepare(cat, &st, err,
                     "INSERT OR IGNORE INTO iceberg_namespace_properties (catalog_name, namespace, "
                     "property_key, property_value) SELECT ?1, ?2, 'exists', 'true' WHERE NOT "
                     "EXISTS (SELECT 1 FROM "
                     "iceberg_namespace_properties WHERE catalog_name = ?1 AND namespace = ?2)",
                     ns, NULL);
    if (!rc)
        rc = run(cat, st, NULL, err);
    if (sqlite3_exec(cat->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = db_fail(cat, "commit", err);
    return rc;
}

static int locked_swap(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                       const char *table, const char *expected, const char *new_location,
                       struct tn_err *err)
{
    sqlite3_stmt *st;
    int changes = 0;
    int rc = prepare(cat, &st, err,
                     OF_KIND(kind,
                             "UPDATE iceberg_tables SET metadata_location = ?4, "
                             "previous_metadata_location = ?5 WHERE catalog_name = ?1 AND "
                             "table_namespace = ?2 AND table_name = ?3 AND metadata_location = ?5",
                             ""),
                     ns, table, new_location, expected, NULL);
    if (rc)
        return rc;
    rc = run(cat, st, &changes, err);
    if (rc)
        return rc;
    if (changes == 1)
        return 0;
    {
        char *now = NULL;
        rc = locked_load(cat, kind, ns, table, &now, err);
        free(now);
        if (rc)
            return rc;
    }
    return tn_fail(err, TN_ECONFLICT,
                   "%s %s.%s was changed by another commit; re-read it and try again",
                   kind_word(kind), ns, table);
}

static int locked_drop(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                       const char *table, struct tn_err *err)
{
    sqlite3_stmt *st;
    int changes = 0;
    int rc = prepare(cat, &st, err,
                     OF_KIND(kind,
                             "DELETE FROM iceberg_tables WHERE catalog_name = ?1 AND "
                             "table_namespace = ?2 AND table_name = ?3",
                             ""),
                     ns, table, NULL);
    if (!rc)
        rc = run(cat, st, &changes, err);
    if (!rc && changes == 0)
        return tn_fail(err, kind_missing(kind), "%s %s.%s does not exist", kind_word(kind), ns,
                       table);
    if (!rc)
        rc = prepare(cat, &st, err,
                     "DELETE FROM tarn_table_options WHERE catalog_name = ?1 AND "
                     "table_namespace = ?2 AND table_name = ?3",
                     ns, table, NULL);
    if (!rc)
        rc = run(cat, st, NULL, err);
    return rc;
}

static int locked_rename(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *table, const char *new_ns, const char *new_table,
                         struct tn_err *err)
{
    sqlite3_stmt *st;
    int changes = 0;
    int rc = prepare(cat, &st, err,
                     OF_KIND(kind,
                             "UPDATE iceberg_tables SET table_namespace = ?4, table_name = ?5 "
                             "WHERE catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3",
                             ""),
                     ns, table, new_ns, new_table, NULL);
    if (!rc)
        rc = run(cat, st, &changes, err);
    if (rc == TN_EEXISTS)
        return tn_fail(err, TN_EEXISTS, "a table or view %s.%s already exists", new_ns, new_table);
    if (!rc && changes == 0)
        return tn_fail(err, kind_missing(kind), "%s %s.%s does not exist", kind_word(kind), ns,
                       table);
    if (!rc)
        rc = prepare(cat, &st, err,
                     "UPDATE tarn_table_options SET table_namespace = ?4, table_name = ?5 "
                     "WHERE catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3",
                     ns, table, new_ns, new_table, NULL);
    if (!rc)
        rc = run(cat, st, NULL, err);
    return rc;
}

static int locked_list(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                       struct tn_catalog_entry **out, size_t *out_n, struct tn_err *err)
{
    sqlite3_stmt *st;
    struct tn_catalog_entry *v = NULL;
    size_t n = 0, cap = 0;
    int rc;

    rc = prepare(
        cat, &st, err,
        ns ? OF_KIND(kind,
                     "SELECT table_namespace, table_name, metadata_location FROM "
                     "iceberg_tables WHERE catalog_name = ?1 AND table_namespace = ?2 AND "
                     "metadata_location IS NOT NULL",
                     " ORDER BY 1, 2")
           : OF_KIND(kind,
                     "SELECT table_namespace, table_name, metadata_location FROM "
                     "iceberg_tables WHERE catalog_name = ?1 AND metadata_location IS NOT NULL",
                     " ORDER BY 1, 2"),
        ns, NULL);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = tn_realloc(v, cap * sizeof(*v));
        }
        v[n].ns = tn_strdup((const char *)sqlite3_column_text(st, 0));
        v[n].table = tn_strdup((const char *)sqlite3_column_text(st, 1));
        v[n].metadata_location = tn_strdup((const char *)sqlite3_column_text(st, 2));
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tn_catalog_entries_free(v, n);
        return db_fail(cat, "list", err);
    }
    *out = v;
    *out_n = n;
    return 0;
}

void tn_catalog_entries_free(struct tn_catalog_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].ns);
        free(e[i].table);
        free(e[i].metadata_location);
    }
    free(e);
}

static int locked_set_option(struct tn_catalog *cat, const char *ns, const char *table,
                             const char *key, const char *value, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = value ? prepare(cat, &st, err,
                             "INSERT OR REPLACE INTO tarn_table_options VALUES "
                             "(?1, ?2, ?3, ?4, ?5)",
                             ns, table, key, value, NULL)
                   : prepare(cat, &st, err,
                             "DELETE FROM tarn_table_options WHERE catalog_name = ?1 AND "
                             "table_namespace = ?2 AND table_name = ?3 AND option_key = ?4",
                             ns, table, key, NULL);
    if (rc)
        return rc;
    return run(cat, st, NULL, err);
}

static int locked_get_option(struct tn_catalog *cat, const char *ns, const char *table,
                             const char *key, char **out, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(cat, &st, err,
                     "SELECT option_value FROM tarn_table_options WHERE catalog_name = ?1 AND "
                     "table_namespace = ?2 AND table_name = ?3 AND option_key = ?4",
                     ns, table, key, NULL);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    *out = NULL;
    if (rc == SQLITE_ROW)
        *out = tn_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(cat, "read", err);
    return 0;
}

int tn_catalog_create_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_create_namespace(cat, ns, err));
}

int tn_catalog_namespace_exists(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    WITH_LOCK(locked_namespace_exists(cat, ns, err));
}

int tn_catalog_load(struct tn_catalog *cat, const char *ns, const char *table, char **out,
                    struct tn_err *err)
{
    return tn_catalog_load_kind(cat, TN_CATALOG_TABLE, ns, table, out, err);
}

int tn_catalog_create(struct tn_catalog *cat, const char *ns, const char *table,
                      const char *location, struct tn_err *err)
{
    return tn_catalog_create_kind(cat, TN_CATALOG_TABLE, ns, table, location, err);
}

int tn_catalog_swap(struct tn_catalog *cat, const char *ns, const char *table, const char *expected,
                    const char *new_location, struct tn_err *err)
{
    return tn_catalog_swap_kind(cat, TN_CATALOG_TABLE, ns, table, expected, new_location, err);
}

int tn_catalog_drop(struct tn_catalog *cat, const char *ns, const char *table, struct tn_err *err)
{
    return tn_catalog_drop_kind(cat, TN_CATALOG_TABLE, ns, table, err);
}

int tn_catalog_rename(struct tn_catalog *cat, const char *ns, const char *table, const char *new_ns,
                      const char *new_table, struct tn_err *err)
{
    return tn_catalog_rename_kind(cat, TN_CATALOG_TABLE, ns, table, new_ns, new_table, err);
}

int tn_catalog_list(struct tn_catalog *cat, const char *ns, struct tn_catalog_entry **out,
                    size_t *out_n, struct tn_err *err)
{
    return tn_catalog_list_kind(cat, TN_CATALOG_TABLE, ns, out, out_n, err);
}

int tn_catalog_load_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, char **out, struct tn_err *err)
{
    WITH_LOCK(locked_load(cat, kind, ns, name, out, err));
}

int tn_catalog_create_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                           const char *name, const char *location, struct tn_err *err)
{
    if (tn_sql_reserved_name(ns, name, err))
        return err->code;
    WITH_WRITE_LOCK(locked_create(cat, kind, ns, name, location, err));
}

int tn_catalog_swap_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, const char *expected, const char *new_location,
                         struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_swap(cat, kind, ns, name, expected, new_location, err));
}

int tn_catalog_drop_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_drop(cat, kind, ns, name, err));
}

int tn_catalog_rename_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                           const char *name, const char *new_ns, const char *new_name,
                           struct tn_err *err)
{
    if (tn_sql_reserved_name(new_ns, new_name, err))
        return err->code;
    WITH_WRITE_LOCK(locked_rename(cat, kind, ns, name, new_ns, new_name, err));
}

int tn_catalog_list_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         struct tn_catalog_entry **out, size_t *out_n, struct tn_err *err)
{
    WITH_LOCK(locked_list(cat, kind, ns, out, out_n, err));
}

int tn_catalog_set_option(struct tn_catalog *cat, const char *ns, const char *table,
                          const char *key, const char *value, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_set_option(cat, ns, table, key, value, err));
}

int tn_catalog_get_option(struct tn_catalog *cat, const char *ns, const char *table,
                          const char *key, char **out, struct tn_err *err)
{
    WITH_LOCK(locked_get_option(cat, ns, table, key, out, err));
}

/*---- Namespaces and multi-table swaps for the Iceberg REST catalog ----*/

void tn_catalog_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Collect the text columns of every row of "st" (finalized here) into a string array. */
static int collect_strings(struct tn_catalog *cat, sqlite3_stmt *st, int ncols, char ***out,
                           size_t *out_n, struct tn_err *err)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncols; c++) {
            const char *text = (const char *)sqlite3_column_text(st, c);
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                v = tn_realloc(v, cap * sizeof(*v));
            }
            v[n++] = tn_strdup(text ? text : "");
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tn_catalog_strings_free(v, n);
        return db_fail(cat, "read", err);
    }
    *out = v;
    *out_n = n;
    return 0;
}

static int locked_create_namespace_props(struct tn_catalog *cat, const char *ns,
                                         const char *const *kv, size_t n, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cat, "begin", err);
    rc = locked_namespace_exists(cat, ns, err);
    if (rc == 1)
        rc = tn_fail(err, TN_EEXISTS, "namespace %s already exists", ns);
    else if (rc < 0)
        rc = err->code ? err->code : TN_EINTERNAL;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = prepare(cat, &st, err,
                     "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, "
                     "property_key, property_value) VALUES (?1, ?2, ?3, ?4)",
                     ns, kv[2 * i], kv[2 * i + 1], NULL);
        if (!rc)
            rc = run(cat, st, NULL, err);
    }
    if (!rc && n == 0)
        rc = locked_create_namespace(cat, ns, err);
    if (sqlite3_exec(cat->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = db_fail(cat, "commit", err);
    return rc;
}

static int locked_namespace_properties(struct tn_catalog *cat, const char *ns, char ***out,
                                       size_t *out_n, struct tn_err *err)
{
    sqlite3_stmt *st;
    size_t n = 0;
    int rc = locked_namespace_exists(cat, ns, err);

    if (rc < 0)
        return err->code ? err->code : TN_EINTERNAL;
    if (rc == 0)
        return tn_fail(err, TN_ENONAMESPACE, "namespace %s does not exist", ns);
    rc = prepare(cat, &st, err,
                 "SELECT property_key, property_value FROM iceberg_namespace_properties WHERE "
                 "catalog_name = ?1 AND namespace = ?2 ORDER BY 1",
                 ns, NULL);
    if (!rc)
        rc = collect_strings(cat, st, 2, out, &n, err);
    if (!rc)
        *out_n = n / 2;
    return rc;
}

static int locked_set_namespace_property(struct tn_catalog *cat, const char *ns, const char *key,
                                         const char *value, int *out_changed, struct tn_err *err)
{
    sqlite3_stmt *st;
    int changes = 0;
    int rc = value ? prepare(cat, &st, err,
                             "INSERT OR REPLACE INTO iceberg_namespace_properties (catalog_name, "
                             "namespace, property_key, property_value) VALUES "
                             "(?1, ?2, ?3, ?4)",
                             ns, key, value, NULL)
                   : prepare(cat, &st, err,
                             "DELETE FROM iceberg_namespace_properties WHERE catalog_name = ?1 "
                             "AND namespace = ?2 AND property_key = ?3",
                             ns, key, NULL);
    if (!rc)
        rc = run(cat, st, &changes, err);
    if (!rc && out_changed)
        *out_changed = changes > 0;
    return rc;
}

static int locked_list_namespaces(struct tn_catalog *cat, char ***out, size_t *out_n,
                                  struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(cat, &st, err,
                     "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ?1 "
                     "UNION SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ?1 "
                     "ORDER BY 1",
                     NULL);
    if (rc)
        return rc;
    return collect_strings(cat, st, 1, out, out_n, err);
}

static int locked_drop_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    sqlite3_stmt *st;
    char *like = tn_asprintf("%s.%%", ns); /* names are [a-z0-9_.]: '_' matches itself too */
    int changes = 0;
    int rc;

    rc = prepare(cat, &st, err,
                 "SELECT 1 FROM iceberg_tables WHERE catalog_name = ?1 AND (table_namespace = ?2 "
                 "OR table_namespace LIKE ?3) LIMIT 1",
                 ns, like, NULL);
    if (!rc) {
        int step = sqlite3_step(st);
        sqlite3_finalize(st);
        if (step == SQLITE_ROW)
            rc = tn_fail(err, TN_ENOTEMPTY, "namespace %s is not empty: drop its tables first", ns);
        else if (step != SQLITE_DONE)
            rc = db_fail(cat, "read", err);
    }
    if (!rc)
        rc = prepare(cat, &st, err,
                     "DELETE FROM iceberg_namespace_properties WHERE catalog_name = ?1 AND "
                     "namespace = ?2",
                     ns, NULL);
    if (!rc)
        rc = run(cat, st, &changes, err);
    if (!rc && changes == 0)
        rc = tn_fail(err, TN_ENONAMESPACE, "namespace %s does not exist", ns);
    free(like);
    return rc;
}

static int locked_swap_many(struct tn_catalog *cat, const struct tn_catalog_swap *swaps, size_t n,
                            struct tn_err *err)
{
    int rc = 0;

    if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cat, "begin", err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = locked_swap(cat, TN_CATALOG_TABLE, swaps[i].ns, swaps[i].table, swaps[i].expected,
                         swaps[i].new_location, err);
    if (sqlite3_exec(cat->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = db_fail(cat, "commit", err);
    return rc;
}

int tn_catalog_create_namespace_props(struct tn_catalog *cat, const char *ns, const char *const *kv,
                                      size_t n, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_create_namespace_props(cat, ns, kv, n, err));
}

int tn_catalog_namespace_properties(struct tn_catalog *cat, const char *ns, char ***out,
                                    size_t *out_n, struct tn_err *err)
{
    WITH_LOCK(locked_namespace_properties(cat, ns, out, out_n, err));
}

int tn_catalog_set_namespace_property(struct tn_catalog *cat, const char *ns, const char *key,
                                      const char *value, int *out_changed, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_set_namespace_property(cat, ns, key, value, out_changed, err));
}

int tn_catalog_list_namespaces(struct tn_catalog *cat, char ***out, size_t *out_n,
                               struct tn_err *err)
{
    WITH_LOCK(locked_list_namespaces(cat, out, out_n, err));
}

int tn_catalog_drop_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_drop_namespace(cat, ns, err));
}

int tn_catalog_swap_many(struct tn_catalog *cat, const struct tn_catalog_swap *swaps, size_t n,
                         struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_swap_many(cat, swaps, n, err));
}

/*---- Roots the operator allowed ----*/

static int locked_add_root(struct tn_catalog *cat, const char *root, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(cat, &st, err, "INSERT OR IGNORE INTO tarn_allowed_roots VALUES (?1, ?2)",
                     root, NULL);
    return rc ? rc : run(cat, st, NULL, err);
}

static int locked_roots(struct tn_catalog *cat, char ***out, size_t *out_n, struct tn_err *err)
{
    sqlite3_stmt *st;
    int rc =
        prepare(cat, &st, err,
                "SELECT root FROM tarn_allowed_roots WHERE catalog_name = ?1 ORDER BY root", NULL);
    return rc ? rc : collect_strings(cat, st, 1, out, out_n, err);
}

int tn_catalog_add_root(struct tn_catalog *cat, const char *root, struct tn_err *err)
{
    WITH_WRITE_LOCK(locked_add_root(cat, root, err));
}

int tn_catalog_roots(struct tn_catalog *cat, char ***out, size_t *out_n, struct tn_err *err)
{
    WITH_LOCK(locked_roots(cat, out, out_n, err));
}
