/* arrow_ipc.c - the Arrow IPC stream writer (see arrow_ipc.h).
 *
 * Metadata is FlatBuffers (Arrow's format/Schema.fbs and Message.fbs), built by the small
 * back-to-front builder below: objects are prepended to the end of a buffer, so a child is
 * always written before the table that points at it, and every reference is an unsigned offset
 * forwards. Positions are counted from the buffer's end; the finished buffer's length is a
 * multiple of 8, so alignment measured from the end is alignment from the start too.
 *
 * The body of a RecordBatch is the columns' buffers in pre-order (a node per array, then its
 * validity bitmap and its value buffers), each padded to 8 bytes. A validity bitmap is written
 * only when the array has nulls (else the buffer has length 0, which the format allows).
 *
 * Dictionary-encoded columns (DuckDB's ENUM) keep their encoding: the field carries a
 * DictionaryEncoding (ids 0, 1, ... in pre-order of the schema), the RecordBatch holds the
 * indices, and a DictionaryBatch with the values goes before the first RecordBatch and again
 * (replacing it, as the stream format allows) only when a later batch's dictionary differs.
 * All numbers are written little-endian, as the Schema message declares. */
#include "arrow_ipc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64 /* nesting of list, struct and map types */

/* FlatBuffers identifiers from Schema.fbs (the Type union, in order) and Message.fbs */
/* clang-format off */
enum { T_NULL = 1, T_INT, T_FLOAT, T_BINARY, T_UTF8, T_BOOL, T_DECIMAL, T_DATE, T_TIME,
       T_TIMESTAMP, T_INTERVAL, T_LIST, T_STRUCT, T_UNION, T_FIXED_BINARY, T_FIXED_LIST, T_MAP,
       T_DURATION, T_LARGE_BINARY, T_LARGE_UTF8, T_LARGE_LIST };
/* clang-format on */
enum { H_SCHEMA = 1, H_DICTIONARY_BATCH, H_RECORD_BATCH };
#define METADATA_V5 4

/*---- Types, from C Data Interface format strings ----*/

enum layout {
    L_NULL,    /* no buffers */
    L_BITS,    /* validity, bit-packed values */
    L_FIXED,   /* validity, values of "width" bytes */
    L_VAR32,   /* validity, int32 offsets, bytes */
    L_VAR64,   /* validity, int64 offsets, bytes */
    L_LIST32,  /* validity, int32 offsets; one child */
    L_LIST64,  /* validity, int64 offsets; one child */
    L_FIXLIST, /* validity; one child of "width" values per slot */
    L_STRUCT,  /* validity; a child per field */
};

struct atype {
    enum layout layout;
    int fb_type; /* the Type union's member */
    int width;   /* bytes per value (L_FIXED), values per list (L_FIXLIST) */
    int bits;    /* Int and Decimal bitWidth, Time bitWidth */
    int is_signed;
    int unit; /* Date, Time, Timestamp, Duration and Interval unit enums */
    int precision, scale;
    const char *tz; /* Timestamp: the zone, NULL for none */
};

/* Parse a decimal number of at most 9 digits at *p, advancing it. */
static int parse_num(const char **p, int *out)
{
    int v = 0, n = 0;

    while (**p >= '0' && **p <= '9' && n < 9) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (!n || (**p >= '0' && **p <= '9'))
        return -1;
    *out = v;
    return 0;
}

static int time_unit(char c)
{
    switch (c) {
    case 's':
        return 0;
    case 'm':
        return 1;
    case 'u':
        return 2;
    case 'n':
        return 3;
    default:
        return -1;
    }
}

static void set_fixed(struct atype *t, int fb_type, int width)
{
    t->layout = L_FIXED;
    t->fb_type = fb_type;
    t->width = width;
}

/* The temporal formats: "td?", "tt?", "ts?:zone", "tD?" and "ti?". */
static int parse_temporal(const char *f, struct atype *t)
{
    int unit = f[2] ? time_unit(f[2]) : -1;

    if (f[1] == 'd' && (f[2] == 'D' || f[2] == 'm') && !f[3]) {
        t->unit = f[2] == 'D' ? 0 : 1;
        set_fixed(t, T_DATE, f[2] == 'D' ? 4 : 8);
    } else if (f[1] == 't' && unit >= 0 && !f[3]) {
        t->unit = unit;
        t->bits = unit <= 1 ? 32 : 64;
        set_fixed(t, T_TIME, t->bits / 8);
    } else if (f[1] == 's' && unit >= 0 && f[3] == ':') {
        t->unit = unit;
        t->tz = f[4] ? f + 4 : NULL;
        set_fixed(t, T_TIMESTAMP, 8);
    } else if (f[1] == 'D' && unit >= 0 && !f[3]) {
        t->unit = unit;
        set_fixed(t, T_DURATION, 8);
    } else if (f[1] == 'i' && (f[2] == 'M' || f[2] == 'D' || f[2] == 'n') && !f[3]) {
        t->unit = f[2] == 'M' ? 0 : f[2] == 'D' ? 1 : 2;
        set_fixed(t, T_INTERVAL, f[2] == 'M' ? 4 : f[2] == 'D' ? 8 : 16);
    } else {
        return -1;
    }
    return 0;
}

