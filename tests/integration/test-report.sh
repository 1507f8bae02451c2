#!/usr/bin/env bash
# test-report.sh -- the situation report (issue 20, item 4) on records that
# came in through a real sync: `fieldsyncd report` counts by district and
# month (and any non-sensitive question), cells from 1 to 4 shown "<5",
# complementary suppression so that no hidden cell is the difference of
# shown ones, --from/--to on the form's date, sensitive and unknown
# dimensions refused, CSV and JSON, the report in the audit trail.
#
# usage: test-report.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-report-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
"$D" -d data form publish "$SRC/schema/forms/labor_inspection.json" >/dev/null 2>&1 || fail "publish"
"$D" -d data device add --name dev --role field --team north 2>/dev/null |
	sed -n 's/^token: //p' >tok
"$D" -d data device add --name hq --role reviewer --team hq --all-teams 2>/dev/null |
	sed -n 's/^token: //p' >tok-hq
"$D" -d data device add --name south --role reviewer --team south 2>/dev/null |
	sed -n 's/^token: //p' >tok-south
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)
"$F" --db dev.db init --device dev >/dev/null
sync_dev() { "$F" --db dev.db sync --server "$URL" --token-file tok --cacert cert.pem -q; }
sync_dev || fail "first sync"

rec() { # district date sector [more --set ...]
	local d=$1 date=$2 sector=$3
	shift 3
	"$F" --db dev.db record new labor_inspection --set worksite_name=Site --set district="$d" \
		--set sector="$sector" --set inspection_date="$date" --set referral_decision=none \
		--set interview_notes="SECRET-NOTE" "$@" >/dev/null 2>&1 || fail "record $d $date"
}
# cayo, October: 7 (3 with deception and isolation: medium or high risk)
for i in 1 2 3; do rec cayo 2026-10-0$i fishing --set deception=yes --set isolation=yes --set debt_bondage=yes; done
for i in 4 5 6 7; do rec cayo 2026-10-0$i fishing; done
# cayo, November: 2; toledo, November: 6; belize, November: 1
rec cayo 2026-11-02 mining; rec cayo 2026-11-03 mining --set deception=yes
for i in 1 2 3 4 5 6; do rec toledo 2026-11-1$i agriculture --set withholding_of_wages=yes; done
rec belize 2026-11-20 construction --set retention_of_documents=yes --set documents_held_by=employer
# one deleted record: not counted
X=$("$F" --db dev.db record new labor_inspection --set worksite_name=Gone --set district=belize \
	--set sector=mining --set inspection_date=2026-11-21 --set referral_decision=none 2>/dev/null)
"$F" --db dev.db record delete "$X" >/dev/null 2>&1 || fail "delete"
sync_dev || fail "sync"

"$D" -d data report --form labor_inspection --format json --out r.json 2>err.txt || fail "report: $(cat err.txt)"
grep -q "report of 16 records of labor_inspection" err.txt || fail "report says: $(cat err.txt)"
python3 - <<'PY' || fail "report by district,month: $(cat r.json)"
import json
r = json.load(open("r.json"))
assert r["by"] == ["district", "month"] and r["threshold"] == 5 and r["date"] == "inspection_date", r
cols = r["columns"]
assert cols[0] == "records" and "deception" in cols and "risk_level=high" in cols, cols
assert "risk_level=(none)" in cols and "referral_decision=none" in cols, cols
rows = {(x["by"]["district"], x["by"]["month"]): x["cells"] for x in r["rows"]}
assert set(rows) == {("belize", "2026-11"), ("cayo", "2026-10"), ("cayo", "2026-11"), ("toledo", "2026-11")}, rows
c = lambda key, col: rows[key][cols.index(col)]
assert c(("cayo", "2026-10"), "records") == 7 and c(("toledo", "2026-11"), "records") == 6
assert c(("belize", "2026-11"), "records") == "<5" and c(("cayo", "2026-11"), "records") == "<5"
assert r["total"][0] == 16, r["total"]
assert c(("toledo", "2026-11"), "withholding_of_wages") == 6
assert c(("cayo", "2026-10"), "deception") == "<5"   # 3
assert c(("cayo", "2026-10"), "abusive_conditions") == 0  # nobody: shown
# Every count from 1 to 4 hidden; no line with exactly one hidden cell.
table = list(rows.values()) + [r["total"]]
for row in table:
    for v in row:
        assert v == "<5" or v == 0 or v >= 5, row
for j in range(len(cols)):
    assert sum(1 for row in table if row[j] == "<5") != 1, ("column", cols[j], table)
for prefix in ("risk_level=", "referral_decision="):
    members = [0] + [j for j, n in enumerate(cols) if n.startswith(prefix)]
    for row in table:
        assert sum(1 for j in members if row[j] == "<5") != 1, (prefix, row)
assert r["suppressed"] == sum(1 for row in table for v in row if v == "<5")
PY
pass "by district and month: 1 to 4 shown <5, zero shown, no lone hidden cell on a line, deleted records left out"

"$D" -d data report --form labor_inspection --by sector --from 2026-11-01 --to 2026-11-30 >r.csv 2>err.txt ||
	fail "report csv: $(cat err.txt)"
