/* duckdb_run.h - one statement through DuckDB's C API with every row fetched: how the yardstick
 * programs (duckdb_copy.c, http_loop.c) run DuckDB alone. Header only, as timing.h. */
#ifndef TN_BENCH_DUCKDB_RUN_H
#define TN_BENCH_DUCKDB_RUN_H

#include <duckdb.h>
#include <stdio.h>

/* Run "sql" and read every chunk; the row count in *rows. 0, or 1 with DuckDB's error on
 * stderr. */
static inline int bench_duckdb_run(duckdb_connection con, const char *sql, long long *rows)
{
    duckdb_result res;
    duckdb_data_chunk chunk;

    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return 1;
    }
    *rows = 0;
    while ((chunk = duckdb_fetch_chunk(res)) != NULL) {
        *rows += (long long)duckdb_data_chunk_get_size(chunk);
        duckdb_destroy_data_chunk(&chunk);
    }
    duckdb_destroy_result(&res);
    return 0;
}

#endif
