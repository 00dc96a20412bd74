/* iceberg.h - the Apache Iceberg table format, independent of where files live: types and
 * schemas, single-value bound encoding, table metadata JSON, manifests and manifest lists, scan
 * planning, and the Parquet footer a data file's metrics come from. No I/O happens here
 * (callers pass bytes in and get bytes out) except reading a local Parquet file's footer.
 *
 * Metadata is kept as the parsed JSON tree (jansson) it came from, so fields tarn does not model
 * survive a read-modify-write unchanged; the typed views below (schemas, snapshots) are derived
 * from it and validated when it is parsed. */
#ifndef TN_ICEBERG_H
#define TN_ICEBERG_H

#include <jansson.h>
#include <stdint.h>

#include "core/core.h"

/*---- Types and schemas (ICEBERG.md section 2) ----*/

enum tn_type_kind {
    TN_T_BOOLEAN,
    TN_T_INT,
    TN_T_LONG,
    TN_T_FLOAT,
    TN_T_DOUBLE,
    TN_T_DECIMAL,
    TN_T_DATE,
    TN_T_TIME,
    TN_T_TIMESTAMP,
    TN_T_TIMESTAMPTZ,
    TN_T_TIMESTAMP_NS,
    TN_T_TIMESTAMPTZ_NS,
    TN_T_STRING,
    TN_T_UUID,
    TN_T_FIXED,
    TN_T_BINARY,
    TN_T_UNKNOWN,
    TN_T_STRUCT,
    TN_T_LIST,
    TN_T_MAP,
};

struct tn_type;

struct tn_field {
    int id;
    char *name;
    int required;
    struct tn_type *type;
    json_t *initial_default; /* borrowed from the schema's JSON; NULL when absent */
    json_t *json;            /* the field's JSON object (borrowed) */
};

struct tn_type {
    enum tn_type_kind kind;
    int precision, scale; /* decimal */
    int length;           /* fixed */
    size_t nfields;       /* struct */
    struct tn_field *fields;
    int element_id, element_required; /* list */
    struct tn_type *element;
    int key_id, value_id, value_required; /* map */
    struct tn_type *key, *value;
};

struct tn_schema {
    int schema_id;
    struct tn_type root; /* always TN_T_STRUCT */
    int *identifier_ids;
    size_t nidentifier;
    json_t *json; /* the schema object it was parsed from (a new reference) */
};

/* Parse a type from its JSON form ("long", "decimal(9, 2)", {"type":"struct",...}); the caller
 * frees *out with tn_type_free(). "initial-default" values are borrowed from "j". TN_EINPUT
 * ("Cannot parse type from json: ...") for an unknown or malformed type. */
int tn_type_parse(json_t *j, struct tn_type **out, struct tn_err *err);
void tn_type_free(struct tn_type *t);
/* Parse a schema object ("type": "struct" required as Java does; schema-id defaults to 0 as v1
 * allows); it keeps a reference to "j". TN_EINPUT for a malformed schema or a field id used
 * twice. Free with tn_schema_free(). */
int tn_schema_parse(json_t *j, struct tn_schema **out, struct tn_err *err);
void tn_schema_free(struct tn_schema *s);
/* The struct field with id "id" anywhere in the schema (nested structs, and structs inside
 * lists and maps), or NULL. List element and map key/value ids are not struct fields and give
 * NULL. */
const struct tn_field *tn_schema_find(const struct tn_schema *s, int id);
/* The highest field id used in the schema (list element and map key/value ids included). */
int tn_schema_max_id(const struct tn_schema *s);
int tn_type_is_primitive(const struct tn_type *t);
/* The Iceberg name of a primitive type ("long", "decimal(9,2)", "fixed[16]") written to "out";
 * "struct", "list" or "map" for the others. */
void tn_type_name(const struct tn_type *t, char *out, size_t outlen);
/* The DuckDB SQL type that reads type "t" (BIGINT, DECIMAL(9,2), STRUCT("a" INTEGER), ...),
 * appended to "b". timestamptz_ns gives TIMESTAMP WITH TIME ZONE (DuckDB has no zoned
 * nanosecond type) and unknown, always null, gives INTEGER. "err" may be NULL. */
int tn_type_duckdb(const struct tn_type *t, struct tn_buf *b, struct tn_err *err);
/* The same, with each struct field named as a data file names it: "names" maps field ids (as
 * decimal text) to the file's names; a field the file lacks is "__tn_missing_<id>", which no
 * column matches (DuckDB matches struct fields by name). */
int tn_type_duckdb_file(const struct tn_type *t, const json_t *names, struct tn_buf *b,
                        struct tn_err *err);

/*---- Single-value binary encoding of bounds (ICEBERG.md 2.4) ----*/

#define TN_BOUND_MAX      64 /* bytes in an encoded bound tarn writes */
#define TN_BOUND_TRUNCATE 16 /* string/binary bounds keep this many characters/bytes */

/* Encode the text form DuckDB gives for a statistic of a column of primitive type "t" (for
 * example "2024-01-02 10:00:00+00" for timestamptz, "12.34" for decimal(10,2), a UUID in text
 * form) into Iceberg's single-value binary encoding. "upper" selects how strings and binary
 * are truncated: a lower bound keeps a prefix; an upper bound keeps a prefix whose last
 * character is incremented (and fails with TN_EINPUT when no such bound exists, meaning the
 * caller omits it). Fixed values are truncated like binary, as Iceberg-Java does. Returns
 * TN_EINPUT for text that does not parse as the type, for NaN, and for DuckDB's infinite dates
 * and timestamps ("infinity"), which have no Iceberg value. */
int tn_bound_encode(const struct tn_type *t, const char *text, int upper, unsigned char *out,
                    size_t *out_len, struct tn_err *err);
/* Compare two encoded values of type "t" (<0, 0, >0). Values written by older types after a
 * promotion (a 4-byte int bound for a long column) compare by their value. */
int tn_bound_compare(const struct tn_type *t, const unsigned char *a, size_t alen,
                     const unsigned char *b, size_t blen);
/* Render an encoded value as human-readable text (as Trino shows bounds), appended to "b". */
int tn_bound_format(const struct tn_type *t, const unsigned char *v, size_t len, struct tn_buf *b,
                    struct tn_err *err);

/* The year and month (1..12) of "days" since 1970-01-01 (proleptic Gregorian). */
void tn_date_civil(int64_t days, int64_t *year, int *month);

#include "iceberg/metadata.h"
#include "iceberg/manifest.h"
#include "iceberg/updates.h"
#include "iceberg/parquet.h"
#include "iceberg/thrift.h"
#include "iceberg/puffin.h"

#endif /* TN_ICEBERG_H */
