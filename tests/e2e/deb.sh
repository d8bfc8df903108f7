#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package, as an operator gets it: dpkg-buildpackage -us -uc -b on a copy of the
# tree builds hotkdump and hotkdump-crash; their contents, conffiles and Depends are checked;
# lintian finds no error or warning; both install with dpkg, which makes the hotkdump user, the
# state folder and the token; systemd-analyze verifies the installed units; the unit's own
# command line, run as the hotkdump user (no systemd as PID 1 here), answers /healthz and runs a
# real dump end to end with the packaged crash. Everything is purged at the end.
#
# It installs packages on the machine, so it is not in `make check` (whose tests run in
# parallel and would read the installed /etc/hotkdump): `make check-package`, run by scripts/test
# after the rest.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { skip "needs root (dpkg -i)"; done_testing; exit 0; }
for p in dpkg-buildpackage lintian dh systemd-analyze; do
	command -v "$p" >/dev/null || { skip "$p is not installed (scripts/install-deps installs it)"; done_testing; exit 0; }
done
if dpkg-query -W -f='${Status}' hotkdump 2>/dev/null | grep -q "install ok installed"; then
	skip "a hotkdump package is installed already: this test would replace it"
	done_testing
	exit 0
fi
load_fixtures
load_debug_package
load_crash # the cached build the package takes (scripts/build-crash builds it when there is none)

had_user=$(getent passwd hotkdump >/dev/null && echo yes || echo no)
had_state=$([ -e /var/lib/hotkdump ] && echo yes || echo no)
DPID=
cleanup() {
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null
	dpkg --purge hotkdump hotkdump-crash >"$TMP/purge.log" 2>&1
	[ "$had_state" = yes ] || rm -rf /var/lib/hotkdump
	[ "$had_user" = yes ] || { userdel hotkdump 2>/dev/null; groupdel hotkdump 2>/dev/null; }
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------------------------------
src=$TMP/hotkdump
mkdir -p "$src"
if git -C "$TOP_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
	# the tracked files and new ones not ignored: what a commit of the work tree would hold
	git -C "$TOP_SRCDIR" ls-files -z --cached --others --exclude-standard |
		(cd "$TOP_SRCDIR" && tar --null -T - -cf - 2>/dev/null) | tar -C "$src" -xf -
else # a release tarball's tree (make distcheck)
	cp -a "$TOP_SRCDIR/." "$src/"
	chmod -R u+w "$src"
fi
(cd "$src" && dpkg-checkbuilddeps) >"$TMP/builddeps.log" 2>&1
ok $? "dpkg-checkbuilddeps: the build dependencies are installed$(sed -n 's/.*Unmet build dependencies: / (missing: /p' "$TMP/builddeps.log" | sed 's/$/)/')"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b"
[ $rc -eq 0 ] || { tail -n 30 "$TMP/build.log" | sed 's/^/# /'; bail "no package"; }
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
pkg=$TMP/hotkdump_${version}_$arch.deb
cpkg=$TMP/hotkdump-crash_${version}_$arch.deb
[ -f "$pkg" ] && [ -f "$cpkg" ]
ok $? "hotkdump_${version}_$arch.deb and hotkdump-crash_${version}_$arch.deb"

# --- contents ------------------------------------------------------------------------------------
dpkg-deb -c "$pkg" | awk '{ print substr($6, 2) }' >"$TMP/files"
missing=
for f in /usr/bin/hotkdump /usr/bin/hotkdumpd /etc/hotkdump/hotkdump.conf /etc/hotkdump/crash-commands \
	/lib/systemd/system/hotkdumpd.service /lib/systemd/system/hotkdump-purge.service \
	/lib/systemd/system/hotkdump-purge.timer /usr/lib/sysusers.d/hotkdump.conf /usr/lib/tmpfiles.d/hotkdump.conf \
	/usr/share/hotkdump/rules.d/20-oops.json /usr/share/man/man1/hotkdump.1.gz /usr/share/man/man8/hotkdumpd.8.gz \
	/usr/share/man/man5/hotkdump.conf.5.gz /usr/share/bash-completion/completions/hotkdump \
	/usr/share/doc/hotkdump/copyright; do
	grep -qx "$f" "$TMP/files" || missing="$missing $f"
done
is "${missing:-none}" none "hotkdump's package holds the programs, settings, units, sysusers/tmpfiles, man pages, completion"
dpkg-deb -f "$pkg" Depends >"$TMP/depends"
grep -q "makedumpfile" "$TMP/depends" && grep -q "gdb" "$TMP/depends" && grep -q "libmicrohttpd" "$TMP/depends"
ok $? "Depends: what it runs (makedumpfile, gdb) and its libraries ($(cut -c1-80 "$TMP/depends")…)"
mkdir -p "$TMP/ctl"
dpkg-deb -e "$pkg" "$TMP/ctl"
is "$(sort "$TMP/ctl/conffiles" | tr '\n' ' ')" "/etc/hotkdump/crash-commands /etc/hotkdump/hotkdump.conf " \
	"the settings file and the command set are conffiles"
cver=$("$CRASH" --version | sed -n 's/^crash \([^ ]*\).*/\1/p' | head -n 1)
dpkg-deb -c "$cpkg" | awk '{ print substr($6, 2) }' | grep -qx "/usr/libexec/hotkdump/crash/$cver/bin/crash"
ok $? "hotkdump-crash holds crash $cver under /usr/libexec/hotkdump/crash/$cver/bin/crash, not /var/cache"

# --- lintian -------------------------------------------------------------------------------------
changes=$(ls "$TMP"/hotkdump_"${version}"_"$arch".changes)
lintian --fail-on error,warning --display-info "$changes" >"$TMP/lintian.log" 2>&1
rc=$?
ok $rc "lintian: no error or warning ($(grep -c '^I:' "$TMP/lintian.log") info tags remain)"
grep '^[EWIO]:' "$TMP/lintian.log" | sed 's/^/# lintian: /'

# --- install ---------------------------------------------------------------------------------------
dpkg -i "$pkg" "$cpkg" >"$TMP/install.log" 2>&1
rc=$?
ok $rc "dpkg -i of both packages"
[ $rc -eq 0 ] || { tail -n 20 "$TMP/install.log" | sed 's/^/# /'; bail "not installed"; }
getent passwd hotkdump >/dev/null && [ "$(stat -c %U /var/lib/hotkdump)" = hotkdump ]
ok $? "the postinst made the hotkdump user and its state folder /var/lib/hotkdump"
is "$(stat -c '%a %U %G' /etc/hotkdump/token 2>&1)" "640 root hotkdump" "... and a token only root and the daemon's group read"
grep -qx "http.token_file = /etc/hotkdump/token" /etc/hotkdump/hotkdump.conf
ok $? "the packaged settings file names that token"
units=(/lib/systemd/system/hotkdumpd.service /lib/systemd/system/hotkdump-purge.service /lib/systemd/system/hotkdump-purge.timer)
systemd-analyze verify "${units[@]}" >"$TMP/verify.log" 2>&1
rc=$?
ok $rc "systemd-analyze verify of the installed units"
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/verify.log"

# --- the unit's command line, as its user ----------------------------------------------------------
# as User=/Group= run it: the user's IDs and groups, its home, and the program exec'd (so that
# a signal reaches it)
as_hotkdump() { HOME=/var/lib/hotkdump setpriv --reuid=hotkdump --regid=hotkdump --init-groups -- "$@"; }
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/hotkdumpd.service)
is "$exec_start" "/usr/bin/hotkdumpd --config /etc/hotkdump/hotkdump.conf" "the unit starts /usr/bin/hotkdumpd with the packaged settings"
up=$TMP/uploads
mkdir -p "$up"
chmod 755 "$TMP"
sysrq=$FIXTURES/$(jq -r '[.fixtures[] | select(.cause == "sysrq" and .format == "kdump-compressed")][0].file' "$MANIFEST")
cp "$sysrq" "$up/vmcore"
cp "$DEB" "$up/"
chmod -R a+rX "$up"
# the symbols once into the cache, as the hotkdump user (no archive to fetch them from here)
as_hotkdump /usr/bin/hotkdump symbols --debug-file "$up/$(basename "$DEB")" "$up/vmcore" >"$TMP/symbols.log" 2>&1
ok $? "hotkdump symbols, as the hotkdump user, seeds /var/lib/hotkdump's cache"
port=$(free_port)
# the unit's command line, split as systemd splits it; setpriv execs it, so $! is the daemon
# shellcheck disable=SC2086
HOME=/var/lib/hotkdump setpriv --reuid=hotkdump --regid=hotkdump --init-groups -- $exec_start --port-file /var/lib/hotkdump/port --set "daemon.listen=127.0.0.1:$port" \
	--set "daemon.path_roots=$up" >"$TMP/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" 200 "hotkdumpd, run as the unit runs it, answers /healthz"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"case": "00700001", "path": "'"$up/vmcore"'"}' "http://127.0.0.1:$port/analyze")" 401 "POST /analyze without the token: 401"
