#!/usr/bin/env bash
# t94-hostile-input: files made to hurt the ingest path, over HTTP and the command line: JSON
# nested tens of thousands of levels deep (it crashed DuckDB), decompression bombs (gzip of NUL
# bytes or of millions of empty rows), CSV files 100,000 columns wide and JSON records with
# 20,000 keys. Each is refused quickly with a status that names the limit, nothing is
# committed, the server stays up, and ordinary compressed files still load. Every request and
# command is bounded in time: on a build without the limits some of them run for minutes.
. "$(dirname "$0")/lib.sh"

F=$TMP/files
mkdir -p "$F"
LIMIT=$((8 * 1024 * 1024)) # --max-decompressed of the server and of some commands

# upload NAME[?QUERY] FILE [curl options...]: POST /ingest/NAME of FILE as a multipart upload
# (its file name tells the format), at most 60 s; the status is printed.
upload() {
    local name=$1 file=$2; shift 2
    call POST "/ingest/$name" -m 60 -F "file=@$file" "$@"
}

# alive DESC: the server still answers /health, and holds no decompressed file.
alive() {
    status_is "$1: the server stays up" 200 call GET /health -m 10
    expect_eq "$1: no decompressed file is left" "$(ls "$WH_TMP" 2>/dev/null | grep -c decompressed)" "0"
}

# no_table NAME: the refused ingest committed nothing.
no_table() { status_is "... and created no table $1" 404 call GET "/tables/$1" -m 10; }

# refused DESC STATUS MESSAGE_PART NAME[?QUERY] FILE [curl options...]: the upload is answered
# STATUS, the message says MESSAGE_PART, no table is made and the server lives on. The answer
# is kept in $TMP/refused.
refused() {
    local desc=$1 want=$2 msg=$3 name=$4 file=$5; shift 5
    status_is "$desc" "$want" upload "$name" "$file" "$@"
    cp "$TMP/body" "$TMP/refused"
    if grep -qF -- "$msg" "$TMP/refused"; then ok "... saying '$msg'"; else
        bad "... saying '$msg'"; head -c 300 "$TMP/refused" | sed 's/^/    /'; echo
    fi
    no_table "${name%%\?*}"
    alive "$desc"
}

#---- the files ----
python3 - "$F" <<'PY'
import sys, json
d = sys.argv[1]
open(d + "/open.json", "w").write("[" * 20000)
open(d + "/deep.ndjson", "w").write('{"x": ' + "[" * 50000 + "1" + "]" * 50000 + "}\n")
open(d + "/balanced.json", "w").write("[" * 20000 + "]" * 20000)
# 64 levels is allowed: a record holding 63 levels of lists
open(d + "/ok-deep.ndjson", "w").write('{"x": ' + "[" * 63 + "1" + "]" * 63 + "}\n")
open(d + "/wide.csv", "w").write(",".join("c%d" % i for i in range(100000)) + "\n" +
                                 ",".join("1" for i in range(100000)) + "\n")
open(d + "/wide-semi.csv", "w").write(";".join("c%d" % i for i in range(20000)) + "\n1\n")
open(d + "/wide.ndjson", "w").write(json.dumps({"k%d" % i: i for i in range(20000)}) + "\n")
open(d + "/rows.csv", "w").write("a\n" + "1\n" * 6000000)   # 12 MB of rows
open(d + "/ok.csv", "w").write("id,name\n" + "".join("%d,n%d\n" % (i, i) for i in range(50000)))
PY
gzip -c "$F/open.json" >"$F/open.json.gz"
head -c $((200 * 1024 * 1024)) /dev/zero | gzip -c >"$F/nul.gz"   # 200 MiB of NUL bytes, ~200 KB
gzip -c "$F/rows.csv" >"$F/rows.csv.gz"
{ echo a; yes 1 | head -n 40000000; } | gzip -1 -c >"$F/many.csv.gz" # 80 MB of rows, ~400 KB
gzip -c "$F/ok.csv" >"$F/ok.csv.gz"
{ head -n 20001 "$F/ok.csv" | gzip -c; tail -n +20002 "$F/ok.csv" | gzip -c; } >"$F/members.csv.gz"
zstd -q -c "$F/rows.csv" >"$F/rows.csv.zst"
zstd -q -c "$F/ok.csv" >"$F/ok.csv.zst"

start_server "$WH" --max-decompressed $LIMIT || { bad "server starts"; finish; exit 1; }
ok "server starts with --max-decompressed"

#---- nesting ----
refused "20,000 open brackets as JSON" 400 "20000 levels deep" open "$F/open.json" -F format=json
check "... naming the limit" grep -q "at most 64 levels" "$TMP/refused"
refused "NDJSON nested 50,000 levels" 400 "50001 levels deep" deep "$F/deep.ndjson"
refused "balanced brackets 20,000 deep" 400 "20000 levels deep" balanced "$F/balanced.json"
refused "gzip of deep JSON" 400 "20000 levels deep" opengz "$F/open.json.gz"
status_is "64 levels load" 200 upload okdeep "$F/ok-deep.ndjson"

