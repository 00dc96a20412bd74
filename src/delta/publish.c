/* publish.c - the Delta log tarn writes beside a table's Iceberg metadata (see publish.h for how
 * the two logs stay in step). One Delta version per Iceberg commit: the live data files of the
 * new current snapshot are compared with those of the base's, and the differences become add
 * and remove actions; a data file whose set of position-delete files changed is removed and
 * added again with a deletion vector holding every deleted position. A deletion vector's file
 * name is derived from the data file and its delete files, so the descriptor of the previous
 * version (which a remove must repeat) is found again without replaying the log. */
#include "delta/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "delta/delta.h"
#include "delta/dv.h"

static int default_enabled;

void tn_delta_set_default(int enabled)
{
    default_enabled = enabled;
}

int tn_delta_default(void)
{
    return default_enabled;
}

static const char *property(const json_t *root, const char *key)
{
    return json_string_value(json_object_get(json_object_get(root, "properties"), key));
}

int tn_delta_enabled(const json_t *root)
{
    const char *v = property(root, TN_DELTA_ENABLED_PROP);
    return v && strcasecmp(v, "true") == 0 && !property(root, "tarn.delta.location");
}

int tn_delta_owns(const char *table_prefix, const char *uri)
{
    size_t n = strlen(table_prefix);
    const char *rest = uri + n;

    if (strncmp(uri, table_prefix, n) != 0)
        return 0;
    if (strncmp(rest, "_delta_log/", 11) == 0 || strncmp(rest, "_change_data/", 13) == 0)
        return 1;
    return strncmp(rest, "deletion_vector_", 16) == 0 && !strchr(rest, '/') && strlen(rest) > 4 &&
           strcmp(rest + strlen(rest) - 4, ".bin") == 0;
}

int tn_delta_cdf_enabled(const json_t *root)
{
    const char *v = property(root, TN_DELTA_CDF_PROP);
    return tn_delta_enabled(root) && v && strcasecmp(v, "true") == 0;
}

int tn_delta_duration_ms(const char *text, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"week", 604800000}, {"day", 86400000}, {"hour", 3600000},
                 {"minute", 60000},   {"second", 1000},  {"millisecond", 1}};
    const char *p = text;
    int terms = 0;

    *out = 0;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "interval", 8) == 0 && (p[8] == ' ' || !p[8]))
        p += 8;
    for (;;) {
        char *end;
        long long n;
        size_t k, len;
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p < '0' || *p > '9')
            return -1;
        n = strtoll(p, &end, 10);
        p = end;
        while (*p == ' ')
            p++;
        for (len = 0; (p[len] >= 'a' && p[len] <= 'z') || (p[len] >= 'A' && p[len] <= 'Z'); len++)
            ;
        if (len > 1 && (p[len - 1] == 's' || p[len - 1] == 'S'))
            len--; /* plural */
        for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            if (strlen(units[k].unit) == len && strncasecmp(p, units[k].unit, len) == 0)
                break;
        if (k == sizeof(units) / sizeof(units[0]) || n > INT64_MAX / units[k].ms / 2 ||
            *out > INT64_MAX / 2)
            return -1;
        *out += (int64_t)n * units[k].ms;
        p += len + (p[len] == 's' || p[len] == 'S');
        terms++;
    }
    return terms ? 0 : -1;
}

/* A retention property of metadata "root" in milliseconds ("fallback" when unset). */
static int retention_ms(const json_t *root, const char *key, int64_t fallback, int64_t *out,
                        struct tn_err *err)
{
    const char *v = property(root, key);

    *out = fallback;
    if (v && tn_delta_duration_ms(v, out) != 0)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "table property %s is '%.100s', which is not a duration; give it as "
                       "'interval <n> <unit>' (units: week, day, hour, minute, second, "
                       "millisecond), e.g. 'interval 30 days'",
                       key, v);
    return 0;
}

struct tn_delta_pending {
    int64_t version;
    char *location;        /* the table's location, normalised */
    char *log_dir;         /* <table>/_delta_log */
    json_t *state;         /* for a checkpoint: protocol, metaData, adds (JSON lines); or NULL */
    int cleanup;           /* clean up the log (a checkpoint was due, or snapshots expired) */
    int64_t log_retention; /* delta.logRetentionDuration, ms */
    int64_t tombstone_retention; /* delta.deletedFileRetentionDuration, ms */
    char *table_label;           /* ns.name for messages */
};

void tn_delta_pending_free(struct tn_delta_pending *p)
{
    if (!p)
        return;
    free(p->location);
    free(p->log_dir);
    json_decref(p->state);
    free(p->table_label);
    free(p);
}

/* Everything one publish works with. */
struct publish {
    struct tn_warehouse *wh;
    const struct tn_table *base;
    const struct tn_metadata *next;
    struct tn_table *next_table; /* "next" as a table, to plan its scan */
    struct tn_session *s;
    struct tn__files *files;
    char *location; /* the table's location, resolved and normalised (file:///..., s3://...) */
    char *log_dir;
    int64_t version;
    int64_t now_ms;
    json_t *deletes_of; /* data file path -> sorted array of delete file paths (both states) */
    json_t *local_of;   /* position-delete file path -> local path DuckDB reads */
    /* v3 deletion vectors: "puffin path\ndata path" -> [k, i], the entry deletes[i] of scans[k] */
    json_t *dv_of;
    const struct tn_scan *scans[2];
    json_t *base_deletes, *next_deletes; /* delete file path -> true, per state */
    json_t *physical;                    /* field id (text) -> physical name */
};

/*---- Paths ----*/

static char *version_uri(const char *log_dir, int64_t v, const char *suffix)
{
    return tn_asprintf("%s/%020lld%s", log_dir, (long long)v, suffix);
}

/* The add/remove path of data file "file_path": relative to the table and percent-encoded as a
 * URI path (Delta paths are URIs), or absolute when the file lies elsewhere. */
static char *delta_path(struct publish *p, const char *file_path)
{
    char *resolved = tn_table_resolve(p->base, file_path), *norm = NULL, *out;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    size_t n = strlen(p->location);
    const char *rel;

    if (tn_path_normalise(resolved, &norm, NULL) != 0 || strncmp(norm, p->location, n) != 0 ||
        norm[n] != '/') {
        free(norm);
        return resolved; /* outside the table's folder: an absolute URI */
    }
    free(resolved);
    for (rel = norm + n + 1; *rel; rel++) {
        unsigned char c = (unsigned char)*rel;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~/=", c))
            tn_buf_add(&b, rel, 1, NULL);
        else
            tn_buf_addf(&b, NULL, "%%%02X", c);
    }
    out = tn_buf_detach(&b, NULL);
    free(norm);
    return out;
}

/*---- The schema ----*/

/* The physical name of every field: its name in the oldest schema that has it, which no rename
 * changes (Delta requires a field's physical name to stay the same). */
static void collect_physical(json_t *physical, const struct tn_type *t)
{
    for (size_t i = 0; t->kind == TN_T_STRUCT && i < t->nfields; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", t->fields[i].id);
        if (!json_object_get(physical, id))
            json_object_set_new(physical, id, json_string(t->fields[i].name));
        collect_physical(physical, t->fields[i].type);
    }
    if (t->kind == TN_T_LIST)
        collect_physical(physical, t->element);
    if (t->kind == TN_T_MAP) {
        collect_physical(physical, t->key);
        collect_physical(physical, t->value);
    }
}

static int delta_type(struct publish *p, const struct tn_type *t, int *ntz, json_t **out,
                      struct tn_err *err);

