/* manifest.c - read and write Iceberg manifest lists and manifests (see manifest.h).
 *
 * Reading binds every field by its Avro "field-id", never by name or position: Iceberg-Java
 * before 1.5 named ids 504-506 differently, v1 lists put "partitions" elsewhere, and PyIceberg
 * types some fields differently. Writing produces the v2 layout of Iceberg-Java 1.8.1, with the
 * file metadata keys the spec requires, deflate-compressed. */
#include "iceberg.h"

#include <stdlib.h>
#include <string.h>

#include "avro/avro.h"

/*---- Shared helpers ----*/

static void bytes_set(struct tn_bytes *b, const void *p, size_t n)
{
    b->p = tn_malloc(n ? n : 1);
    if (n)
        memcpy(b->p, p, n);
    b->n = n;
}

static void bytes_release(struct tn_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static char *value_strdup(const struct tn_avro_value *v)
{
    if (!v || (v->type != TN_AVRO_STRING && v->type != TN_AVRO_BYTES))
        return NULL;
    return tn_strndup(v->u.bytes.p, v->u.bytes.n);
}

static int value_is_int(const struct tn_avro_value *v)
{
    return v && (v->type == TN_AVRO_INT || v->type == TN_AVRO_LONG);
}

/*---- Manifest lists ----*/

void tn_manifest_files_free(struct tn_manifest_file *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        for (size_t j = 0; j < m[i].npartitions; j++) {
            bytes_release(&m[i].partitions[j].lower);
            bytes_release(&m[i].partitions[j].upper);
        }
        free(m[i].partitions);
    }
    free(m);
}

static void read_summaries(const struct tn_avro_value *list, struct tn_manifest_file *mf)
{
    if (!list || list->type != TN_AVRO_ARRAY)
        return;
    mf->has_partitions = 1;
    mf->npartitions = list->u.list.n;
    mf->partitions = tn_calloc(list->u.list.n, sizeof(*mf->partitions));
    for (size_t i = 0; i < list->u.list.n; i++) {
        const struct tn_avro_value *r = &list->u.list.items[i];
        const struct tn_avro_value *v;
        struct tn_field_summary *fs = &mf->partitions[i];
        size_t n;
        const char *p;

        v = tn_avro_field(r, 509);
        fs->contains_null = v && v->type == TN_AVRO_BOOLEAN && v->u.boolean;
        v = tn_avro_field(r, 518);
        fs->contains_nan = (v && v->type == TN_AVRO_BOOLEAN) ? v->u.boolean : -1;
        if ((p = tn_avro_field_str(r, 510, &n)))
            bytes_set(&fs->lower, p, n);
        if ((p = tn_avro_field_str(r, 511, &n)))
            bytes_set(&fs->upper, p, n);
    }
}

int tn_manifest_list_read(const void *data, size_t len, struct tn_manifest_file **out,
                          size_t *out_n, struct tn_err *err)
{
    struct tn_avro_file *f = NULL;
    struct tn_manifest_file *v;
    int rc = tn_avro_read(data, len, &f, err);

    if (rc)
        return rc;
    v = tn_calloc(f->nrecords + 1, sizeof(*v));
    for (size_t i = 0; i < f->nrecords; i++) {
        const struct tn_avro_value *r = &f->records[i];
        struct tn_manifest_file *mf = &v[i];

        mf->path = value_strdup(tn_avro_field(r, 500));
        if (!mf->path || !value_is_int(tn_avro_field(r, 503))) {
            tn_manifest_files_free(v, i + 1);
            tn_avro_file_free(f);
            return tn_fail(err, TN_EINPUT,
                           "manifest list entry %zu lacks manifest_path or added_snapshot_id", i);
        }
        mf->length = tn_avro_field_i64(r, 501, 0);
        mf->spec_id = (int)tn_avro_field_i64(r, 502, 0);
        mf->content = (int)tn_avro_field_i64(r, 517, 0);
        mf->sequence_number = tn_avro_field_i64(r, 515, 0);
        mf->min_sequence_number = tn_avro_field_i64(r, 516, 0);
        mf->added_snapshot_id = tn_avro_field_i64(r, 503, 0);
        mf->added_files = tn_avro_field_i64(r, 504, 0);
        mf->existing_files = tn_avro_field_i64(r, 505, 0);
        mf->deleted_files = tn_avro_field_i64(r, 506, 0);
        mf->added_rows = tn_avro_field_i64(r, 512, 0);
        mf->existing_rows = tn_avro_field_i64(r, 513, 0);
        mf->deleted_rows = tn_avro_field_i64(r, 514, 0);
        mf->has_first_row_id = value_is_int(tn_avro_field(r, 520));
        mf->first_row_id = tn_avro_field_i64(r, 520, 0);
        read_summaries(tn_avro_field(r, 507), mf);
    }
    *out = v;
    *out_n = f->nrecords;
    tn_avro_file_free(f);
    return 0;
}

