/* parquet_footer.c - reads a local Parquet file's footer (parquet.h): the trailing length and
 * "PAR1" magic, then the FileMetaData, decoded from Thrift's compact protocol. Only the fields
 * tarn uses are kept; every other field, of any type, is skipped. Every read is bounds-checked,
 * nesting and list lengths are capped, so a corrupt footer gives TN_EINPUT and never a crash.
 * No shared state: thread-safe. */
#include "iceberg/iceberg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC          "PAR1"
#define MAGIC_LEN      4
#define TAIL_LEN       8  /* the footer's length (4 bytes, little-endian) and the magic */
#define NESTING_MAX    64 /* structs, lists and maps inside one another */
#define VARINT_MAX_LEN 10 /* bytes of a 64-bit varint */

/* Thrift compact protocol's type codes. */
enum wire_type {
    WT_STOP = 0,
    WT_TRUE = 1,
    WT_FALSE = 2,
    WT_BYTE = 3,
    WT_I16 = 4,
    WT_I32 = 5,
    WT_I64 = 6,
    WT_DOUBLE = 7,
    WT_BINARY = 8,
    WT_LIST = 9,
    WT_SET = 10,
    WT_MAP = 11,
    WT_STRUCT = 12,
    WT_UUID = 13,
};

/* parquet.thrift's ConvertedType values that carry a unit. */
enum converted_type {
    CT_TIME_MILLIS = 7,
    CT_TIME_MICROS = 8,
    CT_TIMESTAMP_MILLIS = 9,
    CT_TIMESTAMP_MICROS = 10,
};

/* Decoding state. Every function below returns 0, or non-zero once it has set "rc" and "err". */
struct reader {
    const unsigned char *start, *p, *end;
    int depth; /* of nested structs, lists and maps being skipped */
    int rc;    /* the TN_E* code of the failure */
    struct tn_err *err;
};

/* A struct's field header: its id and wire type (WT_STOP after the last field). */
struct field {
    int id;
    int type;
};

/* What one schema element says, before it is known to be a leaf. */
struct schema_element {
    struct tn_parquet_leaf leaf;
    int num_children;   /* -1 when absent: the element is a leaf */
    int converted_type; /* -1 when absent */
};

static int corrupt(struct reader *r, const char *what)
{
    r->rc =
        tn_fail(r->err, TN_EINPUT, "corrupt Parquet footer at byte %td: %s", r->p - r->start, what);
    return -1;
}

/*---- Compact protocol primitives ----*/

static int advance(struct reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return corrupt(r, "a value runs past the end");
    r->p += n;
    return 0;
}

static int read_byte(struct reader *r, unsigned char *out)
{
    if (r->p == r->end)
        return corrupt(r, "a value runs past the end");
    *out = *r->p++;
    return 0;
}

