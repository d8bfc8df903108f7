#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Uploads fetched over HTTP from a real nginx on loopback: a plain download, one cut off half
# way (the server stops answering) and resumed with a Range request, a 404, a server that
# accepts and never answers, refused URL schemes, and a disk that fills up mid-download.
. "$(dirname "$0")/lib.sh"

load_fixtures
mkdir -p "$TMP/www"
make_crash_dir "$TMP/up" sysrq
tar -C "$TMP/up" -czf "$TMP/www/crash.tar.gz" var
size=$(stat -c %s "$TMP/www/crash.tar.gz")
panic=$(panic_of sysrq)
trap 'stop_nginx; umount "$TMP/small" 2>/dev/null; rm -rf "$TMP"' EXIT

start_nginx "$TMP/www"
url=http://127.0.0.1:$HTTP_PORT

analyze --case 00345677 --stop-after first-look "$url/crash.tar.gz"
is "$?" 0 "download: exit status"
d=$ROOT/cases/00345677/1
is "$(job_field "$d" .state)" done "download: job done"
is "$(jq -r .first_look.panic_line "$d/summary.json")" "$panic" "download: panic line"
grep -q "download: 100%" "$d/hotkdump.log"
ok $? "download: progress lines in the log"
stop_nginx

# Cut off half way: nginx sends 4 MiB/s, stops (SIGSTOP) after a second, and is let go again
# only after hotkdump's stall timeout has ended the first transfer. The retry must resume.
start_nginx "$TMP/www" 4m
url=http://127.0.0.1:$HTTP_PORT
analyze --case 00345677 --set fetch.stall_timeout=2 --set fetch.backoff=1 "$url/crash.tar.gz" &
apid=$!
sleep 1.2
kill -STOP "$NGINX_PID"
sleep 4
kill -CONT "$NGINX_PID"
wait $apid
is "$?" 0 "cut off and resumed: exit status"
d=$ROOT/cases/00345677/2
is "$(job_field "$d" .state)" done "cut off and resumed: job done"
grep -E "resuming '.*' at byte [1-9][0-9]*" "$d/hotkdump.log" | sed 's/^/# /'
grep -qE "resuming '.*' at byte [1-9][0-9]*" "$d/hotkdump.log"
ok $? "cut off and resumed: the retry resumed from the bytes it had"
grep -qE '"GET /crash.tar.gz HTTP/1.1" 206 ' "$TMP/nginx/access.log"
ok $? "cut off and resumed: the server answered a range request (206)"
is "$(jq -r .first_look.panic_line "$d/summary.json")" "$panic" "cut off and resumed: the dump is whole (panic line read)"
stop_nginx

# The same cut against a server that ignores Range: the retry must start over, not fail.
start_nginx "$TMP/www" 4m "max_ranges 0;"
url=http://127.0.0.1:$HTTP_PORT
analyze --case 00345678 --set fetch.stall_timeout=2 --set fetch.backoff=1 "$url/crash.tar.gz" &
apid=$!
sleep 1.2
kill -STOP "$NGINX_PID"
sleep 4
kill -CONT "$NGINX_PID"
wait $apid
is "$?" 0 "cut off, server without ranges: exit status"
d=$ROOT/cases/00345678/1
grep -q "server cannot resume at byte [1-9][0-9]*: starting over" "$d/hotkdump.log"
ok $? "cut off, server without ranges: started over"
is "$(jq -r .first_look.panic_line "$d/summary.json" 2>/dev/null)" "$panic" "cut off, server without ranges: the dump is whole"
stop_nginx

start_nginx "$TMP/www"
url=http://127.0.0.1:$HTTP_PORT
analyze --case 00345677 "$url/no-such-file.tar.gz"
is "$?" 5 "404: exit status"
grep -q "$url/no-such-file.tar.gz: cannot download: HTTP 404$" "$TMP/err"
ok $? "404: the message names the URL and the status"
is "$(job_field "$ROOT/cases/00345677/3" .state)" failed "404: job failed"
[ -z "$(find "$ROOT/cases/00345677/3" -name '*.part')" ]
ok $? "404: no partial file left"

# A server that accepts connections and never answers.
start_stalling_server
t0=$(date +%s)
analyze --case 00345677 --set fetch.stall_timeout=2 --set fetch.retries=1 --set fetch.backoff=0 "http://127.0.0.1:$STALL_PORT/crash.tar.gz"
rc=$?
t1=$(date +%s)
kill $STALL_PID
is "$rc" 5 "stalling server: exit status"
grep -q "no retries left" "$TMP/err"
ok $? "stalling server: gives up after the retries"
[ $((t1 - t0)) -lt 30 ]
ok $? "stalling server: gives up in bounded time ($((t1 - t0)) s)"

for u in "file:///etc/passwd" "ftp://127.0.0.1/crash.tar.gz" "gopher://127.0.0.1/x"; do
	analyze --case 00345677 "$u"
	is "$?" 3 "$u: refused"
	grep -q "only http:// and https:// URLs are fetched" "$TMP/err"
	ok $? "$u: says why"
done
# a disk that fills up mid-download
if mkdir -p "$TMP/small" && mount -t tmpfs -o size=6M tmpfs "$TMP/small" 2>/dev/null; then
	timeout 120 "$HOTKDUMP" analyze --root "$TMP/small" --stop-after first-look "${LOOPBACK_FETCH[@]}" --case 00345677 \
		"$url/crash.tar.gz" >"$TMP/out" 2>"$TMP/err"
	is "$?" 7 "disk full mid-download: exit status 7 (the disk is full)"
	grep -q "No space left on device" "$TMP/err"
	ok $? "disk full mid-download: says so"
	is "$(job_field "$TMP/small/cases/00345677/1" .state)" failed "disk full mid-download: job failed"
	[ -z "$(find "$TMP/small/cases/00345677/1" -name '*.part')" ]
	ok $? "disk full mid-download: the partial download is removed"
	umount "$TMP/small"
else
	skip "disk full: cannot mount a tmpfs here"
fi

is "$(stat -c %s "$TMP/www/crash.tar.gz")" "$size" "the served file is untouched"
done_testing
