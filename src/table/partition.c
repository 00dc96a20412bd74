/* partition.c - hidden partitioning: partition specs from text ("day(ts), bucket(16, id)"),
 * the SQL that computes each transform as Iceberg defines it, and writing a partitioned table's
 * rows as one data file per partition with its partition tuple.
 *
 * Transforms: identity, year, month, day, hour (years/months/hours since 1970, days as a
 * date), bucket[N] (Iceberg's murmur3 hash through the tn_iceberg_bucket function the engine
 * registers), truncate[W] (integers floor to a multiple of W, strings keep W characters) and
 * void (always null). Evolution adds a spec and makes it the default; old files keep theirs. */
#include "table_int.h"

#include "avro/avro.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPEC_MAX_FIELDS 16

/*---- Parsing specs ----*/

static const struct tn_field *top_field(const struct tn_schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->root.nfields; i++)
        if (strcasecmp(schema->root.fields[i].name, name) == 0)
            return &schema->root.fields[i];
    return NULL;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    char *p = s;
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    memmove(s, p, strlen(p) + 1);
}

/* Whether "transform" (without its [N]) may take a source of kind "k": Iceberg's rules,
 * narrowed to what tarn's writer computes (bucket and truncate on the listed types). */
static int transform_fits(const char *transform, enum tn_type_kind k)
{
    int temporal = k == TN_T_DATE || k == TN_T_TIMESTAMP || k == TN_T_TIMESTAMPTZ ||
                   k == TN_T_TIMESTAMP_NS || k == TN_T_TIMESTAMPTZ_NS;

    if (strcmp(transform, "year") == 0 || strcmp(transform, "month") == 0 ||
        strcmp(transform, "day") == 0)
        return temporal;
    if (strcmp(transform, "hour") == 0)
        return temporal && k != TN_T_DATE;
    if (strcmp(transform, "bucket") == 0)
        return k == TN_T_INT || k == TN_T_LONG || k == TN_T_DATE || k == TN_T_TIMESTAMP ||
               k == TN_T_TIMESTAMPTZ || k == TN_T_STRING;
    if (strcmp(transform, "truncate") == 0)
        return k == TN_T_INT || k == TN_T_LONG || k == TN_T_STRING;
    return 1; /* identity (primitives, checked apart) and void */
}

/* A whole positive decimal number up to 1000000, or 0. */
static long width_arg(const char *s)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)*s))
        return 0;
    v = strtol(s, &end, 10);
    return *end || v > 1000000 ? 0 : v;
}

int tn__spec_parse(const char *text, const struct tn_schema *schema, json_t **out,
                   struct tn_err *err)
{
    json_t *fields = json_array();
    char *copy = tn_strdup(text), *p = copy;
    int rc = 0, id = 1000;

