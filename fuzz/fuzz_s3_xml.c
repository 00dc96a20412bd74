/* fuzz_s3_xml.c - libFuzzer target for the XML answers tarn reads from S3 (src/storage/s3.c):
 * a ListObjectsV2 page (objects, sizes, LastModified times, the continuation token) and the
 * fields of error, multipart and batch-delete answers, entities and numeric references
 * decoded. A hostile or broken endpoint must not crash tarn, make it leak or read out of bounds.
 * Seeds in corpus/s3_xml/ (see corpus/README). Run with `make fuzz-run FUZZ_TARGETS=s3_xml`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "storage/storage_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {"Code", "Message", "ETag", "UploadId", "Key"};
    const char *doc = (const char *)data;
    struct tn_storage_entry *e = NULL;
    size_t n = 0, cap = 0;
    char *token = NULL, out[300];

    (void)tn__s3_list_page(doc, size, "bucket", &e, &n, &cap, &token);
    tn_storage_entries_free(e, n);
    free(token);
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        tn__s3_xml_field(doc, size, tags[i], out, sizeof(out));
    return 0;
}
