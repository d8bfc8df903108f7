# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The Athena stand-in (athena-standin.py, a Salesforce-shaped case API on loopback that records
# every call): starting it, its state files, and what it recorded. Sourced after lib.sh.

SF_DIR=$TMP/sf
SF_PID=
SF_PORT=0
mkdir -p "$SF_DIR"
# start_standin [ARGS…]: the stand-in, on the port it had before if it had one
start_standin() {
	rm -f "$TMP/sf.port"
	python3 "$TOP_SRCDIR/tests/e2e/athena-standin.py" --port-file "$TMP/sf.port" --state "$SF_DIR" --port "$SF_PORT" "$@" \
		>>"$TMP/sf.out" 2>&1 &
	SF_PID=$!
	for _ in $(seq 100); do
		[ -s "$TMP/sf.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/sf.port" ] || bail "the Salesforce stand-in did not start: $(cat "$TMP/sf.out")"
	SF_PORT=$(cat "$TMP/sf.port")
	SF=http://127.0.0.1:$SF_PORT
}
stop_standin() {
	[ -n "$SF_PID" ] && kill "$SF_PID" 2>/dev/null && wait "$SF_PID" 2>/dev/null
	SF_PID=
}
# standin_account CASES-JSON: the stand-in's one API user (a random password, exported as
# HOTKDUMP_ATHENA_PASSWORD for the daemon) and its cases ({"CASE-NUMBER": "ID", …}), then the
# stand-in started; ATHENA_SETS holds the settings that post to it
standin_account() {
	PASSWORD="pw-$RANDOM-$RANDOM"
	put users.json '{"client_id": "hotkdump-app", "client_secret": "app-secret", "username": "hotkdump@example.com", "password": "'"$PASSWORD"'"}'
	put cases.json "$1"
	mkdir -p "$TMP/etc"
	echo app-secret >"$TMP/etc/client-secret"
	start_standin
	export HOTKDUMP_ATHENA_PASSWORD=$PASSWORD
	ATHENA_SETS=(--set post.sinks=athena --set "athena.login_url=$SF" --set athena.client_id=hotkdump-app
		--set "athena.client_secret_file=$TMP/etc/client-secret" --set athena.username=hotkdump@example.com)
}
put() { # put FILE JSON: a state file of the stand-in, replaced whole
	printf '%s\n' "$2" >"$SF_DIR/$1.tmp" && mv "$SF_DIR/$1.tmp" "$SF_DIR/$1"
}
calls() { # calls: one line per call to the Salesforce API recorded: METHOD PATH-OR-QUERY STATUS
	jq -r 'select(.path | startswith("/hook") | not) | (.method) + " " + (if .path | test("/query") then "query:" + (.query.q[0] | split(" ")[3]) else .path end) + " " + (.status | tostring)' \
		"$SF_DIR/calls.jsonl" 2>/dev/null
}
comments_of() { # comments_of CASE-ID: the bodies of its comments, as a JSON array
	jq --arg p "$1" '[.[] | select(.ParentId == $p) | .CommentBody]' "$SF_DIR/comments.json" 2>/dev/null || echo '[]'
}
count_comments() { # count_comments CASE-ID
	jq --arg p "$1" '[.[] | select(.ParentId == $p)] | length' "$SF_DIR/comments.json" 2>/dev/null || echo 0
}
wait_comments() { # wait_comments CASE-ID N SECONDS: until the case has N comments
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(count_comments "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
