#!/usr/bin/env bash
# t118-query-cache: a query sent again runs the DuckDB statement the server prepared for it
# (tarn_query_statements_total says so), and never reads an old snapshot: after INSERT, DELETE,
# UPDATE, ALTER TABLE (ADD, RENAME, DROP COLUMN) through the server, a commit by another process
# and a table dropped and made again, the very same query text answers the new rows and
# columns, in JSON and CSV. Queries that read more than tarn tables (table functions) are
# prepared afresh each time; time travel reads its snapshot; many clients at once all get the
# right rows; a view another process makes is seen. A small answer is sent whole (with its
# length), a large one streamed; an error found while the first rows are rendered is still the
# answer's status, and answers whole and streamed follow one another on a kept-alive connection.
. "$(dirname "$0")/lib.sh"

export TARN_PROGRESS=0
cd "$TMP"
printf 'id,name\n1,a\n2,b\n3,c\n' >t.csv
"$TARN" ingest t t.csv >/dev/null 2>&1
start_server "$WH" --quiet

# count RESULT: tarn_query_statements_total{result="RESULT"} now.
count() {
    curl -s "$BASE/metrics" | awk -v r="result=\"$1\"" 'index($0, "tarn_query_statements_total{" r "}") == 1 {print $2}'
}
# json SQL: the rows of GET /query's JSON answer, one line per row.
json() {
    curl -s -o "$TMP/jbody" -G "$BASE/query" --data-urlencode "sql=$1"
    jv '"\n".join(json.dumps(r) for r in d["rows"])' "$TMP/jbody"
}
# header SQL: the CSV header line of GET /query.
header() {
    curl -s -G "$BASE/query" --data-urlencode "sql=$1" -d format=csv | head -1
}
# change SQL: run a change through POST /query; ok when it answers 200.
change() {
    status_is "$1" 200 post /query "{\"sql\": \"$1\"}"
}

ALL="SELECT * FROM t ORDER BY id"
POINT="SELECT name FROM t WHERE id = 2"

#---- 1. a repeated query reuses its prepared statement ----
p0=$(count prepared)
r0=$(count reused)
expect_eq "the metric is there from the start" "$p0 $r0" "0 0"
for i in 1 2 3; do
    expect_eq "csv, round $i" "$(csvq "$ALL")" "1,a
2,b
3,c"
    expect_eq "json, round $i" "$(json "$ALL")" '[1, "a"]
[2, "b"]
[3, "c"]'
done
expect_eq "csv and json each prepared once" "$(count prepared)" "2"
expect_eq "... and reused by the rounds after" "$(count reused)" "4"

#---- 2. every change gives the same text new rows or columns ----
change "INSERT INTO t VALUES (4, 'd')"
expect_eq "after INSERT: csv has the new row" "$(csvq "$ALL")" "1,a
2,b
3,c
4,d"
expect_eq "after INSERT: json has the new row" "$(json "$ALL" | tail -1)" '[4, "d"]'
expect_eq "... the new snapshot's text was prepared, not reused" "$(count reused)" "4"
csvq "$POINT" >/dev/null
expect_eq "a point query, twice" "$(csvq "$POINT")" "b"
change "DELETE FROM t WHERE id = 2"
expect_eq "after DELETE: the point query finds nothing" "$(csvq "$POINT")" ""
expect_eq "... nor does the whole table" "$(csvq "$ALL" | cut -d, -f1 | paste -sd' ')" "1 3 4"
change "UPDATE t SET name = 'z' WHERE id = 3"
expect_eq "after UPDATE: the new value" "$(csvq "$ALL" | sed -n 2p)" "3,z"
expect_eq "... in json too" "$(json "$ALL" | sed -n 2p)" '[3, "z"]'
change "ALTER TABLE t ADD COLUMN score DOUBLE"
expect_eq "after ADD COLUMN: the header has it" "$(header "$ALL")" "id,name,score"
expect_eq "... the rows too" "$(csvq "$ALL" | head -1)" "1,a,"
curl -s -o "$TMP/jbody" -G "$BASE/query" --data-urlencode "sql=$ALL"
expect_eq "... and json's columns" "$(jv '[c["name"] for c in d["columns"]]' "$TMP/jbody")" '["id", "name", "score"]'
change "ALTER TABLE t RENAME COLUMN name TO label"
expect_eq "after RENAME COLUMN: the header" "$(header "$ALL")" "id,label,score"
curl -s -o "$TMP/jbody" -G "$BASE/query" --data-urlencode "sql=$ALL"
expect_eq "... json's columns" "$(jv '[c["name"] for c in d["columns"]]' "$TMP/jbody")" '["id", "label", "score"]'
status_is "the old name is gone from the point query" 400 call GET "/query?sql=$(urlenc "$POINT")"
change "ALTER TABLE t DROP COLUMN score"
expect_eq "after DROP COLUMN: the header" "$(header "$ALL")" "id,label"

