#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The quick tier, no fixtures: the web UI of a real hotkdumpd, in headless Chromium (no
# JavaScript involved: the pages are HTML and a form), with jobs of five cases: three done, one
# of them on a dump cut short (to be read with care), one failed, one downloading slowly while
# the pages are read. Screenshots go to tests/e2e/screenshots/ui-*.png of the build. Checked
# through the DOM Chromium built, against the API's own answers:
#   - the list: every job, its state, the "read with care" flag, the live progress;
#   - the filters (case, state, cause, kernel) keep exactly the jobs the API says match, and
#     what was typed is escaped back into the form;
#   - a job page while its job runs (state, stage, the download's bar) and once done (a row per
#     stage with its time, the findings, links to its files that answer);
#   - the case page (every dump of the case), the daemon page (version, queue, workers, disk);
#   - with http.protect_reads, no page without the read token.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

WWW_PID=
trap 'stop_daemon KILL; [ -n "$WWW_PID" ] && kill "$WWW_PID"; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

if ! command -v chromium >/dev/null; then
	skip "chromium is not installed"
	done_testing
	exit
fi
shots=$TOP_BUILDDIR/tests/e2e/screenshots
mkdir -p "$shots"
browser() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chromium" "$@" 2>>"$TMP/chromium.log"
}
dom() { python3 "$TOP_SRCDIR/tests/e2e/dom.py" "$@"; }
# page NAME PATH: Chromium's DOM of the page in $TMP/NAME.html, and its screenshot
page() {
	browser --dump-dom "$API$2" >"$TMP/$1.html"
	browser --window-size=1280,900 --screenshot="$shots/ui-$1.png" "$API$2" >/dev/null
}
# rows NAME: "id case state" of every job row of a page, in page order
rows() { dom "$TMP/$1.html" each tr.job data-id data-case data-state | tr '\t' ' '; }
# api_ids QUERY: the ids GET /jobs?QUERY lists, newest first (as the pages list them)
api_ids() { api GET "/jobs?limit=100&$1" | jq -r '.jobs[].id'; }

make_synth_dumps
mkdir -p "$TMP/up" "$TMP/www/in"
cp "$SYNTH/kdump-zlib" "$TMP/up/vmcore.1"
cp "$SYNTH/kdump" "$TMP/up/vmcore.2"
cp "$SYNTH/elf" "$TMP/up/vmcore.3"
size=$(stat -c %s "$SYNTH/kdump")
head -c $((size / 2)) "$SYNTH/kdump" >"$TMP/up/vmcore.cut"
cp "$SYNTH/kdump-zlib" "$TMP/www/in/vmcore"
head -c 5000000 /dev/urandom >"$TMP/www/in/notes.bin"
tar -C "$TMP/www/in" -cf "$TMP/www/upload.tar" vmcore notes.bin
for n in 2 3; do # other uploads, to keep both workers busy and one job queued
	cp "$TMP/www/upload.tar" "$TMP/www/upload$n.tar"
	echo "$n" >>"$TMP/www/upload$n.tar"
done
start_slow_server "$TMP/www"
token=tok-$RANDOM-$RANDOM
printf '%s\n' "$token" >"$TMP/token"
chmod 600 "$TMP/token"
# a site rule, so that jobs of the stand-in crash have a cause: the real triage engine reads it
mkdir -p "$TMP/rules"
cat >"$TMP/rules/50-standin.json" <<'EOF'
{ "rules": [ { "id": "standin-answered", "severity": "low", "priority": 100,
  "when": { "source": "crash:sys", "match": "output of: sys" },
  "summary": "The stand-in <crash> answered sys & more",
  "recommendation": "Nothing: <b>this</b> is a test." } ] }
EOF
sets=("${QUICK_SETS[@]}" --set "triage.rules_dir=$TMP/rules" --set "http.token_file=$TMP/token" --set "daemon.path_roots=$TMP/up" --set daemon.workers=2)
start_daemon "$ROOT" "${sets[@]}"
TOKEN=$token

submit() { api POST /analyze "{\"case\": \"$1\", \"$2\": \"$3\"}" | jq -r .id; }
j1=$(submit 00200801 path "$TMP/up/vmcore.1")
j2=$(submit 00200801 path "$TMP/up/vmcore.2")
j3=$(submit 00200802 path "$TMP/up/vmcore.3")
jcut=$(submit 00200803 path "$TMP/up/vmcore.cut")
jbad=$(submit 00200804 url "http://127.0.0.1:$WWW_PORT/missing.tar")
for j in "$j1" "$j2" "$j3" "$jcut"; do
	is "$(wait_job "$j" 120)" done "job $j is done"
