#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The layout's rules (ARCHITECTURE.md), checked on the sources: common/ includes nothing outside
# common/; only daemon/ includes a daemon header; no include cycle between modules (a module is
# a .c and its .h); job.json is read only through casefolder/'s getters, and the case folder's
# file names are spelled only there.
. "$(dirname "$0")/e2e/lib.sh"
cd "$TOP_SRCDIR" || bail "no source tree"

sources=$(find casefolder cli common daemon hooks pipeline retention watcher -name '*.[ch]' | sort)
[ -n "$sources" ]
ok $? "the source folders are there ($(wc -w <<<"$sources") files)"

# FILE INCLUDED-HEADER, one line per project include
includes() {
	local f
	for f in $sources; do
		sed -n 's/^#include "\([a-z/_-]*\.h\)".*/\1/p' "$f" | sed "s|^|$f |"
	done
}
includes >"$TMP/includes"
[ -s "$TMP/includes" ]
ok $? "the includes are read ($(wc -l <"$TMP/includes") of them)"

bad=$(awk '$1 ~ /^common\// && $2 !~ /^common\// && $2 != "config.h"' "$TMP/includes")
[ -z "$bad" ]
ok $? "common/ includes nothing outside common/"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

bad=$(awk '$1 !~ /^daemon\// && $2 ~ /^daemon\//' "$TMP/includes")
[ -z "$bad" ]
ok $? "no file outside daemon/ includes a daemon header"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# module-level cycles: foo.c and foo.h are one module; an edge for each include of another's header
cycles=$(awk '{ a = $1; b = $2; sub(/\.[ch]$/, "", a); sub(/\.h$/, "", b); if (a != b) print a, b }' "$TMP/includes" |
	sort -u | python3 -c '
import sys
edges = {}
for line in sys.stdin:
    a, b = line.split()
    edges.setdefault(a, set()).add(b)
state, found = {}, []
def visit(n, path):
    state[n] = 1
    for m in sorted(edges.get(n, ())):
        if state.get(m) == 1:
            found.append(" -> ".join(path[path.index(m):] + [m]))
        elif m not in state:
            visit(m, path + [m])
    state[n] = 2
for n in sorted(edges):
    if n not in state:
        visit(n, [n])
print("\n".join(found))')
[ -z "$cycles" ]
ok $? "no include cycle between modules"
[ -z "$cycles" ] || sed 's/^/#   /' <<<"$cycles"

outside=$(grep -v '^casefolder/' <<<"$sources")
# shellcheck disable=SC2086
bad=$(grep -nE '"(job|posted)\.json"|"hotkdump\.log"' $outside)
[ -z "$bad" ]
ok $? "the case folder's record files are named only in casefolder/"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# a job record (rec, job_record(j)) is read with job_record_get/_string/_int, never by key
# shellcheck disable=SC2086
bad=$(grep -nE 'json_(get|str|str_or|int|path|path_text)\((rec|record|job_record\([a-z]+\))\s*,|json_object_object_(get_ex|add|del)\((rec|record|job_record\([a-z]+\))\s*, *"' $outside)
[ -z "$bad" ]
ok $? "job.json's fields are read and written outside casefolder/ only through its getters"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# the job states, as job.json spells them, only in casefolder/record.c
# shellcheck disable=SC2086
bad=$(grep -nE 'strcmp\((job_state|job_record_string\([^)]*JOB_STATE)|"(running|incomplete)" *\)? *[=!]= *job_' $outside)
[ -z "$bad" ]
ok $? "a job's state is compared as enum job_state, not as a string"
[ -z "$bad" ] || sed 's/^/#   /' <<<"$bad"

# every file of code (sources, scripts, build files, templates) says its licence, LICENSE's
if [ -e .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
	missing=
	for f in $(git ls-files | grep -vE '\.(json|tsv|txt|md)$|^LICENSE$|^etc/hotkdump\.conf$|^debian/(changelog|control|copyright|source/format)$'); do
		[ -f "$f" ] || continue
		head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-3.0-or-later' || missing="$missing $f"
	done
	[ -z "$missing" ]
	ok $? "every file of code has an SPDX-License-Identifier line (GPL-3.0-or-later)"
	[ -z "$missing" ] || tr ' ' '\n' <<<"$missing" | sed '/^$/d; s/^/#   /'
else
	skip "not a git checkout: the licence lines are checked on one"
fi
grep -q 'GNU GENERAL PUBLIC LICENSE' LICENSE && grep -q 'Version 3, 29 June 2007' LICENSE
ok $? "LICENSE is the GPL, version 3"

done_testing
