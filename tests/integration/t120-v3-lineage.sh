#!/usr/bin/env bash
# t120-v3-lineage: Iceberg v3 row lineage. _row_id and _last_updated_sequence_number read in
# SQL (select list, WHERE, joins, time travel), hidden from SELECT * and DESCRIBE, refused on
# v2 tables; a table's own column of that name wins. Rewrites keep a row's _row_id -- UPDATE,
# MERGE, upsert, copy-on-write, compaction -- and its sequence number when the row is copied
# unchanged, stored in the data files under the reserved field ids (read back independently
# with hyparquet); next-row-id accounting; DuckDB's v3 fixture (no lineage assigned) reads
# NULL ids; the independent checker still passes on the tables.
. "$(dirname "$0")/lib.sh"

V3FX=$ROOT/tests/fixtures/iceberg-v3/data/persistent
LIN="SELECT string_agg(id || ':' || _row_id || ':' || _last_updated_sequence_number, ' ' ORDER BY id)"
seq_of() { metadata_eval "$1" '[s["sequence-number"] for s in m["snapshots"] if s["snapshot-id"] == m["current-snapshot-id"]][0]'; }
# lineage_field_ids FILE: the field ids of FILE's Parquet columns, by hyparquet
lineage_field_ids() {
    node "$INTEROP/parquet-dump.mjs" "$1" --no-rows | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if "schema" in d:
        print(" ".join("%s=%s" % (c["name"], c.get("field_id")) for c in d["schema"]["children"]))'
}
# newest_data_file TABLE: the data file written last
newest_data_file() { ls -t "$WH/default/$1/data/"*.parquet | head -1; }
have_interop() { command -v node >/dev/null && [ -f "$INTEROP/parquet-dump.mjs" ]; }

printf 'id,v\n1,a\n2,b\n3,c\n' >"$TMP/a.csv"
printf 'id,v\n4,d\n5,e\n' >"$TMP/b.csv"
check "a v3 table of two data files" "$TARN" ingest t "$TMP/a.csv" --format-version 3
check "its second file" "$TARN" ingest t "$TMP/b.csv"

#---- reading ----
expect_eq "_row_id is first_row_id + position, the sequence number the file's" \
    "$(q "$LIN FROM t")" "1:0:1 2:1:1 3:2:1 4:3:2 5:4:2"
expect_eq "the second file starts at its snapshot's first-row-id" \
    "$(q "SELECT _row_id FROM t WHERE id = 4")" "$(metadata_eval t 'm["snapshots"][-1]["first-row-id"]')"
expect_eq "SELECT * shows the table's columns only" "$("$TARN" sql "SELECT * FROM t" --format csv | head -1)" "id,v"
expect_eq "t.* and * with the columns named too" \
    "$("$TARN" sql "SELECT t.*, _row_id FROM t WHERE id = 1" --format csv | head -2 | tr '\n' ' ')" "id,v,_row_id 1,a,0 "
expect_eq "SELECT * EXCLUDE of a table column still hides them" \
    "$("$TARN" sql "SELECT * EXCLUDE (v) FROM t WHERE _row_id = 0" --format csv | tr '\n' ' ')" "id 1 "
expect_eq "DESCRIBE lists the table's columns only" "$(q "DESCRIBE t" | cut -d, -f1 | tr '\n' ' ')" "id v "
expect_eq "in WHERE" "$(q "SELECT id FROM t WHERE _row_id = 3")" "4"
expect_eq "in a join (self-join on the next row id)" \
    "$(q "SELECT string_agg(a.id || '>' || b.id, ' ' ORDER BY a.id) FROM t a JOIN t b ON b._row_id = a._row_id + 1")" \
    "1>2 2>3 3>4 4>5"
expect_eq "in a subquery and an aggregate" \
    "$(q "SELECT max(r) FROM (SELECT _row_id AS r FROM t)") $(q "SELECT count(DISTINCT _last_updated_sequence_number) FROM t")" "4 2"
expect_eq "uppercase names work too" "$(q "SELECT _ROW_ID FROM t WHERE id = 2")" "1"
s_before=$(metadata_eval t 'm["current-snapshot-id"]')

