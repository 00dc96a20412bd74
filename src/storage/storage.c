/* storage.c - the public storage calls (see storage.h): pick the backend from the root's
 * scheme, check each location against the sandbox and dispatch the call through the backend's
 * operations table, and keep the shared pieces (metrics, directory creation, a small thread
 * pool). Thread-safe as far as the backends are. */
#include "storage_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_s3(const char *uri)
{
    return strncmp(uri, "s3://", 5) == 0 || strncmp(uri, "s3a://", 6) == 0;
}

int tn_storage_open(const struct tn_storage_options *opt, struct tn_storage **out,
                    struct tn_err *err)
{
    struct tn_storage *st;
    int rc;

    if (!opt->root || !*opt->root)
        return tn_fail(err, TN_EINPUT, "no warehouse given");
    if (strstr(opt->root, "://") && strncmp(opt->root, "file://", 7) != 0 && !is_s3(opt->root))
        return tn_fail(err, TN_EINPUT,
                       "warehouse '%.200s': use a local directory, file:///path or "
                       "s3://bucket/prefix",
                       opt->root);
    st = tn_calloc(1, sizeof(*st));
    st->print_stats = opt->print_stats;
    rc = tn__fault_open(opt->fault, &st->fault, err);
    if (!rc)
        rc = is_s3(opt->root) ? tn__s3_open(opt, st, err) : tn__local_open(opt->root, st, err);
    if (!rc && (rc = tn_path_normalise(st->root_uri, &st->root_norm, err)) != 0) {
        tn_storage_close(st);
        return rc;
    }
    if (rc) {
        tn__fault_close(st->fault);
        free(st->root_uri);
        free(st->root_path);
        free(st->cache_dir);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

static void print_stats(struct tn_storage *st)
{
    struct tn_storage_metrics m;

    tn_storage_metrics(st, &m);
    fprintf(stderr,
            "tarn storage: backend=%s requests=%llu get=%llu put=%llu head=%llu list=%llu "
            "delete=%llu multipart=%llu multipart_aborts=%llu bytes_in=%llu bytes_out=%llu "
            "retries=%llu errors=%llu cache_hits=%llu cache_misses=%llu cache_evictions=%llu "
            "cache_files=%llu cache_bytes=%llu\n",
            st->ops->name, (unsigned long long)m.requests, (unsigned long long)m.get_requests,
            (unsigned long long)m.put_requests, (unsigned long long)m.head_requests,
            (unsigned long long)m.list_requests, (unsigned long long)m.delete_requests,
            (unsigned long long)m.multipart_uploads, (unsigned long long)m.multipart_aborts,
            (unsigned long long)m.bytes_downloaded, (unsigned long long)m.bytes_uploaded,
            (unsigned long long)m.retries, (unsigned long long)m.errors,
            (unsigned long long)m.cache_hits, (unsigned long long)m.cache_misses,
            (unsigned long long)m.cache_evictions, (unsigned long long)m.cache_files,
            (unsigned long long)m.cache_bytes);
}

void tn_storage_close(struct tn_storage *st)
{
    if (!st)
        return;
    if (st->print_stats) {
        print_stats(st);
        tn__fault_print(st->fault, stderr);
    }
    st->ops->close(st);
    tn__fault_close(st->fault);
    tn__cache_close(st->cache);
    free(st->root_uri);
    free(st->root_path);
    free(st->cache_dir);
    free(st->root_norm);
    for (size_t i = 0; i < st->nallowed; i++)
        free(st->allowed[i]);
    free(st->allowed);
    for (size_t i = 0; i < st->nprotected; i++)
        free(st->protected[i]);
    free(st->protected);
    free(st);
}

const char *tn_storage_root_uri(const struct tn_storage *st)
{
    return st->root_uri;
}

const char *tn_storage_root_path(const struct tn_storage *st)
{
    return st->root_path;
}

const char *tn_storage_cache_dir(const struct tn_storage *st)
{
    return st->cache_dir;
}

int tn_storage_is_remote(const struct tn_storage *st)
{
    return st->cache != NULL;
}

/*---- The sandbox ----*/

/* How a call uses its location: reading looks at its text, anything that creates, deletes or
 * lists files also follows the symlinks of a local location. */
enum access { READS, CHANGES };

/* A local normalised location with the symlinks of its existing part resolved (caller frees):
 * the deepest ancestor that exists goes through realpath, the rest is appended as it is. With
 * "parent_only" the last segment is never resolved: unlinking a symlink, or creating a file
 * with O_EXCL, does not follow it, and one realpath call fewer matters when deleting many. */
static char *resolve_symlinks(const char *norm, int parent_only)
{
    char *path = tn_strdup(norm + strlen("file://"));
    char real[PATH_MAX];
    char *out = NULL;
    size_t n = strlen(path);

    if (parent_only && strrchr(path, '/'))
        n = (size_t)(strrchr(path, '/') - path);

    for (;;) {
        char saved = path[n];
        path[n] = '\0';
        if (realpath(n ? path : "/", real)) {
            path[n] = saved;
            out = tn_asprintf("file://%s%s", strcmp(real, "/") == 0 ? "" : real, path + n);
            break;
        }
        path[n] = saved;
        while (n > 0 && path[n - 1] != '/')
            n--;
        if (n == 0)
            break;
        n--; /* drop the '/' too */
    }
    free(path);
    return out ? out : tn_strdup(norm);
}

/* 1 when "norm" is one of the protected files. */
static int is_protected(const struct tn_storage *st, const char *norm)
{
    for (size_t i = 0; i < st->nprotected; i++)
        if (strcmp(norm, st->protected[i]) == 0)
            return 1;
    return 0;
}

/* The root that holds "norm": 0 for the warehouse, i + 1 for allowed root i, -1 for none. */
static int holder(const struct tn_storage *st, const char *norm)
{
    if (tn_path_within(st->root_norm, norm))
        return 0;
    for (size_t i = 0; i < st->nallowed; i++)
        if (tn_path_within(st->allowed[i], norm))
            return (int)i + 1;
    return -1;
}

/* 1 when "uri" is already in tn_path_normalise's spelling (the common case: locations tarn
 * wrote itself), so that the check needs no copy. */
static int already_normal(const char *uri)
{
    const char *p;

    if (strncmp(uri, "file:///", 8) == 0)
        p = uri + 7;
    else if (strncmp(uri, "s3://", 5) == 0 && uri[5] && uri[5] != '/')
        p = uri + 4;
    else
        return 0;
    for (; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '%')
            return 0;
        if (p[0] == '/' && (p[1] == '/' || p[1] == '\0' ||
                            (p[1] == '.' && (p[2] == '/' || p[2] == '\0' ||
                                             (p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))))
            return 0;
    }
    return 1;
}

static int guard(struct tn_storage *st, const char *uri, enum access how, struct tn_err *err)
{
    char *copy = NULL, *real = NULL;
    const char *norm = uri;
    int rc = 0;

    if (!already_normal(uri)) {
        rc = tn_path_normalise(uri, &copy, err);
        if (rc) {
            tn_err_prefix(err, "storage: ");
            return rc;
        }
        norm = copy;
    }
    if (how == CHANGES && strncmp(norm, "file://", 7) == 0)
        real = resolve_symlinks(norm, 1);
    if (holder(st, norm) < 0 || (real && holder(st, real) < 0))
        rc = tn_fail(err, TN_EFORBIDDEN,
                     "%.300s is outside the warehouse %s; tarn reads and writes table files only "
                     "inside it (a table registered from the command line may also use the "
                     "folders its --map names)",
                     uri, st->root_uri);
    else if (is_protected(st, norm) || (real && is_protected(st, real)))
        rc = tn_fail(err, TN_EFORBIDDEN, "%.300s is the catalog; no table file may be there", uri);
    free(copy);
    free(real);
    return rc;
}

int tn_storage_check(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    return guard(st, uri, READS, err);
}

int tn_storage_allow(struct tn_storage *st, const char *root, struct tn_err *err)
{
    char *norm = NULL;
    int rc = tn_path_normalise(root, &norm, err);

    if (rc)
        return rc;
    if (strncmp(norm, "file://", 7) == 0) { /* compared with resolved locations too */
        char *real = resolve_symlinks(norm, 0);
        free(norm);
        norm = real;
    }
    if (holder(st, norm) >= 0) {
        free(norm);
        return 0;
    }
    st->allowed = tn_realloc(st->allowed, (st->nallowed + 1) * sizeof(*st->allowed));
    st->allowed[st->nallowed++] = norm;
    return 0;
}

void tn_storage_protect(struct tn_storage *st, const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char real[PATH_MAX];
    const char *p = realpath(path, real) ? real : path;

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *uri = tn_asprintf("%s%s", p, suffixes[i]);
        char *norm = NULL;
        struct tn_err ignored;
        if (p[0] == '/' && !tn_path_normalise(uri, &norm, &ignored)) {
            st->protected =
                tn_realloc(st->protected, (st->nprotected + 1) * sizeof(*st->protected));
            st->protected[st->nprotected++] = norm;
        }
        free(uri);
    }
}

int tn_storage_names_protected(struct tn_storage *st, const char *pattern)
{
    char *real = NULL;
    int hit = 0;

    if (pattern[0] != '/')
        return 0;
    if (!strpbrk(pattern, "*?[")) {
        char *norm = tn_asprintf("file://%s", pattern);
        real = resolve_symlinks(norm, 0);
        free(norm);
    } else { /* the folders before the first wildcard may be symlinks too */
        const char *wild = strpbrk(pattern, "*?[");
        char *head = tn_strndup(pattern, (size_t)(wild - pattern));
        char *slash = strrchr(head, '/'), *norm, *resolved;
        *slash = '\0';
        norm = tn_asprintf("file://%s", *head ? head : "/");
        resolved = resolve_symlinks(norm, 0);
        real = tn_asprintf("file://%s%s", strcmp(resolved, "file:///") == 0 ? "" : resolved + 7,
                           pattern + (slash - head));
        free(head);
        free(norm);
        free(resolved);
    }
    for (size_t i = 0; i < st->nprotected && !hit; i++) {
        const char *file = st->protected[i] + strlen("file://");
        hit = fnmatch(pattern, file, 0) == 0 || fnmatch(real + 7, file, 0) == 0;
    }
    free(real);
    return hit;
}

int tn_storage_in_warehouse(struct tn_storage *st, const char *uri)
{
    char *norm = NULL;
    struct tn_err ignored;
    int in = 0;

    if (!tn_path_normalise(uri, &norm, &ignored))
        in = holder(st, norm) == 0 && !is_protected(st, norm);
    free(norm);
    return in;
}

const char *tn_storage_allowed_root(struct tn_storage *st, const char *uri)
{
    char *norm = NULL;
    struct tn_err ignored;
    int h = -1;

    if (!tn_path_normalise(uri, &norm, &ignored))
        h = holder(st, norm);
    free(norm);
    return h > 0 ? st->allowed[h - 1] : NULL;
}

/*---- Dispatch ----*/

int tn_storage_read(struct tn_storage *st, const char *uri, struct tn_buf *out, struct tn_err *err)
{
    int rc = guard(st, uri, READS, err);
    return rc ? rc : st->ops->read(st, uri, out, err);
}

int tn_storage_read_range(struct tn_storage *st, const char *uri, int64_t offset, int64_t len,
                          struct tn_buf *out, struct tn_err *err)
{
    int rc;

