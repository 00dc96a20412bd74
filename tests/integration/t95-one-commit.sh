#!/usr/bin/env bash
# t95-one-commit: a request is one commit (issue #15). A refused ingest leaves the table exactly
# as it was (metadata location, schema, properties, files); an ingest that adds a column and rows
# publishes one metadata file and one snapshot; and with a storage fault injected at every
# storage call a request makes (TARN_FAULT=op:N), each kind of write over HTTP fails cleanly:
# an error answer, the table reads as before, no metadata published, no file left behind.
. "$(dirname "$0")/lib.sh"


# state TABLE: what must not change when a request is refused: the catalog pointer, and every
# file of the table (metadata files, manifests, data).
state() {
    metadata_location "$1"
    wh_ls "default/$1" -r
}

# metadata_files TABLE: how many metadata files the table has.
metadata_files() { wh_ls "default/$1/metadata" | grep -c '\.metadata\.json$'; }

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- refused ingests change nothing ----

ingest t "" $'id,amount\n1,10\n2,20\n' >/dev/null
before=$(state t)
curl -s -o "$TMP/schema.before" "$BASE/tables/t"
got=$(ingest t "" $'id,amount,note\n3,abc,x\n')
expect_status "a value that does not fit is refused (422)" 422 "$got"
expect_eq "... and the new column it brought is not added" "$(state t)" "$before"
curl -s -o "$TMP/schema.after" "$BASE/tables/t"
expect_eq "... GET /tables/t answers as before" \
    "$(jv 'd["schema"]' "$TMP/schema.after")" "$(jv 'd["schema"]' "$TMP/schema.before")"

got=$(ingest t "mode=upsert&key=zzz" $'id,amount,extra\n1,11,y\n')
expect_status "an upsert on a key that is not a column is refused (400)" 400 "$got"
expect_eq "... and neither the new column nor tarn.upsert-key is kept" "$(state t)" "$before"
got=$(ingest t "mode=upsert" $'id,amount\n1,12\n')
expect_status "a later upsert without key= still asks for one" 400 "$got"
expect_eq "... naming no remembered key" "$(jv '"zzz" in d["error"]["message"]')" "false"

got=$(ingest t "mode=upsert&key=id" $'id,amount,extra\n1,11,y\n1,12,z\n')
expect_status "an upsert with a duplicate key is refused (422)" 422 "$got"
expect_eq "... leaving column, key property and files as they were" "$(state t)" "$before"

#---- one request, one commit ----

n0=$(metadata_files t)
s0=$(curl -s "$BASE/tables/t/snapshots" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))')
got=$(ingest t "" $'id,amount,memo\n3,30,x\n')
expect_status "an ingest with a new column and rows succeeds" 200 "$got"
expect_eq "... publishing exactly one metadata file" "$(metadata_files t)" "$((n0 + 1))"
s1=$(curl -s "$BASE/tables/t/snapshots" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))')
expect_eq "... and one snapshot" "$s1" "$((s0 + 1))"
expect_eq "... whose rows read with the new column" "$(csvq 'SELECT id, amount, memo FROM t ORDER BY id')" \
    "$(printf '1,10,\n2,20,\n3,30,x')"

got=$(ingest fresh "" $'id,amount\n1,10\n')
expect_status "an ingest that creates a table succeeds" 200 "$got"
expect_eq "... creating it with its rows in one metadata file" \
    "$(metadata_files fresh) $(curl -s "$BASE/tables/fresh/snapshots" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))')" "1 1"

n0=$(metadata_files t)
got=$(ingest t "mode=upsert&key=id" $'id,amount,tag\n1,15,k\n4,40,m\n')
expect_status "an upsert that adds a column and remembers its key succeeds" 200 "$got"
expect_eq "... in one metadata file" "$(metadata_files t)" "$((n0 + 1))"
curl -s -o "$TMP/t.json" "$BASE/tables/t"
expect_eq "... which holds the key property" \
    "$(jv 'd.get("properties", {}).get("tarn.upsert-key")' "$TMP/t.json")" "id"

rest_props() {
    post /iceberg/v1/namespaces/default/tables/t \
        '{"requirements": [], "updates": [{"action": "set-properties", "updates": {"owner": "ops"}}]}'
}
status_is "a REST commit that sets a property succeeds" 200 rest_props
loc=$(metadata_location t)
status_is "... and the same commit again succeeds" 200 rest_props
expect_eq "... publishing nothing, as it changes nothing" "$(metadata_location t)" "$loc"

