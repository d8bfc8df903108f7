#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Triage on real dumps: for every crash cause the fixture generator makes (sysrq, OOM panic and
# the lkdtm ones: BUG, NULL dereference, soft lockup, hung task, panic_on_warn, panic from a
# module, stack overflow, a write to read-only data or to kernel text, an RCU stall, list_add
# and list_del corruption, a double free seen by slub_debug and by the hardened free list, a
# jump into data and rodata; and init killed by a signal), the headline names the cause with
# the right function, culprit and task, after the first look where the log allows it and
# after crash always. Then broken rule files (each named with its rule, the others still
# load), a new site rule file that changes the next report, and a log uploaded with the dump.
. "$(dirname "$0")/lib.sh"

load_fixtures
load_crash
vmlinux=$(jq -r .vmlinux "$MANIFEST")
SITE=$TMP/site-rules
mkdir -p "$SITE"

# A short command set: what the rules read after crash (sys, bt, the blocked tasks and the
# largest memory users), not the whole default set.
cat >"$TMP/commands" <<'EOF'
sys         sys
bt          bt
kmem-i      kmem -i
ps          ps
blocked     %blocked 3
top-memory  %top-memory 5
mod-taint   mod -t
EOF

# run CASE ARGS…: the pipeline with the fixture's vmlinux as symbols and the site rules folder
run() {
	local c=$1
	shift
	timeout 900 "$HOTKDUMP" analyze --root "$ROOT" --case "$c" --debug-file "$vmlinux" --set symbols.sources=cache \
		--set "crash.binary=$CRASH" --set "crash.commands=$TMP/commands" --set "triage.rules_dir=$SITE" "$@" \
		>"$TMP/out" 2>"$TMP/err"
}
newest() {
	ls -d "$ROOT/cases/$1"/* | sort -t/ -k"$(($(echo "$ROOT/cases/$1/" | tr -cd / | wc -c) + 1))" -n | tail -n 1
}
expect() { # expect CAUSE FIELD: what the crashed guest's console showed, from the manifest
	jq -r --arg c "$1" --arg f "$2" '[.fixtures[] | select(.cause == $c)][0].expect[$f] // empty' "$MANIFEST"
}
headline() { # headline DIR: id and summary of the headline finding
	jq -r '(.findings // [] | map(select(.kind == "cause")) | .[0]) | "\(.id // "none")\t\(.summary // "")"' "$1/job.json"
}
contains() { # contains TEXT PART DESCRIPTION
	case $1 in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; printf '#   %s\n#   does not contain: %s\n' "$1" "$2" ;;
	esac
}

# cause  rule id  what the first look can already tell (function / task / culprit / none)
table="sysrq sysrq-crash task
oom oom-panic task
bug kernel-bug function
nullderef null-pointer-dereference function
softlockup soft-lockup function
hungtask hung-task task
warn warning-panic function
panic panic-from-module function
stackoverflow stack-overflow function
pagefault write-to-readonly function
rcustall rcu-stall function
listadd list-corruption culprit
listdel list-corruption culprit
slabdouble slab-corruption task
slabfree slab-freelist-bug function
execdata nx-execution culprit
execrodata nx-execution culprit
writekern write-to-readonly function
initkill init-killed culprit"

n=1
while read -r cause id early; do
	dump=$(fixture_of "$cause" kdump-compressed)
	if [ ! -f "$dump" ]; then
		ok 1 "$cause: the fixture set has a kdump dump of this cause"
		continue
	fi
	fn=$(expect "$cause" function)
	fn=${fn%%.*}
	task=$(expect "$cause" task)
	culprit=$(expect "$cause" culprit)
	[ "$early" != culprit ] || [ -n "$culprit" ] || ok 1 "$cause: the manifest names the culprit (expect.culprit)"
	[ -n "$fn$task" ] || ok 1 "$cause: the manifest says what the console showed (expect.function, expect.task)"

	# first look: the log alone
	c=$(printf '0020%04d' "$n")
	n=$((n + 1))
	run "$c" --stop-after first-look "$dump"
	ok $? "$cause: first look runs"
	dir=$(newest "$c")
	IFS=$'\t' read -r got summary < <(headline "$dir")
	is "$got" "$id" "$cause: first look names the cause ($summary)"
	case $early in
	function) contains "$summary" "$fn" "$cause: first look names the function $fn" ;;
	task) contains "$summary" "$task" "$cause: first look names the task $task" ;;
	culprit) contains "$summary" "$culprit" "$cause: first look names the culprit $culprit" ;;
	esac
	grep -q "^Cause:   " "$dir/comment.txt"
	ok $? "$cause: the early comment has a Cause line"

	# after crash
	c=$(printf '0020%04d' "$n")
	n=$((n + 1))
	run "$c" "$dump"
	ok $? "$cause: the whole pipeline runs"
	dir=$(newest "$c")
	is "$(job_field "$dir" .triage.pass)" crash "$cause: triage ran again after crash"
	IFS=$'\t' read -r got summary < <(headline "$dir")
	is "$got" "$id" "$cause: after crash the headline names the cause ($summary)"
	if [ "$early" = function ]; then
		contains "$summary" "$fn" "$cause: after crash the headline names the function $fn"
	fi
	if [ "$early" = culprit ]; then
		contains "$summary" "$culprit" "$cause: after crash the headline names the culprit $culprit"
	fi
	case $cause in
	sysrq | hungtask | nullderef | bug | stackoverflow | pagefault | listadd | listdel | slabdouble | slabfree | execdata | \
		execrodata | writekern | initkill) contains "$summary" "$task" "$cause: after crash the headline names the task $task" ;;
	oom) contains "$summary" "$(jq -r '.crash.top_memory[0].comm' "$dir/job.json")" \
		"oom: the headline names crash's largest memory user" ;;
	softlockup) contains "$summary" "CPU $(expect softlockup cpu)" "softlockup: the headline names the CPU" ;;
	esac
	is "$(jq -r .headline.cause "$dir/summary.json")" "$summary" "$cause: summary.json carries the cause"
	contains "$(sed -n 's/^Cause:   //p' "$dir/comment.txt")" "$summary" "$cause: the comment carries the cause"
	jq -e '.findings[0].evidence | length > 0' "$dir/job.json" >/dev/null
	ok $? "$cause: the headline finding has evidence lines"
	grep -q 'id=findings' "$dir/report.html"
	ok $? "$cause: report.html has the findings section"
	case $cause in
	slabfree)
		contains "$(jq -r '.findings[] | select(.id == "subsystem-bug") | .summary' "$dir/job.json")" \
			"Kernel BUG() in memory management at mm/slub.c:" "slabfree: the BUG is also named as memory management's"
		;;&
	pagefault | writekern)
		contains "$summary" "(write to a present page that forbids it, kernel mode)" \
			"$cause: the page fault's error code is decoded"
		;;&
	execdata | execrodata)
		contains "$summary" "instruction fetch from a present page that forbids it, kernel mode" \
			"$cause: the page fault's error code is decoded"
		;;&
	initkill)
		contains "$summary" "killed by signal 11 (SIGSEGV)" "initkill: the exit code is decoded into its signal"
		jq -e '[.findings[] | select(.id == "tainted-kernel")] | length == 0' "$dir/job.json" >/dev/null
		ok $? "initkill: an untainted kernel has no taint note"
		;;
	sysrq | oom)
		jq -e '[.findings[] | select(.id == "tainted-kernel")] | length == 0' "$dir/job.json" >/dev/null
		ok $? "$cause: an untainted kernel has no taint note (crash's mod -t says none)"
		;;
	*)
		jq -e '[.findings[].id] | index("lkdtm-crash") and index("tainted-kernel")' "$dir/job.json" >/dev/null
		ok $? "$cause: also found: the lkdtm note and the taint (unsigned out-of-tree module)"
		contains "$(jq -r '.findings[] | select(.id == "tainted-kernel") | .summary' "$dir/job.json")" "lkdtm(" \
			"$cause: the taint note names the lkdtm module"
		;;
	esac
done <<<"$table"

# ---- broken rule files: each problem named with its file and rule; the rest still load --------
dump=$(fixture_of panic kdump-compressed)
cat >"$SITE/20-syntax.json" <<'EOF'
{ "rules": [ { "id": "syntax", "when": { "source": "log", "match": "x" } "summary": "x" } ] }
EOF
cat >"$SITE/30-mixed.json" <<'EOF'
{ "rules": [
  { "id": "bad-regex", "when": { "source": "log", "match": "dumptest(" }, "summary": "x" },
  { "id": "bad-source", "when": { "source": "kernel-log", "match": "dumptest" }, "summary": "x" },
  { "id": "still-good", "kind": "note", "when": { "source": "log", "match": "Performing direct entry (?<what>PANIC)" },
    "summary": "site note saw {what}" }
] }
EOF
"$HOTKDUMP" rules --set "triage.rules_dir=$SITE" >"$TMP/rules.out" 2>"$TMP/rules.err"
is "$?" 1 "hotkdump rules exits 1 when a rule file has problems"
grep -q "20-syntax.json: not valid JSON at line 1, column 74" "$TMP/rules.err"
ok $? "syntax error: file, line and column ($(grep -m1 syntax "$TMP/rules.err"))"
grep -q "30-mixed.json: rule 'bad-regex': when.match: bad regular expression at offset 9" "$TMP/rules.err"
ok $? "bad regular expression: file and rule"
grep -q "30-mixed.json: rule 'bad-source': when: unknown source 'kernel-log'" "$TMP/rules.err"
ok $? "unknown source: file and rule"
grep -q '^still-good ' "$TMP/rules.out" && grep -q '^kernel-bug ' "$TMP/rules.out"
ok $? "the good site rule and the shipped rules still load"
"$HOTKDUMP" rules --check "$SITE/30-mixed.json" >/dev/null 2>"$TMP/check.err"
is "$?" 1 "rules --check on a broken file exits 1"
grep -q "rule 'bad-regex'" "$TMP/check.err" && ! grep -q 20-syntax "$TMP/check.err"
ok $? "rules --check reads only the files named"

c=00300001
run "$c" --stop-after first-look "$dump"
ok $? "a job runs with broken site rules"
dir=$(newest "$c")
is "$(jq -r '.triage.errors | length' "$dir/job.json")" 3 "job.json lists the three problems"
IFS=$'\t' read -r got summary < <(headline "$dir")
is "$got" panic-from-module "the shipped rules still name the cause"
jq -e '.findings[] | select(.id == "still-good" and .summary == "site note saw PANIC")' "$dir/job.json" >/dev/null
ok $? "the good rule in the broken file still runs"
grep -q "rule &#39;bad-regex&#39;" "$dir/report.html"
ok $? "report.html shows the rule problems"
grep -q "triage rules: .*20-syntax.json" "$dir/hotkdump.log"
ok $? "the job log names the broken file"
rm -f "$SITE"/*.json

# ---- a new rule file changes the next report, no rebuild --------------------------------------
c=00300002
run "$c" --stop-after first-look "$dump"
dir=$(newest "$c")
IFS=$'\t' read -r before _ < <(headline "$dir")
is "$before" panic-from-module "before: the shipped rule names the cause"
cat >"$SITE/80-dumptest.json" <<'EOF'
{
  "id": "lkdtm-dumptest-panic",
  "severity": "info",
  "priority": 950,
  "when": {
    "all": [
      { "source": "panic", "match": "not syncing: (?<msg>dumptest)$" },
      { "source": "log", "match": "lkdtm: Performing direct entry (?<entry>\\w+)" }
    ]
  },
  "summary": "Test panic '{msg}' from lkdtm {entry}, in {function}",
  "recommendation": "Nothing to fix: the kdump test of case {release}.",
  "links": [ { "title": "LKDTM", "url": "https://docs.kernel.org/fault-injection/provoke-crashes.html" } ]
}
EOF
"$HOTKDUMP" rules --check "$SITE/80-dumptest.json" >/dev/null 2>&1
ok $? "the new rule file checks clean"
run "$c" --stop-after first-look "$dump"
dir=$(newest "$c")
IFS=$'\t' read -r after summary < <(headline "$dir")
is "$after" lkdtm-dumptest-panic "after: the new rule is the headline"
is "$summary" "Test panic 'dumptest' from lkdtm PANIC, in $(expect panic function)" "its summary is built from captures and facts"
grep -q "^See:     LKDTM <https://docs.kernel.org/fault-injection/provoke-crashes.html>" "$dir/comment.txt"
ok $? "the comment carries the rule's link"
grep -q "panic() called in" "$dir/comment.txt"
ok $? "the shipped finding it outranked is listed under Also found"
rm -f "$SITE"/*.json

# ---- the README's worked example is a rule that loads --------------------------------------------
sed -n '/^## Writing a triage rule/,/^## Configuration/p' "$TOP_SRCDIR/README.md" | sed -n '/^```json$/,/^```$/p' | sed '1d;$d' \
	>"$TMP/example.json"
"$HOTKDUMP" rules --check "$TMP/example.json" >"$TMP/example.out" 2>&1
ok $? "the README's worked example checks clean"
grep -q '^site-nfs-hang ' "$TMP/example.out"
ok $? "and loads as rule site-nfs-hang"

cat >"$TMP/nfs.log" <<'EOF'
[  200.000000] nfs: server filer1 not responding, still trying
[  300.000000] INFO: task cp:4242 blocked for more than 120 seconds.
[  300.000100]       Not tainted 6.1.0-56-amd64 #1
[  300.000200] task:cp              state:D stack:0     pid:4242  ppid:1000   flags:0x00004000
[  300.000300] Call Trace:
[  300.000400]  <TASK>
[  300.000500]  __schedule+0x34d/0xa00
[  300.000600]  schedule+0x5a/0xd0
[  300.000700]  rpc_wait_bit_killable+0x1e/0x90 [sunrpc]
[  300.000800]  nfs_wait_on_request+0x2d/0x40 [nfs]
[  300.001000] Kernel panic - not syncing: hung_task: blocked tasks
EOF
cp "$TMP/example.json" "$SITE/50-site-nfs.json"
"$HOTKDUMP" rules --test "$TMP/nfs.log" --set "triage.rules_dir=$SITE" >"$TMP/nfs.out" 2>&1
grep -q '^headline: site-nfs-hang \[cause, high\] cp hung 120 s in NFS (rpc_wait_bit_killable); server filer1 stopped answering$' \
	"$TMP/nfs.out"
ok $? "the worked example headlines a hung task in NFS, naming the server ($(head -n 1 "$TMP/nfs.out"))"
rm -f "$SITE"/*.json

# ---- the log uploaded with a dump makedumpfile cannot read -------------------------------------
# QEMU's dumps have no log makedumpfile can read; the customer's dmesg came with it.
mkdir -p "$TMP/up"
cp "$FIXTURES/qemu/qemu.elf" "$TMP/up/vmcore"
tr -d '\r' <"$FIXTURES/qemu/console.log" | grep '^\[' >"$TMP/up/dmesg.txt"
tar -C "$TMP/up" -czf "$TMP/up.tar.gz" vmcore dmesg.txt
c=00300004
run "$c" --stop-after first-look "$TMP/up.tar.gz"
ok $? "a QEMU dump with an uploaded dmesg runs"
dir=$(newest "$c")
contains "$(job_field "$dir" .first_look.log_source)" "(uploaded)" "the first look read the uploaded log"
IFS=$'\t' read -r got _ < <(headline "$dir")
is "$got" sysrq-crash "the rules read the uploaded log too"

# ---- a dump no rule recognises ----------------------------------------------------------------
cat >"$SITE/10-deliberate.json" <<'EOF'
{ "rules": [] }
EOF
c=00300003
run "$c" --stop-after first-look "$(fixture_of sysrq kdump-compressed)"
dir=$(newest "$c")
is "$(jq -r .headline.cause "$dir/summary.json")" "Cause not recognised" "with its rule replaced, sysrq is not recognised"
grep -q "^Cause:   not recognised" "$dir/comment.txt" && grep -q "^Panic:   $(panic_of sysrq)" "$dir/comment.txt"
ok $? "the comment says so and shows the panic line"
grep -q "<h1>Cause not recognised</h1>" "$dir/report.html"
ok $? "report.html says so"
rm -f "$SITE"/*.json

done_testing
