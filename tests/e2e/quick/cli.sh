#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The quick tier, no fixtures: the `hotkdump` command on synthetic dumps (tests/unit/synth.c,
# written by tests/e2e/quick/mkdump) with a vmlinux that carries their build-id and the stand-in
# crash. Identify, the whole analyze to a report, the symbol check, and bad input refused with
# the right exit status and nothing left where a good file is expected. Seconds, where the
# tests on real dumps need the QEMU fixtures and a crash build.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/quick-lib.sh"

make_synth_dumps

# --- identify: every container the synthetic dumps come in -------------------------------------
for kind in kdump kdump-zlib elf flat gzip; do
	out=$("$HOTKDUMP" info "$SYNTH/$kind" 2>&1)
	ok $? "info on a synthetic $kind dump: exit 0"
	case $out in *"release:      $SYNTH_RELEASE"*"build-id:     $SYNTH_BUILD_ID"*) ok 0 "info $kind: release and build-id" ;;
	*) ok 1 "info $kind: release and build-id"; echo "$out" | sed 's/^/# /' ;; esac
done
is "$("$HOTKDUMP" info "$SYNTH/kdump-zlib" | sed -n 's/^  format: *//p')" "kdump-compressed (zlib)" "info names the format and its compression"
is "$("$HOTKDUMP" info "$SYNTH/elf" | sed -n 's/^  format: *//p')" "elf" "info names an ELF vmcore"

# --- analyze: a tarball, to a finished report ----------------------------------------------------
tar -C "$SYNTH" -czf "$TMP/upload.tar.gz" kdump-zlib
"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --case 00100001 "$TMP/upload.tar.gz" >"$TMP/a.out" 2>"$TMP/a.err"
is "$?" 0 "analyze of a tarball with one dump: exit 0 (done)"
J=$ROOT/cases/00100001/1
is "$(jq -r .state "$J/job.json")" done "the job is done"
is "$(jq -r .identity.release "$J/job.json")" "$SYNTH_RELEASE" "the job records the dump's kernel release"
is "$(jq -r .identity.build_id "$J/summary.json")" "$SYNTH_BUILD_ID" "the summary has the build-id"
ncmd=$(grep -cv '^\s*\(#\|$\)' "$TOP_SRCDIR/etc/crash-commands")
nfiles=$(find "$J/crash" -name '*.txt' | wc -l)
[ "$nfiles" -ge 10 ] && [ "$nfiles" -le "$ncmd" ]
ok $? "one output file per crash command answered ($nfiles of $ncmd lines of the command set)"
grep -q '^output of: sys$' "$J/crash/01-sys.txt"
ok $? "crash's answer to sys is logged in the case folder"
[ -s "$J/comment.txt" ] && [ -s "$J/report.html" ] && [ -s "$J/summary.json" ]
ok $? "the report: comment.txt, report.html and summary.json"
grep -q "crash 8.0.6-standin" "$J/comment.txt"
ok $? "the comment names the crash that answered"
is "$(sed -n 's/^  Open in crash: //p' "$TMP/a.out")" "hotkdump crash --root $ROOT 00100001/1" \
	"the summary printed says how to open the dump in crash, with the root that is not the default"
grep -qF "<code>hotkdump crash --root $ROOT 00100001/1</code>" "$J/report.html"
ok $? "report.html's footer has the same command"
# as printed, it opens that dump (a root that needs quoting is quoted)
odd="$TMP/root two's"
cp -a "$ROOT" "$odd"
"$HOTKDUMP" analyze --root "$odd" "${QUICK_SETS[@]}" --case 00100002 "$SYNTH/kdump-zlib" >"$TMP/odd.out" 2>&1
line=$(sed -n 's/^  Open in crash: hotkdump crash //p' "$TMP/odd.out")
is "$line" "--root '$TMP/root two'\\''s' 00100002/1" "a root with a space and a quote: shell-quoted in the printed line"
eval "\"\$HOTKDUMP\" crash --print $line \"\${QUICK_SETS[@]}\"" >"$TMP/odd-open.out" 2>&1
# what the shell makes of crash --print's line: cd to the job's folder, crash on its vmcore
printed=$(tail -n 1 "$TMP/odd-open.out")
eval "cd_words=( ${printed%% && *} )" && eval "crash_words=( ${printed#* && } )"
[ "${cd_words[*]:-}" = "cd $odd/cases/00100002/1" ] && [ "${crash_words[-1]:-}" = "$odd/cases/00100002/1/vmcore" ]
ok $? "the printed line, run by a shell, opens that dump, and crash --print's own line is quoted ($(cut -c1-70 <<<"$printed")…)"
"$HOTKDUMP" crash --print 00100001 --root "$ROOT" "${QUICK_SETS[@]}" -- -s >"$TMP/open.out" 2>/dev/null
grep -q "^cd $ROOT/cases/00100001/1 && .* -s .*/vmlinux $ROOT/cases/00100001/1/vmcore\$" "$TMP/open.out"
ok $? "hotkdump crash CASE --root DIR: options after CASE are ours, crash's come after -- ($(cut -c1-60 "$TMP/open.out")…)"
[ -s "$J/hotkdump.log" ]
ok $? "the job's log is in the case folder"

