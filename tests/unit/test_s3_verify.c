/* test_s3_verify.c - downloads are verified before they enter the cache (issue #23): the
 * ETag-as-MD5 rule, and reads against a scripted server that truncates a body without a
 * Content-Length, flips a byte at full length, or stalls; each damaged answer is retried, a
 * store that damages every copy is a 503, and nothing damaged is ever cached. */
#include "tn_test.h"
#include "tn_test_http.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "storage/storage_int.h"

static const char BODY[] = "{\"format-version\": 2, \"table-uuid\": \"0123\"}";

static void md5_of(const char *s, size_t n, unsigned char out[16])
{
    unsigned int len = 0;
    EVP_Digest(s, n, out, &len, EVP_md5(), NULL);
}

static void test_etag_rule(void)
{
    unsigned char md5[16], other[16];
    char hex[33], quoted[40];

    md5_of(BODY, strlen(BODY), md5);
    md5_of("x", 1, other);
    tn_test_hex(md5, 16, hex);
    snprintf(quoted, sizeof(quoted), "\"%s\"", hex);
    CHECK_INT_EQ(tn__s3_etag_check(quoted, 0, md5), 1);
    CHECK_INT_EQ(tn__s3_etag_check(hex, 0, md5), 1);
    CHECK_INT_EQ(tn__s3_etag_check(quoted, 0, other), -1);
    /* a multipart object's ETag, an encrypted object's, or none: no MD5 to compare with */
    CHECK_INT_EQ(tn__s3_etag_check("\"9b2cf535f27731c974343645a3985328-3\"", 0, md5), 0);
    CHECK_INT_EQ(tn__s3_etag_check(quoted, 1, other), 0);
    CHECK_INT_EQ(tn__s3_etag_check("", 0, md5), 0);
    CHECK_INT_EQ(tn__s3_etag_check("\"not-hex-not-hex-not-hex-not-hex\"", 0, md5), 0);
}

/*---- a server that answers each connection with the next scripted answer ----*/

enum answer { GOOD, TRUNCATED, FLIPPED, HEAD_SIZE, STALL, MULTI_TRUNCATED };

struct script {
    int fd, port;
    const enum answer *answers;
    int n, served;
};

static void *serve(void *arg)
{
    struct script *sc = arg;
    unsigned char md5[16];
    char etag[40], hex[33];

    md5_of(BODY, strlen(BODY), md5);
    tn_test_hex(md5, 16, hex);
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    while (sc->served < sc->n) {
        char req[8192], resp[2048], body[sizeof(BODY)];
        size_t len = strlen(BODY);
        int c = tn_test_http_accept(sc->fd, req, sizeof(req));
        if (c < 0)
            break;
        memcpy(body, BODY, len + 1);
        switch (sc->answers[sc->served]) {
        case GOOD:
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: %s\r\nContent-Length: %zu\r\nConnection: close"
                     "\r\n\r\n%s",
                     etag, len, body);
            break;
        case TRUNCATED: /* half the body, no length, a clean close */
            body[len / 2] = '\0';
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: %s\r\nConnection: close\r\n\r\n%s", etag, body);
            break;
        case MULTI_TRUNCATED: /* the same, for an object whose ETag is no MD5 */
            body[len / 2] = '\0';
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: \"%.32s-2\"\r\nConnection: close\r\n\r\n%s", hex,
                     body);
            break;
        case FLIPPED:
            body[len / 2] ^= 0x20;
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: %s\r\nContent-Length: %zu\r\nConnection: close"
                     "\r\n\r\n%s",
                     etag, len, body);
            break;
        case HEAD_SIZE:
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: \"%.32s-2\"\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     hex, len);
            break;
        case STALL: /* headers, then nothing until the client gives up */
            snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nETag: %s\r\nContent-Length: %zu\r\n\r\n{", etag, len);
            send(c, resp, strlen(resp), MSG_NOSIGNAL);
            while (recv(c, req, sizeof(req), 0) > 0)
                ;
            resp[0] = '\0';
            break;
        }
        if (resp[0] && send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            perror("send");
        close(c);
        sc->served++;
    }
    return NULL;
}

/* Read s3://b/wh/k twice through one storage whose first read meets "answers"; the second read
 * must come from the cache (the server is gone by then). Returns the first read's code. */
static int scripted_read(const enum answer *answers, int n, const char *cache_name,
                         struct tn_storage_metrics *m, struct tn_buf *out, struct tn_err *err)
{
    struct tn_storage_options o = {0};
    struct tn_storage *st = NULL;
    struct script sc;
    pthread_t tid;
    char endpoint[64], *cache = tn_asprintf("%s/%s", tn_test_tmpdir(), cache_name);
    int rc;

