/* cdf.c - the change data feed of a registered Delta table: the SQL behind the table function
 * delta_changes('table', start_version[, end_version]). For each version in the range, the rows
 * of its cdc files (_change_data/, with their _change_type) when the commit has some, else the
 * rows of the files it adds (insert) and removes (delete), each with _change_type,
 * _commit_version and _commit_timestamp (the commit's inCommitTimestamp, else its commitInfo
 * timestamp, else the commit file's time). Files are read by DuckDB through local paths the
 * storage layer gives. */
#include "delta/delta.h"

#include <stdlib.h>
#include <string.h>

#define COMMIT_MAX_BYTES (256L * 1024 * 1024)

/* Top-level field id (decimal text) -> the column name the Parquet files use, from the name
 * mapping the translation keeps. */
static json_t *file_names(const struct tn_table *t)
{
    const char *text = json_string_value(json_object_get(
        json_object_get(t->meta->root, "properties"), "schema.name-mapping.default"));
    json_t *mapping = text ? json_loads(text, 0, NULL) : NULL, *e, *out = json_object();
    size_t i;

    json_array_foreach(mapping, i, e)
    {
        char id[24];
        const char *name = json_string_value(json_array_get(json_object_get(e, "names"), 0));
        snprintf(id, sizeof(id), "%lld",
                 (long long)json_integer_value(json_object_get(e, "field-id")));
        if (name)
            json_object_set_new(out, id, json_string(name));
    }
    json_decref(mapping);
    return out;
}

/* Whether top-level field "f" is an identity partition column of the current spec. */
static int is_partition(const struct tn_table *t, const struct tn_field *f)
{
    const struct tn_spec *spec = tn_metadata_spec(t->meta, t->meta->default_spec_id);

    for (size_t i = 0; spec && i < spec->nfields; i++)
        if (spec->fields[i].source_id == f->id &&
            strcmp(spec->fields[i].transform, "identity") == 0)
            return 1;
    return 0;
}

/* Append one file's rows: "action" is its add, remove or cdc action; "change" the change type
 * (NULL: the file's own _change_type column). */
static int file_rows(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                     json_t *names, const json_t *action, const char *change, int64_t version,
                     int64_t ts, struct tn_buf *sql, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    const char *path = json_string_value(json_object_get(action, "path"));
    json_t *pvals = json_object_get(action, "partitionValues");
    char *uri = NULL, *local = NULL;
    int rc = 0;

    if (!path)
        return tn_fail(err, TN_EINPUT, "Delta commit %lld has a file action without a path",
                       (long long)version);
    if (json_is_object(json_object_get(action, "deletionVector")))
        return tn_fail(err, TN_EINPUT,
                       "Delta commit %lld changes rows with deletion vectors but has no cdc "
                       "files: tarn cannot tell its changed rows",
                       (long long)version);
    uri = tn_delta_file_uri(location, path);
    rc = tn_storage_local_path(wh->storage, uri, &local, err);
    if (rc) {
        free(uri);
        return rc;
    }
    tn_buf_addstr(sql, sql->len ? " UNION ALL SELECT " : "SELECT ", NULL);
    for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char id[24];
        const char *fname;
        snprintf(id, sizeof(id), "%d", f->id);
        fname = json_string_value(json_object_get(names, id));
        if (!fname)
            fname = f->name;
        tn_buf_addstr(sql, "CAST(", NULL);
        if (is_partition(t, f)) {
            const char *v = json_string_value(json_object_get(pvals, fname));
            if (!v || !*v || strcmp(v, "__HIVE_DEFAULT_PARTITION__") == 0)
                tn_buf_addstr(sql, "NULL", NULL);
            else
                tn_sql_string(sql, v);
        } else {
            tn_buf_addstr(sql, "f.", NULL);
            tn_sql_ident(sql, fname);
        }
        tn_buf_addstr(sql, " AS ", NULL);
        rc = tn_type_duckdb(f->type, sql, err);
        tn_buf_addstr(sql, ") AS ", NULL);
        tn_sql_ident(sql, f->name);
        tn_buf_addstr(sql, ", ", NULL);
    }
    if (change)
        tn_sql_string(sql, change);
    else
        tn_buf_addstr(sql, "CAST(f._change_type AS VARCHAR)", NULL);
    tn_buf_addf(sql, NULL,
                " AS _change_type, CAST(%lld AS BIGINT) AS _commit_version, "
                "make_timestamp(CAST(%lld AS BIGINT) * 1000) AS _commit_timestamp FROM "
                "read_parquet([",
                (long long)version, (long long)ts);
    tn_sql_string(sql, local);
    tn_buf_addstr(sql, "], hive_partitioning = false) AS f", NULL);
    free(uri);
    free(local);
    return rc;
}

