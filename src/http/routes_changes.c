/* routes_changes.c - the routes that change a table without an upload: POST /tables/{table}/schema,
 * /rollback, /refs, /delete, /update, /partitioning and /maintenance, and DELETE
 * /tables/{table}/refs/{name}.
 *
 * Each request is one call into the table layer, so it is one atomic commit, or none at all when
 * anything fails. User SQL (a DELETE/UPDATE predicate, a SET expression) is DuckDB SQL that runs
 * through tn_table_dml's sandboxed session; it may not contain ';'. Handlers keep no state. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHANGES 1000

/* The table of the request path, parsed again (tn_route_check_table has vetted it). */
/* A snapshot id in a JSON body: an integer, or the same digits as a string (JavaScript clients
 * cannot hold ids above 2^53 as numbers). */
static int json_snapshot_id(json_t *v, int64_t *out, struct tn_err *err)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && !tn_parse_i64(json_string_value(v), out))
        return 0;
    return tn_fail(err, TN_EINPUT,
                   "\"snapshot_id\" must be an integer (or its digits as a string)");
}

static int path_table(const struct tn_http_req *req, char *ns, char *name, struct tn_err *err)
{
    return tn_ident_parse(req->arg ? req->arg : "", ns, name, err);
}

static int need_object(const struct tn_http_req *req, const char *example, struct tn_err *err)
{
    if (!json_is_object(req->json))
        return tn_fail(err, TN_EINPUT, "send a JSON object body, e.g. %s", example);
    return 0;
}

/* Check that snapshot "id" exists in the current version of ns.name. */
static int check_snapshot(struct tn_http_req *req, const char *ns, const char *name, int64_t id,
                          struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc = tn_table_load(req->wh, ns, name, &t, err);

    if (!rc && !tn_metadata_snapshot(t->meta, id))
        rc = tn_table_no_snapshot(t, id, NULL, err);
    tn_table_free(t);
    return rc;
}

static int64_t current_snapshot(struct tn_http_req *req, const char *ns, const char *name,
                                struct tn_err *err)
{
    struct tn_table *t = NULL;
    int64_t id = -1;

    if (!tn_table_load(req->wh, ns, name, &t, err))
        id = t->meta->current_snapshot_id;
    tn_table_free(t);
    return id;
}

/*---- POST /tables/{table}/schema ----*/

/* A type from the request: Iceberg type JSON; a string is lowercased ("BIGINT" is not Iceberg's,
 * but "Long" is "long") with blanks removed after commas. */
static json_t *type_arg(json_t *v)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);
    const char *s = json_string_value(v);
    json_t *out;

    if (!s)
        return json_incref(v);
    for (; *s; s++) {
        if (*s == ' ')
            continue;
        tn_buf_addf(&b, NULL, "%c", *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
        if (*s == ',')
            tn_buf_addstr(&b, " ", NULL); /* Iceberg writes "decimal(12, 2)" */
    }
    out = json_string(b.buf ? b.buf : "");
    tn_buf_release(&b);
    return out;
}

static int schema_changes(json_t *body, struct tn_schema_change *c, size_t *n, json_t *keep,
                          struct tn_err *err)
{
    static const char *const known[] = {"add", "rename", "drop", "widen", "optional", "move"};
    json_t *add = json_object_get(body, "add"), *rename = json_object_get(body, "rename");
    json_t *drop = json_object_get(body, "drop"), *widen = json_object_get(body, "widen");
    json_t *optional = json_object_get(body, "optional"), *move = json_object_get(body, "move");
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach(body, k, v)
    {
        size_t j;
        for (j = 0; j < sizeof(known) / sizeof(known[0]) && strcmp(k, known[j]) != 0; j++)
            ;
        if (j == sizeof(known) / sizeof(known[0]))
            return tn_fail(err, TN_EINPUT,
                           "unknown key \"%.60s\": use add, rename, drop, widen, optional, move",
                           k);
    }
    if ((add && !json_is_array(add)) || (drop && !json_is_array(drop)) ||
        (optional && !json_is_array(optional)) || (move && !json_is_array(move)))
        return tn_fail(err, TN_EINPUT, "\"add\", \"drop\", \"optional\" and \"move\" are arrays");
    if ((rename && !json_is_object(rename)) || (widen && !json_is_object(widen)))
        return tn_fail(err, TN_EINPUT,
                       "\"rename\" is an object {\"old\": \"new\"} and \"widen\" an object "
                       "{\"column\": \"type\"}");
    if (2 * json_array_size(add) + json_object_size(rename) + json_array_size(drop) +
            json_object_size(widen) + json_array_size(optional) + json_array_size(move) >
        MAX_CHANGES)
        return tn_fail(err, TN_ETOOBIG, "at most %d schema changes in one request", MAX_CHANGES);