static json_t *delta_field(struct publish *p, const struct tn_field *f, json_t *type)
{
    char id[16];

    snprintf(id, sizeof(id), "%d", f->id);
    return json_pack("{s:s, s:o, s:b, s:{s:i, s:s}}", "name", f->name, "type", type, "nullable",
                     !f->required, "metadata", "delta.columnMapping.id", f->id,
                     "delta.columnMapping.physicalName",
                     json_string_value(json_object_get(p->physical, id)));
}

/* The Delta type of Iceberg type "t" (*ntz set when a timestamp without time zone appears). */
static int delta_type(struct publish *p, const struct tn_type *t, int *ntz, json_t **out,
                      struct tn_err *err)
{
    static const char *const names[] = {
        [TN_T_BOOLEAN] = "boolean",
        [TN_T_INT] = "integer",
        [TN_T_LONG] = "long",
        [TN_T_FLOAT] = "float",
        [TN_T_DOUBLE] = "double",
        [TN_T_DATE] = "date",
        [TN_T_TIMESTAMP] = "timestamp_ntz",
        [TN_T_TIMESTAMPTZ] = "timestamp",
        [TN_T_STRING] = "string",
        [TN_T_BINARY] = "binary",
        [TN_T_FIXED] = "binary",
    };
    json_t *a, *b;
    int rc;

    *out = NULL;
    switch (t->kind) {
    case TN_T_DECIMAL:
        *out = json_sprintf("decimal(%d,%d)", t->precision, t->scale);
        return 0;
    case TN_T_STRUCT: {
        json_t *fields = json_array();
        for (size_t i = 0; i < t->nfields; i++) {
            if ((rc = delta_type(p, t->fields[i].type, ntz, &a, err))) {
                json_decref(fields);
                return rc;
            }
            json_array_append_new(fields, delta_field(p, &t->fields[i], a));
        }
        *out = json_pack("{s:s, s:o}", "type", "struct", "fields", fields);
        return 0;
    }
    case TN_T_LIST:
        if ((rc = delta_type(p, t->element, ntz, &a, err)))
            return rc;
        *out = json_pack("{s:s, s:o, s:b}", "type", "array", "elementType", a, "containsNull",
                         !t->element_required);
        return 0;
    case TN_T_MAP:
        if ((rc = delta_type(p, t->key, ntz, &a, err)))
            return rc;
        if ((rc = delta_type(p, t->value, ntz, &b, err))) {
            json_decref(a);
            return rc;
        }
        *out = json_pack("{s:s, s:o, s:o, s:b}", "type", "map", "keyType", a, "valueType", b,
                         "valueContainsNull", !t->value_required);
        return 0;
    default:
        if ((size_t)t->kind < sizeof(names) / sizeof(names[0]) && names[t->kind]) {
            *ntz |= t->kind == TN_T_TIMESTAMP;
            *out = json_string(names[t->kind]);
            return 0;
        }
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "Delta has no type for a column of Iceberg type %s (time, nanosecond "
                       "timestamps and uuid have none); drop or change the column, or set "
                       "delta.enabled=false",
                       t->kind == TN_T_TIME      ? "time"
                       : t->kind == TN_T_UUID    ? "uuid"
                       : t->kind == TN_T_UNKNOWN ? "unknown"
                                                 : "timestamp_ns");
    }
}

/* The table properties a Delta reader or writer acts on, copied into metaData.configuration. */
static const char *const passed_properties[] = {TN_DELTA_CDF_PROP, TN_DELTA_LOG_RETENTION_PROP,
                                                TN_DELTA_TOMBSTONE_RETENTION_PROP};

/* Whether the copied properties differ between metadata "a" and "b". */
static int passed_properties_changed(const json_t *a, const json_t *b)
{
    for (size_t i = 0; i < sizeof(passed_properties) / sizeof(passed_properties[0]); i++) {
        const char *x = property(a, passed_properties[i]), *y = property(b, passed_properties[i]);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return 1;
    }
    return 0;
}

/* protocol and metaData actions of the next version's schema and properties. */
static int schema_actions(struct publish *p, json_t *out_lines, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(p->next);
    json_t *type = NULL, *features, *writer_features, *config;
    int ntz = 0, rc;
    char *text, max_id[16];

    if ((rc = delta_type(p, &schema->root, &ntz, &type, err)))
        return rc;
    features = json_pack("[s, s]", "columnMapping", "deletionVectors");
    if (ntz)
        json_array_append_new(features, json_string("timestampNtz"));
    /* changeDataFeed is a writer feature only: readers of the table need nothing for it */
    writer_features = json_copy(features);
    if (tn_delta_cdf_enabled(p->next->root))
        json_array_append_new(writer_features, json_string("changeDataFeed"));
    json_array_append_new(out_lines,
                          json_pack("{s:{s:i, s:i, s:o, s:o}}", "protocol", "minReaderVersion", 3,
                                    "minWriterVersion", 7, "readerFeatures", features,
                                    "writerFeatures", writer_features));
    text = json_dumps(type, JSON_COMPACT);
    snprintf(max_id, sizeof(max_id), "%d", p->next->last_column_id);
    config =
        json_pack("{s:s, s:s, s:s}", "delta.columnMapping.mode", "id",
                  "delta.columnMapping.maxColumnId", max_id, "delta.enableDeletionVectors", "true");
    for (size_t i = 0; i < sizeof(passed_properties) / sizeof(passed_properties[0]); i++) {
        const char *v = property(p->next->root, passed_properties[i]);
        if (v)
            json_object_set_new(config, passed_properties[i], json_string(v));
    }
    json_array_append_new(
        out_lines,
        json_pack("{s:{s:s, s:s, s:{s:s, s:{}}, s:s, s:[], s:o, s:I}}", "metaData", "id",
                  p->next->table_uuid ? p->next->table_uuid : "", "name", p->base->name, "format",
                  "provider", "parquet", "options", "schemaString", text, "partitionColumns",
                  "configuration", config, "createdTime", (json_int_t)p->now_ms));
    free(text);
    json_decref(type);
    return 0;
}

/*---- Statistics ----*/

static int64_t le_int(const unsigned char *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)v[i] << (8 * i);
    if (n < 8 && (x >> (8 * n - 1)) & 1)
        x |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return (int64_t)x;
}

/* Days since 1970-01-01 as "YYYY-MM-DD" (proleptic Gregorian). */
static void civil(int64_t days, char out[32], int64_t *y_out, unsigned *m_out, unsigned *d_out)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

    snprintf(out, 32, "%04lld-%02u-%02u", (long long)y, m, d);
    *y_out = y;
    *m_out = m;
    *d_out = d;
}

/* A decimal bound (Iceberg: the unscaled value, big-endian two's complement) as a JSON number: the
 * nearest double, moved one step outward (down for a lower bound, up for an upper one) so that
 * it still bounds the column whatever the reader rounds it to. NULL past 16 bytes. */
