#!/usr/bin/env bash
# test-backup.sh -- "fieldsyncd backup" under load and "fieldsyncd restore".
#
# A real fieldsyncd serves HTTPS on 127.0.0.1 with a seeded store of a few
# MiB while three devices record and sync in a loop, and "fieldsyncd backup"
# runs several times meanwhile: every backup succeeds, is one self-contained
# file that passes integrity_check, and no device sync fails.  After the
# load stops, a final backup restored into a fresh data directory gives a
# store whose .dump equals the live store's, table by table, and a daemon
# started on it serves a device sync.  Also: restore refuses while a server
# runs on the data directory, refuses a damaged file and a newer schema
# (leaving the store as it was), keeps the replaced store aside, and backup
# refuses to write over the live store.
#
# usage: test-backup.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-backup-XXXXXX)
DPID=
LOADPIDS=()
cleanup() {
	touch "$T/stop" 2>/dev/null || true
	for p in "${LOADPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null || true; fi
	wait 2>/dev/null || true
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

start_daemon() { # data_dir
	rm -f port
	"$D" -d "$1" -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port \
		2>>daemon.log &
	DPID=$!
	for _ in $(seq 200); do
		[ -s port ] && break
		sleep 0.05
	done
	[ -s port ] || fail "daemon did not start on $1"
	URL=https://127.0.0.1:$(cat port)
}

stop_daemon() {
	kill "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=
}

token() { # data_dir name
	"$D" -d "$1" device add --name "$2" --role field --team north 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$2"
	[ "$(wc -c <"tok-$2")" -eq 65 ] || fail "no token for $2"
}

sync_dev() { # name
	"$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q
}

new_record() { # device label
	"$F" --db "$1.db" record new labor_inspection --set "worksite_name=$2" --set sector=mining \
		--set inspection_date=2026-11-20 --set referral_decision=monitor \
		--set number_of_workers=7
}

# Every table, one .dump each, so a difference names its table.
dump_tables() { # db
	local t
	for t in $(sqlite3 "$1" "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"); do
		echo "== $t"
		sqlite3 "$1" ".dump $t"
	done
}

"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null 2>&1
for n in seed d1 d2 d3; do token data $n; done
start_daemon data

# 1. Seed a few MiB of records in one push, so that a backup takes many steps.
python3 - "$SRC/tests/fixtures/forms/labor_inspection.json" <<'PY' >seed.json
import json, os, sys, time
version = json.load(open(sys.argv[1]))["version"]
dev = "5eed5eed5eed5eed"
ms = int(time.time() * 1000) - 60000
changes = []
for i in range(3000):
    changes.append({
        "id": os.urandom(16).hex(), "form": "labor_inspection", "form_version": version,
        "op": "upsert", "hlc": "%016x-%s" % ((ms << 16) | i, dev), "base": {},
        "fields": {"worksite_name": "seeded worksite %d %s" % (i, "x" * 150),
                   "sector": "fishing", "inspection_date": "2026-11-19",
                   "referral_decision": "monitor", "number_of_workers": i % 500,
                   "inspector_id": "inspector-%d" % (i % 40)}})
print(json.dumps({"device": dev, "batch": "seed-1", "changes": changes}))
PY
gzip -c seed.json >seed.json.gz
code=$(curl -s -o answer.json -w '%{http_code}' --cacert cert.pem \
	-H "Authorization: Bearer $(cat tok-seed)" -H 'Content-Type: application/json' \
	-H 'Content-Encoding: gzip' --data-binary @seed.json.gz "$URL/v1/push")
[ "$code" = 200 ] && grep -q '"accepted":3000' answer.json || fail "seed push: HTTP $code"
size=$(sqlite3 data/fieldsyncd.db 'PRAGMA page_count')
[ "$size" -gt 1024 ] || fail "seeded store has only $size pages"
pass "seeded 3000 records ($size pages)"

# 2. Three devices record and sync in a loop; backups run meanwhile.
for n in d1 d2 d3; do
	"$F" --db $n.db init --device $n >/dev/null
	"$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
done
load() { # device
	local k=0
	while [ ! -e stop ]; do
		k=$((k + 1))
		new_record "$1" "load $1 $k" >/dev/null || echo "$1: record $k" >>load-failures
		sync_dev "$1" >/dev/null 2>>"load-$1.err" || echo "$1: sync $k" >>load-failures
		echo "$k" >"load-$1.count"
	done
}
for n in d1 d2 d3; do
	load $n &
	LOADPIDS+=($!)
done
# (A device that has not finished its first round has no count file yet: cat
# fails, and with pipefail that must not end the script.)
syncs() {
	{ cat load-d1.count load-d2.count load-d3.count 2>/dev/null || true; } |
		awk '{s += $1} END {print s + 0}'
}
for _ in $(seq 100); do
	[ "$(syncs)" -ge 3 ] && break
	sleep 0.1
done
before_backups=$(syncs)
prev=0
for i in 1 2 3 4 5; do
	out=$("$D" -d data backup --to "bk$i.db") || fail "backup $i under load failed"
	echo "$out" | grep "written to 'bk$i.db'" >/dev/null || fail "backup $i said: $out"
	[ "$(sqlite3 "bk$i.db" 'PRAGMA integrity_check')" = ok ] || fail "backup $i is damaged"
	[ "$(sqlite3 "bk$i.db" 'PRAGMA journal_mode')" = delete ] || fail "backup $i is not self-contained"
	n=$(sqlite3 "bk$i.db" 'SELECT count(*) FROM changes')
	[ "$n" -ge "$prev" ] || fail "backup $i has fewer changes ($n) than backup $((i - 1)) ($prev)"
	# A consistent snapshot: every change has its record, every record its fields.
	orphans=$(sqlite3 "bk$i.db" "SELECT count(*) FROM changes WHERE record_id NOT IN (SELECT id FROM records)")
	[ "$orphans" = 0 ] || fail "backup $i has $orphans changes without a record"
	prev=$n
	sleep 0.2
done
ls | grep 'tmp-' >/dev/null && fail "a backup left a temporary file"
# The devices kept going (a slow machine gets a little more time).
for _ in $(seq 100); do
	[ "$(syncs)" -gt "$before_backups" ] && break
	sleep 0.2
done
[ "$(syncs)" -gt "$before_backups" ] || fail "no device synced since the backups began"
touch stop
for p in "${LOADPIDS[@]}"; do wait "$p"; done
LOADPIDS=()
[ -e load-failures ] && { cat load-failures load-*.err >&2; fail "device work failed during the backups"; }
pass "5 backups under load ($((prev)) changes in the last), all intact; $(syncs) device syncs, none failed"

# 3. Final backup, restore into a fresh directory: identical, table by table.
"$D" -d data backup --to final.db >/dev/null || fail "final backup failed"
dump_tables data/fieldsyncd.db >live.dump
dump_tables final.db >final.dump
cmp -s live.dump final.dump || fail "the final backup differs from the live store"
out=$("$D" -d restored restore --from final.db) || fail "restore into a fresh directory failed"
echo "$out" | grep "restored from 'final.db'" >/dev/null || fail "restore said: $out"
echo "$out" | grep 'previous store' >/dev/null && fail "restore into a fresh directory kept a previous store"
dump_tables restored/fieldsyncd.db >restored.dump
if ! cmp -s live.dump restored.dump; then
	diff live.dump restored.dump | head -20 >&2
	fail "the restored store differs from the live store"
fi
[ "$(sqlite3 restored/fieldsyncd.db 'PRAGMA integrity_check')" = ok ] ||
	fail "the restored store fails integrity_check"
[ -z "$(sqlite3 restored/fieldsyncd.db 'PRAGMA foreign_key_check')" ] ||
	fail "the restored store fails foreign_key_check"
ls restored | grep 'restore.tmp' >/dev/null && fail "restore left its working directory"
tables=$(grep -c '^== ' restored.dump)
pass "restored store equals the live store ($tables tables, $(sqlite3 restored/fieldsyncd.db 'SELECT count(*) FROM records') records) and passes integrity_check"

# 4. Refusals.  While a server runs on the data directory:
live_before=$(dump_tables data/fieldsyncd.db | sha256sum)
set +e
"$D" -d data restore --from final.db >/dev/null 2>err.txt
rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'server is running' err.txt ||
	fail "restore over a served store: exit $rc, $(cat err.txt)"
[ "$(dump_tables data/fieldsyncd.db | sha256sum)" = "$live_before" ] ||
	fail "a refused restore changed the live store"
# A damaged file, a file that is not a store, a newer schema:
restored_before=$(dump_tables restored/fieldsyncd.db | sha256sum)
head -c 8192 final.db >damaged.db
echo "not a database" >text.db
sqlite3 other.db 'CREATE TABLE t(x); INSERT INTO t VALUES (1)'
cp final.db newer.db
sqlite3 newer.db 'PRAGMA user_version = 999'
for bad in damaged.db text.db other.db newer.db; do
	set +e
	"$D" -d restored restore --from $bad >/dev/null 2>err.txt
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "restore of $bad exited $rc: $(cat err.txt)"
done
grep -q 'newer than this fieldsyncd' err.txt || fail "newer schema not named: $(cat err.txt)"
[ "$(dump_tables restored/fieldsyncd.db | sha256sum)" = "$restored_before" ] ||
	fail "a refused restore changed the store"
ls restored | grep before-restore >/dev/null && fail "a refused restore kept a copy"
set +e
"$D" -d data backup --to data/fieldsyncd.db >/dev/null 2>err.txt
rc=$?
"$D" -d data backup >/dev/null 2>&1
rc2=$?
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] || fail "backup over the live store or without --to: exit $rc, $rc2"
"$D" backup --help | grep 'backup --to FILE' >/dev/null || fail "backup --help"
"$D" restore --help | grep 'restore --from FILE' >/dev/null || fail "restore --help"
"$D" --help | grep 'restore --from FILE' >/dev/null || fail "fieldsyncd --help lacks restore"
pass "restore refused while served, for damaged, foreign and newer files; store untouched"