    /* the order they apply in; each change names columns as the earlier ones left them */
    json_array_foreach(add, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *type = json_object_get(v, "type"), *req = json_object_get(v, "required");
        json_t *after = json_object_get(v, "after"), *t;
        if (!name || !type || (req && !json_is_boolean(req)) || (after && !json_is_string(after)))
            return tn_fail(err, TN_EINPUT,
                           "each \"add\" entry is {\"name\": \"col\", \"type\": \"long\", "
                           "\"required\"?: false, \"default\"?: value, \"after\"?: \"col\"}");
        t = type_arg(type);
        json_array_append_new(keep, t);
        c[*n] = (struct tn_schema_change){.kind = TN_CHANGE_ADD, .column = name, .type = t};
        c[*n].default_value = json_object_get(v, "default");
        if (c[*n].default_value && json_is_null(c[*n].default_value))
            c[*n].default_value = NULL;
        c[*n].required = json_is_true(req);
        (*n)++;
        if (after) {
            c[*n] = (struct tn_schema_change){.kind = TN_CHANGE_MOVE, .column = name};
            c[*n].after = json_string_value(after);
            (*n)++;
        }
    }
    json_object_foreach(rename, k, v)
    {
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "\"rename\": the new name of \"%.60s\" must be a string",
                           k);
        c[(*n)++] = (struct tn_schema_change){
            .kind = TN_CHANGE_RENAME, .column = k, .new_name = json_string_value(v)};
    }
    json_object_foreach(widen, k, v)
    {
        json_t *t;
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "\"widen\": the type of \"%.60s\" must be a string", k);
        t = type_arg(v);
        json_array_append_new(keep, t);
        c[(*n)++] = (struct tn_schema_change){.kind = TN_CHANGE_TYPE, .column = k, .type = t};
    }
    json_array_foreach(optional, i, v)
    {
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "\"optional\" lists column names");
        c[(*n)++] =
            (struct tn_schema_change){.kind = TN_CHANGE_OPTIONAL, .column = json_string_value(v)};
    }
    json_array_foreach(move, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *after = json_object_get(v, "after");
        int first = json_is_true(json_object_get(v, "first"));
        if (!name || (!first && !json_is_string(after)) || (first && after))
            return tn_fail(err, TN_EINPUT,
                           "each \"move\" entry is {\"name\": \"col\", \"first\": true} or "
                           "{\"name\": \"col\", \"after\": \"other\"}");
        c[(*n)++] = (struct tn_schema_change){.kind = TN_CHANGE_MOVE,
                                              .column = name,
                                              .after = json_string_value(after),
                                              .first = first};
    }
    json_array_foreach(drop, i, v)
    {
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "\"drop\" lists column names");
        c[(*n)++] =
            (struct tn_schema_change){.kind = TN_CHANGE_DROP, .column = json_string_value(v)};
    }
    if (!*n)
        return tn_fail(err, TN_EINPUT,
                       "no schema change given: send e.g. {\"add\": [{\"name\": \"c\", "
                       "\"type\": \"long\"}]}");
    return 0;
}

