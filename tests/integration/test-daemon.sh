#!/bin/bash
#
# test-daemon.sh -- fieldsyncd basics against a real daemon on 127.0.0.1.
#
# usage: test-daemon.sh FIELDSYNCD SOURCE_ROOT
#
# Starts fieldsyncd on an ephemeral port with a throwaway self-signed
# certificate and checks: configuration errors, the admin commands, health,
# authentication (none, malformed, revoked, valid), routing (404, 405, path
# traversal), the request limits (413 for a large body and for a gzip bomb,
# 415 for an unknown Content-Encoding), plain HTTP refused unless
# --insecure-http on loopback, a clean exit on SIGTERM, and that no token or
# field value ever reaches the log.  Stops at the first failure.

set -u

BIN=${1:?usage: test-daemon.sh FIELDSYNCD SOURCE_ROOT}
SRC=${2:?usage: test-daemon.sh FIELDSYNCD SOURCE_ROOT}
FORM="$SRC/tests/fixtures/forms/labor_inspection.json"
SENTINEL="sentinel-value-7f3a9c1e"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fieldsyncd-test.XXXXXX") || exit 1
pid=""
pid2=""

cleanup() {
	for p in $pid $pid2; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp"/daemon*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

ok() {
	echo "ok: $*"
}

# Runs curl; prints the status code; body in $tmp/body, headers in $tmp/headers.
req() {
	curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' --max-time 30 \
	    --cacert "$tmp/cert.pem" "$@"
}

expect_status() {
	local want=$1 what=$2 got
	shift 2
	got=$(req "$@")
	[ "$got" = "$want" ] || fail "$what: expected HTTP $want, got $got: $(head -c 300 "$tmp/body")"
	ok "$what -> $want"
}

expect_json_error() {
	grep -q '"error":' "$tmp/body" || fail "$1: body is not a JSON error: $(head -c 300 "$tmp/body")"
	grep -qi '^content-type: application/json' "$tmp/headers" || fail "$1: not application/json"
}

wait_port() {
	local file=$1 p=$2 i
	for i in $(seq 1 100); do
		[ -s "$file" ] && return 0
		kill -0 "$p" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

command -v curl >/dev/null || fail "curl is not installed"
command -v openssl >/dev/null || fail "openssl is not installed"
[ -x "$BIN" ] || fail "not executable: $BIN"
[ -f "$FORM" ] || fail "missing form definition: $FORM"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.log" ||
	fail "openssl could not make a certificate: $(cat "$tmp/openssl.log")"

cat >"$tmp/fieldsyncd.conf" <<CONF
# fieldsyncd test configuration
listen = 127.0.0.1
port = 0
data_dir = "$tmp/data"
tls_cert = $tmp/cert.pem
tls_key = $tmp/key.pem   # trailing comment
threads = 2
max_body = 1M
max_inflated = 16M
CONF
F=(-f "$tmp/fieldsyncd.conf")

# --- Command line and configuration -------------------------------------

"$BIN" --help >/dev/null || fail "--help did not exit 0"
"$BIN" --version | grep -q '^fieldsyncd ' || fail "--version"
"$BIN" "${F[@]}" device add --help >/dev/null || fail "device add --help did not exit 0"
"$BIN" "${F[@]}" form publish --help >/dev/null || fail "form publish --help did not exit 0"
"$BIN" --no-such-flag >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown flag should exit 2"
"$BIN" "${F[@]}" -n | grep -qx 'configuration OK' || fail "-n did not print 'configuration OK'"
ok "usage and -n"

printf 'listen = 127.0.0.1\nthreads = 0\n' >"$tmp/bad.conf"
"$BIN" -f "$tmp/bad.conf" -n 2>"$tmp/err.txt"
[ $? -eq 2 ] || fail "a bad configuration should exit 2"
grep -q "bad.conf:2: threads" "$tmp/err.txt" || fail "config error lacks file:line: $(cat "$tmp/err.txt")"
printf 'colour = blue\n' >"$tmp/bad2.conf"
"$BIN" -f "$tmp/bad2.conf" -n 2>"$tmp/err.txt"
[ $? -eq 2 ] && grep -q "bad2.conf:1: unknown key" "$tmp/err.txt" || fail "unknown key not refused"
"$BIN" "${F[@]}" -p 70000 -n 2>/dev/null
[ $? -eq 2 ] || fail "-p 70000 should exit 2"
ok "configuration errors name file:line and exit 2"

"$BIN" "${F[@]}" --insecure-http -l 0.0.0.0 -n 2>/dev/null
[ $? -eq 2 ] || fail "--insecure-http -l 0.0.0.0 -n should exit 2"
"$BIN" "${F[@]}" --insecure-http -l 0.0.0.0 2>/dev/null
[ $? -eq 2 ] || fail "--insecure-http -l 0.0.0.0 should exit 2"
ok "plain HTTP refused on a non-loopback address"

# --- Admin commands -----------------------------------------------------

"$BIN" "${F[@]}" device add --name field1 --role field --team north \
    >"$tmp/add.out" 2>"$tmp/add.err" || fail "device add failed: $(cat "$tmp/add.err")"
FIELD_TOKEN=$(sed -n 's/^token: //p' "$tmp/add.out")
[[ "$FIELD_TOKEN" =~ ^[0-9a-f]{64}$ ]] || fail "device add did not print 'token: <64 hex>'"
[ "$(wc -l <"$tmp/add.out")" -eq 1 ] || fail "device add printed more than the token line"
grep -qi 'not be shown again\|shown only' "$tmp/add.err" || fail "device add gave no warning"
grep -qF "$FIELD_TOKEN" "$tmp/add.err" && fail "the token went to stderr"

REVOKED_TOKEN=$("$BIN" "${F[@]}" device add --name lost1 --role field --team north 2>/dev/null |
    sed -n 's/^token: //p')
[ -n "$REVOKED_TOKEN" ] || fail "second device add"
"$BIN" "${F[@]}" device add --name field1 --role field --team north >/dev/null 2>&1
[ $? -eq 2 ] || fail "adding a duplicate name should exit 2"
"$BIN" "${F[@]}" device add --name x --role king --team north >/dev/null 2>&1
[ $? -eq 2 ] || fail "a bad role should exit 2"
"$BIN" "${F[@]}" device revoke lost1 >/dev/null || fail "device revoke"
"$BIN" "${F[@]}" device revoke nobody >/dev/null 2>&1
[ $? -eq 2 ] || fail "revoking an unknown device should exit 2"
"$BIN" "${F[@]}" device list >"$tmp/list.out" || fail "device list"
grep -q '^field1 .*field .*north' "$tmp/list.out" || fail "device list lacks field1"
grep -q '^lost1 .* yes ' "$tmp/list.out" || fail "device list does not show lost1 revoked"
grep -qF "$FIELD_TOKEN" "$tmp/list.out" && fail "device list shows a token"
ok "device add, list, revoke"

"$BIN" "${F[@]}" form publish "$FORM" >/dev/null || fail "form publish $FORM"
"$BIN" "${F[@]}" form publish "$FORM" >/dev/null || fail "republishing the same form should succeed"
printf '{"id": "broken", "version": 1, "title": "x", "fields": [' >"$tmp/broken.json"
"$BIN" "${F[@]}" form publish "$tmp/broken.json" >/dev/null 2>"$tmp/err.txt"
[ $? -eq 2 ] || fail "publishing malformed JSON should exit 2"
grep -q "broken.json: ." "$tmp/err.txt" || fail "no message for malformed JSON"
printf '{"id": "broken", "version": 1, "title": "x", "fields": [{"name": "a", "type": "colour"}]}' \
    >"$tmp/broken2.json"
"$BIN" "${F[@]}" form publish "$tmp/broken2.json" >/dev/null 2>"$tmp/err.txt"
[ $? -eq 2 ] || fail "publishing a form with a bad field type should exit 2"
grep -q "broken2.json: ." "$tmp/err.txt" || fail "no message for a broken form"
"$BIN" "${F[@]}" form list | grep -q '^labor_inspection ' || fail "form list"
ok "form publish and list"

# --- The server ---------------------------------------------------------

"$BIN" "${F[@]}" --port-file "$tmp/port" 2>"$tmp/daemon.log" &
pid=$!
wait_port "$tmp/port" "$pid" || fail "fieldsyncd did not start"
PORT=$(cat "$tmp/port")
grep -q "fieldsyncd: listening on https://127.0.0.1:$PORT\$" "$tmp/daemon.log" ||
	fail "no 'listening on https://127.0.0.1:$PORT' line"
U="https://127.0.0.1:$PORT"
ok "listening on port $PORT"

expect_status 200 "GET /v1/health" "$U/v1/health"
grep -q '"status":"ok"' "$tmp/body" || fail "health body: $(cat "$tmp/body")"
grep -q '"time_ms":[0-9]' "$tmp/body" || fail "health has no time_ms"
grep -qi '^content-type: application/json' "$tmp/headers" || fail "health is not JSON"
grep -qi '^x-fieldsync-time: [0-9]' "$tmp/headers" || fail "no X-Fieldsync-Time header"
grep -qi '^x-request-id: [0-9a-f]' "$tmp/headers" || fail "no X-Request-Id header"
grep -qi '^x-content-type-options: nosniff' "$tmp/headers" || fail "no nosniff header"
grep -qi '^cache-control: no-store' "$tmp/headers" || fail "no Cache-Control: no-store"
grep -qi '^strict-transport-security: max-age=[1-9]' "$tmp/headers" || fail "no HSTS header"
grep -qi '^permissions-policy: .*camera=()' "$tmp/headers" || fail "no Permissions-Policy header"

# TLS (issue 15): AEAD suites with ephemeral keys only; CBC with SHA-1 refused.
tls_ok() { # extra openssl s_client args
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" \
		>/dev/null 2>&1
}
tls_ok -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 || fail "TLS 1.2 with AES-GCM refused"
tls_ok -tls1_3 || fail "TLS 1.3 refused"
tls_ok -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA && fail "a CBC-SHA1 suite was accepted"
tls_ok -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384 && fail "a CBC suite was accepted"
tls_ok -tls1_1 && fail "TLS 1.1 was accepted"
ok "HSTS and Permissions-Policy sent; TLS 1.2 AEAD and 1.3 only"

expect_status 401 "GET /v1/forms without a token" "$U/v1/forms"
expect_json_error "401"
grep -qi '^www-authenticate: bearer' "$tmp/headers" || fail "401 without WWW-Authenticate: Bearer"
expect_status 401 "GET /v1/forms with a malformed header" -H "Authorization: Bearer nothex" "$U/v1/forms"
expect_status 401 "GET /v1/forms with a revoked token" \
    -H "Authorization: Bearer $REVOKED_TOKEN" "$U/v1/forms"
expect_status 401 "GET /v1/forms with an unknown token" \
    -H "Authorization: Bearer $(printf '%064d' 0)" "$U/v1/forms"
expect_status 200 "GET /v1/forms with a field token" \
    -H "Authorization: Bearer $FIELD_TOKEN" "$U/v1/forms"
grep -q '"forms":\[{.*"labor_inspection"' "$tmp/body" || fail "forms list lacks labor_inspection"
req --compressed -H "Authorization: Bearer $FIELD_TOKEN" "$U/v1/forms" >/dev/null
grep -qi '^content-encoding: gzip' "$tmp/headers" || fail "forms not gzipped for Accept-Encoding: gzip"
grep -q '"labor_inspection"' "$tmp/body" || fail "gzipped forms list did not decode"
ok "gzip answers"

expect_status 404 "unknown path" "$U/v1/nothing"
expect_json_error "404"
expect_status 405 "POST /v1/health" -X POST "$U/v1/health"
expect_json_error "405"
expect_status 400 "path traversal with .." --path-as-is "$U/v1/../v1/health"
expect_json_error "400"
expect_status 400 "path traversal with %2e%2e" --path-as-is "$U/v1/%2e%2e/v1/health"
expect_status 400 "encoded NUL in the path" "$U/v1/health%00.json"

AUTH=(-H "Authorization: Bearer $FIELD_TOKEN")
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$tmp/big.bin"
expect_status 413 "2 MiB body over max_body 1M" "${AUTH[@]}" -X POST \
    -H 'Content-Type: application/json' --data-binary @"$tmp/big.bin" "$U/v1/push"
expect_json_error "413"
expect_status 413 "2 MiB chunked body over max_body 1M" "${AUTH[@]}" -X POST \
    -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big.bin" "$U/v1/push"
expect_status 415 "Content-Encoding: br" "${AUTH[@]}" -X POST -H 'Content-Encoding: br' \
    --data-binary '{}' "$U/v1/push"
expect_json_error "415"

head -c 200000000 /dev/zero | gzip -9 >"$tmp/bomb.gz"
[ "$(stat -c %s "$tmp/bomb.gz")" -lt 1048576 ] || fail "the gzip bomb is larger than max_body"
expect_status 413 "gzip bomb inflating past max_inflated" "${AUTH[@]}" -X POST \
    -H 'Content-Encoding: gzip' --data-binary @"$tmp/bomb.gz" "$U/v1/push"
head -c 100 "$tmp/bomb.gz" >"$tmp/trunc.gz"
expect_status 400 "truncated gzip body" "${AUTH[@]}" -X POST -H 'Content-Encoding: gzip' \
    --data-binary @"$tmp/trunc.gz" "$U/v1/push"

# A well-formed body gets past the limits to the push handler, whatever it
# then answers; the sentinel value must not reach the log.
printf '{"device":"0123456789abcdef","batch":"b1","changes":[{"values":{"name":"%s"}}]}' \
    "$SENTINEL" | gzip >"$tmp/push.gz"
got=$(req "${AUTH[@]}" -X POST -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' \
    --data-binary @"$tmp/push.gz" "$U/v1/push")
case "$got" in
200 | 400 | 409 | 422 | 501) ok "gzip push reached the handler -> $got" ;;
*) fail "gzip push: unexpected HTTP $got: $(head -c 300 "$tmp/body")" ;;
esac

got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/v1/health")
[ "$got" != "200" ] || fail "plain HTTP was answered on the TLS port"
ok "plain HTTP refused on the TLS port"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ $rc -eq 0 ] || fail "fieldsyncd exited $rc on SIGTERM"
ok "SIGTERM -> exit 0"

