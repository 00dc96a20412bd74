/* storage.h - where table files live. One interface for every backend: the local filesystem
 * (locations "file:///abs/path", "file:/abs/path" or "/abs/path") and S3-compatible object
 * stores (root "s3://bucket/prefix", locations "s3://bucket/key"; see s3.c).
 *
 * Files are immutable once written: tn_storage_write creates a new file and fails if one exists,
 * so a commit never overwrites what a reader may be reading. DuckDB only ever sees local paths:
 * tn_storage_local_path gives one to read (a backend that is not local fetches the file into its
 * cache), and new files are written at tn_storage_stage_path and then published with
 * tn_storage_publish. A struct tn_storage may be shared by threads. */
#ifndef TN_STORAGE_H
#define TN_STORAGE_H

#include <stdint.h>

#include "core/core.h"

struct tn_storage;

/* How S3 requests address a bucket. */
enum tn_s3_style {
    TN_S3_STYLE_AUTO = 0, /* path style with an endpoint, virtual-hosted on AWS */
    TN_S3_STYLE_PATH,     /* http://endpoint/bucket/key (MinIO, Ceph RGW) */
    TN_S3_STYLE_VIRTUAL,  /* http://bucket.endpoint/key */
};

/* Zero values take the defaults (s3.c). Nothing here comes from the environment: the entry
 * point fills these fields (src/cli/env.c reads AWS_* and TARN_S3_* variables). The credentials
 * are never logged. */
struct tn_storage_options {
    const char *root;             /* a local path, file:// URI, or s3://bucket/prefix */
    const char *s3_endpoint;      /* e.g. http://127.0.0.1:9000; NULL for AWS */
    const char *s3_region;        /* default us-east-1 */
    int s3_path_style;            /* enum tn_s3_style */
    const char *s3_access_key;    /* an s3:// root needs both keys */
    const char *s3_secret_key;    /* */
    const char *s3_session_token; /* temporary credentials; NULL for none */
    const char *cache_dir;        /* local copies of remote files; NULL: ./tarn-cache */
    int64_t cache_size;           /* bytes the cache may hold; 0: 10 GiB */
    int64_t multipart_threshold;  /* bytes above which uploads are multipart; 0: 64 MiB */
    int64_t part_size;            /* multipart part size (5 MiB to 5 GiB); 0: 16 MiB */
    int parallel;                 /* concurrent transfers (1 to 64); 0: 8 */
    int s3_max_attempts;          /* attempts of one request (1 to 100); 0: 6 */
    int s3_retry_seconds;         /* time to keep retrying one request; 0: 60 */
    int s3_timeout_s;             /* one attempt, plus a second per MiB it moves; 0: 60 */
    int s3_low_speed_limit;       /* bytes/s below which an attempt ... ; 0: 1024 */
    int s3_low_speed_s;           /* ... is abandoned after this many seconds; 0: 15 */
    int s3_list_page;             /* keys per list request (1 to 1000); 0: 1000 */
    int print_stats;              /* print the counters to stderr at close */
    const char *fault;            /* tests: injected failures, "op:N,..." (see fault.c); NULL */
};

/* Open the warehouse at opt->root: a local directory (created when needed) or an S3 prefix
 * (the cache directory is created; nothing is sent to S3 until a file is needed). TN_EINPUT for
 * a malformed root or missing S3 credentials. */
int tn_storage_open(const struct tn_storage_options *opt, struct tn_storage **out,
                    struct tn_err *err);
void tn_storage_close(struct tn_storage *st);

/* The warehouse root as a URI ("file:///abs/warehouse"), without a trailing slash. */
const char *tn_storage_root_uri(const struct tn_storage *st);
/* The warehouse root as a local directory DuckDB may be allowed to read and write (for S3, the
 * cache directory, which also holds staged files and temporary files). */
const char *tn_storage_root_path(const struct tn_storage *st);
/* The local cache of remote files (DuckDB must be allowed to read it), or NULL for local
 * storage. Borrowed until tn_storage_close. */
const char *tn_storage_cache_dir(const struct tn_storage *st);
/* 1 when files live in an object store (reads go through the cache), 0 for local files. */
int tn_storage_is_remote(const struct tn_storage *st);

/* Read the whole file at "uri" into "out" (whose max caps the size: TN_ETOOBIG beyond it).
 * TN_ENOTFOUND when it does not exist. */
