/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for VMCOREINFO lookups: keys, values, and text that is not well formed. */

#include <errno.h>
#include <stdint.h>

#include "pipeline/identify/vmcoreinfo.h"
#include "tests/tap.h"

int main(void) {
        static const char text[] = "OSRELEASE=6.1.0-28-cloud-amd64\n"
                                   "PAGESIZE=4096\n"
                                   "SYMBOL(init_uts_ns)=ffffffff82a13b40\n"
                                   "NUMBER(phys_base)=-2113929216\n"
                                   "BUILD-ID=0123abcd\n"
                                   "KEY_NO_VALUE=\n"
                                   "NOEQUALS\n"
                                   "LAST=end";
        size_t n = sizeof text - 1, len;
        char buf[64];
        uint64_t x;

        const char *v = vmcoreinfo_get(text, n, "OSRELEASE", &len);
        tap_ok(v && len == 20 && memcmp(v, "6.1.0-28-cloud-amd64", 20) == 0, "OSRELEASE found");
        tap_is_int(vmcoreinfo_get_string(text, n, "BUILD-ID", buf, sizeof buf), 8, "BUILD-ID length");
        tap_is_str(buf, "0123abcd", "BUILD-ID value");
        tap_ok(vmcoreinfo_get(text, n, "OSREL", &len) == NULL, "a key prefix does not match");
        tap_ok(vmcoreinfo_get(text, n, "NOEQUALS", &len) == NULL, "a line without '=' is no key");
        tap_is_int(vmcoreinfo_get_u64(text, n, "PAGESIZE", 10, &x), 0, "PAGESIZE parses");
        tap_is_int(x, 4096, "PAGESIZE value");
        tap_is_int(vmcoreinfo_get_u64(text, n, "SYMBOL(init_uts_ns)", 16, &x), 0, "hex symbol parses");
        tap_ok(x == UINT64_C(0xffffffff82a13b40), "hex symbol value");
        tap_is_int(vmcoreinfo_get_u64(text, n, "NUMBER(phys_base)", 10, &x), 0, "negative number parses");
        tap_ok(x == (uint64_t) -2113929216LL, "negative number is two's complement");
        tap_is_int(vmcoreinfo_get_u64(text, n, "KEY_NO_VALUE", 10, &x), -EINVAL, "empty value is no number");
        tap_is_int(vmcoreinfo_get_u64(text, n, "OSRELEASE", 10, &x), -EINVAL, "text is no number");
        tap_is_int(vmcoreinfo_get_u64(text, n, "ABSENT", 10, &x), -ENOENT, "absent key");
        tap_is_int(vmcoreinfo_get_string(text, n, "OSRELEASE", buf, 5), -ERANGE, "value too long for buffer");
        v = vmcoreinfo_get(text, n, "LAST", &len);
        tap_ok(v && len == 3, "last line without newline");
        v = vmcoreinfo_get(text, n - 1, "LAST", &len);
        tap_ok(v && len == 2, "length bounds the search, not a terminator");

        static const char over[] = "PAGESIZE=99999999999999999999999\n";
        tap_is_int(vmcoreinfo_get_u64(over, sizeof over - 1, "PAGESIZE", 10, &x), -EINVAL, "overflow refused");
        static const char nul[] = "A=1\0B=2\n";
        tap_ok(vmcoreinfo_get(nul, sizeof nul - 1, "B", &len) == NULL, "a NUL ends the text");
        tap_ok(vmcoreinfo_get(NULL, 0, "A", &len) == NULL, "NULL text");
        return tap_done();
}
