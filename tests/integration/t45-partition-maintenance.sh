#!/usr/bin/env bash
# t45-partition-maintenance: partition evolution (POST /tables/{t}/partitioning, ALTER TABLE ...
# SET PARTITIONED BY / SET UNPARTITIONED over HTTP and the CLI, the void transform, field ids,
# reads and overwrites across several specs) and the maintenance actions (rewrite_manifests,
# compact of partitioned tables, remove_orphans, rewrite_metadata and the metadata-log
# properties): each success, each error with its status (nothing committed after it), a
# compaction racing a writer, and icebird reading the table after each action. On an S3
# warehouse too (lib.sh's TARN_TEST_STORAGE=s3): files are put, listed and read with lib.sh's
# wh_* helpers; only back-dating an orphan is local-only (S3 objects cannot be back-dated).
. "$(dirname "$0")/lib.sh"

meta() { curl -s -o "$TMP/meta" "$BASE/tables/$1"; jv "$2" "$TMP/meta"; }
maint() { post "/tables/$1/maintenance" "$2"; }
# ib_rows TABLE: "rows,sum of ids" as the independent reader sees the current snapshot (of the
# server at $BASE; on S3 read from the S3 server).
ib_rows() {
    local s3=()
    [ "$TEST_STORAGE" = s3 ] && s3=(--s3-endpoint "$TARN_S3_ENDPOINT")
    node "$INTEROP/iceberg-read.mjs" "$(meta "$1" 'd["metadata_location"]')" --rows-only "${s3[@]}" \
        >"$TMP/ib.out" 2>"$TMP/ib.err" || { echo "icebird failed: $(head -c 300 "$TMP/ib.err")"; return; }
    python3 -c 'import json, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if isinstance(r, dict) and "id" in r]
print("%d,%d" % (len(rows), sum(int(r["id"]) for r in rows)))' "$TMP/ib.out"
}
HAVE_IB=0
[ -d "$INTEROP/node_modules" ] && command -v node >/dev/null && HAVE_IB=1
ib_check() { # DESC TABLE EXPECTED
    if [ $HAVE_IB = 1 ]; then expect_eq "$1" "$(ib_rows "$2")" "$3"
    else skip "$1" "no $INTEROP/node_modules (see tests/interop)"; fi
}

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- partition evolution over HTTP ----
code=$(ingest pe "partition_by=month(ts)" $'id,ts,region\n1,2024-01-01 10:00:00,eu\n2,2024-01-02 11:00:00,us\n')
expect_status "create pe partitioned by month(ts)" 200 "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "day(ts), bucket(16,id)"}')
expect_status "evolve to day(ts), bucket(16, id)" 200 "$code"
expect_eq "new spec 1 with fresh field ids after last-partition-id" \
    "$(jv '[d["spec_id"]] + [(f["name"], f["transform"], f["field-id"]) for f in d["partition_spec"]["fields"]]')" \
    '[1, ["ts_day", "day", 1001], ["id_bucket", "bucket[16]", 1002]]'
expect_eq "evolution is metadata only" "$(meta pe 'd["snapshot_count"]')" "1"
code=$(ingest pe "" $'id,ts,region\n3,2024-02-01 10:00:00,eu\n4,2024-02-03 11:00:00,ap\n')
expect_status "append with the new spec" 200 "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "month(ts), truncate(1, region), void(id)"}')
expect_status "evolve again: month kept, truncate and void added" 200 "$code"
expect_eq "a field kept from spec 0 keeps its id; new ones continue" \
    "$(jv '[(f["transform"], f["field-id"]) for f in d["partition_spec"]["fields"]]')" \
    '[["month", 1000], ["truncate[1]", 1003], ["void", 1004]]'
