/* small-commits.c - bench/small-commits: N appends of 10 rows each to one table (the pattern of a
 * stream of small writes), then one compaction. Prints commits per second, the data files
 * before and after, and an aggregate's time before and after -- beside DuckDB reading the same
 * Parquet files directly, as ratios.
 * usage: build/bench-small-commits [N] (default 1000); the warehouse goes under $TMPDIR.
 *
 * Each commit creates four files (data, manifest, manifest list, metadata). On an ext4 without
 * a journal (this project's CI machines), the kernel skips inodes freed in the last minutes when
 * it allocates one, so creating files right after many deletions -- a test run, the previous
 * run's cleanup -- can cost a millisecond each instead of tens of microseconds: run it on a
 * quiet disk, or compare with TMPDIR=/dev/shm, which shows the CPU cost alone. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scratch.h"

#define RUNS  9
#define QUERY "SELECT count(*), sum(v), max(s) FROM small"

/* The live data files of the table, as a DuckDB list literal of paths. */
static char *file_list(struct tn_warehouse *wh, size_t *nfiles)
{
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL;
    struct tn_err err = {0};
    struct tn_buf b = TN_BUF_INIT(0);

    if (tn_table_load(wh, "default", "small", &t, &err) || tn_table_scan(wh, t, -1, &scan, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    tn_buf_addstr(&b, "[", NULL);
    for (size_t i = 0; i < scan->ndata; i++)
        tn_buf_addf(&b, NULL, "%s'%s'", i ? "," : "", scan->data[i].file.file_path + 7);
    tn_buf_addstr(&b, "]", NULL);
    *nfiles = scan->ndata;
    tn_scan_free(scan);
    tn_table_free(t);
    return tn_buf_detach(&b, NULL);
}

/* The query through tarn and the same aggregate by DuckDB over the files: prints both. */
static void compare(struct tn_warehouse *wh, struct tn_session *s, const char *when)
{
    size_t nfiles;
    char *files = file_list(wh, &nfiles);
    char *direct = tn_asprintf("SELECT count(*), sum(v), max(s) FROM read_parquet(%s)", files);
    double tarn_ms = scratch_query_ms(wh, s, RUNS, QUERY);
    double duck_ms = scratch_query_ms(wh, s, RUNS, direct);

    printf("%-17s %6zu data files  query %8.2f ms  DuckDB on the files %8.2f ms  ratio %5.2f\n",
           when, nfiles, tarn_ms, duck_ms, tarn_ms / duck_ms);
    free(direct);
    free(files);
}

/* Milliseconds to create one small file in "dir" (the mean of 200; they stay until the
 * scratch warehouse is removed, so that measuring adds no freed inodes). */
static double file_create_ms(const char *dir)
{
    double t0 = tn_monotonic_s();

    for (int i = 0; i < 200; i++) {
        char *path = tn_asprintf("%s/disk-check-%d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "tarn", 4) != 4) {
            perror("bench: disk check");
            exit(1);
        }
        close(fd);
        free(path);
    }
    return 1000 * (tn_monotonic_s() - t0) / 200;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
    char *dir = NULL;
    struct tn_warehouse *wh = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    struct tn_compact_result cr;
    json_t *schema;
    double t0, secs;

    schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"v\","
                        "\"required\":false,\"type\":\"long\"},{\"id\":2,\"name\":\"s\","
                        "\"required\":false,\"type\":\"string\"}]}",
                        0, NULL);
    if (scratch_open("small", &dir, &wh, &s))
        return 1;
    if (tn_table_create(wh, "default", "small", schema, NULL, NULL, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    json_decref(schema);
    printf("disk: creating a file takes %.3f ms here (each commit creates four)\n",
           file_create_ms(dir));
    t0 = tn_monotonic_s();
    for (int i = 0; i < n; i++) {
        struct tn_commit_result res;
        struct tn_write_options w = {.mode = TN_WRITE_APPEND};
        char *sql =
            tn_asprintf("SELECT %d * 10 + range AS v, 'row ' || range AS s FROM range(10)", i);
        if (tn_table_write(wh, s, "default", "small", sql, &w, &res, &err)) {
            fprintf(stderr, "bench: append %d: %s\n", i, err.msg);
            return 1;
        }
        free(sql);
    }
    secs = tn_monotonic_s() - t0;
    printf("%d appends of 10 rows: %.2f s, %.1f commits/s (%.2f ms each)\n", n, secs, n / secs,
           1000 * secs / n);
    compare(wh, s, "before compaction");
    t0 = tn_monotonic_s();
    if (tn_table_compact(wh, s, "default", "small", 0, &cr, &err)) {
        fprintf(stderr, "bench: compact: %s\n", err.msg);
        return 1;
    }
    printf("compaction: %lld files -> 1 (%lld rows) in %.2f s\n", (long long)cr.files_rewritten,
           (long long)cr.rows, tn_monotonic_s() - t0);
    compare(wh, s, "after compaction");
    scratch_close(dir, wh, s);
    return 0;
}
