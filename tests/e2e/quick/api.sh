#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The quick tier, no fixtures: the API's conventions on a real hotkdumpd. Every route and every
# error path is called; each answer is checked against the daemon's own /openapi.json (path,
# method, status, content type, schema) by openapi-check.py, every 4xx is an RFC 9457 problem
# whose type GET /problems lists, 202s carry Location, GET /jobs pages with a cursor that visits
# every job once, and a connection is kept alive between requests.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

HANG_PID=
trap 'stop_daemon KILL; [ -n "$HANG_PID" ] && kill "$HANG_PID"; rm -rf "$TMP"' EXIT

if ! python3 -c 'import jsonschema' 2>/dev/null; then
	skip "python3-jsonschema is not installed"
	done_testing
	exit
fi

make_synth_dumps
mkdir -p "$TMP/up" "$TMP/x"
for n in 1 2 3 4 5; do cp "$SYNTH/kdump-zlib" "$TMP/up/vmcore.$n"; done
token=tok-$RANDOM-$RANDOM
printf '%s\n' "$token" >"$TMP/token"
chmod 600 "$TMP/token"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "http.token_file=$TMP/token" --set "daemon.path_roots=$TMP/up" \
	--set http.max_body=1024 --set daemon.workers=1

# x METHOD PATH [BODY [CURL-ARGS…]]: one exchange, recorded for openapi-check.py; the body on
# stdout and in the file $TMP/last names, the status in $TMP/status, the headers in
# $TMP/headers. With the token unless NOAUTH.
x() {
	local method=$1 path=$2 body=${3-}
	shift 3 2>/dev/null || shift $#
	local out
	out=$(mktemp "$TMP/x/XXXXXX")
	echo "$out" >"$TMP/last"
	local args=(-s -o "$out" -D "$TMP/headers" -w '%{http_code}' -X "$method" --max-time 30)
	[ -n "$body" ] && args+=(-H "Content-Type: ${CONTENT_TYPE:-application/json}" --data-binary "$body")
	[ -z "${NOAUTH:-}" ] && args+=(-H "Authorization: Bearer $token")
	curl "${args[@]}" "$@" "$API$path" >"$TMP/status"
	local ct loc
	ct=$(sed -n 's/^Content-Type: *//Ip' "$TMP/headers" | tr -d '\r' | tail -n 1)
	loc=$(sed -n 's/^Location: *//Ip' "$TMP/headers" | tr -d '\r' | tail -n 1)
	jq -cn --arg m "$method" --arg p "$path" --argjson s "$(cat "$TMP/status")" --arg c "$ct" --arg l "$loc" \
		--arg b "$out" '{method: $m, path: $p, status: $s, content_type: $c, location: $l, body: $b}' >>"$TMP/exchanges.jsonl"
	cat "$out"
}

# answer: the last exchange's status and problem type ("404:/problems/no-such-job"); location: its Location
answer() { echo "$(status):$(jq -r .type "$(cat "$TMP/last")")"; }
location() { sed -n 's/^Location: *//Ip' "$TMP/headers" | tr -d '\r'; }

# --- documentation ----------------------------------------------------------------------------
x GET /openapi.json >"$TMP/openapi.json"
is "$(status)" 200 "GET /openapi.json: 200"
jq -S . "$TMP/openapi.json" >"$TMP/served.json" && jq -S . "$TOP_SRCDIR/daemon/openapi.json" >"$TMP/source.json" &&
	cmp -s "$TMP/served.json" "$TMP/source.json"
ok $? "/openapi.json is daemon/openapi.json, and JSON"
is "$(jq -r .openapi "$TMP/openapi.json")" 3.1.0 "it is OpenAPI 3.1"
NOAUTH=1 x GET /problems >"$TMP/problems.json"
is "$(status)" 200 "GET /problems without a token: 200 (it documents, it tells nothing)"
is "$(jq '[.problems[] | select((.help | length) > 0)] | length' "$TMP/problems.json")" \
	"$(jq '.problems | length' "$TMP/problems.json")" "every problem type says what to do"
