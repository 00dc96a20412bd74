/* source.c - how DuckDB reads a file to ingest, for the command line and POST /ingest alike.
 *
 * The format comes from the caller, else the file's name, else its content type, else its first
 * bytes (Parquet's magic, a JSON bracket), else CSV; gzip and zstd compression are recognised by
 * their magic bytes. Readers are DuckDB's: read_csv (its sniffer finds delimiter, quoting, header
 * and types), read_json, read_ndjson, read_parquet.
 *
 * Three CSV cases DuckDB's defaults get wrong are handled here:
 *   - Ragged rows (some lines with fewer fields): the sniffer then "skips" the lines before the
 *     longest consistent run, silently dropping rows, or reads the file as one column. When
 *     sniffing with short rows allowed reads the file's shape differently, the file is read with
 *     null_padding (missing fields are NULL), which needs the single-threaded reader when fields
 *     hold newlines.
 *   - Lines longer than DuckDB's 2 MB default: the longest line is measured (by the server while
 *     the upload streams in, and by the scan below, decompressed when compressed) and the limit
 *     is raised to fit it (up to 64 MiB; the limit sizes the reader's buffers, so it is not
 *     raised for every file). Should DuckDB still report a long line, the ingest is retried
 *     once with the 64 MiB limit.
 *   - A value past the sniffer's sample (some thousands of rows) that its column's sampled type
 *     cannot hold (a word in a column of numbers): the file is sniffed again over every row and
 *     the ingest retried once, so a new table's columns hold all their values. A table the
 *     ingest creates is sniffed over every row from the start (files up to 64 MiB).
 *   - A fraction past the sample in a column sniffed as whole numbers, which DuckDB's reader
 *     would round ('1.5' -> 2): such columns are read as text and cast by tarn, so that a
 *     fraction is a conversion error like a word (and then the case above), never rounded.
 *
 * The CSV options a user gives (csv_options.c checks them) or the table remembers go to the
 * sniffer and the reader as SQL string literals (tn_sql_string doubles quotes).
 *
 * Before DuckDB sees a CSV or JSON file, input_limits.c scans it (decompressing it when
 * compressed) and refuses deep nesting, too many columns, overlong lines and compressed files
 * that grow too large, shapes that crash DuckDB or keep it busy for minutes. */
#include "table/table_int.h"
#include "ingest/input_limits.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LINE_MAX (2000000)            /* DuckDB's default max_line_size */
#define LONG_LINE_MAX    TN_INPUT_LINE_MAX    /* the most tarn raises it to */
#define WHOLE_SNIFF_MAX  ((uint64_t)64 << 20) /* a new table's file sniffed whole: its bytes */
_Static_assert(TN_SOURCE_LINE_EXACT <= DEFAULT_LINE_MAX / 2,
               "lines that need a limit are measured");

/*---- The format ----*/

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum tn_source_format tn_source_format_from_name(const char *name)
{
    char base[256];
    size_t n;

    if (!name)
        return TN_SOURCE_DETECT;
    snprintf(base, sizeof(base), "%s", name);
    n = strlen(base);
    if (ends_with(base, ".gz"))
        base[n - 3] = '\0';
    else if (ends_with(base, ".zst"))
        base[n - 4] = '\0';
    if (ends_with(base, ".csv") || ends_with(base, ".tsv") || ends_with(base, ".txt"))
        return TN_SOURCE_CSV;
    if (ends_with(base, ".ndjson") || ends_with(base, ".jsonl"))
        return TN_SOURCE_NDJSON;
    if (ends_with(base, ".json"))
        return TN_SOURCE_JSON;
    if (ends_with(base, ".parquet") || ends_with(base, ".pq"))
        return TN_SOURCE_PARQUET;
    return TN_SOURCE_DETECT;
}

