#!/usr/bin/env bash
# t103-stream-ingest: POST /ingest converting a CSV or NDJSON upload while it arrives
# (src/ingest/stream.c): one commit with the rows in the file's order, slow and multipart uploads,
# quoted fields holding newlines, a refused value and a type that only a late part reveals (the
# whole-file fallback), an upload aborted mid-body (nothing committed, no file left), and the
# command line reading standard input and several files as one commit; an upload read in several
# pieces (TARN_STREAM_PIECE): the rows in order, one commit, one file a piece, a late refusal, an
# abort in the second piece.
source "$(dirname "$0")/lib.sh"

# gen_csv FILE ROWS [BAD_ROW BAD_VALUE]: id,name,amount,note; every 7th note quoted with a comma
# and a newline inside; the amount of data row BAD_ROW (1-based) replaced by BAD_VALUE.
gen_csv() {
    awk -v rows="$2" -v bad="${3:-0}" -v badv="${4:-}" 'BEGIN {
        print "id,name,amount,note"
        for (i = 1; i <= rows; i++) {
            amount = (i == bad) ? badv : i * 3
            if (i % 7 == 0)
                printf "%d,name_%d,%s,\"line one, of %d\nline two\"\n", i, i, amount, i
            else
                printf "%d,name_%d,%s,plain note %d padded to make the file larger\n", i, i, amount, i
        }
    }' >"$1"
}

# streamed: whether the last ingest was converted while it arrived
streamed() { jv 'd.get("streamed")'; }

start_server "$WH" || bad "tarn serve starts"
ROWS=120000
gen_csv "$TMP/big.csv" $ROWS
SIZE=$(stat -c %s "$TMP/big.csv")
[ "$SIZE" -gt $((5 * 1024 * 1024)) ] && ok "the test file ($SIZE bytes) is longer than the 4 MiB head" ||
    bad "the test file is too short to stream ($SIZE bytes)"

#---- a slow raw upload: streamed, one commit, the rows in order ----
status_is "a slow raw CSV upload is ingested" 200 call POST /ingest/slow -H 'Content-Type: text/csv' \
    -H 'Expect:' --limit-rate 3M --data-binary "@$TMP/big.csv"
expect_eq "it was converted as it arrived" "$(streamed)" true
expect_eq "rows_added" "$(jv 'd["rows_added"]')" "$ROWS"
expect_eq "one snapshot" "$(csvq 'SELECT count(*) FROM "slow$snapshots"')" 1
expect_eq "the first rows come first" "$(csvq 'SELECT id FROM slow LIMIT 3' | tr '\n' ' ')" "1 2 3 "
expect_eq "every row in the file's order" \
    "$(csvq 'SELECT count(*) FROM (SELECT id, row_number() OVER () AS n FROM slow) WHERE id <> n')" 0
expect_eq "a quoted field with a newline, far past the head" \
    "$(csvq "SELECT note = 'line one, of 119994' || chr(10) || 'line two' FROM slow WHERE id = 119994")" true
expect_eq "no temporary file left" "$(ls -A "$WH_TMP" | wc -l)" 0

#---- multipart, a second upload appends in one more commit ----
status_is "a multipart upload is ingested" 200 call POST /ingest/slow -H 'Expect:' \
    --limit-rate 8M -F "file=@$TMP/big.csv;type=text/csv"
expect_eq "multipart: converted as it arrived" "$(streamed)" true
expect_eq "multipart: rows_added" "$(jv 'd["rows_added"]')" "$ROWS"
expect_eq "two snapshots, twice the rows" \
    "$(csvq 'SELECT (SELECT count(*) FROM "slow$snapshots"), (SELECT count(*) FROM slow)')" "2,$((2 * ROWS))"

# a multipart field after the file changes the request: the stream is refused, the file read whole
status_is "mode=overwrite sent after the file" 200 call POST /ingest/slow -H 'Expect:' \
    -F "file=@$TMP/big.csv;type=text/csv" -F mode=overwrite
expect_eq "a field after the file: read whole" "$(streamed)" false
expect_eq "a field after the file: overwrite honoured" "$(csvq 'SELECT count(*) FROM slow')" "$ROWS"

