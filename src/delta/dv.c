/* dv.c - Delta deletion vectors: RoaringBitmapArray decoding and encoding, DV files, Z85 and
 * the storage types of a descriptor (see dv.h for the layouts). */
#include "delta/dv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

void tn_delta_dv_release(struct tn_delta_dv *dv)
{
    if (!dv)
        return;
    free(dv->path_or_inline);
    dv->path_or_inline = NULL;
}

/*---- Byte order ----*/

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*---- RoaringBitmapArray bytes ----*/

int tn_delta_dv_decode(const unsigned char *data, size_t len, int64_t max_positions,
                       int64_t **out_pos, size_t *out_n, struct tn_err *err)
{
    *out_pos = NULL;
    *out_n = 0;
    if (len < 4)
        return tn_fail(err, TN_EINPUT, "deletion vector is damaged: shorter than its header");
    if (le32(data) != TN_DELTA_DV_MAGIC)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector has magic number %u, not %u (not a RoaringBitmapArray)",
                       le32(data), TN_DELTA_DV_MAGIC);
    return tn_roaring64_decode(data + 4, len - 4, max_positions, out_pos, out_n, err);
}

int tn_delta_dv_encode(const int64_t *pos, size_t n, unsigned char **out, size_t *out_len,
                       struct tn_err *err)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    unsigned char magic[4] = {
        (unsigned char)TN_DELTA_DV_MAGIC, (unsigned char)(TN_DELTA_DV_MAGIC >> 8),
        (unsigned char)(TN_DELTA_DV_MAGIC >> 16), (unsigned char)(TN_DELTA_DV_MAGIC >> 24)};
    int rc;

    *out = NULL;
    *out_len = 0;
    (void)tn_buf_add(&b, magic, 4, NULL);
    rc = tn_roaring64_encode(pos, n, &b, err);
    if (rc) {
        tn_buf_release(&b);
        return rc;
    }
    *out = (unsigned char *)tn_buf_detach(&b, out_len);
    return 0;
}

/*---- DV files ----*/

void tn_delta_dv_file_build(const unsigned char *bitmap, size_t bitmap_len, unsigned char **out,
                            size_t *out_len)
{
    unsigned char *f = tn_malloc(1 + 4 + bitmap_len + 4);

    f[0] = 1;
    put_be32(f + 1, (uint32_t)bitmap_len);
    memcpy(f + 5, bitmap, bitmap_len);
    put_be32(f + 5 + bitmap_len, (uint32_t)crc32(0L, bitmap, (uInt)bitmap_len));
    *out = f;
    *out_len = 1 + 4 + bitmap_len + 4;
}

int tn_delta_dv_file_slice(const unsigned char *file, size_t file_len, int64_t offset,
                           int64_t size_in_bytes, const unsigned char **out_bitmap, size_t *out_len,
                           struct tn_err *err)
{
    uint32_t size, crc;

    *out_bitmap = NULL;
    *out_len = 0;
    if (file_len < 1 || file[0] != 1)
        return tn_fail(err, TN_EINPUT, "deletion vector file has format version %d, not 1",
                       file_len ? file[0] : -1);
    if (offset < 1 || (uint64_t)offset > file_len || file_len - (size_t)offset < 8)
        return tn_fail(err, TN_EINPUT, "deletion vector offset %lld lies outside its %zu-byte file",
                       (long long)offset, file_len);
    size = be32(file + offset);
    if (size_in_bytes >= 0 && (int64_t)size != size_in_bytes)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector at offset %lld has %u bytes, the log says %lld",
                       (long long)offset, size, (long long)size_in_bytes);
    if ((uint64_t)size > file_len - (size_t)offset - 8)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector at offset %lld (%u bytes) runs past the end of its file",
                       (long long)offset, size);
    crc = be32(file + offset + 4 + size);
    if ((uint32_t)crc32(0L, file + offset + 4, size) != crc)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector at offset %lld fails its CRC-32 check; the file is "
                       "damaged",
                       (long long)offset);
    *out_bitmap = file + offset + 4;
    *out_len = size;
    return 0;
}

/*---- Z85 ----*/

char *tn_z85_encode(const unsigned char *data, size_t len)
{
    char *s = tn_malloc(len / 4 * 5 + 1);
    size_t o = 0;

    for (size_t i = 0; i + 4 <= len; i += 4) {
        uint32_t v = be32(data + i);
        for (int k = 4; k >= 0; k--) {
            s[o + (size_t)k] = z85_chars[v % 85];
            v /= 85;
        }
        o += 5;
    }
    s[o] = '\0';
    return s;
}

int tn_z85_decode(const char *text, size_t text_len, unsigned char *out, struct tn_err *err)
{
    if (text_len % 5 != 0)
        return tn_fail(err, TN_EINPUT, "Z85 text of %zu characters is not a multiple of 5",
                       text_len);
    for (size_t i = 0; i < text_len; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            const char *c = text[i + k] ? strchr(z85_chars, text[i + k]) : NULL;
            if (!c)
                return tn_fail(err, TN_EINPUT, "character %zu of Z85 text is not a Z85 digit",
                               i + k);
            v = v * 85 + (uint64_t)(c - z85_chars);
        }
        if (v > 0xFFFFFFFFu)
            return tn_fail(err, TN_EINPUT, "Z85 group at %zu is larger than 32 bits", i);
        put_be32(out + i / 5 * 4, (uint32_t)v);
    }
    return 0;
}

