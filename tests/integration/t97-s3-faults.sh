#!/usr/bin/env bash
# t97-s3-faults.sh - S3 when the store misbehaves (issue #23): tarn serve talks to a Ceph RGW
# of its own through tests/s3-fault-proxy.mjs, which damages, stalls, trickles or fails chosen
# requests. Each fault strikes during an ingest, appends, a row DELETE, a cold query, a
# compaction or an expiry; once it is removed the same server answers right without a
# restart, nothing was committed for a failed request, no multipart upload is left, and at the
# end every acknowledged write reads right from a fresh server with an empty cache (and from
# a restarted one on the old cache: a damaged download never entered it).
. "$(dirname "$0")/lib.sh"

if ! command -v radosgw >/dev/null 2>&1; then
    skip "S3 faults on Ceph RGW" \
        "radosgw is not installed (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)"
    finish
    exit
fi

. "$(dirname "$0")/../s3.sh"
KEY=tarnaccess$RANDOM
SECRET=tarnsecret$RANDOM$RANDOM
PROXY_PID=
stop_all() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
    bash "$S3_SERVER" stop "$TMP/s3" >/dev/null 2>&1
    cleanup
}
trap stop_all EXIT
if ! AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET s3_launch "$TMP/s3" bucket >"$TMP/s3-start.out"; then
    bad "start the S3 server"
    sed 's/^/    /' "$TMP/s3-start.out" | tail -20
    finish
    exit
