/* fuzz_metadata.c - libFuzzer target for the table metadata parser (src/iceberg/metadata.c): any
 * input -- a *.metadata.json, plain or gzip-compressed -- must either parse or fail with an
 * error, never crash, leak or read out of bounds; what parses must dump to JSON that parses
 * again (the file a commit writes). Seeds in corpus/metadata/ (see corpus/README). Build and run
 * with `make fuzz-run FUZZ_TARGETS=metadata`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/iceberg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tn_metadata *m = NULL, *again = NULL;
    struct tn_err err;
    char *text;

    if (tn_metadata_parse((const char *)data, size, &m, &err) != 0)
        return 0;
    /* the lookups a reader makes, on decoded data */
    (void)tn_metadata_current_schema(m);
    (void)tn_metadata_spec(m, m->default_spec_id);
    (void)tn_metadata_ref(m, "main");
    for (size_t i = 0; i < m->nsnapshots; i++) {
        (void)tn_metadata_snapshot(m, m->snapshots[i].parent_id);
        (void)tn_metadata_snapshot_schema(m, &m->snapshots[i]);
    }
    for (size_t i = 0; i < m->nspecs; i++)
        (void)tn_spec_is_unpartitioned(&m->specs[i]);
    text = tn_metadata_dump(m);
    if (tn_metadata_parse(text, strlen(text), &again, &err) != 0)
        abort(); /* tarn wrote metadata it cannot read back */
    tn_metadata_free(again);
    free(text);
    tn_metadata_free(m);
    return 0;
}
