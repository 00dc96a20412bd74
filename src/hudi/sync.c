/* sync.c - register a Hudi table and keep its Iceberg translation current.
 *
 * The translation replays the timeline: per file group (partition path, file id) the latest base
 * file written by a completed commit, deltacommit or replacecommit, minus the file groups a
 * completed replacecommit replaced; cleans, rollbacks and instants that never completed change
 * nothing. Each completed data instant not yet translated becomes one Iceberg snapshot of main
 * whose data files are the live file slices: a slice without log blocks is its Hudi base file,
 * read in place by name mapping; a slice with log blocks (Merge-on-Read) is merged once -- base
 * rows, then the log blocks of completed instants after the base in instant order, an Avro or
 * Parquet data block upserting by _hoodie_record_key, a delete block removing keys -- into a
 * Parquet file tarn writes in the table's own folder. A Merge-on-Read table also gets a snapshot
 * of branch "read_optimized" per instant (base files only). The snapshot summary names the
 * instant (hudi-instant) and its timestamp is the instant time, so AT (VERSION => 'instant')
 * and AT (TIMESTAMP => ...) travel the Hudi timeline. When Hudi archived the oldest instants, the
 * files older than the first active instant count as committed (as in Hudi's file-system view):
 * they are listed from storage, minus the file groups archived replacecommits replaced
 * (archive.c), and make one snapshot before the active instants. Everything commits through
 * tn__commit. */
#include "hudi/hudi_int.h"

#include "avro/avro.h"
#include "iceberg/parquet.h"
#include "table/table_int.h"

#include <string.h>

#define LOG_MAX_BYTES (1024L * 1024 * 1024)

struct group {
    char *partition, *file_id;
    char *base; /* path relative to the table, NULL when the group has only logs */
    char base_instant[32];
    int64_t base_records, base_size;
    json_t *logs; /* relative log paths, in the order first written */
    int replaced;
};

struct parsed_log {
    struct tn_buf data;
    struct tn_hudi_block *blocks;
    size_t n;
};

/* A log block that applies to a file slice, with what orders it. */
struct block_ref {
    const struct tn_hudi_block *b;
    size_t file, index;
};

struct merged {
    char *key;
    struct tn_data_file file;
};

struct sync {
    struct tn_warehouse *wh;
    struct tn_table view; /* the table as the commit stages it */
    struct tn__hudi_table h;
    struct tn__hudi_instant *inst;
    size_t ninst;
    json_t *completed; /* completed data instants (object used as a set) */
    struct group *g;
    size_t ng, capg;
    json_t *gindex; /* "partition\x1ffileId" -> index in g */
    struct parsed_log *logs;
    size_t nlogs, caplogs;
    json_t *lindex; /* relative log path -> index in logs */
    struct merged *merged;
    size_t nmerged, capmerged;
    struct tn_session *session;
    struct tn__files *files;
    struct tn_err *err;
    char first[32]; /* the first active data instant when Hudi archived older ones, else "" */
};

static int ts_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = strncmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

const char *tn_hudi_location(const struct tn_table *t)
{
    return t && t->meta
               ? json_string_value(json_object_get(json_object_get(t->meta->root, "properties"),
                                                   TN_HUDI_LOCATION_PROPERTY))
               : NULL;
}

int tn_hudi_detect(struct tn_warehouse *wh, const char *location)
{
    char *uri = tn_asprintf("%s/.hoodie/hoodie.properties", location);
    struct tn_err ignored;
    int64_t size;
    int found = tn_storage_size(wh->storage, uri, &size, &ignored) == 0;

    free(uri);
    return found;
}

/*---- Replaying the timeline ----*/

static struct group *group_get(struct sync *s, const char *partition, const char *file_id)
{
    char *key = tn_asprintf("%s\x1f%s", partition, file_id);
    json_t *ix = json_object_get(s->gindex, key);
    struct group *g;

    if (ix) {
        free(key);
        return &s->g[json_integer_value(ix)];
    }
    if (s->ng == s->capg) {
        s->capg = s->capg ? 2 * s->capg : 16;
        s->g = tn_realloc(s->g, s->capg * sizeof(*s->g));
    }
    g = &s->g[s->ng];
    memset(g, 0, sizeof(*g));
    g->partition = tn_strdup(partition);
    g->file_id = tn_strdup(file_id);
    g->logs = json_array();
    json_object_set_new(s->gindex, key, json_integer((json_int_t)s->ng++));
    free(key);
    return g;
}

/* A relative path from commit metadata: no absolute paths, no "..", no empty segments. */
static int path_ok(const char *p)
{
    const char *seg = p;

    if (!*p || *p == '/' || strstr(p, "://") || strchr(p, '\\'))
        return 0;
    for (;;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || (len == 2 && seg[0] == '.' && seg[1] == '.') || (len == 1 && seg[0] == '.'))
            return 0;
        if (!seg[len])
            return 1;
        seg += len + 1;
    }
}

static int64_t stat_int(json_t *stat, const char *key)
{
    json_t *v = json_object_get(stat, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Apply one completed data instant's commit metadata to the file groups. */
static int apply_instant(struct sync *s, const struct tn__hudi_instant *in, json_t *meta)
{
    json_t *parts = json_object_get(meta, "partitionToWriteStats"), *stats, *stat;
    json_t *replaced = json_object_get(meta, "partitionToReplaceFileIds"), *ids, *id;
    const char *partition;
    size_t i;

    json_object_foreach(parts, partition, stats)
    {
        json_array_foreach(stats, i, stat)
        {
            const char *path = json_string_value(json_object_get(stat, "path"));
            const char *file_id = json_string_value(json_object_get(stat, "fileId"));
            const char *name;
            struct group *g;
            if (!path || !file_id)
                continue;
            if (!path_ok(path))
                return tn_fail(s->err, TN_EINPUT,
                               "hudi instant %s names file '%s', which is not a path inside the "
                               "table",
                               in->ts, path);
            name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
            g = group_get(s, partition, file_id);
            g->replaced = 0;
            if (name[0] == '.' && strstr(name, ".log.")) {
                size_t k;
                json_t *e;
                int seen = 0;
                json_array_foreach(g->logs, k, e) seen |= strcmp(json_string_value(e), path) == 0;
                if (!seen)
                    json_array_append_new(g->logs, json_string(path));
            } else if (strlen(name) > 8 && strcmp(name + strlen(name) - 8, ".parquet") == 0) {
                free(g->base);
                g->base = tn_strdup(path);
                snprintf(g->base_instant, sizeof(g->base_instant), "%s", in->ts);
                g->base_records = stat_int(stat, "numWrites");
                g->base_size = stat_int(stat, "fileSizeInBytes");
            } else if (strcmp(path, "null") != 0) {
                return tn_fail(s->err, TN_EUNPROCESSABLE,
                               "hudi instant %s wrote '%s', which is neither a Parquet base file "
                               "nor a log file; tarn reads Parquet base files only",
                               in->ts, path);
            }
        }
    }
    json_object_foreach(replaced, partition, ids)
    {
        json_array_foreach(ids, i, id)
        {
            if (json_is_string(id))
                group_get(s, partition, json_string_value(id))->replaced = 1;
        }
    }
    return 0;
}

/*---- What archived instants wrote ----*/

/* The path of listed file "uri" relative to the table, or NULL when it is not inside it. */
static const char *relative_path(const struct sync *s, const char *uri)
{
    size_t n = strlen(s->h.location);

    if (strncmp(uri, s->h.location, n) == 0 && uri[n] == '/')
        return uri + n + 1;
    if (!strstr(s->h.location, "://") && strncmp(uri, "file://", 7) == 0 &&
        strncmp(uri + 7, s->h.location, n) == 0 && uri[7 + n] == '/')
        return uri + 7 + n + 1;
    return NULL;
}

/* Split a data file name into file id and instant: base file <fileId>_<token>_<instant>.parquet,
 * log file .<fileId>_<instant>.log.<version>_<token>; 0 when it is neither. */
static int data_file_name(const char *name, char *file_id, size_t idcap, char instant[32],
                          int *is_log)
{
    const char *us, *end;
    size_t n = strlen(name), idlen;

    *is_log = name[0] == '.';
    if (*is_log) {
        name++;
        end = strstr(name, ".log.");
        us = strchr(name, '_');
        if (!end || !us || us > end)
            return 0;
        idlen = (size_t)(us - name);
        us++;
    } else {
        const char *last;
        if (n <= 8 || strcmp(name + n - 8, ".parquet") != 0)
            return 0;
        end = name + n - 8;
        us = strchr(name, '_');
        last = us;
        for (const char *p = name; p < end; p++)
            if (*p == '_')
                last = p;
        if (!us || last == us)
            return 0;
        idlen = (size_t)(us - name);
        us = last + 1;
    }
    if (end - us < 8 || end - us >= 32 || strspn(us, "0123456789") != (size_t)(end - us) ||
        idlen == 0 || idlen >= idcap)
        return 0;
    memcpy(file_id, name, idlen);
    file_id[idlen] = '\0';
    memcpy(instant, us, (size_t)(end - us));
    instant[end - us] = '\0';
    return 1;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tn_storage_entry *)a)->uri,
                  ((const struct tn_storage_entry *)b)->uri);
}

