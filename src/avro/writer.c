/* writer.c - write Avro object container files (see avro.h): the header with the caller's writer
 * schema stored verbatim, blocks of caller-encoded records compressed with the null, deflate or
 * zstandard codec, and the binary encoding primitives. A writer is used by one thread at a time;
 * its buffers are unbounded because everything in them comes from the program itself. */
#include "avro.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>
#include <zstd.h>

/* A block is written once its uncompressed records pass this size. */
#define BLOCK_BYTES (64 * 1024)
#define ZSTD_LEVEL  3

static const char magic[4] = {'O', 'b', 'j', 1};

/*---- Binary encoding primitives ----*/

void tn_avro_put_long(struct tn_buf *b, int64_t v)
{
    /* zig-zag: 0, -1, 1, -2, ... map to 0, 1, 2, 3, ... */
    uint64_t u = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
    unsigned char tmp[10];
    size_t n = 0;

    while (u >= 0x80) {
        tmp[n++] = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    tmp[n++] = (unsigned char)u;
    tn_buf_add(b, tmp, n, NULL);
}

void tn_avro_put_bool(struct tn_buf *b, int v)
{
    unsigned char c = v ? 1 : 0;
    tn_buf_add(b, &c, 1, NULL);
}

void tn_avro_put_float(struct tn_buf *b, float v)
{
    uint32_t u;
    unsigned char tmp[4];

    memcpy(&u, &v, sizeof(u));
    for (int i = 0; i < 4; i++)
        tmp[i] = (unsigned char)(u >> (8 * i));
    tn_buf_add(b, tmp, sizeof(tmp), NULL);
}

void tn_avro_put_double(struct tn_buf *b, double v)
{
    uint64_t u;
    unsigned char tmp[8];

    memcpy(&u, &v, sizeof(u));
    for (int i = 0; i < 8; i++)
        tmp[i] = (unsigned char)(u >> (8 * i));
    tn_buf_add(b, tmp, sizeof(tmp), NULL);
}

void tn_avro_put_bytes(struct tn_buf *b, const void *p, size_t n)
{
    tn_avro_put_long(b, (int64_t)n);
    tn_buf_add(b, p, n, NULL);
}

void tn_avro_put_string(struct tn_buf *b, const char *s)
{
    tn_avro_put_bytes(b, s, strlen(s));
}

void tn_avro_put_fixed(struct tn_buf *b, const void *p, size_t n)
{
    tn_buf_add(b, p, n, NULL);
}

/*---- Container ----*/

static const char *codec_name(enum tn_avro_codec codec)
{
    switch (codec) {
    case TN_AVRO_CODEC_NULL:
        return "null";
    case TN_AVRO_CODEC_DEFLATE:
        return "deflate";
    case TN_AVRO_CODEC_ZSTD:
        return "zstandard";
    case TN_AVRO_CODEC_SNAPPY:
        break;
    }
    return NULL;
}

static void put_meta(struct tn_buf *b, const char *key, const char *value)
{
    tn_avro_put_string(b, key);
    tn_avro_put_bytes(b, value, strlen(value)); /* metadata values are Avro bytes */
}

int tn_avro_writer_init(struct tn_avro_writer *w, const char *schema_json,
                        const struct tn_avro_meta *meta, enum tn_avro_codec codec,
                        struct tn_err *err)
{
    const char *cname = codec_name(codec);
    json_error_t jerr;
    json_t *parsed;
    int64_t nmeta = 2;

    memset(w, 0, sizeof(*w));
    if (!cname)
        return tn_fail(err, TN_EINTERNAL,
                       "avro: the writer supports the null, deflate and "
                       "zstandard codecs only");
    /* Catch a broken schema here rather than in every reader of the file. */
    parsed = json_loads(schema_json, JSON_DECODE_ANY, &jerr);
    if (!parsed)
        return tn_fail(err, TN_EINTERNAL, "avro: writer schema is not JSON (line %d: %s)",
                       jerr.line, jerr.text);
    json_decref(parsed);
    for (const struct tn_avro_meta *m = meta; m && m->key; m++) {
        if (strncmp(m->key, "avro.", 5) == 0)
            return tn_fail(err, TN_EINTERNAL, "avro: metadata key \"%s\" is reserved", m->key);
        nmeta++;
    }

    w->codec = codec;
    tn_random_bytes(w->sync, sizeof(w->sync));
    tn_buf_add(&w->out, magic, sizeof(magic), NULL);
    tn_avro_put_long(&w->out, nmeta); /* the metadata map: one block, then the 0 terminator */
    put_meta(&w->out, "avro.schema", schema_json);
    put_meta(&w->out, "avro.codec", cname);
    for (const struct tn_avro_meta *m = meta; m && m->key; m++)
        put_meta(&w->out, m->key, m->value);
    tn_avro_put_long(&w->out, 0);
    tn_buf_add(&w->out, w->sync, sizeof(w->sync), NULL);
    return 0;
}

struct tn_buf *tn_avro_writer_record(struct tn_avro_writer *w)
{
    return &w->block;
}

/* Compress the current block into w->out with its count, size and sync marker. */
static int flush_block(struct tn_avro_writer *w, struct tn_err *err)
{
    const char *data = w->block.buf ? w->block.buf : "";
    size_t len = w->block.len;
    char *packed = NULL;
    size_t packed_len = 0;
    int rc = 0;

    if (!w->block_count)
        return 0;
    if (w->codec == TN_AVRO_CODEC_DEFLATE) {
        z_stream zs;
        int zrc;

        memset(&zs, 0, sizeof(zs));
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
            rc = tn_fail(err, TN_EINTERNAL, "avro: deflateInit2 failed");
            goto out;
        }
        packed_len = deflateBound(&zs, (uLong)len);
        packed = tn_malloc(packed_len);
        zs.next_in = (Bytef *)(uintptr_t)data;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)packed;
        zs.avail_out = (uInt)packed_len;
        zrc = deflate(&zs, Z_FINISH);
        packed_len = zs.total_out;
        deflateEnd(&zs);
        if (zrc != Z_STREAM_END) {
            rc = tn_fail(err, TN_EINTERNAL, "avro: deflate failed (%d)", zrc);
            goto out;
        }
        data = packed;
        len = packed_len;
    } else if (w->codec == TN_AVRO_CODEC_ZSTD) {
        size_t zrc;

        packed_len = ZSTD_compressBound(len);
        packed = tn_malloc(packed_len);
        zrc = ZSTD_compress(packed, packed_len, data, len, ZSTD_LEVEL);
        if (ZSTD_isError(zrc)) {
            rc = tn_fail(err, TN_EINTERNAL, "avro: zstd compression failed: %s",
                         ZSTD_getErrorName(zrc));
            goto out;
        }
        data = packed;
        len = zrc;
    }
    tn_avro_put_long(&w->out, w->block_count);
    tn_avro_put_long(&w->out, (int64_t)len);
    tn_buf_add(&w->out, data, len, NULL);
    tn_buf_add(&w->out, w->sync, sizeof(w->sync), NULL);
    tn_buf_reset(&w->block);
    w->block_count = 0;
out:
    free(packed);
    return rc;
}

int tn_avro_writer_end_record(struct tn_avro_writer *w, struct tn_err *err)
{
    w->block_count++;
    w->total_count++;
    if (w->block.len >= BLOCK_BYTES)
        return flush_block(w, err);
    return 0;
}

int tn_avro_writer_finish(struct tn_avro_writer *w, char **out, size_t *out_len, struct tn_err *err)
{
    int rc = flush_block(w, err);

    if (!rc)
        *out = tn_buf_detach(&w->out, out_len);
    tn_avro_writer_release(w);
    return rc;
}

void tn_avro_writer_release(struct tn_avro_writer *w)
{
    if (!w)
        return;
    tn_buf_release(&w->out);
    tn_buf_release(&w->block);
    w->block_count = 0;
}
