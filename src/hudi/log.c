/* log.c - Hudi log files: the framing of their blocks, the records of Avro data blocks and the
 * keys of delete blocks. Every size comes from an untrusted file and is checked before use.
 *
 * A block: "#HUDI#", int64 size of the rest, int32 format version, int32 type, header (int32
 * count, then int32 key, int32 length, bytes each), int64 content length, content, footer (same
 * shape as the header), int64 length of the block before this field. Integers are big-endian. */
#include "hudi/hudi.h"

#include "avro/avro.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC_LEN          6
#define MAX_BLOCKS         (1L << 20)
#define MAX_HEADER_ENTRIES 64
#define HEADER_INSTANT     0
#define HEADER_TARGET      1
#define HEADER_SCHEMA      2
#define HEADER_COMMAND     3

struct cursor {
    const unsigned char *p, *end;
};

static int take(struct cursor *c, size_t n, const unsigned char **out)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    *out = c->p;
    c->p += n;
    return 0;
}

static int get_i32(struct cursor *c, int32_t *out)
{
    const unsigned char *b;

    if (take(c, 4, &b))
        return -1;
    *out = (int32_t)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) |
                     (uint32_t)b[3]);
    return 0;
}

static int get_i64(struct cursor *c, int64_t *out)
{
    const unsigned char *b;
    uint64_t v = 0;

    if (take(c, 8, &b))
        return -1;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    *out = (int64_t)v;
    return 0;
}

/* A header or footer; header values are kept in "b" (footers are skipped). */
static int read_map(struct cursor *c, struct tn_hudi_block *b)
{
    int32_t count;

    if (get_i32(c, &count) || count < 0 || count > MAX_HEADER_ENTRIES)
        return -1;
    for (int32_t i = 0; i < count; i++) {
        int32_t key, len;
        const unsigned char *v;
        if (get_i32(c, &key) || get_i32(c, &len) || len < 0 || take(c, (size_t)len, &v))
            return -1;
        if (!b)
            continue;
        if ((key == HEADER_INSTANT || key == HEADER_TARGET) && (size_t)len < sizeof(b->instant)) {
            char *dst = key == HEADER_INSTANT ? b->instant : b->target;
            memcpy(dst, v, (size_t)len);
            dst[len] = '\0';
            if (strlen(dst) != (size_t)len)
                return -1;
        } else if (key == HEADER_SCHEMA) {
            b->schema = (const char *)v;
            b->schema_len = (size_t)len;
        } else if (key == HEADER_COMMAND && len > 0 && len < 12) {
            char num[12];
            memcpy(num, v, (size_t)len);
            num[len] = '\0';
            b->command = atoi(num);
        }
    }
    return 0;
}

int tn_hudi_log_parse(const void *data, size_t len, struct tn_hudi_block **out, size_t *n,
                      struct tn_err *err)
{
    struct cursor c = {data, (const unsigned char *)data + len};
    struct tn_hudi_block *blocks = NULL;
    size_t nb = 0, cap = 0;

    while (c.p < c.end) {
        size_t offset = (size_t)(c.p - (const unsigned char *)data);
        struct tn_hudi_block b;
        struct cursor body;
        const unsigned char *magic, *content;
        int64_t size, content_len, total;
        int32_t version, type;

        memset(&b, 0, sizeof(b));
        b.command = -1;
        if (take(&c, MAGIC_LEN, &magic) || memcmp(magic, "#HUDI#", MAGIC_LEN) != 0 ||
            get_i64(&c, &size) || size < 0 || (uint64_t)size > (uint64_t)(c.end - c.p))
            goto corrupt;
        body.p = c.p;
        body.end = c.p + size;
        c.p = body.end;
        if (get_i32(&body, &version) || get_i32(&body, &type) || version < 1 || version > 3)
            goto corrupt;
        b.type = type;
        if (read_map(&body, &b) || get_i64(&body, &content_len) || content_len < 0 ||
            take(&body, (size_t)content_len, &content) || read_map(&body, NULL) ||
            get_i64(&body, &total) || body.p != body.end || total != size + MAGIC_LEN)
            goto corrupt;
        b.content = content;
        b.content_len = (size_t)content_len;
        if (nb == cap) {
            if (nb >= (size_t)MAX_BLOCKS) {
                free(blocks);
                return tn_fail(err, TN_ETOOBIG, "hudi log: more than %ld blocks", MAX_BLOCKS);
            }
            cap = cap ? 2 * cap : 8;
            blocks = tn_realloc(blocks, cap * sizeof(*blocks));
        }
        blocks[nb++] = b;
        continue;
    corrupt:
        free(blocks);
        return tn_fail(err, TN_EINPUT,
                       "hudi log: the block at byte %zu is corrupt or truncated (a failed write "
                       "Hudi would roll back); the log file cannot be read",
                       offset);
    }
    *out = blocks;
    *n = nb;
    return 0;
}

int tn_hudi_avro_records(const struct tn_hudi_block *b, const void ***recs, size_t **lens,
                         size_t *n, struct tn_err *err)
{
    struct cursor c = {b->content, b->content + b->content_len};
    int32_t version, count;

    if (get_i32(&c, &version) || get_i32(&c, &count) || count < 0 ||
        (size_t)count > b->content_len / 4)
        return tn_fail(err, TN_EINPUT, "hudi log: an Avro data block has a malformed record count");
    *recs = tn_calloc((size_t)count + 1, sizeof(**recs));
    *lens = tn_calloc((size_t)count + 1, sizeof(**lens));
    for (int32_t i = 0; i < count; i++) {
        int32_t len;
        const unsigned char *p;
        if (get_i32(&c, &len) || len < 0 || take(&c, (size_t)len, &p)) {
            free(*recs);
            free(*lens);
            return tn_fail(err, TN_EINPUT, "hudi log: record %d of an Avro data block is truncated",
                           (int)i + 1);
        }
        (*recs)[i] = p;
        (*lens)[i] = (size_t)len;
    }
    *n = (size_t)count;
    return 0;
}

