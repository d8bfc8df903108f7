#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole pipeline on real dumps with the real crash: symbols by build-id from a real
# debuginfod on loopback, module debug files from a Debian pool on loopback (nginx), crash's
# command set, the report rendered in headless Chromium, and `hotkdump crash` driven in tmux.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debuginfod-lib.sh"

load_fixtures
load_debug_package
deb=$DEB
load_crash
release=$(jq -r .kernel_release "$MANIFEST")
tmux_sock=$TMP/tmux.sock
trap 'tmux -S "$tmux_sock" kill-server 2>/dev/null; stop_nginx; stop_debuginfod; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/debs" "$TMP/www/debian-security/pool/updates/main/l/linux"
ln "$deb" "$TMP/debs/" 2>/dev/null || cp "$deb" "$TMP/debs/"
ln "$deb" "$TMP/www/debian-security/pool/updates/main/l/linux/" 2>/dev/null ||
	cp "$deb" "$TMP/www/debian-security/pool/updates/main/l/linux/"
start_debuginfod "$TMP/debs"
start_nginx "$TMP/www"
args=(--set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands"
	--set "symbols.sources=cache debuginfod debian" --set "symbols.debuginfod_urls=http://127.0.0.1:$DEBUGINFOD_PORT"
	--set "symbols.debian_mirrors=http://127.0.0.1:$HTTP_PORT/nothing http://127.0.0.1:$HTTP_PORT/debian-security")

full() { # full ARGS…: the whole pipeline
	timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
}
cmd_file() { # cmd_file DIR NAME: the output file of a command of the set
	echo "$1/crash/$(jq -r --arg n "$2" '.crash.commands[] | select(.name == $n) | .file' "$1/job.json")"
}

# --- sysrq-c: the whole pipeline ----------------------------------------------------------------
dump=$(fixture_of sysrq kdump-compressed)
panic=$(panic_of sysrq)
full --case 00345677 "$dump"
rc=$?
is "$rc" 0 "sysrq: analyze finishes"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/err" | tail -n 20
d=$ROOT/cases/00345677/1
is "$(job_field "$d" .state)" done "sysrq: the job is done"
for s in fetch unpack identify first-look symbols crash storage report; do
	is "$(job_field "$d" ".stages[\"$s\"].state")" done "sysrq: stage $s done"
done
is "$(job_field "$d" .symbols.source)" debuginfod "sysrq: symbols came from debuginfod"
sys=$(cmd_file "$d" sys)
grep -q "RELEASE: $release\$" "$sys"
ok $? "sysrq: sys shows the release"
grep -qF "PANIC: \"$panic\"" "$sys"
ok $? "sysrq: sys shows the panic string the guest printed"
tasks=$(sed -n 's/^ *TASKS: //p' "$sys")
[ "${tasks:-0}" -ge 20 ]
ok $? "sysrq: crash sees the whole task list ($tasks tasks)"
grep -q "sysrq_handle_crash at" "$(cmd_file "$d" bt)"
ok $? "sysrq: bt shows the crashing function sysrq_handle_crash"
is "$(jq -r .headline.function "$d/summary.json")" sysrq_handle_crash "sysrq: the headline names it"
is "$(job_field "$d" '.crash.too_old')" "" "sysrq: no sign of a crash too old for the kernel"

# every module the dump has loaded has its debug file loaded, fetched from the Debian pool
mods=$(cmd_file "$d" mod)
n_mod=$(grep -cE '^ *[0-9a-f]{16} ' "$mods")
n_loaded=$(grep -cE "^ *[0-9a-f]{16} .* $ROOT/symbols/[^ ]*/modules/[^ ]*\.ko" "$mods")
[ "$n_mod" -gt 0 ] && is "$n_loaded" "$n_mod" "sysrq: all $n_mod modules have their debug info loaded (mod -S)"
grep -q "GET /debian-security/pool/updates/main/l/linux/$(basename "$deb")" "$TMP/nginx/access.log"
ok $? "sysrq: module debug files came from the Debian pool"
grep -q "virtio_blk.ko" "$d/crash/00-mod-S.txt"
ok $? "sysrq: mod -S ran before the command set"

# the outputs: one file per command, hotkdump.out with a header each, summary.json with all
n_set=$(grep -cvE '^[[:space:]]*(#|$)' "$TOP_SRCDIR/etc/crash-commands")
is "$(jq '.crash.commands | length' "$d/summary.json")" "$n_set" "sysrq: summary.json lists every command of the set"
is "$(grep -c '^==== \[[0-9][0-9]\] ' "$d/hotkdump.out")" "$((n_set + 1))" "sysrq: hotkdump.out has a header per command (and mod -S)"
is "$(jq -r '[.crash.commands[] | select(.name == "crashinfo")][0].status' "$d/summary.json")" skipped \
	"sysrq: pykdump commands are skipped without pykdump"