    memset(&sc, 0, sizeof(sc));
    sc.answers = answers;
    sc.n = n;
    sc.fd = tn_test_http_listen(&sc.port);
    if (sc.fd < 0 || pthread_create(&tid, NULL, serve, &sc)) {
        free(cache);
        return -1;
    }
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", sc.port);
    o.s3_access_key = "k";
    o.s3_secret_key = "s";
    o.s3_max_attempts = 3;
    o.s3_low_speed_s = 1;
    o.root = "s3://b/wh";
    o.s3_endpoint = endpoint;
    o.cache_dir = cache;
    rc = tn_storage_open(&o, &st, err);
    if (!rc) {
        rc = tn_storage_read(st, "s3://b/wh/k", out, err);
        tn_storage_metrics(st, m);
    }
    /* whatever the script has left, answered so that the thread ends */
    while (sc.served < sc.n)
        tn_test_http_poke(sc.port);
    pthread_join(tid, NULL);
    close(sc.fd);
    if (st && !rc) {
        /* the server is gone: the cached copy answers, and it is the object */
        struct tn_buf again = TN_BUF_INIT(1024);
        struct tn_err e2 = {0};
        CHECK_INT_EQ(tn_storage_read(st, "s3://b/wh/k", &again, &e2), 0);
        CHECK_STR_EQ(again.buf ? again.buf : "", BODY);
        tn_buf_release(&again);
    }
    tn_storage_close(st);
    free(cache);
    return rc;
}

static void test_damaged_downloads_are_retried(void)
{
    static const enum answer trunc_flip_good[] = {TRUNCATED, FLIPPED, GOOD};
    static const enum answer multi[] = {MULTI_TRUNCATED, HEAD_SIZE, GOOD};
    static const enum answer stall_good[] = {STALL, GOOD};
    struct tn_storage_metrics m;
    struct tn_buf out = TN_BUF_INIT(1024);
    struct tn_err err = {0};

    /* a truncated body (no Content-Length) and a flipped byte fail the ETag's MD5: retried */
    CHECK_OK(scripted_read(trunc_flip_good, 3, "c1", &m, &out, &err));
    CHECK_STR_EQ(out.buf, BODY);
    CHECK_INT_EQ(m.get_requests, 3);
    CHECK_INT_EQ(m.retries, 2);
    /* a multipart object's ETag is no MD5: without a length, a HEAD tells the size */
    tn_buf_reset(&out);
    CHECK_OK(scripted_read(multi, 3, "c2", &m, &out, &err));
    CHECK_STR_EQ(out.buf, BODY);
    CHECK_INT_EQ(m.head_requests, 1);
    CHECK_INT_EQ(m.retries, 1);
    /* a body that stalls is abandoned after the low-speed time and retried */
    tn_buf_reset(&out);
    CHECK_OK(scripted_read(stall_good, 2, "c3", &m, &out, &err));
    CHECK_STR_EQ(out.buf, BODY);
    CHECK_INT_EQ(m.retries, 1);
    tn_buf_release(&out);
}

static void test_damaged_every_time(void)
{
    static const enum answer damaged[] = {TRUNCATED, FLIPPED, TRUNCATED};
    static const enum answer good[] = {GOOD};
    struct tn_storage_metrics m;
    struct tn_buf out = TN_BUF_INIT(1024);
    struct tn_err err = {0};

    /* three damaged copies: a 503 that names the store and the damage */
    CHECK_INT_EQ(scripted_read(damaged, 3, "c4", &m, &out, &err), TN_EUNAVAILABLE);
    CHECK_CONTAINS(err.msg, "sent a damaged copy of s3://b/wh/k");
    CHECK_CONTAINS(err.msg, "3 times");
    CHECK_INT_EQ(out.len, 0);
    /* and nothing entered the cache: the same cache directory fetches a good copy */
    CHECK_OK(scripted_read(good, 1, "c4", &m, &out, &err));
    CHECK_STR_EQ(out.buf, BODY);
    CHECK_INT_EQ(m.cache_hits, 0);
    tn_buf_release(&out);
}

static const struct tn_test s3_verify[] = {
    {"a plain ETag is the object's MD5; multipart and encrypted ones are not", test_etag_rule},
    {"truncated, flipped and stalled downloads are retried, never cached",
     test_damaged_downloads_are_retried},
    {"a store that damages every copy is a 503 and leaves the cache clean",
     test_damaged_every_time},
    {NULL, NULL},
};
TN_SUITE(s3_verify)
