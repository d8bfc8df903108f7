/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Decoders of what the kernel prints as numbers or paths, for triage summaries. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/triage/kdecode.h"

/* A whole hexadecimal number, with or without "0x". */
static bool parse_hex(const char *s, unsigned long *ret) {
        char *end;
        if (!s || !isxdigit((unsigned char) s[s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0]))
                return false;
        errno = 0;
        unsigned long v = strtoul(s, &end, 16);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

static bool verbatim(const char *value, char *buf, size_t size) {
        snprintf(buf, size, "%s", value ? value : "");
        return false;
}

bool kdecode_pf_error(const char *value, char *buf, size_t size) {
        assert(buf);
        unsigned long code;
        if (!parse_hex(value, &code) || code > 0xffff)
                return verbatim(value, buf, size);
        /* arch/x86/include/asm/trap_pf.h: P W U RSVD I PK SS, and SGX at bit 15 */
        const char *access = code & 0x10 ? "instruction fetch from" : code & 0x2 ? "write to" : "read of";
        const char *page = code & 0x1 ? "a present page that forbids it" : "a page that is not present";
        int n = snprintf(buf, size, "%s %s, %s mode", access, page, code & 0x4 ? "user" : "kernel");
        static const struct {
                unsigned long bit;
                const char *what;
        } extra[] = {
                { 0x8, "a reserved bit set in a page table entry" },
                { 0x20, "a protection key" },
                { 0x40, "the shadow stack" },
                { 0x8000, "an SGX enclave" },
        };
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
                if ((code & extra[i].bit) && n >= 0 && (size_t) n < size)
                        n += snprintf(buf + n, size - (size_t) n, ", %s", extra[i].what);
        return true;
}

/* The signal names of Linux on x86, arm64, s390x and riscv (the generic numbering). */
static const char *const signals[] = {
        NULL,      "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",  "SIGTRAP", "SIGABRT",   "SIGBUS",  "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",   "SIGSTKFLT", "SIGCHLD",
        "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",  "SIGXCPU",   "SIGXFSZ", "SIGVTALRM",
        "SIGPROF", "SIGWINCH", "SIGIO",  "SIGPWR",  "SIGSYS",
};

bool kdecode_exit_status(const char *value, char *buf, size_t size) {
        assert(buf);
        unsigned long code;
        if (!parse_hex(value, &code) || code > 0xffffffffUL)
                return verbatim(value, buf, size);
        unsigned sig = (unsigned) (code & 0x7f);
        if (sig == 0) {
                snprintf(buf, size, "exited with status %lu", (code >> 8) & 0xff);
                return true;
        }
        if (sig == 0x7f)
                return verbatim(value, buf, size); /* a stopped task's status: not an exit */
        const char *name = sig < sizeof signals / sizeof signals[0] ? signals[sig] : NULL;
        if (name)
                snprintf(buf, size, "killed by signal %u (%s)%s", sig, name, code & 0x80 ? ", core dumped" : "");
        else
                snprintf(buf, size, "killed by signal %u%s", sig, code & 0x80 ? ", core dumped" : "");
        return true;
}

bool kdecode_subsystem(const char *value, char *buf, size_t size) {
        assert(buf);
        static const struct {
                const char *prefix, *name;
                bool named_by_next; /* the next folder names the part: fs/ext4/, drivers/scsi/ */
        } map[] = {
                { "mm/", "memory management", false },
                { "fs/", "file systems", true },
                { "net/", "networking", true },
                { "block/", "block layer", false },
                { "drivers/", "drivers", true },
                { "kernel/", "core kernel", true },
                { "lib/", "kernel library", false },
                { "arch/", "architecture code", true },
                { "security/", "security", true },
                { "crypto/", "crypto", false },
                { "ipc/", "IPC", false },
                { "sound/", "sound", true },
                { "virt/", "virtualization", true },
                { "io_uring/", "io_uring", false },
                { "init/", "kernel start-up", false },
        };
        if (!value)
                return verbatim(value, buf, size);
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
                size_t pl = strlen(map[i].prefix);
                if (strncmp(value, map[i].prefix, pl) != 0)
                        continue;
                const char *next = value + pl, *slash = strchr(next, '/');
                if (map[i].named_by_next && slash && slash > next)
                        snprintf(buf, size, "%s (%.*s)", map[i].name, (int) (slash - next), next);
                else
                        snprintf(buf, size, "%s", map[i].name);
                return true;
        }
        return verbatim(value, buf, size);
}

kdecode_fn kdecode_find(const char *name, size_t len) {
        static const struct {
                const char *name;
                kdecode_fn fn;
        } decoders[] = {
                { "pf_error", kdecode_pf_error },
                { "exit_status", kdecode_exit_status },
                { "subsystem", kdecode_subsystem },
        };
        for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
                if (strlen(decoders[i].name) == len && !strncmp(decoders[i].name, name, len))
                        return decoders[i].fn;
        return NULL;
}
