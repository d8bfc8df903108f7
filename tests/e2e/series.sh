#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The other kernel series the archive ships, end to end: for each suite in
# HOTKDUMP_TEST_SUITES (default: trixie's 6.12 and unstable's 7.x), on dumps made by crashing
# that suite's newest cloud kernel in QEMU (tests/fixtures/make-fixtures with
# HOTKDUMP_FIXTURE_SUITE): hotkdump info gives the format, release, build-id and utsname
# version; the first look gives the panic line and names the cause; a full analyze with the
# symbols streamed from a loopback mirror laid out as the Debian pool (holding that suite's
# real -dbg package) finishes done, crash's sys counts the tasks the guest had, bt shows the
# crashing function, the blocked and memory tables are right, the storage view reads the
# guest's disk, and no warning says crash is
# too old for the kernel. On the newest series, with only an older crash configured, the
# report says crash is too old, and still names the cause from the first look.
. "$(dirname "$0")/lib.sh"

suites=${HOTKDUMP_TEST_SUITES-trixie sid}
[ -n "$suites" ] || { skip "no other suite asked for (HOTKDUMP_TEST_SUITES is empty)"; done_testing; exit 0; }
load_crash
# every crash build scripts/build-crash made, newest first
builds=${HOTKDUMP_CRASH_CACHE:-/var/cache/hotkdump/crash}
trap 'stop_nginx; rm -rf "$TMP"' EXIT

cat >"$TMP/commands" <<'EOF'
sys         sys
bt          bt
ps          ps
kmem-i      kmem -i
blocked     %blocked 3
top-memory  %top-memory 5
EOF

# cause  rule id of the headline
table="sysrq sysrq-crash
oom oom-panic
bug kernel-bug
nullderef null-pointer-dereference
hungtask hung-task
softlockup soft-lockup"

