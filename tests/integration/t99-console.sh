#!/usr/bin/env bash
# t99-console.sh - the browser console in headless Chromium (Debian's chromium, driven by
# playwright-core from npm): upload with progress, tables, schema, SQL grid, snapshots and their
# differences, rollback, EXPLAIN counts, charts, errors, sign-in, a 100k-row scroll. Screenshots
# go to build/test-artifacts/console/. Local warehouse only (the console is the same on S3).
. "$(dirname "$0")/lib.sh"

BROWSER_DIR=$ROOT/build/browser
ARTIFACTS=$ROOT/build/test-artifacts/console
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
    skip "console in a browser" "no $CHROMIUM (apt-get install chromium; scripts/install-deps.sh does)"
    finish; exit
fi
if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
   [ ! -f "$BROWSER_DIR/node_modules/puppeteer-core/package.json" ]; then
    mkdir -p "$BROWSER_DIR"
    cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$BROWSER_DIR/"
    (cd "$BROWSER_DIR" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
        { bad "npm could not install playwright-core"; finish; exit; }
fi
cp "$ROOT/tests/browser/console.mjs" "$ROOT/tests/browser/firefox.mjs" "$BROWSER_DIR/"

printf 'id,region,amount\n1,EU,10.5\n2,US,20\n3,EU,7.25\n' >"$TMP/first.csv"
printf 'id,region,amount,note\n4,APAC,1.5,hello\n5,APAC,2,\n' >"$TMP/second.csv"

start_server "$(wh_new console)"
plain=$BASE
start_server "$(wh_new console-token)" --token s3cret
with_token=$BASE

# the page and its files are served, with a policy that allows no inline or foreign scripts
check "GET / answers the console page" \
    bash -c "curl -sf '$plain/' | grep -q '<script type=\"module\" src=\"/console/app.js\">'"
check "the console's files carry a content security policy" \
    bash -c "curl -sfI '$plain/console/app.js' | grep -qi \"content-security-policy: default-src 'none'; script-src 'self'\""
check "the console is served without a token; the API still needs one" \
    bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$with_token/') = 200 ] &&
             [ \$(curl -s -o /dev/null -w '%{http_code}' '$with_token/tables') = 401 ]"
check "an unknown console file is a 404" \
    bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$plain/console/../catalog.db') = 404 ]"
BASE=$plain
status_is "an ingest dry run answers the inferred schema and first rows" 200 \
    call POST "/ingest/dry?dry_run=true" --data-binary @"$TMP/first.csv" -H 'Content-Type: text/csv'
expect_eq "with tarn's types" "$(jv '[f["type"] for f in d["schema"]["fields"]]')" '["long", "string", "double"]'
expect_eq "and the rows" "$(jv 'd["rows"][0]')" '["1", "EU", "10.5"]'
status_is "and commits nothing" 404 call GET /tables/dry
python3 -c 'print("[" * 20000)' >"$TMP/deep.json"
status_is "a dry run of a 20,000-deep JSON file is refused like an ingest" 400 \
    call POST "/ingest/dry?dry_run=true" --data-binary @"$TMP/deep.json" -H 'Content-Type: application/json'
status_is "and the server still answers" 200 call GET /health
bytes=$(for f in / /console/app.js /console/api.js /console/grid.js /console/editor.js /console/chart.js /console/console.css; do
    curl -s --compressed "$plain$f"; done | gzip -9 | wc -c)
echo "# console first load: $bytes bytes gzip-compressed"
check "the console's first load is under 500 KB compressed" test "$bytes" -lt 512000

# count_browser OUT WHAT: each "ok"/"FAIL" line of a browser script's output as one check
count_browser() {
    while IFS= read -r line; do
        case $line in
        "ok   "*) ok "${line#ok   }" ;;
        "FAIL "*) bad "${line#FAIL }" ;;
        "# "*) echo "$line" ;;
        esac
    done <"$1"
    if ! grep -qE '^(ok|FAIL) ' "$1"; then
        bad "$2 ran"; sed 's/^/    /' "$1" | tail -20
    fi
}
node "$BROWSER_DIR/console.mjs" "$plain" "$ARTIFACTS" "$TMP/first.csv" "$TMP/second.csv" \
    "$with_token" s3cret >"$TMP/browser.out" 2>&1
count_browser "$TMP/browser.out" "the Chromium test"

# the same paths in Firefox, on fresh servers (Debian's firefox-esr over WebDriver BiDi)
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
if [ -x "$FIREFOX" ]; then
    start_server "$(wh_new console-firefox)"
    ff_plain=$BASE
    start_server "$(wh_new console-firefox-token)" --token s3cret
    FIREFOX=$FIREFOX node "$BROWSER_DIR/firefox.mjs" "$ff_plain" "$ARTIFACTS" "$TMP/first.csv" \
        "$BASE" s3cret >"$TMP/firefox.out" 2>&1
    count_browser "$TMP/firefox.out" "the Firefox test"
else
    skip "console in Firefox" "no $FIREFOX (apt-get install firefox-esr; scripts/install-deps.sh does)"
fi
finish