static json_t *decimal_bound(const unsigned char *v, size_t n, int scale, int upper)
{
    unsigned __int128 mag = 0;
    char digits[48], text[64];
    int neg = n > 0 && (v[0] & 0x80), len = 0, at = 0;
    double dv;

    if (n == 0 || n > 16 || scale < 0 || scale > 38)
        return NULL;
    for (size_t i = 0; i < n; i++)
        mag = (mag << 8) | (unsigned char)(neg ? ~v[i] : v[i]);
    if (neg)
        mag += 1; /* two's complement: -(~x + 1) */
    do {
        digits[len++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag && len < 40);
    while (len <= scale)
        digits[len++] = '0';
    if (neg)
        text[at++] = '-';
    for (int i = len - 1; i >= 0; i--) {
        text[at++] = digits[i];
        if (i == scale && scale > 0)
            text[at++] = '.';
    }
    text[at] = '\0';
    dv = strtod(text, NULL);
    dv = nextafter(dv, upper ? HUGE_VAL : -HUGE_VAL);
    return isfinite(dv) ? json_real(dv) : NULL;
}

/* An Iceberg bound as a Delta statistic ("upper": a maximum), or NULL when it has no JSON form
 * that bounds the column. */
static json_t *bound_json(const struct tn_type *t, const unsigned char *v, size_t n, int upper)
{
    char buf[64];
    int64_t y, x;
    unsigned m, d;

    switch (t->kind) {
    case TN_T_BOOLEAN:
        return n == 1 ? json_boolean(v[0]) : NULL;
    case TN_T_INT:
    case TN_T_DATE:
        if (n != 4)
            return NULL;
        if (t->kind == TN_T_INT)
            return json_integer(le_int(v, 4));
        civil(le_int(v, 4), buf, &y, &m, &d);
        return json_string(buf);
    case TN_T_LONG:
        return n == 8 ? json_integer(le_int(v, 8)) : n == 4 ? json_integer(le_int(v, 4)) : NULL;
    case TN_T_DOUBLE: {
        double dv;
        if (n != 8)
            return NULL;
        memcpy(&dv, v, 8);
        return dv == dv && dv - dv == 0 ? json_real(dv) : NULL;
    }
    case TN_T_FLOAT: {
        float fv;
        if (n != 4)
            return NULL;
        memcpy(&fv, v, 4);
        return isfinite(fv) ? json_real((double)fv) : NULL; /* exact as a double */
    }
    case TN_T_DECIMAL:
        return decimal_bound(v, n, t->scale, upper);
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ: {
        int64_t ms, day, sec;
        if (n != 8)
            return NULL;
        x = le_int(v, 8);
        /* milliseconds: a minimum rounded down, a maximum up */
        ms = x >= 0 ? x / 1000 : -((-x + 999) / 1000);
        if (upper && ms * 1000 != x)
            ms++;
        day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
        sec = ms - day * 86400000;
        civil(day, buf, &y, &m, &d);
        /* timestamp_ntz statistics carry no zone */
        return json_sprintf("%sT%02lld:%02lld:%02lld.%03lld%s", buf, (long long)(sec / 3600000),
                            (long long)(sec / 60000 % 60), (long long)(sec / 1000 % 60),
                            (long long)(sec % 1000), t->kind == TN_T_TIMESTAMPTZ ? "Z" : "");
    }
    case TN_T_STRING:
        /* tarn truncates string bounds at 16 characters; a shorter one is exact */
        return n < TN_BOUND_TRUNCATE ? json_stringn((const char *)v, n) : NULL;
    default:
        return NULL;
    }
}

static const struct tn_id_bytes *find_bound(const struct tn_id_bytes *b, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].id == id)
            return &b[i];
    return NULL;
}

/* 1 when data file "f" counts a NaN in column "id". */
static int has_nan(const struct tn_data_file *f, int id)
{
    for (size_t k = 0; k < f->nnan_counts; k++)
        if (f->nan_counts[k].id == id)
            return f->nan_counts[k].value != 0;
    return 0;
}

/* The bounds and null counts of the primitive fields of struct "t" (the table's columns, or a
 * struct column's fields) into "mins", "maxs" and "nulls", keyed by physical name; a struct's
 * fields nest under its name, as Delta's stats do. Lists and maps get none. */
static void field_stats(struct publish *p, const struct tn_data_file *f, const struct tn_type *t,
                        json_t *mins, json_t *maxs, json_t *nulls)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct tn_field *fd = &t->fields[i];
        const struct tn_id_bytes *lo = find_bound(f->lower, f->nlower, fd->id);
        const struct tn_id_bytes *hi = find_bound(f->upper, f->nupper, fd->id);
        char id[16];
        const char *phys;
        json_t *a, *b;

        snprintf(id, sizeof(id), "%d", fd->id);
        phys = json_string_value(json_object_get(p->physical, id));
        if (fd->type->kind == TN_T_STRUCT) {
            json_t *m = json_object(), *x = json_object(), *n = json_object();
            field_stats(p, f, fd->type, m, x, n);
            if (json_object_size(m))
                json_object_set(mins, phys, m);
            if (json_object_size(x))
                json_object_set(maxs, phys, x);
            if (json_object_size(n))
                json_object_set(nulls, phys, n);
            json_decref(m);
            json_decref(x);
            json_decref(n);
            continue;
        }
        for (size_t k = 0; k < f->nnull_counts; k++)
            if (f->null_counts[k].id == fd->id)
                json_object_set_new(nulls, phys, json_integer(f->null_counts[k].value));
        if (!lo || !hi || has_nan(f, fd->id))
            continue; /* NaN sorts above every number in Delta readers: no bounds then */
        a = bound_json(fd->type, lo->value.p, lo->value.n, 0);
        b = bound_json(fd->type, hi->value.p, hi->value.n, 1);
        if (a && b) {
            json_object_set_new(mins, phys, a);
            json_object_set_new(maxs, phys, b);
        } else {
            json_decref(a);
            json_decref(b);
        }
    }
}

/* The stats JSON text of a data file: numRecords, and per primitive column (struct fields
 * included) its bounds and null count (keyed by physical name, as column mapping asks). */
static char *stats_text(struct publish *p, const struct tn_data_file *f, int tight)
{
    const struct tn_schema *schema = tn_metadata_current_schema(p->next);
    json_t *st = json_pack("{s:I}", "numRecords", (json_int_t)f->record_count);
    json_t *mins = json_object(), *maxs = json_object(), *nulls = json_object();
    char *text;

    field_stats(p, f, &schema->root, mins, maxs, nulls);
    json_object_set_new(st, "minValues", mins);
    json_object_set_new(st, "maxValues", maxs);
    json_object_set_new(st, "nullCount", nulls);
    json_object_set_new(st, "tightBounds", json_boolean(tight));
    text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    return text;
}

/*---- Deletion vectors ----*/

/* Which delete files name which data files: one DuckDB read of their file_path column. */
static int map_deletes(struct publish *p, const struct tn_scan *a, const struct tn_scan *b,
                       struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    const struct tn_scan *scans[2] = {a, b};
    json_t *state[2] = {p->base_deletes, p->next_deletes};
    struct tn_rows *rows = NULL;
    size_t nfiles = 0;
    int rc = 0;

    p->scans[0] = a;
    p->scans[1] = b;
    tn_buf_addstr(&sql, "SELECT DISTINCT file_path, filename FROM read_parquet([", NULL);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; scans[k] && i < scans[k]->ndeletes && !rc; i++) {
            const struct tn_data_file *f = &scans[k]->deletes[i].file;
            char *resolved, *local = NULL;
            if (f->content == 2)
                return tn_fail(err, TN_EUNPROCESSABLE,
                               "table %s.%s has equality-delete files, which Delta cannot "
                               "express; rewrite them (CALL compact) or set delta.enabled=false",
                               p->base->ns, p->base->name);
            json_object_set_new(state[k], f->file_path, json_true());
            if (tn__is_dv(f)) {
                /* a deletion vector names its one data file in its manifest entry */
                char *key = tn_asprintf("%s\n%s", f->file_path, f->referenced_data_file);
                json_t *list = json_object_get(p->deletes_of, f->referenced_data_file);
                if (!json_object_get(p->dv_of, key)) {
                    if (!list)
                        json_object_set_new(p->deletes_of, f->referenced_data_file,
                                            list = json_array());
                    json_array_append_new(list, json_string(f->file_path));
                    json_object_set_new(p->dv_of, key, json_pack("[i, I]", k, (json_int_t)i));
                }
                free(key);
                continue;
            }
            if (json_object_get(p->local_of, f->file_path))
                continue;
            resolved = tn_table_resolve(p->base, f->file_path);
            rc = tn_storage_prefetch(p->wh->storage, (const char *const *)&resolved, &f->file_size,
                                     1, err);
            if (!rc)
                rc = tn_storage_local_path(p->wh->storage, resolved, &local, err);
            free(resolved);
            if (rc)
                break;
            json_object_set_new(p->local_of, f->file_path, json_string(local));
            if (nfiles++)
                tn_buf_addstr(&sql, ", ", NULL);
            tn_sql_string(&sql, local);
            free(local);
        }
    }
    tn_buf_addstr(&sql, "], filename = true)", NULL);
    if (!rc && nfiles)
        rc = tn_engine_rows(p->s, sql.buf, (size_t)1 << 28, &rows, err);
    for (size_t r = 0; !rc && rows && r < rows->nrows; r++) {
        const char *data = tn_rows_get(rows, r, 0), *local = tn_rows_get(rows, r, 1);
        const char *key;
        json_t *v, *list;
        if (!data || !local)
            continue;
        json_object_foreach(p->local_of, key, v)
        {
            if (strcmp(json_string_value(v), local) != 0)
                continue;
            list = json_object_get(p->deletes_of, data);
            if (!list)
                json_object_set_new(p->deletes_of, data, list = json_array());
            json_array_append_new(list, json_string(key));
        }
    }
    tn_rows_free(rows);
    tn_buf_release(&sql);
    return rc;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The delete files of "data_path" that are live in state "live" (sorted; NULL when none). */
