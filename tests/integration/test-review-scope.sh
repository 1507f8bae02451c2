#!/usr/bin/env bash
# test-review-scope.sh -- reviewers scoped to their teams (issue 15), through
# the real fieldsyncd over HTTPS on 127.0.0.1, fed by real devices.
#
# Three field teams (north, south, east) record and sync.  A reviewer of
# north and south, a reviewer of east, a reviewer of every team and an
# admin then use every review endpoint -- list, record, reveal, status,
# print, resolve, export -- on records of their teams and of the others:
# another team's record is refused with 403 forbidden, audited
# (review.denied), and left as it was; lists and exports hold only the
# reviewer's teams and the export's audit entry says so.  `fieldsyncd
# device teams` changes a reviewer's teams, effective at its next request.
#
# usage: test-review-scope.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-scope-XXXXXX)
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

SECRET_N="North-Secret-51c2"   # sensitive values, one per team
SECRET_S="South-Secret-8d40"
SECRET_E="East-Secret-e3a9"

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
token n1 field north
token s1 field south
token e1 field east
token rns reviewer north --team south
token re reviewer east
token rall reviewer hq --all-teams
token adm admin hq

# --- The command line ---------------------------------------------------

bad_add() { # what args...
	local what=$1
	shift
	if "$D" -d data device add "$@" >out 2>err; then fail "device add accepted $what"; fi
	[ $? -eq 2 ] || true
	[ -s err ] || fail "device add gave no error for $what"
	grep -q '^token:' out && fail "device add printed a token for $what"
	return 0
}
bad_add "a field device of two teams" --name x1 --role field --team north --team south
grep -q 'one team' err || fail "no clear error for a field device of two teams: $(cat err)"
bad_add "--all-teams for an admin" --name x2 --role admin --team hq --all-teams
bad_add "a repeated team" --name x3 --role reviewer --team north --team north
grep -q 'repeated' err || fail "no clear error for a repeated team: $(cat err)"
bad_add "an invalid team" --name x4 --role reviewer --team north --team 'so uth'
"$D" -d data device list >list.out
grep -q '^rns .*\["north","south"\]$' list.out || fail "device list does not show rns's teams"
grep -q '^rall .* all$' list.out || fail "device list does not show rall seeing every team"
grep -q '^n1 .* -$' list.out || fail "device list shows teams for a field device"
[ "$(srv_sql "SELECT count(*) FROM devices WHERE name LIKE 'x%'")" = 0 ] ||
	fail "a refused device add stored a device"
grep -q 'sees=\["north","south"\]' <(srv_sql \
	"SELECT detail FROM audit WHERE action = 'device.add'") || fail "device add audit lacks the teams"
pass "device add: a reviewer of several teams, of every team; field and admin devices of one; clear errors"

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

# --- Three teams record and sync ---------------------------------------

new_record() { # device secret
	"$F" --db "$1.db" record new labor_inspection --set worksite_name="site of $1" \
		--set sector=fishing --set inspection_date=2026-11-20 --set referral_decision=monitor \
		--set interviewee_name="$2"
}
for n in n1 s1 e1; do
	"$F" --db $n.db init --device $n >/dev/null
	"$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
done
RN=$(new_record n1 "$SECRET_N")
RN2=$(new_record n1 "$SECRET_N")
RS=$(new_record s1 "$SECRET_S")
RE=$(new_record e1 "$SECRET_E")
for n in n1 s1 e1; do
	"$F" --db $n.db sync --server "$URL" --token-file tok-$n --cacert cert.pem -q ||
		fail "sync of $n"
done
[ "$(srv_sql "SELECT team FROM records ORDER BY team" | paste -sd,)" = "east,north,north,south" ] || fail "records not synced"
pass "three teams recorded 4 records and synced"

# --- Who sees what --------------------------------------------------------

expect 200 "rns: me" get /v1/review/me rns
[ "$(py 'j["teams"]')" = "['north', 'south']" ] || fail "me: rns's teams"
expect 200 "rall: me" get /v1/review/me rall
[ "$(py 'j["teams"]')" = "None" ] || fail "me: rall should see every team (null)"

