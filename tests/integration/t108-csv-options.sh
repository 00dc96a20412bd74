#!/usr/bin/env bash
# t108-csv-options: CSV guesses a user can undo (issue 17). A fraction past the sniffer's sample
# in a column of whole numbers is never rounded, on the whole-file and the streamed path (a new
# table makes the column a double; an existing long column refuses the row with a 422); the CSV
# options nullstr, decimal_separator, dateformat, timestampformat, encoding, quote, escape, skip
# and comment over POST /ingest and tarn ingest, each checked with a 400 that names it; and a
# table that remembers its dialect (tarn.csv.* properties) and reads later files the same way.
. "$(dirname "$0")/lib.sh"

# gen_late FILE ROWS BAD_ROW BAD_VALUE: id,amount,note; amount is a whole number but in BAD_ROW.
# Notes pad the file so that more than 4 MiB (the streamed head) holds 100,000 rows.
gen_late() {
    awk -v rows="$2" -v bad="$3" -v badv="$4" 'BEGIN {
        print "id,amount,note"
        for (i = 1; i <= rows; i++)
            printf "%d,%s,note %d padded to make the file long enough to stream\n", i,
                (i == bad) ? badv : i * 3, i
    }' >"$1"
}

# types TABLE: the Iceberg types of its columns, as a Python list
types() { curl -s "$BASE/tables/$1" | python3 -c 'import json, sys; print([f["type"] for f in json.load(sys.stdin)["schema"]["fields"]])'; }
# prop TABLE KEY: a table property, or None
prop() { curl -s "$BASE/tables/$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("properties", {}).get(sys.argv[1]))' "$2"; }

start_server "$WH" || { bad "server starts"; finish; exit 1; }
ok "server starts"

#---- 1. a fraction past the sample is never rounded ----
gen_late "$TMP/late.csv" 120000 100001 1.5
SIZE=$(stat -c %s "$TMP/late.csv")
[ "$SIZE" -gt $((5 * 1024 * 1024)) ] && ok "the late file ($SIZE bytes) is longer than the 4 MiB head" ||
    bad "the late file is too short to stream ($SIZE bytes)"
printf 'id,amount,note\n1,5,a\n' >"$TMP/ints.csv"

# whole-file path (the command line): a new table sniffs every row
check "tarn ingest of a late 1.5 creates a table" "$TARN" ingest late_cli "$TMP/late.csv"
expect_eq "the CLI's new column is a double" "$(types late_cli)" "['long', 'double', 'string']"
expect_eq "1.5 is kept, not rounded" "$(csvq 'SELECT amount FROM late_cli WHERE id = 100001')" 1.5
# the same into a long column: refused, naming the row
check "a table of whole numbers" "$TARN" ingest late_cli_long "$TMP/ints.csv"
check_fails "the CLI refuses 1.5 into the long column" 2 \
    "row 100001: value '1.5' in column amount does not fit its type long" \
    "$TARN" ingest late_cli_long "$TMP/late.csv"
expect_eq "nothing was rounded into it" "$(csvq 'SELECT count(*) FROM late_cli_long')" 1

# streamed path (POST /ingest converts the upload as it arrives)
code=$(ingest late_http "" "@$TMP/late.csv")
expect_status "POST /ingest of a late 1.5 creates a table" 200 "$code"
expect_eq "the streamed new column is a double" "$(types late_http)" "['long', 'double', 'string']"
expect_eq "1.5 is kept over HTTP, not rounded" "$(csvq 'SELECT amount FROM late_http WHERE id = 100001')" 1.5
expect_eq "every row" "$(csvq 'SELECT count(*) FROM late_http')" 120000
code=$(ingest late_http_long "" "@$TMP/ints.csv")
code=$(ingest late_http_long "" "@$TMP/late.csv")
expect_error "POST /ingest refuses 1.5 into the long column" 422 \
    "row 100001: value '1.5' in column amount does not fit its type long" "$code"
expect_eq "nothing was rounded into it over HTTP" "$(csvq 'SELECT count(*) FROM late_http_long')" 1
# into a double column a late 1.5 is kept on both paths (it was rounded to 2 before)
printf 'id,amount,note\n1,0.5,a\n' >"$TMP/dbl.csv"
code=$(ingest late_dbl "" "@$TMP/dbl.csv")
code=$(ingest late_dbl "" "@$TMP/late.csv")
expect_status "a late 1.5 into a double column over HTTP" 200 "$code"
check "and with the CLI" "$TARN" ingest late_dbl "$TMP/late.csv"
expect_eq "1.5 kept twice" "$(csvq 'SELECT amount FROM late_dbl WHERE id = 100001')" $'1.5\n1.5'
# a whole number written 7.0 loses nothing and still loads into the long column
gen_late "$TMP/late7.csv" 120000 100001 7.0
code=$(ingest late_http_long "" "@$TMP/late7.csv")
expect_status "7.0 into the long column" 200 "$code"
expect_eq "7.0 is 7" "$(csvq 'SELECT amount FROM late_http_long WHERE id = 100001')" 7

#---- 2. CSV options ----
printf 'id;price;note\n1;1,5;NA\n2;2,25;-\n3;;x\n' >"$TMP/eu.csv"
code=$(ingest eu "delimiter=%3B&decimal_separator=%2C&nullstr=NA,-,empty" "@$TMP/eu.csv")
expect_status "decimal_separator and nullstr" 200 "$code"
expect_eq "decimals read with a comma" "$(csvq 'SELECT price FROM eu ORDER BY id')" $'1.5\n2.25'
expect_eq "NA, - and the empty field are NULL" \
    "$(csvq 'SELECT count(*) FROM eu WHERE note IS NULL OR price IS NULL')" 3
printf 'id,note\n1,\n2,NA\n' >"$TMP/ne.csv"
code=$(ingest ne "nullstr=NA" "@$TMP/ne.csv")
expect_status "nullstr without empty" 200 "$code"
expect_eq "the list replaces the default: an empty field is an empty string" \
    "$(csvq "SELECT id, note IS NULL, note = '' FROM ne ORDER BY id")" $'1,false,true\n2,true,'
printf 'id,seen\n1,03/01/2024 10:20\n' >"$TMP/ts.csv"
code=$(ingest ts "timestampformat=$(urlenc '%d/%m/%Y %H:%M')" "@$TMP/ts.csv")
expect_status "timestampformat" 200 "$code"
expect_eq "the timestamp is read day-first" "$(csvq 'SELECT seen FROM ts')" "2024-01-03 10:20:00"
printf 'id,name\n1,caf\xe9\n' >"$TMP/latin1.csv"
code=$(ingest lat "encoding=latin-1" "@$TMP/latin1.csv")
expect_status "encoding=latin-1" 200 "$code"
expect_eq "latin-1 is read as such" "$(csvq 'SELECT name FROM lat')" "café"
python3 -c 'import sys; open(sys.argv[1], "wb").write("id,name\n1,Größe\n".encode("utf-16"))' "$TMP/u16.csv"
code=$(ingest u16 "encoding=utf-16" "@$TMP/u16.csv")
expect_status "encoding=utf-16" 200 "$code"
expect_eq "utf-16 is read as such" "$(csvq 'SELECT name FROM u16')" "Größe"
printf "junk line\nmore junk\n# a comment\nid|name\n1|'a|b'\n# another\n2|'it\\\\'s'\n" >"$TMP/q.csv"
code=$(ingest qt "delimiter=%7C&quote=%27&escape=%5C&skip=2&comment=%23&header=true" "@$TMP/q.csv")
expect_status "quote, escape, skip and comment" 200 "$code"
expect_eq "quoted, escaped, comments and skipped lines left out" "$(csvq 'SELECT id, name FROM qt ORDER BY id')" \
    $'1,a|b\n2,it\'s'
# a value that would break SQL if spliced in is only a null string
printf "id,v\n1,x');--\n2,y\n" >"$TMP/inj.csv"
code=$(ingest inj "nullstr=$(urlenc "x');--")" "@$TMP/inj.csv")
expect_status "a null string holding a quote" 200 "$code"
expect_eq "it is a string, nothing else" "$(csvq 'SELECT id FROM inj WHERE v IS NULL')" 1

# each option checked, with a 400 naming it
bad_option() {
    local param=$1 msg=$2 code
    code=$(ingest badopt "$param" "@$TMP/ints.csv")
    expect_error "refused: $param" 400 "$msg" "$code"
}
bad_option "quote=ab" "quote must be one visible ASCII character"
bad_option "escape=" "escape must be one visible ASCII character"
bad_option "comment=%0A" "comment must be one visible ASCII character"
bad_option "decimal_separator=%3B" "decimal_separator must be '.' or ','"
bad_option "dateformat=dd-mm" "dateformat must be a strftime format"
bad_option "timestampformat=$(printf '%%25Y%.0s' $(seq 20))" "timestampformat must be a strftime format"
bad_option "encoding=ebcdic" "encoding must be utf-8, utf-16 or latin-1"
bad_option "skip=-1" "skip must be a number of lines"
bad_option "skip=x" "skip must be a number of lines"
bad_option "nullstr=a,b,c,d,e,f,g,h,i" "nullstr takes at most 8"
bad_option "nullstr=a,,b" "nullstr has an empty item"
bad_option "nullstr=%01" "nullstr must not hold control characters"
bad_option "format=ndjson&nullstr=NA" "CSV options"
expect_eq "no table from refused options" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/tables/badopt")" 404

# the streamed path honours them: a long file with ; and a decimal comma
awk 'BEGIN { print "id;amount;note;pad"; for (i = 1; i <= 120000; i++)
    printf "%d;%d,5;NA;padding to make the file longer than the head\n", i, i }' \
    >"$TMP/eu-long.csv"
code=$(ingest eulong "delimiter=%3B&decimal_separator=%2C&nullstr=NA" "@$TMP/eu-long.csv")
expect_status "a long file with options" 200 "$code"
expect_eq "it was converted as it arrived" "$(jv 'd.get("streamed")')" true
expect_eq "decimal comma and null string on the streamed path" \
    "$(csvq 'SELECT amount, note FROM eulong WHERE id = 120000')" "120000.5,"

# the command line's flags
check "tarn ingest with CSV flags" "$TARN" ingest eu_cli "$TMP/eu.csv" --delimiter ';' \
    --decimal-separator , --nullstr 'NA,-,empty'
expect_eq "the CLI's decimals" "$(csvq 'SELECT price FROM eu_cli ORDER BY id')" $'1.5\n2.25'
expect_eq "the CLI's null strings" "$(csvq 'SELECT count(*) FROM eu_cli WHERE note IS NULL')" 2
check_fails "a bad flag value is refused, naming the flag" 2 "--decimal-separator: decimal_separator must be" \
    "$TARN" ingest eu_cli "$TMP/eu.csv" --decimal-separator ';'
check_fails "--header takes true or false" 2 "--header must be true or false" \
    "$TARN" ingest eu_cli "$TMP/eu.csv" --header=maybe
"$TARN" ingest --help >"$TMP/help" 2>&1
expect_eq "tarn ingest --help lists the CSV flags" \
    "$(grep -c -e '--nullstr' -e '--decimal-separator' -e '--encoding' "$TMP/help")" 3
check "tarn ingest --remote passes the flags" "$TARN" ingest eu_remote "$TMP/eu.csv" --remote "$BASE" \
    --delimiter ';' --decimal-separator , --nullstr 'NA,-,empty'
expect_eq "the remote ingest used them" "$(csvq 'SELECT price FROM eu_remote ORDER BY id')" $'1.5\n2.25'

#---- 3. a table remembers its dialect ----
printf 'id,d\n1,03/01/2024\n' >"$TMP/d1.csv"
printf 'id,d\n2,04/02/2024\n' >"$TMP/d2.csv"
code=$(ingest md "dateformat=$(urlenc '%m/%d/%Y')" "@$TMP/d1.csv")
expect_status "created with dateformat=%m/%d/%Y" 200 "$code"
expect_eq "the format is a table property" "$(prop md tarn.csv.dateformat)" "%m/%d/%Y"
code=$(ingest md "" "@$TMP/d2.csv")
expect_status "a second file without the option" 200 "$code"
expect_eq "both files read month-first" "$(csvq 'SELECT d FROM md ORDER BY id')" $'2024-03-01\n2024-04-02'
code=$(ingest md "dateformat=$(urlenc '%d/%m/%Y')" "@$TMP/d2.csv")
expect_status "the request overrides the remembered format" 200 "$code"
expect_eq "that file read day-first" "$(csvq 'SELECT d FROM md WHERE id = 2 ORDER BY d')" $'2024-02-04\n2024-04-02'
# a format the sniffer found is remembered as well
printf 'id,d\n1,12/24/2024\n' >"$TMP/s1.csv"
code=$(ingest sd "" "@$TMP/s1.csv")
expect_eq "the sniffed format is kept" "$(prop sd tarn.csv.dateformat)" "%m/%d/%Y"
code=$(ingest sd "" "@$TMP/d1.csv")
expect_status "an ambiguous date later" 200 "$code"
expect_eq "03/01/2024 read as the table reads dates" "$(csvq 'SELECT d FROM sd ORDER BY id, d')" \
    $'2024-03-01\n2024-12-24'
printf 'id,d\n3,2024-05-06\n' >"$TMP/iso.csv"
code=$(ingest sd "" "@$TMP/iso.csv")
expect_status "an ISO date after a remembered format" 200 "$code"
expect_eq "read as ISO" "$(csvq 'SELECT d FROM sd WHERE id = 3')" 2024-05-06
# multipart fields carry the options too
code=$(call POST /ingest/mp -H 'Expect:' --form-string 'delimiter=;' --form-string 'decimal_separator=,' --form-string 'nullstr=NA,empty' \
    -F "file=@$TMP/eu.csv;type=text/csv")
expect_status "CSV options as multipart fields" 200 "$code"
expect_eq "the fields were used" "$(csvq 'SELECT price FROM mp ORDER BY id')" $'1.5\n2.25'
code=$(call POST /ingest/mp -H 'Expect:' -F 'quote=xy' -F "file=@$TMP/eu.csv;type=text/csv")
expect_error "a bad multipart field is refused" 400 "quote must be one visible ASCII character" "$code"
# and the command line uses them too
"$TARN" ingest md "$TMP/d1.csv" >/dev/null 2>&1
expect_eq "the CLI reads with the remembered format" "$(csvq 'SELECT count(*) FROM md WHERE d = DATE '"'2024-03-01'"'')" 2
# the dialect: delimiter, decimal separator and null strings kept by eu
expect_eq "eu keeps its delimiter, decimal separator and null strings" \
    "$(prop eu tarn.csv.delimiter) $(prop eu tarn.csv.decimal_separator) $(prop eu tarn.csv.nullstr)" "; , NA,-,empty"
printf 'id;price;note\n4;3,75;NA\n' >"$TMP/eu2.csv"
code=$(ingest eu "" "@$TMP/eu2.csv")
expect_status "a later file without options" 200 "$code"
expect_eq "read with the table's dialect" "$(csvq 'SELECT price, note FROM eu WHERE id = 4')" "3.75,"

finish