#---- storage faults at every call of every kind of write ----

# Every kind of write runs on a table of its own per fault kind (TABLE_write, TABLE_fsync). For
# N = 1, 2, ...: one server over the same warehouse, started with TARN_FAULT failing the Nth
# call of that kind on each table still in the sweep ("write:N@/TABLE_write/,...") and with
# TARN_STORAGE_STATS=1 (when it stops it prints how many calls each fault counted), runs each
# request once. A request whose Nth call failed must answer an error and leave its table exactly
# as it was (catalog pointer and every file); a request that succeeds must have made fewer than
# N calls of that kind, which ends its sweep: each of its calls has then failed once. Reads and
# setup go through the fault-free server (BASE0). On local disk the kinds are every whole-file
# write and every fsync; on S3 (the S3 pass of tests/run.sh) every PUT: metadata, manifests and
# the upload of each data file.
BASE0=$BASE
if [ "$TEST_STORAGE" = s3 ]; then OPS=(put); OPS_TEXT=PUT; SWEEP_MAX_S=420; else
    OPS=(write fsync); OPS_TEXT="write and fsync"; SWEEP_MAX_S=240
fi
# dv: a DELETE on a format-version 3 table whose data file has a deletion vector already (the new
# vector replaces it in the same commit)
KINDS=(create append upsert delete update merge alter partition compact expire rest txn dv)
# request KIND TABLE BODY: the request of that kind on TABLE (prints the HTTP status, the answer
# goes to the file BODY; requests on different tables may run at once).
request() {
    local to=(-s -o "$3" -w '%{http_code}') json=(-H 'Content-Type: application/json')
    local csv=(-H 'Content-Type: text/csv' --data-binary)
    case $1 in
    create) curl "${to[@]}" "${csv[@]}" $'id,amount\n1,10\n' "$BASE/ingest/$2" ;;
    append) curl "${to[@]}" "${csv[@]}" $'id,amount,note\n3,30,x\n' "$BASE/ingest/$2" ;;
    upsert) curl "${to[@]}" "${csv[@]}" $'id,amount,tag\n1,11,k\n5,50,m\n' \
        "$BASE/ingest/$2?mode=upsert&key=id" ;;
    delete | update | merge | alter | dv)
        local sql
        case $1 in
        delete) sql="DELETE FROM $2 WHERE id = 1" ;;
        dv) sql="DELETE FROM $2 WHERE id = 2" ;;
        update) sql="UPDATE $2 SET amount = amount + 1 WHERE id = 2" ;;
        merge) sql="MERGE INTO $2 USING (SELECT 3 AS id, 33 AS amount UNION ALL SELECT 9, 90) AS s ON $2.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.amount)" ;;
        alter) sql="ALTER TABLE $2 ADD COLUMN extra VARCHAR" ;;
        esac
        curl "${to[@]}" "${json[@]}" --data-binary "{\"sql\": \"$sql\"}" "$BASE/query" ;;
    partition) curl "${to[@]}" "${json[@]}" --data-binary '{"partition_by": "bucket(4, id)"}' \
        "$BASE/tables/$2/partitioning" ;;
    compact) curl "${to[@]}" "${json[@]}" --data-binary '{"action": "compact"}' \
        "$BASE/tables/$2/maintenance" ;;
    expire) curl "${to[@]}" "${json[@]}" "$BASE/tables/$2/maintenance" --data-binary \
        "{\"action\": \"expire_snapshots\", \"older_than_ms\": $(($(date +%s) * 1000 + 60000)), \"retain_last\": 1}" ;;
    rest) curl "${to[@]}" "${json[@]}" "$BASE/iceberg/v1/namespaces/default/tables/$2" --data-binary \
        '{"requirements": [], "updates": [{"action": "set-properties", "updates": {"owner": "ops"}}]}' ;;
    txn) # a REST transaction over two tables (TABLE and TABLE_b): both change, or neither
        local change='"requirements": [], "updates": [{"action": "set-properties", "updates": {"owner": "txn"}}]'
        curl "${to[@]}" "${json[@]}" "$BASE/iceberg/v1/transactions/commit" --data-binary \
            "{\"table-changes\": [{\"identifier\": {\"namespace\": [\"default\"], \"name\": \"$2\"}, $change}, {\"identifier\": {\"namespace\": [\"default\"], \"name\": \"$2_b\"}, $change}]}" ;;
    esac
}

