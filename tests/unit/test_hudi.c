/* test_hudi.c - unit tests for src/hudi: hoodie.properties (escapes, continuations, comments),
 * log block framing (synthetic blocks and a real delete block from the shared fixtures), Avro
 * data and delete block contents, corrupt and truncated blocks refused without a crash, Avro
 * values as JSON (decimals, dates, timestamps) and the Avro to Iceberg schema. */
#include "tn_test.h"

#include <stdlib.h>

#include "avro/avro.h"
#include "hudi/hudi_int.h"

/*---- Helpers: building log blocks ----*/

static void put_i32(struct tn_buf *b, int32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    tn_buf_add(b, x, 4, NULL);
}

static void put_i64(struct tn_buf *b, int64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
    tn_buf_add(b, x, 8, NULL);
}

static const char record_schema[] =
    "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"_hoodie_record_key\",\"type\":"
    "[\"null\",\"string\"]},{\"name\":\"fare\",\"type\":[\"null\",\"double\"]}]}";

/* One block: type, INSTANT_TIME and SCHEMA headers, "content". */
static void put_block(struct tn_buf *out, int type, const char *instant, const char *schema,
                      const struct tn_buf *content)
{
    struct tn_buf body = TN_BUF_INIT(1 << 20);

    put_i32(&body, 1);
    put_i32(&body, type);
    put_i32(&body, schema ? 2 : 1);
    put_i32(&body, 0);
    put_i32(&body, (int32_t)strlen(instant));
    tn_buf_addstr(&body, instant, NULL);
    if (schema) {
        put_i32(&body, 2);
        put_i32(&body, (int32_t)strlen(schema));
        tn_buf_addstr(&body, schema, NULL);
    }
    put_i64(&body, (int64_t)content->len);
    tn_buf_add(&body, content->buf ? content->buf : "", content->len, NULL);
    put_i32(&body, 0); /* footer */
    tn_buf_addstr(out, "#HUDI#", NULL);
    put_i64(out, (int64_t)body.len + 8);
    tn_buf_add(out, body.buf, body.len, NULL);
    put_i64(out, (int64_t)body.len + 8 + 6);
    tn_buf_release(&body);
}

/* An Avro data block content with records (key, fare). */
static void avro_content(struct tn_buf *c, const char *const *keys, const double *fares, int n)
{
    put_i32(c, 1);
    put_i32(c, n);
    for (int i = 0; i < n; i++) {
        struct tn_buf rec = TN_BUF_INIT(1 << 16);
        tn_avro_put_long(&rec, 1);
        tn_avro_put_string(&rec, keys[i]);
        tn_avro_put_long(&rec, 1);
        tn_avro_put_double(&rec, fares[i]);
        put_i32(c, (int32_t)rec.len);
        tn_buf_add(c, rec.buf, rec.len, NULL);
        tn_buf_release(&rec);
    }
}

/* A delete block content (version 3) deleting "keys" (ordering value IntWrapper 0). */
static void delete_content(struct tn_buf *c, const char *const *keys, int n)
{
    struct tn_buf avro = TN_BUF_INIT(1 << 16);

    tn_avro_put_long(&avro, n);
    for (int i = 0; i < n; i++) {
        tn_avro_put_long(&avro, 1);
        tn_avro_put_string(&avro, keys[i]);
        tn_avro_put_long(&avro, 1);
        tn_avro_put_string(&avro, "city=x");
        tn_avro_put_long(&avro, 2); /* IntWrapper */
        tn_avro_put_long(&avro, 0);
    }
    tn_avro_put_long(&avro, 0);
    put_i32(c, 3);
    put_i32(c, (int32_t)avro.len);
    tn_buf_add(c, avro.buf, avro.len, NULL);
    tn_buf_release(&avro);
}

/* A delete block content (version 3) of key "key" with the ordering value in union branch
 * "wrapper" (3 LongWrapper, 7 StringWrapper, 8 DateWrapper): "num" or "text". */
