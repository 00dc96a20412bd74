#!/usr/bin/env bash
# t93-hostile-http: requests meant to hurt the server, or sent by a web page: trickled headers,
# a large body before any token, cross-site writes, DNS rebinding, CORS, queries that do not
# stop when cancelled, clients that hang up, SIGTERM under load, a full disk; plus /health
# without a token, the CLI's 401 hint and the access log.
source "$(dirname "$0")/lib.sh"

now_ms() { date +%s%3N; }
log_has() { grep -qF -- "$1" "$TMP/server.log"; }

#---- a server with a token: /health, 401 hint, access log, pre-auth bodies ----
start_server "$(wh_new tok)" --token s3cret || bad "tarn serve starts with these options"
TOK_BASE=$BASE TOK_PID=$SERVER_PID
status_is "/health answers without the token" 200 call GET /health
status_is "/tables still needs the token" 401 call GET /tables
check_fails "the CLI's 401 names --token and TARN_TOKEN" 2 "TARN_TOKEN" \
    env -u TARN_TOKEN "$TARN" tables --remote "$BASE"
status_is "GET /query with the token" 200 call GET "/query?sql=SELECT+'hunter2'+AS+x" \
    -H 'Authorization: Bearer s3cret'
sleep 0.3
if log_has '"GET /query" 200' && log_has '"GET /tables" 401' && ! log_has hunter2; then
    ok "access log: one line per request, without the query string"
else
    bad "access log: one line per request, without the query string"; tail -5 "$TMP/server.log"
fi

