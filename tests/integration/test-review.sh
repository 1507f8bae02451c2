#!/usr/bin/env bash
# test-review.sh -- the headquarters review API through the real fieldsyncd
# over HTTPS on 127.0.0.1, fed by real devices (the fieldsync tool).
#
# Devices record and sync, including a concurrent edit that makes a
# conflict, a record whose text fields hold XSS payloads and one holding a
# spreadsheet formula.  Then, as a reviewer: auth (401/403), security
# headers, the page's static files, list filters and paging, one record
# with history and masked sensitive values, an audited reveal, a review
# status change kept in the history, a conflict resolution that becomes a
# change a device pulls, CSV and JSON exports over a form with two versions
# (formula cells escaped, one row per record), `fieldsyncd export` and
# `fieldsyncd audit`, and no field value in the audit trail or the log.
#
# usage: test-review.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-review-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
# shellcheck source=../pg/store-env.sh
. "$SRC/tests/pg/store-env.sh" # the PostgreSQL store under tests/pg/with-pg.sh

fail() {
	echo "FAIL: $*" >&2
	[ -f body ] && { echo "--- last body:" >&2; head -c 600 body >&2; echo >&2; }
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

SENTINEL="Sentinel-Name-4b7e91"    # a sensitive value
NOTE_TEXT="checked with the team lead"
XSS1='<script>window.__xss=1</script>'
XSS2='"><img src=x onerror="window.__xss=2">'
FORMULA="=cmd|' /C calc'!A0"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

token() { # name role team [more device add options]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}

"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/border_screening.json" >/dev/null
for n in a1 a2; do token $n field north; done
token b1 field south
token spare field north
token rev reviewer hq --all-teams
token adm admin hq

"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)

# get PATH [token-name] [curl args...]: prints the status; body in ./body,
# headers in ./headers.
get() {
	local path=$1 tok=${2:-rev}
	shift 2 || shift $#
	local auth=()
	[ "$tok" != none ] && auth=(-H "Authorization: Bearer $(cat "tok-$tok")")
	curl -s -o body -D headers -w '%{http_code}' --cacert cert.pem "${auth[@]}" "$@" "$URL$path"
}
post() { # PATH JSON [token-name]
	get "$1" "${3:-rev}" -X POST -H 'Content-Type: application/json' --data-binary "$2"
}
expect() { # status what cmd...
	local want=$1 what=$2 got
	shift 2
	got=$("$@")
	[ "$got" = "$want" ] || fail "$what: expected HTTP $want, got $got"
}
# py EXPR: evaluates EXPR with j = the JSON in ./body; prints the result.
py() { python3 -c "import json,sys; j=json.load(open('body')); print($1)"; }

sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }
new_json() { # db json-file
	"$F" --db "$1" record new labor_inspection --json "$2"
}

# --- Devices record and sync ------------------------------------------

for n in a1 a2 b1; do
	"$F" --db $n.db init --device $n >/dev/null
done
for n in a1 a2; do "$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null; done
"$F" --db b1.db forms import "$SRC/tests/fixtures/forms/border_screening.json" >/dev/null

python3 - "$SENTINEL" "$XSS1" "$XSS2" "$FORMULA" <<'PY'
import json, sys
sentinel, xss1, xss2, formula = sys.argv[1:]
base = {"sector": "fishing", "inspection_date": "2026-11-20", "referral_decision": "monitor"}
def write(name, extra):
    v = dict(base); v.update(extra)
    json.dump(v, open(name, "w"))
write("r1.json", {"worksite_name": "Alpha farm", "retention_of_documents": True,
                  "interviewee_name": sentinel, "number_of_workers": 10,
                  "location": {"lat": 17.25, "lon": -88.77}})
write("r2.json", {"worksite_name": xss1, "referral_agency": xss2, "inspector_id": "@attack"})
write("r3.json", {"worksite_name": formula, "referral_agency": "+SUM(1,2)",
                  "interview_notes": "=notes", "inspector_id": "-2+3", "number_of_workers": -0})
PY
R1=$(new_json a1.db r1.json)
R2=$(new_json a1.db r2.json)
R3=$(new_json a1.db r3.json)
R4=$("$F" --db b1.db record new border_screening --set checkpoint="South gate" \
	--set screening_time=2026-11-20T10:00:00Z --set document_holder=companion \
	--set is_minor=false --set referral=secondary_interview --set traveller_name="$SENTINEL")
for n in a1 b1 a2; do sync_dev $n || fail "first sync of $n"; done

# A concurrent edit: a1 and a2 change the same field without seeing each other.
"$F" --db a1.db record edit "$R1" --set number_of_workers=100 >/dev/null
"$F" --db a2.db record edit "$R1" --set number_of_workers=200 >/dev/null
for n in a1 a2 a1; do sync_dev $n || fail "sync of $n"; done
[ "$(srv_sql "SELECT open_conflicts FROM records WHERE id = '$R1'")" = 1 ] ||
	fail "the concurrent edit made no conflict"
pass "devices recorded 4 records and made 1 conflict"

# --- Authentication, headers, the page --------------------------------

expect 401 "records without a token" get /v1/review/records none
expect 403 "records with a field token" get /v1/review/records a1
expect 403 "record with a field token" get "/v1/review/records/$R1" a1
expect 403 "export with a field token" get "/v1/review/export?form=labor_inspection" a1
expect 403 "status with a field token" post "/v1/review/records/$R1/status" '{"status":"reviewed"}' a1
expect 403 "reveal with a field token" post "/v1/review/records/$R1/reveal" '{}' a1
expect 403 "resolve with a field token" post "/v1/review/records/$R1/resolve" '{"field":"x","value":1}' a1
expect 401 "reveal without a token" post "/v1/review/records/$R1/reveal" '{}' none
expect 200 "records with an admin token" get /v1/review/records adm
expect 200 "records with a reviewer token" get /v1/review/records rev
for h in "content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" \
	"x-content-type-options: nosniff" "x-frame-options: DENY" "referrer-policy: no-referrer"; do
	grep -qiF "$h" headers || fail "API answer lacks header: $h"
done
expect 200 "the page without a token" get / none
grep -qi '^content-type: text/html' headers || fail "/ is not HTML"
grep -qiF "content-security-policy: default-src 'self'" headers || fail "the page has no CSP"
grep -qi '^x-frame-options: DENY' headers || fail "the page may be framed"
grep -q '<script src="/app.js"' body || fail "the page does not load app.js"
grep -qiE '<script>|<script [^>]*>[^<]|on(click|load|error)=|https?://' body &&
	fail "the page has inline script, inline handlers or an outside URL"
expect 200 "app.js" get /app.js none
grep -qi '^content-type: text/javascript' headers || fail "app.js content type"
grep -q 'innerHTML' body && fail "app.js uses innerHTML"
expect 200 "app.css" get /app.css none
grep -qi '^content-type: text/css' headers || fail "app.css content type"
expect 404 "unknown static file" get /nothing.js none
pass "401 without token, 403 for field tokens, security headers, page served without data"

# --- List and filters -------------------------------------------------

count() { # query -> total
	expect 200 "list $1" get "/v1/review/records?$1"
	py 'j["total"]'
}
[ "$(count '')" = 4 ] || fail "expected 4 records"
[ "$(count form=labor_inspection)" = 3 ] || fail "form filter"
[ "$(count form=border_screening)" = 1 ] || fail "form filter (border)"
[ "$(count team=south)" = 1 ] || fail "team filter"
[ "$(count device=b1)" = 1 ] || fail "device filter (creator)"
[ "$(count device=a2)" = 1 ] || fail "device filter (author of a change)"
[ "$(py 'j["records"][0]["id"]')" = "$R1" ] || fail "device=a2 should find the record it edited"
[ "$(count conflicts=1)" = 1 ] || fail "conflicts filter"
[ "$(py 'j["records"][0]["id"]')" = "$R1" ] || fail "conflicts filter found the wrong record"
[ "$(count conflicts=0)" = 3 ] || fail "no-conflicts filter"
[ "$(count retention_of_documents=true)" = 1 ] || fail "indicator filter (NAME=true)"
[ "$(count flag=retention_of_documents)" = 1 ] || fail "indicator filter (flag=NAME)"
[ "$(count 'flag=retention_of_documents&flag=deception')" = 0 ] || fail "two indicators"
# Text search (issue 20): values that are not sensitive, ASCII case ignored.
[ "$(count q=alpha)" = 1 ] || fail "search"
[ "$(count q=ALPHA%20Farm)" = 1 ] || fail "search ignores case"
[ "$(count q=south%20gate)" = 1 ] || fail "search a checkpoint"
[ "$(count 'q=alpha&form=border_screening')" = 0 ] || fail "search with another filter"
[ "$(count "q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$SENTINEL")")" = 0 ] ||
	fail "search found a sensitive value"
expect 400 "empty search" get '/v1/review/records?q='
expect 400 "search too long" get "/v1/review/records?q=$(printf 'x%.0s' $(seq 101))"
# Order: the form's date, newest first (the screening at 10:00 after the inspections' day).
expect 200 "sort by date" get '/v1/review/records?sort=date'
[ "$(py 'j["records"][0]["id"]')" = "$R4" ] || fail "sort=date: the screening first"
expect 200 "sort by risk" get '/v1/review/records?sort=risk&form=labor_inspection'
[ "$(py 'j["total"]')" = 3 ] || fail "sort=risk"
expect 400 "bad sort" get '/v1/review/records?sort=colour'
expect 200 "list values" get "/v1/review/records?form=labor_inspection&flag=retention_of_documents"
[ "$(py 'j["records"][0]["values"]["sector"], j["records"][0]["values"]["inspection_date"]')" = "fishing 2026-11-20" ] ||
	fail "a list row's values at a glance: $(cat body)"
# The map's points (issue 20): located records of a form, without any sensitive value.
expect 200 "points" get "/v1/review/points?form=labor_inspection"
[ "$(py 'len(j["points"]), j["points"][0]["id"], j["points"][0]["lat"], j["without_location"], j["field"]')" = \
	"1 $R1 17.25 2 location" ] || fail "points: $(cat body)"
expect 400 "points without a form" get "/v1/review/points"
expect 404 "points of an unknown form" get "/v1/review/points?form=nosuch"
[ "$(count status=new)" = 4 ] || fail "status filter"
today=$(date -u +%F)
[ "$(count "from=$today")" = 4 ] || fail "date from today"
[ "$(count "from=$(date -u -d tomorrow +%F)")" = 0 ] || fail "date from tomorrow"
[ "$(count "to=$(date -u -d yesterday +%F)")" = 0 ] || fail "date to yesterday"
[ "$(count "date=created&from=${today}T00:00:00Z&to=$today")" = 4 ] || fail "created range"
[ "$(count 'form=labor_inspection&team=north&conflicts=0')" = 2 ] || fail "combined filters"
expect 200 "paging" get '/v1/review/records?limit=3&offset=0'
[ "$(py 'len(j["records"]), j["total"]')" = "3 4" ] || fail "page 1"
expect 200 "paging" get '/v1/review/records?limit=3&offset=3'
[ "$(py 'len(j["records"])')" = 1 ] || fail "page 2"
expect 400 "unknown parameter" get '/v1/review/records?colour=red'
expect 400 "bad status" get '/v1/review/records?status=done'
expect 400 "bad date" get '/v1/review/records?from=yesterday'
# Impossible dates and times are refused as well as malformed ones (issue 14).
for bad in from=2026-13-01 to=2026-12-32 from=2026-02-30 from=2026-11-20T25:00:00Z \
	from=2026-11-20T10:61:00Z to=2026-11-20T10:00:60Z from=2026-11-20T10:00:00+02:00; do
	expect 400 "impossible date $bad" get "/v1/review/records?$bad"
	expect 400 "impossible date $bad (export)" get "/v1/review/export?form=labor_inspection&$bad"
done
expect 200 "leap day" get '/v1/review/records?from=2024-02-29'
expect 400 "bad limit" get '/v1/review/records?limit=100000'
expect 200 "list row" get "/v1/review/records?form=labor_inspection&flag=retention_of_documents"
[ "$(py 'j["records"][0]["summary"]')" = "Alpha farm" ] || fail "summary"
[ "$(py 'j["records"][0]["flags"]')" = "['retention_of_documents']" ] || fail "flags of a row"
expect 200 "list" get /v1/review/records
grep -q "$SENTINEL" body && fail "the list shows a sensitive value"
pass "filters (form, team, device, dates, status, conflicts, indicators, text search), order and paging"

# --- One record: history, conflicts, masking ---------------------------

expect 200 "record" get "/v1/review/records/$R1"
grep -q "$SENTINEL" body && fail "the record shows a sensitive value unmasked"
python3 - "$R1" <<'PY' || fail "record R1 content"
import json, sys
j = json.load(open("body"))
r1 = sys.argv[1]
assert j["record"]["id"] == r1 and j["record"]["open_conflicts"] == 1, j["record"]
f = {x["name"]: x for x in j["fields"]}
assert f["interviewee_name"]["sensitive"] and f["interviewee_name"]["masked"], f["interviewee_name"]
assert f["interviewee_name"]["value"] is None
assert f["worksite_name"]["value"] == "Alpha farm"
assert f["worksite_name"]["device"] == "a1"
h = j["history"]
assert len(h) == 3, len(h)
assert [x["device"] for x in h] == ["a1", "a1", "a2"], [x["device"] for x in h]
assert all(len(x["hlc"]) == 33 and x["received_at"] for x in h)
assert h[0]["fields"]["interviewee_name"] is None and "interviewee_name" in h[0]["masked"]
c = j["conflicts"]
assert len(c) == 1 and c[0]["field"] == "number_of_workers", c
assert c[0]["current"]["value"] in (100, 200) and len(c[0]["candidates"]) == 1
assert {c[0]["current"]["value"], c[0]["candidates"][0]["value"]} == {100, 200}
PY
expect 404 "unknown record" get "/v1/review/records/$(printf '%032d' 0)"
expect 404 "malformed record id" get "/v1/review/records/nothex"
expect 200 "record with XSS text" get "/v1/review/records/$R2"
python3 - "$XSS1" "$XSS2" <<'PY' || fail "XSS payload not returned verbatim as JSON text"
import json, sys
j = json.load(open("body"))
f = {x["name"]: x["value"] for x in j["fields"]}
assert f["worksite_name"] == sys.argv[1] and f["referral_agency"] == sys.argv[2]
PY
grep -qi '^content-type: application/json' headers || fail "record answer is not JSON"
pass "record: values, masked sensitive value, history with devices and stamps, conflicts"

# --- Reveal -------------------------------------------------------------

expect 200 "reveal" post "/v1/review/records/$R1/reveal" '{}'
[ "$(py 'j["fields"]["interviewee_name"]')" = "$SENTINEL" ] || fail "reveal did not return the value"
[ "$(py 'sorted(j["fields"])')" = "['interviewee_name']" ] || fail "reveal returned non-sensitive values"
[ "$(py 'j["history"][0]["fields"]["interviewee_name"]')" = "$SENTINEL" ] || fail "reveal history"
expect 404 "reveal of an unknown record" post "/v1/review/records/$(printf '%032d' 0)/reveal" '{}'
pass "reveal returns the sensitive values only"

# --- Review status ----------------------------------------------------------

expect 200 "status" post "/v1/review/records/$R1/status" "{\"status\":\"reviewed\",\"note\":\"$NOTE_TEXT\"}"
[ "$(py 'j["review_status"]')" = reviewed ] || fail "status answer"
expect 200 "status" post "/v1/review/records/$R2/status" '{"status":"follow_up"}'
expect 400 "status new" post "/v1/review/records/$R1/status" '{"status":"new"}'
expect 400 "status unknown" post "/v1/review/records/$R1/status" '{"status":"done"}'
expect 400 "status malformed" post "/v1/review/records/$R1/status" '{"status":'
expect 404 "status of an unknown record" post "/v1/review/records/$(printf '%032d' 0)/status" '{"status":"reviewed"}'
expect 405 "GET on status" get "/v1/review/records/$R1/status"
[ "$(count status=reviewed)" = 1 ] || fail "status filter after a change"
expect 200 "record" get "/v1/review/records/$R1"
python3 - "$NOTE_TEXT" <<'PY' || fail "status change not in the history"
import json, sys
j = json.load(open("body"))
assert j["record"]["review_status"] == "reviewed"
e = j["events"]
assert len(e) == 1 and e[0]["kind"] == "status" and e[0]["status"] == "reviewed", e
assert e[0]["note"] == sys.argv[1] and e[0]["actor"] == "rev" and e[0]["at"]
PY
pass "status change with a note, kept in the record's history"

# --- Assignment (issue 20): a reviewer's queue ------------------------------

expect 200 "assign to adm" post "/v1/review/records/$R2/assign" '{"to":"adm","note":"yours"}'
[ "$(py 'j["assigned_to"]')" = adm ] || fail "assign answer"
expect 200 "assign to me" post "/v1/review/records/$R3/assign" '{"to":"rev"}'
[ "$(count assigned=me)" = 1 ] || fail "my queue (rev)"
expect 200 "queue of adm" get '/v1/review/records?assigned=me' adm
[ "$(py 'j["total"], j["records"][0]["id"], j["records"][0]["assigned_to"]')" = "1 $R2 adm" ] || fail "adm's queue: $(cat body)"
[ "$(count assigned=adm)" = 1 ] || fail "assigned=NAME"
[ "$(count assigned=none)" = 2 ] || fail "assigned=none"
expect 400 "assign to a field device" post "/v1/review/records/$R1/assign" '{"to":"a1"}'
expect 400 "assign to nobody known" post "/v1/review/records/$R1/assign" '{"to":"ghost"}'
expect 400 "assign without to" post "/v1/review/records/$R1/assign" '{}'
expect 400 "assign to a bad name" post "/v1/review/records/$R1/assign" '{"to":"no way"}'
expect 400 "bad assigned filter" get '/v1/review/records?assigned=no%20way'
expect 404 "assign an unknown record" post "/v1/review/records/$(printf '%032d' 0)/assign" '{"to":"rev"}'
expect 200 "unassign" post "/v1/review/records/$R3/assign" '{"to":null}'
[ "$(count assigned=me)" = 0 ] || fail "unassigned record still in the queue"
expect 200 "record" get "/v1/review/records/$R3"
python3 - <<'PY' || fail "assignment not in the history: $(cat body)"
import json
j = json.load(open("body"))
assert j["record"]["assigned_to"] is None
kinds = [(e["kind"], e.get("status")) for e in j["events"]]
assert kinds == [("assign", "rev"), ("assign", None)], kinds
PY
[ "$(srv_sql "SELECT count(*) FROM audit WHERE action = 'review.assign'")" = 3 ] || fail "assignments not audited"
srv_sql "SELECT detail FROM audit WHERE action = 'review.assign' AND record_id = '$R2'" | grep -qx "to=adm note=yes" ||
	fail "assign audit detail"
pass "assignment: to a reviewer or admin only, my queue, unassign, in the history and the audit trail"

# --- Conflict resolution ------------------------------------------------

expect 200 "record" get "/v1/review/records/$R1"
LOSER=$(py 'j["conflicts"][0]["candidates"][0]["stamp"]')
LOSER_VALUE=$(py 'j["conflicts"][0]["candidates"][0]["value"]')
CUR=$(py 'j["conflicts"][0]["current"]["stamp"]')
expect 400 "resolve: both stamp and value" post "/v1/review/records/$R1/resolve" \
	"{\"field\":\"number_of_workers\",\"stamp\":\"$LOSER\",\"value\":5}"
expect 409 "resolve: no conflict on the field" post "/v1/review/records/$R1/resolve" \
	'{"field":"worksite_name","value":"x"}'
expect 400 "resolve: unknown field" post "/v1/review/records/$R1/resolve" '{"field":"colour","value":"x"}'
expect 400 "resolve: value breaks the form" post "/v1/review/records/$R1/resolve" \
	'{"field":"number_of_workers","value":-5}'
expect 409 "resolve: stamp not a candidate" post "/v1/review/records/$R1/resolve" \
	"{\"field\":\"number_of_workers\",\"stamp\":\"0000000000000001-0000000000000001\"}"
[ "$(srv_sql "SELECT count(*) FROM changes WHERE record_id = '$R1'")" = 3 ] ||
	fail "a refused resolution wrote a change"
expect 200 "resolve" post "/v1/review/records/$R1/resolve" \
	"{\"field\":\"number_of_workers\",\"stamp\":\"$LOSER\",\"note\":\"confirmed by phone\"}"
[ "$(py 'j["open_conflicts"]')" = 0 ] || fail "conflict still open after resolution"
RSTAMP=$(py 'j["hlc"]')
SERVER_DEV=$(srv_sql "SELECT value FROM server_meta WHERE key = 'hlc_device'")
[ "${RSTAMP#*-}" = "$SERVER_DEV" ] || fail "the resolution is not stamped by the server's device id"
[[ "$RSTAMP" > "$CUR" && "$RSTAMP" > "$LOSER" ]] || fail "the resolution stamp is not the newest"
expect 200 "record" get "/v1/review/records/$R1"
python3 - "$LOSER_VALUE" "$CUR" "$LOSER" <<'PY' || fail "resolution not visible as a change"
import json, sys
j = json.load(open("body"))
want, cur, loser = int(sys.argv[1]), sys.argv[2], sys.argv[3]
f = {x["name"]: x for x in j["fields"]}
assert f["number_of_workers"]["value"] == want, f["number_of_workers"]
assert f["number_of_workers"]["device"] == "fieldsyncd"
assert j["conflicts"] == [] and j["record"]["open_conflicts"] == 0
last = j["history"][-1]
assert last["device"] == "fieldsyncd" and last["op"] == "upsert"
assert last["fields"] == {"number_of_workers": want}, last
assert sorted(last["base"]["number_of_workers"]) == sorted([cur, loser]), last["base"]
assert j["events"][-1]["kind"] == "resolve" and j["events"][-1]["field"] == "number_of_workers"
PY
expect 409 "resolve again" post "/v1/review/records/$R1/resolve" \
	"{\"field\":\"number_of_workers\",\"stamp\":\"$LOSER\"}"
for n in a1 a2; do
	sync_dev $n || fail "sync of $n after the resolution"
	"$F" --db $n.db record show "$R1" >show.json
	python3 - "$LOSER_VALUE" <<'PY' || fail "device $n did not receive the resolution"
import json, sys
j = json.load(open("show.json"))
assert j["values"]["number_of_workers"] == int(sys.argv[1]), j["values"]
assert j["conflicts"] == [], j["conflicts"]
PY
done
[ "$(sqlite3 a1.db "SELECT count(*) FROM conflicts")" = 0 ] || fail "conflicts left on a1"
[ "$(sqlite3 b1.db "SELECT count(*) FROM records WHERE id = '$R1'")" = 0 ] ||
	fail "the resolution reached another team"
pass "resolution is a server-stamped change settling every head; devices pull it, conflicts gone"

# A device may not take the server's device id.
printf '{"device":"%s","batch":"steal","changes":[{"id":"%s","form":"labor_inspection","form_version":1,"op":"upsert","hlc":"0000000000010000-%s","fields":{"sector":"mining"}}]}' \
	"$SERVER_DEV" "$R1" "$SERVER_DEV" >steal.json
expect 403 "push with the server's device id" get /v1/push spare -X POST \
	-H 'Content-Type: application/json' --data-binary @steal.json
pass "no device can push as the server"

# --- Exports -------------------------------------------------------------

# A second version of the form, used by a device: exports show the union.
python3 - "$SRC/tests/fixtures/forms/labor_inspection.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["version"] += 1
f["fields"].append({"name": "follow_up_date", "type": "date", "label": "Follow-up visit"})
json.dump(f, open("labor_v2.json", "w"))
PY
"$D" -d data form publish labor_v2.json >/dev/null
sync_dev a2 || fail "sync to fetch form v2"
R5=$("$F" --db a2.db record new labor_inspection --set worksite_name="Beta mine" --set sector=mining \
	--set inspection_date=2026-11-21 --set referral_decision=none --set follow_up_date=2026-12-01)
sync_dev a2 || fail "sync of the v2 record"
V1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$SRC/tests/fixtures/forms/labor_inspection.json")
V2=$((V1 + 1))
[ "$(srv_sql "SELECT form_version FROM records WHERE id = '$R5'")" = $V2 ] ||
	fail "the device did not record with form version $V2"

expect 200 "CSV export" get "/v1/review/export?form=labor_inspection&format=csv"
grep -qi '^content-type: text/csv' headers || fail "CSV content type"
grep -qi '^content-disposition: attachment; filename="labor_inspection-.*\.csv"' headers ||
	fail "CSV has no attachment file name"
grep -qi '^transfer-encoding: chunked' headers || fail "CSV export is not streamed"
cp body export.csv
python3 - "$R1" "$R3" "$R5" "$FORMULA" "$XSS1" "$XSS2" "$LOSER_VALUE" "$V1" "$V2" <<'PY' || fail "CSV content"
import csv, sys
r1, r3, r5, formula, xss1, xss2, chosen, v1, v2 = sys.argv[1:]
raw = open("export.csv", newline="").read()
assert raw.endswith("\r\n") and "\r\n" in raw
rows = list(csv.DictReader(open("export.csv", newline="")))
assert len(rows) == 4, len(rows)                  # one row per record
assert len({r["id"] for r in rows}) == 4
hdr = list(rows[0].keys())
assert hdr[:3] == ["id", "form", "form_version"], hdr
assert "follow_up_date" in hdr and "retention_of_documents" in hdr
assert "interviewee_name" not in hdr and "employer_contact_phone" not in hdr  # sensitive left out
by = {r["id"]: r for r in rows}
assert by[r5]["form_version"] == v2 and by[r5]["follow_up_date"] == "2026-12-01"
assert by[r1]["form_version"] == v1 and by[r1]["follow_up_date"] == ""
assert by[r1]["number_of_workers"] == chosen and by[r1]["retention_of_documents"] == "true"
assert by[r1]["review_status"] == "reviewed"
r = by[r3]
assert r["worksite_name"] == "'" + formula, r["worksite_name"]
assert r["referral_agency"] == "'+SUM(1,2)" and "interview_notes" not in r  # sensitive
assert r["inspector_id"] == "'-2+3"
assert r["number_of_workers"] == "0"
for row in rows:
    for v in row.values():
        assert not v or v[0] not in "=+-@\t\r", v
assert any(x["worksite_name"] == xss1 and x["referral_agency"] == xss2 and
           x["inspector_id"] == "'@attack" for x in rows)
PY
grep -q "$SENTINEL" export.csv && fail "the default CSV export holds a sensitive value"
expect 200 "CSV export with sensitive fields" \
	get "/v1/review/export?form=labor_inspection&format=csv&include_sensitive=1"
head -1 body | grep -q interviewee_name || fail "include_sensitive did not add the column"
grep -q "$SENTINEL" body || fail "include_sensitive did not export the value"
expect 200 "JSON export" get "/v1/review/export?form=labor_inspection&format=json&status=reviewed"
grep -qi '^content-type: application/json' headers || fail "JSON content type"
python3 - "$R1" <<'PY' || fail "JSON export content"
import json, sys
j = json.load(open("body"))
assert j["form"] == "labor_inspection" and j["sensitive"] == "omitted"
assert j["count"] == 1 and len(j["records"]) == 1 and j["records"][0]["id"] == sys.argv[1]
rec = j["records"][0]
assert set(rec["fields"]) == set(j["columns"]) and "follow_up_date" in j["columns"]
assert rec["fields"]["retention_of_documents"] is True and rec["fields"]["follow_up_date"] is None
PY
expect 200 "JSON export, filtered" \
	get "/v1/review/export?form=labor_inspection&format=json&from=$today&to=$today&flag=retention_of_documents&team=north"
[ "$(py 'j["count"], j["records"][0]["id"]')" = "1 $R1" ] || fail "filtered JSON export"
# The audit entry names the filters and the rows exported (issue 15).
"$D" -d data audit | grep "rev  *review.export " | tail -1 >export-audit.txt
grep -q "form=labor_inspection format=json sensitive=omitted rows=1 team=north updated_from=$today.* updated_to=$today.* flags=retention_of_documents" export-audit.txt ||
	fail "the export's audit entry lacks its filters or row count: $(cat export-audit.txt)"
expect 200 "JSON export, all" get "/v1/review/export?form=labor_inspection&format=json"
[ "$(py 'j["count"], len(j["records"])')" = "4 4" ] || fail "JSON export count"
expect 400 "export without a form" get "/v1/review/export?format=csv"
expect 404 "export of an unknown form" get "/v1/review/export?form=nosuchform"
expect 400 "export with a bad format" get "/v1/review/export?form=labor_inspection&format=xlsx"
pass "CSV and JSON exports: one row per record, union of form versions, formulas escaped"

# The command line export streams the same thing.
"$D" -d data export --help >/dev/null || fail "export --help"
"$D" -d data audit --help >/dev/null || fail "audit --help"
"$D" -d data export --form labor_inspection --format csv >cli.csv 2>/dev/null || fail "CLI CSV export"
[ "$(python3 -c 'import csv; print(len(list(csv.DictReader(open("cli.csv", newline="")))))')" = 4 ] ||
	fail "CLI CSV export row count"
cmp -s <(tail -n +2 cli.csv | sort) <(tail -n +2 export.csv | sort) || fail "CLI and API CSV differ"
"$D" -d data export --form labor_inspection --format json --since "$today" --out cli.json 2>/dev/null ||
	fail "CLI JSON export to a file"
[ "$(stat -c %a cli.json)" = 600 ] || fail "the export file is readable by others"
python3 -c 'import json; j=json.load(open("cli.json")); assert j["count"] == 4' || fail "CLI JSON export"
"$D" -d data export --form labor_inspection --since "$(date -u -d tomorrow +%F)" >late.csv 2>/dev/null
[ "$(wc -l <late.csv)" = 1 ] || fail "--since did not filter"
for bad in 2026-13-01 2026-02-30 2026-11-20T25:00:00Z; do
	if "$D" -d data export --form labor_inspection --since "$bad" >/dev/null 2>err.txt; then
		fail "export --since $bad ran"
	fi
	grep -q 'expected YYYY-MM-DD' err.txt || fail "export --since $bad: $(cat err.txt)"
done
set +e
"$D" -d data export --form nosuchform >/dev/null 2>&1
[ $? -eq 2 ] || fail "export of an unknown form should exit 2"
"$D" -d data export >/dev/null 2>&1
[ $? -eq 2 ] || fail "export without --form should exit 2"
"$D" -d data export --form labor_inspection --format xml >/dev/null 2>&1
[ $? -eq 2 ] || fail "export with a bad format should exit 2"
set -e
pass "fieldsyncd export: CSV to stdout, JSON to a 0600 file, --since"

# --- Audit ----------------------------------------------------------------

"$D" -d data audit >audit.txt || fail "fieldsyncd audit"
for a in device.add form.publish review.reveal review.status review.resolve review.export; do
	grep -q " $a " audit.txt || fail "no $a entry in the audit trail"
done
grep -q "rev  *review.reveal  *$R1 " audit.txt || fail "the reveal entry lacks who or which record"
grep -q "rev  *review.resolve  *$R1 .*field=number_of_workers" audit.txt || fail "resolve entry"
grep -q "rev  *review.status  *$R1 .*status=reviewed" audit.txt || fail "status entry"
grep -q "cli  *review.export .*form=labor_inspection" audit.txt || fail "CLI export entry"
grep -q "^20[0-9-]*T[0-9:.]*Z " audit.txt || fail "audit lines do not start with the time"
for v in "$SENTINEL" "$NOTE_TEXT" "Alpha farm" "confirmed by phone" "cmd|" "=$LOSER_VALUE "; do
	grep -qF -- "$v" audit.txt && fail "the audit trail holds a value: $v"
done
"$D" -d data audit --json --since "$today" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert rows and all(r["at"] and r["actor"] and r["action"] for r in rows)
' || fail "audit --json"
[ "$("$D" -d data audit --since "$(date -u -d tomorrow +%F)" | wc -l)" = 1 ] ||
	fail "audit --since did not filter"
set +e
"$D" -d data audit --since soon >/dev/null 2>&1
[ $? -eq 2 ] || fail "audit --since with a bad date should exit 2"
set -e
pass "audit trail: reveal, status, resolve, export, device add; who and which record, no values"

# --- A delete and an edit it did not see (merge rule 2, issue 22) -------

# a2 edits a record it has, offline; a1 then deletes it without seeing the
# edit.  The record stays alive whole with one record-level conflict, in
# the reviewer's list, until a reviewer confirms the delete or keeps it.
R5=$("$F" --db a1.db record new labor_inspection --set worksite_name="Delta mine" \
	--set sector=mining --set inspection_date=2026-11-21 --set referral_decision=none)
for n in a1 a2; do sync_dev $n || fail "sync of $n (delete case)"; done
"$F" --db a2.db record edit "$R5" --set referral_agency="Labour office" >/dev/null
sleep 0.01
"$F" --db a1.db record delete "$R5" >/dev/null
for n in a1 a2 a1; do sync_dev $n || fail "sync of $n (delete case)"; done
[ "$(srv_sql "SELECT deleted, open_conflicts FROM records WHERE id = '$R5'")" = "0|1" ] ||
	fail "the record an unseen edit raced with a delete is not alive with one conflict"
expect 200 "list after the delete" get "/v1/review/records?conflicts=1"
[ "$(py "[(r['deleted'], r['open_conflicts']) for r in j['records'] if r['id'] == '$R5']")" = "[(False, 1)]" ] ||
	fail "the record with the delete conflict is not in the conflict list"
expect 200 "the record" get "/v1/review/records/$R5"
py "j['delete_conflict']['deletes'][0]['device_name'], j['delete_conflict']['edits'][0]['field'], [f['value'] for f in j['fields'] if f['name'] == 'worksite_name'][0]" >dc.txt
[ "$(cat dc.txt)" = "a1 referral_agency Delta mine" ] ||
	fail "the record view does not show both sides with the values kept: $(cat dc.txt) $(cat body)"
expect 400 "record and field together" post "/v1/review/records/$R5/resolve" '{"record":"delete","field":"x"}'
expect 200 "confirm the delete" post "/v1/review/records/$R5/resolve" '{"record":"delete","note":"duplicate"}'
[ "$(srv_sql "SELECT deleted, open_conflicts FROM records WHERE id = '$R5'")" = "1|0" ] ||
	fail "confirming the delete did not delete the record"
expect 409 "nothing left to resolve" post "/v1/review/records/$R5/resolve" '{"record":"keep"}'
for n in a1 a2; do sync_dev $n || fail "sync of $n after the confirmation"; done
[ "$(sqlite3 a2.db "SELECT deleted FROM records WHERE id = '$R5'")" = 1 ] ||
	fail "the confirmed delete did not reach a2"
"$D" -d data audit | grep -q "review.resolve  *$R5 .*record=delete" || fail "the confirmation is not audited"
pass "a delete and an edit it did not see: alive whole with one record-level conflict, listed; a reviewer confirms the delete, audited, and it reaches the devices"

# --- Nothing secret in the log -------------------------------------------

kill "$DPID"
wait "$DPID" || fail "fieldsyncd did not exit cleanly"
DPID=
for v in "$SENTINEL" "$NOTE_TEXT" "Alpha farm" "window.__xss" "cmd|" "$(cat tok-rev)"; do
	grep -qF -- "$v" daemon.log && fail "the daemon log holds a value or token: $v"
done
grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' daemon.log && fail "sanitizer report"
pass "daemon log holds no field value, note or token"

# --- Headquarters' resolutions are signed and chained (issue 16, item 5) --
[ "$(stat -c %a data/server-signing.key)" = 600 ] || fail "the server's signing key is not private"
if [ -n "$ON_PG" ]; then unsigned="(body::json ->> 'sig') IS NULL"; else unsigned="json_extract(body, '$.sig') IS NULL"; fi
[ "$(srv_sql "SELECT count(*) FROM changes WHERE batch = 'review' AND $unsigned")" = 0 ] ||
	fail "a resolution is not signed"
n=$(srv_sql "SELECT count(*) FROM changes WHERE batch = 'review'")
[ "$n" -ge 1 ] || fail "no resolution to check"
"$D" -d data verify >verify.out || fail "verify after resolutions: $(cat verify.out)"
cp -r data tampered
alter='import json, sys
c = json.loads(sys.stdin.read())
f = next(iter(c["fields"]))
c["fields"][f] = "altered by hand" if isinstance(c["fields"][f], str) else 12345
print(json.dumps(c))'
if [ -n "$ON_PG" ]; then
	# The database itself (the last step of this test): altered in place.
	seq=$(srv_sql "SELECT seq FROM changes WHERE batch = 'review' ORDER BY seq LIMIT 1")
	body=$(srv_sql "SELECT body FROM changes WHERE seq = $seq" | python3 -c "$alter")
	psql -X -q -v ON_ERROR_STOP=1 -d "$PGCONN" -v body="$body" \
		<<<"UPDATE changes SET body = :'body' WHERE seq = $seq;" || fail "could not alter the resolution"
	tampered=data
else
	seq=$(sqlite3 tampered/fieldsyncd.db "SELECT seq FROM changes WHERE batch = 'review' ORDER BY seq LIMIT 1")
	body=$(sqlite3 tampered/fieldsyncd.db "SELECT body FROM changes WHERE seq = $seq" | python3 -c "$alter")
	python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE changes SET body = ? WHERE seq = ?", (sys.argv[2], int(sys.argv[3])))
db.commit()' tampered/fieldsyncd.db "$body" "$seq"
	tampered=tampered
fi
if "$D" -d $tampered verify >verify.out; then fail "an altered resolution passed verify"; fi
grep -q "BROKEN: device 'headquarters'" verify.out || fail "altered resolution: $(cat verify.out)"
pass "$n resolution(s) signed by headquarters' key (0600 file) verify; an altered one is named"
echo "test-review: all passed"
