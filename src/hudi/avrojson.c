/* avrojson.c - Avro values (commit metadata of layout-2 timelines, records of log blocks) as
 * JSON, with logical types rendered as text DuckDB casts back to their SQL types. */
#include "hudi/hudi.h"

#include "avro/avro.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Two's-complement big-endian unscaled value as decimal text with "scale" digits after the
 * point (values up to 38 digits). */
static json_t *decimal_text(const unsigned char *p, size_t n, int scale)
{
    unsigned char mag[32];
    char digits[100];
    size_t nd = 0, len = n > sizeof(mag) ? sizeof(mag) : n;
    int neg = n && (p[0] & 0x80);
    char out[110];
    size_t o = 0;

    if (scale < 0 || scale > 76) /* no decimal type has such a scale */
        return json_null();
    memcpy(mag, p + (n - len), len);
    if (neg) { /* magnitude of the negative value: invert and add one */
        int carry = 1;
        for (size_t i = len; i-- > 0;) {
            int v = (unsigned char)~mag[i] + carry;
            mag[i] = (unsigned char)v;
            carry = v >> 8;
        }
    }
    /* repeated division by 10 of the big-endian magnitude */
    for (;;) {
        int rem = 0, nonzero = 0;
        for (size_t i = 0; i < len; i++) {
            int cur = rem * 256 + mag[i];
            mag[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            nonzero |= mag[i] != 0;
        }
        digits[nd++] = (char)('0' + rem);
        if (!nonzero || nd >= sizeof(digits) - 1)
            break;
    }
    while ((int)nd <= scale)
        digits[nd++] = '0';
    if (neg)
        out[o++] = '-';
    for (size_t i = nd; i-- > 0;) {
        out[o++] = digits[i];
        if (scale > 0 && i == (size_t)scale)
            out[o++] = '.';
    }
    out[o] = '\0';
    return json_string(out);
}

static json_t *timestamp_text(int64_t micros)
{
    int64_t secs = micros / 1000000, frac = micros % 1000000;
    struct tm tm;
    time_t t;
    char buf[64];

    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm))
        return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    return json_string(buf);
}

static json_t *date_text(int64_t days)
{
    struct tm tm;
    time_t t = (time_t)(days * 86400);
    char buf[32];

    if (!gmtime_r(&t, &tm))
        return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return json_string(buf);
}

static json_t *value_json(const struct tn_avro_value *v, int depth);

static const char *logical(const struct tn_avro_value *v)
{
    return v->schema ? v->schema->logical_type : NULL;
}

static json_t *value_json(const struct tn_avro_value *v, int depth)
{
    const char *lt = logical(v);
    json_t *o;

    if (depth > TN_AVRO_MAX_DEPTH)
        return json_null();
    switch (v->type) {
    case TN_AVRO_NULL:
        return json_null();
    case TN_AVRO_BOOLEAN:
        return json_boolean(v->u.boolean);
    case TN_AVRO_INT:
        if (lt && strcmp(lt, "date") == 0)
            return date_text(v->u.i);
        return json_integer(v->u.i);
    case TN_AVRO_LONG:
        if (lt && strcmp(lt, "timestamp-micros") == 0)
            return timestamp_text(v->u.i);
        if (lt && strcmp(lt, "local-timestamp-micros") == 0)
            return timestamp_text(v->u.i);
        if (lt &&
            (strcmp(lt, "timestamp-millis") == 0 || strcmp(lt, "local-timestamp-millis") == 0))
            return timestamp_text(v->u.i * 1000);
        return json_integer(v->u.i);
    case TN_AVRO_FLOAT:
    case TN_AVRO_DOUBLE:
        return json_real(v->u.d);
    case TN_AVRO_BYTES:
    case TN_AVRO_FIXED:
        if (lt && strcmp(lt, "decimal") == 0)
            return decimal_text((const unsigned char *)v->u.bytes.p, v->u.bytes.n,
                                v->schema->scale);
        o = json_stringn(v->u.bytes.p, v->u.bytes.n);
        return o ? o : json_null();
    case TN_AVRO_STRING:
        o = json_stringn(v->u.bytes.p, v->u.bytes.n);
        return o ? o : json_null();
    case TN_AVRO_ENUM:
        return v->schema && v->u.i >= 0 && (size_t)v->u.i < v->schema->nfields
                   ? json_string(v->schema->symbols[v->u.i])
                   : json_null();
    case TN_AVRO_RECORD:
        o = json_object();
        for (size_t i = 0; i < v->u.list.n && i < v->schema->nfields; i++)
            json_object_set_new(o, v->schema->fields[i].name,
                                value_json(&v->u.list.items[i], depth + 1));
        return o;
    case TN_AVRO_ARRAY:
        o = json_array();
        for (size_t i = 0; i < v->u.list.n; i++)
            json_array_append_new(o, value_json(&v->u.list.items[i], depth + 1));
        return o;
    case TN_AVRO_MAP:
        o = json_object();
        for (size_t i = 0; i + 1 < v->u.list.n; i += 2) {
            const struct tn_avro_value *k = &v->u.list.items[i];
            char *key = tn_strndup(k->u.bytes.p, k->u.bytes.n);
            json_object_set_new(o, key, value_json(&v->u.list.items[i + 1], depth + 1));
            free(key);
        }
        return o;
    case TN_AVRO_UNION:
        break;
    }
    return json_null();
}

json_t *tn_hudi_avro_json(const struct tn_avro_value *v)
{
    return value_json(v, 0);
}
