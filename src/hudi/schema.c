/* schema.c - a Hudi table's Avro schema as an Iceberg schema (field ids assigned in order) and
 * the name mapping that reads its data files, which carry no field ids. */
#include "hudi/hudi_int.h"

#include <string.h>

static const char *const meta_columns[] = {"_hoodie_commit_time", "_hoodie_commit_seqno",
                                           "_hoodie_record_key", "_hoodie_partition_path",
                                           "_hoodie_file_name"};

struct conv {
    int next_id;
    struct tn_err *err;
};

static int convert(struct conv *c, json_t *avro, json_t **type, json_t **mapping, int *optional,
                   int depth);

/* Fields of an Avro record as Iceberg struct fields (and their mapping entries). */
static int convert_fields(struct conv *c, json_t *fields, json_t *out, json_t *map, int depth)
{
    size_t i;
    json_t *f;
    int *ids = tn_calloc(json_array_size(fields) + 1, sizeof(int));
    int rc = 0;

    /* ids of one struct's fields first, then of what they nest (Iceberg's order) */
    json_array_foreach(fields, i, f) ids[i] = c->next_id++;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *type = NULL, *sub = NULL;
        int optional = 0;
        if (!name) {
            rc = tn_fail(c->err, TN_EUNPROCESSABLE, "hudi schema: a record field has no name");
            break;
        }
        rc = convert(c, json_object_get(f, "type"), &type, &sub, &optional, depth + 1);
        if (rc)
            break;
        json_array_append_new(out, json_pack("{s:i, s:s, s:b, s:o}", "id", ids[i], "name", name,
                                             "required", 0, "type", type));
        {
            json_t *m = json_pack("{s:i, s:[s]}", "field-id", ids[i], "names", name);
            if (sub)
                json_object_set_new(m, "fields", sub);
            json_array_append_new(map, m);
        }
    }
    free(ids);
    return rc;
}

