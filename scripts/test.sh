#!/usr/bin/env bash
# Runs the whole fieldsync test suite, as CI does: installs what is missing,
# builds twice (warnings as errors; address+undefined sanitizers), runs every
# meson test in both builds, runs the unit suite again under valgrind
# memcheck, builds the libFuzzer targets with clang and fuzzes each for
# FS_FUZZ_SECONDS (default 15 each), prints the reliability counts (kills
# survived, changes verified, bad inputs tried, fuzz executions) and ends
# with "N passed, N failed".
# Usage: scripts/test.sh            (from anywhere in a clone)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/deps.sh test || { echo "test: could not install dependencies" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_build() { # name, meson args...
	local dir="build-ci-$1"
	shift
	echo "== configure $dir: $*"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
	fi
	echo "== build $dir"
	ninja -C "$dir" -j "$jobs" || return 1
	echo "== test $dir"
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" --no-suite slowlink-long \
		--no-suite postgresql-long $TEST_EXTRA || true
}

# The slow-link scenarios (9.6 kbit/s ~13 minutes, 32 kbit/s ~2, nearly
# all of it waiting on the shaped link) run in the background on the plain
# build while the sanitizer build compiles and runs; their results go to
# their own log, testlog-slowlink-long.json, counted with the rest.
slow_pid=
start_slowlink_long() {
	local dir=build-ci-plain
	[ -d "$dir" ] || return 1
	echo "== slowlink-long $dir (in the background)"
	meson test -C "$dir" --no-rebuild --suite slowlink-long --print-errorlogs \
		--logbase testlog-slowlink-long >"$dir/slowlink-long.out" 2>&1 &
	slow_pid=$!
}

# Valgrind memcheck on the unit suite (plain build): no error, no definite or
# indirect leak.  Its results go to their own log, testlog-valgrind-*.json.
run_valgrind() {
	local dir=build-ci-plain
	[ -d "$dir" ] || return 1
	echo "== valgrind $dir --suite unit"
	rm -f "$dir"/meson-logs/testlog-valgrind*
	# The merge property test runs one seed per policy here (8 in the other runs).
	FS_MERGE_SEEDS=1 meson test -C "$dir" --suite unit --print-errorlogs --num-processes "$jobs" \
		--logbase testlog-valgrind --timeout-multiplier 20 \
		--wrap='valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q' ||
		true
}

# libFuzzer targets (clang, ASan+UBSan, coverage on the whole code), each
# fuzzed for FS_FUZZ_SECONDS seconds from its seed corpus.
run_fuzz() {
	local dir=build-ci-fuzz
	echo "== configure $dir (clang, -Dfuzzing=true)"
	if [ ! -d "$dir" ]; then
		CC=clang meson setup "$dir" -Dfuzzing=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	echo "== build $dir"
	ninja -C "$dir" -j "$jobs" $(for c in tests/fuzz/corpus/*/; do
		echo "tests/fuzz/fuzz-$(basename "$c")"; done) || return 1
	echo "== fuzz $dir"
	tests/fuzz/run-fuzzers.sh "$dir" "${FS_FUZZ_SECONDS:-15}" "$dir/fuzz-results.txt"
}

t0=$(date +%s)
status=0
TEST_EXTRA= run_build plain --werror -Dwarning_level=2 || status=1
rm -f build-ci-plain/meson-logs/testlog-slowlink-long*
start_slowlink_long || status=1
# The suite postgresql-plain (the PostgreSQL variants of the long integration
# and fault scripts) runs in the plain build only, for time: see
# tests/integration/meson.build.
TEST_EXTRA="--no-suite postgresql-plain" run_build asan --werror -Db_sanitize=address,undefined \
	-Db_lundef=false || status=1
run_valgrind || status=1
rm -f build-ci-fuzz/fuzz-results.txt
run_fuzz || true
if [ -n "$slow_pid" ]; then
	echo "== waiting for slowlink-long"
	wait "$slow_pid" || true
	cat build-ci-plain/slowlink-long.out
fi

python3 - "$status" "$(($(date +%s) - t0))" build-ci-plain build-ci-asan <<'PY'
import glob, json, os, re, sys
build_failed = sys.argv[1] != "0"
elapsed = int(sys.argv[2])
passed = failed = skipped = 0
for d in sys.argv[3:]:
    logs = sorted(glob.glob(os.path.join(d, "meson-logs", "testlog*.json")))
    if not any(l.endswith("testlog.json") for l in logs):
        failed += 1
        print(f"{d}: no test log (build failed?)")
    for log in logs:
        base = os.path.basename(log)
        kind = " (valgrind)" if "valgrind" in base else " (slowlink-long)" if "slowlink" in base else ""
        for line in open(log):
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED: {d}{kind}: {r.get('name')} ({res})")
if not glob.glob("build-ci-plain/meson-logs/testlog-valgrind*.json"):
    failed += 1
    print("FAILED: valgrind did not run")
if not glob.glob("build-ci-plain/meson-logs/testlog-slowlink-long*.json"):
    failed += 1
    print("FAILED: the slowlink-long suite did not run")

# The reliability counts, from the summary lines the suites print.
kills = verified = bad = bad_ok = auth = execs = 0
lines = []
for d in sys.argv[3:]:
    name = d.replace("build-ci-", "")
    paths = [p for p in (os.path.join(d, "meson-logs", "testlog.txt"),
                         os.path.join(d, "meson-logs", "testlog-slowlink-long.txt"))
             if os.path.exists(p)]
    for line in (l for p in paths for l in open(p, errors="replace")):
        line = line.strip()
        if not re.match(r"(fault|badinput|auth|kill9|slowlink): ", line) or " seed " in line \
                or " kept " in line or line.startswith("kill9: store"):
            continue
        lines.append(f"{name}: {line}")
        m = re.match(r"fault: \S+: (\d+) kills survived", line)
        kills += int(m.group(1)) if m else 0
        m = re.search(r"(\d+) changes verified", line)
        verified += int(m.group(1)) if m else 0
        m = re.match(r"badinput: (\d+) cases tried, (\d+) passed", line)
        if m:
            bad += int(m.group(1))
            bad_ok += int(m.group(2))
        m = re.match(r"auth: (\d+) cases tried", line)
        auth += int(m.group(1)) if m else 0
fuzz = "build-ci-fuzz/fuzz-results.txt"
if os.path.exists(fuzz):
    for line in open(fuzz):
        line = line.strip()
        lines.append(f"fuzz: {line[6:]}" if line.startswith("fuzz: ") else line)
        m = re.match(r"fuzz: \S+: (\d+) executions", line)
        execs += int(m.group(1)) if m else 0
        if line.endswith(", ok"):
            passed += 1
        else:
            failed += 1
            print(f"FAILED: {line}")
else:
    failed += 1
    print("FAILED: the fuzzers did not run (see the build-ci-fuzz output above)")
print("== reliability")
for line in lines:
    print(line)
print(f"counts: kills survived {kills}, changes verified {verified}, bad inputs tried {bad}"
      f" ({bad_ok} passed), auth cases {auth}, fuzz executions {execs}, CI time {elapsed} s")
if build_failed:
    failed += 1
    print("a build failed")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
