/* routes.c - the small routes: GET /health, GET /metrics, and the API's own description,
 * GET /openapi.json (an OpenAPI 3.0 document built here, next to nothing else, so that it is
 * easy to keep in step with the routes) and GET /docs (a self-contained page that renders it;
 * no external scripts or styles). */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

int tn_route_health(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    (void)err;
    tn_http_reply_json(out, 200,
                       json_pack("{s:s, s:s}", "status", "ok", "version",
                                 req->opt->version ? req->opt->version : "unknown"));
    return 0;
}

int tn_route_metrics(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    char *text = tn_http_metrics_text(req->srv);

    (void)err;
    tn_http_reply_text(out, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    return 0;
}

int tn_route_maintenance_runs(struct tn_http_req *req, struct tn_http_reply *out,
                              struct tn_err *err)
{
    (void)err;
    tn_http_reply_json(out, 200, tn_http_maintenance_runs(req->srv));
    return 0;
}

/*---- OpenAPI ----*/

static json_t *ref(const char *name)
{
    char *r = tn_asprintf("#/components/schemas/%s", name);
    json_t *j = json_pack("{s:s}", "$ref", r);

    free(r);
    return j;
}

static json_t *param(const char *name, const char *in, int required, json_t *schema,
                     const char *description)
{
    return json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", name, "in", in, "required", required,
                     "schema", schema, "description", description);
}

static json_t *str_enum(const char *values)
{
    json_t *e = json_array();
    const char *p = values;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        json_array_append_new(e, json_stringn(p, n));
        p += n + (bar ? 1 : 0);
    }
    return json_pack("{s:s, s:o}", "type", "string", "enum", e);
}

static json_t *type(const char *t)
{
    return json_pack("{s:s}", "type", t);
}

/* An optional query parameter: its type (integer, boolean, string), for a string of a few
 * values its choices a|b|c (else NULL), and what it does. */
struct query_param {
    const char *name, *type, *choices, *description;
};

