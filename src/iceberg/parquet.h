/* parquet.h - tarn's reader of a Parquet file's footer (the Thrift FileMetaData), enough for an
 * Iceberg data file's metrics: the leaf columns of the schema and, per row group, each column
 * chunk's size, value and null counts, page offsets and min/max statistics. Page data is never
 * read. Part of the iceberg module; include "iceberg/iceberg.h". No shared state: thread-safe. */
#ifndef TN_ICEBERG_PARQUET_H
#define TN_ICEBERG_PARQUET_H

#define TN_PARQUET_FOOTER_MAX  (64 << 20) /* bytes of FileMetaData read */
#define TN_PARQUET_COLUMNS_MAX 100000     /* schema elements */
#define TN_PARQUET_CHUNKS_MAX  (1 << 20)  /* column chunks, over all row groups */

/* Parquet's physical types (parquet.thrift's Type). */
enum tn_parquet_type {
    TN_PARQUET_BOOLEAN = 0,
    TN_PARQUET_INT32 = 1,
    TN_PARQUET_INT64 = 2,
    TN_PARQUET_INT96 = 3,
    TN_PARQUET_FLOAT = 4,
    TN_PARQUET_DOUBLE = 5,
    TN_PARQUET_BYTE_ARRAY = 6,
    TN_PARQUET_FIXED_LEN_BYTE_ARRAY = 7,
};

/* The unit of a TIME or TIMESTAMP column, from its logical type or else its converted type. */
enum tn_parquet_unit {
    TN_PARQUET_NO_UNIT,
    TN_PARQUET_MILLIS,
    TN_PARQUET_MICROS,
    TN_PARQUET_NANOS,
};

/* A leaf column: a schema element without children. */
struct tn_parquet_leaf {
    int field_id;              /* -1 when the column has none */
    int type;                  /* enum tn_parquet_type; -1 when the element has none */
    int scale;                 /* of a DECIMAL column; 0 when not given */
    enum tn_parquet_unit unit; /* of a TIME or TIMESTAMP column */
};

/* A plain-encoded statistic, borrowed from the footer's bytes; p is NULL when absent. */
struct tn_parquet_stat {
    const unsigned char *p;
    size_t n;
};

/* One column chunk of one row group. */
struct tn_parquet_chunk {
    int64_t num_values; /* values and nulls, as ColumnMetaData counts them */
    int64_t total_compressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset; /* -1 when absent */
    int64_t null_count;             /* -1 when the statistics do not say */
    struct tn_parquet_stat min, max;
};

struct tn_parquet_footer {
    int64_t num_rows;
    size_t nleaves, nrow_groups;
    struct tn_parquet_leaf *leaves;  /* in the schema's depth-first order */
    struct tn_parquet_chunk *chunks; /* chunk of leaf c in row group g: [g * nleaves + c] */
    unsigned char *bytes;            /* the FileMetaData read from the file (NULL when parsed) */
};

/* Read the footer of the local Parquet file at "path" into *out (release it with
 * tn_parquet_footer_release). TN_EINPUT, naming the file, when it is not Parquet or its footer
 * is corrupt; TN_ETOOBIG for a footer larger than TN_PARQUET_FOOTER_MAX or one listing more
 * columns or chunks than the caps; TN_ENOTFOUND or TN_EUNAVAILABLE when it cannot be read.
 * *out is untouched on failure. */
int tn_parquet_footer_read(const char *path, struct tn_parquet_footer *out, struct tn_err *err);
/* Decode "len" bytes of Thrift compact-protocol FileMetaData into *out. The statistics point
 * into "data", which must outlive *out. The schema must come before the row groups, as every
 * writer puts it (its field id is lower). Errors as tn_parquet_footer_read. */
int tn_parquet_footer_parse(const unsigned char *data, size_t len, struct tn_parquet_footer *out,
                            struct tn_err *err);
/* The FileMetaData bytes of the Parquet file open at "fd" ("path" names it in errors), of
 * "size" bytes, in *out (caller frees) and *out_len. Errors as tn_parquet_footer_read. */
int tn_parquet_footer_bytes(int fd, const char *path, int64_t size, unsigned char **out,
                            size_t *out_len, struct tn_err *err);
/* Read exactly "len" bytes at "offset" of the file open at "fd"; TN_EUNAVAILABLE otherwise. */
int tn_parquet_read_at(int fd, const char *path, void *buf, size_t len, int64_t offset,
                       struct tn_err *err);
/* Free what a footer holds; a zeroed footer is fine. */
void tn_parquet_footer_release(struct tn_parquet_footer *f);

/* Rewrite the local Parquet file at "path", as DuckDB writes it, so that its top-level primitive
 * columns with the field ids "ids" (n of them) are REQUIRED, as Iceberg asks of required
 * columns: their data pages lose their definition levels (every one must say "defined") and the
 * footer's schema, sizes and offsets follow. Parquet files of another shape (data pages v2,
 * page indexes, CRCs, encryption, codecs other than zstd or none) are refused with TN_EINPUT;
 * TN_EUNPROCESSABLE, naming the column, when one of them holds a NULL. The new file is written
 * beside "path" and renamed over it (not flushed: publishing the data file flushes it), so on
 * failure the file is as it was. A file whose columns
 * are REQUIRED already, or hold none of the ids, is left as it is. (parquet_required.c) */
int tn_parquet_make_required(const char *path, const int *ids, size_t n, struct tn_err *err);

/* Turn a min ("upper" 0) or max ("upper" 1) statistic of "leaf", "n" plain-encoded bytes at "v",
 * into an Iceberg bound for a column of primitive type "t", as tn_bound_encode does for text:
 * integers and floats little-endian (NaN is never a bound, and a zero gives -0.0 as a lower bound
 * and +0.0 as an upper one, as Parquet's spec asks), time and timestamps in the Iceberg
 * type's unit, decimals as minimal big-endian unscaled values, strings and binary truncated to
 * TN_BOUND_TRUNCATE characters or bytes. "out" holds TN_BOUND_MAX bytes. TN_EINPUT when the
 * statistic does not fit the type (wrong physical type, size, scale or unit), is DuckDB's
 * infinite date or timestamp, or has no upper bound after truncation. (Implemented in
 * bounds.c, beside the other encodings.) */
int tn_bound_from_parquet(const struct tn_type *t, const struct tn_parquet_leaf *leaf,
                          const unsigned char *v, size_t n, int upper, unsigned char *out,
                          size_t *out_len, struct tn_err *err);

#endif /* TN_ICEBERG_PARQUET_H */
