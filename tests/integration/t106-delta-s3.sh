#!/usr/bin/env bash
# t106-delta-s3: Delta on an S3 warehouse (run by tests/run.sh's S3 pass; on a local warehouse
# it only skips). Reading: real Delta tables (../shared/delta-fixtures: deletion vectors,
# checkpoints, column mapping, partitions) copied into the bucket and registered by their
# s3:// location read with their expected rows at every version stated; a commit added to the
# log in the bucket after registration is read by the next query. Publishing: a delta.enabled
# table on the S3 warehouse through appends, a delete, an update and a compaction past a
# checkpoint; its folder copied back from the bucket replays (tests/delta/replay.mjs, an
# independent Delta reader) to tarn's answer at every version; a version file another writer
# put at the next version first makes tarn refuse to write (put-if-absent) and leaves the log
# as it was. Kept short (about a minute): t100 and t101 cover the formats on local disk.
. "$(dirname "$0")/lib.sh"

DF=$SHARED/delta-fixtures
REPLAY=$ROOT/tests/delta/replay.mjs
if [ "$TEST_STORAGE" != s3 ]; then
    skip "Delta on S3" "runs on the S3 pass only (bash tests/s3.sh bash $0)"
    finish
    exit $?
fi

#---- reading Delta tables whose folder is in the bucket ----
for f in delta-0.8.0 delta-0.8.0-partitioned table-with-dv-small simple_table_with_checkpoint \
    table_with_column_mapping; do
    t=$(delta_table_name "$f")
    check "copy $f into the bucket" wh_put_tree "$DF/$f" "ext/$f"
    check "register $f by its s3:// location" "$TARN" register "$t" "$WH/ext/$f"
    delta_compare "$f" "$f (S3)" <<'EOF'
from delta_expected import exp, tbl, sql, canon

# the first and the last version, and those read from a checkpoint (each query on S3 lists and
# reads the log again: every version of every fixture would take minutes)
last = max(exp["versions"], key=int)
for v, want in exp["versions"].items():
    if want.get("rows") is None and "row_count" not in want:
        continue
    if v not in ("0", last) and not want.get("checkpoint_used"):
        continue
    try:
        rows = sql(f'SELECT * FROM "{tbl}" AT (VERSION => {v})')
    except RuntimeError as e:
        print(f"FAIL v{v}: {e}")
        continue
    ok = "row_count" not in want or len(rows) == want["row_count"]
    for col, s in (want.get("sums") or {}).items():
        ok = ok and abs(sum(r[col] for r in rows if r[col] is not None) - s) < 1e-3 * max(1, abs(s))
    if isinstance(want.get("rows"), list):
        ok = ok and canon(rows) == canon(want["rows"])
    print(("PASS" if ok else "FAIL") + f" v{v}: rows, count and sums as expected" +
          ("" if ok else f": got {canon(rows)[:3]}"))
EOF
done
"$TARN" sql "SELECT value FROM delta_0_8_0_partitioned WHERE year = '2021'" --explain >"$TMP/ex" 2>&1
expect_eq "S3: partition pruning from the log" "$(grep -o 'data files [0-9]* of [0-9]* kept' "$TMP/ex")" "data files 3 of 6 kept"
expect_eq "S3: a join of a Delta table with itself by name" \
    "$(q 'SELECT count(*) FROM delta_0_8_0 a JOIN table_with_dv_small b ON a.value = b.value')" "3"

