/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the symbol naming rules and the module list read from a kernel log. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/symbols/symbols.h"
#include "tests/tap.h"

static void ubuntu(const char *rel, const char *ver, const char *want) {
        char buf[128];
        int r = symbols_ubuntu_version(rel, ver, buf, sizeof buf);
        tap_ok(r == 0 && strcmp(buf, want) == 0, "ubuntu %s %s -> %s (got %s)", rel, ver, want, r == 0 ? buf : "error");
}

int main(void) {
        char buf[128];

        ubuntu("5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", "5.15.0-91.101");
        ubuntu("5.15.0-52-generic", "#58~20.04.1-Ubuntu SMP Thu Oct 13 13:09:46 UTC 2022", "5.15.0-52.58~20.04.1");
        ubuntu("6.8.0-47-lowlatency", "#47.1-Ubuntu SMP PREEMPT_DYNAMIC Mon Oct  7 15:01:17 UTC 2024", "6.8.0-47.47.1");
        ubuntu("6.8.0-1008-aws", "#8-Ubuntu SMP Sat Apr 20 00:46:25 UTC 2024", "6.8.0-1008.8");
        /* the kernel cuts the version at 64 characters: what is left still names the package */
        ubuntu("6.17.0-14-generic", "#14~24.04.1-Ubuntu SMP PREEMPT_DYNAMIC Thu Jan 15 15:52:10 UTC 2", "6.17.0-14.14~24.04.1");
        ubuntu("6.8.0-1003-nvidia-64k", "#3-Ubuntu SMP PREEMPT_DYNAMIC Mon Apr  1 10:12:50 UTC 2024", "6.8.0-1003.3");
        tap_is_int(symbols_ubuntu_version("6.1.0-56-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2", buf, sizeof buf),
                   -EINVAL, "a Debian kernel has no Ubuntu version");
        tap_is_int(symbols_ubuntu_version("4.7.0-040700rc3-lowlatency", "#201606121131 SMP PREEMPT", buf, sizeof buf), -EINVAL,
                   "a mainline build has no Ubuntu version");
        tap_is_int(symbols_ubuntu_version("linux", "#1-Ubuntu", buf, sizeof buf), -EINVAL, "a release without an ABI");

        tap_is_int(symbols_debian_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)", buf, sizeof buf), 0,
                   "debian version parses");
        tap_is_str(buf, "6.1.192-2", "debian version");
        tap_is_int(symbols_debian_version("#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-01)", buf, sizeof buf), 0,
                   "debian backport version parses");
        tap_is_str(buf, "6.12.117-1~deb12u1", "debian backport version");
        tap_is_int(symbols_debian_version("#101-Ubuntu SMP", buf, sizeof buf), -EINVAL, "no Debian version in an Ubuntu one");

        tap_is_str(symbols_deb_arch("x86_64"), "amd64", "x86_64 is amd64");
        tap_is_str(symbols_deb_arch("aarch64"), "arm64", "aarch64 is arm64");
        tap_is_str(symbols_deb_arch("ppc64le"), "ppc64el", "ppc64le is ppc64el");
        tap_ok(symbols_deb_arch("vax") == NULL, "an unknown machine has no Debian architecture");
        /* either name gives the same Debian architecture, so the same package names */
        static const char *const both[][2] = { { "amd64", "amd64" },    { "x86_64", "amd64" },   { "arm64", "arm64" },
                                               { "aarch64", "arm64" },  { "ppc64el", "ppc64el" }, { "ppc64le", "ppc64el" },
                                               { "s390x", "s390x" },    { "i386", "i386" },       { "i686", "i386" } };
        for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
                const char *m = symbols_machine_arch(both[i][0]), *d = m ? symbols_deb_arch(m) : NULL;
                tap_ok(d && !strcmp(d, both[i][1]), "--arch %s is Debian's %s (got %s, %s)", both[i][0], both[i][1],
                       m ? m : "none", d ? d : "none");
        }
        tap_is_str(symbols_machine_arch("amd64"), "x86_64", "amd64 is the kernel's x86_64");
        tap_ok(symbols_machine_arch("bogus") == NULL, "--arch bogus is no architecture");
        tap_ok(symbols_machine_arch("") == NULL, "an empty --arch is no architecture");

        static const char log[] = "[  1.0] Oops: 0002 [#1] SMP\n"
                                  "[  1.0] Modules linked in: nls_ascii nls_cp437 vfat fat virtio_net(E) [last unloaded: lkdtm]\n"
                                  "[  1.0] CPU: 0 PID: 1 Comm: sh\n"
                                  "[  2.0] Modules linked in: later list\n";
        char **m = symbols_modules_from_log(log, sizeof log - 1);
        int n = 0;
        for (char **p = m; p && *p; p++)
                n++;
        tap_is_int(n, 5, "five modules from the first list");
        tap_ok(n == 5 && !strcmp(m[0], "nls_ascii") && !strcmp(m[4], "virtio_net"), "names as listed");
        symbols_strv_free(m);
        /* a log that ends inside a module name, with no NUL after it (found by fuzzing) */
        static const char tail[] = "Modules linked in: abc";
        char *raw = malloc(sizeof tail - 1);
        memcpy(raw, tail, sizeof tail - 1);
        m = symbols_modules_from_log(raw, sizeof tail - 1);
        tap_ok(m && m[0] && !strcmp(m[0], "abc") && !m[1], "a log cut inside a name, without a terminator");
        symbols_strv_free(m);
        free(raw);
        m = symbols_modules_from_log("no modules here\n", 16);
        tap_ok(m && !m[0], "no list, no modules");
        symbols_strv_free(m);
        return tap_done();
}
