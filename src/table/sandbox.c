/* sandbox.c - the files a query opens by name may not include the catalog (see table_int.h).
 *
 * DuckDB's allowed_directories cover the whole warehouse folder, and a local warehouse keeps
 * catalog.db there. A query that opened it (read_blob('.../catalog.db')) would drop this
 * process's SQLite locks when DuckDB closed it (POSIX advisory locks belong to the process, and
 * any close of the file releases them); another process could then take itself for the
 * catalog's last user and delete the -wal file this one still writes to. DuckDB has no way to
 * deny one file inside an allowed directory, so the statement's parse tree is checked first:
 *  - every text literal among a table function's arguments, and every table name (DuckDB reads
 *    FROM 'file.csv' by a replacement scan), is resolved as DuckDB resolves a path (relative to
 *    the working directory, "~" the home folder, "." and ".." by their text) and must not name
 *    or match, as a glob, a protected file (tn_storage_protect);
 *  - a file-reading table function's arguments must be literals (lists, structs, casts and
 *    arithmetic of them): a computed path (concat, lower, a column) cannot be checked;
 *  - query() and query_table() run SQL text the check never sees, and are refused. */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The path DuckDB would open for "name", made absolute and free of "." and ".." ('~' is DuckDB's
 * home directory, "home"); caller frees. */
static char *duckdb_path(const char *name, const char *home)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    char *copy, *seg, *save = NULL, *cwd;
    size_t *ends, nends = 0;

    if (strncmp(name, "file://", 7) == 0)
        name += 7;
    if (name[0] == '~' && (name[1] == '/' || name[1] == '\0') && home)
        copy = tn_asprintf("%s/%s", home, name + 1);
    else if (name[0] != '/' && (cwd = getcwd(NULL, 0)) != NULL) {
        copy = tn_asprintf("%s/%s", cwd, name);
        free(cwd);
    } else
        copy = tn_strdup(name);
    ends = tn_calloc(strlen(copy) / 2 + 2, sizeof(*ends));
    for (seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            if (nends) {
                b.len = ends[--nends];
                b.buf[b.len] = '\0';
            }
            continue;
        }
        ends[nends++] = b.len;
        tn_buf_addf(&b, NULL, "/%s", seg);
    }
    if (!b.buf)
        tn_buf_addstr(&b, "/", NULL);
    free(ends);
    free(copy);
    return b.buf;
}

static int names_catalog(struct tn_warehouse *wh, const char *name, struct tn_err *err)
{
    char *path = duckdb_path(name, tn_engine_home(wh->engine));
    int hit = tn_storage_names_protected(wh->storage, path);

    free(path);
    if (hit)
        return tn_fail(err, TN_EFORBIDDEN,
                       "'%.300s' names the catalog; a query may not read it (read tables by "
                       "name, or their metadata through \"table$snapshots\" and the like)",
                       name);
    return 0;
}

static int is_file_reader(const char *fn)
{
    return strncmp(fn, "read_", 5) == 0 || strncmp(fn, "parquet_", 8) == 0 ||
           strncmp(fn, "sniff_", 6) == 0 || strcmp(fn, "glob") == 0;
}

/* The arguments "node" of table function "fn": text literals checked, and for a file reader
 * nothing computed. */
static int check_argument(struct tn_warehouse *wh, const char *fn, json_t *node, struct tn_err *err)
{
    const char *cls = json_string_value(json_object_get(node, "class"));
    const char *name = json_string_value(json_object_get(node, "function_name"));
    json_t *child;
    size_t i;
    int rc = 0;

    if (!json_is_object(node))
        return 0;
    if (cls && strcmp(cls, "CONSTANT") == 0) {
        json_t *v = json_object_get(json_object_get(node, "value"), "value");
        if (json_is_string(v))
            return names_catalog(wh, json_string_value(v), err);
        json_array_foreach(v, i, child) /* a folded list */
            if (json_is_string(child) &&
                (rc = names_catalog(wh, json_string_value(child), err)) != 0) return rc;
        return 0;
    }
    if (cls && strcmp(cls, "COMPARISON") == 0) {
        const char *left =
            json_string_value(json_object_get(json_object_get(node, "left"), "class"));
        if (left && strcmp(left, "COLUMN_REF") == 0) /* a named parameter: name = value */
            return check_argument(wh, fn, json_object_get(node, "right"), err);
    }
    if (cls && strcmp(cls, "CAST") == 0)
        return check_argument(wh, fn, json_object_get(node, "child"), err);
    if (cls && strcmp(cls, "FUNCTION") == 0 && name &&
        (strcmp(name, "list_value") == 0 || strcmp(name, "struct_pack") == 0 ||
         strcmp(name, "map") == 0 || strcmp(name, "row") == 0 ||
         (json_is_true(json_object_get(node, "is_operator")) && strlen(name) == 1 &&
          strchr("+-*/%", name[0])))) {
        json_array_foreach(json_object_get(node, "children"), i,
                           child) if ((rc = check_argument(wh, fn, child, err)) != 0) return rc;
        return 0;
    }
    if (!is_file_reader(fn))
        return 0;
    return tn_fail(err, TN_EFORBIDDEN,
                   "%s: give its file names as literals (a computed name cannot be checked "
                   "against the sandbox)",
                   fn);
}

static int walk(struct tn_warehouse *wh, json_t *node, struct tn_err *err)
{
    json_t *child;
    const char *key;
    size_t i;
    int rc = 0;

    if (json_is_array(node)) {
        json_array_foreach(node, i, child) if ((rc = walk(wh, child, err)) != 0) return rc;
        return 0;
    }
    if (!json_is_object(node))
        return 0;
    if (json_is_string(json_object_get(node, "type"))) {
        const char *type = json_string_value(json_object_get(node, "type"));
        if (strcmp(type, "BASE_TABLE") == 0 &&
            json_is_string(json_object_get(node, "table_name")) &&
            (rc = names_catalog(wh, json_string_value(json_object_get(node, "table_name")), err)))
            return rc;
        if (strcmp(type, "TABLE_FUNCTION") == 0) {
            json_t *f = json_object_get(node, "function");
            const char *fn = json_string_value(json_object_get(f, "function_name"));
            if (fn && (strcmp(fn, "query") == 0 || strcmp(fn, "query_table") == 0))
                return tn_fail(err, TN_EFORBIDDEN,
                               "%s() is not allowed: write the statement itself, so that tarn "
                               "can read its tables",
                               fn);
            json_array_foreach(json_object_get(f, "children"), i,
                               child) if (fn &&
                                          (rc = check_argument(wh, fn, child, err)) != 0) return rc;
        }
    }
    json_object_foreach(node, key, child) if ((rc = walk(wh, child, err)) != 0) return rc;
    return 0;
}

int tn__sandbox_check(struct tn_warehouse *wh, json_t *tree, struct tn_err *err)
{
    return walk(wh, tree, err);
}
