/* rest_commit.c - the Iceberg REST catalog's table changes: create (also staged), and
 * CommitTableRequest commits -- requirements checked against the current metadata, updates
 * applied in order to a copy of its JSON (ICEBERG.md 7.3), the result validated by re-parsing and
 * published by compare-and-swap, retried on a lost race with the requirements checked again.
 * Multi-table commits write every new metadata file first, then move all pointers in one catalog
 * transaction. Thread-safe as the warehouse is; nothing here keeps state between calls. */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REST_ATTEMPTS 5

/* What the updates of one commit have added so far (for the -1 "last added" ids). */
struct apply_state {
    int last_schema; /* -1: none added */
    int last_spec;
    int last_order;
    json_t *added_snapshots; /* snapshot-id (text) -> timestamp-ms */
};

static json_t *array_of(json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);

    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(root, key, a);
    }
    return a;
}

static json_t *object_of(json_t *root, const char *key)
{
    json_t *o = json_object_get(root, key);

    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(root, key, o);
    }
    return o;
}

static int64_t int_of(json_t *j, const char *key, int64_t dflt)
{
    int64_t v;

    if (tn_json_id(json_object_get(j, key), &v))
        return dflt;
    return v;
}

/* The largest integer "key" among the objects of "arr" (or "dflt" when none). */
static int64_t max_id(json_t *arr, const char *key, int64_t dflt)
{
    int64_t best = dflt;
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        int64_t v = int_of(e, key, dflt);
        if (v > best)
            best = v;
    }
    return best;
}

static json_t *find_by_id(json_t *arr, const char *key, int64_t id)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        if (int_of(e, key, INT64_MIN) == id)
            return e;
    }
    return NULL;
}

/* Remove the objects of "arr" whose "key" is "id". */
static void remove_by_id(json_t *arr, const char *key, int64_t id)
{
    for (size_t i = json_array_size(arr); i-- > 0;) {
        if (int_of(json_array_get(arr, i), key, INT64_MIN) == id)
            json_array_remove(arr, i);
    }
}

static int need_int(json_t *u, const char *key, int64_t *out, const char *action,
                    struct tn_err *err)
{
    if (tn_json_id(json_object_get(u, key), out))
        return tn_fail(err, TN_EINPUT, "%s needs an integer \"%s\"", action, key);
    return 0;
}

/*---- Requirements ----*/

/* The snapshot "ref" points at in "root" (-1 when the ref does not exist). */
static int64_t ref_target(json_t *root, const char *ref)
{
    json_t *r = json_object_get(json_object_get(root, "refs"), ref);

    if (r)
        return int_of(r, "snapshot-id", -1);
    if (strcmp(ref, "main") == 0) /* v1 metadata without refs */
        return int_of(root, "current-snapshot-id", -1);
    return -1;
}

static int check_requirement(json_t *root, json_t *req, struct tn_err *err)
{
    const char *type = json_string_value(json_object_get(req, "type"));
    static const char *const simple[][2] = {
        {"assert-last-assigned-field-id", "last-column-id"},
        {"assert-current-schema-id", "current-schema-id"},
        {"assert-last-assigned-partition-id", "last-partition-id"},
        {"assert-default-spec-id", "default-spec-id"},
        {"assert-default-sort-order-id", "default-sort-order-id"},
    };
    int64_t want, have;

    if (!type)
        return tn_fail(err, TN_EINPUT, "a requirement needs a \"type\"");
    if (strcmp(type, "assert-create") == 0)
        return tn_fail(err, TN_ECONFLICT, "Requirement failed: table already exists");
    if (strcmp(type, "assert-table-uuid") == 0) {
        const char *uuid = json_string_value(json_object_get(req, "uuid"));
        const char *cur = json_string_value(json_object_get(root, "table-uuid"));
        if (!uuid)
            return tn_fail(err, TN_EINPUT, "assert-table-uuid needs a \"uuid\"");
        if (!cur || strcasecmp(uuid, cur) != 0)
            return tn_fail(err, TN_ECONFLICT,
                           "Requirement failed: UUID does not match: expected %s != %s",
                           cur ? cur : "(none)", uuid);
        return 0;
    }
    if (strcmp(type, "assert-ref-snapshot-id") == 0) {
        const char *ref = json_string_value(json_object_get(req, "ref"));
        json_t *id = json_object_get(req, "snapshot-id");
        if (!ref)
            return tn_fail(err, TN_EINPUT, "assert-ref-snapshot-id needs a \"ref\"");
        have = ref_target(root, ref);
        if (!id || json_is_null(id)) {
            if (have != -1)
                return tn_fail(err, TN_ECONFLICT,
                               "Requirement failed: ref %s was created concurrently", ref);
            return 0;
        }
        if (tn_json_id(id, &want))
            return tn_fail(err, TN_EINPUT, "assert-ref-snapshot-id: bad \"snapshot-id\"");
        if (have == -1)
            return tn_fail(err, TN_ECONFLICT,
                           "Requirement failed: branch or tag %s is missing, "
                           "expected %lld",
                           ref, (long long)want);
        if (have != want)
            return tn_fail(err, TN_ECONFLICT,
                           "Requirement failed: %s has changed: expected id %lld != %lld", ref,
                           (long long)want, (long long)have);
        return 0;
    }
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        const char *key = simple[i][0] + strlen("assert-");
        if (strcmp(type, simple[i][0]) != 0)
            continue;
        if (need_int(req, key, &want, type, err))
            return err->code;
        have = int_of(root, simple[i][1], -1);
        if (have != want)
            return tn_fail(err, TN_ECONFLICT,
                           "Requirement failed: %s changed: expected %lld != %lld", simple[i][1],
                           (long long)want, (long long)have);
        return 0;
    }
    return tn_fail(err, TN_EINPUT, "unknown requirement type \"%s\"", type);
}

