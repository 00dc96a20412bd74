#!/usr/bin/env bash
# t105-sql-cli: SQL a DuckDB user already knows (SHOW TABLES, DESCRIBE, information_schema,
# CREATE/DROP TABLE, TBLPROPERTIES, RETURNING), errors that speak of the user's statement, and
# the command line's formats, exit codes and help -- over `tarn sql` and POST /query alike.
. "$(dirname "$0")/lib.sh"

export TARN_PROGRESS=0
cd "$TMP"
printf 'id,amount,region\n1,2.5,eu\n2,3,us\n3,4,eu\n' >sales.csv
"$TARN" ingest sales sales.csv >/dev/null 2>&1
"$TARN" ingest acct sales.csv --mode upsert --key id >/dev/null 2>&1

# sqlq SQL: `tarn sql SQL --format csv` without the header; stderr too.
sqlq() { "$TARN" sql "$1" --format csv "${@:2}" 2>&1 | tail -n +2; }

#---- 1. the catalog, as DuckDB users ask for it ----
expect_eq "SHOW TABLES lists tarn's tables" "$(sqlq 'SHOW TABLES')" "acct
sales"
expect_eq "SHOW TABLES FROM default" "$(sqlq 'SHOW TABLES FROM default')" "acct
sales"
expect_eq "SHOW ALL TABLES: schema, name, columns" \
    "$(sqlq 'SELECT schema, name, column_names FROM (SHOW ALL TABLES) WHERE name = '"'sales'"'')" \
    'default,sales,"[id, amount, region]"'
expect_eq "DESCRIBE t: types, NOT NULL and the key from the Iceberg schema" \
    "$(sqlq 'DESCRIBE acct' | cut -d, -f1-4)" "id,BIGINT,NO,PRI
amount,DOUBLE,YES,
region,VARCHAR,YES,"
expect_eq "information_schema.tables" \
    "$(sqlq "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY 2")" \
    "default,acct,BASE TABLE
default,sales,BASE TABLE"
expect_eq "information_schema.columns" \
    "$(sqlq "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'sales' ORDER BY ordinal_position")" \
    "id,BIGINT,YES
amount,DOUBLE,YES
region,VARCHAR,YES"
check_fails "an unknown table suggests the nearest tarn table" 3 'Did you mean "sales"?' \
    "$TARN" sql "SELECT * FROM salse"
if grep -q pg_tablespace "$TMP/err"; then bad "no DuckDB view suggested"; else ok "no DuckDB view suggested"; fi


#---- 2. CREATE TABLE, CREATE TABLE AS, DROP TABLE, TBLPROPERTIES ----
# meta TABLE EXPR: a Python expression over the table's current metadata m.
meta() {
    python3 -c 'import json, sys, sqlite3
loc = sqlite3.connect(sys.argv[1]).execute("SELECT metadata_location FROM iceberg_tables WHERE table_name = ?", (sys.argv[2],)).fetchone()[0]
m = json.load(open(loc.replace("file://", "")))
print(json.dumps(eval(sys.argv[3]), sort_keys=True))' "$WH/catalog.db" "$1" "$2"
}
check "CREATE TABLE with types, keys, partitioning and properties" "$TARN" sql \
    "CREATE TABLE ev (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, ts TIMESTAMP, tags VARCHAR[]) PARTITIONED BY (day(ts)) TBLPROPERTIES ('owner' = 'ana')"
expect_eq "... its schema" "$(sqlq 'DESCRIBE ev' | cut -d, -f1-4)" "id,BIGINT,NO,PRI
name,VARCHAR,NO,
ts,TIMESTAMP,YES,
tags,VARCHAR[],YES,"
expect_eq "... its partition spec" "$(meta ev '[(f["transform"], f["source-id"]) for s in m["partition-specs"] for f in s["fields"]]')" '[["day", 3]]'
expect_eq "... its properties" "$(meta ev 'm["properties"]["owner"]')" '"ana"'
check_fails "CREATE TABLE of an existing table" 4 "already exists" "$TARN" sql "CREATE TABLE ev (a INT)"
check "CREATE TABLE IF NOT EXISTS of an existing table" "$TARN" sql "CREATE TABLE IF NOT EXISTS ev (a INT)"
check_fails "a type that is not a type" 2 "not part of a type" "$TARN" sql "CREATE TABLE bad (a INT'x')"
check_fails "CREATE SEQUENCE is refused" 2 "CREATE SEQUENCE is refused" "$TARN" sql "CREATE SEQUENCE s"
check "CREATE TABLE AS SELECT, partitioned" "$TARN" sql \
    "CREATE TABLE eu PARTITIONED BY (region) AS SELECT id, amount, region FROM sales WHERE region = 'eu'"
