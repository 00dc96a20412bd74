#!/usr/bin/env bash
# t109-sql-pages: `tarn sql` CSV shapes (--delimiter, --header/--no-header) and -o FILE, locally
# and with --remote; pages of a query or a table's rows by cursor, stable while writers commit,
# and tampered cursors refused.
. "$(dirname "$0")/lib.sh"

export TARN_PROGRESS=0
cd "$TMP"
printf 'id,name\n1,"a;b"\n2,\n3,"x,y"\n' >t.csv
"$TARN" ingest t t.csv >/dev/null 2>&1
"$TARN" sql "INSERT INTO t VALUES (4, '')" >/dev/null 2>&1
start_server "$WH" --quiet
R=(--remote "$BASE")
SQL="SELECT id, name FROM t ORDER BY id"

#---- 1. CSV shapes, the same locally and remotely ----
for where in local remote; do
    opt=(); [ $where = remote ] && opt=("${R[@]}")
    expect_eq "$where: --delimiter ';' quotes cells holding it" \
        "$("$TARN" sql "$SQL" --format csv --delimiter ';' "${opt[@]}" 2>&1)" 'id;name
1;"a;b"
2;
3;x,y
4;""'
    expect_eq "$where: --delimiter tab --no-header" \
        "$("$TARN" sql "$SQL" --format csv --delimiter tab --no-header "${opt[@]}" 2>&1)" "$(printf '1\ta;b\n2\t\n3\tx,y\n4\t""')"
    expect_eq "$where: --header is the default" \
        "$("$TARN" sql "SELECT 1 AS a" --format csv --header "${opt[@]}" 2>&1)" 'a
1'
    check_fails "$where: --delimiter without --format csv" 2 "go with --format csv" \
        "$TARN" sql "$SQL" --delimiter ';' "${opt[@]}"
    rm -f out.parquet
    check "$where: --format parquet -o FILE" "$TARN" sql "$SQL" --format parquet -o out.parquet "${opt[@]}"
    expect_eq "... FILE is a Parquet file" "$(head -c 4 out.parquet)" "PAR1"
    "$TARN" ingest "back_$where" out.parquet >/dev/null 2>&1
    expect_eq "... with the rows" "$("$TARN" sql "SELECT count(*), max(id) FROM back_$where" --format csv --no-header 2>&1)" "4,4"
    check_fails "$where: a failed query leaves no -o FILE" 3 "nosuch" \
        "$TARN" sql "SELECT * FROM nosuch" --format csv -o failed.csv "${opt[@]}"
    [ -e failed.csv ] && bad "... failed.csv removed" || ok "... failed.csv removed"
done
check_fails "--delimiter of two characters" 2 "one character" "$TARN" sql "$SQL" --format csv --delimiter ';;'
check_fails "--delimiter a quote" 2 "one character" "$TARN" sql "$SQL" --format csv --delimiter '"'
check_fails "-o with another command" 2 "goes with tarn sql" "$TARN" tables -o x.txt

