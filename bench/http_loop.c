/* http_loop.c - the HTTP side of bench/query and bench/plan: GET URL N times in sequence on one
 * keep-alive connection (after 3 warm-up requests) and print "p50_ms <x>", "p99_ms <y>" and
 * "bytes <n>" (the last answer's size). Any status but 200 stops it with the answer on stderr.
 * With --duckdb SQL, each request is followed by SQL run by DuckDB alone in this process (an
 * in-memory database, its default threads), so that both are measured over the same moments of
 * the machine: it also prints "duckdb_p50_ms", "duckdb_p99_ms" and "paired_p50_ms" (the median
 * of each request's time less the DuckDB run after it).
 * usage: http_loop [--duckdb SQL] N URL [TOKEN] */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb_run.h"
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

/* DuckDB alone: an in-memory database and a connection, or NULL. */
static duckdb_connection duckdb_start(duckdb_database *db)
{
    duckdb_connection con = NULL;

    if (duckdb_open(NULL, db) != DuckDBSuccess || duckdb_connect(*db, &con) != DuckDBSuccess) {
        fprintf(stderr, "cannot start DuckDB\n");
        return NULL;
    }
    return con;
}

/* Sort "v" (n values) and print its p50 and p99 as "<prefix>p50_ms" and "<prefix>p99_ms". */
static void print_percentiles(const char *prefix, double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    printf("%sp50_ms %.3f\n%sp99_ms %.3f\n", prefix, v[n / 2], prefix, v[(int)((n - 1) * 0.99)]);
}

int main(int argc, char **argv)
{
    struct curl_slist *headers = NULL;
    struct sink s;
    CURL *h;
    double *ms, *duck_ms, *paired;
    char *auth = NULL;
    const char *duck_sql = NULL;
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    long long rows = 0;
    int n, rc = 0;

    if (argc > 2 && strcmp(argv[1], "--duckdb") == 0) {
        duck_sql = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: http_loop [--duckdb SQL] N URL [TOKEN]\n");
        return 2;
    }
    n = (int)strtol(argv[1], NULL, 10);
    if (n < 1)
        n = 1;
    ms = calloc((size_t)n, sizeof(double));
    duck_ms = calloc((size_t)n, sizeof(double));
    paired = calloc((size_t)n, sizeof(double));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    if (!ms || !duck_ms || !paired || !h)
        abort();
    if (duck_sql && !(con = duckdb_start(&db)))
        return 1;
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
        double t0 = bench_now_s(), t1;
        memset(&s, 0, sizeof(s));
        if (curl_easy_perform(h) != CURLE_OK) {
            fprintf(stderr, "request failed\n");
            rc = 1;
            break;
        }
        t1 = bench_now_s();
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            fprintf(stderr, "HTTP %ld: %s\n", status, s.head);
            rc = 1;
        }
        if (!rc && con)
            rc = bench_duckdb_run(con, duck_sql, &rows);
        if (i >= 0) {
            ms[i] = (t1 - t0) * 1000.0;
            duck_ms[i] = (bench_now_s() - t1) * 1000.0;
            paired[i] = ms[i] - duck_ms[i];
        }
    }
    if (!rc) {
        print_percentiles("", ms, n);
        printf("bytes %zu\n", s.bytes);
        if (con) {
            print_percentiles("duckdb_", duck_ms, n);
            qsort(paired, (size_t)n, sizeof(double), bench_cmp_double);
            printf("paired_p50_ms %.3f\nduckdb_rows %lld\n", paired[n / 2], rows);
        }
    }
    if (con) {
        duckdb_disconnect(&con);
        duckdb_close(&db);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    free(auth);
    free(ms);
    free(duck_ms);
    free(paired);
    return rc;
}