/* When Hudi archived instants: the file slices they wrote, as Hudi's file-system view finds them
 * -- every base and log file on storage whose instant precedes the first active instant counts
 * as committed -- minus the file groups archived replacecommits replaced. The active instants
 * are replayed on top. */
static int seed_archived(struct sync *s)
{
    struct tn_storage_entry *e = NULL;
    json_t *replaced = NULL;
    size_t ne = 0;
    char *prefix;
    int rc;

    if (!json_array_size(s->h.archived))
        return 0;
    rc = tn__hudi_first_active(s->wh, &s->h, s->first, s->err);
    if (!rc && !s->first[0])
        rc = tn_fail(s->err, TN_EUNPROCESSABLE,
                     "hudi table %s has archived instants but no commit on its active "
                     "timeline; tarn cannot tell what is committed",
                     s->h.location);
    if (!rc)
        rc = tn__hudi_archived_replaced(s->wh, &s->h, &s->session, &replaced, s->err);
    prefix = tn_asprintf("%s/", s->h.location);
    if (!rc)
        rc = tn_storage_list(s->wh->storage, prefix, &e, &ne, s->err);
    free(prefix);
    if (!rc && ne) /* log files in name order: the order their versions were written */
        qsort(e, ne, sizeof(*e), entry_cmp);
    for (size_t i = 0; !rc && i < ne; i++) {
        const char *rel = relative_path(s, e[i].uri), *name;
        char file_id[128], instant[32], *partition;
        struct group *g;
        int is_log;
        if (!rel || strncmp(rel, ".hoodie/", 8) == 0 || !path_ok(rel))
            continue;
        name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        if (!data_file_name(name, file_id, sizeof(file_id), instant, &is_log) ||
            ts_cmp(instant, s->first) >= 0)
            continue;
        partition = tn_strndup(rel, name > rel ? (size_t)(name - rel - 1) : 0);
        g = group_get(s, partition, file_id);
        free(partition);
        if (is_log) {
            json_array_append_new(g->logs, json_string(rel));
        } else if (!g->base || ts_cmp(instant, g->base_instant) > 0) {
            struct tn_parquet_footer pf;
            char *local = NULL;
            rc = tn_storage_local_path(s->wh->storage, e[i].uri, &local, s->err);
            if (!rc)
                rc = tn_parquet_footer_read(local, &pf, s->err);
            free(local);
            if (rc)
                break;
            free(g->base);
            g->base = tn_strdup(rel);
            snprintf(g->base_instant, sizeof(g->base_instant), "%s", instant);
            g->base_records = pf.num_rows;
            g->base_size = e[i].size;
            tn_parquet_footer_release(&pf);
        }
    }
    for (size_t i = 0; !rc && i < s->ng; i++) {
        char *key = tn_asprintf("%s\x1f%s", s->g[i].partition, s->g[i].file_id);
        s->g[i].replaced = json_object_get(replaced, key) != NULL;
        free(key);
    }
    tn_storage_entries_free(e, ne);
    json_decref(replaced);
    return rc;
}

/*---- Log blocks ----*/

static int log_get(struct sync *s, const char *path, struct parsed_log **out)
{
    json_t *ix = json_object_get(s->lindex, path);
    struct parsed_log *l;
    char *uri;
    int rc;

    if (ix) {
        *out = &s->logs[json_integer_value(ix)];
        return 0;
    }
    if (s->nlogs == s->caplogs) {
        s->caplogs = s->caplogs ? 2 * s->caplogs : 8;
        s->logs = tn_realloc(s->logs, s->caplogs * sizeof(*s->logs));
    }
    l = &s->logs[s->nlogs];
    memset(l, 0, sizeof(*l));
    l->data = (struct tn_buf)TN_BUF_INIT(LOG_MAX_BYTES);
    uri = tn_asprintf("%s/%s", s->h.location, path);
    rc = tn_storage_read(s->wh->storage, uri, &l->data, s->err);
    if (!rc)
        rc = tn_hudi_log_parse(l->data.buf, l->data.len, &l->blocks, &l->n, s->err);
    if (rc) {
        tn_err_prefix(s->err, "hudi log file %s: ", uri);
        tn_buf_release(&l->data);
        free(uri);
        return rc;
    }
    free(uri);
    json_object_set_new(s->lindex, path, json_integer((json_int_t)s->nlogs++));
    *out = l;
    return 0;
}

