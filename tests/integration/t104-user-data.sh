#!/usr/bin/env bash
# t104-user-data: the ways a user's data was silently changed or lost (issue 17), each driven
# against `tarn serve` with curl (and the CLI where the path is the CLI's): nested fields added on
# append, column names matched by their original spelling, required columns, extra values,
# writes under time travel, live row counts, errors inside a stream, tags that move, explicit
# types, and CSV dialect options. JSON answers are read with python3.
. "$(dirname "$0")/lib.sh"

# pq SQL: POST /query {"sql": SQL}; status printed, body in $TMP/body.
pq() { post /query "$(python3 -c 'import json, sys; print(json.dumps({"sql": sys.argv[1]}))' "$1")"; }

snapshots() {
    curl -s -o "$TMP/snaps" "$BASE/tables/$1/snapshots"
    jv 'len(d["snapshots"])' "$TMP/snaps"
}

# a table with equality deletes (registered before the server starts, which then reads the
# folders its --map names)
if [ "$TEST_STORAGE" != s3 ]; then
    DI=$FIXTURES/duckdb-iceberg/data/persistent
    check "register a table with equality deletes" "$TARN" register eqdel \
        "file://$DI/equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json" --map "data/persistent/=file://$DI/"
fi

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- 1. nested fields added on append ----
NJ='application/x-ndjson'
code=$(ingest nest "format=ndjson" '{"id":1,"user":{"name":"a","address":"x"},"items":[{"sku":"s1","qty":1}]}' "$NJ")
expect_status "create a nested table" 200 "$code"
B2='{"id":2,"user":{"name":"b","address":"y","email":"b@x"},"items":[{"sku":"s2","qty":2,"price":1.5}]}'
code=$(ingest nest "format=ndjson&evolve=strict" "$B2" "$NJ")
expect_error "evolve=strict refuses a new struct field" 422 "field 'user.email'" "$code"
expect_eq "nothing committed by the refused append" "$(snapshots nest)" 1
code=$(ingest nest "format=ndjson" "$B2" "$NJ")
expect_status "append with new nested fields" 200 "$code"
expect_eq "the changes are reported" "$(jv '[c["column"] for c in d["schema_changes"]]')" '["user.email", "items.price"]'
expect_eq "one commit for the schema and the rows" "$(snapshots nest)" 2
expect_eq "the new values are kept" "$(csvq "SELECT id, user.email, items[1].price FROM nest ORDER BY id")" '1,,
2,b@x,1.5'
curl -s -o "$TMP/body" "$BASE/tables/nest"
expect_eq "the new fields have new ids" \
    "$(jv '[[f["id"] for f in (c["type"].get("fields") or c["type"]["element"]["fields"]) if f["name"] in ("email", "price")] for c in d["schema"]["fields"] if c["name"] in ("user","items")]')" \
    '[[9], [10]]'
B3='{"id":3,"user":{"name":"c","address":"z","email":"c@x"},"items":[{"sku":"s3","qty":3,"price":2.5}],"tags":{"k":{"a":1}}}'
code=$(ingest nest "format=ndjson&evolve=strict" "$B3" "$NJ")
expect_error "evolve=strict still refuses a new column" 422 "column 'tags'" "$code"
code=$(ingest nest "format=ndjson&evolve=strict" "${B3%,\"tags\"*}}" "$NJ")
expect_status "evolve=strict takes a record the table already fits" 200 "$code"

#---- 2. column names matched by their original spelling ----
code=$(ingest ord "" $'Order ID,order_id,Größe,Prix (€)\n1,10,3,2.5\n')
expect_status "create with names that sanitise alike" 200 "$code"
expect_eq "stored names" "$(jv '[f["name"] for f in d["schema"]["fields"]]')" '["order_id", "order_id_2", "grosse", "prix"]'
code=$(ingest ord "" $'order_id,Order ID,Größe\n20,2,4\n')
expect_status "append with the columns in another order" 200 "$code"
expect_eq "each value went to the column of its original name" "$(csvq 'SELECT order_id, order_id_2, grosse FROM ord ORDER BY order_id')" '1,10,3
2,20,4'
expect_eq "the answer maps each original name" "$(jv 'd["column_names"]')" '{"order_id": "order_id_2", "Order ID": "order_id", "Größe": "grosse"}'
code=$(ingest ord "" $'ORDER-ID\n5\n')
expect_error "a name that could be either column is refused" 422 "could be any of 2 columns" "$code"
curl -s -o "$TMP/body" "$BASE/tables/ord"
expect_eq "GET /tables/{t} shows the original names" "$(jv '[f.get("doc") for f in d["schema"]["fields"]]')" '["Order ID", "order_id", "Größe", "Prix (€)"]'
"$TARN" describe ord --warehouse "$WH" >"$TMP/desc" 2>&1
expect_eq "describe shows the original names" "$(awk '$2 == "grosse" {print $5}' "$TMP/desc")" "Größe"
code=$(ingest ord "" $'order_id,Straße\n30,Main\n')
expect_status "a new column is named apart from the table's" 200 "$code"
expect_eq "the new column keeps its original" "$(jv '[[f["name"], f.get("doc")] for f in d["schema"]["fields"]][-1]')" '["strasse", "Straße"]'

