#!/usr/bin/env bash
# t20-fixtures: real Iceberg tables written by Spark, Java, PyIceberg, Athena and BigQuery
# (../shared/iceberg-fixtures) are registered with path maps and read with the results their
# upstream tests expect.
. "$(dirname "$0")/lib.sh"

DI=$FIXTURES/duckdb-iceberg/data/persistent
IB=$FIXTURES/icebird/hyperparam-iceberg
DMAP="data/persistent/=file://$DI/"

# On an S3 warehouse the fixtures are read from the bucket: copied there first, and every
# file://$FIXTURES location below (metadata files, path map targets) becomes its s3:// copy.
FIXTURES_URI=file://$FIXTURES
if [ "$TEST_STORAGE" = s3 ]; then
    check "copy the fixtures into the bucket" wh_put_tree "$FIXTURES" fixtures
    FIXTURES_URI=$WH/fixtures
fi

# reg NAME METADATA_FILE [MAP]: register a fixture table
reg() {
    local name=$1 meta=$2 map=${3:-$DMAP}
    check "register $name" "$TARN" register "$name" "${FIXTURES_URI}${meta#"$FIXTURES"}" \
        --map "${map//"file://$FIXTURES"/$FIXTURES_URI}"
}

reg p_int "$DI/partition_integer/metadata/v2.metadata.json"
expect_eq "identity int partition (column filled from the manifest)" \
    "$(q 'SELECT partition_col, user_id, event_type FROM p_int ORDER BY user_id')" \
    "42,12345,click
1337,67890,purchase"
expect_eq "filter on a partition column" "$(q 'SELECT user_id FROM p_int WHERE partition_col = 42')" "12345"
reg p_bigint "$DI/partition_bigint/metadata/v2.metadata.json"
expect_eq "identity bigint partition" "$(q 'SELECT partition_col FROM p_bigint ORDER BY user_id')" \
    "9223372036854775807
-9223372036854775808"
reg p_bool "$DI/partition_bool/metadata/v2.metadata.json"
expect_eq "identity boolean partition" "$(q 'SELECT user_id FROM p_bool WHERE partition_col')" "12345"
reg p_float "$DI/partition_float/metadata/v2.metadata.json"
expect_eq "identity float partition" "$(q 'SELECT user_id FROM p_float WHERE partition_col = 1.23::FLOAT')" "12345"
reg p_binary "$DI/partition_binary/metadata/v2.metadata.json"
expect_eq "identity binary partition" "$(q "SELECT user_id FROM p_binary WHERE partition_col = '\\xAA\\xBB\\xCC'::BLOB")" "67890"
reg p_dec "$DI/partition_decimal_integer/metadata/v2.metadata.json"
expect_eq "identity decimal(8,4) partition" "$(q 'SELECT partition_col, user_id FROM p_dec ORDER BY partition_col')" \
    "1.2300,67890
42.5630,12345
1234.5432,111213"
reg p_hugedec "$DI/partition_decimal_hugeint/metadata/v2.metadata.json"
expect_eq "identity decimal(36,23) partition (16-byte fixed)" \
    "$(q 'SELECT user_id FROM p_hugedec WHERE partition_col = 3.14159265358979323846264')" "314159"
expect_eq "decimal(36,23) has 15 rows" "$(q 'SELECT count(*) FROM p_hugedec')" "15"

reg p_time "$DI/partition_time/default.db/partition_time/metadata/00001-44546aa6-1ee5-48c5-9e3b-bc6c0bc0a60c.metadata.json"
expect_eq "PyIceberg time partition (codec null)" "$(q 'SELECT partition_col, user_id FROM p_time ORDER BY user_id')" \
    "12:34:56,12345
08:21:09,67890"
reg p_ts "$DI/partition_timestamp/default.db/partition_timestamp/metadata/00001-0c9938a5-103e-4185-b46d-331368ae4db7.metadata.json"
expect_eq "PyIceberg timestamp partition" "$(q 'SELECT partition_col FROM p_ts ORDER BY user_id')" \
    "2023-05-15 14:30:45
2023-08-22 09:15:20"
reg p_tstz "$DI/partition_timestamptz/default.db/partition_timestamptz/metadata/00001-ffeadb58-2a9e-46ba-8b4f-f363f05de68c.metadata.json"
expect_eq "PyIceberg timestamptz partition" "$(q 'SELECT partition_col FROM p_tstz ORDER BY user_id')" \
    "2023-05-15 14:30:45+00
2023-08-22 09:15:20+00"
reg p_fixed "$DI/partition_fixed_length_binary/default.db/partition_fixed_length_binary/metadata/00001-b4b3d6d2-cac2-4480-952e-0e4b3b88b5d7.metadata.json"
expect_eq "PyIceberg fixed[11] partition" "$(q 'SELECT partition_col::VARCHAR FROM p_fixed ORDER BY user_id')" \
    "hello world
fixed value"