/* "d:precision,scale[,bitWidth]", 128 and 256 bits. */
static int parse_decimal(const char *f, struct atype *t)
{
    const char *p = f + 2;

    t->bits = 128;
    if (parse_num(&p, &t->precision) || *p++ != ',' || parse_num(&p, &t->scale))
        return -1;
    if (*p == ',') {
        p++;
        if (parse_num(&p, &t->bits))
            return -1;
    }
    if (*p || (t->bits != 128 && t->bits != 256))
        return -1;
    set_fixed(t, T_DECIMAL, t->bits / 8);
    return 0;
}

static int parse_int(char c, struct atype *t)
{
    static const char codes[] = "cCsSiIlL";
    const char *p = strchr(codes, c);

    if (!c || !p)
        return -1;
    t->bits = 8 << ((p - codes) / 2);
    t->is_signed = (p - codes) % 2 == 0;
    set_fixed(t, T_INT, t->bits / 8);
    return 0;
}

/* Fill "t" from the format string "f"; -1 when this writer does not support it. */
static int parse_format(const char *f, struct atype *t)
{
    const char *p;

    memset(t, 0, sizeof(*t));
    if (!f || !*f)
        return -1;
    if (f[1] == '\0') {
        switch (f[0]) {
        case 'n':
            t->layout = L_NULL;
            t->fb_type = T_NULL;
            return 0;
        case 'b':
            t->layout = L_BITS;
            t->fb_type = T_BOOL;
            return 0;
        case 'e':
        case 'f':
        case 'g':
            t->unit = f[0] == 'e' ? 0 : f[0] == 'f' ? 1 : 2; /* Precision: HALF, SINGLE, DOUBLE */
            set_fixed(t, T_FLOAT, f[0] == 'e' ? 2 : f[0] == 'f' ? 4 : 8);
            return 0;
        case 'z':
        case 'u':
            t->layout = L_VAR32;
            t->fb_type = f[0] == 'z' ? T_BINARY : T_UTF8;
            return 0;
        case 'Z':
        case 'U':
            t->layout = L_VAR64;
            t->fb_type = f[0] == 'Z' ? T_LARGE_BINARY : T_LARGE_UTF8;
            return 0;
        default:
            return parse_int(f[0], t);
        }
    }
    if (f[0] == 'w' && f[1] == ':') {
        p = f + 2;
        if (parse_num(&p, &t->width) || *p || t->width <= 0)
            return -1;
        set_fixed(t, T_FIXED_BINARY, t->width);
        return 0;
    }
    if (f[0] == 'd' && f[1] == ':')
        return parse_decimal(f, t);
    if (f[0] == 't')
        return parse_temporal(f, t);
    if (f[0] != '+')
        return -1;
    if (strcmp(f, "+l") == 0 || strcmp(f, "+m") == 0) {
        t->layout = L_LIST32;
        t->fb_type = f[1] == 'l' ? T_LIST : T_MAP;
    } else if (strcmp(f, "+L") == 0) {
        t->layout = L_LIST64;
        t->fb_type = T_LARGE_LIST;
    } else if (strcmp(f, "+s") == 0) {
        t->layout = L_STRUCT;
        t->fb_type = T_STRUCT;
    } else if (f[1] == 'w' && f[2] == ':') {
        p = f + 3;
        if (parse_num(&p, &t->width) || *p || t->width <= 0)
            return -1;
        t->layout = L_FIXLIST;
        t->fb_type = T_FIXED_LIST;
    } else {
        return -1;
    }
    return 0;
}

static int n_buffers(enum layout l)
{
    switch (l) {
    case L_NULL:
        return 0;
    case L_FIXLIST:
    case L_STRUCT:
        return 1;
    case L_BITS:
    case L_FIXED:
    case L_LIST32:
    case L_LIST64:
        return 2;
    case L_VAR32:
    case L_VAR64:
        return 3;
    }
    return -1;
}

