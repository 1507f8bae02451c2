#!/bin/sh
# pg-throwaway.sh -- a throwaway PostgreSQL server for the tests (issue 18).
#
#   pg-throwaway.sh start DIR   initdb into DIR/data, start on a Unix socket
#                               in DIR (no TCP), print the connection string
#   pg-throwaway.sh stop DIR    stop it (fast shutdown) and remove DIR/data
#   pg-throwaway.sh createdb DIR NAME
#                               a new empty database; prints its string
#
# Runs the server as the calling user, or as `postgres` when called as
# root (initdb refuses root).  Exits 77 (meson's "skipped") with a clear
# message when Debian's postgresql package is not installed.
set -eu

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do bindir=$d; done
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg-throwaway: PostgreSQL server not installed (apt-get install postgresql); skipping" >&2
	exit 77
fi

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg-throwaway.sh start|stop|createdb DIR [NAME]" >&2; exit 2; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

user=$(id -un)
[ "$(id -u)" = 0 ] && user=postgres
conn="host=$dir port=5432 user=$user"

case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	chmod 700 "$dir"
	as_owner "$bindir/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --locale=C.UTF-8 \
	    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	# Unix socket only; fsync on (a kill -9 test must see real durability).
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=200 -c shared_buffers=64MB" \
	    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	echo "$conn dbname=postgres"
	;;
stop)
	[ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir/data"
	;;
createdb)
	name=${3:?database name}
	as_owner "$bindir/psql" -q -X -h "$dir" -U "$user" -d postgres \
	    -c "CREATE DATABASE \"$name\"" >/dev/null
	echo "$conn dbname=$name"
	;;
*)
	echo "pg-throwaway: unknown command $cmd" >&2
	exit 2
	;;
esac
