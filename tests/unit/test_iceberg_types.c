/* test_iceberg_types.c - unit tests for src/iceberg/types.c (type and schema JSON, DuckDB type
 * names) and src/iceberg/bounds.c (single-value bound encoding, comparison, formatting). The
 * bound texts are what DuckDB 1.4's parquet_metadata() prints with TimeZone set to UTC. */
#include "tn_test.h"

#include <stdlib.h>

#include "iceberg/iceberg.h"
#include "table/table.h"

/*---- Helpers ----*/

static struct tn_type *type_of(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    struct tn_type *t = NULL;
    struct tn_err err = {0};

    if (!j || tn_type_parse(j, &t, &err)) {
        tn_test_failed(__FILE__, __LINE__, "cannot parse type %s: %s", json, err.msg);
        json_decref(j);
        return NULL;
    }
    json_decref(j);
    return t;
}

/* The bound of "text" for a column of type "type_json" in hex, "EINPUT", or "ERR <code>". */
static const char *enc(const char *type_json, const char *text, int upper)
{
    static char out[2 * TN_BOUND_MAX + 16];
    unsigned char v[TN_BOUND_MAX];
    size_t n = 0;
    struct tn_err err = {0};
    struct tn_type *t = type_of(type_json);
    int rc;

    if (!t)
        return "no type";
    rc = tn_bound_encode(t, text, upper, v, &n, &err);
    if (rc == TN_EINPUT)
        snprintf(out, sizeof(out), "EINPUT");
    else if (rc)
        snprintf(out, sizeof(out), "ERR %d", rc);
    else
        tn_test_hex(v, n, out);
    tn_type_free(t);
    return out;
}

#define LOWER(type, text) enc(type, text, 0)
#define UPPER(type, text) enc(type, text, 1)
#define EINPUT            "EINPUT"

/* Encode "text" then format it back. */
static const char *round_trip(const char *type_json, const char *text)
{
    static char out[600];
    unsigned char v[TN_BOUND_MAX];
    size_t n = 0;
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_type *t = type_of(type_json);

    if (!t)
        return "no type";
    if (tn_bound_encode(t, text, 0, v, &n, &err) || tn_bound_format(t, v, n, &b, &err))
        snprintf(out, sizeof(out), "ERR %s", err.msg);
    else
        snprintf(out, sizeof(out), "%s", b.buf);
    tn_buf_release(&b);
    tn_type_free(t);
    return out;
}

/* Compare the encodings of two texts (each for its own type) under column type "col". */
static int cmp(const char *col, const char *ta, const char *a, const char *tb, const char *b)
{
    unsigned char va[TN_BOUND_MAX], vb[TN_BOUND_MAX];
    size_t na = 0, nb = 0;
    struct tn_err err = {0};
    struct tn_type *tc = type_of(col), *t1 = type_of(ta), *t2 = type_of(tb);
    int r = 99;

    if (tc && t1 && t2 && !tn_bound_encode(t1, a, 0, va, &na, &err) &&
        !tn_bound_encode(t2, b, 0, vb, &nb, &err)) {
        r = tn_bound_compare(tc, va, na, vb, nb);
        r = r < 0 ? -1 : r > 0;
    } else {
        tn_test_failed(__FILE__, __LINE__, "cannot encode %s / %s: %s", a, b, err.msg);
    }
    tn_type_free(tc);
    tn_type_free(t1);
    tn_type_free(t2);
    return r;
}

/*---- Encoding ----*/

static void test_iceberg_md_examples(void)
{
    CHECK_STR_EQ(LOWER("\"timestamp\"", "2023-05-15 14:30:45"), "40efd44cbcfb0500");
    CHECK_STR_EQ(LOWER("\"long\"", "12345"), "3930000000000000");
    CHECK_STR_EQ(LOWER("\"float\"", "3.1415927"), "db0f4940");
    CHECK_STR_EQ(LOWER("\"decimal(3,2)\"", "1.23"), "7b");
    CHECK_STR_EQ(LOWER("\"string\"", "click"), "636c69636b");
}

static void test_boolean_and_integers(void)
{
    CHECK_STR_EQ(LOWER("\"boolean\"", "true"), "01");
    CHECK_STR_EQ(LOWER("\"boolean\"", "false"), "00");
    CHECK_STR_EQ(LOWER("\"boolean\"", "yes"), EINPUT);
    CHECK_STR_EQ(LOWER("\"int\"", "-12"), "f4ffffff");
    CHECK_STR_EQ(LOWER("\"int\"", "2147483647"), "ffffff7f");
    CHECK_STR_EQ(LOWER("\"int\"", "2147483648"), EINPUT);
    CHECK_STR_EQ(LOWER("\"long\"", "-9223372036854775807"), "0100000000000080");
    CHECK_STR_EQ(LOWER("\"long\"", "9223372036854775808"), EINPUT);
    CHECK_STR_EQ(LOWER("\"long\"", "12a"), EINPUT);
    CHECK_STR_EQ(LOWER("\"long\"", ""), EINPUT);
    CHECK_STR_EQ(LOWER("\"int\"", " 1"), EINPUT);
}

