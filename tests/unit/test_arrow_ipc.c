/* test_arrow_ipc.c - unit tests for src/engine/arrow_ipc.c: the messages are taken apart with a
 * minimal FlatBuffer reader written here (independent of the writer's builder) and their fields
 * and body bytes checked one by one. */
#include "tn_test.h"

#include <stdint.h>
#include <stdlib.h>

#include "engine/arrow_ipc.h"

/*---- Reading FlatBuffers ----*/

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t rd64(const unsigned char *p)
{
    return (int64_t)((uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32);
}

/* Field "id" of the table at "t", or NULL when the table leaves it out. */
static const unsigned char *field(const unsigned char *t, int id)
{
    const unsigned char *vt = t - (int32_t)rd32(t);
    unsigned vsize = (unsigned)(vt[0] | vt[1] << 8);
    unsigned off;

    if (4 + 2 * (unsigned)id >= vsize)
        return NULL;
    off = (unsigned)(vt[4 + 2 * id] | vt[5 + 2 * id] << 8);
    return off ? t + off : NULL;
}

/* The object a reference field points at. */
static const unsigned char *deref(const unsigned char *t, int id)
{
    const unsigned char *p = field(t, id);
    return p ? p + rd32(p) : NULL;
}

static long long int_field(const unsigned char *t, int id, int size)
{
    const unsigned char *p = field(t, id);
    if (!p)
        return 0; /* the default */
    if (size == 1)
        return p[0];
    if (size == 2)
        return (int16_t)(p[0] | p[1] << 8);
    return size == 4 ? (int32_t)rd32(p) : rd64(p);
}

/* Element i of a vector of tables. */
static const unsigned char *vec_table(const unsigned char *vec, uint32_t i)
{
    const unsigned char *p = vec + 4 + 4 * i;
    return p + rd32(p);
}

/* The message at *pos of "buf": checks the framing, returns its Message table and body, and
 * moves *pos past it. */
static const unsigned char *message(const struct tn_buf *b, size_t *pos, const unsigned char **body)
{
    const unsigned char *p = (const unsigned char *)b->buf + *pos;
    uint32_t len;
    const unsigned char *msg;

    CHECK(*pos + 8 <= b->len);
    CHECK_INT_EQ(rd32(p), 0xFFFFFFFFu);
    len = rd32(p + 4);
    CHECK_INT_EQ(len % 8, 0);
    CHECK_INT_EQ((*pos + 8 + len) % 8, 0);
    msg = p + 8 + rd32(p + 8);
    CHECK_INT_EQ(int_field(msg, 0, 2), 4); /* MetadataVersion V5 */
    *body = p + 8 + len;
    *pos += 8 + len + (size_t)int_field(msg, 3, 8);
    CHECK(*pos <= b->len);
    return msg;
}

static int str_is(const unsigned char *s, const char *want)
{
    return s && rd32(s) == strlen(want) && memcmp(s + 4, want, strlen(want)) == 0 &&
           s[4 + strlen(want)] == 0;
}

/*---- Test data: a struct of (a int32, s utf8) and its schema ----*/

struct fixture {
    struct ArrowSchema root, a, s, *kids[2];
    struct ArrowArray batch, col_a, col_s, *cols[2];
    const void *bufs_a[2], *bufs_s[3], *bufs_root[1];
};

static const uint8_t a_valid[1] = {0x05};        /* 1, NULL, 3, NULL */
static const int32_t a_values[4] = {1, 0, 3, 4}; /* the 4 sits in a null slot */
static const uint8_t s_valid[1] = {0x0d};        /* "x", NULL, "yz", "" */
static const int32_t s_offsets[5] = {0, 1, 1, 3, 3};
static const char s_data[] = "xyz";

static void fixture_init(struct fixture *f, int64_t offset, int64_t length)
{
    memset(f, 0, sizeof(*f));
    f->a.format = "i";
    f->a.name = "a";
    f->a.flags = ARROW_FLAG_NULLABLE;
    f->s.format = "u";
    f->s.name = "s";
    f->s.flags = ARROW_FLAG_NULLABLE;
    f->kids[0] = &f->a;
    f->kids[1] = &f->s;
    f->root.format = "+s";
    f->root.name = "";
    f->root.n_children = 2;
    f->root.children = f->kids;

    f->bufs_a[0] = a_valid;
    f->bufs_a[1] = a_values;
    f->col_a.length = 4;
    f->col_a.null_count = 2; /* bits 0b0101: rows 1 and 3 are null */
    f->col_a.n_buffers = 2;
    f->col_a.buffers = f->bufs_a;
    f->bufs_s[0] = s_valid;
    f->bufs_s[1] = s_offsets;
    f->bufs_s[2] = s_data;
    f->col_s.length = 4;
    f->col_s.null_count = 1;
    f->col_s.n_buffers = 3;
    f->col_s.buffers = f->bufs_s;
    f->cols[0] = &f->col_a;
    f->cols[1] = &f->col_s;
    f->bufs_root[0] = NULL;
    f->batch.length = length;
    f->batch.offset = offset;
    f->batch.n_buffers = 1;
    f->batch.buffers = f->bufs_root;
    f->batch.n_children = 2;
    f->batch.children = f->cols;
}

/*---- Tests ----*/

static void test_schema_message(void)
{
    struct fixture f;
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    const unsigned char *msg, *body, *schema, *fields, *fa, *fs, *type;
    size_t pos = 0;

    fixture_init(&f, 0, 4);
    CHECK_INT_EQ(tn_arrow_ipc_schema(&f.root, &out, &err), 0);
    msg = message(&out, &pos, &body);
    CHECK_INT_EQ(pos, out.len);
    CHECK_INT_EQ(int_field(msg, 1, 1), 1); /* header: Schema */
    CHECK_INT_EQ(int_field(msg, 3, 8), 0); /* no body */
    schema = deref(msg, 2);
    CHECK_INT_EQ(int_field(schema, 0, 2), 0); /* little-endian */
    fields = deref(schema, 1);
    CHECK_INT_EQ(rd32(fields), 2);
    fa = vec_table(fields, 0);
    fs = vec_table(fields, 1);
    CHECK(str_is(deref(fa, 0), "a"));
    CHECK_INT_EQ(int_field(fa, 1, 1), 1); /* nullable */
    CHECK_INT_EQ(int_field(fa, 2, 1), 2); /* Type.Int */
    type = deref(fa, 3);
    CHECK_INT_EQ(int_field(type, 0, 4), 32);
    CHECK_INT_EQ(int_field(type, 1, 1), 1); /* signed */
    CHECK_INT_EQ(rd32(deref(fa, 5)), 0);    /* no children */
    CHECK(str_is(deref(fs, 0), "s"));
    CHECK_INT_EQ(int_field(fs, 2, 1), 5); /* Type.Utf8 */
    CHECK(deref(fs, 3) != NULL);
    tn_buf_release(&out);
}

/* Timestamps keep their zone, decimals their precision and scale, maps their entries. */
static void test_schema_types(void)
{
    struct ArrowSchema ts = {.format = "tsu:UTC", .name = "t", .flags = ARROW_FLAG_NULLABLE};
    struct ArrowSchema dec = {.format = "d:10,2", .name = "d"};
    struct ArrowSchema key = {.format = "u", .name = "key"};
    struct ArrowSchema val = {.format = "tdD", .name = "value", .flags = ARROW_FLAG_NULLABLE};
    struct ArrowSchema *kv[2] = {&key, &val};
    struct ArrowSchema entries = {
        .format = "+s", .name = "entries", .n_children = 2, .children = kv};
    struct ArrowSchema *ent[1] = {&entries};
    struct ArrowSchema map = {.format = "+m", .name = "m", .n_children = 1, .children = ent};
    struct ArrowSchema *cols[3] = {&ts, &dec, &map};
    struct ArrowSchema root = {.format = "+s", .name = "", .n_children = 3, .children = cols};
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    const unsigned char *msg, *body, *fields, *f, *type, *e;
    size_t pos = 0;

    CHECK_INT_EQ(tn_arrow_ipc_schema(&root, &out, &err), 0);
    msg = message(&out, &pos, &body);
    fields = deref(deref(msg, 2), 1);
    f = vec_table(fields, 0);
    CHECK_INT_EQ(int_field(f, 2, 1), 10); /* Type.Timestamp */
    type = deref(f, 3);
    CHECK_INT_EQ(int_field(type, 0, 2), 2); /* MICROSECOND */
    CHECK(str_is(deref(type, 1), "UTC"));
    f = vec_table(fields, 1);
    CHECK_INT_EQ(int_field(f, 1, 1), 0); /* not nullable */
    CHECK_INT_EQ(int_field(f, 2, 1), 7); /* Type.Decimal */
    type = deref(f, 3);
    CHECK_INT_EQ(int_field(type, 0, 4), 10);
    CHECK_INT_EQ(int_field(type, 1, 4), 2);
    CHECK_INT_EQ(int_field(type, 2, 4), 128);
    f = vec_table(fields, 2);
    CHECK_INT_EQ(int_field(f, 2, 1), 17); /* Type.Map */
    CHECK_INT_EQ(rd32(deref(f, 5)), 1);
    e = vec_table(deref(f, 5), 0);
    CHECK(str_is(deref(e, 0), "entries"));
    CHECK_INT_EQ(int_field(e, 2, 1), 13); /* Struct_ */
    CHECK_INT_EQ(rd32(deref(e, 5)), 2);
    f = vec_table(deref(e, 5), 1);
    CHECK(str_is(deref(f, 0), "value"));
    CHECK_INT_EQ(int_field(f, 2, 1), 8);           /* Type.Date */
    CHECK_INT_EQ(int_field(deref(f, 3), 0, 2), 0); /* DAY, written although not the default */
    CHECK(field(deref(f, 3), 0) != NULL);
    tn_buf_release(&out);
}

static void check_batch(const struct tn_buf *out, size_t *pos, int64_t rows, const int64_t *nodes,
                        size_t nnodes, const int64_t *bufs, size_t nbufs,
                        const unsigned char **out_body)
{
    const unsigned char *msg, *rb, *v;

    msg = message(out, pos, out_body);
    CHECK_INT_EQ(int_field(msg, 1, 1), 3); /* header: RecordBatch */
    rb = deref(msg, 2);
    CHECK_INT_EQ(int_field(rb, 0, 8), rows);
    v = deref(rb, 1);
    CHECK_INT_EQ(rd32(v), nnodes);
    for (size_t i = 0; i < nnodes * 2 && i / 2 < rd32(v); i++)
        CHECK_INT_EQ(rd64(v + 4 + 8 * i), nodes[i]);
    CHECK_INT_EQ(((uintptr_t)(v + 4) - (uintptr_t)out->buf) % 8, 0); /* structs aligned */
    v = deref(rb, 2);
    CHECK_INT_EQ(rd32(v), nbufs);
    for (size_t i = 0; i < nbufs * 2 && i / 2 < rd32(v); i++)
        CHECK_INT_EQ(rd64(v + 4 + 8 * i), bufs[i]);
}

static void test_batch_with_nulls(void)
{
    static const int64_t nodes[] = {4, 2, 4, 1};
    /* validity a, values a, validity s, offsets s, bytes s: (offset, length), padded to 8 */
    static const int64_t bufs[] = {0, 1, 8, 16, 24, 1, 32, 20, 56, 3};
    static const int32_t sent[4] = {1, 0, 3, 0}; /* null slots are sent as zeros */
    struct fixture f;
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    struct tn_arrow_ipc w = {0};
    const unsigned char *body;
    size_t pos = 0;

    fixture_init(&f, 0, 4);
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &f.root, &f.batch, &out, &err), 0);
    check_batch(&out, &pos, 4, nodes, 2, bufs, 5, &body);
    CHECK_INT_EQ(pos, out.len);
    CHECK_INT_EQ(body[0], 0x05);
    CHECK_INT_EQ(memcmp(body + 8, sent, 16), 0);
    CHECK_INT_EQ(body[24], 0x0d);
    CHECK_INT_EQ(memcmp(body + 32, s_offsets, 20), 0);
    CHECK_INT_EQ(memcmp(body + 56, "xyz", 3), 0);
    CHECK_INT_EQ(body[59], 0); /* padding is zeros */
    tn_buf_release(&out);
    tn_arrow_ipc_release(&w);
}

