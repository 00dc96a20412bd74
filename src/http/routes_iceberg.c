/* routes_iceberg.c - the Iceberg REST Catalog API under /iceberg/v1 (ICEBERG.md 7): config,
 * namespaces, tables, commits, multi-table transactions, metrics and the OAuth token endpoint.
 * It parses requests and shapes replies; the table changes live in table/rest_commit.c.
 *
 * Namespaces: each level passes tn_name_check; levels arrive joined by 0x1F (%1F in the path)
 * or as JSON arrays and are stored joined by '.' as the SQL catalog does ("a.b"). No prefix is
 * advertised; a leading path segment that is not a route name is taken as a prefix and ignored.
 *
 * Auth: with --token, a request carries that token or one issued by POST /v1/oauth/tokens
 * (kept in memory, valid for an hour; an expired one is answered 419). The token table is
 * guarded by a mutex; everything else is per request. */
#include "http/http.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_TTL_S    3600
#define TOKENS_MAX     1024
#define TOKEN_BODY_MAX (64 * 1024)
#define NS_LEVELS_MAX  8
#define SEGMENTS_MAX   8

/*---- Issued tokens ----*/

struct issued {
    char token[65];
    int64_t expires_ms;
};

static pthread_mutex_t tokens_lock = PTHREAD_MUTEX_INITIALIZER;
static struct issued tokens[TOKENS_MAX];
static size_t tokens_next;

static void token_issue(char out[65], int64_t ttl_s)
{
    unsigned char raw[32];
    static const char hex[] = "0123456789abcdef";

    tn_random_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[64] = '\0';
    pthread_mutex_lock(&tokens_lock);
    memcpy(tokens[tokens_next].token, out, 65);
    tokens[tokens_next].expires_ms = tn_now_ms() + ttl_s * 1000;
    tokens_next = (tokens_next + 1) % TOKENS_MAX;
    pthread_mutex_unlock(&tokens_lock);
}

/* 1: valid, 0: unknown, -1: expired. */
static int token_state(const char *tok)
{
    int state = 0;

    if (strlen(tok) != 64)
        return 0;
    pthread_mutex_lock(&tokens_lock);
    for (size_t i = 0; i < TOKENS_MAX && !state; i++) {
        if (tokens[i].token[0] && tn_secret_equal(tok, tokens[i].token))
            state = tokens[i].expires_ms > tn_now_ms() ? 1 : -1;
    }
    pthread_mutex_unlock(&tokens_lock);
    return state;
}

static char expired_marker;

/* Whether client credentials are good: the server's --client ID:SECRET, or any client id
 * with the server's --token as its secret. */
static int client_valid(const struct tn_http_options *o, const char *id, const char *secret)
{
    if (!secret)
        return 0;
    if (o->token && tn_secret_equal(secret, o->token))
        return 1;
    if (o->client && id) {
        const char *colon = strchr(o->client, ':');
        size_t n = (size_t)(colon - o->client);
        return strlen(id) == n && strncmp(id, o->client, n) == 0 &&
               tn_secret_equal(secret, colon + 1);
    }
    return 0;
}

int tn_route_iceberg_begin(struct tn_http_req *req, struct tn_err *err)
{
    const char *h;
    int state;

    if (!req->opt->token && !req->opt->client)
        return 0;
    h = tn_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return tn_fail(err, TN_EAUTH,
                       "this catalog requires a token: send 'Authorization: Bearer <token>' (the "
                       "server's --token, or one from POST /iceberg/v1/oauth/tokens)");
    if (req->opt->token && tn_secret_equal(h + 7, req->opt->token))
        return 0;
    state = token_state(h + 7);
    if (state == 1)
        return 0;
    if (state == -1) {
        req->state = &expired_marker; /* answered 419 by the handler */
        return 0;
    }
    return tn_fail(err, TN_EAUTH, "the bearer token is not valid for this catalog");
}

/*---- Replies ----*/

/* JSON that may hold ids beyond int64 marked by tn_json_parse. */
static void reply_big(struct tn_http_reply *out, unsigned int status, json_t *body)
{
    char *text = tn_json_dump(body);

    json_decref(body);
    tn_http_reply_text(out, status, "application/json", text, strlen(text));
}

static void reply_empty(struct tn_http_reply *out, unsigned int status)
{
    tn_http_reply_text(out, status, "application/json", tn_strdup(""), 0);
}

static void reply_error(struct tn_http_reply *out, unsigned int status, const char *type,
                        const char *msg)
{
    tn_http_reply_json(out, status,
                       json_pack("{s:{s:s, s:s, s:i}}", "error", "message", msg, "type", type,
                                 "code", (int)status));
}

/*---- Names ----*/

/* Check and join namespace levels (NULL-terminated "levels") into "out" ("a.b"). */
static int ns_join(const char *const *levels, size_t n, char out[TN_NAME_MAX + 1],
                   struct tn_err *err)
{
    size_t used = 0;

    if (n == 0)
        return tn_fail(err, TN_EINPUT, "a namespace needs at least one level");
    if (n > NS_LEVELS_MAX)
        return tn_fail(err, TN_EINPUT, "a namespace has at most %d levels", NS_LEVELS_MAX);
    for (size_t i = 0; i < n; i++) {
        char level[TN_NAME_MAX + 1];
        size_t len;
        if (tn_name_check("namespace", levels[i], level, err))
            return err->code;
        len = strlen(level);
        if (used + len + (i > 0) > TN_NAME_MAX)
            return tn_fail(err, TN_EINPUT, "the namespace is longer than %d characters",
                           TN_NAME_MAX);
        if (i > 0)
            out[used++] = '.';
        memcpy(out + used, level, len);
        used += len;
    }
    out[used] = '\0';
    return 0;
}