static enum tn_source_format format_from_type(const char *ct)
{
    static const struct {
        const char *type;
        enum tn_source_format f;
    } types[] = {
        {"text/csv", TN_SOURCE_CSV},
        {"application/csv", TN_SOURCE_CSV},
        {"text/tab-separated-values", TN_SOURCE_CSV},
        {"application/json", TN_SOURCE_JSON},
        {"text/json", TN_SOURCE_JSON},
        {"application/x-ndjson", TN_SOURCE_NDJSON},
        {"application/ndjson", TN_SOURCE_NDJSON},
        {"application/jsonl", TN_SOURCE_NDJSON},
        {"application/x-jsonlines", TN_SOURCE_NDJSON},
        {"application/jsonlines", TN_SOURCE_NDJSON},
        {"application/vnd.apache.parquet", TN_SOURCE_PARQUET},
        {"application/x-parquet", TN_SOURCE_PARQUET},
        {"application/parquet", TN_SOURCE_PARQUET},
    };

    if (!ct)
        return TN_SOURCE_DETECT;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i].type);
        if (strncasecmp(ct, types[i].type, n) == 0 &&
            (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return types[i].f;
    }
    return TN_SOURCE_DETECT;
}

enum tn_source_format tn_source_sniff_bytes(const void *data, size_t n, const char **compression)
{
    const unsigned char *head = data;

    *compression = NULL;
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        *compression = "gzip";
        return TN_SOURCE_DETECT;
    }
    if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
        *compression = "zstd";
        return TN_SOURCE_DETECT;
    }
    if (n >= 4 && memcmp(head, "PAR1", 4) == 0)
        return TN_SOURCE_PARQUET;
    for (size_t i = 0; i < n && i < 512; i++) {
        if (i + 2 < n && head[i] == 0xef && head[i + 1] == 0xbb && head[i + 2] == 0xbf) {
            i += 2; /* a UTF-8 byte order mark */
            continue;
        }
        if (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')
            continue;
        return head[i] == '[' || head[i] == '{' ? TN_SOURCE_JSON : TN_SOURCE_DETECT;
    }
    return TN_SOURCE_DETECT;
}

/* Look at the file's first bytes: compression, Parquet's magic, a JSON document. */
static enum tn_source_format sniff_file(const char *path, const char **compression)
{
    unsigned char head[512];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = read(fd, head, sizeof(head));
        close(fd);
    }
    return tn_source_sniff_bytes(head, n > 0 ? (size_t)n : 0, compression);
}

enum tn_source_format tn_source_format_of(const struct tn_source *src,
                                          enum tn_source_format by_bytes)
{
    enum tn_source_format f = src->format;

    if (f == TN_SOURCE_DETECT)
        f = tn_source_format_from_name(src->name);
    if (f == TN_SOURCE_DETECT)
        f = format_from_type(src->content_type);
    if (f == TN_SOURCE_DETECT)
        f = by_bytes;
    return f == TN_SOURCE_DETECT ? TN_SOURCE_CSV : f;
}

/*---- The reader's SQL ----*/

/* ", option = 'value'" when "value" is given. */
static void string_option(struct tn_buf *b, const char *option, const char *value)
{
    if (!value[0])
        return;
    tn_buf_addf(b, NULL, ", %s = ", option);
    tn_sql_string(b, value);
}

/* The CSV options the user gave (or the table remembers): those the sniffer decides on
 * ("sniffed": quote, escape, comment, skip, date and timestamp formats) when the file is
 * sniffed or read without a sniffed dialect, which holds them; the others always. */
static void user_options(struct tn_buf *b, const struct tn_csv_options *o, int sniffed)
{
    if (sniffed) {
        string_option(b, "quote", o->quote);
        string_option(b, "escape", o->escape);
        string_option(b, "comment", o->comment);
        if (o->skip_given)
            tn_buf_addf(b, NULL, ", skip = %ld", o->skip);
        string_option(b, "dateformat", o->dateformat);
        string_option(b, "timestampformat", o->timestampformat);
    }
    string_option(b, "decimal_separator", o->decimal_separator);
    string_option(b, "encoding", o->encoding);
    if (o->nnullstr) {
        tn_buf_addstr(b, ", nullstr = [", NULL);
        for (int i = 0; i < o->nnullstr; i++) {
            tn_buf_addstr(b, i ? ", " : "", NULL);
            tn_sql_string(b, o->nullstr[i]);
        }
        tn_buf_addstr(b, "]", NULL);
    }
}