static void delete_ordered(struct tn_buf *c, const char *key, int wrapper, int64_t num,
                           const char *text)
{
    struct tn_buf avro = TN_BUF_INIT(1 << 16);

    tn_avro_put_long(&avro, 1);
    tn_avro_put_long(&avro, 1);
    tn_avro_put_string(&avro, key);
    tn_avro_put_long(&avro, 0); /* partition path null */
    tn_avro_put_long(&avro, wrapper);
    if (text)
        tn_avro_put_string(&avro, text);
    else
        tn_avro_put_long(&avro, num);
    tn_avro_put_long(&avro, 0);
    put_i32(c, 3);
    put_i32(c, (int32_t)avro.len);
    tn_buf_add(c, avro.buf, avro.len, NULL);
    tn_buf_release(&avro);
}

/*---- hoodie.properties ----*/

static void test_props_escapes(void)
{
    const char text[] = "#Properties saved\n"
                        "! another comment\n"
                        "hoodie.table.name=trips\n"
                        "hoodie.table.create.schema={\"type\"\\:\"record\",\"a\\=b\"\\:1}\n"
                        "  spaced.key   :   value with spaces  \n"
                        "blank.separator value\n"
                        "escaped\\ key=x\n"
                        "unicode=\\u0041\\u00e9\n"
                        "tabs=a\\tb\\nc\\\\d\n"
                        "continued=first \\\n"
                        "          second\n"
                        "dup=1\n"
                        "dup=2\r\n"
                        "empty=\n";
    json_t *p = NULL;
    struct tn_err err;

    CHECK_INT_EQ(tn_hudi_props_parse(text, strlen(text), &p, &err), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "hoodie.table.name")), "trips");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "hoodie.table.create.schema")),
                 "{\"type\":\"record\",\"a=b\":1}");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "spaced.key")), "value with spaces  ");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "blank.separator")), "value");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "escaped key")), "x");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "unicode")), "A\xc3\xa9");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tabs")), "a\tb\nc\\d");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "continued")), "first second");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "dup")), "2");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "empty")), "");
    CHECK(!json_object_get(p, "#Properties saved"));
    json_decref(p);
}

static void test_props_refused(void)
{
    json_t *p = NULL;
    struct tn_err err;

    CHECK_INT_EQ(tn_hudi_props_parse("a=\\u00zz\n", 9, &p, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "\\u escape");
    CHECK_INT_EQ(tn_hudi_props_parse("a=1\0b=2", 7, &p, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "NUL");
    CHECK_INT_EQ(tn_hudi_props_parse("a=\\u12", 6, &p, &err), TN_EINPUT);
}

static void test_props_fixture(void)
{
    const char *shared = tn_test_shared_dir();
    char path[1024];
    FILE *fp;
    char buf[16384];
    size_t n;
    json_t *p = NULL;
    json_t *schema;
    struct tn_err err;

    if (!shared) {
        tn_test_skip("../shared is absent");
        return;
    }
    snprintf(path, sizeof(path), "%s/hudi-fixtures/cow_v8_nonpartitioned/.hoodie/hoodie.properties",
             shared);
    fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (!fp)
        return;
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    CHECK_INT_EQ(tn_hudi_props_parse(buf, n, &p, &err), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "hoodie.table.version")), "8");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "hoodie.table.type")), "COPY_ON_WRITE");
    /* the create schema (with \: escapes) is valid JSON once read */
    schema =
        json_loads(json_string_value(json_object_get(p, "hoodie.table.create.schema")), 0, NULL);
    CHECK(json_is_object(schema));
    CHECK_STR_EQ(json_string_value(json_object_get(schema, "type")), "record");
    json_decref(schema);
    json_decref(p);
}

/*---- Log blocks ----*/

