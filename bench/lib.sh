# Shared by the benchmarks: timing, and a 1 GiB file of real dump data made from the fixtures
# (cached in /var/tmp/hotkdump-bench, so only the first run pays for it).

top=$(cd "$(dirname "$0")/.." && pwd)
hk=${HOTKDUMP:-$top/build/hotkdump}
[ -x "$hk" ] || { echo "$(basename "$0"): no binary at $hk (run scripts/build)" >&2; exit 1; }
fixtures=$("$top/tests/fixtures/make-fixtures" | tail -n 1)
cache=/var/tmp/hotkdump-bench/$(basename "$fixtures")
mkdir -p "$cache"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }

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

# report NAME-A SECONDS-A NAME-B SECONDS-B
report() {
	printf '%-40s %8.2f s\n' "$1" "$2"
	printf '%-40s %8.2f s\n' "$3" "$4"
	printf '%-40s %8.2fx\n' "ratio ($3 / $1)" "$(echo "$4 / $2" | bc -l)"
}
