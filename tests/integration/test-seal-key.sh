#!/usr/bin/env bash
# test-seal-key.sh -- headquarters' sealing key (issue 17, first part),
# through the real fieldsyncd: `key create` with a passphrase file (a file
# others may read and a short passphrase refused), `key list`, `key check`
# with the right and a wrong passphrase, the public key served with the
# forms over HTTPS, and neither the passphrase nor the secret key stored:
# the database holds only the key locked under the passphrase.
#
# usage: test-seal-key.sh FIELDSYNCD SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d /tmp/fs-test-sealkey-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
umask 077

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

PASS="Passphrase-Planted-6f1d-long"
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null

# No key yet.
"$D" -d data key list >out || fail "key list without a key failed"
grep -q 'no sealing key' out || fail "key list says nothing of the missing key: $(cat out)"

# A passphrase file others may read is refused, nothing stored.
printf '%s\n' "$PASS" >pass.txt
chmod 644 pass.txt
if "$D" -d data key create --passphrase-file pass.txt >out 2>err; then
	fail "key create took a passphrase file of mode 0644"
fi
grep -q '0600' err || fail "no clear error for a readable passphrase file: $(cat err)"
chmod 600 pass.txt
printf 'short\n' >short.txt
chmod 600 short.txt
rc=0
"$D" -d data key create --passphrase-file short.txt >out 2>err || rc=$?
[ "$rc" -eq 2 ] || fail "a short passphrase: exit $rc, not 2"
grep -q 'at least 12' err || fail "no clear error for a short passphrase: $(cat err)"
[ "$(sqlite3 data/fieldsyncd.db 'SELECT count(*) FROM seal_keys')" -eq 0 ] ||
	fail "a refused key create stored a key"
pass "key create refuses a readable passphrase file and a short passphrase, storing nothing"

"$D" -d data key create --passphrase-file pass.txt >out 2>err || fail "key create failed: $(cat err)"
id=$(sed -n 's/^key \([0-9a-f]\{16\}\) created.*/\1/p' out)
pk=$(sed -n 's/^public \([0-9a-f]\{64\}\)$/\1/p' out)
[ -n "$id" ] && [ -n "$pk" ] || fail "key create printed no id or public key: $(cat out)"
"$D" -d data key list >out
grep -q "^$id  $pk  created .*(current)" out || fail "key list lacks the key: $(cat out)"
[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM audit WHERE action = 'key.create' AND detail = 'key=$id'")" -eq 1 ] ||
	fail "key create not audited"
# The passphrase is stored nowhere (database, WAL, anything in data/).
if grep -r -a -q -F "$PASS" data; then fail "the passphrase is in the data directory"; fi
locked=$(sqlite3 data/fieldsyncd.db "SELECT json_extract(locked, '\$.kdf') FROM seal_keys")
[ "$locked" = argon2id13 ] || fail "the stored key is not locked with Argon2id: $locked"
pass "key create stores the public key and the secret key locked under the passphrase, audited; the passphrase is stored nowhere"

"$D" -d data key check --passphrase-file pass.txt >out || fail "key check with the passphrase failed"
grep -q "unlocks key(s) $id" out || fail "key check: $(cat out)"
printf '%s\n' "Wrong-Passphrase-0000" >wrong.txt
chmod 600 wrong.txt
if "$D" -d data key check --passphrase-file wrong.txt >out 2>err; then
	fail "key check accepted a wrong passphrase"
fi
grep -q 'unlocks no key' err || fail "no clear error for a wrong passphrase: $(cat err)"
pass "key check opens the key with its passphrase only"

# A second key (rotation): the newest is current; the old one stays.
"$D" -d data key create --passphrase-file pass.txt >out2 2>/dev/null
id2=$(sed -n 's/^key \([0-9a-f]\{16\}\) created.*/\1/p' out2)
[ -n "$id2" ] && [ "$id2" != "$id" ] || fail "a second key create gave no new key"
"$D" -d data key list >out
[ "$(wc -l <out)" -eq 2 ] || fail "key list after a rotation: $(cat out)"
head -1 out | grep -q "^$id2 .*(current)" || fail "the newest key is not current: $(cat out)"
"$D" -d data key check --passphrase-file pass.txt >out
grep -q "$id" out && grep -q "$id2" out || fail "key check opens not both keys: $(cat out)"
pass "a second key is current, the first stays and opens with its passphrase"

# Served with the forms.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
"$D" -d data device add --name dev1 --role field --team north 2>/dev/null |
	sed -n 's/^token: //p' >tok
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
code=$(curl -s -o body -w '%{http_code}' --cacert cert.pem -H "Authorization: Bearer $(cat tok)" \
	-H 'Fieldsync-Protocol: 3' "https://127.0.0.1:$(cat port)/v1/forms")
[ "$code" = 200 ] || fail "GET /v1/forms: $code $(head -c 300 body)"
python3 - "$id2" body <<'PY' || fail "the forms answer lacks the current public key"
import json, sys
doc = json.load(open(sys.argv[2]))
k = doc["seal_key"]
assert k["id"] == sys.argv[1], k
assert len(k["public"]) == 64 and set(k["public"]) <= set("0123456789abcdef"), k
assert set(k) == {"id", "public"}, k
assert doc["forms"], "no forms"
PY
if grep -q -F "$PASS" daemon.log; then fail "the passphrase is in the daemon log"; fi
pass "GET /v1/forms carries the current public key (id and key only)"