static void test_floats(void)
{
    CHECK_STR_EQ(LOWER("\"float\"", "1.5"), "0000c03f");
    CHECK_STR_EQ(LOWER("\"double\"", "-0.0"), "0000000000000080");
    CHECK_STR_EQ(LOWER("\"double\"", "inf"), "000000000000f07f");
    CHECK_STR_EQ(LOWER("\"double\"", "-inf"), "000000000000f0ff");
    CHECK_STR_EQ(LOWER("\"double\"", "1e+20"), "408cb5781daf1544");
    CHECK_STR_EQ(LOWER("\"double\"", "1E20"), "408cb5781daf1544");
    CHECK_STR_EQ(LOWER("\"float\"", "nan"), EINPUT);
    CHECK_STR_EQ(LOWER("\"double\"", "NaN"), EINPUT);
    CHECK_STR_EQ(UPPER("\"double\"", "-nan"), EINPUT);
    CHECK_STR_EQ(LOWER("\"double\"", "0x10"), EINPUT);
    CHECK_STR_EQ(LOWER("\"double\"", "1e"), EINPUT);
    CHECK_STR_EQ(LOWER("\"double\"", "."), EINPUT);
    CHECK_STR_EQ(LOWER("\"double\"", "1e400"), EINPUT);
}

static void test_decimals(void)
{
    /* precision 9 (an INT32 in Parquet) */
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "-0.05"), "fb");
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "100"), "2710");
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "1234567.89"), "075bcd15");
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "12.340"), "04d2");
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "12.345"), EINPUT);
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "12345678.9"), EINPUT);
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "0"), "00");
    CHECK_STR_EQ(LOWER("\"decimal(9,0)\"", "128"), "0080");
    CHECK_STR_EQ(LOWER("\"decimal(9,0)\"", "-128"), "80");
    CHECK_STR_EQ(LOWER("\"decimal(9,0)\"", "-129"), "ff7f");
    CHECK_STR_EQ(LOWER("\"decimal(9,0)\"", "-1"), "ff");
    /* precision 18 (INT64) */
    CHECK_STR_EQ(LOWER("\"decimal(18,4)\"", "-99999999999999.9999"), "f21f494c589c0001");
    /* precision 38 (FIXED_LEN_BYTE_ARRAY) */
    CHECK_STR_EQ(LOWER("\"decimal(38,10)\"", "-0.0500000000"), "e2329b00");
    CHECK_STR_EQ(LOWER("\"decimal(38,0)\"", "99999999999999999999999999999999999999"),
                 "4b3b4ca85a86c47a098a223fffffffff");
    CHECK_STR_EQ(LOWER("\"decimal(38,0)\"", "-99999999999999999999999999999999999999"),
                 "b4c4b357a5793b85f675ddc000000001");
    CHECK_STR_EQ(LOWER("\"decimal(38,0)\"", "100000000000000000000000000000000000000"), EINPUT);
    CHECK_STR_EQ(LOWER("\"decimal(38,2)\"", "999999999999999999999999999999999999.999"), EINPUT);
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "1.2.3"), EINPUT);
    CHECK_STR_EQ(LOWER("\"decimal(9,2)\"", "-"), EINPUT);
}

static void test_dates_and_times(void)
{
    CHECK_STR_EQ(LOWER("\"date\"", "2024-01-02"), "0c4d0000");
    CHECK_STR_EQ(LOWER("\"date\"", "1969-12-31"), "ffffffff");
    CHECK_STR_EQ(LOWER("\"date\"", "1970-01-01"), "00000000");
    CHECK_STR_EQ(LOWER("\"date\"", "0044-03-15 (BC)"), "48c8f4ff"); /* -735160 */
    CHECK_STR_EQ(LOWER("\"date\"", "-0043-03-15"), "48c8f4ff");
    CHECK_STR_EQ(LOWER("\"date\"", "0011-03-05"), "4915f5ff");  /* -715447 */
    CHECK_STR_EQ(LOWER("\"date\"", "12000-01-01"), "16e63700"); /* 3663382 */
    CHECK_STR_EQ(LOWER("\"date\"", "2024-02-29"), "464d0000");
    CHECK_STR_EQ(LOWER("\"date\"", "2023-02-29"), EINPUT);
    CHECK_STR_EQ(LOWER("\"date\"", "2024-13-01"), EINPUT);
    CHECK_STR_EQ(LOWER("\"date\"", "24-01-01"), EINPUT);
    CHECK_STR_EQ(LOWER("\"date\"", "infinity"), EINPUT);
    CHECK_STR_EQ(LOWER("\"date\"", "2024-01-02 "), EINPUT);
    CHECK_STR_EQ(LOWER("\"time\"", "12:06:45"), "407f0f270a000000");
    CHECK_STR_EQ(LOWER("\"time\"", "12:06:45.012345"), "79af0f270a000000");
    CHECK_STR_EQ(LOWER("\"time\"", "24:00:00"), "0060d71d14000000");
    CHECK_STR_EQ(LOWER("\"time\"", "24:00:01"), EINPUT);
    CHECK_STR_EQ(LOWER("\"time\"", "12:60:00"), EINPUT);
    CHECK_STR_EQ(LOWER("\"time\"", "12:06"), EINPUT);
    /* digits past microseconds round down for a lower bound and up for an upper one */
    CHECK_STR_EQ(LOWER("\"time\"", "12:06:45.0123451"), "79af0f270a000000");
    CHECK_STR_EQ(UPPER("\"time\"", "12:06:45.0123451"), "7aaf0f270a000000");
}

