#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Chaos: hotkdumpd killed with -9 at random moments while jobs flow in through both triggers
# (POST /analyze and files dropped into the mirror, also while it is down) and the Athena
# stand-in fails at random (500, 429, resets, slow answers, accept-then-drop). Then the daemon
# runs until every job and post is through, and the counts are taken: jobs accepted, finished,
# failed, run twice (a second case folder); comments expected, delivered, duplicated; processes
# of the jobs left running. Zero lost, zero twice, zero duplicated, zero left.
#
# Bounded for make check: CHAOS_KILLS (default 20) kills, CHAOS_JOBS (default 24) jobs, half
# from each trigger; bench/chaos runs it longer. CHAOS_SEED fixes the randomness (printed).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/daemon-lib.sh"
. "$(dirname "$0")/../e2e/athena-lib.sh"
. "$(dirname "$0")/../e2e/quick/quick-lib.sh"

kills=${CHAOS_KILLS:-20}
jobs=${CHAOS_JOBS:-24}
seed=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
echo "# chaos: $kills kills, $jobs jobs, seed $seed"
trap 'stop_daemon KILL; stop_standin; rm -rf "$TMP"' EXIT

make_synth_dumps
MIRROR=$TMP/mirror
mkdir -p "$MIRROR" "$TMP/up"
cp "$SYNTH/kdump" "$TMP/up/vmcore"
token=tok-$RANDOM-$RANDOM
printf '%s\n' "$token" >"$TMP/token"
# the cases: 0030NNNN, Athena's id 500C00NNNN
cases='{'
for i in $(seq "$jobs"); do cases+="$([ "$i" -gt 1 ] && echo ,)\"003$(printf %05d "$i")\": \"500C0$(printf %05d "$i")\""; done
standin_account "$cases}"
# Athena fails at random, first for comments, then for queries (lookups), until the lists are
# used up: a random action per request, "hang:0" being none
faults='['
for i in $(seq $((jobs * 2))); do
	a=(status:500 status:429 drop drop-after-accept hang:3 hang:0 hang:0 hang:0)
	faults+="$([ "$i" -gt 1 ] && echo ,){\"match\": \"sobjects/CaseComment\", \"method\": \"POST\", \"action\": \"${a[RANDOM % 8]}\", \"count\": 1}"
done
for i in $(seq "$jobs"); do
	a=(status:500 status:429 drop hang:3 hang:0 hang:0)
	faults+=",{\"match\": \"query\", \"action\": \"${a[RANDOM % 6]}\", \"count\": 1}"
done
put faults.json "$faults]"

args=("${QUICK_SETS[@]}" "${ATHENA_SETS[@]}" --set "http.token_file=$TMP/token" --set "watch.dirs=$MIRROR"
	--set watch.settle_ms=100 --set "daemon.path_roots=$TMP/up" --set daemon.workers=2 --set post.early=no
	--set athena.timeout=2 --set post.retry_min=1 --set post.retry_max=2 --set post.give_up=3600)
up=0
start() {
	start_daemon "$ROOT" "${args[@]}"
	up=1
}

# submit N: POST /analyze for case N, again until the daemon takes it; its id is recorded
submit() {
	local c=003$(printf %05d "$1") body code
	for _ in $(seq 100); do
		code=$(curl -s -o "$TMP/post.out" -w '%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $token" --data-binary '{"case": "'"$c"'", "path": "'"$TMP/up/vmcore"'"}' \
			"${API:-http://127.0.0.1:1}/analyze" 2>/dev/null)
		if [ "$code" = 202 ] || [ "$code" = 200 ]; then
			jq -r .id "$TMP/post.out" >>"$TMP/accepted"
			return 0
		fi
		sleep 0.2
	done
	echo "# case $c: not accepted ($code)"
}
# drop N: a file into the mirror for case N (the daemon may be down: its start finds it)
drop() {
	local c=003$(printf %05d "$1")
	mkdir -p "$MIRROR/$c"
	cp "$SYNTH/kdump" "$MIRROR/$c/.vmcore.part"
	mv "$MIRROR/$c/.vmcore.part" "$MIRROR/$c/vmcore"
}

start
next=1
for k in $(seq "$kills"); do
	# work arrives: a job or two per round, by either trigger
	for _ in 1 2; do
		[ "$next" -le "$jobs" ] || break
		if [ $((next % 2)) -eq 0 ]; then drop "$next"; else submit "$next"; fi
		next=$((next + 1))
	done
	sleep "$(printf '0.%03d' $((RANDOM % 1000 + 200)))"
	stop_daemon KILL
	up=0
	# sometimes a file arrives while the daemon is down
	if [ $((RANDOM % 3)) -eq 0 ] && [ "$next" -le "$jobs" ] && [ $((next % 2)) -eq 0 ]; then
		drop "$next"
		next=$((next + 1))
	fi
	start
done
while [ "$next" -le "$jobs" ]; do
	if [ $((next % 2)) -eq 0 ]; then drop "$next"; else submit "$next"; fi
	next=$((next + 1))
done

# --- to the end: every job final, the outbox empty ----------------------------------------------
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	open=$(curl -s "$API/jobs?limit=1000" | jq '[.jobs[] | select(.state == "queued" or .state == "running")] | length')
	left=$(find "$ROOT/outbox" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l)
	[ "$open" = 0 ] && [ "$left" = 0 ] && [ "$(curl -s "$API/jobs?limit=1000" | jq '.jobs | length')" -ge "$jobs" ] && break
	sleep 1
done
sleep 3 # a late duplicate would show by now
all=$(curl -s "$API/jobs?limit=1000")
stop_daemon TERM

# --- the counts ------------------------------------------------------------------------------------
accepted=$(jq '.jobs | length' <<<"$all")
done_n=$(jq '[.jobs[] | select(.state == "done")] | length' <<<"$all")
failed=$(jq '[.jobs[] | select(.state == "failed" or .state == "incomplete")] | length' <<<"$all")
lost=$((jobs - accepted))
twice=0
for d in "$ROOT"/cases/*/; do
	[ "$(find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l)" -gt 1 ] && twice=$((twice + 1))
done
delivered=0
duplicated=0
for i in $(seq "$jobs"); do
	n=$(count_comments "500C0$(printf %05d "$i")")
	[ "$n" -ge 1 ] && delivered=$((delivered + 1))
	[ "$n" -gt 1 ] && duplicated=$((duplicated + 1))
done
left=$(grep -la "HOTKDUMP_JOB=$ROOT/queue:" /proc/[0-9]*/environ 2>/dev/null | wc -l)
echo "# chaos: jobs accepted $accepted of $jobs, finished $done_n, failed $failed, lost $lost, run twice $twice;" \
	"comments expected $jobs, delivered $delivered, duplicated $duplicated; processes left $left"
is "$lost" 0 "chaos: no job lost ($accepted of $jobs accepted)"
is "$done_n" "$jobs" "chaos: every job finished done"
is "$twice" 0 "chaos: no job run twice (one case folder each)"
is "$delivered" "$jobs" "chaos: every job's comment delivered"
is "$duplicated" 0 "chaos: no comment posted twice"
is "$left" 0 "chaos: no process of a job left running"
[ "$(grep -c '^hotkdumpd: listening' "$ROOT.log")" -ge "$((kills + 1))" ]
ok $? "chaos: the daemon was started $((kills + 1)) times"

done_testing
