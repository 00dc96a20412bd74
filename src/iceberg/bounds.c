/* bounds.c - Iceberg's single-value binary encoding (ICEBERG.md 2.4) for column bounds: encoding
 * a value's text (as DuckDB prints it) or a Parquet min/max statistic, comparing encoded values,
 * and rendering them for people. Dates are proleptic Gregorian, converted with our own civil-date
 * arithmetic (no libc time functions, so no locale or time zone). Pure functions: thread-safe. */
#include "iceberg/iceberg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define US_PER_DAY INT64_C(86400000000)
#define NS_PER_DAY INT64_C(86400000000000)

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/*---- Little-endian and big-endian helpers ----*/

static void put_le(unsigned char *out, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static int64_t get_le_signed(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~UINT64_C(0) << (8 * n); /* sign-extend */
    return (int64_t)v;
}

static float get_float(const unsigned char *p)
{
    uint32_t bits = (uint32_t)get_le_signed(p, 4);
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

static double get_double(const unsigned char *p)
{
    uint64_t bits = (uint64_t)get_le_signed(p, 8);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* A big-endian two's-complement integer of 1 to 16 bytes. */
static i128 get_be_signed(const unsigned char *p, size_t n)
{
    u128 v = (p[0] & 0x80) ? ~(u128)0 : 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return (i128)v;
}

/*---- Civil dates (proleptic Gregorian), after Howard Hinnant's days_from_civil ----*/

/* Days since 1970-01-01 of year y (astronomical: 0 is 1 BC), month m (1..12), day d. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2; /* the year counted from March, so the leap day ends it */
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;                                   /* [0, 399] */
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void tn_date_civil(int64_t days, int64_t *year, int *month)
{
    int d;

    civil_from_days(days, year, month, &d);
}

static int days_in_month(int64_t y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : len[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*---- Text parsers: each advances *p past what it read and returns 0, or -1 ----*/

/* Exactly "n" digits. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" with a year of 4 to 7 digits, an optional leading "-" (astronomical year, as
 * DuckDB accepts) and an optional " (BC)" suffix (as DuckDB prints: 0044-03-15 (BC) is -43). */
static int parse_date(const char **p, int64_t *days)
{
    const char *s = *p;
    int64_t year = 0;
    int neg = 0, ndigits = 0, month, day;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    while (isdigit((unsigned char)*s) && ndigits < 8) {
        year = year * 10 + (*s++ - '0');
        ndigits++;
    }
    if (ndigits < 4 || ndigits > 7 || *s++ != '-' || read_digits(&s, 2, &month) || *s++ != '-' ||
        read_digits(&s, 2, &day))
        return -1;
    if (strncmp(s, " (BC)", 5) == 0) {
        if (neg || year < 1)
            return -1;
        year = 1 - year;
        s += 5;
    } else if (neg) {
        year = -year;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return -1;
    *days = days_from_civil(year, month, day);
    *p = s;
    return 0;
}

/* A fraction of a second after the ".": its first "digits" digits as an integer in units of
 * 10^-digits s, and whether any later digit was non-zero (then "*inexact" is set). */
static int parse_fraction(const char **p, int digits, int64_t *units, int *inexact)
{
    const char *s = *p;
    int64_t v = 0;
    int n = 0;

    *inexact = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++, n++) {
        if (n < digits)
            v = v * 10 + (*s - '0');
        else if (*s != '0')
            *inexact = 1;
    }
    for (; n < digits; n++)
        v *= 10;
    *units = v;
    *p = s;
    return 0;
}

/* "HH:MM:SS[.fff]" into units of 10^-digits seconds since midnight. 24:00:00 is allowed (DuckDB
 * allows it in TIME). Digits past the precision round down, or up when "upper". */
static int parse_time_of_day(const char **p, int digits, int upper, int64_t *out)
{
    const char *s = *p;
    int64_t scale = 1, frac = 0;
    int h, m, sec, inexact = 0;

    for (int i = 0; i < digits; i++)
        scale *= 10;
    if (read_digits(&s, 2, &h) || *s++ != ':' || read_digits(&s, 2, &m) || *s++ != ':' ||
        read_digits(&s, 2, &sec))
        return -1;
    if (*s == '.') {
        s++;
        if (parse_fraction(&s, digits, &frac, &inexact))
            return -1;
    }
    if (h > 24 || m > 59 || sec > 59 || (h == 24 && (m || sec || frac || inexact)))
        return -1;
    *out = ((int64_t)h * 3600 + m * 60 + sec) * scale + frac + (upper && inexact);
    *p = s;
    return 0;
}

/* A UTC offset "+HH[:MM[:SS]]", "-HHMM", or "Z", in seconds east of UTC. */
static int parse_offset(const char **p, int64_t *secs)
{
    const char *s = *p;
    int sign, h, m = 0, sec = 0;

    if (*s == 'Z') {
        *secs = 0;
        *p = s + 1;
        return 0;
    }
    if (*s != '+' && *s != '-')
        return -1;
    sign = *s++ == '-' ? -1 : 1;
    if (read_digits(&s, 2, &h))
        return -1;
    if (*s == ':' || isdigit((unsigned char)*s)) {
        if (*s == ':')
            s++;
        if (read_digits(&s, 2, &m))
            return -1;
        if (*s == ':' || isdigit((unsigned char)*s)) {
            if (*s == ':')
                s++;
            if (read_digits(&s, 2, &sec))
                return -1;
        }
    }
    if (h > 23 || m > 59 || sec > 59)
        return -1;
    *secs = sign * ((int64_t)h * 3600 + m * 60 + sec);
    *p = s;
    return 0;
}

/* "YYYY-MM-DD[ (BC)] HH:MM:SS[.fff][ (BC)][offset]" into units of 10^-digits s since the epoch.
 * An offset is required to be absent unless "tz"; with "tz" an absent offset means UTC. */
static int parse_timestamp(const char *s, int tz, int digits, int upper, int64_t *out)
{
    int64_t days, tod, offset = 0, per_day = digits == 9 ? NS_PER_DAY : US_PER_DAY;
    i128 v;

    if (parse_date(&s, &days) || (*s != ' ' && *s != 'T'))
        return -1;
    s++;
    if (parse_time_of_day(&s, digits, upper, &tod) || tod > per_day)
        return -1;
    if (*s) {
        if (!tz || parse_offset(&s, &offset) || *s)
            return -1;
    }
    v = (i128)days * per_day + tod - (i128)offset * (per_day / 86400);
    if (v > INT64_MAX || v < -INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* A plain number for float/double: [+-]digits[.digits][e[+-]digits] or [+-]inf[inity]. NaN and
 * hexadecimal forms are refused. */
static int parse_floating(const char *s, int is_float, double *out)
{
    const char *p = s;
    char *end;
    int neg = 0, mantissa = 0;
    double d;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    for (; isdigit((unsigned char)*p); p++)
        mantissa = 1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            mantissa = 1;
    if (!mantissa)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return -1;
    /* strtof rounds the text straight to float: going through double could round twice */
    d = is_float ? (double)strtof(s, &end) : strtod(s, &end);
    if (*end || isinf(d))
        return -1;
    *out = d;
    return 0;
}

/* A decimal "[-]digits[.digits]" as an unscaled integer at "scale"; fails when it needs more
 * fraction digits than "scale" (other than trailing zeros) or more than "precision" digits. */
static int parse_decimal(const char *s, int precision, int scale, i128 *out)
{
    u128 v = 0, limit = 1;
    int neg = 0, any = 0, frac = 0;

    for (int i = 0; i < precision; i++)
        limit *= 10;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; isdigit((unsigned char)*s); s++) {
        any = 1;
        if (v >= limit / 10) /* checked first: 10 * v could overflow even 128 bits */
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++) {
            any = 1;
            if (frac == scale) {
                if (*s != '0')
                    return -1;
                continue;
            }
            if (v >= limit / 10)
                return -1;
            v = v * 10 + (unsigned)(*s - '0');
            frac++;
        }
    }
    if (!any || *s)
        return -1;
    for (; frac < scale; frac++) {
        if (v >= limit / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -(i128)v : (i128)v;
    return 0;
}

/* A UUID "8-4-4-4-12" in hexadecimal (either case) into 16 bytes, big-endian. */
static int parse_uuid(const char *s, unsigned char out[16])
{
    int n = 0;

    for (int i = 0; i < 36; i++) {
        int hi, lo;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        hi = tn_hex_value((unsigned char)s[i]);
        lo = hi < 0 ? -1 : tn_hex_value((unsigned char)s[i + 1]);
        if (lo < 0)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return s[36] ? -1 : 0;
}

/* DuckDB's BLOB text: bytes as themselves, except "\xNN" escapes. Keeps the first "cap" bytes
 * in "out"; *total is the full decoded length. */
static int parse_blob(const char *s, unsigned char *out, size_t cap, size_t *total)
{
    size_t n = 0;

    while (*s) {
        int c = (unsigned char)*s;
        if (c == '\\') {
            int hi, lo;
            if (s[1] != 'x' && s[1] != 'X')
                return -1;
            hi = tn_hex_value((unsigned char)s[2]);
            lo = hi < 0 ? -1 : tn_hex_value((unsigned char)s[3]);
            if (lo < 0)
                return -1;
            c = hi << 4 | lo;
            s += 4;
        } else {
            s++;
        }
        if (n < cap)
            out[n] = (unsigned char)c;
        n++;
    }
    *total = n;
    return 0;
}

/*---- UTF-8 ----*/

/* Decode one strict UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF) from the
 * "len" (at least 1) bytes at "s". Returns its length, or 0 when invalid or cut short. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static size_t utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string bound of the "len" bytes at "s", as Iceberg-Java's UnicodeUtil.truncateStringMin/Max
 * with length 16: a string of at most 16 code points is its own bound; a longer one keeps 16 code
 * points, and for an upper bound the last one that can be is incremented (U+D7FF becomes U+E000,
 * skipping the surrogates), dropping the code points after it. Reads at most 17 code points.
 * Returns -1 for invalid UTF-8 and -2 when no upper bound exists (all 16 code points are
 * U+10FFFF). */
static int encode_string(const unsigned char *s, size_t slen, int upper, unsigned char *out,
                         size_t *out_len)
{
    uint32_t cps[TN_BOUND_TRUNCATE];
    size_t ncp = 0, pos = 0, len = 0;

    while (pos < slen && ncp < TN_BOUND_TRUNCATE) {
        size_t n = utf8_decode(s + pos, slen - pos, &cps[ncp]);
        if (!n)
            return -1;
        pos += n;
        ncp++;
    }
    if (upper && pos < slen) {
        uint32_t dummy;
        if (!utf8_decode(s + pos, slen - pos, &dummy))
            return -1;
        for (;;) {
            uint32_t c;
            if (!ncp)
                return -2; /* every code point is U+10FFFF: no upper bound exists */
            c = cps[ncp - 1];
            if (c != 0x10ffff) {
                cps[ncp - 1] = c == 0xd7ff ? 0xe000 : c + 1;
                break;
            }
            ncp--;
        }
    }
    for (size_t i = 0; i < ncp; i++)
        len += utf8_encode(cps[i], out + len);
    *out_len = len;
    return 0;
}

/* A binary or fixed bound of a value of "len" bytes, as Iceberg-Java's
 * BinaryUtil.truncateBinaryMin/Max with length 16 (Java truncates fixed too). Reads only the first
 * 16 bytes of "v", so a caller that knows just those may pass the full length. Returns -1 for a
 * fixed value of the wrong length, and -2 when no upper bound exists (the first 16 bytes are all
 * 0xff). */
static int encode_binary(const struct tn_type *t, const unsigned char *v, size_t len, int upper,
                         unsigned char *out, size_t *out_len)
{
    size_t n = len < TN_BOUND_TRUNCATE ? len : TN_BOUND_TRUNCATE;

    if (t->kind == TN_T_FIXED && len != (size_t)t->length)
        return -1;
    memcpy(out, v, n);
    if (upper && len > TN_BOUND_TRUNCATE) {
        while (n && out[n - 1] == 0xff)
            n--;
        if (!n)
            return -2; /* sixteen 0xff bytes: no upper bound exists */
        out[n - 1]++;
    }
    *out_len = n;
    return 0;
}

/* The unscaled value as a minimal big-endian two's-complement integer (Java's
 * BigInteger.toByteArray). */
static size_t encode_unscaled(i128 v, unsigned char *out)
{
    size_t n = 1;

    while (n < 16) {
        i128 lim = (i128)1 << (8 * n - 1);
        if (v >= -lim && v < lim)
            break;
        n++;
    }
    for (size_t i = 0; i < n; i++)
        out[n - 1 - i] = (unsigned char)((u128)v >> (8 * i));
    return n;
}

/* A bound stored as a little-endian integer: an int or date (4 bytes, when "v" fits), a long,
 * time or timestamp (8 bytes). */
static int encode_integer(const struct tn_type *t, int64_t v, unsigned char *out, size_t *out_len)
{
    int narrow = t->kind == TN_T_INT || t->kind == TN_T_DATE;

    if (narrow && (v < INT32_MIN || v > INT32_MAX))
        return -1;
    *out_len = narrow ? 4 : 8;
    put_le(out, (uint64_t)v, *out_len);
    return 0;
}

/* A float (4 bytes) or double (8 bytes) bound. */
static void encode_floating(const struct tn_type *t, double d, unsigned char *out, size_t *out_len)
{
    if (t->kind == TN_T_FLOAT) {
        float f = (float)d;
        uint32_t bits;
        memcpy(&bits, &f, sizeof(bits));
        put_le(out, bits, 4);
        *out_len = 4;
    } else {
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        put_le(out, bits, 8);
        *out_len = 8;
    }
}

int tn_bound_encode(const struct tn_type *t, const char *text, int upper, unsigned char *out,
                    size_t *out_len, struct tn_err *err)
{
    char tname[64];
    int64_t i64;
    double d;
    i128 dec;
    unsigned char blob[TN_BOUND_TRUNCATE]; /* the first bytes of a binary value */
    size_t blob_len;
    const char *p = text;
    int digits = 6, trunc = 0;

    tn_type_name(t, tname, sizeof(tname));
    if (!text)
        return tn_fail(err, TN_EINPUT, "no %s bound given", tname);
    switch (t->kind) {
    case TN_T_BOOLEAN:
        if (strcasecmp(text, "true") != 0 && strcasecmp(text, "false") != 0)
            break;
        out[0] = strcasecmp(text, "true") == 0;
        *out_len = 1;
        return 0;
    case TN_T_INT:
    case TN_T_LONG:
        if (tn_parse_i64(text, &i64) || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_FLOAT:
    case TN_T_DOUBLE:
        if (strcasecmp(text + (*text == '-' || *text == '+'), "nan") == 0)
            return tn_fail(err, TN_EINPUT, "NaN is never a bound");
        if (parse_floating(text, t->kind == TN_T_FLOAT, &d))
            break;
        encode_floating(t, d, out, out_len);
        return 0;
    case TN_T_DECIMAL:
        if (parse_decimal(text, t->precision, t->scale, &dec))
            break;
        *out_len = encode_unscaled(dec, out);
        return 0;
    case TN_T_DATE:
        if (parse_date(&p, &i64) || *p || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_TIME:
        if (parse_time_of_day(&p, 6, upper, &i64) || *p || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        digits = 9;
        __attribute__((fallthrough));
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
        if (parse_timestamp(text, t->kind == TN_T_TIMESTAMPTZ || t->kind == TN_T_TIMESTAMPTZ_NS,
                            digits, upper, &i64) ||
            encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_STRING:
        trunc = encode_string((const unsigned char *)text, strlen(text), upper, out, out_len);
        if (!trunc)
            return 0;
        break;
    case TN_T_UUID:
        if (parse_uuid(text, out))
            break;
        *out_len = 16;
        return 0;
    case TN_T_FIXED:
    case TN_T_BINARY:
        if (parse_blob(text, blob, sizeof(blob), &blob_len))
            break;
        trunc = encode_binary(t, blob, blob_len, upper, out, out_len);
        if (!trunc)
            return 0;
        break;
    case TN_T_UNKNOWN:
    case TN_T_STRUCT:
    case TN_T_LIST:
    case TN_T_MAP:
        return tn_fail(err, TN_EINPUT, "a %s column has no bounds", tname);
    }
    if (trunc == -2)
        return tn_fail(err, TN_EINPUT, "%s value has no upper bound of at most %d %s", tname,
                       TN_BOUND_TRUNCATE, t->kind == TN_T_STRING ? "characters" : "bytes");
    return tn_fail(err, TN_EINPUT, "\"%.100s%s\" is not a %s value", text,
                   strlen(text) > 100 ? "..." : "", tname);
}

/*---- Parquet statistics (parquet.h) ----*/

/* An INT32 or INT64 statistic: 4 or 8 bytes, little-endian. */
static int parquet_integer(const struct tn_parquet_leaf *leaf, const unsigned char *v, size_t n,
                           int64_t *out)
{
    if (!(leaf->type == TN_PARQUET_INT32 && n == 4) && !(leaf->type == TN_PARQUET_INT64 && n == 8))
        return -1;
    *out = get_le_signed(v, n);
    return 0;
}

/* A TIME or TIMESTAMP statistic in units of 10^-digits s: scaled up exactly, or down rounding
 * outwards (down for a lower bound, up for an upper one). DuckDB's infinite timestamps
 * (+-INT64_MAX) have no Iceberg value, as tn_bound_encode refuses "infinity". */
static int parquet_time(const struct tn_parquet_leaf *leaf, const unsigned char *v, size_t n,
                        int digits, int upper, int64_t *out)
{
    static const int unit_digits[] = {0, 3, 6, 9}; /* by enum tn_parquet_unit */
    int64_t x, scale = 1;
    int from;
    i128 y;

    if (leaf->unit == TN_PARQUET_NO_UNIT || parquet_integer(leaf, v, n, &x) || x == INT64_MAX ||
        x <= -INT64_MAX)
        return -1;
    from = unit_digits[leaf->unit];
    for (int i = 0; i < abs(digits - from); i++)
        scale *= 10;
    if (from <= digits)
        y = (i128)x * scale;
    else
        y = upper ? -floor_div(-x, scale) : floor_div(x, scale);
    if (y > INT64_MAX || y < -INT64_MAX)
        return -1;
    *out = (int64_t)y;
    return 0;
}

/* A DECIMAL statistic's unscaled value: INT32 or INT64, or a byte array of at most 16 bytes,
 * big-endian two's complement. It must have "t"'s scale and fit its precision. */
static int parquet_unscaled(const struct tn_type *t, const struct tn_parquet_leaf *leaf,
                            const unsigned char *v, size_t n, i128 *out)
{
    u128 limit = 1, magnitude;
    int64_t x;

    if (!parquet_integer(leaf, v, n, &x))
        *out = x;
    else if ((leaf->type == TN_PARQUET_BYTE_ARRAY ||
              leaf->type == TN_PARQUET_FIXED_LEN_BYTE_ARRAY) &&
             n >= 1 && n <= 16)
        *out = get_be_signed(v, n);
    else
        return -1;
    for (int i = 0; i < t->precision; i++)
        limit *= 10;
    magnitude = *out < 0 ? (u128)0 - (u128)*out : (u128)*out;
    return leaf->scale == t->scale && magnitude < limit ? 0 : -1;
}

/* Every case either returns the bound or breaks out of the switch to fail. */
int tn_bound_from_parquet(const struct tn_type *t, const struct tn_parquet_leaf *leaf,
                          const unsigned char *v, size_t n, int upper, unsigned char *out,
                          size_t *out_len, struct tn_err *err)
{
    char tname[64];
    int64_t i64;
    double d;
    i128 dec;
    int digits = 6, trunc = 0;

    switch (t->kind) {
    case TN_T_BOOLEAN:
        if (leaf->type != TN_PARQUET_BOOLEAN || n != 1)
            break;
        out[0] = v[0] != 0;
        *out_len = 1;
        return 0;
    case TN_T_INT:
    case TN_T_LONG:
        if (parquet_integer(leaf, v, n, &i64) || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_FLOAT:
    case TN_T_DOUBLE:
        if (leaf->type == TN_PARQUET_FLOAT && n == 4)
            d = get_float(v);
        else if (leaf->type == TN_PARQUET_DOUBLE && n == 8 && t->kind == TN_T_DOUBLE)
            d = get_double(v);
        else
            break;
        if (isnan(d))
            return tn_fail(err, TN_EINPUT, "NaN is never a bound");
        if (d == 0) /* Parquet's rule: a zero min or max may stand for either zero */
            d = upper ? 0.0 : -0.0;
        encode_floating(t, d, out, out_len);
        return 0;
    case TN_T_DECIMAL:
        if (parquet_unscaled(t, leaf, v, n, &dec))
            break;
        *out_len = encode_unscaled(dec, out);
        return 0;
    case TN_T_DATE:
        /* DuckDB's infinite dates are +-INT32_MAX */
        if (leaf->type != TN_PARQUET_INT32 || parquet_integer(leaf, v, n, &i64) ||
            i64 == INT32_MAX || i64 == -INT32_MAX || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_TIME:
        if (parquet_time(leaf, v, n, 6, upper, &i64) || i64 < 0 || i64 > US_PER_DAY ||
            encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        digits = 9;
        __attribute__((fallthrough));
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
        if (parquet_time(leaf, v, n, digits, upper, &i64) || encode_integer(t, i64, out, out_len))
            break;
        return 0;
    case TN_T_STRING:
        if (leaf->type != TN_PARQUET_BYTE_ARRAY)
            break;
        trunc = encode_string(v, n, upper, out, out_len);
        if (!trunc)
            return 0;
        break;
    case TN_T_UUID:
        if (leaf->type != TN_PARQUET_FIXED_LEN_BYTE_ARRAY || n != 16)
            break;
        memcpy(out, v, 16);
        *out_len = 16;
        return 0;
    case TN_T_FIXED:
    case TN_T_BINARY:
        if (leaf->type != TN_PARQUET_BYTE_ARRAY && leaf->type != TN_PARQUET_FIXED_LEN_BYTE_ARRAY)
            break;
        trunc = encode_binary(t, v, n, upper, out, out_len);
        if (!trunc)
            return 0;
        break;
    case TN_T_UNKNOWN:
    case TN_T_STRUCT:
    case TN_T_LIST:
    case TN_T_MAP:
        break;
    }
    tn_type_name(t, tname, sizeof(tname));
    if (trunc == -2)
        return tn_fail(err, TN_EINPUT, "%s value has no upper bound of at most %d %s", tname,
                       TN_BOUND_TRUNCATE, t->kind == TN_T_STRING ? "characters" : "bytes");
    return tn_fail(err, TN_EINPUT,
                   "a Parquet statistic of %zu bytes (physical type %d) is not a %s bound", n,
                   leaf->type, tname);
}

/*---- Comparing ----*/

/* Java's Double.compare: -0.0 < +0.0, NaN above everything and equal to itself. */
static int compare_double(double x, double y)
{
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return !!signbit(y) - !!signbit(x);
}

/* Two's-complement big-endian integers of any lengths. */
static int compare_signed_be(const unsigned char *a, size_t alen, const unsigned char *b,
                             size_t blen)
{
    int aneg = alen && (a[0] & 0x80), bneg = blen && (b[0] & 0x80);
    size_t n = alen > blen ? alen : blen;

    if (aneg != bneg)
        return aneg ? -1 : 1;
    for (size_t i = 0; i < n; i++) {
        int x = i < n - alen ? (aneg ? 0xff : 0) : a[i - (n - alen)];
        int y = i < n - blen ? (bneg ? 0xff : 0) : b[i - (n - blen)];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

static int compare_bytes(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

/* The value of an integer-like bound as a 128-bit number in the column's unit: 4 or 8 bytes,
 * and a 4-byte (date) bound of a timestamp column converted to its micro- or nanoseconds. */
static int integer_value(const struct tn_type *t, const unsigned char *p, size_t len, i128 *out)
{
    if (len != 4 && len != 8)
        return -1;
    *out = get_le_signed(p, len);
    if (len == 4 && (t->kind == TN_T_TIMESTAMP || t->kind == TN_T_TIMESTAMPTZ))
        *out *= US_PER_DAY;
    else if (len == 4 && (t->kind == TN_T_TIMESTAMP_NS || t->kind == TN_T_TIMESTAMPTZ_NS))
        *out *= NS_PER_DAY;
    return 0;
}

int tn_bound_compare(const struct tn_type *t, const unsigned char *a, size_t alen,
                     const unsigned char *b, size_t blen)
{
    i128 x, y;

    switch (t->kind) {
    case TN_T_BOOLEAN:
        if (alen == 1 && blen == 1)
            return (a[0] != 0) - (b[0] != 0);
        break;
    case TN_T_INT:
    case TN_T_LONG:
    case TN_T_DATE:
    case TN_T_TIME:
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        if (!integer_value(t, a, alen, &x) && !integer_value(t, b, blen, &y))
            return x < y ? -1 : x > y;
        break;
    case TN_T_FLOAT:
    case TN_T_DOUBLE:
        if ((alen == 4 || alen == 8) && (blen == 4 || blen == 8))
            return compare_double(alen == 4 ? get_float(a) : get_double(a),
                                  blen == 4 ? get_float(b) : get_double(b));
        break;
    case TN_T_DECIMAL:
        return compare_signed_be(a, alen, b, blen);
    default:
        break;
    }
    return compare_bytes(a, alen, b, blen);
}

/*---- Formatting ----*/

/* Shortest text that reads back as the same value: "1.5", "100.0", "-0.0", "1e+20", "Infinity".
 * Plain notation for decimal exponents -4 to 15, scientific outside them. */
static int format_floating(double d, int is_float, struct tn_buf *b, struct tn_err *err)
{
    char text[64];
    int prec, exp10;

    if (isnan(d))
        return tn_buf_addstr(b, "NaN", err);
    if (isinf(d))
        return tn_buf_addstr(b, d < 0 ? "-Infinity" : "Infinity", err);
    for (prec = 1; prec < 17; prec++) {
        snprintf(text, sizeof(text), "%.*e", prec - 1, d);
        if (is_float ? strtof(text, NULL) == (float)d : strtod(text, NULL) == d)
            break;
    }
    snprintf(text, sizeof(text), "%.*e", prec - 1, d);
    exp10 = (int)strtol(strchr(text, 'e') + 1, NULL, 10);
    if (exp10 < -4 || exp10 > 15) {
        snprintf(text, sizeof(text), "%.*g", prec, d);
        return tn_buf_addstr(b, text, err);
    }
    snprintf(text, sizeof(text), "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 1, d);
    return tn_buf_addstr(b, text, err);
}

static int format_date(int64_t days, struct tn_buf *b, struct tn_err *err)
{
    int64_t y;
    int m, d;

    civil_from_days(days, &y, &m, &d);
    if (y < 0)
        return tn_buf_addf(b, err, "-%04lld-%02d-%02d", (long long)-y, m, d);
    return tn_buf_addf(b, err, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* "HH:MM:SS" plus a fraction without trailing zeros when it is not zero. */
static int format_time(int64_t units, int digits, struct tn_buf *b, struct tn_err *err)
{
    int64_t scale = digits == 9 ? 1000000000 : 1000000;
    int64_t secs = units / scale, frac = units % scale;
    char f[16];
    int n = digits, rc;

    rc = tn_buf_addf(b, err, "%02lld:%02lld:%02lld", (long long)(secs / 3600),
                     (long long)(secs / 60 % 60), (long long)(secs % 60));
    if (rc || !frac)
        return rc;
    snprintf(f, sizeof(f), "%0*lld", digits, (long long)frac);
    while (n > 1 && f[n - 1] == '0')
        n--;
    return tn_buf_addf(b, err, ".%.*s", n, f);
}

static int format_decimal(const struct tn_type *t, const unsigned char *v, size_t len,
                          struct tn_buf *b, struct tn_err *err)
{
    char digits[64];
    u128 mag;
    i128 x;
    int n = 0, neg, rc;

    if (len < 1 || len > 16)
        return -1;
    x = get_be_signed(v, len);
    neg = x < 0;
    mag = neg ? (u128)0 - (u128)x : (u128)x;
    do {
        digits[n++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag);
    while (n <= t->scale)
        digits[n++] = '0';
    if (neg && (rc = tn_buf_addstr(b, "-", err)))
        return rc;
    for (int i = n - 1; i >= 0; i--) {
        char c[2] = {digits[i], '.'};
        rc = tn_buf_add(b, c, i == t->scale && t->scale ? 2 : 1, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int format_hex(const unsigned char *v, size_t len, struct tn_buf *b, struct tn_err *err)
{
    static const char hex[] = "0123456789abcdef";
    int rc = 0;

    for (size_t i = 0; i < len && !rc; i++) {
        char c[2] = {hex[v[i] >> 4], hex[v[i] & 15]};
        rc = tn_buf_add(b, c, 2, err);
    }
    return rc ? rc : tn_buf_add(b, "", 0, err);
}

int tn_bound_format(const struct tn_type *t, const unsigned char *v, size_t len, struct tn_buf *b,
                    struct tn_err *err)
{
    char tname[64];
    int64_t x, per_day, days;
    int digits = 6, rc;

    tn_type_name(t, tname, sizeof(tname));
    switch (t->kind) {
    case TN_T_BOOLEAN:
        if (len != 1)
            break;
        return tn_buf_addstr(b, v[0] ? "true" : "false", err);
    case TN_T_INT:
    case TN_T_LONG:
        if (len != 4 && len != 8)
            break;
        return tn_buf_addf(b, err, "%lld", (long long)get_le_signed(v, len));
    case TN_T_FLOAT:
    case TN_T_DOUBLE:
        if (len != 4 && len != 8)
            break;
        return format_floating(len == 4 ? get_float(v) : get_double(v), len == 4, b, err);
    case TN_T_DECIMAL:
        rc = format_decimal(t, v, len, b, err);
        if (rc >= 0)
            return rc;
        break;
    case TN_T_DATE:
        if (len != 4)
            break;
        return format_date(get_le_signed(v, 4), b, err);
    case TN_T_TIME:
        if (len != 8 || (x = get_le_signed(v, 8)) < 0 || x > US_PER_DAY)
            break;
        return format_time(x, 6, b, err);
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        digits = 9;
        __attribute__((fallthrough));
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
        if (len != 4 && len != 8)
            break;
        per_day = digits == 9 ? NS_PER_DAY : US_PER_DAY;
        x = get_le_signed(v, len);
        days = len == 4 ? x : floor_div(x, per_day);
        rc = format_date(days, b, err);
        if (!rc)
            rc = tn_buf_addstr(b, " ", err);
        if (!rc)
            rc = format_time(len == 4 ? 0 : x - days * per_day, digits, b, err);
        if (!rc && (t->kind == TN_T_TIMESTAMPTZ || t->kind == TN_T_TIMESTAMPTZ_NS))
            rc = tn_buf_addstr(b, "+00:00", err);
        return rc;
    case TN_T_STRING:
        return tn_buf_add(b, v, len, err);
    case TN_T_UUID:
        if (len != 16)
            break;
        for (int i = 0; i < 16; i++) {
            if ((i == 4 || i == 6 || i == 8 || i == 10) && (rc = tn_buf_addstr(b, "-", err)))
                return rc;
            if ((rc = format_hex(v + i, 1, b, err)))
                return rc;
        }
        return 0;
    case TN_T_FIXED:
    case TN_T_BINARY:
        return format_hex(v, len, b, err);
    default:
        return tn_fail(err, TN_EINPUT, "a %s column has no bounds", tname);
    }
    return tn_fail(err, TN_EINPUT, "a bound of %zu bytes is not a valid %s value", len, tname);
}