/*---- Descriptors ----*/

int tn_delta_dv_uuid_z85(const char *uuid, char out[21], struct tn_err *err)
{
    unsigned char bytes[16];
    size_t nb = 0;
    char *s;

    for (const char *p = uuid; *p; p++) {
        int hi, lo;
        if (*p == '-')
            continue;
        hi = tn_hex_value(p[0]);
        lo = p[1] ? tn_hex_value(p[1]) : -1;
        if (hi < 0 || lo < 0 || nb == 16)
            return tn_fail(err, TN_EINPUT, "\"%s\" is not a UUID", uuid);
        bytes[nb++] = (unsigned char)(hi << 4 | lo);
        p++;
    }
    if (nb != 16)
        return tn_fail(err, TN_EINPUT, "\"%s\" is not a UUID", uuid);
    s = tn_z85_encode(bytes, 16);
    memcpy(out, s, 21);
    free(s);
    return 0;
}

int tn_delta_dv_file_path(const struct tn_delta_dv *dv, const char *table_location, char **out,
                          struct tn_err *err)
{
    const char *p = dv->path_or_inline;
    unsigned char u[16];
    size_t len, prefix_len;

    *out = NULL;
    if (!p)
        return tn_fail(err, TN_EINPUT, "deletion vector has no pathOrInlineDv");
    len = strlen(p);
    if (dv->storage_type == 'p') {
        if (!len)
            return tn_fail(err, TN_EINPUT, "deletion vector has an empty absolute path");
        *out = tn_strdup(p);
        return 0;
    }
    if (dv->storage_type != 'u')
        return tn_fail(err, TN_EINPUT, "deletion vector of storage type '%c' is not in a file",
                       dv->storage_type ? dv->storage_type : '?');
    if (len < 20)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector path \"%s\" is shorter than a Z85-encoded UUID", p);
    prefix_len = len - 20;
    for (size_t i = 0; i < prefix_len; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9')))
            return tn_fail(err, TN_EINPUT,
                           "deletion vector path prefix \"%.*s\" is not letters and digits",
                           (int)prefix_len, p);
    int rc = tn_z85_decode(p + prefix_len, 20, u, err);
    if (rc != 0)
        return rc;
    *out = tn_asprintf("%s/%.*s%sdeletion_vector_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                       "%02x%02x%02x%02x%02x%02x.bin",
                       table_location, (int)prefix_len, p, prefix_len ? "/" : "", u[0], u[1], u[2],
                       u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                       u[15]);
    return 0;
}

int tn_delta_dv_inline_bytes(const struct tn_delta_dv *dv, unsigned char **out, size_t *out_len,
                             struct tn_err *err)
{
    size_t len;
    unsigned char *bytes;

    *out = NULL;
    *out_len = 0;
    if (dv->storage_type != 'i' || !dv->path_or_inline)
        return tn_fail(err, TN_EINPUT, "deletion vector is not inline");
    len = strlen(dv->path_or_inline);
    if (len % 5 != 0 || dv->size_in_bytes < 0 || (uint64_t)dv->size_in_bytes > len / 5 * 4)
        return tn_fail(err, TN_EINPUT,
                       "inline deletion vector of %zu Z85 characters cannot hold %lld bytes", len,
                       (long long)dv->size_in_bytes);
    bytes = tn_malloc(len / 5 * 4 + 1);
    int rc = tn_z85_decode(dv->path_or_inline, len, bytes, err);
    if (rc != 0) {
        free(bytes);
        return rc;
    }
    *out = bytes;
    *out_len = (size_t)dv->size_in_bytes;
    return 0;
}

int tn_delta_dv_positions(const struct tn_delta_dv *dv, const unsigned char *file, size_t file_len,
                          int64_t max_positions, int64_t **out_pos, size_t *out_n,
                          struct tn_err *err)
{
    unsigned char *inline_bytes = NULL;
    const unsigned char *bitmap;
    size_t bitmap_len;
    int rc;

    *out_pos = NULL;
    *out_n = 0;
    if (dv->cardinality < 0)
        return tn_fail(err, TN_EINPUT, "deletion vector has a negative cardinality");
    if (dv->storage_type == 'i') {
        rc = tn_delta_dv_inline_bytes(dv, &inline_bytes, &bitmap_len, err);
        bitmap = inline_bytes;
    } else {
        rc = tn_delta_dv_file_slice(file, file_len, dv->offset < 0 ? 1 : dv->offset,
                                    dv->size_in_bytes, &bitmap, &bitmap_len, err);
    }
    if (rc == 0)
        rc = tn_delta_dv_decode(bitmap, bitmap_len, max_positions, out_pos, out_n, err);
    free(inline_bytes);
    if (rc == 0 && (int64_t)*out_n != dv->cardinality) {
        rc = tn_fail(err, TN_EINPUT, "deletion vector holds %zu positions, the log says %lld",
                     *out_n, (long long)dv->cardinality);
        free(*out_pos);
        *out_pos = NULL;
        *out_n = 0;
    }
    return rc;
}