expect_eq "... has the query's rows" "$(sqlq 'SELECT id, amount FROM eu ORDER BY id')" "1,2.5
3,4.0"
expect_eq "... in one snapshot" "$(sqlq 'SELECT count(*) FROM eu$snapshots')" "1"
expect_eq "... partitioned by region" "$(meta eu '[f["transform"] for s in m["partition-specs"] for f in s["fields"]]')" '["identity"]'
check_fails "CREATE TABLE AS from a missing table leaves no table" 3 "does not exist" \
    "$TARN" sql "CREATE TABLE ghost AS SELECT * FROM nosuch_table_at_all"
check_fails "... no table" 3 "does not exist" "$TARN" sql "SELECT * FROM ghost"
check "ALTER TABLE SET TBLPROPERTIES" "$TARN" sql "ALTER TABLE ev SET TBLPROPERTIES ('owner' = 'bo', 'team' = 'x')"
expect_eq "... both set in one commit" "$(meta ev '[m["properties"].get("owner"), m["properties"].get("team")]')" '["bo", "x"]'
check "ALTER TABLE UNSET TBLPROPERTIES" "$TARN" sql "ALTER TABLE ev UNSET TBLPROPERTIES ('team')"
expect_eq "... removed" "$(meta ev '"team" in m["properties"]')" 'false'
check_fails "UNSET of a missing property" 3 "no property 'nope'" "$TARN" sql "ALTER TABLE ev UNSET TBLPROPERTIES ('nope')"
check "DROP TABLE" "$TARN" sql "DROP TABLE eu"
check_fails "... it is gone" 3 "does not exist" "$TARN" sql "SELECT * FROM eu"
check_fails "DROP TABLE of a missing table" 3 "IF EXISTS" "$TARN" sql "DROP TABLE eu"
check "DROP TABLE IF EXISTS of a missing table" "$TARN" sql "DROP TABLE IF EXISTS eu"

#---- 2b. RETURNING ----
check "INSERT ... RETURNING" "$TARN" sql "INSERT INTO sales VALUES (7, 1.5, 'x'), (8, 2.5, 'y') RETURNING id, amount * 2 AS doubled" --format csv
expect_eq "... the inserted rows" "$(cat "$TMP/out")" "id,doubled
7,3.0
8,5.0"
check "UPDATE ... RETURNING" "$TARN" sql "UPDATE sales SET amount = amount * 10 WHERE id = 7 RETURNING *" --format csv
expect_eq "... the new values" "$(tail -n +2 "$TMP/out")" "7,15.0,x"
check "DELETE ... RETURNING" "$TARN" sql "DELETE FROM sales s WHERE s.id >= 7 RETURNING s.id, region" --format csv
expect_eq "... the removed rows" "$(tail -n +2 "$TMP/out" | sort)" "7,x
8,y"
expect_eq "... each one commit" "$(sqlq 'SELECT count(*) FROM sales$snapshots')" "4"
check_fails "a RETURNING list that does not bind commits nothing" 2 "RETURNING" \
    "$TARN" sql "INSERT INTO sales VALUES (9, 1, 'z') RETURNING nosuch"
expect_eq "... no row 9" "$(sqlq 'SELECT count(*) FROM sales WHERE id = 9')" "0"

#---- 3. errors speak of the user's statement and file, not tarn's internals ----
# no_internals DESC FILE: FILE holds none of tarn's own names or temporary paths.
no_internals() {
    if grep -qE '_tn_rows|_tn_file|_tn_pos|file_row_number|__tn_relation|\.tmp/upload-|/upload-[0-9]+-|LINE 1:' "$2"; then
        bad "$1"; sed 's/^/    /' "$2" | head -3
    else ok "$1"; fi
}
check_fails "INSERT with too few values" 2 "2 values for 3 columns" \
    "$TARN" sql "INSERT INTO sales VALUES (1, 2)"
