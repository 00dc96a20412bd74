/* errors.c - DuckDB's errors as tarn's error codes, by the error's type (duckdb_error_type), in
 * one place: every failed DuckDB call of the engine module goes through tn_engine_fail, so the
 * layers above decide by err->code and never by DuckDB's message text. */
#include "engine/engine.h"

#include <duckdb.h>

int tn_engine_error_code(int type)
{
    switch ((duckdb_error_type)type) {
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_DECIMAL:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_CONSTRAINT:
        return TN_EUNPROCESSABLE; /* the data does not fit: 422 */
    case DUCKDB_ERROR_CATALOG:
        return TN_ENOTFOUND; /* no such table, function or schema: 404 */
    case DUCKDB_ERROR_PERMISSION:
        return TN_EFORBIDDEN; /* the sandbox refused a file or setting: 403 */
    case DUCKDB_ERROR_INTERRUPT:
    case DUCKDB_ERROR_OUT_OF_MEMORY:
        /* cancelled (the query timeout) or out of memory: SPEC's 503, try again later */
        return TN_EUNAVAILABLE;
    case DUCKDB_ERROR_FATAL:
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_NULL_POINTER:
    case DUCKDB_ERROR_IO:
        return TN_EINTERNAL;
    default:
        return TN_EINPUT; /* the statement itself is wrong: 400 */
    }
}

int tn_engine_fail(struct tn_err *err, int type, const char *msg)
{
    return tn_fail(err, tn_engine_error_code(type), "%s", msg && *msg ? msg : "DuckDB failed");
}
