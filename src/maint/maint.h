/* maint.h - table maintenance run on a schedule: the thread of `tarn serve --maintain-every`
 * (schedule.c). The actions themselves are the table layer's (compact.c, housekeeping.c). */
#ifndef TN_MAINT_H
#define TN_MAINT_H

#include "core/core.h"
#include "table/table.h"

#include <jansson.h>
#include <stdint.h>

/* schedule.c: the scheduled-maintenance thread of `tarn serve --maintain-every` (see the table
 * properties there). */
struct tn_maint_schedule;
int tn_maint_schedule_start(struct tn_warehouse *wh, int64_t every_ms, int quiet,
                            struct tn_maint_schedule **out, struct tn_err *err);
/* Stop and free it, after the action under way finishes; NULL is a no-op. */
void tn_maint_schedule_stop(struct tn_maint_schedule *m);
/* Append its counters to a /metrics page (nothing for NULL). */
void tn_maint_schedule_metrics(struct tn_maint_schedule *m, struct tn_buf *b);
/* {"scheduled": bool, "every_ms", "passes", "runs": [the last 50 actions, newest first]};
 * "m" may be NULL (no --maintain-every). Caller owns the result. */
json_t *tn_maint_schedule_runs(struct tn_maint_schedule *m);

#endif
