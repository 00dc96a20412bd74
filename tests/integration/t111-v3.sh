#!/usr/bin/env bash
# t111-v3: Iceberg format version 3 as an opt-in per table: creation (ingest flag and parameter,
# POST /tables and REST create properties), upgrade (ALTER TABLE property, REST
# upgrade-format-version; never down), the v3 row-lineage metadata tarn writes, column defaults,
# deletion vectors written by another engine read back, and a row-level change writing one
# (t117-v3-dv tests those). v2 stays the default.
. "$(dirname "$0")/lib.sh"

V3FX=$ROOT/tests/fixtures/iceberg-v3/data/persistent
DI=$FIXTURES/duckdb-iceberg/data/persistent

printf 'id,name\n1,a\n2,b\n3,c\n' >"$TMP/a.csv"
printf 'id,name\n4,d\n5,e\n' >"$TMP/b.csv"

# avro_field FILE FIELD_ID: the values of the top-level (or data_file) field with that id in
# the records of an Avro file, read by the independent avsc reader
avro_field() {
    node "$INTEROP/avro-dump.mjs" "$1" | python3 -c 'import json, sys
want = int(sys.argv[1])
lines = [json.loads(l) for l in sys.stdin if l.strip()]
schema = lines[0]["schema"]
def name_of(fields):
    for f in fields:
        if f.get("field-id") == want:
            return f["name"], None
        t = f["type"]
        if isinstance(t, dict) and t.get("type") == "record":
            for g in t["fields"]:
                if g.get("field-id") == want:
                    return f["name"], g["name"]
    return None, None
top, sub = name_of(schema["fields"])
out = []
for l in lines[1:]:
    r = l.get("record")
    if not isinstance(r, dict) or top is None:
        continue
    v = r.get(top) if sub is None else (r.get(top) or {}).get(sub)
    out.append(v)
print("absent" if top is None else json.dumps(out))' "$2"
}

#---- v2 stays the default ----
check "ingest creates a table" "$TARN" ingest v2t "$TMP/a.csv"
expect_eq "a new table is format version 2" "$(metadata_eval v2t 'm["format-version"]')" "2"
expect_eq "v2 metadata has no next-row-id" "$(metadata_eval v2t '"next-row-id" in m')" "False"
check_fails "a DEFAULT on v2 is refused, naming v3" 2 "needs Iceberg format version 3" \
    "$TARN" sql "ALTER TABLE v2t ADD COLUMN score INT DEFAULT 7"

#---- creation as v3 ----
check "ingest --format-version 3 creates a v3 table" "$TARN" ingest v3t "$TMP/a.csv" --format-version 3
expect_eq "it is format version 3" "$(metadata_eval v3t 'm["format-version"]')" "3"
expect_eq "format-version is not kept as a property" "$(metadata_eval v3t '"format-version" in m["properties"]')" "False"
expect_eq "next-row-id counts the rows" "$(metadata_eval v3t 'm["next-row-id"]')" "3"
expect_eq "the snapshot has first-row-id 0 and added-rows 3" \
    "$(metadata_eval v3t '[(s["first-row-id"], s["added-rows"]) for s in m["snapshots"]]')" "[(0, 3)]"
check "append to it" "$TARN" ingest v3t "$TMP/b.csv"
expect_eq "the next snapshot starts at the old next-row-id" \
    "$(metadata_eval v3t '[(s["first-row-id"], s["added-rows"]) for s in m["snapshots"]]')" "[(0, 3), (3, 2)]"
expect_eq "next-row-id after the append" "$(metadata_eval v3t 'm["next-row-id"]')" "5"
expect_eq "rows read back" "$(q "SELECT string_agg(name, '-' ORDER BY id) FROM v3t")" "a-b-c-d-e"
check_fails "--format-version 4 is refused" 2 "--format-version must be 2 or 3" \
    "$TARN" ingest v4t "$TMP/a.csv" --format-version 4