# what a stream cannot write goes the whole-file way: a partitioned table, an upsert
status_is "a partitioned table" 200 call POST "/ingest/parted?partition_by=bucket(4,%20id)" \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/big.csv"
expect_eq "a partitioned table: read whole, every row" "$(streamed),$(jv 'd["rows_added"]')" "false,$ROWS"
status_is "an upsert" 200 call POST "/ingest/parted?mode=upsert&key=id" \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/big.csv"
expect_eq "an upsert: read whole, every row replaced" "$(streamed),$(jv 'd["rows_updated"]')" "false,$ROWS"

#---- a value a late part holds that the head's types cannot ----
gen_csv "$TMP/late-word.csv" $ROWS 90000 abc
status_is "a word after 90,000 numbers: a new table" 200 call POST /ingest/late \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/late-word.csv"
expect_eq "the late type took the whole-file path" "$(streamed)" false
expect_eq "the late type: every row" "$(jv 'd["rows_added"]')" "$ROWS"
expect_eq "the late type: the column holds the word" \
    "$(csvq 'SELECT amount FROM late WHERE id = 90000')" abc
expect_eq "the late type: one snapshot" "$(csvq 'SELECT count(*) FROM "late$snapshots"')" 1

# 1.5 after whole numbers: stored as the whole-file path (the command line) stores it
gen_csv "$TMP/late-double.csv" $ROWS 100001 1.5
status_is "1.5 after 100,000 whole numbers" 200 call POST /ingest/latenum \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/late-double.csv"
"$TARN" ingest latenum_cli "$TMP/late-double.csv" >/dev/null 2>&1
expect_eq "1.5 after whole numbers: as the whole-file path stores it" \
    "$(csvq 'SELECT amount FROM latenum WHERE id = 100001')" \
    "$(csvq 'SELECT amount FROM latenum_cli WHERE id = 100001')"

status_is "a word in a number column of an existing table is refused" 422 call POST /ingest/slow \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/late-word.csv"
msg=$(jv 'd["error"]["message"]')
case "$msg" in
*"row 90000"*abc*) ok "the refusal names the file's row: $msg" ;;
*) bad "the refusal names the file's row 90000 (got: $msg)" ;;
esac
# the whole-file path (the command line) says the same
"$TARN" ingest slow "$TMP/late-word.csv" >/dev/null 2>"$TMP/cli.err"
case "$(cat "$TMP/cli.err")" in
*"row 90000"*abc*) ok "the command line's whole-file path names the same row" ;;
*) bad "the command line names row 90000"; head -3 "$TMP/cli.err" ;;
esac
expect_eq "the refusal committed nothing" "$(csvq 'SELECT count(*) FROM "slow$snapshots"')" 3
expect_eq "no temporary file left after a refusal" "$(ls -A "$WH_TMP" | wc -l)" 0

#---- an upload aborted in the middle ----
data_files() { find "$WH" -path '*/aborted/*' -type f 2>/dev/null | wc -l; }
curl -s -o /dev/null -X POST -H 'Content-Type: text/csv' -H 'Expect:' --limit-rate 1M \
    --data-binary "@$TMP/big.csv" "$BASE/ingest/aborted" &
CURL_PID=$!
# kill it once the stream has started (its pipe is in the warehouse's .tmp), past the head
for i in $(seq 150); do ls "$WH_TMP" 2>/dev/null | grep -q '\.pipe$' && break; sleep 0.1; done
expect_eq "the aborted upload was being converted" "$(ls "$WH_TMP" | grep -c '\.pipe$')" 1
sleep 1
kill "$CURL_PID" 2>/dev/null
wait "$CURL_PID" 2>/dev/null
for i in $(seq 50); do [ "$(ls -A "$WH_TMP" | wc -l)" -eq 0 ] && break; sleep 0.2; done
status_is "an aborted upload created no table" 404 call GET /tables/aborted
expect_eq "an aborted upload left no temporary file" "$(ls -A "$WH_TMP" | wc -l)" 0
expect_eq "an aborted upload left no data file" "$(data_files)" 0

#---- NDJSON ----
awk -v rows=90000 'BEGIN { for (i = 1; i <= rows; i++)
    printf "{\"id\": %d, \"name\": \"name_%d\", \"tags\": [\"a\", \"b\"], \"padding\": \"some text to make the file larger\"}\n", i, i }' \
    >"$TMP/big.ndjson"
status_is "an NDJSON upload" 200 call POST /ingest/nd -H 'Content-Type: application/x-ndjson' \
    -H 'Expect:' --limit-rate 8M --data-binary "@$TMP/big.ndjson"
