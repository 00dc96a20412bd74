/* mcp.c - the Model Context Protocol server: JSON-RPC 2.0 messages in, answers out, over
 * standard input/output (`tarn mcp`) or HTTP (POST /mcp on `tarn serve`, routes_ai.c).
 *
 * Tools: list_tables, describe_table, query (one read-only SELECT, optionally at a snapshot or a
 * time, row-capped), table_history and sample_rows. Resources: each table's description at
 * tarn://tables/{ns}.{name}. A tool that fails (an unknown table, SQL that is not one SELECT)
 * answers a result with isError and the message, as the protocol asks; a malformed request or
 * an unknown tool or method is a JSON-RPC error. */
#include "ai/ai.h"

#include <stdlib.h>
#include <string.h>

#define RPC_PARSE_ERROR     (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_NO_METHOD       (-32601)
#define RPC_INVALID_PARAMS  (-32602)
#define RPC_NO_RESOURCE     (-32002)

#define RESOURCE_PREFIX "tarn://tables/"
#define SAMPLE_ROWS_MAX 100

/* The protocol versions this server speaks, newest first. */
static const char *const versions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

static json_t *rpc_error(json_t *id, int code, const char *message)
{
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", message);
}

static json_t *rpc_result(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

/*---- Tools ----*/

static json_t *string_prop(const char *description)
{
    return json_pack("{s:s, s:s}", "type", "string", "description", description);
}

static json_t *int_prop(const char *description, int max)
{
    return json_pack("{s:s, s:s, s:i, s:i}", "type", "integer", "description", description,
                     "minimum", 1, "maximum", max);
}

static json_t *tool(const char *name, const char *title, const char *description, json_t *props,
                    const char *required)
{
    json_t *schema = json_pack("{s:s, s:o}", "type", "object", "properties", props);

    if (required)
        json_object_set_new(schema, "required", json_pack("[s]", required));
    return json_pack("{s:s, s:s, s:s, s:o, s:{s:b, s:b}}", "name", name, "title", title,
                     "description", description, "inputSchema", schema, "annotations",
                     "readOnlyHint", 1, "openWorldHint", 0);
}

static json_t *tools_list(void)
{
    json_t *tools = json_array();

    json_array_append_new(tools, tool("list_tables", "List tables",
                                      "Every table of the lakehouse with its row count, data "
                                      "files, current snapshot and last change.",
                                      json_object(), NULL));
    json_array_append_new(
        tools, tool("describe_table", "Describe a table",
                    "A table's schema (Iceberg field ids, names, types, required), partitioning, "
                    "identifier fields, properties and its newest snapshots.",
                    json_pack("{s:o}", "table", string_prop("table name: name or namespace.name")),
                    "table"));
    json_array_append_new(
        tools,
        tool("query", "Run a read-only SQL query",
             "Run one SELECT statement in DuckDB's SQL over the lakehouse's tables (name or "
             "namespace.name; time travel with AT (VERSION => id) or AT (TIMESTAMP => ...)). "
             "Nothing can be changed; the answer has at most max_rows rows.",
             json_pack("{s:o, s:o, s:o, s:o}", "sql", string_prop("one SELECT statement"),
                       "snapshot_id", string_prop("read every table at this snapshot id"), "as_of",
                       string_prop("read every table as of this time, e.g. 2026-11-23 10:00:00"),
                       "max_rows", int_prop("rows to return (default 1000)", TN_LAKE_ROWS_MAX)),
             "sql"));
    json_array_append_new(
        tools, tool("table_history", "A table's history",
                    "A table's snapshots, oldest first: id, parent, time, operation and summary "
                    "(rows and files added and removed).",
                    json_pack("{s:o, s:o}", "table", string_prop("table name"), "limit",
                              int_prop("newest snapshots to return (default 50)", 10000)),
                    "table"));
    json_array_append_new(tools,
                          tool("sample_rows", "Sample rows",
                               "The first rows of a table, with column names and types.",
                               json_pack("{s:o, s:o}", "table", string_prop("table name"), "rows",
                                         int_prop("how many (default 10)", SAMPLE_ROWS_MAX)),
                               "table"));
    return json_pack("{s:o}", "tools", tools);
}

/* An optional positive integer argument, at most "max"; "dflt" when absent. */
static int int_arg(json_t *args, const char *key, int64_t dflt, int64_t max, int64_t *out,
                   struct tn_err *err)
{
    json_t *v = json_object_get(args, key);

    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return tn_fail(err, TN_EINPUT, "\"%s\" must be an integer from 1 to %lld", key,
                       (long long)max);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static const char *string_arg(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static json_t *call_query(struct tn_warehouse *wh, json_t *args, struct tn_err *err)
{
    struct tn_lake_read read = {.snapshot_id = -1, .as_of = string_arg(args, "as_of")};
    json_t *snap = json_object_get(args, "snapshot_id");
    struct tn_session *s = NULL;
    json_t *out;
    int64_t rows;

    if (!string_arg(args, "sql")) {
        tn_fail(err, TN_EINPUT, "give \"sql\": one SELECT statement");
        return NULL;
    }
    if (snap && json_is_integer(snap))
        read.snapshot_id = (int64_t)json_integer_value(snap);
    else if (snap && !json_is_null(snap) &&
             (!json_is_string(snap) || tn_parse_i64(json_string_value(snap), &read.snapshot_id))) {
        tn_fail(err, TN_EINPUT, "\"snapshot_id\" must be a snapshot id (digits)");
        return NULL;
    }
    if (int_arg(args, "max_rows", TN_LAKE_ROWS_DEFAULT, TN_LAKE_ROWS_MAX, &rows, err) ||
        tn_session_open(wh->engine, &s, err))
        return NULL;
    read.max_rows = (size_t)rows;
    out = tn_lake_query(wh, s, string_arg(args, "sql"), &read, err);
    tn_session_close(s);
    return out;
}

static json_t *call_sample(struct tn_warehouse *wh, json_t *args, struct tn_err *err)
{
    struct tn_session *s = NULL;
    json_t *out;
    int64_t rows;

    if (int_arg(args, "rows", 10, SAMPLE_ROWS_MAX, &rows, err) ||
        tn_session_open(wh->engine, &s, err))
        return NULL;
    out = tn_lake_sample(wh, s, string_arg(args, "table") ? string_arg(args, "table") : "",
                         (size_t)rows, err);
    tn_session_close(s);
    return out;
}

static json_t *call_history(struct tn_warehouse *wh, json_t *args, struct tn_err *err)
{
    json_t *d, *out;
    int64_t limit;

    if (int_arg(args, "limit", 50, 10000, &limit, err))
        return NULL;
    d = tn_lake_describe(wh, string_arg(args, "table") ? string_arg(args, "table") : "", (int)limit,
                         err);
    if (!d)
        return NULL;
    out = json_pack("{s:O, s:O}", "current_snapshot_id", json_object_get(d, "current_snapshot_id"),
                    "snapshots", json_object_get(d, "snapshots"));
    json_decref(d);
    return out;
}

/* tools/call: the tool's answer as text content (JSON), or isError with the message. */
static json_t *tools_call(struct tn_warehouse *wh, json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    struct tn_err err = {0};
    json_t *value = NULL;
    char *text;
    json_t *content;

    if (!name)
        return rpc_error(id, RPC_INVALID_PARAMS, "tools/call needs the tool's \"name\"");
    if (args && !json_is_object(args))
        return rpc_error(id, RPC_INVALID_PARAMS, "\"arguments\" must be an object");
    if (strcmp(name, "list_tables") == 0)
        value = tn_lake_tables(wh, &err);
    else if (strcmp(name, "describe_table") == 0)
        value = tn_lake_describe(wh, string_arg(args, "table") ? string_arg(args, "table") : "", 10,
                                 &err);
    else if (strcmp(name, "query") == 0)
        value = call_query(wh, args, &err);
    else if (strcmp(name, "table_history") == 0)
        value = call_history(wh, args, &err);
    else if (strcmp(name, "sample_rows") == 0)
        value = call_sample(wh, args, &err);
    else
        return rpc_error(id, RPC_INVALID_PARAMS, "no such tool (see tools/list)");
    if (!value) {
        text = tn_asprintf("%s: %s", tn_err_type(err.code), err.msg);
        content = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text,
                            "isError", 1);
        free(text);
        return rpc_result(id, content);
    }
    text = json_dumps(value, JSON_COMPACT);
    content =
        json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError", 0);
    free(text);
    json_decref(value);
    return rpc_result(id, content);
}

/*---- Resources ----*/

static json_t *resources_list(struct tn_warehouse *wh, json_t *id)
{
    struct tn_err err = {0};
    json_t *tables = tn_lake_tables(wh, &err), *list, *t;
    size_t i;

    if (!tables)
        return rpc_error(id, RPC_INVALID_REQUEST, err.msg);
    list = json_array();
    json_array_foreach(tables, i, t)
    {
        const char *ns = json_string_value(json_object_get(t, "namespace"));
        const char *name = json_string_value(json_object_get(t, "name"));
        char *uri = tn_asprintf(RESOURCE_PREFIX "%s.%s", ns, name);
        char *title = tn_asprintf("%s.%s", ns, name);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "uri", uri, "name", title,
                                              "description",
                                              "the table's schema, partitioning and snapshots",
                                              "mimeType", "application/json"));
        free(uri);
        free(title);
    }
    json_decref(tables);
    return rpc_result(id, json_pack("{s:o}", "resources", list));
}

