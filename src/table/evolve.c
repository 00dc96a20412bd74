/* evolve.c - metadata-only table changes: schema evolution (add, rename, drop, widen, make
 * optional, move -- top-level or inside structs), rollback, and tags and branches. No data file
 * is rewritten: Iceberg reads files by field id, so a new schema applies to old files as they
 * are. Field ids are never reused (new ones come after last-column-id). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- Finding fields in schema JSON ----*/

/* The fields array that holds the last part of dotted "path", and that part's index in it
 * (-1 when absent). "*leaf" gets the last part's name. */
static json_t *parent_fields(json_t *schema, const char *path, int *index, const char **leaf,
                             struct tn_err *err)
{
    json_t *fields = json_object_get(schema, "fields");
    const char *p = path;

    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        json_t *f, *found = NULL, *type;
        size_t i;

        *index = -1;
        json_array_foreach(fields, i, f)
        {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (name && strlen(name) == n && strncmp(name, p, n) == 0) {
                found = f;
                *index = (int)i;
                break;
            }
        }
        if (!dot) {
            *leaf = p;
            return fields;
        }
        if (!found) {
            tn_fail(err, TN_ENOTFOUND, "column '%.*s' does not exist", (int)(dot - path), path);
            return NULL;
        }
        type = json_object_get(found, "type");
        /* a list's elements and a map's values are named by the list's or map's own path (as
           Iceberg-Java's parent names do): "items.price" is a field of items' element struct */
        for (;;) {
            const char *kind = json_string_value(json_object_get(type, "type"));
            if (kind && strcmp(kind, "list") == 0)
                type = json_object_get(type, "element");
            else if (kind && strcmp(kind, "map") == 0)
                type = json_object_get(type, "value");
            else
                break;
        }
        if (!json_is_object(type) ||
            strcmp(json_string_value(json_object_get(type, "type")), "struct") != 0) {
            tn_fail(err, TN_EINPUT, "column '%.*s' is not a struct", (int)(dot - path), path);
            return NULL;
        }
        fields = json_object_get(type, "fields");
        p = dot + 1;
    }
}

/* A sibling with the same name, compared without case (DuckDB's identifiers ignore case). */
static int name_taken(json_t *fields, const char *name, int except)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if ((int)i != except && n && strcasecmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static void known_columns(json_t *fields, struct tn_buf *b)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        if (b->len > 400)
            break;
        tn_buf_addf(b, NULL, "%s%s", i ? ", " : "", json_string_value(json_object_get(f, "name")));
    }
}

/* Renumber every id inside type JSON "type" from *next. */
static void assign_ids(json_t *type, int *next)
{
    const char *kind = json_string_value(json_object_get(type, "type"));
    size_t i;
    json_t *f;

    if (!json_is_object(type) || !kind)
        return;
    if (strcmp(kind, "struct") == 0) {
        json_array_foreach(json_object_get(type, "fields"), i, f)
        {
            json_object_set_new(f, "id", json_integer((*next)++));
            assign_ids(json_object_get(f, "type"), next);
        }
    } else if (strcmp(kind, "list") == 0) {
        json_object_set_new(type, "element-id", json_integer((*next)++));
        assign_ids(json_object_get(type, "element"), next);
    } else if (strcmp(kind, "map") == 0) {
        json_object_set_new(type, "key-id", json_integer((*next)++));
        json_object_set_new(type, "value-id", json_integer((*next)++));
        assign_ids(json_object_get(type, "key"), next);
        assign_ids(json_object_get(type, "value"), next);
    }
}

static int contains_id(json_t *field, json_t *ids)
{
    size_t i;
    json_t *id;
    json_t *type = json_object_get(field, "type");

    json_array_foreach(ids, i, id)
    {
        if (json_integer_value(id) == json_integer_value(json_object_get(field, "id")))
            return 1;
    }
    if (json_is_object(type) && json_is_array(json_object_get(type, "fields"))) {
        json_t *f;
        json_array_foreach(json_object_get(type, "fields"), i, f)
        {
            if (contains_id(f, ids))
                return 1;
        }
    }
    return 0;
}

/* Whether Iceberg allows changing primitive "from" to "to" (ICEBERG.md 2.3). */
int tn__promotion_allowed(const char *from, const char *to)
{
    int p1, s1, p2, s2;

    if (strcmp(from, to) == 0)
        return 1;
    if (strcmp(from, "int") == 0 && strcmp(to, "long") == 0)
        return 1;
    if (strcmp(from, "float") == 0 && strcmp(to, "double") == 0)
        return 1;
    if (sscanf(from, "decimal(%d,%d)", &p1, &s1) == 2 &&
        sscanf(to, "decimal(%d,%d)", &p2, &s2) == 2)
        return s1 == s2 && p2 >= p1;
    return 0;
}

