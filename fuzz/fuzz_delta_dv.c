/* fuzz_delta_dv.c - libFuzzer target for tarn's Delta deletion-vector codec (src/delta/dv.c),
 * which reads bytes from Delta tables other engines wrote: any input must either decode or fail
 * with an error, never crash, leak or read out of bounds, and whatever decodes must encode and
 * decode again to the same positions. The first byte picks what the rest is:
 *   0  a RoaringBitmapArray (magic, buckets, 32-bit Roaring bitmaps)
 *   1  a DV file (version byte, big-endian size, bitmap, CRC-32), read at offset 1
 *   2  the pathOrInlineDv text of a descriptor, read as inline Z85 and as a 'u' path
 * Seeds in corpus/delta_dv/ (see corpus/README). Build and run with `make fuzz-run
 * FUZZ_TARGETS=delta_dv`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delta/dv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode "pos" again and check the bytes decode to the same positions. */
static void check_round_trip(const int64_t *pos, size_t n)
{
    unsigned char *bytes = NULL;
    size_t len = 0, n2 = 0;
    int64_t *again = NULL;
    struct tn_err err;

    if (tn_delta_dv_encode(pos, n, &bytes, &len, &err) != 0)
        abort(); /* decoded positions are always ascending and not negative */
    if (tn_delta_dv_decode(bytes, len, 0, &again, &n2, &err) != 0 || n2 != n ||
        (n && memcmp(again, pos, n * sizeof(*pos)) != 0))
        abort();
    free(again);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tn_err err;
    int64_t *pos = NULL;
    size_t n = 0;

    if (size < 1)
        return 0;
    /* A cap of 2^20 positions keeps each run fast; the cap itself is part of what is tested. */
    if (data[0] == 0) {
        if (tn_delta_dv_decode(data + 1, size - 1, 1 << 20, &pos, &n, &err) == 0)
            check_round_trip(pos, n);
    } else if (data[0] == 1) {
        const unsigned char *bitmap;
        size_t len;
        if (tn_delta_dv_file_slice(data + 1, size - 1, 1, -1, &bitmap, &len, &err) == 0 &&
            tn_delta_dv_decode(bitmap, len, 1 << 20, &pos, &n, &err) == 0)
            check_round_trip(pos, n);
    } else {
        char *text = tn_strndup((const char *)data + 1, size - 1);
        struct tn_delta_dv dv = {'i', text, -1, (int64_t)(size - 1) / 5 * 4, 0};
        unsigned char *bytes = NULL;
        size_t len = 0;
        char *path = NULL;
        if (tn_delta_dv_inline_bytes(&dv, &bytes, &len, &err) == 0 &&
            tn_delta_dv_decode(bytes, len, 1 << 20, &pos, &n, &err) == 0)
            check_round_trip(pos, n);
        free(bytes);
        free(pos);
        pos = NULL;
        dv.storage_type = 'u';
        if (tn_delta_dv_file_path(&dv, "/table", &path, &err) == 0 &&
            strncmp(path, "/table/", 7) != 0)
            abort(); /* a relative DV path must stay inside its table */
        free(path);
        tn_delta_dv_release(&dv);
    }
    free(pos);
    return 0;
}
