#!/usr/bin/env bash
# t30-http: `tarn serve` on 127.0.0.1 with a temporary warehouse, driven with curl: every endpoint,
# every result format, raw and multipart uploads of awkward files, each error path with its status
# (and a check that nothing was committed), the SQL sandbox, limits, auth, timeouts, concurrent
# ingests and a graceful stop on SIGTERM. JSON answers are read with python3.
. "$(dirname "$0")/lib.sh"

# stop_server: SIGTERM, then the exit status.
stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
}

# query SQL [curl -d options...]: GET /query with the SQL URL-encoded; body in $TMP/body.
query() {
    local sql=$1; shift
    curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=$sql" "$@"
}

snapshots() { call GET "/tables/$1/snapshots" >/dev/null; jv 'len(d["snapshots"])'; }

mkdir -p "$TMP/files"
F=$TMP/files
start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts and answers /health"

#---- health, docs, metrics ----
status_is "GET /health" 200 call GET /health
expect_eq "health body" "$(jv 'd["status"]')" "ok"
expect_eq "health has a version" "$(jv '"version" in d')" "true"
status_is "GET /openapi.json" 200 call GET /openapi.json
expect_eq "openapi lists the routes" \
    "$(jv 'all(p in d["paths"] for p in ["/health", "/query", "/ingest/{table}", "/tables", "/tables/{table}", "/tables/{table}/snapshots", "/tables/register", "/metrics"])')" "true"
expect_eq "openapi describes the error body" "$(jv '"Error" in d["components"]["schemas"]')" "true"
status_is "GET /docs" 200 call GET /docs
check "docs is an HTML page that loads openapi.json" grep -q "openapi.json" "$TMP/body"
status_is "unknown path is 404" 404 call GET /nope
expect_eq "404 body has SPEC's shape" "$(jv '[d["error"]["code"], d["error"]["type"]]')" '[404, "NotFoundException"]'
status_is "wrong method is 405" 405 call PUT /tables

#---- ingest: raw CSV, then every query format ----
cat >"$F/sales.csv" <<'CSV'
id,Name,price,day
1,apple,1.50,2024-01-01
2,"banana, ripe",0.25,2024-01-02
3,,2.75,2024-01-03
CSV
status_is "ingest raw CSV" 200 call POST /ingest/sales -H 'Content-Type: text/csv' --data-binary @"$F/sales.csv"
expect_eq "ingest response" "$(jv '[d["table"], d["created"], d["rows_added"], d["rows_updated"], d["rows_deleted"], d["files_added"], d["schema_changes"]]')" \
    '["default.sales", true, 3, 0, 0, 1, []]'
expect_eq "ingest maps original column names" "$(jv 'd["column_names"]["Name"]')" "name"
expect_eq "ingest returns the schema" "$(jv '[f["name"] for f in d["schema"]["fields"]]')" '["id", "name", "price", "day"]'
expect_eq "ingest returns snapshot and sequence" "$(jv 'd["snapshot_id"] > 0 and d["sequence_number"] == 1')" "true"
SNAP1=$(jv 'd["snapshot_id"]')

query "SELECT id, name, price, day FROM sales ORDER BY id" >/dev/null
expect_eq "json rows" "$(jv 'd["rows"]')" '[[1, "apple", 1.5, "2024-01-01"], [2, "banana, ripe", 0.25, "2024-01-02"], [3, null, 2.75, "2024-01-03"]]'
expect_eq "json columns" "$(jv 'd["columns"]')" '[{"name": "id", "type": "BIGINT"}, {"name": "name", "type": "VARCHAR"}, {"name": "price", "type": "DOUBLE"}, {"name": "day", "type": "DATE"}]'
expect_eq "json row_count and truncated" "$(jv '[d["row_count"], d["truncated"], "elapsed_ms" in d]')" '[3, false, true]'
query "SELECT id, name FROM sales ORDER BY id" -d format=csv >/dev/null
expect_eq "csv format" "$(cat "$TMP/body")" 'id,name
1,apple
2,"banana, ripe"
3,'
query "SELECT id, name FROM sales ORDER BY id" -d format=ndjson >/dev/null
expect_eq "ndjson format" "$(cat "$TMP/body")" '{"id":1,"name":"apple"}
{"id":2,"name":"banana, ripe"}
{"id":3,"name":null}'
code=$(curl -s -o "$F/out.parquet" -w '%{http_code} %{content_type}' -G "$BASE/query" \
    --data-urlencode "sql=SELECT * FROM sales ORDER BY id" -d format=parquet)
expect_eq "parquet format" "$code" "200 application/vnd.apache.parquet"
expect_eq "parquet file has the magic" "$(head -c 4 "$F/out.parquet")" "PAR1"
status_is "the parquet result ingests back" 200 call POST /ingest/sales_copy --data-binary @"$F/out.parquet"
expect_eq "parquet round trip" "$(csvq 'SELECT count(*), sum(id), min(name) FROM sales_copy')" "3,6,apple"
expect_eq "arrow format (t32-arrow reads it)" \
    "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$BASE/query?sql=SELECT%201&format=arrow")" \
    "200 application/vnd.apache.arrow.stream"
status_is "unknown format" 400 call GET "/query?sql=SELECT%201&format=xml"
status_is "POST /query" 200 call POST /query -H 'Content-Type: application/json' \
    -d '{"sql": "SELECT count(*) AS n FROM sales", "format": "json"}'
