/* s3_input.c - ingest's s3:// arguments: `tarn ingest t 's3://bucket/path/x?.csv'` lists the
 * bucket through the storage layer (ListObjectsV2, SigV4), keeps the objects whose keys match
 * the pattern ("*", "?" and "[...]" within one path segment), and downloads each, in ranges, to
 * a spool directory, where the whole-file ingest reads them all into one commit. The endpoint
 * and region are the ones an S3 warehouse takes (--s3-endpoint, TARN_S3_ENDPOINT, ...), the
 * credentials the AWS_* variables the storage layer reads. */
#include "cli/cli.h"
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RANGE_BYTES (16 * 1024 * 1024) /* one ranged GET */

int cli_is_s3_location(const char *arg)
{
    return strncmp(arg, "s3://", 5) == 0 || strncmp(arg, "s3a://", 6) == 0;
}

/* The bucket part of "pattern" (s3://bucket, without a slash) and where its key starts. */
static int split_pattern(const char *pattern, char **bucket_uri, const char **key,
                         struct tn_err *err)
{
    const char *p = strstr(pattern, "://") + 3;
    const char *slash = strchr(p, '/');

    if (!slash || slash == p || !slash[1])
        return tn_fail(err, TN_EINPUT,
                       "%s names no object: give s3://bucket/key, or a pattern such as "
                       "s3://bucket/path/*.csv",
                       pattern);
    *bucket_uri = tn_asprintf("s3://%.*s", (int)(slash - p), p);
    *key = slash + 1;
    return 0;
}

static int by_uri(const void *a, const void *b)
{
    return strcmp(((const struct tn_storage_entry *)a)->uri,
                  ((const struct tn_storage_entry *)b)->uri);
}

/* Copy the object "e" to the new local file "path", RANGE_BYTES at a time. */
static int download(struct tn_storage *st, const struct tn_storage_entry *e, const char *path,
                    struct tn_err *err)
{
    struct tn_buf chunk = TN_BUF_INIT(RANGE_BYTES + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int64_t offset = 0;
    int rc = 0;

    if (fd < 0)
        return tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE), "cannot create %s: %s", path,
                       strerror(errno));
    while (!rc && offset < e->size) {
        tn_buf_reset(&chunk);
        rc = tn_storage_read_range(st, e->uri, offset, RANGE_BYTES, &chunk, err);
        if (!rc && chunk.len == 0)
            rc = tn_fail(err, TN_EUNAVAILABLE,
                         "%s ended after %lld of its %lld bytes: did it change meanwhile?", e->uri,
                         (long long)offset, (long long)e->size);
        for (size_t off = 0; !rc && off < chunk.len;) {
            ssize_t w = write(fd, chunk.buf + off, chunk.len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                rc = tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE),
                             "cannot store %s locally: %s", e->uri, strerror(errno));
            else
                off += (size_t)w;
        }
        offset += (int64_t)chunk.len;
    }
    tn_buf_release(&chunk);
    if (close(fd) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot store %s locally: %s", e->uri, strerror(errno));
    return rc;
}

int cli_s3_fetch(const struct cli *c, const char *pattern, const char *dir, char ***paths,
                 size_t *n, size_t *cap, struct tn_err *err)
{
    struct tn_storage_options so = {0};
    struct tn_storage *st = NULL;
    struct tn_storage_entry *e = NULL;
    const char *key = NULL, *glob_at;
    char *bucket_uri = NULL, *prefix_uri = NULL, *cache = NULL;
    size_t ne = 0, matched = 0, bucket_len;
    int rc = split_pattern(pattern, &bucket_uri, &key, err);

    if (rc)
        return rc;
    bucket_len = strlen(bucket_uri);
    /* list from the last "/" before the first pattern character: the fixed part of the key */
    glob_at = key + strcspn(key, "*?[");
    {
        size_t fixed = (size_t)(glob_at - key);
        if (*glob_at)
            while (fixed && key[fixed - 1] != '/')
                fixed--;
        prefix_uri = tn_asprintf("%s/%.*s", bucket_uri, (int)fixed, key);
    }
    so = c->o.storage; /* endpoint, region, credentials: as for an S3 warehouse */
    so.root = bucket_uri;
    so.cache_dir = cache = tn_asprintf("%s/.s3-cache", dir);
    rc = tn_storage_open(&so, &st, err);
    if (!rc)
        rc = tn_storage_list(st, prefix_uri, &e, &ne, err);
    if (!rc && ne > 1)
        qsort(e, ne, sizeof(*e), by_uri);
    for (size_t i = 0; !rc && i < ne; i++) {
        const char *object_key = e[i].uri + bucket_len + 1;
        const char *base = strrchr(object_key, '/');
        char *local;
        if (strncmp(e[i].uri, bucket_uri, bucket_len) != 0 || e[i].uri[bucket_len] != '/' ||
            fnmatch(key, object_key, FNM_PATHNAME | FNM_PERIOD) != 0)
            continue;
        matched++;
        if (e[i].size == 0) {
            rc = tn_fail(err, TN_EINPUT, "%s is empty: there is nothing to load", e[i].uri);
            break;
        }
        /* the object's own name, for the format its extension says */
        local = tn_asprintf("%s/%zu-%s", dir, *n, base ? base + 1 : object_key);
        rc = download(st, &e[i], local, err);
        if (*n + 2 > *cap)
            *paths = tn_realloc(*paths, (*cap = *cap * 2 + 8) * sizeof(**paths));
        (*paths)[(*n)++] = local; /* kept even after a failure, so that it is removed */
        (*paths)[*n] = NULL;
    }
    if (!rc && matched == 0)
        rc = tn_fail(err, TN_ENOTFOUND, "no object in %s matches %s", bucket_uri, pattern);
    tn_storage_entries_free(e, ne);
    tn_storage_close(st);
    free(bucket_uri);
    free(prefix_uri);
    free(cache);
    return rc;
}

static int remove_visit(const char *path, const struct stat *sb, int type, struct FTW *f)
{
    (void)sb;
    (void)f;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void cli_spool_remove(const char *dir)
{
    nftw(dir, remove_visit, 8, FTW_DEPTH | FTW_PHYS);
}
