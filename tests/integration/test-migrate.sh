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
[ "$(sqlite3 a1.db 'PRAGMA user_version')" = 6 ] || fail "opening did not migrate"
# Signatures (schema 4): the device has a key, and its unsent changes are signed and chained.
[ "$(sqlite3 a1.db "SELECT length(value) FROM meta WHERE key = 'sign_pk'")" = 64 ] ||
	fail "the migrated device has no signing key"
[ "$(sqlite3 a1.db "SELECT count(*) FROM changelog WHERE pushed = 0 AND (link IS NULL
	OR json_extract(body, '$.sig') IS NULL)")" = 0 ] || fail "an unsent change was not signed"
[ "$(sqlite3 a1.db "SELECT count(*) FROM changelog WHERE pushed = 1 AND link IS NOT NULL")" = 0 ] ||
	fail "a change pushed before signatures was re-signed"
# Merge rule 2 (issue 22): a delete wrote null over every field under rule
# 1; those nulls leave the rows (and the conflicts they made), the rest
# stays as it was.  rule2_expected drops them from an expected file.
rule2_expected() { # expected-file user_version
	python3 - "$1" "$2" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
tomb = {l.split("|")[1]: l.split("|")[3] for l in lines if l.startswith("record|")}
for l in lines:
    p = l.split("|")
    if l.startswith("user_version"):
        l = "user_version " + sys.argv[2]
    elif l.startswith("conflict|") and tomb.get(p[1]) == p[3]:
        continue
    elif len(p) == 4 and not l.startswith(("record|", "conflict|")) and tomb.get(p[0]) == p[3] and p[2] == "null":
        continue
    print(l)
PY
}
rule2_expected "$SRC/tests/fixtures/device-v2.expected" 6 >expected
state a1.db >got
diff expected got >&2 || fail "migrated fields, conflicts or tombstones differ"
# The record a delete raced with an edit: alive, its record-level conflict open.
husk=2f3e9e3782b81ebbe2c6e5a20172bb5c
[ "$(sqlite3 a1.db "SELECT deleted, conflicts FROM records WHERE id = '$husk'")" = "0|1" ] ||
	fail "the raced record is not alive with its record-level conflict"
"$F" --db a1.db record show "$husk" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["delete_conflict"]["edits"][0]["field"] == "isolation", r' ||
	fail "record show does not show the delete conflict"
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

# The 0.2.0 server store it synced with (schema 4) opens in this
# fieldsyncd, migrates to one row per record with the same fields,
# conflicts, tombstones and counts, and the upgraded device syncs with the
# upgraded server: its unsent changes arrive, and the cursor it kept from
# 0.2.0 still holds (no restore is suspected, nothing is sent twice).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout key.pem -out cert.pem 2>/dev/null
mkdir -m 700 data
sqlite3 data/fieldsyncd.db <"$SRC/tests/fixtures/server-v4.sql"
# A reviewer added before reviewers had teams (issue 15) sees every team after.
sqlite3 data/fieldsyncd.db "INSERT INTO devices(name, role, team, token_hash, created_at)
	VALUES('old-rev', 'reviewer', 'hq', randomblob(32), '2026-12-01T00:00:00.000Z')"
changes_before=$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM changes")
"$D" -d data device list >devices.out 2>>daemon.log || fail "fieldsyncd could not open the 0.2.0 store"
grep -q '^old-rev .* all$' devices.out || fail "the reviewer from before teams does not see every team"
grep -q '1 reviewer(s) added before see every team' daemon.log ||
	fail "the upgrade did not say that a reviewer sees every team"