# the log moves on in the bucket after registration
mkdir -p "$TMP/grow/_delta_log"
cp "$DF/delta-0.8.0"/*.parquet "$TMP/grow/"
cp "$DF/delta-0.8.0/_delta_log/00000000000000000000.json" "$TMP/grow/_delta_log/"
check "copy a table at v0 into the bucket" wh_put_tree "$TMP/grow" ext/grow
check "register it" "$TARN" register grow "$WH/ext/grow"
expect_eq "v0: 5 rows" "$(q 'SELECT count(*), sum(value) FROM grow')" "5,10"
check "a new commit lands in the bucket" \
    wh_put "$DF/delta-0.8.0/_delta_log/00000000000000000001.json" ext/grow/_delta_log/00000000000000000001.json
expect_eq "the next query reads it" "$(q 'SELECT count(*), sum(value) FROM grow')" "4,7"
expect_eq "and v0 is still a version to travel to" "$(q 'SELECT count(*) FROM grow AT (VERSION => 0)')" "5"
check_fails "a folder in the bucket without a Delta log is not a Delta table" 3 "" \
    "$TARN" register nolog "$WH/ext/nothing-here"

#---- publishing a delta.enabled table on the S3 warehouse ----
canon() {
    python3 -c '
import json, sys
num = lambda v: int(v) if isinstance(v, float) and v.is_integer() else v
rows = [{k: num(v) for k, v in json.loads(l).items()} for l in sys.stdin if l.strip()]
print(json.dumps(sorted(json.dumps(r, sort_keys=True) for r in rows)))'
}
# versions in the bucket's log of db/t (-1 when there is none)
latest() { wh_ls db/t/_delta_log | grep -cE '^[0-9]{20}\.json$' | awk '{print $1 - 1}'; }
# after: record tarn's rows as what the next Delta version must hold (versions counted here: a
# listing of the bucket per commit would double the suite's time)
declare -A EXPECT
NEXT=0
after() {
    EXPECT[$NEXT]=$("$TARN" sql "SELECT * FROM db.t" --format ndjson 2>/dev/null | canon)
    NEXT=$((NEXT + 1))
}

printf 'id,name,score\n1,ann,10\n2,bob,20\n3,cy,30\n4,dee,40\n' >"$TMP/a.csv"
check "ingest db.t on the S3 warehouse" "$TARN" ingest db.t "$TMP/a.csv"
check "enable Delta" "$TARN" sql "ALTER TABLE db.t SET TBLPROPERTIES ('delta.enabled' = 'true')"
expect_eq "version 0 is in the bucket" "$(latest)" 0
after
check "append" "$TARN" sql "INSERT INTO db.t VALUES (5, 'eve', 50), (6, 'fay', 60)"; after
check "delete a row (a deletion vector)" "$TARN" sql "DELETE FROM db.t WHERE id = 2"; after
expect_eq "a deletion vector file beside the data" "$(wh_ls db/t | grep -c '^deletion_vector_.*\.bin$')" 1
check "update" "$TARN" sql "UPDATE db.t SET score = score + 1 WHERE id = 3"; after
for i in 7 8 9 10 11 12; do
    "$TARN" sql "INSERT INTO db.t VALUES ($i, 'n$i', $i)" >/dev/null 2>&1 || bad "append $i"
    after
done
check "compact" "$TARN" maintain db.t compact; after
expect_eq "eleven versions, with a checkpoint at version 10 and _last_checkpoint" \
    "$(latest) $(wh_ls db/t/_delta_log | grep -cE '^00000000000000000010\.checkpoint\.parquet$|^_last_checkpoint$')" "10 2"

# copy the table's folder back from the bucket (one curl for every file) and replay every version
fetch_table() {
    local dest=$1
    rm -rf "$dest"
    wh_ls db/t -r >"$TMP/files" || return 1
    python3 -c '
import sys, urllib.parse
files, dest, endpoint, prefix = sys.argv[1:5]
for f in open(files).read().split():
    print("output = \"%s/%s\"\nurl = \"%s/%s\"" % (dest, f, endpoint, urllib.parse.quote(prefix + "/" + f)))' \
        "$TMP/files" "$dest" "$TARN_S3_ENDPOINT" "${WH#s3://}/db/t" >"$TMP/get.cfg" || return 1
    curl -sS --fail --create-dirs --aws-sigv4 "aws:amz:${TARN_S3_REGION:-us-east-1}:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        -K "$TMP/get.cfg"
}
check "copy db/t back from the bucket" fetch_table "$TMP/t"
bad_v=
for v in $(seq 0 "$(latest)"); do
    got=$(node "$REPLAY" "$TMP/t" --version "$v" --interop "$INTEROP" 2>"$TMP/replay.err" | canon)
    if [ "$got" != "${EXPECT[$v]:-missing}" ]; then
        bad_v="$bad_v $v"
        echo "    v$v replay: $(head -c 300 <<<"$got") $(head -c 200 "$TMP/replay.err")"
        echo "    v$v tarn:   $(head -c 300 <<<"${EXPECT[$v]:-missing}")"
    fi
done
expect_eq "every Delta version written to S3 replays to tarn's answer" "${bad_v:-none wrong}" "none wrong"
mkdir -p "$TMP/cp/_delta_log"
cp "$TMP/t/_delta_log/00000000000000000010.checkpoint.parquet" "$TMP/t/_delta_log/00000000000000000010.json" \
    "$TMP/cp/_delta_log/"
for f in "$TMP/t"/*; do [ "$(basename "$f")" = _delta_log ] || ln -s "$f" "$TMP/cp/"; done
expect_eq "the checkpoint written to S3 alone replays to version 10" \
    "$(node "$REPLAY" "$TMP/cp" --interop "$INTEROP" 2>&1 | canon)" "${EXPECT[10]}"
check "tarn's Delta view on S3 registers as a Delta table" "$TARN" register db.rt "$WH/db/t"
expect_eq "and reads as the table" "$(q 'SELECT * FROM db.rt ORDER BY id' | md5sum)" \
    "$(q 'SELECT * FROM db.t ORDER BY id' | md5sum)"

# another writer's version at the next number: put-if-absent, tarn refuses and keeps the log
v=$(latest)
printf '{"commitInfo":{"timestamp":1,"operation":"WRITE","engineInfo":"Apache-Spark/3.5.1 Delta-Lake/3.2.0"}}\n' \
    >"$TMP/foreign.json"
check "a foreign commit lands at version $((v + 1))" \
    wh_put "$TMP/foreign.json" "db/t/_delta_log/$(printf '%020d' $((v + 1))).json"
check_fails "a write after it is refused" 4 "another engine" \
    "$TARN" sql "INSERT INTO db.t VALUES (40, 'no', 1)"
wh_get "db/t/_delta_log/$(printf '%020d' $((v + 1))).json" "$TMP/after.json"
expect_eq "the foreign version is untouched and none was added" \
    "$(cmp -s "$TMP/foreign.json" "$TMP/after.json" && echo same) $(latest)" "same $((v + 1))"
expect_eq "the Iceberg table did not change" "$(q "SELECT count(*) FROM db.t WHERE id = 40")" 0

finish