list_teams() { # token: the sorted teams of its list, and the total
	expect 200 "$1: list" get '/v1/review/records?limit=100' "$1"
	py '",".join(sorted(r["team"] for r in j["records"])) + " " + str(j["total"])'
}
[ "$(list_teams rns)" = "north,north,south 3" ] || fail "rns lists $(list_teams rns)"
[ "$(list_teams re)" = "east 1" ] || fail "re lists $(list_teams re)"
[ "$(list_teams rall)" = "east,north,north,south 4" ] || fail "rall lists $(list_teams rall)"
[ "$(list_teams adm)" = "east,north,north,south 4" ] || fail "adm lists $(list_teams adm)"
expect 200 "rns: list filtered on one of its teams" get '/v1/review/records?team=south' rns
[ "$(py 'j["total"]')" = 1 ] || fail "rns: team=south"
denied0=$(audit_count review.denied)
expect 403 "rns: list filtered on another team" get '/v1/review/records?team=east' rns
[ "$(py 'j["error"]')" = forbidden ] || fail "the refusal is not 'forbidden'"
expect 403 "rns: export of another team" get \
	'/v1/review/export?form=labor_inspection&team=east&include_sensitive=true' rns
grep -q "$SECRET_E" body && fail "a refused export sent a value"
[ "$(audit_count review.denied rns)" = $((denied0 + 2)) ] || fail "the refused list and export were not audited"
srv_sql "SELECT detail FROM audit WHERE action = 'review.denied'" |
	grep -q 'team=east action=list' || fail "the list refusal's audit entry does not say what"
pass "lists: each reviewer sees its teams only, every team with --all-teams, admin all; another team's filter is 403, audited"

# --- Every per-record endpoint, across teams ------------------------------

status_of() { srv_sql "SELECT review_status FROM records WHERE id = '$1'"; }
cross() { # token record-of-another-team what
	local tok=$1 r=$2 before reveals
	before=$(audit_count review.denied "$tok")
	reveals=$(audit_count review.reveal "$tok")
	expect 403 "$tok: view $3" get "/v1/review/records/$r" "$tok"
	expect 403 "$tok: reveal $3" post "/v1/review/records/$r/reveal" '{"fields":["interviewee_name"]}' "$tok"
	grep -q 'Secret' body && fail "$tok: a refused reveal sent a value"
	expect 403 "$tok: status $3" post "/v1/review/records/$r/status" '{"status":"referred","note":"x"}' "$tok"
	expect 403 "$tok: print $3" post "/v1/review/records/$r/print" '{"revealed":true}' "$tok"
	expect 403 "$tok: resolve $3" post "/v1/review/records/$r/resolve" '{"record":"keep"}' "$tok"
	[ "$(status_of "$r")" = new ] || fail "$tok: a refused status change changed $3"
	[ "$(audit_count review.denied "$tok")" = $((before + 5)) ] || fail "$tok: refusals on $3 not audited"
	[ "$(audit_count review.reveal "$tok")" = "$reveals" ] || fail "$tok: a refused reveal was audited as a reveal"
	[ "$(srv_sql "SELECT count(*) FROM audit WHERE action = 'review.denied'
		AND actor = '$tok' AND record_id = '$r'")" = 5 ] || fail "$tok: the refusals do not name the record"
}
cross rns "$RE" "east's record"
cross re "$RN" "north's record"
cross re "$RS" "south's record"
srv_sql "SELECT detail FROM audit WHERE action = 'review.denied' AND actor = 're'" |
	sort -u >denied.txt
for a in view reveal status print resolve; do
	grep -q "^team=north action=$a$" denied.txt || fail "no audited refusal of $a: $(cat denied.txt)"
done

# Its own teams: everything works.
expect 200 "rns: view north" get "/v1/review/records/$RN" rns
[ "$(py 'j["record"]["team"]')" = north ] || fail "rns: view north"
grep -q "$SECRET_N" body && fail "a record view showed a sensitive value unrevealed"
expect 200 "rns: reveal south" post "/v1/review/records/$RS/reveal" '{"fields":["interviewee_name"]}' rns
grep -q "$SECRET_S" body || fail "rns: the reveal of south's record did not reveal"
expect 200 "rns: status north" post "/v1/review/records/$RN2/status" '{"status":"follow_up"}' rns
[ "$(status_of "$RN2")" = follow_up ] || fail "rns: status north"
expect 200 "re: view east" get "/v1/review/records/$RE" re
expect 200 "adm: view east" get "/v1/review/records/$RE" adm
expect 200 "rall: reveal east" post "/v1/review/records/$RE/reveal" '{"fields":["interviewee_name"]}' rall
expect 404 "rns: an unknown record is still 404" get /v1/review/records/0123456789abcdef0123456789abcdef rns
pass "record, reveal, status, print, resolve: 403 and audited on another team's record, nothing changed or shown; the reviewer's own teams work"

