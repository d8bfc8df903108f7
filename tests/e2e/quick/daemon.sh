#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The quick tier, no fixtures: hotkdumpd with both triggers on synthetic dumps and the stand-in
# crash. A path and a URL posted to POST /analyze (the URL served by a real HTTP server on
# loopback) and a dump dropped into the watched mirror each run the whole pipeline to a report
# whose comment reaches the case on the Athena stand-in; bad requests get their 4xx while the
# daemon keeps answering; a job is cancelled, and the daemon stops cleanly on TERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/../athena-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

WWW_PID=
trap 'stop_daemon KILL; stop_standin; [ -n "$WWW_PID" ] && kill "$WWW_PID"; rm -rf "$TMP"' EXIT

make_synth_dumps
MIRROR=$TMP/mirror
mkdir -p "$MIRROR" "$TMP/up" "$TMP/www" "$TMP/etc"
cp "$SYNTH/kdump-zlib" "$TMP/up/vmcore"
tar -C "$SYNTH" -czf "$TMP/www/upload.tar.gz" elf

# a real HTTP server for the URL trigger
WWW_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$WWW_PORT" >"$TMP/www.log" 2>&1 &
WWW_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$WWW_PORT") 2>/dev/null && break; sleep 0.1; done

standin_account '{"00200001": "500Q0000001", "00200002": "500Q0000002", "00200003": "500Q0000003"}'
start_daemon "$ROOT" "${QUICK_SETS[@]}" "${ATHENA_SETS[@]}" --set "watch.dirs=$MIRROR" --set watch.settle_ms=200 \
	--set "daemon.path_roots=$TMP/up" --set daemon.workers=2 --set post.retry_min=1 --set post.retry_max=2
unset HOTKDUMP_ATHENA_PASSWORD

# --- the triggers -------------------------------------------------------------------------------
body=$(api POST /analyze '{"case": "00200001", "path": "'"$TMP/up/vmcore"'"}')
is "$(status)" 202 "POST /analyze with a path under daemon.path_roots: 202"
path_job=$(jq -r .id <<<"$body")
body=$(api POST /analyze '{"case": "00200002", "url": "http://127.0.0.1:'"$WWW_PORT"'/upload.tar.gz"}')
is "$(status)" 202 "POST /analyze with a URL: 202"
url_job=$(jq -r .id <<<"$body")
mkdir -p "$MIRROR/00200003"
cp "$SYNTH/flat" "$MIRROR/00200003/.dump.part"
mv "$MIRROR/00200003/.dump.part" "$MIRROR/00200003/dump.202612031200"
mirror_job=$(job_of_case 00200003 10)
[ -n "$mirror_job" ]
ok $? "a dump dropped into the mirror's case folder makes a job"

for j in "$path_job" "$url_job" "$mirror_job"; do
	is "$(wait_job "$j" 120)" done "$j: done"
	rec=$(api GET "/jobs/$j")
	is "$(jq -r '[.stages[] | .state] | unique | join(",")' <<<"$rec")" done "$j: every stage done"
done
grep -q 'GET /upload.tar.gz' "$TMP/www.log"
ok $? "the URL's upload was fetched from the HTTP server"
is "$(jq -r .identity.release "$ROOT/cases/00200003/1/job.json")" "$SYNTH_RELEASE" \
	"the mirror's flattened dump is identified"

# --- the findings reach the cases -------------------------------------------------------------
for c in 00200001:500Q0000001 00200002:500Q0000002 00200003:500Q0000003; do
	wait_comments "${c#*:}" 1 30
	ok $? "case ${c%%:*}: a comment on Athena"
	# the early post (the first look) is sent only when the full one was not ready by then
	comments_of "${c#*:}" | jq -e --arg c "${c%%:*}" '[.[] | select(endswith("[hotkdump:" + $c + "/1/full/1]"))] |
		length == 1 and (.[0] | contains("hotkdump analysis of case " + $c))' >/dev/null
	ok $? "case ${c%%:*}: one comment with the job's full report"