/* A readable name for a format this writer refuses. */
static const char *refused_kind(const char *f)
{
    if (f[0] == 'v' || strncmp(f, "+v", 2) == 0)
        return "a view type";
    if (strncmp(f, "+u", 2) == 0)
        return "a union (UNION)";
    if (strncmp(f, "+r", 2) == 0)
        return "run-end encoded";
    return "not supported";
}

/* Check "s" and everything inside it; on failure describe the problem in "err" for column
 * "column". */
static int check_schema(const struct ArrowSchema *s, const char *column, int depth, int in_dict,
                        struct tn_err *err)
{
    struct atype t;
    int expected;

    if (depth > MAX_DEPTH)
        return tn_fail(err, TN_EINPUT, "column \"%s\" is nested more than %d levels deep", column,
                       MAX_DEPTH);
    if (s->dictionary && in_dict)
        return tn_fail(err, TN_EINPUT,
                       "column \"%s\" has a dictionary-encoded type inside the values of another, "
                       "which Arrow does not allow; CAST it to VARCHAR",
                       column);
    if (s->dictionary) {
        if (parse_format(s->format, &t) || t.fb_type != T_INT || s->n_children)
            return tn_fail(err, TN_EINTERNAL,
                           "column \"%s\": dictionary indices of Arrow type \"%s\"", column,
                           s->format ? s->format : "");
        return check_schema(s->dictionary, column, depth + 1, 1, err);
    }
    if (parse_format(s->format, &t))
        return tn_fail(err, TN_EINPUT,
                       "column \"%s\" has Arrow type \"%s\" (%s), which Arrow output does not "
                       "support; CAST it to a supported type such as VARCHAR",
                       column, s->format ? s->format : "",
                       refused_kind(s->format ? s->format : ""));
    expected = t.layout == L_STRUCT ? (int)s->n_children
               : (t.layout == L_LIST32 || t.layout == L_LIST64 || t.layout == L_FIXLIST) ? 1
                                                                                         : 0;
    if (s->n_children != expected || (expected && !s->children))
        return tn_fail(err, TN_EINTERNAL, "column \"%s\": Arrow type \"%s\" has %lld children",
                       column, s->format, (long long)s->n_children);
    if (t.fb_type == T_MAP) {
        const struct ArrowSchema *e = s->children[0];
        if (!e->format || strcmp(e->format, "+s") != 0 || e->n_children != 2)
            return tn_fail(err, TN_EINTERNAL,
                           "column \"%s\": a map's entries must be a struct of key and value",
                           column);
    }
    for (int64_t i = 0; i < s->n_children; i++) {
        if (check_schema(s->children[i], column, depth + 1, in_dict, err))
            return err->code;
    }
    return 0;
}

/*---- A FlatBuffer builder, back to front ----*/

struct fb {
    unsigned char *buf;
    size_t cap, len;   /* the object bytes are the last "len" bytes of buf */
    uint32_t field[8]; /* the open table's fields: their positions, 0 when absent */
    size_t table_start;
};

static void fb_push(struct fb *b, const void *p, size_t n)
{
    if (!n)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        unsigned char *nb;
        while (cap < b->len + n)
            cap *= 2;
        nb = tn_malloc(cap);
        if (b->len)
            memcpy(nb + cap - b->len, b->buf + b->cap - b->len, b->len);
        free(b->buf);
        b->buf = nb;
        b->cap = cap;
    }
    b->len += n;
    memcpy(b->buf + b->cap - b->len, p, n);
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void fb_push_le(struct fb *b, uint64_t v, size_t n)
{
    unsigned char le[8];

    put_le(le, v, n);
    fb_push(b, le, n);
}

/* Pad so that after "extra" more bytes the position is a multiple of "align" (at most 8). */
static void fb_pad(struct fb *b, size_t align, size_t extra)
{
    static const unsigned char zeros[8];

    fb_push(b, zeros, (align - (b->len + extra) % align) % align);
}

static uint32_t fb_string(struct fb *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    fb_pad(b, 4, n + 1);
    fb_push(b, "", 1);
    fb_push(b, s, n);
    fb_push_le(b, n, 4);
    return (uint32_t)b->len;
}

/* A vector of "count" structs of two int64s each (FieldNode, Buffer). */
static uint32_t fb_pairs(struct fb *b, const int64_t *v, size_t count)
{
    fb_pad(b, 8, count * 16);
    for (size_t i = count; i-- > 0;) {
        fb_push_le(b, (uint64_t)v[2 * i + 1], 8);
        fb_push_le(b, (uint64_t)v[2 * i], 8);
    }
    fb_push_le(b, count, 4);
    return (uint32_t)b->len;
}

