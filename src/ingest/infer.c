/* infer.c - an Iceberg schema for the rows of a query, from DuckDB's own types: DESCRIBE gives
 * each column's type as text (BIGINT, DECIMAL(18,3), STRUCT("a b" INTEGER, c VARCHAR[]), ...),
 * parsed here into Iceberg's JSON types with fresh field ids. Column names are sanitised to
 * lowercase [a-z0-9_], de-duplicated and never empty. Types nested deeper than
 * TN_INPUT_DEPTH_MAX (a Parquet file's, say) are refused: the parser and renumbering recurse. */
#include "table/table_int.h"
#include "core/limits.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct type_parser {
    const char *p;
    int next_id;
    struct tn_err *err;
    int depth; /* types entered (a list suffix is one) */
};

/* One level deeper; 0 past TN_INPUT_DEPTH_MAX, with the error set. */
static int enter(struct type_parser *tp)
{
    if (++tp->depth <= TN_INPUT_DEPTH_MAX)
        return 1;
    tn_fail(tp->err, TN_EINPUT,
            "a column's type nests more than %d levels deep; tarn reads at "
            "most %d",
            TN_INPUT_DEPTH_MAX, TN_INPUT_DEPTH_MAX);
    return 0;
}

static void skip_space(struct type_parser *tp)
{
    while (*tp->p == ' ')
        tp->p++;
}

static int eat(struct type_parser *tp, const char *word)
{
    size_t n = strlen(word);
    skip_space(tp);
    if (strncasecmp(tp->p, word, n) == 0) {
        tp->p += n;
        return 1;
    }
    return 0;
}

/* A field name inside STRUCT(...): a bare word or a double-quoted identifier. */
static char *parse_name(struct type_parser *tp)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_NAME);

    skip_space(tp);
    if (*tp->p == '"') {
        tp->p++;
        while (*tp->p) {
            if (tp->p[0] == '"' && tp->p[1] == '"') {
                tn_buf_add(&b, "\"", 1, NULL);
                tp->p += 2;
            } else if (*tp->p == '"') {
                tp->p++;
                break;
            } else {
                tn_buf_add(&b, tp->p++, 1, NULL);
            }
        }
    } else {
        while (*tp->p && *tp->p != ' ')
            tn_buf_add(&b, tp->p++, 1, NULL);
    }
    return tn_buf_detach(&b, NULL);
}

static json_t *parse_type(struct type_parser *tp);

static json_t *parse_struct(struct type_parser *tp)
{
    json_t *fields = json_array();

    while (!tp->err->code) {
        char *name;
        json_t *type;
        int id;

        skip_space(tp);
        if (*tp->p == ')') {
            tp->p++;
            break;
        }
        name = parse_name(tp);
        id = tp->next_id++;
        type = parse_type(tp);
        if (!type) {
            free(name);
            break;
        }
        json_array_append_new(fields, json_pack("{s:i, s:s, s:b, s:o}", "id", id, "name", name,
                                                "required", 0, "type", type));
        free(name);
        skip_space(tp);
        if (*tp->p == ',')
            tp->p++;
    }
    if (tp->err->code) {
        json_decref(fields);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "type", "struct", "fields", fields);
}

