#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Prepared symbols and one read of the debug package, on a real dump with the real crash: a cold
# job takes the vmlinux and the debug files of the modules the dump has loaded out of one request
# to a loopback Debian pool (nginx, its access log counts requests and bytes); the cache entry it
# makes is prepared (.gdb_index added, .rela* gone, the same build-id); crash gives the same
# answer to every command of the command set on the prepared file as on the package's own; a
# prepared entry whose build-id no longer matches is refused and fetched again; a preparation
# that changes the build-id is refused and the plain file kept; an entry made without
# preparation is prepared at its first use.
. "$(dirname "$0")/lib.sh"

load_fixtures
load_debug_package
deb=$DEB
load_crash
build_id=$(jq -r .build_id "$MANIFEST")
dump=$(fixture_of sysrq kdump-compressed)
trap 'stop_nginx; rm -rf "$TMP"' EXIT

debname=$(basename "$deb")
mkdir -p "$TMP/www/debian/pool/main/l/linux"
ln "$deb" "$TMP/www/debian/pool/main/l/linux/" 2>/dev/null || cp "$deb" "$TMP/www/debian/pool/main/l/linux/"
start_nginx "$TMP/www"
url=http://127.0.0.1:$HTTP_PORT
args=(--set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands"
	--set "symbols.sources=cache debian" --set "symbols.debian_mirrors=$url/debian")

deb_gets() { # the requests for the package so far
	grep -c "GET /debian/pool/main/l/linux/$debname" "$TMP/nginx/access.log" || true
}
deb_bytes() { # the body bytes nginx sent for them (the combined log's 10th field)
	awk -v p="/debian/pool/main/l/linux/$debname" '$7 == p { n += $10 } END { print n + 0 }' "$TMP/nginx/access.log"
}
sections() { # the section names of an ELF file
	readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'
}
bid_of() {
	readelf -n "$1" | sed -n 's/.*Build ID: //p'
}
# flip_bid FILE: one byte of its build-id note changed, as another build of the same version
flip_bid() {
	python3 - "$1" "$build_id" <<'PY'
import sys
path, bid = sys.argv[1], bytes.fromhex(sys.argv[2])
with open(path, 'r+b') as f:
    data = f.read()
    at = data.find(b'GNU\0' + bid)
    assert at > 0, 'no build-id note'
    f.seek(at + 4)
    f.write(bytes([bid[0] ^ 0xff]))
PY
}
# answers DIR: every crash output of the job, with what names the file or the root taken out
answers() {
	local f
	for f in "$1"/crash/[0-9][0-9]-*.txt; do
		echo "==== $(basename "$f")"
		sed -e "s|$2|ROOT|g" -e '/^ *KERNEL: /d' "$f"
	done
}

# --- a cold job: one request, the modules loaded, the entry prepared ----------------------------
timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" --case 00424201 "$dump" >"$TMP/out" 2>"$TMP/err"
rc=$?
is "$rc" 0 "cold: analyze finishes"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/err" | tail -n 20
d=$ROOT/cases/00424201/1
is "$(job_field "$d" .state)" done "cold: the job is done"
is "$(job_field "$d" .symbols.source | cut -d" " -f1)" debian "cold: the symbols came from the pool"
is "$(deb_gets)" 1 "cold: the package was requested once"
bytes=$(deb_bytes)
size=$(stat -c %s "$deb")
[ "$bytes" -gt 0 ] && [ "$bytes" -le "$size" ]
ok $? "cold: $bytes bytes served, at most the package's $size"
mods=$d/crash/$(jq -r '.crash.commands[] | select(.name == "mod") | .file' "$d/job.json")
n_mod=$(grep -cE '^ *[0-9a-f]{16} ' "$mods")
n_loaded=$(grep -cE "^ *[0-9a-f]{16} .* $ROOT/symbols/[^ ]*/modules/[^ ]*\.ko" "$mods")
# lkdtm is built out of tree by the fixtures, so the package cannot hold it
n_tree=$(grep -E '^ *[0-9a-f]{16} ' "$mods" | grep -vc ' lkdtm ' || true)
[ "$n_tree" -gt 0 ] && is "$n_loaded" "$n_tree" "cold: the $n_tree in-tree modules of $n_mod loaded have their debug files loaded by crash"
grep -q "module(s) loaded (its module list, read with the" "$d/hotkdump.log"
ok $? "cold: the module list was read from the dump while the package streamed"
entry=$ROOT/symbols/$build_id
sections "$entry/vmlinux" >"$TMP/sections"
grep -qx .gdb_index "$TMP/sections" && ! grep -q '^\.rela' "$TMP/sections"
ok $? "cold: the cached vmlinux has a .gdb_index and no .rela* sections"
is "$(bid_of "$entry/vmlinux")" "$build_id" "cold: the prepared vmlinux has the dump's build-id"
grep -q "prepared: " "$d/hotkdump.log" && grep -q "save gdb-index" "$d/hotkdump.log"
ok $? "cold: the job's log has the preparation and the commands it ran"
[ "$(stat -c %s "$entry/vmlinux")" -lt "$(stat -c %s "$(jq -r .vmlinux "$MANIFEST")")" ]
ok $? "cold: the prepared vmlinux is smaller than the package's own ($(du -h "$entry/vmlinux" | cut -f1))"

