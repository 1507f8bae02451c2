#!/usr/bin/env bash
# run.sh -- the review page in headless Chromium against the real fieldsyncd.
#
# Sets up what the test needs (playwright-core from npm into
# tests/browser/node_modules; the browser is Debian's chromium, never a
# download), starts fieldsyncd on 127.0.0.1 with a throwaway certificate,
# fills it through real devices (a concurrent edit making a conflict, a
# record whose text fields hold XSS payloads, one holding a spreadsheet
# formula), runs review.spec.mjs (sign in, filter, open, reveal, status,
# resolve, CSV download, XSS inert), then checks on the server and on a
# device that what the page did really happened.  Screenshots go to
# SCREENSHOT_DIR.  A missing chromium or node is a failure, not a skip:
# scripts/deps.sh installs them.
#
# usage: run.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT SCREENSHOT_DIR
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
SHOTS=$4
HERE=$SRC/tests/browser
CHROMIUM=${FS_CHROMIUM:-/usr/bin/chromium}

fail() {
	echo "FAIL: $*" >&2
	[ -n "${T:-}" ] && [ -f "$T/daemon.log" ] && tail -20 "$T/daemon.log" >&2
	exit 1
}
pass() { echo "ok: $*"; }

[ -x "$CHROMIUM" ] || fail "$CHROMIUM not found: install Debian's chromium (scripts/deps.sh test)"
command -v node >/dev/null || fail "node not found: install nodejs (scripts/deps.sh test)"
command -v npm >/dev/null || fail "npm not found: install npm (scripts/deps.sh test)"

# playwright-core as pinned by package-lock.json; installed once, under a
# lock so that parallel runs do not install over each other.  Playwright's
# own browser download is switched off: it must never be needed.
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/playwright-core"]["version"])' \
	"$HERE/package-lock.json")
(
	flock 9
	have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
		"$HERE/node_modules/playwright-core/package.json" 2>/dev/null || true)
	if [ "$have" != "$want" ]; then
		echo "installing playwright-core $want with npm ci" >&2
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$HERE" --no-audit --no-fund \
			--loglevel=error >&2 || exit 1
	fi
) 9>"$HERE/.npm-install.lock" || fail "npm ci failed"