expect_eq "POST /query result" "$(jv 'd["rows"]')" '[[3]]'
status_is "POST /query csv" 200 call POST /query -d '{"sql": "SELECT 1 AS a, NULL AS b, '"''"' AS c", "format": "csv"}'
expect_eq "csv NULL is empty, empty string is quoted" "$(cat "$TMP/body")" 'a,b,c
1,,""'
status_is "POST /query with bad JSON" 400 call POST /query -d '{"sql": '
status_is "POST /query without sql" 400 call POST /query -d '{"format": "csv"}'
status_is "GET /query without sql" 400 call GET /query
query "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::FLOAT AS c, ['nan'::DOUBLE] AS l" >/dev/null
expect_eq "NaN and infinities are valid JSON" "$(jv 'd["rows"]')" '[["NaN", "Infinity", "-Infinity", ["NaN"]]]'
query "SELECT {'k': 1, 's': 'x\"y'} AS st, [1, 2] AS li, TIMESTAMP '2024-01-02 03:04:05' AS ts, 12.50::DECIMAL(9,2) AS dec" >/dev/null
expect_eq "nested and typed values in JSON" "$(jv 'd["rows"][0]')" '[{"k": 1, "s": "x\"y"}, [1, 2], "2024-01-02 03:04:05", 12.5]'

#---- limits ----
query "SELECT * FROM range(25)" -d limit=10 >/dev/null
expect_eq "limit truncates" "$(jv '[d["row_count"], d["truncated"], len(d["rows"])]')" '[10, true, 10]'
query "SELECT * FROM range(10)" -d limit=10 >/dev/null
expect_eq "limit equal to the rows is not truncated" "$(jv '[d["row_count"], d["truncated"]]')" '[10, false]'
query "SELECT * FROM range(10005)" >/dev/null
expect_eq "default json limit is 10000" "$(jv '[d["row_count"], d["truncated"]]')" '[10000, true]'
query "SELECT * FROM range(20005)" -d format=csv >/dev/null
expect_eq "csv has no default limit (streamed)" "$(wc -l <"$TMP/body")" "20006"
query "SELECT * FROM range(100)" -d format=ndjson -d limit=7 >/dev/null
expect_eq "ndjson honours limit" "$(wc -l <"$TMP/body")" "7"
status_is "negative limit" 400 call GET "/query?sql=SELECT%201&limit=-1"
status_is "non-numeric limit" 400 call GET "/query?sql=SELECT%201&limit=ten"

#---- time travel and table views ----
cat >"$F/more.csv" <<'CSV'
id,Name,price,day
4,cherry,9.99,2024-02-01
CSV
status_is "append a second file" 200 call POST /ingest/sales --data-binary @"$F/more.csv"
expect_eq "append is not a create" "$(jv '[d["created"], d["sequence_number"]]')" '[false, 2]'
expect_eq "append adds rows" "$(csvq 'SELECT count(*) FROM sales')" "4"
expect_eq "snapshot_id parameter" "$(csvq 'SELECT count(*) FROM sales' && query 'SELECT count(*) AS n FROM sales' -d snapshot_id="$SNAP1" >/dev/null && jv 'd["rows"][0][0]')" "4
3"
status_is "POST /query with snapshot_id" 200 call POST /query -d "{\"sql\": \"SELECT count(*) FROM sales\", \"snapshot_id\": $SNAP1}"
expect_eq "POST snapshot_id reads the old snapshot" "$(jv 'd["rows"][0][0]')" "3"
status_is "as_of before the table existed" 404 call GET "/query" -G --data-urlencode "sql=SELECT * FROM sales" --data-urlencode "as_of=2000-01-01 00:00:00"
status_is "as_of now" 200 call GET "/query" -G --data-urlencode "sql=SELECT count(*) FROM sales" --data-urlencode "as_of=2999-01-01 00:00:00"
expect_eq "as_of now reads the current snapshot" "$(jv 'd["rows"][0][0]')" "4"
status_is "as_of that is not a time" 400 call GET "/query" -G --data-urlencode "sql=SELECT 1" --data-urlencode "as_of=yesterday-ish"
expect_eq "AT (VERSION => ...)" "$(csvq "SELECT count(*) FROM sales AT (VERSION => $SNAP1)")" "3"
status_is "unknown snapshot is 404" 404 call GET /query -G --data-urlencode "sql=SELECT * FROM sales AT (VERSION => 42)"

status_is "GET /tables" 200 call GET /tables
expect_eq "tables list" "$(jv '[(t["namespace"], t["name"], t["rows"], t["data_files"]) for t in d["tables"]]')" \
    '[["default", "sales", 4, 2], ["default", "sales_copy", 3, 1]]'
expect_eq "tables list has snapshot, bytes, time" \
    "$(jv 'all(t["current_snapshot_id"] > 0 and t["bytes"] > 0 and t["last_updated_ms"] > 0 for t in d["tables"])')" "true"
status_is "GET /tables/{table}" 200 call GET /tables/sales
expect_eq "describe table" "$(jv '[d["namespace"], d["name"], d["format_version"], d["location"] == "'"$(wh_uri default/sales)"'", d["partition_spec"]["fields"], d["identifier_fields"]]')" \
    '["default", "sales", 2, true, [], []]'
expect_eq "describe schema has ids and types" "$(jv '[(f["id"], f["name"], f["type"], f["required"]) for f in d["schema"]["fields"]]')" \
    '[[1, "id", "long", false], [2, "name", "string", false], [3, "price", "double", false], [4, "day", "date", false]]'
expect_eq "describe current snapshot" "$(jv 'd["current_snapshot"]["snapshot_id"] == d["current_snapshot_id"] and d["current_snapshot"]["operation"] == "append"')" "true"
status_is "namespace-qualified name" 200 call GET /tables/default.sales
status_is "GET /tables/{table}/snapshots" 200 call GET /tables/sales/snapshots
expect_eq "snapshots" "$(jv '[(s["sequence_number"], s["operation"], s["summary"]["added-records"]) for s in d["snapshots"]]')" \
    '[[1, "append", "3"], [2, "append", "1"]]'
