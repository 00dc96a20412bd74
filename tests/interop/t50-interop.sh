#!/usr/bin/env bash
# t50-interop: what tarn writes is real Iceberg, checked with readers tarn did not write:
# icebird reads the table with identical rows, avsc shows the field ids in manifests and manifest
# lists, hyparquet shows field ids and the iceberg.schema key in data files.
. "$(dirname "$0")/../integration/lib.sh"
node_ok() { [ -d "$INTEROP/node_modules" ]; }
if ! node_ok; then
    bad "interop checkers are not installed in $INTEROP"; finish; exit 1
fi

cat >"$TMP/a.csv" <<'CSV'
id,name,price,day,ts
1,apple,1.50,2024-01-01,2024-01-01 10:00:00
2,banana,0.25,2024-01-02,2024-01-02 11:30:00
3,cherry,2.75,2024-01-03,
CSV
cat >"$TMP/b.csv" <<'CSV'
id,name,price,day,ts
4,date,9.99,2024-02-01,2024-02-01 00:00:00
CSV
check "ingest" "$TARN" ingest fruit "$TMP/a.csv"
check "append" "$TARN" ingest fruit "$TMP/b.csv"

icebird fruit --rows-only >"$TMP/icebird.jsonl" 2>"$TMP/icebird.err"
expect_eq "icebird reads every row" "$(grep -c '"id"' "$TMP/icebird.jsonl")" "4"
expect_eq "icebird sees the same ids" "$(grep -o '"id":[0-9]*' "$TMP/icebird.jsonl" | sort | tr '\n' ' ')" '"id":1 "id":2 "id":3 "id":4 '
expect_eq "icebird sees the same names" "$(grep -o '"name":"[a-z]*"' "$TMP/icebird.jsonl" | sort | tr '\n' ' ')" \
    '"name":"apple" "name":"banana" "name":"cherry" "name":"date" '
first=$("$TARN" history fruit | awk 'NR==2 {print $1}')
icebird fruit --rows-only --snapshot "$first" >"$TMP/old.jsonl" 2>&1
expect_eq "icebird time travel to the first snapshot" "$(grep -c '"id"' "$TMP/old.jsonl")" "3"

# fetch DIR PATTERN: the warehouse's first file in DIR whose name matches PATTERN (grep -E), copied
# to $TMP (from the S3 server in the S3 pass); prints the local copy's path, nothing if none.
fetch() {
    local name
    name=$(wh_ls "$1" | grep -E -e "$2" | head -1)
    [ -n "$name" ] && wh_get "$1/$name" "$TMP/$name" && echo "$TMP/$name"
}
list=$(fetch default/fruit/metadata '^snap-.*\.avro$')
node "$INTEROP/avro-dump.mjs" "$list" --schema-only >"$TMP/list.json" 2>&1
expect_eq "manifest list carries field ids 500-519" \
    "$(grep -oE '"(field|element)-id": *5[0-9][0-9]' "$TMP/list.json" | grep -o '[0-9]*$' | sort -u | tr '\n' ' ')" \
    "500 501 502 503 504 505 506 507 508 509 510 511 512 513 514 515 516 517 518 519 "
manifest=$(fetch default/fruit/metadata '-m0\.avro$')
node "$INTEROP/avro-dump.mjs" "$manifest" >"$TMP/manifest.json" 2>&1
for id in 0 1 2 3 4 100 101 102 103 104 108 109 110 125 128 134; do
    grep -q "\"field-id\": *$id[,}]" "$TMP/manifest.json" || { bad "manifest lacks field-id $id"; continue; }
done
ok "manifest schema carries the data_file field ids"
for key in schema partition-spec partition-spec-id format-version content; do
    grep -q "\"$key\"" "$TMP/manifest.json" || bad "manifest metadata lacks $key"
done
ok "manifest metadata has schema, partition-spec, partition-spec-id, format-version, content"
grep -q 'deflate' "$TMP/manifest.json" && ok "manifest codec is deflate" || bad "manifest codec is deflate"

data=$(fetch default/fruit/data '\.parquet$')
node "$INTEROP/parquet-dump.mjs" "$data" --no-rows >"$TMP/parquet.txt" 2>&1
expect_eq "data file columns carry field ids 1-5" \
    "$(grep -o '"field_id": *[0-9]*' "$TMP/parquet.txt" | grep -o '[0-9]*$' | sort -n | tr '\n' ' ')" "1 2 3 4 5 "
