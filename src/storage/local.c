/* local.c - the local-filesystem storage backend (see storage.h): locations are file:// URIs
 * or absolute paths, files are written in place and flushed. Stateless, so thread-safe. */
#include "storage_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The local path a location names, or an error for locations that are not local. */
static int uri_path(const char *uri, const char **out, struct tn_err *err)
{
    if (strncmp(uri, "file://", 7) == 0)
        uri += 7;
    else if (strncmp(uri, "file:", 5) == 0)
        uri += 5;
    if (uri[0] != '/')
        return tn_fail(err, TN_EINPUT,
                       "location '%.200s' is not an absolute local path; register the table "
                       "with a path map that turns it into file:///...",
                       uri);
    if (strstr(uri, "/../") || (strlen(uri) >= 3 && strcmp(uri + strlen(uri) - 3, "/..") == 0))
        return tn_fail(err, TN_EINPUT, "location '%.200s' contains '..'", uri);
    *out = uri;
    return 0;
}

/* Open the local file a location names for reading: its path in *path, the descriptor in *fd. */
static int open_local(const char *uri, const char **path, int *fd, struct tn_err *err)
{
    int rc = uri_path(uri, path, err);

    if (rc)
        return rc;
    *fd = open(*path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE, "cannot read %s: %s",
                       *path, strerror(errno));
    return 0;
}

static int local_read(struct tn_storage *st, const char *uri, struct tn_buf *out,
                      struct tn_err *err)
{
    const char *path;
    char chunk[65536];
    int fd, rc;
    ssize_t n;

    (void)st;
    if ((rc = open_local(uri, &path, &fd, err)))
        return rc;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = tn_fail(err, TN_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if ((rc = tn_buf_add(out, chunk, (size_t)n, err))) {
            tn_err_prefix(err, "%s: ", path);
            break;
        }
    }
    close(fd);
    return rc;
}

static int local_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    const char *path;
    char *dir, *slash;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    dir = tn_strdup(path);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        rc = tn__mkdirs(dir, err);
    }
    free(dir);
    return rc;
}

/* Create the file at "uri" with "data"; flushed to disk before returning when "flush" is set
 * (else its writeback is only started: local_flush finishes it). */
static int create_file(struct tn_storage *st, const char *uri, const void *data, size_t len,
                       int flush, struct tn_err *err)
{
    const char *path;
    const char *p = data;
    int fd, rc;

    if ((rc = uri_path(uri, &path, err)) || (rc = local_prepare_dir(st, uri, err)))
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return tn_fail(err,
                       errno == EEXIST ? TN_EEXISTS : tn_err_from_errno(errno, TN_EUNAVAILABLE),
                       "cannot create %s: %s", path, strerror(errno));
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE), "cannot write %s: %s",
                         path, strerror(errno));
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (!rc && flush)
        rc = tn__fault_check(st->fault, TN_FAULT_FSYNC, uri, err);
    if (!rc && flush && fsync(fd))
        rc = tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE), "cannot flush %s: %s", path,
                     strerror(errno));
    if (!rc && !flush)
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint: local_flush makes sure */
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

static int local_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                       struct tn_err *err)
{
    return create_file(st, uri, data, len, 1, err);
}

static int local_write_unflushed(struct tn_storage *st, const char *uri, const void *data,
                                 size_t len, struct tn_err *err)
{
    return create_file(st, uri, data, len, 0, err);
}

/* Flush files written unflushed. Their writeback was started as each was written, so their
 * blocks are allocated in the file system's running journal transaction: the first fsync
 * commits it for all of them, and the others only wait for their data. */
static int local_flush(struct tn_storage *st, const char *const *uris, size_t n, struct tn_err *err)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < n; i++) {
        const char *path;
        int fd;
        if ((rc = open_local(uris[i], &path, &fd, err)))
            break;
        rc = tn__fault_check(st->fault, TN_FAULT_FSYNC, uris[i], err);
        if (!rc && fsync(fd))
            rc = tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE), "cannot flush %s: %s",
                         path, strerror(errno));
        close(fd);
    }
    return rc;
}

static int local_delete(struct tn_storage *st, const char *uri, struct tn_err *err)
{
    const char *path;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    if (unlink(path) && errno != ENOENT)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot delete %s: %s", path, strerror(errno));
    return 0;
}

static int local_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err)
{
    const char *path;
    struct stat sb;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    if (stat(path, &sb))
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE, "cannot stat %s: %s",
                       path, strerror(errno));
    *out = (int64_t)sb.st_size;
    return 0;
}

static int local_local_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    const char *path;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    *out = tn_strdup(path);
    return 0;
}

static int local_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    int rc = local_prepare_dir(st, uri, err);
    if (!rc)
        rc = local_local_path(st, uri, out, err);
    return rc;
}

/* Local files are written in place (by DuckDB, for data files): publishing one flushes it to disk,
 * so that a commit never names a file a power loss could take back. On Linux file systems that
 * flush also makes the new file's directory entry durable. */
