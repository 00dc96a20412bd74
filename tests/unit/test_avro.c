/* test_avro.c - unit tests for src/avro: encoding primitives, writer/reader round trips for every
 * codec, real Iceberg manifests and manifest lists from the shared fixtures, and hostile input
 * (truncation, corrupt sync markers, huge lengths, bad CRCs) that must fail cleanly. */
#include "tn_test.h"

#include <ftw.h>
#include <stdlib.h>

#include <snappy-c.h>
#include <zlib.h>

#include "avro/avro.h"

#define FIXTURES "/iceberg-fixtures/duckdb-iceberg/data/persistent/"

/*---- Helpers ----*/

/* Read a whole file; NULL (and a test failure) if it cannot be read. */
static char *slurp(const char *path, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (!fp) {
        tn_test_failed(__FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        data = tn_malloc((size_t)n + 1);
        if (fread(data, 1, (size_t)n, fp) != (size_t)n) {
            free(data);
            data = NULL;
        } else {
            *out_len = (size_t)n;
        }
    }
    fclose(fp);
    if (!data)
        tn_test_failed(__FILE__, __LINE__, "cannot read %s", path);
    return data;
}

/* A fixture under ../shared; a missing shared folder fails the test (it must not skip). */
static char *fixture(const char *rel, size_t *out_len)
{
    const char *shared = tn_test_shared_dir();
    char *path, *data;

    if (!shared) {
        tn_test_failed(__FILE__, __LINE__, "../shared (the Iceberg fixtures) is missing");
        return NULL;
    }
    path = tn_asprintf("%s%s", shared, rel);
    data = slurp(path, out_len);
    free(path);
    return data;
}

/* The fixture file "rel" read as Avro; NULL (a failed check) when it is missing or does not
 * read. */
static struct tn_avro_file *fixture_file(const char *rel)
{
    struct tn_err err = {0};
    struct tn_avro_file *f = NULL;
    size_t len = 0;
    char *data = fixture(rel, &len);

    if (!data)
        return NULL;
    CHECK_OK(tn_avro_read(data, len, &f, &err));
    free(data); /* the file keeps no pointer into the input */
    return f;
}

static int bytes_eq(const char *p, size_t n, const char *s)
{
    return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

static char *hex(const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = tn_malloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[(unsigned char)p[i] >> 4];
        s[2 * i + 1] = digits[(unsigned char)p[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

#define CHECK_BYTES(p, n, s) CHECK(bytes_eq((p), (n), (s)))

#define CHECK_HEX(p, n, expect)                                                                    \
    do {                                                                                           \
        char *h_ = (p) ? hex((p), (n)) : NULL;                                                     \
        CHECK_STR_EQ(h_, (expect));                                                                \
        free(h_);                                                                                  \
    } while (0)

/* The file-level view of a test: a header written by hand, so hostile files can be built. */
static void put_header(struct tn_buf *b, const char *schema, const char *codec,
                       const unsigned char sync[16])
{
    tn_buf_add(b, "Obj\x01", 4, NULL);
    tn_avro_put_long(b, codec ? 2 : 1);
    tn_avro_put_string(b, "avro.schema");
    tn_avro_put_string(b, schema);
    if (codec) {
        tn_avro_put_string(b, "avro.codec");
        tn_avro_put_string(b, codec);
    }
    tn_avro_put_long(b, 0);
    tn_buf_add(b, sync, 16, NULL);
}

static void put_block(struct tn_buf *b, int64_t count, const void *data, size_t n,
                      const unsigned char sync[16])
{
    tn_avro_put_long(b, count);
    tn_avro_put_long(b, (int64_t)n);
    tn_buf_add(b, data, n, NULL);
    tn_buf_add(b, sync, 16, NULL);
}

static const unsigned char test_sync[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                            5,    6,    7,    8,    9, 10, 11, 12};

/* Read "b" expecting failure with "code"; the message must contain "needle". */
static void expect_fail(const struct tn_buf *b, int code, const char *needle, int line)
{
    struct tn_err err = {0};
    struct tn_avro_file *f = NULL;
    int rc = tn_avro_read(b->buf, b->len, &f, &err);

    if (rc != code)
        tn_test_failed(__FILE__, line, "expected error %d, got %d (%s)", code, rc, err.msg);
    else if (!strstr(err.msg, needle))
        tn_test_failed(__FILE__, line, "\"%s\" should contain \"%s\"", err.msg, needle);
    if (!rc)
        tn_avro_file_free(f);
}
#define EXPECT_FAIL(b, code, needle) expect_fail((b), (code), (needle), __LINE__)

/*---- Encoding ----*/

static void test_put_primitives(void)
{
    struct tn_buf b = TN_BUF_INIT(0);
    struct {
        int64_t v;
        const char *hex;
    } longs[] = {
        {0, "00"},
        {-1, "01"},
        {1, "02"},
        {-64, "7f"},
        {64, "8001"},
        {300, "d804"},
        {INT64_MAX, "feffffffffffffffff01"},
        {INT64_MIN, "ffffffffffffffffff01"},
    };

    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        tn_buf_reset(&b);
        tn_avro_put_long(&b, longs[i].v);
        CHECK_HEX(b.buf, b.len, longs[i].hex);
    }
    tn_buf_reset(&b);
    tn_avro_put_float(&b, 1.5f);
    tn_avro_put_double(&b, -2.0);
    tn_avro_put_bool(&b, 7);
    tn_avro_put_bool(&b, 0);
    CHECK_HEX(b.buf, b.len, "0000c03f00000000000000c00100");
    tn_buf_reset(&b);
    tn_avro_put_string(&b, "hi");
    tn_avro_put_bytes(&b, "\x00\xff", 2);
    tn_avro_put_fixed(&b, "ab", 2);
    tn_avro_put_string(&b, "");
    CHECK_HEX(b.buf, b.len,
              "046869"
              "0400ff"
              "6162"
              "00");
    tn_buf_release(&b);
}

/*---- Round trips ----*/

/* A manifest-like schema: ints, longs, strings, bytes, nullable unions, a nested record, an
 * Iceberg map (array of key/value records with logicalType map), a plain array, and one of each
 * remaining Avro type. Field ids are deliberately not in schema order. */
static const char rt_schema[] =
    "{\"type\": \"record\", \"name\": \"manifest_entry\", \"namespace\": \"tn.test\", \"fields\": ["
    "{\"name\": \"status\", \"type\": \"int\", \"field-id\": 0},"
    "{\"name\": \"snapshot_id\", \"type\": [\"null\", \"long\"], \"default\": null, "
    "\"field-id\": 1},"
    "{\"name\": \"data_file\", \"field-id\": 2, \"type\": {\"type\": \"record\", \"name\": \"r2\", "
    "\"fields\": ["
    "  {\"name\": \"file_path\", \"type\": \"string\", \"doc\": \"Location URI\", "
    "\"field-id\": 100},"
    "  {\"name\": \"record_count\", \"type\": \"long\", \"field-id\": 103},"
    "  {\"name\": \"column_sizes\", \"type\": [\"null\", {\"type\": \"array\", \"logicalType\": "
    "\"map\", \"items\": {\"type\": \"record\", \"name\": \"k117_v118\", \"fields\": ["
    "{\"name\": \"key\", \"type\": \"int\", \"field-id\": 117},"
    "{\"name\": \"value\", \"type\": \"long\", \"field-id\": 118}]}}], \"default\": null, "
    "\"field-id\": 108},"
    "  {\"name\": \"key_metadata\", \"type\": [\"null\", \"bytes\"], \"default\": null, "
    "\"field-id\": 131},"
    "  {\"name\": \"split_offsets\", \"type\": [\"null\", {\"type\": \"array\", \"items\": "
    "\"long\", \"element-id\": 133}], \"default\": null, \"field-id\": 132}"
    "]}},"
    "{\"name\": \"extras\", \"field-id\": 900, \"type\": {\"type\": \"record\", \"name\": "
    "\"extras\", \"fields\": ["
    "  {\"name\": \"flag\", \"type\": \"boolean\", \"field-id\": 901},"
    "  {\"name\": \"ratio\", \"type\": \"float\", \"field-id\": 902},"
    "  {\"name\": \"score\", \"type\": \"double\", \"field-id\": 903},"
    "  {\"name\": \"digest\", \"type\": {\"type\": \"fixed\", \"name\": \"md5\", \"size\": 4}, "
    "\"field-id\": 904},"
    "  {\"name\": \"kind\", \"type\": {\"type\": \"enum\", \"name\": \"kind\", \"symbols\": "
    "[\"DATA\", \"DELETES\"]}, \"field-id\": 905},"
    "  {\"name\": \"props\", \"type\": {\"type\": \"map\", \"values\": \"string\", \"key-id\": "
    "907, "
    "\"value-id\": 908}, \"field-id\": 906},"
    "  {\"name\": \"day\", \"type\": {\"type\": \"int\", \"logicalType\": \"date\"}, "
    "\"field-id\": 909},"
    "  {\"name\": \"other_digest\", \"type\": \"md5\", \"field-id\": 910},"
    "  {\"name\": \"other_kind\", \"type\": [\"null\", \"tn.test.kind\"], \"field-id\": 911}"
    "]}}"
    "]}";

/* Encode entry number i of the round-trip data set. */
static void put_rt_record(struct tn_buf *b, int64_t i)
{
    char path[64];

    tn_avro_put_long(b, i % 3); /* status */
    if (i % 2) {                /* snapshot_id: null for odd i */
        tn_avro_put_long(b, 0);
    } else {
        tn_avro_put_long(b, 1);
        tn_avro_put_long(b, INT64_MAX - i);
    }
    snprintf(path, sizeof(path), "s3://bucket/data/file-%06lld.parquet", (long long)i);
    tn_avro_put_string(b, path);   /* data_file.file_path */
    tn_avro_put_long(b, i * 1000); /* record_count */
    tn_avro_put_long(b, 1);        /* column_sizes: the array branch */
    tn_avro_put_long(b, 2);        /* one block of 2 entries */
    tn_avro_put_long(b, 1);
    tn_avro_put_long(b, 128 + i);
    tn_avro_put_long(b, 2);
    tn_avro_put_long(b, -5);
    tn_avro_put_long(b, 0);
    if (i % 4 == 1) { /* key_metadata */
        tn_avro_put_long(b, 1);
        tn_avro_put_bytes(b, "\x00\x01\x02", 3);
    } else {
        tn_avro_put_long(b, 0);
    }
    tn_avro_put_long(b, 1); /* split_offsets: [4, i] in two blocks */
    tn_avro_put_long(b, 1);
    tn_avro_put_long(b, 4);
    tn_avro_put_long(b, -1); /* a block with its byte size */
    tn_avro_put_long(b, 1);
    tn_avro_put_long(b, i);
    tn_avro_put_long(b, 0);
    tn_avro_put_bool(b, i % 2 == 0);             /* extras.flag */
    tn_avro_put_float(b, 0.25f);                 /* ratio */
    tn_avro_put_double(b, -1.5e300);             /* score */
    tn_avro_put_fixed(b, "\xca\xfe\xba\xbe", 4); /* digest */
    tn_avro_put_long(b, 1);                      /* kind: DELETES */
    tn_avro_put_long(b, 1);                      /* props: {"a": "x"} */
    tn_avro_put_string(b, "a");
    tn_avro_put_string(b, "x");
    tn_avro_put_long(b, 0);
    tn_avro_put_long(b, 19000);                  /* day */
    tn_avro_put_fixed(b, "\x01\x02\x03\x04", 4); /* other_digest */
    tn_avro_put_long(b, 1);                      /* other_kind: DATA */
    tn_avro_put_long(b, 0);
}

static void check_rt_record(const struct tn_avro_value *r, int64_t i)
{
    const struct tn_avro_value *df, *v, *ex;
    char path[64];
    const char *p;
    size_t n;

    CHECK_INT_EQ(r->type, TN_AVRO_RECORD);
    CHECK_INT_EQ(tn_avro_field_i64(r, 0, -1), i % 3);
    v = tn_avro_field(r, 1);
    CHECK(v != NULL);
    if (i % 2) {
        CHECK(v && v->type == TN_AVRO_NULL);
        CHECK_INT_EQ(tn_avro_field_i64(r, 1, -7), -7);
    } else {
        CHECK(v && v->type == TN_AVRO_LONG);
        CHECK(tn_avro_field_i64(r, 1, -7) == INT64_MAX - i);
    }
    df = tn_avro_field(r, 2);
    CHECK(df && df->type == TN_AVRO_RECORD);
    snprintf(path, sizeof(path), "s3://bucket/data/file-%06lld.parquet", (long long)i);
    p = tn_avro_field_str(df, 100, &n);
    CHECK_BYTES(p, n, path);
    CHECK_INT_EQ(tn_avro_field_i64(df, 103, -1), i * 1000);

    v = tn_avro_field(df, 108);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 2);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 2) {
        CHECK_STR_EQ(v->schema->logical_type, "map");
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[0], 117, -1), 1);
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[0], 118, -1), 128 + i);
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[1], 117, -1), 2);
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[1], 118, -1), -5);
    }
    p = tn_avro_field_str(df, 131, &n);
    if (i % 4 == 1) {
        CHECK(p && n == 3 && memcmp(p, "\x00\x01\x02", 3) == 0);
    } else {
        CHECK(p == NULL);
        CHECK(tn_avro_field(df, 131) && tn_avro_field(df, 131)->type == TN_AVRO_NULL);
    }
    v = tn_avro_field(df, 132);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 2);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 2) {
        CHECK_INT_EQ(v->schema->element_id, 133);
        CHECK_INT_EQ(v->u.list.items[0].u.i, 4);
        CHECK_INT_EQ(v->u.list.items[1].u.i, i);
    }

    ex = tn_avro_field(r, 900);
    CHECK(ex && ex->type == TN_AVRO_RECORD);
    v = tn_avro_field(ex, 901);
    CHECK(v && v->type == TN_AVRO_BOOLEAN && v->u.boolean == (i % 2 == 0));
    v = tn_avro_field(ex, 902);
    CHECK(v && v->type == TN_AVRO_FLOAT && v->u.d == 0.25);
    v = tn_avro_field(ex, 903);
    CHECK(v && v->type == TN_AVRO_DOUBLE && v->u.d == -1.5e300);
    v = tn_avro_field(ex, 904);
    CHECK(v && v->type == TN_AVRO_FIXED && v->u.bytes.n == 4 &&
          memcmp(v->u.bytes.p, "\xca\xfe\xba\xbe", 4) == 0);
    CHECK(v && v->schema->fixed_size == 4 && v->schema->name && !strcmp(v->schema->name, "md5"));
    v = tn_avro_field(ex, 905);
    CHECK(v && v->type == TN_AVRO_ENUM && v->u.i == 1);
    CHECK(v && v->schema->nfields == 2 && !strcmp(v->schema->symbols[1], "DELETES"));
    v = tn_avro_field(ex, 906);
    CHECK(v && v->type == TN_AVRO_MAP && v->u.list.n == 2);
    if (v && v->type == TN_AVRO_MAP && v->u.list.n == 2) {
        CHECK_INT_EQ(v->schema->key_id, 907);
        CHECK_INT_EQ(v->schema->value_id, 908);
        CHECK(v->u.list.items[0].type == TN_AVRO_STRING);
        CHECK_BYTES(v->u.list.items[0].u.bytes.p, v->u.list.items[0].u.bytes.n, "a");
        CHECK_BYTES(v->u.list.items[1].u.bytes.p, v->u.list.items[1].u.bytes.n, "x");
    }
    v = tn_avro_field(ex, 909);
    CHECK(v && v->type == TN_AVRO_INT && v->u.i == 19000);
    CHECK(v && v->schema->logical_type && !strcmp(v->schema->logical_type, "date"));
    p = tn_avro_field_str(ex, 910, &n); /* a named-type reference by short name */
    CHECK(p && n == 4 && memcmp(p, "\x01\x02\x03\x04", 4) == 0);
    v = tn_avro_field(ex, 911); /* ... and by full name inside a union */
    CHECK(v && v->type == TN_AVRO_ENUM && v->u.i == 0);
}

