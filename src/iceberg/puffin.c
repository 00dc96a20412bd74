/* puffin.c - Iceberg deletion-vector-v1 blobs read from and written to Puffin files (see
 * puffin.h). */
#include "iceberg.h"

#include "core/roaring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int tn_puffin_dv_decode(const unsigned char *blob, size_t len, int64_t max_positions,
                        int64_t **out_pos, size_t *out_n, struct tn_err *err)
{
    size_t body;

    *out_pos = NULL;
    *out_n = 0;
    if (len < 12 || len > UINT32_MAX)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector blob has %zu bytes; a deletion-vector-v1 blob has at "
                       "least 12",
                       len);
    body = len - 8; /* magic and bitmap */
    if (get_be32(blob) != body)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector blob says it holds %u bytes, but its manifest entry "
                       "gives it %zu (content_size_in_bytes minus 8)",
                       get_be32(blob), body);
    if (memcmp(blob + 4, TN_PUFFIN_DV_MAGIC, 4) != 0)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector blob lacks the deletion-vector-v1 magic bytes");
    if ((uint32_t)crc32(0L, blob + 4, (uInt)body) != get_be32(blob + 4 + body))
        return tn_fail(err, TN_EINPUT, "deletion vector blob fails its CRC-32 check");
    return tn_roaring64_decode(blob + 8, body - 4, max_positions, out_pos, out_n, err);
}

/*---- Writing ----*/

#define PUFFIN_MAGIC "PFA1"

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int tn_puffin_dv_encode(const int64_t *pos, size_t n, unsigned char **out, size_t *out_len,
                        struct tn_err *err)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    unsigned char be[4] = {0};
    size_t body; /* magic and bitmap */
    int rc;

    *out = NULL;
    *out_len = 0;
    tn_buf_add(&b, be, 4, NULL); /* the length, filled in below */
    tn_buf_add(&b, TN_PUFFIN_DV_MAGIC, 4, NULL);
    rc = tn_roaring64_encode(pos, n, &b, err);
    if (!rc && b.len - 4 > UINT32_MAX)
        rc = tn_fail(err, TN_ETOOBIG, "deletion vector of %zu bytes is too large for a blob",
                     b.len - 4);
    if (rc) {
        tn_buf_release(&b);
        return rc;
    }
    body = b.len - 4;
    put_be32((unsigned char *)b.buf, (uint32_t)body);
    put_be32(be, (uint32_t)crc32(0L, (const unsigned char *)b.buf + 4, (uInt)body));
    tn_buf_add(&b, be, 4, NULL);
    *out = (unsigned char *)tn_buf_detach(&b, out_len);
    return 0;
}

void tn_puffin_writer_init(struct tn_puffin_writer *w)
{
    memset(&w->bytes, 0, sizeof(w->bytes)); /* unbounded: bytes tarn produces */
    w->blobs = json_array();
    tn_buf_add(&w->bytes, PUFFIN_MAGIC, 4, NULL);
}

void tn_puffin_writer_release(struct tn_puffin_writer *w)
{
    tn_buf_release(&w->bytes);
    json_decref(w->blobs);
    w->blobs = NULL;
}

int tn_puffin_add_dv(struct tn_puffin_writer *w, const char *referenced_data_file,
                     const int64_t *pos, size_t n, int64_t *offset, int64_t *length,
                     struct tn_err *err)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    char cardinality[24];
    json_t *meta, *props;
    int rc = tn_puffin_dv_encode(pos, n, &blob, &len, err);

    if (rc)
        return rc;
    *offset = (int64_t)w->bytes.len;
    *length = (int64_t)len;
    tn_buf_add(&w->bytes, blob, len, NULL);
    free(blob);
    snprintf(cardinality, sizeof(cardinality), "%zu", n);
    props = json_pack("{s:s, s:s}", "referenced-data-file", referenced_data_file, "cardinality",
                      cardinality);
    meta = json_pack("{s:s, s:[i], s:I, s:I, s:I, s:I, s:o}", "type", "deletion-vector-v1",
                     "fields", (json_int_t)TN_PUFFIN_DV_FIELD_ID, "snapshot-id", (json_int_t)-1,
                     "sequence-number", (json_int_t)-1, "offset", (json_int_t)*offset, "length",
                     (json_int_t)*length, "properties", props);
    json_array_append_new(w->blobs, meta);
    return 0;
}

void tn_puffin_finish(struct tn_puffin_writer *w)
{
    json_t *footer =
        json_pack("{s:O, s:{s:s}}", "blobs", w->blobs, "properties", "created-by", "tarn");
    char *payload = json_dumps(footer, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = strlen(payload);
    unsigned char tail[8] = {(unsigned char)n,
                             (unsigned char)(n >> 8),
                             (unsigned char)(n >> 16),
                             (unsigned char)(n >> 24),
                             0,
                             0,
                             0,
                             0}; /* flags: payload uncompressed */

    tn_buf_add(&w->bytes, PUFFIN_MAGIC, 4, NULL);
    tn_buf_add(&w->bytes, payload, n, NULL);
    tn_buf_add(&w->bytes, tail, 8, NULL);
    tn_buf_add(&w->bytes, PUFFIN_MAGIC, 4, NULL);
    free(payload);
    json_decref(footer);
}
