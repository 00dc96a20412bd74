#!/usr/bin/env bash
# t101-delta-publish.sh - tarn tables published as Delta (delta.enabled=true): every commit
# writes the next _delta_log version over the same Parquet files. The proof is
# tests/delta/replay.mjs, an independent Delta reader written from the protocol (hyparquet reads
# the checkpoints and data files, its own Roaring decoder the deletion vectors): at EVERY Delta
# version its rows must equal tarn's own answer for the same commit - the rows tarn returned
# right after it, and the Iceberg snapshot the version names, read AT (VERSION => snapshot).
# Covered: appends, deletes (deletion vectors), updates, upserts, a second delete on the same
# file, schema evolution (add and rename column), overwrite, compaction, a checkpoint after 10
# versions, an identity- and a bucket-partitioned table, a failed commit (TARN_FAULT) that
# leaves both logs where they were, a version file left by a crash that the next commit
# replaces, a foreign Delta commit that makes tarn refuse to write, and tarn serve --delta and
# POST /tables properties; check.mjs on the Iceberg side of the published table; min/max stats
# of decimals, floats, doubles (none with a NaN), dates and timestamps, each checked by the replay.
# Local warehouse only (the replay reads local files; t106-delta-s3 runs publishing on S3).
. "$(dirname "$0")/lib.sh"

REPLAY=$ROOT/tests/delta/replay.mjs
if [ "$TEST_STORAGE" = s3 ]; then
    skip "Delta publishing" "the replay reads the table's files from local disk"
    finish; exit
fi
if [ ! -f "$INTEROP/node_modules/hyparquet/package.json" ]; then
    skip "Delta publishing" "no hyparquet in $INTEROP (copy ../shared/interop there, npm ci)"
    finish; exit
fi

# canon: JSON lines on stdin -> one canonical JSON array (rows sorted, keys sorted).
canon() {
    python3 -c '
import json, sys
num = lambda v: int(v) if isinstance(v, float) and v.is_integer() else v
rows = [{k: num(v) for k, v in json.loads(l).items()} for l in sys.stdin if l.strip()]
print(json.dumps(sorted(json.dumps(r, sort_keys=True) for r in rows)))'
}
# versions TABLE_DIR: the latest Delta version (-1 when there is no log).
latest() { ls "$1/_delta_log" 2>/dev/null | grep -cE '^[0-9]{20}\.json$' | awk '{print $1 - 1}'; }
# commit_field TABLE_DIR VERSION FIELD: a field of the version's commitInfo.
commit_field() {
    python3 -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if "commitInfo" in a: print(a["commitInfo"].get(sys.argv[2], ""))' \
        "$1/_delta_log/$(printf '%020d' "$2").json" "$3"
}

