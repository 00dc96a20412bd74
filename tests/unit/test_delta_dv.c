/* test_delta_dv.c - unit tests for src/delta/dv.c: Z85 against the ZeroMQ test vector, the
 * deletion vectors of the real Delta tables in ../shared/delta-fixtures (written by Databricks),
 * encode/decode round trips over every container form and over several buckets, and damaged
 * input (bad magic, every truncation, bad CRC, huge counts) refused cleanly. */
#include "tn_test.h"

#include <stdlib.h>

#include "delta/dv.h"

/*---- Helpers ----*/

static unsigned char *slurp(const char *path, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data;
    long n;

    if (!fp) {
        tn_test_failed(__FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = tn_malloc((size_t)n + 1);
    if (fread(data, 1, (size_t)n, fp) != (size_t)n) {
        tn_test_failed(__FILE__, __LINE__, "cannot read %s", path);
        free(data);
        data = NULL;
    }
    fclose(fp);
    *out_len = (size_t)n;
    return data;
}

/* Encode "pos", decode the bytes again and check the same positions come back; the encoded
 * size goes to *out_size. */
static void check_round_trip(const int64_t *pos, size_t n, size_t *out_size)
{
    unsigned char *bytes = NULL;
    size_t len = 0, got_n = 0;
    int64_t *got = NULL;
    struct tn_err err = {0};

    CHECK_INT_EQ(tn_delta_dv_encode(pos, n, &bytes, &len, &err), 0);
    CHECK_INT_EQ(tn_delta_dv_decode(bytes, len, 0, &got, &got_n, &err), 0);
    CHECK_INT_EQ(got_n, n);
    for (size_t i = 0; i < n && i < got_n; i++)
        if (got[i] != pos[i]) {
            tn_test_failed(__FILE__, __LINE__, "position %zu: %lld != %lld", i, (long long)got[i],
                           (long long)pos[i]);
            break;
        }
    if (out_size)
        *out_size = len;
    free(got);
    free(bytes);
}

/* Decoding must fail with TN_EINPUT and a message containing "want". */
static void check_refused(const unsigned char *bytes, size_t len, int64_t max, const char *want)
{
    int64_t *got = NULL;
    size_t got_n = 0;
    struct tn_err err = {0};

    CHECK_INT_EQ(tn_delta_dv_decode(bytes, len, max, &got, &got_n, &err), TN_EINPUT);
    CHECK(got == NULL);
    CHECK_INT_EQ(got_n, 0);
    if (want)
        CHECK_CONTAINS(err.msg, want);
}

/*---- Z85 ----*/

static void test_z85_vector(void)
{
    /* The test vector of the Z85 specification (rfc.zeromq.org/spec/32). */
    static const unsigned char hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    unsigned char back[8];
    struct tn_err err = {0};
    char *s = tn_z85_encode(hello, 8);

    CHECK_STR_EQ(s, "HelloWorld");
    CHECK_INT_EQ(tn_z85_decode(s, 10, back, &err), 0);
    CHECK(memcmp(back, hello, 8) == 0);
    free(s);
    CHECK_INT_EQ(tn_z85_decode("Hello", 4, back, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_z85_decode("Hel~o", 5, back, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "not a Z85 digit");
    /* "#####" is 85^5 - 1, more than 32 bits. */
    CHECK_INT_EQ(tn_z85_decode("#####", 5, back, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "larger than 32 bits");
}

/*---- The fixtures ----*/

static void test_fixture_dv_small(void)
{
    const char *shared = tn_test_shared_dir();
    struct tn_delta_dv dv = {'u', NULL, 1, 36, 2};
    struct tn_err err = {0};
    char *table, *path = NULL, z85[21];
    unsigned char *file, *again = NULL;
    const unsigned char *bitmap;
    size_t file_len = 0, n = 0, bitmap_len = 0, again_len = 0;
    int64_t *pos = NULL;

    if (!shared) {
        tn_test_skip("../shared is absent");
        return;
    }
    table = tn_asprintf("%s/delta-fixtures/table-with-dv-small", shared);
    dv.path_or_inline = tn_strdup("vBn[lx{q8@P<9BNH/isA");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, table, &path, &err), 0);
    CHECK_CONTAINS(path, "/table-with-dv-small/deletion_vector_"
                         "61d16c75-6994-46b7-a15b-8b538852e50e.bin");
    CHECK_INT_EQ(tn_delta_dv_uuid_z85("61d16c75-6994-46b7-a15b-8b538852e50e", z85, &err), 0);
    CHECK_STR_EQ(z85, "vBn[lx{q8@P<9BNH/isA");
    file = path ? slurp(path, &file_len) : NULL;
    if (file) {
        /* The README's expected deletes: rows 0 and 9 (value IN (0, 9)). */
        CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 10, &pos, &n, &err), 0);
        CHECK_INT_EQ(n, 2);
        if (n == 2) {
            CHECK_INT_EQ(pos[0], 0);
            CHECK_INT_EQ(pos[1], 9);
        }
        /* tarn's encoder writes the same bytes Databricks did for this set. */
        CHECK_INT_EQ(tn_delta_dv_file_slice(file, file_len, 1, 36, &bitmap, &bitmap_len, &err), 0);
        CHECK_INT_EQ(tn_delta_dv_encode(pos, n, &again, &again_len, &err), 0);
        CHECK_INT_EQ(again_len, bitmap_len);
        CHECK(bitmap && again && again_len == bitmap_len && memcmp(again, bitmap, bitmap_len) == 0);
        /* A cap below the cardinality, and a cardinality the bitmap does not have. */
        free(pos);
        pos = NULL;
        CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 1, &pos, &n, &err), TN_EINPUT);
        dv.cardinality = 3;
        CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &pos, &n, &err), TN_EINPUT);
        CHECK_CONTAINS(err.msg, "the log says 3");
        CHECK(pos == NULL);
    }
    free(again);
    free(pos);
    free(file);
    free(path);
    free(table);
    tn_delta_dv_release(&dv);
}