expect_eq "snapshot parents" "$(jv '[d["snapshots"][0]["parent_id"], d["snapshots"][1]["parent_id"] == d["snapshots"][0]["snapshot_id"], d["snapshots"][0]["timestamp_ms"] > 0]')" '[null, true, true]'

#---- awkward CSV files ----
printf 'id,txt,note\n1,"line one\nline two",plain\n2,"say ""hi""",\n3,,naïve café ☕\n4,"a,b",日本語\n' >"$F/quotes.csv"
status_is "CSV with quotes, newlines, NULLs and unicode" 200 call POST /ingest/odd -F "file=@$F/quotes.csv"
query "SELECT id, txt, note FROM odd ORDER BY id" >/dev/null
expect_eq "awkward values read back" "$(jv 'd["rows"]')" \
    '[[1, "line one\nline two", "plain"], [2, "say \"hi\"", null], [3, null, "naïve café ☕"], [4, "a,b", "日本語"]]'
query "SELECT id, txt, note FROM odd ORDER BY id" -d format=csv >/dev/null
expect_eq "awkward values as RFC 4180 CSV" "$(cat "$TMP/body")" 'id,txt,note
1,"line one
line two",plain
2,"say ""hi""",
3,,naïve café ☕
4,"a,b",日本語'
printf 'id,name,price\n' >"$F/header.csv"
status_is "header-only CSV" 200 call POST /ingest/hdr --data-binary @"$F/header.csv" -H 'Content-Type: text/csv'
expect_eq "header-only CSV makes an empty table with the columns" \
    "$(jv '[d["rows_added"], [f["name"] for f in d["schema"]["fields"]]]')" '[0, ["id", "name", "price"]]'
: >"$F/empty.csv"
status_is "empty upload is 400" 400 call POST /ingest/empty_t --data-binary @"$F/empty.csv"
status_is "empty table was not created" 404 call GET /tables/empty_t
printf 'a,b\n1,2\n3\n4,5\n6,7\n' >"$F/ragged.csv"
status_is "ragged rows" 200 call POST /ingest/ragged --data-binary @"$F/ragged.csv"
expect_eq "ragged rows keep every row, short ones padded with NULL" \
    "$(csvq 'SELECT a, b FROM ragged ORDER BY a')" '1,2
3,
4,5
6,7'
printf 'a,b\n1,2\n3\n4,5,6\n' >"$F/ragged2.csv"
status_is "ragged rows with an extra field" 200 call POST /ingest/ragged2 --data-binary @"$F/ragged2.csv"
expect_eq "no row of a ragged file is lost" "$(csvq 'SELECT count(*) FROM ragged2')" "3"
# DuckDB's sniffer samples some thousands of rows: a decimal and a word far past them still
# ingest, each column typed to hold all its values; into a table whose column is a long, the
# decimal is a 422 naming its row, and nothing is committed.
python3 -c 'import sys
sys.stdout.write("id,v,s\n")
for i in range(200000):
    sys.stdout.write("%d,%s,%s\n" % (i, "1.5" if i == 150000 else i, "abc" if i == 160000 else i % 7))' >"$F/late.csv"
status_is "values unlike the sniffer's sample, far into the file" 200 call POST /ingest/late --data-binary @"$F/late.csv"
expect_eq "...are read whole, their columns typed to hold them" \
    "$(csvq "SELECT count(*), typeof(v), typeof(s), max(v), count(*) FILTER (WHERE s = 'abc') FROM late GROUP BY ALL")" \
    "200000,DOUBLE,VARCHAR,199999.0,1"
printf 'id,v,s\n1,2,3\n' >"$F/late0.csv"
status_is "a table of longs" 200 call POST /ingest/late_long --data-binary @"$F/late0.csv"
status_is "the same file into it is 422" 422 call POST /ingest/late_long --data-binary @"$F/late.csv"
expect_eq "...naming the row, the value and the column" \
    "$(jv '"row 150001: value '"'"'1.5'"'"' in column v" in d["error"]["message"]')" "true"
expect_eq "...and committing nothing" "$(csvq 'SELECT count(*) FROM late_long')" "1"
python3 -c 'import sys; sys.stdout.write("id,txt\n1," + "x" * (5 * 1024 * 1024) + "\n2,short\n")' >"$F/bigfield.csv"
status_is "a 5 MB field" 200 call POST /ingest/bigfield --data-binary @"$F/bigfield.csv"
expect_eq "the 5 MB field is whole" "$(csvq 'SELECT id, length(txt) FROM bigfield ORDER BY id')" "1,5242880
2,5"
# Long lines are measured exactly wherever they fall: after 30,000 short lines, straddling the
# pieces the upload arrives in; a line beyond 64 MiB is refused with its length.
python3 -c 'import sys
w = sys.stdout.write
w("id,txt\n")
for i in range(30000): w("%d,row %d\n" % (i, i))
w("30000," + "y" * 2500000 + "\n30001,after\n")' >"$F/lateline.csv"
status_is "a 2.5 MB line after 30,000 short ones" 200 call POST /ingest/lateline --data-binary @"$F/lateline.csv"
expect_eq "every row is whole" "$(csvq 'SELECT count(*), max(length(txt)), sum(id) FROM lateline')" \
    "30002,2500000,$((30001 * 30002 / 2))"
