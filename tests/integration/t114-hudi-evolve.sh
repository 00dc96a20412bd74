#!/usr/bin/env bash
# t114-hudi-evolve.sh - a column a Hudi commit adds after the table was registered appears in
# tarn's table: its schema evolves in the same commit that translates the instant, rows written
# before read NULL, and a running server sees the column on the next query. The case: a copy of
# mor_parquet_v6_nonpartitioned registered as it is, then one more deltacommit (written the way
# Hudi writes it by hudi_mor_write.py) whose schema adds the column "note"; then, on another
# copy, a deltacommit whose schema adds the field "note" inside the struct column structField.
# Local warehouse only.
. "$(dirname "$0")/lib.sh"

HF=$SHARED/hudi-fixtures
if [ "$TEST_STORAGE" = s3 ]; then
    skip "hudi schema evolution" "the tables are registered from local folders (t107 covers S3)"
    finish; exit
fi
FG=d206069c-22c8-4532-b9ea-3cf4282342c4-0
cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/later"
cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/ev"
chmod -R u+w "$TMP/later" "$TMP/ev"
cat >"$TMP/spec.json" <<'JSON'
{"add_columns": ["note"],
 "upserts": [{"key": "2", "id": 2, "name": "Bob", "longField": 9876543210, "note": "moved"}]}
JSON
python3 "$(dirname "$0")/hudi_mor_write.py" "$TMP/later" 20250118000000000 "$FG" 20250117083125837 2 \
    "$TMP/spec.json"

check "register the table at its early state" "$TARN" register default.ev "$TMP/ev"
start_server "$WH" || { bad "tarn serve did not start"; finish; exit; }
expect_eq "it has no column note yet" \
    "$(csvq "SELECT count(*) FROM (DESCRIBE SELECT * FROM ev) WHERE column_name = 'note'")" "0"
expect_eq "its rows" "$(csvq 'SELECT count(*) FROM ev')" "4"
NESTED='SELECT string_agg(id || len("arrayField") || "structField".field1, '"' '"' ORDER BY id) FROM ev WHERE id <> 2'
BEFORE=$(csvq "$NESTED")
expect_eq "its nested columns" "$BEFORE" "13Alice 33Carol 42Diana"

# the later instant completes: its log file, then its instant files
cp "$TMP/later/.${FG}_20250117083125837.log.2_0-1-1" "$TMP/ev/"
cp "$TMP/later/.hoodie/20250118000000000."* "$TMP/ev/.hoodie/"
expect_eq "the running server sees the added column on the next query" \
    "$(csvq "SELECT id || ':' || coalesce(note, 'NULL') FROM ev ORDER BY id" | tr '\n' ' ')" \
    "1:NULL 2:moved 3:NULL 4:NULL "
expect_eq "the rows written before read NULL in it" \
    "$(csvq 'SELECT count(*) FROM ev WHERE note IS NULL')" "3"
check "describe shows the column with a new field id" \
    bash -c "'$TARN' describe default.ev | grep -Eq '^3[4-9] +note +string'"
expect_eq "the nested columns of the older files still read through the name mapping" \
    "$(csvq "$NESTED")" "$BEFORE"
expect_eq "the instant before the column reads as it was" \
    "$(csvq "SELECT count(*) FROM ev AT (VERSION => '20250117083136333')")" "4"
expect_eq "the column reads through hudi_changes too" \
    "$(csvq "SELECT id || ':' || note FROM hudi_changes('ev', '20250117083136333')")" "2:moved"
N=$(csvq 'SELECT count(*) FROM "ev$snapshots"')
expect_eq "later loads add no snapshot and no schema" \
    "$(csvq 'SELECT count(*) FROM ev' >/dev/null; csvq 'SELECT count(*) FROM "ev$snapshots"') $(jv 'len(d["schemas"])' "$(ls -t "$WH"/default/ev/metadata/*.metadata.json | head -1)")" \
    "$N 2"

# a field added inside a struct column (structField.note): the same, one level down
cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/later2"
cp -r "$HF/mor_parquet_v6_nonpartitioned" "$TMP/nest"
chmod -R u+w "$TMP/later2" "$TMP/nest"
cat >"$TMP/spec2.json" <<'JSON'
{"add_struct_fields": ["note"],
 "upserts": [{"key": "2", "id": 2, "name": "Bob", "longField": 9876543210,
              "structField": {"field1": "b1", "field2": 7, "note": "deep"}}]}
JSON
python3 "$(dirname "$0")/hudi_mor_write.py" "$TMP/later2" 20250118000000000 "$FG" 20250117083125837 2 \
    "$TMP/spec2.json"
check "register another copy at its early state" "$TARN" register default.nest "$TMP/nest"
expect_eq "its struct has no field note yet" \
    "$(csvq "SELECT count(*) FROM (DESCRIBE SELECT \"structField\" FROM nest) WHERE column_type LIKE '%note%'")" "0"
cp "$TMP/later2/.${FG}_20250117083125837.log.2_0-1-1" "$TMP/nest/"
cp "$TMP/later2/.hoodie/20250118000000000."* "$TMP/nest/.hoodie/"
expect_eq "the field added inside the struct reads, NULL in the rows written before" \
    "$(csvq "SELECT string_agg(id || ':' || coalesce(\"structField\".note, 'NULL') || ':' || \"structField\".field1, ' ' ORDER BY id) FROM nest")" \
    "1:NULL:Alice 2:deep:b1 3:NULL:Carol 4:NULL:Diana"
check "the table mapping reads the new field inside the struct (its own field id)" \
    bash -c "'$TARN' describe default.nest | grep -q '\"field-id\":3[4-9],\"names\":\[\"note\"\]}\]}\]'"
expect_eq "the older files' nested values still read through the name mapping" \
    "$(csvq "SELECT \"structField\".child_struct.child_field1 FROM nest WHERE id = 3")" "456.789"
expect_eq "the instant before the field reads as it was" \
    "$(csvq "SELECT count(*) FROM (DESCRIBE SELECT \"structField\" FROM nest AT (VERSION => '20250117083136333')) WHERE column_type LIKE '%note%'")" "0"

finish
