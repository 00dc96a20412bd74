#!/usr/bin/env bash
# t117-v3-dv: row-level changes on Iceberg format-version 3 tables, written as deletion vectors
# (Puffin files of deletion-vector-v1 blobs): DELETE, UPDATE, MERGE, upsert (CLI and HTTP) and
# compaction give the right rows; a second change to a file merges its vector (one live vector
# per data file, the old one removed in the same commit); time travel shows the rows before;
# the Puffin bytes, read by an independent decoder written here (footer JSON, CRC-32, Roaring
# containers), hold exactly the deleted positions; the manifests, read by avsc, describe each
# vector as the spec asks; a vector written by DuckDB merges with tarn's.
. "$(dirname "$0")/lib.sh"

V3FX=$ROOT/tests/fixtures/iceberg-v3/data/persistent


# live_dvs TABLE: the live deletion vectors of the current snapshot (delete manifests written
# before an upgrade from v2 left out), by the avsc reader: one line
# "<data file name> <record_count> <content_offset> <content_size> <puffin path>" per vector,
# sorted; then "ok" or what is wrong with the entries (format, offsets, field ids).
live_dvs() {
    local list map
    list=$(metadata_eval "$1" '[s["manifest-list"] for s in m["snapshots"] if s["snapshot-id"] == m["current-snapshot-id"]][0]')
    map=$(wh_mirror)
    node "$INTEROP/avro-dump.mjs" "${map#*=}${list#"${map%%=*}"}" --records-only | python3 -c '
import json, subprocess, sys
interop = sys.argv[1]
src, dst = sys.argv[2].split("=", 1)
local = lambda uri: dst + uri[len(src):]
out, problems = [], []
for line in sys.stdin:
    mf = json.loads(line)
    if mf["content"] != 1:
        continue
    path = local(mf["manifest_path"])
    dump = subprocess.run(["node", interop + "/avro-dump.mjs", path], capture_output=True, text=True).stdout
    lines = [json.loads(l) for l in dump.splitlines() if l.strip()]
    if str(lines[1]["metadata"].get("format-version")) == "2":
        continue  # a position-delete manifest from before an upgrade to v3
    if str(lines[1]["metadata"].get("format-version")) != "3":
        problems.append("manifest not format-version 3")
    for l in lines[2:]:
        r = l.get("record")
        if not isinstance(r, dict) or r["status"] == 2:
            continue
        f = r["data_file"]
        if f["content"] != 1 or f["file_format"] != "PUFFIN":
            problems.append("content/format %s/%s" % (f["content"], f["file_format"]))
        if f["content_offset"] is None or f["content_size_in_bytes"] is None or f["referenced_data_file"] is None:
            problems.append("a vector without offset, size or referenced data file")
        out.append("%s %s %s %s %s" % (f["referenced_data_file"].rsplit("/", 1)[-1], f["record_count"],
                                        f["content_offset"], f["content_size_in_bytes"], local(f["file_path"])))
for o in sorted(out):
    print(o)
print("ok" if not problems else "; ".join(problems))' "$INTEROP" "$map"
}

