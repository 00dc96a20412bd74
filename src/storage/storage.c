/* storage.c - the public storage calls (see storage.h): pick the backend from the root's
 * scheme, dispatch each call through its operations table, and keep the shared pieces (metrics,
 * directory creation, a small thread pool). Thread-safe as far as the backends are. */
#include "storage_int.h"

#include <errno.h>
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
    rc = is_s3(opt->root) ? tn__s3_open(opt, st, err) : tn__local_open(opt->root, st, err);
    if (rc) {
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
    const char *stats;

    if (!st)
        return;
    stats = getenv("TARN_STORAGE_STATS");
    if (stats && *stats && strcmp(stats, "0") != 0)
        print_stats(st);
    st->ops->close(st);
    tn__cache_close(st->cache);
    free(st->root_uri);
    free(st->root_path);
    free(st->cache_dir);
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

int tn_storage_read(struct tn_storage *st, const char *uri, struct tn_buf *out, struct tn_err *err)
{
    return st->ops->read(st, uri, out, err);
}

int tn_storage_read_range(struct tn_storage *st, const char *uri, int64_t offset, int64_t len,
                          struct tn_buf *out, struct tn_err *err)
{
    if (offset < 0 || len < 0)
        return tn_fail(err, TN_EINPUT, "negative range %lld+%lld of %s", (long long)offset,
                       (long long)len, uri);
    return st->ops->read_range(st, uri, offset, len, out, err);
}

int tn_storage_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                     struct tn_err *err)
{
    return st->ops->write(st, uri, data, len, err);
}

int tn_storage_delete(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    return st->ops->remove(st, uri, err);
}

int tn_storage_delete_many(struct tn_storage *st, const char *const *uris, size_t n,
                           struct tn_err *err)
{
    return n ? st->ops->remove_many(st, uris, n, err) : 0;
}

int tn_storage_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err)
{
    return st->ops->size(st, uri, out, err);
}

int tn_storage_local_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    return st->ops->local_path(st, uri, out, err);
}

int tn_storage_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    return st->ops->prepare_dir(st, uri, err);
}

int tn_storage_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    return st->ops->stage_path(st, uri, out, err);
}

int tn_storage_publish(struct tn_storage *st, const char *uri, const char *staged,
                       struct tn_err *err)
{
    return st->ops->publish(st, uri, staged, err);
}

int tn_storage_prefetch(struct tn_storage *st, const char *const *uris, const int64_t *sizes,
                        size_t n, struct tn_err *err)
{
    return n ? st->ops->prefetch(st, uris, sizes, n, err) : 0;
}

int tn_storage_list(struct tn_storage *st, const char *prefix_uri, struct tn_storage_entry **out,
                    size_t *out_n, struct tn_err *err)
{
    return st->ops->list(st, prefix_uri, out, out_n, err);
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
