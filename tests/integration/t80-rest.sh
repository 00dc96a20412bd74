#!/usr/bin/env bash
# t80-rest: the Iceberg REST catalog under /iceberg/v1 (ICEBERG.md 7). iceberg-js drives it
# through ../shared/interop/rest-client-check.mjs; then the JSON bodies PyIceberg and Java send
# (create, append = add-snapshot + set-snapshot-ref with assert-ref-snapshot-id, schema change, a
# commit race, staged create, rename, purge, a multi-table transaction, ETag/304) are replayed
# with curl and checked field by field; finally OAuth tokens with --token.
. "$(dirname "$0")/lib.sh"
API_PREFIX=/iceberg # call and post paths are under the REST catalog

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- iceberg-js ----
if [ -f "$INTEROP/rest-client-check.mjs" ] && command -v node >/dev/null; then
    check "iceberg-js: rest-client-check passes" node "$INTEROP/rest-client-check.mjs" "$BASE/iceberg"
    check "iceberg-js: with purge and a nested-free namespace" \
        node "$INTEROP/rest-client-check.mjs" "$BASE/iceberg" --namespace js2 --table t2 --purge
else
    skip "iceberg-js check" "interop tools not installed in $INTEROP"
fi

#---- config and namespaces ----
status_is "GET /v1/config" 200 call GET /v1/config
expect_eq "config lists endpoints" "$(jv '"POST /v1/{prefix}/transactions/commit" in d["endpoints"] and "defaults" in d')" "true"
status_is "create namespace" 200 post /v1/namespaces '{"namespace":["acct"],"properties":{"owner":"ann"}}'
expect_eq "create namespace answer" "$(jv '[d["namespace"], d["properties"]]')" '[["acct"], {"owner": "ann"}]'
status_is "create it again: 409" 409 post /v1/namespaces '{"namespace":["acct"]}'
expect_eq "409 is AlreadyExistsException" "$(jv '[d["error"]["type"], d["error"]["code"]]')" '["AlreadyExistsException", 409]'
status_is "create nested namespace" 200 post /v1/namespaces '{"namespace":["acct","tax"]}'
status_is "bad namespace name: 400" 400 post /v1/namespaces '{"namespace":["no way"]}'
status_is "list namespaces" 200 call GET /v1/namespaces
expect_eq "top level only" "$(jv 'd["namespaces"]')" '[["acct"]]'
status_is "list children of acct" 200 call GET '/v1/namespaces?parent=acct'
expect_eq "children" "$(jv 'd["namespaces"]')" '[["acct", "tax"]]'
status_is "load nested namespace (%1F)" 200 call GET '/v1/namespaces/acct%1Ftax'
expect_eq "nested namespace levels" "$(jv 'd["namespace"]')" '["acct", "tax"]'
status_is "HEAD namespace" 204 call HEAD /v1/namespaces/acct -I
status_is "HEAD missing namespace" 404 call HEAD /v1/namespaces/nope -I
status_is "load missing namespace" 404 call GET /v1/namespaces/nope
expect_eq "NoSuchNamespaceException" "$(jv 'd["error"]["type"]')" "NoSuchNamespaceException"
status_is "update properties" 200 post /v1/namespaces/acct/properties '{"updates":{"team":"fin"},"removals":["owner","ghost"]}'
expect_eq "updated/removed/missing" "$(jv '[d["updated"], d["removed"], d["missing"]]')" '[["team"], ["owner"], ["ghost"]]'
status_is "key in both: 422" 422 post /v1/namespaces/acct/properties '{"updates":{"a":"1"},"removals":["a"]}'
status_is "properties after update" 200 call GET /v1/namespaces/acct
expect_eq "team set, owner gone" "$(jv '[d["properties"].get("team"), "owner" in d["properties"]]')" '["fin", false]'
for i in 1 2 3; do post /v1/namespaces "{\"namespace\":[\"p$i\"]}" >/dev/null; done
status_is "page 1 of namespaces" 200 call GET '/v1/namespaces?pageToken=&pageSize=2'
expect_eq "page 1" "$(jv '[d["namespaces"], d["next-page-token"]]')" '[[["acct"], ["p1"]], "2"]'
status_is "page 2 of namespaces" 200 call GET '/v1/namespaces?pageToken=2&pageSize=2'
expect_eq "page 2 ends" "$(jv '[d["namespaces"], d["next-page-token"]]')" '[[["p2"], ["p3"]], null]'

