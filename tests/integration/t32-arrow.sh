#!/usr/bin/env bash
# t32-arrow: format=arrow (Arrow IPC stream) from GET and POST /query and from `tarn sql --format
# arrow` (local and --remote), read back by an independent reader (the apache-arrow npm package,
# through arrow-read.mjs) and compared with format=json of the same query: a table with every
# Iceberg type and nulls, the types only queries make, an empty result, 10,000 rows over several
# batches, ENUMs as dictionaries, and the refusal of UNION with its 400.
. "$(dirname "$0")/lib.sh"

CHECK_DIR=$ROOT/build/arrow-check
F=$TMP/files
mkdir -p "$F"

# The reader: apache-arrow pinned by tests/integration/arrow-check/package-lock.json.
if [ ! -f "$CHECK_DIR/node_modules/apache-arrow/package.json" ] ||
   ! cmp -s "$ROOT/tests/integration/arrow-check/package-lock.json" "$CHECK_DIR/package-lock.json"; then
    mkdir -p "$CHECK_DIR"
    cp "$ROOT/tests/integration/arrow-check/package.json" \
       "$ROOT/tests/integration/arrow-check/package-lock.json" "$CHECK_DIR/"
    (cd "$CHECK_DIR" && npm ci --ignore-scripts --no-audit --no-fund >"$TMP/npm.log" 2>&1) ||
        { bad "apache-arrow installs from npm"; tail -5 "$TMP/npm.log"; finish; exit 1; }
fi
cp "$ROOT/tests/integration/arrow-read.mjs" "$CHECK_DIR/"
read_arrow() { node "$CHECK_DIR/arrow-read.mjs" "$1"; }

# arrow_get NAME SQL [curl -d options...]: GET /query?format=arrow into $F/NAME.arrows; prints
# "status content-type".
arrow_get() {
    local name=$1 sql=$2; shift 2
    curl -s -o "$F/$name.arrows" -w '%{http_code} %{content_type}' -G "$BASE/query" \
        --data-urlencode "sql=$sql" -d format=arrow "$@"
}

# json_get NAME SQL: GET /query (JSON, up to 20,000 rows) into $F/NAME.json.
json_get() {
    curl -s -o "$F/$1.json" -G "$BASE/query" --data-urlencode "sql=$2" -d limit=20000
}

# same_rows DESC NAME: the rows read from $F/NAME.arrows equal those of $F/NAME.json.
same_rows() {
    local desc=$1 name=$2
    if ! read_arrow "$F/$name.arrows" >"$F/$name.read.json" 2>"$TMP/err"; then
        bad "$desc (the Arrow reader failed)"; sed 's/^/    /' "$TMP/err" | head -5; return
    fi
    check "$desc" python3 - "$F/$name.read.json" "$F/$name.json" <<'PY'
import json, sys
a, j = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
if [f["name"] for f in a["fields"]] != [c["name"] for c in j["columns"]]:
    sys.exit("names differ: %s" % [f["name"] for f in a["fields"]])
for i, (x, y) in enumerate(zip(a["rows"], j["rows"])):
    if x != y:
        sys.exit("row %d differs:\n arrow %s\n json  %s" % (i, x, y))
if len(a["rows"]) != len(j["rows"]):
    sys.exit("%d rows from arrow, %d from json" % (len(a["rows"]), len(j["rows"])))
PY
}

# types NAME: the Arrow field types read from $F/NAME.arrows, one "name type" per line.
types() { python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["fields"]: print(f["name"], f["type"])' "$F/$1.read.json"; }

start_server "$WH" || { bad "server starts"; finish; exit 1; }

#---- a table with every Iceberg type, made from a Parquet result ----
ALL="SELECT * FROM (VALUES
  (1, true, 7, 9007199254740993, 1.5::FLOAT, 0.1::DOUBLE, -1.23::DECIMAL(9,2),
   12345678901234567890.12::DECIMAL(38,2), DATE '2024-02-29', TIME '01:02:03.5',
   TIMESTAMP '2024-01-01 01:02:03.123456', TIMESTAMPTZ '2024-01-01 00:00:00+02',
   'héllo, \"arrow\"', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, '\\x00ab\\xAB'::BLOB,
   [1, NULL, 3], {'a': 1, 'b': 'x'}, MAP {'k': 1.5, 'l': NULL}),
  (2, false, -7, -1, -2.25::FLOAT, -1e300, 0.00::DECIMAL(9,2), NULL, DATE '1969-12-31',
   TIME '23:59:59.999999', TIMESTAMP '1960-06-01 00:00:00', TIMESTAMPTZ '2038-01-19 03:14:08+00',
   '', NULL, ''::BLOB, [], {'a': NULL, 'b': NULL}, MAP {}),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL)
) t(id, b, i, l, f, d, dec, big, dt, tm, ts, tstz, s, u, bin, li, st, m)"
code=$(curl -s -o "$F/all.parquet" -w '%{http_code}' -G "$BASE/query" \
    --data-urlencode "sql=$ALL" -d format=parquet)
