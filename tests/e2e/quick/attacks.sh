#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Faults and attacks that once broke hotkdumpd, each shown on a real daemon on loopback: requests
# whose body length is ambiguous (request smuggling, with raw sockets); clients that trickle
# their headers or body to hold connections (cut at http.request_time, whatever http.timeout
# says), and the API reachable again once they are cut; a daemon stopped (TERM, then kill -9)
# while a job copies its dump from another file system, and the job finished after the restart;
# credentials in a URL (user:password@, a presigned query) never written or served; file names
# with a newline or invalid UTF-8 that cannot forge a log line or break the API's JSON; a token
# file of blanks refused; the watched folder deleted or moved away and made again (said in
# /healthz, /metrics and the log while it is gone; uploads seen again once it is back); a
# command of a job that starts a process in a session of its own: that process dies with the
# job at its timeout, at a cancel, and when a daemon killed with -9 starts again; a second
# daemon on the same root refused; a case folder of the mirror swapped for a link to a folder
# outside it while its upload waits in the queue; downloads from loopback (as an address, in
# decimal, octal, IPv6 and IPv4-mapped forms, by name), link-local and through a redirect refused
# by fetch.deny, an internal mirror allowed, fetch.allow obeyed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

SHM=/dev/shm/hotkdump-test.$$
WWW_PID=
trap 'stop_daemon KILL; [ -n "$WWW_PID" ] && kill "$WWW_PID"; pkill -f "sleep 31[37]\.25"; rm -rf "$TMP" "$SHM"' EXIT
make_synth_dumps
token=tok-$RANDOM-$RANDOM
printf '%s\n' "$token" >"$TMP/token"
chmod 600 "$TMP/token"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set http.request_time=3 \
	--set http.timeout=20 --set http.max_connections=12 --set http.max_per_ip=12

# raw REQUEST-FILE: the bytes of the file sent as they are; the answer's status line on stdout
raw() {
	python3 - "$DAEMON_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(open(sys.argv[2], "rb").read())
data = b""
try:
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print(data.split(b"\r\n")[0].decode(errors="replace"))
PY
}

# --- request smuggling: two lengths, or a length beside chunked --------------------------------
body='{"case": "00200001", "path": "/nonexistent"}'
printf 'POST /analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: 5\r\n\r\n%s' \
	"$token" "${#body}" "$body" >"$TMP/two-lengths"
is "$(raw "$TMP/two-lengths")" "HTTP/1.1 400 Bad Request" "two Content-Length headers: 400"
printf 'POST /analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\ncontent-length: %d\r\n\r\n%s' \
	"$token" "${#body}" "${#body}" "$body" >"$TMP/same-lengths"
is "$(raw "$TMP/same-lengths")" "HTTP/1.1 400 Bad Request" "two Content-Length headers of the same value, in another case: 400"
printf 'POST /analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' \
	"$token" "${#body}" "$body" >"$TMP/length-and-chunked"
is "$(raw "$TMP/length-and-chunked")" "HTTP/1.1 400 Bad Request" "Content-Length with Transfer-Encoding: 400"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 7\r\n\r\n' >"$TMP/get-two-lengths"
is "$(raw "$TMP/get-two-lengths")" "HTTP/1.1 400 Bad Request" "a GET with two Content-Length headers: 400"
api POST /analyze '{"case": "00200001", "path": "/etc/hostname"}' -H "Authorization: Bearer $token" >/dev/null
is "$(status)" 403 "one Content-Length: the request is read (and refused for its path outside daemon.path_roots, 403)"
is "$(curl -s "$API/jobs" | jq '.jobs | length')" 0 "no job was queued by the ambiguous requests"

