/* test_crosssite.c - unit tests for src/http/crosssite.c (which Host names, origins and browser
 * requests a server accepts) and the disk-full error, from errno and from DuckDB's IO errors. */
#include "tn_test.h"

#include <errno.h>

#include <duckdb.h>

#include "core/core.h"
#include "engine/engine.h"
#include "http/http.h"

static void test_host_names(void)
{
    struct tn_http_options o = {0};

    o.host = "127.0.0.1";
    CHECK(tn_http_host_allowed(&o, "box", NULL));
    CHECK(tn_http_host_allowed(&o, "box", "127.0.0.1:8000"));
    CHECK(tn_http_host_allowed(&o, "box", "10.1.2.3"));
    CHECK(tn_http_host_allowed(&o, "box", "[::1]:8000"));
    CHECK(tn_http_host_allowed(&o, "box", "LocalHost:8000"));
    CHECK(tn_http_host_allowed(&o, "box", "localhost.:8000"));
    CHECK(tn_http_host_allowed(&o, "box", "app.localhost"));
    CHECK(tn_http_host_allowed(&o, "box", "box:8000"));
    CHECK(!tn_http_host_allowed(&o, "box", "evil.example:8000"));
    CHECK(!tn_http_host_allowed(&o, "box", "127.0.0.1.evil.example"));
    CHECK(!tn_http_host_allowed(&o, "box", "notlocalhost"));
    CHECK(!tn_http_host_allowed(&o, "box", ""));
    o.allowed_hosts[o.nallowed_hosts++] = "tarn.lan, other.lan";
    CHECK(tn_http_host_allowed(&o, "box", "other.lan:8000"));
    CHECK(!tn_http_host_allowed(&o, "box", "third.lan"));
    o.allowed_hosts[o.nallowed_hosts++] = "*";
    CHECK(tn_http_host_allowed(&o, "box", "third.lan"));
}

static void test_origins(void)
{
    struct tn_http_options o = {0};

    CHECK(!tn_http_cors_allowed(&o, "http://a.example"));
    o.cors_origins[o.ncors_origins++] = "http://a.example/, http://b.example:3000";
    CHECK(tn_http_cors_allowed(&o, "http://a.example"));
    CHECK(tn_http_cors_allowed(&o, "http://b.example:3000"));
    CHECK(!tn_http_cors_allowed(&o, "http://b.example"));
    CHECK(!tn_http_cors_allowed(&o, "null"));
    /* curl and the CLI send none of Origin, Sec-Fetch-Site, Referer */
    CHECK(!tn_http_cross_site(&o, NULL, NULL, NULL, "127.0.0.1:8000"));
    CHECK(!tn_http_cross_site(&o, "http://127.0.0.1:8000", NULL, NULL, "127.0.0.1:8000"));
    CHECK(tn_http_cross_site(&o, "http://127.0.0.1:9000", NULL, NULL, "127.0.0.1:8000"));
    CHECK(tn_http_cross_site(&o, "null", NULL, NULL, "127.0.0.1:8000"));
    CHECK(!tn_http_cross_site(&o, "http://a.example", NULL, NULL, "127.0.0.1:8000"));
    CHECK(tn_http_cross_site(&o, NULL, "cross-site", NULL, "127.0.0.1:8000"));
    CHECK(!tn_http_cross_site(&o, NULL, "same-origin", NULL, "127.0.0.1:8000"));
    CHECK(tn_http_cross_site(&o, NULL, NULL, "http://evil.example/x", "127.0.0.1:8000"));
    CHECK(!tn_http_cross_site(&o, NULL, NULL, "http://127.0.0.1:8000/docs", "127.0.0.1:8000"));
}

static void test_disk_full(void)
{
    struct tn_err err = {0};

    char msg[200];

    /* DuckDB's IO error carries the C library's words for ENOSPC, its only trace of errno */
    snprintf(msg, sizeof(msg), "IO Error: Could not write file \"x\": %s", strerror(ENOSPC));
    tn_engine_fail(&err, DUCKDB_ERROR_IO, msg);
    CHECK_INT_EQ(err.code, TN_ENOSPACE);
    snprintf(msg, sizeof(msg), "IO Error: Could not write file \"x\": %s", strerror(EDQUOT));
    tn_engine_fail(&err, DUCKDB_ERROR_IO, msg);
    CHECK_INT_EQ(err.code, TN_ENOSPACE);
    tn_engine_fail(&err, DUCKDB_ERROR_INVALID_INPUT, msg); /* the words alone are not enough */
    CHECK_INT_EQ(err.code, TN_EINPUT);
    tn_fail(&err, TN_EINPUT, "%s", msg); /* nor outside the engine */
    tn_err_disk_full(&err);
    CHECK_INT_EQ(err.code, TN_EINPUT);
    tn_engine_fail(&err, DUCKDB_ERROR_IO,
                   "IO Error: Could not write file \"x\": No space left on device");
    tn_err_disk_full(&err);
    CHECK_INT_EQ(tn_err_http_status(err.code), 507);
    CHECK_CONTAINS(err.msg, "ran out of disk space");
    CHECK_CONTAINS(err.msg, "Could not write");
    tn_err_disk_full(&err); /* once only */
    CHECK(strstr(strstr(err.msg, "ran out") + 1, "ran out of disk space") == NULL);
    tn_fail(&err, TN_EINPUT, "bad CSV");
    tn_err_disk_full(&err);
    CHECK_INT_EQ(err.code, TN_EINPUT);
    CHECK_INT_EQ(tn_err_from_errno(ENOSPC, TN_EUNAVAILABLE), TN_ENOSPACE);
}

static const struct tn_test crosssite[] = {
    {"host_names", test_host_names},
    {"origins", test_origins},
    {"disk_full", test_disk_full},
    {NULL, NULL},
};
TN_SUITE(crosssite)