check_fails "--format-version 3 on an existing v2 table is refused" 2 "upgrade it with ALTER TABLE" \
    "$TARN" ingest v2t "$TMP/b.csv" --format-version 3

if command -v node >/dev/null && [ -f "$INTEROP/avro-dump.mjs" ]; then
    list=$(metadata_eval v3t '[s["manifest-list"] for s in m["snapshots"]][-1]')
    list=${list#file://}
    expect_eq "manifest list: first_row_id (520) assigned in order" "$(avro_field "$list" 520)" "[3, 0]"
    man=$(node "$INTEROP/avro-dump.mjs" "$list" --records-only | python3 -c 'import json,sys; print([json.loads(l)["manifest_path"] for l in sys.stdin][0])')
    expect_eq "manifest: data_file first_row_id (142) null for ADDED files" "$(avro_field "${man#file://}" 142)" "[null]"
    expect_eq "manifest header says format-version 3" \
        "$(node "$INTEROP/avro-dump.mjs" "${man#file://}" | sed -n 2p | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["format-version"])')" "3"
else
    skip "v3 manifest fields with avsc" "build/interop needed"
fi

#---- upgrade: ALTER TABLE property, never down ----
check "ALTER TABLE SET TBLPROPERTIES format-version 3" \
    "$TARN" sql "ALTER TABLE v2t SET TBLPROPERTIES ('format-version'='3')"
expect_eq "the table is v3 now" "$(metadata_eval v2t 'm["format-version"]')" "3"
expect_eq "its next-row-id starts at 0" "$(metadata_eval v2t 'm["next-row-id"]')" "0"
expect_eq "the old snapshot keeps no first-row-id" "$(metadata_eval v2t '[s.get("first-row-id") for s in m["snapshots"]]')" "[None]"
check "append after the upgrade" "$TARN" ingest v2t "$TMP/b.csv"
expect_eq "the new snapshot assigns ids to the old rows too" \
    "$(metadata_eval v2t '[(s.get("first-row-id"), s.get("added-rows")) for s in m["snapshots"]]')" "[(None, None), (0, 5)]"
check_fails "downgrading to 2 is refused" 2 "cannot downgrade format-version from 3 to 2" \
    "$TARN" sql "ALTER TABLE v2t SET TBLPROPERTIES ('format-version'='2')"
check_fails "format-version 4 is refused" 2 "format-version 4 is not supported" \
    "$TARN" sql "ALTER TABLE v2t SET TBLPROPERTIES ('format-version'='4')"

#---- defaults on v3 ----
check "ADD COLUMN ... DEFAULT on v3" "$TARN" sql "ALTER TABLE v3t ADD COLUMN score INT DEFAULT 7"
expect_eq "initial-default and write-default written" \
    "$(metadata_eval v3t '[(f.get("initial-default"), f.get("write-default")) for s in m["schemas"] if s["schema-id"] == m["current-schema-id"] for f in s["fields"] if f["name"] == "score"]')" "[(7, 7)]"
expect_eq "existing rows read the initial default" "$(q 'SELECT sum(score) FROM v3t')" "35"
check "INSERT without the column" "$TARN" sql "INSERT INTO v3t (id, name) VALUES (6, 'f')"
expect_eq "the new row takes the write default" "$(q 'SELECT score FROM v3t WHERE id = 6')" "7"
expect_eq "INSERT advanced next-row-id" "$(metadata_eval v3t 'm["next-row-id"]')" "6"

#---- row-level changes on v3 (deletion vectors: t117-v3-dv covers them) ----
check "a v3 table to update" "$TARN" ingest v3u "$TMP/a.csv" --format-version 3
check "UPDATE on v3" "$TARN" sql "UPDATE v3u SET name = 'x' WHERE id = 1"
expect_eq "it wrote a deletion vector, no position-delete file" \
    "$(find "$WH/default/v3u" -name '*-deletes.puffin' | wc -l) $(find "$WH/default/v3u" -name '*-deletes.parquet' | wc -l)" "1 0"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '-' ORDER BY id) FROM v3u")" "x-b-c"
check "a DELETE of whole files works on v3" "$TARN" sql "DELETE FROM v3t WHERE id >= 4"
expect_eq "rows after it" "$(q 'SELECT count(*) FROM v3t')" "3"

#---- a v3 table with a deletion vector written by another engine (DuckDB) ----
check "register DuckDB's v3 table with a deletion vector" "$TARN" register lbdv \
    "file://$V3FX/legacy_bare_deletion_vector/tables/default/legacy_bare_deletion_vector/metadata/00002-legacy-bare-dv.metadata.json" \
    --map "data/persistent/legacy_bare_deletion_vector/warehouse/=file://$V3FX/legacy_bare_deletion_vector/tables/"
expect_eq "the deletion vector hides row position 1 (upstream: 1, 3)" \
    "$(q 'SELECT id, source FROM lbdv ORDER BY id')" "1,legacy
3,legacy"
expect_eq "before the deletion vector: 3 rows" \
    "$(q 'SELECT count(*) FROM lbdv AT (VERSION => 8314182234503896325)')" "3"
mkdir -p "$TMP/bad/data/persistent"
cp -r "$V3FX/legacy_bare_deletion_vector" "$TMP/bad/data/persistent/"
dv=$TMP/bad/data/persistent/legacy_bare_deletion_vector/tables/default/legacy_bare_deletion_vector/data/legacy-bare-deletion-vector.puffin
printf '\x00' | dd of="$dv" bs=1 seek=40 conv=notrunc 2>/dev/null
check "register a copy whose deletion vector is corrupt" "$TARN" register lbdv_bad \
    "file://$TMP/bad/data/persistent/legacy_bare_deletion_vector/tables/default/legacy_bare_deletion_vector/metadata/00002-legacy-bare-dv.metadata.json" \
    --map "data/persistent/legacy_bare_deletion_vector/warehouse/=file://$TMP/bad/data/persistent/legacy_bare_deletion_vector/tables/"
check_fails "a corrupt deletion vector is refused, not read as no deletes" 2 "CRC-32" \
    "$TARN" sql "SELECT count(*) FROM lbdv_bad"

#---- another engine's v3 table (PyIceberg: timestamptz_ns) ----
check "register the v3 timestamptz_ns table" "$TARN" register tsns \
    "file://$DI/timestamptz_ns/metadata/v1.metadata.json" --map "data/persistent/=file://$DI/"
expect_eq "it reads (upstream: 0 rows)" "$(q 'SELECT count(*) FROM tsns')" "0"

#---- over HTTP: POST /tables and the REST catalog ----
start_server "$WH"
status_is "POST /tables with format-version 3" 200 post /tables \
    '{"name": "web.h3", "schema": {"fields": [{"name": "id", "type": "long"}]}, "properties": {"format-version": "3"}}'
expect_eq "it answers format_version 3" "$(jv 'd["format_version"]')" "3"
status_is "POST /tables with format-version 5 is refused" 400 post /tables \
    '{"name": "web.h5", "schema": {"fields": [{"name": "id", "type": "long"}]}, "properties": {"format-version": "5"}}'
status_is "a variant column is refused with a clear message" 400 post /tables \
    '{"name": "web.var", "schema": {"fields": [{"name": "v", "type": "variant"}]}, "properties": {"format-version": "3"}}'
grep -q "type 'variant' is not supported by tarn" "$TMP/body" && ok "it names the type" || bad "it names the type"
status_is "a geometry column is refused" 400 post /iceberg/v1/namespaces/web/tables \
    '{"name": "geo", "schema": {"type": "struct", "fields": [{"id": 1, "name": "g", "type": "geometry(srid:4326)", "required": false}]}, "properties": {"format-version": "3"}}'
status_is "timestamp_ns and timestamptz_ns columns on v3" 200 post /tables \
    '{"name": "web.tns", "schema": {"fields": [{"name": "t", "type": "timestamp_ns"}, {"name": "u", "type": "timestamptz_ns"}]}, "properties": {"format-version": "3"}}'
check "INSERT nanoseconds" "$TARN" sql "INSERT INTO web.tns VALUES (TIMESTAMP_NS '2024-01-01 00:00:00.123456789', TIMESTAMPTZ '2024-01-01 00:00:00+00')"
expect_eq "nanoseconds read back" "$(q 'SELECT t FROM web.tns')" "2024-01-01 00:00:00.123456789"
status_is "ingest format_version=3 over HTTP" 200 \
    call POST "/ingest/web.hi?format_version=3" -H 'Content-Type: text/csv' --data-binary @"$TMP/a.csv"
status_is "ingest format_version=7 over HTTP is refused" 400 \
    call POST "/ingest/web.hj?format_version=7" -H 'Content-Type: text/csv' --data-binary @"$TMP/a.csv"
status_is "load it" 200 call GET /iceberg/v1/namespaces/web/tables/hi
expect_eq "REST sees format-version 3" "$(jv 'd["metadata"]["format-version"]')" "3"
status_is "REST create with properties format-version 3" 200 post /iceberg/v1/namespaces/web/tables \
    '{"name": "r3", "schema": {"type": "struct", "fields": [{"id": 1, "name": "id", "type": "long", "required": false}]}, "properties": {"format-version": "3"}}'
expect_eq "REST create answers v3 metadata with next-row-id" \
    "$(jv '[d["metadata"]["format-version"], d["metadata"]["next-row-id"]]')" "[3, 0]"
status_is "REST create a v2 table" 200 post /iceberg/v1/namespaces/web/tables \
    '{"name": "r2", "schema": {"type": "struct", "fields": [{"id": 1, "name": "id", "type": "long", "required": false}]}}'
status_is "REST upgrade-format-version to 3" 200 post /iceberg/v1/namespaces/web/tables/r2 \
    '{"requirements": [], "updates": [{"action": "upgrade-format-version", "format-version": 3}]}'
expect_eq "the table is v3" "$(jv 'd["metadata"]["format-version"]')" "3"
status_is "REST downgrade is refused" 400 post /iceberg/v1/namespaces/web/tables/r2 \
    '{"requirements": [], "updates": [{"action": "upgrade-format-version", "format-version": 2}]}'
status_is "REST add-snapshot without first-row-id on v3 is refused" 400 post /iceberg/v1/namespaces/web/tables/r2 \
    "{\"requirements\": [], \"updates\": [{\"action\": \"add-snapshot\", \"snapshot\": {\"snapshot-id\": 5, \"sequence-number\": 1, \"timestamp-ms\": 1, \"manifest-list\": \"$WH/web/r2/metadata/x.avro\", \"summary\": {\"operation\": \"append\"}}}]}"
grep -q "first-row-id" "$TMP/body" && ok "it says first-row-id is needed" || bad "it says first-row-id is needed"

#---- the independent checker (a v2 checker: it reports format-version 3 and nothing else) ----
if command -v node >/dev/null && [ -f "$INTEROP/check.mjs" ]; then
    for t in v3t v2t; do
        loc=$(metadata_location "$t")
        node "$INTEROP/check.mjs" "${loc#file://}" --all-snapshots >"$TMP/check.json" 2>&1
        expect_eq "check.mjs on $t: only 'it is v3' errors, no warnings" \
            "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([e for e in d["errors"] if "format-version=3" not in e], d["warnings"])' "$TMP/check.json")" "[] []"
    done
    check "ingest a v2 table for the checker" "$TARN" ingest plain2 "$TMP/a.csv"
    check "DELETE on it writes a position-delete file" "$TARN" sql "DELETE FROM plain2 WHERE id = 2"
    loc=$(metadata_location plain2)
    node "$INTEROP/check.mjs" "${loc#file://}" --all-snapshots >"$TMP/check.json" 2>&1
    expect_eq "check.mjs on a v2 table after DELETE: no errors" \
        "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["errors"])' "$TMP/check.json")" "[]"
else
    skip "check.mjs" "build/interop needed"
fi

finish
