/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the decoders triage summaries use: x86 page fault error codes, init's exit
 * code (a wait status) and the subsystem of a kernel source path. */

#include <string.h>

#include "pipeline/triage/kdecode.h"
#include "tests/tap.h"

static void is(kdecode_fn fn, const char *value, bool ok, const char *want) {
        char buf[160];
        bool got = fn(value, buf, sizeof buf);
        tap_ok(got == ok && !strcmp(buf, want), "%s -> '%s' (got %s'%s')", value ? value : "(null)", want,
               got ? "" : "not decoded, ", buf);
}

int main(void) {
        /* arch/x86/include/asm/trap_pf.h */
        is(kdecode_pf_error, "0x0003", true, "write to a present page that forbids it, kernel mode");
        is(kdecode_pf_error, "0x0011", true, "instruction fetch from a present page that forbids it, kernel mode");
        is(kdecode_pf_error, "0x0000", true, "read of a page that is not present, kernel mode");
        is(kdecode_pf_error, "0002", true, "write to a page that is not present, kernel mode");
        is(kdecode_pf_error, "0x0007", true, "write to a present page that forbids it, user mode");
        is(kdecode_pf_error, "0x0009", true, "read of a present page that forbids it, kernel mode, a reserved bit set in a page table entry");
        is(kdecode_pf_error, "0x8001", true, "read of a present page that forbids it, kernel mode, an SGX enclave");
        is(kdecode_pf_error, "0x10000", false, "0x10000");
        is(kdecode_pf_error, "write", false, "write");
        is(kdecode_pf_error, "0x", false, "0x");
        is(kdecode_pf_error, "", false, "");
        is(kdecode_pf_error, NULL, false, "");

        /* a wait status, as "Attempted to kill init! exitcode=0x…" prints it */
        is(kdecode_exit_status, "0x0000000b", true, "killed by signal 11 (SIGSEGV)");
        is(kdecode_exit_status, "0x00000009", true, "killed by signal 9 (SIGKILL)");
        is(kdecode_exit_status, "0x0000008b", true, "killed by signal 11 (SIGSEGV), core dumped");
        is(kdecode_exit_status, "0x00000006", true, "killed by signal 6 (SIGABRT)");
        is(kdecode_exit_status, "0x00000100", true, "exited with status 1");
        is(kdecode_exit_status, "0x00000000", true, "exited with status 0");
        is(kdecode_exit_status, "0x00007f00", true, "exited with status 127");
        is(kdecode_exit_status, "0x00000040", true, "killed by signal 64");
        is(kdecode_exit_status, "0x0000137f", false, "0x0000137f");
        is(kdecode_exit_status, "0x1000000000", false, "0x1000000000");
        is(kdecode_exit_status, "0x0000000g", false, "0x0000000g");

        is(kdecode_subsystem, "mm/slub.c", true, "memory management");
        is(kdecode_subsystem, "fs/ext4/inode.c", true, "file systems (ext4)");
        is(kdecode_subsystem, "fs/open.c", true, "file systems");
        is(kdecode_subsystem, "net/core/skbuff.c", true, "networking (core)");
        is(kdecode_subsystem, "block/blk-mq.c", true, "block layer");
        is(kdecode_subsystem, "drivers/scsi/sd.c", true, "drivers (scsi)");
        is(kdecode_subsystem, "lib/list_debug.c", true, "kernel library");
        is(kdecode_subsystem, "mmap.c", false, "mmap.c");
        is(kdecode_subsystem, "include/linux/mm.h", false, "include/linux/mm.h");

        tap_ok(kdecode_find("pf_error", 8) == kdecode_pf_error, "pf_error is found by name");
        tap_ok(kdecode_find("subsystem", 9) == kdecode_subsystem, "subsystem is found by name");
        tap_ok(kdecode_find("exit_status", 11) == kdecode_exit_status, "exit_status is found by name");
        tap_ok(kdecode_find("pf_err", 6) == NULL, "a prefix is no decoder");
        tap_ok(kdecode_find("nosuch", 6) == NULL, "an unknown decoder is none");

        /* a small buffer cuts, never overruns */
        char small[8];
        kdecode_pf_error("0x0011", small, sizeof small);
        tap_is_int((int) strlen(small), 7, "a small buffer holds a cut phrase");
        return tap_done();
}
