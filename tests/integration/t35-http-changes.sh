#!/usr/bin/env bash
# t35-http-changes: the HTTP routes that change tables (schema evolution, rollback, tags and
# branches, row deletes and updates, maintenance) and the ingest options (upsert, key, dedupe,
# evolve, branch), driven with curl against `tarn serve`: each success, each error with its status
# and message (and the snapshot count unchanged after it), concurrency, and the independent
# reader after a DELETE. JSON answers are read with python3.
. "$(dirname "$0")/lib.sh"

# expect_error DESC STATUS TYPE MESSAGE_PART GOT_STATUS: status, error type and message (this
# suite's own, in place of lib.sh's, which checks no type).
expect_error() {
    local desc=$1 want=$2 type=$3 msg=$4 got=$5
    local t m
    t=$(jv 'd["error"]["type"]')
    m=$(jv 'd["error"]["message"]')
    if [ "$got" = "$want" ] && [ "$t" = "$type" ] && [[ "$m" == *"$msg"* ]]; then
        ok "$desc"
    else
        bad "$desc (status $got type $t, wanted $want $type '$msg')"; head -c 400 "$TMP/body" | sed 's/^/    /'; echo
    fi
}

# pq JSON: POST /query; status printed, body in $TMP/body.
pq() { post /query "$1"; }

snapshots() {
    curl -s -o "$TMP/snaps" "$BASE/tables/$1/snapshots"
    jv 'len(d["snapshots"])' "$TMP/snaps"
}
current() {
    curl -s -o "$TMP/snaps" "$BASE/tables/$1/snapshots"
    jv 'd["current_snapshot_id"]' "$TMP/snaps"
}


start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- schema evolution ----
code=$(ingest ev "" $'id,name,qty\n1,a,10\n2,b,20\n')
expect_status "create ev" 200 "$code"
S_OLD=$(current ev)
code=$(post /tables/ev/schema '{"add":[{"name":"note","type":"string"},{"name":"price","type":"decimal(12,2)","after":"id"}],"rename":{"name":"label"},"widen":{"qty":"long"}}')
expect_status "schema add, rename, widen" 200 "$code"
expect_eq "new schema fields in order" "$(jv '[f["name"] for f in d["schema"]["fields"]]')" '["id", "price", "label", "qty", "note"]'
expect_eq "new fields get fresh ids" "$(jv 'sorted(f["id"] for f in d["schema"]["fields"] if f["name"] in ("note","price"))')" '[4, 5]'
expect_eq "widened type" "$(jv '[f["type"] for f in d["schema"]["fields"] if f["name"]=="qty"]')" '["long"]'
expect_eq "decimal type" "$(jv '[f["type"] for f in d["schema"]["fields"] if f["name"]=="price"]')" '["decimal(12, 2)"]'
expect_eq "schema change is metadata only (no new snapshot)" "$(snapshots ev)" "1"
expect_eq "query reads the new schema" "$(csvq 'SELECT id, price, label, qty, note FROM ev ORDER BY id')" '1,,a,10,
2,,b,20,'
code=$(pq '{"sql":"INSERT INTO ev (id, price, label, qty, note) VALUES (3, 9.99, '"'c'"', 30, '"'n'"')"}')
expect_status "insert with new columns" 200 "$code"
code=$(post /tables/ev/schema '{"drop":["note"]}')
expect_status "schema drop" 200 "$code"
expect_eq "dropped column gone" "$(csvq 'SELECT * FROM ev ORDER BY id')" '1,,a,10
2,,b,20
3,9.99,c,30'
expect_eq "old snapshot reads with its old schema" \
    "$(csvq "SELECT * FROM ev AT (VERSION => $S_OLD) ORDER BY id")" '1,a,10