#---- 3. commits the server did not make ----
"$TARN" sql "INSERT INTO t VALUES (5, 'e')" >/dev/null 2>&1
expect_eq "another process's INSERT shows" "$(csvq "$ALL" | tail -1)" "5,e"
"$TARN" sql "DROP TABLE t" >/dev/null 2>&1
printf 'id,label\n9,new\n' >t2.csv
"$TARN" ingest t t2.csv >/dev/null 2>&1
expect_eq "a table dropped and made again by another process: its rows" "$(csvq "$ALL")" "9,new"

#---- 4. table functions are prepared afresh each time; time travel names its snapshot ----
before=$(count reused)
csvq "SELECT count(*) FROM range(3)" >/dev/null
expect_eq "a table function, twice" "$(csvq "SELECT count(*) FROM range(3)")" "3"
expect_eq "... reused nothing (a prepared statement keeps what DuckDB bound)" "$(count reused)" "$before"
sid=$(curl -s -G "$BASE/query" --data-urlencode "sql=SELECT snapshot_id FROM \"t\$snapshots\"" -d format=csv | tail -1)
"$TARN" sql "INSERT INTO t VALUES (10, 'later')" >/dev/null 2>&1
for i in 1 2; do
    expect_eq "time travel, round $i: the snapshot named" \
        "$(curl -s -G "$BASE/query" --data-urlencode "sql=$ALL" -d format=csv -d snapshot_id="$sid" | tail -n +2)" "9,new"
    expect_eq "... and the present, round $i" "$(csvq "$ALL" | tail -1)" "10,later"
done

#---- 5. a failed query, then the same session's next query ----
status_is "a query that fails while it runs" 422 call GET "/query?sql=$(urlenc "SELECT CAST(label AS INTEGER) FROM t")"
expect_eq "the next queries are right" "$(csvq "$ALL" | tail -1; csvq "$ALL" | tail -1)" "10,later
10,later"

#---- 6. many clients at once ----
"$TARN" sql "INSERT INTO t SELECT i, 'r' || i FROM range(10, 60) r(i)" >/dev/null 2>&1
want=$(csvq "SELECT count(*), sum(id) FROM t")
clients=()
for c in 1 2 3 4 5 6; do
    (for i in 1 2 3 4 5; do
        curl -s -G "$BASE/query" --data-urlencode "sql=SELECT count(*), sum(id) FROM t" -d format=csv | tail -n +2
    done >"$TMP/client$c") &
    clients+=($!)
done
wait "${clients[@]}"
bad_answers=0
for c in 1 2 3 4 5 6; do
    while read -r line; do [ "$line" = "$want" ] || bad_answers=$((bad_answers + 1)); done <"$TMP/client$c"
    [ "$(wc -l <"$TMP/client$c")" = 5 ] || bad_answers=$((bad_answers + 1))
done
expect_eq "6 clients x 5 queries, all answered $want" "$bad_answers" "0"
expect_eq "... the server still runs" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" "200"

