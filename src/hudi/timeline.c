/* timeline.c - a Hudi table's hoodie.properties and timeline: the completed instants (layout 1:
 * <ts>.<action> in .hoodie/, JSON commit metadata; layout 2: <ts>_<completion>.<action> in
 * .hoodie/timeline/, Avro object-container commit metadata). */
#include "hudi/hudi_int.h"

#include "avro/avro.h"

#include <string.h>
#include <time.h>

#define COMMIT_MAX_BYTES (256L * 1024 * 1024)

static const char *const actions[] = {"commit",  "deltacommit", "replacecommit",
                                      "clean",   "rollback",    "savepoint",
                                      "restore", "indexing",    "compaction"};

int tn__hudi_is_data_action(const char *action)
{
    return strcmp(action, "commit") == 0 || strcmp(action, "deltacommit") == 0 ||
           strcmp(action, "replacecommit") == 0;
}

#define PAYLOAD_PREFIX "org.apache.hudi.common.model."

static const char *prop(const struct tn__hudi_table *h, const char *key)
{
    return json_string_value(json_object_get(h->props, key));
}

/* The files of the archived timeline (layout 1: .hoodie/archived/, layout 2:
 * .hoodie/timeline/history/) into h->archived; checksum files (.crc) left out. */
static int archive_files(struct tn_warehouse *wh, struct tn__hudi_table *h, struct tn_err *err)
{
    const char *folder =
        prop(h, h->layout == 2 ? "hoodie.timeline.history.path" : "hoodie.archivelog.folder");
    struct tn_storage_entry *e = NULL;
    size_t n = 0;
    char *dir;
    int rc;

    if (!folder || !*folder)
        folder = h->layout == 2 ? "history" : "archived";
    if (strstr(folder, "..") || strchr(folder, '/'))
        return tn_fail(err, TN_EUNPROCESSABLE, "hudi table %s names archive folder '%s'",
                       h->location, folder);
    dir = tn_asprintf("%s/.hoodie/%s%s/", h->location, h->layout == 2 ? "timeline/" : "", folder);
    rc = tn_storage_list(wh->storage, dir, &e, &n, err);
    h->archived = json_array();
    for (size_t i = 0; !rc && i < n; i++) {
        size_t len = strlen(e[i].uri);
        if (len < 4 || strcmp(e[i].uri + len - 4, ".crc") != 0)
            json_array_append_new(h->archived, json_string(e[i].uri));
    }
    tn_storage_entries_free(e, n);
    free(dir);
    return rc;
}

int tn__hudi_table_open(struct tn_warehouse *wh, const char *location, struct tn__hudi_table *h,
                        struct tn_err *err)
{
    struct tn_buf buf = TN_BUF_INIT(16L * 1024 * 1024);
    size_t n = strlen(location);
    const char *v;
    char *uri;
    int rc;

