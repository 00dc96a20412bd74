/* fuzz_thrift.c - libFuzzer target for tarn's Thrift compact-protocol value tree
 * (src/iceberg/thrift.c): any input must either decode or fail with an error, never crash, leak
 * or read out of bounds; what decodes must encode to bytes that decode again and encode to the
 * same bytes. Seeds in corpus/thrift/ are Parquet footers (FileMetaData) and a page header.
 * Build and run as fuzz_parquet_footer.c says, with fuzz/fuzz_thrift.c and src/iceberg/thrift.c
 * (make fuzz builds every target). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/iceberg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tn_buf once = TN_BUF_INIT(0), twice = TN_BUF_INIT(0);
    struct tn_thrift v, again;
    struct tn_err err;
    size_t used;

    if (tn_thrift_decode(data, size, &v, &used, &err) != 0)
        return 0;
    if (used > size)
        abort();
    tn_thrift_encode(&v, &once);
    if (tn_thrift_decode((const unsigned char *)once.buf, once.len, &again, &used, &err) != 0 ||
        used != once.len)
        abort();
    tn_thrift_encode(&again, &twice);
    if (twice.len != once.len || memcmp(twice.buf, once.buf, once.len) != 0)
        abort();
    tn_thrift_free(&v);
    tn_thrift_free(&again);
    tn_buf_release(&once);
    tn_buf_release(&twice);
    return 0;
}
