/* metadata.c - Iceberg table metadata JSON: parse, validate, create and derive new versions.
 *
 * The JSON tree is the source of truth; struct tn_metadata holds typed views into it, rebuilt by
 * tn_metadata_from_json after every change. Validation follows Iceberg-Java's
 * TableMetadataParser, with its messages, so users see the same words whichever engine
 * complains. Version 1 files are read with the spec's defaults (sequence numbers 0, the single
 * "schema" and "partition-spec" when the plural forms are absent). */
#include "iceberg.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define METADATA_MAX_BYTES     (256L * 1024 * 1024)
#define METADATA_LOG_MAX       100    /* Java's write.metadata.previous-versions-max default */
#define METADATA_LOG_MAX_LIMIT 100000 /* the largest value of that property tarn honours */
/* Integers that do not fit in int64 travel through jansson as strings with this prefix. */
#define BIG_MARK "\x01int:"

/*---- Reading ----*/

int tn_json_id(const json_t *j, int64_t *out)
{
    if (json_is_integer(j)) {
        *out = (int64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;
        unsigned long long u;
        if (strncmp(s, BIG_MARK, strlen(BIG_MARK)) == 0)
            s += strlen(BIG_MARK);
        if (!*s)
            return -1;
        if (*s == '-') {
            long long v = strtoll(s, &end, 10);
            if (*end)
                return -1;
            *out = v;
            return 0;
        }
        u = strtoull(s, &end, 10);
        if (*end)
            return -1;
        *out = (int64_t)u;
        return 0;
    }
    return -1;
}

/* Inflate gzip-compressed metadata into "out". */
static int gunzip(const char *data, size_t len, struct tn_buf *out, struct tn_err *err)
{
    z_stream zs;
    char chunk[65536];
    int zrc, rc = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return tn_fail(err, TN_EINTERNAL, "cannot start gzip decoder");
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    do {
        zs.next_out = (Bytef *)chunk;
        zs.avail_out = sizeof(chunk);
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END) {
            rc = tn_fail(err, TN_EINPUT, "metadata is not valid gzip: %s",
                         zs.msg ? zs.msg : "corrupt data");
            break;
        }
        rc = tn_buf_add(out, chunk, sizeof(chunk) - zs.avail_out, err);
    } while (!rc && zrc != Z_STREAM_END && (zs.avail_in || zs.avail_out == 0));
    if (!rc && zrc != Z_STREAM_END)
        rc = tn_fail(err, TN_EINPUT, "metadata gzip stream is truncated");
    inflateEnd(&zs);
    return rc;
}

/* Copy JSON text, turning integer literals that do not fit in int64 into marked strings so
 * jansson accepts them; tn_json_id reads them, tn_json_dump writes them back as numbers. */
static char *quote_big_integers(const char *s, size_t len)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_METADATA);
    int in_string = 0;
    size_t i = 0;

    while (i < len) {
        char c = s[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len) {
                tn_buf_add(&b, s + i, 2, NULL);
                i += 2;
                continue;
            }
            if (c == '"')
                in_string = 0;
            tn_buf_add(&b, &c, 1, NULL);
            i++;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if ((c >= '0' && c <= '9') || c == '-') {
            size_t j = i + (c == '-');
            while (j < len && s[j] >= '0' && s[j] <= '9')
                j++;
            int is_int = j == len || (s[j] != '.' && s[j] != 'e' && s[j] != 'E');
            size_t digits = j - i - (c == '-');
            int big = digits > 19 ||
                      (digits == 19 && c != '-' && memcmp(s + i, "9223372036854775807", 19) > 0);
            if (is_int && big) {
                tn_buf_addstr(&b, "\"\\u0001int:", NULL); /* BIG_MARK, escaped */
                tn_buf_add(&b, s + i, j - i, NULL);
                tn_buf_add(&b, "\"", 1, NULL);
                i = j;
                continue;
            }
            tn_buf_add(&b, s + i, j - i, NULL);
            i = j;
            continue;
        }
        tn_buf_add(&b, &c, 1, NULL);
        i++;
    }
    return tn_buf_detach(&b, NULL);
}