fi
RGW=http://127.0.0.1:$S3_PORT
node "$ROOT/tests/s3-fault-proxy.mjs" "$S3_PORT" "$TMP/proxy.port" 2>"$TMP/proxy.log" &
PROXY_PID=$!
for _ in $(seq 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
PROXY=http://127.0.0.1:$(cat "$TMP/proxy.port")
ok "Ceph RGW on port $S3_PORT, the fault proxy in front of it at $PROXY"

export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET
unset AWS_SESSION_TOKEN TARN_S3_FAULT TARN_STORAGE_STATS TARN_TEST_STORAGE
WH=s3://bucket/wh
export TARN_WAREHOUSE=$WH TARN_S3_ENDPOINT=$PROXY TARN_CATALOG=$TMP/catalog.db
# small limits, so that each fault costs seconds: 5 MiB parts, 4 attempts in at most 30 s
export TARN_S3_MULTIPART_THRESHOLD=5MiB TARN_S3_PART_SIZE=5MiB TARN_S3_MAX_ATTEMPTS=4
export TARN_S3_RETRY_SECONDS=30
LIMITS=(--s3-timeout 15 --s3-low-speed-limit 1024 --s3-low-speed-time 2 --query-timeout 30)

# fault JSON_RULES: the proxy's rules from now on ('[]': none).
fault() { curl -sf -X POST "$PROXY/__faults" --data-binary "{\"rules\": $1}" -o /dev/null; }
# hits: how many requests the rules struck since they were set.
hits() { curl -sf "$PROXY/__faults" | python3 -c 'import json, sys; print(sum(r.get("hit", 0) for r in json.load(sys.stdin)["rules"]))'; }
# rgw ARGS...: a signed request straight to the gateway, past the proxy.
rgw() {
    curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$@"
}
# uploads: the multipart uploads under the warehouse that the gateway lists.
uploads() { rgw "$RGW/bucket?prefix=wh%2F&uploads=" | grep -o '<UploadId>' | wc -l | tr -d ' '; }
# cli ARGS...: a tarn command of its own (its own cache), past no fault.
cli() { TARN_CACHE_DIR=$TMP/cache-cli "$TARN" "$@"; }
# timed DESC MAX_SECONDS WANT_STATUS CALL...: the call must answer WANT_STATUS within MAX_SECONDS.
timed() {
    local desc=$1 max=$2 want=$3 t0=$SECONDS got; shift 3
    got=$("$@" --max-time "$max")
    expect_status "$desc ($((SECONDS - t0)) s)" "$want" "$got"
}
# rows TABLE: count and sum of id, through the server.
rows() { csvq "SELECT count(*), sum(id) FROM $1"; }

declare -A WANT # table -> "count,sum" of every acknowledged write
printf 'id,name\n1,a\n2,b\n' >"$TMP/ab.csv"
printf 'id,name\n3,c\n' >"$TMP/c.csv"
python3 - "$TMP/big.csv" <<'EOF'
import random, string, sys
r = random.Random(23)
with open(sys.argv[1], "w") as f:
    f.write("id,name\n")
    for i in range(300000):
        f.write("%d,%s\n" % (i, "".join(r.choices(string.ascii_letters, k=60))))
EOF

TARN_CACHE_DIR=$TMP/cache-srv start_server "$WH" "${LIMITS[@]}" || { finish; exit; }

#---- 1. a damaged download never enters the cache ----
for spec in "metadata file:metadata.json:truncate:truncated" \
    "manifest list:/snap-:flip:with a byte flipped" "manifest:-m0.avro:truncate:truncated" \
    "data file:.parquet:flip:with a byte flipped"; do
    IFS=: read -r what path how said <<<"$spec"
    n_dmg=$((${n_dmg:-0} + 1))
    t=dmg$n_dmg
    cli ingest "$t" "$TMP/ab.csv" >/dev/null 2>&1 || bad "ingest $t"
    WANT[$t]="2,3"
    fault "[{\"method\": \"GET\", \"path\": \"$path\", \"$how\": true}]"
    expect_eq "a cold query while the $what comes $said reads right" "$(rows "$t")" "2,3"
    expect_eq "... (the proxy did damage it)" "$(hits)" 1
    fault '[]'
    expect_eq "... and the same server reads it right again (nothing damaged was cached)" \
        "$(rows "$t")" "2,3"
done
# a store that damages every copy: a 503 that names it, and still nothing cached
cli ingest dmgall "$TMP/ab.csv" >/dev/null 2>&1
WANT[dmgall]="2,3"
fault '[{"method": "GET", "path": "dmgall/metadata/", "truncate": true, "count": 0}]'
status_is "a store that damages every download is a 503, not a 400" 503 \
    call GET "/query?sql=SELECT%20count(*)%20FROM%20dmgall"
expect_eq "... that names the store and the damage" \
    "$(jv 'd["error"]["message"]' | grep -c "S3 at $PROXY sent a damaged copy")" 1
fault '[]'
expect_eq "... and the table reads once the store behaves" "$(rows dmgall)" "2,3"

#---- 2. multipart uploads do not leak ----
cli ingest big "$TMP/ab.csv" >/dev/null 2>&1
WANT[big]="2,3"
before=$(metadata_location big)
fault '[{"method": "PUT", "path": "partNumber=3", "status": 500, "count": 0},
        {"method": "DELETE", "path": "uploadId=", "status": 500, "count": 0}]'
status_is "an ingest whose part 3 and abort both fail is a 503" 503 \
    call POST /ingest/big -H 'Content-Type: text/csv' --data-binary @"$TMP/big.csv"
if jv 'd["error"]["message"]' | grep -q "multipart upload NOT aborted"; then
    ok "... that says truthfully the upload was not aborted"
else
    bad "... that says truthfully the upload was not aborted"; jv 'd["error"]["message"]' | head -c 400; echo
fi
expect_eq "... the upload is indeed still listed" "$(uploads)" 1
fault '[]'
expect_eq "... and nothing was committed" "$(metadata_location big),$(rows big)" "$before,2,3"
status_is "remove_orphans" 200 post /tables/big/maintenance '{"action": "remove_orphans", "older_than": "0s"}'
expect_eq "... aborts the stale upload" "$(jv 'd.get("uploads_aborted")')" 1
expect_eq "... and none is left" "$(uploads)" 0
# what a tarn that crashed during an upload left is found by the next start of tarn serve
rgw -X POST "$RGW/bucket/wh/default/big/data/crashed.parquet?uploads=" -o /dev/null
expect_eq "an upload left by a crash" "$(uploads)" 1
sleep 1.2
MAIN_PID=$SERVER_PID MAIN_BASE=$BASE
TARN_CACHE_DIR=$TMP/cache-srv2 start_server "$WH" --s3-stale-uploads 1 >/dev/null
expect_eq "... is aborted when tarn serve starts" "$(uploads)" 0
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
SERVER_PID=$MAIN_PID BASE=$MAIN_BASE

