# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# A real nats-server cluster on loopback (JetStream, file storage in temp folders): starting it,
# killing and restarting its nodes, and asking its monitoring ports about streams. Sourced after
# lib.sh. Node K (1…N) has its config, store and log in $TMP/nats-K/.

NATS_PID=()
NATS_PORT=()
NATS_MON=()
NATS_URLS=

# nats_logs: every node's log, each line prefixed "# ".
nats_logs() {
	local k
	for k in "${!NATS_PORT[@]}"; do
		echo "# --- nats-$k"
		sed 's/^/# /' "$TMP/nats-$k/log" 2>/dev/null
	done
}

# nats_get K PATH: the body of GET PATH on node K's monitoring port (2 s at most); fails when the
# node does not answer with a 2xx.
nats_get() {
	curl -sf --max-time 2 "http://127.0.0.1:${NATS_MON[$1]}$2"
}

# nats_healthy K: node K's /healthz says ok: it is up, its JetStream is on, and it has been in
# touch with a meta leader (2.9.10 says "unavailable" until then, but stays ok on the others for
# a while when the meta leader is killed).
nats_healthy() {
	[ "$(nats_get "$1" /healthz | jq -r '.status // empty' 2>/dev/null)" = ok ]
}

# nats_spawn K: runs node K from its config, in the background; sets NATS_PID[K].
nats_spawn() {
	nats-server -c "$TMP/nats-$1/nats.conf" >>"$TMP/nats-$1/log" 2>&1 &
	NATS_PID[$1]=$!
}

# nats_cluster_start [N]: N nodes (3 by default) n1…nN of cluster hk on 127.0.0.1, each with its
# own client, cluster and monitoring port, JetStream on, routes to every node. Sets NATS_PID[K],
# NATS_PORT[K], NATS_MON[K] and NATS_URLS (nats://127.0.0.1:PORT,…). Returns once every node's
# /healthz is ok and each node sees the same JetStream meta leader in a meta group of N (about
# 2 s); stops the nodes and bails with their logs after 30 s.
nats_cluster_start() {
	local n=${1:-3} k p routes='' used=' ' ports=() cport=() deadline leaders
	# 3 distinct free ports a node
	while [ ${#ports[@]} -lt $((3 * n)) ]; do
		p=$(free_port)
		[[ $used == *" $p "* ]] || { ports+=("$p"); used+="$p "; }
	done
	for k in $(seq "$n"); do
		NATS_PORT[k]=${ports[3 * k - 3]}
		NATS_MON[k]=${ports[3 * k - 2]}
		cport[k]=${ports[3 * k - 1]}
		routes+="${routes:+, }nats://127.0.0.1:${cport[k]}"
	done
	NATS_URLS=
	for k in $(seq "$n"); do
		NATS_URLS+="${NATS_URLS:+,}nats://127.0.0.1:${NATS_PORT[$k]}"
		mkdir -p "$TMP/nats-$k/store"
		cat >"$TMP/nats-$k/nats.conf" <<CONF
server_name: n$k
listen: 127.0.0.1:${NATS_PORT[$k]}
http: 127.0.0.1:${NATS_MON[$k]}
jetstream {
	store_dir: "$TMP/nats-$k/store"
}
cluster {
	name: hk
	listen: 127.0.0.1:${cport[$k]}
	routes: [$routes]
}
CONF
		nats_spawn "$k"
	done
	deadline=$((SECONDS + 30))
	while [ $SECONDS -lt $deadline ]; do
		leaders=
		for k in $(seq "$n"); do
			nats_healthy "$k" || break
			leaders+=$(nats_get "$k" /jsz | jq -r --argjson n "$n" \
				'.meta_cluster | select(.cluster_size == $n) | .leader // empty' 2>/dev/null)" "
		done
		# every node healthy and naming the same leader
		[ "$(wc -w <<<"$leaders")" = "$n" ] && [ "$(tr ' ' '\n' <<<"$leaders" | sort -u | grep -c .)" = 1 ] &&
			return 0
		sleep 0.2
	done
	nats_logs
	nats_cluster_stop
	bail "the NATS cluster was not ready for JetStream within 30 s"
}

# nats_kill K: kill -9 node K and wait for it to be gone.
nats_kill() {
	[ -n "${NATS_PID[$1]:-}" ] || return 0
	kill -KILL "${NATS_PID[$1]}" 2>/dev/null
	wait "${NATS_PID[$1]}" 2>/dev/null
	NATS_PID[$1]=
}

# nats_restart K: node K again, with the same config, ports and store; returns once its /healthz
# is ok (about 1–2 s); stops the cluster and bails with the logs after 30 s.
nats_restart() {
	local deadline=$((SECONDS + 30))
	nats_kill "$1"
	nats_spawn "$1"
	while [ $SECONDS -lt $deadline ]; do
		nats_healthy "$1" && return 0
		sleep 0.2
	done
	nats_logs
	nats_cluster_stop
	bail "NATS node $1 did not come back within 30 s"
}

# nats_cluster_stop: kill -9 every node that runs and wait for them (for EXIT traps: does nothing
# when none runs, or called again).
nats_cluster_stop() {
	local k
	for k in "${!NATS_PID[@]}"; do
		nats_kill "$k"
	done
}

# nats_live: the server names (n1…) of the nodes that run, one a line.
nats_live() {
	local k
	for k in "${!NATS_PID[@]}"; do
		[ -n "${NATS_PID[$k]}" ] && echo "n$k"
	done
}

# nats_meta_leader: the server name of the JetStream meta leader, as the first live node that
# names a live one says; fails when none does (as for a few seconds after the leader is killed).
nats_meta_leader() {
	local k l
	for k in "${!NATS_PID[@]}"; do
		[ -n "${NATS_PID[$k]}" ] || continue
		l=$(nats_get "$k" /jsz | jq -r '.meta_cluster.leader // empty' 2>/dev/null)
		[ -n "$l" ] && grep -qx "$l" <<<"$(nats_live)" && { echo "$l"; return 0; }
	done
	return 1
}

# nats_stream_json STREAM: the stream's entry in /jsz (name, created, cluster {name, leader,
# replicas}, state, config) from the first live node that has it with a live leader; fails when
# none does. A node killed stays the leader the others name until they elect another (3–8 s).
nats_stream_json() {
	local k s live
	live=$(nats_live | jq -R . | jq -sc .)
	for k in "${!NATS_PID[@]}"; do
		[ -n "${NATS_PID[$k]}" ] || continue
		s=$(nats_get "$k" '/jsz?accounts=true&streams=true&config=true' | jq -c --arg s "$1" --argjson live "$live" \
			'first(.account_details[]?.stream_detail[]? | select(.name == $s and (.cluster.leader as $l | $live | any(.[]; . == $l))))' 2>/dev/null)
		[ -n "$s" ] && { echo "$s"; return 0; }
	done
	return 1
}

# nats_leader_of STREAM: the server name (n1…) of the stream's leader, a live node; fails while
# there is none (the stream is missing, or its leader was killed and no other is elected yet).
nats_leader_of() {
	local s
	s=$(nats_stream_json "$1") || return 1
	jq -r .cluster.leader <<<"$s"
}

# nats_stream_info STREAM: the stream's state as one line of JSON ({messages, bytes, first_seq,
# last_seq, num_subjects, consumer_count, …}); fails as nats_stream_json does.
nats_stream_info() {
	local s
	s=$(nats_stream_json "$1") || return 1
	jq -c .state <<<"$s"
}