code=$(ingest pe "" $'id,ts,region\n5,2024-03-05 10:00:00,us\n6,2024-03-06 11:00:00,eu\n')
expect_status "append with spec 2" 200 "$code"
expect_eq "three specs, default 2" "$(meta pe '[len(d["partition_specs"]), d["partition_spec"]["spec-id"]]')" "[3, 2]"
expect_eq "rows from three specs" "$(csvq 'SELECT id, region FROM pe ORDER BY id' | tr '\n' ' ')" \
    "1,eu 2,us 3,eu 4,ap 5,us 6,eu "
expect_eq "filters across specs" "$(csvq "SELECT id FROM pe WHERE ts >= '2024-02-02' AND region <> 'us' ORDER BY id" | tr '\n' ' ')" "4 6 "
expect_eq "a manifest per spec" "$(csvq 'SELECT DISTINCT partition_spec_id FROM "pe$manifests" ORDER BY 1' | tr '\n' ' ')" "0 1 2 "
ib_check "icebird reads a table with three live specs" pe "6,21"
code=$(post /tables/pe/partitioning '{"partition_by": "month(ts), truncate(1, region), void(id)"}')
expect_status "setting the current spec again" 200 "$code"
expect_eq "... is a no-op" "$(jv '[d["spec_id"], d["spec_count"]]')" "[2, 3]"
code=$(post /tables/pe/partitioning '{"partition_by": "month(ts)"}')
expect_eq "an earlier spec is reused, not added" "$(jv '[d["spec_id"], d["spec_count"]]')" "[0, 3]"

# errors: 400, nothing committed
META0=$(meta pe 'd["metadata_location"]')
code=$(post /tables/pe/partitioning '{"partition_by": "day(nosuch)"}')
expect_error "unknown column: 400" 400 "'nosuch' is not a column" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "day(region)"}')
expect_error "day of a string: 400" 400 "needs a date or timestamp column" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "hour(id)"}')
expect_error "hour of a long: 400" 400 "needs a timestamp column" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "bucket(0, id)"}')
expect_error "bucket(0): 400" 400 "width from 1 to 1000000" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "bucket(2000000, id)"}')
expect_error "bucket too wide: 400" 400 "width from 1 to 1000000" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "truncate(x, region)"}')
expect_error "truncate without a number: 400" 400 "needs a whole width" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "truncate(4, ts)"}')
expect_error "truncate of a timestamp: 400" 400 "cannot partition column 'ts'" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "zorder(id)"}')
expect_error "unknown transform: 400" 400 "unknown partition transform" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": "day(ts), day(ts)"}')
expect_error "a field twice: 400" 400 "appears twice" "$code"
code=$(post /tables/pe/partitioning '{"partition_by": 5}')
expect_error "partition_by not a string: 400" 400 "\"partition_by\" is required" "$code"
code=$(post /tables/pe/partitioning '{}')
expect_error "partition_by missing: 400" 400 "\"partition_by\" is required" "$code"
code=$(post /tables/nope/partitioning '{"partition_by": ""}')
expect_status "unknown table: 404" 404 "$code"
expect_eq "nothing committed by the errors" "$(meta pe 'd["metadata_location"]')" "$META0"

