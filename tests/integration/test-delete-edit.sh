#!/usr/bin/env bash
# test-delete-edit.sh -- a delete and an edit it did not see (issue 22,
# merge rule 2) with the real fieldsyncd and two real fieldsync devices
# over HTTPS on 127.0.0.1.
#
#   1. A creates a record with every required field and syncs; B syncs;
#   2. A deletes it and syncs;
#   3. B, offline, fills one more field, then syncs; A syncs.
#
# The record is alive on A, B and the server with every original value and
# the new one, one record-level conflict is open, and B can edit another
# field at once; a reviewer confirms the delete and the record is deleted
# on every device and in the export, the confirmation audited.  Run twice:
# with B's edit newer than the delete, and older (B's clock a day behind,
# libfaketime).  A third record is kept by the reviewer instead.
#
# usage: test-delete-edit.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-delete-edit-XXXXXX)
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

FAKETIME_LIB=
for p in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
	/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$p" ] && FAKETIME_LIB=$p && break
done
[ -n "$FAKETIME_LIB" ] || fail "libfaketime is not installed (scripts/deps.sh test installs faketime)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null 2>&1
token() { # name role team
	"$D" -d data device add --name "$1" --role "$2" --team "$3" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
}
token A field north
token B field north
token rev reviewer north
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)
for n in A B; do
	"$F" --db $n.db init --device $n >/dev/null
	"$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
done
sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }
server() { sqlite3 data/fieldsyncd.db "$1"; }
api() { # METHOD PATH [JSON]: the answer into body, the status printed
	curl -s -o body -w '%{http_code}' --cacert cert.pem -H "Authorization: Bearer $(cat tok-rev)" \
		-X "$1" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$URL$2"
}
# values DB ID: the record's values as sorted "name=value" lines (record show).
values() {
	"$F" --db "$1.db" record show "$2" |
		python3 -c 'import json,sys; r=json.load(sys.stdin); [print("%s=%s" % (k, json.dumps(v))) for k, v in sorted(r["values"].items())]'
}
new_record() {
	"$F" --db A.db record new labor_inspection --set worksite_name="Gamma quarry $1" \
		--set sector=mining --set inspection_date=2026-11-20 --set referral_decision=monitor \
		--set number_of_workers=40 --set isolation=true --set interview_notes="notes $1"
}

