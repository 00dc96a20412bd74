/* pos_deletes.c - the Parquet file of a position delete, written by tarn itself: Iceberg
 * requires its columns file_path (field id 2147483546) and pos (2147483545) to be REQUIRED, and
 * DuckDB's Parquet writer marks every top-level column OPTIONAL. The rows stream from DuckDB,
 * already sorted, into row groups of at most GROUP_ROWS rows (or GROUP_BYTES of paths); each
 * column of a group is one PLAIN data page compressed with zstd, with min/max statistics. The
 * footer is Thrift compact-protocol FileMetaData (parquet.thrift), with the key-value metadata
 * delete-type=position, as DuckDB's COPY wrote it before. */
#include "table_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define GROUP_ROWS  (1 << 20)
#define GROUP_BYTES (64 << 20)
#define ZSTD_LEVEL  3

#define ID_FILE_PATH 2147483546
#define ID_POS       2147483545

/*---- Thrift compact protocol ----*/

enum { T_I32 = 5, T_I64 = 6, T_BINARY = 8, T_LIST = 9, T_STRUCT = 12 };

struct thrift {
    struct tn_buf *out;
    int last[16]; /* the last field id written, per open struct */
    int depth;
};

static void varint(struct tn_buf *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;

    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c[n] |= 0x80;
        n++;
    } while (v);
    tn_buf_add(b, c, n, NULL);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); /* the sign spread over every bit */
}

static void field(struct thrift *t, int id, int type)
{
    int delta = id - t->last[t->depth];
    unsigned char c;

    if (delta > 0 && delta <= 15) {
        c = (unsigned char)(delta << 4 | type);
        tn_buf_add(t->out, &c, 1, NULL);
    } else {
        c = (unsigned char)type;
        tn_buf_add(t->out, &c, 1, NULL);
        varint(t->out, zigzag(id));
    }
    t->last[t->depth] = id;
}

static void put_i32(struct thrift *t, int id, int32_t v)
{
    field(t, id, T_I32);
    varint(t->out, zigzag(v));
}

static void put_i64(struct thrift *t, int id, int64_t v)
{
    field(t, id, T_I64);
    varint(t->out, zigzag(v));
}

static void put_binary(struct thrift *t, int id, const void *p, size_t n)
{
    field(t, id, T_BINARY);
    varint(t->out, n);
    tn_buf_add(t->out, p, n, NULL);
}

static void put_string(struct thrift *t, int id, const char *s)
{
    put_binary(t, id, s, strlen(s));
}

/* A list header of "n" elements of "type" (field "id"; id 0: a list element, no header). */
static void put_list(struct thrift *t, int id, int type, size_t n)
{
    unsigned char c;

    if (id)
        field(t, id, T_LIST);
    if (n < 15) {
        c = (unsigned char)(n << 4 | (size_t)type);
        tn_buf_add(t->out, &c, 1, NULL);
    } else {
        c = (unsigned char)(0xf0 | type);
        tn_buf_add(t->out, &c, 1, NULL);
        varint(t->out, n);
    }
}

/* Open a struct (field "id"; id 0: a list element) and close it. */
static void begin(struct thrift *t, int id)
{
    if (id)
        field(t, id, T_STRUCT);
    t->last[++t->depth] = 0;
}

static void end(struct thrift *t)
{
    unsigned char stop = 0;

    tn_buf_add(t->out, &stop, 1, NULL);
    t->depth--;
}

/*---- Row groups ----*/

/* One column of the row group being filled: its PLAIN values and statistics. */
struct column {
    struct tn_buf values;
    struct tn_buf min, max; /* plain-encoded statistic values (no length prefix) */
    /* where its page was written, for the footer */
    int64_t offset, compressed, uncompressed;
};

struct group {
    int64_t rows, offset;
    int64_t pos_min, pos_max;
    struct column col[2]; /* file_path, pos (whose min and max are filled at the flush) */
};

struct writer {
    FILE *f;
    const char *path;
    int64_t written;
    struct group *groups;
    size_t ngroups, cap;
    struct group cur;
};

static void set_stat(struct tn_buf *b, const void *p, size_t n)
{
    tn_buf_reset(b);
    tn_buf_add(b, p, n, NULL);
}

static void put_le64(struct tn_buf *b, int64_t v)
{
    unsigned char le[8];

    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)v >> (8 * i));
    tn_buf_add(b, le, 8, NULL);
}

static int bytes_cmp(const struct tn_buf *a, const void *p, size_t n)
{
    size_t k = a->len < n ? a->len : n;
    int c = memcmp(a->buf ? a->buf : "", p, k);
    return c ? c : (a->len > n) - (a->len < n);
}