n=0
newest_series=
for suite in $suites; do
	dir=$(HOTKDUMP_FIXTURE_SUITE=$suite "$TOP_SRCDIR/tests/fixtures/make-fixtures" 2>"$TMP/mf-$suite.log" | tail -n 1)
	if [ ! -f "$dir/manifest.json" ]; then
		sed 's/^/# /' "$TMP/mf-$suite.log" | tail -n 20
		ok 1 "$suite: the fixture dumps are there"
		continue
	fi
	m=$dir/manifest.json
	rel=$(jq -r .kernel_release "$m")
	bid=$(jq -r .build_id "$m")
	of() { # of CAUSE KEY: the manifest's value for the cause's kdump-compressed dump
		jq -r --arg c "$1" --arg k "$2" \
			'[.fixtures[] | select(.cause == $c and .format == "kdump-compressed")][0] | getpath($k | split(".")) // empty' "$m"
	}
	newest_series=$suite

	# --- identity and the first look, on every cause ------------------------------------------
	while read -r cause id; do
		file=$(of "$cause" file)
		[ -n "$file" ] || { ok 1 "$suite $rel: a $cause dump"; continue; }
		dump=$dir/$file
		"$HOTKDUMP" info --json "$dump" >"$TMP/info" 2>"$TMP/info.err"
		is "$?" 0 "$suite $rel $cause: info reads the dump"
		is "$(jq -r '"\(.[0].format) \(.[0].release) \(.[0].build_id)"' "$TMP/info")" "kdump-compressed $rel $bid" \
			"$suite $cause: info gives the format, release and build-id"
		is "$(jq -r '.[0].version' "$TMP/info")" "$(of "$cause" utsname_version)" "$suite $cause: info gives the utsname version"
		n=$((n + 1))
		c=$(printf '0040%04d' "$n")
		analyze --case "$c" "$dump"
		ok $? "$suite $cause: the first look runs"
		d=$(ls -d "$ROOT/cases/$c"/* | head -n 1)
		want=$(of "$cause" expect.panic_line)
		[ -z "$want" ] && want=$(of "$cause" expect.report_line)
		is "$(job_field "$d" .first_look.panic_line)" "$want" "$suite $cause: the first look's panic line is the guest's"
		is "$(jq -r '[.findings[] | select(.kind == "cause")][0].id // "none"' "$d/job.json")" "$id" \
			"$suite $cause: the first look names the cause"
	done <<<"$table"

	# --- the whole pipeline, symbols from the suite's real -dbg package on loopback -----------
	deb=$(HOTKDUMP_FIXTURE_SUITE=$suite "$TOP_SRCDIR/tests/fixtures/debug-package" 2>"$TMP/dp.log")
	if [ ! -f "$deb" ]; then
		sed 's/^/# /' "$TMP/dp.log"
		ok 1 "$suite: the -dbg package of $rel"
		continue
	fi
	stop_nginx
	www=$TMP/www-$suite
	mkdir -p "$www/debian/pool/main/l/linux"
	ln -s "$deb" "$www/debian/pool/main/l/linux/$(basename "$deb")"
	start_nginx "$www"
	full() { # full CASE CAUSE [ARGS…]: analyze with the mirror and every crash build
		local c=$1 cause=$2
		shift 2
		timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" --case "$c" --set symbols.sources="cache debian" \
			--set "symbols.debian_mirrors=http://127.0.0.1:$HTTP_PORT/debian" --set "crash.binary=$builds" \
			--set "crash.commands=$TMP/commands" "$@" "$dir/$(of "$cause" file)" >"$TMP/out" 2>"$TMP/err"
	}
	for cause in sysrq hungtask oom; do
		n=$((n + 1))
		c=$(printf '0040%04d' "$n")
		full "$c" "$cause"
		ok $? "$suite $cause: the whole analysis runs"
		d=$(ls -d "$ROOT/cases/$c"/* | head -n 1)
		is "$(job_field "$d" .state)" done "$suite $cause: the job is done"
		[ "$cause" = sysrq ] && {
			grep -q "^source:  debian http://127.0.0.1:$HTTP_PORT/debian/pool/main/l/linux/" <(job_field "$d" .symbols.source | sed 's/^/source:  /')
			ok $? "$suite: the symbols came from the loopback pool ($(job_field "$d" .symbols.source))"
		}
		jq -e '.crash.too_old == null' "$d/job.json" >/dev/null && ! grep -q "does not fully understand" "$d/comment.txt"
		ok $? "$suite $cause: no warning that crash $(job_field "$d" .crash.version) is too old for $rel"
		is "$(job_field "$d" .crash.mode)" normal "$suite $cause: crash opened the dump as is"
		case $cause in
		sysrq)
			tasks=$(of sysrq expect.tasks)
			cpus=$(of sysrq cpus)
			got=$(sed -n 's/^ *TASKS: *\([0-9]*\).*/\1/p' "$d/crash/"*-sys.txt)
			is "$got" "$((tasks + cpus))" "$suite sysrq: crash's sys counts the guest's $tasks tasks and $cpus idle ones"
			grep -q " sysrq_handle_crash at " "$d/crash/"*-bt.txt
			ok $? "$suite sysrq: bt shows the crashing function sysrq_handle_crash"
			if command -v drgn >/dev/null; then
				jq -r '.storage.view.errors[]?, .storage.unavailable // empty' "$d/job.json" | sed "s/^/# $suite storage: /"
				is "$(jq -r '[(.storage.view.errors | length), (.storage.view.block.disks | map(.name) | join(",")), .storage.view.hz] | map(tostring) | join(" ")' "$d/job.json")" \
					"0 vda 250" "$suite sysrq: the storage view reads every part: the guest's disk vda, HZ 250"
			fi
			;;
		hungtask)
			pid=$(of hungtask expect.pid)
			is "$(jq -r --argjson p "$pid" '[.crash.blocked[] | select(.pid == $p)][0].comm // "none"' "$d/job.json")" \
				"$(of hungtask expect.task)" "$suite hungtask: the blocked table has the guest's blocked task (PID $pid)"
			;;
		oom)
			is "$(jq -r '.crash.top_memory[0].comm // "none"' "$d/job.json")" dd "$suite oom: the largest memory user is dd"
			;;
		esac
	done
done

# --- the newest series with only an older crash: the version problem said, the cause kept ------
if [ -n "$newest_series" ] && [ "$(jq -r .kernel_release "$dir/manifest.json" | cut -d. -f1)" -ge 7 ]; then
	n=$((n + 1))
	c=$(printf '0040%04d' "$n")
	full "$c" sysrq --set "crash.binary=$CRASH"
	d=$(ls -d "$ROOT/cases/$c"/* | head -n 1)
	v=$(job_field "$d" .crash.version)
	grep -q "crash $v does not fully understand kernel $rel" "$d/comment.txt"
	ok $? "$newest_series with crash $v only: the comment says crash is too old for $rel"
	is "$(job_field "$d" .state)" incomplete "$newest_series with crash $v only: the job is incomplete, not done"
	grep -q "^Cause:   Crash triggered on purpose through sysrq-c" "$d/comment.txt"
	ok $? "$newest_series with crash $v only: the cause from the first look is still named"
	n=$((n + 1))
	c=$(printf '0040%04d' "$n")
	full "$c" sysrq
	d=$(ls -d "$ROOT/cases/$c"/* | head -n 1)
	older=$(job_field "$d" '.crash.too_old_builds // [] | join(",")')
	[ "$(job_field "$d" .crash.version)" != "$v" ] && grep -q "^crash $(job_field "$d" .crash.version): .* commands" "$d/comment.txt"
	ok $? "$newest_series with every build: crash $(job_field "$d" .crash.version) answered, and the comment names it${older:+ (passed over: $older)}"
fi
stop_nginx
done_testing
