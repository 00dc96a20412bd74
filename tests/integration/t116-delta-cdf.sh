#!/usr/bin/env bash
# t116-delta-cdf.sh - what tarn's Delta log carries beyond the versions themselves: the change
# data feed (delta.enableChangeDataFeed=true: cdc actions and _change_data/ files for DELETE,
# UPDATE, MERGE and upserts), remove tombstones in checkpoints, log cleanup by
# delta.logRetentionDuration, and min/max stats of struct fields. Judged at the protocol level
# by tests/delta/replay.mjs (its own log replay and hyparquet, no tarn code): the feed it reads
# must be exactly the rows each statement changed, and tarn's own Delta reader (the table
# registered back, delta_changes) must read the same; checkpoints are read with
# ../shared/interop/parquet-dump.mjs and their tombstones compared with the JSON log; after
# cleanup the latest state and every retained version must still replay and register.
. "$(dirname "$0")/lib.sh"

REPLAY=$ROOT/tests/delta/replay.mjs
if [ "$TEST_STORAGE" = s3 ]; then
    skip "Delta change data feed" "the replay reads the table's files from local disk"
    finish; exit
fi
if [ ! -f "$INTEROP/node_modules/hyparquet/package.json" ]; then
    skip "Delta change data feed" "no hyparquet in $INTEROP (copy ../shared/interop there, npm ci)"
    finish; exit
fi

latest() { ls "$1/_delta_log" 2>/dev/null | grep -E '^[0-9]{20}\.json$' | sort | tail -1 | sed 's/^0*//; s/\.json$//; s/^$/0/'; }
# feed DIR START END: the change data feed the replay reads, one sorted JSON line per row
feed() { node "$REPLAY" "$1" --changes "$2" "$3" --interop "$INTEROP" 2>&1; }
# tarn_feed TABLE START END: the same through tarn's reader, in the replay's form
tarn_feed() {
    "$TARN" sql "SELECT * EXCLUDE (_commit_timestamp) FROM delta_changes('$1', $2, $3)" --format ndjson 2>&1 |
        python3 -c '
import json, sys
print("\n".join(sorted(json.dumps(json.loads(l), separators=(",", ":")) for l in sys.stdin if l.strip())))'
}
rows() { python3 -c 'import json,sys; print("\n".join(sorted(json.dumps(json.loads(l), separators=(",", ":")) for l in sys.stdin if l.strip())))'; }
canon() {
    python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(json.dumps(sorted(json.dumps(r, sort_keys=True) for r in rows)))'
}
# actions DIR VERSION KIND: how many KIND actions the version's commit holds
actions() {
    python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and sys.argv[2] in json.loads(l)))' \
        "$1/_delta_log/$(printf '%020d' "$2").json" "$3"
}

#---- the change data feed ----
check "a table published as Delta with the change data feed" "$TARN" sql \
    "CREATE TABLE db.c (id INT, name VARCHAR, score INT) TBLPROPERTIES ('delta.enabled' = 'true', 'delta.enableChangeDataFeed' = 'true')"
D=$WH/db/c
expect_eq "protocol: changeDataFeed is a writer feature, not a reader feature" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if "protocol" in a: print(a["protocol"]["minWriterVersion"], "changeDataFeed" in a["protocol"]["writerFeatures"], "changeDataFeed" in a["protocol"]["readerFeatures"])
    if "metaData" in a: print(a["metaData"]["configuration"].get("delta.enableChangeDataFeed"))' "$D/_delta_log/00000000000000000000.json")" \
    "7 True False
true"
check "append (v1)" "$TARN" sql "INSERT INTO db.c VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30), (4, 'dee', 40)"
expect_eq "an append writes no change data file" "$(actions "$D" 1 cdc)" 0
check "delete (v2)" "$TARN" sql "DELETE FROM db.c WHERE id = 1"
check "update (v3)" "$TARN" sql "UPDATE db.c SET score = score + 1 WHERE id IN (2, 3)"
check "merge: update, delete and insert (v4)" "$TARN" sql \
    "MERGE INTO db.c AS t USING (SELECT 2 AS id, 'bobby' AS name UNION ALL SELECT 4, 'x' UNION ALL SELECT 5, 'eve') AS s ON t.id = s.id
     WHEN MATCHED AND s.id = 4 THEN DELETE WHEN MATCHED THEN UPDATE SET name = s.name
     WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, 50)"
