/* ai.h - tarn for AI assistants and agents: the MCP server (tools and resources over JSON-RPC,
 * on standard input/output or on /mcp) and /ask, which turns a question in plain language into
 * one read-only SQL statement through an OpenAI-compatible chat-completions endpoint. Both read
 * the lake only through lake.c's views: one SELECT at a time, sandboxed and row-capped. */
#ifndef TN_AI_H
#define TN_AI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "table/table.h"

/*---- lake.c: read-only views of the warehouse ----*/

#define TN_LAKE_ROWS_DEFAULT 1000  /* rows a query answers unless asked for fewer */
#define TN_LAKE_ROWS_MAX     10000 /* the most a client may ask for */

/* How a query reads: at a snapshot (-1: current) or a time (NULL: now), at most max_rows rows
 * (0: TN_LAKE_ROWS_DEFAULT). */
struct tn_lake_read {
    int64_t snapshot_id;
    const char *as_of;
    size_t max_rows;
};

/* Every table: namespace, name, current_snapshot_id, total_records, data_files, last_updated_ms
 * (or error for one that cannot be read). */
json_t *tn_lake_tables(struct tn_warehouse *wh, struct tn_err *err);
/* One table ("ns.name" or "name"): schema, partitioning, identifier fields, properties, current
 * snapshot and the newest "history_max" snapshots (-1: all). */
json_t *tn_lake_describe(struct tn_warehouse *wh, const char *ident, int history_max,
                         struct tn_err *err);
/* One SELECT statement's answer: {columns: [{name, type}], rows: [[text or null]], row_count,
 * truncated}. Anything but one SELECT is refused (TN_EINPUT). */
json_t *tn_lake_query(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                      const struct tn_lake_read *read, struct tn_err *err);
/* The first "rows" rows of a table, as tn_lake_query answers them. */
json_t *tn_lake_sample(struct tn_warehouse *wh, struct tn_session *s, const char *ident,
                       size_t rows, struct tn_err *err);

/*---- mcp.c: the Model Context Protocol server ----*/

#define TN_MCP_LINE_MAX (4 * 1024 * 1024) /* one JSON-RPC message on standard input */

/* The answer to one JSON-RPC message (a request or a notification), or NULL when none is due
 * (notifications, responses). Never fails: errors are JSON-RPC errors or tool errors. */
json_t *tn_mcp_handle(struct tn_warehouse *wh, json_t *msg, const char *version);
/* Serve MCP over "in" and "out" (one JSON message per line) until "in" ends. */
int tn_mcp_stdio(struct tn_warehouse *wh, FILE *in, FILE *out, const char *version,
                 struct tn_err *err);

/*---- ask.c: questions in plain language ----*/

#define TN_ASK_QUESTION_MAX 4000 /* characters of a question */

struct tn_ask_options {
    const char *llm_url;   /* an OpenAI-compatible API base (".../v1") or its chat/completions URL;
                              NULL: /ask is not configured */
    const char *llm_model; /* the model to ask for (NULL: "default") */
    const char *llm_key;   /* sent as a bearer token when set */
    int sample_rows;       /* rows of each table put in the prompt (0: none) */
    int timeout_s;         /* for each call to the model (0: 60) */
};

/* Answer "question": {question, sql, columns, rows, row_count, truncated, notes}. The model's
 * SQL runs only when it is one read-only SELECT; a failing one is sent back once with its error.
 * TN_ENOTIMPL when no llm_url is set; TN_EUPSTREAM when the model cannot be reached;
 * TN_EUNPROCESSABLE when its SQL still fails after the retry. */
int tn_ask(struct tn_warehouse *wh, const struct tn_ask_options *opt, const char *question,
           json_t **out, struct tn_err *err);

/* The SQL in a model's answer: the first ```sql (or ```) block, else the whole text; without
 * the surrounding blanks and a final semicolon (caller frees). */
char *tn_ask_extract_sql(const char *text);

#endif /* TN_AI_H */