# --- slow clients -------------------------------------------------------------------------------
# trickle N KIND: N connections, each sending a byte every half second (KIND headers: an endless
# header; body: a POST whose body never ends, signed so that it is read without the token);
# prints, per connection, the seconds until the daemon closed it (or "open" after 15 s).
trickle() {
	python3 - "$DAEMON_PORT" "$1" "$2" <<'PY'
import socket, sys, time, threading
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
results = [None] * n
def one(i):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    t0 = time.monotonic()
    if kind == "headers":
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    else:
        s.sendall(b"POST /analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"X-Hotkdump-Signature: sha256=00\r\nContent-Length: 60000\r\n\r\n{\"case\": \"")
    while time.monotonic() - t0 < 15:
        try:
            s.sendall(b"a")
            s.settimeout(0.5)
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    results[i] = "%.1f" % (time.monotonic() - t0) if time.monotonic() - t0 < 15 else "open"
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(results))
PY
}
for kind in headers body; do
	times=$(trickle 2 "$kind")
	ok_all=0
	for t in $times; do
		[ "$t" != open ] && [ "$(echo "$t >= 2.5 && $t <= 6" | bc)" = 1 ] || ok_all=1
	done
	is "$ok_all" 0 "a client trickling its $kind is cut at http.request_time (3 s), not left open: $times"
done

# a full house of tricklers: the API is unreachable at most for http.request_time
trickle 12 headers >"$TMP/flood" &
flood=$!
sleep 1
t0=$SECONDS
reached=1
while [ $((SECONDS - t0)) -lt 10 ]; do
	if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$API/healthz")" = 200 ]; then
		reached=0
		break
	fi
	sleep 0.3
done
is "$reached" 0 "12 tricklers on a 12-connection server: /healthz answers again after $((SECONDS - t0)) s"
wait "$flood"
grep -q "not received within http.request_time" "$ROOT.log"
ok $? "the daemon's log says why it closed them"
curl -s "$API/metrics" | grep -qE '^hotkdump_http_slow_requests_cut_total ([1-9][0-9]*)$'
ok $? "/metrics counts the connections cut"
kill -0 "$DAEMON_PID"
ok $? "the daemon is still running"
stop_daemon

# --- a restart while a dump is copied from another file system -------------------------------
# /dev/shm is its own file system, so the dump is copied (a link cannot cross), through
# input/NAME.part; the daemon is stopped while the .part grows.
mkdir -p "$SHM"
head -c 400M /dev/urandom >"$SHM/vmcore"
size=$(stat -c %s "$SHM/vmcore")
n=0
for sig in TERM KILL; do
	n=$((n + 1))
	case=0020010$n
	start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "daemon.path_roots=$SHM" \
		--set daemon.workers=1 --set daemon.stop_after=fetch
	id=$(TOKEN=$token api POST /analyze '{"case": "'"$case"'", "path": "'"$SHM/vmcore"'"}' | jq -r .id)
	is "$(status)" 202 "$sig during a copy: the job is accepted"
	part=$ROOT/cases/$case/1/input/vmcore.part
	for _ in $(seq 500); do [ -s "$part" ] && break; sleep 0.02; done
	stop_daemon "$sig"
	for _ in $(seq 50); do pgrep -f "hotkdumpd --root $ROOT" >/dev/null || break; sleep 0.1; done
	[ -e "$part" ] && [ "$(stat -c %s "$part")" -lt "$size" ]
	ok $? "$sig during a copy: stopped with a part copied ($(stat -c %s "$part" 2>/dev/null || echo none) of $size bytes)"
	start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "daemon.path_roots=$SHM" \
		--set daemon.workers=1 --set daemon.stop_after=fetch
	is "$(wait_job "$id" 120)" done "$sig during a copy: the job is done after the restart"
	is "$(stat -c %s "$ROOT/cases/$case/1/input/vmcore" 2>/dev/null)" "$size" "$sig during a copy: the whole dump is in the case folder"
	[ ! -e "$part" ]
	ok $? "$sig during a copy: no .part left"
	grep -q "a copy cut short: '$part' removed, made again" "$ROOT/cases/$case/1/hotkdump.log"
	ok $? "$sig during a copy: the job's log says what it did with the leftover"
	is "$(ls "$ROOT/cases/$case")" 1 "$sig during a copy: one case folder, not two"
	stop_daemon