static void test_timestamps(void)
{
    CHECK_STR_EQ(LOWER("\"timestamp\"", "1900-01-01 00:00:00.000001"), "016043b7ef26f8ff");
    CHECK_STR_EQ(LOWER("\"timestamp\"", "2024-01-01 10:00:00.5"), "2029ed71df0d0600");
    CHECK_STR_EQ(LOWER("\"timestamp\"", "2024-01-01T10:00:00.5"), "2029ed71df0d0600");
    CHECK_STR_EQ(LOWER("\"timestamp\"", "0044-03-15 (BC) 10:00:00"), "00685789e8561eff");
    CHECK_STR_EQ(LOWER("\"timestamp\"", "2024-01-01 10:00:00+00"), EINPUT);
    CHECK_STR_EQ(LOWER("\"timestamp\"", "2024-01-01"), EINPUT);
    CHECK_STR_EQ(LOWER("\"timestamp\"", "infinity"), EINPUT);
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "2024-01-01 10:00:00.5+00"), "2029ed71df0d0600");
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "2024-01-01 10:00:00+05:30"), "0082b9d5da0d0600");
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "2024-01-01 10:00:00-08"), "00a88226e60d0600");
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "2024-01-01 04:30:00Z"), "0082b9d5da0d0600");
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "0044-03-15 (BC) 10:00:00+00"), "00685789e8561eff");
    CHECK_STR_EQ(LOWER("\"timestamptz\"", "2024-01-01 10:00:00+5"), EINPUT);
    CHECK_STR_EQ(LOWER("\"timestamp_ns\"", "1960-01-01 10:00:00.123456789"), "150d4772c0d29efb");
    CHECK_STR_EQ(LOWER("\"timestamptz_ns\"", "1960-01-01 10:00:00.123456789+00"),
                 "150d4772c0d29efb");
}

static void test_string_truncation(void)
{
    /* at most 16 code points: the value itself, lower and upper */
    CHECK_STR_EQ(UPPER("\"string\"", "abcdefghijklmnop"), "6162636465666768696a6b6c6d6e6f70");
    CHECK_STR_EQ(LOWER("\"string\"", ""), "");
    /* longer: a 16 code point prefix, incremented at the end for the upper bound */
    CHECK_STR_EQ(LOWER("\"string\"", "abcdefghijklmnopqrstuvwxyz"),
                 "6162636465666768696a6b6c6d6e6f70");
    CHECK_STR_EQ(UPPER("\"string\"", "abcdefghijklmnopqrstuvwxyz"),
                 "6162636465666768696a6b6c6d6e6f71");
    /* 17 x U+00E9: 16 kept, the last becomes U+00EA */
    CHECK_STR_EQ(LOWER("\"string\"", "ééééééééééééééééé"),
                 "c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9");
    CHECK_STR_EQ(UPPER("\"string\"", "ééééééééééééééééé"),
                 "c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3aa");
    /* U+10FFFF cannot grow: carry into the code point before it */
    CHECK_STR_EQ(UPPER("\"string\"", "aaaaaaaaaaaaaaa\xf4\x8f\xbf\xbfz"),
                 "616161616161616161616161616162");
    /* U+D7FF steps over the surrogates to U+E000 */
    CHECK_STR_EQ(UPPER("\"string\"", "aaaaaaaaaaaaaaa\xed\x9f\xbfz"),
                 "616161616161616161616161616161ee8080");
    /* four-byte code points: 16 of them fill TN_BOUND_MAX exactly */
    CHECK_STR_EQ(LOWER("\"string\"", "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"),
                 "f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880"
                 "f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880");
    CHECK_STR_EQ(UPPER("\"string\"", "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"),
                 "f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880"
                 "f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9880f09f9881");
    /* no upper bound exists */
    CHECK_STR_EQ(UPPER("\"string\"", "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf"
                                     "\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f"
                                     "\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4"
                                     "\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf"
                                     "\xf4\x8f\xbf\xbf!"),
                 EINPUT);
    /* invalid UTF-8 */
    CHECK_STR_EQ(LOWER("\"string\"", "ab\xff"), EINPUT);
    CHECK_STR_EQ(LOWER("\"string\"", "\xc0\x80"), EINPUT);     /* overlong */
    CHECK_STR_EQ(LOWER("\"string\"", "\xed\xa0\x80"), EINPUT); /* surrogate */
}

