#!/usr/bin/env bash
# t92-hostile-paths: requests that point tarn at files outside the warehouse, or at the catalog,
# through every route a probe found (REST set-location, create, register, an add-snapshot's
# manifest list then expiry, a purge through an alias, NUL bytes in names), must be refused and
# leave those files alone; a catalog whose files another process removed refuses writes instead
# of losing them; stale upload spools go at start. Local warehouse only (the probes are about
# local paths and SQLite's files); the sandbox's S3 side is in tests/unit/test_paths.c.
. "$(dirname "$0")/lib.sh"

if [ "$TEST_STORAGE" = s3 ]; then
    skip "hostile paths" "local warehouse only"
    finish
    exit
fi

OUT=$TMP/outside
mkdir -p "$OUT"
echo "s3cr3t-content" >"$OUT/hidden.txt"
echo "precious" >"$TMP/victim.txt"
echo "precious" >"$TMP/victim2.txt"

# a spool file a killed server left behind (PID 999999 does not exist), and an old one
mkdir -p "$WH/.tmp"
echo "x" >"$WH/.tmp/upload-999999-0000"
echo "x" >"$WH/.tmp/upload-1111-old"
touch -d '3 hours ago' "$WH/.tmp/upload-1111-old"
echo "x" >"$WH/.tmp/upload-fresh"

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"
expect_eq "stale spool files are removed at start, a fresh one is kept" \
    "$(ls "$WH/.tmp" | grep -c '^upload-999999-0000$\|^upload-1111-old$'),$(ls "$WH/.tmp" | grep -c '^upload-fresh$')" "0,1"

ingest() { curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H 'Content-Type: text/csv' --data-binary "$2" "$BASE/ingest/$1"; }
rest() { API_PREFIX=/iceberg post "$@"; }
status_is "ingest t1" 200 ingest t1 $'id\n1\n2\n'
status_is "ingest t2" 200 ingest t2 $'id\n7\n'
status_is "ingest a" 200 ingest a $'id\n1\n'

#---- 1. REST set-location on an existing table ----
status_is "set-location outside the warehouse: 403" 403 rest /v1/namespaces/default/tables/t1 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-location\",\"location\":\"file://$OUT\"}]}"
expect_eq "... ForbiddenException" "$(jv '[d["error"]["type"], d["error"]["code"]]')" '["ForbiddenException", 403]'
expect_eq "... nothing was written there" "$(ls "$OUT")" "hidden.txt"
# after a restart (which once let DuckDB read the folder of every table's metadata), a query
# still cannot read outside the warehouse
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
start_server "$WH" || bad "server restarts"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT content FROM read_text('$OUT/hidden.txt')")
expect_eq "read_text outside the warehouse is refused after a restart" "$code,$(grep -c s3cr3t "$TMP/body")" "403,0"

status_is "set-location to a sibling of the warehouse: 403" 403 rest /v1/namespaces/default/tables/t1 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-location\",\"location\":\"$WH-sibling/t1\"}]}"
status_is "set-location through ..: 403" 403 rest /v1/namespaces/default/tables/t1 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-location\",\"location\":\"file://$WH/default/../../outside\"}]}"
status_is "write.data.path outside the warehouse: 403" 403 rest /v1/namespaces/default/tables/t1 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-properties\",\"updates\":{\"write.data.path\":\"file://$OUT/data\"}}]}"
status_is "set-location inside the warehouse is fine" 200 rest /v1/namespaces/default/tables/t1 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-location\",\"location\":\"file://$WH/default/t1\"}]}"

#---- 3. REST create: the location check is component-wise ----
CREATE='{"name":"NAME","location":"LOC","schema":{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":false}]}}'
create() { local b=${CREATE/NAME/$1}; rest /v1/namespaces/default/tables "${b/LOC/$2}"; }
status_is "create in a sibling of the warehouse: 403" 403 create sib "file://$WH-sibling/x"
expect_eq "... ForbiddenException" "$(jv 'd["error"]["type"]')" "ForbiddenException"
expect_eq "... the sibling was not created" "$([ -e "$WH-sibling" ] && echo made || echo none)" "none"
status_is "create through .. out of the warehouse: 403" 403 create up "file://$WH/default/../../outside/up"
status_is "create through percent-escapes: 403" 403 create pct "file://$WH/%2e%2e/outside/pct"
expect_eq "... nothing was written outside" "$(ls "$OUT")" "hidden.txt"
status_is "create with write.data.path outside: 403" 403 rest /v1/namespaces/default/tables \
    "{\"name\":\"wdp\",\"schema\":{\"type\":\"struct\",\"fields\":[]},\"properties\":{\"write.data.path\":\"file://$OUT\"}}"
status_is "create inside, spelled with // and ." 200 create inside "file://$WH//default/./inside"
expect_eq "... stored normalised" "$(jv 'd["metadata"]["location"]')" "file://$WH/default/inside"
status_is "REST register outside: 403" 403 rest /v1/namespaces/default/register \
    "{\"name\":\"r\",\"metadata-location\":\"file://$WH-sibling/m.metadata.json\"}"