/* Write n records with "codec", read them back and check every one; returns the file. */
static char *round_trip(enum tn_avro_codec codec, const char *codec_name, int64_t nrec,
                        size_t *out_len, unsigned char sync[16])
{
    struct tn_err err = {0};
    struct tn_avro_writer w;
    struct tn_avro_file *f = NULL;
    struct tn_avro_meta meta[] = {{"format-version", "2"}, {"content", "data"}, {NULL, NULL}};
    char *out = NULL;
    size_t len = 0, n;
    const char *p;

    CHECK_OK(tn_avro_writer_init(&w, rt_schema, meta, codec, &err));
    memcpy(sync, w.sync, 16);
    for (int64_t i = 0; i < nrec; i++) {
        put_rt_record(tn_avro_writer_record(&w), i);
        CHECK_OK(tn_avro_writer_end_record(&w, &err));
    }
    CHECK_INT_EQ(w.total_count, nrec);
    CHECK_OK(tn_avro_writer_finish(&w, &out, &len, &err));
    if (!out)
        return NULL;
    CHECK_OK(tn_avro_read(out, len, &f, &err));
    if (!f)
        return out;
    CHECK_INT_EQ(f->nrecords, nrec);
    for (int64_t i = 0; i < nrec && (size_t)i < f->nrecords; i++)
        check_rt_record(&f->records[i], i);
    p = tn_avro_meta_get(f, "avro.schema", &n);
    CHECK(p && n == strlen(rt_schema) && memcmp(p, rt_schema, n) == 0); /* byte for byte */
    CHECK_STR_EQ(tn_avro_meta_get(f, "avro.codec", NULL), codec_name);
    CHECK_STR_EQ(tn_avro_meta_get(f, "format-version", &n), "2");
    CHECK_INT_EQ(n, 1);
    CHECK_STR_EQ(tn_avro_meta_get(f, "content", NULL), "data");
    CHECK(tn_avro_meta_get(f, "schema-id", &n) == NULL);
    CHECK(f->schema->type == TN_AVRO_RECORD && !strcmp(f->schema->name, "manifest_entry"));
    CHECK_INT_EQ(f->schema->nfields, 4);
    CHECK_INT_EQ(f->schema->fields[2].field_id, 2);
    tn_avro_file_free(f);
    *out_len = len;
    return out;
}