static const char manifest_list_schema[] =
    "{\"type\": \"record\", \"name\": \"manifest_file\", \"fields\": ["
    "{\"name\": \"manifest_path\", \"type\": \"string\", \"doc\": \"Location URI with FS scheme\", "
    "\"field-id\": 500}, "
    "{\"name\": \"manifest_length\", \"type\": \"long\", \"doc\": \"Total file size in bytes\", "
    "\"field-id\": 501}, "
    "{\"name\": \"partition_spec_id\", \"type\": \"int\", \"doc\": \"Spec ID used to write\", "
    "\"field-id\": 502}, "
    "{\"name\": \"content\", \"type\": \"int\", \"doc\": \"Contents of the manifest: 0=data, "
    "1=deletes\", \"field-id\": 517}, "
    "{\"name\": \"sequence_number\", \"type\": \"long\", \"doc\": \"Sequence number when the "
    "manifest was added\", \"field-id\": 515}, "
    "{\"name\": \"min_sequence_number\", \"type\": \"long\", \"doc\": \"Lowest sequence number in "
    "the manifest\", \"field-id\": 516}, "
    "{\"name\": \"added_snapshot_id\", \"type\": \"long\", \"doc\": \"Snapshot ID that added the "
    "manifest\", \"field-id\": 503}, "
    "{\"name\": \"added_files_count\", \"type\": \"int\", \"doc\": \"Added entry count\", "
    "\"field-id\": 504}, "
    "{\"name\": \"existing_files_count\", \"type\": \"int\", \"doc\": \"Existing entry count\", "
    "\"field-id\": 505}, "
    "{\"name\": \"deleted_files_count\", \"type\": \"int\", \"doc\": \"Deleted entry count\", "
    "\"field-id\": 506}, "
    "{\"name\": \"added_rows_count\", \"type\": \"long\", \"doc\": \"Added rows count\", "
    "\"field-id\": 512}, "
    "{\"name\": \"existing_rows_count\", \"type\": \"long\", \"doc\": \"Existing rows count\", "
    "\"field-id\": 513}, "
    "{\"name\": \"deleted_rows_count\", \"type\": \"long\", \"doc\": \"Deleted rows count\", "
    "\"field-id\": 514}, "
    "{\"name\": \"partitions\", \"type\": [\"null\", {\"type\": \"array\", \"items\": "
    "{\"type\": \"record\", \"name\": \"r508\", \"fields\": ["
    "{\"name\": \"contains_null\", \"type\": \"boolean\", \"doc\": \"True if any file has a null "
    "partition value\", \"field-id\": 509}, "
    "{\"name\": \"contains_nan\", \"type\": [\"null\", \"boolean\"], \"doc\": \"True if any file "
    "has a nan partition value\", \"default\": null, \"field-id\": 518}, "
    "{\"name\": \"lower_bound\", \"type\": [\"null\", \"bytes\"], \"doc\": \"Partition lower "
    "bound for all files\", \"default\": null, \"field-id\": 510}, "
    "{\"name\": \"upper_bound\", \"type\": [\"null\", \"bytes\"], \"doc\": \"Partition upper "
    "bound for all files\", \"default\": null, \"field-id\": 511}]}, \"element-id\": 508}], "
    "\"doc\": \"Summary for each partition\", \"default\": null, \"field-id\": 507}, "
    "{\"name\": \"key_metadata\", \"type\": [\"null\", \"bytes\"], \"doc\": \"Encryption key "
    "metadata blob\", \"default\": null, \"field-id\": 519}";

/* what a v3 manifest list adds after key_metadata */
static const char manifest_list_v3_fields[] =
    ", {\"name\": \"first_row_id\", \"type\": [\"null\", \"long\"], \"doc\": \"Starting row ID to "
    "assign to new rows in ADDED data files\", \"default\": null, \"field-id\": 520}";

static void put_opt_bytes(struct tn_buf *b, const struct tn_bytes *v)
{
    if (!v->p) {
        tn_avro_put_long(b, 0);
        return;
    }
    tn_avro_put_long(b, 1);
    tn_avro_put_bytes(b, v->p, v->n);
}

int64_t tn_manifest_list_assign_row_ids(struct tn_manifest_file *m, size_t n, int64_t next_row_id)
{
    int64_t assigned = 0;

    for (size_t i = 0; i < n; i++) {
        if (m[i].content != 0 || m[i].has_first_row_id)
            continue;
        m[i].has_first_row_id = 1;
        m[i].first_row_id = next_row_id + assigned;
        assigned += m[i].added_rows + m[i].existing_rows;
    }
    return assigned;
}

static void put_opt_long(struct tn_buf *b, int present, int64_t v)
{
    tn_avro_put_long(b, present ? 1 : 0);
    if (present)
        tn_avro_put_long(b, v);
}

int tn_manifest_list_write(const struct tn_manifest_file *m, size_t n, int64_t snapshot_id,
                           int64_t parent_id, int64_t sequence_number, int format_version,
                           char **out, size_t *out_len, struct tn_err *err)
{
    struct tn_avro_writer w;
    char sid[24], pid[24], seq[24];
    int v3 = format_version >= 3;
    struct tn_avro_meta meta[] = {
        {"snapshot-id", sid},
        {"parent-snapshot-id", pid},
        {"sequence-number", seq},
        {"format-version", v3 ? "3" : "2"},
        {NULL, NULL},
    };
    char *schema = tn_asprintf("%s%s]}", manifest_list_schema, v3 ? manifest_list_v3_fields : "");
    int rc;

    snprintf(sid, sizeof(sid), "%lld", (long long)snapshot_id);
    if (parent_id == -1)
        snprintf(pid, sizeof(pid), "null");
    else
        snprintf(pid, sizeof(pid), "%lld", (long long)parent_id);
    snprintf(seq, sizeof(seq), "%lld", (long long)sequence_number);
    rc = tn_avro_writer_init(&w, schema, meta, TN_AVRO_CODEC_DEFLATE, err);
    free(schema);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct tn_manifest_file *mf = &m[i];
        struct tn_buf *b = tn_avro_writer_record(&w);

        tn_avro_put_string(b, mf->path);
        tn_avro_put_long(b, mf->length);
        tn_avro_put_long(b, mf->spec_id);
        tn_avro_put_long(b, mf->content);
        tn_avro_put_long(b, mf->sequence_number);
        tn_avro_put_long(b, mf->min_sequence_number);
        tn_avro_put_long(b, mf->added_snapshot_id);
        tn_avro_put_long(b, mf->added_files);
        tn_avro_put_long(b, mf->existing_files);
        tn_avro_put_long(b, mf->deleted_files);
        tn_avro_put_long(b, mf->added_rows);
        tn_avro_put_long(b, mf->existing_rows);
        tn_avro_put_long(b, mf->deleted_rows);
        tn_avro_put_long(b, 1); /* partitions: the array branch */
        if (mf->npartitions) {
            tn_avro_put_long(b, (int64_t)mf->npartitions);
            for (size_t j = 0; j < mf->npartitions; j++) {
                const struct tn_field_summary *fs = &mf->partitions[j];
                tn_avro_put_bool(b, fs->contains_null);
                if (fs->contains_nan < 0) {
                    tn_avro_put_long(b, 0);
                } else {
                    tn_avro_put_long(b, 1);
                    tn_avro_put_bool(b, fs->contains_nan);
                }
                put_opt_bytes(b, &fs->lower);
                put_opt_bytes(b, &fs->upper);
            }
        }
        tn_avro_put_long(b, 0);
        tn_avro_put_long(b, 0); /* key_metadata: null */
        if (v3)
            put_opt_long(b, mf->content == 0 && mf->has_first_row_id, mf->first_row_id);
        rc = tn_avro_writer_end_record(&w, err);
        if (rc) {
            tn_avro_writer_release(&w);
            return rc;
        }
    }
    return tn_avro_writer_finish(&w, out, out_len, err);
}