sstate() {
	sqlite3 "$1" "SELECT record_id, name, coalesce(value,'null'), stamp FROM fields ORDER BY 1, 2;
		SELECT 'conflict', record_id, name, stamp, coalesce(value, 'null'), device
		FROM conflicts ORDER BY 2, 3, 4;
		SELECT 'record', id, deleted, coalesce(tombstone, ''), open_conflicts FROM records
		ORDER BY 2;"
	echo "user_version $(sqlite3 "$1" 'PRAGMA user_version')"
}
# The server keeps every change: the record a delete raced with an edit is
# merged again under rule 2 and its values come back (issue 22).
{
	rule2_expected "$SRC/tests/fixtures/server-v4.expected" 13
	cat <<'EOF'
2f3e9e3782b81ebbe2c6e5a20172bb5c|inspection_date|"2026-11-20"|01a2447e5fa50000-e64dbbe1858f3178
2f3e9e3782b81ebbe2c6e5a20172bb5c|number_of_workers|2|01a2447e5fa50000-e64dbbe1858f3178
2f3e9e3782b81ebbe2c6e5a20172bb5c|referral_decision|"monitor"|01a2447e5fa50000-e64dbbe1858f3178
2f3e9e3782b81ebbe2c6e5a20172bb5c|sector|"fishing"|01a2447e5fa50000-e64dbbe1858f3178
2f3e9e3782b81ebbe2c6e5a20172bb5c|worksite_name|"site two"|01a2447e5fa50000-e64dbbe1858f3178
EOF
} | sort >sexpected
sstate data/fieldsyncd.db | sort >sgot
diff sexpected sgot >&2 || fail "migrated server fields, conflicts or records differ"
[ "$(sqlite3 data/fieldsyncd.db "SELECT deleted, open_conflicts FROM records WHERE id = '$husk'")" = "0|1" ] ||
	fail "the server's raced record is not alive with its record-level conflict"
[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM sqlite_schema WHERE type = 'table'
	AND name IN ('writes', 'write_bases', 'fields', 'conflicts')")" = 0 ] ||
	fail "schema 4 tables left behind on the server"
pass "a 0.2.0 server store migrated: same fields, conflicts, tombstones and counts"

"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
"$F" --db a1.db sync --server "https://127.0.0.1:$(cat port)" \
	--token-file "$SRC/tests/fixtures/server-v4.a1.token" --cacert cert.pem -q >sync.log 2>&1 ||
	{ cat sync.log >&2; fail "the migrated device did not sync with the migrated server"; }
[ "$("$F" --db a1.db status | sed -n 's/^pending: *\([0-9]*\).*/\1/p')" = 0 ] || fail "changes left unsent"
# 2 unsent in the fixture + the edit made above: 3 new changes, none twice.
[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM changes")" = $((changes_before + 3)) ] ||
	fail "the server holds $(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM changes") changes, expected $((changes_before + 3))"
site4=$(sqlite3 a1.db "SELECT record_id FROM fields WHERE value = '\"site four\"'")
[ "$(sqlite3 data/fieldsyncd.db "SELECT value FROM fields WHERE record_id = '$site4'
	AND name = 'number_of_workers'")" = 4 ] || fail "the unsent record did not reach the server"
[ "$(sqlite3 data/fieldsyncd.db "SELECT value FROM fields WHERE record_id = '$r1'
	AND name = 'number_of_workers'")" = 250 ] || fail "the edit made after migration did not merge"
[ "$(sqlite3 data/fieldsyncd.db "SELECT open_conflicts FROM records WHERE id = '$r1'")" = 1 ] ||
	fail "the server's conflict on $r1 changed"
"$D" -d data verify >verify.out 2>>daemon.log || { cat verify.out >&2; fail "verify after migration"; }
grep -q "3 signed change(s)" verify.out && grep -q "unsigned change(s) from before signatures" verify.out &&
	[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM history")" = "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM changes")" ] &&
	[ "$(sqlite3 data/fieldsyncd.db "SELECT count(*) FROM audit WHERE hash IS NULL")" = 0 ] ||
	fail "verify after migration: $(cat verify.out)"
pass "the migrated device synced with the migrated server: 3 new changes, none twice, signed and verified"
# The device took the server's rows again: the raced record is whole there too.
[ "$(sqlite3 a1.db "SELECT value FROM fields WHERE record_id = '$husk' AND name = 'worksite_name'")" = '"site two"' ] &&
	[ "$(sqlite3 a1.db "SELECT deleted, conflicts FROM records WHERE id = '$husk'")" = "0|1" ] ||
	fail "the device did not get the raced record back whole"
pass "merge rule 2: the record a delete raced with an edit comes back whole, on the server at upgrade and on the device at its next sync"