static void reader_sql(struct tn_buf *b, const char *path, const struct tn_source *r, int sniff)
{
    static const char *const fn[] = {"read_csv", "read_csv", "read_json", "read_ndjson",
                                     "read_parquet"};

    if (sniff)
        tn_buf_addstr(
            b,
            "SELECT len(Columns), SkipRows, Delimiter, Quote, Escape, Comment, HasHeader, "
            "DateFormat, TimestampFormat, to_json(Columns) FROM sniff_csv(",
            NULL);
    else if (r->format == TN_SOURCE_CSV && r->dialect && r->whole_guard)
        tn_buf_addf(b, NULL, "SELECT * REPLACE (%s) FROM read_csv(", r->whole_guard);
    else
        tn_buf_addf(b, NULL, "SELECT * FROM %s(", fn[r->format]);
    if (r->more_paths && !sniff) {
        tn_buf_addstr(b, "[", NULL);
        tn_sql_string(b, path);
        for (size_t i = 0; r->more_paths[i]; i++) {
            tn_buf_addstr(b, ", ", NULL);
            tn_sql_string(b, r->more_paths[i]);
        }
        tn_buf_addstr(b, "]", NULL);
    } else {
        tn_sql_string(b, path);
    }
    if (r->compression && r->format != TN_SOURCE_PARQUET) {
        tn_buf_addstr(b, ", compression = ", NULL);
        tn_sql_string(b, r->compression);
    }
    if (r->format == TN_SOURCE_CSV && r->dialect && !sniff) {
        tn_buf_addstr(b, r->dialect, NULL); /* delimiter and header included */
    } else if (r->format == TN_SOURCE_CSV) {
        if (r->delim[0]) {
            tn_buf_addstr(b, ", delim = ", NULL);
            tn_sql_string(b, r->delim);
        }
        if (r->header != -1)
            tn_buf_addf(b, NULL, ", header = %s", r->header ? "true" : "false");
    }
    if (r->format == TN_SOURCE_CSV) {
        user_options(b, &r->csv, sniff || !r->dialect);
        if (sniff && r->whole_sample)
            tn_buf_addstr(b, ", sample_size = -1", NULL);
        if (r->max_line)
            tn_buf_addf(b, NULL, ", max_line_size = %ld", r->max_line);
        if (r->ragged)
            tn_buf_addf(b, NULL, ", null_padding = true%s", sniff ? "" : ", parallel = false");
    }
    tn_buf_addstr(b, ")", NULL);
}

/* The max_line_size that holds a line or record of "longest" bytes, with room to spare. */
static long line_limit_for(uint64_t longest)
{
    uint64_t need = (longest + (2 << 20)) & ~(uint64_t)((1 << 20) - 1);

    return (long)(need > LONG_LINE_MAX ? LONG_LINE_MAX : need);
}

/* A CSV read or sniff failed: when a record of the file(s) is longer than the limit in use
 * (quoted newlines make a record longer than the lines tn_source_open measured), raise the limit
 * to hold it. 1 when raised: the read is worth trying again. */
static int fit_longest_record(const char *path, struct tn_source *src)
{
    char quote = src->csv.quote[0] ? src->csv.quote[0] : '"';
    char escape = src->csv.escape[0] ? src->csv.escape[0] : quote;
    uint64_t limit = src->max_line ? (uint64_t)src->max_line : DEFAULT_LINE_MAX, longest = 0;
    struct tn_err ignored = {0};

    if (src->format != TN_SOURCE_CSV || limit >= LONG_LINE_MAX)
        return 0;
    for (size_t i = 0; path; path = src->more_paths ? src->more_paths[i++] : NULL) {
        uint64_t n;
        if (tn_input_longest_record(path, quote, escape, &n, &ignored))
            return 0;
        if (n > longest)
            longest = n;
    }
    if (longest + (1 << 20) < limit)
        return 0;
    src->max_line = line_limit_for(longest);
    return 1;
}

/* The CSV reader may have met a value its sniffed column type cannot hold: the sniffer samples
 * some thousands of rows, and a later row holds text in a column of numbers. DuckDB reports that
 * as a conversion error (422), as it does a value that does not fit the table's own type, so
 * any 422 of a sampled CSV is tried once more with the whole file sniffed. */
static int sampled_type_error(const struct tn_err *err)
{
    return err->code == TN_EUNPROCESSABLE;
}

