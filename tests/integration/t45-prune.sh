#!/usr/bin/env bash
# t45-prune.sh - scan planning: each pruning rule seen in `tarn sql --explain`'s counts (and in
# EXPLAIN over HTTP), results always equal to the unpruned answer (a CTE hides the WHERE from
# the planner), min/max answered from metadata only when no deletes apply, and a second plan of
# an unchanged table reading nothing (the plan cache's misses in /metrics stay put).
source "$(dirname "$0")/lib.sh"

# Four appends of one day-partitioned table: days 2026-01-01 .. 2026-01-12, 3 days per append,
# so four manifests with disjoint day ranges. v has NULLs and NaNs; s has long strings (their
# bounds are truncated).
python3 - "$TMP" <<'EOF'
import sys
tmp = sys.argv[1]
for part in range(4):
    with open(f"{tmp}/ev{part}.csv", "w") as f:
        f.write("id,ts,region,v,s\n")
        for i in range(part * 60, part * 60 + 60):
            day = 1 + i // 20
            v = "" if i % 10 == 0 else ("nan" if i % 17 == 0 else f"{i * 1.5}")
            f.write(f"{i},2026-01-{day:02d} {i % 24:02d}:00:00,r{i % 4},{v},"
                    f"a-long-prefix-shared-by-all-{i:04d}\n")
EOF
check "create a day(ts) table" "$TARN" ingest ev "$TMP/ev0.csv" --partition-by 'day(ts)'
for p in 1 2 3; do
    check "append part $p" "$TARN" ingest ev "$TMP/ev$p.csv" --mode append
done

# plan SQL: "kept/total manifests kept/total files" from tarn sql --explain.
plan() {
    "$TARN" sql --explain "$1" | sed -nE \
        's/^tarn scan .*manifests ([0-9]+) of ([0-9]+) kept, data files ([0-9]+) of ([0-9]+) kept.*/\1\/\2 \3\/\4/p'
}
# same WHERE: the pruned answer equals the answer with pruning out of the way.
same() {
    local pruned full
    pruned=$(q "SELECT count(*), sum(id) FROM ev WHERE $1")
    full=$(q "WITH u AS (SELECT * FROM ev) SELECT count(*), sum(id) FROM u WHERE $1")
    expect_eq "same rows as unpruned: $1" "$pruned" "$full"
}

expect_eq "no filter plans every manifest and file" "$(plan "SELECT * FROM ev")" "4/4 12/12"
expect_eq "day(ts) from ts >=: manifests and files skipped" \
    "$(plan "SELECT * FROM ev WHERE ts >= '2026-01-11'")" "1/4 2/12"
expect_eq "ts range inside one day" \
    "$(plan "SELECT * FROM ev WHERE ts >= '2026-01-05 03:00:00' AND ts < '2026-01-05 04:00:00'")" "1/4 1/12"
expect_eq "BETWEEN on ts" \
    "$(plan "SELECT * FROM ev WHERE ts BETWEEN '2026-01-03' AND '2026-01-04 23:59:59'")" "2/4 2/12"
expect_eq "comparison on a non-partition column (bounds)" \
    "$(plan "SELECT * FROM ev WHERE id = 130")" "4/4 1/12"
expect_eq "IN on a non-partition column" \
    "$(plan "SELECT * FROM ev WHERE id IN (5, 130, 9999)")" "4/4 2/12"
expect_eq "OR of two partitions" \
    "$(plan "SELECT * FROM ev WHERE ts < '2026-01-02' OR ts >= '2026-01-12'")" "2/4 2/12"
expect_eq "OR of a partition and bounds (manifests know only partitions)" \
    "$(plan "SELECT * FROM ev WHERE ts < '2026-01-02' OR id >= 220")" "4/4 2/12"
expect_eq "OR with an unknown side keeps everything" \
    "$(plan "SELECT * FROM ev WHERE id = 5 OR lower(region) = 'r1'")" "4/4 12/12"
expect_eq "IS NULL (null counts)" "$(plan "SELECT * FROM ev WHERE v IS NULL")" "4/4 12/12"
expect_eq "IS NULL on a column without nulls" "$(plan "SELECT * FROM ev WHERE id IS NULL")" "4/4 0/12"
expect_eq "IS NOT NULL keeps files with values" "$(plan "SELECT * FROM ev WHERE ts IS NOT NULL")" "4/4 12/12"

