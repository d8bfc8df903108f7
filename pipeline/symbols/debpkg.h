/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Streaming extraction from a Debian or Ubuntu debug package (.deb/.ddeb): the ar archive is
 * read as it arrives, its data.tar.* unpacked on the fly, and only the vmlinux and the debug
 * files of wanted modules are written. No dpkg, no copy of the whole package. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef ssize_t (*debpkg_read_fn)(void *userdata, void *buf, size_t len);

struct debpkg_want {
        const char *release;     /* usr/lib/debug/boot/vmlinux-<release>, …/lib/modules/<release>/ */
        char *const *modules;    /* module names (as the kernel lists them), NULL-terminated; NULL: none */
        uint64_t max_bytes;      /* most bytes written */
        bool modules_only;       /* no vmlinux: module debug files for an entry that has one */
        /* Called at most once, before any module entry is looked at: with the package's
         * System.map for the release (map, its text), or, when the vmlinux comes first without
         * one, with the extracted vmlinux (map NULL). The module names it returns (valid until
         * debpkg_extract returns; NULL: keep `modules`) are the ones wanted from then on. */
        char *const *(*learn_modules)(void *userdata, const char *map, size_t map_len, const char *vmlinux);
        void *learn_userdata;
};

struct debpkg_result {
        unsigned modules_found;
        uint64_t bytes_written;
        uint64_t bytes_read;     /* of the package */
        bool stopped_early;      /* everything wanted was found before the end of the package */
        int read_error;          /* errno of the reader's failure (ENOENT: no such package), or 0 */
};

/* Writes dest/vmlinux and dest/modules/<path under lib/modules/<release>/>, each file whole or
 * not at all. The vmlinux is usr/lib/debug/boot/vmlinux-<release> or (Debian since 7.x)
 * usr/lib/debug/lib/modules/<release>/vmlinux. A wanted name that is a symbolic link is
 * followed inside the package, in the same read: the file it points to, when it comes later,
 * is taken in its place; a link that leaves the package is not followed.
 * -ENOENT: the package holds no vmlinux for that release (with modules_only: none of the
 * modules), or (res->read_error ENOENT) there is no such package; -EBADMSG: not a readable
 * package. */
int debpkg_extract(debpkg_read_fn read, void *userdata, const struct debpkg_want *want, const char *dest,
                   struct debpkg_result *res, char *err, size_t err_size);

/* A module's name as the kernel gives it, from a file name or path ("virtio-blk.ko.xz" →
 * "virtio_blk"): the kernel names modules with '_' where file names may have '-'. */
void debpkg_module_name(const char *file, char *out, size_t size);

/* The package path a symbolic link at link (a package path) points to, "." and ".." resolved,
 * an absolute target taken from the package's root. False when it leaves the package. */
bool debpkg_link_target(const char *link, const char *target, char *out, size_t size);
