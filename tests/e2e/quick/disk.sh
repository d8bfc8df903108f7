#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A full disk drops no work: hotkdumpd's root on a small tmpfs, filled up. A job that runs out
# of space while it copies its dump goes back to the queue (not failed), and finishes once there
# is room; a file dropped into the mirror while the queue cannot be written is queued when
# space returns. Needs root (the tmpfs); skipped otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"

DISK=$TMP/disk
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=32M tmpfs "$DISK" 2>/dev/null; then
	skip "cannot mount a tmpfs here (not root?)"
	done_testing
	exit 0
fi
trap 'stop_daemon KILL; umount "$DISK"; rm -rf "$TMP"' EXIT
. "$(dirname "$0")/quick-lib.sh"
ROOT=$DISK/root
make_synth_dumps
mkdir -p "$TMP/up" "$TMP/mirror"
head -c 12M /dev/urandom >"$TMP/up/big-vmcore"
token=tok-$RANDOM-$RANDOM
printf '%s\n' "$token" >"$TMP/token"

# fill LEAVE-KIB: the tmpfs filled but for that much
fill() {
	local free
	free=$(df -k --output=avail "$DISK" | tail -n 1)
	[ "$free" -gt "$1" ] && fallocate -l "$(((free - $1) * 1024))" "$DISK/filler-$RANDOM"
}

start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "daemon.path_roots=$TMP/up" \
	--set "watch.dirs=$TMP/mirror" --set watch.settle_ms=100 --set daemon.workers=1 --set daemon.stop_after=fetch \
	--set purge.min_free=0 --set daemon.disk_retry=2

# --- a running job out of space ---------------------------------------------------------------
fill 4096
id=$(TOKEN=$token api POST /analyze '{"case": "00200701", "path": "'"$TMP/up/big-vmcore"'"}' | jq -r .id)
is "$(status)" 202 "full disk: the job is accepted"
for _ in $(seq 100); do grep -q "job $id: the disk is full" "$ROOT.log" && break; sleep 0.2; done
grep -q "job $id: the disk is full" "$ROOT.log"
ok $? "full disk: the job ran out of space, and the log says it waits for room"
state=$(curl -s "$API/jobs/$id" | jq -r .state)
[ "$state" = queued ] || [ "$state" = running ]
ok $? "full disk: the job is waiting, not failed ($state)"
[ -z "$(find "$ROOT/cases/00200701" -name '*.part' 2>/dev/null)" ]
ok $? "full disk: no partial copy is left"
rm -f "$DISK"/filler-*
is "$(wait_job "$id" 60)" done "full disk: once there is room the job is done"
is "$(stat -c %s "$ROOT/cases/00200701/1/input/big-vmcore" 2>/dev/null)" "$(stat -c %s "$TMP/up/big-vmcore")" \
	"full disk: the whole dump was copied, in its one case folder"
is "$(ls "$ROOT/cases/00200701")" 1 "full disk: one case folder"
grep -q '"state": *"failed"' "$ROOT/cases/00200701/1/job.json"
is "$?" 1 "full disk: the case folder never said failed"

# --- a mirror file while the queue cannot be written ----------------------------------------------
fill 0
head -c 64M /dev/zero >"$DISK/filler-last" 2>/dev/null # to the last block
mkdir -p "$TMP/mirror/00200702"
cp "$SYNTH/kdump" "$TMP/mirror/00200702/vmcore"
for _ in $(seq 50); do grep -q "cannot queue '$TMP/mirror/00200702/vmcore' now" "$ROOT.log" && break; sleep 0.2; done
grep -q "cannot queue '$TMP/mirror/00200702/vmcore' now" "$ROOT.log"
ok $? "full disk: the watcher cannot queue the file, and says it tries again"
rm -f "$DISK"/filler-*
[ -n "$(job_of_case 00200702 20)" ]
ok $? "full disk: the file is queued once there is room"
grep -q "'$TMP/mirror/00200702/vmcore' is queued now" "$ROOT.log"
ok $? "full disk: … and the log says so"
kill -0 "$DAEMON_PID"
ok $? "the daemon ran throughout"
stop_daemon

done_testing