/* Append the query parameters of "p" (up to the one named NULL) to the array "to". */
static void add_query_params(json_t *to, const struct query_param *p)
{
    for (; p->name; p++)
        json_array_append_new(to, param(p->name, "query", 0,
                                        p->choices ? str_enum(p->choices) : type(p->type),
                                        p->description));
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

/* /query's answers: QueryResult JSON, or with format=arrow an Arrow IPC stream. */
static json_t *query_content(void)
{
    json_t *c = json_content(ref("QueryResult"));

    json_object_set_new(
        c, "application/vnd.apache.arrow.stream",
        json_pack("{s:{s:s, s:s}}", "schema", "type", "string", "format", "binary"));
    return c;
}

/* A required request body with the given content map. */
static json_t *required_body(json_t *content)
{
    return json_pack("{s:b, s:o}", "required", 1, "content", content);
}

/* An operation with its success response and the listed error statuses. */
static json_t *operation(const char *tag, const char *summary, const char *description,
                         json_t *params, json_t *body, json_t *ok_content, const int *errors)
{
    json_t *responses = json_object();
    json_t *op = json_pack("{s:[s], s:s, s:s, s:o}", "tags", tag, "summary", summary, "description",
                           description, "parameters", params ? params : json_array());

    json_object_set_new(responses, "200",
                        json_pack("{s:s, s:o}", "description", "success", "content", ok_content));
    for (size_t i = 0; errors && errors[i]; i++) {
        char code[8];
        snprintf(code, sizeof(code), "%d", errors[i]);
        json_object_set_new(responses, code,
                            json_pack("{s:s, s:o}", "description",
                                      errors[i] == 400   ? "bad input"
                                      : errors[i] == 401 ? "missing or wrong bearer token"
                                      : errors[i] == 403
                                          ? "refused by the SQL sandbox, or a web page of "
                                            "another site (Origin, Host)"
                                      : errors[i] == 404 ? "no such table or snapshot"
                                      : errors[i] == 409 ? "already exists, or commit conflict"
                                      : errors[i] == 413 ? "body too large"
                                      : errors[i] == 415 ? "not a JSON body (Content-Type)"
                                      : errors[i] == 422 ? "data does not fit the table"
                                      : errors[i] == 503 ? "timed out or shutting down"
                                      : errors[i] == 507 ? "the server's disk is full"
                                                         : "error",
                                      "content", json_content(ref("Error"))));
    }
    json_object_set_new(op, "responses", responses);
    if (body)
        json_object_set_new(op, "requestBody", body);
    return op;
}

static json_t *table_param(void)
{
    return param("table", "path", 1, type("string"),
                 "namespace.table, or table for namespace 'default'; names are "
                 "[a-z_][a-z0-9_]* after lowercasing");
}

/* A POST route of routes_changes.c: {table} in the path, a JSON object body. */
static json_t *change_op(const char *summary, const char *description, const int *errors)
{
    return json_pack("{s:o}", "post",
                     operation("changes", summary, description, json_pack("[o]", table_param()),
                               required_body(json_content(type("object"))),
                               json_content(type("object")), errors));
}

static json_t *schemas(void)
{
    json_t *s = json_object();

    json_object_set_new(s, "Error",
                        json_pack("{s:s, s:{s:{s:s, s:{s:o, s:o, s:o}}}, s:[s]}", "type", "object",
                                  "properties", "error", "type", "object", "properties", "message",
                                  type("string"), "type", type("string"), "code", type("integer"),
                                  "required", "error"));
    json_object_set_new(
        s, "QueryRequest",
        json_pack("{s:s, s:[s], s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o}}", "type", "object",
                  "required", "sql", "properties", "sql", type("string"), "format",
                  str_enum("json|csv|ndjson|parquet|arrow"), "snapshot_id",
                  json_pack("{s:[{s:s}, {s:s}], s:s}", "oneOf", "type", "integer", "type", "string",
                            "description", "a number or a string of digits"),
                  "as_of", type("string"), "limit", type("integer"), "offset", type("integer"),
                  "branch", type("string")));
    json_object_set_new(
        s, "WriteResult",
        json_pack("{s:s, s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}", "type", "object",
                  "description",
                  "the answer to INSERT, UPDATE, DELETE, MERGE, ALTER, CREATE TABLE and DROP "
                  "TABLE on POST /query; columns, rows and row_count with RETURNING",
                  "properties", "rows_affected", type("integer"), "snapshot_id", type("integer"),
                  "table", type("string"), "created", type("boolean"), "dropped", type("boolean"),
                  "columns", type("array"), "rows", type("array"), "row_count", type("integer"),
                  "elapsed_ms", type("number")));
    json_object_set_new(
        s, "QueryResult",
        json_pack("{s:s, s:{s:{s:s, s:{s:s, s:{s:o, s:o}}}, s:{s:s, s:{s:s}}, s:o, s:o, s:o}}",
                  "type", "object", "properties", "columns", "type", "array", "items", "type",
                  "object", "properties", "name", type("string"), "type", type("string"), "rows",
                  "type", "array", "items", "type", "array", "row_count", type("integer"),
                  "truncated", type("boolean"), "elapsed_ms", type("number")));
    json_object_set_new(json_object_get(json_object_get(s, "QueryResult"), "properties"), "offset",
                        type("integer"));
    json_object_set_new(json_object_get(json_object_get(s, "QueryResult"), "properties"),
                        "next_offset", type("integer"));
    json_object_set_new(json_object_get(json_object_get(s, "QueryResult"), "properties"),
                        "next_cursor", type("string"));
    json_object_set_new(json_object_get(json_object_get(s, "QueryRequest"), "properties"), "cursor",
                        type("string"));
    json_object_set_new(
        s, "IngestResult",
        json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}", "type",
                  "object", "properties", "table", type("string"), "created", type("boolean"),
                  "snapshot_id", type("integer"), "sequence_number", type("integer"), "rows_added",
                  type("integer"), "rows_updated", type("integer"), "rows_deleted", type("integer"),
                  "files_added", type("integer"), "schema_changes", type("array"), "column_names",
                  type("object"), "schema", type("object"), "elapsed_ms", type("number")));
    json_object_set_new(
        s, "Field",
        json_pack("{s:s, s:[s, s], s:{s:o, s:{s:s}, s:o, s:o}}", "type", "object", "required",
                  "name", "type", "properties", "name", type("string"), "type", "description",
                  "an Iceberg type: boolean, int, long, float, double, decimal(P,S), date, "
                  "time, timestamp, timestamptz, string, uuid, binary, fixed[N], or a "
                  "struct/list/map object in Iceberg's JSON form",
                  "required", type("boolean"), "doc", type("string")));
    json_object_set_new(
        s, "CreateTableRequest",
        json_pack("{s:s, s:[s, s], s:{s:o, s:{s:s, s:{s:{s:s, s:o}}}, s:{s:s, s:o}, s:o}}", "type",
                  "object", "required", "name", "schema", "properties", "name", type("string"),
                  "schema", "type", "object", "properties", "fields", "type", "array", "items",
                  ref("Field"), "identifier_fields", "type", "array", "items", type("string"),
                  "properties", type("object")));
    json_object_set_new(json_object_get(json_object_get(s, "CreateTableRequest"), "properties"),
                        "partition_by",
                        json_pack("{s:s, s:s}", "type", "string", "description",
                                  "the partition spec: day(ts), bucket(16, id), region ..."));
    json_object_set_new(json_object_get(json_object_get(s, "CreateTableRequest"), "properties"),
                        "partition-spec",
                        json_pack("{s:s, s:s}", "type", "object", "description",
                                  "an Iceberg partition spec {\"fields\": [{\"source-id\", "
                                  "\"transform\", \"name\"}]}, as the REST catalog takes it"));
    json_object_set_new(s, "RegisterTableRequest",
                        json_pack("{s:s, s:[s, s], s:{s:o, s:o, s:o}}", "type", "object",
                                  "required", "name", "metadata_location", "properties", "name",
                                  type("string"), "metadata_location", type("string"), "path_map",
                                  type("object")));
    json_object_set_new(s, "TableSummary",
                        json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                                  "s:o, s:o}}",
                                  "type", "object", "properties", "namespace", type("string"),
                                  "name", type("string"), "current_snapshot_id", type("integer"),
                                  "rows", type("integer"), "records_in_files", type("integer"),
                                  "position_deletes", type("integer"), "equality_deletes",
                                  type("integer"), "data_files", type("integer"), "bytes",
                                  type("integer"), "last_updated_ms", type("integer"), "format",
                                  type("string"), "source", type("string")));
    json_object_set_new(
        s, "Table",
        json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}", "type", "object",
                  "properties", "namespace", type("string"), "name", type("string"), "location",
                  type("string"), "format_version", type("integer"), "schema", type("object"),
                  "partition_spec", type("object"), "identifier_fields", type("array"),
                  "properties", type("object"), "current_snapshot_id", type("integer"),
                  "current_snapshot", ref("Snapshot")));
    json_object_set_new(s, "Snapshot",
                        json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o}}", "type", "object",
                                  "properties", "snapshot_id", type("integer"), "parent_id",
                                  type("integer"), "sequence_number", type("integer"),
                                  "timestamp_ms", type("integer"), "operation", type("string"),
                                  "summary", type("object")));
    return s;
}