static int convert(struct conv *c, json_t *avro, json_t **type, json_t **mapping, int *optional,
                   int depth)
{
    const char *t, *lt;

    *mapping = NULL;
    if (depth > 32)
        return tn_fail(c->err, TN_EUNPROCESSABLE, "hudi schema: nested too deeply");
    if (json_is_array(avro)) { /* a union: [null, X] is an optional X */
        json_t *only = NULL, *b;
        size_t i;
        json_array_foreach(avro, i, b)
        {
            if (json_is_string(b) && strcmp(json_string_value(b), "null") == 0) {
                *optional = 1;
                continue;
            }
            if (only)
                return tn_fail(c->err, TN_EUNPROCESSABLE,
                               "hudi schema: a union of several non-null types has no Iceberg "
                               "type");
            only = b;
        }
        if (!only)
            return tn_fail(c->err, TN_EUNPROCESSABLE, "hudi schema: a field is always null");
        return convert(c, only, type, mapping, optional, depth + 1);
    }
    if (json_is_string(avro)) {
        t = json_string_value(avro);
        lt = NULL;
    } else if (json_is_object(avro) && json_is_string(json_object_get(avro, "type"))) {
        t = json_string_value(json_object_get(avro, "type"));
        lt = json_string_value(json_object_get(avro, "logicalType"));
    } else if (json_is_object(avro)) {
        return convert(c, json_object_get(avro, "type"), type, mapping, optional, depth + 1);
    } else {
        return tn_fail(c->err, TN_EUNPROCESSABLE,
                       "hudi schema: a type is neither a name nor an "
                       "object");
    }
    if (lt && strcmp(lt, "decimal") == 0) {
        char buf[48];
        snprintf(buf, sizeof(buf), "decimal(%d,%d)",
                 (int)json_integer_value(json_object_get(avro, "precision")),
                 (int)json_integer_value(json_object_get(avro, "scale")));
        *type = json_string(buf);
        return 0;
    }
    if (lt && strcmp(lt, "date") == 0 && strcmp(t, "int") == 0)
        return *type = json_string("date"), 0;
    if (lt && strcmp(t, "long") == 0 &&
        (strcmp(lt, "timestamp-micros") == 0 || strcmp(lt, "timestamp-millis") == 0))
        return *type = json_string("timestamptz"), 0;
    if (lt && strcmp(t, "long") == 0 &&
        (strcmp(lt, "local-timestamp-micros") == 0 || strcmp(lt, "local-timestamp-millis") == 0))
        return *type = json_string("timestamp"), 0;
    if (strcmp(t, "boolean") == 0)
        return *type = json_string("boolean"), 0;
    if (strcmp(t, "int") == 0)
        return *type = json_string("int"), 0;
    if (strcmp(t, "long") == 0)
        return *type = json_string("long"), 0;
    if (strcmp(t, "float") == 0)
        return *type = json_string("float"), 0;
    if (strcmp(t, "double") == 0)
        return *type = json_string("double"), 0;
    if (strcmp(t, "string") == 0 || strcmp(t, "enum") == 0)
        return *type = json_string("string"), 0;
    if (strcmp(t, "bytes") == 0 || strcmp(t, "fixed") == 0)
        return *type = json_string("binary"), 0;
    if (strcmp(t, "record") == 0) {
        json_t *fields = json_array(), *map = json_array();
        int rc = convert_fields(c, json_object_get(avro, "fields"), fields, map, depth);
        if (rc) {
            json_decref(fields);
            json_decref(map);
            return rc;
        }
        *type = json_pack("{s:s, s:o}", "type", "struct", "fields", fields);
        *mapping = map;
        return 0;
    }
    if (strcmp(t, "array") == 0) {
        int id = c->next_id++, opt = 0;
        json_t *el = NULL, *sub = NULL;
        int rc = convert(c, json_object_get(avro, "items"), &el, &sub, &opt, depth + 1);
        if (rc)
            return rc;
        *type = json_pack("{s:s, s:i, s:o, s:b}", "type", "list", "element-id", id, "element", el,
                          "element-required", !opt);
        *mapping = json_pack("[{s:i, s:[s,s]}]", "field-id", id, "names", "element", "array");
        if (sub)
            json_object_set_new(json_array_get(*mapping, 0), "fields", sub);
        return 0;
    }
    if (strcmp(t, "map") == 0) {
        int kid = c->next_id++, vid = c->next_id++, opt = 0;
        json_t *v = NULL, *sub = NULL;
        int rc = convert(c, json_object_get(avro, "values"), &v, &sub, &opt, depth + 1);
        if (rc)
            return rc;
        *type = json_pack("{s:s, s:i, s:s, s:i, s:o, s:b}", "type", "map", "key-id", kid, "key",
                          "string", "value-id", vid, "value", v, "value-required", !opt);
        *mapping = json_pack("[{s:i, s:[s]}, {s:i, s:[s]}]", "field-id", kid, "names", "key",
                             "field-id", vid, "names", "value");
        if (sub)
            json_object_set_new(json_array_get(*mapping, 1), "fields", sub);
        return 0;
    }
    return tn_fail(c->err, TN_EUNPROCESSABLE, "hudi schema: Avro type '%s' has no Iceberg type", t);
}

int tn__hudi_schema(const char *avro_text, int meta_fields, json_t **schema, json_t **mapping,
                    struct tn_err *err)
{
    json_t *avro = json_loads(avro_text, 0, NULL);
    json_t *fields = json_array(), *all = json_array(), *out = json_array(), *map = json_array();
    struct conv c = {1, err};
    size_t i;
    json_t *f;
    int rc;

    if (!json_is_object(avro) || !json_is_array(json_object_get(avro, "fields"))) {
        json_decref(avro);
        json_decref(fields);
        json_decref(all);
        json_decref(out);
        json_decref(map);
        return tn_fail(err, TN_EUNPROCESSABLE, "hudi schema: not an Avro record schema");
    }
    /* the meta columns first, as Hudi's readers show them, unless the schema has them */
    for (size_t m = 0; meta_fields && m < sizeof(meta_columns) / sizeof(meta_columns[0]); m++) {
        int present = 0;
        json_array_foreach(json_object_get(avro, "fields"), i, f)
        {
            const char *n = json_string_value(json_object_get(f, "name"));
            present |= n && strcmp(n, meta_columns[m]) == 0;
        }
        if (!present)
            json_array_append_new(all, json_pack("{s:s, s:[s,s]}", "name", meta_columns[m], "type",
                                                 "null", "string"));
    }
    json_array_extend(all, json_object_get(avro, "fields"));
    rc = convert_fields(&c, all, out, map, 0);
    if (!rc) {
        *schema = json_pack("{s:s, s:i, s:o}", "type", "struct", "schema-id", 0, "fields", out);
        *mapping = map;
    } else {
        json_decref(out);
        json_decref(map);
    }
    json_decref(fields);
    json_decref(all);
    json_decref(avro);
    return rc;
}
