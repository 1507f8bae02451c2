#!/usr/bin/env bash
# test-debs.sh -- the Debian packages, built from this source tree.
#
# Runs packaging/build-debs.sh (dpkg-buildpackage -us -uc -b, with
# DEB_BUILD_OPTIONS=nocheck: the suites already ran here), then checks each
# package with dpkg-deb: version, dependencies, contents (binaries, library
# and soname links, header, .pc, man pages, unit file, example config,
# docs, maintainer scripts).  Extracts the packages into a temporary
# directory (nothing is installed) and runs the packaged fieldsyncd
# --version and -n, fieldsync --version, checks the unit with
# systemd-analyze verify, and builds the packaged example against the
# packaged libfieldsync-dev.  The packages are left in OUTDIR.
#
# The packages do not depend on this build's options, so a sanitizer build
# skips this test (the plain build runs it).
#
# usage: test-debs.sh SOURCE_ROOT OUTDIR VERSION SANITIZE
set -euo pipefail

SRC=$(realpath "$1")
OUT=$2
VERSION=$3
SAN=${4:-none}
if [ "$SAN" != none ]; then
	echo "skip: the packages do not depend on b_sanitize=$SAN; the plain build tests them"
	exit 77
fi
for tool in dpkg-buildpackage dh dpkg-deb; do
	command -v "$tool" >/dev/null ||
		{ echo "FAIL: $tool is missing: run scripts/deps.sh test" >&2; exit 1; }
done
T=$(mktemp -d /tmp/fs-test-debs-XXXXXX)
trap 'rm -rf "$T"' EXIT
# Nothing of the calling build may leak into the package build.
unset LD_LIBRARY_PATH MESONINTROSPECT MESON_BUILD_ROOT MESON_SOURCE_ROOT ASAN_OPTIONS \
	UBSAN_OPTIONS MALLOC_PERTURB_

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() { echo "ok: $*"; }

start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT"
DEB_BUILD_OPTIONS="nocheck parallel=2" "$SRC/packaging/build-debs.sh" "$OUT" >"$T/build.out" ||
	{ cat "$T/build.out" >&2; fail "build-debs.sh failed"; }
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb() { echo "$OUT/${1}_${VERSION}_$arch.deb"; }
for p in fieldsyncd fieldsync libfieldsync0 libfieldsync-dev; do
	[ -f "$(deb $p)" ] || fail "$(basename "$(deb $p)") was not built"
	[ "$(dpkg-deb -f "$(deb $p)" Version)" = "$VERSION" ] || fail "$p has the wrong version"
done
# A public function added or removed without updating the symbols file.
if grep -q '^dpkg-gensymbols: warning' "$OUT/build-debs.log"; then
	sed -n '/^dpkg-gensymbols: warning/,/dh_shlibdeps/p' "$OUT/build-debs.log" >&2
	fail "libfieldsync's symbols changed: update packaging/debian/libfieldsync0.symbols"
fi
pass "4 packages built in $(($(date +%s) - start)) s"

# 1. Contents.
has() { # package path-regex
	dpkg-deb -c "$(deb "$1")" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}' | grep -xE "$2" >/dev/null ||
		fail "$1 lacks $2"
}
lacks() { # package path-regex
	dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | grep -E "$2" >/dev/null && fail "$1 holds $2"
	true
}
has fieldsyncd './usr/sbin/fieldsyncd'
has fieldsyncd './lib/systemd/system/fieldsyncd.service'
has fieldsyncd './etc/fieldsyncd/fieldsyncd.conf.example'
has fieldsyncd './usr/share/man/man8/fieldsyncd.8.gz'
has fieldsyncd './usr/share/man/man5/fieldsyncd.conf.5.gz'
has fieldsyncd './usr/share/doc/fieldsyncd/OPERATIONS.md.gz'
has fieldsyncd './usr/share/doc/fieldsyncd/copyright'
lacks fieldsyncd 'libfieldsync|/usr/bin/|include'
has fieldsync './usr/bin/fieldsync'
has fieldsync './usr/share/man/man1/fieldsync.1.gz'
lacks fieldsync 'libfieldsync|sbin'
has libfieldsync0 "./usr/lib/$ma/libfieldsync.so.$VERSION"
has libfieldsync0 "./usr/lib/$ma/libfieldsync.so.0 -> libfieldsync.so.$VERSION"
lacks libfieldsync0 'libfieldsync\.so$|include|bin/'
has libfieldsync-dev './usr/include/fieldsync.h'
has libfieldsync-dev "./usr/lib/$ma/libfieldsync.so -> libfieldsync.so.0"
has libfieldsync-dev "./usr/lib/$ma/pkgconfig/fieldsync.pc"
has libfieldsync-dev './usr/share/doc/libfieldsync-dev/examples/record_and_sync.c'
has libfieldsync-dev './usr/share/doc/libfieldsync-dev/examples/Makefile'
lacks libfieldsync-dev 'libfieldsync\.so\.0'
pass "contents: binaries, library and links, header, .pc, man pages, unit, example config, docs"

# 2. Control data.
dpkg-deb -f "$(deb libfieldsync-dev)" Depends | grep -F "libfieldsync0 (= $VERSION)" >/dev/null ||
	fail "libfieldsync-dev does not depend on libfieldsync0 (= $VERSION)"
