/* tn_test_parquet.h - what the Parquet-file unit tests share: a DuckDB engine and session with
 * a fresh temporary directory it may write, and the Iceberg schema the files are written with. */
#ifndef TN_TEST_PARQUET_H
#define TN_TEST_PARQUET_H

#include "engine/engine.h"
#include "iceberg/iceberg.h"
#include "tn_test.h"

struct parquet_fixture {
    struct tn_engine *e;
    struct tn_session *s;
    const char *dir; /* the temporary directory the engine may write */
    struct tn_schema *schema;
};

/* Parse "schema_json" and open an engine and a session on a fresh directory; reports a
 * failure and returns non-zero when it cannot. */
int tn_test_parquet_open(struct parquet_fixture *fx, const char *schema_json);
void tn_test_parquet_close(struct parquet_fixture *fx);

#endif