#---- 2. a manifest list outside the table, then expiry ----
# the probe: move the table's location over the file (expiry deletes only files under the
# location) and add a snapshot naming the file as its manifest list; expiry then deletes it
status_is "ingest t3" 200 ingest t3 $'id\n1\n'
status_is "load t3" 200 call GET /iceberg/v1/namespaces/default/tables/t3
seq=$(jv 'd["metadata"]["last-sequence-number"]')
cur=$(jv 'd["metadata"]["current-snapshot-id"]')
snap() { # snap ID MANIFEST_LIST: a snapshot no ref keeps, so that expiry removes it
    printf '{"action":"add-snapshot","snapshot":{"snapshot-id":%s,"parent-snapshot-id":%s,"sequence-number":%s,"timestamp-ms":1000,"manifest-list":"%s","summary":{"operation":"append"}}}' \
        "$1" "$cur" $((seq + 1)) "$2"
}
status_is "set-location over a file plus a snapshot naming it: 403" 403 rest /v1/namespaces/default/tables/t3 \
    "{\"requirements\":[],\"updates\":[{\"action\":\"set-location\",\"location\":\"file://$TMP\"},$(snap 424241 "file://$TMP/victim.txt")]}"
status_is "add-snapshot with a manifest list outside the warehouse: 403" 403 \
    rest /v1/namespaces/default/tables/t3 "{\"requirements\":[],\"updates\":[$(snap 424242 "file://$TMP/victim.txt")]}"
expect_eq "... ForbiddenException" "$(jv 'd["error"]["type"]')" "ForbiddenException"
t2data=$(ls "$WH/default/t2/data" | head -1)
status_is "add-snapshot with another table's file as manifest list: 403" 403 \
    rest /v1/namespaces/default/tables/t3 "{\"requirements\":[],\"updates\":[$(snap 424243 "file://$WH/default/t2/data/$t2data")]}"
code=$(post /tables/t3/maintenance '{"action": "expire_snapshots", "older_than_ms": 9999999999999, "retain_last": 1}')
expect_status "expire_snapshots on t3" 200 "$code"
expect_eq "the file outside the warehouse survives" "$(cat "$TMP/victim.txt")" "precious"
expect_eq "t2 still reads" "$(csvq 'SELECT count(*) FROM t2')" "1"

# the storage layer refuses whatever route a location comes from: metadata inside the
# warehouse whose location is outside and whose old snapshot names a file there, registered
# from the command line (which trusts the operator), then expired through the server
python3 - "$WH" "$TMP" <<'EOF2'
import json, sys, os, sqlite3
wh, tmp = sys.argv[1:3]
loc = sqlite3.connect(wh + "/catalog.db").execute(
    "SELECT metadata_location FROM iceberg_tables WHERE table_name = 't2'").fetchone()[0]
m = json.load(open(loc[len("file://"):]))
cur = [s for s in m["snapshots"] if s["snapshot-id"] == m["current-snapshot-id"]][0]
old = dict(cur, **{"snapshot-id": 31337, "sequence-number": 0, "timestamp-ms": 1000,
                   "manifest-list": "file://" + tmp + "/victim2.txt"})
old.pop("parent-snapshot-id", None)
m["snapshots"].insert(0, old)
m["location"] = "file://" + tmp
os.makedirs(wh + "/default/evil/metadata", exist_ok=True)
json.dump(m, open(wh + "/default/evil/metadata/00001-evil.metadata.json", "w"))
EOF2
EVIL=file://$WH/default/evil/metadata/00001-evil.metadata.json
status_is "over HTTP, a table whose location is outside is not registered: 403" 403 \
    call POST /tables/register -d "{\"name\": \"evil\", \"metadata_location\": \"$EVIL\"}"
status_is "nor through the REST catalog: 403" 403 rest /v1/namespaces/default/register \
    "{\"name\":\"evil\",\"metadata-location\":\"$EVIL\"}"
check "the command line registers it" "$TARN" register evil "$EVIL"
code=$(post /tables/evil/maintenance '{"action": "expire_snapshots", "older_than_ms": 9999999999999, "retain_last": 1}')
expect_eq "expiring it is refused (403) and the file outside survives" "$code,$(cat "$TMP/victim2.txt" 2>&1)" "403,precious"
expect_eq "... and no metadata was written outside" "$([ -e "$TMP/metadata" ] && echo written || echo none)" "none"
status_is "drop evil (keep files)" 200 call DELETE /tables/evil