done

# --- the comment's links work as printed --------------------------------------------------------
url=$(sed -n 's/^Full report: //p' "$ROOT/cases/00200001/1/comment.txt")
is "$url" "http://127.0.0.1:$DAEMON_PORT/cases/00200001/1/report.html" \
	"report.base_url unset: the comment's Full report is the daemon's own URL"
code=$(curl -s -o "$TMP/served.html" -w '%{http_code}' "$url")
is "$code" 200 "... which the daemon serves"
cmp -s "$TMP/served.html" "$ROOT/cases/00200001/1/report.html"
ok $? "... and it is the job's report.html"

# --- /metrics adds up the three jobs ---------------------------------------------------------
curl -s "$API/metrics" >"$TMP/metrics"
grep -q '^hotkdump_jobs_finished_total{state="done"} 3$' "$TMP/metrics"
ok $? "/metrics: three jobs finished done"
grep -q '^hotkdump_stage_seconds_count{stage="crash"} 3$' "$TMP/metrics"
ok $? "/metrics: the crash stage of the three is timed"
awk '/^hotkdump_fetched_bytes_total/ { exit !($2 > 30000) }' "$TMP/metrics"
ok $? "/metrics: the bytes they fetched are counted"
grep -q '^hotkdump_watch_files_queued_total 1$' "$TMP/metrics"
ok $? "/metrics: the watcher queued one file"

# the text is what Prometheus accepts: HELP and TYPE on every metric, names and units as its
# linter wants them (promtool ships in Debian's prometheus package)
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/metrics" >"$TMP/promtool.out" 2>&1
	ok $? "/metrics: promtool check metrics finds nothing to say"
	sed 's/^/# /' "$TMP/promtool.out"
else
	skip "promtool is not installed (Debian's prometheus package)"
fi
awk '/^# (HELP|TYPE) / { seen[$3 " " $2]++ } /^[a-z]/ { n = $1; sub(/[{ ].*/, "", n); names[n]++ }
	END { for (n in names) { b = n; sub(/_(bucket|sum|count)$/, "", b)
		if (!seen[n " HELP"] && !seen[b " HELP"]) { print "# no HELP: " n; bad++ } } exit bad > 0 }' "$TMP/metrics"
ok $? "/metrics: every metric has its HELP"
version=$("$TOP_BUILDDIR/hotkdumpd" --version | awk 'NR == 1 { print $NF }')
grep -qx "hotkdump_build_info{version=\"$version\"} 1" "$TMP/metrics"
ok $? "/metrics: hotkdump_build_info names version $version"
# the crash stage as a histogram: cumulative buckets up to +Inf, which is the count
awk -F'[ ]' '/^hotkdump_stage_seconds_bucket\{stage="crash",/ { if ($2 < last) bad = 1; last = $2; inf = $2 }
	/^hotkdump_stage_seconds_count\{stage="crash"\}/ { count = $2 }
	END { exit !(!bad && inf == count && count == 3) }' "$TMP/metrics"
ok $? "/metrics: the crash stage's histogram is cumulative and ends at its count, 3"
grep -q '^# TYPE hotkdump_stage_seconds histogram$' "$TMP/metrics"
ok $? "/metrics: stage times are a histogram (percentiles can be taken)"

# --- bad requests, and the daemon answers meanwhile -------------------------------------------
for t in '400|{"case": "../etc", "path": "/tmp/x"}|a bad case number' \
	'400|{"case": "00200001", "url": "file:///etc/shadow"}|a file:// URL' \
	'403|{"case": "00200001", "path": "/etc/passwd"}|a path outside the roots' \
	'400|{"case": "00200001", "url": |malformed JSON'; do
	IFS='|' read -r want b what <<<"$t"
	api POST /analyze "$b" >"$TMP/bad.json"
	is "$(status)" "$want" "$what: $want"
	jq -e '.error | length > 0' "$TMP/bad.json" >/dev/null
	ok $? "$what: the answer says why"
done
is "$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")" 200 "the daemon still answers /healthz"