static json_t *deletes_in(struct publish *p, const char *data_path, json_t *live)
{
    json_t *all = json_object_get(p->deletes_of, data_path), *v, *out;
    json_t **items;
    size_t i, n = 0;

    if (!all)
        return NULL;
    items = tn_calloc(json_array_size(all) + 1, sizeof(*items));
    json_array_foreach(all, i, v) if (json_object_get(live, json_string_value(v))) items[n++] = v;
    if (!n) {
        free(items);
        return NULL;
    }
    qsort(items, n, sizeof(*items), cmp_json_str);
    out = json_array();
    for (i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

/* The UUID naming the deletion vector of "data_path" under "deletes": a digest of both. */
static void dv_uuid(const char *data_path, json_t *deletes, char out[37])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hn = 0;
    size_t i;
    json_t *v;

    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, data_path, strlen(data_path) + 1);
    json_array_foreach(deletes, i, v)
    {
        const char *s = json_string_value(v);
        EVP_DigestUpdate(md, s, strlen(s) + 1);
    }
    EVP_DigestFinal_ex(md, h, &hn);
    EVP_MD_CTX_free(md);
    h[6] = (unsigned char)((h[6] & 0x0F) | 0x40); /* shaped as a version 4 UUID */
    h[8] = (unsigned char)((h[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0],
             h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
             h[14], h[15]);
}

/* The v3 deletion vector "puffin" holds for "data_path", or NULL when "puffin" is a
 * position-delete file. */
static const struct tn_manifest_entry *dv_entry(struct publish *p, const char *puffin,
                                                const char *data_path)
{
    char *key = tn_asprintf("%s\n%s", puffin, data_path);
    json_t *at = json_object_get(p->dv_of, key);

    free(key);
    if (!at)
        return NULL;
    return &p->scans[json_integer_value(json_array_get(at, 0))]
                ->deletes[json_integer_value(json_array_get(at, 1))];
}

/* The positions the delete files "deletes" remove from "data_path": its v3 deletion vector when
 * it has one (the vector took in any position-delete files before it, which readers then
 * ignore), else its position-delete files, read with DuckDB. */
static int read_positions(struct publish *p, const char *data_path, json_t *deletes,
                          int64_t max_rows, int64_t **out, size_t *out_n, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *rows = NULL;
    size_t i;
    json_t *v;
    int rc;

    *out = NULL;
    *out_n = 0;
    json_array_foreach(deletes, i, v)
    {
        const struct tn_manifest_entry *dv = dv_entry(p, json_string_value(v), data_path);
        if (dv)
            return tn__dv_read(p->wh, p->base, dv, out, out_n, err);
    }
    tn_buf_addstr(&sql, "SELECT DISTINCT pos FROM read_parquet([", NULL);
    json_array_foreach(deletes, i, v)
    {
        if (i)
            tn_buf_addstr(&sql, ", ", NULL);
        tn_sql_string(&sql, json_string_value(json_object_get(p->local_of, json_string_value(v))));
    }
    tn_buf_addstr(&sql, "]) WHERE file_path = ", NULL);
    tn_sql_string(&sql, data_path);
    tn_buf_addstr(&sql, " ORDER BY pos", NULL);
    rc = tn_engine_rows(p->s, sql.buf, (size_t)max_rows + 1, &rows, err);
    tn_buf_release(&sql);
    if (rc)
        return rc;
    *out = tn_calloc(rows->nrows + 1, sizeof(**out));
    for (i = 0; i < rows->nrows && !rc; i++)
        if (tn_parse_i64(tn_rows_get(rows, i, 0), &(*out)[i]) != 0 || (*out)[i] < 0)
            rc = tn_fail(err, TN_EINPUT, "a position-delete file of %s holds a bad position",
                         data_path);
    *out_n = i;
    tn_rows_free(rows);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* The deletionVector descriptor of "data_path" with "deletes" applied: written now ("write",
 * for the next version; a file already there from an earlier version is the same) or read back
 * (for the base version, whose remove must repeat it). */
static int dv_descriptor(struct publish *p, const char *data_path, json_t *deletes,
                         int64_t record_count, int write, json_t **out, struct tn_err *err)
{
    char uuid[37], z85[21], *uri;
    unsigned char *bitmap = NULL, *file = NULL;
    size_t bitmap_len = 0, file_len = 0, n = 0;
    int64_t *pos = NULL;
    int rc;

    *out = NULL;
    dv_uuid(data_path, deletes, uuid);
    rc = tn_delta_dv_uuid_z85(uuid, z85, err);
    if (rc)
        return rc;
    uri = tn_asprintf("%s/deletion_vector_%s.bin", p->location, uuid);
    if (write) {
        rc = read_positions(p, data_path, deletes, record_count, &pos, &n, err);
        if (!rc)
            rc = tn_delta_dv_encode(pos, n, &bitmap, &bitmap_len, err);
        if (!rc) {
            tn_delta_dv_file_build(bitmap, bitmap_len, &file, &file_len);
            rc = tn_storage_write(p->wh->storage, uri, file, file_len, err);
            if (!rc)
                tn__files_add(p->files, uri);
            else if (rc == TN_EEXISTS)
                rc = 0; /* named by its contents: the file there holds the same bitmap */
        }
    } else {
        struct tn_buf b = TN_BUF_INIT(TN_CAP_METADATA);
        const unsigned char *slice;
        rc = tn_storage_read(p->wh->storage, uri, &b, err);
        if (rc == TN_ENOTFOUND)
            tn_err_prefix(err, "the deletion vector of Delta version %lld is gone: ",
                          (long long)p->version - 1);
        if (!rc)
            rc = tn_delta_dv_file_slice((unsigned char *)b.buf, b.len, 1, -1, &slice, &bitmap_len,
                                        err);
        if (!rc)
            rc = tn_delta_dv_decode(slice, bitmap_len, record_count, &pos, &n, err);
        tn_buf_release(&b);
    }
    if (!rc)
        *out = json_pack("{s:s, s:s, s:i, s:I, s:I}", "storageType", "u", "pathOrInlineDv", z85,
                         "offset", 1, "sizeInBytes", (json_int_t)bitmap_len, "cardinality",
                         (json_int_t)n);
    free(pos);
    free(bitmap);
    free(file);
    free(uri);
    return rc;
}

/*---- Actions ----*/

static json_t *file_action(struct publish *p, const char *kind, const struct tn_data_file *f,
                           json_t *dv, int data_change)
{
    char *path = delta_path(p, f->file_path);
    json_t *a = json_pack("{s:s, s:{}, s:I, s:b}", "path", path, "partitionValues", "size",
                          (json_int_t)f->file_size, "dataChange", data_change);

    free(path);
    if (strcmp(kind, "add") == 0) {
        char *stats = stats_text(p, f, dv == NULL);
        json_object_set_new(a, "modificationTime", json_integer(p->now_ms));
        json_object_set_new(a, "stats", json_string(stats));
        free(stats);
    } else {
        json_object_set_new(a, "deletionTimestamp", json_integer(p->now_ms));
        json_object_set_new(a, "extendedFileMetadata", json_true());
    }
    if (dv)
        json_object_set(a, "deletionVector", dv);
    return json_pack("{s:o}", kind, a);
}

static const struct tn_manifest_entry *find_entry(const struct tn_scan *s, const char *path)
{
    for (size_t i = 0; s && i < s->ndata; i++)
        if (strcmp(s->data[i].file.file_path, path) == 0)
            return &s->data[i];
    return NULL;
}

/* The Delta operation name for the change. */
static const char *operation(const struct tn_metadata *base, const struct tn_metadata *next)
{
    const struct tn_snapshot *s = tn_metadata_snapshot(next, next->current_snapshot_id);

    if (base && base->current_snapshot_id == next->current_snapshot_id)
        return base->current_schema_id != next->current_schema_id ? "CHANGE COLUMN"
                                                                  : "SET TBLPROPERTIES";
    if (!s)
        return base ? "WRITE" : "CREATE TABLE";
    if (!s->operation)
        return "WRITE";
    if (strcmp(s->operation, "delete") == 0)
        return "DELETE";
    if (strcmp(s->operation, "replace") == 0)
        return "OPTIMIZE";
    if (strcmp(s->operation, "overwrite") == 0)
        return "MERGE";
    return "WRITE";
}

/* The adds and removes between the two scans (either may be NULL: no files), appended to
 * "lines"; every live file's add (unchanged ones included) also to "state". */
static int file_actions(struct publish *p, const struct tn_scan *base, const struct tn_scan *next,
                        int data_change, json_t *lines, json_t *state, struct tn_err *err)
{
    int rc = 0;

    for (size_t i = 0; next && i < next->ndata && !rc; i++) {
        const struct tn_data_file *f = &next->data[i].file;
        const struct tn_manifest_entry *old = find_entry(base, f->file_path);
        json_t *now = deletes_in(p, f->file_path, p->next_deletes);
        json_t *before = old ? deletes_in(p, f->file_path, p->base_deletes) : NULL;
        json_t *dv_now = NULL, *dv_before = NULL;
        int changed = !old || !json_equal(now ? now : json_null(), before ? before : json_null());

        if (now && (changed || state))
            rc = dv_descriptor(p, f->file_path, now, f->record_count, changed, &dv_now, err);
        if (!rc && changed && old && before)
            rc = dv_descriptor(p, f->file_path, before, f->record_count, 0, &dv_before, err);
        if (!rc && changed && old)
            json_array_append_new(lines,
                                  file_action(p, "remove", &old->file, dv_before, data_change));
        if (!rc && changed)
            json_array_append_new(lines, file_action(p, "add", f, dv_now, data_change));
        if (!rc && state)
            json_array_append_new(state, file_action(p, "add", f, dv_now, 0));
        json_decref(now);
        json_decref(before);
        json_decref(dv_now);
        json_decref(dv_before);
    }
    for (size_t i = 0; base && i < base->ndata && !rc; i++) {
        const struct tn_data_file *f = &base->data[i].file;
        json_t *before, *dv_before = NULL;
        if (find_entry(next, f->file_path))
            continue;
        before = deletes_in(p, f->file_path, p->base_deletes);
        if (before)
            rc = dv_descriptor(p, f->file_path, before, f->record_count, 0, &dv_before, err);
        if (!rc)
            json_array_append_new(lines, file_action(p, "remove", f, dv_before, data_change));
        json_decref(before);
        json_decref(dv_before);
    }
    return rc;
}

/*---- Change data files ----*/

int tn_delta_write_changes(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                           const char *rows_sql, json_t *out, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *res = NULL;
    json_t *physical = json_object();
    char uuid[37], *resolved = NULL, *uri, *norm = NULL, *staged = NULL;
    int64_t rows = 0, size = 0;
    int rc;

    for (size_t i = 0; i < t->meta->nschemas; i++)
        collect_physical(physical, &t->meta->schemas[i]->root);
    tn_uuid4(uuid);
    resolved = tn_table_resolve(t, t->meta->location);
    rc = tn_path_normalise(resolved, &norm, err);
    uri = tn_asprintf("%s/_change_data/cdc-%s.parquet", norm ? norm : "", uuid);
    if (!rc)
        rc = tn_storage_prepare_dir(wh->storage, uri, err);
    if (!rc)
        rc = tn_storage_stage_path(wh->storage, uri, &staged, err);
    /* the table's columns under their physical names, with field ids, then _change_type */
    tn_buf_addstr(&sql, "COPY (SELECT ", NULL);
    for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char id[16];
        snprintf(id, sizeof(id), "%d", f->id);
        tn_buf_addstr(&sql, "CAST(", NULL);
        tn_sql_ident(&sql, f->name);
        tn_buf_addstr(&sql, " AS ", NULL);
        rc = tn_type_duckdb(f->type, &sql, err);
        tn_buf_addstr(&sql, ") AS ", NULL);
        tn_sql_ident(&sql, json_string_value(json_object_get(physical, id)));
        tn_buf_addstr(&sql, ", ", NULL);
    }
    tn_buf_addf(&sql, NULL, "CAST(_change_type AS VARCHAR) AS _change_type FROM (%s)) TO ",
                rows_sql);
    tn_sql_string(&sql, staged ? staged : "");
    tn_buf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd, FIELD_IDS {", NULL);
    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char id[16];
        snprintf(id, sizeof(id), "%d", f->id);
        if (i)
            tn_buf_addstr(&sql, ", ", NULL);
        tn_sql_ident(&sql, json_string_value(json_object_get(physical, id)));
        tn_buf_addstr(&sql, ": ", NULL);
        tn__field_id_value(f->type, f->id, &sql);
    }
    tn_buf_addstr(&sql, "})", NULL);
    if (!rc)
        rc = tn_engine_rows(s, sql.buf, 1, &res, err);
    if (!rc && res->nrows && tn_rows_get(res, 0, 0))
        tn_parse_i64(tn_rows_get(res, 0, 0), &rows);
    if (!rc && rows > 0)
        rc = tn_storage_publish(wh->storage, uri, staged, err);
    if (!rc && rows > 0)
        rc = tn_storage_size(wh->storage, uri, &size, err);
    if (!rc && rows > 0) {
        json_array_append_new(out, json_pack("{s:s, s:I}", "uri", uri, "size", (json_int_t)size));
    } else {
        /* nothing to keep: no changed rows, or a failure */
        struct tn_err ignored;
        tn_storage_delete(wh->storage, uri, &ignored);
        if (staged)
            remove(staged);
    }
    if (rc)
        tn_err_prefix(err, "writing the change data of table %s.%s: ", t->ns, t->name);
    tn_rows_free(res);
    tn_buf_release(&sql);
    json_decref(physical);
    free(resolved);
    free(norm);
    free(uri);
    free(staged);
    return rc;
}

/*---- The log's owner ----*/

/* The version files in _delta_log: the highest version (-1 when none). */
static int latest_version(struct publish *p, int64_t *out, struct tn_err *err)
{
    struct tn_storage_entry *e = NULL;
    size_t n = 0;
    char *prefix = tn_asprintf("%s/", p->log_dir);
    int rc = tn_storage_list(p->wh->storage, prefix, &e, &n, err);

    *out = -1;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = e[i].uri + strlen(prefix);
        int64_t v;
        char digits[21];
        if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
            continue;
        memcpy(digits, name, 20);
        digits[20] = '\0';
        if (tn_parse_i64(digits, &v) == 0 && v > *out)
            *out = v;
    }
    tn_storage_entries_free(e, n);
    free(prefix);
    return rc;
}

