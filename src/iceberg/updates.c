/* updates.c - requirements and updates of the Iceberg REST vocabulary applied to metadata JSON
 * (see updates.h). Updates change only top-level containers of the root (arrays and objects
 * such as "schemas", "snapshots", "refs", "properties"), each replaced by a shallow copy the first
 * time an application changes it, so a version derived from parsed (shared, immutable) metadata
 * costs a copy of the pointers it changes, not of the table's history. */
#include "iceberg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct apply_state {
    int last_schema; /* -1: none added */
    int last_spec;
    int last_order;
    json_t *added_snapshots; /* snapshot-id (text) -> timestamp-ms */
    json_t *owned;           /* top-level keys already replaced by this application's copies */
};

/* root[key] as a container this application may change: on first use a shallow copy of the
 * shared one (or a new empty one when absent or of another type, unless "only_existing"). */
static json_t *own(json_t *root, const char *key, int array, int only_existing,
                   struct apply_state *st)
{
    json_t *old = json_object_get(root, key), *mine;
    int right_type = array ? json_is_array(old) : json_is_object(old);

    if (json_object_get(st->owned, key) && right_type)
        return old;
    if (!right_type && only_existing)
        return NULL;
    mine = right_type ? json_copy(old) : array ? json_array() : json_object();
    json_object_set_new(root, key, mine);
    json_object_set_new(st->owned, key, json_true());
    return mine;
}

static json_t *array_of(json_t *root, const char *key, struct apply_state *st)
{
    return own(root, key, 1, 0, st);
}

static json_t *object_of(json_t *root, const char *key, struct apply_state *st)
{
    return own(root, key, 0, 0, st);
}

static int64_t int_of(const json_t *j, const char *key, int64_t dflt)
{
    int64_t v;

    if (tn_json_id(json_object_get(j, key), &v))
        return dflt;
    return v;
}

/* The largest integer "key" among the objects of "arr" (or "dflt" when none). */
static int64_t max_id(const json_t *arr, const char *key, int64_t dflt)
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

static const json_t *find_by_id(const json_t *arr, const char *key, int64_t id)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
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

static int need_int(const json_t *u, const char *key, int64_t *out, const char *action,
                    struct tn_err *err)
{
    if (tn_json_id(json_object_get(u, key), out))
        return tn_fail(err, TN_EINPUT, "%s needs an integer \"%s\"", action, key);
    return 0;
}

/*---- Requirements ----*/

/* The snapshot "ref" points at in "root" (-1 when the ref does not exist). */
static int64_t ref_target(const json_t *root, const char *ref)
{
    json_t *r = json_object_get(json_object_get(root, "refs"), ref);

    if (r)
        return int_of(r, "snapshot-id", -1);
    if (strcmp(ref, "main") == 0) /* v1 metadata without refs */
        return int_of(root, "current-snapshot-id", -1);
    return -1;
}

static int check_requirement(const json_t *root, const json_t *req, struct tn_err *err)
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

int tn_requirements_check(const json_t *root, const json_t *reqs, struct tn_err *err)
{
    if (reqs && !json_is_array(reqs))
        return tn_fail(err, TN_EINPUT, "\"requirements\" must be an array");
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        int rc = check_requirement(root, json_array_get(reqs, i), err);
        if (rc)
            return rc;
    }
    return 0;
}

