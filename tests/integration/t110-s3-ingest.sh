#!/usr/bin/env bash
# t110-s3-ingest: `tarn ingest TABLE s3://bucket/path/*.csv` reads objects straight from a bucket
# through the storage layer (listed, matched within one path segment, downloaded in ranges), all
# files in one commit; a single object; no match (exit 3); a bucket without a key and --remote
# (exit 2); the spool directory removed afterwards; and a local warehouse reading from the bucket.
# It needs the S3 pass of tests/run.sh (TARN_TEST_STORAGE=s3, started by tests/s3.sh):
#     bash tests/s3.sh bash tests/integration/t110-s3-ingest.sh
. "$(dirname "$0")/lib.sh"

if [ "$TEST_STORAGE" != s3 ]; then
    skip "ingest from s3:// objects" "it runs in the S3 pass (bash tests/s3.sh bash $0)"
    finish
    exit
fi

# the objects sit next to the warehouse's own files, under in/ of its prefix
printf 'id,day\n1,one\n2,one\n' >"$TMP/day-1.csv"
printf 'id,day\n3,two\n' >"$TMP/day-2.csv"
printf 'id,day\n10,ten\n11,ten\n12,ten\n' >"$TMP/day-10.csv"
printf 'id,day\n30,sub\n' >"$TMP/day-3.csv"
printf 'not,a,csv,for,this,table\n' >"$TMP/notes.txt"
for f in day-1.csv day-2.csv day-10.csv; do wh_put "$TMP/$f" "in/$f" || bad "upload $f"; done
wh_put "$TMP/day-3.csv" in/sub/day-3.csv || bad "upload sub/day-3.csv"
wh_put "$TMP/notes.txt" in/notes.txt || bad "upload notes.txt"
: >"$TMP/empty.csv"
wh_put "$TMP/empty.csv" in/empty/empty.csv || bad "upload empty.csv"
# a large object, read in several ranged GETs (16 MiB each)
awk 'BEGIN { print "id,day"; for (i = 1; i <= 1500000; i++) printf "%d,big-row-padding-%d\n", 1000 + i, i }' \
    >"$TMP/big.csv"
wh_put "$TMP/big.csv" in/big/big.csv || bad "upload big.csv"
SPOOL=$TMP/spool
mkdir -p "$SPOOL"

#---- a pattern: every matching object, one commit, nothing from another folder ----
check "ingest s3://.../in/day-*.csv" env TMPDIR="$SPOOL" "$TARN" ingest default.days "$WH/in/day-*.csv"
expect_eq "the rows of day-1, day-10 and day-2 (not sub/day-3)" \
    "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM default.days')" "1 2 3 10 11 12"
expect_eq "one commit for all three objects" "$(q 'SELECT count(*) FROM "default"."days$snapshots"')" 1
expect_eq "the spool directory is removed" "$(ls -A "$SPOOL")" ""

#---- ? matches one character ----
check "ingest s3://.../in/day-?.csv" "$TARN" ingest default.short "$WH/in/day-?.csv"
expect_eq "day-1 and day-2, not day-10" \
    "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM default.short')" "1 2 3"

#---- * within a segment, the segment after a pattern ----
check "ingest s3://.../*/day-3.csv" "$TARN" ingest default.nested "$WH/i*/sub/day-3.csv"
expect_eq "the object in the sub folder" "$(q 'SELECT day FROM default.nested')" "sub"

#---- one object by its key, large enough for several ranges ----
check "ingest one large object" env TMPDIR="$SPOOL" "$TARN" ingest default.big "$WH/in/big/big.csv"
expect_eq "every row of the large object" "$(q 'SELECT count(*), min(id), max(id) FROM default.big')" \
    "1500000,1001,1501000"
expect_eq "its rows in order" "$(q 'SELECT id FROM default.big LIMIT 2' | tr '\n' ' ')" "1001 1002 "
expect_eq "no download is left behind" "$(ls -A "$SPOOL")" ""

#---- a local file and an object in one ingest ----
printf 'id,day\n99,local\n' >"$TMP/local.csv"
check "a local file and an S3 object together" "$TARN" ingest default.mixed "$TMP/local.csv" "$WH/in/day-2.csv"
expect_eq "rows of both" "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM default.mixed')" "3 99"

#---- errors ----
check_fails "no object matches: exit 3" 3 "no object" "$TARN" ingest default.none "$WH/in/nothing-*.csv"
check_fails "a missing object: exit 3" 3 "no object" "$TARN" ingest default.none "$WH/in/missing.csv"
expect_eq "a failed ingest creates no table" "$(q 'SELECT count(*) FROM information_schema.tables WHERE table_name = $$none$$')" 0
check_fails "an empty object: exit 2, named by its location" 2 "in/empty/empty.csv is empty" \
    "$TARN" ingest default.none "$WH/in/empty/*.csv"
check_fails "a bucket without a key: exit 2" 2 "names no object" "$TARN" ingest default.none \
    "s3://${TARN_TEST_S3_BUCKET}"
check_fails "--remote does not send S3 objects: exit 2" 2 "without --remote" \
    "$TARN" ingest default.none "$WH/in/day-1.csv" --remote http://127.0.0.1:9
check_fails "wrong credentials are refused" 2 "" env -u TARN_CATALOG \
    AWS_SECRET_ACCESS_KEY=wrong$RANDOM TARN_WAREHOUSE="$TMP/other" "$TARN" ingest default.none "$WH/in/day-1.csv"

#---- a local warehouse reading from the bucket ----
LOCAL=$TMP/local-wh
check "a local warehouse ingests from the bucket" env -u TARN_CATALOG TARN_WAREHOUSE="$LOCAL" \
    "$TARN" ingest default.froms3 "$WH/in/day-*.csv"
expect_eq "its rows" "$(env -u TARN_CATALOG TARN_WAREHOUSE="$LOCAL" "$TARN" sql 'SELECT count(*) FROM default.froms3' --format csv | tail -n +2)" 6
expect_eq "its data files are local" "$(find "$LOCAL" -name '*.parquet' | wc -l | tr -d ' ')" 1

finish