int tn_route_schema(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_schema_change *changes = NULL;
    json_t *keep = json_array();
    struct tn_table *t = NULL;
    const struct tn_schema *schema;
    char *qualified = NULL;
    size_t n = 0;
    int rc;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"add\": [{\"name\": \"c\", \"type\": \"long\"}]}", err);
    if (rc)
        goto out;
    changes = tn_calloc(MAX_CHANGES, sizeof(*changes));
    rc = schema_changes(req->json, changes, &n, keep, err);
    if (!rc)
        rc = tn_table_evolve(req->wh, ns, name, changes, n, err);
    if (!rc)
        rc = tn_table_load(req->wh, ns, name, &t, err);
    if (rc)
        goto out;
    schema = tn_metadata_current_schema(t->meta);
    qualified = tn_asprintf("%s.%s", ns, name);
    tn_http_reply_json(out, 200,
                       json_pack("{s:s, s:i, s:o}", "table", qualified, "changes", (int)n, "schema",
                                 schema ? json_deep_copy(schema->json) : json_null()));
out:
    free(qualified);
    free(changes);
    json_decref(keep);
    tn_table_free(t);
    return rc;
}

/*---- POST /tables/{table}/rollback ----*/

/* "as_of" in epoch milliseconds: a number, or a time text (tn_engine_timestamp_ms). */
static int as_of_ms(struct tn_http_req *req, json_t *v, int64_t *out, struct tn_err *err)
{
    struct tn_session *s = NULL;
    const char *text = json_string_value(v);
    int rc;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!text)
        return tn_fail(err, TN_EINPUT, "\"as_of\" is a timestamp string or epoch milliseconds");
    rc = tn_session_open(req->wh->engine, &s, err);
    if (!rc && (rc = tn_engine_timestamp_ms(s, text, out, err)) != 0)
        tn_err_prefix(err, "as_of: ");
    tn_session_close(s);
    return rc;
}

int tn_route_rollback(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    json_t *sid, *asof;
    int64_t id = -1, ms = -1, got = -1;
    int rc;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc =
            need_object(req, "{\"snapshot_id\": 123} or {\"as_of\": \"2026-11-23 10:00:00\"}", err);
    if (rc)
        return rc;
    sid = json_object_get(req->json, "snapshot_id");
    asof = json_object_get(req->json, "as_of");
    if (!sid == !asof)
        return tn_fail(err, TN_EINPUT, "give \"snapshot_id\" or \"as_of\" (one of them)");
    if (sid) {
        rc = json_snapshot_id(sid, &id, err);
        if (!rc)
            rc = check_snapshot(req, ns, name, id, err);
    } else {
        rc = as_of_ms(req, asof, &ms, err);
    }
    if (!rc)
        rc = tn_table_rollback(req->wh, ns, name, id, ms, &got, err);
    if (rc)
        return rc;
    tn_http_reply_json(out, 200, json_pack("{s:I}", "snapshot_id", (json_int_t)got));
    return 0;
}

/*---- POST /tables/{table}/refs, DELETE /tables/{table}/refs/{name} ----*/

/* Whether an existing tag may move: ?replace=true, or "replace": true in the body. */
static int replace_flag(const struct tn_http_req *req, int *out, struct tn_err *err)
{
    const char *q = tn_http_param(req, "replace");
    json_t *b = json_object_get(req->json, "replace");

    *out = 0;
    if (q && *q) {
        if (strcmp(q, "true") != 0 && strcmp(q, "false") != 0)
            return tn_fail(err, TN_EINPUT, "replace must be true or false, not '%.20s'", q);
        *out = strcmp(q, "true") == 0;
    }
    if (b && !json_is_boolean(b))
        return tn_fail(err, TN_EINPUT, "\"replace\" must be true or false");
    if (b)
        *out = *out || json_is_true(b);
    return 0;
}