    memset(h, 0, sizeof(*h));
    while (n > 1 && location[n - 1] == '/')
        n--;
    h->location = tn_strndup(location, n);
    uri = tn_asprintf("%s/.hoodie/hoodie.properties", h->location);
    rc = tn_storage_read(wh->storage, uri, &buf, err);
    free(uri);
    if (!rc)
        rc = tn_hudi_props_parse(buf.buf ? buf.buf : "", buf.len, &h->props, err);
    tn_buf_release(&buf);
    if (rc) {
        tn_err_prefix(err, "hudi table %s: ", h->location);
        return rc;
    }
    v = prop(h, "hoodie.table.version");
    h->version = v ? atoi(v) : 0;
    if (h->version != 6 && h->version != 8 && h->version != 9)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s has table version %s (hoodie.table.version); tarn reads "
                       "versions 6 (Hudi 0.14/0.15), 8 (Hudi 1.0) and 9 (Hudi 1.1): upgrade the "
                       "table with Hudi first",
                       h->location, v ? v : "none");
    v = prop(h, "hoodie.timeline.layout.version");
    h->layout = h->version >= 8 ? 2 : 1;
    if (v && atoi(v) != h->layout)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s (version %d) has timeline layout %s, which tarn does not "
                       "read",
                       h->location, h->version, v);
    v = prop(h, "hoodie.timeline.path");
    if (h->layout == 2 && v && strcmp(v, "timeline") != 0)
        return tn_fail(
            err, TN_EUNPROCESSABLE,
            "hudi table %s keeps its timeline in .hoodie/%s; tarn reads .hoodie/timeline",
            h->location, v);
    v = prop(h, "hoodie.table.type");
    h->mor = v && strcmp(v, "MERGE_ON_READ") == 0;
    if (v && !h->mor && strcmp(v, "COPY_ON_WRITE") != 0)
        return tn_fail(err, TN_EUNPROCESSABLE, "hudi table %s has unknown table type %s",
                       h->location, v);
    v = prop(h, "hoodie.table.base.file.format");
    if (v && strcasecmp(v, "PARQUET") != 0)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s stores %s base files; tarn reads Parquet base files only",
                       h->location, v);
    v = prop(h, "hoodie.populate.meta.fields");
    h->meta_fields = !v || strcmp(v, "false") != 0;
    return archive_files(wh, h, err);
}

void tn__hudi_table_release(struct tn__hudi_table *h)
{
    free(h->location);
    json_decref(h->props);
    json_decref(h->archived);
    memset(h, 0, sizeof(*h));
}

int tn__hudi_ordering_fields(const struct tn__hudi_table *h, json_t **out, struct tn_err *err)
{
    const char *mode = prop(h, "hoodie.record.merge.mode");
    const char *payload = prop(h, "hoodie.compaction.payload.class");
    const char *fields = prop(h, "hoodie.table.ordering.fields");
    int event_time;

    *out = NULL;
    if (!fields || !*fields)
        fields = prop(h, "hoodie.table.precombine.field");
    if (mode && strcmp(mode, "COMMIT_TIME_ORDERING") == 0)
        event_time = 0;
    else if (mode && strcmp(mode, "EVENT_TIME_ORDERING") == 0)
        event_time = 1;
    else if (mode)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s merges log records with merge mode %s (payload %s); tarn "
                       "merges by commit time (COMMIT_TIME_ORDERING) or by ordering field "
                       "(EVENT_TIME_ORDERING) only: compact the table with Hudi, or read its "
                       "read-optimized view",
                       h->location, mode, payload ? payload : "none");
    else if (!payload || strcmp(payload, PAYLOAD_PREFIX "OverwriteWithLatestAvroPayload") == 0)
        event_time = 0;
    else if (strcmp(payload, PAYLOAD_PREFIX "DefaultHoodieRecordPayload") == 0 ||
             strcmp(payload, PAYLOAD_PREFIX "EventTimeAvroPayload") == 0)
        event_time = 1;
    else
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s merges log records with payload class %s "
                       "(hoodie.compaction.payload.class), whose merge logic tarn cannot run; "
                       "tarn honours OverwriteWithLatestAvroPayload, DefaultHoodieRecordPayload "
                       "and EventTimeAvroPayload: compact the table with Hudi, or read its "
                       "read-optimized view",
                       h->location, payload);
    if (!event_time)
        return 0;
    if (!fields || !*fields)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s merges by ordering field (%s) but hoodie.properties names "
                       "none (hoodie.table.ordering.fields / hoodie.table.precombine.field)",
                       h->location, mode ? mode : payload);
    *out = json_array();
    for (const char *f = fields; *f;) {
        size_t len = strcspn(f, ",");
        size_t a = 0, b = len;
        while (a < b && (f[a] == ' ' || f[a] == '\t'))
            a++;
        while (b > a && (f[b - 1] == ' ' || f[b - 1] == '\t'))
            b--;
        if (b > a)
            json_array_append_new(*out, json_stringn(f + a, b - a));
        f += len + (f[len] == ',');
    }
    return 0;
}

