#!/usr/bin/env bash
# t107-hudi-s3.sh - Hudi tables whose folder is in the warehouse's storage (on the S3 pass: a
# bucket) register and read: a Copy-on-Write and a Merge-on-Read table (log files merged, the
# merged files written to S3; Avro log and delete blocks merged by ordering field), time travel by instant, hudi_changes, $timeline, a commit made
# after registration, time travel to an instant a clean deleted the files of, and drop --purge
# leaving the Hudi files alone. Runs on local storage too.
. "$(dirname "$0")/lib.sh"

HF=$SHARED/hudi-fixtures
# the Hudi tables, copied where the warehouse keeps its files, beside tarn's namespaces
cp -r "$HF/cow_v6_nonpartitioned" "$TMP/cow"
chmod -R u+w "$TMP/cow"
mv "$TMP/cow/.hoodie/20240418173551906.commit" "$TMP/second.commit"
check "copy a CoW table (its first commit) into the storage" wh_put_tree "$TMP/cow" lake/cow
check "copy a MoR table into the storage" wh_put_tree "$HF/mor_parquet_v6_nonpartitioned" lake/mor
LAKE=$WH/lake

check "register the CoW table" "$TARN" register default.cow "$LAKE/cow"
check "register the MoR table" "$TARN" register default.mor "$LAKE/mor"
ROWS='string_agg(id || '"'"':'"'"' || name || '"'"':'"'"' || "isActive", '"'"' '"'"' ORDER BY id)'
expect_eq "the CoW table reads its first commit" "$(q "SELECT $ROWS FROM cow")" \
    "1:Alice:true 2:Bob:false 3:Carol:true"
expect_eq "the MoR table reads base files merged with its log file" "$(q "SELECT $ROWS FROM mor")" \
    "$(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["latest"]["rows"]
print(" ".join("%s:%s:%s" % (r["id"], r["name"], str(r["isActive"]).lower()) for r in sorted(e, key=lambda r: r["id"])))' \
        "$HF/_expected/mor_parquet_v6_nonpartitioned.json")"
expect_eq "the merged file is in the storage, in tarn's folder of the table" \
    "$(wh_ls default/mor/data | grep -c '^hudi-.*\.parquet$')" "1"
expect_eq "the read-optimized view" \
    "$(q "SELECT count(*) FROM mor AT (VERSION => 'read_optimized')")" "4"
expect_eq "time travel to the MoR table's first instant" \
    "$(q "SELECT count(*) FROM mor AT (VERSION => '20250117083125837')")" "3"
expect_eq "\$timeline lists the MoR instants" \
    "$(q 'SELECT count(*) FROM "mor$timeline" WHERE state = '"'"'COMPLETED'"'"'')" "2"

# the CoW table's second commit completes in the bucket
check "the second commit lands in the storage" wh_put "$TMP/second.commit" lake/cow/.hoodie/20240418173551906.commit
expect_eq "the next read follows it" "$(q "SELECT $ROWS FROM cow")" \
    "1:Alice:false 2:Bob:false 3:Carol:true 4:Diana:true"
expect_eq "time travel to the first commit" \
    "$(q "SELECT $ROWS FROM cow AT (VERSION => '20240418173550988')")" \
    "1:Alice:true 2:Bob:false 3:Carol:true"
expect_eq "hudi_changes of the second commit" \
    "$(q "SELECT $ROWS FROM hudi_changes('cow', '20240418173550988')")" "1:Alice:false 4:Diana:true"

# a MoR table with Avro log blocks merged by ordering field (built as t113 builds it)
cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/ev"
chmod -R u+w "$TMP/ev"
sed -i 's/OverwriteWithLatestAvroPayload/DefaultHoodieRecordPayload/' "$TMP/ev/.hoodie/hoodie.properties"
echo '{"upserts": [{"key": "2", "id": 2, "name": "Bob-older", "longField": 5}],
       "deletes": [{"key": "3", "ordering": null}]}' >"$TMP/spec.json"
python3 "$(dirname "$0")/hudi_mor_write.py" "$TMP/ev" 20250118000000000 \
    d206069c-22c8-4532-b9ea-3cf4282342c4-0 20250117083125837 2 "$TMP/spec.json"
check "copy a MoR table with Avro and delete blocks into the storage" wh_put_tree "$TMP/ev" lake/ev
check "register it" "$TARN" register default.ev "$LAKE/ev"
expect_eq "its log blocks merge by ordering field; the delete without one deletes" \
    "$(q 'SELECT string_agg(id || '"'"':'"'"' || name, '"'"' '"'"' ORDER BY id) FROM ev')" \
    "1:Alice 2:Bob 4:Diana"

# a clean deleted the file slice of the first commit: time travel there is refused naming the
# instant and the clean (not a missing-file error); the later instant still reads
cp -r "$HF/cow_v6_nonpartitioned" "$TMP/cl"
chmod -R u+w "$TMP/cl"
rm "$TMP/cl/a079bdb3-731c-4894-b855-abfcd6921007-0_0-182-253_20240418173550988.parquet"
for s in .clean.requested .clean.inflight .clean; do : >"$TMP/cl/.hoodie/20240418173600000$s"; done
check "copy a cleaned CoW table into the storage" wh_put_tree "$TMP/cl" lake/cl
check "register it" "$TARN" register default.cl "$LAKE/cl"
expect_eq "its latest instant reads" "$(q "SELECT $ROWS FROM cl")" \
    "1:Alice:false 2:Bob:false 3:Carol:true 4:Diana:true"
check_fails "time travel to the cleaned instant names the instant and the clean" 3 \
    "instant 20240418173550988 can no longer be read: its file a079bdb3-731c-4894-b855-abfcd6921007-0_0-182-253_20240418173550988.parquet was deleted by a later clean (clean 20240418173600000)" \
    "$TARN" sql "SELECT id FROM cl AT (VERSION => '20240418173550988')"
check_fails "so does an aggregate answered from metadata" 3 "by a later clean" \
    "$TARN" sql "SELECT count(*) FROM cl AT (TIMESTAMP => '2024-04-18 17:35:51+00')"
check_fails "and hudi_changes ending there" 3 "by a later clean" \
    "$TARN" sql "SELECT * FROM hudi_changes('cl', '0', '20240418173550988')"
expect_eq "time travel to an instant whose files stayed reads" \
    "$(q "SELECT count(*) FROM cl AT (VERSION => '20240418173551906')")" "4"

check "drop --purge the MoR table" "$TARN" drop default.mor --purge
hudi_files_stay() {
    [ -z "$(wh_ls default/mor -r)" ] && wh_get lake/mor/.hoodie/hoodie.properties "$TMP/props" &&
        grep -q MERGE_ON_READ "$TMP/props"
}
check "tarn's files of it are gone, its Hudi files stay" hudi_files_stay
finish