no_internals "... says nothing of _tn_rows" "$TMP/err"
check_fails "DELETE on an unknown column" 2 'column "nope" not found' "$TARN" sql "DELETE FROM sales WHERE nope = 1"
no_internals "... offers none of tarn's row-identity columns" "$TMP/err"
check_fails "UPDATE on an unknown column" 2 'column "nope" not found' "$TARN" sql "UPDATE sales SET amount = 1 WHERE nope = 1"
no_internals "... offers none of tarn's row-identity columns either" "$TMP/err"
check_fails "a syntax error" 2 "syntax error" "$TARN" sql "SELECT * FROM sales WHERE"
no_internals "... shows no rewritten SQL" "$TMP/err"

#---- 4. a snapshot that is not there names the nearest ones ----
first=$(sqlq 'SELECT snapshot_id FROM sales$snapshots ORDER BY committed_at LIMIT 1')
near=$(python3 -c "print($first + 44)")
check_fails "a missing snapshot: 404-like exit 3" 3 "has no snapshot $near; the nearest ids are $first (" \
    "$TARN" sql "SELECT * FROM sales" --snapshot "$near"
expect_eq "... the message is whole (the count ends it)" "$(grep -c 'snapshots in all (\$snapshots lists them)$' "$TMP/err")" "1"
expect_eq "... and hints at JavaScript rounding" "$(grep -c 'JavaScript number rounds' "$TMP/err")" "1"
check_fails "a missing ref names the current snapshot" 3 "no snapshot or ref 'nosuch'; the current one is" \
    "$TARN" sql "SELECT * FROM sales AT (VERSION => 'nosuch')"

#---- 8. the shell's travel ----
printf 'travel nosuch 1\n' | "$TARN" shell >"$TMP/sh.out" 2>"$TMP/sh.err"
expect_eq "travel to a missing table names it" "$(grep -c '"nosuch" does not exist' "$TMP/sh.err")" "1"
printf 'travel sales %s\nselect count(*) AS n from sales;\ntravel sales now\nselect count(*) AS n from sales;\n' "$first" |
    "$TARN" shell --format csv >"$TMP/sh.out" 2>"$TMP/sh.err"
expect_eq "travel TABLE now returns to the present and says so" \
    "$(grep -v '^n$' "$TMP/sh.out" | sed 's/AT (VERSION => [0-9]*)/AT (...)/')" \
    "default.sales: queries read AT (...), 3 rows; 'travel sales' returns to the present
3
default.sales: back to the present; queries read its current snapshot
$(sqlq 'SELECT count(*) FROM sales')"

#---- 7. the command line ----
check "tarn ingest --help" "$TARN" ingest --help
expect_eq "... is ingest's usage" "$(head -1 "$TMP/out" | cut -c1-24)" "usage: tarn ingest TABLE"
if grep -q "^  serve" "$TMP/out"; then bad "... and only ingest's"; else ok "... and only ingest's"; fi
check "tarn sql --help lists the formats" "$TARN" sql --help
expect_eq "... json, ndjson, parquet" "$(grep -c 'csv|json|ndjson|arrow|parquet' "$TMP/out")" "1"
expect_eq "--format json is one JSON array" \
    "$("$TARN" sql "SELECT id, region FROM sales WHERE id <= 2 ORDER BY id" --format json | python3 -c 'import json, sys; print(json.load(sys.stdin))')" \
    "[{'id': 1, 'region': 'eu'}, {'id': 2, 'region': 'us'}]"
expect_eq "--format json of no rows is []" "$("$TARN" sql "SELECT 1 AS a WHERE false" --format json)" "[]"
expect_eq "--format ndjson is one object a line" \
    "$("$TARN" sql "SELECT id FROM sales WHERE id <= 2 ORDER BY id" --format ndjson)" '{"id":1}
{"id":2}'
"$TARN" sql "SELECT id FROM sales ORDER BY id" --format parquet >"$TMP/out.parquet"
expect_eq "--format parquet writes a Parquet file" "$(head -c 4 "$TMP/out.parquet")" "PAR1"
check_fails "an upsert without a key speaks CLI" 2 "needs --key column" \
    "$TARN" ingest newt sales.csv --mode upsert

#---- 7c. describe, history and tables say more ----
check "tarn describe" "$TARN" describe ev
expect_eq "... the partition spec, identifier fields, sort order and properties" \
    "$(grep -E '^(partition-spec|identifier-fields|sort-order|  owner)' "$TMP/out")" "partition-spec day(ts) as ts_day
identifier-fields id
sort-order unsorted
  owner = bo"
