/* test_paths.c - unit tests for the storage sandbox: locations normalised to one spelling
 * (tn_path_normalise), compared component by component (tn_path_within), and every storage call
 * kept inside the warehouse, the roots the operator allowed, and away from the catalog. */
#include "tn_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"

/* tn_path_normalise of "uri" (NULL when it fails; then *code holds the error). */
static char *norm(const char *uri, int *code)
{
    struct tn_err err = {0};
    char *out = NULL;

    *code = tn_path_normalise(uri, &out, &err);
    return *code ? NULL : out;
}

static void check_norm(const char *uri, const char *want)
{
    int code = 0;
    char *got = norm(uri, &code);

    CHECK_STR_EQ(got, want);
    free(got);
}

static void check_norm_fails(const char *uri, int want)
{
    int code = 0;
    char *got = norm(uri, &code);

    CHECK(got == NULL);
    CHECK_INT_EQ(code, want);
    free(got);
}

static void test_spellings_become_one(void)
{
    check_norm("/tmp/wh", "file:///tmp/wh");
    check_norm("file:/tmp/wh", "file:///tmp/wh");
    check_norm("file:///tmp/wh/", "file:///tmp/wh");
    check_norm("file://localhost/tmp/wh", "file:///tmp/wh");
    check_norm("file:///tmp//wh/./a/", "file:///tmp/wh/a");
    check_norm("file:///tmp/wh/ns/../t", "file:///tmp/wh/t");
    check_norm("file:///tmp/wh/%2e%2e/x", "file:///tmp/x");
    check_norm("file:///tmp/wh/a%20b", "file:///tmp/wh/a b");
    check_norm("/", "file:///");
    check_norm("s3a://bucket/p//q/./r", "s3://bucket/p/q/r");
    check_norm("s3://bucket/p/../q", "s3://bucket/q");
}

static void test_bad_locations_are_refused(void)
{
    check_norm_fails("file:///../etc", TN_EFORBIDDEN);
    check_norm_fails("/tmp/%2e%2e/%2e%2e/%2e%2e", TN_EFORBIDDEN);
    check_norm_fails("s3://bucket/../other/x", TN_EFORBIDDEN);
    check_norm_fails("relative/path", TN_EINPUT);
    check_norm_fails("http://host/x", TN_EINPUT);
    check_norm_fails("file://otherhost/x", TN_EINPUT);
    check_norm_fails("file:///tmp/a%00b", TN_EINPUT);
    check_norm_fails("file:///tmp/a\nb", TN_EINPUT);
    check_norm_fails("file:///tmp/a%0ab", TN_EINPUT);
    check_norm_fails("s3://", TN_EINPUT);
}

static void test_within_is_component_wise(void)
{
    CHECK(tn_path_within("file:///tmp/wh2", "file:///tmp/wh2"));
    CHECK(tn_path_within("file:///tmp/wh2", "file:///tmp/wh2/x"));
    CHECK(tn_path_within("file:///tmp/wh2/", "file:///tmp/wh2/x"));
    CHECK(!tn_path_within("file:///tmp/wh2", "file:///tmp/wh2-sibling/x"));
    CHECK(!tn_path_within("file:///tmp/wh2", "file:///tmp/wh"));
    CHECK(tn_path_within("file:///", "file:///etc"));
    CHECK(!tn_path_within("s3://b/wh", "s3://b/wh-other/k"));
    CHECK(tn_path_within("s3://b/wh", "s3://b/wh/k"));
}

