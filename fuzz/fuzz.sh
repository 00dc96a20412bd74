#!/usr/bin/env bash
# fuzz.sh - the fuzz targets' two runs (the Makefile builds the binaries first):
#   fuzz.sh replay BUILD NAME...   every file of fuzz/corpus/NAME/ through BUILD/replay_NAME (a
#                                  plain main, under ASan/UBSan); a crash, sanitizer report or
#                                  leak fails that file, and a target without seeds fails.
#                                  Ends "N passed, N failed".
#   fuzz.sh run SECONDS NAME...    libFuzzer for SECONDS on each target (build/fuzz/fuzz_NAME),
#                                  starting from fuzz/corpus/NAME/ plus what earlier runs found
#                                  (kept in build/fuzz/corpus/NAME/, outside the repository);
#                                  a crash is saved in build/fuzz/crashes/. Ends "N passed, N failed".
# A crash found by a run becomes a regression test by copying its file into fuzz/corpus/NAME/.
set -u
cd "$(dirname "$0")/.."
mode=$1 arg=$2
shift 2
pass=0 fail=0
case $mode in
replay)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    for name in "$@"; do
        if ! compgen -G "fuzz/corpus/$name/*" >/dev/null; then
            fail=$((fail + 1)); echo "FAIL $name: no seeds in fuzz/corpus/$name/ (add a few, see fuzz/corpus/README)"
        fi
        files=(fuzz/corpus/"$name"/*)
        [ -f "${files[0]}" ] || continue
        # one process for the whole corpus; when it fails, one a file to name the culprits
        if "$arg/replay_$name" "${files[@]}" >/dev/null 2>&1; then
            pass=$((pass + ${#files[@]}))
            for f in "${files[@]}"; do echo "ok   $name: $(basename "$f")"; done
            continue
        fi
        for f in "${files[@]}"; do
            if out=$("$arg/replay_$name" "$f" 2>&1); then
                pass=$((pass + 1)); echo "ok   $name: $(basename "$f")"
            else
                fail=$((fail + 1)); echo "FAIL $name: $(basename "$f")"
                echo "$out" | tail -n 30 | sed 's/^/    /'
            fi
        done
    done
    ;;
run)
    mkdir -p build/fuzz/crashes
    for name in "$@"; do
        mkdir -p "build/fuzz/corpus/$name"
        log=build/fuzz/$name.log seeds=()
        [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
        if build/fuzz/fuzz_"$name" -max_total_time="$arg" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$name-" \
            "build/fuzz/corpus/$name" "${seeds[@]}" >"$log" 2>&1; then
            pass=$((pass + 1))
            echo "ok   $name: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs in $arg s"
        else
            fail=$((fail + 1)); echo "FAIL $name: see $log; the input is in build/fuzz/crashes/"
            grep -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$log" | head -n 20 | sed 's/^/    /'
        fi
    done
    ;;
*)
    echo "usage: fuzz.sh replay BUILD NAME... | fuzz.sh run SECONDS NAME..." >&2
    exit 2
    ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
