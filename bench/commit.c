/* commit.c - bench/commit: N sequential small appends to one table through the whole commit path
 * (a Parquet file, a manifest, a manifest list, a metadata file and the catalog swap), in one
 * process. Prints commits per second and the metadata file's size as snapshots accumulate.
 * usage: build/bench-commit [N] (default 500) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 500;
    char *dir = NULL;
    struct tn_warehouse *wh = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    json_t *schema;
    double t0, tlast;
    int step = n / 10 > 0 ? n / 10 : 1;

    schema =
        json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\","
                   "\"required\":false,\"type\":\"long\"},{\"id\":2,\"name\":\"name\","
                   "\"required\":false,\"type\":\"string\"}]}",
                   0, NULL);
    if (scratch_open("commit", &dir, &wh, &s))
        return 1;
    if (tn_table_create(wh, "default", "bench", schema, NULL, NULL, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("%10s %14s %16s %14s\n", "snapshots", "metadata_bytes", "commits_per_s",
           "ms_per_commit");
    t0 = tlast = tn_monotonic_s();
    for (int i = 1; i <= n; i++) {
        struct tn_commit_result res;
        struct tn_write_options w = {.mode = TN_WRITE_APPEND};
        if (tn_table_write(wh, s, "default", "bench", "SELECT 1 AS id, 'x' AS name", &w, &res,
                           &err)) {
            fprintf(stderr, "bench: commit %d: %s\n", i, err.msg);
            return 1;
        }
        if (i % step == 0) {
            struct tn_table *t = NULL;
            struct stat sb;
            char *path;
            double now = tn_monotonic_s();
            tn_table_load(wh, "default", "bench", &t, &err);
            path = tn_strdup(t->metadata_location + 7);
            stat(path, &sb);
            printf("%10d %14lld %16.1f %14.2f\n", i, (long long)sb.st_size, step / (now - tlast),
                   1000 * (now - tlast) / step);
            tlast = now;
            free(path);
            tn_table_free(t);
        }
    }
    printf("total: %d commits in %.2f s (%.1f commits/s)\n", n, tn_monotonic_s() - t0,
           n / (tn_monotonic_s() - t0));
    {
        /* every commit's row must still be there (manifests were merged on the way) */
        struct tn_table *t = NULL;
        struct tn_scan *scan = NULL;
        int64_t rows = 0;
        if (tn_table_load(wh, "default", "bench", &t, &err) ||
            tn_table_scan(wh, t, -1, &scan, &err)) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < scan->ndata; i++)
            rows += scan->data[i].file.record_count;
        printf("rows: %lld in %zu data files, %zu manifests (expected %d rows)\n", (long long)rows,
               scan->ndata, scan->nmanifests, n);
        tn_scan_free(scan);
        tn_table_free(t);
    }
    json_decref(schema);
    scratch_close(dir, wh, s);
    return 0;
}