done
is "$(wait_job "$jbad" 120)" failed "job $jbad (an upload that is not there) failed"
jlive=$(submit 00200805 url "http://127.0.0.1:$WWW_PORT/upload.tar")
for _ in $(seq 200); do
	api GET "/jobs/$jlive" | jq -e '.progress.current.what == "download" and .progress.current.done > 0' >/dev/null && break
	sleep 0.1
done

# --- the list, while a job downloads ---------------------------------------------------------------
page list /
rows list >"$TMP/rows"
sed 's/^/# /' "$TMP/rows"
is "$(cut -d' ' -f1 "$TMP/rows" | tr '\n' ' ')" "$(api_ids '' | tr '\n' ' ')" "the list shows every job, newest first, as GET /jobs"
is "$(grep -c ' done$' "$TMP/rows")" 4 "... 4 done"
is "$(grep "^$jlive " "$TMP/rows" | cut -d' ' -f3)" running "... the downloading one running"
grep -q "<tr class=\"job\" data-id=\"$jlive\".*<progress max=\"[0-9]*\" value=\"[0-9]*\"></progress> [0-9]*%" "$TMP/list.html"
ok $? "its row shows the download's bar and percentage"
is "$(dom "$TMP/list.html" each span.care title | wc -l)" 1 "one job is flagged 'read with care'"
grep -q "data-id=\"$jcut\".*read with care" "$TMP/list.html"
ok $? "... the one whose dump was cut short"
grep -q '<meta http-equiv="refresh"' "$TMP/list.html"
ok $? "while a job runs, the list refreshes itself"

# --- a job page while its job runs -----------------------------------------------------------------
page job-live "/ui/jobs/$jlive"
is "$(dom "$TMP/job-live.html" text state)" running "the live job's page: running"
live=$(dom "$TMP/job-live.html" text progress)
echo "# progress: $live"
grep -qE '^fetch \([0-9]+ of [0-9]+\) ?download [0-9]+%' <<<"$live"
ok $? "... its stage and the download's percentage"
grep -q '<p id="progress">.*<progress max="[0-9]*" value="[0-9]*">' "$TMP/job-live.html"
ok $? "... with a bar"
grep -qE 'left' <<<"$live"
ok $? "... and the time left"

# --- a job still queued (no case folder yet) -------------------------------------------------------
jbusy=$(submit 00200806 url "http://127.0.0.1:$WWW_PORT/upload2.tar")
jq2=$(submit 00200807 url "http://127.0.0.1:$WWW_PORT/upload3.tar")
is "$(api GET "/jobs/$jq2" | jq -r .state)" queued "with both workers busy, a third job waits"
page job-queued "/ui/jobs/$jq2"
is "$(dom "$TMP/job-queued.html" text state)" queued "a queued job's page: queued"
healthz=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
is "$healthz" 200 "... and the daemon still answers"
grep -i '^Content-Security-Policy:' <(curl -s -D - -o /dev/null "$API/ui/jobs/$jq2") | grep -q "default-src 'none'"
ok $? "the pages forbid scripts (Content-Security-Policy)"
api DELETE "/jobs/$jq2" >/dev/null
api DELETE "/jobs/$jbusy" >/dev/null

# --- the filters -----------------------------------------------------------------------------------
# against jobs that no longer change: the page and the API's answer are read one after the other
for _ in $(seq 600); do
	[ "$(api GET '/jobs?limit=100' | jq '[.jobs[] | select(.state == "queued" or .state == "running")] | length')" = 0 ] && break
	sleep 0.1
done
page f-case "/?case=00200801"
is "$(rows f-case | cut -d' ' -f1 | tr '\n' ' ')" "$(api_ids case=00200801 | tr '\n' ' ')" "filter case=00200801: the jobs the API lists for it"
is "$(rows f-case | wc -l)" 2 "... its two dumps"
is "$(dom "$TMP/f-case.html" each input name value | grep '^case' | cut -f2)" 00200801 "... and the form shows the case typed"
page f-state "/?state=failed"
is "$(rows f-state)" "$jbad 00200804 failed" "filter state=failed: the failed job only"
is "$(dom "$TMP/f-state.html" each option value selected | grep -v -- '-$' | cut -f1)" failed "... the form keeps the state chosen"
cause=$(api GET '/jobs?state=done' | jq -r '[.jobs[].cause.summary // empty][0]')
word=$(awk '{ print $3 }' <<<"$cause")
want=$(api GET '/jobs?limit=100' | jq -r --arg w "${word,,}" '.jobs[] | select(((.cause.summary // .error // "") | ascii_downcase) | contains($w)) | .id' | tr '\n' ' ')
page f-cause "/?cause=${word^^}"
echo "# a cause: $cause; filtered on '${word^^}'"
is "$(rows f-cause | cut -d' ' -f1 | tr '\n' ' ')" "$want" "filter cause=${word^^}: the jobs whose cause has it, ignoring case"
[ -n "$want" ]
ok $? "... which are some"
page f-kernel "/?kernel=99-synth"
is "$(rows f-kernel | cut -d' ' -f1 | tr '\n' ' ')" "$(api GET '/jobs?limit=100' | jq -r '.jobs[] | select((.kernel // "") | contains("99-synth")) | .id' | tr '\n' ' ')" \
	"filter kernel=99-synth: the jobs of that kernel"
