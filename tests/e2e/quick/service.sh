#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdumpd as a service manager sees it: the notification protocol (READY, STATUS with the port
# and the jobs, RELOADING on SIGHUP, STOPPING on TERM) on a real datagram socket, the syslog
# priority before each line when stderr is the journal (and not otherwise), a warning for a
# token file others can read, and a missing mirror folder named as missing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

LISTENER=
trap 'stop_daemon KILL; [ -n "$LISTENER" ] && kill "$LISTENER"; rm -rf "$TMP"' EXIT

make_synth_dumps
mkdir -p "$TMP/etc" "$TMP/up"
echo "tok-$RANDOM$RANDOM" >"$TMP/etc/token"
chmod 600 "$TMP/etc/token"
TOKEN=$(cat "$TMP/etc/token")
cp "$SYNTH/kdump-zlib" "$TMP/up/vmcore"

# a service manager's socket: every datagram, one per line (newlines inside shown as '|')
python3 - "$TMP/notify.sock" "$TMP/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
LISTENER=$!
for _ in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done
: >"$TMP/notify.log"
wait_notify() { # wait_notify PATTERN: until a datagram matches (10 s at most)
	for _ in $(seq 100); do grep -qE "$1" "$TMP/notify.log" && return 0; sleep 0.1; done
	return 1
}

# the journal: stderr is the daemon's log file, and $JOURNAL_STREAM names that file
: >"$ROOT.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$ROOT.log")
export JOURNAL_STREAM NOTIFY_SOCKET=$TMP/notify.sock
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/etc/token" --set "daemon.path_roots=$TMP/up"
unset JOURNAL_STREAM NOTIFY_SOCKET
wait_notify "^READY=1\|STATUS=listening on port $DAEMON_PORT; 0 job\(s\) running"
ok $? "READY=1 once it listens, with a STATUS naming the port ($(head -n 1 "$TMP/notify.log"))"
api POST /analyze '{"case": "00700001", "path": "'"$TMP/up/vmcore"'"}' >/dev/null
is "$(status)" 202 "a job is queued"
wait_notify "^STATUS=listening on port $DAEMON_PORT; 1 job\(s\) running"
ok $? "STATUS says when a job runs"
wait_notify "^STATUS=listening on port $DAEMON_PORT; 0 job\(s\) running, 0 queued$"
ok $? "and when it is over"
kill -HUP "$DAEMON_PID"
wait_notify "^RELOADING=1"
ok $? "SIGHUP: RELOADING=1"
wait_notify "RELOADING=1.*" && for _ in $(seq 50); do [ "$(grep -c '^READY=1' "$TMP/notify.log")" -ge 2 ] && break; sleep 0.1; done
is "$(grep -c '^READY=1' "$TMP/notify.log")" 2 "then READY=1 again"
stop_daemon
wait_notify "^STOPPING=1"
ok $? "TERM: STOPPING=1"
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"
grep -q '^<6>hotkdumpd: job .*: queued' "$ROOT.log"
ok $? "to the journal, an informational line starts with <6>"
grep -qv '^<[0-7]>' "$ROOT.log"
rc=$?
is "$rc" 1 "every line the daemon and its workers wrote has its priority"
[ $rc -eq 1 ] || grep -v '^<[0-7]>' "$ROOT.log" | head -n 5 | sed 's/^/#   /'

# not the journal: no prefix, and the CLI's errors have <3> only when stderr is the journal
: >"$TMP/plain.err"
"$HOTKDUMP" info "$TMP/nonexistent" 2>"$TMP/plain.err"
grep -q '^hotkdump: error: .*nonexistent' "$TMP/plain.err"
ok $? "stderr not the journal: no priority prefix"
: >"$TMP/journal.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMP/journal.err") "$HOTKDUMP" info "$TMP/nonexistent" 2>>"$TMP/journal.err"
grep -q '^<3>hotkdump: error: .*nonexistent' "$TMP/journal.err"
ok $? "stderr the journal: an error starts with <3>"
JOURNAL_STREAM=1:2 "$HOTKDUMP" info "$TMP/nonexistent" 2>"$TMP/other.err"
grep -q '^hotkdump: error:' "$TMP/other.err"
ok $? "a JOURNAL_STREAM naming another file: no prefix (stderr was redirected away from the journal)"

# a token file others can read
chmod 644 "$TMP/etc/token"
: >"$ROOT.log"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/etc/token"
stop_daemon
grep -q "warning: http: the secret in '$TMP/etc/token' can be read by every user (mode 0644): chmod 600 it" "$ROOT.log"
ok $? "a token file of mode 0644: a warning that names it and says what to do"
chmod 600 "$TMP/etc/token"
: >"$ROOT.log"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/etc/token"
stop_daemon
! grep -q "can be read by" "$ROOT.log"
ok $? "mode 0600: no warning"

# a mirror folder that is not there
"$HOTKDUMPD" --root "$ROOT" --set daemon.listen=127.0.0.1:0 --set "http.token_file=$TMP/etc/token" \
	--set "watch.dirs=$TMP/no-such-mirror" >"$TMP/nomirror.log" 2>&1
rc=$?
[ $rc -ne 0 ]
ok $? "a watch folder that is missing: the daemon does not start (exit $rc)"
grep -q "watch.dirs: '$TMP/no-such-mirror' is missing" "$TMP/nomirror.log"
ok $? "and says it is missing ($(grep -o 'watch.dirs: .*' "$TMP/nomirror.log" | head -n 1))"

done_testing