static int read_varint(struct reader *r, uint64_t *out)
{
    uint64_t v = 0;
    unsigned char b;

    for (int i = 0; i < VARINT_MAX_LEN; i++) {
        if (read_byte(r, &b))
            return -1;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return corrupt(r, "a varint is longer than 10 bytes");
}

/* A zigzag-encoded integer (i16, i32 and i64 all travel this way). */
static int read_zigzag(struct reader *r, int64_t *out)
{
    uint64_t v;

    if (read_varint(r, &v))
        return -1;
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* The length of a binary, list or map: never more than the bytes left, as every byte or element
 * takes at least one. */
static int read_length(struct reader *r, size_t *out)
{
    uint64_t n;

    if (read_varint(r, &n))
        return -1;
    if (n > (uint64_t)(r->end - r->p))
        return corrupt(r, "a length runs past the end");
    *out = (size_t)n;
    return 0;
}

/* The next field header of a struct; "f" holds the previous one, as ids may be deltas. */
static int next_field(struct reader *r, struct field *f)
{
    unsigned char b;
    int64_t id;

    if (read_byte(r, &b))
        return -1;
    f->type = b & 0x0f;
    if (b == WT_STOP)
        return 0;
    if (f->type == WT_STOP || f->type > WT_UUID)
        return corrupt(r, "unknown field type");
    if (b >> 4) {
        f->id += b >> 4;
        return 0;
    }
    if (read_zigzag(r, &id))
        return -1;
    if (id < INT16_MIN || id > INT16_MAX)
        return corrupt(r, "field id out of range");
    f->id = (int)id;
    return 0;
}

/* Decodes one field of a struct: reads its value (or skips it) into "ctx". */
typedef int (*field_reader)(struct reader *r, const struct field *f, void *ctx);

/* Read a struct's fields up to its STOP, each through "read_field". */
static int read_struct(struct reader *r, field_reader read_field, void *ctx)
{
    struct field f = {0, 0};
    int rc;

    while (!(rc = next_field(r, &f)) && f.type != WT_STOP)
        if ((rc = read_field(r, &f, ctx)))
            break;
    return rc;
}

/* A list or set header: the element count (up to 14 in the header byte, else a varint after it)
 * and the elements' type. */
static int list_header(struct reader *r, size_t *n, int *elem_type)
{
    unsigned char b;

    if (read_byte(r, &b))
        return -1;
    *elem_type = b & 0x0f;
    if (*elem_type == WT_STOP || *elem_type > WT_UUID)
        return corrupt(r, "unknown list element type");
    if (b >> 4 != 15) {
        *n = b >> 4;
        return *n > (size_t)(r->end - r->p) ? corrupt(r, "a length runs past the end") : 0;
    }
    return read_length(r, n);
}

/*---- Skipping what tarn does not use ----*/

static int skip_value(struct reader *r, int type);

static int skip_field(struct reader *r, const struct field *f, void *ctx TN_UNUSED)
{
    return skip_value(r, f->type);
}

/* A value inside a list, set or map: a boolean there is a byte of its own. */
static int skip_element(struct reader *r, int type)
{
    return type == WT_TRUE || type == WT_FALSE ? advance(r, 1) : skip_value(r, type);
}

static int skip_nested(struct reader *r, int type)
{
    size_t n;
    int elem_type, key_type = 0, rc = 0;
    unsigned char b = 0;

    if (++r->depth > NESTING_MAX)
        return corrupt(r, "values nested too deeply");
    if (type == WT_STRUCT) {
        rc = read_struct(r, skip_field, NULL);
    } else if (type == WT_MAP) {
        rc = read_length(r, &n);
        if (!rc && n && !(rc = read_byte(r, &b)))
            key_type = b >> 4;
        for (size_t i = 0; !rc && i < n; i++)
            if (!(rc = skip_element(r, key_type)))
                rc = skip_element(r, b & 0x0f);
    } else {
        rc = list_header(r, &n, &elem_type);
        for (size_t i = 0; !rc && i < n; i++)
            rc = skip_element(r, elem_type);
    }
    r->depth--;
    return rc;
}

/* Skip a field's value of wire type "type" (a boolean field's value is in its header). */
static int skip_value(struct reader *r, int type)
{
    uint64_t ignored;
    size_t n;

    switch (type) {
    case WT_TRUE:
    case WT_FALSE:
        return 0;
    case WT_BYTE:
        return advance(r, 1);
    case WT_I16:
    case WT_I32:
    case WT_I64:
        return read_varint(r, &ignored);
    case WT_DOUBLE:
        return advance(r, 8);
    case WT_UUID:
        return advance(r, 16);
    case WT_BINARY:
        return read_length(r, &n) || advance(r, n);
    case WT_LIST:
    case WT_SET:
    case WT_MAP:
    case WT_STRUCT:
        return skip_nested(r, type);
    default:
        return corrupt(r, "unknown value type");
    }
}

/*---- Typed fields ----*/

static int expect(struct reader *r, const struct field *f, int type)
{
    return f->type == type ? 0 : corrupt(r, "a field has the wrong type");
}

static int read_i32(struct reader *r, const struct field *f, int *out)
{
    int64_t v;

    if (expect(r, f, WT_I32) || read_zigzag(r, &v))
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return corrupt(r, "an i32 out of range");
    *out = (int)v;
    return 0;
}

/* An i64 that counts or locates something, so cannot be negative. */
static int read_count(struct reader *r, const struct field *f, int64_t *out)
{
    if (expect(r, f, WT_I64) || read_zigzag(r, out))
        return -1;
    return *out < 0 ? corrupt(r, "a negative count or offset") : 0;
}

static int read_stat(struct reader *r, const struct field *f, struct tn_parquet_stat *out)
{
    size_t n;

    if (expect(r, f, WT_BINARY) || read_length(r, &n))
        return -1;
    out->p = r->p;
    out->n = n;
    r->p += n;
    return 0;
}

/*---- Schema ----*/

/* TimeUnit, a union of empty structs: MILLIS (1), MICROS (2) or NANOS (3); ctx: the unit. */
static int time_unit_field(struct reader *r, const struct field *f, void *ctx)
{
    static const enum tn_parquet_unit units[] = {TN_PARQUET_NO_UNIT, TN_PARQUET_MILLIS,
                                                 TN_PARQUET_MICROS, TN_PARQUET_NANOS};
    enum tn_parquet_unit *unit = ctx;

    if (f->id >= 1 && f->id <= 3 && f->type == WT_STRUCT)
        *unit = units[f->id];
    return skip_value(r, f->type);
}

/* TimeType or TimestampType: the unit is field 2. */
static int time_type_field(struct reader *r, const struct field *f, void *ctx)
{
    if (f->id != 2)
        return skip_value(r, f->type);
    return expect(r, f, WT_STRUCT) || read_struct(r, time_unit_field, ctx);
}

/* LogicalType, a union: only TIME (7) and TIMESTAMP (8) matter here, for their unit. */
static int logical_type_field(struct reader *r, const struct field *f, void *ctx)
{
    if (f->id != 7 && f->id != 8)
        return skip_value(r, f->type);
    return expect(r, f, WT_STRUCT) || read_struct(r, time_type_field, ctx);
}

/* SchemaElement; ctx: a struct schema_element. */
static int schema_element_field(struct reader *r, const struct field *f, void *ctx)
{
    struct schema_element *e = ctx;

    switch (f->id) {
    case 1:
        return read_i32(r, f, &e->leaf.type);
    case 5:
        if (read_i32(r, f, &e->num_children))
            return -1;
        if (e->num_children < 0 || e->num_children > TN_PARQUET_COLUMNS_MAX)
            return corrupt(r, "a schema element's number of children is out of range");
        return 0;
    case 6:
        return read_i32(r, f, &e->converted_type);
    case 7:
        return read_i32(r, f, &e->leaf.scale);
    case 9:
        return read_i32(r, f, &e->leaf.field_id);
    case 10:
        return expect(r, f, WT_STRUCT) || read_struct(r, logical_type_field, &e->leaf.unit);
    default:
        return skip_value(r, f->type);
    }
}

/* The unit a converted type gives, for an element whose logical type gave none. */
static enum tn_parquet_unit converted_unit(int converted_type)
{
    switch (converted_type) {
    case CT_TIME_MILLIS:
    case CT_TIMESTAMP_MILLIS:
        return TN_PARQUET_MILLIS;
    case CT_TIME_MICROS:
    case CT_TIMESTAMP_MICROS:
        return TN_PARQUET_MICROS;
    default:
        return TN_PARQUET_NO_UNIT;
    }
}

/* list<SchemaElement>: the root, then the tree depth-first; the elements without a number of
 * children are the leaves. "open" counts the children announced but not yet seen, so the list
 * must hold exactly one tree. */
static int read_schema(struct reader *r, struct tn_parquet_footer *out)
{
    struct schema_element e;
    size_t n, open = 1;
    int elem_type;

    if (out->leaves)
        return corrupt(r, "two schemas");
    if (list_header(r, &n, &elem_type))
        return -1;
    if (elem_type != WT_STRUCT || n == 0)
        return corrupt(r, "the schema is not a list of elements");
    if (n > TN_PARQUET_COLUMNS_MAX) {
        r->rc = tn_fail(r->err, TN_ETOOBIG,
                        "a Parquet schema of %zu elements is more than the %d "
                        "tarn reads",
                        n, TN_PARQUET_COLUMNS_MAX);
        return -1;
    }
    out->leaves = tn_calloc(n, sizeof(*out->leaves));
    for (size_t i = 0; i < n; i++) {
        e = (struct schema_element){{-1, -1, 0, TN_PARQUET_NO_UNIT}, -1, -1};
        if (read_struct(r, schema_element_field, &e))
            return -1;
        if (!open--)
            return corrupt(r, "the schema's elements do not form one tree");
        open += e.num_children > 0 ? (size_t)e.num_children : 0;
        if (i == 0 || e.num_children >= 0)
            continue;
        if (e.leaf.unit == TN_PARQUET_NO_UNIT)
            e.leaf.unit = converted_unit(e.converted_type);
        out->leaves[out->nleaves++] = e.leaf;
    }
    return open ? corrupt(r, "the schema's elements do not form one tree") : 0;
}

/*---- Row groups ----*/

/* Statistics; ctx: the column chunk. */
static int statistics_field(struct reader *r, const struct field *f, void *ctx)
{
    struct tn_parquet_chunk *c = ctx;

    switch (f->id) {
    case 3:
        return read_count(r, f, &c->null_count);
    case 5:
        return read_stat(r, f, &c->max);
    case 6:
        return read_stat(r, f, &c->min);
    default: /* 1 and 2 are the deprecated max and min, in a sort order of their own */
        return skip_value(r, f->type);
    }
}

/* ColumnMetaData; ctx: the column chunk. */
static int column_metadata_field(struct reader *r, const struct field *f, void *ctx)
{
    struct tn_parquet_chunk *c = ctx;

    switch (f->id) {
    case 5:
        return read_count(r, f, &c->num_values);
    case 7:
        return read_count(r, f, &c->total_compressed_size);
    case 9:
        return read_count(r, f, &c->data_page_offset);
    case 11:
        return read_count(r, f, &c->dictionary_page_offset);
    case 12:
        return expect(r, f, WT_STRUCT) || read_struct(r, statistics_field, c);
    default:
        return skip_value(r, f->type);
    }
}

/* A column chunk being read, and whether its meta_data was seen. */
struct chunk_state {
    struct tn_parquet_chunk *chunk;
    int has_metadata;
};

/* ColumnChunk: its meta_data is field 3. */
static int column_chunk_field(struct reader *r, const struct field *f, void *ctx)
{
    struct chunk_state *cs = ctx;

    if (f->id != 3)
        return skip_value(r, f->type);
    cs->has_metadata = 1;
    return expect(r, f, WT_STRUCT) || read_struct(r, column_metadata_field, cs->chunk);
}

/* A ColumnChunk, whose meta_data is required here (only encrypted columns lack it). */
static int read_column_chunk(struct reader *r, struct tn_parquet_chunk *c)
{
    struct chunk_state cs = {c, 0};

    *c = (struct tn_parquet_chunk){0, 0, -1, -1, -1, {NULL, 0}, {NULL, 0}};
    if (read_struct(r, column_chunk_field, &cs))
        return -1;
    return cs.has_metadata ? 0 : corrupt(r, "a column chunk has no metadata");
}

/* A row group being read: where its chunks go, one per leaf, and whether they were seen. */
struct row_group_state {
    size_t nleaves;
    struct tn_parquet_chunk *chunks;
    int has_columns;
};

/* RowGroup: its columns are field 1. */
static int row_group_field(struct reader *r, const struct field *f, void *ctx)
{
    struct row_group_state *g = ctx;
    size_t n;
    int elem_type;

    if (f->id != 1)
        return skip_value(r, f->type);
    g->has_columns = 1;
    if (expect(r, f, WT_LIST) || list_header(r, &n, &elem_type))
        return -1;
    if (n != g->nleaves || (n && elem_type != WT_STRUCT))
        return corrupt(r, "a row group's chunks do not match the schema's columns");
    for (size_t i = 0; i < n; i++)
        if (read_column_chunk(r, &g->chunks[i]))
            return -1;
    return 0;
}

static int read_row_groups(struct reader *r, struct tn_parquet_footer *out)
{
    size_t n;
    int elem_type;

    if (!out->leaves)
        return corrupt(r, "row groups before the schema");
    if (out->chunks)
        return corrupt(r, "two lists of row groups");
    if (list_header(r, &n, &elem_type))
        return -1;
    if (n && elem_type != WT_STRUCT)
        return corrupt(r, "the row groups are not a list of structs");
    if (out->nleaves && n > TN_PARQUET_CHUNKS_MAX / out->nleaves) {
        r->rc = tn_fail(r->err, TN_ETOOBIG,
                        "a Parquet footer of %zu row groups of %zu columns "
                        "holds more than the %d column chunks tarn reads",
                        n, out->nleaves, TN_PARQUET_CHUNKS_MAX);
        return -1;
    }
    out->chunks = tn_calloc(n * out->nleaves + 1, sizeof(*out->chunks));
    for (size_t g = 0; g < n; g++) {
        struct row_group_state rg = {out->nleaves, &out->chunks[g * out->nleaves], 0};
        if (read_struct(r, row_group_field, &rg))
            return -1;
        if (!rg.has_columns && out->nleaves)
            return corrupt(r, "a row group has no columns");
        out->nrow_groups++;
    }
    return 0;
}

/*---- FileMetaData ----*/

/* FileMetaData; ctx: the footer. */
static int file_metadata_field(struct reader *r, const struct field *f, void *ctx)
{
    struct tn_parquet_footer *out = ctx;

    switch (f->id) {
    case 2: /* list<SchemaElement> */
        return expect(r, f, WT_LIST) || read_schema(r, out);
    case 3:
        return read_count(r, f, &out->num_rows);
    case 4: /* list<RowGroup> */
        return expect(r, f, WT_LIST) || read_row_groups(r, out);
    default:
        return skip_value(r, f->type);
    }
}

static int read_file_metadata(struct reader *r, struct tn_parquet_footer *out)
{
    if (read_struct(r, file_metadata_field, out))
        return -1;
    return out->leaves ? 0 : corrupt(r, "no schema");
}

void tn_parquet_footer_release(struct tn_parquet_footer *f)
{
    free(f->leaves);
    free(f->chunks);
    free(f->bytes);
    memset(f, 0, sizeof(*f));
}

int tn_parquet_footer_parse(const unsigned char *data, size_t len, struct tn_parquet_footer *out,
                            struct tn_err *err)
{
    struct reader r = {data, data, data + len, 0, 0, err};
    struct tn_parquet_footer f = {0};

    if (read_file_metadata(&r, &f)) {
        tn_parquet_footer_release(&f);
        return r.rc;
    }
    *out = f;
    return 0;
}

/*---- The file ----*/

int tn_parquet_read_at(int fd, const char *path, void *buf, size_t len, int64_t offset,
                       struct tn_err *err)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, offset + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tn_fail(err, TN_EUNAVAILABLE, "cannot read %s: %s", path,
                           n ? strerror(errno) : "it ended early");
        done += (size_t)n;
    }
    return 0;
}