static void test_uuid_binary_fixed(void)
{
    CHECK_STR_EQ(LOWER("\"uuid\"", "19a9a8e2-BAD2-40b6-991e-9e25376159b6"),
                 "19a9a8e2bad240b6991e9e25376159b6");
    CHECK_STR_EQ(LOWER("\"uuid\"", "19a9a8e2bad240b6991e9e25376159b6"), EINPUT);
    CHECK_STR_EQ(LOWER("\"uuid\"", "19a9a8e2-bad2-40b6-991e-9e25376159bg"), EINPUT);
    CHECK_STR_EQ(LOWER("\"uuid\"", "19a9a8e2-bad2-40b6-991e-9e25376159b6a"), EINPUT);
    /* DuckDB's BLOB text: \xNN escapes for anything not printable, and for \ ' " */
    CHECK_STR_EQ(LOWER("\"binary\"", "\\x00ab\\xFFz"), "006162ff7a");
    CHECK_STR_EQ(LOWER("\"binary\"", "\\x5C\\x7F\\x80 \\x27\\x22"), "5c7f80202722");
    CHECK_STR_EQ(LOWER("\"binary\"", "\\q"), EINPUT);
    CHECK_STR_EQ(LOWER("\"binary\"", "\\x4"), EINPUT);
    CHECK_STR_EQ(LOWER("\"binary\"", "abcdefghijklmnopq"), "6162636465666768696a6b6c6d6e6f70");
    CHECK_STR_EQ(UPPER("\"binary\"", "abcdefghijklmnopq"), "6162636465666768696a6b6c6d6e6f71");
    CHECK_STR_EQ(UPPER("\"binary\"", "abcdefghijklmnop"), "6162636465666768696a6b6c6d6e6f70");
    /* 0xff bytes at the cut are dropped and the byte before them incremented */
    CHECK_STR_EQ(UPPER("\"binary\"", "aaaaaaaaaaaaaa\\xFF\\xFFx"), "6161616161616161616161616162");
    CHECK_STR_EQ(UPPER("\"binary\"", "\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF"
                                     "\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF"),
                 EINPUT);
    CHECK_STR_EQ(LOWER("\"binary\"", "\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF"
                                     "\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF"),
                 "ffffffffffffffffffffffffffffffff");
    CHECK_STR_EQ(LOWER("\"fixed[3]\"", "abc"), "616263");
    CHECK_STR_EQ(LOWER("\"fixed[3]\"", "ab"), EINPUT);
    CHECK_STR_EQ(UPPER("\"fixed[17]\"", "abcdefghijklmnopq"), "6162636465666768696a6b6c6d6e6f71");
}

static void test_no_bounds_for_nested_or_unknown(void)
{
    CHECK_STR_EQ(LOWER("\"unknown\"", "1"), EINPUT);
    CHECK_STR_EQ(LOWER("{\"type\":\"list\",\"element-id\":2,\"element-required\":false,"
                       "\"element\":\"int\"}",
                       "1"),
                 EINPUT);
}

/*---- Comparing ----*/

