#!/usr/bin/env bash
# t100-delta-read: Delta Lake tables registered in tarn (../shared/delta-fixtures, real tables
# written by Spark and delta-rs) read with their expected results at every version stated
# (_expected/*.json: rows, row counts, sums, live files), time travel by version and by commit
# time, partition pruning and count(*) from the log's stats, a join with an Iceberg table,
# listing and describing, column mapping by name with renamed nested fields, the log advancing after registration, registration over HTTP, and the
# refusals: writes, an unsupported reader feature, a damaged or missing log.
. "$(dirname "$0")/lib.sh"

DF=$SHARED/delta-fixtures
if [ "$TEST_STORAGE" = s3 ]; then
    skip "Delta tables" "the fixtures are copied to local disk; this suite runs on a local warehouse"
    finish
    exit $?
fi
mkdir -p "$TMP/delta"
for d in "$DF"/*/; do
    name=$(basename "$d")
    [ "$name" = _expected ] || cp -r "$d" "$TMP/delta/$name"
done
# simple_table: the commit times delta-rs's time-travel test sets (v0..v4 = 2020-05-01..05
# 22:47:31-07:00); a copy loses the files' mtimes, and without inCommitTimestamp they are the
# commit times
for v in 0 1 2 3 4; do
    touch -d "2020-05-0$((v + 1))T22:47:31-07:00" "$TMP/delta/simple_table/_delta_log/0000000000000000000$v.json"
done

for f in simple_table delta-0.8.0 delta-0.8.0-partitioned table-with-dv-small table-without-dv-small \
    table_with_column_mapping checkpoints simple_table_with_checkpoint delta-2.2.0-partitioned-types \
    table_with_deletion_logs cdf-table; do
    check "register $f" "$TARN" register "$(delta_table_name "$f")" "$TMP/delta/$f"
done

# compare FIXTURE: every version of _expected/FIXTURE.json against tarn's answers
compare() {
    delta_compare "$1" "$1" <<'EOF'
from delta_expected import exp, tbl, sql, canon

for v, want in exp["versions"].items():
    at = f'AT (VERSION => {v})'
    try:
        files = sql(f'SELECT file_path FROM "{tbl}$files" {at} WHERE content = 0')
        got = sorted(f["file_path"].split("/")[-1] for f in files)
        wanted = sorted(f["path"].split("/")[-1] for f in want["files"])
        print(("PASS" if got == wanted else "FAIL") + f" v{v}: live files" +
              ("" if got == wanted else f": got {got[:4]} wanted {wanted[:4]}"))
        if want.get("rows") is None and "row_count" not in want:
            continue
        rows = sql(f'SELECT * FROM "{tbl}" {at}')
        if "row_count" in want:
            n = sql(f'SELECT count(*) AS n FROM "{tbl}" {at}')[0]["n"]
            ok = len(rows) == want["row_count"] and n == want["row_count"]
            print(("PASS" if ok else "FAIL") + f" v{v}: {want['row_count']} rows (read and count(*))" +
                  ("" if ok else f": read {len(rows)}, count(*) {n}"))
        for col, s in (want.get("sums") or {}).items():
            got_s = sum(r[col] for r in rows if r[col] is not None)
            ok = abs(got_s - s) < 1e-3 * max(1, abs(s))
            print(("PASS" if ok else "FAIL") + f" v{v}: sum({col}) = {s}" + ("" if ok else f": got {got_s}"))
        if isinstance(want.get("rows"), list):
            ok = canon(rows) == canon(want["rows"])
            print(("PASS" if ok else "FAIL") + f" v{v}: the rows" +
                  ("" if ok else f": got {canon(rows)[:3]} wanted {canon(want['rows'])[:3]}"))
    except RuntimeError as e:
        print(f"FAIL v{v}: {e}")
EOF
}

for f in simple_table delta-0.8.0 delta-0.8.0-partitioned table-with-dv-small table-without-dv-small \
    table_with_column_mapping checkpoints simple_table_with_checkpoint delta-2.2.0-partitioned-types \
    table_with_deletion_logs cdf-table; do
    compare "$f"
done

#---- a log that starts at a checkpoint, over files that are not there ----
check_fails "checkpoint_with_partitions: its adds have no stats and its files are absent: refused, naming the file" \
    3 "f62d8868-d952-4f9d-8bb2-fd4e011ebf36" "$TARN" register cwp "$TMP/delta/checkpoint_with_partitions"
check_fails "and nothing was registered" 3 "does not exist" "$TARN" describe cwp

#---- time travel ----
expect_eq "simple_table: the latest version is v4" "$(q 'SELECT id FROM simple_table ORDER BY id' | tr '\n' ' ')" "5 7 9 "
for pair in "2020-05-02 05:47:31|0" "2020-05-03 05:47:31|1" "2020-05-03 06:47:31|1" "2020-05-04 05:47:31|2" "2020-05-05 05:47:31|3" \
    "2020-05-06 04:47:31|3" "2020-05-06 05:47:31|4" "2020-05-25 00:00:00|4"; do
    ts=${pair%|*}
    v=${pair#*|}
    expect_eq "simple_table AT TIMESTAMP '$ts' (UTC) is version $v" \
        "$(q "SELECT count(*), sum(id) FROM simple_table AT (TIMESTAMP => TIMESTAMP '$ts')")" \
        "$(q "SELECT count(*), sum(id) FROM simple_table AT (VERSION => $v)")"
done
expect_eq "AT TIMESTAMP at v1's commit time exactly (2020-05-03 05:47:31 UTC) reads v1's 20 rows" \
    "$(q "SELECT count(*) FROM simple_table AT (TIMESTAMP => TIMESTAMP '2020-05-03 05:47:31')")" "20"
check_fails "a time before the first commit names the earliest version and its commit time" 3 \
    "before the earliest version available of the Delta table (version 0, committed at 2020-05-02 05:47:31.000 UTC)" \
    "$TARN" sql "SELECT * FROM simple_table AT (TIMESTAMP => TIMESTAMP '2020-05-01 00:00:00')"
check_fails "a Delta version that does not exist" 3 "has no version 9" \
    "$TARN" sql "SELECT * FROM simple_table AT (VERSION => 9)"
expect_eq "history: one snapshot per Delta version, with its version in the summary" \
    "$(q 'SELECT summary['"'"'delta-version'"'"'] FROM "simple_table$snapshots" ORDER BY committed_at' | tr '\n' ' ')" "0 1 2 3 4 "

#---- pruning, metadata answers, filters ----
"$TARN" sql "SELECT value FROM delta_0_8_0_partitioned WHERE year = '2021'" --explain >"$TMP/ex" 2>&1
expect_eq "year = '2021' plans the 2021 files only" "$(grep -o 'data files [0-9]* of [0-9]* kept' "$TMP/ex")" "data files 3 of 6 kept"
expect_eq "and reads values 6, 7, 5, 4" "$(q "SELECT value FROM delta_0_8_0_partitioned WHERE year = '2021' ORDER BY value" | tr '\n' ' ')" "4 5 6 7 "
"$TARN" sql "SELECT value FROM delta_0_8_0_partitioned WHERE year = '2021' AND month = '12'" --explain >"$TMP/ex" 2>&1
expect_eq "year = '2021' AND month = '12': 2 files" "$(grep -o 'data files [0-9]* of [0-9]* kept' "$TMP/ex")" "data files 2 of 6 kept"
"$TARN" sql "SELECT * FROM delta_0_8_0 WHERE value > 3" --explain >"$TMP/ex" 2>&1
expect_eq "value > 3 skips the file whose stats say max 2" "$(grep -o 'data files [0-9]* of [0-9]* kept' "$TMP/ex")" "data files 1 of 2 kept"
"$TARN" sql "SELECT count(*) FROM delta_0_8_0" --explain >"$TMP/ex" 2>&1
expect_eq "count(*) comes from the log's numRecords" "$(grep -c 'answered from metadata' "$TMP/ex")" "1"
"$TARN" sql "SELECT count(*) FROM table_with_dv_small" --explain >"$TMP/ex" 2>&1
expect_eq "but not where a deletion vector applies" "$(grep -c 'answered from metadata' "$TMP/ex")" "0"
expect_eq "CAST(day AS int) where CAST(year AS int) > 2020 (delta-rs's test)" \
    "$(q 'SELECT CAST(day AS int) FROM delta_0_8_0_partitioned WHERE CAST(year AS int) > 2020 ORDER BY 1' | tr '\n' ' ')" "4 5 20 20 "
expect_eq "column mapping: filter on the partition column" \
    "$(q "SELECT * FROM table_with_column_mapping WHERE \"Company Very Short\" = 'BME'")" "BME,Timothy Lamb"
expect_eq "column mapping: filter on the data column" \
    "$(q "SELECT * FROM table_with_column_mapping WHERE \"Super Name\" = 'Timothy Lamb'")" "BME,Timothy Lamb"
expect_eq "a typed (integer) partition column compares as a number" \
    "$(q 'SELECT c3 FROM delta_2_2_0_partitioned_types WHERE c1 + 1 = 6')" "6"

#---- column mapping 'name' mode with renamed nested fields: read by physical name at every depth ----
# A file as a name-mode writer leaves it: columns named by their physical names at every depth
# and no field ids (DuckDB writes it); the log's logical names differ at every depth.
mkdir -p "$TMP/nested/_delta_log"
node "$ROOT/tests/delta/duckdb-sql.cjs" "$ROOT" "COPY (SELECT 1::BIGINT AS \"col-id\",
    {'col-a': 10::BIGINT, 'col-b': {'col-c': 'x'}} AS \"col-s\", [{'col-e': 5::BIGINT}] AS \"col-l\",
    MAP {'k': {'col-v': 1::BIGINT}} AS \"col-m\"
    UNION ALL SELECT 2, {'col-a': 20, 'col-b': {'col-c': 'y'}}, [{'col-e': 6}, {'col-e': 7}],
    MAP {'k': {'col-v': 2::BIGINT}}) TO '$TMP/nested/part-00000.parquet' (FORMAT parquet)"
python3 - "$TMP/nested" <<'EOF'
import json, os, sys
d = sys.argv[1]
def field(name, fid, phys, typ):
    return {"name": name, "type": typ, "nullable": True,
            "metadata": {"delta.columnMapping.id": fid, "delta.columnMapping.physicalName": phys}}
schema = {"type": "struct", "fields": [
    field("id", 1, "col-id", "long"),
    field("info", 2, "col-s", {"type": "struct", "fields": [
        field("amount", 3, "col-a", "long"),
        field("inner", 4, "col-b", {"type": "struct", "fields": [field("label", 5, "col-c", "string")]})]}),
    field("items", 6, "col-l", {"type": "array", "containsNull": True, "elementType": {
        "type": "struct", "fields": [field("qty", 7, "col-e", "long")]}}),
    field("tags", 8, "col-m", {"type": "map", "keyType": "string", "valueContainsNull": True, "valueType": {
        "type": "struct", "fields": [field("v", 9, "col-v", "long")]}})]}
actions = [
    {"protocol": {"minReaderVersion": 2, "minWriterVersion": 5}},
    {"metaData": {"id": "6a1b8f0e-0000-4000-8000-000000000001", "format": {"provider": "parquet", "options": {}},
                  "schemaString": json.dumps(schema), "partitionColumns": [],
                  "configuration": {"delta.columnMapping.mode": "name", "delta.columnMapping.maxColumnId": "9"},
                  "createdTime": 1700000000000}},
    {"add": {"path": "part-00000.parquet", "partitionValues": {},
             "size": os.path.getsize(d + "/part-00000.parquet"), "modificationTime": 1700000000000,
             "dataChange": True, "stats": json.dumps({"numRecords": 2})}},
    {"commitInfo": {"timestamp": 1700000000000, "operation": "WRITE"}}]
open(d + "/_delta_log/00000000000000000000.json", "w").write("".join(json.dumps(a) + "\n" for a in actions))
EOF
check "register a name-mapped table with renamed nested fields" "$TARN" register nested "$TMP/nested"
expect_eq "nested fields read by their physical names at every depth (struct, list, map)" \
    "$(q "SELECT id, info.amount, info.\"inner\".label, items[1].qty, len(items), tags['k'].v FROM nested ORDER BY id")" \
    "1,10,x,5,1,1
2,20,y,6,2,2"
expect_eq "a filter on a renamed nested field" "$(q "SELECT id FROM nested WHERE info.\"inner\".label = 'y'")" "2"

#---- the change data feed ----
expect_eq "delta_changes('cdf_table', 0, 3): 23 changes, ids as delta-rs lists them" \
    "$(q "SELECT id FROM delta_changes('cdf_table', 0, 3) ORDER BY id" | tr '\n' ' ')" \
    "1 2 2 2 3 3 3 4 4 4 5 5 5 6 6 6 7 7 7 7 8 9 10 "
expect_eq "v1: pre- and post-images of ids 2, 3, 4 (from its cdc files)" \
    "$(q "SELECT _change_type, count(*), min(birthday), max(birthday) FROM delta_changes('cdf_table', 1, 1) GROUP BY 1 ORDER BY 1")" \
    "update_postimage,3,2023-12-22,2023-12-22
update_preimage,3,2023-12-23,2023-12-23"
expect_eq "v3: the delete of 7 Dennis 2023-12-29" \
    "$(q "SELECT id, name, birthday, _change_type, _commit_version FROM delta_changes('cdf_table', 3)")" \
    "7,Dennis,2023-12-29,delete,3"
expect_eq "birthday = 2023-12-25: the 3 inserts of v0" \
    "$(q "SELECT id, name, _change_type FROM delta_changes('cdf_table', 0) WHERE birthday = DATE '2023-12-25' ORDER BY id")" \
    "8,Claire,insert
9,Ada,insert
10,Borb,insert"
expect_eq "_commit_timestamp: the commits' times" \
    "$(q "SELECT DISTINCT _commit_version, epoch_ms(_commit_timestamp) FROM delta_changes('cdf_table', 0, 3) ORDER BY 1" | tr '\n' ' ')" \
    "0,1703265018828 1,1703265021675 2,1703886093785 3,1704559499570 "
expect_eq "changes up to 2023-12-22T17:10:21.675: v0 and v1 (16 rows)" \
    "$(q "SELECT count(*) FROM delta_changes('cdf_table', 0) WHERE _commit_timestamp <= TIMESTAMP '2023-12-22 17:10:21.675'")" "16"
check_fails "a start after the latest version" 2 "invalid table version range 4" \
    "$TARN" sql "SELECT * FROM delta_changes('cdf_table', 4)"
expect_eq "a commit without cdc files: its removed file's rows are deletes, its added file's inserts" \
    "$(q "SELECT _change_type, list(value ORDER BY value) FROM delta_changes('delta_0_8_0', 1, 1) GROUP BY 1 ORDER BY 1")" \
    'delete,"[2, 3, 4]"
insert,"[2, 4]"'
printf 'a\n1\n' >"$TMP/plain.csv"
check "an Iceberg table" "$TARN" ingest plain "$TMP/plain.csv"
check_fails "an Iceberg table has no Delta change feed" 2 "not a registered Delta table" \
    "$TARN" sql "SELECT * FROM delta_changes('plain', 0)"
check_fails "arguments must be constants" 2 "delta_changes takes constants" \
    "$TARN" sql "SELECT * FROM delta_changes('cdf_table', 1 + 1)"

#---- with Iceberg tables ----
printf 'value,label\n1,one\n2,two\n4,four\n' >"$TMP/labels.csv"
check "an Iceberg table" "$TARN" ingest labels "$TMP/labels.csv"
expect_eq "a join of a Delta table with an Iceberg table" \
    "$(q 'SELECT d.value, l.label FROM delta_0_8_0 d JOIN labels l ON d.value = l.value ORDER BY 1')" "1,one
2,two
4,four"
"$TARN" tables >"$TMP/tables"
expect_eq "listed with the others" "$(grep -c -E '^default\.(simple_table|labels|cdf_table)( |$)' "$TMP/tables")" "3"
"$TARN" describe delta_0_8_0_partitioned >"$TMP/desc" 2>&1
expect_eq "described: its columns" "$(grep -c -E '^[0-9]+ +(value|year|month|day) ' "$TMP/desc")" "4"

#---- read-only ----
check_fails "INSERT is refused" 2 "registered read-only" "$TARN" sql "INSERT INTO delta_0_8_0 VALUES (9)"
check_fails "DELETE is refused" 2 "registered read-only" "$TARN" sql "DELETE FROM delta_0_8_0 WHERE value = 1"
check_fails "UPDATE is refused" 2 "registered read-only" "$TARN" sql "UPDATE delta_0_8_0 SET value = 3"
check_fails "ALTER is refused" 2 "registered read-only" "$TARN" sql "ALTER TABLE delta_0_8_0 ADD COLUMN x INT"
check_fails "ingest is refused" 2 "registered read-only" "$TARN" ingest delta_0_8_0 "$TMP/labels.csv"
expect_eq "and the table is as it was" "$(q 'SELECT count(*) FROM delta_0_8_0')" "4"

#---- the log moves on after registration ----
mkdir -p "$TMP/grow/_delta_log"
cp "$DF/delta-0.8.0"/*.parquet "$TMP/grow/"
cp "$DF/delta-0.8.0/_delta_log/00000000000000000000.json" "$TMP/grow/_delta_log/"
check "register a table at v0" "$TARN" register grow "$TMP/grow"
expect_eq "v0: 5 rows" "$(q 'SELECT count(*), sum(value) FROM grow')" "5,10"
cp "$DF/delta-0.8.0/_delta_log/00000000000000000001.json" "$TMP/grow/_delta_log/"
expect_eq "a new commit in the log is read by the next query" "$(q 'SELECT count(*), sum(value) FROM grow')" "4,7"
expect_eq "and is a version to travel to" "$(q 'SELECT count(*) FROM grow AT (VERSION => 0)')" "5"
expect_eq "the first file stays an EXISTING entry (the same data file, not added again)" \
    "$(q 'SELECT count(*) FROM "grow$files"')" "2"

#---- a Delta table inside tarn's own folder for it: a purge keeps the Delta files ----
mkdir -p "$WH/default"
cp -r "$DF/table-with-dv-small" "$WH/default/dvin"
check "register a Delta table at the folder tarn uses for the table" "$TARN" register dvin "$WH/default/dvin"
expect_eq "it reads (8 rows)" "$(q 'SELECT count(*) FROM dvin')" "8"
check "drop it with purge" "$TARN" drop dvin --purge
expect_eq "the Delta data file and log are still there" \
    "$(ls "$WH/default/dvin" | grep -c -E '^(part-00000-fae5310a.*parquet|_delta_log|deletion_vector_.*bin)$')" "3"
expect_eq "tarn's own metadata and delete files are gone" \
    "$(find "$WH/default/dvin" -name '*.avro' -o -name '*metadata.json' -o -name '*-deletes.parquet' | wc -l | tr -d ' ')" "0"
check "and it registers again" "$TARN" register dvin "$WH/default/dvin"
expect_eq "reading the same rows" "$(q 'SELECT sum(value) FROM dvin')" "36"

#---- refusals at registration ----
cp -r "$DF/table-with-dv-small" "$TMP/feature"
python3 - "$TMP/feature/_delta_log/00000000000000000000.json" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
out = []
for l in lines:
    a = json.loads(l)
    if "protocol" in a:
        a["protocol"]["readerFeatures"].append("fancyNewEncoding")
    out.append(json.dumps(a))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
check_fails "a reader feature tarn does not read is refused, by name" 2 "reader feature 'fancyNewEncoding'" \
    "$TARN" register feat "$TMP/feature"
mkdir -p "$TMP/empty/_delta_log"
check_fails "a folder with an empty _delta_log is not a table" 5 "cannot read" "$TARN" register nolog "$TMP/empty"
cp -r "$DF/delta-0.8.0" "$TMP/corrupt"
printf '{"add": {"path": "x.parquet", \n' >>"$TMP/corrupt/_delta_log/00000000000000000001.json"
check_fails "a damaged commit is refused, naming it" 2 "commit 1" "$TARN" register bad "$TMP/corrupt"
cp -r "$DF/simple_table" "$TMP/gap"
rm "$TMP/gap/_delta_log/00000000000000000002.json"
check_fails "a missing commit is refused, naming it" 3 "00000000000000000002.json is missing" \
    "$TARN" register gap "$TMP/gap"
check_fails "nothing was registered" 3 "does not exist" "$TARN" describe gap

#---- over HTTP ----
cp -r "$DF/delta-0.8.0" "$WH/inside"
start_server "$WH" --no-auth
status_is "POST /tables/register with a Delta folder and format delta" 200 \
    post /tables/register "{\"name\": \"web.d8\", \"location\": \"$WH/inside\", \"format\": \"delta\"}"
status_is "GET /tables/web.d8" 200 call GET /tables/web.d8
expect_eq "says it is a Delta table, and where" "$(jv '[d["format"], d["source"].endswith("/inside")]')" '["delta", true]'
expect_eq "it reads" "$(csvq 'SELECT sum(value) FROM web.d8')" "7"
status_is "a folder outside the warehouse is refused" 403 \
    post /tables/register "{\"name\": \"web.out\", \"location\": \"$TMP/delta/delta-0.8.0\", \"format\": \"delta\"}"
status_is "format delta on a folder without a Delta log" 404 \
    post /tables/register "{\"name\": \"web.no\", \"location\": \"$WH/web\", \"format\": \"delta\"}"
status_is "an unknown format" 400 \
    post /tables/register "{\"name\": \"web.no\", \"location\": \"$WH/inside\", \"format\": \"hudi2\"}"
status_is "a write over HTTP is refused" 403 post /query '{"sql": "INSERT INTO web.d8 VALUES (1)"}'

#---- the Iceberg REST catalog serves Delta tables as Iceberg, kept current ----
status_is "REST: load the Delta table" 200 call GET /iceberg/v1/namespaces/web/tables/d8
expect_eq "REST: its current snapshot is Delta version 1" \
    "$(jv '[s["summary"].get("delta-version") for s in d["metadata"]["snapshots"] if s["snapshot-id"] == d["metadata"]["current-snapshot-id"]]')" '["1"]'
expect_eq "REST: with the name mapping for its files" \
    "$(jv 'json.loads(d["metadata"]["properties"]["schema.name-mapping.default"])[0]["names"]')" '["value"]'
mkdir -p "$WH/grow2/_delta_log"
cp "$DF/delta-0.8.0"/*.parquet "$WH/grow2/"
cp "$DF/delta-0.8.0/_delta_log/00000000000000000000.json" "$WH/grow2/_delta_log/"
status_is "register a table at v0 over HTTP" 200 \
    post /tables/register "{\"name\": \"web.grow2\", \"location\": \"$WH/grow2\"}"
cp "$DF/delta-0.8.0/_delta_log/00000000000000000001.json" "$WH/grow2/_delta_log/"
status_is "REST: load it after the log moved on" 200 call GET /iceberg/v1/namespaces/web/tables/grow2
expect_eq "REST: it has translated version 1" "$(jv 'd["metadata"]["properties"]["tarn.delta.version"]')" "1"
status_is "REST: a commit to it is refused" 403 post /iceberg/v1/namespaces/web/tables/grow2 \
    '{"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": "b"}}]}'

#---- the derived Iceberg metadata, checked by an independent reader ----
for t in delta_0_8_0_partitioned table_with_deletion_logs table_with_column_mapping cdf_table; do
    if ! command -v node >/dev/null || [ ! -f "$INTEROP/check.mjs" ]; then
        skip "check.mjs on $t" "build/interop needed"; continue
    fi
    loc=$(metadata_location "$t")
    node "$INTEROP/check.mjs" "${loc#file://}" --all-snapshots >"$TMP/check.json" 2>&1
    # the Delta files carry no field ids (they are read by the table's name mapping) and no
    # partition columns (Iceberg's rule: an identity partition field absent from a data file
    # reads its partition value), which the checker reports; nothing else may be reported
    expect_eq "check.mjs: the Iceberg metadata of $t conforms" \
        "$(jv '[e for e in d["errors"] if "has no field_id" not in e and "but data gives null" not in e]' "$TMP/check.json")" "[]"
done

finish
