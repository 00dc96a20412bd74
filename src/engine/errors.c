/* errors.c - DuckDB's errors as tarn's error codes, by the error's type (duckdb_error_type), in
 * one place: every failed DuckDB call of the engine module goes through tn_engine_fail, so the
 * layers above decide by err->code and never by DuckDB's message text. */
#include "engine/engine.h"

#include <duckdb.h>
#include <string.h>

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

/* DuckDB 1.4's C API gives a failed prepare only its message, not its error type
 * (duckdb_prepare_error); the message starts with the type's name as DuckDB's ErrorData writes
 * it ("Catalog Error: ..."). That prefix is read here, the one place, and nowhere else. */
int tn_engine_fail_prepare(struct tn_err *err, const char *msg)
{
    static const struct {
        const char *prefix;
        duckdb_error_type type;
    } kinds[] = {
        {"Catalog Error: ", DUCKDB_ERROR_CATALOG},
        {"Permission Error: ", DUCKDB_ERROR_PERMISSION},
        {"Conversion Error: ", DUCKDB_ERROR_CONVERSION},
        {"Out of Range Error: ", DUCKDB_ERROR_OUT_OF_RANGE},
        {"Constraint Error: ", DUCKDB_ERROR_CONSTRAINT},
        {"Binder Error: ", DUCKDB_ERROR_BINDER},
        {"Parser Error: ", DUCKDB_ERROR_PARSER},
        {"INTERRUPT Error: ", DUCKDB_ERROR_INTERRUPT},
        {"Out of Memory Error: ", DUCKDB_ERROR_OUT_OF_MEMORY},
        {"IO Error: ", DUCKDB_ERROR_IO},
        {"INTERNAL Error: ", DUCKDB_ERROR_INTERNAL},
    };

    for (size_t i = 0; msg && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strncmp(msg, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
            return tn_engine_fail(err, kinds[i].type, msg);
    return tn_engine_fail(err, DUCKDB_ERROR_INVALID, msg);
}