reg uuid_t "$DI/uuid/metadata/00001-43fda1f4-1c96-4376-ad16-91beb71d0759.metadata.json"
expect_eq "uuid column, two files" "$(q 'SELECT count(*) FROM uuid_t')" "10"
expect_eq "uuid filter" "$(q "SELECT count(*) FROM uuid_t WHERE uuid = '1571effb-facd-42a3-90e9-0af522e9b6c2'")" "1"
reg nulls_t "$DI/is_null_is_not_null/metadata/00001-43ceeb9a-cd0d-4556-b1e2-513b5bf88ff8.metadata.json"
expect_eq "IS NULL over three appends" "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM nulls_t WHERE value IS NULL')" "1 2 3 7"
expect_eq "Java table at its first snapshot" "$(q 'SELECT count(*) FROM nulls_t' --snapshot 6009550004485738065)" "3"
reg expr_t "$DI/expression_filter/metadata/00001-19739cda-f528-4429-84cc-377ffdd24c75.metadata.json"
expect_eq "Java 1.9 table" "$(q 'SELECT count(*) FROM expr_t')" "3"
reg nstats "$DI/null_stats/default/test_nulls/metadata/00003-9d6a621e-8a72-4190-a880-f6ca02e32b86.metadata.json"
expect_eq "PyIceberg timestamptz + boolean nulls" \
    "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM nstats WHERE flag IS NULL')" "4 5 7 8 9"
expect_eq "PyIceberg table at its second snapshot" "$(q 'SELECT count(*) FROM nstats' --snapshot 9136741709133330043)" "6"

reg eqdel "$DI/equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json"
expect_eq "equality deletes on 1 and 2 columns" "$(q 'SELECT id, name, bir FROM eqdel ORDER BY id')" \
    "4,d,2025-01-04
5,e,2025-01-05"
expect_eq "equality deletes at an earlier snapshot" "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM eqdel' --snapshot 1584331123492059582)" "3 4"
reg eqdel_p "$DI/equality_deletes/warehouse/mydb/mytable_partitioned/metadata/v6.metadata.json"
expect_eq "partition-scoped equality deletes" "$(q 'SELECT string_agg(id::VARCHAR, $$ $$ ORDER BY id) FROM eqdel_p')" "1 4 5"
reg eq_cross "$DI/equality_delete_cross_partition/warehouse/ns/t/metadata/vfinal.metadata.json"
expect_eq "equality delete stays in its partition; snapshot id > INT64_MAX" \
    "$(q 'SELECT part, key, val FROM eq_cross ORDER BY part, key')" \
    "0,999,p0-k999
1,100,p1-k100
1,888,p1-k888"
reg eq_extra "$DI/equality_delete_extra_column/warehouse/ns/t/metadata/vfinal.metadata.json"
expect_eq "equality delete file with fewer columns" "$(q 'SELECT count(*) FROM eq_extra')" "2"

reg hive "$DI/hive_partitioned_table/metadata/v4.metadata.json"
expect_eq "partition evolution (two specs)" "$(q 'SELECT count(*) FROM hive')" "6"
expect_eq "partition evolution filter" "$(q "SELECT user_id FROM hive WHERE event_date = '2024-01-02'")" "67890"

LMAP="lineitem_iceberg/=file://$DI/iceberg/lineitem_iceberg/"
reg lineitem "$DI/iceberg/lineitem_iceberg/metadata/v2.metadata.json" "$LMAP"
expect_eq "Spark copy-on-write delete (DELETED entries)" "$(q 'SELECT count(*) FROM lineitem')" "51793"
expect_eq "TPC-H Q6 now" "$(q "SELECT sum(l_extendedprice * l_discount) FROM lineitem WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24")" "1077536.9101"
expect_eq "TPC-H Q6 at the first snapshot" "$(q "SELECT sum(l_extendedprice * l_discount) FROM lineitem AT (VERSION => 7817332053627255703) WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24")" "1193053.2253"
GMAP="lineitem_iceberg_gz/=file://$DI/iceberg/lineitem_iceberg_gz/"
reg lineitem_gz "$DI/iceberg/lineitem_iceberg_gz/metadata/v2.gz.metadata.json" "$GMAP"
expect_eq "v1 table with gzip metadata" "$(q 'SELECT count(*) FROM lineitem_gz')" "111968"
reg legacy "$DI/iceberg_v1_deprecated/default/legacy_v1/metadata/v2.metadata.json"
expect_eq "v1 inline manifests, schema and partition-spec" "$(q 'SELECT id, category, amount FROM legacy ORDER BY id')" \
    "1,alpha,10
2,beta,20
3,alpha,"
reg merch "$DI/iceberg_v1_repro/repro/merch_v1/metadata/00003-8d01e4aa-d143-49c9-898e-b5e477577b70.metadata.json"
expect_eq "v1 overwrite with EXISTING and DELETED entries" "$(q 'SELECT id, league, ats_qty FROM merch ORDER BY id')" \
    "2,nba,20