# --- the same answers from the package's own file ------------------------------------------------
plain=$TMP/plain-root
timeout 1200 "$HOTKDUMP" analyze --root "$plain" "${args[@]}" --set symbols.prepare=no --case 00424201 "$dump" \
	>"$TMP/out" 2>"$TMP/err"
is "$?" 0 "plain: analyze without preparation finishes"
p=$plain/cases/00424201/1
! grep -qx .gdb_index <(sections "$plain/symbols/$build_id/vmlinux")
ok $? "plain: its vmlinux is the package's own (no .gdb_index)"
is "$(deb_gets)" 2 "plain: one more request"
n_cmds=$(ls "$d"/crash/[0-9][0-9]-*.txt | wc -l)
answers "$d" "$ROOT" >"$TMP/prepared.answers"
answers "$p" "$plain" >"$TMP/plain.answers"
[ "$n_cmds" -ge 15 ] && [ "$n_cmds" -eq "$(ls "$p"/crash/[0-9][0-9]-*.txt | wc -l)" ]
ok $? "same answers: both jobs ran $n_cmds crash commands"
diff -u "$TMP/plain.answers" "$TMP/prepared.answers" >"$TMP/answers.diff"
ok $? "same answers: every command's output is the same on the prepared and the plain vmlinux"
head -n 20 "$TMP/answers.diff" | sed 's/^/# /'
grep -q "^==== [0-9][0-9]-bt" "$TMP/plain.answers" && grep -q "sysrq_handle_crash" "$TMP/plain.answers"
ok $? "same answers: the compared outputs hold real answers (bt names sysrq_handle_crash)"

# --- an entry made without preparation is prepared at its first use -----------------------------
timeout 600 "$HOTKDUMP" symbols --root "$plain" --set symbols.sources=cache "$dump" >"$TMP/out" 2>"$TMP/err"
is "$?" 0 "upgrade: the plain entry is a cache hit"
grep -qx .gdb_index <(sections "$plain/symbols/$build_id/vmlinux")
ok $? "upgrade: and is prepared at that use"
is "$(bid_of "$plain/symbols/$build_id/vmlinux")" "$build_id" "upgrade: with the same build-id"
is "$(deb_gets)" 2 "upgrade: without a request"

# --- a prepared entry whose build-id changed is refused -----------------------------------------
flip_bid "$entry/vmlinux"
timeout 600 "$HOTKDUMP" symbols --root "$ROOT" --set symbols.sources=cache "$dump" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "build-id" "$TMP/err"
ok $? "swapped: a prepared entry with another build-id is refused (exit $rc)"
sed 's/^/# /' "$TMP/err" | tail -n 3
[ ! -e "$entry/vmlinux" ] || [ "$(bid_of "$entry/vmlinux")" = "$build_id" ]
ok $? "swapped: the wrong file is not left as the entry"
timeout 600 "$HOTKDUMP" symbols --root "$ROOT" "${args[@]}" "$dump" >"$TMP/out" 2>"$TMP/err"
is "$?" 0 "swapped: fetched again with the pool enabled"
is "$(bid_of "$entry/vmlinux")" "$build_id" "swapped: the new entry has the dump's build-id"
is "$(deb_gets)" 3 "swapped: one more request"

# --- a preparation that changes the build-id is refused, the plain file kept -------------------
cat >"$TMP/bad-objcopy" <<EOF
#!/bin/bash
objcopy "\$@" || exit
out=\${!#}
python3 - "\$out" <<'PY'
import sys
bid = bytes.fromhex('$build_id')
with open(sys.argv[1], 'r+b') as f:
    data = f.read()
    at = data.find(b'GNU\0' + bid)
    f.seek(at + 4)
    f.write(bytes([bid[0] ^ 0xff]))
PY
EOF
chmod +x "$TMP/bad-objcopy"
bad=$TMP/bad-root
timeout 600 "$HOTKDUMP" symbols --root "$bad" "${args[@]}" --set "symbols.objcopy=$TMP/bad-objcopy" "$dump" \
	>"$TMP/out" 2>"$TMP/err"
is "$?" 0 "bad preparation: the symbols are still found"
grep -q "not prepared, the plain file is used: .*build-id .* refused" "$TMP/err"
ok $? "bad preparation: refused, and says why"
grep -q "build-id" "$TMP/err" || sed 's/^/# /' "$TMP/err" | tail -n 5
is "$(bid_of "$bad/symbols/$build_id/vmlinux")" "$build_id" "bad preparation: the entry has the dump's build-id"
! grep -qx .gdb_index <(sections "$bad/symbols/$build_id/vmlinux")
ok $? "bad preparation: the entry is the plain file"
[ -z "$(find "$bad/symbols" -name '*.prepare-*')" ]
ok $? "bad preparation: nothing of it is left beside the entry"

done_testing
