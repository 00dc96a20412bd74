#!/usr/bin/env bash
# t70-s3.sh - a warehouse on S3: the Ceph RADOS Gateway started by ../shared/interop/s3-server.sh
# (a real S3 that verifies SigV4 signatures and payload hashes). Ingest, query, append, time
# travel, ALTER TABLE, DELETE, overwrite; s3:// locations in the metadata; the cache (a second
# query makes no GET, read from the counters TARN_STORAGE_STATS=1 prints); wrong credentials and
# a missing bucket; multipart uploads, and a failing one aborted; the server stopped in the
# middle of an ingest; the independent reader; and the live S3 unit suite (list pagination,
# batch delete, ranged GET, create-only PUT).
. "$(dirname "$0")/lib.sh"

if ! command -v radosgw >/dev/null 2>&1; then
    skip "S3 warehouse on Ceph RGW" \
        "radosgw is not installed (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)"
    finish
    exit
fi

. "$(dirname "$0")/../s3.sh"
S3DIR=$TMP/s3
KEY=tarnaccess$RANDOM
SECRET=tarnsecret$RANDOM$RANDOM
trap 'bash "$S3_SERVER" stop "$S3DIR" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
if ! AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET s3_launch "$S3DIR" bucket >"$TMP/s3-start.out"; then
    bad "start the S3 server"
    sed 's/^/    /' "$TMP/s3-start.out" | tail -20
    finish
    exit
fi
PORT=$S3_PORT
ENDPOINT=http://127.0.0.1:$PORT
ok "S3 server (Ceph RGW) on port $PORT"

export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET
export TARN_WAREHOUSE=s3://bucket/wh TARN_S3_ENDPOINT=$ENDPOINT
export TARN_CATALOG=$TMP/catalog.db TARN_CACHE_DIR=$TMP/cache
unset AWS_SESSION_TOKEN TARN_STORAGE_STATS TARN_S3_FAULT