/* How many blocks a file written with sync marker "sync" has (the header holds one marker). */
static size_t count_syncs(const char *data, size_t len, const unsigned char sync[16])
{
    size_t n = 0;
    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(data + i, sync, 16) == 0)
            n++;
    return n ? n - 1 : 0;
}

static void test_round_trip_null(void)
{
    unsigned char sync[16];
    size_t len = 0;
    char *out = round_trip(TN_AVRO_CODEC_NULL, "null", 10, &len, sync);
    CHECK_INT_EQ(count_syncs(out, len, sync), 1);
    free(out);
}

static void test_round_trip_deflate(void)
{
    unsigned char sync[16];
    size_t len = 0;
    char *out = round_trip(TN_AVRO_CODEC_DEFLATE, "deflate", 10, &len, sync);
    free(out);
}

static void test_round_trip_zstd(void)
{
    unsigned char sync[16];
    size_t len = 0;
    char *out = round_trip(TN_AVRO_CODEC_ZSTD, "zstandard", 10, &len, sync);
    free(out);
}

static void test_multi_block(void)
{
    static const struct {
        enum tn_avro_codec codec;
        const char *name;
    } codecs[] = {
        {TN_AVRO_CODEC_NULL, "null"},
        {TN_AVRO_CODEC_DEFLATE, "deflate"},
        {TN_AVRO_CODEC_ZSTD, "zstandard"},
    };

    /* About 100 bytes per record: 3000 records are several 64 KiB blocks. */
    for (size_t c = 0; c < 3; c++) {
        unsigned char sync[16];
        size_t len = 0;
        char *out = round_trip(codecs[c].codec, codecs[c].name, 3000, &len, sync);
        CHECK(count_syncs(out, len, sync) >= 4);
        free(out);
    }
}

static void test_empty_file(void)
{
    struct tn_err err = {0};
    struct tn_avro_writer w;
    struct tn_avro_file *f = NULL;
    char *out = NULL;
    size_t len = 0;

    CHECK_OK(tn_avro_writer_init(&w, "\"long\"", NULL, TN_AVRO_CODEC_DEFLATE, &err));
    CHECK_OK(tn_avro_writer_finish(&w, &out, &len, &err));
    CHECK_OK(tn_avro_read(out, len, &f, &err));
    CHECK(f && f->nrecords == 0 && f->schema->type == TN_AVRO_LONG);
    tn_avro_file_free(f);
    free(out);
}

