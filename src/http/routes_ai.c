/* routes_ai.c - tarn for AI clients over HTTP: /mcp, the Model Context Protocol's Streamable
 * HTTP transport (each POST carries one JSON-RPC message and gets its answer as JSON; the
 * server opens no event stream, so GET is 405), and POST /ask, a question in plain language
 * answered with read-only SQL (src/ai). Both need the server's token like the rest of the API. */
#include "ai/ai.h"
#include "http/http.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* The MCP protocol versions a client may name in MCP-Protocol-Version. */
static int known_protocol(const char *v)
{
    return strcmp(v, "2025-06-18") == 0 || strcmp(v, "2025-03-26") == 0 ||
           strcmp(v, "2024-11-05") == 0;
}

int tn_route_mcp(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *version = tn_http_header(req, "MCP-Protocol-Version");
    json_t *answer;

    if (version && !known_protocol(version))
        return tn_fail(err, TN_EINPUT,
                       "MCP-Protocol-Version %.40s is not supported: use 2025-06-18, 2025-03-26 "
                       "or 2024-11-05",
                       version);
    if (!json_is_object(req->json))
        return tn_fail(err, TN_EINPUT, "send one JSON-RPC 2.0 message as a JSON object");
    answer = tn_mcp_handle(req->wh, req->json, req->opt->version);
    if (!answer) { /* a notification or a response: accepted, nothing to answer */
        tn_http_reply_text(out, 202, "application/json", tn_strdup(""), 0);
        return 0;
    }
    tn_http_reply_json(out, 200, answer);
    return 0;
}

/* GET and DELETE /mcp: this server keeps no sessions and opens no server-sent event stream. */
int tn_route_mcp_other(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *text =
        "{\"error\":{\"message\":\"this MCP server answers POST only (no event "
        "stream, no sessions)\",\"type\":\"MethodNotAllowedException\",\"code\":405}}";

    (void)req;
    (void)err;
    tn_http_reply_text(out, 405, "application/json", tn_strdup(text), strlen(text));
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_ALLOW, "POST");
    return 0;
}

int tn_route_ask(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_ask_options opt = req->opt->ask;
    json_t *q = json_object_get(req->json, "question");
    json_t *rows = json_object_get(req->json, "sample_rows");
    json_t *answer = NULL;

    if (!json_is_string(q))
        return tn_fail(err, TN_EINPUT, "send {\"question\": \"...\"}");
    if (rows && !json_is_null(rows)) {
        if (!json_is_integer(rows) || json_integer_value(rows) < 0 || json_integer_value(rows) > 20)
            return tn_fail(err, TN_EINPUT, "\"sample_rows\" must be an integer from 0 to 20");
        /* a request may send fewer rows to the model than the server allows, never more */
        if (json_integer_value(rows) < opt.sample_rows)
            opt.sample_rows = (int)json_integer_value(rows);
    }
    if (tn_ask(req->wh, &opt, json_string_value(q), &answer, err))
        return err->code;
    tn_http_reply_json(out, 200, answer);
    return 0;
}