x GET /problems/unauthorized >/dev/null
is "$(status)" 200 "GET /problems/unauthorized: 200"
x GET /problems/no-such-thing >/dev/null
is "$(status)" 404 "GET /problems/no-such-thing: 404"
x POST /problems '{}' >/dev/null
is "$(status)" 405 "POST /problems: 405"
x GET /healthz >/dev/null
x DELETE /healthz >/dev/null
x GET / >/dev/null
x GET /metrics >/dev/null
x POST /metrics '{}' >/dev/null
is "$(status)" 405 "POST /metrics: 405"
grep -qi '^Allow: GET' "$TMP/headers"
ok $? "405 says what is allowed (Allow: GET)"
x GET /nowhere >/dev/null
is "$(status)" 404 "GET /nowhere: 404"

# --- POST /analyze and its refusals -------------------------------------------------------------
NOAUTH=1 x POST /analyze '{"case": "00200501", "path": "'"$TMP/up/vmcore.1"'"}' >/dev/null
is "$(status)" 401 "without the token: 401"
NOAUTH=1 x GET /jobs "" -H "Authorization: Bearer wrong" >/dev/null
is "$(status)" 200 "a read with a wrong token while reads are open: 200"
CONTENT_TYPE=text/plain x POST /analyze '{"case": "00200501"}' >/dev/null
is "$(status)" 415 "a body that is not JSON by its type: 415"
x POST /analyze '{"case": "00200501", "path": ' >/dev/null
is "$(status)" 400 "malformed JSON: 400"
is "$(jq -r .type "$(cat "$TMP/last")")" /problems/invalid-request "... of type invalid-request"
x POST /analyze '{"case": "../x", "path": "'"$TMP/up/vmcore.1"'"}' >/dev/null
is "$(jq -r .type "$(cat "$TMP/last")")" /problems/invalid-case "a bad case number: invalid-case"
x POST /analyze '{"case": "00200501", "path": "/etc/passwd"}' >/dev/null
is "$(answer)" 403:/problems/path-forbidden "a path outside the roots: 403 path-forbidden"
x POST /analyze '{"case": "00200501", "path": "'"$TMP/up/none"'"}' >/dev/null
is "$(answer)" 400:/problems/invalid-path "a missing file: 400 invalid-path"
x POST /analyze "{\"case\": \"00200501\", \"filename\": \"$(head -c 2000 /dev/zero | tr '\0' a)\"}" >/dev/null
is "$(answer)" 413:/problems/body-too-large "a body over http.max_body: 413 body-too-large"
x GET /analyze >/dev/null
is "$(status)" 405 "GET /analyze: 405"

ids=()
for n in 1 2 3 4 5; do
	id=$(x POST /analyze '{"case": "0020050'"$n"'", "path": "'"$TMP/up/vmcore.$n"'"}' | jq -r .id)
	is "$(status)" 202 "job $n queued: 202"
	is "$(location)" "/jobs/$id" "job $n: Location: /jobs/$id"
	ids+=("$id")
done
x POST /analyze '{"case": "00200501", "path": "'"$TMP/up/vmcore.1"'"}' >/dev/null
is "$(status):$(jq -r .duplicate "$(cat "$TMP/last")")" 200:true "the same upload again: 200, a duplicate"
for id in "${ids[@]}"; do is "$(wait_job "$id" 120)" done "$id: done"; done

# --- GET /jobs: filters and the cursor ------------------------------------------------------------
x GET "/jobs?state=bogus" >/dev/null
is "$(answer)" 400:/problems/invalid-parameter "an unknown state: 400 invalid-parameter"
x GET "/jobs?limit=0" >/dev/null
is "$(status)" 400 "limit=0: 400"
x GET "/jobs?cursor=nope" >/dev/null
is "$(status)" 400 "a cursor that is no job: 400"
x GET "/jobs?limit=100" | jq -r '.jobs[].id' >"$TMP/all"
is "$(wc -l <"$TMP/all")" 5 "five jobs in one page"
cursor= pages=0
: >"$TMP/paged"
while :; do
	x GET "/jobs?limit=2${cursor:+&cursor=$cursor}" >"$TMP/page.json"
	pages=$((pages + 1))
	jq -r '.jobs[].id' "$TMP/page.json" >>"$TMP/paged"
	is "$(jq .total "$TMP/page.json")" 5 "page $pages: total 5"
	cursor=$(jq -r '.next_cursor // empty' "$TMP/page.json")
	[ -n "$cursor" ] && [ $pages -lt 10 ] || break