int tn_storage_read(struct tn_storage *st, const char *uri, struct tn_buf *out, struct tn_err *err);
/* Create the file at "uri" with the given bytes, creating parent directories; TN_EEXISTS if a
 * file is already there. The data is flushed to disk before this returns. */
int tn_storage_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                     struct tn_err *err);
/* Like tn_storage_write, but a local file may not be on disk yet: tn_storage_flush must flush it
 * before anything published names it. A commit flushes all its files at once, which costs a
 * file system one journal commit instead of one per file. */
int tn_storage_write_unflushed(struct tn_storage *st, const char *uri, const void *data, size_t len,
                               struct tn_err *err);
/* Flush the files at "uris" (n of them, written by tn_storage_write_unflushed) to disk. */
int tn_storage_flush(struct tn_storage *st, const char *const *uris, size_t n, struct tn_err *err);
/* Remove the file at "uri"; a missing file is not an error. */
int tn_storage_delete(struct tn_storage *st, const char *uri, struct tn_err *err);
/* The size of the file at "uri"; TN_ENOTFOUND when it does not exist. */
int tn_storage_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err);
/* A local filesystem path where DuckDB can read (or, for a new file, write) "uri"; caller
 * frees. */
int tn_storage_local_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err);
/* Make the local directories that "uri"'s parent needs. */
int tn_storage_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err);
/* A local path where a new file for "uri" can be written (by DuckDB); caller frees. The file
 * exists at "uri" only once tn_storage_publish succeeds. */
int tn_storage_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err);
/* Make the file written at "staged" the file at "uri" (for local storage they are the same
 * file already; a remote backend uploads it). */
int tn_storage_publish(struct tn_storage *st, const char *uri, const char *staged,
                       struct tn_err *err);

/* Read "len" bytes at "offset" of the file at "uri" into "out" (fewer at the end of the file).
 * TN_ENOTFOUND when it does not exist. */
int tn_storage_read_range(struct tn_storage *st, const char *uri, int64_t offset, int64_t len,
                          struct tn_buf *out, struct tn_err *err);
/* Fetch the files at "uris" into the local cache in parallel, so that tn_storage_local_path
 * then finds them there (a no-op for local storage). "sizes" (or NULL) gives each file's
 * expected size, -1 when unknown: a cached copy of another size is fetched again, and a
 * download of another size is an error. */
int tn_storage_prefetch(struct tn_storage *st, const char *const *uris, const int64_t *sizes,
                        size_t n, struct tn_err *err);

struct tn_storage_entry {
    char *uri;
    int64_t size;
    int64_t mtime_ms; /* last modified, ms since 1970 (S3: LastModified); -1 when unknown */
};

/* Every file whose location starts with "prefix_uri" (S3: ListObjectsV2 with pagination; local:
 * a directory walk), with its size and modification time, in no particular order. Free with
 * tn_storage_entries_free. */
int tn_storage_list(struct tn_storage *st, const char *prefix_uri, struct tn_storage_entry **out,
                    size_t *out_n, struct tn_err *err);
void tn_storage_entries_free(struct tn_storage_entry *e, size_t n);
/* Remove many files (S3: batch DeleteObjects, 1000 a request); missing files are not an
 * error. */
int tn_storage_delete_many(struct tn_storage *st, const char *const *uris, size_t n,
                           struct tn_err *err);

/* Forget the local copy of "uri" because what was read from it did not parse (a damaged
 * copy): the next read fetches the file again. 1 when there was a cache to forget it from,
 * 0 for local storage, where the file read is the file itself. */
int tn_storage_evict(struct tn_storage *st, const char *uri);
/* Check that the file at "uri" still exists in the store itself, not only in the cache (S3: a
 * HEAD, whose positive answer is reused for 5 s). TN_ENOTFOUND when it is gone. */
int tn_storage_confirm(struct tn_storage *st, const char *uri, struct tn_err *err);
/* Abort the multipart uploads under "prefix_uri" begun before "older_than_ms" (ms since 1970):
 * what uploads that failed and could not be aborted left behind. *aborted (may be NULL) counts
 * them. Nothing to do for local storage. */
int tn_storage_abort_uploads(struct tn_storage *st, const char *prefix_uri, int64_t older_than_ms,
                             int64_t *aborted, struct tn_err *err);