static json_t *parse_base(struct type_parser *tp)
{
    static const struct {
        const char *duck;
        const char *iceberg;
    } names[] = {
        {"TIMESTAMP WITH TIME ZONE", "timestamptz"},
        {"TIMESTAMP_NS", "timestamp_ns"},
        {"TIMESTAMP_MS", "timestamp"},
        {"TIMESTAMP_S", "timestamp"},
        {"TIMESTAMPTZ", "timestamptz"},
        {"TIMESTAMP", "timestamp"},
        {"TIME WITH TIME ZONE", "time"},
        {"TIME", "time"},
        {"DATE", "date"},
        {"BOOLEAN", "boolean"},
        {"TINYINT", "int"},
        {"SMALLINT", "int"},
        {"UTINYINT", "int"},
        {"USMALLINT", "int"},
        {"INTEGER", "int"},
        {"UINTEGER", "long"},
        {"BIGINT", "long"},
        {"FLOAT", "float"},
        {"DOUBLE", "double"},
        {"VARCHAR", "string"},
        {"UUID", "uuid"},
        {"BLOB", "binary"},
        {"JSON", "string"},
        {"INTERVAL", "string"},
        {"BIT", "string"},
    };
    int precision, scale, used;

    if (eat(tp, "STRUCT("))
        return parse_struct(tp);
    if (eat(tp, "MAP(")) {
        int kid = tp->next_id++, vid = tp->next_id++;
        json_t *k = parse_type(tp), *v = NULL;
        skip_space(tp);
        if (k && *tp->p == ',') {
            tp->p++;
            v = parse_type(tp);
        }
        skip_space(tp);
        if (!k || !v || *tp->p != ')') {
            json_decref(k);
            json_decref(v);
            if (!tp->err->code)
                tn_fail(tp->err, TN_EINPUT, "cannot read map type at '%.40s'", tp->p);
            return NULL;
        }
        tp->p++;
        return json_pack("{s:s, s:i, s:o, s:i, s:o, s:b}", "type", "map", "key-id", kid, "key", k,
                         "value-id", vid, "value", v, "value-required", 0);
    }
    if (sscanf(tp->p, "DECIMAL(%d,%d)%n", &precision, &scale, &used) == 2) {
        char text[32];
        tp->p += used;
        snprintf(text, sizeof(text), "decimal(%d,%d)", precision, scale);
        return json_string(text);
    }
    if (eat(tp, "HUGEINT") || eat(tp, "UHUGEINT") || eat(tp, "UBIGINT"))
        return json_string("decimal(38,0)");
    if (eat(tp, "ENUM(")) {
        int depth = 1;
        while (*tp->p && depth) {
            if (*tp->p == '\'') {
                tp->p++;
                while (*tp->p && !(tp->p[0] == '\'' && tp->p[1] != '\''))
                    tp->p += (tp->p[0] == '\'' ? 2 : 1);
            } else if (*tp->p == '(') {
                depth++;
            } else if (*tp->p == ')') {
                depth--;
            }
            if (*tp->p)
                tp->p++;
        }
        return json_string("string");
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (eat(tp, names[i].duck))
            return json_string(names[i].iceberg);
    if (eat(tp, "\"NULL\"") || eat(tp, "NULL"))
        return json_string("string");
    tn_fail(tp->err, TN_EINPUT, "no Iceberg type for DuckDB type '%.60s'", tp->p);
    return NULL;
}

static json_t *parse_type(struct type_parser *tp)
{
    int depth = tp->depth;
    json_t *t;

    if (!enter(tp))
        return NULL;
    skip_space(tp);
    t = parse_base(tp);
    /* list suffixes: INTEGER[] and fixed-size INTEGER[3] */
    while (t && *tp->p == '[') {
        int eid = tp->next_id++;
        if (!enter(tp)) {
            json_decref(t);
            t = NULL;
            break;
        }
        while (*tp->p && *tp->p != ']')
            tp->p++;
        if (*tp->p == ']')
            tp->p++;
        t = json_pack("{s:s, s:i, s:o, s:b}", "type", "list", "element-id", eid, "element", t,
                      "element-required", 0);
    }
    tp->depth = depth;
    return t;
}

/* Renumber ids depth-first so that top-level columns get 1..n before nested ones, as other
 * engines assign them. */
static void renumber(json_t *type, int *next);

static void renumber_fields(json_t *fields, int *next)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f) json_object_set_new(f, "id", json_integer((*next)++));
    json_array_foreach(fields, i, f) renumber(json_object_get(f, "type"), next);
}

static void renumber(json_t *type, int *next)
{
    const char *kind = json_string_value(json_object_get(type, "type"));

    if (!kind)
        return;
    if (strcmp(kind, "struct") == 0) {
        renumber_fields(json_object_get(type, "fields"), next);
    } else if (strcmp(kind, "list") == 0) {
        json_object_set_new(type, "element-id", json_integer((*next)++));
        renumber(json_object_get(type, "element"), next);
    } else if (strcmp(kind, "map") == 0) {
        json_object_set_new(type, "key-id", json_integer((*next)++));
        json_object_set_new(type, "value-id", json_integer((*next)++));
        renumber(json_object_get(type, "key"), next);
        renumber(json_object_get(type, "value"), next);
    }
}

int tn_type_from_duckdb(const char *duck, int *next_id, json_t **out, struct tn_err *err)
{
    struct type_parser tp = {duck, *next_id, err, 0};
    json_t *t;

    err->code = 0;
    t = parse_type(&tp);
    if (!t)
        return err->code ? err->code : tn_fail(err, TN_EINPUT, "cannot read type '%s'", duck);
    skip_space(&tp);
    if (*tp.p) {
        json_decref(t);
        return tn_fail(err, TN_EINPUT, "cannot read type '%s' (at '%.40s')", duck, tp.p);
    }
    renumber(t, next_id);
    *out = t;
    return 0;
}

/*---- Column names ----*/

/* Latin letters with marks and ligatures (U+00C0..U+017F) as the ASCII a reader would write
 * for them in a name (é -> e, ß -> ss, æ -> ae); a code point in no range has no mapping. */