static int local_publish(struct tn_storage *st, const char *uri, const char *staged,
                         struct tn_err *err)
{
    const char *path;
    int fd, rc;

    (void)staged;
    if ((rc = open_local(uri, &path, &fd, err)))
        return rc;
    rc = tn__fault_check(st->fault, TN_FAULT_FSYNC, uri, err);
    if (!rc && fsync(fd))
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot flush %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int local_read_range(struct tn_storage *st, const char *uri, int64_t offset, int64_t len,
                            struct tn_buf *out, struct tn_err *err)
{
    const char *path;
    char chunk[65536];
    int fd, rc;

    (void)st;
    if ((rc = open_local(uri, &path, &fd, err)))
        return rc;
    while (len > 0) {
        size_t want = len < (int64_t)sizeof(chunk) ? (size_t)len : sizeof(chunk);
        ssize_t n = pread(fd, chunk, want, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tn_fail(err, TN_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if ((rc = tn_buf_add(out, chunk, (size_t)n, err))) {
            tn_err_prefix(err, "%s: ", path);
            break;
        }
        offset += n;
        len -= n;
    }
    close(fd);
    return rc;
}

static int local_remove_many(struct tn_storage *st, const char *const *uris, size_t n,
                             struct tn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = local_delete(st, uris[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

static int local_prefetch(struct tn_storage *st, const char *const *uris, const int64_t *sizes,
                          size_t n, struct tn_err *err)
{
    (void)st;
    (void)uris;
    (void)sizes;
    (void)n;
    (void)err;
    return 0; /* local files need no fetching */
}

/* The directory walk behind local_list; nftw takes no context, so it lives in a thread-local. */
struct list_state {
    struct tn_storage_entry *e;
    size_t n, cap;
    const char *prefix; /* the path prefix every entry must start with */
};
static _Thread_local struct list_state *list_current;

static int list_visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    struct list_state *ls = list_current;

    (void)ftw;
    if (flag != FTW_F || strncmp(path, ls->prefix, strlen(ls->prefix)) != 0)
        return 0;
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 64;
        ls->e = tn_realloc(ls->e, ls->cap * sizeof(*ls->e));
    }
    ls->e[ls->n].uri = tn_asprintf("file://%s", path);
    ls->e[ls->n].size = (int64_t)sb->st_size;
    ls->e[ls->n].mtime_ms =
        (int64_t)sb->st_mtim.tv_sec * 1000 + (int64_t)sb->st_mtim.tv_nsec / 1000000;
    ls->n++;
    return 0;
}

static int local_list(struct tn_storage *st, const char *prefix_uri, struct tn_storage_entry **out,
                      size_t *out_n, struct tn_err *err)
{
    struct list_state ls = {0};
    const char *prefix;
    char *dir, *slash;
    struct stat sb;
    int rc;

    (void)st;
    if ((rc = uri_path(prefix_uri, &prefix, err)))
        return rc;
    /* walk the deepest directory the prefix names whole */
    dir = tn_strdup(prefix);
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
    }
    ls.prefix = prefix;
    list_current = &ls;
    if (stat(dir, &sb) == 0 && nftw(dir, list_visit, 16, FTW_PHYS) != 0)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot list %s: %s", dir, strerror(errno));
    list_current = NULL;
    free(dir);
    if (rc) {
        tn_storage_entries_free(ls.e, ls.n);
        return rc;
    }
    *out = ls.e;
    *out_n = ls.n;
    return 0;
}

static void local_close(struct tn_storage *st)
{
    (void)st;
}

static const struct tn_storage_ops local_ops = {
    .name = "local",
    .close = local_close,
    .read = local_read,
    .read_range = local_read_range,
    .write = local_write,
    .write_unflushed = local_write_unflushed,
    .flush = local_flush,
    .remove = local_delete,
    .remove_many = local_remove_many,
    .size = local_size,
    .local_path = local_local_path,
    .prepare_dir = local_prepare_dir,
    .stage_path = local_stage_path,
    .publish = local_publish,
    .prefetch = local_prefetch,
    .list = local_list,
};

int tn__local_open(const char *root, struct tn_storage *st, struct tn_err *err)
{
    char *path;
    char resolved[PATH_MAX];
    const char *p = root;
    int rc;

    if (strncmp(p, "file://", 7) == 0)
        p += 7;
    path = tn_strdup(p);
    rc = tn__mkdirs(path, err);
    if (!rc && !realpath(path, resolved))
        rc =
            tn_fail(err, TN_EUNAVAILABLE, "cannot resolve warehouse %s: %s", path, strerror(errno));
    free(path);
    if (rc)
        return rc;
    st->ops = &local_ops;
    st->root_path = tn_strdup(resolved);
    st->root_uri = tn_asprintf("file://%s", resolved);
    return 0;
}