static void test_writer_rejects_misuse(void)
{
    struct tn_err err = {0};
    struct tn_avro_writer w;
    struct tn_avro_meta reserved[] = {{"avro.codec", "null"}, {NULL, NULL}};

    CHECK(tn_avro_writer_init(&w, "\"long\"", NULL, TN_AVRO_CODEC_SNAPPY, &err) != 0);
    CHECK(tn_avro_writer_init(&w, "{\"type\": ", NULL, TN_AVRO_CODEC_NULL, &err) != 0);
    CHECK(tn_avro_writer_init(&w, "\"long\"", reserved, TN_AVRO_CODEC_NULL, &err) != 0);
    CHECK_CONTAINS(err.msg, "reserved");
    tn_avro_writer_release(&w); /* harmless after a failed init */
}

/* The same ids under different names and positions (like Iceberg-Java before and after 1.5)
 * are found the same way. */
static void test_field_by_id(void)
{
    static const char *schemas[] = {
        "{\"type\": \"record\", \"name\": \"manifest_file\", \"fields\": ["
        "{\"name\": \"manifest_path\", \"type\": \"string\", \"field-id\": 500},"
        "{\"name\": \"added_files_count\", \"type\": \"int\", \"field-id\": 504},"
        "{\"name\": \"added_rows_count\", \"type\": [\"null\", \"long\"], \"field-id\": 512}]}",
        "{\"type\": \"record\", \"fields\": [" /* anonymous, as Avro does not allow */
        "{\"name\": \"added_rows_count\", \"type\": [\"null\", \"long\"], \"field-id\": 512},"
        "{\"name\": \"no_id\", \"type\": \"int\"},"
        "{\"name\": \"added_data_files_count\", \"type\": \"int\", \"field-id\": 504},"
        "{\"name\": \"manifest_path\", \"type\": \"string\", \"field-id\": 500}]}",
    };

    for (int s = 0; s < 2; s++) {
        struct tn_err err = {0};
        struct tn_avro_writer w;
        struct tn_avro_file *f = NULL;
        struct tn_buf *b;
        char *out = NULL;
        size_t len = 0, n = 0;
        const char *p;

        CHECK_OK(tn_avro_writer_init(&w, schemas[s], NULL, TN_AVRO_CODEC_NULL, &err));
        b = tn_avro_writer_record(&w);
        if (s == 0) {
            tn_avro_put_string(b, "m0.avro");
            tn_avro_put_long(b, 7);
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, 70);
        } else {
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, 70);
            tn_avro_put_long(b, -3);
            tn_avro_put_long(b, 7);
            tn_avro_put_string(b, "m0.avro");
        }
        CHECK_OK(tn_avro_writer_end_record(&w, &err));
        CHECK_OK(tn_avro_writer_finish(&w, &out, &len, &err));
        CHECK_OK(tn_avro_read(out, len, &f, &err));
        if (f && f->nrecords == 1) {
            const struct tn_avro_value *r = &f->records[0];
            p = tn_avro_field_str(r, 500, &n);
            CHECK_BYTES(p, n, "m0.avro");
            CHECK_INT_EQ(tn_avro_field_i64(r, 504, -1), 7);
            CHECK_INT_EQ(tn_avro_field_i64(r, 512, -1), 70);
            CHECK(tn_avro_field(r, 505) == NULL);
            CHECK_INT_EQ(tn_avro_field_i64(r, 505, -9), -9);
            CHECK(tn_avro_field_str(r, 504, &n) == NULL);             /* not a string */
            CHECK(tn_avro_field(r, -1) == NULL);                      /* "no id" is not an id */
            CHECK(tn_avro_field(tn_avro_field(r, 500), 500) == NULL); /* not a record */
            CHECK(tn_avro_field(NULL, 500) == NULL);
        } else {
            CHECK(!"one record expected");
        }
        tn_avro_file_free(f);
        free(out);
    }
}

/*---- Real Iceberg files ----*/

static void test_java_deflate_manifest(void)
{
    struct tn_avro_file *f =
        fixture_file(FIXTURES "uuid/metadata/69f1c254-2a62-4b99-93db-aa35863e91ff-m0.avro");
    size_t n = 0;
    const struct tn_avro_value *df, *v;
    const char *p;

    if (!f)
        return;
    CHECK_STR_EQ(tn_avro_meta_get(f, "avro.codec", NULL), "deflate");
    CHECK_STR_EQ(tn_avro_meta_get(f, "format-version", NULL), "2");
    CHECK_STR_EQ(tn_avro_meta_get(f, "content", NULL), "data");
    CHECK_STR_EQ(tn_avro_meta_get(f, "partition-spec", NULL), "[]");
    CHECK_CONTAINS(tn_avro_meta_get(f, "iceberg.schema", NULL), "\"type\":\"struct\"");
    p = tn_avro_meta_get(f, "avro.schema", &n);
    CHECK(p && n > 100 && p[n] == '\0');
    CHECK_CONTAINS(p, "\"field-id\":134");
    CHECK_INT_EQ(f->nrecords, 2);
    if (f->nrecords != 2)
        goto out;
    CHECK_STR_EQ(f->schema->name, "manifest_entry");
    CHECK_INT_EQ(tn_avro_field_i64(&f->records[0], 0, -1), 1);
    CHECK(tn_avro_field_i64(&f->records[0], 1, -1) == 3974286791591741252LL);
    CHECK(tn_avro_field(&f->records[0], 3)->type == TN_AVRO_NULL);
    df = tn_avro_field(&f->records[0], 2);
    CHECK(df && df->type == TN_AVRO_RECORD && !strcmp(df->schema->name, "r2"));
    CHECK_INT_EQ(tn_avro_field_i64(df, 134, -1), 0);
    p = tn_avro_field_str(df, 100, &n);
    CHECK_BYTES(
        p, n,
        "data/persistent/uuid/data/00000-0-dc76d6b0-77d0-4fd4-b3e9-555a901bc481-00001.parquet");
    p = tn_avro_field_str(df, 101, &n);
    CHECK_BYTES(p, n, "PARQUET");
    v = tn_avro_field(df, 102);
    CHECK(v && v->type == TN_AVRO_RECORD && v->u.list.n == 0);
    CHECK_INT_EQ(tn_avro_field_i64(df, 103, -1), 5);
    CHECK_INT_EQ(tn_avro_field_i64(df, 104, -1), 551);
    v = tn_avro_field(df, 108);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1) {
        CHECK_STR_EQ(v->schema->logical_type, "map");
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[0], 117, -1), 1);
        CHECK_INT_EQ(tn_avro_field_i64(&v->u.list.items[0], 118, -1), 128);
    }
    v = tn_avro_field(df, 137);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 0);
    v = tn_avro_field(df, 125);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1) {
        p = tn_avro_field_str(&v->u.list.items[0], 127, &n);
        CHECK_HEX(p, n, "8dc314d83fd44b3a8bf5c008f363c2e4");
    }
    v = tn_avro_field(df, 132);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1 && v->u.list.items[0].u.i == 4);
    CHECK(v && v->schema->element_id == 133);
    CHECK_INT_EQ(tn_avro_field_i64(df, 140, -1), 0);
    CHECK(tn_avro_field_str(df, 143, &n) == NULL);
    df = tn_avro_field(&f->records[1], 2);
    p = tn_avro_field_str(df, 100, &n);
    CHECK_BYTES(
        p, n,
        "data/persistent/uuid/data/00000-0-07b11d9e-e7ff-4093-acb3-743bf8b2e5cc-00001.parquet");
