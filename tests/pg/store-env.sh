# store-env.sh -- sourced by the integration scripts after `cd "$T"` with
# D set to fieldsyncd: under tests/pg/with-pg.sh (FS_STORE_KIND=postgresql)
# the daemon of the test runs on a fresh PostgreSQL database.
#
#   D          becomes a wrapper adding `-f store.conf` (store = postgresql)
#   srv_sql    runs one SQL statement on the server's store, SQLite or
#              PostgreSQL, and prints rows as sqlite3 does (columns '|')
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
