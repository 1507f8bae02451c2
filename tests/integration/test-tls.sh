#!/usr/bin/env bash
# test-tls.sh -- the TLS that fieldsyncd accepts (issue 15), probed with
# gnutls-cli against the real daemon on 127.0.0.1 with an RSA certificate
# (the case where static-RSA key exchange would be possible at all).
#
# Default priorities: TLS 1.3 and TLS 1.2 with ECDHE and AEAD accepted;
# static RSA, CBC (with SHA-1 or SHA-256), TLS 1.1 and 1.0 refused.  The
# tls_priorities key replaces the default (here: CBC allowed again, to
# show the key is used), and a string GnuTLS cannot read stops the daemon
# at start with a clear error naming the key.
#
# usage: test-tls.sh FIELDSYNCD
set -euo pipefail

D=$(realpath "$1")
T=$(mktemp -d /tmp/fs-test-tls-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

command -v gnutls-cli >/dev/null || fail "gnutls-cli is not installed (scripts/deps.sh test installs gnutls-bin)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

start() { # [config file]
	rm -f port
	"$D" ${1:+-f "$1"} -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem \
		--port-file port 2>>daemon.log &
	DPID=$!
	for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
	[ -s port ] || fail "daemon did not start"
	PORT=$(cat port)
}
stop() {
	kill "$DPID"
	wait "$DPID" || fail "fieldsyncd did not exit cleanly"
	DPID=
}
# hs PRIORITY: 0 if a handshake with only what PRIORITY allows completes.
hs() {
	timeout 20 gnutls-cli --priority "$1" --x509cafile cert.pem -p "$PORT" 127.0.0.1 \
		</dev/null >hs.out 2>&1
}
accepts() { hs "$1" || fail "$2 was refused: $(tail -3 hs.out)"; }
refuses() { if hs "$1"; then fail "$2 was accepted: $(grep -m1 Description hs.out)"; fi; }

start
accepts "NORMAL:-VERS-ALL:+VERS-TLS1.3" "TLS 1.3"
accepts "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM" "TLS 1.2 ECDHE-RSA AES-128-GCM"
accepts "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+CHACHA20-POLY1305" "TLS 1.2 ECDHE-RSA ChaCha20-Poly1305"
grep -q 'ECDHE' hs.out || fail "the TLS 1.2 handshake did not use ECDHE"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA" "static-RSA key exchange (no forward secrecy)"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1" "CBC with SHA-1"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA256:+SHA384" "CBC with SHA-256"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.1" "TLS 1.1"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.0" "TLS 1.0"
stop
pass "default: TLS 1.3 and TLS 1.2 ECDHE with AEAD only; static RSA, CBC, TLS 1.1 and 1.0 refused (RSA certificate)"

echo 'tls_priorities = NORMAL:-VERS-ALL:+VERS-TLS1.2' >cbc.conf
start cbc.conf
accepts "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1" "CBC with SHA-1 when tls_priorities allows it"
refuses "NORMAL:-VERS-ALL:+VERS-TLS1.3" "TLS 1.3 when tls_priorities leaves it out"
stop
echo 'tls_priorities = NORMAL:+NO-SUCH-THING' >bad.conf
if "$D" -f bad.conf -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem 2>bad.err; then
	fail "a daemon with an unreadable tls_priorities started"
fi
grep -q 'bad.conf:1: tls_priorities: not a GnuTLS priority string' bad.err ||
	fail "unclear error for a bad tls_priorities: $(cat bad.err)"
pass "tls_priorities replaces the default; a bad string stops the daemon with the file, line and key"
