/* ask.c - a question in plain language, answered with one read-only SQL statement: the tables'
 * schemas (and, unless turned off, a few sample rows of each) go to an OpenAI-compatible
 * chat-completions endpoint with the instruction to answer one SELECT; the SQL that comes back
 * runs through lake.c (one SELECT only, sandboxed, row-capped), and a failing statement is sent
 * back once with its error. Nothing the model writes can change the lake: tn_query_resolve takes
 * SELECT statements only, from DuckDB's parse tree. */
#include "ai/ai.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROMPT_TABLES_MAX 50                /* tables described in one prompt */
#define REPLY_MAX         (4 * 1024 * 1024) /* bytes of the model's answer */
#define CELL_MAX          60                /* characters of a sample value in the prompt */

static const char instructions[] =
    "You write SQL for tarn, a lakehouse queried in DuckDB's SQL dialect. Answer the user's "
    "question with exactly one read-only SELECT statement (WITH ... SELECT is fine) over the "
    "tables below, in a ```sql block, and nothing else. Never write INSERT, UPDATE, DELETE, "
    "MERGE, CREATE, DROP, ALTER, COPY, ATTACH, SET, PRAGMA or file functions: they are refused. "
    "Name tables as shown (name, or namespace.name for namespaces other than default).\n";

/*---- The prompt ----*/

static void add_cell(struct tn_buf *b, const char *v)
{
    size_t n;

    if (!v) {
        tn_buf_addstr(b, "NULL", NULL);
        return;
    }
    n = strlen(v);
    for (size_t i = 0; i < n && i < CELL_MAX; i++)
        tn_buf_add(b, v[i] == '\n' || v[i] == '\r' ? " " : &v[i], 1, NULL);
    if (n > CELL_MAX)
        tn_buf_addstr(b, "...", NULL);
}

/* One table's lines: its name, its columns with DuckDB's types, and sample rows. */
static void describe_table(struct tn_warehouse *wh, struct tn_session *s, json_t *t,
                           int sample_rows, struct tn_buf *b)
{
    const char *ns = json_string_value(json_object_get(t, "namespace"));
    const char *name = json_string_value(json_object_get(t, "name"));
    char *ident = strcmp(ns, "default") == 0 ? tn_strdup(name) : tn_asprintf("%s.%s", ns, name);
    struct tn_err err = {0};
    json_t *sample = tn_lake_sample(wh, s, ident, sample_rows > 0 ? (size_t)sample_rows : 1, &err);
    json_t *cols, *rows, *c, *row;
    size_t i, k;

    tn_buf_addf(b, NULL, "\nTable %s", ident);
    if (json_is_string(json_object_get(t, "total_records")))
        tn_buf_addf(b, NULL, " (%s rows)", json_string_value(json_object_get(t, "total_records")));
    if (!sample) {
        tn_buf_addf(b, NULL, ": cannot be read (%s)\n", err.msg);
        free(ident);
        return;
    }
    cols = json_object_get(sample, "columns");
    tn_buf_addstr(b, "\n  columns: ", NULL);
    json_array_foreach(cols, i, c)
    {
        tn_buf_addf(b, NULL, "%s%s %s", i ? ", " : "",
                    json_string_value(json_object_get(c, "name")),
                    json_string_value(json_object_get(c, "type")));
    }
    tn_buf_addstr(b, "\n", NULL);
    rows = json_object_get(sample, "rows");
    if (sample_rows > 0 && json_array_size(rows)) {
        tn_buf_addstr(b, "  sample rows:\n", NULL);
        json_array_foreach(rows, i, row)
        {
            json_t *v;
            tn_buf_addstr(b, "  ", NULL);
            json_array_foreach(row, k, v)
            {
                if (k)
                    tn_buf_addstr(b, " | ", NULL);
                add_cell(b, json_string_value(v));
            }
            tn_buf_addstr(b, "\n", NULL);
        }
    }
    json_decref(sample);
    free(ident);
}

static char *system_prompt(struct tn_warehouse *wh, struct tn_session *s, int sample_rows,
                           json_t *notes, struct tn_err *err)
{
    json_t *tables = tn_lake_tables(wh, err), *t;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);
    size_t i;

    if (!tables)
        return NULL;
    tn_buf_addstr(&b, instructions, NULL);
    tn_buf_addstr(&b, "\nThe tables:\n", NULL);
    json_array_foreach(tables, i, t)
    {
        if (i == PROMPT_TABLES_MAX) {
            json_array_append_new(notes, json_sprintf("only the first %d of %zu tables were "
                                                      "described to the model",
                                                      PROMPT_TABLES_MAX, json_array_size(tables)));
            break;
        }
        describe_table(wh, s, t, sample_rows, &b);
    }
    if (!json_array_size(tables))
        tn_buf_addstr(&b, "(none yet)\n", NULL);
    json_decref(tables);
    return tn_buf_detach(&b, NULL);
}

/*---- The chat-completions call ----*/

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    struct tn_buf *b = user;

    return tn_buf_add(b, data, size * n, NULL) ? 0 : size * n;
}

static char *chat_url(const char *base)
{
    size_t n = strlen(base);

    if (n >= 17 && strcmp(base + n - 17, "/chat/completions") == 0)
        return tn_strdup(base);
    return tn_asprintf("%s%schat/completions", base, n && base[n - 1] == '/' ? "" : "/");
}

