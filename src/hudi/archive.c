/* archive.c - what a reader of the active timeline must learn from Hudi's archived timeline: the
 * file groups that archived replacecommits (insert-overwrite, clustering) replaced. Their files
 * may still be on storage (the clean that would delete them may be archived too, or never have
 * run), and without this list they would read as live next to the rows that replaced them.
 *
 * Table version 6 archives instants into Hudi log files .hoodie/archived/.commits_.archive.N_*
 * whose Avro data blocks hold HoodieArchivedMetaEntry records (actionType, actionState, and for a
 * replacecommit hoodieReplaceCommitMetadata). Versions 8 and 9 archive into the LSM timeline,
 * Parquet files in .hoodie/timeline/history/ with one HoodieLSMTimelineInstant row per instant
 * (instantTime, action, metadata = the completed instant file's bytes). */
#include "hudi/hudi_int.h"

#include "avro/avro.h"
#include "engine/engine.h"

#include <string.h>

#define ARCHIVE_MAX_BYTES (1024L * 1024 * 1024)

/* Add the replaced file ids of replace metadata "meta" (instant "ts") to "out". */
static int add_replaced(const char *location, const char *ts, json_t *meta, json_t *out,
                        struct tn_err *err)
{
    json_t *parts = json_object_get(meta, "partitionToReplaceFileIds"), *ids, *id;
    const char *partition;
    size_t i;

    if (!json_is_object(parts))
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s: the archived replacecommit %s does not say which file "
                       "groups it replaced (no partitionToReplaceFileIds); tarn cannot tell "
                       "them from live ones",
                       location, ts);
    json_object_foreach(parts, partition, ids)
    {
        json_array_foreach(ids, i, id)
        {
            char *key;
            if (!json_is_string(id))
                continue;
            key = tn_asprintf("%s\x1f%s", partition, json_string_value(id));
            json_object_set_new(out, key, json_true());
            free(key);
        }
    }
    return 0;
}

/* One HoodieArchivedMetaEntry (as JSON) of a version-6 archive. */
static int v6_entry(const char *location, json_t *entry, json_t *out, struct tn_err *err)
{
    const char *action = json_string_value(json_object_get(entry, "actionType"));
    const char *state = json_string_value(json_object_get(entry, "actionState"));
    const char *ts = json_string_value(json_object_get(entry, "commitTime"));

    if (!action || strcmp(action, "replacecommit") != 0 ||
        (state && strcmp(state, "COMPLETED") != 0))
        return 0;
    return add_replaced(location, ts ? ts : "(no commitTime)",
                        json_object_get(entry, "hoodieReplaceCommitMetadata"), out, err);
}

/* The entries of one version-6 archive file. */
static int v6_file(struct tn_warehouse *wh, const struct tn__hudi_table *h, const char *uri,
                   json_t *out, struct tn_err *err)
{
    const char *name = strrchr(uri, '/') ? strrchr(uri, '/') + 1 : uri;
    struct tn_buf buf = TN_BUF_INIT(ARCHIVE_MAX_BYTES);
    struct tn_hudi_block *blocks = NULL;
    size_t nb = 0;
    int rc;

    if (strncmp(name, ".commits_.archive.", 18) != 0)
        return tn_fail(err, TN_EUNPROCESSABLE,
                       "hudi table %s: %s is not an archive file tarn knows "
                       "(.commits_.archive.N_*)",
                       h->location, uri);
    rc = tn_storage_read(wh->storage, uri, &buf, err);
    if (!rc)
        rc = tn_hudi_log_parse(buf.buf, buf.len, &blocks, &nb, err);
    for (size_t i = 0; !rc && i < nb; i++) {
        const void **recs = NULL;
        size_t *lens = NULL, n = 0;
        struct tn_avro_file *f = NULL;
        if (blocks[i].type != TN_HUDI_BLOCK_AVRO) {
            rc = tn_fail(err, TN_EINPUT, "block %zu has type %d, not an Avro data block", i,
                         blocks[i].type);
            break;
        }
        if (!blocks[i].schema)
            rc = tn_fail(err, TN_EINPUT, "block %zu has no schema", i);
        if (!rc)
            rc = tn_hudi_avro_records(&blocks[i], &recs, &lens, &n, err);
        if (!rc)
            rc = tn_avro_decode_records(blocks[i].schema, blocks[i].schema_len, recs, lens, n, &f,
                                        err);
        for (size_t k = 0; !rc && k < n; k++) {
            json_t *entry = tn_hudi_avro_json(&f->records[k]);
            rc = v6_entry(h->location, entry, out, err);
            json_decref(entry);
        }
        tn_avro_file_free(f);
        free(recs);
        free(lens);
    }
    free(blocks);
    tn_buf_release(&buf);
    if (rc && rc != TN_EUNPROCESSABLE) {
        char *why = tn_strdup(err->msg);
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "hudi table %s: cannot read the archived timeline file %s (%s); tarn "
                     "needs it to know which file groups archived replacecommits replaced",
                     h->location, uri, why);
        free(why);
    }
    return rc;
}