scenario() { # label faketime-offset-for-B's-edit ("" for none)
	local label=$1 skew=$2 r
	r=$(new_record "$label")
	sync_dev A && sync_dev B || fail "$label: first syncs"
	values A "$r" >before
	"$F" --db A.db record delete "$r" >/dev/null
	sync_dev A || fail "$label: A's sync of the delete"
	if [ -n "$skew" ]; then
		# The sanitizer runtime refuses to start when libfaketime is preloaded first.
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0 \
			LD_PRELOAD=$FAKETIME_LIB FAKETIME=$skew FAKETIME_DONT_FAKE_MONOTONIC=1 \
			"$F" --db B.db record edit "$r" --set inspector_id='seen at the gate' >/dev/null
	else
		"$F" --db B.db record edit "$r" --set inspector_id='seen at the gate' >/dev/null
	fi
	edit=$(sqlite3 B.db "SELECT hlc FROM changelog ORDER BY seq DESC LIMIT 1")
	del=$(server "SELECT hlc FROM changes WHERE record_id = '$r' AND body ->> '$.op' = 'delete'")
	if [ -n "$skew" ]; then
		[[ "$edit" < "$del" ]] || fail "$label: B's edit ($edit) is not older than the delete ($del)"
	else
		[[ "$edit" > "$del" ]] || fail "$label: B's edit ($edit) is not newer than the delete ($del)"
	fi
	sync_dev B && sync_dev A || fail "$label: syncs after the edit"
	# Whole everywhere: every value from before, and the new one.
	{ cat before; echo 'inspector_id="seen at the gate"'; } | sort >want
	for n in A B; do
		values $n "$r" >got
		diff want got >&2 || fail "$label: device $n does not hold the whole record"
		[ "$(sqlite3 $n.db "SELECT deleted, conflicts FROM records WHERE id = '$r'")" = "0|1" ] ||
			fail "$label: device $n: not alive with one open conflict"
		"$F" --db $n.db record show "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin)
dc = r["delete_conflict"]
assert [d["device"] for d in dc["deletes"]] and [e["field"] for e in dc["edits"]] == ["inspector_id"], dc
' || fail "$label: record show on $n does not show the delete conflict"
	done
	[ "$(server "SELECT deleted, open_conflicts FROM records WHERE id = '$r'")" = "0|1" ] ||
		fail "$label: the server's record is not alive with one open conflict"
	[ "$(server "SELECT count(*) FROM fields WHERE record_id = '$r' AND value IS NOT NULL")" = \
		"$(wc -l <want)" ] || fail "$label: the server lacks values"
	[ "$(api GET "/v1/review/records?conflicts=1")" = 200 ] &&
		python3 -c "import json; j=json.load(open('body')); assert '$r' in [x['id'] for x in j['records']]" ||
		fail "$label: not in the reviewer's conflict queue"
	[ "$(api GET "/v1/review/export?form=labor_inspection&format=json")" = 200 ] &&
		python3 -c "
import json
rows = json.load(open('body'))
rows = rows['records'] if isinstance(rows, dict) else rows
row = [r for r in rows if r['id'] == '$r'][0]
assert row['delete_conflict'] is True and row['deleted'] is False and row['open_conflicts'] == 1, row
" || fail "$label: the export does not show the record-level conflict"
	# B edits another field at once: the record has its required values.
	"$F" --db B.db record edit "$r" --set number_of_workers=41 >/dev/null ||
		fail "$label: B cannot edit the record"
	sync_dev B && sync_dev A || fail "$label: syncs after B's second edit"
	R=$r
}

# 1. The edit newer than the delete; the reviewer confirms the delete.
scenario newer ""
[ "$(api POST "/v1/review/records/$R/resolve" '{"record":"delete","note":"duplicate"}')" = 200 ] ||
	fail "confirming the delete: $(cat body)"
sync_dev A && sync_dev B || fail "syncs after the confirmation"
for n in A B; do
	[ "$(sqlite3 $n.db "SELECT deleted, conflicts FROM records WHERE id = '$R'")" = "1|0" ] ||
		fail "device $n: the confirmed delete did not delete the record"
done
[ "$(server "SELECT deleted, open_conflicts FROM records WHERE id = '$R'")" = "1|0" ] ||
	fail "the server's record is not deleted after the confirmation"
[ "$(api GET "/v1/review/export?form=labor_inspection&format=json&deleted=1")" = 200 ] || fail "export"
python3 -c "
import json
rows = json.load(open('body'))
rows = rows['records'] if isinstance(rows, dict) else rows
assert [r['deleted'] for r in rows if r['id'] == '$R'] == [True], rows
" || fail "the export does not show the record deleted"
"$D" -d data audit | grep -q "review.resolve  *$R .*record=delete" || fail "the confirmation is not audited"
pass "an edit newer than a delete it did not see: whole on A, B and the server, one conflict, B edits at once; the reviewer's confirmation deletes it everywhere and in the export, audited"

# 2. The edit older than the delete (B's clock a day behind): the same.
scenario older "-1d"
[ "$(api POST "/v1/review/records/$R/resolve" '{"record":"delete"}')" = 200 ] ||
	fail "confirming the delete (older edit): $(cat body)"
sync_dev A && sync_dev B || fail "syncs after the second confirmation"
[ "$(sqlite3 B.db "SELECT deleted FROM records WHERE id = '$R'")" = 1 ] ||
	fail "the confirmed delete (older edit) did not reach B"
pass "an edit older than the delete (B's clock a day behind): the same outcome"