# --- Plain HTTP on loopback, for tests and TLS-terminating proxies -------

"$BIN" "${F[@]}" --insecure-http --port-file "$tmp/port2" 2>"$tmp/daemon2.log" &
pid2=$!
wait_port "$tmp/port2" "$pid2" || fail "fieldsyncd --insecure-http did not start"
PORT2=$(cat "$tmp/port2")
grep -q "listening on http://127.0.0.1:$PORT2\$" "$tmp/daemon2.log" || fail "no http listening line"
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT2/v1/health")
[ "$got" = "200" ] || fail "--insecure-http health: HTTP $got"
kill -INT "$pid2"
wait "$pid2"
rc=$?
pid2=""
[ $rc -eq 0 ] || fail "fieldsyncd exited $rc on SIGINT"
ok "--insecure-http on loopback"

# --- Nothing secret in the logs -----------------------------------------

for t in "$FIELD_TOKEN" "$REVOKED_TOKEN" "$SENTINEL"; do
	grep -qF "$t" "$tmp/daemon.log" "$tmp/daemon2.log" && fail "a secret reached the log"
done
grep -q 'request [0-9a-f]* device=field1 "GET /v1/forms" 200' "$tmp/daemon.log" ||
	fail "no request log line for GET /v1/forms"
ok "no token or field value in the logs"
grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/daemon.log" "$tmp/daemon2.log" &&
	fail "sanitizer report in the daemon log"