static int block_ref_cmp(const void *a, const void *b)
{
    const struct block_ref *x = a, *y = b;
    int c = ts_cmp(x->b->instant, y->b->instant);

    if (c)
        return c;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Whether the block of instant "ts" counts as committed: its instant completed, or it precedes
 * the active timeline (archived). */
static int block_committed(const struct sync *s, const char *ts)
{
    return json_object_get(s->completed, ts) != NULL ||
           (s->first[0] && ts[0] && ts_cmp(ts, s->first) < 0);
}

/* The log blocks of group "g" that a snapshot as of "asof" (before "asof" when "strict") merges,
 * in order (*out: *n). */
static int slice_blocks(struct sync *s, const struct group *g, const char *asof, int strict,
                        struct block_ref **out, size_t *n)
{
    struct block_ref *v = NULL;
    json_t *rolled_back = json_object(), *e;
    size_t nv = 0, cap = 0, k;
    int rc = 0;

    *out = NULL;
    *n = 0;
    for (int pass = 0; !rc && pass < 2; pass++) {
        json_array_foreach(g->logs, k, e)
        {
            struct parsed_log *l = NULL;
            rc = log_get(s, json_string_value(e), &l);
            if (rc)
                break;
            for (size_t i = 0; i < l->n; i++) {
                const struct tn_hudi_block *b = &l->blocks[i];
                int done = block_committed(s, b->instant);
                int after = ts_cmp(b->instant, asof) > (strict ? -1 : 0);
                if (pass == 0) { /* rollback command blocks first */
                    if (b->type == TN_HUDI_BLOCK_COMMAND && b->command == 0 && b->target[0] &&
                        done && !after)
                        json_object_set_new(rolled_back, b->target, json_true());
                    continue;
                }
                if (b->type == TN_HUDI_BLOCK_COMMAND || !done || !b->instant[0] || after ||
                    (g->base && ts_cmp(b->instant, g->base_instant) <= 0) ||
                    json_object_get(rolled_back, b->instant))
                    continue;
                if (b->type != TN_HUDI_BLOCK_AVRO && b->type != TN_HUDI_BLOCK_PARQUET &&
                    b->type != TN_HUDI_BLOCK_DELETE) {
                    rc = tn_fail(s->err, TN_EUNPROCESSABLE,
                                 "hudi log file %s has a block of type %d (instant %s); tarn "
                                 "reads Avro, Parquet and delete blocks",
                                 json_string_value(e), b->type, b->instant);
                    break;
                }
                if (nv == cap) {
                    cap = cap ? 2 * cap : 8;
                    v = tn_realloc(v, cap * sizeof(*v));
                }
                v[nv++] = (struct block_ref){b, k, i};
            }
        }
    }
    json_decref(rolled_back);
    if (rc) {
        free(v);
        return rc;
    }
    if (nv)
        qsort(v, nv, sizeof(*v), block_ref_cmp);
    *out = v;
    *n = nv;
    return 0;
}

/*---- Merging a file slice ----*/

/* A temporary file in the table's folder holding "data"; *local is where DuckDB reads it. */
static int temp_file(struct sync *s, const char *suffix, const void *data, size_t len,
                     json_t *temps, char **local)
{
    char uuid[37];
    char *uri;
    int rc;

    tn_uuid4(uuid);
    uri = tn_asprintf("%s/hudi-tmp/%s%s", s->view.meta->location, uuid, suffix);
    rc = tn_storage_write(s->wh->storage, uri, data, len, s->err);
    if (!rc) {
        json_array_append_new(temps, json_string(uri));
        rc = tn_storage_local_path(s->wh->storage, uri, local, s->err);
    }
    free(uri);
    return rc;
}

/* Append "SELECT CAST(col AS type) AS col, ..." of the table's columns that "have" (object of
 * names, or NULL: all) holds, plus the rank and delete flag; rank -1 selects NULLs (the empty
 * source that gives the union every column). */
static int select_columns(struct sync *s, json_t *have, int rank, int del, struct tn_buf *sql)
{
    const struct tn_schema *schema = tn_metadata_current_schema(s->view.meta);
    int rc = 0;

    tn_buf_addstr(sql, "SELECT ", NULL);
    for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        if (have && !json_object_get(have, f->name))
            continue;
        tn_buf_addstr(sql, "CAST(", NULL);
        if (rank < 0)
            tn_buf_addstr(sql, "NULL", NULL);
        else
            tn_sql_ident(sql, f->name);
        tn_buf_addstr(sql, " AS ", NULL);
        rc = tn_type_duckdb(f->type, sql, s->err);
        tn_buf_addstr(sql, ") AS ", NULL);
        tn_sql_ident(sql, f->name);
        tn_buf_addstr(sql, ", ", NULL);
    }
    tn_buf_addf(sql, NULL, "%d AS __tn_rank, %s AS __tn_del FROM ", rank, del ? "true" : "false");
    return rc;
}

/* The column names of the Parquet file at local "path", as an object used as a set. */
static int parquet_columns(struct sync *s, const char *path, json_t **out)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    tn_buf_addstr(&q, "DESCRIBE SELECT * FROM read_parquet(", NULL);
    tn_sql_string(&q, path);
    tn_buf_addstr(&q, ")", NULL);
    rc = tn_engine_rows(s->session, q.buf, 100000, &r, s->err);
    tn_buf_release(&q);
    if (rc)
        return rc;
    *out = json_object();
    for (size_t i = 0; i < r->nrows; i++)
        if (tn_rows_get(r, i, 0))
            json_object_set_new(*out, tn_rows_get(r, i, 0), json_true());
    tn_rows_free(r);
    return 0;
}

static int add_parquet_source(struct sync *s, const char *path, int rank, struct tn_buf *sql)
{
    json_t *have = NULL;
    int rc = parquet_columns(s, path, &have);

    if (!rc)
        rc = select_columns(s, have, rank, 0, sql);
    if (!rc) {
        tn_buf_addstr(sql, "read_parquet(", NULL);
        tn_sql_string(sql, path);
        tn_buf_addstr(sql, ")", NULL);
    }
    json_decref(have);
    return rc;
}

/* read_json of a newline-delimited file with the table's columns that "have" holds, typed. */
static int add_json_source(struct sync *s, const char *path, json_t *have, int rank, int del,
                           struct tn_buf *sql)
{
    const struct tn_schema *schema = tn_metadata_current_schema(s->view.meta);
    int rc = select_columns(s, have, rank, del, sql);
    int first = 1;

    tn_buf_addstr(sql, "read_json(", NULL);
    tn_sql_string(sql, path);
    tn_buf_addstr(sql, ", format = 'newline_delimited', columns = {", NULL);
    for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        struct tn_buf type = TN_BUF_INIT(TN_CAP_SQL);
        if (!json_object_get(have, f->name))
            continue;
        rc = tn_type_duckdb(f->type, &type, s->err);
        if (!rc) {
            tn_buf_addstr(sql, first ? "" : ", ", NULL);
            tn_sql_string(sql, f->name);
            tn_buf_addstr(sql, ": ", NULL);
            tn_sql_string(sql, type.buf);
            first = 0;
        }
        tn_buf_release(&type);
    }
    tn_buf_addstr(sql, "})", NULL);
    return rc;
}

/* Decode an Avro data block into newline-delimited JSON; "have" gets the field names. */
static int avro_block_json(struct sync *s, const struct tn_hudi_block *b, struct tn_buf *out,
                           json_t *have)
{
    const void **recs = NULL;
    size_t *lens = NULL, n = 0;
    struct tn_avro_file *f = NULL;
    int rc;

    if (!b->schema)
        return tn_fail(s->err, TN_EINPUT, "hudi log: an Avro data block (instant %s) has no schema",
                       b->instant);
    rc = tn_hudi_avro_records(b, &recs, &lens, &n, s->err);
    if (!rc)
        rc = tn_avro_decode_records(b->schema, b->schema_len, recs, lens, n, &f, s->err);
    if (!rc && f->schema->type != TN_AVRO_RECORD)
        rc = tn_fail(s->err, TN_EINPUT, "hudi log: an Avro data block's schema is not a record");
    for (size_t i = 0; !rc && i < f->schema->nfields; i++)
        json_object_set_new(have, f->schema->fields[i].name, json_true());
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *j = tn_hudi_avro_json(&f->records[i]);
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        rc = tn_buf_addstr(out, text, s->err);
        if (!rc)
            rc = tn_buf_addstr(out, "\n", s->err);
        free(text);
        json_decref(j);
    }
    tn_avro_file_free(f);
    free(recs);
    free(lens);
    return rc;
}

