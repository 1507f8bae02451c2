#!/usr/bin/env bash
# run-fuzzers.sh -- runs every libFuzzer target of a -Dfuzzing=true build for
# a while, on a working copy of its seed corpus, and writes one result line
# per target to RESULTS:
#
#	fuzz: NAME: N executions in S s, C corpus inputs, ok
#	fuzz: NAME: N executions in S s, FAILED (crash-... kept in DIR)
#
# usage: run-fuzzers.sh BUILD_DIR SECONDS_PER_TARGET RESULTS
# Exit status 0 if every target ran clean, 1 otherwise.  A crash input is
# kept in BUILD_DIR/fuzz-artifacts/; copy it into tests/fuzz/corpus/NAME/
# once fixed, so that the replay test keeps it fixed.
set -uo pipefail

build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS RESULTS}
secs=${2:?usage: run-fuzzers.sh BUILD_DIR SECONDS RESULTS}
results=${3:?usage: run-fuzzers.sh BUILD_DIR SECONDS RESULTS}
src=$(cd "$(dirname "$0")" && pwd)
art="$build/fuzz-artifacts"
work="$build/fuzz-corpus"
mkdir -p "$art" "$work"
: >"$results"
status=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

for seeds in "$src"/corpus/*/; do
	name=$(basename "$seeds")
	bin="$build/tests/fuzz/fuzz-$name"
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name: FAILED (no binary $bin)" | tee -a "$results"
		status=1
		continue
	fi
	mkdir -p "$work/$name"
	log="$build/fuzz-$name.log"
	start=$(date +%s)
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$art/$name-" \
		"$work/$name" "$seeds" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	files=$(find "$work/$name" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $name: ${execs:-0} executions in $took s, $files corpus inputs, ok" |
			tee -a "$results"
	else
		echo "fuzz: $name: ${execs:-0} executions in $took s, FAILED (exit $rc, see $log;" \
			"inputs in $art)" | tee -a "$results"
		grep -m 20 -E "ERROR|SUMMARY|fuzz property|runtime error" "$log" >&2
		status=1
	fi
done
exit $status