/* A namespace from the path (levels separated by 0x1F). */
int tn__iceberg_ns_from_path(const char *seg, char out[TN_NAME_MAX + 1], struct tn_err *err)
{
    char *copy = tn_strdup(seg);
    const char *levels[NS_LEVELS_MAX + 1];
    size_t n = 0;
    char *p = copy, *sep;
    int rc;

    for (;;) {
        sep = strchr(p, 0x1f);
        if (n == NS_LEVELS_MAX + 1)
            break;
        levels[n++] = p;
        if (!sep)
            break;
        *sep = '\0';
        p = sep + 1;
    }
    rc = ns_join(levels, n, out, err);
    free(copy);
    return rc;
}

static int ns_from_json(json_t *arr, char out[TN_NAME_MAX + 1], struct tn_err *err)
{
    const char *levels[NS_LEVELS_MAX + 1];
    size_t i, n = json_array_size(arr);
    json_t *v;

    if (!json_is_array(arr) || n > NS_LEVELS_MAX)
        return tn_fail(err, TN_EINPUT, "\"namespace\" must be an array of 1 to %d names",
                       NS_LEVELS_MAX);
    json_array_foreach(arr, i, v)
    {
        levels[i] = json_string_value(v);
        if (!levels[i])
            return tn_fail(err, TN_EINPUT, "namespace levels must be strings");
    }
    return ns_join(levels, n, out, err);
}

static json_t *ns_json(const char *ns)
{
    json_t *a = json_array();
    const char *p = ns, *dot;

    while ((dot = strchr(p, '.')) != NULL) {
        json_array_append_new(a, json_stringn(p, (size_t)(dot - p)));
        p = dot + 1;
    }
    json_array_append_new(a, json_string(p));
    return a;
}

/* {"namespace": [...], "name": "t"} */
static int ident_from_json(json_t *j, char ns[TN_NAME_MAX + 1], char name[TN_NAME_MAX + 1],
                           struct tn_err *err)
{
    const char *n = json_string_value(json_object_get(j, "name"));

    if (!json_is_object(j) || !n)
        return tn_fail(err, TN_EINPUT,
                       "a table identifier is {\"namespace\": [\"ns\"], \"name\": \"t\"}");
    if (ns_from_json(json_object_get(j, "namespace"), ns, err))
        return err->code;
    return tn_name_check("table", n, name, err);
}

static int ns_must_exist(struct tn_http_req *req, const char *ns, struct tn_err *err)
{
    int e = tn_catalog_namespace_exists(req->wh->catalog, ns, err);

    if (e < 0)
        return err->code ? err->code : TN_EINTERNAL;
    if (e == 0)
        return tn_fail(err, TN_ENONAMESPACE, "Namespace does not exist: %s", ns);
    return 0;
}

/* A missing table or view in a missing namespace is NoSuchNamespaceException. */
static int table_missing(struct tn_http_req *req, const char *ns, int rc, struct tn_err *err)
{
    struct tn_err e2 = {0};

    if ((rc == TN_ENOTABLE || rc == TN_ENOVIEW) && ns_must_exist(req, ns, &e2) == TN_ENONAMESPACE) {
        *err = e2;
        return TN_ENONAMESPACE;
    }
    return rc;
}

/* 204 when the table exists (HEAD, and the metrics reports we accept and drop), else its 404. */
static int table_exists_reply(struct tn_http_req *req, const char *ns, const char *name,
                              struct tn_http_reply *out, struct tn_err *err)
{
    char *loc = NULL;
    int rc = tn_catalog_load(req->wh->catalog, ns, name, &loc, err);

    free(loc);
    if (rc)
        return table_missing(req, ns, rc, err);
    reply_empty(out, 204);
    return 0;
}

