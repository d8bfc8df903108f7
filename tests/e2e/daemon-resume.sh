#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdumpd never loses a job and never runs one twice: kill -9 in the middle of a download, of
# an unpack and of crash, then a restart, and every job finishes, in its one case folder,
# without a second download; SIGTERM stops running jobs and the next start finishes them.
# Then 1,000 files arrive in a burst across 50 new case folders of the mirror: 1,000 jobs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"

load_fixtures
load_debug_package
load_crash
trap 'stop_daemon KILL; stop_nginx; rm -rf "$TMP"' EXIT

ROOT=$TMP/root
mkdir -p "$TMP/www/slow" "$TMP/etc" "$TMP/up"
echo "tok-$RANDOM$RANDOM" >"$TMP/etc/token"
TOKEN=$(cat "$TMP/etc/token")
sysrq=$(fixture_of sysrq kdump-compressed)
tar -C "$(dirname "$sysrq")" -czf "$TMP/www/slow/sysrq.tar.gz" "$(basename "$sysrq")" dmesg.txt
cp "$TMP/www/slow/sysrq.tar.gz" "$TMP/www/sysrq.tar.gz"
# an upload that takes seconds to unpack: the dump and 48 MiB that do not compress, in bzip2
head -c 50331648 /dev/urandom >"$TMP/filler.bin"
tar -C "$TMP" -cjf "$TMP/www/big.tar.bz2" -C "$(dirname "$sysrq")" "$(basename "$sysrq")" -C "$TMP" filler.bin
rm "$TMP/filler.bin"
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$DEB" "$sysrq" >"$TMP/symbols.out" 2>&1
ok $? "the symbol cache is seeded from the debug package"
start_nginx "$TMP/www" 0 "location /slow/ { limit_rate 2m; }"
U=http://127.0.0.1:$HTTP_PORT

args=(--set "http.token_file=$TMP/etc/token" --set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands"
	--set "symbols.sources=cache" --set daemon.workers=2 --set "daemon.path_roots=$TMP/up" --set daemon.drain_timeout=3
	--set fetch.backoff=1)
start_daemon "$ROOT" "${args[@]}"

submit() { # submit CASE URL: the new job's id
	api POST /analyze '{"case": "'"$1"'", "url": "'"$2"'"}' | jq -r .id
}
served() { # served PATH STATUS: how many times nginx answered GET PATH with STATUS
	grep -c "\"GET $1 HTTP/1.1\" $2 " "$TMP/nginx/access.log"
}
check_once() { # check_once CASE ID WHAT: one job, one folder, done, every stage done once
	is "$(wait_job "$2" 900)" done "$3: the job finishes after the restart"
	is "$(api GET "/jobs?case=$1" | jq -r .total)" 1 "$3: one job for the case"
	is "$(ls "$ROOT/cases/$1" | tr '\n' ' ')" "1 " "$3: one case folder"
	is "$(jq -r '[.stages[] | .state] | unique | join(",")' "$ROOT/cases/$1/1/job.json")" done "$3: every stage done"
	is "$(grep -c 'stage report: done' "$ROOT/cases/$1/1/hotkdump.log")" 1 "$3: the report was written once"
}

# --- kill -9 during the download -------------------------------------------------------------------
a=$(submit 00345681 "$U/slow/sysrq.tar.gz")
wait_stage "$a" fetch 60
ok $? "fetch: the job is downloading"
part=$ROOT/cases/00345681/1/input/sysrq.tar.gz.part
for _ in $(seq 100); do [ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 2000000 ] && break; sleep 0.1; done
had=$(stat -c %s "$part" 2>/dev/null || echo 0)
api GET "/jobs/$a" | jq -e '.progress.bytes_fetched > 0 and .progress.stages == 8 and .progress.stages_done == 0' >/dev/null
ok $? "fetch: the job's progress shows the bytes downloaded so far"
stop_daemon KILL
echo "# killed with $had bytes downloaded"
start_daemon "$ROOT" "${args[@]}"
check_once 00345681 "$a" "killed in fetch"
is "$(served /slow/sysrq.tar.gz 200)" 1 "killed in fetch: one whole download started"
is "$(served /slow/sysrq.tar.gz 206)" 1 "killed in fetch: the restart resumed it with a range request"
grep -q "resuming '.*' at byte [1-9]" "$ROOT/cases/00345681/1/hotkdump.log"
ok $? "killed in fetch: the log says where it resumed"