# an unauthenticated POST that declares 100 MB: refused (413) at once, nothing reserved
tmp_before=$(ls "$(wh_new tok)/.tmp" 2>/dev/null | wc -l)
port=${TOK_BASE##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /iceberg/v1/oauth/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 104857600\r\n\r\n' >&3
line=$(timeout 3 head -n 1 <&3 | tr -d '\r')
tmp_during=$(ls "$(wh_new tok)/.tmp" 2>/dev/null | wc -l)
exec 3<&- 3>&-
expect_eq "pre-auth 100 MB body refused at once" "${line:0:12}" "HTTP/1.1 413"
expect_eq "pre-auth body reserved no temporary file" "$tmp_during" "$tmp_before"
status_is "the token endpoint still takes a small form" 200 call POST /iceberg/v1/oauth/tokens \
    -d grant_type=client_credentials -d client_id=x -d client_secret=s3cret

#---- a loopback server without a token: cross-site requests, Host, CORS ----
# (the new options as environment variables: an older tarn starts too, and fails the checks)
export TARN_CORS_ORIGIN=http://allowed.example
start_server "$(wh_new open)" || bad "tarn serve starts with these options"
unset TARN_CORS_ORIGIN
HOSTPORT=${BASE#http://}
printf 'id,v\n1,a\n' >"$TMP/x.csv"
status_is "text/plain POST /query refused" 415 call POST /query -H 'Content-Type: text/plain' \
    --data-binary '{"sql":"SELECT 1"}'
status_is "cross-site POST /query refused" 403 call POST /query -H 'Origin: http://evil.example' \
    -H 'Content-Type: application/json' --data-binary '{"sql":"SELECT 1"}'
status_is "cross-site multipart ingest refused" 403 call POST /ingest/xs \
    -H 'Origin: http://evil.example' -F file=@"$TMP/x.csv"
status_is "... and created no table" 404 call GET /tables/xs
status_is "cross-site write with only Sec-Fetch-Site refused" 403 call POST /ingest/xs \
    -H 'Sec-Fetch-Site: cross-site' -F file=@"$TMP/x.csv"
status_is "same-origin POST allowed" 200 call POST /query -H "Origin: $BASE" \
    -H 'Content-Type: application/json' --data-binary '{"sql":"SELECT 1"}'
status_is "curl -d (no Origin) still works" 200 call POST /query -d '{"sql":"SELECT 1"}'
status_is "multipart ingest from curl still works" 200 call POST /ingest/xs -F file=@"$TMP/x.csv"
status_is "a rebound Host name refused" 403 call GET /tables -H "Host: evil.example:${BASE##*:}"
status_is "Host localhost allowed" 200 call GET /tables -H "Host: localhost:${BASE##*:}"
code=$(curl -s -o /dev/null -D "$TMP/h" -w '%{http_code}' -X POST -H 'Origin: http://allowed.example' \
    -H 'Content-Type: application/json' --data-binary '{"sql":"SELECT 1"}' "$BASE/query")
if [ "$code" = 200 ] && grep -qi '^Access-Control-Allow-Origin: http://allowed.example' "$TMP/h" &&
    grep -qi '^Vary: Origin' "$TMP/h"; then
    ok "an allowed origin may POST and gets Access-Control-Allow-Origin"
else
    bad "an allowed origin may POST and gets Access-Control-Allow-Origin ($code)"; cat "$TMP/h"
fi
code=$(curl -s -o /dev/null -D "$TMP/h" -w '%{http_code}' -X OPTIONS \
    -H 'Origin: http://allowed.example' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type, authorization' "$BASE/query")
if [ "$code" = 204 ] && grep -qi '^Access-Control-Allow-Methods:.*POST' "$TMP/h" &&
    grep -qi '^Access-Control-Allow-Headers:.*authorization' "$TMP/h" &&
    grep -qi '^Access-Control-Max-Age:' "$TMP/h"; then
    ok "CORS preflight answered for an allowed origin"
else
    bad "CORS preflight answered for an allowed origin ($code)"; cat "$TMP/h"
fi
status_is "CORS preflight refused for another origin" 403 call OPTIONS /query \
    -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST'

#---- slowloris: trickled headers neither lock others out nor stay open ----
cat >"$TMP/trickle.js" <<'EOF'
// PORT COUNT LOCAL_ADDRESS SECONDS: COUNT connections sending a request's headers a byte every
// 500 ms; after SECONDS, print how many the server has closed.
const net = require('net');
const [port, count, local, seconds] = process.argv.slice(2);
let closed = 0;
for (let i = 0; i < Number(count); i++) {
    const s = net.connect({port: Number(port), host: '127.0.0.1', localAddress: local});
    let timer = null;
    s.on('connect', () => {
        s.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        timer = setInterval(() => s.write('a'), 500);
    });
    s.on('error', () => {});
    s.on('close', () => { closed++; if (timer) clearInterval(timer); });
}
setTimeout(() => { console.log(closed); process.exit(0); }, Number(seconds) * 1000);
EOF
export TARN_HEADER_TIMEOUT=3
start_server "$(wh_new slow)" || bad "tarn serve starts with these options"
unset TARN_HEADER_TIMEOUT
node "$TMP/trickle.js" "${BASE##*:}" 300 127.0.0.2 7 >"$TMP/trickle.out" &
TRICKLE=$!
sleep 2
for _ in 1 2 3; do # a loaded test machine may miss one second; the trickle lasts 7
    t=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$BASE/health")
    [ "$t" = 200 ] && break
done
expect_eq "/health answers within 1 s while 300 connections trickle headers" "$t" 200
wait "$TRICKLE"
expect_eq "every trickling connection closed within the header timeout" "$(cat "$TMP/trickle.out")" 300

#---- queries that do not stop when interrupted; clients that hang up; SIGTERM ----
python3 -c '
t = "\"INTEGER\""
for _ in range(1000): t = "{\"a\":" + t + "}"
print("SELECT json_transform(\x27{}\x27, \x27" + t + "\x27) AS x")' >"$TMP/deep.sql"
start_server "$(wh_new timeout)" --query-timeout 2 || bad "tarn serve starts with these options"
t0=$(now_ms)
code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 12 -G "$BASE/query" --data-urlencode "sql@$TMP/deep.sql")
ms=$(($(now_ms) - t0))
if [ "$code" = 503 ] && [ "$ms" -lt 9000 ] && grep -q "query-timeout" "$TMP/body"; then
    ok "a query DuckDB cannot interrupt is answered after timeout + grace (${ms} ms)"
else
    bad "a query DuckDB cannot interrupt is answered after timeout + grace ($code, ${ms} ms)"
fi
status_is "the server keeps answering" 200 call GET /health

start_server "$(wh_new hangup)" || bad "tarn serve starts with these options"
curl -s -o /dev/null --max-time 1 -G "$BASE/query" \
    --data-urlencode "sql=SELECT sum(hash(i)) FROM range(50000000000) t(i)"
sleep 2
expect_eq "a client that hangs up cancels its query" \
    "$(curl -s "$BASE/metrics" | awk '$1=="tarn_http_requests_in_flight"{print $2}')" 1

TARN_QUIET=1 start_server "$(wh_new term)" || bad "tarn serve starts with these options"
call GET /tables/quiet_probe >/dev/null
sleep 0.3
if log_has quiet_probe; then bad "--quiet (TARN_QUIET=1): no access log"; else ok "--quiet (TARN_QUIET=1): no access log"; fi
curl -s -o /dev/null --max-time 30 -G "$BASE/query" --data-urlencode "sql@$TMP/deep.sql" &
CURL=$!
sleep 1
t0=$(now_ms)
kill -TERM "$SERVER_PID"
for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
ms=$(($(now_ms) - t0))
if kill -0 "$SERVER_PID" 2>/dev/null; then
    bad "SIGTERM stops the server with a query running (still running after ${ms} ms)"
    kill -KILL "$SERVER_PID"
elif [ "$ms" -lt 8000 ]; then
    ok "SIGTERM stops the server with a query running (${ms} ms)"
else
    bad "SIGTERM stops the server with a query running (${ms} ms)"
fi
wait "$CURL" 2>/dev/null

#---- a full disk: 507 with one message, wherever it hits ----
SMALL=$TMP/small
mkdir -p "$SMALL"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$SMALL" 2>/dev/null; then
    trap 'for p in "${SERVER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; umount "$SMALL"; cleanup' EXIT
    start_server "$SMALL/wh" || bad "tarn serve starts with these options"
    python3 -c 'print("id,v"); [print("%d,%s" % (i, "x" * 40)) for i in range(100000)]' >"$TMP/big.csv"
    status_is "an upload larger than the free space (declared): 507" 507 \
        call POST /ingest/big -H 'Content-Type: text/csv' --data-binary @"$TMP/big.csv"
    grep -q "ran out of disk space" "$TMP/body" && ok "... with the disk-full message" ||
        bad "... with the disk-full message"
    status_is "an upload larger than the free space (chunked): 507" 507 \
        call POST /ingest/big -H 'Content-Type: text/csv' -H 'Transfer-Encoding: chunked' \
        --data-binary @"$TMP/big.csv"
    grep -q "ran out of disk space" "$TMP/body" && ok "... with the same message" ||
        bad "... with the same message"
else
    skip "disk full" "needs root to mount a small tmpfs"
fi

finish