static void test_compare(void)
{
    /* a long column may hold a 4-byte bound written while it was an int */
    CHECK_INT_EQ(cmp("\"long\"", "\"int\"", "5", "\"long\"", "7"), -1);
    CHECK_INT_EQ(cmp("\"long\"", "\"int\"", "-1", "\"long\"", "0"), -1);
    CHECK_INT_EQ(cmp("\"long\"", "\"long\"", "4294967296", "\"int\"", "2147483647"), 1);
    CHECK_INT_EQ(cmp("\"long\"", "\"int\"", "7", "\"long\"", "7"), 0);
    CHECK_INT_EQ(cmp("\"int\"", "\"int\"", "-2", "\"int\"", "1"), -1);
    /* a double column may hold a 4-byte float bound */
    CHECK_INT_EQ(cmp("\"double\"", "\"float\"", "1.5", "\"double\"", "1.25"), 1);
    CHECK_INT_EQ(cmp("\"double\"", "\"float\"", "1.5", "\"double\"", "1.5"), 0);
    CHECK_INT_EQ(cmp("\"double\"", "\"double\"", "-0.0", "\"double\"", "0.0"), -1);
    CHECK_INT_EQ(cmp("\"float\"", "\"float\"", "-inf", "\"float\"", "-1e30"), -1);
    /* a timestamp column may hold a 4-byte date bound (days) */
    CHECK_INT_EQ(cmp("\"timestamp\"", "\"date\"", "2024-01-02", "\"timestamp\"",
                     "2024-01-01 23:59:59.999999"),
                 1);
    CHECK_INT_EQ(
        cmp("\"timestamp\"", "\"date\"", "2024-01-02", "\"timestamp\"", "2024-01-02 00:00:00"), 0);
    CHECK_INT_EQ(cmp("\"timestamp_ns\"", "\"date\"", "1969-12-31", "\"timestamp_ns\"",
                     "1969-12-31 00:00:00.000000001"),
                 -1);
    CHECK_INT_EQ(cmp("\"date\"", "\"date\"", "0044-03-15 (BC)", "\"date\"", "1969-12-31"), -1);
    /* decimals are signed whatever their byte lengths */
    CHECK_INT_EQ(cmp("\"decimal(9,2)\"", "\"decimal(9,2)\"", "1.23", "\"decimal(9,2)\"", "1.28"),
                 -1);
    CHECK_INT_EQ(cmp("\"decimal(9,0)\"", "\"decimal(9,0)\"", "-1", "\"decimal(9,0)\"", "0"), -1);
    CHECK_INT_EQ(cmp("\"decimal(9,0)\"", "\"decimal(9,0)\"", "-128", "\"decimal(9,0)\"", "-129"),
                 1);
    CHECK_INT_EQ(cmp("\"decimal(38,0)\"", "\"decimal(38,0)\"", "-1", "\"decimal(38,0)\"",
                     "-99999999999999999999999999999999999999"),
                 1);
    CHECK_INT_EQ(cmp("\"decimal(38,0)\"", "\"decimal(38,0)\"", "1000", "\"decimal(38,0)\"",
                     "99999999999999999999999999999999999999"),
                 -1);
    /* strings and binary compare as unsigned bytes, a prefix first */
    CHECK_INT_EQ(cmp("\"string\"", "\"string\"", "z", "\"string\"", "é"), -1);
    CHECK_INT_EQ(cmp("\"string\"", "\"string\"", "ab", "\"string\"", "a"), 1);
    CHECK_INT_EQ(cmp("\"binary\"", "\"binary\"", "\\x7F", "\"binary\"", "\\x80"), -1);
    CHECK_INT_EQ(cmp("\"uuid\"", "\"uuid\"", "80000000-0000-0000-0000-000000000000", "\"uuid\"",
                     "7fffffff-ffff-ffff-ffff-ffffffffffff"),
                 1);
    CHECK_INT_EQ(cmp("\"boolean\"", "\"boolean\"", "false", "\"boolean\"", "true"), -1);
}

/*---- Formatting ----*/

static void test_format(void)
{
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_type *t;
    const unsigned char three[3] = {1, 2, 3};

    CHECK_STR_EQ(round_trip("\"timestamp\"", "2024-01-01 10:00:00"), "2024-01-01 10:00:00");
    CHECK_STR_EQ(round_trip("\"timestamp\"", "1900-01-01 00:00:00.000001"),
                 "1900-01-01 00:00:00.000001");
    CHECK_STR_EQ(round_trip("\"timestamp\"", "1969-12-31 23:59:59.5"), "1969-12-31 23:59:59.5");
    CHECK_STR_EQ(round_trip("\"timestamptz\"", "2024-01-01 10:00:00+05:30"),
                 "2024-01-01 04:30:00+00:00");
    CHECK_STR_EQ(round_trip("\"timestamp_ns\"", "1960-01-01 10:00:00.123456789"),
                 "1960-01-01 10:00:00.123456789");
    CHECK_STR_EQ(round_trip("\"date\"", "0044-03-15 (BC)"), "-0043-03-15");
    CHECK_STR_EQ(round_trip("\"date\"", "2024-02-29"), "2024-02-29");
    CHECK_STR_EQ(round_trip("\"time\"", "12:06:45.012345"), "12:06:45.012345");
    CHECK_STR_EQ(round_trip("\"decimal(9,2)\"", "-0.05"), "-0.05");
    CHECK_STR_EQ(round_trip("\"decimal(9,2)\"", "100"), "100.00");
    CHECK_STR_EQ(round_trip("\"decimal(9,0)\"", "-129"), "-129");
    CHECK_STR_EQ(round_trip("\"decimal(38,10)\"", "-0.05"), "-0.0500000000");
    CHECK_STR_EQ(round_trip("\"decimal(38,0)\"", "-99999999999999999999999999999999999999"),
                 "-99999999999999999999999999999999999999");
    CHECK_STR_EQ(round_trip("\"uuid\"", "19A9A8E2-BAD2-40B6-991E-9E25376159B6"),
                 "19a9a8e2-bad2-40b6-991e-9e25376159b6");
    CHECK_STR_EQ(round_trip("\"binary\"", "\\x00ab\\xFFz"), "006162ff7a");
    CHECK_STR_EQ(round_trip("\"double\"", "1e+20"), "1e+20");
    CHECK_STR_EQ(round_trip("\"double\"", "0.1"), "0.1");
    CHECK_STR_EQ(round_trip("\"double\"", "-0.0"), "-0.0");
    CHECK_STR_EQ(round_trip("\"double\"", "-inf"), "-Infinity");
    CHECK_STR_EQ(round_trip("\"float\"", "3.1415927"), "3.1415927");
    CHECK_STR_EQ(round_trip("\"float\"", "100"), "100.0");
    CHECK_STR_EQ(round_trip("\"double\"", "123456789012.5"), "123456789012.5");
    CHECK_STR_EQ(round_trip("\"double\"", "1e-07"), "1e-07");
    CHECK_STR_EQ(round_trip("\"double\"", "0.001"), "0.001");
    CHECK_STR_EQ(round_trip("\"long\"", "-12"), "-12");
    CHECK_STR_EQ(round_trip("\"boolean\"", "true"), "true");
    CHECK_STR_EQ(round_trip("\"string\"", "héllo"), "héllo");

    /* a 4-byte date bound in a timestamp column, and a wrong length */
    t = type_of("\"timestamp\"");
    if (t) {
        const unsigned char days[4] = {0x0c, 0x4d, 0, 0};
        CHECK_OK(tn_bound_format(t, days, 4, &b, &err));
        CHECK_STR_EQ(b.buf, "2024-01-02 00:00:00");
        CHECK_INT_EQ(tn_bound_format(t, three, 3, &b, &err), TN_EINPUT);
        tn_type_free(t);
    }
    tn_buf_release(&b);
}

