/* scratch.c - a throwaway warehouse under $TMPDIR (default /tmp) for the C benchmarks. */
#include <stdio.h>
#include <stdlib.h>

#include "scratch.h"
#include "timing.h"

int scratch_open(const char *name, char **dir, struct tn_warehouse **wh, struct tn_session **s)
{
    const char *tmp = getenv("TMPDIR");
    struct tn_warehouse_options wo = {0};
    struct tn_err err = {0};

    *dir = tn_asprintf("%s/tarn-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(*dir)) {
        perror("bench: mkdtemp");
        return -1;
    }
    wo.warehouse = *dir;
    if (tn_warehouse_open(&wo, wh, &err) || tn_session_open((*wh)->engine, s, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void scratch_close(char *dir, struct tn_warehouse *wh, struct tn_session *s)
{
    char *cmd = tn_asprintf("rm -rf '%s'", dir);

    tn_session_close(s);
    tn_warehouse_close(wh);
    if (system(cmd)) /* checksrc: allow system */
        fprintf(stderr, "bench: could not remove %s\n", dir);
    free(cmd);
    free(dir);
}

double scratch_query_ms(struct tn_warehouse *wh, struct tn_session *s, int runs, const char *sql)
{
    double *t = tn_calloc((size_t)runs, sizeof(double)), median;
    struct tn_err err = {0};

    for (int i = 0; i < runs; i++) {
        double t0 = tn_monotonic_s();
        struct tn_rows *r = NULL;
        char *resolved = NULL;
        if (tn_query_resolve(wh, s, sql, NULL, &resolved, &err) ||
            tn_engine_rows(s, resolved, 10, &r, &err)) {
            fprintf(stderr, "bench: %s: %s\n", sql, err.msg);
            exit(1);
        }
        tn_rows_free(r);
        free(resolved);
        t[i] = 1000 * (tn_monotonic_s() - t0);
    }
    qsort(t, (size_t)runs, sizeof(double), bench_cmp_double);
    median = t[runs / 2];
    free(t);
    return median;
}