static void test_storage_stays_in_the_warehouse(void)
{
    struct tn_err err = {0};
    struct tn_storage *st = NULL;
    struct tn_storage_options so = {0};
    struct tn_buf b = TN_BUF_INIT(1024);
    char *wh = tn_asprintf("%s/wh2", tn_test_tmpdir());
    char *sibling = tn_asprintf("%s/wh2-sibling", tn_test_tmpdir());
    char *outside = tn_asprintf("%s/victim", sibling);
    char *uri, *link, *catalog;
    FILE *f;

    mkdir(sibling, 0755);
    f = fopen(outside, "w");
    if (f) {
        fputs("keep me", f);
        fclose(f);
    }
    so.root = wh;
    CHECK_OK(tn_storage_open(&so, &st, &err));
    if (!st)
        goto out;
    /* a sibling that shares the warehouse's name as a prefix, a way out through "..", and one
       spelled with percent-escapes: all outside, whatever the call */
    CHECK_INT_EQ(tn_storage_delete(st, outside, &err), TN_EFORBIDDEN);
    CHECK_CONTAINS(err.msg, "outside the warehouse");
    CHECK_INT_EQ(access(outside, F_OK), 0);
    uri = tn_asprintf("file://%s/ns/../../wh2-sibling/victim", wh);
    CHECK_INT_EQ(tn_storage_read(st, uri, &b, &err), TN_EFORBIDDEN);
    free(uri);
    uri = tn_asprintf("file://%s/ns/%%2e%%2e/%%2E%%2E/wh2-sibling/victim", wh);
    CHECK_INT_EQ(tn_storage_delete_many(st, (const char *const *)&uri, 1, &err), TN_EFORBIDDEN);
    free(uri);
    CHECK_INT_EQ(tn_storage_write(st, "file:///etc/tarn-test", "x", 1, &err), TN_EFORBIDDEN);
    {
        struct tn_storage_entry *e = NULL;
        size_t n = 0;
        CHECK_INT_EQ(tn_storage_list(st, "file:///etc/", &e, &n, &err), TN_EFORBIDDEN);
        tn_storage_entries_free(e, n);
    }
    /* a symlink inside the warehouse that leads out: nothing is created or deleted through it */
    link = tn_asprintf("%s/escape", wh);
    CHECK_INT_EQ(symlink(sibling, link), 0);
    uri = tn_asprintf("file://%s/victim", link);
    CHECK_INT_EQ(tn_storage_delete(st, uri, &err), TN_EFORBIDDEN);
    CHECK_INT_EQ(access(outside, F_OK), 0);
    free(uri);
    uri = tn_asprintf("file://%s/new.json", link);
    CHECK_INT_EQ(tn_storage_write(st, uri, "x", 1, &err), TN_EFORBIDDEN);
    free(uri);
    free(link);
    /* inside, with every spelling */
    uri = tn_asprintf("file:%s//ns/./t/metadata/a.json", wh);
    CHECK_OK(tn_storage_write(st, uri, "hello", 5, &err));
    CHECK_OK(tn_storage_read(st, uri, &b, &err));
    CHECK_STR_EQ(b.buf, "hello");
    CHECK(tn_storage_in_warehouse(st, uri));
    CHECK(!tn_storage_in_warehouse(st, outside));
    free(uri);
    /* the catalog is out of reach even inside the warehouse */
    catalog = tn_asprintf("%s/catalog.db", wh);
    f = fopen(catalog, "w");
    if (f)
        fclose(f);
    tn_storage_protect(st, catalog);
    CHECK_INT_EQ(tn_storage_delete(st, catalog, &err), TN_EFORBIDDEN);
    CHECK_CONTAINS(err.msg, "catalog");
    uri = tn_asprintf("file://%s/x/../catalog.db-wal", wh);
    CHECK_INT_EQ(tn_storage_read(st, uri, &b, &err), TN_EFORBIDDEN);
    CHECK(!tn_storage_in_warehouse(st, catalog));
    CHECK_INT_EQ(access(catalog, F_OK), 0);
    free(uri);
    free(catalog);
    /* a root the operator allowed is reachable, and named */
    CHECK(tn_storage_allowed_root(st, outside) == NULL);
    CHECK_OK(tn_storage_allow(st, sibling, &err));
    b.len = 0;
    CHECK_OK(tn_storage_read(st, outside, &b, &err));
    CHECK_STR_EQ(b.buf, "keep me");
    CHECK(tn_storage_allowed_root(st, outside) != NULL);
    CHECK(!tn_storage_in_warehouse(st, outside));
out:
    tn_buf_release(&b);
    tn_storage_close(st);
    free(wh);
    free(sibling);
    free(outside);
}

static void test_s3_locations_stay_under_the_prefix(void)
{
    struct tn_err err = {0};
    struct tn_storage *st = NULL;
    struct tn_storage_options so = {0};
    char *cache = tn_asprintf("%s/s3cache", tn_test_tmpdir());

    so.s3_access_key = "test";
    so.s3_secret_key = "test";
    so.root = "s3://bucket/wh";
    so.s3_endpoint = "http://127.0.0.1:9";
    so.cache_dir = cache;
    CHECK_OK(tn_storage_open(&so, &st, &err));
    if (st) {
        CHECK_INT_EQ(tn_storage_delete(st, "s3://bucket/wh-other/k", &err), TN_EFORBIDDEN);
        CHECK_INT_EQ(tn_storage_delete(st, "s3://other/wh/k", &err), TN_EFORBIDDEN);
        CHECK_INT_EQ(tn_storage_delete(st, "s3://bucket/wh/a/../../x", &err), TN_EFORBIDDEN);
        CHECK_INT_EQ(tn_storage_delete(st, "file:///etc/passwd", &err), TN_EFORBIDDEN);
        CHECK(tn_storage_in_warehouse(st, "s3a://bucket/wh/ns/t/data/f.parquet"));
    }
    tn_storage_close(st);
    free(cache);
}

static const struct tn_test paths_tests[] = {
    {"every spelling of a location becomes one", test_spellings_become_one},
    {"locations that climb out or hide a NUL are refused", test_bad_locations_are_refused},
    {"inside is component-wise, not a text prefix", test_within_is_component_wise},
    {"storage calls stay inside the warehouse", test_storage_stays_in_the_warehouse},
    {"S3 calls stay under the warehouse prefix", test_s3_locations_stay_under_the_prefix},
    {NULL, NULL},
};
TN_SUITE(paths_tests)