static int check_requirements(json_t *root, json_t *reqs, struct tn_err *err)
{
    size_t i;
    json_t *r;

    json_array_foreach(reqs, i, r)
    {
        int rc = check_requirement(root, r, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* 1 when "reqs" holds assert-create (then it must be the only requirement). */
static int is_create(json_t *reqs, struct tn_err *err)
{
    size_t i;
    json_t *r;
    int found = 0;

    json_array_foreach(reqs, i, r)
    {
        const char *type = json_string_value(json_object_get(r, "type"));
        if (type && strcmp(type, "assert-create") == 0)
            found = 1;
    }
    if (found && json_array_size(reqs) != 1)
        return -tn_fail(err, TN_EINPUT, "assert-create must be the only requirement");
    return found;
}

/*---- Updates ----*/

static int add_schema(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *schema = json_deep_copy(json_object_get(u, "schema"));
    json_t *schemas = array_of(root, "schemas");
    struct tn_schema *parsed = NULL;
    int id = (int)max_id(schemas, "schema-id", -1) + 1;
    int rc;

    if (!json_is_object(schema)) {
        json_decref(schema);
        return tn_fail(err, TN_EINPUT, "add-schema needs a \"schema\" object");
    }
    json_object_set_new(schema, "schema-id", json_integer(id));
    if (!json_object_get(schema, "type"))
        json_object_set_new(schema, "type", json_string("struct"));
    rc = tn_schema_parse(schema, &parsed, err);
    if (rc) {
        json_decref(schema);
        return rc;
    }
    if (tn_schema_max_id(parsed) > int_of(root, "last-column-id", 0))
        json_object_set_new(root, "last-column-id", json_integer(tn_schema_max_id(parsed)));
    tn_schema_free(parsed);
    json_array_append_new(schemas, schema);
    st->last_schema = id;
    return 0;
}

static int add_spec(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *spec = json_deep_copy(json_object_get(u, "spec"));
    json_t *specs = array_of(root, "partition-specs");
    json_t *fields = json_object_get(spec, "fields");
    int64_t last = int_of(root, "last-partition-id", 999);
    int id = (int)max_id(specs, "spec-id", -1) + 1;
    size_t i;
    json_t *f;

    if (!json_is_object(spec) || !json_is_array(fields)) {
        json_decref(spec);
        return tn_fail(err, TN_EINPUT, "add-spec needs a \"spec\" with \"fields\"");
    }
    json_array_foreach(fields, i, f)
    {
        int64_t fid;
        if (tn_json_id(json_object_get(f, "field-id"), &fid)) {
            fid = ++last;
            json_object_set_new(f, "field-id", json_integer(fid));
        }
        if (fid > last)
            last = fid;
    }
    /* an equal spec is reused, as Java does */
    json_array_foreach(specs, i, f)
    {
        if (json_equal(json_object_get(f, "fields"), fields)) {
            st->last_spec = (int)int_of(f, "spec-id", 0);
            json_decref(spec);
            return 0;
        }
    }
    json_object_set_new(spec, "spec-id", json_integer(id));
    json_object_set_new(root, "last-partition-id", json_integer(last));
    json_array_append_new(specs, spec);
    st->last_spec = id;
    return 0;
}

static int add_sort_order(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *order = json_deep_copy(json_object_get(u, "sort-order"));
    json_t *orders = array_of(root, "sort-orders");
    json_t *fields = json_object_get(order, "fields");
    size_t i;
    json_t *o;
    int id;

    if (!json_is_object(order) || !json_is_array(fields)) {
        json_decref(order);
        return tn_fail(err, TN_EINPUT, "add-sort-order needs a \"sort-order\" with \"fields\"");
    }
    json_array_foreach(orders, i, o)
    {
        if (json_equal(json_object_get(o, "fields"), fields)) {
            st->last_order = (int)int_of(o, "order-id", 0);
            json_decref(order);
            return 0;
        }
    }
    id = json_array_size(fields) ? (int)max_id(orders, "order-id", 0) + 1 : 0;
    json_object_set_new(order, "order-id", json_integer(id));
    json_array_append_new(orders, order);
    st->last_order = id;
    return 0;
}

/* set-current-schema, set-default-spec, set-default-sort-order. */
static int set_default(json_t *root, json_t *u, const char *arg, int last, const char *arr,
                       const char *id_key, const char *root_key, struct tn_err *err)
{
    int64_t id;

    if (need_int(u, arg, &id, json_string_value(json_object_get(u, "action")), err))
        return err->code;
    if (id == -1) {
        if (last < 0)
            return tn_fail(err, TN_EINPUT, "%s -1 (the last added) but none was added", arg);
        id = last;
    }
    if (!find_by_id(json_object_get(root, arr), id_key, id))
        return tn_fail(err, TN_EINPUT, "%s %lld does not exist", arg, (long long)id);
    json_object_set_new(root, root_key, json_integer(id));
    return 0;
}

static int add_snapshot(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *snap = json_object_get(u, "snapshot");
    json_t *snaps = array_of(root, "snapshots");
    int64_t id, ts, seq, last = int_of(root, "last-sequence-number", 0);
    const char *op =
        json_string_value(json_object_get(json_object_get(snap, "summary"), "operation"));
    char key[32];

    if (!json_is_object(snap))
        return tn_fail(err, TN_EINPUT, "add-snapshot needs a \"snapshot\" object");
    if (need_int(snap, "snapshot-id", &id, "add-snapshot", err) ||
        need_int(snap, "timestamp-ms", &ts, "add-snapshot", err))
        return err->code;
    if (!json_is_string(json_object_get(snap, "manifest-list")) || !op)
        return tn_fail(err, TN_EINPUT,
                       "add-snapshot needs \"manifest-list\" and \"summary\".\"operation\"");
    if (find_by_id(snaps, "snapshot-id", id))
        return tn_fail(err, TN_EINPUT, "snapshot %lld already exists", (long long)id);
    if (int_of(root, "format-version", 1) >= 2) {
        if (tn_json_id(json_object_get(snap, "sequence-number"), &seq))
            return tn_fail(err, TN_EINPUT, "add-snapshot: a v2 snapshot needs \"sequence-number\"");
        if (seq <= last)
            return tn_fail(err, TN_ECONFLICT,
                           "Cannot add snapshot with sequence number %lld older than last "
                           "sequence number %lld; please retry",
                           (long long)seq, (long long)last);
        json_object_set_new(root, "last-sequence-number", json_integer(seq));
    }
    json_array_append(snaps, snap);
    snprintf(key, sizeof(key), "%lld", (long long)id);
    json_object_set_new(st->added_snapshots, key, json_integer(ts));
    return 0;
}

static void snapshot_log_append(json_t *root, int64_t id, int64_t ts)
{
    json_array_append_new(
        array_of(root, "snapshot-log"),
        json_pack("{s:I, s:I}", "timestamp-ms", (json_int_t)ts, "snapshot-id", (json_int_t)id));
}

static int set_snapshot_ref(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    static const char *const retention[] = {"min-snapshots-to-keep", "max-snapshot-age-ms",
                                            "max-ref-age-ms"};
    const char *name = json_string_value(json_object_get(u, "ref-name"));
    const char *type = json_string_value(json_object_get(u, "type"));
    json_t *ref;
    int64_t id;
    char key[32];

    if (!name || !type || (strcmp(type, "branch") != 0 && strcmp(type, "tag") != 0))
        return tn_fail(err, TN_EINPUT,
                       "set-snapshot-ref needs \"ref-name\" and \"type\" (branch or tag)");
    if (need_int(u, "snapshot-id", &id, "set-snapshot-ref", err))
        return err->code;
    if (!find_by_id(json_object_get(root, "snapshots"), "snapshot-id", id))
        return tn_fail(err, TN_EINPUT, "set-snapshot-ref: snapshot %lld does not exist",
                       (long long)id);
    if (strcmp(name, "main") == 0 && strcmp(type, "branch") != 0)
        return tn_fail(err, TN_EINPUT, "main must be a branch");
    ref = json_pack("{s:I, s:s}", "snapshot-id", (json_int_t)id, "type", type);
    for (size_t i = 0; i < sizeof(retention) / sizeof(retention[0]); i++) {
        json_t *v = json_object_get(u, retention[i]);
        if (json_is_integer(v))
            json_object_set(ref, retention[i], v);
    }
    json_object_set_new(object_of(root, "refs"), name, ref);
    if (strcmp(name, "main") == 0 && int_of(root, "current-snapshot-id", -1) != id) {
        json_t *ts;
        snprintf(key, sizeof(key), "%lld", (long long)id);
        ts = json_object_get(st->added_snapshots, key);
        json_object_set_new(root, "current-snapshot-id", json_integer(id));
        snapshot_log_append(root, id, ts ? json_integer_value(ts) : tn_now_ms());
    }
    return 0;
}

static void remove_ref(json_t *root, const char *name)
{
    /* compare first: "name" may be the key itself, which the delete frees */
    if (strcmp(name, "main") == 0)
        json_object_del(root, "current-snapshot-id");
    json_object_del(object_of(root, "refs"), name);
}

static int remove_snapshots(json_t *root, json_t *u, struct tn_err *err)
{
    json_t *ids = json_object_get(u, "snapshot-ids");
    json_t *refs = object_of(root, "refs");
    json_t *log = json_object_get(root, "snapshot-log");
    size_t i;
    json_t *v;

    if (!json_is_array(ids))
        return tn_fail(err, TN_EINPUT, "remove-snapshots needs \"snapshot-ids\"");
    json_array_foreach(ids, i, v)
    {
        int64_t id;
        const char *name;
        json_t *r, *tmp;
        if (tn_json_id(v, &id))
            return tn_fail(err, TN_EINPUT, "remove-snapshots: ids must be integers");
        remove_by_id(array_of(root, "snapshots"), "snapshot-id", id);
        remove_by_id(json_object_get(root, "statistics"), "snapshot-id", id);
        remove_by_id(json_object_get(root, "partition-statistics"), "snapshot-id", id);
        remove_by_id(log, "snapshot-id", id);
        json_object_foreach_safe(refs, tmp, name, r)
        {
            if (int_of(r, "snapshot-id", -1) == id)
                remove_ref(root, name);
        }
    }
    return 0;
}

static int set_statistics(json_t *root, json_t *u, const char *key, struct tn_err *err)
{
    const char *field = strcmp(key, "statistics") == 0 ? "statistics" : "partition-statistics";
    json_t *stats = json_object_get(u, field);
    int64_t id;

    if (!json_is_object(stats) || tn_json_id(json_object_get(stats, "snapshot-id"), &id))
        return tn_fail(err, TN_EINPUT, "set-%s needs \"%s\" with a \"snapshot-id\"", key, field);
    remove_by_id(array_of(root, key), "snapshot-id", id);
    json_array_append(array_of(root, key), stats);
    return 0;
}

static int remove_ids(json_t *root, json_t *u, const char *arg, const char *arr, const char *id_key,
                      const char *current_key, struct tn_err *err)
{
    json_t *ids = json_object_get(u, arg);
    size_t i;
    json_t *v;

    if (!json_is_array(ids))
        return tn_fail(err, TN_EINPUT, "needs \"%s\"", arg);
    json_array_foreach(ids, i, v)
    {
        int64_t id;
        if (tn_json_id(v, &id))
            return tn_fail(err, TN_EINPUT, "\"%s\" must be integers", arg);
        if (id == int_of(root, current_key, -1))
            return tn_fail(err, TN_EINPUT, "cannot remove %s %lld: it is the current one", arg,
                           (long long)id);
        remove_by_id(json_object_get(root, arr), id_key, id);
    }
    return 0;
}

static int apply_update(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    const char *action = json_string_value(json_object_get(u, "action"));
    int64_t v;

    if (!action)
        return tn_fail(err, TN_EINPUT, "an update needs an \"action\"");
    if (strcmp(action, "assign-uuid") == 0) {
        const char *uuid = json_string_value(json_object_get(u, "uuid"));
        if (!uuid || strlen(uuid) != 36)
            return tn_fail(err, TN_EINPUT, "assign-uuid needs a \"uuid\"");
        json_object_set_new(root, "table-uuid", json_string(uuid));
    } else if (strcmp(action, "upgrade-format-version") == 0) {
        if (need_int(u, "format-version", &v, action, err))
            return err->code;
        if (v < int_of(root, "format-version", 1))
            return tn_fail(err, TN_EINPUT, "cannot downgrade format-version to %lld", (long long)v);
        if (v > 2)
            return tn_fail(err, TN_EINPUT,
                           "format-version %lld is not supported (tarn writes "
                           "v2)",
                           (long long)v);
        json_object_set_new(root, "format-version", json_integer(v));
    } else if (strcmp(action, "add-schema") == 0) {
        return add_schema(root, u, st, err);
    } else if (strcmp(action, "set-current-schema") == 0) {
        return set_default(root, u, "schema-id", st->last_schema, "schemas", "schema-id",
                           "current-schema-id", err);
    } else if (strcmp(action, "add-spec") == 0) {
        return add_spec(root, u, st, err);
    } else if (strcmp(action, "set-default-spec") == 0) {
        return set_default(root, u, "spec-id", st->last_spec, "partition-specs", "spec-id",
                           "default-spec-id", err);
    } else if (strcmp(action, "add-sort-order") == 0) {
        return add_sort_order(root, u, st, err);
    } else if (strcmp(action, "set-default-sort-order") == 0) {
        return set_default(root, u, "sort-order-id", st->last_order, "sort-orders", "order-id",
                           "default-sort-order-id", err);
    } else if (strcmp(action, "add-snapshot") == 0) {
        return add_snapshot(root, u, st, err);
    } else if (strcmp(action, "set-snapshot-ref") == 0) {
        return set_snapshot_ref(root, u, st, err);
    } else if (strcmp(action, "remove-snapshots") == 0) {
        return remove_snapshots(root, u, err);
    } else if (strcmp(action, "remove-snapshot-ref") == 0) {
        const char *name = json_string_value(json_object_get(u, "ref-name"));
        if (!name)
            return tn_fail(err, TN_EINPUT, "remove-snapshot-ref needs \"ref-name\"");
        remove_ref(root, name);
    } else if (strcmp(action, "set-location") == 0) {
        json_t *loc = json_object_get(u, "location");
        if (!json_is_string(loc))
            return tn_fail(err, TN_EINPUT, "set-location needs \"location\"");
        json_object_set(root, "location", loc);
    } else if (strcmp(action, "set-properties") == 0) {
        json_t *props = object_of(root, "properties"), *val;
        const char *k;
        if (!json_is_object(json_object_get(u, "updates")))
            return tn_fail(err, TN_EINPUT, "set-properties needs an \"updates\" object");
        json_object_foreach(json_object_get(u, "updates"), k, val)
        {
            if (!json_is_string(val))
                return tn_fail(err, TN_EINPUT, "property \"%s\" must be a string", k);
            json_object_set(props, k, val);
        }
    } else if (strcmp(action, "remove-properties") == 0) {
        json_t *props = object_of(root, "properties"), *val;
        size_t i;
        if (!json_is_array(json_object_get(u, "removals")))
            return tn_fail(err, TN_EINPUT, "remove-properties needs a \"removals\" list");
        json_array_foreach(json_object_get(u, "removals"), i, val)
        {
            if (json_is_string(val))
                json_object_del(props, json_string_value(val));
        }
    } else if (strcmp(action, "set-statistics") == 0) {
        return set_statistics(root, u, "statistics", err);
    } else if (strcmp(action, "set-partition-statistics") == 0) {
        return set_statistics(root, u, "partition-statistics", err);
    } else if (strcmp(action, "remove-statistics") == 0 ||
               strcmp(action, "remove-partition-statistics") == 0) {
        if (need_int(u, "snapshot-id", &v, action, err))
            return err->code;
        remove_by_id(
            json_object_get(root, action[7] == 's' ? "statistics" : "partition-statistics"),
            "snapshot-id", v);
    } else if (strcmp(action, "remove-partition-specs") == 0) {
        return remove_ids(root, u, "spec-ids", "partition-specs", "spec-id", "default-spec-id",
                          err);
    } else if (strcmp(action, "remove-schemas") == 0) {
        return remove_ids(root, u, "schema-ids", "schemas", "schema-id", "current-schema-id", err);
    } else {
        return tn_fail(err, TN_EINPUT, "unknown or unsupported update action \"%s\"", action);
    }
    return 0;
}

/* Apply "updates" to "root" in order (root is changed even on failure). */
static int apply_updates(json_t *root, json_t *updates, struct tn_err *err)
{
    struct apply_state st = {-1, -1, -1, json_object()};
    size_t i;
    json_t *u;
    int rc = 0;

    if (updates && !json_is_array(updates))
        rc = tn_fail(err, TN_EINPUT, "\"updates\" must be an array");
    json_array_foreach(updates, i, u)
    {
        if (rc)
            break;
        rc = apply_update(root, u, &st, err);
        if (rc)
            tn_err_prefix(err, "update %zu: ", i + 1);
    }
    json_decref(st.added_snapshots);
    return rc;
}

/*---- Publishing ----*/

/* One table of a commit: the version it read, the next version and where it goes. */
struct pending {
    const char *ns, *name;
    struct tn_table *base;
    struct tn_metadata *next; /* NULL: nothing changed */
    char *location;           /* as the catalog will hold it */
    char *resolved;           /* where it is written */
    int written;
};

static void pending_release(struct tn_warehouse *wh, struct pending *p)
{
    if (p->written) {
        struct tn_err ignored;
        tn_storage_delete(wh->storage, p->resolved, &ignored);
    }
    tn_table_free(p->base);
    tn_metadata_free(p->next);
    free(p->location);
    free(p->resolved);
    memset(p, 0, sizeof(*p));
}

int tn__rest_apply(json_t *base, json_t *reqs, json_t *updates, json_t **out,
                   struct tn_err *err)
{
    int rc = 0;

    *out = NULL;
    if (reqs && !json_is_array(reqs))
        rc = tn_fail(err, TN_EINPUT, "\"requirements\" must be an array");
    if (!rc)
        rc = check_requirements(base, reqs, err);
    if (rc)
        return rc;
    *out = json_deep_copy(base);
    rc = apply_updates(*out, updates, err);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* Load the table, check the requirements and build its next version (not yet written). */
static int pending_prepare(struct tn_warehouse *wh, struct pending *p, json_t *reqs,
                           json_t *updates, struct tn_err *err)
{
    json_t *root;
    int rc = tn_table_load(wh, p->ns, p->name, &p->base, err);

    if (!rc)
        rc = tn__rest_apply(p->base->meta->root, reqs, updates, &root, err);
    if (rc)
        return rc;
    if (json_equal(root, p->base->meta->root)) {
        json_decref(root);
        return 0;
    }
    json_object_set_new(root, "last-updated-ms", json_integer(tn_now_ms()));
    tn_metadata_log_append(root, p->base->metadata_location, p->base->meta->last_updated_ms);
    rc = tn_metadata_from_json(root, &p->next, err);
    if (rc) {
        tn_err_prefix(err, "the updated metadata is not valid: ");
        return rc == TN_ECONFLICT ? rc : TN_EINPUT;
    }
    p->location = tn__next_metadata_location(p->base, p->next->location);
    p->resolved = tn_table_resolve(p->base, p->location);
    return 0;
}

static int pending_write(struct tn_warehouse *wh, struct pending *p, struct tn_err *err)
{
    char *text;
    int rc;

    if (!p->next)
        return 0;
    text = tn_metadata_dump(p->next);
    rc = tn_storage_write(wh->storage, p->resolved, text, strlen(text), err);
    free(text);
    p->written = !rc;
    return rc;
}

/* The committed version as a table (ownership of the pending's parts moves out). */
static struct tn_table *pending_result(struct pending *p)
{
    struct tn_table *t;

    if (!p->next) {
        t = p->base;
        p->base = NULL;
        return t;
    }
    t = tn_calloc(1, sizeof(*t));
    snprintf(t->ns, sizeof(t->ns), "%s", p->ns);
    snprintf(t->name, sizeof(t->name), "%s", p->name);
    t->metadata_location = p->location;
    t->meta = p->next;
    p->location = NULL;
    p->next = NULL;
    p->written = 0; /* published: keep the file */
    return t;
}

/*---- Create ----*/

static void remove_key(json_t *root, const char *key)
{
    json_object_del(root, key);
}

/* Metadata for a new table from a CreateTableRequest (nothing written). */
static int create_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                           json_t *request, json_t **out, struct tn_err *err)
{
    const char *root_uri = tn_storage_root_uri(wh->storage);
    const char *loc = json_string_value(json_object_get(request, "location"));
    json_t *schema = json_deep_copy(json_object_get(request, "schema"));
    json_t *props = json_object_get(request, "properties");
    json_t *spec = json_object_get(request, "partition-spec");
    json_t *order = json_object_get(request, "write-order");
    struct tn_metadata *m = NULL;
    char *location = NULL;
    json_t *root = NULL;
    struct apply_state st = {-1, -1, -1, NULL};
    int rc;

    if (!json_is_object(schema)) {
        rc = tn_fail(err, TN_EINPUT, "\"schema\" is required");
        goto out;
    }
    if (props && !json_is_null(props) && !json_is_object(props)) {
        rc = tn_fail(err, TN_EINPUT, "\"properties\" must be an object");
        goto out;
    }
    if (loc && strncmp(loc, root_uri, strlen(root_uri)) != 0) {
        rc = tn_fail(err, TN_EINPUT, "location %s is outside the warehouse %s; leave it out", loc,
                     root_uri);
        goto out;
    }
    location = loc ? tn_strdup(loc) : tn_asprintf("%s/%s/%s", root_uri, ns, name);
    while (strlen(location) > 1 && location[strlen(location) - 1] == '/')
        location[strlen(location) - 1] = '\0';
    json_object_set_new(schema, "schema-id", json_integer(0));
    if (!json_object_get(schema, "type"))
        json_object_set_new(schema, "type", json_string("struct"));
    rc = tn_metadata_new(location, schema, json_is_object(props) ? props : NULL, &m, err);
    if (rc)
        goto out;
    root = json_deep_copy(m->root);
    if (json_array_size(json_object_get(spec, "fields"))) {
        json_t *u = json_pack("{s:O}", "spec", spec);
        json_array_clear(array_of(root, "partition-specs"));
        json_object_set_new(root, "last-partition-id", json_integer(999));
        rc = add_spec(root, u, &st, err);
        json_decref(u);
        if (!rc)
            json_object_set_new(root, "default-spec-id", json_integer(st.last_spec));
    }
    if (!rc && json_array_size(json_object_get(order, "fields"))) {
        json_t *u = json_pack("{s:O}", "sort-order", order);
        rc = add_sort_order(root, u, &st, err);
        json_decref(u);
        if (!rc)
            json_object_set_new(root, "default-sort-order-id", json_integer(st.last_order));
    }
    if (rc)
        goto out;
    *out = root;
    root = NULL;
out:
    json_decref(root);
    json_decref(schema);
    tn_metadata_free(m);
    free(location);
    return rc;
}

/* Validate "root", write it as the first metadata file of ns.name and insert the catalog row. */
static int create_from_root(struct tn_warehouse *wh, const char *ns, const char *name, json_t *root,
                            struct tn_table **out, struct tn_err *err)
{
    struct tn_metadata *m = NULL;
    char *meta_location = NULL, *text = NULL;
    char uuid[37];
    int rc = tn_metadata_from_json(root, &m, err);

    if (rc) {
        tn_err_prefix(err, "the new table's metadata is not valid: ");
        return TN_EINPUT;
    }
    tn_uuid4(uuid);
    meta_location = tn_asprintf("%s/metadata/00000-%s.metadata.json", m->location, uuid);
    text = tn_metadata_dump(m);
    rc = tn_storage_write(wh->storage, meta_location, text, strlen(text), err);
    if (!rc) {
        rc = tn_catalog_create(wh->catalog, ns, name, meta_location, err);
        if (rc) {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, meta_location, &ignored);
        }
    }
    if (!rc && out) {
        struct tn_table *t = tn_calloc(1, sizeof(*t));
        snprintf(t->ns, sizeof(t->ns), "%s", ns);
        snprintf(t->name, sizeof(t->name), "%s", name);
        t->metadata_location = meta_location;
        t->meta = m;
        meta_location = NULL;
        m = NULL;
        *out = t;
    }
    tn_metadata_free(m);
    free(meta_location);
    free(text);
    return rc;
}

int tn_table_rest_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *request,
                         int stage, json_t **out_staged, struct tn_table **out, struct tn_err *err)
{
    json_t *root = NULL;
    char *cur = NULL;
    int rc;

    if (tn_catalog_load(wh->catalog, ns, name, &cur, err) == 0) {
        free(cur);
        return tn_fail(err, TN_EEXISTS, "table %s.%s already exists", ns, name);
    }
    rc = create_metadata(wh, ns, name, request, &root, err);
    if (rc)
        return rc;
    if (stage) {
        struct tn_metadata *m = NULL;
        json_object_set_new(object_of(root, "properties"), "created-at",
                            json_sprintf("%lld", (long long)tn_now_ms()));
        rc = tn_metadata_from_json(json_incref(root), &m, err);
        tn_metadata_free(m);
        if (!rc)
            *out_staged = json_incref(root);
        json_decref(root);
        return rc;
    }
    return create_from_root(wh, ns, name, root, out, err);
}

/* An assert-create commit: a new table built from empty metadata by the updates. */
static int commit_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *updates,
                         struct tn_table **out, struct tn_err *err)
{
    char *location = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
    char *cur = NULL;
    char uuid[37];
    json_t *root;
    int rc;