is "$(rows f-kernel | grep -c " $jbad ")" 0 "... not the failed one, which has no kernel"
page f-none "/?kernel=6.12.0&state=done"
is "$(rows f-none | grep -c .)" 0 "filters that match nothing: no row"
is "$(dom "$TMP/f-none.html" text shown)" "0 job(s)" "... and it says so"
hostile='"><script>document.title="x"</script><b x="'
page f-hostile "/?case=$(jq -rn --arg s "$hostile" '$s | @uri')"
is "$(dom "$TMP/f-hostile.html" count script)" 0 "a case typed with markup: no script in the page"
is "$(dom "$TMP/f-hostile.html" each input name value | grep '^case' | cut -f2-)" "$hostile" "... it is shown back as typed, as text"

# --- a finished job's page -------------------------------------------------------------------------
page job "/ui/jobs/$j1"
is "$(dom "$TMP/job.html" text state)" done "a done job's page: done"
is "$(dom "$TMP/job.html" each tr data-stage | grep -v '^-$' | tr '\n' ' ')" "$(api GET "/jobs/$j1" | jq -r '.stages | keys_unsorted[]' | tr '\n' ' ')" \
	"... a row for every stage of the job"
grep -qE '<tr data-stage="crash"><td>crash</td><td>done</td><td>[0-9T:.-]+Z</td><td class="num">[0-9]+\.[0-9]{2}</td>' "$TMP/job.html"
ok $? "... with its state, start and seconds"
is "$(dom "$TMP/job.html" each tr.finding data-kind | head -n 1)" cause "... the findings, the cause first"
is "$(dom "$TMP/job.html" text cause)" "$(api GET "/jobs/$j1" | jq -r .cause.summary)" "... the cause as the API has it (its markup as text)"
links=$(sed -n 's/.*<ul id="files">\(.*\)<\/ul>.*/\1/p' "$TMP/job.html" | grep -o 'href="[^"]*"' | cut -d'"' -f2)
grep -q '/report.html$' <<<"$links"
ok $? "... a link to the report"
bad=0
for l in $links; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$l")" = 200 ] || { echo "# $l does not answer"; bad=1; }
done
is "$bad:$(wc -w <<<"$links")" "0:$(api GET "/jobs/$j1" | jq '.links | length')" "... every file of the job linked, and every link answers"
page job-care "/ui/jobs/$jcut"
grep -q 'The dump is incomplete: truncated' <<<"$(dom "$TMP/job-care.html" text care)"
ok $? "the cut dump's page says what to read with care, and why"

# --- the case page and the daemon page -------------------------------------------------------------
page case /ui/cases/00200801
is "$(grep -o '<h1>[^<]*</h1>' "$TMP/case.html")" "<h1>Case 00200801</h1>" "the case page is titled with its case"
is "$(rows case | cut -d' ' -f1,2 | tr '\n' ' ')" "$j2 00200801 $j1 00200801 " "... and lists both its dumps"
page daemon /ui/daemon
is "$(dom "$TMP/daemon.html" text fact-version)" "$("$HOTKDUMPD" --version | head -n 1 | awk '{ print $NF }')" "the daemon page: its version"
is "$(dom "$TMP/daemon.html" text fact-jobs_done)" "$(api GET '/jobs?state=done' | jq .total)" "... the jobs done, as GET /jobs counts them"
is "$(dom "$TMP/daemon.html" text fact-workers)" 2 "... its workers"
grep -qE '^[0-9]+\.[0-9] GiB$' <<<"$(dom "$TMP/daemon.html" text fact-disk_free)"
ok $? "... the disk free"
is "$(wait_job "$jlive" 120)" done "the slow job finishes"
page list-done /
grep -q '<meta http-equiv="refresh"' "$TMP/list-done.html"
is $? 1 "once every job is done, the list does not refresh"

# --- reads protected --------------------------------------------------------------------------------
stop_daemon
start_daemon "$ROOT" "${sets[@]}" --set http.protect_reads=true
for p in / "/ui/jobs/$j1" /ui/cases/00200801 /ui/daemon; do
	is "$(curl -s -o "$TMP/p" -w '%{http_code}' "$API$p"):$(jq -r .type "$TMP/p" 2>/dev/null)" 401:/problems/unauthorized \
		"http.protect_reads: $p without the token: 401"
done
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/ui/jobs/$j1")" 200 "... with it: 200"

echo "# screenshots: $(cd "$shots" && ls ui-*.png | tr '\n' ' ')"
done_testing