    trim(copy); /* blank text: no fields */
    while (!rc && p && *p) {
        char *end = p, *open, *close, *arg2 = NULL;
        char transform[32] = "identity", name[TN_NAME_MAX + 24];
        const char *column = p;
        const struct tn_field *f;
        long param = 0;
        int depth = 0;

        /* one field: up to a comma outside parentheses */
        while (*end && (depth || *end != ',')) {
            depth += *end == '(';
            depth -= *end == ')';
            end++;
        }
        if (*end) {
            *end++ = '\0';
            while (isspace((unsigned char)*end))
                end++;
            if (!*end) {
                rc = tn_fail(err, TN_EINPUT, "empty partition field after the last ','");
                break;
            }
        } else {
            end = NULL;
        }
        trim(p);
        if (!*p) {
            rc = tn_fail(err, TN_EINPUT, "empty partition field in '%.200s'", text);
            break;
        }
        open = strchr(p, '(');
        close = strrchr(p, ')');
        if (open && close && close > open) {
            *open = '\0';
            *close = '\0';
            trim(p);
            snprintf(transform, sizeof(transform), "%s", p);
            column = open + 1;
            arg2 = strchr(open + 1, ',');
            if (arg2) {
                char *a = open + 1, *b = arg2 + 1;
                *arg2 = '\0';
                trim(a);
                trim(b);
                /* bucket(16, id) as Spark writes it, or bucket(id, 16) as Trino does */
                if (isdigit((unsigned char)*a)) {
                    param = width_arg(a);
                    column = b;
                } else {
                    param = width_arg(b);
                    column = a;
                }
                if (!param) {
                    rc = tn_fail(err, TN_EINPUT,
                                 "%s needs a whole width from 1 to 1000000 and a column, as in "
                                 "%s(16, col)",
                                 p, p);
                    break;
                }
            }
        } else if (open || close) {
            rc = tn_fail(err, TN_EINPUT, "unbalanced parentheses in partition field '%.200s'", p);
            break;
        }
        {
            char col[TN_NAME_MAX + 1];
            snprintf(col, sizeof(col), "%s", column);
            trim(col);
            f = top_field(schema, col);
            if (!f) {
                rc = tn_fail(err, TN_EINPUT, "partition column '%s' is not a column", col);
                break;
            }
        }
        for (char *c = transform; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (strcmp(transform, "years") == 0 || strcmp(transform, "months") == 0 ||
            strcmp(transform, "days") == 0 || strcmp(transform, "hours") == 0)
            transform[strlen(transform) - 1] = '\0';
        if (arg2 && strcmp(transform, "bucket") != 0 && strcmp(transform, "truncate") != 0) {
            rc = tn_fail(err, TN_EINPUT, "%s takes one column, as in %s(%s)", transform, transform,
                         f->name);
            break;
        }
        if (strcmp(transform, "void") != 0 && !tn_type_is_primitive(f->type)) {
            rc = tn_fail(err, TN_EINPUT, "cannot partition by '%s': not a primitive column",
                         f->name);
            break;
        }
        if (strcmp(transform, "identity") == 0) {
            snprintf(name, sizeof(name), "%s", f->name);
        } else if (strcmp(transform, "bucket") == 0 || strcmp(transform, "truncate") == 0) {
            if (param <= 0) {
                rc = tn_fail(err, TN_EINPUT,
                             "%s needs a whole width from 1 to 1000000, as in %s(16, %s)",
                             transform, transform, f->name);
                break;
            }
            if (!transform_fits(transform, f->type->kind)) {
                rc = tn_fail(err, TN_EINPUT, "%s cannot partition column '%s' of its type (%s: %s)",
                             transform, f->name, transform,
                             strcmp(transform, "bucket") == 0
                                 ? "int, long, date, timestamp or string columns"
                                 : "int, long or string columns");
                break;
            }
            snprintf(name, sizeof(name), "%s_%s", f->name,
                     strcmp(transform, "bucket") == 0 ? "bucket" : "trunc");
            snprintf(transform + strlen(transform), sizeof(transform) - strlen(transform), "[%ld]",
                     param);
        } else if (strcmp(transform, "year") == 0 || strcmp(transform, "month") == 0 ||
                   strcmp(transform, "day") == 0 || strcmp(transform, "hour") == 0) {
            if (!transform_fits(transform, f->type->kind)) {
                rc =
                    tn_fail(err, TN_EINPUT, "%s cannot partition column '%s': it needs a %s column",
                            transform, f->name,
                            strcmp(transform, "hour") == 0 ? "timestamp" : "date or timestamp");
                break;
            }
            snprintf(name, sizeof(name), "%s_%s", f->name, transform);
        } else if (strcmp(transform, "void") == 0) {
            snprintf(name, sizeof(name), "%s_null", f->name);
        } else {
            rc = tn_fail(err, TN_EINPUT,
                         "unknown partition transform '%s': use identity, year, month, day, "
                         "hour, bucket(N, col), truncate(W, col) or void",
                         transform);
            break;
        }
        if (json_array_size(fields) == SPEC_MAX_FIELDS) {
            rc = tn_fail(err, TN_EINPUT, "at most %d partition fields", SPEC_MAX_FIELDS);
            break;
        }
        {
            size_t i;
            json_t *e;
            json_array_foreach(fields, i, e)
            {
                if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) {
                    rc = tn_fail(err, TN_EINPUT, "partition field '%s' appears twice", name);
                    break;
                }
            }
        }
        if (rc)
            break;
        json_array_append_new(fields, json_pack("{s:s, s:s, s:i, s:i}", "name", name, "transform",
                                                transform, "source-id", f->id, "field-id", id++));
        p = end;
    }
    free(copy);
    if (rc) {
        json_decref(fields);
        return rc;
    }
    *out = fields;
    return 0;
}

