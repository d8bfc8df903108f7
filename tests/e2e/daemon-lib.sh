# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Starting and talking to a real hotkdumpd on loopback. Sourced after lib.sh.

HOTKDUMPD=${TOP_BUILDDIR:?}/hotkdumpd
DAEMON_PID=

# start_daemon ROOT ARGS…: hotkdumpd on an ephemeral port, its log in ROOT.log; sets DAEMON_PID,
# DAEMON_PORT and API (its base URL). Downloads from loopback are allowed (LOOPBACK_FETCH).
start_daemon() {
	local root=$1
	shift
	rm -f "$root.port"
	"$HOTKDUMPD" --root "$root" --set daemon.listen=127.0.0.1:0 --port-file "$root.port" "${LOOPBACK_FETCH[@]}" "$@" \
		>>"$root.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		if [ -s "$root.port" ]; then
			DAEMON_PORT=$(cat "$root.port")
			API=http://127.0.0.1:$DAEMON_PORT
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$root.log"
	bail "hotkdumpd did not start"
}

# stop_daemon [SIGNAL]: TERM by default; waits for it.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "-${1:-TERM}" "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_STATUS=$?
	DAEMON_PID=
}

# api METHOD PATH [BODY [CURL-ARGS…]]: the body on stdout, the status in $TMP/status.
api() {
	local method=$1 path=$2 body=${3-}
	shift 3 2>/dev/null || shift $#
	local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method" --max-time 30)
	[ -n "$body" ] && args+=(-H "Content-Type: ${CONTENT_TYPE:-application/json}" --data-binary "$body")
	[ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
	curl "${args[@]}" "$@" "$API$path" >"$TMP/status"
	cat "$TMP/body"
}
status() { cat "$TMP/status"; }

# wait_job ID [SECONDS]: until the job's state is final; prints the state.
wait_job() {
	local deadline=$((SECONDS + ${2:-600})) state
	while [ $SECONDS -lt $deadline ]; do
		state=$(curl -s --max-time 10 "$API/jobs/$1" | jq -r .state)
		case $state in done | incomplete | failed | cancelled) echo "$state"; return 0 ;; esac
		sleep 0.5
	done
	echo "timeout($state)"
}

# job_of_case CASE [SECONDS]: the id of the case's first job once there is one (10 s at most;
# empty when none came).
job_of_case() {
	local deadline=$((SECONDS + ${2:-10})) id
	while [ $SECONDS -lt $deadline ]; do
		id=$(curl -s --max-time 10 "$API/jobs?case=$1" | jq -r '.jobs[0].id // empty')
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

# wait_stage ID STAGE [SECONDS]: until the job is running that stage.
wait_stage() {
	local deadline=$((SECONDS + ${3:-600}))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(curl -s --max-time 10 "$API/jobs/$1" | jq -r '.stage // empty')" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# healthz_fast: GET /healthz answers 200 within a second (from 127.0.0.2: another address than
# the clients under test, so per-address limits do not count it).
healthz_fast() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 --interface 127.0.0.2 "$API/healthz")
	[ "$code" = 200 ]
}

left_running() { # left_running DIR: processes still reading the job's dump, once given 30 s to go
	# (a process built with AddressSanitizer takes a while to tear down its shadow memory, and
	# its children get their parent-death signal only then)
	local pids pid
	for _ in $(seq 300); do
		pids=$(pgrep -f "$1/vmcore") || break
		sleep 0.1
	done
	pids=$(pgrep -f "$1/vmcore")
	# what is left, for the log: the same look that is counted
	for pid in $pids; do
		echo "# left running: $(ps -o pid=,ppid=,pgid=,stat=,args= -p "$pid")" >&2
		echo "# $(grep -E '^(State|PPid|Threads|SigPnd|ShdPnd|SigBlk)' "/proc/$pid/status" 2>/dev/null | tr '\n\t' '  ')" \
			"wchan $(cat "/proc/$pid/wchan" 2>/dev/null)" >&2
	done
	wc -w <<<"$pids"
}