static const struct {
    unsigned first, last;
    const char *ascii;
} latin[] = {
    {0xC0, 0xC5, "a"},   {0xC6, 0xC6, "ae"},   {0xC7, 0xC7, "c"},   {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"},   {0xD0, 0xD0, "d"},    {0xD1, 0xD1, "n"},   {0xD2, 0xD6, "o"},
    {0xD8, 0xD8, "o"},   {0xD9, 0xDC, "u"},    {0xDD, 0xDD, "y"},   {0xDE, 0xDE, "th"},
    {0xDF, 0xDF, "ss"},  {0xE0, 0xE5, "a"},    {0xE6, 0xE6, "ae"},  {0xE7, 0xE7, "c"},
    {0xE8, 0xEB, "e"},   {0xEC, 0xEF, "i"},    {0xF0, 0xF0, "d"},   {0xF1, 0xF1, "n"},
    {0xF2, 0xF6, "o"},   {0xF8, 0xF8, "o"},    {0xF9, 0xFC, "u"},   {0xFD, 0xFD, "y"},
    {0xFE, 0xFE, "th"},  {0xFF, 0xFF, "y"},    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},
    {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},  {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},
    {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
    {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},  {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"},
    {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},  {0x162, 0x167, "t"}, {0x168, 0x173, "u"},
    {0x174, 0x175, "w"}, {0x176, 0x178, "y"},  {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
};

/* The code point of the two-byte UTF-8 sequence at "p" and its length in *len; for any other
 * non-ASCII sequence (wider, or a stray byte) U+FFFD, which maps to nothing. */
static unsigned utf8_next(const unsigned char *p, size_t *len)
{
    if (p[0] >= 0xC2 && p[0] <= 0xDF && (p[1] & 0xC0) == 0x80) {
        *len = 2;
        return ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    *len = 1;
    if (p[0] >= 0xE0 && p[0] <= 0xF4) /* a wider character: skip its continuation bytes */
        while ((p[*len] & 0xC0) == 0x80 && *len < 4)
            (*len)++;
    return 0xFFFD;
}

static const char *transliterate(unsigned cp)
{
    for (size_t i = 0; i < sizeof(latin) / sizeof(latin[0]); i++)
        if (cp >= latin[i].first && cp <= latin[i].last)
            return latin[i].ascii;
    return NULL;
}

void tn_column_name_sanitise(const char *name, char *out, size_t cap)
{
    size_t n = 0, len;
    int last_us = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p && n + 1 < cap && n < TN_NAME_MAX;
         p += len) {
        char c = (char)tolower(*p);
        const char *ascii = NULL;

        len = 1;
        if (*p >= 0x80)
            ascii = transliterate(utf8_next(p, &len));
        if (ascii) {
            for (; *ascii && n + 1 < cap && n < TN_NAME_MAX; ascii++)
                out[n++] = *ascii;
            last_us = 0;
        } else if (*p < 0x80 && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            out[n++] = c;
            last_us = 0;
        } else if (!last_us && n > 0) {
            out[n++] = '_';
            last_us = 1;
        }
    }
    while (n > 0 && out[n - 1] == '_')
        n--;
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "column");
}

/* The name a column had in the file it came from: its "doc" when tarn recorded one there (the
 * original of a sanitised name), else its name. */
static const char *original_name(json_t *field)
{
    const char *doc = json_string_value(json_object_get(field, "doc"));
    return doc ? doc : json_string_value(json_object_get(field, "name"));
}

/* "SELECT <original> AS <name>, ... FROM (source_sql)" for the fields of "schema". */
static char *select_columns(json_t *schema, const char *source_sql)
{
    struct tn_buf sel = TN_BUF_INIT(TN_CAP_SQL);
    json_t *f;
    size_t i;

    tn_buf_addstr(&sel, "SELECT ", NULL);
    json_array_foreach(json_object_get(schema, "fields"), i, f)
    {
        tn_buf_addstr(&sel, i ? ", " : "", NULL);
        tn_sql_ident(&sel, original_name(f));
        tn_buf_addstr(&sel, " AS ", NULL);
        tn_sql_ident(&sel, json_string_value(json_object_get(f, "name")));
    }
    tn_buf_addf(&sel, NULL, " FROM (%s)", source_sql);
    return tn_buf_detach(&sel, NULL);
}

int tn_schema_infer(struct tn_session *s, const char *select_sql, json_t **out_schema,
                    json_t **out_names, char **out_select, struct tn_err *err)
{
    char *sql = tn_asprintf("DESCRIBE %s", select_sql);
    struct tn_rows *cols = NULL;
    json_t *fields = json_array(), *names = json_object(), *used = json_object();
    int next_id = 1;
    int rc;

    rc = tn_engine_rows(s, sql, 100000, &cols, err);
    free(sql);
    if (rc)
        goto out;
    if (cols->nrows == 0) {
        rc = tn_fail(err, TN_EINPUT, "the file has no columns");
        goto out;
    }
    /* top-level ids first: 1..n */
    next_id = (int)cols->nrows + 1;
    for (size_t i = 0; i < cols->nrows; i++) {
        const char *orig = tn_rows_get(cols, i, 0);
        char base[TN_NAME_MAX + 1], name[TN_NAME_MAX + 16];
        json_t *type = NULL, *field;
        int id = (int)i + 1;

        tn_column_name_sanitise(orig, base, sizeof(base));
        snprintf(name, sizeof(name), "%s", base);
        for (int k = 2; json_object_get(used, name); k++)
            snprintf(name, sizeof(name), "%s_%d", base, k);
        json_object_set_new(used, name, json_true());
        json_object_set_new(names, orig, json_string(name));
        rc = tn_type_from_duckdb(tn_rows_get(cols, i, 1), &next_id, &type, err);
        if (rc) {
            tn_err_prefix(err, "column '%s': ", orig);
            goto out;
        }
        field =
            json_pack("{s:i, s:s, s:b, s:o}", "id", id, "name", name, "required", 0, "type", type);
        if (strcmp(orig, name) != 0) /* the original stays visible, and matches later files */
            json_object_set_new(field, "doc", json_string(orig));
        json_array_append_new(fields, field);
    }
    *out_schema = json_pack("{s:s, s:i, s:o, s:[]}", "type", "struct", "schema-id", 0, "fields",
                            fields, "identifier-field-ids");
    fields = NULL;
    *out_names = names;
    names = NULL;
    *out_select = select_columns(*out_schema, select_sql);
out:
    tn_rows_free(cols);
    json_decref(fields);
    json_decref(names);
    json_decref(used);
    return rc;
}

/* Column "name" of "schema", compared without case (DuckDB's identifiers ignore case). */
static int has_column(const struct tn_schema *schema, const char *name)
{
    for (size_t k = 0; k < schema->root.nfields; k++)
        if (strcasecmp(schema->root.fields[k].name, name) == 0)
            return 1;
    return 0;
}

/* The table column file column "field" (as tn_schema_infer named it) goes to: the one whose
 * original name is the file's, else the one whose original sanitises to the same name. NULL
 * when none does (a new column); TN_EUNPROCESSABLE when several do. */
static int table_column_for(const struct tn_table *t, const struct tn_schema *cur, json_t *field,
                            const struct tn_field **out, struct tn_err *err)
{
    const char *orig = original_name(field);
    char want[TN_NAME_MAX + 1];
    const struct tn_field *exact = NULL, *similar = NULL;
    int nexact = 0, nsimilar = 0;

    tn_column_name_sanitise(orig, want, sizeof(want));
    for (size_t k = 0; k < cur->root.nfields; k++) {
        const struct tn_field *f = &cur->root.fields[k];
        const char *have = original_name(f->json);
        char sanitised[TN_NAME_MAX + 1];

        tn_column_name_sanitise(have, sanitised, sizeof(sanitised));
        if (strcmp(have, orig) == 0) {
            exact = f;
            nexact++;
        } else if (strcmp(sanitised, want) == 0 || strcasecmp(f->name, want) == 0) {
            similar = f;
            nsimilar++;
        }
    }
    *out = nexact ? exact : similar;
    if (nexact > 1 || (!nexact && nsimilar > 1))
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "the file's column '%s' could be any of %d columns of %s.%s named like it; "
                       "rename it in the file to one of their original names",
                       orig, nexact > 1 ? nexact : nsimilar, t->ns, t->name);
    return 0;
}

/* Name the file's columns in "schema" (from tn_schema_infer) as the table's: each goes to the
 * table column it matches by original name (table_column_for), a new one gets a sanitised name
 * no table column has. *select and "names" (original -> stored) follow. Refuses (422) a file
 * column that matches several table columns, or two file columns that match one. */
static int match_table_columns(const struct tn_table *t, json_t *schema, const char *source_sql,
                               char **select, json_t *names, struct tn_err *err)
{
    const struct tn_schema *cur = tn_metadata_current_schema(t->meta);
    json_t *taken = json_object(), *f, *renamed = json_array();
    size_t i;
    int rc = 0;

    json_array_foreach(json_object_get(schema, "fields"), i, f)
    {
        const struct tn_field *col = NULL;
        const char *orig = original_name(f);
        char name[TN_NAME_MAX + 16];

        if ((rc = table_column_for(t, cur, f, &col, err)))
            break;
        if (col && json_object_get(taken, col->name)) {
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "the file's columns '%s' and '%s' both match column %s of %s.%s; rename "
                         "one of them in the file",
                         json_string_value(json_object_get(taken, col->name)), orig, col->name,
                         t->ns, t->name);
            break;
        }
        if (col) {
            snprintf(name, sizeof(name), "%s", col->name);
        } else {
            char base[TN_NAME_MAX + 1];
            tn_column_name_sanitise(orig, base, sizeof(base));
            snprintf(name, sizeof(name), "%s", base);
            for (int k = 2; has_column(cur, name) || json_object_get(taken, name); k++)
                snprintf(name, sizeof(name), "%s_%d", base, k);
        }
        json_object_set_new(taken, name, json_string(orig));
        json_array_append_new(renamed, json_string(name));
    }
    if (!rc) {
        json_array_foreach(json_object_get(schema, "fields"), i, f)
        {
            const char *name = json_string_value(json_array_get(renamed, i));
            if (strcmp(name, original_name(f)) != 0)
                json_object_set_new(f, "doc", json_string(original_name(f)));
            else
                json_object_del(f, "doc");
            json_object_set_new(names, original_name(f), json_string(name));
            json_object_set_new(f, "name", json_string(name));
        }
        free(*select);
        *select = select_columns(schema, source_sql);
    }
    json_decref(renamed);
    json_decref(taken);
    return rc;
}

