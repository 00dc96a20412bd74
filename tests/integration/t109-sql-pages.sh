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

finish
