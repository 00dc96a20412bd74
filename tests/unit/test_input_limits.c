/* test_input_limits.c - unit tests for src/ingest/input_limits.c: the scan that refuses deep
 * JSON, wide files, overlong lines and compressed files that grow too large. */
#include "tn_test.h"

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ingest/input_limits.h"

/* Scan "text" as "format", fed "step" bytes at a time (0: at once); the scan's result. */
static int scan_text(enum tn_source_format format, const char *delim, const char *text, size_t step,
                     struct tn_input_scan *sc, struct tn_err *err)
{
    size_t n = strlen(text);
    int rc = 0;

    tn_input_scan_init(sc, format, delim);
    for (size_t off = 0; !rc && off < n; off += step ? step : n) {
        size_t len = step && n - off > step ? step : n - off;
        rc = tn_input_scan_feed(sc, text + off, len, err);
    }
    if (!rc)
        rc = tn_input_scan_finish(sc, err);
    tn_input_scan_release(sc);
    return rc;
}

/* "open" repeated n times, then "middle", then "close" n times. */
static char *nested(const char *open, size_t n, const char *middle, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close), lm = strlen(middle);
    char *s = malloc(n * (lo + lc) + lm + 1), *p = s;

    for (size_t i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, middle, lm);
    p += lm;
    for (size_t i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

static void test_json_depth(void)
{
    struct tn_err err = {0};
    struct tn_input_scan sc;
    char *ok = nested("[", TN_INPUT_DEPTH_MAX, "1", "]");
    char *deep = nested("[", TN_INPUT_DEPTH_MAX + 1, "1", "]");
    char *deeper = nested("{\"x\": [", 5000, "1", "]}");
    char *unclosed = nested("[", 20000, "", "");
    char *quoted =
        nested("[", 1,
               "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{"
               "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"",
               "]");

    CHECK_OK(scan_text(TN_SOURCE_JSON, NULL, ok, 0, &sc, &err));
    CHECK_INT_EQ(sc.depth_max, TN_INPUT_DEPTH_MAX);
    CHECK_INT_EQ(scan_text(TN_SOURCE_JSON, NULL, deep, 0, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "65 levels deep");
    CHECK_CONTAINS(err.msg, "at most 64 levels");
    /* the depth found is the whole file's, in pieces of any size */
    CHECK_INT_EQ(scan_text(TN_SOURCE_NDJSON, NULL, deeper, 7, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "10000 levels deep");
    CHECK_INT_EQ(scan_text(TN_SOURCE_JSON, NULL, unclosed, 1, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "20000 levels deep (past 64 at byte 64)");
    /* brackets in strings, escaped quotes included, do not nest */
    CHECK_OK(scan_text(TN_SOURCE_JSON, NULL, quoted, 1, &sc, &err));
    CHECK_INT_EQ(sc.depth_max, 1);
    /* ...but a string a line leaves open ends there (JSON strings hold no raw newline) */
    free(ok);
    ok = tn_asprintf("[\"open\n%s", deep);
    CHECK_INT_EQ(scan_text(TN_SOURCE_NDJSON, NULL, ok, 0, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "66 levels deep");
    free(ok);
    free(deep);
    free(deeper);
    free(unclosed);
    free(quoted);
}

/* An object with "n" keys k0..k{n-1} (from "first"), each with value "value". */
static void add_object(struct tn_buf *b, int first, int n, const char *value)
{
    tn_buf_addstr(b, "{", NULL);
    for (int i = 0; i < n; i++)
        tn_buf_addf(b, NULL, "%s\"k%d\": %s", i ? ", " : "", first + i, value);
    tn_buf_addstr(b, "}", NULL);
}

static void test_json_keys(void)
{
    struct tn_err err = {0};
    struct tn_input_scan sc;
    struct tn_buf b = TN_BUF_INIT(0);

    /* NDJSON: distinct keys over the records, each counted once */
    for (int r = 0; r < 3; r++) {
        add_object(&b, 0, TN_INPUT_COLUMNS_MAX, "\"v, \\\"w\\\": 1\"");
        tn_buf_addstr(&b, "\n", NULL);
    }
    CHECK_OK(scan_text(TN_SOURCE_NDJSON, NULL, b.buf, 4096, &sc, &err));
    CHECK_INT_EQ(sc.columns, TN_INPUT_COLUMNS_MAX);
    add_object(&b, 1, TN_INPUT_COLUMNS_MAX, "1");
    CHECK_INT_EQ(scan_text(TN_SOURCE_NDJSON, NULL, b.buf, 0, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "more than 10000 distinct keys");

    /* a top-level array of records */
    tn_buf_reset(&b);
    tn_buf_addstr(&b, "[", NULL);
    add_object(&b, 0, TN_INPUT_COLUMNS_MAX / 2, "[1, 2]");
    tn_buf_addstr(&b, ", ", NULL);
    add_object(&b, TN_INPUT_COLUMNS_MAX / 2, TN_INPUT_COLUMNS_MAX / 2 + 1, "null");
    tn_buf_addstr(&b, "]", NULL);
    CHECK_INT_EQ(scan_text(TN_SOURCE_JSON, NULL, b.buf, 0, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "first 2 records");

    /* keys of nested objects are not columns */
    tn_buf_reset(&b);
    tn_buf_addstr(&b, "{\"a\": ", NULL);
    add_object(&b, 0, TN_INPUT_COLUMNS_MAX + 10, "1");
    tn_buf_addstr(&b, ", \"b\": 2}", NULL);
    CHECK_OK(scan_text(TN_SOURCE_NDJSON, NULL, b.buf, 0, &sc, &err));
    CHECK_INT_EQ(sc.columns, 2);
    tn_buf_release(&b);
}

/* A CSV first line of "fields" fields separated by "sep", then a second line. */
static char *csv_line(int fields, const char *sep, const char *rest)
{
    struct tn_buf b = TN_BUF_INIT(0);

    for (int i = 0; i < fields; i++)
        tn_buf_addf(&b, NULL, "%sc%d", i ? sep : "", i);
    tn_buf_addstr(&b, rest, NULL);
    return tn_buf_detach(&b, NULL);
}

static void test_csv_columns(void)
{
    struct tn_err err = {0};
    struct tn_input_scan sc;
    char *fit = csv_line(TN_INPUT_COLUMNS_MAX, ",", "\n1,2\n");
    char *wide = csv_line(TN_INPUT_COLUMNS_MAX + 1, "\t", "\r\n1\t2\n");
    char *piped = csv_line(TN_INPUT_COLUMNS_MAX + 1, "||", "\n");
    char *quoted = csv_line(TN_INPUT_COLUMNS_MAX * 2, ",", "\",b\n1,2\n");
    char *unclosed = csv_line(TN_INPUT_COLUMNS_MAX * 2, ",", "\n\"1\n");

    CHECK_OK(scan_text(TN_SOURCE_CSV, NULL, fit, 0, &sc, &err));
    CHECK_INT_EQ(sc.columns, TN_INPUT_COLUMNS_MAX);
    CHECK_INT_EQ(scan_text(TN_SOURCE_CSV, NULL, wide, 3, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "first record has 10001 fields (separated by tabs)");
    CHECK_CONTAINS(err.msg, "at most 10000 columns");
    /* the delimiter given is the one counted, over several bytes and across pieces */
    CHECK_OK(scan_text(TN_SOURCE_CSV, ";", wide, 0, &sc, &err));
    CHECK_INT_EQ(sc.columns, 1);
    CHECK_INT_EQ(scan_text(TN_SOURCE_CSV, "||", piped, 1, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "10001 fields (separated by '||')");
    /* without a newline, the file is its first record */
    piped[strlen(piped) - 1] = '\0';
    CHECK_INT_EQ(scan_text(TN_SOURCE_CSV, "||", piped, 0, &sc, &err), TN_EINPUT);
    /* delimiters in a quoted field are not counted, even across lines... */
    quoted[0] = '"';
    CHECK_OK(scan_text(TN_SOURCE_CSV, NULL, quoted, 5, &sc, &err));
    CHECK_INT_EQ(sc.columns, 2);
    /* ...but a quote the first line leaves open does not hide them */
    unclosed[0] = '"';
    CHECK_INT_EQ(scan_text(TN_SOURCE_CSV, NULL, unclosed, 0, &sc, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "first line has 20000 fields");
    free(fit);
    free(wide);
    free(piped);
    free(quoted);
    free(unclosed);
}

static void test_csv_line_length(void)
{
    struct tn_err err = {0};
    struct tn_input_scan sc;
    size_t piece = 1 << 20;
    char *x = malloc(piece);
    int rc = 0;

    memset(x, 'x', piece);
    tn_input_scan_init(&sc, TN_SOURCE_CSV, NULL);
    for (int i = 0; !rc && i < 100; i++)
        rc = tn_input_scan_feed(&sc, x, piece, &err);
    CHECK_INT_EQ(rc, TN_ETOOBIG);
    CHECK_INT_EQ(sc.bytes, TN_INPUT_LINE_MAX); /* stopped as the line reached the limit */
    CHECK_CONTAINS(err.msg, "at least 67108864 bytes long; tarn reads lines of at most 64 MiB");
    tn_input_scan_release(&sc);
    free(x);
}

/* The longest record of "text" written to a file, quoted by "quote" with "escape". */
static uint64_t longest_record_of(const char *text, char quote, char escape)
{
    char *path = tn_asprintf("%s/records.csv", tn_test_tmpdir());
    FILE *f = fopen(path, "w");
    uint64_t longest = 0;
    struct tn_err err = {0};

    if (!f || fputs(text, f) < 0 || fclose(f)) {
        free(path);
        return UINT64_MAX;
    }
    if (tn_input_longest_record(path, quote, escape, &longest, &err))
        longest = UINT64_MAX;
    unlink(path);
    free(path);
    return longest;
}

static void test_csv_record_length(void)
{
    struct tn_err err = {0};
    uint64_t n = 0;

    CHECK_INT_EQ(longest_record_of("a,b\n1,2\n", '"', '"'), 4);
    /* a quoted newline does not end a record; a doubled quote stays inside the field */
    CHECK_INT_EQ(longest_record_of("a,b\n1,\"x\ny\"\"z\nw\"\n2,3\n", '"', '"'), 13);
    /* with a backslash escape, \" does not close the field */
    CHECK_INT_EQ(longest_record_of("a\n\"x\\\"\ny\"\nb\n", '"', '\\'), 8);
    /* another quote character; the last record has no newline */
    CHECK_INT_EQ(longest_record_of("a\n'x\ny'\n\"bcdefghijkl", '\'', '\''), 12);
    CHECK_INT_EQ(tn_input_longest_record("/nonexistent/file.csv", '"', '"', &n, &err),
                 TN_EINTERNAL);
    CHECK_CONTAINS(err.msg, "cannot open /nonexistent/file.csv");
}

static void test_decompressed_default(void)
{
    CHECK_INT_EQ(tn_input_decompressed_default(1000), TN_INPUT_DECOMPRESSED_FLOOR);
    CHECK_INT_EQ(tn_input_decompressed_default(100ULL << 20), 2000ULL << 20);
    CHECK_INT_EQ(tn_input_decompressed_default(10ULL << 30), TN_INPUT_DECOMPRESSED_CEILING);
    CHECK_INT_EQ(tn_input_decompressed_default(UINT64_MAX), TN_INPUT_DECOMPRESSED_CEILING);
}

/* Write "n" bytes at "data" to "path" as one gzip member per "members"; 0 on success. */
static int write_gzip(const char *path, const void *data, size_t n, int members, size_t cut)
{
    FILE *f = fopen(path, "wb");
    size_t cap = compressBound(n) + 64;
    unsigned char *out = malloc(cap);

    for (int m = 0; f && m < members; m++) {
        z_stream zs = {0};
        size_t len;
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (unsigned char *)data;
        zs.avail_in = (uInt)n;
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        len = cap - zs.avail_out;
        deflateEnd(&zs);
        fwrite(out, 1, len > cut ? len - cut : 0, f);
    }
    free(out);
    return f ? fclose(f) : -1;
}

/* The scan of the gzip or zstd file "path" (decompressed into the test's directory); *plain
 * gets what was written. */
static int scan_compressed(const char *path, const char *compression, uint64_t max,
                           enum tn_source_format format, char **plain, size_t *plain_len,
                           struct tn_err *err)
{
    struct tn_input_scan sc;
    char *out = NULL;
    int rc;

    tn_input_scan_init(&sc, format, NULL);
    rc = tn_input_scan_file(&sc, path, compression, max, tn_test_tmpdir(), &out, err);
    tn_input_scan_release(&sc);
    *plain = NULL;
    *plain_len = 0;
    if (out) {
        FILE *f = fopen(out, "rb");
        *plain = calloc(1, sc.bytes + 1);
        *plain_len = f ? fread(*plain, 1, sc.bytes + 1, f) : 0;
        if (f)
            fclose(f);
        unlink(out);
        free(out);
    }
    return rc;
}

static void test_decompression(void)
{
    struct tn_err err = {0};
    char *gz = tn_asprintf("%s/t.csv.gz", tn_test_tmpdir());
    char *zst = tn_asprintf("%s/t.json.zst", tn_test_tmpdir());
    const char *csv = "a,b\n1,2\n3,4\n";
    char *deep = nested("[", 100, "", "]");
    size_t len, n = strlen(deep);
    char *plain, *z = malloc(ZSTD_compressBound(n));
    FILE *f;

    /* every member, written out for DuckDB to read */
    CHECK(write_gzip(gz, csv, strlen(csv), 2, 0) == 0);
    CHECK_OK(scan_compressed(gz, "gzip", 0, TN_SOURCE_CSV, &plain, &len, &err));
    CHECK_INT_EQ(len, 2 * strlen(csv));
    CHECK(plain && strncmp(plain, "a,b\n1,2\n3,4\na,b\n", 16) == 0);
    free(plain);
    /* past the limit: refused, nothing left behind */
    CHECK_INT_EQ(scan_compressed(gz, "gzip", 20, TN_SOURCE_CSV, &plain, &len, &err), TN_ETOOBIG);
    CHECK_CONTAINS(err.msg, "grows past 20 bytes when decompressed");
    CHECK_CONTAINS(err.msg, "--max-decompressed");
    CHECK(plain == NULL);
    /* cut short */
    CHECK(write_gzip(gz, csv, strlen(csv), 1, 6) == 0);
    CHECK_INT_EQ(scan_compressed(gz, "gzip", 0, TN_SOURCE_CSV, &plain, &len, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "not valid gzip data");

    /* zstd, and the JSON checks on what it decompresses to */
    len = ZSTD_compress(z, ZSTD_compressBound(n), deep, n, 3);
    f = fopen(zst, "wb");
    CHECK(f && fwrite(z, 1, len, f) == len);
    if (f)
        fclose(f);
    CHECK_INT_EQ(scan_compressed(zst, "zstd", 0, TN_SOURCE_JSON, &plain, &len, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "100 levels deep");
    CHECK_INT_EQ(scan_compressed(zst, "zstd", 0, TN_SOURCE_CSV, &plain, &len, &err), 0);
    CHECK_INT_EQ(len, n);
    free(plain);
    free(gz);
    free(zst);
    free(deep);
    free(z);
}

static void test_type_depth(void)
{
    struct tn_err err = {0};
    /* 64 levels: 63 structs around a list of integers; 65: 64 of them around an integer */
    char *fit = nested("STRUCT(a ", TN_INPUT_DEPTH_MAX - 2, "INTEGER[]", ")");
    char *structs = nested("STRUCT(a ", TN_INPUT_DEPTH_MAX, "INTEGER", ")");
    char *lists = nested("", 0, "INTEGER", "");
    json_t *t = NULL;
    int next = 1;

    for (int i = 0; i < TN_INPUT_DEPTH_MAX; i++) {
        char *longer = tn_asprintf("%s[]", lists);
        free(lists);
        lists = longer;
    }
    CHECK_OK(tn_type_from_duckdb(fit, &next, &t, &err));
    json_decref(t);
    CHECK_INT_EQ(tn_type_from_duckdb(lists, &next, &t, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "nests more than 64 levels");
    CHECK_INT_EQ(tn_type_from_duckdb(structs, &next, &t, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "nests more than 64 levels");
    free(fit);
    free(lists);
    free(structs);
}

static const struct tn_test input_limits_tests[] = {
    {"DuckDB types nest at most 64 levels", test_type_depth},
    {"JSON nesting is bounded, outside strings", test_json_depth},
    {"JSON records' distinct keys are bounded", test_json_keys},
    {"CSV first record's fields are bounded", test_csv_columns},
    {"CSV lines stop at 64 MiB", test_csv_line_length},
    {"CSV records are measured across quoted newlines", test_csv_record_length},
    {"decompressed-size default", test_decompressed_default},
    {"gzip and zstd are decompressed within the limit", test_decompression},
    {NULL, NULL},
};
TN_SUITE(input_limits_tests)