    if (offset < 0 || len < 0)
        return tn_fail(err, TN_EINPUT, "negative range %lld+%lld of %s", (long long)offset,
                       (long long)len, uri);
    rc = guard(st, uri, READS, err);
    return rc ? rc : st->ops->read_range(st, uri, offset, len, out, err);
}

/* The one hook of injected faults (fault.c) on the calls that change storage. */
static int fault(struct tn_storage *st, enum tn_fault_op op, const char *uri, struct tn_err *err)
{
    return tn__fault_check(st->fault, op, uri, err);
}

int tn_storage_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                     struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    if (!rc)
        rc = fault(st, TN_FAULT_WRITE, uri, err);
    return rc ? rc : st->ops->write(st, uri, data, len, err);
}

int tn_storage_write_unflushed(struct tn_storage *st, const char *uri, const void *data, size_t len,
                               struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    if (!rc)
        rc = fault(st, TN_FAULT_WRITE, uri, err);
    if (rc)
        return rc;
    return st->ops->write_unflushed ? st->ops->write_unflushed(st, uri, data, len, err)
                                    : st->ops->write(st, uri, data, len, err);
}

int tn_storage_flush(struct tn_storage *st, const char *const *uris, size_t n, struct tn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = guard(st, uris[i], CHANGES, err);
        if (rc)
            return rc;
    }
    return n && st->ops->flush ? st->ops->flush(st, uris, n, err) : 0;
}