/* Write the rows of "select_sql" as a new data file of the table named after "key". */
static int write_merged(struct sync *s, const char *key, const char *select_sql,
                        struct tn_data_file *file)
{
    char uuid[37];
    char *uri;
    int rc;

    tn_uuid4(uuid);
    uri = tn_asprintf("%s/data/hudi-%s-%s.parquet", s->view.meta->location, key, uuid);
    rc = tn__write_data_file_at(s->wh, s->session, &s->view, uri, select_sql, file, s->err);
    if (!rc) {
        char *resolved = tn_table_resolve(&s->view, file->file_path);
        tn__files_add(s->files, resolved);
        free(resolved);
    }
    return rc;
}

/* The ordering fields of the table's merge (tn__hudi_ordering_fields), each checked to be a
 * column of the table. */
static int ordering_fields(struct sync *s, json_t **out)
{
    const struct tn_schema *schema = tn_metadata_current_schema(s->view.meta);
    json_t *v, *f;
    size_t i;
    int rc = tn__hudi_ordering_fields(&s->h, &v, s->err);

    if (rc || !v) {
        *out = NULL;
        return rc;
    }
    json_array_foreach(v, i, f)
    {
        int found = 0;
        for (size_t k = 0; k < schema->root.nfields; k++)
            found |= strcmp(schema->root.fields[k].name, json_string_value(f)) == 0;
        if (!found) {
            rc = tn_fail(s->err, TN_EUNPROCESSABLE,
                         "hudi table %s orders its records by '%s', which is not a top-level "
                         "column of the table; tarn cannot merge its log files",
                         s->h.location, json_string_value(f));
            json_decref(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}

/* The start of the merge of a file slice: of each record key, the row of the latest source
 * (commit time), or the row with the largest ordering value, the latest source on a tie (event
 * time; a null ordering value is the smallest). A delete without an ordering value
 * (__tn_force) wins over every source before it, whatever their ordering values. */
static void merge_head(json_t *ordering, struct tn_buf *sql)
{
    json_t *f;
    size_t i;

    tn_buf_addstr(sql,
                  "SELECT * EXCLUDE (__tn_rank, __tn_del, __tn_rn, __tn_force, __tn_cut) FROM "
                  "(SELECT *, row_number() OVER (PARTITION BY \"_hoodie_record_key\" ORDER BY "
                  "__tn_force, ",
                  NULL);
    json_array_foreach(ordering, i, f)
    {
        tn_sql_ident(sql, json_string_value(f));
        tn_buf_addstr(sql, " DESC NULLS LAST, ", NULL);
    }
    tn_buf_addstr(sql,
                  "__tn_rank DESC) AS __tn_rn FROM (SELECT *, max(CASE WHEN __tn_force THEN "
                  "__tn_rank END) OVER (PARTITION BY \"_hoodie_record_key\") AS __tn_cut FROM "
                  "(SELECT *, ",
                  NULL);
    if (ordering) {
        tn_buf_addstr(sql, "__tn_del AND ", NULL);
        tn_sql_ident(sql, json_string_value(json_array_get(ordering, 0)));
        tn_buf_addstr(sql, " IS NULL", NULL);
    } else {
        tn_buf_addstr(sql, "false", NULL);
    }
    tn_buf_addstr(sql, " AS __tn_force FROM (", NULL);
}

/* The data file of group "g" merged with "blocks": one written before (by this or an earlier
 * translation) when the slice is the same, else a new one. */
static int merged_file(struct sync *s, const struct group *g, const struct block_ref *blocks,
                       size_t nb, const struct tn_data_file **out)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_buf rows = TN_BUF_INIT(LOG_MAX_BYTES);
    json_t *temps = json_array(), *e, *ordering = NULL;
    char *key = tn_asprintf("%s-%s-%s-%zu", g->file_id, g->base ? g->base_instant : "none",
                            blocks[nb - 1].b->instant, nb);
    struct merged *m;
    size_t k;
    int rc = 0;

    for (size_t i = 0; i < s->nmerged; i++)
        if (strcmp(s->merged[i].key, key) == 0) {
            *out = &s->merged[i].file;
            free(key);
            json_decref(temps);
            tn_buf_release(&sql);
            return 0;
        }
    if (!s->h.meta_fields)
        rc = tn_fail(s->err, TN_EUNPROCESSABLE,
                     "hudi table %s has log files but no _hoodie_record_key column "
                     "(hoodie.populate.meta.fields=false): tarn merges log records by that key",
                     s->h.location);
    if (!rc)
        rc = ordering_fields(s, &ordering);
    if (!rc && !s->session)
        rc = tn_session_open(s->wh->engine, &s->session, s->err);
    merge_head(ordering, &sql);
    if (!rc)
        rc = select_columns(s, NULL, -1, 0, &sql);
    tn_buf_addstr(&sql, "(SELECT 1) WHERE false", NULL);
    if (!rc && g->base) {
        char *uri = tn_asprintf("%s/%s", s->h.location, g->base), *local = NULL;
        rc = tn_storage_local_path(s->wh->storage, uri, &local, s->err);
        tn_buf_addstr(&sql, " UNION ALL BY NAME ", NULL);
        if (!rc)
            rc = add_parquet_source(s, local, 0, &sql);
        free(uri);
        free(local);
    }
    for (size_t i = 0; !rc && i < nb; i++) {
        const struct tn_hudi_block *b = blocks[i].b;
        char *local = NULL;
        json_t *have = json_object();
        tn_buf_reset(&rows);
        tn_buf_addstr(&sql, " UNION ALL BY NAME ", NULL);
        if (b->type == TN_HUDI_BLOCK_PARQUET) {
            rc = temp_file(s, ".parquet", b->content, b->content_len, temps, &local);
            if (!rc)
                rc = add_parquet_source(s, local, (int)i + 1, &sql);
        } else if (b->type == TN_HUDI_BLOCK_AVRO) {
            rc = avro_block_json(s, b, &rows, have);
            if (!rc)
                rc = temp_file(s, ".json", rows.buf ? rows.buf : "", rows.len, temps, &local);
            if (!rc)
                rc = add_json_source(s, local, have, (int)i + 1, 0, &sql);
        } else {
            json_t *keys = NULL, *values = NULL;
            const char *by = json_array_size(ordering) == 1
                                 ? json_string_value(json_array_get(ordering, 0))
                                 : NULL;
            size_t x;
            json_t *kv;
            rc = tn_hudi_delete_keys(b, &keys, &values, s->err);
            json_array_foreach(keys, x, kv)
            {
                json_t *row = json_pack("{s:O}", "_hoodie_record_key", kv);
                if (by && !json_is_null(json_array_get(values, x)))
                    json_object_set(row, by, json_array_get(values, x));
                char *text = json_dumps(row, JSON_COMPACT | JSON_ENSURE_ASCII);
                tn_buf_addstr(&rows, text, NULL);
                tn_buf_addstr(&rows, "\n", NULL);
                free(text);
                json_decref(row);
            }
            json_decref(keys);
            json_decref(values);
            json_object_set_new(have, "_hoodie_record_key", json_true());
            if (by)
                json_object_set_new(have, by, json_true());
            if (!rc)
                rc = temp_file(s, ".json", rows.buf ? rows.buf : "", rows.len, temps, &local);
            if (!rc)
                rc = add_json_source(s, local, have, (int)i + 1, 1, &sql);
        }
        json_decref(have);
        free(local);
    }
    tn_buf_addstr(&sql,
                  "))) WHERE __tn_cut IS NULL OR __tn_rank >= __tn_cut) WHERE __tn_rn = 1 AND "
                  "NOT __tn_del",
                  NULL);
    if (!rc) {
        if (s->nmerged == s->capmerged) {
            s->capmerged = s->capmerged ? 2 * s->capmerged : 8;
            s->merged = tn_realloc(s->merged, s->capmerged * sizeof(*s->merged));
        }
        m = &s->merged[s->nmerged];
        rc = write_merged(s, key, sql.buf, &m->file);
        if (!rc) {
            m->key = key;
            key = NULL;
            s->nmerged++;
            *out = &m->file;
        }
    }
    json_array_foreach(temps, k, e)
    {
        struct tn_err ignored;
        tn_storage_delete(s->wh->storage, json_string_value(e), &ignored);
    }
    if (rc)
        tn_err_prefix(s->err, "hudi file group %s: ", g->file_id);
    json_decref(temps);
    json_decref(ordering);
    tn_buf_release(&sql);
    tn_buf_release(&rows);
    free(key);
    return rc;
}

/* Files an earlier translation merged (data/hudi-<key>-<uuid>.parquet of the current
 * snapshots), so that an unchanged slice is not merged again. */
static int known_merged(struct sync *s, int64_t snapshot_id)
{
    struct tn_scan *scan = NULL;
    int rc;

    if (snapshot_id < 0)
        return 0;
    rc = tn_table_scan(s->wh, &s->view, snapshot_id, &scan, s->err);
    for (size_t i = 0; !rc && i < scan->ndata; i++) {
        const char *p = scan->data[i].file.file_path;
        const char *name = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        size_t n = strlen(name);
        if (strncmp(name, "hudi-", 5) != 0 || n <= 5 + 45)
            continue;
        if (s->nmerged == s->capmerged) {
            s->capmerged = s->capmerged ? 2 * s->capmerged : 8;
            s->merged = tn_realloc(s->merged, s->capmerged * sizeof(*s->merged));
        }
        s->merged[s->nmerged].key = tn_strndup(name + 5, n - 5 - 45);
        tn_data_file_copy(&s->merged[s->nmerged].file, &scan->data[i].file);
        s->nmerged++;
    }
    tn_scan_free(scan);
    return rc;
}

/*---- Snapshots ----*/

/* The summary value "key" of snapshot "id", or NULL. */
static const char *snapshot_value(const struct tn_metadata *m, int64_t id, const char *key)
{
    const struct tn_snapshot *sn = id >= 0 ? tn_metadata_snapshot(m, id) : NULL;
    return sn ? json_string_value(json_object_get(sn->summary, key)) : NULL;
}

static int64_t branch_head(const struct tn_metadata *m, const char *branch)
{
    const struct tn_ref *r = tn_metadata_ref(m, branch);
    return r ? r->snapshot_id : -1;
}

/* Add the snapshot of instant "in" (read-optimized when "ro") to "updates": a manifest of every
 * live file slice and its manifest list. "archived": the snapshot of what the archived instants
 * before "in" (the first active one) wrote, dated just before it. */
static int emit(struct sync *s, const struct tn__hudi_instant *in, int ro, int archived,
                int64_t *parent, int64_t *seq, json_t *updates)
{
    const struct tn_metadata *m = s->view.meta;
    struct tn_manifest_entry *entries = tn_calloc(s->ng + 1, sizeof(*entries));
    char **owned = tn_calloc(s->ng + 1, sizeof(char *));
    struct tn_manifest_file mf;
    struct tn_manifest_info info;
    char *data = NULL, *list_data = NULL, *list_path = NULL;
    size_t n = 0, len = 0, list_len = 0;
    int64_t id = tn_snapshot_id_new(), records = 0, added_row_ids = 0;
    json_t *summary = json_object();
    char uuid[37];
    int rc = 0;

    memset(&mf, 0, sizeof(mf));
    for (size_t i = 0; !rc && i < s->ng; i++) {
        const struct group *g = &s->g[i];
        struct block_ref *blocks = NULL;
        size_t nb = 0;
        if (g->replaced)
            continue;
        if (!ro)
            rc = slice_blocks(s, g, in->ts, archived, &blocks, &nb);
        if (!rc && nb) {
            const struct tn_data_file *f = NULL;
            rc = merged_file(s, g, blocks, nb, &f);
            if (!rc)
                entries[n].file = *f; /* shallow */
        } else if (!rc && g->base) {
            struct tn_data_file *f = &entries[n].file;
            f->content = 0;
            f->file_path = owned[n] = tn_asprintf("%s/%s", s->h.location, g->base);
            f->file_format = (char *)"PARQUET";
            f->record_count = g->base_records;
            f->file_size = g->base_size;
            f->sort_order_id = 0;
        } else {
            free(blocks);
            continue;
        }
        free(blocks);
        if (!rc) {
            entries[n].status = TN_ENTRY_ADDED;
            records += entries[n].file.record_count;
            n++;
        }
    }
    (*seq)++;
    if (!rc && n) {
        info.schema = tn_metadata_current_schema(m);
        info.spec = tn_metadata_spec(m, m->default_spec_id);
        info.content = 0;
        info.snapshot_id = id;
        info.sequence_number = *seq;
        info.format_version = m->format_version;
        rc = tn_manifest_write(&info, entries, n, &data, &len, &mf, s->err);
        if (!rc) {
            tn_uuid4(uuid);
            mf.path = tn_asprintf("%s/metadata/%s-m0.avro", m->location, uuid);
            mf.length = (int64_t)len;
            mf.sequence_number = mf.min_sequence_number = *seq;
            rc = tn__files_write(s->wh, &s->view, mf.path, data, len, s->files, s->err);
        }
    }
    if (!rc) {
        tn_uuid4(uuid);
        list_path =
            tn_asprintf("%s/metadata/snap-%lld-1-%s.avro", m->location, (long long)id, uuid);
        if (m->format_version >= 3)
            added_row_ids = tn_manifest_list_assign_row_ids(&mf, n ? 1 : 0, m->next_row_id);
        rc = tn_manifest_list_write(&mf, n ? 1 : 0, id, *parent, *seq, m->format_version,
                                    &list_data, &list_len, s->err);
    }
    if (!rc)
        rc = tn__files_write(s->wh, &s->view, list_path, list_data, list_len, s->files, s->err);
    if (!rc) {
        int64_t ms = tn__hudi_instant_ms(in->ts);
        struct tn_snapshot_new sn;
        char num[32];
        json_object_set_new(summary, "operation", json_string("overwrite"));
        json_object_set_new(summary,
                            archived ? TN_HUDI_ARCHIVED_KEY
                            : ro     ? TN_HUDI_RO_INSTANT_KEY
                                     : TN_HUDI_INSTANT_KEY,
                            json_string(in->ts));
        json_object_set_new(summary, "hudi-action",
                            json_string(archived ? "archived" : in->action));
        if (in->done[0] && !archived)
            json_object_set_new(summary, "hudi-completion-time", json_string(in->done));
        snprintf(num, sizeof(num), "%lld", (long long)records);
        json_object_set_new(summary, "total-records", json_string(num));
        snprintf(num, sizeof(num), "%zu", n);
        json_object_set_new(summary, "total-data-files", json_string(num));
        json_object_set_new(summary, "total-delete-files", json_string("0"));
        json_object_set_new(summary, "engine-name", json_string("tarn"));
        memset(&sn, 0, sizeof(sn));
        sn.id = id;
        sn.parent_id = *parent;
        sn.sequence_number = *seq;
        sn.timestamp_ms = ms >= 0 ? ms - archived : tn_now_ms();
        sn.schema_id = m->current_schema_id;
        sn.manifest_list = list_path;
        sn.summary = summary;
        sn.branch = ro ? TN_HUDI_RO_BRANCH : NULL;
        sn.has_row_lineage = m->format_version >= 3;
        sn.first_row_id = m->next_row_id;
        sn.added_rows = added_row_ids;
        tn_updates_add_snapshot(
            updates, &sn,
            ro ? json_object_get(json_object_get(m->root, "refs"), TN_HUDI_RO_BRANCH) : NULL);
        *parent = id;
    }
    for (size_t i = 0; i < s->ng + 1; i++)
        free(owned[i]);
    free(owned);
    free(entries);
    free(mf.path);
    free(mf.partitions);
    free(data);
    free(list_data);
    free(list_path);
    json_decref(summary);
    return rc;
}

static void sync_release(struct sync *s)
{
    for (size_t i = 0; i < s->ng; i++) {
        free(s->g[i].partition);
        free(s->g[i].file_id);
        free(s->g[i].base);
        json_decref(s->g[i].logs);
    }
    free(s->g);
    for (size_t i = 0; i < s->nlogs; i++) {
        tn_buf_release(&s->logs[i].data);
        free(s->logs[i].blocks);
    }
    free(s->logs);
    for (size_t i = 0; i < s->nmerged; i++) {
        free(s->merged[i].key);
        tn_data_file_release(&s->merged[i].file);
    }
    free(s->merged);
    json_decref(s->gindex);
    json_decref(s->lindex);
    json_decref(s->completed);
    tn__hudi_instants_free(s->inst, s->ninst);
    tn__hudi_table_release(&s->h);
    tn_session_close(s->session);
}

/*---- Schema evolution ----*/

/* Record in "ids" (id as tn__hudi_schema numbered it -> id the table gave it) the ids of type "a"
 * and of the same type "b" as the table numbered it. */
static void pair_ids(json_t *a, json_t *b, json_t *ids);

static void pair_id(json_t *a, json_t *b, const char *key, json_t *ids)
{
    char num[24];

    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(json_object_get(a, key)));
    json_object_set(ids, num, json_object_get(b, key));
}

static void pair_ids(json_t *a, json_t *b, json_t *ids)
{
    const char *kind = json_string_value(json_object_get(a, "type"));
    json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");

    if (!json_is_object(a) || !json_is_object(b) || !kind)
        return;
    if (strcmp(kind, "struct") == 0) {
        for (size_t i = 0; i < json_array_size(fa) && i < json_array_size(fb); i++) {
            pair_id(json_array_get(fa, i), json_array_get(fb, i), "id", ids);
            pair_ids(json_object_get(json_array_get(fa, i), "type"),
                     json_object_get(json_array_get(fb, i), "type"), ids);
        }
    } else if (strcmp(kind, "list") == 0) {
        pair_id(a, b, "element-id", ids);
        pair_ids(json_object_get(a, "element"), json_object_get(b, "element"), ids);
    } else if (strcmp(kind, "map") == 0) {
        pair_id(a, b, "key-id", ids);
        pair_id(a, b, "value-id", ids);
        pair_ids(json_object_get(a, "key"), json_object_get(b, "key"), ids);
        pair_ids(json_object_get(a, "value"), json_object_get(b, "value"), ids);
    }
}

/* Rewrite the field ids of name-mapping entries "entries" through "ids". */
static void remap_ids(json_t *entries, json_t *ids)
{
    size_t i;
    json_t *e;

    json_array_foreach(entries, i, e)
    {
        char num[24];
        snprintf(num, sizeof(num), "%lld",
                 (long long)json_integer_value(json_object_get(e, "field-id")));
        if (json_object_get(ids, num))
            json_object_set(e, "field-id", json_object_get(ids, num));
        remap_ids(json_object_get(e, "fields"), ids);
    }
}

static json_t *field_named(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        const char *have = json_string_value(json_object_get(f, "name"));
        if (have && name && strcmp(have, name) == 0)
            return f;
    }
    return NULL;
}

