/* SPDX-License-Identifier: GPL-3.0-or-later */
/* VMCOREINFO lookups.
 * The text comes from a customer's dump, so nothing here trusts lengths, terminators or digits. */

#include <errno.h>
#include <string.h>

#include "vmcoreinfo.h"

const char *vmcoreinfo_get(const char *text, size_t len, const char *key, size_t *ret_len) {
        size_t klen = strlen(key);
        size_t i = 0;

        if (!text)
                return NULL;
        while (i < len) {
                const char *line = text + i;
                const char *nl = memchr(line, '\n', len - i);
                size_t llen = nl ? (size_t) (nl - line) : len - i;

                if (llen > klen && memcmp(line, key, klen) == 0 && line[klen] == '=') {
                        size_t vlen = llen - klen - 1;
                        /* a NUL inside the note ends the text */
                        const char *z = memchr(line + klen + 1, 0, vlen);
                        if (z)
                                vlen = (size_t) (z - (line + klen + 1));
                        *ret_len = vlen;
                        return line + klen + 1;
                }
                if (memchr(line, 0, llen))
                        return NULL;
                i += llen + 1;
        }
        return NULL;
}

int vmcoreinfo_get_string(const char *text, size_t len, const char *key, char *buf, size_t size) {
        size_t vlen;
        const char *v = vmcoreinfo_get(text, len, key, &vlen);

        if (!v)
                return -ENOENT;
        if (vlen + 1 > size)
                return -ERANGE;
        memcpy(buf, v, vlen);
        buf[vlen] = 0;
        return (int) vlen;
}

int vmcoreinfo_get_u64(const char *text, size_t len, const char *key, int base, uint64_t *ret) {
        size_t vlen, i = 0;
        const char *v = vmcoreinfo_get(text, len, key, &vlen);
        uint64_t x = 0;
        int neg = 0;

        if (!v)
                return -ENOENT;
        if (base == 10 && vlen > 0 && v[0] == '-') {
                neg = 1;
                i = 1;
        }
        if (base == 16 && vlen > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
                i = 2;
        if (i >= vlen)
                return -EINVAL;
        for (; i < vlen; i++) {
                unsigned d;
                char c = v[i];
                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (base == 16 && c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (base == 16 && c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                if (x > (UINT64_MAX - d) / (unsigned) base)
                        return -EINVAL;
                x = x * (unsigned) base + d;
        }
        *ret = neg ? (uint64_t) 0 - x : x;
        return 0;
}
