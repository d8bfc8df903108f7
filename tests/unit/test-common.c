/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the shared pieces: the config table, the subprocess runner (capture,
 * exit status, timeout that takes the whole process group), and atomic file replacement. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/magic.h"
#include "common/netpolicy.h"
#include "common/shown.h"
#include "common/subprocess.h"
#include "tests/tap.h"

static void test_config(void) {
        struct config *c;
        char err[256];

        tap_is_int(config_new(&c), 0, "config: defaults load");
        tap_is_str(config_string(c, CONF_ROOT), HOTKDUMP_STATEDIR, "config: root default: the configured state folder");
        tap_ok(config_u64(c, CONF_FETCH_MAX_BYTES) == (UINT64_C(64) << 30), "config: 64G parses as bytes");
        tap_is_int(config_set(c, "fetch.max_bytes", "512M", err, sizeof err), 0, "config: set a size");
        tap_ok(config_u64(c, CONF_FETCH_MAX_BYTES) == (UINT64_C(512) << 20), "config: 512M");
        tap_is_int(config_set(c, "fetch.stall_timeout", "2m", err, sizeof err), 0, "config: set a duration");
        tap_is_int(config_u64(c, CONF_FETCH_STALL_TIMEOUT), 120, "config: 2m is 120 s");
        tap_is_int(config_set(c, "fetch.retries", "1000", err, sizeof err), -ERANGE, "config: out of range refused");
        tap_ok(strstr(err, "out of range") != NULL, "config: says out of range (%s)", err);
        tap_is_int(config_set(c, "fetch.retries", "many", err, sizeof err), -EINVAL, "config: not a number refused");
        tap_is_int(config_set(c, "no.such.key", "1", err, sizeof err), -ENOENT, "config: unknown key refused");
        tap_is_int(config_set(c, "keep_input", "maybe", err, sizeof err), -EINVAL, "config: bad bool refused");
        tap_is_int(config_set(c, "keep_input", "yes", err, sizeof err), 0, "config: bool");
        tap_ok(config_bool(c, CONF_KEEP_INPUT), "config: keep_input is on");

        char path[] = "/tmp/hotkdump-conf-XXXXXX";
        int fd = mkstemp(path);
        dprintf(fd, "# comment\n\nroot = /srv/hk\nunpack.max_entries=  42  \n");
        close(fd);
        tap_is_int(config_load_file(c, path, err, sizeof err), 0, "config: file loads");
        tap_is_str(config_string(c, CONF_ROOT), "/srv/hk", "config: root from file");
        tap_is_int(config_u64(c, CONF_UNPACK_MAX_ENTRIES), 42, "config: spaces around values");
        fd = open(path, O_WRONLY | O_TRUNC);
        dprintf(fd, "root = /x\nunpack.max_ratio = 0\n");
        close(fd);
        tap_ok(config_load_file(c, path, err, sizeof err) < 0 && strstr(err, ":2:") && strstr(err, "unpack.max_ratio"),
               "config: a bad line names file, line and key (%s)", err);
        unlink(path);
        config_free(c);
}

