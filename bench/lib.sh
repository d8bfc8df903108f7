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