check "tarn history" "$TARN" history sales
expect_eq "... '-' for no parent, ISO-8601 local time, operation, rows added" \
    "$(awk 'NR==2 {print $2, ($4 ~ /^2[0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+[+-][0-9][0-9]:[0-9][0-9]$/), $5, $6, $7}' "$TMP/out")" "- 1 append 3 0"
expect_eq "... a delete's rows deleted" "$(awk '$5 == "delete" {print $7; exit}' "$TMP/out")" "2"
check "tarn tables" "$TARN" tables
expect_eq "... rows, files, size and last change" \
    "$(awk '$1 == "default.acct" {print $2, $3, ($4 > 0), ($6 ~ /^2[0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/)}' "$TMP/out")" "3 1 1 1"

start_server "$WH" --quiet
status_is "POST /query SHOW TABLES" 200 post /query '{"sql": "SHOW TABLES", "format": "json"}'
expect_eq "SHOW TABLES over HTTP" "$(jv 'd["rows"]')" '[["acct"], ["ev"], ["sales"]]'
status_is "an unknown table over HTTP is 404" 404 post /query '{"sql": "SELECT * FROM sales_x"}'
expect_eq "404 names the nearest table" "$(jv '"Did you mean \"sales\"" in d["error"]["message"]')" "true"
status_is "POST /query CREATE TABLE AS" 200 post /query '{"sql": "CREATE TABLE us AS SELECT * FROM sales WHERE region = '"'us'"'"}'
expect_eq "... answers the snapshot and rows" "$(jv '[d["created"], d["rows_affected"], d["snapshot_id"] is not None]')" '[true, 1, true]'
status_is "POST /query DROP TABLE" 200 post /query '{"sql": "DROP TABLE us"}'
status_is "GET /query cannot create" 403 call GET "/query?sql=CREATE%20TABLE%20z%20(a%20INT)"

status_is "POST /query INSERT ... RETURNING" 200 post /query '{"sql": "INSERT INTO sales VALUES (10, 1, '"'w'"') RETURNING id, region"}'
expect_eq "... answers the rows beside the commit" "$(jv '[d["rows"], d["rows_affected"], d["snapshot_id"] is not None]')" '[[["10", "w"]], 1, true]'
status_is "POST /query DELETE ... RETURNING" 200 post /query '{"sql": "DELETE FROM sales WHERE id = 10 RETURNING *"}'
expect_eq "... the removed row" "$(jv '[d["rows"], [c["name"] for c in d["columns"]]]')" '[[["10", "1.0", "w"]], ["id", "amount", "region"]]'

for ct in application/vnd.apache.parquet application/json text/csv; do
    code=$(call POST /ingest/broken -H "Content-Type: $ct" --data-binary $'PAR1\xff\xfe{"a": [1,2\n\x00garbagePAR1')
    if [ "$code" -ge 400 ] && grep -q "uploaded file" "$TMP/body"; then ok "a broken $ct upload speaks of the uploaded file"
    else bad "a broken $ct upload speaks of the uploaded file (status $code)"; head -c 300 "$TMP/body"; echo; fi
    no_internals "... and shows no server path" "$TMP/body"
done
status_is "INSERT with too few values over HTTP" 400 post /query '{"sql": "INSERT INTO sales VALUES (1, 2)"}'
no_internals "... says nothing of _tn_rows" "$TMP/body"

#---- 5. snapshot ids that survive JavaScript ----
status_is "GET /tables/sales/snapshots?ids=string" 200 call GET "/tables/sales/snapshots?ids=string"
expect_eq "... every snapshot id is a string" \
    "$(jv 'all(isinstance(s["snapshot_id"], str) and (s["parent_id"] is None or isinstance(s["parent_id"], str)) for s in d["snapshots"]) and isinstance(d["current_snapshot_id"], str)')" "true"
