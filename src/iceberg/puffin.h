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

/*---- Writing ----*/

/* The field id of the _pos metadata column: the one field a deletion vector's blob names. */
#define TN_PUFFIN_DV_FIELD_ID 2147483645

/* A Puffin file of deletion vectors built in memory: the magic "PFA1", one deletion-vector-v1
 * blob per data file, and at tn_puffin_finish the footer (magic, UTF-8 JSON payload listing the
 * blobs with snapshot-id and sequence-number -1 -- both inherited from the manifest entry --,
 * its 4-byte little-endian length, 4 bytes of flags (uncompressed), magic). */
struct tn_puffin_writer {
    struct tn_buf bytes; /* the file so far */
    json_t *blobs;       /* the footer's blob metadata so far */
};

void tn_puffin_writer_init(struct tn_puffin_writer *w);
void tn_puffin_writer_release(struct tn_puffin_writer *w);
/* The deletion-vector-v1 blob of the "n" strictly ascending, non-negative positions at "pos"
 * (caller frees *out): length, magic, 64-bit Roaring bitmap (array and bitmap containers, run
 * containers where smaller), CRC-32. */
int tn_puffin_dv_encode(const int64_t *pos, size_t n, unsigned char **out, size_t *out_len,
                        struct tn_err *err);
/* Append the blob of the positions "pos" ("n", ascending) deleted from data file
 * "referenced_data_file"; *offset and *length get where it sits (a manifest entry's
 * content_offset and content_size_in_bytes). */
int tn_puffin_add_dv(struct tn_puffin_writer *w, const char *referenced_data_file,
                     const int64_t *pos, size_t n, int64_t *offset, int64_t *length,
                     struct tn_err *err);
/* Append the footer: w->bytes is then the whole file. */
void tn_puffin_finish(struct tn_puffin_writer *w);

#endif /* TN_ICEBERG_PUFFIN_H */
