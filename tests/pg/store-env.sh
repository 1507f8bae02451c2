# store-env.sh -- sourced by the integration scripts after `cd "$T"` with
# D set to fieldsyncd: under tests/pg/with-pg.sh (FS_STORE_KIND=postgresql)
# the daemon of the test runs on a fresh PostgreSQL database.
#
#   D          becomes a wrapper adding `-f store.conf` (store = postgresql)
#   srv_sql    runs one SQL statement on the server's store, SQLite or
#              PostgreSQL, and prints rows as sqlite3 does (columns '|')
#   srv_hash   a hash of every row of every table of the server's store
#   srv_ok     "ok" when the store is whole (SQLite: integrity_check)
#   srv_save NAME / srv_load NAME
#              a named copy of the server's store (the daemon stopped), and
#              the store put back to it: cp of data_dir, or a database
#              made from the store as a template
#   srv_backup FILE / srv_restore FILE
#              a copy of the server's store, put back later (the daemon
#              stopped): SQLite's backup, or pg_dump / pg_restore
#   ON_PG      "1" on PostgreSQL, "" on SQLite
ON_PG=
PGCONN=
if [ "${FS_STORE_KIND:-sqlite}" = postgresql ]; then
	ON_PG=1
	PGCONN=$("$FS_PG_SCRIPT" createdb "$FS_PG_DIR" "t_$(basename "$PWD" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z')")
	printf 'store = postgresql\npostgresql = "%s"\n' "$PGCONN" >store.conf
	printf '#!/bin/sh\nexec "%s" -f "%s" "$@"\n' "$D" "$PWD/store.conf" >fieldsyncd-pg
	chmod +x fieldsyncd-pg
	D=$PWD/fieldsyncd-pg
fi
srv_sql() {
	if [ -n "$ON_PG" ]; then
		psql -X -q -At -v ON_ERROR_STOP=1 -d "$PGCONN" -c "$1"
	else
		sqlite3 data/fieldsyncd.db "$1"
	fi
}

srv_hash() {
	if [ -n "$ON_PG" ]; then
		for t in devices forms changes records batches review_events audit chain_refused \
			device_keys history seal_keys server_meta agencies referrals; do
			srv_sql "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM $t x"
		done | sha256sum | cut -d' ' -f1
	else
		sqlite3 data/fieldsyncd.db .dump | sha256sum | cut -d' ' -f1
	fi
}
srv_ok() {
	if [ -n "$ON_PG" ]; then
		srv_sql "SELECT 'ok' FROM changes LIMIT 1"
	else
		sqlite3 data/fieldsyncd.db 'PRAGMA integrity_check'
	fi
}
srv_backup() {
	if [ -n "$ON_PG" ]; then
		pg_dump -d "$PGCONN" -Fc -f "$1"
	else
		sqlite3 data/fieldsyncd.db ".backup $1"
	fi
}
srv_restore() {
	if [ -n "$ON_PG" ]; then
		local db=${PGCONN##*dbname=} admin=${PGCONN% dbname=*}" dbname=postgres"
		psql -X -q -d "$admin" -c "DROP DATABASE \"$db\"" -c "CREATE DATABASE \"$db\"" &&
			pg_restore -d "$PGCONN" "$1"
	else
		rm -f data/fieldsyncd.db-wal data/fieldsyncd.db-shm
		cp "$1" data/fieldsyncd.db
	fi
}

srv_save() {
	if [ -n "$ON_PG" ]; then
		local db=${PGCONN##*dbname=} admin=${PGCONN% dbname=*}" dbname=postgres"
		psql -X -q -d "$admin" -c "CREATE DATABASE \"${db}_$1\" TEMPLATE \"$db\""
	else
		rm -rf "saved-$1"
		cp -r data "saved-$1"
	fi
}
srv_load() {
	if [ -n "$ON_PG" ]; then
		local db=${PGCONN##*dbname=} admin=${PGCONN% dbname=*}" dbname=postgres"
		psql -X -q -d "$admin" -c "DROP DATABASE \"$db\"" \
			-c "CREATE DATABASE \"$db\" TEMPLATE \"${db}_$1\""
	else
		rm -rf data
		cp -r "saved-$1" data
	fi
}
