#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Retention: hotkdump purge and hotkdumpd's scheduled purge remove old case folders and unused
# symbols, and never what NOPURGE, a running job or a link outside the root protects; a purge
# killed midway leaves no half folder under its name; a nearly full disk refuses new jobs
# until the purge has made room.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"

load_fixtures
SMALL=$TMP/small
trap 'stop_daemon KILL; stop_nginx; mountpoint -q "$SMALL" && umount -l "$SMALL"; rm -rf "$TMP"' EXIT
sysrq=$(fixture_of sysrq kdump-compressed)

mk() { # mk CASE: a real job folder (identify and first look), its path on stdout
	analyze --case "$1" "$sysrq" || bail "analyze failed"
	head -n 1 "$TMP/out"
}
age() { # age DIR WHEN: the job ended then
	touch -h -d "$2" "$1/job.json"
}
snapshot() { # what is under the root, with sizes, links as links
	find "$ROOT" -path "$ROOT/trash" -prune -o -printf '%p %y %s\n' | sort
}
listed() { # listed FILE PREFIX: the folders a purge's output names after PREFIX
	sed -n "s|^$2: \(cases/[^ ]*\) .*|\1|p" "$1" | sort
}

# --- which folders go ---------------------------------------------------------------------------
old1=$(mk 00500001)
young=$(mk 00500001)
old3=$(mk 00500001)
kept_dump=$(mk 00500002)
touch "$kept_dump/NOPURGE"
kept_case1=$(mk 00500003)
kept_case2=$(mk 00500003)
touch "$ROOT/cases/00500003/NOPURGE"
running=$(mk 00500004)
jq '.state = "running"' "$running/job.json" >"$TMP/j" && cp "$TMP/j" "$running/job.json"
linked=$(mk 00500005)
mkdir -p "$TMP/outside/dir"
echo "precious" >"$TMP/outside/file"
echo "also precious" >"$TMP/outside/dir/inner"
ln -s "$TMP/outside/file" "$linked/planted-file"
ln -s "$TMP/outside/dir" "$linked/planted-dir"
ln -s "$TMP/outside" "$ROOT/cases/00500006"
for d in "$old1" "$old3" "$kept_dump" "$kept_case1" "$kept_case2" "$running" "$linked"; do
	age "$d" "20 days ago"
done
age "$young" "13 days ago"
# the symbol cache: one kernel unused for long, one recent, one old but in use
for k in aged recent inuse; do
	mkdir -p "$ROOT/symbols/$k" "$ROOT/symbols/.locks"
	head -c 100000 /dev/urandom >"$ROOT/symbols/$k/vmlinux"
	echo '{}' >"$ROOT/symbols/$k/info.json"
done
touch -d "200 days ago" "$ROOT/symbols/aged/info.json" "$ROOT/symbols/inuse/info.json"
touch "$ROOT/symbols/.locks/inuse.lock"
flock -s "$ROOT/symbols/.locks/inuse.lock" sleep 60 &
lock_pid=$!

before=$(snapshot)
"$HOTKDUMP" purge --root "$ROOT" --dry-run >"$TMP/dry.out" 2>"$TMP/dry.err"
ok $? "hotkdump purge --dry-run"
is "$(snapshot)" "$before" "--dry-run removes nothing"
"$HOTKDUMP" purge --root "$ROOT" >"$TMP/real.out" 2>"$TMP/real.err"
ok $? "hotkdump purge"
want=$(printf '%s\n' "$old1" "$old3" "$linked" | sed "s|^$ROOT/||" | sort)
is "$(listed "$TMP/real.out" removed)" "$want" "the folders of jobs that ended 20 days ago go"
is "$(listed "$TMP/dry.out" "would remove")" "$(listed "$TMP/real.out" removed)" "--dry-run listed exactly what the real run removed"
is "$(grep '^would remove:' "$TMP/dry.out" | sed 's/^would remove: //')" "$(grep '^removed:' "$TMP/real.out" | sed 's/^removed: //')" \
	"with the same sizes and reasons"
for d in "$old1" "$old3" "$linked"; do
	[ ! -e "$d" ]
	ok $? "gone: ${d#"$ROOT"/}"
done
for d in "$young" "$kept_dump" "$kept_case1" "$kept_case2" "$running"; do
	[ -f "$d/job.json" ] && [ -e "$d/vmcore" ]
	ok $? "kept whole: ${d#"$ROOT"/}"
done
grep -q "^kept: cases/00500002/1 (NOPURGE)$" "$TMP/real.out" && grep -q "^kept: cases/00500003 (NOPURGE: every dump of the case)$" "$TMP/real.out" &&
	grep -q "^kept: cases/00500004/1 (its job is running)$" "$TMP/real.out"