2,b,20'
code=$(post /tables/ev/schema '{"add":[{"name":"flag","type":"boolean","required":true,"default":true}],"move":[{"name":"qty","first":true}]}')
expect_status "a default needs format version 3 (these tables are 2)" 400 "$code"
code=$(post /tables/ev/schema '{"add":[{"name":"flag","type":"boolean"}],"move":[{"name":"qty","first":true}]}')
expect_status "add optional, move first" 200 "$code"
expect_eq "old rows read NULL for it" "$(csvq 'SELECT qty, id, flag FROM ev ORDER BY id')" '10,1,
20,2,
30,3,'
code=$(post /tables/ev/schema '{"add":[{"name":"s","type":{"type":"struct","fields":[{"id":1,"name":"x","type":"int","required":false}]}}]}')
expect_status "add a struct column" 200 "$code"
code=$(post /tables/ev/schema '{"add":[{"name":"s.y","type":"string"}],"rename":{"s.x":"x2"}}')
expect_status "nested add and rename by dotted path" 200 "$code"
expect_eq "nested fields" "$(jv '[f["name"] for f in d["schema"]["fields"] if f["name"]=="s"][0:1] and [g["name"] for g in [f for f in d["schema"]["fields"] if f["name"]=="s"][0]["type"]["fields"]]')" '["x2", "y"]'

N=$(snapshots ev)
GETSCHEMA() { curl -s -o "$TMP/t" "$BASE/tables/ev"; jv 'd["schema"]' "$TMP/t"; }
SCHEMA_BEFORE=$(GETSCHEMA)
code=$(post /tables/ev/schema '{"rename":{"nope":"x"}}')
expect_error "rename unknown column 404" 404 NotFoundException "column 'nope' does not exist" "$code"
code=$(post /tables/ev/schema '{"rename":{"label":"price"}}')
expect_error "rename onto existing 409" 409 AlreadyExistsException "that column exists" "$code"
code=$(post /tables/ev/schema '{"widen":{"qty":"int"}}')
expect_error "narrowing 400" 400 BadRequestException "cannot change 'qty' from long to int" "$code"
code=$(post /tables/ev/schema '{"widen":{"label":"long"}}')
expect_error "forbidden type change 400" 400 BadRequestException "Iceberg allows only" "$code"
code=$(post /tables/ev/schema '{"add":[{"name":"ok1","type":"int"}],"drop":["nope"]}')
expect_error "a failing change in a batch changes nothing" 404 NotFoundException "nope" "$code"
code=$(post /tables/ev/schema '{"add":[{"name":"r","type":"int","required":true}]}')
expect_error "required without default 400" 400 BadRequestException "needs a default" "$code"
code=$(post /tables/ev/schema '{"bogus":1}')
expect_error "unknown key 400" 400 BadRequestException "unknown key" "$code"
code=$(post /tables/ev/schema '{}')
expect_error "no change 400" 400 BadRequestException "no schema change" "$code"
code=$(post /tables/nosuch/schema '{"drop":["a"]}')
expect_error "unknown table 404" 404 NoSuchTableException "" "$code"
code=$(post /tables/ev/schema 'not json')
expect_status "bad JSON 400" 400 "$code"
expect_eq "refused schema changes change nothing" "$(GETSCHEMA)" "$SCHEMA_BEFORE"
expect_eq "refused schema changes add no snapshot" "$(snapshots ev)" "$N"
code=$(ingest ev "evolve=strict" $'id,qty,label,extra\n9,1,z,e\n')
expect_status "ingest evolve=strict with a new column 422" 422 "$code"
expect_eq "strict refusal commits nothing" "$(snapshots ev)" "$N"
code=$(ingest ev "evolve=add" $'id,qty,label,extra\n9,1,z,e\n')
expect_status "ingest evolve=add" 200 "$code"
expect_eq "evolve=add reports the change" "$(jv '[c.get("column") for c in d["schema_changes"]]')" '["extra"]'
code=$(ingest ev "evolve=maybe" $'id\n1\n')
expect_error "bad evolve 400" 400 BadRequestException "evolve must be add or strict" "$code"

