"""delta_expected.py - for the Delta suites (t100, t106): what a fixture of ../shared/delta-fixtures
is expected to hold and what tarn answers, for the check a suite runs through lib.sh's
delta_compare (arguments: EXPECTED_JSON TABLE TARN). The check imports exp (the fixture's
_expected JSON), tbl (its tarn table), sql and canon, and prints "PASS what" or "FAIL what"."""
import json
import subprocess
import sys

exp = json.load(open(sys.argv[1]))
tbl, tarn = sys.argv[2], sys.argv[3]


def sql(q):
    """The rows of tarn's answer to q, as dicts; RuntimeError with tarn's message on a failure."""
    r = subprocess.run([tarn, "sql", q, "--format", "ndjson"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr.strip())
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def norm(v):
    """v with every float, also inside lists and structs, rounded to 6 places."""
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def canon(rows):
    """rows in a form to compare regardless of their order."""
    return sorted(json.dumps(norm(r), sort_keys=True) for r in rows)