/* The schema of the latest completed data instant that records one, as Avro text, or NULL. */
static int latest_schema(struct sync *s, char **out)
{
    int rc = 0;

    *out = NULL;
    for (size_t i = s->ninst; !rc && !*out && i-- > 0;) {
        json_t *meta = NULL;
        const char *text;
        if (!tn__hudi_is_data_action(s->inst[i].action))
            continue;
        rc = tn__hudi_commit_metadata(s->wh, &s->h, &s->inst[i], &meta, s->err);
        text = json_string_value(json_object_get(json_object_get(meta, "extraMetadata"), "schema"));
        if (!rc && text && *text)
            *out = tn_strdup(text);
        json_decref(meta);
    }
    return rc;
}

/* The name-mapping entry of "entries" that maps "name", or NULL. */
static json_t *mapping_named(json_t *entries, const char *name)
{
    size_t i, k;
    json_t *e, *n;

    json_array_foreach(entries, i, e)
    {
        json_array_foreach(json_object_get(e, "names"), k, n)
        {
            if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
                return e;
        }
    }
    return NULL;
}

/* The struct under type "t" (through list elements and map values, the way a dotted column
 * path names their fields) and the index of the mapping entry that maps it (0 for a list's
 * element, 1 for a map's value, -1 for the struct itself); NULL when it is no struct. */
