#!/usr/bin/env bash
# s3.sh - one Ceph RADOS Gateway (../shared/interop/s3-server.sh) for a whole set of integration
# tests, so that they run on an S3 warehouse (lib.sh reads TARN_TEST_STORAGE=s3 and the
# variables below). Sourced by tests/run.sh (s3_start, s3_stop), or run directly to start the
# gateway, run one command on it and stop it:
#     bash tests/s3.sh bash tests/integration/t30-http.sh

S3_SERVER=${SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared}/interop/s3-server.sh
S3_DIR=

# s3_launch DIR BUCKET: start a gateway keeping its data in DIR, on two free loopback ports (its
# own and its monitor's), with the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and
# one bucket; sets S3_PORT. Up to 8 tries: the shared script sometimes loses a start-up race
# between the monitor and the storage daemon ("wrong fsid"), which fails at once. On failure:
# the last try's log on stdout, status 1.
s3_launch() {
    local dir=$1 bucket=$2 tries port
    if ! command -v radosgw >/dev/null 2>&1; then
        echo "radosgw is not installed (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)"
        return 1
    fi
    for tries in 1 2 3 4 5 6 7 8; do
        for _ in $(seq 50); do
            port=$((20000 + RANDOM % 20000))
            ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
                ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null && break
        done
        if bash "$S3_SERVER" start --backend rgw "$port" "$dir" "$AWS_ACCESS_KEY_ID" \
            "$AWS_SECRET_ACCESS_KEY" "$bucket" >"$dir.log" 2>&1; then
            S3_PORT=$port
            return 0
        fi
        bash "$S3_SERVER" stop "$dir" >/dev/null 2>&1
        sleep 1
    done
    echo "s3.sh: $tries tries to start the gateway failed; the last one said:"
    tail -n 20 "$dir.log"
    return 1
}

# s3_start: a gateway for a set of suites, with a fresh bucket and random credentials, and the
# variables lib.sh needs exported.
s3_start() {
    S3_DIR=$(mktemp -d /tmp/tarn-s3.XXXXXX)
    export AWS_ACCESS_KEY_ID=tarnaccess$RANDOM AWS_SECRET_ACCESS_KEY=tarnsecret$RANDOM$RANDOM
    unset AWS_SESSION_TOKEN
    s3_launch "$S3_DIR/rgw" tarn-test || return 1
    export TARN_TEST_STORAGE=s3 TARN_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
    export TARN_TEST_S3_BUCKET=tarn-test
}

# s3_stop: stop the gateway s3_start started (safe to call twice, or when it did not start).
s3_stop() {
    [ -n "$S3_DIR" ] || return 0
    bash "$S3_SERVER" stop "$S3_DIR/rgw" >/dev/null 2>&1
    rm -rf "$S3_DIR"
    S3_DIR=
    unset TARN_TEST_STORAGE TARN_TEST_S3_ENDPOINT TARN_TEST_S3_BUCKET
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ $# -gt 0 ] || { echo "usage: bash tests/s3.sh COMMAND [ARGS...]" >&2; exit 2; }
    trap s3_stop EXIT
    trap 'exit 130' INT TERM
    s3_start || exit 1
    "$@"
fi
