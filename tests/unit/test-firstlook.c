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

        const char *log = "a\nb\nc\nd\n";
        tap_is_str(firstlook_tail(log, strlen(log), 2), "c\nd\n", "tail of 2 lines");
        tap_is_str(firstlook_tail(log, strlen(log), 10), log, "tail longer than the log");
        return tap_done();
}
