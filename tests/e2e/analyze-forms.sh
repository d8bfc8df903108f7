#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `hotkdump analyze --stop-after first-look` on every form a customer uploads: the bare dump,
# a tarball of /var/crash/<stamp>/ in several compressions, a zip, a gzip'd dump, a flattened
# dump, and an upload with two dumps. Each must end with the case folder laid out, job.json
# telling every stage, the identity of the dump, and the panic line the crashed kernel printed.
. "$(dirname "$0")/lib.sh"

load_fixtures
release=$(jq -r .kernel_release "$MANIFEST")
build_id=$(jq -r .build_id "$MANIFEST")

# check_job DIR LABEL CAUSE: the folder of a finished job for a dump of CAUSE
check_job() {
	local d=$1 label=$2 cause=$3
	is "$(job_field "$d" .state)" done "$label: job done"
	for s in fetch unpack identify first-look; do
		is "$(job_field "$d" ".stages[\"$s\"].state")" done "$label: stage $s done"
	done
	[ -f "$d/job.json" ] && [ -f "$d/hotkdump.log" ] && [ -d "$d/dump" ] && [ -f "$d/first-look.txt" ] && [ -f "$d/summary.json" ]
	ok $? "$label: job.json, hotkdump.log, dump/, first-look.txt, summary.json"
	[ -e "$d/vmcore" ] && "$HOTKDUMP" info "$d/vmcore" >/dev/null 2>&1
	ok $? "$label: vmcore is the dump"
	[ ! -e "$d/input" ]
	ok $? "$label: input/ removed after a good unpack"
	is "$(jq -r .identity.release "$d/summary.json")" "$release" "$label: release"
	is "$(jq -r .identity.build_id "$d/summary.json")" "$build_id" "$label: build-id"
	is "$(jq -r .first_look.panic_line "$d/summary.json")" "$(panic_of "$cause")" "$label: panic line as the kernel printed it"
	grep -qF "panic:       $(panic_of "$cause")" "$d/first-look.txt"
	ok $? "$label: first-look.txt names the panic"
	grep -q "run: makedumpfile --dump-dmesg" "$d/hotkdump.log" && grep -q "^.* exit: 0" "$d/hotkdump.log"
	ok $? "$label: the makedumpfile command and its exit are in hotkdump.log"
}

# run_form LABEL CAUSE SOURCE [ARGS…]
n=0
run_form() {
	local label=$1 cause=$2 src=$3
	shift 3
	n=$((n + 1))
	analyze --case 00345677 --stop-after first-look "$@" "$src"
	is "$?" 0 "$label: exit status"
	sed 's/^/#   /' "$TMP/err"
	check_job "$ROOT/cases/00345677/$n" "$label" "$cause"
}

mkdir -p "$TMP/up" && cd "$TMP/up" || bail "no temp folder"
make_crash_dir "$TMP/up/crash" sysrq

run_form "bare dump" sysrq "$(fixture_of sysrq kdump-compressed)"
tar -C crash -czf crash.tar.gz var
run_form "tar.gz of /var/crash" sysrq "$TMP/up/crash.tar.gz"
grep -q "kernel log" "$ROOT/cases/00345677/$n/hotkdump.log"
ok $? "tar.gz of /var/crash: the dmesg file is noted"
(cd crash && zip -qr ../crash.zip var)
run_form "zip" sysrq "$TMP/up/crash.zip"
tar -C crash --zstd -cf crash.tar.zst var
run_form "tar.zst" sysrq "$TMP/up/crash.tar.zst"
tar -C crash -cJf crash.tar.xz var
run_form "tar.xz" sysrq "$TMP/up/crash.tar.xz"
tar -C crash -cjf crash.tar.bz2 var
run_form "tar.bz2" sysrq "$TMP/up/crash.tar.bz2"
bsdtar -C crash --lz4 -cf crash.tar.lz4 var
run_form "tar.lz4" sysrq "$TMP/up/crash.tar.lz4"
bsdtar -C crash --format 7zip -cf crash.7z var
run_form "7z" sysrq "$TMP/up/crash.7z"
bsdtar -C crash --format newc -cf crash.cpio var
run_form "cpio" sysrq "$TMP/up/crash.cpio"
gzip -c "$(fixture_of oom kdump-compressed)" >dump.gz
run_form "gzip'd dump" oom "$TMP/up/dump.gz"
for z in xz zstd bzip2; do
	$z -c "$(fixture_of oom kdump-compressed)" >"dump.$z"
	run_form "$z'd dump" oom "$TMP/up/dump.$z"
done

