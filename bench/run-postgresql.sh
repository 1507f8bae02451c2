#!/bin/sh
# run-postgresql.sh -- the PostgreSQL store's figures (issue 18) beside the
# SQLite store's, in one run on one machine, so the ratios hold however
# busy the machine is (docs/BENCHMARKS.md, "PostgreSQL store").
#
#   1. push of 10k records (bench-sync 10000): SQLite, then PostgreSQL,
#      twice each, alternating;
#   2. 500 devices x 100 records (bench-concurrency 500): SQLite with one
#      daemon, PostgreSQL with 1, 2 and 3 daemons on one database (device
#      i syncs with daemon i mod N, as a round-robin balancer sends it).
#
# PostgreSQL is a throwaway server (tests/pg/with-pg.sh) on this machine,
# sharing its cores with the daemons and the simulated devices.
# Prints one JSON line per run, each with "store" and "daemons".
#
# usage: bench/run-postgresql.sh     (build/ must hold a build with libpq)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FS_BENCH_BUILD:-$SRC/build}
WITH_PG=$SRC/tests/pg/with-pg.sh
[ -x "$BUILD/bench/bench-sync" ] || { echo "run-postgresql: build $BUILD first" >&2; exit 2; }

for round in 1 2; do
	"$BUILD/bench/bench-sync" 10000
	"$WITH_PG" "$BUILD/bench/bench-sync" 10000
done
FS_BENCH_RECORDS=100 "$BUILD/bench/bench-concurrency" 500
for n in 1 2 3; do
	FS_BENCH_RECORDS=100 FS_BENCH_DAEMONS=$n "$WITH_PG" "$BUILD/bench/bench-concurrency" 500
done