# 5. Restore over an existing store keeps the old one aside.
"$D" -d restored restore --from bk1.db >out.txt || fail "restore over a store failed"
kept=$(sed -n "s/^the previous store was kept as '\(.*\)'$/\1/p" out.txt)
[ -n "$kept" ] && [ -f "$kept" ] || fail "no copy of the replaced store: $(cat out.txt)"
[ "$(dump_tables "$kept" | sha256sum)" = "$restored_before" ] ||
	fail "the kept copy differs from the replaced store"
cmp -s <(dump_tables bk1.db) <(dump_tables restored/fieldsyncd.db) ||
	fail "restore over an existing store did not restore"
"$D" -d restored restore --from final.db >/dev/null || fail "second restore failed"
cmp -s live.dump <(dump_tables restored/fieldsyncd.db) || fail "second restore differs"
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	chown -R nobody: restored
	"$D" -d restored restore --from final.db >/dev/null || fail "restore as root failed"
	[ "$(stat -c %U restored/fieldsyncd.db)" = nobody ] && [ "$(stat -c %U restored/fieldsyncd.lock)" = nobody ] ||
		fail "restore as root did not leave the store to the data directory's owner"
fi
pass "restore over a store kept it as $(basename "$kept")"

# 6. A daemon on the restored store serves device syncs.
stop_daemon
start_daemon restored
r=$(new_record d1 "after restore")
sync_dev d1 >/dev/null || fail "d1 sync against the restored daemon"
[ "$(sqlite3 restored/fieldsyncd.db "SELECT count(*) FROM records WHERE id = '$r'")" = 1 ] ||
	fail "the restored daemon did not receive d1's record"
token restored d4
"$F" --db d4.db init --device d4 >/dev/null
sync_dev d4 >/dev/null || fail "new device d4 sync against the restored daemon"
want=$(sqlite3 restored/fieldsyncd.db "SELECT count(*) FROM records WHERE team = 'north'")
got=$(sqlite3 d4.db 'SELECT count(*) FROM records')
[ "$got" = "$want" ] || fail "d4 pulled $got records from the restored daemon, expected $want"
sync_dev d2 >/dev/null || fail "d2 sync against the restored daemon"
[ "$(sqlite3 d2.db "SELECT count(*) FROM records WHERE id = '$r'")" = 1 ] ||
	fail "d2 did not pull d1's new record from the restored daemon"
stop_daemon
pass "restored daemon serves syncs: a push, a new device's full pull ($got records)"
echo "test-backup: all passed"
