/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a debug ELF file (a vmlinux, a module's .ko debug file) says about the build it belongs
 * to: its GNU build-id, and whether its linux_banner names a given release and version. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the NT_GNU_BUILD_ID note as lowercase hex into buf (at least 129 bytes).
 * -ENOEXEC: not an ELF file; -ENODATA: no build-id note. */
int elfinfo_build_id(const char *path, char *buf, size_t size);
int elfinfo_build_id_fd(int fd, char *buf, size_t size);

/* Whether the file's read-only data holds "Linux version RELEASE (…) VERSION", the banner the
 * kernel prints at boot: the check used when a dump has no build-id. */
int elfinfo_banner_matches(const char *path, const char *release, const char *version, bool *ret);

/* Whether the file has a section of that name (".gdb_index"). */
int elfinfo_has_section(const char *path, const char *name, bool *ret);

/* The value of the first symbol of that name in the file's .symtab (a link-time address).
 * -ENOENT: no such symbol; -ENODATA: no section headers; -ENOEXEC: not an ELF file. */
int elfinfo_symbol(const char *path, const char *name, uint64_t *ret);