/* The commitInfo of Delta version "v" (a new reference), or NULL when it has none. */
static int read_commit_info(struct publish *p, int64_t v, json_t **out, struct tn_err *err)
{
    char *uri = version_uri(p->log_dir, v, ".json");
    struct tn_buf b = TN_BUF_INIT(TN_CAP_METADATA);
    int rc = tn_storage_read(p->wh->storage, uri, &b, err);

    *out = NULL;
    for (char *line = b.buf; !rc && line && *line;) {
        char *end = strchr(line, '\n');
        json_t *j = json_loadb(line, end ? (size_t)(end - line) : strlen(line), 0, NULL);
        json_t *ci = json_object_get(j, "commitInfo");
        if (ci) {
            *out = json_incref(ci);
            json_decref(j);
            break;
        }
        json_decref(j);
        line = end ? end + 1 : NULL;
    }
    tn_buf_release(&b);
    free(uri);
    return rc;
}

static int written_by_tarn(const json_t *ci)
{
    const char *engine = json_string_value(json_object_get(ci, "engineInfo"));
    return engine && strncmp(engine, "tarn", 4) == 0 && json_object_get(ci, "tarn.metadata");
}

/* A version file of tarn's older than this, above the last version the catalog published,
 * is left by a commit that crashed: no attempt in flight is that old. */
