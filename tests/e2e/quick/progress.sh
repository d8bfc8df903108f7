#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The quick tier, no fixtures: progress, one model in three views. `hotkdump analyze` of an
# upload served slowly by a real HTTP server on loopback, and a crash that takes its time over
# each command:
#   - in tmux (a terminal): capture-pane shows a bar with a percentage and the time left while
#     it downloads, and the command count while crash runs; the finished lines carry no leftover
#     of the bar;
#   - with stderr a file: progress lines, a few seconds apart;
#   - hotkdump.log: the same lines;
#   - hotkdumpd: GET /jobs/ID shows the live figure of the step running.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../daemon-lib.sh"
. "$(dirname "$0")/quick-lib.sh"

WWW_PID=
tmux_sock=$TMP/tmux.sock
trap 'tmux -S "$tmux_sock" kill-server 2>/dev/null; stop_daemon KILL; [ -n "$WWW_PID" ] && kill "$WWW_PID"; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

make_synth_dumps
mkdir -p "$TMP/www/in"
cp "$SYNTH/kdump-zlib" "$TMP/www/in/vmcore"
head -c 2000000 /dev/urandom >"$TMP/www/in/notes.bin"
tar -C "$TMP/www/in" -cf "$TMP/www/upload.tar" vmcore notes.bin
size=$(stat -c %s "$TMP/www/upload.tar")

start_slow_server "$TMP/www"
URL=http://127.0.0.1:$WWW_PORT/upload.tar
export HOTKDUMP_STANDIN_DELAY=0.2
analyze=("$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" "${LOOPBACK_FETCH[@]}")

# --- a terminal ----------------------------------------------------------------------------------
pane() { tmux -S "$tmux_sock" capture-pane -p -t hk; }
tmux -S "$tmux_sock" new-session -d -s hk -x 160 -y 40 \
	"$(printf '%q ' "${analyze[@]}" --case 00200701 "$URL"); echo EXIT=\$?; sleep 600"
seen_bar= seen_count=
for _ in $(seq 600); do
	p=$(pane)
	[ -z "$seen_bar" ] && seen_bar=$(grep -E '^\[#* *\] download: [0-9]+% [0-9.]+ of [0-9.]+ MiB, [0-9.]+ MiB/s, [0-9]+ s left' <<<"$p" | tail -n 1)
	[ -z "$seen_count" ] && seen_count=$(grep -E '^\[#* *\] crash commands: [0-9]+ of [0-9]+' <<<"$p" | tail -n 1)
	grep -q '^EXIT=' <<<"$p" && break
	sleep 0.1
done
echo "# bar: $seen_bar"
echo "# count: $seen_count"
[ -n "$seen_bar" ]
ok $? "terminal: a bar with the percentage, the rate and the time left while it downloads"
[ -n "$seen_count" ]
ok $? "terminal: the command count while crash runs"
final=$(pane)
sed 's/^/# | /' <<<"$final" | tail -n 12
grep -q '^EXIT=0$' <<<"$final"
ok $? "terminal: the analysis finished"
grep -qE '^download: 100% [0-9.]+ of [0-9.]+ MiB, [0-9.]+ MiB/s in [0-9.]+ s$' <<<"$final"
ok $? "terminal: the download's last line says it finished, on a line of its own"
grep -qE '^crash commands: ([0-9]+) of \1 in ' <<<"$final"
ok $? "terminal: so does crash's"
! grep -q '\[#' <<<"$final"
ok $? "terminal: no bar is left on the screen once it is done"

# --- stderr a file -------------------------------------------------------------------------------
"${analyze[@]}" --case 00200702 "$URL" >"$TMP/out" 2>"$TMP/err"
ok $? "stderr a file: the analysis runs"
n=$(grep -cE '^download: [0-9]+% .* left$' "$TMP/err")
[ "$n" -ge 1 ] && [ "$n" -le 5 ]
ok $? "stderr a file: a progress line every few seconds of the download ($n of them)"
! grep -q $'\r' "$TMP/err" && ! grep -q $'\e' "$TMP/err"
ok $? "stderr a file: no carriage return or escape sequence"
grep -qE '^crash commands: [0-9]+ of [0-9]+' "$TMP/err"
ok $? "stderr a file: crash's command count"
log=$ROOT/cases/00200702/1/hotkdump.log
grep -qE ' download: [0-9]+% .* left$' "$log" && grep -qE ' crash commands: [0-9]+ of [0-9]+' "$log"
ok $? "hotkdump.log: the same lines"
grep -qE ' unpack: 100% ' "$log"
ok $? "hotkdump.log: the unpack's"

# --- the daemon's live figure --------------------------------------------------------------------
start_daemon "$TMP/droot" "${QUICK_SETS[@]}"
"$HOTKDUMP" symbols --root "$TMP/droot" --debug-file "$TMP/vmlinux" "$SYNTH/kdump" >/dev/null 2>&1
id=$(api POST /analyze '{"case": "00200703", "url": "'"$URL"'"}' | jq -r .id)
live=
for _ in $(seq 200); do
	live=$(api GET "/jobs/$id" | jq -c '.progress.current // empty')
	jq -e '.what == "download" and .done > 0 and .total == '"$size"' and .seconds_left > 0 and .rate > 0' \
		<<<"${live:-null}" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "# live: $live"
jq -e '.what == "download" and .total == '"$size"' and .seconds_left > 0' <<<"${live:-null}" >/dev/null 2>&1
ok $? "GET /jobs/ID: the download's bytes, total, rate and time left while it runs"
for _ in $(seq 300); do
	live=$(api GET "/jobs/$id" | jq -c '.progress.current // empty')
	jq -e '.what == "crash commands" and .unit == "steps" and .total > 1' <<<"${live:-null}" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "# live: $live"
jq -e '.what == "crash commands" and .total > 1 and (.item | length) > 0' <<<"${live:-null}" >/dev/null 2>&1
ok $? "GET /jobs/ID: crash's command count and the command running"
is "$(wait_job "$id" 120)" done "the daemon's job finishes"
! grep -qE 'download: [0-9]+%' "$TMP/droot.log"
ok $? "the daemon's own log has no progress lines (they are the job's)"

done_testing