static int flag_param(struct tn_http_req *req, const char *name)
{
    const char *v = tn_http_param(req, name);

    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/*---- Pagination: pageToken is an offset ----*/

struct page {
    size_t start, end;
    int paginate;
};

static int page_of(struct tn_http_req *req, size_t total, struct page *pg, struct tn_err *err)
{
    const char *tok = tn_http_param(req, "pageToken");
    const char *size = tn_http_param(req, "pageSize");
    int64_t off = 0, n = (int64_t)total;

    pg->paginate = tok != NULL || size != NULL;
    if (tok && *tok && (tn_parse_i64(tok, &off) || off < 0))
        return tn_fail(err, TN_EINPUT, "pageToken is not one this server issued");
    if (size && (tn_parse_i64(size, &n) || n < 1))
        return tn_fail(err, TN_EINPUT, "pageSize must be a positive number");
    pg->start = (size_t)off < total ? (size_t)off : total;
    pg->end = total - pg->start > (size_t)n ? pg->start + (size_t)n : total;
    return 0;
}

static void page_token(json_t *body, const struct page *pg, size_t total)
{
    if (!pg->paginate)
        return;
    if (pg->end < total)
        json_object_set_new(body, "next-page-token", json_sprintf("%zu", pg->end));
    else
        json_object_set_new(body, "next-page-token", json_null());
}

/*---- Config ----*/

static int do_config(struct tn_http_req *req, struct tn_http_reply *out)
{
    static const char *const endpoints[] = {
        "GET /v1/{prefix}/namespaces",
        "POST /v1/{prefix}/namespaces",
        "GET /v1/{prefix}/namespaces/{namespace}",
        "HEAD /v1/{prefix}/namespaces/{namespace}",
        "DELETE /v1/{prefix}/namespaces/{namespace}",
        "POST /v1/{prefix}/namespaces/{namespace}/properties",
        "GET /v1/{prefix}/namespaces/{namespace}/tables",
        "POST /v1/{prefix}/namespaces/{namespace}/tables",
        "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "POST /v1/{prefix}/namespaces/{namespace}/register",
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
        "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
        "POST /v1/{prefix}/tables/rename",
        "POST /v1/{prefix}/transactions/commit",
        "GET /v1/{prefix}/namespaces/{namespace}/views",
        "POST /v1/{prefix}/namespaces/{namespace}/views",
        "GET /v1/{prefix}/namespaces/{namespace}/views/{view}",
        "HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}",
        "POST /v1/{prefix}/namespaces/{namespace}/views/{view}",
        "DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}",
        "POST /v1/{prefix}/namespaces/{namespace}/register-view",
        "POST /v1/{prefix}/views/rename",
    };
    json_t *list = json_array();
    (void)req;

    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
        json_array_append_new(list, json_string(endpoints[i]));
    tn_http_reply_json(out, 200,
                       json_pack("{s:{}, s:{s:s}, s:o}", "defaults", "overrides",
                                 "namespace-separator", "%1F", "endpoints", list));
    return 0;
}

/*---- Namespaces ----*/

static int ns_list(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *parent_arg = tn_http_param(req, "parent");
    char parent[TN_NAME_MAX + 1] = "";
    char **all = NULL;
    size_t n = 0, plen = 0, i;
    json_t *seen, *names, *body;
    struct page pg;
    int rc, parent_found = 0;

    if (parent_arg && *parent_arg) {
        rc = tn__iceberg_ns_from_path(parent_arg, parent, err);
        if (rc)
            return rc;
        plen = strlen(parent);
    }
    rc = tn_catalog_list_namespaces(req->wh->catalog, &all, &n, err);
    if (rc)
        return rc;
    seen = json_object();
    names = json_array();
    for (i = 0; i < n; i++) {
        const char *s = all[i], *rest, *dot;
        if (plen) {
            if (strncmp(s, parent, plen) != 0 || (s[plen] != '.' && s[plen] != '\0'))
                continue;
            parent_found = 1;
            if (s[plen] == '\0')
                continue;
            rest = s + plen + 1;
        } else {
            rest = s;
        }
        dot = strchr(rest, '.');
        {
            char *level = dot ? tn_strndup(s, (size_t)(dot - s)) : tn_strdup(s);
            if (!json_object_get(seen, level)) {
                json_object_set_new(seen, level, json_true());
                json_array_append_new(names, ns_json(level));
            }
            free(level);
        }
    }
    tn_catalog_strings_free(all, n);
    json_decref(seen);
    if (plen && !parent_found) {
        json_decref(names);
        return tn_fail(err, TN_ENONAMESPACE, "Namespace does not exist: %s", parent);
    }
    rc = page_of(req, json_array_size(names), &pg, err);
    if (rc) {
        json_decref(names);
        return rc;
    }
    {
        json_t *slice = json_array();
        for (i = pg.start; i < pg.end; i++)
            json_array_append(slice, json_array_get(names, i));
        body = json_pack("{s:o}", "namespaces", slice);
        page_token(body, &pg, json_array_size(names));
    }
    json_decref(names);
    tn_http_reply_json(out, 200, body);
    return 0;
}

static int ns_create(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    json_t *props = json_object_get(req->json, "properties");
    char ns[TN_NAME_MAX + 1];
    const char **kv;
    const char *k;
    json_t *v;
    size_t n = 0;
    int rc;

    if (!req->json)
        return tn_fail(err, TN_EINPUT, "send {\"namespace\": [\"name\"], \"properties\": {}}");
    rc = ns_from_json(json_object_get(req->json, "namespace"), ns, err);
    if (rc)
        return rc;
    if (props && !json_is_null(props) && !json_is_object(props))
        return tn_fail(err, TN_EINPUT, "\"properties\" must be an object of strings");
    kv = tn_calloc(2 * json_object_size(props) + 1, sizeof(*kv));
    json_object_foreach(props, k, v)
    {
        if (!json_is_string(v)) {
            free(kv);
            return tn_fail(err, TN_EINPUT, "property \"%s\" must be a string", k);
        }
        kv[2 * n] = k;
        kv[2 * n + 1] = json_string_value(v);
        n++;
    }
    rc = tn_catalog_create_namespace_props(req->wh->catalog, ns, kv, n, err);
    free(kv);
    if (rc)
        return rc;
    tn_http_reply_json(out, 200,
                       json_pack("{s:o, s:o}", "namespace", ns_json(ns), "properties",
                                 json_is_object(props) ? json_incref(props) : json_object()));
    return 0;
}

static json_t *ns_properties(struct tn_http_req *req, const char *ns, struct tn_err *err)
{
    char **kv = NULL;
    size_t n = 0;
    json_t *props;

    if (tn_catalog_namespace_properties(req->wh->catalog, ns, &kv, &n, err))
        return NULL;
    props = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(props, kv[2 * i], json_string(kv[2 * i + 1]));
    tn_catalog_strings_free(kv, 2 * n);
    return props;
}

static int ns_update_properties(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                                struct tn_err *err)
{
    json_t *updates = json_object_get(req->json, "updates");
    json_t *removals = json_object_get(req->json, "removals");
    json_t *updated = json_array(), *removed = json_array(), *missing = json_array();
    json_t *v;
    const char *k;
    size_t i;
    int rc = ns_must_exist(req, ns, err);

    if (!rc && ((updates && !json_is_null(updates) && !json_is_object(updates)) ||
                (removals && !json_is_null(removals) && !json_is_array(removals))))
        rc = tn_fail(err, TN_EINPUT, "send {\"updates\": {...}, \"removals\": [...]}");
    json_array_foreach(removals, i, v)
    {
        if (rc)
            break;
        if (!json_is_string(v))
            rc = tn_fail(err, TN_EINPUT, "\"removals\" must be strings");
        else if (json_object_get(updates, json_string_value(v)))
            rc = tn_fail(err, TN_EUNPROCESSABLE, "property \"%s\" is both updated and removed",
                         json_string_value(v));
    }
    json_object_foreach(updates, k, v)
    {
        if (!rc && !json_is_string(v))
            rc = tn_fail(err, TN_EINPUT, "property \"%s\" must be a string", k);
    }
    json_array_foreach(removals, i, v)
    {
        int changed = 0;
        if (rc)
            break;
        rc = tn_catalog_set_namespace_property(req->wh->catalog, ns, json_string_value(v), NULL,
                                               &changed, err);
        json_array_append(changed ? removed : missing, v);
    }
    json_object_foreach(updates, k, v)
    {
        if (rc)
            break;
        rc = tn_catalog_set_namespace_property(req->wh->catalog, ns, k, json_string_value(v), NULL,
                                               err);
        json_array_append_new(updated, json_string(k));
    }
    /* a namespace whose last property went keeps existing */
    if (!rc && tn_catalog_namespace_exists(req->wh->catalog, ns, err) == 0)
        rc = tn_catalog_create_namespace(req->wh->catalog, ns, err);
    if (rc) {
        json_decref(updated);
        json_decref(removed);
        json_decref(missing);
        return rc;
    }
    tn_http_reply_json(
        out, 200,
        json_pack("{s:o, s:o, s:o}", "updated", updated, "removed", removed, "missing", missing));
    return 0;
}

static int do_namespace(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                        struct tn_err *err)
{
    const char *m = req->method;
    int rc;

    if (strcmp(m, "HEAD") == 0) {
        rc = ns_must_exist(req, ns, err);
        if (!rc)
            reply_empty(out, 204);
        return rc;
    }
    if (strcmp(m, "GET") == 0) {
        json_t *props = ns_properties(req, ns, err);
        if (!props)
            return err->code;
        tn_http_reply_json(out, 200,
                           json_pack("{s:o, s:o}", "namespace", ns_json(ns), "properties", props));
        return 0;
    }
    if (strcmp(m, "DELETE") == 0) {
        rc = tn_catalog_drop_namespace(req->wh->catalog, ns, err);
        if (!rc)
            reply_empty(out, 204);
        return rc;
    }
    return tn_fail(err, TN_EINPUT, "%s is not allowed on a namespace", m);
}

/*---- Tables ----*/

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The storage settings a client needs to read the table's files: the server's own S3
 * endpoint, region and path style; its credentials only with --vend-credentials. */
static json_t *s3_config(struct tn_http_req *req)
{
    json_t *c = json_object();
    const char *endpoint = NULL, *region = NULL, *key, *secret, *token;
    int path_style = 1;

    if (tn_storage_s3_settings(req->wh->storage, &endpoint, &region, &path_style))
        return c;
    if (endpoint)
        json_object_set_new(c, "s3.endpoint", json_string(endpoint));
    json_object_set_new(c, "s3.region", json_string(region ? region : "us-east-1"));
    json_object_set_new(c, "s3.path-style-access", json_string(path_style ? "true" : "false"));
    if (req->opt->vend_credentials &&
        !tn_storage_s3_credentials(req->wh->storage, &key, &secret, &token)) {
        json_object_set_new(c, "s3.access-key-id", json_string(key));
        json_object_set_new(c, "s3.secret-access-key", json_string(secret));
        if (token)
            json_object_set_new(c, "s3.session-token", json_string(token));
    }
    return c;
}

/* LoadTableResult; with "refs_only", only the snapshots some ref points at. */
static json_t *load_result(struct tn_http_req *req, const struct tn_table *t, int refs_only)
{
    json_t *meta = json_deep_copy(t->meta->root);

    if (refs_only) {
        json_t *snaps = json_object_get(meta, "snapshots");
        for (size_t i = json_array_size(snaps); i-- > 0;) {
            int64_t id;
            int keep = 0;
            if (tn_json_id(json_object_get(json_array_get(snaps, i), "snapshot-id"), &id))
                continue;
            for (size_t k = 0; k < t->meta->nrefs; k++)
                keep |= t->meta->refs[k].snapshot_id == id;
            if (!keep)
                json_array_remove(snaps, i);
        }
    }
    return json_pack("{s:s, s:o, s:o}", "metadata-location", t->metadata_location, "metadata", meta,
                     "config", s3_config(req));
}

static int table_load(struct tn_http_req *req, const char *ns, const char *name,
                      struct tn_http_reply *out, struct tn_err *err)
{
    const char *mode = tn_http_param(req, "snapshots");
    const char *inm = tn_http_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct tn_table *t = NULL;
    char etag[40];
    int refs_only = mode && strcmp(mode, "refs") == 0;
    int rc;

    if (mode && !refs_only && strcmp(mode, "all") != 0)
        return tn_fail(err, TN_EINPUT, "snapshots must be all or refs");
    rc = tn_table_load(req->wh, ns, name, &t, err);
    if (rc)
        return table_missing(req, ns, rc, err);
    snprintf(etag, sizeof(etag), "\"%016llx\"",
             (unsigned long long)fnv1a(refs_only ? "refs" : "all",
                                       fnv1a(t->metadata_location, 14695981039346656037ULL)));
    if (inm && strstr(inm, etag + 1) && strncmp(strstr(inm, etag + 1) - 1, etag, 1) == 0)
        reply_empty(out, 304);
    else
        reply_big(out, 200, load_result(req, t, refs_only));
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_ETAG, etag);
    tn_table_free(t);
    return 0;
}