grep -q "pykdump is not configured" "$d/hotkdump.out"
ok $? "sysrq: … and the report says why"
bad=$(jq -r '[.crash.commands[] | select(.status != "ok" and .status != "skipped") | .name] | join(" ")' "$d/summary.json")
is "$bad" "" "sysrq: every other command answered"
jq -e '.crash.commands[] | select(.name == "sys") | .seconds >= 0' "$d/summary.json" >/dev/null
ok $? "sysrq: each command has its timing"
jq -e '.identity.release and .symbols.vmlinux and .first_look.panic_line and .stages.crash.seconds' "$d/summary.json" >/dev/null
ok $? "sysrq: summary.json holds identity, symbols, first look and stage timings"
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 "$TOP_SRCDIR/tests/e2e/quick/openapi-check.py" --schema "$TOP_SRCDIR/daemon/openapi.json" Summary "$d/summary.json" \
		>"$TMP/schema.out" 2>&1
	ok $? "sysrq: summary.json is valid against its schema (Summary in daemon/openapi.json)"
	sed 's/^/# /' "$TMP/schema.out"
else
	skip "python3-jsonschema is not installed"
fi
is "$(jq -r '.identity.crash_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' "$d/summary.json")" true \
	"sysrq: its crash time is ISO 8601"
grep -q "Tasks in state UN" "$(cmd_file "$d" blocked)" && grep -q "Largest resident memory users" "$(cmd_file "$d" top-memory)"
ok $? "sysrq: blocked tasks and top memory users are computed from crash's tables"

# comment.txt: short, and says where the rest is
len=$(wc -m <"$d/comment.txt")
[ "$len" -le 3000 ]
ok $? "sysrq: comment.txt is $len characters (at most 3000)"
grep -qF "$panic" "$d/comment.txt" && grep -q "sysrq_handle_crash" "$d/comment.txt" &&
	grep -q "Full report: $d/report.html" "$d/comment.txt" && grep -q "$release" "$d/comment.txt"
ok $? "sysrq: the comment has the kernel, panic, function and the report's place"
timeout 300 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" --set report.comment_max=600 \
	--set report.base_url=https://hotkdump.example/cases --case 00345677 "$dump" >/dev/null 2>&1
is "$?" 0 "sysrq: a second job of the case (symbols cached)"
len=$(wc -m <"$ROOT/cases/00345677/2/comment.txt")
[ "$len" -le 600 ] && grep -q "^Full report: https://hotkdump.example/cases/00345677/2/report.html" "$ROOT/cases/00345677/2/comment.txt"
ok $? "sysrq: report.comment_max and report.base_url are obeyed ($len characters)"
grep -q "cache hit" "$ROOT/cases/00345677/2/hotkdump.log"
ok $? "sysrq: the second job's symbols came from the cache"

