#!/usr/bin/env bash
# test-sync.sh -- devices and the real fieldsyncd over HTTPS on 127.0.0.1.
#
# Three devices of one team record offline, sync, edit the same records
# concurrently and sync again: every device and the server end with the
# identical fields and conflicts.  Also: a replayed batch applies nothing,
# a revoked token is refused, a field token never sees another team's
# records, malformed/oversized/zip-bomb bodies leave every table as it was,
# and a daemon killed with SIGKILL in the middle of a push loses nothing
# and applies nothing twice once the device resumes.
#
# usage: test-sync.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT FAULT_DEV
# (FAULT_DEV: tests/fault/fault-dev, a device on the public API that saves
# many records in one process)
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
DEV=$(realpath "$4")
T=$(mktemp -d /tmp/fs-test-sync-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
# shellcheck source=../pg/store-env.sh
. "$SRC/tests/pg/store-env.sh" # the PostgreSQL store under tests/pg/with-pg.sh

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

start_daemon() {
	rm -f port
	"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
		2>>daemon.log &
	DPID=$!
	for _ in $(seq 100); do
		[ -s port ] && break
		sleep 0.05
	done
	[ -s port ] || fail "daemon did not start"
	PORT=$(cat port)
	URL=https://127.0.0.1:$PORT
}

token() { # name role team
	"$D" -d data device add --name "$1" --role "$2" --team "$3" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}

sync_dev() { # name [extra args]
	local n=$1
	shift
	"$F" --db "$n.db" sync --server "$URL" --token-file "tok-$n" --cacert cert.pem -q "$@"
}

# Current values and open conflicts, the same query on every replica.
# (A record the server refused exists on its device only: left out.)
private=none
state() { # a device's store, or "server"
	local q1="SELECT record_id, name, coalesce(value,'null'), stamp FROM fields ORDER BY 1, 2"
	local q2="SELECT 'conflict', record_id, name, stamp FROM conflicts ORDER BY 2, 3, 4"
	if [ "$1" = server ]; then
		{ srv_sql "$q1"; srv_sql "$q2"; } | grep -v "$private"
	else
		sqlite3 "$1" "$q1; $q2;" | grep -v "$private"
	fi
}

table_hash() { srv_hash; }

new_labor() { # db site workers
	"$F" --db "$1" record new labor_inspection --set "worksite_name=$2" --set sector=fishing \
		--set inspection_date=2026-11-20 --set referral_decision=monitor \
		--set "number_of_workers=$3"
}

"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" 2>/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/border_screening.json" 2>/dev/null
for n in a1 a2 a3; do token $n field north; done
token b1 field south
token gone field north
"$D" -d data device revoke gone 2>/dev/null
# A device of before signatures (protocol 1 and 2, no key): the hand-made
# pushes below come from it, so they leave the signing devices' chains alone.
token r1 field north
start_daemon

# 1. Offline recording on three devices, then sync: all converge.
for n in a1 a2 a3 b1 gone; do
	"$F" --db $n.db init --device $n >/dev/null
	"$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
done
declare -A ids
for n in a1 a2 a3; do
	for k in 1 2 3; do
		ids[$n$k]=$(new_labor $n.db "site $n $k" $k)
	done
done
new_labor b1.db "south site" 5 >/dev/null
for n in a1 a2 a3 b1; do sync_dev $n >/dev/null || fail "first sync of $n"; done
for n in a1 a2 a3; do sync_dev $n >/dev/null || fail "second sync of $n"; done
[ "$(sqlite3 a1.db 'SELECT count(*) FROM records')" -eq 9 ] || fail "a1 lacks records"
for n in a2 a3; do
	[ "$(state $n.db)" = "$(state a1.db)" ] || fail "$n differs from a1 after sync"
done
[ "$(state server | grep -v "$(sqlite3 b1.db 'SELECT id FROM records')")" = \
	"$(state a1.db)" ] || fail "server differs from devices"
"$F" --db a1.db forms list | grep -q '^border_screening' ||
	fail "a published form did not reach the device by sync"
pass "three devices recorded offline and converged; published forms reached them"

# 2. Concurrent edits of the same record: converge, conflicts listed.
r=${ids[a11]}
"$F" --db a1.db record edit "$r" --set number_of_workers=100 >/dev/null
"$F" --db a2.db record edit "$r" --set number_of_workers=200 >/dev/null
"$F" --db a3.db record edit "$r" --set number_of_workers=300 --set debt_bondage=true >/dev/null
"$F" --db a3.db record delete "${ids[a22]}" >/dev/null
"$F" --db a2.db record edit "${ids[a22]}" --set isolation=true >/dev/null
for round in 1 2; do
	for n in a3 a1 a2; do sync_dev $n >/dev/null || fail "sync of $n, round $round"; done
done
for n in a2 a3; do
	[ "$(state $n.db)" = "$(state a1.db)" ] || fail "$n diverged after concurrent edits"
done
conflicts=$(sqlite3 a1.db "SELECT count(*) FROM conflicts WHERE record_id = '$r'")
[ "$conflicts" -eq 2 ] || fail "expected 2 open conflicts on $r, got $conflicts"
[ "$(srv_sql "SELECT open_conflicts FROM records WHERE id = '$r'")" -eq 2 ] ||
	fail "server record not flagged with its conflicts"
win=$(sqlite3 a1.db "SELECT value FROM fields WHERE record_id = '$r' AND name = 'number_of_workers'")
[ "$win" = 300 ] || fail "last writer should win: got $win"
"$F" --db a1.db record show "$r" | grep -q '"debt_bondage":	true' ||
	fail "the other field of the concurrent edit was lost"
n=$("$F" --db a2.db record show "$r" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["conflicts"]))')
[ "$n" -eq 2 ] || fail "record show lists $n conflicts, expected 2"
pass "concurrent edits converged; 2 conflicts kept on every replica and the server"