expect_eq "a Parquet file with every type" "$code" 200
status_is "it ingests as table alltypes" 200 call POST /ingest/alltypes --data-binary @"$F/all.parquet"

expect_eq "arrow answers with the Arrow stream type" \
    "$(arrow_get all 'SELECT * FROM alltypes ORDER BY id')" "200 application/vnd.apache.arrow.stream"
json_get all 'SELECT * FROM alltypes ORDER BY id'
same_rows "every Iceberg type reads back as json shows it" all
expect_eq "Arrow types of the Iceberg columns" "$(types all | tr '\n' ';')" \
    "id Int32;b Bool;i Int32;l Int64;f Float32;d Float64;dec Decimal[9e+2];big Decimal[38e+2];dt Date32<DAY>;tm Time64<MICROSECOND>;ts Timestamp<MICROSECOND>;tstz Timestamp<MICROSECOND, Etc/UTC>;s Utf8;u Utf8;bin Binary;li List<Int32>;st Struct<{a:Int32, b:Utf8}>;m Map<{key:Utf8, value:Decimal[2e+1]}>;"
expect_eq "one batch, three rows, nulls in every column" \
    "$(jv '[d["batches"], len(d["rows"]), all(v is None for v in d["rows"][2][1:])]' "$F/all.read.json")" \
    "[1, 3, true]"
expect_eq "fields are nullable" "$(jv 'all(f["nullable"] for f in d["fields"])' "$F/all.read.json")" "true"

#---- types that only queries make ----
EXTRA="SELECT * FROM (VALUES
  (-8::TINYINT, 300::SMALLINT, 200::UTINYINT, 60000::USMALLINT, 4000000000::UINTEGER,
   18446744073709551615::UBIGINT, 170141183460469231731687303715884105727::HUGEINT,
   INTERVAL '14 months 3 days 4 seconds', [1, 2]::INTEGER[2], 'NaN'::DOUBLE,
   TIMESTAMP_NS '2024-01-01 00:00:00', [[1], [2, 3]], ['x', NULL]),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, INTERVAL '1 day', NULL, 'Infinity'::DOUBLE, NULL,
   [NULL, []], NULL)
) t(i8, i16, u8, u16, u32, u64, h, iv, arr, nan, tns, nested, strs)"
expect_eq "query-only types stream" "$(arrow_get extra "$EXTRA")" "200 application/vnd.apache.arrow.stream"
json_get extra "$EXTRA"
same_rows "query-only types read back as json shows them" extra
expect_eq "Arrow types of the query-only columns" "$(types extra | tr '\n' ';')" \
    "i8 Int8;i16 Int16;u8 Uint8;u16 Uint16;u32 Uint32;u64 Uint64;h Decimal[38e0];iv Interval<MONTH_DAY_NANO>;arr FixedSizeList[2]<Int32>;nan Float64;tns Timestamp<NANOSECOND>;nested List<List<Int32>>;strs List<Utf8>;"

#---- an empty result: the schema alone ----
expect_eq "empty result streams" "$(arrow_get empty 'SELECT * FROM alltypes WHERE id < 0')" \
    "200 application/vnd.apache.arrow.stream"
read_arrow "$F/empty.arrows" >"$F/empty.read.json" 2>"$TMP/err" || { bad "empty result read"; cat "$TMP/err"; }
expect_eq "empty result: no batches, no rows" "$(jv '[d["batches"], len(d["rows"])]' "$F/empty.read.json")" "[0, 0]"
expect_eq "empty result keeps the schema" "$(types empty | tr '\n' ';')" "$(types all | tr '\n' ';')"
expect_eq "empty stream ends with the end-of-stream marker" \
    "$(tail -c 8 "$F/empty.arrows" | od -An -tx1 | tr -d ' \n')" "ffffffff00000000"

#---- 10,000 rows: several batches ----
BIG="SELECT range AS n, 'row ' || range AS s, CASE WHEN range % 7 = 0 THEN NULL ELSE range * 1.5 END AS x,
  DATE '2020-01-01' + CAST(range AS INTEGER) AS day FROM range(10000) ORDER BY n"