static json_t *resources_read(struct tn_warehouse *wh, json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    struct tn_err err = {0};
    json_t *d;
    char *text;
    json_t *res;

    if (!uri || strncmp(uri, RESOURCE_PREFIX, strlen(RESOURCE_PREFIX)) != 0)
        return rpc_error(id, RPC_NO_RESOURCE, "no such resource (see resources/list)");
    d = tn_lake_describe(wh, uri + strlen(RESOURCE_PREFIX), 10, &err);
    if (!d)
        return rpc_error(id, RPC_NO_RESOURCE, err.msg);
    text = json_dumps(d, JSON_COMPACT);
    res = rpc_result(id, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri, "mimeType",
                                   "application/json", "text", text));
    free(text);
    json_decref(d);
    return res;
}

/*---- Dispatch ----*/

static json_t *initialize(json_t *id, json_t *params, const char *version)
{
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *answer = versions[0];

    for (size_t i = 0; asked && i < sizeof(versions) / sizeof(versions[0]); i++)
        if (strcmp(asked, versions[i]) == 0)
            answer = versions[i];
    return rpc_result(
        id, json_pack("{s:s, s:{s:{s:b}, s:{s:b, s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion",
                      answer, "capabilities", "tools", "listChanged", 0, "resources", "listChanged",
                      0, "subscribe", 0, "serverInfo", "name", "tarn", "title", "tarn lakehouse",
                      "version", version ? version : "unknown", "instructions",
                      "tarn is a lakehouse of Apache Iceberg tables. Use list_tables and "
                      "describe_table to learn the tables, then query with one read-only "
                      "SELECT in DuckDB's SQL; tables are named name or namespace.name."));
}