# 3. A replayed batch applies nothing.
dev=$(sqlite3 a1.db "SELECT value FROM meta WHERE key = 'device_id'")
body=$(sqlite3 a1.db "SELECT body FROM changelog ORDER BY seq LIMIT 1")
pk=$(sqlite3 a1.db "SELECT value FROM meta WHERE key = 'sign_pk'")
printf '{"device":"%s","key":"%s","batch":"replay-test-1","changes":[%s]}' "$dev" "$pk" "$body" >replay.json
post() { # token-file file [extra curl args]
	curl -s -o answer.json -w '%{http_code}' --cacert cert.pem \
		-H "Authorization: Bearer $(cat "$1")" -H 'Content-Type: application/json' \
		"${@:3}" --data-binary @"$2" "$URL/v1/push"
}
code=$(post tok-a1 replay.json -H 'Fieldsync-Protocol: 3')
[ "$code" = 200 ] || fail "replay test push: HTTP $code $(cat answer.json)"
grep -q '"duplicates":1' answer.json || fail "an old change was not counted as duplicate"
before=$(table_hash)
code=$(post tok-a1 replay.json -H 'Fieldsync-Protocol: 3')
[ "$code" = 200 ] && grep -q '"replayed":true' answer.json || fail "replayed batch not recognised"
[ "$(table_hash)" = "$before" ] || fail "a replayed batch changed the store"
pass "replayed batch answered again and applied nothing"
# From here on, hand-made changes come from r1 (no key, protocol 1/2).
dev=00000000000000e1

# 3b. A change the server refuses for good (its form is not published) stays
# on the device with its reason and does not hold back the changes behind it.
cat >private.json <<'JSON'
{"id": "private_notes", "version": 1, "title": "Not published",
 "fields": [{"name": "note", "type": "text", "required": true}]}
JSON
"$F" --db a1.db forms import private.json >/dev/null
private=$("$F" --db a1.db record new private_notes --set note=x)
behind=$(new_labor a1.db "behind the refused one" 4)
out=$(sync_dev a1 2>/dev/null) || fail "sync with a refused change failed"
echo "$out" | grep -q "rejected 1" || fail "the refused change was not reported: $out"
[ "$(srv_sql "SELECT count(*) FROM records WHERE id = '$behind'")" = 1 ] ||
	fail "a refused change held back the one behind it"
