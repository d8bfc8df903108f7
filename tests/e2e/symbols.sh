#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdump symbols against real archives on loopback: nginx laid out as the Debian pool and as
# the Ubuntu ddebs archive (with its Packages index) and Launchpad, holding the fixture kernel's
# real debug package at the names the rules produce. Cold fetch, cache hit, two fetches at once,
# wrong symbols, broken servers, a cut transfer; and the naming rule on real Ubuntu kernels.
. "$(dirname "$0")/lib.sh"

load_fixtures
load_debug_package
deb=$DEB
release=$(jq -r .kernel_release "$MANIFEST")
build_id=$(jq -r .build_id "$MANIFEST")
dump=$(fixture_of sysrq kdump-compressed)
trap 'stop_nginx; rm -rf "$TMP"' EXIT

# --- the naming rule, on real Ubuntu kernels ------------------------------------------------
rows=0
while IFS=$'\t' read -r rel uts arch _ ddeb src; do
	case $rel in "#"* | release) continue ;; esac
	rows=$((rows + 1))
	"$HOTKDUMP" symbols --explain --release "$rel" --uts-version "$uts" --arch "$arch" >"$TMP/explain" 2>&1
	first=$(grep -m1 -oE 'linux-image-[^ ]*\.ddeb' "$TMP/explain")
	is "$first" "$ddeb" "explain: $rel $uts: first candidate"
	[ -n "$src" ] || ok 1 "explain: $rel has a source"
done <"$TOP_SRCDIR/tests/e2e/ubuntu-kernels.tsv"
[ "$rows" -ge 25 ]
ok $? "explain: $rows real Ubuntu kernels checked"
"$HOTKDUMP" symbols --explain --release 5.15.0-91-generic --uts-version "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023" >"$TMP/explain"
grep -q "ddebs.ubuntu.com/dists/jammy-updates/main/binary-amd64/Packages.xz" "$TMP/explain" &&
	grep -q "launchpad.net/ubuntu/+archive/primary/+files/linux-image-unsigned-5.15.0-91-generic-dbgsym_5.15.0-91.101_amd64.ddeb" "$TMP/explain"
ok $? "explain: the pool folder comes from the jammy index, then Launchpad by name"
# --arch takes the kernel's name and Debian's; anything else is a usage error naming it
"$HOTKDUMP" symbols --explain --release 6.1.0-1-amd64 --uts-version "#1 SMP Debian 6.1.1-1 (2026-01-01)" --arch amd64 >"$TMP/amd64"
a=$?
"$HOTKDUMP" symbols --explain --release 6.1.0-1-amd64 --uts-version "#1 SMP Debian 6.1.1-1 (2026-01-01)" --arch x86_64 >"$TMP/x86_64"
is "$a:$?" "0:0" "--arch amd64 and --arch x86_64 are accepted"
grep -q "linux-image-6.1.0-1-amd64-dbg_6.1.1-1_amd64.deb" "$TMP/amd64" && cmp -s "$TMP/amd64" "$TMP/x86_64"
ok $? "--arch amd64 and --arch x86_64 give the same candidates"
"$HOTKDUMP" symbols --explain --release 6.1.0-1-amd64 --uts-version "#1 SMP Debian 6.1.1-1 (2026-01-01)" --arch bogus >"$TMP/bogus" 2>&1
is "$?" 2 "--arch bogus is a usage error"
grep -q "'bogus' is not an architecture" "$TMP/bogus"
ok $? "--arch bogus: the error names the value"
"$HOTKDUMP" symbols --explain "$dump" >"$TMP/explain"
grep -q "deb.debian.org/debian-security/pool/updates/main/l/linux/linux-image-$release-dbg_$(jq -r .package_version "$MANIFEST")_amd64.deb" "$TMP/explain"
ok $? "explain: a Debian dump gives the Debian package name and pool path"

