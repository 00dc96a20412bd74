/* errors.c - DuckDB's errors as tarn's error codes, by the error's type (duckdb_error_type), in
 * one place: every failed DuckDB call of the engine module goes through tn_engine_fail, so the
 * layers above decide by err->code and never by DuckDB's message text. */
#include "engine/engine.h"

#include <duckdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A full disk reaches DuckDB as errno ENOSPC or EDQUOT, which its IO errors carry only as the C
 * library's words for them (strerror): the C API gives no errno. */
static int disk_full(int type, const char *msg)
{
    return type == DUCKDB_ERROR_IO && msg &&
           (strstr(msg, strerror(ENOSPC)) || strstr(msg, strerror(EDQUOT)));
}

int tn_engine_fail(struct tn_err *err, int type, const char *msg)
{
    int code = disk_full(type, msg) ? TN_ENOSPACE : tn_engine_error_code(type);

    return tn_fail(err, code, "%s", msg && *msg ? msg : "DuckDB failed");
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

/*---- What users see of an error ----*/

/* Replace msg[at, at + len) by "with" (msg holds "cap" bytes; the end is cut to fit). */
static void splice(char *msg, size_t cap, size_t at, size_t len, const char *with)
{
    char *tail = tn_strdup(msg + at + len);

    snprintf(msg + at, cap - at, "%s%s", with, tail);
    free(tail);
}

static int internal_name(const char *p, size_t len)
{
    return (len >= 4 && strncmp(p, "_tn_", 4) == 0) || (len >= 5 && strncmp(p, "__tn_", 5) == 0) ||
           (len == 15 && strncmp(p, "file_row_number", 15) == 0);
}

/* "Candidate bindings: "a", "_tn_pos"": tarn's own columns leave the list (and an empty list
 * goes). */
static void scrub_candidates(char *msg, size_t cap)
{
    char *list = strstr(msg, "Candidate bindings: ");
    char *p, *end;
    struct tn_buf kept = TN_BUF_INIT(TN_CAP_MESSAGE_LIST);

    if (!list)
        return;
    p = list + strlen("Candidate bindings: ");
    end = p;
    while (*end == '"') {
        char *close = strchr(end + 1, '"');
        if (!close)
            break;
        if (!internal_name(end + 1, (size_t)(close - end - 1)))
            tn_buf_addf(&kept, NULL, "%s%.*s", kept.len ? ", " : "", (int)(close - end + 1), end);
        end = close + 1;
        if (strncmp(end, ", ", 2) == 0 && end[2] == '"')
            end += 2;
    }
    if (kept.len)
        splice(msg, cap, (size_t)(p - msg), (size_t)(end - p), kept.buf);
    else
        splice(msg, cap, (size_t)(list - msg - (list > msg && list[-1] == ' ')),
               (size_t)(end - list + (list > msg && list[-1] == ' ')), "");
    tn_buf_release(&kept);
}

/* A server's temporary file's path (…/upload-PID-UUID, …/query-…) as words. */
static void scrub_paths(char *msg, size_t cap)
{
    static const struct {
        const char *marker, *words;
    } kinds[] = {{"/upload-", "the uploaded file"}, {"/query-", "a temporary file"}};

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char *hit;
        while ((hit = strstr(msg, kinds[k].marker)) != NULL) {
            char *start = hit, *end = hit + strlen(kinds[k].marker);
            while (start > msg && !strchr(" \"'(=", start[-1]))
                start--;
            while (*end && !strchr(" \"'),;\n", *end))
                end++;
            if (start > msg && end[0] && start[-1] == end[0] && strchr("\"'", end[0])) {
                start--; /* the quotes go with the path */
                end++;
            }
            /* "in file /x/upload-..." reads "in the uploaded file" */
            if ((size_t)(start - msg) >= 5 && strncmp(start - 5, "file ", 5) == 0)
                start -= 5;
            splice(msg, cap, (size_t)(start - msg), (size_t)(end - start), kinds[k].words);
        }
    }
}

void tn_engine_error_scrub(struct tn_err *err)
{
    char *line = strstr(err->msg, "\n\nLINE ");
    long have = 0, want = 0;
    char *hit;

    /* DuckDB's "LINE 1: ..." excerpt shows the statement tarn ran, not the user's */
    if (line)
        *line = '\0';
    /* INSERT's rows, named for the target's columns by tarn */
    if ((hit = strstr(err->msg, "table \"_tn_rows\" has ")) != NULL &&
        sscanf(hit, "table \"_tn_rows\" has %ld columns available but %ld columns specified", &have,
               &want) == 2) {
        char words[200];
        snprintf(words, sizeof(words),
                 "INSERT: each row has %ld value%s but %ld column%s to fill (the table's, or the "
                 "column list's); give one value per column, or name the columns you fill",
                 have, have == 1 ? "" : "s", want, want == 1 ? "" : "s");
        splice(err->msg, sizeof(err->msg), (size_t)(hit - err->msg), strlen(hit), words);
    }
    scrub_candidates(err->msg, sizeof(err->msg));
    scrub_paths(err->msg, sizeof(err->msg));
    /* a relation tarn put in the statement's place, or its rows: the user's table */
    while ((hit = strstr(err->msg, "__tn_relation_")) != NULL) {
        char *end = hit + strlen("__tn_relation_");
        while ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f') || *end == '_')
            end++;
        splice(err->msg, sizeof(err->msg), (size_t)(hit - err->msg), (size_t)(end - hit),
               "(a table)");
    }
}
