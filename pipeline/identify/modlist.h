/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The modules a dump had loaded, read from its memory: the kernel's `modules` list walked
 * through the dump's page tables (libkdumpfile does the reading and the address translation).
 * Needs only the link-time address of `modules`, from a System.map or a vmlinux's .symtab, so
 * the list is known before the debug files of the modules are looked for. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MODLIST_MAX 4096

/* The names of the loaded modules, NULL-terminated, in the list's order (free each and the
 * vector). modules_addr is the link-time address; the dump's KERNELOFFSET is added.
 * -EPROTONOSUPPORT: a dump libkdumpfile cannot read or a 32-bit kernel; -EBADMSG: the list
 * is damaged (a name that is no module name, a loop). */
int modlist_read(const char *vmcore, uint64_t modules_addr, char ***ret, char *err, size_t err_size);

/* The address of `modules` in a System.map's text ("ffffffff82b27160 D modules"); -ENOENT. */
int modlist_map_address(const char *map, size_t len, uint64_t *ret);