/* Send "messages" and answer the first choice's content (caller frees). */
static char *chat(const struct tn_ask_options *opt, json_t *messages, struct tn_err *err)
{
    json_t *req = json_pack("{s:s, s:O, s:f}", "model", opt->llm_model ? opt->llm_model : "default",
                            "messages", messages, "temperature", 0.0);
    char *body = json_dumps(req, JSON_COMPACT), *url = chat_url(opt->llm_url), *auth = NULL;
    struct tn_buf reply = TN_BUF_INIT(REPLY_MAX);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *curl = curl_easy_init();
    char *content = NULL;
    CURLcode cc;
    long status = 0;

    json_decref(req);
    if (opt->llm_key && *opt->llm_key) {
        auth = tn_asprintf("Authorization: Bearer %s", opt->llm_key);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)(opt->timeout_s > 0 ? opt->timeout_s : 60));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        tn_fail(err, TN_EUPSTREAM, "cannot reach the model at %s: %s", url, curl_easy_strerror(cc));
    } else if (status != 200) {
        tn_fail(err, TN_EUPSTREAM, "the model at %s answered HTTP %ld: %.300s", url, status,
                reply.buf ? reply.buf : "");
    } else {
        json_error_t jerr;
        json_t *j = json_loadb(reply.buf ? reply.buf : "", reply.len, 0, &jerr);
        const char *text = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"),
            "content"));
        if (text)
            content = tn_strdup(text);
        else
            tn_fail(err, TN_EUPSTREAM,
                    "the model at %s did not answer a chat completion (no choices[0].message."
                    "content)",
                    url);
        json_decref(j);
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    tn_buf_release(&reply);
    free(auth);
    free(url);
    free(body);
    return content;
}

char *tn_ask_extract_sql(const char *text)
{
    const char *start = strstr(text, "```"), *end;
    size_t n;
    char *sql;

    if (start) {
        start += 3;
        if (strncasecmp(start, "sql", 3) == 0)
            start += 3;
        end = strstr(start, "```");
        if (!end)
            end = start + strlen(start);
    } else {
        start = text;
        end = text + strlen(text);
    }
    while (start < end && strchr(" \t\r\n", *start))
        start++;
    while (end > start && strchr(" \t\r\n;", end[-1]))
        end--;
    n = (size_t)(end - start);
    sql = tn_malloc(n + 1);
    memcpy(sql, start, n);
    sql[n] = '\0';
    return sql;
}

int tn_ask(struct tn_warehouse *wh, const struct tn_ask_options *opt, const char *question,
           json_t **out, struct tn_err *err)
{
    struct tn_session *s = NULL;
    json_t *notes = json_array(), *messages = NULL, *answer = NULL;
    char *prompt = NULL, *reply = NULL, *sql = NULL;
    struct tn_lake_read read = {.snapshot_id = -1};
    int rc;

    *out = NULL;
    if (!opt || !opt->llm_url || !*opt->llm_url) {
        json_decref(notes);
        return tn_fail(err, TN_ENOTIMPL,
                       "questions need a model: start tarn with --llm-url URL (an OpenAI-"
                       "compatible API such as llama.cpp's server, Ollama, vLLM or OpenAI) and "
                       "--llm-model NAME; the key comes from TARN_LLM_API_KEY (docs/AI.md)");
    }
    if (!question || !*question || strlen(question) > TN_ASK_QUESTION_MAX) {
        json_decref(notes);
        return tn_fail(err, TN_EINPUT, "give a question of 1 to %d characters",
                       TN_ASK_QUESTION_MAX);
    }
    rc = tn_session_open(wh->engine, &s, err);
    if (!rc && !(prompt = system_prompt(wh, s, opt->sample_rows, notes, err)))
        rc = err->code;
    if (rc)
        goto out;
    json_array_append_new(notes, json_string(opt->sample_rows > 0
                                                 ? "the tables' schemas and sample rows were "
                                                   "sent to the model"
                                                 : "the tables' schemas (no rows) were sent to "
                                                   "the model"));
    messages = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", prompt, "role",
                         "user", "content", question);
    for (int attempt = 0; attempt < 2; attempt++) {
        struct tn_err qerr = {0};
        free(reply);
        free(sql);
        sql = NULL;
        if (!(reply = chat(opt, messages, err))) {
            rc = err->code;
            goto out;
        }
        sql = tn_ask_extract_sql(reply);
        answer = tn_lake_query(wh, s, sql, &read, &qerr);
        if (answer)
            break;
        if (attempt == 1) {
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "the model's SQL failed twice; last: %.1000s -- error: %s", sql, qerr.msg);
            goto out;
        }
        json_array_append_new(notes, json_sprintf("the first SQL failed and was sent back once: "
                                                  "%s",
                                                  qerr.msg));
        json_array_append_new(messages,
                              json_pack("{s:s, s:s}", "role", "assistant", "content", reply));
        json_array_append_new(
            messages, json_pack("{s:s, s:s++}", "role", "user", "content",
                                "That statement failed: ", qerr.msg,
                                "\nAnswer with one corrected read-only SELECT statement in a "
                                "```sql block."));
    }
    if (json_is_true(json_object_get(answer, "truncated")))
        json_array_append_new(notes,
                              json_sprintf("the answer was cut at %d rows", TN_LAKE_ROWS_DEFAULT));
    json_object_set_new(answer, "question", json_string(question));
    json_object_set_new(answer, "sql", json_string(sql));
    json_object_set(answer, "notes", notes);
    *out = answer;
    answer = NULL;
out:
    json_decref(answer);
    json_decref(messages);
    json_decref(notes);
    free(prompt);
    free(reply);
    free(sql);
    tn_session_close(s);
    return rc;
}
