# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The quick tier's dumps and symbols: synthetic dumps of tests/unit/synth.c, a vmlinux with
# their build-id, the stand-in crash. Sourced after lib.sh.

SYNTH=$TMP/synth
ROOT=$TMP/root
SYNTH_RELEASE=6.1.0-99-synth-amd64
SYNTH_BUILD_ID=4f1c0a77d2e9c5b8a3f60e1d9b7c2a4e5f6a7b8c
QUICK_SETS=(--set symbols.sources=cache --set "crash.binary=$TOP_SRCDIR/tests/e2e/standin-crash"
	--set "crash.commands=$TOP_SRCDIR/etc/crash-commands")

# make_vmlinux OUT BUILD-ID: a small static ELF with debug info and that GNU build-id, which is
# all the symbol check reads of a vmlinux.
make_vmlinux() {
	printf 'int hotkdump_quick_kernel = 1;\nvoid _start(void) {}\n' >"$TMP/vmlinux.c"
	${CC:-cc} -g -nostdlib -static -Wl,--build-id=0x"$2" -o "$1" "$TMP/vmlinux.c" ||
		bail "cannot link a vmlinux stand-in"
}

# make_synth_dumps: $SYNTH/{kdump,kdump-zlib,elf,flat,gzip}, and their symbols in ROOT's cache.
make_synth_dumps() {
	local kind
	mkdir -p "$SYNTH"
	for kind in kdump kdump-zlib elf flat gzip; do
		"$TOP_BUILDDIR/tests/e2e/quick/mkdump" "$kind" "$SYNTH/$kind" || bail "mkdump $kind failed"
	done
	make_vmlinux "$TMP/vmlinux" "$SYNTH_BUILD_ID"
	"$HOTKDUMP" symbols --root "$ROOT" --debug-file "$TMP/vmlinux" "$SYNTH/kdump" >"$TMP/seed.out" 2>&1 ||
		{ sed 's/^/# /' "$TMP/seed.out"; bail "the symbol cache cannot be seeded"; }
}

# start_slow_server DIR: a real HTTP server on loopback serving DIR's files with their length at
# 256 KiB a second; sets WWW_PID and WWW_PORT, once it listens.
start_slow_server() {
	WWW_PORT=$(free_port)
	python3 - "$1" "$WWW_PORT" >"$TMP/www.log" 2>&1 <<'EOF' &
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = os.path.join(root, os.path.basename(self.path))
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(0, len(data), 32768):
            self.wfile.write(data[i:i + 32768])
            self.wfile.flush()
            time.sleep(0.125)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Slow).serve_forever()
EOF
	WWW_PID=$!
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$WWW_PORT") 2>/dev/null && return 0; sleep 0.1; done
	bail "the slow HTTP server did not start"
}
