#!/usr/bin/env bash
# test-device-store.sh -- encrypted device stores and remote wipe (issue
# 17, items 4 and 5), with the real fieldsync and fieldsyncd over HTTPS on
# 127.0.0.1.
#
# Encrypted stores made with a key file (option and environment) record,
# edit and sync both ways; a planted name and worksite (bytes, base64,
# hex) are in none of their files; a key file others may read is refused
# and creates nothing; a wrong PIN is refused and changes no byte; without
# a key file and a terminal the error says what to give; `unlock` checks
# the key; `encrypt` turns a plain store holding records into an encrypted
# one that still syncs.  Then `fieldsyncd device revoke --wipe`: the
# device's next sync erases its store, WAL and key file and confirms; the
# confirmation is audited and listed; the token is then just revoked; the
# other devices go on.  A plain store is wiped too.
#
# usage: test-device-store.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-devstore-XXXXXX)
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

R=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
NAME="Planted-Person-$R"
SITE="Planted-Site-$R"

absent() { # what file...: no planted value as bytes, base64 (any alignment) or hex
	local what=$1
	shift
	python3 - "$NAME" "$SITE" "$@" <<'PY' || fail "$what holds a planted value"
import base64, binascii, sys
vals, files = sys.argv[1:3], sys.argv[3:]
needles = []
for v in vals:
    b = v.encode()
    needles += [b, binascii.hexlify(b), binascii.hexlify(b).upper()]
    needles += [base64.b64encode(b"x" * pad + b)[4:-4] for pad in range(3)]
bad = [f for f in files for n in needles if n in open(f, "rb").read()]
if bad:
    print("planted value found in: " + ", ".join(sorted(set(bad))), file=sys.stderr)
    sys.exit(1)
PY
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
token() { # name role team
	"$D" -d data device add --name "$1" --role "$2" --team "$3" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
for n in a1 b1 c1 d1; do token $n field north; done
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)
sync_dev() { # name [fieldsync options...]
	local n=$1
	shift
	"$F" --db "$n.db" "$@" sync --server "$URL" --token-file "tok-$n" --cacert cert.pem -q
}

# --- Key files ------------------------------------------------------------
printf 'Pin-%s\n' "$R" >a1.key
printf 'Other-Pin-%s\n' "$R" >b1.key
printf 'Wrong-Pin-%s\n' "$R" >wrong.key
cp a1.key open.key
chmod 644 open.key
if "$F" --db x.db --key-file open.key init --device x 2>err; then fail "a key file of mode 0644 was taken"; fi
grep -q 'mode 0600' err || fail "no clear error for a readable key file: $(cat err)"
[ ! -e x.db ] || fail "a refused key file left a store behind"
pass "a key file others may read is refused, and no store is made"

# --- Encrypted stores record and sync ---------------------------------------
"$F" --db a1.db --key-file a1.key init --device a1 >out || fail "encrypted init"
grep -q '(encrypted)' out || fail "init does not say the store is encrypted: $(cat out)"
FIELDSYNC_KEY_FILE=b1.key "$F" --db b1.db init --device b1 | grep -q '(encrypted)' ||
	fail "init with FIELDSYNC_KEY_FILE is not encrypted"
sync_dev a1 --key-file a1.key || fail "first sync of a1"
python3 - "$NAME" "$SITE" <<'PY'
import json, sys
json.dump({"worksite_name": sys.argv[2], "sector": "fishing", "inspection_date": "2026-12-02",
           "referral_decision": "monitor", "interviewee_name": sys.argv[1],
           "number_of_workers": 9, "debt_bondage": True}, open("r.json", "w"))
PY
R1=$("$F" --db a1.db --key-file a1.key record new labor_inspection --json r.json) ||
	fail "record new on an encrypted store"
rm r.json
"$F" --db a1.db --key-file a1.key record edit "$R1" --set number_of_workers=11 >/dev/null ||
	fail "record edit on an encrypted store"
sync_dev a1 --key-file a1.key || fail "sync of a1"
FIELDSYNC_KEY_FILE=b1.key sync_dev b1 || fail "sync of b1"
FIELDSYNC_KEY_FILE=b1.key "$F" --db b1.db record show "$R1" >show.json || fail "b1 lacks the record"
grep -q -F "$NAME" show.json || fail "b1 does not read the pulled record"
grep -q '"number_of_workers":[[:space:]]*11' show.json || fail "b1 lacks the edit"
rm show.json
for f in a1.db a1.db-wal b1.db b1.db-wal; do [ -f "$f" ] && absent "$f" "$f"; done
if strings a1.db b1.db | grep -q -e 'labor_inspection' -e 'SQLite format'; then
	fail "strings finds readable text in an encrypted store"
fi
pass "encrypted stores record, edit and sync both ways; no planted value and no readable text in them"

# --- Wrong key, no key, unlock ------------------------------------------------
sum=$(sha256sum a1.db | cut -d' ' -f1)
rc=0
"$F" --db a1.db --key-file wrong.key record list >out 2>err || rc=$?
[ "$rc" -eq 2 ] || fail "a wrong PIN: exit $rc, not 2"
grep -q 'wrong PIN' err || fail "no clear error for a wrong PIN: $(cat err)"
[ "$(sha256sum a1.db | cut -d' ' -f1)" = "$sum" ] || fail "a wrong PIN changed the store"
rc=0
setsid -w "$F" --db a1.db status </dev/null >out 2>err || rc=$?
[ "$rc" -eq 2 ] || fail "no key and no terminal: exit $rc, not 2"
grep -q -e '--key-file' err || fail "no clear error without a key: $(cat err)"
"$F" --db a1.db --key-file a1.key unlock >out || fail "unlock with the right key"
grep -q 'is encrypted and the key opens it' out || fail "unlock: $(cat out)"
if "$F" --db a1.db --key-file wrong.key unlock >out 2>&1; then fail "unlock took a wrong key"; fi
pass "a wrong PIN is refused and changes no byte; no key and no terminal says what to give; unlock checks"

# --- A plain store encrypted --------------------------------------------------
"$F" --db c1.db init --device c1 >out
grep -q '(encrypted)' out && fail "a store without a key was encrypted"
sync_dev c1 || fail "sync of c1 (plain)"
grep -a -q -F "$NAME" c1.db c1.db-wal 2>/dev/null || fail "the plain store should hold the pulled name (test premise)"
n_before=$("$F" --db c1.db record list | wc -l)
printf 'C1-Pin-%s\n' "$R" >c1.key
"$F" --db c1.db --key-file c1.key encrypt >out 2>err || fail "encrypt: $(cat err)"
"$F" --db c1.db --key-file c1.key unlock | grep -q 'is encrypted' || fail "c1 is not encrypted"
[ "$("$F" --db c1.db --key-file c1.key record list | wc -l)" -eq "$n_before" ] ||
	fail "encrypt lost records"
for f in c1.db c1.db-wal; do [ -f "$f" ] && absent "the encrypted c1 ($f)" "$f"; done
if "$F" --db c1.db --key-file c1.key encrypt 2>err; then fail "encrypt ran twice"; fi
grep -q 'encrypted already' err || fail "no clear error encrypting twice"
sync_dev c1 --key-file c1.key || fail "sync after encrypt"
pass "encrypt turns a plain store with records into an encrypted one that still syncs"

# --- Remote wipe ------------------------------------------------------------
"$F" --db d1.db init --device d1 >/dev/null
sync_dev d1 || fail "sync of d1"
"$D" -d data device revoke b1 --wipe >out || fail "revoke --wipe"
grep -q 'erases its store' out || fail "revoke --wipe does not say what happens: $(cat out)"
"$D" -d data device revoke d1 --wipe >/dev/null || fail "revoke --wipe d1"
"$D" -d data device list >list.out
grep -q '^b1 .* wipe ' list.out || fail "device list does not show the pending wipe: $(cat list.out)"
rc=0
FIELDSYNC_KEY_FILE=b1.key sync_dev b1 2>err || rc=$?
[ "$rc" -eq 1 ] || fail "the wiped device's sync: exit $rc, not 1"
grep -q 'store was erased and the server told' err || fail "the wiped device does not say so: $(cat err)"
grep -q 'key file was erased' err || fail "the key file is not said erased: $(cat err)"
for f in b1.db b1.db-wal b1.db-shm b1.key; do [ ! -e "$f" ] || fail "$f is left after the wipe"; done
rc=0
sync_dev d1 2>err || rc=$?
[ "$rc" -eq 1 ] || fail "the plain wiped device's sync: exit $rc"
for f in d1.db d1.db-wal d1.db-shm; do [ ! -e "$f" ] || fail "$f is left after the wipe"; done
"$D" -d data device list >list.out
grep -q '^b1 .* wiped ' list.out || fail "device list does not show the wipe done"
grep -q '^d1 .* wiped ' list.out || fail "device list does not show d1's wipe done"
"$D" -d data audit >audit.txt
[ "$(grep -c 'device.wipe_confirmed' audit.txt)" -eq 2 ] || fail "wipe confirmations not audited"
grep -q 'device.revoke .*wipe=asked' audit.txt || fail "the wipe request is not audited"
absent "the audit output" audit.txt
# The token is now only revoked: a new store with it gets 401, nothing erased.
FIELDSYNC_KEY_FILE=a1.key "$F" --db b2.db init --device b2 >/dev/null
rc=0
FIELDSYNC_KEY_FILE=a1.key "$F" --db b2.db sync --server "$URL" --token-file tok-b1 \
	--cacert cert.pem -q 2>err || rc=$?
[ "$rc" -eq 2 ] || fail "the wiped device's token after confirming: exit $rc"
grep -q 'revoked' err || fail "the revoked token's error: $(cat err)"
[ -f b2.db ] || fail "a revoked token without a pending wipe erased a store"
sync_dev a1 --key-file a1.key || fail "a1 after the other devices' wipe"
pass "revoke --wipe: the device erases store, WAL and key file and confirms (audited, listed); the token is then just revoked"
