#!/bin/sh
# run-all.sh -- builds what the benchmarks need (if needed) and runs them all.
#
# Prints one JSON line per program on stdout (the first describes the
# machine), and keeps a copy in $FS_BENCH_OUT (default: bench-results.jsonl
# in the current directory).  docs/BENCHMARKS.md explains every figure;
# bench/table.py turns the lines into its table.
#
# usage: bench/run-all.sh [--quick]
#   --quick   small sizes (1k/10k pushes, 50/100 devices, 10k client
#             changes): a smoke run of a minute or two
#
# environment:
#   FS_BENCH_BUILD   build directory (default: build/ next to bench/);
#                    configured with meson if it does not exist
#   FS_BENCH_DIR     work directory (default: a new one under /var/tmp,
#                    removed at the end unless FS_BENCH_KEEP is set)
#   FS_BENCH_OUT     where to keep the JSON lines
#   FS_BENCH_CONCURRENCY, FS_BENCH_TEAM, FS_BENCH_RECORDS, FS_BENCH_THREADS:
#                    see bench/bench-concurrency.c
#
# Every program stops by itself (each is also limited to 20 minutes here)
# and kills the daemon it started.  On 2 cores the whole run takes about
# 5 minutes; run it on a quiet machine (the load average is recorded next
# to every figure).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FS_BENCH_BUILD:-$SRC/build}
OUT=${FS_BENCH_OUT:-$PWD/bench-results.jsonl}
QUICK=no
[ "${1:-}" = --quick ] && QUICK=yes

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRC" --buildtype=debugoptimized >&2
fi
ninja -C "$BUILD" client/fieldsync daemon/fieldsyncd bench/bench-save bench/bench-sync \
	bench/bench-concurrency bench/bench-client-mem >&2

if [ -z "${FS_BENCH_DIR:-}" ]; then
	FS_BENCH_DIR=$(mktemp -d /var/tmp/fs-bench-XXXXXX)
	[ -n "${FS_BENCH_KEEP:-}" ] || trap 'rm -rf "$FS_BENCH_DIR"' EXIT
fi
export FS_BENCH_DIR
# The programs share FS_BENCH_DIR: device stores made once are reused.
export FS_BENCH_KEEP=1
FS_BENCH_COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	FS_BENCH_COMMIT="$FS_BENCH_COMMIT+changes"
fi
export FS_BENCH_COMMIT

machine() {
	model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
	cores=$(nproc)
	ram=$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
	kernel=$(uname -sr)
	load=$(cut -d' ' -f1 /proc/loadavg)
	printf '{"bench":"machine","cpu":"%s","cores":%s,"ram_gib":%s,"kernel":"%s","loadavg_1m":%s,"commit":"%s","quick":"%s","date":"%s"}\n' \
		"$model" "$cores" "$ram" "$kernel" "$load" "$FS_BENCH_COMMIT" "$QUICK" \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

run() { # program [args...]
	name=$1
	shift
	echo "run-all: $name $*" >&2
	start=$(date +%s)
	if ! timeout -k 10 1200 "$BUILD/bench/$name" "$@" >"$FS_BENCH_DIR/$name.out"; then
		echo "run-all: $name failed" >&2
		printf '{"bench":"%s","failed":true}\n' "$name" >"$FS_BENCH_DIR/$name.out"
	fi
	cat "$FS_BENCH_DIR/$name.out"
	echo "run-all: $name took $(($(date +%s) - start)) s" >&2
}

{
	machine
	if [ $QUICK = yes ]; then
		run bench-save 500
		run bench-sync 1000 10000
		run bench-client-mem 10000
		run bench-concurrency 50 100
	else
		run bench-save 2000
		run bench-sync 1000 10000 100000
		run bench-client-mem 100000
		run bench-concurrency 200 500
	fi
} | tee "$OUT"
echo "run-all: figures in $OUT" >&2