/*---- Evolving the spec ----*/

/* The field id an earlier spec gave the same (source, transform), or 0. */
static int earlier_field_id(const struct tn_metadata *m, int source_id, const char *transform)
{
    for (size_t s = 0; s < m->nspecs; s++)
        for (size_t i = 0; i < m->specs[s].nfields; i++)
            if (m->specs[s].fields[i].source_id == source_id &&
                strcmp(m->specs[s].fields[i].transform, transform) == 0)
                return m->specs[s].fields[i].field_id;
    return 0;
}

/* Whether any spec of "m" has a field called "name". */
static int name_taken(const struct tn_metadata *m, const char *name)
{
    for (size_t s = 0; s < m->nspecs; s++)
        for (size_t i = 0; i < m->specs[s].nfields; i++)
            if (strcmp(m->specs[s].fields[i].name, name) == 0)
                return 1;
    return 0;
}

struct spec_change {
    const char *text;
    int spec_id;   /* out: the table's default spec after the change */
    int unchanged; /* out: the table already had that spec as its default */
};

/* The id of the spec in "specs" whose fields equal "fields", or -1. */
static int find_spec(json_t *specs, json_t *fields)
{
    size_t i;
    json_t *sp;

    json_array_foreach(specs, i, sp)
    {
        if (json_equal(json_object_get(sp, "fields"), fields))
            return (int)json_integer_value(json_object_get(sp, "spec-id"));
    }
    return -1;
}

/* Partition evolution as Iceberg v2 does it (Java's BaseUpdatePartitionSpec): fields kept
 * from an earlier spec keep their field id, new ones continue from last-partition-id, removed
 * ones are simply left out, and a spec equal to an existing one is reused. */
static int spec_build(const struct tn_table *t, void *vctx, json_t *updates, struct tn_err *err)
{
    struct spec_change *c = vctx;
    const struct tn_metadata *m = t->meta;
    json_t *fields = NULL, *specs = json_object_get(m->root, "partition-specs"), *e;
    int last = m->last_partition_id, max_spec = -1, found, rc;
    size_t i;

    rc = tn__spec_parse(c->text ? c->text : "", tn_metadata_current_schema(m), &fields, err);
    if (rc)
        return rc;
    json_array_foreach(fields, i, e)
    {
        int id = earlier_field_id(m, (int)json_integer_value(json_object_get(e, "source-id")),
                                  json_string_value(json_object_get(e, "transform")));
        json_object_set_new(e, "field-id", json_integer(id ? id : ++last));
        if (!id && name_taken(m, json_string_value(json_object_get(e, "name")))) {
            /* a name an earlier spec gave another field: partition names stay unique */
            char *unique =
                tn_asprintf("%s_%d", json_string_value(json_object_get(e, "name")), last);
            json_object_set_new(e, "name", json_string(unique));
            free(unique);
        }
    }
    for (size_t s = 0; s < m->nspecs; s++)
        if (m->specs[s].spec_id > max_spec)
            max_spec = m->specs[s].spec_id;
    found = find_spec(specs, fields);
    c->unchanged = found == m->default_spec_id;
    c->spec_id = found < 0 ? max_spec + 1 : found;
    /* add-spec reuses an equal spec, as this one was found */
    json_array_append_new(
        updates, json_pack("{s:s, s:{s:o}}", "action", "add-spec", "spec", "fields", fields));
    json_array_append_new(updates,
                          json_pack("{s:s, s:i}", "action", "set-default-spec", "spec-id", -1));
    return 0;
}

