#!/usr/bin/env bash
# t91-hostile-sql: SQL that tries to make tarn run more than the one statement it was sent --
# a "-- )" comment in a MERGE's USING subquery that once ended tarn's reading of it early and
# smuggled COPY, ATTACH and CREATE MACRO into what DuckDB ran; stacked statements; statements
# tarn never runs -- over HTTP and through `tarn sql`. Each must leave no file behind, change
# nothing and leave DuckDB's functions alone. Also single statements DuckDB accepts that tarn
# once refused (PIVOT without IN, default.t), and table names that would shadow DuckDB's own.
. "$(dirname "$0")/lib.sh"

pq() { post /query "$(python3 -c 'import json, sys; print(json.dumps({"sql": sys.argv[1]}))' "$1")"; }

# expect_refused DESC GOT_STATUS: a 400 or 403 with an error message.
expect_refused() {
    if { [ "$2" = 400 ] || [ "$2" = 403 ]; } && [ -n "$(jv 'd["error"]["message"]')" ]; then
        ok "$1"
    else
        bad "$1 (status $2, wanted 400 or 403)"; head -c 400 "$TMP/body" | sed 's/^/    /'; echo
    fi
}

# no_file DESC NAME: NAME is nowhere in the warehouse.
no_file() {
    if [ -z "$(find "$WH" -name "$2" 2>/dev/null)" ] && [ ! -e "$TMP/$2" ]; then ok "$1"; else
        bad "$1 ($2 was written)"; fi
}

if [ "$TEST_STORAGE" = s3 ]; then skip "hostile SQL" "runs on a local warehouse"; finish; exit 0; fi
start_server "$WH" || { bad "server starts"; finish; exit 1; }
code=$(call POST /ingest/sales -H 'Content-Type: text/csv' --data-binary $'id,region,amount\n1,EU,3\n2,US,4\n3,EU,5\n')
expect_status "create sales" 200 "$code"

#---- MERGE: a comment that ends the USING subquery for a reader that ignores comments ----
# DuckDB reads one MERGE (USING (SELECT 1 AS id) s ON s.id = -1 ...: it changes nothing); a
# reader that takes the ')' in the comment for the end of the subquery runs the rest of line 1.
smuggle() {
    printf '%s\n%s' "MERGE INTO sales USING (SELECT 1 AS id -- ) s ON true WHEN MATCHED THEN DELETE; $1; CREATE TEMP TABLE z(id INT); MERGE INTO z USING (SELECT 1 AS id" \
        ") s ON s.id = -1 WHEN MATCHED THEN DELETE"
}
# expect_harmless DESC STATUS: refused, or run as DuckDB reads it (no row changed).
expect_harmless() {
    if [ "$2" = 400 ] || [ "$2" = 403 ] || { [ "$2" = 200 ] && [ "$(jv 'd["rows_affected"]')" = 0 ]; }; then
        ok "$1"
    else
        bad "$1 (status $2)"; head -c 400 "$TMP/body" | sed 's/^/    /'; echo
    fi
}
code=$(pq "$(smuggle "COPY (SELECT 42) TO '$WH/pwn.csv'")")
expect_harmless "MERGE smuggling COPY: nothing but the MERGE runs" "$code"
no_file "MERGE smuggling COPY wrote no file" pwn.csv
expect_eq "MERGE smuggling COPY changed no row" "$(csvq 'SELECT count(*) FROM sales')" "3"

code=$(pq "$(smuggle "ATTACH '$WH/pwn.db' AS pwn")")
expect_harmless "MERGE smuggling ATTACH: nothing but the MERGE runs" "$code"
no_file "MERGE smuggling ATTACH made no database file" pwn.db

code=$(pq "$(smuggle "CREATE OR REPLACE MACRO upper(x) AS 'PWNED'")")
expect_harmless "MERGE smuggling CREATE MACRO: nothing but the MERGE runs" "$code"
expect_eq "the macro did not take effect for anyone" "$(csvq "SELECT upper('abc')")" "ABC"
code=$(pq "$(smuggle "CREATE OR REPLACE MACRO pwned(x) AS 42")")
expect_eq "no macro of the attacker's exists" "$(csvq "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'pwned'")" "0"
expect_eq "the smuggling left every row" "$(csvq 'SELECT count(*) FROM sales')" "3"

# a quote in a comment must not end or open a string for tarn either
code=$(pq "$(printf '%s\n%s' "MERGE INTO sales USING (SELECT 2 AS id, 40 AS amount) s -- it's the source" \
    "ON sales.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount /* ) ' */")")
expect_status "MERGE with comments holding ')' and a quote runs" 200 "$code"
expect_eq "... as DuckDB reads it" "$(csvq 'SELECT amount FROM sales WHERE id = 2')" "40"