out:
    tn_avro_file_free(f);
}

static void test_pyiceberg_null_manifest_list(void)
{
    struct tn_avro_file *f = fixture_file(
        FIXTURES "partition_timestamp/default.db/partition_timestamp/metadata/"
                 "snap-2508913168551256223-0-6b55fc2b-ce03-407e-9585-336c4675e611.avro");
    size_t n = 0;
    const struct tn_avro_value *r, *v;
    const char *p;

    if (!f)
        return;
    CHECK_STR_EQ(tn_avro_meta_get(f, "avro.codec", NULL), "null");
    CHECK_STR_EQ(tn_avro_meta_get(f, "snapshot-id", NULL), "2508913168551256223");
    CHECK_STR_EQ(tn_avro_meta_get(f, "parent-snapshot-id", NULL), "null");
    CHECK_STR_EQ(tn_avro_meta_get(f, "sequence-number", NULL), "1");
    CHECK(f->schema->type == TN_AVRO_RECORD && !strcmp(f->schema->name, "manifest_file"));
    CHECK_INT_EQ(f->nrecords, 1);
    if (f->nrecords != 1)
        goto out;
    r = &f->records[0];
    p = tn_avro_field_str(r, 500, &n);
    CHECK_BYTES(p, n,
                "data/persistent/partition_timestamp/default.db/partition_timestamp/metadata/"
                "6b55fc2b-ce03-407e-9585-336c4675e611-m0.avro");
    CHECK_INT_EQ(tn_avro_field_i64(r, 501, -1), 5006);
    CHECK_INT_EQ(tn_avro_field_i64(r, 502, -1), 0);
    CHECK_INT_EQ(tn_avro_field_i64(r, 517, -1), 0);
    CHECK_INT_EQ(tn_avro_field_i64(r, 515, -1), 1);
    CHECK(tn_avro_field_i64(r, 503, -1) == 2508913168551256223LL);
    CHECK_INT_EQ(tn_avro_field_i64(r, 504, -1), 2);
    CHECK_INT_EQ(tn_avro_field_i64(r, 512, -1), 2);
    CHECK(tn_avro_field(r, 519) && tn_avro_field(r, 519)->type == TN_AVRO_NULL);
    v = tn_avro_field(r, 507);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1) {
        const struct tn_avro_value *s = &v->u.list.items[0];
        CHECK(tn_avro_field(s, 509)->type == TN_AVRO_BOOLEAN && !tn_avro_field(s, 509)->u.boolean);
        p = tn_avro_field_str(s, 510, &n);
        CHECK_HEX(p, n, "40efd44cbcfb0500");
        p = tn_avro_field_str(s, 511, &n);
        CHECK_HEX(p, n, "007a1a6f7f030600");
    }
out:
    tn_avro_file_free(f);
}

static void test_pyiceberg_manifest_logical_type(void)
{
    struct tn_avro_file *f =
        fixture_file(FIXTURES "partition_timestamp/default.db/partition_timestamp/metadata/"
                              "6b55fc2b-ce03-407e-9585-336c4675e611-m0.avro");
    const struct tn_avro_value *part;

    if (!f)
        return;
    CHECK_INT_EQ(f->nrecords, 2);
    if (f->nrecords == 2) {
        part = tn_avro_field(tn_avro_field(&f->records[0], 2), 102);
        CHECK(part && part->type == TN_AVRO_RECORD && part->u.list.n == 1);
        if (part && part->type == TN_AVRO_RECORD && part->u.list.n == 1) {
            const struct tn_avro_value *v = tn_avro_field(part, 1000);
            CHECK(v && v->type == TN_AVRO_LONG && v->u.i == 1684161045000000LL);
            CHECK(v && v->schema->logical_type &&
                  !strcmp(v->schema->logical_type, "timestamp-micros"));
        }
    }
    tn_avro_file_free(f);
}

/* Spark (Iceberg-Java < 1.5) names ids 504-506 added_data_files_count etc.: found by id. */
static void test_spark_old_names(void)
{
    struct tn_avro_file *f = fixture_file(
        FIXTURES "partition_integer/metadata/"
                 "snap-5470601323427916272-1-b1dda674-423f-4f23-b00d-92b608b07a38.avro");
    size_t n = 0;
    const struct tn_avro_value *r, *v;
    const char *p;

    if (!f)
        return;
    CHECK_STR_EQ(tn_avro_meta_get(f, "avro.codec", NULL), "deflate");
    CHECK_INT_EQ(f->nrecords, 1);
    if (f->nrecords != 1)
        goto out;
    CHECK_STR_EQ(f->schema->fields[7].name, "added_data_files_count");
    CHECK_INT_EQ(f->schema->fields[7].field_id, 504);
    r = &f->records[0];
    p = tn_avro_field_str(r, 500, &n);
    CHECK_BYTES(p, n,
                "data/persistent/partition_integer/metadata/"
                "b1dda674-423f-4f23-b00d-92b608b07a38-m0.avro");
    CHECK_INT_EQ(tn_avro_field_i64(r, 501, -1), 7032);
    CHECK(tn_avro_field_i64(r, 503, -1) == 5470601323427916272LL);
    CHECK_INT_EQ(tn_avro_field_i64(r, 504, -1), 2);
    CHECK_INT_EQ(tn_avro_field_i64(r, 505, -1), 0);
    CHECK_INT_EQ(tn_avro_field_i64(r, 506, -1), 0);
    CHECK_INT_EQ(tn_avro_field_i64(r, 512, -1), 2);
    CHECK(tn_avro_field(r, 519) == NULL); /* no key_metadata in old lists */
    v = tn_avro_field(r, 507);
    CHECK(v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n == 1) {
        CHECK_INT_EQ(v->schema->element_id, 508);
        p = tn_avro_field_str(&v->u.list.items[0], 510, &n);
        CHECK_HEX(p, n, "2a000000");
        p = tn_avro_field_str(&v->u.list.items[0], 511, &n);
        CHECK_HEX(p, n, "39050000");
    }
out:
    tn_avro_file_free(f);
}

static size_t every_files, every_records, every_failures;

static int read_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    size_t len = 0, plen = strlen(path);
    char *data;
    struct tn_err err = {0};
    struct tn_avro_file *f = NULL;

    (void)sb;
    (void)ftw;
    if (flag != FTW_F || plen < 5 || strcmp(path + plen - 5, ".avro") != 0)
        return 0;
    data = slurp(path, &len);
    if (!data)
        return 0;
    every_files++;
    if (tn_avro_read(data, len, &f, &err)) {
        every_failures++;
        tn_test_failed(__FILE__, __LINE__, "%s: %s", path, err.msg);
    } else {
        every_records += f->nrecords;
        tn_avro_file_free(f);
    }
    free(data);
    return 0;
}