/* A vector of references to tables. */
static uint32_t fb_refs(struct fb *b, const uint32_t *refs, size_t count)
{
    fb_pad(b, 4, count * 4);
    for (size_t i = count; i-- > 0;)
        fb_push_le(b, b->len + 4 - refs[i], 4);
    fb_push_le(b, count, 4);
    return (uint32_t)b->len;
}

static void fb_start(struct fb *b)
{
    memset(b->field, 0, sizeof(b->field));
    b->table_start = b->len;
}

static void fb_scalar(struct fb *b, int id, uint64_t v, size_t size)
{
    fb_pad(b, size, size);
    fb_push_le(b, v, size);
    b->field[id] = (uint32_t)b->len;
}

static void fb_ref(struct fb *b, int id, uint32_t ref)
{
    fb_pad(b, 4, 4);
    fb_push_le(b, b->len + 4 - ref, 4);
    b->field[id] = (uint32_t)b->len;
}

/* Close the open table: its vtable goes just before it. */
static uint32_t fb_end(struct fb *b)
{
    uint32_t table, vtable;
    int n = 8;

    while (n > 0 && !b->field[n - 1])
        n--;
    fb_pad(b, 4, 4);
    fb_push_le(b, 0, 4); /* the vtable offset, patched below */
    table = (uint32_t)b->len;
    for (int i = n; i-- > 0;)
        fb_push_le(b, b->field[i] ? table - b->field[i] : 0, 2);
    fb_push_le(b, table - b->table_start, 2);
    fb_push_le(b, 4 + 2 * (uint64_t)n, 2);
    vtable = (uint32_t)b->len;
    put_le(b->buf + b->cap - table, vtable - table, 4);
    return table;
}

/* Frame the finished Message whose table is "root", then "body", onto "out". */
static void fb_emit(struct fb *b, uint32_t root, const struct tn_buf *body, struct tn_buf *out)
{
    unsigned char head[8];

    fb_pad(b, 8, 4);
    fb_push_le(b, b->len + 4 - root, 4);
    put_le(head, 0xFFFFFFFFu, 4);
    put_le(head + 4, b->len, 4);
    tn_buf_add(out, head, 8, NULL);
    tn_buf_add(out, b->buf + b->cap - b->len, b->len, NULL);
    if (body && body->len)
        tn_buf_add(out, body->buf, body->len, NULL);
}

/* A Message table around a header. */
static uint32_t fb_message(struct fb *b, int header_type, uint32_t header, int64_t body_len)
{
    fb_start(b);
    fb_scalar(b, 0, METADATA_V5, 2);
    fb_scalar(b, 1, (uint64_t)header_type, 1);
    fb_ref(b, 2, header);
    fb_scalar(b, 3, (uint64_t)body_len, 8);
    return fb_end(b);
}

/*---- The Schema message ----*/

static uint32_t fb_type(struct fb *b, const struct atype *t, const struct ArrowSchema *s)
{
    uint32_t tz = t->fb_type == T_TIMESTAMP && t->tz ? fb_string(b, t->tz) : 0;

    fb_start(b);
    switch (t->fb_type) {
    case T_INT:
        fb_scalar(b, 0, (uint64_t)t->bits, 4);
        fb_scalar(b, 1, (uint64_t)t->is_signed, 1);
        break;
    case T_DECIMAL:
        fb_scalar(b, 0, (uint64_t)t->precision, 4);
        fb_scalar(b, 1, (uint64_t)t->scale, 4);
        fb_scalar(b, 2, (uint64_t)t->bits, 4);
        break;
    case T_TIME:
        fb_scalar(b, 0, (uint64_t)t->unit, 2);
        fb_scalar(b, 1, (uint64_t)t->bits, 4);
        break;
    case T_TIMESTAMP:
        fb_scalar(b, 0, (uint64_t)t->unit, 2);
        if (tz)
            fb_ref(b, 1, tz);
        break;
    case T_FLOAT:
    case T_DATE:
    case T_DURATION:
    case T_INTERVAL:
        fb_scalar(b, 0, (uint64_t)t->unit, 2);
        break;
    case T_FIXED_BINARY:
    case T_FIXED_LIST:
        fb_scalar(b, 0, (uint64_t)t->width, 4);
        break;
    case T_MAP:
        fb_scalar(b, 0, (s->flags & ARROW_FLAG_MAP_KEYS_SORTED) ? 1 : 0, 1);
        break;
    default:
        break; /* the type tables without fields */
    }
    return fb_end(b);
}