/* The canonical spelling of a primitive type JSON ("decimal(9, 2)" -> "decimal(9,2)"). */
static int canonical_type(json_t *type, char *out, size_t cap, struct tn_err *err)
{
    struct tn_type *t = NULL;
    int rc = tn_type_parse(type, &t, err);

    if (rc)
        return rc;
    if (!tn_type_is_primitive(t)) {
        tn_type_free(t);
        return tn_fail(err, TN_EINPUT, "only primitive columns can change type");
    }
    tn_type_name(t, out, cap);
    tn_type_free(t);
    return 0;
}

/*---- Applying changes ----*/

struct evolve_ctx {
    const struct tn_schema_change *changes;
    size_t n;
};

static int apply_change(int format_version, json_t *schema, const struct tn_schema_change *c,
                        int *next_id, struct tn_err *err)
{
    const char *leaf = NULL;
    int index;
    json_t *fields = parent_fields(schema, c->column, &index, &leaf, err);
    json_t *field;

    if (!fields)
        return err->code;
    if (c->kind == TN_CHANGE_ADD) {
        json_t *type;
        char name[TN_NAME_MAX + 1];
        int id;
        if (index >= 0 || name_taken(fields, leaf, -1))
            return tn_fail(err, TN_EEXISTS, "column '%s' already exists", c->column);
        if (!*leaf || strlen(leaf) > TN_NAME_MAX)
            return tn_fail(err, TN_EINPUT, "column name '%s' is empty or too long", c->column);
        snprintf(name, sizeof(name), "%s", leaf);
        /* Iceberg-Java rejects initial-default and write-default below format version 3 */
        if (c->default_value && !json_is_null(c->default_value) && format_version < 3)
            return tn_fail(err, TN_EINPUT,
                           "column '%s': a DEFAULT needs Iceberg format version 3 and this table "
                           "is version %lld; add the column without a default (it reads as NULL "
                           "for the rows that exist)",
                           c->column, (long long)format_version);
        if (c->required && !c->default_value)
            return tn_fail(err, TN_EINPUT,
                           "a required column '%s' needs a default value for the rows that "
                           "exist; add it as optional or give a default",
                           c->column);
        /* the field's own id comes before its children's, as engines number them */
        id = (*next_id)++;
        type = json_deep_copy(c->type);
        assign_ids(type, next_id);
        field = json_pack("{s:i, s:s, s:b, s:o}", "id", id, "name", name, "required", c->required,
                          "type", type);
        if (c->doc)
            json_object_set_new(field, "doc", json_string(c->doc));
        if (c->default_value) {
            json_object_set(field, "initial-default", c->default_value);
            json_object_set(field, "write-default", c->default_value);
        }
        json_array_append_new(fields, field);
        return 0;
    }
    if (index < 0) {
        struct tn_buf known = TN_BUF_INIT(TN_CAP_MESSAGE_LIST);
        known_columns(fields, &known);
        tn_fail(err, TN_ENOTFOUND, "column '%s' does not exist; the columns are: %s", c->column,
                known.buf ? known.buf : "none");
        tn_buf_release(&known);
        return err->code;
    }
    field = json_array_get(fields, (size_t)index);
    switch (c->kind) {
    case TN_CHANGE_RENAME:
        if (!c->new_name || !*c->new_name || strchr(c->new_name, '.'))
            return tn_fail(err, TN_EINPUT, "the new name of '%s' must be a plain column name",
                           c->column);
        if (name_taken(fields, c->new_name, index))
            return tn_fail(err, TN_EEXISTS, "cannot rename '%s' to '%s': that column exists",
                           c->column, c->new_name);
        json_object_set_new(field, "name", json_string(c->new_name));
        return 0;
    case TN_CHANGE_DROP:
        if (contains_id(field, json_object_get(schema, "identifier-field-ids")))
            return tn_fail(err, TN_EINPUT,
                           "cannot drop '%s': it is an identifier (key) field of the table",
                           c->column);
        /* the last column may go when a later change of the same list adds one (a column
           replaced by a new field): tn__evolve_updates checks the result */
        json_array_remove(fields, (size_t)index);
        return 0;
    case TN_CHANGE_TYPE: {
        char from[64], to[64];
        int rc = canonical_type(json_object_get(field, "type"), from, sizeof(from), err);
        if (!rc)
            rc = canonical_type(c->type, to, sizeof(to), err);
        if (rc)
            return rc;
        if (!tn__promotion_allowed(from, to))
            return tn_fail(err, TN_EINPUT,
                           "cannot change '%s' from %s to %s: Iceberg allows only int to long, "
                           "float to double and a larger decimal precision",
                           c->column, from, to);
        json_object_set_new(field, "type", json_string(to));
        return 0;
    }
    case TN_CHANGE_OPTIONAL:
        json_object_set_new(field, "required", json_false());
        return 0;
    case TN_CHANGE_MOVE: {
        json_t *moved = json_incref(field);
        json_array_remove(fields, (size_t)index);
        if (c->first) {
            json_array_insert_new(fields, 0, moved);
            return 0;
        }
        for (size_t i = 0; i < json_array_size(fields); i++) {
            const char *n = json_string_value(json_object_get(json_array_get(fields, i), "name"));
            if (c->after && n && strcmp(n, c->after) == 0) {
                json_array_insert_new(fields, i + 1, moved);
                return 0;
            }
        }
        json_decref(moved);
        return tn_fail(err, TN_ENOTFOUND, "cannot move '%s' after '%s': no such column", c->column,
                       c->after ? c->after : "");
    }
    default:
        break;
    }
    return tn_fail(err, TN_EINPUT, "unknown schema change");
}

