/* snapshot_hint.c - the error for a snapshot id (or ref) a table does not have. It names the
 * few snapshots nearest to the one asked for -- by id, which is how an id rounded by a
 * JavaScript number (above 2^53) or mistyped in its last digits is found again -- with their
 * times, the current one, and how many there are; never a list cut off mid-number. */
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NEAREST 3

static uint64_t id_distance(int64_t a, int64_t b)
{
    return a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

static void add_snapshot(struct tn_buf *b, const struct tn_snapshot *s)
{
    time_t secs = (time_t)(s->timestamp_ms / 1000);
    struct tm tm;
    char when[32] = "";

    if (gmtime_r(&secs, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    tn_buf_addf(b, NULL, "%lld (%s)", (long long)s->id, when);
}

int tn_table_no_snapshot(const struct tn_table *t, int64_t id, const char *ref, struct tn_err *err)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_MESSAGE_LIST);
    size_t n = t->meta->nsnapshots, picked[NEAREST], npicked = 0;
    const struct tn_snapshot *cur = tn_metadata_snapshot(t->meta, t->meta->current_snapshot_id);

    if (ref)
        tn_buf_addf(&b, NULL, "table %s.%s has no snapshot or ref '%s'", t->ns, t->name, ref);
    else
        tn_buf_addf(&b, NULL, "table %s.%s has no snapshot %lld", t->ns, t->name, (long long)id);
    if (n == 0) {
        tn_buf_addstr(&b, "; it has no snapshots yet", NULL);
        goto out;
    }
    /* the NEAREST ids, closest first (only for a numeric id) */
    while (!ref) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t k = 0; k < npicked; k++)
                taken |= picked[k] == i;
            if (!taken && (best == n || id_distance(t->meta->snapshots[i].id, id) <
                                            id_distance(t->meta->snapshots[best].id, id)))
                best = i;
        }
        if (best == n || npicked == NEAREST)
            break;
        picked[npicked++] = best;
    }
    if (npicked) {
        tn_buf_addstr(&b, "; the nearest ids are ", NULL);
        for (size_t k = 0; k < npicked; k++) {
            if (k)
                tn_buf_addstr(&b, ", ", NULL);
            add_snapshot(&b, &t->meta->snapshots[picked[k]]);
        }
        if (id > (INT64_C(1) << 53) && id_distance(t->meta->snapshots[picked[0]].id, id) < 4096)
            tn_buf_addstr(&b,
                          " (a JavaScript number rounds ids above 2^53: send ids as strings; "
                          "?ids=string answers them so)",
                          NULL);
    }
    if (cur) {
        tn_buf_addstr(&b, "; the current one is ", NULL);
        add_snapshot(&b, cur);
    }
    tn_buf_addf(&b, NULL, "; %zu snapshot%s in all ($snapshots lists them)", n, n == 1 ? "" : "s");
    if (ref && t->meta->nrefs) {
        size_t shown = t->meta->nrefs < 5 ? t->meta->nrefs : 5;
        tn_buf_addstr(&b, "; refs: ", NULL);
        for (size_t i = 0; i < shown; i++)
            tn_buf_addf(&b, NULL, "%s'%s'", i ? ", " : "", t->meta->refs[i].name);
        if (shown < t->meta->nrefs)
            tn_buf_addf(&b, NULL, " and %zu more", t->meta->nrefs - shown);
    }
out:
    tn_fail(err, TN_ENOTFOUND, "%s", b.buf);
    tn_buf_release(&b);
    return err->code;
}