static int table_create(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                        struct tn_err *err)
{
    const char *n = json_string_value(json_object_get(req->json, "name"));
    char name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    json_t *staged = NULL;
    int stage = json_is_true(json_object_get(req->json, "stage-create"));
    int rc;

    if (!n)
        return tn_fail(err, TN_EINPUT, "\"name\" is required");
    rc = tn_name_check("table", n, name, err);
    if (!rc)
        rc = ns_must_exist(req, ns, err);
    if (!rc)
        rc = tn_table_rest_create(req->wh, ns, name, req->json, stage, &staged, &t, err);
    if (rc)
        return rc;
    if (stage)
        reply_big(out, 200,
                  json_pack("{s:n, s:o, s:{}}", "metadata-location", "metadata", staged, "config"));
    else
        reply_big(out, 200, load_result(req, t, 0));
    tn_table_free(t);
    return 0;
}

static int table_commit(struct tn_http_req *req, const char *ns, const char *name,
                        struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc;

    if (!req->json)
        return tn_fail(err, TN_EINPUT,
                       "send a CommitTableRequest {\"requirements\": [...], "
                       "\"updates\": [...]}");
    rc = tn_table_rest_commit(req->wh, ns, name, json_object_get(req->json, "requirements"),
                              json_object_get(req->json, "updates"), &t, err);
    if (rc)
        return table_missing(req, ns, rc, err);
    reply_big(out, 200,
              json_pack("{s:s, s:O}", "metadata-location", t->metadata_location, "metadata",
                        t->meta->root));
    tn_table_free(t);
    return 0;
}

