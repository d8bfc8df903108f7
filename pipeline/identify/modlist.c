/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The loaded modules of a dump, from the kernel's own list.
 * struct module has begun with `enum module_state state; struct list_head list;
 * char name[MODULE_NAME_LEN];` since 2.6: on a 64-bit kernel the list is at offset 8 and the
 * name (56 bytes) at 24. Every name is checked; a list that does not read as one is refused
 * rather than guessed at. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libkdumpfile/kdumpfile.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "pipeline/identify/modlist.h"
#include "pipeline/identify/vmcoreinfo.h"

#define LIST_OFFSET 8
#define NAME_OFFSET 24
#define NAME_LEN 56

static bool module_name_ok(const char *p) {
        size_t n = strnlen(p, NAME_LEN);
        if (n == 0 || n == NAME_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) p[i]) && p[i] != '_' && p[i] != '-')
                        return false;
        return true;
}

int modlist_map_address(const char *map, size_t len, uint64_t *ret) {
        const char *end = map + len;
        for (const char *p = map; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                /* "ADDRESS T modules": data, bss, or (7.x's System.map) T */
                if (le - p > 10 && !memcmp(le - 8, " modules", 8) && le[-10] == ' ') {
                        char *stop;
                        errno = 0;
                        unsigned long long a = strtoull(p, &stop, 16);
                        if (!errno && stop == le - 10 && stop > p && isalpha((unsigned char) le[-9])) {
                                *ret = a;
                                return 0;
                        }
                }
                p = nl ? nl + 1 : end;
        }
        return -ENOENT;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int modlist_read(const char *vmcore, uint64_t modules_addr, char ***ret, char *err, size_t err_size) {
        int fd = open(vmcore, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_reason(err, err_size, -errno, "cannot open '%s'", vmcore);
        kdump_ctx_t *ctx = kdump_new();
        char **v = NULL, *raw = NULL;
        size_t n = 0;
        int r = 0;
        if (!ctx) {
                close(fd);
                return -ENOMEM;
        }
        if (kdump_open_fd(ctx, fd) != KDUMP_OK || kdump_set_string_attr(ctx, KDUMP_ATTR_OSTYPE, "linux") != KDUMP_OK) {
                r = log_reason(err, err_size, -EPROTONOSUPPORT, "libkdumpfile cannot read '%s': %s", vmcore, kdump_get_err(ctx));
                goto out;
        }
        kdump_num_t ptr_size = 0;
        if (kdump_get_number_attr(ctx, KDUMP_ATTR_PTR_SIZE, &ptr_size) != KDUMP_OK || ptr_size != 8) {
                r = log_reason(err, err_size, -EPROTONOSUPPORT, "'%s': only 64-bit kernels' module lists are read", vmcore);
                goto out;
        }
        uint64_t offset = 0;
        if (kdump_vmcoreinfo_raw(ctx, &raw) == KDUMP_OK && raw)
                (void) vmcoreinfo_get_u64(raw, strlen(raw), "KERNELOFFSET", 16, &offset);
        uint64_t head = modules_addr + offset, next;
        size_t len = sizeof next;
        if (kdump_read(ctx, KDUMP_KVADDR, head, &next, &len) != KDUMP_OK || len != sizeof next) {
                r = log_reason(err, err_size, -EBADMSG, "'%s': the module list at 0x%llx cannot be read: %s", vmcore,
                               (unsigned long long) head, kdump_get_err(ctx));
                goto out;
        }
        v = calloc(1, sizeof *v);
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        while (next != head) {
                unsigned char m[NAME_OFFSET + NAME_LEN];
                if (n >= MODLIST_MAX || next < LIST_OFFSET) {
                        r = log_reason(err, err_size, -EBADMSG, "'%s': the module list does not end", vmcore);
                        goto out;
                }
                len = sizeof m - LIST_OFFSET;
                if (kdump_read(ctx, KDUMP_KVADDR, next, m + LIST_OFFSET, &len) != KDUMP_OK || len != sizeof m - LIST_OFFSET) {
                        r = log_reason(err, err_size, -EBADMSG, "'%s': module %zu of the list, at 0x%llx, cannot be read: %s",
                                       vmcore, n + 1, (unsigned long long) next, kdump_get_err(ctx));
                        goto out;
                }
                char name[NAME_LEN + 1];
                memcpy(name, m + NAME_OFFSET, NAME_LEN);
                name[NAME_LEN] = 0;
                if (!module_name_ok(name)) {
                        r = log_reason(err, err_size, -EBADMSG, "'%s': module %zu of the list has no module name", vmcore, n + 1);
                        goto out;
                }
                char **nv = realloc(v, (n + 2) * sizeof *v);
                if (!nv) {
                        r = -ENOMEM;
                        goto out;
                }
                v = nv;
                if (!(v[n] = strdup(name))) {
                        r = -ENOMEM;
                        goto out;
                }
                v[++n] = NULL;
                memcpy(&next, m + LIST_OFFSET, sizeof next);
        }
out:
        free(raw);
        kdump_free(ctx);
        close(fd);
        if (r < 0) {
                strv_free(v, n);
                return r;
        }
        *ret = v;
        return 0;
}