done

# --- credentials in URLs, hostile file names ---------------------------------------------------
mkdir -p "$TMP/www" "$TMP/mirror/00200202" "$TMP/mirror/00200203"
cp "$SYNTH/kdump" "$TMP/www/vmcore"
WWW_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$WWW_PORT" >"$TMP/www.log" 2>&1 &
WWW_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$WWW_PORT") 2>/dev/null && break; sleep 0.1; done
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "watch.dirs=$TMP/mirror" \
	--set watch.settle_ms=100 --set daemon.workers=1 --set daemon.stop_after=fetch
url="http://hkuser:pw-SECRET1@127.0.0.1:$WWW_PORT/vmcore?X-Amz-Signature=SIG-SECRET2&X-Amz-Expires=60"
id=$(TOKEN=$token api POST /analyze '{"case": "00200201", "url": "'"$url"'"}' | jq -r .id)
grep -q SECRET "$TMP/body"
is "$?" 1 "secrets: the 202 answer shows no credentials"
is "$(wait_job "$id" 60)" done "secrets: the job with credentials in its URL is done"
grep -q "GET /vmcore?X-Amz-Signature=SIG-SECRET2" "$TMP/www.log"
ok $? "secrets: the server got the whole URL"
for what in "/jobs" "/jobs/$id" "/cases/00200201/1/job.json" "/cases/00200201/1/hotkdump.log" "/"; do
	curl -s "$API$what" >"$TMP/served"
	[ -s "$TMP/served" ] && ! grep -q SECRET "$TMP/served"
	ok $? "secrets: GET $what (no token) shows no credentials"
done
grep -q "http://\*\*\*@127.0.0.1:$WWW_PORT/vmcore?X-Amz-Signature=\*\*\*&X-Amz-Expires=\*\*\*" "$ROOT/cases/00200201/1/hotkdump.log"
ok $? "secrets: the job's log names the URL without them"
! grep -rq SECRET "$ROOT/cases" "$ROOT.log"
ok $? "secrets: nothing in the case folder or the daemon's log has them"

# a newline in a file name, and bytes that are not UTF-8
nl_name=$'dump\n2026-12-03T00:00:00Z FORGED line'
cp "$SYNTH/kdump" "$TMP/mirror/00200202/$nl_name"
cp "$SYNTH/kdump" "$TMP/mirror/00200203/"$'dump-\xff\xfe'
a=$(job_of_case 00200202 20)
b=$(job_of_case 00200203 20)
[ -n "$a" ] && [ -n "$b" ]
ok $? "names: both files make a job"
wait_job "$a" 60 >/dev/null
wait_job "$b" 60 >/dev/null
! grep -q "^2026-12-03T00:00:00Z FORGED" "$ROOT.log" "$ROOT"/cases/00200202/1/hotkdump.log
ok $? "names: a newline in a file name starts no line of the daemon's or the job's log"
grep -q 'dump\\x0a2026-12-03T00:00:00Z FORGED line' "$ROOT.log"
ok $? "names: the daemon's log shows it escaped"
curl -s "$API/jobs" | jq -e '.jobs | length >= 3' >/dev/null
ok $? "names: GET /jobs is valid JSON with a name that is not UTF-8"
curl -s "$API/jobs?case=00200203" | jq -r '.jobs[0].filename' | grep -qF 'dump-\xff\xfe'
ok $? "names: … which it shows escaped"
stop_daemon

# --- the watched folder deleted, or moved away, and made again -----------------------------------
mkdir -p "$TMP/mirror2"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "watch.dirs=$TMP/mirror2" \
	--set watch.settle_ms=100 --set daemon.workers=1 --set daemon.stop_after=fetch