/*---- Manifests: reading ----*/

/* A copy of "n" elements of "size" bytes (NULL for none). */
static void *array_dup(const void *p, size_t n, size_t size)
{
    void *q;

    if (!p || !n)
        return NULL;
    q = tn_malloc(n * size);
    memcpy(q, p, n * size);
    return q;
}

/* Copy "src" into "dst", keeping an absent value (p NULL) absent. */
static void bytes_copy(struct tn_bytes *dst, const struct tn_bytes *src)
{
    memset(dst, 0, sizeof(*dst));
    if (src->p)
        bytes_set(dst, src->p, src->n);
}

static struct tn_id_bytes *id_bytes_dup(const struct tn_id_bytes *v, size_t n)
{
    struct tn_id_bytes *c = array_dup(v, n, sizeof(*v));

    for (size_t i = 0; i < n; i++)
        bytes_copy(&c[i].value, &v[i].value);
    return c;
}

void tn_data_file_copy(struct tn_data_file *dst, const struct tn_data_file *src)
{
    *dst = *src;
    dst->file_path = src->file_path ? tn_strdup(src->file_path) : NULL;
    dst->file_format = src->file_format ? tn_strdup(src->file_format) : NULL;
    dst->partition = array_dup(src->partition, src->npartition, sizeof(*src->partition));
    for (size_t i = 0; i < src->npartition; i++)
        bytes_copy(&dst->partition[i].bytes, &src->partition[i].bytes);
    dst->column_sizes = array_dup(src->column_sizes, src->ncolumn_sizes, sizeof(struct tn_id_long));
    dst->value_counts = array_dup(src->value_counts, src->nvalue_counts, sizeof(struct tn_id_long));
    dst->null_counts = array_dup(src->null_counts, src->nnull_counts, sizeof(struct tn_id_long));
    dst->nan_counts = array_dup(src->nan_counts, src->nnan_counts, sizeof(struct tn_id_long));
    dst->lower = id_bytes_dup(src->lower, src->nlower);
    dst->upper = id_bytes_dup(src->upper, src->nupper);
    dst->split_offsets = array_dup(src->split_offsets, src->nsplit_offsets, sizeof(int64_t));
    dst->equality_ids = array_dup(src->equality_ids, src->nequality_ids, sizeof(int));
    dst->referenced_data_file =
        src->referenced_data_file ? tn_strdup(src->referenced_data_file) : NULL;
}

size_t tn_data_file_bytes(const struct tn_data_file *f)
{
    size_t n = sizeof(*f) + (f->file_path ? strlen(f->file_path) + 1 : 0) +
               (f->file_format ? strlen(f->file_format) + 1 : 0) +
               (f->referenced_data_file ? strlen(f->referenced_data_file) + 1 : 0) +
               f->npartition * sizeof(*f->partition) +
               (f->ncolumn_sizes + f->nvalue_counts + f->nnull_counts + f->nnan_counts) *
                   sizeof(struct tn_id_long) +
               (f->nlower + f->nupper) * sizeof(struct tn_id_bytes) +
               f->nsplit_offsets * sizeof(int64_t) + f->nequality_ids * sizeof(int);

    for (size_t i = 0; i < f->npartition; i++)
        n += f->partition[i].bytes.n;
    for (size_t i = 0; i < f->nlower; i++)
        n += f->lower[i].value.n;
    for (size_t i = 0; i < f->nupper; i++)
        n += f->upper[i].value.n;
    return n;
}

void tn_manifest_file_copy(struct tn_manifest_file *dst, const struct tn_manifest_file *src)
{
    *dst = *src;
    dst->path = src->path ? tn_strdup(src->path) : NULL;
    dst->partitions = array_dup(src->partitions, src->npartitions, sizeof(*src->partitions));
    for (size_t i = 0; i < src->npartitions; i++) {
        bytes_copy(&dst->partitions[i].lower, &src->partitions[i].lower);
        bytes_copy(&dst->partitions[i].upper, &src->partitions[i].upper);
    }
}

void tn_data_file_release(struct tn_data_file *f)
{
    free(f->file_path);
    free(f->file_format);
    for (size_t i = 0; i < f->npartition; i++)
        bytes_release(&f->partition[i].bytes);
    free(f->partition);
    free(f->column_sizes);
    free(f->value_counts);
    free(f->null_counts);
    free(f->nan_counts);
    for (size_t i = 0; i < f->nlower; i++)
        bytes_release(&f->lower[i].value);
    for (size_t i = 0; i < f->nupper; i++)
        bytes_release(&f->upper[i].value);
    free(f->lower);
    free(f->upper);
    free(f->split_offsets);
    free(f->equality_ids);
    free(f->referenced_data_file);
    memset(f, 0, sizeof(*f));
}

void tn_manifest_entries_free(struct tn_manifest_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        tn_data_file_release(&e[i].file);
    free(e);
}

/* The key/value pairs of an id-keyed map: Iceberg writes an array of {key, value} records;
 * accept a string-keyed Avro map too. Calls "add" for each pair. */
static size_t map_pairs(const struct tn_avro_value *m, int key_id, int value_id,
                        const struct tn_avro_value ***keys, const struct tn_avro_value ***vals)
{
    size_t n = 0;

    *keys = NULL;
    *vals = NULL;
    if (!m)
        return 0;
    if (m->type == TN_AVRO_ARRAY) {
        *keys = tn_calloc(m->u.list.n + 1, sizeof(**keys));
        *vals = tn_calloc(m->u.list.n + 1, sizeof(**vals));
        for (size_t i = 0; i < m->u.list.n; i++) {
            const struct tn_avro_value *k = tn_avro_field(&m->u.list.items[i], key_id);
            const struct tn_avro_value *v = tn_avro_field(&m->u.list.items[i], value_id);
            if (!k || !v || !value_is_int(k))
                continue;
            (*keys)[n] = k;
            (*vals)[n] = v;
            n++;
        }
    }
    return n;
}

