/* manifest.h - Iceberg manifest lists and manifests (Avro), read from any writer (Java v1/v2
 * with old and new field names, PyIceberg, tarn) by field id, and written in the exact v2 layout
 * Iceberg-Java 1.8 writes. Part of the iceberg module; include "iceberg/iceberg.h". */
#ifndef TN_ICEBERG_MANIFEST_H
#define TN_ICEBERG_MANIFEST_H

/* Bytes owned by the struct that holds them; n == 0 and p == NULL when absent. */
struct tn_bytes {
    unsigned char *p;
    size_t n;
};

/* One partition summary of a manifest-list entry. */
struct tn_field_summary {
    int contains_null;
    int contains_nan; /* -1 when unknown */
    struct tn_bytes lower, upper;
};

/* One manifest-list entry. */
struct tn_manifest_file {
    char *path;
    int64_t length;
    int spec_id;
    int content; /* 0 data, 1 deletes */
    int64_t sequence_number;
    int64_t min_sequence_number;
    int64_t added_snapshot_id;
    int64_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
    size_t npartitions;
    struct tn_field_summary *partitions;
    int has_partitions;   /* the "partitions" field was present (possibly empty) */
    int has_first_row_id; /* v3 row lineage: first_row_id is set (else null) */
    int64_t first_row_id;
};

/* A value of a partition tuple, kept in the form Avro stores it. */
struct tn_pvalue {
    int is_null;
    int kind; /* TN_AVRO_BOOLEAN, _INT, _LONG, _FLOAT, _DOUBLE, _STRING, _BYTES or _FIXED */
    int64_t i;
    double d;
    struct tn_bytes bytes;
};

struct tn_id_long {
    int id;
    int64_t value;
};

struct tn_id_bytes {
    int id;
    struct tn_bytes value;
};

struct tn_data_file {
    int content; /* 0 data, 1 position deletes, 2 equality deletes */
    char *file_path;
    char *file_format;
    size_t npartition;
    struct tn_pvalue *partition;
    int64_t record_count;
    int64_t file_size;
    size_t ncolumn_sizes, nvalue_counts, nnull_counts, nnan_counts, nlower, nupper;
    struct tn_id_long *column_sizes, *value_counts, *null_counts, *nan_counts;
    struct tn_id_bytes *lower, *upper;
    size_t nsplit_offsets, nequality_ids;
    int64_t *split_offsets;
    int *equality_ids;
    int sort_order_id; /* -1 when absent */
    char *referenced_data_file;
    int has_first_row_id; /* v3 row lineage: written or inherited first_row_id (else null) */
    int64_t first_row_id;
    int64_t content_offset; /* v3 deletion vector: where its blob starts in the Puffin file */
    int64_t content_size;   /* and its length; -1 (both) when absent */
};

enum tn_entry_status { TN_ENTRY_EXISTING = 0, TN_ENTRY_ADDED = 1, TN_ENTRY_DELETED = 2 };

/* One manifest entry, with inherited values already filled in. */
struct tn_manifest_entry {
    int status;
    int64_t snapshot_id;
    int64_t sequence_number; /* data sequence number */
    int64_t file_sequence_number;
    int spec_id; /* of the manifest that holds it */
    struct tn_data_file file;
};

/* Read a manifest list. */
int tn_manifest_list_read(const void *data, size_t len, struct tn_manifest_file **out,
                          size_t *out_n, struct tn_err *err);
void tn_manifest_files_free(struct tn_manifest_file *m, size_t n);
/* Write a manifest list (codec deflate) for snapshot "snapshot_id" in the layout of table
 * format version "format_version" (2, or 3 with first_row_id). */
int tn_manifest_list_write(const struct tn_manifest_file *m, size_t n, int64_t snapshot_id,
                           int64_t parent_id, int64_t sequence_number, int format_version,
                           char **out, size_t *out_len, struct tn_err *err);
/* v3 row lineage: give every data manifest of "m" without a first_row_id one, from
 * "next_row_id" on, each the previous plus its added and existing rows (the spec's estimate).
 * Returns how many row ids were assigned (the snapshot's "added-rows"). */
int64_t tn_manifest_list_assign_row_ids(struct tn_manifest_file *m, size_t n, int64_t next_row_id);

/* Read the entries of manifest "mf" (its bytes in "data"), filling inherited snapshot ids,
 * sequence numbers and (v3) data files' first_row_id from "mf" as the spec says. */
int tn_manifest_read(const void *data, size_t len, const struct tn_manifest_file *mf,
                     struct tn_manifest_entry **out, size_t *out_n, struct tn_err *err);
void tn_manifest_entries_free(struct tn_manifest_entry *e, size_t n);
void tn_data_file_release(struct tn_data_file *f);
/* Deep copies (the copy owns its memory; release as usual), and the heap bytes a data file
 * holds (for cache accounting). */
void tn_data_file_copy(struct tn_data_file *dst, const struct tn_data_file *src);
size_t tn_data_file_bytes(const struct tn_data_file *f);
void tn_manifest_file_copy(struct tn_manifest_file *dst, const struct tn_manifest_file *src);

/* What a manifest being written describes. */
struct tn_manifest_info {
    const struct tn_schema *schema; /* table schema at write time */
    const struct tn_spec *spec;
    int content;             /* 0 data, 1 deletes */
    int64_t snapshot_id;     /* the snapshot that adds this manifest */
    int64_t sequence_number; /* that snapshot's sequence number */
    int format_version;      /* of the table: 3 writes first_row_id; 0 or 2 the v2 layout */
};

/* Write a manifest (codec deflate) of "entries", v2 or v3 by info->format_version. ADDED
 * entries are written with null snapshot id, sequence numbers and first_row_id (inherited);
 * EXISTING and DELETED entries carry theirs. On
 * success "*summary" describes it for the manifest list (path and length left unset). */
int tn_manifest_write(const struct tn_manifest_info *info, const struct tn_manifest_entry *entries,
                      size_t n, char **out, size_t *out_len, struct tn_manifest_file *summary,
                      struct tn_err *err);

/* The type of the values of partition field "pf": its transform's result type. "storage" holds
 * the type when one has to be made (it needs no freeing). */
const struct tn_type *tn_partition_type(const struct tn_schema *schema,
                                        const struct tn_partition_field *pf,
                                        struct tn_type *storage);
/* The single-value binary encoding of partition value "pv" of type "t"; returns its length. */
size_t tn_pvalue_encode(const struct tn_type *t, const struct tn_pvalue *pv, unsigned char *out,
                        size_t cap);

/*---- Scan planning (ICEBERG.md 4.6) ----*/

/* Whether delete file "del" (an entry of a delete manifest) applies to data file "data", by
 * the sequence-number, partition and referenced-file rules of the spec. "del_spec" is the
 * delete file's partition spec. */
int tn_delete_applies(const struct tn_manifest_entry *del, const struct tn_spec *del_spec,
                      const struct tn_manifest_entry *data);
/* Whether two partition tuples are equal (floats by bit pattern). */
int tn_partition_equal(const struct tn_data_file *a, const struct tn_data_file *b);

#endif /* TN_ICEBERG_MANIFEST_H */