int tn__evolve_updates(const struct tn_table *t, const struct tn_schema_change *changes, size_t n,
                       json_t *updates, struct tn_err *err)
{
    json_t *current = tn_metadata_current_schema(t->meta)->json;
    json_t *schema = json_deep_copy(current);
    int next_id = t->meta->last_column_id + 1;
    int rc = 0;

    for (size_t k = 0; !rc && k < n; k++) {
        rc = apply_change(t->meta->format_version, schema, &changes[k], &next_id, err);
        if (rc)
            tn_err_prefix(err, "table %s.%s: ", t->ns, t->name);
    }
    for (size_t k = n; !rc && k > 0 && json_array_size(json_object_get(schema, "fields")) == 0; k--)
        if (changes[k - 1].kind == TN_CHANGE_DROP)
            rc = tn_fail(err, TN_EINPUT,
                         "table %s.%s: cannot drop '%s': it is the table's last column", t->ns,
                         t->name, changes[k - 1].column);
    if (rc) {
        json_decref(schema);
        return rc;
    }
    json_object_del(schema, "schema-id"); /* add-schema gives the next one */
    json_array_append_new(updates, json_pack("{s:s, s:o, s:i}", "action", "add-schema", "schema",
                                             schema, "last-column-id", next_id - 1));
    json_array_append_new(updates,
                          json_pack("{s:s, s:i}", "action", "set-current-schema", "schema-id", -1));
    return 0;
}

static int evolve_build(const struct tn_table *t, void *ctx, json_t *updates, struct tn_err *err)
{
    const struct evolve_ctx *ec = ctx;
    return tn__evolve_updates(t, ec->changes, ec->n, updates, err);
}

int tn_table_evolve(struct tn_warehouse *wh, const char *ns, const char *name,
                    const struct tn_schema_change *changes, size_t n, struct tn_err *err)
{
    struct evolve_ctx ctx = {changes, n};

    if (!n)
        return tn_fail(err, TN_EINPUT, "no schema change given");
    return tn__commit_metadata(wh, ns, name, evolve_build, &ctx, err);
}

/*---- Rollback, tags and branches ----*/

struct ref_ctx {
    const char *name;
    int is_tag;
    int64_t snapshot_id;
    int64_t max_ref_age_ms; /* -1: none */
    int drop;
    int replace; /* an existing tag may move */
};

static json_t *set_ref_update(const char *name, int64_t id, int is_tag)
{
    return json_pack("{s:s, s:s, s:I, s:s}", "action", "set-snapshot-ref", "ref-name", name,
                     "snapshot-id", (json_int_t)id, "type", is_tag ? "tag" : "branch");
}

static int ref_build(const struct tn_table *t, void *vctx, json_t *updates, struct tn_err *err)
{
    const struct ref_ctx *c = vctx;
    const struct tn_ref *old = tn_metadata_ref(t->meta, c->name);
    json_t *u;

    if (c->drop) {
        if (strcmp(c->name, "main") == 0)
            return tn_fail(err, TN_EINPUT, "the main branch cannot be dropped");
        if (!old)
            return tn_fail(err, TN_ENOTFOUND, "table %s.%s has no tag or branch '%s'", t->ns,
                           t->name, c->name);
        json_array_append_new(
            updates, json_pack("{s:s, s:s}", "action", "remove-snapshot-ref", "ref-name", c->name));
        return 0;
    }
    if (!tn_metadata_snapshot(t->meta, c->snapshot_id))
        return tn_table_no_snapshot(t, c->snapshot_id, NULL, err);
    if (strcmp(c->name, "main") == 0 && c->is_tag)
        return tn_fail(err, TN_EINPUT, "main is the table's branch; it cannot be a tag");
    if (old && old->is_tag != c->is_tag)
        return tn_fail(err, TN_EEXISTS, "'%s' already exists as a %s", c->name,
                       old->is_tag ? "tag" : "branch");
    if (old && c->is_tag && !c->replace)
        return tn_fail(err, TN_EEXISTS,
                       "tag '%s' of %s.%s already exists (at snapshot %lld); replace it with "
                       "replace=true (--force) or choose another name",
                       c->name, t->ns, t->name, (long long)old->snapshot_id);
    u = set_ref_update(c->name, c->snapshot_id, c->is_tag);
    if (c->max_ref_age_ms >= 0 && strcmp(c->name, "main") != 0)
        json_object_set_new(u, "max-ref-age-ms", json_integer(c->max_ref_age_ms));
    json_array_append_new(updates, u);
    return 0;
}