    if (tn_catalog_load(wh->catalog, ns, name, &cur, err) == 0) {
        free(cur);
        free(location);
        return tn_fail(err, TN_ECONFLICT, "Requirement failed: table %s.%s already exists", ns,
                       name);
    }
    tn_uuid4(uuid);
    root = json_pack("{s:i, s:s, s:s, s:i, s:I, s:i, s:i, s:[], s:i, s:[], s:i, s:i, s:[], "
                     "s:{}, s:{}, s:[], s:[], s:[], s:[]}",
                     "format-version", 2, "table-uuid", uuid, "location", location,
                     "last-sequence-number", 0, "last-updated-ms", (json_int_t)tn_now_ms(),
                     "last-column-id", 0, "current-schema-id", -1, "schemas", "default-spec-id", -1,
                     "partition-specs", "last-partition-id", 999, "default-sort-order-id", -1,
                     "sort-orders", "properties", "refs", "snapshots", "snapshot-log",
                     "metadata-log", "statistics");
    free(location);
    rc = apply_updates(root, updates, err);
    if (!rc && json_array_size(json_object_get(root, "partition-specs")) == 0) {
        json_array_append_new(array_of(root, "partition-specs"),
                              json_pack("{s:i, s:[]}", "spec-id", 0, "fields"));
        json_object_set_new(root, "default-spec-id", json_integer(0));
    }
    if (!rc && json_array_size(json_object_get(root, "sort-orders")) == 0) {
        json_array_append_new(array_of(root, "sort-orders"),
                              json_pack("{s:i, s:[]}", "order-id", 0, "fields"));
        json_object_set_new(root, "default-sort-order-id", json_integer(0));
    }
    if (!rc &&
        strncmp(json_string_value(json_object_get(root, "location")),
                tn_storage_root_uri(wh->storage), strlen(tn_storage_root_uri(wh->storage))) != 0)
        rc = tn_fail(err, TN_EINPUT, "set-location: the location must be inside the warehouse");
    if (rc) {
        json_decref(root);
        return rc;
    }
    remove_key(root, "current-snapshot-id");
    return create_from_root(wh, ns, name, root, out, err);
}

