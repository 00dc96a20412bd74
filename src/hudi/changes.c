/* changes.c - Hudi's incremental query as a relation: the records of the table as of instant
 * "end" whose _hoodie_commit_time lies in (begin, end], the latest version of each key. */
#include "hudi/hudi_int.h"

#include <string.h>

static int ts_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = strncmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* Whether "s" is an instant time: 14 to 17 digits (a shorter prefix such as "0" too). */
static int instant_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 17 && strspn(s, "0123456789") == n;
}

int tn_hudi_changes_sql(struct tn_warehouse *wh, const struct tn_table *t, const char *begin,
                        const char *end, struct tn_buf *sql, struct tn_err *err)
{
    int64_t snapshot = -1;
    const char *best = NULL;
    struct tn_scan *scan = NULL;
    int rc;

    if (!tn_hudi_location(t))
        return tn_fail(err, TN_EINPUT,
                       "hudi_changes: table %s.%s is not a Hudi table (register one with 'tarn "
                       "register NAME PATH')",
                       t->ns, t->name);
    if (!instant_ok(begin) || (end && !instant_ok(end)))
        return tn_fail(err, TN_EINPUT,
                       "hudi_changes: instants are Hudi instant times such as "
                       "'20240418173551906' (digits only)");
    rc = tn_hudi_check_archived(t, begin, "hudi_changes: the range begins at instant", err);
    if (!rc && end)
        rc = tn_hudi_check_archived(t, end, "hudi_changes: the range ends at instant", err);
    if (rc)
        return rc;
    /* the table as of "end": the latest translated instant at or before it */
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        const char *instant =
            json_string_value(json_object_get(t->meta->snapshots[i].summary, TN_HUDI_INSTANT_KEY));
        if (instant && (!end || ts_cmp(instant, end) <= 0) &&
            (!best || ts_cmp(instant, best) > 0)) {
            best = instant;
            snapshot = t->meta->snapshots[i].id;
        }
    }
    rc =
        snapshot == t->meta->current_snapshot_id ? 0 : tn_hudi_check_snapshot(wh, t, snapshot, err);
    if (!rc)
        rc = tn_table_scan(wh, t, snapshot, &scan, err);
    if (!rc) {
        tn_buf_addstr(sql, "SELECT * FROM ", NULL);
        rc = tn_scan_sql(wh, t, scan, 0, sql, err);
    }
    if (!rc) {
        tn_buf_addstr(sql, " AS __tn_hudi WHERE \"_hoodie_commit_time\" > ", NULL);
        tn_sql_string(sql, begin);
        if (end) {
            tn_buf_addstr(sql, " AND \"_hoodie_commit_time\" <= ", NULL);
            tn_sql_string(sql, end);
        }
        if (!best) /* nothing was committed by then */
            tn_buf_addstr(sql, " AND false", NULL);
    }
    tn_scan_free(scan);
    return rc;
}