# puffin_positions FILE: every deletion-vector-v1 blob of a Puffin file, decoded here (not by
# tarn): "<data file name> <offset> <length> <cardinality> <positions,...>" per blob, then "ok" or
# what is wrong (magics, footer, lengths, CRC-32, Roaring layout, cardinality).
puffin_positions() {
    python3 - "$1" <<'EOF'
import json, struct, sys, zlib
b = open(sys.argv[1], "rb").read()
bad = []
if b[:4] != b"PFA1" or b[-4:] != b"PFA1":
    bad.append("magic")
size, flags = struct.unpack("<iI", b[-12:-4])
footer = b[-12 - size:-12]
if b[-16 - size:-12 - size] != b"PFA1" or flags != 0:
    bad.append("footer start or flags")
meta = json.loads(footer)
def roaring32(d, i, high, out):
    cookie = struct.unpack_from("<I", d, i)[0]; i += 4
    runs = None
    if cookie & 0xFFFF == 12347:
        n = (cookie >> 16) + 1
        runs = d[i:i + (n + 7) // 8]; i += (n + 7) // 8
    elif cookie == 12346:
        n = struct.unpack_from("<I", d, i)[0]; i += 4
    else:
        raise ValueError("cookie")
    heads = [struct.unpack_from("<HH", d, i + 4 * k) for k in range(n)]; i += 4 * n
    if runs is None or n >= 4:
        i += 4 * n  # offsets
    for k, (key, card) in enumerate(heads):
        card += 1
        if runs is not None and runs[k // 8] >> (k % 8) & 1:
            nr = struct.unpack_from("<H", d, i)[0]; i += 2
            for r in range(nr):
                s, l = struct.unpack_from("<HH", d, i + 4 * r)
                out += [high | key << 16 | v for v in range(s, s + l + 1)]
            i += 4 * nr
        elif card <= 4096:
            out += [high | key << 16 | v for v in struct.unpack_from("<%dH" % card, d, i)]; i += 2 * card
        else:
            bits = d[i:i + 8192]; i += 8192
            out += [high | key << 16 | v for v in range(65536) if bits[v >> 3] >> (v & 7) & 1]
    return i
for blob in meta["blobs"]:
    o, l = blob["offset"], blob["length"]
    x = b[o:o + l]
    if blob["type"] != "deletion-vector-v1" or blob["snapshot-id"] != -1 or blob["sequence-number"] != -1 \
            or blob["fields"] != [2147483645] or "compression-codec" in blob:
        bad.append("blob metadata %s" % blob)
    n = struct.unpack(">I", x[:4])[0]
    if n != l - 8 or x[4:8] != bytes([0xD1, 0xD3, 0x39, 0x64]):
        bad.append("length or magic")
    if struct.unpack(">I", x[-4:])[0] != zlib.crc32(x[4:-4]):
        bad.append("crc")
    d = x[8:-4]
    nb = struct.unpack_from("<Q", d, 0)[0]
    i, pos = 8, []
    for _ in range(nb):
        key = struct.unpack_from("<I", d, i)[0]
        i = roaring32(d, i + 4, key << 32, pos)
    if i != len(d):
        bad.append("bytes left over")
    if str(len(pos)) != blob["properties"]["cardinality"] or pos != sorted(set(pos)):
        bad.append("cardinality")
    print(blob["properties"]["referenced-data-file"].rsplit("/", 1)[-1], o, l, len(pos),
          ",".join(map(str, pos[:8])) + (",..." if len(pos) > 8 else ""))
print("ok" if not bad else "; ".join(bad))
EOF
}

printf 'id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n' >"$TMP/a.csv"
printf 'id,name\n6,f\n7,g\n' >"$TMP/b.csv"
check "a v3 table of two data files" "$TARN" ingest t "$TMP/a.csv" --format-version 3
check "its second file" "$TARN" ingest t "$TMP/b.csv"
s_before=$(metadata_eval t 'm["current-snapshot-id"]')

#---- DELETE: one vector ----
check "DELETE one row" "$TARN" sql "DELETE FROM t WHERE id = 2"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '' ORDER BY id) FROM t")" "acdefg"
expect_eq "a Puffin file, no position-delete Parquet file" \
    "$(wh_ls default/t -r | grep -c -- '-deletes\.puffin$') $(wh_ls default/t -r | grep -c -- '-deletes\.parquet$')" "1 0"
if command -v node >/dev/null && [ -f "$INTEROP/avro-dump.mjs" ]; then
    dvs=$(live_dvs t)
    expect_eq "one live vector, cardinality 1, at offset 4 of its Puffin file" \
        "$(echo "$dvs" | awk 'NR==1 {print $2, $3} END {print NR}')" "1 4
2"
    expect_eq "the manifest entry is a v3 PUFFIN position delete" "$(echo "$dvs" | tail -1)" "ok"
    puffin=$(echo "$dvs" | awk 'NR==1 {print $5}')
    got=$(puffin_positions "$puffin")
    expect_eq "the Puffin file decodes (independently) to position 1" "$(echo "$got" | awk 'NR==1 {print $4, $5}')" "1 1"
    expect_eq "its footer, magics and CRC are right" "$(echo "$got" | tail -1)" "ok"
    expect_eq "footer offset and length match the manifest entry" \
        "$(echo "$got" | awk 'NR==1 {print $2, $3}')" "$(echo "$dvs" | awk 'NR==1 {print $3, $4}')"
else
    skip "manifest and Puffin bytes" "build/interop needed"
fi
expect_eq "summary: added-dvs, added-position-deletes, no position-delete files" \
    "$(metadata_eval t '[m["snapshots"][-1]["summary"].get(k) for k in ("operation", "added-dvs", "added-delete-files", "added-position-deletes", "added-position-delete-files", "total-delete-files", "total-position-deletes")]')" \
    "['delete', '1', '1', '1', None, '1', '1']"

#---- a second DELETE on the same file: its vector merges ----
check "DELETE two more rows of the same file" "$TARN" sql "DELETE FROM t WHERE id IN (4, 5)"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '' ORDER BY id) FROM t")" "acfg"
if command -v node >/dev/null && [ -f "$INTEROP/avro-dump.mjs" ]; then
    dvs=$(live_dvs t)
    expect_eq "still one live vector for the file, now of 3 positions" \
        "$(echo "$dvs" | awk 'NR==1 {print $2} END {print NR}')" "3