expect_eq "NDJSON: converted as it arrived" "$(streamed)" true
expect_eq "NDJSON: rows and order" \
    "$(csvq 'SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END), max(len(tags)) FROM (SELECT id, tags, row_number() OVER () AS n FROM nd)')" \
    "90000,90000,2"

#---- the command line: standard input, several files and a pattern, each one commit ----
check "tarn ingest t - reads standard input" sh -c "\"$TARN\" ingest cli_stdin - <\"$TMP/big.csv\""
check "tarn ingest t /dev/stdin" sh -c "head -n 500 \"$TMP/big.csv\" | \"$TARN\" ingest cli_devstdin /dev/stdin"
mkdir -p "$TMP/parts"
head -n 40001 "$TMP/big.csv" >"$TMP/parts/a.csv"
{ head -n 1 "$TMP/big.csv"; tail -n +40002 "$TMP/big.csv"; } >"$TMP/parts/b.csv"
check "tarn ingest t a.csv b.csv" "$TARN" ingest cli_two "$TMP/parts/a.csv" "$TMP/parts/b.csv"
check "tarn ingest t 'parts/*.csv'" "$TARN" ingest cli_glob "$TMP/parts/*.csv"
for t in cli_stdin cli_two cli_glob; do
    expect_eq "$t: every row, in order, one snapshot" \
        "$(csvq "SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM $t)"),$(csvq "SELECT count(*) FROM \"$t\$snapshots\"")" \
        "$ROWS,$ROWS,1"
done
#---- --remote: several files (one multipart part each) and standard input (sent chunked) ----
check "tarn ingest t a.csv b.csv --remote" "$TARN" ingest remote_two "$TMP/parts/a.csv" "$TMP/parts/b.csv" \
    --remote "$BASE"
check "tarn ingest t - --remote" sh -c "\"$TARN\" ingest remote_stdin - --remote \"$BASE\" <\"$TMP/big.csv\""
for t in remote_two remote_stdin; do
    expect_eq "$t: every row, in order, one snapshot" \
        "$(csvq "SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM $t)"),$(csvq "SELECT count(*) FROM \"$t\$snapshots\"")" \
        "$ROWS,$ROWS,1"
done
status_is "two parts named file in one multipart POST" 200 call POST /ingest/multi_part \
    -F "file=@$TMP/parts/a.csv" -F "file=@$TMP/parts/b.csv"
expect_eq "both parts' rows, one commit" "$(jv 'd["rows_added"]'),$(csvq 'SELECT count(*) FROM "multi_part$snapshots"')" "$ROWS,1"
printf 'id,name,amount,note\n1,x,oops,y\n' >"$TMP/parts/bad.csv"
check_fails "--remote: a refused value in the second file commits nothing" 2 "oops" \
    "$TARN" ingest remote_two "$TMP/parts/a.csv" "$TMP/parts/bad.csv" --remote "$BASE"
expect_eq "remote_two still has one snapshot" "$(csvq 'SELECT count(*) FROM "remote_two$snapshots"')" 1
expect_eq "no temporary file left by the server" "$(ls -A "$WH_TMP" | wc -l)" 0
expect_eq "/dev/stdin: the rows" "$(csvq 'SELECT count(*) FROM cli_devstdin')" \
    "$(head -n 500 "$TMP/big.csv" | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')"
check_fails "a pattern that matches nothing" 3 "no file matches" "$TARN" ingest cli_none "$TMP/parts/*.tsv"
expect_eq "no temporary file left by the command line" "$(ls -A "$WH_TMP" | wc -l)" 0

head -n 1000 "$TMP/big.csv" >"$TMP/short.csv"
#---- the whole-file path cuts its rows into files of the table's target size, in order ----
awk -v rows=400000 'BEGIN { print "id,name,amount,note"; for (i = 1; i <= rows; i++)
    printf "%d,name_%d,%d,note %d %x\n", i, i, i * 3, i * 7919 % 1000003, i * 2654435761 % 4294967296 }' \
    >"$TMP/wide.csv"
"$TARN" ingest sized "$TMP/short.csv" >/dev/null 2>&1
check "a 1 MiB target file size" "$TARN" sql \
    "ALTER TABLE sized SET TBLPROPERTIES ('write.target-file-size-bytes' = '1048576')"