printf 'id,name,score\n3,cyd,33\n6,fay,60\n' >"$TMP/up.csv"
check "upsert: one key updated, one inserted (v5)" "$TARN" ingest db.c "$TMP/up.csv" --mode upsert --key id
check "copy-on-write delete (v6)" "$TARN" sql "ALTER TABLE db.c SET TBLPROPERTIES ('write.delete.mode' = 'copy-on-write')"
check "... of one row (v7)" "$TARN" sql "DELETE FROM db.c WHERE id = 5"
check "a merge that only inserts (v8)" "$TARN" sql \
    "MERGE INTO db.c AS t USING (SELECT 7 AS id, 'gus' AS name) AS s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, 70)"
expect_eq "each row-level change has one cdc action" \
    "$(for v in 2 3 4 5 7 8; do actions "$D" $v cdc; done | tr '\n' ' ')" "1 1 1 1 1 1 "
expect_eq "the cdc files are in _change_data/" "$(ls "$D/_change_data" | grep -c '^cdc-.*\.parquet$')" 6
want='{"id":1,"name":"ann","score":10,"_change_type":"insert","_commit_version":1}
{"id":2,"name":"bob","score":20,"_change_type":"insert","_commit_version":1}
{"id":3,"name":"cy","score":30,"_change_type":"insert","_commit_version":1}
{"id":4,"name":"dee","score":40,"_change_type":"insert","_commit_version":1}
{"id":1,"name":"ann","score":10,"_change_type":"delete","_commit_version":2}
{"id":2,"name":"bob","score":20,"_change_type":"update_preimage","_commit_version":3}
{"id":2,"name":"bob","score":21,"_change_type":"update_postimage","_commit_version":3}
{"id":3,"name":"cy","score":30,"_change_type":"update_preimage","_commit_version":3}
{"id":3,"name":"cy","score":31,"_change_type":"update_postimage","_commit_version":3}
{"id":2,"name":"bob","score":21,"_change_type":"update_preimage","_commit_version":4}
{"id":2,"name":"bobby","score":21,"_change_type":"update_postimage","_commit_version":4}
{"id":4,"name":"dee","score":40,"_change_type":"delete","_commit_version":4}
{"id":5,"name":"eve","score":50,"_change_type":"insert","_commit_version":4}
{"id":3,"name":"cy","score":31,"_change_type":"update_preimage","_commit_version":5}
{"id":3,"name":"cyd","score":33,"_change_type":"update_postimage","_commit_version":5}
{"id":6,"name":"fay","score":60,"_change_type":"insert","_commit_version":5}
{"id":5,"name":"eve","score":50,"_change_type":"delete","_commit_version":7}
{"id":7,"name":"gus","score":70,"_change_type":"insert","_commit_version":8}'
want=$(rows <<<"$want")
expect_eq "the feed of versions 1 to 8, read from the log by the replay, is exactly the changed rows" \
    "$(feed "$D" 1 8)" "$want"
expect_eq "the table itself replays to tarn's rows" "$(node "$REPLAY" "$D" --interop "$INTEROP" 2>&1 | canon)" \
    "$("$TARN" sql "SELECT * FROM db.c" --format ndjson | canon)"
check "register tarn's Delta view as a Delta table" "$TARN" register db.crt "$D"
expect_eq "tarn's delta_changes over the registered view reads the same feed" "$(tarn_feed db.crt 1 8)" "$want"
expect_eq "... and a sub-range (versions 3 to 4)" "$(tarn_feed db.crt 3 4)" \
    "$(grep -E '"_commit_version":(3|4)}' <<<"$want")"

#---- error paths ----
n_cdc=$(ls "$D/_change_data" | wc -l)
v=$(latest "$D")
TARN_FAULT='write:1@.metadata.json' "$TARN" sql "UPDATE db.c SET score = 0 WHERE id = 2" >"$TMP/out" 2>&1
expect_eq "an update whose metadata write fails fails" "$? $(grep -c 'injected' "$TMP/out")" "5 1"
expect_eq "... and leaves no Delta version and no change data file" "$(latest "$D") $(ls "$D/_change_data" | wc -l)" "$v $n_cdc"
expect_eq "... nor an Iceberg change" "$(q "SELECT score FROM db.c WHERE id = 2")" 21
TARN_FAULT='publish:1@_change_data' "$TARN" sql "DELETE FROM db.c WHERE id = 2" >"$TMP/out" 2>&1
expect_eq "a delete whose change data file cannot be published fails" "$? $(grep -c 'injected' "$TMP/out")" "5 1"
expect_eq "... leaving no Delta version, no change data file and the row" \
    "$(latest "$D") $(ls "$D/_change_data" | wc -l) $(q "SELECT count(*) FROM db.c WHERE id = 2")" "$v $n_cdc 1"