/* table_with_deletion_logs: the DVs of versions 3 (one row) and 4 (two rows), each in its own
 * file, checked against the cardinality the log states. */
static void test_fixture_deletion_logs(void)
{
    static const struct {
        const char *z85;
        int64_t size, card;
    } cases[] = {{"J.Dy=B})x<YARTP5LcO1", 34, 1}, {"Q6Kt3y1b)0MgZSWwPunr", 36, 2}};
    const char *shared = tn_test_shared_dir();
    char *table;

    if (!shared) {
        tn_test_skip("../shared is absent");
        return;
    }
    table = tn_asprintf("%s/delta-fixtures/table_with_deletion_logs", shared);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tn_delta_dv dv = {'u', tn_strdup(cases[i].z85), 1, cases[i].size, cases[i].card};
        struct tn_err err = {0};
        char *path = NULL;
        unsigned char *file = NULL;
        size_t file_len = 0, n = 0;
        int64_t *pos = NULL;

        CHECK_INT_EQ(tn_delta_dv_file_path(&dv, table, &path, &err), 0);
        if (path)
            file = slurp(path, &file_len);
        if (file) {
            CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 100, &pos, &n, &err), 0);
            CHECK_INT_EQ(n, cases[i].card);
            for (size_t k = 0; k + 1 < n; k++)
                CHECK(pos[k] < pos[k + 1]);
        }
        free(pos);
        free(file);
        free(path);
        tn_delta_dv_release(&dv);
    }
    free(table);
}

/*---- Round trips ----*/

static void test_round_trips(void)
{
    enum { N = 200000 };
    int64_t *pos = tn_malloc(N * sizeof(*pos));
    size_t size = 0;

    check_round_trip(pos, 0, &size); /* no positions: magic and a zero count */
    CHECK_INT_EQ(size, 12);
    pos[0] = 7;
    check_round_trip(pos, 1, NULL);

    /* Sparse: array containers. */
    for (int i = 0; i < 1000; i++)
        pos[i] = (int64_t)i * 977;
    check_round_trip(pos, 1000, NULL);

    /* Dense and scattered: a bitset container (every third row of 60,000). */
    for (int i = 0; i < 20000; i++)
        pos[i] = (int64_t)i * 3;
    check_round_trip(pos, 20000, &size);
    CHECK(size < 9000);

    /* Consecutive: run containers, a few bytes for 200,000 rows over four containers. */
    for (int i = 0; i < N; i++)
        pos[i] = 1000 + i;
    check_round_trip(pos, N, &size);
    CHECK(size < 100);

    /* Several 32-bit buckets, and a container that ends exactly at 65535. */
    pos[0] = 65534;
    pos[1] = 65535;
    pos[2] = 65536;
    pos[3] = (1LL << 32) + 5;
    pos[4] = (5LL << 32) + 70000;
    pos[5] = (5LL << 32) + 70001;
    pos[6] = (0x7FFFFFFFLL << 32) + 0xFFFFFFFFLL;
    check_round_trip(pos, 7, NULL);

    /* Mixed: runs and arrays in one bucket (more than four containers: an offset header). */
    for (int i = 0; i < 10; i++) {
        pos[2 * i] = (int64_t)i * 65536 + 3;
        pos[2 * i + 1] = (int64_t)i * 65536 + 4;
    }
    for (int i = 0; i < 5000; i++)
        pos[20 + i] = 20 * 65536LL + i;
    check_round_trip(pos, 5020, NULL);
    free(pos);
}

