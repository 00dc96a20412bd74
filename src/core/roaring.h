/* roaring.h - 64-bit Roaring bitmaps of row positions in their portable serialization, the
 * bitmap of both Delta Lake deletion vectors (delta/dv.h, after a little-endian magic) and
 * Iceberg deletion-vector-v1 blobs (iceberg/puffin.h, after the magic bytes D1 D3 39 64): a
 * little-endian 64-bit count of buckets, then per bucket, in ascending order, its 32-bit key --
 * the high half of the positions, whose top bit must be 0 -- and a standard portable 32-bit
 * Roaring bitmap of the low halves (cookie, container headers, offsets, then array, bitset or
 * run containers). Decoding treats its input as untrusted: malformed bytes are refused with
 * TN_EINPUT, never read out of bounds. */
#ifndef TN_CORE_ROARING_H
#define TN_CORE_ROARING_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* The most positions a bitmap may decode to (a guard against a few bytes of run containers
 * claiming billions of rows; a data file holds far fewer rows). */
#define TN_ROARING_MAX_POSITIONS (1LL << 31)

/* Decode the "len" bytes at "data" (exactly one bitmap) into the ascending positions they hold
 * (caller frees *out_pos; NULL when none). At most "max_positions" positions
 * (TN_ROARING_MAX_POSITIONS when 0 or larger). Array, bitset and run containers are read. */
int tn_roaring64_decode(const unsigned char *data, size_t len, int64_t max_positions,
                        int64_t **out_pos, size_t *out_n, struct tn_err *err);
/* Append the bitmap of the "n" strictly ascending, non-negative positions at "pos" to "out".
 * Each container takes the smallest of the array, bitset and run forms. TN_EINTERNAL for
 * positions out of order. */
int tn_roaring64_encode(const int64_t *pos, size_t n, struct tn_buf *out, struct tn_err *err);

#endif /* TN_CORE_ROARING_H */