int tn_table_set_partitioning(struct tn_warehouse *wh, const char *ns, const char *name,
                              const char *partition_by, int *out_spec_id, struct tn_err *err)
{
    struct spec_change c = {partition_by, 0, 0};
    struct tn_table *t = NULL;
    int rc;

    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (!rc) {
        /* a dry run on the current version: errors and no-ops commit nothing */
        json_t *updates = json_array();
        rc = spec_build(t, &c, updates, err);
        json_decref(updates);
    }
    if (!rc && !c.unchanged)
        rc = tn__commit_metadata(wh, ns, name, spec_build, &c, err);
    if (!rc && out_spec_id)
        *out_spec_id = c.spec_id;
    tn_table_free(t);
    return rc;
}

/*---- The transforms in SQL ----*/

/* Append the SQL of partition field "pf" over column reference "col"; "hive" gets the DuckDB
 * type its value has. */
static int transform_sql(const struct tn_partition_field *pf, const struct tn_field *src,
                         struct tn_buf *sql, struct tn_buf *hive, struct tn_err *err)
{
    const char *t = pf->transform;
    struct tn_buf col = TN_BUF_INIT(TN_CAP_INTERNAL);
    enum tn_type_kind k = src->type->kind;
    int rc = 0;
    long w = 0;

    tn_sql_ident(&col, src->name);
    if (strcmp(t, "identity") == 0) {
        tn_buf_add(sql, col.buf, col.len, NULL);
        rc = tn_type_duckdb(src->type, hive, err);
    } else if (strcmp(t, "year") == 0) {
        tn_buf_addf(sql, NULL, "(year(%s) - 1970)", col.buf);
        tn_buf_addstr(hive, "INTEGER", NULL);
    } else if (strcmp(t, "month") == 0) {
        tn_buf_addf(sql, NULL, "((year(%s) - 1970) * 12 + month(%s) - 1)", col.buf, col.buf);
        tn_buf_addstr(hive, "INTEGER", NULL);
    } else if (strcmp(t, "day") == 0) {
        tn_buf_addf(sql, NULL, "CAST(%s AS DATE)", col.buf);
        tn_buf_addstr(hive, "DATE", NULL);
    } else if (strcmp(t, "hour") == 0 && (k == TN_T_TIMESTAMP || k == TN_T_TIMESTAMPTZ)) {
        tn_buf_addf(sql, NULL, "CAST(floor(epoch_us(%s) / 3600000000) AS INTEGER)", col.buf);
        tn_buf_addstr(hive, "INTEGER", NULL);
    } else if (sscanf(t, "bucket[%ld]", &w) == 1) {
        if (k == TN_T_INT || k == TN_T_LONG)
            tn_buf_addf(sql, NULL, "tn_iceberg_bucket(CAST(%s AS BIGINT), %ld)", col.buf, w);
        else if (k == TN_T_DATE)
            tn_buf_addf(sql, NULL,
                        "tn_iceberg_bucket(CAST(date_diff('day', DATE '1970-01-01', %s) AS "
                        "BIGINT), %ld)",
                        col.buf, w);
        else if (k == TN_T_TIMESTAMP || k == TN_T_TIMESTAMPTZ)
            tn_buf_addf(sql, NULL, "tn_iceberg_bucket(epoch_us(%s), %ld)", col.buf, w);
        else if (k == TN_T_STRING)
            tn_buf_addf(sql, NULL, "tn_iceberg_bucket(%s, %ld)", col.buf, w);
        else
            rc = tn_fail(err, TN_EINPUT, "bucket on a %s column is not supported", src->name);
        tn_buf_addstr(hive, "INTEGER", NULL);
    } else if (sscanf(t, "truncate[%ld]", &w) == 1) {
        if (k == TN_T_INT || k == TN_T_LONG)
            tn_buf_addf(sql, NULL, "(%s - (((%s %% %ld) + %ld) %% %ld))", col.buf, col.buf, w, w,
                        w);
        else if (k == TN_T_STRING)
            tn_buf_addf(sql, NULL, "left(%s, %ld)", col.buf, w);
        else
            rc = tn_fail(err, TN_EINPUT, "truncate on column %s is not supported", src->name);
        if (!rc)
            rc = tn_type_duckdb(src->type, hive, err);
    } else {
        rc = tn_fail(err, TN_EINPUT, "partition transform %s is not supported for writing", t);
    }
    tn_buf_release(&col);
    return rc;
}