static json_t *openapi(const char *version)
{
    static const int e_read[] = {400, 401, 404, 0};
    static const int e_query[] = {400, 401, 403, 404, 413, 415, 503, 507, 0};
    static const int e_ingest[] = {400, 401, 403, 409, 413, 422, 507, 0};
    static const int e_create[] = {400, 401, 403, 409, 413, 415, 0};
    static const int e_auth[] = {401, 0};
    static const int e_ask[] = {400, 401, 422, 501, 502, 0};
    static const int e_change[] = {400, 401, 403, 404, 409, 415, 422, 0};
    static const struct query_param query_params[] = {
        {"format", "string", "json|csv|ndjson|parquet|arrow",
         "the result format (default json; arrow: an Arrow IPC stream, a record batch per engine "
         "chunk, columns in their own types)"},
        {"limit", "integer", NULL,
         "at most this many rows (json default 10000; truncated=true when more exist)"},
        {"snapshot_id", "integer", NULL, "read every table at this snapshot"},
        {"as_of", "string", NULL, "read every table as it was at this time (a timestamp, UTC)"},
        {"offset", "integer", NULL,
         "skip this many rows first (pages: limit + offset; the JSON answer gives next_offset)"},
        {"ids", "string", "string",
         "string: snapshot ids in JSON answers as strings (JavaScript keeps them exact)"},
        {"cursor", "string", NULL,
         "the next page: the next_cursor (JSON) or X-Tarn-Next-Cursor header a page with a limit "
         "gave; it reads the snapshots the first page read. Give the same sql, no offset, "
         "snapshot_id or as_of"},
        {NULL, NULL, NULL, NULL}};
    static const struct query_param ingest_params[] = {
        {"mode", "string", "append|overwrite|upsert",
         "append (default), replace every row, or upsert by key"},
        {"key", "string", NULL, "upsert key columns a,b (default: the table's identifier fields)"},
        {"dedupe", "string", "last", "upsert: keep each key's last row instead of a 422"},
        {"evolve", "string", "add|strict", "add new columns (default) or refuse them with 422"},
        {"branch", "string", NULL, "write to this branch instead of main"},
        {"types", "string", NULL,
         "amount:decimal(12,2),id:long -- read these columns as these types instead of the sniffed "
         "ones; with mode=overwrite a column's type may change"},
        {"format", "string", "csv|json|ndjson|parquet",
         "the file's format; else from the content type, the file name or the first bytes"},
        {"delimiter", "string", NULL, "CSV field delimiter (default: detected)"},
        {"header", "boolean", NULL, "whether the CSV has a header line (default: detected)"},
        {"nullstr", "string", NULL,
         "CSV: strings read as NULL, comma-separated, 'empty' for the empty field "
         "(NA,null,-,empty; replaces the default 'empty')"},
        {"decimal_separator", "string", ".|,",
         "CSV: the decimal separator of numbers (default '.')"},
        {"dateformat", "string", NULL,
         "CSV: strftime format of dates (%d/%m/%Y; default: detected, or the table's)"},
        {"timestampformat", "string", NULL,
         "CSV: strftime format of timestamps (default: detected, or the table's)"},
        {"encoding", "string", "utf-8|utf-16|latin-1", "CSV: the file's encoding (default utf-8)"},
        {"quote", "string", NULL, "CSV: the quote character (default: detected)"},
        {"escape", "string", NULL, "CSV: the escape character inside quotes (default: detected)"},
        {"comment", "string", NULL, "CSV: lines starting with this character are skipped"},
        {"skip", "integer", NULL, "CSV: lines to skip before the header (default: detected)"},
        {"partition_by", "string", NULL,
         "a table this ingest creates: its partition spec (day(ts), bucket(16, id), region)"},
        {"format_version", "integer", NULL,
         "a table this ingest creates: its Iceberg format version, 2 (default) or 3"},
        {"dry_run", "boolean", NULL,
         "true: answer the schema and the first rows the file would give, commit nothing"},
        {"source", "string", NULL,
         "copy from a PostgreSQL source the server names (--source NAME=URL) instead of a body "
         "(docs/SOURCES.md)"},
        {NULL, NULL, NULL, NULL}};
    json_t *paths = json_object();
    json_t *qparams = json_array();
    json_t *iparams = json_array();
    json_t *upload = json_object();

    json_array_append_new(qparams, param("sql", "query", 1, type("string"),
                                         "one SELECT statement (also DESCRIBE, SHOW); tarn tables "
                                         "are visible as table or namespace.table"));
    add_query_params(qparams, query_params);
    json_array_append_new(iparams, table_param());
    add_query_params(iparams, ingest_params);
    json_object_set_new(
        upload, "text/csv",
        json_pack("{s:{s:s, s:s}}", "schema", "type", "string", "format", "binary"));
    json_object_set_new(upload, "application/json", json_pack("{s:{}}", "schema"));
    json_object_set_new(upload, "application/x-ndjson",
                        json_pack("{s:{s:s}}", "schema", "type", "string"));
    json_object_set_new(
        upload, "application/vnd.apache.parquet",
        json_pack("{s:{s:s, s:s}}", "schema", "type", "string", "format", "binary"));
    json_object_set_new(upload, "multipart/form-data",
                        json_pack("{s:{s:s, s:{s:{s:s, s:s}}}}", "schema", "type", "object",
                                  "properties", "file", "type", "string", "format", "binary"));

    json_object_set_new(
        paths, "/health",
        json_pack("{s:o}", "get",
                  operation("server", "Liveness",
                            "Answers {\"status\":\"ok\",\"version\":...}; needs no token.", NULL,
                            NULL, json_content(type("object")), NULL)));
    json_object_set_new(json_object_get(json_object_get(paths, "/health"), "get"), "security",
                        json_array());
    json_object_set_new(
        paths, "/ingest/{table}",
        json_pack("{s:o}", "post",
                  operation("ingest", "Load a file into a table",
                            "The body is the file (raw, or multipart/form-data field 'file'). "
                            "Creates the table from the inferred schema when it is absent; one "
                            "atomic commit.",
                            iparams, required_body(upload), json_content(ref("IngestResult")),
                            e_ingest)));
    json_object_set_new(
        paths, "/query",
        json_pack("{s:o, s:o}", "get",
                  operation("query", "Run a read-only query",
                            "Results stream as the engine produces them. Sandboxed: no file access "
                            "outside the warehouse, no COPY, ATTACH, INSTALL, SET or DDL.",
                            qparams, NULL, query_content(), e_query),
                  "post",
                  operation("query", "Run a query or a change given as JSON",
                            "Like GET /query, with the parameters in a JSON body. POST also "
                            "runs INSERT, UPDATE, DELETE, MERGE, ALTER TABLE, CREATE TABLE [AS "
                            "SELECT] and DROP TABLE, each one atomic commit, answered with a "
                            "WriteResult (RETURNING adds its rows).",
                            NULL, required_body(json_content(ref("QueryRequest"))), query_content(),
                            e_query)));
    {
        json_t *post = json_object_get(json_object_get(paths, "/query"), "post");
        json_t *ok = json_object_get(json_object_get(post, "responses"), "200");
        json_t *content = json_object_get(ok, "content");
        json_t *js = json_object_get(content, "application/json");
        if (js)
            json_object_set_new(
                js, "schema",
                json_pack("{s:[o, o]}", "oneOf", ref("QueryResult"), ref("WriteResult")));
        json_t *params = json_object_get(post, "parameters");
        if (!json_is_array(params)) {
            params = json_array();
            json_object_set_new(post, "parameters", params);
        }
        json_array_append_new(params, param("ids", "query", 0, str_enum("string"),
                                            "string: snapshot ids in the answer as strings"));
    }
    json_object_set_new(
        paths, "/tables",
        json_pack("{s:o, s:o}", "get",
                  operation("tables", "List tables",
                            "Every table with its current snapshot, rows, files and bytes.", NULL,
                            NULL,
                            json_content(json_pack("{s:s, s:{s:{s:s, s:o}}}", "type", "object",
                                                   "properties", "tables", "type", "array", "items",
                                                   ref("TableSummary"))),
                            e_auth),
                  "post",
                  operation("tables", "Create a table with an explicit schema",
                            "Field ids are assigned by the server.", NULL,
                            required_body(json_content(ref("CreateTableRequest"))),
                            json_content(ref("Table")), e_create)));
    json_object_set_new(
        paths, "/tables/register",
        json_pack("{s:o}", "post",
                  operation("tables", "Register an existing Iceberg table",
                            "Adopts the table whose current metadata file is metadata_location "
                            "(inside the warehouse); path_map rewrites location prefixes.",
                            NULL, required_body(json_content(ref("RegisterTableRequest"))),
                            json_content(ref("Table")), e_create)));
    json_object_set_new(
        paths, "/tables/{table}",
        json_pack("{s:o, s:o}", "get",
                  operation("tables", "Describe a table",
                            "Schema, partition spec, identifier fields, properties, location, "
                            "format version and current snapshot.",
                            json_pack("[o]", table_param()), NULL, json_content(ref("Table")),
                            e_read),
                  "delete",
                  operation("tables", "Drop a table", "purge=true also deletes its files.",
                            json_pack("[o, o]", table_param(),
                                      param("purge", "query", 0, type("boolean"),
                                            "delete the table's files too")),
                            NULL, json_content(type("object")), e_read)));
    json_object_set_new(
        paths, "/tables/{table}/rows",
        json_pack("{s:o}", "get",
                  operation("tables", "A table's rows, a page at a time",
                            "SELECT * FROM the table, in the order its files hold the rows. "
                            "With a limit the answer gives a cursor for the next page "
                            "(next_cursor in JSON, else the X-Tarn-Next-Cursor header); later "
                            "pages read the snapshot the first one read.",
                            json_pack("[o, o, o, o]", table_param(),
                                      param("limit", "query", 0, type("integer"),
                                            "at most this many rows (json default 10000)"),
                                      param("cursor", "query", 0, type("string"),
                                            "the next page: the cursor the previous page gave"),
                                      param("format", "query", 0,
                                            str_enum("json|csv|ndjson|parquet|arrow"),
                                            "the result format (default json)")),
                            NULL, query_content(), e_query)));
    json_object_set_new(
        paths, "/tables/{table}/snapshots",
        json_pack("{s:o}", "get",
                  operation("tables", "A table's snapshots", "Oldest first.",
                            json_pack("[o]", table_param()), NULL,
                            json_content(json_pack("{s:s, s:{s:{s:s, s:o}}}", "type", "object",
                                                   "properties", "snapshots", "type", "array",
                                                   "items", ref("Snapshot"))),
                            e_read)));
    json_object_set_new(paths, "/tables/{table}/schema",
                        change_op("Evolve the schema",
                                  "{\"add\":[{\"name\",\"type\",\"required\",\"default\","
                                  "\"after\"}], \"rename\":{\"old\":\"new\"}, \"drop\":[], "
                                  "\"widen\":{\"c\":\"long\"}, \"optional\":[], "
                                  "\"move\":[{\"name\",\"first\"|\"after\"}]}: one "
                                  "metadata-only commit; answers the new schema.",
                                  e_change));
    json_object_set_new(paths, "/tables/{table}/rollback",
                        change_op("Roll back or forward",
                                  "{\"snapshot_id\": N} or {\"as_of\": \"timestamp\"}: main "
                                  "points at that snapshot; history is kept.",
                                  e_change));
    json_object_set_new(paths, "/tables/{table}/refs",
                        change_op("Create or move a tag or branch",
                                  "{\"name\", \"type\": \"tag\"|\"branch\", \"snapshot_id\"?, "
                                  "\"max_ref_age_ms\"?, \"replace\"?}; {\"name\": \"main\", "
                                  "\"fast_forward\": \"branch\"} fast-forwards main (409 when main "
                                  "moved on). A tag that exists is 409 unless replace is true "
                                  "(body or ?replace=true); a branch moves.",
                                  e_change));
    json_object_set_new(
        paths, "/tables/{table}/refs/{name}",
        json_pack("{s:o}", "delete",
                  operation("changes", "Drop a tag or branch", "main cannot be dropped.",
                            json_pack("[o, o]", table_param(),
                                      param("name", "path", 1, type("string"), "tag or branch")),
                            NULL, json_content(type("object")), e_change)));
    json_object_set_new(paths, "/tables/{table}/delete",
                        change_op("Delete rows",
                                  "{\"where\": \"sql predicate\"}: position deletes, one "
                                  "commit; answers rows_affected and snapshot_id.",
                                  e_change));
    json_object_set_new(paths, "/tables/{table}/update",
                        change_op("Update rows",
                                  "{\"set\": {\"col\": \"sql expr\"}, \"where\": \"sql "
                                  "predicate\"}: one commit; answers rows_affected and "
                                  "snapshot_id.",
                                  e_change));
    json_object_set_new(paths, "/tables/{table}/maintenance",
                        change_op("Table maintenance",
                                  "{\"action\": \"compact\"} rewrites files with deletes and "
                                  "small files; expire_snapshots (older_than_ms, retain_last), "
                                  "rewrite_manifests, remove_orphans (older_than: \"1d\") and "
                                  "rewrite_metadata. \"dry_run\": true on compact, "
                                  "expire_snapshots and remove_orphans answers what they would "
                                  "do and changes nothing.",
                                  e_change));
    json_object_set_new(paths, "/tables/{table}/partitioning",
                        change_op("Partition evolution",
                                  "{\"partition_by\": \"day(ts), bucket(16, id)\"} (\"\" or null: "
                                  "unpartitioned): new data uses the new spec, old files keep "
                                  "theirs; answers spec_id and partition_spec.",
                                  e_change));
    json_object_set_new(
        paths, "/metrics",
        json_pack("{s:o}", "get",
                  operation("server", "Prometheus metrics",
                            "Requests by route and status, latencies, commits, conflicts, bytes.",
                            NULL, NULL,
                            json_pack("{s:{s:{s:s}}}", "text/plain", "schema", "type", "string"),
                            e_auth)));
    json_object_set_new(
        paths, "/maintenance/runs",
        json_pack(
            "{s:o}", "get",
            operation("server", "Scheduled maintenance runs",
                      "The last 50 actions of tarn serve --maintain-every, newest first: "
                      "started_ms, namespace, table, action, ok, files_removed, ms, error; "
                      "scheduled is false when no schedule runs.",
                      NULL, NULL,
                      json_pack("{s:{s:{s:s}}}", "application/json", "schema", "type", "object"),
                      e_auth)));
    json_object_set_new(
        paths, "/mcp",
        json_pack("{s:o}", "post",
                  operation("ai", "Model Context Protocol (Streamable HTTP)",
                            "One JSON-RPC 2.0 message per POST (initialize, tools/list, "
                            "tools/call, resources/list, resources/read, ping); the answer is "
                            "JSON, a notification gets 202. Tools: list_tables, describe_table, "
                            "query (one read-only SELECT), table_history, sample_rows. GET and "
                            "DELETE answer 405 (no event stream, no sessions). docs/AI.md.",
                            NULL, required_body(json_content(type("object"))),
                            json_content(type("object")), e_auth)));
    json_object_set_new(
        paths, "/ask",
        json_pack("{s:o}", "post",
                  operation("ai", "A question in plain language",
                            "{\"question\": \"...\", \"sample_rows\": n}: the tables' "
                            "schemas (and up to --ask-sample-rows rows of each) go to the model "
                            "at --llm-url, whose one read-only SELECT runs sandboxed; answers "
                            "question, sql, columns, rows, row_count, truncated, notes. 501 "
                            "without --llm-url, 502 when the model fails, 422 when its SQL "
                            "fails twice or is not a read-only SELECT.",
                            NULL, required_body(json_content(type("object"))),
                            json_content(type("object")), e_ask)));
    json_object_set_new(paths, "/openapi.json",
                        json_pack("{s:o}", "get",
                                  operation("server", "This document", "Served without a token.",
                                            NULL, NULL, json_content(type("object")), NULL)));
    json_object_set_new(
        paths, "/docs",
        json_pack("{s:o}", "get",
                  operation("server", "A page that renders this document",
                            "Served without a token.", NULL, NULL,
                            json_pack("{s:{s:{s:s}}}", "text/html", "schema", "type", "string"),
                            NULL)));

    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o, s:{s:{s:s, s:s}}}, s:[{s:[]}]}", "openapi", "3.0.3",
        "info", "title", "tarn", "version", version ? version : "unknown", "description",
        "A local data lakehouse: upload files into Apache Iceberg tables and query them with "
        "SQL. Every error is {\"error\": {\"message\", \"type\", \"code\"}}.",
        "paths", paths, "components", "schemas", schemas(), "securitySchemes", "bearerAuth", "type",
        "http", "scheme", "bearer", "security", "bearerAuth");
}

