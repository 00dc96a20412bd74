/* tn_test_parquet.c - the Parquet-file unit tests' engine fixture (see tn_test_parquet.h). */
#include "tn_test_parquet.h"

#include <string.h>

int tn_test_parquet_open(struct parquet_fixture *fx, const char *schema_json)
{
    struct tn_err err = {0};
    const char *dirs[2] = {NULL, NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    json_t *j = json_loads(schema_json, 0, NULL);

    memset(fx, 0, sizeof(*fx));
    fx->dir = dirs[0] = tn_test_tmpdir();
    if (!j || tn_schema_parse(j, &fx->schema, &err) || tn_engine_open(&opt, &fx->e, &err) ||
        tn_session_open(fx->e, &fx->s, &err)) {
        tn_test_failed(__FILE__, __LINE__, "fixture: %s", err.msg);
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return 0;
}

void tn_test_parquet_close(struct parquet_fixture *fx)
{
    tn_session_close(fx->s);
    tn_engine_close(fx->e);
    tn_schema_free(fx->schema);
}