static void test_log_avro_and_delete_blocks(void)
{
    const char *keys[] = {"k1", "k2"};
    const double fares[] = {19.5, -2.25};
    struct tn_buf file = TN_BUF_INIT(1 << 20), c1 = TN_BUF_INIT(1 << 20), c2 = TN_BUF_INIT(1 << 20);
    struct tn_hudi_block *blocks = NULL;
    const void **recs = NULL;
    size_t *lens = NULL, n = 0, nrec = 0;
    struct tn_avro_file *f = NULL;
    json_t *deleted = NULL, *row;
    struct tn_err err;

    avro_content(&c1, keys, fares, 2);
    put_block(&file, TN_HUDI_BLOCK_AVRO, "20250101000000001", record_schema, &c1);
    delete_content(&c2, keys + 1, 1);
    put_block(&file, TN_HUDI_BLOCK_DELETE, "20250101000000002", NULL, &c2);

    CHECK_INT_EQ(tn_hudi_log_parse(file.buf, file.len, &blocks, &n, &err), 0);
    CHECK_INT_EQ(n, 2);
    if (n == 2) {
        CHECK_INT_EQ(blocks[0].type, TN_HUDI_BLOCK_AVRO);
        CHECK_STR_EQ(blocks[0].instant, "20250101000000001");
        CHECK_INT_EQ(blocks[0].schema_len, strlen(record_schema));
        CHECK_INT_EQ(tn_hudi_avro_records(&blocks[0], &recs, &lens, &nrec, &err), 0);
        CHECK_INT_EQ(nrec, 2);
        CHECK_INT_EQ(tn_avro_decode_records(blocks[0].schema, blocks[0].schema_len, recs, lens,
                                            nrec, &f, &err),
                     0);
        if (f) {
            row = tn_hudi_avro_json(&f->records[1]);
            CHECK_STR_EQ(json_string_value(json_object_get(row, "_hoodie_record_key")), "k2");
            CHECK(json_real_value(json_object_get(row, "fare")) == -2.25);
            json_decref(row);
        }
        tn_avro_file_free(f);
        CHECK_INT_EQ(blocks[1].type, TN_HUDI_BLOCK_DELETE);
        CHECK(blocks[1].schema == NULL);
        CHECK_INT_EQ(tn_hudi_delete_keys(&blocks[1], &deleted, NULL, &err), 0);
        CHECK_INT_EQ(json_array_size(deleted), 1);
        CHECK_STR_EQ(json_string_value(json_array_get(deleted, 0)), "k2");
        json_decref(deleted);
    }
    free(recs);
    free(lens);
    free(blocks);
    tn_buf_release(&file);
    tn_buf_release(&c1);
    tn_buf_release(&c2);
}

static void test_log_fixture_delete_block(void)
{
    const char *shared = tn_test_shared_dir();
    char path[1024];
    char buf[4096];
    FILE *fp;
    size_t len;
    struct tn_hudi_block *blocks = NULL;
    size_t n = 0;
    json_t *keys = NULL;
    struct tn_err err;

    if (!shared) {
        tn_test_skip("../shared is absent");
        return;
    }
    snprintf(path, sizeof(path),
             "%s/hudi-fixtures/mor_avro_v8_trips_8i3u1d/city=sao_paulo/"
             ".8aa68f7e-afd6-4c94-b86c-8a886552e08d-0_20251220210125441.log.1_0-1047-3000",
             shared);
    fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (!fp)
        return;
    len = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    CHECK_INT_EQ(tn_hudi_log_parse(buf, len, &blocks, &n, &err), 0);
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
        CHECK_INT_EQ(blocks[0].type, TN_HUDI_BLOCK_DELETE);
        CHECK_STR_EQ(blocks[0].instant, "20251220210125441");
        CHECK_INT_EQ(tn_hudi_delete_keys(&blocks[0], &keys, NULL, &err), 0);
        CHECK_INT_EQ(json_array_size(keys), 1);
        CHECK_STR_EQ(json_string_value(json_array_get(keys, 0)),
                     "e3cf430c-889d-4015-bc98-59bdce1e530c");
        json_decref(keys);
    }
    free(blocks);
}