n=0
for how in deleted "moved away"; do
	n=$((n + 1))
	case $how in deleted) rm -rf "$TMP/mirror2" ;; *) mv "$TMP/mirror2" "$TMP/mirror2.old" ;; esac
	state=
	for _ in $(seq 50); do
		state=$(curl -s "$API/healthz" | jq -r .status)
		[ "$state" = degraded ] && break
		sleep 0.1
	done
	is "$state" degraded "watched folder $how: /healthz says degraded"
	curl -s "$API/healthz" | jq -r .reason | grep -qF "'$TMP/mirror2' is gone"
	ok $? "watched folder $how: … and names it"
	curl -s "$API/metrics" | grep -qx 'hotkdump_watch_dirs_missing 1'
	ok $? "watched folder $how: /metrics counts it missing"
	grep -qF "the watched folder '$TMP/mirror2' was $how" "$ROOT.log"
	ok $? "watched folder $how: the log says so"
	mkdir -p "$TMP/mirror2/0020030$n"
	cp "$SYNTH/kdump" "$TMP/mirror2/0020030$n/vmcore"
	[ -n "$(job_of_case "0020030$n" 10)" ]
	ok $? "watched folder $how and made again: a new upload in it makes a job"
	is "$(curl -s "$API/healthz" | jq -r .status)" ok "watched folder $how and made again: /healthz ok"
	grep -qF "'$TMP/mirror2' is back: watched again" "$ROOT.log"
	ok $? "watched folder $how and made again: the log says so"
done
mkdir -p "$TMP/mirror2.old/00200309"
cp "$SYNTH/kdump" "$TMP/mirror2.old/00200309/vmcore"
sleep 1
is "$(curl -s "$API/jobs?case=00200309" | jq '.jobs | length')" 0 "the folder moved away is no longer watched"
curl -s "$API/metrics" | grep -qx 'hotkdump_watch_dirs_lost_total 2'
ok $? "/metrics counts the two losses"
stop_daemon

# --- downloads to addresses the policy refuses (SSRF) -----------------------------------------
# the stand-in upload server on 127.0.0.1 (WWW_PORT, still serving vmcore) and a redirector on
# 127.0.0.2, the one loopback address this daemon is allowed to download from
cat >"$TMP/redirect.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", sys.argv[2])
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.2", int(sys.argv[1])), H).serve_forever()
PY
RD_PORT=$(free_port)
python3 "$TMP/redirect.py" "$RD_PORT" "http://127.0.0.1:$WWW_PORT/vmcore" &
RD_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.2/$RD_PORT") 2>/dev/null && break; sleep 0.1; done
python3 -m http.server --bind 127.0.0.2 --directory "$TMP/www" "$((RD_PORT + 1))" >/dev/null 2>&1 &
MIRROR_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.2/$((RD_PORT + 1))") 2>/dev/null && break; sleep 0.1; done
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set daemon.workers=2 --set daemon.stop_after=fetch \
	--set "fetch.deny=127.0.0.1/32 ::1 link-local unspecified" --set fetch.retries=0
n=0
for u in "http://127.0.0.1:$WWW_PORT/vmcore" "http://2130706433:$WWW_PORT/vmcore" "http://0177.0.0.1:$WWW_PORT/vmcore" \
	"http://[::1]:$WWW_PORT/vmcore" "http://[::ffff:127.0.0.1]:$WWW_PORT/vmcore" "http://localhost:$WWW_PORT/vmcore" \
	"http://169.254.169.254/latest/meta-data/" "http://127.0.0.2:$RD_PORT/redirect"; do
	n=$((n + 1))
	id=$(TOKEN=$token api POST /analyze '{"case": "0020080'"$n"'", "url": "'"$u"'"}' | jq -r .id)
	state=$(wait_job "$id" 30)
	err=$(curl -s "$API/jobs/$id" | jq -r .error)
	[ "$state" = failed ] && grep -q "refused" <<<"$err" && grep -qE "fetch.deny|fetch.allow" <<<"$err"
	ok $? "fetch policy: $u is refused: $err"