/* The KeyValue vector of C Data Interface metadata: int32 count, then per pair int32 length and
 * bytes of the key, then of the value (native byte order). 0 when there is none; a negative
 * length ends the list there. */
static uint32_t fb_metadata(struct fb *b, const char *md)
{
    int32_t n, klen, vlen, i;
    uint32_t *refs, vec;
    const char *p = md;

    if (!md)
        return 0;
    memcpy(&n, p, 4);
    p += 4;
    if (n <= 0)
        return 0;
    refs = tn_calloc((size_t)n, sizeof(*refs));
    for (i = 0; i < n; i++) {
        char *key, *value;
        uint32_t k, v;
        memcpy(&klen, p, 4);
        if (klen < 0)
            break;
        memcpy(&vlen, p + 4 + klen, 4);
        if (vlen < 0)
            break;
        key = tn_strndup(p + 4, (size_t)klen);
        p += 4 + klen;
        value = tn_strndup(p + 4, (size_t)vlen);
        p += 4 + vlen;
        k = fb_string(b, key);
        v = fb_string(b, value);
        fb_start(b);
        fb_ref(b, 0, k);
        fb_ref(b, 1, v);
        refs[i] = fb_end(b);
        free(key);
        free(value);
    }
    vec = i ? fb_refs(b, refs, (size_t)i) : 0;
    free(refs);
    return vec;
}

/* The DictionaryEncoding of field "s" (its format is the index type). */
static uint32_t fb_dictionary(struct fb *b, const struct ArrowSchema *s, int64_t id)
{
    struct atype idx;
    uint32_t itype;

    parse_format(s->format, &idx);
    itype = fb_type(b, &idx, s);
    fb_start(b);
    fb_scalar(b, 0, (uint64_t)id, 8);
    fb_ref(b, 1, itype);
    fb_scalar(b, 2, (s->flags & ARROW_FLAG_DICTIONARY_ORDERED) ? 1 : 0, 1);
    return fb_end(b);
}

/* A Field table for "s" (already checked), its children first; a dictionary-encoded field takes
 * the next dictionary id from *next_id and has the type of its values. */
static uint32_t fb_field(struct fb *b, const struct ArrowSchema *s, int64_t *next_id)
{
    const struct ArrowSchema *v = s->dictionary ? s->dictionary : s;
    int64_t id = s->dictionary ? (*next_id)++ : -1;
    struct atype t;
    uint32_t *kids = tn_calloc((size_t)v->n_children + 1, sizeof(*kids));
    uint32_t children, type, name, meta, dict;

    parse_format(v->format, &t);
    for (int64_t i = 0; i < v->n_children; i++)
        kids[i] = fb_field(b, v->children[i], next_id);
    children = fb_refs(b, kids, (size_t)v->n_children);
    free(kids);
    type = fb_type(b, &t, v);
    dict = id >= 0 ? fb_dictionary(b, s, id) : 0;
    name = fb_string(b, s->name);
    meta = fb_metadata(b, s->metadata);
    fb_start(b);
    fb_ref(b, 0, name);
    fb_scalar(b, 1, (s->flags & ARROW_FLAG_NULLABLE) ? 1 : 0, 1);
    fb_scalar(b, 2, (uint64_t)t.fb_type, 1);
    fb_ref(b, 3, type);
    if (dict)
        fb_ref(b, 4, dict);
    fb_ref(b, 5, children);
    if (meta)
        fb_ref(b, 6, meta);
    return fb_end(b);
}

int tn_arrow_ipc_schema(const struct ArrowSchema *schema, struct tn_buf *out, struct tn_err *err)
{
    struct fb b = {0};
    uint32_t *fields, vec, sch;
    int64_t next_id = 0;

    if (!schema->format || strcmp(schema->format, "+s") != 0)
        return tn_fail(err, TN_EINTERNAL, "an Arrow result schema must be a struct, not \"%s\"",
                       schema->format ? schema->format : "");
    if (schema->n_children < 0 || (schema->n_children && !schema->children))
        return tn_fail(err, TN_EINTERNAL, "an Arrow result schema has no columns");
    for (int64_t i = 0; i < schema->n_children; i++) {
        const struct ArrowSchema *c = schema->children[i];
        if (check_schema(c, c->name ? c->name : "?", 0, 0, err))
            return err->code;
    }
    fields = tn_calloc((size_t)schema->n_children + 1, sizeof(*fields));
    for (int64_t i = 0; i < schema->n_children; i++)
        fields[i] = fb_field(&b, schema->children[i], &next_id);
    vec = fb_refs(&b, fields, (size_t)schema->n_children);
    free(fields);
    fb_start(&b);
    fb_scalar(&b, 0, 0, 2); /* endianness: Little */
    fb_ref(&b, 1, vec);
    sch = fb_end(&b);
    fb_emit(&b, fb_message(&b, H_SCHEMA, sch, 0), NULL, out);
    free(b.buf);
    return 0;
}

