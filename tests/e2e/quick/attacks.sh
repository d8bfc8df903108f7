#!/bin/bash
# Faults and attacks that once broke hotkdumpd, each shown on a real daemon on loopback: requests
# whose body length is ambiguous (request smuggling, with raw sockets); clients that trickle
# their headers or body to hold connections (cut at http.request_time, whatever http.timeout
# says), and the API reachable again once they are cut; a daemon stopped (TERM, then kill -9)
# while a job copies its dump from another file system, and the job finished after the restart.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

SHM=/dev/shm/hotkdump-test.$$
trap 'stop_daemon KILL; rm -rf "$TMP" "$SHM"' EXIT
mkdir -p "$ROOT"
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

done_testing
