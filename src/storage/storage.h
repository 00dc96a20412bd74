/* storage.h - where table files live. One interface for every backend: the local filesystem
 * (locations "file:///abs/path", "file:/abs/path" or "/abs/path"); an S3 backend plugs in
 * behind the same calls.
 *
 * Files are immutable once written: tn_storage_write creates a new file and fails if one exists,
 * so a commit never overwrites what a reader may be reading. DuckDB only ever sees local paths:
 * tn_storage_local_path gives one to read (a backend that is not local fetches the file into its
 * cache), and new files are written at tn_storage_stage_path and then published with
 * tn_storage_publish. */
#ifndef TN_STORAGE_H
#define TN_STORAGE_H

#include <stdint.h>

#include "core/core.h"

struct tn_storage;

struct tn_storage_options {
    const char *root;        /* a local path, file:// URI, or s3://bucket/prefix */
    const char *s3_endpoint; /* e.g. http://127.0.0.1:9000; NULL for AWS */
    const char *s3_region;   /* default us-east-1 */
    int s3_path_style;       /* 1: http://endpoint/bucket/key (default with an endpoint) */
    const char *cache_dir;   /* local copies of remote files; NULL: a default */
    int64_t cache_size;      /* bytes the cache may hold; 0: a default */
};

/* Open the warehouse at opt->root, creating a local directory when needed. */
int tn_storage_open(const struct tn_storage_options *opt, struct tn_storage **out,
                    struct tn_err *err);
void tn_storage_close(struct tn_storage *st);

/* The warehouse root as a URI ("file:///abs/warehouse"), without a trailing slash. */
const char *tn_storage_root_uri(const struct tn_storage *st);
/* The warehouse root as a local directory DuckDB may be allowed to read and write. */
const char *tn_storage_root_path(const struct tn_storage *st);

/* Read the whole file at "uri" into "out" (whose max caps the size: TN_ETOOBIG beyond it).
 * TN_ENOTFOUND when it does not exist. */
int tn_storage_read(struct tn_storage *st, const char *uri, struct tn_buf *out,
                    struct tn_err *err);
/* Create the file at "uri" with the given bytes, creating parent directories; TN_EEXISTS if a
 * file is already there. The data is flushed to disk before this returns. */
int tn_storage_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                     struct tn_err *err);
/* Remove the file at "uri"; a missing file is not an error. */
int tn_storage_delete(struct tn_storage *st, const char *uri, struct tn_err *err);
/* The size of the file at "uri"; TN_ENOTFOUND when it does not exist. */
int tn_storage_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err);
/* A local filesystem path where DuckDB can read (or, for a new file, write) "uri"; caller
 * frees. */
int tn_storage_local_path(struct tn_storage *st, const char *uri, char **out,
                          struct tn_err *err);
/* Make the local directories that "uri"'s parent needs. */
int tn_storage_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err);
/* A local path where a new file for "uri" can be written (by DuckDB); caller frees. The file
 * exists at "uri" only once tn_storage_publish succeeds. */
int tn_storage_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err);
/* Make the file written at "staged" the file at "uri" (for local storage they are the same
 * file already; a remote backend uploads it). */
int tn_storage_publish(struct tn_storage *st, const char *uri, const char *staged,
                       struct tn_err *err);

#endif /* TN_STORAGE_H */