# ALTER TABLE through POST /query
code=$(post /query '{"sql": "ALTER TABLE pe SET PARTITIONED BY (day(ts), bucket(16, id))"}')
expect_status "ALTER TABLE SET PARTITIONED BY via /query" 200 "$code"
expect_eq "... reuses spec 1" "$(meta pe 'd["partition_spec"]["spec-id"]')" "1"
code=$(post /query '{"sql": "ALTER TABLE pe SET PARTITIONED BY (bucket(3, nosuch))"}')
expect_error "ALTER with an unknown column: 400" 400 "is not a column" "$code"
code=$(post /query '{"sql": "ALTER TABLE pe SET PARTITIONED BY day(ts)"}')
expect_error "ALTER without parentheses: 400" 400 "SET PARTITIONED BY (" "$code"
code=$(post /query '{"sql": "ALTER TABLE pe SET UNPARTITIONED; DROP TABLE pe"}')
expect_error "a second statement after ALTER: 400" 400 "unexpected 'DROP'" "$code"
code=$(post /query '{"sql": "ALTER TABLE pe SET UNPARTITIONED"}')
expect_status "ALTER TABLE SET UNPARTITIONED" 200 "$code"
expect_eq "unpartitioned spec is the default" "$(meta pe 'd["partition_spec"]["fields"]')" "[]"
code=$(ingest pe "" $'id,ts,region\n7,2024-04-01 10:00:00,eu\n')
expect_status "append unpartitioned" 200 "$code"
code=$(ingest pe "mode=overwrite" $'id,ts,region\n8,2024-05-01 10:00:00,eu\n9,2024-05-02 10:00:00,us\n')
expect_status "overwrite a table whose files have four specs" 200 "$code"
expect_eq "overwrite leaves only the new rows" "$(csvq 'SELECT id FROM pe ORDER BY id' | tr '\n' ' ')" "8 9 "
ib_check "icebird reads after the multi-spec overwrite" pe "2,17"
expect_eq "time travel to the three-spec snapshot still reads" \
    "$(curl -s -G "$BASE/query" --data-urlencode 'sql=SELECT count(*) FROM pe' -d format=csv \
        -d "snapshot_id=$(curl -s "$BASE/tables/pe/snapshots" | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][2]["snapshot_id"])')" | tail -1)" "6"

# the CLI: ALTER TABLE through tarn sql
check "CLI ALTER TABLE RESET PARTITIONED BY (DuckDB's spelling)" "$TARN" sql "ALTER TABLE pe RESET PARTITIONED BY"
check "CLI ALTER TABLE SET PARTITIONED BY" "$TARN" sql "ALTER TABLE pe SET PARTITIONED BY (year(ts))"
expect_eq "CLI change visible to the server" "$(meta pe '[(f["transform"], f["field-id"]) for f in d["partition_spec"]["fields"]]')" '[["year", 1005]]'
check_fails "CLI ALTER with a bad transform: exit 2" 2 "unknown partition transform" \
    "$TARN" sql "ALTER TABLE pe SET PARTITIONED BY (nope(ts))"

#---- row-level changes on a table with two partition specs ----
code=$(ingest rl "partition_by=region" $'id,region,v\n1,eu,a\n2,eu,b\n3,eu,c\n4,us,d\n5,us,e\n6,us,f\n')
expect_status "create rl partitioned by region" 200 "$code"
post /tables/rl/partitioning '{"partition_by": "bucket(2, id)"}' >/dev/null
code=$(ingest rl "" $'id,region,v\n7,ap,g\n8,ap,h\n9,ap,i\n10,ap,j\n')
expect_status "append with bucket(2, id)" 200 "$code"
code=$(post /query '{"sql": "DELETE FROM rl WHERE id IN (1, 4, 7, 8)"}')
expect_eq "DELETE on a partitioned table" "$code,$(jv 'd["rows_affected"]')" "200,4"
expect_eq "delete files carry their data files' specs" \
    "$(csvq 'SELECT spec_id, count(*) FROM "rl$files" WHERE content = 1 GROUP BY 1 ORDER BY 1' | tr '\n' ' ')" "0,2 1,1 "