static json_t *struct_under(json_t *t, int *entry)
{
    const char *kind = json_string_value(json_object_get(t, "type"));

    *entry = -1;
    if (kind && strcmp(kind, "list") == 0) {
        *entry = 0;
        t = json_object_get(t, "element");
    } else if (kind && strcmp(kind, "map") == 0) {
        *entry = 1;
        t = json_object_get(t, "value");
    }
    kind = json_string_value(json_object_get(t, "type"));
    return kind && strcmp(kind, "struct") == 0 ? t : NULL;
}

/* The mapping entries of the struct under mapping entry "e" ("entry" as struct_under gave it). */
static json_t *mapping_fields(json_t *e, int entry)
{
    if (entry >= 0)
        e = json_array_get(json_object_get(e, "fields"), (size_t)entry);
    return json_object_get(e, "fields");
}

/* Collect into "added" the fields of Hudi struct fields "hf" (mapped by "hm") that the table's
 * struct fields "tf" (mapped by "tm") lack, at any depth of structs (also inside lists and
 * maps): {path, field, mapping, into} where "into" is the table's mapping array the new entry
 * joins. Fields whose mapping the table lacks are left alone. */
static void find_added(json_t *hf, json_t *hm, json_t *tf, json_t *tm, const char *prefix,
                       json_t *added)
{
    size_t i;
    json_t *f;

    json_array_foreach(hf, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *mine = field_named(tf, name), *hs, *ts, *he, *te;
        char *path;
        int hentry, tentry;
        if (!name || strchr(name, '.'))
            continue;
        path = tn_asprintf("%s%s", prefix, name);
        if (!mine) {
            json_array_append_new(added,
                                  json_pack("{s:s, s:O, s:O?, s:O}", "path", path, "field", f,
                                            "mapping", mapping_named(hm, name), "into", tm));
        } else {
            hs = struct_under(json_object_get(f, "type"), &hentry);
            ts = struct_under(json_object_get(mine, "type"), &tentry);
            he = mapping_named(hm, name);
            te = mapping_named(tm, name);
            if (hs && ts && hentry == tentry && he && te && mapping_fields(he, hentry) &&
                mapping_fields(te, tentry)) {
                char *sub = tn_asprintf("%s.", path);
                find_added(json_object_get(hs, "fields"), mapping_fields(he, hentry),
                           json_object_get(ts, "fields"), mapping_fields(te, tentry), sub, added);
                free(sub);
            }
        }
        free(path);
    }
}

