#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Post back: a job's findings reach the case on Athena (a Salesforce stand-in on loopback that
# records every call), a webhook and the hook scripts, through the durable outbox: the exact
# calls, long comments in parts, an outage with a daemon restart in between, an answer lost
# after the comment was made, and every kind of refusal, with nothing lost and no comment twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
. "$(dirname "$0")/athena-lib.sh"

load_fixtures
load_debug_package
load_crash
trap 'stop_daemon KILL; stop_standin; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/etc/hooks" "$TMP/up"
until_true() { # until_true SECONDS CMD…: runs CMD until it succeeds
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

PASSWORD="pw-$RANDOM-$RANDOM"
SECRET="hook-$RANDOM$RANDOM"
put users.json '{"client_id": "hotkdump-app", "client_secret": "app-secret", "username": "hotkdump@example.com", "password": "'"$PASSWORD"'"}'
put cases.json '{"00412345": "500A0000001", "00412346": "500A0000002", "00412347": "500A0000003", "00412348": "500A0000004"}'
echo app-secret >"$TMP/etc/client-secret"
echo "$PASSWORD" >"$TMP/etc/password"
echo "$SECRET" >"$TMP/etc/webhook-secret"
start_standin

# a hook script that writes what it was given, and prints a line
cat >"$TMP/etc/hooks/10-record" <<SCRIPT
#!/bin/sh
env | grep '^HOTKDUMP_' | sort >"$TMP/hook-env.\$HOTKDUMP_CASE.\$HOTKDUMP_EVENT"
echo "recorded \$HOTKDUMP_CASE \$HOTKDUMP_EVENT"
SCRIPT
chmod +x "$TMP/etc/hooks/10-record"
echo 'not run: no x bit' >"$TMP/etc/hooks/20-not-executable"

sysrq=$(fixture_of sysrq kdump-compressed)
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$DEB" "$sysrq" >"$TMP/symbols.out" 2>&1
ok $? "the symbol cache is seeded from the debug package"
sets=(--set "post.sinks=athena webhook exec" --set "athena.login_url=$SF" --set athena.client_id=hotkdump-app
	--set "athena.client_secret_file=$TMP/etc/client-secret" --set athena.username=hotkdump@example.com
	--set "webhook.url=$SF/hook" --set "webhook.secret_file=$TMP/etc/webhook-secret"
	--set "hooks.dir=$TMP/etc/hooks" --set report.base_url=https://hotkdump.example.com/cases
	--set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands" --set symbols.sources=cache
	--set post.retry_min=1 --set post.retry_max=2)

# --- one finished job, by hand: the exact calls -----------------------------------------------------
HOTKDUMP_ATHENA_PASSWORD=$PASSWORD analyze --case 00412345 --stop-after report "${sets[@]}" "$sysrq"
ok $? "hotkdump analyze: a whole analysis, then its posts"
J=$ROOT/cases/00412345/1
is "$(calls | tr '\n' ';')" "POST /services/oauth2/token 200;GET query:Case 200;POST /services/data/v59.0/sobjects/CaseComment 201;" \
	"Athena: a login, the case looked up by its number, one comment (the early post gave way to the full one)"
jq -e --arg p "$PASSWORD" '.[0].body | contains("grant_type=password") and contains("client_id=hotkdump-app") and contains("username=hotkdump%40example.com") and contains($p)' \
	<(jq -s . "$SF_DIR/calls.jsonl") >/dev/null
ok $? "the login is OAuth2's username-password flow with the configured app and user"
jq -se '.[1].query.q[0] == "SELECT Id FROM Case WHERE CaseNumber = '"'00412345'"'" and (.[1].headers.authorization | startswith("Bearer "))' \
	"$SF_DIR/calls.jsonl" >/dev/null
ok $? "the case is found with SOQL on CaseNumber, with the token from the login"
body=$(jq -r '.[0].CommentBody' "$SF_DIR/comments.json")
jq -e '.[0].ParentId == "500A0000001" and .[0].IsPublished == false' "$SF_DIR/comments.json" >/dev/null
ok $? "the comment is on that case, internal (IsPublished false)"
release=$(jq -r '.identity.release' "$J/job.json")
for want in "Cause:" "Kernel:  $release" "Panic:   $(panic_of sysrq | cut -c1-40)" \
	"Full report: https://hotkdump.example.com/cases/00412345/1/report.html" "[hotkdump:00412345/1/full/1]"; do
	case $body in *"$want"*) ok 0 "the comment has '$want'" ;; *) ok 1 "the comment has '$want'"; echo "# $body" | head -20 ;; esac
