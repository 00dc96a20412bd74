/* avro.h - Avro object container files, as Iceberg uses them for manifests and manifest lists.
 *
 * Writing: tarn frames the container itself (magic, file metadata, sync marker, blocks) so that
 * the writer schema it stores keeps every Iceberg "field-id", "element-id", "key-id" and
 * "value-id" attribute byte for byte. Records are encoded by the caller with the tn_avro_put_*
 * primitives into the writer's current block, in the order the schema declares.
 *
 * Reading: a generic decoder driven by the writer schema found in the file. It returns every
 * record as a tree of struct tn_avro_value; unions are resolved (a null branch yields a value of
 * type TN_AVRO_NULL). Callers find record fields by Iceberg field id (tn_avro_field), never by
 * name or position, because writers differ in both. Codecs: null, deflate, snappy, zstandard.
 *
 * Every size read from a file is bounded: the whole decoded file may not exceed
 * TN_AVRO_MAX_DECODED bytes and schemas may not nest deeper than TN_AVRO_MAX_DEPTH. */
#ifndef TN_AVRO_H
#define TN_AVRO_H

#include "core/core.h"

#define TN_AVRO_MAX_DECODED (1024L * 1024 * 1024)
#define TN_AVRO_MAX_DEPTH   32

enum tn_avro_codec {
    TN_AVRO_CODEC_NULL,
    TN_AVRO_CODEC_DEFLATE,
    TN_AVRO_CODEC_SNAPPY,
    TN_AVRO_CODEC_ZSTD,
};

/*---- Writing ----*/

/* One file-metadata entry ("key" -> "value" bytes, here always text). */
struct tn_avro_meta {
    const char *key;
    const char *value;
};

struct tn_avro_writer {
    struct tn_buf out;   /* the file so far: header and finished blocks */
    struct tn_buf block; /* records of the current block, uncompressed */
    int64_t block_count;
    int64_t total_count;
    enum tn_avro_codec codec;
    unsigned char sync[16];
};

/* Start a container with writer schema "schema_json" (stored verbatim as avro.schema), the
 * given metadata entries (NULL-key terminated, may be NULL) and codec (null, deflate or
 * zstandard). */
int tn_avro_writer_init(struct tn_avro_writer *w, const char *schema_json,
                        const struct tn_avro_meta *meta, enum tn_avro_codec codec,
                        struct tn_err *err);
/* The buffer the next record is encoded into with tn_avro_put_*. */
struct tn_buf *tn_avro_writer_record(struct tn_avro_writer *w);
/* Mark the record just encoded as complete (may flush a block). */
int tn_avro_writer_end_record(struct tn_avro_writer *w, struct tn_err *err);
/* Flush the last block and hand the whole file to the caller (free() it). The writer is
 * released either way. */
int tn_avro_writer_finish(struct tn_avro_writer *w, char **out, size_t *out_len,
                          struct tn_err *err);
void tn_avro_writer_release(struct tn_avro_writer *w);

/* Binary encoding primitives (Avro spec "Binary Encoding"). These append to a buffer the
 * program produces itself, so they cannot fail. */
void tn_avro_put_long(struct tn_buf *b, int64_t v); /* also int, enum, union index */
void tn_avro_put_bool(struct tn_buf *b, int v);
void tn_avro_put_float(struct tn_buf *b, float v);
void tn_avro_put_double(struct tn_buf *b, double v);
void tn_avro_put_bytes(struct tn_buf *b, const void *p, size_t n);
void tn_avro_put_string(struct tn_buf *b, const char *s);
void tn_avro_put_fixed(struct tn_buf *b, const void *p, size_t n);

/*---- Reading ----*/

enum tn_avro_type {
    TN_AVRO_NULL,
    TN_AVRO_BOOLEAN,
    TN_AVRO_INT,
    TN_AVRO_LONG,
    TN_AVRO_FLOAT,
    TN_AVRO_DOUBLE,
    TN_AVRO_BYTES,
    TN_AVRO_STRING,
    TN_AVRO_FIXED,
    TN_AVRO_ENUM,
    TN_AVRO_RECORD,
    TN_AVRO_ARRAY,
    TN_AVRO_MAP,
    TN_AVRO_UNION,
};

struct tn_avro_schema;

struct tn_avro_field {
    const char *name;
    int field_id; /* -1 when the schema gives none */
    const struct tn_avro_schema *type;
};

struct tn_avro_schema {
    enum tn_avro_type type;
    const char *name;                       /* record, fixed and enum names; NULL otherwise */
    const char *logical_type;               /* "logicalType", or NULL */
    int precision, scale;                   /* decimal attributes, 0 when absent */
    int element_id;                         /* arrays: "element-id", else -1 */
    int key_id, value_id;                   /* maps: "key-id"/"value-id", else -1 */
    size_t fixed_size;                      /* fixed */
    size_t nfields;                         /* record: fields; union: branches; enum: symbols */
    struct tn_avro_field *fields;           /* record */
    const struct tn_avro_schema **branches; /* union */
    const char **symbols;                   /* enum */
    const struct tn_avro_schema *items;     /* array items, map values */
};

struct tn_avro_value {
    enum tn_avro_type type; /* never TN_AVRO_UNION: unions resolve to their branch */
    const struct tn_avro_schema *schema;
    union {
        int boolean;
        int64_t i; /* int, long, enum index */
        double d;  /* float, double */
        struct {
            const char *p; /* bytes, string (not NUL-terminated), fixed */
            size_t n;
        } bytes;
        struct {
            struct tn_avro_value *items; /* record fields in schema order; array items;
                                            map entries as key, value, key, value, ... */
            size_t n;                    /* number of items (maps: 2 * entries) */
        } list;
    } u;
};

struct tn_avro_file {
    const struct tn_avro_schema *schema; /* writer schema */
    const struct tn_avro_value *records;
    size_t nrecords;
    /* private: arena, metadata and decompressed blocks */
    void *priv;
};

/* Decode a whole container file held in memory. The file keeps no pointer into "data". */
int tn_avro_read(const void *data, size_t len, struct tn_avro_file **out, struct tn_err *err);
/* Decode "n" records held apart from any container (recs[i], lens[i] bytes each, every byte
 * used) with writer schema "schema_json": e.g. the records of an Apache Hudi log block. The
 * result has no file metadata; free it with tn_avro_file_free. */
int tn_avro_decode_records(const char *schema_json, size_t schema_len, const void *const *recs,
                           const size_t *lens, size_t n, struct tn_avro_file **out,
                           struct tn_err *err);
/* A file-metadata value (not NUL-terminated unless it came from text; *out_len is its length),
 * or NULL when absent. */
const char *tn_avro_meta_get(const struct tn_avro_file *f, const char *key, size_t *out_len);
void tn_avro_file_free(struct tn_avro_file *f);

/* The field of record "rec" whose schema field id is "field_id", or NULL if the record has no
 * such field. A field present but null is returned with type TN_AVRO_NULL. */
const struct tn_avro_value *tn_avro_field(const struct tn_avro_value *rec, int field_id);
/* Convenience: integer (int/long) field value, or "dflt" when absent or null. */
int64_t tn_avro_field_i64(const struct tn_avro_value *rec, int field_id, int64_t dflt);
/* String or bytes field; NULL when absent or null. */
const char *tn_avro_field_str(const struct tn_avro_value *rec, int field_id, size_t *out_len);

#endif /* TN_AVRO_H */
