/* test_stream.c - unit tests for the parts of an ingest read as it arrives that need no engine:
 * what a file's first bytes say (source.c), where the format comes from, and the streams that
 * never start (src/ingest/stream.c): files shorter than the head, compressed ones. */
#include "tn_test.h"

#include <dirent.h>
#include <stdlib.h>

#include "table/table.h"

static void test_sniff_bytes(void)
{
    const char *c = "x";

    CHECK_INT_EQ(tn_source_sniff_bytes("\x1f\x8b\x08", 3, &c), TN_SOURCE_DETECT);
    CHECK_STR_EQ(c, "gzip");
    CHECK_INT_EQ(tn_source_sniff_bytes("\x28\xb5\x2f\xfd", 4, &c), TN_SOURCE_DETECT);
    CHECK_STR_EQ(c, "zstd");
    CHECK_INT_EQ(tn_source_sniff_bytes("PAR1....", 8, &c), TN_SOURCE_PARQUET);
    CHECK(c == NULL);
    CHECK_INT_EQ(tn_source_sniff_bytes("\xef\xbb\xbf  \n[1]", 9, &c), TN_SOURCE_JSON);
    CHECK_INT_EQ(tn_source_sniff_bytes("{\"a\": 1}\n", 9, &c), TN_SOURCE_JSON);
    CHECK_INT_EQ(tn_source_sniff_bytes("a,b\n1,2\n", 8, &c), TN_SOURCE_DETECT);
    CHECK_INT_EQ(tn_source_sniff_bytes("", 0, &c), TN_SOURCE_DETECT);
}

static void test_format_of(void)
{
    struct tn_source src = {0};

    CHECK_INT_EQ(tn_source_format_of(&src, TN_SOURCE_DETECT), TN_SOURCE_CSV);
    CHECK_INT_EQ(tn_source_format_of(&src, TN_SOURCE_JSON), TN_SOURCE_JSON);
    src.content_type = "application/x-ndjson; charset=utf-8";
    CHECK_INT_EQ(tn_source_format_of(&src, TN_SOURCE_JSON), TN_SOURCE_NDJSON);
    src.name = "rows.csv";
    CHECK_INT_EQ(tn_source_format_of(&src, TN_SOURCE_JSON), TN_SOURCE_CSV);
    src.format = TN_SOURCE_PARQUET;
    CHECK_INT_EQ(tn_source_format_of(&src, TN_SOURCE_JSON), TN_SOURCE_PARQUET);
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* A stream that never starts commits nothing, asks for the whole-file path and leaves no file. */
static void test_streams_not_started(void)
{
    const char *dir = tn_test_tmpdir();
    struct tn_source src = {.header = -1};
    struct tn_ingest_options io = {.mode = TN_WRITE_APPEND};
    struct tn_ingest_result res;
    struct tn_err err = {0};
    struct tn_stream *st = NULL;
    char *big = calloc(1, TN_STREAM_HEAD + 16);

    /* shorter than the head */
    CHECK_OK(tn_stream_new(NULL, dir, "default", "t", &src, &io, &st));
    tn_stream_feed(st, "a,b\n1,2\n", 8);
    tn_stream_end(st, 1);
    CHECK_INT_EQ(tn_stream_finish(st, 1, &res, &err), TN_STREAM_NOT_STREAMED);
    tn_stream_free(st);
    CHECK_INT_EQ(entries(dir), 0);

    /* gzip: never read as it arrives */
    big[0] = '\x1f';
    big[1] = '\x8b';
    CHECK_OK(tn_stream_new(NULL, dir, "default", "t", &src, &io, &st));
    tn_stream_feed(st, big, TN_STREAM_HEAD + 16);
    tn_stream_end(st, 1);
    CHECK_INT_EQ(tn_stream_finish(st, 1, &res, &err), TN_STREAM_NOT_STREAMED);
    tn_stream_free(st);
    CHECK_INT_EQ(entries(dir), 0);

    /* an upsert reads its rows twice: never streamed */
    io.upsert = 1;
    memset(big, 'a', TN_STREAM_HEAD);
    big[TN_STREAM_HEAD - 1] = '\n';
    CHECK_OK(tn_stream_new(NULL, dir, "default", "t", &src, &io, &st));
    tn_stream_feed(st, big, TN_STREAM_HEAD + 16);
    tn_stream_end(st, 1);
    CHECK_INT_EQ(tn_stream_finish(st, 1, &res, &err), TN_STREAM_NOT_STREAMED);
    tn_stream_free(st);
    CHECK_INT_EQ(entries(dir), 0);
    free(big);
}

static const struct tn_test stream[] = {
    {"sniff_bytes", test_sniff_bytes},
    {"format_of", test_format_of},
    {"streams_not_started", test_streams_not_started},
    {NULL, NULL},
};
TN_SUITE(stream)
