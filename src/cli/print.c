/* print.c - how the command line shows results: aligned tables (numbers right-aligned, long
 * cells cut), CSV cells as the HTTP API writes them, a CSV parser for results that come back
 * from a server, and the fixed layouts of describe, history and the ingest summary (scripts
 * read those by column, so they do not change with the terminal). */
#include "cli/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CELL_MAX_WIDTH 60
#define CSV_MAX_ROWS   10000000

/* Characters (not bytes) in UTF-8 text. */
static size_t display_width(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

/* A cell as shown: control characters escaped, cut to "max" characters with an ellipsis. */
static char *cell_text(const char *v, size_t max)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_RESULT);
    size_t chars = 0, total = display_width(v);

    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p & 0xc0) != 0x80) {
            if (total > max && chars + 1 == max) {
                tn_buf_addstr(&b, "\xe2\x80\xa6", NULL); /* U+2026 */
                break;
            }
            chars++;
        }
        if (*p == '\n')
            tn_buf_addstr(&b, "\\n", NULL);
        else if (*p == '\t')
            tn_buf_addstr(&b, "\\t", NULL);
        else if (*p == '\r')
            tn_buf_addstr(&b, "\\r", NULL);
        else if (*p < 0x20)
            tn_buf_add(&b, "?", 1, NULL);
        else
            tn_buf_add(&b, p, 1, NULL);
    }
    return b.buf ? tn_buf_detach(&b, NULL) : tn_strdup("");
}

