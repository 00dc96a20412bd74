#!/usr/bin/env bash
# t112-sql-views: views in tarn's own SQL -- CREATE VIEW, CREATE OR REPLACE VIEW, CREATE VIEW IF
# NOT EXISTS, DROP VIEW [IF EXISTS] -- over `tarn sql` and POST /query: each stored as an Iceberg
# view (SQL representation of dialect duckdb, default namespace, the result's schema in Iceberg
# types) that the REST catalog serves, read at the tables' current snapshots, listed by SHOW
# TABLES and information_schema as DuckDB lists views; and the statements a view may not be.
. "$(dirname "$0")/lib.sh"

export TARN_PROGRESS=0
cd "$TMP"
printf 'id,amount,region\n1,2.5,eu\n2,3,us\n3,4,eu\n' >sales.csv
"$TARN" ingest sales sales.csv >/dev/null 2>&1

# view_meta NAME EXPR: a Python expression over view NAME's current metadata m (catalog row of
# type VIEW), or "absent".
view_meta() {
    python3 -c 'import json, sys, sqlite3
row = sqlite3.connect(sys.argv[1]).execute("SELECT metadata_location FROM iceberg_tables WHERE table_name = ? AND iceberg_type = ?", (sys.argv[2], "VIEW")).fetchone()
if row is None:
    print("absent"); sys.exit(0)
m = json.load(open(row[0].replace("file://", "")))
print(json.dumps(eval(sys.argv[3]), sort_keys=True))' "${TARN_CATALOG:-$WH/catalog.db}" "$1" "$2"
}
cur='[v for v in m["versions"] if v["version-id"] == m["current-version-id"]][0]'
schema='[s for s in m["schemas"] if s["schema-id"] == '"$cur"'["schema-id"]][0]'

