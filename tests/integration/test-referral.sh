#!/usr/bin/env bash
# test-referral.sh -- agencies and referral hand-off (issue 20, items 1 and
# 2), through the real fieldsyncd over HTTPS on 127.0.0.1, fed by a real
# device.
#
# Three agencies own teams: Labour (north, labour-hq), Human Services (hs),
# Police (atu).  A labour inspector records two cases and syncs.  Labour's
# reviewer refers one to Human Services: from then on Human Services'
# reviewers see that record (its history from the referral on, sensitive
# values only through their own audited reveal) and nothing else; Police
# sees nothing.  Every role x agency x endpoint is tried.  Human Services
# accepts, names an owner, closes; every step is in the record's history
# and the audit trail.  The inspector's device pulls the referral and
# shows its status, never its reason (sealed to headquarters' key).  A
# decline ends the receiving agency's access.  A device cannot write a
# referral.  `fieldsyncd verify` holds afterwards.
#
# usage: test-referral.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-referral-XXXXXX)
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

SECRET="Victim-Name-7d1f"
REASON="Reason-Text-c09e needs shelter tonight"
PASS="Referral-Test-Passphrase-$$"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

token() { # name role team [more device add options]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}
audit_count() { # action [actor]
	srv_sql "SELECT count(*) FROM audit WHERE action = '$1'${2:+ AND actor = '$2'}"
}

"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
(umask 077; printf "%s\n" "$PASS" >pass.txt)
"$D" -d data key create --passphrase-file pass.txt >/dev/null 2>&1 || fail "key create failed"

# --- Agencies on the command line -----------------------------------------

"$D" -d data agency --help | grep -q 'agency add NAME --title' || fail "agency --help"
"$D" -d data agency list | grep -q 'no agency yet' || fail "an empty agency list says nothing"
"$D" -d data agency add labour --title "Labour Department" --team north --team labour-hq >out ||
	fail "agency add labour"
grep -q "agency 'labour' added" out || fail "agency add does not say what it did"
"$D" -d data agency add hs --title "Department of Human Services" --team hs >/dev/null
"$D" -d data agency add police --title "Police (Anti-Trafficking Unit)" --team atu >/dev/null
bad() { # what exit-status args...
	local what=$1 want=$2 rc=0
	shift 2
	"$D" -d data agency "$@" >out 2>err || rc=$?
	[ "$rc" = "$want" ] || fail "agency $what: exit $rc, expected $want"
	[ -s err ] || fail "agency $what: no error message"
}
bad "add of an existing agency" 1 add hs --title "Again" --team hs2
grep -q 'exists' err || fail "no clear error for an existing agency: $(cat err)"
bad "add of a team another agency owns" 1 add customs --title "Customs" --team north
grep -q "team 'north' belongs to agency 'labour'" err || fail "no clear error for a taken team: $(cat err)"
bad "teams of an unknown agency" 1 teams nosuch --team x
bad "add without a title" 2 add customs --team cust
bad "an invalid name" 2 add 'bad name' --title X --team y
[ "$(srv_sql "SELECT count(*) FROM agencies")" = 3 ] || fail "a refused agency command stored something"
"$D" -d data agency add customs --title "Customs" >/dev/null
"$D" -d data agency teams customs --team cust --team cust2 >/dev/null || fail "agency teams"
"$D" -d data agency list --json >agencies.json
python3 - <<'PY' || fail "agency list --json"
import json
a = {x["name"]: x for x in json.load(open("agencies.json"))}
assert a["labour"]["teams"] == ["north", "labour-hq"], a["labour"]
assert a["customs"]["teams"] == ["cust", "cust2"], a["customs"]
assert a["hs"]["title"] == "Department of Human Services"
PY
[ "$(audit_count agency.add)" = 4 ] || fail "agency add is not audited"
pass "agency add/teams/list: a team has one agency, clear errors, nothing stored on a refusal, audited"

token n1 field north
token rl reviewer labour-hq --team north
token rh reviewer hs
token rh2 reviewer hs
token rp reviewer atu
token adm admin labour-hq
"$D" -d data agency list >list.out
grep -q '^labour .* 1 *1$' list.out || fail "agency list does not count labour's devices: $(cat list.out)"

"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)

get() { # PATH token-name [curl args...]: prints the status; body in ./body
	local path=$1 tok=$2
	shift 2
	curl -s -o body -w '%{http_code}' --cacert cert.pem \
		-H "Authorization: Bearer $(cat "tok-$tok")" "$@" "$URL$path"
}
post() { # PATH JSON token-name
	get "$1" "$3" -X POST -H 'Content-Type: application/json' --data-binary "$2"
}
expect() { # status what cmd...
	local want=$1 what=$2 got
	shift 2
	got=$("$@")
	[ "$got" = "$want" ] || fail "$what: expected HTTP $want, got $got"
}
py() { python3 -c "import json,sys; j=json.load(open('body')); print($1)"; }

# --- The inspector records two cases ---------------------------------------

"$F" --db n1.db init --device n1 >/dev/null
"$F" --db n1.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
sync_n1() { "$F" --db n1.db sync --server "$URL" --token-file tok-n1 --cacert cert.pem -q; }
sync_n1 || fail "first sync"
new_record() {
	"$F" --db n1.db record new labor_inspection --set worksite_name="farm $1" \
		--set sector=agriculture --set inspection_date=2026-11-20 --set referral_decision=refer_victim_services \
		--set interviewee_name="$SECRET"
}
RA=$(new_record A)
RB=$(new_record B)
sync_n1 || fail "sync of the records"
[ "$(srv_sql "SELECT count(*) FROM records")" = 2 ] || fail "records not synced"

list_ids() { # token [query]: the sorted ids of its list
	expect 200 "$1: list" get "/v1/review/records?limit=100${2:-}" "$1"
	py '",".join(sorted(r["id"] for r in j["records"]))'
}
[ -z "$(list_ids rh)" ] || fail "Human Services lists records before any referral"
expect 403 "rh: a record never referred" get "/v1/review/records/$RA" rh
pass "before a referral, another agency's reviewer sees nothing"

# --- Refusals of a referral -------------------------------------------------

refer() { post "/v1/review/records/$1/refer" "$2" "$3"; }
expect 400 "refer without a reason" refer "$RA" '{"agency":"hs"}' rl
expect 400 "refer to an unknown agency" refer "$RA" '{"agency":"nosuch","reason":"x"}' rl
[ "$(py 'j["error"]')" = unknown_agency ] || fail "no clear error for an unknown agency"
expect 400 "refer to its own agency" refer "$RA" '{"agency":"labour","reason":"x"}' rl
expect 400 "refer with a bad due date" refer "$RA" '{"agency":"hs","reason":"x","due":"2026-02-30"}' rl
expect 400 "refer with a body not JSON" refer "$RA" 'agency=hs' rl
expect 403 "Police refers labour's record" refer "$RA" '{"agency":"hs","reason":"x"}' rp
expect 404 "refer an unknown record" refer 0123456789abcdef0123456789abcdef '{"agency":"hs","reason":"x"}' rl
[ "$(srv_sql "SELECT count(*) FROM referrals")" = 0 ] || fail "a refused referral stored something"
[ "$(srv_sql "SELECT count(*) FROM records")" = 2 ] || fail "a refused referral wrote a record"
pass "refer: no reason, unknown or own agency, bad date, not JSON, another agency, unknown record: refused, nothing stored"

# --- Labour refers case A to Human Services ---------------------------------

expect 201 "rl refers A to hs" refer "$RA" "{\"agency\":\"hs\",\"reason\":\"$REASON\",\"due\":\"2026-12-31\"}" rl
REF=$(py 'j["id"]')
CASE=$(py 'j["case_number"]')
[ "$(py 'j["status"]')" = open ] || fail "a new referral is not open"
[[ "$CASE" == hs-20??-* ]] || fail "case number $CASE"
[ "$(py 'j["agency_title"]')" = "Department of Human Services" ] || fail "agency title"
expect 409 "refer A to hs again" refer "$RA" '{"agency":"hs","reason":"again"}' rl
[ "$(py 'j["error"]')" = already_referred ] || fail "no clear error for a second referral"
[ "$(srv_sql "SELECT form FROM records WHERE id = '$REF'")" = referral ] || fail "the referral is not a record"
[ "$(srv_sql "SELECT team FROM records WHERE id = '$REF'")" = north ] || fail "the referral is not under the record's team"
srv_sql "SELECT body FROM changes WHERE record_id = '$REF'" >ref-changes.txt
grep -q "Reason-Text" ref-changes.txt && fail "the reason is stored in the clear"
grep -q '"sealed"' ref-changes.txt || fail "the reason is not sealed"
grep -q "Reason-Text" daemon.log && fail "the reason reached the log"
srv_sql "SELECT detail FROM audit" | grep -q "Reason-Text" && fail "the reason reached the audit trail"
[ "$(audit_count review.refer rl)" = 1 ] || fail "the referral is not audited"
pass "Labour refers case A to Human Services: a referral record under north, case $CASE, reason sealed, audited"

# --- Who sees what, after the referral --------------------------------------

[ "$(list_ids rh)" = "$(printf '%s\n' "$RA" "$REF" | sort | paste -sd,)" ] ||
	fail "Human Services lists $(list_ids rh)"
[ -z "$(list_ids rp)" ] || fail "Police lists $(list_ids rp)"
[ "$(list_ids rl "&form=labor_inspection")" = "$(printf '%s\n' "$RA" "$RB" | sort | paste -sd,)" ] ||
	fail "Labour's own list changed"
[ "$(list_ids rh "&referred=us")" = "$RA" ] || fail "referred=us for Human Services"
[ "$(list_ids rl "&referred=hs")" = "$RA" ] || fail "referred=hs for Labour"
expect 200 "rh views A" get "/v1/review/records/$RA" rh
[ "$(py 'j["access"]')" = referral ] || fail "rh's access is not by referral"
[ "$(py 'j["history_since"] is not None')" = True ] || fail "no history_since for rh"
[ "$(py 'len(j["history"])')" = 0 ] || fail "rh sees history from before the referral"
[ "$(py '[e["status"] for e in j["events"]]')" = "['hs:open']" ] || fail "rh's events: $(py 'j["events"]')"
[ "$(py 'j["referrals"][0]["case_number"]')" = "$CASE" ] || fail "rh: the record does not show its referral"
grep -q "$SECRET" body && fail "rh's view shows a sensitive value"
grep -q "Reason-Text" body && fail "rh's view shows the reason"
expect 200 "rl views A" get "/v1/review/records/$RA" rl
[ "$(py 'j["access"]')" = team ] || fail "rl's access"
[ "$(py 'len(j["history"]) >= 1')" = True ] || fail "rl lost the history"
expect 403 "rh views B (never referred)" get "/v1/review/records/$RB" rh
expect 403 "rp views A" get "/v1/review/records/$RA" rp
expect 403 "rp views the referral" get "/v1/review/records/$REF" rp
expect 403 "rp reveals A" post "/v1/review/records/$RA/reveal" '{}' rp
expect 403 "rp sets A's status" post "/v1/review/records/$RA/status" '{"status":"reviewed"}' rp
expect 403 "rp assigns A" post "/v1/review/records/$RA/assign" '{"to":"rp"}' rp
expect 403 "rp prints A" post "/v1/review/records/$RA/print" '{}' rp
expect 403 "rp answers the referral" post "/v1/review/referrals/$REF" '{"status":"accepted"}' rp
expect 403 "rl answers its own referral" post "/v1/review/referrals/$REF" '{"status":"accepted"}' rl
expect 403 "rh refers A on to Police" refer "$RA" '{"agency":"police","reason":"x"}' rh
expect 200 "rp: referrals" get /v1/review/referrals rp
[ "$(py 'len(j["referrals"])')" = 0 ] || fail "Police lists a referral"
expect 200 "rh: referrals to us" get '/v1/review/referrals?to=us' rh
[ "$(py 'j["referrals"][0]["id"]')" = "$REF" ] || fail "rh: referrals to us"
expect 200 "rl: referrals from us" get '/v1/review/referrals?from=us' rl
[ "$(py 'j["referrals"][0]["direction"]')" = from_us ] || fail "rl: referrals from us"
expect 400 "referrals with a bad parameter" get '/v1/review/referrals?to=them' rl
expect 200 "rp: export" get '/v1/review/export?form=labor_inspection' rp
[ "$(wc -l <body)" -le 1 ] || fail "Police's export holds rows"
expect 200 "rh: export" get '/v1/review/export?form=labor_inspection' rh
grep -q "$RA" body || fail "Human Services' export lacks the referred record"
grep -q "$RB" body && fail "Human Services' export holds a record never referred"
[ "$(srv_sql "SELECT count(*) FROM audit WHERE action = 'review.denied' AND actor = 'rp'")" -ge 8 ] ||
	fail "Police's refusals are not audited"
pass "Human Services sees case A (history from the referral on, values masked) and its referral, not B; Police nothing; refusals audited"

# Its own reveal, audited, after its own unlock.
expect 200 "rh unlocks" post /v1/review/unlock "{\"passphrase\":\"$PASS\"}" rh
reveals=$(audit_count review.reveal rh)
expect 200 "rh reveals A" post "/v1/review/records/$RA/reveal" '{}' rh
grep -q "$SECRET" body || fail "rh's reveal does not show the value"
[ "$(audit_count review.reveal rh)" = $((reveals + 1)) ] || fail "rh's reveal is not audited"
expect 200 "rh reveals the referral's reason" post "/v1/review/records/$REF/reveal" '{}' rh
grep -q "Reason-Text" body || fail "rh cannot read the reason"
expect 200 "rh2 views A, not unlocked" get "/v1/review/records/$RA" rh2
grep -q "$SECRET" body && fail "rh2 sees a value without its own reveal"
expect 200 "rh prints A" post "/v1/review/records/$RA/print" '{}' rh
expect 403 "rh sets A's review status" post "/v1/review/records/$RA/status" '{"status":"reviewed"}' rh
expect 403 "rh assigns A" post "/v1/review/records/$RA/assign" '{"to":"rh"}' rh
expect 403 "rh resolves on A" post "/v1/review/records/$RA/resolve" '{"record":"keep"}' rh
[ "$(srv_sql "SELECT review_status FROM records WHERE id = '$RA'")" = new ] ||
	fail "a refused status change changed A"
pass "Human Services reveals through its own unlock, audited, and prints; another reviewer still sees masks; status, assignment and resolution stay with Labour"

# --- Human Services answers ----------------------------------------------

upd() { post "/v1/review/referrals/$REF" "$1" "$2"; }
expect 400 "owner from another agency" upd '{"status":"accepted","owner":"rl"}' rh
expect 409 "open -> closed" upd '{"status":"closed"}' rh
[ "$(py 'j["error"]')" = bad_transition ] || fail "no clear error for a bad transition"
expect 400 "decline without a reason" upd '{"status":"declined"}' rh
expect 400 "an unknown status" upd '{"status":"lost"}' rh
[ "$(srv_sql "SELECT status FROM referrals")" = open ] || fail "a refused answer changed the referral"
expect 200 "rh accepts, owner rh2" upd '{"status":"accepted","owner":"rh2"}' rh
[ "$(py 'j["status"] + " " + j["owner"]')" = "accepted rh2" ] || fail "accept"
expect 409 "accepted -> declined" upd '{"status":"declined","reason":"no"}' rh
expect 200 "rh2 moves the due date" upd '{"due":"2027-01-15"}' rh2
expect 200 "rh2 closes" upd '{"status":"closed"}' rh2
expect 200 "rl views A" get "/v1/review/records/$RA" rl
[ "$(py '[e["status"] for e in j["events"] if e["kind"] == "referral"]')" = \
	"['hs:open', 'hs:accepted', 'hs:accepted', 'hs:closed']" ] || fail "A's history of the referral: $(py 'j["events"]')"
[ "$(py 'j["referrals"][0]["status"] + " " + j["referrals"][0]["due"]')" = "closed 2027-01-15" ] ||
	fail "the referral as Labour sees it"
[ "$(audit_count review.referral)" = 3 ] || fail "the answers are not audited"
expect 200 "rh views the referral record" get "/v1/review/records/$REF" rh
[ "$(py '{f["name"]: f["value"] for f in j["fields"]}["status"]')" = closed ] || fail "the referral record's status"
pass "Human Services accepts (owner of its agency), moves the due date, closes; refusals change nothing; each step in A's history and the audit"

# --- The inspector's device -----------------------------------------------

sync_n1 || fail "sync after the referral"
"$F" --db n1.db record show "$RA" >show.json || fail "record show A"
python3 - "$CASE" <<'PY' || fail "the device does not show the referral: $(cat show.json)"
import json, sys
j = json.load(open("show.json"))
r = j["referrals"]
assert len(r) == 1 and r[0]["status"] == "closed" and r[0]["case_number"] == sys.argv[1], r
assert r[0]["agency"] == "hs", r
PY
grep -q "Reason-Text" show.json && fail "the device shows the reason"
"$F" --db n1.db record show "$REF" >ref.json
grep -q "Reason-Text" ref.json && fail "the device reads the reason"
grep -q '"sealed"' ref.json || fail "the referral's reason is not sealed on the device"
grep -a -q "Reason-Text" n1.db && fail "the reason is in the device's store"
pass "the inspector's device pulls the referral: status closed, case number, no reason"

# A device cannot write a referral: the library refuses it, and the server
# refuses a change of one pushed by hand.
rc=0
"$F" --db n1.db record edit "$REF" --set status=open >/dev/null 2>err || rc=$?
[ "$rc" != 0 ] && grep -q 'written by headquarters only' err ||
	fail "the device edited a referral (exit $rc): $(cat err)"
rc=0
"$F" --db n1.db record new referral --set status=open >/dev/null 2>err || rc=$?
[ "$rc" != 0 ] && grep -q 'written by headquarters only' err ||
	fail "the device created a referral (exit $rc): $(cat err)"
before=$(srv_sql "SELECT count(*) FROM changes WHERE record_id = '$REF'")
# n2: a field device of north that never registered a signing key.
token n2 field north
N2DEV=$(python3 -c 'import secrets; print(secrets.token_hex(8))')
python3 - "$REF" "$N2DEV" >push.json <<'PY'
import json, sys, time
ref, dev = sys.argv[1], sys.argv[2]
stamp = "%016x-%s" % ((int(time.time() * 1000) + 60000) << 16, dev)
print(json.dumps({"device": dev, "batch": "hand-made-1", "changes": [{
    "id": ref, "form": "referral", "form_version": 1, "op": "upsert", "hlc": stamp,
    "fields": {"status": "open"}, "base": {}}]}))
PY
expect 200 "hand-made push of a referral change" post /v1/push "$(cat push.json)" n2
[ "$(py 'j["rejected"][0]["error"]')" = forbidden ] || fail "hand-made referral change: $(cat body)"
[ "$(srv_sql "SELECT count(*) FROM changes WHERE record_id = '$REF'")" = "$before" ] ||
	fail "the server took a device's change of a referral"
[ "$(srv_sql "SELECT status FROM referrals")" = closed ] || fail "a device changed the referral"
pass "a device's change to a referral is refused"

# --- A decline ends access --------------------------------------------------

expect 201 "rl refers B to Police" refer "$RB" "{\"agency\":\"police\",\"reason\":\"$REASON\"}" rl
REFB=$(py 'j["id"]')
expect 200 "rp views B" get "/v1/review/records/$RB" rp
expect 200 "rp declines" post "/v1/review/referrals/$REFB" '{"status":"declined","reason":"not a trafficking case"}' rp
expect 403 "rp views B after declining" get "/v1/review/records/$RB" rp
expect 200 "rp still sees its referral" get "/v1/review/records/$REFB" rp
[ "$(list_ids rp)" = "$REFB" ] || fail "Police lists $(list_ids rp) after declining"
expect 200 "admin answers for an agency" post "/v1/review/referrals/$REF" '{"owner":null}' adm
pass "a declined referral ends the agency's access to the record; an admin may act"

# --- Two answers at once ---------------------------------------------------

# Two Human Services reviewers answer one open referral at the same moment,
# one accepting and one declining: one answer lands, the other gets 409
# (checked again under the store's writer lock), and the record's history
# holds one answer only.
answer_bg() { # referral JSON out-file
	curl -s -o "$3.body" -w '%{http_code}' --cacert cert.pem -X POST \
		-H "Authorization: Bearer $(cat tok-rh)" -H 'Content-Type: application/json' \
		--data-binary "$2" "$URL/v1/review/referrals/$1" >"$3"
}
for round in 1 2 3 4; do
	RC=$(new_record "race $round")
	sync_n1 || fail "sync of race record $round"
	expect 201 "rl refers race record $round" refer "$RC" "{\"agency\":\"hs\",\"reason\":\"$REASON\"}" rl
	REFC=$(py 'j["id"]')
	answer_bg "$REFC" '{"status":"accepted"}' ans-a &
	p1=$!
	answer_bg "$REFC" '{"status":"declined","reason":"not ours"}' ans-d &
	p2=$!
	wait "$p1" "$p2"
	codes=$(printf '%s\n%s\n' "$(cat ans-a)" "$(cat ans-d)" | sort | tr '\n' ' ')
	[ "$codes" = "200 409 " ] || fail "round $round: two answers at once gave $codes"
	expect 200 "rl views race record $round" get "/v1/review/records/$RC" rl
	n=$(py 'len([e for e in j["events"] if e["kind"] == "referral" and e["status"] in ("hs:accepted", "hs:declined")])')
	[ "$n" = 1 ] || fail "round $round: $n answers in the history"
	st=$(srv_sql "SELECT status FROM referrals WHERE id = '$REFC'")
	[ "$st" = accepted ] || [ "$st" = declined ] || fail "round $round: referral is $st"
done
pass "two answers at once: one lands, the other 409, one answer in the history (4 rounds)"

# --- The report counts the agencies' answers -------------------------------

# Five more cases referred to Human Services and left open: the report's
# referred=open cell is 5 (shown), the other outcomes 1-4 (hidden, "<5").
OPEN5=
for k in 1 2 3 4 5; do OPEN5="$OPEN5 $(new_record "open $k")"; done
sync_n1 || fail "sync of the open cases"
for r in $OPEN5; do
	expect 201 "rl refers $r" refer "$r" "{\"agency\":\"hs\",\"reason\":\"$REASON\"}" rl
done
expect 200 "report by referral outcome" get "/v1/review/report?form=labor_inspection&by=referred" rl
got=$(py '";".join(r["by"]["referred"] + "=" + str(r["cells"][0]) for r in j["rows"])')
[ "$(py 'str(j["rows"][[r["by"]["referred"] for r in j["rows"]].index("open")]["cells"][0])')" = 5 ] ||
	fail "report rows by referred: $got"
[ "$(py 'str(j["total"][j["columns"].index("referred=open")])')" = 5 ] ||
	fail "report column referred=open: $(py 'list(zip(j["columns"], j["total"]))')"
[ "$(py 'str(j["total"][j["columns"].index("referred=closed")])')" = "<5" ] ||
	fail "report column referred=closed is not suppressed: $(py 'list(zip(j["columns"], j["total"]))')"
"$D" -d data report --form labor_inspection --by referred >rep.csv 2>/dev/null || fail "report --by referred"
grep -q '^open,5,' rep.csv || fail "report --by referred (CSV): $(cat rep.csv)"
pass "the report counts records by their latest referral's status (referred=open 5, the rest <5)"

# --- The store holds together ----------------------------------------------

kill "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
"$D" -d data verify >verify.out 2>&1 || fail "verify after referrals: $(tail -3 verify.out)"
pass "fieldsyncd verify: history and audit chains hold"
echo "all referral checks passed"
