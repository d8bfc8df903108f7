#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# report.html leads with what matters for its cause, on real dumps of three causes analysed with
# the real crash, rendered in headless Chromium (screenshots kept in
# tests/e2e/screenshots/report-CAUSE.png of the build) and read through its DOM:
#   - OOM: the memory panel comes before the findings and its figures are those of `kmem -i`;
#   - hung task: the blocked tasks come before the findings, and the comment shows the blocked
#     task's backtrace, not khungtaskd's;
#   - NULL dereference: no memory panel up front, and no memory line in the comment;
#   - all: the task-state counts are those of `ps`, the kernel log before the panic is folded
#     and the panic region open, stage timings are there, number columns align right.
. "$(dirname "$0")/lib.sh"

load_fixtures
load_debug_package
load_crash
shots=$TOP_BUILDDIR/tests/e2e/screenshots
mkdir -p "$shots"
args=(--set "crash.binary=$CRASH" --set "crash.commands=$TOP_SRCDIR/etc/crash-commands" --set symbols.sources=cache)

# seed the symbol cache once from the fixtures' debug package
"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$DEB" "$(fixture_of sysrq kdump-compressed)" \
	>"$TMP/seed.out" 2>&1 || { sed 's/^/# /' "$TMP/seed.out"; bail "the symbol cache cannot be seeded"; }

browser() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chromium" "$@" 2>>"$TMP/chromium.log"
}
# dom DOM-FILE QUERY…: what the page's DOM says (tests/e2e/dom.py)
dom() { python3 "$TOP_SRCDIR/tests/e2e/dom.py" "$@"; }
cmd_file() { # cmd_file DIR NAME: the output file of a command of the set
	echo "$1/crash/$(jq -r --arg n "$2" '.crash.commands[] | select(.name == $n) | .file' "$1/job.json")"
}

check_common() { # check_common LABEL DIR DOM
	local label=$1 d=$2 domf=$3 want got
	# the task states, counted here from crash's own ps
	want=$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ST") c = i; next }
		c { sub(/^>/, ""); $0 = $0; if ($c ~ /^[A-Z][A-Z]$/) n[$c]++ }
		END { for (s in n) print s "=" n[s] }' "$(cmd_file "$d" ps)" | sort | paste -sd' ')
	got=$(dom "$domf" states)
	is "$got" "$want" "$label: the task states in the page are ps's"
	is "$(dom "$domf" has log-before):$(dom "$domf" attr log-before open):$(dom "$domf" attr log open)" "yes::" \
		"$label: the log before the panic is folded, the panic region open"
	grep -q 'id="panic"' "$domf"
	ok $? "$label: the panic region is marked"
	is "$(dom "$domf" has stages)" yes "$label: the stages' timings are shown"
	grep -q '<th class="num">PID</th>\|<th class="num">Tasks</th>' "$domf"
	ok $? "$label: number columns have right-aligned headers"
}

run_cause() { # run_cause CAUSE CASE: analyses the fixture; sets D and DOMF
	local dump
	dump=$(fixture_of "$1" kdump-compressed)
	timeout 1200 "$HOTKDUMP" analyze --root "$ROOT" "${args[@]}" --case "$2" "$dump" >"$TMP/out" 2>"$TMP/err"
	ok $? "$1: analyze finishes"
	D=$ROOT/cases/$2/1
	browser --window-size=1280,2400 --screenshot="$shots/report-$1.png" "file://$D/report.html" >/dev/null
	file "$shots/report-$1.png" | grep -q "PNG image data, 1280 x 2400"
	ok $? "$1: Chromium renders it ($shots/report-$1.png)"
	DOMF=$TMP/$1.dom.html
	browser --dump-dom "file://$D/report.html" >"$DOMF"
}

# --- OOM -------------------------------------------------------------------------------------------
run_cause oom 00345901
grep -qi "out of memory\|oom" <<<"$(dom "$DOMF" text headline)"
ok $? "oom: the headline says OOM"
is "$(dom "$DOMF" before memory findings)" yes "oom: the memory panel comes before the findings"
kmem=$(cmd_file "$D" kmem-i)
read -r total free used cached buffers limit committed < <(awk '
	/^ *TOTAL MEM / { t = $3 } /^ *FREE / { f = $2 } /^ *USED / { u = $2 } /^ *CACHED / { c = $2 }
	/^ *BUFFERS / { b = $2 } /^ *COMMIT LIMIT / { l = $3 } /^ *COMMITTED / { m = $2 }
	END { print t, f, u, c, b, l, m }' "$kmem")
echo "# kmem -i: total $total free $free used $used cached $cached buffers $buffers limit $limit committed $committed"
is "$(dom "$DOMF" text mem-used)" "$(awk -v u="$used" -v t="$total" 'BEGIN { printf "%.0f%%", 100 * u / t }')" \
	"oom: the panel's used share is kmem -i's"
is "$(dom "$DOMF" text mem-free)" "$(awk -v f="$free" -v t="$total" 'BEGIN { printf "%.0f%%", 100 * f / t }')" \
	"oom: its free share is kmem -i's"
is "$(dom "$DOMF" text mem-cache)" "$(awk -v c="$cached" -v b="$buffers" -v t="$total" 'BEGIN { printf "%.0f%%", 100 * (c + b) / t }')" \
	"oom: its cache share is kmem -i's"
is "$(dom "$DOMF" text mem-commit)" "$(awk -v m="$committed" -v l="$limit" 'BEGIN { printf "%.0f%% of the commit limit", 100 * m / l }')" \
	"oom: its commit ratio is kmem -i's"
is "$(dom "$DOMF" attr memory data-total)" "$total" "oom: the panel carries kmem -i's page counts"
grep -q '^Memory:  largest user' "$D/comment.txt"
ok $? "oom: the comment names the largest memory user"
check_common oom "$D" "$DOMF"

# --- hung task ---------------------------------------------------------------------------------------
run_cause hungtask 00345902
grep -qi "hung\|blocked" <<<"$(dom "$DOMF" text headline)"
ok $? "hungtask: the headline says a task hung"
is "$(dom "$DOMF" before blocked findings)" yes "hungtask: the blocked tasks come before the findings"
blocked=$(jq -r '.crash.blocked[0].comm' "$D/job.json")
grep -q "^Backtrace of the longest-blocked task, $blocked (PID [0-9]*):" "$D/comment.txt"
ok $? "hungtask: the comment shows the blocked task's backtrace ($blocked)"
! sed -n '/^Backtrace/,/^$/p' "$D/comment.txt" | grep -q 'COMMAND: "khungtaskd"'
ok $? "hungtask: not khungtaskd's"
! grep -q '^Memory:' "$D/comment.txt"
ok $? "hungtask: no memory line in the comment (it does not bear on a hang)"
check_common hungtask "$D" "$DOMF"

# --- NULL dereference -----------------------------------------------------------------------------
run_cause nullderef 00345903
grep -qi "null" <<<"$(dom "$DOMF" text headline)"
ok $? "nullderef: the headline says NULL pointer"
is "$(dom "$DOMF" before memory findings)" no "nullderef: no memory panel before the findings"
! grep -q '^Memory:' "$D/comment.txt"
ok $? "nullderef: no memory line in the comment"
check_common nullderef "$D" "$DOMF"

done_testing
