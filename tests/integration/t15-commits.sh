#!/usr/bin/env bash
# t15-commits: optimistic concurrency and atomic failure. Several processes append to one table
# at once (every commit lands, none lost); a write that fails leaves no snapshot and no files.
. "$(dirname "$0")/lib.sh"

printf 'id,name\n1,a\n2,b\n' >"$TMP/two.csv"
check "create table" "$TARN" ingest shared "$TMP/two.csv"

# 8 writers, 3 appends each, all at once, each a separate process on the one SQLite catalog
for w in 1 2 3 4 5 6 7 8; do
    ( for k in 1 2 3; do "$TARN" ingest shared "$TMP/two.csv" >/dev/null 2>"$TMP/w$w.$k.err" || echo "writer $w/$k: $(cat "$TMP/w$w.$k.err")" >>"$TMP/failures"; done ) &
done
wait
expect_eq "no concurrent append failed" "$(cat "$TMP/failures" 2>/dev/null)" ""
expect_eq "every row of every commit is there" "$(q 'SELECT count(*) FROM shared')" "50"
expect_eq "one snapshot per commit" "$("$TARN" history shared | tail -n +2 | wc -l)" "25"
expect_eq "sequence numbers 1..25 without gaps" \
    "$("$TARN" history shared | tail -n +2 | awk '{print $3}' | sort -n | uniq | wc -l)" "25"
expect_eq "data files referenced equal data files on disk" \
    "$(wh_ls default/shared/data | grep -c '\.parquet$')" "25"

# 8 writers into 8 different tables
for w in 1 2 3 4 5 6 7 8; do "$TARN" ingest "t$w" "$TMP/two.csv" >/dev/null 2>&1 & done
wait
expect_eq "8 tables created at once" "$("$TARN" tables | grep -c '^default\.t[1-8] ')" "8"

# a failing write commits nothing and leaves no files behind
cat >"$TMP/bad.csv" <<'CSV'
id,name
3,c
x,d
CSV
before_meta=$(wh_ls default/shared/metadata | wc -l)
before_data=$(wh_ls default/shared/data | wc -l)
check_fails "a value that does not fit the column is refused, naming row, value and column" 2 \
    "row 2: value 'x' in column id does not fit its type long" \
    "$TARN" ingest shared "$TMP/bad.csv"
expect_eq "no snapshot was added" "$("$TARN" history shared | tail -n +2 | wc -l)" "25"
expect_eq "no metadata file was left" "$(wh_ls default/shared/metadata | wc -l)" "$before_meta"
expect_eq "no data file was left" "$(wh_ls default/shared/data | wc -l)" "$before_data"
check_fails "a file that fails to create a table leaves no table" 3 "" \
    "$TARN" ingest fresh "$TMP/none.csv"
expect_eq "the table does not exist" "$("$TARN" tables | grep -c fresh)" "0"
printf '' >"$TMP/empty.csv"
check_fails "an empty file is refused" 2 "is empty" "$TARN" ingest empty_t "$TMP/empty.csv"
expect_eq "an empty file creates no table" "$("$TARN" tables | grep -c empty_t)" "0"
finish