/* Whether a table column of type "from" may widen to a file's type "to" (as Iceberg allows). */
static int widens(const char *from, const char *to)
{
    int p1, s1, p2, s2;

    if (strcmp(from, "int") == 0 && strcmp(to, "long") == 0)
        return 1;
    if (strcmp(from, "float") == 0 && strcmp(to, "double") == 0)
        return 1;
    return sscanf(from, "decimal(%d,%d)", &p1, &s1) == 2 &&
           sscanf(to, "decimal(%d,%d)", &p2, &s2) == 2 && s1 == s2 && p2 > p1;
}

/* Whether primitive type names "a" and "b" are one type ("decimal(9, 2)" is "decimal(9,2)"). */
static int same_type(const char *a, const char *b)
{
    for (; *a || *b; a++, b++) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
    }
    return 1;
}

/* A type JSON's kind: "struct", "list", "map", or NULL for a primitive. */
static const char *nested_kind(json_t *type)
{
    return json_is_object(type) ? json_string_value(json_object_get(type, "type")) : NULL;
}

/* Record one change for evolve_for_file: {"kind", "column", "type"} in "out", and the entry
 * the ingest answer reports in "log". */
static void note_change(json_t *out, json_t *log, enum tn_change_kind kind, const char *column,
                        const char *from, json_t *type)
{
    json_array_append_new(
        out, json_pack("{s:i, s:s, s:O}", "kind", (int)kind, "column", column, "type", type));
    if (kind == TN_CHANGE_ADD)
        json_array_append_new(log, json_pack("{s:s, s:s, s:O}", "action", "add_column", "column",
                                             column, "type", type));
    else
        json_array_append_new(log, json_pack("{s:s, s:s, s:s, s:O}", "action", "widen", "column",
                                             column, "from", from, "type", type));
}