python3 -c 'import sys; sys.stdout.write("id,txt\n1,short\n2," + "z" * (65 * 1024 * 1024) + "\n")' >"$F/hugeline.csv"
status_is "a line over 64 MiB is 413" 413 call POST /ingest/hugeline --data-binary @"$F/hugeline.csv"
expect_eq "the error gives the line's length" "$(jv '"68157442 bytes long" in d["error"]["message"]')" "true"
status_is "nothing was created for the huge line" 404 call GET /tables/hugeline
rm -f "$F/hugeline.csv"
printf 'id,name\n1,ok\n2,\xff\xfe bad\n' >"$F/badutf8.csv"
status_is "invalid UTF-8 is 400" 400 call POST /ingest/badutf --data-binary @"$F/badutf8.csv"
expect_eq "the error says what is wrong" "$(jv '"UTF" in d["error"]["message"] or "utf" in d["error"]["message"]')" "true"
status_is "nothing was created for invalid UTF-8" 404 call GET /tables/badutf
printf 'Select,FROM,a b,A-B,1x\n1,2,3,4,5\n' >"$F/keywords.csv"
status_is "keyword and odd column names" 200 call POST /ingest/kw --data-binary @"$F/keywords.csv"
expect_eq "odd names are sanitised and unique" \
    "$(jv '[d["column_names"]["Select"], d["column_names"]["FROM"], d["column_names"]["a b"], d["column_names"]["A-B"].startswith("a_b_"), len(set(d["column_names"].values()))]')" \
    '["select", "from", "a_b", true, 5]'
printf 'a;b\n1;x\n2;y\n' >"$F/semi.csv"
status_is "delimiter parameter" 200 call POST "/ingest/semicolons?delimiter=%3B&header=true" --data-binary @"$F/semi.csv"
expect_eq "semicolon CSV" "$(csvq 'SELECT a, b FROM semicolons ORDER BY a')" "1,x
2,y"
# The dialect is sniffed once and the file read with it: a sniffed delimiter, quoting with the
# delimiter inside, day-first dates and a non-ISO timestamp format keep their types and values.
printf 'id;day;at;note\n1;31/01/2024;2024/01/31 10:20:30;"a;b"\n2;01/02/2024;2024/02/01 00:00:01;plain\n' >"$F/dialect.csv"
status_is "a sniffed dialect: semicolons, day-first dates" 200 call POST /ingest/dialect --data-binary @"$F/dialect.csv"
expect_eq "sniffed types kept" \
    "$(csvq "SELECT string_agg(column_type, ' ' ORDER BY column_name) FROM (DESCRIBE SELECT * FROM dialect)")" \
    "TIMESTAMP DATE BIGINT VARCHAR"
expect_eq "sniffed values kept" "$(csvq 'SELECT id, day, "at", note FROM dialect ORDER BY id')" "1,2024-01-31,2024-01-31 10:20:30,a;b
2,2024-02-01,2024-02-01 00:00:01,plain"
status_is "bad header parameter" 400 call POST "/ingest/semicolons?header=maybe" --data-binary @"$F/semi.csv"
status_is "delimiter on JSON is refused" 400 call POST "/ingest/semicolons?format=json&delimiter=x" --data-binary @"$F/semi.csv"
printf '{"k": 1}\n' >"$F/one.ndjson"
status_is "delimiter on a file found to be NDJSON is refused" 400 \
    call POST "/ingest/notcsv?delimiter=x" -H 'Content-Type: application/x-ndjson' --data-binary @"$F/one.ndjson"
expect_eq "the error says why" "$(jv '"apply to CSV files only" in d["error"]["message"]')" "true"
status_is "nothing was created for it" 404 call GET /tables/notcsv

#---- JSON, NDJSON, multipart, modes ----
printf '[{"k": 1, "tags": ["a", "b"], "info": {"x": 1.5, "y": "q"}}, {"k": 2, "tags": [], "info": null}]' >"$F/n.json"
status_is "JSON array upload" 200 call POST /ingest/shop.items -H 'Content-Type: application/json' --data-binary @"$F/n.json"
expect_eq "nested JSON reads back" "$(csvq 'SELECT k, tags[1], info.y FROM shop.items ORDER BY k')" "1,a,q
2,,"
printf '{"k": 3, "v": "x"}\n{"k": 4, "v": "y"}\n' >"$F/n.ndjson"
status_is "NDJSON upload" 200 call POST "/ingest/nd?format=ndjson" --data-binary @"$F/n.ndjson"
expect_eq "NDJSON rows" "$(csvq 'SELECT k, v FROM nd ORDER BY k')" "3,x
4,y"
status_is "NDJSON by multipart file name" 200 call POST /ingest/nd2 -F "file=@$F/n.ndjson"
expect_eq "format from the file name" "$(csvq 'SELECT count(*) FROM nd2')" "2"
status_is "multipart without a file part" 400 call POST /ingest/mp -F "other=@$F/n.ndjson"
status_is "multipart overwrite (mode as a form field)" 200 call POST /ingest/nd2 -F "file=@$F/n.ndjson" -F mode=overwrite
expect_eq "overwrite replaced the rows" "$(csvq 'SELECT count(*) FROM nd2')" "2"
status_is "overwrite via the query string" 200 call POST "/ingest/sales_copy?mode=overwrite" --data-binary @"$F/more.csv"
expect_eq "overwrite leaves the new rows" "$(csvq 'SELECT count(*) FROM sales_copy')" "1"
status_is "mode=upsert without a key on a table with none is 400" 400 call POST "/ingest/sales?mode=upsert" --data-binary @"$F/more.csv"
status_is "unknown mode" 400 call POST "/ingest/sales?mode=merge" --data-binary @"$F/more.csv"
status_is "unknown format" 400 call POST "/ingest/sales?format=xls" --data-binary @"$F/more.csv"
expect_eq "refused ingests committed nothing" "$(snapshots sales)" "2"
printf 'id,Name,price,day\nseven,x,1,2024-01-01\n' >"$F/badtype.csv"
code=$(call POST /ingest/sales --data-binary @"$F/badtype.csv")
expect_eq "a value that does not fit the table is 422 (or 400)" "$(case $code in 422|400) echo refused;; *) echo "$code";; esac)" "refused"
expect_eq "the failed ingest committed nothing" "$(snapshots sales)" "2"

