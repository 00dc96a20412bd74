/* scratch.h - a throwaway warehouse under $TMPDIR (default /tmp) for the C benchmarks. */
#ifndef TN_BENCH_SCRATCH_H
#define TN_BENCH_SCRATCH_H

#include "table/table.h"

/* Create a fresh directory $TMPDIR/tarn-bench-<name>-XXXXXX (*dir, caller's to pass to
 * scratch_close) and open a warehouse and a session on it; prints the error and returns -1 on
 * failure. */
int scratch_open(const char *name, char **dir, struct tn_warehouse **wh, struct tn_session **s);

/* Close the session and the warehouse and remove (and free) the directory. */
void scratch_close(char *dir, struct tn_warehouse *wh, struct tn_session *s);

/* Median milliseconds of "runs" runs of resolving and running "sql" (exits on an error). */
double scratch_query_ms(struct tn_warehouse *wh, struct tn_session *s, int runs, const char *sql);

#endif