int tn_route_refs(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    const char *ref, *type, *ff;
    json_t *sid, *age;
    int64_t id, max_age = -1;
    int rc, is_tag, replace;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"name\": \"v1\", \"type\": \"tag\"}", err);
    if (rc)
        return rc;
    ref = json_string_value(json_object_get(req->json, "name"));
    type = json_string_value(json_object_get(req->json, "type"));
    ff = json_string_value(json_object_get(req->json, "fast_forward"));
    sid = json_object_get(req->json, "snapshot_id");
    age = json_object_get(req->json, "max_ref_age_ms");
    if (!ref)
        return tn_fail(err, TN_EINPUT, "\"name\" (the tag or branch) is required");
    if (json_object_get(req->json, "fast_forward")) {
        if (!ff || strcmp(ref, "main") != 0)
            return tn_fail(err, TN_EINPUT,
                           "fast-forward is {\"name\": \"main\", \"fast_forward\": \"branch\"}");
        rc = tn_table_fast_forward(req->wh, ns, name, ff, err);
        if (rc)
            return rc;
        id = current_snapshot(req, ns, name, err);
        tn_http_reply_json(out, 200,
                           json_pack("{s:s, s:s, s:I}", "name", "main", "fast_forward", ff,
                                     "snapshot_id", (json_int_t)id));
        return 0;
    }
    if (!type || (strcmp(type, "tag") != 0 && strcmp(type, "branch") != 0))
        return tn_fail(err, TN_EINPUT, "\"type\" must be \"tag\" or \"branch\"");
    is_tag = strcmp(type, "tag") == 0;
    rc = replace_flag(req, &replace, err);
    if (rc)
        return rc;
    if (age && !json_is_null(age)) {
        if (!json_is_integer(age) || json_integer_value(age) < 0)
            return tn_fail(err, TN_EINPUT, "\"max_ref_age_ms\" must be a non-negative integer");
        max_age = (int64_t)json_integer_value(age);
    }
    if (sid && !json_is_null(sid)) {
        rc = json_snapshot_id(sid, &id, err);
        if (!rc)
            rc = check_snapshot(req, ns, name, id, err);
    } else {
        struct tn_err lerr = {0};
        id = current_snapshot(req, ns, name, &lerr);
        rc = lerr.code ? tn_fail(err, lerr.code, "%s", lerr.msg) : 0;
        if (!rc && id == -1)
            rc = tn_fail(err, TN_ENOTFOUND,
                         "table %s.%s has no snapshot yet to put '%s' on; write to it first", ns,
                         name, ref);
    }
    if (!rc)
        rc = tn_table_set_ref(req->wh, ns, name, ref, is_tag, id, max_age, replace, err);
    if (rc)
        return rc;
    tn_http_reply_json(
        out, 200,
        json_pack("{s:s, s:s, s:I}", "name", ref, "type", type, "snapshot_id", (json_int_t)id));
    return 0;
}

int tn_route_ref_drop(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    const char *sep = req->arg ? strstr(req->arg, "/refs/") : NULL;
    char *table;
    int rc;

    if (!sep || !sep[6])
        return tn_fail(err, TN_EINPUT, "use DELETE /tables/{table}/refs/{name}");
    table = tn_strndup(req->arg, (size_t)(sep - req->arg));
    rc = tn_ident_parse(table, ns, name, err);
    free(table);
    if (!rc && strcmp(sep + 6, "main") == 0)
        rc = tn_fail(err, TN_EINPUT, "the main branch cannot be dropped");
    if (!rc)
        rc = tn_table_drop_ref(req->wh, ns, name, sep + 6, err);
    if (rc)
        return rc;
    tn_http_reply_json(out, 200, json_pack("{s:s}", "dropped", sep + 6));
    return 0;
}

/*---- POST /tables/{table}/delete and /update ----*/

/* Append a piece of user SQL; ';' is refused, and a newline ends a trailing "--" comment. */
static int add_user_sql(struct tn_buf *b, const char *what, const char *sql, struct tn_err *err)
{
    if (!sql || !*sql)
        return tn_fail(err, TN_EINPUT, "%s must be a non-empty SQL string", what);
    if (strchr(sql, ';'))
        return tn_fail(err, TN_EINPUT, "%s must not contain ';': give one SQL expression", what);
    tn_buf_addf(b, NULL, "(%s\n)", sql);
    return 0;
}

