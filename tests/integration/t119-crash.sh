#!/usr/bin/env bash
# t119-crash: a server killed (SIGKILL) at random points while clients commit. Writers append
# batches of 5 keyed rows over HTTP and a changer updates and deletes whole batches, while the
# server is killed after a random 1-4 s, five times, and started again on the same warehouse.
# After each restart: the table reads whole (every data and delete file its snapshot names is
# there); every acknowledged batch is there exactly once (an unanswered one is whole or absent,
# never part); the row count equals the current snapshot's total-records; and the restarted
# server commits. Local warehouse only: the S3 pass has its own fault tests (t95, t97).
. "$(dirname "$0")/lib.sh"

if [ "$TEST_STORAGE" = s3 ]; then
    skip "crash test" "local warehouse only (t95 and t97 cover S3's failures)"
    finish; exit
fi
ROUNDS=5
WRITERS=3
if ! start_server "$WH"; then
    bad "tarn serve did not start"
    finish; exit
fi

# post_batch WRITER SEQ: append batch WRITER*100000+SEQ (5 rows, keys batch*10+0..4); prints
# the HTTP status (000 when the server died before answering).
post_batch() {
    local b=$(($1 * 100000 + $2)) f=$TMP/w$1.csv
    { echo "b,k,v"; for r in 0 1 2 3 4; do echo "$b,$((b * 10 + r)),0"; done; } >"$f"
    curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST \
        -H 'Content-Type: text/csv' --data-binary @"$f" "$BASE/ingest/crash"
}
# change SQL: run a row-level change; prints the HTTP status (000: the server died first)
change() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST -H 'Content-Type: application/json' \
        -d "{\"sql\": \"$1\"}" "$BASE/query"
}
sqlq() {
    curl -s --max-time 60 -G "$BASE/query" --data-urlencode format=csv --data-urlencode "sql=$1" |
        tail -n +2
}

expect_eq "the table is created by the first batch" "$(post_batch 0 0)" "200"
echo 0 >"$TMP/acked"
: >"$TMP/deleted"
for round in $(seq 1 $ROUNDS); do
    rm -f "$TMP/stop"
    writer() {
        local w=$1 seq=$((round * 1000)) code
        while [ ! -e "$TMP/stop" ]; do
            seq=$((seq + 1))
            code=$(post_batch "$w" "$seq")
            [ "$code" = 200 ] && echo "$((w * 100000 + seq))" >>"$TMP/acked.$w"
        done
    }
    # the changer: UPDATE a whole batch (v = v + 1) and DELETE another, through delete files
    changer() {
        local b code
        while [ ! -e "$TMP/stop" ]; do
            b=$(sort -n "$TMP/acked" | shuf -n 1)
            code=$(change "UPDATE crash SET v = v + 1 WHERE b = $b")
            b=$(shuf -n 1 "$TMP/acked")
            [ "$b" = 0 ] && continue
            code=$(change "DELETE FROM crash WHERE b = $b")
            # acknowledged: gone for good; unanswered: whole or gone
            case $code in 200) echo "$b" >>"$TMP/deleted" ;; 000) echo "$b" >>"$TMP/maybe" ;; esac
        done
    }
    pids=()
    for w in $(seq 1 $WRITERS); do writer "$w" & pids+=($!); done
    changer & pids+=($!)
    sleep "$(shuf -i 10-40 -n 1 | sed 's/.$/.&/')"
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    touch "$TMP/stop"
    wait "${pids[@]}"
    cat "$TMP"/acked.* >>"$TMP/acked" 2>/dev/null
    rm -f "$TMP"/acked.*
    if ! start_server "$WH"; then
        bad "round $round: the server starts again after SIGKILL"
        break
    fi

    # every file of the current snapshot is there: a full read of every column succeeds
    got=$(sqlq "SELECT count(*), sum(hash(b, k, v)) IS NOT NULL OR count(*) = 0 FROM crash")
    expect_eq "round $round: the table reads whole after SIGKILL" "${got#*,}" "true"
    rows=${got%%,*}
    expect_eq "round $round: rows = the current snapshot's total-records less its position deletes" "$rows" \
        "$(sqlq "SELECT CAST(summary['total-records'] AS BIGINT) - coalesce(CAST(summary['total-position-deletes'] AS BIGINT), 0) FROM \"crash\$snapshots\" ORDER BY committed_at DESC LIMIT 1")"
    expect_eq "round $round: no batch is there in part (each commit whole)" \
        "$(sqlq "SELECT b FROM crash GROUP BY b HAVING count(*) <> 5 OR count(DISTINCT v) <> 1 LIMIT 3")" ""
    sqlq "SELECT DISTINCT b FROM crash" | sort -u >"$TMP/present"
    touch "$TMP/maybe"
    expect_eq "round $round: every acknowledged batch not deleted is there" \
        "$(sort -u "$TMP/acked" | comm -23 - <(sort -u "$TMP/deleted" "$TMP/maybe") |
            comm -23 - "$TMP/present" | head -n 3)" ""
    expect_eq "round $round: no acknowledged DELETE came back" \
        "$(sort -u "$TMP/deleted" | comm -12 - "$TMP/present" | head -n 3)" ""
    expect_eq "round $round: no key twice" "$(sqlq "SELECT count(*) - count(DISTINCT k) FROM crash")" "0"
done
expect_eq "the restarted server commits" "$(post_batch 9 1)" "200"
echo "    $(sort -u "$TMP/acked" | wc -l) batches acknowledged over $ROUNDS kills; $(sort -u "$TMP/deleted" | wc -l) deletes acknowledged"
check "the changer's DELETEs committed" test -s "$TMP/deleted"
finish
