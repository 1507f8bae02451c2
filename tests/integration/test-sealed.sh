#!/usr/bin/env bash
# test-sealed.sh -- sealed sensitive values end to end (issue 17), through
# the real fieldsyncd over HTTPS on 127.0.0.1 and real fieldsync devices.
#
# A unique planted name and phone number recorded on device a1 are sealed
# on save: the change log holds only ciphertext, the author reads its
# draft until the server acknowledges the change, and then not even the
# author's store holds them.  The planted values (as bytes, base64 and
# hex) are absent from: the server database and WAL, a backup, the daemon
# log, the audit output, an export without the key, another device's
# store, and the author's store after acknowledgement.  A reveal needs the
# reviewer's own unlock (wrong passphrases answered 403, then 429 after
# five, audited), and then shows them; `fieldsyncd export --unlock` writes
# them; the lock wipes the key.  Two devices editing the sealed field
# concurrently make a conflict whose two candidates a reveal opens.  A form
# with keep_drafts keeps the author's copy after the ack.  `key rotate
# --reseal` seals old-key and plain (pre-key) values to the new key with
# signed headquarters changes that verify and that devices pull, leaving
# a field in conflict; a second reseal moves nothing.
#
# usage: test-sealed.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-sealed-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
# shellcheck source=../pg/store-env.sh
. "$SRC/tests/pg/store-env.sh" # the PostgreSQL store under tests/pg/with-pg.sh
umask 077

