/* puffin.c - Iceberg deletion-vector-v1 blobs read from Puffin files (see puffin.h). */
#include "iceberg.h"

#include "delta/dv.h"

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
    return tn_delta_dv_decode(blob + 4, body, max_positions, out_pos, out_n, err);
}