/* The FileMetaData's length, from the file's last 8 bytes: 4 of length and the magic. */
static int footer_length(int fd, const char *path, off_t size, size_t *out, struct tn_err *err)
{
    unsigned char tail[TAIL_LEN];
    uint32_t len;
    int rc;

    if (size < MAGIC_LEN + TAIL_LEN)
        return tn_fail(err, TN_EINPUT, "%s is not a Parquet file: it has only %lld bytes", path,
                       (long long)size);
    if ((rc = tn_parquet_read_at(fd, path, tail, TAIL_LEN, size - TAIL_LEN, err)))
        return rc;
    if (memcmp(tail + 4, MAGIC, MAGIC_LEN) != 0)
        return tn_fail(err, TN_EINPUT, "%s is not a Parquet file: it does not end in %s", path,
                       MAGIC);
    len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
          (uint32_t)tail[3] << 24;
    if (len > TN_PARQUET_FOOTER_MAX)
        return tn_fail(err, TN_ETOOBIG,
                       "%s: a Parquet footer of %lu bytes is more than the %d "
                       "tarn reads",
                       path, (unsigned long)len, TN_PARQUET_FOOTER_MAX);
    if (len > size - MAGIC_LEN - TAIL_LEN)
        return tn_fail(err, TN_EINPUT,
                       "%s: its Parquet footer of %lu bytes does not fit in the "
                       "file's %lld bytes",
                       path, (unsigned long)len, (long long)size);
    *out = len;
    return 0;
}

