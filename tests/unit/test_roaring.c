/* test_roaring.c - unit tests for src/core/roaring.c and the Puffin writer of
 * src/iceberg/puffin.c: round trips through tarn's own parser with array, bitset and run
 * containers and positions across 32-bit buckets; the exact bytes of a small bitmap (as the
 * portable format lays them out) and of DuckDB's one-position blob; a Puffin file of several
 * vectors whose footer locates every blob; bad input refused. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "core/roaring.h"
#include "iceberg/iceberg.h"

/* Encode "pos" and decode it again: the same positions must come back. Returns the size. */
static size_t round_trip(const int64_t *pos, size_t n)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    struct tn_err err = {0};
    int64_t *got = NULL;
    size_t got_n = 0, len;

    CHECK_OK(tn_roaring64_encode(pos, n, &b, &err));
    CHECK_OK(tn_roaring64_decode((const unsigned char *)b.buf, b.len, 0, &got, &got_n, &err));
    CHECK_INT_EQ(got_n, n);
    for (size_t i = 0; got && i < n && i < got_n; i++)
        if (got[i] != pos[i]) {
            tn_test_failed(__FILE__, __LINE__, "position %zu: %lld != %lld", i, (long long)got[i],
                           (long long)pos[i]);
            break;
        }
    len = b.len;
    free(got);
    tn_buf_release(&b);
    return len;
}

static void test_containers(void)
{
    int64_t *pos = tn_malloc(70000 * sizeof(*pos));
    size_t n = 0, size;

    /* empty */
    CHECK_INT_EQ(round_trip(NULL, 0), 8);
    /* array: a few scattered values */
    for (int64_t v = 3; v < 60000; v += 7919)
        pos[n++] = v;
    size = round_trip(pos, n);
    CHECK_INT_EQ(size, 8 + 4 + 8 + 4 + 4 + 2 * n); /* count, key, cookie+n, header, offset */
    /* bitset: every other value of a container (5000 of them: no array, no run is smaller) */
    n = 0;
    for (int64_t v = 0; v < 10000; v += 2)
        pos[n++] = v;
    size = round_trip(pos, n);
    CHECK_INT_EQ(size, 8 + 4 + 8 + 4 + 4 + 8192);
    /* run: one long range, much smaller as a run container */
    n = 0;
    for (int64_t v = 100; v < 60100; v++)
        pos[n++] = v;
    size = round_trip(pos, n);
    CHECK(size < 64);
    /* the three kinds in one bitmap, over two containers and several buckets */
    n = 0;
    for (int64_t v = 0; v < 5000; v += 2)
        pos[n++] = v; /* container 0: array (2500) */
    for (int64_t v = 65536; v < 65536 + 9000; v += 2)
        pos[n++] = v; /* container 1: bitset (4500) */
    for (int64_t v = 131072; v < 131072 + 3000; v++)
        pos[n++] = v;                         /* container 2: run */
    pos[n++] = (1LL << 32) + 5;               /* bucket 1 */
    pos[n++] = (7LL << 32) + 65536 * 3 + 1;   /* bucket 7 */
    pos[n++] = (0x7fffffffLL << 32) + 0xffff; /* the highest bucket */
    round_trip(pos, n);
    free(pos);
}

/* The portable bytes of {1, 2, 65536, 2^32 + 9}, written out by hand. */
static void test_exact_bytes(void)
{
    static const int64_t pos[] = {1, 2, 65536, (1LL << 32) + 9};
    static const unsigned char want[] = {
        2,    0,    0, 0, 0,  0, 0, 0, /* two buckets */
        0,    0,    0, 0,              /* key 0 */
        0x3a, 0x30, 0, 0, 2,  0, 0, 0, /* cookie 12346, two containers */
        0,    0,    1, 0, 1,  0, 0, 0, /* headers: key 0 card 2, key 1 card 1 */
        24,   0,    0, 0, 28, 0, 0, 0, /* offsets, from the cookie on */
        1,    0,    2, 0,              /* container 0: 1, 2 */
        0,    0,                       /* container 1: 0 */
        1,    0,    0, 0,              /* key 1 */
        0x3a, 0x30, 0, 0, 1,  0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 9, 0};
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    struct tn_err err = {0};

    CHECK_OK(tn_roaring64_encode(pos, 4, &b, &err));
    CHECK_INT_EQ(b.len, sizeof(want));
    CHECK(b.len == sizeof(want) && memcmp(b.buf, want, sizeof(want)) == 0);
    tn_buf_release(&b);
}

static void test_refused(void)
{
    static const int64_t unordered[] = {5, 3}, negative[] = {-1};
    static const unsigned char too_many_buckets[] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    struct tn_err err = {0};
    int64_t *got = NULL;
    size_t n = 0;

    CHECK_INT_EQ(tn_roaring64_encode(unordered, 2, &b, &err), TN_EINTERNAL);
    CHECK_INT_EQ(tn_roaring64_encode(negative, 1, &b, &err), TN_EINTERNAL);
    tn_buf_release(&b);
    CHECK_INT_EQ(tn_roaring64_decode(too_many_buckets, sizeof(too_many_buckets), 0, &got, &n, &err),
                 TN_EINPUT);
    CHECK_INT_EQ(tn_roaring64_decode(too_many_buckets, 5, 0, &got, &n, &err), TN_EINPUT);
    CHECK(got == NULL);
}

