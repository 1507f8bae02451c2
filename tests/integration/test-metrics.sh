#!/usr/bin/env bash
# test-metrics.sh -- GET /metrics (issue 18, item 4) on the real fieldsyncd
# over HTTPS on 127.0.0.1: admin token only (a field or reviewer token
# 403, none 401); after two devices sync, make a conflict and a reviewer
# types a wrong passphrase, the Prometheus text counts them: requests by
# route and status, pushed changes by result, open conflicts, connections,
# unlock failures; every histogram is cumulative and ends at its count;
# the text parses line by line and holds no device name, token or value.
#
# usage: test-metrics.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
T=$(mktemp -d /tmp/fs-test-metrics-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
umask 077

fail() {
	echo "FAIL: $*" >&2
	[ -f daemon.log ] && tail -20 daemon.log >&2
	exit 1
}
pass() { echo "ok: $*"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null
token() { # name role team [options]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
}
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
token inspector-a field north
token inspector-b field north
token rev reviewer hq --all-teams
token adm admin hq
printf 'Metrics-Passphrase-1\n' >pass.txt
"$D" -d data key create --passphrase-file pass.txt >/dev/null 2>&1
"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)
scrape() { # token-name: status; body in ./metrics.txt
	local auth=()
	[ "$1" != none ] && auth=(-H "Authorization: Bearer $(cat "tok-$1")")
	curl -s -o metrics.txt -w '%{http_code}' --cacert cert.pem "${auth[@]}" "$URL/metrics"
}
sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }

[ "$(scrape inspector-a)" = 403 ] || fail "a field token read the metrics"
[ "$(scrape rev)" = 403 ] || fail "a reviewer token read the metrics"
[ "$(scrape none)" = 401 ] || fail "no token read the metrics"
pass "GET /metrics answers an admin token only"

NAME="Metrics-Person-$$"
for n in inspector-a inspector-b; do "$F" --db $n.db init --device $n >/dev/null; sync_dev $n; done
R=$("$F" --db inspector-a.db record new labor_inspection --set worksite_name=M --set sector=mining \
	--set inspection_date=2026-12-01 --set referral_decision=monitor --set interviewee_name="$NAME")
sync_dev inspector-a
sync_dev inspector-b
"$F" --db inspector-a.db record edit "$R" --set number_of_workers=5 >/dev/null
"$F" --db inspector-b.db record edit "$R" --set number_of_workers=6 >/dev/null
sync_dev inspector-a
sync_dev inspector-b
curl -s -o /dev/null --cacert cert.pem -H "Authorization: Bearer $(cat tok-rev)" \
	-H 'Content-Type: application/json' --data-binary '{"passphrase":"wrong-one-000"}' \
	"$URL/v1/review/unlock"
[ "$(scrape adm)" = 200 ] || fail "the admin's scrape"

python3 - metrics.txt "$NAME" tok-inspector-a tok-inspector-b tok-rev tok-adm <<'PY' || fail "the metrics text"
import re, sys
text = open(sys.argv[1]).read()
name = sys.argv[2]
for t in sys.argv[3:]:
    assert open(t).read().strip() not in text, "a token in the metrics"
for word in (name, "inspector-a", "inspector-b"):
    assert word not in text, f"{word!r} in the metrics"
samples, types = {}, {}
line_re = re.compile(r'^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)$')
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, metric, kind = line.split(" ")
        types[metric] = kind
        continue
    if line.startswith("# HELP "):
        continue
    m = line_re.match(line)
    assert m, f"not a Prometheus sample line: {line!r}"
    samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
def get(metric, labels=""):
    return samples.get((metric, labels), 0.0)
assert get("fieldsync_requests_total", '{route="/v1/push",status="200"}') >= 3, samples
assert get("fieldsync_requests_total", '{route="/metrics",status="403"}') == 2
assert get("fieldsync_requests_total", '{route="/metrics",status="401"}') == 1
assert get("fieldsync_changes_total", '{result="accepted"}') >= 3
assert get("fieldsync_open_conflicts") == 1, get("fieldsync_open_conflicts")
assert get("fieldsync_connections") >= 1
assert get("fieldsync_key_unlocks_total", '{result="failed"}') == 1
assert get("fieldsync_store_errors_total") == 0
assert types["fieldsync_request_duration_seconds"] == "histogram"
# Histograms: cumulative buckets, +Inf equal to the count.
series = {}
for (metric, labels), v in samples.items():
    if metric.endswith("_bucket"):
        base = metric[:-7]
        rest = re.sub(r',?le="[^"]*"', "", labels)
        le = re.search(r'le="([^"]*)"', labels).group(1)
        series.setdefault((base, rest), []).append((float("inf") if le == "+Inf" else float(le), v))
assert series, "no histogram"
for (base, rest), pts in series.items():
    pts.sort()
    vals = [v for _, v in pts]
    assert vals == sorted(vals), f"{base}{rest} buckets not cumulative"
    count_labels = rest if rest not in ("{}", "") else ""
    assert vals[-1] == get(base + "_count", count_labels), f"{base}{rest}: +Inf is not the count"
push_lat = [pts for (b, r), pts in series.items() if b == "fieldsync_request_duration_seconds" and 'route="/v1/push"' in r]
assert push_lat and push_lat[0][-1][1] >= 3
PY
pass "the metrics count requests by route and status, pushed changes, the open conflict, connections and the failed unlock; histograms are cumulative; no name, token or value"