#define ORPHAN_AGE_MS (TN_COMMIT_DEADLINE_MS + 60000)

/* Refuse a log another engine wrote to since tarn's last version "prev" (TN_ECONFLICT). Versions
 * above "prev" written by tarn are another commit's, in flight or published after the base was
 * read: *busy is set (a lost race, retried on a newer base), unless the one version above is
 * so old that its commit must have crashed before publishing: that file is removed. */
static int check_owner(struct publish *p, int64_t prev, int *busy, struct tn_err *err)
{
    int64_t latest, v;
    json_t *ci = NULL;
    int rc = latest_version(p, &latest, err);

    if (rc)
        return rc;
    if (prev < 0 && latest >= 0)
        return tn_fail(err, TN_ECONFLICT,
                       "table %s.%s: %s already holds a Delta log (from before delta.enabled was "
                       "turned off, or another engine's): delete that folder to publish the table "
                       "as Delta afresh",
                       p->base->ns, p->base->name, p->log_dir);
    if (latest < prev)
        return tn_fail(err, TN_ECONFLICT,
                       "table %s.%s: its Delta log ends at version %lld but tarn last published "
                       "version %lld; the log was changed by hand or by another engine (remove "
                       "the _delta_log folder to publish afresh)",
                       p->base->ns, p->base->name, (long long)latest, (long long)prev);
    for (v = prev; v >= 0 && v <= latest && !rc; v++) {
        json_decref(ci);
        rc = read_commit_info(p, v, &ci, err);
        if (!rc && !written_by_tarn(ci))
            rc = tn_fail(err, TN_ECONFLICT,
                         "table %s.%s: Delta version %lld in %s was not written by tarn; another "
                         "engine wrote to the table's Delta log, and tarn owns the table: remove "
                         "that engine's commits (or the _delta_log folder to publish afresh)",
                         p->base->ns, p->base->name, (long long)v, p->log_dir);
    }
    if (rc || latest == prev) {
        json_decref(ci);
        return rc;
    }
    if (latest == prev + 1 &&
        json_integer_value(json_object_get(ci, "timestamp")) < p->now_ms - ORPHAN_AGE_MS &&
        (!p->base->metadata_location ||
         strcmp(json_string_value(json_object_get(ci, "tarn.metadata")),
                p->base->metadata_location) != 0)) {
        /* left by a commit whose Iceberg metadata never published: not a version */
        char *uri = version_uri(p->log_dir, latest, ".json");
        rc = tn_storage_delete(p->wh->storage, uri, err);
        free(uri);
        json_decref(ci);
        return rc;
    }
    json_decref(ci);
    *busy = 1;
    return tn_fail(err, TN_ECONFLICT,
                   "table %s.%s: Delta version %lld is being written by another commit (tarn's "
                   "last published version is %lld); retry",
                   p->base->ns, p->base->name, (long long)latest, (long long)prev);
}

/*---- Publishing ----*/

static struct tn_table *table_at(const struct tn_table *base, const struct tn_metadata *m,
                                 const char *location)
{
    struct tn_table *t = tn_calloc(1, sizeof(*t));

    snprintf(t->ns, sizeof(t->ns), "%s", base->ns);
    snprintf(t->name, sizeof(t->name), "%s", base->name);
    t->metadata_location = tn_strdup(location);
    t->meta = tn_metadata_share((struct tn_metadata *)m);
    t->map.n = base->map.n;
    t->map.from = tn_calloc(t->map.n + 1, sizeof(char *));
    t->map.to = tn_calloc(t->map.n + 1, sizeof(char *));
    for (size_t k = 0; k < t->map.n; k++) {
        t->map.from[k] = tn_strdup(base->map.from[k]);
        t->map.to[k] = tn_strdup(base->map.to[k]);
    }
    return t;
}

static void publish_release(struct publish *p)
{
    tn_table_free(p->next_table);
    if (p->s)
        tn_session_close(p->s);
    free(p->location);
    free(p->log_dir);
    json_decref(p->deletes_of);
    json_decref(p->local_of);
    json_decref(p->dv_of);
    json_decref(p->base_deletes);
    json_decref(p->next_deletes);
    json_decref(p->physical);
}

/* The cdc actions of change data files "cdc" ({"uri", "size"} each) into "lines". A row-level
 * change written while the change data feed was off, committed while it is on (or the other way
 * round: the property changed in between) is refused: its feed would be wrong. */
static int cdc_actions(struct publish *p, int row_change, const json_t *cdc, json_t *lines,
                       struct tn_err *err)
{
    int on = tn_delta_cdf_enabled(p->next->root);
    size_t i;
    json_t *f;

    if (row_change && (row_change == TN_DELTA_ROW_CHANGE_CDF) != on)
        return tn_fail(err, TN_ECONFLICT,
                       "table %s.%s: %s changed while this row-level change was being written, "
                       "so its change data %s; nothing was committed: run the change again",
                       p->base->ns, p->base->name, TN_DELTA_CDF_PROP,
                       on ? "was not recorded" : "was recorded for a feed that is now off");
    json_array_foreach(cdc, i, f)
    {
        const char *uri = json_string_value(json_object_get(f, "uri"));
        char *path = delta_path(p, uri);
        json_array_append_new(
            lines,
            json_pack("{s:{s:s, s:{}, s:I, s:b}}", "cdc", "path", path, "partitionValues", "size",
                      (json_int_t)json_integer_value(json_object_get(f, "size")), "dataChange", 0));
        free(path);
    }
    return 0;
}

