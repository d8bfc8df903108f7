#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Hostile and broken uploads: each is refused with one clear line naming the upload and the
# reason, its job folder marked failed with that reason, and nothing written outside it.
. "$(dirname "$0")/lib.sh"

load_fixtures
mkdir -p "$TMP/up" "$TMP/outside" "$TMP/cwd"
cd "$TMP/cwd" || bail "no temp folder"
passwd_sum=$(sha256sum </etc/passwd)

# refused LABEL WANT-EXIT REGEX SOURCE [ARGS…]: the last job folder is failed with the reason
refused() {
	local label=$1 want=$2 regex=$3 src=$4 last
	shift 4
	analyze --case 00999999 "$@" "$src"
	is "$?" "$want" "$label: exit status $want"
	grep -qE -- "$regex" "$TMP/err" && grep -qF -- "$src" "$TMP/err"
	ok $? "$label: the message names the upload and says '$regex'"
	sed 's/^/#   /' "$TMP/err"
	last=$(ls -d "$ROOT"/cases/00999999/* 2>/dev/null | sort -t/ -k1 -V | tail -n 1)
	is "$(job_field "$last" .state)" failed "$label: job failed"
	job_field "$last" .error | grep -qE -- "$regex"
	ok $? "$label: job.json gives the reason"
	[ ! -e "$last/vmcore" ] && [ -z "$(find "$last" -name '*.part')" ]
	ok $? "$label: no vmcore and no partial file left behind"
	case $regex in
	"no kernel dump"*) ;; # the unpacked files stay for a person to look at
	*)
		[ ! -e "$last/dump" ]
		ok $? "$label: no half-unpacked dump/ left behind"
		;;
	esac
	[ -z "$(find "$TMP/outside" "$TMP/cwd" -mindepth 1)" ]
	ok $? "$label: nothing written outside the job folder"
}

# Hostile tarballs, made with Python's tarfile, which writes whatever names it is given.
python3 - "$TMP/up" "$TMP/outside" <<'PY'
import io, os, sys, tarfile
up, outside = sys.argv[1], sys.argv[2]
def tar(name, entries):
    with tarfile.open(os.path.join(up, name), "w:gz") as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            for k, v in e.items():
                if k not in ("name", "data"):
                    setattr(ti, k, v)
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if data else None)
tar("dotdot.tar.gz", [{"name": "ok.txt", "data": b"x"}, {"name": "../../../../" + outside.lstrip("/") + "/evil", "data": b"evil"}])
tar("absolute.tar.gz", [{"name": outside + "/evil", "data": b"evil"}])
tar("symlink-abs.tar.gz", [{"name": "link", "type": tarfile.SYMTYPE, "linkname": outside},
                           {"name": "link/evil", "data": b"evil"}])
tar("symlink-rel.tar.gz", [{"name": "a/link", "type": tarfile.SYMTYPE, "linkname": "../../../../../../" + outside.lstrip("/")},
                           {"name": "a/link/evil", "data": b"evil"}])
tar("hardlink-abs.tar.gz", [{"name": "passwd", "type": tarfile.LNKTYPE, "linkname": "/etc/passwd"}])
tar("hardlink-rel.tar.gz", [{"name": "passwd", "type": tarfile.LNKTYPE, "linkname": "etc/passwd"}])
tar("device.tar.gz", [{"name": "sda", "type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}])
tar("fifo.tar.gz", [{"name": "pipe", "type": tarfile.FIFOTYPE}])
tar("many.tar.gz", [{"name": "f%06d" % i} for i in range(100001)])
tar("deep.tar.gz", [{"name": "a/" * 700 + "f", "data": b"x"}])
tar("nodump.tar.gz", [{"name": "notes.txt", "data": b"the customer says it froze\n"},
                      {"name": "sosreport/uptime", "data": b" 10:00:00 up 3 days\n"}])
PY

refused "tar with ../" 3 "climbs out with '\.\.'" "$TMP/up/dotdot.tar.gz"
refused "tar with an absolute path" 3 "has an absolute path" "$TMP/up/absolute.tar.gz"
refused "symlink out (absolute)" 3 "symbolic link 'link' points outside the upload" "$TMP/up/symlink-abs.tar.gz"
refused "symlink out (relative)" 3 "symbolic link 'a/link' points outside the upload" "$TMP/up/symlink-rel.tar.gz"
refused "hard link to /etc/passwd" 3 "hard link 'passwd' points outside the upload" "$TMP/up/hardlink-abs.tar.gz"
refused "hard link to etc/passwd" 3 "hard link 'passwd' does not point to a file of this upload" "$TMP/up/hardlink-rel.tar.gz"
is "$(sha256sum </etc/passwd)" "$passwd_sum" "/etc/passwd untouched"
refused "block device" 3 "'sda' is a block device" "$TMP/up/device.tar.gz"
refused "named pipe" 3 "'pipe' is a named pipe" "$TMP/up/fifo.tar.gz"
refused "700 folders deep" 3 "is more than 64 folders deep" "$TMP/up/deep.tar.gz"
refused "100k entries" 3 "more than unpack.max_entries \(10000\) entries" "$TMP/up/many.tar.gz"
refused "archive without a dump" 3 "no kernel dump in the upload \(0 kernel log\(s\), 2 other file\(s\): " "$TMP/up/nodump.tar.gz"

# compression bombs: one past a configured ratio, one past the default
head -c 200M /dev/zero | gzip -1 >"$TMP/up/zeros.gz"
refused "zip bomb, unpack.max_ratio=50" 3 "expands more than unpack.max_ratio \(50\) times" "$TMP/up/zeros.gz" --set unpack.max_ratio=50
head -c 2G /dev/zero | zstd -q -1 >"$TMP/up/zeros.zst"
refused "zstd bomb, default ratio" 3 "expands more than unpack.max_ratio \(1000\) times" "$TMP/up/zeros.zst"
(cd "$TMP/up" && zip -q bomb.zip zeros.gz && zip -q nested.zip bomb.zip)
refused "nested zip bomb" 3 "unpack.max_ratio \(50\)" "$TMP/up/nested.zip" --set unpack.max_ratio=50

# other limits, set low
make_crash_dir "$TMP/up/crash" sysrq
tar -C "$TMP/up/crash" -czf "$TMP/up/crash.tar.gz" var
refused "unpack.max_bytes" 3 "unpacks to more than unpack.max_bytes \(1048576 bytes\)" "$TMP/up/crash.tar.gz" --set unpack.max_bytes=1M
refused "fetch.max_bytes" 3 "over fetch.max_bytes \(1048576\)" "$TMP/up/crash.tar.gz" --set fetch.max_bytes=1M
tar -C "$TMP/up" -cf "$TMP/up/in1.tar" crash.tar.gz
tar -C "$TMP/up" -cf "$TMP/up/in2.tar" in1.tar
refused "nested deeper than unpack.max_depth" 3 "nested more than unpack.max_depth \(2\)" "$TMP/up/in2.tar" --set unpack.max_depth=2

# damaged uploads
size=$(stat -c %s "$TMP/up/crash.tar.gz")
head -c $((size / 2)) "$TMP/up/crash.tar.gz" >"$TMP/up/cut.tar.gz"
refused "truncated archive" 4 "is damaged or truncated" "$TMP/up/cut.tar.gz"
refused "missing file" 5 "cannot read '$TMP/up/nothing-here'" "$TMP/up/nothing-here"

# bad case numbers are refused before any folder is made
for c in ../../x . abc 1234 12345678901 "00345677/../1"; do
	timeout 30 "$HOTKDUMP" analyze --root "$ROOT" --stop-after first-look --case "$c" "$TMP/up/crash.tar.gz" >"$TMP/out" 2>"$TMP/err"
	is "$?" 3 "case '$c': refused"
	grep -qF "case number '$c'" "$TMP/err"
	ok $? "case '$c': the message names it"
done
[ -z "$(find "$ROOT/cases" -mindepth 1 -maxdepth 1 ! -name 00999999)" ] && [ ! -e "$TMP/x" ]
ok $? "bad case numbers: no folder made anywhere"

# two analyses at once for the same case: folders 1 and 2, never shared
timeout 300 "$HOTKDUMP" analyze --root "$ROOT" --stop-after first-look --case 00777777 "$TMP/up/crash.tar.gz" >"$TMP/out1" 2>&1 &
p1=$!
timeout 300 "$HOTKDUMP" analyze --root "$ROOT" --stop-after first-look --case 00777777 "$TMP/up/crash.tar.gz" >"$TMP/out2" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
is "$r1:$r2" "0:0" "concurrent analyses: both succeed"
is "$(cat "$TMP/out1" "$TMP/out2" | grep -o "cases/00777777/[0-9]*$" | sort | tr '\n' ' ')" "cases/00777777/1 cases/00777777/2 " "concurrent analyses: folders 1 and 2"
is "$(job_field "$ROOT/cases/00777777/1" .state):$(job_field "$ROOT/cases/00777777/2" .state)" "done:done" "concurrent analyses: both jobs done"

# a disk that fills up: copying the upload in, then unpacking it (a small tmpfs as root)
if mkdir -p "$TMP/small" && mount -t tmpfs -o size=8M tmpfs "$TMP/small" 2>/dev/null; then
	trap 'umount "$TMP/small" 2>/dev/null; rm -rf "$TMP"' EXIT
	timeout 120 "$HOTKDUMP" analyze --root "$TMP/small" --stop-after first-look --case 00888888 "$TMP/up/crash.tar.gz" >"$TMP/out" 2>"$TMP/err"
	is "$?" 7 "disk full while copying in: exit status 7 (the disk is full)"
	grep -q "No space left on device" "$TMP/err"
	ok $? "disk full while copying in: says so"
	is "$(job_field "$TMP/small/cases/00888888/1" .state)" failed "disk full while copying in: job failed"
	[ -z "$(find "$TMP/small/cases/00888888/1/input" -type f 2>/dev/null)" ]
	ok $? "disk full while copying in: no partial file left"
	umount "$TMP/small"
	mount -t tmpfs -o size=20M tmpfs "$TMP/small"
	timeout 120 "$HOTKDUMP" analyze --root "$TMP/small" --stop-after first-look --case 00888888 "$TMP/up/crash.tar.gz" >"$TMP/out" 2>"$TMP/err"
	is "$?" 7 "disk full while unpacking: exit status 7 (the disk is full)"
	grep -q "No space left on device (the disk is full)" "$TMP/err"
	ok $? "disk full while unpacking: says so"
	is "$(job_field "$TMP/small/cases/00888888/1" .stages.unpack.state)" failed "disk full while unpacking: unpack stage failed"
	[ ! -e "$TMP/small/cases/00888888/1/dump" ]
	ok $? "disk full while unpacking: no half-unpacked dump/ left"
	umount "$TMP/small"
else
	skip "disk full: cannot mount a tmpfs here"
fi

done_testing