#---- rollback and roll forward ----
ingest rb "" $'id\n1\n' >/dev/null; R1=$(current rb)
sleep 0.05
ingest rb "" $'id\n2\n' >/dev/null; R2=$(current rb)
ingest rb "" $'id\n3\n' >/dev/null; R3=$(current rb)
code=$(post /tables/rb/rollback "{\"snapshot_id\": $R1}")
expect_status "rollback to snapshot" 200 "$code"
expect_eq "rollback answers the snapshot" "$(jv 'd["snapshot_id"]')" "$R1"
expect_eq "rows after rollback" "$(csvq 'SELECT id FROM rb ORDER BY id')" "1"
expect_eq "history kept" "$(snapshots rb)" "3"
code=$(post /tables/rb/rollback "{\"snapshot_id\": $R3}")
expect_status "roll forward" 200 "$code"
expect_eq "rows after roll forward" "$(csvq 'SELECT id FROM rb ORDER BY id' | tr '\n' ' ')" "1 2 3 "
T2=$(python3 -c "import json,datetime;d=json.load(open('$TMP/snaps'));t=[s['timestamp_ms'] for s in d['snapshots'] if s['snapshot_id']==$R2][0];print(datetime.datetime.fromtimestamp(t/1000,datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')[:23])")
code=$(post /tables/rb/rollback "{\"as_of\": \"$T2\"}")
expect_status "rollback by as_of" 200 "$code"
expect_eq "as_of picks the snapshot current then" "$(jv 'd["snapshot_id"]')" "$R2"
N=$(snapshots rb); C=$(current rb)
code=$(post /tables/rb/rollback '{"snapshot_id": 12345}')
expect_error "unknown snapshot 404 names the nearest ones" 404 NotFoundException "the nearest ids are" "$code"
code=$(post /tables/rb/rollback '{"as_of": "2000-01-01 00:00:00"}')
expect_error "time before the first snapshot 404" 404 NotFoundException "" "$code"
code=$(post /tables/rb/rollback '{"as_of": "yesterday-ish"}')
expect_error "bad timestamp 400" 400 BadRequestException "is not a timestamp" "$code"
code=$(post /tables/rb/rollback '{}')
expect_error "neither id nor time 400" 400 BadRequestException "snapshot_id" "$code"
code=$(post /tables/rb/rollback '{"snapshot_id": "12x"}')
expect_error "a snapshot id that is not digits is 400" 400 BadRequestException "integer" "$code"
expect_eq "refused rollbacks change nothing" "$(snapshots rb) $(current rb)" "$N $C"
# ids above 2^53 do not survive JavaScript numbers: the same digits as a string are taken
code=$(post /tables/rb/rollback "{\"snapshot_id\": \"$C\"}")
expect_status "a snapshot id given as a string of digits is taken" 200 "$code"
expect_eq "and names the snapshot" "$(current rb)" "$C"