/* Parse a completed instant's file name: <digits>[_<digits>].<action>. */
static int parse_name(const char *name, int layout, struct tn__hudi_instant *in)
{
    size_t d = strspn(name, "0123456789"), d2 = 0;
    const char *act;

    if (d < 8 || d >= sizeof(in->ts))
        return 0;
    memset(in, 0, sizeof(*in));
    memcpy(in->ts, name, d);
    if (layout == 2 && name[d] == '_') {
        d2 = strspn(name + d + 1, "0123456789");
        if (d2 < 8 || d2 >= sizeof(in->done))
            return 0;
        memcpy(in->done, name + d + 1, d2);
        d += d2 + 1;
    }
    if (name[d] != '.')
        return 0;
    act = name + d + 1;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(act, actions[i]) == 0) {
            /* layout 2: only <ts>_<completion>.<action> is completed */
            if (layout == 2 && !d2)
                return 0;
            snprintf(in->action, sizeof(in->action), "%s", act);
            return 1;
        }
    return 0;
}

static int instant_cmp(const void *a, const void *b)
{
    const struct tn__hudi_instant *x = a, *y = b;
    size_t lx = strlen(x->ts), ly = strlen(y->ts);
    int c;

    /* 14-digit (seconds) and 17-digit (ms) instants: compare on the common prefix first */
    c = strncmp(x->ts, y->ts, lx < ly ? lx : ly);
    if (c)
        return c;
    return lx < ly ? -1 : lx > ly;
}

int tn__hudi_timeline(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                      struct tn__hudi_instant **out, size_t *n, struct tn_err *err)
{
    char *dir = tn_asprintf("%s/.hoodie/%s", h->location, h->layout == 2 ? "timeline/" : "");
    struct tn_storage_entry *e = NULL;
    struct tn__hudi_instant *v = NULL;
    const char *tail = h->layout == 2 ? "/.hoodie/timeline/" : "/.hoodie/";
    size_t ne = 0, nv = 0;
    int rc = tn_storage_list(wh->storage, dir, &e, &ne, err);

    if (!rc)
        v = tn_calloc(ne + 1, sizeof(*v));
    for (size_t i = 0; !rc && i < ne; i++) {
        /* the listing may spell the folder differently (file://): match its last segments */
        const char *slash = strrchr(e[i].uri, '/');
        size_t parent = slash ? (size_t)(slash - e[i].uri) + 1 : 0;
        if (!slash || parent < strlen(tail) ||
            strncmp(e[i].uri + parent - strlen(tail), tail, strlen(tail)) != 0 ||
            !parse_name(slash + 1, h->layout, &v[nv]))
            continue;
        v[nv].uri = tn_strdup(e[i].uri);
        nv++;
    }
    tn_storage_entries_free(e, ne);
    free(dir);
    if (rc) {
        free(v);
        return rc;
    }
    qsort(v, nv, sizeof(*v), instant_cmp);
    *out = v;
    *n = nv;
    return 0;
}

void tn__hudi_instants_free(struct tn__hudi_instant *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].uri);
    free(v);
}

int tn__hudi_metadata_parse(const void *data, size_t len, json_t **out, struct tn_err *err)
{
    struct tn_avro_file *f = NULL;
    int rc;

    *out = NULL;
    if (len == 0) {
        *out = json_object();
        return 0;
    }
    if (len < 4 || memcmp(data, "Obj\x01", 4) != 0) {
        *out = tn_json_parse((const char *)data, len, err);
        if (*out && json_is_object(*out))
            return 0;
        json_decref(*out);
        *out = NULL;
        return tn_fail(err, TN_EINPUT, "not a JSON object");
    }
    rc = tn_avro_read(data, len, &f, err);
    if (!rc && (f->nrecords != 1 || f->records[0].type != TN_AVRO_RECORD))
        rc = tn_fail(err, TN_EINPUT, "expected one commit metadata record, found %zu", f->nrecords);
    if (!rc)
        *out = tn_hudi_avro_json(&f->records[0]);
    tn_avro_file_free(f);
    return rc;
}