/* A sniffed dialect cell as a SQL string: sniff_csv shows an empty one as "(empty)". */
static void dialect_string(struct tn_buf *b, const char *option, const char *cell)
{
    tn_buf_addf(b, NULL, ", %s = ", option);
    tn_sql_string(b, !cell || strcmp(cell, "(empty)") == 0 ? "" : cell);
}

/* A quote, escape or comment character of sniff_csv's row as the dialect reads it: "" for none. */
static void found_char(char *out, size_t cap, const char *cell)
{
    snprintf(out, cap, "%s", !cell || strcmp(cell, "(empty)") == 0 ? "" : cell);
}

static int whole_number_type(const char *type)
{
    static const char *const types[] = {"TINYINT",  "SMALLINT",  "INTEGER",  "BIGINT",  "HUGEINT",
                                        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"};

    for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/* DuckDB's CSV reader rounds '1.5' to 2 in a column it sniffed as whole numbers from a sample
 * that held none but whole numbers. Such a column is read as text and cast here: a value with a
 * fraction becomes a text no cast takes, a conversion error (422) like a word in a column of
 * numbers, which tn_source_ingest answers by sniffing the whole file. */
static void whole_number_guard(struct tn_buf *g, const char *column, const char *type)
{
    if (g->len)
        tn_buf_addstr(g, ", ", NULL);
    tn_buf_addstr(g, "CAST(CASE WHEN (contains(", NULL);
    tn_sql_ident(g, column);
    tn_buf_addstr(g, ", '.') OR contains(", NULL);
    tn_sql_ident(g, column);
    tn_buf_addstr(g, ", 'e') OR contains(", NULL);
    tn_sql_ident(g, column);
    tn_buf_addstr(g, ", 'E')) AND TRY_CAST(", NULL);
    tn_sql_ident(g, column);
    tn_buf_addstr(g, " AS DOUBLE) IS DISTINCT FROM TRY_CAST(TRY_CAST(", NULL);
    tn_sql_ident(g, column);
    tn_buf_addf(g, NULL, " AS %s) AS DOUBLE) THEN ", type);
    tn_sql_ident(g, column);
    tn_buf_addstr(g, " || ' (not a whole number)' ELSE ", NULL);
    tn_sql_ident(g, column);
    tn_buf_addf(g, NULL, " END AS %s) AS ", type);
    tn_sql_ident(g, column);
}

/* The read_csv options that read the file as the sniffer saw it, so that the statements that
 * follow (DESCRIBE twice, then the COPY) do not sniff it again: row "r" of sniff_csv, columns 3
 * on. Date and timestamp formats DuckDB's own ISO parser reads are left out: it is faster than
 * a format string (the others are noted in "src"). Columns of whole numbers are read as text,
 * with *guard the SELECT list that casts them (see whole_number_guard), or NULL. NULL when the
 * row is not what is expected. */
static char *sniffed_dialect(const struct tn_rows *rows, struct tn_source *src, char **guard)
{
    struct tn_buf g = TN_BUF_INIT(TN_CAP_SQL);
    static const char *const iso_timestamps[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                                 "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"};
    const char *date = tn_rows_get(rows, 0, 7), *ts = tn_rows_get(rows, 0, 8);
    const char *cols_text = tn_rows_get(rows, 0, 9), *key;
    json_t *cols = cols_text ? json_loads(cols_text, 0, NULL) : NULL, *col;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    size_t i;

    *guard = NULL;
    if (!json_is_array(cols) || json_array_size(cols) == 0 || !tn_rows_get(rows, 0, 1) ||
        !tn_rows_get(rows, 0, 6)) {
        json_decref(cols);
        return NULL;
    }
    tn_buf_addstr(&b, ", auto_detect = false", NULL);
    dialect_string(&b, "delim", tn_rows_get(rows, 0, 2));
    dialect_string(&b, "quote", tn_rows_get(rows, 0, 3));
    dialect_string(&b, "escape", tn_rows_get(rows, 0, 4));
    dialect_string(&b, "comment", tn_rows_get(rows, 0, 5));
    tn_buf_addf(&b, NULL, ", skip = %lld, header = %s", strtoll(tn_rows_get(rows, 0, 1), NULL, 10),
                strcmp(tn_rows_get(rows, 0, 6), "true") == 0 ? "true" : "false");
    src->found_skip = strtol(tn_rows_get(rows, 0, 1), NULL, 10);
    src->found_header = strcmp(tn_rows_get(rows, 0, 6), "true") == 0;
    found_char(src->found_quote, sizeof(src->found_quote), tn_rows_get(rows, 0, 3));
    found_char(src->found_escape, sizeof(src->found_escape), tn_rows_get(rows, 0, 4));
    found_char(src->found_comment, sizeof(src->found_comment), tn_rows_get(rows, 0, 5));
    src->found_dateformat[0] = src->found_timestampformat[0] = '\0';
    if (date && strcmp(date, "%Y-%m-%d") != 0) {
        dialect_string(&b, "dateformat", date);
        snprintf(src->found_dateformat, sizeof(src->found_dateformat), "%s", date);
    }
    for (i = 0; ts && i < sizeof(iso_timestamps) / sizeof(*iso_timestamps); i++)
        if (strcmp(ts, iso_timestamps[i]) == 0)
            break;
    if (ts && i == sizeof(iso_timestamps) / sizeof(*iso_timestamps)) {
        dialect_string(&b, "timestampformat", ts);
        snprintf(src->found_timestampformat, sizeof(src->found_timestampformat), "%s", ts);
    }
    tn_buf_addstr(&b, ", columns = {", NULL);
    json_array_foreach(cols, i, col)
    {
        const char *type = json_string_value(json_object_get(col, "type"));
        key = json_string_value(json_object_get(col, "name"));
        if (!key || !type) {
            json_decref(cols);
            tn_buf_release(&b);
            tn_buf_release(&g);
            return NULL;
        }
        if (i)
            tn_buf_addstr(&b, ", ", NULL);
        tn_sql_string(&b, key);
        tn_buf_addstr(&b, ": ", NULL);
        if (whole_number_type(type)) {
            whole_number_guard(&g, key, type);
            type = "VARCHAR";
        }
        tn_sql_string(&b, type);
    }
    tn_buf_addstr(&b, "}", NULL);
    json_decref(cols);
    *guard = g.len ? tn_buf_detach(&g, NULL) : NULL;
    tn_buf_release(&g);
    return tn_buf_detach(&b, NULL);
}

/* What DuckDB's sniffer makes of the file: its row of sniff_csv, or NULL when it fails. */
static struct tn_rows *sniff(struct tn_session *s, const char *path, const struct tn_source *r)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *rows = NULL;
    struct tn_err err = {0};

    reader_sql(&sql, path, r, 1);
    if (tn_engine_rows(s, sql.buf, 1, &rows, &err) || rows->nrows != 1) {
        tn_rows_free(rows);
        rows = NULL;
    }
    tn_buf_release(&sql);
    return rows;
}

/* Sniffed column count, skipped rows and delimiter: how the file's shape was read. */
static int same_shape(const struct tn_rows *a, const struct tn_rows *b)
{
    for (size_t c = 0; c < 3; c++) {
        const char *x = tn_rows_get(a, 0, c), *y = tn_rows_get(b, 0, c);
        if (!x || !y || strcmp(x, y) != 0)
            return 0;
    }
    return 1;
}

/* The sniff with short rows allowed, on its own session: it runs beside the plain one. */
struct padded_sniff {
    struct tn_engine *engine;
    const char *path;
    struct tn_source r; /* ragged set */
    struct tn_rows *rows;
};

static void *sniff_padded(void *arg)
{
    struct padded_sniff *p = arg;
    struct tn_session *s = NULL;
    struct tn_err ignored;

    if (!tn_session_open(p->engine, &s, &ignored)) {
        p->rows = sniff(s, p->path, &p->r);
        tn_session_close(s);
    }
    return NULL;
}

/* Ragged rows: the sniffer reads the file differently when short rows are allowed. Both
 * readings run at once, each on its own session; the dialect of the reading chosen is kept for
 * the reads that follow. */
static void sniff_csv_dialect(struct tn_engine *engine, struct tn_session *s, const char *path,
                              struct tn_source *r)
{
    struct padded_sniff p = {engine, path, *r, NULL};
    struct tn_rows *plain, *padded;
    pthread_t thread;
    int threaded;

    p.r.ragged = 1;
    threaded = pthread_create(&thread, NULL, sniff_padded, &p) == 0;
    r->ragged = 0;
    plain = sniff(s, path, r);
    if (threaded)
        pthread_join(thread, NULL);
    else
        sniff_padded(&p);
    padded = p.rows;
    r->ragged = plain && padded && !same_shape(plain, padded);
    if (r->ragged || plain)
        r->dialect = sniffed_dialect(r->ragged ? padded : plain, r, &r->whole_guard);
    tn_rows_free(plain);
    tn_rows_free(padded);
}

/*---- Long lines ----*/

void tn_source_track_lines(const char *data, size_t n, uint64_t *line_len, uint64_t *longest)
{
    const char *p = data, *end = data + n, *nl;

    while (p < end) {
        size_t span = (size_t)(end - p);
        if (*line_len < TN_SOURCE_LINE_EXACT) {
            if (span > TN_SOURCE_LINE_EXACT - *line_len)
                span = TN_SOURCE_LINE_EXACT - *line_len;
            nl = memrchr(p, '\n', span);
        } else {
            nl = memchr(p, '\n', span);
        }
        *line_len += nl ? (uint64_t)(nl - p) : span;
        if (*line_len > *longest)
            *longest = *line_len;
        if (nl)
            *line_len = 0;
        p = nl ? nl + 1 : p + span;
    }
}

/*---- Reading it ----*/

/* What the request does not give, the table's remembered options do (tn_source_table_dialect). */
static void use_table_dialect(struct tn_source *src)
{
    struct tn_csv_options *o = &src->csv;
    const struct tn_csv_options *t = &src->table_csv;

#define REMEMBERED(field)                                                                          \
    if (!o->field[0])                                                                              \
    memcpy(o->field, t->field, sizeof(o->field))
    if (!src->delim[0])
        memcpy(src->delim, t->delim, sizeof(src->delim));
    REMEMBERED(quote);
    REMEMBERED(escape);
    REMEMBERED(decimal_separator);
    REMEMBERED(dateformat);
    REMEMBERED(timestampformat);
    REMEMBERED(encoding);
#undef REMEMBERED
    if (!o->nnullstr && t->nnullstr) {
        memcpy(o->nullstr, t->nullstr, sizeof(o->nullstr));
        o->nnullstr = t->nnullstr;
    }
}

int tn_source_open(struct tn_engine *engine, struct tn_session *s, const char *path,
                   struct tn_source *src, struct tn_err *err)
{
    enum tn_source_format by_bytes = sniff_file(path, &src->compression);
    struct tn_input_scan scan;
    int rc;

    src->format = tn_source_format_of(src, by_bytes);
    if ((src->delim[0] || src->header != -1) && src->format != TN_SOURCE_CSV)
        return tn_fail(err, TN_EINPUT, "delimiter and header apply to CSV files only");
    if (tn_csv_options_given(&src->csv) && src->format != TN_SOURCE_CSV)
        return tn_fail(err, TN_EINPUT,
                       "CSV options (nullstr, decimal_separator, dateformat, timestampformat, "
                       "encoding, quote, escape, skip, comment) apply to CSV files only");
    if (src->format == TN_SOURCE_CSV)
        use_table_dialect(src);
    if (src->format == TN_SOURCE_PARQUET)
        return 0;
    tn_input_scan_init(&scan, src->format, src->delim);
    rc = tn_input_scan_file(&scan, path, src->compression, src->max_decompressed, src->temp_dir,
                            &src->plain_path, err);
    tn_input_scan_release(&scan);
    for (size_t i = 0; !rc && src->more_paths && src->more_paths[i]; i++) {
        const char *more = src->more_paths[i], *compressed;
        char *unused = NULL; /* set only for a compressed file */
        struct tn_input_scan next;
        sniff_file(more, &compressed);
        if (compressed || src->compression)
            return tn_fail(err, TN_EINPUT, "compressed files are ingested one at a time (%s)",
                           compressed ? more : path);
        tn_input_scan_init(&next, src->format, src->delim);
        rc = tn_input_scan_file(&next, more, NULL, 0, src->temp_dir, &unused, err);
        free(unused);
        if (next.longest_line > scan.longest_line)
            scan.longest_line = next.longest_line;
        tn_input_scan_release(&next);
    }
    if (src->plain_path) {
        src->compression = NULL; /* DuckDB reads the decompressed file */
        path = src->plain_path;
    }
    if (rc || src->format != TN_SOURCE_CSV)
        return rc;
    if (src->plain_path || scan.longest_line > src->longest_line)
        src->longest_line = scan.longest_line; /* the server measured the compressed bytes */
    if (src->longest_line > DEFAULT_LINE_MAX / 2)
        src->max_line = line_limit_for(src->longest_line);
    sniff_csv_dialect(engine, s, path, src);
    if (!src->dialect && fit_longest_record(path, src))
        sniff_csv_dialect(engine, s, path, src);
    return 0;
}

/* Sniff the CSV again over every row, as it was read before (plain or with short rows padded),
 * so that each column's type holds all its values. Keeps the earlier error when it fails. */
static int resniff_whole(struct tn_session *s, const char *path, struct tn_source *src,
                         struct tn_err *err)
{
    struct tn_rows *rows;
    char *dialect, *guard = NULL;

    src->whole_sample = 1;
    rows = sniff(s, path, src);
    dialect = rows ? sniffed_dialect(rows, src, &guard) : NULL;
    tn_rows_free(rows);
    if (!dialect) {
        src->whole_sample = 0; /* still the sample's types */
        return err->code;
    }
    free(src->dialect);
    src->dialect = dialect;
    free(src->whole_guard);
    src->whole_guard = guard;
    return 0;
}

/* A new table's types are for good: they are sniffed from every row of a file up to
 * WHOLE_SNIFF_MAX bytes before the first read. A larger file keeps the sample's types, and a
 * value they cannot hold makes tn_source_ingest sniff it whole then (the retry below); the pass
 * made here spares that failed first read. The bound is in bytes because DuckDB's sniffer does
 * not stop when interrupted (it runs to its end). */
static int whole_sniff_affordable(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && (uint64_t)st.st_size <= WHOLE_SNIFF_MAX;
}

int tn_source_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                     const char *name, const char *path, struct tn_source *src,
                     const struct tn_ingest_options *opt, struct tn_ingest_result *res,
                     struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    int rc = 0;

    if (src->plain_path)
        path = src->plain_path;
    if (src->format == TN_SOURCE_CSV && src->dialect && !src->whole_sample && src->new_table &&
        whole_sniff_affordable(path)) {
        struct tn_err ignored = {0};
        resniff_whole(s, path, src, &ignored); /* on failure the sample's types stay */
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        struct tn_ingest_options o = *opt;
        json_t *dialect = tn_source_dialect_properties(src);
        if (!o.create_properties)
            o.create_properties = dialect;
        tn_buf_reset(&sql);
        reader_sql(&sql, path, src, 0);
        rc = tn_table_ingest_opts(wh, s, ns, name, sql.buf, &o, res, err);
        json_decref(dialect);
        if (rc == TN_EEXISTS)
            continue; /* another writer created the table first: append to it */
        if (rc && err->code == TN_EINPUT && fit_longest_record(path, src))
            continue;
        if (rc && src->format == TN_SOURCE_CSV && src->dialect && !src->whole_sample &&
            sampled_type_error(err)) {
            rc = resniff_whole(s, path, src, err);
            if (!rc)
                continue;
        }
        break;
    }
    tn_buf_release(&sql);
    return rc;
}