# --- Exports ----------------------------------------------------------------

expect 200 "rns: export with sensitive values" get \
	'/v1/review/export?form=labor_inspection&format=json&include_sensitive=true' rns
python3 - <<'PY' || fail "rns's export holds other teams' records"
import json
rows = json.load(open("body"))
rows = rows["records"] if isinstance(rows, dict) else rows
teams = sorted(r["team"] for r in rows)
assert teams == ["north", "north", "south"], teams
PY
grep -q "$SECRET_E" body && fail "rns's export holds east's sensitive value"
grep -q "$SECRET_S" body || fail "rns's export lacks its own team's sensitive value"
srv_sql "SELECT detail FROM audit WHERE action = 'review.export' AND actor = 'rns'" \
	>export-audit.txt
grep -q 'sensitive=included rows=3 sees=\["north","south"\]' export-audit.txt ||
	fail "the export's audit entry does not name the rows and the reviewer's teams: $(cat export-audit.txt)"
expect 200 "adm: export" get '/v1/review/export?form=labor_inspection&format=csv' adm
[ "$(($(wc -l <body) - 1))" = 4 ] || fail "the admin's export is not every record"
pass "exports: only the reviewer's teams, audited with rows and teams; admin exports all"

# --- The report and the map's points (issue 20): the reviewer's teams only ----

expect 200 "rns: report" get '/v1/review/report?form=labor_inspection&by=sector' rns
[ "$(py 'j["total"][0]')" = "<5" ] && [ "$(py 'j["rows"][0]["by"]["sector"]')" = fishing ] ||
	fail "rns's report: $(cat body)"
expect 200 "adm: report" get '/v1/review/report?form=labor_inspection&by=sector' adm
[ "$(py 'j["total"][0]')" = "<5" ] || fail "the admin's report: $(cat body)"
expect 200 "rns: points" get '/v1/review/points?form=labor_inspection' rns
[ "$(py 'j["without_location"] + len(j["points"])')" = 3 ] || fail "rns's points hold another team's records: $(cat body)"
expect 200 "re: points" get '/v1/review/points?form=labor_inspection' re
[ "$(py 'j["without_location"] + len(j["points"])')" = 1 ] || fail "re's points: $(cat body)"
expect 400 "assign east's record to rns (does not see east)" post "/v1/review/records/$RE/assign" '{"to":"rns"}' adm
expect 200 "assign east's record to re" post "/v1/review/records/$RE/assign" '{"to":"re"}' adm
expect 403 "rns assigns east's record" post "/v1/review/records/$RE/assign" '{"to":"rns"}' rns
expect 200 "re's queue" get '/v1/review/records?assigned=me' re
[ "$(py 'j["total"]')" = 1 ] || fail "re's queue: $(cat body)"
pass "report and map points: only the reviewer's teams; a record is assigned only to a reviewer who sees its team"

# --- Changing a reviewer's teams ----------------------------------------------

"$D" -d data device teams rns --team east >out 2>err || fail "device teams: $(cat err)"
expect 200 "rns, now east: view east" get "/v1/review/records/$RE" rns
expect 403 "rns, now east: view north" get "/v1/review/records/$RN" rns
[ "$(list_teams rns)" = "east 1" ] || fail "rns, now east, lists $(list_teams rns)"
"$D" -d data device teams rns --all-teams >out 2>err || fail "device teams --all-teams"
[ "$(list_teams rns)" = "east,north,north,south 4" ] || fail "rns, now every team, lists $(list_teams rns)"
if "$D" -d data device teams n1 --team north >out 2>err; then fail "device teams changed a field device"; fi
grep -q "no reviewer" err || fail "device teams on a field device: unclear error $(cat err)"
if "$D" -d data device teams rns >out 2>err; then fail "device teams without teams succeeded"; fi
[ "$(audit_count device.teams)" = 2 ] || fail "device teams is not audited"
pass "device teams: effective at the next request, audited; refused for a field device"

# --- No value in the audit trail or the log -------------------------------

for s in "$SECRET_N" "$SECRET_S" "$SECRET_E"; do
	srv_sql "SELECT * FROM audit" | grep -q "$s" && fail "a value in the audit trail"
	grep -q "$s" daemon.log && fail "a value in the daemon's log"
done
kill "$DPID"
wait "$DPID" || fail "fieldsyncd did not exit cleanly"
DPID=
pass "no sensitive value in the audit trail or the log"