#---- bad names, unknown tables ----
before=$(wh_ls | tr '\n' ' ')
status_is "name ../x (encoded) on ingest" 400 call POST "/ingest/..%2Fx" --data-binary @"$F/more.csv"
status_is "name ../x (raw path) on ingest" 400 call POST "/ingest/../x" --path-as-is --data-binary @"$F/more.csv"
status_is "name a;b" 400 call POST "/ingest/a;b" --data-binary @"$F/more.csv"
status_is "name x\"y" 400 call POST '/ingest/x"y' --data-binary @"$F/more.csv"
status_is "name with a space" 400 call POST "/ingest/a%20b" --data-binary @"$F/more.csv"
status_is "name too long" 400 call POST "/ingest/$(printf 'a%.0s' $(seq 200))" --data-binary @"$F/more.csv"
status_is "name ../x on describe" 400 call GET "/tables/..%2Fx"
status_is "name a;b on drop" 400 call DELETE "/tables/a;b"
expect_eq "bad names touched nothing on disk" "$(wh_ls | tr '\n' ' ')" "$before"
status_is "unknown table: describe" 404 call GET /tables/nope
expect_eq "404 type" "$(jv 'd["error"]["type"]')" "NoSuchTableException"
status_is "unknown table: snapshots" 404 call GET /tables/nope/snapshots
status_is "unknown table: drop" 404 call DELETE /tables/nope
status_is "unknown table: query" 404 call GET /query -G --data-urlencode "sql=SELECT * FROM nope"
status_is "unknown sub-resource" 404 call GET /tables/sales/whatever

#---- the SQL sandbox ----
snaps=$(snapshots sales)
sandbox() { # DESC SQL: refused with 400 or 403 and an error body
    local desc=$1 sql=$2 code
    code=$(query "$sql")
    if { [ "$code" = 400 ] || [ "$code" = 403 ]; } && [ "$(jv 'd["error"]["code"]')" = "$code" ]; then
        ok "sandbox: $desc ($code)"
    else
        bad "sandbox: $desc (status $code)"; head -c 300 "$TMP/body" | sed 's/^/    /'; echo
    fi
}
sandbox "read_text('/etc/passwd')" "SELECT * FROM read_text('/etc/passwd')"
sandbox "read_csv outside the warehouse" "SELECT * FROM read_csv('/etc/hostname')"
sandbox "COPY TO outside" "COPY (SELECT 1) TO '$TMP/escape.csv'"
sandbox "COPY TO inside the warehouse" "COPY (SELECT 1) TO '$WH/escape.csv'"
sandbox "COPY table TO" "COPY sales TO '$TMP/escape2.csv'"
sandbox "ATTACH" "ATTACH '$TMP/x.db' AS x"
sandbox "INSTALL" "INSTALL httpfs"
sandbox "LOAD" "LOAD httpfs"
sandbox "SET" "SET enable_external_access = true"
sandbox "RESET" "RESET allowed_directories"
sandbox "PRAGMA" "PRAGMA enable_profiling"
sandbox "CREATE TABLE" "CREATE TABLE t AS SELECT 1"
sandbox "CREATE MACRO" "CREATE MACRO m(x) AS x"
sandbox "DROP TABLE" "DROP TABLE sales"
sandbox "two statements" "SELECT 1; SELECT 2"
sandbox "a statement after a SELECT" "SELECT 1; COPY (SELECT 1) TO '$TMP/escape3.csv'"
sandbox "INSERT with GET (read-only)" "INSERT INTO sales VALUES (9, 'x', 1, DATE '2024-01-01')"
sandbox "ALTER with GET (read-only)" "ALTER TABLE sales ADD COLUMN z INTEGER"
sandbox "DELETE with GET (read-only)" "DELETE FROM sales"
sandbox "UPDATE with GET (read-only)" "UPDATE sales SET price = 0"
sandbox "MERGE with GET (read-only)" "MERGE INTO sales USING sales AS s ON sales.id = s.id WHEN MATCHED THEN DELETE"
sandbox "CALL" "CALL pragma_version()"
sandbox "EXPORT DATABASE" "EXPORT DATABASE '$TMP/exp'"
sandbox "comment-hidden statement" "/* SELECT */ COPY (SELECT 1) TO '$TMP/escape4.csv'"
query "COPY (SELECT 1) TO '/tmp/x'" >/dev/null
expect_eq "COPY is refused with a clear message" "$(jv '"only SELECT" in d["error"]["message"]')" "true"
expect_eq "no file escaped the sandbox" "$({ ls "$TMP"/escape* "$TMP/exp" 2>/dev/null; wh_ls | grep escape; } | wc -l)" "0"
expect_eq "the sandbox attempts committed nothing" "$(snapshots sales)" "$snaps"
expect_eq "the table still reads" "$(csvq 'SELECT count(*) FROM sales')" "4"
status_is "DESCRIBE is allowed" 200 call GET /query -G --data-urlencode "sql=DESCRIBE SELECT * FROM sales"
status_is "EXPLAIN is allowed" 200 call GET /query -G --data-urlencode "sql=EXPLAIN SELECT * FROM sales"
status_is "WITH is allowed" 200 call GET /query -G --data-urlencode "sql=WITH x AS (SELECT * FROM sales) SELECT count(*) FROM x"
status_is "a syntax error is 400" 400 call GET /query -G --data-urlencode "sql=SELEC 1"

