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

start_server "$WH" --quiet
status_is "POST /query SHOW TABLES" 200 post /query '{"sql": "SHOW TABLES", "format": "json"}'
expect_eq "SHOW TABLES over HTTP" "$(jv 'd["rows"]')" '[["acct"], ["sales"]]'
status_is "an unknown table over HTTP is 404" 404 post /query '{"sql": "SELECT * FROM sales_x"}'
expect_eq "404 names the nearest table" "$(jv '"Did you mean \"sales\"" in d["error"]["message"]')" "true"
finish
