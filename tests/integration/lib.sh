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
T=$(basename "$0" .sh)
# TARN_TEST_STORAGE=s3 (tests/s3.sh sets it, with TARN_TEST_S3_ENDPOINT, TARN_TEST_S3_BUCKET and
# the AWS_* credentials): the warehouse is s3://BUCKET/<test>-<unique> and its SQLite catalog a
# file under $TMP; otherwise a local directory holding its own catalog. WH_TMP is the local
# directory where the server keeps uploads (<warehouse>/.tmp, or the cache's on S3).
TEST_STORAGE=${TARN_TEST_STORAGE:-local}
if [ "$TEST_STORAGE" = s3 ]; then
    WH=s3://${TARN_TEST_S3_BUCKET:?TARN_TEST_S3_BUCKET is not set}/$T-$(date +%s)-$$-$RANDOM
    export TARN_S3_ENDPOINT=${TARN_TEST_S3_ENDPOINT:?TARN_TEST_S3_ENDPOINT is not set}
    export TARN_CATALOG=$TMP/catalog.db TARN_CACHE_DIR=$TMP/cache
    unset TARN_S3_FAULT TARN_STORAGE_STATS
    WH_TMP=$TMP/cache/.tmp
else
    WH=$TMP/warehouse
    WH_TMP=$WH/.tmp
fi
export TARN_WAREHOUSE=$WH
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
        # shellcheck disable=SC2046 # wh_catalog_opt prints nothing or two words without spaces
        "$TARN" serve --warehouse "$wh" $(wh_catalog_opt "$wh") --port "$port" "$@" 2>>"$TMP/server.log" &
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

#---- the warehouse's files, on local disk or on S3 ----

# wh_new NAME: the location of another, empty warehouse (a directory next to $WH, or a prefix
# next to it in the bucket). Commands on it need `$(wh_catalog_opt LOCATION)` too.
wh_new() {
    if [ "$TEST_STORAGE" = s3 ]; then echo "$WH-$1"; else echo "$TMP/$1"; fi
}

# wh_catalog_opt LOCATION: the --catalog option for a warehouse on S3 other than $WH (its own
# catalog file); nothing for $WH (TARN_CATALOG) or a local directory (its catalog is inside).
wh_catalog_opt() {
    if [ "$TEST_STORAGE" = s3 ] && [ "$1" != "$WH" ]; then
        echo "--catalog $TMP/catalog-$(echo "$1" | md5sum | cut -c1-12).db"
    fi
}

# urlenc STRING [SAFE]: percent-encoded as SigV4 wants it (unreserved characters and SAFE kept).
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=sys.argv[2]))' "$1" "${2:-}"; }

# s3_get PATH[?QUERY] [curl options...]: a signed GET from the test S3 server (the query's
# parameters sorted and encoded, as curl's --aws-sigv4 needs); fails on an HTTP error.
s3_get() {
    curl -sS --fail --aws-sigv4 "aws:amz:${TARN_S3_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$TARN_S3_ENDPOINT/$1" "${@:2}"
}