TARN_FAULT='write:1@_delta_log' "$TARN" sql "DELETE FROM db.c WHERE id = 2" >"$TMP/out" 2>&1
expect_eq "a delete whose Delta version cannot be written fails" "$? $(grep -c 'injected' "$TMP/out")" "5 1"
expect_eq "... and deletes the change data file it wrote" \
    "$(latest "$D") $(ls "$D/_change_data" | wc -l) $(q "SELECT count(*) FROM db.c WHERE id = 2")" "$v $n_cdc 1"
check_fails "a log retention that is not a duration is refused (422)" 2 "delta.logRetentionDuration" \
    "$TARN" sql "ALTER TABLE db.c SET TBLPROPERTIES ('delta.logRetentionDuration' = 'forever')"
check_fails "... and so is a tombstone retention in months" 2 "delta.deletedFileRetentionDuration" \
    "$TARN" sql "ALTER TABLE db.c SET TBLPROPERTIES ('delta.deletedFileRetentionDuration' = 'interval 1 month')"
expect_eq "neither advanced the log" "$(latest "$D")" "$v"
check "turn the feed off (and deletes back to merge-on-read)" "$TARN" sql \
    "ALTER TABLE db.c SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'false', 'write.delete.mode' = 'merge-on-read')"
expect_eq "... a new metaData says so" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if "metaData" in a: print(a["metaData"]["configuration"].get("delta.enableChangeDataFeed"))' "$D/_delta_log/$(printf '%020d' $((v + 1))).json")" false
check "a delete without the feed" "$TARN" sql "DELETE FROM db.c WHERE id = 6"
expect_eq "... writes no cdc action" "$(actions "$D" $((v + 2)) cdc)" 0
check_fails "... and its deletion vector cannot be read as a feed (why the feed is needed)" 1 "no cdc files" \
    node "$REPLAY" "$D" --changes $((v + 2)) $((v + 2)) --interop "$INTEROP"

#---- struct fields get min/max stats ----
check "a table with a struct column" "$TARN" sql \
    "CREATE TABLE db.n (id INT, s STRUCT(a INT, b VARCHAR, d DATE)) TBLPROPERTIES ('delta.enabled' = 'true')"
check "append structs" "$TARN" sql "INSERT INTO db.n VALUES (1, {'a': 5, 'b': 'k', 'd': DATE '2024-01-02'}), (2, {'a': -3, 'b': NULL, 'd': DATE '2023-12-31'}), (3, NULL)"
expect_eq "the add's stats nest the struct's fields under its name" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if "add" in a:
        s = json.loads(a["add"]["stats"]); print(json.dumps([s["minValues"]["s"], s["maxValues"]["s"], s["nullCount"]["s"]], sort_keys=True))' "$WH/db/n/_delta_log/00000000000000000001.json")" \
    '[{"a": -3, "b": "k", "d": "2023-12-31"}, {"a": 5, "b": "k", "d": "2024-01-02"}, {"a": 1, "b": 2, "d": 1}]'
expect_eq "the replay reads the structs field by field and finds every value within the stats" \
    "$(node "$REPLAY" "$WH/db/n" --interop "$INTEROP" 2>&1 | canon)" "$("$TARN" sql "SELECT * FROM db.n" --format ndjson | canon)"

#---- checkpoint tombstones and log cleanup ----
printf 'id,v\n1,a\n2,b\n' >"$TMP/t.csv"
check "ingest db.k" "$TARN" ingest db.k "$TMP/t.csv"
check "publish db.k (v0)" "$TARN" sql "ALTER TABLE db.k SET TBLPROPERTIES ('delta.enabled' = 'true')"
K=$WH/db/k
for i in 1 2 3 4 5 6 7 8; do
    "$TARN" sql "INSERT INTO db.k VALUES ($((i + 10)), 'x$i')" >/dev/null 2>&1
done
check "v9: a delete that drops whole files" "$TARN" sql "DELETE FROM db.k WHERE id IN (11, 12)"
check "v10: compaction (removes every file, a checkpoint is due)" "$TARN" maintain db.k compact
expect_eq "version 10 has a checkpoint" "$(ls "$K/_delta_log" | grep -c '^00000000000000000010\.checkpoint\.parquet$')" 1
# the tombstones the JSON log says a checkpoint of version 10 must carry: every removed path
# that no live add names (removed within the default week)
tomb_want=$(python3 - "$K/_delta_log" 10 <<'EOF'
import json, sys
live, removed = {}, {}
for v in range(int(sys.argv[2]) + 1):
    for l in open(f"{sys.argv[1]}/{v:020d}.json"):
        a = json.loads(l)
        if "remove" in a: live.pop(a["remove"]["path"], None); removed[a["remove"]["path"]] = 1
        if "add" in a: live[a["add"]["path"]] = 1
print(sorted(p for p in removed if p not in live))
EOF
)
node "$INTEROP/parquet-dump.mjs" "$K/_delta_log/00000000000000000010.checkpoint.parquet" --rows-only >"$TMP/cp.jsonl" 2>&1
tomb_got=$(python3 - "$TMP/cp.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rm = [r["remove"] for r in rows if r.get("remove") and r["remove"].get("path")]
ok = all(isinstance(r["deletionTimestamp"], int) and r["dataChange"] is False and r["size"] > 0 for r in rm)
print(sorted(r["path"] for r in rm) if ok else "tombstone without deletionTimestamp/size or with dataChange")
EOF
)
expect_eq "the checkpoint carries a remove tombstone (deletionTimestamp, dataChange false, size) for every removed file" \
    "$tomb_got" "$tomb_want"