# --- kill -9 during the unpack ---------------------------------------------------------------------
b=$(submit 00345682 "$U/big.tar.bz2")
wait_stage "$b" unpack 120
ok $? "unpack: the job is unpacking"
sleep 0.3
stop_daemon KILL
ls "$ROOT/cases/00345682/1/dump" >/dev/null 2>&1
ok $? "unpack: killed with a part unpacked"
start_daemon "$ROOT" "${args[@]}"
check_once 00345682 "$b" "killed in unpack"
is "$(served /big.tar.bz2 200)" 1 "killed in unpack: downloaded once, not again after the restart"
is "$(grep -c 'stage fetch: done before the restart' "$ROOT/cases/00345682/1/hotkdump.log")" 1 \
	"killed in unpack: the restart took the fetched file"
[ ! -e "$ROOT/cases/00345682/1/dump.trash" ]
ok $? "killed in unpack: the half-unpacked folder was removed"

# --- kill -9 during crash --------------------------------------------------------------------------
c=$(submit 00345683 "$U/sysrq.tar.gz")
wait_stage "$c" crash 300
ok $? "crash: the job is running crash"
sleep 3
pgrep -f "$ROOT/cases/00345683/1/vmcore" >/dev/null
ok $? "crash: crash is running"
stop_daemon KILL
is "$(left_running "$ROOT/cases/00345683/1")" 0 "crash: killing the daemon killed its worker's crash too"
start_daemon "$ROOT" "${args[@]}"
check_once 00345683 "$c" "killed in crash"
is "$(served /sysrq.tar.gz 200)" 1 "killed in crash: downloaded once"
is "$(grep -c 'stage unpack: done before the restart' "$ROOT/cases/00345683/1/hotkdump.log")" 1 \
	"killed in crash: not unpacked again"

# --- kill -9 while the second dump of one upload is analysed -----------------------------------------
oom=$(fixture_of oom kdump-compressed)
mkdir -p "$TMP/two/a" "$TMP/two/b"
cp "$sysrq" "$TMP/two/a/dump.1"
cp "$oom" "$TMP/two/b/dump.2"
tar -C "$TMP/two" -czf "$TMP/www/two.tar.gz" a b
t=$(submit 00345688 "$U/two.tar.gz")
for _ in $(seq 600); do
	[ "$(jq -r '.stage // empty' "$ROOT/cases/00345688/2/job.json" 2>/dev/null)" = crash ] && break
	sleep 0.2
done
is "$(jq -r .stage "$ROOT/cases/00345688/2/job.json")" crash "two dumps: the second is in crash"
stop_daemon KILL
start_daemon "$ROOT" "${args[@]}"
is "$(wait_job "$t" 900)" done "two dumps: the job finishes after the restart"
is "$(ls "$ROOT/cases/00345688" | tr '\n' ' ')" "1 2 " "two dumps: two case folders, no third"
is "$(jq -r .state "$ROOT/cases/00345688/1/job.json") $(jq -r .state "$ROOT/cases/00345688/2/job.json")" "done done" \
	"two dumps: both analysed to the end"
is "$(jq -r .headline.cause_id "$ROOT/cases/00345688/2/summary.json")" oom-panic "two dumps: the second dump's report names its own cause"
is "$(grep -c 'stage report: done' "$ROOT/cases/00345688/1/hotkdump.log")" 1 "two dumps: the first was not analysed again"

# --- SIGTERM: running jobs stop, and go on at the next start -----------------------------------------
cp "$sysrq" "$TMP/up/vmcore-00345684"
d=$(api POST /analyze '{"case": "00345684", "path": "'"$TMP/up/vmcore-00345684"'"}' | jq -r .id)
wait_stage "$d" crash 300
ok $? "SIGTERM: the job is running crash"
t0=$SECONDS
stop_daemon TERM
is "$DAEMON_STATUS" 0 "SIGTERM: the daemon exits cleanly"
[ $((SECONDS - t0)) -le 10 ]
ok $? "SIGTERM: it stopped in $((SECONDS - t0)) s (daemon.drain_timeout=3)"
is "$(jq -r .state "$ROOT/queue/$d.json")" queued "SIGTERM: the job is back in the queue"
is "$(left_running "$ROOT/cases/00345684/1")" 0 "SIGTERM: no crash left running"
start_daemon "$ROOT" "${args[@]}"
check_once 00345684 "$d" "stopped by SIGTERM"
stop_daemon TERM

