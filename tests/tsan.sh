#!/usr/bin/env bash
# tsan.sh - the concurrency tests against tarn built with ThreadSanitizer (build/tsan/tarn; make
# test-tsan builds it and runs this): t15-commits (8 processes committing to one table at once)
# and t98-load (one server: 8 writers and 4 readers for 25 s, what t30-http's concurrency part
# does, longer). TSAN_SUITES picks others, e.g. "t30-http" (its watchdog and graceful stop too;
# over 15 minutes under TSan on a busy 2-core machine). A ThreadSanitizer report makes that tarn
# process exit 66, so the check fails, and is counted once more here; reports are kept in
# build/tsan/reports/. tests/tsan.supp says what is suppressed and why (DuckDB is not
# instrumented). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REPORTS=build/tsan/reports
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
export TARN=$ROOT/build/tsan/tarn
export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp log_path=$ROOT/$REPORTS/tsan exitcode=66 ${TSAN_OPTIONS:-}"
pass=0 fail=0
for t in ${TSAN_SUITES:-t15-commits t98-load}; do
    log=build/tsan/$t.log t0=$SECONDS
    bash "tests/integration/$t.sh" >"$log" 2>&1
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    grep -E '^FAIL ' "$log"
    if [ -z "$last" ]; then
        echo "FAIL $t: no result line (crashed?)"; fail=$((fail + 1)); continue
    fi
    pass=$((pass + ${last%% passed*}))
    f=${last#* passed, }
    fail=$((fail + ${f%% failed*}))
    echo "=== $t under TSan: $last ($((SECONDS - t0)) s)"
done
for r in "$REPORTS"/*; do
    [ -f "$r" ] || continue
    fail=$((fail + 1))
    echo "FAIL tsan: $(grep -c '^WARNING: ThreadSanitizer' "$r") report(s) in $r, first:"
    grep -m 1 -A 30 '^WARNING: ThreadSanitizer' "$r" | sed 's/^/    /'
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