#---- tags, branches, fast-forward ----
code=$(post /tables/rb/refs "{\"name\":\"v1\",\"type\":\"tag\",\"snapshot_id\":$R1}")
expect_status "create tag" 200 "$code"
expect_eq "tag query" "$(csvq "SELECT id FROM rb AT (VERSION => 'v1')")" "1"
code=$(post /tables/rb/refs '{"name":"v2","type":"tag","max_ref_age_ms":86400000}')
expect_status "tag at current snapshot" 200 "$code"
expect_eq "tag defaults to the current snapshot" "$(jv 'd["snapshot_id"]')" "$R2"
code=$(post /tables/rb/refs '{"name":"audit","type":"branch"}')
expect_status "create branch" 200 "$code"
code=$(ingest rb "branch=audit" $'id\n50\n')
expect_status "ingest to branch" 200 "$code"
expect_eq "main does not see the branch write" "$(csvq 'SELECT count(*) FROM rb')" "2"
expect_eq "branch sees it" "$(csvq "SELECT count(*) FROM rb AT (VERSION => 'audit')")" "3"
code=$(post /query '{"sql":"DELETE FROM rb WHERE id = 1","branch":"audit"}')
expect_status "DELETE on the branch" 200 "$code"
code=$(post /query '{"sql":"INSERT INTO rb (id) VALUES (51)","branch":"audit"}')
expect_status "INSERT on the branch" 200 "$code"
expect_eq "main still has its rows" "$(csvq 'SELECT id FROM rb ORDER BY id' | tr '\n' ' ')" "1 2 "
code=$(post /tables/rb/refs '{"name":"main","fast_forward":"audit"}')
expect_status "fast-forward main" 200 "$code"
expect_eq "main sees the branch's changes" "$(csvq 'SELECT id FROM rb ORDER BY id' | tr '\n' ' ')" "2 50 51 "
code=$(post /query '{"sql":"DELETE FROM rb WHERE id = 2","branch":"nope"}')
expect_error "DML on an unknown branch 404" 404 NotFoundException "no branch 'nope'" "$code"
code=$(post /tables/rb/refs '{"name":"stale","type":"branch"}')
ingest rb "" $'id\n60\n' >/dev/null
ingest rb "branch=stale" $'id\n70\n' >/dev/null
N=$(snapshots rb); C=$(current rb)
code=$(post /tables/rb/refs '{"name":"main","fast_forward":"stale"}')
expect_error "fast-forward after main moved on 409" 409 CommitFailedException "main has commits the branch does not" "$code"
code=$(post /tables/rb/refs '{"name":"main","fast_forward":"nobranch"}')
expect_error "fast-forward unknown branch 404" 404 NotFoundException "no branch 'nobranch'" "$code"
code=$(post /tables/rb/refs '{"name":"v3","type":"tag","snapshot_id":999}')
expect_error "tag on unknown snapshot 404" 404 NotFoundException "has no snapshot 999" "$code"
code=$(post /tables/rb/refs '{"name":"v1","type":"branch"}')
expect_error "tag name reused as branch 409" 409 AlreadyExistsException "already exists as a tag" "$code"
code=$(post /tables/rb/refs '{"name":"x","type":"label"}')
expect_error "bad ref type 400" 400 BadRequestException "tag" "$code"
code=$(call DELETE /tables/rb/refs/nope)
expect_error "drop unknown ref 404" 404 NotFoundException "no tag or branch 'nope'" "$code"
code=$(call DELETE /tables/rb/refs/main)
expect_error "drop main 400" 400 BadRequestException "main branch cannot be dropped" "$code"
expect_eq "refused ref changes change nothing" "$(snapshots rb) $(current rb)" "$N $C"
code=$(call DELETE /tables/rb/refs/v1)
expect_status "drop tag" 200 "$code"
query_code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT * FROM rb AT (VERSION => 'v1')")
expect_status "dropped tag no longer resolves" 404 "$query_code"

#---- delete and update ----
ingest d "" $'id,name,price\n1,a,1.0\n2,b,2.0\n3,c,3.0\n4,d,4.0\n' >/dev/null
ingest d "" $'id,name,price\n5,e,5.0\n6,f,6.0\n' >/dev/null
code=$(post /tables/d/delete '{"where":"id IN (2, 5)"}')
expect_status "delete rows" 200 "$code"
expect_eq "delete answers rows_affected" "$(jv 'd["rows_affected"]')" "2"
expect_eq "delete makes a snapshot" "$(jv 'd["snapshot_id"]')" "$(current d)"
expect_eq "rows after delete" "$(csvq 'SELECT id FROM d ORDER BY id' | tr '\n' ' ')" "1 3 4 6 "
code=$(post /tables/d/update '{"set":{"price":"price * 10","name":"upper(name)"},"where":"id >= 4"}')
expect_status "update rows" 200 "$code"
expect_eq "update answers rows_affected" "$(jv 'd["rows_affected"]')" "2"
expect_eq "rows after update" "$(csvq 'SELECT id, name, price FROM d ORDER BY id')" '1,a,1.0
3,c,3.0
4,D,40.0
6,F,60.0'
code=$(post /tables/d/update '{"set":{"price":"0"},"where":"id = 999"}')
expect_status "update matching nothing" 200 "$code"
expect_eq "nothing affected" "$(jv 'd["rows_affected"]')" "0"
if [ -f "$INTEROP/iceberg-read.mjs" ]; then
    icebird d --rows-only 2>"$TMP/nerr" |
        python3 -c 'import json,sys