#---- 1. CREATE VIEW over `tarn sql` ----
check "CREATE VIEW" "$TARN" sql "CREATE VIEW eu AS SELECT id, amount * 2 AS doubled, region FROM sales WHERE region = 'eu'"
expect_eq "... says so" "$(cat "$TMP/out")" "created view default.eu"
expect_eq "the view reads its table" "$(q 'SELECT id, doubled FROM eu ORDER BY id')" "1,5.0
3,8.0"
expect_eq "stored as an Iceberg view: SQL of dialect duckdb, default namespace" \
    "$(view_meta eu "[$cur[\"representations\"], $cur[\"default-namespace\"], m[\"format-version\"]]")" \
    "[[{\"dialect\": \"duckdb\", \"sql\": \"SELECT id, amount * 2 AS doubled, region FROM sales WHERE region = 'eu'\", \"type\": \"sql\"}], [\"default\"], 1]"
expect_eq "... its schema: the result columns in Iceberg types" \
    "$(view_meta eu "[(f[\"id\"], f[\"name\"], f[\"type\"], f[\"required\"]) for f in $schema[\"fields\"]]")" \
    '[[1, "id", "long", false], [2, "doubled", "double", false], [3, "region", "string", false]]'
"$TARN" ingest sales sales.csv >/dev/null 2>&1
expect_eq "a view reads its tables at their current snapshot" "$(q 'SELECT count(*) FROM eu')" "4"

#---- 2. IF NOT EXISTS, OR REPLACE, conflicts ----
check_fails "CREATE VIEW of an existing view" 4 "already exists" "$TARN" sql "CREATE VIEW eu AS SELECT 1 AS x FROM sales"
check "CREATE VIEW IF NOT EXISTS of an existing view" "$TARN" sql "CREATE VIEW IF NOT EXISTS eu AS SELECT 1 AS x FROM sales"
expect_eq "... keeps it" "$(q 'SELECT count(*) FROM eu')" "4"
uuid=$(view_meta eu 'm["view-uuid"]')
check "CREATE OR REPLACE VIEW" "$TARN" sql "CREATE OR REPLACE VIEW eu AS SELECT id, region FROM sales WHERE region = 'eu' AND id > 1"
expect_eq "... says so" "$(cat "$TMP/out")" "replaced view default.eu"
expect_eq "... reads the new query" "$(q 'SELECT * FROM eu ORDER BY id')" "3,eu
3,eu"
expect_eq "... one new version and schema on the same view" \
    "$(view_meta eu "[m[\"view-uuid\"] == $uuid, len(m[\"versions\"]), m[\"current-version-id\"], [f[\"name\"] for f in $schema[\"fields\"]], len(m[\"version-log\"])]")" \
    '[true, 2, 2, ["id", "region"], 2]'
check "CREATE OR REPLACE VIEW of a new name creates it" "$TARN" sql "CREATE OR REPLACE VIEW us AS SELECT * FROM sales WHERE region = 'us'"
expect_eq "... a view over a view" "$(q "CREATE VIEW eu_ids AS SELECT id FROM eu" >/dev/null; q 'SELECT count(*) FROM eu_ids')" "2"
check_fails "a view named like a table" 4 "is a table" "$TARN" sql "CREATE VIEW sales AS SELECT 1 AS x FROM eu"
check_fails "a table named like a view" 4 "already exists" "$TARN" sql "CREATE TABLE eu (a INT)"
check_fails "OR REPLACE with IF NOT EXISTS" 2 "choose one" "$TARN" sql "CREATE OR REPLACE VIEW IF NOT EXISTS eu AS SELECT 1 AS x FROM sales"

#---- 3. what a view may not be ----
check_fails "a view of itself" 2 "reads the view itself" "$TARN" sql "CREATE OR REPLACE VIEW eu AS SELECT * FROM eu"
check_fails "a view of itself through another view" 2 "reads the view itself" "$TARN" sql "CREATE OR REPLACE VIEW eu AS SELECT id, 'x' AS region FROM eu_ids"
check_fails "a view over a table function" 2 "tarn tables and views only" "$TARN" sql "CREATE VIEW r AS SELECT * FROM range(3)"
check_fails "a view reading a file" 2 "tarn tables and views only" "$TARN" sql "CREATE VIEW f AS SELECT * FROM read_csv('$TMP/sales.csv')"
check_fails "a view reading a file by path" 2 "file system operations are disabled" "$TARN" sql "CREATE VIEW f AS SELECT * FROM '$TMP/sales.csv'"
check_fails "a view of a missing table" 3 'table "nope" does not exist' "$TARN" sql "CREATE VIEW m AS SELECT * FROM nope"
check_fails "a view of a write" 2 "" "$TARN" sql "CREATE VIEW w AS INSERT INTO sales VALUES (9, 9, 'x')"
check_fails "a view with a second statement" 2 "one statement per request" "$TARN" sql "CREATE VIEW w AS SELECT 1 AS x FROM sales; DROP TABLE sales"
check_fails "a view named like DuckDB's own" 2 "DuckDB" "$TARN" sql "CREATE VIEW duckdb_tables AS SELECT 1 AS x FROM sales"
check_fails "a column list" 2 "column list" "$TARN" sql "CREATE VIEW c (a) AS SELECT id FROM sales"
check_fails "a materialized view" 2 "tables and views only" "$TARN" sql "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x FROM sales"
check_fails "a temporary view" 2 "tables and views only" "$TARN" sql "CREATE TEMP VIEW tv AS SELECT 1 AS x FROM sales"
check_fails "a view under time travel" 2 "cannot be created under time travel" "$TARN" sql "CREATE VIEW tt AS SELECT * FROM sales" --snapshot 1
expect_eq "none of the refused views exists" \
    "$(for v in r f m w c mv tv tt duckdb_tables; do view_meta "$v" 1; done | sort -u)" "absent"
if [ -e "$TMP/warehouse/default/r" ] || [ -e "$TMP/warehouse/default/f" ]; then bad "no metadata written for refused views"; else ok "no metadata written for refused views"; fi

#---- 4. the catalog lists views as DuckDB does ----
expect_eq "SHOW TABLES lists views with tables" "$(q 'SHOW TABLES')" "eu
eu_ids
sales
us"
expect_eq "information_schema.tables: VIEW" \
    "$(q "SELECT table_name, table_type, is_insertable_into FROM information_schema.tables ORDER BY 1")" \
    "eu,VIEW,NO
eu_ids,VIEW,NO
sales,BASE TABLE,YES
us,VIEW,NO"
expect_eq "information_schema.columns of a view" \
    "$(q "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'eu' ORDER BY ordinal_position")" \
    "id,BIGINT
region,VARCHAR"
expect_eq "SHOW ALL TABLES: a view's columns" \
    "$(q "SELECT name, column_names FROM (SHOW ALL TABLES) WHERE name = 'eu_ids'")" 'eu_ids,[id]'
expect_eq "DESCRIBE a view" "$(q 'DESCRIBE eu' | cut -d, -f1-2)" "id,BIGINT
region,VARCHAR"

#---- 5. DROP VIEW ----
check_fails "DROP VIEW of a table" 2 "use DROP TABLE" "$TARN" sql "DROP VIEW sales"
check_fails "DROP TABLE of a view" 2 "use DROP VIEW" "$TARN" sql "DROP TABLE us"
check "DROP VIEW" "$TARN" sql "DROP VIEW us"
expect_eq "... says so" "$(cat "$TMP/out")" "dropped view default.us"
expect_eq "... gone from the catalog" "$(view_meta us 1)" "absent"
check_fails "DROP VIEW of a missing view" 3 "add IF EXISTS" "$TARN" sql "DROP VIEW us"
check "DROP VIEW IF EXISTS of a missing view" "$TARN" sql "DROP VIEW IF EXISTS us"
check_fails "the dropped view cannot be read" 3 "does not exist" "$TARN" sql "SELECT * FROM us"
expect_eq "the table is untouched" "$(q 'SELECT count(*) FROM sales')" "6"

#---- 6. over POST /query, and the REST catalog serves the view ----
start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"
status_is "POST /query CREATE VIEW" 200 post /query '{"sql": "CREATE VIEW big AS SELECT id, amount FROM sales WHERE amount > 2.5"}'
expect_eq "... answer" "$(jv '[d["view"], d["created"], d["replaced"], d["dropped"]]')" '["default.big", true, false, false]'
status_is "POST /query reads the view" 200 post /query '{"sql": "SELECT count(*) AS n FROM big"}'
expect_eq "... rows" "$(jv 'd["rows"]')" '[[4]]'
status_is "POST /query CREATE OR REPLACE VIEW" 200 post /query '{"sql": "CREATE OR REPLACE VIEW big AS SELECT id FROM sales WHERE amount > 3"}'
expect_eq "... answer" "$(jv '[d["created"], d["replaced"]]')" '[false, true]'
status_is "GET /query may not create a view" 403 call GET /query -G --data-urlencode "sql=CREATE VIEW g AS SELECT 1 AS x FROM sales"
status_is "POST /query: a view of itself is 400" 400 post /query '{"sql": "CREATE OR REPLACE VIEW big AS SELECT * FROM big"}'
status_is "POST /query: a view over a table function is 403" 403 post /query '{"sql": "CREATE VIEW r AS SELECT * FROM range(3)"}'
status_is "the REST catalog lists the view" 200 call GET /iceberg/v1/namespaces/default/views
expect_eq "... identifiers" "$(jv 'sorted(i["name"] for i in d["identifiers"])')" '["big", "eu", "eu_ids"]'
status_is "the REST catalog loads it" 200 call GET /iceberg/v1/namespaces/default/views/big
expect_eq "... its SQL and schema" \
    "$(jv '[[r["sql"] for v in d["metadata"]["versions"] if v["version-id"] == d["metadata"]["current-version-id"] for r in v["representations"]], [f["name"] for s in d["metadata"]["schemas"] if s["schema-id"] == [v for v in d["metadata"]["versions"] if v["version-id"] == d["metadata"]["current-version-id"]][0]["schema-id"] for f in s["fields"]]]')" \
    '[["SELECT id FROM sales WHERE amount > 3"], ["id"]]'
status_is "POST /query DROP VIEW" 200 post /query '{"sql": "DROP VIEW big"}'
expect_eq "... answer" "$(jv '[d["view"], d["dropped"]]')" '["default.big", true]'
status_is "POST /query DROP VIEW of a missing view: 404" 404 post /query '{"sql": "DROP VIEW big"}'

finish