sid=$(jv 'd["snapshots"][0]["snapshot_id"]')
status_is "... without it, numbers" 200 call GET "/tables/sales/snapshots"
expect_eq "... as before" "$(jv 'isinstance(d["current_snapshot_id"], int)')" "true"
status_is "GET /tables/sales?ids=string" 200 call GET "/tables/sales?ids=string"
expect_eq "... the current snapshot id is a string" "$(jv 'isinstance(d["current_snapshot_id"], str)')" "true"
status_is "POST /query with a string snapshot_id" 200 post /query '{"sql": "SELECT count(*) FROM sales", "snapshot_id": "'"$sid"'"}'
expect_eq "... reads that snapshot" "$(jv 'd["rows"]')" '[[3]]'
status_is "AT (VERSION => a string id)" 200 post /query '{"sql": "SELECT count(*) FROM sales AT (VERSION => '"'$sid'"')"}'
expect_eq "... reads that snapshot too" "$(jv 'd["rows"]')" '[[3]]'
status_is "a write's answer with ?ids=string" 200 call POST "/query?ids=string" -H 'Content-Type: application/json' \
    --data-binary '{"sql": "INSERT INTO sales VALUES (20, 1, '"'p'"')"}'
expect_eq "... gives its snapshot id as a string" "$(jv 'isinstance(d["snapshot_id"], str)')" "true"

#---- 6. pages beyond the limit ----
status_is "POST /query with limit and offset" 200 post /query '{"sql": "SELECT id FROM range(10) t(id) ORDER BY id", "limit": 3, "offset": 3}'
expect_eq "... the second page" "$(jv '[d["rows"], d["truncated"], d["offset"], d["next_offset"]]')" '[[[3], [4], [5]], true, 3, 6]'
status_is "... the last page" 200 post /query '{"sql": "SELECT id FROM range(10) t(id) ORDER BY id", "limit": 3, "offset": 9}'
expect_eq "... is not truncated and has no next_offset" "$(jv '[d["rows"], d["truncated"], "next_offset" in d]')" '[[[9]], false, false]'
expect_eq "GET /query offset in CSV" "$(curl -s -G "$BASE/query" --data-urlencode "sql=SELECT id FROM range(5) t(id) ORDER BY id" -d format=csv -d offset=3 | tail -n +2)" "3
4"
status_is "a negative offset" 400 post /query '{"sql": "SELECT 1", "offset": -1}'

#---- 7b. the command line against the server: the same answers and exit codes ----
R=(--remote "$BASE")
expect_eq "--remote --format json is one JSON array" \
    "$("$TARN" sql "SELECT id FROM sales WHERE id <= 2 ORDER BY id" --format json "${R[@]}" | python3 -c 'import json, sys; print(json.load(sys.stdin))')" \
    "[{'id': 1}, {'id': 2}]"
expect_eq "--remote --format json of no rows is []" "$("$TARN" sql "SELECT 1 AS a WHERE false" --format json "${R[@]}")" "[]"
"$TARN" sql "SELECT id FROM sales ORDER BY id" --format parquet "${R[@]}" >"$TMP/r.parquet"
expect_eq "--remote --format parquet writes a Parquet file" "$(head -c 4 "$TMP/r.parquet")" "PAR1"
"$TARN" ingest t nosuch.csv >/dev/null 2>&1; l=$?
"$TARN" ingest t nosuch.csv "${R[@]}" >/dev/null 2>&1; r=$?
expect_eq "a missing input file is exit 3 locally and remotely" "$l $r" "3 3"
for cmd in "sql|SELECT * FROM nosuch" "describe|nosuch" "history|nosuch" "drop|nosuch"; do
    IFS='|' read -r c a <<<"$cmd"
    "$TARN" "$c" "$a" >/dev/null 2>&1; l=$?
    "$TARN" "$c" "$a" "${R[@]}" >/dev/null 2>&1; r=$?
    expect_eq "not found is exit 3 locally and remotely: $c" "$l $r" "3 3"
done

#---- 9. POST /tables takes a partition spec ----
status_is "POST /tables with partition_by" 200 post /tables '{"name": "pt1", "schema": {"fields": [{"name": "ts", "type": "timestamp"}, {"name": "id", "type": "long"}]}, "partition_by": "day(ts), bucket(4, id)"}'
expect_eq "... its spec" "$(jv '[(f["transform"], f["source-id"]) for f in d["partition_spec"]["fields"]]')" '[["day", 1], ["bucket[4]", 2]]'
status_is "POST /tables with an Iceberg partition-spec" 200 post /tables '{"name": "pt2", "schema": {"fields": [{"name": "ts", "type": "timestamp"}, {"name": "region", "type": "string"}]}, "partition-spec": {"fields": [{"source-name": "region", "transform": "identity"}, {"source-id": 1, "transform": "month"}]}}'
expect_eq "... its spec" "$(jv '[(f["transform"], f["source-id"]) for f in d["partition_spec"]["fields"]]')" '[["identity", 2], ["month", 1]]'
status_is "POST /tables partitioned by a missing column" 400 post /tables '{"name": "pt3", "schema": {"fields": [{"name": "a", "type": "long"}]}, "partition_by": "day(nope)"}'
status_is "... creates nothing" 404 call GET /tables/pt3
status_is "openapi lists partition_by on /ingest and offset on /query" 200 call GET /openapi.json
expect_eq "... both" "$(jv '["partition_by" in [p["name"] for p in d["paths"]["/ingest/{table}"]["post"]["parameters"]], "offset" in [p["name"] for p in d["paths"]["/query"]["get"]["parameters"]], "WriteResult" in d["components"]["schemas"]]')" '[true, true, true]'

