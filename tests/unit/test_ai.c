/* test_ai.c - the MCP server's JSON-RPC handling (what needs no warehouse: versions, errors,
 * notifications, the tool list) and how /ask takes the SQL out of a model's answer. The tools
 * themselves run in tests/integration/t89-ai.sh against a real warehouse. */
#include "ai/ai.h"
#include "tn_test.h"

#include <stdlib.h>

static json_t *rpc(const char *text)
{
    json_error_t jerr;
    json_t *msg = json_loads(text, 0, &jerr);
    json_t *answer = tn_mcp_handle(NULL, msg, "9.9");

    json_decref(msg);
    return answer;
}

static int error_code(json_t *answer)
{
    return (int)json_integer_value(json_object_get(json_object_get(answer, "error"), "code"));
}

static void test_initialize_negotiates_the_version(void)
{
    json_t *a = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                    "{\"protocolVersion\":\"2025-03-26\"}}");
    json_t *r = json_object_get(a, "result");

    CHECK_STR_EQ(json_string_value(json_object_get(r, "protocolVersion")), "2025-03-26");
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(r, "serverInfo"), "version")),
                 "9.9");
    CHECK(json_object_get(json_object_get(r, "capabilities"), "tools") != NULL);
    json_decref(a);
    a = rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":"
            "{\"protocolVersion\":\"1999-01-01\"}}");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_object_get(a, "result"), "protocolVersion")),
        "2025-06-18");
    json_decref(a);
}

static void test_notifications_get_no_answer(void)
{
    CHECK(rpc("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") == NULL);
    CHECK(rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}") == NULL);
}

static void test_protocol_errors(void)
{
    json_t *a = rpc("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}");
    CHECK_INT_EQ(error_code(a), -32600);
    json_decref(a);
    a = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no/such\"}");
    CHECK_INT_EQ(error_code(a), -32601);
    json_decref(a);
    a = rpc(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}");
    CHECK_INT_EQ(error_code(a), -32602);
    json_decref(a);
    a = rpc("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}");
    CHECK_INT_EQ(error_code(a), -32600);
    json_decref(a);
    a = rpc("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"ping\",\"params\":[1]}");
    CHECK_INT_EQ(error_code(a), -32602);
    json_decref(a);
    a = rpc("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"resources/read\",\"params\":"
            "{\"uri\":\"file:///etc/passwd\"}}");
    CHECK_INT_EQ(error_code(a), -32002);
    json_decref(a);
}

static void test_tools_are_listed_read_only(void)
{
    json_t *a = rpc("{\"jsonrpc\":\"2.0\",\"id\":\"t\",\"method\":\"tools/list\"}");
    json_t *tools = json_object_get(json_object_get(a, "result"), "tools"), *t;
    size_t i;

    CHECK_STR_EQ(json_string_value(json_object_get(a, "id")), "t");
    CHECK_INT_EQ(json_array_size(tools), 5);
    json_array_foreach(tools, i, t)
    {
        CHECK(json_is_object(json_object_get(t, "inputSchema")));
        CHECK(json_is_true(json_object_get(json_object_get(t, "annotations"), "readOnlyHint")));
    }
    json_decref(a);
}

static void test_sql_is_taken_from_the_answer(void)
{
    char *s = tn_ask_extract_sql("Sure!\n```sql\nSELECT 1;\n```\nDone.");
    CHECK_STR_EQ(s, "SELECT 1");
    free(s);
    s = tn_ask_extract_sql("```\n  SELECT a FROM t ; \n```");
    CHECK_STR_EQ(s, "SELECT a FROM t");
    free(s);
    s = tn_ask_extract_sql("SELECT 2");
    CHECK_STR_EQ(s, "SELECT 2");
    free(s);
    s = tn_ask_extract_sql("```SQL\nSELECT 3"); /* an unclosed block */
    CHECK_STR_EQ(s, "SELECT 3");
    free(s);
    s = tn_ask_extract_sql("");
    CHECK_STR_EQ(s, "");
    free(s);
}

static const struct tn_test ai[] = {
    {"initialize_negotiates_the_version", test_initialize_negotiates_the_version},
    {"notifications_get_no_answer", test_notifications_get_no_answer},
    {"protocol_errors", test_protocol_errors},
    {"tools_are_listed_read_only", test_tools_are_listed_read_only},
    {"sql_is_taken_from_the_answer", test_sql_is_taken_from_the_answer},
    {NULL, NULL},
};
TN_SUITE(ai)