/* The changes that let nested table type "have" (of the column at dotted "path") take the
 * file's type "file": fields a struct lacks at any depth -- inside structs, list elements and
 * map values, which the path names by the list's or map's own name -- and primitive fields
 * that widen. A field the table has and the file lacks stays as it is. Under evolve=strict a
 * missing field is refused instead (TN_EUNPROCESSABLE). */
static int nested_changes(const struct tn_table *t, json_t *have, json_t *file, const char *path,
                          enum tn_evolve_mode evolve, json_t *out, json_t *log, struct tn_err *err)
{
    const char *hk = nested_kind(have), *fk = nested_kind(file);
    size_t i;
    json_t *f;

    if (!hk || !fk || strcmp(hk, fk) != 0)
        return 0; /* a different kind: the write's cast says whether the values fit */
    if (strcmp(hk, "list") == 0)
        return nested_changes(t, json_object_get(have, "element"), json_object_get(file, "element"),
                              path, evolve, out, log, err);
    if (strcmp(hk, "map") == 0)
        return nested_changes(t, json_object_get(have, "value"), json_object_get(file, "value"),
                              path, evolve, out, log, err);
    json_array_foreach(json_object_get(file, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *ftype = json_object_get(f, "type"), *h, *match = NULL;
        char *sub = tn_asprintf("%s.%s", path, name);
        size_t k;
        int rc = 0;

        json_array_foreach(json_object_get(have, "fields"), k, h)
        {
            if (strcasecmp(json_string_value(json_object_get(h, "name")), name) == 0)
                match = h;
        }
        if (!match && evolve == TN_EVOLVE_STRICT) {
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "the file has a field '%s' that table %s.%s does not; add it first "
                         "or ingest with evolve=add",
                         sub, t->ns, t->name);
        } else if (!match) {
            note_change(out, log, TN_CHANGE_ADD, sub, NULL, ftype);
        } else if (json_is_string(ftype) && json_is_string(json_object_get(match, "type"))) {
            const char *from = json_string_value(json_object_get(match, "type"));
            if (widens(from, json_string_value(ftype)))
                note_change(out, log, TN_CHANGE_TYPE, sub, from, ftype);
        } else {
            rc = nested_changes(t, json_object_get(match, "type"), ftype, sub, evolve, out, log,
                                err);
        }
        free(sub);
        if (rc)
            return rc;
    }
    return 0;
}

/* Stage on "t" (in memory, see tn__table_stage) the schema changes that let the table take the
 * file's columns: new columns, new fields in nested columns, wider types; with "replace" (an
 * overwrite) a primitive column whose type cannot widen to the file's is replaced by a new
 * column of the same name (a new field id: the old files' values are not reinterpreted, and the
 * overwrite removes them), as Spark's overwriteSchema does. They are committed with the rows, or
 * not at all. */