json_t *tn_json_parse(const char *text, size_t len, struct tn_err *err)
{
    char *quoted = quote_big_integers(text, len);
    json_error_t jerr;
    json_t *j = json_loads(quoted, JSON_REJECT_DUPLICATES, &jerr);

    free(quoted);
    if (!j)
        tn_fail(err, TN_EINPUT, "not valid JSON: %s (line %d)", jerr.text, jerr.line);
    return j;
}

static void dump_string(struct tn_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    tn_buf_add(b, "\"", 1, NULL);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue; /* copied with the run it belongs to */
        tn_buf_add(b, s + run, i - run, NULL);
        run = i + 1;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        tn_buf_add(b, esc, n, NULL);
    }
    tn_buf_add(b, s + run, len - run, NULL);
    tn_buf_add(b, "\"", 1, NULL);
}

/* A real as jansson writes it: 17 significant digits, an exponent without '+' or leading
 * zeros, and a ".0" when it would otherwise read back as an integer. */
static int format_real(char *out, size_t size, double v)
{
    char *e, *digits, *from;
    int n = snprintf(out, size, "%.17g", v);

    e = strchr(out, 'e');
    if (!e)
        return strpbrk(out, ".n") ? n : n + snprintf(out + n, size - (size_t)n, ".0");
    digits = e + 1 + (e[1] == '-');
    from = e + 1 + (e[1] == '+' || e[1] == '-');
    while (*from == '0' && from[1])
        from++;
    memmove(digits, from, strlen(from) + 1);
    return (int)strlen(out);
}

static void dump_value(struct tn_buf *b, const json_t *j)
{
    char num[40];
    int n;

    /* j is never NULL: callers pass values json_object_foreach and json_array_foreach yielded */
    /* cppcheck-suppress [nullPointerRedundantCheck, ctunullpointer] */
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        int first = 1;
        tn_buf_add(b, "{", 1, NULL);
        json_object_foreach((json_t *)j, key, v)
        {
            if (!first)
                tn_buf_add(b, ",", 1, NULL);
            first = 0;
            dump_string(b, key, strlen(key));
            tn_buf_add(b, ":", 1, NULL);
            dump_value(b, v);
        }
        tn_buf_add(b, "}", 1, NULL);
        return;
    }
    case JSON_ARRAY:
        tn_buf_add(b, "[", 1, NULL);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                tn_buf_add(b, ",", 1, NULL);
            dump_value(b, json_array_get(j, i));
        }
        tn_buf_add(b, "]", 1, NULL);
        return;
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t len = json_string_length(j);
        size_t mark = sizeof(BIG_MARK) - 1;
        if (len > mark && memcmp(s, BIG_MARK, mark) == 0)
            tn_buf_add(b, s + mark, len - mark, NULL); /* an integer beyond int64, as read */
        else
            dump_string(b, s, len);
        return;
    }
    case JSON_INTEGER:
        n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        break;
    case JSON_REAL:
        n = format_real(num, sizeof(num), json_real_value(j));
        break;
    case JSON_TRUE:
        n = snprintf(num, sizeof(num), "true");
        break;
    case JSON_FALSE:
        n = snprintf(num, sizeof(num), "false");
        break;
    default:
        n = snprintf(num, sizeof(num), "null");
        break;
    }
    tn_buf_add(b, num, (size_t)n, NULL);
}

char *tn_json_dump(const json_t *j)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);

    dump_value(&b, j);
    return tn_buf_detach(&b, NULL);
}

int tn_metadata_parse(const char *data, size_t len, struct tn_metadata **out, struct tn_err *err)
{
    struct tn_buf unzipped = TN_BUF_INIT(METADATA_MAX_BYTES);
    json_t *root;
    int rc;

    if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
        rc = gunzip(data, len, &unzipped, err);
        if (rc) {
            tn_buf_release(&unzipped);
            return rc;
        }
        data = unzipped.buf;
        len = unzipped.len;
    }
    root = tn_json_parse(data, len, err);
    tn_buf_release(&unzipped);
    if (!root) {
        tn_err_prefix(err, "metadata is ");
        return err->code;
    }
    return tn_metadata_from_json(root, out, err);
}

static int get_int(json_t *root, const char *key, int required, int64_t dflt, int64_t *out,
                   struct tn_err *err)
{
    json_t *v = json_object_get(root, key);