int tn_table_set_ref(struct tn_warehouse *wh, const char *ns, const char *name, const char *ref,
                     int is_tag, int64_t snapshot_id, int64_t max_ref_age_ms, int replace,
                     struct tn_err *err)
{
    char checked[TN_NAME_MAX + 1];
    struct ref_ctx ctx = {checked, is_tag, snapshot_id, max_ref_age_ms, 0, replace};

    if (tn_name_check("tag or branch", ref, checked, err))
        return err->code;
    return tn__commit_metadata(wh, ns, name, ref_build, &ctx, err);
}

int tn_table_drop_ref(struct tn_warehouse *wh, const char *ns, const char *name, const char *ref,
                      struct tn_err *err)
{
    struct ref_ctx ctx = {ref, 0, -1, -1, 1, 0};
    return tn__commit_metadata(wh, ns, name, ref_build, &ctx, err);
}

int tn_table_rollback(struct tn_warehouse *wh, const char *ns, const char *name,
                      int64_t snapshot_id, int64_t as_of_ms, int64_t *out, struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc = 0;

    if (snapshot_id == -1) {
        rc = tn_table_load(wh, ns, name, &t, err);
        if (!rc)
            rc = tn_table_snapshot_at(t, as_of_ms, &snapshot_id, err);
        tn_table_free(t);
        if (rc)
            return rc;
    }
    rc = tn_table_set_ref(wh, ns, name, "main", 0, snapshot_id, -1, 0, err);
    if (!rc && out)
        *out = snapshot_id;
    return rc;
}

/* Whether "ancestor" is "id" or one of its parents. */
static int is_ancestor_of(const struct tn_metadata *m, int64_t ancestor, int64_t id)
{
    for (size_t guard = 0; id != -1 && guard <= m->nsnapshots; guard++) {
        const struct tn_snapshot *s = tn_metadata_snapshot(m, id);
        if (id == ancestor)
            return 1;
        id = s ? s->parent_id : -1;
    }
    return 0;
}

static int fast_forward_build(const struct tn_table *t, void *ctx, json_t *updates,
                              struct tn_err *err)
{
    const char *branch = ctx;
    const struct tn_ref *ref = tn_metadata_ref(t->meta, branch);
    int64_t main_head = t->meta->current_snapshot_id;

    if (!ref || ref->is_tag)
        return tn_fail(err, TN_ENOTFOUND, "table %s.%s has no branch '%s'", t->ns, t->name, branch);
    if (main_head != -1 && !is_ancestor_of(t->meta, main_head, ref->snapshot_id))
        return tn_fail(err, TN_ECONFLICT,
                       "cannot fast-forward main to '%s': main has commits the branch does not; "
                       "re-create the branch from main and apply the changes again",
                       branch);
    if (main_head != ref->snapshot_id)
        json_array_append_new(updates, set_ref_update("main", ref->snapshot_id, 0));
    return 0;
}

int tn_table_fast_forward(struct tn_warehouse *wh, const char *ns, const char *name,
                          const char *branch, struct tn_err *err)
{
    return tn__commit_metadata(wh, ns, name, fast_forward_build, (void *)(uintptr_t)branch, err);
}

struct property_ctx {
    const char *key, *value;
};

static int property_build(const struct tn_table *t, void *vctx, json_t *updates, struct tn_err *err)
{
    const struct property_ctx *c = vctx;

    (void)t;
    (void)err;
    tn_updates_set_property(updates, c->key, c->value);
    return 0;
}

int tn__set_property(struct tn_warehouse *wh, const char *ns, const char *name, const char *key,
                     const char *value, struct tn_err *err)
{
    struct property_ctx ctx = {key, value};
    return tn__commit_metadata(wh, ns, name, property_build, &ctx, err);
}
