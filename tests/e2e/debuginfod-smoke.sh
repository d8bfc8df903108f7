#!/bin/bash
# The debuginfod helpers against a real debuginfod on loopback holding the fixture kernel's real
# -dbg package: the scan ends, the vmlinux comes back by build-id and carries that build-id, an
# unknown build-id is a 404, and debuginfod_requests counts each answer but not a client's
# cache hit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debuginfod-lib.sh"

load_fixtures
deb=$("$TOP_SRCDIR/tests/fixtures/debug-package" 2>"$TMP/debug-package.log") ||
	{ sed 's/^/# /' "$TMP/debug-package.log"; bail "no debug package"; }
build_id=$(jq -r .build_id "$MANIFEST")
[ -n "$build_id" ] || bail "no build_id in '$MANIFEST'"
trap 'stop_debuginfod; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/debs"
ln "$deb" "$TMP/debs/" 2>/dev/null || cp "$deb" "$TMP/debs/"
start_debuginfod "$TMP/debs"
url=http://127.0.0.1:$DEBUGINFOD_PORT
is "$(debuginfod_requests)" 0 "started: no request answered yet"

# buildid_of FILE: the GNU build-id in FILE's notes
buildid_of() {
	readelf -n "$1" 2>/dev/null | awk '/Build ID:/ { print $3; exit }'
}

code=$(curl -s -o "$TMP/vmlinux" -w '%{http_code}' "$url/buildid/$build_id/debuginfo")
is "$code" 200 "debuginfo by build-id: status"
is "$(buildid_of "$TMP/vmlinux")" "$build_id" "debuginfo by build-id: the file has that build-id"
rm -f "$TMP/vmlinux"
is "$(debuginfod_requests)" 1 "debuginfo by build-id: one request counted"

code=$(curl -s -o /dev/null -w '%{http_code}' "$url/buildid/$(printf '%040d' 0)/debuginfo")
is "$code" 404 "unknown build-id: 404"
is "$(debuginfod_requests)" 2 "unknown build-id: counted too"

# libdebuginfod with its own cache: the first lookup asks the server, the second is a cache hit.
find_debuginfo() {
	DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$TMP/client-cache \
		debuginfod-find debuginfo "$build_id" 2>"$TMP/find.err"
}
path=$(find_debuginfo)
ok $? "debuginfod-find: exit status"
is "$(buildid_of "$path")" "$build_id" "debuginfod-find: the cached file has that build-id"
is "$(debuginfod_requests)" 3 "debuginfod-find: one request counted"
path=$(find_debuginfo)
ok $? "debuginfod-find again: exit status"
is "$(debuginfod_requests)" 3 "debuginfod-find again: a cache hit, no request"

stop_debuginfod
[ -z "$(ls -A "$TMP/debuginfod/tmp")" ]
ok $? "stopped: the server removed its unpacked files"
done_testing