#---- writes through POST /query ----
status_is "POST INSERT INTO ... VALUES" 200 call POST /query -d '{"sql": "INSERT INTO sales VALUES (5, '"'fig'"', 3.5, DATE '"'2024-03-01'"')"}'
expect_eq "INSERT answers rows_affected and snapshot_id" "$(jv '[d["rows_affected"], d["snapshot_id"] > 0, d["table"]]')" '[1, true, "default.sales"]'
status_is "POST INSERT INTO ... SELECT" 200 call POST /query -d '{"sql": "INSERT INTO sales SELECT id + 10, name, price, day FROM sales WHERE id <= 2"}'
expect_eq "INSERT ... SELECT added the rows" "$(csvq 'SELECT count(*), max(id) FROM sales')" "7,12"
expect_eq "each INSERT is one snapshot" "$(snapshots sales)" "$((snaps + 2))"
status_is "POST MERGE INTO" 200 call POST /query -d '{"sql": "MERGE INTO sales USING (SELECT 5 AS id, 4.5 AS price) AS s ON sales.id = s.id WHEN MATCHED THEN UPDATE SET price = s.price"}'
expect_eq "MERGE answers rows_affected" "$(jv 'd["rows_affected"]')" "1"
expect_eq "MERGE changed the row" "$(csvq 'SELECT price FROM sales WHERE id = 5')" "4.5"
status_is "POST UPDATE" 200 call POST /query -d '{"sql": "UPDATE sales SET price = price * 2 WHERE id = 11"}'
expect_eq "UPDATE answers rows_affected" "$(jv 'd["rows_affected"]')" "1"
expect_eq "UPDATE changed the row" "$(csvq 'SELECT price FROM sales WHERE id = 11')" "3.0"
status_is "POST DELETE" 200 call POST /query -d '{"sql": "DELETE FROM sales WHERE id IN (11, 12)"}'
expect_eq "DELETE answers rows_affected" "$(jv 'd["rows_affected"]')" "2"
expect_eq "DELETE removed the rows" "$(csvq 'SELECT count(*), max(id) FROM sales')" "5,5"
status_is "POST INSERT into an unknown table" 404 call POST /query -d '{"sql": "INSERT INTO nope VALUES (1)"}'
status_is "POST COPY is still refused" 403 call POST /query -d "{\"sql\": \"COPY (SELECT 1) TO '$TMP/escape5.csv'\"}"
status_is "POST ALTER TABLE" 200 call POST /query -d '{"sql": "ALTER TABLE sales ADD COLUMN note VARCHAR"}'
expect_eq "ALTER changed the schema" "$(csvq "SELECT count(*) FROM (DESCRIBE SELECT * FROM sales) WHERE column_name = 'note'")" "1"
printf 'id,Name,price,day,color\n20,kiwi,1,2024-04-01,green\n' >"$F/newcol.csv"
status_is "ingest a file with a new column" 200 call POST /ingest/sales --data-binary @"$F/newcol.csv"
expect_eq "schema_changes reports the new column" "$(jv '[c["action"] for c in d["schema_changes"]]')" '["add_column"]'
expect_eq "old rows read the new column as NULL" "$(csvq 'SELECT count(*) FILTER (WHERE color IS NULL), count(color) FROM sales')" "5,1"

#---- create, register, drop ----
cat >"$TMP/create.json" <<'JSON'
{"name": "crm.customers",
 "schema": {"fields": [
   {"name": "id", "type": "long", "required": true},
   {"name": "email", "type": "string"},
   {"name": "score", "type": "decimal(9,2)"},
   {"name": "address", "type": {"type": "struct", "fields": [
       {"name": "city", "type": "string"}, {"name": "zip", "type": "int"}]}},
   {"name": "tags", "type": {"type": "list", "element": "string", "element-required": false}},
   {"name": "attrs", "type": {"type": "map", "key": "string", "value": "long"}}]},
 "identifier_fields": ["id"],
 "properties": {"owner": "sales-team"}}
JSON
status_is "POST /tables creates a table" 200 call POST /tables -H 'Content-Type: application/json' --data-binary @"$TMP/create.json"
expect_eq "top-level ids come first" "$(jv '[(f["id"], f["name"]) for f in d["schema"]["fields"]]')" \
    '[[1, "id"], [2, "email"], [3, "score"], [4, "address"], [5, "tags"], [6, "attrs"]]'
expect_eq "nested ids are assigned" "$(jv '[[f["id"] for f in d["schema"]["fields"][3]["type"]["fields"]], d["schema"]["fields"][4]["type"]["element-id"], d["schema"]["fields"][5]["type"]["key-id"], d["schema"]["fields"][5]["type"]["value-id"]]')" \
    '[[7, 8], 9, 10, 11]'
expect_eq "identifier fields and properties" "$(jv '[d["identifier_fields"], d["schema"]["identifier-field-ids"], d["properties"]["owner"], d["current_snapshot_id"]]')" \
    '[["id"], [1], "sales-team", null]'