done
is "$pages" 3 "two by two: three pages, the last with next_cursor null"
cmp -s "$TMP/all" "$TMP/paged"
ok $? "the pages visit every job once, newest first"
x GET "/jobs?case=00200503" | jq -e '.total == 1 and .jobs[0].case == "00200503"' >/dev/null
ok $? "?case= filters"

# --- one job -------------------------------------------------------------------------------------
id=${ids[0]}
x GET "/jobs/$id" >/dev/null
is "$(status)" 200 "GET /jobs/ID: 200"
x GET /jobs/j-nope >/dev/null
is "$(answer)" 404:/problems/no-such-job "an unknown job: 404 no-such-job"
x GET "/jobs/$id/other" >/dev/null
is "$(status)" 404 "GET /jobs/ID/other: 404"
x PUT "/jobs/$id" '{}' >/dev/null
is "$(status)" 405 "PUT /jobs/ID: 405"
x DELETE "/jobs/$id" >/dev/null
is "$(answer)" 409:/problems/job-finished "cancelling a finished job: 409 job-finished"
x GET "/jobs/$id/retry" >/dev/null
is "$(status)" 405 "GET /jobs/ID/retry: 405"

# the web UI's pages: HTML, with the API's problems for what is wrong
x GET "/?state=done" >/dev/null
is "$(status)" 200 "GET /?state=done: 200"
x GET "/?state=bogus" >/dev/null
is "$(answer)" 400:/problems/invalid-parameter "the job list with an unknown state: 400 invalid-parameter"
x GET "/ui/jobs/$id" >/dev/null
is "$(status)" 200 "GET /ui/jobs/ID: 200"
x GET /ui/jobs/j-nope >/dev/null
is "$(answer)" 404:/problems/no-such-job "the page of an unknown job: 404 no-such-job"
x POST "/ui/jobs/$id" '{}' >/dev/null
is "$(status)" 405 "POST /ui/jobs/ID: 405"
x GET /ui/cases/00200503 >/dev/null
is "$(status)" 200 "GET /ui/cases/CASE: 200"
x GET /ui/cases/not-a-case >/dev/null
is "$(answer)" 400:/problems/invalid-case "the page of a malformed case: 400 invalid-case"
x GET /ui/daemon >/dev/null
is "$(status)" 200 "GET /ui/daemon: 200"
NOAUTH=1 x GET /ui/daemon >/dev/null
is "$(status)" 200 "GET /ui/daemon without a token, reads open: 200"
x POST "/jobs/$id/retry" >/dev/null
is "$(status)" 202 "retrying a finished job: 202"
is "$(location)" "/jobs/$id" "... with its Location"
wait_job "$id" 120 >/dev/null

# a job held in its download (a server that accepts and never answers), cancelled
HANG_PORT=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); c = s.accept(); time.sleep(600)' "$HANG_PORT" &
HANG_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$HANG_PORT") 2>/dev/null && break; sleep 0.1; done
held=$(x POST /analyze '{"case": "00200509", "url": "http://127.0.0.1:'"$HANG_PORT"'/vmcore"}' | jq -r .id)
x POST "/jobs/$held/retry" >/dev/null
is "$(answer)" 409:/problems/job-not-finished "retrying a job that has not finished: 409 job-not-finished"
x DELETE "/jobs/$held" >/dev/null
is "$(status)" 202 "cancelling a job that has not finished: 202"
is "$(location)" "/jobs/$held" "... with its Location"
is "$(wait_job "$held" 30)" cancelled "the held job is cancelled"

# --- case files ------------------------------------------------------------------------------------
x GET /cases/00200502/1/report.html >/dev/null
is "$(status)" 200 "a report: 200"
x GET /cases/00200502/1/summary.json >"$TMP/summary.json"
is "$(jq -r '.schema_version, (.identity.crash_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' "$TMP/summary.json" | paste -sd,)" \
	2,true "summary.json: schema_version 2, its crash time ISO 8601"
x GET /cases/00200502/9/report.html >/dev/null
is "$(status)" 404 "a report that is not there: 404"
x DELETE /cases/00200502/1/report.html >/dev/null
is "$(status)" 405 "DELETE of a case file: 405"

