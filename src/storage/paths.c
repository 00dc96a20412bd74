/* paths.c - locations compared as paths: one spelling for every form of a location
 * (tn_path_normalise) and a component-wise "inside" test (tn_path_within), the pieces of the
 * storage sandbox that storage.c applies to every call. Pure string work, no I/O. */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

int tn_path_normalise(const char *uri, char **out, struct tn_err *err)
{
    const char *p = uri, *scheme = "file://";
    struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);
    char *path, *seg, *save = NULL;
    size_t *ends, nends = 0, n = 0;
    int rc = 0;

    if (strncmp(p, "s3://", 5) == 0 || strncmp(p, "s3a://", 6) == 0 ||
        strncmp(p, "s3n://", 6) == 0) {
        scheme = "s3://";
        p = strstr(p, "://") + 3;
    } else if (strncmp(p, "file:", 5) == 0) {
        p += 5;
        if (strncmp(p, "//", 2) == 0 && p[2] != '/') { /* file://host/path: only localhost */
            if (strncmp(p + 2, "localhost/", 10) != 0)
                return tn_fail(err, TN_EINPUT, "location '%.200s' names another host", uri);
            p += 11;
        }
    } else if (strstr(p, "://")) {
        return tn_fail(err, TN_EINPUT,
                       "location '%.200s': only file:// and s3:// locations are supported", uri);
    }
    if (strcmp(scheme, "file://") == 0 && p[0] != '/')
        return tn_fail(err, TN_EINPUT,
                       "location '%.200s' is not an absolute local path; register the table "
                       "with a path map that turns it into file:///...",
                       uri);
    /* percent-escapes decoded: "%2e%2e" is ".." to anyone who decodes it */
    path = tn_malloc(strlen(p) + 1);
    for (const char *s = p; *s; s++) {
        if (s[0] == '%' && tn_hex_value(s[1]) >= 0 && tn_hex_value(s[2]) >= 0) {
            path[n++] = (char)(tn_hex_value(s[1]) * 16 + tn_hex_value(s[2]));
            s += 2;
        } else {
            path[n++] = *s;
        }
    }
    path[n] = '\0';
    for (size_t i = 0; i < n; i++) /* raw or decoded: NUL, newlines and the like */
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
            free(path);
            return tn_fail(err, TN_EINPUT, "location '%.200s' contains a control character", uri);
        }
    tn_buf_addstr(&b, scheme, NULL);
    ends = tn_calloc(n / 2 + 2, sizeof(*ends));
    for (seg = strtok_r(path, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            /* an S3 location keeps its bucket: ".." may not climb out of it */
            if (nends == 0 || (scheme[0] == 's' && nends == 1)) {
                rc = tn_fail(err, TN_EFORBIDDEN, "location '%.200s' climbs above its root", uri);
                break;
            }
            b.len = ends[--nends];
            b.buf[b.len] = '\0';
            continue;
        }
        ends[nends++] = b.len;
        if (scheme[0] == 'f' || nends > 1)
            tn_buf_addstr(&b, "/", NULL);
        tn_buf_addstr(&b, seg, NULL);
    }
    if (!rc && nends == 0 && scheme[0] == 'f')
        tn_buf_addstr(&b, "/", NULL);
    if (!rc && nends == 0 && scheme[0] == 's')
        rc = tn_fail(err, TN_EINPUT, "location '%.200s' names no bucket", uri);
    free(ends);
    free(path);
    if (rc) {
        tn_buf_release(&b);
        return rc;
    }
    *out = b.buf;
    return 0;
}

int tn_path_within(const char *root, const char *path)
{
    size_t n = strlen(root);

    while (n && root[n - 1] == '/')
        n--;
    if (strncmp(path, root, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/';
}