# --- report.html in a real browser ---------------------------------------------------------------
html=$d/report.html
grep -qiE '<(script|link|img|iframe)[ >]|src=|url\(|@import' "$html"
ok $((!$?)) "report: self-contained (no scripts, links, images or external assets)"
browser() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chromium" "$@" 2>>"$TMP/chromium.log"
}
browser --window-size=1280,2400 --screenshot="$TMP/report.png" "file://$html" >/dev/null
file "$TMP/report.png" | grep -q "PNG image data, 1280 x 2400"
ok $? "report: Chromium renders it (a 1280x2400 screenshot)"
# a blank or failed page compresses to a few kilobytes; this one has text and colour all over
size=$(stat -c %s "$TMP/report.png")
[ "$size" -gt 60000 ]
ok $? "report: the screenshot is not blank ($size bytes)"
browser --dump-dom "file://$html" >"$TMP/dom.html"
h1=$(python3 -c 'import sys,html.parser
class P(html.parser.HTMLParser):
    def __init__(s): super().__init__(); s.inh=0; s.t=""; s.sec=0
    def handle_starttag(s,t,a):
        if t=="section" and ("id","headline") in a: s.sec=1
        if t=="h1" and s.sec: s.inh=1
    def handle_endtag(s,t):
        if t=="h1": s.inh=0; s.sec=0
    def handle_data(s,d):
        if s.inh: s.t+=d
p=P();p.feed(open(sys.argv[1]).read());print(p.t)' "$TMP/dom.html")
is "$h1" "$(jq -r .headline.cause "$d/summary.json")" "report: the headline in the browser's DOM is the cause the rules named"
grep -q "<dt>Panic</dt><dd>$panic</dd>" "$TMP/dom.html"
ok $? "report: the panic line is under the headline"
grep -q '<details id="cmd-bt" open="">' "$TMP/dom.html" && grep -q 'id="panic"' "$TMP/dom.html"
ok $? "report: bt is open, the panic region of the log is marked"
grep -q '<dd><code>sysrq_handle_crash()</code></dd>' "$TMP/dom.html"
ok $? "report: the headline names the crashing function"
grep -q 'href="crash/02-bt.txt"' "$TMP/dom.html" && grep -q 'href="hotkdump.log"' "$TMP/dom.html"
ok $? "report: links to the raw files"

# --- OOM panic -----------------------------------------------------------------------------------
dump=$(fixture_of oom kdump-compressed)
full --case 00345678 "$dump"
is "$?" 0 "oom: analyze finishes"
d=$ROOT/cases/00345678/1
grep -qF "PANIC: \"$(panic_of oom)\"" "$(cmd_file "$d" sys)"
ok $? "oom: sys shows the OOM panic string"
[ "$(jq '.crash.top_memory | length' "$d/summary.json")" -ge 1 ]
ok $? "oom: the largest memory users are listed"
grep -q "^Memory:  largest user" "$d/comment.txt"
ok $? "oom: the comment names the largest memory user"

# --- hotkdump crash: crash on the prepared case, in tmux ---------------------------------------
pane() { tmux -S "$tmux_sock" capture-pane -p -t hk -S -200; }
wait_for() { # wait_for REGEX SECONDS
	local i
	for i in $(seq $(($2 * 5))); do
		pane | grep -qE "$1" && return 0
		sleep 0.2
	done
	return 1
}
tmux -S "$tmux_sock" new-session -d -s hk -x 200 -y 60 \
	"'$HOTKDUMP' crash --root '$ROOT' --set 'crash.binary=$CRASH' 00345677/1; echo hotkdump-crash-exit=\$?; sleep 30"
wait_for '^crash> ?$' 300
ok $? "crash CASE/N: crash starts and prompts"
tmux -S "$tmux_sock" send-keys -t hk 'sys' Enter
wait_for 'PANIC: ' 60
ok $? "crash CASE/N: sys answers"
pane | grep -q "RELEASE: $release" && pane | grep -qF "PANIC: \"$panic\""
ok $? "crash CASE/N: … with the dump's release and panic"
tmux -S "$tmux_sock" send-keys -t hk 'mod' Enter
wait_for 'virtio_blk .*modules/.*virtio_blk\.ko' 60
ok $? "crash CASE/N: module debug info is loaded"
# the open session holds the symbols in use (shared); another job's fetch into the same entry
# does not wait for it to end
timeout 120 "$HOTKDUMP" symbols --root "$ROOT" --debug-file "$deb" --modules virtio_net "$(fixture_of sysrq kdump-compressed)" \
	>"$TMP/out" 2>"$TMP/err"
is "$?" 0 "crash CASE/N: a job using the same symbols meanwhile does not wait for the session"
[ -n "$(find "$ROOT/symbols" -path '*/modules/*' -name 'virtio_net.ko')" ]
ok $? "crash CASE/N: … and the module it asked for was added to the entry in use"
tmux -S "$tmux_sock" send-keys -t hk 'quit' Enter
wait_for 'hotkdump-crash-exit=0' 60
ok $? "crash CASE/N: quit ends it with status 0"
timeout 60 "$HOTKDUMP" crash --root "$ROOT" --set "crash.binary=$CRASH" --print 00345677 >"$TMP/print" 2>"$TMP/err"
grep -q "^cd $ROOT/cases/00345677/2 && $CRASH -i .*/interactive.init .*/vmlinux $ROOT/cases/00345677/2/vmcore\$" "$TMP/print"
ok $? "crash CASE: the newest dump of the case"
"$HOTKDUMP" crash --root "$ROOT" 00345677/9 >/dev/null 2>"$TMP/err"
is "$?" 5 "crash CASE/N: no such dump: exit 5"
grep -q "case 00345677 dump 9" "$TMP/err"
ok $? "crash CASE/N: … named in the error"
"$HOTKDUMP" crash --root "$ROOT" "../00345677" >/dev/null 2>"$TMP/err"
is "$?" 2 "crash CASE: a case number with a path in it is refused"

done_testing