static void read_long_map(const struct tn_avro_value *m, int kid, int vid, struct tn_id_long **out,
                          size_t *out_n)
{
    const struct tn_avro_value **keys, **vals;
    size_t n = map_pairs(m, kid, vid, &keys, &vals);
    size_t k = 0;

    *out = n ? tn_calloc(n, sizeof(**out)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (!value_is_int(vals[i]))
            continue;
        (*out)[k].id = (int)keys[i]->u.i;
        (*out)[k].value = vals[i]->u.i;
        k++;
    }
    *out_n = k;
    free(keys);
    free(vals);
}

static void read_bytes_map(const struct tn_avro_value *m, int kid, int vid,
                           struct tn_id_bytes **out, size_t *out_n)
{
    const struct tn_avro_value **keys, **vals;
    size_t n = map_pairs(m, kid, vid, &keys, &vals);
    size_t k = 0;

    *out = n ? tn_calloc(n, sizeof(**out)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const struct tn_avro_value *v = vals[i];
        if (v->type != TN_AVRO_BYTES && v->type != TN_AVRO_STRING && v->type != TN_AVRO_FIXED)
            continue;
        (*out)[k].id = (int)keys[i]->u.i;
        bytes_set(&(*out)[k].value, v->u.bytes.p, v->u.bytes.n);
        k++;
    }
    *out_n = k;
    free(keys);
    free(vals);
}

static void read_partition(const struct tn_avro_value *rec, struct tn_data_file *f)
{
    if (!rec || rec->type != TN_AVRO_RECORD)
        return;
    f->npartition = rec->u.list.n;
    f->partition = tn_calloc(rec->u.list.n + 1, sizeof(*f->partition));
    for (size_t i = 0; i < rec->u.list.n; i++) {
        const struct tn_avro_value *v = &rec->u.list.items[i];
        struct tn_pvalue *pv = &f->partition[i];
        pv->kind = v->type;
        switch (v->type) {
        case TN_AVRO_NULL:
            pv->is_null = 1;
            break;
        case TN_AVRO_BOOLEAN:
            pv->i = v->u.boolean;
            break;
        case TN_AVRO_INT:
        case TN_AVRO_LONG:
        case TN_AVRO_ENUM:
            pv->i = v->u.i;
            break;
        case TN_AVRO_FLOAT:
        case TN_AVRO_DOUBLE:
            pv->d = v->u.d;
            break;
        case TN_AVRO_STRING:
        case TN_AVRO_BYTES:
        case TN_AVRO_FIXED:
            bytes_set(&pv->bytes, v->u.bytes.p, v->u.bytes.n);
            break;
        default:
            pv->is_null = 1;
            break;
        }
    }
}

static int read_data_file(const struct tn_avro_value *df, struct tn_data_file *f,
                          struct tn_err *err)
{
    const struct tn_avro_value *v;

    f->content = (int)tn_avro_field_i64(df, 134, 0);
    f->file_path = value_strdup(tn_avro_field(df, 100));
    f->file_format = value_strdup(tn_avro_field(df, 101));
    if (!f->file_path || !f->file_format)
        return tn_fail(err, TN_EINPUT, "manifest entry lacks file_path or file_format");
    read_partition(tn_avro_field(df, 102), f);
    f->record_count = tn_avro_field_i64(df, 103, 0);
    f->file_size = tn_avro_field_i64(df, 104, 0);
    read_long_map(tn_avro_field(df, 108), 117, 118, &f->column_sizes, &f->ncolumn_sizes);
    read_long_map(tn_avro_field(df, 109), 119, 120, &f->value_counts, &f->nvalue_counts);
    read_long_map(tn_avro_field(df, 110), 121, 122, &f->null_counts, &f->nnull_counts);
    read_long_map(tn_avro_field(df, 137), 138, 139, &f->nan_counts, &f->nnan_counts);
    read_bytes_map(tn_avro_field(df, 125), 126, 127, &f->lower, &f->nlower);
    read_bytes_map(tn_avro_field(df, 128), 129, 130, &f->upper, &f->nupper);
    v = tn_avro_field(df, 132);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n) {
        f->split_offsets = tn_calloc(v->u.list.n, sizeof(int64_t));
        for (size_t i = 0; i < v->u.list.n; i++)
            if (value_is_int(&v->u.list.items[i]))
                f->split_offsets[f->nsplit_offsets++] = v->u.list.items[i].u.i;
    }
    v = tn_avro_field(df, 135);
    if (v && v->type == TN_AVRO_ARRAY && v->u.list.n) {
        f->equality_ids = tn_calloc(v->u.list.n, sizeof(int));
        for (size_t i = 0; i < v->u.list.n; i++)
            if (value_is_int(&v->u.list.items[i]))
                f->equality_ids[f->nequality_ids++] = (int)v->u.list.items[i].u.i;
    }
    if (f->content == 2 && !f->nequality_ids)
        return tn_fail(err, TN_EINPUT, "equality delete file %s has no equality_ids", f->file_path);
    f->sort_order_id = (int)tn_avro_field_i64(df, 140, -1);
    f->referenced_data_file = value_strdup(tn_avro_field(df, 143));
    f->content_offset = tn_avro_field_i64(df, 144, -1);
    f->content_size = tn_avro_field_i64(df, 145, -1);
    f->has_first_row_id = value_is_int(tn_avro_field(df, 142));
    f->first_row_id = tn_avro_field_i64(df, 142, 0);
    return 0;
}

int tn_manifest_read(const void *data, size_t len, const struct tn_manifest_file *mf,
                     struct tn_manifest_entry **out, size_t *out_n, struct tn_err *err)
{
    struct tn_avro_file *f = NULL;
    struct tn_manifest_entry *v;
    int64_t next_row_id = mf->first_row_id; /* the next data file's inherited first_row_id */
    int rc = tn_avro_read(data, len, &f, err);

