/* log.c - the Delta Lake transaction log of one table (_delta_log/): which commits and
 * checkpoints it holds, and the table's state (protocol, metadata, live files) at a version,
 * replayed from the newest complete checkpoint at or before it and the JSON commits after.
 * Every file is read through the storage layer; checkpoint Parquet is read by DuckDB. */
#include "delta/delta.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_MAX_BYTES     (256L * 1024 * 1024)
#define CHECKPOINT_MAX_ROWS  ((size_t)100000000)
#define DELTA_READER_VERSION 3

/*---- Names ----*/

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

enum tn_delta_name tn_delta_name_parse(const char *name, int64_t *version, size_t *parts)
{
    const char *rest = name + 20;
    char num[21];

    *parts = 1;
    if (strlen(name) < 21 || !digits(name, 20) || name[20] != '.')
        return TN_DELTA_OTHER;
    memcpy(num, name, 20);
    num[20] = '\0';
    if (tn_parse_i64(num, version))
        return TN_DELTA_OTHER;
    if (strcmp(rest, ".json") == 0)
        return TN_DELTA_COMMIT;
    if (strncmp(rest, ".checkpoint.", 12) != 0)
        return TN_DELTA_OTHER;
    rest += 12;
    if (strcmp(rest, "parquet") == 0)
        return TN_DELTA_CHECKPOINT;
    /* multi-part: NNN.checkpoint.PPPPPPPPPP.TTTTTTTTTT.parquet */
    if (strlen(rest) == 29 && digits(rest, 10) && rest[10] == '.' && digits(rest + 11, 10) &&
        strcmp(rest + 21, ".parquet") == 0) {
        char total[11];
        memcpy(total, rest + 11, 10);
        total[10] = '\0';
        *parts = (size_t)strtoul(total, NULL, 10);
        return *parts ? TN_DELTA_CHECKPOINT : TN_DELTA_OTHER;
    }
    /* v2: NNN.checkpoint.<uuid>.json or .parquet */
    {
        const char *dot = strchr(rest, '.');
        if (dot && dot - rest == 36 && (strcmp(dot, ".json") == 0 || strcmp(dot, ".parquet") == 0))
            return TN_DELTA_CHECKPOINT;
    }
    return TN_DELTA_OTHER;
}

/*---- Listing ----*/

static int checkpoint_complete(const struct tn_delta_checkpoint *c);

