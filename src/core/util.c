/* util.c - UUIDs, random bytes, clocks, number parsing and table-name validation (see core.h). */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void tn_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            perror("tarn: getrandom");
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}

void tn_uuid4(char out[37])
{
    unsigned char b[16];

    tn_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int64_t tn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double tn_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tn_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int tn_name_check(const char *what, const char *name, char *out, struct tn_err *err)
{
    size_t n = strlen(name);

    if (n == 0)
        return tn_fail(err, TN_EINPUT, "%s name is empty", what);
    if (n > TN_NAME_MAX)
        return tn_fail(err, TN_EINPUT, "%s name is longer than %d characters", what, TN_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)name[i]);
        int ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok || (unsigned char)name[i] >= 0x80)
            return tn_fail(err, TN_EINPUT,
                           "invalid %s name '%.*s': use letters, digits and '_', not starting "
                           "with a digit",
                           what, (int)(n > 64 ? 64 : n), name);
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

static int ident_split(const char *ident, char ns[TN_NAME_MAX + 1], char table[TN_NAME_MAX + 1],
                       struct tn_err *err)
{
    const char *dot = strchr(ident, '.');
    char part[TN_NAME_MAX + 2];
    size_t n;

    if (!dot) {
        memcpy(ns, "default", sizeof("default"));
        return tn_name_check("table", ident, table, err);
    }
    n = (size_t)(dot - ident);
    if (n > TN_NAME_MAX)
        return tn_fail(err, TN_EINPUT, "namespace name is longer than %d characters", TN_NAME_MAX);
    memcpy(part, ident, n);
    part[n] = '\0';
    if (tn_name_check("namespace", part, ns, err))
        return err->code;
    return tn_name_check("table", dot + 1, table, err);
}

int tn_ident_parse(const char *ident, char ns[TN_NAME_MAX + 1], char table[TN_NAME_MAX + 1],
                   struct tn_err *err)
{
    if (ident_split(ident, ns, table, err))
        return tn_fail(err, TN_EINPUT,
                       "invalid table name '%.64s': use [namespace.]table, each of letters, "
                       "digits and '_', not starting with a digit, at most %d characters",
                       ident, TN_NAME_MAX);
    return 0;
}

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

int32_t tn_murmur3_32(const void *data, size_t n)
{
    const unsigned char *p = data;
    const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    uint32_t h = 0, k;
    size_t i = 0;

    for (; i + 4 <= n; i += 4) {
        k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
            (uint32_t)p[i + 3] << 24;
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64;
    }
    k = 0;
    switch (n & 3) {
    case 3:
        k ^= (uint32_t)p[i + 2] << 16;
        __attribute__((fallthrough));
    case 2:
        k ^= (uint32_t)p[i + 1] << 8;
        __attribute__((fallthrough));
    case 1:
        k ^= p[i];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        break;
    default:
        break;
    }
    h ^= (uint32_t)n;
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return (int32_t)h;
}

int tn_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const int64_t max_ms = 100LL * 366 * 86400000;
    int64_t v = 0;
    const char *p = s;

    if (!s)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > max_ms)
            return -1;
    }
    if (p == s)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].unit) == 0) {
            if (v > max_ms / units[i].ms)
                return -1;
            *out = v * units[i].ms;
            return 0;
        }
    }
    return -1;
}

int tn_parse_size(const char *s, int64_t *out)
{
    uint64_t v = 0, mult = 1;
    const char *p = s;

    if (!s || !*s)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s)
        return -1;
    if (*p) {
        switch (*p | 0x20) {
        case 'k':
            mult = 1ULL << 10;
            break;
        case 'm':
            mult = 1ULL << 20;
            break;
        case 'g':
            mult = 1ULL << 30;
            break;
        case 't':
            mult = 1ULL << 40;
            break;
        case 'b':
            break;
        default:
            return -1;
        }
        p++;
        if (*p == 'i' || *p == 'I')
            p++;
        if (*p == 'b' || *p == 'B')
            p++;
        if (*p)
            return -1;
    }
    if (v > (uint64_t)INT64_MAX / mult)
        return -1;
    *out = (int64_t)(v * mult);
    return 0;
}

int tn_secret_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = (unsigned char)(na != nb);

    for (size_t i = 0; i < na; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return diff == 0;
}

int tn_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