    if (!v || json_is_null(v)) {
        if (required)
            return tn_fail(err, TN_EINPUT, "Cannot parse missing long: %s", key);
        *out = dflt;
        return 0;
    }
    if (tn_json_id(v, out))
        return tn_fail(err, TN_EINPUT, "%s must be an integer", key);
    return 0;
}

static int parse_spec(json_t *fields, int spec_id, struct tn_spec *spec, struct tn_err *err)
{
    size_t i;
    json_t *f;

    if (!json_is_array(fields))
        return tn_fail(err, TN_EINPUT, "partition spec %d: fields must be an array", spec_id);
    spec->spec_id = spec_id;
    spec->nfields = json_array_size(fields);
    spec->fields = tn_calloc(spec->nfields, sizeof(*spec->fields));
    json_array_foreach(fields, i, f)
    {
        struct tn_partition_field *pf = &spec->fields[i];
        json_t *src = json_object_get(f, "source-id");
        json_t *fid = json_object_get(f, "field-id");
        if (!json_is_integer(src) && json_is_array(json_object_get(f, "source-ids")))
            src = json_array_get(json_object_get(f, "source-ids"), 0);
        if (!json_is_integer(src) || !json_is_string(json_object_get(f, "transform")) ||
            !json_is_string(json_object_get(f, "name")))
            return tn_fail(err, TN_EINPUT,
                           "partition spec %d: field %zu needs source-id, name and transform",
                           spec_id, i);
        pf->source_id = (int)json_integer_value(src);
        pf->field_id = json_is_integer(fid) ? (int)json_integer_value(fid) : 1000 + (int)i;
        pf->name = json_string_value(json_object_get(f, "name"));
        pf->transform = json_string_value(json_object_get(f, "transform"));
    }
    return 0;
}

static int parse_schemas(struct tn_metadata *m, struct tn_err *err)
{
    json_t *schemas = json_object_get(m->root, "schemas");
    json_t *s;
    size_t i;
    int64_t v;
    int rc;

    if (!schemas && m->format_version >= 2)
        return tn_fail(err, TN_EINPUT, "schemas must exist in format v%d", m->format_version);
    if (!schemas) {
        json_t *single = json_object_get(m->root, "schema");
        if (!json_is_object(single))
            return tn_fail(err, TN_EINPUT, "schema must exist in format v1");
        m->schemas = tn_calloc(1, sizeof(*m->schemas));
        rc = tn_schema_parse(single, &m->schemas[0], err);
        if (rc)
            return rc;
        m->nschemas = 1;
        m->current_schema_id = m->schemas[0]->schema_id;
        return 0;
    }
    if (!json_is_array(schemas))
        return tn_fail(err, TN_EINPUT, "schemas must be an array");
    m->schemas = tn_calloc(json_array_size(schemas) + 1, sizeof(*m->schemas));
    json_array_foreach(schemas, i, s)
    {
        rc = tn_schema_parse(s, &m->schemas[i], err);
        if (rc)
            return rc;
        m->nschemas++;
    }
    rc = get_int(m->root, "current-schema-id", m->format_version >= 2, -1, &v, err);
    if (rc)
        return rc;
    m->current_schema_id = (int)v;
    if (v == -1 && m->nschemas)
        m->current_schema_id = m->schemas[0]->schema_id;
    if (!tn_metadata_schema(m, m->current_schema_id))
        return tn_fail(err, TN_EINPUT, "Cannot find schema with current-schema-id=%d from schemas",
                       m->current_schema_id);
    return 0;
}