# wh_ls [DIR] [-r]: names under DIR of the warehouse, sorted, one a line: like `ls` (files and
# folders one level down), or with -r every file below as a path relative to DIR. On S3 the
# bucket is listed (ListObjectsV2, every page). A missing DIR lists nothing.
wh_ls() {
    local dir=${1:-} deep=${2:-}
    if [ "$TEST_STORAGE" != s3 ]; then
        if [ -z "$deep" ]; then
            ls "$WH/$dir" 2>/dev/null | LC_ALL=C sort
        else
            (cd "$WH/$dir" 2>/dev/null && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
        fi
        return 0
    fi
    local rest=${WH#s3://} bucket prefix query token=
    bucket=${rest%%/*}
    prefix=${rest#*/}/${dir:+${dir%/}/}
    : >"$TMP/wh_ls.out"
    while :; do
        query="list-type=2&prefix=$(urlenc "$prefix")"
        [ -z "$deep" ] && query="delimiter=%2F&$query"
        [ -n "$token" ] && query="continuation-token=$(urlenc "$token")&$query"
        if ! s3_get "$bucket?$query" -o "$TMP/wh_ls.xml" 2>>"$TMP/wh_ls.failed"; then
            echo "GET $bucket?$query" >>"$TMP/wh_ls.failed"
            return 1
        fi
        token=$(python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
n = len(sys.argv[2])
with open(sys.argv[3], "a") as out:
    for el in root.findall(ns + "Contents"):
        out.write(el.findtext(ns + "Key")[n:] + "\n")
    for el in root.findall(ns + "CommonPrefixes"):
        out.write(el.findtext(ns + "Prefix")[n:].rstrip("/") + "\n")
if root.findtext(ns + "IsTruncated") == "true":
    print(root.findtext(ns + "NextContinuationToken"))' "$TMP/wh_ls.xml" "$prefix" "$TMP/wh_ls.out") ||
            return 1
        [ -n "$token" ] || break
    done
    LC_ALL=C sort "$TMP/wh_ls.out"
}

# wh_get PATH DEST: copy the warehouse's file PATH (relative to it) to the local file DEST.
wh_get() {
    if [ "$TEST_STORAGE" != s3 ]; then cp "$WH/$1" "$2"; return; fi
    local rest=${WH#s3://}
    s3_get "$(urlenc "${rest%%/*}/${rest#*/}/$1" /)" -o "$2"
}

# wh_put_tree DIR PATH: copy every file below the local directory DIR to PATH in the warehouse
# (on S3: signed PUTs, one curl for all, the payload unsigned); fails if one copy fails.
wh_put_tree() {
    if [ "$TEST_STORAGE" != s3 ]; then mkdir -p "$WH/$2" && cp -r "$1/." "$WH/$2/"; return; fi
    python3 -c '
import os, sys, urllib.parse
src, endpoint, dest = sys.argv[1:4]
for top, _, names in os.walk(src):
    for n in names:
        f = os.path.join(top, n)
        key = dest + "/" + os.path.relpath(f, src)
        print("upload-file = \"%s\"\nurl = \"%s/%s\"" % (f, endpoint, urllib.parse.quote(key, safe="/")))' \
        "$1" "$TARN_S3_ENDPOINT" "${WH#s3://}/$2" >"$TMP/put.cfg" || return 1
    curl -sS --fail --aws-sigv4 "aws:amz:${TARN_S3_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -o /dev/null -K "$TMP/put.cfg"
}

# wh_put FILE PATH: copy the local FILE to PATH in the warehouse (on S3: one signed PUT).
wh_put() {
    if [ "$TEST_STORAGE" != s3 ]; then mkdir -p "$(dirname "$WH/$2")" && cp "$1" "$WH/$2"; return; fi
    curl -sS --fail --aws-sigv4 "aws:amz:${TARN_S3_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -o /dev/null --upload-file "$1" "$TARN_S3_ENDPOINT/$(urlenc "${WH#s3://}/$2" /)"
}

# wh_uri PATH: the URI of PATH in the warehouse (file://... or s3://...).
wh_uri() {
    if [ "$TEST_STORAGE" = s3 ]; then echo "$WH/$1"; else echo "file://$WH/$1"; fi
}

# metadata_location TABLE [NAMESPACE]: the catalog's pointer to the table's current metadata.
metadata_location() {
    sqlite3 "${TARN_CATALOG:-$WH/catalog.db}" "SELECT metadata_location FROM iceberg_tables
        WHERE table_namespace = '${2:-default}' AND table_name = '$1'"
}

# wh_mirror: the warehouse as local files, printed as a map "FROM=TO" (check.mjs's --map): the
# local file of a warehouse URI u is TO${u#FROM}. On local disk that is the warehouse itself
# ("file://="); on S3 every object is downloaded afresh (one curl for all) into $TMP/mirror.
wh_mirror() {
    if [ "$TEST_STORAGE" != s3 ]; then echo "file://="; return; fi
    rm -rf "$TMP/mirror"
    wh_ls "" -r >"$TMP/mirror.ls" || return 1
    python3 -c '
import sys, urllib.parse
endpoint, rest, mirror = sys.argv[1:4]
for key in open(sys.argv[4]).read().split():
    print("url = \"%s/%s\"\noutput = \"%s/%s\"" % (endpoint, urllib.parse.quote(rest + "/" + key, safe="/"), mirror, key))' \
        "$TARN_S3_ENDPOINT" "${WH#s3://}" "$TMP/mirror" "$TMP/mirror.ls" >"$TMP/mirror.cfg" || return 1
    [ -s "$TMP/mirror.cfg" ] || { mkdir -p "$TMP/mirror" && echo "$WH/=$TMP/mirror/"; return; }
    curl -sS --fail --aws-sigv4 "aws:amz:${TARN_S3_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        --create-dirs -K "$TMP/mirror.cfg" || return 1
    echo "$WH/=$TMP/mirror/"
}

# wh_local URI: the local path of a file URI of the warehouse (on S3 that file alone is
# downloaded).
wh_local() {
    case $1 in
    s3://*)
        local rel=${1#"$WH"/}
        mkdir -p "$(dirname "$TMP/wh_local/$rel")" && wh_get "$rel" "$TMP/wh_local/$rel" &&
            echo "$TMP/wh_local/$rel"
        ;;
    *) echo "${1#file://}" ;;
    esac
}

# v3_check_errors TABLE: the errors the independent checker (check.mjs) finds in default.TABLE's
# current snapshot, less the one it gives every format-version 3 table, as a Python list ("[]"
# when none); on either storage.
v3_check_errors() {
    local map loc
    map=$(wh_mirror) || return 1
    loc=$(metadata_location "$1")
    node "$INTEROP/check.mjs" "${map#*=}${loc#"${map%%=*}"}" --map "$map" >"$TMP/check.json" 2>&1
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([e for e in d["errors"] if "format-version=3" not in e])' "$TMP/check.json"
}

# metadata_eval TABLE EXPR: a Python expression over the current metadata JSON m of
# default.TABLE
metadata_eval() {
    local loc
    loc=$(wh_local "$(metadata_location "$1")")
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$loc" "$2" 2>&1
}

# icebird TABLE [options...]: the independent reader (../shared/interop) on a table of $WH in
# namespace default: its folder on local disk; on S3 its metadata file, read from the S3 server.
icebird() {
    local t=$1; shift
    if [ "$TEST_STORAGE" = s3 ]; then
        node "$INTEROP/iceberg-read.mjs" "$(metadata_location "$t")" --s3-endpoint "$TARN_S3_ENDPOINT" "$@"
    else
        node "$INTEROP/iceberg-read.mjs" "$WH/default/$t" "$@"
    fi
}

#---- Delta fixtures (../shared/delta-fixtures) ----

# delta_table_name FIXTURE: the tarn table name of a fixture.
delta_table_name() { echo "$1" | tr -- '-.' '__' | tr 'A-Z' 'a-z'; }

# delta_compare FIXTURE LABEL: run the Python check on stdin against FIXTURE's expected results
# and its table (it imports them from delta_expected.py); each line it prints, "PASS what" or
# "FAIL what", counts as the check "LABEL what". A check that prints nothing fails.
delta_compare() {
    local fx=$1 label=$2
    PYTHONPATH=$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1 \
        python3 - "$SHARED/delta-fixtures/_expected/$fx.json" "$(delta_table_name "$fx")" "$TARN" \
        >"$TMP/cmp" 2>&1
    [ -s "$TMP/cmp" ] || bad "$fx: no comparison ran"
    while read -r verdict rest; do
        if [ "$verdict" = PASS ]; then ok "$label $rest"; else bad "$label $rest"; fi
    done <"$TMP/cmp"
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

# expect_error DESC STATUS MESSAGE_PART GOT_STATUS: an error answer (in $TMP/body) with that status
# whose error.message contains MESSAGE_PART.
expect_error() {
    local desc=$1 want=$2 msg=$3 got=$4 m
    m=$(jv 'd["error"]["message"]')
    if [ "$got" = "$want" ] && [[ "$m" == *"$msg"* ]]; then
        ok "$desc"
    else
        bad "$desc (status $got, wanted $want '$msg')"; head -c 400 "$TMP/body" | sed 's/^/    /'; echo
    fi
}

# ingest TABLE QUERY BODY [CONTENT_TYPE]: POST /ingest/TABLE?QUERY (QUERY may be empty) with BODY,
# or the file F for a BODY of @F, as CONTENT_TYPE (default text/csv); status printed.
ingest() {
    call POST "/ingest/$1${2:+?$2}" -H "Content-Type: ${4:-text/csv}" -H 'Expect:' --data-binary "$3"
}

finish() {
    if [ -s "$TMP/wh_ls.failed" ]; then
        bad "wh_ls could not list the warehouse"; sed 's/^/    /' "$TMP/wh_ls.failed" | head -5
    fi
    echo "$PASS passed, $FAIL failed, $SKIP skipped"
    [ "$FAIL" -eq 0 ]
}
