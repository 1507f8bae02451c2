#!/usr/bin/env bash
# Installs the Debian packages fieldsync needs to build and test, if any are
# missing.  Safe to run again: it asks apt only when something is absent.
# Usage: scripts/deps.sh [build|test]
set -euo pipefail

build_pkgs=(gcc meson ninja-build pkg-config libsqlite3-dev libcjson-dev zlib1g-dev libsodium-dev
	libcurl4-openssl-dev libmicrohttpd-dev libgnutls28-dev libpq-dev gnutls-bin
	openssl curl sqlite3 python3)
test_pkgs=(postgresql clang libclang-rt-14-dev python3-cryptography valgrind faketime debhelper dpkg-dev fakeroot make groff-base bsdextrautils systemd chromium)
# The browser test (tests/browser) runs Debian's chromium through
# playwright-core from npm.  A Node.js that is already installed (with its
# npm) is used as it is: Debian's npm package conflicts with some.
command -v npm >/dev/null 2>&1 || test_pkgs+=(nodejs npm)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
