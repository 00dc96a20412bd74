#!/usr/bin/env bash
# t40-evolution: schema evolution without rewriting data, time travel by snapshot, time and tag,
# metadata tables, rollback and roll-forward, and every refused change.
. "$(dirname "$0")/lib.sh"

printf 'id,name,qty\n1,a,5\n2,b,6\n' >"$TMP/a.csv"
check "create" "$TARN" ingest ev "$TMP/a.csv"
s1=$("$TARN" history ev | awk 'NR==2 {print $1}')
files_before=$(wh_ls default/ev/data | tr '\n' ' ')

check "ADD COLUMN" "$TARN" sql "ALTER TABLE ev ADD COLUMN score DOUBLE"
check_fails "ADD COLUMN with a default needs format v3" 2 "format version 3" "$TARN" sql "ALTER TABLE ev ADD COLUMN k INTEGER DEFAULT 7"
check "ADD COLUMN" "$TARN" sql "ALTER TABLE ev ADD COLUMN k INTEGER"
check "ADD a struct column" "$TARN" sql "ALTER TABLE ev ADD COLUMN info STRUCT(x INTEGER, y VARCHAR)"
check "ADD a field inside the struct" "$TARN" sql "ALTER TABLE ev ADD COLUMN info.z BOOLEAN"
check "RENAME COLUMN" "$TARN" sql "ALTER TABLE ev RENAME COLUMN name TO label"
check "RENAME inside a struct" "$TARN" sql "ALTER TABLE ev RENAME COLUMN info.y TO why"
check "widen int to long" "$TARN" sql "ALTER TABLE ev ALTER COLUMN k TYPE BIGINT"
check "DROP COLUMN" "$TARN" sql "ALTER TABLE ev DROP COLUMN qty"
expect_eq "old rows read through the new schema (NULL for the added columns)" \
    "$(q 'SELECT id, label, score, k FROM ev ORDER BY id')" "1,a,,
2,b,,"
expect_eq "the evolved columns" "$(q "SELECT string_agg(column_name || ':' || column_type, ' ') FROM (DESCRIBE SELECT * FROM ev)")" \
    '"id:BIGINT label:VARCHAR score:DOUBLE k:BIGINT info:STRUCT(""x"" INTEGER, ""why"" VARCHAR, ""z"" BOOLEAN)"'
expect_eq "no data file was rewritten" "$(wh_ls default/ev/data | tr '\n' ' ')" "$files_before"
expect_eq "the old snapshot reads with its own schema" \
    "$(q "SELECT string_agg(column_name, ' ') FROM (DESCRIBE SELECT * FROM ev AT (VERSION => $s1))")" "id name qty"
expect_eq "the old snapshot keeps the dropped column's values" "$(q "SELECT sum(qty) FROM ev AT (VERSION => $s1)")" "11"

printf 'id,label,extra\n3,c,x\n' >"$TMP/b.csv"
check "ingest with a new column evolves the table" "$TARN" ingest ev "$TMP/b.csv"
expect_eq "new column added, missing columns null" \
    "$(q 'SELECT id, label, extra, k FROM ev WHERE id = 3')" "3,c,x,"
expect_eq "field ids are never reused" \
    "$("$TARN" describe ev | awk 'NR>5 {print $1}' | sort -n | uniq -d | wc -l)" "0"

# errors: each refused, nothing changed
meta_before=$(wh_ls default/ev/metadata | grep -c '\.metadata\.json$')
check_fails "rename onto an existing name" 4 "that column exists" "$TARN" sql "ALTER TABLE ev RENAME COLUMN label TO id"
check_fails "a type change Iceberg forbids, inside a struct" 2 "Iceberg allows only" "$TARN" sql "ALTER TABLE ev ALTER COLUMN info.x TYPE VARCHAR"
# a top-level column is rewritten instead (t109), but not when a value does not convert
check_fails "a type change whose values do not convert" 2 "of row 1 does not convert" "$TARN" sql "ALTER TABLE ev ALTER COLUMN label TYPE BIGINT"
check_fails "an unknown column" 3 "does not exist" "$TARN" sql "ALTER TABLE ev DROP COLUMN nope"
check_fails "adding an existing column" 4 "already exists" "$TARN" sql "ALTER TABLE ev ADD COLUMN label VARCHAR"
check_fails "a required column without a default" 2 "needs a default" "$TARN" sql "ALTER TABLE ev ADD COLUMN r INTEGER NOT NULL"
printf 'solo\n1\n' >"$TMP/solo.csv"
"$TARN" ingest solo "$TMP/solo.csv" >/dev/null
check_fails "dropping the last column" 2 "last column" "$TARN" sql "ALTER TABLE solo DROP COLUMN solo"
expect_eq "refused changes wrote no metadata" "$(wh_ls default/ev/metadata | grep -c '\.metadata\.json$')" "$meta_before"
check "ADD COLUMN IF NOT EXISTS on an existing column is a no-op" "$TARN" sql "ALTER TABLE ev ADD COLUMN IF NOT EXISTS label VARCHAR"