static void test_log_delete_ordering_values(void)
{
    static const struct {
        int wrapper;
        int64_t num;
        const char *text, *want; /* want: the ordering value as JSON */
    } cases[] = {
        {3, 42, NULL, "42"},      /* LongWrapper */
        {3, 0, NULL, "0"},        /* a long 0 is a value: only Hudi's int 0 means none */
        {2, 0, NULL, "null"},     /* IntWrapper 0: Hudi's default, no ordering */
        {2, -5, NULL, "-5"},      /* IntWrapper */
        {7, 0, "b", "\"b\""},     /* StringWrapper */
        {8, 19000, NULL, "null"}, /* DateWrapper: not compared */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tn_buf c = TN_BUF_INIT(1 << 16);
        struct tn_hudi_block b;
        json_t *keys = NULL, *ordering = NULL;
        struct tn_err err;
        char *got;
        memset(&b, 0, sizeof(b));
        delete_ordered(&c, "k", cases[i].wrapper, cases[i].num, cases[i].text);
        b.type = TN_HUDI_BLOCK_DELETE;
        b.content = (const unsigned char *)c.buf;
        b.content_len = c.len;
        CHECK_INT_EQ(tn_hudi_delete_keys(&b, &keys, &ordering, &err), 0);
        CHECK_INT_EQ(json_array_size(ordering), 1);
        got = json_dumps(json_array_get(ordering, 0), JSON_ENCODE_ANY | JSON_COMPACT);
        CHECK_STR_EQ(got ? got : "", cases[i].want);
        free(got);
        json_decref(keys);
        json_decref(ordering);
        tn_buf_release(&c);
    }
}

static void test_log_corrupt_refused(void)
{
    const char *keys[] = {"k1"};
    const double fares[] = {1.0};
    struct tn_buf file = TN_BUF_INIT(1 << 20), c = TN_BUF_INIT(1 << 20);
    struct tn_hudi_block *blocks = NULL;
    size_t n = 0;
    struct tn_err err;
    unsigned char *copy;

    avro_content(&c, keys, fares, 1);
    put_block(&file, TN_HUDI_BLOCK_AVRO, "20250101000000001", record_schema, &c);
    copy = tn_malloc(file.len);
    /* every truncation is refused, never read past the end */
    for (size_t cut = 1; cut < file.len; cut++) {
        memcpy(copy, file.buf, cut);
        CHECK_INT_EQ(tn_hudi_log_parse(copy, cut, &blocks, &n, &err), TN_EINPUT);
    }
    CHECK_CONTAINS(err.msg, "corrupt or truncated");
    /* bad magic */
    memcpy(copy, file.buf, file.len);
    copy[0] = 'X';
    CHECK_INT_EQ(tn_hudi_log_parse(copy, file.len, &blocks, &n, &err), TN_EINPUT);
    /* a block size beyond the file */
    memcpy(copy, file.buf, file.len);
    memset(copy + 6, 0x7f, 8);
    CHECK_INT_EQ(tn_hudi_log_parse(copy, file.len, &blocks, &n, &err), TN_EINPUT);
    /* a negative block size */
    memset(copy + 6, 0xff, 8);
    CHECK_INT_EQ(tn_hudi_log_parse(copy, file.len, &blocks, &n, &err), TN_EINPUT);
    /* the trailing block length disagrees */
    memcpy(copy, file.buf, file.len);
    copy[file.len - 1] ^= 1;
    CHECK_INT_EQ(tn_hudi_log_parse(copy, file.len, &blocks, &n, &err), TN_EINPUT);
    /* every single-byte change either parses or is refused; what parses has sane spans */
    for (size_t i = 0; i < file.len; i++) {
        memcpy(copy, file.buf, file.len);
        copy[i] ^= 0xA5;
        if (tn_hudi_log_parse(copy, file.len, &blocks, &n, &err) == 0) {
            for (size_t b = 0; b < n; b++) {
                const void **recs = NULL;
                size_t *lens = NULL, nr = 0;
                CHECK(blocks[b].content >= copy &&
                      blocks[b].content + blocks[b].content_len <= copy + file.len);
                if (tn_hudi_avro_records(&blocks[b], &recs, &lens, &nr, &err) == 0) {
                    struct tn_avro_file *f = NULL;
                    if (blocks[b].schema &&
                        tn_avro_decode_records(blocks[b].schema, blocks[b].schema_len, recs, lens,
                                               nr, &f, &err) == 0)
                        tn_avro_file_free(f);
                    free(recs);
                    free(lens);
                }
            }
            free(blocks);
        }
    }
    free(copy);
    tn_buf_release(&file);
    tn_buf_release(&c);
}