/* A batch that starts at row 1: bitmaps shift to bit 0, string offsets start at 0, and a column
 * with no nulls in the slice gets an empty validity buffer. */
static void test_batch_slice(void)
{
    static const int64_t nodes[] = {2, 1, 2, 0};
    static const int64_t bufs[] = {0, 1, 8, 8, 16, 0, 16, 12, 32, 2};
    static const int32_t rebased[3] = {0, 0, 2};
    struct fixture f;
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    struct tn_arrow_ipc w = {0};
    const unsigned char *body;
    size_t pos = 0;

    fixture_init(&f, 1, 2);
    f.bufs_s[0] = NULL; /* "s" has no validity bitmap at all */
    f.col_s.null_count = 0;
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &f.root, &f.batch, &out, &err), 0);
    check_batch(&out, &pos, 2, nodes, 2, bufs, 5, &body);
    CHECK_INT_EQ(body[0] & 0x03, 0x02); /* rows 1, 2 of 0b0101: null, valid */
    CHECK_INT_EQ(memcmp(body + 8, a_values + 1, 8), 0);
    CHECK_INT_EQ(memcmp(body + 16, rebased, 12), 0);
    CHECK_INT_EQ(memcmp(body + 32, "yz", 2), 0);
    tn_buf_release(&out);
    tn_arrow_ipc_release(&w);
}

