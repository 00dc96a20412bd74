/* view.c - Iceberg view metadata as JSON (see view.h). A view's metadata holds its schemas, its
 * versions (each a query as SQL in one or more dialects, with the schema it answers with and
 * the namespace its names resolve in), the current version, a version log and properties. */
#include "iceberg/view.h"

#include <string.h>
#include <strings.h>

#define VIEW_FORMAT_VERSION 1

static json_t *array_member(json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);

    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(root, key, a);
    }
    return a;
}

static json_int_t max_id(json_t *list, const char *key)
{
    json_int_t max = -1;
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        json_t *id = json_object_get(v, key);
        if (json_is_integer(id) && json_integer_value(id) > max)
            max = json_integer_value(id);
    }
    return max;
}

static json_t *find_by_id(json_t *list, const char *key, json_int_t id)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        if (json_integer_value(json_object_get(v, key)) == id)
            return v;
    }
    return NULL;
}

/* Add "schema" (a copy) with a fresh schema-id unless an equal one (fields and identifier
 * fields) is there; the id it has in the metadata goes to *id. */
static int add_schema(json_t *root, json_t *schema, json_int_t *id, struct tn_err *err)
{
    json_t *schemas = array_member(root, "schemas"), *copy;
    size_t i;
    json_t *v;

    if (!json_is_object(schema) || !json_is_array(json_object_get(schema, "fields")))
        return tn_fail(err, TN_EINPUT,
                       "a view schema is {\"type\": \"struct\", \"fields\": [...]}");
    json_array_foreach(schemas, i, v)
    {
        if (json_equal(json_object_get(v, "fields"), json_object_get(schema, "fields")) &&
            json_equal(json_object_get(v, "identifier-field-ids"),
                       json_object_get(schema, "identifier-field-ids"))) {
            *id = json_integer_value(json_object_get(v, "schema-id"));
            json_object_set_new(root, "tn-last-added-schema", json_integer(*id));
            return 0;
        }
    }
    copy = json_deep_copy(schema);
    *id = max_id(schemas, "schema-id") + 1;
    json_object_set_new(copy, "schema-id", json_integer(*id));
    if (!json_object_get(copy, "type"))
        json_object_set_new(copy, "type", json_string("struct"));
    json_array_append_new(schemas, copy);
    json_object_set_new(root, "tn-last-added-schema", json_integer(*id));
    return 0;
}

/* Add "version" (a copy) with the next version-id; schema-id -1 means the schema added last.
 * A version equal to an existing one (all but its id and time) is that one. */
static int add_version(json_t *root, json_t *version, json_int_t *id, struct tn_err *err)
{
    json_t *versions = array_member(root, "versions"), *copy, *schema_id;
    size_t i;
    json_t *v;

    if (!json_is_object(version))
        return tn_fail(err, TN_EINPUT, "\"view-version\" must be an object");
    copy = json_deep_copy(version);
    schema_id = json_object_get(copy, "schema-id");
    if (json_is_integer(schema_id) && json_integer_value(schema_id) == -1) {
        json_t *last = json_object_get(root, "tn-last-added-schema");
        if (!json_is_integer(last)) {
            json_decref(copy);
            return tn_fail(err, TN_EINPUT,
                           "schema-id -1 names the schema added last, but no "
                           "schema was added in this change");
        }
        json_object_set(copy, "schema-id", last);
    }
    if (!json_is_integer(json_object_get(copy, "timestamp-ms")))
        json_object_set_new(copy, "timestamp-ms", json_integer((json_int_t)tn_now_ms()));
    json_array_foreach(versions, i, v)
    {
        json_t *a = json_deep_copy(v), *b = json_deep_copy(copy);
        int same;
        json_object_del(a, "version-id");
        json_object_del(a, "timestamp-ms");
        json_object_del(b, "version-id");
        json_object_del(b, "timestamp-ms");
        same = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        if (same) {
            *id = json_integer_value(json_object_get(v, "version-id"));
            json_object_set_new(root, "tn-last-added-version", json_integer(*id));
            json_decref(copy);
            return 0;
        }
    }
    *id = max_id(versions, "version-id") + 1;
    if (*id < 1)
        *id = 1;
    json_object_set_new(copy, "version-id", json_integer(*id));
    json_array_append_new(versions, copy);
    json_object_set_new(root, "tn-last-added-version", json_integer(*id));
    return 0;
}