#---- v2 tables, and columns of that name ----
check "a v2 table" "$TARN" ingest t2 "$TMP/a.csv"
check_fails "_row_id on a v2 table is refused" 2 "format-version 3" "$TARN" sql "SELECT _row_id FROM t2"
check_fails "_last_updated_sequence_number too, naming the table" 2 "table default.t2 is format-version 2" \
    "$TARN" sql "SELECT _last_updated_sequence_number FROM t2"
expect_eq "a v2 table read without them is unchanged" "$(q "SELECT count(*) FROM t2")" "3"
expect_eq "a join of v2 and v3 tables: the v3 table gives them" \
    "$(q "SELECT string_agg(t._row_id::VARCHAR, ' ' ORDER BY t.id) FROM t JOIN t2 USING (id)")" "0 1 2"
printf 'row_id,v\n100,a\n200,b\n' >"$TMP/own.csv"
check "a v3 table" "$TARN" ingest own "$TMP/own.csv" --format-version 3
check "with its own column _row_id (ingest would sanitise the name: renamed)" \
    "$TARN" sql 'ALTER TABLE own RENAME COLUMN row_id TO _row_id'
expect_eq "the table's column wins; the sequence number is still there" \
    "$(q "SELECT string_agg(_row_id || ':' || _last_updated_sequence_number, ' ' ORDER BY _row_id) FROM own")" "100:1 200:1"
expect_eq "and SELECT * shows the table's column" "$("$TARN" sql "SELECT * FROM own" --format csv | head -1)" "_row_id,v"
check "a v2 table" "$TARN" ingest own2 "$TMP/own.csv"
check "with its own column _row_id" "$TARN" sql 'ALTER TABLE own2 RENAME COLUMN row_id TO _row_id'
expect_eq "reads it, no error" "$(q "SELECT sum(_row_id) FROM own2")" "300"

#---- UPDATE keeps the row id; the sequence number becomes the commit's ----
check "UPDATE one row" "$TARN" sql "UPDATE t SET v = 'B' WHERE id = 2"
s_upd=$(seq_of t)
expect_eq "the updated row keeps _row_id 1 and gets sequence number $s_upd; the others keep theirs" \
    "$(q "$LIN FROM t")" "1:0:1 2:1:$s_upd 3:2:1 4:3:2 5:4:2"
if have_interop; then
    expect_eq "the new data file stores _row_id under field id 2147483540 (hyparquet), no sequence number column" \
        "$(lineage_field_ids "$(newest_data_file t)")" "id=1 v=2 _row_id=2147483540"
    expect_eq "its iceberg.schema names the table's columns only" \
        "$(node "$INTEROP/parquet-dump.mjs" "$(newest_data_file t)" --no-rows | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if "key_value_metadata" in d:
        print([f["name"] for f in d["key_value_metadata"]["iceberg.schema"]["fields"]])')" "['id', 'v']"
else
    skip "Parquet field ids" "build/interop needed"
fi
expect_eq "the table schema has no lineage column" \
    "$(metadata_eval t '[f["name"] for s in m["schemas"] for f in s["fields"]]')" "['id', 'v']"
expect_eq "time travel before the UPDATE shows the old sequence number" \
    "$(q "$LIN FROM t AT (VERSION => $s_before)")" "1:0:1 2:1:1 3:2:1 4:3:2 5:4:2"
expect_eq "the request's snapshot option too" \
    "$(q "SELECT _last_updated_sequence_number FROM t WHERE id = 2" --snapshot "$s_before")" "1"
expect_eq "UPDATE ... RETURNING * shows the table's columns" \
    "$("$TARN" sql "UPDATE t SET v = 'C' WHERE id = 3 RETURNING *" --format csv | tr '\n' ' ')" "id,v 3,C "
s_upd2=$(seq_of t)
check "UPDATE by _row_id (named in WHERE and SET)" "$TARN" sql "UPDATE t SET v = v || _row_id WHERE _row_id = 0"
s_upd3=$(seq_of t)
expect_eq "rows after it" "$(q "SELECT string_agg(id || v || ':' || _row_id || ':' || _last_updated_sequence_number, ' ' ORDER BY id) FROM t")" \
    "1a0:0:$s_upd3 2B:1:$s_upd 3C:2:$s_upd2 4d:3:2 5e:4:2"

