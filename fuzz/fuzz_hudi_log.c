/* fuzz_hudi_log.c - libFuzzer target for the Hudi log-file reader (src/hudi/log.c) and what the
 * translation does with each block: Avro data blocks decoded with their header schema and turned
 * into JSON, delete blocks' keys read. Any input must parse or fail with an error, never crash,
 * leak or read out of bounds. Seeds in corpus/hudi_log/ are real log files of the shared Hudi
 * fixtures (Avro data, delete and Parquet data blocks). Build and run: make fuzz-run
 * FUZZ_TARGETS=hudi_log (see the Makefile). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "avro/avro.h"
#include "hudi/hudi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tn_hudi_block *blocks = NULL;
    size_t n = 0;
    struct tn_err err;

    if (tn_hudi_log_parse(data, size, &blocks, &n, &err) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct tn_hudi_block *b = &blocks[i];
        if (b->type == TN_HUDI_BLOCK_AVRO && b->schema) {
            const void **recs = NULL;
            size_t *lens = NULL, nrec = 0;
            struct tn_avro_file *f = NULL;
            if (tn_hudi_avro_records(b, &recs, &lens, &nrec, &err) != 0)
                continue;
            if (tn_avro_decode_records(b->schema, b->schema_len, recs, lens, nrec, &f, &err) == 0) {
                for (size_t r = 0; r < f->nrecords; r++)
                    json_decref(tn_hudi_avro_json(&f->records[r]));
                tn_avro_file_free(f);
            }
            free(recs);
            free(lens);
        } else if (b->type == TN_HUDI_BLOCK_DELETE) {
            json_t *keys = NULL, *ordering = NULL;
            if (tn_hudi_delete_keys(b, &keys, &ordering, &err) == 0) {
                json_decref(keys);
                json_decref(ordering);
            }
        }
    }
    free(blocks);
    return 0;
}
