/* puffin.h - Iceberg v3 deletion vectors: the "deletion-vector-v1" blobs of Puffin files that
 * hold, for one data file, the positions of its deleted rows. Part of the iceberg module;
 * include "iceberg/iceberg.h".
 *
 * A blob is a 4-byte big-endian length (of what follows, without the CRC), the magic bytes
 * D1 D3 39 64, a 64-bit Roaring bitmap in the portable format, and a 4-byte big-endian CRC-32
 * of the magic and the bitmap. The magic plus bitmap are exactly the bytes of a Delta Lake
 * deletion vector, so the bitmap codec is the one in delta/dv.c. A manifest entry locates the
 * blob in its Puffin file by content_offset and content_size_in_bytes. */
#ifndef TN_ICEBERG_PUFFIN_H
#define TN_ICEBERG_PUFFIN_H

/* The first bytes of a deletion-vector-v1 blob after its length. */
#define TN_PUFFIN_DV_MAGIC "\xD1\xD3\x39\x64"

/* Decode the blob "blob" ("len" bytes: exactly content_size_in_bytes) into the ascending
 * positions it holds (caller frees *out_pos; NULL when none), checking its length field, magic
 * and CRC-32. At most "max_positions" positions (0: the codec's own cap). Untrusted input: a
 * malformed blob is refused with TN_EINPUT. */
int tn_puffin_dv_decode(const unsigned char *blob, size_t len, int64_t max_positions,
                        int64_t **out_pos, size_t *out_n, struct tn_err *err);

#endif /* TN_ICEBERG_PUFFIN_H */