/* Alive means running or sleeping: a killed orphan may linger as a zombie until init reaps it. */
static bool process_alive(int pid) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return false;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void test_subprocess(void) {
        struct subprocess_result res;
        const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        struct subprocess_opts o = { .argv = echo, .stdin_fd = -1, .stdout_fd = -1 };

        tap_is_int(subprocess_run(&o, &res), 0, "subprocess: runs");
        tap_is_int(res.status, 3, "subprocess: exit status");
        tap_is_str(res.out, "out\n", "subprocess: stdout captured");
        tap_is_str(res.err, "err\n", "subprocess: stderr captured");
        subprocess_result_clear(&res);

        const char *missing[] = { "/nonexistent/program", NULL };
        o.argv = missing;
        tap_is_int(subprocess_run(&o, &res), 0, "subprocess: a missing program still runs the child");
        tap_is_int(res.status, 127, "subprocess: missing program is 127, as a shell says");
        subprocess_result_clear(&res);

        /* a child that ignores SIGTERM and leaves a grandchild: both must go */
        char pidfile[] = "/tmp/hotkdump-grandchild-XXXXXX";
        close(mkstemp(pidfile));
        char script[512];
        snprintf(script, sizeof script, "trap '' TERM; sleep 300 & echo $! > %s; wait", pidfile);
        const char *hang[] = { "sh", "-c", script, NULL };
        o.argv = hang;
        o.timeout_ms = 300;
        o.kill_grace_ms = 300;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tap_is_int(subprocess_run(&o, &res), 0, "subprocess: timed-out command returns");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        tap_ok(res.timed_out, "subprocess: timed out");
        tap_is_int(res.status, 128 + SIGKILL, "subprocess: killed after ignoring SIGTERM");
        tap_ok(t1.tv_sec - t0.tv_sec < 5, "subprocess: within the timeout and grace");
        FILE *f = fopen(pidfile, "r");
        int gc = 0;
        if (f) {
                if (fscanf(f, "%d", &gc) != 1)
                        gc = 0;
                fclose(f);
        }
        usleep(200000);
        tap_ok(gc > 0 && !process_alive(gc), "subprocess: the grandchild died with the group");
        unlink(pidfile);
        subprocess_result_clear(&res);

        /* a descendant that leaves the group and keeps the pipes open does not hold us */
        const char *escape[] = { "sh", "-c", "setsid sleep 30 & echo started", NULL };
        o = (struct subprocess_opts) { .argv = escape, .stdin_fd = -1, .stdout_fd = -1 };
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tap_is_int(subprocess_run(&o, &res), 0, "subprocess: escaped descendant");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        tap_ok(t1.tv_sec - t0.tv_sec < 5, "subprocess: returns when the command exits, not when the descendant does");
        tap_is_str(res.out, "started\n", "subprocess: output before the exit kept");
        subprocess_result_clear(&res);

        /* more output than kept: counted, not kept */
        const char *lots[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x", NULL };
        o = (struct subprocess_opts) { .argv = lots, .stdin_fd = -1, .stdout_fd = -1, .capture_max = 1000 };
        tap_is_int(subprocess_run(&o, &res), 0, "subprocess: large output");
        tap_ok(res.out_len == 1000 && res.dropped == 299000, "subprocess: kept 1000, dropped the rest");
        subprocess_result_clear(&res);

        char line[256];
        const char *q[] = { "crash", "-s", "it's here", "a b", NULL };
        subprocess_format_argv(q, line, sizeof line);
        tap_is_str(line, "crash -s 'it'\\''s here' 'a b'", "subprocess: argv quoted for a shell");
}

/* A process that starts, with or without a guard, a command that replaces its parent-death
 * signal by one it ignores (as crash does, with a handler that can hang), and is then killed:
 * returns the command's pid, or -1. */
static int orphan_after_kill(bool guard, const char *pidfile) {
        int ready[2];
        if (truncate(pidfile, 0) < 0 || pipe(ready) < 0)
                return -1;
        pid_t middle = fork();
        if (middle == 0) {
                char script[512];
                snprintf(script, sizeof script, "trap '' USR2; echo $$ > %s; exec setpriv --pdeathsig USR2 sleep 300",
                         pidfile);
                const char *argv[] = { "sh", "-c", script, NULL };
                struct subprocess_opts o = { .argv = argv, .guard = guard };
                struct subprocess p;
                if (subprocess_spawn(&o, &p) < 0)
                        _exit(1);
                if (write(ready[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        close(ready[1]);
        char c;
        bool started = read(ready[0], &c, 1) == 1;
        close(ready[0]);
        int pid = 0;
        /* the command has its own parent-death signal once it is sleep */
        for (int i = 0; started && i < 500; i++) {
                char path[64], comm[32] = "";
                FILE *f = fopen(pidfile, "r");
                if (f) {
                        if (fscanf(f, "%d", &pid) != 1)
                                pid = 0;
                        fclose(f);
                }
                snprintf(path, sizeof path, "/proc/%d/comm", pid);
                if (pid > 0 && (f = fopen(path, "r"))) {
                        if (!fgets(comm, sizeof comm, f))
                                comm[0] = 0;
                        fclose(f);
                }
                if (!strcmp(comm, "sleep\n") && process_alive(pid))
                        break;
                pid = 0;
                usleep(10000);
        }
        kill(middle, SIGKILL);
        waitpid(middle, NULL, 0);
        return pid > 0 ? pid : -1;
}

static bool gone_within(int pid, int ms) {
        for (int i = 0; i < ms / 10; i++) {
                if (!process_alive(pid))
                        return true;
                usleep(10000);
        }
        return !process_alive(pid);
}

static void test_guard(void) {
        struct subprocess_result res;
        const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        struct subprocess_opts o = { .argv = echo, .stdin_fd = -1, .stdout_fd = -1, .guard = true };
        tap_is_int(subprocess_run(&o, &res), 0, "guard: runs");
        tap_is_int(res.status, 3, "guard: the command's exit status");
        tap_ok(res.out && !strcmp(res.out, "out\n") && res.err && !strcmp(res.err, "err\n"), "guard: its output captured");
        subprocess_result_clear(&res);

        const char *segv[] = { "sh", "-c", "kill -SEGV $$", NULL };
        o.argv = segv;
        tap_is_int(subprocess_run(&o, &res), 0, "guard: a command killed by a signal");
        tap_is_int(res.status, 128 + SIGSEGV, "guard: its signal, as a shell says");
        subprocess_result_clear(&res);

        /* a timeout's SIGTERM to the group reaches the command, not just the guard */
        const char *term[] = { "sh", "-c", "trap 'echo bye; exit 7' TERM; while :; do sleep 0.05; done", NULL };
        o = (struct subprocess_opts) { .argv = term, .stdin_fd = -1, .stdout_fd = -1, .guard = true, .timeout_ms = 300 };
        tap_is_int(subprocess_run(&o, &res), 0, "guard: a command that times out");
        tap_ok(res.timed_out && res.status == 7 && res.out && !strcmp(res.out, "bye\n"),
               "guard: the command handled the timeout's SIGTERM and its exit was waited for");
        subprocess_result_clear(&res);

        /* a conversation: stdin reaches it, its end is seen */
        const char *rd[] = { "sh", "-c", "read x; echo got $x; read y || echo eof", NULL };
        o = (struct subprocess_opts) { .argv = rd, .guard = true };
        struct subprocess p;
        tap_is_int(subprocess_spawn(&o, &p), 0, "guard: spawns");
        bool wrote = write(p.in_fd, "hi\n", 3) == 3;
        close(p.in_fd);
        p.in_fd = -1;
        char out[64] = "";
        size_t got = 0;
        ssize_t n;
        while (got < sizeof out - 1 && (n = read(p.out_fd, out + got, sizeof out - 1 - got)) > 0)
                got += (size_t) n;
        out[got] = 0;
        tap_ok(wrote && !strcmp(out, "got hi\neof\n"), "guard: stdin reaches the command and closing it is seen");
        tap_is_int(subprocess_finish(&p, 5000), 0, "guard: finish gives its exit status");

        char pidfile[] = "/tmp/hotkdump-orphan-XXXXXX";
        close(mkstemp(pidfile));
        int pid = orphan_after_kill(false, pidfile);
        tap_ok(pid > 0 && !gone_within(pid, 1000),
               "without a guard, a command that replaced its parent-death signal outlives its killed parent");
        if (pid > 0)
                kill(pid, SIGKILL);
        pid = orphan_after_kill(true, pidfile);
        tap_ok(pid > 0 && gone_within(pid, 5000), "with a guard, it dies with its killed parent");
        if (pid > 0)
                kill(pid, SIGKILL);
        unlink(pidfile);
}

static void test_clock_utc(void) {
        char buf[40];
        int64_t t = 0;
        clock_format_utc(1790000000, true, buf, sizeof buf);
        tap_is_str(buf, "2026-09-21T14:13:20Z", "utc: ISO 8601");
        clock_format_utc(1790000000, false, buf, sizeof buf);
        tap_is_str(buf, "2026-09-21 14:13:20 UTC", "utc: for a person");
        tap_ok(clock_parse_utc("2026-09-21T14:13:20Z", &t) == 0 && t == 1790000000, "utc: read back");
        tap_ok(clock_parse_utc("2026-09-21T14:13:20.123Z", &t) == 0 && t == 1790000000, "utc: fractions ignored");
        tap_ok(clock_parse_utc("1790000000", &t) == 0 && t == 1790000000, "utc: seconds, as older records have them");
        tap_ok(clock_parse_utc("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "utc: the epoch");
        tap_ok(clock_parse_utc("2000-02-29T00:00:00Z", &t) == 0 && t == 951782400, "utc: a leap day");
        tap_ok(clock_parse_utc("2026-13-01T00:00:00Z", &t) < 0, "utc: month 13 refused");
        tap_ok(clock_parse_utc("2026-09-21T14:13:20+02:00", &t) < 0, "utc: only UTC");
        tap_ok(clock_parse_utc("", &t) < 0 && clock_parse_utc("soon", &t) < 0, "utc: not a time");
}

static void test_fileio(void) {
        char dir[] = "/tmp/hotkdump-fileio-XXXXXX", path[512];
        struct stat st;
        tap_ok(mkdtemp(dir) != NULL, "fileio: temp folder");
        tap_is_int(write_file_atomic(dir, "a.json", "{}", 2), 0, "fileio: atomic write");
        snprintf(path, sizeof path, "%s/a.json", dir);
        tap_ok(stat(path, &st) == 0 && st.st_size == 2, "fileio: file in place");
        tap_is_int(write_file_atomic(dir, "a.json", "[1]", 3), 0, "fileio: atomic replace");
        tap_ok(stat(path, &st) == 0 && st.st_size == 3, "fileio: replaced");
        snprintf(path, sizeof path, "%s/x/y/z", dir);
        tap_is_int(mkdir_parents(path), 0, "fileio: mkdir -p");
        tap_is_int(mkdir_parents(path), 0, "fileio: mkdir -p again is fine");
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        tap_ok(system(path) == 0, "fileio: clean up");
}

static void test_magic(void) {
        unsigned char h[512] = { 0 };
        const char *name = "x";
        tap_is_int(magic_kind(h, sizeof h, &name), MAGIC_NONE, "magic: zeros are nothing known");
        tap_ok(name == NULL, "magic: … and have no name");
        tap_is_int(magic_kind(NULL, 0, NULL), MAGIC_NONE, "magic: no bytes");
        memcpy(h, "BZh9", 4);
        tap_is_int(magic_kind(h, 4, &name), MAGIC_COMPRESSED, "magic: bzip2 with its block size");
        tap_is_str(name, "bzip2", "magic: named bzip2");
        tap_is_int(magic_kind(h, 3, NULL), MAGIC_NONE, "magic: bzip2 cut before its block size");
        h[3] = 'x';
        tap_is_int(magic_kind(h, 4, NULL), MAGIC_NONE, "magic: 'BZh' and no digit is no bzip2");
        memset(h, 0, sizeof h);
        memcpy(h + 257, "ustar", 5);
        tap_is_int(magic_kind(h, 262, &name), MAGIC_ARCHIVE, "magic: tar, its signature at 257");
        tap_is_int(magic_kind(h, 261, NULL), MAGIC_NONE, "magic: a tar header cut short");
        memcpy(h, "makedumpfile", 12);
        tap_is_int(magic_kind(h, 12, &name), MAGIC_DUMP, "magic: a flattened dump before a tar signature");
        tap_is_str(name, "flattened", "magic: named flattened");
        memcpy(h, "\x28\xb5\x2f\xfd", 4);
        tap_is_int(magic_kind(h, 4, &name), MAGIC_COMPRESSED, "magic: zstd");
}

static void test_url(void) {
        char out[256];
        static const struct {
                const char *in, *want, *what;
        } cases[] = {
                { "https://user:secret@uploads.example/c/vmcore.tar.gz", "https://***@uploads.example/c/vmcore.tar.gz",
                  "user and password" },
                { "http://token@h:8080/x", "http://***@h:8080/x", "a user name alone (a token)" },
                { "https://b.s3.amazonaws.com/v?X-Amz-Credential=AKIA%2F&X-Amz-Signature=ab12&x",
                  "https://b.s3.amazonaws.com/v?X-Amz-Credential=***&X-Amz-Signature=***&x", "a presigned query" },
                { "https://h/p?sig=1#frag", "https://h/p?sig=***", "the fragment dropped" },
                { "https://h/a@b/c", "https://h/a@b/c", "an '@' in the path is no user information" },
                { "https://u:p@w@h/x", "https://***@h/x", "the last '@' of the authority ends it" },
                { "/srv/mirror/00345677/vmcore", "/srv/mirror/00345677/vmcore", "a path is left as it is" },
                { "https://h/plain", "https://h/plain", "a URL without secrets is left as it is" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                tap_is_str(url_redact(cases[i].in, out, sizeof out), cases[i].want, cases[i].what);
        tap_is_str(url_redact_text("downloading 'https://u:p@h/x?k=v' now; see http://h/y", out, sizeof out),
                   "downloading 'https://***@h/x?k=***' now; see http://h/y", "url: every URL of a text");
        tap_is_str(url_redact_text("x:https://u:p@h/ xhttps://u:p@h/", out, sizeof out), "x:https://***@h/ xhttps://***@h/",
                   "url: after a colon, and any scheme of letters");
        tap_is_str(shown_text("a\nb\tc \xff\xc3\xa9 https://u:p@h/", out, sizeof out, true),
                   "a\\x0ab\\x09c \\xff\xc3\xa9 https://***@h/", "shown: one line, invalid UTF-8 escaped, URL redacted");
        tap_is_str(shown_text("a\nb \xc0\xaf \xed\xa0\x80", out, sizeof out, false), "a\nb \\xc0\\xaf \\xed\\xa0\\x80",
                   "shown: a newline kept outside logs; overlong and surrogate forms escaped");
        char small[12];
        tap_is_str(url_redact("https://u:p@host/x", small, sizeof small), "https://***", "url: cut at the buffer's end");
}

static void test_netpolicy(void) {
        struct netpolicy p;
        char err[512], why[256];
        struct sockaddr_in a = { .sin_family = AF_INET };
        struct sockaddr_in6 b = { .sin6_family = AF_INET6 };
        tap_is_int(netpolicy_parse("private 192.0.2.7", "", &p, err, sizeof err), 0, "netpolicy: names and an address");
        inet_pton(AF_INET, "172.31.255.255", &a.sin_addr);
        tap_ok(!netpolicy_allows(&p, (struct sockaddr *) &a, why, sizeof why), "netpolicy: 172.31.255.255 is in 172.16.0.0/12");
        inet_pton(AF_INET, "172.32.0.0", &a.sin_addr);
        tap_ok(netpolicy_allows(&p, (struct sockaddr *) &a, why, sizeof why), "netpolicy: 172.32.0.0 is past it");
        inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
        tap_ok(!netpolicy_allows(&p, (struct sockaddr *) &a, why, sizeof why), "netpolicy: an address alone is a /32");
        inet_pton(AF_INET6, "fd12::1", &b.sin6_addr);
        tap_ok(!netpolicy_allows(&p, (struct sockaddr *) &b, why, sizeof why), "netpolicy: fd12::1 is in fc00::/7");
        inet_pton(AF_INET6, "::ffff:10.1.2.3", &b.sin6_addr);
        tap_ok(!netpolicy_allows(&p, (struct sockaddr *) &b, why, sizeof why), "netpolicy: an IPv4-mapped address as the IPv4 one");
        tap_is_int(netpolicy_parse("", "2001:db8::/32", &p, err, sizeof err), 0, "netpolicy: an allow list");
        inet_pton(AF_INET6, "2001:db9::1", &b.sin6_addr);
        tap_ok(!netpolicy_allows(&p, (struct sockaddr *) &b, why, sizeof why) && strstr(why, "not in fetch.allow"),
               "netpolicy: outside the allow list");
        tap_is_int(netpolicy_parse("10.0.0.0/33", "", &p, err, sizeof err), -EINVAL, "netpolicy: a prefix too long");
        tap_is_int(netpolicy_parse("example.com", "", &p, err, sizeof err), -EINVAL, "netpolicy: a name is not an address");
}

int main(void) {
        test_netpolicy();
        test_url();
        test_config();
        test_magic();
        test_subprocess();
        test_guard();
        test_clock_utc();
        test_fileio();
        return tap_done();
}