/* The actions of one commit, and its time. */
static int commit_actions(struct tn_storage *st, const struct tn_delta_log *log, int64_t version,
                          json_t **out, int64_t *ts, struct tn_err *err)
{
    const struct tn_delta_commit *c = NULL;
    struct tn_buf buf = TN_BUF_INIT(COMMIT_MAX_BYTES);
    const char *p;
    int rc;

    for (size_t i = 0; i < log->ncommits; i++)
        if (log->commits[i].version == version)
            c = &log->commits[i];
    if (!c)
        return tn_fail(err, TN_ENOTFOUND, "Delta table %s: commit %020lld.json is missing",
                       log->location, (long long)version);
    rc = tn_storage_read(st, c->uri, &buf, err);
    if (rc)
        return rc;
    *out = json_array();
    *ts = c->mtime_ms;
    for (p = buf.buf ? buf.buf : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_t *a = n ? json_loadb(p, n, 0, NULL) : NULL, *info;
        if (n && !json_is_object(a)) {
            json_decref(a);
            rc = tn_fail(err, TN_EINPUT, "Delta table %s: commit %lld has a line that is not JSON",
                         log->location, (long long)version);
            break;
        }
        if ((info = json_object_get(a, "commitInfo"))) {
            json_t *ict = json_object_get(info, "inCommitTimestamp");
            json_t *stamp = json_object_get(info, "timestamp");
            if (json_is_integer(ict))
                *ts = json_integer_value(ict);
            else if (json_is_integer(stamp))
                *ts = json_integer_value(stamp);
        }
        if (a)
            json_array_append_new(*out, a);
        if (!nl)
            break;
        p = nl + 1;
    }
    tn_buf_release(&buf);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int tn_delta_changes_sql(struct tn_warehouse *wh, const struct tn_table *t, int64_t start,
                         int64_t end, struct tn_buf *out, struct tn_err *err)
{
    const char *location = tn_delta_source(t);
    struct tn_delta_log log;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    json_t *names;
    int64_t latest;
    int rc;

    if (!location)
        return tn_fail(err, TN_EINPUT, "delta_changes: table %s.%s is not a registered Delta table",
                       t->ns, t->name);
    rc = tn_delta_log_list(wh->storage, location, &log, err);
    if (rc)
        return rc;
    latest = tn_delta_log_latest(&log);
    if (end < 0)
        end = latest;
    if (start < 0 || start > latest || end > latest || start > end) {
        rc = tn_fail(err, TN_EINPUT,
                     "delta_changes: invalid table version range %lld to %lld: table %s.%s has "
                     "versions up to %lld",
                     (long long)start, (long long)end, t->ns, t->name, (long long)latest);
        tn_delta_log_release(&log);
        return rc;
    }
    names = file_names(t);
    for (int64_t v = start; !rc && v <= end; v++) {
        json_t *actions = NULL, *a;
        int64_t ts = 0;
        int has_cdc = 0;
        size_t i;
        rc = commit_actions(wh->storage, &log, v, &actions, &ts, err);
        json_array_foreach(actions, i, a) has_cdc |= json_is_object(json_object_get(a, "cdc"));
        json_array_foreach(actions, i, a)
        {
            json_t *x;
            if (rc)
                break;
            if (has_cdc) {
                if ((x = json_object_get(a, "cdc")) && json_is_object(x))
                    rc = file_rows(wh, t, log.location, names, x, NULL, v, ts, &sql, err);
                continue;
            }
            if ((x = json_object_get(a, "add")) && json_is_object(x) &&
                !json_is_false(json_object_get(x, "dataChange")))
                rc = file_rows(wh, t, log.location, names, x, "insert", v, ts, &sql, err);
            else if ((x = json_object_get(a, "remove")) && json_is_object(x) &&
                     !json_is_false(json_object_get(x, "dataChange")))
                rc = file_rows(wh, t, log.location, names, x, "delete", v, ts, &sql, err);
        }
        json_decref(actions);
    }
    if (!rc && !sql.len) {
        /* no changed file: an empty relation with the columns */
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        tn_buf_addstr(&sql, "SELECT ", NULL);
        for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
            tn_buf_addstr(&sql, "CAST(NULL AS ", NULL);
            rc = tn_type_duckdb(schema->root.fields[i].type, &sql, err);
            tn_buf_addstr(&sql, ") AS ", NULL);
            tn_sql_ident(&sql, schema->root.fields[i].name);
            tn_buf_addstr(&sql, ", ", NULL);
        }
        tn_buf_addstr(&sql,
                      "CAST(NULL AS VARCHAR) AS _change_type, CAST(NULL AS BIGINT) AS "
                      "_commit_version, CAST(NULL AS TIMESTAMP) AS _commit_timestamp WHERE false",
                      NULL);
    }
    if (!rc)
        tn_buf_addf(out, NULL, "(%s)", sql.buf);
    json_decref(names);
    tn_buf_release(&sql);
    tn_delta_log_release(&log);
    return rc;
}
