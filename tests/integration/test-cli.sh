#!/usr/bin/env bash
#
# test-cli.sh -- the fieldsync command-line tool, end to end, on a throwaway
# store with the two shipped forms.
#
# usage: test-cli.sh FIELDSYNC SOURCE_ROOT
#
# Each case is a function; the first failure prints "FAIL: <case>: <why>"
# and exits 1, and every passed case prints "ok: <case>".  The cases share
# one store and run in order: later ones use the records earlier ones made.
# Refused input must exit 2, print one line on stderr naming the field and
# the rule (never the value) and leave the store byte-for-byte unchanged.
# All values here are synthetic.

set -euo pipefail

FIELDSYNC=${1:?usage: test-cli.sh FIELDSYNC SOURCE_ROOT}
SRCDIR=${2:?usage: test-cli.sh FIELDSYNC SOURCE_ROOT}
FORMS=$SRCDIR/tests/fixtures/forms

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fs-test-cli-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
DB=$TMP/device.db
unset FIELDSYNC_DB

# Sensitive text that must never reach stderr.
SENTINEL=SENTINEL_VALUE_9931

CASE=setup
SAVES=0             # changes written so far; each must be pending
LABOR_IDS=()        # live labor_inspection records
BORDER_IDS=()       # live border_screening records

for tool in sqlite3 python3; do
	command -v "$tool" >/dev/null || { echo "FAIL: setup: $tool not found" >&2; exit 1; }
done

fail()
{
	echo "FAIL: $CASE: $*" >&2
	if [ -s "$TMP/err" ]; then
		echo "--- stderr of the last command:" >&2
		cat "$TMP/err" >&2
	fi
	exit 1
}

pass()
{
	echo "ok: $CASE"
}

# run ARGS...: runs fieldsync on the test store; sets RC and OUT.
run()
{
	RC=0
	"$FIELDSYNC" --db "$DB" "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
	OUT=$(cat "$TMP/out")
}

# ok ARGS...: runs fieldsync and fails the case unless it exits 0.
ok()
{
	run "$@"
	[ "$RC" -eq 0 ] || fail "'fieldsync $*' exited $RC, want 0"
}

# The whole store as text: any write shows up as a different hash.
db_hash()
{
	sqlite3 "$DB" .dump | sha256sum
}

db_counts()
{
	sqlite3 "$DB" 'SELECT count(*) FROM records; SELECT count(*) FROM changelog' | tr '\n' ' '
}

# refused WANT... -- ARGS...: runs fieldsync with ARGS and checks the refusal
# rules: exit 2, nothing on stdout, exactly one line on stderr containing
# every WANT, no sentinel on stderr, and the store unchanged.
refused()
{
	local want=() before counts_before after line
	while [ "$1" != -- ]; do
		want+=("$1")
		shift
	done
	shift
	before=$(db_hash)
	counts_before=$(db_counts)
	run "$@"
	[ "$RC" -eq 2 ] || fail "'fieldsync $*' exited $RC, want 2"
	[ -z "$OUT" ] || fail "printed on stdout: $OUT"
	line=$(grep -c '' "$TMP/err" || true)
	[ "$line" -eq 1 ] || fail "stderr has $line lines, want exactly 1"
	for w in "${want[@]}"; do
		grep -qF -- "$w" "$TMP/err" || fail "stderr does not name \"$w\""
	done
	if grep -qF -- "$SENTINEL" "$TMP/err"; then
		fail "stderr contains the refused value"
	fi
	after=$(db_hash)
	[ "$before" = "$after" ] ||
	    fail "store changed (records, changelog: $counts_before-> $(db_counts))"
}

# The values of record ID as JSON, on stdout.
show_values()
{
	ok record show "$1"
	python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["values"]))' \
	    <"$TMP/out"
}

# same_json FILE_A FILE_B WHAT: the two JSON files hold equal values.
same_json()
{
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print("field %s differs" % k, file=sys.stderr)
    sys.exit(1)
' "$1" "$2" || fail "$3"
}