grep -q "report of 9 records" err.txt || fail "--from/--to: $(cat err.txt)"
head -1 r.csv | grep -q '^sector,records,' || fail "csv header: $(head -1 r.csv)"
grep -q '^agriculture,6,' r.csv || fail "agriculture row: $(cat r.csv)"
grep -q '^mining,<5,' r.csv || fail "mining row: $(cat r.csv)"
grep -q '^Total,9,' r.csv || fail "total row: $(cat r.csv)"
if grep -q "fishing" r.csv; then fail "October records in a November report"; fi
"$D" -d data report --form labor_inspection >r0.csv 2>/dev/null || fail "default report"
grep -q '^Total,,16,' r0.csv || fail "total row of two dimensions: $(tail -1 r0.csv)"
pass "by sector in CSV, --from/--to on the inspection date, a total row"

"$D" -d data report --form labor_inspection --by risk_level,district --format json --out r2.json 2>/dev/null ||
	fail "report by a calculated question"
python3 -c '
import json; r = json.load(open("r2.json"))
keys = {(x["by"]["risk_level"], x["by"]["district"]) for x in r["rows"]}
assert ("high", "cayo") in keys and ("low", "toledo") not in keys and ("medium", "toledo") in keys, keys' ||
	fail "by risk level: $(cat r2.json)"
pass "by a calculated question (risk level)"

for bad in "interview_notes:sensitive" "employer_contact_phone:sensitive" "nosuch:has no question" \
	"interviews:does not hold one value" "district,district:given twice"; do
	dim=${bad%%:*}
	want=${bad#*:}
	if "$D" -d data report --form labor_inspection --by "$dim" >out.txt 2>err.txt; then
		fail "--by $dim accepted"
	fi
	grep -q "$want" err.txt || fail "--by $dim: $(cat err.txt)"
	[ ! -s out.txt ] || fail "--by $dim printed a report"
done
if "$D" -d data report --form nosuch 2>err.txt; then fail "an unknown form"; fi
grep -q "no form 'nosuch' is published" err.txt || fail "unknown form: $(cat err.txt)"
if "$D" -d data report --form labor_inspection --from 2026-13-01 2>err.txt; then fail "a bad date"; fi
grep -q "YYYY-MM-DD" err.txt || fail "bad date: $(cat err.txt)"
pass "sensitive, unknown, repeated and multi-valued dimensions, unknown forms and bad dates refused"

if grep -q "SECRET-NOTE" r.json r.csv r2.json; then fail "a sensitive value in a report"; fi
n=$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM audit WHERE action = 'report'")
[ "$n" = 4 ] || fail "reports in the audit trail: $n"
sqlite3 data/fieldsyncd.db "SELECT detail FROM audit WHERE action = 'report'" | grep -q "by=sector from=2026-11-01 to=2026-11-30 records=9" ||
	fail "audit detail: $(sqlite3 data/fieldsyncd.db "SELECT detail FROM audit WHERE action = 'report'")"
pass "no sensitive value in any report; each report in the audit trail"
# The review page's report: GET /v1/review/report, over the reviewer's teams, audited.
get() { # token-file query -> body in got.json, prints the HTTP code
	curl -s -o got.json -w '%{http_code}' --cacert cert.pem -H "Authorization: Bearer $(cat "$1")" \
		"$URL/v1/review/report?$2"
}
[ "$(get tok-hq 'form=labor_inspection&by=district')" = 200 ] || fail "report API: $(cat got.json)"
python3 -c '
import json; r = json.load(open("got.json"))
assert r["total"][0] == 16 and r["by"] == ["district"], r
rows = {x["by"]["district"]: x["cells"][0] for x in r["rows"]}
# belize (1) hidden; toledo (6) hidden too, or 16 - 9 - 6 would give belize away.
assert rows == {"belize": "<5", "cayo": 9, "toledo": "<5"}, rows' || fail "report API body: $(cat got.json)"
[ "$(get tok-south 'form=labor_inspection')" = 200 ] || fail "report API, south: $(cat got.json)"
python3 -c '
import json; r = json.load(open("got.json"))
assert r["total"][0] == 0 and r["rows"] == [], r' || fail "a reviewer of team south counted north records: $(cat got.json)"
[ "$(get tok-hq 'form=labor_inspection&by=interview_notes')" = 400 ] || fail "sensitive dimension over the API"
grep -q "sensitive" got.json || fail "API error: $(cat got.json)"
[ "$(get tok 'form=labor_inspection')" = 403 ] || fail "a field device read the report"
[ "$(get tok-hq 'form=nosuch')" = 404 ] || fail "unknown form over the API: $(cat got.json)"
[ "$(get tok-hq 'form=labor_inspection&format=csv&by=sector')" = 200 ] || fail "csv over the API"
grep -q '^Total,16,' got.json || fail "csv over the API: $(cat got.json)"
[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM audit WHERE action = 'review.report' AND actor = 'hq'")" = 2 ] ||
	fail "API reports not audited"
pass "GET /v1/review/report: over the reviewer's teams only, sensitive dimensions refused, field devices refused, audited"
kill "$DPID"
wait "$DPID" || true
DPID=
echo "test-report: all passed"
