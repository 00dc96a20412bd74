/* cursor.c - the cursors of paged reads (POST /query, GET /tables/{t}/rows): an opaque token
 * that carries the next page's offset and the snapshot each tarn table was read at by the first
 * page, so that later pages read the same data while writers commit. A cursor is the hex of its
 * JSON payload and of an HMAC-SHA256 of it under a key this server process draws at random:
 * a changed byte, a cursor of another query or of another server run is refused (400). */
#include "http/http.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_VERSION 1
#define CURSOR_MAX     (64 * 1024) /* hex characters a cursor may have */

static unsigned char key[32];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void key_draw(void)
{
    tn_random_bytes(key, sizeof(key));
}

static void mac_of(const char *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;

    pthread_once(&key_once, key_draw);
    HMAC(EVP_sha256(), key, (int)sizeof(key), (const unsigned char *)data, n, out, &len);
}

/* The SQL text's digest, so that a cursor serves only the query it was made for. */
static char *sql_digest(const char *sql)
{
    unsigned char md[32];
    unsigned int len = 32;
    char *hex = tn_calloc(1, 65);

    EVP_Digest(sql, strlen(sql), md, &len, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

static void hex_add(struct tn_buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tn_buf_addf(b, NULL, "%02x", p[i]);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "n" hex characters into n / 2 bytes at "out"; -1 for a character that is not lowercase hex. */
static int hex_decode(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}

char *tn_cursor_make(const char *sql, int64_t offset, const json_t *pins)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    unsigned char mac[32];
    char *digest = sql_digest(sql);
    json_t *payload = json_pack("{s:i, s:s, s:I, s:O}", "v", CURSOR_VERSION, "q", digest, "o",
                                (json_int_t)offset, "p", (json_t *)pins);
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);

    json_decref(payload);
    free(digest);
    mac_of(text, strlen(text), mac);
    hex_add(&b, (const unsigned char *)text, strlen(text));
    tn_buf_addstr(&b, ".", NULL);
    hex_add(&b, mac, sizeof(mac));
    free(text);
    return tn_buf_detach(&b, NULL);
}

int tn_cursor_read(const char *cursor, const char *sql, int64_t *offset, json_t **pins,
                   struct tn_err *err)
{
    const char *dot = strchr(cursor, '.');
    size_t n = dot ? (size_t)(dot - cursor) : 0;
    unsigned char mac[32], given[32];
    char *text = NULL, *digest = NULL;
    json_t *payload = NULL, *o, *p;
    int rc = 0;

    *pins = NULL;
    if (!dot || n == 0 || n % 2 || n > CURSOR_MAX || strlen(dot + 1) != 64 ||
        hex_decode(dot + 1, 64, given))
        return tn_fail(err, TN_EINPUT,
                       "\"cursor\" is not a cursor this server made: pass the "
                       "next_cursor of the previous page as it was");
    text = tn_calloc(1, n / 2 + 1);
    if (hex_decode(cursor, n, (unsigned char *)text))
        rc = tn_fail(err, TN_EINPUT,
                     "\"cursor\" is not a cursor this server made: pass the "
                     "next_cursor of the previous page as it was");
    if (!rc) {
        mac_of(text, n / 2, mac);
        if (CRYPTO_memcmp(mac, given, sizeof(mac)) != 0)
            rc = tn_fail(err, TN_EINPUT,
                         "\"cursor\" was changed, or made by another run of this server: start "
                         "again from the first page");
    }
    if (!rc)
        payload = json_loads(text, 0, NULL);
    o = json_object_get(payload, "o");
    p = json_object_get(payload, "p");
    if (!rc && (!json_is_integer(o) || json_integer_value(o) < 0 || !json_is_object(p) ||
                json_integer_value(json_object_get(payload, "v")) != CURSOR_VERSION))
        rc = tn_fail(err, TN_EINPUT, "\"cursor\" is not a cursor of this server's version");
    if (!rc) {
        const char *q = json_string_value(json_object_get(payload, "q"));
        digest = sql_digest(sql);
        if (!q || strcmp(digest, q) != 0)
            rc = tn_fail(err, TN_EINPUT,
                         "\"cursor\" belongs to another query: send the same sql with it");
    }
    if (!rc) {
        *offset = (int64_t)json_integer_value(o);
        *pins = json_incref(p);
    }
    json_decref(payload);
    free(digest);
    free(text);
    return rc;
}