static int run_dml(struct tn_http_req *req, const char *sql, struct tn_http_reply *out,
                   struct tn_err *err)
{
    struct tn_query_options qo = {0};
    struct tn_dml_result dr;
    struct tn_session *s = NULL;
    int rc;

    memset(&dr, 0, sizeof(dr));
    qo.snapshot_id = -1;
    qo.as_of_ms = -1;
    qo.target_snapshot = -1;
    rc = tn_session_open(req->wh->engine, &s, err);
    if (!rc)
        rc = tn_table_dml(req->wh, s, sql, &qo, &dr, err);
    tn_session_close(s);
    if (rc)
        return rc;
    tn_http_reply_json(
        out, 200,
        json_pack("{s:I, s:o}", "rows_affected", (json_int_t)dr.rows_affected, "snapshot_id",
                  dr.snapshot_id == -1 ? json_null() : json_integer((json_int_t)dr.snapshot_id)));
    return 0;
}

static void add_target(struct tn_buf *b, const char *ns, const char *name)
{
    tn_sql_ident(b, ns);
    tn_buf_addstr(b, ".", NULL);
    tn_sql_ident(b, name);
}

int tn_route_delete_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    int rc;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"where\": \"id = 3\"}", err);
    if (rc)
        goto out;
    tn_buf_addstr(&sql, "DELETE FROM ", NULL);
    add_target(&sql, ns, name);
    tn_buf_addstr(&sql, " WHERE ", NULL);
    rc = add_user_sql(&sql, "\"where\"", json_string_value(json_object_get(req->json, "where")),
                      err);
    if (!rc)
        rc = run_dml(req, sql.buf, out, err);
out:
    tn_buf_release(&sql);
    return rc;
}

int tn_route_update_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    json_t *set, *where, *v;
    const char *col;
    int rc, first = 1;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"set\": {\"price\": \"price * 2\"}, \"where\": \"id = 3\"}", err);
    if (rc)
        goto out;
    set = json_object_get(req->json, "set");
    where = json_object_get(req->json, "where");
    if (!json_is_object(set) || !json_object_size(set)) {
        rc = tn_fail(err, TN_EINPUT,
                     "\"set\" must be an object of column to SQL expression, e.g. "
                     "{\"price\": \"price * 2\"}");
        goto out;
    }
    tn_buf_addstr(&sql, "UPDATE ", NULL);
    add_target(&sql, ns, name);
    tn_buf_addstr(&sql, " SET ", NULL);
    json_object_foreach(set, col, v)
    {
        tn_buf_addstr(&sql, first ? "" : ", ", NULL);
        first = 0;
        tn_sql_ident(&sql, col);
        tn_buf_addstr(&sql, " = ", NULL);
        rc = add_user_sql(&sql, "a \"set\" expression", json_string_value(v), err);
        if (rc)
            goto out;
    }
    if (where && !json_is_null(where)) {
        tn_buf_addstr(&sql, " WHERE ", NULL);
        rc = add_user_sql(&sql, "\"where\"", json_string_value(where), err);
        if (rc)
            goto out;
    }
    rc = run_dml(req, sql.buf, out, err);
out:
    tn_buf_release(&sql);
    return rc;
}

/*---- POST /tables/{table}/partitioning ----*/