T=$(mktemp -d /tmp/fs-test-browser-XXXXXX)
DPID=
cleanup() {
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout key.pem -out cert.pem 2>/dev/null

token() { # name role team [more device add options]
	"$D" -d data device add --name "$1" --role "$2" --team "$3" "${@:4}" 2>/dev/null |
		sed -n 's/^token: //p' >"tok-$1"
	[ "$(wc -c <"tok-$1")" -eq 65 ] || fail "no token for $1"
}
"$D" -d data form publish "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
"$D" -d data form publish "$SRC/tests/fixtures/forms/border_screening.json" >/dev/null
token inspector-1 field north
token inspector-2 field north
token officer-7 field south
token reviewer reviewer hq --all-teams
token hs-reviewer reviewer hs
# Two agencies (issue 20): Labour owns the field teams and headquarters, Human Services its own.
"$D" -d data agency add labour --title "Labour Department" --team north --team south --team hq >/dev/null
"$D" -d data agency add hs --title "Department of Human Services" --team hs >/dev/null
# Headquarters' sealing key (issue 17): the devices seal sensitive values,
# and the page asks for the passphrase before a reveal.
PASSPHRASE="Browser-Sealing-Passphrase-$$"
(umask 077; printf '%s\n' "$PASSPHRASE" >pass.txt)
"$D" -d data key create --passphrase-file pass.txt >/dev/null 2>&1 || fail "key create failed"

"$D" -d data -l 127.0.0.1 -p 0 --cert cert.pem --key key.pem --port-file port 2>>daemon.log &
DPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "daemon did not start"
URL=https://127.0.0.1:$(cat port)

sync_dev() { "$F" --db "$1.db" sync --server "$URL" --token-file "tok-$1" --cacert cert.pem -q; }
for n in inspector-1 inspector-2 officer-7; do "$F" --db $n.db init --device $n >/dev/null; done
for n in inspector-1 inspector-2; do
	"$F" --db $n.db forms import "$SRC/tests/fixtures/forms/labor_inspection.json" >/dev/null
done
"$F" --db officer-7.db forms import "$SRC/tests/fixtures/forms/border_screening.json" >/dev/null
# A first sync brings the sealing key before anything is recorded.
for n in inspector-1 inspector-2 officer-7; do sync_dev $n || fail "first sync of $n"; done

SENTINEL="Maria Sensitive-7c1d"
python3 - "$SENTINEL" <<'PY'
import json, sys
base = {"sector": "agriculture", "inspection_date": "2026-11-18", "referral_decision": "monitor"}
def write(name, extra):
    v = dict(base); v.update(extra); json.dump(v, open(name, "w"))
write("r1.json", {"worksite_name": "Green Valley tomato farm", "number_of_workers": 42,
    "retention_of_documents": True, "withholding_of_wages": True, "debt_bondage": True,
    "interviewee_name": sys.argv[1], "employer_contact_phone": "+233 20 555 0101",
    "interview_notes": "Workers say passports were collected on arrival.",
    "location": {"lat": 17.93, "lon": -88.66}})
write("r2.json", {"worksite_name": "<script>window.__xss=1</script>",
    "referral_agency": "\"><img src=x onerror=\"window.__xss=2\">",
    "inspector_id": "<b onmouseover=alert(1)>x</b>", "deception": True})
write("r3.json", {"worksite_name": "=cmd|' /C calc'!A0", "sector": "construction",
    "referral_agency": "@SUM(1+1)*cmd|' /C calc'!A0", "number_of_workers": 12})
write("r4.json", {"worksite_name": "Harbour fish processing", "sector": "fishing",
    "isolation": True, "number_of_workers": 75, "referral_decision": "refer_labour_authority"})
PY
R1=$("$F" --db inspector-1.db record new labor_inspection --json r1.json)
R2=$("$F" --db inspector-1.db record new labor_inspection --json r2.json)
R3=$("$F" --db inspector-2.db record new labor_inspection --json r3.json)
R4=$("$F" --db inspector-2.db record new labor_inspection --json r4.json)
"$F" --db officer-7.db record new border_screening --set checkpoint="South gate" \
	--set screening_time=2026-11-19T09:30:00Z --set document_holder=companion \
	--set is_minor=false --set referral=secondary_interview --set traveller_name="$SENTINEL" >/dev/null
for n in inspector-1 inspector-2 officer-7 inspector-1 inspector-2; do sync_dev $n || fail "sync $n"; done
"$F" --db inspector-1.db record edit "$R1" --set number_of_workers=45 >/dev/null
"$F" --db inspector-2.db record edit "$R1" --set number_of_workers=60 >/dev/null
for n in inspector-1 inspector-2 inspector-1; do sync_dev $n || fail "sync $n"; done
[ "$(sqlite3 data/fieldsyncd.db "SELECT open_conflicts FROM records WHERE id = '$R1'")" = 1 ] ||
	fail "no conflict to resolve"
# R4: deleted on inspector-2 while inspector-1, not having seen it, adds a
# value (merge rule 2: alive whole, one record-level conflict).
"$F" --db inspector-2.db record delete "$R4" >/dev/null
"$F" --db inspector-1.db record edit "$R4" --set inspector_id=LI-204 >/dev/null
for n in inspector-2 inspector-1; do sync_dev $n || fail "sync $n"; done
[ "$(sqlite3 data/fieldsyncd.db "SELECT deleted, open_conflicts FROM records WHERE id = '$R4'")" = "0|1" ] ||
	fail "no delete conflict on R4"
pass "fieldsyncd on $URL with 5 records, 1 field conflict and 1 delete conflict"

export FS_URL=$URL FS_CHROMIUM=$CHROMIUM FS_SHOTS=$SHOTS FS_R1=$R1 FS_R2=$R2 FS_R3=$R3 FS_R4=$R4
export FS_REVIEWER_TOKEN_FILE=$T/tok-reviewer FS_FIELD_TOKEN_FILE=$T/tok-inspector-1
export FS_SENTINEL=$SENTINEL FS_TMP=$T FS_PASSPHRASE=$PASSPHRASE FS_HS_TOKEN_FILE=$T/tok-hs-reviewer
node "$HERE/review.spec.mjs" || fail "browser scenario failed (screenshots in $SHOTS)"

# What the page did must be in the store, the audit trail and on devices.
[ "$(sqlite3 data/fieldsyncd.db "SELECT review_status FROM records WHERE id = '$R1'")" = follow_up ] ||
	fail "the status set in the page is not in the store"
[ "$(sqlite3 data/fieldsyncd.db "SELECT open_conflicts FROM records WHERE id = '$R1'")" = 0 ] ||
	fail "the conflict resolved in the page is still open"
"$D" -d data audit >audit.txt
for a in key.unlock key.unlock_failed review.reveal review.status review.resolve review.export casefile.print; do
	grep -q "^[^ ]* *reviewer  *$a " audit.txt || fail "no $a entry by the reviewer"
done
grep -qF "$SENTINEL" audit.txt && fail "the audit trail holds a sensitive value"
grep -q "review.resolve  *$R4 .*record=keep" audit.txt || fail "keeping R4 in the page is not audited"
[ "$(sqlite3 data/fieldsyncd.db "SELECT deleted, open_conflicts FROM records WHERE id = '$R4'")" = "0|0" ] ||
	fail "the record kept in the page is not alive without conflict"
grep -q "casefile.print  *$R1 *sensitive=masked" audit.txt && grep -q "casefile.print  *$R1 *sensitive=revealed" audit.txt ||
	fail "the printed case files are not both audited"
sync_dev inspector-2 || fail "device sync after the resolution"
"$F" --db inspector-2.db record show "$R1" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["conflicts"] == [] and j["values"]["number_of_workers"] in (45, 60), j
' || fail "the device did not receive the resolution"
kill "$DPID"
wait "$DPID" || fail "fieldsyncd did not exit cleanly"
DPID=
grep -qF "$SENTINEL" daemon.log && fail "a sensitive value reached the daemon log"
grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' daemon.log && fail "sanitizer report"
pass "status, resolution and audit entries are on the server; the device pulled the resolution"
echo "browser-review: all passed"