/*---- Type and schema JSON ----*/

static void test_type_names_round_trip(void)
{
    static const char *const names[] = {
        "boolean", "int",       "long",        "float",        "double",         "date",
        "time",    "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns", "string",
        "uuid",    "binary",    "unknown",     "decimal(9,2)", "decimal(38,38)", "fixed[16]",
    };
    char json[64], name[64];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct tn_type *t;
        snprintf(json, sizeof(json), "\"%s\"", names[i]);
        t = type_of(json);
        if (!t)
            continue;
        CHECK(tn_type_is_primitive(t));
        tn_type_name(t, name, sizeof(name));
        CHECK_STR_EQ(name, names[i]);
        tn_type_free(t);
    }
    /* Java and PyIceberg write a space; case and spacing are forgiven */
    {
        struct tn_type *t = type_of("\"decimal(15, 2)\"");
        if (t) {
            CHECK_INT_EQ(t->kind, TN_T_DECIMAL);
            CHECK_INT_EQ(t->precision, 15);
            CHECK_INT_EQ(t->scale, 2);
            tn_type_name(t, name, sizeof(name));
            CHECK_STR_EQ(name, "decimal(15,2)");
            tn_type_free(t);
        }
        t = type_of("\"Fixed[ 4 ]\"");
        if (t) {
            CHECK_INT_EQ(t->length, 4);
            tn_type_free(t);
        }
    }
}

static void test_bad_type_json(void)
{
    static const char *const bad[] = {
        "\"varchar\"",
        "\"decimal(39,0)\"",
        "\"decimal(0,0)\"",
        "\"decimal(5,6)\"",
        "\"decimal(5)\"",
        "\"decimal(5,2)x\"",
        "\"fixed[0]\"",
        "\"fixed[x]\"",
        "\"fixed[99999999999]\"",
        "42",
        "null",
        "[\"int\"]",
        "{\"type\":\"struct\"}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"type\":\"int\"}]}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":\"1\",\"name\":\"a\",\"required\":true,"
        "\"type\":\"int\"}]}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,"
        "\"type\":\"nope\"}]}",
        "{\"type\":\"list\",\"element-id\":1,\"element\":\"int\"}",
        "{\"type\":\"map\",\"key-id\":1,\"value-id\":2,\"value-required\":true,\"key\":\"int\"}",
        "{\"type\":\"variant\"}",
        "{\"fields\":[]}",
    };
    struct tn_err err = {0};
    struct tn_type *t = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        memset(&err, 0, sizeof(err));
        CHECK_INT_EQ(tn_type_parse(j, &t, &err), TN_EINPUT);
        CHECK_CONTAINS(err.msg, "Cannot parse type from json:");
        json_decref(j);
    }
    {
        json_t *j = json_string("varchar(10)");
        tn_type_parse(j, &t, &err);
        CHECK_STR_EQ(err.msg, "Cannot parse type from json: \"varchar(10)\"");
        json_decref(j);
    }
}