#---- 2. pages by cursor: the snapshot the first page read, whatever writers commit ----
PQ="SELECT id FROM t ORDER BY id"
status_is "POST /query with a limit: the first page" 200 post /query "{\"sql\": \"$PQ\", \"limit\": 2}"
expect_eq "... its rows" "$(jv 'd["rows"]')" "[[1], [2]]"
C1=$(jv 'd["next_cursor"]')
expect_eq "... and a next_cursor" "$(jv '"next_cursor" in d and len(d["next_cursor"]) > 64')" "true"
"$TARN" sql "INSERT INTO t VALUES (0, 'new'), (5, 'new')" >/dev/null 2>&1
expect_eq "a writer committed meanwhile" "$(csvq "SELECT count(*) FROM t")" "6"
status_is "the next page by cursor" 200 post /query "{\"sql\": \"$PQ\", \"limit\": 2, \"cursor\": \"$C1\"}"
expect_eq "... reads the first page's snapshot (no 0, no 5)" "$(jv 'd["rows"]')" "[[3], [4]]"
expect_eq "... and is the last one: no next_cursor" "$(jv '["next_cursor" in d, d["truncated"], d["offset"]]')" "[false, false, 2]"
status_is "offset without a cursor reads the present" 200 post /query "{\"sql\": \"$PQ\", \"limit\": 2, \"offset\": 4}"
expect_eq "... with the writer's rows" "$(jv 'd["rows"]')" "[[4], [5]]"
status_is "GET /query takes a cursor too" 200 call GET "/query?sql=$(urlenc "$PQ")&limit=2&cursor=$C1"
expect_eq "... the same page" "$(jv 'd["rows"]')" "[[3], [4]]"
bad_c=$(python3 -c 'import sys; c = sys.argv[1]; i = 10; print(c[:i] + ("0" if c[i] != "0" else "1") + c[i + 1:])' "$C1")
status_is "a cursor with one character changed" 400 post /query "{\"sql\": \"$PQ\", \"limit\": 2, \"cursor\": \"$bad_c\"}"
expect_eq "... says so" "$(jv '"changed" in d["error"]["message"] if isinstance(d.get("error"), dict) else "changed" in str(d)')" "true"
status_is "a cursor that is not one" 400 post /query "{\"sql\": \"$PQ\", \"cursor\": \"abc\"}"
status_is "a cursor of another query" 400 post /query "{\"sql\": \"SELECT id FROM t\", \"limit\": 2, \"cursor\": \"$C1\"}"
status_is "a cursor with an offset" 400 post /query "{\"sql\": \"$PQ\", \"offset\": 1, \"cursor\": \"$C1\"}"
status_is "a cursor with a snapshot_id" 400 post /query "{\"sql\": \"$PQ\", \"snapshot_id\": 1, \"cursor\": \"$C1\"}"
status_is "a cursor that is not a string" 400 post /query "{\"sql\": \"$PQ\", \"cursor\": 5}"

status_is "GET /tables/{t}/rows: the first page" 200 call GET "/tables/t/rows?limit=4"
expect_eq "... its rows, as the table holds them" "$(jv 'sorted(r[0] for r in d["rows"]) == sorted(r[0] for r in d["rows"]) and len(d["rows"])')" "4"
R1=$(jv '[r[0] for r in d["rows"]]'); RC=$(jv 'd["next_cursor"]')
"$TARN" sql "DELETE FROM t WHERE id IN (0, 1, 2, 3, 4, 5)" >/dev/null 2>&1
expect_eq "a writer deleted every row meanwhile" "$(csvq "SELECT count(*) FROM t")" "0"
status_is "the next page by cursor" 200 call GET "/tables/t/rows?limit=4&cursor=$RC"
expect_eq "... the rest of the snapshot the first page read" "$(jv 'len(d["rows"])')" "2"
status_is "rows as CSV" 200 call GET "/tables/t/rows?limit=1&format=csv" -D "$TMP/hdr"
expect_eq "... the cursor in X-Tarn-Next-Cursor" "$(grep -ci '^x-tarn-next-cursor: [0-9a-f]*\.[0-9a-f]\{64\}' "$TMP/hdr")" "1"
status_is "rows of a missing table" 404 call GET "/tables/nosuch/rows"
status_is "rows with sql" 400 call GET "/tables/t/rows?sql=SELECT+1"
# the cursor's last hex digit changed (to 1 when it is 0, else to 0)
status_is "rows with a tampered cursor" 400 call GET "/tables/t/rows?limit=4&cursor=${RC%?}$([ "${RC: -1}" = 0 ] && echo 1 || echo 0)"
MAIN_BASE=$BASE
start_server "$WH" --quiet --cors-origin http://app.test
status_is "a web page's read" 200 call GET "/tables/t/rows?limit=1&format=csv" -H "Origin: http://app.test" -D "$TMP/hdr"
expect_eq "... may read X-Tarn-Next-Cursor (CORS)" "$(grep -i '^access-control-expose-headers:' "$TMP/hdr" | grep -c 'X-Tarn-Next-Cursor')" "1"
BASE=$MAIN_BASE
status_is "openapi" 200 call GET /openapi.json
expect_eq "... lists /tables/{table}/rows and cursor on /query" "$(jv '["/tables/{table}/rows" in d["paths"], "cursor" in [p["name"] for p in d["paths"]["/query"]["get"]["parameters"]]]')" "[true, true]"