# --- limits: a job past daemon.job_timeout, a worker that keeps dying -------------------------------
start_daemon "$TMP/limits" "${args[@]}" --set daemon.job_timeout=2 --set daemon.max_attempts=2 --set daemon.stop_after=unpack
t=$(submit 00345685 "$U/slow/sysrq.tar.gz")
t0=$SECONDS
is "$(wait_job "$t" 60)" failed "job_timeout: the slow job fails"
is "$(api GET "/jobs/$t" | jq -r .error)" "timed out after 2 s (daemon.job_timeout)" "job_timeout: and says why"
[ $((SECONDS - t0)) -le 8 ]
ok $? "job_timeout: ended after $((SECONDS - t0)) s"
w=$(submit 00345686 "$U/slow/sysrq.tar.gz")
cp "$sysrq" "$TMP/up/vmcore-00345687"
prev=
for attempt in 1 2; do
	for _ in $(seq 100); do
		pid=$(pgrep -P "$DAEMON_PID" | head -n 1)
		[ -n "$pid" ] && [ "$pid" != "$prev" ] && break
		sleep 0.1
	done
	echo "# attempt $attempt: killing worker $pid"
	kill -KILL "$pid"
	prev=$pid
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
is "$(wait_job "$w" 30)" failed "max_attempts: a job whose worker is killed twice fails"
api GET "/jobs/$w" | jq -r .error | grep -q 'the worker died (Killed) 2 times'
ok $? "max_attempts: and says why ($(api GET "/jobs/$w" | jq -r .error))"
o=$(api POST /analyze '{"case": "00345687", "path": "'"$TMP/up/vmcore-00345687"'"}' | jq -r .id)
is "$(wait_job "$o" 60)" done "the daemon goes on: the next job is done"
stop_daemon TERM

# --- 1,000 files in a burst across 50 new case folders -----------------------------------------------
MIRROR=$TMP/mirror
ROOT=$TMP/burst
mkdir -p "$MIRROR"
gzip -c "$(dirname "$sysrq")/dmesg.txt" >"$TMP/small.gz"
burst=(--set "watch.dirs=$MIRROR" --set watch.settle_ms=200 --set daemon.stop_after=unpack --set daemon.workers=2)
start_daemon "$ROOT" "${burst[@]}"
for c in $(seq 1 50); do
	case_dir=$MIRROR/case-$(printf %08d $((400000 + c)))
	mkdir "$case_dir"
	for f in $(seq 1 20); do
		if [ $((f % 2)) -eq 0 ]; then
			cp "$TMP/small.gz" "$case_dir/upload-$f.gz" # written in place: IN_CLOSE_WRITE
		else
			cp "$TMP/small.gz" "$case_dir/.upload-$f.gz.part" # rsync style: IN_MOVED_TO
			mv "$case_dir/.upload-$f.gz.part" "$case_dir/upload-$f.gz"
		fi
	done
done
deadline=$((SECONDS + 900))
while [ $SECONDS -lt $deadline ]; do
	done_n=$(api GET '/jobs?state=done&limit=1' | jq -r .total)
	[ "$done_n" -ge 1000 ] && break
	sleep 1
done
is "$(api GET '/jobs?limit=1' | jq -r .total)" 1000 "burst: 1000 jobs"
is "$done_n" 1000 "burst: all 1000 done"
is "$(ls "$ROOT/queue" | grep -c '\.json$')" 1000 "burst: 1000 entries in the durable queue"
n_dirs=$(find "$ROOT/cases" -mindepth 2 -maxdepth 2 -type d | wc -l)
is "$n_dirs" 1000 "burst: 1000 case folders"
is "$(find "$ROOT/cases" -mindepth 1 -maxdepth 1 -type d | wc -l)" 50 "burst: in 50 cases"
is "$(jq -r .source "$ROOT"/queue/*.json | sort -u | wc -l)" 1000 "burst: each file once"
bad=0
for c in $(seq 1 50); do
	[ "$(ls "$ROOT/cases/$(printf %08d $((400000 + c)))" | wc -l)" -eq 20 ] || bad=$((bad + 1))
done
is "$bad" 0 "burst: every case has its 20 jobs"
grep -q 'upload-[0-9]*\.gz\.part' "$ROOT"/queue/*.json
ok $(( ! $? )) "burst: no temporary name became a job"
# a restart rescans the mirror: every file is known, nothing new
stop_daemon TERM
start_daemon "$ROOT" "${burst[@]}"
sleep 2
is "$(api GET '/jobs?limit=1' | jq -r .total)" 1000 "burst: a restart's rescan adds no job"
stop_daemon TERM

done_testing