# --- archives on loopback -------------------------------------------------------------------
www=$TMP/www
debname=$(basename "$deb")
mkdir -p "$www/debian/pool/main/l/linux" "$www/garbage/pool/main/l/linux"
ln "$deb" "$www/debian/pool/main/l/linux/$debname" 2>/dev/null || cp "$deb" "$www/debian/pool/main/l/linux/$debname"
printf '<html><body>Service temporarily unavailable</body></html>\n%.0s' $(seq 2000) >"$www/garbage/pool/main/l/linux/$debname"
# Ubuntu: the same real package at the name an HWE kernel "#1~22.04.1-Ubuntu" would have, in a
# pool folder only the index names; and one more only at Launchpad.
uver=${release%%-[a-z]*}.1~22.04.1
uddeb=linux-image-unsigned-$release-dbgsym_${uver}_amd64.ddeb
mkdir -p "$www/ubuntu/pool/main/l/linux-hwe-test" "$www/ubuntu/dists/jammy-updates/main/binary-amd64" "$www/launchpad/+files"
ln "$deb" "$www/ubuntu/pool/main/l/linux-hwe-test/$uddeb" 2>/dev/null || cp "$deb" "$www/ubuntu/pool/main/l/linux-hwe-test/$uddeb"
printf 'Package: linux-image-unsigned-%s-dbgsym\nVersion: %s\nArchitecture: amd64\nFilename: pool/main/l/linux-hwe-test/%s\n\nPackage: other\nVersion: 1\nFilename: pool/x/other.ddeb\n\n' \
	"$release" "$uver" "$uddeb" | xz >"$www/ubuntu/dists/jammy-updates/main/binary-amd64/Packages.xz"
lpver=${release%%-[a-z]*}.2~22.04.1
ln "$deb" "$www/launchpad/+files/linux-image-unsigned-$release-dbgsym_${lpver}_amd64.ddeb" 2>/dev/null ||
	cp "$deb" "$www/launchpad/+files/linux-image-unsigned-$release-dbgsym_${lpver}_amd64.ddeb"
start_nginx "$www"
url=http://127.0.0.1:$HTTP_PORT

# symbols ARGS…: run with the test's root; output in $TMP/out, $TMP/err
symbols() {
	timeout 600 "$HOTKDUMP" symbols --root "$ROOT" "$@" >"$TMP/out" 2>"$TMP/err"
}
deb_gets() {
	grep -c "GET /debian/pool/main/l/linux/$debname" "$TMP/nginx/access.log" || true
}
vmlinux_of() {
	sed -n 's/^vmlinux: //p' "$TMP/out"
}

symbols --set "symbols.sources=cache debian" --set "symbols.debian_mirrors=$url/debian" "$dump"
is "$?" 0 "debian: cold fetch"
sed 's/^/# /' "$TMP/err"
is "$(readelf -n "$(vmlinux_of)" | sed -n 's/.*Build ID: //p')" "$build_id" "debian: the vmlinux has the dump's build-id"
grep -q "^source:  debian $url/debian/pool/main/l/linux/$debname" "$TMP/out"
ok $? "debian: says where it came from"
grep -q "stopped early" "$TMP/err"
ok $? "debian: stopped reading once the vmlinux was out"
is "$(deb_gets)" 1 "debian: one download"

symbols --set "symbols.sources=cache debian" --set "symbols.debian_mirrors=$url/debian" "$dump"
is "$?" 0 "cache: warm hit"
grep -q "^source:  cache" "$TMP/out"
ok $? "cache: the source is the cache"
is "$(deb_gets)" 1 "cache: no network request"

# a case folder made by analyze names its dump's kernel in summary.json
timeout 300 "$HOTKDUMP" analyze --root "$ROOT" --stop-after first-look --case 00345677 "$dump" >/dev/null 2>&1
symbols --set "symbols.sources=cache" "$ROOT/cases/00345677/1"
is "$?" 0 "case folder: its kernel's symbols found"
grep -q "^vmlinux: $ROOT/symbols/$build_id/vmlinux" "$TMP/out"
ok $? "case folder: the cached vmlinux of its build-id"