/* The partition value text of a file as the Iceberg single value of type "t", as a tuple
 * element. */
static void to_pvalue(const struct tn_type *t, const char *text, struct tn_pvalue *pv)
{
    unsigned char enc[TN_BOUND_MAX];
    size_t len = 0;
    struct tn_err ignored;

    memset(pv, 0, sizeof(*pv));
    if (!text || tn_bound_encode(t, text, 0, enc, &len, &ignored)) {
        pv->is_null = 1;
        return;
    }
    switch (t->kind) {
    case TN_T_BOOLEAN:
        pv->kind = TN_AVRO_BOOLEAN;
        pv->i = enc[0] != 0;
        break;
    case TN_T_INT:
    case TN_T_DATE:
        pv->kind = TN_AVRO_INT;
        pv->i = (int32_t)((uint32_t)enc[0] | (uint32_t)enc[1] << 8 | (uint32_t)enc[2] << 16 |
                          (uint32_t)enc[3] << 24);
        break;
    case TN_T_FLOAT: {
        float f;
        memcpy(&f, enc, 4);
        pv->kind = TN_AVRO_FLOAT;
        pv->d = f;
        break;
    }
    case TN_T_DOUBLE:
        pv->kind = TN_AVRO_DOUBLE;
        memcpy(&pv->d, enc, 8);
        break;
    case TN_T_LONG:
    case TN_T_TIME:
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        pv->kind = TN_AVRO_LONG;
        for (int i = 0; i < 8; i++)
            pv->i |= (int64_t)((uint64_t)enc[i] << (8 * i));
        break;
    default:
        pv->kind = t->kind == TN_T_STRING ? TN_AVRO_STRING : TN_AVRO_BYTES;
        pv->bytes.p = tn_malloc(len ? len : 1);
        memcpy(pv->bytes.p, enc, len);
        pv->bytes.n = len;
        break;
    }
}