# a second upload on the same case gets the next folder
"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --case 00100001 "$SYNTH/elf" >/dev/null 2>&1
is "$?" 0 "a second dump on the case: exit 0"
is "$(jq -r .state "$ROOT/cases/00100001/2/job.json")" done "it is in 00100001/2, done"

# --- stopped mid-crash: nothing crash started outlives the command -----------------------------
printf 'sys sys\nhang [timeout=600] hang\n' >"$TMP/hang-commands"
export HOTKDUMP_STANDIN_MARKER=quick-cli-$$
"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --set "crash.commands=$TMP/hang-commands" \
	--case 00100004 "$SYNTH/kdump" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null && break; sleep 0.1; done
pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null
ok $? "analyze is held in crash by a command that never answers"
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "TERM: analyze dies of it (128 + 15)"
for _ in $(seq 50); do pgrep -f "$HOTKDUMP_STANDIN_MARKER-sleeper" >/dev/null || break; sleep 0.1; done
is "$(pgrep -fc "$HOTKDUMP_STANDIN_MARKER-sleeper")" 0 "nothing crash started is left running"
unset HOTKDUMP_STANDIN_MARKER

# --- the symbols must be of the dump's build -------------------------------------------------------
make_vmlinux "$TMP/other-vmlinux" 0123456789abcdef0123456789abcdef01234567
"$HOTKDUMP" symbols --root "$TMP/r2" --debug-file "$TMP/other-vmlinux" "$SYNTH/kdump" >"$TMP/s.out" 2>&1
is "$?" 4 "a vmlinux of another build is refused (exit 4)"
grep -q "0123456789abcdef0123456789abcdef01234567" "$TMP/s.out"
ok $? "the refusal names the build-id it found"
[ ! -e "$TMP/r2/symbols/$SYNTH_BUILD_ID/vmlinux" ]
ok $? "nothing is left in the cache under the dump's build-id"

# --- bad input: named, the right status, nothing partial ---------------------------------------
head -c 8000 "$SYNTH/kdump-zlib" >"$TMP/truncated.kdump"
"$HOTKDUMP" info "$TMP/truncated.kdump" >"$TMP/t.out" 2>&1
st=$?
[ "$st" -ne 0 ]
ok $? "info on a truncated dump: non-zero exit ($st)"
grep -q "truncated.kdump" "$TMP/t.out"
ok $? "the error names the file"

head -c 4096 /dev/urandom >"$TMP/noise.bin"
tar -C "$TMP" -czf "$TMP/nodump.tar.gz" noise.bin
"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --case 00100002 "$TMP/nodump.tar.gz" >"$TMP/n.out" 2>&1
is "$?" 3 "a tarball with no dump in it: exit 3 (refused)"
grep -q "nodump.tar.gz: no kernel dump in the upload" "$TMP/n.out"
ok $? "the error names the upload and says there is no dump in it"

"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --case '../../etc' "$SYNTH/kdump" >"$TMP/c.out" 2>&1
is "$?" 3 "an invalid case number: exit 3 (refused)"
[ ! -e "$ROOT/etc" ] && [ ! -e "$ROOT/../etc" ]
ok $? "nothing is made outside the case tree"

python3 - "$TMP/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"x" * 16
    info = tarfile.TarInfo("../../escaped")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
PY
"$HOTKDUMP" analyze --root "$ROOT" "${QUICK_SETS[@]}" --case 00100003 "$TMP/evil.tar" >"$TMP/e.out" 2>&1
is "$?" 3 "an archive entry that climbs out of the folder: exit 3"
[ -z "$(find "$ROOT" -name escaped)" ]
ok $? "the entry is written nowhere"