done
case $body in *"Split comment"*) ok 1 "a short comment is one part" ;; *) ok 0 "a short comment is one part" ;; esac
hooks=$(jq -s length "$SF_DIR/hooks.jsonl")
is "$hooks" 1 "webhook: one delivery"
jq -s -j '.[0].body' "$SF_DIR/hooks.jsonl" >"$TMP/hook-body"
cmp -s "$TMP/hook-body" "$J/summary.json"
ok $? "webhook: the body is the job's summary.json"
sig=$(openssl dgst -sha256 -hmac "$SECRET" -r "$TMP/hook-body" | cut -d' ' -f1)
is "$(jq -sr '.[0].headers["x-hotkdump-signature"]' "$SF_DIR/hooks.jsonl")" "sha256=$sig" \
	"webhook: X-Hotkdump-Signature is the HMAC-SHA256 of the body under the secret"
is "$(jq -sr '.[0].headers["x-hotkdump-event"] + " " + .[0].headers["x-hotkdump-delivery"]' "$SF_DIR/hooks.jsonl")" \
	"full 00412345/1/full" "webhook: the event and the delivery's idempotency key are in headers"
env_file=$TMP/hook-env.00412345.full
[ -f "$env_file" ] && grep -qx "HOTKDUMP_STATE=done" "$env_file" && grep -qx "HOTKDUMP_DIR=$J" "$env_file" &&
	grep -qx "HOTKDUMP_SUMMARY=$J/summary.json" "$env_file" && grep -qx "HOTKDUMP_DUMP=1" "$env_file" &&
	grep -q "^HOTKDUMP_CAUSE=." "$env_file"
ok $? "exec: the hook ran with the job's facts in HOTKDUMP_* variables"
grep -q "hook 10-record stdout: recorded 00412345 full" "$J/hotkdump.log"
ok $? "exec: the hook's output is in the case folder's log"
[ ! -e "$TMP/hook-env.00412345.early" ]
ok $? "the early posts were dropped: the full ones were ready before anything was sent"
grep -c "20-not-executable" "$J/hotkdump.log" | grep -qx 0
ok $? "exec: a file without the x bit is not a hook"
is "$(jq -r 'keys | join(",")' "$J/posted.json")" "00412345/1/full athena,00412345/1/full exec:10-record,00412345/1/full webhook" \
	"the case folder records the three deliveries"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
ok $? "hotkdump outbox: empty, exit 0"
grep -q "The outbox is empty" "$TMP/outbox.out"
ok $? "hotkdump outbox says so"
n_calls=$(wc -l <"$SF_DIR/calls.jsonl")
"$HOTKDUMP" outbox retry --root "$ROOT" "${sets[@]}" >/dev/null
HOTKDUMP_ATHENA_PASSWORD=$PASSWORD "$HOTKDUMP" analyze --root "$ROOT" --case 00412345 "${sets[@]}" --stop-after first-look \
	--no-post "$sysrq" >/dev/null 2>&1
