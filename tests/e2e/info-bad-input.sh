#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `hotkdump info` on bad input: each case gets one clear line naming the file and the reason,
# its own exit status (3 not a dump, 4 damaged, 5 cannot read, 1 truncated but identified),
# no hang, and nothing written anywhere.
. "$(dirname "$0")/lib.sh"

load_fixtures

kdump=$FIXTURES/$(jq -r '[.fixtures[] | select(.format == "kdump-compressed")][0].file' "$MANIFEST")
elf=$FIXTURES/$(jq -r '[.fixtures[] | select(.format == "elf")][0].file' "$MANIFEST")
flat=$FIXTURES/$(jq -r '[.fixtures[] | select(.format == "flattened")][0].file' "$MANIFEST")
release=$(jq -r '.kernel_release' "$MANIFEST")

mkdir "$TMP/in" "$TMP/cwd"

# expect NAME FILE WANT-EXIT REASON-REGEX
expect() {
	local name=$1 file=$2 want=$3 regex=$4 rc before after
	before=$( [ -f "$file" ] && sha256sum <"$file")
	(cd "$TMP/cwd" && timeout 30 "$HOTKDUMP" info "$file" >"$TMP/out" 2>"$TMP/err")
	rc=$?
	after=$( [ -f "$file" ] && sha256sum <"$file")
	is "$rc" "$want" "$name: exit status $want"
	if [ "$want" -ne 0 ] && [ "$want" -ne 1 ]; then
		is "$(wc -l <"$TMP/err" | tr -d ' ')" 1 "$name: one line on stderr"
		[ ! -s "$TMP/out" ]
		ok $? "$name: nothing on stdout"
	fi
	grep -qF -- "$file" "$TMP/err" && grep -qE -- "$regex" "$TMP/err"
	ok $? "$name: the message names the file and says '$regex'"
	[ -z "$(ls -A "$TMP/cwd")" ]
	ok $? "$name: nothing written"
	is "$after" "$before" "$name: input untouched"
	sed 's/^/#   /' "$TMP/err"
}

: >"$TMP/in/empty"
expect "empty file" "$TMP/in/empty" 3 "not a dump: empty file"
head -c 1048576 /dev/urandom >"$TMP/in/random"
expect "random bytes" "$TMP/in/random" 3 "not a dump: not a kernel crash dump"
printf 'Hello,\nthe customer says the machine froze at 3am.\n' >"$TMP/in/notes.txt"
expect "text file" "$TMP/in/notes.txt" 3 "not a dump: a text file"
mkdir "$TMP/in/dir"
expect "directory" "$TMP/in/dir" 5 "cannot read: is a directory"
expect "missing file" "$TMP/in/does-not-exist" 5 "cannot read: No such file"
gzip -c "$TMP/in/notes.txt" >"$TMP/in/notes.gz"
expect "gzip'd text" "$TMP/in/notes.gz" 3 "gzip-compressed, but not a kernel dump inside \\(a text file, not a kernel log\\)$"
head -c 2000 "$kdump" | gzip -c | head -c 300 >"$TMP/in/cut.gz"
expect "cut gzip stream" "$TMP/in/cut.gz" 4 "damaged dump"

# Truncated dumps: inside the headers a dump cannot be read (damaged); inside the data it
# still identifies, and says it is truncated.
head -c 1024 "$kdump" >"$TMP/in/kdump-1k"
expect "kdump cut at 1 KiB" "$TMP/in/kdump-1k" 4 "damaged dump: file ends inside the kdump sub-header"
head -c 4150 "$kdump" >"$TMP/in/kdump-hdr"
expect "kdump cut inside the sub-header" "$TMP/in/kdump-hdr" 4 "damaged dump"
size=$(stat -c %s "$kdump")
head -c $((size / 2)) "$kdump" >"$TMP/in/kdump-half"
expect "kdump cut mid-data" "$TMP/in/kdump-half" 1 "incomplete dump: truncated: $((size / 2)) of $size bytes"
"$HOTKDUMP" info --json "$TMP/in/kdump-half" 2>/dev/null >"$TMP/half.json"
is "$(jq -r '.[0].release' "$TMP/half.json")" "$release" "kdump cut mid-data: still identified"
is "$(jq -r '.[0].complete' "$TMP/half.json")" no "kdump cut mid-data: complete is no"
is "$(jq -r '.[0].expected_size' "$TMP/half.json")" "$size" "kdump cut mid-data: expected size from the headers"