rm -rf "$ROOT/symbols"
pids=()
for i in 1 2; do
	timeout 600 "$HOTKDUMP" symbols --root "$ROOT" --set "symbols.sources=cache debian" \
		--set "symbols.debian_mirrors=$url/debian" "$dump" >"$TMP/out$i" 2>"$TMP/err$i" &
	pids+=($!)
done
wait "${pids[0]}"
r1=$?
wait "${pids[1]}"
r2=$?
is "$r1:$r2" "0:0" "two at once: both succeed"
is "$(deb_gets)" 2 "two at once: one more download, not two"
[ "$(cat "$TMP/out1" "$TMP/out2" | grep -c '^source:  cache')" -eq 1 ]
ok $? "two at once: the second found the first's download in the cache"

# Ubuntu: the pool folder from the index; then Launchpad for a package the index lacks
ubuntu_args=(--set "symbols.sources=ubuntu" --set "symbols.ubuntu_mirror=$url/ubuntu"
	--set "symbols.launchpad_url=$url/launchpad/+files" --set "symbols.ubuntu_suites=updates"
	--release "$release" --build-id "$build_id" --arch x86_64)
symbols "${ubuntu_args[@]}" --uts-version "#1~22.04.1-Ubuntu SMP Mon Nov 16 10:17:00 UTC 2026"
is "$?" 0 "ubuntu: fetched through the index"
grep -q "^source:  ubuntu $url/ubuntu/pool/main/l/linux-hwe-test/$uddeb" "$TMP/out"
ok $? "ubuntu: from the pool folder the index names"
rm -rf "$ROOT/symbols"
symbols "${ubuntu_args[@]}" --uts-version "#2~22.04.1-Ubuntu SMP Mon Nov 16 10:17:00 UTC 2026"
is "$?" 0 "launchpad: fetched by name"
grep -q "index .* does not list linux-image-unsigned-$release-dbgsym $lpver" "$TMP/err"
ok $? "launchpad: after the index did not list it"
grep -q "^source:  launchpad $url/launchpad/+files/" "$TMP/out"
ok $? "launchpad: from the Launchpad URL"

# Wrong symbols: the same vmlinux with one byte of its build-id changed, as another build of
# the same version would be.
rm -rf "$ROOT/symbols"
vmlinux=$(jq -r .vmlinux "$MANIFEST")
cp --sparse=always "$vmlinux" "$TMP/other-vmlinux"
python3 - "$TMP/other-vmlinux" "$build_id" <<'PY'
import sys
path, bid = sys.argv[1], bytes.fromhex(sys.argv[2])
with open(path, "r+b") as f:
    data = f.read(64 << 20)
    at = data.find(bid)
    assert at > 0, "build-id not found"
    f.seek(at)
    f.write(bytes([bid[0] ^ 0xff]))
PY
symbols --debug-file "$TMP/other-vmlinux" "$dump"
is "$?" 4 "wrong symbols: refused"
grep -q "symbols of another build" "$TMP/err"
ok $? "wrong symbols: says they are of another build"
[ ! -e "$ROOT/symbols/$build_id" ]
ok $? "wrong symbols: nothing cached"
symbols --debug-file "$vmlinux" "$dump" && symbols --debug-file "$TMP/other-vmlinux" "$dump"
is "$?" 4 "wrong symbols over a good entry: refused"
is "$(readelf -n "$ROOT/symbols/$build_id/vmlinux" | sed -n 's/.*Build ID: //p')" "$build_id" "wrong symbols over a good entry: the good entry stays"
rm -rf "${ROOT:?}/symbols/$build_id"
symbols --debug-file "$vmlinux" "$dump"
is "$?" 0 "--debug-file: the right vmlinux is taken"
symbols --debug-file "$deb" --modules virtio_blk "$dump"
is "$?" 0 "--debug-file: a .deb is taken"
[ -n "$(find "$ROOT/symbols/$build_id/modules" -name 'virtio_blk.ko')" ]
ok $? "--debug-file: the module asked for was extracted"

