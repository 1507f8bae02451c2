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

# A group (a heading only) and a repeat (rows of sub-fields, with a rule within a row).
printf 'type,name,label,required,relevant,calculation,sensitive,max_rows\n' >visit.csv
printf 'begin_group,site,Site,,,,,\n' >>visit.csv
printf 'integer,workers,Workers,yes,,,,\n' >>visit.csv
printf 'end_group,site,,,,,,\n' >>visit.csv
printf 'begin repeat,talks,Interviews,,${workers} > 0,,,2\n' >>visit.csv
printf 'text,who,Name,,,,yes,\n' >>visit.csv
printf 'integer,age,Age,yes,,,,\n' >>visit.csv
printf 'boolean,minor,Minor,,,${age} < 18,,\n' >>visit.csv
printf 'end repeat,talks,,,,,,\n' >>visit.csv
"$F" forms from-csv visit.csv --id visit --version 1 --title Visit -o visit.json || fail "from-csv of a repeat"
python3 - <<'PY' || fail "converted repeat: $(cat visit.json)"
import json
f = json.load(open("visit.json"))
assert [x["name"] for x in f["fields"]] == ["workers", "talks"], f
r = f["fields"][1]
assert r["type"] == "repeat" and r["max_rows"] == 2 and r["relevant"] == "${workers} > 0", r
assert [x["name"] for x in r["fields"]] == ["who", "age", "minor"] and r["fields"][0]["sensitive"] is True
PY
"$F" --db dev.db forms import visit.json >/dev/null || fail "the converted repeat does not import"
R=$("$F" --db dev.db record new visit --set workers=3 --set talks/+a/who=Ana --set talks/+a/age=15 \
	--set talks/+b/age=40 2>/dev/null) || fail "record with two rows"
"$F" --db dev.db record show "$R" | python3 -c '
import json, sys
v = json.load(sys.stdin)["values"]
rows = {}
for k, x in v.items():
    if k.startswith("talks/"):
        _, row, sub = k.split("/")
        rows.setdefault(row, {})[sub] = x
assert len(rows) == 2, v
assert sorted((r["age"], r["minor"]) for r in rows.values()) == [(15, True), (40, False)], rows
assert all(len(k) == 16 for k in rows), rows' || fail "rows of the converted repeat"
"$F" --db dev.db record new visit --set workers=3 --set talks/+a/age=1 --set talks/+b/age=2 \
	--set talks/+c/age=3 2>err.txt && fail "a third row past max_rows 2 saved"
grep -qF "field 'talks': rule 'max_rows' (at most 2 rows)" err.txt || fail "max_rows: $(cat err.txt)"
# The officer's walk through a repeat: "add a row?", then the row's questions (the calculated one not asked).
printf '3\ny\nAna\n15\ny\n\nabc\n40\n' | "$F" --db dev.db record new visit --interactive >walk.out 2>walk.err ||
	fail "interactive repeat: $(cat walk.err)"
for says in "Interviews [repeat, 0 rows so far]: add a row? (y/n)" "Interviews: 2 rows, the most it holds" \
	"rule 'type'" "Age [integer, required]"; do
	grep -qF -- "$says" walk.err || fail "interactive repeat: no '$says' in: $(cat walk.err)"
done
if grep -q "Minor \[" walk.err; then fail "a calculated sub-field was asked"; fi
W=$(cat walk.out)
"$F" --db dev.db record show "$W" | python3 -c '
import json, sys
v = json.load(sys.stdin)["values"]
rows = {}
for k, x in v.items():
    if k.startswith("talks/") and x is not None:
        rows.setdefault(k.split("/")[1], {})[k.split("/")[2]] = x
got = sorted((r["age"], r["minor"], r.get("who")) for r in rows.values())
assert got == [(15, True, "Ana"), (40, False, None)], got' || fail "interactive rows: $("$F" --db dev.db record show "$W")"
# Input ends in the middle of a row: the rows answered are kept, the half one is not.
printf '3\ny\nAna\n15\ny\nBo\n' | "$F" --db dev.db record new visit --interactive >walk2.out 2>walk2.err ||
	fail "interactive, input ending in a row: $(cat walk2.err)"
n=$("$F" --db dev.db record show "$(cat walk2.out)" | python3 -c '
import json, sys
v = json.load(sys.stdin)["values"]
print(len({k.split("/")[1] for k, x in v.items() if k.startswith("talks/") and x is not None}))')
[ "$n" = 1 ] || fail "a half-answered row was kept ($n rows)"
pass "a group and a repeat convert; rows recorded with their rule; max_rows refused; --interactive asks for rows"

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
refused "survey: a begin_repeat has no end_repeat" 'type,name\ntext,a\nbegin repeat,r\ntext,b\n'
refused "survey row 3: end_repeat without begin_repeat" 'type,name\ntext,a\nend_repeat,r\n'
refused "survey row 4: a repeat cannot hold a repeat" 'type,name\nbegin_repeat,r\ntext,a\nbegin_repeat,s\ntext,b\nend_repeat,s\nend_repeat,r\n'
refused "field 'r': field 'b': relevant names unknown field 'a'" 'type,name,relevant\ntext,a,\nbegin_repeat,r,\ntext,b,${a} = 1\nend_repeat,r,\n'
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
