#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The manual pages and the bash completion say what the programs do, as the programs tell it:
# every setting `hotkdump config` prints is a key of hotkdump.conf(5), at its default, and the
# page has no other; every command of `hotkdump --help` is a section of hotkdump(1) naming the
# options of its own --help; every option of `hotkdumpd --help` is in hotkdumpd(8); each page
# names the programs' version and formats without a warning; and the completion offers the
# commands, options and settings the programs take.
. "$(dirname "$0")/e2e/lib.sh"

HOTKDUMPD=${TOP_BUILDDIR:?}/hotkdumpd
MAN=$TOP_SRCDIR/man
COMPLETION=$TOP_SRCDIR/etc/bash-completion/hotkdump
PAGES="hotkdump.1 hotkdumpd.8 hotkdump.conf.5"

for p in $PAGES; do
	[ -f "$MAN/$p" ] || bail "no man/$p"
done
[ -x "$HOTKDUMP" ] && [ -x "$HOTKDUMPD" ] || bail "no hotkdump or hotkdumpd in $TOP_BUILDDIR"

# roff's escapes out of a page's text: \- is a minus, \e a backslash, font changes go
unroff() {
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}

# --- hotkdump.conf(5): the settings ----------------------------------------------------------
"$HOTKDUMP" config >"$TMP/config" 2>&1
ok $? "hotkdump config"
# KEY DEFAULT, one line per setting
sed -n 's/^#\([a-z_][a-z0-9_.]*\) = \(.*\)$/\1 \2/p' "$TMP/config" >"$TMP/settings"
cut -d' ' -f1 "$TMP/settings" >"$TMP/keys"
n_keys=$(wc -l <"$TMP/keys")
[ "$n_keys" -gt 50 ]
ok $? "hotkdump config prints the settings ($n_keys of them)"

# the page's keys: the tag line of each .TP that starts with \fBKEY\fR, with its default
# (KEY (KIND, default VALUE[, MIN to MAX])), as KEY VALUE
awk 'prev == ".TP" && /^\\fB[a-z_][a-z0-9_.]*\\fR \(/ { print } { prev = $0 }' "$MAN/hotkdump.conf.5" | unroff |
	sed -nE 's/^([a-z_][a-z0-9_.]*) \([a-z]+, default (.*)\)$/\1 \2/; T; s/, [0-9][0-9a-zA-Z]* to [0-9][0-9a-zA-Z]*$//; p' \
	>"$TMP/page-settings"
cut -d' ' -f1 "$TMP/page-settings" >"$TMP/page-keys"

missing=$(grep -vxF -f "$TMP/page-keys" "$TMP/keys")
[ -z "$missing" ]
ok $? "every setting of hotkdump config is a key in hotkdump.conf.5"
[ -z "$missing" ] || sed 's/^/#   not documented: /' <<<"$missing"
stale=$(grep -vxF -f "$TMP/keys" "$TMP/page-keys")
[ -z "$stale" ]
ok $? "hotkdump.conf.5 documents no key the program does not have"
[ -z "$stale" ] || sed 's/^/#   no such setting: /' <<<"$stale"
dup=$(sort "$TMP/page-keys" | uniq -d)
[ -z "$dup" ]
ok $? "hotkdump.conf.5 documents each key once"
[ -z "$dup" ] || sed 's/^/#   twice: /' <<<"$dup"

# the defaults, the page's for a build with --sysconfdir=/etc --localstatedir=/var and the
# default crash: this build's folders are mapped to those first
confdir=$("$HOTKDUMP" analyze --help | sed -n 's|.*(default \(.*\)/hotkdump.conf if present).*|\1|p')
statedir=$(sed -n 's/^root //p' "$TMP/settings")
sed -e "s|^\([a-z_.]*\) $confdir\(/[^ ]*\)\$|\1 /etc/hotkdump\2|" -e "s|^root $statedir\$|root /var/lib/hotkdump|" \
	-e 's/ $/ empty/' "$TMP/settings" >"$TMP/settings-std"