/* ListTablesResponse: the tables or views ("kind") of "ns", a page of them. */
static int list_identifiers(struct tn_http_req *req, enum tn_catalog_kind kind, const char *ns,
                            struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;
    struct page pg;
    json_t *ids, *body;
    int rc = ns_must_exist(req, ns, err);

    if (!rc)
        rc = tn_catalog_list_kind(req->wh->catalog, kind, ns, &e, &n, err);
    if (!rc)
        rc = page_of(req, n, &pg, err);
    if (rc) {
        tn_catalog_entries_free(e, n);
        return rc;
    }
    ids = json_array();
    for (size_t i = pg.start; i < pg.end; i++)
        json_array_append_new(
            ids, json_pack("{s:o, s:s}", "namespace", ns_json(e[i].ns), "name", e[i].table));
    body = json_pack("{s:o}", "identifiers", ids);
    page_token(body, &pg, n);
    tn_catalog_entries_free(e, n);
    tn_http_reply_json(out, 200, body);
    return 0;
}

static int table_register(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                          struct tn_err *err)
{
    const char *n = json_string_value(json_object_get(req->json, "name"));
    const char *loc = json_string_value(json_object_get(req->json, "metadata-location"));
    const char *root = tn_storage_root_uri(req->wh->storage);
    char name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    int rc;

    if (!n || !loc)
        return tn_fail(err, TN_EINPUT, "send {\"name\": \"t\", \"metadata-location\": \"...\"}");
    if (json_is_true(json_object_get(req->json, "overwrite")))
        return tn_fail(err, TN_EINPUT, "\"overwrite\": true is not supported");
    if (!tn_storage_in_warehouse(req->wh->storage, loc))
        return tn_fail(err, TN_EFORBIDDEN, "%s is outside the warehouse %s", loc, root);
    rc = tn_name_check("table", n, name, err);
    if (!rc)
        rc = ns_must_exist(req, ns, err);
    if (!rc)
        rc = tn_table_register_inside(req->wh, ns, name, loc, NULL, err);
    if (!rc)
        rc = tn_table_load(req->wh, ns, name, &t, err);
    if (rc)
        return rc;
    reply_big(out, 200, load_result(req, t, 0));
    tn_table_free(t);
    return 0;
}

/* GET .../tables/{t}/credentials (LoadCredentialsResponse): with --vend-credentials on an S3
 * warehouse, one storage credential for the table's location whose config holds the keys
 * loadTable's config gives; otherwise none (the client uses its own). */
static int table_credentials(struct tn_http_req *req, const char *ns, const char *name,
                             struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_table *t = NULL;
    const char *key, *secret, *token;
    json_t *creds = json_array();
    int rc = tn_table_load(req->wh, ns, name, &t, err);

    if (rc) {
        json_decref(creds);
        return table_missing(req, ns, rc, err);
    }
    if (req->opt->vend_credentials &&
        !tn_storage_s3_credentials(req->wh->storage, &key, &secret, &token))
        json_array_append_new(
            creds, json_pack("{s:s, s:o}", "prefix", t->meta->location, "config", s3_config(req)));
    tn_table_free(t);
    tn_http_reply_json(out, 200, json_pack("{s:o}", "storage-credentials", creds));
    return 0;
}

