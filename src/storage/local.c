/* local.c - the local-filesystem storage backend (see storage.h). */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tn_storage {
    char *root_path;
    char *root_uri;
};

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

static int mkdirs(char *path, struct tn_err *err)
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

int tn_storage_open(const struct tn_storage_options *opt, struct tn_storage **out,
                    struct tn_err *err)
{
    struct tn_storage *st;
    char *path;
    char resolved[PATH_MAX];
    const char *root = opt->root;
    const char *p = root;
    int rc;

    if (strstr(root, "://") && strncmp(root, "file://", 7) != 0)
        return tn_fail(err, TN_EINPUT, "warehouse '%s': only local warehouses are supported",
                       root);
    if (strncmp(p, "file://", 7) == 0)
        p += 7;
    path = tn_strdup(p);
    rc = mkdirs(path, err);
    if (!rc && !realpath(path, resolved))
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot resolve warehouse %s: %s", path,
                     strerror(errno));
    free(path);
    if (rc)
        return rc;
    st = tn_calloc(1, sizeof(*st));
    st->root_path = tn_strdup(resolved);
    st->root_uri = tn_asprintf("file://%s", resolved);
    *out = st;
    return 0;
}

void tn_storage_close(struct tn_storage *st)
{
    if (!st)
        return;
    free(st->root_path);
    free(st->root_uri);
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

int tn_storage_read(struct tn_storage *st, const char *uri, struct tn_buf *out,
                    struct tn_err *err)
{
    const char *path;
    char chunk[65536];
    int fd, rc;
    ssize_t n;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE,
                       "cannot read %s: %s", path, strerror(errno));
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

int tn_storage_prepare_dir(struct tn_storage *st, const char *uri, struct tn_err *err)
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
        rc = mkdirs(dir, err);
    }
    free(dir);
    return rc;
}

int tn_storage_write(struct tn_storage *st, const char *uri, const void *data, size_t len,
                     struct tn_err *err)
{
    const char *path;
    const char *p = data;
    int fd, rc;

    if ((rc = uri_path(uri, &path, err)) || (rc = tn_storage_prepare_dir(st, uri, err)))
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return tn_fail(err, errno == EEXIST ? TN_EEXISTS : TN_EUNAVAILABLE,
                       "cannot create %s: %s", path, strerror(errno));
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (!rc && fsync(fd))
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot flush %s: %s", path, strerror(errno));
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

int tn_storage_delete(struct tn_storage *st, const char *uri, struct tn_err *err)
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

int tn_storage_size(struct tn_storage *st, const char *uri, int64_t *out, struct tn_err *err)
{
    const char *path;
    struct stat sb;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    if (stat(path, &sb))
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE,
                       "cannot stat %s: %s", path, strerror(errno));
    *out = (int64_t)sb.st_size;
    return 0;
}

int tn_storage_local_path(struct tn_storage *st, const char *uri, char **out,
                          struct tn_err *err)
{
    const char *path;
    int rc;

    (void)st;
    if ((rc = uri_path(uri, &path, err)))
        return rc;
    *out = tn_strdup(path);
    return 0;
}

int tn_storage_stage_path(struct tn_storage *st, const char *uri, char **out, struct tn_err *err)
{
    int rc = tn_storage_prepare_dir(st, uri, err);
    if (!rc)
        rc = tn_storage_local_path(st, uri, out, err);
    return rc;
}

int tn_storage_publish(struct tn_storage *st, const char *uri, const char *staged,
                       struct tn_err *err)
{
    int64_t size;
    (void)staged; /* local files are written in place */
    return tn_storage_size(st, uri, &size, err);
}