/* The field at dotted "path" of struct fields "fields" (through list elements and map values),
 * or NULL. */
static json_t *field_at(json_t *fields, const char *path)
{
    const char *dot = strchr(path, '.');
    char *name = dot ? tn_strndup(path, (size_t)(dot - path)) : tn_strdup(path);
    json_t *f = field_named(fields, name), *st;
    int entry;

    free(name);
    if (!f || !dot)
        return f;
    st = struct_under(json_object_get(f, "type"), &entry);
    return st ? field_at(json_object_get(st, "fields"), dot + 1) : NULL;
}

/* Columns a Hudi commit added since the table's current schema, top-level or inside structs:
 * added to "updates" (a new schema, the name mapping that reads them) and *evolved is the
 * metadata with them (NULL when nothing was added). Older files lack them: their rows read NULL.
 * Columns Hudi dropped or retyped leave the schema as it is. */
static int evolve_schema(struct sync *s, json_t *updates, struct tn_metadata **evolved)
{
    const json_t *current = tn_metadata_current_schema(s->view.meta)->json;
    const char *text = json_string_value(json_object_get(
        json_object_get(s->view.meta->root, "properties"), "schema.name-mapping.default"));
    json_t *schema = NULL, *mapping = NULL, *added = json_array(), *ids = json_object();
    json_t *table_mapping = text ? json_loads(text, 0, NULL) : NULL;
    json_t *changes_json = json_array(), *a;
    struct tn_schema_change *changes = NULL;
    char *avro = NULL;
    size_t i, n = 0;
    int rc = latest_schema(s, &avro);

    *evolved = NULL;
    if (!json_is_array(table_mapping)) {
        json_decref(table_mapping);
        table_mapping = json_array();
    }
    if (!rc && avro)
        rc = tn__hudi_schema(avro, s->h.meta_fields, &schema, &mapping, s->err);
    if (!rc && schema)
        find_added(json_object_get(schema, "fields"), mapping,
                   json_object_get((json_t *)current, "fields"), table_mapping, "", added);
    if (!rc && json_array_size(added)) {
        changes = tn_calloc(json_array_size(added), sizeof(*changes));
        json_array_foreach(added, i, a)
        {
            changes[n].kind = TN_CHANGE_ADD;
            changes[n].column = json_string_value(json_object_get(a, "path"));
            changes[n].type = json_object_get(json_object_get(a, "field"), "type");
            n++;
        }
        rc = tn__evolve_updates(&s->view, changes, n, changes_json, s->err);
    }
    if (!rc && n) {
        /* the ids the table gave the new columns, then their name mapping */
        struct tn_metadata *probe = NULL;
        char *mapping_text;
        rc = tn_metadata_update(s->view.meta, NULL, changes_json, &probe, s->err);
        if (!rc) {
            json_t *fields = json_object_get(tn_metadata_current_schema(probe)->json, "fields");
            json_array_foreach(added, i, a)
            {
                json_t *f = json_object_get(a, "field");
                json_t *mine = field_at(fields, json_string_value(json_object_get(a, "path")));
                pair_id(f, mine, "id", ids);
                pair_ids(json_object_get(f, "type"), json_object_get(mine, "type"), ids);
            }
            tn_metadata_free(probe);
        }
        json_array_foreach(added, i, a)
        {
            json_t *e = json_object_get(a, "mapping");
            if (!json_is_object(e))
                continue;
            e = json_deep_copy(e);
            {
                json_t *one = json_pack("[o]", e);
                remap_ids(one, ids);
                json_array_extend(json_object_get(a, "into"), one);
                json_decref(one);
            }
        }
        mapping_text = json_dumps(table_mapping, JSON_COMPACT);
        tn_updates_set_property(changes_json, "schema.name-mapping.default", mapping_text);
        free(mapping_text);
        if (!rc)
            rc = tn_metadata_update(s->view.meta, NULL, changes_json, evolved, s->err);
        if (!rc)
            json_array_extend(updates, changes_json);
    }
    free(changes);
    free(avro);
    json_decref(schema);
    json_decref(mapping);
    json_decref(added);
    json_decref(ids);
    json_decref(table_mapping);
    json_decref(changes_json);
    return rc;
}

/* The stage of a translation (see commit.c): on the version it builds on, the snapshots of the
 * instants it has not translated yet. */
static int stage_sync(struct tn_warehouse *wh, const struct tn_table *base,
                      const struct tn_metadata *staged, void *ctx, json_t *updates,
                      struct tn__files *files, struct tn_err *err)
{
    const char *location = ctx;
    struct sync s;
    int64_t head = staged->current_snapshot_id, ro_head = branch_head(staged, TN_HUDI_RO_BRANCH);
    int64_t seq = staged->last_sequence_number;
    const char *last = snapshot_value(staged, head, TN_HUDI_INSTANT_KEY);
    const char *last_ro = snapshot_value(staged, ro_head, TN_HUDI_RO_INSTANT_KEY);
    struct tn_metadata *evolved = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    s.wh = wh;
    s.view = *base;
    s.view.meta = (struct tn_metadata *)staged; /* read only */
    s.files = files;
    s.err = err;
    s.gindex = json_object();
    s.lindex = json_object();
    s.completed = json_object();
    rc = tn__hudi_table_open(wh, location, &s.h, err);
    if (!rc)
        rc = tn__hudi_timeline(wh, &s.h, &s.inst, &s.ninst, err);
    if (!rc)
        rc = known_merged(&s, head);
    if (!rc)
        rc = seed_archived(&s);
    if (!rc)
        rc = evolve_schema(&s, updates, &evolved);
    if (evolved)
        s.view.meta = evolved;
    for (size_t i = 0; !rc && i < s.ninst; i++)
        if (tn__hudi_is_data_action(s.inst[i].action))
            json_object_set_new(s.completed, s.inst[i].ts, json_true());
    if (!rc && s.first[0]) { /* what the archived instants wrote, before the first active one */
        struct tn__hudi_instant first;
        memset(&first, 0, sizeof(first));
        snprintf(first.ts, sizeof(first.ts), "%s", s.first);
        if (!last || ts_cmp(last, s.first) < 0)
            rc = emit(&s, &first, 0, 1, &head, &seq, updates);
        if (!rc && s.h.mor && (!last_ro || ts_cmp(last_ro, s.first) < 0))
            rc = emit(&s, &first, 1, 1, &ro_head, &seq, updates);
    }
    for (size_t i = 0; !rc && i < s.ninst; i++) {
        json_t *meta = NULL;
        if (!tn__hudi_is_data_action(s.inst[i].action))
            continue;
        rc = tn__hudi_commit_metadata(wh, &s.h, &s.inst[i], &meta, err);
        if (!rc)
            rc = apply_instant(&s, &s.inst[i], meta);
        json_decref(meta);
        if (!rc && (!last || ts_cmp(s.inst[i].ts, last) > 0))
            rc = emit(&s, &s.inst[i], 0, 0, &head, &seq, updates);
        if (!rc && s.h.mor && (!last_ro || ts_cmp(s.inst[i].ts, last_ro) > 0))
            rc = emit(&s, &s.inst[i], 1, 0, &ro_head, &seq, updates);
    }
    sync_release(&s);
    if (evolved)
        tn_metadata_free(evolved);
    return rc;
}