#---- create table as PyIceberg sends it ----
CREATE='{"name":"events","location":null,"schema":{"type":"struct","schema-id":0,"identifier-field-ids":[],"fields":[{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"msg","type":"string","required":false}]},"partition-spec":{"spec-id":0,"fields":[]},"write-order":{"order-id":0,"fields":[]},"stage-create":false,"properties":{"owner":"py"}}'
status_is "create table" 200 post /v1/namespaces/acct/tables "$CREATE"
expect_eq "LoadTableResult fields" "$(jv '[d["metadata-location"].endswith(".metadata.json"), d["metadata"]["format-version"], d["metadata"]["properties"]["owner"], [f["name"] for f in d["metadata"]["schemas"][0]["fields"]], "config" in d]')" \
    '[true, 2, "py", ["id", "msg"], true]'
status_is "create it again: 409" 409 post /v1/namespaces/acct/tables "$CREATE"
status_is "create in a missing namespace: 404" 404 post /v1/namespaces/nope/tables "$CREATE"
expect_eq "... NoSuchNamespaceException" "$(jv 'd["error"]["type"]')" "NoSuchNamespaceException"
status_is "list tables" 200 call GET /v1/namespaces/acct/tables
expect_eq "identifiers" "$(jv 'd["identifiers"]')" '[{"namespace": ["acct"], "name": "events"}]'
status_is "load credentials without --vend-credentials" 200 call GET /v1/namespaces/acct/tables/events/credentials
expect_eq "... none: the client uses its own" "$(jv 'd["storage-credentials"]')" '[]'
status_is "load credentials of a missing table: 404" 404 call GET /v1/namespaces/acct/tables/ghost/credentials
expect_eq "... NoSuchTableException" "$(jv 'd["error"]["type"]')" "NoSuchTableException"
status_is "HEAD table" 204 call HEAD /v1/namespaces/acct/tables/events -I
status_is "load missing table" 404 call GET /v1/namespaces/acct/tables/nope
expect_eq "NoSuchTableException" "$(jv 'd["error"]["type"]')" "NoSuchTableException"
status_is "metrics report" 204 post /v1/namespaces/acct/tables/events/metrics '{"report-type":"commit-report","table-name":"acct.events","snapshot-id":1,"sequence-number":1,"operation":"append","metrics":{}}'
status_is "metrics report for a missing table: 404" 404 post /v1/namespaces/acct/tables/ghost/metrics '{"report-type":"commit-report"}'
expect_eq "... NoSuchTableException" "$(jv 'd["error"]["type"]')" "NoSuchTableException"
status_is "metrics report in a missing namespace: 404" 404 post /v1/namespaces/nope/tables/ghost/metrics '{"report-type":"commit-report"}'
expect_eq "... NoSuchNamespaceException" "$(jv 'd["error"]["type"]')" "NoSuchNamespaceException"