3,mlb,30
4,nhl,40
6,nba,60"
reg defaults "$DI/add_columns_with_defaults/default.db/add_columns_with_defaults/metadata/00003-3f1801a5-7dfb-4072-b14a-39cd12f9279b.metadata.json"
expect_eq "initial-default fills columns a file predates" \
    "$(q 'SELECT count(*) FILTER (WHERE col_integer = 342342), count(*) FILTER (WHERE col_string = $$HELLO$$) FROM defaults')" "2,2"
reg mapstats "$DI/map_stats/default.db/map_stats/metadata/00002-0e059d4b-e5e8-41af-a763-76cbf3a3d0bc.metadata.json" "file://data/persistent/=file://$DI/"
expect_eq "day-partitioned table with a map column" "$(q "SELECT count(*) FROM mapstats WHERE metadata['key'] = 'value1'")" "2"
reg bq "$DI/big_query_error/metadata/v1749025517.metadata.json"
expect_eq "BigQuery-written table" "$(q 'SELECT id, name FROM bq ORDER BY id')" "1,Alice
2,Bob"
reg nosnap "$DI/custom_write_paths/metadata/00000-acdf842e-3a9d-4b9b-ad87-daf785831925.metadata.json"
expect_eq "table without snapshots reads empty" "$(q 'SELECT count(*) FROM nosnap')" "0"
reg tsns "$DI/timestamptz_ns/metadata/v1.metadata.json"
expect_eq "v3 timestamptz_ns column" "$(q 'SELECT count(*) FROM tsns')" "0"
reg cases "$DI/case_sensitive_names/default.db/case_sensitive_names/metadata/00001-a7a3a44c-4aac-4619-bebd-11be37b27351.metadata.json"
expect_eq "two columns differing only in case" "$(q 'SELECT count(*) FROM cases')" "3"

IMAP="s3a://hyperparam-iceberg/=file://$IB/"
reg j_bunnies "$IB/java/bunnies/metadata/v5.metadata.json" "$IMAP"
expect_eq "Java position + equality deletes" "$(q 'SELECT count(*) FROM j_bunnies')" "15"
expect_eq "re-inserted row after equality delete" \
    "$(q "SELECT \"Popularity Rank\", \"__happy__\" FROM j_bunnies WHERE \"Origin Country\" = 'New Zealand'")" "0,true"
reg s_bunnies "$IB/spark/bunnies/metadata/v5.metadata.json" "$IMAP"
expect_eq "Spark merge-on-read delete not applied to a newer file" "$(q 'SELECT count(*) FROM s_bunnies')" "20"
expect_eq "Spark table at its first snapshot" "$(q 'SELECT count(*) FROM s_bunnies' --snapshot 7505300640432048841)" "21"
reg renamed "$IB/spark/rename_column/metadata/v3.metadata.json" "$IMAP"
expect_eq "renamed column reads by field id; bucket partition; null partition" \
    "$(q 'SELECT id, event_date FROM renamed ORDER BY id')" "1,2022-01-01
2,2022-01-01
3,
4,2022-01-02"
reg athena "$IB/athena/example/metadata/00001-aaf0d033-d06b-43c7-be60-67f83abd4aca.metadata.json" "s3://hyperparam-iceberg/=file://$IB/"
expect_eq "Athena table (object-storage layout)" "$(q 'SELECT id, name FROM athena ORDER BY id')" "1,Alice
2,Bob"

reg cmap "$DI/column_mapping/warehouse/default.db/my_table/metadata/00001-75643dae-a7a7-46ae-ab30-ea80d3793f3f.metadata.json"
expect_eq "name mapping for a file without field ids (map, list, struct)" \
    "$(q "SELECT id, name, age, attributes['weight'], scores[2], profile.email FROM cmap ORDER BY id")" \
    "1,Alice,25,130,90,alice@example.com
2,Bob,30,180,82,bob@example.com
3,Charlie,35,160,,charlie@example.com"
NM=$DI/name_mapping/warehouse_1/mydb/t1/metadata
S1=6597550917742534971
# nm VERSION SNAPSHOT PREDICATE EXPECTED: count rows matching at a snapshot of a mapping variant
nm() {
    local name="nm_${1//./_}"
    "$TARN" tables | grep -q "^default.$name " || reg "$name" "$NM/$1.metadata.json"
    expect_eq "name mapping $1: $3" "$(q "SELECT count(*) FROM $name AT (VERSION => $2) WHERE $3")" "$4"
}
nm v3 $S1 "b IS NULL" 0
nm v3 $S1 "b IS NOT NULL" 10000
nm v3.1 $S1 "b IS NULL" 10000
nm v3.2 $S1 "a IS NULL AND b IS NULL" 10000
nm v4 $S1 "b IS NOT NULL" 10000
nm v4.1 $S1 "b IS NULL" 10000
nm v7 2651609110244230974 "b IS NULL" 10000

reg gbounds "$DI/generated_bounds/metadata/v1.metadata.json"
expect_eq "5,000 manifest entries pruned by bounds (their data files do not exist)" \
    "$(q 'SELECT count(*) FROM gbounds WHERE block_number BETWEEN 5000000 AND 5000100')" "0"
finish
