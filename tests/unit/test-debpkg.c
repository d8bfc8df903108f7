/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the streaming debug-package reader: packages made here with libarchive in the
 * layouts Debian has used (files, a vmlinux under lib/modules/, links in either order, links
 * to links, links that leave the package), read through the same callback a download uses. */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "pipeline/symbols/debpkg.h"
#include "tests/tap.h"

#define REL "7.2.13+deb14-cloud-amd64"
#define DBG "usr/lib/debug/"

/* One entry of a package's data.tar: a file with contents, or a link (target). */
struct entry {
        const char *path, *data, *link;
};

struct buffer {
        unsigned char *data;
        size_t len, cap, pos;
        int fail_errno; /* the reader fails at once with this (a 404 is ENOENT) */
};

static la_ssize_t buffer_write(struct archive *a, void *userdata, const void *data, size_t n) {
        struct buffer *b = userdata;
        (void) a;
        if (b->len + n > b->cap) {
                size_t cap = (b->len + n) * 2;
                unsigned char *nd = realloc(b->data, cap);
                if (!nd)
                        return -1;
                b->data = nd;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, n);
        b->len += n;
        return (la_ssize_t) n;
}

static void add(struct archive *a, const char *path, const void *data, size_t len, const char *link) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_perm(e, link ? 0777 : 0644);
        archive_entry_set_filetype(e, link ? AE_IFLNK : AE_IFREG);
        if (link)
                archive_entry_set_symlink(e, link);
        else
                archive_entry_set_size(e, (la_int64_t) len);
        archive_write_header(a, e);
        if (!link)
                archive_write_data(a, data, len);
        archive_entry_free(e);
}

/* A .deb: debian-binary, control.tar, data.tar (uncompressed, entries in the order given). */
static struct buffer make_deb(const struct entry *entries, size_t n) {
        struct buffer tar = { 0 }, deb = { 0 };
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, &tar, NULL, buffer_write, NULL);
        for (size_t i = 0; i < n; i++)
                add(a, entries[i].path, entries[i].data, entries[i].data ? strlen(entries[i].data) : 0, entries[i].link);
        archive_write_free(a);

        a = archive_write_new();
        archive_write_set_format_ar_svr4(a);
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, &deb, NULL, buffer_write, NULL);
        add(a, "debian-binary", "2.0\n", 4, NULL);
        add(a, "control.tar", "", 0, NULL);
        add(a, "data.tar", tar.data, tar.len, NULL);
        archive_write_free(a);
        free(tar.data);
        return deb;
}

static ssize_t buffer_read(void *userdata, void *buf, size_t len) {
        struct buffer *b = userdata;
        if (b->fail_errno)
                return -b->fail_errno;
        size_t n = b->len - b->pos < len ? b->len - b->pos : len;
        memcpy(buf, b->data + b->pos, n);
        b->pos += n;
        return (ssize_t) n;
}

static char dest[] = "/tmp/test-debpkg-XXXXXX";

/* Extracts the package of entries into a fresh dest; the result and err for the checks. */
static int extract(const struct entry *entries, size_t n, char *const *modules, bool modules_only,
                   struct debpkg_result *res, char *err, size_t err_size) {
        remove_tree(dest);
        mkdir(dest, 0700);
        struct buffer b = make_deb(entries, n);
        struct debpkg_want want = { .release = REL, .modules = modules, .max_bytes = 1 << 20, .modules_only = modules_only };
        err[0] = 0;
        int r = debpkg_extract(buffer_read, &b, &want, dest, res, err, err_size);
        free(b.data);
        return r;
}

/* The contents of dest/name, or "" when it is not there. */
static const char *contents(const char *name) {
        static char buf[256];
        char path[512], *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dest, name);
        buf[0] = 0;
        if (read_file_max(path, sizeof buf - 1, &data, &len) == 0) {
                memcpy(buf, data, len);
                buf[len] = 0;
        }
        free(data);
        return buf;
}

