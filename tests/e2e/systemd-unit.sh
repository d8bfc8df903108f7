#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# hotkdumpd.service (made by make from etc/systemd/hotkdumpd.service.in, for the folders this
# build was configured with: HK_BINDIR, HK_CONFDIR, HK_STATEDIR from make check): it names those
# folders, systemd-analyze verify finds nothing wrong with it (on a copy that runs the built
# daemon, since verify wants the binary to exist), its sandbox keeps the
# exposure score at 2.0 or below ("OK"; 1.5 when it was written), and the directives the daemon
# relies on (user, state folder, stop and reload) are there. Skipped without systemd-analyze.
. "$(dirname "$0")/lib.sh"

unit=${TOP_BUILDDIR:?}/hotkdumpd.service
bindir=${HK_BINDIR:?} confdir=${HK_CONFDIR:?} statedir=${HK_STATEDIR:?}
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze is not installed"
	done_testing
	exit
fi

mkdir "$TMP/unit"
copy=$TMP/unit/hotkdumpd.service
grep -qxF "ExecStart=$bindir/hotkdumpd --config $confdir/hotkdump.conf" "$unit"
ok $? "the unit runs $bindir/hotkdumpd --config $confdir/hotkdump.conf"
sed "s#^ExecStart=$bindir/hotkdumpd #ExecStart=$TOP_BUILDDIR/hotkdumpd #" "$unit" >"$copy"
grep -qxF "ExecStart=$TOP_BUILDDIR/hotkdumpd --config $confdir/hotkdump.conf" "$copy"
ok $? "the copy for verify runs the built daemon"

# verify runs man for each Documentation= page: the pages the tree ships, as make install lays them out
for page in "$TOP_SRCDIR"/man/*.[0-9]; do
	mkdir -p "$TMP/man/man${page##*.}"
	ln -sf "$page" "$TMP/man/man${page##*.}/"
done
export MANPATH=$TMP/man
systemd-analyze verify "$copy" >"$TMP/verify.out" 2>&1
rc=$?
# verify warns about unknown keys and bad values without failing: any line naming the unit counts
! grep -q 'hotkdumpd\.service' "$TMP/verify.out" && [ $rc -eq 0 ]
ok $? "systemd-analyze verify: no complaint"
sed 's/^/# /' "$TMP/verify.out"

systemd-analyze security --offline=yes "$copy" >"$TMP/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for hotkdumpd\.service: \([0-9.]*\).*/\1/p' "$TMP/security.out")
if [ -n "$score" ]; then
	awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'
	ok $? "systemd-analyze security: exposure $score, at most $max_exposure"
else
	ok 1 "systemd-analyze security gives an exposure level"
	sed 's/^/# /' "$TMP/security.out"
fi

for d in User=hotkdump Group=hotkdump DynamicUser=no StateDirectory=hotkdump ConfigurationDirectory=hotkdump \
	'ExecReload=kill -HUP $MAINPID' Restart=on-failure KillMode=mixed ProtectSystem=strict \
	"ReadWritePaths=$statedir" ProtectHome=read-only NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes \
	CapabilityBoundingSet= 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' SystemCallFilter=@system-service \
	SystemCallArchitectures=native UMask=0027; do
	grep -qxF -- "$d" "$unit"
	ok $? "the unit says $d"
done

# SIGTERM makes the daemon wait up to daemon.drain_timeout for its workers: systemd must wait longer
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit")
drain=$("$HOTKDUMP" config | sed -n 's/^#daemon\.drain_timeout = \([0-9]*\)$/\1/p')
[ -n "$stop" ] && [ -n "$drain" ] && [ "$stop" -gt "$drain" ]
ok $? "TimeoutStopSec (${stop:-none}) is longer than the default daemon.drain_timeout (${drain:-unknown})"

# the purge's service and timer, for hosts that run only the command
pcopy=$TMP/unit/hotkdump-purge.service
grep -qxF "ExecStart=$bindir/hotkdump purge --config $confdir/hotkdump.conf" "$TOP_BUILDDIR/hotkdump-purge.service"
ok $? "hotkdump-purge.service runs $bindir/hotkdump purge"
sed "s#^ExecStart=$bindir/hotkdump #ExecStart=$TOP_BUILDDIR/hotkdump #" "$TOP_BUILDDIR/hotkdump-purge.service" >"$pcopy"
cp "$TOP_SRCDIR/etc/systemd/hotkdump-purge.timer" "$TMP/unit/"
systemd-analyze verify "$pcopy" "$TMP/unit/hotkdump-purge.timer" >"$TMP/verify-purge.out" 2>&1
rc=$?
! grep -q 'hotkdump-purge\.' "$TMP/verify-purge.out" && [ $rc -eq 0 ]
ok $? "systemd-analyze verify: no complaint about the purge's service and timer"
sed 's/^/# /' "$TMP/verify-purge.out"
systemd-analyze security --offline=yes "$pcopy" >"$TMP/security-purge.out" 2>&1
pscore=$(sed -n 's/.*Overall exposure level for hotkdump-purge\.service: \([0-9.]*\).*/\1/p' "$TMP/security-purge.out")
[ -n "$pscore" ] && [ "$(echo "$pscore <= $max_exposure" | bc)" = 1 ]
ok $? "systemd-analyze security of the purge: exposure ${pscore:-unknown}, at most $max_exposure"
grep -qx "OnCalendar=daily" "$TOP_SRCDIR/etc/systemd/hotkdump-purge.timer" && grep -qx "Persistent=true" "$TOP_SRCDIR/etc/systemd/hotkdump-purge.timer"
ok $? "the timer runs it daily, catching up a missed day"

grep -q "^u hotkdump .* $statedir " "$TOP_BUILDDIR/hotkdump.sysusers.conf"
ok $? "the sysusers file makes the user hotkdump, its home the state folder"

done_testing