fail() {
	echo "FAIL: $*" >&2
	[ -f body ] && { echo "--- last body:" >&2; head -c 600 body >&2; echo >&2; }
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

# Unique per run: a leftover of another run cannot make a false pass.
R=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
NAME="Planted-Victim-$R"
PHONE=$(printf '+44 7700 %d%d%d %d%d%d' $((16#${R:0:1} % 10)) $((16#${R:1:1} % 10)) \
	$((16#${R:2:1} % 10)) $((16#${R:3:1} % 10)) $((16#${R:4:1} % 10)) $((16#${R:5:1} % 10)))
NAME2="Second-Name-$R"
NAME3="Third-Name-$R"
PASS="Sealing-Passphrase-$R"

# absent WHAT FILE...: none of the planted values in the files, as bytes,
# base64 (every alignment) or hex.
absent() {
	local what=$1
	shift
	python3 - "$what" "$NAME" "$PHONE" "$@" <<'PY' || fail "$what holds a planted value"
import base64, binascii, sys
what, name, phone, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
needles = []
for v in (name, phone):
    b = v.encode()
    needles.append(("bytes", b))
    needles.append(("hex", binascii.hexlify(b)))
    needles.append(("HEX", binascii.hexlify(b).upper()))
    for pad in range(3):  # base64 of the value at each alignment, its stable middle
        e = base64.b64encode(b"x" * pad + b)
        needles.append(("base64", e[4:-4]))
bad = []
for f in files:
    data = open(f, "rb").read()
    for kind, n in needles:
        if n in data:
            bad.append(f"{f} ({kind})")
if bad:
    print("planted value found in: " + ", ".join(sorted(set(bad))), file=sys.stderr)
    sys.exit(1)
PY
}
present() { # what file: the planted name is there
	grep -a -q -F "$NAME" "$2" || fail "$1 lacks the planted name"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

token() { # name role team [more device add options]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}

"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
for n in a1 a2; do token $n field north; done
token rev reviewer hq --all-teams
token rev2 reviewer hq --all-teams
printf '%s\n' "$PASS" >pass.txt
printf '%s\n' "Wrong-Passphrase-$R" >wrong.txt
"$D" -d data key create --passphrase-file pass.txt >/dev/null 2>&1 || fail "key create failed"

"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
	2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)

get() { # PATH [token-name] [curl args...]: prints the status; body in ./body
	local path=$1 tok=${2:-rev}
	shift 2 || shift $#
	curl -s -o body -D headers -w '%{http_code}' --cacert cert.pem \
		-H "Authorization: Bearer $(cat "tok-$tok")" "$@" "$URL$path"
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
py() { python3 -c "import json,sys; j=json.load(open('body')); print($1)"; }
sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }

for n in a1 a2; do
	"$F" --db $n.db init --device $n >/dev/null
	sync_dev $n || fail "first sync of $n"
	[ "$(sqlite3 $n.db "SELECT json_extract(value, '\$.id') FROM meta WHERE key = 'seal_key'")" = \
		"$("$D" -d data key list | awk '{print $1}')" ] || fail "$n did not learn the sealing key"
done
pass "devices learn headquarters' public key with the forms"

# --- The author saves: sealed in the log, readable as a draft ----------
python3 - "$NAME" "$PHONE" <<'PY'
import json, sys
json.dump({"worksite_name": "Gamma farm", "sector": "agriculture",
           "inspection_date": "2026-12-01", "referral_decision": "monitor",
           "interviewee_name": sys.argv[1], "employer_contact_phone": sys.argv[2],
           "number_of_workers": 4}, open("r1.json", "w"))
PY
R1=$("$F" --db a1.db record new labor_inspection --json r1.json) || fail "record new failed"
rm r1.json
sqlite3 a1.db "SELECT body FROM changelog" >log.txt
absent "the author's change log" log.txt
grep -q '"interviewee_name":{"sealed":"' log.txt || fail "the change does not carry a sealed envelope"
grep -q '"worksite_name":"Gamma farm"' log.txt || fail "a field that is not sensitive was sealed"
"$F" --db a1.db record show "$R1" >show.json || fail "record show failed"
present "record show on the author's device before sync" show.json
[ "$(sqlite3 a1.db 'SELECT count(*) FROM drafts')" -eq 2 ] || fail "the author keeps no drafts"
pass "a save seals the sensitive values into the log; the author reads its draft"

# An edit of a sealed field compares with the draft: the same value writes nothing.
n0=$(sqlite3 a1.db 'SELECT count(*) FROM changelog')
"$F" --db a1.db record edit "$R1" --set interviewee_name="$NAME" >/dev/null || fail "edit failed"
[ "$(sqlite3 a1.db 'SELECT count(*) FROM changelog')" -eq "$n0" ] ||
	fail "an edit to the same draft value made a change"
pass "an unchanged sealed value is not written again while its draft is held"

sync_dev a1 || fail "sync of a1"
[ "$(sqlite3 a1.db 'SELECT count(*) FROM drafts')" -eq 0 ] || fail "drafts kept after the ack"
for f in a1.db a1.db-wal; do [ -f "$f" ] && absent "the author's store after ack ($f)" "$f"; done
"$F" --db a1.db record show "$R1" >show.json
absent "record show on the author's device after ack" show.json
grep -q '"sealed"' show.json || fail "record show after ack does not say the value is sealed"
pass "once acknowledged, the author's store holds only ciphertext"

sync_dev a2 || fail "sync of a2"
"$F" --db a2.db record show "$R1" >show2.json || fail "a2 lacks the record"
grep -q '"Gamma farm"' show2.json || fail "a2 lacks the plain fields"
for f in a2.db a2.db-wal show2.json; do [ -f "$f" ] && absent "another device's store ($f)" "$f"; done
pass "another device of the team receives ciphertext only"

# --- The server and everything it writes ------------------------------
for f in data/fieldsyncd.db data/fieldsyncd.db-wal daemon.log; do
	[ -f "$f" ] && absent "the server ($f)" "$f"
done
if [ -n "$ON_PG" ]; then
	# Every file of the PostgreSQL cluster: tables, indexes, TOAST, WAL.
	psql -X -q -d "$PGCONN" -c CHECKPOINT || fail "checkpoint"
	mapfile -t pgfiles < <(find "$FS_PG_DIR/data/base" "$FS_PG_DIR/data/pg_wal" -type f -size +0)
	[ "${#pgfiles[@]}" -gt 10 ] || fail "found no PostgreSQL files to search"
	absent "the PostgreSQL store's files" "${pgfiles[@]}"
	srv_backup bk.db || fail "pg_dump failed"
else
	"$D" -d data backup --to bk.db >/dev/null || fail "backup failed"
fi
absent "a backup" bk.db
"$D" -d data export --form labor_inspection --format json --include-sensitive --out x.json \
	2>/dev/null || fail "export failed"
absent "an export without the key" x.json
grep -q '"sealed"' x.json || fail "the export without the key does not carry the envelopes"
pass "server database and WAL, backup, log and an export without the key hold no planted value"

# --- Reveal needs this reviewer's unlock ------------------------------
expect 200 "record view" get "/v1/review/records/$R1"
absent "the masked record view" body
expect 403 "reveal while locked" post "/v1/review/records/$R1/reveal" '{}'
[ "$(py 'j["error"]')" = key_locked ] || fail "a locked reveal does not say key_locked"
expect 403 "unlock with a wrong passphrase" post /v1/review/unlock \
	"{\"passphrase\":\"Wrong-Passphrase-$R\"}"
[ "$(py 'j["error"]')" = wrong_passphrase ] || fail "no clear error for a wrong passphrase"
expect 400 "unlock without a passphrase" post /v1/review/unlock '{}'
expect 200 "unlock" post /v1/review/unlock "{\"passphrase\":\"$PASS\"}"
[ "$(py 'j["unlocked_seconds"]')" -eq 300 ] || fail "unlock does not say for how long"
expect 200 "me" get /v1/review/me
[ "$(py 'j["unlocked_seconds"] > 0')" = True ] || fail "me does not show the unlock"
expect 200 "reveal after unlock" post "/v1/review/records/$R1/reveal" '{}'
[ "$(py 'j["fields"]["interviewee_name"]')" = "$NAME" ] || fail "reveal did not open the name"
[ "$(py 'j["fields"]["employer_contact_phone"]')" = "$PHONE" ] || fail "reveal did not open the phone"
[ "$(py 'j["still_sealed"]')" -eq 0 ] || fail "reveal left values sealed"
XQ="/v1/review/export?form=labor_inspection&format=json&include_sensitive=true"
expect 200 "the page's export while unlocked" get "$XQ"
present "the page's export while unlocked" body
# Another reviewer needs its own unlock.
expect 403 "another reviewer's reveal" post "/v1/review/records/$R1/reveal" '{}' rev2
expect 200 "another reviewer's export" get "$XQ" rev2
absent "another reviewer's export (not unlocked)" body
expect 200 "lock" post /v1/review/lock '{}'
expect 403 "reveal after lock" post "/v1/review/records/$R1/reveal" '{}'
expect 200 "the page's export after the lock" get "$XQ"
absent "the page's export after the lock" body
grep -q '"sealed"' body || fail "the export after the lock lacks the envelopes"
pass "a reveal or the page's export opens sealed values only after this reviewer's unlock, until the lock"

# --- Export with the key ----------------------------------------------
if "$D" -d data export --form labor_inspection --format json --passphrase-file wrong.txt \
	--out y.json 2>err; then
	fail "export took a wrong passphrase"
fi
grep -q 'unlocks no sealing key' err || fail "no clear error for the export's wrong passphrase"
[ ! -f y.json ] || fail "a refused export left a file"
"$D" -d data export --form labor_inspection --format csv --passphrase-file pass.txt \
	--out y.csv 2>err || fail "export --unlock failed: $(cat err)"
present "the export with the key" y.csv
grep -q -F "$PHONE" y.csv || fail "the export with the key lacks the phone"
grep -q '2 sealed values opened' err || fail "export --unlock does not count what it opened"
rm y.csv
pass "export --passphrase-file writes the opened values; a wrong passphrase exports nothing"

# --- A conflict on a sealed field -------------------------------------
"$F" --db a1.db record edit "$R1" --set interviewee_name="$NAME2" >/dev/null || fail "a1 edit"
"$F" --db a2.db record edit "$R1" --set interviewee_name="$NAME3" >/dev/null || fail "a2 edit"
sync_dev a1 && sync_dev a2 && sync_dev a1 || fail "syncs after the concurrent edits"
for n in a1 a2; do
	"$F" --db $n.db record show "$R1" >s-$n.json
	python3 - s-$n.json <<'PY' || fail "$n does not show one conflict on the sealed field"
import json, sys
r = json.load(open(sys.argv[1]))
c = [x for x in r["conflicts"] if x["field"] == "interviewee_name"]
assert len(c) >= 1, r["conflicts"]
PY
done
expect 200 "unlock again" post /v1/review/unlock "{\"passphrase\":\"$PASS\"}"
expect 200 "reveal the conflict" post "/v1/review/records/$R1/reveal" '{}'
python3 - "$NAME2" "$NAME3" <<'PY' || fail "the reveal does not open both candidates"
import json, sys
j = json.load(open("body"))
seen = {j["fields"]["interviewee_name"]} | {c.get("value") for c in j["candidates"]
                                            if c["field"] == "interviewee_name"}
assert {sys.argv[1], sys.argv[2]} <= seen, seen
PY
pass "concurrent edits of a sealed field conflict; a reveal opens both candidates"

# --- A form that keeps the author's drafts (keep_drafts) ----------------
cat >keep.json <<'JSON'
{"id": "case_note", "version": 1, "title": "Case note", "keep_drafts": true,
 "fields": [{"name": "topic", "type": "text", "required": true},
            {"name": "person", "type": "text", "sensitive": true}]}
JSON
"$D" -d data form publish keep.json >/dev/null || fail "publishing a keep_drafts form"
sync_dev a1 || fail "a1 fetching the new form"
KEEP_NAME="Kept-Name-$R"
R2=$("$F" --db a1.db record new case_note --set topic=visit --set person="$KEEP_NAME") ||
	fail "record new case_note"
sync_dev a1 || fail "sync of the kept record"
"$F" --db a1.db record show "$R2" >show.json
grep -q -F "$KEEP_NAME" show.json || fail "keep_drafts: the author cannot reread its value after the ack"
[ "$(sqlite3 a1.db 'SELECT count(*) FROM drafts WHERE keep = 1')" -eq 1 ] || fail "keep_drafts: no kept draft"
srv_sql "SELECT body FROM changes" >server-changes.txt
if grep -q -F "$KEEP_NAME" server-changes.txt; then fail "keep_drafts: the server holds the plain value"; fi
sync_dev a2 || fail "a2 pulling the kept record"
"$F" --db a2.db record show "$R2" >show2.json
if grep -q -F "$KEEP_NAME" show2.json a2.db; then fail "keep_drafts: another device reads the value"; fi
pass "a form with keep_drafts keeps the author's readable copy after the ack, and only there"

# --- Rotation and re-sealing --------------------------------------------
# A device that recorded before it knew any key: its sensitive value
# reaches the server plain (a saved form is never refused for want of a key).
"$F" --db a3.db init --device a3 >/dev/null
"$F" --db a3.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
"$D" -d data device add --name a3 --role field --team north 2>/dev/null | sed -n 's/^token: //p' >tok-a3
LEGACY="Legacy-Plain-$R"
R3=$("$F" --db a3.db record new labor_inspection --set worksite_name=Omega --set sector=mining \
	--set inspection_date=2026-12-03 --set referral_decision=monitor \
	--set interviewee_name="$LEGACY") || fail "record new on a3"
sync_dev a3 || fail "sync of a3"
old_id=$("$D" -d data key list | awk 'NR == 1 {print $1}')
"$D" -d data key rotate --passphrase-file pass.txt --reseal >rot.out 2>rot.err ||
	fail "key rotate --reseal: $(cat rot.err)"
new_id=$("$D" -d data key list | awk 'NR == 1 {print $1}')
[ "$new_id" != "$old_id" ] || fail "rotate made no new key"
grep -q "re-sealed [1-9][0-9]* values in [1-9][0-9]* records to key $new_id" rot.out ||
	fail "rotate --reseal: $(cat rot.out)"
grep -q 'fields in conflict left' rot.out || fail "the conflicting field is not reported as left"
"$D" -d data key reseal --passphrase-file pass.txt >again.out 2>/dev/null || fail "reseal again"
grep -q "re-sealed 0 values" again.out || fail "a second reseal moved values: $(cat again.out)"
"$D" -d data verify >verify.out || fail "verify after the reseal: $(cat verify.out)"
sync_dev a2 || fail "a2 pulling the re-sealed values"
# R1's name is in conflict (left for a reviewer); its phone moves; R3's plain name moves.
for rf in "$R1 employer_contact_phone" "$R3 interviewee_name"; do
	set -- $rf
	"$F" --db a2.db record show "$1" >show.json
	python3 - "$new_id" show.json "$2" <<'PY' || fail "record $1's $2 is not sealed to the new key on a2"
import json, sys
v = json.load(open(sys.argv[2]))["values"][sys.argv[3]]
assert isinstance(v, dict) and v["key"] == sys.argv[1], v
PY
done
if grep -a -q -F "$LEGACY" a2.db a2.db-wal 2>/dev/null; then fail "the legacy plain value reached a2"; fi
srv_sql "SELECT state FROM records" >states.txt
if grep -q -F "$LEGACY" states.txt; then fail "the server's current state still holds the plain value"; fi
expect 200 "unlock after the rotation" post /v1/review/unlock "{\"passphrase\":\"$PASS\"}"
expect 200 "reveal the re-sealed legacy value" post "/v1/review/records/$R3/reveal" '{}'
[ "$(py 'j["fields"]["interviewee_name"]')" = "$LEGACY" ] || fail "the re-sealed value does not open"
"$D" -d data audit | grep -q ' key.reseal ' || fail "the reseal is not audited"
pass "key rotate --reseal seals old-key and plain values to the new key (signed, verified, pulled, resumable)"

# --- Case files: sealed values kept, and revealed with proof -----------------
"$D" -d data casefile "$R1" --out cf-plain >/dev/null 2>&1 || fail "casefile"
absent "a case file made without --reveal" cf-plain/manifest.json cf-plain/changes/*.json
"$F" verify-bundle cf-plain >vb.out || fail "verify-bundle: $(cat vb.out)"
if grep -q 'withheld' vb.out; then fail "sealed values were withheld from the case file: $(cat vb.out)"; fi
"$D" -d data casefile "$R1" --out cf-rev --passphrase-file pass.txt >cf.out 2>&1 ||
	fail "casefile --reveal: $(cat cf.out)"
grep -q '[1-9][0-9]* sealed value(s) revealed' cf.out || fail "casefile --reveal revealed nothing: $(cat cf.out)"
"$F" verify-bundle cf-rev >vb.out || fail "verify-bundle of a revealing case file: $(cat vb.out)"
grep -q "revealed: 'interviewee_name' in changes/0001.json is \"$NAME\" (matches" vb.out ||
	fail "verify-bundle does not prove the revealed name: $(cat vb.out)"
# A revealed text changed: the file's hash fails (the manifest is signed).
f=$(ls cf-rev/revealed/*interviewee_name.json | head -1)
sed -i "s/$NAME/Someone-Else-$R/" "$f"
if "$F" verify-bundle cf-rev >vb.out 2>&1; then fail "verify-bundle took an altered revealed value"; fi
"$D" -d data audit | grep -q " casefile.reveal " || fail "the revealing case file is not audited"
pass "case files keep sealed values (their changes verify whole); --reveal adds text and salt that verify-bundle proves against the signed commitment"

# --- The unlock expires by itself (unlock_seconds) ------------------------
kill "$DPID"
wait "$DPID" 2>/dev/null || true
{ [ -z "$ON_PG" ] || cat store.conf; printf 'unlock_seconds = 10\n'; } >short.conf
rm -f port
"$D" -f short.conf -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
	2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not restart"
URL=https://127.0.0.1:$(cat port)
expect 200 "unlock for 10 s" post /v1/review/unlock "{\"passphrase\":\"$PASS\"}"
[ "$(py 'j["unlocked_seconds"]')" -eq 10 ] || fail "unlock_seconds is not taken from the configuration"
expect 200 "reveal within the time" post "/v1/review/records/$R3/reveal" '{}'
sleep 11
expect 200 "me after the time" get /v1/review/me
[ "$(py 'j["unlocked_seconds"]')" -eq 0 ] || fail "the key is still unlocked after its time"
expect 403 "reveal after the time" post "/v1/review/records/$R3/reveal" '{}'
pass "an unlock ends by itself after unlock_seconds"

# --- Rate limit and audit ----------------------------------------------
for i in 1 2 3 4; do
	code=$(post /v1/review/unlock "{\"passphrase\":\"Wrong-$i-$R\"}" rev2)
	[ "$code" = 403 ] || [ "$code" = 429 ] || fail "wrong passphrase $i: HTTP $code"
done
expect 429 "the sixth wrong passphrase" post /v1/review/unlock "{\"passphrase\":\"Wrong-6-$R\"}" rev2
grep -qi '^retry-after: [1-9]' headers || fail "429 without Retry-After"
expect 429 "even the right passphrase while limited" post /v1/review/unlock \
	"{\"passphrase\":\"$PASS\"}" rev2
"$D" -d data audit >audit.txt
for a in key.unlock key.unlock_failed key.unlock_refused key.lock review.reveal; do
	grep -q " $a " audit.txt || fail "no $a in the audit trail"
done
absent "the audit output" audit.txt
if grep -q -F "$PASS" audit.txt daemon.log; then fail "the passphrase is in the audit or the log"; fi
absent "the daemon log at the end" daemon.log
pass "wrong passphrases are limited (429, Retry-After) and every attempt is audited, no value in it"

# The limit is the store's, not the process's: a restarted daemon (or
# another daemon on the same PostgreSQL store) still refuses (issue 18).
kill "$DPID"
wait "$DPID" 2>/dev/null || true
rm -f port
"$D" -f short.conf -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
	2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not restart"
URL=https://127.0.0.1:$(cat port)
expect 429 "the right passphrase on a restarted daemon while limited" post /v1/review/unlock \
	"{\"passphrase\":\"$PASS\"}" rev2
grep -qi '^retry-after: [1-9]' headers || fail "429 without Retry-After after a restart"
pass "the limit on wrong passphrases holds across a restart (counted from the audit trail)"
