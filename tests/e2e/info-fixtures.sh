#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `hotkdump info` on every real fixture dump, checked against the manifest the generator wrote
# from what the guest itself printed, and against crash's own reading where crash can tell.
. "$(dirname "$0")/lib.sh"

load_fixtures

# info_json FILE JQ-EXPR: the field of hotkdump's JSON for FILE
info_json() {
	jq -r ".[0] | $2 | if . == null then \"\" else . end" "$TMP/info.json"
}

check_identity() { # FILE WANT-FORMAT WANT-COMPRESSION WANT-FLATTENED LABEL INDEX
	local file=$1 format=$2 compression=$3 flattened=$4 label=$5 i=$6 rc
	timeout 60 "$HOTKDUMP" info --json "$file" >"$TMP/info.json" 2>"$TMP/info.err"
	rc=$?
	is "$rc" 0 "$label: exit status"
	is "$(info_json "$file" .format)" "$format" "$label: format"
	[ -n "$compression" ] && is "$(info_json "$file" .page_compression)" "$compression" "$label: page compression"
	is "$(info_json "$file" .flattened)" "$flattened" "$label: flattened"
	is "$(info_json "$file" .release)" "$(fixture_field "$i" release)" "$label: release"
	is "$(info_json "$file" .version)" "$(fixture_field "$i" utsname_version)" "$label: utsname version"
	if [ "$format" != dmesg ]; then
		is "$(info_json "$file" .build_id)" "$(fixture_field "$i" build_id)" "$label: build-id"
		is "$(info_json "$file" .arch)" "$(fixture_field "$i" machine)" "$label: arch"
		is "$(info_json "$file" .cpus)" "$(fixture_field "$i" cpus)" "$label: cpus"
		# only a kernel that went through kdump stamps the crash time; QEMU's dump has none
		case $(fixture_field "$i" producer) in
		makedumpfile*) is "$(info_json "$file" '.crash_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")')" true "$label: crash time present, ISO 8601" ;;
		esac
	fi
}

count=$(jq '.fixtures | length' "$MANIFEST")
[ "$count" -ge 8 ] || bail "the manifest lists only $count fixtures"
jq -e '[.fixtures[].cause] | unique | length >= 2' "$MANIFEST" >/dev/null
ok $? "fixtures cover at least two crash causes"

for i in $(seq 0 $((count - 1))); do
	file=$FIXTURES/$(fixture_field "$i" file)
	mformat=$(fixture_field "$i" format)
	mcomp=$(fixture_field "$i" compression)
	label="$(fixture_field "$i" file) ($(fixture_field "$i" producer))"
	case $mformat in
	kdump-compressed) check_identity "$file" kdump-compressed "$mcomp" false "$label" "$i" ;;
	flattened) check_identity "$file" kdump-compressed "$mcomp" true "$label" "$i" ;;
	elf) check_identity "$file" elf "" false "$label" "$i" ;;
	dmesg) check_identity "$file" dmesg "" false "$label" "$i" ;;
	*) ok 1 "$label: unknown manifest format '$mformat'" ;;
	esac
	if [ "$mformat" != dmesg ]; then
		is "$(info_json "$file" .complete)" yes "$label: complete"
		# crash reads the release from the dump its own way; compare where it can tell
		if command -v crash >/dev/null; then
			crel=$(timeout 120 crash --osrelease "$file" 2>/dev/null | tail -n 1)
			if [ -n "$crel" ] && [ "$crel" != unknown ]; then
				is "$(info_json "$file" .release)" "$crel" "$label: release agrees with crash --osrelease"
			else
				skip "$label: crash --osrelease cannot tell"
			fi
		fi
	fi
done

# The same dump compressed as a whole file, as customers upload it.
base=$FIXTURES/$(jq -r '[.fixtures[] | select(.format == "kdump-compressed")][0].file' "$MANIFEST")
bi=$(jq '[.fixtures[].file] | index("'"${base#"$FIXTURES"/}"'")' "$MANIFEST")
for z in gzip xz zstd bzip2; do
	command -v $z >/dev/null || { skip "$z not installed"; continue; }
	$z -c "$base" >"$TMP/dump.$z"
	check_identity "$TMP/dump.$z" kdump-compressed "$(fixture_field "$bi" compression)" false "$z'd dump" "$bi"
	is "$(info_json "$TMP/dump.$z" .file_compression)" "$([ $z = bzip2 ] && echo bzip2 || echo $z)" "$z'd dump: file compression named"
done

# Plain-text output and --vmcoreinfo, as a person reads them.
"$HOTKDUMP" info --vmcoreinfo=OSRELEASE,BUILD-ID "$base" >"$TMP/info.txt"
ok $? "text output exits 0"
grep -q "^  release: *$(fixture_field "$bi" release)\$" "$TMP/info.txt"
ok $? "text output names the release"
grep -q "^  OSRELEASE=$(fixture_field "$bi" release)\$" "$TMP/info.txt"
ok $? "--vmcoreinfo=KEYS prints the key asked for"
grep -q "^  BUILD-ID=$(fixture_field "$bi" build_id)\$" "$TMP/info.txt"
ok $? "--vmcoreinfo=KEYS prints the build-id"
[ "$(grep -c '^  [A-Z]' "$TMP/info.txt" | tr -d ' ')" -ge 2 ]
ok $? "--vmcoreinfo=KEYS prints only those keys"

# Several files at once: one JSON array, one entry each.
all=$(jq -r '.fixtures[].file' "$MANIFEST" | sed "s|^|$FIXTURES/|")
# shellcheck disable=SC2086
"$HOTKDUMP" info --json $all >"$TMP/all.json"
ok $? "all fixtures at once: exit 0"
is "$(jq length "$TMP/all.json")" "$count" "all fixtures at once: one entry each"

done_testing