    if (rc)
        return rc;
    v = tn_calloc(f->nrecords + 1, sizeof(*v));
    for (size_t i = 0; i < f->nrecords; i++) {
        const struct tn_avro_value *r = &f->records[i];
        const struct tn_avro_value *df = tn_avro_field(r, 2);
        struct tn_manifest_entry *e = &v[i];
        int inherit;

        if (!df || df->type != TN_AVRO_RECORD || !value_is_int(tn_avro_field(r, 0))) {
            rc = tn_fail(err, TN_EINPUT, "manifest entry %zu lacks status or data_file", i);
            break;
        }
        e->status = (int)tn_avro_field_i64(r, 0, 0);
        e->spec_id = mf->spec_id;
        e->snapshot_id = tn_avro_field_i64(r, 1, mf->added_snapshot_id);
        inherit = e->status == TN_ENTRY_ADDED || mf->sequence_number == 0;
        e->sequence_number = tn_avro_field_i64(r, 3, inherit ? mf->sequence_number : 0);
        e->file_sequence_number = tn_avro_field_i64(r, 4, inherit ? mf->sequence_number : 0);
        rc = read_data_file(df, &e->file, err);
        if (rc) {
            tn_err_prefix(err, "manifest entry %zu: ", i);
            break;
        }
        if (e->file.content != 0) {
            e->file.has_first_row_id = 0; /* never set for delete files */
        } else if (!e->file.has_first_row_id && mf->has_first_row_id) {
            e->file.has_first_row_id = 1;
            e->file.first_row_id = next_row_id;
            next_row_id += e->file.record_count;
        }
    }
    if (rc) {
        tn_manifest_entries_free(v, f->nrecords);
        tn_avro_file_free(f);
        return rc;
    }
    *out = v;
    *out_n = f->nrecords;
    tn_avro_file_free(f);
    return 0;
}

/*---- Manifests: writing ----*/

/* The transform's result type (see manifest.h). */
const struct tn_type *tn_partition_type(const struct tn_schema *schema,
                                        const struct tn_partition_field *pf,
                                        struct tn_type *storage)
{
    const struct tn_field *src = tn_schema_find(schema, pf->source_id);
    const char *t = pf->transform;

    memset(storage, 0, sizeof(*storage));
    if (strcmp(t, "day") == 0) {
        storage->kind = TN_T_DATE;
        return storage;
    }
    if (strncmp(t, "bucket", 6) == 0 || strcmp(t, "year") == 0 || strcmp(t, "month") == 0 ||
        strcmp(t, "hour") == 0 || !src) {
        storage->kind = TN_T_INT;
        return storage;
    }
    return src->type;
}

/* The bytes of the smallest two's-complement integer that holds any unscaled value of
 * "precision" decimal digits (Iceberg-Java's TypeUtil.decimalRequiredBytes). */
static int decimal_bytes(int precision)
{
    double bits = precision * 3.3219280948873623 + 1; /* log2(10) per digit, plus the sign */
    return (int)((bits + 7) / 8);
}

/* Append the Avro JSON type of Iceberg primitive "t". */
static void avro_type_json(struct tn_buf *b, const struct tn_type *t, int field_id)
{
    switch (t->kind) {
    case TN_T_BOOLEAN:
        tn_buf_addstr(b, "\"boolean\"", NULL);
        break;
    case TN_T_INT:
        tn_buf_addstr(b, "\"int\"", NULL);
        break;
    case TN_T_LONG:
        tn_buf_addstr(b, "\"long\"", NULL);
        break;
    case TN_T_FLOAT:
        tn_buf_addstr(b, "\"float\"", NULL);
        break;
    case TN_T_DOUBLE:
        tn_buf_addstr(b, "\"double\"", NULL);
        break;
    case TN_T_DATE:
        tn_buf_addstr(b, "{\"type\": \"int\", \"logicalType\": \"date\"}", NULL);
        break;
    case TN_T_TIME:
        tn_buf_addstr(b, "{\"type\": \"long\", \"logicalType\": \"time-micros\"}", NULL);
        break;
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
        tn_buf_addf(b, NULL,
                    "{\"type\": \"long\", \"logicalType\": \"timestamp-micros\", "
                    "\"adjust-to-utc\": %s}",
                    t->kind == TN_T_TIMESTAMPTZ ? "true" : "false");
        break;
    case TN_T_TIMESTAMP_NS:
    case TN_T_TIMESTAMPTZ_NS:
        tn_buf_addf(b, NULL,
                    "{\"type\": \"long\", \"logicalType\": \"timestamp-nanos\", "
                    "\"adjust-to-utc\": %s}",
                    t->kind == TN_T_TIMESTAMPTZ_NS ? "true" : "false");
        break;
    case TN_T_DECIMAL:
        tn_buf_addf(b, NULL,
                    "{\"type\": \"fixed\", \"name\": \"decimal_%d_%d_%d\", \"size\": %d, "
                    "\"logicalType\": \"decimal\", \"precision\": %d, \"scale\": %d}",
                    t->precision, t->scale, field_id, decimal_bytes(t->precision), t->precision,
                    t->scale);
        break;
    case TN_T_UUID:
        tn_buf_addf(b, NULL,
                    "{\"type\": \"fixed\", \"name\": \"uuid_fixed_%d\", \"size\": 16, "
                    "\"logicalType\": \"uuid\"}",
                    field_id);
        break;
    case TN_T_FIXED:
        tn_buf_addf(b, NULL, "{\"type\": \"fixed\", \"name\": \"fixed_%d\", \"size\": %d}",
                    field_id, t->length);
        break;
    case TN_T_BINARY:
        tn_buf_addstr(b, "\"bytes\"", NULL);
        break;
    default:
        tn_buf_addstr(b, "\"string\"", NULL);
        break;
    }
}

static const char *const id_maps[][4] = {
    {"column_sizes", "108", "117", "118"},      {"value_counts", "109", "119", "120"},
    {"null_value_counts", "110", "121", "122"}, {"nan_value_counts", "137", "138", "139"},
    {"lower_bounds", "125", "126", "127"},      {"upper_bounds", "128", "129", "130"},
};

