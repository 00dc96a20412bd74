# lib.sh - shared by the integration tests: a temporary warehouse, the tarn binary, and checks
# that count passes and failures. Each test script sources this, calls check/expect_*, and ends
# with "finish", whose last line is "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARN=${TARN:-$ROOT/build/tarn}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
FIXTURES=$SHARED/iceberg-fixtures
INTEROP=${INTEROP:-$ROOT/build/interop}
TMP=$(mktemp -d /tmp/tarn-it.XXXXXX)
WH=$TMP/warehouse
export TARN_WAREHOUSE=$WH
T=$(basename "$0" .sh)
PASS=0
FAIL=0
SKIP=0
SERVER_PID=
SERVER_PIDS=()
BASE=

# On exit: stop every server start_server started, remove the temporary files.
cleanup() {
    for p in "${SERVER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# port_free PORT: nothing listens there.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server WAREHOUSE [serve options...]: start tarn serve on a free loopback port and wait
# until /health answers (at most ~20 s; 401 counts, for servers with a token); sets SERVER_PID
# and BASE. Retries on another port if the bind fails.
start_server() {
    local wh=$1; shift
    local port tries i code
    for tries in 1 2 3 4 5; do
        port=$(shuf -i 20000-60999 -n 1)
        port_free "$port" || continue
        "$TARN" serve --warehouse "$wh" --port "$port" "$@" 2>>"$TMP/server.log" &
        SERVER_PID=$!
        SERVER_PIDS+=("$SERVER_PID")
        BASE="http://127.0.0.1:$port"
        for i in $(seq 200); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")
            if [ "$code" = 200 ] || [ "$code" = 401 ]; then return 0; fi
            sleep 0.1
        done
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    done
    echo "cannot start tarn serve; its log:"; tail -5 "$TMP/server.log"
    return 1
}

ok() { PASS=$((PASS + 1)); echo "ok   $T: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $T: $1"; }
# skip DESC REASON: a check that cannot run yet, with the missing feature named.
skip() { SKIP=$((SKIP + 1)); echo "skip $T: $1 -- $2"; }

# check DESC CMD...: the command must succeed.
check() {
    local desc=$1; shift
    if "$@" >"$TMP/out" 2>&1; then ok "$desc"; else bad "$desc"; sed 's/^/    /' "$TMP/out" | head -20; fi
}

# check_fails DESC EXIT_CODE MESSAGE_PART CMD...: the command must fail with that exit code and
# say MESSAGE_PART on stderr.
check_fails() {
    local desc=$1 code=$2 msg=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$code" ] && grep -qF -- "$msg" "$TMP/err"; then
        ok "$desc"
    else
        bad "$desc (exit $got, wanted $code and '$msg')"
        sed 's/^/    /' "$TMP/err" | head -5
    fi
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; echo "    got:      $(echo "$2" | head -c 600)"; echo "    expected: $(echo "$3" | head -c 600)"; fi
}

# q SQL [options]: run a query, print CSV without the header line.
q() { "$TARN" sql "$1" --format csv "${@:2}" 2>&1 | tail -n +2; }

#---- HTTP: for the tests that drive `tarn serve` (BASE set by start_server) ----

# call METHOD PATH [curl options...]: the body goes to $TMP/body, the status is printed.
# PATH is under $BASE$API_PREFIX (t80 sets API_PREFIX=/iceberg).
call() {
    local method=$1 path=$2; shift 2
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$method" "$@" "$BASE${API_PREFIX:-}$path"
}

# post PATH JSON [curl options...]: POST a JSON body; status printed.
post() {
    local path=$1 body=$2; shift 2
    call POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# expect_status DESC WANT GOT: and show the start of the body when the status differs.
expect_status() {
    if [ "$3" = "$2" ]; then ok "$1"; else
        bad "$1 (status $3, wanted $2)"; head -c 400 "$TMP/body" | sed 's/^/    /'; echo
    fi
}

# status_is DESC WANT COMMAND...: COMMAND (call, post, ...) prints the status.
status_is() {
    local desc=$1 want=$2; shift 2
    expect_status "$desc" "$want" "$("$@")"
}

# jv EXPR [FILE]: a Python expression over the JSON document d (default: the last body).
jv() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[2]))
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, bool)) or v is None else v)' \
        "$1" "${2:-$TMP/body}" 2>&1
}

# csvq SQL: the CSV rows of GET /query without the header line; $TMP/body is left alone.
csvq() {
    curl -s -o "$TMP/qbody" -G "$BASE/query" --data-urlencode "sql=$1" -d format=csv
    tail -n +2 "$TMP/qbody"
}

finish() {
    echo "$PASS passed, $FAIL failed, $SKIP skipped"
    [ "$FAIL" -eq 0 ]
}
