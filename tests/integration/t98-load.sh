#!/usr/bin/env bash
# t98-load: many clients at once against one server for a bounded time. 8 writers append
# batches of 5 keyed rows to one table over HTTP while 4 readers count it, for LOAD_SECONDS
# (default 25). Then: every acknowledged batch is there exactly once, no refused batch left a
# row, keys are distinct; and no read ever saw part of a commit (each batch is one commit, so
# every count a reader saw is whole batches, and a reader's counts never go down); a statement
# that names the table twice reads one version of it.
. "$(dirname "$0")/lib.sh"

LOAD_SECONDS=${LOAD_SECONDS:-25}
WRITERS=8
READERS=4
if ! start_server "$WH"; then
    bad "tarn serve did not start"
    finish; exit
fi

# post_batch WRITER SEQ: append batch WRITER*100000+SEQ (5 rows, keys batch*10+0..4); prints
# the HTTP status (000 when curl got no answer).
post_batch() {
    local b=$(($1 * 100000 + $2)) f=$TMP/w$1.csv
    { echo "b,k,w"; for r in 0 1 2 3 4; do echo "$b,$((b * 10 + r)),$1"; done; } >"$f"
    curl -s -o "$TMP/w$1.out" -w '%{http_code}' --max-time 120 -X POST \
        -H 'Content-Type: text/csv' --data-binary @"$f" "$BASE/ingest/load"
}

code=$(post_batch 0 0)
expect_eq "the table is created by the first batch" "$code" "200"

deadline=$((SECONDS + LOAD_SECONDS))
writer() {
    local w=$1 seq=0 code
    while [ "$SECONDS" -lt "$deadline" ]; do
        seq=$((seq + 1))
        code=$(post_batch "$w" "$seq")
        case $code in
        200) echo "$((w * 100000 + seq))" >>"$TMP/acked.$w" ;;
        000) echo "$((w * 100000 + seq))" >>"$TMP/unknown.$w" ;;
        *) echo "$((w * 100000 + seq)) $code $(head -c 300 "$TMP/w$w.out")" >>"$TMP/refused.$w" ;;
        esac
    done
}
# reader R: counts (rows, batches, rows outside whole batches, rows a second look at the table
# sees less the first's) until the writers are done
reader() {
    while [ ! -e "$TMP/writers.done" ]; do
        curl -s --max-time 120 -G "$BASE/query" --data-urlencode format=csv --data-urlencode \
            "sql=SELECT count(*), count(DISTINCT b), count(*) FILTER (WHERE b IN (SELECT b FROM load GROUP BY b HAVING count(*) <> 5)), (SELECT count(*) FROM load) - count(*) FROM load" |
            tail -n +2 >>"$TMP/reads.$1"
    done
}
wpids=() rpids=()
for w in $(seq 1 $WRITERS); do writer "$w" & wpids+=($!); done
for r in $(seq 1 $READERS); do reader "$r" & rpids+=($!); done
wait "${wpids[@]}"
touch "$TMP/writers.done"
wait "${rpids[@]}"

acked=$(cat "$TMP"/acked.* 2>/dev/null | wc -l)
unknown=$(cat "$TMP"/unknown.* 2>/dev/null | wc -l)
refused=$(cat "$TMP"/refused.* 2>/dev/null | wc -l)
echo "    $acked batches acknowledged, $refused refused, $unknown without an answer in ${LOAD_SECONDS} s; $(cat "$TMP"/reads.* | wc -l) reads"
expect_eq "every writer got answers" "$unknown" "0"
if [ "$refused" -gt 0 ]; then
    echo "    refused, e.g.: $(head -n 1 "$TMP"/refused.* | cut -c1-300)"
fi
check "the writers committed at least one batch each" \
    bash -c "for w in \$(seq 1 $WRITERS); do [ -s '$TMP/acked.'\$w ] || exit 1; done"
rows=$(curl -s -G "$BASE/query" --data-urlencode format=csv \
    --data-urlencode "sql=SELECT count(*), count(DISTINCT k), count(DISTINCT b) FROM load" | tail -n 1)
expect_eq "rows, distinct keys, batches = the acknowledged appends (+ the first)" "$rows" \
    "$(((acked + 1) * 5)),$(((acked + 1) * 5)),$((acked + 1))"
curl -s -G "$BASE/query" --data-urlencode format=csv --data-urlencode "sql=SELECT b FROM load GROUP BY b ORDER BY b" |
    tail -n +2 >"$TMP/batches.table"
{ echo 0; cat "$TMP"/acked.*; } | sort -n >"$TMP/batches.acked"
expect_eq "the table's batches are exactly the acknowledged ones" \
    "$(diff "$TMP/batches.acked" "$TMP/batches.table" | head -n 5)" ""
cat "$TMP"/reads.* >"$TMP/reads"
expect_eq "every read answered" "$(grep -cvE '^[0-9]+,[0-9]+,[0-9]+,-?[0-9]+$' "$TMP/reads")" "0"
expect_eq "no read saw part of a commit (counts are whole batches)" \
    "$(awk -F, '$1 != $2 * 5 || $3 != 0' "$TMP/reads" | head -n 3)" ""
monotonic() {
    for r in $(seq 1 $READERS); do
        awk -F, -v r="$r" '$1 < last { print "reader " r ": " last " then " $1 } { last = $1 }' "$TMP/reads.$r"
    done
}
expect_eq "a reader's counts never go down" "$(monotonic | head -n 3)" ""
expect_eq "a statement naming the table twice read one version of it" \
    "$(awk -F, '$4 != 0' "$TMP/reads" | head -n 3)" ""
expect_eq "the readers saw the table grow" "$(sort -t, -n -k1 "$TMP/reads" | sed -n '1p;$p' | cut -d, -f1 | uniq | wc -l)" "2"
finish