#---- stacked statements ----
code=$(pq "MERGE INTO sales USING (SELECT 1 AS id) s ON sales.id = s.id WHEN MATCHED THEN DELETE; COPY (SELECT 42) TO '$WH/pwn2.csv'")
expect_refused "MERGE; COPY is refused" "$code"
no_file "... and wrote nothing" pwn2.csv
code=$(pq "SELECT 1; CREATE MACRO upper(x) AS 'PWNED'")
expect_refused "SELECT; CREATE MACRO is refused" "$code"
code=$(pq "UPDATE sales SET amount = 0 WHERE id = 1; ATTACH '$WH/pwn3.db'")
expect_refused "UPDATE; ATTACH is refused" "$code"
no_file "... and attached nothing" pwn3.db
expect_eq "stacked statements changed no row" "$(csvq 'SELECT sum(amount) FROM sales')" "48"

#---- statements tarn never runs ----
code=$(pq "CREATE OR REPLACE MACRO upper(x) AS 'PWNED'")
expect_refused "CREATE MACRO is refused" "$code"
code=$(pq "ATTACH '$WH/pwn4.db' AS p")
expect_refused "ATTACH is refused" "$code"
no_file "... and made no file" pwn4.db
code=$(pq "COPY (SELECT 42) TO '$WH/pwn5.csv'")
expect_refused "COPY is refused" "$code"
no_file "... and wrote nothing" pwn5.csv
code=$(pq "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')")
expect_refused "CREATE SECRET is refused" "$code"
expect_eq "upper() is still DuckDB's" "$(csvq "SELECT upper('x')")" "X"

#---- single statements DuckDB accepts ----
code=$(pq "PIVOT sales ON region USING sum(amount) GROUP BY id ORDER BY id")
expect_status "PIVOT without IN is one statement" 200 "$code"
expect_eq "PIVOT makes a column per value" "$(jv '[c["name"] for c in d["columns"]]')" '["id", "EU", "US"]'
expect_eq "PIVOT's rows" "$(jv 'd["rows"]')" '[[1, 3, null], [2, null, 40], [3, 5, null]]'
expect_eq "PIVOT over GET, CSV" "$(csvq "PIVOT (SELECT region FROM sales) ON region USING count(*)")" "2,1"
code=$(pq "PIVOT sales ON region IN ('EU') USING sum(amount)")
expect_status "PIVOT with IN" 200 "$code"
expect_eq "UNPIVOT" "$(csvq "SELECT count(*) FROM (UNPIVOT sales ON amount INTO NAME k VALUE v)")" "3"
expect_eq "SELECT ... FROM default.sales" "$(csvq 'SELECT count(*) FROM default.sales')" "3"
expect_eq "DEFAULT.sales with an alias" "$(csvq 'SELECT max(s.amount) FROM DEFAULT . sales AS s')" "40"
code=$(pq "UPDATE sales SET amount = 1 -- it's a comment
WHERE id = 1")
expect_status "UPDATE with a quote in a comment" 200 "$code"
expect_eq "... changes only the row its WHERE names" "$(csvq 'SELECT string_agg(amount::VARCHAR, $$ $$ ORDER BY id) FROM sales')" "1 40 5"
code=$(pq "INSERT INTO default.sales VALUES (4, 'APAC', 7) -- )")
expect_status "INSERT INTO default.sales with a trailing comment" 200 "$code"
expect_eq "... inserted" "$(csvq 'SELECT count(*) FROM sales')" "4"

#---- names that shadow DuckDB's objects ----
for name in duckdb_settings information_schema.tables pg_catalog.pg_class pg_class sqlite_master; do
    code=$(call POST "/ingest/$name" -H 'Content-Type: text/csv' --data-binary $'a\n1\n')
    expect_status "table name $name is refused" 400 "$code"
done
expect_eq "DuckDB's own duckdb_settings() still answers" \
    "$(csvq "SELECT count(*) > 0 FROM duckdb_settings()")" "true"

#---- the command line, on the warehouse directly ----
check_fails "tarn sql refuses stacked statements" 2 "one statement" \
    "$TARN" sql "SELECT 1; COPY (SELECT 42) TO '$WH/pwn6.csv'"
no_file "... and wrote nothing" pwn6.csv
"$TARN" sql "$(smuggle "COPY (SELECT 42) TO '$WH/pwn7.csv'")" >"$TMP/out" 2>&1
no_file "tarn sql: MERGE smuggling COPY wrote no file" pwn7.csv
expect_eq "tarn sql: MERGE smuggling changed no row" "$(q 'SELECT count(*) FROM sales')" "4"
"$TARN" sql "$(smuggle "ATTACH '$WH/pwn8.db' AS pwn")" >"$TMP/out" 2>&1
no_file "tarn sql: MERGE smuggling ATTACH made no file" pwn8.db
check_fails "tarn sql refuses CREATE MACRO" 2 "refused" \
    "$TARN" sql "CREATE MACRO m(x) AS x"
expect_eq "tarn sql: PIVOT without IN" "$(q 'PIVOT (SELECT region FROM sales) ON region USING count(*)')" "1,2,1"
expect_eq "tarn sql: default.sales" "$(q 'SELECT count(*) FROM default.sales')" "4"
check_fails "tarn ingest refuses a name that shadows DuckDB's" 2 "duckdb_" \
    "$TARN" ingest duckdb_tables "$TMP/body"

finish
