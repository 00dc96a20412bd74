/* scratch.h - a throwaway warehouse under /tmp for the C benchmarks. */
#ifndef TN_BENCH_SCRATCH_H
#define TN_BENCH_SCRATCH_H

#include "table/table.h"

/* Create the directory from the mkdtemp template "dir" (rewritten in place) and open a
 * warehouse and a session on it; prints the error and returns -1 on failure. */
int scratch_open(char *dir, struct tn_warehouse **wh, struct tn_session **s);

/* Close the session and the warehouse and remove the directory. */
void scratch_close(const char *dir, struct tn_warehouse *wh, struct tn_session *s);

/* Median milliseconds of "runs" runs of resolving and running "sql" (exits on an error). */
double scratch_query_ms(struct tn_warehouse *wh, struct tn_session *s, int runs, const char *sql);

#endif
