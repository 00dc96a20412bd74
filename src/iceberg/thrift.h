/* thrift.h - a Thrift compact-protocol struct decoded into a tree of values that can be patched
 * and encoded again, field by field as it was read, so that a Parquet footer or page header can
 * be rewritten without knowing every field it holds. Part of the iceberg module; include
 * "iceberg/iceberg.h". No shared state: thread-safe. */
#ifndef TN_ICEBERG_THRIFT_H
#define TN_ICEBERG_THRIFT_H

/* The compact protocol's wire types. */
enum tn_thrift_type {
    TN_THRIFT_TRUE = 1, /* a boolean field's value travels in its type */
    TN_THRIFT_FALSE = 2,
    TN_THRIFT_BYTE = 3,
    TN_THRIFT_I16 = 4,
    TN_THRIFT_I32 = 5,
    TN_THRIFT_I64 = 6,
    TN_THRIFT_DOUBLE = 7,
    TN_THRIFT_BINARY = 8,
    TN_THRIFT_LIST = 9,
    TN_THRIFT_SET = 10,
    TN_THRIFT_MAP = 11,
    TN_THRIFT_STRUCT = 12,
    TN_THRIFT_UUID = 13,
};

/* One value: a struct's field (id > 0), or an element of a list, set or map (id 0). */
struct tn_thrift {
    int id;
    int type;                 /* enum tn_thrift_type */
    int elem_type, key_type;  /* of a list's or set's elements; a map's values, keys */
    int64_t i;                /* byte, i16, i32, i64; a boolean element's byte */
    const unsigned char *bin; /* binary, double (8 bytes), uuid (16): borrowed */
    size_t len;               /* of bin */
    struct tn_thrift *kids;   /* a struct's fields in their order; a list's elements; */
    size_t nkids;             /* a map's keys and values, alternating */
};

/* Decode the struct at the start of the "len" bytes at "data" into *out (free with
 * tn_thrift_free; binaries point into "data"); *used gets the bytes it took. TN_EINPUT when the
 * bytes are not a well-formed struct (cut short, unknown types, nested more than 64 deep). */
int tn_thrift_decode(const unsigned char *data, size_t len, struct tn_thrift *out, size_t *used,
                     struct tn_err *err);
/* Append the struct "v" to "out", in the compact protocol. */
void tn_thrift_encode(const struct tn_thrift *v, struct tn_buf *out);
void tn_thrift_free(struct tn_thrift *v);

/* The field "id" of struct "s", or NULL. */
struct tn_thrift *tn_thrift_field(const struct tn_thrift *s, int id);
/* The integer field "id" of struct "s" in *out: 0, or -1 when it is absent or not an integer. */
int tn_thrift_int(const struct tn_thrift *s, int id, int64_t *out);
/* Set the integer field "id" of struct "s" (of wire type "type") to "v", adding it in id order
 * when absent. */
void tn_thrift_set_int(struct tn_thrift *s, int id, int type, int64_t v);
/* Remove the field "id" of struct "s" when present. */
void tn_thrift_remove(struct tn_thrift *s, int id);

#endif /* TN_ICEBERG_THRIFT_H */
