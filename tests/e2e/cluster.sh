#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Several hosts on one shared queue: a real three-node nats-server cluster on loopback
# (JetStream, file storage in temp folders, the stream and the buckets kept three times) and two
# hotkdumpd hosts with their own roots, mirrors and upload folders. 200 jobs announced through
# both triggers on both hosts are each done once, by either host; the same upload announced to
# both makes one job; a host killed mid-job loses it to the other, which finishes it, and a job
# whose hosts keep dying fails with the reason; a NATS server killed loses no job and the hosts
# reconnect; the outbox of two hosts posts each comment once; any host answers for any job.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon-lib.sh"
. "$(dirname "$0")/athena-lib.sh"
. "$(dirname "$0")/quick/quick-lib.sh"
. "$(dirname "$0")/nats-lib.sh"

command -v nats-server >/dev/null || bail "nats-server is not installed (scripts/install-deps)"
trap 'for h in a b; do host_stop "$h" KILL; done; stop_standin; nats_cluster_stop; [ -n "${WWW_PID:-}" ] && kill "$WWW_PID"; rm -rf "$TMP"' EXIT

declare -A HPID HAPI HROOT
# the hosts of one shared queue share their token: the peers' uploads and symbols need it
TOKEN=tok-$RANDOM-$RANDOM
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
# host_start NAME ARGS…: hotkdumpd host NAME (root $TMP/NAME, mirror $TMP/mirror-NAME, uploads
# under $TMP/up-NAME) on the shared queue; sets HPID[NAME], HAPI[NAME]
host_start() {
	local name=$1
	shift
	HROOT[$name]=$TMP/$name
	mkdir -p "$TMP/mirror-$name" "$TMP/up-$name"
	DAEMON_PID=
	start_daemon "${HROOT[$name]}" "${QUICK_SETS[@]}" --set queue.backend=nats --set "queue.nats_url=$NATS_URLS" \
		--set queue.replicas=3 --set queue.ack_wait=15 --set queue.heartbeat=2 --set queue.max_deliver=2 \
		--set "cluster.host=hk-$name" --set daemon.workers=2 --set daemon.stop_after=fetch \
		--set "watch.dirs=$TMP/mirror-$name" --set watch.settle_ms=200 --set "daemon.path_roots=$TMP/up-$name" \
		--set "http.token_file=$TMP/token" "$@"
	HPID[$name]=$DAEMON_PID
	HAPI[$name]=$API
}
host_stop() { # host_stop NAME [SIGNAL]
	[ -n "${HPID[$1]:-}" ] || return 0
	kill "-${2:-TERM}" "${HPID[$1]}" 2>/dev/null
	wait "${HPID[$1]}" 2>/dev/null
	DAEMON_STATUS=$?
	HPID[$1]=
}
on() { # on NAME METHOD PATH [BODY]: api against host NAME
	local name=$1
	shift
	API=${HAPI[$name]} api "$@"
}
post_path() { # post_path HOST CASE PATH: the job's id
	on "$1" POST /analyze '{"case": "'"$2"'", "path": "'"$3"'"}' | jq -r .id
}
local_jobs() { # local_jobs HOST [STATE]: "ID STATE" of the jobs the host ran
	curl -s --max-time 10 "${HAPI[$1]}/jobs?limit=1000${2:+&state=$2}" | jq -r '.jobs[] | .id + " " + .state'
}
# wait_all_done N SECONDS: until the two hosts together ran N jobs to done
wait_all_done() {
	local deadline=$((SECONDS + $2)) n=0
	while [ $SECONDS -lt $deadline ]; do
		n=$( (local_jobs a done; local_jobs b done) | wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.5
	done
	echo "# $n of $1 done"
	return 1
}

make_synth_dumps
nats_cluster_start 3
echo "# NATS cluster: $NATS_URLS"
host_start a
host_start b

# --- 200 jobs, both triggers, both hosts --------------------------------------------------------
ids=()
for i in $(seq 1 50); do
	for h in a b; do
		cp "$SYNTH/kdump-zlib" "$TMP/up-$h/dump-$i"
		ids+=("$(post_path "$h" "$(printf '3%d%06d' "$([ "$h" = a ] && echo 1 || echo 2)" "$i")" "$TMP/up-$h/dump-$i")")
		c=$(printf '3%d%06d' "$([ "$h" = a ] && echo 3 || echo 4)" "$i")
		mkdir -p "$TMP/mirror-$h/$c"
		cp "$SYNTH/kdump-zlib" "$TMP/mirror-$h/$c/.part"
		mv "$TMP/mirror-$h/$c/.part" "$TMP/mirror-$h/$c/vmcore-$i"
	done
done
is "$(printf '%s\n' "${ids[@]}" | grep -c -- -)" 100 "100 uploads posted to the two hosts were each given a job id"
wait_all_done 200 240
ok $? "200 jobs done (100 posted, 100 dropped into the mirrors)"
(local_jobs a done; local_jobs b done) | awk '{print $1}' | sort >"$TMP/ran"
is "$(wc -l <"$TMP/ran")" 200 "200 jobs ran to done"
is "$(sort -u "$TMP/ran" | wc -l)" 200 "each of them on one host only: no id done twice"
is "$(find "${HROOT[a]}/cases" "${HROOT[b]}/cases" -name job.json | wc -l)" 200 "200 case folders across the two roots"
na=$(local_jobs a done | wc -l)
nb=$(local_jobs b done | wc -l)
echo "# host a ran $na, host b ran $nb"
[ "$na" -ge 20 ] && [ "$nb" -ge 20 ]
ok $? "the jobs are spread over both hosts (a $na, b $nb)"
missing=0
for id in "${ids[@]}"; do grep -qx -- "$id" "$TMP/ran" || missing=$((missing + 1)); done
is "$missing" 0 "every posted job is among those done"
# an upload in one host's folder run by the other: fetched from its /uploads/
peer=$(jq -r 'select(.source | test("/uploads/")) | .source' "${HROOT[b]}"/cases/31*/1/job.json "${HROOT[b]}"/cases/33*/1/job.json 2>/dev/null | head -n 1)
[ -n "$peer" ]
ok $? "host b ran uploads of host a's folders, fetched from a's /uploads/ ($peer)"
bsize=$(jq -r '.input_bytes // empty' "$(grep -l '/uploads/' "${HROOT[b]}"/cases/3[13]*/1/job.json | head -n 1)")
is "$bsize" "$(stat -c %s "$SYNTH/kdump-zlib")" "the upload fetched from the peer is whole"

# any host answers for any job, with links to the host that has it
bjob=$(local_jobs b done | head -n 1 | cut -d' ' -f1)
rec=$(on a GET "/jobs/$bjob")
is "$(status)" 200 "GET /jobs/ID on host a for a job host b ran: 200"
is "$(jq -r .host <<<"$rec")" hk-b "it names host b"
is "$(jq -r .state <<<"$rec")" done "and its state"
self=$(jq -r .links.self <<<"$rec")
is "${self%%/jobs/*}" "${HAPI[b]}" "its link leads to host b ($self)"
is "$(curl -s -o /dev/null -w '%{http_code}' "$self")" 200 "and answers there"
page=$(on a GET "/ui/jobs/$bjob")
is "$(status)" 200 "the web UI's page on host a for host b's job: 200"
grep -q "hk-b\|${HAPI[b]}" <<<"$page"
ok $? "the page names host b"
on a DELETE "/jobs/$bjob" >/dev/null
is "$(status)" 409 "DELETE on host a of host b's job: 409"
is "$(jq -r .type "$TMP/body")" /problems/job-elsewhere "a job-elsewhere problem"
hosts=$(on a GET /cluster)
is "$(jq -r '[.hosts[].host] | sort | join(",")' <<<"$hosts")" hk-a,hk-b "GET /cluster lists both hosts"
status_out=$("$HOTKDUMP" status --hosts --server "${HAPI[b]}" 2>&1)
grep -q hk-a <<<"$status_out" && grep -q hk-b <<<"$status_out"
ok $? "hotkdump status --hosts shows every host"
echo "$status_out" | sed 's/^/# /'
m=$(curl -s "${HAPI[a]}/metrics")
grep -q '^hotkdump_cluster_stream_pending ' <<<"$m" && grep -q '^hotkdump_cluster_connected 1' <<<"$m"
ok $? "/metrics has the stream's lag and the connection"
if command -v promtool >/dev/null; then
	promtool check metrics <<<"$m" >"$TMP/promtool" 2>&1
	ok $? "promtool check metrics passes with the cluster's metrics"
fi

# --- the same upload announced to both hosts: one job -------------------------------------------
cp "$SYNTH/kdump-zlib" "$TMP/www-dump"
mkdir -p "$TMP/www"
mv "$TMP/www-dump" "$TMP/www/same.vmcore"
WWW_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$WWW_PORT" >"$TMP/www.log" 2>&1 &
WWW_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$WWW_PORT") 2>/dev/null && break; sleep 0.1; done
body='{"case": "39000001", "url": "http://127.0.0.1:'"$WWW_PORT"'/same.vmcore", "size": '"$(stat -c %s "$TMP/www/same.vmcore")"'}'
ra=$(on a POST /analyze "$body")
sa=$(status)
rb=$(on b POST /analyze "$body")
sb=$(status)
is "$sa $sb" "202 200" "the same upload posted to host a, then to host b: 202, then 200"
is "$(jq -r .id <<<"$rb")" "$(jq -r .id <<<"$ra")" "host b names host a's job"
is "$(jq -r .duplicate <<<"$rb")" true "as a duplicate"
# and announced to both at once, by the two mirrors
for h in a b; do mkdir -p "$TMP/mirror-$h/39000002"; cp "$SYNTH/kdump-zlib" "$TMP/mirror-$h/39000002/.p"; done
for h in a b; do mv "$TMP/mirror-$h/39000002/.p" "$TMP/mirror-$h/39000002/vmcore-both"; done
sleep 4
wait_all_done 202 60
ok $? "both announced uploads done"
is "$(find "${HROOT[a]}/cases" "${HROOT[b]}/cases" -path '*/39000001/*' -name job.json | wc -l)" 1 "the upload posted to both hosts made one case folder"
is "$(find "${HROOT[a]}/cases" "${HROOT[b]}/cases" -path '*/39000002/*' -name job.json | wc -l)" 1 "the upload dropped into both mirrors made one case folder"

# --- a host killed mid-job ------------------------------------------------------------------------
kill "$WWW_PID"
wait "$WWW_PID" 2>/dev/null
head -c $((4 << 20)) /dev/urandom | cat "$SYNTH/kdump-zlib" - >"$TMP/www/slow.vmcore"
cp "$TMP/www/slow.vmcore" "$TMP/www/slow2.vmcore"
start_slow_server "$TMP/www"
sid=$(on a POST /analyze '{"case": "39000003", "url": "http://127.0.0.1:'"$WWW_PORT"'/slow.vmcore"}' | jq -r .id)
# whichever host takes it is killed
owner=
for _ in $(seq 200); do
	owner=$(on a GET "/jobs/$sid" | jq -r 'select(.state == "running") | .host // empty')
	[ -n "$owner" ] && break
	sleep 0.1
done
[ -n "$owner" ]
ok $? "the slow job runs on a host ($owner)"
dead=${owner#hk-}
other=$([ "$dead" = a ] && echo b || echo a)
sleep 1
host_stop "$dead" KILL
echo "# killed host $dead (kill -9) while its job $sid ran"
state=
for _ in $(seq 600); do
	rec=$(on "$other" GET "/jobs/$sid")
	state=$(jq -r '.state + " " + (.host // "")' <<<"$rec")
	[ "$state" = "done hk-$other" ] && break
	sleep 0.1
done
is "$state" "done hk-$other" "the job was handed to host $other, which finished it"
host_start "$dead"
sleep 3
is "$(on "$dead" GET "/jobs/$sid" | jq -r .delivered)" 2 "on its second hand-out (as the restarted host reads the job's status)"
dstate=$(jq -r .state "${HROOT[$dead]}"/cases/39000003/1/job.json 2>/dev/null)
[ "$dstate" != done ]
ok $? "the killed host's case folder of it did not end done ($dstate): the job ran to completion once"
is "$(on "$dead" GET "/jobs/$sid" | jq -r '.state + " " + .host')" "done hk-$other" "the restarted host answers for it: done by host $other"

# hosts that keep dying: after queue.max_deliver (2) hand-outs, the job fails with the reason
fid=$(on a POST /analyze '{"case": "39000004", "url": "http://127.0.0.1:'"$WWW_PORT"'/slow2.vmcore"}' | jq -r .id)
for round in 1 2; do
	# the host that took it the round-th time (the status, as the host that does not run it reads it)
	owner=
	for _ in $(seq 300); do
		for h in a b; do
			[ -z "$owner" ] && owner=$(on "$h" GET "/jobs/$fid" 2>/dev/null |
				jq -r --argjson r "$round" 'select(.state == "running" and .takes == $r) | .host // empty')
		done
		[ -n "$owner" ] && break
		sleep 0.1
	done
	[ -n "$owner" ] || break
	host_stop "${owner#hk-}" KILL
	echo "# round $round: killed $owner while it ran $fid"
	host_start "${owner#hk-}"
done
fstate=
for _ in $(seq 600); do
	frec=$(on a GET "/jobs/$fid")
	fstate=$(jq -r .state <<<"$frec")
	[ "$fstate" = failed ] && break
	sleep 0.1
done
is "$fstate" failed "a job whose host died each of the 2 times one took it failed"
[ "$fstate" = failed ] || grep -h "$fid" "${HROOT[a]}.log" "${HROOT[b]}.log" | sed 's/^/# /' 
grep -q 'queue.max_deliver' <<<"$(jq -r .error <<<"$frec")"
ok $? "with the reason: $(jq -r .error <<<"$frec")"

# --- a NATS server killed ----------------------------------------------------------------------------
# the server host a is connected to goes, while jobs are announced
nats_server_of() { # nats_server_of CLIENT-NAME: the node (1…) a client of that name is connected to
	local k
	for k in "${!NATS_MON[@]}"; do
		curl -s --max-time 5 "http://127.0.0.1:${NATS_MON[$k]}/connz?limit=1024" |
			jq -e --arg n "$1" '[.connections[]? | select(.name == $n)] | length > 0' >/dev/null && { echo "$k"; return 0; }
	done
	return 1
}
victim=$(nats_server_of hk-a)
echo "# host a is connected to NATS node $victim; stream leader: $(nats_leader_of hotkdump-jobs)"
before=$(curl -s "${HAPI[a]}/metrics" | awk '/^hotkdump_cluster_reconnects_total/ {print $2}')
accepted=()
for i in $(seq 1 30); do
	[ "$i" = 10 ] && { nats_kill "$victim"; echo "# killed NATS node $victim (kill -9)"; }
	h=$([ $((i % 2)) = 0 ] && echo a || echo b)
	cp "$SYNTH/kdump-zlib" "$TMP/up-$h/n-$i"
	for try in $(seq 40); do
		id=$(on "$h" POST /analyze '{"case": "'"$(printf '395%05d' "$i")"'", "path": "'"$TMP/up-$h/n-$i"'"}' | jq -r '.id // empty')
		[ "$(status)" = 202 ] && break
		sleep 0.25 # a 503 while the servers elect a new leader: the client tries again
	done
	[ "$(status)" = 202 ] && accepted+=("$id")
done
is "${#accepted[@]}" 30 "30 jobs accepted while a NATS node was down"
lost=0
deadline=$((SECONDS + 90))
for id in "${accepted[@]}"; do
	s=
	while :; do
		s=$(on a GET "/jobs/$id" | jq -r .state)
		[ "$s" = done ] || [ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	[ "$s" = done ] || { lost=$((lost + 1)); echo "# $id: $s"; grep -h "$id" "${HROOT[a]}.log" "${HROOT[b]}.log" | sed 's/^/#   /'; }
done
is "$lost" 0 "no job lost: every accepted job is done"
after=$(curl -s "${HAPI[a]}/metrics" | awk '/^hotkdump_cluster_reconnects_total/ {print $2}')
[ "${after:-0}" -gt "${before:-0}" ]
ok $? "host a reconnected to another server (reconnects ${before:-0} -> ${after:-0})"
is "$(curl -s "${HAPI[a]}/metrics" | awk '/^hotkdump_cluster_connected/ {print $2}')" 1 "and is connected"
nats_restart "$victim"

# --- debug symbols from another host's cache -------------------------------------------------------
for h in a b; do host_stop "$h"; done
"$HOTKDUMP" symbols --root "${HROOT[a]}" --debug-file "$TMP/vmlinux" "$SYNTH/kdump" >"$TMP/seed.out" 2>&1 || bail "seed a"
host_start a --set daemon.workers=0
host_start b --set daemon.stop_after=symbols
sleep 5 # host b learns of host a at its next renewal
cp "$SYNTH/kdump-zlib" "$TMP/up-b/s-1"
sym=$(post_path b 39200001 "$TMP/up-b/s-1")
is "$(API=${HAPI[b]} wait_job "$sym" 60)" done "a job on host b, whose cache lacks the kernel: done"
src=$(jq -r .symbols.source "${HROOT[b]}/cases/39200001/1/job.json")
is "$src" "peer ${HAPI[a]}" "its debug symbols came from host a's cache"
is "$(readelf -n "${HROOT[b]}/symbols/$SYNTH_BUILD_ID/vmlinux" | sed -n 's/.*Build ID: *//p')" "$SYNTH_BUILD_ID" \
	"host b's cache has them now, of the dump's build-id"
is "$(jq -r .source "${HROOT[b]}/symbols/$SYNTH_BUILD_ID/info.json")" "peer ${HAPI[a]}" "its entry says where they came from"

# --- the outbox with two hosts: each comment once -------------------------------------------------
for h in a b; do host_stop "$h"; done
standin_account '{"39100001": "500Q0000901", "39100002": "500Q0000902", "39100003": "500Q0000903", "39100004": "500Q0000904", "39100005": "500Q0000905", "39100006": "500Q0000906"}'
for h in a b; do
	"$HOTKDUMP" symbols --root "${HROOT[$h]}" --debug-file "$TMP/vmlinux" "$SYNTH/kdump" >"$TMP/seed.out" 2>&1 || bail "seed $h"
	host_start "$h" "${ATHENA_SETS[@]}" --set daemon.stop_after=report --set post.retry_min=1 --set post.retry_max=2 --set post.early=no
done
pids=()
for i in 1 2 3 4 5; do
	h=$([ $((i % 2)) = 0 ] && echo a || echo b)
	cp "$SYNTH/kdump-zlib" "$TMP/up-$h/p-$i"
	pids+=("$(post_path "$h" "3910000$i" "$TMP/up-$h/p-$i")")
done
for i in 1 2 3 4 5; do
	wait_comments "500Q000090$i" 1 120
	ok $? "case 3910000$i: its comment is on Athena"
done
sleep 4
for i in 1 2 3 4 5; do
	is "$(count_comments "500Q000090$i")" 1 "case 3910000$i: one comment"
done
# the same post in both hosts' outboxes (a job both hosts ran: one took it over while the other,
# cut off from the servers, went on): Athena is down while it waits, then both send
stop_standin
cp "$SYNTH/kdump-zlib" "$TMP/up-a/p-6"
jid=$(post_path a 39100006 "$TMP/up-a/p-6")
entry=
for _ in $(seq 300); do
	entry=$(grep -l '"case":"39100006"' "${HROOT[a]}"/outbox/*.json "${HROOT[b]}"/outbox/*.json 2>/dev/null | head -n 1)
	[ -n "$entry" ] && break
	sleep 0.2
done
[ -n "$entry" ]
ok $? "job $jid's post waits in an outbox while Athena is down"
src=${entry%%/outbox/*}
dst=$([ "$src" = "${HROOT[a]}" ] && echo "${HROOT[b]}" || echo "${HROOT[a]}")
cp "$entry" "$dst/outbox/"
touch "$dst/outbox"
start_standin
wait_comments 500Q0000906 1 60
ok $? "the post reached the case"
sleep 8
is "$(count_comments 500Q0000906)" 1 "the post both hosts held went out once"
cat "${HROOT[a]}.log" "${HROOT[b]}.log" | grep -q 'sent by host hk-'
ok $? "the host that did not send it says which host did"
for h in a b; do ls "${HROOT[$h]}"/outbox/*.json >/dev/null 2>&1 && echo "# outbox of $h: $(ls "${HROOT[$h]}"/outbox)"; done

for h in a b; do
	host_stop "$h"
	is "$DAEMON_STATUS" 0 "host $h stops cleanly on TERM"
done
done_testing
