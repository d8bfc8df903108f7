# SPDX-License-Identifier: GPL-3.0-or-later
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
	# not in a pipe: its exit status is the generator's
	FIXTURES=$("$TOP_SRCDIR/tests/fixtures/make-fixtures" 2>"$TMP/make-fixtures.log") ||
		{ sed 's/^/# /' "$TMP/make-fixtures.log"; bail "the fixture generator failed"; }
	FIXTURES=$(tail -n 1 <<<"$FIXTURES")
	MANIFEST=$FIXTURES/manifest.json
	[ -f "$MANIFEST" ] || bail "no manifest in '$FIXTURES'"
}

# load_debug_package: DEB, the fixture kernel's Debian debug package (downloaded once, cached).
load_debug_package() {
	DEB=$("$TOP_SRCDIR/tests/fixtures/debug-package" 2>"$TMP/debug-package.log") ||
		{ sed 's/^/# /' "$TMP/debug-package.log"; bail "no debug package"; }
}

# load_crash: CRASH, the crash binary scripts/build-crash makes (built once, cached).
load_crash() {
	CRASH=$("$TOP_SRCDIR/scripts/build-crash" 2>"$TMP/build-crash.log") ||
		{ sed 's/^/# /' "$TMP/build-crash.log"; bail "no crash: scripts/build-crash failed"; }
	CRASH=$(tail -n 1 <<<"$CRASH")
	[ -x "$CRASH" ] || bail "no crash: scripts/build-crash printed '$CRASH'"
}

# fixture_field INDEX FIELD
fixture_field() {
	jq -r ".fixtures[$1].$2 // empty" "$MANIFEST"
}

# A /var/crash/<stamp>/ folder as kdump-tools leaves it: dump.<stamp> and dmesg.<stamp>.
# make_crash_dir DEST CAUSE
make_crash_dir() {
	local stamp=202611271435 src
	src=$FIXTURES/$(jq -r --arg c "$2" '[.fixtures[] | select(.cause == $c and .format == "kdump-compressed")][0].file' "$MANIFEST")
	mkdir -p "$1/var/crash/$stamp"
	cp "$src" "$1/var/crash/$stamp/dump.$stamp"
	cp "$(dirname "$src")/dmesg.txt" "$1/var/crash/$stamp/dmesg.$stamp"
}

# fixture_of CAUSE FORMAT: path of the first fixture of that cause and manifest format
fixture_of() {
	echo "$FIXTURES/$(jq -r --arg c "$1" --arg f "$2" '[.fixtures[] | select(.cause == $c and .format == $f)][0].file' "$MANIFEST")"
}

# panic_of CAUSE: the panic line the crashed guest printed
panic_of() {
	jq -r --arg c "$1" '[.fixtures[] | select(.cause == $c)][0].panic_line' "$MANIFEST"
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx DOCROOT [RATE [DIRECTIVES]]: a real nginx on loopback serving DOCROOT, one process
# (so that a test can stop it with SIGSTOP), optionally rate-limited, with extra server
# directives. Sets HTTP_PORT and NGINX_PID.
start_nginx() {
	HTTP_PORT=$(free_port)
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $TMP/nginx/access.log;
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
	server {
		listen 127.0.0.1:$HTTP_PORT;
		root $1;
		location / { limit_rate ${2:-0}; ${3:-} }
	}
}
CONF
	nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
	NGINX_PID=$!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	bail "nginx did not start: $(cat "$TMP/nginx/error.log")"
}

stop_nginx() {
	[ -n "${NGINX_PID:-}" ] && kill -CONT "$NGINX_PID" 2>/dev/null && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

# The tests' upload servers listen on loopback, which fetch.deny refuses by default: the tests
# that download from them allow it (ARGS after these can set fetch.deny again).
LOOPBACK_FETCH=(--set "fetch.deny=link-local unspecified")

# analyze ARGS…: runs hotkdump analyze with the test's root; output in $TMP/out, $TMP/err.
# The intake tests stop after the first look (--stop-after first-look) unless ARGS say otherwise.
ROOT=$TMP/root
analyze() {
	local rc stop=(--stop-after first-look)
	case " $* " in *" --stop-after "*) stop=() ;; esac
	timeout 300 "$HOTKDUMP" analyze --root "$ROOT" "${stop[@]}" "${LOOPBACK_FETCH[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# stderr: /' "$TMP/err"
	return $rc
}

# job_field DIR JQ-EXPR
job_field() {
	jq -r "$2 | if . == null then \"\" else tostring end" "$1/job.json"
}

# start_stalling_server: a server on loopback that accepts connections and never answers.
# Sets STALL_PORT and STALL_PID.
start_stalling_server() {
	STALL_PORT=$(free_port)
	python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$STALL_PORT" &
	STALL_PID=$!
	sleep 0.5
}