static const char nested_schema[] =
    "{\"type\":\"struct\",\"schema-id\":3,\"identifier-field-ids\":[1],\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"point\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "  {\"id\":3,\"name\":\"x\",\"required\":true,\"type\":\"double\"},"
    "  {\"id\":4,\"name\":\"la\\\"bel\",\"required\":false,\"type\":\"string\","
    "   \"initial-default\":\"none\"}]}},"
    "{\"id\":5,\"name\":\"tags\",\"required\":false,\"type\":{\"type\":\"list\","
    "  \"element-id\":6,\"element-required\":false,\"element\":{\"type\":\"struct\",\"fields\":["
    "    {\"id\":7,\"name\":\"k\",\"required\":false,\"type\":\"decimal(9, 2)\"}]}}},"
    "{\"id\":8,\"name\":\"attrs\",\"required\":false,\"type\":{\"type\":\"map\","
    "  \"key-id\":9,\"key\":\"string\",\"value-id\":10,\"value-required\":true,"
    "  \"value\":{\"type\":\"list\",\"element-id\":11,\"element-required\":false,"
    "    \"element\":{\"type\":\"struct\",\"fields\":["
    "      {\"id\":12,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"}]}}}}"
    "]}";

static void test_nested_schema(void)
{
    struct tn_err err = {0};
    struct tn_schema *s = NULL;
    struct tn_buf b = TN_BUF_INIT(0);
    json_t *j = json_loads(nested_schema, 0, NULL);
    const struct tn_field *f;

    CHECK(j != NULL);
    CHECK_OK(tn_schema_parse(j, &s, &err));
    json_decref(j); /* the schema keeps its own reference */
    if (!s)
        return;
    CHECK_INT_EQ(s->schema_id, 3);
    CHECK_INT_EQ(s->root.kind, TN_T_STRUCT);
    CHECK_INT_EQ(s->root.nfields, 4);
    CHECK_INT_EQ(s->nidentifier, 1);
    CHECK_INT_EQ(s->identifier_ids[0], 1);
    CHECK_INT_EQ(tn_schema_max_id(s), 12);
    CHECK(s->json != NULL);

    f = tn_schema_find(s, 1);
    CHECK(f && f->required && f->type->kind == TN_T_LONG && strcmp(f->name, "id") == 0);
    f = tn_schema_find(s, 4); /* nested struct */
    CHECK(f && !f->required && f->type->kind == TN_T_STRING);
    CHECK(f && json_is_string(f->initial_default) &&
          strcmp(json_string_value(f->initial_default), "none") == 0);
    f = tn_schema_find(s, 3);
    CHECK(f && f->initial_default == NULL);
    f = tn_schema_find(s, 7); /* a struct inside a list */
    CHECK(f && f->type->kind == TN_T_DECIMAL && f->type->precision == 9 && f->type->scale == 2);
    f = tn_schema_find(s, 12); /* a struct inside a list inside a map value */
    CHECK(f && f->type->kind == TN_T_TIMESTAMPTZ && strcmp(f->name, "ts") == 0);
    f = tn_schema_find(s, 8);
    CHECK(f && f->type->kind == TN_T_MAP && f->type->key_id == 9 && f->type->value_id == 10 &&
          f->type->value_required && f->type->key->kind == TN_T_STRING &&
          f->type->value->kind == TN_T_LIST && f->type->value->element_id == 11);
    f = tn_schema_find(s, 5);
    CHECK(f && f->type->kind == TN_T_LIST && f->type->element_id == 6 &&
          !f->type->element_required && f->type->element->kind == TN_T_STRUCT);
    CHECK(tn_schema_find(s, 6) == NULL); /* list elements are not struct fields */
    CHECK(tn_schema_find(s, 9) == NULL);
    CHECK(tn_schema_find(s, 13) == NULL);

    for (size_t i = 0; i < s->root.nfields; i++) {
        if (i)
            tn_buf_addstr(&b, " | ", &err);
        CHECK_OK(tn_type_duckdb(s->root.fields[i].type, &b, &err));
    }
    CHECK_STR_EQ(b.buf, "BIGINT | STRUCT(\"x\" DOUBLE, \"la\"\"bel\" VARCHAR) | "
                        "STRUCT(\"k\" DECIMAL(9,2))[] | "
                        "MAP(VARCHAR, STRUCT(\"ts\" TIMESTAMP WITH TIME ZONE)[])");
    tn_buf_release(&b);
    tn_schema_free(s);
}

static void test_duckdb_primitive_names(void)
{
    static const char *const pairs[][2] = {
        {"boolean", "BOOLEAN"},
        {"int", "INTEGER"},
        {"long", "BIGINT"},
        {"float", "FLOAT"},
        {"double", "DOUBLE"},
        {"decimal(38, 10)", "DECIMAL(38,10)"},
        {"date", "DATE"},
        {"time", "TIME"},
        {"timestamp", "TIMESTAMP"},
        {"timestamptz", "TIMESTAMP WITH TIME ZONE"},
        {"timestamp_ns", "TIMESTAMP_NS"},
        {"timestamptz_ns", "TIMESTAMP WITH TIME ZONE"},
        {"string", "VARCHAR"},
        {"uuid", "UUID"},
        {"binary", "BLOB"},
        {"fixed[4]", "BLOB"},
        {"unknown", "INTEGER"},
    };
    char json[64];

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct tn_err err = {0};
        struct tn_buf b = TN_BUF_INIT(0);
        struct tn_type *t;
        snprintf(json, sizeof(json), "\"%s\"", pairs[i][0]);
        t = type_of(json);
        if (!t)
            continue;
        CHECK_OK(tn_type_duckdb(t, &b, &err));
        CHECK_STR_EQ(b.buf, pairs[i][1]);
        tn_buf_release(&b);
        tn_type_free(t);
    }
}