int tn_parquet_footer_bytes(int fd, const char *path, int64_t size, unsigned char **out,
                            size_t *out_len, struct tn_err *err)
{
    unsigned char *bytes;
    size_t len = 0;
    int rc;

    if ((rc = footer_length(fd, path, (off_t)size, &len, err)))
        return rc;
    bytes = tn_malloc(len ? len : 1);
    if ((rc = tn_parquet_read_at(fd, path, bytes, len, size - TAIL_LEN - (int64_t)len, err))) {
        free(bytes);
        return rc;
    }
    *out = bytes;
    *out_len = len;
    return 0;
}

int tn_parquet_footer_read(const char *path, struct tn_parquet_footer *out, struct tn_err *err)
{
    unsigned char *bytes = NULL;
    struct stat st;
    size_t len = 0;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE, "cannot read %s: %s",
                       path, strerror(errno));
    if (fstat(fd, &st)) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = tn_parquet_footer_bytes(fd, path, st.st_size, &bytes, &len, err)))
        goto out;
    if ((rc = tn_parquet_footer_parse(bytes, len, out, err))) {
        tn_err_prefix(err, "%s: ", path);
        goto out;
    }
    out->bytes = bytes; /* the statistics point into it */
    bytes = NULL;
out:
    free(bytes);
    close(fd);
    return rc;
}