int tn_storage_delete(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    if (!rc)
        rc = fault(st, TN_FAULT_DELETE, uri, err);
    return rc ? rc : st->ops->remove(st, uri, err);
}

int tn_storage_delete_many(struct tn_storage *st, const char *const *uris, size_t n,
                           struct tn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = guard(st, uris[i], CHANGES, err);
        if (rc)
            return rc;
    }
    if (n && fault(st, TN_FAULT_DELETE, uris[0], err))
        return err->code;
    return n ? st->ops->remove_many(st, uris, n, err) : 0;
}

int tn_storage_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err)
{
    int rc = guard(st, uri, READS, err);
    return rc ? rc : st->ops->size(st, uri, out, err);
}

int tn_storage_local_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    int rc = guard(st, uri, READS, err);
    return rc ? rc : st->ops->local_path(st, uri, out, err);
}

int tn_storage_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    return rc ? rc : st->ops->prepare_dir(st, uri, err);
}

int tn_storage_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    return rc ? rc : st->ops->stage_path(st, uri, out, err);
}

int tn_storage_publish(struct tn_storage *st, const char *uri, const char *staged,
                       struct tn_err *err)
{
    int rc = guard(st, uri, CHANGES, err);
    if (!rc)
        rc = fault(st, TN_FAULT_PUBLISH, uri, err);
    return rc ? rc : st->ops->publish(st, uri, staged, err);
}

