#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The storage view on real dumps, with the real crash and drgn:
#   - the storage fixture (scsi_debug with two paths to one disk, a multipath map over them, a
#     linear map on it and a suspended one, I/O hung until the hung-task watchdog panicked):
#     the view lists the device-mapper devices with the tables the guest set up and the SCSI
#     devices as sysfs showed them (the guest's own view is the fixture's storage.txt), the
#     stuck commands with an age that matches the hang, and the headline names the stuck disk;
#     the report leads with its Storage section (screenshot tests/e2e/screenshots/report-storage.png);
#   - a dump without device-mapper or SCSI (sysrq): the view says so, and what it cost;
#   - without drgn, or with a script that fails: the job is done, the report says why there
#     is no view.
. "$(dirname "$0")/lib.sh"

if ! command -v drgn >/dev/null; then
	skip "drgn (python3-drgn) is not installed"
	done_testing
	exit
fi
load_fixtures
load_debug_package
load_crash
dom() { python3 "$TOP_SRCDIR/tests/e2e/dom.py" "$@"; }
shots=$TOP_BUILDDIR/tests/e2e/screenshots
mkdir -p "$shots"
dump=$(fixture_of storage kdump-compressed)
[ -f "$dump" ] || bail "the fixtures have no storage dump ($dump)"
guest=$(dirname "$dump")/storage.txt
[ -s "$guest" ] || bail "the storage fixture has no storage.txt"
sed 's/^/# guest: /' "$guest"
args=(--set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands" --set symbols.sources=cache)

# the symbol cache, with the debug files of the storage modules the dump has loaded
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$DEB" "$dump" >"$TMP/seed.out" 2>&1 ||
	{ sed 's/^/# /' "$TMP/seed.out"; bail "the symbol cache cannot be seeded"; }

# --- the hung storage stack ------------------------------------------------------------------------
timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" --set storage.stuck_after=5s --case 00346001 "$dump" \
	>"$TMP/out" 2>"$TMP/err"
ok $? "storage: analyze finishes"
D=$ROOT/cases/00346001/1
S=$D/summary.json
is "$(jq -r '.stages.storage.state' "$D/job.json")" done "the storage stage ran"
jq -e '.storage.view' "$S" >/dev/null
ok $? "summary.json has the storage view"
python3 "$TOP_SRCDIR/tests/e2e/quick/openapi-check.py" --schema "$TOP_SRCDIR/daemon/openapi.json" Summary "$S" >"$TMP/schema.out" 2>&1
ok $? "summary.json matches the Summary schema"
jq -r '.storage.view.errors[]' "$S" | sed 's/^/# not read: /'
is "$(jq -r '.storage.view.errors | length' "$S")" 0 "every part of the view was read"

# device-mapper: every map of the guest, with its table
while read -r name table; do
	name=${name%:}
	got=$(jq -r --arg n "$name" '.storage.view.device_mapper.devices[] | select(.name == $n) |
		[.table[] | "\(.start) \(.length) \(.type)"] | join(";")' "$S")
	want=$(awk '{ print $1, $2, $3 }' <<<"$table")
	is "$got" "$want" "dm $name: start, length and target type as the guest's dmsetup table"
	case $table in
	*" linear "*)
		is "$(jq -r --arg n "$name" '.storage.view.device_mapper.devices[] | select(.name == $n) | .table[0].params' "$S")" \
			"$(cut -d' ' -f4- <<<"$table")" "dm $name: the linear target's device and offset"
		;;
	*" multipath "*)
		want=$(grep -oE '\b[0-9]+:[0-9]+\b' <<<"$table" | sort | tr '\n' ' ')
		is "$(jq -r --arg n "$name" '.storage.view.device_mapper.devices[] | select(.name == $n) |
			[.table[0].path_groups[].paths[].dev] | sort | join(" ")' "$S") " "$want" "dm $name: the multipath map's paths"
		is "$(jq -r --arg n "$name" '[.storage.view.device_mapper.devices[] | select(.name == $n) |
			.table[0].path_groups[].paths[] | select(.active)] | length' "$S")" 2 "dm $name: both paths active"
		;;
	esac
done < <(sed -n 's/^table=//p' "$guest")
is "$(jq -r '[.storage.view.device_mapper.devices[].name] | sort | join(" ")' "$S")" \
	"$(sed -n 's/^table=\([^:]*\):.*/\1/p' "$guest" | sort | tr '\n' ' ' | sed 's/ $//')" "the view has the guest's maps, no more"
# each map's dm-N, open count and suspended state as dmsetup info had them
while read -r name rest; do
	want=$(sed -E 's/.*blkdev=([^ ]*).* open=([0-9]*) suspended=(.*)/\1 \2 \3/' <<<"$rest")
	is "$(jq -r --arg n "$name" '.storage.view.device_mapper.devices[] | select(.name == $n) |
		"\(.dm) \(.open_count) \(if .suspended then "Suspended" else "Active" end)"' "$S")" "$want" \
		"dm $name: device, open count and state as dmsetup info"
done < <(sed -n 's/^dm=//p' "$guest")
susp=$(sed -n 's/^dm=\([^ ]*\) .*suspended=Suspended$/\1/p' "$guest")
jq -e --arg n "$susp" '.storage.view.device_mapper.devices[] | select(.name == $n) | .suspended and .deferred >= 1' "$S" >/dev/null
ok $? "dm $susp: suspended, with the writer's I/O waiting ($(jq -r --arg n "$susp" '.storage.view.device_mapper.devices[] | select(.name == $n) | .deferred' "$S"))"

