#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdumpd on loopback: a URL posted to POST /analyze (fetched from a real nginx) and a dump
# dropped into the watched mirror both run the whole pipeline, with the real crash, to a
# report; the same upload announced both ways makes one job; bad requests get the right 4xx at
# once while the daemon keeps answering; TLS, the job list in headless Chromium, /metrics,
# SIGHUP, cancel and retry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"

load_fixtures
load_debug_package
deb=$DEB
load_crash
trap 'stop_daemon KILL; stop_nginx; pkill -f "$TMP/slow.py" 2>/dev/null; rm -rf "$TMP"' EXIT

ROOT=$TMP/root
MIRROR=$TMP/mirror
mkdir -p "$MIRROR" "$TMP/www" "$TMP/etc"
echo "tok-$RANDOM$RANDOM" >"$TMP/etc/token"
echo "webhook-secret-$RANDOM" >"$TMP/etc/secret"
TOKEN=$(cat "$TMP/etc/token")
sysrq=$(fixture_of sysrq kdump-compressed)
oom=$(fixture_of oom kdump-compressed)
tar -C "$(dirname "$sysrq")" -czf "$TMP/www/sysrq.tar.gz" "$(basename "$sysrq")" dmesg.txt
# where the upload system keeps what its webhook announces
mkdir -p "$TMP/www/00345679"
cp "$sysrq" "$TMP/www/00345679/vmcore.kdump"

# the symbols, once, into the cache every job then finds them in
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$deb" "$sysrq" >"$TMP/symbols.out" 2>&1
ok $? "the symbol cache is seeded from the debug package"
start_nginx "$TMP/www"

common=(--set "watch.dirs=$MIRROR" --set watch.settle_ms=300 --set "http.token_file=$TMP/etc/token"
	--set "http.hmac_secret_file=$TMP/etc/secret" --set "crash.binary=$CRASH"
	--set "crash.commands=$TOP_SRCDIR/etc/crash-commands" --set "symbols.sources=cache" --set daemon.workers=2
	--set http.timeout=3 --set http.max_per_ip=8 --set "daemon.path_roots=$TMP/up")
start_daemon "$ROOT" "${common[@]}"

# --- the two triggers, to a finished report -------------------------------------------------------
body=$(api POST /analyze '{"case": "00345677", "url": "http://127.0.0.1:'"$HTTP_PORT"'/sysrq.tar.gz"}')
is "$(status)" 202 "POST /analyze with a URL: 202"
url_job=$(jq -r .id <<<"$body")
is "$(jq -r .links.self <<<"$body")" "/jobs/$url_job" "the answer links to the job"
mkdir -p "$MIRROR/00345678"
cp "$oom" "$MIRROR/00345678/dump.202611271435"
# the same upload announced by the webhook and by the mirror: one job, whichever comes first
mkdir -p "$MIRROR/upload-00345679"
size=$(stat -c %s "$sysrq")
sig=$(printf '%s' '{"case": "00345679", "url": "http://127.0.0.1:'"$HTTP_PORT"'/00345679/vmcore.kdump", "size": '"$size"'}' |
	openssl dgst -sha256 -hmac "$(cat "$TMP/etc/secret")" -r | cut -d' ' -f1)
body=$(TOKEN= api POST /analyze '{"case": "00345679", "url": "http://127.0.0.1:'"$HTTP_PORT"'/00345679/vmcore.kdump", "size": '"$size"'}' \
	-H "X-Hotkdump-Signature: sha256=$sig")
is "$(status)" 202 "the webhook's signed request: 202"
dup_job=$(jq -r .id <<<"$body")
cp "$sysrq" "$MIRROR/upload-00345679/.vmcore.kdump.Xa12Bc" # rsync's temporary, then its rename
mv "$MIRROR/upload-00345679/.vmcore.kdump.Xa12Bc" "$MIRROR/upload-00345679/vmcore.kdump"

# the mirror's job appears once the file has settled
mirror_job=$(job_of_case 00345678 20)
[ -n "$mirror_job" ]
ok $? "a dump dropped into a case folder of the mirror makes a job"

