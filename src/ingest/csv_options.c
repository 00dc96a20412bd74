/* csv_options.c - the CSV options a user may give an ingest (nullstr, decimal_separator,
 * dateformat, timestampformat, encoding, quote, escape, comment, skip), checked one by one
 * before DuckDB sees them, and the "tarn.csv.*" properties through which a table remembers the
 * dialect it was created with. The values reach DuckDB only as SQL string literals made by
 * tn_sql_string (source.c), after these checks: short, without control characters. */
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const tn_csv_option_names[] = {
    "delimiter",  "quote",           "escape",   "comment", "decimal_separator",
    "dateformat", "timestampformat", "encoding", "nullstr", "skip",
    NULL,
};

#define SKIP_MAX 1000000L /* lines a file may skip before its header */

void tn_csv_options_init(struct tn_csv_options *o)
{
    memset(o, 0, sizeof(*o));
}

int tn_csv_options_given(const struct tn_csv_options *o)
{
    return o->quote[0] || o->escape[0] || o->comment[0] || o->decimal_separator[0] ||
           o->dateformat[0] || o->timestampformat[0] || o->encoding[0] || o->nnullstr ||
           o->skip_given;
}

/* Text without control characters (bytes below 0x20 and DEL): what may become a literal. */
static int plain_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int one_byte(const char *name, const char *value, char out[2], struct tn_err *err)
{
    unsigned char c = (unsigned char)value[0];

    if (strlen(value) != 1 || c <= 0x20 || c >= 0x7f)
        return tn_fail(err, TN_EINPUT,
                       "%s must be one visible ASCII character (e.g. %s), not '%.20s'", name,
                       strcmp(name, "comment") == 0 ? "#" : "\"", value);
    out[0] = (char)c;
    out[1] = '\0';
    return 0;
}

static int format_text(const char *name, const char *value, char *out, struct tn_err *err)
{
    size_t n = strlen(value);

    if (n == 0 || n > TN_CSV_TEXT_MAX || !plain_text(value) || !strchr(value, '%'))
        return tn_fail(err, TN_EINPUT,
                       "%s must be a strftime format of 1 to %d characters such as %s, not "
                       "'%.40s'",
                       name, TN_CSV_TEXT_MAX,
                       strcmp(name, "dateformat") == 0 ? "%d/%m/%Y" : "%d/%m/%Y %H:%M:%S", value);
    memcpy(out, value, n + 1);
    return 0;
}

static int encoding(const char *value, char out[8], struct tn_err *err)
{
    static const struct {
        const char *alias, *name;
    } known[] = {
        {"utf-8", "utf-8"},        {"utf8", "utf-8"},      {"utf-16", "utf-16"},
        {"utf16", "utf-16"},       {"latin-1", "latin-1"}, {"latin1", "latin-1"},
        {"iso-8859-1", "latin-1"},
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcasecmp(value, known[i].alias) == 0) {
            snprintf(out, 8, "%s", known[i].name);
            return 0;
        }
    return tn_fail(err, TN_EINPUT, "encoding must be utf-8, utf-16 or latin-1, not '%.40s'", value);
}

static int null_strings(struct tn_csv_options *o, const char *value, struct tn_err *err)
{
    const char *p = value;
    int n = 0;

    if (!plain_text(value))
        return tn_fail(err, TN_EINPUT, "nullstr must not hold control characters");
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == TN_CSV_NULLSTR_MAX || len > TN_CSV_TEXT_MAX)
            return tn_fail(err, TN_EINPUT,
                           "nullstr takes at most %d comma-separated strings of at most %d bytes "
                           "each ('empty' for the empty field)",
                           TN_CSV_NULLSTR_MAX, TN_CSV_TEXT_MAX);
        if (len == 5 && strncmp(p, "empty", 5) == 0)
            len = 0;
        else if (len == 0)
            return tn_fail(err, TN_EINPUT,
                           "nullstr has an empty item: write 'empty' for the empty field");
        memcpy(o->nullstr[n], p, len);
        o->nullstr[n++][len] = '\0';
        if (!end)
            break;
        p = end + 1;
    }
    o->nnullstr = n;
    return 0;
}