#---- 7. a view made by another process: the server's kept catalog statements see it ----
# (the catalog gains Java's iceberg_type column then: a table statement kept from before must
# not take the view for a table)
want=$(csvq "SELECT count(*) FROM t WHERE id < 30")
check "another process makes a view" "$TARN" sql "CREATE VIEW tv AS SELECT id FROM t WHERE id < 30"
expect_eq "the server reads the view" "$(csvq "SELECT count(*) FROM tv")" "$want"
expect_eq "... and the table as before" "$(csvq "SELECT count(*), sum(id) FROM t")" "$(q "SELECT count(*), sum(id) FROM t")"

#---- 8. a small answer is sent whole, a large one streamed ----
# head_of FORMAT SQL: the answer's Content-Length and Transfer-Encoding headers, as "length:chunked"
# counts; the body in $TMP/body.
head_of() {
    curl -s -D "$TMP/h" -o "$TMP/body" -G "$BASE/query" --data-urlencode "sql=$2" -d format="$1"
    echo "$(grep -ci '^content-length:' "$TMP/h"):$(grep -ci '^transfer-encoding: *chunked' "$TMP/h")"
}
SMALL="SELECT i, 'x' || i AS s FROM range(3) r(i)"
expect_eq "json: whole, with its length" "$(head_of json "$SMALL"):$(jv '[d["rows"], d["row_count"], d["truncated"]]')" \
    '1:0:[[[0, "x0"], [1, "x1"], [2, "x2"]], 3, false]'
expect_eq "csv: whole" "$(head_of csv "$SMALL"):$(tr '\n' ' ' <"$TMP/body")" '1:0:i,s 0,x0 1,x1 2,x2 '
expect_eq "ndjson: whole" "$(head_of ndjson "$SMALL"):$(wc -l <"$TMP/body")" '1:0:3'
expect_eq "arrow: whole, with its end-of-stream marker" \
    "$(head_of arrow "$SMALL"):$(tail -c 8 "$TMP/body" | od -An -tx1 | tr -d ' \n')" '1:0:ffffffff00000000'
BIG="SELECT i, 'row ' || i AS label FROM range(100000) r(i)"
expect_eq "csv over 64 KiB: streamed, every row" "$(head_of csv "$BIG"):$(wc -l <"$TMP/body"):$(tail -1 "$TMP/body")" \
    '0:1:100001:99999,row 99999'
expect_eq "json over 64 KiB: streamed, a whole document" \
    "$(curl -s -D "$TMP/h" -o "$TMP/body" -G "$BASE/query" --data-urlencode "sql=$BIG" -d limit=20000
       grep -ci '^transfer-encoding: *chunked' "$TMP/h"):$(jv '[d["row_count"], d["truncated"], d["rows"][-1]]')" \
    '1:[20000, true, [19999, "row 19999"]]'
# several answers on one kept-alive connection, whole and streamed in turn: each one complete
S1=$(urlenc "SELECT 41 + 1 AS a") S2=$(urlenc "$BIG")
curl -s -w 'connects=%{num_connects}\n' "$BASE/query?format=csv&sql=$S1" \
    "$BASE/query?format=csv&sql=$S2" "$BASE/query?format=csv&sql=$S1" \
    "$BASE/query?format=csv&sql=$S2" "$BASE/query?format=csv&sql=$S1" >"$TMP/body"
expect_eq "five answers on one connection, each complete" \
    "$(grep -c '^connects=0$' "$TMP/body"):$(grep -c '^42$' "$TMP/body"):$(grep -c '^99999,row 99999$' "$TMP/body"):$(wc -l <"$TMP/body")" \
    "4:3:2:200013"

#---- 9. the connection's thread is woken before the answer is rendered ----
# (tn_http_reply_soon: the handler says its reply is near once DuckDB has run the statement)
FAILS="SELECT CASE WHEN i = 500 THEN error('boom at ' || i) ELSE i END AS v FROM range(1000) r(i)"
for f in json csv; do
    status_is "$f: an error found while the first rows are rendered is the answer's status" 400 \
        call GET /query -G --data-urlencode "sql=$FAILS" -d format=$f
    expect_eq "... with its message" "$(jv 'd["error"]["message"]')" "Invalid Input Error: boom at 500"
done

finish
