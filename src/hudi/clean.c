/* clean.c - time travel to a Hudi instant whose files a clean has deleted: Hudi's cleaner removes
 * the file slices older instants read, so the snapshot tarn translated for such an instant names
 * files that are gone. The query is refused naming the instant and the cleans, instead of failing
 * on the first missing file. Time travel to an instant Hudi archived before tarn saw it is
 * refused too, naming the first instant still on the active timeline. */
#include "hudi/hudi_int.h"

#include <string.h>

static int ts_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = strncmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* The completed cleans after instant "after", as "A, B" (empty when none). */
static int cleans_after(struct tn_warehouse *wh, const char *location, const char *after,
                        struct tn_buf *out, struct tn_err *err)
{
    struct tn__hudi_table h;
    struct tn__hudi_instant *v = NULL;
    size_t n = 0;
    int rc = tn__hudi_table_open(wh, location, &h, err);

    if (!rc)
        rc = tn__hudi_timeline(wh, &h, &v, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (strcmp(v[i].action, "clean") == 0 && ts_cmp(v[i].ts, after) > 0)
            tn_buf_addf(out, NULL, "%s%s", out->len ? ", " : "", v[i].ts);
    tn__hudi_instants_free(v, n);
    tn__hudi_table_release(&h);
    return rc;
}

/* The first active instant of a table whose archived instants tarn holds in one snapshot, or
 * NULL. */
static const char *archived_before(const struct tn_table *t)
{
    for (size_t i = 0; tn_hudi_location(t) && i < t->meta->nsnapshots; i++) {
        const char *v =
            json_string_value(json_object_get(t->meta->snapshots[i].summary, TN_HUDI_ARCHIVED_KEY));
        if (v)
            return v;
    }
    return NULL;
}

static int archived_fail(const struct tn_table *t, const char *what, const char *first,
                         struct tn_err *err)
{
    return tn_fail(err, TN_ENOTFOUND,
                   "hudi table %s.%s: %s precedes %s, the first instant still on the table's "
                   "active timeline; Hudi archived the instants before it and tarn reads their "
                   "files only as one state, not instant by instant: use %s or a later instant",
                   t->ns, t->name, what, first, first);
}

int tn_hudi_check_archived(const struct tn_table *t, const char *instant, const char *what,
                           struct tn_err *err)
{
    const char *first = archived_before(t);
    char *text;
    int rc;

    if (!first || !*instant || strlen(instant) > 17 ||
        strspn(instant, "0123456789") != strlen(instant) || ts_cmp(instant, first) >= 0)
        return 0;
    text = tn_asprintf("%s %s", what, instant);
    rc = archived_fail(t, text, first, err);
    free(text);
    return rc;
}

int tn_hudi_check_snapshot(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                           struct tn_err *err)
{
    const char *location = tn_hudi_location(t);
    const struct tn_snapshot *sn =
        location && snapshot_id >= 0 ? tn_metadata_snapshot(t->meta, snapshot_id) : NULL;
    const char *instant = NULL;
    struct tn_buf cleans = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_scan *scan = NULL;
    size_t prefix = location ? strlen(location) : 0;
    int rc;

    if (sn && json_object_get(sn->summary, TN_HUDI_ARCHIVED_KEY)) {
        char *what =
            tn_asprintf("snapshot %lld (what archived instants wrote)", (long long)snapshot_id);
        rc = archived_fail(
            t, what, json_string_value(json_object_get(sn->summary, TN_HUDI_ARCHIVED_KEY)), err);
        free(what);
        return rc;
    }
    if (sn) {
        instant = json_string_value(json_object_get(sn->summary, TN_HUDI_INSTANT_KEY));
        if (!instant)
            instant = json_string_value(json_object_get(sn->summary, TN_HUDI_RO_INSTANT_KEY));
    }
    if (!instant)
        return 0;
    rc = cleans_after(wh, location, instant, &cleans, err);
    if (rc || !cleans.len) {
        tn_buf_release(&cleans);
        return rc;
    }
    rc = tn_table_scan(wh, t, snapshot_id, &scan, err);
    for (size_t i = 0; !rc && i < scan->ndata; i++) {
        const char *path = scan->data[i].file.file_path;
        struct tn_err missing;
        int64_t size;
        int got;
        if (strncmp(path, location, prefix) != 0 || path[prefix] != '/')
            continue; /* a file tarn merged: it stays while the snapshot does */
        got = tn_storage_size(wh->storage, path, &size, &missing);
        if (got == TN_ENOTFOUND)
            rc = tn_fail(err, TN_ENOTFOUND,
                         "hudi table %s.%s: instant %s can no longer be read: its file %s was "
                         "deleted by a later clean (%s %s); travel to a later instant",
                         t->ns, t->name, instant, path + prefix + 1,
                         strchr(cleans.buf, ',') ? "cleans" : "clean", cleans.buf);
        else if (got)
            rc = tn_fail(err, got, "%s", missing.msg);
    }
    tn_scan_free(scan);
    tn_buf_release(&cleans);
    return rc;
}
