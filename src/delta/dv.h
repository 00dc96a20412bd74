/* dv.h - Delta Lake deletion vectors: the codec shared by reading Delta tables and publishing
 * tarn tables as Delta.
 *
 * A deletion vector (DV) is the set of deleted row positions (0-based row indexes) of one data
 * file. Its bytes are a RoaringBitmapArray: the little-endian magic 1681511377, then a 64-bit
 * Roaring bitmap in the portable format (a little-endian 64-bit count of buckets, and per bucket,
 * in ascending order, its 32-bit key - the high half of the positions, whose top bit must be 0 -
 * followed by a standard 32-bit Roaring bitmap of the low halves). Those bytes live either inline
 * in the log (Z85 text) or in a DV file: a version byte 1, then per DV a 4-byte big-endian size,
 * the bitmap bytes and a 4-byte big-endian CRC-32 of them. A descriptor in the log's add action
 * says where (storageType 'u', 'i' or 'p'; see struct tn_delta_dv). Everything here treats its
 * input as untrusted: malformed bytes are refused with TN_EINPUT, never read out of bounds. */
#ifndef TN_DELTA_DV_H
#define TN_DELTA_DV_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/roaring.h"

#define TN_DELTA_DV_MAGIC 1681511377u
/* The most positions a DV may decode to (a guard against a few bytes of run containers
 * claiming billions of rows; a Parquet file of tarn's holds far fewer rows). */
#define TN_DELTA_DV_MAX_POSITIONS TN_ROARING_MAX_POSITIONS

/* The deletionVector descriptor of an add or remove action. */
struct tn_delta_dv {
    char storage_type;    /* 'u' relative (UUID) path, 'i' inline, 'p' absolute path */
    char *path_or_inline; /* owned */
    int64_t offset;       /* of the DV in its file (where its size field starts); -1: absent */
    int64_t size_in_bytes;
    int64_t cardinality;
};

void tn_delta_dv_release(struct tn_delta_dv *dv);

/*---- RoaringBitmapArray bytes (magic included) ----*/

/* Decode "len" bytes at "data" (the magic, then a bitmap of core/roaring.h) into the ascending
 * positions they hold (caller frees *out_pos; NULL when there are none). At most
 * "max_positions" positions (TN_DELTA_DV_MAX_POSITIONS when 0 or larger) are accepted. */
int tn_delta_dv_decode(const unsigned char *data, size_t len, int64_t max_positions,
                       int64_t **out_pos, size_t *out_n, struct tn_err *err);
/* Encode the "n" strictly ascending, non-negative positions at "pos" (caller frees *out).
 * Each container takes the smallest of the array, bitmap and run forms. */
int tn_delta_dv_encode(const int64_t *pos, size_t n, unsigned char **out, size_t *out_len,
                       struct tn_err *err);

/*---- DV files ----*/

/* A DV file holding the one bitmap "bitmap" (caller frees *out): version byte, size, bitmap,
 * CRC. The DV then sits at offset 1 with sizeInBytes "bitmap_len". */
void tn_delta_dv_file_build(const unsigned char *bitmap, size_t bitmap_len, unsigned char **out,
                            size_t *out_len);
/* The bitmap bytes of the DV at "offset" in the DV file "file" (*out_bitmap points into it,
 * *out_len bytes), checking the version byte, that its size is "size_in_bytes" (any size when
 * negative) and its CRC-32. */
int tn_delta_dv_file_slice(const unsigned char *file, size_t file_len, int64_t offset,
                           int64_t size_in_bytes, const unsigned char **out_bitmap, size_t *out_len,
                           struct tn_err *err);

/*---- Z85 (ZeroMQ's base-85: 4 bytes to 5 characters) ----*/

/* Encode "len" bytes (a multiple of 4) as Z85 text (caller frees). */
char *tn_z85_encode(const unsigned char *data, size_t len);
/* Decode Z85 text of "text_len" characters (a multiple of 5) into text_len / 5 * 4 bytes at
 * "out". */
int tn_z85_decode(const char *text, size_t text_len, unsigned char *out, struct tn_err *err);

/*---- Descriptors ----*/

/* The file a 'u' or 'p' descriptor points at: for 'u', "<table>/<prefix>/deletion_vector_<uuid>
 * .bin" (the prefix being whatever precedes the 20-character Z85 UUID), for 'p' the path itself.
 * "table_location" has no trailing slash. Caller frees. TN_EINPUT for an inline descriptor or a
 * malformed one. */
int tn_delta_dv_file_path(const struct tn_delta_dv *dv, const char *table_location, char **out,
                          struct tn_err *err);
/* The bitmap bytes of an inline ('i') descriptor (caller frees): the Z85 text decoded and cut to
 * sizeInBytes. */
int tn_delta_dv_inline_bytes(const struct tn_delta_dv *dv, unsigned char **out, size_t *out_len,
                             struct tn_err *err);
/* The 20-character Z85 form of the 16 bytes of the UUID text "uuid" (36 characters), the
 * pathOrInlineDv of a 'u' descriptor without a prefix; "out" has 21 bytes. */
int tn_delta_dv_uuid_z85(const char *uuid, char out[21], struct tn_err *err);
/* The positions of the DV described by "dv" whose bytes are "file" ("file_len" bytes: the DV
 * file of a 'u' or 'p' descriptor; ignored for 'i'), checked against its cardinality and capped
 * at "max_positions" (0: TN_DELTA_DV_MAX_POSITIONS). */
int tn_delta_dv_positions(const struct tn_delta_dv *dv, const unsigned char *file, size_t file_len,
                          int64_t max_positions, int64_t **out_pos, size_t *out_n,
                          struct tn_err *err);

#endif /* TN_DELTA_DV_H */
