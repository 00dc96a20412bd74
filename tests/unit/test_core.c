/* test_core.c - unit tests for src/core: errors, buffers, names. */
#include "tn_test.h"

#include "core/core.h"

static void test_prefix_adds_context(void)
{
    struct tn_err err = {0};

    CHECK_INT_EQ(tn_fail(&err, TN_ENOTABLE, "no such table"), TN_ENOTABLE);
    tn_err_prefix(&err, "ingest %s: ", "sales");
    CHECK_STR_EQ(err.msg, "ingest sales: no such table");
    CHECK_INT_EQ(tn_err_http_status(err.code), 404);
    CHECK_STR_EQ(tn_err_type(err.code), "NoSuchTableException");
    CHECK_INT_EQ(tn_err_http_status(TN_EUNPROCESSABLE), 422);
}

static void test_buf_caps_growth(void)
{
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(8);

    CHECK_OK(tn_buf_addstr(&b, "abcd", &err));
    CHECK_OK(tn_buf_addf(&b, &err, "%d", 1234));
    CHECK_STR_EQ(b.buf, "abcd1234");
    CHECK_INT_EQ(tn_buf_addstr(&b, "x", &err), TN_ETOOBIG);
    CHECK_INT_EQ(b.len, 8);
    tn_buf_release(&b);
}

static void test_names_are_checked_and_folded(void)
{
    struct tn_err err = {0};
    char ns[TN_NAME_MAX + 1], t[TN_NAME_MAX + 1];

    CHECK_OK(tn_ident_parse("Sales", ns, t, &err));
    CHECK_STR_EQ(ns, "default");
    CHECK_STR_EQ(t, "sales");
    CHECK_OK(tn_ident_parse("Shop.Orders_2", ns, t, &err));
    CHECK_STR_EQ(ns, "shop");
    CHECK_STR_EQ(t, "orders_2");
    CHECK_INT_EQ(tn_ident_parse("../x", ns, t, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_ident_parse("a;b", ns, t, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_ident_parse("x\"y", ns, t, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_ident_parse("1abc", ns, t, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_ident_parse("", ns, t, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_ident_parse("a.b.c", ns, t, &err), TN_EINPUT);
}

static void test_uuid_is_v4(void)
{
    char a[37], b[37];
    tn_uuid4(a);
    tn_uuid4(b);
    CHECK_INT_EQ(strlen(a), 36);
    CHECK(a[14] == '4');
    CHECK(strcmp(a, b) != 0);
}

static void test_murmur3_matches_iceberg(void)
{
    /* the test vectors of the Iceberg spec (Appendix B) */
    int64_t v = 34;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)v >> (8 * i));
    CHECK_INT_EQ(tn_murmur3_32(le, 8), 2017239379);
    CHECK_INT_EQ(tn_murmur3_32("iceberg", 7), 1210000089);
    {
        const unsigned char b[4] = {0, 1, 2, 3};
        CHECK_INT_EQ(tn_murmur3_32(b, 4), -188683207);
    }
}

static void test_secret_equal(void)
{
    CHECK(tn_secret_equal("s3cret", "s3cret"));
    CHECK(tn_secret_equal("", ""));
    CHECK(!tn_secret_equal("s3cret", "s3creT"));
    CHECK(!tn_secret_equal("s3cret", "s3cre"));
    CHECK(!tn_secret_equal("s3cre", "s3cret"));
    CHECK(!tn_secret_equal("abc", ""));
    CHECK(!tn_secret_equal("", "abc"));
    CHECK(!tn_secret_equal("abcabc", "abc")); /* b repeats over a's length */
}

static void test_durations(void)
{
    int64_t ms = -1;

    CHECK(tn_parse_duration_ms("1d", &ms) == 0);
    CHECK_INT_EQ(ms, 86400000);
    CHECK(tn_parse_duration_ms("90", &ms) == 0);
    CHECK_INT_EQ(ms, 90000);
    CHECK(tn_parse_duration_ms("250ms", &ms) == 0);
    CHECK_INT_EQ(ms, 250);
    CHECK(tn_parse_duration_ms("0s", &ms) == 0);
    CHECK_INT_EQ(ms, 0);
    CHECK(tn_parse_duration_ms("12h", &ms) == 0);
    CHECK_INT_EQ(ms, 43200000);
    CHECK(tn_parse_duration_ms("", &ms) != 0);
    CHECK(tn_parse_duration_ms("1y", &ms) != 0);
    CHECK(tn_parse_duration_ms("-1d", &ms) != 0);
    CHECK(tn_parse_duration_ms("1 d", &ms) != 0);
    CHECK(tn_parse_duration_ms("99999999999999999999d", &ms) != 0);
    CHECK(tn_parse_duration_ms("40000d", &ms) != 0); /* past 100 years */
    CHECK(tn_parse_duration_ms(NULL, &ms) != 0);
}

static const struct tn_test core_tests[] = {
    {"durations parse with units and bounds", test_durations},
    {"secrets compare equal only when equal", test_secret_equal},
    {"murmur3 matches Iceberg's test vectors", test_murmur3_matches_iceberg},
    {"error prefix adds context", test_prefix_adds_context},
    {"buffer growth is capped", test_buf_caps_growth},
    {"names are checked and folded", test_names_are_checked_and_folded},
    {"uuid is version 4", test_uuid_is_v4},
    {NULL, NULL},
};
TN_SUITE(core_tests)