grep -q 'iceberg.schema' "$TMP/parquet.txt" && ok "data file has the iceberg.schema footer key" || bad "data file has the iceberg.schema footer key"
# an evolved table reads the same in the independent reader: renamed and added columns by id
check "rename a column" "$TARN" sql "ALTER TABLE fruit RENAME COLUMN name TO label"
check "add a column" "$TARN" sql "ALTER TABLE fruit ADD COLUMN note VARCHAR"
check "insert after the changes" "$TARN" sql "INSERT INTO fruit (id, label, note) VALUES (5, 'elder', 'new')"
icebird fruit --rows-only >"$TMP/evolved.jsonl" 2>"$TMP/evolved.err"
expect_eq "icebird reads old rows through the renamed column" \
    "$(grep -o '"label":"[a-z]*"' "$TMP/evolved.jsonl" | sort | tr '\n' ' ')" \
    '"label":"apple" "label":"banana" "label":"cherry" "label":"date" "label":"elder" '
expect_eq "icebird sees the added column (null in old files)" \
    "$(grep -c '"note":"new"' "$TMP/evolved.jsonl") $(grep -c '"id"' "$TMP/evolved.jsonl")" "1 5"
expect_eq "tarn reads the same rows" "$(q 'SELECT string_agg(label, $$ $$ ORDER BY label) FROM fruit')" \
    "apple banana cherry date elder"

# a partitioned table (hidden partitioning: day, bucket, identity) reads the same in icebird
cat >"$TMP/events.csv" <<'CSV'
id,region,ts
1,eu,2024-01-01 10:00:00
2,us,2024-01-01 11:00:00
3,eu,2024-01-02 09:00:00
4,us,2024-01-03 08:00:00
CSV
check "ingest with --partition-by" "$TARN" ingest events "$TMP/events.csv" --partition-by 'day(ts), bucket(4, id), region'
expect_eq "one data file per partition" "$(q 'SELECT count(*) FROM "events$files"')" "4"
icebird events --rows-only >"$TMP/events.jsonl" 2>&1
expect_eq "icebird reads every row of the partitioned table" \
    "$(grep -o '"id":[0-9]*' "$TMP/events.jsonl" | sort | tr '\n' ' ')" '"id":1 "id":2 "id":3 "id":4 '
man=$(fetch default/events/metadata '-m0\.avro$')
node "$INTEROP/avro-dump.mjs" "$man" >"$TMP/pman.json" 2>&1
expect_eq "manifest partition tuples: day as days, Iceberg's bucket, identity" \
    "$(grep -o '"partition":{[^}]*}' "$TMP/pman.json" | sort | tr '\n' ' ')" \
    '"partition":{"ts_day":19723,"id_bucket":0,"region":"eu"} "partition":{"ts_day":19723,"id_bucket":0,"region":"us"} "partition":{"ts_day":19724,"id_bucket":3,"region":"eu"} "partition":{"ts_day":19725,"id_bucket":2,"region":"us"} '
expect_eq "a filter on the source column reads right" "$(q "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) FROM events WHERE ts >= '2024-01-02'")" "3 4"

# after a DELETE the reader applies tarn's position-delete file
check "delete rows" "$TARN" sql "DELETE FROM fruit WHERE id IN (2, 4)"
icebird fruit --rows-only >"$TMP/deleted.jsonl" 2>&1
expect_eq "icebird applies tarn's position deletes" \
    "$(grep -o '"id":[0-9]*' "$TMP/deleted.jsonl" | sort | tr '\n' ' ')" '"id":1 "id":3 "id":5 '
del=$(fetch default/fruit/data '-deletes\.parquet$')
if [ -n "$del" ]; then
    node "$INTEROP/parquet-dump.mjs" "$del" >"$TMP/del.txt" 2>&1
    grep -q '"field_id": *2147483546' "$TMP/del.txt" && grep -q '"field_id": *2147483545' "$TMP/del.txt" &&
        ok "delete file columns carry the reserved ids file_path 2147483546, pos 2147483545" ||
        bad "delete file columns carry the reserved ids"
else
    bad "a position-delete file was written"
fi
finish