ok $? "the output says what was kept and why"
[ "$(cat "$TMP/outside/file")" = precious ] && [ "$(cat "$TMP/outside/dir/inner")" = "also precious" ]
ok $? "the targets of links planted in a removed folder are untouched"
[ -L "$ROOT/cases/00500006" ] && [ -d "$TMP/outside/dir" ]
ok $? "a case folder that is a link is left alone, and so is what it points to"
grep -q "left alone: cases/00500006 is not a folder" "$TMP/real.out"
ok $? "and the output says so"
[ -z "$(ls -A "$ROOT/trash")" ]
ok $? "the trash is empty after the purge"
grep -q "cache: removed aged" "$TMP/real.err" && grep -q "cache: would remove aged" "$TMP/dry.err" && [ ! -e "$ROOT/symbols/aged" ]
ok $? "symbols unused past symbols.cache_max_age go (and --dry-run said so)"
[ -d "$ROOT/symbols/recent" ] && [ -d "$ROOT/symbols/inuse" ] && grep -q "cache: inuse is in use, kept" "$TMP/real.err"
ok $? "recent symbols stay, and so do old ones a job is using"
kill "$lock_pid" 2>/dev/null
grep -Eq "^removed 3 case folder\(s\) and 1 kernel\(s\)' symbols, [0-9]+ bytes freed; [0-9]+ kept$" "$TMP/real.out"
ok $? "the summary: $(tail -n 1 "$TMP/real.out")"
next=$(mk 00500001)
is "${next#"$ROOT"/}" "cases/00500001/4" "a new job of the case does not take the number of a purged folder"
"$HOTKDUMP" purge --root "$ROOT" --older-than 10d >"$TMP/real2.out"
is "$(listed "$TMP/real2.out" removed)" "${young#"$ROOT"/}" "--older-than 10d: the 13-day-old folder goes too"

# --- kill -9 in the middle of a purge of many folders -------------------------------------------
ROOT2=$TMP/root2
python3 - "$ROOT2" <<'PY'
import json, os, sys
root = sys.argv[1]
for c in range(40):
    for n in range(1, 11):
        d = os.path.join(root, "cases", "0060%04d" % c, str(n))
        os.makedirs(os.path.join(d, "dump"))
        for i in range(250):
            with open(os.path.join(d, "dump", "part%03d" % i), "w") as f:
                f.write("x" * 100)
        with open(os.path.join(d, "job.json"), "w") as f:
            json.dump({"state": "done", "case": "0060%04d" % c, "number": n}, f)
        os.utime(os.path.join(d, "job.json"), (0, 1000000000))
PY
"$HOTKDUMP" purge --root "$ROOT2" >"$TMP/killed.out" 2>&1 &
purge_pid=$!
for _ in $(seq 500); do
	[ "$(ls "$ROOT2/trash" 2>/dev/null | wc -l)" -gt 0 ] && break
	sleep 0.01
done
sleep 0.2
kill -9 "$purge_pid"
wait "$purge_pid" 2>/dev/null
left=$(find "$ROOT2/cases" -mindepth 2 -maxdepth 2 -type d | wc -l)
[ "$left" -gt 0 ] && [ "$left" -lt 400 ]
ok $? "purge killed with $((400 - left)) of 400 folders moved out ($left left)"
half=0
while read -r d; do
	[ -f "$d/job.json" ] && [ "$(ls "$d/dump" | wc -l)" = 250 ] || half=$((half + 1))
done < <(find "$ROOT2/cases" -mindepth 2 -maxdepth 2 -type d)
is "$half" 0 "every folder left under its own name is whole"
"$HOTKDUMP" purge --root "$ROOT2" >"$TMP/rerun.out" 2>&1
ok $? "the purge run again"
is "$(find "$ROOT2/cases" -mindepth 2 -maxdepth 2 -type d | wc -l)" 0 "it removes the rest"
[ -z "$(ls -A "$ROOT2/trash")" ]
ok $? "and what the killed one left in the trash ($(grep -c 'left by an interrupted purge' "$TMP/rerun.out") part(s))"