int tn_csv_option_set(struct tn_csv_options *o, const char *name, const char *value,
                      struct tn_err *err)
{
    if (strcmp(name, "quote") == 0 || strcmp(name, "escape") == 0 || strcmp(name, "comment") == 0)
        return one_byte(name, value,
                        name[0] == 'q'   ? o->quote
                        : name[0] == 'e' ? o->escape
                                         : o->comment,
                        err);
    if (strcmp(name, "decimal_separator") == 0) {
        if (strcmp(value, ".") != 0 && strcmp(value, ",") != 0)
            return tn_fail(err, TN_EINPUT, "decimal_separator must be '.' or ',', not '%.20s'",
                           value);
        snprintf(o->decimal_separator, sizeof(o->decimal_separator), "%s", value);
        return 0;
    }
    if (strcmp(name, "dateformat") == 0)
        return format_text(name, value, o->dateformat, err);
    if (strcmp(name, "timestampformat") == 0)
        return format_text(name, value, o->timestampformat, err);
    if (strcmp(name, "encoding") == 0)
        return encoding(value, o->encoding, err);
    if (strcmp(name, "nullstr") == 0)
        return null_strings(o, value, err);
    if (strcmp(name, "skip") == 0) {
        char *end = NULL;
        long n = strtol(value, &end, 10);
        if (!*value || *end || n < 0 || n > SKIP_MAX)
            return tn_fail(err, TN_EINPUT,
                           "skip must be a number of lines from 0 to %ld, not "
                           "'%.20s'",
                           SKIP_MAX, value);
        o->skip = n;
        o->skip_given = 1;
        return 0;
    }
    return tn_fail(err, TN_EINPUT, "'%.40s' is not a CSV option", name);
}

/*---- What a table remembers ----*/

#define PROPERTY_PREFIX "tarn.csv."

void tn_source_table_dialect(struct tn_warehouse *wh, const char *ns, const char *name,
                             struct tn_source *src)
{
    struct tn_table *t = NULL;
    struct tn_err err;
    json_t *props;

    tn_csv_options_init(&src->table_csv);
    if (tn_table_load(wh, ns, name, &t, &err)) {
        src->new_table = err.code == TN_ENOTABLE;
        return;
    }
    props = json_object_get(t->meta->root, "properties");
    for (size_t i = 0; tn_csv_option_names[i]; i++) {
        char key[64];
        const char *v;
        snprintf(key, sizeof(key), PROPERTY_PREFIX "%s", tn_csv_option_names[i]);
        v = json_string_value(json_object_get(props, key));
        if (!v)
            continue;
        if (strcmp(tn_csv_option_names[i], "delimiter") == 0) {
            if (*v && strlen(v) < sizeof(src->table_csv.delim))
                snprintf(src->table_csv.delim, sizeof(src->table_csv.delim), "%s", v);
        } else if (tn_csv_option_set(&src->table_csv, tn_csv_option_names[i], v, &err)) {
            /* a property set by hand that tarn would not take from a user: not used */
            continue;
        }
    }
    tn_table_free(t);
}

json_t *tn_source_dialect_properties(const struct tn_source *src)
{
    const struct tn_csv_options *o = &src->csv;
    const char *date = o->dateformat[0] ? o->dateformat : src->found_dateformat;
    const char *ts = o->timestampformat[0] ? o->timestampformat : src->found_timestampformat;
    json_t *p = json_object();

    if (src->format != TN_SOURCE_CSV) {
        json_decref(p);
        return NULL;
    }
    if (src->delim[0])
        json_object_set_new(p, PROPERTY_PREFIX "delimiter", json_string(src->delim));
    if (o->quote[0])
        json_object_set_new(p, PROPERTY_PREFIX "quote", json_string(o->quote));
    if (o->escape[0])
        json_object_set_new(p, PROPERTY_PREFIX "escape", json_string(o->escape));
    if (o->decimal_separator[0])
        json_object_set_new(p, PROPERTY_PREFIX "decimal_separator",
                            json_string(o->decimal_separator));
    if (date[0])
        json_object_set_new(p, PROPERTY_PREFIX "dateformat", json_string(date));
    if (ts[0])
        json_object_set_new(p, PROPERTY_PREFIX "timestampformat", json_string(ts));
    if (o->encoding[0])
        json_object_set_new(p, PROPERTY_PREFIX "encoding", json_string(o->encoding));
    if (o->nnullstr) {
        struct tn_buf b = TN_BUF_INIT(0);
        for (int i = 0; i < o->nnullstr; i++)
            tn_buf_addf(&b, NULL, "%s%s", i ? "," : "", o->nullstr[i][0] ? o->nullstr[i] : "empty");
        json_object_set_new(p, PROPERTY_PREFIX "nullstr", json_string(b.buf));
        tn_buf_release(&b);
    }
    if (json_object_size(p) == 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}