# sweep_state KIND TABLE: the state of every table a request of that kind changes.
sweep_state() {
    state "$2"
    if [ "$1" = txn ]; then state "$2_b"; fi
}

for op in "${OPS[@]}"; do
    for k in "${KINDS[@]}"; do
        t=${k}_$op
        [ "$k" = create ] && continue
        ingest "$t" "$([ "$k" = dv ] && echo format_version=3)" $'id,amount\n1,10\n2,20\n3,30\n' >/dev/null
        case $k in
        dv) curl -s -o /dev/null -H 'Content-Type: application/json' \
            --data-binary "{\"sql\": \"DELETE FROM $t WHERE id = 3\"}" "$BASE/query" ;;
        compact | expire) ingest "$t" "" $'id,amount\n4,40\n' >/dev/null ;;
        txn) ingest "${t}_b" "" $'id,amount\n1,10\n' >/dev/null ;;
        esac
    done
done

t_sweep=$(date +%s)
runs=0
declare -A PROBLEMS
for op in "${OPS[@]}"; do
    pending=("${KINDS[@]}")
    for n in $(seq 1 30); do
        [ ${#pending[@]} -gt 0 ] || break
        spec=
        # "/KIND_OP" counts the calls on that table's folder (and on TABLE_b's, for txn)
        for k in "${pending[@]}"; do spec="$spec${spec:+,}$op:$n@/${k}_$op"; done
        : >"$TMP/server.log"
        TARN_FAULT=$spec TARN_STORAGE_STATS=1 start_server "$WH" || { bad "faulted server starts"; break; }
        succeeded=()
        still=()
        # the tables are independent: their requests run side by side
        jobs=()
        for k in "${pending[@]}"; do
            sweep_state "$k" "${k}_$op" >"$TMP/before.$k"
            request "$k" "${k}_$op" "$TMP/body.$k" >"$TMP/status.$k" &
            jobs+=($!)
        done
        wait "${jobs[@]}"
        for k in "${pending[@]}"; do
            t=${k}_$op
            status=$(cat "$TMP/status.$k")
            runs=$((runs + 1))
            if [ "${status:0:1}" = 2 ]; then
                succeeded+=("$k")
                continue
            fi
            still+=("$k")
            case $status in 4?? | 5??) ;; *) PROBLEMS[$k]+=" $op:$n answered $status;" ;; esac
            before=$(cat "$TMP/before.$k")
            after=$(sweep_state "$k" "$t")
            [ "$after" = "$before" ] || PROBLEMS[$k]+=" $op:$n left $(diff <(echo "$before") <(echo "$after") | grep -c '^[<>]') changed lines: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -2 | tr '\n' ' ');"
        done
        kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
        counts=$(grep 'tarn storage calls:' "$TMP/server.log" | tail -1 | tr ' ' '\n')
        for k in "${succeeded[@]}"; do
            c=$(echo "$counts" | sed -n "s|^$op:$n@/${k}_$op=||p")
            [ -n "$c" ] && [ "$c" -lt "$n" ] ||
                PROBLEMS[$k]+=" $op:$n was armed (calls counted: ${c:-none}) yet the request succeeded;"
        done
        pending=("${still[@]}")
    done
    for k in "${pending[@]}"; do PROBLEMS[$k]+=" $op: never succeeded;"; done
done
for k in "${KINDS[@]}"; do
    if [ -z "${PROBLEMS[$k]:-}" ]; then ok "fault sweep: $k, every $OPS_TEXT failed once"
    else bad "fault sweep: $k:${PROBLEMS[$k]}"; fi
done
t_sweep=$(($(date +%s) - t_sweep))
expect_eq "the sweep covered every call ($runs requests) in bounded time (${t_sweep}s)" \
    "$([ "$runs" -ge $((30 * ${#OPS[@]})) ] && [ "$t_sweep" -lt "$SWEEP_MAX_S" ] && echo yes)" yes
BASE=$BASE0

finish