int tn_route_openapi(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    json_t *doc = openapi(req->opt->version);

    if (!doc)
        return tn_fail(err, TN_EINTERNAL, "cannot build the OpenAPI document");
    tn_http_reply_json(out, 200, doc);
    return 0;
}

/*---- /docs ----*/

/* Kept in parts: C compilers need only accept string literals up to 4095 characters. */
static const char *const docs_page[] = {
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>tarn API</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}\n"
    "h1{margin-bottom:.2rem}.op{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;"
    "padding:.6rem .9rem}\n"
    ".m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}\n"
    ".get{color:#1565c0}.post{color:#2e7d32}.delete{color:#c62828}\n"
    ".p{font-family:monospace}table{border-collapse:collapse;margin:.4rem 0}\n"
    "td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;"
    "vertical-align:top}\n"
    "code,pre{background:#f6f6f6;padding:.1rem .3rem;border-radius:3px}\n"
    ".muted{color:#777}\n</style></head><body>\n"
    "<h1>tarn API</h1><p id=\"info\" class=\"muted\">loading /openapi.json ...</p>\n"
    "<div id=\"ops\"></div>\n<script>\n",
    "function esc(s){return String(s==null?'':s).replace(/[&<>\"]/g,function(c){"
    "return {'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c];});}\n"
    "function typeOf(s){if(!s)return '';if(s.$ref)return s.$ref.split('/').pop();"
    "if(s.enum)return s.enum.join(' | ');return s.type||'';}\n"
    "fetch('openapi.json').then(function(r){return r.json();}).then(function(doc){\n"
    "  document.getElementById('info').innerHTML=esc(doc.info.description)+"
    "' <span class=\"muted\">(version '+esc(doc.info.version)+')</span>';\n"
    "  var html='';\n"
    "  Object.keys(doc.paths).forEach(function(path){\n"
    "    var item=doc.paths[path];\n"
    "    Object.keys(item).forEach(function(method){\n"
    "      var op=item[method];\n"
    "      html+='<div class=\"op\"><span class=\"m '+method+'\">'+method.toUpperCase()+"
    "'</span> <span class=\"p\">'+esc(path)+'</span> &mdash; <b>'+esc(op.summary)+'</b>';\n"
    "      html+='<p>'+esc(op.description)+'</p>';\n"
    "      if(op.parameters&&op.parameters.length){html+='<table><tr><th>parameter</th>"
    "<th>in</th><th>type</th><th>description</th></tr>';\n"
    "        op.parameters.forEach(function(p){html+='<tr><td><code>'+esc(p.name)+'</code>'+"
    "(p.required?' *':'')+'</td><td>'+esc(p.in)+'</td><td>'+esc(typeOf(p.schema))+"
    "'</td><td>'+esc(p.description)+'</td></tr>';});html+='</table>';}\n",
    "      if(op.requestBody){html+='<p>body: '+Object.keys(op.requestBody.content).map("
    "function(k){var s=op.requestBody.content[k].schema;return '<code>'+esc(k)+'</code>'+"
    "(s&&s.$ref?' '+esc(typeOf(s)):'');}).join(', ')+'</p>';}\n"
    "      html+='<p class=\"muted\">responses: '+Object.keys(op.responses).map(function(c){"
    "return esc(c)+' '+esc(op.responses[c].description);}).join('; ')+'</p></div>';\n"
    "    });\n  });\n"
    "  html+='<h2>Schemas</h2>';\n"
    "  Object.keys(doc.components.schemas).forEach(function(n){html+='<h3>'+esc(n)+"
    "'</h3><pre>'+esc(JSON.stringify(doc.components.schemas[n],null,2))+'</pre>';});\n"
    "  document.getElementById('ops').innerHTML=html;\n"
    "}).catch(function(e){document.getElementById('info').textContent="
    "'cannot load /openapi.json: '+e;});\n"
    "</script></body></html>\n",
    NULL,
};

int tn_route_docs(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);
    size_t len;
    char *text;

    (void)req;
    (void)err;
    for (size_t i = 0; docs_page[i]; i++)
        tn_buf_addstr(&b, docs_page[i], NULL);
    text = tn_buf_detach(&b, &len);
    tn_http_reply_text(out, 200, "text/html; charset=utf-8", text, len);
    return 0;
}