/* Every Avro file among the fixtures (Java, Spark, PyIceberg, BigQuery; v1 and v2) decodes. */
static void test_every_fixture(void)
{
    const char *shared = tn_test_shared_dir();
    char *root;

    if (!shared) {
        CHECK(!"../shared (the Iceberg fixtures) is missing");
        return;
    }
    root = tn_asprintf("%s/iceberg-fixtures", shared);
    every_files = every_records = every_failures = 0;
    CHECK(nftw(root, read_one, 16, FTW_PHYS) == 0);
    free(root);
    CHECK(every_files >= 100);    /* 139 when written */
    CHECK(every_records >= 5000); /* 5239 when written: generated_bounds has 5000 entries */
    CHECK_INT_EQ(every_failures, 0);
}

/*---- Hostile input ----*/

/* Every proper prefix of a valid file fails cleanly, except the bare header (a file with no
 * blocks is valid). Run under ASan this proves no read goes past the end. */
static void check_truncations(const char *data, size_t len, size_t header_len)
{
    size_t ok = 0;

    for (size_t n = 0; n < len; n++) {
        struct tn_err err = {0};
        struct tn_avro_file *f = NULL;
        char *copy = tn_malloc(n ? n : 1); /* exactly n bytes, so ASan sees any overread */
        int rc;

        memcpy(copy, data, n);
        rc = tn_avro_read(copy, n, &f, &err);
        if (!rc) {
            ok++;
            if (n != header_len)
                tn_test_failed(__FILE__, __LINE__, "prefix of %zu bytes was accepted", n);
            tn_avro_file_free(f);
        } else if (rc != TN_EINPUT || strncmp(err.msg, "avro: ", 6) != 0) {
            tn_test_failed(__FILE__, __LINE__, "prefix of %zu bytes: %d %s", n, rc, err.msg);
        }
        free(copy);
    }
    CHECK_INT_EQ(ok, header_len < len ? 1 : 0);
}

static void test_truncated_files(void)
{
    struct tn_err err = {0};
    struct tn_avro_writer w;
    size_t len = 0, hlen = 0;
    char *out = NULL, *data;

    for (int codec = 0; codec < 2; codec++) {
        enum tn_avro_codec c = codec ? TN_AVRO_CODEC_DEFLATE : TN_AVRO_CODEC_NULL;

        CHECK_OK(tn_avro_writer_init(&w, rt_schema, NULL, c, &err));
        hlen = w.out.len;
        for (int64_t i = 0; i < 3; i++) {
            put_rt_record(tn_avro_writer_record(&w), i);
            CHECK_OK(tn_avro_writer_end_record(&w, &err));
        }
        CHECK_OK(tn_avro_writer_finish(&w, &out, &len, &err));
        check_truncations(out, len, hlen);
        free(out);
    }

    data = fixture(FIXTURES "partition_timestamp/default.db/partition_timestamp/metadata/"
                            "snap-2508913168551256223-0-6b55fc2b-ce03-407e-9585-336c4675e611.avro",
                   &len);
    if (data) {
        struct tn_avro_file *f = NULL;
        /* The header length: the file minus its single block's framing. */
        CHECK_OK(tn_avro_read(data, len, &f, &err));
        tn_avro_file_free(f);
        for (hlen = 0; hlen + 16 <= len; hlen++)
            if (memcmp(data + hlen, data + len - 16, 16) == 0)
                break;
        check_truncations(data, len, hlen + 16);
        free(data);
    }
}

static void test_bad_magic_and_sync(void)
{
    struct tn_err err = {0};
    struct tn_avro_writer w;
    struct tn_buf b = TN_BUF_INIT(0);
    char *out = NULL;
    size_t len = 0, hlen;

    CHECK_OK(tn_avro_writer_init(&w, rt_schema, NULL, TN_AVRO_CODEC_DEFLATE, &err));
    hlen = w.out.len;
    for (int64_t i = 0; i < 5; i++) {
        put_rt_record(tn_avro_writer_record(&w), i);
        CHECK_OK(tn_avro_writer_end_record(&w, &err));
    }
    CHECK_OK(tn_avro_writer_finish(&w, &out, &len, &err));

    tn_buf_add(&b, out, len, NULL);
    b.buf[0] = 'X';
    EXPECT_FAIL(&b, TN_EINPUT, "not an Avro container file");
    b.buf[0] = 'O';
    b.buf[3] = 2;
    EXPECT_FAIL(&b, TN_EINPUT, "not an Avro container file");
    b.buf[3] = 1;
    b.buf[len - 1] ^= 0x40; /* the block's sync marker */
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1: sync marker does not match the header's");
    b.buf[len - 1] ^= 0x40;
    b.buf[hlen - 3] ^= 1; /* the header's */
    EXPECT_FAIL(&b, TN_EINPUT, "sync marker does not match");
    b.buf[hlen - 3] ^= 1;
    b.buf[len - 20] ^= 0x55; /* inside the deflate data */
    {
        struct tn_avro_file *f = NULL;
        int rc = tn_avro_read(b.buf, b.len, &f, &err);
        CHECK(rc == TN_EINPUT || (rc == 0 && f)); /* corrupt data may still decode */
        tn_avro_file_free(f);
    }
    tn_buf_reset(&b);
    EXPECT_FAIL(&b, TN_EINPUT, "not an Avro container file");
    tn_buf_release(&b);
    free(out);
}

