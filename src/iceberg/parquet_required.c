/* parquet_required.c - makes columns of a Parquet file DuckDB wrote REQUIRED (parquet.h):
 * DuckDB 1.4 marks every top-level column OPTIONAL, while Iceberg asks that a required column be
 * REQUIRED in its data files. Each data page (v1) of such a column starts with its definition
 * levels; they are checked (all "defined") and dropped, the page compressed again. The footer is
 * decoded into a Thrift tree (thrift.h), its schema, sizes and every file offset patched, and
 * encoded again. What this does not know how to rewrite is refused, leaving the file as it was.
 * No shared state: thread-safe. */
#include "iceberg/iceberg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define MAGIC      "PAR1"
#define MAGIC_LEN  4
#define ZSTD_LEVEL 1 /* compression is most of the rewrite's cost: the fastest level */

/* parquet.thrift's numbers. */
enum {
    REP_REQUIRED = 0,
    REP_OPTIONAL = 1,
    CODEC_UNCOMPRESSED = 0,
    CODEC_ZSTD = 6,
    PAGE_DATA = 0,
    PAGE_DICTIONARY = 2,
    ENCODING_RLE = 3,
};

/* One column chunk's bytes in the file, before and after the rewrite. */
struct region {
    int64_t start, len;         /* in DuckDB's file */
    int64_t new_start, new_len; /* in the rewritten one */
    int64_t new_data_page;      /* a rewritten chunk's first data page */
    int64_t uncompressed_delta; /* change of its total_uncompressed_size */
    struct tn_thrift *meta;     /* its ColumnMetaData */
    size_t row_group;
    const char *name; /* the column's, when it is rewritten; NULL otherwise */
    size_t name_len;
};

struct rewrite {
    const char *path;
    int in, out;
    struct region *regions;
    size_t nregions;
    struct tn_err *err;
    /* kept from page to page: zstd's contexts and the pages' buffers */
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    unsigned char *plain, *packed;
    size_t plain_cap, packed_cap;
};

/* Grow *buf to hold "n" bytes. */
static unsigned char *reserve(unsigned char **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        free(*buf);
        *buf = tn_malloc(n);
        *cap = n;
    }
    return *buf;
}

static int refuse(struct rewrite *w, const char *why)
{
    return tn_fail(w->err, TN_EINPUT, "%s: cannot mark its required columns REQUIRED: %s", w->path,
                   why);
}

/*---- Definition levels ----*/

/* Whether the first "count" definition levels (bit width 1, RLE/bit-packed hybrid) in the "n"
 * bytes at "p" all say "defined": 0 yes, 1 a NULL, -1 corrupt. */
static int all_defined(const unsigned char *p, size_t n, int64_t count)
{
    size_t pos = 0;

    while (count > 0) {
        uint64_t header = 0;
        int shift = 0;

        do {
            if (pos == n || shift > 63)
                return -1;
            header |= (uint64_t)(p[pos] & 0x7f) << shift;
            shift += 7;
        } while (p[pos++] & 0x80);
        if (header & 1) { /* bit-packed groups of 8, one byte each at bit width 1 */
            uint64_t groups = header >> 1;
            if (groups == 0 || groups > n - pos)
                return -1;
            for (uint64_t g = 0; g < groups && count > 0; g++, pos++)
                for (int b = 0; b < 8 && count > 0; b++, count--)
                    if (!(p[pos] >> b & 1))
                        return 1;
            continue;
        }
        if (header >> 1 == 0 || pos == n)
            return -1;
        if (p[pos++] != 1)
            return 1;
        count -= (int64_t)(header >> 1) < count ? (int64_t)(header >> 1) : count;
    }
    return 0;
}

/*---- Pages ----*/

/* Rewrite one v1 data page "header" ("header_len" bytes in the file) whose compressed body is
 * "body", "n" bytes, of a column compressed with "codec", into "out"; *delta gets the change of
 * its uncompressed size, header included. */