expect_eq "... which is more than none" "$([ "$tomb_want" != "[]" ] && echo yes)" yes
expect_eq "_last_checkpoint counts the tombstones too" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$K/_delta_log/_last_checkpoint")" \
    "$(grep -c . "$TMP/cp.jsonl")"
expect_eq "the checkpoint replays to tarn's rows" "$(node "$REPLAY" "$K" --interop "$INTEROP" 2>&1 | canon)" \
    "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"
expect_eq "with the default 30-day retention the checkpoint deleted no log file" \
    "$(ls "$K/_delta_log" | grep -cE '^[0-9]{20}\.json$')" 11

check "v11: retain log files and tombstones for 1 second" "$TARN" sql \
    "ALTER TABLE db.k SET TBLPROPERTIES ('delta.logRetentionDuration' = 'interval 1 second', 'delta.deletedFileRetentionDuration' = 'interval 1 second')"
sleep 2
"$TARN" maintain db.k expire --as-of "$(date -u -d "+1 minute" "+%Y-%m-%d %H:%M:%S")" >"$TMP/expire.out" 2>&1
expect_eq "v12: an expiry, which cleans the log up" "$(latest "$K")" 12
expect_eq "the commits before the checkpoint are deleted, the checkpoint and later commits kept" \
    "$(ls "$K/_delta_log" | grep -E '^[0-9]{20}\.(json|checkpoint\.parquet)$' | sed 's/^0*//' | tr '\n' ' ')" \
    "10.checkpoint.parquet 10.json 11.json 12.json "
expect_eq "the latest version still replays from the checkpoint" "$(node "$REPLAY" "$K" --interop "$INTEROP" 2>&1 | canon)" \
    "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"
expect_eq "and so does version 10" "$(node "$REPLAY" "$K" --version 10 --interop "$INTEROP" 2>&1 | canon)" \
    "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"
check "tarn registers the cleaned-up log" "$TARN" register db.krt "$K"
expect_eq "... and reads its latest state" "$("$TARN" sql "SELECT * FROM db.krt" --format ndjson | canon)" \
    "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"
expect_eq "... and version 10 (the oldest it can rebuild)" \
    "$("$TARN" sql "SELECT count(*) AS n FROM db.krt AT (VERSION => 10)" --format csv | tail -1)" 8
for i in 1 2 3 4 5 6; do
    "$TARN" sql "INSERT INTO db.k VALUES ($((i + 30)), 'y$i')" >/dev/null 2>&1
done
check "v19: an append" "$TARN" sql "INSERT INTO db.k VALUES (40, 'z')"
sleep 2
check "v20: a delete of a whole file (a checkpoint is due)" "$TARN" sql "DELETE FROM db.k WHERE id = 40"
expect_eq "the version-20 checkpoint removed the older checkpoint and the commits before it" \
    "$(ls "$K/_delta_log" | grep -E '^[0-9]{20}\.(json|checkpoint\.parquet)$' | sed 's/^0*//' | tr '\n' ' ')" \
    "20.checkpoint.parquet 20.json "
node "$INTEROP/parquet-dump.mjs" "$K/_delta_log/00000000000000000020.checkpoint.parquet" --rows-only >"$TMP/cp20.jsonl" 2>&1
expect_eq "its tombstones are the files removed within the last second only" \
    "$(python3 -c '
import json, sys
print([r["remove"]["path"].split("/")[0] for r in map(json.loads, open(sys.argv[1])) if r.get("remove") and r["remove"].get("path")])' "$TMP/cp20.jsonl")" \
    "['data']"
expect_eq "the latest version replays from it alone" "$(node "$REPLAY" "$K" --interop "$INTEROP" 2>&1 | canon)" \
    "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"
expect_eq "tarn's registered view follows the cleaned-up log" \
    "$("$TARN" sql "SELECT * FROM db.krt" --format ndjson 2>&1 | canon)" "$("$TARN" sql "SELECT * FROM db.k" --format ndjson | canon)"

finish
