#!/usr/bin/env bash
# Runs the whole fieldsync test suite, as CI does: installs what is missing,
# builds twice (warnings as errors; address+undefined sanitizers), runs every
# meson test in both builds, and ends with "N passed, N failed".
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
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" || true
}

status=0
run_build plain --werror -Dwarning_level=2 || status=1
run_build asan --werror -Db_sanitize=address,undefined -Db_lundef=false || status=1

python3 - "$status" build-ci-plain build-ci-asan <<'PY'
import json, sys, os
build_failed = sys.argv[1] != "0"
passed = failed = skipped = 0
for d in sys.argv[2:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed += 1
        print(f"{d}: no test log (build failed?)")
        continue
    for line in open(log):
        r = json.loads(line)
        res = r.get("result")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1
            print(f"FAILED: {d}: {r.get('name')} ({res})")
if build_failed:
    failed += 1
    print("a build failed")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
