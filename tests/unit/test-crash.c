/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for what is read from crash and from its command set: the command-set parser and
 * its errors, the `ps` and `ps -m` tables, the crashing function in a backtrace, and the panic
 * string of `sys`. The texts are in the layout crash 8 prints. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/crash/crash.h"
#include "pipeline/report/report.h"
#include "tests/tap.h"

static int parse(const char *text, struct crash_cmdset *s, char *err, size_t size) {
        return crash_cmdset_parse(text, strlen(text), "test.conf", s, err, size);
}

static void bad(const char *text, const char *want, const char *name) {
        struct crash_cmdset s = { 0 };
        char err[512] = "";
        int r = parse(text, &s, err, sizeof err);
        tap_ok(r < 0 && strstr(err, want) && strstr(err, "test.conf:"), "refused: %s", name);
        if (r >= 0 || !strstr(err, want))
                printf("#   r=%d err='%s', want '%s'\n", r, err, want);
        crash_cmdset_clear(&s);
}

static const char ps_text[] =
        "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM\n"
        ">       0       0   0  ffffffff95a14940  RU   0.0        0        0  [swapper/0]\n"
        "        1       0   1  ffff8cf8c11fc800  RU   0.6    12488     3264  init\n"
        "      412       1   0  ffff8cf8c3a34c80  IN  12.5  1824212   655360  java\n"
        "      413       1   0  ffff8cf8c3a36400  IN  12.5  1824212   655360  java\n"
        "      500       1   1  ffff8cf8c3a30000  UN   1.2    98000    61234  my daemon\n"
        "garbage line\n"
        "      -5       1   1  ffff8cf8c3a30000  UN   1.2    98000    61234  negative\n";

static const char ps_m_text[] =
        "[0 00:00:00.000] [RU]  PID: 1        TASK: ffff8cf8c11fc800  CPU: 1    COMMAND: \"init\"\n"
        "[0 00:04:05.123] [UN]  PID: 233      TASK: ffff8cf8c3a34c80  CPU: 0    COMMAND: \"jbd2/sda1-8\"\n"
        "[1 02:00:00.000] [UN]  PID: 87       TASK: ffff8cf8c3a36400  CPU: 1    COMMAND: \"kworker/1:2\"\n"
        "[0 25:00:00.000] [UN]  PID: 9        TASK: ffff8cf8c3a36400  CPU: 1    COMMAND: \"bad hours\"\n"
        "[0 00:00:01.500] [IN]  PID: 400      TASK: ffff8cf8c3a30000  CPU: 0    COMMAND: \"sshd\"\n";

static const char bt_sysrq[] =
        "PID: 1        TASK: ffff8cf8c11fc800  CPU: 1    COMMAND: \"init\"\n"
        " #0 [ffffcf4ac0013bf0] machine_kexec at ffffffffa4a6c62f\n"
        " #1 [ffffcf4ac0013c48] __crash_kexec at ffffffffa4b646b7\n"
        " #2 [ffffcf4ac0013d08] panic at ffffffffa53cd06e\n"
        " #3 [ffffcf4ac0013d88] sysrq_handle_crash at ffffffffa50a8a06\n"
        " #4 [ffffcf4ac0013d90] __handle_sysrq.cold at ffffffffa53f4ac9\n"
        " #5 [ffffcf4ac0013dc0] write_sysrq_trigger at ffffffffa50a9354\n";

static const char bt_oops[] =
        "PID: 1234     TASK: ffff9b1c4a8a0000  CPU: 0    COMMAND: \"insmod\"\n"
        " #0 [ffffb7a1c0d4f8b8] machine_kexec at ffffffff8d06c62f\n"
        " #1 [ffffb7a1c0d4f910] __crash_kexec at ffffffff8d1646b7\n"
        " #2 [ffffb7a1c0d4f9d0] crash_kexec at ffffffff8d165a4d\n"
        " #3 [ffffb7a1c0d4f9e0] oops_end at ffffffff8d02b8c6\n"
        " #4 [ffffb7a1c0d4fa00] page_fault_oops at ffffffff8d07a3a1\n"
        " #5 [ffffb7a1c0d4fa58] exc_page_fault at ffffffff8d9f3b67\n"
        " #6 [ffffb7a1c0d4fa80] asm_exc_page_fault at ffffffff8dc00b22\n"
        "    [exception RIP: lkdtm_EXCEPTION+15]\n"
        "    RIP: ffffffffc0a1d01f  RSP: ffffb7a1c0d4fb38  RFLAGS: 00010246\n"
        " #7 [ffffb7a1c0d4fb38] lkdtm_do_action at ffffffffc0a1c0b6 [lkdtm]\n";