# --- the conventions of a command line ------------------------------------------------------------
for prog in "$HOTKDUMP" "$TOP_BUILDDIR/hotkdumpd"; do
	name=$(basename "$prog")
	is "$("$prog" --version)" "$name $(sed -n 's/^AC_INIT(\[hotkdump\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")" \
		"$name --version prints its name and configure.ac's version"
done
is "$("$HOTKDUMP" -V)" "$("$HOTKDUMP" --version)" "hotkdump -V is --version"
"$HOTKDUMP" analyze --bogus >"$TMP/u.out" 2>&1
is "$?" 2 "an unknown option: exit 2"
is "$(cat "$TMP/u.out")" "hotkdump analyze: unrecognized option '--bogus'
Try 'hotkdump analyze --help' for more information." "getopt's message names the command, then one line points to --help"
"$TOP_BUILDDIR/hotkdumpd" --bogus >"$TMP/u.out" 2>&1
is "$?" 2 "hotkdumpd with an unknown option: exit 2"
is "$(tail -n 1 "$TMP/u.out")" "Try 'hotkdumpd --help' for more information." "hotkdumpd points to --help too"
"$HOTKDUMP" nosuch >"$TMP/u.out" 2>&1
is "$?" 2 "an unknown command: exit 2"
grep -q "unknown command 'nosuch'" "$TMP/u.out" && [ "$(wc -l <"$TMP/u.out")" -eq 2 ]
ok $? "an unknown command is named, in two lines, not the whole usage"
"$HOTKDUMP" config --help >"$TMP/u.out" 2>&1
is "$?" 0 "config --help: exit 0"
grep -q "Usage: hotkdump config" "$TMP/u.out"
ok $? "config --help prints its usage"
"$HOTKDUMP" purge --dry-run --root relative/root >"$TMP/u.out" 2>&1
is "$?" 2 "a relative root: exit 2"
grep -q "root: 'relative/root' is not an absolute path" "$TMP/u.out"
ok $? "a relative root is refused with the reason"
"$HOTKDUMP" purge --dry-run --set 'root="/tmp/x y"' >"$TMP/u.out" 2>&1
is "$?" 2 "a quoted root: exit 2"
grep -q 'root: "/tmp/x y" is quoted' "$TMP/u.out"
ok $? "a quoted root is refused with the reason"
printf 'root = "%s"\n' "$TMP/quoted" >"$TMP/quoted.conf"
"$HOTKDUMP" purge --dry-run --config "$TMP/quoted.conf" >"$TMP/u.out" 2>&1
is "$?" 2 "a quoted root in the config file: exit 2"
[ ! -e "\"$TMP" ] && [ ! -e "$TMP/quoted" ]
ok $? "and no folder is made"

# --- config --effective: the settings in force, readable back -----------------------------------
printf 'daemon.workers = 5\nroot = %s\n' "$TMP/eroot" >"$TMP/eff-in.conf"
"$HOTKDUMP" config --effective --config "$TMP/eff-in.conf" --set daemon.job_timeout=90m >"$TMP/eff.conf" 2>"$TMP/eff.err"
is "$?" 0 "config --effective: exit 0"
is "$(grep -c '^[a-z_.]* = ' "$TMP/eff.conf")" "$("$HOTKDUMP" config | grep -c '^#[a-z_.]* = ')" "config --effective: one line per setting"
is "$(grep -A1 '^# default: 2$' "$TMP/eff.conf" | tail -n 1)" "daemon.workers = 5" "... the file's value, its default on the line before"
is "$(grep -A1 '^# default: 6h$' "$TMP/eff.conf" | tail -n 1)" "daemon.job_timeout = 90m" "... --set over the file, a duration in its unit"
grep -qx "root = $TMP/eroot" "$TMP/eff.conf" && grep -qx "fetch.max_bytes = 64G" "$TMP/eff.conf"
ok $? "... and the defaults as they are"
"$HOTKDUMP" config --effective --config "$TMP/eff.conf" | cmp -s - "$TMP/eff.conf"
ok $? "config --effective's output read back as a settings file gives the same settings"
"$HOTKDUMP" config --set daemon.workers=3 >"$TMP/u.out" 2>&1
is "$?" 2 "config --set without --effective: exit 2, with the reason"

done_testing