#---- 3. required columns refuse NULL ----
code=$(ingest acct "mode=upsert&key=id" $'id,bal\n1,10\n2,20\n')
expect_status "create with an upsert key" 200 "$code"
expect_eq "the key is required" "$(jv '[f["required"] for f in d["schema"]["fields"]]')" '[true, false]'
code=$(pq "INSERT INTO acct VALUES (NULL, 5)")
expect_error "INSERT of a NULL key is refused" 422 "column id is required" "$code"
code=$(pq "INSERT INTO acct (bal) VALUES (5)")
expect_error "INSERT without the required column is refused" 422 "column id is required" "$code"
code=$(pq "UPDATE acct SET id = NULL WHERE id = 1")
expect_error "UPDATE to a NULL key is refused" 422 "column id is required" "$code"
code=$(ingest acct "" $'id,bal\n3,30\n,40\n')
expect_error "a CSV with an empty key is refused, naming the row" 422 "row 2: column id is required" "$code"
expect_eq "nothing was written" "$(csvq 'SELECT id, bal FROM acct ORDER BY id')" '1,10
2,20'
expect_eq "one snapshot still" "$(snapshots acct)" 1

#---- 4. INSERT: one value per column ----
code=$(pq "INSERT INTO acct VALUES (9, 1, 2)")
expect_error "extra values are refused" 400 "3 values for 2 columns" "$code"
code=$(pq "INSERT INTO acct (id) VALUES (9, 1)")
expect_error "extra values with a column list are refused" 400 "2 values for 1 column" "$code"
code=$(pq "INSERT INTO acct VALUES (9)")
expect_error "too few values are refused without internals" 400 "1 value for 2 columns" "$code"
code=$(pq "INSERT INTO acct (id, nosuch) VALUES (9, 1)")
expect_error "an unknown column in the list is refused" 400 "no column 'nosuch'" "$code"
code=$(pq "INSERT INTO acct (id, ID) VALUES (9, 1)")
expect_error "a column named twice is refused" 400 "named twice" "$code"
code=$(pq "INSERT INTO acct (bal, id) VALUES (90, 9)")
expect_status "a column list in another order" 200 "$code"
code=$(pq "INSERT INTO acct SELECT 8, 80")
expect_status "INSERT ... SELECT with one value per column" 200 "$code"
expect_eq "the rows went where they were named" "$(csvq 'SELECT id, bal FROM acct WHERE id > 2 ORDER BY id')" '8,80
9,90'

#---- 5. writes under time travel are refused ----
OLD=$(curl -s "$BASE/tables/acct/snapshots" | python3 -c 'import json, sys; print(json.load(sys.stdin)["snapshots"][0]["snapshot_id"])')
N=$(snapshots acct)
code=$(post /query '{"sql": "UPDATE acct SET bal = 1", "snapshot_id": '"$OLD"'}')
expect_error "an UPDATE with snapshot_id is refused" 400 "changes the table as it is now" "$code"
code=$(post /query '{"sql": "DELETE FROM acct WHERE id = 1", "as_of": "2001-01-01 00:00:00"}')
expect_error "a DELETE with as_of is refused" 400 "changes the table as it is now" "$code"
code=$(post /query '{"sql": "INSERT INTO acct VALUES (50, 5)", "snapshot_id": "'"$OLD"'"}')
expect_error "an INSERT with snapshot_id is refused" 400 "changes the table as it is now" "$code"
code=$(post /query '{"sql": "ALTER TABLE acct ADD COLUMN note VARCHAR", "snapshot_id": '"$OLD"'}')
expect_error "an ALTER with snapshot_id is refused" 400 "changes the table as it is now" "$code"
check_fails "tarn sql UPDATE --snapshot is refused" 2 "changes the table as it is now" \
    "$TARN" sql "UPDATE acct SET bal = 1" --snapshot "$OLD"