#---- ETag / 304 ----
etag=$(curl -s -D - -o /dev/null "$BASE/iceberg/v1/namespaces/acct/tables/events" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
expect_eq "load has an ETag" "$([ -n "$etag" ] && echo yes)" "yes"
status_is "If-None-Match: 304" 304 call GET /v1/namespaces/acct/tables/events -H "If-None-Match: $etag"
status_is "other ETag: 200" 200 call GET /v1/namespaces/acct/tables/events -H 'If-None-Match: "0000"'

#---- a table made by /ingest loads through REST with identical metadata ----
printf 'id,msg\n1,a\n2,b\n3,c\n' >"$TMP/t.csv"
curl -s -o "$TMP/ing" -X POST -H 'Content-Type: text/csv' --data-binary @"$TMP/t.csv" "$BASE/ingest/acct.logs"
curl -s -o "$TMP/native" "$BASE/tables/acct.logs"
status_is "load ingested table" 200 call GET /v1/namespaces/acct/tables/logs
cp "$TMP/body" "$TMP/logs.json"
expect_eq "same metadata location and snapshot" \
    "$(jv '[d["metadata-location"], d["metadata"]["current-snapshot-id"]]')" \
    "$(jv '[d["metadata_location"], d["current_snapshot_id"]]' "$TMP/native")"
uuid=$(jv 'd["metadata"]["table-uuid"]' "$TMP/logs.json")
cur=$(jv 'd["metadata"]["current-snapshot-id"]' "$TMP/logs.json")
seq=$(jv 'd["metadata"]["last-sequence-number"]' "$TMP/logs.json")
ml=$(jv '[s for s in d["metadata"]["snapshots"] if s["snapshot-id"] == d["metadata"]["current-snapshot-id"]][0]["manifest-list"]' "$TMP/logs.json")
schema_id=$(jv 'd["metadata"]["current-schema-id"]' "$TMP/logs.json")

#---- append as PyIceberg commits it ----
new=$((cur + 1))
now=$(($(date +%s) * 1000))
append() { # append NEW_ID PARENT SEQ
    printf '{"identifier":{"namespace":["acct"],"name":"logs"},"requirements":[{"type":"assert-table-uuid","uuid":"%s"},{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":%s}],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":%s,"parent-snapshot-id":%s,"sequence-number":%s,"timestamp-ms":%s,"manifest-list":"%s","summary":{"operation":"append","added-records":"0"},"schema-id":%s}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%s}]}' \
        "$uuid" "$2" "$1" "$2" "$3" "$now" "$ml" "$schema_id" "$1"
}
status_is "append commit" 200 post /v1/namespaces/acct/tables/logs "$(append $new "$cur" $((seq + 1)))"
expect_eq "CommitTableResponse" "$(jv '[d["metadata"]["current-snapshot-id"], d["metadata"]["last-sequence-number"], d["metadata"]["refs"]["main"]["snapshot-id"], d["metadata"]["snapshot-log"][-1]["snapshot-id"], d["metadata"]["snapshot-log"][-1]["timestamp-ms"], d["metadata-location"].split("/")[-1][:5], len(d["metadata"]["metadata-log"]) > 0]')" \
    "[$new, $((seq + 1)), $new, $new, $now, \"00001\", true]" # the ingest that made it: 00000
expect_eq "/query sees the REST snapshot" "$(csvq 'SELECT count(*) FROM acct."logs$snapshots"'),$(csvq "SELECT count(*) FROM acct.\"logs\$snapshots\" WHERE snapshot_id = $new")" "2,1"
expect_eq "/query reads the table at the new snapshot" "$(csvq 'SELECT count(*) FROM acct.logs')" "3"
status_is "stale sequence number: 409" 409 post /v1/namespaces/acct/tables/logs "$(append $((new + 5)) $new $((seq + 1)))"
expect_eq "... CommitFailedException" "$(jv 'd["error"]["type"]')" "CommitFailedException"
status_is "wrong uuid: 409" 409 post /v1/namespaces/acct/tables/logs '{"requirements":[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000000"}],"updates":[]}'
status_is "unknown action: 400" 400 post /v1/namespaces/acct/tables/logs '{"requirements":[],"updates":[{"action":"fly-to-moon"}]}'
status_is "unknown requirement: 400" 400 post /v1/namespaces/acct/tables/logs '{"requirements":[{"type":"assert-nothing"}],"updates":[]}'
status_is "commit to a missing table: 404" 404 post /v1/namespaces/acct/tables/nope '{"requirements":[],"updates":[]}'

#---- commit race: two commits on the same parent ----
a=$((new + 10)); b=$((new + 20))
post /v1/namespaces/acct/tables/logs "$(append $a $new $((seq + 2)))" >"$TMP/ra" & pa=$!
post /v1/namespaces/acct/tables/logs "$(append $b $new $((seq + 2)))" >"$TMP/rb" & pb=$!
wait "$pa" "$pb"
expect_eq "race: one 200 and one 409" "$(sort "$TMP/ra" "$TMP/rb" | tr '\n' ' ')" "200 409 "
status_is "load after race" 200 call GET /v1/namespaces/acct/tables/logs
expect_eq "the winner is current" "$(jv "d['metadata']['current-snapshot-id'] in ($a, $b) and len(d['metadata']['snapshots']) == 3")" "true"

#---- schema change as Java sends it ----
SCHEMA='{"requirements":[{"type":"assert-current-schema-id","current-schema-id":'$schema_id'}],"updates":[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[{"id":1,"name":"id","type":"long","required":false},{"id":2,"name":"msg","type":"string","required":false},{"id":3,"name":"note","type":"string","required":false}]},"last-column-id":3},{"action":"set-current-schema","schema-id":-1},{"action":"set-properties","updates":{"k":"v"}},{"action":"remove-properties","removals":["nope"]}]}'
status_is "schema change" 200 post /v1/namespaces/acct/tables/logs "$SCHEMA"
expect_eq "new current schema" "$(jv '[d["metadata"]["current-schema-id"], d["metadata"]["last-column-id"], [f["name"] for f in d["metadata"]["schemas"][-1]["fields"]], d["metadata"]["properties"]["k"]]')" \
    "[$((schema_id + 1)), 3, [\"id\", \"msg\", \"note\"], \"v\"]"
