#!/usr/bin/env bash
# test-migrate.sh -- a device store written by release 0.2.0 (schema 2,
# tests/fixtures/device-v2.sql, made by tests/fixtures/make-device-v2.sh)
# opens in this release, migrates to one row per record (schema 3) with
# the same fields, stamps, conflicts and tombstones, keeps working, and
# syncs its unsent changes to a daemon of this release.
#
# usage: test-migrate.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-migrate-XXXXXX)
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

state() { # the fixture's expected file, read through schema 3's views
	sqlite3 "$1" "SELECT record_id, name, coalesce(value,'null'), stamp FROM fields ORDER BY 1, 2;
		SELECT 'conflict', record_id, name, stamp, coalesce(value, 'null'), device
		FROM conflicts ORDER BY 2, 3, 4;
		SELECT 'record', id, deleted, coalesce(tombstone, '') FROM records ORDER BY 2;"
	echo "user_version $(sqlite3 "$1" 'PRAGMA user_version')"
}

sqlite3 a1.db <"$SRC/tests/fixtures/device-v2.sql"
[ "$(sqlite3 a1.db 'PRAGMA user_version')" = 2 ] || fail "fixture is not schema 2"
pending_before=$("$F" --db a1.db status | sed -n 's/^pending: *\([0-9]*\).*/\1/p')
[ "$(sqlite3 a1.db 'PRAGMA user_version')" = 3 ] || fail "opening did not migrate"
sed 's/^user_version 2$/user_version 3/' "$SRC/tests/fixtures/device-v2.expected" >expected
state a1.db >got
diff expected got >&2 || fail "migrated fields, conflicts or tombstones differ"
[ "$(sqlite3 a1.db "SELECT count(*) FROM sqlite_schema WHERE type = 'table'
	AND name IN ('writes', 'write_bases', 'fields', 'conflicts')")" = 0 ] ||
	fail "schema 2 tables left behind"
[ "$pending_before" = 2 ] || fail "unsent changes after migration: $pending_before, expected 2"
pass "a 0.2.0 store migrated: same fields, stamps, conflicts, tombstones; 2 changes unsent"

# The migrated store keeps working: record show lists the conflict, an
# edit of a conflicting record merges on the packed state.
r1=$(sqlite3 a1.db "SELECT record_id FROM conflicts WHERE name = 'number_of_workers'")
"$F" --db a1.db record show "$r1" >show.json
python3 - "$r1" <<'PY' || fail "record show after migration"
import json, sys
r = json.load(open("show.json"))
assert r["id"] == sys.argv[1], r
assert [c["field"] for c in r["conflicts"]] == ["number_of_workers"], r["conflicts"]
assert r["values"]["number_of_workers"] == 200 and r["values"]["debt_bondage"] is True, r
PY
"$F" --db a1.db record edit "$r1" --set number_of_workers=250 >/dev/null ||
	fail "edit after migration"
[ "$(sqlite3 a1.db "SELECT value FROM fields WHERE record_id = '$r1'
	AND name = 'number_of_workers'")" = 250 ] || fail "edit not on the packed state"
# The edit overwrote the current value only: the value that lost stays
# open for a reviewer (merge.h), on the view and in the row's count.
[ "$(sqlite3 a1.db "SELECT count(*) || ' ' || max(value) FROM conflicts WHERE record_id = '$r1'")" = "1 100" ] ||
	fail "the open conflict changed with an edit that did not name it"
[ "$(sqlite3 a1.db "SELECT conflicts FROM records WHERE id = '$r1'")" = 1 ] ||
	fail "records.conflicts disagrees with the conflicts view"
pass "the migrated store edits on its packed rows; the open conflict stays for review"

# It syncs with a daemon of this release.  The daemon is new (its log does
# not hold the changes at the device's cursor): the device notices, marks
# its changes unsent, and the next sync sends them all.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout key.pem -out cert.pem 2>/dev/null
"$D" -d data form publish "$SRC/schema/forms/labor_inspection.json" >/dev/null 2>&1
"$D" -d data device add --name a1 --role field --team north 2>/dev/null |
	sed -n 's/^token: //p' >tok
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
ok=0
for _ in 1 2 3; do
	if "$F" --db a1.db sync --server "https://127.0.0.1:$(cat port)" --token-file tok \
		--cacert cert.pem -q >>sync.log 2>&1; then ok=1; break; fi
done
[ $ok = 1 ] || { cat sync.log >&2; fail "the migrated store did not sync"; }
[ "$("$F" --db a1.db status | sed -n 's/^pending: *\([0-9]*\).*/\1/p')" = 0 ] || fail "changes left unsent"
site4=$(sqlite3 a1.db "SELECT record_id FROM fields WHERE value = '\"site four\"'")
[ "$(sqlite3 data/fieldsyncd.db "SELECT value FROM fields WHERE record_id = '$site4'
	AND name = 'number_of_workers'")" = 4 ] || fail "the unsent record did not reach the server"
pass "the migrated store synced its unsent changes to a new daemon"