static int by_commit_version(const void *a, const void *b)
{
    const struct tn_delta_commit *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int by_checkpoint_version(const void *a, const void *b)
{
    const struct tn_delta_checkpoint *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The checkpoint of "log" at "version" with "parts" parts (a v2 or classic checkpoint and a
 * multi-part one at the same version are different checkpoints), added if missing. */
static struct tn_delta_checkpoint *checkpoint_slot(struct tn_delta_log *log, int64_t version,
                                                   size_t parts, size_t *cap)
{
    for (size_t i = 0; i < log->ncheckpoints; i++)
        if (log->checkpoints[i].version == version && log->checkpoints[i].parts_expected == parts &&
            parts > 1)
            return &log->checkpoints[i];
    if (log->ncheckpoints == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        log->checkpoints = tn_realloc(log->checkpoints, *cap * sizeof(*log->checkpoints));
    }
    memset(&log->checkpoints[log->ncheckpoints], 0, sizeof(*log->checkpoints));
    log->checkpoints[log->ncheckpoints].version = version;
    log->checkpoints[log->ncheckpoints].parts_expected = parts;
    return &log->checkpoints[log->ncheckpoints++];
}

int tn_delta_log_list(struct tn_storage *st, const char *location, struct tn_delta_log *out,
                      struct tn_err *err)
{
    struct tn_storage_entry *e = NULL;
    size_t n = 0, ccap = 0, kcap = 0, len = strlen(location);
    char *prefix;
    int rc;

    memset(out, 0, sizeof(*out));
    while (len > 1 && location[len - 1] == '/')
        len--;
    out->location = tn_strndup(location, len);
    prefix = tn_asprintf("%s/_delta_log/", out->location);
    rc = tn_storage_list(st, prefix, &e, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        /* the listing may spell the prefix in its normal form (file:///...) */
        const char *at = strstr(e[i].uri, "/_delta_log/");
        const char *name = at ? at + strlen("/_delta_log/") : "";
        int64_t version;
        size_t parts;
        enum tn_delta_name kind;
        if (!at || strchr(name, '/'))
            continue; /* .tmp/, _sidecars/ and the like */
        kind = tn_delta_name_parse(name, &version, &parts);
        if (kind == TN_DELTA_COMMIT) {
            if (out->ncommits == ccap) {
                ccap = ccap ? ccap * 2 : 16;
                out->commits = tn_realloc(out->commits, ccap * sizeof(*out->commits));
            }
            out->commits[out->ncommits++] =
                (struct tn_delta_commit){version, tn_strdup(e[i].uri), e[i].mtime_ms};
        } else if (kind == TN_DELTA_CHECKPOINT) {
            struct tn_delta_checkpoint *c = checkpoint_slot(out, version, parts, &kcap);
            c->uris = tn_realloc(c->uris, (c->nparts + 1) * sizeof(char *));
            c->uris[c->nparts++] = tn_strdup(e[i].uri);
            if (e[i].mtime_ms > c->mtime_ms)
                c->mtime_ms = e[i].mtime_ms;
        }
    }
    tn_storage_entries_free(e, n);
    if (!rc && !out->ncommits && tn_delta_log_latest(out) < 0)
        rc = tn_fail(err, TN_ENOTFOUND,
                     "%s is not a Delta table: %s holds no commit (NNNNNNNNNNNNNNNNNNNN.json) or "
                     "complete checkpoint",
                     out->location, prefix);
    free(prefix);
    if (rc) {
        tn_delta_log_release(out);
        return rc;
    }
    if (out->ncommits > 1)
        qsort(out->commits, out->ncommits, sizeof(*out->commits), by_commit_version);
    if (out->ncheckpoints > 1)
        qsort(out->checkpoints, out->ncheckpoints, sizeof(*out->checkpoints),
              by_checkpoint_version);
    for (size_t i = 0; i < out->ncheckpoints; i++)
        qsort(out->checkpoints[i].uris, out->checkpoints[i].nparts, sizeof(char *), by_string);
    return 0;
}

void tn_delta_log_release(struct tn_delta_log *log)
{
    for (size_t i = 0; i < log->ncommits; i++)
        free(log->commits[i].uri);
    for (size_t i = 0; i < log->ncheckpoints; i++) {
        for (size_t k = 0; k < log->checkpoints[i].nparts; k++)
            free(log->checkpoints[i].uris[k]);
        free(log->checkpoints[i].uris);
    }
    free(log->commits);
    free(log->checkpoints);
    free(log->location);
    memset(log, 0, sizeof(*log));
}

static int checkpoint_complete(const struct tn_delta_checkpoint *c)
{
    return c->parts_expected <= 1 ? c->nparts >= 1 : c->nparts == c->parts_expected;
}

int64_t tn_delta_log_latest(const struct tn_delta_log *log)
{
    int64_t v = -1;

    if (log->ncommits)
        v = log->commits[log->ncommits - 1].version;
    for (size_t i = 0; i < log->ncheckpoints; i++)
        if (checkpoint_complete(&log->checkpoints[i]) && log->checkpoints[i].version > v)
            v = log->checkpoints[i].version;
    return v;
}

static const struct tn_delta_commit *commit_of(const struct tn_delta_log *log, int64_t version)
{
    size_t lo = 0, hi = log->ncommits;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (log->commits[mid].version == version)
            return &log->commits[mid];
        if (log->commits[mid].version < version)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int64_t tn_delta_log_oldest(const struct tn_delta_log *log)
{
    if (commit_of(log, 0))
        return 0;
    for (size_t i = 0; i < log->ncheckpoints; i++)
        if (checkpoint_complete(&log->checkpoints[i]))
            return log->checkpoints[i].version;
    return -1;
}

/*---- State ----*/

void tn_delta_state_init(struct tn_delta_state *s)
{
    memset(s, 0, sizeof(*s));
    s->version = -1;
    s->files = json_object();
}

void tn_delta_state_release(struct tn_delta_state *s)
{
    json_decref(s->protocol);
    json_decref(s->metadata);
    json_decref(s->files);
    memset(s, 0, sizeof(*s));
    s->version = -1;
}

/* The deletion vector identity of an add or remove ("" without one). */
static char *dv_id(const json_t *action)
{
    const json_t *dv = json_object_get(action, "deletionVector");
    const char *type = json_string_value(json_object_get(dv, "storageType"));
    const char *where = json_string_value(json_object_get(dv, "pathOrInlineDv"));

    if (!type || !where)
        return tn_strdup("");
    return tn_asprintf("%s%s@%lld", type, where,
                       (long long)json_integer_value(json_object_get(dv, "offset")));
}

static void apply_remove(struct tn_delta_state *s, const json_t *remove)
{
    const char *path = json_string_value(json_object_get(remove, "path"));
    json_t *live = path ? json_object_get(s->files, path) : NULL;
    char *a, *b;

    if (!live)
        return;
    a = dv_id(live);
    b = dv_id(remove);
    if (strcmp(a, b) == 0)
        json_object_del(s->files, path);
    free(a);
    free(b);
}

static void apply_add(struct tn_delta_state *s, json_t *add)
{
    const char *path = json_string_value(json_object_get(add, "path"));

    if (path)
        json_object_set(s->files, path, add); /* a new add for a path replaces the old one */
}

int tn_delta_protocol_check(const json_t *protocol, struct tn_err *err)
{
    static const char *const known[] = {"deletionVectors", "columnMapping", "timestampNtz",
                                        "v2Checkpoint", "vacuumProtocolCheck"};
    json_int_t reader = json_integer_value(json_object_get(protocol, "minReaderVersion"));
    json_t *features = json_object_get(protocol, "readerFeatures"), *f;
    size_t i;

    if (reader > DELTA_READER_VERSION)
        return tn_fail(err, TN_EINPUT,
                       "the Delta table needs reader version %lld; tarn reads versions 1 to %d",
                       (long long)reader, DELTA_READER_VERSION);
    json_array_foreach(features, i, f)
    {
        const char *name = json_string_value(f);
        int ok = 0;
        for (size_t k = 0; name && k < sizeof(known) / sizeof(known[0]); k++)
            ok |= strcmp(name, known[k]) == 0;
        if (!ok)
            return tn_fail(err, TN_EINPUT,
                           "the Delta table needs reader feature '%s', which tarn does not read "
                           "(it reads deletionVectors, columnMapping, timestampNtz, "
                           "v2Checkpoint and vacuumProtocolCheck)",
                           name ? name : "?");
    }
    return 0;
}

/* Apply one action object of a commit or checkpoint; removes only when "removes" is set, adds
 * and the rest only when it is not. */
static void apply_action(struct tn_delta_state *s, json_t *action, int removes)
{
    json_t *v;

    if (removes) {
        if ((v = json_object_get(action, "remove")) && json_is_object(v))
            apply_remove(s, v);
        return;
    }
    if ((v = json_object_get(action, "add")) && json_is_object(v))
        apply_add(s, v);
    if ((v = json_object_get(action, "protocol")) && json_is_object(v)) {
        json_decref(s->protocol);
        s->protocol = json_incref(v);
    }
    if ((v = json_object_get(action, "metaData")) && json_is_object(v)) {
        json_decref(s->metadata);
        s->metadata = json_incref(v);
    }
}

int tn_delta_apply_text(const char *text, size_t len, struct tn_delta_state *state,
                        json_t **commit_info, struct tn_err *err)
{
    json_t *actions = json_array(), *a;
    const char *p = text, *end = text + len;
    size_t i, line = 0;

    if (commit_info)
        *commit_info = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_error_t je;
        json_t *j;
        line++;
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        if (n) {
            j = json_loadb(p, n, 0, &je);
            if (!json_is_object(j)) {
                json_decref(j);
                json_decref(actions);
                return tn_fail(err, TN_EINPUT, "line %zu is not a JSON action: %s", line, je.text);
            }
            json_array_append_new(actions, j);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    json_array_foreach(actions, i, a) apply_action(state, a, 1);
    json_array_foreach(actions, i, a)
    {
        apply_action(state, a, 0);
        if (commit_info && !*commit_info && json_is_object(json_object_get(a, "commitInfo")))
            *commit_info = json_incref(json_object_get(a, "commitInfo"));
    }
    json_decref(actions);
    return 0;
}

int tn_delta_state_apply(struct tn_storage *st, const struct tn_delta_log *log, int64_t version,
                         struct tn_delta_state *state, struct tn_err *err)
{
    const struct tn_delta_commit *c = commit_of(log, version);
    struct tn_buf buf = TN_BUF_INIT(COMMIT_MAX_BYTES);
    json_t *info = NULL;
    int rc;

    if (!c)
        return tn_fail(err, TN_ENOTFOUND,
                       "Delta table %s: commit %020lld.json is missing from _delta_log, so "
                       "version %lld cannot be read",
                       log->location, (long long)version, (long long)version);
    rc = tn_storage_read(st, c->uri, &buf, err);
    if (!rc)
        rc = tn_delta_apply_text(buf.buf ? buf.buf : "", buf.len, state, &info, err);
    if (rc)
        tn_err_prefix(err, "Delta table %s, commit %lld: ", log->location, (long long)version);
    if (!rc) {
        json_t *ict = json_object_get(info, "inCommitTimestamp");
        state->version = version;
        state->commit_ms = json_is_integer(ict) ? (int64_t)json_integer_value(ict) : c->mtime_ms;
    }
    json_decref(info);
    tn_buf_release(&buf);
    return rc;
}

/*---- Checkpoints ----*/

/* Apply the rows of Parquet files "uris" (a checkpoint's parts or sidecars), read by DuckDB,
 * to "state"; sidecar actions found are appended to "sidecars" (when not NULL). */
static int apply_parquet(struct tn_warehouse *wh, char *const *uris, size_t n,
                         struct tn_delta_state *state, json_t *sidecars, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_session *s = NULL;
    struct tn_rows *r = NULL;
    int rc = 0;

    tn_buf_addstr(&q, "SELECT to_json(t) FROM read_parquet([", NULL);
    for (size_t i = 0; !rc && i < n; i++) {
        char *path = NULL;
        rc = tn_storage_local_path(wh->storage, uris[i], &path, err);
        if (!rc) {
            if (i)
                tn_buf_addstr(&q, ", ", NULL);
            tn_sql_string(&q, path);
        }
        free(path);
    }
    tn_buf_addstr(&q, "], union_by_name = true) AS t", NULL);
    if (!rc)
        rc = tn_session_open(wh->engine, &s, err);
    if (!rc)
        rc = tn_engine_rows(s, q.buf, CHECKPOINT_MAX_ROWS, &r, err);
    for (size_t i = 0; !rc && i < r->nrows; i++) {
        const char *text = tn_rows_get(r, i, 0);
        json_t *row = text ? json_loads(text, 0, NULL) : NULL, *sc;
        if (!json_is_object(row)) {
            json_decref(row);
            rc = tn_fail(err, TN_EINPUT, "a checkpoint row is not an action");
            break;
        }
        /* a checkpoint's remove rows are tombstones: only its adds are live */
        apply_action(state, row, 0);
        if (sidecars && (sc = json_object_get(row, "sidecar")) && json_is_object(sc))
            json_array_append(sidecars, sc);
        json_decref(row);
    }
    tn_rows_free(r);
    tn_session_close(s);
    tn_buf_release(&q);
    return rc;
}

/* The location of a sidecar file named by a v2 checkpoint (relative to _delta_log/_sidecars). */
static char *sidecar_uri(const struct tn_delta_log *log, const char *path)
{
    if (strstr(path, "://") || path[0] == '/')
        return tn_strdup(path);
    return tn_asprintf("%s/_delta_log/_sidecars/%s", log->location, path);
}

static int apply_checkpoint(struct tn_warehouse *wh, const struct tn_delta_log *log,
                            const struct tn_delta_checkpoint *c, struct tn_delta_state *state,
                            struct tn_err *err)
{
    json_t *sidecars = json_array(), *sc;
    size_t i;
    int rc = 0;

    if (c->nparts == 1 && strlen(c->uris[0]) > 5 &&
        strcmp(c->uris[0] + strlen(c->uris[0]) - 5, ".json") == 0) {
        /* a v2 checkpoint in JSON: actions, sidecars among them */
        struct tn_buf buf = TN_BUF_INIT(COMMIT_MAX_BYTES);
        rc = tn_storage_read(wh->storage, c->uris[0], &buf, err);
        if (!rc)
            rc = tn_delta_apply_text(buf.buf ? buf.buf : "", buf.len, state, NULL, err);
        if (!rc) {
            /* the sidecar actions: read the text again for them */
            const char *p = buf.buf ? buf.buf : "";
            while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                json_t *j = json_loadb(p, n, 0, NULL);
                if ((sc = json_object_get(j, "sidecar")) && json_is_object(sc))
                    json_array_append(sidecars, sc);
                json_decref(j);
                p += n + (nl ? 1 : 0);
            }
        }
        tn_buf_release(&buf);
    } else {
        rc = apply_parquet(wh, c->uris, c->nparts, state, sidecars, err);
    }
    if (!rc && json_array_size(sidecars)) {
        char **uris = tn_calloc(json_array_size(sidecars), sizeof(char *));
        size_t n = 0;
        json_array_foreach(sidecars, i, sc)
        {
            const char *p = json_string_value(json_object_get(sc, "path"));
            if (p)
                uris[n++] = sidecar_uri(log, p);
        }
        rc = apply_parquet(wh, uris, n, state, NULL, err);
        for (i = 0; i < n; i++)
            free(uris[i]);
        free(uris);
    }
    json_decref(sidecars);
    if (rc)
        tn_err_prefix(err, "Delta table %s, checkpoint %lld: ", log->location,
                      (long long)c->version);
    else {
        const struct tn_delta_commit *commit = commit_of(log, c->version);
        state->version = c->version;
        state->commit_ms = commit ? commit->mtime_ms : c->mtime_ms;
    }
    return rc;
}

int tn_delta_state_at(struct tn_warehouse *wh, const struct tn_delta_log *log, int64_t version,
                      struct tn_delta_state *out, struct tn_err *err)
{
    const struct tn_delta_checkpoint *best = NULL;
    int64_t from = 0;
    int rc = 0;

    tn_delta_state_init(out);
    for (size_t i = 0; i < log->ncheckpoints; i++)
        if (log->checkpoints[i].version <= version && checkpoint_complete(&log->checkpoints[i]))
            best = &log->checkpoints[i];
    if (best) {
        rc = apply_checkpoint(wh, log, best, out, err);
        from = best->version + 1;
    } else if (!commit_of(log, 0)) {
        rc = tn_fail(err, TN_ENOTFOUND,
                     "Delta table %s: version %lld cannot be rebuilt (no checkpoint at or before "
                     "it, and no commit 0)",
                     log->location, (long long)version);
    }
    for (int64_t v = from; !rc && v <= version; v++)
        rc = tn_delta_state_apply(wh->storage, log, v, out, err);
    if (!rc && (!out->metadata || !out->protocol))
        rc = tn_fail(err, TN_EINPUT,
                     "Delta table %s: version %lld has no %s action in its log; the log is "
                     "damaged",
                     log->location, (long long)version, out->metadata ? "protocol" : "metaData");
    if (rc)
        tn_delta_state_release(out);
    return rc;
}