for w in "id = 130" "id = 0" "id = 239" "id < 0" "id <= 0" "id > 239" "id >= 239" \
    "id IN (5, 130, 9999)" "id BETWEEN 19 AND 20" "ts >= '2026-01-11'" \
    "ts = '2026-01-02 00:00:00'" "ts < '2026-01-02'" "ts <= '2026-01-02'" "ts > '2026-01-11 23:00:00'" \
    "v IS NULL" "v IS NOT NULL" "v > 300" "v < 10" "v = 1.5" "v <> v" \
    "s = 'a-long-prefix-shared-by-all-0007'" "s > 'a-long-prefix-shared-by-all-0200'" \
    "s < 'a-long-prefix-shared-by-all-0001'" "region IN ('r1', 'r2') AND id < 30" \
    "ts < '2026-01-02' OR id >= 220" "NOT (id < 200)" "id = 5 OR v IS NULL"; do
    same "$w"
done

# min/max from metadata: exact for ints and timestamps, not for strings or doubles
out=$("$TARN" sql --explain "SELECT min(id), max(id), min(ts) FROM ev" | head -1)
case $out in *"answered from metadata"*) ok "min/max of id, ts answered from metadata" ;;
    *) bad "min/max of id, ts answered from metadata: $out" ;; esac
expect_eq "min/max from metadata equal DuckDB's" \
    "$(q "SELECT min(id), max(id), min(ts), max(ts) FROM ev")" \
    "$(q "WITH u AS (SELECT * FROM ev) SELECT min(id), max(id), min(ts), max(ts) FROM u")"
out=$("$TARN" sql --explain "SELECT max(s) FROM ev" | head -1)
case $out in *"answered from metadata"*) bad "max of a string is read: $out" ;;
    *) ok "max of a string (truncated bounds) is read" ;; esac
out=$("$TARN" sql --explain "SELECT max(v) FROM ev" | head -1)
case $out in *"answered from metadata"*) bad "max of a double is read: $out" ;;
    *) ok "max of a double (NaN) is read" ;; esac

# deletes: an unpartitioned table with a position delete
printf 'id,n\n1,a\n2,b\n3,c\n' >"$TMP/u.csv"
check "create an unpartitioned table" "$TARN" ingest u "$TMP/u.csv"
out=$("$TARN" sql --explain "SELECT max(id) FROM u" | head -1)
case $out in *"answered from metadata"*) ok "max(id) answered before deletes" ;;
    *) bad "max(id) answered before deletes: $out" ;; esac
check "delete the max row" "$TARN" sql "DELETE FROM u WHERE id = 3"
out=$("$TARN" sql --explain "SELECT max(id) FROM u" | head -1)
case $out in *"answered from metadata"*) bad "max(id) read when deletes apply: $out" ;;
    *"1 delete file"*) ok "max(id) read when deletes apply" ;;
    *) bad "max(id) read when deletes apply: $out" ;; esac
expect_eq "max(id) follows the delete" "$(q "SELECT max(id), count(*) FROM u")" "2,2"

# HTTP: EXPLAIN carries the counts; a second plan of an unchanged table reads no file
start_server "$WH" --no-auth || { bad "server start"; finish; exit 1; }
status_is "EXPLAIN over HTTP" 200 call GET "/query?sql=EXPLAIN%20SELECT%20*%20FROM%20ev%20WHERE%20ts%20%3E%3D%20%272026-01-11%27"
expect_eq "EXPLAIN's plan: files kept and considered" \
    "$(jv '[d["plan"][0]["data_files_kept"], d["plan"][0]["data_files_total"], d["plan"][0]["manifests_kept"]]')" "[2, 12, 1]"
expect_eq "EXPLAIN's first row names the scan" "$(jv 'd["rows"][0][0]')" "tarn_scan"
misses() { curl -s "$BASE/metrics" | sed -nE 's/^tarn_plan_cache_total\{result="miss"\} ([0-9]+)$/\1/p'; }
hits() { curl -s "$BASE/metrics" | sed -nE 's/^tarn_plan_cache_total\{result="hit"\} ([0-9]+)$/\1/p'; }
csvq "SELECT count(*) FROM ev WHERE id > 5" >/dev/null
m1=$(misses); h1=$(hits)
expect_eq "the query again" "$(csvq "SELECT count(*) FROM ev WHERE id > 5")" "234"
m2=$(misses); h2=$(hits)
expect_eq "second plan: no cache miss (no manifest read)" "$m2" "$m1"
check "second plan: cache hits counted" test "$h2" -gt "$h1"

finish