static void test_encode_refuses_unsorted(void)
{
    int64_t pos[3] = {5, 4, 6};
    int64_t neg[1] = {-1};
    unsigned char *bytes = NULL;
    size_t len = 0;
    struct tn_err err = {0};

    CHECK_INT_EQ(tn_delta_dv_encode(pos, 3, &bytes, &len, &err), TN_EINTERNAL);
    CHECK_INT_EQ(tn_delta_dv_encode(neg, 1, &bytes, &len, &err), TN_EINTERNAL);
    CHECK(bytes == NULL);
}

/*---- Files, inline DVs and descriptors ----*/

static void test_file_and_inline(void)
{
    int64_t pos[5] = {1, 2, 3, 100, 1LL << 33};
    unsigned char *bitmap = NULL, *file = NULL, *padded;
    size_t bitmap_len = 0, file_len = 0, n = 0, padded_len;
    int64_t *got = NULL;
    struct tn_err err = {0};
    struct tn_delta_dv dv = {'u', NULL, 1, 0, 5};

    CHECK_INT_EQ(tn_delta_dv_encode(pos, 5, &bitmap, &bitmap_len, &err), 0);
    tn_delta_dv_file_build(bitmap, bitmap_len, &file, &file_len);
    CHECK_INT_EQ(file_len, bitmap_len + 9);
    dv.size_in_bytes = (int64_t)bitmap_len;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), 0);
    CHECK_INT_EQ(n, 5);
    free(got);
    got = NULL;

    /* Damaged files: another version byte, a flipped bit (CRC), a size that runs past the end,
     * an offset outside the file, and the wrong sizeInBytes. */
    file[0] = 2;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "format version 2");
    file[0] = 1;
    file[10] ^= 0x10;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "CRC-32");
    file[10] ^= 0x10;
    dv.offset = (int64_t)file_len;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "outside");
    dv.offset = 1;
    dv.size_in_bytes = 1000;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    file[1] = 0x7F; /* the size field itself says 2 GB */
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    dv.size_in_bytes = -1;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, file, file_len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "runs past the end");
    CHECK(got == NULL);

    /* Inline: the bytes padded with zeros to a multiple of 4, Z85-encoded, cut at sizeInBytes. */
    padded_len = (bitmap_len + 3) / 4 * 4;
    padded = tn_calloc(1, padded_len);
    memcpy(padded, bitmap, bitmap_len);
    dv.storage_type = 'i';
    dv.path_or_inline = tn_z85_encode(padded, padded_len);
    dv.size_in_bytes = (int64_t)bitmap_len;
    dv.offset = -1;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, NULL, 0, 0, &got, &n, &err), 0);
    CHECK_INT_EQ(n, 5);
    if (n == 5)
        CHECK_INT_EQ(got[4], 1LL << 33);
    free(got);
    got = NULL;
    dv.size_in_bytes = (int64_t)padded_len + 4;
    CHECK_INT_EQ(tn_delta_dv_positions(&dv, NULL, 0, 0, &got, &n, &err), TN_EINPUT);
    tn_delta_dv_release(&dv);
    free(padded);
    free(file);
    free(bitmap);
}

static void test_descriptor_paths(void)
{
    struct tn_delta_dv dv = {'u', NULL, 1, 36, 2};
    struct tn_err err = {0};
    char *path = NULL;

    dv.path_or_inline = tn_strdup("ab7vBn[lx{q8@P<9BNH/isA");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "s3://b/t", &path, &err), 0);
    CHECK_STR_EQ(path, "s3://b/t/ab7/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin");
    free(path);
    tn_delta_dv_release(&dv);

    /* A prefix that would climb out of the table, a short path, a bad Z85 digit. */
    dv.path_or_inline = tn_strdup("../vBn[lx{q8@P<9BNH/isA");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "/t", &path, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "letters and digits");
    tn_delta_dv_release(&dv);
    dv.path_or_inline = tn_strdup("vBn[lx");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "/t", &path, &err), TN_EINPUT);
    tn_delta_dv_release(&dv);
    dv.path_or_inline = tn_strdup("vBn[lx{q8@P<9BNH/is~");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "/t", &path, &err), TN_EINPUT);
    tn_delta_dv_release(&dv);
    CHECK(path == NULL);

    dv.storage_type = 'p';
    dv.path_or_inline = tn_strdup("s3://other/dv.bin");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "/t", &path, &err), 0);
    CHECK_STR_EQ(path, "s3://other/dv.bin");
    free(path);
    tn_delta_dv_release(&dv);
    dv.storage_type = 'i';
    dv.path_or_inline = tn_strdup("HelloWorld");
    CHECK_INT_EQ(tn_delta_dv_file_path(&dv, "/t", &path, &err), TN_EINPUT);
    tn_delta_dv_release(&dv);
    CHECK_INT_EQ(tn_delta_dv_uuid_z85("not-a-uuid", (char[21]){0}, &err), TN_EINPUT);
}

