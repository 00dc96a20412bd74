#!/usr/bin/env bash
# t113-hudi-merge.sh - how tarn merges the log records of a Merge-on-Read Hudi table, as Hudi's
# snapshot query does for the table's payload class / merge mode: by instant order
# (OverwriteWithLatestAvroPayload, COMMIT_TIME_ORDERING) or by the ordering (precombine) field
# (DefaultHoodieRecordPayload, EventTimeAvroPayload, EVENT_TIME_ORDERING: a later record with a
# smaller ordering value does not replace the stored one; a delete carrying a smaller ordering
# value does not delete). The case is built on a copy of mor_parquet_v6_nonpartitioned: one more
# deltacommit written the way Hudi writes it (hudi_mor_write.py). Custom payload classes and
# merge modes are refused, naming them. The Iceberg metadata derived for a CoW and a MoR table
# passes ../shared/interop/check.mjs. Local warehouse only.
. "$(dirname "$0")/lib.sh"

HF=$SHARED/hudi-fixtures
if [ "$TEST_STORAGE" = s3 ]; then
    skip "hudi merge" "the tables are registered from local folders (t107 covers S3)"
    finish; exit
fi
FG=d206069c-22c8-4532-b9ea-3cf4282342c4-0
BASE_INSTANT=20250117083125837
# the new deltacommit, on the file group holding Alice (1, longField 1234567890, her latest
# version in a log block), Bob (2, 9876543210) and Carol (3, 1928374650): Bob rewritten with a
# smaller ordering value, Carol with an equal one, Alice deleted with a smaller one
cat >"$TMP/spec.json" <<'JSON'
{"upserts": [{"key": "2", "id": 2, "name": "Bob-older", "longField": 5},
             {"key": "3", "id": 3, "name": "Carol-tie", "longField": 1928374650}],
 "deletes": [{"key": "1", "ordering": {"long": 1}}]}
JSON

# table NAME PROPERTY-EDIT...: a copy of the fixture with the deltacommit, hoodie.properties
# edited by sed expressions
table() {
    local n=$1; shift
    cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/$n"
    chmod -R u+w "$TMP/$n"
    for e in "$@"; do sed -i "$e" "$TMP/$n/.hoodie/hoodie.properties"; done
    python3 "$(dirname "$0")/hudi_mor_write.py" "$TMP/$n" 20250118000000000 "$FG" "$BASE_INSTANT" 2 \
        "$TMP/spec.json"
}
ROWS='SELECT string_agg(id || '"'"':'"'"' || name || '"'"':'"'"' || "longField", '"'"' '"'"' ORDER BY id) FROM'
PAYLOAD=hoodie.compaction.payload.class=org.apache.hudi.common.model

table commit_time
check "register the table merged in instant order (OverwriteWithLatestAvroPayload)" \
    "$TARN" register default.commit_time "$TMP/commit_time"
expect_eq "instant order: the later records replace, the delete deletes" \
    "$(q "$ROWS commit_time")" \
    "2:Bob-older:5 3:Carol-tie:1928374650 4:Diana:987654321"

table event_time "s/$PAYLOAD.OverwriteWithLatestAvroPayload/$PAYLOAD.DefaultHoodieRecordPayload/"
check "register the table merged by ordering field (DefaultHoodieRecordPayload)" \
    "$TARN" register default.event_time "$TMP/event_time"
expect_eq "ordering field: a smaller value neither replaces nor deletes; a tie goes to the later" \
    "$(q "$ROWS event_time")" \
    "1:Alice:1234567890 2:Bob:9876543210 3:Carol-tie:1928374650 4:Diana:987654321"
expect_eq "Alice is her latest stored version (the update of the second instant)" \
    "$(q 'SELECT "isActive" FROM event_time WHERE id = 1')" "false"
expect_eq "the previous instant reads as before" \
    "$(q "$ROWS event_time AT (VERSION => '20250117083136333')")" \
    "1:Alice:1234567890 2:Bob:9876543210 3:Carol:1928374650 4:Diana:987654321"