static char *manifest_schema_json(const struct tn_schema *schema, const struct tn_spec *spec,
                                  int v3)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);

    tn_buf_addstr(&b,
                  "{\"type\": \"record\", \"name\": \"manifest_entry\", \"fields\": ["
                  "{\"name\": \"status\", \"type\": \"int\", \"field-id\": 0}, "
                  "{\"name\": \"snapshot_id\", \"type\": [\"null\", \"long\"], \"default\": null, "
                  "\"field-id\": 1}, "
                  "{\"name\": \"sequence_number\", \"type\": [\"null\", \"long\"], \"default\": "
                  "null, \"field-id\": 3}, "
                  "{\"name\": \"file_sequence_number\", \"type\": [\"null\", \"long\"], "
                  "\"default\": null, \"field-id\": 4}, "
                  "{\"name\": \"data_file\", \"field-id\": 2, \"type\": {\"type\": \"record\", "
                  "\"name\": \"r2\", \"fields\": ["
                  "{\"name\": \"content\", \"type\": \"int\", \"doc\": \"Contents of the file: "
                  "0=data, 1=position deletes, 2=equality deletes\", \"field-id\": 134}, "
                  "{\"name\": \"file_path\", \"type\": \"string\", \"doc\": \"Location URI with "
                  "FS scheme\", \"field-id\": 100}, "
                  "{\"name\": \"file_format\", \"type\": \"string\", \"doc\": \"File format name: "
                  "avro, orc, or parquet\", \"field-id\": 101}, "
                  "{\"name\": \"partition\", \"type\": {\"type\": \"record\", \"name\": \"r102\", "
                  "\"fields\": [",
                  NULL);
    for (size_t i = 0; i < spec->nfields; i++) {
        struct tn_type storage;
        const struct tn_type *t = tn_partition_type(schema, &spec->fields[i], &storage);
        json_t *js = json_string(spec->fields[i].name);
        char *quoted = json_dumps(js, JSON_ENCODE_ANY);

        tn_buf_addf(&b, NULL, "%s{\"name\": %s, \"type\": [\"null\", ", i ? ", " : "", quoted);
        avro_type_json(&b, t, spec->fields[i].field_id);
        tn_buf_addf(&b, NULL, "], \"default\": null, \"field-id\": %d}", spec->fields[i].field_id);
        free(quoted);
        json_decref(js);
    }
    tn_buf_addstr(&b,
                  "]}, \"doc\": \"Partition data tuple, schema based on the partition spec\", "
                  "\"field-id\": 102}, "
                  "{\"name\": \"record_count\", \"type\": \"long\", \"doc\": \"Number of records "
                  "in the file\", \"field-id\": 103}, "
                  "{\"name\": \"file_size_in_bytes\", \"type\": \"long\", \"doc\": \"Total file "
                  "size in bytes\", \"field-id\": 104}",
                  NULL);
    for (size_t i = 0; i < sizeof(id_maps) / sizeof(id_maps[0]); i++)
        tn_buf_addf(&b, NULL,
                    ", {\"name\": \"%s\", \"type\": [\"null\", {\"type\": \"array\", \"items\": "
                    "{\"type\": \"record\", \"name\": \"k%s_v%s\", \"fields\": [{\"name\": "
                    "\"key\", \"type\": \"int\", \"field-id\": %s}, {\"name\": \"value\", "
                    "\"type\": \"%s\", \"field-id\": %s}]}, \"logicalType\": \"map\"}], "
                    "\"default\": null, \"field-id\": %s}",
                    id_maps[i][0], id_maps[i][2], id_maps[i][3], id_maps[i][2],
                    i >= 4 ? "bytes" : "long", id_maps[i][3], id_maps[i][1]);
    tn_buf_addstr(&b,
                  ", {\"name\": \"key_metadata\", \"type\": [\"null\", \"bytes\"], \"doc\": "
                  "\"Encryption key metadata blob\", \"default\": null, \"field-id\": 131}, "
                  "{\"name\": \"split_offsets\", \"type\": [\"null\", {\"type\": \"array\", "
                  "\"items\": \"long\", \"element-id\": 133}], \"doc\": \"Splittable offsets\", "
                  "\"default\": null, \"field-id\": 132}, "
                  "{\"name\": \"equality_ids\", \"type\": [\"null\", {\"type\": \"array\", "
                  "\"items\": \"int\", \"element-id\": 136}], \"doc\": \"Equality comparison "
                  "field IDs\", \"default\": null, \"field-id\": 135}, "
                  "{\"name\": \"sort_order_id\", \"type\": [\"null\", \"int\"], \"doc\": \"Sort "
                  "order ID\", \"default\": null, \"field-id\": 140}, "
                  "{\"name\": \"referenced_data_file\", \"type\": [\"null\", \"string\"], "
                  "\"doc\": \"Fully qualified location (URI with FS scheme) of a data file that "
                  "all deletes reference\", \"default\": null, \"field-id\": 143}",
                  NULL);
    if (v3)
        tn_buf_addstr(&b,
                      ", {\"name\": \"first_row_id\", \"type\": [\"null\", \"long\"], \"doc\": "
                      "\"The _row_id of the first row in the data file\", \"default\": null, "
                      "\"field-id\": 142}, "
                      "{\"name\": \"content_offset\", \"type\": [\"null\", \"long\"], \"doc\": "
                      "\"The offset in the file where the content starts\", \"default\": null, "
                      "\"field-id\": 144}, "
                      "{\"name\": \"content_size_in_bytes\", \"type\": [\"null\", \"long\"], "
                      "\"doc\": \"The length of referenced content stored in the file\", "
                      "\"default\": null, \"field-id\": 145}",
                      NULL);
    tn_buf_addstr(&b, "]}}]}", NULL);
    return tn_buf_detach(&b, NULL);
}

static void put_long_map(struct tn_buf *b, const struct tn_id_long *v, size_t n)
{
    if (!n) {
        tn_avro_put_long(b, 0);
        return;
    }
    tn_avro_put_long(b, 1);
    tn_avro_put_long(b, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        tn_avro_put_long(b, v[i].id);
        tn_avro_put_long(b, v[i].value);
    }
    tn_avro_put_long(b, 0);
}

static void put_bytes_map(struct tn_buf *b, const struct tn_id_bytes *v, size_t n)
{
    if (!n) {
        tn_avro_put_long(b, 0);
        return;
    }
    tn_avro_put_long(b, 1);
    tn_avro_put_long(b, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        tn_avro_put_long(b, v[i].id);
        tn_avro_put_bytes(b, v[i].value.p, v[i].value.n);
    }
    tn_avro_put_long(b, 0);
}

