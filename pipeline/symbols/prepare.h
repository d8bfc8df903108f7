/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A vmlinux prepared for speed: crash's embedded gdb reads a .gdb_index instead of building
 * its symbol tables from all of DWARF at every start, and the .rela* sections a linked vmlinux
 * keeps (--emit-relocs, for KASLR) are dropped, since a debugger never applies them to an
 * executable. The file is rewritten beside itself and renamed over it only once its build-id
 * has been read again and matches. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

struct job;

/* Whether the file is prepared already (has a .gdb_index). */
bool prepare_done(const char *path);

/* Prepares path in place. build_id: what the file must carry afterwards ("" : the one it has
 * now). Returns 1 when it was prepared already, 0 when it has been now, -EBADMSG when the
 * result's build-id differed (refused, nothing replaced), -errno otherwise; err says why. The
 * file at path is whole and usable whatever happens. */
int prepare_vmlinux(const struct config *cfg, struct job *log, const char *path, const char *build_id, char *err,
                    size_t err_size);