# s3curl ARGS...: a signed request with curl (payload: empty).
s3curl() {
    curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$@"
}
# counter NAME FILE: a counter from the "tarn storage:" line of FILE.
counter() { grep -o "tarn storage: .*" "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
metadata_location() {
    sqlite3 "$TARN_CATALOG" "SELECT metadata_location FROM iceberg_tables WHERE table_name = '$1'"
}

printf 'id,name,amount\n1,apple,1.5\n2,banana,2.5\n3,cherry,3.5\n' >"$TMP/a.csv"
printf 'id,name,amount\n4,date,4.5\n5,elder,5.5\n' >"$TMP/b.csv"
printf 'id,name,amount,note\n10,fig,10.5,new\n' >"$TMP/c.csv"

#---- the table core on S3 ----
check "ingest a CSV into s3://bucket/wh" "$TARN" ingest sales "$TMP/a.csv"
expect_eq "query it" "$(q 'SELECT id, name, amount FROM sales ORDER BY id')" \
    "$(printf '1,apple,1.5\n2,banana,2.5\n3,cherry,3.5')"
S1=$(q 'SELECT snapshot_id FROM "sales$snapshots"')
loc=$(metadata_location sales)
expect_eq "the catalog points at an s3:// metadata file" "${loc%%/metadata/*}" "s3://bucket/wh/default/sales"
expect_eq "the metadata's location is s3://" \
    "$(q 'SELECT DISTINCT split_part(manifest_list, '"'"'/metadata/'"'"', 1) FROM "sales$snapshots"')" \
    "s3://bucket/wh/default/sales"
expect_eq "data files are s3:// locations" \
    "$(q 'SELECT DISTINCT regexp_replace(file_path, '"'"'[0-9a-f-]{36}'"'"', '"'"'U'"'"') FROM "sales$files"')" \
    "s3://bucket/wh/default/sales/data/U.parquet"
# the objects are in the bucket, not on the local disk
s3curl "$ENDPOINT/bucket?list-type=2&prefix=wh%2Fdefault%2Fsales%2F" >"$TMP/list.xml"
expect_eq "the bucket holds the table's files (metadata, list, manifest, data)" \
    "$(grep -o '<Key>[^<]*</Key>' "$TMP/list.xml" | wc -l | tr -d ' ')" 4

check "append" "$TARN" ingest sales "$TMP/b.csv"
expect_eq "appended rows are read" "$(q 'SELECT count(*), sum(id) FROM sales')" "5,15"
expect_eq "time travel to the first snapshot" \
    "$(q "SELECT count(*) FROM sales AT (VERSION => $S1)")" 3
check "ALTER TABLE ADD COLUMN" "$TARN" sql "ALTER TABLE sales ADD COLUMN note VARCHAR"
check "ingest with the new column" "$TARN" ingest sales "$TMP/c.csv"
expect_eq "the new column reads (null before it existed)" \
    "$(q 'SELECT id, note FROM sales WHERE id IN (1, 10) ORDER BY id')" "$(printf '1,\n10,new')"
check "DELETE FROM (a delete file on S3)" "$TARN" sql "DELETE FROM sales WHERE id = 2"
expect_eq "the deleted row is gone" "$(q 'SELECT count(*) FROM sales')" 5
expect_eq "the past snapshot still reads whole" \
    "$(q "SELECT count(*) FROM sales AT (VERSION => $S1)")" 3
check "overwrite" "$TARN" ingest sales "$TMP/a.csv" --mode overwrite
expect_eq "overwrite replaced every row" "$(q 'SELECT count(*), sum(id) FROM sales')" "3,6"

#---- the cache: a second query over the same snapshot makes no GET ----
rm -rf "$TMP/cache2"
TARN_CACHE_DIR=$TMP/cache2 TARN_STORAGE_STATS=1 "$TARN" sql 'SELECT sum(amount) FROM sales' \
    >"$TMP/q1.out" 2>"$TMP/q1.err"
TARN_CACHE_DIR=$TMP/cache2 TARN_STORAGE_STATS=1 "$TARN" sql 'SELECT sum(amount) FROM sales' \
    >"$TMP/q2.out" 2>"$TMP/q2.err"
g1=$(counter get "$TMP/q1.err")
if [ -n "$g1" ] && [ "$g1" -ge 2 ]; then ok "a cold query fetches its files ($g1 GETs)"; else bad "a cold query fetches its files (get=$g1)"; cat "$TMP/q1.err"; fi
expect_eq "a second query over the same snapshot sends no request" \
    "$(counter requests "$TMP/q2.err"),$(counter get "$TMP/q2.err")" "0,0"
expect_eq "... and reads from the cache" "$(counter cache_misses "$TMP/q2.err")" 0
expect_eq "... with the same answer" "$(cat "$TMP/q2.out")" "$(cat "$TMP/q1.out")"

#---- errors the user can act on ----
check_fails "a wrong secret key is a clear error" 2 \
    "S3 rejected the credentials (SignatureDoesNotMatch) for bucket bucket" \
    env AWS_SECRET_ACCESS_KEY=WrongSecret42 TARN_CACHE_DIR="$TMP/cache3" "$TARN" sql 'SELECT count(*) FROM sales'
cp "$TMP/err" "$TMP/creds1.err"
check_fails "a wrong access key is a clear error" 2 "check AWS_ACCESS_KEY_ID" \
    env AWS_ACCESS_KEY_ID=nobody TARN_CACHE_DIR="$TMP/cache3" "$TARN" ingest sales "$TMP/b.csv"
cp "$TMP/err" "$TMP/creds2.err"
check_fails "missing credentials" 2 "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" \
    env -u AWS_ACCESS_KEY_ID "$TARN" sql 'SELECT 1'
check_fails "a missing bucket is NoSuchBucket (not found)" 3 "S3 bucket 'nobucket' does not exist" \
    env TARN_WAREHOUSE=s3://nobucket/wh TARN_CATALOG="$TMP/other.db" "$TARN" ingest x "$TMP/a.csv"
expect_eq "the credentials never appear in messages" \
    "$(cat "$TMP"/*.err | grep -c -e "$SECRET" -e WrongSecret42)" 0
check_fails "a wrong endpoint is a clear error" 5 "cannot reach S3 at http://127.0.0.1:1" \
    env TARN_S3_ENDPOINT=http://127.0.0.1:1 TARN_S3_MAX_ATTEMPTS=2 "$TARN" ingest sales "$TMP/b.csv"
expect_eq "... and commits nothing" "$(q 'SELECT count(*) FROM sales')" 3

#---- multipart uploads ----
python3 - "$TMP/big.csv" <<'EOF'
import random, string, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    f.write("id,payload,v\n")
    for i in range(200000):
        f.write("%d,%s,%d\n" % (i, "".join(r.choices(string.ascii_letters, k=60)), i % 7))
EOF
export TARN_S3_MULTIPART_THRESHOLD=5MiB TARN_S3_PART_SIZE=5MiB
TARN_STORAGE_STATS=1 "$TARN" ingest big "$TMP/big.csv" >"$TMP/mp.out" 2>"$TMP/mp.err"
expect_eq "a multipart upload (5 MiB parts, in parallel) succeeds" \
    "$(counter multipart "$TMP/mp.err"),$(counter multipart_aborts "$TMP/mp.err")" "1,0"
expect_eq "... and the table reads whole from a cold cache" \
    "$(TARN_CACHE_DIR=$TMP/cache4 q 'SELECT count(*), sum(v), count(DISTINCT payload) FROM big')" \
    "200000,599994,200000"
check_fails "a multipart upload whose part is refused fails" 2 "multipart upload aborted: part " \
    env TARN_S3_FAULT=part=2 "$TARN" ingest big "$TMP/big.csv"
s3curl "$ENDPOINT/bucket?uploads=" >"$TMP/uploads.xml"
if grep -q '<ListMultipartUploadsResult' "$TMP/uploads.xml" && ! grep -q '<Upload>' "$TMP/uploads.xml"; then
    ok "... and is aborted: no incomplete upload remains"
else
    bad "... and is aborted: no incomplete upload remains"; sed 's/^/    /' "$TMP/uploads.xml"
fi
expect_eq "... and commits nothing" "$(q 'SELECT count(*) FROM big')" 200000
unset TARN_S3_MULTIPART_THRESHOLD TARN_S3_PART_SIZE

#---- the server stopped in the middle of an ingest ----
before=$(q 'SELECT count(*), max(snapshot_id) FROM "sales$snapshots"')
# every request waits 700 ms, so the ingest's requests span several seconds
TARN_S3_FAULT=delay=700 TARN_S3_MAX_ATTEMPTS=3 "$TARN" ingest sales "$TMP/b.csv" \
    >"$TMP/stop.out" 2>"$TMP/stop.err" &
ingest=$!
sleep 1.5
rgw=$(cat "$S3DIR/run/client.rgw.pid")
kill "$rgw"
for _ in $(seq 100); do kill -0 "$rgw" 2>/dev/null || break; sleep 0.1; done
wait "$ingest"
code=$?
if [ "$code" -ne 0 ] && grep -q "cannot reach S3 at $ENDPOINT" "$TMP/stop.err"; then
    ok "the S3 server stopped mid-ingest: a clear error (exit $code)"
else
    bad "the S3 server stopped mid-ingest: a clear error (exit $code)"; sed 's/^/    /' "$TMP/stop.err"
fi
radosgw -c "$S3DIR/ceph.conf" -n client.rgw
for _ in $(seq 100); do curl -s -o /dev/null "$ENDPOINT/" && break; sleep 0.2; done
expect_eq "... nothing was committed" "$(q 'SELECT count(*), max(snapshot_id) FROM "sales$snapshots"')" "$before"
expect_eq "... and with the server back the table reads at its previous snapshot" \
    "$(TARN_CACHE_DIR=$TMP/cache5 q 'SELECT count(*), sum(id) FROM sales')" "3,6"
check "... and takes the next ingest" "$TARN" ingest sales "$TMP/b.csv"
expect_eq "... which reads" "$(q 'SELECT count(*) FROM sales')" 5

#---- another reader: icebird reads the table from the S3 server ----
if [ -d "$INTEROP/node_modules" ]; then
    node "$INTEROP/iceberg-read.mjs" "$(metadata_location sales)" --s3-endpoint "$ENDPOINT" --rows-only \
        >"$TMP/icebird.out" 2>&1
    expect_eq "the independent reader (icebird) reads the table from S3" \
        "$(grep -c '"id":' "$TMP/icebird.out"),$(grep -o '"id":[0-9]*' "$TMP/icebird.out" | sort | tr '\n' ' ')" \
        '5,"id":1 "id":2 "id":3 "id":4 "id":5 '
else
    skip "the independent reader reads the table from S3" "no $INTEROP/node_modules (tests/run.sh installs it)"
fi

#---- remove_orphans on S3: ListObjectsV2's LastModified is the file's age ----
ROWS=$(q 'SELECT count(*) FROM sales')
s3curl -X PUT -H "Content-Length: 0" "$ENDPOINT/bucket/wh/default/sales/data/orphan.parquet" -o /dev/null
"$TARN" maintain sales remove-orphans >"$TMP/orph1.out" 2>&1
"$TARN" maintain sales remove-orphans --older-than 0s --dry-run >"$TMP/orph2.out" 2>&1
expect_eq "a new orphan is kept by the 1d margin, listed by a 0s dry run" \
    "$(grep -c 'orphan.parquet' "$TMP/orph1.out"),$(grep -c 'would delete s3://bucket/wh/default/sales/data/orphan.parquet' "$TMP/orph2.out")" "0,1"
check "remove-orphans --older-than 0s on S3" "$TARN" maintain sales remove-orphans --older-than 0s
expect_eq "the orphan object is gone, the table reads" \
    "$(s3curl "$ENDPOINT/bucket?list-type=2&prefix=wh%2Fdefault%2Fsales%2Fdata%2Forphan" | grep -c '<Key>'),$(q 'SELECT count(*) FROM sales')" "0,$ROWS"

#---- the REST catalog hands clients the S3 settings given on the command line ----
rport=$(shuf -i 20000-60999 -n 1)
env -u TARN_S3_ENDPOINT "$TARN" serve --port "$rport" --s3-endpoint "$ENDPOINT" --s3-region us-east-1 \
    2>"$TMP/rest.log" &
rpid=$!
for i in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$rport/health" && break
    sleep 0.1
done
curl -s "http://127.0.0.1:$rport/iceberg/v1/namespaces/default/tables/sales" >"$TMP/load.json"
expect_eq "loadTable config carries the server's S3 endpoint, and no secret" \
    "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; print(c.get("s3.endpoint"), c.get("s3.path-style-access"), "s3.secret-access-key" in c)' "$TMP/load.json")" \
    "$ENDPOINT true False"
kill -TERM "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null

#---- the storage calls themselves: list with pagination, batch delete, ranged GET ----
UNIT=$(dirname "$TARN")/unit_tests
if [ -x "$UNIT" ]; then
    (cd "$ROOT/tests/unit" && TARN_TEST_S3_ENDPOINT=$ENDPOINT "$UNIT" s3_live) >"$TMP/unit.out" 2>&1
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/unit.out")
    if [ -n "$last" ] && [ "${last#* passed, }" = "0 failed, 0 skipped" ] && [ "${last%% *}" -gt 0 ]; then
        ok "live S3 storage unit tests ($last)"
    else
        bad "live S3 storage unit tests"; sed 's/^/    /' "$TMP/unit.out" | tail -20
    fi
else
    skip "live S3 storage unit tests" "no $UNIT (make build/unit_tests)"
fi

finish