status_is "same schema change again: 409" 409 post /v1/namespaces/acct/tables/logs "$SCHEMA"
expect_eq "/query sees the new column" "$(csvq 'SELECT count(note) FROM acct.logs')" "0"
status_is "snapshots=refs" 200 call GET '/v1/namespaces/acct/tables/logs?snapshots=refs'
expect_eq "refs mode keeps only ref heads" "$(jv 'len(d["metadata"]["snapshots"])')" "1"

#---- stage-create, then assert-create ----
STAGE='{"name":"staged","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","type":"int","required":false}]},"stage-create":true,"properties":{}}'
status_is "stage-create" 200 post /v1/namespaces/acct/tables "$STAGE"
expect_eq "staged: no metadata-location" "$(jv '[d["metadata-location"], d["metadata"]["format-version"]]')" '[null, 2]'
status_is "staged table does not exist yet" 404 call GET /v1/namespaces/acct/tables/staged
CREATE_COMMIT='{"requirements":[{"type":"assert-create"}],"updates":[{"action":"assign-uuid","uuid":"1b7b6d5e-7f5a-4c1e-9a34-3b7e0c8a1f00"},{"action":"upgrade-format-version","format-version":2},{"action":"add-schema","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","type":"int","required":false}]},"last-column-id":1},{"action":"set-current-schema","schema-id":-1},{"action":"add-spec","spec":{"spec-id":0,"fields":[]}},{"action":"set-default-spec","spec-id":-1},{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},{"action":"set-default-sort-order","sort-order-id":-1},{"action":"set-properties","updates":{"a":"b"}}]}'
status_is "assert-create commit" 200 post /v1/namespaces/acct/tables/staged "$CREATE_COMMIT"
expect_eq "created from the updates" "$(jv '[d["metadata"]["table-uuid"], d["metadata"]["current-schema-id"], d["metadata"]["properties"]["a"], d["metadata-location"].split("/")[-1][:5]]')" \
    '["1b7b6d5e-7f5a-4c1e-9a34-3b7e0c8a1f00", 0, "b", "00000"]'
status_is "assert-create when it exists: 409" 409 post /v1/namespaces/acct/tables/staged "$CREATE_COMMIT"
expect_eq "/query reads the staged table" "$(csvq 'SELECT count(*) FROM acct.staged')" "0"

#---- multi-table transaction: all or none ----
loc_events=$(call GET /v1/namespaces/acct/tables/events >/dev/null; jv 'd["metadata-location"]')
loc_staged=$(call GET /v1/namespaces/acct/tables/staged >/dev/null; jv 'd["metadata-location"]')
TX_BAD='{"table-changes":[{"identifier":{"namespace":["acct"],"name":"events"},"requirements":[],"updates":[{"action":"set-properties","updates":{"tx":"1"}}]},{"identifier":{"namespace":["acct"],"name":"staged"},"requirements":[{"type":"assert-current-schema-id","current-schema-id":7}],"updates":[{"action":"set-properties","updates":{"tx":"1"}}]}]}'
status_is "transaction with a failed requirement: 409" 409 post /v1/transactions/commit "$TX_BAD"
expect_eq "neither table changed" \
    "$(call GET /v1/namespaces/acct/tables/events >/dev/null; jv 'd["metadata-location"]'),$(call GET /v1/namespaces/acct/tables/staged >/dev/null; jv 'd["metadata-location"]')" \
    "$loc_events,$loc_staged"
