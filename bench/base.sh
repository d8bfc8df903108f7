# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared by every benchmark, fixtures or not: timing, loopback ports and a hotkdumpd to measure.

top=$(cd "$(dirname "$0")/.." && pwd)

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }

# report NAME-A SECONDS-A NAME-B SECONDS-B
report() {
	printf '%-40s %8.2f s\n' "$1" "$2"
	printf '%-40s %8.2f s\n' "$3" "$4"
	printf '%-40s %8.2fx\n' "ratio ($3 / $1)" "$(echo "$4 / $2" | bc -l)"
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts connections on it (5 s at most).
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$(basename "$0"): nothing listens on port $1" >&2
	return 1
}

# start_nginx DIR DOCROOT [RATE]: one nginx process on a free loopback port serving DOCROOT,
# limit_rate RATE per connection (none by default), its files in DIR; sets NGINX_PID and
# NGINX_PORT.
start_nginx() {
	mkdir -p "$1"
	NGINX_PORT=$(free_port)
	cat >"$1/nginx.conf" <<CONF
daemon off;
master_process off;
pid $1/nginx.pid;
error_log $1/error.log;
events {}
http {
	access_log off;
	client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
	server { listen 127.0.0.1:$NGINX_PORT; root $2; location / { limit_rate ${3:-0}; } }
}
CONF
	nginx -c "$1/nginx.conf" -p "$1" &
	NGINX_PID=$!
	wait_port "$NGINX_PORT"
}

# start_hotkdumpd ROOT ARGS…: hotkdumpd on an ephemeral loopback port, its log in ROOT.log; sets
# HKD_PID and API (its base URL). ROOT's parent is the benchmark's temp folder.
start_hotkdumpd() {
	local root=$1 hkd=${HOTKDUMPD:-$top/build/hotkdumpd}
	shift
	[ -x "$hkd" ] || { echo "$(basename "$0"): no binary at $hkd (run scripts/build)" >&2; exit 1; }
	# its uploads come from loopback, which fetch.deny refuses by default
	"$hkd" --root "$root" --set daemon.listen=127.0.0.1:0 --port-file "$root.port" --set "fetch.deny=link-local unspecified" \
		"$@" >>"$root.log" 2>&1 &
	HKD_PID=$!
	for _ in $(seq 100); do
		if [ -s "$root.port" ]; then
			API=http://127.0.0.1:$(cat "$root.port")
			return 0
		fi
		kill -0 "$HKD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$root.log" >&2
	echo "$(basename "$0"): hotkdumpd did not start" >&2
	exit 1
}

# stop PID…: TERM, and wait for each that is still there (whatever its exit status: under set -e
# in an EXIT trap, a failed wait would skip the clean-up after it).
stop() {
	local p
	for p in "$@"; do
		if [ -n "$p" ] && kill "$p" 2>/dev/null; then
			wait "$p" 2>/dev/null || true
		fi
	done
}