static int parse_specs(struct tn_metadata *m, struct tn_err *err)
{
    json_t *specs = json_object_get(m->root, "partition-specs");
    json_t *s;
    size_t i;
    int64_t v;
    int rc;

    if (!specs && m->format_version >= 2)
        return tn_fail(err, TN_EINPUT, "partition-specs must exist in format v%d",
                       m->format_version);
    if (!specs) {
        m->specs = tn_calloc(1, sizeof(*m->specs));
        m->nspecs = 1;
        m->default_spec_id = 0;
        /* v1 without a spec: unpartitioned (an empty one, owned by the root like the others) */
        if (!json_object_get(m->root, "partition-spec"))
            json_object_set_new(m->root, "partition-spec", json_array());
        rc = parse_spec(json_object_get(m->root, "partition-spec"), 0, &m->specs[0], err);
        if (rc)
            return rc;
    } else {
        if (!json_is_array(specs))
            return tn_fail(err, TN_EINPUT, "partition-specs must be an array");
        m->specs = tn_calloc(json_array_size(specs) + 1, sizeof(*m->specs));
        json_array_foreach(specs, i, s)
        {
            json_t *id = json_object_get(s, "spec-id");
            rc = parse_spec(json_object_get(s, "fields"),
                            json_is_integer(id) ? (int)json_integer_value(id) : 0, &m->specs[i],
                            err);
            m->nspecs++;
            if (rc)
                return rc;
        }
        rc = get_int(m->root, "default-spec-id", m->format_version >= 2, 0, &v, err);
        if (rc)
            return rc;
        m->default_spec_id = (int)v;
    }
    if (!json_object_get(m->root, "last-partition-id") && m->format_version >= 2)
        return tn_fail(err, TN_EINPUT, "last-partition-id must exist in format v%d",
                       m->format_version);
    rc = get_int(m->root, "last-partition-id", 0, 999, &v, err);
    m->last_partition_id = (int)v;
    return rc;
}

static int parse_snapshots(struct tn_metadata *m, struct tn_err *err)
{
    json_t *snaps = json_object_get(m->root, "snapshots");
    json_t *refs = json_object_get(m->root, "refs");
    json_t *s;
    const char *key;
    size_t i;
    int rc;

    if (snaps && !json_is_array(snaps))
        return tn_fail(err, TN_EINPUT, "snapshots must be an array");
    m->snapshots = tn_calloc(json_array_size(snaps) + 1, sizeof(*m->snapshots));
    json_array_foreach(snaps, i, s)
    {
        struct tn_snapshot *sn = &m->snapshots[i];
        int64_t v;
        json_t *ml = json_object_get(s, "manifest-list");
        if ((rc = get_int(s, "snapshot-id", 1, 0, &sn->id, err)) ||
            (rc = get_int(s, "parent-snapshot-id", 0, -1, &sn->parent_id, err)) ||
            (rc = get_int(s, "sequence-number", 0, 0, &sn->sequence_number, err)) ||
            (rc = get_int(s, "timestamp-ms", 1, 0, &sn->timestamp_ms, err)) ||
            (rc = get_int(s, "schema-id", 0, -1, &v, err))) {
            tn_err_prefix(err, "snapshot %zu: ", i);
            return rc;
        }
        sn->schema_id = (int)v;
        sn->manifest_list = json_is_string(ml) ? json_string_value(ml) : NULL;
        sn->manifests = json_object_get(s, "manifests");
        if (!sn->manifest_list && !json_is_array(sn->manifests))
            return tn_fail(err, TN_EINPUT, "snapshot %lld has neither manifest-list nor manifests",
                           (long long)sn->id);
        sn->summary = json_object_get(s, "summary");
        sn->operation = json_string_value(json_object_get(sn->summary, "operation"));
        m->nsnapshots++;
    }
    if (refs && !json_is_object(refs))
        return tn_fail(err, TN_EINPUT, "refs must be an object");
    m->refs = tn_calloc(json_object_size(refs) + 1, sizeof(*m->refs));
    json_object_foreach(refs, key, s)
    {
        struct tn_ref *r = &m->refs[m->nrefs];
        const char *type = json_string_value(json_object_get(s, "type"));
        if (tn_json_id(json_object_get(s, "snapshot-id"), &r->snapshot_id) || !type ||
            (strcmp(type, "tag") && strcmp(type, "branch")))
            return tn_fail(err, TN_EINPUT, "ref %s needs a snapshot-id and a type (branch or tag)",
                           key);
        r->name = key;
        r->is_tag = strcmp(type, "tag") == 0;
        if (r->is_tag && strcmp(key, "main") == 0)
            return tn_fail(err, TN_EINPUT, "ref main must be a branch, not a tag");
        m->nrefs++;
    }
    return 0;
}

