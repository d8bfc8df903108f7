#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The crash stage when things go wrong: crash missing, a command that never returns (the only
# use of the stand-in crash), crash killed in the middle of a command, the stage's own time
# limit, a broken command set, and a dump crash cannot open. Each time the job says which
# commands failed and why, keeps what it got, and fails only when nothing useful came out.
. "$(dirname "$0")/lib.sh"

load_fixtures
load_crash
vmlinux=$(jq -r .vmlinux "$MANIFEST")
dump=$(fixture_of sysrq kdump-compressed)
panic=$(panic_of sysrq)
standin=$TOP_SRCDIR/tests/e2e/standin-crash
marker=hk-standin-$$
export HOTKDUMP_STANDIN_MARKER=$marker
trap 'pkill -9 -f "$marker" 2>/dev/null; rm -rf "$TMP"' EXIT

# run ARGS…: the whole pipeline, symbols from the fixture's own vmlinux (and no archive to
# look for module debug files in)
run() {
	timeout 900 "$HOTKDUMP" analyze --root "$ROOT" --debug-file "$vmlinux" --set symbols.sources=cache "$@" >"$TMP/out" 2>"$TMP/err"
}
newest() {
	ls -d "$ROOT/cases/$1"/* | sort -t/ -k"$(($(echo "$ROOT/cases/$1/" | tr -cd / | wc -c) + 1))" -n | tail -n 1
}
cmd_field() { # cmd_field DIR NAME FIELD
	jq -r --arg n "$2" ".crash.commands[] | select(.name == \$n) | .$3 // empty" "$1/job.json"
}

# --- crash missing: the report from the first look, and exit 1 -----------------------------
run --case 00100001 --set crash.binary=/nonexistent/crash "$dump"
is "$?" 1 "crash missing: exit 1 (incomplete)"
d=$(newest 00100001)
is "$(job_field "$d" .state)" incomplete "crash missing: the job is incomplete"
grep -q "cannot run crash '/nonexistent/crash': no such program" "$TMP/err" && grep -q "incomplete" "$TMP/err"
ok $? "crash missing: the error names the binary and the reason"
is "$(job_field "$d" '.stages.crash.state')" failed "crash missing: the crash stage failed"
is "$(job_field "$d" '.stages.report.state')" done "crash missing: the report was still written"
grep -qF "$panic" "$d/comment.txt" && grep -qF "$panic" "$d/report.html"
ok $? "crash missing: the report and comment carry the first look's panic line"
grep -q "cannot run crash" "$d/comment.txt"
ok $? "crash missing: the comment says why crash's part is missing"

# --- a command that never returns -----------------------------------------------------------
printf 'first   sys\nstuck   [timeout=2] hang\nafter   bt\nint     [timeout=2] hang-int\nlast    log\n' >"$TMP/set-hang"
start=$SECONDS
run --case 00100002 --set "crash.binary=$standin" --set "crash.commands=$TMP/set-hang" "$dump"
rc=$?
took=$((SECONDS - start))
d=$(newest 00100002)
is "$rc" 0 "hang: the job succeeds (the other commands answered)"
is "$(cmd_field "$d" stuck status)" timeout "hang: the stuck command timed out"
grep -q "crash was killed" <<<"$(cmd_field "$d" stuck reason)"
ok $? "hang: a command deaf to SIGINT gets crash killed ($(cmd_field "$d" stuck reason))"
is "$(cmd_field "$d" after status)" ok "hang: the next command ran in a new crash"
is "$(cmd_field "$d" int status)" timeout "hang: an interruptible command timed out too"
grep -q "interrupted" <<<"$(cmd_field "$d" int reason)"
ok $? "hang: … and was interrupted, crash kept ($(cmd_field "$d" int reason))"
is "$(cmd_field "$d" last status)" ok "hang: the last command ran"
is "$(job_field "$d" .crash.restarts)" 1 "hang: crash was restarted once"
pgrep -f "$marker-sleeper" >/dev/null
ok $((!$?)) "hang: the stuck command's process tree is gone"
[ "$took" -lt 60 ]
ok $? "hang: the job took $took s, not the command's forever"
grep -q "^==== \[02\] hang  (stuck)  timeout" "$d/hotkdump.out" && grep -q "^output of: bt" "$d/crash/03-after.txt"
ok $? "hang: hotkdump.out heads each command with its status; outputs are in crash/NN-name.txt"
grep -q "crash command 'hang' timed out" "$d/comment.txt"
ok $? "hang: the comment lists the command that timed out"

# --- the stage's own limit ------------------------------------------------------------------
printf 'a sys\nb hang-int\nc bt\nd log\n' >"$TMP/set-slow"
start=$SECONDS
run --case 00100003 --set "crash.binary=$standin" --set "crash.commands=$TMP/set-slow" --set crash.timeout=3 "$dump"
rc=$?
d=$(newest 00100003)
is "$rc" 0 "crash.timeout: the job still succeeds with what it got"
is "$(cmd_field "$d" b status)" timeout "crash.timeout: the running command is stopped"
grep -q "crash.timeout" <<<"$(cmd_field "$d" b reason)"
ok $? "crash.timeout: … and the reason names the limit"
is "$(cmd_field "$d" c status):$(cmd_field "$d" d status)" skipped:skipped "crash.timeout: the rest are skipped"
[ $((SECONDS - start)) -lt 60 ]
ok $? "crash.timeout: the stage ended at its limit"

# --- the real crash: a command that runs until interrupted ---------------------------------------
# 'repeat -1 sys' runs sys every second until crash gets SIGINT
printf 'sys sys\nloop [timeout=3] repeat -1 sys\nbt bt\n' >"$TMP/set-loop"
run --case 00100007 --set "crash.binary=$CRASH" --set "crash.commands=$TMP/set-loop" "$dump"
is "$?" 0 "real crash, endless command: the job succeeds"
d=$(newest 00100007)
is "$(cmd_field "$d" loop status):$(cmd_field "$d" loop reason)" "timeout:timed out; interrupted" \
	"real crash, endless command: interrupted at its timeout"
is "$(job_field "$d" .crash.restarts)" 0 "real crash, endless command: crash kept running (no restart)"
grep -q "sysrq_handle_crash" "$d/crash/03-bt.txt"
ok $? "real crash, endless command: the next command answered correctly"
grep -q "PANIC:" "$d/crash/02-loop.txt"
ok $? "real crash, endless command: what it printed before the interrupt is kept"

# --- crash killed in the middle of a command (the real crash) --------------------------------
printf 'sys sys\nslow [timeout=600] repeat -1 sys\nbt bt\n' >"$TMP/set-kill"
timeout 900 "$HOTKDUMP" analyze --root "$ROOT" --debug-file "$vmlinux" --set symbols.sources=cache --case 00100004 --set "crash.binary=$CRASH" \
	--set "crash.commands=$TMP/set-kill" "$dump" >"$TMP/out" 2>"$TMP/err" &
pid=$!
killed=
for _ in $(seq 1500); do
	d=$(ls -d "$ROOT/cases/00100004"/* 2>/dev/null | head -n 1)
	if [ -n "$d" ] && grep -q "crash> repeat" "$d/hotkdump.log" 2>/dev/null; then
		sleep 1.5
		pkill -9 -f "^$CRASH -s --no_crashrc .*$ROOT/cases/00100004" && killed=1
		break
	fi
	sleep 0.2
done
wait "$pid"
rc=$?
is "$killed" 1 "killed: crash was killed during the endless command"
is "$rc" 0 "killed: the job still succeeds"
is "$(cmd_field "$d" slow status)" died "killed: the command it was running is marked died"
grep -q "status 137" <<<"$(cmd_field "$d" slow reason)"
ok $? "killed: … with crash's exit status ($(cmd_field "$d" slow reason))"
grep -q "PANIC:" "$d/crash/02-slow.txt"
ok $? "killed: what the command printed before the kill is kept"
is "$(cmd_field "$d" bt status)" ok "killed: the next command ran in a new crash"
grep -q "sysrq_handle_crash" "$d/crash/03-bt.txt"
ok $? "killed: … and its answer is right"
is "$(job_field "$d" .crash.restarts)" 1 "killed: one restart"

# --- pykdump configured but not loadable: its commands are skipped with the reason -------------
printf 'sys sys\ncrashinfo [needs=pykdump] crashinfo\n' >"$TMP/set-pyk"
run --case 00100008 --set "crash.binary=$CRASH" --set "crash.commands=$TMP/set-pyk" \
	--set crash.pykdump=/nonexistent/mpykdump.so "$dump"
is "$?" 0 "pykdump missing: the job succeeds"
d=$(newest 00100008)
is "$(cmd_field "$d" crashinfo status)" skipped "pykdump missing: its command is skipped"
grep -q "could not be loaded" <<<"$(cmd_field "$d" crashinfo reason)" && grep -q "mpykdump.so" "$d/crash/00-extend.txt"
ok $? "pykdump missing: … because extend failed, whose answer is kept"

# --- Debian 12's own crash, too old for its 6.1 kernel: said plainly, with its version ------------
old=$(command -v crash || true)
if [ -n "$old" ] && "$old" --version | grep -q "crash 8\.0\.[0-3]\b"; then
	printf 'sys sys\nps ps\n' >"$TMP/set-old"
	run --case 00100009 --set "crash.binary=$old" --set "crash.commands=$TMP/set-old" "$dump"
	is "$?" 1 "old crash: the command exits 1 (incomplete), not 0"
	d=$(newest 00100009)
	v=$(job_field "$d" .crash.version)
	is "$(job_field "$d" .state)" incomplete "old crash: the job is incomplete, never a green done"
	grep -q "crash $v is too old for kernel $(jq -r .kernel_release "$MANIFEST"): it reported \".*not found in PID hash" <<<"$(job_field "$d" .error)"
	ok $? "old crash: the job's error names crash $v, the kernel and what crash said"
	is "$(grep -c "too old for kernel\|does not fully understand" "$d/comment.txt")" 1 "old crash: the comment says it once"
	grep -q "not found in PID hash" <<<"$(job_field "$d" '.crash.too_old.lines')"
	ok $? "old crash: the signs are recorded (too_old)"
	grep -q "crash $v does not fully understand kernel $(jq -r .kernel_release "$MANIFEST")" "$d/comment.txt" &&
		grep -q "crash $v does not fully understand kernel" "$d/report.html"
	ok $? "old crash: the comment and the report say so, naming crash $v"

	# Several builds configured, the too-old one first: it is passed over for the next, before
	# any fallback mode, and the report names both.
	vnew=$("$CRASH" --version | sed -n 's/^crash \([^ ]*\).*$/\1/p' | head -n 1)
	run --case 00100010 --set "crash.binary=$old $CRASH" --set "crash.commands=$TMP/set-old" "$dump"
	is "$?" 0 "two builds: the job finishes"
	d=$(newest 00100010)
	is "$(job_field "$d" .crash.version)" "$vnew" "two builds: crash $vnew, which understands the kernel, answered"
	is "$(job_field "$d" '.crash.too_old_builds | join(",")')" "$v" "two builds: crash $v is named as too old"
	is "$(jq -r '[.crash.attempts[] | "\(.version) \(.mode): \(.result)"] | join("; ")' "$d/job.json")" \
		"$v normal: opened, too old for the kernel; $vnew normal: opened" "two builds: tried in order, both as is"
	jq -e '.crash.too_old == null' "$d/job.json" >/dev/null && ! grep -q "does not fully understand" "$d/comment.txt"
	ok $? "two builds: no 'read with care' about crash's version"
	grep -q "^crash $vnew: .* commands (crash $v was too old for this kernel)$" "$d/comment.txt" &&
		grep -q "$vnew</code> (crash $v was too old for this kernel)" "$d/report.html"
	ok $? "two builds: the comment and the report name the crash that answered and the one passed over"
	# a folder of builds, as scripts/build-crash lays them out: the newest version in it first
	mkdir -p "$TMP/builds/$v/bin" "$TMP/builds/$vnew/bin"
	ln -s "$old" "$TMP/builds/$v/bin/crash"
	ln -s "$CRASH" "$TMP/builds/$vnew/bin/crash"
	ln -s "$v" "$TMP/builds/current"
	run --case 00100011 --set "crash.binary=$TMP/builds" --set "crash.commands=$TMP/set-old" "$dump"
	is "$?" 0 "a folder of builds: the job finishes"
	d=$(newest 00100011)
	is "$(job_field "$d" .crash.binary)" "$TMP/builds/$vnew/bin/crash" "a folder of builds: the newest is used"
	is "$(job_field "$d" '.crash.builds | length')" 2 "a folder of builds: both builds, the link not twice"
else
	for i in 1 2 3 4 5 6 7 8 9 10 11; do skip "old crash: no crash 8.0.0-8.0.3 on this machine"; done
fi
run --case 00100012 --set "crash.binary=$TMP/no-such-crash $CRASH" --set "crash.commands=$TMP/set-pyk" "$dump"
is "$?" 0 "a build that is not there: the next one is used"
grep -q "cannot run crash '$TMP/no-such-crash': no such program" "$(newest 00100012)/hotkdump.log"
ok $? "a build that is not there: the job log says so"

# --- a broken command set: the job says where --------------------------------------------------
printf 'ok sys\nbad ps | grep UN\n' >"$TMP/set-bad"
run --case 00100005 --set "crash.binary=$CRASH" --set "crash.commands=$TMP/set-bad" "$dump"
is "$?" 1 "bad command set: exit 1"
grep -q "$TMP/set-bad:2: 'ps | grep UN': no pipes" "$TMP/err"
ok $? "bad command set: the file, line and reason are named"

# --- a dump crash cannot open ------------------------------------------------------------------
# The dump's header is whole (identify takes it), but every page of its kernel text and data
# is damaged: crash gives up in every mode, and each attempt is recorded.
bad=$TMP/bad.kdump
cp "$dump" "$bad"
size=$(stat -c %s "$bad")
dd if=/dev/urandom of="$bad" bs=1M seek=1 count=$(((size >> 20) - 2)) conv=notrunc status=none
run --case 00100006 --set "crash.binary=$CRASH" --set crash.open_timeout=300 "$bad"
rc=$?
d=$(newest 00100006)
is "$rc" 1 "unopenable: exit 1 (incomplete)"
is "$(jq -r '[.crash.attempts[].mode] | join(" ")' "$d/job.json")" "normal zero_excluded minimal" \
	"unopenable: tried as is, --zero_excluded, then --minimal"
grep -q "could not open the dump" "$TMP/err"
ok $? "unopenable: the error says crash could not open the dump"
[ -s "$d/report.html" ] && grep -q "could not open the dump" "$d/comment.txt"
ok $? "unopenable: the report says so"

done_testing