is "$(ls "$ROOT/outbox" | grep -c json)" 3 "--no-post: a new job's posts (one per sink) wait in the outbox"
grep -rqs -- "$PASSWORD" "$ROOT/outbox" "$J" "$TMP/err" "$TMP"/hook-env.*
ok $((!$?)) "the password is in no log, case folder, outbox entry or hook's environment"
rm -f "$ROOT"/outbox/*.json
is "$(wc -l <"$SF_DIR/calls.jsonl")" "$n_calls" "outbox retry with nothing waiting sends nothing"

# --- a long comment: parts, in order, each under the limit ---------------------------------------
HOTKDUMP_ATHENA_PASSWORD=$PASSWORD analyze --case 00412346 --stop-after report "${sets[@]}" --set athena.comment_max=600 \
	--set post.sinks=athena "$sysrq"
ok $? "a job whose comment is longer than athena.comment_max"
parts=$(comments_of 500A0000002)
n=$(jq length <<<"$parts")
[ "$n" -ge 3 ]
ok $? "the comment went in $n parts"
jq -e --argjson n "$n" '[to_entries[] | (.key + 1) as $i | .value | length <= 600 and startswith("Split comment \($i) of \($n)\n") and endswith("[hotkdump:00412346/1/full/\($i)]")] | all' \
	<<<"$parts" >/dev/null
ok $? "each part is at most 600 characters, headed 'Split comment i of $n' and marked, in order"
jq -e '.[-1] | contains("Full report: https://hotkdump.example.com/cases/00412346/1/report.html")' <<<"$parts" >/dev/null
ok $? "the last part carries the link to the report"
joined=$(jq -r '[.[] | split("\n") | .[2:-1] | join("\n")] | join("\n")' <<<"$parts" | grep -v '^$' | md5sum)
is "$joined" "$(grep -v '^$' "$ROOT/cases/00412346/1/comment.txt" | md5sum)" "the parts together are comment.txt, line for line"
is "$(calls | grep -c CaseComment)" "$((1 + n))" "one call per part, none twice"

# --- the daemon: an outage of Athena, with a restart in between ----------------------------------------
cp "$sysrq" "$TMP/up/sysrq.dump"
dsets=("${sets[@]}" --set post.sinks=athena --set "athena.password_file=$TMP/etc/password" --set athena.timeout=3
	--set daemon.stop_after=first-look
	--set "daemon.path_roots=$TMP/up" --set daemon.workers=1)
stop_standin
start_daemon "$ROOT" "${dsets[@]}"
ids=()
for i in 1 2 3; do
	ids+=("$(api POST /analyze '{"case": "00412347", "path": "'"$TMP/up/sysrq.dump"'", "filename": "dump'$i'"}' | jq -r .id)")
done
for id in "${ids[@]}"; do wait_job "$id" 300 >/dev/null; done
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 3 and .[0].attempts >= 1' >/dev/null"
ok $? "Athena down: the three posts wait in the outbox, the first one tried"
"$HOTKDUMP" outbox --root "$ROOT" --json | jq -e '[.[1:][] | .attempts] == [0, 0]' >/dev/null
ok $? "the later posts of the case wait behind the first, so that they arrive in order"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
is "$?" 1 "hotkdump outbox exits 1 while posts wait"
grep -q "last error: athena: login: no answer: Couldn't connect to server" "$TMP/outbox.out"
ok $? "hotkdump outbox shows why: $(grep -m1 'last error' "$TMP/outbox.out")"
grep -q "post: full post to athena for case 00412347, dump 1 not delivered (try 1): athena: login: no answer" \
	"$ROOT/cases/00412347/1/hotkdump.log"
ok $? "the job's log says the post is not delivered yet, and why"
stop_daemon
is "$DAEMON_STATUS" 0 "the daemon stops cleanly with posts waiting"
start_daemon "$ROOT" "${dsets[@]}"
sleep 2
start_standin
wait_comments 500A0000003 3 60
marks=$(comments_of 500A0000003 | jq -r '.[] | capture("\\[hotkdump:00412347/(?<n>[0-9]+)/").n' | tr '\n' ' ')
is "$marks" "1 2 3 " "Athena back, after a daemon restart: each job's comment arrives once, in order"
until_true 20 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 0' >/dev/null"
ok $? "the outbox is empty again"
grep -q "post: full post to athena for case 00412347, dump 3 delivered (" "$ROOT/cases/00412347/3/hotkdump.log"
ok $? "the job's log records the delivery and the comment's Id"

# --- the comment made, the answer lost: still one comment -----------------------------------------
put faults.json '[{"match": "sobjects/CaseComment", "action": "drop-after-accept", "count": 1}]'
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "lost-answer"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 0' >/dev/null"
ok $? "a post whose answer was lost is delivered on the next try"
is "$(comments_of 500A0000004 | jq length)" 1 "the comment is there once: the next try looked before posting again"
grep -q "was taken before" "$ROOT.log"
ok $? "the daemon's log says the comment was found already made"
jq -se '[.[] | select(.query.q[0] // "" | test("FROM CaseComment WHERE ParentId = .500A0000004."))] | length == 1' \
	"$SF_DIR/calls.jsonl" >/dev/null
ok $? "the look was a SOQL query of the case's comments"
# a malformed answer to the comment: the same look, and no comment twice
put faults.json '[{"match": "sobjects/CaseComment", "action": "malformed", "count": 1}]'
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "malformed"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 0' >/dev/null"
ok $? "a malformed JSON answer to the comment: delivered on the next try"
is "$(comments_of 500A0000004 | jq length)" 2 "one comment for that job, not two"
n2=$(ls "$ROOT/cases/00412348" | sort -n | tail -1)
grep -q "athena: comment: HTTP 201, but the answer is not the JSON of a new record" "$ROOT/cases/00412348/$n2/hotkdump.log"
ok $? "the job's log names the malformed answer"
# a malformed answer to the login, then 503 twice, then 429: tried again until taken
put faults.json '[{"match": "oauth2/token", "action": "malformed", "count": 1}, {"match": "sobjects/CaseComment", "action": "status:503", "count": 2}, {"match": "sobjects/CaseComment", "action": "status:429", "count": 1}]'
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "flaky"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 60 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 0' >/dev/null"
ok $? "a malformed login answer, two 503s and a 429: delivered in the end"
is "$(comments_of 500A0000004 | jq length)" 3 "once"
n3=$(ls "$ROOT/cases/00412348" | sort -n | tail -1)
grep -q "athena: login: the answer is not the JSON of a token" "$ROOT/cases/00412348/$n3/hotkdump.log" &&
	grep -q "HTTP 503" "$ROOT/cases/00412348/$n3/hotkdump.log" && grep -q "HTTP 429" "$ROOT/cases/00412348/$n3/hotkdump.log"
ok $? "each failure is in the job's log"
put faults.json '[]'

# --- refusals: clear errors, nothing lost, the daemon unaffected -------------------------------------
id=$(api POST /analyze '{"case": "00499999", "path": "'"$TMP/up/sysrq.dump"'", "filename": "unknown-case"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 20 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'any(.state == \"failed\")' >/dev/null"
ok $? "an unknown case: the post fails"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
grep -q "last error: athena: no case with CaseNumber '00499999'" "$TMP/outbox.out"
ok $? "hotkdump outbox: $(grep -m1 'last error' "$TMP/outbox.out")"
grep -q "refused, not tried again: athena: no case with CaseNumber '00499999'" "$ROOT/cases/00499999/1/hotkdump.log"
ok $? "the job's log says the same"
healthz_fast
ok $? "the daemon answers as before"
put cases.json '{"00412345": "500A0000001", "00412346": "500A0000002", "00412347": "500A0000003", "00412348": "500A0000004", "00499999": "500A0000099"}'
"$HOTKDUMP" outbox retry --root "$ROOT" "${dsets[@]}" 00499999/1 >"$TMP/retry.out"
is "$?" 0 "the case made, hotkdump outbox retry CASE/N delivers the post"
is "$(comments_of 500A0000099 | jq length)" 1 "nothing was lost"

put users.json '{"client_id": "hotkdump-app", "client_secret": "app-secret", "username": "hotkdump@example.com", "password": "changed"}'
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "bad-creds"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 20 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'any(.state == \"failed\")' >/dev/null"
ok $? "bad credentials: the post fails, and is not retried"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
grep -q "last error: athena: login as 'hotkdump@example.com' refused (check the credentials): HTTP 400: invalid_grant: authentication failure" "$TMP/outbox.out"
ok $? "hotkdump outbox: $(grep -m1 'last error' "$TMP/outbox.out")"
tokens=$(jq -s '[.[] | select(.path == "/services/oauth2/token")] | length' "$SF_DIR/calls.jsonl")
sleep 3
is "$(jq -s '[.[] | select(.path == "/services/oauth2/token")] | length' "$SF_DIR/calls.jsonl")" "$tokens" \
	"a refused login is not tried again on its own"
put users.json '{"client_id": "hotkdump-app", "client_secret": "app-secret", "username": "hotkdump@example.com", "password": "'"$PASSWORD"'"}'
"$HOTKDUMP" outbox retry --root "$ROOT" "${dsets[@]}" >"$TMP/retry.out"
is "$?" 0 "the password fixed, hotkdump outbox retry delivers it"

# a comment longer than Salesforce takes (a stand-in that takes 250 characters, so that this
# job's short comment is "4,000+"): refused; the limit lowered, it goes in parts
stop_standin
start_standin --max-comment 250
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "too-long"}' | jq -r .id)
wait_job "$id" 300 >/dev/null
until_true 20 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'any(.state == \"failed\")' >/dev/null"
ok $? "a comment over Salesforce's length: refused, not retried"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
grep -q "last error: athena: comment: HTTP 400: STRING_TOO_LONG: Comment Body: data value too large" "$TMP/outbox.out"
ok $? "hotkdump outbox: $(grep -m1 'last error' "$TMP/outbox.out")"
before=$(comments_of 500A0000004 | jq length)
"$HOTKDUMP" outbox retry --root "$ROOT" "${dsets[@]}" --set athena.comment_max=240 >"$TMP/retry.out"
is "$?" 0 "with athena.comment_max lowered, hotkdump outbox retry sends it in parts"
after=$(comments_of 500A0000004 | jq length)
[ $((after - before)) -ge 2 ]
ok $? "$((after - before)) parts"
stop_daemon

# --- two posts for one job: the first look's while crash runs, then the analysis; a failure ---------
put cases.json '{"00412345": "500A0000001", "00412346": "500A0000002", "00412347": "500A0000003", "00412348": "500A0000004", "00499999": "500A0000099", "00412349": "500A0000005"}'
stop_standin
start_standin
start_daemon "$ROOT" "${dsets[@]}" --set daemon.stop_after=report
id=$(api POST /analyze '{"case": "00412349", "path": "'"$TMP/up/sysrq.dump"'", "filename": "two-posts"}' | jq -r .id)
is "$(wait_job "$id" 600)" done "a whole analysis in the daemon"
wait_comments 500A0000005 2 60
ok $? "two comments on the case"
comments_of 500A0000005 | jq -e '(.[0] | startswith("First look, from the kernel log alone") and contains("Cause:") and endswith("[hotkdump:00412349/1/early/1]")) and (.[1] | contains("Backtrace of the crashing task") and endswith("[hotkdump:00412349/1/full/1]"))' >/dev/null
ok $? "the first look's comment (with its cause) came first, the full analysis second"
early_at=$(jq -s '[.[] | select(.path | endswith("sobjects/CaseComment")) | select(.body | contains("00412349/1/early/1"))][0].time' "$SF_DIR/calls.jsonl")
crash_done=$(date -d "$(jq -r '.stages.crash.end // empty' "$ROOT/cases/00412349/1/job.json")" +%s.%N 2>/dev/null || echo 0)
[ "$(echo "$early_at < $crash_done" | bc)" = 1 ]
ok $? "the early comment was posted before crash had finished ($early_at < $crash_done)"
api GET "/jobs/$id" | jq -e '.posted | has("00412349/1/early athena") and has("00412349/1/full athena")' >/dev/null
ok $? "GET /jobs/ID lists both posts as delivered"
"$HOTKDUMP" status --server "$API" "$id" >"$TMP/status.out"
grep -q "^posted  *early athena \[ \"" "$TMP/status.out" && grep -q "^  *full athena \[ \"" "$TMP/status.out"
ok $? "hotkdump status shows them, with the comments' Ids"
echo "not a dump" >"$TMP/up/notes.txt"
id=$(api POST /analyze '{"case": "00412349", "path": "'"$TMP/up/notes.txt"'"}' | jq -r .id)
is "$(wait_job "$id" 300)" failed "an upload without a dump fails"
wait_comments 500A0000005 3 30
comments_of 500A0000005 | jq -e '.[2] | startswith("hotkdump could not analyse case 00412349, dump 2.") and contains("Why:     no kernel dump in the upload") and contains("Log:     https://hotkdump.example.com/cases/00412349/2/hotkdump.log")' >/dev/null
ok $? "a failed job posts what failed, why, and where its log is"

# --- a post that waited past post.give_up: failed, kept, sent by hand ----------------------------------
stop_standin
id=$(api POST /analyze '{"case": "00412349", "path": "'"$TMP/up/sysrq.dump"'", "filename": "given-up"}' | jq -r .id)
wait_job "$id" 600 >/dev/null
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length >= 1 and .[0].attempts >= 1' >/dev/null"
stop_daemon
for f in "$ROOT"/outbox/*.json; do
	jq '.created -= 4 * 86400 | .first_try -= 4 * 86400 | .next_at = 0' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
done
start_daemon "$ROOT" "${dsets[@]}"
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'all(.state == \"failed\")' >/dev/null"
ok $? "a post first tried 4 days ago and still not taken is given up (post.give_up, 3 days)"
"$HOTKDUMP" outbox --root "$ROOT" | grep -q "last error: given up after [0-9]* tries over [0-9]* s (post.give_up): athena: login: no answer"
ok $? "hotkdump outbox says so, with the last error"
start_standin
before=$(count_comments 500A0000005)
"$HOTKDUMP" outbox retry --root "$ROOT" "${dsets[@]}" >"$TMP/retry.out"
is "$?" 0 "hotkdump outbox retry sends it"
is "$(count_comments 500A0000005)" "$((before + 1))" "nothing was lost: the comment arrives (the early one gave way to it while Athena was down)"
stop_daemon

# --- hook scripts that hang or fail -----------------------------------------------------------------
rm -f "$TMP/etc/hooks/10-record"
cat >"$TMP/etc/hooks/30-hang" <<SCRIPT
#!/bin/sh
echo "about to hang"
echo \$\$ >>"$TMP/hang.pids"
exec sleep 300
SCRIPT
cat >"$TMP/etc/hooks/40-fail" <<'SCRIPT'
#!/bin/sh
echo "ticket system said no" >&2
exit 3
SCRIPT
chmod +x "$TMP/etc/hooks/30-hang" "$TMP/etc/hooks/40-fail"
start_daemon "$ROOT" "${dsets[@]}" --set post.sinks=exec --set hooks.timeout=2 --set post.retry_min=60 \
	--set post.retry_max=120
id=$(api POST /analyze '{"case": "00412348", "path": "'"$TMP/up/sysrq.dump"'", "filename": "hooks"}' | jq -r .id)
is "$(wait_job "$id" 300)" done "a job with hooks that hang and fail finishes"
until_true 30 sh -c "'$HOTKDUMP' outbox --root '$ROOT' --json | jq -e 'length == 2 and all(.attempts >= 1)' >/dev/null"
ok $? "both hook posts are kept in the outbox"
healthz_fast
ok $? "the daemon answers while a hook hangs"
"$HOTKDUMP" outbox --root "$ROOT" >"$TMP/outbox.out"
grep -q "last error: hook 30-hang: still running after 2 s (hooks.timeout): killed" "$TMP/outbox.out"
ok $? "the hanging hook: $(grep -m1 'hook 30-hang' "$TMP/outbox.out" | sed 's/^ *//')"
grep -q "last error: hook 40-fail: failed with status 3: ticket system said no" "$TMP/outbox.out"
ok $? "the failing hook: $(grep -m1 'hook 40-fail' "$TMP/outbox.out" | sed 's/^ *//')"
"$HOTKDUMP" outbox --root "$ROOT" --json | jq -e '[.[] | select(.sink == "exec:30-hang")][0].state == "waiting" and [.[] | select(.sink == "exec:40-fail")][0].state == "failed"' >/dev/null
ok $? "a hang is tried again later; a failure waits for a person"
n4=$(ls "$ROOT/cases/00412348" | sort -n | tail -1)
grep -q "hook 30-hang stdout: about to hang" "$ROOT/cases/00412348/$n4/hotkdump.log" &&
	grep -q "hook 40-fail stderr: ticket system said no" "$ROOT/cases/00412348/$n4/hotkdump.log"
ok $? "both hooks' output is in the case folder's log"
sleep 1
alive=0
while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done <"$TMP/hang.pids"
[ -s "$TMP/hang.pids" ] && [ "$alive" = 0 ]
ok $? "the hung hook was killed ($(wc -l <"$TMP/hang.pids") run(s), $alive still alive)"
stop_daemon
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"

# a post.sinks the daemon does not know: it says so and does not start
"$HOTKDUMPD" --root "$ROOT" --set daemon.listen=127.0.0.1:0 --set "post.sinks=athena email" >"$TMP/bad.out" 2>&1
rc=$?
[ "$rc" -ne 0 ]
ok $? "an unknown sink in post.sinks: hotkdumpd does not start (exit $rc)"
grep -q "post.sinks: unknown sink 'email'" "$TMP/bad.out"
ok $? "and says which"

done_testing