int tn_requirements_create(const json_t *reqs, struct tn_err *err)
{
    int found = 0;

    for (size_t i = 0; i < json_array_size(reqs); i++) {
        const char *type = json_string_value(json_object_get(json_array_get(reqs, i), "type"));
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
    json_t *schemas = array_of(root, "schemas", st);
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
    {
        /* the ids it assigned, also those of fields it assigned and then dropped */
        int64_t last = tn_schema_max_id(parsed);
        if (int_of(u, "last-column-id", -1) > last)
            last = int_of(u, "last-column-id", -1);
        if (last > int_of(root, "last-column-id", 0))
            json_object_set_new(root, "last-column-id", json_integer((json_int_t)last));
    }
    tn_schema_free(parsed);
    json_array_append_new(schemas, schema);
    st->last_schema = id;
    return 0;
}

static int add_spec(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *spec = json_deep_copy(json_object_get(u, "spec"));
    json_t *specs = array_of(root, "partition-specs", st);
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
    json_t *orders = array_of(root, "sort-orders", st);
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
    json_t *snaps = array_of(root, "snapshots", st);
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
    if (int_of(root, "format-version", 1) >= 3) {
        /* row lineage: the snapshot takes the ids from next-row-id on (spec: Row Lineage) */
        int64_t first, added, next = int_of(root, "next-row-id", 0);
        if (tn_json_id(json_object_get(snap, "first-row-id"), &first) ||
            tn_json_id(json_object_get(snap, "added-rows"), &added) || added < 0)
            return tn_fail(err, TN_EINPUT,
                           "add-snapshot: a format-version 3 snapshot needs \"first-row-id\" and "
                           "\"added-rows\" (row lineage)");
        if (first < next)
            return tn_fail(err, TN_ECONFLICT,
                           "Cannot add a snapshot whose first-row-id %lld is behind the table's "
                           "next-row-id %lld; please retry",
                           (long long)first, (long long)next);
        json_object_set_new(root, "next-row-id", json_integer(first + added));
    }
    json_array_append(snaps, snap);
    snprintf(key, sizeof(key), "%lld", (long long)id);
    json_object_set_new(st->added_snapshots, key, json_integer(ts));
    return 0;
}

/* upgrade-format-version: up only, to 2 or 3; a table becoming v3 starts its row ids at 0 */
static int upgrade_format_version(json_t *root, int64_t v, struct tn_err *err)
{
    int64_t cur = int_of(root, "format-version", 1);

    if (v < cur)
        return tn_fail(err, TN_EINPUT,
                       "cannot downgrade format-version from %lld to %lld; a table's format "
                       "version only goes up",
                       (long long)cur, (long long)v);
    if (v > 3 || v < 1)
        return tn_fail(err, TN_EINPUT,
                       "format-version %lld is not supported: tarn writes format versions 2 "
                       "and 3",
                       (long long)v);
    if (v >= 3 && !json_object_get(root, "next-row-id"))
        json_object_set_new(root, "next-row-id", json_integer(0));
    json_object_set_new(root, "format-version", json_integer(v));
    return 0;
}

static void snapshot_log_append(json_t *root, int64_t id, int64_t ts, struct apply_state *st)
{
    json_array_append_new(
        array_of(root, "snapshot-log", st),
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
    json_object_set_new(object_of(root, "refs", st), name, ref);
    if (strcmp(name, "main") == 0 && int_of(root, "current-snapshot-id", -1) != id) {
        json_t *ts;
        snprintf(key, sizeof(key), "%lld", (long long)id);
        ts = json_object_get(st->added_snapshots, key);
        json_object_set_new(root, "current-snapshot-id", json_integer(id));
        snapshot_log_append(root, id, ts ? json_integer_value(ts) : tn_now_ms(), st);
    }
    return 0;
}

static void remove_ref(json_t *root, const char *name, struct apply_state *st)
{
    int is_main = strcmp(name, "main") == 0; /* before the delete: "name" may be the key it frees */

    json_object_del(object_of(root, "refs", st), name);
    if (is_main)
        json_object_del(root, "current-snapshot-id");
}

/* Remove the elements of "arr" whose snapshot-id is a key of "gone". */
static void remove_gone(json_t *arr, json_t *gone)
{
    json_t *kept = json_array();
    char key[32];

    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        snprintf(key, sizeof(key), "%lld", (long long)int_of(e, "snapshot-id", -1));
        if (!json_object_get(gone, key))
            json_array_append(kept, e);
    }
    if (arr && json_array_size(kept) != json_array_size(arr)) {
        json_array_clear(arr);
        json_array_extend(arr, kept);
    }
    json_decref(kept);
}

/* remove-snapshots: the snapshots, their statistics and the refs that point at them go; the
 * snapshot log keeps only what follows its last entry for a removed snapshot (Iceberg-Java's
 * rule: the log stays a history of snapshots that exist). */
static int remove_snapshots(json_t *root, json_t *u, struct apply_state *st, struct tn_err *err)
{
    json_t *ids = json_object_get(u, "snapshot-ids");
    json_t *refs = object_of(root, "refs", st);
    json_t *gone = json_object(), *log, *r, *tmp, *v;
    const char *name;
    size_t i;
    char key[32];

    if (!json_is_array(ids)) {
        json_decref(gone);
        return tn_fail(err, TN_EINPUT, "remove-snapshots needs \"snapshot-ids\"");
    }
    json_array_foreach(ids, i, v)
    {
        int64_t id;
        if (tn_json_id(v, &id)) {
            json_decref(gone);
            return tn_fail(err, TN_EINPUT, "remove-snapshots: ids must be integers");
        }
        snprintf(key, sizeof(key), "%lld", (long long)id);
        json_object_set_new(gone, key, json_true());
    }
    remove_gone(array_of(root, "snapshots", st), gone);
    remove_gone(own(root, "statistics", 1, 1, st), gone);
    remove_gone(own(root, "partition-statistics", 1, 1, st), gone);
    log = own(root, "snapshot-log", 1, 1, st);
    if (log) {
        /* only what follows the log's last entry for a removed snapshot stays */
        json_t *kept = json_array();
        size_t cut = 0;
        json_array_foreach(log, i, v)
        {
            snprintf(key, sizeof(key), "%lld", (long long)int_of(v, "snapshot-id", -1));
            if (json_object_get(gone, key))
                cut = i + 1;
        }
        for (i = cut; i < json_array_size(log); i++)
            json_array_append(kept, json_array_get(log, i));
        if (cut) {
            json_array_clear(log);
            json_array_extend(log, kept);
        }
        json_decref(kept);
    }
    json_object_foreach_safe(refs, tmp, name, r)
    {
        snprintf(key, sizeof(key), "%lld", (long long)int_of(r, "snapshot-id", -1));
        if (json_object_get(gone, key))
            remove_ref(root, name, st);
    }
    json_decref(gone);
    return 0;
}

static int set_statistics(json_t *root, json_t *u, const char *key, struct apply_state *st,
                          struct tn_err *err)
{
    const char *field = strcmp(key, "statistics") == 0 ? "statistics" : "partition-statistics";
    json_t *stats = json_object_get(u, field);
    int64_t id;

    if (!json_is_object(stats) || tn_json_id(json_object_get(stats, "snapshot-id"), &id))
        return tn_fail(err, TN_EINPUT, "set-%s needs \"%s\" with a \"snapshot-id\"", key, field);
    remove_by_id(array_of(root, key, st), "snapshot-id", id);
    json_array_append(array_of(root, key, st), stats);
    return 0;
}

static int remove_ids(json_t *root, json_t *u, const char *arg, const char *arr, const char *id_key,
                      const char *current_key, struct apply_state *st, struct tn_err *err)
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
        remove_by_id(own(root, arr, 1, 1, st), id_key, id);
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
        return upgrade_format_version(root, v, err);
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
        return remove_snapshots(root, u, st, err);
    } else if (strcmp(action, "remove-snapshot-ref") == 0) {
        const char *name = json_string_value(json_object_get(u, "ref-name"));
        if (!name)
            return tn_fail(err, TN_EINPUT, "remove-snapshot-ref needs \"ref-name\"");
        remove_ref(root, name, st);
    } else if (strcmp(action, "set-location") == 0) {
        json_t *loc = json_object_get(u, "location");
        if (!json_is_string(loc))
            return tn_fail(err, TN_EINPUT, "set-location needs \"location\"");
        json_object_set(root, "location", loc);
    } else if (strcmp(action, "set-properties") == 0) {
        json_t *props = object_of(root, "properties", st), *val;
        const char *k;
        if (!json_is_object(json_object_get(u, "updates")))
            return tn_fail(err, TN_EINPUT, "set-properties needs an \"updates\" object");
        json_object_foreach(json_object_get(u, "updates"), k, val)
        {
            if (!json_is_string(val))
                return tn_fail(err, TN_EINPUT, "property \"%s\" must be a string", k);
            if (strcmp(k, TN_FORMAT_VERSION_PROP) == 0) {
                /* a reserved property: setting it upgrades the table, as Spark's ALTER does */
                int64_t fv;
                if (tn_parse_i64(json_string_value(val), &fv))
                    return tn_fail(err, TN_EINPUT,
                                   "property format-version must be 2 or 3, not '%s'",
                                   json_string_value(val));
                if (upgrade_format_version(root, fv, err))
                    return err->code;
                continue;
            }
            json_object_set(props, k, val);
        }
    } else if (strcmp(action, "remove-properties") == 0) {
        json_t *props = object_of(root, "properties", st), *val;
        size_t i;
        if (!json_is_array(json_object_get(u, "removals")))
            return tn_fail(err, TN_EINPUT, "remove-properties needs a \"removals\" list");
        json_array_foreach(json_object_get(u, "removals"), i, val)
        {
            if (json_is_string(val))
                json_object_del(props, json_string_value(val));
        }
    } else if (strcmp(action, "set-statistics") == 0) {
        return set_statistics(root, u, "statistics", st, err);
    } else if (strcmp(action, "set-partition-statistics") == 0) {
        return set_statistics(root, u, "partition-statistics", st, err);
    } else if (strcmp(action, "remove-statistics") == 0 ||
               strcmp(action, "remove-partition-statistics") == 0) {
        if (need_int(u, "snapshot-id", &v, action, err))
            return err->code;
        remove_by_id(own(root, action[7] == 's' ? "statistics" : "partition-statistics", 1, 1, st),
                     "snapshot-id", v);
    } else if (strcmp(action, "remove-partition-specs") == 0) {
        return remove_ids(root, u, "spec-ids", "partition-specs", "spec-id", "default-spec-id", st,
                          err);
    } else if (strcmp(action, "remove-schemas") == 0) {
        return remove_ids(root, u, "schema-ids", "schemas", "schema-id", "current-schema-id", st,
                          err);
    } else {
        return tn_fail(err, TN_EINPUT, "unknown or unsupported update action \"%s\"", action);
    }
    return 0;
}

