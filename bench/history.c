/* history.c - bench/history: a table with N snapshots (default 2,000); times the same query at
 * the current snapshot, at the oldest one (AT (VERSION => id)) and at a time
 * (AT (TIMESTAMP => ...)), each the median of several runs, and prints the ratios.
 * usage: build/bench-history [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

#define RUNS 15

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
    char *dir = NULL;
    struct tn_warehouse *wh = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    struct tn_table *t = NULL;
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    json_t *schema;
    char sql[256];
    double now_ms, old_ms, ts_ms, t0;
    int64_t oldest, mid_ts;

    schema =
        json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\","
                   "\"required\":false,\"type\":\"long\"},{\"id\":2,\"name\":\"v\","
                   "\"required\":false,\"type\":\"double\"}]}",
                   0, NULL);
    if (scratch_open("history", &dir, &wh, &s))
        return 1;
    if (tn_table_create(wh, "default", "h", schema, NULL, NULL, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    t0 = tn_monotonic_s();
    for (int i = 0; i < n; i++) {
        struct tn_commit_result res;
        if (tn_table_write(wh, s, "default", "h",
                           "SELECT range AS id, random() AS v FROM range(100)", &w, &res, &err)) {
            fprintf(stderr, "bench: commit %d: %s\n", i, err.msg);
            return 1;
        }
    }
    printf("built %d snapshots in %.1f s\n", n, tn_monotonic_s() - t0);
    if (tn_table_load(wh, "default", "h", &t, &err))
        return 1;
    oldest = t->meta->snapshots[0].id;
    mid_ts = t->meta->snapshots[t->meta->nsnapshots / 2].timestamp_ms;
    now_ms = scratch_query_ms(wh, s, RUNS, "SELECT count(*), sum(v) FROM h");
    snprintf(sql, sizeof(sql), "SELECT count(*), sum(v) FROM h AT (VERSION => %lld)",
             (long long)oldest);
    old_ms = scratch_query_ms(wh, s, RUNS, sql);
    snprintf(sql, sizeof(sql),
             "SELECT count(*), sum(v) FROM h AT (TIMESTAMP => make_timestamp(%lld))",
             (long long)mid_ts * 1000);
    ts_ms = scratch_query_ms(wh, s, RUNS, sql);
    printf("current snapshot:            %8.2f ms (median of %d)\n", now_ms, RUNS);
    printf("AT (VERSION => oldest):      %8.2f ms  ratio %.2f (goal <= 1.5)\n", old_ms,
           old_ms / now_ms);
    printf("AT (TIMESTAMP => middle):    %8.2f ms  ratio %.2f (goal <= 1.5)\n", ts_ms,
           ts_ms / now_ms);
    tn_table_free(t);
    json_decref(schema);
    scratch_close(dir, wh, s);
    return 0;
}