/* A list<bool> column from its second row: the list's offsets are rebased, its child is cut to
 * the values those rows cover, and a bool in a null slot is sent as 0. */
static void test_batch_nested_list(void)
{
    static const uint8_t list_valid[1] = {0x0b}; /* [t], [f, NULL], NULL, [t] */
    static const int32_t list_offsets[5] = {0, 1, 3, 3, 4};
    static const uint8_t item_valid[1] = {0x0b}; /* t, f, NULL, t */
    static const uint8_t item_bits[1] = {0x0d};  /* the NULL's bit is set */
    static const int64_t nodes[] = {3, 1, 3, 1};
    static const int64_t bufs[] = {0, 1, 8, 16, 24, 1, 32, 1};
    static const int32_t rebased[4] = {0, 2, 2, 3};
    struct ArrowSchema item = {.format = "b", .name = "item", .flags = ARROW_FLAG_NULLABLE};
    struct ArrowSchema *items[1] = {&item};
    struct ArrowSchema list = {.format = "+l", .name = "l", .n_children = 1, .children = items};
    struct ArrowSchema *cols[1] = {&list};
    struct ArrowSchema root = {.format = "+s", .name = "", .n_children = 1, .children = cols};
    const void *item_bufs[2] = {item_valid, item_bits};
    struct ArrowArray item_arr = {
        .length = 4, .null_count = 1, .n_buffers = 2, .buffers = item_bufs};
    struct ArrowArray *item_arrs[1] = {&item_arr};
    const void *list_bufs[2] = {list_valid, list_offsets};
    struct ArrowArray list_arr = {.length = 4,
                                  .null_count = 1,
                                  .n_buffers = 2,
                                  .buffers = list_bufs,
                                  .n_children = 1,
                                  .children = item_arrs};
    struct ArrowArray *col_arrs[1] = {&list_arr};
    const void *root_bufs[1] = {NULL};
    struct ArrowArray batch = {.length = 3,
                               .offset = 1,
                               .n_buffers = 1,
                               .buffers = root_bufs,
                               .n_children = 1,
                               .children = col_arrs};
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    struct tn_arrow_ipc w = {0};
    const unsigned char *body;
    size_t pos = 0;

    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &root, &batch, &out, &err), 0);
    check_batch(&out, &pos, 3, nodes, 2, bufs, 4, &body);
    CHECK_INT_EQ(body[0], 0x05); /* rows 1..3 of 0b1011: valid, null, valid */
    CHECK_INT_EQ(memcmp(body + 8, rebased, 16), 0);
    CHECK_INT_EQ(body[24], 0x05); /* items 1..3 of 0b1011: f, NULL, t */
    CHECK_INT_EQ(body[32], 0x04); /* f, NULL sent as 0, t */
    tn_buf_release(&out);
    tn_arrow_ipc_release(&w);
}