# after TABLE: record tarn's current rows as what the newest Delta version must hold.
declare -A EXPECT
after() {
    local t=$1 dir=$WH/${1%%.*}/${1#*.} v
    v=$(latest "$dir")
    EXPECT[$t:$v]=$("$TARN" sql "SELECT * FROM $t" --format ndjson 2>/dev/null | canon)
}

# verify TABLE: every Delta version replayed equals what tarn answered after that commit, and
# (for versions that changed data) what tarn answers AT the Iceberg snapshot the version names.
verify() {
    local t=$1 dir=$WH/${1%%.*}/${1#*.} v last sid op got want bad_v=
    last=$(latest "$dir")
    for v in $(seq 0 "$last"); do
        got=$(node "$REPLAY" "$dir" --version "$v" --interop "$INTEROP" 2>"$TMP/replay.err" | canon)
        want=${EXPECT[$t:$v]:-missing}
        if [ "$got" != "$want" ]; then
            bad_v="$bad_v $v"; echo "    v$v replay: $(head -c 300 <<<"$got") $(head -c 200 "$TMP/replay.err")"
            echo "    v$v tarn:   $(head -c 300 <<<"$want")"
            continue
        fi
        op=$(commit_field "$dir" "$v" operation)
        sid=$(commit_field "$dir" "$v" tarn.snapshotId)
        case $op in "CHANGE COLUMN" | "SET TBLPROPERTIES") continue ;; esac
        want=$("$TARN" sql "SELECT * FROM $t AT (VERSION => $sid)" --format ndjson 2>/dev/null | canon)
        [ "$got" = "$want" ] || { bad_v="$bad_v $v(snapshot $sid)"; echo "    AT VERSION: $(head -c 300 <<<"$want")"; }
    done
    expect_eq "$t: all $((last + 1)) Delta versions replay to tarn's answers" "${bad_v:-none wrong}" "none wrong"
}

#---- an unpartitioned table through every kind of change ----
printf 'id,name,score\n1,ann,10\n2,bob,20\n3,cy,30\n4,dee,40\n' >"$TMP/a.csv"
check "ingest db.t" "$TARN" ingest db.t "$TMP/a.csv"
check "enable Delta with ALTER TABLE SET TBLPROPERTIES" \
    "$TARN" sql "ALTER TABLE db.t SET TBLPROPERTIES ('delta.enabled' = 'true')"
D=$WH/db/t
expect_eq "the property commit is Delta version 0" "$(latest "$D")" 0
after db.t
check "append" "$TARN" sql "INSERT INTO db.t VALUES (5, 'eve', 50), (6, 'fay', 60)"; after db.t
check "delete a row" "$TARN" sql "DELETE FROM db.t WHERE id = 2"; after db.t
expect_eq "a deletion vector file beside the data" "$(ls "$D" | grep -c '^deletion_vector_.*\.bin$')" 1
check "update" "$TARN" sql "UPDATE db.t SET score = score + 1 WHERE id = 3"; after db.t
printf 'id,name,score\n4,dee,44\n7,gus,70\n' >"$TMP/up.csv"
check "upsert" "$TARN" ingest db.t "$TMP/up.csv" --mode upsert --key id; after db.t
check "a second delete in the same file" "$TARN" sql "DELETE FROM db.t WHERE id = 1"; after db.t
check "add a column" "$TARN" sql "ALTER TABLE db.t ADD COLUMN extra INTEGER"; after db.t
check "append with the new column" "$TARN" sql "INSERT INTO db.t VALUES (8, 'hal', 80, 1)"; after db.t
check "rename a column" "$TARN" sql "ALTER TABLE db.t RENAME COLUMN name TO label"; after db.t
check "append after the rename" "$TARN" sql "INSERT INTO db.t VALUES (9, 'ivy', 90, 2)"; after db.t
check "compact" "$TARN" maintain db.t compact; after db.t
expect_eq "version 10 has a checkpoint" "$(ls "$D/_delta_log" | grep -c '^00000000000000000010\.checkpoint\.parquet$')" 1
expect_eq "_last_checkpoint names version 10" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$D/_delta_log/_last_checkpoint")" 10
expect_eq "the compaction is an OPTIMIZE" "$(commit_field "$D" 10 operation)" OPTIMIZE
check "delete after the compaction" "$TARN" sql "DELETE FROM db.t WHERE id IN (3, 9)"; after db.t
printf 'id,label,score,extra\n20,new,1,\n21,newer,2,3\n' >"$TMP/ow.csv"
check "overwrite" "$TARN" ingest db.t "$TMP/ow.csv" --mode overwrite; after db.t
check "append after the overwrite" "$TARN" sql "INSERT INTO db.t VALUES (22, 'z', 3, NULL)"; after db.t
verify db.t

#---- a format-version 3 table: its deletion vectors become Delta's ----
printf 'id,name,score\n1,ann,10\n2,bob,20\n3,cy,30\n4,dee,40\n' >"$TMP/v3.csv"
check "ingest a v3 table" "$TARN" ingest db.v3 "$TMP/v3.csv" --format-version 3
check "enable Delta on it" "$TARN" sql "ALTER TABLE db.v3 SET TBLPROPERTIES ('delta.enabled' = 'true')"
after db.v3
check "v3: delete a row (a deletion vector)" "$TARN" sql "DELETE FROM db.v3 WHERE id = 2"; after db.v3
check "v3: a second delete in the same file (the vector merged)" "$TARN" sql "DELETE FROM db.v3 WHERE id = 4"; after db.v3
check "v3: update" "$TARN" sql "UPDATE db.v3 SET score = 31 WHERE id = 3"; after db.v3
printf 'id,name,score\n1,ann,11\n5,eve,50\n' >"$TMP/v3up.csv"
check "v3: upsert" "$TARN" ingest db.v3 "$TMP/v3up.csv" --mode upsert --key id; after db.v3
check "v3: compact" "$TARN" maintain db.v3 compact; after db.v3
expect_eq "v3: the Delta log holds deletion vectors" \
    "$(cat "$WH"/db/v3/_delta_log/*.json | grep -c '"deletionVector"' | awk '{print ($1 > 0)}')" 1
verify db.v3
# the Iceberg side of the published table, judged by the independent conformance checker
loc=$(metadata_location t db)
node "$INTEROP/check.mjs" "${loc#file://}" --all-snapshots >"$TMP/check.json" 2>&1
expect_eq "check.mjs: the Iceberg side of db.t conforms after appends, deletes, updates and the rest" \
    "$(jv 'd["errors"]' "$TMP/check.json")" "[]"
# the checkpoint alone (without the JSON commits before it) gives the same table
mkdir -p "$TMP/cp/_delta_log"
cp "$D/_delta_log/00000000000000000010.checkpoint.parquet" "$D/_delta_log/00000000000000000010.json" "$TMP/cp/_delta_log/"
for f in "$D"/*; do [ "$(basename "$f")" = _delta_log ] || ln -s "$f" "$TMP/cp/"; done
expect_eq "replay from the checkpoint alone equals version 10" \
    "$(node "$REPLAY" "$TMP/cp" --interop "$INTEROP" 2>&1 | canon)" "${EXPECT[db.t:10]}"
# the stats tarn writes are exact bounds the replay checks; a corrupted one is caught
python3 - "$D/_delta_log/00000000000000000001.json" "$TMP/bad" <<'EOF'
import json, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst + "/_delta_log")
lines = [json.loads(l) for l in open(src)]
for a in lines:
    if "add" in a:
        s = json.loads(a["add"]["stats"]); s["maxValues"]["id"] = 0; a["add"]["stats"] = json.dumps(s)
base = os.path.dirname(os.path.dirname(src))
shutil.copy(base + "/_delta_log/00000000000000000000.json", dst + "/_delta_log/")
with open(dst + "/_delta_log/00000000000000000001.json", "w") as f:
    f.write("".join(json.dumps(a) + "\n" for a in lines))
for n in os.listdir(base):
    if n != "_delta_log": os.symlink(base + "/" + n, dst + "/" + n)
EOF
check_fails "the replay catches a wrong maxValues" 1 "above maxValues" node "$REPLAY" "$TMP/bad" --interop "$INTEROP"

#---- maintenance keeps the Delta table's files ----
sleep 1
check "remove-orphans" "$TARN" maintain db.t remove-orphans --older-than 0s
expect_eq "the Delta log and deletion vectors are not orphans" \
    "$(node "$REPLAY" "$D" --interop "$INTEROP" 2>&1 | canon)" "${EXPECT[db.t:$(latest "$D")]}"

#---- a failed commit leaves neither log advanced ----
v_before=$(latest "$D")
rows_before=$(q "SELECT count(*) FROM db.t")
TARN_FAULT='write:1@.metadata.json' "$TARN" sql "INSERT INTO db.t VALUES (30, 'x', 1, 1)" >"$TMP/out" 2>&1
expect_eq "the commit with a failing metadata write fails" "$? $(grep -c 'injected' "$TMP/out")" "5 1"
expect_eq "no Delta version was added" "$(latest "$D")" "$v_before"
expect_eq "no Iceberg snapshot was added" "$(q "SELECT count(*) FROM db.t")" "$rows_before"
check "the next commit succeeds" "$TARN" sql "INSERT INTO db.t VALUES (31, 'y', 1, 1)"; after db.t
expect_eq "... as the next Delta version" "$(latest "$D")" "$((v_before + 1))"

#---- a version file left by a crash between the Delta write and the catalog swap ----
v=$(latest "$D")
python3 - "$D/_delta_log/$(printf '%020d' "$v").json" "$D/_delta_log/$(printf '%020d' $((v + 1))).json" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for a in lines:
    if "commitInfo" in a:  # a commit that crashed an hour ago, before its catalog swap
        a["commitInfo"]["tarn.metadata"] = "file:///never/published.metadata.json"
        a["commitInfo"]["timestamp"] -= 3600 * 1000
open(sys.argv[2], "w").write("".join(json.dumps(a) + "\n" for a in lines))
EOF
check "a commit after an orphaned version file" "$TARN" sql "INSERT INTO db.t VALUES (32, 'w', 1, 1)"; after db.t
expect_eq "it replaced the orphan with its own version" "$(commit_field "$D" $((v + 1)) tarn.metadata)" \
    "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select metadata_location from iceberg_tables where table_name=\"t\"").fetchone()[0])' "$WH/catalog.db")"
verify db.t

#---- round trip: tarn's Delta view registered back as a Delta table (src/delta/log.c) ----
if ! "$TARN" register db.probe "$SHARED/delta-fixtures/simple_table" >"$TMP/out" 2>&1; then
    skip "tarn's Delta view registered as a Delta table" "this build cannot register Delta tables (the delta-read branch adds it)"
else
    check "register tarn's own Delta log as a Delta table" "$TARN" register db.rt "$D"
    bad_v=
    for v in $(seq 0 "$(latest "$D")"); do
        [ -n "${EXPECT[db.t:$v]:-}" ] || continue
        got=$("$TARN" sql "SELECT * FROM db.rt AT (VERSION => $v)" --format ndjson 2>&1 | canon)
        [ "$got" = "${EXPECT[db.t:$v]}" ] || { bad_v="$bad_v $v"; echo "    v$v: $(head -c 300 <<<"$got")"; }
    done
    expect_eq "every version read back through tarn's Delta reader" "${bad_v:-none wrong}" "none wrong"
fi

#---- a foreign commit makes tarn refuse to write ----
v=$(latest "$D")
printf '{"commitInfo":{"timestamp":1,"operation":"WRITE","engineInfo":"Apache-Spark/3.5.1 Delta-Lake/3.2.0"}}\n' \
    >"$D/_delta_log/$(printf '%020d' $((v + 1))).json"
check_fails "a write after another engine's Delta commit is refused" 4 "another engine" \
    "$TARN" sql "INSERT INTO db.t VALUES (40, 'no', 1, 1)"
expect_eq "the Iceberg table did not change" "$(q "SELECT count(*) FROM db.t WHERE id = 40")" 0
rm "$D/_delta_log/$(printf '%020d' $((v + 1))).json"

#---- expiry: an empty Delta version; the current one still reads (older ones lose their files,
# as after a Delta VACUUM) ----
"$TARN" maintain db.t expire --as-of "$(date -u -d "+1 minute" "+%Y-%m-%d %H:%M:%S")" >"$TMP/expire.out" 2>&1
expired=$(grep -oE '^db.t: [0-9]+ snapshots expired' "$TMP/expire.out" | grep -oE '[0-9]+ snapshots' | cut -d' ' -f1)
after db.t
expect_eq "expiry of ${expired:-?} snapshots is one more Delta version" "$(latest "$D") $((${expired:-0} > 0))" "$((v + 1)) 1"
expect_eq "the latest version after expiry replays to tarn's answer" \
    "$(node "$REPLAY" "$D" --interop "$INTEROP" 2>&1 | canon)" "${EXPECT[db.t:$(latest "$D")]}"

#---- turned off and on again: the stale log is refused until it is removed ----
check "turn publishing off" "$TARN" sql "ALTER TABLE db.t SET TBLPROPERTIES ('delta.enabled' = 'false')"
v=$(latest "$D")
check "a commit without publishing" "$TARN" sql "INSERT INTO db.t VALUES (50, 'off', 1, 1)"
expect_eq "... adds no Delta version" "$(latest "$D")" "$v"
check_fails "turning it on over the stale log is refused" 4 "already holds a Delta log" \
    "$TARN" sql "ALTER TABLE db.t SET TBLPROPERTIES ('delta.enabled' = 'true')"
rm -r "$D/_delta_log"
check "turning it on after removing the log" "$TARN" sql "ALTER TABLE db.t SET TBLPROPERTIES ('delta.enabled' = 'true')"
after db.t
expect_eq "publishes the whole table as version 0" "$(latest "$D") $(node "$REPLAY" "$D" --interop "$INTEROP" 2>&1 | canon)" "0 ${EXPECT[db.t:0]}"

#---- partitioned tables: published as unpartitioned Delta tables ----
printf 'id,region,amount\n1,EU,1.5\n2,US,2.5\n3,EU,3.5\n4,APAC,4.5\n' >"$TMP/p.csv"
check "ingest a table partitioned by region and bucket(4, id)" \
    "$TARN" ingest db.p "$TMP/p.csv" --partition-by 'region, bucket(4, id)'
check "enable Delta" "$TARN" sql "ALTER TABLE db.p SET TBLPROPERTIES ('delta.enabled'='true')"; after db.p
check "append to partitions" "$TARN" sql "INSERT INTO db.p VALUES (5, 'US', 5.5), (6, 'EU', 6.5)"; after db.p
check "delete in a partition" "$TARN" sql "DELETE FROM db.p WHERE region = 'EU' AND id < 3"; after db.p
check "update across partitions" "$TARN" sql "UPDATE db.p SET amount = amount * 2 WHERE id >= 4"; after db.p
expect_eq "the Delta view has no partition columns" \
    "$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    a=json.loads(l)
    if "metaData" in a: print(a["metaData"]["partitionColumns"])' "$WH/db/p/_delta_log/00000000000000000000.json")" "[]"
verify db.p

#---- statistics for decimals, floats, doubles, dates and timestamps ----
check "a table of decimals, floats, doubles, dates and timestamps, published at creation" "$TARN" sql \
    "CREATE TABLE db.s (id INT, amt DECIMAL(10, 2), f REAL, d DOUBLE, day DATE, ts TIMESTAMP, tz TIMESTAMPTZ)
     TBLPROPERTIES ('delta.enabled' = 'true')"; after db.s
check "append values with sub-millisecond times and a NaN" "$TARN" sql "INSERT INTO db.s VALUES
    (1, 12.34, 1.5, 0.1, DATE '2024-01-31', TIMESTAMP '2024-05-01 10:00:00.123456', TIMESTAMPTZ '2024-05-01 10:00:00.5+00'),
    (2, -7.05, -2.25, CAST('NaN' AS DOUBLE), DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.999001', TIMESTAMPTZ '2030-01-01 00:00:00+00'),
    (3, NULL, NULL, 2.5, NULL, NULL, NULL)"; after db.s
# stats_of COLUMN: "min max" of the physical column named COLUMN in version 1's add
stats_of() {
    python3 -c '
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
for a in log:
    if "add" in a:
        s = json.loads(a["add"]["stats"])
        print(s["minValues"].get(sys.argv[2], "-"), s["maxValues"].get(sys.argv[2], "-"))' \
        "$WH/db/s/_delta_log/00000000000000000001.json" "$1"
}
expect_eq "decimal bounds around -7.05 and 12.34" "$(stats_of amt | python3 -c 'import sys
lo, hi = map(float, sys.stdin.read().split()); print(lo <= -7.05 and hi >= 12.34 and hi - lo < 19.4)')" True
expect_eq "float bounds exact" "$(stats_of f)" "-2.25 1.5"
expect_eq "double: no bounds when a NaN is in the column" "$(stats_of d)" "- -"
expect_eq "date bounds" "$(stats_of day)" "1969-12-31 2024-01-31"
expect_eq "timestamp (ntz) bounds without a zone, the maximum rounded up to the millisecond" "$(stats_of ts)" \
    "1969-12-31T23:59:59.999 2024-05-01T10:00:00.124"
expect_eq "timestamptz bounds in UTC" "$(stats_of tz)" "2024-05-01T10:00:00.500Z 2030-01-01T00:00:00.000Z"
check "delete one row" "$TARN" sql "DELETE FROM db.s WHERE id = 3"; after db.s
# the independent replay checks every value against its file's minValues/maxValues
# (JSON has no NaN, so the rows themselves are compared by count here)
for v in 1 2; do
    node "$REPLAY" "$WH/db/s" --version "$v" --interop "$INTEROP" >"$TMP/replay.out" 2>"$TMP/replay.err"
    expect_eq "db.s v$v: the replay finds every value within its file's bounds and reads $((4 - v)) rows" \
        "$? $(wc -l <"$TMP/replay.out") $(head -c 200 "$TMP/replay.err")" "0 $((4 - v)) "
done

#---- the server: properties at creation, and --delta as the default ----
start_server "$WH"
status_is "POST /tables with delta.enabled" 200 post /tables \
    '{"name":"db.h","schema":{"fields":[{"name":"id","type":"long"}]},"properties":{"delta.enabled":"true"}}'
expect_eq "its creation is Delta version 0" "$(latest "$WH/db/h")" 0
start_server "$(wh_new served)" --delta
status_is "POST /tables on a server with --delta" 200 post /tables \
    '{"name":"db.d","schema":{"fields":[{"name":"id","type":"long"}]}}'
expect_eq "the new table is published as Delta" "$(latest "$(wh_new served)/db/d")" 0
status_is "delta.enabled=false at creation wins over --delta" 200 post /tables \
    '{"name":"db.n","schema":{"fields":[{"name":"id","type":"long"}]},"properties":{"delta.enabled":"false"}}'
expect_eq "that table has no Delta log" "$(latest "$(wh_new served)/db/n")" -1

finish
