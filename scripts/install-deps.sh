#!/usr/bin/env bash
# install-deps.sh - install what tarn needs to build, test and run on Debian 12 or Ubuntu:
# compilers and libraries from the distribution (apt-get), DuckDB from the npm registry
# (pinned in package-lock.json), and the npm packages the tests read tarn's output with (the Arrow
# reader here; tests/run.sh installs the interop checkers). Runs as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and libclang-rt-14-dev: the clang build and the libFuzzer targets (make fuzz);
# cppcheck: make lint; clang-format: make format / format-check.
packages=(build-essential clang libclang-rt-14-dev cppcheck clang-format pkg-config libjansson-dev
          libsqlite3-dev zlib1g-dev libsnappy-dev libzstd-dev libmicrohttpd-dev
          libcurl4-openssl-dev libedit-dev libssl-dev libpq-dev curl sqlite3 python3
          postgresql                   # a real PostgreSQL source for the source tests
          radosgw ceph-mon ceph-osd    # a real S3 server for the S3 tests
          chromium firefox-esr)        # the browsers the console's tests drive
# Node.js and npm fetch DuckDB from the npm registry; take Debian's only when none is installed
# (a newer Node with its own npm conflicts with Debian's npm package).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# unzip: the zipped Hudi fixtures (../shared/hudi-fixtures)
packages+=(unzip)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi
if [ ! -f node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so ] ||
   [ ! -f node_modules/duckdb/src/duckdb/src/include/duckdb.h ]; then
    npm ci --ignore-scripts --no-audit --no-fund
fi
# apache-arrow for t32-arrow (the test installs it too when this has not)
if [ ! -f build/arrow-check/node_modules/apache-arrow/package.json ]; then
    mkdir -p build/arrow-check
    cp tests/integration/arrow-check/package.json tests/integration/arrow-check/package-lock.json \
       build/arrow-check/
    (cd build/arrow-check && npm ci --ignore-scripts --no-audit --no-fund)
fi