/* Encode a partition value as Avro type "t" (sign-extending decimals to the fixed width). */
static void put_partition_value(struct tn_buf *b, const struct tn_type *t,
                                const struct tn_pvalue *pv)
{
    if (pv->is_null) {
        tn_avro_put_long(b, 0);
        return;
    }
    tn_avro_put_long(b, 1);
    switch (t->kind) {
    case TN_T_BOOLEAN:
        tn_avro_put_bool(b, (int)pv->i);
        break;
    case TN_T_FLOAT:
        tn_avro_put_float(b, (float)pv->d);
        break;
    case TN_T_DOUBLE:
        tn_avro_put_double(b, pv->d);
        break;
    case TN_T_DECIMAL: {
        unsigned char fixed[32];
        int width = decimal_bytes(t->precision);
        size_t n = pv->bytes.n;
        unsigned char fill = (n && (pv->bytes.p[0] & 0x80)) ? 0xff : 0x00;
        memset(fixed, fill, sizeof(fixed));
        if (n > (size_t)width)
            n = (size_t)width;
        if (n)
            memcpy(fixed + width - n, pv->bytes.p + pv->bytes.n - n, n);
        tn_avro_put_fixed(b, fixed, (size_t)width);
        break;
    }
    case TN_T_UUID:
    case TN_T_FIXED:
        tn_avro_put_fixed(b, pv->bytes.p, pv->bytes.n);
        break;
    case TN_T_STRING:
    case TN_T_BINARY:
        tn_avro_put_bytes(b, pv->bytes.p, pv->bytes.n);
        break;
    default:
        tn_avro_put_long(b, pv->i);
        break;
    }
}

/* The single-value encoding of a partition value of type "t" (for manifest-list bounds). */
size_t tn_pvalue_encode(const struct tn_type *t, const struct tn_pvalue *pv, unsigned char *out,
                        size_t cap)
{
    size_t n = 0;

    switch (t->kind) {
    case TN_T_BOOLEAN:
        out[0] = pv->i ? 1 : 0;
        return 1;
    case TN_T_INT:
    case TN_T_DATE:
        n = 4;
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)((uint64_t)pv->i >> (8 * i));
        return n;
    case TN_T_FLOAT: {
        float f = (float)pv->d;
        memcpy(out, &f, 4);
        return 4;
    }
    case TN_T_DOUBLE:
        memcpy(out, &pv->d, 8);
        return 8;
    case TN_T_STRING:
    case TN_T_BINARY:
    case TN_T_FIXED:
    case TN_T_UUID:
    case TN_T_DECIMAL:
        n = pv->bytes.n < cap ? pv->bytes.n : cap;
        if (n)
            memcpy(out, pv->bytes.p, n);
        return n;
    default:
        n = 8;
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)((uint64_t)pv->i >> (8 * i));
        return n;
    }
}

/* Partition summaries over the entries of one manifest. */
static void summarise_partitions(const struct tn_manifest_info *info,
                                 const struct tn_manifest_entry *entries, size_t n,
                                 struct tn_manifest_file *summary)
{
    const struct tn_spec *spec = info->spec;

    summary->has_partitions = 1;
    summary->npartitions = spec->nfields;
    summary->partitions = tn_calloc(spec->nfields + 1, sizeof(*summary->partitions));
    for (size_t f = 0; f < spec->nfields; f++) {
        struct tn_type storage;
        const struct tn_type *t = tn_partition_type(info->schema, &spec->fields[f], &storage);
        struct tn_field_summary *fs = &summary->partitions[f];
        int is_float = t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE;

        fs->contains_nan = is_float ? 0 : -1;
        for (size_t i = 0; i < n; i++) {
            const struct tn_pvalue *pv;
            unsigned char enc[TN_BOUND_MAX + 64];
            size_t len;

            if (entries[i].status == TN_ENTRY_DELETED)
                continue;
            /* a tuple without the field (a void-only spec) is written with it null */
            pv = f < entries[i].file.npartition ? &entries[i].file.partition[f] : NULL;
            if (!pv || pv->is_null) {
                fs->contains_null = 1;
                continue;
            }
            if (is_float && pv->d != pv->d) {
                fs->contains_nan = 1;
                continue;
            }
            len = tn_pvalue_encode(t, pv, enc, sizeof(enc));
            if (!fs->lower.p || tn_bound_compare(t, enc, len, fs->lower.p, fs->lower.n) < 0) {
                bytes_release(&fs->lower);
                bytes_set(&fs->lower, enc, len);
            }
            if (!fs->upper.p || tn_bound_compare(t, enc, len, fs->upper.p, fs->upper.n) > 0) {
                bytes_release(&fs->upper);
                bytes_set(&fs->upper, enc, len);
            }
        }
    }
}