expect_eq "rows after the delete" "$(csvq 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM rl')" "2 3 5 6 9 10"
code=$(post /query '{"sql": "UPDATE rl SET v = upper(v), region = $$eu$$ WHERE id IN (2, 5, 9)"}')
expect_eq "UPDATE on a partitioned table" "$code,$(jv 'd["rows_affected"]')" "200,3"
code=$(post /query '{"sql": "MERGE INTO rl USING (SELECT 3 AS id, $$zz$$ AS v UNION ALL SELECT 11, $$k$$) AS s ON rl.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, $$ap$$, s.v)"}')
expect_status "MERGE on a partitioned table" 200 "$code"
code=$(ingest rl "mode=upsert&key=id" $'id,region,v\n6,us,F\n12,eu,l\n')
expect_status "upsert on a partitioned table" 200 "$code"
EXPECT_RL="2,eu,B 3,eu,zz 5,eu,E 6,us,F 9,eu,I 10,ap,j 11,ap,k 12,eu,l "
expect_eq "rows after update, merge and upsert" "$(csvq 'SELECT id, region, v FROM rl ORDER BY id' | tr '\n' ' ')" "$EXPECT_RL"
expect_eq "a filter on the partition column" "$(csvq "SELECT count(*) FROM rl WHERE region = 'eu'")" "5"
ib_check "icebird reads the partitioned deletes" rl "8,58"
code=$(maint rl '{"action": "compact"}')
expect_eq "compaction applies the partitioned deletes" "$code,$(csvq 'SELECT id, region, v FROM rl ORDER BY id' | tr '\n' ' ')" "200,$EXPECT_RL"
expect_eq "no delete file left" "$(csvq 'SELECT count(*) FROM "rl$files" WHERE content = 1')" "0"
ib_check "icebird reads after compacting them" rl "8,58"

#---- rewrite_manifests ----
code=$(ingest rm "partition_by=region" $'id,region\n1,eu\n')
for i in 2 3 4 5; do ingest rm "" "$(printf 'id,region\n%d,%s\n' "$i" "$([ $((i % 2)) = 0 ] && echo us || echo eu)")" >/dev/null; done
post /tables/rm/partitioning '{"partition_by": "bucket(4, id)"}' >/dev/null
for i in 6 7 8; do ingest rm "" "id,region
$i,ap" >/dev/null; done
code=$(maint rm '{"action": "rewrite_manifests"}')
expect_status "rewrite_manifests" 200 "$code"
expect_eq "eight manifests merged into one per spec" "$(jv '[d["manifests_before"], d["manifests_after"]]')" "[8, 2]"
expect_eq "replace snapshot" "$(meta rm 'd["current_snapshot"]["operation"]')" "replace"
expect_eq "same rows after rewrite_manifests" "$(csvq 'SELECT count(*), sum(id) FROM rm')" "8,36"
expect_eq "totals carried into the replace snapshot" "$(meta rm 'd["current_snapshot"]["summary"]["total-records"]')" "8"
ib_check "icebird reads after rewrite_manifests" rm "8,36"
code=$(maint rm '{"action": "rewrite_manifests"}')
expect_eq "nothing left to merge: no commit" "$(jv '[d["manifests_before"], d["manifests_after"]]'),$(meta rm 'd["current_snapshot"]["operation"]')" "[2, 2],replace"

#---- compaction of a partitioned table with two specs ----
code=$(maint rm '{"action": "compact"}')
expect_status "compact a two-spec table" 200 "$code"
expect_eq "small files of one partition merged, per partition of the default spec" \
    "$(jv '[d["files_rewritten"], d["rows"]]')" "[7, 7]"
expect_eq "same rows after compaction" "$(csvq 'SELECT count(*), sum(id) FROM rm')" "8,36"
ib_check "icebird reads after compaction" rm "8,36"