done
id=$(TOKEN=$token api POST /analyze '{"case": "00200811", "url": "http://127.0.0.2:'"$((RD_PORT + 1))"'/vmcore"}' | jq -r .id)
is "$(wait_job "$id" 30)" done "fetch policy: an allowed address (an internal mirror) is still downloaded from"
stop_daemon
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set daemon.workers=1 --set daemon.stop_after=fetch \
	--set fetch.deny= --set fetch.allow=127.0.0.3/32 --set fetch.retries=0
id=$(TOKEN=$token api POST /analyze '{"case": "00200812", "url": "http://127.0.0.2:'"$((RD_PORT + 1))"'/vmcore"}' | jq -r .id)
wait_job "$id" 30 >/dev/null
curl -s "$API/jobs/$id" | jq -r .error | grep -q "127.0.0.2 is not in fetch.allow"
ok $? "fetch policy: with fetch.allow, an address outside it is refused"
stop_daemon
"$HOTKDUMPD" --root "$ROOT" --set daemon.listen=127.0.0.1:0 --set "fetch.deny=loopback 10.0.0.0/33" >"$TMP/bad-deny.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "fetch.deny: '10.0.0.0/33' is not an address" "$TMP/bad-deny.out"
ok $? "fetch policy: a bad entry stops the daemon at start with the reason (exit $rc)"
timeout 60 "$HOTKDUMP" analyze --root "$TMP/cli-root" --stop-after fetch --case 00200813 "http://127.0.0.1:$WWW_PORT/vmcore" >"$TMP/cli.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "refused" "$TMP/cli.out"
ok $? "fetch policy: hotkdump analyze refuses loopback by default too (exit $rc)"
kill "$RD_PID" "$MIRROR_PID"

# --- what a job's commands start dies with the job -------------------------------------------
# a makedumpfile that starts a process in its own session (no longer in the job's process
# group, nor a child of its command), then waits
printf '#!/bin/bash\nsetsid sleep 313.25 </dev/null >/dev/null 2>&1 &\nexec sleep 317.25\n' >"$TMP/makedumpfile"
chmod +x "$TMP/makedumpfile"
mkdir -p "$TMP/paths"
cp "$SYNTH/kdump" "$TMP/paths/vmcore"
hang=(--set "makedumpfile=$TMP/makedumpfile" --set "daemon.path_roots=$TMP/paths"
	--set daemon.workers=1 --set daemon.stop_after=first-look)
leftover() { pgrep -f 'sleep 31[37]\.25' | wc -l; }
wait_leftover() { # until the stand-in has started its process (10 s at most)
	for _ in $(seq 100); do pgrep -f 'sleep 313\.25' >/dev/null && return 0; sleep 0.1; done
	return 1
}
n=0
for how in timeout cancel kill; do
	n=$((n + 1))
	extra=()
	[ "$how" = timeout ] && extra=(--set daemon.job_timeout=3)
	start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" "${hang[@]}" "${extra[@]}"
	id=$(TOKEN=$token api POST /analyze '{"case": "0020040'"$n"'", "path": "'"$TMP/paths/vmcore"'"}' | jq -r .id)
	wait_leftover
	ok $? "$how: the job's makedumpfile started its process"
	case $how in
	timeout) wait_job "$id" 30 >/dev/null ;;
	cancel)
		TOKEN=$token api DELETE "/jobs/$id" >/dev/null
		wait_job "$id" 30 >/dev/null
		;;
	kill)
		stop_daemon KILL
		sleep 0.5
		orphan=$(pgrep -f 'sleep 313\.25')
		is "$(wc -w <<<"$orphan")" 1 "kill: the process in its own session outlived the daemon and its worker"
		# the restarted daemon runs the job again, which starts its own: only the old one must go
		start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" "${hang[@]}"
		for _ in $(seq 30); do kill -0 "$orphan" 2>/dev/null || break; sleep 0.1; done
		! kill -0 "$orphan" 2>/dev/null
		ok $? "kill: the restarted daemon killed what the earlier run's job left"
		;;
	esac
	if [ "$how" != kill ]; then
		for _ in $(seq 30); do [ "$(leftover)" -eq 0 ] && break; sleep 0.1; done
		is "$(leftover)" 0 "$how: nothing the job started is left running"
	fi
	pkill -f 'sleep 31[37]\.25'
	if [ "$how" = kill ]; then
		grep -q "started by the jobs of an earlier run were still running: killed" "$ROOT.log"
		ok $? "kill: the restarted daemon says what it killed"
		# the job runs again after the restart, its makedumpfile waiting: ended here, so that it
		# does not hold the worker of the sections below
		TOKEN=$token api DELETE "/jobs/$id" >/dev/null
		wait_job "$id" 30 >/dev/null
	else
		stop_daemon
	fi