rows=[json.loads(l) for l in sys.stdin if l.strip()]
rows=[r.get("row", r) for r in rows if "rows" not in r]
print(" ".join("%s:%s:%s" % (r["id"], r["name"], float(r["price"])) for r in sorted(rows, key=lambda r: int(r["id"]))))' >"$TMP/nrows" 2>>"$TMP/nerr"
    expect_eq "independent reader applies the deletes" "$(cat "$TMP/nrows")" "1:a:1.0 3:c:3.0 4:D:40.0 6:F:60.0"
    [ -s "$TMP/nerr" ] && head -5 "$TMP/nerr" | sed 's/^/    /'
else
    skip "independent reader after DELETE" "no $INTEROP/iceberg-read.mjs"
fi
N=$(snapshots d)
code=$(post /tables/d/delete '{"where":"id = 1; DROP TABLE d"}')
expect_error "predicate with ';' 400" 400 BadRequestException "must not contain ';'" "$code"
code=$(post /tables/d/delete '{"where":""}')
expect_error "empty predicate 400" 400 BadRequestException "non-empty" "$code"
code=$(post /tables/d/delete '{"where":"nocolumn = 1"}')
expect_status "predicate naming an unknown column is 4xx" 400 "$code"
code=$(post /tables/d/delete "{\"where\":\"id IN (SELECT 1 FROM read_csv('/etc/passwd'))\"}")
[[ "$code" == 4* ]] && ok "sandbox refuses reading outside the warehouse ($code)" || bad "sandbox refuses reading outside the warehouse ($code)"
code=$(post /tables/d/update '{"set":{"nocol":"1"}}')
expect_error "update unknown column 404" 404 NotFoundException "no column 'nocol'" "$code"
code=$(post /tables/d/update '{"set":{}}')
expect_error "update without set 400" 400 BadRequestException "\"set\"" "$code"
code=$(post /tables/d/update '{"set":{"price":"1; SELECT 1"}}')
expect_error "set expr with ';' 400" 400 BadRequestException "must not contain ';'" "$code"
code=$(post /tables/nosuch/delete '{"where":"true"}')
expect_status "delete on unknown table 404" 404 "$code"
expect_eq "refused row changes add no snapshot" "$(snapshots d)" "$N"
expect_eq "refused row changes leave the rows" "$(csvq 'SELECT count(*) FROM d')" "4"

#---- maintenance: compaction ----
N=$(snapshots d)
code=$(post /tables/d/maintenance '{"action":"compact","dry_run":true}')
expect_status "compact dry run" 200 "$code"
expect_eq "the dry run says what compaction would rewrite" \
    "$(jv '[d["dry_run"], d["files_rewritten"] > 1, d["delete_files_removed"] > 0, d["bytes_rewritten"] > 0, d["files_written"]]')" \
    '[true, true, true, true, 0]'
expect_eq "and commits nothing" "$(snapshots d),$(csvq 'SELECT count(*) > 1 FROM "d$files"')" "$N,true"
code=$(post /tables/d/maintenance '{"action":"compact","dry_run":"yes"}')
expect_error "dry_run must be a boolean" 400 BadRequestException "dry_run" "$code"
code=$(post /tables/d/maintenance '{"action":"compact"}')
expect_status "compact" 200 "$code"
expect_eq "compact answers its result" "$(jv '[d["action"], d["rows"], d["snapshot_id"] is not None]')" '["compact", 4, true]'
expect_eq "compaction keeps the rows" "$(csvq 'SELECT id, name, price FROM d ORDER BY id')" '1,a,1.0
3,c,3.0
4,D,40.0
6,F,60.0'
expect_eq "one data file after compaction" "$(csvq 'SELECT count(*) FROM "d$files"')" "1"
N=$(snapshots d)
code=$(post /tables/d/maintenance "{\"action\":\"expire_snapshots\",\"older_than_ms\":$(( $(date +%s) * 1000 + 60000 )),\"retain_last\":1,\"dry_run\":true}")
expect_eq "an expiry dry run counts the snapshots and files it would remove" \
    "$code,$(jv '[d["dry_run"], d["snapshots_expired"] == '"$N"' - 1, d["files_to_delete"] > 0, d["files_deleted"]]')" \
    '200,[true, true, true, 0]'