int tn_source_stream_sql(struct tn_engine *engine, struct tn_session *s, const char *head_path,
                         const char *stream_path, struct tn_source *src, char **out,
                         struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *cols = NULL;
    int rc;

    *out = NULL;
    rc = tn_source_open(engine, s, head_path, src, err);
    if (rc)
        return rc;
    if (src->compression || src->plain_path ||
        (src->format != TN_SOURCE_CSV && src->format != TN_SOURCE_NDJSON))
        return tn_fail(err, TN_EINPUT, "only plain CSV and NDJSON are read as they arrive");
    if (strcmp(src->csv.encoding, "utf-16") == 0)
        /* the head is cut at a newline byte, which in UTF-16 is half a character */
        return tn_fail(err, TN_EINPUT, "UTF-16 files are read whole, not as they arrive");
    if (src->format == TN_SOURCE_CSV) {
        if (!src->dialect)
            return tn_fail(err, TN_EINPUT, "the CSV's first part could not be sniffed");
        reader_sql(&sql, stream_path, src, 0); /* the sniffed columns, named: no second sniff */
        *out = tn_buf_detach(&sql, NULL);
        return 0;
    }
    /* NDJSON: the first part's columns, named, so that DuckDB reads the stream once */
    tn_buf_addstr(&sql, "DESCRIBE SELECT * FROM read_ndjson(", NULL);
    tn_sql_string(&sql, head_path);
    tn_buf_addstr(&sql, ")", NULL);
    rc = tn_engine_rows(s, sql.buf, 100000, &cols, err);
    if (!rc && cols->nrows == 0)
        rc = tn_fail(err, TN_EINPUT, "the file has no columns");
    if (!rc) {
        tn_buf_reset(&sql);
        tn_buf_addstr(&sql, "SELECT * FROM read_ndjson(", NULL);
        tn_sql_string(&sql, stream_path);
        tn_buf_addstr(&sql, ", columns = {", NULL);
        for (size_t i = 0; i < cols->nrows; i++) {
            tn_buf_addstr(&sql, i ? ", " : "", NULL);
            tn_sql_string(&sql, tn_rows_get(cols, i, 0));
            tn_buf_addstr(&sql, ": ", NULL);
            tn_sql_string(&sql, tn_rows_get(cols, i, 1));
        }
        tn_buf_addstr(&sql, "})", NULL);
        *out = tn_buf_detach(&sql, NULL);
    }
    tn_rows_free(cols);
    tn_buf_release(&sql);
    return rc;
}

