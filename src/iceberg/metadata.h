/* metadata.h - Iceberg table metadata (the *.metadata.json files): parse and validate any
 * version 1 or 2 file (gzip-compressed too), create new tables' metadata, and derive new
 * versions for commits. Part of the iceberg module; include "iceberg/iceberg.h". */
#ifndef TN_ICEBERG_METADATA_H
#define TN_ICEBERG_METADATA_H

struct tn_partition_field {
    int source_id;
    int field_id;
    const char *name;      /* borrowed from the metadata JSON */
    const char *transform; /* "identity", "bucket[16]", "day", ... */
};

struct tn_spec {
    int spec_id;
    size_t nfields;
    struct tn_partition_field *fields;
};

struct tn_snapshot {
    int64_t id;
    int64_t parent_id; /* -1 when none */
    int64_t sequence_number;
    int64_t timestamp_ms;
    int schema_id;             /* -1 when the snapshot does not say */
    const char *manifest_list; /* NULL for a v1 snapshot with inline "manifests" */
    json_t *manifests;         /* v1 inline manifest paths (borrowed), or NULL */
    const char *operation;     /* summary "operation", or NULL */
    json_t *summary;           /* borrowed, may be NULL */
};

struct tn_ref {
    const char *name;
    int64_t snapshot_id;
    int is_tag;
};

struct tn_metadata {
    int refcount; /* tn_metadata_share adds one, tn_metadata_free drops one */
    json_t *root; /* owned; every borrowed pointer below points into it */
    int format_version;
    int64_t next_row_id; /* v3 row lineage (0 when absent) */
    const char *table_uuid;
    const char *location;
    int64_t last_sequence_number;
    int64_t last_updated_ms;
    int last_column_id;
    int current_schema_id;
    struct tn_schema **schemas;
    size_t nschemas;
    struct tn_spec *specs;
    size_t nspecs;
    int default_spec_id;
    int last_partition_id;
    int64_t current_snapshot_id; /* -1 when the table has no snapshot */
    struct tn_snapshot *snapshots;
    size_t nsnapshots;
    struct tn_ref *refs;
    size_t nrefs;
    /* A commit writes a new version whose arrays (snapshots, logs) share most elements with
     * the version it was derived from: tn_metadata_dump_new copies their text from there. */
    struct tn_metadata *dump_base; /* the version this one was derived from, until dumped */
    char *text;                    /* what tn_metadata_dump_new wrote, or NULL */
    size_t text_len;
    struct tn_dump_piece *pieces; /* where each top-level array element is in text */
    size_t pieces_cap;
};

/* Parse metadata JSON (gzip-compressed input is recognised by its magic bytes). Integers too
 * large for int64 (ids some writers produce) are kept as their two's-complement int64. */
int tn_metadata_parse(const char *data, size_t len, struct tn_metadata **out, struct tn_err *err);
/* Validate and wrap "root" (ownership moves in, also on failure). */
int tn_metadata_from_json(json_t *root, struct tn_metadata **out, struct tn_err *err);
/* Metadata is immutable once parsed: share it by reference (thread-safe count). */
struct tn_metadata *tn_metadata_share(const struct tn_metadata *m);
void tn_metadata_free(struct tn_metadata *m);
/* Serialise to JSON text (caller frees). */
char *tn_metadata_dump(const struct tn_metadata *m);
/* Serialise a version nobody else holds yet, copying the text of the array elements it shares
 * with the version it was derived from; the text is kept in "m" (and returned, owned by "m"),
 * so that the versions derived from it do the same. A commit's cost stays proportional to what
 * it adds, not to the table's history. */
const char *tn_metadata_dump_new(struct tn_metadata *m, size_t *len);

const struct tn_schema *tn_metadata_schema(const struct tn_metadata *m, int schema_id);
const struct tn_schema *tn_metadata_current_schema(const struct tn_metadata *m);
const struct tn_spec *tn_metadata_spec(const struct tn_metadata *m, int spec_id);
const struct tn_snapshot *tn_metadata_snapshot(const struct tn_metadata *m, int64_t id);
const struct tn_ref *tn_metadata_ref(const struct tn_metadata *m, const char *name);
/* The schema to read snapshot "s" with: its schema-id if known, else the current schema. */
const struct tn_schema *tn_metadata_snapshot_schema(const struct tn_metadata *m,
                                                    const struct tn_snapshot *s);
/* 1 when every field of the spec is "void" or the spec has no fields. */
int tn_spec_is_unpartitioned(const struct tn_spec *spec);

/* The reserved table property that chooses the format version at creation ("2", the default,
 * or "3") and upgrades an existing table when set; it is never stored as a property. */
#define TN_FORMAT_VERSION_PROP "format-version"

/* Metadata for a new table, format version 2 unless "properties" (an object or NULL) has
 * format-version "3": "schema" is a schema JSON object whose field ids are already assigned (a
 * new reference is taken). */
int tn_metadata_new(const char *location, json_t *schema, json_t *properties,
                    struct tn_metadata **out, struct tn_err *err);

/* A new snapshot to add to a table (see tn_metadata_add_snapshot). */
struct tn_snapshot_new {
    int64_t id;
    int64_t parent_id; /* -1 when none */
    int64_t sequence_number;
    int64_t timestamp_ms;
    int schema_id;
    const char *manifest_list;
    json_t *summary;    /* borrowed; must contain "operation" */
    const char *branch; /* the branch it heads: NULL or "main" moves the table's current snapshot */
    int has_row_lineage;  /* v3: first_row_id and added_rows are set */
    int64_t first_row_id; /* the table's next-row-id when the snapshot was staged */
    int64_t added_rows;   /* row ids the snapshot's manifest list assigned */
};

/* The next metadata version: "m" plus snapshot "s" as the head of its branch (for "main" also
 * the current snapshot, with a snapshot-log entry), with metadata-log (entry for "m_location"),
 * last-sequence-number and last-updated-ms updated. */
int tn_metadata_add_snapshot(const struct tn_metadata *m, const char *m_location,
                             const struct tn_snapshot_new *s, struct tn_metadata **out,
                             struct tn_err *err);
/* Record "location" (the previous metadata file, last updated at "timestamp_ms") in the
 * metadata-log of "root", keeping the newest tn_metadata_previous_max(root) entries. */
void tn_metadata_log_append(json_t *root, const char *location, int64_t timestamp_ms);
/* How many previous metadata files the log of "root" keeps: its property
 * write.metadata.previous-versions-max (1..100000), else 100. */
int tn_metadata_previous_max(const json_t *root);
/* Generate a positive 63-bit snapshot id from a random UUID, as Java does. */
int64_t tn_snapshot_id_new(void);

/* Parse JSON text keeping integers beyond int64 (as marked strings that tn_json_id reads and
 * tn_json_dump writes back as the same numbers). NULL with "err" set on bad JSON. */
json_t *tn_json_parse(const char *text, size_t len, struct tn_err *err);
/* Compact JSON text in member order, writing the integers tn_json_parse marked back as numbers.
 * Caller frees. */
char *tn_json_dump(const json_t *j);
/* Read an id that may be a JSON integer or (for out-of-range ids) a numeric string. */
int tn_json_id(const json_t *j, int64_t *out);

#endif /* TN_ICEBERG_METADATA_H */