expect_eq "and expires nothing" "$(snapshots d)" "$N"
code=$(post /tables/d/maintenance '{"action":"expire_snapshots","retain_last":0}')
expect_error "expire_snapshots refuses retain_last 0" 400 BadRequestException "retain_last" "$code"
code=$(post /tables/d/maintenance "{\"action\":\"expire_snapshots\",\"older_than_ms\":$(( $(date +%s) * 1000 + 60000 )),\"retain_last\":1}")
expect_status "expire_snapshots" 200 "$code"
expect_eq "expire_snapshots answers what it removed" "$(jv '[d["action"], d["snapshots_expired"] == '"$N"' - 1, d["files_deleted"] > 0]')" '["expire_snapshots", true, true]'
expect_eq "one snapshot left" "$(snapshots d)" "1"
expect_eq "expiry keeps the rows" "$(csvq 'SELECT count(*) FROM d')" "4"
N=$(snapshots d)
code=$(post /tables/d/maintenance '{"action":"remove_orphans"}')
expect_eq "remove_orphans after expiry: nothing orphaned (t45 covers it)" "$code,$(jv 'd["orphans_found"]')" "200,0"
code=$(post /tables/d/maintenance '{"action":"polish"}')
expect_error "unknown action 400" 400 BadRequestException "unknown action" "$code"
expect_eq "refused maintenance adds no snapshot" "$(snapshots d)" "$N"

#---- upsert ----
ingest u "" $'id,v\n1,a\n2,b\n3,c\n' >/dev/null
code=$(ingest u "mode=upsert&key=id" $'id,v\n2,B\n3,C\n4,D\n')
expect_status "upsert" 200 "$code"
expect_eq "upsert counts" "$(jv '[d["mode"], d["rows_updated"], d["rows_added"]]')" '["upsert", 2, 1]'
expect_eq "upsert rows" "$(csvq 'SELECT id, v FROM u ORDER BY id' | tr '\n' ' ')" "1,a 2,B 3,C 4,D "
curl -s -o "$TMP/t" "$BASE/tables/u"
expect_eq "key remembered on an existing table" "$(jv 'd["properties"].get("tarn.upsert-key")' "$TMP/t")" "id"
code=$(ingest un "mode=upsert&key=id" $'id,v\n1,a\n')
expect_status "upsert creates a table" 200 "$code"
curl -s -o "$TMP/t" "$BASE/tables/un"
expect_eq "key stored as identifier fields on create" "$(jv 'd["identifier_fields"]' "$TMP/t")" '["id"]'
code=$(ingest u "mode=upsert" $'id,v\n4,DD\n5,E\n')
expect_status "upsert with the stored key" 200 "$code"
expect_eq "stored-key upsert counts" "$(jv '[d["rows_updated"], d["rows_added"]]')" '[1, 1]'
N=$(snapshots u)
code=$(ingest u "mode=upsert&key=id" $'id,v\n7,x\n7,y\n')
expect_error "duplicate key 422 naming it" 422 UnprocessableEntityException "7" "$code"
code=$(ingest u "mode=upsert&key=id" $'id,v\n,x\n8,y\n')
expect_error "null key 422" 422 UnprocessableEntityException "null key" "$code"
code=$(ingest u "mode=upsert&key=nocol" $'id,v\n9,x\n')
[[ "$code" == 4* ]] && ok "unknown key column refused ($code)" || bad "unknown key column refused ($code)"
code=$(ingest u "key=id" $'id,v\n9,x\n')
expect_error "key without upsert 400" 400 BadRequestException "mode=upsert" "$code"
code=$(ingest u "mode=upsert&dedupe=first" $'id,v\n9,x\n')
expect_error "bad dedupe 400" 400 BadRequestException "dedupe" "$code"
expect_eq "refused upserts commit nothing" "$(snapshots u)" "$N"
code=$(ingest u "mode=upsert&key=id&dedupe=last" $'id,v\n7,x\n7,y\n1,z\n')
expect_status "dedupe=last" 200 "$code"
expect_eq "dedupe=last keeps the last row" "$(csvq 'SELECT id, v FROM u WHERE id IN (1, 7) ORDER BY id' | tr '\n' ' ')" "1,z 7,y "

