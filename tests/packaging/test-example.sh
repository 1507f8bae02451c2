#!/usr/bin/env bash
# test-example.sh -- "meson install" and the libfieldsync example.
#
# Installs this build into a staging directory (meson install --destdir)
# and checks what an integrator gets: fieldsync.h, libfieldsync.so.$V
# with soname libfieldsync.so.0 and its links, only fs_* symbols exported,
# fieldsync.pc, the man pages, the example configuration, the systemd unit.
# Then builds client/examples with its Makefile, through
# "pkg-config --cflags --libs fieldsync" pointed at the staged install, and
# runs it against the staged fieldsyncd on 127.0.0.1 (generated
# certificate): the record it makes arrives on the server, with --cacert
# and with --pin, and bad input records nothing.
#
# usage: test-example.sh BUILD_ROOT SOURCE_ROOT SANITIZE   (SANITIZE: b_sanitize)
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")
SAN=${3:-none}
T=$(mktemp -d /tmp/fs-test-example-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
unset LD_LIBRARY_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

# 1. meson install into a staging directory.
STAGE=$T/stage
meson install -C "$BUILD" --no-rebuild --destdir "$STAGE" >install.log 2>&1 ||
	{ cat install.log >&2; fail "meson install failed"; }
pc=$(find "$STAGE" -name fieldsync.pc)
[ "$(wc -l <<<"$pc")" = 1 ] && [ -n "$pc" ] || fail "expected one fieldsync.pc, found: $pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
P=$STAGE$prefix
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
[ -f "$P/include/fieldsync.h" ] || fail "fieldsync.h not installed in $prefix/include"
V=$(sed -n 's/^Version: //p' "$pc")
[[ $V =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "fieldsync.pc has no version: '$V'"
[ -f "$libdir/libfieldsync.so.$V" ] && [ ! -L "$libdir/libfieldsync.so.$V" ] ||
	fail "libfieldsync.so.$V not installed"
[ "$(readlink "$libdir/libfieldsync.so.0")" = libfieldsync.so.$V ] || fail "libfieldsync.so.0 link"
[ "$(readlink "$libdir/libfieldsync.so")" = libfieldsync.so.0 ] || fail "libfieldsync.so link"
readelf -d "$libdir/libfieldsync.so.$V" | grep 'SONAME.*\[libfieldsync\.so\.0\]' >/dev/null ||
	fail "soname is not libfieldsync.so.0"
leaked=$(nm -D --defined-only "$libdir/libfieldsync.so.$V" | awk '{print $3}' |
	grep -v '^fs_' | grep -v '^_' || true)
[ -z "$leaked" ] || fail "libfieldsync exports non-fs_ symbols: $leaked"
for f in bin/fieldsync sbin/fieldsyncd share/man/man1/fieldsync.1 share/man/man8/fieldsyncd.8 \
	share/man/man5/fieldsyncd.conf.5 lib/systemd/system/fieldsyncd.service; do
	[ -e "$P/$f" ] || fail "$prefix/$f not installed"
done
conf=$(find "$STAGE" -path '*/fieldsyncd/fieldsyncd.conf.example')
[ -n "$conf" ] && cmp -s "$conf" "$SRC/docs/fieldsyncd.conf.example" ||
	fail "fieldsyncd.conf.example not installed"
grep -qx "ExecStart=$prefix/sbin/fieldsyncd" "$P/lib/systemd/system/fieldsyncd.service" ||
	fail "the installed unit does not start $prefix/sbin/fieldsyncd"
pass "meson install: header, library (soname libfieldsync.so.0, only fs_* exported), .pc, man pages, example config, unit"

# 2. The example, built with its Makefile through pkg-config.
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$STAGE
flags=$(pkg-config --cflags --libs fieldsync)
grep -q -- "-I$P/include" <<<"$flags" && grep -q -- "-L$libdir" <<<"$flags" &&
	grep -q -- "-lfieldsync" <<<"$flags" || fail "pkg-config gave: $flags"
san=
[ "$SAN" = none ] || san="-fsanitize=$SAN"
cp -r "$SRC/client/examples" ex
make -s -C ex CFLAGS="-O2 -g -std=c11 -Wall -Wextra -Werror $san" LDFLAGS="$san" >make.log 2>&1 ||
	{ cat make.log >&2; fail "the example did not build"; }
export LD_LIBRARY_PATH=$libdir
LD_LIBRARY_PATH=$libdir ldd ex/record_and_sync | grep "libfieldsync.so.0 => $libdir/" >/dev/null ||
	fail "the example does not load the staged libfieldsync"
pass "example built with its Makefile: $flags"

# 3. Run it against the installed daemon.
D=$P/sbin/fieldsyncd
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null 2>&1
"$D" -d data device add --name app-1 --role field --team north 2>/dev/null |
	sed -n 's/^token: //p' >token
[ "$(wc -c <token)" -eq 65 ] || fail "no token"
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 200); do
	[ -s port ] && break
	sleep 0.05
done
[ -s port ] || fail "fieldsyncd did not start"
URL=https://127.0.0.1:$(cat port)

server() { sqlite3 data/fieldsyncd.db "$1"; }
id=$(ex/record_and_sync --db app.db --server "$URL" --token-file token --cacert cert.pem \
	labor_inspection "worksite_name=Example brick kiln" sector=manufacturing \
	inspection_date=2026-11-20 referral_decision=monitor number_of_workers=12 2>run1.err) ||
	{ cat run1.err >&2; fail "the example failed"; }
[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "the example printed '$id', not a record id"
[ "$(server "SELECT form FROM records WHERE id = '$id'")" = labor_inspection ] ||
	fail "record $id did not arrive on the server"
server "SELECT value FROM fields WHERE record_id = '$id' AND name = 'worksite_name'" |
	grep 'Example brick kiln' >/dev/null || fail "record $id arrived without its worksite_name"
[ "$(server "SELECT value FROM fields WHERE record_id = '$id' AND name = 'number_of_workers'")" = 12 ] ||
	fail "record $id arrived without its number_of_workers"
pass "a new device fetched the form, recorded $id and synced it (--cacert)"

pin="sha256//$(openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)"
id2=$(ex/record_and_sync --db app.db --server "$URL" --token-file token --pin "$pin" \
	labor_inspection "worksite_name=Second site" sector=mining inspection_date=2026-11-21 \
	referral_decision=none 2>run2.err) || { cat run2.err >&2; fail "the example failed with --pin"; }
[ "$(server "SELECT count(*) FROM records WHERE id IN ('$id', '$id2')")" = 2 ] ||
	fail "the second record did not arrive"
pass "second record $id2 synced with the pinned key only"

before=$(server 'SELECT count(*) FROM changes')
set +e
ex/record_and_sync --db app.db --server "$URL" --token-file token --pin "$pin" \
	labor_inspection "worksite_name=Bad" sector=mining inspection_date=2026-11-21 \
	referral_decision=none number_of_workers=-5 >out.txt 2>err.txt
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad input: exit $rc, expected 2"
grep -q number_of_workers err.txt || fail "bad input not named: $(cat err.txt)"
[ -s out.txt ] && fail "bad input printed a record id"
[ "$(server 'SELECT count(*) FROM changes')" = "$before" ] || fail "bad input reached the server"
[ "$(sqlite3 app.db 'SELECT count(*) FROM records')" = 2 ] || fail "bad input was recorded"
pass "bad input refused with exit 2, nothing recorded"
# 4. A program built against 0.1's header (its smaller structs, fs_sync a
#    function) against this library: it still records and syncs, and the
#    library reads and writes only the 0.1 part of its structs.
cc -O1 -g -std=c11 -Wall -Wextra -Werror $san "$SRC/tests/packaging/compat-0.1.c" \
	-L"$libdir" -lfieldsync $san -o compat-0.1 2>cc.log || { cat cc.log >&2; fail "compat-0.1 did not build"; }
out=$(./compat-0.1 app.db "$URL" token cert.pem 2>compat.err) ||
	{ cat compat.err >&2; fail "a program built against 0.1 failed with this library"; }
[ "$out" = "pushed 1" ] || fail "compat-0.1 printed '$out'"
[ "$(server "SELECT count(*) FROM records WHERE form = 'labor_inspection'")" = 3 ] ||
	fail "the 0.1 program's record did not arrive"
pass "a program built against the 0.1 header synced with libfieldsync $V"
kill "$DPID"
wait "$DPID" 2>/dev/null || true
DPID=
echo "test-example: all passed"
