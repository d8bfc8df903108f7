#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make install into a DESTDIR, from a build configured with folders of its own: every file is
# there (programs, settings, command set, rules, units, sysusers and tmpfiles files, man pages,
# bash completion), each names the configured folders, the installed settings file is what the
# installed hotkdump prints as its defaults, the installed daemon starts on defaults with no
# settings file, a second install keeps a site's edited settings, and uninstall removes the rest.
. "$(dirname "$0")/lib.sh"

prefix=/opt/hk-test
sysconfdir=$prefix/etc
localstatedir=/srv/hk-test-state
dest=$TMP/dest
mkdir -p "$TMP/b"
(cd "$TMP/b" && "$TOP_SRCDIR/configure" --prefix="$prefix" --sysconfdir="$sysconfdir" --localstatedir="$localstatedir" \
	>"$TMP/configure.log" 2>&1)
rc=$?
ok $rc "configure with --prefix, --sysconfdir and --localstatedir of the test's own"
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/configure.log"
make -C "$TMP/b" -j"$(nproc)" >"$TMP/make.log" 2>&1
rc=$?
ok $rc "the build"
[ $rc -eq 0 ] || tail -n 30 "$TMP/make.log" | sed 's/^/# /'
make -C "$TMP/b" install DESTDIR="$dest" >"$TMP/install.log" 2>&1
rc=$?
ok $rc "make install DESTDIR=…"
[ $rc -eq 0 ] || tail -n 30 "$TMP/install.log" | sed 's/^/# /'

confdir=$sysconfdir/hotkdump
statedir=$localstatedir/lib/hotkdump
units=$prefix/lib/systemd/system
mandir=$prefix/share/man
completions=$prefix/share/bash-completion/completions
for f in "$prefix/bin/hotkdump" "$prefix/bin/hotkdumpd" "$confdir/hotkdump.conf" "$confdir/crash-commands" \
	"$units/hotkdumpd.service" "$units/hotkdump-purge.service" "$units/hotkdump-purge.timer" \
	"$prefix/lib/sysusers.d/hotkdump.conf" "$prefix/lib/tmpfiles.d/hotkdump.conf" \
	"$mandir/man1/hotkdump.1" "$mandir/man8/hotkdumpd.8" "$mandir/man5/hotkdump.conf.5" \
	"$completions/hotkdump" "$completions/hotkdumpd"; do
	[ -f "$dest$f" ]
	ok $? "installed: $f"
done
for d in "$confdir/rules.d" "$confdir/hooks.d"; do
	[ -d "$dest$d" ]
	ok $? "installed: $d/, for the site's own"
done
is "$(ls "$dest$prefix/share/hotkdump/rules.d" | tr '\n' ' ')" "$(ls "$TOP_SRCDIR/etc/rules.d" | tr '\n' ' ')" \
	"the shipped rules, in $prefix/share/hotkdump/rules.d"
[ -x "$dest$prefix/bin/hotkdump" ] && [ -x "$dest$prefix/bin/hotkdumpd" ]
ok $? "the programs are executable"
cmp -s "$TOP_SRCDIR/etc/crash-commands" "$dest$confdir/crash-commands"
ok $? "the command set is etc/crash-commands"
for p in man/hotkdump.1 man/hotkdumpd.8 man/hotkdump.conf.5; do
	cmp -s "$TOP_SRCDIR/$p" "$dest$mandir/man${p##*.}/${p#man/}"
	ok $? "the man page $p, in $mandir/man${p##*.}"
done
# bash-completion loads hotkdumpd's completion from the file of its name, which sources hotkdump's
bash -c '. "$1" && complete -p hotkdump && complete -p hotkdumpd' _ "$dest$completions/hotkdumpd" >"$TMP/complete.out" 2>&1
rc=$?
ok $rc "the installed completion for hotkdumpd loads, and completes both programs"
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/complete.out"