bad=$(while read -r key def; do
	[ "$key" = crash.binary ] && [ "$def" != /var/cache/hotkdump/crash/current/bin/crash ] && continue # --with-crash
	want=$(awk -v k="$key" '$1 == k { sub(/^[^ ]* /, ""); print }' "$TMP/settings-std")
	[ -z "$want" ] || [ "$def" = "$want" ] || echo "$key: the page says '$def', hotkdump config '$want'"
done <"$TMP/page-settings")
[ -z "$bad" ]
ok $? "every key's default in hotkdump.conf.5 is the program's"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# --- hotkdump(1): the commands and their options ---------------------------------------------
"$HOTKDUMP" --help >"$TMP/help"
ok $? "hotkdump --help"
awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$TMP/help" >"$TMP/commands"
commands=$(tr '\n' ' ' <"$TMP/commands")
[ "$(wc -l <"$TMP/commands")" -ge 5 ]
ok $? "hotkdump --help lists the commands ($commands)"

sed -n 's/^\.SS "hotkdump \([a-z-]*\)"$/\1/p' "$MAN/hotkdump.1" >"$TMP/page-commands"
missing=$(grep -vxF -f "$TMP/page-commands" "$TMP/commands")
[ -z "$missing" ]
ok $? "every command of hotkdump --help has its section in hotkdump.1"
[ -z "$missing" ] || sed 's/^/#   no section: hotkdump /' <<<"$missing"
stale=$(grep -vxF -f "$TMP/commands" "$TMP/page-commands")
[ -z "$stale" ]
ok $? "hotkdump.1 has no section for a command the program does not have"
[ -z "$stale" ] || sed 's/^/#   no such command: /' <<<"$stale"