# 3. The reviewer keeps the record instead: alive, no conflict, everywhere.
scenario kept ""
[ "$(api POST "/v1/review/records/$R/resolve" '{"record":"keep"}')" = 200 ] || fail "keep: $(cat body)"
sync_dev A && sync_dev B || fail "syncs after the keep"
for n in A B; do
	[ "$(sqlite3 $n.db "SELECT deleted, conflicts FROM records WHERE id = '$R'")" = "0|0" ] ||
		fail "device $n: the kept record is not alive without conflict"
done
[ "$(api POST "/v1/review/records/$R/resolve" '{"record":"keep"}')" = 409 ] ||
	fail "a second keep was not refused: $(cat body)"
pass "a reviewer keeps the record: alive without conflict on every device; nothing left to resolve"

# 4. Stores 0.4 left after the same three steps (tests/fixtures/
# make-rule1-v04.sh, merge rule 1: the record alive with one value on all
# three) open in this release: the server merges the record again from its
# changes at upgrade, the devices take its rows at their next sync.
FX=$SRC/tests/fixtures
r=$(cat "$FX/rule1-v04.record")
mkdir -m 700 old
sqlite3 old/fieldsyncd.db <"$FX/rule1-v04-server.sql"
for n in A B; do sqlite3 old-$n.db <"$FX/rule1-v04-$n.sql"; done
[ "$(sqlite3 old/fieldsyncd.db "SELECT count(*) FROM fields WHERE record_id = '$r' AND value IS NOT NULL")" = 1 ] ||
	fail "the 0.4 fixture does not hold the husk it should"
"$D" -d old -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port2 2>>daemon2.log &
DPID2=$!
trap 'kill -9 $DPID2 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s port2 ] && break; sleep 0.05; done
[ -s port2 ] || fail "the daemon did not open the 0.4 store: $(cat daemon2.log)"
URL2=https://127.0.0.1:$(cat port2)
[ "$(sqlite3 old/fieldsyncd.db "SELECT deleted, open_conflicts FROM records WHERE id = '$r'")" = "0|1" ] &&
	[ "$(sqlite3 old/fieldsyncd.db "SELECT count(*) FROM fields WHERE record_id = '$r' AND value IS NOT NULL")" = 8 ] ||
	fail "the upgraded server did not bring the record back whole: $(sqlite3 old/fieldsyncd.db "SELECT name, value FROM fields WHERE record_id = '$r' AND value IS NOT NULL")"
for n in A B; do
	"$F" --db old-$n.db sync --server "$URL2" --token-file "$FX/rule1-v04.$n.token" --cacert cert.pem -q ||
		fail "the upgraded device $n did not sync"
	values old-$n "$r" >got-$n
	[ "$(wc -l <got-$n)" = 8 ] && grep -q '^worksite_name="Gamma quarry"$' got-$n &&
		grep -q '^inspector_id="seen at the gate"$' got-$n ||
		fail "device $n did not get the record back whole: $(cat got-$n)"
	[ "$(sqlite3 old-$n.db "SELECT deleted, conflicts FROM records WHERE id = '$r'")" = "0|1" ] ||
		fail "device $n: not alive with one open conflict after the upgrade"
done
diff got-A got-B >&2 || fail "the upgraded devices disagree"
# A fresh device of the team agrees with the upgraded ones.
"$D" -d old device add --name C --role field --team north 2>/dev/null | sed -n 's/^token: //p' >tok-C
"$F" --db C.db init --device C >/dev/null
"$F" --db C.db sync --server "$URL2" --token-file tok-C --cacert cert.pem -q || fail "fresh device C"
values C "$r" >got-C
diff got-A got-C >&2 || fail "a fresh replica and an upgraded one disagree"
"$F" --db old-B.db record edit "$r" --set number_of_workers=42 >/dev/null ||
	fail "the upgraded device B cannot edit the record"
kill "$DPID2"
pass "stores of 0.4 (rule 1, the record a husk): the server brings it back whole at upgrade, both devices at their next sync, a fresh device agrees, B edits it"

grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' daemon.log daemon2.log && fail "sanitizer report"
echo "test-delete-edit: all passed"