"$F" --db a1.db status | grep -q "refused: .*unknown_form" || fail "status does not show the reason"
out=$(sync_dev a1 2>/dev/null)
echo "$out" | grep -q "pushed 0 .* rejected 0" || fail "a refused change was sent again: $out"
pass "a refused change stays on the device with its reason; the ones behind it went"

# 4. Revoked token.
new_labor gone.db "revoked site" 1 >/dev/null
set +e
sync_dev gone 2>err.txt
rc=$?
set -e
[ $rc -eq 2 ] || fail "sync with a revoked token exited $rc"
grep -q '401' err.txt || fail "revoked sync did not report 401"
[ "$("$F" --db gone.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" = 1 ] ||
	fail "the refused device lost its pending change"
pass "revoked token refused, its device keeps its change"

# 5. Team isolation.
[ "$(sqlite3 b1.db 'SELECT count(*) FROM records')" -eq 1 ] || fail "b1 received another team's records"
curl -s --cacert cert.pem -H "Authorization: Bearer $(cat tok-b1)" "$URL/v1/pull?after=0" >pull.json
grep -q "$r" pull.json && fail "a south token pulled a north record"
grep -q '"changes":\[{' pull.json || fail "b1 did not see its own team's change"
pass "field token sees only its team"

# 6. Bad bodies leave every table unchanged.
before=$(table_hash)
printf '{"device":"%s","batch":"x","changes":[{' "$dev" >bad.json
[ "$(post tok-a1 bad.json)" = 400 ] || fail "malformed JSON not refused with 400"
head -c 20000000 /dev/zero | tr '\0' 'a' >big.bin
[ "$(post tok-a1 big.bin)" = 413 ] || fail "oversized body not refused with 413"
head -c 300000000 /dev/zero | gzip -9 >bomb.gz
[ "$(post tok-a1 bomb.gz -H 'Content-Encoding: gzip')" = 413 ] || fail "zip bomb not refused with 413"
[ "$(table_hash)" = "$before" ] || fail "a refused body changed the store"
pass "malformed JSON 400, oversized 413, zip bomb 413, store unchanged"