check "tarn ingest of an 18 MB file (the whole-file path)" "$TARN" ingest sized "$TMP/wide.csv" --mode overwrite
expect_eq "it became several files of about 1 MiB" \
    "$(csvq 'SELECT count(*) > 2, max(file_size_in_bytes) < 1572864 FROM "sized$files"')" "true,true"
expect_eq "every row, in the file's order, one snapshot" \
    "$(csvq 'SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM sized)'),$(csvq 'SELECT count(*) FROM "sized$snapshots"')" \
    "400000,400000,2"
expect_eq "no staged file is left in the table's folder" \
    "$(find "$WH/default/sized/data" -name '*.parquet' 2>/dev/null | wc -l)" \
    "$(( $(csvq 'SELECT count(*) FROM "sized$files"') + 1 ))"

#---- ... and so does the streamed path (DuckDB cutting files by size would reorder rows) ----
status_is "the same 18 MB upload, streamed over HTTP" 200 call POST '/ingest/sized?mode=overwrite' \
    -H 'Content-Type: text/csv' --data-binary "@$TMP/wide.csv"
expect_eq "... streamed, into several files of about 1 MiB" \
    "$(streamed),$(csvq 'SELECT count(*) > 2, max(file_size_in_bytes) < 1572864 FROM "sized$files"')" \
    "true,true,true"
expect_eq "... every row, in the file's order" \
    "$(csvq 'SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM sized)')" \
    "400000,400000"

#---- an upload read in pieces (TARN_STREAM_PIECE: 6 MiB each), each by a COPY of its own ----
# pieces FILE BYTES: how many pieces the stream cuts FILE into: each ends at the first newline
# outside double quotes at least BYTES into it, and the last one at the file's end.
pieces() {
    python3 -c 'import sys
data = open(sys.argv[1], "rb").read(); limit = int(sys.argv[2])
n, start, pos, quoted = 1, 0, 0, False
for line in data.split(b"\n")[:-1]:
    quoted ^= line.count(b"\"") % 2 == 1
    end = pos + len(line)
    pos = end + 1
    if not quoted and end >= start + limit and pos < len(data):
        n, start = n + 1, pos
print(n)' "$1" "$2"
}
PIECE=$((6 * 1024 * 1024))
check_fails "TARN_STREAM_PIECE that is not a size is refused" 2 "TARN_STREAM_PIECE: the streamed upload's piece size" \
    env TARN_STREAM_PIECE=6 "$TARN" serve --port 1
TARN_STREAM_PIECE=$PIECE start_server "$WH" || bad "tarn serve with 6 MiB pieces starts"
PROWS=300000
gen_csv "$TMP/pieces.csv" $PROWS
NPIECES=$(pieces "$TMP/pieces.csv" $PIECE)
[ "$NPIECES" -ge 3 ] && ok "the test file makes $NPIECES pieces" || bad "the test file makes $NPIECES pieces, not 3 or more"
status_is "an upload of $NPIECES pieces" 200 call POST /ingest/cut -H 'Content-Type: text/csv' \
    -H 'Expect:' --limit-rate 20M --data-binary "@$TMP/pieces.csv"
expect_eq "pieces: converted as it arrived, one file a piece" \
    "$(streamed),$(jv 'd["rows_added"]'),$(jv 'd["files_added"]')" "true,$PROWS,$NPIECES"
expect_eq "pieces: one snapshot, one data file a piece" \
    "$(csvq 'SELECT (SELECT count(*) FROM "cut$snapshots"), (SELECT count(*) FROM "cut$files")')" \
    "1,$NPIECES"
expect_eq "pieces: the first rows come first" "$(csvq 'SELECT id FROM cut LIMIT 10' | tr '\n' ' ')" \
    "1 2 3 4 5 6 7 8 9 10 "
expect_eq "pieces: every row in the file's order" \
    "$(csvq 'SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM cut)')" \
    "$PROWS,$PROWS"
expect_eq "pieces: quoted newlines in every piece, the header in none" \
    "$(csvq "SELECT count(*) FILTER (WHERE note LIKE 'line one, of %' || chr(10) || 'line two'), count(*) FILTER (WHERE name = 'name') FROM cut")" \
    "$((PROWS / 7)),0"
expect_eq "pieces: no temporary file left" "$(ls -A "$WH_TMP" | wc -l)" 0