/* {"partition_by": "day(ts), bucket(16, id)"}; "" or null: unpartitioned from now on. */
int tn_route_partitioning(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    json_t *by, *specs, *sp = NULL, *e;
    int rc, spec_id = 0;
    size_t i;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"partition_by\": \"day(ts), bucket(16, id)\"}", err);
    if (rc)
        return rc;
    by = json_object_get(req->json, "partition_by");
    if (!by || !(json_is_string(by) || json_is_null(by)))
        return tn_fail(err, TN_EINPUT,
                       "\"partition_by\" is required: a spec such as \"day(ts), bucket(16, id)\", "
                       "or \"\" or null for unpartitioned");
    if (json_is_string(by) && strlen(json_string_value(by)) > 4096)
        return tn_fail(err, TN_ETOOBIG, "\"partition_by\" is longer than 4096 characters");
    rc = tn_table_set_partitioning(req->wh, ns, name, json_string_value(by), &spec_id, err);
    if (!rc)
        rc = tn_table_load(req->wh, ns, name, &t, err);
    if (rc)
        return rc;
    specs = json_object_get(t->meta->root, "partition-specs");
    json_array_foreach(specs, i, e)
    {
        if (json_integer_value(json_object_get(e, "spec-id")) == spec_id)
            sp = e;
    }
    tn_http_reply_json(out, 200,
                       json_pack("{s:i, s:O, s:I}", "spec_id", spec_id, "partition_spec",
                                 sp ? sp : json_null(), "spec_count",
                                 (json_int_t)json_array_size(specs)));
    tn_table_free(t);
    return 0;
}

/*---- POST /tables/{table}/maintenance ----*/

#define MAINTENANCE_ACTIONS                                                                        \
    "compact, expire_snapshots, rewrite_manifests, remove_orphans or rewrite_metadata"

/* "dry_run": absent, true or false; *dry is set. */
static int dry_run_flag(struct tn_http_req *req, int *dry, struct tn_err *err)
{
    json_t *v = json_object_get(req->json, "dry_run");

    if (v && !json_is_boolean(v))
        return tn_fail(err, TN_EINPUT, "\"dry_run\" must be true or false");
    *dry = json_is_true(v);
    return 0;
}

/* {"action": "remove_orphans", "older_than": "1d" (default; a duration), "dry_run": false} */
static int remove_orphans(struct tn_http_req *req, const char *ns, const char *name,
                          struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_orphans_result r;
    json_t *older = json_object_get(req->json, "older_than");
    int64_t margin = 86400000;
    int dry = 0, rc;

    if (older && !json_is_null(older) &&
        (!json_is_string(older) || tn_parse_duration_ms(json_string_value(older), &margin)))
        return tn_fail(err, TN_EINPUT,
                       "\"older_than\" must be a duration such as \"1d\", \"12h\", \"30m\" or "
                       "\"0s\"");
    rc = dry_run_flag(req, &dry, err);
    if (rc)
        return rc;
    rc = tn_table_remove_orphans(req->wh, ns, name, tn_now_ms() - margin, dry, &r, err);
    if (!rc) {
        tn_http_reply_json(
            out, 200,
            json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:O}", "action", "remove_orphans",
                      "dry_run", dry, "orphans_found", (json_int_t)r.files_found, "files_deleted",
                      (json_int_t)r.files_deleted, "bytes", (json_int_t)r.bytes, "files_too_new",
                      (json_int_t)r.files_too_new, "uploads_aborted", (json_int_t)r.uploads_aborted,
                      "paths", r.paths));
    }
    tn_orphans_result_release(&r);
    return rc;
}

/* {"action": "compact", "dry_run": false} */
static int compact(struct tn_http_req *req, const char *ns, const char *name,
                   struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_compact_result cr;
    struct tn_session *s = NULL;
    int dry = 0, rc;

    memset(&cr, 0, sizeof(cr));
    rc = dry_run_flag(req, &dry, err);
    if (!rc)
        rc = tn_session_open(req->wh->engine, &s, err);
    if (!rc)
        rc = tn_table_compact(req->wh, s, ns, name, dry, &cr, err);
    tn_session_close(s);
    if (rc)
        return rc;
    tn_http_reply_json(
        out, 200,
        json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o}", "action", "compact", "dry_run", dry,
                  "files_rewritten", (json_int_t)cr.files_rewritten, "bytes_rewritten",
                  (json_int_t)cr.bytes_rewritten, "files_written", (json_int_t)cr.files_written,
                  "delete_files_removed", (json_int_t)cr.delete_files_removed, "rows",
                  (json_int_t)cr.rows, "snapshot_id",
                  cr.snapshot_id == -1 ? json_null() : json_integer((json_int_t)cr.snapshot_id)));
    return 0;
}