expect_eq "the read-optimized view is the base files" \
    "$(q "SELECT count(*) FROM event_time AT (VERSION => 'read_optimized')")" "4"

# Hudi 1.x settings: the merge mode and the ordering fields
table mode_event "/precombine.field/d" "\$a hoodie.record.merge.mode=EVENT_TIME_ORDERING" \
    "\$a hoodie.table.ordering.fields=longField"
check "register a table with merge mode EVENT_TIME_ORDERING and ordering fields" \
    "$TARN" register default.mode_event "$TMP/mode_event"
expect_eq "EVENT_TIME_ORDERING merges by hoodie.table.ordering.fields" \
    "$(q "$ROWS mode_event")" \
    "1:Alice:1234567890 2:Bob:9876543210 3:Carol-tie:1928374650 4:Diana:987654321"
table mode_commit "s/$PAYLOAD.OverwriteWithLatestAvroPayload/$PAYLOAD.DefaultHoodieRecordPayload/" \
    "\$a hoodie.record.merge.mode=COMMIT_TIME_ORDERING"
check "register a table with merge mode COMMIT_TIME_ORDERING" \
    "$TARN" register default.mode_commit "$TMP/mode_commit"
expect_eq "COMMIT_TIME_ORDERING wins over the payload class" \
    "$(q "$ROWS mode_commit")" \
    "2:Bob-older:5 3:Carol-tie:1928374650 4:Diana:987654321"

#---- the derived Iceberg metadata, checked by an independent reader (../shared/interop) ----
cp -r "$HF/cow_v6_nonpartitioned" "$TMP/cow"
check "register a CoW table" "$TARN" register default.cow "$TMP/cow"
for t in cow event_time; do
    if ! command -v node >/dev/null || [ ! -f "$INTEROP/check.mjs" ]; then
        skip "check.mjs on $t" "build/interop needed"; continue
    fi
    loc=$(metadata_location "$t")
    node "$INTEROP/check.mjs" "${loc#file://}" --all-snapshots >"$TMP/check.json" 2>&1
    # Hudi's own files carry no field ids (they are read by the table's name mapping), which the
    # checker reports; the files tarn merged must carry them, and nothing else may be reported
    expect_eq "check.mjs: the Iceberg metadata of $t conforms" \
        "$(jv '[e for e in d["errors"] if "has no field_id" not in e or "/hudi-" in e]' "$TMP/check.json")" "[]"
    expect_eq "check.mjs read every snapshot of $t" \
        "$(jv 'len(d["errors"]) > 0 and all("has no field_id" in e for e in d["errors"])' "$TMP/check.json")" "true"
done

# what tarn cannot honour is refused, naming it
table custom "s/$PAYLOAD.OverwriteWithLatestAvroPayload/hoodie.compaction.payload.class=com.example.PartialUpdatePayload/"
check_fails "a custom payload class is refused, named" 2 "com.example.PartialUpdatePayload" \
    "$TARN" register default.custom "$TMP/custom"
check_fails "the refused table is not registered" 3 "does not exist" "$TARN" describe default.custom
table custom_mode "\$a hoodie.record.merge.mode=CUSTOM"
check_fails "merge mode CUSTOM is refused, named" 2 "merge mode CUSTOM" \
    "$TARN" register default.custom_mode "$TMP/custom_mode"
table no_field "s/$PAYLOAD.OverwriteWithLatestAvroPayload/$PAYLOAD.DefaultHoodieRecordPayload/" \
    "/precombine.field/d"
check_fails "ordering by field without a field is refused" 2 "names none" \
    "$TARN" register default.no_field "$TMP/no_field"
table bad_field "s/$PAYLOAD.OverwriteWithLatestAvroPayload/$PAYLOAD.DefaultHoodieRecordPayload/" \
    "s/precombine.field=longField/precombine.field=nosuch/"
check_fails "an ordering field that is not a column is refused" 2 "'nosuch'" \
    "$TARN" register default.bad_field "$TMP/bad_field"

finish