/*---- Damaged bitmaps ----*/

static void test_damaged_bitmaps(void)
{
    int64_t pos[6] = {1, 2, 3, 70000, 70001, 1LL << 32};
    unsigned char *bytes = NULL, *copy;
    size_t len = 0;
    struct tn_err err = {0};
    /* magic, 2^60 buckets */
    static const unsigned char huge_buckets[12] = {0xD1, 0xD3, 0x39, 0x64, 0, 0,
                                                   0,    0,    0,    0,    0, 0x10};
    /* magic, 1 bucket, key 0, run cookie with one container, run bit set, header (key 0,
     * card-1 0), 1 run [0, 65535]: 65,536 positions from 26 bytes */
    static const unsigned char one_big_run[] = {
        0xD1, 0xD3, 0x39, 0x64, 1,    0,   0, 0, 0, 0, 0, 0, /* magic, one bucket */
        0,    0,    0,    0,                                 /* bucket key 0 */
        0x3B, 0x30, 0,    0,    1,                           /* run cookie, 1 container, a run */
        0,    0,    0xFF, 0xFF,                              /* key 0, 65536 values */
        1,    0,    0,    0,    0xFF, 0xFF};                 /* 1 run: start 0, length 65536 */

    CHECK_INT_EQ(tn_delta_dv_encode(pos, 6, &bytes, &len, &err), 0);
    copy = tn_malloc(len);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(copy, bytes, cut);
        check_refused(copy, cut, 0, NULL);
    }
    /* Trailing bytes, a bad magic number, a key with its top bit set. */
    memcpy(copy, bytes, len);
    check_refused(copy, len - 1, 0, NULL);
    copy[0] ^= 1;
    check_refused(copy, len, 0, "magic number");
    free(copy);
    check_refused(huge_buckets, sizeof(huge_buckets), 0, "more buckets");
    {
        unsigned char neg_key[24];
        memcpy(neg_key, bytes, 12);
        neg_key[4] = 1;
        memset(neg_key + 5, 0, 7);
        memcpy(neg_key + 12, "\0\0\0\x80", 4);           /* key 0x80000000 */
        memcpy(neg_key + 16, "\x3A\x30\0\0\0\0\0\0", 8); /* no-run cookie, 0 containers */
        check_refused(neg_key, 24, 0, "top bit");
    }
    /* A run claiming more positions than the cap, and runs past the end of a container. */
    {
        int64_t *got = NULL;
        size_t n = 0;
        unsigned char past[sizeof(one_big_run)];
        CHECK_INT_EQ(tn_delta_dv_decode(one_big_run, sizeof(one_big_run), 0, &got, &n, &err), 0);
        CHECK_INT_EQ(n, 65536);
        free(got);
        check_refused(one_big_run, sizeof(one_big_run), 1000, "more than 1000 positions");
        memcpy(past, one_big_run, sizeof(past));
        past[sizeof(past) - 4] = 1; /* the run starts at 1 and still lasts 65,536 */
        check_refused(past, sizeof(past), 0, "past its container");
    }
    free(bytes);
}

static const struct tn_test delta_dv[] = {
    {"z85_vector", test_z85_vector},
    {"fixture_dv_small", test_fixture_dv_small},
    {"fixture_deletion_logs", test_fixture_deletion_logs},
    {"round_trips", test_round_trips},
    {"encode_refuses_unsorted", test_encode_refuses_unsorted},
    {"file_and_inline", test_file_and_inline},
    {"descriptor_paths", test_descriptor_paths},
    {"damaged_bitmaps", test_damaged_bitmaps},
    {NULL, NULL},
};
TN_SUITE(delta_dv)