# json_get FILE EXPR: prints a Python expression over the JSON value "j".
json_get()
{
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	    "$1" "$2"
}

# A copy of a shipped form, changed by a Python statement over "f".
broken_form()
{
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(f, open(sys.argv[3], "w"), indent=2)
' "$FORMS/$1.json" "$2" "$3"
}

labor_required=(--set worksite_name=Site --set sector=fishing
    --set inspection_date=2026-01-15 --set referral_decision=none)
border_required=(--set checkpoint=Gate --set screening_time=2026-01-15T08:00:00Z
    --set document_holder=traveller --set is_minor=false --set referral=none)

# Cases.

case_init()
{
	[ ! -e "$DB" ] || fail "store exists before init"
	ok init --device "test device 1"
	[[ "$OUT" =~ initialised\ device\ [0-9a-f]{16} ]] || fail "no device id in: $OUT"
	ok status --json
	[ "$(json_get "$TMP/out" 'j["device_name"]')" = "test device 1" ] ||
	    fail "status does not show the device name"
	[ "$(json_get "$TMP/out" 'j["pending"]')" = 0 ] || fail "a new store has pending changes"
	pass
}

case_init_twice_fails()
{
	local before id
	before=$(db_hash)
	id=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'device_id'")
	run init --device "test device 2"
	[ "$RC" -ne 0 ] || fail "second init exited 0"
	[ "$RC" -eq 2 ] || fail "second init exited $RC, want 2"
	grep -q "already" "$TMP/err" || fail "no 'already initialised' message"
	[ "$before" = "$(db_hash)" ] || fail "second init changed the store"
	ok status --json
	[ "$(json_get "$TMP/out" 'j["device_id"]')" = "$id" ] || fail "device id changed"
	pass
}

case_init_needs_device()
{
	RC=0
	"$FIELDSYNC" --db "$TMP/other.db" init >"$TMP/out" 2>"$TMP/err" || RC=$?
	[ "$RC" -eq 2 ] || fail "init without --device exited $RC, want 2"
	[ ! -e "$TMP/other.db" ] || fail "init without --device created a store"
	pass
}

case_forms_import()
{
	local n
	ok forms import "$FORMS/labor_inspection.json"
	[ "$OUT" = "imported form labor_inspection" ] || fail "unexpected output: $OUT"
	ok forms import "$FORMS/border_screening.json"
	[ "$OUT" = "imported form border_screening" ] || fail "unexpected output: $OUT"
	# The same definition again is accepted and changes nothing.
	local before
	before=$(db_hash)
	ok forms import "$FORMS/labor_inspection.json"
	[ "$before" = "$(db_hash)" ] || fail "re-import of the same form changed the store"
	ok forms list
	for form in labor_inspection border_screening; do
		n=$(json_get "$FORMS/$form.json" 'len(j["fields"])')
		v=$(json_get "$FORMS/$form.json" 'j["version"]')
		grep -Eq "^$form +$v +$n " "$TMP/out" ||
		    fail "forms list does not show $form version $v with $n fields"
	done
	[ "$(grep -c '' "$TMP/out")" -eq 3 ] || fail "forms list: want a header and 2 forms"
	pass
}

