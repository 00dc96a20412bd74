/* duckdb_copy.c - DuckDB alone, the yardstick of bench/ingest and bench/query: the same work
 * tarn does, through DuckDB's C API with nothing of tarn around it.
 *
 *   duckdb_copy copy FILE.csv OUT.parquet       COPY (FROM read_csv(FILE)) TO OUT (zstd);
 *                                               prints "seconds <s>", "cpu_seconds <c>" (the
 *                                               COPY's user and system time, all threads),
 *                                               "rows <n>" and "peak_rss_mib <m>" (VmHWM)
 *   duckdb_copy query N SQL                     runs SQL N times (after 3 warm-up runs),
 *                                               fetching every row; prints "p50_ms <x>",
 *                                               "p99_ms <y>" and "rows <n>"
 *
 * Built by the bench scripts against node_modules' libduckdb. Single-threaded client; DuckDB
 * uses its default thread count. */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "duckdb_run.h"
#include "timing.h"

/* The user and system seconds this process's threads have used. */
static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* This process's peak resident set (VmHWM) in KiB. */
static double peak_rss_kib(void)
{
    char line[256];
    double v = 0;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            v = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    duckdb_database db;
    duckdb_connection con;
    long long rows = 0;
    int rc = 1;

    if (argc < 4 || (strcmp(argv[1], "copy") != 0 && strcmp(argv[1], "query") != 0)) {
        fprintf(stderr, "usage: duckdb_copy copy FILE.csv OUT.parquet | query N SQL\n");
        return 2;
    }
    if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
        fprintf(stderr, "cannot start DuckDB\n");
        return 1;
    }
    if (strcmp(argv[1], "copy") == 0) {
        size_t n = strlen(argv[2]) + strlen(argv[3]) + 128;
        char *sql = malloc(n);
        double t0, c0;
        if (!sql)
            abort();
        snprintf(sql, n, "COPY (FROM read_csv('%s')) TO '%s' (FORMAT parquet, COMPRESSION zstd)",
                 argv[2], argv[3]);
        t0 = bench_now_s();
        c0 = cpu_seconds();
        rc = bench_duckdb_run(con, sql, &rows);
        if (!rc)
            printf("seconds %.3f\ncpu_seconds %.3f\n", bench_now_s() - t0, cpu_seconds() - c0);
        snprintf(sql, n, "SELECT count(*) FROM '%s'", argv[3]);
        if (!rc) {
            duckdb_result res;
            if (duckdb_query(con, sql, &res) == DuckDBSuccess)
                printf("rows %lld\n", (long long)duckdb_value_int64(&res, 0, 0));
            duckdb_destroy_result(&res);
            printf("peak_rss_mib %.0f\n", peak_rss_kib() / 1024.0);
        }
        free(sql);
    } else {
        int iters = (int)strtol(argv[2], NULL, 10);
        double *ms;
        if (iters < 1)
            iters = 1;
        ms = calloc((size_t)iters, sizeof(double));
        if (!ms)
            abort();
        rc = 0;
        for (int i = 0; i < 3 && !rc; i++)
            rc = bench_duckdb_run(con, argv[3], &rows);
        for (int i = 0; i < iters && !rc; i++) {
            double t0 = bench_now_s();
            rc = bench_duckdb_run(con, argv[3], &rows);
            ms[i] = (bench_now_s() - t0) * 1000.0;
        }
        if (!rc) {
            qsort(ms, (size_t)iters, sizeof(double), bench_cmp_double);
            printf("p50_ms %.3f\np99_ms %.3f\nrows %lld\n", ms[iters / 2],
                   ms[(int)((iters - 1) * 0.99)], rows);
        }
        free(ms);
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return rc;
}