int tn_storage_prefetch(struct tn_storage *st, const char *const *uris, const int64_t *sizes,
                        size_t n, struct tn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = guard(st, uris[i], READS, err);
        if (rc)
            return rc;
    }
    return n ? st->ops->prefetch(st, uris, sizes, n, err) : 0;
}

int tn_storage_list(struct tn_storage *st, const char *prefix_uri, struct tn_storage_entry **out,
                    size_t *out_n, struct tn_err *err)
{
    int rc = guard(st, prefix_uri, CHANGES, err);
    return rc ? rc : st->ops->list(st, prefix_uri, out, out_n, err);
}

int tn_storage_evict(struct tn_storage *st, const char *uri)
{
    return st->ops->evict ? st->ops->evict(st, uri) : 0;
}

int tn_storage_confirm(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    int64_t size;
    return st->ops->confirm ? st->ops->confirm(st, uri, err) : st->ops->size(st, uri, &size, err);
}

int tn_storage_abort_uploads(struct tn_storage *st, const char *prefix_uri, int64_t older_than_ms,
                             int64_t *aborted, struct tn_err *err)
{
    if (aborted)
        *aborted = 0;
    return st->ops->abort_uploads
               ? st->ops->abort_uploads(st, prefix_uri, older_than_ms, aborted, err)
               : 0;
}