case_forms_import_broken()
{
	local before
	before=$(db_hash)

	broken_form labor_inspection \
	    'f["id"] = "broken_a"; del [x for x in f["fields"] if x["name"] == "sector"][0]["choices"]' \
	    "$TMP/no-choices.json"
	run forms import "$TMP/no-choices.json"
	[ "$RC" -eq 2 ] || fail "select_one without choices: exited $RC, want 2"
	grep -qF "field 'sector'" "$TMP/err" || fail "select_one without choices: field not named"
	grep -qF "choices" "$TMP/err" || fail "select_one without choices: problem not named"

	broken_form labor_inspection \
	    'f["id"] = "broken_b"; [x for x in f["fields"] if x["name"] == "number_of_workers"][0]["requird"] = True' \
	    "$TMP/misspelt.json"
	run forms import "$TMP/misspelt.json"
	[ "$RC" -eq 2 ] || fail "misspelt key: exited $RC, want 2"
	grep -qF "field 'number_of_workers'" "$TMP/err" || fail "misspelt key: field not named"
	grep -qF "requird" "$TMP/err" || fail "misspelt key: key not named"

	broken_form border_screening \
	    'f["id"] = "broken_c"; [x for x in f["fields"] if x["name"] == "is_minor"][0]["type"] = "bool"' \
	    "$TMP/bad-type.json"
	run forms import "$TMP/bad-type.json"
	[ "$RC" -eq 2 ] || fail "unknown type: exited $RC, want 2"
	grep -qF "field 'is_minor'" "$TMP/err" || fail "unknown type: field not named"

	# Same id and version, different content: a new version is needed.
	broken_form labor_inspection 'f["title"] = "Changed"' "$TMP/changed.json"
	run forms import "$TMP/changed.json"
	[ "$RC" -eq 2 ] || fail "changed form, same version: exited $RC, want 2"

	printf '{"id": "x", "version": 1,' >"$TMP/truncated.json"
	run forms import "$TMP/truncated.json"
	[ "$RC" -eq 2 ] || fail "malformed JSON form: exited $RC, want 2"

	[ "$before" = "$(db_hash)" ] || fail "a refused form changed the store"
	pass
}

