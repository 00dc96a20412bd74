#!/usr/bin/env bash
# run.sh - every test: unit tests (plain, then under AddressSanitizer and
# UndefinedBehaviorSanitizer), the fuzz corpora replayed, integration tests against the built
# binary, and interop tests that check tarn's files with other people's readers
# (../shared/interop). Each suite ends with a line
# "N passed, N failed[, N skipped]"; this script adds them up and ends with the same line.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SHARED:-$(cd .. && pwd)/shared}
PASS=0 FAIL=0 SKIP=0
LOGS=build/test-logs
mkdir -p "$LOGS"

# suite NAME CMD...: run one suite, echo its output, add up its closing line.
suite() {
    local name=$1; shift
    local log=$LOGS/$name.log t0=$SECONDS
    echo "=== $name"
    "$@" 2>&1 | tee "$log" | grep -E '^(FAIL|skip) |^    ' || true
    local last
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$last" ]; then
        echo "=== $name: no result line (crashed?); counted as 1 failure"; tail -n 20 "$log"
        FAIL=$((FAIL + 1)); return
    fi
    local p f s
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + ${s:-0}))
    echo "=== $name: $last ($((SECONDS - t0)) s)"
}

make -s all build/unit_tests || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -d build/interop/node_modules ]; then
    rm -rf build/interop && cp -r "$SHARED/interop" build/interop
    (cd build/interop && npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
        echo "warning: could not install the interop checkers"
fi

suite unit bash -c "cd tests/unit && ../../build/unit_tests"
suite unit-asan make -s test-asan
# every fuzz corpus file through its target under ASan/UBSan (reuses the build test-asan made)
suite fuzz-replay make -s test-fuzz
export TARN=$ROOT/build/tarn SHARED INTEROP=$ROOT/build/interop
# TARN_TEST_S3=0 leaves out everything that starts an S3 server (t70 and the S3 pass), each
# counted as skipped, for a machine where that is unwelcome.
no_s3() { [ "${TARN_TEST_S3:-1}" = 0 ]; }
for t in tests/integration/t*.sh tests/interop/t*.sh; do
    [ -f "$t" ] || continue
    if no_s3 && [ "$(basename "$t")" = t70-s3.sh ]; then
        echo "skip t70-s3 -- TARN_TEST_S3=0"; SKIP=$((SKIP + 1)); continue
    fi
    suite "$(basename "$t" .sh)" bash "$t"
done
# The suites for which S3 means something, again on an S3 warehouse (lib.sh's
# TARN_TEST_STORAGE=s3): one Ceph RADOS Gateway (tests/s3.sh) serves them all and is stopped
# at the end, also on a failure or an interrupt. t70 is S3-only already; t20 copies its
# fixtures into the bucket first; t106 (Delta on S3) runs on this pass only.
. tests/s3.sh
trap s3_stop EXIT
trap 'exit 130' INT TERM
t0=$SECONDS
if no_s3; then
    echo "skip s3 pass -- TARN_TEST_S3=0"
    SKIP=$((SKIP + 1))
elif ! command -v radosgw >/dev/null 2>&1; then
    echo "skip s3 pass -- radosgw is not installed (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)"
    SKIP=$((SKIP + 1))
elif s3_start >"$LOGS/s3-start.log" 2>&1; then
    for t in t10-write-read t15-commits t20-fixtures t30-http t32-arrow t35-http-changes t40-evolution \
        t45-partition-maintenance t45-prune t60-cli t80-rest t95-one-commit t106-delta-s3 t107-hudi-s3 \
        t110-s3-ingest t117-v3-dv; do
        suite "$t-s3" bash "tests/integration/$t.sh"
    done
    suite t50-interop-s3 bash tests/interop/t50-interop.sh
    s3_stop
    echo "=== S3 pass: $((SECONDS - t0)) s"
else
    echo "=== s3: the Ceph RADOS Gateway did not start; counted as 1 failure"
    tail -n 20 "$LOGS/s3-start.log"
    FAIL=$((FAIL + 1))
fi
# The core flows again against the binary built with AddressSanitizer and
# UndefinedBehaviorSanitizer (make test-asan built it): any leak, overflow or UB aborts a
# command, and the checks see it.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TARN=$ROOT/build/asan/tarn
for t in t10-write-read t15-commits t30-http t32-arrow t40-evolution; do
    suite "$t-asan" bash "tests/integration/$t.sh"
done
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