token=$(cat /etc/hotkdump/token)
id=$(curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"case": "00700001", "path": "'"$up/vmcore"'"}' "http://127.0.0.1:$port/analyze" | jq -r '.id // empty')
[ -n "$id" ]
ok $? "POST /analyze with the generated token queues the dump ($id)"
state=none
for _ in $(seq 900); do
	state=$(curl -s "http://127.0.0.1:$port/jobs/$id" | jq -r '.state // "none"')
	case $state in done | incomplete | failed | cancelled) break ;; esac
	sleep 1
done
is "$state" done "the job ends done"
d=$(curl -s "http://127.0.0.1:$port/jobs/$id" | jq -r '.dir // empty')
is "$(jq -r .crash.binary "$d/job.json" 2>/dev/null)" "/usr/libexec/hotkdump/crash/$cver/bin/crash" \
	"crash $cver from hotkdump-crash answered, found by the default crash.binary"
grep -q "sysrq" "$d/comment.txt" 2>/dev/null && [ "$(stat -c %U "$d/report.html")" = hotkdump ]
ok $? "the report names the cause, written by the hotkdump user"
[ $? -eq 0 ] || sed 's/^/# daemon: /' "$TMP/daemon.log" | tail -n 20
kill "$DPID"
wait "$DPID"
is "$?" 0 "TERM: the daemon stops cleanly"
DPID=

dpkg --purge hotkdump hotkdump-crash >"$TMP/purge.log" 2>&1
ok $? "dpkg --purge of both"
[ ! -e /etc/hotkdump/token ] && [ ! -e /usr/bin/hotkdumpd ] && [ ! -e /usr/libexec/hotkdump ]
ok $? "... removes the token, the programs and the crash build"
done_testing