expect_eq "the created table reads empty" "$(csvq 'SELECT count(*) FROM crm.customers')" "0"
status_is "creating it again is 409" 409 call POST /tables --data-binary @"$TMP/create.json"
expect_eq "409 type" "$(jv 'd["error"]["type"]')" "AlreadyExistsException"
status_is "create with a bad type" 400 call POST /tables -d '{"name": "badtype", "schema": {"fields": [{"name": "a", "type": "varchar2"}]}}'
status_is "create with an optional identifier field" 400 call POST /tables -d '{"name": "badid", "schema": {"fields": [{"name": "a", "type": "long"}]}, "identifier_fields": ["a"]}'
status_is "create with a bad name" 400 call POST /tables -d '{"name": "../x", "schema": {"fields": [{"name": "a", "type": "long"}]}}'
status_is "create without fields" 400 call POST /tables -d '{"name": "nofields", "schema": {"fields": []}}'
status_is "create with a duplicate field" 400 call POST /tables -d '{"name": "dup", "schema": {"fields": [{"name": "a", "type": "long"}, {"name": "a", "type": "int"}]}}'
status_is "create that is not JSON" 400 call POST /tables -d 'name=x'
status_is "a JSON body over 1 MiB is 413" 413 call POST /tables --data-binary @"$F/bigfield.csv"
status_is "tables that failed were not created" 404 call GET /tables/badtype
printf 'id,email\n1,a@b.c\n' >"$F/cust.csv"
status_is "ingest into the created table" 200 call POST /ingest/crm.customers --data-binary @"$F/cust.csv"
expect_eq "ingested into the explicit schema" "$(csvq 'SELECT id, email, address IS NULL FROM crm.customers')" "1,a@b.c,true"

call GET /tables/sales >/dev/null
META=$(jv 'd["metadata_location"]')
status_is "register an existing table's metadata" 200 call POST /tables/register -d "{\"name\": \"sales_alias\", \"metadata_location\": \"$META\"}"
expect_eq "the registered table reads" "$(csvq 'SELECT count(*) FROM sales_alias')" "6"
status_is "register a name that exists" 409 call POST /tables/register -d "{\"name\": \"sales_alias\", \"metadata_location\": \"$META\"}"
status_is "register outside the warehouse is refused" 403 call POST /tables/register -d '{"name": "passwd", "metadata_location": "/etc/passwd"}'
# a sibling of the warehouse, and a way out of it through "..", are outside too (for a local
# warehouse the files exist, so that they are refused for where they are, not as missing)
if [ "$TEST_STORAGE" = local ]; then
    mkdir -p "$WH-other" && echo '{}' >"$WH-other/x.metadata.json" && echo '{}' >"$TMP/out.metadata.json"
fi
status_is "register in a sibling of the warehouse is refused" 403 \
    call POST /tables/register -d "{\"name\": \"sib\", \"metadata_location\": \"$WH-other/x.metadata.json\"}"
status_is "register through .. is refused" 403 \
    call POST /tables/register -d "{\"name\": \"up\", \"metadata_location\": \"$WH/default/../../out.metadata.json\"}"
status_is "register a missing file" 404 call POST /tables/register -d "{\"name\": \"ghost\", \"metadata_location\": \"$(wh_uri none.metadata.json)\"}"
status_is "register without metadata_location" 400 call POST /tables/register -d '{"name": "x"}'
status_is "drop the alias (keep files)" 200 call DELETE /tables/sales_alias
expect_eq "drop response" "$(jv '[d["dropped"], d["purged"]]')" '["default.sales_alias", false]'
status_is "the dropped table is gone" 404 call GET /tables/sales_alias
expect_eq "the original still reads after dropping its alias" "$(csvq 'SELECT count(*) FROM sales')" "6"
n=$(wh_ls default/sales_copy -r | grep -c '\.parquet$')
expect_eq "the table to purge has data files" "$((n > 0))" "1"
status_is "drop with purge" 200 call DELETE "/tables/sales_copy?purge=true"
expect_eq "purge deleted the data files" "$(wh_ls default/sales_copy -r | grep -c '\.parquet$')" "0"
status_is "bad purge value" 400 call DELETE "/tables/sales?purge=maybe"

#---- concurrency ----
for i in $(seq 1 8); do
    python3 -c "import sys
n = int(sys.argv[1])
print('id,client')
for k in range(1000): print(f'{n * 100000 + k},{n}')" "$i" >"$F/c$i.csv"
done
pids=()
for i in $(seq 1 8); do
    curl -s -o "$TMP/c8_$i" -w '%{http_code}\n' -X POST --data-binary @"$F/c$i.csv" "$BASE/ingest/multi_$i" >"$TMP/c8_$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
expect_eq "8 concurrent ingests into 8 tables all succeed" "$(cat "$TMP"/c8_*.code | sort | uniq -c | awk '{print $1" "$2}')" "8 200"
grep -h '"error"' "$TMP"/c8_? | head -2 | cut -c1-300 | sed 's/^/    /'
total=0
for i in $(seq 1 8); do n=$(csvq "SELECT count(*) FROM multi_$i"); total=$((total + ${n:-0})); done
expect_eq "8 tables hold every row" "$total" "8000"
pids=()
for i in $(seq 1 8); do
    curl -s -o "$TMP/c1_$i" -w '%{http_code}\n' -X POST --data-binary @"$F/c$i.csv" "$BASE/ingest/shared" >"$TMP/c1_$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
expect_eq "8 concurrent ingests into one table all succeed" "$(cat "$TMP"/c1_*.code | sort | uniq -c | awk '{print $1" "$2}')" "8 200"
grep -h '"error"' "$TMP"/c1_? | head -2 | cut -c1-300 | sed 's/^/    /'
expect_eq "exactly one of them created the table" "$(cat "$TMP"/c1_? | grep -c '"created":true')" "1"
expect_eq "the shared table holds every row" "$(csvq 'SELECT count(*), count(DISTINCT id), count(DISTINCT client) FROM shared')" "8000,8000,8"
expect_eq "the shared table has 8 snapshots" "$(snapshots shared)" "8"
call GET /tables/shared/snapshots >/dev/null
expect_eq "sequence numbers are 1..8" "$(jv '[s["sequence_number"] for s in d["snapshots"]]')" "[1, 2, 3, 4, 5, 6, 7, 8]"
pids=()
for i in $(seq 1 8); do
    curl -s -o /dev/null -w '%{http_code}\n' -G "$BASE/query" --data-urlencode "sql=SELECT count(*) FROM shared s JOIN multi_$i m USING (id)" >"$TMP/q_$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