int tn_table_rest_commit(struct tn_warehouse *wh, const char *ns, const char *name,
                         json_t *requirements, json_t *updates, struct tn_table **out,
                         struct tn_err *err)
{
    struct tn_rest_change c = {ns, name, requirements, updates};
    int create = is_create(requirements, err);

    if (create < 0)
        return err->code;
    if (create)
        return commit_create(wh, ns, name, updates, out, err);
    return tn_table_rest_commit_many(wh, &c, 1, out, err);
}

int tn_table_rest_commit_many(struct tn_warehouse *wh, const struct tn_rest_change *changes,
                              size_t n, struct tn_table **out, struct tn_err *err)
{
    struct pending *p = tn_calloc(n ? n : 1, sizeof(*p));
    struct tn_catalog_swap *sw = tn_calloc(n ? n : 1, sizeof(*sw));
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(changes[k].ns, changes[i].ns) == 0 &&
                strcmp(changes[k].name, changes[i].name) == 0) {
                rc = tn_fail(err, TN_EINPUT, "table %s.%s appears twice in one transaction",
                             changes[i].ns, changes[i].name);
                goto out;
            }
        }
        if (is_create(changes[i].requirements, err)) {
            rc = tn_fail(err, TN_EINPUT, "assert-create is not supported in a transaction");
            goto out;
        }
    }
    for (int attempt = 1; attempt <= REST_ATTEMPTS; attempt++) {
        size_t nswap = 0;
        for (size_t i = 0; i < n; i++) {
            p[i].ns = changes[i].ns;
            p[i].name = changes[i].name;
            rc = pending_prepare(wh, &p[i], changes[i].requirements, changes[i].updates, err);
            if (rc && changes[i].ns && n > 1)
                tn_err_prefix(err, "table %s.%s: ", changes[i].ns, changes[i].name);
            if (!rc)
                rc = pending_write(wh, &p[i], err);
            if (rc)
                break;
            if (p[i].next)
                sw[nswap++] = (struct tn_catalog_swap){p[i].ns, p[i].name,
                                                       p[i].base->metadata_location, p[i].location};
        }
        if (!rc && nswap)
            rc = nswap == 1 ? tn_catalog_swap(wh->catalog, sw[0].ns, sw[0].table, sw[0].expected,
                                              sw[0].new_location, err)
                            : tn_catalog_swap_many(wh->catalog, sw, nswap, err);
        if (!rc)
            break;
        for (size_t i = 0; i < n; i++)
            pending_release(wh, &p[i]);
        /* a lost swap is retried; a failed requirement (also TN_ECONFLICT) is found again
           by the next attempt's checks and then returned */
        if (rc != TN_ECONFLICT || strstr(err->msg, "Requirement failed") ||
            strstr(err->msg, "please retry"))
            goto out;
        tn__backoff(attempt);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        p[i].written = 0; /* published: keep the files */
        if (p[i].next)
            tn__delete_old_metadata(wh, p[i].base, p[i].next);
    }
    if (!rc && out)
        *out = pending_result(&p[0]);
out:
    for (size_t i = 0; i < n; i++)
        pending_release(wh, &p[i]);
    free(p);
    free(sw);
    return rc;
}
