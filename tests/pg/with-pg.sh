#!/bin/sh
# with-pg.sh CMD [ARGS...] -- runs CMD beside a throwaway PostgreSQL server
# (pg-throwaway.sh) and stops the server after, whatever CMD did.
#
# CMD sees FS_PG_DIR (the server's directory and socket), FS_PG_SCRIPT
# (pg-throwaway.sh, for `createdb`), FS_PG_CONNINFO (a fresh database
# `fieldsync`) and FS_STORE_KIND=postgresql.  Exits with CMD's status, or
# 77 (skipped) when the PostgreSQL server is not installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
script=$here/pg-throwaway.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/fs-pg-XXXXXX")
chmod 755 "$dir"

"$script" start "$dir/srv" >/dev/null
rc=$?
if [ $rc -ne 0 ]; then
	rm -rf "$dir"
	exit $rc # 77 when not installed
fi
trap '"$script" stop "$dir/srv"; rm -rf "$dir"' EXIT INT TERM
FS_PG_CONNINFO=$("$script" createdb "$dir/srv" fieldsync) || exit 1
export FS_PG_DIR="$dir/srv" FS_PG_SCRIPT="$script" FS_PG_CONNINFO FS_STORE_KIND=postgresql
"$@"
