#!/usr/bin/env bash
# test-man.sh -- the man pages agree with the binaries.
#
# Every usage line that "fieldsyncd --help", "fieldsync COMMAND --help" and
# "fieldsyncd COMMAND ... --help" print appears, word for word, in the
# SYNOPSIS of fieldsyncd(8) or fieldsync(1); every option of fieldsync's
# --help is described in fieldsync(1); every configuration key (the
# example file and daemon/config.c) is described in fieldsyncd.conf(5) with
# the example's default, and the page describes no other key; groff renders
# the three pages without a warning.
#
# usage: test-man.sh FIELDSYNCD FIELDSYNC SOURCE_ROOT
set -euo pipefail

D=$(realpath "$1")
F=$(realpath "$2")
SRC=$(realpath "$3")
MAN=$SRC/packaging/man
errors=0
fail() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# A page as plain text, one long line per paragraph line.
render() {
	groff -man -Tascii -rLL=400n "$1" 2>/dev/null | col -bx
}

# The SYNOPSIS section of a rendered page, one usage per line, blanks squeezed.
synopsis() {
	render "$1" | awk '/^SYNOPSIS/ {on = 1; next} /^[A-Z]/ {on = 0} on' |
		sed 's/^ *//; s/ *$//; s/  */ /g' | grep -v '^$'
}

# Usage lines of a --help text: "usage: X ..." and "       X ..." start one,
# lines of blanks then "[" or "(" continue it.  Blanks squeezed.
usage_lines() { # program-name
	awk -v prog="$1" '
		{ line = $0; sub(/^usage: /, "", line); first = line; sub(/^ +/, "", first) }
		(first ~ "^" prog " " || first == prog) && (NR == 1 || $0 ~ /^usage: / || $0 ~ /^ +[a-z]/) {
			if (cur != "") print cur; cur = first; next
		}
		cur != "" && $0 ~ /^ +[[(]/ { sub(/^ +/, "", line); cur = cur " " line; next }
		{ if (cur != "") print cur; cur = "" }
		END { if (cur != "") print cur }' | sed 's/  */ /g; s/ *$//'
}

# 1. groff warnings.
for page in fieldsync.1 fieldsyncd.8 fieldsyncd.conf.5; do
	out=$(groff -man -ww -z "$MAN/$page" 2>&1 || true)
	[ -z "$out" ] || fail "$page: groff warnings: $out"
done

# 2. fieldsyncd: the usage lines of --help and of each command's --help.
syn_d=$(synopsis "$MAN/fieldsyncd.8")
help_d=$("$D" --help)
n=0
while IFS= read -r u; do
	n=$((n + 1))
	grep -qxF -- "$u" <<<"$syn_d" || fail "fieldsyncd(8) SYNOPSIS lacks: $u"
	# The words naming the command: after the global options, up to its arguments.
	words=$(sed 's/^fieldsyncd \[-f file\] \[-d data_dir\] //' <<<"$u" |
		awk '{for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) printf "%s ", $i}')
	case "$u" in
	"fieldsyncd [-f file] [-d data_dir] "*) ;;
	*) continue ;;
	esac
	[ -n "$words" ] || continue
	# shellcheck disable=SC2086
	sub=$("$D" $words --help) || fail "fieldsyncd $words--help failed"
	while IFS= read -r s; do
		grep -qxF -- "$s" <<<"$syn_d" || fail "fieldsyncd(8) SYNOPSIS lacks ($words--help): $s"
	done < <(usage_lines fieldsyncd <<<"$sub")
done < <(usage_lines fieldsyncd <<<"$help_d")
[ "$n" -ge 8 ] || fail "read only $n usage lines from fieldsyncd --help"
page_d=$(render "$MAN/fieldsyncd.8" | awk '/^SYNOPSIS/ {skip = 1; next} /^[A-Z]/ {skip = 0} !skip')
for opt in $(grep -o '^  \(-[a-z]\|--[a-z-]*\)' <<<"$help_d"); do
	grep -qe "$opt" <<<"$page_d" || fail "fieldsyncd(8) does not describe $opt"
done

# 3. fieldsync: each command's usage lines, and the options of --help.
syn_c=$(synopsis "$MAN/fieldsync.1")
page_c=$(render "$MAN/fieldsync.1")
# The page without its SYNOPSIS: where options must be described.
body_c=$(awk '/^SYNOPSIS/ {skip = 1; next} /^[A-Z]/ {skip = 0} !skip' <<<"$page_c")
help_c=$("$F" --help)
cmds=$(awk '/^Commands:/ {on = 1; next} /^$/ {on = 0} on {print $1}' <<<"$help_c" | sort -u)
[ "$(wc -w <<<"$cmds")" -ge 5 ] || fail "read only $(wc -w <<<"$cmds") commands from fieldsync --help"
for c in $cmds; do
	sub=$("$F" "$c" --help) || fail "fieldsync $c --help failed"
	lines=$(usage_lines fieldsync <<<"$sub")
	[ -n "$lines" ] || fail "fieldsync $c --help prints no usage line"
	while IFS= read -r s; do
		grep -qxF -- "$s" <<<"$syn_c" || fail "fieldsync(1) SYNOPSIS lacks: $s"
	done <<<"$lines"
	for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$lines" | sort -u); do
		grep -qe "$opt" <<<"$body_c" || fail "fieldsync(1) does not describe $c $opt"
	done
done
for opt in $(awk '/^Options:/ {on = 1; next} /^$/ {on = 0} on' <<<"$help_c" | grep -o -- '--[a-z]*'); do
	grep -qe "$opt" <<<"$body_c" || fail "fieldsync(1) does not describe $opt"
done
grep -qxF 'fieldsync --version | --help' <<<"$syn_c" || fail "fieldsync(1) SYNOPSIS lacks --version | --help"

# 4. fieldsyncd.conf(5): every key, with the example's default, and no other.
page_k=$(render "$MAN/fieldsyncd.conf.5")
example_keys=$(sed -n 's/^\([a-z_]*\) = \(.*\)$/\1 \2/p' "$SRC/docs/fieldsyncd.conf.example")
[ "$(wc -l <<<"$example_keys")" -ge 10 ] || fail "read too few keys from the example"
while read -r key value; do
	grep -qF "$key (default $value)" <<<"$page_k" ||
		fail "fieldsyncd.conf(5) lacks \"$key (default $value)\""
done <<<"$example_keys"
code_keys=$(sed -n 's/^ *{"\([a-z_]*\)", KEY_.*/\1/p' "$SRC/daemon/config.c")
[ -n "$code_keys" ] || fail "read no keys from daemon/config.c"
for key in $code_keys; do
	grep -q "^$key " <<<"$example_keys" || fail "key $key of daemon/config.c is not in the example"
done
for key in $(grep -o '^ *[a-z_]* (default ' <<<"$page_k" | awk '{print $1}'); do
	grep -qx "$key" <<<"$code_keys" || fail "fieldsyncd.conf(5) describes $key, which config.c lacks"
done

[ "$errors" -eq 0 ] || exit 1
echo "test-man: all passed ($n fieldsyncd usage lines, commands: $(echo $cmds), $(wc -l <<<"$example_keys") keys)"