static void add_row(struct group *g, const char *path, size_t path_len, int64_t pos)
{
    unsigned char le[4];

    for (int i = 0; i < 4; i++)
        le[i] = (unsigned char)((uint32_t)path_len >> (8 * i));
    tn_buf_add(&g->col[0].values, le, 4, NULL);
    tn_buf_add(&g->col[0].values, path, path_len, NULL);
    put_le64(&g->col[1].values, pos);
    if (!g->rows || bytes_cmp(&g->col[0].min, path, path_len) > 0)
        set_stat(&g->col[0].min, path, path_len);
    if (!g->rows || bytes_cmp(&g->col[0].max, path, path_len) < 0)
        set_stat(&g->col[0].max, path, path_len);
    if (!g->rows || pos < g->pos_min)
        g->pos_min = pos;
    if (!g->rows || pos > g->pos_max)
        g->pos_max = pos;
    g->rows++;
}

static int write_bytes(struct writer *w, const void *p, size_t n, struct tn_err *err)
{
    if (fwrite(p, 1, n, w->f) != n)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", w->path, strerror(errno));
    w->written += (int64_t)n;
    return 0;
}

/* Write column "c" of the current group as one compressed data page. */
static int write_page(struct writer *w, struct column *c, int64_t rows, struct tn_err *err)
{
    size_t bound = ZSTD_compressBound(c->values.len);
    unsigned char *z = tn_malloc(bound + 1);
    size_t zn =
        ZSTD_compress(z, bound, c->values.buf ? c->values.buf : "", c->values.len, ZSTD_LEVEL);
    struct tn_buf head = TN_BUF_INIT(TN_CAP_SQL);
    struct thrift t = {&head, {0}, 0};
    int rc;

    if (ZSTD_isError(zn)) {
        free(z);
        return tn_fail(err, TN_EINTERNAL, "zstd: %s", ZSTD_getErrorName(zn));
    }
    begin(&t, 0);      /* PageHeader */
    put_i32(&t, 1, 0); /* DATA_PAGE */
    put_i32(&t, 2, (int32_t)c->values.len);
    put_i32(&t, 3, (int32_t)zn);
    begin(&t, 5); /* DataPageHeader */
    put_i32(&t, 1, (int32_t)rows);
    put_i32(&t, 2, 0); /* PLAIN */
    put_i32(&t, 3, 3); /* RLE (no levels: the column is required) */
    put_i32(&t, 4, 3);
    end(&t);
    end(&t);
    c->offset = w->written;
    c->uncompressed = (int64_t)(head.len + c->values.len);
    c->compressed = (int64_t)(head.len + zn);
    rc = write_bytes(w, head.buf, head.len, err);
    if (!rc)
        rc = write_bytes(w, z, zn, err);
    tn_buf_release(&head);
    free(z);
    return rc;
}

static void release_group(struct group *g)
{
    for (int i = 0; i < 2; i++) {
        tn_buf_release(&g->col[i].values);
        tn_buf_release(&g->col[i].min);
        tn_buf_release(&g->col[i].max);
    }
}

/* Write the current group's pages; it is kept (without its values) for the footer. */
static int flush_group(struct writer *w, struct tn_err *err)
{
    struct group *g = &w->cur;
    int rc = 0;

    if (!g->rows)
        return 0;
    put_le64(&g->col[1].min, g->pos_min);
    put_le64(&g->col[1].max, g->pos_max);
    g->offset = w->written;
    for (int i = 0; !rc && i < 2; i++)
        rc = write_page(w, &g->col[i], g->rows, err);
    for (int i = 0; i < 2; i++)
        tn_buf_release(&g->col[i].values);
    if (w->ngroups == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->groups = tn_realloc(w->groups, w->cap * sizeof(*w->groups));
    }
    w->groups[w->ngroups++] = *g;
    memset(g, 0, sizeof(*g));
    return rc;
}

/*---- Footer ----*/

static void schema_element(struct thrift *t, const char *name, int type, int id, int utf8)
{
    begin(t, 0);
    put_i32(t, 1, type);
    put_i32(t, 3, 0); /* REQUIRED */
    put_string(t, 4, name);
    if (utf8)
        put_i32(t, 6, 0); /* converted type UTF8 */
    put_i32(t, 9, id);
    if (utf8) {
        begin(t, 10); /* LogicalType: STRING */
        begin(t, 1);
        end(t);
        end(t);
    }
    end(t);
}