dpkg-deb -f "$(deb fieldsync)" Depends | grep 'libfieldsync0 (>= ' >/dev/null ||
	fail "fieldsync does not depend on libfieldsync0"
dpkg-deb -f "$(deb fieldsyncd)" Depends | grep adduser >/dev/null || fail "fieldsyncd lacks adduser"
dpkg-deb -e "$(deb fieldsyncd)" "$T/control"
grep -qx /etc/fieldsyncd/fieldsyncd.conf.example "$T/control/conffiles" ||
	fail "the example config is not a conffile"
grep -q 'adduser --system' "$T/control/postinst" || fail "postinst does not create the user"
grep -q "deb-systemd-invoke .* 'fieldsyncd.service'" "$T/control/postinst" ||
	fail "postinst does not restart the service on upgrade"
# Not enabled at first install: only re-enabled when it was enabled before.
grep -B3 "deb-systemd-helper enable 'fieldsyncd.service'" "$T/control/postinst" |
	grep was-enabled >/dev/null || fail "postinst enables the service at first install"
dpkg-deb -e "$(deb libfieldsync0)" "$T/control-lib"
grep -q '^libfieldsync 0 libfieldsync0' "$T/control-lib/shlibs" || fail "libfieldsync0 shlibs"
pass "control: versions, dependencies, conffile, postinst (user, service not enabled at install)"

# 3. Extract (not install) and run.
X=$T/root
mkdir "$X"
for p in fieldsyncd fieldsync libfieldsync0 libfieldsync-dev; do dpkg-deb -x "$(deb $p)" "$X"; done
L=$X/usr/lib/$ma
out=$(LD_LIBRARY_PATH=$L "$X/usr/sbin/fieldsyncd" --version) || fail "packaged fieldsyncd --version"
[ "$out" = "fieldsyncd $VERSION" ] || fail "packaged fieldsyncd --version printed '$out'"
out=$(LD_LIBRARY_PATH=$L "$X/usr/bin/fieldsync" --version) || fail "packaged fieldsync --version"
[ "$out" = "fieldsync $VERSION" ] || fail "packaged fieldsync --version printed '$out'"
LD_LIBRARY_PATH=$L ldd "$X/usr/bin/fieldsync" | grep "libfieldsync.so.0 => $L/" >/dev/null ||
	fail "packaged fieldsync does not load the packaged libfieldsync"
readelf -d "$L/libfieldsync.so.$VERSION" | grep 'SONAME.*\[libfieldsync\.so\.0\]' >/dev/null ||
	fail "packaged library soname"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
out=$("$X/usr/sbin/fieldsyncd" -f "$X/etc/fieldsyncd/fieldsyncd.conf.example" -d "$T/data" \
	--cert "$T/cert.pem" --key "$T/key.pem" -n) || fail "packaged fieldsyncd -n with the example config"
[ "$out" = "configuration OK" ] || fail "packaged fieldsyncd -n printed '$out'"
for page in man1/fieldsync.1 man8/fieldsyncd.8 man5/fieldsyncd.conf.5; do
	warn=$(zcat "$X/usr/share/man/$page.gz" | groff -man -ww -z 2>&1 || true)
	[ -z "$warn" ] || fail "$page: $warn"
done
pass "packaged fieldsyncd --version, -n (example config), fieldsync --version, man pages render"

# 4. The unit: required settings, and systemd-analyze verify on a copy that
# names the extracted binary.
unit=$X/lib/systemd/system/fieldsyncd.service
for want in 'User=fieldsyncd' 'StateDirectory=fieldsyncd' 'ConfigurationDirectory=fieldsyncd' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
	'CapabilityBoundingSet=' 'ExecStart=/usr/sbin/fieldsyncd'; do
	grep -qxF "$want" "$unit" || fail "the unit lacks $want"
done
grep -q '^ExecReload=' "$unit" && fail "the unit has ExecReload=, but fieldsyncd cannot reload"
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/unit"
	sed "s|/usr/sbin/fieldsyncd|$X/usr/sbin/fieldsyncd|" "$unit" >"$T/unit/fieldsyncd.service"
	out=$(LD_LIBRARY_PATH=$L systemd-analyze verify --man=no "$T/unit/fieldsyncd.service" 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	pass "unit: hardening settings present, systemd-analyze verify clean"
else
	pass "unit: hardening settings present (no systemd-analyze here to verify it)"
fi

# 5. The packaged example builds against the packaged -dev package.
cp -r "$X/usr/share/doc/libfieldsync-dev/examples" "$T/ex"
PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$X make -s -C "$T/ex" \
	CFLAGS="-O2 -std=c11 -Wall -Wextra -Werror" >"$T/make.log" 2>&1 ||
	{ cat "$T/make.log" >&2; fail "the packaged example did not build against libfieldsync-dev"; }
LD_LIBRARY_PATH=$L "$T/ex/record_and_sync" >/dev/null 2>&1 && fail "the example ran without arguments"
LD_LIBRARY_PATH=$L ldd "$T/ex/record_and_sync" | grep "libfieldsync.so.0 => $L/" >/dev/null ||
	fail "the packaged example does not load the packaged libfieldsync"
pass "packaged example builds against libfieldsync-dev (pkg-config)"
echo "test-debs: all passed in $(($(date +%s) - start)) s; packages in $OUT"