#---- 3. every request has a deadline; a stall is retried ----
fault '[{"method": "PUT", "path": "partNumber=2", "stall": true}]'
timed "an ingest whose part 2 stalls is retried and lands" 40 200 \
    call POST /ingest/big -H 'Content-Type: text/csv' --data-binary @"$TMP/big.csv"
expect_eq "... (the proxy did stall it)" "$(hits)" 1
fault '[]'
WANT[big]="300002,44999850003"
expect_eq "... and every row is there" "$(rows big)" "${WANT[big]}"
expect_eq "... with no upload left" "$(uploads)" 0

cli ingest stall1 "$TMP/ab.csv" >/dev/null 2>&1
WANT[stall1]="2,3"
fault '[{"method": "GET", "path": "stall1/data/", "stall": true}]'
t0=$SECONDS
expect_eq "a cold query whose data file stalls is retried and answers" "$(rows stall1)" "2,3"
expect_eq "... in a few seconds, not a minute ($((SECONDS - t0)) s)" "$((SECONDS - t0 < 20))" 1
fault '[]'

cli ingest stall2 "$TMP/ab.csv" >/dev/null 2>&1
WANT[stall2]="2,3"
fault '[{"method": "GET", "path": "stall2/data/", "stall": true, "count": 0}]'
timed "a store that stalls every time: the query fails" 40 503 \
    call GET "/query?sql=SELECT%20sum(id)%20FROM%20stall2"
expect_eq "... with a 503 that names the store, not a timeout of the query" \
    "$(jv 'd["error"]["message"]' | grep -c "S3 at $PROXY did not answer GET")" 1
fault '[]'

cli ingest del "$TMP/ab.csv" >/dev/null 2>&1
fault '[{"method": "PUT", "path": "/del/", "trickle": 3}]'
timed "a row DELETE whose PUT answer trickles at 3 bytes/s" 40 200 \
    post /tables/del/delete '{"where": "id = 1"}'
expect_eq "... (the proxy did trickle it)" "$(hits)" 1
fault '[]'
WANT[del]="1,2"
expect_eq "... and the row is gone" "$(rows del)" "1,2"

#---- 4. clean-up failures are reported ----
# two snapshots; expiring the first deletes its manifest list
snaps() { rgw "$RGW/bucket?list-type=2&prefix=wh%2Fdefault%2F$1%2Fmetadata%2Fsnap-" | grep -o '<Key>' | wc -l | tr -d ' '; }
for t in exp1 exp2; do
    cli ingest "$t" "$TMP/ab.csv" >/dev/null 2>&1
    cli ingest "$t" "$TMP/c.csv" >/dev/null 2>&1
    WANT[$t]="3,6"
done
cutoff=$(($(date +%s) * 1000 + 1000))
sleep 1.1
fault '[{"method": "DELETE", "path": "exp1/metadata/snap-", "status": 500, "count": 0}]'
status_is "expire_snapshots while every DELETE of a manifest list fails" 200 \
    post /tables/exp1/maintenance "{\"action\": \"expire_snapshots\", \"older_than_ms\": $cutoff}"
expect_eq "... lists the file it could not delete" \
    "$(jv '[p.split("/metadata/")[1][:5] for p in d.get("files_not_deleted", ["none/metadata/none"])]')" \
    '["snap-"]'
fault '[]'
expect_eq "... which the store still holds" "$(snaps exp1)" 2
status_is "remove_orphans" 200 post /tables/exp1/maintenance '{"action": "remove_orphans", "older_than": "0s"}'
expect_eq "... then deletes it" "$(snaps exp1)" 1
fault '[{"method": "DELETE", "path": "exp2/metadata/snap-", "trickle": 3}]'
timed "expire_snapshots whose DELETE answer trickles at 3 bytes/s" 40 200 \
    post /tables/exp2/maintenance "{\"action\": \"expire_snapshots\", \"older_than_ms\": $cutoff}"