head -c 1024 "$elf" >"$TMP/in/elf-1k"
expect "ELF cut at 1 KiB" "$TMP/in/elf-1k" 4 "damaged dump: file ends inside the (program headers|notes)"
esize=$(stat -c %s "$elf")
head -c $((esize / 2)) "$elf" >"$TMP/in/elf-half"
expect "ELF cut mid-data" "$TMP/in/elf-half" 1 "incomplete dump: truncated"
"$HOTKDUMP" info --json "$TMP/in/elf-half" 2>/dev/null >"$TMP/half.json"
is "$(jq -r '.[0].release' "$TMP/half.json")" "$release" "ELF cut mid-data: still identified"

fsize=$(stat -c %s "$flat")
head -c $((fsize / 2)) "$flat" >"$TMP/in/flat-half"
expect "flattened cut mid-data" "$TMP/in/flat-half" 1 "incomplete dump: truncated"
head -c 2000 "$flat" >"$TMP/in/flat-2k"
expect "flattened cut inside its header block" "$TMP/in/flat-2k" 4 "damaged dump: flattened stream cut inside its header block"

# Headers with absurd sizes or offsets. patch FILE OFFSET HEX-BYTES
patch() {
	printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$kdump" "$TMP/in/kdump-bs"
patch "$TMP/in/kdump-bs" 428 45230100
expect "kdump with block size 0x12345" "$TMP/in/kdump-bs" 4 "damaged dump: block size"
cp "$kdump" "$TMP/in/kdump-bitmap"
patch "$TMP/in/kdump-bitmap" 436 ffffffff
expect "kdump with an absurd bitmap size" "$TMP/in/kdump-bitmap" 4 "damaged dump: bitmap size"
cp "$kdump" "$TMP/in/kdump-vmcoreinfo"
patch "$TMP/in/kdump-vmcoreinfo" $((4096 + 40)) 0000000000010000
expect "kdump with an absurd VMCOREINFO size" "$TMP/in/kdump-vmcoreinfo" 4 "damaged dump: VMCOREINFO"
cp "$elf" "$TMP/in/elf-phoff"
patch "$TMP/in/elf-phoff" 32 00000000000000f0
expect "ELF with a program header offset past the end" "$TMP/in/elf-phoff" 4 "damaged dump"
cp "$flat" "$TMP/in/flat-record"
patch "$TMP/in/flat-record" $((4096 + 8)) 7fffffffffffffff
expect "flattened stream with a bad record" "$TMP/in/flat-record" 4 "damaged dump: flattened stream: bad record"

# Several files: the worst status wins and the good ones are still reported.
(cd "$TMP/cwd" && "$HOTKDUMP" info "$kdump" "$TMP/in/random" "$TMP/in/dir" >"$TMP/out" 2>"$TMP/err")
is "$?" 5 "mixed files: the highest exit status"
grep -q "^  release: *$release" "$TMP/out"
ok $? "mixed files: the good dump is still reported"
is "$(wc -l <"$TMP/err" | tr -d ' ')" 2 "mixed files: one line per bad file"

"$HOTKDUMP" info >/dev/null 2>&1
is "$?" 2 "no file: usage error"
"$HOTKDUMP" info --bogus "$kdump" >/dev/null 2>&1
is "$?" 2 "unknown option: usage error"

done_testing