# SCSI: every device as sysfs showed it
while read -r hctl rest; do
	for kv in $rest; do
		k=${kv%%=*} v=${kv#*=}
		case $k in
		vendor | model | state) f=$k ;;
		queue_depth) f=queue_depth ;;
		timeout) f=timeout_s ;;
		*) continue ;;
		esac
		is "$(jq -r --arg h "$hctl" --arg f "$f" '.storage.view.scsi.devices[] | select(.hctl == $h) | .[$f] | tostring' "$S")" "$v" \
			"scsi $hctl: $f as sysfs had it"
	done
done < <(sed -n 's/^scsi=//p' "$guest")

# the stuck commands: their age is the time from the hang's start to the panic
start=$(sed -n 's/^hang-start=//p' "$guest")
panic_at=$(grep -m1 'Kernel panic - not syncing' "$(dirname "$dump")/dmesg.txt" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
oldest=$(jq -r '[.storage.view.scsi.devices[].in_flight[].age_s] | max // empty' "$S")
echo "# hang started at $start s, panic at $panic_at s; the oldest command in flight: $oldest s"
awk -v a="$oldest" -v s="$start" -v p="$panic_at" 'BEGIN { exit !(a != "" && a >= p - s - 2 && a <= p - s + 2) }'
ok $? "the oldest command's age ($oldest s) is the hang's length ($(awk -v s="$start" -v p="$panic_at" 'BEGIN { print p - s }') s), give or take 2 s"
stuck=$(jq -r '[.storage.view.block.disks[] | select(.driver == "sd_mod" and .in_flight > 0)][0].name' "$S")
headline=$(jq -r '.headline.cause' "$S")
echo "# headline: $headline"
grep -q "^I/O stuck on $stuck " <<<"$headline"
ok $? "the headline names the stuck disk ($stuck)"
is "$(jq -r '.findings[0].id' "$S")" io-stuck "io-stuck is the first finding, before the hung task"
jq -e '[.findings[].id] | index("dm-suspended-waiters")' "$S" >/dev/null
ok $? "the suspended map with its waiter is a finding"

# the report: the Storage section first, its tables
timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chromium" --window-size=1280,2400 \
	--screenshot="$shots/report-storage.png" "file://$D/report.html" >/dev/null 2>>"$TMP/chromium.log"
file "$shots/report-storage.png" | grep -q "PNG image data"
ok $? "Chromium renders the report ($shots/report-storage.png)"
is "$(dom "$D/report.html" before storage findings)" yes "the Storage section comes before the findings"
is "$(dom "$D/report.html" each tr.stuck data-disk | grep -v '^-$' | head -n 1)" "$stuck" "the stuck disk's row is marked"
is "$(dom "$D/report.html" each tr data-dm | grep -v '^-$' | sort | tr '\n' ' ')" \
	"$(jq -r '.storage.view.device_mapper.devices[].name' "$S" | sort | tr '\n' ' ')" "a row per dm device"

# --- a dump without device-mapper or SCSI ---------------------------------------------------------
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$DEB" "$(fixture_of sysrq kdump-compressed)" >"$TMP/seed2.out" 2>&1
timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" --case 00346002 "$(fixture_of sysrq kdump-compressed)" \
	>"$TMP/out" 2>"$TMP/err"
ok $? "sysrq: analyze finishes"
D=$ROOT/cases/00346002/1
is "$(jq -r '[.storage.view.scsi.devices, .storage.view.device_mapper.devices] | map(length) | add' "$D/summary.json")" 0 \
	"sysrq: no SCSI or dm device in the view"
grep -q '<p id=storage-none>No device-mapper or SCSI devices in this dump.</p>' "$D/report.html"
ok $? "sysrq: the report says so"
echo "# sysrq: the storage stage took $(jq -r .stages.storage.seconds "$D/job.json") s"

# --- no view: the job still done, the report says why ---------------------------------------------
# crash does not bear on these: the stand-in answers for it
quick=(--set "crash.binary=$TOP_SRCDIR/tests/e2e/standin-crash" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands" --set symbols.sources=cache)
timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${quick[@]}" --set storage.drgn=/nonexistent/drgn --case 00346003 \
	"$(fixture_of sysrq kdump-compressed)" >"$TMP/out" 2>"$TMP/err"
ok $? "no drgn: analyze finishes"
D=$ROOT/cases/00346003/1
is "$(jq -r .state "$D/job.json")" done "no drgn: the job is done"
is "$(dom "$D/report.html" text storage-none)" "No storage view: cannot run '/nonexistent/drgn': No such file or directory (storage.drgn)" \
	"no drgn: the report says why there is no view"
printf 'import sys\nprint("{\\"schema\\": 1, \\"block\\": {\\"disks\\": 5}}")\n' >"$TMP/bad-view.py"
timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${quick[@]}" --set "storage.script=$TMP/bad-view.py" --case 00346004 \
	"$(fixture_of sysrq kdump-compressed)" >"$TMP/out" 2>"$TMP/err"
D=$ROOT/cases/00346004/1
is "$(jq -r .storage.unavailable "$D/job.json")" "drgn's output is not a storage view: no block.disks (storage/drgn.log)" \
	"a script that prints something else: refused, with the reason"
is "$(jq -r .state "$D/job.json")" done "... and the job is done"

done_testing
