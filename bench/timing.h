/* timing.h - the clock and the ordering the benchmarks share to take medians and percentiles.
 * Header only: the yardstick programs (duckdb_copy.c, http_loop.c) link nothing of tarn. */
#ifndef TN_BENCH_TIMING_H
#define TN_BENCH_TIMING_H

#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort comparison of doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

#endif
