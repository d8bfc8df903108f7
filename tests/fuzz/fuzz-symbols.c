/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the symbol naming rules and the module-list reader, which take the dump's
 * own utsname strings and kernel log. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/symbols/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char release[65], version[65], buf[256];
        /* the first 64 bytes are the release, the next 64 the version, as the kernel cuts them */
        size_t rl = size < 64 ? size : 64, vl = size > 64 ? (size - 64 < 64 ? size - 64 : 64) : 0;
        memcpy(release, data, rl);
        release[rl] = 0;
        memcpy(version, data + rl, vl);
        version[vl] = 0;
        if (symbols_ubuntu_version(release, version, buf, sizeof buf) == 0 && strlen(buf) >= sizeof buf)
                __builtin_trap();
        if (symbols_debian_version(version, buf, sizeof buf) == 0 && strlen(buf) >= sizeof buf)
                __builtin_trap();
        (void) symbols_deb_arch(release);
        char **m = symbols_modules_from_log((const char *) data, size);
        for (char **p = m; p && *p; p++)
                if (strlen(*p) >= 64)
                        __builtin_trap();
        symbols_strv_free(m);
        return 0;
}