#---- MERGE: the updated row keeps its id, the inserted one gets a new one ----
next_before=$(metadata_eval t 'm["next-row-id"]')
check "MERGE" "$TARN" sql "MERGE INTO t USING (SELECT 4 AS id, 'D' AS v UNION ALL SELECT 9, 'i') s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)"
s_merge=$(seq_of t)
expect_eq "row 4 keeps _row_id 3 with the MERGE's sequence number" \
    "$(q "SELECT _row_id || ':' || _last_updated_sequence_number FROM t WHERE id = 4")" "3:$s_merge"
expect_eq "row 9 has a new id, at or past the next-row-id before" \
    "$(q "SELECT _row_id >= $next_before AND _last_updated_sequence_number = $s_merge FROM t WHERE id = 9")" "true"
expect_eq "the other rows are as they were" "$(q "SELECT string_agg(id || ':' || _row_id || ':' || _last_updated_sequence_number, ' ' ORDER BY id) FROM t WHERE id IN (3, 5)")" \
    "3:2:$s_upd2 5:4:2"

#---- upsert (CLI and HTTP) ----
printf 'id,v\n5,E\n10,j\n' >"$TMP/up.csv"
next_before=$(metadata_eval t 'm["next-row-id"]')
check "upsert (CLI)" "$TARN" ingest t "$TMP/up.csv" --mode upsert --key id
s_up=$(seq_of t)
expect_eq "the replaced row keeps _row_id 4, with the upsert's sequence number" \
    "$(q "SELECT v || ':' || _row_id || ':' || _last_updated_sequence_number FROM t WHERE id = 5")" "E:4:$s_up"
expect_eq "the new key's row gets a new id" "$(q "SELECT _row_id >= $next_before FROM t WHERE id = 10")" "true"
start_server "$WH"
status_is "upsert over HTTP" 200 \
    call POST "/ingest/t?mode=upsert&key=id" -H 'Content-Type: text/csv' --data-binary $'id,v\n1,A\n'
s_up2=$(seq_of t)
expect_eq "over HTTP too: row 1 keeps _row_id 0" \
    "$(csvq "SELECT v || ':' || _row_id || ':' || _last_updated_sequence_number FROM t WHERE id = 1")" "A:0:$s_up2"
status_is "GET /query naming _row_id on a v2 table" 400 \
    call GET "/query" -G --data-urlencode "sql=SELECT _row_id FROM t2"
expect_eq "it says the table must be format-version 3" "$(jv '"format-version 3" in d["error"]["message"]')" "true"
expect_eq "row ids stay unique" "$(q "SELECT count(*) = count(DISTINCT _row_id) AND count(_row_id) = count(*) FROM t")" "true"

#---- compaction changes no row: ids and sequence numbers stay ----
before=$(q "$LIN FROM t")
check "compact" "$TARN" maintain t compact
expect_eq "one data file after it" "$(metadata_eval t 'm["snapshots"][-1]["summary"]["total-data-files"]')" "1"
expect_eq "every _row_id and _last_updated_sequence_number as before" "$(q "$LIN FROM t")" "$before"
if have_interop; then
    expect_eq "the compacted file stores both columns (hyparquet)" \
        "$(lineage_field_ids "$(newest_data_file t)")" "id=1 v=2 _row_id=2147483540 _last_updated_sequence_number=2147483539"
else
    skip "compacted file's field ids" "build/interop needed"
fi
expect_eq "next-row-id = the last snapshot's first-row-id + added-rows" \
    "$(metadata_eval t 'm["next-row-id"] == m["snapshots"][-1]["first-row-id"] + m["snapshots"][-1]["added-rows"]')" "True"
expect_eq "and lies past every row id" "$(q "SELECT max(_row_id) < $(metadata_eval t 'm["next-row-id"]') FROM t")" "true"
check "UPDATE after compaction" "$TARN" sql "UPDATE t SET v = 'z' WHERE id = 9"
s_last=$(seq_of t)
expect_eq "a stored _row_id is kept through a second rewrite" \
    "$(q "SELECT string_agg(id || ':' || _row_id || ':' || _last_updated_sequence_number, ' ' ORDER BY id) FROM t WHERE id IN (4, 9)")" \
    "4:3:$s_merge 9:$(echo "$before" | tr ' ' '\n' | awk -F: '$1 == 9 {print $2}'):$s_last"