static int evolve_for_file(struct tn_table *t, json_t *file_schema, enum tn_evolve_mode evolve,
                           int replace, json_t *log, struct tn_err *err)
{
    const struct tn_schema *cur = tn_metadata_current_schema(t->meta);
    struct tn_schema_change *changes = NULL;
    json_t *found = json_array(), *f;
    size_t n, i;
    int rc = 0;

    json_array_foreach(json_object_get(file_schema, "fields"), i, f)
    {
        const char *col = json_string_value(json_object_get(f, "name"));
        json_t *type = json_object_get(f, "type");
        const struct tn_field *have = NULL;

        for (size_t k = 0; k < cur->root.nfields; k++)
            if (strcasecmp(cur->root.fields[k].name, col) == 0)
                have = &cur->root.fields[k];
        if (!have) {
            if (evolve == TN_EVOLVE_STRICT) {
                rc = tn_fail(err, TN_EUNPROCESSABLE,
                             "the file has a column '%s' that table %s.%s does not; add it "
                             "first or ingest with evolve=add",
                             col, t->ns, t->name);
                break;
            }
            note_change(found, log, TN_CHANGE_ADD, col, NULL, type);
            if (json_object_get(f, "doc")) /* the file's own name of a sanitised column */
                json_object_set(json_array_get(found, json_array_size(found) - 1), "doc",
                                json_object_get(f, "doc"));
        } else if (json_is_string(type) && tn_type_is_primitive(have->type)) {
            char from[64];
            tn_type_name(have->type, from, sizeof(from));
            if (widens(from, json_string_value(type))) {
                note_change(found, log, TN_CHANGE_TYPE, have->name, from, type);
            } else if (replace && !same_type(from, json_string_value(type))) {
                json_t *unused = json_array();
                note_change(found, unused, TN_CHANGE_DROP, have->name, NULL, type);
                note_change(found, unused, TN_CHANGE_ADD, have->name, NULL, type);
                json_decref(unused);
                json_array_append_new(log,
                                      json_pack("{s:s, s:s, s:s, s:O}", "action", "replace_column",
                                                "column", have->name, "from", from, "type", type));
            }
        } else if ((rc = nested_changes(t, json_object_get(have->json, "type"), type, have->name,
                                        evolve, found, log, err))) {
            break;
        }
    }
    n = json_array_size(found);
    if (!rc && n) {
        /* the rows' field ids come from this schema: a concurrent schema change refuses the
           commit rather than mix two numberings */
        json_t *updates = json_array();
        json_t *reqs = json_pack("[{s:s, s:i}, {s:s, s:i}]", "type", "assert-current-schema-id",
                                 "current-schema-id", t->meta->current_schema_id, "type",
                                 "assert-last-assigned-field-id", "last-assigned-field-id",
                                 t->meta->last_column_id);
        changes = tn_calloc(n, sizeof(*changes));
        json_array_foreach(found, i, f)
        {
            changes[i].kind = (enum tn_change_kind)json_integer_value(json_object_get(f, "kind"));
            changes[i].column = json_string_value(json_object_get(f, "column"));
            changes[i].type = json_object_get(f, "type");
            changes[i].doc = json_string_value(json_object_get(f, "doc"));
        }
        rc = tn__evolve_updates(t, changes, n, updates, err);
        if (!rc)
            rc = tn__table_stage(t, reqs, updates, err);
        json_decref(updates);
        json_decref(reqs);
    }
    free(changes);
    json_decref(found);
    return rc;
}

/*---- Explicit column types ----*/