static int set_current(json_t *root, json_int_t id, struct tn_err *err)
{
    json_t *version;

    if (id == -1) {
        json_t *last = json_object_get(root, "tn-last-added-version");
        if (!json_is_integer(last))
            return tn_fail(err, TN_EINPUT,
                           "view-version-id -1 names the version added last, but no version was "
                           "added in this change");
        id = json_integer_value(last);
    }
    version = find_by_id(json_object_get(root, "versions"), "version-id", id);
    if (!version)
        return tn_fail(err, TN_EINPUT, "view version %lld does not exist", (long long)id);
    if (json_integer_value(json_object_get(root, "current-version-id")) == id &&
        json_object_get(root, "current-version-id"))
        return 0;
    json_object_set_new(root, "current-version-id", json_integer(id));
    json_array_append_new(array_member(root, "version-log"),
                          json_pack("{s:I, s:I}", "timestamp-ms",
                                    json_integer_value(json_object_get(version, "timestamp-ms")),
                                    "version-id", id));
    return 0;
}

/* The bookkeeping keys of one change (which schema and version were added last). */
static void forget_last_added(json_t *root)
{
    json_object_del(root, "tn-last-added-schema");
    json_object_del(root, "tn-last-added-version");
}

int tn_view_metadata_new(const char *location, json_t *request, json_t **out, struct tn_err *err)
{
    json_t *root, *props = json_object_get(request, "properties");
    json_int_t schema_id, version_id;
    char uuid[37];
    int rc;

    if (!json_is_object(request))
        return tn_fail(err, TN_EINPUT,
                       "send a CreateViewRequest {\"name\", \"schema\", "
                       "\"view-version\", \"properties\"}");
    if (props && !json_is_object(props))
        return tn_fail(err, TN_EINPUT, "\"properties\" must be an object of strings");
    tn_uuid4(uuid);
    root = json_pack("{s:s, s:i, s:s, s:[], s:[], s:[], s:o}", "view-uuid", uuid, "format-version",
                     VIEW_FORMAT_VERSION, "location", location, "schemas", "versions",
                     "version-log", "properties", props ? json_deep_copy(props) : json_object());
    rc = add_schema(root, json_object_get(request, "schema"), &schema_id, err);
    if (!rc) {
        json_t *version = json_deep_copy(json_object_get(request, "view-version"));
        if (!json_is_object(version)) {
            json_decref(version);
            rc = tn_fail(err, TN_EINPUT, "\"view-version\" is required");
        } else {
            json_object_set_new(version, "schema-id", json_integer(schema_id));
            rc = add_version(root, version, &version_id, err);
            json_decref(version);
        }
    }
    if (!rc)
        rc = set_current(root, version_id, err);
    forget_last_added(root);
    if (!rc)
        rc = tn_view_metadata_check(root, err);
    if (rc) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

static int apply_one(json_t *root, json_t *u, struct tn_err *err)
{
    const char *action = json_string_value(json_object_get(u, "action"));
    json_int_t id;

    if (!action)
        return tn_fail(err, TN_EINPUT, "every update needs an \"action\"");
    if (strcmp(action, "assign-uuid") == 0) {
        const char *uuid = json_string_value(json_object_get(u, "uuid"));
        const char *now = json_string_value(json_object_get(root, "view-uuid"));
        if (!uuid)
            return tn_fail(err, TN_EINPUT, "assign-uuid needs \"uuid\"");
        if (now && strcmp(now, uuid) != 0)
            return tn_fail(err, TN_EINPUT, "a view's uuid cannot change");
        json_object_set_new(root, "view-uuid", json_string(uuid));
        return 0;
    }
    if (strcmp(action, "upgrade-format-version") == 0) {
        if (json_integer_value(json_object_get(u, "format-version")) != VIEW_FORMAT_VERSION)
            return tn_fail(err, TN_EINPUT, "view format version %d is the only one supported",
                           VIEW_FORMAT_VERSION);
        return 0;
    }
    if (strcmp(action, "add-schema") == 0)
        return add_schema(root, json_object_get(u, "schema"), &id, err);
    if (strcmp(action, "set-location") == 0) {
        json_t *loc = json_object_get(u, "location");
        if (!json_is_string(loc))
            return tn_fail(err, TN_EINPUT, "set-location needs \"location\"");
        json_object_set(root, "location", loc);
        return 0;
    }
    if (strcmp(action, "set-properties") == 0) {
        json_t *updates = json_object_get(u, "updates"),
               *props = json_object_get(root, "properties");
        const char *k;
        json_t *v;
        if (!json_is_object(updates))
            return tn_fail(err, TN_EINPUT, "set-properties needs \"updates\": {...}");
        if (!json_is_object(props)) {
            props = json_object();
            json_object_set_new(root, "properties", props);
        }
        json_object_foreach(updates, k, v)
        {
            if (!json_is_string(v))
                return tn_fail(err, TN_EINPUT, "property \"%.100s\" must be a string", k);
            json_object_set(props, k, v);
        }
        return 0;
    }
    if (strcmp(action, "remove-properties") == 0) {
        json_t *removals = json_object_get(u, "removals");
        size_t i;
        json_t *k;
        if (!json_is_array(removals))
            return tn_fail(err, TN_EINPUT, "remove-properties needs \"removals\": [...]");
        json_array_foreach(removals, i, k)
        {
            if (json_is_string(k))
                json_object_del(json_object_get(root, "properties"), json_string_value(k));
        }
        return 0;
    }
    if (strcmp(action, "add-view-version") == 0)
        return add_version(root, json_object_get(u, "view-version"), &id, err);
    if (strcmp(action, "set-current-view-version") == 0) {
        json_t *v = json_object_get(u, "view-version-id");
        if (!json_is_integer(v))
            return tn_fail(err, TN_EINPUT, "set-current-view-version needs \"view-version-id\"");
        return set_current(root, json_integer_value(v), err);
    }
    return tn_fail(err, TN_EINPUT, "unknown view update \"%.60s\"", action);
}

int tn_view_metadata_apply(json_t *root, json_t *requirements, json_t *updates, struct tn_err *err)
{
    size_t i;
    json_t *r, *u;
    int rc = 0;

    if ((requirements && !json_is_array(requirements)) || (updates && !json_is_array(updates)))
        return tn_fail(err, TN_EINPUT, "\"requirements\" and \"updates\" must be arrays");
    json_array_foreach(requirements, i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *want = json_string_value(json_object_get(r, "uuid"));
        const char *have = json_string_value(json_object_get(root, "view-uuid"));
        if (!type || strcmp(type, "assert-view-uuid") != 0)
            return tn_fail(err, TN_EINPUT, "unknown view requirement \"%.60s\"",
                           type ? type : "(none)");
        if (!want || !have || strcmp(want, have) != 0)
            return tn_fail(err, TN_ECONFLICT,
                           "Requirement failed: the view's uuid is %s, not %.40s",
                           have ? have : "(none)", want ? want : "(none)");
    }
    forget_last_added(root);
    json_array_foreach(updates, i, u)
    {
        rc = apply_one(root, u, err);
        if (rc)
            break;
    }
    forget_last_added(root);
    return rc ? rc : tn_view_metadata_check(root, err);
}

int tn_view_metadata_check(json_t *root, struct tn_err *err)
{
    json_t *versions = json_object_get(root, "versions"), *current, *reps, *rep, *props;
    json_t *seen = NULL;
    const char *k;
    json_t *v;
    size_t i;
    int rc = 0;

    if (!json_is_string(json_object_get(root, "view-uuid")) ||
        json_integer_value(json_object_get(root, "format-version")) != VIEW_FORMAT_VERSION ||
        !json_is_string(json_object_get(root, "location")) ||
        !json_is_array(json_object_get(root, "schemas")) || !json_is_array(versions) ||
        !json_is_array(json_object_get(root, "version-log")) ||
        !json_is_integer(json_object_get(root, "current-version-id")))
        return tn_fail(err, TN_EINPUT,
                       "view metadata needs view-uuid, format-version 1, location, schemas, "
                       "versions, version-log and current-version-id");
    props = json_object_get(root, "properties");
    if (props && !json_is_object(props))
        return tn_fail(err, TN_EINPUT, "view properties must be an object of strings");
    json_object_foreach(props, k, v)
    {
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "view property \"%.100s\" must be a string", k);
    }
    current = find_by_id(versions, "version-id",
                         json_integer_value(json_object_get(root, "current-version-id")));
    if (!current)
        return tn_fail(err, TN_EINPUT, "the view's current version does not exist");
    json_array_foreach(versions, i, v)
    {
        if (!json_is_integer(json_object_get(v, "version-id")) ||
            !json_is_integer(json_object_get(v, "timestamp-ms")) ||
            !json_is_object(json_object_get(v, "summary")) ||
            !json_is_array(json_object_get(v, "default-namespace")))
            return tn_fail(err, TN_EINPUT,
                           "a view version needs version-id, timestamp-ms, schema-id, summary, "
                           "representations and default-namespace");
        if (!find_by_id(json_object_get(root, "schemas"), "schema-id",
                        json_integer_value(json_object_get(v, "schema-id"))) ||
            !json_is_integer(json_object_get(v, "schema-id")))
            return tn_fail(err, TN_EINPUT, "view version %lld names a schema that does not exist",
                           (long long)json_integer_value(json_object_get(v, "version-id")));
    }
    reps = json_object_get(current, "representations");
    if (!json_array_size(reps))
        return tn_fail(err, TN_EINPUT, "a view version needs at least one representation");
    seen = json_object();
    json_array_foreach(reps, i, rep)
    {
        const char *type = json_string_value(json_object_get(rep, "type"));
        const char *dialect = json_string_value(json_object_get(rep, "dialect"));
        if (!type || strcmp(type, "sql") != 0 || !json_is_string(json_object_get(rep, "sql")) ||
            !dialect) {
            rc = tn_fail(err, TN_EINPUT,
                         "a view representation is {\"type\": \"sql\", \"sql\": \"...\", "
                         "\"dialect\": \"...\"}");
            break;
        }
        if (json_object_get(seen, dialect)) {
            rc = tn_fail(err, TN_EINPUT,
                         "the view version has two representations in dialect %.60s", dialect);
            break;
        }
        json_object_set_new(seen, dialect, json_true());
    }
    json_decref(seen);
    return rc;
}

const char *tn_view_metadata_sql(json_t *root, const char *dialect)
{
    json_t *current = find_by_id(json_object_get(root, "versions"), "version-id",
                                 json_integer_value(json_object_get(root, "current-version-id")));
    json_t *reps = json_object_get(current, "representations"), *rep;
    size_t i;

    json_array_foreach(reps, i, rep)
    {
        const char *d = json_string_value(json_object_get(rep, "dialect"));
        if (!dialect || (d && strcasecmp(d, dialect) == 0))
            return json_string_value(json_object_get(rep, "sql"));
    }
    return dialect ? tn_view_metadata_sql(root, NULL) : NULL;
}

json_t *tn_view_metadata_schema(json_t *root)
{
    json_t *current = find_by_id(json_object_get(root, "versions"), "version-id",
                                 json_integer_value(json_object_get(root, "current-version-id")));

    return find_by_id(json_object_get(root, "schemas"), "schema-id",
                      json_integer_value(json_object_get(current, "schema-id")));
}