static int rewrite_data_page(struct rewrite *w, const struct region *r, struct tn_thrift *header,
                             size_t header_len, const unsigned char *body, size_t n, int64_t codec,
                             struct tn_buf *out, int64_t *delta)
{
    struct tn_thrift *dph = tn_thrift_field(header, 5);
    int64_t num_values, level_encoding, size;
    const unsigned char *data;
    size_t data_len, levels, packed_len, at;
    int defined;

    if (!dph || tn_thrift_int(dph, 1, &num_values) || tn_thrift_int(dph, 3, &level_encoding) ||
        tn_thrift_int(header, 2, &size) || size < 4 || num_values < 0)
        return refuse(w, "a data page header lacks its sizes or levels");
    if (level_encoding != ENCODING_RLE)
        return refuse(w, "definition levels not RLE-encoded");
    if (codec == CODEC_ZSTD) {
        reserve(&w->plain, &w->plain_cap, (size_t)size);
        if (ZSTD_decompressDCtx(w->dctx, w->plain, (size_t)size, body, n) != (size_t)size)
            return refuse(w, "a zstd page does not decompress to its size");
        data = w->plain;
    } else {
        if ((int64_t)n != size)
            return refuse(w, "an uncompressed page's sizes differ");
        data = body;
    }
    levels = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    if (levels > (size_t)size - 4)
        return refuse(w, "definition levels run past the page");
    defined = all_defined(data + 4, levels, num_values);
    if (defined < 0)
        return refuse(w, "corrupt definition levels");
    if (defined)
        return tn_fail(w->err, TN_EUNPROCESSABLE,
                       "column %.*s is required (NOT NULL) but the Parquet file written for it "
                       "holds a NULL",
                       (int)r->name_len, r->name);
    data += 4 + levels;
    data_len = (size_t)size - 4 - levels;
    if (codec == CODEC_ZSTD) {
        size_t bound = ZSTD_compressBound(data_len);
        packed_len = ZSTD_compressCCtx(w->cctx, reserve(&w->packed, &w->packed_cap, bound), bound,
                                       data, data_len, ZSTD_LEVEL);
        if (ZSTD_isError(packed_len))
            return tn_fail(w->err, TN_EINTERNAL, "zstd cannot compress a page: %s",
                           ZSTD_getErrorName(packed_len));
        data = w->packed;
    } else {
        packed_len = data_len;
    }
    tn_thrift_set_int(header, 2, TN_THRIFT_I32, (int64_t)data_len);
    tn_thrift_set_int(header, 3, TN_THRIFT_I32, (int64_t)packed_len);
    at = out->len;
    tn_thrift_encode(header, out);
    *delta = (int64_t)(out->len - at) - (int64_t)header_len - (int64_t)(4 + levels);
    tn_buf_add(out, data, packed_len, NULL);
    return 0;
}

/* The pages of the column chunk "r", whose "len" bytes are "chunk", rewritten into "out". */
static int rewrite_chunk(struct rewrite *w, struct region *r, const unsigned char *chunk,
                         struct tn_buf *out)
{
    int64_t codec, num_values, values = 0;
    size_t pos = 0;
    int rc = 0;