# found by content, not by name: a dump called notes.txt in a tarball of other things
mkdir -p named/logs
cp "$(fixture_of sysrq kdump-compressed)" named/logs/notes.txt
echo "uptime 3 days" >named/logs/uptime
tar -C named -czf named.tar.gz logs
run_form "dump named notes.txt" sysrq "$TMP/up/named.tar.gz"
is "$(jq -r .identity.file "$ROOT/cases/00345677/$n/summary.json")" "dump/named.tar.d/logs/notes.txt" "dump named notes.txt: picked by content"

# holes stay holes: a sparse dump in a sparse-aware tarball
cp "$(fixture_of sysrq kdump-compressed)" sparse.dump
truncate -s +512M sparse.dump
tar -S -czf sparse.tar.gz sparse.dump
run_form "sparse dump" sysrq "$TMP/up/sparse.tar.gz"
f=$ROOT/cases/00345677/$n/dump/sparse.tar.d/sparse.dump
is "$(stat -c %s "$f")" "$(stat -c %s sparse.dump)" "sparse dump: full apparent size"
[ "$(du -B1 "$f" | cut -f1)" -lt 100000000 ]
ok $? "sparse dump: the 512 MiB hole takes no disk ($(du -h "$f" | cut -f1) used)"
run_form "flattened dump" sysrq "$(fixture_of sysrq flattened)"
is "$(jq -r .identity.format "$ROOT/cases/00345677/$n/summary.json")" kdump-compressed "flattened dump: reassembled into kdump-compressed"
"$HOTKDUMP" info --json "$ROOT/cases/00345677/$n/vmcore" | jq -e '.[0].flattened == false and .[0].complete == "yes"' >/dev/null
ok $? "flattened dump: the reassembled file is a complete plain kdump file"
run_form "ELF dump" oom "$(fixture_of oom elf)"
# a tarball inside a tarball, as when a whole /var/crash was tarred and tarred again
tar -C "$TMP/up" -cf outer.tar crash.tar.gz
run_form "tar inside tar" sysrq "$TMP/up/outer.tar"

# a symbolic link as the source: the file it points to is fetched, never a link
ln -s "$(fixture_of sysrq kdump-compressed)" linked.dump
run_form "symlink as source" sysrq "$TMP/up/linked.dump"
[ -z "$(find "$ROOT/cases/00345677/$n/dump" -type l)" ] && [ -f "$ROOT/cases/00345677/$n/dump/linked.dump" ]
ok $? "symlink as source: dump/ holds the file, not a link"

# odd names: a compressed file called ..gz
mkdir -p odd && gzip -c "$(fixture_of sysrq kdump-compressed)" >odd/..gz
tar -C odd -cf odd.tar ..gz
run_form "a file called ..gz" sysrq "$TMP/up/odd.tar"

# the same upload with its size and sha256, as the upload system's webhook gives them
sha=$(sha256sum crash.tar.gz | cut -d' ' -f1)
run_form "with size and sha256" sysrq "$TMP/up/crash.tar.gz" --size "$(stat -c %s crash.tar.gz)" --sha256 "$sha"
n=$((n + 1))
analyze --case 00345677 --sha256 "$(echo "$sha" | tr 0-9a-f 1-9a-f0)" "$TMP/up/crash.tar.gz"
is "$?" 4 "wrong sha256: refused as damaged in transit"
grep -q "has sha256 $sha, expected" "$TMP/err"
ok $? "wrong sha256: the message gives both sums"
is "$(job_field "$ROOT/cases/00345677/$n" .state)" failed "wrong sha256: job failed"

# two dumps in one upload: one job each
mkdir -p two/a two/b
cp "$(fixture_of sysrq kdump-compressed)" two/a/dump.1
cp "$(fixture_of oom kdump-compressed)" two/b/dump.2
tar -C two -czf two.tar.gz a b
n=$((n + 1))
analyze --case 00345677 "$TMP/up/two.tar.gz"
is "$?" 0 "two dumps: exit status"
is "$(grep -c "^$ROOT/cases/00345677/" "$TMP/out")" 2 "two dumps: two job folders reported"
check_job "$ROOT/cases/00345677/$n" "two dumps, first" sysrq
check_job_sibling() {
	local d=$ROOT/cases/00345677/$((n + 1))
	is "$(jq -r .first_look.panic_line "$d/summary.json")" "$(panic_of oom)" "two dumps, second: its own panic line"
	is "$(job_field "$d" .state)" done "two dumps, second: job done"
	is "$(job_field "$d" .source)" "00345677/$n:dump/two.tar.d/b/dump.2" "two dumps, second: source names the upload"
}
check_job_sibling

# the first look is quick: it needs no symbols
t0=$(date +%s%N)
analyze --case 00345677 --stop-after first-look "$(fixture_of sysrq kdump-compressed)"
t1=$(date +%s%N)
echo "# first look of a bare dump: $(((t1 - t0) / 1000000)) ms"

done_testing