/* Field metadata (how DuckDB marks extension types) becomes the field's custom_metadata. */
static void test_schema_metadata(void)
{
    static const char md[] = "\x01\0\0\0"
                             "\x14\0\0\0ARROW:extension:name"
                             "\x0b\0\0\0arrow.uhuge";
    struct ArrowSchema col = {.format = "w:16", .name = "h", .metadata = md};
    struct ArrowSchema *cols[1] = {&col};
    struct ArrowSchema root = {.format = "+s", .name = "", .n_children = 1, .children = cols};
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    const unsigned char *msg, *body, *f, *kv;
    size_t pos = 0;

    CHECK_INT_EQ(tn_arrow_ipc_schema(&root, &out, &err), 0);
    msg = message(&out, &pos, &body);
    f = vec_table(deref(deref(msg, 2), 1), 0);
    CHECK_INT_EQ(int_field(f, 2, 1), 15);           /* FixedSizeBinary */
    CHECK_INT_EQ(int_field(deref(f, 3), 0, 4), 16); /* byteWidth */
    CHECK_INT_EQ(rd32(deref(f, 6)), 1);
    kv = vec_table(deref(f, 6), 0);
    CHECK(str_is(deref(kv, 0), "ARROW:extension:name"));
    CHECK(str_is(deref(kv, 1), "arrow.uhuge"));
    tn_buf_release(&out);
}