/*---- RecordBatch messages ----*/

struct batch {
    struct tn_buf body;
    int64_t *nodes; /* (length, null_count) pairs */
    size_t nnodes, cap_nodes;
    int64_t *bufs; /* (offset, length) pairs */
    size_t nbufs, cap_bufs;
};

static void add_pair(int64_t **v, size_t *n, size_t *cap, int64_t a, int64_t b)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *v = tn_realloc(*v, *cap * 2 * sizeof(**v));
    }
    (*v)[2 * *n] = a;
    (*v)[2 * *n + 1] = b;
    (*n)++;
}

static void add_buffer(struct batch *bt, const void *data, size_t n)
{
    static const char zeros[8];

    add_pair(&bt->bufs, &bt->nbufs, &bt->cap_bufs, (int64_t)bt->body.len, (int64_t)n);
    if (n)
        tn_buf_add(&bt->body, data, n, NULL);
    tn_buf_add(&bt->body, zeros, (8 - n % 8) % 8, NULL);
}

static int bit_set(const uint8_t *bits, int64_t i)
{
    return (bits[i / 8] >> (i % 8)) & 1;
}

/* "len" bits from bit "start" of "bits", moved to start at bit 0 when they do not already. Bits
 * past "len" in the last byte, and with "nulls" (a validity bitmap, or NULL) the bits of null
 * slots, are written as 0: what DuckDB left there is never sent, and equal arrays give equal
 * bytes. */