    if (tn_thrift_int(r->meta, 4, &codec) || tn_thrift_int(r->meta, 5, &num_values))
        return refuse(w, "a column chunk lacks its codec or value count");
    if (codec != CODEC_ZSTD && codec != CODEC_UNCOMPRESSED)
        return refuse(w, "a codec other than zstd or none");
    r->new_data_page = -1;
    while (!rc && pos < (size_t)r->len) {
        struct tn_thrift header;
        size_t used, before = out->len;
        int64_t type = -1, size = 0, page_values, delta = 0;
        struct tn_thrift *dph;

        if ((rc = tn_thrift_decode(chunk + pos, (size_t)r->len - pos, &header, &used, w->err))) {
            tn_err_prefix(w->err, "%s: a page header: ", w->path);
            return rc;
        }
        if (tn_thrift_int(&header, 1, &type) || tn_thrift_int(&header, 3, &size) || size < 0 ||
            (uint64_t)size > (uint64_t)r->len - pos - used)
            rc = refuse(w, "a page header's size runs past its column chunk");
        else if (tn_thrift_field(&header, 4))
            rc = refuse(w, "a page with a CRC");
        else if (type == PAGE_DICTIONARY)
            tn_buf_add(out, chunk + pos, used + (size_t)size, NULL); /* as it is */
        else if (type != PAGE_DATA || !(dph = tn_thrift_field(&header, 5)) ||
                 tn_thrift_int(dph, 1, &page_values))
            rc = refuse(w, "a page other than a dictionary page or a v1 data page");
        else if (!(rc = rewrite_data_page(w, r, &header, used, chunk + pos + used, (size_t)size,
                                          codec, out, &delta))) {
            values += page_values;
            if (r->new_data_page < 0)
                r->new_data_page = r->new_start + (int64_t)before;
            r->uncompressed_delta += delta;
        }
        tn_thrift_free(&header);
        pos += used + (size_t)(size > 0 ? size : 0);
    }
    if (!rc && (values != num_values || r->new_data_page < 0))
        rc = refuse(w, "a column chunk's pages do not hold its values");
    return rc;
}

/*---- Offsets ----*/

/* Where byte "offset" of DuckDB's file is in the rewritten one: as far from the start of the
 * last chunk starting at or before it as it was (the chunks lie in order, apart), or from the
 * file's start. -1 when it points inside a rewritten chunk, past its start. */
static int64_t moved(const struct rewrite *w, int64_t offset)
{
    size_t lo = 0, hi = w->nregions; /* the first region starting after "offset" */
    const struct region *r;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->regions[mid].start <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return offset; /* before every chunk */
    r = &w->regions[lo - 1];
    if (offset >= r->start + r->len) /* past the chunk: as far from its new end */
        return r->new_start + r->new_len + (offset - r->start - r->len);
    if (r->name && offset > r->start)
        return -1;
    return r->new_start + (offset - r->start);
}

/* Move the offset in field "id" of struct "s", when it has one. */
static int move_field(struct rewrite *w, struct tn_thrift *s, int id)
{
    struct tn_thrift *f = tn_thrift_field(s, id);
    int64_t to;

    if (!f || f->type != TN_THRIFT_I64)
        return f ? refuse(w, "an offset is not an i64") : 0;
    if ((to = moved(w, f->i)) < 0)
        return refuse(w, "an offset points inside a column chunk it rewrites");
    f->i = to;
    return 0;
}

static int add_to_field(struct rewrite *w, struct tn_thrift *s, int id, int64_t delta)
{
    struct tn_thrift *f = tn_thrift_field(s, id);

    if (!f || f->type != TN_THRIFT_I64)
        return refuse(w, "a size is missing or not an i64");
    f->i += delta;
    return 0;
}

/*---- The footer ----*/

static int field_is(const struct tn_thrift *s, int id, int type)
{
    const struct tn_thrift *f = tn_thrift_field(s, id);

    return f && f->type == type;
}