2"
    got=$(puffin_positions "$(echo "$dvs" | awk 'NR==1 {print $5}')")
    expect_eq "it holds the old and the new positions" "$(echo "$got" | awk 'NR==1 {print $5}') $(echo "$got" | tail -1)" "1,3,4 ok"
else
    skip "merged vector" "build/interop needed"
fi
expect_eq "summary: the old vector removed in the same commit" \
    "$(metadata_eval t '[m["snapshots"][-1]["summary"].get(k) for k in ("added-dvs", "removed-dvs", "removed-delete-files", "removed-position-deletes", "total-delete-files", "total-position-deletes")]')" \
    "['1', '1', '1', '1', '1', '3']"
expect_eq "time travel before the deletes shows every row" \
    "$(q "SELECT string_agg(name, '' ORDER BY id) FROM t AT (VERSION => $s_before)")" "abcdefg"
s_first=$(metadata_eval t '[s["snapshot-id"] for s in m["snapshots"]][2]')
expect_eq "time travel to the first DELETE shows its rows" \
    "$(q "SELECT string_agg(name, '' ORDER BY id) FROM t AT (VERSION => $s_first)")" "acdefg"

#---- a DELETE of a whole file's remaining rows drops the file and its vector ----
check "DELETE the rest of the first file" "$TARN" sql "DELETE FROM t WHERE id IN (1, 3)"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '' ORDER BY id) FROM t")" "fg"
expect_eq "no live delete file is left (its data file went)" \
    "$(metadata_eval t 'm["snapshots"][-1]["summary"].get("total-delete-files")')" "0"

