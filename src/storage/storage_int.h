/* storage_int.h - private to src/storage: the backend operations table that storage.c
 * dispatches through, the local cache of remote files (cache.c), the S3 backend's constructor
 * (s3.c) and shared helpers. Nothing outside src/storage includes this. */
#ifndef TN_STORAGE_INT_H
#define TN_STORAGE_INT_H

#include <pthread.h>
#include <stdio.h>

#include "storage.h"

/* One backend. Every operation has the contract of the tn_storage_* call of the same name. */
struct tn_storage_ops {
    const char *name;
    void (*close)(struct tn_storage *st);
    int (*read)(struct tn_storage *st, const char *uri, struct tn_buf *out, struct tn_err *err);
    int (*read_range)(struct tn_storage *st, const char *uri, int64_t offset, int64_t len,
                      struct tn_buf *out, struct tn_err *err);
    int (*write)(struct tn_storage *st, const char *uri, const void *data, size_t len,
                 struct tn_err *err);
    int (*remove)(struct tn_storage *st, const char *uri, struct tn_err *err);
    int (*remove_many)(struct tn_storage *st, const char *const *uris, size_t n,
                       struct tn_err *err);
    int (*size)(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err);
    int (*local_path)(struct tn_storage *st, const char *uri, char **out, struct tn_err *err);
    int (*prepare_dir)(struct tn_storage *st, const char *uri, struct tn_err *err);
    int (*stage_path)(struct tn_storage *st, const char *uri, char **out, struct tn_err *err);
    int (*publish)(struct tn_storage *st, const char *uri, const char *staged, struct tn_err *err);
    int (*prefetch)(struct tn_storage *st, const char *const *uris, const int64_t *sizes, size_t n,
                    struct tn_err *err);
    int (*list)(struct tn_storage *st, const char *prefix_uri, struct tn_storage_entry **out,
                size_t *out_n, struct tn_err *err);
    /* Optional for a backend whose writes are durable when they return (NULL: write, and
     * flush does nothing). */
    int (*write_unflushed)(struct tn_storage *st, const char *uri, const void *data, size_t len,
                           struct tn_err *err);
    int (*flush)(struct tn_storage *st, const char *const *uris, size_t n, struct tn_err *err);
    /* Optional for a backend without a cache or multipart uploads (NULL: nothing to do). */
    int (*evict)(struct tn_storage *st, const char *uri);
    int (*confirm)(struct tn_storage *st, const char *uri, struct tn_err *err);
    int (*abort_uploads)(struct tn_storage *st, const char *prefix_uri, int64_t older_than_ms,
                         int64_t *aborted, struct tn_err *err);
};

/* The counters behind struct tn_storage_metrics, updated with atomic adds. */
enum tn_counter {
    TN_C_REQUESTS,
    TN_C_GET,
    TN_C_PUT,
    TN_C_HEAD,
    TN_C_LIST,
    TN_C_DELETE,
    TN_C_MULTIPART,
    TN_C_MULTIPART_ABORT,
    TN_C_BYTES_IN,
    TN_C_BYTES_OUT,
    TN_C_RETRIES,
    TN_C_ERRORS,
    TN_C_CACHE_HITS,
    TN_C_CACHE_MISSES,
    TN_C_CACHE_EVICTIONS,
    TN_C_COUNT
};

/* Injected failures (fault.c): the kinds of call a fault spec counts. */
enum tn_fault_op {
    TN_FAULT_WRITE,
    TN_FAULT_PUBLISH,
    TN_FAULT_DELETE,
    TN_FAULT_FSYNC,
    TN_FAULT_PUT,
    TN_FAULT_PART,
    TN_FAULT_ANY,
    TN_FAULT_NOPS
};
struct tn_fault;
/* Parse a spec ("write:3,delay:100"; NULL or empty: none armed, calls still counted). */
int tn__fault_open(const char *spec, struct tn_fault **out, struct tn_err *err);
void tn__fault_close(struct tn_fault *f);
/* Count one call of kind "op" (on "uri"); TN_EUNAVAILABLE with "err" set when it is the call the
 * spec makes fail. A write, publish or delete also counts as "any". NULL "f": never fails. */
int tn__fault_check(struct tn_fault *f, enum tn_fault_op op, const char *uri, struct tn_err *err);
/* How long every S3 request waits first (delay:MS), 0 by default. */
int tn__fault_delay_ms(const struct tn_fault *f);
/* One line of the calls counted, for TARN_STORAGE_STATS. */
void tn__fault_print(const struct tn_fault *f, FILE *out);