/* "s" without leading and trailing spaces (in place). */
static char *trim(char *s)
{
    size_t n;

    while (*s == ' ')
        s++;
    n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* The Iceberg primitive type JSON that "text" names: an Iceberg name (long, decimal(12,2),
 * timestamptz, ...) or a DuckDB one (BIGINT, DOUBLE, VARCHAR). */
static int explicit_type(const char *text, json_t **out, struct tn_err *err)
{
    json_t *j = json_string(text);
    struct tn_type *t = NULL;
    char name[64];
    int next = 1;

    if (j && !tn_type_parse(j, &t, err) && tn_type_is_primitive(t)) {
        int p, sc;
        tn_type_name(t, name, sizeof(name));
        tn_type_free(t);
        json_decref(j);
        if (sscanf(name, "decimal(%d,%d)", &p, &sc) == 2) /* as the spec spells it */
            snprintf(name, sizeof(name), "decimal(%d, %d)", p, sc);
        *out = json_string(name);
        return 0;
    }
    tn_type_free(t);
    json_decref(j);
    j = NULL;
    if (!tn_type_from_duckdb(text, &next, &j, err) && json_is_string(j)) {
        *out = j;
        return 0;
    }
    json_decref(j);
    return tn_fail(err, TN_EINPUT,
                   "types: '%.60s' is not a primitive type (e.g. long, double, decimal(12,2), "
                   "string, date, timestamp)",
                   text);
}

/* Give the file's columns in "schema" the types "types" names ("col:type, ..."; a column by its
 * original or stored name; commas inside a type's parentheses belong to the type). */
static int apply_types(json_t *schema, const char *types, struct tn_err *err)
{
    char *copy = tn_strdup(types), *p = copy;
    int rc = 0;

    while (!rc && p && *p) {
        char *colon, *end = p, *name, *type;
        int depth = 0;
        json_t *f, *field = NULL, *t = NULL;
        size_t i;

        while (*end && (*end != ',' || depth > 0)) {
            depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
            end++;
        }
        if (*end)
            *end++ = '\0';
        else
            end = NULL;
        colon = strrchr(p, ':');
        if (!colon) {
            rc = tn_fail(err, TN_EINPUT, "types: expected column:type, not '%.60s'", p);
            break;
        }
        *colon = '\0';
        name = trim(p);
        type = trim(colon + 1);
        json_array_foreach(json_object_get(schema, "fields"), i, f)
        {
            if (strcmp(original_name(f), name) == 0 ||
                strcasecmp(json_string_value(json_object_get(f, "name")), name) == 0)
                field = f;
        }
        if (!field)
            rc = tn_fail(err, TN_EINPUT, "types: the file has no column '%s'", name);
        if (!rc)
            rc = explicit_type(type, &t, err);
        if (!rc)
            json_object_set_new(field, "type", t);
        p = end;
    }
    free(copy);
    return rc;
}

/* How many times an ingest whose staged schema lost to another commit's is tried in all. */
#define INGEST_ATTEMPTS 4

/*---- Upsert keys ----*/

/* "a, B c" -> ["a", "b_c"]: the stored (sanitised) names of the key columns. */
static json_t *parse_keys(const char *text)
{
    json_t *keys = json_array();
    char *copy = tn_strdup(text), *p = copy;

    while (p) {
        char *comma = strchr(p, ',');
        char name[TN_NAME_MAX + 1];
        if (comma)
            *comma = '\0';
        while (*p == ' ')
            p++;
        if (*p) {
            tn_column_name_sanitise(p, name, sizeof(name));
            json_array_append_new(keys, json_string(name));
        }
        p = comma ? comma + 1 : NULL;
    }
    free(copy);
    return keys;
}

/* For a table an upsert creates: the key columns become required identifier fields. */
static int mark_identifier(json_t *schema, json_t *keys, struct tn_err *err)
{
    json_t *ids = json_array(), *k, *f;
    size_t i, j;

    json_array_foreach(keys, i, k)
    {
        json_t *found = NULL;
        json_array_foreach(json_object_get(schema, "fields"), j, f)
        {
            if (strcmp(json_string_value(json_object_get(f, "name")), json_string_value(k)) == 0)
                found = f;
        }
        if (!found) {
            json_decref(ids);
            return tn_fail(err, TN_EINPUT, "key column '%s' is not in the file",
                           json_string_value(k));
        }
        json_object_set_new(found, "required", json_true());
        json_array_append(ids, json_object_get(found, "id"));
    }
    json_object_set_new(schema, "identifier-field-ids", ids);
    return 0;
}

/* The upsert key of "t": the given one (remembered in the property tarn.upsert-key when the
 * table has no identifier fields), else the identifier fields, else the remembered key. */
static int upsert_keys(struct tn_table *t, json_t **keys, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    const char *remembered = json_string_value(
        json_object_get(json_object_get(t->meta->root, "properties"), "tarn.upsert-key"));
    json_t *k;
    size_t i;

    if (!*keys && schema->nidentifier) {
        *keys = json_array();
        for (size_t n = 0; n < schema->nidentifier; n++) {
            const struct tn_field *f = tn_schema_find(schema, schema->identifier_ids[n]);
            if (f)
                json_array_append_new(*keys, json_string(f->name));
        }
    } else if (!*keys && remembered) {
        *keys = parse_keys(remembered);
    } else if (*keys && !schema->nidentifier) {
        struct tn_buf text = TN_BUF_INIT(TN_CAP_VALUE);
        json_array_foreach(*keys, i, k)
            tn_buf_addf(&text, NULL, "%s%s", i ? "," : "", json_string_value(k));
        tn_buf_release(&text);
    }
    if (!*keys || !json_array_size(*keys))
        return tn_fail(err, TN_EINPUT,
                       "upsert into %s.%s needs key=column[,column]: the table has no "
                       "identifier fields",
                       t->ns, t->name);
    json_array_foreach(*keys, i, k)
    {
        int found = 0;
        for (size_t n = 0; n < schema->root.nfields; n++)
            found |= strcmp(schema->root.fields[n].name, json_string_value(k)) == 0;
        if (!found)
            return tn_fail(err, TN_EINPUT, "key column '%s' is not a column of %s.%s",
                           json_string_value(k), t->ns, t->name);
    }
    if (!schema->nidentifier) {
        /* remembered with the rows' commit, so a refused upsert remembers nothing */
        struct tn_buf text = TN_BUF_INIT(TN_CAP_SQL);
        int rc = 0;
        json_array_foreach(*keys, i, k)
            tn_buf_addf(&text, NULL, "%s%s", i ? "," : "", json_string_value(k));
        if (!remembered || strcmp(remembered, text.buf) != 0) {
            json_t *updates = json_array();
            tn_updates_set_property(updates, "tarn.upsert-key", text.buf);
            rc = tn__table_stage(t, NULL, updates, err);
            json_decref(updates);
        }
        tn_buf_release(&text);
        return rc;
    }
    return 0;
}

int tn_table_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                    const char *source_sql, enum tn_write_mode mode, struct tn_ingest_result *res,
                    struct tn_err *err)
{
    struct tn_ingest_options opt = {.mode = mode, .evolve = TN_EVOLVE_ADD};
    return tn_table_ingest_opts(wh, s, ns, name, source_sql, &opt, res, err);
}

int tn_table_ingest_opts(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                         const char *name, const char *source_sql,
                         const struct tn_ingest_options *opt, struct tn_ingest_result *res,
                         struct tn_err *err)
{
    struct tn_write_options wo = {.mode = opt->mode,
                                  .branch = opt->branch,
                                  .single_pass = opt->single_pass,
                                  .before_commit = opt->before_commit,
                                  .before_commit_arg = opt->before_commit_arg,
                                  .sized_files = 1,
                                  .next_piece = opt->next_piece,
                                  .next_piece_arg = opt->next_piece_arg};
    json_t *schema = NULL, *keys = NULL;
    char *select = NULL;
    struct tn_table *t = NULL;
    int rc, attempt = 0, new_table = 0;