# --- the shared queue's routes, on a daemon with the local queue ---------------------------------------
x GET /cluster >/dev/null
is "$(answer)" 404:/problems/not-shared "GET /cluster with the local queue: 404 not-shared"
x POST /cluster '{}' >/dev/null
is "$(status)" 405 "POST /cluster: 405"
x GET "/uploads$TMP/up/vmcore.1" >/dev/null
is "$(status)" 200 "GET /uploads/PATH of a file under daemon.path_roots: 200"
cmp -s "$(cat "$TMP/last")" "$TMP/up/vmcore.1"
ok $? "... the file whole"
x GET /uploads/etc/passwd >/dev/null
is "$(answer)" 403:/problems/path-forbidden "GET /uploads/ of a file outside the roots: 403 path-forbidden"
ln -s /etc/passwd "$TMP/up/passwd-link"
x GET "/uploads$TMP/up/passwd-link" >/dev/null
is "$(answer)" 403:/problems/path-forbidden "... and of a link under the roots that leads outside: 403"
x GET "/uploads$TMP/up/no-such-file" >/dev/null
is "$(answer)" 404:/problems/not-found "GET /uploads/ of a missing file: 404"
NOAUTH=1 x GET "/uploads$TMP/up/vmcore.1" >/dev/null
is "$(answer)" 401:/problems/unauthorized "GET /uploads/ without the token, though reads are open: 401 (an upload is a customer's dump)"
x DELETE "/uploads$TMP/up/vmcore.1" >/dev/null
is "$(status)" 405 "DELETE /uploads/PATH: 405"

# --- the symbol cache, for the other hosts -----------------------------------------------------------
x GET "/buildid/$SYNTH_BUILD_ID/debuginfo" >/dev/null
is "$(status)" 200 "GET /buildid/ID/debuginfo of a kernel in the cache: 200"
is "$(readelf -n "$(cat "$TMP/last")" | sed -n 's/.*Build ID: *//p')" "$SYNTH_BUILD_ID" "... its vmlinux, of that build-id"
x GET "/buildid/$SYNTH_BUILD_ID/modules" >/dev/null
is "$(status):$(jq -r '.modules | type' "$(cat "$TMP/last")")" 200:array "GET /buildid/ID/modules: 200, a list"
x GET /buildid/0123456789abcdef/debuginfo >/dev/null
is "$(answer)" 404:/problems/not-found "a build-id the cache has not: 404"
x GET /buildid/../../etc/debuginfo "" --path-as-is >/dev/null
is "$(answer)" 404:/problems/not-found "a build-id that is not hex: 404"
x GET "/buildid/$SYNTH_BUILD_ID/modules/../info.json" "" --path-as-is >/dev/null
is "$(answer)" 404:/problems/not-found "a module path that climbs out of the entry: 404"
x GET "/buildid/$SYNTH_BUILD_ID/modules/kernel/none.ko" >/dev/null
is "$(answer)" 404:/problems/not-found "a module the entry has not: 404"
NOAUTH=1 x GET "/buildid/$SYNTH_BUILD_ID/debuginfo" >/dev/null
is "$(answer)" 401:/problems/unauthorized "GET /buildid/ without the token: 401"
x POST "/buildid/$SYNTH_BUILD_ID/debuginfo" '{}' >/dev/null
is "$(status)" 405 "POST /buildid/ID/debuginfo: 405"

# --- every answer against the description ------------------------------------------------------------
python3 "$TOP_SRCDIR/tests/e2e/quick/openapi-check.py" "$TMP/openapi.json" "$TMP/exchanges.jsonl" "$TMP/problems.json" \
	>"$TMP/check.out" 2>&1
ok $? "every answer ($(wc -l <"$TMP/exchanges.jsonl")) matches /openapi.json; every error is a problem of a listed type; every operation exercised"
sed 's/^/# /' "$TMP/check.out"

# --- keep-alive ---------------------------------------------------------------------------------------
curl -sv -o /dev/null -o /dev/null "$API/healthz" "$API/jobs" 2>"$TMP/keepalive.err"
grep -q 'Re-using existing connection' "$TMP/keepalive.err" && ! grep -qi '^< Connection: close' "$TMP/keepalive.err"
ok $? "two requests on one connection (keep-alive)"
grep -i '^< connection\|re-using\|closing' "$TMP/keepalive.err" | sed 's/^/# /'

done_testing
