/* fuzz_avro.c - libFuzzer target for the Avro container reader (src/avro/reader.c): any input
 * must either decode or fail with an error, never crash, leak or read out of bounds. Seeds in
 * corpus/avro/ are small real Iceberg manifest lists (null and deflate codecs) and a zstandard
 * file written by tarn. Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc \
 *     fuzz/fuzz_avro.c src/avro/[a-z]*.c src/core/[a-z]*.c -ljansson -lz -lsnappy -lzstd \
 *     -o /tmp/fuzz_avro
 *   cp -r fuzz/corpus/avro /tmp/avro-corpus
 *   /tmp/fuzz_avro -max_total_time=60 /tmp/avro-corpus
 * (run on a copy so the corpus the fuzzer grows stays out of the repository) */
#include <stddef.h>
#include <stdint.h>

#include "avro/avro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tn_avro_file *f = NULL;
    struct tn_err err;

    if (tn_avro_read(data, size, &f, &err) == 0) {
        /* Walk the public surface once so lookups run on decoded data too. */
        for (size_t i = 0; i < f->nrecords; i++) {
            size_t n;
            (void)tn_avro_field_i64(&f->records[i], 0, 0);
            (void)tn_avro_field_str(&f->records[i], 500, &n);
        }
        (void)tn_avro_meta_get(f, "avro.schema", NULL);
        tn_avro_file_free(f);
    }
    return 0;
}