/* Messages of "out" from *pos: their header types, as digits ("23": dictionary, record batch). */
static void header_types(const struct tn_buf *out, size_t *pos, char *types, size_t cap)
{
    const unsigned char *body;
    size_t n = 0;

    while (*pos < out->len && n + 1 < cap)
        types[n++] = (char)('0' + int_field(message(out, pos, &body), 1, 1));
    types[n] = '\0';
}

/* An ENUM-like column: uint8 indices into utf8 values. The schema says so, the values go in a
 * DictionaryBatch before the first batch, and again only when they change. */
static void test_dictionary(void)
{
    static const char *const values1 = "lowhigh", *const values2 = "lowmid";
    static const int32_t offsets[3] = {0, 3, 7}, offsets2[3] = {0, 3, 6};
    static const uint8_t idx[3] = {1, 0, 1};
    struct ArrowSchema vals = {.format = "u", .name = ""};
    struct ArrowSchema col = {
        .format = "C", .name = "mood", .flags = ARROW_FLAG_NULLABLE, .dictionary = &vals};
    struct ArrowSchema *cols[1] = {&col};
    struct ArrowSchema root = {.format = "+s", .name = "", .n_children = 1, .children = cols};
    const void *dict_bufs[3] = {NULL, offsets, values1};
    struct ArrowArray dict = {.length = 2, .n_buffers = 3, .buffers = dict_bufs};
    const void *idx_bufs[2] = {NULL, idx};
    struct ArrowArray arr = {.length = 3, .n_buffers = 2, .buffers = idx_bufs, .dictionary = &dict};
    struct ArrowArray *arrs[1] = {&arr};
    const void *root_bufs[1] = {NULL};
    struct ArrowArray batch = {
        .length = 3, .n_buffers = 1, .buffers = root_bufs, .n_children = 1, .children = arrs};
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    struct tn_arrow_ipc w = {0};
    const unsigned char *msg, *body, *f, *enc, *db, *rb;
    char types[8];
    size_t pos = 0;

    CHECK_INT_EQ(tn_arrow_ipc_schema(&root, &out, &err), 0);
    msg = message(&out, &pos, &body);
    f = vec_table(deref(deref(msg, 2), 1), 0);
    CHECK_INT_EQ(int_field(f, 2, 1), 5); /* the values' type: Utf8 */
    enc = deref(f, 4);
    CHECK(enc != NULL);
    CHECK_INT_EQ(int_field(enc, 0, 8), 0);           /* id */
    CHECK_INT_EQ(int_field(deref(enc, 1), 0, 4), 8); /* indices: 8 bits */
    CHECK_INT_EQ(int_field(deref(enc, 1), 1, 1), 0); /* unsigned */
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &root, &batch, &out, &err), 0);
    msg = message(&out, &pos, &body);
    CHECK_INT_EQ(int_field(msg, 1, 1), 2); /* DictionaryBatch */
    db = deref(msg, 2);
    CHECK_INT_EQ(int_field(db, 0, 8), 0);
    rb = deref(db, 1);
    CHECK_INT_EQ(int_field(rb, 0, 8), 2);       /* two values */
    CHECK_INT_EQ(memcmp(body, offsets, 12), 0); /* after an empty validity buffer */
    CHECK_INT_EQ(memcmp(body + 16, "lowhigh", 7), 0);
    msg = message(&out, &pos, &body);
    CHECK_INT_EQ(int_field(msg, 1, 1), 3); /* then the RecordBatch of indices */
    CHECK_INT_EQ(memcmp(body, idx, 3), 0);
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &root, &batch, &out, &err), 0);
    header_types(&out, &pos, types, sizeof(types));
    CHECK_STR_EQ(types, "3"); /* the same dictionary is not sent again */
    dict_bufs[1] = offsets2;
    dict_bufs[2] = values2;
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &root, &batch, &out, &err), 0);
    header_types(&out, &pos, types, sizeof(types));
    CHECK_STR_EQ(types, "23"); /* a changed one replaces it */
    tn_buf_release(&out);
    tn_arrow_ipc_release(&w);
}

