/* mem.c - allocation that aborts on out-of-memory, and capped growable buffers (see core.h). */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "tarn: out of memory allocating %zu bytes\n", n);
    abort();
}

void *tn_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *tn_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *tn_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *tn_strdup(const char *s)
{
    return tn_strndup(s, strlen(s));
}

char *tn_strndup(const char *s, size_t n)
{
    char *p = tn_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *tn_asprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    p = tn_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static int buf_reserve(struct tn_buf *b, size_t extra, struct tn_err *err)
{
    size_t need = b->len + extra + 1;
    size_t cap;

    if (b->max && b->len + extra > b->max)
        return tn_fail(err, TN_ETOOBIG, "more than %zu bytes", b->max);
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->buf = tn_realloc(b->buf, cap);
    b->cap = cap;
    return 0;
}

int tn_buf_add(struct tn_buf *b, const void *data, size_t n, struct tn_err *err)
{
    int rc = buf_reserve(b, n, err);
    if (rc)
        return rc;
    if (n)
        memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

int tn_buf_addstr(struct tn_buf *b, const char *s, struct tn_err *err)
{
    return tn_buf_add(b, s, strlen(s), err);
}

int tn_buf_addf(struct tn_buf *b, struct tn_err *err, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    rc = buf_reserve(b, (size_t)n, err);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void tn_buf_reset(struct tn_buf *b)
{
    b->len = 0;
    if (b->buf)
        b->buf[0] = '\0';
}

char *tn_buf_detach(struct tn_buf *b, size_t *out_len)
{
    char *p = b->buf ? b->buf : tn_strdup("");
    if (out_len)
        *out_len = b->len;
    b->buf = NULL;
    b->len = b->cap = 0;
    return p;
}

void tn_buf_release(struct tn_buf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}
