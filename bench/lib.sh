# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the benchmarks on real dumps: base.sh, the fixtures, and a 1 GiB file of real dump
# data made from them (cached in /var/tmp/hotkdump-bench, so only the first run pays for it).

. "$(dirname "$0")/base.sh"
hk=${HOTKDUMP:-$top/build/hotkdump}
[ -x "$hk" ] || { echo "$(basename "$0"): no binary at $hk (run scripts/build)" >&2; exit 1; }
fixtures=$("$top/tests/fixtures/make-fixtures" | tail -n 1)
cache=/var/tmp/hotkdump-bench/$(basename "$fixtures")
mkdir -p "$cache"

# The dumps of every cause laid end to end until 1 GiB: what an uncompressed ELF vmcore looks like.
big_dump() {
	local out=$cache/dump-1g.elf
	if [ ! -f "$out" ]; then
		: >"$out.tmp"
		while [ "$(stat -c %s "$out.tmp")" -lt 1073741824 ]; do
			for f in $(jq -r '.fixtures[] | select(.format == "elf") | .file' "$fixtures/manifest.json"); do
				cat "$fixtures/$f" >>"$out.tmp"
			done
		done
		truncate -s 1G "$out.tmp"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

# series SUITE: the fixture dumps of SUITE's newest cloud kernel ("own": the machine's own suite,
# the fixtures above), built by make-fixtures if need be. Sets FX (their folder), REL, BID, DUMP
# (the sysrq dump, kdump-compressed), VMLINUX (the plain vmlinux of the debug package), MODDIR
# (the package's module debug files) and DEB (the -dbg package itself).
series() {
	if [ "$1" = own ]; then
		FX=$fixtures
	else
		FX=$(HOTKDUMP_FIXTURE_SUITE=$1 "$top/tests/fixtures/make-fixtures" | tail -n 1)
	fi
	local m=$FX/manifest.json
	REL=$(jq -r .kernel_release "$m")
	BID=$(jq -r .build_id "$m")
	DUMP=$FX/$(jq -r '[.fixtures[] | select(.format == "kdump-compressed" and .cause == "sysrq")][0].file' "$m")
	VMLINUX=$(jq -r .vmlinux "$m")
	MODDIR=$(find "$FX/dbg" -type d -path "*/lib/modules/$REL" | head -n 1)
	DEB=$(ls "$FX"/debs/linux-image-"$REL"-dbg_*.deb)
}

# pool WWW: DEB linked into WWW laid out as the Debian pool (served at /debian by start_nginx).
pool() {
	mkdir -p "$1/debian/pool/main/l/linux"
	ln -f "$DEB" "$1/debian/pool/main/l/linux/" 2>/dev/null || cp "$DEB" "$1/debian/pool/main/l/linux/"
}

# by_hand_commands MODDIR: the command set as a person types it into `crash -i`: `mod -S` on the
# package's module folder first, then the set's commands with what its '%' lines stand for
# ('ps -m' for the blocked tasks, 'ps' for the memory users), then quit.
by_hand_commands() {
	echo "mod -S $1"
	grep -vE '^[[:space:]]*(#|$)' "$top/etc/crash-commands" | grep -v 'needs=pykdump' |
		sed -E 's/^[^ ]+[[:space:]]+(\[[^]]*\][[:space:]]*)?//; s/^%blocked.*/ps -m/; s/^%top-memory.*/ps/'
	echo quit
}

# median N…
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
