#!/usr/bin/env bash
# t115-hudi-archived.sh - Hudi tables whose oldest instants Hudi archived. No fixture has an
# archive, so copies of the fixtures get one the way Hudi's archiver writes it
# (hudi_archive.py): table version 6 into .hoodie/archived/.commits_.archive.1_1-0-1, versions 8
# and 9 into a Parquet file of the LSM timeline in .hoodie/timeline/history/ (written here
# through a tarn table with its columns). Checked: the latest snapshot reads exactly the
# fixture's rows (base files and log blocks older than the first active instant count as
# committed; file groups replaced by archived replacecommits stay out, though their files are
# still on disk); one snapshot holds what archived instants wrote; time travel and hudi_changes
# before the first active instant are refused naming it, after it they read; a table registered
# before Hudi archived keeps its snapshots; archives that cannot be read, or that do not say
# what a replacecommit replaced, and a timeline with no active commit are refused. Local only.
. "$(dirname "$0")/lib.sh"

HF=$SHARED/hudi-fixtures
ARCHIVE="python3 $(dirname "$0")/hudi_archive.py"
if [ "$TEST_STORAGE" = s3 ]; then
    skip "hudi archived timelines" "the tables are registered from local folders (t107 covers S3)"
    finish; exit
fi
if ! command -v unzip >/dev/null; then
    bad "unzip is missing (scripts/install-deps.sh installs it): the zipped fixtures cannot be read"
    finish; exit
fi