struct tn_storage {
    const struct tn_storage_ops *ops;
    struct tn_fault *fault; /* counts calls; makes one fail when the options ask */
    char *root_uri;         /* without a trailing slash */
    char *root_path;        /* a local directory DuckDB may use */
    char *cache_dir;        /* NULL for local storage */
    void *impl;             /* the backend's own state */
    uint64_t counters[TN_C_COUNT];
    struct tn_cache *cache; /* NULL for local storage */
    char *root_norm;        /* root_uri normalised (tn_path_normalise) */
    char **allowed;         /* further roots, normalised (tn_storage_allow) */
    size_t nallowed;
    char **protected; /* normalised locations nothing may touch (tn_storage_protect) */
    size_t nprotected;
    int print_stats; /* print the counters to stderr at close */
};

static inline void tn__count(struct tn_storage *st, enum tn_counter c, uint64_t n)
{
    __atomic_fetch_add(&st->counters[c], n, __ATOMIC_RELAXED);
}

int tn__local_open(const char *root, struct tn_storage *st, struct tn_err *err);
int tn__s3_open(const struct tn_storage_options *opt, struct tn_storage *st, struct tn_err *err);

/* s3.c's download check: 1 when "etag" is the MD5 "md5", -1 when it is another MD5, 0 when it
 * is no plain MD5 (a multipart object's "<md5>-N", or an SSE-KMS/SSE-C object's). */
int tn__s3_etag_check(const char *etag, int encrypted, const unsigned char md5[16]);
/* One page of a ListObjectsV2 answer ("doc", "len" bytes): its objects appended to *e (*n used,
 * *cap allocated) as s3://"bucket"/key, and *token set to the continuation token (caller frees)
 * or NULL on the last page. -1 when the page says it is truncated but gives no token. */
int tn__s3_list_page(const char *doc, size_t len, const char *bucket, struct tn_storage_entry **e,
                     size_t *n, size_t *cap, char **token);
/* The first <tag> of an S3 XML answer, decoded and truncated to "cap", or "" when absent (how
 * error codes, messages, ETags and upload ids are read). */
void tn__s3_xml_field(const char *doc, size_t len, const char *tag, char *out, size_t cap);

/* mkdir -p "path" (modified in place while working, restored after). */
int tn__mkdirs(char *path, struct tn_err *err);
/* mkdir -p of the directory that holds "file". */
int tn__mkdirs_parent(const char *file, struct tn_err *err);

/* Run fn(ctx, i, err) for i in [0, n) on up to "threads" threads; the first failure stops
 * further work and is returned (with its message in "err"). */
int tn__parallel(size_t n, int threads, int (*fn)(void *ctx, size_t i, struct tn_err *err),
                 void *ctx, struct tn_err *err);

/*---- cache.c: immutable remote files kept in a local directory ----
 * Layout: DIR/objects/<name> holds finished copies (name = "bucket/key"), DIR/tmp/ downloads in
 * progress (renamed into objects/ once complete and verified), DIR/stage/<name> new files
 * before they are uploaded. Entries are indexed in memory with their size and last use; the
 * index is rebuilt from the directory at open, and files another process added are adopted
 * when first looked up. Above the size bound the least recently used entries are removed,
 * except those used in the last TN_CACHE_GRACE_S seconds (a query may be about to open them).
 * Thread-safe. */
#define TN_CACHE_GRACE_S 120

struct tn_cache;

int tn__cache_open(const char *dir, int64_t max_bytes, struct tn_storage *st, struct tn_cache **out,
                   struct tn_err *err);
void tn__cache_close(struct tn_cache *c);
/* Look "name" up (expected size, or -1); on a hit *out_path (caller frees) is the local copy
 * and *out_size its size. Returns 1 on a hit, 0 on a miss. Counts hits and misses when
 * "count" is set. */
int tn__cache_get(struct tn_cache *c, const char *name, int64_t expect, int count, char **out_path,
                  int64_t *out_size);
/* A fresh path for a download in progress (caller frees, and unlinks it on failure). */
char *tn__cache_tmp_path(struct tn_cache *c);
/* Move the complete file at "tmp" (of "size" bytes) into the cache as "name"; *out_path (may be
 * NULL; caller frees) gets its new path. */
int tn__cache_put(struct tn_cache *c, const char *name, const char *tmp, int64_t size,
                  char **out_path, struct tn_err *err);
/* Forget "name" and remove its copy and any staged file for it. */
void tn__cache_drop(struct tn_cache *c, const char *name);
/* Where a new file for "name" is written before upload (caller frees); parents created. */
int tn__cache_stage_path(struct tn_cache *c, const char *name, char **out, struct tn_err *err);
void tn__cache_usage(struct tn_cache *c, uint64_t *files, uint64_t *bytes);

#endif /* TN_STORAGE_INT_H */