# 7. Daemon killed with SIGKILL in the middle of a push; the device resumes.
# 1500 new records saved through the library in one process (fault-dev).
"$DEV" add a3.db 1500 7 --edit 0 --delete 0 >/dev/null || fail "fault-dev could not save 1500 records"
pending=$("$F" --db a3.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')
[ "$pending" -ge 1500 ] || fail "expected 1500 pending changes, got $pending"
dev3=$(sqlite3 a3.db "SELECT value FROM meta WHERE key = 'device_id'")
on_server() { srv_sql "SELECT count(*) FROM changes WHERE device = '$dev3'" 2>/dev/null || echo 0; }
base_n=$(on_server)
sync_dev a3 --batch 20 --attempts 1 >/dev/null 2>&1 &
SPID=$!
# Kill as soon as the first batches have landed: the push is mid-way.
for _ in $(seq 400); do
	[ "$(on_server)" -gt "$base_n" ] && break
	sleep 0.01
done
kill -9 "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
wait "$SPID" 2>/dev/null || true
killed_at=$(on_server)
[ "$killed_at" -lt "$((base_n + 1500))" ] || fail "the push finished before the kill; test did not test"
[ "$(srv_ok)" = ok ] || fail "server store damaged"
start_daemon
sync_dev a3 >/dev/null || fail "resumed sync failed"
local_n=$(sqlite3 a3.db "SELECT count(*) FROM changelog")
server_n=$(srv_sql "SELECT count(*) FROM changes WHERE device = '$dev3'")
distinct_n=$(srv_sql "SELECT count(DISTINCT hlc) FROM changes WHERE device = '$dev3'")
[ "$local_n" = "$server_n" ] || fail "server has $server_n changes of a3, device made $local_n"
[ "$server_n" = "$distinct_n" ] || fail "a change was applied twice"
[ "$("$F" --db a3.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" = 0 ] ||
	fail "changes still pending after resume"
for n in a1 a2; do sync_dev $n >/dev/null; done
sync_dev a3 >/dev/null
[ "$(state a1.db)" = "$(state a3.db)" ] || fail "devices diverged after the daemon crash"
pass "daemon killed mid-push after $((killed_at - base_n)) of 1500 new changes: $server_n changes of a3 on the server exactly once"

# 8. Server restored from an older backup: devices notice and push again.
srv_backup old.db
r2=$(new_labor a2.db "after backup" 7)
r1=$(new_labor a1.db "after backup too" 8)
sync_dev a2 >/dev/null || fail "sync before the restore"
sync_dev a1 >/dev/null || fail "sync before the restore"
kill "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
srv_restore old.db || fail "could not restore the server's store"
start_daemon
[ "$(srv_sql "SELECT count(*) FROM records WHERE id = '$r2'")" = 0 ] ||
	fail "restore test did not restore"
sync_dev a2 >/dev/null || fail "sync after the restore"
[ "$(srv_sql "SELECT count(*) FROM records WHERE id = '$r2'")" = 1 ] ||
	fail "the device did not push again what the restored server lost"
# a2's re-push refilled the sequence numbers past a1's cursor: a1 must still notice.
sync_dev a1 >/dev/null || fail "a1 sync after the restore"
[ "$(srv_sql "SELECT count(*) FROM records WHERE id = '$r1'")" = 1 ] ||
	fail "a1 did not notice the restore and push again"
sync_dev a2 >/dev/null
[ "$(state a1.db)" = "$(state a2.db)" ] || fail "devices diverged after the server restore"
pass "server restored from an older backup; both devices pushed the lost changes again"

# 9. TLS trust: a pinned key alone works with the self-signed certificate, a
# wrong pin and an untrusted certificate are refused as TLS errors.
pin="sha256//$(openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)"
"$F" --db a1.db sync --server "$URL" --token-file tok-a1 --pin "$pin" -q >/dev/null ||
	fail "sync with a pinned key failed"
set +e
"$F" --db a1.db sync --server "$URL" --token-file tok-a1 -q --attempts 1 \
	--pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" >/dev/null 2>err.txt
rc1=$?
"$F" --db a1.db sync --server "$URL" --token-file tok-a1 -q --attempts 1 >/dev/null 2>err2.txt
rc2=$?
set -e
[ $rc1 -ne 0 ] && grep -q "TLS" err.txt || fail "a wrong pin was not refused as a TLS error"
[ $rc2 -ne 0 ] && grep -q "TLS" err2.txt || fail "an untrusted certificate was not refused"
pass "pinned key accepted; wrong pin and untrusted certificate refused"

# 10. No field value reaches the daemon's log.
grep -q "site a1" daemon.log && fail "a field value appears in the daemon log"
grep -qi "$(cat tok-a1)" daemon.log && fail "a token appears in the daemon log"
pass "daemon log holds no field value and no token"
# 11. Protocol 2 (issue 12): a device is not sent its own changes back; a
# version the server does not speak is refused and changes nothing, and
# the device says to update; push-only and pull-only; strict options.
for k in 1 2 3; do new_labor a1.db "own site $k" $k >/dev/null; done
out=$(sync_dev a1) || fail "a1 sync (protocol 2)"
grep -q "^pushed 3 .*pulled 0," <<<"$out" || fail "a1 got its own changes back: $out"
new_labor a2.db "for a1" 7 >/dev/null
out=$(sync_dev a2 --push-only) || fail "a2 push-only"
grep -q "^pushed 1 .*pulled 0," <<<"$out" || fail "push-only pulled: $out"
pend=$("$F" --db a1.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')
new_labor a1.db "stays pending" 8 >/dev/null
out=$(sync_dev a1 --pull-only) || fail "a1 pull-only"
grep -q "^pushed 0 .*pulled 1," <<<"$out" || fail "pull-only: $out"
[ "$("$F" --db a1.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" = $((pend + 1)) ] ||
	fail "pull-only pushed"
"$F" --db a1.db status | grep -q "^last try: .*: finished" || fail "status lacks the last try"
"$F" --db a1.db status | grep -q "^acknowledged: [1-9]" || fail "status lacks the acknowledged count"
set +e
for bad in "--batch 10x" "--batch 0" "--attempts 1e3" "--batch-bytes 12"; do
	# shellcheck disable=SC2086
	sync_dev a1 $bad >/dev/null 2>bad.err
	rc=$?
	[ $rc -eq 2 ] && grep -q "must be" bad.err || fail "sync $bad: exit $rc ($(cat bad.err))"
done
sync_dev a1 --push-only --pull-only >/dev/null 2>bad.err
[ $? -eq 2 ] || fail "--push-only with --pull-only accepted"
set -e
before=$(table_hash)
printf '{"device":"%s","batch":"proto-test","changes":[%s]}' "$dev" "$body" >proto.json
# A 0.4 device (merge rule 1) gets the same clear answer (issue 22).
for h in "Fieldsync-Protocol: 4" "Fieldsync-Protocol: x" "Fieldsync-Merge-Rule: 9" "Fieldsync-Merge-Rule: 1"; do
	code=$(post tok-a1 proto.json -H "$h")
	[ "$code" = 400 ] && grep -q '"error":"unsupported_\(protocol\|merge_rule\)".*"protocol":3' answer.json ||
		fail "push with '$h': HTTP $code $(cat answer.json)"
done
[ "$(table_hash)" = "$before" ] || fail "a push in an unknown protocol changed the store"
# South's device asking at a north change's sequence learns no north stamp.
nseq=$(srv_sql "SELECT max(seq) FROM changes WHERE team = 'north'")
curl -s --cacert cert.pem -H "Authorization: Bearer $(cat tok-b1)" -H "Fieldsync-Protocol: 2" \
	"$URL/v1/pull?after=$((nseq - 1))&limit=1" >pullx.json
python3 -c 'import json,sys; j=json.load(open("pullx.json")); sys.exit(0 if j.get("after_hlc","") == "" else 1)' ||
	fail "a south device got a north stamp: $(cat pullx.json)"
# A server that no longer speaks this protocol: the device says to update.
python3 - >fake.port 2>fake.log <<'PY' &
import http.server, json, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = json.dumps({"error": "unsupported_protocol", "protocol": 3,
                           "detail": "this server speaks protocol 3"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.timeout = 20
for _ in range(4):
    s.handle_request()
PY
FAKE=$!
for _ in $(seq 100); do [ -s fake.port ] && break; sleep 0.05; done
set +e
"$F" --db a1.db sync --server "http://127.0.0.1:$(cat fake.port)" --token-file tok-a1 >out.txt 2>err.txt
rc=$?
set -e
kill $FAKE 2>/dev/null || true
[ $rc -eq 1 ] && grep -q "update fieldsync" err.txt || fail "old protocol: exit $rc, $(cat err.txt)"
[ "$("$F" --db a1.db status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" = $((pend + 1)) ] ||
	fail "a refused protocol changed what is pending"
"$F" --db a1.db status | grep -q "^last try: .*update fieldsync" || fail "status lacks the version error"
# A cloned device image: a2's store copied, a2 syncs a new record, then the
# copy pulls.  Its own changes are never sent back now, so own_hlc (the
# newest stamp the server holds from this device id) must give the twin away.
cp a2.db clone.db
new_labor a2.db "after the copy" 4 >/dev/null
sync_dev a2 >/dev/null || fail "a2 sync before the clone's"
set +e
"$F" --db clone.db sync --server "$URL" --token-file tok-a2 --cacert cert.pem -q >out.txt 2>err.txt
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "cloned" err.txt || fail "a cloned image pulled without noticing: $rc $(cat err.txt)"

# A server whose answer counts fewer changes than were sent (a refusal
# dropped from it): the device trusts none of it and marks nothing sent.
python3 - >fake2.port 2>fake2.log <<'PY' &
import http.server, json, socketserver
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"batch": "x", "accepted": 1, "duplicates": 0, "conflicts": 0,
                           "rejected": [], "cursor": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.timeout = 20
for _ in range(3):
    s.handle_request()
PY
FAKE=$!
for _ in $(seq 100); do [ -s fake2.port ] && break; sleep 0.05; done
"$F" --db a5.db init --device a5 >/dev/null
"$F" --db a5.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
for k in 1 2 3; do new_labor a5.db "short $k" $k >/dev/null; done
set +e
"$F" --db a5.db sync --server "http://127.0.0.1:$(cat fake2.port)" --token-file tok-a1 \
	--attempts 1 --push-only >out.txt 2>err.txt
rc=$?
set -e
kill $FAKE 2>/dev/null || true
[ $rc -ne 0 ] && grep -q "counts 1 changes, 3 were sent: not trusted" err.txt ||
	fail "an answer short of two changes was taken: $rc $(cat err.txt)"
[ "$(sqlite3 a5.db "SELECT count(*) FROM changelog WHERE pushed = 1")" = 0 ] ||
	fail "a change was marked sent from an answer that did not count it"
pass "protocol 2: no echo, push-only and pull-only, versions refused with 'update fieldsync', strict options, no cross-team stamp, short answers not trusted, a cloned image noticed"

# 12. Snapshot (issue 12): a device that has pulled nothing takes each
# record's row once instead of every change; it ends identical to a device
# that merged every change, keeps its own offline record, notes where the
# snapshot was taken, and later changes come by pull.
token a6 field north
"$F" --db a6.db init --device a6 >/dev/null
"$F" --db a6.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
own6=$(new_labor a6.db "a6 offline" 6)
sync_dev a1 >/dev/null || fail "a1 before the snapshot"
north_records=$(srv_sql "SELECT count(*) FROM records WHERE team = 'north'")
north_changes=$(srv_sql "SELECT count(*) FROM changes WHERE team = 'north'")
"$F" --db a6.db sync --server "$URL" --token-file tok-a6 --cacert cert.pem >snap.out 2>&1 ||
	fail "a6's first sync: $(cat snap.out)"
grep -q 'device=a6 "GET /v1/snapshot' daemon.log || fail "a6 did not take a snapshot"
pulled=$(sed -n 's/.*pulled \([0-9]*\).*/\1/p' snap.out | tail -1)
# One row per record of the team, but its own new one: no echo.
[ "$pulled" -eq "$north_records" ] ||
	fail "a6 pulled $pulled for $north_records records ($north_changes changes)"
snaps=$(grep -c 'device=a6 "GET /v1/snapshot' daemon.log)
sync_dev a1 >/dev/null || fail "a1 after a6"
[ "$(state a6.db)" = "$(state a1.db)" ] || fail "a6 after its snapshot differs from a1"
[ "$(sqlite3 a6.db "SELECT value FROM fields WHERE record_id = '$own6' AND name = 'number_of_workers'")" = 6 ] ||
	fail "a6's own offline record was lost"
[ "$(sqlite3 a6.db "SELECT count(*) FROM meta WHERE key LIKE 'snapshot%'")" = 0 ] ||
	fail "snapshot bookkeeping left behind"
[ "$(sqlite3 a6.db "SELECT value FROM meta WHERE key = 'pull_cursor'")" -gt 0 ] &&
	[ -n "$(sqlite3 a6.db "SELECT value FROM meta WHERE key = 'cursor_hlc'")" ] ||
	fail "no pull cursor after the snapshot"
sync_dev a2 >/dev/null || fail "a2 after a6"
"$F" --db a2.db record edit "$own6" --set number_of_workers=66 >/dev/null
sync_dev a2 >/dev/null && sync_dev a6 >/dev/null || fail "syncs after the snapshot"
[ "$(sqlite3 a6.db "SELECT value FROM fields WHERE record_id = '$own6' AND name = 'number_of_workers'")" = 66 ] ||
	fail "a change after the snapshot did not come by pull"
# Pages of 50, 100, 200, then 500 records (a fast link).
pages=0 lim=50 left=$north_records
while :; do pages=$((pages + 1)); left=$((left - lim)); [ $left -gt 0 ] || break
	lim=$((lim * 2 > 500 ? 500 : lim * 2)); done
[ "$snaps" -eq "$pages" ] || fail "a6 took $snaps snapshot pages for $north_records records, not $pages"
[ "$(grep -c 'device=a6 "GET /v1/snapshot' daemon.log)" -eq "$snaps" ] ||
	fail "a6 took the snapshot again"
pass "snapshot: a fresh device took $pulled rows for $north_changes changes, converged, kept its own record, then pulled"

# 13. A record keeps its form, and every value it holds fits its version
# (issue 14, items 1-3): changes that would break either are refused one
# by one with the reason; the record is unchanged.
r=${ids[a11]}
# The shipped versions (V1, BV), and the next one of the labour form (V2).
V1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$SRC/tests/fixtures/forms/labor_inspection.json")
BV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$SRC/tests/fixtures/forms/border_screening.json")
V2=$((V1 + 1))
python3 - "$SRC/tests/fixtures/forms/labor_inspection.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["version"] += 1
for x in f["fields"]:
    if x["name"] == "number_of_workers":
        x["max"] = 10
json.dump(f, open("labor_v2.json", "w"))
PY
"$D" -d data form publish labor_v2.json >/dev/null 2>&1 || fail "could not publish labour v2"
mk() { # file then change specs: op form version fields-json [record]
	python3 - "$dev" "$r" "$@" <<'PY'
import json, sys, time
dev, rec, out = sys.argv[1], sys.argv[2], sys.argv[3]
specs, changes, ms = sys.argv[4:], [], int(time.time() * 1000)
for i in range(0, len(specs), 5):
    op, form, ver, fields, rid = specs[i:i + 5]
    c = {"id": rid if rid != "-" else rec, "form": form, "form_version": int(ver), "op": op,
         "hlc": "%016x-%s" % ((ms << 16) | i, dev), "base": {}}
    if op == "upsert":
        c["fields"] = json.loads(fields)
    changes.append(c)
json.dump({"device": dev, "batch": "form-rules-%d" % ms, "changes": changes}, open(out, "w"))
PY
}
before=$(state server | grep "$r")
new2=0000000000000000000000000000f002
mk rules.json upsert border_screening "$BV" '{"checkpoint":"North gate"}' - \
	delete border_screening "$BV" '{}' - \
	upsert labor_inspection "$V2" '{"worksite_name":"renamed"}' - \
	upsert labor_inspection "$V2" '{"worksite_name":"v2 site","sector":"fishing","inspection_date":"2026-11-20","referral_decision":"monitor","number_of_workers":5}' "$new2"
[ "$(post tok-r1 rules.json)" = 200 ] || fail "form rules push: $(cat answer.json)"
python3 - "$V2" <<'PY' || fail "form rules: $(cat answer.json)"
import json, sys
a = json.load(open("answer.json"))
rej = {x["index"]: x for x in a["rejected"]}
assert a["accepted"] == 1, a
assert rej[0]["error"] == "form_mismatch" and rej[1]["error"] == "form_mismatch", rej
assert rej[2]["error"] == "invalid" and "number_of_workers" in rej[2]["detail"] \
    and "version " + sys.argv[1] in rej[2]["detail"], rej[2]
PY
[ "$(state server | grep "$r")" = "$before" ] || fail "a refused change altered the record"
[ "$(srv_sql "SELECT form, form_version FROM records WHERE id = '$r'")" = "labor_inspection|$V1" ] ||
	fail "the record's form or version moved"
# A v1 change may not put into a v2 record what v2 forbids; one that fits is taken.
mk rules2.json upsert labor_inspection "$V1" '{"number_of_workers":50}' "$new2" \
	upsert labor_inspection "$V1" '{"number_of_workers":7}' "$new2"
[ "$(post tok-r1 rules2.json)" = 200 ] || fail "form rules push 2: $(cat answer.json)"
python3 -c 'import json; a = json.load(open("answer.json")); assert a["accepted"] == 1 and a["rejected"][0]["index"] == 0 and "number_of_workers" in a["rejected"][0]["detail"], a' ||
	fail "a v1 change broke a v2 record: $(cat answer.json)"
[ "$(srv_sql "SELECT value FROM fields WHERE record_id = '$new2' AND name = 'number_of_workers'")" = 7 ] ||
	fail "the fitting v1 change was not merged"
pass "a change naming another form, or breaking its record's version, is refused; the record is unchanged"

# Strict where the document is (issue 14, item 6): an unknown envelope
# key, a body that is not JSON by its type, an unknown or repeated pull
# parameter are refused with the reason, and nothing changes.
before=$(table_hash)
python3 -c 'import json; b = json.load(open("rules2.json")); b["batch"] = "strict-1"; b["colour"] = "red"; json.dump(b, open("strict.json", "w"))'
[ "$(post tok-r1 strict.json)" = 400 ] && grep -q "unknown key 'colour'" answer.json ||
	fail "an unknown envelope key was not refused: $(cat answer.json)"
code=$(curl -s -o answer.json -w '%{http_code}' --cacert cert.pem \
	-H "Authorization: Bearer $(cat tok-a1)" -H 'Content-Type: text/plain' \
	--data-binary @strict.json "$URL/v1/push")
[ "$code" = 415 ] || fail "a text/plain push was not refused: $code $(cat answer.json)"
for q in 'after=0&after=5' 'after=0&colour=red' 'limit=5&limit=6'; do
	code=$(curl -s -o answer.json -w '%{http_code}' --cacert cert.pem \
		-H "Authorization: Bearer $(cat tok-a1)" "$URL/v1/pull?$q")
	[ "$code" = 400 ] && grep -q "unknown or given twice" answer.json ||
		fail "pull ?$q answered $code: $(cat answer.json)"
done
[ "$(table_hash)" = "$before" ] || fail "a refused request changed the store"
pass "strict: unknown envelope keys, non-JSON content types, unknown or repeated pull parameters refused"

# 14. A change is stored as the bytes the device sent (issue 12): spacing,
# key order, number spelling and escapes kept, and pulled back the same.
python3 - "$dev" "$V1" <<'PY'
import sys, time
dev, ms, v1 = sys.argv[1], int(time.time() * 1000), int(sys.argv[2])
rec = "%032x" % (0xbee000 + ms % 4096)
change = ('{ "op":"upsert" , "id" : "%s", "form":"labor_inspection",\n'
          '  "form_version":%d, "hlc":"%016x-%s", "base":{ },\n'
          '  "fields":{"worksite_name":"caf\\u00e9 \\u0041","sector":"fishing",'
          '"inspection_date":"2026-11-20","referral_decision":"monitor",'
          '"number_of_workers":4.0E0} }' % (rec, v1, (ms << 16) | 7, dev))
open("exact.change", "w").write(change)
open("exact.json", "w").write('{"device":"%s","batch":"exact-%d",\n "changes":[ %s ]}' % (dev, ms, change))
open("exact.id", "w").write(rec)
PY
[ "$(post tok-r1 exact.json)" = 200 ] || fail "exact-bytes push: $(cat answer.json)"
grep -q '"accepted":1' answer.json || fail "exact-bytes change not accepted: $(cat answer.json)"
srv_sql "SELECT body FROM changes WHERE record_id = '$(cat exact.id)'" >stored.change
printf '%s\n' "$(cat exact.change)" | cmp -s - stored.change ||
	fail "the stored change differs from the bytes sent: $(cat stored.change)"
curl -s --cacert cert.pem -H "Authorization: Bearer $(cat tok-a2)" -H 'Fieldsync-Protocol: 2' \
	"$URL/v1/pull?after=$(($(srv_sql "SELECT seq FROM changes WHERE record_id = '$(cat exact.id)'") - 1))&limit=1" >pulled.json
grep -qF "$(head -c 40 exact.change)" pulled.json || fail "the change was not pulled back as sent"
pass "a change is stored and pulled as the exact bytes its device sent"
echo "test-sync: all passed"