static int do_table(struct tn_http_req *req, const char *ns, const char *tseg, const char *sub,
                    struct tn_http_reply *out, struct tn_err *err)
{
    const char *m = req->method;
    char name[TN_NAME_MAX + 1];
    int rc = tn_name_check("table", tseg, name, err);

    if (rc)
        return rc;
    if (sub && strcmp(sub, "credentials") == 0 && strcmp(m, "GET") == 0)
        return table_credentials(req, ns, name, out, err);
    if (sub) {
        if (strcmp(sub, "metrics") != 0 || strcmp(m, "POST") != 0)
            return tn_fail(err, TN_ENOTFOUND, "no such endpoint: %s .../tables/%s/%s", m, name,
                           sub);
        return table_exists_reply(req, ns, name, out, err);
    }
    if (strcmp(m, "GET") == 0)
        return table_load(req, ns, name, out, err);
    if (strcmp(m, "POST") == 0)
        return table_commit(req, ns, name, out, err);
    if (strcmp(m, "HEAD") == 0) {
        return table_exists_reply(req, ns, name, out, err);
    }
    if (strcmp(m, "DELETE") == 0) {
        rc = tn_table_drop(req->wh, ns, name, flag_param(req, "purgeRequested"), err);
        if (rc)
            return table_missing(req, ns, rc, err);
        reply_empty(out, 204);
        return 0;
    }
    return tn_fail(err, TN_EINPUT, "%s is not allowed on a table", m);
}

/* RenameTableRequest, for a table or a view ("kind"). */
static int rename_entry(struct tn_http_req *req, enum tn_catalog_kind kind,
                        struct tn_http_reply *out, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    char to_ns[TN_NAME_MAX + 1], to_name[TN_NAME_MAX + 1];
    int rc = ident_from_json(json_object_get(req->json, "source"), ns, name, err);

    if (!rc)
        rc = ident_from_json(json_object_get(req->json, "destination"), to_ns, to_name, err);
    if (!rc)
        rc = ns_must_exist(req, to_ns, err);
    if (!rc)
        rc = tn_catalog_rename_kind(req->wh->catalog, kind, ns, name, to_ns, to_name, err);
    if (rc)
        return rc;
    reply_empty(out, 204);
    return 0;
}

static int transaction_commit(struct tn_http_req *req, struct tn_http_reply *out,
                              struct tn_err *err)
{
    json_t *list = json_object_get(req->json, "table-changes");
    size_t n = json_array_size(list);
    struct tn_rest_change *c;
    char(*names)[2][TN_NAME_MAX + 1];
    int rc = 0;

    if (!json_is_array(list) || n == 0)
        return tn_fail(err, TN_EINPUT,
                       "send {\"table-changes\": [{\"identifier\": {...}, "
                       "\"requirements\": [...], \"updates\": [...]}, ...]}");
    if (n > 100)
        return tn_fail(err, TN_EINPUT, "at most 100 tables in one transaction");
    c = tn_calloc(n, sizeof(*c));
    names = tn_calloc(n, sizeof(*names));
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *ch = json_array_get(list, i);
        rc = ident_from_json(json_object_get(ch, "identifier"), names[i][0], names[i][1], err);
        c[i].ns = names[i][0];
        c[i].name = names[i][1];
        c[i].requirements = json_object_get(ch, "requirements");
        c[i].updates = json_object_get(ch, "updates");
    }
    if (!rc)
        rc = tn_table_rest_commit_many(req->wh, c, n, NULL, err);
    free(c);
    free(names);
    if (!rc)
        reply_empty(out, 204);
    return rc;
}

/*---- Views ----*/

/* LoadViewResult */
static void view_reply(struct tn_http_reply *out, const struct tn_view *v)
{
    reply_big(out, 200,
              json_pack("{s:s, s:O, s:{}}", "metadata-location", v->metadata_location, "metadata",
                        v->meta, "config"));
}

static int view_create(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                       struct tn_err *err)
{
    const char *n = json_string_value(json_object_get(req->json, "name"));
    char name[TN_NAME_MAX + 1];
    struct tn_view *v = NULL;
    int rc;

    if (!n)
        return tn_fail(err, TN_EINPUT, "\"name\" is required");
    rc = tn_name_check("view", n, name, err);
    if (!rc)
        rc = ns_must_exist(req, ns, err);
    if (!rc)
        rc = tn_view_create(req->wh, ns, name, req->json, &v, err);
    if (rc)
        return rc;
    view_reply(out, v);
    tn_view_free(v);
    return 0;
}

static int view_register(struct tn_http_req *req, const char *ns, struct tn_http_reply *out,
                         struct tn_err *err)
{
    const char *n = json_string_value(json_object_get(req->json, "name"));
    const char *loc = json_string_value(json_object_get(req->json, "metadata-location"));
    char name[TN_NAME_MAX + 1];
    struct tn_view *v = NULL;
    int rc;