/* Whether "next" dropped snapshots "base" had (an expiry). */
static int snapshots_expired(const struct tn_metadata *base, const struct tn_metadata *next)
{
    for (size_t i = 0; i < base->nsnapshots; i++)
        if (!tn_metadata_snapshot(next, base->snapshots[i].id))
            return 1;
    return 0;
}

int tn_delta_publish(struct tn_warehouse *wh, const struct tn_table *base,
                     const struct tn_metadata *next, const char *next_location, json_t *updates,
                     int row_change, const json_t *cdc, struct tn__files *files,
                     struct tn_delta_pending **out, int *busy, struct tn_err *err)
{
    int64_t log_retention = 0, tombstone_retention = 0;
    struct publish p;
    struct tn_scan *before = NULL, *after = NULL;
    json_t *lines = json_array(), *state = NULL, *ci;
    const char *prev_text =
        base->metadata_location ? property(base->meta->root, TN_DELTA_PUBLISHED_PROP) : NULL;
    int64_t prev = -1;
    char *resolved, *text, *uri, version_text[24];
    struct tn_buf body = TN_BUF_INIT(TN_CAP_INTERNAL);
    size_t i;
    json_t *line;
    int rc, first;

    *out = NULL;
    *busy = 0;
    memset(&p, 0, sizeof(p));
    p.wh = wh;
    p.base = base;
    p.next = next;
    p.files = files;
    p.now_ms = tn_now_ms();
    p.deletes_of = json_object();
    p.local_of = json_object();
    p.dv_of = json_object();
    p.base_deletes = json_object();
    p.next_deletes = json_object();
    p.physical = json_object();
    /* a table that was not published before starts afresh at version 0 */
    if (!prev_text || !tn_delta_enabled(base->meta->root) || tn_parse_i64(prev_text, &prev) != 0)
        prev = -1;
    p.version = prev + 1;
    first = prev < 0;
    resolved = tn_table_resolve(base, next->location);
    rc = tn_path_normalise(resolved, &p.location, err);
    free(resolved);
    if (rc)
        goto out;
    p.log_dir = tn_asprintf("%s/_delta_log", p.location);
    rc = retention_ms(next->root, TN_DELTA_LOG_RETENTION_PROP, TN_DELTA_LOG_RETENTION_DEFAULT_MS,
                      &log_retention, err);
    if (!rc)
        rc = retention_ms(next->root, TN_DELTA_TOMBSTONE_RETENTION_PROP,
                          TN_DELTA_TOMBSTONE_RETENTION_DEFAULT_MS, &tombstone_retention, err);
    if (!rc)
        rc = check_owner(&p, prev, busy, err);
    if (rc)
        goto out;
    for (i = 0; i < next->nschemas; i++)
        collect_physical(p.physical, &next->schemas[i]->root);

    rc = tn_session_open(wh->engine, &p.s, err);
    p.next_table = table_at(base, next, next_location);
    if (!rc && next->current_snapshot_id >= 0)
        rc = tn_table_scan(wh, p.next_table, -1, &after, err);
    if (!rc && !first && base->meta->current_snapshot_id >= 0)
        rc = tn_table_scan(wh, base, -1, &before, err);
    if (!rc)
        rc = map_deletes(&p, before, after, err);

    ci = json_pack("{s:I, s:s, s:{}, s:s, s:s, s:I, s:s}", "timestamp", (json_int_t)p.now_ms,
                   "operation", operation(first ? NULL : base->meta, next), "operationParameters",
                   "engineInfo", "tarn", "tarn.metadata", next_location, "tarn.snapshotId",
                   (json_int_t)next->current_snapshot_id, "tarn.table", base->name);
    json_array_append_new(lines, json_pack("{s:o}", "commitInfo", ci));
    if (!rc && (first || base->meta->current_schema_id != next->current_schema_id ||
                base->meta->last_column_id != next->last_column_id ||
                passed_properties_changed(base->meta->root, next->root)))
        rc = schema_actions(&p, lines, err);
    if (!rc)
        rc = cdc_actions(&p, row_change, cdc, lines, err);
    if (!rc && p.version % TN_DELTA_CHECKPOINT_INTERVAL == 0 && p.version > 0) {
        state = json_array(); /* protocol, metaData and every live file's add */
        rc = schema_actions(&p, state, err);
    }
    if (!rc) {
        const struct tn_snapshot *snap = tn_metadata_snapshot(next, next->current_snapshot_id);
        int data_change = !(snap && snap->operation && strcmp(snap->operation, "replace") == 0);
        if (!first && base->meta->current_snapshot_id == next->current_snapshot_id && !state)
            ; /* no data change: the files stay as they are */
        else
            rc = file_actions(&p, first ? NULL : before, after, data_change, lines, state, err);
    }
    if (rc)
        goto out;

    json_array_foreach(lines, i, line)
    {
        text = json_dumps(line, JSON_COMPACT);
        tn_buf_addf(&body, NULL, "%s\n", text);
        free(text);
    }
    uri = version_uri(p.log_dir, p.version, ".json");
    rc = tn_storage_write(wh->storage, uri, body.buf, body.len, err);
    if (rc == TN_EEXISTS) {
        *busy = 1; /* another commit wrote it first: a lost race */
        rc = tn_fail(err, TN_ECONFLICT,
                     "table %s.%s: Delta version %lld was written by another commit first",
                     base->ns, base->name, (long long)p.version);
    }
    if (!rc)
        tn__files_add(files, uri);
    free(uri);
    if (rc)
        goto out;
    snprintf(version_text, sizeof(version_text), "%lld", (long long)p.version);
    tn_updates_set_property(updates, TN_DELTA_PUBLISHED_PROP, version_text);
    if (state || (!first && snapshots_expired(base->meta, next))) {
        struct tn_delta_pending *pend = tn_calloc(1, sizeof(*pend));
        pend->version = p.version;
        pend->location = tn_strdup(p.location);
        pend->log_dir = tn_strdup(p.log_dir);
        pend->state = json_incref(state);
        pend->cleanup = 1;
        pend->log_retention = log_retention;
        pend->tombstone_retention = tombstone_retention;
        pend->table_label = tn_asprintf("%s.%s", base->ns, base->name);
        *out = pend;
    }
out:
    if (rc)
        tn_err_prefix(err, "publishing Delta version %lld: ", (long long)p.version);
    tn_scan_free(before);
    tn_scan_free(after);
    json_decref(lines);
    json_decref(state);
    tn_buf_release(&body);
    publish_release(&p);
    return rc;
}

/*---- Checkpoints and log cleanup ----*/

/* The checkpoint's columns, as DuckDB types read from the JSON lines of the state. */
static const char checkpoint_columns[] =
    "{'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, "
    "readerFeatures VARCHAR[], writerFeatures VARCHAR[])', "
    "'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, "
    "format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, "
    "partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)', "
    "'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, "
    "deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER, "
    "sizeInBytes INTEGER, cardinality BIGINT))', "
    "'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "
    "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER, "
    "sizeInBytes INTEGER, cardinality BIGINT))'}";

/* The remove tombstones a checkpoint of version p->version carries, appended to p->state: the
 * newest remove of every path no live add names, removed at or after "cutoff". They are read
 * from the JSON commits back from the version until one older than the cutoff (tarn stamps a
 * remove with its commit's time, so older commits hold no younger tombstone; cleanup keeps
 * every commit within the tombstone retention). */
static int add_tombstones(struct tn_warehouse *wh, struct tn_delta_pending *p, int64_t cutoff,
                          struct tn_err *err)
{
    struct tn_delta_log log;
    json_t *live = json_object(), *seen = json_object(), *a;
    size_t i;
    int rc, listed;