/* HoodieDeleteRecordList: the record keys deleted, with their partition and ordering value (one
 * wrapper record per ordering-value type). */
static const char delete_schema[] =
    "{\"type\":\"record\",\"name\":\"HoodieDeleteRecordList\",\"fields\":[{\"name\":"
    "\"deleteRecordList\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"
    "\"HoodieDeleteRecord\",\"fields\":[{\"name\":\"recordKey\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"partitionPath\",\"type\":[\"null\",\"string\"]},{\"name\":\"orderingVal\","
    "\"type\":[\"null\","
    "{\"type\":\"record\",\"name\":\"BooleanWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"boolean\"}]},"
    "{\"type\":\"record\",\"name\":\"IntWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"int\"}]},"
    "{\"type\":\"record\",\"name\":\"LongWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"long\"}]},"
    "{\"type\":\"record\",\"name\":\"FloatWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"float\"}]},"
    "{\"type\":\"record\",\"name\":\"DoubleWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"double\"}]},"
    "{\"type\":\"record\",\"name\":\"BytesWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"bytes\"}]},"
    "{\"type\":\"record\",\"name\":\"StringWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"string\"}]},"
    "{\"type\":\"record\",\"name\":\"DateWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"int\"}]},"
    "{\"type\":\"record\",\"name\":\"DecimalWrapper\",\"fields\":[{\"name\":\"value\",\"type\":"
    "\"bytes\"}]},"
    "{\"type\":\"record\",\"name\":\"TimeMicrosWrapper\",\"fields\":[{\"name\":\"value\","
    "\"type\":\"long\"}]},"
    "{\"type\":\"record\",\"name\":\"TimestampMicrosWrapper\",\"fields\":[{\"name\":\"value\","
    "\"type\":\"long\"}]}"
    "],\"default\":null}]}}}]}";

/* The ordering value of a delete record as JSON: null for none, for Hudi's default (int 0,
 * "natural order": the delete wins whatever the ordering) and for the wrappers whose values are
 * not plain numbers, strings or booleans (dates, decimals, times, bytes). */
static json_t *delete_ordering(const struct tn_avro_value *v)
{
    const char *wrapper = v->type == TN_AVRO_RECORD && v->schema ? v->schema->name : NULL;
    const struct tn_avro_value *x = wrapper && v->u.list.n == 1 ? &v->u.list.items[0] : NULL;

    if (!x)
        return json_null();
    if (strcmp(wrapper, "IntWrapper") == 0)
        return x->u.i ? json_integer((json_int_t)x->u.i) : json_null();
    if (strcmp(wrapper, "LongWrapper") == 0)
        return json_integer((json_int_t)x->u.i);
    if (strcmp(wrapper, "FloatWrapper") == 0 || strcmp(wrapper, "DoubleWrapper") == 0)
        return json_real(x->u.d);
    if (strcmp(wrapper, "StringWrapper") == 0)
        return json_stringn(x->u.bytes.p, x->u.bytes.n);
    if (strcmp(wrapper, "BooleanWrapper") == 0)
        return json_boolean(x->u.boolean);
    return json_null();
}

int tn_hudi_delete_keys(const struct tn_hudi_block *b, json_t **out, json_t **ordering,
                        struct tn_err *err)
{
    struct cursor c = {b->content, b->content + b->content_len};
    struct tn_avro_file *f = NULL;
    const unsigned char *p;
    const void *rec;
    int32_t version, len;
    size_t rec_len;
    json_t *keys;
    int rc;

    if (get_i32(&c, &version))
        return tn_fail(err, TN_EINPUT, "hudi log: a delete block is truncated");
    if (version < 3)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi log: delete block version %d (Java-serialized keys, Hudi before "
                       "0.12) is not supported",
                       (int)version);
    if (get_i32(&c, &len) || len < 0 || take(&c, (size_t)len, &p))
        return tn_fail(err, TN_EINPUT, "hudi log: a delete block is truncated");
    rec = p;
    rec_len = (size_t)len;
    rc = tn_avro_decode_records(delete_schema, strlen(delete_schema), &rec, &rec_len, 1, &f, err);
    if (rc) {
        tn_err_prefix(err, "hudi log: delete block: ");
        return rc;
    }
    keys = json_array();
    if (ordering)
        *ordering = json_array();
    {
        const struct tn_avro_value *list = &f->records[0].u.list.items[0];
        for (size_t i = 0; i < list->u.list.n; i++) {
            const struct tn_avro_value *key = &list->u.list.items[i].u.list.items[0];
            if (key->type != TN_AVRO_STRING)
                continue;
            json_array_append_new(keys, json_stringn(key->u.bytes.p, key->u.bytes.n));
            if (ordering)
                json_array_append_new(*ordering,
                                      delete_ordering(&list->u.list.items[i].u.list.items[2]));
        }
    }
    tn_avro_file_free(f);
    *out = keys;
    return 0;
}