/* The S3 connection settings an engine needs to read the same files (none of them secret):
 * endpoint (NULL for AWS), region and path style; 0 on success, -1 for local storage. */
int tn_storage_s3_settings(const struct tn_storage *st, const char **endpoint, const char **region,
                           int *path_style);
/* The credentials an S3 warehouse signs with (the REST catalog vends them when told to): key,
 * secret and session token (NULL when none); 0 on success, -1 for local storage. */
int tn_storage_s3_credentials(const struct tn_storage *st, const char **key, const char **secret,
                              const char **token);

/* Counters since tn_storage_open (all zero for local storage). Setting the
 * environment variable TARN_STORAGE_STATS=1 prints them to stderr in tn_storage_close. */
struct tn_storage_metrics {
    uint64_t requests;     /* HTTP requests sent to S3, retries included */
    uint64_t get_requests; /* GET, whole and ranged */
    uint64_t put_requests; /* PUT of objects and of multipart parts */
    uint64_t head_requests;
    uint64_t list_requests;     /* ListObjectsV2 pages */
    uint64_t delete_requests;   /* DELETE and batch DeleteObjects */
    uint64_t multipart_uploads; /* completed */
    uint64_t multipart_aborts;
    uint64_t bytes_downloaded;
    uint64_t bytes_uploaded;
    uint64_t retries; /* attempts after the first */
    uint64_t errors;  /* requests that failed for good */
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t cache_evictions;
    uint64_t cache_files; /* now */
    uint64_t cache_bytes; /* now */
};
void tn_storage_metrics(struct tn_storage *st, struct tn_storage_metrics *out);

/*---- The sandbox ----
 * Every call above first checks its location: it must lie inside the warehouse root, or inside
 * a root tn_storage_allow added, compared component by component after tn_path_normalise (a
 * local location that creates, deletes or lists files also with its symlinks resolved), and must
 * not be a file tn_storage_protect named. Anything else fails with TN_EFORBIDDEN, whichever
 * route the location came from (a commit's metadata, a path map, a maintenance action). */

/* Let the sandbox reach "root" too (a location given by the operator on the command line, or
 * recorded from one). Call before the storage is shared by threads. */
int tn_storage_allow(struct tn_storage *st, const char *root, struct tn_err *err);
/* Keep the local file "path" (and its SQLite companions -wal, -shm, -journal) out of reach even
 * inside the warehouse: the catalog. Call before the storage is shared by threads. */
void tn_storage_protect(struct tn_storage *st, const char *path);
/* 0 when the sandbox lets calls reach "uri", else TN_EFORBIDDEN (or TN_EINPUT for a location
 * that is not one) with a message naming the warehouse. */
int tn_storage_check(struct tn_storage *st, const char *uri, struct tn_err *err);
/* 1 when the absolute local path or glob "pattern" (already free of "." and "..") may name a
 * file tn_storage_protect named: equal to one, a glob matching one (as fnmatch without
 * FNM_PATHNAME, so "*" also spans "/", as "**" does), or the same file through symlinks. */
int tn_storage_names_protected(struct tn_storage *st, const char *pattern);
/* 1 when "uri" lies inside the warehouse root itself (not merely an allowed root). */
int tn_storage_in_warehouse(struct tn_storage *st, const char *uri);
/* The root tn_storage_allow added that holds "uri" (normalised; borrowed), or NULL when none
 * does or the warehouse itself holds it. */
const char *tn_storage_allowed_root(struct tn_storage *st, const char *uri);

/* "uri" in one spelling for comparisons (caller frees): file:/x, file:///x, file://localhost/x
 * and /x become file:///x; s3a:// and s3n:// become s3://; percent-escapes are decoded, empty and
 * "." segments dropped and ".." removed with the segment before it. TN_EFORBIDDEN when ".."
 * climbs above the root (or out of the bucket); TN_EINPUT for a relative path, another scheme
 * or host, or a control character (raw or encoded). */
int tn_path_normalise(const char *uri, char **out, struct tn_err *err);
/* 1 when the normalised "path" is the normalised "root" or lies below it, component-wise
 * ("file:///wh2-sibling/x" is not within "file:///wh2"). */
int tn_path_within(const char *root, const char *path);

/* Parse a byte size: "1048576", "500MB", "10GiB", "2g" (k, m, g, t: powers of 1024). */
int tn_storage_parse_size(const char *s, int64_t *out);

#endif /* TN_STORAGE_H */