is "$(wait_job "$url_job" 900)" done "the URL's job is done"
is "$(wait_job "$mirror_job" 900)" done "the mirror's job is done"
is "$(wait_job "$dup_job" 900)" done "the announced-twice upload's job is done"
for j in "$url_job" "$mirror_job"; do
	rec=$(api GET "/jobs/$j")
	report=$(jq -r .links.report <<<"$rec")
	code=$(curl -s -o "$TMP/report.html" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$report")
	is "$code" 200 "$j: its report is served at $report"
	grep -q '<h1' "$TMP/report.html"
	ok $? "$j: the report is the page the pipeline wrote"
	is "$(jq -r '[.stages[] | .state] | unique | join(",")' <<<"$rec")" done "$j: every stage done"
done
is "$(api GET "/jobs/$url_job" | jq -r .cause.id)" sysrq-crash "the URL's job names the sysrq cause"
is "$(api GET "/jobs/$mirror_job" | jq -r .cause.id)" oom-panic "the mirror's job names the OOM panic"
is "$(api GET '/jobs?case=00345679' | jq -r .total)" 1 "webhook + mirror for one upload: one job"
is "$(ls "$ROOT/cases/00345679" | wc -l)" 1 "webhook + mirror for one upload: one case folder"
grep -q "'.vmcore.kdump.Xa12Bc'" "$ROOT.log"
ok $(( ! $? )) "rsync's temporary name was never taken for an upload"
body=$(api POST /analyze '{"case": "00345677", "url": "http://127.0.0.1:'"$HTTP_PORT"'/sysrq.tar.gz"}')
is "$(status) $(jq -r '.id + " " + (.duplicate | tostring)' <<<"$body")" "200 $url_job true" \
	"the same request again: 200 with the job it made"
is "$(grep -c 'GET /sysrq.tar.gz' "$TMP/nginx/access.log")" 1 "the upload was downloaded once"

# --- bad requests: the right 4xx at once, and the daemon answers meanwhile -------------------------
bad() { # bad WANT-STATUS DESCRIPTION BODY [CURL-ARGS…]
	local want=$1 what=$2 b=$3 t0 t1
	shift 3
	t0=$(date +%s%N)
	api POST /analyze "$b" "$@" >"$TMP/bad.json"
	t1=$(date +%s%N)
	is "$(status)" "$want" "$what: $want"
	jq -e '.error | length > 0' "$TMP/bad.json" >/dev/null
	ok $? "$what: the answer says why ($(jq -r .error "$TMP/bad.json" 2>/dev/null | head -c 120))"
	[ $(((t1 - t0) / 1000000)) -lt 2000 ]
	ok $? "$what: answered in $(((t1 - t0) / 1000000)) ms"
	healthz_fast
	ok $? "$what: /healthz answers at once after it"
}
bad 400 "malformed JSON" '{"case": "00345677", "url": '
bad 400 "not an object" '["00345677"]'
bad 400 "wrong type" '{"case": 345677, "url": "http://127.0.0.1/x"}'
bad 400 "size not a number" '{"case": "00345677", "url": "http://127.0.0.1/x", "size": "big"}'
bad 400 "unknown field" '{"case": "00345677", "url": "http://127.0.0.1/x", "priority": 1}'
bad 400 "bad case number" '{"case": "../etc", "url": "http://127.0.0.1/x"}'
bad 400 "file:// URL" '{"case": "00345677", "url": "file:///etc/shadow"}'
bad 400 "both url and path" '{"case": "00345677", "url": "http://127.0.0.1/x", "path": "/tmp/x"}'
bad 400 "bad sha256" '{"case": "00345677", "url": "http://127.0.0.1/x", "sha256": "abc"}'
bad 403 "path outside the roots" '{"case": "00345677", "path": "/etc/passwd"}'
mkdir -p "$TMP/up"
ln -s /etc/passwd "$TMP/up/innocent.kdump"
bad 403 "a link under a root pointing outside it" '{"case": "00345677", "path": "'"$TMP/up/innocent.kdump"'"}'
bad 400 "text after the object" '{"case": "00345677", "url": "http://127.0.0.1/x"} {}'
CONTENT_TYPE=application/x-www-form-urlencoded bad 415 "not JSON" 'case=00345677'
head -c 10485760 /dev/zero | tr '\0' ' ' >"$TMP/10m.json"
bad 413 "a 10 MB body" "@$TMP/10m.json"
bad 413 "a 10 MB body sent chunked (no length)" "@$TMP/10m.json" -H 'Transfer-Encoding: chunked'
TOKEN= bad 401 "no token" '{"case": "00345677", "url": "http://127.0.0.1/x"}'
TOKEN=wrong bad 401 "wrong token" '{"case": "00345677", "url": "http://127.0.0.1/x"}'
TOKEN= bad 401 "wrong signature" '{"case": "00345677", "url": "http://127.0.0.1/x"}' \
	-H "X-Hotkdump-Signature: sha256=$sig"
TOKEN= bad 401 "signature of another body" '{"case": "00345679", "url": "http://127.0.0.1:'"$HTTP_PORT"'/00345679/vmcore.kdump", "size": 1}' \
	-H "X-Hotkdump-Signature: sha256=$sig"
TOKEN= api POST "/jobs/$url_job/retry" '{"case": "00345679", "url": "http://127.0.0.1:'"$HTTP_PORT"'/00345679/vmcore.kdump", "size": '"$size"'}' \
	-H "X-Hotkdump-Signature: sha256=$sig" >/dev/null
is "$(status)" 401 "a webhook's signature replayed to another route is refused"
api DELETE /jobs/nope >/dev/null
is "$(status)" 404 "DELETE of an unknown job: 404"
api PUT /analyze '{}' >/dev/null
is "$(status)" 405 "PUT /analyze: 405"
api GET /cases/00345677/1/vmcore >/dev/null
is "$(status)" 404 "the dump itself is not served"
api GET /cases/00345677/1/../../../queue >/dev/null
is "$(status)" 404 "no way out of the case folder"
ln -s /etc/passwd "$ROOT/cases/00345677/1/crash/99-planted.txt"
api GET /cases/00345677/1/crash/99-planted.txt >/dev/null
is "$(status)" 404 "a link planted in a case folder is not followed"

# slow clients: connections that send half a request and wait hold nothing the others need
cat >"$TMP/slow.py" <<'PY'
# N connections that send the start of a request and never its end; prints how many the
# server closed, and after how many seconds the first and the last of them went.
import socket, sys, time
port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
start = time.time()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    try:
        s.sendall(b"POST /analyze HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    except OSError:
        pass
closed = []
for s in socks:
    s.settimeout(max(0.01, start + hold - time.time()))
    try:
        while s.recv(4096):
            pass
        closed.append(time.time() - start)
    except socket.timeout:
        pass
    except OSError:
        closed.append(time.time() - start)
print(len(closed), "%.1f" % min(closed or [0]), "%.1f" % max(closed or [0]))
PY
python3 "$TMP/slow.py" "$DAEMON_PORT" 20 8 >"$TMP/slow.out" &
slow=$!
sleep 1
healthz_fast
ok $? "20 slow clients holding connections: /healthz from another address answers at once"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/healthz")
[ "$code" != 200 ]
ok $? "the same address past http.max_per_ip (8) is turned away"
wait $slow
read -r n_closed first last <"$TMP/slow.out"
is "$n_closed" 20 "every slow client was cut off"
echo "# the slow clients were closed between $first s and $last s after they connected"
awk -v l="$last" 'BEGIN { exit !(l >= 2.5 && l < 8) }'
ok $? "the 8 that were let in were closed by http.timeout (3 s), after $last s"
healthz_fast
ok $? "and the daemon answers after them"

# --- reads: job list, the web UI's list in a real browser, metrics ---------------------------------
is "$(api GET '/jobs?state=done' | jq -r .total)" 3 "GET /jobs?state=done lists the 3 jobs"
api GET '/jobs?state=bogus' >/dev/null
is "$(status)" 400 "an unknown state filter: 400"
chromium --headless --no-sandbox --disable-gpu --dump-dom "$API/" >"$TMP/status.html" 2>/dev/null
for j in "$url_job" "$mirror_job" "$dup_job"; do
	grep -q "href=\"/ui/jobs/$j\"" "$TMP/status.html"
	ok $? "the job list in Chromium lists $j"
done
is "$(python3 "$TOP_SRCDIR/tests/e2e/dom.py" "$TMP/status.html" each tr.job data-state | grep -c '^done$')" 3 "the job list shows 3 done"
grep -q 'Crash triggered on purpose' "$TMP/status.html"
ok $? "the job list shows the cause"
api GET /metrics >"$TMP/metrics"
grep -q '^hotkdump_jobs{state="done"} 3$' "$TMP/metrics"
ok $? "/metrics: 3 jobs done"
grep -q '^hotkdump_symbol_cache_hits_total 3$' "$TMP/metrics"
ok $? "/metrics: 3 symbol cache hits"
awk '/^hotkdump_fetched_bytes_total/ { exit !($2 > 16000000) }' "$TMP/metrics"
ok $? "/metrics: bytes fetched counted"
awk '/^hotkdump_stage_seconds_count\{stage="crash"\}/ { exit !($2 == 3) }' "$TMP/metrics"
ok $? "/metrics: crash stage timed for the 3 jobs"
grep -q '^hotkdump_http_auth_rejected_total [1-9]' "$TMP/metrics"
ok $? "/metrics: refused authorisations counted"

# --- cancel, retry, SIGHUP --------------------------------------------------------------------------
body=$(api POST "/jobs/$url_job/retry" '')
is "$(status)" 202 "POST /jobs/ID/retry: 202"
wait_stage "$url_job" crash 300
ok $? "the retried job runs again"
api DELETE "/jobs/$url_job" >/dev/null
is "$(status)" 202 "DELETE of the running job: 202"
is "$(wait_job "$url_job" 60)" cancelled "the job is cancelled"
is "$(left_running "$ROOT/cases/00345677/2")" 0 "no crash of the cancelled job is left running"
is "$(ls "$ROOT/cases/00345677" | sort | tr '\n' ' ')" "1 2 " "the retry ran in a new case folder"
is "$(jq -r '.state + ": " + .error' "$ROOT/cases/00345677/2/job.json")" "failed: cancelled" \
	"the cancelled run's folder says it ended, and why"
api POST "/jobs/$url_job/retry" '' >/dev/null
for _ in $(seq 100); do
	folder=$(api GET "/jobs/$url_job" | jq -r '.folder // empty')
	[ -n "$folder" ] && break
	sleep 0.1
done
is "$folder" 00345677/3 "a retry after a cancel runs in a new folder again, not in the cancelled one"
api DELETE "/jobs/$url_job" >/dev/null
wait_job "$url_job" 60 >/dev/null
api DELETE "/jobs/$url_job" >/dev/null
is "$(status)" 409 "DELETE of a finished job: 409"
body=$(api POST /analyze '{"case": "00345677", "url": "http://127.0.0.1:'"$HTTP_PORT"'/sysrq.tar.gz"}')
is "$(status) $(jq -r .hint <<<"$body")" "200 this upload's job was cancelled; POST /jobs/$url_job/retry runs it again" \
	"the same upload sent again after a cancel: the known job, and how to run it again"

echo "tok-new-$RANDOM" >"$TMP/etc/token"
kill -HUP "$DAEMON_PID"
sleep 1
api POST /analyze '{"case": "00345680", "url": "http://127.0.0.1:1/x"}' >/dev/null
is "$(status)" 401 "after SIGHUP the old token is refused"
TOKEN=$(cat "$TMP/etc/token")
api POST /analyze '{"case": "00345680", "url": "http://127.0.0.1:1/x"}' >/dev/null
is "$(status)" 202 "after SIGHUP the new token is taken"

stop_daemon TERM
is "$DAEMON_STATUS" 0 "SIGTERM: the daemon stops cleanly"

# --- the other connection limits ----------------------------------------------------------------------
start_daemon "$TMP/root-limits" --set http.max_connections=4 --set http.max_per_ip=100 --set http.timeout=3 \
	--set http.connection_memory=8K
python3 "$TMP/slow.py" "$DAEMON_PORT" 4 6 >"$TMP/slow.out" &
slow=$!
sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --interface 127.0.0.2 "$API/healthz")
[ "$code" != 200 ]
ok $? "http.max_connections (4) held by slow clients: a fifth connection is turned away"
wait $slow
healthz_fast
ok $? "http.max_connections: once they are cut off, the API answers again"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Padding: $(head -c 16384 /dev/zero | tr '\0' a)" "$API/healthz")
case $code in 4*) ok 0 "headers past http.connection_memory (8K): $code" ;; *) ok 1 "headers past http.connection_memory (8K): $code" ;; esac
healthz_fast
ok $? "http.connection_memory: the API answers after it"
stop_daemon TERM

# --- TLS --------------------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/etc/key.pem" -out "$TMP/etc/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_daemon "$TMP/root-tls" --set "http.tls_cert=$TMP/etc/cert.pem" --set "http.tls_key=$TMP/etc/key.pem"
is "$(curl -s --cacert "$TMP/etc/cert.pem" "https://127.0.0.1:$DAEMON_PORT/healthz" | jq -r .status)" ok \
	"with a certificate the API speaks HTTPS"
curl -s --max-time 3 "http://127.0.0.1:$DAEMON_PORT/healthz" | grep -q '"ok"'
ok $(( ! $? )) "and not plain HTTP"
stop_daemon TERM

done_testing