#---- 10. NOT NULL and PRIMARY KEY columns are REQUIRED in the data files too ----
# DuckDB 1.4 writes every column OPTIONAL; Iceberg (and Java's writer) makes a required column
# REQUIRED in Parquet. After each kind of write: the independent checker has nothing to say,
# each current data file's top-level columns say REQUIRED where the schema does, and icebird
# reads the rows.
# required_checks WHEN ROWS: ROWS is what icebird must read (id,v,n,d lines, sorted).
required_checks() {
    local loc files
    loc=$(metadata_location req)
    node "$INTEROP/check.mjs" "${loc#file://}" >"$TMP/check.json" 2>&1
    expect_eq "$1: check.mjs reports no error and no warning" \
        "$(jv '[d["errors"], d["warnings"]]' "$TMP/check.json")" "[[], []]"
    files=$(sqlq 'SELECT file_path FROM req$files WHERE content = 0')
    local reps="" f
    for f in $files; do
        reps+=$(node "$INTEROP/parquet-dump.mjs" "${f#file://}" --no-rows | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if "schema" in d:
        print(" ".join("%s=%s" % (c["name"], c["repetition"]) for c in d["schema"]["children"]))')$'\n'
    done
    expect_eq "$1: parquet-dump shows id, v and d REQUIRED in each data file" \
        "$(printf '%s' "$reps" | sort -u)" "id=REQUIRED v=REQUIRED n=OPTIONAL d=REQUIRED"
    expect_eq "$1: icebird reads the rows" \
        "$(icebird req --rows-only | python3 -c '
import json, sys
for r in sorted((json.loads(l) for l in sys.stdin), key=lambda r: r["id"]):
    print("%s,%s,%s,%s" % (r["id"], r["v"], r["n"], r["d"][:10]))')" "$2"
}
check "CREATE TABLE with PRIMARY KEY and NOT NULL columns" "$TARN" sql \
    "CREATE TABLE req (id BIGINT PRIMARY KEY, v VARCHAR NOT NULL, n INTEGER, d DATE NOT NULL)"
check "INSERT into it" "$TARN" sql \
    "INSERT INTO req VALUES (1, 'a', NULL, DATE '2024-01-01'), (2, 'b', 5, DATE '2024-01-02')"
required_checks "INSERT" "1,a,None,2024-01-01
2,b,5,2024-01-02"
check "UPDATE it" "$TARN" sql "UPDATE req SET v = 'B', n = NULL WHERE id = 2"
required_checks "UPDATE" "1,a,None,2024-01-01
2,B,None,2024-01-02"
check "INSERT many rows (several row groups and pages)" "$TARN" sql \
    "INSERT INTO req SELECT i, 'v' || (i % 7), i, DATE '2024-01-01' + (i % 30)::INT FROM range(3, 300003) t(i)"
check "compact it" "$TARN" maintain req compact
expect_eq "compaction: one data file" "$(sqlq 'SELECT count(*) FROM req$files WHERE content = 0')" "1"
required_checks "compaction" "$(python3 -c '
import datetime
print("1,a,None,2024-01-01")
print("2,B,None,2024-01-02")
for i in range(3, 300003):
    print("%d,v%d,%d,%s" % (i, i % 7, i, datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 30)))')"
expect_eq "... DuckDB reads them too" "$(sqlq 'SELECT count(*), sum(id), count(DISTINCT v), count(n) FROM req')" \
    "300002,45000750003,9,300000"
check_fails "a NULL in a NOT NULL column is still refused" 2 "required" \
    "$TARN" sql "INSERT INTO req VALUES (7, NULL, 1, DATE '2024-01-01')"

finish