int tn_metadata_from_json(json_t *root, struct tn_metadata **out, struct tn_err *err)
{
    struct tn_metadata *m = tn_calloc(1, sizeof(*m));
    json_t *fv = json_object_get(root, "format-version");
    int64_t v;
    int rc;

    m->refcount = 1;
    m->root = root;
    m->current_snapshot_id = -1;
    if (!json_is_object(root)) {
        rc = tn_fail(err, TN_EINPUT, "metadata must be a JSON object");
        goto out;
    }
    if (!json_is_integer(fv)) {
        rc = tn_fail(err, TN_EINPUT, "Cannot parse missing int: format-version");
        goto out;
    }
    m->format_version = (int)json_integer_value(fv);
    if (m->format_version < 1 || m->format_version > 3) {
        rc = tn_fail(err, TN_EINPUT, "Cannot read unsupported version %d", m->format_version);
        goto out;
    }
    m->table_uuid = json_string_value(json_object_get(root, "table-uuid"));
    m->location = json_string_value(json_object_get(root, "location"));
    if ((!m->table_uuid && m->format_version >= 2) || !m->location) {
        rc = tn_fail(err, TN_EINPUT, "Cannot parse missing string: %s",
                     m->location ? "table-uuid" : "location");
        goto out;
    }
    /* required in v3, but tables written before the spec settled lack it: then 0 */
    if ((rc = get_int(root, "next-row-id", 0, 0, &m->next_row_id, err)) ||
        (rc = get_int(root, "last-sequence-number", m->format_version >= 2, 0,
                      &m->last_sequence_number, err)) ||
        (rc = get_int(root, "last-updated-ms", 1, 0, &m->last_updated_ms, err)) ||
        (rc = get_int(root, "last-column-id", 1, 0, &v, err)))
        goto out;
    m->last_column_id = (int)v;
    if ((rc = parse_schemas(m, err)) || (rc = parse_specs(m, err)))
        goto out;
    if (!json_object_get(root, "sort-orders") && m->format_version >= 2) {
        rc = tn_fail(err, TN_EINPUT, "sort-orders must exist in format v%d", m->format_version);
        goto out;
    }
    if ((rc = get_int(root, "current-snapshot-id", 0, -1, &m->current_snapshot_id, err)) ||
        (rc = parse_snapshots(m, err)))
        goto out;
    if (m->current_snapshot_id != -1 && !tn_metadata_snapshot(m, m->current_snapshot_id)) {
        rc = tn_fail(err, TN_EINPUT, "current-snapshot-id %lld is not in snapshots",
                     (long long)m->current_snapshot_id);
        goto out;
    }
out:
    if (rc) {
        tn_metadata_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

struct tn_metadata *tn_metadata_share(const struct tn_metadata *m)
{
    struct tn_metadata *shared = (struct tn_metadata *)m; /* only the count changes */

    __atomic_add_fetch(&shared->refcount, 1, __ATOMIC_RELAXED);
    return shared;
}

void tn_metadata_free(struct tn_metadata *m)
{
    if (!m || __atomic_sub_fetch(&m->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < m->nschemas; i++)
        tn_schema_free(m->schemas[i]);
    free(m->schemas);
    for (size_t i = 0; i < m->nspecs; i++)
        free(m->specs[i].fields);
    free(m->specs);
    free(m->snapshots);
    free(m->refs);
    tn_metadata_free(m->dump_base);
    free(m->text);
    free(m->pieces);
    json_decref(m->root);
    free(m);
}

char *tn_metadata_dump(const struct tn_metadata *m)
{
    return m->text ? tn_strdup(m->text) : tn_json_dump(m->root);
}

/* One element of a top-level array in a version's text, in a table open-addressed by the
 * element's pointer: versions derived by tn_metadata_add_snapshot share these json_t. */
struct tn_dump_piece {
    const json_t *elem; /* NULL: an empty slot */
    size_t off, len;
};

static size_t piece_slot(const json_t *elem, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)elem;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static struct tn_dump_piece *piece_find(const struct tn_metadata *m, const json_t *elem)
{
    if (!m || !m->pieces)
        return NULL;
    for (size_t i = piece_slot(elem, m->pieces_cap);; i = (i + 1) & (m->pieces_cap - 1)) {
        if (m->pieces[i].elem == elem)
            return &m->pieces[i];
        if (!m->pieces[i].elem)
            return NULL;
    }
}

static void piece_add(struct tn_metadata *m, const json_t *elem, size_t off, size_t len)
{
    size_t i = piece_slot(elem, m->pieces_cap);

    while (m->pieces[i].elem && m->pieces[i].elem != elem)
        i = (i + 1) & (m->pieces_cap - 1);
    m->pieces[i] = (struct tn_dump_piece){elem, off, len};
}

/* The array "a" of m's root, each element copied from the base's text when it has it. */
static void dump_array_reusing(struct tn_buf *b, struct tn_metadata *m, const json_t *a)
{
    tn_buf_add(b, "[", 1, NULL);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i);
        const struct tn_dump_piece *p = piece_find(m->dump_base, e);
        size_t start;

        if (i)
            tn_buf_add(b, ",", 1, NULL);
        start = b->len;
        if (p)
            tn_buf_add(b, m->dump_base->text + p->off, p->len, NULL);
        else
            dump_value(b, e);
        piece_add(m, e, start, b->len - start);
    }
    tn_buf_add(b, "]", 1, NULL);
}

const char *tn_metadata_dump_new(struct tn_metadata *m, size_t *len)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    size_t elems = 0;
    const char *key;
    json_t *v;
    int first = 1;

    if (!m->text) {
        json_object_foreach(m->root, key, v)
        {
            if (json_is_array(v))
                elems += json_array_size(v);
        }
        for (m->pieces_cap = 16; m->pieces_cap < 2 * elems;)
            m->pieces_cap *= 2;
        m->pieces = tn_calloc(m->pieces_cap, sizeof(*m->pieces));
        tn_buf_add(&b, "{", 1, NULL);
        json_object_foreach(m->root, key, v)
        {
            if (!first)
                tn_buf_add(&b, ",", 1, NULL);
            first = 0;
            dump_string(&b, key, strlen(key));
            tn_buf_add(&b, ":", 1, NULL);
            if (json_is_array(v))
                dump_array_reusing(&b, m, v);
            else
                dump_value(&b, v);
        }
        tn_buf_add(&b, "}", 1, NULL);
        m->text_len = b.len;
        m->text = tn_buf_detach(&b, NULL);
        tn_metadata_free(m->dump_base);
        m->dump_base = NULL;
    }
    *len = m->text_len;
    return m->text;
}

