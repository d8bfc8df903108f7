#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdump symbols against a real debuginfod server (elfutils) on loopback, indexing the fixture
# kernel's real -dbg package: a cold fetch by build-id, a warm hit that asks the server nothing,
# two fetches at once for one kernel with one download, and a miss that falls through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debuginfod-lib.sh"

load_fixtures
load_debug_package
deb=$DEB
build_id=$(jq -r .build_id "$MANIFEST")
dump=$(fixture_of sysrq kdump-compressed)
trap 'stop_debuginfod; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/debs"
ln "$deb" "$TMP/debs/" 2>/dev/null || cp "$deb" "$TMP/debs/"
start_debuginfod "$TMP/debs"
server=http://127.0.0.1:$DEBUGINFOD_PORT
args=(--set "symbols.sources=cache debuginfod" --set "symbols.debuginfod_urls=$server")

symbols() {
	timeout 600 "$HOTKDUMP" symbols --root "$ROOT" "$@" >"$TMP/out" 2>"$TMP/err"
}

before=$(debuginfod_requests)
symbols "${args[@]}" "$dump"
is "$?" 0 "debuginfod: cold fetch"
sed 's/^/# /' "$TMP/err"
grep -q "^source:  debuginfod" "$TMP/out"
ok $? "debuginfod: the source is debuginfod"
is "$(readelf -n "$(sed -n 's/^vmlinux: //p' "$TMP/out")" | sed -n 's/.*Build ID: //p')" "$build_id" "debuginfod: the vmlinux has the dump's build-id"
is "$(($(debuginfod_requests) - before))" 1 "debuginfod: one request"
grep -qE "^debuginfod: 100% [0-9.]+ of [0-9.]+ MiB, [0-9.]+ MiB/s in " "$TMP/err"
ok $? "debuginfod: its progress is shown"
[ -z "$(find "$ROOT/symbols/.debuginfod-client" -type f -size +1M 2>/dev/null)" ]
ok $? "debuginfod: no second copy left in the client's own cache"

before=$(debuginfod_requests)
symbols "${args[@]}" "$dump"
is "$?" 0 "debuginfod: warm hit"
grep -q "^source:  cache" "$TMP/out"
ok $? "debuginfod: the warm hit comes from the cache"
is "$(($(debuginfod_requests) - before))" 0 "debuginfod: the warm hit asks the server nothing"

rm -rf "$ROOT/symbols"
before=$(debuginfod_requests)
pids=()
for i in 1 2; do
	timeout 600 "$HOTKDUMP" symbols --root "$ROOT" "${args[@]}" "$dump" >"$TMP/out$i" 2>"$TMP/err$i" &
	pids+=($!)
done
wait "${pids[0]}"
r1=$?
wait "${pids[1]}"
r2=$?
is "$r1:$r2" "0:0" "debuginfod, two at once: both succeed"
is "$(($(debuginfod_requests) - before))" 1 "debuginfod, two at once: one download"

# a kernel the server does not know: said plainly, and the next source is tried
symbols --set "symbols.sources=debuginfod debian" --set "symbols.debuginfod_urls=$server" \
	--set "symbols.debian_mirrors=http://127.0.0.1:1/nothing" --set fetch.retries=0 \
	--release 6.1.0-0-none --uts-version "#1 SMP Debian 6.1.0-0 (2026-01-01)" --build-id 0123456789abcdef0123456789abcdef01234567
is "$?" 5 "debuginfod miss: not found"
grep -q "debuginfod $server: No such file or directory" "$TMP/err" && grep -q "trying debian http://127.0.0.1:1/nothing" "$TMP/err"
ok $? "debuginfod miss: reported, then the next source tried"

done_testing