static void test_schema_edge_cases(void)
{
    struct tn_err err = {0};
    struct tn_schema *s = NULL;
    json_t *j;

    /* v1 schemas may lack schema-id */
    j = json_loads("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":false,"
                   "\"type\":\"int\"}]}",
                   0, NULL);
    CHECK_OK(tn_schema_parse(j, &s, &err));
    if (s) {
        CHECK_INT_EQ(s->schema_id, 0);
        CHECK_INT_EQ(s->nidentifier, 0);
        CHECK_INT_EQ(tn_schema_max_id(s), 1);
        tn_schema_free(s);
        s = NULL;
    }
    json_decref(j);

    /* an empty schema */
    j = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[]}", 0, NULL);
    CHECK_OK(tn_schema_parse(j, &s, &err));
    if (s) {
        CHECK_INT_EQ(tn_schema_max_id(s), 0);
        CHECK(tn_schema_find(s, 1) == NULL);
        tn_schema_free(s);
        s = NULL;
    }
    json_decref(j);

    /* a field id used twice, even at different depths */
    j = json_loads("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":false,"
                   "\"type\":{\"type\":\"list\",\"element-id\":1,\"element-required\":true,"
                   "\"element\":\"int\"}}]}",
                   0, NULL);
    CHECK_INT_EQ(tn_schema_parse(j, &s, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "field id 1");
    json_decref(j);

    /* a bad type deep inside fails the whole schema, and frees what was parsed */
    j = json_loads("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":false,"
                   "\"type\":\"int\"},{\"id\":2,\"name\":\"b\",\"required\":false,"
                   "\"type\":{\"type\":\"map\",\"key-id\":3,\"key\":\"string\",\"value-id\":4,"
                   "\"value-required\":false,\"value\":\"decimal(40,1)\"}}]}",
                   0, NULL);
    CHECK_INT_EQ(tn_schema_parse(j, &s, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "Cannot parse type from json: \"decimal(40,1)\"");
    json_decref(j);

    j = json_loads("{\"type\":\"struct\",\"identifier-field-ids\":[\"x\"],\"fields\":[]}", 0, NULL);
    CHECK_INT_EQ(tn_schema_parse(j, &s, &err), TN_EINPUT);
    json_decref(j);
    j = json_loads("[]", 0, NULL);
    CHECK_INT_EQ(tn_schema_parse(j, &s, &err), TN_EINPUT);
    json_decref(j);
    /* Java reads a schema as a type, so "type": "struct" is required */
    j = json_loads("{\"schema-id\":1,\"fields\":[]}", 0, NULL);
    CHECK_INT_EQ(tn_schema_parse(j, &s, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "Cannot parse type from json:");
    json_decref(j);
}

/* Stored column names: lowercase ASCII, Latin letters transliterated, others a separator. */
static void test_column_name_sanitise(void)
{
    static const char *cases[][2] = {
        {"Order ID", "order_id"},
        {"Größe", "grosse"},
        {"Prix (€)", "prix"},
        {"名前", "column"},
        {"Crème brûlée", "creme_brulee"},
        {"ŁÓDŹ", "lodz"},
        {"Æther", "aether"},
        {"a\xff\xfe"
         "b",
         "a_b"},
        {"__x__", "x"},
    };
    char out[TN_NAME_MAX + 1];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tn_column_name_sanitise(cases[i][0], out, sizeof(out));
        CHECK_STR_EQ(out, cases[i][1]);
    }
}

static const struct tn_test types_tests[] = {
    {"iceberg.md bound examples", test_iceberg_md_examples},
    {"boolean and integer bounds", test_boolean_and_integers},
    {"float and double bounds, NaN refused", test_floats},
    {"decimal bounds at precision 9, 18, 38", test_decimals},
    {"date and time bounds, BC and big years", test_dates_and_times},
    {"timestamp bounds, offsets, nanoseconds", test_timestamps},
    {"string bounds truncate by code point", test_string_truncation},
    {"uuid, binary and fixed bounds", test_uuid_binary_fixed},
    {"no bounds for unknown or nested types", test_no_bounds_for_nested_or_unknown},
    {"bounds compare by value across widths", test_compare},
    {"bounds format as text", test_format},
    {"primitive type names round trip", test_type_names_round_trip},
    {"malformed type json is refused", test_bad_type_json},
    {"nested schema parse and find", test_nested_schema},
    {"duckdb names of primitive types", test_duckdb_primitive_names},
    {"schema edge cases", test_schema_edge_cases},
    {"column names are sanitised and transliterated", test_column_name_sanitise},
    {NULL, NULL},
};

TN_SUITE(types_tests)