const struct tn_schema *tn_metadata_schema(const struct tn_metadata *m, int schema_id)
{
    for (size_t i = 0; i < m->nschemas; i++)
        if (m->schemas[i]->schema_id == schema_id)
            return m->schemas[i];
    return NULL;
}

const struct tn_schema *tn_metadata_current_schema(const struct tn_metadata *m)
{
    return tn_metadata_schema(m, m->current_schema_id);
}

const struct tn_spec *tn_metadata_spec(const struct tn_metadata *m, int spec_id)
{
    for (size_t i = 0; i < m->nspecs; i++)
        if (m->specs[i].spec_id == spec_id)
            return &m->specs[i];
    return NULL;
}

const struct tn_snapshot *tn_metadata_snapshot(const struct tn_metadata *m, int64_t id)
{
    for (size_t i = 0; i < m->nsnapshots; i++)
        if (m->snapshots[i].id == id)
            return &m->snapshots[i];
    return NULL;
}

const struct tn_ref *tn_metadata_ref(const struct tn_metadata *m, const char *name)
{
    for (size_t i = 0; i < m->nrefs; i++)
        if (strcmp(m->refs[i].name, name) == 0)
            return &m->refs[i];
    return NULL;
}

const struct tn_schema *tn_metadata_snapshot_schema(const struct tn_metadata *m,
                                                    const struct tn_snapshot *s)
{
    const struct tn_schema *schema = s ? tn_metadata_schema(m, s->schema_id) : NULL;
    return schema ? schema : tn_metadata_current_schema(m);
}

int tn_spec_is_unpartitioned(const struct tn_spec *spec)
{
    for (size_t i = 0; i < spec->nfields; i++)
        if (strcmp(spec->fields[i].transform, "void") != 0)
            return 0;
    return 1;
}

/*---- Writing ----*/

int64_t tn_snapshot_id_new(void)
{
    uint64_t halves[2];
    int64_t id;

    tn_random_bytes(halves, sizeof(halves));
    id = (int64_t)((halves[0] ^ halves[1]) & 0x7fffffffffffffffULL);
    return id ? id : 1;
}