# fixture NAME DEST: a writable copy of a fixture (zipped ones unpacked)
fixture() {
    if [ -d "$HF/$1" ]; then cp -r "$HF/$1" "$2"; else
        rm -rf "$TMP/unzip" && mkdir "$TMP/unzip" && unzip -q "$HF/_zips/$1.zip" -d "$TMP/unzip" &&
            mv "$TMP/unzip"/*/ "$2"
    fi
    chmod -R u+w "$2"
}
# lsm TABLE SELECT_WRAPPER INSTANT...: archive the instants of a version 8/9 table into one LSM
# Parquet file; SELECT_WRAPPER ("%s" = the rows) may change the rows first
LSMN=0
lsm() {
    local table=$1 wrap=$2 rows; shift 2
    rows=$($ARCHIVE "$table" "$@") || return 1
    LSMN=$((LSMN + 1))
    TARN_WAREHOUSE=$TMP/lsmwh "$TARN" sql "CREATE TABLE h$LSMN AS $(printf "$wrap" "$rows")" >/dev/null || return 1
    mkdir -p "$table/.hoodie/timeline/history"
    cp "$TMP"/lsmwh/default/h$LSMN/data/*.parquet "$table/.hoodie/timeline/history/${1}_${!#}_0.parquet"
}
rows() { q "SELECT string_agg(id || ':' || name || ':' || coalesce(\"isActive\"::VARCHAR, 'null'), ' ' ORDER BY id) FROM $1"; }
archived_snapshot() {
    q "SELECT count(*) FROM \"$1\$snapshots\" WHERE CAST(summary AS VARCHAR) LIKE '%hudi-archived-before=$2%'"
}

#---- version 6, Copy-on-Write, partitioned: the first commit archived ----
C1=20240418172802262
C2=20240418172804498
fixture cow_v6_simplekeygen_nonhivestyle "$TMP/cow6"
$ARCHIVE "$TMP/cow6" $C1
expect_eq "the first commit left the active timeline for the archive" \
    "$(ls "$TMP/cow6/.hoodie" | grep -c "^$C1") $(ls -A "$TMP/cow6/.hoodie/archived")" "0 .commits_.archive.1_1-0-1"
check "register a table with archived instants" "$TARN" register default.cow6 "$TMP/cow6"
expect_eq "the latest snapshot reads the fixture's rows (one file group only the archive wrote)" \
    "$(q "SELECT string_agg(id || ':' || name || ':' || \"isActive\" || ':' || \"byteField\", ' ' ORDER BY id) FROM cow6")" \
    "1:Alice:false:10 2:Bob:false:20 3:Carol:true:10 4:Diana:true:30"
expect_eq "count(*)" "$(q 'SELECT count(*) FROM cow6')" "4"
expect_eq "one snapshot holds what the archived instants wrote, then one per active instant" \
    "$(q 'SELECT count(*) FROM "cow6$snapshots"') $(archived_snapshot cow6 $C2)" "2 1"
expect_eq "that snapshot is the first commit's state, its files counted from their footers" \
    "$(q "SELECT summary['total-records'] || '/' || summary['total-data-files'] FROM \"cow6\$snapshots\" ORDER BY committed_at LIMIT 1")" \
    "3/2"
check_fails "time travel to an archived instant is refused, naming the first active one" 3 \
    "instant $C1 precedes $C2, the first instant still on the table's active timeline" \
    "$TARN" sql "SELECT count(*) FROM cow6 AT (VERSION => '$C1')"
check_fails "time travel by timestamp into the archived part is refused too" 3 \
    "what archived instants wrote) precedes $C2" \
    "$TARN" sql "SELECT count(*) FROM cow6 AT (TIMESTAMP => TIMESTAMP '2024-04-18 17:28:04.4975')"
check_fails "time travel to the archived snapshot by id is refused" 3 "precedes $C2" \
    "$TARN" sql "SELECT count(*) FROM cow6 AT (VERSION => $(q 'SELECT snapshot_id FROM "cow6$snapshots" ORDER BY committed_at LIMIT 1'))"
expect_eq "time travel to the first active instant reads" \
    "$(q "SELECT count(*) FROM cow6 AT (VERSION => '$C2')")" "4"
check_fails "hudi_changes from the beginning is refused" 3 \
    "the range begins at instant 0 precedes $C2" \
    "$TARN" sql "SELECT * FROM hudi_changes('cow6', '0')"
check_fails "hudi_changes ending before the active timeline is refused" 3 "ends at instant $C1" \
    "$TARN" sql "SELECT * FROM hudi_changes('cow6', '$C2', '$C1')"
expect_eq "hudi_changes from the first active instant reads" \
    "$(q "SELECT count(*) FROM hudi_changes('cow6', '$C2')")" "0"
expect_eq "\$timeline lists the active timeline" \
    "$(q 'SELECT string_agg(instant, $$ $$) FROM "cow6$timeline"')" "$C2"

#---- version 6: an active replacecommit replaces file groups the archive wrote ----
O1=20240707001301554
O2=20240707001302376
O3=20240707001303088
fixture cow_v6_simplekeygen_nonhivestyle_overwritetable "$TMP/ow"
$ARCHIVE "$TMP/ow" $O1 $O2
check "register the overwritten table with its first two commits archived" \
    "$TARN" register default.ow "$TMP/ow"
expect_eq "only the overwrite's row is live" \
    "$(q "SELECT string_agg(id || ':' || name || ':' || \"isActive\", ' ') FROM ow")" "4:Diana:false"

#---- version 6: the replacecommit is archived too; only the archive says what it replaced ----
O4=20240707001304000
FG=ebcb261d-62d3-4895-90ec-5b3c9622dff4-0
new_commit() { # a later commit rewriting the overwrite's file group (the same row)
    cp "$1/30/${FG}_0-111-154_$O3.parquet" "$1/30/${FG}_0-1-1_$O4.parquet"
    python3 - "$1" <<PY
import json, sys
t = sys.argv[1]
m = json.load(open(t + "/.hoodie/$O3.replacecommit"))
del m["partitionToReplaceFileIds"]
m["operationType"] = "UPSERT"
m["partitionToWriteStats"]["30"][0]["path"] = "30/${FG}_0-1-1_$O4.parquet"
json.dump(m, open(t + "/.hoodie/$O4.commit", "w"))
PY
}
fixture cow_v6_simplekeygen_nonhivestyle_overwritetable "$TMP/ow2"
new_commit "$TMP/ow2"
cp -r "$TMP/ow2" "$TMP/ow3"
$ARCHIVE "$TMP/ow2" $O1 $O2 $O3
expect_eq "the replaced file groups' files are still on disk" \
    "$(find "$TMP/ow2" -name '*.parquet' | wc -l)" "6"
check "register it" "$TARN" register default.ow2 "$TMP/ow2"
expect_eq "the groups the archived replacecommit replaced stay out" \
    "$(q "SELECT string_agg(id || ':' || name || ':' || \"isActive\", ' ') FROM ow2")" "4:Diana:false"
# the same, but the archived replacecommit does not say what it replaced
python3 - "$TMP/ow3/.hoodie/$O3.replacecommit" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["partitionToReplaceFileIds"]
json.dump(m, open(sys.argv[1], "w"))
PY
$ARCHIVE "$TMP/ow3" $O1 $O2 $O3
check_fails "an archived replacecommit that does not say what it replaced is refused" 2 \
    "the archived replacecommit $O3 does not say which file groups it replaced" \
    "$TARN" register default.ow3 "$TMP/ow3"
check_fails "the refused table is not registered" 3 "does not exist" "$TARN" describe default.ow3
fixture cow_v6_simplekeygen_nonhivestyle_overwritetable "$TMP/ow4"
new_commit "$TMP/ow4"
$ARCHIVE "$TMP/ow4" $O1 $O2 $O3
head -c 100 "$TMP/ow4/.hoodie/archived/.commits_.archive.1_1-0-1" >"$TMP/cut"
cp "$TMP/cut" "$TMP/ow4/.hoodie/archived/.commits_.archive.1_1-0-1"
check_fails "an archive file cut short is refused, naming it" 2 \
    "cannot read the archived timeline file" "$TARN" register default.ow4 "$TMP/ow4"
printf 'x' >"$TMP/ow4/.hoodie/archived/notes.txt"
rm "$TMP/ow4/.hoodie/archived/.commits_.archive.1_1-0-1"
check_fails "a file in the archive folder that is no archive file is refused" 2 \
    "is not an archive file tarn knows" "$TARN" register default.ow4 "$TMP/ow4"

#---- version 6, Merge-on-Read: registered first, archived later ----
M1=20250117083125837
M2=20250117083136333
M3=20250118000000000
MFG=d206069c-22c8-4532-b9ea-3cf4282342c4-0
fixture mor_parquet_v6_nonpartitioned "$TMP/mor6"
check "register a Merge-on-Read table before anything is archived" \
    "$TARN" register default.mor6 "$TMP/mor6"
expect_eq "it reads" "$(rows mor6)" "1:Alice:false 2:Bob:false 3:Carol:true 4:Diana:true"
cat >"$TMP/spec.json" <<'JSON'
{"upserts": [{"key": "2", "id": 2, "name": "Robert", "longField": 9876543210}]}
JSON
python3 "$(dirname "$0")/hudi_mor_write.py" "$TMP/mor6" $M3 $MFG $M1 2 "$TMP/spec.json"
$ARCHIVE "$TMP/mor6" $M1 $M2
cp -r "$TMP/mor6" "$TMP/mor6b"
expect_eq "a later deltacommit on top of archived ones: the archived log block (Alice) counts" \
    "$(rows mor6)" "1:Alice:false 2:Robert:null 3:Carol:true 4:Diana:true"
expect_eq "the instants translated before Hudi archived them still read" \
    "$(rows "mor6 AT (VERSION => '$M2')")" "1:Alice:false 2:Bob:false 3:Carol:true 4:Diana:true"
expect_eq "and the archived state got its snapshot between them" "$(archived_snapshot mor6 $M3)" "2"
expect_eq "the read-optimized view reads base files only" \
    "$(rows "mor6 AT (VERSION => 'read_optimized')")" "1:Alice:true 2:Bob:false 3:Carol:true 4:Diana:true"
check "register the archived table afresh" "$TARN" register default.mor6b "$TMP/mor6b"
expect_eq "it reads the same rows" "$(rows mor6b)" "1:Alice:false 2:Robert:null 3:Carol:true 4:Diana:true"
expect_eq "its archived snapshot merges the archived log block" \
    "$(q "SELECT count(*) FROM \"mor6b\$snapshots\"") $(archived_snapshot mor6b $M3)" "4 2"
check_fails "time travel to an instant it never saw is refused" 3 "instant $M2 precedes $M3" \
    "$TARN" sql "SELECT count(*) FROM mor6b AT (VERSION => '$M2')"

#---- version 8, Merge-on-Read with log blocks and deletes: the LSM timeline ----
T1=20251220210108078
T2=20251220210117766
T3=20251220210123755
T4=20251220210125441
fixture mor_avro_v8_trips_8i3u1d "$TMP/trips"
cp -r "$TMP/trips" "$TMP/trips2"
lsm "$TMP/trips" "%s" $T1 $T2 $T3 || bad "cannot write the LSM timeline file"
check "register a version 8 table with an LSM archive" "$TARN" register default.trips "$TMP/trips"
expect_eq "the latest snapshot reads the fixture's rows" \
    "$(q "SELECT string_agg(rider || '=' || fare, ' ' ORDER BY rider) FROM trips")" \
    "rider-A=0.0 rider-C=27.7 rider-D=33.9 rider-E=93.5 rider-G=0.0 rider-I=41.06"
expect_eq "as of the first active instant: the archived update of A merged, F deleted" \
    "$(q "SELECT string_agg(rider || '=' || fare, ' ' ORDER BY rider) FROM trips AT (VERSION => '$T4')")" \
    "rider-A=0.0 rider-C=27.7 rider-D=33.9 rider-E=93.5 rider-G=43.4 rider-I=41.06 rider-J=17.85"
check_fails "time travel to an instant of the LSM archive is refused" 3 "instant $T3 precedes $T4" \
    "$TARN" sql "SELECT count(*) FROM trips AT (VERSION => '$T3')"
# a clustering still planned on the active timeline is its first instant: the files it writes
# while it runs are not committed
cp -r "$TMP/trips" "$TMP/trips3"
: >"$TMP/trips3/.hoodie/timeline/20251220210125000.clustering.requested"
check "register a table whose active timeline starts with a planned clustering" \
    "$TARN" register default.trips3 "$TMP/trips3"
check_fails "the planned clustering is the first active instant" 3 \
    "instant $T3 precedes 20251220210125000, the first instant" \
    "$TARN" sql "SELECT count(*) FROM trips3 AT (VERSION => '$T3')"
expect_eq "and the table reads as before" "$(q 'SELECT count(*) FROM trips3')" "6"
$ARCHIVE "$TMP/trips2" $T1 >/dev/null
mkdir -p "$TMP/trips2/.hoodie/timeline/history"
printf 'not parquet' >"$TMP/trips2/.hoodie/timeline/history/${T1}_${T1}_0.parquet"
check_fails "an LSM timeline file that cannot be read is refused" 2 \
    "cannot read the archived (LSM) timeline" "$TARN" register default.trips2 "$TMP/trips2"

#---- version 9: archived insert-overwrite and clustering (replacecommits) ----
V9="20260307162434124 20260307162440672 20260307162442820 20260307162444563 20260307162446287
20260307162447985 20260307162449244 20260307162450901 20260307162452329 20260307162453568
20260307162454799"
fixture cow_v9_txns_simple_meta "$TMP/v9"
cp -r "$TMP/v9" "$TMP/v9b"
# shellcheck disable=SC2086 # the instants are words
lsm "$TMP/v9" "%s" $V9 || bad "cannot write the LSM timeline file"
check "register a version 9 table whose replacecommits are all archived" \
    "$TARN" register default.v9 "$TMP/v9"
expect_eq "the latest rows: what the archived overwrite and clustering replaced stays out" \
    "$(q "SELECT string_agg(txn_id, ' ' ORDER BY txn_id) FROM v9")" \
    "TXN-001 TXN-003 TXN-007 TXN-008 TXN-011 TXN-012 TXN-013 TXN-014 TXN-015 TXN-016 TXN-017 TXN-018"
# shellcheck disable=SC2086
lsm "$TMP/v9b" "SELECT * REPLACE (CASE WHEN action = 'replacecommit' THEN NULL ELSE metadata END AS metadata) FROM (%s)" $V9 ||
    bad "cannot write the LSM timeline file"
check_fails "an archived replacecommit without its metadata is refused" 2 \
    "has no readable commit metadata; tarn cannot tell the file groups it replaced" \
    "$TARN" register default.v9b "$TMP/v9b"

#---- damaged archives: refused with what is wrong, nothing registered ----
fixture cow_v6_simplekeygen_nonhivestyle "$TMP/cut6"
$ARCHIVE "$TMP/cut6" $C1
archived=$TMP/cut6/.hoodie/archived/$(ls -A "$TMP/cut6/.hoodie/archived")
cp -r "$TMP/cut6" "$TMP/junk6"
head -c 100 "$archived" >"$TMP/cut.archive" && mv "$TMP/cut.archive" "$archived"
check_fails "a truncated version 6 archive file is refused" 2 \
    "cannot read the archived timeline file" "$TARN" register default.cut6 "$TMP/cut6"
head -c 4096 /dev/urandom >"$TMP/junk6/.hoodie/archived/$(basename "$archived")"
check_fails "an archive file of random bytes is refused" 2 \
    "cannot read the archived timeline file" "$TARN" register default.junk6 "$TMP/junk6"
expect_eq "none of them was registered" \
    "$(q "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('cut6', 'junk6')")" "0"

#---- nothing left on the active timeline ----
fixture cow_v6_nonpartitioned "$TMP/all"
$ARCHIVE "$TMP/all" 20240418173550988 20240418173551906
check_fails "a table whose every commit is archived is refused" 2 \
    "has archived instants but no completed commit on its active timeline" \
    "$TARN" register default.all "$TMP/all"

finish