static int is_number(const char *s)
{
    const char *p = s;

    if (*p == '-' || *p == '+')
        p++;
    if (strcmp(p, "inf") == 0 || strcmp(p, "nan") == 0 || strcmp(p, "Infinity") == 0 ||
        strcmp(s, "NaN") == 0)
        return 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

void cli_print_table(FILE *f, const struct tn_rows *r)
{
    size_t *w = tn_calloc(r->ncols + 1, sizeof(size_t));
    int *right = tn_calloc(r->ncols + 1, sizeof(int));
    char **shown = tn_calloc(r->ncols * r->nrows + 1, sizeof(char *));

    for (size_t c = 0; c < r->ncols; c++) {
        int numbers = 0, others = 0;
        w[c] = display_width(r->names[c]);
        for (size_t i = 0; i < r->nrows; i++) {
            const char *v = tn_rows_get(r, i, c);
            char *t = cell_text(v ? v : "NULL", CELL_MAX_WIDTH);
            size_t n = display_width(t);
            if (v && is_number(v))
                numbers++;
            else if (v)
                others++;
            if (n > w[c])
                w[c] = n;
            shown[i * r->ncols + c] = t;
        }
        right[c] = numbers > 0 && others == 0;
    }
    for (size_t c = 0; c < r->ncols; c++) {
        size_t n = display_width(r->names[c]);
        fputs(c ? " | " : "", f);
        if (right[c])
            for (size_t k = n; k < w[c]; k++)
                fputc(' ', f);
        fputs(r->names[c], f);
        if (!right[c] && c + 1 < r->ncols)
            for (size_t k = n; k < w[c]; k++)
                fputc(' ', f);
    }
    fputc('\n', f);
    for (size_t c = 0; c < r->ncols; c++) {
        fputs(c ? "-+-" : "", f);
        for (size_t k = 0; k < w[c]; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t c = 0; c < r->ncols; c++) {
            const char *t = shown[i * r->ncols + c];
            size_t n = display_width(t);
            fputs(c ? " | " : "", f);
            if (right[c])
                for (size_t k = n; k < w[c]; k++)
                    fputc(' ', f);
            fputs(t, f);
            if (!right[c] && c + 1 < r->ncols)
                for (size_t k = n; k < w[c]; k++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
    fprintf(f, "(%zu row%s)\n", r->nrows, r->nrows == 1 ? "" : "s");
    for (size_t i = 0; i < r->ncols * r->nrows; i++)
        free(shown[i]);
    free(shown);
    free(right);
    free(w);
}

void cli_print_csv_cell(FILE *f, const char *v, size_t n, char sep)
{
    size_t start = 0;

    if (!v)
        return;
    if (n && !memchr(v, sep, n) && !memchr(v, '"', n) && !memchr(v, '\n', n) &&
        !memchr(v, '\r', n)) {
        fwrite(v, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"') {
            fwrite(v + start, 1, i + 1 - start, f);
            fputc('"', f);
            start = i + 1;
        }
    }
    fwrite(v + start, 1, n - start, f);
    fputc('"', f);
}

/*---- CSV from a server, with another separator or without its header ----*/

struct csv_rewriter {
    FILE *to;
    char sep;
    int header;
    struct tn_buf field;
    int in_quotes, quote_seen; /* quote_seen: a quote just closed a quoted part */
    int quoted;                /* the field had quotes: empty is "", not NULL */
    size_t record, column;
};

static void rewriter_field_end(struct csv_rewriter *w)
{
    if (w->record > 0 || w->header) {
        if (w->column)
            fputc(w->sep, w->to);
        if (w->field.len || w->quoted)
            cli_print_csv_cell(w->to, w->field.buf ? w->field.buf : "", w->field.len, w->sep);
    }
    tn_buf_reset(&w->field);
    w->quoted = 0;
    w->column++;
}

static void rewriter_record_end(struct csv_rewriter *w)
{
    rewriter_field_end(w);
    if (w->record > 0 || w->header)
        fputc('\n', w->to);
    w->record++;
    w->column = 0;
}

static ssize_t rewriter_write(void *cookie, const char *buf, size_t n)
{
    struct csv_rewriter *w = cookie;

    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (w->in_quotes) {
            if (ch == '"') {
                w->in_quotes = 0;
                w->quote_seen = 1;
            } else if (tn_buf_add(&w->field, &ch, 1, NULL)) {
                return -1;
            }
            continue;
        }
        if (ch == '"') { /* opens a quoted part; right after one closed, it is a quote */
            if (w->quote_seen && tn_buf_add(&w->field, &ch, 1, NULL))
                return -1;
            w->in_quotes = w->quoted = 1;
            w->quote_seen = 0;
            continue;
        }
        w->quote_seen = 0;
        if (ch == ',')
            rewriter_field_end(w);
        else if (ch == '\n')
            rewriter_record_end(w);
        else if (ch != '\r' && tn_buf_add(&w->field, &ch, 1, NULL))
            return -1;
    }
    return (ssize_t)n;
}

static int rewriter_close(void *cookie)
{
    struct csv_rewriter *w = cookie;

    if (w->field.len || w->quoted || w->column)
        rewriter_record_end(w);
    tn_buf_release(&w->field);
    free(w);
    return 0;
}

FILE *cli_csv_rewriter(FILE *to, char sep, int header)
{
    cookie_io_functions_t io = {NULL, rewriter_write, NULL, rewriter_close};
    struct csv_rewriter *w = tn_calloc(1, sizeof(*w));
    FILE *f;

    w->to = to;
    w->sep = sep;
    w->header = header;
    w->field = (struct tn_buf)TN_BUF_INIT(TN_CAP_VALUE);
    f = fopencookie(w, "w", io);
    if (!f)
        free(w);
    return f;
}

/*---- CSV from a server ----*/

struct csv_builder {
    char **cells;
    size_t n, cap;
};

static void csv_push(struct csv_builder *b, char *cell)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->cells = tn_realloc(b->cells, b->cap * sizeof(char *));
    }
    b->cells[b->n++] = cell;
}

int cli_rows_from_csv(const char *text, size_t len, struct tn_rows **out, struct tn_err *err)
{
    struct csv_builder b = {NULL, 0, 0};
    struct tn_buf cell = TN_BUF_INIT(TN_CAP_RESPONSE);
    size_t i = 0, ncols = 0, fields = 0, lines = 0;
    struct tn_rows *r;
    int rc = 0;

    while (i < len) {
        int quoted = 0;
        tn_buf_reset(&cell);
        if (text[i] == '"') {
            quoted = 1;
            for (i++;; i++) {
                if (i >= len) {
                    rc = tn_fail(err, TN_EINPUT, "the server's CSV ends inside a quoted field");
                    goto out;
                }
                if (text[i] == '"') {
                    if (i + 1 < len && text[i + 1] == '"') {
                        tn_buf_add(&cell, "\"", 1, NULL);
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                tn_buf_add(&cell, text + i, 1, NULL);
            }
        } else {
            size_t start = i;
            while (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                i++;
            tn_buf_add(&cell, text + start, i - start, NULL);
        }
        if (lines == 0)
            csv_push(&b, tn_strdup(cell.buf ? cell.buf : ""));
        else
            csv_push(&b, quoted || cell.len ? tn_strdup(cell.buf ? cell.buf : "") : NULL);
        fields++;
        if (i < len && text[i] == ',') {
            i++;
            continue;
        }
        if (i < len && text[i] == '\r')
            i++;
        if (i < len && text[i] != '\n') {
            rc = tn_fail(err, TN_EINPUT, "the server's CSV has text after a quoted field");
            goto out;
        }
        i++; /* the newline */
        if (lines == 0)
            ncols = fields;
        else if (fields != ncols) {
            rc = tn_fail(err, TN_EINPUT, "the server's CSV has a line of %zu fields, not %zu",
                         fields, ncols);
            goto out;
        }
        if (++lines > CSV_MAX_ROWS) {
            rc = tn_fail(err, TN_ETOOBIG, "more than %d rows to show as a table; use --format csv",
                         CSV_MAX_ROWS);
            goto out;
        }
        fields = 0;
    }
    if (fields) {
        rc = tn_fail(err, TN_EINPUT, "the server's CSV ends in the middle of a line");
        goto out;
    }
    r = tn_calloc(1, sizeof(*r));
    r->ncols = ncols;
    r->nrows = lines ? lines - 1 : 0;
    r->names = tn_calloc(ncols + 1, sizeof(char *));
    r->cells = tn_calloc(ncols * r->nrows + 1, sizeof(char *));
    if (ncols)
        memcpy(r->names, b.cells, ncols * sizeof(char *));
    if (ncols && r->nrows)
        memcpy(r->cells, b.cells + ncols, ncols * r->nrows * sizeof(char *));
    b.n = 0; /* the cells belong to r now */
    *out = r;
out:
    for (size_t k = 0; k < b.n; k++)
        free(b.cells[k]);
    free(b.cells);
    tn_buf_release(&cell);
    return rc;
}

/* The HTTP API's parameter syntax in a message (key=id), as the command line spells it
 * (--key id). */
static void cli_syntax(char *msg, size_t cap)
{
    static const struct {
        const char *http, *cli;
    } words[] = {{"key=", "--key "},       {"mode=", "--mode "},
                 {"evolve=", "--evolve "}, {"partition_by=", "--partition-by "},
                 {"dedupe=", "--dedupe "}, {"branch=", "--branch "},
                 {"format=", "--format "}, {"snapshot_id=", "--snapshot "},
                 {"as_of=", "--as-of "},   {"dry_run=", "--dry-run "}};

    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t hl = strlen(words[w].http), cl = strlen(words[w].cli);
        char *p = msg;
        while ((p = strstr(p, words[w].http)) != NULL) {
            size_t rest = strlen(p + hl);
            /* a whole word: not the end of another (e.g. "pkey=") */
            if ((p > msg && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-')) ||
                (size_t)(p - msg) + cl + rest + 1 > cap) {
                p += hl;
                continue;
            }
            memmove(p + cl, p + hl, rest + 1);
            memcpy(p, words[w].cli, cl);
            p += cl;
        }
    }
}

void cli_print_error(const struct tn_err *err)
{
    struct tn_err shown = *err;
    char *msg = shown.msg;

    tn_engine_error_scrub(&shown);
    cli_syntax(msg, sizeof(shown.msg));
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "tarn: %s\n", msg);
}

/*---- Fixed layouts ----*/

void cli_print_describe(const char *ns, const char *name, const char *location, int format_version,
                        int64_t current_snapshot_id, const struct tn_schema *schema)
{
    printf("table %s.%s\nlocation %s\nformat-version %d\ncurrent-snapshot-id %lld\n", ns, name,
           location ? location : "", format_version, (long long)current_snapshot_id);
    printf("%-6s %-30s %-30s %-8s %s\n", "id", "name", "type", "required", "doc");
    for (size_t i = 0; schema && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        const char *doc = json_string_value(json_object_get(f->json, "doc"));
        char type[128];
        struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
        if (tn_type_is_primitive(f->type)) {
            tn_type_name(f->type, type, sizeof(type));
        } else {
            tn_type_duckdb(f->type, &b, NULL);
            snprintf(type, sizeof(type), "%s", b.buf ? b.buf : "");
        }
        /* the doc holds the name a sanitised column had in its file */
        printf("%-6d %-30s %-30s %-8s %s\n", f->id, f->name, type, f->required ? "yes" : "no",
               doc ? doc : "");
        tn_buf_release(&b);
    }
}

static const char *source_name(const struct tn_schema *schema, const json_t *field)
{
    const struct tn_field *f =
        schema
            ? tn_schema_find(schema, (int)json_integer_value(json_object_get(field, "source-id")))
            : NULL;
    return f ? f->name : "?";
}

void cli_print_table_extras(const struct tn_schema *schema, const json_t *spec,
                            const json_t *identifier_fields, const json_t *sort_order,
                            const json_t *properties)
{
    const json_t *v;
    const char *k;
    size_t i;

    printf("partition-spec ");
    if (!json_array_size(json_object_get(spec, "fields")))
        printf("unpartitioned");
    json_array_foreach(json_object_get(spec, "fields"), i, v)
    {
        const char *tr = json_string_value(json_object_get(v, "transform"));
        printf("%s%s(%s) as %s", i ? ", " : "", tr ? tr : "?", source_name(schema, v),
               json_string_value(json_object_get(v, "name"))
                   ? json_string_value(json_object_get(v, "name"))
                   : "?");
    }
    printf("\nidentifier-fields ");
    if (!json_array_size(identifier_fields))
        printf("-");
    json_array_foreach(identifier_fields, i, v)
    {
        printf("%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "?");
    }
    printf("\nsort-order ");
    if (!json_array_size(json_object_get(sort_order, "fields")))
        printf("unsorted");
    json_array_foreach(json_object_get(sort_order, "fields"), i, v)
    {
        const char *tr = json_string_value(json_object_get(v, "transform"));
        const char *dir = json_string_value(json_object_get(v, "direction"));
        const char *nulls = json_string_value(json_object_get(v, "null-order"));
        printf("%s%s%s%s%s %s %s", i ? ", " : "", tr && strcmp(tr, "identity") ? tr : "",
               tr && strcmp(tr, "identity") ? "(" : "", source_name(schema, v),
               tr && strcmp(tr, "identity") ? ")" : "", dir ? dir : "asc",
               nulls ? nulls : "nulls-first");
    }
    printf("\nproperties%s\n", json_object_size(properties) ? "" : " -");
    json_object_foreach((json_t *)properties, k, v)
    {
        printf("  %s = %s\n", k, json_string_value(v) ? json_string_value(v) : "");
    }
}

/* "when" (epoch ms) as ISO-8601 in the local zone: 2026-12-07T05:41:19.665+01:00. */
static void local_time(int64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char zone[8] = "";

    *out = '\0';
    if (localtime_r(&secs, &tm)) {
        size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(zone, sizeof(zone), "%z", &tm);
        snprintf(out + n, cap - n, ".%03d%.3s:%.2s", (int)(ms % 1000), zone,
                 zone[0] ? zone + 3 : "");
    }
}

void cli_print_tables_header(void)
{
    printf("%-40s %12s %8s %10s  %s\n", "table", "rows", "files", "size", "last_change");
}

void cli_print_tables_row(const char *ns, const char *name, int64_t rows, int64_t files,
                          int64_t bytes, int64_t last_ms)
{
    char qualified[2 * TN_NAME_MAX + 2], size[32], when[40];
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;

    snprintf(qualified, sizeof(qualified), "%s.%s", ns, name);
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(size, sizeof(size), u ? "%.1f %s" : "%.0f %s", v, units[u]);
    local_time(last_ms, when, sizeof(when));
    printf("%-40s %12lld %8lld %10s  %s\n", qualified, (long long)rows, (long long)files, size,
           when);
}

void cli_print_history_header(void)
{
    printf("%-20s %-20s %-8s %-29s %-10s %10s %10s\n", "snapshot_id", "parent_id", "sequence",
           "committed_at", "operation", "added", "deleted");
}

/* A summary count ("added-records": "12") as a number, 0 when absent. */
static long long summary_count(const json_t *summary, const char *key)
{
    const char *v = json_string_value(json_object_get(summary, key));
    int64_t n = 0;

    if (v && tn_parse_i64(v, &n))
        n = 0;
    return (long long)n;
}

void cli_print_history_row(int64_t id, int64_t parent_id, int64_t sequence, int64_t timestamp_ms,
                           const char *operation, const json_t *summary)
{
    char parent[24] = "-", when[40];

    if (parent_id != -1)
        snprintf(parent, sizeof(parent), "%lld", (long long)parent_id);
    local_time(timestamp_ms, when, sizeof(when));
    printf("%-20lld %-20s %-8lld %-29s %-10s %10lld %10lld\n", (long long)id, parent,
           (long long)sequence, when, operation ? operation : "",
           summary_count(summary, "added-records"),
           summary_count(summary, "deleted-records") +
               summary_count(summary, "added-position-deletes") +
               summary_count(summary, "added-equality-deletes"));
}

void cli_print_ingest(const char *ns, const char *name, int created, int upsert, int64_t rows,
                      int64_t updated, int64_t files, int64_t snapshot_id, int64_t sequence,
                      double seconds)
{
    if (upsert && !created)
        printf("%s.%s: updated %lld and inserted %lld rows in %lld file(s)", ns, name,
               (long long)updated, (long long)(rows - updated > 0 ? rows - updated : 0),
               (long long)files);
    else
        printf("%s.%s: %s %lld rows in %lld file(s)", ns, name, created ? "created with" : "added",
               (long long)rows, (long long)files);
    printf(", snapshot %lld (sequence %lld), %.1f s", (long long)snapshot_id, (long long)sequence,
           seconds);
    if (seconds >= 0.05 && rows > 0)
        printf(", %.0f rows/s", (double)rows / seconds);
    putchar('\n');
}