int tn__hudi_commit_metadata(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                             const struct tn__hudi_instant *in, json_t **out, struct tn_err *err)
{
    struct tn_buf buf = TN_BUF_INIT(COMMIT_MAX_BYTES);
    int rc = tn_storage_read(wh->storage, in->uri, &buf, err);

    (void)h;
    if (!rc)
        rc = tn__hudi_metadata_parse(buf.buf, buf.len, out, err);
    tn_buf_release(&buf);
    if (rc)
        tn_err_prefix(err, "hudi instant %s (%s): ", in->ts, in->action);
    return rc;
}

int64_t tn__hudi_instant_ms(const char *ts)
{
    struct tm tm;
    int ms = 0;
    size_t n = strlen(ts);

    if ((n != 14 && n != 17) || strspn(ts, "0123456789") != n)
        return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(ts, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    if (n == 17)
        ms = atoi(ts + 14);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Every instant file name: <ts>[_<completion>].<action>[.requested|.inflight], or a layout-1
 * commit's <ts>.inflight; its state and action. */
static int parse_any(const char *name, int layout, struct tn__hudi_instant *in, int *state)
{
    char base[128];
    size_t n = strlen(name);

    if (parse_name(name, layout, in)) {
        *state = 2;
        return 1;
    }
    if (n >= sizeof(base))
        return 0;
    memcpy(base, name, n + 1);
    if (n > 10 && strcmp(base + n - 10, ".requested") == 0) {
        *state = 0;
        base[n - 10] = '\0';
    } else if (n > 9 && strcmp(base + n - 9, ".inflight") == 0) {
        *state = 1;
        base[n - 9] = '\0';
        if (strspn(base, "0123456789") == strlen(base)) /* <ts>.inflight: a commit */
            strcat(base, ".commit");
    } else {
        return 0;
    }
    /* a pending instant's name has no completion time, in either layout */
    return parse_name(base, 1, in);
}

/* A planned clustering or log compaction (<ts>.clustering.* or <ts>.logcompaction.*, layout 2):
 * it writes files under its own instant while it runs. */
static int pending_rewrite(const char *name, struct tn__hudi_instant *in)
{
    size_t d = strspn(name, "0123456789");

    if (d < 8 || d >= sizeof(in->ts) ||
        (strncmp(name + d, ".clustering.", 12) != 0 &&
         strncmp(name + d, ".logcompaction.", 15) != 0))
        return 0;
    memset(in, 0, sizeof(*in));
    memcpy(in->ts, name, d);
    snprintf(in->action, sizeof(in->action), "clustering");
    return 1;
}

int tn__hudi_first_active(struct tn_warehouse *wh, const struct tn__hudi_table *h, char out[32],
                          struct tn_err *err)
{
    char *dir = tn_asprintf("%s/.hoodie/%s", h->location, h->layout == 2 ? "timeline/" : "");
    const char *tail = h->layout == 2 ? "/.hoodie/timeline/" : "/.hoodie/";
    struct tn_storage_entry *e = NULL;
    size_t ne = 0;
    int rc = tn_storage_list(wh->storage, dir, &e, &ne, err);

    out[0] = '\0';
    for (size_t i = 0; !rc && i < ne; i++) {
        const char *slash = strrchr(e[i].uri, '/');
        size_t parent = slash ? (size_t)(slash - e[i].uri) + 1 : 0;
        struct tn__hudi_instant in, first;
        int state = 0;
        if (!slash || parent < strlen(tail) ||
            strncmp(e[i].uri + parent - strlen(tail), tail, strlen(tail)) != 0)
            continue;
        if (!parse_any(slash + 1, h->layout, &in, &state) && !pending_rewrite(slash + 1, &in))
            continue;
        if (!tn__hudi_is_data_action(in.action) && strcmp(in.action, "compaction") != 0 &&
            strcmp(in.action, "clustering") != 0)
            continue;
        memset(&first, 0, sizeof(first));
        snprintf(first.ts, sizeof(first.ts), "%s", out);
        if (!out[0] || instant_cmp(&in, &first) < 0)
            snprintf(out, 32, "%s", in.ts);
    }
    tn_storage_entries_free(e, ne);
    free(dir);
    return rc;
}

/* Timeline rows in instant order. */
static int row_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    struct tn__hudi_instant ix, iy;

    memset(&ix, 0, sizeof(ix));
    memset(&iy, 0, sizeof(iy));
    snprintf(ix.ts, sizeof(ix.ts), "%s", json_string_value(json_object_get(x, "instant")));
    snprintf(iy.ts, sizeof(iy.ts), "%s", json_string_value(json_object_get(y, "instant")));
    return instant_cmp(&ix, &iy);
}

int tn_hudi_timeline_rows(struct tn_warehouse *wh, const struct tn_table *t, json_t **out,
                          struct tn_err *err)
{
    static const char *const states[] = {"REQUESTED", "INFLIGHT", "COMPLETED"};
    const char *location = tn_hudi_location(t);
    struct tn__hudi_table h;
    struct tn_storage_entry *e = NULL;
    json_t *by_instant, *rows, *row;
    const char *key;
    size_t ne = 0;
    char *dir;
    int rc;

    if (!location)
        return tn_fail(err, TN_ENOTABLE,
                       "table %s.%s has no metadata table 'timeline': it is not a Hudi table",
                       t->ns, t->name);
    rc = tn__hudi_table_open(wh, location, &h, err);
    if (rc)
        return rc;
    dir = tn_asprintf("%s/.hoodie/%s", h.location, h.layout == 2 ? "timeline/" : "");
    rc = tn_storage_list(wh->storage, dir, &e, &ne, err);
    by_instant = json_object();
    for (size_t i = 0; !rc && i < ne; i++) {
        const char *tail = h.layout == 2 ? "/.hoodie/timeline/" : "/.hoodie/";
        const char *slash = strrchr(e[i].uri, '/');
        size_t parent = slash ? (size_t)(slash - e[i].uri) + 1 : 0;
        struct tn__hudi_instant in;
        int state = 0;
        char *k;
        json_t *old;
        if (!slash || parent < strlen(tail) ||
            strncmp(e[i].uri + parent - strlen(tail), tail, strlen(tail)) != 0 ||
            !parse_any(slash + 1, h.layout, &in, &state))
            continue;
        k = tn_strdup(in.ts); /* a compaction or clustering completes as another action */
        old = json_object_get(by_instant, k);
        if (!old || json_integer_value(json_object_get(old, "rank")) < state)
            json_object_set_new(by_instant, k,
                                json_pack("{s:s, s:s, s:s, s:o, s:i}", "instant", in.ts, "action",
                                          in.action, "state", states[state], "completion_time",
                                          in.done[0] ? json_string(in.done) : json_null(), "rank",
                                          state));
        free(k);
    }
    rows = json_array();
    {
        size_t n = json_object_size(by_instant), k = 0;
        json_t **v = tn_calloc(n + 1, sizeof(*v));
        json_object_foreach(by_instant, key, row)
        {
            json_object_del(row, "rank");
            v[k++] = row;
        }
        qsort(v, k, sizeof(*v), row_cmp);
        for (size_t i = 0; i < k; i++)
            json_array_append(rows, v[i]);
        free(v);
    }
    json_decref(by_instant);
    tn_storage_entries_free(e, ne);
    free(dir);
    tn__hudi_table_release(&h);
    if (rc) {
        json_decref(rows);
        return rc;
    }
    *out = rows;
    return 0;
}