#---- UPDATE, MERGE, upsert ----
printf 'id,name,score\n1,a,10\n2,b,20\n3,c,30\n4,d,40\n' >"$TMP/u.csv"
check "a v3 table for updates" "$TARN" ingest u "$TMP/u.csv" --format-version 3
check "UPDATE" "$TARN" sql "UPDATE u SET score = score + 1 WHERE id IN (2, 3)"
expect_eq "rows after UPDATE" "$(q "SELECT string_agg(id || ':' || score, ' ' ORDER BY id) FROM u")" "1:10 2:21 3:31 4:40"
check "UPDATE a row of the same file again" "$TARN" sql "UPDATE u SET score = 0 WHERE id = 1"
expect_eq "rows after the second UPDATE" "$(q "SELECT string_agg(id || ':' || score, ' ' ORDER BY id) FROM u")" "1:0 2:21 3:31 4:40"
check "MERGE" "$TARN" sql "MERGE INTO u USING (SELECT 4 AS id, 'D' AS name, 44 AS score UNION ALL SELECT 5, 'e', 50) s ON u.id = s.id WHEN MATCHED THEN UPDATE SET name = s.name, score = s.score WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, s.score)"
expect_eq "rows after MERGE" "$(q "SELECT string_agg(id || name || score, ' ' ORDER BY id) FROM u")" "1a0 2b21 3c31 4D44 5e50"
printf 'id,name,score\n2,B,22\n6,f,60\n' >"$TMP/up.csv"
check "upsert (CLI)" "$TARN" ingest u "$TMP/up.csv" --mode upsert --key id
expect_eq "rows after the upsert" "$(q "SELECT string_agg(id || name || score, ' ' ORDER BY id) FROM u")" "1a0 2B22 3c31 4D44 5e50 6f60"
if command -v node >/dev/null && [ -f "$INTEROP/avro-dump.mjs" ]; then
    dvs=$(live_dvs u)
    expect_eq "one live vector per data file that lost rows" \
        "$(echo "$dvs" | head -n -1 | awk '{print $1}' | sort | uniq -d | wc -l) $(echo "$dvs" | tail -1)" "0 ok"
    for p in $(echo "$dvs" | head -n -1 | awk '{print $5}' | sort -u); do
        expect_eq "Puffin file $(basename "$p") decodes" "$(puffin_positions "$p" | tail -1)" "ok"
    done
else
    skip "vectors after updates" "build/interop needed"
fi

start_server "$WH"
status_is "upsert over HTTP (POST /ingest/u?mode=upsert)" 200 \
    call POST "/ingest/u?mode=upsert&key=id" -H 'Content-Type: text/csv' --data-binary $'id,name,score\n3,C,33\n7,g,70\n'
expect_eq "it reports one row updated" "$(jv 'd["rows_updated"]')" "1"
expect_eq "rows after it" "$(q "SELECT string_agg(id || name || score, ' ' ORDER BY id) FROM u")" "1a0 2B22 3C33 4D44 5e50 6f60 7g70"
status_is "DELETE over HTTP" 200 post /query '{"sql": "DELETE FROM u WHERE id = 7"}'
expect_eq "rows after it" "$(q 'SELECT count(*) FROM u')" "6"

#---- compaction applies the vectors and drops them ----
before_rows=$(q "SELECT string_agg(id || name || score, ' ' ORDER BY id) FROM u")
check "compact the v3 table" "$TARN" maintain u compact
expect_eq "same rows after compaction" "$(q "SELECT string_agg(id || name || score, ' ' ORDER BY id) FROM u")" "$before_rows"
expect_eq "one data file, no delete files, a replace snapshot" \
    "$(metadata_eval u '[m["snapshots"][-1]["summary"].get(k) for k in ("operation", "total-data-files", "total-delete-files", "total-position-deletes")]')" \
    "['replace', '1', '0', '0']"
expect_eq "next-row-id still grows (row lineage kept up)" "$(metadata_eval u 'm["next-row-id"] >= 7')" "True"

#---- copy-on-write on v3: the touched file is rewritten, its vector goes with it ----
check "a v3 table with a vector" "$TARN" ingest w "$TMP/a.csv" --format-version 3
check "DELETE one row" "$TARN" sql "DELETE FROM w WHERE id = 2"
check "ask for copy-on-write updates" "$TARN" sql "ALTER TABLE w SET TBLPROPERTIES ('write.update.mode'='copy-on-write')"
check "UPDATE copy-on-write" "$TARN" sql "UPDATE w SET name = 'z' WHERE id = 4"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '' ORDER BY id) FROM w")" "acze"
expect_eq "the file's vector was removed with it" \
    "$(metadata_eval w '[m["snapshots"][-1]["summary"].get(k) for k in ("removed-dvs", "total-delete-files", "total-position-deletes")]')" \
    "['1', '0', '0']"