#---- remove_orphans ----
echo junk >"$TMP/junk"
check "put an orphan data file" wh_put "$TMP/junk" default/rm/data/old/orphan.parquet
check "put a stray metadata file" wh_put "$TMP/junk" default/rm/metadata/stray.avro
# orphans_in_rm: how many of the two orphans are in the warehouse
orphans_in_rm() { wh_ls default/rm -r | grep -cx 'data/old/orphan.parquet\|metadata/stray.avro'; }
expect_eq "both orphans are there" "$(orphans_in_rm)" "2"
NFILES=$(wh_ls default/rm -r | wc -l)
if [ "$TEST_STORAGE" = s3 ]; then
    # S3 objects cannot be back-dated: both orphans are fresh, so the default margin keeps both
    code=$(maint rm '{"action": "remove_orphans", "dry_run": true}')
    expect_status "remove_orphans dry run" 200 "$code"
    expect_eq "dry run keeps both fresh orphans for the margin" \
        "$(jv '[d["orphans_found"], d["files_too_new"], d["files_deleted"], d["paths"]]')" '[0, 2, 0, []]'
    code=$(maint rm '{"action": "remove_orphans"}')
    expect_eq "the default margin keeps fresh orphans (no dry run)" \
        "$code,$(jv '[d["orphans_found"], d["files_too_new"], d["files_deleted"]]'),$(orphans_in_rm)" "200,[0, 2, 0],2"
    code=$(maint rm '{"action": "remove_orphans", "dry_run": true, "older_than": "0s"}')
    expect_eq "dry run with older_than 0s finds both" \
        "$(jv '[d["orphans_found"], d["files_too_new"], d["files_deleted"], sorted(p.split("/")[-1] for p in d["paths"])]')" \
        '[2, 0, 0, ["orphan.parquet", "stray.avro"]]'
else
    # local only: an orphan older than the margin needs a back-dated file
    touch -d '3 days ago' "$WH/default/rm/data/old/orphan.parquet"
    code=$(maint rm '{"action": "remove_orphans", "dry_run": true}')
    expect_status "remove_orphans dry run" 200 "$code"
    expect_eq "dry run finds the old orphan, keeps the new one for the margin (local only)" \
        "$(jv '[d["orphans_found"], d["files_too_new"], d["files_deleted"], [p.split("/")[-1] for p in d["paths"]]]')" \
        '[1, 1, 0, ["orphan.parquet"]]'
fi
expect_eq "dry run deletes nothing" "$(wh_ls default/rm -r | wc -l)" "$NFILES"
code=$(maint rm '{"action": "remove_orphans", "older_than": "0s"}')
expect_eq "older_than 0s deletes both orphans" "$(jv '[d["orphans_found"], d["files_deleted"]]')" "[2, 2]"
expect_eq "the orphans are gone, nothing else" "$(orphans_in_rm),$(wh_ls default/rm -r | wc -l)" "0,$((NFILES - 2))"
expect_eq "every referenced file stays: all snapshots read" \
    "$(for s in $(curl -s "$BASE/tables/rm/snapshots" | python3 -c 'import json,sys; print(" ".join(str(s["snapshot_id"]) for s in json.load(sys.stdin)["snapshots"]))'); do
        curl -s -G "$BASE/query" --data-urlencode 'sql=SELECT count(*) FROM rm' -d format=csv -d "snapshot_id=$s" | tail -1; done | tr '\n' ' ')" \
    "1 2 3 4 5 6 7 8 8 8 "
ib_check "icebird reads after remove_orphans" rm "8,36"
code=$(maint rm '{"action": "remove_orphans", "older_than": "0s"}')
expect_eq "a second run finds nothing" "$(jv 'd["orphans_found"]')" "0"
code=$(maint rm '{"action": "remove_orphans", "older_than": "soon"}')
expect_error "older_than not a duration: 400" 400 "must be a duration" "$code"
code=$(maint rm '{"action": "remove_orphans", "dry_run": "yes"}')
expect_error "dry_run not a boolean: 400" 400 "dry_run" "$code"
code=$(maint nope '{"action": "remove_orphans"}')
expect_status "remove_orphans on an unknown table: 404" 404 "$code"
code=$(maint rm '{"action": "vacuum"}')
expect_error "unknown action: 400" 400 "rewrite_manifests" "$code"

DI=$FIXTURES/duckdb-iceberg/data/persistent
if [ "$TEST_STORAGE" = s3 ]; then
    # on S3 the fixture is copied to a prefix beside the warehouse's, in the same bucket
    EXT=$(wh_new ext)
    put_ext() { local WH=$EXT; wh_put_tree "$DI/partition_integer" partition_integer; }
    check "copy a fixture table beside the warehouse" put_ext
    check "register a table outside the warehouse" "$TARN" register ext \
        "$EXT/partition_integer/metadata/v2.metadata.json" --map "data/persistent/=$EXT/"