#define EXTRACT(entries, modules, only) \
        extract(entries, sizeof entries / sizeof entries[0], modules, only, &res, err, sizeof err)

static void link_targets(void) {
        char out[256];
        tap_ok(debpkg_link_target(DBG "boot/vmlinux-" REL, "../lib/modules/" REL "/vmlinux", out, sizeof out) &&
                       !strcmp(out, DBG "lib/modules/" REL "/vmlinux"),
               "a relative link is resolved from its folder (%s)", out);
        tap_ok(debpkg_link_target(DBG "boot/vmlinux-" REL, "/" DBG "lib/modules/" REL "/./vmlinux", out, sizeof out) &&
                       !strcmp(out, DBG "lib/modules/" REL "/vmlinux"),
               "an absolute link is resolved from the package's root (%s)", out);
        tap_ok(debpkg_link_target("a/b/c", "../../x/y", out, sizeof out) && !strcmp(out, "x/y"), "two levels up (%s)", out);
        tap_ok(!debpkg_link_target(DBG "boot/vmlinux", "../../../../../etc/shadow", out, sizeof out),
               "a link above the package's root is refused");
        tap_ok(!debpkg_link_target("a", "..", out, sizeof out), "a link to the root's parent is refused");
        tap_ok(!debpkg_link_target("a/b", "../../..", out, sizeof out), "a link past the root by one is refused");
        tap_ok(!debpkg_link_target("a/b", "c/d/e/f", out, 6), "a target longer than the buffer is refused");
}

