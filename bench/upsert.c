/* upsert.c - bench/upsert: a table of N rows (default 10M); upsert M rows (default 1M, half new
 * keys, half existing), then delete one row by key. Prints times, files and bytes written, and
 * the process's peak RSS. usage: build/bench-upsert [N] [M] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void files_of_last_snapshot(struct tn_warehouse *wh, const char *what)
{
    struct tn_table *t = NULL;
    struct tn_err err = {0};

    if (tn_table_load(wh, "default", "up", &t, &err))
        return;
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        const struct tn_snapshot *s = &t->meta->snapshots[i];
        if (s->id != t->meta->current_snapshot_id)
            continue;
        printf("  %s snapshot: operation %s, %s data file(s) (%s rows), %s delete file(s) (%s "
               "positions), %s bytes written\n",
               what, s->operation,
               json_string_value(json_object_get(s->summary, "added-data-files"))
                   ? json_string_value(json_object_get(s->summary, "added-data-files"))
                   : "0",
               json_string_value(json_object_get(s->summary, "added-records"))
                   ? json_string_value(json_object_get(s->summary, "added-records"))
                   : "0",
               json_string_value(json_object_get(s->summary, "added-delete-files"))
                   ? json_string_value(json_object_get(s->summary, "added-delete-files"))
                   : "0",
               json_string_value(json_object_get(s->summary, "added-position-deletes"))
                   ? json_string_value(json_object_get(s->summary, "added-position-deletes"))
                   : "0",
               json_string_value(json_object_get(s->summary, "added-files-size")));
    }
    tn_table_free(t);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000;
    long m = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    char *dir = NULL;
    struct tn_warehouse *wh = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    struct tn_ingest_result res;
    struct tn_ingest_options opt = {.mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD};
    struct tn_dml_result dr;
    char sql[512];
    double t0;

    if (scratch_open("upsert", &dir, &wh, &s))
        return 1;
    t0 = tn_monotonic_s();
    snprintf(sql, sizeof(sql),
             "SELECT range AS id, 'name-' || range AS name, range * 0.5 AS amount, "
             "DATE '2026-01-01' + (range %% 365)::INTEGER AS day FROM range(%ld)",
             n);
    if (tn_table_ingest_opts(wh, s, "default", "up", sql, &opt, &res, &err)) {
        fprintf(stderr, "bench: load: %s\n", err.msg);
        return 1;
    }
    tn_ingest_result_release(&res);
    printf("load %ld rows: %.2f s\n", n, tn_monotonic_s() - t0);

    opt.upsert = 1;
    opt.key = "id";
    /* half the keys exist (every other row of the first half), half are new */
    snprintf(sql, sizeof(sql),
             "SELECT CASE WHEN range %% 2 = 0 THEN range ELSE %ld + range END AS id, "
             "'updated-' || range AS name, range * 1.5 AS amount, DATE '2026-06-01' AS day "
             "FROM range(%ld)",
             n, m);
    t0 = tn_monotonic_s();
    if (tn_table_ingest_opts(wh, s, "default", "up", sql, &opt, &res, &err)) {
        fprintf(stderr, "bench: upsert: %s\n", err.msg);
        return 1;
    }
    printf("upsert %ld rows (%lld updated, %lld inserted): %.2f s (goal < 20 s)\n", m,
           (long long)res.rows_updated, (long long)res.rows_inserted, tn_monotonic_s() - t0);
    tn_ingest_result_release(&res);
    files_of_last_snapshot(wh, "upsert");

    t0 = tn_monotonic_s();
    if (tn_table_dml(wh, s, "DELETE FROM up WHERE id = 12345", NULL, &dr, &err)) {
        fprintf(stderr, "bench: delete: %s\n", err.msg);
        return 1;
    }
    printf("delete 1 row by key (%lld deleted): %.3f s (goal < 0.5 s)\n",
           (long long)dr.rows_affected, tn_monotonic_s() - t0);
    files_of_last_snapshot(wh, "delete");
    printf("peak RSS: %.0f MiB (goal < 2048)\n", peak_rss_kb() / 1024.0);
    scratch_close(dir, wh, s);
    return 0;
}