static void test_refuses_unsupported(void)
{
    struct fixture f;
    struct ArrowSchema inner = {.format = "u"};
    struct ArrowSchema dict = {.format = "u"};
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};

    fixture_init(&f, 0, 4);
    dict.dictionary = &inner; /* a dictionary in a dictionary's values */
    dict.format = "C";
    f.s.dictionary = &dict;
    f.s.format = "C";
    CHECK_INT_EQ(tn_arrow_ipc_schema(&f.root, &out, &err), TN_EINPUT);
    CHECK(strstr(err.msg, "column \"s\"") && strstr(err.msg, "CAST it to VARCHAR"));
    f.s.dictionary = NULL;
    f.s.format = "+us:0";
    CHECK_INT_EQ(tn_arrow_ipc_schema(&f.root, &out, &err), TN_EINPUT);
    CHECK(strstr(err.msg, "column \"s\"") && strstr(err.msg, "union"));
    f.s.format = "vu";
    CHECK_INT_EQ(tn_arrow_ipc_schema(&f.root, &out, &err), TN_EINPUT);
    CHECK(strstr(err.msg, "view") != NULL);
    f.s.format = "d:5,2,64";
    CHECK_INT_EQ(tn_arrow_ipc_schema(&f.root, &out, &err), TN_EINPUT);
    CHECK_INT_EQ(out.len, 0);
    tn_buf_release(&out);
}

static void test_batch_shape_mismatch(void)
{
    struct fixture f;
    struct tn_buf out = TN_BUF_INIT(0);
    struct tn_err err = {0};
    struct tn_arrow_ipc w = {0};

    fixture_init(&f, 0, 4);
    f.col_s.n_buffers = 2; /* a string array needs three */
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &f.root, &f.batch, &out, &err), TN_EINTERNAL);
    CHECK_INT_EQ(out.len, 0);
    fixture_init(&f, 3, 2); /* rows 3 and 4 of four */
    CHECK_INT_EQ(tn_arrow_ipc_batch(&w, &f.root, &f.batch, &out, &err), TN_EINTERNAL);
    CHECK_INT_EQ(out.len, 0);
    tn_buf_release(&out);
    tn_arrow_ipc_release(&w);
}

static void test_end_marker(void)
{
    static const unsigned char want[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    struct tn_buf out = TN_BUF_INIT(0);

    tn_arrow_ipc_end(&out);
    CHECK_INT_EQ(out.len, 8);
    CHECK_INT_EQ(memcmp(out.buf, want, 8), 0);
    tn_buf_release(&out);
}

static const struct tn_test arrow_ipc_tests[] = {
    {"schema message fields", test_schema_message},
    {"schema keeps zone, decimal and map details", test_schema_types},
    {"batch with nulls, byte by byte", test_batch_with_nulls},
    {"batch of a slice is rebased", test_batch_slice},
    {"nested list of bools from a slice", test_batch_nested_list},
    {"field metadata is kept", test_schema_metadata},
    {"dictionaries are sent once and when they change", test_dictionary},
    {"unsupported types are refused by column", test_refuses_unsupported},
    {"a batch that does not fit its schema is refused", test_batch_shape_mismatch},
    {"end-of-stream marker", test_end_marker},
    {NULL, NULL},
};
TN_SUITE(arrow_ipc_tests)