#---- decompression ----
refused "gzip of 200 MiB of NUL bytes" 413 "--max-decompressed" nul "$F/nul.gz"
check "... naming the limit" grep -q "grows past $LIMIT bytes when decompressed" "$TMP/refused"
refused "gzip of 6 million rows past the limit" 413 "grows past $LIMIT bytes" rows "$F/rows.csv.gz"
refused "zstd past the limit" 413 "the zstd file grows past $LIMIT bytes" rowszst "$F/rows.csv.zst"
status_is "an ordinary gzip CSV loads" 200 upload okgz "$F/ok.csv.gz"
expect_eq "... all of it" "$(jv 'd["rows_added"]')" "50000"
status_is "a zstd CSV loads" 200 upload okzst "$F/ok.csv.zst"
expect_eq "... all of it" "$(jv 'd["rows_added"]')" "50000"
status_is "a gzip file of two members loads" 200 upload members "$F/members.csv.gz"
expect_eq "... both of them" "$(jv 'd["rows_added"]')" "50000"
alive "ordinary compressed files"

#---- width ----
refused "a CSV file 100,000 columns wide" 400 "100000 fields" wide "$F/wide.csv"
check "... naming the limit" grep -q "at most 10000 columns" "$TMP/refused"
refused "... with the delimiter given" 400 "20000 fields (separated by ';')" 'semi?delimiter=%3B' \
    "$F/wide-semi.csv"
refused "JSON records with 20,000 keys" 400 "more than 10000 distinct keys" widejson "$F/wide.ndjson"

#---- a client that leaves while its upload is converted ----
# 12 million rows in ~60 MB of gzip: the upload ends at once, the conversion takes seconds. The
# client hangs up after its whole body was sent (curl's size_upload says so); the conversion is
# interrupted, nothing is committed, and the request ends long before the ingest would have.
LEAVE=$(wh_new leave)
seq 12000000 | sed 's/.*/&,&/' | { echo a,b; cat; } | gzip -1 -c >"$F/leave.csv.gz"
LEAVE_BYTES=$(stat -c %s "$F/leave.csv.gz")
start_server "$LEAVE" || bad "a second server starts"
sent=0
for wait_s in 1 2 4; do
    leave_t=leave$wait_s
    sent=$(curl -s -o /dev/null -w '%{size_upload}' --max-time "$wait_s" -H 'Content-Encoding: gzip' \
        --data-binary @"$F/leave.csv.gz" "$BASE/ingest/$leave_t?format=csv" | cut -d. -f1)
    [ "$sent" = "$LEAVE_BYTES" ] && break
done
expect_eq "the leaving client sent its whole upload" "$sent" "$LEAVE_BYTES"
for _ in $(seq 100); do grep -q "POST /ingest/$leave_t\" 499" "$TMP/server.log" && break; sleep 0.1; done
check "... its request ends as the client left (499)" grep -q "POST /ingest/$leave_t\" 499" "$TMP/server.log"
# the same upload, waited for: an ingest of the leaving one that went on would end before it
status_is "the same upload, waited for, loads" 200 \
    curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Encoding: gzip' --data-binary @"$F/leave.csv.gz" \
    "$BASE/ingest/stayed?format=csv"
expect_eq "... all of it" "$(jv 'd["rows_added"]')" "12000000"
expect_eq "... and it is the only table: nothing was committed for the client that left" \
    "$(curl -s "$BASE/tables" | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["tables"]))')" stayed
rm -f "$F/leave.csv.gz"

#---- the command line ----
cli() { timeout 60 "$TARN" ingest "$@"; }
check_fails "tarn ingest: deep JSON" 2 "20000 levels deep" cli cdeep "$F/balanced.json"
check_fails "tarn ingest: deep NDJSON" 2 "50001 levels deep" cli cdeep "$F/deep.ndjson"
check_fails "tarn ingest: a gzip of NUL bytes, by the line limit" 2 "bytes long; tarn reads lines of at most 64 MiB" cli cnul "$F/nul.gz"
check_fails "tarn ingest: a gzip bomb, by the default limit" 2 "grows past 67108864 bytes" cli cnul "$F/many.csv.gz"
check_fails "tarn ingest --max-decompressed" 2 "grows past $LIMIT bytes" \
    cli crows "$F/rows.csv.gz" --max-decompressed $LIMIT
check_fails "TARN_MAX_DECOMPRESSED" 2 "grows past 1048576 bytes" \
    env TARN_MAX_DECOMPRESSED=1MiB timeout 60 "$TARN" ingest crows "$F/rows.csv.zst"
check_fails "a bad --max-decompressed" 2 "--max-decompressed takes a size" cli crows "$F/rows.csv.gz" --max-decompressed lots
check_fails "tarn ingest: a wide CSV" 2 "100000 fields" cli cwide "$F/wide.csv"
check_fails "tarn ingest: wide JSON" 2 "more than 10000 distinct keys" cli cwide "$F/wide.ndjson"
check "tarn ingest of a gzip past the default ratio, within the limit given" \
    cli crows "$F/rows.csv.gz" --max-decompressed 20MB
expect_eq "... all its rows" "$(q "SELECT count(*) FROM crows")" "6000000"
expect_eq "the refused ingests made no table" "$("$TARN" tables | grep -cE '^default\.(cdeep|cnul|cwide) ')" "0"
expect_eq "no decompressed file is left in the warehouse" "$(ls "$WH/.tmp" 2>/dev/null | grep -c decompressed)" "0"

finish