static int has_id(const int *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* The schema's leaves in *targets (nleaves of them, caller frees): for each, its SchemaElement
 * when it is a top-level OPTIONAL column whose field id is in "ids", else NULL. */
static int find_targets(struct rewrite *w, const struct tn_thrift *fm, const int *ids, size_t n,
                        struct tn_thrift ***targets, size_t *nleaves, int *any)
{
    const struct tn_thrift *schema = tn_thrift_field(fm, 2);
    struct tn_thrift **t;
    int64_t top, children, id, rep;
    size_t i = 1, leaf = 0;

    if (!schema || schema->type != TN_THRIFT_LIST || schema->nkids == 0 ||
        schema->elem_type != TN_THRIFT_STRUCT || tn_thrift_int(&schema->kids[0], 5, &top) ||
        top < 0)
        return refuse(w, "no schema");
    t = tn_calloc(schema->nkids, sizeof(*t));
    *any = 0;
    for (int64_t c = 0; c < top; c++) {
        struct tn_thrift *e = i < schema->nkids ? &schema->kids[i] : NULL;
        size_t pending = 1;
        if (!e) {
            free(t);
            return refuse(w, "the schema is cut short");
        }
        if (tn_thrift_int(e, 5, &children) && !tn_thrift_int(e, 9, &id) && has_id(ids, n, id) &&
            !tn_thrift_int(e, 3, &rep) && rep == REP_OPTIONAL) {
            t[leaf] = e;
            *any = 1;
        }
        while (pending) { /* the column's subtree: its leaves */
            if (i == schema->nkids) {
                free(t);
                return refuse(w, "the schema is cut short");
            }
            pending--;
            if (!tn_thrift_int(&schema->kids[i], 5, &children) && children > 0)
                pending += (size_t)children;
            else
                leaf++;
            i++;
        }
    }
    *targets = t;
    *nleaves = leaf;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct region *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* The column chunks of every row group, in w->regions sorted by where they are, those of the
 * "targets" named. Chunks must lie apart between the magic and the footer at "footer_at". */
static int find_chunks(struct rewrite *w, struct tn_thrift *fm, struct tn_thrift **targets,
                       size_t nleaves, int64_t footer_at)
{
    struct tn_thrift *groups = tn_thrift_field(fm, 4);
    size_t cap = 0;

    if (!groups || groups->type != TN_THRIFT_LIST || groups->elem_type != TN_THRIFT_STRUCT)
        return refuse(w, "no row groups");
    if (nleaves && groups->nkids > SIZE_MAX / nleaves)
        return refuse(w, "too many column chunks");
    cap = groups->nkids * nleaves + 1;
    w->regions = tn_calloc(cap, sizeof(*w->regions));
    for (size_t g = 0; g < groups->nkids; g++) {
        struct tn_thrift *cols = tn_thrift_field(&groups->kids[g], 1);
        if (!cols || cols->type != TN_THRIFT_LIST || cols->nkids != nleaves ||
            (nleaves && cols->elem_type != TN_THRIFT_STRUCT))
            return refuse(w, "a row group's columns do not match the schema");
        for (size_t c = 0; c < nleaves; c++) {
            struct tn_thrift *cc = &cols->kids[c], *meta = tn_thrift_field(cc, 3);
            struct region *r = &w->regions[w->nregions++];
            int64_t data, dict, size;
            if (tn_thrift_field(cc, 1) || tn_thrift_field(cc, 8) || tn_thrift_field(cc, 9))
                return refuse(w, "a column chunk in another file, or encrypted");
            if (tn_thrift_field(cc, 4))
                return refuse(w, "an offset index");
            if (!meta || meta->type != TN_THRIFT_STRUCT || tn_thrift_int(meta, 9, &data) ||
                tn_thrift_int(meta, 7, &size) || data < MAGIC_LEN || size < 0)
                return refuse(w, "a column chunk lacks its offset or size");
            r->start =
                !tn_thrift_int(meta, 11, &dict) && dict >= MAGIC_LEN && dict < data ? dict : data;
            r->len = size;
            r->meta = meta;
            r->row_group = g;
            if (targets[c]) {
                const struct tn_thrift *name = tn_thrift_field(targets[c], 4);
                if (tn_thrift_field(meta, 10) || tn_thrift_field(cc, 6))
                    return refuse(w, "an index page or column index in a column it rewrites");
                r->name = name && name->type == TN_THRIFT_BINARY ? (const char *)name->bin : "?";
                r->name_len = name && name->type == TN_THRIFT_BINARY ? name->len : 1;
            }
        }
    }
    qsort(w->regions, w->nregions, sizeof(*w->regions), by_start);
    for (size_t i = 0; i < w->nregions; i++) {
        const struct region *r = &w->regions[i];
        if (r->len > footer_at - r->start ||
            (i + 1 < w->nregions && r->start + r->len > w->regions[i + 1].start))
            return refuse(w, "column chunks overlap or run past the footer");
    }
    return 0;
}

/* Patch the footer "fm" for the rewritten chunks: REQUIRED columns, their sizes, and every
 * offset moved. */
static int patch_footer(struct rewrite *w, struct tn_thrift *fm, struct tn_thrift **targets,
                        size_t nleaves)
{
    struct tn_thrift *groups = tn_thrift_field(fm, 4);
    int rc = 0;

    for (size_t c = 0; c < nleaves; c++)
        if (targets[c])
            tn_thrift_set_int(targets[c], 3, TN_THRIFT_I32, REP_REQUIRED);
    for (size_t i = 0; !rc && i < w->nregions; i++) {
        struct region *r = &w->regions[i];
        struct tn_thrift *g = &groups->kids[r->row_group], *sizes;
        rc = move_field(w, r->meta, 10) || move_field(w, r->meta, 11) || move_field(w, r->meta, 14);
        if (!rc && !r->name)
            rc = move_field(w, r->meta, 9);
        if (rc || !r->name)
            continue;
        tn_thrift_set_int(r->meta, 9, TN_THRIFT_I64, r->new_data_page);
        tn_thrift_set_int(r->meta, 7, TN_THRIFT_I64, r->new_len);
        rc = add_to_field(w, r->meta, 6, r->uncompressed_delta);
        if (!rc && (sizes = tn_thrift_field(r->meta, 16)) && sizes->type == TN_THRIFT_STRUCT)
            tn_thrift_remove(sizes, 3); /* definition level histogram: no levels now */
        if (!rc && field_is(g, 6, TN_THRIFT_I64))
            rc = add_to_field(w, g, 6, r->new_len - r->len);
        if (!rc && field_is(g, 2, TN_THRIFT_I64))
            rc = add_to_field(w, g, 2, r->uncompressed_delta);
    }
    for (size_t g = 0; !rc && g < groups->nkids; g++) {
        struct tn_thrift *cols = tn_thrift_field(&groups->kids[g], 1);
        rc = move_field(w, &groups->kids[g], 5);
        for (size_t c = 0; !rc && c < cols->nkids; c++)
            rc = move_field(w, &cols->kids[c], 2) || move_field(w, &cols->kids[c], 6);
    }
    return rc ? -1 : 0;
}

/*---- The file ----*/

static int write_all(struct rewrite *w, const void *p, size_t n)
{
    while (n) {
        ssize_t done = write(w->out, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return tn_fail(w->err, TN_EUNAVAILABLE, "cannot write beside %s: %s", w->path,
                           strerror(errno));
        p = (const char *)p + done;
        n -= (size_t)done;
    }
    return 0;
}

/* Copy "len" bytes at "offset" of DuckDB's file as they are. */
static int copy_range(struct rewrite *w, int64_t offset, int64_t len)
{
    static const size_t step = 1 << 20;
    unsigned char *buf = tn_malloc(step);
    int rc = 0;

    while (!rc && len > 0) {
        size_t n = len < (int64_t)step ? (size_t)len : step;
        rc = tn_parquet_read_at(w->in, w->path, buf, n, offset, w->err);
        if (!rc)
            rc = write_all(w, buf, n);
        offset += (int64_t)n;
        len -= (int64_t)n;
    }
    free(buf);
    return rc;
}

/* Write the rewritten file up to its footer: the column chunks and what lies between and after
 * them (bloom filters, say) as it is, up to "footer_at" where DuckDB's footer starts. */
static int write_chunks(struct rewrite *w, int64_t footer_at)
{
    struct tn_buf chunk = TN_BUF_INIT(0);
    int64_t pos = MAGIC_LEN, new_pos = MAGIC_LEN;
    unsigned char *raw = NULL;
    int rc = write_all(w, MAGIC, MAGIC_LEN);

    for (size_t i = 0; !rc && i < w->nregions; i++) {
        struct region *r = &w->regions[i];
        rc = copy_range(w, pos, r->start - pos);
        new_pos += r->start - pos;
        r->new_start = new_pos;
        if (rc) {
            break;
        } else if (!r->name) {
            rc = copy_range(w, r->start, r->len);
            r->new_len = r->len;
        } else {
            raw = tn_realloc(raw, (size_t)r->len + 1);
            tn_buf_reset(&chunk);
            rc = tn_parquet_read_at(w->in, w->path, raw, (size_t)r->len, r->start, w->err);
            if (!rc)
                rc = rewrite_chunk(w, r, raw, &chunk);
            if (!rc)
                rc = write_all(w, chunk.buf, chunk.len);
            r->new_len = (int64_t)chunk.len;
        }
        new_pos += r->new_len;
        pos = r->start + r->len;
    }
    if (!rc)
        rc = copy_range(w, pos, footer_at - pos);
    free(raw);
    tn_buf_release(&chunk);
    return rc;
}

static int write_footer(struct rewrite *w, const struct tn_thrift *fm)
{
    struct tn_buf out = TN_BUF_INIT(0);
    unsigned char tail[8];
    int rc;

    tn_thrift_encode(fm, &out);
    tail[0] = (unsigned char)(out.len & 0xff);
    tail[1] = (unsigned char)(out.len >> 8 & 0xff);
    tail[2] = (unsigned char)(out.len >> 16 & 0xff);
    tail[3] = (unsigned char)(out.len >> 24 & 0xff);
    memcpy(tail + 4, MAGIC, MAGIC_LEN);
    rc = write_all(w, out.buf, out.len) || write_all(w, tail, sizeof(tail));
    tn_buf_release(&out);
    return rc ? -1 : 0;
}

int tn_parquet_make_required(const char *path, const int *ids, size_t n, struct tn_err *err)
{
    struct rewrite w = {path, -1, -1, NULL, 0, err, NULL, NULL, NULL, NULL, 0, 0};
    struct tn_thrift fm = {0}, **targets = NULL;
    unsigned char *bytes = NULL;
    size_t len = 0, nleaves = 0, used;
    char *tmp = NULL;
    struct stat st;
    int rc, any = 0;

    if ((w.in = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EUNAVAILABLE, "cannot read %s: %s",
                       path, strerror(errno));
    if (fstat(w.in, &st)) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = tn_parquet_footer_bytes(w.in, path, st.st_size, &bytes, &len, err)))
        goto out;
    if ((rc = tn_thrift_decode(bytes, len, &fm, &used, err))) {
        tn_err_prefix(err, "%s: its footer: ", path);
        goto out;
    }
    if (tn_thrift_field(&fm, 8) || tn_thrift_field(&fm, 9)) {
        rc = refuse(&w, "an encrypted file");
        goto out;
    }
    if ((rc = find_targets(&w, &fm, ids, n, &targets, &nleaves, &any)) || !any)
        goto out;
    if ((rc = find_chunks(&w, &fm, targets, nleaves, st.st_size - 8 - (int64_t)len)))
        goto out;
    tmp = tn_asprintf("%s.required.tmp", path);
    w.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
    if (w.out < 0) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    w.cctx = ZSTD_createCCtx();
    w.dctx = ZSTD_createDCtx();
    if (!w.cctx || !w.dctx)
        rc = tn_fail(err, TN_EINTERNAL, "zstd cannot start: out of memory");
    if (!rc)
        rc = write_chunks(&w, st.st_size - 8 - (int64_t)len);
    if (!rc)
        rc = patch_footer(&w, &fm, targets, nleaves) ? TN_EINPUT : 0;
    if (!rc)
        rc = write_footer(&w, &fm) ? TN_EUNAVAILABLE : 0;
    if (close(w.out) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", tmp, strerror(errno));
    w.out = -1;
    if (!rc && rename(tmp, path))
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot replace %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
out:
    if (w.out >= 0)
        close(w.out);
    close(w.in);
    tn_thrift_free(&fm);
    free(targets);
    free(w.regions);
    ZSTD_freeCCtx(w.cctx);
    ZSTD_freeDCtx(w.dctx);
    free(w.plain);
    free(w.packed);
    free(bytes);
    free(tmp);
    return rc;
}