else
    check "register a table outside the warehouse" "$TARN" register ext \
        "$DI/partition_integer/metadata/v2.metadata.json" --map "data/persistent/=file://$DI/"
fi
check_fails "remove-orphans refuses a table outside the warehouse" 2 "outside the warehouse" \
    "$TARN" maintain ext remove-orphans --older-than 0s --dry-run

# CLI
# in_rm_data NAME: 1 if the file NAME is in rm's data folder, else 0
in_rm_data() { wh_ls default/rm/data | grep -cxF "$1"; }
check "put an orphan for the CLI" wh_put "$TMP/junk" default/rm/data/cli-orphan.parquet
check_fails "CLI --older-than must be a duration" 2 "--older-than takes a duration" \
    "$TARN" maintain rm remove-orphans --older-than 1y
"$TARN" maintain rm remove-orphans --older-than 0s --dry-run >"$TMP/cli.out" 2>&1
expect_eq "CLI dry run lists the orphan" "$(grep -c 'would delete .*cli-orphan.parquet' "$TMP/cli.out"),$(in_rm_data cli-orphan.parquet)" "1,1"
"$TARN" maintain rm remove-orphans --older-than 0s >"$TMP/cli.out" 2>&1
expect_eq "CLI deletes it" "$(in_rm_data cli-orphan.parquet)" "0"
"$TARN" maintain rm rewrite-manifests >"$TMP/cli.out" 2>&1
expect_eq "CLI rewrite-manifests" "$(grep -c 'manifests rewritten as' "$TMP/cli.out")" "1"
check_fails "CLI unknown action" 2 "maintain takes compact, expire, rewrite-manifests" \
    "$TARN" maintain rm shrink
check "put an orphan for the CLI --remote" wh_put "$TMP/junk" default/rm/data/remote-orphan.parquet
"$TARN" --remote "$BASE" maintain rm remove-orphans --older-than 0s --dry-run >"$TMP/cli.out" 2>&1
expect_eq "CLI --remote maintain goes through POST /tables/{t}/maintenance" \
    "$(grep -c '"dry_run":true.*"orphans_found":1' "$TMP/cli.out"),$(in_rm_data remote-orphan.parquet)" "1,1"
"$TARN" --remote "$BASE" maintain rm remove-orphans --older-than 0s >/dev/null 2>&1
expect_eq "CLI --remote remove-orphans deletes" "$(in_rm_data remote-orphan.parquet)" "0"
check_fails "CLI --remote: a bad duration is the server's 400" 2 "must be a duration" \
    "$TARN" --remote "$BASE" maintain rm remove-orphans --older-than soon

#---- metadata log: previous-versions-max and delete-after-commit ----
code=$(ingest ml "" $'id\n1\n')
for i in 2 3 4 5; do ingest ml "" "id
$i" >/dev/null; done
expect_eq "five metadata files before (one per ingest: the first creates the table with its rows)" "$(wh_ls default/ml/metadata | grep -c '\.metadata\.json$')" "5"
code=$(API_PREFIX=/iceberg post /v1/namespaces/default/tables/ml \
    '{"updates":[{"action":"set-properties","updates":{"write.metadata.previous-versions-max":"2","write.metadata.delete-after-commit.enabled":"true"}}]}')
expect_status "set the metadata-log properties" 200 "$code"
expect_eq "the commit trimmed the log to 2 and deleted the dropped files" \
    "$(meta ml 'len(d["metadata_location"]) > 0'),$(wh_ls default/ml/metadata | grep -c '\.metadata\.json$')" "true,3"