    json_array_foreach(p->state, i, a)
    {
        const char *path = json_string_value(json_object_get(json_object_get(a, "add"), "path"));
        if (path)
            json_object_set_new(live, path, json_true());
    }
    rc = tn_delta_log_list(wh->storage, p->location, &log, err);
    listed = !rc;
    for (size_t k = rc ? 0 : log.ncommits; k-- > 0 && !rc;) {
        const struct tn_delta_commit *c = &log.commits[k];
        struct tn_buf b = TN_BUF_INIT(TN_CAP_METADATA);
        if (c->version > p->version)
            continue;
        if (c->version < p->version && c->mtime_ms < cutoff)
            break;
        rc = tn_storage_read(wh->storage, c->uri, &b, err);
        for (char *line = b.buf; !rc && line && *line;) {
            char *end = strchr(line, '\n');
            json_t *j = json_loadb(line, end ? (size_t)(end - line) : strlen(line), 0, NULL);
            json_t *r = json_object_get(j, "remove");
            const char *path = json_string_value(json_object_get(r, "path"));
            if (path && !json_object_get(live, path) && !json_object_get(seen, path) &&
                json_integer_value(json_object_get(r, "deletionTimestamp")) >= cutoff) {
                json_t *t = json_deep_copy(r);
                json_object_set_new(t, "dataChange", json_false());
                json_array_append_new(p->state, json_pack("{s:o}", "remove", t));
                json_object_set_new(seen, path, json_true());
            }
            json_decref(j);
            line = end ? end + 1 : NULL;
        }
        tn_buf_release(&b);
    }
    if (listed)
        tn_delta_log_release(&log);
    json_decref(live);
    json_decref(seen);
    return rc;
}

/* Write the checkpoint of p->version and point _last_checkpoint at it. */
static int write_checkpoint(struct tn_warehouse *wh, struct tn_delta_pending *p, struct tn_err *err)
{
    struct tn_buf body = TN_BUF_INIT(TN_CAP_INTERNAL), sql = TN_BUF_INIT(TN_CAP_INTERNAL);
    struct tn_session *s = NULL;
    char *json_uri = NULL, *json_local = NULL, *uri = NULL, *staged = NULL, *last = NULL;
    size_t i;
    json_t *line;
    int rc = add_tombstones(wh, p, tn_now_ms() - p->tombstone_retention, err);

    json_array_foreach(p->state, i, line)
    {
        char *text = json_dumps(line, JSON_COMPACT);
        tn_buf_addf(&body, NULL, "%s\n", text);
        free(text);
    }
    /* the state as JSON lines in a scratch file beside the log, turned into Parquet by DuckDB */
    json_uri = tn_asprintf("%s/_tarn_checkpoint_%020lld.json", p->log_dir, (long long)p->version);
    uri = version_uri(p->log_dir, p->version, ".checkpoint.parquet");
    if (!rc)
        rc = tn_storage_prepare_dir(wh->storage, json_uri, err);
    if (!rc)
        rc = tn_storage_stage_path(wh->storage, json_uri, &json_local, err);
    if (!rc) {
        FILE *f = fopen(json_local, "wb");
        if (!f || fwrite(body.buf, 1, body.len, f) != body.len)
            rc = tn_fail(err, TN_EINTERNAL, "cannot write %s", json_local);
        if (f && fclose(f) != 0 && !rc)
            rc = tn_fail(err, TN_EINTERNAL, "cannot write %s", json_local);
    }
    if (!rc)
        rc = tn_storage_stage_path(wh->storage, uri, &staged, err);
    if (!rc)
        rc = tn_session_open(wh->engine, &s, err);
    if (!rc) {
        tn_buf_addstr(&sql, "COPY (SELECT * FROM read_json(", NULL);
        tn_sql_string(&sql, json_local);
        tn_buf_addf(&sql, NULL, ", format = 'newline_delimited', columns = %s)) TO ",
                    checkpoint_columns);
        tn_sql_string(&sql, staged);
        tn_buf_addstr(&sql, " (FORMAT parquet)", NULL);
        rc = tn_engine_exec(s, sql.buf, err);
    }
    if (!rc)
        rc = tn_storage_publish(wh->storage, uri, staged, err);
    if (!rc) {
        /* _last_checkpoint is the one file of the log that is replaced */
        char *text = tn_asprintf("{\"version\":%lld,\"size\":%zu}\n", (long long)p->version,
                                 json_array_size(p->state));
        last = tn_asprintf("%s/_last_checkpoint", p->log_dir);
        rc = tn_storage_delete(wh->storage, last, err);
        if (!rc)
            rc = tn_storage_write(wh->storage, last, text, strlen(text), err);
        free(text);
    }
    if (json_local)
        remove(json_local);
    if (s)
        tn_session_close(s);
    free(json_uri);
    free(json_local);
    free(uri);
    free(staged);
    free(last);
    tn_buf_release(&body);
    tn_buf_release(&sql);
    return rc;
}

/* Delete the log files no reader needs (see tn_delta_after_publish). Every version younger
 * than the cutoff must stay readable: the newest complete checkpoint at or before the oldest
 * of them (or before the latest version, when none is that young) is where they are rebuilt
 * from, and only files of versions below it that are themselves older than the cutoff go. */
static int clean_log(struct tn_warehouse *wh, const struct tn_delta_pending *p, struct tn_err *err)
{
    int64_t keep_ms =
        p->log_retention > p->tombstone_retention ? p->log_retention : p->tombstone_retention;
    int64_t cutoff = tn_now_ms() - keep_ms, oldest_kept = -1, from = -1;
    struct tn_delta_log log;
    int rc = tn_delta_log_list(wh->storage, p->location, &log, err);

    if (rc)
        return rc;
    for (size_t i = 0; i < log.ncommits && oldest_kept < 0; i++)
        if (log.commits[i].mtime_ms >= cutoff)
            oldest_kept = log.commits[i].version;
    if (oldest_kept < 0)
        oldest_kept = tn_delta_log_latest(&log);
    for (size_t i = 0; i < log.ncheckpoints; i++)
        if (log.checkpoints[i].version <= oldest_kept &&
            log.checkpoints[i].nparts == log.checkpoints[i].parts_expected &&
            log.checkpoints[i].version > from)
            from = log.checkpoints[i].version;
    for (size_t i = 0; !rc && i < log.ncommits; i++)
        if (log.commits[i].version < from && log.commits[i].mtime_ms < cutoff)
            rc = tn_storage_delete(wh->storage, log.commits[i].uri, err);
    for (size_t i = 0; !rc && i < log.ncheckpoints; i++)
        for (size_t k = 0; !rc && log.checkpoints[i].version < from &&
                           log.checkpoints[i].mtime_ms < cutoff && k < log.checkpoints[i].nparts;
             k++)
            rc = tn_storage_delete(wh->storage, log.checkpoints[i].uris[k], err);
    tn_delta_log_release(&log);
    return rc;
}

void tn_delta_after_publish(struct tn_warehouse *wh, struct tn_delta_pending *p)
{
    struct tn_err err = {0};

    if (!p)
        return;
    if (p->state && write_checkpoint(wh, p, &err))
        fprintf(stderr,
                "tarn: table %s: the Delta checkpoint of version %lld was not written "
                "(readers replay the JSON log instead): %s\n",
                p->table_label, (long long)p->version, err.msg);
    else if (p->cleanup && clean_log(wh, p, &err))
        fprintf(stderr,
                "tarn: table %s: old Delta log files were not all deleted (the log stays "
                "readable; the next checkpoint or expiry tries again): %s\n",
                p->table_label, err.msg);
}