# --- Schema migration: merge rule 1 on a store written before it ---------

# A store at schema 3 holding a null-vs-null conflict (two deletes) and a
# real one: opening it with this fieldsyncd drops the first, keeps the
# second, and recounts the record.
# The store is release 0.2.0's (tests/fixtures/server-v4.sql; schemas 3
# and 4 have the same tables), set back to 3.
M="$tmp/migrate"
mkdir -m 700 "$M"
sqlite3 "$M/fieldsyncd.db" <"$SRC/tests/fixtures/server-v4.sql" || fail "could not load the 0.2.0 store"
r=0000000000000000000000000000aaaa
s1=0000000000010000-00000000000000a1
s2=0000000000020000-00000000000000a2
s3=0000000000030000-00000000000000a3
sqlite3 "$M/fieldsyncd.db" "
INSERT INTO records(id, form, form_version, team, created_by, created_at, updated_at,
  open_conflicts, last_seq) VALUES('$r', 'labor_inspection', 1, 'north', 'x', 't', 't', 2, 1);
INSERT INTO writes VALUES('$r', 'sector', '$s1', NULL, NULL, '00000000000000a1');
INSERT INTO writes VALUES('$r', 'sector', '$s2', NULL, NULL, '00000000000000a2');
INSERT INTO fields VALUES('$r', 'sector', NULL, '$s2');
INSERT INTO conflicts VALUES('$r', 'sector', '$s1', 't');
INSERT INTO writes VALUES('$r', 'worksite_name', '$s1', NULL, '\"a\"', '00000000000000a1');
INSERT INTO writes VALUES('$r', 'worksite_name', '$s3', NULL, '\"b\"', '00000000000000a3');
INSERT INTO fields VALUES('$r', 'worksite_name', '\"b\"', '$s3');
INSERT INTO conflicts VALUES('$r', 'worksite_name', '$s1', 't');
PRAGMA user_version = 3;" || fail "could not plant the old conflicts"
"$BIN" -d "$M" device list >/dev/null 2>&1 || fail "fieldsyncd could not open the old store"
[ "$(sqlite3 "$M/fieldsyncd.db" 'PRAGMA user_version')" -ge 4 ] || fail "the store was not migrated"
[ "$(sqlite3 "$M/fieldsyncd.db" "SELECT name FROM conflicts WHERE record_id = '$r'")" = worksite_name ] ||
	fail "migration: conflicts left $(sqlite3 "$M/fieldsyncd.db" "SELECT name FROM conflicts")"
[ "$(sqlite3 "$M/fieldsyncd.db" "SELECT open_conflicts FROM records WHERE id = '$r'")" = 1 ] ||
	fail "migration: the record's conflict count was not recounted"
[ "$(sqlite3 "$M/fieldsyncd.db" 'PRAGMA user_version')" = 13 ] || fail "not migrated to rows"
ok "schema 3 -> 5: a null-vs-null conflict of the old rule dropped, a real one kept, count 1"

echo "PASS: daemon-basics"
