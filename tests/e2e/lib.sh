# Shared helpers for the end-to-end tests: TAP output, temp folders, and the real-dump fixtures.
# Sourced by each tests/e2e/*.sh; HOTKDUMP and TOP_SRCDIR come from the test harness.

set -u
: "${HOTKDUMP:?run through make check}"
: "${TOP_SRCDIR:?run through make check}"

tap_n=0
tap_failed=0

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $2"
	fi
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $1"
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

bail() {
	echo "Bail out! $*"
	exit 1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hotkdump-test.XXXXXX") || bail "no temp folder"
trap 'rm -rf "$TMP"' EXIT

# The real dumps: built once per kernel by tests/fixtures/make-fixtures and cached outside the
# tree, so this returns at once after the first run.
load_fixtures() {
	FIXTURES=$("$TOP_SRCDIR/tests/fixtures/make-fixtures" 2>"$TMP/make-fixtures.log" | tail -n 1) ||
		{ sed 's/^/# /' "$TMP/make-fixtures.log"; bail "the fixture generator failed"; }
	MANIFEST=$FIXTURES/manifest.json
	[ -f "$MANIFEST" ] || bail "no manifest in '$FIXTURES'"
}

# fixture_field INDEX FIELD
fixture_field() {
	jq -r ".fixtures[$1].$2 // empty" "$MANIFEST"
}