code=$(ingest ml "" $'id\n6\n')
expect_eq "every commit keeps it at 2 previous files" "$(wh_ls default/ml/metadata | grep -c '\.metadata\.json$')" "3"
# the current metadata file's log, each entry looked up in a listing of the metadata folder
ML_META=$(meta ml 'd["metadata_location"]')
wh_get "${ML_META#"$(wh_uri '')"}" "$TMP/ml.json"
wh_ls default/ml/metadata | sed "s|^|$(wh_uri default/ml/metadata)/|" >"$TMP/ml.ls"
python3 - "$TMP/ml.json" "$TMP/ml.ls" >"$TMP/log" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
there = set(open(sys.argv[2]).read().split())
print(len(m["metadata-log"]), all(e["metadata-file"] in there for e in m["metadata-log"]))
EOF
expect_eq "the log names only files that exist" "$(cat "$TMP/log")" "2 True"
expect_eq "rows intact" "$(csvq 'SELECT count(*), sum(id) FROM ml')" "6,21"
code=$(maint ml '{"action": "rewrite_metadata"}')
expect_eq "rewrite_metadata" "$code,$(jv 'd["log_entries"]')" "200,2"
ib_check "icebird reads after the metadata trimming" ml "6,21"

#---- compaction racing a writer: a row deleted meanwhile must stay deleted ----
for i in $(seq 0 7); do
    ingest race "" "$(printf 'id\n'; seq $((i * 25 + 1)) $((i * 25 + 25)))" >/dev/null
done
(for k in $(seq 1 12); do
    echo "$k $(post /query "{\"sql\": \"DELETE FROM race WHERE id = $k\"}")"
done >"$TMP/deletes") &
WRITER=$!
COMPACT_CODES=""
for k in 1 2 3 4 5 6; do
    COMPACT_CODES="$COMPACT_CODES$(maint race '{"action": "compact"}') "
done
wait $WRITER
COMPACT_CODES="$COMPACT_CODES$(maint race '{"action": "compact"}')"
expect_eq "compactions either commit or give up with 409" \
    "$(echo "$COMPACT_CODES" | tr ' ' '\n' | grep -vc '^200$\|^409$\|^$')" "0"
expect_eq "deletes either commit or give up with 409" "$(awk '$2 != 200 && $2 != 409' "$TMP/deletes" | wc -l)" "0"
if grep -q ' 200$' "$TMP/deletes" && echo "$COMPACT_CODES" | grep -q 200; then
    ok "both writers committed some of the time"
else
    bad "both writers committed some of the time (deletes: $(tr '\n' ' ' <"$TMP/deletes"), compactions: $COMPACT_CODES)"
fi
DELETED=$(awk '$2 == 200 {print $1}' "$TMP/deletes" | sort -n | tr '\n' ' ')
expect_eq "exactly the committed deletes are gone; no deleted row comes back" \
    "$(csvq 'SELECT id FROM race WHERE id <= 12 ORDER BY id' | tr '\n' ' '),$(csvq 'SELECT count(*) FROM race')" \
    "$(for k in $(seq 1 12); do [[ " $DELETED" == *" $k "* ]] || printf '%s ' "$k"; done),$((200 - $(echo $DELETED | wc -w)))"
ib_check "icebird agrees after the race" race "$((200 - $(echo $DELETED | wc -w))),$((20100 - $(echo $DELETED | tr ' ' '\n' | awk '{s += $1} END {print s + 0}')))"

#---- rewrite_manifests racing appends: a lost race is retried, no append is lost ----
ingest mr "" $'id\n1\n' >/dev/null
(for k in $(seq 2 10); do ingest mr "" "id
$k" >/dev/null; done) &
WRITER=$!
RM_CODES=""
for k in 1 2 3 4 5; do RM_CODES="$RM_CODES$(maint mr '{"action": "rewrite_manifests"}') "; sleep 0.1; done
wait $WRITER
expect_eq "rewrite_manifests beside appends always commits (or finds nothing)" \
    "$(echo "$RM_CODES" | tr ' ' '\n' | grep -v '^$' | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')" "200 "
expect_eq "every append is there" "$(csvq 'SELECT count(*), sum(id) FROM mr')" "10,55"
expect_eq "and some rewrites committed between them" \
    "$(csvq "SELECT count(*) >= 1 FROM \"mr\$snapshots\" WHERE operation = 'replace'")" "true"