# without a header line, and NDJSON: the same SELECT reads every piece
tail -n +2 "$TMP/pieces.csv" >"$TMP/pieces-nohdr.csv"
status_is "pieces without a header line" 200 call POST '/ingest/cut_nohdr?header=false' \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/pieces-nohdr.csv"
expect_eq "pieces without a header: streamed, every row in order" \
    "$(streamed),$(jv 'd["files_added"]'),$(csvq 'SELECT count(*), sum(CASE WHEN column0 = n THEN 1 ELSE 0 END) FROM (SELECT column0, row_number() OVER () AS n FROM cut_nohdr)')" \
    "true,$(pieces "$TMP/pieces-nohdr.csv" $PIECE),$PROWS,$PROWS"
awk -v rows=160000 'BEGIN { for (i = 1; i <= rows; i++)
    printf "{\"id\": %d, \"name\": \"name_%d\", \"padding\": \"some text to make the file larger\"}\n", i, i }' \
    >"$TMP/pieces.ndjson"
status_is "NDJSON in pieces" 200 call POST /ingest/cut_nd -H 'Content-Type: application/x-ndjson' \
    -H 'Expect:' --data-binary "@$TMP/pieces.ndjson"
expect_eq "NDJSON in pieces: streamed, one file a piece, every row in order" \
    "$(streamed),$(jv 'd["files_added"]'),$(csvq 'SELECT count(*), sum(CASE WHEN id = n THEN 1 ELSE 0 END) FROM (SELECT id, row_number() OVER () AS n FROM cut_nd)')" \
    "true,$(pieces "$TMP/pieces.ndjson" $PIECE),160000,160000"

# a word in a late piece: the whole-file path, which names the file's row
gen_csv "$TMP/pieces-word.csv" $PROWS 250000 abc
status_is "a word in the last piece, into an existing table, is refused" 422 call POST /ingest/cut \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/pieces-word.csv"
msg=$(jv 'd["error"]["message"]')
case "$msg" in
*"row 250000"*abc*) ok "the refusal in a late piece names the file's row: $msg" ;;
*) bad "the refusal in a late piece names the file's row 250000 (got: $msg)" ;;
esac
expect_eq "the refusal in a late piece committed nothing, left no file" \
    "$(csvq 'SELECT (SELECT count(*) FROM "cut$snapshots"), (SELECT count(*) FROM "cut$files")'),$(find "$WH/default/cut" -name '*.parquet' 2>/dev/null | wc -l),$(ls -A "$WH_TMP" | wc -l)" \
    "1,$NPIECES,$NPIECES,0"
status_is "a word in the last piece, into a new table" 200 call POST /ingest/cut_word \
    -H 'Content-Type: text/csv' -H 'Expect:' --data-binary "@$TMP/pieces-word.csv"
expect_eq "a word in the last piece: the whole-file path, every row, one snapshot" \
    "$(streamed),$(jv 'd["rows_added"]'),$(csvq 'SELECT amount FROM cut_word WHERE id = 250000'),$(csvq 'SELECT count(*) FROM "cut_word$snapshots"')" \
    "false,$PROWS,abc,1"

# an upload aborted in its second piece: nothing commits, no file is left
piece_files() { find "$WH" -path '*/cut_abort/*' -name '*.parquet' 2>/dev/null | wc -l; }
curl -s -o /dev/null -X POST -H 'Content-Type: text/csv' -H 'Expect:' --limit-rate 2M \
    --data-binary "@$TMP/pieces.csv" "$BASE/ingest/cut_abort" &
CURL_PID=$!
# the second piece's file appears when its COPY starts; it ends 6 MiB (3 s) later
for i in $(seq 300); do [ "$(piece_files)" -ge 2 ] && break; sleep 0.1; done
expect_eq "the aborted upload had begun its second piece" "$(piece_files)" 2
sleep 1
kill "$CURL_PID" 2>/dev/null
wait "$CURL_PID" 2>/dev/null
for i in $(seq 50); do [ "$(ls -A "$WH_TMP" | wc -l)" -eq 0 ] && break; sleep 0.2; done
status_is "an upload aborted in its second piece created no table" 404 call GET /tables/cut_abort
expect_eq "... and left no temporary file and no data file" \
    "$(ls -A "$WH_TMP" | wc -l),$(piece_files)" "0,0"

#---- a short file is read whole, as before ----
status_is "a short CSV" 200 call POST /ingest/short -H 'Content-Type: text/csv' \
    --data-binary "@$TMP/short.csv"
expect_eq "a short CSV is not streamed" "$(streamed)" false

finish
