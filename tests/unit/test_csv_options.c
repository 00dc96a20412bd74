/* test_csv_options.c - unit tests for src/ingest/csv_options.c and the CSV reading of source.c:
 * each option's checks, the properties a table keeps, values that would break SQL reaching
 * DuckDB as the strings they are, and a fraction past the sniffer's sample never rounded. */
#include "tn_test.h"

#include <stdlib.h>

#include "engine/engine.h"
#include "table/table.h"

static void test_option_checks(void)
{
    static const struct {
        const char *name, *value, *message; /* message NULL: accepted */
    } cases[] = {
        {"quote", "'", NULL},
        {"quote", "ab", "quote must be one visible ASCII character"},
        {"quote", " ", "quote must be one visible ASCII character"},
        {"escape", "", "escape must be one visible ASCII character"},
        {"comment", "\n", "comment must be one visible ASCII character"},
        {"decimal_separator", ",", NULL},
        {"decimal_separator", ";", "decimal_separator must be '.' or ','"},
        {"dateformat", "%d/%m/%Y", NULL},
        {"dateformat", "dd/mm/yyyy", "dateformat must be a strftime format"},
        {"timestampformat", "%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y", "timestampformat must be"},
        {"dateformat", "%d\x01", "dateformat must be"},
        {"encoding", "LATIN1", NULL},
        {"encoding", "ebcdic", "encoding must be utf-8, utf-16 or latin-1"},
        {"skip", "3", NULL},
        {"skip", "-1", "skip must be a number of lines"},
        {"skip", "1000001", "skip must be a number of lines"},
        {"skip", "2x", "skip must be a number of lines"},
        {"nullstr", "NA,empty", NULL},
        {"nullstr", "a,,b", "nullstr has an empty item"},
        {"nullstr", "1,2,3,4,5,6,7,8,9", "nullstr takes at most 8"},
        {"nullstr", "\t", "nullstr must not hold control characters"},
        {"delimiter", ";", "is not a CSV option"},
    };
    struct tn_csv_options o;
    struct tn_err err = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        tn_csv_options_init(&o);
        rc = tn_csv_option_set(&o, cases[i].name, cases[i].value, &err);
        if (!cases[i].message && rc)
            tn_test_failed(__FILE__, __LINE__, "%s=%s refused: %s", cases[i].name, cases[i].value,
                           err.msg);
        if (cases[i].message) {
            CHECK_INT_EQ(rc, TN_EINPUT);
            CHECK_CONTAINS(err.msg, cases[i].message);
        }
    }
    tn_csv_options_init(&o);
    CHECK(!tn_csv_options_given(&o));
    CHECK_OK(tn_csv_option_set(&o, "encoding", "iso-8859-1", &err));
    CHECK_STR_EQ(o.encoding, "latin-1");
    CHECK(tn_csv_options_given(&o));
    CHECK_OK(tn_csv_option_set(&o, "nullstr", "NA,empty,-", &err));
    CHECK_INT_EQ(o.nnullstr, 3);
    CHECK_STR_EQ(o.nullstr[1], "");
    CHECK_STR_EQ(o.nullstr[2], "-");
    CHECK_OK(tn_csv_option_set(&o, "skip", "0", &err));
    CHECK(o.skip_given && o.skip == 0);
}

static void test_dialect_properties(void)
{
    struct tn_source src = {0};
    struct tn_err err = {0};
    json_t *p;

    src.format = TN_SOURCE_CSV;
    CHECK(tn_source_dialect_properties(&src) == NULL); /* nothing given, nothing found */
    snprintf(src.delim, sizeof(src.delim), ";");
    CHECK_OK(tn_csv_option_set(&src.csv, "nullstr", "NA,empty", &err));
    CHECK_OK(tn_csv_option_set(&src.csv, "decimal_separator", ",", &err));
    snprintf(src.found_dateformat, sizeof(src.found_dateformat), "%%m/%%d/%%Y");
    p = tn_source_dialect_properties(&src);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tarn.csv.delimiter")), ";");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tarn.csv.nullstr")), "NA,empty");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tarn.csv.decimal_separator")), ",");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tarn.csv.dateformat")), "%m/%d/%Y");
    CHECK(json_object_get(p, "tarn.csv.encoding") == NULL);
    json_decref(p);
    /* a date format given wins over the one found */
    CHECK_OK(tn_csv_option_set(&src.csv, "dateformat", "%d.%m.%Y", &err));
    p = tn_source_dialect_properties(&src);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "tarn.csv.dateformat")), "%d.%m.%Y");
    json_decref(p);
    src.format = TN_SOURCE_NDJSON;
    CHECK(tn_source_dialect_properties(&src) == NULL);
}