static void add_bits(struct batch *bt, const uint8_t *bits, const uint8_t *nulls, int64_t start,
                     int64_t len)
{
    size_t n = (size_t)(len + 7) / 8;
    uint8_t *tmp;

    if (start % 8 == 0 && len % 8 == 0 && !nulls) {
        add_buffer(bt, bits + start / 8, n);
        return;
    }
    tmp = tn_calloc(n + 1, 1);
    if (start % 8 == 0 && !nulls) {
        memcpy(tmp, bits + start / 8, n);
        tmp[n - 1] &= (uint8_t)((1u << (len % 8)) - 1);
    } else {
        for (int64_t i = 0; i < len; i++)
            if (bit_set(bits, start + i) && (!nulls || bit_set(nulls, start + i)))
                tmp[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    add_buffer(bt, tmp, n);
    free(tmp);
}

/* "len" values of "width" bytes from slot "start"; with "nulls" (a validity bitmap, or NULL)
 * the null slots are written as zeros. */
static void add_values(struct batch *bt, const char *values, const uint8_t *nulls, int width,
                       int64_t start, int64_t len)
{
    size_t n = (size_t)len * (size_t)width;
    char *tmp;

    if (!nulls || !n) {
        add_buffer(bt, n ? values + start * width : NULL, n);
        return;
    }
    tmp = tn_malloc(n);
    memcpy(tmp, values + start * width, n);
    for (int64_t i = 0; i < len; i++)
        if (!bit_set(nulls, start + i))
            memset(tmp + i * width, 0, (size_t)width);
    add_buffer(bt, tmp, n);
    free(tmp);
}

static int64_t count_nulls(const uint8_t *bits, int64_t start, int64_t len)
{
    int64_t nulls = 0;

    for (int64_t i = 0; i < len; i++)
        nulls += !bit_set(bits, start + i);
    return nulls;
}

/* Offsets [start, start + len] of a string or list array, rebased to begin at 0 (one 0 for an
 * empty slice); *first and *last are the child range (or byte range) they cover. */
static int add_offsets(struct batch *bt, const void *src, int wide, int64_t start, int64_t len,
                       int64_t *first, int64_t *last)
{
    size_t w = wide ? 8 : 4;
    unsigned char *tmp = tn_malloc(((size_t)len + 1) * w);
    int64_t prev = 0;

    *first = *last = 0;
    for (int64_t i = 0; i <= len; i++) {
        int64_t v = 0;
        if (src && wide)
            v = ((const int64_t *)src)[start + i];
        else if (src)
            v = ((const int32_t *)src)[start + i];
        if (i == 0)
            *first = v;
        if (v < *first || v < prev) {
            free(tmp);
            return -1;
        }
        prev = v;
        put_le(tmp + (size_t)i * w, (uint64_t)(v - *first), w);
    }
    *last = prev;
    add_buffer(bt, tmp, ((size_t)len + 1) * w);
    free(tmp);
    return 0;
}

/* Pre-order: the node of array "a" (schema "s") for physical slots [start, start + len), its
 * buffers, then its children. */
static int add_array(struct batch *bt, const struct ArrowSchema *s, const struct ArrowArray *a,
                     int64_t start, int64_t len, struct tn_err *err)
{
    const uint8_t *validity;
    struct atype t;
    int64_t nulls, first, last;

    parse_format(s->format, &t);
    if (a->n_buffers != n_buffers(t.layout) || a->n_children != s->n_children || start < 0 ||
        len < 0 || start + len > a->offset + a->length || (a->n_buffers && !a->buffers) ||
        (a->n_children && !a->children))
        return tn_fail(err, TN_EINTERNAL, "an Arrow array of type \"%s\" does not match its schema",
                       s->format);
    if (t.layout == L_NULL) {
        add_pair(&bt->nodes, &bt->nnodes, &bt->cap_nodes, len, len);
        return 0;
    }
    validity = a->buffers[0];
    if (!validity)
        nulls = 0;
    else if (start == a->offset && len == a->length && a->null_count >= 0)
        nulls = a->null_count;
    else
        nulls = count_nulls(validity, start, len);
    add_pair(&bt->nodes, &bt->nnodes, &bt->cap_nodes, len, nulls);
    if (nulls)
        add_bits(bt, validity, NULL, start, len);
    else
        add_buffer(bt, NULL, 0);
    if (len && t.layout != L_STRUCT && t.layout != L_FIXLIST && !a->buffers[1])
        return tn_fail(err, TN_EINTERNAL, "an Arrow array of type \"%s\" has no values", s->format);
    switch (t.layout) {
    case L_BITS:
        add_bits(bt, a->buffers[1], nulls ? validity : NULL, start, len);
        return 0;
    case L_FIXED:
        add_values(bt, a->buffers[1], nulls ? validity : NULL, t.width, start, len);
        return 0;
    case L_VAR32:
    case L_VAR64:
        if (add_offsets(bt, a->buffers[1], t.layout == L_VAR64, start, len, &first, &last) ||
            (last > first && !a->buffers[2]))
            break;
        add_buffer(bt, last > first ? (const char *)a->buffers[2] + first : NULL,
                   (size_t)(last - first));
        return 0;
    case L_LIST32:
    case L_LIST64:
        if (add_offsets(bt, a->buffers[1], t.layout == L_LIST64, start, len, &first, &last))
            break;
        return add_array(bt, s->children[0], a->children[0], a->children[0]->offset + first,
                         last - first, err);
    case L_FIXLIST:
        return add_array(bt, s->children[0], a->children[0],
                         a->children[0]->offset + start * t.width, len * t.width, err);
    case L_STRUCT:
        for (int64_t i = 0; i < a->n_children; i++)
            if (add_array(bt, s->children[i], a->children[i], a->children[i]->offset + start, len,
                          err))
                return err->code;
        return 0;
    case L_NULL:
        return 0;
    }
    return tn_fail(err, TN_EINTERNAL, "an Arrow array of type \"%s\" has bad offsets", s->format);
}

/* An array to write: its schema, and the first of its slots the message holds. */
struct column {
    const struct ArrowSchema *s;
    const struct ArrowArray *a;
    int64_t start;
};

/* Append one message holding "n" arrays of "length" slots: a RecordBatch, or when "dict_id" is
 * not negative the DictionaryBatch of that dictionary. */
static int batch_message(const struct column *cols, size_t n, int64_t length, int64_t dict_id,
                         struct tn_buf *out, struct tn_err *err)
{
    struct batch bt = {TN_BUF_INIT(TN_CAP_RESULT), NULL, 0, 0, NULL, 0, 0};
    struct fb b = {0};
    uint32_t nodes, bufs, rb, header;
    int rc = 0;

    for (size_t i = 0; !rc && i < n; i++)
        rc = add_array(&bt, cols[i].s, cols[i].a, cols[i].start, length, err);
    if (!rc) {
        nodes = fb_pairs(&b, bt.nodes, bt.nnodes);
        bufs = fb_pairs(&b, bt.bufs, bt.nbufs);
        fb_start(&b);
        fb_scalar(&b, 0, (uint64_t)length, 8);
        fb_ref(&b, 1, nodes);
        fb_ref(&b, 2, bufs);
        header = rb = fb_end(&b);
        if (dict_id >= 0) {
            fb_start(&b);
            fb_scalar(&b, 0, (uint64_t)dict_id, 8);
            fb_ref(&b, 1, rb);
            fb_scalar(&b, 2, 0, 1); /* isDelta: a whole dictionary */
            header = fb_end(&b);
        }
        fb_emit(&b,
                fb_message(&b, dict_id >= 0 ? H_DICTIONARY_BATCH : H_RECORD_BATCH, header,
                           (int64_t)bt.body.len),
                &bt.body, out);
    }
    free(b.buf);
    free(bt.nodes);
    free(bt.bufs);
    tn_buf_release(&bt.body);
    return rc;
}

/* Append the DictionaryBatch of every dictionary under "s"/"a" (in the schema's pre-order,
 * counting ids in *next_id) whose values differ from the last ones "w" sent. */
static int dictionaries(struct tn_arrow_ipc *w, const struct ArrowSchema *s,
                        const struct ArrowArray *a, int64_t *next_id, struct tn_buf *out,
                        struct tn_err *err)
{
    struct tn_buf msg = TN_BUF_INIT(TN_CAP_RESULT);
    struct column col;
    int64_t id;
    int rc;

    if (!s->dictionary) {
        if (a->n_children != s->n_children || (a->n_children && !a->children))
            return tn_fail(err, TN_EINTERNAL,
                           "an Arrow array of type \"%s\" does not match its schema", s->format);
        for (int64_t i = 0; i < s->n_children; i++)
            if (dictionaries(w, s->children[i], a->children[i], next_id, out, err))
                return err->code;
        return 0;
    }
    id = (*next_id)++;
    if (!a->dictionary)
        return tn_fail(err, TN_EINTERNAL, "a dictionary-encoded Arrow array has no dictionary");
    col.s = s->dictionary;
    col.a = a->dictionary;
    col.start = a->dictionary->offset;
    rc = batch_message(&col, 1, a->dictionary->length, id, &msg, err);
    if (!rc && ((size_t)id >= w->ndicts || w->dicts[id].len != msg.len ||
                memcmp(w->dicts[id].buf, msg.buf, msg.len) != 0)) {
        if ((size_t)id >= w->ndicts) {
            w->dicts = tn_realloc(w->dicts, ((size_t)id + 1) * sizeof(*w->dicts));
            for (size_t i = w->ndicts; i <= (size_t)id; i++)
                w->dicts[i] = (struct tn_buf)TN_BUF_INIT(TN_CAP_RESULT);
            w->ndicts = (size_t)id + 1;
        }
        tn_buf_add(out, msg.buf, msg.len, NULL);
        tn_buf_release(&w->dicts[id]);
        w->dicts[id] = msg;
        return 0;
    }
    tn_buf_release(&msg);
    return rc;
}

int tn_arrow_ipc_batch(struct tn_arrow_ipc *w, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, struct tn_buf *out, struct tn_err *err)
{
    struct tn_buf msgs = TN_BUF_INIT(TN_CAP_RESULT);
    struct column *cols;
    int64_t next_id = 0;
    int rc = 0;

    if (batch->n_children != schema->n_children || batch->offset < 0 || batch->length < 0 ||
        (batch->n_children && !batch->children))
        return tn_fail(err, TN_EINTERNAL, "an Arrow batch does not match its schema");
    cols = tn_calloc((size_t)schema->n_children + 1, sizeof(*cols));
    for (int64_t i = 0; !rc && i < schema->n_children; i++) {
        cols[i].s = schema->children[i];
        cols[i].a = batch->children[i];
        cols[i].start = batch->children[i]->offset + batch->offset;
        rc = dictionaries(w, cols[i].s, cols[i].a, &next_id, &msgs, err);
    }
    if (!rc)
        rc = batch_message(cols, (size_t)schema->n_children, batch->length, -1, &msgs, err);
    if (!rc)
        tn_buf_add(out, msgs.buf, msgs.len, NULL);
    else
        tn_arrow_ipc_release(w); /* what it recorded as sent was not: send it all again */
    free(cols);
    tn_buf_release(&msgs);
    return rc;
}

void tn_arrow_ipc_release(struct tn_arrow_ipc *w)
{
    for (size_t i = 0; i < w->ndicts; i++)
        tn_buf_release(&w->dicts[i]);
    free(w->dicts);
    w->dicts = NULL;
    w->ndicts = 0;
}

void tn_arrow_ipc_end(struct tn_buf *out)
{
    static const unsigned char eos[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};

    tn_buf_add(out, eos, sizeof(eos), NULL);
}