#---- upgraded from v2: the file's position deletes fold into its first vector ----
check "a v2 table" "$TARN" ingest g "$TMP/a.csv"
check "DELETE on v2 writes a position-delete file" "$TARN" sql "DELETE FROM g WHERE id = 1"
check "upgrade it to v3" "$TARN" sql "ALTER TABLE g SET TBLPROPERTIES ('format-version'='3')"
check "DELETE another row of the same file" "$TARN" sql "DELETE FROM g WHERE id = 3"
expect_eq "rows after it" "$(q "SELECT string_agg(name, '' ORDER BY id) FROM g")" "bde"
if command -v node >/dev/null && [ -f "$INTEROP/avro-dump.mjs" ]; then
    dvs=$(live_dvs g)
    got=$(puffin_positions "$(echo "$dvs" | awk 'NR==1 {print $5}')")
    expect_eq "the vector holds the v2 position and the new one (readers may ignore the v2 file)" \
        "$(echo "$got" | awk 'NR==1 {print $4, $5}') $(echo "$got" | tail -1)" "2 0,2 ok"
else
    skip "folded vector" "build/interop needed"
fi

#---- a vector written by DuckDB merges with tarn's ----
wh_put_tree "$V3FX/legacy_bare_deletion_vector/tables" lbdv_fx
fx=$(wh_uri lbdv_fx)
check "register a copy of DuckDB's v3 table with a deletion vector" "$TARN" register lbdv \
    "$fx/default/legacy_bare_deletion_vector/metadata/00002-legacy-bare-dv.metadata.json" \
    --map "data/persistent/legacy_bare_deletion_vector/warehouse/=$fx/"
expect_eq "its rows (upstream: 1, 3)" "$(q 'SELECT string_agg(id::VARCHAR, $$-$$ ORDER BY id) FROM lbdv')" "1-3"
check "DELETE another row of that file" "$TARN" sql "DELETE FROM lbdv WHERE id = 3"
expect_eq "DuckDB's deleted row stays deleted, tarn's too" "$(q 'SELECT string_agg(id::VARCHAR, $$-$$ ORDER BY id) FROM lbdv')" "1"
loc=$(metadata_location lbdv)
loc=$(wh_local "$fx/${loc#data/persistent/legacy_bare_deletion_vector/warehouse/}")
expect_eq "one vector replaced DuckDB's" \
    "$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$loc" '[m["snapshots"][-1]["summary"].get(k) for k in ("added-dvs", "removed-dvs", "total-delete-files", "total-position-deletes")]')" \
    "['1', '1', '1', '2']"

#---- errors: a damaged vector is not merged over; nothing is committed ----
printf 'id\n1\n2\n3\n' >"$TMP/c.csv"
check "a v3 table" "$TARN" ingest c "$TMP/c.csv" --format-version 3
check "DELETE one row" "$TARN" sql "DELETE FROM c WHERE id = 1"
p=default/c/$(wh_ls default/c -r | grep -- '-deletes\.puffin$')
wh_get "$p" "$TMP/damaged.puffin"
printf '\x00' | dd of="$TMP/damaged.puffin" bs=1 seek=12 conv=notrunc 2>/dev/null
wh_put "$TMP/damaged.puffin" "$p"
# on S3 tarn keeps a local copy of every immutable file it wrote; the damage is behind its back
[ "$TEST_STORAGE" = s3 ] && find "$TMP/cache" -name '*-deletes.puffin' -delete
before=$(metadata_location c)
check_fails "a DELETE that would merge a damaged vector fails" 2 "CRC-32" "$TARN" sql "DELETE FROM c WHERE id = 2"
expect_eq "nothing was committed" "$(metadata_location c)" "$before"
expect_eq "no Puffin file was left behind" "$(wh_ls default/c -r | grep -c -- '-deletes\.puffin$')" "1"

#---- the independent checker ----
# check.mjs is a v2 checker that reads every live delete file as Parquet, so it cannot judge a
# snapshot with live deletion vectors (the vectors are checked above); it checks the current
# snapshots of t and u, where every vector went with its data file or with compaction (their
# DELETED entries are still read) and may only object to format-version 3.
if command -v node >/dev/null && [ -f "$INTEROP/check.mjs" ]; then
    for t in t u; do
        expect_eq "check.mjs on $t: no errors but 'it is v3'" "$(v3_check_errors "$t")" "[]"
    done
else
    skip "check.mjs" "build/interop needed"
fi

finish
