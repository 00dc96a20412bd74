/* props.c - hoodie.properties: Java-properties text (java.util.Properties.load) into JSON. */
#include "hudi/hudi.h"

#include <stdlib.h>
#include <string.h>

#define PROPS_MAX_BYTES (16L * 1024 * 1024)

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

/* Append the UTF-8 encoding of code point "cp" to "b". */
static void put_utf8(struct tn_buf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    tn_buf_add(b, u, n, NULL);
}

/* One logical line (continuations joined, escapes kept) from text[*pos..len). */
static void logical_line(const char *text, size_t len, size_t *pos, struct tn_buf *line)
{
    size_t i = *pos;

    while (i < len && is_blank(text[i]))
        i++;
    while (i < len && text[i] != '\n' && text[i] != '\r') {
        if (text[i] == '\\' && i + 1 < len && (text[i + 1] == '\n' || text[i + 1] == '\r')) {
            /* continuation: skip the line end and the next line's leading blanks */
            i++;
            if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
            i++;
            while (i < len && is_blank(text[i]))
                i++;
            continue;
        }
        if (text[i] == '\\' && i + 1 < len) {
            tn_buf_add(line, text + i, 2, NULL);
            i += 2;
            continue;
        }
        tn_buf_add(line, text + i, 1, NULL);
        i++;
    }
    while (i < len && (text[i] == '\n' || text[i] == '\r'))
        i++;
    *pos = i;
}

/* Unescape line[from..to) into "out". */
static int unescape(const char *s, size_t from, size_t to, struct tn_buf *out, struct tn_err *err)
{
    for (size_t i = from; i < to; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= to) {
            if (c != '\\')
                tn_buf_add(out, &c, 1, NULL);
            continue;
        }
        c = s[++i];
        switch (c) {
        case 't':
            tn_buf_addstr(out, "\t", NULL);
            break;
        case 'n':
            tn_buf_addstr(out, "\n", NULL);
            break;
        case 'r':
            tn_buf_addstr(out, "\r", NULL);
            break;
        case 'f':
            tn_buf_addstr(out, "\f", NULL);
            break;
        case 'u': {
            unsigned cp = 0;
            if (i + 4 >= to)
                return tn_fail(err, TN_EINPUT, "hoodie.properties: malformed \\u escape");
            for (int k = 1; k <= 4; k++) {
                char h = s[i + k];
                cp <<= 4;
                if (h >= '0' && h <= '9')
                    cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                    cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    cp |= (unsigned)(h - 'A' + 10);
                else
                    return tn_fail(err, TN_EINPUT, "hoodie.properties: malformed \\u escape");
            }
            if (cp == 0)
                return tn_fail(err, TN_EINPUT, "hoodie.properties: \\u0000 is not allowed");
            put_utf8(out, cp);
            i += 4;
            break;
        }
        default:
            tn_buf_add(out, &c, 1, NULL);
        }
    }
    return 0;
}

int tn_hudi_props_parse(const char *text, size_t len, json_t **out, struct tn_err *err)
{
    json_t *props = json_object();
    size_t pos = 0;
    int rc = 0;

    if (len > PROPS_MAX_BYTES) {
        json_decref(props);
        return tn_fail(err, TN_ETOOBIG, "hoodie.properties is larger than %ld bytes",
                       PROPS_MAX_BYTES);
    }
    if (memchr(text, '\0', len)) {
        json_decref(props);
        return tn_fail(err, TN_EINPUT, "hoodie.properties holds a NUL byte: not a properties file");
    }
    while (!rc && pos < len) {
        struct tn_buf line = TN_BUF_INIT(PROPS_MAX_BYTES);
        struct tn_buf key = TN_BUF_INIT(PROPS_MAX_BYTES), value = TN_BUF_INIT(PROPS_MAX_BYTES);
        size_t k = 0, v;
        logical_line(text, len, &pos, &line);
        if (line.len && line.buf[0] != '#' && line.buf[0] != '!') {
            /* the key ends at the first unescaped '=', ':' or blank */
            while (k < line.len && line.buf[k] != '=' && line.buf[k] != ':' &&
                   !is_blank(line.buf[k]))
                k += line.buf[k] == '\\' && k + 1 < line.len ? 2 : 1;
            v = k;
            while (v < line.len && is_blank(line.buf[v]))
                v++;
            if (v < line.len && (line.buf[v] == '=' || line.buf[v] == ':'))
                v++;
            while (v < line.len && is_blank(line.buf[v]))
                v++;
            rc = unescape(line.buf, 0, k, &key, err);
            if (!rc)
                rc = unescape(line.buf, v, line.len, &value, err);
            if (!rc)
                json_object_set_new(props, key.len ? key.buf : "",
                                    json_stringn(value.len ? value.buf : "", value.len));
        }
        tn_buf_release(&line);
        tn_buf_release(&key);
        tn_buf_release(&value);
    }
    if (rc) {
        json_decref(props);
        return rc;
    }
    *out = props;
    return 0;
}
