#!/usr/bin/env bash
# t102-hudi-read.sh - Apache Hudi tables (../shared/hudi-fixtures: Copy-on-Write and
# Merge-on-Read, table versions 6, 8 and 9) registered and read: every fixture's latest snapshot,
# its snapshot as of every completed instant and (MOR) its read-optimized view compared with the
# fixture's _expected/*.json; time travel by instant and by timestamp; hudi_changes (the
# incremental query) on the cases the fixtures' README states; the empty table; a join with an
# Iceberg table and with a Delta one; new Hudi commits followed; $timeline; writes, unsupported
# versions and bad arguments refused; registration over HTTP. Local warehouse only (the fixtures
# are local).
. "$(dirname "$0")/lib.sh"

HF=$SHARED/hudi-fixtures
if [ "$TEST_STORAGE" = s3 ]; then
    skip "hudi tables" "the fixtures are registered from local folders"
    finish; exit
fi
if ! command -v unzip >/dev/null; then
    bad "unzip is missing (scripts/install-deps.sh installs it): the zipped fixtures cannot be read"
    finish; exit
fi

# every fixture in a writable folder of its own (unzipped ones copied, zipped ones unpacked)
H=$TMP/hudi
mkdir -p "$H"
for d in "$HF"/*/; do
    n=$(basename "$d")
    case $n in _*) continue ;; esac
    cp -r "$d" "$H/$n"
done
sh "$HF/unpack.sh" "$H" >/dev/null
chmod -R u+w "$H"
NAMES=$(cd "$HF/_expected" && ls *.json | sed 's/\.json$//')

for n in $NAMES; do
    check "register $n" "$TARN" register "default.$n" "$H/$n"
done
check "tables lists the Hudi tables" bash -c "'$TARN' tables | grep -q mor_avro_v9_txns_simple_meta"
check "describe shows the meta columns and the schema" \
    bash -c "'$TARN' describe default.mor_avro_v8_trips_8i3u1d | grep -q '_hoodie_record_key' &&
             '$TARN' describe default.mor_avro_v8_trips_8i3u1d | grep -Eq '^11 +city +string'"
expect_eq "\$snapshots: one snapshot per instant, named in the summary, at the instant's time" \
    "$(q "SELECT summary['hudi-instant'] || ' ' || epoch_ms(committed_at) FROM \"cow_v6_nonpartitioned\$snapshots\" ORDER BY committed_at")" \
    "$(printf '20240418173550988 1713461750988\n20240418173551906 1713461751906')"

# compare TABLE NAME: every expected result of _expected/NAME.json, one check each
compare() {
    python3 - "$TARN" "$HF/_expected/$2.json" "$1" <<'PY' >"$TMP/compare.out" 2>&1
import json, subprocess, sys
tarn, expected, table = sys.argv[1:4]
e = json.load(open(expected))
cols = e["columns"]
sel = ", ".join('CAST("%s" AS VARCHAR) AS "%s"' % (c, c) for c in cols)

def rows(sql):
    r = subprocess.run([tarn, "sql", sql, "--format", "ndjson"], capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr.strip()
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()], None

def norm(rs):
    return sorted(tuple(None if r[c] is None else str(r[c]).lower() for c in cols) for r in rs)

def case(label, sql, want):
    got, err = rows(sql)
    if got is None:
        print("FAIL %s: %s" % (label, err)); return
    if norm(got) == norm(want["rows"]) and len(got) == want["row_count"]:
        print("PASS %s (%d rows)" % (label, len(got)))
    else:
        print("FAIL %s: got %s, expected %s" % (label, norm(got)[:6], norm(want["rows"])[:6]))

if e["latest"] is None:
    got, err = rows("SELECT %s FROM %s" % (sel, table))
    print(("PASS %s latest: empty" % table) if got == [] else "FAIL %s latest: %s" % (table, got or err))
else:
    case(table + " latest", "SELECT %s FROM %s" % (sel, table), e["latest"])
for instant, want in e["as_of"].items():
    case("%s as of %s" % (table, instant),
         "SELECT %s FROM %s AT (VERSION => '%s')" % (sel, table, instant), want)
if e.get("read_optimized_latest"):
    case(table + " read-optimized", "SELECT %s FROM %s AT (VERSION => 'read_optimized')" % (sel, table),
         e["read_optimized_latest"])
PY
    while read -r verdict rest; do
        case $verdict in
        PASS) ok "$rest" ;;
        *) bad "$verdict $rest" ;;
        esac
    done <"$TMP/compare.out"
}
for n in $NAMES; do compare "$n" "$n"; done

# counts answered from the translated metadata agree with the rows
for n in $NAMES; do
    expect_eq "$n: count(*) equals the rows read" "$(q "SELECT count(*) FROM $n")" \
        "$(q "SELECT count(*) FROM (SELECT * FROM $n WHERE _hoodie_record_key IS NOT NULL OR true)")"
done

# time travel by timestamp: instants are read as UTC times
D=9909a8b1-2d15-4d3d-8ec9-efc48c536a00
expect_eq "MOR v6: rider-D as of a time between its two deltacommits" \
    "$(q "SELECT fare FROM mor_avro_v6_trips_8i1u AT (TIMESTAMP => TIMESTAMP '2025-03-31 03:06:44') WHERE uuid = '$D'")" "33.9"
expect_eq "MOR v6: rider-D now" "$(q "SELECT fare FROM mor_avro_v6_trips_8i1u WHERE uuid = '$D'")" "25.0"
check_fails "a time before the first instant" 3 "no snapshot at or before" \
    "$TARN" sql "SELECT * FROM cow_v6_nonpartitioned AT (TIMESTAMP => TIMESTAMP '2020-01-01 00:00:00')"
check_fails "an instant that is not on the timeline" 3 "has no snapshot 20240418173551905" \
    "$TARN" sql "SELECT * FROM cow_v6_nonpartitioned AT (VERSION => '20240418173551905')"
expect_eq "filters: city = san_francisco (upstream: 4 rows)" \
    "$(q "SELECT string_agg(rider || ':' || fare, ' ' ORDER BY rider) FROM mor_avro_v8_trips_8i3u1d WHERE city = 'san_francisco'")" \
    "rider-A:0.0 rider-C:27.7 rider-D:33.9 rider-E:93.5"
expect_eq "filters: byteField = 10 (upstream: Alice false, Carol true)" \
    "$(q 'SELECT string_agg(name || '"'"':'"'"' || "isActive", '"'"' '"'"' ORDER BY id) FROM cow_v6_simplekeygen_nonhivestyle WHERE "byteField" = 10')" \
    "Alice:false Carol:true"
expect_eq "MOR v8: as of the compaction commit (upstream: A 0.0, G 43.4, 6 rows)" \
    "$(q "SELECT count(*) || ' ' || max(fare) FILTER (WHERE rider = 'rider-G') || ' ' || max(fare) FILTER (WHERE rider = 'rider-A') FROM mor_avro_v8_trips_8i3u1d AT (VERSION => '20251220210129235')")" \
    "6 43.4 0.0"

# the incremental query (upstream table_read_tests.rs:471-571 for the overwrite table)
O=cow_v6_simplekeygen_nonhivestyle_overwritetable
C1=20240707001301554 C2=20240707001302376 C3=20240707001303088
inc() { q "SELECT string_agg(id || ':' || name || ':' || \"isActive\", ' ' ORDER BY id) FROM hudi_changes($1)"; }
expect_eq "hudi_changes (0, c1]" "$(inc "'$O', '19700101000000', '$C1'")" "1:Alice:true 2:Bob:false 3:Carol:true"
expect_eq "hudi_changes (c1, c2]" "$(inc "'$O', '$C1', '$C2'")" "1:Alice:false 4:Diana:true"
expect_eq "hudi_changes (c2, c3]" "$(inc "'$O', '$C2', '$C3'")" "4:Diana:false"
expect_eq "hudi_changes (c1, latest]: replaced file groups are gone" "$(inc "'$O', '$C1'")" "4:Diana:false"
expect_eq "hudi_changes (c3, latest] is empty" "$(inc "'$O', '$C3'")" ""
expect_eq "hudi_changes from the beginning is not empty" \
    "$(q "SELECT count(*) FROM hudi_changes('cow_v6_nonpartitioned', '0')")" "4"
expect_eq "hudi_changes on the empty table is empty" \
    "$(q "SELECT count(*) FROM hudi_changes('default.cow_v6_empty', '0')")" "0"
expect_eq "hudi_changes in a join and with a filter" \
    "$(q "SELECT count(*) FROM hudi_changes('mor_avro_v9_txns_simple_meta', '20260307162612542') c JOIN mor_avro_v9_txns_simple_meta t USING (txn_id) WHERE c.region = 'eu'")" "3"
printf 'a\n1\n' >"$TMP/plain.csv"
check "an Iceberg table" "$TARN" ingest plain "$TMP/plain.csv"
check_fails "hudi_changes of an Iceberg table is refused" 2 "is not a Hudi table" \
    "$TARN" sql "SELECT * FROM hudi_changes('plain', '0')"
check_fails "hudi_changes takes constants only" 2 "takes string constants" \
    "$TARN" sql "SELECT * FROM hudi_changes('cow_v6_nonpartitioned', 0)"
check_fails "hudi_changes checks its instants" 2 "digits only" \
    "$TARN" sql "SELECT * FROM hudi_changes('cow_v6_nonpartitioned', 'x''; DROP')"

# the empty table keeps its create schema
expect_eq "empty table: no rows, the create schema's columns" \
    "$("$TARN" sql 'SELECT * FROM cow_v6_empty' --format csv)" \
    "_hoodie_commit_time,_hoodie_commit_seqno,_hoodie_record_key,_hoodie_partition_path,_hoodie_file_name,id,name,isActive"

# a join of a Hudi table with an Iceberg table
printf 'city,country\nsan_francisco,US\nsao_paulo,BR\nchennai,IN\n' >"$TMP/cities.csv"
check "an Iceberg table to join" "$TARN" ingest cities "$TMP/cities.csv"
expect_eq "join Hudi (MOR v8) with Iceberg" \
    "$(q "SELECT c.country || ':' || count(*) FROM mor_avro_v8_trips_8i3u1d t JOIN cities c ON t.city = c.city GROUP BY c.country ORDER BY c.country")" \
    "$(printf 'BR:1\nIN:1\nUS:4')"
# and with a Delta table in the same statement (delta-0.8.0: values 0, 1, 2, 4)
cp -r "$SHARED/delta-fixtures/delta-0.8.0" "$TMP/d08"
check "a Delta table to join" "$TARN" register default.d08 "$TMP/d08"
expect_eq "join Hudi, Iceberg and Delta in one statement" \
    "$(q "SELECT c.country || ':' || count(*) || ':' || sum(d.value) FROM mor_avro_v8_trips_8i3u1d t JOIN cities c ON t.city = c.city JOIN d08 d ON d.value = length(c.country) - 1 GROUP BY c.country ORDER BY c.country")" \
    "$(printf 'BR:1:1\nIN:1:1\nUS:4:4')"

# the timeline as a metadata table
expect_eq "\$timeline: the v8 MOR timeline" \
    "$(q 'SELECT count(*) || '"'"' '"'"' || count(*) FILTER (WHERE state = '"'"'COMPLETED'"'"') || '"'"' '"'"' || max(completion_time) FROM "mor_avro_v8_trips_8i3u1d$timeline"')" \
    "8 8 20251220210131755"
expect_eq "\$timeline: the compaction completes as a commit" \
    "$(q "SELECT action FROM \"mor_avro_v8_trips_8i3u1d\$timeline\" WHERE instant = '20251220210129235'")" "commit"

# writes are refused, through every path
W="reads but does not change"
check_fails "INSERT into a Hudi table is refused" 2 "$W" \
    "$TARN" sql "INSERT INTO cow_v6_nonpartitioned (id) VALUES (9)"
check_fails "DELETE from a Hudi table is refused" 2 "$W" \
    "$TARN" sql "DELETE FROM mor_avro_v8_trips_8i3u1d WHERE rider = 'rider-A'"
check_fails "ingest into a Hudi table is refused" 2 "$W" \
    "$TARN" ingest cow_v6_nonpartitioned "$TMP/cities.csv"
check_fails "a schema change of a Hudi table is refused" 2 "$W" \
    "$TARN" sql "ALTER TABLE cow_v6_nonpartitioned ADD COLUMN extra INTEGER"
expect_eq "the refused writes changed nothing" "$(q 'SELECT count(*) FROM cow_v6_nonpartitioned')" "4"

# unsupported table versions are refused, naming the version
cp -r "$H/cow_v6_nonpartitioned" "$TMP/v5"
sed -i 's/^hoodie.table.version=6/hoodie.table.version=5/' "$TMP/v5/.hoodie/hoodie.properties"
check_fails "table version 5 is refused" 2 "table version 5" "$TARN" register default.v5 "$TMP/v5"
check_fails "the refused table is not registered" 3 "does not exist" "$TARN" describe default.v5
cp -r "$H/cow_v9_txns_simple_meta" "$TMP/v10"
sed -i 's/^hoodie.table.version=9/hoodie.table.version=10/' "$TMP/v10/.hoodie/hoodie.properties"
check_fails "table version 10 is refused" 2 "table version 10" "$TARN" register default.v10 "$TMP/v10"

cp -r "$H/cow_v6_nonpartitioned" "$TMP/archived"
mkdir -p "$TMP/archived/.hoodie/archived"
printf 'x' >"$TMP/archived/.hoodie/archived/.commits_.archive.1_1-0-1"
check_fails "a table whose archived timeline cannot be read is refused (t115 reads archives)" 2 \
    "cannot read the archived timeline file" \
    "$TARN" register default.archived "$TMP/archived"

# a Hudi commit made after registration is translated on the next read
cp -r "$H/cow_v6_nonpartitioned" "$TMP/grows"
mv "$TMP/grows/.hoodie/20240418173551906.commit" "$TMP/second.commit"
check "register a table with one commit" "$TARN" register default.grows "$TMP/grows"
expect_eq "it has the first commit's rows" "$(q 'SELECT count(*) FROM grows')" "3"
mv "$TMP/second.commit" "$TMP/grows/.hoodie/20240418173551906.commit"
expect_eq "the second commit is read once it completes" \
    "$(q 'SELECT string_agg(name || '"'"':'"'"' || "isActive", '"'"' '"'"' ORDER BY id) FROM grows')" \
    "Alice:false Bob:false Carol:true Diana:true"
expect_eq "one snapshot per completed instant" "$(q 'SELECT count(*) FROM "grows$snapshots"')" "2"
check_fails "a name whose tarn folder would hold the Hudi table is refused" 4 "overlaps" \
    bash -c "mkdir -p '$WH/default' && cp -r '$H/cow_v6_nonpartitioned' '$WH/default/inside' && '$TARN' register default.inside '$WH/default/inside'"

# drop --purge deletes tarn's translation, never the Hudi table's files
before=$(find "$H/mor_avro_v8_trips_8i3u1d" -type f | wc -l)
check "drop --purge of a Hudi table" "$TARN" drop default.mor_avro_v8_trips_8i3u1d --purge
expect_eq "the Hudi files are all still there" "$(find "$H/mor_avro_v8_trips_8i3u1d" -type f | wc -l)" "$before"
check "tarn's merged files are gone" bash -c "! ls '$WH/default/mor_avro_v8_trips_8i3u1d/data/'*.parquet 2>/dev/null"
check "it registers again" "$TARN" register default.mor_avro_v8_trips_8i3u1d "$H/mor_avro_v8_trips_8i3u1d"
rm -rf "$TMP/grows/.hoodie"
check_fails "a Hudi table whose files are gone fails to read, saying why" 3 "hoodie.properties" \
    "$TARN" sql "SELECT count(*) FROM grows"
check "and can still be dropped with --purge" "$TARN" drop default.grows --purge

# over HTTP: a Hudi table inside the warehouse registers; outside it is refused
HW=$(wh_new http)
mkdir -p "$HW/lake"
cp -r "$H/mor_parquet_v6_nonpartitioned" "$HW/lake/mor"
mv "$HW/lake/mor/.hoodie/20250117083136333.deltacommit" "$TMP/second.deltacommit"
start_server "$HW" --no-auth
status_is "POST /tables/register with a Hudi base path" 200 \
    post /tables/register "{\"name\": \"default.mor\", \"metadata_location\": \"$HW/lake/mor\", \"format\": \"hudi\"}"
status_is "the table is listed" 200 call GET /tables
check "GET /tables names it" grep -q '"mor"' "$TMP/body"
expect_eq "as a Hudi table, with its folder" \
    "$(jv '[[t["format"], t["source"].endswith("/lake/mor")] for t in d["tables"] if t["name"] == "mor"]')" '[["hudi", true]]'
MORQ='{"sql": "SELECT string_agg(name || '"'"':'"'"' || \"isActive\", '"'"' '"'"' ORDER BY id) AS v FROM mor"}'
status_is "a query over HTTP" 200 post /query "$MORQ"
check "it reads the first deltacommit's rows" grep -q 'Alice:true Bob:false Carol:true' "$TMP/body"
mv "$TMP/second.deltacommit" "$HW/lake/mor/.hoodie/20250117083136333.deltacommit"
status_is "the same query once the next deltacommit completed" 200 post /query "$MORQ"
check "the server reads the merged rows of the new instant" \
    grep -q 'Alice:false Bob:false Carol:true Diana:true' "$TMP/body"
status_is "a Hudi table outside the warehouse is refused over HTTP" 403 \
    post /tables/register "{\"name\": \"default.out\", \"metadata_location\": \"$H/cow_v6_nonpartitioned\", \"format\": \"hudi\"}"
status_is "\"format\": \"hudi\" on a folder without .hoodie is a 404" 404 \
    post /tables/register "{\"name\": \"default.nothudi\", \"metadata_location\": \"$HW/lake\", \"format\": \"hudi\"}"

finish