done
# a second daemon on the same root is refused, the first untouched
"$HOTKDUMPD" --root "$ROOT" --set daemon.listen=127.0.0.1:0 "${QUICK_SETS[@]}" >"$TMP/second.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "another hotkdumpd uses the root" "$TMP/second.out"
ok $? "a second daemon on the same root is refused (exit $rc)"
kill -0 "$DAEMON_PID"
ok $? "… and the first goes on"
stop_daemon

# --- a case folder of the mirror swapped for a link between queueing and the start ----------------
mkdir -p "$TMP/mirror3/00200501" "$TMP/outside"
cp "$SYNTH/kdump" "$TMP/outside/vmcore"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" "${hang[@]}" \
	--set "watch.dirs=$TMP/mirror3" --set watch.settle_ms=100
# the only worker is held by a job whose makedumpfile waits
first=$(TOKEN=$token api POST /analyze '{"case": "00200500", "path": "'"$TMP/paths/vmcore"'"}' | jq -r .id)
wait_leftover
cp "$SYNTH/kdump" "$TMP/mirror3/00200501/vmcore"
swapped=$(job_of_case 00200501 10)
is "$(curl -s "$API/jobs/$swapped" | jq -r .state)" queued "swapped folder: the upload is queued behind the running job"
mv "$TMP/mirror3/00200501" "$TMP/mirror3-00200501.old"
ln -s "$TMP/outside" "$TMP/mirror3/00200501"
for _ in $(seq 10); do
	TOKEN=$token api DELETE "/jobs/$first" >/dev/null
	[ "$(status)" = 202 ] && break
	sleep 0.5
done
is "$(wait_job "$swapped" 60)" failed "swapped folder: the job fails"
[ "$(curl -s "$API/jobs/$swapped" | jq -r .state)" = failed ] || tail -n 15 "$ROOT.log" | sed 's/^/# /' 
curl -s "$API/jobs/$swapped" | jq -r .error | grep -q "symbolic link since it was queued"
ok $? "swapped folder: … and says why: $(curl -s "$API/jobs/$swapped" | jq -r .error | cut -c1-150)"
[ -z "$(find "$ROOT/cases/00200501" -path '*/input/*' -type f 2>/dev/null)" ]
ok $? "swapped folder: nothing from outside the mirror was taken into the case folder"
stop_daemon
pkill -f 'sleep 31[37]\.25'

# a token file of blanks is no token
printf '   \t \n' >"$TMP/blank-token"
timeout 10 "$HOTKDUMPD" --root "$ROOT" --set daemon.listen=127.0.0.1:0 --set "http.token_file=$TMP/blank-token" >"$TMP/blank.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "first line is empty or blank" "$TMP/blank.out"
ok $? "a token file of blanks is refused (exit $rc): $(tail -n 1 "$TMP/blank.out")"

done_testing
