/* ai.c - the command line's AI commands: `tarn mcp` serves the Model Context Protocol on
 * standard input and output for an assistant that starts tarn itself, and `tarn ask "question"`
 * (also `ask` in the shell) answers a question in plain language with read-only SQL, on a local
 * warehouse or through a server's POST /ask. */
#include "ai/ai.h"
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

int cli_mcp(struct cli *c, struct tn_err *err)
{
    struct tn_warehouse *wh;

    if (c->o.remote)
        return tn_fail(err, TN_EINPUT,
                       "tarn mcp serves a local warehouse; an assistant reaches a server at its "
                       "/mcp endpoint instead (docs/AI.md)");
    if (cli_warehouse(c, &wh, err))
        return err->code;
    return tn_mcp_stdio(wh, stdin, stdout, TN_CLI_VERSION, err);
}

/* Print an /ask answer: the SQL, the rows as a table, then the notes. */
static void print_answer(json_t *a)
{
    json_t *cols = json_object_get(a, "columns"), *rows = json_object_get(a, "rows");
    struct tn_rows r = {0};
    size_t i, k;
    json_t *v, *row;

    printf("-- %s\n%s\n", json_string_value(json_object_get(a, "question")),
           json_string_value(json_object_get(a, "sql")));
    r.ncols = json_array_size(cols);
    r.nrows = json_array_size(rows);
    r.names = tn_calloc(r.ncols + 1, sizeof(char *));
    r.cells = tn_calloc(r.ncols * r.nrows + 1, sizeof(char *));
    json_array_foreach(cols, i, v) r.names[i] =
        (char *)json_string_value(json_object_get(v, "name"));
    json_array_foreach(rows, i, row)
    {
        json_array_foreach(row, k, v)
        {
            if (k < r.ncols)
                r.cells[i * r.ncols + k] = (char *)json_string_value(v);
        }
    }
    cli_print_table(stdout, &r);
    free(r.names);
    free(r.cells);
    json_array_foreach(json_object_get(a, "notes"), i, v)
        fprintf(stderr, "note: %s\n", json_string_value(v));
}

int cli_ask(struct cli *c, const struct tn_ask_options *opt, const char *question,
            struct tn_err *err)
{
    struct tn_warehouse *wh;
    json_t *answer = NULL;
    int rc;

    if (c->remote) {
        json_t *body = json_pack("{s:s}", "question", question);
        rc = cli_remote_json(c->remote, "POST", "/ask", body, &answer, err);
        json_decref(body);
    } else {
        rc = cli_warehouse(c, &wh, err);
        if (!rc)
            rc = tn_ask(wh, opt, question, &answer, err);
    }
    if (!rc)
        print_answer(answer);
    json_decref(answer);
    return rc;
}