static void test_block_contents_refused(void)
{
    struct tn_hudi_block b;
    const void **recs = NULL;
    size_t *lens = NULL, n = 0;
    json_t *keys = NULL;
    struct tn_err err;
    /* a record count larger than the content could hold */
    const unsigned char many[] = {0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff};
    /* a record whose length runs past the content */
    const unsigned char trunc[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1};
    /* a delete block of version 2 (Java serialisation) */
    const unsigned char old[] = {0, 0, 0, 2, 0, 0, 0, 0};
    /* a record with bytes left over after it */
    const char *rec = "\x02\x04k1\x02\x00\x00\x00\x00\x00\x00\xf0\x3f\x99";
    const void *r1 = rec;
    size_t l1 = 14;
    struct tn_avro_file *f = NULL;

    memset(&b, 0, sizeof(b));
    b.content = many;
    b.content_len = sizeof(many);
    CHECK_INT_EQ(tn_hudi_avro_records(&b, &recs, &lens, &n, &err), TN_EINPUT);
    b.content = trunc;
    b.content_len = sizeof(trunc);
    CHECK_INT_EQ(tn_hudi_avro_records(&b, &recs, &lens, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "truncated");
    b.content = old;
    b.content_len = sizeof(old);
    CHECK_INT_EQ(tn_hudi_delete_keys(&b, &keys, NULL, &err), TN_EUNPROCESSABLE);
    b.content_len = 2;
    CHECK_INT_EQ(tn_hudi_delete_keys(&b, &keys, NULL, &err), TN_EINPUT);
    CHECK_INT_EQ(
        tn_avro_decode_records(record_schema, strlen(record_schema), &r1, &l1, 1, &f, &err),
        TN_EINPUT);
    CHECK_CONTAINS(err.msg, "left over");
    l1 = 13;
    CHECK_INT_EQ(
        tn_avro_decode_records(record_schema, strlen(record_schema), &r1, &l1, 1, &f, &err), 0);
    tn_avro_file_free(f);
}

/*---- Avro values and schemas ----*/

static void test_avro_json_logical_types(void)
{
    const char schema[] =
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
        "{\"name\":\"d\",\"type\":{\"type\":\"fixed\",\"name\":\"f\",\"size\":5,\"logicalType\":"
        "\"decimal\",\"precision\":10,\"scale\":5}},"
        "{\"name\":\"n\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":"
        "15,\"scale\":2}},"
        "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
        "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}}]}";
    struct tn_buf rec = TN_BUF_INIT(1 << 16);
    /* 1234567890 = 0x00499602D2 (scale 5: 12345.67890); -1250 = 0xFB1E (scale 2: -12.50) */
    const unsigned char fixed[] = {0x00, 0x49, 0x96, 0x02, 0xD2};
    const unsigned char neg[] = {0xFB, 0x1E};
    struct tn_avro_file *f = NULL;
    const void *r;
    size_t len;
    struct tn_err err;
    json_t *j;

    tn_avro_put_fixed(&rec, fixed, sizeof(fixed));
    tn_avro_put_bytes(&rec, neg, sizeof(neg));
    tn_avro_put_long(&rec, 19448);                  /* 2023-04-01 */
    tn_avro_put_long(&rec, 1680368460000000LL + 5); /* 2023-04-01 17:01:00.000005 */
    r = rec.buf;
    len = rec.len;
    CHECK_INT_EQ(tn_avro_decode_records(schema, strlen(schema), &r, &len, 1, &f, &err), 0);
    if (f) {
        j = tn_hudi_avro_json(&f->records[0]);
        CHECK_STR_EQ(json_string_value(json_object_get(j, "d")), "12345.67890");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "n")), "-12.50");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "day")), "2023-04-01");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "ts")), "2023-04-01 17:01:00.000005");
        json_decref(j);
    }
    tn_avro_file_free(f);
    tn_buf_release(&rec);
}