# every file names the configured folders
grep -qx "ExecStart=$prefix/bin/hotkdumpd --config $confdir/hotkdump.conf" "$dest$units/hotkdumpd.service"
ok $? "hotkdumpd.service runs $prefix/bin/hotkdumpd --config $confdir/hotkdump.conf"
grep -qx "ReadWritePaths=$statedir" "$dest$units/hotkdumpd.service"
ok $? "hotkdumpd.service may write $statedir"
grep -qx "ExecStart=$prefix/bin/hotkdump purge --config $confdir/hotkdump.conf" "$dest$units/hotkdump-purge.service"
ok $? "hotkdump-purge.service runs $prefix/bin/hotkdump purge"
grep -q "^u hotkdump - .* $statedir /usr/sbin/nologin\$" "$dest$prefix/lib/sysusers.d/hotkdump.conf"
ok $? "the sysusers file makes the user hotkdump, its home $statedir"
grep -qx "d $statedir 0750 hotkdump hotkdump -" "$dest$prefix/lib/tmpfiles.d/hotkdump.conf"
ok $? "the tmpfiles file makes $statedir, the user's own"
! grep -rq '@[a-z]*dir@' "$dest$units" "$dest$prefix/lib/sysusers.d" "$dest$prefix/lib/tmpfiles.d"
ok $? "no template placeholder is left"
# (a path that starts there, not one that merely ends so, as $sysconfdir/hotkdump does)
! grep -rqE '(^|[ =:"]|file://)/(usr/local|var/lib/hotkdump|etc/hotkdump)' "$dest$units" "$dest$prefix/lib/sysusers.d" "$dest$prefix/lib/tmpfiles.d" "$dest$confdir/hotkdump.conf"
ok $? "nothing names the folders of another configuration"

# the settings file is the installed program's own defaults
"$dest$prefix/bin/hotkdump" config >"$TMP/defaults.conf"
cmp -s "$TMP/defaults.conf" "$dest$confdir/hotkdump.conf"
ok $? "the installed hotkdump.conf is what the installed hotkdump prints as its defaults"
grep -qx "#root = $statedir" "$dest$confdir/hotkdump.conf"
ok $? "root defaults to $statedir"
grep -qx "#crash.commands = $confdir/crash-commands" "$dest$confdir/hotkdump.conf"
ok $? "crash.commands defaults to $confdir/crash-commands"
"$dest$prefix/bin/hotkdump" analyze --help | grep -q "(default $confdir/hotkdump.conf if present)"
ok $? "the usage text names the configured settings file"

# the installed daemon starts on defaults: no settings file is needed
echo "tok-$RANDOM$RANDOM" >"$TMP/token"
chmod 600 "$TMP/token"
"$dest$prefix/bin/hotkdumpd" --root "$TMP/root" --set daemon.listen=127.0.0.1:0 --port-file "$TMP/port" \
	--set "http.token_file=$TMP/token" >"$TMP/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(cat "$TMP/port" 2>/dev/null)/healthz")" 200 \
	"the installed hotkdumpd, with no settings file, answers /healthz"
kill "$pid"
wait "$pid"
is "$?" 0 "and stops cleanly on TERM"

# a site's edited settings survive a second install; uninstall removes the rest
echo "workers_note = edited" >>"$dest$confdir/hotkdump.conf"
cp "$dest$confdir/hotkdump.conf" "$TMP/edited.conf"
make -C "$TMP/b" install DESTDIR="$dest" >"$TMP/install2.log" 2>&1
ok $? "a second make install"
cmp -s "$TMP/edited.conf" "$dest$confdir/hotkdump.conf"
ok $? "the edited settings file is kept"
grep -q "kept $dest$confdir/hotkdump.conf: already there" "$TMP/install2.log"
ok $? "and the install says so"
make -C "$TMP/b" uninstall DESTDIR="$dest" >"$TMP/uninstall.log" 2>&1
ok $? "make uninstall"
is "$(cd "$dest" && find . -type f | sort | tr '\n' ' ')" "./${confdir#/}/hotkdump.conf " \
	"uninstall leaves only the edited settings file"

done_testing