static void column_chunk(struct thrift *t, const struct group *g, int c)
{
    const struct column *col = &g->col[c];
    const char *name = c ? "pos" : "file_path";

    begin(t, 0); /* ColumnChunk */
    put_i64(t, 2, col->offset);
    begin(t, 3); /* ColumnMetaData */
    put_i32(t, 1, c ? TN_PARQUET_INT64 : TN_PARQUET_BYTE_ARRAY);
    put_list(t, 2, T_I32, 1);
    varint(t->out, zigzag(0)); /* PLAIN */
    put_list(t, 3, T_BINARY, 1);
    varint(t->out, strlen(name));
    tn_buf_addstr(t->out, name, NULL);
    put_i32(t, 4, 6); /* ZSTD */
    put_i64(t, 5, g->rows);
    put_i64(t, 6, col->uncompressed);
    put_i64(t, 7, col->compressed);
    put_i64(t, 9, col->offset);
    begin(t, 12);     /* Statistics */
    put_i64(t, 3, 0); /* null_count */
    put_binary(t, 5, col->max.buf ? col->max.buf : "", col->max.len);
    put_binary(t, 6, col->min.buf ? col->min.buf : "", col->min.len);
    end(t);
    end(t);
    end(t);
}

static int write_footer(struct writer *w, int64_t rows, struct tn_err *err)
{
    struct tn_buf meta = TN_BUF_INIT(TN_CAP_SQL);
    struct thrift t = {&meta, {0}, 0};
    unsigned char len[4];
    int rc;

    begin(&t, 0); /* FileMetaData */
    put_i32(&t, 1, 1);
    put_list(&t, 2, T_STRUCT, 3);
    begin(&t, 0);
    put_string(&t, 4, "schema");
    put_i32(&t, 5, 2);
    end(&t);
    schema_element(&t, "file_path", TN_PARQUET_BYTE_ARRAY, ID_FILE_PATH, 1);
    schema_element(&t, "pos", TN_PARQUET_INT64, ID_POS, 0);
    put_i64(&t, 3, rows);
    put_list(&t, 4, T_STRUCT, w->ngroups);
    for (size_t i = 0; i < w->ngroups; i++) {
        const struct group *g = &w->groups[i];
        begin(&t, 0); /* RowGroup */
        put_list(&t, 1, T_STRUCT, 2);
        column_chunk(&t, g, 0);
        column_chunk(&t, g, 1);
        put_i64(&t, 2, g->col[0].uncompressed + g->col[1].uncompressed);
        put_i64(&t, 3, g->rows);
        put_i64(&t, 5, g->offset);
        put_i64(&t, 6, g->col[0].compressed + g->col[1].compressed);
        end(&t);
    }
    put_list(&t, 5, T_STRUCT, 1);
    begin(&t, 0); /* KeyValue */
    put_string(&t, 1, "delete-type");
    put_string(&t, 2, "position");
    end(&t);
    put_string(&t, 6, "tarn");
    end(&t);
    for (int i = 0; i < 4; i++)
        len[i] = (unsigned char)((uint32_t)meta.len >> (8 * i));
    rc = write_bytes(w, meta.buf, meta.len, err);
    if (!rc)
        rc = write_bytes(w, len, 4, err);
    if (!rc)
        rc = write_bytes(w, "PAR1", 4, err);
    tn_buf_release(&meta);
    return rc;
}

/* (see table_int.h) */
int tn__write_position_parquet(struct tn_session *s, const char *rows_sql, const char *path,
                               int64_t *rows, struct tn_err *err)
{
    struct writer w = {0};
    struct tn_stream *st = NULL;
    size_t n;
    int rc;

    *rows = 0;
    w.path = path;
    w.f = fopen(path, "wb");
    if (!w.f)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", path, strerror(errno));
    rc = write_bytes(&w, "PAR1", 4, err);
    if (!rc)
        rc = tn_stream_open(s, rows_sql, &st, err);
    while (!rc && !(rc = tn_stream_next(st, &n, err)) && n > 0) {
        for (size_t r = 0; !rc && r < n; r++) {
            size_t len = 0, pos_len = 0;
            const char *file = tn_stream_cell(st, r, 0, &len);
            const char *pos = tn_stream_cell(st, r, 1, &pos_len);
            int64_t v;
            if (!file || !pos || tn_parse_i64(pos, &v) || len > INT32_MAX) {
                rc = tn_fail(err, TN_EINTERNAL, "a position delete without a file or position");
                break;
            }
            add_row(&w.cur, file, len, v);
            (*rows)++;
            if (w.cur.rows == GROUP_ROWS || w.cur.col[0].values.len >= GROUP_BYTES)
                rc = flush_group(&w, err);
        }
    }
    tn_stream_close(st);
    if (!rc)
        rc = flush_group(&w, err);
    if (!rc)
        rc = write_footer(&w, *rows, err);
    if (fclose(w.f) != 0 && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
    release_group(&w.cur);
    for (size_t i = 0; i < w.ngroups; i++)
        release_group(&w.groups[i]);
    free(w.groups);
    return rc;
}