ib_check "icebird agrees after rewrite_manifests raced appends" mr "10,55"

#---- scheduled maintenance: tarn serve --maintain-every ----
expect_eq "without a schedule GET /maintenance/runs says so" \
    "$(curl -s "$BASE/maintenance/runs")" '{"scheduled":false,"every_ms":null,"passes":0,"runs":[]}'
check_fails "--maintain-every must be a duration of at least 1s" 2 "--maintain-every must be" \
    "$TARN" serve --warehouse "$TMP/wh2" --maintain-every 0s
WH2=$(wh_new wh2)
start_server "$WH2" --maintain-every 2s || { bad "server with --maintain-every starts"; finish; exit 1; }
for i in 1 2 3 4; do ingest sched "" "id
$i" >/dev/null; done
for i in 1 2 3; do ingest plain "" "id
$i" >/dev/null; done
put_sched() { local WH=$WH2; wh_put "$TMP/junk" default/sched/data/orphan.parquet; }
check "put an orphan into the second warehouse" put_sched
expect_eq "the orphan is there" "$(WH=$WH2 wh_ls default/sched/data | grep -cx orphan.parquet)" "1"
code=$(API_PREFIX=/iceberg post /v1/namespaces/default/tables/sched \
    '{"updates":[{"action":"set-properties","updates":{"tarn.maintain.compact":"true","tarn.maintain.rewrite-manifests":"true","tarn.maintain.expire-snapshots":"true","tarn.maintain.expire-older-than":"0s","tarn.maintain.remove-orphans":"true","tarn.maintain.orphans-older-than":"0s"}}]}')
expect_status "ask for scheduled maintenance by table properties" 200 "$code"
metric() { curl -s "$BASE/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
for i in $(seq 100); do
    [ "$(metric 'tarn_maintenance_runs_total{action="remove_orphans"}')" -ge 2 ] 2>/dev/null && break
    sleep 0.2
done
expect_eq "every action ran, none failed (/metrics)" \
    "$(for a in compact rewrite_manifests expire_snapshots remove_orphans; do
        [ "$(metric "tarn_maintenance_runs_total{action=\"$a\"}")" -ge 1 ] && echo -n "$a:$(metric "tarn_maintenance_failures_total{action=\"$a\"}") "; done)" \
    "compact:0 rewrite_manifests:0 expire_snapshots:0 remove_orphans:0 "
expect_eq "files removed are counted" "$([ "$(metric tarn_maintenance_files_removed_total)" -ge 1 ] && echo yes)" "yes"
expect_eq "the orphan is gone, the rows stay" "$(WH=$WH2 wh_ls default/sched/data | grep -cx orphan.parquet),$(csvq 'SELECT count(*), sum(id) FROM sched')" "0,4,10"
expect_eq "compacted into one file, one snapshot left" \
    "$(csvq 'SELECT count(*) FROM "sched$files"'),$(csvq 'SELECT count(*) FROM "sched$snapshots"')" "1,1"
expect_eq "a table without the properties is left alone" "$(csvq 'SELECT count(*) FROM "plain$snapshots"')" "3"
expect_eq "GET /maintenance/runs lists the runs, newest first" \
    "$(curl -s "$BASE/maintenance/runs" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["runs"]
print(d["scheduled"], d["every_ms"], all(x["ok"] and x["table"] == "sched" for x in r),
      {"compact", "rewrite_manifests", "expire_snapshots", "remove_orphans"} <= {x["action"] for x in r},
      r == sorted(r, key=lambda x: -x["started_ms"]))')" "True 2000 True True True"
expect_eq "each run is logged" "$(grep -c 'maintain table=default.sched action=compact ok' "$TMP/server.log" | awk '{print ($1 >= 1)}')" "1"
ib_check "icebird reads after scheduled maintenance" sched "4,10"

finish
