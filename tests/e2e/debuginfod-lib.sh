# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# A real debuginfod server (elfutils) on loopback, indexing a folder of debug packages.
# Sourced after lib.sh, which provides TMP, bail and free_port.
#
# debuginfod opens each .deb with bsdtar and reads every ELF file in it, so the scan of one
# Debian -dbg package (about 280 MB) takes half a minute on two cores, and the first request for
# its vmlinux takes another ten seconds or so while the server unpacks it again. Tests pay the
# scan once, in start_debuginfod, and should expect the first download to be slow.

# Extended regex for the request lines of the server's log (-v), one per answered request of
# any method and status:  [date] (pid/tid): 127.0.0.1:port UA:... XFF: GET /buildid/ID/debuginfo 200 ...
DEBUGINFOD_REQUEST_RE=' [A-Z]+ /buildid/[^ ]* [0-9]{3} '

# debuginfod_metric_sum PREFIX: sum of the metrics, read on stdin, whose line starts with PREFIX
# (a plain string: metric names hold braces and quotes). Label values can hold spaces
# (source=".deb archive"), so the value is the last field.
debuginfod_metric_sum() {
	awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }'
}

# start_debuginfod DEBDIR: serves the debug packages under DEBDIR, and nothing else. Returns once
# the first scan has read every package, so that every build-id in them can be fetched. Sets
# DEBUGINFOD_PORT and DEBUGINFOD_PID; its database, log and unpacked files stay in
# $TMP/debuginfod. Started again on the same DEBDIR, it keeps its database and so only checks
# that the packages are unchanged, in a second or two.
start_debuginfod() {
	local dir=$TMP/debuginfod want metrics deadline
	mkdir -p "$dir/tmp" "$dir/client-cache"
	# The database remembers every package it has read for as long as the file is still on
	# disk, so one built for another folder would serve that folder's build-ids too.
	if [ "$(cat "$dir/source" 2>/dev/null)" != "$1" ]; then
		rm -f "$dir"/db.sqlite*
		echo "$1" >"$dir/source"
	fi
	# The traversal queues every regular file once, by real path (-L follows symlinks, as
	# find -L does), and the scanners count each one as work done, whether they read it,
	# skip it as already in the database, or fail on it.
	want=$(find -L "$1" -type f -exec realpath {} + | sort -u | wc -l)
	DEBUGINFOD_PORT=$(free_port)
	# This debuginfod has no option to pick the listen address: it listens on every interface,
	# IPv4 and IPv6, at that port; the tests only ever talk to 127.0.0.1.
	# -U: .deb/.ddeb scanning (through bsdtar) only, no loose ELF files. -L: follow symlinks
	# (without it, symlinked packages are silently skipped). -t 0 -g 0: one scan at start, no
	# rescans or grooming while a test runs. -v: a log line per request, for debuginfod_requests.
	# TMPDIR: the server unpacks each requested file (and prefetches its neighbours) into its
	# fdcache there, hundreds of MB for a vmlinux; it removes them when it stops.
	# No DEBUGINFOD_URLS: a server with one forwards its misses to those servers.
	# The log is appended to, so that debuginfod_requests counts across a restart.
	env -u DEBUGINFOD_URLS TMPDIR="$dir/tmp" DEBUGINFOD_CACHE_PATH="$dir/client-cache" \
		debuginfod -U -L -t 0 -g 0 -v -d "$dir/db.sqlite" -p "$DEBUGINFOD_PORT" "$1" \
		>>"$dir/log" 2>&1 &
	DEBUGINFOD_PID=$!
	# The scan is over when the one traversal has ended (its counter ticks once everything is
	# queued) and the scanners have done as many files as there are. The scanned_files_total
	# metric would not do: it leaves out packages already in the database.
	deadline=$((SECONDS + 600))
	while [ $SECONDS -lt $deadline ]; do
		kill -0 "$DEBUGINFOD_PID" 2>/dev/null || {
			wait "$DEBUGINFOD_PID"
			DEBUGINFOD_PID=
			sed 's/^/# /' "$dir/log"
			bail "debuginfod died while starting"
		}
		if metrics=$(curl -sf --max-time 5 "http://127.0.0.1:$DEBUGINFOD_PORT/metrics"); then
			[ "$(debuginfod_metric_sum 'thread_work_total{role="traverse"}' <<<"$metrics")" -ge 1 ] &&
				[ "$(debuginfod_metric_sum 'thread_work_total{role="scan"}' <<<"$metrics")" -ge "$want" ] &&
				return 0
		fi
		sleep 0.5
	done
	grep -vE ' GET /metrics ' "$dir/log" | sed 's/^/# /'
	stop_debuginfod
	bail "debuginfod did not finish scanning '$1' in 600 s"
}

# Stops the server and waits for it: on SIGTERM it takes a few seconds to wind down its threads
# and delete its unpacked files, which must be gone before $TMP is removed.
stop_debuginfod() {
	[ -n "${DEBUGINFOD_PID:-}" ] && kill "$DEBUGINFOD_PID" 2>/dev/null && wait "$DEBUGINFOD_PID" 2>/dev/null
	DEBUGINFOD_PID=
}

# Prints how many /buildid/ requests the server has answered so far, whatever their method or
# status, so that a test can show that a cache hit asked nothing. Taken from the log rather than
# the http_requests_total metric, which leaves out requests it refuses (a HEAD gets a 400 and is
# not counted there). The server logs a request before it sends the body, so the count is
# already up to date when a client has its answer.
debuginfod_requests() {
	grep -cE "$DEBUGINFOD_REQUEST_RE" "$TMP/debuginfod/log" || true
}