int tn_manifest_write(const struct tn_manifest_info *info, const struct tn_manifest_entry *entries,
                      size_t n, char **out, size_t *out_len, struct tn_manifest_file *summary,
                      struct tn_err *err)
{
    struct tn_avro_writer w;
    int v3 = info->format_version >= 3;
    char *schema_json = manifest_schema_json(info->schema, info->spec, v3);
    char *table_schema = json_dumps(info->schema->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char spec_id[16], schema_id[16];
    struct tn_buf spec_fields = TN_BUF_INIT(TN_CAP_INTERNAL);
    struct tn_type *types_storage = tn_calloc(info->spec->nfields + 1, sizeof(struct tn_type));
    const struct tn_type **ptypes = tn_calloc(info->spec->nfields + 1, sizeof(*ptypes));
    int64_t min_seq = INT64_MAX;
    int rc;

    snprintf(spec_id, sizeof(spec_id), "%d", info->spec->spec_id);
    snprintf(schema_id, sizeof(schema_id), "%d", info->schema->schema_id);
    tn_buf_addstr(&spec_fields, "[", NULL);
    for (size_t i = 0; i < info->spec->nfields; i++) {
        const struct tn_partition_field *pf = &info->spec->fields[i];
        json_t *js = json_pack("{s:s, s:s, s:i, s:i}", "name", pf->name, "transform", pf->transform,
                               "source-id", pf->source_id, "field-id", pf->field_id);
        char *text = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
        tn_buf_addf(&spec_fields, NULL, "%s%s", i ? "," : "", text);
        free(text);
        json_decref(js);
        ptypes[i] = tn_partition_type(info->schema, pf, &types_storage[i]);
    }
    tn_buf_addstr(&spec_fields, "]", NULL);
    {
        struct tn_avro_meta meta[] = {
            {"schema", table_schema},
            {"schema-id", schema_id},
            {"partition-spec", spec_fields.buf},
            {"partition-spec-id", spec_id},
            {"format-version", v3 ? "3" : "2"},
            {"content", info->content ? "deletes" : "data"},
            {NULL, NULL},
        };
        rc = tn_avro_writer_init(&w, schema_json, meta, TN_AVRO_CODEC_DEFLATE, err);
    }
    memset(summary, 0, sizeof(*summary));
    for (size_t i = 0; !rc && i < n; i++) {
        const struct tn_manifest_entry *e = &entries[i];
        const struct tn_data_file *f = &e->file;
        struct tn_buf *b = tn_avro_writer_record(&w);
        int added = e->status == TN_ENTRY_ADDED;

        tn_avro_put_long(b, e->status);
        if (added) {
            tn_avro_put_long(b, 0);
            tn_avro_put_long(b, 0);
            tn_avro_put_long(b, 0);
        } else {
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, e->status == TN_ENTRY_DELETED ? info->snapshot_id : e->snapshot_id);
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, e->sequence_number);
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, e->file_sequence_number);
        }
        tn_avro_put_long(b, f->content);
        tn_avro_put_string(b, f->file_path);
        tn_avro_put_string(b, f->file_format ? f->file_format : "PARQUET");
        for (size_t p = 0; p < info->spec->nfields; p++) {
            struct tn_pvalue null_value = {.is_null = 1};
            put_partition_value(b, ptypes[p], p < f->npartition ? &f->partition[p] : &null_value);
        }
        tn_avro_put_long(b, f->record_count);
        tn_avro_put_long(b, f->file_size);
        put_long_map(b, f->column_sizes, f->ncolumn_sizes);
        put_long_map(b, f->value_counts, f->nvalue_counts);
        put_long_map(b, f->null_counts, f->nnull_counts);
        put_long_map(b, f->nan_counts, f->nnan_counts);
        put_bytes_map(b, f->lower, f->nlower);
        put_bytes_map(b, f->upper, f->nupper);
        tn_avro_put_long(b, 0); /* key_metadata */
        if (f->nsplit_offsets) {
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, (int64_t)f->nsplit_offsets);
            for (size_t k = 0; k < f->nsplit_offsets; k++)
                tn_avro_put_long(b, f->split_offsets[k]);
            tn_avro_put_long(b, 0);
        } else {
            tn_avro_put_long(b, 0);
        }
        if (f->nequality_ids) {
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, (int64_t)f->nequality_ids);
            for (size_t k = 0; k < f->nequality_ids; k++)
                tn_avro_put_long(b, f->equality_ids[k]);
            tn_avro_put_long(b, 0);
        } else {
            tn_avro_put_long(b, 0);
        }
        if (f->sort_order_id >= 0 && f->content != 1) {
            tn_avro_put_long(b, 1);
            tn_avro_put_long(b, f->sort_order_id);
        } else {
            tn_avro_put_long(b, 0);
        }
        if (f->referenced_data_file) {
            tn_avro_put_long(b, 1);
            tn_avro_put_string(b, f->referenced_data_file);
        } else {
            tn_avro_put_long(b, 0);
        }
        if (v3) { /* new files inherit theirs; existing and deleted ones keep what they had */
            int dv = f->content == 1 && f->content_size > 0;
            put_opt_long(b, !added && f->content == 0 && f->has_first_row_id, f->first_row_id);
            put_opt_long(b, dv, f->content_offset); /* a deletion vector's blob */
            put_opt_long(b, dv, f->content_size);
        }
        rc = tn_avro_writer_end_record(&w, err);

        switch (e->status) {
        case TN_ENTRY_ADDED:
            summary->added_files++;
            summary->added_rows += f->record_count;
            if (info->sequence_number < min_seq)
                min_seq = info->sequence_number;
            break;
        case TN_ENTRY_EXISTING:
            summary->existing_files++;
            summary->existing_rows += f->record_count;
            if (e->sequence_number < min_seq)
                min_seq = e->sequence_number;
            break;
        default:
            summary->deleted_files++;
            summary->deleted_rows += f->record_count;
            break;
        }
    }
    if (!rc)
        rc = tn_avro_writer_finish(&w, out, out_len, err);
    else
        tn_avro_writer_release(&w);
    if (!rc) {
        summary->spec_id = info->spec->spec_id;
        summary->content = info->content;
        summary->sequence_number = info->sequence_number;
        summary->min_sequence_number = min_seq == INT64_MAX ? info->sequence_number : min_seq;
        summary->added_snapshot_id = info->snapshot_id;
        summarise_partitions(info, entries, n, summary);
    }
    free(schema_json);
    free(table_schema);
    tn_buf_release(&spec_fields);
    free(types_storage);
    free(ptypes);
    return rc;
}

/*---- Scan planning ----*/

int tn_partition_equal(const struct tn_data_file *a, const struct tn_data_file *b)
{
    if (a->npartition != b->npartition)
        return 0;
    for (size_t i = 0; i < a->npartition; i++) {
        const struct tn_pvalue *x = &a->partition[i], *y = &b->partition[i];
        if (x->is_null != y->is_null)
            return 0;
        if (x->is_null)
            continue;
        if (x->bytes.p || y->bytes.p) {
            if (x->bytes.n != y->bytes.n || memcmp(x->bytes.p, y->bytes.p, x->bytes.n) != 0)
                return 0;
        } else if (x->kind == TN_AVRO_FLOAT || x->kind == TN_AVRO_DOUBLE) {
            if (memcmp(&x->d, &y->d, sizeof(double)) != 0)
                return 0;
        } else if (x->i != y->i) {
            return 0;
        }
    }
    return 1;
}

int tn_delete_applies(const struct tn_manifest_entry *del, const struct tn_spec *del_spec,
                      const struct tn_manifest_entry *data)
{
    int same_partition =
        del->spec_id == data->spec_id && tn_partition_equal(&del->file, &data->file);

    if (del->file.content == 1) {
        if (del->file.referenced_data_file &&
            strcmp(del->file.referenced_data_file, data->file.file_path) != 0)
            return 0;
        return data->sequence_number <= del->sequence_number && same_partition;
    }
    if (del->file.content == 2)
        return data->sequence_number < del->sequence_number &&
               (same_partition || (del_spec && tn_spec_is_unpartitioned(del_spec)));
    return 0;
}