# metadata tables
expect_eq "\$snapshots lists every snapshot" "$(q 'SELECT count(*) FROM "ev$snapshots"')" "2"
expect_eq "\$history marks current ancestors" "$(q 'SELECT bool_and(is_current_ancestor) FROM "ev$history"')" "true"
expect_eq "\$files lists the live data files" "$(q 'SELECT count(*), sum(record_count) FROM "ev$files"')" "2,3"
expect_eq "\$files bounds are readable" "$(q "SELECT lower_bounds[1], upper_bounds[1] FROM \"ev\$files\" ORDER BY record_count DESC LIMIT 1")" "1,2"
expect_eq "\$manifests" "$(q 'SELECT count(*) FROM "ev$manifests"')" "2"
check_fails "unknown metadata table" 3 "no metadata table" "$TARN" sql 'SELECT * FROM "ev$nope"'

# time travel by tag and time; rollback and roll-forward
check "tag the first snapshot" "$TARN" tag ev first "$s1"
expect_eq "AT (VERSION => 'tag')" "$(q "SELECT count(*) FROM ev AT (VERSION => 'first')")" "2"
expect_eq "\$refs lists main and the tag" "$(q 'SELECT string_agg(name || $$:$$ || type, $$ $$ ORDER BY name) FROM "ev$refs"')" "first:TAG main:BRANCH"
s2=$("$TARN" history ev | awk 'NR==3 {print $1}')
ts1=$(q "SELECT strftime(committed_at, '%Y-%m-%d %H:%M:%S.%g') FROM \"ev\$snapshots\" WHERE snapshot_id = $s1")
expect_eq "AT (TIMESTAMP => ...) picks the snapshot current then" "$(q "SELECT count(*) FROM ev AT (TIMESTAMP => TIMESTAMP '$ts1')")" "2"
check_fails "a time before the first snapshot" 3 "oldest is at" "$TARN" sql "SELECT * FROM ev AT (TIMESTAMP => TIMESTAMP '2001-01-01 00:00:00')"
check_fails "an unknown tag names what exists" 3 "refs: 'main', 'first'" "$TARN" sql "SELECT * FROM ev AT (VERSION => 'nope')"
check "rollback to the first snapshot" "$TARN" rollback ev "$s1"
expect_eq "after rollback the table reads as it was" "$(q 'SELECT count(*) FROM ev')" "2"
expect_eq "history is kept" "$(q 'SELECT count(*) FROM "ev$snapshots"')" "2"
check "roll forward again" "$TARN" rollback ev "$s2"
expect_eq "after roll-forward" "$(q 'SELECT count(*) FROM ev')" "3"
expect_eq "the snapshot log records both moves" "$(q 'SELECT count(*) FROM "ev$history"')" "4"
check_fails "rollback to an unknown snapshot" 3 "has no snapshot" "$TARN" rollback ev 12345
# write-audit-publish: write to a branch, check it, fast-forward main
check "create a branch at the current snapshot" "$TARN" branch ev audit
check "ingest into the branch" "$TARN" ingest ev "$TMP/b.csv" --branch audit
expect_eq "main does not see the branch's rows" "$(q 'SELECT count(*) FROM ev')" "3"
expect_eq "the branch does" "$(q "SELECT count(*) FROM ev AT (VERSION => 'audit')")" "4"
check "DELETE on the branch from the command line" "$TARN" sql "DELETE FROM ev WHERE id = 3" --branch audit
expect_eq "the branch lost the row, main did not" \
    "$(q "SELECT count(*) FROM ev AT (VERSION => 'audit') WHERE id = 3") $(q 'SELECT count(*) FROM ev WHERE id = 3')" "0 1"
check "fast-forward main to the branch" "$TARN" fast-forward ev audit
expect_eq "main now has the branch's rows and its delete" "$(q 'SELECT count(*) FROM ev')" "2"
check "a commit on main" "$TARN" ingest ev "$TMP/b.csv"
check "branch at an old snapshot" "$TARN" branch ev stale "$s1"
check_fails "fast-forward refused when main moved on" 4 "cannot fast-forward" "$TARN" fast-forward ev stale
check_fails "ingest into an unknown branch" 3 "no branch" "$TARN" ingest ev "$TMP/b.csv" --branch nope
printf 'id,surprise\n9,x\n' >"$TMP/new.csv"
check_fails "evolve=strict refuses new columns" 2 "does not" "$TARN" ingest ev "$TMP/new.csv" --evolve strict
check_fails "main cannot be a tag" 2 "cannot be a tag" "$TARN" tag ev main
# maintenance from the command line: compaction keeps the rows, expiry keeps the current one
printf 'id\n1\n2\n' >"$TMP/m.csv"
"$TARN" ingest m "$TMP/m.csv" >/dev/null && "$TARN" ingest m "$TMP/m.csv" >/dev/null
check "delete before compaction" "$TARN" sql "DELETE FROM m WHERE id = 1"
check "maintain compact" "$TARN" maintain m compact
expect_eq "compaction keeps the rows" "$(q 'SELECT string_agg(id::VARCHAR, $$ $$) FROM m')" "2 2"
expect_eq "one clean data file" "$(q 'SELECT count(*) FROM "m$files"')" "1"
check "maintain expire" "$TARN" maintain m expire --as-of "2100-01-01"
expect_eq "only the current snapshot is left" "$(q 'SELECT count(*) FROM "m$snapshots"')" "1"
expect_eq "expiry keeps the rows" "$(q 'SELECT count(*) FROM m WHERE id > 0')" "2"
check_fails "maintain with an unknown action" 2 "maintain takes compact, expire" "$TARN" maintain m polish
check "ALTER TABLE RENAME TO" "$TARN" sql "ALTER TABLE solo RENAME TO solo2"
expect_eq "renamed table reads" "$(q 'SELECT count(*) FROM solo2')" "1"
finish