#---- 6. purge through an alias ----
status_is "load t2" 200 call GET /tables/t2
meta2=$(jv 'd["metadata_location"]')
status_is "register reg1 on t2's metadata" 200 call POST /tables/register -d "{\"name\": \"reg1\", \"metadata_location\": \"$meta2\"}"
status_is "purging the alias is refused: 409" 409 call DELETE "/tables/reg1?purge=true"
expect_eq "... and says why" "$(jv '"shares its files with default.t2" in d["error"]["message"]')" "true"
expect_eq "t2's data is still there" "$(ls "$WH/default/t2/data" | grep -c parquet),$(csvq 'SELECT count(*) FROM t2')" "1,1"
status_is "purging t2 while the alias exists is refused too" 409 call DELETE "/tables/t2?purge=true"
status_is "drop the alias without purge" 200 call DELETE /tables/reg1
status_is "then purge t2" 200 call DELETE "/tables/t2?purge=true"
expect_eq "the purge says what it deleted and kept" "$(jv '[d["purged"], d["files_deleted"] > 0, d["files_kept"]]')" '[true, true, 0]'

#---- 4. NUL and control characters in names ----
status_is "ingest into a%00b: 400" 400 ingest 'a%00b' $'id\n5\n'
status_is "GET /tables/a%00zzz: 400" 400 call GET '/tables/a%00zzz'
expect_eq "table a was not touched" "$(csvq 'SELECT count(*) FROM a')" "1"
status_is "ingest into a%01b: 400" 400 ingest 'a%01b' $'id\n5\n'
status_is "REST load of t1%00x: 400" 400 call GET '/iceberg/v1/namespaces/default/tables/t1%00x'
status_is "REST namespace def%00ault: 400" 400 call GET '/iceberg/v1/namespaces/def%00ault/tables/t1'
status_is "drop a%00zzz: 400" 400 call DELETE '/tables/a%00zzz?purge=true'
expect_eq "table a still reads" "$(csvq 'SELECT count(*) FROM a')" "1"

#---- 4b. registering Delta and Hudi folders: outside is 403 whether or not the path exists ----
# (a 404 for a missing path outside would tell a client which files exist on the server)
for loc in /etc /etc/no-such-folder "$WH/../../etc" "$WH/../no-such" s3://bucket/x file:///proc/self; do
    for fmt in delta hudi; do
        status_is "register $fmt at $loc: 403" 403 call POST /tables/register \
            -d "{\"name\": \"far\", \"location\": \"$loc\", \"format\": \"$fmt\"}"
    done
done
status_is "an Iceberg metadata file outside that does not exist: 403 too" 403 \
    call POST /tables/register -d '{"name": "far", "metadata_location": "/root/no-such.metadata.json"}'
status_is "a missing folder inside the warehouse: 404" 404 \
    call POST /tables/register -d '{"name": "near", "location": "'"$WH"'/no-such", "format": "delta"}'
# the changes functions take a registered table's name and constants only
for sql in "SELECT * FROM delta_changes('/etc/passwd', 0)" \
    "SELECT * FROM delta_changes('t1', 0)" \
    "SELECT * FROM delta_changes((SELECT 'x'), 0)" \
    "SELECT * FROM delta_changes('t1', (SELECT 1))" \
    "SELECT * FROM hudi_changes('../../etc', '0')" \
    "SELECT * FROM hudi_changes('t1', read_text('/etc/passwd'))" \
    "SELECT * FROM hudi_changes(repeat('a', 100000), '0')"; do
    code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=$sql")
    case $code in 400 | 403 | 404) ok "refused ($code): $sql" ;; *) bad "$sql answered $code: $(head -c 200 "$TMP/body")" ;; esac
done

#---- 5. the catalog: out of DuckDB's reach, and no lost commits ----
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT size FROM read_blob('$WH/catalog.db')")
expect_eq "a query cannot read the catalog" "$code" "403"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=SELECT count(*) FROM read_blob('$WH/*')")
expect_eq "nor through a glob" "$code" "403"
status_is "register on the catalog is refused" 403 call POST /tables/register -d "{\"name\": \"cat\", \"metadata_location\": \"file://$WH/catalog.db\"}"
# another process checkpoints and removes the -wal and -shm files (as a process that wrongly
# believes it is the last user does when it closes): the server must notice, not lose commits
status_is "a commit before" 200 ingest t1 $'id\n3\n'
sqlite3 "$WH/catalog.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
rm -f "$WH/catalog.db-wal" "$WH/catalog.db-shm"
code=$(ingest t1 $'id\n4\n')
acked=$([ "$code" = 200 ] && echo 4 || echo 3)
expect_eq "a commit after the catalog changed under the server is refused: 503" "$code,$(jv '"changed under" in d["error"]["message"]')" "503,true"
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
start_server "$WH" || bad "server restarts"
expect_eq "every acknowledged commit survives a crash" "$(csvq 'SELECT count(*) FROM t1')" "$acked"
status_is "and the restarted server commits" 200 ingest t1 $'id\n5\n'

#---- 7. interrupted uploads' spool files: removed when the server restarts ----
: # covered at the top (a killed server's upload-PID-... file)

finish
