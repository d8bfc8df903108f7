#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Never two comments for one post, when the Athena stand-in answers too late: a comment request
# that outlives athena.timeout (the stand-in makes the comment after 5 s, the sender stops
# waiting at 2 s) is looked for only once the far side can no longer be at work on it, counted
# from the try's end; the same across a daemon stopped during the slow request and started at
# once; and with a 429 on the try after it. Each case ends with exactly one comment.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/../athena-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

trap 'stop_daemon KILL; stop_standin; rm -rf "$TMP"' EXIT

make_synth_dumps
mkdir -p "$TMP/up"
cp "$SYNTH/kdump" "$TMP/up/vmcore"
standin_account '{"00200601": "500Q0000601", "00200602": "500Q0000602", "00200603": "500Q0000603"}'
daemon_args=("${QUICK_SETS[@]}" "${ATHENA_SETS[@]}" --set "daemon.path_roots=$TMP/up" --set daemon.workers=1
	--set post.early=no --set athena.timeout=2 --set post.retry_min=1 --set post.retry_max=2)

# settled CASE-ID: until the outbox is empty (45 s at most), then 3 s more for a late duplicate
settled() {
	for _ in $(seq 225); do
		[ -z "$(find "$ROOT/outbox" -maxdepth 1 -name '*.json' 2>/dev/null)" ] && break
		sleep 0.2
	done
	sleep 3
}

# --- a slow answer: the comment is made after the sender gave up waiting -------------------------
put faults.json '[{"match": "sobjects/CaseComment", "method": "POST", "action": "hang:5", "count": 1}]'
start_daemon "$ROOT" "${daemon_args[@]}"
id=$(api POST /analyze '{"case": "00200601", "path": "'"$TMP/up/vmcore"'"}' | jq -r .id)
is "$(wait_job "$id" 60)" done "slow answer: the job is done"
settled
is "$(count_comments 500Q0000601)" 1 "slow answer: one comment, not two"
grep -q "was taken before" "$ROOT.log"
ok $? "slow answer: … and found the one the slow request made"

# --- a restart during the slow request ----------------------------------------------------------
put faults.json '[{"match": "sobjects/CaseComment", "method": "POST", "action": "hang:5", "count": 1}]'
id=$(api POST /analyze '{"case": "00200602", "path": "'"$TMP/up/vmcore"'"}' | jq -r .id)
is "$(wait_job "$id" 60)" done "restart: the job is done"
# the sender's request is in the stand-in's hang now: stop the daemon, start it again at once
for _ in $(seq 50); do grep -q '"sending": true' "$ROOT"/outbox/*.json 2>/dev/null && break; sleep 0.1; done
sleep 0.5
stop_daemon TERM
start_daemon "$ROOT" "${daemon_args[@]}"
settled
is "$(count_comments 500Q0000602)" 1 "restart: one comment, not two"

# --- a 429 on the try after the slow one ----------------------------------------------------------
put faults.json '[{"match": "sobjects/CaseComment", "method": "POST", "action": "hang:5", "count": 1},
	{"match": "sobjects/CaseComment", "method": "POST", "action": "status:429", "count": 1}]'
id=$(api POST /analyze '{"case": "00200603", "path": "'"$TMP/up/vmcore"'"}' | jq -r .id)
is "$(wait_job "$id" 60)" done "429: the job is done"
settled
is "$(count_comments 500Q0000603)" 1 "429: one comment, not two"
stop_daemon

done_testing