/* The latest completed data instant of the table at "location", or "" (none). */
static int latest_instant(struct tn_warehouse *wh, const char *location, char out[32],
                          struct tn_err *err)
{
    struct tn__hudi_table h;
    struct tn__hudi_instant *v = NULL;
    size_t n = 0;
    int rc = tn__hudi_table_open(wh, location, &h, err);

    out[0] = '\0';
    if (!rc)
        rc = tn__hudi_timeline(wh, &h, &v, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (tn__hudi_is_data_action(v[i].action))
            snprintf(out, 32, "%s", v[i].ts);
    if (!rc && !out[0] && json_array_size(h.archived))
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "hudi table %s has archived instants but no completed commit on its active "
                     "timeline; tarn reads it once a commit completes",
                     h.location);
    tn__hudi_instants_free(v, n);
    tn__hudi_table_release(&h);
    return rc;
}

int tn_hudi_sync(struct tn_warehouse *wh, const struct tn_table *t, struct tn_table **out,
                 struct tn_err *err)
{
    const char *location = tn_hudi_location(t);
    const char *last = snapshot_value(t->meta, t->meta->current_snapshot_id, TN_HUDI_INSTANT_KEY);
    char latest[32];
    struct tn__change c;
    int rc;

    *out = NULL;
    if (!location)
        return 0;
    rc = latest_instant(wh, location, latest, err);
    if (rc || !latest[0] || (last && ts_cmp(last, latest) >= 0))
        return rc;
    memset(&c, 0, sizeof(c));
    c.ns = t->ns;
    c.name = t->name;
    c.base = t;
    c.stage = stage_sync;
    c.ctx = (void *)location;
    c.translating = 1;
    c.skip_if_unchanged = 1;
    c.out = out;
    rc = tn__commit(wh, &c, 1, err);
    if (rc)
        tn_err_prefix(err, "translating hudi table %s.%s: ", t->ns, t->name);
    return rc;
}

/*---- Registering ----*/

/* The Avro schema text of the table: the latest completed data instant's, else the create
 * schema from hoodie.properties (caller frees). */
static int table_schema(struct tn_warehouse *wh, const struct tn__hudi_table *h, char **out,
                        struct tn_err *err)
{
    struct tn__hudi_instant *v = NULL;
    size_t n = 0;
    int rc = tn__hudi_timeline(wh, h, &v, &n, err);

    *out = NULL;
    for (size_t i = n; !rc && !*out && i-- > 0;) {
        json_t *meta = NULL;
        const char *schema;
        if (!tn__hudi_is_data_action(v[i].action))
            continue;
        rc = tn__hudi_commit_metadata(wh, h, &v[i], &meta, err);
        schema =
            json_string_value(json_object_get(json_object_get(meta, "extraMetadata"), "schema"));
        if (!rc && schema && *schema)
            *out = tn_strdup(schema);
        json_decref(meta);
    }
    tn__hudi_instants_free(v, n);
    if (!rc && !*out) {
        const char *create =
            json_string_value(json_object_get(h->props, "hoodie.table.create.schema"));
        if (create && *create)
            *out = tn_strdup(create);
        else
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "hudi table %s has no schema: no commit records one and "
                         "hoodie.properties has no hoodie.table.create.schema",
                         h->location);
    }
    return rc;
}

int tn_hudi_register(struct tn_warehouse *wh, const char *ns, const char *name,
                     const char *location, struct tn_err *err)
{
    struct tn__hudi_table h;
    json_t *schema = NULL, *mapping = NULL, *props = NULL;
    char *avro = NULL, *mine = NULL, *a = NULL, *b = NULL, *mapping_text = NULL;
    struct tn_table *t = NULL;
    int rc = tn__hudi_table_open(wh, location, &h, err);

    if (!rc)
        rc = table_schema(wh, &h, &avro, err);
    if (!rc)
        rc = tn__hudi_schema(avro, h.meta_fields, &schema, &mapping, err);
    if (!rc) {
        /* tarn's folder for the translation must not hold the Hudi table, or the reverse */
        struct tn_err ignored;
        mine = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
        if (!tn_path_normalise(mine, &a, &ignored) &&
            !tn_path_normalise(h.location, &b, &ignored) &&
            (tn_path_within(a, b) || tn_path_within(b, a)))
            rc = tn_fail(err, TN_ECONFLICT,
                         "the Hudi table at %s overlaps %s, where tarn keeps the metadata of "
                         "%s.%s; register it under another name or namespace",
                         h.location, mine, ns, name);
    }
    if (!rc) {
        mapping_text = json_dumps(mapping, JSON_COMPACT);
        char version[16];
        snprintf(version, sizeof(version), "%d", h.version);
        props = json_pack("{s:s, s:s, s:s, s:s}", TN_HUDI_LOCATION_PROPERTY, h.location,
                          "schema.name-mapping.default", mapping_text, "tarn.hudi.table-type",
                          h.mor ? "MERGE_ON_READ" : "COPY_ON_WRITE", "tarn.hudi.table-version",
                          version);
        rc = tn_table_create(wh, ns, name, schema, props, NULL, err);
    }
    if (!rc) {
        rc = tn_table_load(wh, ns, name, &t, err); /* translates the timeline */
        if (rc) { /* nothing was translated: forget the table and its first metadata file */
            struct tn_err ignored;
            char *first = NULL;
            if (!tn_catalog_load(wh->catalog, ns, name, &first, &ignored) &&
                !tn_catalog_drop(wh->catalog, ns, name, &ignored))
                tn_storage_delete(wh->storage, first, &ignored);
            free(first);
        }
    }
    tn_table_free(t);
    json_decref(schema);
    json_decref(mapping);
    json_decref(props);
    free(avro);
    free(mine);
    free(a);
    free(b);
    free(mapping_text);
    tn__hudi_table_release(&h);
    return rc;
}