int main(void) {
        struct debpkg_result res;
        char err[512];
        if (!mkdtemp(dest)) {
                printf("Bail out! cannot make a temporary folder: %s\n", strerror(errno));
                return 1;
        }
        link_targets();

        /* Debian up to 6.x: the vmlinux is a file under boot/ */
        static const struct entry plain[] = {
                { DBG "boot/vmlinux-" REL, "VMLINUX", NULL },
                { DBG "lib/modules/" REL "/kernel/drivers/block/virtio_blk.ko", "VIRTIO_BLK", NULL },
        };
        char *virtio[] = { "virtio_blk", NULL };
        tap_ok(EXTRACT(plain, virtio, false) == 0, "plain layout: extracted (%s)", err);
        tap_is_str(contents("vmlinux"), "VMLINUX", "plain layout: the vmlinux");
        tap_is_str(contents("modules/kernel/drivers/block/virtio_blk.ko"), "VIRTIO_BLK", "plain layout: the module");
        tap_ok(res.stopped_early && res.modules_found == 1, "plain layout: stopped once all was out");

        /* Debian 7.x: the vmlinux under lib/modules/, boot/vmlinux-R a link to it, met first */
        static const struct entry link_first[] = {
                { DBG "boot/vmlinux-" REL, NULL, "../lib/modules/" REL "/vmlinux" },
                { DBG "lib/modules/" REL "/kernel/drivers/block/virtio_blk.ko", "VIRTIO_BLK", NULL },
                { DBG "lib/modules/" REL "/vmlinux", "VMLINUX7", NULL },
        };
        tap_ok(EXTRACT(link_first, virtio, false) == 0, "link before its target: extracted (%s)", err);
        tap_is_str(contents("vmlinux"), "VMLINUX7", "link before its target: the target's contents");

        /* the target first: found at its own (known) name */
        static const struct entry target_first[] = {
                { DBG "lib/modules/" REL "/vmlinux", "VMLINUX7", NULL },
                { DBG "boot/vmlinux-" REL, NULL, "../lib/modules/" REL "/vmlinux" },
        };
        tap_ok(EXTRACT(target_first, NULL, false) == 0, "target before its link: extracted (%s)", err);
        tap_is_str(contents("vmlinux"), "VMLINUX7", "target before its link: the vmlinux");

        /* a link to a link to a file elsewhere, absolute */
        static const struct entry chain[] = {
                { DBG "boot/vmlinux-" REL, NULL, "vmlinux-real" },
                { DBG "boot/vmlinux-real", NULL, "/" DBG ".build-id/ab/cdef.debug" },
                { DBG ".build-id/ab/cdef.debug", "CHAINED", NULL },
        };
        tap_ok(EXTRACT(chain, NULL, false) == 0, "a link to a link: extracted (%s)", err);
        tap_is_str(contents("vmlinux"), "CHAINED", "a link to a link: the last target's contents");

        /* a link that leaves the package is not followed; the file outside it is not read */
        static const struct entry escape[] = {
                { DBG "boot/vmlinux-" REL, NULL, "../../../../../../etc/shadow" },
                { "etc/shadow", "SECRET", NULL },
        };
        tap_is_int(EXTRACT(escape, NULL, false), -ENOENT, "a link out of the package: no vmlinux");
        tap_is_str(contents("vmlinux"), "", "a link out of the package: nothing written");

        /* a link whose target never comes: the error names both */
        static const struct entry dangling[] = {
                { DBG "boot/vmlinux-" REL, NULL, "../lib/modules/" REL "/vmlinux" },
                { DBG "lib/modules/" REL "/modules.order", "x", NULL },
        };
        tap_is_int(EXTRACT(dangling, NULL, false), -ENOENT, "a dangling link: not found");
        tap_ok(strstr(err, "boot/vmlinux-" REL " is a link to " DBG "lib/modules/" REL "/vmlinux") != NULL,
               "a dangling link: the error names the link and its target (%s)", err);

        /* no vmlinux at all: both names said */
        static const struct entry none[] = { { DBG "lib/modules/" REL "/modules.order", "x", NULL } };
        tap_is_int(EXTRACT(none, NULL, false), -ENOENT, "no vmlinux: not found");
        tap_ok(strstr(err, "boot/vmlinux-" REL) && strstr(err, "lib/modules/" REL "/vmlinux"),
               "no vmlinux: the error names both places (%s)", err);

        /* module debug files that are links, to files named by build-id */
        static const struct entry mod_links[] = {
                { DBG ".build-id/11/aaaa.debug", "NOT WANTED", NULL },
                { DBG "lib/modules/" REL "/kernel/drivers/block/virtio_blk.ko", NULL, "../../../../../../.build-id/22/bbbb.debug" },
                { DBG "lib/modules/" REL "/kernel/fs/ext4/ext4.ko", NULL, "../../../../../../.build-id/11/aaaa.debug" },
                { DBG ".build-id/22/bbbb.debug", "VIRTIO_BLK_DEBUG", NULL },
        };
        tap_ok(EXTRACT(mod_links, virtio, true) == 0, "module links: extracted (%s)", err);
        tap_is_str(contents("modules/kernel/drivers/block/virtio_blk.ko"), "VIRTIO_BLK_DEBUG",
                   "module links: the wanted module's target, under the module's name");
        tap_is_str(contents("modules/kernel/fs/ext4/ext4.ko"), "", "module links: a module not asked for is not written");
        tap_is_int((int) res.modules_found, 1, "module links: one module found");

        /* the package is not there (the server's 404): said as such, nothing read */
        struct buffer missing = { .fail_errno = ENOENT };
        struct debpkg_want want = { .release = REL, .max_bytes = 1 << 20 };
        tap_is_int(debpkg_extract(buffer_read, &missing, &want, dest, &res, err, sizeof err), -ENOENT,
                   "no such package: -ENOENT");
        tap_ok(res.read_error == ENOENT && res.bytes_read == 0, "no such package: the reader's error is kept");
        tap_ok(strstr(err, "not a Debian package") == NULL, "no such package: not called 'not a Debian package' (%s)", err);

        remove_tree(dest);
        return tap_done();
}
