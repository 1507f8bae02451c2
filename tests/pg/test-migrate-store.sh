#!/usr/bin/env bash
# test-migrate-store.sh -- `fieldsyncd migrate-store` (issue 18, item 5):
# a SQLite store with devices, sealed values, a conflict, a resolution by
# headquarters and a review status moves to PostgreSQL with nothing lost.
#
#   - the review list and every record (values, conflicts, history,
#     events) read the same from the daemon on either store;
#   - the CSV export is the same;
#   - `fieldsyncd verify` holds on the copy (signatures, hash chains);
#   - devices go on syncing with the tokens, keys and pull cursors they
#     have: nothing pushed again, nothing pulled twice, new edits flow;
#   - a second migrate-store into the now full database refuses and
#     changes nothing; a migration that fails leaves the target empty.
#
# Runs under tests/pg/with-pg.sh (FS_PG_SCRIPT, FS_PG_DIR).
# usage: test-migrate-store.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-migrate-store-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
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

CONF=() # -f pg.conf once the store is PostgreSQL
start_daemon() {
	rm -f port
	"$D" "${CONF[@]}" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
		2>>daemon.log &
	DPID=$!
	for _ in $(seq 200); do
		[ -s port ] && break
		sleep 0.05
	done
	[ -s port ] || fail "daemon did not start"
	URL=https://127.0.0.1:$(cat port)
}
stop_daemon() {
	kill "$DPID"
	wait "$DPID" || fail "daemon exited $? on SIGTERM"
	DPID=
}
token() { # name role team [args]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}
sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }
get() { # PATH -> stdout (a failure says which)
	curl -sS --fail-with-body --cacert cert.pem -H "Authorization: Bearer $(cat tok-rev)" "$URL$1"
}
post() { # PATH JSON
	curl -sS --fail-with-body --cacert cert.pem -H "Authorization: Bearer $(cat tok-rev)" -X POST \
		-H 'Content-Type: application/json' --data-binary "$2" "$URL$1"
}
state() { # device store: current values and open conflicts
	sqlite3 "$1" "SELECT record_id, name, coalesce(value,'null'), stamp FROM fields ORDER BY 1, 2;
		SELECT 'conflict', record_id, name, stamp FROM conflicts ORDER BY 2, 3, 4;"
}
# Everything the review API says of every record, one canonical JSON text.
review_dump() {
	get "/v1/review/records?limit=500&deleted=true" >list.json
	python3 - "$URL" "$(cat tok-rev)" <<'PY'
import json, ssl, sys, urllib.request
url, tok = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile="cert.pem")
def get(p):
    req = urllib.request.Request(url + p, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.load(r)
lst = json.load(open("list.json"))
out = {"total": lst["total"], "records": {}}
for r in lst["records"]:
    out["records"][r["id"]] = get("/v1/review/records/" + r["id"])
print(json.dumps(out, sort_keys=True))
PY
}

# 1. A SQLite store worth moving.
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" 2>/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/border_screening.json" 2>/dev/null
token a1 field north
token a2 field north
token b1 field south
token rev reviewer hq --all-teams
printf 'Migrate-Test-Passphrase-7\n' >pass && chmod 600 pass
"$D" -d data key create --passphrase-file pass >/dev/null 2>&1 || fail "key create"
start_daemon
for n in a1 a2 b1; do
	"$F" --db $n.db init --device $n >/dev/null
	sync_dev $n || fail "first sync of $n"
done
new_labor() { # db site workers
	"$F" --db "$1" record new labor_inspection --set "worksite_name=$2" --set sector=fishing \
		--set inspection_date=2026-11-20 --set referral_decision=refer_police \
		--set "referral_agency=Police ATU" --set "number_of_workers=$3" \
		--set "interviewee_name=Worker $2"
}
for k in 1 2 3; do
	new_labor a1.db "site a $k" $k >/dev/null
	new_labor b1.db "site b $k" $k >/dev/null
done
R1=$(new_labor a1.db "contested site" 7)
for n in a1 a2 b1 a1 a2; do sync_dev $n || fail "sync of $n"; done
"$F" --db a1.db record edit "$R1" --set number_of_workers=70 >/dev/null
"$F" --db a2.db record edit "$R1" --set number_of_workers=700 >/dev/null
for n in a1 a2 a1 a2; do sync_dev $n || fail "sync of $n"; done
get "/v1/review/records/$R1" >r1.json
STAMP=$(python3 -c 'import json; j=json.load(open("r1.json")); print(j["conflicts"][0]["candidates"][0]["stamp"])')
post "/v1/review/records/$R1/resolve" "{\"field\":\"number_of_workers\",\"stamp\":\"$STAMP\"}" \
	>/dev/null || fail "resolve"
R2=$(sqlite3 b1.db "SELECT id FROM records LIMIT 1")
post "/v1/review/records/$R2/status" '{"status":"follow_up","note":"call the inspector"}' \
	>/dev/null || fail "status"
"$F" --db a2.db record edit "$R1" --set worksite_name="contested site (renamed)" >/dev/null
sync_dev a2 || fail "sync of a2"
"$F" --db a1.db record edit "$R1" --set number_of_workers=71 >/dev/null
"$F" --db a2.db record edit "$R1" --set number_of_workers=72 >/dev/null
sync_dev a1 && sync_dev a2 || fail "syncs before the move"
# Agencies, a referral and an assignment (issue 20) move too.
"$D" -d data agency add labour --title "Labour Department" --team north >/dev/null || fail "agency add"
"$D" -d data agency add hs --title "Human Services" --team hs >/dev/null || fail "agency add"
post "/v1/review/records/$R2/refer" '{"agency":"hs","reason":"shelter","due":"2026-12-31"}' \
	>/dev/null || fail "refer"
