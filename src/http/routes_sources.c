/* routes_sources.c - POST /ingest/{table} from a database instead of a file: the source is named
 * by the query string (?source=NAME&source_table=S.T&mode=incremental&cursor=C...) or by a body
 * of type application/vnd.tarn.source+json ({"source": NAME, "source_table": ..., ...}).
 *
 * NAME is one of the server's own sources (--source NAME=postgresql://...); a request can name a
 * connection string itself only when the server runs with --allow-sources, so that no request
 * can point the server at a host its operator did not choose. The spool goes to the server's
 * temporary directory, which DuckDB may read. */
#include "http/http.h"
#include "pg/pg.h"

#include <stdlib.h>
#include <string.h>

#define SOURCE_BODY_MAX (64 * 1024)
#define SOURCE_TYPE     "application/vnd.tarn.source+json"

int tn_route_is_source_ingest(const struct tn_http_req *req)
{
    const char *ct = tn_http_header(req, "Content-Type");

    return tn_http_param(req, "source") ||
           (ct && strncmp(ct, SOURCE_TYPE, strlen(SOURCE_TYPE)) == 0);
}

/* The request's source description: the JSON body, else the query string. */
static json_t *source_spec(const struct tn_http_req *req, struct tn_err *err)
{
    static const char *const keys[] = {"source", "source_table", "source_query", "mode",
                                       "cursor", "key",          "deletes",      "json_as"};
    json_t *spec;

    if (req->upload_bytes) {
        json_error_t jerr;
        if (req->upload_bytes > SOURCE_BODY_MAX) {
            tn_fail(err, TN_ETOOBIG, "a source description is at most 64 KiB");
            return NULL;
        }
        spec = json_load_file(req->upload_path, 0, &jerr);
        if (!json_is_object(spec)) {
            json_decref(spec);
            tn_fail(err, TN_EINPUT, "the body of type " SOURCE_TYPE " must be a JSON object: %s",
                    jerr.text);
            return NULL;
        }
        return spec;
    }
    spec = json_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = tn_http_param(req, keys[i]);
        if (v && strcmp(keys[i], "deletes") == 0)
            json_object_set_new(spec, keys[i],
                                json_boolean(strcmp(v, "true") == 0 || strcmp(v, "1") == 0));
        else if (v)
            json_object_set_new(spec, keys[i], json_string(v));
    }
    return spec;
}

/* The connection string for the source the request names. */
static const char *source_conninfo(const struct tn_http_req *req, const char *source,
                                   struct tn_err *err)
{
    const char *configured = json_string_value(json_object_get(req->opt->sources, source));

    if (configured)
        return configured;
    if (strncmp(source, "postgresql://", 13) == 0 || strncmp(source, "postgres://", 11) == 0) {
        if (req->opt->allow_sources)
            return source;
        tn_fail(err, TN_EFORBIDDEN,
                "this server reads only its own sources (tarn serve --source NAME=URL); name one "
                "of them, or start it with --allow-sources to take connection strings from "
                "requests");
        return NULL;
    }
    tn_fail(err, TN_EINPUT, "no source named '%.100s' (tarn serve --source NAME=URL)", source);
    return NULL;
}

int tn_route_ingest_source(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_pg_options o = {0};
    struct tn_pg_result res = {0};
    struct tn_session *s = NULL;
    json_t *spec = NULL;
    const char *source;
    int mode, rc;

    if (tn_ident_parse(req->arg ? req->arg : "", ns, name, err) || !(spec = source_spec(req, err)))
        return err->code;
    source = json_string_value(json_object_get(spec, "source"));
    mode = tn_pg_mode_parse(json_string_value(json_object_get(spec, "mode")));
    if (!source) {
        rc = tn_fail(err, TN_EINPUT, "name the source: \"source\": NAME");
    } else if (mode < 0) {
        rc = tn_fail(err, TN_EINPUT, "\"mode\" is full, append or incremental");
    } else if (!(o.conninfo = source_conninfo(req, source, err))) {
        rc = err->code;
    } else {
        o.source_table = json_string_value(json_object_get(spec, "source_table"));
        o.source_query = json_string_value(json_object_get(spec, "source_query"));
        o.cursor = json_string_value(json_object_get(spec, "cursor"));
        o.key = json_string_value(json_object_get(spec, "key"));
        o.deletes = json_is_true(json_object_get(spec, "deletes"));
        o.json_struct = json_is_string(json_object_get(spec, "json_as")) &&
                        strcmp(json_string_value(json_object_get(spec, "json_as")), "struct") == 0;
        o.mode = (enum tn_pg_mode)mode;
        o.spool_dir = tn_http_tmp_dir(req->srv);
        rc = tn_session_open(req->wh->engine, &s, err);
        if (!rc)
            rc = tn_pg_ingest(req->wh, s, ns, name, &o, &res, err);
        tn_session_close(s);
        if (!rc) {
            tn_http_count_rows(req->srv, res.rows_read);
            tn_http_count_commit(req->srv, &res.ingest.commit);
            tn_http_reply_json(out, 200, tn_pg_result_json(ns, name, &res));
            tn_pg_result_release(&res);
        }
    }
    json_decref(spec);
    return rc;
}