/* Apply "updates" in order; *max_ts gets the latest timestamp of a snapshot they add. */
static int apply_all(json_t *root, const json_t *updates, int64_t *max_ts, struct tn_err *err)
{
    struct apply_state st = {-1, -1, -1, json_object(), json_object()};
    int rc = 0;

    if (updates && !json_is_array(updates))
        rc = tn_fail(err, TN_EINPUT, "\"updates\" must be an array");
    for (size_t i = 0; !rc && i < json_array_size(updates); i++) {
        rc = apply_update(root, json_array_get(updates, i), &st, err);
        if (rc)
            tn_err_prefix(err, "update %zu: ", i + 1);
    }
    if (max_ts) {
        const char *key;
        json_t *ts;
        json_object_foreach(st.added_snapshots, key, ts)
        {
            if (json_integer_value(ts) > *max_ts)
                *max_ts = json_integer_value(ts);
        }
    }
    json_decref(st.added_snapshots);
    json_decref(st.owned);
    return rc;
}

int tn_updates_apply(json_t *root, const json_t *updates, struct tn_err *err)
{
    return apply_all(root, updates, NULL, err);
}

int tn_metadata_update(const struct tn_metadata *base, const char *base_location,
                       const json_t *updates, struct tn_metadata **out, struct tn_err *err)
{
    json_t *root = json_copy(base->root); /* shallow: base may be shared */
    int64_t updated = tn_now_ms();
    int rc = apply_all(root, updates, &updated, err);

    if (rc) {
        json_decref(root);
        return rc;
    }
    if (base_location) {
        if (updated <= base->last_updated_ms)
            updated = base->last_updated_ms + 1;
        json_object_set_new(root, "last-updated-ms", json_integer((json_int_t)updated));
        tn_metadata_log_append(root, base_location, base->last_updated_ms);
    }
    rc = tn_metadata_from_json(root, out, err);
    if (rc)
        return rc;
    (*out)->dump_base = tn_metadata_share(base);
    return 0;
}