json_t *tn_mcp_handle(struct tn_warehouse *wh, json_t *msg, const char *version)
{
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *params = json_object_get(msg, "params");

    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0)
        return rpc_error(id, RPC_INVALID_REQUEST, "not a JSON-RPC 2.0 message");
    if (!method)
        return NULL; /* a response to us: we send no requests, so there is nothing to do */
    if (!id || json_is_null(id))
        return NULL; /* a notification: initialized, cancelled, ... */
    if (!json_is_string(id) && !json_is_integer(id))
        return rpc_error(NULL, RPC_INVALID_REQUEST, "\"id\" must be a string or an integer");
    if (params && !json_is_object(params))
        return rpc_error(id, RPC_INVALID_PARAMS, "\"params\" must be an object");
    if (strcmp(method, "initialize") == 0)
        return initialize(id, params, version);
    if (strcmp(method, "ping") == 0)
        return rpc_result(id, json_object());
    if (strcmp(method, "tools/list") == 0)
        return rpc_result(id, tools_list());
    if (strcmp(method, "tools/call") == 0)
        return tools_call(wh, id, params);
    if (strcmp(method, "resources/list") == 0)
        return resources_list(wh, id);
    if (strcmp(method, "resources/read") == 0)
        return resources_read(wh, id, params);
    if (strcmp(method, "resources/templates/list") == 0)
        return rpc_result(id, json_pack("{s:[]}", "resourceTemplates"));
    if (strcmp(method, "prompts/list") == 0)
        return rpc_result(id, json_pack("{s:[]}", "prompts"));
    return rpc_error(id, RPC_NO_METHOD, "no such method");
}

/* Read one line of "in" into "b" (without its newline): 0, -1 at the end of input, or 1 when
 * the line is longer than TN_MCP_LINE_MAX (the rest of it is skipped). */
static int read_line(FILE *in, struct tn_buf *b)
{
    int c, too_long = 0;

    tn_buf_reset(b);
    while ((c = getc(in)) != EOF && c != '\n') {
        char ch = (char)c;
        if (!too_long && tn_buf_add(b, &ch, 1, NULL))
            too_long = 1;
    }
    if (c == EOF && !b->len && !too_long)
        return -1;
    return too_long;
}

int tn_mcp_stdio(struct tn_warehouse *wh, FILE *in, FILE *out, const char *version,
                 struct tn_err *err)
{
    struct tn_buf line = TN_BUF_INIT(TN_MCP_LINE_MAX);
    int got;

    while ((got = read_line(in, &line)) >= 0) {
        json_error_t jerr;
        json_t *msg, *answer;
        if (got) {
            answer = rpc_error(NULL, RPC_INVALID_REQUEST, "message longer than 4 MiB");
        } else if (!line.len) {
            continue;
        } else if (!(msg = json_loadb(line.buf, line.len, 0, &jerr))) {
            answer = rpc_error(NULL, RPC_PARSE_ERROR, jerr.text);
        } else {
            answer = tn_mcp_handle(wh, msg, version);
            json_decref(msg);
        }
        if (answer) {
            char *text = json_dumps(answer, JSON_COMPACT);
            fprintf(out, "%s\n", text);
            fflush(out);
            free(text);
            json_decref(answer);
        }
    }
    tn_buf_release(&line);
    if (ferror(in))
        return tn_fail(err, TN_EINTERNAL, "reading standard input failed");
    return 0;
}