static void test_huge_lengths(void)
{
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_buf blk = TN_BUF_INIT(0);

    /* a string claiming 2^62 bytes */
    put_header(&b, "\"string\"", NULL, test_sync);
    tn_avro_put_long(&blk, INT64_C(1) << 62);
    tn_buf_add(&blk, "abc", 3, NULL);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1, record 1: string of 4611686018427387904 bytes");

    /* a block claiming more bytes than the file has */
    tn_buf_reset(&b);
    put_header(&b, "\"long\"", NULL, test_sync);
    tn_avro_put_long(&b, 1);
    tn_avro_put_long(&b, INT64_MAX);
    tn_buf_add(&b, "\x02", 1, NULL);
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1: block of 9223372036854775807 bytes");

    /* a block claiming billions of records in 3 bytes */
    tn_buf_reset(&b);
    put_header(&b, "\"long\"", NULL, test_sync);
    put_block(&b, INT64_C(1) << 40, "\x02\x02\x02", 3, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "records cannot fit");

    /* an array of nulls (zero bytes each) claiming 2^60 items: over the value budget */
    tn_buf_reset(&b);
    tn_buf_reset(&blk);
    put_header(&b, "{\"type\": \"array\", \"items\": \"null\"}", NULL, test_sync);
    tn_avro_put_long(&blk, INT64_C(1) << 60);
    tn_avro_put_long(&blk, 0);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    EXPECT_FAIL(&b, TN_ETOOBIG, "values in one file");

    /* a block of 2^40 null records (zero bytes each): over the value budget */
    tn_buf_reset(&b);
    put_header(&b, "\"null\"", NULL, test_sync);
    put_block(&b, INT64_C(1) << 40, "", 0, test_sync);
    EXPECT_FAIL(&b, TN_ETOOBIG, "values in one file");

    /* an array block count of INT64_MIN (cannot be negated) */
    tn_buf_reset(&b);
    tn_buf_reset(&blk);
    put_header(&b, "{\"type\": \"array\", \"items\": \"long\"}", NULL, test_sync);
    tn_avro_put_long(&blk, INT64_MIN);
    tn_avro_put_long(&blk, 0);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "invalid item count");

    /* an array of longs claiming more items than bytes left */
    tn_buf_reset(&b);
    tn_buf_reset(&blk);
    put_header(&b, "{\"type\": \"array\", \"items\": \"long\"}", NULL, test_sync);
    tn_avro_put_long(&blk, 1000);
    tn_avro_put_long(&blk, 1);
    tn_avro_put_long(&blk, 0);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "1000 items cannot fit");

    /* a varint longer than 10 bytes */
    tn_buf_reset(&b);
    put_header(&b, "\"long\"", NULL, test_sync);
    put_block(&b, 1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "longer than 10 bytes");

    /* metadata claiming 2^40 entries */
    tn_buf_reset(&b);
    tn_buf_add(&b, "Obj\x01", 4, NULL);
    tn_avro_put_long(&b, INT64_C(1) << 40);
    tn_avro_put_string(&b, "avro.schema");
    EXPECT_FAIL(&b, TN_EINPUT, "avro: file header: 1099511627776 metadata entries");

    /* an int out of range, a bad boolean, an enum index and a union branch that do not exist */
    tn_buf_reset(&b);
    put_header(&b, "\"int\"", NULL, test_sync);
    put_block(&b, 1, "\x80\x80\x80\x80\x10", 5, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "out of range");
    tn_buf_reset(&b);
    put_header(&b, "\"boolean\"", NULL, test_sync);
    put_block(&b, 1, "\x02", 1, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "not 0 or 1");
    tn_buf_reset(&b);
    put_header(&b, "{\"type\": \"enum\", \"name\": \"e\", \"symbols\": [\"A\"]}", NULL, test_sync);
    put_block(&b, 1, "\x02", 1, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "enum index 1");
    tn_buf_reset(&b);
    put_header(&b, "[\"null\", \"long\"]", NULL, test_sync);
    put_block(&b, 1, "\x04", 1, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "union branch 2 does not exist");
    tn_buf_reset(&b);
    put_header(&b, "[\"null\", \"long\"]", NULL, test_sync);
    put_block(&b, 1, "\x01", 1, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "union branch -1 does not exist");

    /* bytes left over after the block's records */
    tn_buf_reset(&b);
    put_header(&b, "\"long\"", NULL, test_sync);
    put_block(&b, 1, "\x02\x02", 2, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "1 bytes left over");

    tn_buf_release(&blk);
    tn_buf_release(&b);
}

static void test_bad_headers(void)
{
    struct tn_buf b = TN_BUF_INIT(0);
    char deep[16 * (TN_AVRO_MAX_DEPTH + 2)];
    size_t n = 0;

    put_header(&b, "\"long\"", "bzip2", test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "unsupported codec \"bzip2\"");

    tn_buf_reset(&b);
    tn_buf_add(&b, "Obj\x01\x02\x06key\x06val\x00", 14, NULL);
    tn_buf_add(&b, test_sync, 16, NULL);
    EXPECT_FAIL(&b, TN_EINPUT, "no avro.schema");

    tn_buf_reset(&b);
    put_header(&b, "{\"type\": \"record\", \"fields\": [", NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "avro.schema is not valid JSON");

    tn_buf_reset(&b);
    put_header(&b,
               "{\"type\": \"record\", \"name\": \"a\", \"fields\": [{\"name\": \"x\", "
               "\"type\": \"b\"}]}",
               NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "unknown type \"b\"");

    tn_buf_reset(&b);
    put_header(&b,
               "[{\"type\": \"fixed\", \"name\": \"f\", \"size\": 1}, "
               "{\"type\": \"fixed\", \"name\": \"f\", \"size\": 2}]",
               NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "defined twice");

    tn_buf_reset(&b);
    put_header(&b,
               "{\"type\": \"record\", \"name\": \"a\", \"fields\": [{\"name\": \"x\", "
               "\"type\": \"int\", \"field-id\": \"seven\"}]}",
               NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "\"field-id\" must be an integer");

    tn_buf_reset(&b);
    put_header(&b, "{\"type\": \"enum\", \"name\": \"e\", \"symbols\": [1]}", NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "enum symbols must be strings");

    tn_buf_reset(&b);
    put_header(&b, "[]", NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "at least one branch");

    /* arrays of arrays nested deeper than the limit */
    for (int i = 0; i < TN_AVRO_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[\"null\",");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "\"long\"");
    for (int i = 0; i < TN_AVRO_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "]");
    tn_buf_reset(&b);
    put_header(&b, deep, NULL, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "deeper than 32");
    tn_buf_release(&b);
}

/* A recursive type (a linked list) decodes, but data nested deeper than the limit fails. */
static void test_recursive_schema(void)
{
    static const char schema[] =
        "{\"type\": \"record\", \"name\": \"node\", \"namespace\": \"x.y\", "
        "\"fields\": [{\"name\": \"v\", \"type\": \"long\"}, "
        "{\"name\": \"next\", \"type\": [\"null\", \"x.y.node\"]}]}";
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_buf blk = TN_BUF_INIT(0);
    struct tn_avro_file *f = NULL;

    for (int i = 0; i < 3; i++) {
        tn_avro_put_long(&blk, i);
        tn_avro_put_long(&blk, i < 2 ? 1 : 0);
    }
    put_header(&b, schema, NULL, test_sync);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    CHECK_OK(tn_avro_read(b.buf, b.len, &f, &err));
    if (f && f->nrecords == 1) {
        const struct tn_avro_value *v = &f->records[0];
        for (int i = 0; i < 3; i++) {
            CHECK(v && v->type == TN_AVRO_RECORD && v->u.list.items[0].u.i == i);
            v = v ? &v->u.list.items[1] : NULL;
        }
        CHECK(v && v->type == TN_AVRO_NULL);
    }
    tn_avro_file_free(f);

    tn_buf_reset(&b);
    tn_buf_reset(&blk);
    for (int i = 0; i < 100; i++) {
        tn_avro_put_long(&blk, i);
        tn_avro_put_long(&blk, i < 99 ? 1 : 0);
    }
    put_header(&b, schema, NULL, test_sync);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "nest deeper than 32");
    tn_buf_release(&blk);
    tn_buf_release(&b);
}

