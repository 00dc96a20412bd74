/* thrift.c - the Thrift compact-protocol value tree (thrift.h): a struct decoded into fields of
 * any type, patched, and encoded again in the order it was read. Every read is bounds-checked
 * and nesting is capped, so corrupt bytes give TN_EINPUT and never a crash. No shared state:
 * thread-safe. */
#include "iceberg/iceberg.h"

#include <stdlib.h>
#include <string.h>

#define NESTING_MAX    64
#define VARINT_MAX_LEN 10

struct decoder {
    const unsigned char *start, *p, *end;
    int depth;
    struct tn_err *err;
};

static int corrupt(struct decoder *d, const char *what)
{
    return tn_fail(d->err, TN_EINPUT, "corrupt Thrift data at byte %td: %s", d->p - d->start, what);
}

static int take(struct decoder *d, size_t n, const unsigned char **out)
{
    if ((size_t)(d->end - d->p) < n)
        return corrupt(d, "a value runs past the end");
    *out = d->p;
    d->p += n;
    return 0;
}

static int varint(struct decoder *d, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < VARINT_MAX_LEN; i++) {
        if (d->p == d->end)
            return corrupt(d, "a value runs past the end");
        v |= (uint64_t)(*d->p & 0x7f) << (7 * i);
        if (!(*d->p++ & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return corrupt(d, "a varint is longer than 10 bytes");
}

static int zigzag(struct decoder *d, int64_t *out)
{
    uint64_t v;

    if (varint(d, &v))
        return -1;
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* A count of elements or bytes: never more than the bytes left, as each takes at least one. */
static int length(struct decoder *d, size_t *out)
{
    uint64_t n;

    if (varint(d, &n))
        return -1;
    if (n > (uint64_t)(d->end - d->p))
        return corrupt(d, "a length runs past the end");
    *out = (size_t)n;
    return 0;
}

static int known_type(int t)
{
    return t >= TN_THRIFT_TRUE && t <= TN_THRIFT_UUID;
}

static int decode_value(struct decoder *d, struct tn_thrift *v, int in_container);

/* The elements of a list, set or map, "n" of them (a map: 2n, keys and values alternating). */
static int decode_elements(struct decoder *d, struct tn_thrift *v, size_t n, int map)
{
    v->kids = tn_calloc(map ? 2 * n + 1 : n + 1, sizeof(*v->kids));
    for (size_t i = 0; i < n; i++) {
        struct tn_thrift *k = &v->kids[v->nkids];
        if (map) {
            k->type = v->key_type;
            v->nkids++;
            if (decode_value(d, k, 1))
                return -1;
            k = &v->kids[v->nkids];
        }
        k->type = v->elem_type;
        v->nkids++;
        if (decode_value(d, k, 1))
            return -1;
    }
    return 0;
}

static int decode_fields(struct decoder *d, struct tn_thrift *v)
{
    size_t cap = 0;
    int id = 0;

    for (;;) {
        const unsigned char *b = NULL;
        int64_t long_id;
        struct tn_thrift *f;

        if (take(d, 1, &b))
            return -1;
        if (*b == 0)
            return 0;
        if (!known_type(*b & 0x0f))
            return corrupt(d, "unknown field type");
        if (*b >> 4) {
            id += *b >> 4;
        } else {
            if (zigzag(d, &long_id))
                return -1;
            if (long_id < INT16_MIN || long_id > INT16_MAX)
                return corrupt(d, "field id out of range");
            id = (int)long_id;
        }
        if (v->nkids == cap) {
            cap = cap ? 2 * cap : 8;
            v->kids = tn_realloc(v->kids, cap * sizeof(*v->kids));
        }
        f = &v->kids[v->nkids++];
        memset(f, 0, sizeof(*f));
        f->id = id;
        f->type = *b & 0x0f;
        if (decode_value(d, f, 0))
            return -1;
    }
}

/* The value of "v", whose type is set; a boolean element of a container is a byte of its own. */
static int decode_value(struct decoder *d, struct tn_thrift *v, int in_container)
{
    const unsigned char *b = NULL;
    size_t n;
    int rc;

    switch (v->type) {
    case TN_THRIFT_TRUE:
    case TN_THRIFT_FALSE:
        if (!in_container)
            return 0;
        if (take(d, 1, &b))
            return -1;
        v->i = *b;
        return 0;
    case TN_THRIFT_BYTE:
        if (take(d, 1, &b))
            return -1;
        v->i = (signed char)*b;
        return 0;
    case TN_THRIFT_I16:
    case TN_THRIFT_I32:
    case TN_THRIFT_I64:
        return zigzag(d, &v->i);
    case TN_THRIFT_DOUBLE:
        v->len = 8;
        return take(d, 8, &v->bin);
    case TN_THRIFT_UUID:
        v->len = 16;
        return take(d, 16, &v->bin);
    case TN_THRIFT_BINARY:
        return length(d, &v->len) || take(d, v->len, &v->bin);
    default:
        break;
    }
    if (++d->depth > NESTING_MAX)
        return corrupt(d, "values nested too deeply");
    if (v->type == TN_THRIFT_STRUCT) {
        rc = decode_fields(d, v);
    } else if (v->type == TN_THRIFT_MAP) {
        rc = length(d, &n);
        if (!rc && n && !(rc = take(d, 1, &b))) {
            v->key_type = *b >> 4;
            v->elem_type = *b & 0x0f;
            if (!known_type(v->key_type) || !known_type(v->elem_type))
                rc = corrupt(d, "unknown map type");
        }
        if (!rc)
            rc = decode_elements(d, v, n, 1);
    } else {
        rc = take(d, 1, &b);
        if (!rc) {
            v->elem_type = *b & 0x0f;
            n = *b >> 4;
            if (!known_type(v->elem_type))
                rc = corrupt(d, "unknown list element type");
            else if (n == 15)
                rc = length(d, &n);
            else if (n > (size_t)(d->end - d->p))
                rc = corrupt(d, "a length runs past the end");
        }
        if (!rc)
            rc = decode_elements(d, v, n, 0);
    }
    d->depth--;
    return rc;
}

int tn_thrift_decode(const unsigned char *data, size_t len, struct tn_thrift *out, size_t *used,
                     struct tn_err *err)
{
    struct decoder d = {data, data, data + len, 0, err};
    struct tn_thrift v = {0};

    v.type = TN_THRIFT_STRUCT;
    if (decode_value(&d, &v, 0)) { /* the error is set */
        tn_thrift_free(&v);
        return TN_EINPUT;
    }
    *out = v;
    *used = (size_t)(d.p - data);
    return 0;
}

void tn_thrift_free(struct tn_thrift *v)
{
    for (size_t i = 0; i < v->nkids; i++)
        tn_thrift_free(&v->kids[i]);
    free(v->kids);
    v->kids = NULL;
    v->nkids = 0;
}

/*---- Encoding ----*/

static void put_varint(struct tn_buf *b, uint64_t v)
{
    unsigned char c[VARINT_MAX_LEN];
    size_t n = 0;

    do {
        c[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    tn_buf_add(b, c, n, NULL);
}

static void put_zigzag(struct tn_buf *b, int64_t v)
{
    put_varint(b, ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static void put_byte(struct tn_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;

    tn_buf_add(b, &c, 1, NULL);
}

static void encode_value(const struct tn_thrift *v, struct tn_buf *b, int in_container)
{
    int last = 0;

    switch (v->type) {
    case TN_THRIFT_TRUE:
    case TN_THRIFT_FALSE:
        if (in_container)
            put_byte(b, (unsigned)v->i);
        return;
    case TN_THRIFT_BYTE:
        put_byte(b, (unsigned)v->i & 0xff);
        return;
    case TN_THRIFT_I16:
    case TN_THRIFT_I32:
    case TN_THRIFT_I64:
        put_zigzag(b, v->i);
        return;
    case TN_THRIFT_BINARY:
        put_varint(b, v->len);
        tn_buf_add(b, v->bin, v->len, NULL);
        return;
    case TN_THRIFT_DOUBLE:
    case TN_THRIFT_UUID:
        tn_buf_add(b, v->bin, v->len, NULL);
        return;
    case TN_THRIFT_STRUCT:
        for (size_t i = 0; i < v->nkids; i++) {
            const struct tn_thrift *f = &v->kids[i];
            int delta = f->id - last;
            if (delta > 0 && delta <= 15) {
                put_byte(b, (unsigned)(delta << 4 | f->type));
            } else {
                put_byte(b, (unsigned)f->type);
                put_zigzag(b, f->id);
            }
            last = f->id;
            encode_value(f, b, 0);
        }
        put_byte(b, 0);
        return;
    case TN_THRIFT_MAP:
        put_varint(b, v->nkids / 2);
        if (v->nkids)
            put_byte(b, (unsigned)(v->key_type << 4 | v->elem_type));
        break;
    default: /* list, set */
        if (v->nkids < 15) {
            put_byte(b, (unsigned)(v->nkids << 4 | (size_t)v->elem_type));
        } else {
            put_byte(b, (unsigned)(0xf0 | v->elem_type));
            put_varint(b, v->nkids);
        }
        break;
    }
    for (size_t i = 0; i < v->nkids; i++)
        encode_value(&v->kids[i], b, 1);
}

void tn_thrift_encode(const struct tn_thrift *v, struct tn_buf *out)
{
    encode_value(v, out, 0);
}

/*---- Fields ----*/

struct tn_thrift *tn_thrift_field(const struct tn_thrift *s, int id)
{
    for (size_t i = 0; s->type == TN_THRIFT_STRUCT && i < s->nkids; i++)
        if (s->kids[i].id == id)
            return &s->kids[i];
    return NULL;
}

int tn_thrift_int(const struct tn_thrift *s, int id, int64_t *out)
{
    const struct tn_thrift *f = tn_thrift_field(s, id);

    if (!f || f->type < TN_THRIFT_BYTE || f->type > TN_THRIFT_I64)
        return -1;
    *out = f->i;
    return 0;
}

void tn_thrift_set_int(struct tn_thrift *s, int id, int type, int64_t v)
{
    struct tn_thrift *f = tn_thrift_field(s, id);
    size_t at = 0;

    if (!f) {
        while (at < s->nkids && s->kids[at].id < id)
            at++;
        s->kids = tn_realloc(s->kids, (s->nkids + 1) * sizeof(*s->kids));
        memmove(&s->kids[at + 1], &s->kids[at], (s->nkids - at) * sizeof(*s->kids));
        s->nkids++;
        f = &s->kids[at];
        memset(f, 0, sizeof(*f));
        f->id = id;
    }
    tn_thrift_free(f);
    f->type = type;
    f->i = v;
    f->bin = NULL;
    f->len = 0;
}

void tn_thrift_remove(struct tn_thrift *s, int id)
{
    struct tn_thrift *f = tn_thrift_field(s, id);

    if (!f)
        return;
    tn_thrift_free(f);
    memmove(f, f + 1, (size_t)(&s->kids[s->nkids] - (f + 1)) * sizeof(*f));
    s->nkids--;
}