    if (!n || !loc)
        return tn_fail(err, TN_EINPUT, "send {\"name\": \"v\", \"metadata-location\": \"...\"}");
    rc = tn_name_check("view", n, name, err);
    if (!rc)
        rc = ns_must_exist(req, ns, err);
    if (!rc)
        rc = tn_view_register(req->wh, ns, name, loc, &v, err);
    if (rc)
        return rc;
    view_reply(out, v);
    tn_view_free(v);
    return 0;
}

static int do_view(struct tn_http_req *req, const char *ns, const char *vseg,
                   struct tn_http_reply *out, struct tn_err *err)
{
    const char *m = req->method;
    char name[TN_NAME_MAX + 1];
    struct tn_view *v = NULL;
    int rc = tn_name_check("view", vseg, name, err);

    if (rc)
        return rc;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        rc = tn_view_load(req->wh, ns, name, &v, err);
        if (!rc && strcmp(m, "GET") == 0)
            view_reply(out, v);
        else if (!rc)
            reply_empty(out, 204);
    } else if (strcmp(m, "POST") == 0) {
        if (!req->json)
            return tn_fail(err, TN_EINPUT,
                           "send a CommitViewRequest {\"requirements\": [...], "
                           "\"updates\": [...]}");
        rc = tn_view_commit(req->wh, ns, name, json_object_get(req->json, "requirements"),
                            json_object_get(req->json, "updates"), &v, err);
        if (!rc)
            view_reply(out, v);
    } else if (strcmp(m, "DELETE") == 0) {
        rc = tn_catalog_drop_kind(req->wh->catalog, TN_CATALOG_VIEW, ns, name, err);
        if (!rc)
            reply_empty(out, 204);
    } else {
        return tn_fail(err, TN_EINPUT, "%s is not allowed on a view", m);
    }
    tn_view_free(v);
    return rc ? table_missing(req, ns, rc, err) : 0;
}

/*---- Dispatch ----*/

static int is_route_word(const char *s)
{
    return strcmp(s, "config") == 0 || strcmp(s, "namespaces") == 0 || strcmp(s, "tables") == 0 ||
           strcmp(s, "views") == 0 || strcmp(s, "transactions") == 0 || strcmp(s, "oauth") == 0;
}

int tn_route_iceberg(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char *copy = tn_strdup(req->arg ? req->arg : "");
    char *seg[SEGMENTS_MAX];
    char ns[TN_NAME_MAX + 1];
    const char *m = req->method;
    size_t n = 0, s0 = 0;
    char *p = copy;
    int rc = 0;

    if (req->state == &expired_marker) {
        free(copy);
        reply_error(out, 419, "NotAuthorizedException",
                    "the bearer token has expired; get a new one from /iceberg/v1/oauth/tokens");
        return 0;
    }
    while (p && n < SEGMENTS_MAX) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        seg[n++] = p;
        p = slash ? slash + 1 : NULL;
    }
    if (p) {
        rc = tn_fail(err, TN_ENOTFOUND, "no such endpoint: %s", req->path);
        goto out;
    }
    if (n > 1 && !is_route_word(seg[0]))
        s0 = 1; /* a prefix (or warehouse name): ignored */
    n -= s0;
#define SEG(i)   seg[s0 + (i)]
#define IS(i, w) (n > (i) && strcmp(SEG(i), (w)) == 0)
    if (n == 1 && IS(0, "config") && strcmp(m, "GET") == 0) {
        rc = do_config(req, out);
    } else if (n == 1 && IS(0, "namespaces")) {
        if (strcmp(m, "GET") == 0)
            rc = ns_list(req, out, err);
        else if (strcmp(m, "POST") == 0)
            rc = ns_create(req, out, err);
        else
            rc = tn_fail(err, TN_EINPUT, "use GET or POST on /namespaces");
    } else if (n == 2 && IS(0, "tables") && IS(1, "rename") && strcmp(m, "POST") == 0) {
        rc = rename_entry(req, TN_CATALOG_TABLE, out, err);
    } else if (n == 2 && IS(0, "views") && IS(1, "rename") && strcmp(m, "POST") == 0) {
        rc = rename_entry(req, TN_CATALOG_VIEW, out, err);
    } else if (n == 2 && IS(0, "transactions") && IS(1, "commit") && strcmp(m, "POST") == 0) {
        rc = transaction_commit(req, out, err);
    } else if (n >= 2 && IS(0, "namespaces")) {
        rc = tn__iceberg_ns_from_path(SEG(1), ns, err);
        if (rc)
            goto out;
        if (n == 2)
            rc = do_namespace(req, ns, out, err);
        else if (n == 3 && IS(2, "properties") && strcmp(m, "POST") == 0)
            rc = ns_update_properties(req, ns, out, err);
        else if (n == 3 && IS(2, "register") && strcmp(m, "POST") == 0)
            rc = table_register(req, ns, out, err);
        else if (n == 3 && IS(2, "tables") && strcmp(m, "GET") == 0)
            rc = list_identifiers(req, TN_CATALOG_TABLE, ns, out, err);
        else if (n == 3 && IS(2, "tables") && strcmp(m, "POST") == 0)
            rc = table_create(req, ns, out, err);
        else if ((n == 4 || n == 5) && IS(2, "tables"))
            rc = do_table(req, ns, SEG(3), n == 5 ? SEG(4) : NULL, out, err);
        else if (n == 3 && IS(2, "register-view") && strcmp(m, "POST") == 0)
            rc = view_register(req, ns, out, err);
        else if (n == 3 && IS(2, "views") && strcmp(m, "GET") == 0)
            rc = list_identifiers(req, TN_CATALOG_VIEW, ns, out, err);
        else if (n == 3 && IS(2, "views") && strcmp(m, "POST") == 0)
            rc = view_create(req, ns, out, err);
        else if (n == 4 && IS(2, "views"))
            rc = do_view(req, ns, SEG(3), out, err);
        else
            rc = tn_fail(err, TN_ENOTFOUND, "no such endpoint: %s %s", m, req->path);
    } else {
        rc = tn_fail(err, TN_ENOTFOUND, "no such endpoint: %s %s", m, req->path);
    }