# --- the daemon's purge: on schedule, never a running job's folder --------------------------------
mkdir -p "$TMP/www"
tar -C "$(dirname "$sysrq")" -czf "$TMP/www/sysrq.tar.gz" "$(basename "$sysrq")" dmesg.txt
start_nginx "$TMP/www" 300k
finished=$(mk 00500007)
start_daemon "$ROOT" --set purge.interval=1 --set purge.older_than=0 --set daemon.stop_after=first-look
id=$(api POST /analyze '{"case": "00500008", "url": "http://127.0.0.1:'"$HTTP_PORT"'/sysrq.tar.gz"}' | jq -r .id)
wait_stage "$id" fetch 60
ok $? "a job is downloading (slowly)"
until_runs() { curl -s "$API/metrics" | awk '/^hotkdump_purge_runs_total/ {print $2}'; }
deadline=$((SECONDS + 60))
while [ "$(until_runs)" -lt 3 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
is "$(api GET "/jobs/$id" | jq -r .state)" running "the job still runs after $(until_runs) purges with purge.older_than=0"
[ -f "$ROOT/cases/00500008/1/job.json" ]
ok $? "its folder is there"
[ ! -e "$finished" ]
ok $? "a finished job's folder went"
grep -q "purge: kept: cases/00500008/1 (its job is " "$ROOT.log"
ok $? "the daemon's log says why the running job's folder stays"
# with purge.older_than=0 the purge after its end takes the folder, and the job then leaves the
# queue (its upload stays known): seen done through the API, or found pruned as done
ended=
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	ended=$(curl -s --max-time 10 "$API/jobs/$id" | jq -r '.state // empty')
	case $ended in done | incomplete | failed | cancelled) break ;; esac
	ended=$(jq -r --arg id "$id" 'select(.id == $id) | .state' "$ROOT/queue/known-uploads" 2>/dev/null)
	[ -n "$ended" ] && break
	sleep 0.5
done
is "$ended" done "the job finishes"
deadline=$((SECONDS + 30))
while [ -e "$ROOT/cases/00500008/1" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
[ ! -e "$ROOT/cases/00500008/1" ]
ok $? "once finished, the next purge takes it"
deadline=$((SECONDS + 30))
until [ "$(jq -r --arg id "$id" 'select(.id == $id) | .state' "$ROOT/queue/known-uploads" 2>/dev/null)" = done ] ||
	[ $SECONDS -ge $deadline ]; do sleep 0.2; done
is "$(jq -r --arg id "$id" 'select(.id == $id) | .state' "$ROOT/queue/known-uploads" 2>/dev/null)" done \
	"then the job leaves the queue, its upload known as done"
freed=$(curl -s "$API/metrics" | awk '/^hotkdump_purge_freed_bytes_total/ {print $2}')
[ "${freed:-0}" -gt 1000000 ]
ok $? "GET /metrics counts the bytes freed ($freed)"
stop_daemon
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"
stop_nginx

# --- a nearly full disk ---------------------------------------------------------------------------
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=64m tmpfs "$SMALL" 2>"$TMP/mount.err"; then
	skip "a tmpfs cannot be mounted here: $(cat "$TMP/mount.err")"
	done_testing
	exit
fi
R=$SMALL/root
i=0
for when in "3 days ago" "2 days ago" "1 day ago"; do
	i=$((i + 1))
	d=$R/cases/0070000$i/1
	mkdir -p "$d"
	head -c $((15 * 1048576)) /dev/urandom >"$d/vmcore"
	echo '{"state": "done"}' >"$d/job.json"
	touch "$d/NOPURGE"
	age "$d" "$when"
done
cp "$sysrq" "$TMP/dump"
start_daemon "$R" --set purge.min_free=24M --set purge.interval=3600 --set daemon.stop_after=identify \
	--set "daemon.path_roots=$TMP"
sleep 3
api POST /analyze '{"case": "00700009", "path": "'"$TMP/dump"'"}' >"$TMP/refused.json"
is "$(status)" 503 "the disk under purge.min_free: POST /analyze is refused with 503"
jq -e '.error | contains("is nearly full") and contains("purge.min_free (24 MiB)")' "$TMP/refused.json" >/dev/null
ok $? "with the reason: $(jq -r .error "$TMP/refused.json")"
is "$(curl -s "$API/healthz" | jq -r .status)" refusing "/healthz says it refuses work"
grep -q "is nearly full" "$R.log"
ok $? "the daemon's log says so"
ls "$R/cases" | grep -q 0070000
ok $? "NOPURGE wins over disk pressure: nothing was removed"
rm "$R/cases/00700001/1/NOPURGE" "$R/cases/00700002/1/NOPURGE"
deadline=$((SECONDS + 30))
while [ "$(api GET /healthz | jq -r .status)" != ok ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
[ ! -e "$R/cases/00700001/1" ] && [ -e "$R/cases/00700002/1/vmcore" ] && [ -e "$R/cases/00700003/1/vmcore" ]
ok $? "the purge frees space oldest first, and stops once there is enough"
id=$(api POST /analyze '{"case": "00700009", "path": "'"$TMP/dump"'"}' | jq -r .id)
is "$(status)" 202 "jobs are accepted again"
is "$(wait_job "$id" 120)" done "and run"
grep -q "purge: removed: cases/00700001/1 (15.0 MiB, .*disk pressure" "$R.log"
ok $? "the daemon's log says what the purge removed and why"
stop_daemon

done_testing