expect_eq "... deletes the file all the same (retried)" \
    "$(jv 'd["files_deleted"] >= 1 and d.get("files_not_deleted") == []'),$(hits),$(snaps exp2)" \
    "true,1,1"
fault '[]'

#---- compaction ----
cli ingest cmp "$TMP/ab.csv" >/dev/null 2>&1
cli ingest cmp "$TMP/c.csv" >/dev/null 2>&1
WANT[cmp]="3,6"
fault '[{"method": "GET", "path": "cmp/data/", "truncate": true}]'
status_is "compaction while a data file comes truncated" 200 \
    post /tables/cmp/maintenance '{"action": "compact"}'
expect_eq "... (the proxy did truncate it)" "$(hits)" 1
fault '[]'
expect_eq "... keeps every row" "$(rows cmp)" "3,6"
cli ingest cmp "$TMP/c.csv" >/dev/null 2>&1
WANT[cmp]="4,9"
before=$(metadata_location cmp)
fault '[{"method": "PUT", "path": "cmp/data/", "status": 500, "count": 0}]'
status_is "compaction whose upload keeps failing is a 503" 503 \
    post /tables/cmp/maintenance '{"action": "compact"}'
fault '[]'
expect_eq "... and commits nothing" "$(metadata_location cmp),$(rows cmp)" "$before,4,9"

#---- 5. a table whose files are gone is not written on ----
cli ingest lost "$TMP/ab.csv" >/dev/null 2>&1
expect_eq "a table read (and cached)" "$(rows lost)" "2,3"
for k in $(rgw "$RGW/bucket?list-type=2&prefix=wh%2Fdefault%2Flost%2F" | grep -o '<Key>[^<]*' | cut -c6-); do
    rgw -X DELETE "$RGW/bucket/$k"
done

#---- 6. appends land under latency ----
cli ingest slow "$TMP/ab.csv" >/dev/null 2>&1
fault '[{"path": "/bucket/", "delay": 300, "count": 0}]'
t0=$SECONDS
pids=()
for i in $(seq 3 17); do
    printf 'id,name\n%d,x\n' "$i" >"$TMP/s$i.csv"
    curl -s -o "$TMP/s$i.out" -w '%{http_code}\n' -X POST "$BASE/ingest/slow" \
        -H 'Content-Type: text/csv' --data-binary @"$TMP/s$i.csv" >"$TMP/s$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
fault '[]'
# each round of attempts has one winner: the last append loses 14 races, more than the 12
# attempts a commit used to have
expect_eq "15 appends at once, with 300 ms added to every S3 request: all land ($((SECONDS - t0)) s)" \
    "$(cat "$TMP"/s*.code | sort | uniq -c | tr -s ' ')" " 15 200"
WANT[slow]="17,153"
expect_eq "... and all rows are there" "$(rows slow)" "${WANT[slow]}"

#---- 5, continued: an append to the table whose files are gone ----
before=$(metadata_location lost)
status_is "after its files were deleted in the store, an append is refused" 404 \
    call POST /ingest/lost -H 'Content-Type: text/csv' --data-binary @"$TMP/c.csv"
expect_eq "... saying the files are gone" "$(jv 'd["error"]["message"]' | grep -c 'gone from the store')" 1
expect_eq "... and commits nothing" "$(metadata_location lost)" "$before"

#---- afterwards: no upload left, every acknowledged write reads right ----
expect_eq "no multipart upload is left" "$(uploads)" 0
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
for cache in cache-fresh cache-srv; do
    TARN_CACHE_DIR=$TMP/$cache start_server "$WH" || break
    wrong=
    for t in "${!WANT[@]}"; do
        got=$(rows "$t")
        [ "$got" = "${WANT[$t]}" ] || wrong="$wrong $t=$got(want ${WANT[$t]})"
    done
    case $cache in
    cache-fresh) what="a fresh server with an empty cache reads every acknowledged write" ;;
    *) what="a restarted server on the old cache reads every acknowledged write" ;;
    esac
    expect_eq "$what" "${wrong:-none wrong}" "none wrong"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
done

finish
