/* fuzz_parquet_footer.c - libFuzzer target for tarn's Parquet footer decoder
 * (src/iceberg/parquet_footer.c): any input must either decode or fail with an error, never
 * crash, leak or read out of bounds. Seeds in corpus/parquet_footer/ are the FileMetaData of
 * small files DuckDB wrote as tarn does (every primitive type, a struct, a list and a map).
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc \
 *     fuzz/fuzz_parquet_footer.c src/iceberg/parquet_footer.c src/iceberg/bounds.c \
 *     src/iceberg/types.c src/core/[a-z]*.c -ljansson -o /tmp/fuzz_parquet_footer
 *   cp -r fuzz/corpus/parquet_footer /tmp/parquet-footer-corpus
 *   /tmp/fuzz_parquet_footer -max_total_time=60 /tmp/parquet-footer-corpus
 * (run on a copy so the corpus the fuzzer grows stays out of the repository) */
#include <stddef.h>
#include <stdint.h>

#include "iceberg/iceberg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct tn_type types[] = {
        {.kind = TN_T_STRING},       {.kind = TN_T_LONG},
        {.kind = TN_T_DOUBLE},       {.kind = TN_T_DECIMAL, .precision = 38, .scale = 10},
        {.kind = TN_T_TIMESTAMP_NS}, {.kind = TN_T_FIXED, .length = 16},
    };
    struct tn_parquet_footer f;
    struct tn_err err;
    unsigned char bound[TN_BOUND_MAX];
    size_t len;

    if (tn_parquet_footer_parse(data, size, &f, &err) != 0)
        return 0;
    /* Turn every statistic into a bound of a few types, so the conversions run on decoded
     * data too. */
    for (size_t i = 0; i < f.nrow_groups * f.nleaves; i++) {
        const struct tn_parquet_chunk *c = &f.chunks[i];
        const struct tn_parquet_leaf *leaf = &f.leaves[i % f.nleaves];
        const struct tn_type *t = &types[i % (sizeof(types) / sizeof(types[0]))];
        if (c->min.p)
            (void)tn_bound_from_parquet(t, leaf, c->min.p, c->min.n, 0, bound, &len, &err);
        if (c->max.p)
            (void)tn_bound_from_parquet(t, leaf, c->max.p, c->max.n, 1, bound, &len, &err);
    }
    tn_parquet_footer_release(&f);
    return 0;
}