/* Bytes from hex text (DuckDB's hex()); *out is freed by the caller. */
static int unhex(const char *hex, unsigned char **out, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2)
        return -1;
    *out = tn_malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = tn_hex_value(hex[2 * i]), lo = tn_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
        (*out)[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n / 2;
    return 0;
}

/* The replacecommits of the LSM timeline (versions 8 and 9). */
static int lsm_files(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                     struct tn_session **session, json_t *out, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    size_t i, nfiles = 0;
    json_t *uri;
    int rc = 0;

    tn_buf_addstr(&sql, "SELECT \"instantTime\", hex(\"metadata\") FROM read_parquet([", NULL);
    json_array_foreach(h->archived, i, uri)
    {
        const char *u = json_string_value(uri);
        size_t n = strlen(u);
        char *local = NULL;
        if (n < 8 || strcmp(u + n - 8, ".parquet") != 0)
            continue; /* the LSM manifest and version files */
        rc = tn_storage_local_path(wh->storage, u, &local, err);
        if (rc)
            break;
        tn_buf_addstr(&sql, nfiles++ ? ", " : "", NULL);
        tn_sql_string(&sql, local);
        free(local);
    }
    tn_buf_addstr(&sql,
                  "], union_by_name = true) WHERE \"action\" IN ('replacecommit', 'clustering') "
                  "ORDER BY 1",
                  NULL);
    if (!rc && nfiles && !*session)
        rc = tn_session_open(wh->engine, session, err);
    if (!rc && nfiles)
        rc = tn_engine_rows(*session, sql.buf, 10000000, &r, err);
    if (rc && nfiles) {
        char *why = tn_strdup(err->msg);
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "hudi table %s: cannot read the archived (LSM) timeline in "
                     ".hoodie/timeline/history/ (%s); tarn needs it to know which file groups "
                     "archived replacecommits replaced",
                     h->location, why);
        free(why);
    }
    for (size_t k = 0; !rc && r && k < r->nrows; k++) {
        const char *ts = tn_rows_get(r, k, 0), *hex = tn_rows_get(r, k, 1);
        unsigned char *bytes = NULL;
        size_t len = 0;
        json_t *meta = NULL;
        if (!hex || unhex(hex, &bytes, &len) || tn__hudi_metadata_parse(bytes, len, &meta, err))
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "hudi table %s: the archived replacecommit %s has no readable commit "
                         "metadata; tarn cannot tell the file groups it replaced from live ones",
                         h->location, ts ? ts : "?");
        else
            rc = add_replaced(h->location, ts ? ts : "?", meta, out, err);
        json_decref(meta);
        free(bytes);
    }
    tn_rows_free(r);
    tn_buf_release(&sql);
    return rc;
}

int tn__hudi_archived_replaced(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                               struct tn_session **session, json_t **out, struct tn_err *err)
{
    json_t *v = json_object(), *uri;
    size_t i;
    int rc = 0;

    if (h->layout == 2)
        rc = json_array_size(h->archived) ? lsm_files(wh, h, session, v, err) : 0;
    else
        json_array_foreach(h->archived, i, uri)
        {
            rc = v6_file(wh, h, json_string_value(uri), v, err);
            if (rc)
                break;
        }
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}