#---- copy-on-write: the rewritten file's other rows keep id and sequence number ----
check "a v3 table for copy-on-write" "$TARN" ingest w "$TMP/a.csv" --format-version 3
check "ask for copy-on-write updates" "$TARN" sql "ALTER TABLE w SET TBLPROPERTIES ('write.update.mode'='copy-on-write')"
check "UPDATE copy-on-write" "$TARN" sql "UPDATE w SET v = 'z' WHERE id = 2"
s_w=$(seq_of w)
expect_eq "the updated row keeps its id with the new sequence number, the others both" \
    "$(q "$LIN FROM w")" "1:0:1 2:1:$s_w 3:2:1"
expect_eq "one data file: the touched one was rewritten" \
    "$(metadata_eval w 'm["snapshots"][-1]["summary"]["total-data-files"]')" "2"

#---- DELETE by _row_id; aggregates over the columns ----
check "a v3 table to delete from" "$TARN" ingest d "$TMP/a.csv" --format-version 3
expect_eq "count(*) with a WHERE on _row_id is not answered from the file's statistics" \
    "$(q "SELECT count(*) FROM d WHERE _row_id >= 1")" "2"
expect_eq "min/max of _row_id are read, not taken from the manifests" \
    "$(q "SELECT min(_row_id) || '-' || max(_row_id) FROM d")" "0-2"
check "DELETE by _row_id" "$TARN" sql "DELETE FROM d WHERE _row_id = 1"
expect_eq "only that row went (the file was not dropped whole)" \
    "$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM d")" "1:0 3:2"

#---- a partitioned v3 table ----
printf 'id,v,k\n1,a,x\n2,b,y\n3,c,x\n' >"$TMP/p.csv"
check "a partitioned v3 table" "$TARN" ingest p "$TMP/p.csv" --format-version 3 --partition-by k
before=$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM p")
check "UPDATE moving a row to another partition" "$TARN" sql "UPDATE p SET k = 'y' WHERE id = 3"
expect_eq "every row keeps its _row_id" "$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM p")" "$before"
check "compact it" "$TARN" maintain p compact
expect_eq "and after compaction" "$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM p")" "$before"

#---- a type change that rewrites every row ----
check "a v3 table to retype" "$TARN" ingest r "$TMP/a.csv" --format-version 3
check "a second file" "$TARN" ingest r "$TMP/b.csv"
before=$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM r")
check "ALTER COLUMN id TYPE VARCHAR (every row rewritten)" "$TARN" sql "ALTER TABLE r ALTER COLUMN id TYPE VARCHAR"
expect_eq "every row keeps its _row_id, with the rewrite's sequence number" \
    "$(q "SELECT string_agg(id || ':' || _row_id, ' ' ORDER BY id) FROM r") $(q "SELECT DISTINCT _last_updated_sequence_number FROM r")" \
    "$before $(seq_of r)"

#---- DuckDB's v3 table (no lineage assigned to its rows) ----
mkdir -p "$TMP/fx/data/persistent"
cp -r "$V3FX/legacy_bare_deletion_vector" "$TMP/fx/data/persistent/"
fx=$TMP/fx/data/persistent/legacy_bare_deletion_vector/tables
check "register a copy of DuckDB's v3 table" "$TARN" register lbdv \
    "file://$fx/default/legacy_bare_deletion_vector/metadata/00002-legacy-bare-dv.metadata.json" \
    --map "data/persistent/legacy_bare_deletion_vector/warehouse/=file://$fx/"
expect_eq "its manifest has no first_row_id: _row_id is NULL, the sequence number the file's" \
    "$(q "SELECT string_agg(id || ':' || coalesce(_row_id::VARCHAR, 'null') || ':' || _last_updated_sequence_number, ' ' ORDER BY id) FROM lbdv")" \
    "1:null:1 3:null:1"

#---- the independent checker (v2 checker; snapshots without live deletion vectors) ----
if command -v node >/dev/null && [ -f "$INTEROP/check.mjs" ]; then
    check "compact t again (its last UPDATE left a vector)" "$TARN" maintain t compact
    for tb in t w; do
        expect_eq "check.mjs on $tb: no errors but 'it is v3'" "$(v3_check_errors "$tb")" "[]"
    done
else
    skip "check.mjs" "build/interop needed"
fi

finish