#undef IS
#undef SEG
out:
    free(copy);
    return rc;
}

/*---- POST /iceberg/v1/oauth/tokens ----*/

/* Decode application/x-www-form-urlencoded text in place. */
static void form_decode(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (*s == '+') {
            *w++ = ' ';
        } else if (*s == '%' && tn_hex_value(s[1]) >= 0 && tn_hex_value(s[2]) >= 0) {
            *w++ = (char)(tn_hex_value(s[1]) * 16 + tn_hex_value(s[2]));
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

json_t *tn__http_form_parse(char *text)
{
    json_t *form = json_object();
    char *pair;

    while ((pair = strsep(&text, "&")) != NULL) {
        char *eq = strchr(pair, '=');
        if (!eq)
            continue;
        *eq = '\0';
        form_decode(pair);
        form_decode(eq + 1);
        json_object_set_new(form, pair, json_string(eq + 1));
    }
    return form;
}

static void oauth_error(struct tn_http_reply *out, unsigned int status, const char *code,
                        const char *desc)
{
    tn_http_reply_json(out, status,
                       json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

/* Client credentials sent with HTTP Basic (RFC 6749 2.3.1: id and secret form-encoded, then
 * base64 of "id:secret") into "form", unless the body gave them. */
static void basic_credentials(const struct tn_http_req *req, json_t *form)
{
    const char *h = tn_http_header(req, "Authorization");
    size_t n;
    unsigned char *raw;
    char *colon;
    int len;

    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return;
    h += 6;
    while (*h == ' ')
        h++;
    n = strlen(h);
    if (n == 0 || n % 4 || n > TOKEN_BODY_MAX)
        return;
    raw = tn_malloc(n / 4 * 3 + 1);
    len = EVP_DecodeBlock(raw, (const unsigned char *)h, (int)n);
    if (len > 0) {
        len -= (h[n - 1] == '=') + (h[n - 2] == '='); /* the padding decodes as zero bytes */
        raw[len] = '\0';
        colon = strchr((char *)raw, ':');
        if (colon && strlen((char *)raw) == (size_t)len) {
            *colon = '\0';
            form_decode((char *)raw);
            form_decode(colon + 1);
            if (!json_object_get(form, "client_id"))
                json_object_set_new(form, "client_id", json_string((char *)raw));
            if (!json_object_get(form, "client_secret"))
                json_object_set_new(form, "client_secret", json_string(colon + 1));
        }
    }
    free(raw);
}

int tn_route_iceberg_token(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_buf body = TN_BUF_INIT(TOKEN_BODY_MAX);
    json_t *form = NULL;
    const char *grant, *secret, *subject;
    char tok[65], empty[1] = "";
    int rc = 0, ttl;

    if (!req->opt->token && !req->opt->client) {
        oauth_error(out, 400, "invalid_client",
                    "this server has no authentication configured: send no token");
        goto out;
    }
    if (req->upload_path) {
        FILE *f = fopen(req->upload_path, "rb");
        char chunk[4096];
        size_t got;
        while (f && !rc && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
            rc = tn_buf_add(&body, chunk, got, err);
        if (f)
            fclose(f);
        if (rc)
            goto out;
    }
    form = tn__http_form_parse(body.buf ? body.buf : empty);
    basic_credentials(req, form);
    grant = json_string_value(json_object_get(form, "grant_type"));
    secret = json_string_value(json_object_get(form, "client_secret"));
    subject = json_string_value(json_object_get(form, "subject_token"));
    if (!grant) {
        oauth_error(out, 400, "invalid_request", "grant_type is required");
    } else if (strcmp(grant, "client_credentials") == 0) {
        if (!client_valid(req->opt, json_string_value(json_object_get(form, "client_id")),
                          secret)) {
            oauth_error(out, 401, "invalid_client", "the client credentials are not valid");
            goto out;
        }
    } else if (strcmp(grant, "urn:ietf:params:oauth:grant-type:token-exchange") == 0) {
        if (!subject || ((!req->opt->token || !tn_secret_equal(subject, req->opt->token)) &&
                         token_state(subject) != 1)) {
            oauth_error(out, 401, "invalid_grant", "the subject token is not valid");
            goto out;
        }
    } else {
        oauth_error(out, 400, "unsupported_grant_type",
                    "use grant_type=client_credentials or token-exchange");
        goto out;
    }
    if (out->response)
        goto out;
    ttl = req->opt->rest_token_ttl_s ? req->opt->rest_token_ttl_s : TOKEN_TTL_S;
    token_issue(tok, ttl);
    tn_http_reply_json(out, 200,
                       json_pack("{s:s, s:s, s:I, s:s}", "access_token", tok, "token_type",
                                 "bearer", "expires_in", (json_int_t)ttl, "issued_token_type",
                                 "urn:ietf:params:oauth:token-type:access_token"));
out:
    json_decref(form);
    tn_buf_release(&body);
    return rc;
}
