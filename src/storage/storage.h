/* storage.h - where table files live. One interface for every backend; today the local
 * filesystem (locations "file:///abs/path", "file:/abs/path" or "/abs/path").
 *
 * Files are immutable once written: tn_storage_write creates a new file and fails if one exists,
 * so a commit never overwrites what a reader may be reading. */
#ifndef TN_STORAGE_H
#define TN_STORAGE_H

#include <stdint.h>

#include "core/core.h"

struct tn_storage;

/* Open the warehouse at "root" (a local path or file:// URI), creating the directory. */
int tn_storage_open(const char *root, struct tn_storage **out, struct tn_err *err);
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

#endif /* TN_STORAGE_H */
