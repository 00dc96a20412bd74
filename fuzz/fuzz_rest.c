/* fuzz_rest.c - libFuzzer target for the Iceberg REST catalog's CommitTableRequest handling
 * (src/iceberg/updates.c): the input is a request body as POST .../tables/{t} receives it,
 * {"requirements": [...], "updates": [...]}; its requirements are checked against a small table's
 * metadata and its updates applied to a copy (tn_requirements_check and tn_updates_apply, what
 * every commit runs), then the
 * result is validated as a commit validates it. Nothing may crash, leak or read out of bounds.
 * Seeds in corpus/rest/ (see corpus/README). Run with `make fuzz-run FUZZ_TARGETS=rest`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/table_int.h"

#include "iceberg/updates.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A table as tarn writes it: two columns, a day partition, one snapshot on main, a tag. */
static const char base_text[] =
    "{\"format-version\": 2, \"table-uuid\": \"9c12d441-03fe-4693-9a96-a0705ddf69c1\","
    " \"location\": \"file:///w/default/t\", \"last-sequence-number\": 1,"
    " \"last-updated-ms\": 1764000000000, \"last-column-id\": 2, \"current-schema-id\": 0,"
    " \"schemas\": [{\"type\": \"struct\", \"schema-id\": 0, \"identifier-field-ids\": [1],"
    "   \"fields\": [{\"id\": 1, \"name\": \"id\", \"required\": true, \"type\": \"long\"},"
    "              {\"id\": 2, \"name\": \"ts\", \"required\": false, \"type\": \"timestamp\"}]}],"
    " \"default-spec-id\": 0, \"partition-specs\": [{\"spec-id\": 0, \"fields\":"
    "   [{\"source-id\": 2, \"field-id\": 1000, \"name\": \"ts_day\", \"transform\": \"day\"}]}],"
    " \"last-partition-id\": 1000, \"default-sort-order-id\": 0,"
    " \"sort-orders\": [{\"order-id\": 0, \"fields\": []}],"
    " \"properties\": {\"write.format.default\": \"parquet\"},"
    " \"current-snapshot-id\": 3051729675574597004,"
    " \"refs\": {\"main\": {\"snapshot-id\": 3051729675574597004, \"type\": \"branch\"},"
    "          \"v1\": {\"snapshot-id\": 3051729675574597004, \"type\": \"tag\"}},"
    " \"snapshots\": [{\"snapshot-id\": 3051729675574597004, \"sequence-number\": 1,"
    "   \"timestamp-ms\": 1764000000000, \"schema-id\": 0,"
    "   \"summary\": {\"operation\": \"append\"},"
    "   \"manifest-list\": \"file:///w/default/t/metadata/snap-3051729675574597004-1-a.avro\"}],"
    " \"snapshot-log\": [{\"snapshot-id\": 3051729675574597004, \"timestamp-ms\": 1764000000000}],"
    " \"metadata-log\": [], \"statistics\": []}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *base;
    struct tn_metadata *m = NULL;
    struct tn_err err;
    json_error_t je;
    json_t *req, *next = NULL;

    if (!base && !(base = json_loads(base_text, 0, &je)))
        abort();
    /* as the server reads a JSON body */
    req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(req)) {
        json_decref(req);
        return 0;
    }
    next = json_deep_copy(base);
    if (tn_requirements_check(base, json_object_get(req, "requirements"), &err) == 0 &&
        tn_updates_apply(next, json_object_get(req, "updates"), &err) == 0) {
        if (tn_metadata_from_json(json_incref(next), &m, &err) == 0) {
            char *text = tn_metadata_dump(m);
            free(text);
            tn_metadata_free(m);
        }
    }
    json_decref(next);
    json_decref(req);
    return 0;
}