#---- 3. ALTER COLUMN ... TYPE beyond Iceberg's promotions: a new field and a rewrite ----
# fields TABLE: the current schema's fields as "id:name:type" words.
fields() { "$TARN" describe "$1" 2>&1 | awk '/^id +name/ {on = 1; next} on && /^[0-9]/ {printf "%s%s:%s:%s", sep, $1, $2, $3; sep = " "} on && !/^[0-9]/ {on = 0}'; }
printf 'id,amount,note\n1,10,a\n2,20,b\n3,30,7\n' >m.csv
"$TARN" ingest m m.csv >/dev/null 2>&1
"$TARN" sql "DELETE FROM m WHERE id = 2" >/dev/null 2>&1
s_old=$("$TARN" history m 2>/dev/null | grep '^[0-9]' | tail -1 | awk '{print $1}')
n_snap=$("$TARN" history m 2>/dev/null | grep -c '^[0-9]')
expect_eq "before: amount is long (field 2)" "$(fields m)" "1:id:long 2:amount:long 3:note:string"
check "ALTER COLUMN amount TYPE DOUBLE (Iceberg forbids long to double in place)" "$TARN" sql "ALTER TABLE m ALTER COLUMN amount TYPE DOUBLE"
expect_eq "... a new field under the same name, in its place" "$(fields m)" "1:id:long 4:amount:double 3:note:string"
expect_eq "... the live rows rewritten, deletes applied" "$("$TARN" sql "SELECT id, amount, typeof(amount) FROM m ORDER BY id" --format csv --no-header 2>&1)" "1,10.0,DOUBLE
3,30.0,DOUBLE"
expect_eq "... in one commit" "$("$TARN" history m 2>/dev/null | grep -c '^[0-9]')" "$((n_snap + 1))"
expect_eq "... time travel reads the old type" "$("$TARN" sql "SELECT any_value(typeof(amount)), sum(amount) FROM m AT (VERSION => $s_old)" --format csv --no-header 2>&1)" "BIGINT,40"
check "SET DATA TYPE DECIMAL(12,2)" "$TARN" sql "ALTER TABLE m ALTER COLUMN amount SET DATA TYPE DECIMAL(12,2)"
expect_eq "... the values as decimals" "$("$TARN" sql "SELECT amount FROM m ORDER BY id" --format csv --no-header 2>&1)" "10.00
30.00"
expect_eq "an allowed promotion stays metadata-only (same field id)" \
    "$("$TARN" sql "ALTER TABLE m ALTER COLUMN amount TYPE DECIMAL(14,2)" >/dev/null 2>&1; fields m)" "1:id:long 5:amount:decimal(14,2) 3:note:string"
n_snap=$("$TARN" history m 2>/dev/null | grep -c '^[0-9]')
check_fails "a value that does not convert: 422 with the value and row" 2 "the value 'a' of row 1 does not convert" \
    "$TARN" sql "ALTER TABLE m ALTER COLUMN note TYPE INT"
expect_eq "... nothing committed" "$("$TARN" history m 2>/dev/null | grep -c '^[0-9]'):$(fields m)" "$n_snap:1:id:long 5:amount:decimal(14,2) 3:note:string"
status_is "... over HTTP: 422" 422 post /query '{"sql": "ALTER TABLE m ALTER COLUMN note TYPE INT"}'
status_is "to string over HTTP" 200 post /query '{"sql": "ALTER TABLE m ALTER COLUMN id TYPE VARCHAR"}'
expect_eq "... id is a string now" "$("$TARN" sql "SELECT string_agg(typeof(id), ';') FROM m" --format csv --no-header 2>&1)" "VARCHAR;VARCHAR"
"$TARN" ingest k t.csv --mode upsert --key id >/dev/null 2>&1
check_fails "a key column cannot be replaced" 2 "identifier (key) field" "$TARN" sql "ALTER TABLE k ALTER COLUMN id TYPE DOUBLE"
printf 'q\n5\n' >o1.csv; printf 'q\n5.5\n' >o2.csv
"$TARN" ingest o o1.csv >/dev/null 2>&1
check "ingest --mode overwrite with a wider type" "$TARN" ingest o o2.csv --mode overwrite
expect_eq "... replaces the column's type (a new field id, as overwriteSchema)" "$(fields o)" "2:q:double"

finish