/* {"action": "expire_snapshots", "older_than_ms": epoch ms (default: 5 days ago),
 *  "retain_last": N (default 1), "dry_run": false} */
static int expire_snapshots(struct tn_http_req *req, const char *ns, const char *name,
                            struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_expire_result er;
    json_t *older = json_object_get(req->json, "older_than_ms");
    json_t *keep = json_object_get(req->json, "retain_last");
    int64_t cutoff = json_is_integer(older) ? (int64_t)json_integer_value(older)
                                            : tn_now_ms() - 5LL * 24 * 3600 * 1000;
    int dry = 0, rc;

    if ((older && !json_is_integer(older)) || (keep && !json_is_integer(keep)) ||
        (keep && json_integer_value(keep) < 1))
        return tn_fail(err, TN_EINPUT,
                       "older_than_ms must be epoch milliseconds and retain_last a count of at "
                       "least 1");
    rc = dry_run_flag(req, &dry, err);
    if (rc)
        return rc;
    rc = tn_table_expire(req->wh, ns, name, cutoff, keep ? (int)json_integer_value(keep) : 1, dry,
                         &er, err);
    if (!rc)
        tn_http_reply_json(out, 200,
                           json_pack("{s:s, s:b, s:I, s:I, s:I, s:o}", "action", "expire_snapshots",
                                     "dry_run", dry, "snapshots_expired",
                                     (json_int_t)er.snapshots_expired, "files_deleted",
                                     (json_int_t)er.files_deleted, "files_to_delete",
                                     (json_int_t)er.files_to_delete, "files_not_deleted",
                                     er.not_deleted ? json_incref(er.not_deleted) : json_array()));
    tn_expire_result_release(&er);
    return rc;
}

int tn_route_maintenance(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    const char *action;
    int rc;

    rc = path_table(req, ns, name, err);
    if (!rc)
        rc = need_object(req, "{\"action\": \"compact\"}", err);
    if (rc)
        return rc;
    action = json_string_value(json_object_get(req->json, "action"));
    if (!action)
        return tn_fail(err, TN_EINPUT, "\"action\" is required: " MAINTENANCE_ACTIONS);
    if (strcmp(action, "remove_orphans") == 0)
        return remove_orphans(req, ns, name, out, err);
    if (strcmp(action, "rewrite_manifests") == 0) {
        struct tn_rewrite_manifests_result mr = {0};
        rc = tn_table_rewrite_manifests(req->wh, ns, name, &mr, err);
        if (rc)
            return rc;
        tn_http_reply_json(
            out, 200,
            json_pack("{s:s, s:I, s:I, s:o}", "action", "rewrite_manifests", "manifests_before",
                      (json_int_t)mr.manifests_before, "manifests_after",
                      (json_int_t)mr.manifests_after, "snapshot_id",
                      mr.snapshot_id == -1 ? json_null()
                                           : json_integer((json_int_t)mr.snapshot_id)));
        return 0;
    }
    if (strcmp(action, "rewrite_metadata") == 0) {
        struct tn_rewrite_metadata_result rr;
        rc = tn_table_rewrite_metadata(req->wh, ns, name, &rr, err);
        if (rc)
            return rc;
        tn_http_reply_json(out, 200,
                           json_pack("{s:s, s:I, s:I, s:I}", "action", "rewrite_metadata",
                                     "log_entries", (json_int_t)rr.log_entries,
                                     "log_entries_dropped", (json_int_t)rr.log_entries_dropped,
                                     "metadata_files_deleted", (json_int_t)rr.files_deleted));
        return 0;
    }
    if (strcmp(action, "expire_snapshots") == 0)
        return expire_snapshots(req, ns, name, out, err);
    if (strcmp(action, "compact") != 0)
        return tn_fail(err, TN_EINPUT, "unknown action \"%.60s\": use " MAINTENANCE_ACTIONS,
                       action);
    return compact(req, ns, name, out, err);
}
