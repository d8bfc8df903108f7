/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the first look: panic lines, oops headlines when there is no panic line,
 * the crashing task, and logs that say nothing. */

#include <string.h>

#include "pipeline/firstlook.h"
#include "tests/tap.h"

static void parse(const char *log, struct firstlook *f) {
        firstlook_parse(log, strlen(log), f);
}

int main(void) {
        struct firstlook f;

        parse("[    1.000000] Linux version 6.1.0\n"
              "[   12.345678] sysrq: Trigger a crash\n"
              "[   12.345679] Kernel panic - not syncing: sysrq triggered crash\n"
              "[   12.345680] CPU: 1 PID: 77 Comm: bash Not tainted 6.1.0-56-cloud-amd64 #1 Debian 6.1.192-2\n",
              &f);
        tap_is_str(f.panic_line, "Kernel panic - not syncing: sysrq triggered crash", "panic line without timestamp");
        tap_is_str(f.panic_kind, "panic", "kind panic");
        tap_is_str(f.task, "bash", "task");
        tap_is_int(f.pid, 77, "pid");
        tap_is_int(f.cpu, 1, "cpu");
        tap_is_str(f.tainted, "Not tainted", "not tainted");

        /* an oops that went straight to kdump: no "Kernel panic" line */
        parse("[  100.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
              "[  100.000002] #PF: supervisor read access in kernel mode\n"
              "[  100.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
              "[  100.000004] CPU: 0 PID: 1234 Comm: kworker/0:1 Tainted: P           O       6.1.0-1 #1\n",
              &f);
        tap_is_str(f.panic_line, "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                   "oops headline stands in for the panic line");
        tap_is_str(f.panic_kind, "oops", "kind oops");
        tap_is_str(f.task, "kworker/0:1", "task after the headline");
        tap_is_int(f.pid, 1234, "pid after the headline");
        tap_is_str(f.tainted, "Tainted: P           O", "taint flags");

        parse("<4>[ 5.0] kernel BUG at mm/slub.c:123!\n<4>[ 5.0] invalid opcode: 0000 [#1] SMP\n", &f);
        tap_is_str(f.panic_line, "kernel BUG at mm/slub.c:123!", "kernel BUG with a <level> prefix");

        parse("[ 1.0] all is well\n[ 2.0] still fine\n", &f);
        tap_is_str(f.panic_line, "", "no panic in a quiet log");
        tap_is_int(f.pid, -1, "no task in a quiet log");

        parse("", &f);
        tap_is_str(f.panic_line, "", "empty log");

        /* printk caller ids (CONFIG_PRINTK_CALLER) after the timestamp, as the kernel prints them */
        parse("[    6.440000][    T1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n"
              "[    6.440100][    T1] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 7.2.13+deb14-cloud-amd64 #1\n"
              "[    6.440200][    T1] Call Trace:\n"
              "[    6.440300][    T1]  <TASK>\n"
              "[    6.440400][    T1]  dump_stack_lvl+0x5d/0x80\n"
              "[    6.440500][    T1]  panic+0x118/0x2f4\n"
              "[    6.440600][    T1]  do_exit.cold+0x15/0x15\n",
              &f);
        tap_is_str(f.panic_line, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
                   "caller ids: the panic line without timestamp and caller");
        tap_is_str(f.task, "init", "caller ids: the task of a CPU line with UID");
        tap_is_int(f.pid, 1, "caller ids: its pid");
        tap_is_str(f.function, "do_exit", "caller ids: the first frame that is not machinery");

        /* makedumpfile 1.7.8's --dump-dmesg: a blank between the timestamp and the caller id */
        parse("[   12.100000] [  T135] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
              "[   12.100100] [  T135] Oops: 0002 [#1] SMP NOPTI\n"
              "[   12.100200] [  T135] CPU: 1 UID: 0 PID: 135 Comm: sh Tainted: G           OE       7.2.13 #1\n"
              "[   12.100300] [  T135] RIP: 0010:lkdtm_EXCEPTION+0x10/0x20 [lkdtm]\n",
              &f);
        tap_is_str(f.panic_line, "BUG: kernel NULL pointer dereference, address: 0000000000000000",
                   "dmesg caller ids: the headline");
        tap_is_str(f.function, "lkdtm_EXCEPTION", "dmesg caller ids: the RIP's function");
        tap_is_str(f.module, "lkdtm", "dmesg caller ids: its module");
        tap_is_int(f.cpu, 1, "dmesg caller ids: the CPU");

        /* a caller id without a timestamp (printk.time=0), and a CPU context "[    C1]" */
        parse("[     T1] Kernel panic - not syncing: VFS: Unable to mount root fs\n", &f);
        tap_is_str(f.panic_line, "Kernel panic - not syncing: VFS: Unable to mount root fs", "a caller id alone");
        parse("[   99.000000][    C1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [sh:135]\n"
              "[   99.000100][    C1] RIP: 0010:lkdtm_SOFTLOCKUP+0x1c/0x30 [lkdtm]\n",
              &f);
        tap_is_str(f.panic_line, "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [sh:135]", "a CPU caller id");
        tap_is_str(f.function, "lkdtm_SOFTLOCKUP", "a CPU caller id: the RIP");

        /* the warning format of newer kernels: file and function first, the CPU and task after */
        parse("[   30.000000][  T135] ------------[ cut here ]------------\n"
              "[   30.000100][  T135] WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0x17/0x20 [lkdtm], CPU#1: sh/135\n"
              "[   30.000200][  T135] Modules linked in: lkdtm(OE) virtio_blk\n"
              "[   30.000300][  T135] CPU: 1 UID: 0 PID: 135 Comm: sh Tainted: G           OE       7.2.13+deb14-cloud-amd64 #1\n"
              "[   30.000400][  T135] RIP: 0010:lkdtm_WARNING+0x17/0x20 [lkdtm]\n",
              &f);
        tap_is_str(f.panic_kind, "warning", "new warning format: a warning headline");
        tap_ok(strstr(f.panic_line, "WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING") == f.panic_line,
               "new warning format: the headline is the WARNING line (%s)", f.panic_line);
        tap_is_str(f.task, "sh", "new warning format: the task");
        tap_is_str(f.function, "lkdtm_WARNING", "new warning format: the function");
        tap_is_str(f.taint_modules, "lkdtm(OE)", "new warning format: the tainting module");
        parse("[   30.0] WARNING: low on memory, CPU is fine\n", &f);
        tap_is_str(f.panic_line, "", "a WARNING: line that is no kernel warning is no headline");

        /* the OOM task table behind caller ids */
        parse("[   40.000000][  T106] Tasks state (memory values in pages):\n"
              "[   40.000100][  T106] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n"
              "[   40.000200][  T106] [    100]     0   100      300       50    45056        0             0 sh\n"
              "[   40.000300][  T106] [    106]     0   106   264335    74755   655360        0             0 dd\n"
              "[   40.000400][  T106] Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled\n",
              &f);
        tap_is_str(f.largest_task, "dd", "caller ids: the OOM table's largest task");
        tap_is_int((long long) f.largest_rss_kb, 74755 * 4, "caller ids: its resident size");

        const char *log = "a\nb\nc\nd\n";
        tap_is_str(firstlook_tail(log, strlen(log), 2), "c\nd\n", "tail of 2 lines");
        tap_is_str(firstlook_tail(log, strlen(log), 10), log, "tail longer than the log");
        return tap_done();
}
