/* err.c - tarn's error values: fill, prefix and map to HTTP and exit statuses (see core.h). */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct err_info {
    int code;
    const char *type;
    int http;
    int exit;
};

static const struct err_info err_table[] = {
#define TN_ERR_ROW(code, name, http, exit) {code, name, http, exit},
    TN_ERR_MAP(TN_ERR_ROW)
#undef TN_ERR_ROW
};

static const struct err_info *err_find(int code)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return &err_table[sizeof(err_table) / sizeof(err_table[0]) - 1];
}

int tn_fail(struct tn_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void tn_err_prefix(struct tn_err *err, const char *fmt, ...)
{
    char prefix[sizeof(err->msg)];
    char joined[2 * sizeof(err->msg)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof(joined), "%s%s", prefix, err->msg);
    memcpy(err->msg, joined, sizeof(err->msg) - 1);
    err->msg[sizeof(err->msg) - 1] = '\0';
}

const char *tn_err_type(int code)
{
    return err_find(code)->type;
}

int tn_err_http_status(int code)
{
    return err_find(code)->http;
}

int tn_err_exit_status(int code)
{
    return err_find(code)->exit;
}

int tn_err_from_errno(int e, int fallback)
{
    return e == ENOSPC || e == EDQUOT ? TN_ENOSPACE : fallback;
}

#define DISK_FULL_MSG                                                                              \
    "the server ran out of disk space: free some space on the disk that holds the warehouse "      \
    "(and its .tmp directory) and try again"

void tn_err_disk_full(struct tn_err *err)
{
    char detail[sizeof(err->msg)];

    if (!err || strncmp(err->msg, DISK_FULL_MSG, sizeof(DISK_FULL_MSG) - 1) == 0)
        return;
    if (err->code != TN_ENOSPACE)
        return;
    memcpy(detail, err->msg, sizeof(detail));
    tn_fail(err, TN_ENOSPACE, DISK_FULL_MSG " (%.300s)", detail);
}