TX_OK=${TX_BAD/\"current-schema-id\":7/\"current-schema-id\":0}
status_is "transaction" 204 post /v1/transactions/commit "$TX_OK"
expect_eq "both tables changed" \
    "$(call GET /v1/namespaces/acct/tables/events >/dev/null; jv 'd["metadata"]["properties"].get("tx")'),$(call GET /v1/namespaces/acct/tables/staged >/dev/null; jv 'd["metadata"]["properties"].get("tx")')" \
    "1,1"

#---- rename, register, drop ----
status_is "rename" 204 post /v1/tables/rename '{"source":{"namespace":["acct"],"name":"staged"},"destination":{"namespace":["p1"],"name":"moved"}}'
status_is "renamed table loads" 200 call GET /v1/namespaces/p1/tables/moved
status_is "old name is gone" 404 call GET /v1/namespaces/acct/tables/staged
status_is "rename onto an existing table: 409" 409 post /v1/tables/rename '{"source":{"namespace":["p1"],"name":"moved"},"destination":{"namespace":["acct"],"name":"logs"}}'
status_is "rename into a missing namespace: 404" 404 post /v1/tables/rename '{"source":{"namespace":["p1"],"name":"moved"},"destination":{"namespace":["zz"],"name":"x"}}'
mloc=$(call GET /v1/namespaces/p1/tables/moved >/dev/null; jv 'd["metadata-location"]')
status_is "register a copy" 200 post /v1/namespaces/p2/register "{\"name\":\"again\",\"metadata-location\":\"$mloc\"}"
expect_eq "registered at that metadata" "$(jv 'd["metadata-location"]')" "$mloc"
status_is "drop namespace with tables: 409" 409 call DELETE /v1/namespaces/acct
expect_eq "NamespaceNotEmptyException" "$(jv 'd["error"]["type"]')" "NamespaceNotEmptyException"
events_dir=$(call GET /v1/namespaces/acct/tables/events >/dev/null; jv 'd["metadata"]["location"]' | sed 's|^file://||')
events_dir=${events_dir#"$WH"/} # relative to the warehouse
n=$(wh_ls "$events_dir/metadata" | wc -l)
expect_eq "the table to purge has metadata files in the warehouse" "$((n > 0))" "1"
status_is "drop with purge" 204 call DELETE '/v1/namespaces/acct/tables/events?purgeRequested=true'
expect_eq "purge removed the metadata files" "$(wh_ls "$events_dir/metadata" | wc -l)" "0"
status_is "dropped table is gone" 404 call HEAD /v1/namespaces/acct/tables/events -I

#---- views (the view spec; the bodies Spark and Trino send) ----
VIEW='{"name":"recent","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"n","type":"long","required":false}]},"view-version":{"version-id":1,"timestamp-ms":1700000000000,"schema-id":0,"summary":{"engine-name":"spark","engine-version":"3.5"},"representations":[{"type":"sql","sql":"SELECT count(*) AS n FROM acct.logs","dialect":"spark"}],"default-namespace":["acct"]},"properties":{"comment":"rows"}}'
status_is "create a view" 200 post /v1/namespaces/p1/views "$VIEW"
expect_eq "LoadViewResult: format 1, version 1 current, the SQL, the properties" \
    "$(jv '[d["metadata"]["format-version"], d["metadata"]["current-version-id"], d["metadata"]["versions"][0]["representations"][0]["sql"], d["metadata"]["properties"], d["metadata-location"].startswith(d["metadata"]["location"] + "/metadata/00000-")]')" \
    '[1, 1, "SELECT count(*) AS n FROM acct.logs", {"comment": "rows"}, true]'
vuuid=$(jv 'd["metadata"]["view-uuid"]')
status_is "create it again: 409" 409 post /v1/namespaces/p1/views "$VIEW"
status_is "a view cannot take a table's name: 409" 409 post /v1/namespaces/p1/views "${VIEW/\"recent\"/\"moved\"}"
status_is "nor a table a view's" 409 post /v1/namespaces/p1/tables '{"name":"recent","schema":{"type":"struct","fields":[{"id":1,"name":"a","type":"long","required":false}]}}'
status_is "list views" 200 call GET /v1/namespaces/p1/views
expect_eq "the view is listed" "$(jv 'd["identifiers"]')" '[{"namespace": ["p1"], "name": "recent"}]'
status_is "list tables" 200 call GET /v1/namespaces/p1/tables
expect_eq "views are not listed as tables" "$(jv '[i["name"] for i in d["identifiers"]]')" '["moved"]'
status_is "HEAD view" 204 call HEAD /v1/namespaces/p1/views/recent -I
status_is "a view is no table" 404 call GET /v1/namespaces/p1/tables/recent
status_is "missing view" 404 call GET /v1/namespaces/p1/views/nope
expect_eq "NoSuchViewException" "$(jv 'd["error"]["type"]')" "NoSuchViewException"
status_is "view in a missing namespace" 404 call GET /v1/namespaces/zz/views/nope
expect_eq "NoSuchNamespaceException" "$(jv 'd["error"]["type"]')" "NoSuchNamespaceException"
status_is "a view outside the warehouse: 403" 403 post /v1/namespaces/p1/views "${VIEW/\"name\":\"recent\"/\"name\":\"out\",\"location\":\"file:///tmp/elsewhere\"}"
status_is "replace: a new schema and version, made current (-1)" 200 post /v1/namespaces/p1/views/recent \
    "{\"requirements\":[{\"type\":\"assert-view-uuid\",\"uuid\":\"$vuuid\"}],\"updates\":[{\"action\":\"add-schema\",\"schema\":{\"type\":\"struct\",\"schema-id\":1,\"fields\":[{\"id\":1,\"name\":\"n\",\"type\":\"long\",\"required\":false},{\"id\":2,\"name\":\"m\",\"type\":\"long\",\"required\":false}]},\"last-column-id\":2},{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,\"timestamp-ms\":1700000005000,\"schema-id\":-1,\"summary\":{\"engine-name\":\"trino\"},\"representations\":[{\"type\":\"sql\",\"sql\":\"SELECT count(*) AS n, max(id) AS m FROM acct.logs\",\"dialect\":\"trino\"}],\"default-namespace\":[\"acct\"]}},{\"action\":\"set-current-view-version\",\"view-version-id\":-1},{\"action\":\"set-properties\",\"updates\":{\"owner\":\"ann\"}},{\"action\":\"remove-properties\",\"removals\":[\"comment\"]}]}"
expect_eq "version 2 current on schema 1, logged, properties changed, next metadata file" \
    "$(jv '[d["metadata"]["current-version-id"], d["metadata"]["versions"][1]["schema-id"], [e["version-id"] for e in d["metadata"]["version-log"]], d["metadata"]["properties"], "/metadata/00001-" in d["metadata-location"]]')" \
    '[2, 1, [1, 2], {"owner": "ann"}, true]'
status_is "a stale uuid requirement: 409" 409 post /v1/namespaces/p1/views/recent '{"requirements":[{"type":"assert-view-uuid","uuid":"00000000-0000-0000-0000-000000000000"}],"updates":[]}'
expect_eq "CommitFailedException" "$(jv 'd["error"]["type"]')" "CommitFailedException"
status_is "a current version that does not exist: 400" 400 post /v1/namespaces/p1/views/recent '{"updates":[{"action":"set-current-view-version","view-version-id":9}]}'
status_is "an unknown update: 400" 400 post /v1/namespaces/p1/views/recent '{"updates":[{"action":"set-location-please"}]}'
status_is "moving the view outside the warehouse: 403" 403 post /v1/namespaces/p1/views/recent '{"updates":[{"action":"set-location","location":"file:///tmp/elsewhere"}]}'
status_is "the refused changes left version 2" 200 call GET /v1/namespaces/p1/views/recent
expect_eq "still version 2" "$(jv 'd["metadata"]["current-version-id"]')" "2"
vloc=$(jv 'd["metadata-location"]')
status_is "rename a view" 204 post /v1/views/rename '{"source":{"namespace":["p1"],"name":"recent"},"destination":{"namespace":["p2"],"name":"latest"}}'
status_is "the renamed view loads" 200 call GET /v1/namespaces/p2/views/latest
status_is "drop the view" 204 call DELETE /v1/namespaces/p2/views/latest
status_is "dropped: 404" 404 call GET /v1/namespaces/p2/views/latest
status_is "register a view from its metadata" 200 post /v1/namespaces/p2/register-view "{\"name\":\"copy\",\"metadata-location\":\"$vloc\"}"
expect_eq "registered at that metadata" "$(jv '[d["metadata-location"], d["metadata"]["current-version-id"]]')" "[\"$vloc\", 2]"
status_is "register a view from outside the warehouse: 403" 403 post /v1/namespaces/p2/register-view '{"name":"x","metadata-location":"file:///etc/passwd"}'
status_is "config lists the view endpoints" 200 call GET /v1/config
expect_eq "view endpoints" "$(jv '"POST /v1/{prefix}/namespaces/{namespace}/views" in d["endpoints"] and "POST /v1/{prefix}/views/rename" in d["endpoints"]')" "true"
expect_eq "the catalog file has Java's V1 schema (iceberg_type) with the view typed VIEW" \
    "$(sqlite3 "${TARN_CATALOG:-$WH/catalog.db}" "SELECT table_name || ':' || iceberg_type FROM iceberg_tables WHERE iceberg_type = 'VIEW'")" "copy:VIEW"
status_is "drop it" 204 call DELETE /v1/namespaces/p2/views/copy

#---- views in tarn's SQL: a name that is a view reads its query ----
printf 'id,amount\n1,5\n2,15\n3,25\n' | curl -s -o /dev/null -X POST "$BASE/ingest/sales" --data-binary @- -H 'Content-Type: text/csv'
view_body() { # NAME SQL [DIALECT] [NAMESPACE]
    printf '{"name":"%s","schema":{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":false}]},"view-version":{"version-id":1,"timestamp-ms":1700000000000,"schema-id":0,"summary":{},"representations":[{"type":"sql","sql":"%s","dialect":"%s"}],"default-namespace":["%s"]}}' \
        "$1" "$2" "${3:-spark}" "${4:-default}"
}
status_is "a view over a tarn table" 200 post /v1/namespaces/default/views "$(view_body big 'SELECT id, amount FROM sales WHERE amount > 10')"
expect_eq "tarn's SQL reads the view's query" "$(csvq 'SELECT count(*), sum(amount) FROM big')" "2,40"
expect_eq "a view joins a table" "$(csvq 'SELECT s.id FROM sales s JOIN default.big b ON s.id = b.id ORDER BY 1' | tr '\n' ' ')" "2 3 "
status_is "a view in another namespace reads names in its default namespace" 200 \
    post /v1/namespaces/p2/views "$(view_body top 'SELECT max(amount) AS m FROM big')"
expect_eq "views nest" "$(csvq 'SELECT m FROM p2.top')" "25"
status_is "a view reading itself" 200 post /v1/namespaces/default/views "$(view_body loop 'SELECT * FROM loop')"
code=$(curl -s -o "$TMP/vq" -w '%{http_code}' -G "$BASE/query" --data-urlencode 'sql=SELECT * FROM loop')
expect_eq "is refused with the reason" "$code,$(grep -c 'nest more than' "$TMP/vq")" "400,1"
code=$(curl -s -o "$TMP/vq" -w '%{http_code}' -G "$BASE/query" --data-urlencode 'sql=SELECT * FROM big AT (VERSION => 1)')
expect_eq "time travel on a view is refused" "$code,$(grep -c 'no snapshots of its own' "$TMP/vq")" "400,1"
status_is "a view whose SQL DuckDB cannot parse" 200 post /v1/namespaces/default/views "$(view_body odd 'SELEKT 1' trino)"
code=$(curl -s -o "$TMP/vq" -w '%{http_code}' -G "$BASE/query" --data-urlencode 'sql=SELECT * FROM odd')
expect_eq "is an error naming the view" "$code,$(grep -c 'view default.odd' "$TMP/vq")" "400,1"
# hostile views: what a view's SQL may do is what a query may do, no more
evil_n=0
for bad in "SELECT * FROM read_csv('/etc/passwd')" "SELECT 1; COPY (SELECT 1) TO '/tmp/pwn.csv'" \
           "DELETE FROM sales" "ATTACH '/tmp/x.db'"; do
    n=evil$((++evil_n))
    status_is "a view whose SQL is: $bad" 200 post /v1/namespaces/default/views "$(view_body "$n" "$bad")"
    code=$(curl -s -o "$TMP/vq" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT * FROM $n")
    expect_eq "reading it is refused ($bad)" "$([[ $code == 4* ]] && echo 4xx || echo "$code")" "4xx"
done
expect_eq "and nothing was written by them" "$(ls /tmp/pwn.csv 2>/dev/null | wc -l),$(csvq 'SELECT count(*) FROM sales')" "0,3"
status_is "a view name that climbs out" 400 post /v1/namespaces/default/views "$(view_body '../x' 'SELECT 1')"
python3 -c 'print("[" * 20000)' >"$TMP/deep.json"
status_is "a 20,000-deep view request" 400 call POST /v1/namespaces/default/views --data-binary @"$TMP/deep.json"
head -c 70000000 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/iceberg/v1/namespaces/default/views" --data-binary @"$TMP/huge.json")
expect_eq "a 70 MB view request is refused" "$([[ $code == 4* ]] && echo 4xx || echo "$code")" "4xx"
status_is "and the server still answers" 200 call GET /v1/namespaces/default/views
buuid=$(call GET /v1/namespaces/default/views/big >/dev/null; jv 'd["metadata"]["view-uuid"]')
status_is "replace the view's query (a DuckDB representation is preferred)" 200 post /v1/namespaces/default/views/big \
    "{\"requirements\":[{\"type\":\"assert-view-uuid\",\"uuid\":\"$buuid\"}],\"updates\":[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,\"timestamp-ms\":1700000009000,\"schema-id\":0,\"summary\":{},\"representations\":[{\"type\":\"sql\",\"sql\":\"SELECT nonsense\",\"dialect\":\"spark\"},{\"type\":\"sql\",\"sql\":\"SELECT id, amount FROM sales WHERE amount > 20\",\"dialect\":\"duckdb\"}],\"default-namespace\":[\"default\"]}},{\"action\":\"set-current-view-version\",\"view-version-id\":-1}]}"
expect_eq "the next query reads the new version" "$(csvq 'SELECT count(*), sum(amount) FROM big')" "1,25"

#---- OAuth ----
status_is "token endpoint without auth configured: 400" 400 call POST /v1/oauth/tokens -d 'grant_type=client_credentials&client_id=a&client_secret=b'
expect_eq "invalid_client" "$(jv 'd["error"]')" "invalid_client"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
TARN_REST_TOKEN_TTL=15 start_server "$WH" --token s3cret || { bad "server with --token starts"; finish; exit 1; }
status_is "no token: 401" 401 call GET /v1/namespaces
expect_eq "NotAuthorizedException" "$(jv 'd["error"]["type"]')" "NotAuthorizedException"
status_is "server token works" 200 call GET /v1/namespaces -H 'Authorization: Bearer s3cret'
status_is "wrong client secret: 401" 401 call POST /v1/oauth/tokens -d 'grant_type=client_credentials&client_id=spark&client_secret=nope&scope=catalog'
issued_at=$(date +%s.%N)
status_is "client credentials grant" 200 call POST /v1/oauth/tokens -d 'grant_type=client_credentials&client_id=spark&client_secret=s3cret&scope=catalog'
tok=$(jv 'd["access_token"]')
expect_eq "token response" "$(jv '[d["token_type"], d["expires_in"], len(d["access_token"]) > 20]')" '["bearer", 15, true]'
status_is "issued token works" 200 call GET /v1/namespaces -H "Authorization: Bearer $tok"
status_is "token exchange (refresh)" 200 call POST /v1/oauth/tokens -d "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=$tok&subject_token_type=urn:ietf:params:oauth:token-type:access_token"
if [ -f "$INTEROP/rest-client-check.mjs" ] && command -v node >/dev/null; then
    check "iceberg-js with a bearer token" node "$INTEROP/rest-client-check.mjs" "$BASE/iceberg" --token "$tok"
fi
# until the 15 s token has expired (the steps above may take seconds on a loaded machine)
sleep "$(python3 -c "import time; print(max(0.0, $issued_at + 15.3 - time.time()))")"
status_is "expired token: 419" 419 call GET /v1/namespaces -H "Authorization: Bearer $tok"
status_is "made-up token: 401" 401 call GET /v1/namespaces -H 'Authorization: Bearer 0123'
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# client credentials alone (--client ID:SECRET): tokens are issued only to that client
start_server "$WH" --client trino:t0ps3cret || { bad "server with --client starts"; finish; exit 1; }
status_is "--client: no token 401" 401 call GET /v1/namespaces
status_is "--client: wrong client id 401" 401 call POST /v1/oauth/tokens -d 'grant_type=client_credentials&client_id=spark&client_secret=t0ps3cret'
status_is "--client: its credentials get a token" 200 call POST /v1/oauth/tokens -d 'grant_type=client_credentials&client_id=trino&client_secret=t0ps3cret'
tok=$(jv 'd["access_token"]')
status_is "--client: the token works" 200 call GET /v1/namespaces -H "Authorization: Bearer $tok"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# --vend-credentials: load credentials answers the warehouse's S3 credentials for the table's
# location (the keys loadTable's config carries); a local warehouse has none to vend
start_server "$WH" --vend-credentials || { bad "server with --vend-credentials starts"; finish; exit 1; }
status_is "config lists load credentials" 200 call GET /v1/config
expect_eq "... the endpoint" "$(jv '"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials" in d["endpoints"]')" "true"
status_is "load table with --vend-credentials" 200 call GET /v1/namespaces/acct/tables/logs
cp "$TMP/body" "$TMP/loaded.json"
status_is "load credentials with --vend-credentials" 200 call GET /v1/namespaces/acct/tables/logs/credentials
if [ "$TEST_STORAGE" = s3 ]; then
    expect_eq "... one credential for the table's location, loadTable's config" \
        "$(jv '[len(d["storage-credentials"]), d["storage-credentials"][0]["prefix"] == json.load(open(sys.argv[2].replace("body", "loaded.json")))["metadata"]["location"], d["storage-credentials"][0]["config"] == json.load(open(sys.argv[2].replace("body", "loaded.json")))["config"], d["storage-credentials"][0]["config"]["s3.access-key-id"] == __import__("os").environ["AWS_ACCESS_KEY_ID"]]')" \
        '[1, true, true, true]'
else
    expect_eq "... none on a local warehouse" "$(jv 'd["storage-credentials"]')" '[]'
fi
status_is "load credentials is GET only" 404 call POST /v1/namespaces/acct/tables/logs/credentials

finish