int tn__write_partitioned(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                          const char *select_sql, struct tn_data_file **out, size_t *n,
                          struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    const struct tn_spec *spec = tn_metadata_spec(t->meta, t->meta->default_spec_id);
    struct tn_buf exprs = TN_BUF_INIT(TN_CAP_INTERNAL), types = TN_BUF_INIT(TN_CAP_INTERNAL),
                  q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_type storage[SPEC_MAX_FIELDS];
    const struct tn_type *result[SPEC_MAX_FIELDS];
    char *hive_types[SPEC_MAX_FIELDS] = {0}; /* the DuckDB type of each folder's value */
    struct tn_rows *files = NULL;
    struct tn_data_file *v = NULL;
    char *dir_uri = tn__new_file_location(t, "");
    char *dir_resolved = tn_table_resolve(t, dir_uri);
    char *dir = NULL;
    int64_t rows = 0;
    size_t nv = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (spec->nfields > SPEC_MAX_FIELDS)
        rc = tn_fail(err, TN_EINPUT, "too many partition fields");
    tn_buf_addstr(&types, "{", NULL);
    for (size_t i = 0; !rc && i < spec->nfields; i++) {
        const struct tn_field *src = tn_schema_find(schema, spec->fields[i].source_id);
        struct tn_buf hive = TN_BUF_INIT(TN_CAP_INTERNAL);
        if (!src) {
            rc = tn_fail(err, TN_EINPUT, "partition source column %d is gone",
                         spec->fields[i].source_id);
            break;
        }
        result[i] = tn_partition_type(schema, &spec->fields[i], &storage[i]);
        if (strcmp(spec->fields[i].transform, "void") == 0)
            continue; /* always null: no folder level */
        /* the folder's value is the partition value's text with every byte outside
         * [A-Za-z0-9._-] (and '~' itself) written ~XX: DuckDB writes names hive-style with %XX
         * escapes, which a reader that URI-decodes a location cannot find; a name without '%'
         * reads the same decoded or not, on local disk and on S3 */
        tn_buf_addstr(&exprs, exprs.len ? ", " : "", NULL);
        tn_buf_addstr(&exprs, "replace(url_encode(replace(CAST((", NULL);
        rc = transform_sql(&spec->fields[i], src, &exprs, &hive, err);
        tn_buf_addf(&exprs, NULL, ") AS VARCHAR), '~', '~7E')), '%%', '~') AS __tn_p%zu", i);
        tn_buf_addf(&types, NULL, "%s'__tn_p%zu': 'VARCHAR'", types.len > 1 ? ", " : "", i);
        hive_types[i] = tn_buf_detach(&hive, NULL);
    }
    tn_buf_addstr(&types, "}", NULL);
    if (!rc)
        rc = tn_storage_stage_path(wh->storage, dir_resolved, &dir, err);
    if (!rc)
        rc = tn__copy_to_parquet(s, schema, select_sql, exprs.buf, dir, &rows, err);
    if (!rc) {
        tn_buf_addstr(&q, "SELECT file FROM glob(", NULL);
        {
            char *pattern = tn_asprintf("%s/**/*.parquet", dir);
            tn_sql_string(&q, pattern);
            free(pattern);
        }
        tn_buf_addstr(&q, ") ORDER BY file", NULL);
        rc = tn_engine_rows(s, q.buf, 1000000, &files, err);
    }
    if (!rc)
        v = tn_calloc(files->nrows + 1, sizeof(*v));
    for (size_t i = 0; !rc && i < files->nrows; i++) {
        const char *path = tn_rows_get(files, i, 0);
        struct tn_data_file *f = &v[nv];
        struct tn_rows *r = NULL;
        char *uri;

        tn_buf_reset(&q);
        tn_buf_addstr(&q, "SELECT count(*)", NULL);
        for (size_t k = 0; k < spec->nfields; k++)
            if (strcmp(spec->fields[k].transform, "void") == 0)
                tn_buf_addstr(&q, ", NULL", NULL);
            else
                tn_buf_addf(
                    &q, NULL,
                    ", CAST(CAST(url_decode(replace(any_value(__tn_p%zu), '~', '%%')) AS %s) "
                    "AS VARCHAR)",
                    k, hive_types[k]);
        tn_buf_addstr(&q, " FROM read_parquet(", NULL);
        tn_sql_string(&q, path);
        tn_buf_addf(&q, NULL, ", hive_partitioning = true, hive_types = %s)", types.buf);
        rc = tn_engine_rows(s, q.buf, 1, &r, err);
        if (!rc)
            rc = tn__require_columns(schema, path, err);
        if (!rc)
            rc = tn__file_stats(schema, path, f, err);
        if (!rc)
            rc = tn__nan_counts(s, schema, path, f, err);
        if (rc) {
            tn_rows_free(r);
            break;
        }
        tn_parse_i64(tn_rows_get(r, 0, 0), &f->record_count);
        f->npartition = spec->nfields;
        f->partition = tn_calloc(spec->nfields + 1, sizeof(*f->partition));
        for (size_t k = 0; k < spec->nfields; k++)
            to_pvalue(result[k], tn_rows_get(r, 0, k + 1), &f->partition[k]);
        tn_rows_free(r);
        /* the file's location: the folder's URI and its path inside the folder */
        uri = tn_asprintf("%s%s", dir_uri, path + strlen(dir));
        {
            char *resolved = tn_table_resolve(t, uri);
            rc = tn_storage_publish(wh->storage, resolved, path, err);
            if (!rc)
                rc = tn_storage_size(wh->storage, resolved, &f->file_size, err);
            free(resolved);
        }
        f->content = 0;
        f->file_path = uri;
        f->file_format = tn_strdup("PARQUET");
        f->sort_order_id = 0;
        nv++;
    }
    if (rc) {
        for (size_t i = 0; i < nv; i++)
            tn__discard_file(wh, t, &v[i]);
        free(v);
        v = NULL;
        nv = 0;
    }
    *out = v;
    *n = nv;
    tn_rows_free(files);
    tn_buf_release(&exprs);
    tn_buf_release(&types);
    tn_buf_release(&q);
    for (size_t i = 0; i < SPEC_MAX_FIELDS; i++)
        free(hive_types[i]);
    free(dir_uri);
    free(dir_resolved);
    free(dir);
    return rc;
}
