/* test_s3.c - unit tests for src/storage beyond the local backend's basics: sizes, the local
 * list/range/batch-delete calls, the cache's verification and LRU eviction, S3 option and
 * location checks (suite "s3", no network), and the S3 calls against a live server (suite
 * "s3_live": needs TARN_TEST_S3_ENDPOINT and AWS credentials, as tests/integration/t70-s3.sh
 * sets them, bucket "bucket"; without them it is counted as skipped, never as passed). */
#include "tn_test.h"
#include "tn_test_http.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage_int.h"

static void test_parse_size(void)
{
    int64_t v = 0;

    CHECK_INT_EQ(tn_storage_parse_size("1048576", &v), 0);
    CHECK_INT_EQ(v, 1048576);
    CHECK_INT_EQ(tn_storage_parse_size("5MiB", &v), 0);
    CHECK_INT_EQ(v, 5LL << 20);
    CHECK_INT_EQ(tn_storage_parse_size("10GB", &v), 0);
    CHECK_INT_EQ(v, 10LL << 30);
    CHECK_INT_EQ(tn_storage_parse_size("2k", &v), 0);
    CHECK_INT_EQ(v, 2048);
    CHECK(tn_storage_parse_size("", &v) != 0);
    CHECK(tn_storage_parse_size("12x", &v) != 0);
    CHECK(tn_storage_parse_size("-1", &v) != 0);
    CHECK(tn_storage_parse_size("99999999999999999999", &v) != 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_local_list_range_delete(void)
{
    struct tn_err err = {0};
    struct tn_storage_options o = {0};
    struct tn_storage *st = NULL;
    struct tn_storage_entry *e = NULL;
    struct tn_buf b = TN_BUF_INIT(1024);
    struct tn_storage_metrics m;
    char *root = tn_strdup(tn_test_tmpdir());
    char *uris[3];
    size_t n = 0;

    o.root = root;
    CHECK_OK(tn_storage_open(&o, &st, &err));
    if (!st) {
        free(root);
        return;
    }
    CHECK(!tn_storage_is_remote(st));
    CHECK(tn_storage_cache_dir(st) == NULL);
    for (int i = 0; i < 3; i++) {
        uris[i] = tn_asprintf("file://%s/t/data/f%d.txt", root, i);
        CHECK_OK(tn_storage_write(st, uris[i], "0123456789", 10, &err));
    }
    {
        char *prefix = tn_asprintf("file://%s/t/data/", root);
        CHECK_OK(tn_storage_list(st, prefix, &e, &n, &err));
        CHECK_INT_EQ(n, 3);
        for (size_t i = 0; i < n; i++) {
            CHECK_INT_EQ(e[i].size, 10);
            /* modification times: just written */
            CHECK(e[i].mtime_ms > tn_now_ms() - 600000 && e[i].mtime_ms <= tn_now_ms() + 1000);
        }
        tn_storage_entries_free(e, n);
        free(prefix);
    }
    CHECK_OK(tn_storage_read_range(st, uris[1], 3, 4, &b, &err));
    CHECK_STR_EQ(b.buf, "3456");
    tn_buf_reset(&b);
    CHECK_OK(tn_storage_read_range(st, uris[1], 8, 100, &b, &err));
    CHECK_STR_EQ(b.buf, "89");
    CHECK_OK(tn_storage_prefetch(st, (const char *const *)uris, NULL, 3, &err));
    CHECK_OK(tn_storage_delete_many(st, (const char *const *)uris, 3, &err));
    {
        int64_t size;
        CHECK_INT_EQ(tn_storage_size(st, uris[0], &size, &err), TN_ENOTFOUND);
    }
    tn_storage_metrics(st, &m);
    CHECK_INT_EQ(m.requests, 0);
    for (int i = 0; i < 3; i++)
        free(uris[i]);
    tn_buf_release(&b);
    tn_storage_close(st);
    free(root);
}

static void set_atime(const char *path, time_t when)
{
    struct timespec t[2];
    t[0].tv_sec = when;
    t[0].tv_nsec = 0;
    t[1] = t[0];
    utimensat(AT_FDCWD, path, t, 0);
}

static void test_cache_lru_and_size_check(void)
{
    struct tn_err err = {0};
    struct tn_storage st;
    struct tn_cache *c = NULL;
    const char *dir = tn_test_tmpdir();
    char *objects = tn_asprintf("%s/objects/b/k", dir);
    char *paths[3];
    char *got = NULL;
    int64_t size = 0;
    uint64_t files = 0, bytes = 0;
    time_t now = time(NULL);

    memset(&st, 0, sizeof(st));
    CHECK_OK(tn__mkdirs(objects, &err));
    for (int i = 0; i < 3; i++) {
        paths[i] = tn_asprintf("%s/f%d", objects, i);
        write_text(paths[i], "0123456789012345678901234567890123456789"); /* 40 bytes */
        set_atime(paths[i], now - 1000 + i * 100);                        /* f0 oldest */
    }
    /* 120 bytes in a 100-byte cache: opening evicts the least recently used file */
    CHECK_OK(tn__cache_open(dir, 100, &st, &c, &err));
    if (!c)
        goto out;
    tn__cache_usage(c, &files, &bytes);
    CHECK_INT_EQ(files, 2);
    CHECK_INT_EQ(bytes, 80);
    CHECK(access(paths[0], F_OK) != 0);
    CHECK_INT_EQ(tn__cache_get(c, "b/k/f0", -1, 1, NULL, NULL), 0);
    CHECK_INT_EQ(tn__cache_get(c, "b/k/f1", 40, 1, &got, &size), 1);
    CHECK_STR_EQ(got, paths[1]);
    CHECK_INT_EQ(size, 40);
    /* a copy of the wrong size is dropped and counts as a miss */
    CHECK_INT_EQ(tn__cache_get(c, "b/k/f2", 41, 1, NULL, NULL), 0);
    CHECK(access(paths[2], F_OK) != 0);
    CHECK_INT_EQ(st.counters[TN_C_CACHE_HITS], 1);
    CHECK_INT_EQ(st.counters[TN_C_CACHE_MISSES], 2);
    CHECK_INT_EQ(st.counters[TN_C_CACHE_EVICTIONS], 1);
    /* a new entry moves in by rename; one used just now is never evicted */
    {
        char *tmp = tn__cache_tmp_path(c);
        write_text(tmp, "0123456789012345678901234567890123456789012345678901234567890123456789");
        CHECK_OK(tn__cache_put(c, "b/k/new", tmp, 70, NULL, &err));
        CHECK_INT_EQ(tn__cache_get(c, "b/k/new", 70, 0, NULL, NULL), 1);
        CHECK_INT_EQ(tn__cache_get(c, "b/k/f1", 40, 0, NULL, NULL), 1);
        free(tmp);
    }
    /* another process's file is adopted at lookup */
    {
        char *other = tn_asprintf("%s/other", objects);
        write_text(other, "abc");
        CHECK_INT_EQ(tn__cache_get(c, "b/k/other", 3, 0, NULL, &size), 1);
        CHECK_INT_EQ(size, 3);
        free(other);
    }
    tn__cache_drop(c, "b/k/new");
    CHECK_INT_EQ(tn__cache_get(c, "b/k/new", -1, 0, NULL, NULL), 0);
out:
    tn__cache_close(c);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
    free(got);
    free(objects);
}

static void test_s3_open_checks(void)
{
    struct tn_err err = {0};
    struct tn_storage_options o = {0};
    struct tn_storage *st = NULL;
    char *cache = tn_asprintf("%s/cache", tn_test_tmpdir());

    o.root = "s3://bucket/wh";
    o.cache_dir = cache;
    o.s3_endpoint = "http://127.0.0.1:1";
    o.s3_secret_key = "s";
    CHECK_INT_EQ(tn_storage_open(&o, &st, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    o.s3_access_key = "k";
    o.s3_endpoint = "ftp://x";
    CHECK_INT_EQ(tn_storage_open(&o, &st, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "http:// or https://");
    o.s3_endpoint = "http://host:9000/path";
    CHECK_INT_EQ(tn_storage_open(&o, &st, &err), TN_EINPUT);
    o.root = "s3:///wh";
    o.s3_endpoint = "http://127.0.0.1:1/";
    CHECK_INT_EQ(tn_storage_open(&o, &st, &err), TN_EINPUT);
    o.root = "s3://bucket/wh/";
    CHECK_OK(tn_storage_open(&o, &st, &err));
    if (st) {
        char *path = NULL;
        CHECK_STR_EQ(tn_storage_root_uri(st), "s3://bucket/wh");
        CHECK(tn_storage_is_remote(st));
        CHECK(tn_storage_cache_dir(st) != NULL);
        /* locations that would escape the cache are refused before any request: outside the
           warehouse by the sandbox, inside it by the backend */
        CHECK_INT_EQ(tn_storage_local_path(st, "s3://bucket/wh/../../etc/passwd", &path, &err),
                     TN_EFORBIDDEN);
        CHECK_INT_EQ(tn_storage_local_path(st, "s3://bucket/wh/a//b", &path, &err), TN_EINPUT);
        CHECK_INT_EQ(tn_storage_local_path(st, "file:///etc/passwd", &path, &err), TN_EFORBIDDEN);
        CHECK_INT_EQ(tn_storage_local_path(st, "s3://bucket", &path, &err), TN_EFORBIDDEN);
        tn_storage_close(st);
    }
    free(cache);
}

/*---- Retries, against a scripted server on a loopback socket ----*/

struct fake {
    int fd;
    int port;
    const char *const *script; /* one answer per connection: "503", "500", "403", "200" */
    int n, served;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;

    while (f->served < f->n) {
        char req[8192], resp[1024];
        const char *what = f->script[f->served];
        int c = tn_test_http_accept(f->fd, req, sizeof(req));
        if (c < 0)
            break;
        if (strcmp(what, "200") == 0) {
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        } else {
            const char *code = strcmp(what, "503") == 0   ? "SlowDown"
                               : strcmp(what, "403") == 0 ? "AccessDenied"
                                                          : "InternalError";
            char body[200];
            int bl = snprintf(body, sizeof(body),
                              "<Error><Code>%s</Code><Message>scripted</Message></Error>", code);
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %s Scripted\r\nContent-Type: application/xml\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     what, bl, body);
        }
        if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            perror("send");
        close(c);
        f->served++;
    }
    return NULL;
}

static int fake_start(struct fake *f, const char *const *script, int n, pthread_t *tid)
{
    memset(f, 0, sizeof(*f));
    f->script = script;
    f->n = n;
    f->fd = tn_test_http_listen(&f->port);
    if (f->fd < 0)
        return -1;
    return pthread_create(tid, NULL, fake_serve, f);
}

/* Read s3://b/wh/k through a fresh storage against the scripted server; returns the code. */
static int fake_read(const char *const *script, int n, struct tn_storage_metrics *m,
                     struct tn_buf *out, struct tn_err *err)
{
    struct tn_storage_options o = {0};
    struct tn_storage *st = NULL;
    struct fake f;
    pthread_t tid;
    char endpoint[64], *cache = tn_asprintf("%s/c", tn_test_tmpdir());
    int rc;

    memset(m, 0, sizeof(*m));
    if (fake_start(&f, script, n, &tid)) {
        free(cache);
        return -1;
    }
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", f.port);
    o.root = "s3://b/wh";
    o.s3_endpoint = endpoint;
    o.s3_access_key = "k";
    o.s3_secret_key = "s";
    o.s3_max_attempts = 3;
    o.cache_dir = cache;
    rc = tn_storage_open(&o, &st, err);
    if (!rc) {
        rc = tn_storage_read(st, "s3://b/wh/k", out, err);
        tn_storage_metrics(st, m);
        tn_storage_close(st);
    }
    /* let the server thread finish its script */
    while (f.served < f.n)
        tn_test_http_poke(f.port);
    pthread_join(tid, NULL);
    close(f.fd);
    free(cache);
    return rc;
}

static void test_s3_retries(void)
{
    static const char *const slow_then_ok[] = {"503", "500", "200"};
    static const char *const denied[] = {"403"};
    static const char *const broken[] = {"500", "500", "500"};
    struct tn_storage_metrics m;
    struct tn_buf out = TN_BUF_INIT(1024);
    struct tn_err err = {0};

    /* SlowDown and a 500 are retried; the third attempt answers */
    CHECK_OK(fake_read(slow_then_ok, 3, &m, &out, &err));
    CHECK_STR_EQ(out.buf, "hello");
    CHECK_INT_EQ(m.requests, 3);
    CHECK_INT_EQ(m.retries, 2);
    CHECK_INT_EQ(m.errors, 0);
    /* a 403 fails at once, with S3's code */
    tn_buf_reset(&out);
    CHECK_INT_EQ(fake_read(denied, 1, &m, &out, &err), TN_EFORBIDDEN);
    CHECK_CONTAINS(err.msg, "AccessDenied");
    CHECK_INT_EQ(m.requests, 1);
    /* retries are bounded: 3 attempts, then a 503 to the user */
    CHECK_INT_EQ(fake_read(broken, 3, &m, &out, &err), TN_EUNAVAILABLE);
    CHECK_CONTAINS(err.msg, "kept failing");
    CHECK_CONTAINS(err.msg, "after 3 attempts");
    CHECK_INT_EQ(m.requests, 3);
    CHECK_INT_EQ(m.errors, 1);
    tn_buf_release(&out);
}

/*---- Live: against the server t70-s3.sh starts ----*/

static struct tn_storage *live_open_at(const char *root, const char *cache)
{
    struct tn_err err = {0};
    struct tn_storage_options o = {0};
    struct tn_storage *st = NULL;

    o.root = root;
    o.s3_endpoint = getenv("TARN_TEST_S3_ENDPOINT");
    o.s3_access_key = getenv("AWS_ACCESS_KEY_ID");
    o.s3_secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    o.s3_list_page = 3; /* several pages of a listing */
    o.cache_dir = cache;
    CHECK_OK(tn_storage_open(&o, &st, &err));
    return st;
}

static struct tn_storage *live_open(const char *cache)
{
    return live_open_at("s3://bucket/unit", cache);
}

static void test_live_s3_calls(void)
{
    struct tn_err err = {0};
    struct tn_storage *a, *b;
    struct tn_storage_entry *e = NULL;
    struct tn_storage_metrics m;
    struct tn_buf buf = TN_BUF_INIT(1 << 20);
    char *uris[7], uuid[37], *prefix, *cache_a, *cache_b;
    size_t n = 0;
    int64_t size = 0, blen = (int64_t)strlen("file 0: 0123456789 & <xml> 'quotes'");

    if (!getenv("TARN_TEST_S3_ENDPOINT")) {
        tn_test_skip("TARN_TEST_S3_ENDPOINT is not set: no S3 server to call (t70-s3.sh runs "
                     "this suite against one)");
        return;
    }
    cache_a = tn_asprintf("%s/a", tn_test_tmpdir());
    cache_b = tn_asprintf("%s/b", tn_test_tmpdir());
    a = live_open(cache_a);
    b = live_open(cache_b);
    if (!a || !b)
        goto out;
    tn_uuid4(uuid);
    prefix = tn_asprintf("s3://bucket/unit/%s/", uuid);
    for (int i = 0; i < 7; i++) {
        char body[64];
        int len = snprintf(body, sizeof(body), "file %d: 0123456789 & <xml> 'quotes'", i);
        /* odd key characters travel encoded and come back from the listing decoded */
        uris[i] = tn_asprintf("%sdir=%d/f %d&x.txt", prefix, i % 2, i);
        CHECK_OK(tn_storage_write(a, uris[i], body, (size_t)len, &err));
    }
    CHECK_INT_EQ(tn_storage_write(a, uris[0], "again", 5, &err), TN_EEXISTS);

    CHECK_OK(tn_storage_list(a, prefix, &e, &n, &err));
    CHECK_INT_EQ(n, 7);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (int k = 0; k < 7; k++)
            found |= strcmp(e[i].uri, uris[k]) == 0;
        CHECK(found);
        CHECK_INT_EQ(e[i].size, blen);
        /* LastModified, parsed: written moments ago (the server's clock is this machine's) */
        CHECK(e[i].mtime_ms > tn_now_ms() - 600000 && e[i].mtime_ms <= tn_now_ms() + 60000);
    }
    tn_storage_entries_free(e, n);
    tn_storage_metrics(a, &m);
    CHECK_INT_EQ(m.list_requests, 3); /* 7 keys, 3 a page */

    /* b has an empty cache: size is a HEAD, a range a ranged GET, a read a GET */
    CHECK_OK(tn_storage_size(b, uris[3], &size, &err));
    CHECK_INT_EQ(size, blen);
    CHECK_OK(tn_storage_read_range(b, uris[3], 8, 10, &buf, &err));
    CHECK_STR_EQ(buf.buf, "0123456789");
    tn_buf_reset(&buf);
    CHECK_OK(tn_storage_read(b, uris[3], &buf, &err));
    CHECK_STR_EQ(buf.buf, "file 3: 0123456789 & <xml> 'quotes'");
    tn_storage_metrics(b, &m);
    CHECK_INT_EQ(m.head_requests, 1);
    CHECK_INT_EQ(m.get_requests, 2);
    CHECK_INT_EQ(m.cache_misses, 2);
    tn_buf_reset(&buf);
    CHECK_OK(tn_storage_read(b, uris[3], &buf, &err)); /* now cached */
    tn_storage_metrics(b, &m);
    CHECK_INT_EQ(m.get_requests, 2);
    {
        struct tn_buf small = TN_BUF_INIT(10);
        CHECK_INT_EQ(tn_storage_read(b, uris[3], &small, &err), TN_ETOOBIG);
        tn_buf_release(&small);
    }

    /* parallel prefetch with sizes; a stale expected size (a manifest from another writer) still
     * fetches the object as S3 has it, and the copy of another size is fetched again next time */
    {
        int64_t sizes[7];
        for (int i = 0; i < 7; i++)
            sizes[i] = blen;
        CHECK_OK(tn_storage_prefetch(b, (const char *const *)uris, sizes, 7, &err));
        tn_storage_metrics(b, &m);
        CHECK_INT_EQ(m.get_requests, 8);
        CHECK_INT_EQ(m.cache_files, 7);
        sizes[0] = blen + 100;
        CHECK_OK(tn_storage_prefetch(b, (const char *const *)uris, sizes, 1, &err));
        CHECK_OK(tn_storage_prefetch(b, (const char *const *)uris, sizes, 1, &err));
        tn_storage_metrics(b, &m);
        CHECK_INT_EQ(m.get_requests, 10);
        CHECK_INT_EQ(m.cache_files, 7);
        tn_buf_reset(&buf);
        CHECK_OK(tn_storage_read(b, uris[0], &buf, &err));
        CHECK_INT_EQ(buf.len, blen);
    }

    CHECK_OK(tn_storage_delete_many(a, (const char *const *)uris, 7, &err));
    CHECK_OK(tn_storage_list(a, prefix, &e, &n, &err));
    CHECK_INT_EQ(n, 0);
    tn_storage_entries_free(e, n);
    CHECK_OK(tn_storage_delete(a, uris[0], &err)); /* missing: not an error */
    tn_buf_reset(&buf);
    CHECK_INT_EQ(tn_storage_read(a, uris[0], &buf, &err), TN_ENOTFOUND);
    CHECK_INT_EQ(tn_storage_size(a, uris[0], &size, &err), TN_ENOTFOUND);
    {
        /* a missing bucket is its own error (a warehouse in it: reads outside one are refused) */
        struct tn_buf nb = TN_BUF_INIT(100);
        char *cache_c = tn_asprintf("%s/c", tn_test_tmpdir());
        struct tn_storage *c = live_open_at("s3://nosuchbucket/unit", cache_c);
        if (c) {
            CHECK_INT_EQ(tn_storage_read(c, "s3://nosuchbucket/unit/x", &nb, &err), TN_ENOTFOUND);
            CHECK_CONTAINS(err.msg, "NoSuchBucket");
            tn_storage_close(c);
        }
        free(cache_c);
        tn_buf_release(&nb);
    }
    for (int i = 0; i < 7; i++)
        free(uris[i]);
    free(prefix);
out:
    tn_storage_close(a);
    tn_storage_close(b);
    tn_buf_release(&buf);
    free(cache_a);
    free(cache_b);
}

static const struct tn_test s3[] = {
    {"byte sizes parse", test_parse_size},
    {"local list, ranges, batch delete", test_local_list_range_delete},
    {"cache verifies sizes and evicts LRU", test_cache_lru_and_size_check},
    {"S3 options and locations are checked", test_s3_open_checks},
    {"S3 retries 5xx and SlowDown, boundedly; 403 fails at once", test_s3_retries},
    {NULL, NULL},
};
TN_SUITE(s3)

static const struct tn_test s3_live[] = {
    {"S3 calls against a live server", test_live_s3_calls},
    {NULL, NULL},
};
TN_SUITE(s3_live)