# the long options a --help lists: those of its usage lines, and of its lines that start with
# an option
help_options() {
	grep -E '^(Usage: | +hotkdump| +--)' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
# the text of hotkdump.1's section on a command
section() {
	awk -v want=".SS \"hotkdump $1\"" '$0 == want { on = 1; next } on && /^\.S[SH] / { on = 0 } on' "$MAN/hotkdump.1" | unroff
}
while read -r cmd; do
	"$HOTKDUMP" "$cmd" --help >"$TMP/help-$cmd" 2>&1
	rc=$?
	help_options <"$TMP/help-$cmd" >"$TMP/options-$cmd"
	section "$cmd" >"$TMP/section-$cmd"
	missing=$(while read -r o; do grep -qF -- "$o" "$TMP/section-$cmd" || echo "$o"; done <"$TMP/options-$cmd")
	[ $rc -eq 0 ] && [ -s "$TMP/section-$cmd" ] && [ -z "$missing" ]
	ok $? "hotkdump.1's section on $cmd names the options of hotkdump $cmd --help ($(wc -l <"$TMP/options-$cmd"))"
	[ -z "$missing" ] || sed 's/^/#   not in the section: /' <<<"$missing"
done <"$TMP/commands"

# --- hotkdumpd(8): the options ---------------------------------------------------------------
"$HOTKDUMPD" --help >"$TMP/help-daemon"
ok $? "hotkdumpd --help"
help_options <"$TMP/help-daemon" >"$TMP/options-daemon"
awk '$0 == ".SH OPTIONS" { on = 1; next } on && /^\.SH / { on = 0 } on' "$MAN/hotkdumpd.8" | unroff >"$TMP/section-daemon"
missing=$(while read -r o; do grep -qF -- "$o" "$TMP/section-daemon" || echo "$o"; done <"$TMP/options-daemon")
[ -s "$TMP/options-daemon" ] && [ -z "$missing" ]
ok $? "hotkdumpd.8's OPTIONS name every option of hotkdumpd --help ($(wc -l <"$TMP/options-daemon"))"
[ -z "$missing" ] || sed 's/^/#   not in OPTIONS: /' <<<"$missing"

# --- every page: its version, and no warning -------------------------------------------------
version=$("$HOTKDUMP" --version | sed 's/^hotkdump //')
for p in $PAGES; do
	grep -qE "^\.TH [A-Z.]+ [158] \"[A-Z][a-z]+ [0-9]{4}\" \"hotkdump $version\" " "$MAN/$p"
	ok $? "$p: .TH names its section, a date and hotkdump $version"
done
for p in $PAGES; do
	if command -v groff >/dev/null; then
		warnings=$(groff -man -ww -z "$MAN/$p" 2>&1)
		[ -z "$warnings" ]
		ok $? "groff -man -ww: no warning on $p"
		[ -z "$warnings" ] || sed 's/^/#   /' <<<"$warnings"
	else
		skip "groff is not installed: $p is not formatted"
	fi
	if command -v man >/dev/null; then
		# as lintian runs it
		warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN/$p" 2>&1 >/dev/null)
		[ -z "$warnings" ]
		ok $? "man --warnings: no warning on $p"
		[ -z "$warnings" ] || sed 's/^/#   /' <<<"$warnings"
	else
		skip "man is not installed: $p is not checked with man --warnings"
	fi
done

# --- the bash completion ---------------------------------------------------------------------
# complete FUNCTION WORD…: COMPREPLY, one per line, for the command line WORD…, the last word the
# one completed, in a bash that sourced the completion file (as bash-completion loads it)
complete_words() {
	bash -c '. "$1" || exit 1; f=$2; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@"
}
bash -n "$COMPLETION"
ok $? "the completion file is bash"

got=$(complete_words _hotkdump "$HOTKDUMP" "" | tr '\n' ' ')
is "$got" "$commands" "the completion offers the commands of hotkdump --help, in its order"

while read -r cmd; do
	complete_words _hotkdump "$HOTKDUMP" "$cmd" -- | grep . | sort >"$TMP/complete-$cmd"
	# the completion's --help and --version are asked of the program itself
	bad=$(comm -23 "$TMP/options-$cmd" "$TMP/complete-$cmd" | sed 's/^/not offered: /'
		grep -vxE -- '--help|--version' "$TMP/complete-$cmd" | comm -13 "$TMP/options-$cmd" - | sed 's/^/not in --help: /'
		for o in --help --version; do
			if grep -qx -- "$o" "$TMP/complete-$cmd"; then
				"$HOTKDUMP" "$cmd" "$o" >/dev/null 2>&1 || echo "offered, but refused: $o"
			else
				"$HOTKDUMP" "$cmd" "$o" >/dev/null 2>&1 && echo "not offered: $o"
			fi
		done)
	[ -z "$bad" ]
	ok $? "the completion offers the options of hotkdump $cmd, and only those"
	[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"
done <"$TMP/commands"

complete_words _hotkdumpd "$HOTKDUMPD" "" | grep . | sort >"$TMP/complete-daemon"
bad=$(grep -vx -- --help "$TMP/complete-daemon" | diff - "$TMP/options-daemon")
[ -z "$bad" ] && grep -qx -- --help "$TMP/complete-daemon"
ok $? "the completion offers the options of hotkdumpd --help, and --help"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# the options that take a value (--case CASE in a --help) are those whose value the completion
# completes or steps over
cat "$TMP"/help-* | grep -E '^ +--' | grep -oE -- '--[a-z][a-z0-9-]* [A-Z]' | cut -d' ' -f1 | sort -u >"$TMP/value-options"
bash -c '. "$1" && printf "%s\n" $_hotkdump_value_opts' _ "$COMPLETION" | sort -u >"$TMP/complete-value-options"
bad=$(diff "$TMP/complete-value-options" "$TMP/value-options")
[ -s "$TMP/value-options" ] && [ -z "$bad" ]
ok $? "the completion knows which options take a value ($(wc -l <"$TMP/value-options"))"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

complete_words _hotkdump "$HOTKDUMP" analyze --set "" | sed 's/=$//' >"$TMP/complete-keys"
cmp -s "$TMP/keys" "$TMP/complete-keys"
ok $? "after --set, the completion offers the settings of hotkdump config, as KEY="
is "$(complete_words _hotkdumpd "$HOTKDUMPD" --set watch.d)" "watch.dirs=" "and so for hotkdumpd"

# hotkdump crash CASE[/N]: the case folders under the root the command line names
mkdir -p "$TMP/root/cases/00100001/1" "$TMP/root/cases/00100001/2" "$TMP/root/cases/00100002"
is "$(complete_words _hotkdump "$HOTKDUMP" crash --root "$TMP/root" "" | tr '\n' ' ')" "00100001 00100002 " \
	"hotkdump crash: the completion offers the cases under --root"
is "$(complete_words _hotkdump "$HOTKDUMP" crash --set root = "$TMP/root" 00100001/ | tr '\n' ' ')" \
	"00100001/1 00100001/2 " "and a case's dumps after CASE/, with the root from --set root=…"
echo "root = $TMP/root" >"$TMP/site.conf"
is "$(complete_words _hotkdump "$HOTKDUMP" crash --config "$TMP/site.conf" 001 | tr '\n' ' ')" "00100001 00100002 " \
	"and the root of the settings file --config names"

done_testing