# --- cancel: a job held at the crash stage by a command that never answers --------------------
printf 'sys sys\nhang [timeout=600] hang\n' >"$TMP/hang-commands"
body=$(api POST /analyze '{"case": "00200001", "path": "'"$TMP/up/vmcore"'"}')
is "$(jq -r .duplicate <<<"$body")" true "the same path on the same case again: the job it made"
cp "$SYNTH/kdump" "$TMP/up/vmcore2"
stop_daemon
is "$DAEMON_STATUS" 0 "TERM: the daemon exits 0"
# the stand-in's never-answering command sleeps in a child named after this marker, deaf to SIGINT
export HOTKDUMP_STANDIN_MARKER=quick-standin-$$
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "crash.commands=$TMP/hang-commands" --set "daemon.path_roots=$TMP/up"
body=$(api POST /analyze '{"case": "00200001", "path": "'"$TMP/up/vmcore2"'"}')
hang_job=$(jq -r .id <<<"$body")
for _ in $(seq 200); do pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null && break; sleep 0.1; done
pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null
ok $? "the job is held in crash by a command that never answers"
api DELETE "/jobs/$hang_job" >/dev/null
is "$(status)" 202 "DELETE of the running job: 202"
is "$(wait_job "$hang_job" 60)" cancelled "the job is cancelled"
for _ in $(seq 150); do pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null || break; sleep 0.1; done
is "$(pgrep -fc "$HOTKDUMP_STANDIN_MARKER-sleeper")" 0 "nothing of the cancelled job's crash is left running"
is "$(jq -r '.state + ": " + .error' "$ROOT/cases/00200001/2/job.json")" "failed: cancelled" \
	"the cancelled job's folder says it ended, and why"
is "$(jq -r .state "$ROOT/cases/00200001/1/job.json")" done "the earlier job of the case is untouched"
stop_daemon
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"

# --- finished jobs leave the queue with their case folders; their uploads stay known -----------
jobs_before=$(ls "$ROOT/queue" | grep -c '\.json$')
"$HOTKDUMP" purge --root "$ROOT" --older-than 0 >"$TMP/purge.out" 2>&1
ok $? "hotkdump purge removes the finished case folders"
[ ! -e "$ROOT/cases/00200003/1" ]
ok $? "the mirror job's folder is gone"
start_daemon "$ROOT" "${QUICK_SETS[@]}" --set "watch.dirs=$MIRROR" --set watch.settle_ms=200 --set "daemon.path_roots=$TMP/up"
# the cancelled job stays (POST /jobs/ID/retry may still run it) until purge.older_than
grep -q "job queue: $((jobs_before - 1)) finished job(s) whose case folders are gone pruned; $((jobs_before - 1)) upload(s) known" "$ROOT.log"
ok $? "at the start, the daemon prunes the $((jobs_before - 1)) done jobs whose folders are gone, and says so"
is "$(cat "$ROOT"/queue/*.json | jq -r .state)" cancelled "the one entry left in the queue's folder is the cancelled job"
sleep 1 # the rescan of the mirror, and its settle time
is "$(api GET '/jobs?case=00200003' | jq -r .total)" 0 "the mirror's dump, found again by the rescan, makes no job"
[ ! -e "$ROOT/cases/00200003/1" ]
ok $? "and no case folder"
body=$(api POST /analyze '{"case": "00200001", "path": "'"$TMP/up/vmcore"'"}')
is "$(status)" 200 "the pruned upload posted again: 200"
jq -e '.duplicate and .pruned and (.hint | contains("purged"))' <<<"$body" >/dev/null
ok $? "a duplicate of a pruned job, and the answer says so ($(jq -c '{duplicate, pruned, hint}' <<<"$body"))"
is "$(api GET "/jobs/$(jq -r .id <<<"$body")" >/dev/null; status)" 404 "the pruned job is no longer in the API"
stop_daemon
is "$DAEMON_STATUS" 0 "the daemon stops cleanly after the prune"

done_testing
