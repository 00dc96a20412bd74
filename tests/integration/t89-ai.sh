#!/usr/bin/env bash
# t89-ai.sh - tarn for AI clients: the MCP server driven by the official MCP TypeScript SDK's
# client over standard input/output (`tarn mcp`) and Streamable HTTP (`/mcp`), and /ask against a
# scripted chat-completions server (tests/ai/fake-llm.mjs) that records what tarn sends and
# answers good, wrong and hostile SQL; `tarn ask` on the command line and in the shell.
. "$(dirname "$0")/lib.sh"

AI_DIR=$ROOT/build/ai
if [ ! -f "$AI_DIR/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
    mkdir -p "$AI_DIR"
    cp "$ROOT/tests/ai/package.json" "$ROOT/tests/ai/package-lock.json" "$AI_DIR/"
    (cd "$AI_DIR" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
        { bad "npm could not install @modelcontextprotocol/sdk"; finish; exit; }
fi
cp "$ROOT/tests/ai/mcp-client.mjs" "$ROOT/tests/ai/fake-llm.mjs" "$AI_DIR/"

wh=$(wh_new ai)
printf 'id,region,amount\n1,EU,10.5\n2,US,20\n3,EU,7.25\n' >"$TMP/sales.csv"
check "a table to ask about" "$TARN" ingest sales "$TMP/sales.csv" --warehouse "$wh"

# client_checks OUTPUT: count the MCP client's ok/FAIL lines
client_checks() {
    while IFS= read -r line; do
        case $line in
        "ok   "*) ok "mcp ${line#ok   }" ;;
        "FAIL "*) bad "mcp ${line#FAIL }" ;;
        esac
    done <"$1"
    grep -qE '^(ok|FAIL) ' "$1" || { bad "the MCP client ran"; tail -n 20 "$1" | sed 's/^/    /'; }
}

#---- MCP over standard input/output ----
if [ "$TEST_STORAGE" = local ]; then
    node "$AI_DIR/mcp-client.mjs" stdio "$TARN" "$wh" >"$TMP/stdio.out" 2>&1
    client_checks "$TMP/stdio.out"
    check "tarn mcp answers a parse error for a line that is not JSON" \
        bash -c "echo 'not json' | '$TARN' mcp --warehouse '$wh' | grep -q '\"code\":-32700'"
fi

#---- The server: MCP over HTTP, /ask ----
node "$AI_DIR/fake-llm.mjs" "$TMP/llm.port" "$TMP/llm.log" &
LLM_PID=$!
SERVER_PIDS+=("$LLM_PID")
for _ in $(seq 100); do [ -s "$TMP/llm.port" ] && break; sleep 0.1; done
LLM=http://127.0.0.1:$(cat "$TMP/llm.port")/v1

start_server "$wh" --token tk
plain=$BASE
node "$AI_DIR/mcp-client.mjs" http "$plain/mcp" tk >"$TMP/http.out" 2>&1
client_checks "$TMP/http.out"
status_is "/mcp needs the token" 401 post /mcp '{"jsonrpc":"2.0","id":1,"method":"ping"}'
status_is "/mcp answers a notification with 202" 202 \
    post /mcp '{"jsonrpc":"2.0","method":"notifications/initialized"}' -H 'Authorization: Bearer tk'
status_is "GET /mcp is 405 (no event stream)" 405 call GET /mcp -H 'Authorization: Bearer tk'
status_is "an unknown MCP-Protocol-Version is a 400" 400 \
    post /mcp '{"jsonrpc":"2.0","id":1,"method":"ping"}' -H 'Authorization: Bearer tk' \
    -H 'MCP-Protocol-Version: 1999-01-01'
status_is "/ask without --llm-url answers 501" 501 \
    post /ask '{"question":"total by region"}' -H 'Authorization: Bearer tk'
expect_eq "the 501 says how to configure it" "$(jv 'd["error"]["message"]' | grep -c -- '--llm-url')" 1

TARN_LLM_API_KEY=llm-key start_server "$wh" --llm-url "$LLM" --llm-model tiny-sql
ask() { post /ask "{\"question\": \"$1\"}"; }

status_is "a question is answered" 200 ask "What is the total by region?"
expect_eq "with the model's SQL" "$(jv 'd["sql"]')" \
    "SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region"
expect_eq "and its rows" "$(jv 'd["rows"]')" '[["EU", "17.75"], ["US", "20.0"]]'
expect_eq "and the columns' types" "$(jv '[c["type"] for c in d["columns"]]')" '["VARCHAR", "DOUBLE"]'
req=$(tail -n 1 "$TMP/llm.log")
expect_eq "tarn calls chat/completions with the model and the key" \
    "$(echo "$req" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["url"], r["body"]["model"], r["auth"])')" \
    "/v1/chat/completions tiny-sql Bearer llm-key"
prompt=$(echo "$req" | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["messages"][0]["content"])')
check "the prompt has the tables' columns and types" grep -q "columns: id BIGINT, region VARCHAR, amount DOUBLE" <<<"$prompt"
check "the prompt has sample rows" grep -q "1 | EU | 10.5" <<<"$prompt"
check "the prompt says read-only, one SELECT" grep -q "exactly one read-only SELECT" <<<"$prompt"

status_is "a failing SQL is sent back once with its error, then answered" 200 ask "broken then fixed"
expect_eq "the corrected SQL's answer" "$(jv 'd["rows"]')" '[["3"]]'
check "the note says it was retried" grep -q "sent back once" <<<"$(jv 'd["notes"]')"
check "the retry carried the error" \
    bash -c "tail -n 1 '$TMP/llm.log' | grep -q 'That statement failed: .*no_such_column'"

for q in "delete everything" "read a file" "stack statements" "copy out" "define a macro"; do
    status_is "hostile SQL is refused: $q" 422 ask "$q"
done
check "nothing was written by the hostile SQL" test ! -e /tmp/tarn-ask-pwn.csv
expect_eq "the table is unchanged" "$(csvq 'SELECT count(*), upper('"'"'x'"'"') FROM sales')" "3,X"
status_is "a model that fails is a 502" 502 ask "the model is down"
status_is "an empty question is a 400" 400 ask ""
status_is "a question over 4,000 characters is a 400" 400 ask "$(head -c 5000 /dev/zero | tr '\0' 'x')"
status_is "a body that is not JSON is a 400" 400 post /ask 'not json'
status_is "a question that is not a string is a 400" 400 post /ask '{"question": [1, 2]}'

start_server "$wh" --llm-url "$LLM" --ask-sample-rows 0
status_is "with --ask-sample-rows 0 a question is still answered" 200 ask "total by region"
check "and no rows were sent" bash -c "! tail -n 1 '$TMP/llm.log' | grep -q 'sample rows'"

#---- tarn ask on the command line ----
if [ "$TEST_STORAGE" = local ]; then
    out=$("$TARN" ask "total by region" --warehouse "$wh" --llm-url "$LLM" 2>/dev/null)
    check "tarn ask prints the SQL and the rows" \
        bash -c "grep -q 'SELECT region' <<<'$out' && grep -q '17.75' <<<'$out'"
    check_fails "tarn ask without --llm-url says how to configure it" 2 "--llm-url" \
        "$TARN" ask "total by region" --warehouse "$wh"
    out=$(printf 'ask total by region\n' | "$TARN" shell --warehouse "$wh" --llm-url "$LLM" 2>&1)
    check "the shell's ask answers" grep -q "17.75" <<<"$out"
fi
check "tarn ask --remote goes through the server's /ask" \
    bash -c "'$TARN' ask 'total by region' --remote '$BASE' | grep -q '17.75'"
finish
