#!/usr/bin/env bash
# test-xlsform.sh -- forms written the XLSForm way (issue 19, item 3):
# `fieldsync forms from-csv` and `to-csv`.
#
#   - the shipped forms, as sheets in schema/forms/xlsform/, read back into
#     exactly the shipped JSON definitions, and to-csv writes those sheets
#     again byte for byte (round trip both ways);
#   - a form with skip logic, a constraint, a calculation and a required
#     expression, written as a spreadsheet would save it (BOM, CRLF, quoted
#     cells with commas, quotes and line breaks, a note row, a label in a
#     language column), converts, imports and records;
#   - broken sheets are refused with the sheet, the row and the problem.
#
# usage: test-xlsform.sh FIELDSYNC SOURCE_ROOT
set -euo pipefail

F=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d /tmp/fs-test-xlsform-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() { echo "ok: $*"; }
same_json() { python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)' "$1" "$2"; }

X=$SRC/schema/forms/xlsform
for f in labor_inspection border_screening; do
	"$F" forms from-csv "$X/$f.survey.csv" "$X/$f.choices.csv" --settings "$X/$f.settings.csv" -o "$f.json" ||
		fail "from-csv of the shipped $f sheets"
	same_json "$f.json" "$SRC/schema/forms/$f.json" || fail "$f: the sheets do not give the shipped definition"
	mkdir -p again
	"$F" forms to-csv "$SRC/schema/forms/$f.json" again >/dev/null || fail "to-csv $f"
	for s in survey choices settings; do
		cmp -s "again/$f.$s.csv" "$X/$f.$s.csv" || fail "$f.$s.csv: to-csv writes other sheets than the shipped ones"
	done
done
pass "shipped forms: sheets -> JSON identical to schema/forms, JSON -> sheets identical to schema/forms/xlsform"

# A form as a spreadsheet saves it.
printf '\xef\xbb\xbf' >survey.csv
printf 'Type,Name,label::English (en),hint,required,relevant,constraint,constraint_message,calculation,sensitive\r\n' >>survey.csv
printf 'note,intro,"Read this first, then ask",,,,,,,\r\n' >>survey.csv
printf 'integer,age,Age,,yes,,. >= 0 and . <= 120,"Age, in years",,\r\n' >>survey.csv
printf 'text,guardian,"Who accompanies the ""minor""?",,yes,${age} < 18,,,,\r\n' >>survey.csv
printf 'select_multiple signs,signs,Signs,"one line\nand another",,,,,,\r\n' >>survey.csv
printf 'integer,sign_count,Count,,,,,,count-selected(${signs}),\r\n' >>survey.csv
printf 'calculate,risk,,,,,,,"if(${sign_count} >= 2, '"'"'high'"'"', '"'"'low'"'"')",\r\n' >>survey.csv
printf 'text,action,Action,,${risk} = '"'"'high'"'"',,,,,\r\n' >>survey.csv
printf 'text,name,Name,,,,,,,yes\r\n' >>survey.csv
printf 'list_name,name,label\nsigns,deception,Deception\nsigns,isolation,Isolation\n\nsigns,debt,Debt\n' >choices.csv
"$F" forms from-csv survey.csv choices.csv --id kiosk --version 3 --title "Kiosk screening" -o kiosk.json ||
	fail "from-csv of a spreadsheet's sheets"
python3 - <<'PY' || fail "converted form: $(cat kiosk.json)"
import json
f = json.load(open("kiosk.json"))
by = {x["name"]: x for x in f["fields"]}
assert f["id"] == "kiosk" and f["version"] == 3 and f["title"] == "Kiosk screening", f
assert "intro" not in by, "a note became a field"
assert by["age"]["required"] is True and by["age"]["constraint_message"] == "Age, in years"
assert by["guardian"]["label"] == 'Who accompanies the "minor"?' and by["guardian"]["relevant"] == "${age} < 18"
assert by["signs"]["choices"] == ["deception", "isolation", "debt"] and by["signs"]["hint"] == "one line\nand another"
assert by["sign_count"]["calculate"] == "count-selected(${signs})" and by["sign_count"]["type"] == "integer"
assert by["risk"]["type"] == "text" and by["risk"]["calculate"].startswith("if(")
assert by["action"]["required_if"] == "${risk} = 'high'" and "required" not in by["action"]
assert by["name"]["sensitive"] is True
PY
"$F" --db dev.db init --device dev >/dev/null
"$F" --db dev.db forms import kiosk.json >/dev/null || fail "the converted form does not import"
R=$("$F" --db dev.db record new kiosk --set age=30 --set guardian=Ana --set signs=deception,debt \
	--set action=refer 2>/dev/null) || fail "record on the converted form"
"$F" --db dev.db record show "$R" | python3 -c '
import json, sys
v = json.load(sys.stdin)["values"]
assert v.get("guardian") is None and v["sign_count"] == 2 and v["risk"] == "high", v' ||
	fail "the converted form's logic did not apply"
pass "a spreadsheet's sheets (BOM, CRLF, quoted cells, a note, a language column) convert, import and record with their logic"

refused() { # what survey [choices] -- the message wanted
	local want=$1 survey=$2 choices=${3:-}
	printf '%b' "$survey" >bad-survey.csv
	if [ -n "$choices" ]; then printf '%b' "$choices" >bad-choices.csv; set -- bad-survey.csv bad-choices.csv; else set -- bad-survey.csv; fi
	if "$F" forms from-csv "$@" --id b --version 1 --title B >out.json 2>err.txt; then
		fail "converted a broken sheet (wanted: $want)"
	fi
	grep -qF -- "$want" err.txt || fail "no '$want' in: $(cat err.txt)"
	[ ! -s out.json ] || fail "a refused conversion printed a definition"
}
refused "survey row 2: unknown type 'colour'" 'type,name\ncolour,x\n'
refused "survey row 3: 'begin repeat': groups and repeats are not supported yet" 'type,name\ntext,a\nbegin repeat,r\n'
refused "survey row 2: list 'sizes' has no choices" 'type,name\nselect_one sizes,s\n' 'list_name,name\ncolours,red\n'
refused "survey line 2: a quoted cell is not closed" 'type,name,label\ntext,a,"open\n'
refused "survey: the first row must name the columns" 'kind,title\ntext,a\n'
refused "field 'b': relevant names unknown field 'zz'" 'type,name,relevant\ntext,a,\ntext,b,${zz} = 1\n'
refused "survey row 2: min, max and max_length must be numbers" 'type,name,min\ninteger,a,ten\n'
refused "survey row 2: a calculate row needs a calculation" 'type,name\ncalculate,c\n'
if "$F" forms from-csv survey.csv choices.csv 2>err.txt >/dev/null; then fail "converted without id, version, title"; fi
grep -q "form_id, version and form_title are needed" err.txt || fail "settings message: $(cat err.txt)"
"$F" forms from-csv --help | grep -q "XLSForm" || fail "from-csv --help"
pass "broken sheets refused with the sheet, row and problem; nothing printed"
echo "test-xlsform: all passed"