case_record_new_set()
{
	local id
	ok record new labor_inspection \
	    --set 'worksite_name=Brickworks "North" – lot 4' \
	    --set sector=construction \
	    --set inspection_date=2026-03-14 \
	    --set location=-1.2921,36.8219 \
	    --set number_of_workers=37 \
	    --set debt_bondage=yes \
	    --set isolation=false \
	    --set 'employer_contact_phone=+254 (20) 555-0199' \
	    --set 'interview_notes=first line
second line, with ünïcödé' \
	    --set referral_decision=refer_labour_authority
	[[ "$OUT" =~ ^[0-9a-f]{32}$ ]] || fail "record new did not print an id: $OUT"
	id=$OUT
	LABOR_IDS+=("$id")
	SAVES=$((SAVES + 1))
	cat >"$TMP/want.json" <<'EOF'
{"worksite_name": "Brickworks \"North\" – lot 4", "sector": "construction",
 "inspection_date": "2026-03-14", "location": {"lat": -1.2921, "lon": 36.8219},
 "number_of_workers": 37, "debt_bondage": true, "isolation": false,
 "employer_contact_phone": "+254 (20) 555-0199",
 "interview_notes": "first line\nsecond line, with ünïcödé",
 "referral_decision": "refer_labour_authority"}
EOF
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/want.json" "labor_inspection --set: values differ"

	# --db=PATH spelling, and select_multiple / decimal / datetime input.
	RC=0
	"$FIELDSYNC" --db="$DB" record new border_screening \
	    --set checkpoint=Namanga \
	    --set screening_time=2026-05-01T14:30:00+03:00 \
	    --set 'traveller_name=Test Traveller' \
	    --set document_holder=companion \
	    --set is_minor=no \
	    --set 'control_signs=speaks_for_traveller, holds_documents' \
	    --set debt_amount=1500.75 \
	    --set referral=secondary_interview >"$TMP/out" 2>"$TMP/err" || RC=$?
	[ "$RC" -eq 0 ] || fail "border_screening --set exited $RC"
	id=$(cat "$TMP/out")
	[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "record new did not print an id: $id"
	BORDER_IDS+=("$id")
	SAVES=$((SAVES + 1))
	cat >"$TMP/want.json" <<'EOF'
{"checkpoint": "Namanga", "screening_time": "2026-05-01T14:30:00+03:00",
 "traveller_name": "Test Traveller", "document_holder": "companion", "is_minor": false,
 "control_signs": ["speaks_for_traveller", "holds_documents"], "debt_amount": 1500.75,
 "referral": "secondary_interview"}
EOF
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/want.json" "border_screening --set: values differ"
	pass
}

case_record_new_json()
{
	local id
	cat >"$TMP/labor.json" <<'EOF'
{
  "worksite_name": "Fishing vessel \"Sea Star\" 中文 😀",
  "sector": "fishing",
  "inspection_date": "2026-02-28",
  "location": {"lat": -33.9249, "lon": 18.4241, "alt": 12.5, "acc": 4},
  "number_of_workers": 100000,
  "inspector_id": "INS-0042",
  "abuse_of_vulnerability": true,
  "deception": true,
  "restriction_of_movement": false,
  "retention_of_documents": true,
  "withholding_of_wages": true,
  "debt_bondage": false,
  "interviewee_name": "Synthetic Worker",
  "employer_contact_phone": "0044 20 7946 0000",
  "interview_notes": "Tabs\tand \"quotes\" and \\ backslashes",
  "referral_decision": "refer_police",
  "referral_agency": "Coastal police unit"
}
EOF
	ok record new labor_inspection --json "$TMP/labor.json"
	id=$OUT
	[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "record new --json did not print an id: $id"
	LABOR_IDS+=("$id")
	SAVES=$((SAVES + 1))
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/labor.json" "labor_inspection --json: round trip differs"

	cat >"$TMP/border.json" <<'EOF'
{
  "checkpoint": "Airport T2",
  "screening_time": "2026-07-04T23:59:59.250Z",
  "travel_document_number": "X1234567",
  "nationality": "Synthetic",
  "document_holder": "recruiter_or_employer",
  "is_minor": true,
  "minor_accompaniment": "with_non_guardian",
  "job_offer_abroad": true,
  "recruiter_phone": "+1 555 0100",
  "debt_to_recruiter_or_transporter": true,
  "debt_amount": 0,
  "control_signs": ["holds_money_or_tickets", "traveller_fearful", "scripted_answers"],
  "referral": "refer_anti_trafficking_unit",
  "officer_notes": ""
}
EOF
	# Read from stdin this time; an empty text is kept as "".
	RC=0
	"$FIELDSYNC" --db "$DB" record new border_screening --json - <"$TMP/border.json" \
	    >"$TMP/out" 2>"$TMP/err" || RC=$?
	[ "$RC" -eq 0 ] || fail "record new --json - exited $RC"
	id=$(cat "$TMP/out")
	BORDER_IDS+=("$id")
	SAVES=$((SAVES + 1))
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/border.json" "border_screening --json: round trip differs"
	pass
}

case_record_show()
{
	local id=${LABOR_IDS[1]}
	ok record show "$id"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id"] == sys.argv[2], "id"
assert r["form"] == "labor_inspection", "form"
assert r["form_version"] == json.load(open(sys.argv[3]))["version"], "form_version"
assert r["deleted"] is False, "deleted"
assert set(r["stamps"]) == set(r["values"]), "one stamp per field"
assert r["created"] and r["updated"], "times"
' "$TMP/out" "$id" "$FORMS/labor_inspection.json" || fail "record show: unexpected record shape"
	run record show 0123456789abcdef0123456789abcdef
	[ "$RC" -eq 2 ] || fail "show of an unknown id exited $RC, want 2"
	pass
}

case_record_list()
{
	local id
	ok record list
	for id in "${LABOR_IDS[@]}" "${BORDER_IDS[@]}"; do
		grep -q "^$id " "$TMP/out" || fail "record list is missing $id"
	done
	[ "$(grep -c '' "$TMP/out")" -eq $((1 + ${#LABOR_IDS[@]} + ${#BORDER_IDS[@]})) ] ||
	    fail "record list: wrong number of lines"
	ok record list --form labor_inspection
	for id in "${LABOR_IDS[@]}"; do
		grep -q "^$id  *labor_inspection " "$TMP/out" ||
		    fail "record list --form labor_inspection is missing $id"
	done
	for id in "${BORDER_IDS[@]}"; do
		! grep -q "^$id " "$TMP/out" ||
		    fail "record list --form labor_inspection shows border record $id"
	done
	ok record list --form border_screening
	[ "$(grep -c '' "$TMP/out")" -eq $((1 + ${#BORDER_IDS[@]})) ] ||
	    fail "record list --form border_screening: wrong number of lines"
	pass
}

case_record_edit()
{
	local id=${LABOR_IDS[0]}
	show_values "$id" >"$TMP/before.json"
	ok record edit "$id" --set sector=mining --set number_of_workers=38 --set location=
	[ "$OUT" = "saved $id" ] || fail "unexpected output: $OUT"
	SAVES=$((SAVES + 1))
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
v["sector"] = "mining"; v["number_of_workers"] = 38; del v["location"]
json.dump(v, open(sys.argv[2], "w"))
' "$TMP/before.json" "$TMP/want.json"
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/want.json" "--set edit: values differ"

	id=${BORDER_IDS[1]}
	show_values "$id" >"$TMP/before.json"
	printf '{"is_minor": false, "minor_accompaniment": null, "control_signs": []}' \
	    >"$TMP/edit.json"
	ok record edit "$id" --json "$TMP/edit.json"
	SAVES=$((SAVES + 1))
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
v["is_minor"] = False; del v["minor_accompaniment"]; v["control_signs"] = []
json.dump(v, open(sys.argv[2], "w"))
' "$TMP/before.json" "$TMP/want.json"
	show_values "$id" >"$TMP/got.json"
	same_json "$TMP/got.json" "$TMP/want.json" "--json edit: values differ"

	# Clearing a required field is refused as a whole.
	refused "field 'worksite_name'" "rule 'required'" -- \
	    record edit "${LABOR_IDS[1]}" --set worksite_name= --set sector=mining
	run record edit 0123456789abcdef0123456789abcdef --set sector=mining
	[ "$RC" -eq 2 ] || fail "edit of an unknown id exited $RC, want 2"
	pass
}

case_record_delete()
{
	local id before
	ok record new labor_inspection "${labor_required[@]}"
	id=$OUT
	SAVES=$((SAVES + 1))
	ok record delete "$id"
	[ "$OUT" = "deleted $id" ] || fail "unexpected output: $OUT"
	SAVES=$((SAVES + 1))
	ok record show "$id"
	[ "$(json_get "$TMP/out" 'j["deleted"]')" = True ] || fail "show of a deleted record: not deleted"
	ok record list
	! grep -q "^$id " "$TMP/out" || fail "record list shows a deleted record"
	before=$(db_hash)
	run record edit "$id" --set sector=mining
	[ "$RC" -eq 2 ] || fail "edit of a deleted record exited $RC, want 2"
	grep -q "deleted" "$TMP/err" || fail "edit of a deleted record: message does not say deleted"
	run record delete "$id"
	[ "$RC" -eq 2 ] || fail "second delete exited $RC, want 2"
	[ "$before" = "$(db_hash)" ] || fail "a refused edit or delete changed the store"
	pass
}

case_status()
{
	local changelog
	ok status --json
	[ "$(json_get "$TMP/out" 'j["pending"]')" = "$SAVES" ] ||
	    fail "status --json: pending is $(json_get "$TMP/out" 'j["pending"]'), want $SAVES"
	[ "$(json_get "$TMP/out" 'j["records"]')" = $((${#LABOR_IDS[@]} + ${#BORDER_IDS[@]})) ] ||
	    fail "status --json: wrong live record count"
	[ "$(json_get "$TMP/out" 'j["forms"]')" = 2 ] || fail "status --json: wrong form count"
	changelog=$(sqlite3 "$DB" 'SELECT count(*) FROM changelog')
	[ "$changelog" -eq "$SAVES" ] || fail "change log has $changelog rows, want $SAVES"
	ok status
	grep -Eq "^pending: +$SAVES change" "$TMP/out" || fail "status does not show $SAVES pending"
	grep -q "^last sync: never" "$TMP/out" || fail "status does not say never synced"
	pass
}

# Refused values: one line, field and rule named, nothing written.

case_bad_unknown_field()
{
	refused "field 'no_such_field'" "unknown_field" -- \
	    record new labor_inspection "${labor_required[@]}" --set "no_such_field=$SENTINEL"
	printf '{"worksite_name": "Site", "sector": "fishing", "inspection_date": "2026-01-15",
	    "referral_decision": "none", "no_such_field": "%s"}' "$SENTINEL" >"$TMP/bad.json"
	refused "field 'no_such_field'" "unknown_field" -- \
	    record new labor_inspection --json "$TMP/bad.json"
	pass
}

case_bad_integer_below_min()
{
	refused "field 'number_of_workers'" "rule 'min'" -- \
	    record new labor_inspection "${labor_required[@]}" --set number_of_workers=-1
	pass
}

case_bad_integer_above_max()
{
	refused "field 'number_of_workers'" "rule 'max'" -- \
	    record new labor_inspection "${labor_required[@]}" --set number_of_workers=100001
	printf '{"worksite_name": "Site", "sector": "fishing", "inspection_date": "2026-01-15",
	    "referral_decision": "none", "number_of_workers": 1e9}' >"$TMP/bad.json"
	refused "field 'number_of_workers'" "rule 'max'" -- \
	    record new labor_inspection --json "$TMP/bad.json"
	pass
}

case_bad_integer_not_integer()
{
	refused "field 'number_of_workers'" "rule 'type'" -- \
	    record new labor_inspection "${labor_required[@]}" --set number_of_workers=12.5
	refused "field 'number_of_workers'" "rule 'type'" -- \
	    record new labor_inspection "${labor_required[@]}" --set number_of_workers=twelve
	printf '{"worksite_name": "Site", "sector": "fishing", "inspection_date": "2026-01-15",
	    "referral_decision": "none", "number_of_workers": "12"}' >"$TMP/bad.json"
	refused "field 'number_of_workers'" "rule 'type'" -- \
	    record new labor_inspection --json "$TMP/bad.json"
	pass
}

case_bad_date()
{
	refused "field 'inspection_date'" "rule 'type'" -- \
	    record new labor_inspection --set worksite_name=Site --set sector=fishing \
	    --set inspection_date=2026-02-30 --set referral_decision=none
	grep -qF "2026-02-30" "$TMP/err" && fail "stderr contains the refused value"
	refused "field 'inspection_date'" "rule 'type'" -- \
	    record new labor_inspection --set worksite_name=Site --set sector=fishing \
	    --set inspection_date=2025-02-29 --set referral_decision=none
	pass
}

case_bad_datetime()
{
	refused "field 'screening_time'" "rule 'type'" -- \
	    record new border_screening --set checkpoint=Gate \
	    --set screening_time=2026-05-01T25:00:00Z --set document_holder=traveller \
	    --set is_minor=false --set referral=none
	refused "field 'screening_time'" "rule 'type'" -- \
	    record new border_screening --set checkpoint=Gate \
	    --set 'screening_time=2026-05-01 14:30' --set document_holder=traveller \
	    --set is_minor=false --set referral=none
	pass
}

case_bad_select_one_choice()
{
	refused "field 'sector'" "rule 'choices'" -- \
	    record new labor_inspection --set worksite_name=Site --set "sector=$SENTINEL" \
	    --set inspection_date=2026-01-15 --set referral_decision=none
	pass
}

case_bad_select_multiple_choice()
{
	refused "field 'control_signs'" "rule 'choices'" -- \
	    record new border_screening "${border_required[@]}" \
	    --set "control_signs=holds_documents,$SENTINEL"
	printf '{"checkpoint": "Gate", "screening_time": "2026-01-15T08:00:00Z",
	    "document_holder": "traveller", "is_minor": false, "referral": "none",
	    "control_signs": ["holds_documents", "%s"]}' "$SENTINEL" >"$TMP/bad.json"
	refused "field 'control_signs'" "rule 'choices'" -- \
	    record new border_screening --json "$TMP/bad.json"
	pass
}

case_bad_geopoint()
{
	refused "field 'location'" "rule 'type'" -- \
	    record new labor_inspection "${labor_required[@]}" --set location=91,10
	refused "field 'location'" "rule 'type'" -- \
	    record new labor_inspection "${labor_required[@]}" --set location=10,-180.5
	printf '{"worksite_name": "Site", "sector": "fishing", "inspection_date": "2026-01-15",
	    "referral_decision": "none", "location": {"lat": -90.5, "lon": 0}}' >"$TMP/bad.json"
	refused "field 'location'" "rule 'type'" -- \
	    record new labor_inspection --json "$TMP/bad.json"
	pass
}

case_bad_text_too_long()
{
	local long
	long="$SENTINEL$(printf 'x%.0s' $(seq 1 200))"
	refused "field 'interviewee_name'" "rule 'max_length'" -- \
	    record new labor_inspection "${labor_required[@]}" --set "interviewee_name=$long"
	long="$SENTINEL$(printf 'y%.0s' $(seq 1 40))"
	refused "field 'travel_document_number'" "rule 'max_length'" -- \
	    record new border_screening "${border_required[@]}" \
	    --set "travel_document_number=$long"
	printf '{"checkpoint": "Gate", "screening_time": "2026-01-15T08:00:00Z",
	    "document_holder": "traveller", "is_minor": false, "referral": "none",
	    "travel_document_number": "%s"}' "$long" >"$TMP/bad.json"
	refused "field 'travel_document_number'" "rule 'max_length'" -- \
	    record new border_screening --json "$TMP/bad.json"
	pass
}

case_bad_text_pattern()
{
	refused "field 'employer_contact_phone'" "rule 'pattern'" -- \
	    record new labor_inspection "${labor_required[@]}" \
	    --set "employer_contact_phone=$SENTINEL"
	# Anchored: a valid number with text around it is still refused.
	refused "field 'employer_contact_phone'" "rule 'pattern'" -- \
	    record new labor_inspection "${labor_required[@]}" \
	    --set "employer_contact_phone=+44 20 7946 0000 $SENTINEL"
	pass
}

case_bad_missing_required()
{
	refused "field 'referral_decision'" "rule 'required'" -- \
	    record new labor_inspection --set worksite_name=Site --set sector=fishing \
	    --set inspection_date=2026-01-15
	printf '{"checkpoint": "Gate", "screening_time": "2026-01-15T08:00:00Z",
	    "document_holder": "traveller", "referral": "none"}' >"$TMP/bad.json"
	refused "field 'is_minor'" "rule 'required'" -- \
	    record new border_screening --json "$TMP/bad.json"
	# An empty text does not answer a required field.
	refused "field 'checkpoint'" "rule 'required'" -- \
	    record new border_screening --set checkpoint= \
	    --set screening_time=2026-01-15T08:00:00Z --set document_holder=traveller \
	    --set is_minor=false --set referral=none
	pass
}

case_bad_json_malformed()
{
	printf '{"worksite_name": "%s", "sector": ' "$SENTINEL" >"$TMP/bad.json"
	refused "JSON" -- record new labor_inspection --json "$TMP/bad.json"
	printf '{"worksite_name": "Site"} trailing' >"$TMP/bad.json"
	refused "JSON" -- record new labor_inspection --json "$TMP/bad.json"
	refused "JSON" -- record edit "${LABOR_IDS[0]}" --json "$TMP/bad.json"
	pass
}

case_bad_json_not_object()
{
	printf '["%s"]' "$SENTINEL" >"$TMP/bad.json"
	refused "object" -- record new labor_inspection --json "$TMP/bad.json"
	printf '"just a string"' >"$TMP/bad.json"
	refused "object" -- record new labor_inspection --json "$TMP/bad.json"
	pass
}

case_bad_unknown_form()
{
	refused "no_such_form" -- record new no_such_form --set worksite_name=Site
	pass
}

case_bad_unknown_command()
{
	refused "frobnicate" -- frobnicate
	refused "frobnicate" -- record frobnicate
	refused "frobnicate" -- forms frobnicate
	pass
}

case_bad_unknown_option()
{
	refused "--frobnicate" -- --frobnicate record list
	refused "--frobnicate" -- record new labor_inspection "${labor_required[@]}" --frobnicate
	refused "--frobnicate" -- record list --frobnicate
	refused "--frobnicate" -- status --frobnicate
	pass
}

# Every command answers --help on stdout with exit 0, and opens no store.
case_help()
{
	local -a paths=("" init forms "forms import" "forms list" record "record new"
	    "record edit" "record delete" "record show" "record list" status sync)
	local p nodb=$TMP/help-must-not-create.db bad=()
	for p in "${paths[@]}"; do
		RC=0
		# shellcheck disable=SC2086 # p is split into words on purpose
		"$FIELDSYNC" --db "$nodb" $p --help >"$TMP/out" 2>"$TMP/err" || RC=$?
		if [ "$RC" -ne 0 ]; then
			bad+=("'fieldsync $p --help' exited $RC")
		elif ! grep -q "^usage: fieldsync" "$TMP/out"; then
			bad+=("'fieldsync $p --help' printed no usage on stdout")
		elif ! grep -qF "${p:-COMMAND}" "$TMP/out"; then
			bad+=("'fieldsync $p --help' does not mention '$p'")
		elif [ -s "$TMP/err" ]; then
			bad+=("'fieldsync $p --help' wrote to stderr")
		fi
		if [ -e "$nodb" ]; then
			bad+=("'fieldsync $p --help' created a store")
			rm -f "$nodb"*
		fi
	done
	RC=0
	"$FIELDSYNC" -h >"$TMP/out" 2>&1 || RC=$?
	[ "$RC" -eq 0 ] && grep -q "^usage: fieldsync" "$TMP/out" || bad+=("'fieldsync -h' failed")
	RC=0
	"$FIELDSYNC" --version >"$TMP/out" 2>&1 || RC=$?
	[ "$RC" -eq 0 ] && grep -Eq "^fieldsync [0-9]+\.[0-9]+\.[0-9]+$" "$TMP/out" ||
	    bad+=("'fieldsync --version' failed")
	if [ ${#bad[@]} -gt 0 ]; then
		: >"$TMP/err"
		fail "$(printf '%s; ' "${bad[@]}")"
	fi
	pass
}

# A plain http:// server address (not loopback) is refused before any
# request: records and the token never cross a network in clear.
case_bad_sync_plain_http()
{
	printf '%064d\n' 0 >"$TMP/token"
	refused "https://" -- sync --server http://fieldsync.example.invalid:8080 \
	    --token-file "$TMP/token"
	refused "https://" -- sync --server http://127.evil.example --token-file "$TMP/token"
	refused "https://" -- sync --server http://127.0.0.1.nip.example --token-file "$TMP/token"
	refused "not a URL" -- sync --server "https://exa mple" --token-file "$TMP/token"
	pass
}

# The store is still sound and everything counted is pending.
case_final_state()
{
	[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check failed"
	ok status --json
	[ "$(json_get "$TMP/out" 'j["pending"]')" = "$SAVES" ] ||
	    fail "pending is $(json_get "$TMP/out" 'j["pending"]'), want $SAVES"
	pass
}

for CASE in init init_twice_fails init_needs_device forms_import forms_import_broken \
    record_new_set record_new_json record_show record_list record_edit record_delete status \
    bad_unknown_field bad_integer_below_min bad_integer_above_max bad_integer_not_integer \
    bad_date bad_datetime bad_select_one_choice bad_select_multiple_choice bad_geopoint \
    bad_text_too_long bad_text_pattern bad_missing_required bad_json_malformed \
    bad_json_not_object bad_unknown_form bad_unknown_command bad_unknown_option \
    bad_sync_plain_http help \
    final_state; do
	"case_$CASE"
done
echo "cli: all cases passed ($SAVES saves)"
