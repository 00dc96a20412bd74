# lib.sh - shared by the integration tests: a temporary warehouse, the tarn binary, and checks
# that count passes and failures. Each test script sources this, calls check/expect_*, and ends
# with "finish", whose last line is "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARN=${TARN:-$ROOT/build/tarn}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
FIXTURES=$SHARED/iceberg-fixtures
INTEROP=${INTEROP:-$ROOT/build/interop}
TMP=$(mktemp -d /tmp/tarn-it.XXXXXX)
WH=$TMP/warehouse
export TARN_WAREHOUSE=$WH
T=$(basename "$0" .sh)
PASS=0
FAIL=0
SKIP=0
trap 'rm -rf "$TMP"' EXIT

ok() { PASS=$((PASS + 1)); echo "ok   $T: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $T: $1"; }
# skip DESC REASON: a check that cannot run yet, with the missing feature named.
skip() { SKIP=$((SKIP + 1)); echo "skip $T: $1 -- $2"; }

# check DESC CMD...: the command must succeed.
check() {
    local desc=$1; shift
    if "$@" >"$TMP/out" 2>&1; then ok "$desc"; else bad "$desc"; sed 's/^/    /' "$TMP/out" | head -20; fi
}

# check_fails DESC EXIT_CODE MESSAGE_PART CMD...: the command must fail with that exit code and
# say MESSAGE_PART on stderr.
check_fails() {
    local desc=$1 code=$2 msg=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$code" ] && grep -qF -- "$msg" "$TMP/err"; then
        ok "$desc"
    else
        bad "$desc (exit $got, wanted $code and '$msg')"
        sed 's/^/    /' "$TMP/err" | head -5
    fi
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; echo "    got:      $(echo "$2" | head -c 600)"; echo "    expected: $(echo "$3" | head -c 600)"; fi
}

# q SQL [options]: run a query, print CSV without the header line.
q() { "$TARN" sql "$1" --format csv "${@:2}" 2>&1 | tail -n +2; }

finish() {
    echo "$PASS passed, $FAIL failed, $SKIP skipped"
    [ "$FAIL" -eq 0 ]
}
