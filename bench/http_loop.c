/* http_loop.c - the HTTP side of bench/query: GET URL N times in sequence on one keep-alive
 * connection (after 3 warm-up requests) and print "p50_ms <x>", "p99_ms <y>" and "bytes <n>"
 * (the last answer's size). Any status but 200 stops it with the answer on stderr.
 * usage: http_loop N URL [TOKEN] */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

struct sink {
    size_t bytes;
    char head[512];
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;

    if (s->bytes < sizeof(s->head) - 1) {
        size_t k = sizeof(s->head) - 1 - s->bytes;
        memcpy(s->head + s->bytes, data, len < k ? len : k);
        s->head[s->bytes + (len < k ? len : k)] = '\0';
    }
    s->bytes += len;
    return len;
}

int main(int argc, char **argv)
{
    struct curl_slist *headers = NULL;
    struct sink s;
    CURL *h;
    double *ms;
    char *auth = NULL;
    int n, rc = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: http_loop N URL [TOKEN]\n");
        return 2;
    }
    n = (int)strtol(argv[1], NULL, 10);
    if (n < 1)
        n = 1;
    ms = calloc((size_t)n, sizeof(double));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    if (!ms || !h)
        abort();
    if (argc > 3) {
        size_t len = strlen(argv[3]) + 32;
        auth = malloc(len);
        if (!auth)
            abort();
        snprintf(auth, len, "Authorization: Bearer %s", argv[3]);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, argv[2]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    for (int i = -3; i < n && !rc; i++) {
        long status = 0;
        double t0 = bench_now_s();
        memset(&s, 0, sizeof(s));
        if (curl_easy_perform(h) != CURLE_OK) {
            fprintf(stderr, "request failed\n");
            rc = 1;
            break;
        }
        if (i >= 0)
            ms[i] = (bench_now_s() - t0) * 1000.0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            fprintf(stderr, "HTTP %ld: %s\n", status, s.head);
            rc = 1;
        }
    }
    if (!rc) {
        qsort(ms, (size_t)n, sizeof(double), bench_cmp_double);
        printf("p50_ms %.3f\np99_ms %.3f\nbytes %zu\n", ms[n / 2], ms[(int)((n - 1) * 0.99)],
               s.bytes);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    free(auth);
    free(ms);
    return rc;
}