check_fails "tarn sql DELETE --as-of is refused" 2 "changes the table as it is now" \
    "$TARN" sql "DELETE FROM acct" --as-of "2001-01-01 00:00:00"
printf 'travel acct %s\ndelete from acct where id = 1;\n' "$OLD" | "$TARN" shell >"$TMP/sh.out" 2>"$TMP/sh.err"
expect_eq "the shell refuses a write while a table is travelled" "$?:$(grep -c "'travel acct' returns to the present first" "$TMP/sh.err")" "2:1"
expect_eq "no write happened" "$(snapshots acct):$(csvq 'SELECT count(*) FROM acct WHERE bal = 1 OR id = 1')" "$N:1"
printf 'travel acct %s\ntravel acct\ndelete from acct where id = 8;\n' "$OLD" | "$TARN" shell >"$TMP/sh.out" 2>"$TMP/sh.err"
expect_eq "back in the present the shell writes" "$?:$(csvq 'SELECT count(*) FROM acct WHERE id = 8')" "0:0"

#---- 6. GET /tables counts the live rows ----
code=$(ingest live "" $'id\n1\n2\n3\n4\n5\n')
code=$(pq "DELETE FROM live WHERE id IN (1, 2)")
expect_status "delete two rows" 200 "$code"
curl -s -o "$TMP/body" "$BASE/tables"
expect_eq "rows is the live count, beside the records in files and the deletes" \
    "$(jv '[[t["rows"], t["records_in_files"], t["position_deletes"], t["equality_deletes"]] for t in d["tables"] if t["name"] == "live"]')" \
    '[[3, 5, 2, 0]]'
expect_eq "the live count is what count(*) says" "$(csvq 'SELECT count(*) FROM live')" 3
if [ "$TEST_STORAGE" != s3 ]; then
    curl -s -o "$TMP/body" "$BASE/tables"
    expect_eq "with equality deletes the live count is unknown, not the files' records" \
        "$(jv '[[t["rows"], t["equality_deletes"] > 0] for t in d["tables"] if t["name"] == "eqdel"]')" '[[null, true]]'
fi

#---- 8. a tag that exists does not move silently ----
FIRST=$(curl -s "$BASE/tables/acct/snapshots" | python3 -c 'import json, sys; print(json.load(sys.stdin)["snapshots"][0]["snapshot_id"])')
code=$(post /tables/acct/refs '{"name": "v1", "type": "tag", "snapshot_id": '"$FIRST"'}')
expect_status "create tag v1" 200 "$code"
code=$(post /tables/acct/refs '{"name": "v1", "type": "tag"}')
expect_error "creating v1 again is a conflict" 409 "tag 'v1' of default.acct already exists" "$code"
expect_eq "v1 stayed where it was" "$(csvq "SELECT count(*) FROM acct AT (VERSION => 'v1')")" 2
code=$(call POST "/tables/acct/refs?replace=true" -H 'Content-Type: application/json' --data-binary '{"name": "v1", "type": "tag"}')
expect_status "replace=true moves it" 200 "$code"
expect_eq "v1 is at the current snapshot now" "$(csvq "SELECT count(*) FROM acct AT (VERSION => 'v1')")" "$(csvq 'SELECT count(*) FROM acct')"
code=$(call POST "/tables/acct/refs?replace=maybe" -H 'Content-Type: application/json' --data-binary '{"name": "v1", "type": "tag"}')
expect_error "a bad replace value is refused" 400 "replace must be true or false" "$code"
check_fails "tarn tag twice is refused" 4 "already exists" "$TARN" tag acct v1 "$FIRST"
check "tarn tag --force moves it" "$TARN" tag acct v1 "$FIRST" --force
expect_eq "v1 is back at the first snapshot" "$(csvq "SELECT count(*) FROM acct AT (VERSION => 'v1')")" 2
code=$(post /tables/acct/refs '{"name": "b1", "type": "branch"}')
code=$(post /tables/acct/refs '{"name": "b1", "type": "branch", "snapshot_id": '"$FIRST"'}')
expect_status "a branch still moves" 200 "$code"

