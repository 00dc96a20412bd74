#!/usr/bin/env bash
# t10-write-read: create tables from files, append, overwrite, read back at every snapshot.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/a.csv" <<'CSV'
id,Name,price,day,ts,flag
1,apple,1.50,2024-01-01,2024-01-01 10:00:00,true
2,"banana, ripe",0.25,2024-01-02,2024-01-02 11:30:00,false
3,,2.75,2024-01-03,,true
CSV
cat >"$TMP/b.csv" <<'CSV'
id,Name,price,day,ts,flag
4,cherry,9.99,2024-02-01,2024-02-01 00:00:00,false
CSV

check "ingest creates a table" "$TARN" ingest sales "$TMP/a.csv"
expect_eq "rows read back" "$(q 'SELECT id, name, price, day, flag FROM sales ORDER BY id')" \
"1,apple,1.5,2024-01-01,true
2,\"banana, ripe\",0.25,2024-01-02,false
3,,2.75,2024-01-03,true"
expect_eq "namespace-qualified name" "$(q 'SELECT count(*) FROM "default".sales')" "3"
expect_eq "column names sanitised" "$(q "SELECT string_agg(column_name, ' ') FROM (DESCRIBE SELECT * FROM sales)")" "id name price day ts flag"
check "append a second file" "$TARN" ingest sales "$TMP/b.csv"
expect_eq "append adds rows" "$(q 'SELECT count(*), sum(id) FROM sales')" "4,10"
first=$("$TARN" history sales | awk 'NR==2 {print $1}')
second=$("$TARN" history sales | awk 'NR==3 {print $1}')
expect_eq "history lists two snapshots" "$("$TARN" history sales | tail -n +2 | wc -l)" "2"
expect_eq "time travel by --snapshot" "$(q 'SELECT count(*) FROM sales' --snapshot "$first")" "3"
expect_eq "time travel with AT (VERSION => id)" "$(q "SELECT count(*) FROM sales AT (VERSION => $first)")" "3"
expect_eq "join a table with its past" \
    "$(q "SELECT count(*) FROM sales s JOIN sales AS p AT (VERSION => $first) USING (id)")" "3"
check "overwrite replaces every row" "$TARN" ingest sales "$TMP/b.csv" --mode overwrite
expect_eq "overwrite leaves one row" "$(q 'SELECT count(*) FROM sales')" "1"
expect_eq "old snapshot still reads" "$(q 'SELECT count(*) FROM sales' --snapshot "$second")" "4"
op=$("$TARN" history sales | awk 'NR==4 {print $5}')
expect_eq "overwrite snapshot operation" "$op" "overwrite"

cat >"$TMP/n.json" <<'JSON'
[{"k": 1, "tags": ["a", "b"], "info": {"x": 1.5, "y": "q"}}, {"k": 2, "tags": [], "info": null}]
JSON
check "ingest nested JSON" "$TARN" ingest shop.items "$TMP/n.json"
expect_eq "nested values read back" "$(q "SELECT k, tags[1], info.y FROM shop.items ORDER BY k")" "1,a,q
2,,"

check "INSERT INTO ... VALUES" "$TARN" sql "INSERT INTO shop.items (k) VALUES (3), (4)"
check "INSERT INTO ... SELECT from a tarn table" "$TARN" sql "INSERT INTO shop.items (k, tags) SELECT k + 10, tags FROM shop.items WHERE k < 3"
expect_eq "inserted rows, one commit each" "$(q 'SELECT string_agg(k::VARCHAR, $$ $$ ORDER BY k) FROM shop.items')" "1 2 3 4 11 12"
expect_eq "one snapshot per INSERT" "$("$TARN" history shop.items | tail -n +2 | wc -l)" "3"
check_fails "INSERT of a value that does not fit" 2 "does not fit" "$TARN" sql "INSERT INTO shop.items (k) VALUES ('x')"
check_fails "bad table name rejected" 2 "invalid table name" "$TARN" ingest '../x' "$TMP/a.csv"
check_fails "quote in name rejected" 2 "invalid table name" "$TARN" ingest 'x"y' "$TMP/a.csv"
check_fails "unknown table for describe" 3 "does not exist" "$TARN" describe nope
check_fails "unknown snapshot" 3 "has no snapshot" "$TARN" sql "SELECT * FROM sales AT (VERSION => 42)"
check_fails "missing file" 3 "cannot open" "$TARN" ingest sales "$TMP/none.csv"
expect_eq "no warehouse directory for a rejected name" "$(wh_ls | grep -vx catalog.db | tr '\n' ' ')" "default shop "

# NOT NULL columns are REQUIRED in the data file too (rewritten before upload on S3), so the
# independent checker has nothing to say
check "INSERT into a table with NOT NULL columns" "$TARN" sql \
    "CREATE TABLE shop.req (id BIGINT PRIMARY KEY, v VARCHAR NOT NULL, n INTEGER)"
check "... its rows" "$TARN" sql "INSERT INTO shop.req VALUES (1, 'a', NULL), (2, 'b', 3)"
loc=$(sqlite3 "${TARN_CATALOG:-$WH/catalog.db}" \
    "SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'shop' AND table_name = 'req'")
map=$(wh_mirror)
node "$INTEROP/check.mjs" "$(wh_local "$loc")" --map "$map" >"$TMP/check.json" 2>&1
expect_eq "... check.mjs: no error, no warning" \
    "$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["errors"], d["warnings"])' "$TMP/check.json")" "[] []"
expect_eq "... read back" "$(q 'SELECT id, v, n FROM shop.req ORDER BY id')" "1,a,
2,b,3"
finish
