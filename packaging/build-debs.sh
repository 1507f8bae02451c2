#!/usr/bin/env bash
# Builds the Debian packages (fieldsyncd, fieldsync, libfieldsync0,
# libfieldsync-dev) from this source tree with dpkg-buildpackage.
#
# Debian tools expect debian/ at the top of the source; it is kept in
# packaging/debian.  This script copies the source (the files git knows,
# committed or not, minus ignored ones; everything but build directories
# when there is no git) to a temporary directory, puts packaging/debian at
# ./debian there, runs "dpkg-buildpackage -us -uc -b" and copies the .debs
# and the build log (build-debs.log) to OUTDIR.  Nothing is installed.
#
# usage: packaging/build-debs.sh [OUTDIR]          (default: ./debs)
# Environment: DEB_BUILD_OPTIONS is passed on; with "nocheck" in it the test
# suites are neither built nor run, and their build dependencies are not
# needed (the nocheck build profile).  Needs dpkg-dev and debhelper
# (scripts/deps.sh test installs them) and the build dependencies listed in
# packaging/debian/control.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-debs}" && cd "${1:-debs}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-debs-XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/fieldsync

mkdir "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		(cd "$root" && while IFS= read -r -d '' f; do
			# Skip files deleted in the work tree but still in the index.
			[ -e "$f" ] && printf '%s\0' "$f"
		done) |
		tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$root" --exclude='./build*' --exclude=./debian --exclude=./demo -cf - . |
		tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -r "$src/packaging/debian" "$src/debian"

case " ${DEB_BUILD_OPTIONS:-} " in
*" nocheck "*) export DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES:+$DEB_BUILD_PROFILES }nocheck" ;;
esac

(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "build-debs: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
cp "$work"/*.deb "$out"/
cp "$work/build.log" "$out/build-debs.log"
ls "$work"/*.deb | xargs -n1 basename | sed "s|^|build-debs: $out/|"