post "/v1/review/records/$R2/assign" '{"to":"rev"}' >/dev/null || fail "assign"
# Settled: each device holds all the server has for its team.
sync_dev a1 && sync_dev b1 || fail "syncs before the move"
review_dump >before.json
"$D" -d data export --form labor_inspection >before.csv 2>/dev/null
[ "$(python3 -c 'import json; print(json.load(open("before.json"))["total"])')" -eq 8 ] ||
	fail "the SQLite store has fewer records than made"
grep -q '"sealed"' <(sqlite3 data/fieldsyncd.db "SELECT body FROM changes") ||
	fail "no sealed value in the store: the test would not cover them"
stop_daemon
pass "a SQLite store with sealed values, a resolution, a status and an open conflict"

# 2. Refusals first: a running daemon, a bad target; the target stays empty.
EMPTY=$("$FS_PG_SCRIPT" createdb "$FS_PG_DIR" migrate_target)
start_daemon
if "$D" -d data migrate-store --to "$EMPTY" 2>err; then fail "migrated under a running daemon"; fi
grep -q "running" err || fail "no clear message for a running daemon: $(cat err)"
stop_daemon
if "$D" -d data migrate-store --to "host=$FS_PG_DIR dbname=no_such_db" 2>err; then
	fail "migrated to a database that does not exist"
fi
grep -qi "PostgreSQL" err || fail "no clear message for a bad target: $(cat err)"
"$D" -d data migrate-store --help | grep -q "empty PostgreSQL database" || fail "--help"
pass "refused with a running daemon and with an unreachable target"

# 3. The move.
"$D" -d data migrate-store --to "$EMPTY" >migrate.out 2>migrate.err ||
	fail "migrate-store: $(cat migrate.err)"
grep -q "^changes" migrate.out && grep -q "^migrated" migrate.out || fail "no report: $(cat migrate.out)"
n_sqlite=$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM changes")
n_pg=$(psql -X -At -d "$EMPTY" -c "SELECT count(*) FROM changes")
[ "$n_sqlite" = "$n_pg" ] || fail "changes: $n_sqlite in SQLite, $n_pg in PostgreSQL"
for t in agencies referrals; do
	[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM $t")" = \
		"$(psql -X -At -d "$EMPTY" -c "SELECT count(*) FROM $t")" ] || fail "$t not moved"
done
[ "$(psql -X -At -d "$EMPTY" -c "SELECT assigned_to FROM records WHERE id = '$R2'")" = rev ] ||
	fail "the assignment was not moved"
before_hash=$(psql -X -At -d "$EMPTY" -c "SELECT md5(string_agg(body, '' ORDER BY seq)) FROM changes")
if "$D" -d data migrate-store --to "$EMPTY" >/dev/null 2>err; then fail "migrated twice"; fi
grep -q "not empty" err || fail "no clear message for a full target: $(cat err)"
[ "$(psql -X -At -d "$EMPTY" -c "SELECT md5(string_agg(body, '' ORDER BY seq)) FROM changes")" = \
	"$before_hash" ] || fail "a refused second migration changed the target"
pass "migrated ($n_pg changes); a second run refuses and changes nothing"

# 4. The daemon on PostgreSQL answers as it did on SQLite.
printf 'store = postgresql\npostgresql = "%s"\n' "$EMPTY" >pg.conf
CONF=(-f pg.conf)
"$D" -f pg.conf -d data verify >verify.out 2>&1 || fail "verify on the copy: $(tail -3 verify.out)"
grep -q "every signature and link holds" verify.out || fail "verify: $(tail -2 verify.out)"
start_daemon
review_dump >after.json
cmp -s before.json after.json || {
	diff <(python3 -m json.tool before.json) <(python3 -m json.tool after.json) | head -20 >&2
	fail "the review API reads differently after the move"
}
"$D" -f pg.conf -d data export --form labor_inspection >after.csv 2>/dev/null
cmp -s before.csv after.csv || fail "the export differs after the move"
pass "review list, records, conflicts, history and export identical; verify holds"

# 5. Devices carry on: nothing again, new edits flow, the conflict still resolves.
for n in a1 a2 b1; do
	out=$("$F" --db $n.db sync --server "$URL" --token-file "tok-$n" --cacert cert.pem) ||
		fail "sync of $n after the move"
	echo "$out" | grep -q "pushed 0 .*pulled 0" || fail "$n: not a no-op after the move: $out"
done
"$F" --db a1.db record edit "$R1" --set worksite_name="after the move" >/dev/null
new_labor b1.db "new south site" 9 >/dev/null
for n in a1 b1 a2 a1; do sync_dev $n || fail "sync of $n"; done
[ "$(state a1.db)" = "$(state a2.db)" ] || fail "a1 and a2 differ after the move"
[ "$(psql -X -At -d "$EMPTY" -c "SELECT count(*) FROM changes")" -eq $((n_pg + 2)) ] ||
	fail "the server did not take exactly the two new changes"
get "/v1/review/records/$R1" >r1.json
STAMP=$(python3 -c 'import json; j=json.load(open("r1.json")); print(j["conflicts"][0]["candidates"][0]["stamp"])')
post "/v1/review/records/$R1/resolve" "{\"field\":\"number_of_workers\",\"stamp\":\"$STAMP\"}" \
	>/dev/null || fail "resolve after the move"
sync_dev a1 || fail "sync after the resolution"
stop_daemon
"$D" -f pg.conf -d data verify >verify.out 2>&1 || fail "verify after new work: $(tail -3 verify.out)"
pass "devices synced on with their tokens and cursors; new changes, a resolution, verify holds"