expect_eq "8 concurrent queries" "$(cat "$TMP"/q_*.code | sort | uniq -c | awk '{print $1" "$2}')" "8 200"

#---- metrics ----
status_is "GET /metrics" 200 call GET /metrics
check "metrics count requests by route and status" grep -q 'tarn_http_requests_total{route="/ingest/{table}",method="POST",status="200"}' "$TMP/body"
check "metrics include the storage counters" grep -q 'tarn_storage_cache_total{result="hit"}' "$TMP/body"
check "metrics have latencies" grep -q 'tarn_http_request_duration_seconds_count{route="/query",method="GET"}' "$TMP/body"
expect_eq "metrics count commits" "$(awk '/^tarn_commits_total/ {print ($2 >= 20)}' "$TMP/body")" "1"
check "metrics count uploaded bytes" grep -qE '^tarn_upload_bytes_total [1-9]' "$TMP/body"
check "metrics count conflicts" grep -qE '^tarn_commit_conflicts_total [0-9]+' "$TMP/body"
expect_eq "no upload was left in .tmp" "$(ls "$WH_TMP" | grep -c '^upload-')" "0"

#---- graceful stop: an ingest in flight finishes, then exit 0 ----
python3 -c "import sys
print('id,v')
for k in range(40000): print(f'{k},value-{k}')" >"$F/slow.csv"
curl -s -o "$TMP/slow" -w '%{http_code}' --limit-rate 200k -X POST --data-binary @"$F/slow.csv" \
    "$BASE/ingest/slow" >"$TMP/slow.code" &
slow=$!
for i in $(seq 100); do
    curl -s "$BASE/metrics" | grep -q '^tarn_http_requests_in_flight [2-9]' && break
    sleep 0.05
done
stop_server
expect_eq "SIGTERM: exit status 0" "$?" "0"
wait "$slow"
expect_eq "the ingest in flight finished" "$(cat "$TMP/slow.code")" "200"
expect_eq "...with every row" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows_added"])' "$TMP/slow")" "40000"
expect_eq "the server no longer answers" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" "000"

#---- a second server: token, upload limit, query timeout ----
start_server "$WH" --token s3cret --max-upload 1000 --query-timeout 1 || bad "second server starts"
AUTH='Authorization: Bearer s3cret'
status_is "token: no header is 401" 401 call GET /tables
expect_eq "401 type" "$(jv 'd["error"]["type"]')" "NotAuthorizedException"
status_is "token: /health needs none" 200 call GET /health
status_is "token: wrong token is 401" 401 call GET /tables -H 'Authorization: Bearer nope'
status_is "token: unknown path without a token is 401" 401 call GET /secret
status_is "token: right token is 200" 200 call GET /tables -H "$AUTH"
status_is "token: query with the token" 200 call GET "/query?sql=SELECT%201" -H "$AUTH"
status_is "token: the docs stay public" 200 call GET /openapi.json
head -c 3000 /dev/zero | tr '\0' 'x' >"$F/over.csv"
status_is "raw upload over --max-upload is 413" 413 call POST /ingest/over -H "$AUTH" --data-binary @"$F/over.csv"
expect_eq "413 type" "$(jv 'd["error"]["type"]')" "PayloadTooLargeException"
status_is "multipart upload over --max-upload is 413" 413 call POST /ingest/over -H "$AUTH" -F "file=@$F/over.csv"
status_is "chunked upload over --max-upload is 413" 413 call POST /ingest/over -H "$AUTH" -H 'Transfer-Encoding: chunked' --data-binary @"$F/over.csv"
status_is "nothing was created by the oversized uploads" 404 call GET /tables/over -H "$AUTH"
expect_eq "partial uploads were deleted" "$(ls "$WH_TMP" | grep -c '^upload-')" "0"
status_is "an upload under the limit works" 200 call POST /ingest/small -H "$AUTH" --data-binary @"$F/cust.csv"
status_is "a query over --query-timeout is stopped" 503 call GET /query -H "$AUTH" -G \
    --data-urlencode "sql=SELECT count(*) FROM range(1000000000000)"
expect_eq "the timeout says so" "$(jv '"--query-timeout" in d["error"]["message"]')" "true"
status_is "the server still answers after a timeout" 200 call GET "/query?sql=SELECT%2042" -H "$AUTH"
stop_server
expect_eq "second server: exit 0" "$?" "0"

#---- a third server: an upload limit above what the disk can hold ----
start_server "$WH" --max-upload 100000TiB || bad "third server starts"
status_is "an upload larger than the free disk space is 507 before its body is read" 507 \
    call POST /ingest/huge -m 20 -H 'Content-Length: 99999999999999999' --data-binary 'a,b'
expect_eq "...and says where space is missing" \
    "$(jv '"free space" in d["error"]["message"] and ".tmp" in d["error"]["message"]')" "true"
status_is "nothing was created by it" 404 call GET /tables/huge
expect_eq "its temporary file was deleted" "$(ls "$WH_TMP" | grep -c '^upload-')" "0"
status_is "an upload of a declared size that fits works" 200 call POST /ingest/fits --data-binary @"$F/cust.csv"
expect_eq "...with its row" "$(jv 'd["rows_added"]')" "1"
stop_server

#---- refusing to start ----
check_fails "a non-loopback host needs a token or --no-auth" 2 "--token" \
    "$TARN" serve --warehouse "$WH" --host 0.0.0.0 --port 1
check_fails "bad --max-upload" 2 "max-upload" "$TARN" serve --warehouse "$WH" --max-upload lots
check_fails "bad --port" 2 "port" "$TARN" serve --warehouse "$WH" --port 99999
finish