#---- the same through POST /query ----
code=$(pq '{"sql":"UPDATE u SET v = '"'q'"' WHERE id = 5"}')
expect_status "POST /query UPDATE" 200 "$code"
expect_eq "POST /query UPDATE rows_affected" "$(jv 'd["rows_affected"]')" "1"
code=$(pq '{"sql":"MERGE INTO u USING (SELECT 5 AS id, '"'m'"' AS v UNION ALL SELECT 6, '"'n'"') s ON u.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)"}')
expect_status "POST /query MERGE" 200 "$code"
expect_eq "POST /query MERGE rows_affected" "$(jv 'd["rows_affected"]')" "2"
code=$(pq '{"sql":"DELETE FROM u WHERE id = 6"}')
expect_status "POST /query DELETE" 200 "$code"
expect_eq "rows after /query DML" "$(csvq 'SELECT id, v FROM u WHERE id >= 5 ORDER BY id' | tr '\n' ' ')" "5,m 7,y "

#---- concurrency ----
ingest cu "" $'id,v\n0,start\n' >/dev/null
pids=()
for i in 1 2 3 4 5 6 7 8; do
    printf 'id,v\n%d,w%d\n%d,w%d\n' "$i" "$i" "$((i + 100))" "$i" >"$TMP/up$i.csv"
    curl -s -o "$TMP/cu$i" -w '%{http_code}' -X POST -H 'Content-Type: text/csv' \
        --data-binary @"$TMP/up$i.csv" "$BASE/ingest/cu?mode=upsert&key=id" >"$TMP/cucode$i" &
    pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$TMP"/cucode* | tr -d '\n' | sed 's/200//g')
expect_eq "8 parallel disjoint upserts all succeed" "$codes" ""
expect_eq "all upserted rows land" "$(csvq 'SELECT count(*), count(DISTINCT id) FROM cu')" "17,17"

ingest cc "" $'id,n\n1,0\n2,0\n3,0\n' >/dev/null
pids=()
for i in 1 2 3 4 5 6; do
    curl -s -o "$TMP/cc$i" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"set\":{\"n\":\"$i\"},\"where\":\"id IN (1, 2)\"}" "$BASE/tables/cc/update" >"$TMP/cccode$i" &
    pids+=($!)
done
wait "${pids[@]}"
wins=0; other=0; badconf=0
for i in 1 2 3 4 5 6; do
    c=$(cat "$TMP/cccode$i")
    if [ "$c" = 200 ]; then wins=$((wins + 1)); W=$i
    elif [ "$c" = 409 ]; then [ "$(jv 'd["error"]["type"]' "$TMP/cc$i")" = CommitFailedException ] || badconf=1
    else other=$((other + 1)); fi
done
[ "$wins" -ge 1 ] && [ "$other" = 0 ] && [ "$badconf" = 0 ] && ok "conflicting updates: $wins won, the rest 409 CommitFailedException" ||
    bad "conflicting updates (wins=$wins other=$other badconf=$badconf): $(cat "$TMP"/cccode* | tr '\n' ' ')"
expect_eq "no lost or duplicated row" "$(csvq 'SELECT count(*), count(DISTINCT id) FROM cc')" "3,3"
vals=$(csvq 'SELECT DISTINCT n FROM cc WHERE id IN (1, 2)')
[ "$(echo "$vals" | wc -l)" = 1 ] && [ -f "$TMP/cccode$vals" ] && [ "$(cat "$TMP/cccode$vals")" = 200 ] &&
    ok "updated rows carry one winner's value ($vals)" || bad "updated rows carry one winner's value (got: $vals)"
expect_eq "untouched row unchanged" "$(csvq 'SELECT n FROM cc WHERE id = 3')" "0"

#---- openapi ----
curl -s -o "$TMP/body" "$BASE/openapi.json"
expect_eq "openapi lists the change routes" \
    "$(jv 'all(p in d["paths"] for p in ["/tables/{table}/schema", "/tables/{table}/rollback", "/tables/{table}/refs", "/tables/{table}/refs/{name}", "/tables/{table}/delete", "/tables/{table}/update", "/tables/{table}/maintenance"])')" "true"

finish
