/* core.h - the bottom layer every tarn module uses: errors, growable capped buffers, allocation
 * that aborts on out-of-memory, UUIDs, clocks and name validation.
 *
 * Errors: a function that can fail returns 0 or a TN_E* code and fills the caller's struct tn_err.
 * One table (TN_ERR_MAP) maps each code to the stable type name used in JSON error bodies, the HTTP
 * status and the command-line exit status, so the three can never drift apart. */
#ifndef TN_CORE_H
#define TN_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h" /* TN_CAP_*: the caps of TN_BUF_INIT */

#define TN_UNUSED       __attribute__((unused))
#define TN_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* clang-format off */
/*      code              type name (Iceberg's where one fits)   http  exit */
#define TN_ERR_MAP(X)                                                       \
    X(TN_EINPUT,          "BadRequestException",            400,  2)        \
    X(TN_EAUTH,           "NotAuthorizedException",         401,  2)        \
    X(TN_EFORBIDDEN,      "ForbiddenException",             403,  2)        \
    X(TN_ENOTABLE,        "NoSuchTableException",           404,  3)        \
    X(TN_ENONAMESPACE,    "NoSuchNamespaceException",       404,  3)        \
    X(TN_ENOVIEW,         "NoSuchViewException",            404,  3)        \
    X(TN_ENOTFOUND,       "NotFoundException",              404,  3)        \
    X(TN_EEXISTS,         "AlreadyExistsException",         409,  4)        \
    X(TN_ECONFLICT,       "CommitFailedException",          409,  4)        \
    X(TN_ENOTEMPTY,       "NamespaceNotEmptyException",     409,  4)        \
    X(TN_ETOOBIG,         "PayloadTooLargeException",       413,  2)        \
    X(TN_EMEDIATYPE,      "UnsupportedMediaTypeException",  415,  2)        \
    X(TN_EUNPROCESSABLE,  "UnprocessableEntityException",   422,  2)        \
    X(TN_ENOTIMPL,        "NotImplementedException",        501,  2)        \
    X(TN_EUPSTREAM,       "BadGatewayException",            502,  5)        \
    X(TN_EUNAVAILABLE,    "ServiceUnavailableException",    503,  5)        \
    X(TN_ENOSPACE,        "InsufficientStorageException",   507,  5)        \
    X(TN_EINTERNAL,       "InternalServerError",            500, 70)
/* clang-format on */

enum tn_err_code {
    TN_OK = 0,
#define TN_ERR_ENUM(code, name, http, exit) code,
    TN_ERR_MAP(TN_ERR_ENUM)
#undef TN_ERR_ENUM
};

struct tn_err {
    int code;
    char msg[512];
};

/* Fill "err" (which may be NULL) with "code" and a formatted message; return "code". */
int tn_fail(struct tn_err *err, int code, const char *fmt, ...) TN_PRINTF(3, 4);
/* Put formatted context in front of the message already in "err". */
void tn_err_prefix(struct tn_err *err, const char *fmt, ...) TN_PRINTF(2, 3);
const char *tn_err_type(int code);
int tn_err_http_status(int code);
int tn_err_exit_status(int code);
/* The code of a failed write's errno: TN_ENOSPACE when the disk or the quota is full (ENOSPC,
 * EDQUOT), else "fallback". */
int tn_err_from_errno(int e, int fallback);
/* Give an error that says the disk is full (TN_ENOSPACE: from errno, or from DuckDB's IO
 * error, engine/errors.c) tarn's one message for it, the original kept in parentheses. */
void tn_err_disk_full(struct tn_err *err);

/*---- Allocation: every allocator aborts on out-of-memory, so callers never test for NULL ----*/
void *tn_malloc(size_t n);
void *tn_calloc(size_t count, size_t size);
void *tn_realloc(void *p, size_t n);
char *tn_strdup(const char *s);
char *tn_strndup(const char *s, size_t n);
char *tn_asprintf(const char *fmt, ...) TN_PRINTF(1, 2);

/*---- Buffers: a growable byte buffer with a hard cap; growing past "max" is an error ----*/
struct tn_buf {
    char *buf; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* 0 means unbounded (only for data the program itself produces) */
};
#define TN_BUF_INIT(maxbytes)                                                                      \
    {                                                                                              \
        NULL, 0, 0, (maxbytes)                                                                     \
    } /* a TN_CAP_* of limits.h */

int tn_buf_add(struct tn_buf *b, const void *data, size_t n, struct tn_err *err);
int tn_buf_addf(struct tn_buf *b, struct tn_err *err, const char *fmt, ...) TN_PRINTF(3, 4);
int tn_buf_addstr(struct tn_buf *b, const char *s, struct tn_err *err);
void tn_buf_reset(struct tn_buf *b);
/* Hand the contents to the caller (free with free()); the buffer becomes empty. */
char *tn_buf_detach(struct tn_buf *b, size_t *out_len);
void tn_buf_release(struct tn_buf *b);

/*---- Identity and time ----*/
/* A random (version 4) UUID in its 36-character text form, written into "out" (37 bytes). */
void tn_uuid4(char out[37]);
/* Fill "out" with "n" random bytes from the kernel. */
void tn_random_bytes(void *out, size_t n);
int64_t tn_now_ms(void);
double tn_monotonic_s(void);

/*---- Names ----*/
#define TN_NAME_MAX 128
/* Table and namespace names: case-folded to lowercase, then [a-z_][a-z0-9_]* and at most 128
 * characters. Writes the folded name to "out" (TN_NAME_MAX + 1 bytes). */
int tn_name_check(const char *what, const char *name, char *out, struct tn_err *err);
/* Split "ns.table" (or "table", namespace "default") into checked, folded parts. */
int tn_ident_parse(const char *ident, char ns[TN_NAME_MAX + 1], char table[TN_NAME_MAX + 1],
                   struct tn_err *err);

/* MurmurHash3 x86_32 of "n" bytes with seed 0, as Iceberg's bucket transform uses it. */
int32_t tn_murmur3_32(const void *data, size_t n);

/* Parse a size: digits with an optional unit K, M, G or T (powers of 1024; "KB", "KiB" and
 * "B" spellings too); 0 on success. */
int tn_parse_size(const char *s, int64_t *out);
/* 1 when the strings are equal, compared in time that depends only on their lengths, so a
 * secret cannot be guessed byte by byte from timings. */
int tn_secret_equal(const char *a, const char *b);
/* The value of hexadecimal digit "c", or -1. */
int tn_hex_value(int c);
/* Parse a duration: digits with a unit ms, s, m, h or d ("90s", "1d"; bare digits are
 * seconds) into milliseconds, at most 100 years; 0 on success. */
int tn_parse_duration_ms(const char *s, int64_t *out);
/* Parse a whole decimal int64 ("-12"); 0 on success. */
int tn_parse_i64(const char *s, int64_t *out);

#endif /* TN_CORE_H */