/* Write "text" to a new file in "dir"; the caller frees the path. */
static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = tn_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Open "path" as a CSV with "src"'s options and read "sql_tail" (e.g. "SELECT n FROM (%s)")
 * over it; the first cell of the first row, or the error message, into "out". */
static int read_cell(struct tn_engine *e, struct tn_session *s, const char *path,
                     struct tn_source *src, char *out, size_t cap)
{
    struct tn_err err = {0};
    json_t *preview = NULL;
    int rc;

    src->format = TN_SOURCE_CSV;
    src->header = -1;
    rc = tn_source_open(e, s, path, src, &err);
    if (!rc)
        rc = tn_source_preview(s, path, src, 5, &preview, &err);
    if (rc) {
        snprintf(out, cap, "%s", err.msg);
    } else {
        json_t *cell = json_array_get(json_array_get(json_object_get(preview, "rows"), 0), 1);
        snprintf(out, cap, "%s", json_is_string(cell) ? json_string_value(cell) : "NULL");
    }
    json_decref(preview);
    tn_source_release(src);
    return rc;
}

static void test_hostile_values_are_strings(void)
{
    static const char *const hostile[] = {"x');--", "a'b", "\\'", "%s%n", "$$", "NULL"};
    const char *dirs[] = {tn_test_tmpdir(), NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    struct tn_engine *e = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};

    CHECK_OK(tn_engine_open(&opt, &e, &err));
    if (!e)
        return;
    CHECK_OK(tn_session_open(e, &s, &err));
    for (size_t i = 0; s && i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *text = tn_asprintf("id,v\n1,%s\n2,plain\n", hostile[i]), *path, *name, cell[512];
        struct tn_source src = {0};
        name = tn_asprintf("hostile%zu.csv", i);
        path = write_file(dirs[0], name, text);
        CHECK_OK(tn_csv_option_set(&src.csv, "nullstr", hostile[i], &err));
        CHECK_INT_EQ(read_cell(e, s, path, &src, cell, sizeof(cell)), 0);
        if (strcmp(cell, "NULL") != 0)
            tn_test_failed(__FILE__, __LINE__, "nullstr '%s' did not match itself: %s", hostile[i],
                           cell);
        free(text);
        free(name);
        free(path);
    }
    tn_session_close(s);
    tn_engine_close(e);
}

static void test_fraction_is_not_rounded(void)
{
    const char *dirs[] = {tn_test_tmpdir(), NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    struct tn_engine *e = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    struct tn_buf text = TN_BUF_INIT(0);
    struct tn_source src = {0};
    struct tn_rows *r = NULL;
    char *path;

    CHECK_OK(tn_engine_open(&opt, &e, &err));
    if (!e)
        return;
    CHECK_OK(tn_session_open(e, &s, &err));
    tn_buf_addstr(&text, "id,n\n", NULL);
    for (int i = 1; i <= 30000; i++)
        tn_buf_addf(&text, NULL, "%d,%s\n", i, i == 25000 ? "1.5" : "4");
    path = write_file(dirs[0], "late.csv", text.buf);
    src.format = TN_SOURCE_CSV;
    src.header = -1;
    CHECK_OK(tn_source_open(e, s, path, &src, &err));
    /* the sample (the first 20480 rows) held whole numbers only */
    CHECK(src.whole_guard != NULL);
    CHECK_CONTAINS(src.dialect, "'n': 'VARCHAR'");
    /* read as the sniffer typed it, 1.5 becomes a conversion error, not 2 */
    tn_buf_reset(&text);
    tn_buf_addf(&text, NULL, "SELECT sum(n) FROM (SELECT * REPLACE (%s) FROM read_csv(",
                src.whole_guard ? src.whole_guard : "n AS n");
    tn_sql_string(&text, path);
    tn_buf_addf(&text, NULL, "%s))", src.dialect ? src.dialect : "");
    CHECK_INT_EQ(tn_engine_rows(s, text.buf, 1, &r, &err), TN_EUNPROCESSABLE);
    CHECK_CONTAINS(err.msg, "1.5 (not a whole number)");
    tn_rows_free(r);
    tn_source_release(&src);
    tn_buf_release(&text);
    free(path);
    tn_session_close(s);
    tn_engine_close(e);
}

static const struct tn_test csv_options_tests[] = {
    {"each CSV option is checked", test_option_checks},
    {"a table keeps the options given and the formats found", test_dialect_properties},
    {"values that would break SQL are only strings", test_hostile_values_are_strings},
    {"a fraction past the sample is refused, never rounded", test_fraction_is_not_rounded},
    {NULL, NULL},
};
TN_SUITE(csv_options_tests)
