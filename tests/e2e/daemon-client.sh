#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdump submit and hotkdump status against a real hotkdumpd on loopback: a real dump queued
# by path and followed to its end, the same upload again (known, same job), the job shown, listed
# and printed as JSON, and the refusals: no token, a path outside the roots, a bad case number,
# an unknown job, and a server that is not there; a job that fails, and a wait that times out.
. "$(dirname "$0")/lib.sh"
: "${TOP_BUILDDIR:?run through make check}"

load_fixtures
mkdir -p "$TMP/up"
cp "$(fixture_of sysrq kdump-compressed)" "$TMP/up/dump.202611271435"
printf 'e2e-token-%s\n' "$RANDOM$RANDOM" >"$TMP/token"

"$TOP_BUILDDIR/hotkdumpd" --root "$TMP/root" --set daemon.listen=127.0.0.1:0 --port-file "$TMP/port" "${LOOPBACK_FETCH[@]}" \
	--set daemon.stop_after=identify --set daemon.path_roots="$TMP/up" --set http.token_file="$TMP/token" \
	--set fetch.retries=0 --set daemon.drain_timeout=1 >"$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
STALL_PID=
trap 'kill "$DAEMON_PID" $STALL_PID 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
	[ -s "$TMP/port" ] && break
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$TMP/port" ] || { sed 's/^/# /' "$TMP/daemon.log"; bail "hotkdumpd did not start"; }
SERVER=http://127.0.0.1:$(cat "$TMP/port")

# client CMD ARGS…: hotkdump CMD against the daemon, with its token; output in $TMP/out, $TMP/err.
client() {
	local cmd=$1 rc
	shift
	timeout 120 "$HOTKDUMP" "$cmd" --server "$SERVER" --token-file "$TMP/token" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	head -n 3 "$TMP/err" | sed 's/^/# stderr: /'
	return $rc
}

client submit --case 00345677 --wait --timeout 120 "$TMP/up/dump.202611271435"
is "$?" 0 "submit --wait: exit status 0 (done)"
id=$(head -n 1 "$TMP/out" | cut -d ' ' -f 1)
grep -qE '^00345677-[0-9a-f]{8} (queued|running|done) '"$SERVER/jobs/00345677-[0-9a-f]{8}\$" "$TMP/out"
ok $? "submit: prints the job id, its state and its URL"
is "$(tail -n 1 "$TMP/out")" "$id done" "submit --wait: the final state"

client submit --case 00345677 "$TMP/up/dump.202611271435"
is "$?" 0 "submit again: exit status"
is "$(cat "$TMP/out")" "$id done $SERVER/jobs/$id (already known)" "submit again: already known, the same job"

client status "$id"
is "$?" 0 "status ID: exit status"
is "$(awk '$1 == "state" { print $2 }' "$TMP/out")" done "status ID: state done"
is "$(awk '$1 == "job" { print $2 }' "$TMP/out")" "$id" "status ID: the job's id"
grep -qx "  self       $SERVER/jobs/$id" "$TMP/out"
ok $? "status ID: its links are full URLs"

client status --case 00345677
is "$?" 0 "status --case: exit status"
is "$(awk -v id="$id" '$1 == id { print $2, $3, $NF }' "$TMP/out")" "00345677 done dump.202611271435" \
	"status --case: the job is listed with its case, state and file"
client status --case 00345678
is "$(cat "$TMP/out")" "no jobs" "status --case of another case: no jobs"

client status --json "$id"
is "$(jq -r '.state' "$TMP/out")" done "status --json ID: the server's JSON"
client status --json --case 00345677
is "$(jq -r --arg id "$id" '[.jobs[] | select(.id == $id)] | length' "$TMP/out")" 1 "status --json: a valid list with the job"

grep -qF "$(head -n 1 "$TMP/token")" "$TMP"/out "$TMP"/err
ok $((!$?)) "the token is never printed"

timeout 60 "$HOTKDUMP" submit --server "$SERVER" --case 00345677 "$TMP/up/dump.202611271435" >"$TMP/out" 2>"$TMP/err"
is "$?" 3 "submit without the token: exit status 3"
grep -q "^hotkdump: error: submit: $SERVER: HTTP 401: a bearer token" "$TMP/err"
ok $? "submit without the token: the server's message"

client submit --case 00345677 /etc/hostname
is "$?" 3 "path outside the roots: exit status 3"
grep -q "^hotkdump: error: submit: $SERVER: HTTP 403: '/etc/hostname' is outside the folders" "$TMP/err"
ok $? "path outside the roots: the server's message"

client submit --case 12ab "$TMP/up/dump.202611271435"
is "$?" 3 "bad case number: exit status 3"
grep -q "^hotkdump: error: submit: $SERVER: HTTP 400: case number '12ab'" "$TMP/err"
ok $? "bad case number: the server's message"

client status 00345677-00000000
is "$?" 3 "status of an unknown job: exit status 3"
grep -q "HTTP 404: no job '00345677-00000000'" "$TMP/err"
ok $? "status of an unknown job: the server's message"

timeout 60 "$HOTKDUMP" status --server http://127.0.0.1:1 >"$TMP/out" 2>"$TMP/err"
is "$?" 5 "no server: status exits 5"
timeout 60 "$HOTKDUMP" submit --server http://127.0.0.1:1 --case 00345677 "$TMP/up/dump.202611271435" >"$TMP/out" 2>"$TMP/err"
is "$?" 5 "no server: submit exits 5"

client submit "$TMP/up/dump.202611271435"
is "$?" 2 "submit without --case: usage, exit status 2"

# A job that fails: its download is refused (fetch.retries=0, so at once).
client submit --case 00345679 --wait --timeout 120 http://127.0.0.1:1/dump.tar.gz
is "$?" 6 "a job that fails: submit --wait exits 6"
id=$(head -n 1 "$TMP/out" | cut -d ' ' -f 1)
is "$(sed -n 2p "$TMP/out")" "$id failed" "a job that fails: its final state"
grep -q '^  error ' "$TMP/out"
ok $? "a job that fails: its error"
client status
is "$(awk -v id="$id" '$1 == id { print $3 }' "$TMP/out")" failed "a job that fails: listed as failed"

# A wait that ends before the job: the download stalls, --timeout passes.
start_stalling_server
client submit --case 00345680 --wait --timeout 2 "http://127.0.0.1:$STALL_PORT/dump.tar.gz"
is "$?" 6 "--timeout passed: exit status 6"
grep -q "hotkdump: error: submit: job 00345680-[0-9a-f]* is still running after 2 s" "$TMP/err"
ok $? "--timeout passed: says the job is still running"

done_testing