void tn_updates_add_snapshot(json_t *updates, const struct tn_snapshot_new *s,
                             const json_t *old_ref)
{
    static const char *const retention[] = {"min-snapshots-to-keep", "max-snapshot-age-ms",
                                            "max-ref-age-ms"};
    json_t *snap = json_object(), *ref;

    json_object_set_new(snap, "snapshot-id", json_integer((json_int_t)s->id));
    if (s->parent_id != -1)
        json_object_set_new(snap, "parent-snapshot-id", json_integer((json_int_t)s->parent_id));
    json_object_set_new(snap, "sequence-number", json_integer((json_int_t)s->sequence_number));
    json_object_set_new(snap, "timestamp-ms", json_integer((json_int_t)s->timestamp_ms));
    json_object_set_new(snap, "manifest-list", json_string(s->manifest_list));
    json_object_set(snap, "summary", s->summary);
    json_object_set_new(snap, "schema-id", json_integer(s->schema_id));
    if (s->has_row_lineage) {
        json_object_set_new(snap, "first-row-id", json_integer((json_int_t)s->first_row_id));
        json_object_set_new(snap, "added-rows", json_integer((json_int_t)s->added_rows));
    }
    json_array_append_new(updates,
                          json_pack("{s:s, s:o}", "action", "add-snapshot", "snapshot", snap));
    ref = json_pack("{s:s, s:s, s:I, s:s}", "action", "set-snapshot-ref", "ref-name",
                    s->branch ? s->branch : "main", "snapshot-id", (json_int_t)s->id, "type",
                    "branch");
    for (size_t i = 0; old_ref && i < sizeof(retention) / sizeof(retention[0]); i++) {
        json_t *v = json_object_get(old_ref, retention[i]);
        if (json_is_integer(v))
            json_object_set(ref, retention[i], v);
    }
    json_array_append_new(updates, ref);
}

void tn_updates_set_property(json_t *updates, const char *key, const char *value)
{
    if (value)
        json_array_append_new(updates, json_pack("{s:s, s:{s:s}}", "action", "set-properties",
                                                 "updates", key, value));
    else
        json_array_append_new(
            updates, json_pack("{s:s, s:[s]}", "action", "remove-properties", "removals", key));
}