void tn_source_warm(struct tn_engine *engine, const char *temp_dir)
{
    static const char rows[] = "id,name,price,day,at,ok\n"
                               "1,a,1.5,2024-01-02,2024-01-02 03:04:05,true\n"
                               "2,\"b, c\",2.25,2024-02-03,2024-02-03 04:05:06,false\n";
    struct tn_source src = {.format = TN_SOURCE_CSV, .header = -1, .temp_dir = temp_dir};
    struct tn_session *s = NULL;
    struct tn_err ignored;
    char uuid[37], *path;
    int fd;

    tn_uuid4(uuid);
    path = tn_asprintf("%s/upload-%ld-%s.warm", temp_dir, (long)getpid(), uuid);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        int written = write(fd, rows, sizeof(rows) - 1) == (ssize_t)(sizeof(rows) - 1);
        if (close(fd) == 0 && written && !tn_session_open(engine, &s, &ignored)) {
            tn_source_open(engine, s, path, &src, &ignored);
            tn_session_close(s);
            tn_source_release(&src);
        }
    }
    unlink(path);
    free(path);
}

int tn_source_preview(struct tn_session *s, const char *path, const struct tn_source *src,
                      size_t max_rows, json_t **out, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    json_t *schema = NULL, *names = NULL, *rows;
    char *select = NULL, *limited = NULL;
    struct tn_rows *r = NULL;
    int rc;

    *out = NULL;
    reader_sql(&sql, path, src, 0);
    rc = tn_schema_infer(s, sql.buf, &schema, &names, &select, err);
    if (!rc) {
        limited = tn_asprintf("SELECT * FROM (%s) LIMIT %zu", select, max_rows);
        rc = tn_engine_rows(s, limited, max_rows, &r, err);
    }
    if (!rc) {
        rows = tn_rows_json(r, r->nrows);
        *out = json_pack("{s:O, s:O, s:o}", "schema", schema, "column_names", names, "rows", rows);
    }
    tn_rows_free(r);
    json_decref(schema);
    json_decref(names);
    free(select);
    free(limited);
    tn_buf_release(&sql);
    return rc;
}

void tn_source_release(struct tn_source *src)
{
    free(src->dialect);
    src->dialect = NULL;
    free(src->whole_guard);
    src->whole_guard = NULL;
    if (src->plain_path)
        unlink(src->plain_path);
    free(src->plain_path);
    src->plain_path = NULL;
}