static const char bt_oom[] =
        "PID: 106      TASK: ffff8cfa1fe9e000  CPU: 0    COMMAND: \"dd\"\n"
        " #0 [ffffcfbf403e36b8] machine_kexec at ffffffffb566c62f\n"
        " #1 [ffffcfbf403e3710] __crash_kexec at ffffffffb57646b7\n"
        " #2 [ffffcfbf403e37d0] panic at ffffffffb5fcd06e\n"
        " #3 [ffffcfbf403e3850] out_of_memory.cold at ffffffffb5fd9525\n"
        " #4 [ffffcfbf403e3890] __alloc_pages_slowpath.constprop.0 at ffffffffb58e80af\n"
        " #12 [ffffcfbf403e3bb0] asm_exc_page_fault at ffffffffb6200c02\n"
        "    [exception RIP: clear_user_rep_good+14]\n"
        " #13 [ffffcfbf403e3c60] read_zero at ffffffffb5cccb2d\n";

int main(void) {
        struct crash_cmdset s = { 0 };
        char err[512] = "";

        /* the shipped set, as built in */
        int r = crash_cmdset_parse(crash_cmdset_builtin, strlen(crash_cmdset_builtin), "built-in", &s, err, sizeof err);
        tap_is_int(r, 0, "the built-in command set parses");
        if (r < 0)
                printf("#   %s\n", err);
        tap_ok(s.n >= 16, "it has at least the 16 commands the report needs (%zu)", s.n);
        const char *need[] = { "sys", "bt", "bt -a", "log", "kmem -i", "ps", "dev -d", "net", "mount", "files", "vm", "mod",
                               "runq", "timer" };
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
                int found = 0;
                for (size_t k = 0; k < s.n; k++)
                        found |= !strcmp(s.v[k].command, need[i]);
                tap_ok(found, "the set runs '%s'", need[i]);
        }
        int blocked = 0, top = 0, pyk = 0;
        for (size_t k = 0; k < s.n; k++) {
                blocked |= s.v[k].kind == CRASH_CMD_BLOCKED && s.v[k].count > 0;
                top |= s.v[k].kind == CRASH_CMD_TOP_MEMORY && s.v[k].count > 0;
                pyk += s.v[k].needs_pykdump;
        }
        tap_ok(blocked && top, "blocked tasks and top memory users are computed");
        tap_is_int(pyk, 4, "four pykdump commands, marked needs=pykdump");
        crash_cmdset_clear(&s);

        r = parse("# comment\n\n  a [timeout=5, needs=pykdump]  bt -a  \nb %top-memory 3\n", &s, err, sizeof err);
        tap_ok(r == 0 && s.n == 2, "options and a '%%' command parse");
        if (r == 0 && s.n == 2) {
                tap_is_str(s.v[0].command, "bt -a", "command trimmed");
                tap_is_int(s.v[0].timeout_s, 5, "timeout option");
                tap_ok(s.v[0].needs_pykdump, "needs=pykdump");
                tap_ok(s.v[1].kind == CRASH_CMD_TOP_MEMORY && s.v[1].count == 3, "%%top-memory 3");
        }
        crash_cmdset_clear(&s);

        bad("ps ps | grep UN\n", "no pipes", "a shell pipe");
        bad("ps ps > /tmp/x\n", "no pipes", "a redirection");
        bad("sh !id\n", "no pipes", "a shell escape");
        bad("a sys\na bt\n", "used twice", "a name used twice");
        bad("../x sys\n", "not a valid name", "a name with a slash");
        bad("a [timeout=0] sys\n", "timeout must be", "timeout 0");
        bad("a [timeout=abc] sys\n", "timeout must be", "timeout not a number");
        bad("a [colour=red] sys\n", "unknown option", "unknown option");
        bad("a [timeout=5 sys\n", "without ']'", "unclosed bracket");
        bad("a\n", "has no command", "no command");
        bad("a %nosuch 3\n", "unknown command", "unknown % command");
        bad("a %blocked\n", "'%blocked N'", "% command without N");
        bad("# only comments\n", "no commands", "an empty set");
        char longline[1100];
        memset(longline, 'x', sizeof longline - 2);
        longline[sizeof longline - 2] = '\n';
        longline[sizeof longline - 1] = 0;
        bad(longline, "longer than", "a line too long");
        r = crash_cmdset_parse("a sys\0b bt\n", 11, "test.conf", &s, err, sizeof err);
        tap_ok(r < 0 && strstr(err, "NUL"), "a NUL byte is refused");
        crash_cmdset_clear(&s);
        r = crash_cmdset_load("/nonexistent/crash-commands", &s, err, sizeof err);
        tap_ok(r == -ENOENT && strstr(err, "/nonexistent/crash-commands"), "a missing file: -ENOENT, named");

        struct crash_task *t = NULL;
        size_t n = 0;
        r = crash_parse_ps(ps_text, strlen(ps_text), &t, &n);
        tap_ok(r == 0 && n == 5, "ps: five tasks, the header, garbage and a negative PID skipped (%zu)", n);
        if (r == 0 && n == 5) {
                tap_is_str(t[0].comm, "[swapper/0]", "the active marker '>' is not part of the row");
                tap_is_int(t[2].rss_kb, 655360, "RSS in KiB");
                tap_is_str(t[4].comm, "my daemon", "a command name with a space");
                tap_is_str(t[4].state, "UN", "state");
                tap_ok(t[2].mem_pct > 12.4 && t[2].mem_pct < 12.6, "%%MEM");
        }
        free(t);
        r = crash_parse_ps_m(ps_m_text, strlen(ps_m_text), &t, &n);
        tap_ok(r == 0 && n == 4, "ps -m: four tasks, an impossible time skipped (%zu)", n);
        if (r == 0 && n == 4) {
                tap_is_int(t[1].since_ms, 245123, "0 00:04:05.123 is 245123 ms");
                tap_is_int(t[2].since_ms, 93600000, "1 02:00:00.000 is 26 hours");
                tap_is_str(t[1].comm, "jbd2/sda1-8", "command between the quotes");
                tap_is_int(t[2].pid, 87, "pid");
        }
        free(t);
        r = crash_parse_ps("", 0, &t, &n);
        tap_ok(r == 0 && n == 0, "an empty answer is no tasks");
        free(t);

        char fn[128];
        report_crashing_function(bt_sysrq, strlen(bt_sysrq), fn, sizeof fn);
        tap_is_str(fn, "sysrq_handle_crash", "sysrq: the frame after the panic machinery");
        report_crashing_function(bt_oops, strlen(bt_oops), fn, sizeof fn);
        tap_is_str(fn, "lkdtm_EXCEPTION", "oops: the exception RIP wins");
        report_crashing_function(bt_oom, strlen(bt_oom), fn, sizeof fn);
        tap_is_str(fn, "out_of_memory", "OOM in a page fault: the panicking frame, not the trap's RIP; .cold dropped");
        report_crashing_function("nothing here\n", 13, fn, sizeof fn);
        tap_is_str(fn, "", "no frames: no function");

        char panic[256];
        const char sys[] = "      KERNEL: vmlinux\n       PANIC: \"Kernel panic - not syncing: sysrq triggered crash\"\n";
        report_sys_panic(sys, strlen(sys), panic, sizeof panic);
        tap_is_str(panic, "Kernel panic - not syncing: sysrq triggered crash", "sys: the PANIC string, unquoted");
        report_sys_panic("PANIC: \"", 8, panic, sizeof panic);
        tap_is_str(panic, "", "a bare quote is no panic string");

        /* kmem -i as crash 8 prints it */
        const char kmem[] = "                 PAGES        TOTAL      PERCENTAGE\n"
                            "    TOTAL MEM   242386     946.8 MB         ----\n"
                            "         FREE    14165      55.3 MB    5% of TOTAL MEM\n"
                            "         USED   228221     891.5 MB   94% of TOTAL MEM\n"
                            "       SHARED     1262       4.9 MB    0% of TOTAL MEM\n"
                            "      BUFFERS       23        92 KB    0% of TOTAL MEM\n"
                            "       CACHED     1541         6 MB    0% of TOTAL MEM\n"
                            "         SLAB     6245      24.4 MB    2% of TOTAL MEM\n\n"
                            "   TOTAL HUGE        0            0         ----\n"
                            "   TOTAL SWAP        0            0         ----\n"
                            "    SWAP USED        0            0    0% of TOTAL SWAP\n\n"
                            " COMMIT LIMIT   121193     473.4 MB         ----\n"
                            "    COMMITTED   729530       2.8 GB  601% of TOTAL LIMIT\n";
        struct report_kmem k;
        tap_is_int(report_parse_kmem(kmem, strlen(kmem), &k), 0, "kmem -i: parsed");
        tap_ok(k.total == 242386 && k.free == 14165 && k.used == 228221 && k.buffers == 23 && k.cached == 1541 &&
                       k.slab == 6245,
               "kmem -i: total, free, used, buffers, cached and slab in pages (SHARED, SWAP USED not taken for them)");
        tap_ok(k.commit_limit == 121193 && k.committed == 729530, "kmem -i: the commit limit and what is committed");
        tap_is_int(report_parse_kmem("kmem: invalid option\n", 21, &k), -ENOENT, "kmem -i: an error answer has no figures");

        const char ps[] = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM\n"
                          ">       0       0   0  ffffffff82a13a00  RU   0.0        0        0  [swapper/0]\n"
                          "        1       0   1  ffff888003a58000  IN   1.1   167784    11520  systemd\n"
                          "        2       0   0  ffff888003a5c000  IN   0.0        0        0  [kthreadd]\n"
                          "        3       2   0  ffff888003a5d000  ID   0.0        0        0  [rcu_gp]\n"
                          ">     106       1   1  ffff888005e2a000  RU  29.0   300000   299000  dd\n"
                          "      107       1   0  ffff888005e2b000  UN   0.1     2000     1000  sync\n";
        struct report_states st;
        tap_is_int(report_ps_states(ps, strlen(ps), &st), 0, "ps: parsed");
        tap_ok(st.tasks == 6 && st.n == 4, "ps: six tasks in four states");
        tap_ok(!strcmp(st.v[0].state, "RU") && st.v[0].count == 2 && !strcmp(st.v[1].state, "IN") && st.v[1].count == 2,
               "ps: most first, the current task's '>' taken off");
        tap_is_int(report_ps_states("no header\n", 10, &st), -ENOENT, "ps: no ST column, no states");
        return tap_done();
}