void tn_storage_entries_free(struct tn_storage_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i].uri);
    free(e);
}

void tn_storage_metrics(struct tn_storage *st, struct tn_storage_metrics *out)
{
    uint64_t c[TN_C_COUNT];

    for (int i = 0; i < TN_C_COUNT; i++)
        c[i] = __atomic_load_n(&st->counters[i], __ATOMIC_RELAXED);
    memset(out, 0, sizeof(*out));
    out->requests = c[TN_C_REQUESTS];
    out->get_requests = c[TN_C_GET];
    out->put_requests = c[TN_C_PUT];
    out->head_requests = c[TN_C_HEAD];
    out->list_requests = c[TN_C_LIST];
    out->delete_requests = c[TN_C_DELETE];
    out->multipart_uploads = c[TN_C_MULTIPART];
    out->multipart_aborts = c[TN_C_MULTIPART_ABORT];
    out->bytes_downloaded = c[TN_C_BYTES_IN];
    out->bytes_uploaded = c[TN_C_BYTES_OUT];
    out->retries = c[TN_C_RETRIES];
    out->errors = c[TN_C_ERRORS];
    out->cache_hits = c[TN_C_CACHE_HITS];
    out->cache_misses = c[TN_C_CACHE_MISSES];
    out->cache_evictions = c[TN_C_CACHE_EVICTIONS];
    if (st->cache)
        tn__cache_usage(st->cache, &out->cache_files, &out->cache_bytes);
}

int tn_storage_parse_size(const char *s, int64_t *out)
{
    return tn_parse_size(s, out);
}

/*---- Directories ----*/

int tn__mkdirs(char *path, struct tn_err *err)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) && errno != EEXIST) {
            int e = errno;
            *p = '/';
            return tn_fail(err, TN_EUNAVAILABLE, "cannot create directory %s: %s", path,
                           strerror(e));
        }
        *p = '/';
    }
    if (mkdir(path, 0755) && errno != EEXIST)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create directory %s: %s", path,
                       strerror(errno));
    return 0;
}

int tn__mkdirs_parent(const char *file, struct tn_err *err)
{
    char *dir = tn_strdup(file);
    char *slash = strrchr(dir, '/');
    int rc = 0;

    if (slash && slash != dir) {
        *slash = '\0';
        rc = tn__mkdirs(dir, err);
    }
    free(dir);
    return rc;
}

/*---- A small thread pool for parallel transfers ----*/

struct pool {
    size_t n, next;
    int (*fn)(void *ctx, size_t i, struct tn_err *err);
    void *ctx;
    pthread_mutex_t mu;
    int rc;
    struct tn_err err;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;

    for (;;) {
        struct tn_err err = {0};
        size_t i;
        int rc;

        pthread_mutex_lock(&p->mu);
        if (p->rc || p->next >= p->n) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        rc = p->fn(p->ctx, i, &err);
        if (rc) {
            pthread_mutex_lock(&p->mu);
            if (!p->rc) {
                p->rc = rc;
                p->err = err;
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int tn__parallel(size_t n, int threads, int (*fn)(void *ctx, size_t i, struct tn_err *err),
                 void *ctx, struct tn_err *err)
{
    struct pool p;
    pthread_t tids[64];
    size_t nt = 0;

    memset(&p, 0, sizeof(p));
    p.n = n;
    p.fn = fn;
    p.ctx = ctx;
    pthread_mutex_init(&p.mu, NULL);
    if (threads > 64)
        threads = 64;
    /* the calling thread works too, so one job (or one thread) needs no new thread */
    for (int i = 1; i < threads && (size_t)i < n; i++) {
        if (pthread_create(&tids[nt], NULL, pool_worker, &p))
            break;
        nt++;
    }
    pool_worker(&p);
    for (size_t i = 0; i < nt; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&p.mu);
    if (p.rc && err)
        *err = p.err;
    return p.rc;
}