    memset(res, 0, sizeof(*res));
    if (opt->single_pass && opt->upsert)
        return tn_fail(err, TN_EINPUT, "an upsert reads its rows twice: it cannot be streamed");
    res->schema_changes = json_array();
    rc = tn_schema_infer(s, source_sql, &schema, &res->column_names, &select, err);
    if (!rc && opt->types)
        rc = apply_types(schema, opt->types, err);
    if (rc)
        goto out;
again:
    if (opt->key) /* an upsert's key; or, for a table this creates, its identifier fields */
        keys = parse_keys(opt->key);
    if (!rc)
        rc = tn_table_load(wh, ns, name, &t, err);
    if (rc == TN_ENOTABLE) {
        if (opt->upsert && !keys) {
            rc = tn_fail(err, TN_EINPUT, "an upsert that creates %s.%s needs key=column[,column]",
                         ns, name);
            goto out;
        }
        if (keys && (rc = mark_identifier(schema, keys, err)))
            goto out;
        if (opt->upsert) {
            /* an upsert reads the table through the catalog: it must exist first (and is
               dropped again if the rows do not commit) */
            json_t *props = opt->create_properties
                                ? json_deep_copy((json_t *)opt->create_properties)
                                : json_object();
            if (opt->format_version)
                json_object_set_new(props, TN_FORMAT_VERSION_PROP,
                                    json_sprintf("%d", opt->format_version));
            rc = tn_table_create_partitioned(wh, ns, name, schema, props, opt->partition_by, NULL,
                                             err);
            json_decref(props);
            res->created = !rc;
        } else {
            /* created by the commit of its rows: one metadata file, or nothing */
            rc = tn__table_new(wh, ns, name, schema, opt->format_version, opt->partition_by, &t,
                               err);
            new_table = !rc;
        }
    } else if (!rc && opt->format_version && opt->format_version != t->meta->format_version) {
        rc =
            tn_fail(err, TN_EINPUT,
                    "format_version %d is for a table the ingest creates; %s.%s exists with format "
                    "version %d (upgrade it with ALTER TABLE %s.%s SET TBLPROPERTIES "
                    "('format-version'='3'))",
                    opt->format_version, ns, name, t->meta->format_version, ns, name);
    } else if (!rc) {
        rc = match_table_columns(t, schema, source_sql, &select, res->column_names, err);
        if (!rc)
            rc = evolve_for_file(t, schema, opt->evolve,
                                 opt->mode == TN_WRITE_OVERWRITE && !opt->upsert,
                                 res->schema_changes, err);
    }
    /* the rows, with the schema and properties they need, in one commit on the version read */
    if (!rc && !t)
        rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc && (json_object_size(opt->properties) ||
                (new_table && json_object_size(opt->create_properties)))) {
        json_t *updates = json_array(), *v;
        const char *k;
        json_object_foreach((json_t *)opt->properties, k, v)
            tn_updates_set_property(updates, k, json_string_value(v));
        if (new_table)
            json_object_foreach((json_t *)opt->create_properties, k, v)
                tn_updates_set_property(updates, k, json_string_value(v));
        rc = tn__table_stage(t, NULL, updates, err);
        json_decref(updates);
    }
    if (!rc && opt->upsert) {
        rc = upsert_keys(t, &keys, err);
        if (!rc)
            rc = tn__upsert(wh, s, t, opt->branch, select, keys, opt->dedupe_last, &res->commit,
                            &res->rows_updated, err);
        res->rows_inserted = res->commit.rows_added - res->rows_updated;
    } else if (!rc) {
        rc = tn__table_write(wh, s, t, select, &wo, &res->commit, err);
        res->rows_inserted = res->commit.rows_added;
        res->created = new_table && !rc;
    }
    if (rc == TN_ECONFLICT && t && t->staged_base && ++attempt < INGEST_ATTEMPTS) {
        /* another commit changed the schema the rows were staged with: stage them again on the
           newer version (nothing was published) */
        tn_table_free(t);
        t = NULL;
        json_decref(keys);
        keys = NULL;
        json_array_clear(res->schema_changes);
        memset(&res->commit, 0, sizeof(res->commit));
        res->rows_updated = 0;
        rc = 0;
        goto again;
    }
    if (rc && res->created) {
        struct tn_err ignored;
        tn_table_drop(wh, ns, name, 1, &ignored);
        res->created = 0;
    }
    if (!rc) {
        tn_table_free(t);
        t = NULL;
        rc = tn_table_load(wh, ns, name, &t, err);
        if (!rc)
            res->schema = json_incref(tn_metadata_current_schema(t->meta)->json);
    }
out:
    tn_table_free(t);
    json_decref(schema);
    json_decref(keys);
    free(select);
    if (rc)
        tn_ingest_result_release(res);
    return rc;
}

void tn_ingest_result_release(struct tn_ingest_result *res)
{
    json_decref(res->column_names);
    json_decref(res->schema);
    json_decref(res->schema_changes);
    res->column_names = NULL;
    res->schema = NULL;
    res->schema_changes = NULL;
}