ingest_big=$(curl -s -o "$F/big.parquet" -w '%{http_code}' -G "$BASE/query" --data-urlencode "sql=$BIG" -d format=parquet)
expect_eq "10,000 rows as Parquet" "$ingest_big" 200
status_is "they ingest as table big" 200 call POST /ingest/big --data-binary @"$F/big.parquet"
arrow_get big 'SELECT * FROM big ORDER BY n' >/dev/null
json_get big 'SELECT * FROM big ORDER BY n'
same_rows "10,000 rows read back as json shows them" big
expect_eq "10,000 rows come in several batches" \
    "$(jv '[len(d["rows"]), d["batches"] > 1]' "$F/big.read.json")" "[10000, true]"
arrow_get limited 'SELECT * FROM big ORDER BY n' -d limit=5 >/dev/null
read_arrow "$F/limited.arrows" >"$F/limited.read.json"
expect_eq "limit applies to arrow" "$(jv '[r[0] for r in d["rows"]]' "$F/limited.read.json")" "[0, 1, 2, 3, 4]"

#---- POST, EXPLAIN, snapshots ----
code=$(curl -s -o "$F/post.arrows" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary '{"sql": "SELECT id, s FROM alltypes ORDER BY id", "format": "arrow"}' "$BASE/query")
expect_eq "POST /query with format arrow" "$code" 200
expect_eq "POST result reads" "$(read_arrow "$F/post.arrows" | jv 'd["rows"]' /dev/stdin)" \
    '[[1, "héllo, \"arrow\""], [2, ""], [3, null]]'
expect_eq "EXPLAIN as arrow" "$(arrow_get explain 'EXPLAIN SELECT count(*) FROM big')" \
    "200 application/vnd.apache.arrow.stream"
expect_eq "EXPLAIN's plan reads" "$(read_arrow "$F/explain.arrows" | jv '[f["name"] for f in d["fields"]]' /dev/stdin)" \
    '["explain_key", "explain_value"]'

#---- ENUM: dictionary-encoded, the dictionary sent once ----
ENUMS="SELECT CAST(CASE WHEN range % 5 = 0 THEN NULL ELSE ['low', 'mid', 'high'][range % 3 + 1] END
         AS ENUM('low', 'mid', 'high')) AS mood,
       [CAST('high' AS ENUM('low', 'high')), NULL] AS moods, range AS n
  FROM range(5000) ORDER BY n"
expect_eq "ENUM columns stream" "$(arrow_get enum "$ENUMS")" "200 application/vnd.apache.arrow.stream"
json_get enum "$ENUMS"
same_rows "ENUM values read back as json shows them" enum
expect_eq "ENUMs are dictionaries" "$(types enum | tr '\n' ';')" \
    "mood Dictionary<Uint8, Utf8>;moods List<Dictionary<Uint8, Utf8>>;n Int64;"
expect_eq "each dictionary is sent once for several batches" \
    "$(jv '[d["dictionaries"], d["batches"] > 1]' "$F/enum.read.json")" "[2, true]"

#---- refusals: before any byte of Arrow is sent ----
code=$(arrow_get union "SELECT union_value(k := 1) AS u")
cp "$F/union.arrows" "$TMP/body"
expect_eq "UNION column is a 400" "$code" "400 application/json"
expect_eq "the 400 says union" "$(jv '"\"u\"" in d["error"]["message"] and "union" in d["error"]["message"]')" "true"
expect_eq "a bad query is still a 400 with arrow" "$(arrow_get bad 'SELECT nope FROM alltypes' | cut -d' ' -f1)" 400
status_is "unknown formats list arrow" 400 call GET "/query?sql=SELECT+1&format=feather"
expect_eq "the message lists arrow" "$(jv '"arrow" in d["error"]["message"]')" "true"

#---- the CLI ----
"$TARN" sql 'SELECT * FROM alltypes ORDER BY id' --format arrow >"$F/cli.arrows" 2>"$TMP/err"
expect_eq "tarn sql --format arrow exits 0" "$?" 0
check "local CLI arrow equals the server's" cmp "$F/cli.arrows" "$F/all.arrows"
"$TARN" --remote "$BASE" sql 'SELECT * FROM alltypes ORDER BY id' --format arrow >"$F/remote.arrows" 2>"$TMP/err"
expect_eq "tarn --remote sql --format arrow exits 0" "$?" 0
check "remote CLI arrow equals the server's" cmp "$F/remote.arrows" "$F/all.arrows"
check_fails "CLI refuses a UNION column" 2 '"u"' "$TARN" sql "SELECT union_value(k := 1) AS u" --format arrow
check_fails "remote CLI refuses a UNION column" 2 '"u"' \
    "$TARN" --remote "$BASE" sql "SELECT union_value(k := 1) AS u" --format arrow
check_fails "the shell refuses --format arrow" 2 "use tarn sql --format arrow" \
    "$TARN" shell --format arrow </dev/null

finish