/* DuckDB's blob deleting position 1 (tests/fixtures/iceberg-v3): tarn writes the same bytes. */
static void test_puffin_blob_matches_duckdb(void)
{
    static const unsigned char duckdb[] = {
        0x00, 0x00, 0x00, 0x22, 0xd1, 0xd3, 0x39, 0x64, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0xee, 0xbd, 0x85, 0xf4};
    static const int64_t one[] = {1};
    struct tn_err err = {0};
    unsigned char *blob = NULL;
    size_t len = 0;

    CHECK_OK(tn_puffin_dv_encode(one, 1, &blob, &len, &err));
    CHECK_INT_EQ(len, sizeof(duckdb));
    CHECK(blob && len == sizeof(duckdb) && memcmp(blob, duckdb, len) == 0);
    free(blob);
}

static void test_puffin_file(void)
{
    static const int64_t a[] = {0, 4, 5, 6, 70000}, b[] = {3, (2LL << 32) + 1};
    struct tn_puffin_writer w;
    struct tn_err err = {0};
    int64_t off[2], len[2], *got = NULL;
    size_t n = 0, footer_len;
    const unsigned char *p;
    json_t *footer, *blobs;

    tn_puffin_writer_init(&w);
    CHECK_OK(tn_puffin_add_dv(&w, "s3://b/t/data/a.parquet", a, 5, &off[0], &len[0], &err));
    CHECK_OK(tn_puffin_add_dv(&w, "s3://b/t/data/b.parquet", b, 2, &off[1], &len[1], &err));
    tn_puffin_finish(&w);
    p = (const unsigned char *)w.bytes.buf;
    CHECK(memcmp(p, "PFA1", 4) == 0);
    CHECK(memcmp(p + w.bytes.len - 4, "PFA1", 4) == 0);
    CHECK_INT_EQ(off[0], 4);
    CHECK_INT_EQ(off[1], off[0] + len[0]);
    /* each blob decodes where the manifest entry would say it is */
    CHECK_OK(tn_puffin_dv_decode(p + off[0], (size_t)len[0], 0, &got, &n, &err));
    CHECK_INT_EQ(n, 5);
    CHECK_INT_EQ(got ? got[4] : -1, 70000);
    free(got);
    CHECK_OK(tn_puffin_dv_decode(p + off[1], (size_t)len[1], 0, &got, &n, &err));
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(got ? got[1] : -1, (2LL << 32) + 1);
    free(got);
    /* the footer: payload length, flags 0, the JSON describing both blobs */
    footer_len = (size_t)p[w.bytes.len - 12] | (size_t)p[w.bytes.len - 11] << 8 |
                 (size_t)p[w.bytes.len - 10] << 16 | (size_t)p[w.bytes.len - 9] << 24;
    CHECK(memcmp(p + w.bytes.len - 8, "\0\0\0\0", 4) == 0);
    CHECK(memcmp(p + w.bytes.len - 16 - footer_len, "PFA1", 4) == 0);
    CHECK_INT_EQ(w.bytes.len - 16 - footer_len, off[1] + len[1]);
    footer = json_loadb((const char *)p + w.bytes.len - 12 - footer_len, footer_len, 0, NULL);
    CHECK(footer != NULL);
    blobs = json_object_get(footer, "blobs");
    CHECK_INT_EQ(json_array_size(blobs), 2);
    for (size_t i = 0; i < json_array_size(blobs) && i < 2; i++) {
        json_t *bl = json_array_get(blobs, i);
        CHECK_STR_EQ(json_string_value(json_object_get(bl, "type")), "deletion-vector-v1");
        CHECK_INT_EQ(json_integer_value(json_object_get(bl, "offset")), off[i]);
        CHECK_INT_EQ(json_integer_value(json_object_get(bl, "length")), len[i]);
        CHECK_INT_EQ(json_integer_value(json_object_get(bl, "snapshot-id")), -1);
        CHECK_INT_EQ(json_integer_value(json_object_get(bl, "sequence-number")), -1);
        CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(bl, "fields"), 0)),
                     2147483645);
    }
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_object_get(json_array_get(blobs, 1), "properties"), "cardinality")),
                 "2");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_object_get(json_array_get(blobs, 0), "properties"),
                                          "referenced-data-file")),
        "s3://b/t/data/a.parquet");
    json_decref(footer);
    tn_puffin_writer_release(&w);
}

static const struct tn_test roaring[] = {
    {"containers", test_containers},
    {"exact_bytes", test_exact_bytes},
    {"refused", test_refused},
    {"puffin_blob_matches_duckdb", test_puffin_blob_matches_duckdb},
    {"puffin_file", test_puffin_file},
    {NULL, NULL},
};
TN_SUITE(roaring)