/* Many named types, defined in namespaces and referenced afterwards by short and full name. */
static void test_many_named_types(void)
{
    struct tn_err err = {0};
    struct tn_buf schema = TN_BUF_INIT(0);
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_buf blk = TN_BUF_INIT(0);
    struct tn_avro_file *f = NULL;
    enum { N = 300 };

    tn_buf_addstr(&schema, "{\"type\": \"record\", \"name\": \"ns.top\", \"fields\": [", NULL);
    for (int i = 0; i < N; i++)
        tn_buf_addf(&schema, NULL,
                    "{\"name\": \"f%d\", \"field-id\": %d, \"type\": {\"type\": \"fixed\", "
                    "\"name\": \"t%d\", \"size\": 1}},",
                    i, i, i);
    for (int i = 0; i < N; i++)
        tn_buf_addf(&schema, NULL, "{\"name\": \"g%d\", \"field-id\": %d, \"type\": \"%st%d\"}%s",
                    i, N + i, i % 2 ? "ns." : "", i, i + 1 < N ? "," : "]}");
    for (int i = 0; i < 2 * N; i++) {
        unsigned char c = (unsigned char)i;
        tn_buf_add(&blk, &c, 1, NULL);
    }
    put_header(&b, schema.buf, "null", test_sync);
    put_block(&b, 1, blk.buf, blk.len, test_sync);
    CHECK_OK(tn_avro_read(b.buf, b.len, &f, &err));
    if (f && f->nrecords == 1) {
        for (int i = 0; i < 2 * N; i++) {
            size_t n = 0;
            const char *p = tn_avro_field_str(&f->records[0], i, &n);
            CHECK(p && n == 1 && (unsigned char)p[0] == (unsigned char)i);
        }
    }
    tn_avro_file_free(f);
    tn_buf_release(&schema);
    tn_buf_release(&blk);
    tn_buf_release(&b);
}

/* Snappy: tarn does not write it, but Avro writers may; each block carries a CRC32. */
static void test_snappy(void)
{
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_buf raw = TN_BUF_INIT(0);
    struct tn_avro_file *f = NULL;
    size_t clen;
    char *comp;
    uint32_t crc;
    unsigned char crc_be[4];

    for (int64_t i = 0; i < 200; i++)
        put_rt_record(&raw, i);
    clen = snappy_max_compressed_length(raw.len);
    comp = tn_malloc(clen + 4);
    CHECK(snappy_compress(raw.buf, raw.len, comp, &clen) == SNAPPY_OK);
    crc = (uint32_t)crc32(0L, (const unsigned char *)raw.buf, (uInt)raw.len);
    crc_be[0] = (unsigned char)(crc >> 24);
    crc_be[1] = (unsigned char)(crc >> 16);
    crc_be[2] = (unsigned char)(crc >> 8);
    crc_be[3] = (unsigned char)crc;
    memcpy(comp + clen, crc_be, 4);

    put_header(&b, rt_schema, "snappy", test_sync);
    put_block(&b, 200, comp, clen + 4, test_sync);
    CHECK_OK(tn_avro_read(b.buf, b.len, &f, &err));
    if (f) {
        CHECK_INT_EQ(f->nrecords, 200);
        for (int64_t i = 0; i < 200 && (size_t)i < f->nrecords; i++)
            check_rt_record(&f->records[i], i);
        CHECK_STR_EQ(tn_avro_meta_get(f, "avro.codec", NULL), "snappy");
    }
    tn_avro_file_free(f);

    comp[clen + 3] ^= 1; /* wrong CRC */
    tn_buf_reset(&b);
    put_header(&b, rt_schema, "snappy", test_sync);
    put_block(&b, 200, comp, clen + 4, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1: snappy block CRC32");

    comp[clen + 3] ^= 1;
    comp[0] ^= 0x7f; /* a wrong uncompressed length */
    tn_buf_reset(&b);
    put_header(&b, rt_schema, "snappy", test_sync);
    put_block(&b, 200, comp, clen + 4, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "snappy");

    tn_buf_reset(&b);
    put_header(&b, rt_schema, "snappy", test_sync);
    put_block(&b, 1, "abc", 3, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "shorter than its CRC32");

    /* a block declaring 2 GiB uncompressed: refused before anything is allocated */
    tn_buf_reset(&b);
    put_header(&b, rt_schema, "snappy", test_sync);
    put_block(&b, 1, "\x80\x80\x80\x80\x08\x00\x00\x00\x00\x00", 10, test_sync);
    EXPECT_FAIL(&b, TN_ETOOBIG, "exceeds the limit");

    free(comp);
    tn_buf_release(&raw);
    tn_buf_release(&b);
}

static void test_corrupt_compressed_blocks(void)
{
    struct tn_buf b = TN_BUF_INIT(0);

    put_header(&b, "\"long\"", "deflate", test_sync);
    put_block(&b, 1, "\xff\xff\xff", 3, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1: deflate data is corrupt");

    tn_buf_reset(&b);
    put_header(&b, "\"long\"", "deflate", test_sync);
    put_block(&b, 1, "\x02", 1, test_sync); /* a valid start, then nothing */
    EXPECT_FAIL(&b, TN_EINPUT, "deflate data ends early");

    tn_buf_reset(&b);
    put_header(&b, "\"long\"", "zstandard", test_sync);
    put_block(&b, 1, "\x28\xb5\x2f\xfd\x00", 5, test_sync); /* a frame header, cut short */
    EXPECT_FAIL(&b, TN_EINPUT, "avro: block 1: zstandard data");

    tn_buf_reset(&b);
    put_header(&b, "\"long\"", "zstandard", test_sync);
    put_block(&b, 1, "garbage!", 8, test_sync);
    EXPECT_FAIL(&b, TN_EINPUT, "zstandard data is corrupt");
    tn_buf_release(&b);
}

static const struct tn_test avro_tests[] = {
    {"put primitives", test_put_primitives},
    {"round trip, null codec", test_round_trip_null},
    {"round trip, deflate", test_round_trip_deflate},
    {"round trip, zstandard", test_round_trip_zstd},
    {"multi-block files", test_multi_block},
    {"empty file", test_empty_file},
    {"writer rejects misuse", test_writer_rejects_misuse},
    {"fields found by id", test_field_by_id},
    {"Java deflate manifest", test_java_deflate_manifest},
    {"PyIceberg null-codec manifest list", test_pyiceberg_null_manifest_list},
    {"PyIceberg manifest logical types", test_pyiceberg_manifest_logical_type},
    {"Spark manifest list, old field names", test_spark_old_names},
    {"every fixture Avro file", test_every_fixture},
    {"truncated files", test_truncated_files},
    {"bad magic and sync markers", test_bad_magic_and_sync},
    {"huge declared lengths", test_huge_lengths},
    {"bad headers and schemas", test_bad_headers},
    {"recursive schema", test_recursive_schema},
    {"many named types", test_many_named_types},
    {"snappy blocks and CRC", test_snappy},
    {"corrupt compressed blocks", test_corrupt_compressed_blocks},
    {NULL, NULL},
};

TN_SUITE(avro_tests)