# Debian's 7.x packages keep the vmlinux under lib/modules/ and make boot/vmlinux-R a link to
# it, which comes first in the package: the same real files, laid out that way.
lay=$TMP/layout7
moddir=${vmlinux%/boot/*}/lib/modules/$release
mkdir -p "$lay/DEBIAN" "$lay/usr/lib/debug/boot" "$lay/usr/lib/debug/lib/modules/$release/kernel/drivers/block" \
	"$www/debian7/pool/main/l/linux"
ln "$vmlinux" "$lay/usr/lib/debug/lib/modules/$release/vmlinux" 2>/dev/null ||
	cp --sparse=always "$vmlinux" "$lay/usr/lib/debug/lib/modules/$release/vmlinux"
ln -s "../lib/modules/$release/vmlinux" "$lay/usr/lib/debug/boot/vmlinux-$release"
cp "$(find "$moddir" -name virtio_blk.ko | head -n 1)" "$lay/usr/lib/debug/lib/modules/$release/kernel/drivers/block/"
printf 'Package: linux-image-%s-dbg\nVersion: %s\nArchitecture: amd64\nMaintainer: hotkdump tests <root@localhost>\nDescription: the 7.x layout\n' \
	"$release" "$(jq -r .package_version "$MANIFEST")" >"$lay/DEBIAN/control"
# the folders, then the link, the module and the vmlinux, in that order (dpkg-deb takes the
# folder's order, which is the file system's)
(cd "$lay" && { find . -type d ! -path ./DEBIAN\* | sort; echo "./usr/lib/debug/boot/vmlinux-$release"
	find ./usr/lib/debug/lib -name '*.ko'; echo "./usr/lib/debug/lib/modules/$release/vmlinux"; } |
	tar --owner=0 --group=0 --no-recursion -cf "$TMP/data.tar" -T - &&
	echo 2.0 >"$TMP/debian-binary" && tar --owner=0 --group=0 -cJf "$TMP/control.tar.xz" -C DEBIAN ./control)
(cd "$TMP" && ar rcD "$www/debian7/pool/main/l/linux/$debname" debian-binary control.tar.xz data.tar)
order=$(tar -tf "$TMP/data.tar" | grep vmlinux | tr '\n' ' ')
is "$order" "./usr/lib/debug/boot/vmlinux-$release ./usr/lib/debug/lib/modules/$release/vmlinux " \
	"7.x layout: the package holds the link before the vmlinux"
rm -f "$TMP/data.tar"
rm -rf "$ROOT/symbols" "$lay"
symbols --set "symbols.sources=debian" --set "symbols.debian_mirrors=$url/debian7" --modules virtio_blk "$dump"
is "$?" 0 "7.x layout: found through the link"
sed 's/^/# /' "$TMP/err"
is "$(readelf -n "$(vmlinux_of)" | sed -n 's/.*Build ID: //p')" "$build_id" "7.x layout: the vmlinux has the dump's build-id"
[ -n "$(find "$ROOT/symbols/$build_id/modules" -name 'virtio_blk.ko')" ]
ok $? "7.x layout: the module asked for was extracted in the same read"
grep -q "stopped early" "$TMP/err"
ok $? "7.x layout: one read, stopped once both were out"
rm -f "$www/debian7/pool/main/l/linux/$debname"

# Broken servers: garbage, 404 and a stall, each followed by the next source.
start_stalling_server
rm -rf "$ROOT/symbols"
symbols --set "symbols.sources=debian" --set fetch.stall_timeout=2 --set fetch.retries=0 \
	--set "symbols.debian_mirrors=$url/garbage $url/missing http://127.0.0.1:$STALL_PORT/x $url/debian" "$dump"
is "$?" 0 "broken servers: the good one is reached in the end"
kill $STALL_PID
grep -q "garbage/.*: not a Debian package" "$TMP/err"
ok $? "broken servers: garbage is refused"
grep -q "missing/[^;]*: not in the archive (HTTP 404)" "$TMP/err"
ok $? "broken servers: a 404 is reported as not in the archive"
grep -q "127.0.0.1:$STALL_PORT.*no data for 2 s" "$TMP/err"
ok $? "broken servers: a stall is reported"
[ -z "$(find "$ROOT/symbols" -maxdepth 1 -name '.tmp-*')" ]
ok $? "broken servers: no partial entry left"

rm -rf "$ROOT/symbols"
symbols --set "symbols.sources=debian" --set "symbols.debian_mirrors=$url/garbage $url/missing" "$dump"
is "$?" 5 "no good source: not found"
grep -q "no debug symbols for $release build-id $build_id: " "$TMP/err"
ok $? "no good source: one line with what each source said"
[ -z "$(find "$ROOT/symbols" -mindepth 1 -maxdepth 1 ! -name .locks)" ]
ok $? "no good source: nothing under a final name, no partial entry"
stop_nginx

# A cut transfer resumes: the server stops mid-package; after the stall timeout the stream
# asks for the rest with a Range request and the extraction goes on.
start_nginx "$www" 16m
url=http://127.0.0.1:$HTTP_PORT
rm -rf "$ROOT/symbols"
symbols --set "symbols.sources=debian" --set fetch.stall_timeout=2 --set fetch.backoff=1 \
	--set "symbols.debian_mirrors=$url/debian" "$dump" &
spid=$!
sleep 2
kill -STOP "$NGINX_PID"
# well past the stall timeout, even when a busy machine is still unpacking what had arrived
sleep 8
kill -CONT "$NGINX_PID"
wait $spid
is "$?" 0 "cut transfer: finished"
grep -qE "resuming '.*' at byte [1-9][0-9]*" "$TMP/err"
ok $? "cut transfer: resumed from where it was cut"
is "$(readelf -n "$(vmlinux_of)" | sed -n 's/.*Build ID: //p')" "$build_id" "cut transfer: the vmlinux is whole and right"

# The cache keeps to its size and age limits, least recently used first, and never removes an
# entry in use (its lock held, as a running job holds it).
real=$(du -sB1 "$ROOT/symbols/$build_id" | cut -f1)
for e in aged older inuse; do
	mkdir -p "$ROOT/symbols/$e"
	fallocate -l 50M "$ROOT/symbols/$e/vmlinux"
	echo '{}' >"$ROOT/symbols/$e/info.json"
done
touch -d '200 days ago' "$ROOT/symbols/aged/info.json"
touch -d '2 days ago' "$ROOT/symbols/older/info.json"
touch -d '3 days ago' "$ROOT/symbols/inuse/info.json"
mkdir -p "$ROOT/symbols/.locks"
flock -s "$ROOT/symbols/.locks/inuse.lock" sleep 120 &
lpid=$!
sleep 0.5
rm -rf "${ROOT:?}/symbols/$build_id"
symbols --set "symbols.sources=cache debian" --set "symbols.debian_mirrors=$url/debian" \
	--set symbols.cache_max_age=90d --set "symbols.cache_max_bytes=$((real + 80 * 1048576))" "$dump"
is "$?" 0 "cache limits: a fetch that triggers trimming"
kill $lpid
[ ! -e "$ROOT/symbols/aged" ]
ok $? "cache limits: the entry unused past the age limit is gone"
[ ! -e "$ROOT/symbols/older" ]
ok $? "cache limits: the least recently used entry made room"
[ -e "$ROOT/symbols/inuse" ]
ok $? "cache limits: the entry in use is kept, though older"
[ -f "$ROOT/symbols/$build_id/vmlinux" ]
ok $? "cache limits: the new entry stays"
grep -q "cache: inuse is in use, kept" "$TMP/err" && grep -q "cache: removed aged .*symbols.cache_max_age" "$TMP/err"
ok $? "cache limits: each removal and each kept entry is said"

done_testing