static void test_schema_conversion(void)
{
    const char avro[] =
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
        "{\"name\":\"id\",\"type\":[\"int\",\"null\"]},"
        "{\"name\":\"amount\",\"type\":[{\"type\":\"fixed\",\"name\":\"a\",\"size\":7,"
        "\"logicalType\":\"decimal\",\"precision\":15,\"scale\":2},\"null\"]},"
        "{\"name\":\"ts\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":"
        "\"timestamp-micros\"}]},"
        "{\"name\":\"tags\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"string\"}]},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}}]}";
    json_t *schema = NULL, *mapping = NULL, *fields;
    struct tn_err err;

    CHECK_INT_EQ(tn__hudi_schema(avro, 1, &schema, &mapping, &err), 0);
    fields = json_object_get(schema, "fields");
    CHECK_INT_EQ(json_array_size(fields), 10);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 0), "name")),
                 "_hoodie_commit_time");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 5), "name")), "id");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 6), "type")),
                 "decimal(15,2)");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 7), "type")),
                 "timestamptz");
    CHECK_STR_EQ(json_string_value(
                     json_object_get(json_object_get(json_array_get(fields, 8), "type"), "type")),
                 "list");
    CHECK_INT_EQ(json_array_size(mapping), 10);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(mapping, 5), "field-id")), 6);
    json_decref(schema);
    json_decref(mapping);
    /* without meta fields, and a union Iceberg cannot express */
    CHECK_INT_EQ(tn__hudi_schema(avro, 0, &schema, &mapping, &err), 0);
    CHECK_INT_EQ(json_array_size(json_object_get(schema, "fields")), 5);
    json_decref(schema);
    json_decref(mapping);
    CHECK_INT_EQ(tn__hudi_schema("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":"
                                 "\"x\",\"type\":[\"int\",\"string\"]}]}",
                                 1, &schema, &mapping, &err),
                 TN_EUNPROCESSABLE);
    CHECK_CONTAINS(err.msg, "union");
    CHECK_INT_EQ(tn__hudi_schema("[1,2]", 1, &schema, &mapping, &err), TN_EUNPROCESSABLE);
}

static void test_instant_time(void)
{
    CHECK_INT_EQ(tn__hudi_instant_ms("20240418173551906"), 1713461751906LL);
    CHECK_INT_EQ(tn__hudi_instant_ms("20240418173551"), 1713461751000LL);
    CHECK_INT_EQ(tn__hudi_instant_ms("2024041817355190x"), -1);
    CHECK_INT_EQ(tn__hudi_instant_ms("0"), -1);
}

static const struct tn_test hudi_tests[] = {
    {"properties: escapes, continuations, comments", test_props_escapes},
    {"properties: malformed escapes and NUL refused", test_props_refused},
    {"properties: a real hoodie.properties", test_props_fixture},
    {"log: Avro data and delete blocks", test_log_avro_and_delete_blocks},
    {"log: a real delete block", test_log_fixture_delete_block},
    {"log: ordering values of delete records", test_log_delete_ordering_values},
    {"log: corrupt and truncated blocks refused", test_log_corrupt_refused},
    {"log: malformed block contents refused", test_block_contents_refused},
    {"avro values: decimals, dates, timestamps", test_avro_json_logical_types},
    {"schema: Avro to Iceberg with meta columns", test_schema_conversion},
    {"instant times", test_instant_time},
    {NULL, NULL},
};

TN_SUITE(hudi_tests)