int tn_metadata_new(const char *location, json_t *schema, json_t *properties,
                    struct tn_metadata **out, struct tn_err *err)
{
    char uuid[37];
    json_t *root, *props = properties ? json_deep_copy(properties) : json_object();
    const char *fv_text = json_string_value(json_object_get(props, TN_FORMAT_VERSION_PROP));
    int64_t fv = 2;
    struct tn_schema *parsed;
    int rc;

    if (json_object_get(props, TN_FORMAT_VERSION_PROP) &&
        (!fv_text || tn_parse_i64(fv_text, &fv) || (fv != 2 && fv != 3))) {
        json_decref(props);
        return tn_fail(err, TN_EINPUT,
                       "format-version must be \"2\" (the default) or \"3\"; tarn creates "
                       "tables in no other format version");
    }
    json_object_del(props, TN_FORMAT_VERSION_PROP); /* reserved: the metadata field says it */
    rc = tn_schema_parse(schema, &parsed, err);
    if (rc) {
        json_decref(props);
        return rc;
    }
    tn_uuid4(uuid);
    root = json_pack("{s:i, s:s, s:s, s:i, s:I, s:i, s:i, s:[O], s:i, s:[{s:i, s:[]}], s:i, "
                     "s:i, s:[{s:i, s:[]}], s:o, s:{}, s:[], s:[], s:[], s:[]}",
                     "format-version", (int)fv, "table-uuid", uuid, "location", location,
                     "last-sequence-number", 0, "last-updated-ms", (json_int_t)tn_now_ms(),
                     "last-column-id", tn_schema_max_id(parsed), "current-schema-id",
                     parsed->schema_id, "schemas", schema, "default-spec-id", 0, "partition-specs",
                     "spec-id", 0, "fields", "last-partition-id", 999, "default-sort-order-id", 0,
                     "sort-orders", "order-id", 0, "fields", "properties", props, "refs",
                     "snapshots", "snapshot-log", "metadata-log", "statistics");
    tn_schema_free(parsed);
    if (!root)
        return tn_fail(err, TN_EINTERNAL, "cannot build table metadata");
    if (fv >= 3)
        json_object_set_new(root, "next-row-id", json_integer(0));
    return tn_metadata_from_json(root, out, err);
}

static json_t *id_json(int64_t id)
{
    return json_integer((json_int_t)id);
}

int tn_metadata_previous_max(const json_t *root)
{
    const char *v = json_string_value(json_object_get(json_object_get(root, "properties"),
                                                      "write.metadata.previous-versions-max"));
    int64_t n;

    if (!v || tn_parse_i64(v, &n) || n < 1 || n > METADATA_LOG_MAX_LIMIT)
        return METADATA_LOG_MAX;
    return (int)n;
}

/* Replace parent[key] by a shallow copy of itself (a new empty array or object when it is absent
 * or of another type) and return it: a change to the copy leaves metadata that shares the
 * original untouched, without copying what the container holds. */
static json_t *own_member(json_t *parent, const char *key, int want_array)
{
    json_t *old = json_object_get(parent, key);
    json_t *mine;

    if (want_array ? json_is_array(old) : json_is_object(old))
        mine = json_copy(old);
    else
        mine = want_array ? json_array() : json_object();
    json_object_set_new(parent, key, mine);
    return mine;
}

void tn_metadata_log_append(json_t *root, const char *location, int64_t timestamp_ms)
{
    json_t *log = own_member(root, "metadata-log", 1);

    json_array_append_new(log, json_pack("{s:o, s:s}", "timestamp-ms", id_json(timestamp_ms),
                                         "metadata-file", location));
    while (json_array_size(log) > (size_t)tn_metadata_previous_max(root))
        json_array_remove(log, 0);
}

int tn_metadata_add_snapshot(const struct tn_metadata *m, const char *m_location,
                             const struct tn_snapshot_new *s, struct tn_metadata **out,
                             struct tn_err *err)
{
    json_t *updates = json_array();
    const json_t *old_ref = NULL;
    int rc;

    if (s->branch && strcmp(s->branch, "main") != 0)
        old_ref = json_object_get(json_object_get(m->root, "refs"), s->branch);
    tn_updates_add_snapshot(updates, s, old_ref);
    rc = tn_metadata_update(m, m_location, updates, out, err);
    json_decref(updates);
    return rc;
}