#---- 9. explicit types; overwrite may change a column's type ----
code=$(ingest money "types=amount:decimal(12,2)" $'id,amount\n1,10\n2,20\n')
expect_status "the first ingest takes explicit types" 200 "$code"
expect_eq "amount is a decimal" "$(jv '[f["type"] for f in d["schema"]["fields"]]')" '["long", "decimal(12, 2)"]'
code=$(ingest money "" $'id,amount\n3,1.25\n')
expect_status "a later file with fractions fits" 200 "$code"
code=$(ingest money "types=amount:nosuch" $'id,amount\n3,1\n')
expect_error "an unknown type is refused" 400 "not a primitive type" "$code"
code=$(ingest money "types=nosuch:long" $'id,amount\n3,1\n')
expect_error "an unknown column is refused" 400 "no column 'nosuch'" "$code"
code=$(ingest sniffed "" $'id,amount\n1,10\n')
ID_BEFORE=$(jv '[f["id"] for f in d["schema"]["fields"] if f["name"] == "amount"][0]')
code=$(ingest sniffed "" $'id,amount\n2,1.5\n')
expect_status "a fraction into the sniffed long column is still refused on append" 422 "$code"
code=$(ingest sniffed "mode=overwrite" $'id,amount\n2,1.5\n')
expect_status "overwrite replaces the column's type" 200 "$code"
expect_eq "a new field id under the same name, of the file's type" \
    "$(jv '[[f["id"] != '"$ID_BEFORE"', f["type"]] for f in d["schema"]["fields"] if f["name"] == "amount"]'):$(jv '[c["action"] for c in d["schema_changes"]]')" \
    '[[true, "double"]]:["replace_column"]'
expect_eq "one commit for the schema and the rows" "$(snapshots sniffed)" 2
expect_eq "the table reads the new values" "$(csvq 'SELECT id, amount FROM sniffed')" '2,1.5'
printf 'id,price\n1,7\n' >"$TMP/typed.csv"
check "tarn ingest --types" "$TARN" ingest typed "$TMP/typed.csv" --types 'price:decimal(10,3), id:int'
expect_eq "the CLI's types were used" "$(curl -s "$BASE/tables/typed" | python3 -c 'import json, sys; print([f["type"] for f in json.load(sys.stdin)["schema"]["fields"]])')" "['int', 'decimal(10, 3)']"

#---- 7. a query that times out while streaming says so ----
start_server "$(wh_new timeout)" --query-timeout 1 || bad "a server with --query-timeout 1 starts"
LONG="SELECT i FROM range(3000000000) t(i)"
# slow_query FORMAT: GET /query of $LONG; the curl exit status printed, body in $TMP/long,
# headers and trailers in $TMP/long.h
slow_query() {
    curl -s -D "$TMP/long.h" -o "$TMP/long" -G "$BASE/query" --data-urlencode "sql=$LONG" \
        -d "format=$1" -d limit=3000000000
    echo $?
}
rc=$(slow_query json)
expect_eq "JSON: a complete document with an error member" \
    "$rc:$(jv '[d["truncated"], d["error"]["code"], "--query-timeout" in d["error"]["message"], d["row_count"] == len(d["rows"])]' "$TMP/long")" \
    '0:[true, 503, true, true]'
expect_eq "JSON: the error trailer" "$(grep -ci '^X-Tarn-Error: the query ran longer' "$TMP/long.h")" 1
rc=$(slow_query ndjson)
expect_eq "NDJSON: the last line is the error" \
    "$rc:$(tail -n 1 "$TMP/long" | python3 -c 'import json, sys; print(json.load(sys.stdin)["error"]["code"])')" '0:503'
rc=$(slow_query arrow)
last8=$(tail -c 8 "$TMP/long" | od -An -tx1 | tr -d ' \n')
expect_eq "Arrow: no end-of-stream marker, and the error trailer" \
    "$rc:$([ "$last8" != ffffffff00000000 ] && echo no-eos):$(grep -ci '^X-Tarn-Error:' "$TMP/long.h")" "0:no-eos:1"
rc=$(slow_query csv)
expect_eq "CSV: cut off, so that it cannot pass for complete" "$rc" 18
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT 42 AS a" -d format=ndjson)
expect_eq "the server answers the next query" "$code:$(cat "$TMP/body")" '200:{"a":42}'

finish
