/* .deb/.ddeb streaming extraction with libarchive: ar outside, tar (xz, zstd, gz …) inside.
 * Reading stops as soon as everything wanted has been written. */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "pipeline/debpkg.h"

struct ctx {
        debpkg_read_fn read;
        void *userdata;
        struct archive *outer;
        char buf[1 << 20];
        char chunk[1 << 20];
        uint64_t bytes_read;
        int read_error;
};

static la_ssize_t outer_read(struct archive *a, void *userdata, const void **buf) {
        struct ctx *c = userdata;
        ssize_t n = c->read(c->userdata, c->buf, sizeof c->buf);
        if (n < 0) {
                c->read_error = (int) -n;
                archive_set_error(a, (int) -n, "reading the package failed");
                return -1;
        }
        c->bytes_read += (uint64_t) n;
        *buf = c->buf;
        return n;
}

static la_ssize_t inner_read(struct archive *a, void *userdata, const void **buf) {
        struct ctx *c = userdata;
        (void) a;
        la_ssize_t n = archive_read_data(c->outer, c->chunk, sizeof c->chunk);
        *buf = c->chunk;
        return n;
}

void debpkg_module_name(const char *file, char *out, size_t size) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        size_t n = strcspn(base, ".");
        if (n >= size)
                n = size - 1;
        for (size_t i = 0; i < n; i++)
                out[i] = base[i] == '-' ? '_' : base[i];
        out[n] = 0;
}

static bool wanted_module(const struct debpkg_want *w, const char *file) {
        char name[128], other[128];
        if (!w->modules)
                return false;
        debpkg_module_name(file, name, sizeof name);
        for (char *const *m = w->modules; *m; m++) {
                debpkg_module_name(*m, other, sizeof other);
                if (strcmp(name, other) == 0)
                        return true;
        }
        return false;
}

static int write_entry(struct archive *in, const char *path, uint64_t *written, uint64_t max, char *err, size_t err_size) {
        char part[PATH_MAX + 8];
        const void *buf;
        size_t size;
        la_int64_t off, end = 0;
        int r = 0;

        snprintf(part, sizeof part, "%s.part", path);
        int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return log_reason(err, err_size, -errno, "cannot create '%s': %s", part, strerror(errno));
        for (;;) {
                int ar = archive_read_data_block(in, &buf, &size, &off);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = log_reason(err, err_size, -EBADMSG, "the package is damaged: %s",
                                 archive_error_string(in) ? archive_error_string(in) : "unreadable");
                        goto out;
                }
                if (*written + size > max) {
                        r = log_reason(err, err_size, -EFBIG, "the debug files pass the %llu bytes allowed",
                                 (unsigned long long) max);
                        goto out;
                }
                if (lseek(fd, (off_t) off, SEEK_SET) < 0 || (r = write_sparse(fd, buf, size)) < 0) {
                        r = log_reason(err, err_size, r < 0 ? r : -errno, "cannot write '%s': %s", part,
                                 strerror(r < 0 ? -r : errno));
                        goto out;
                }
                *written += size;
                if (off + (la_int64_t) size > end)
                        end = off + (la_int64_t) size;
        }
        if (ftruncate(fd, (off_t) end) < 0 || fsync(fd) < 0)
                r = log_reason(err, err_size, -errno, "cannot write '%s': %s", part, strerror(errno));
out:
        if (close(fd) < 0 && r == 0)
                r = log_reason(err, err_size, -errno, "cannot write '%s': %s", part, strerror(errno));
        if (r == 0 && rename(part, path) < 0)
                r = log_reason(err, err_size, -errno, "cannot rename '%s': %s", part, strerror(errno));
        if (r < 0)
                unlink(part);
        return r;
}

static int extract_data(struct ctx *c, const struct debpkg_want *w, const char *dest, struct debpkg_result *res,
                        char *err, size_t err_size) {
        char vmlinux[PATH_MAX], modprefix[PATH_MAX];
        size_t want_modules = 0;
        bool have_vmlinux = false;
        struct archive_entry *e;
        int r = 0;

        snprintf(vmlinux, sizeof vmlinux, "usr/lib/debug/boot/vmlinux-%s", w->release);
        snprintf(modprefix, sizeof modprefix, "usr/lib/debug/lib/modules/%s/", w->release);
        for (char *const *m = w->modules; m && *m; m++)
                want_modules++;

        struct archive *in = archive_read_new();
        if (!in)
                return -ENOMEM;
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        if (archive_read_open(in, c, NULL, inner_read, NULL) != ARCHIVE_OK) {
                r = log_reason(err, err_size, -EBADMSG, "the package's data.tar cannot be read: %s",
                         archive_error_string(in) ? archive_error_string(in) : "unknown format");
                goto out;
        }
        for (;;) {
                int ar = archive_read_next_header(in, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = log_reason(err, err_size, c->read_error ? -c->read_error : -EBADMSG, "the package is damaged: %s",
                                 archive_error_string(in) ? archive_error_string(in) : "unreadable");
                        goto out;
                }
                const char *p = archive_entry_pathname(e);
                if (!p || archive_entry_filetype(e) != AE_IFREG)
                        continue;
                while (p[0] == '.' && p[1] == '/')
                        p += 2;
                char out[PATH_MAX];
                if (!w->modules_only && strcmp(p, vmlinux) == 0) {
                        snprintf(out, sizeof out, "%s/vmlinux", dest);
                        r = write_entry(in, out, &res->bytes_written, w->max_bytes, err, err_size);
                        if (r < 0)
                                goto out;
                        have_vmlinux = true;
                } else if (strncmp(p, modprefix, strlen(modprefix)) == 0 && strstr(p, ".ko") &&
                           !strstr(p, "/../") && wanted_module(w, p)) {
                        snprintf(out, sizeof out, "%s/modules/%s", dest, p + strlen(modprefix));
                        char *slash = strrchr(out, '/');
                        *slash = 0;
                        r = mkdir_parents(out);
                        *slash = '/';
                        if (r == 0)
                                r = write_entry(in, out, &res->bytes_written, w->max_bytes, err, err_size);
                        if (r < 0)
                                goto out;
                        res->modules_found++;
                }
                if ((have_vmlinux || w->modules_only) && res->modules_found >= want_modules) {
                        res->stopped_early = true;
                        break;
                }
        }
        if (w->modules_only && !res->modules_found)
                r = log_reason(err, err_size, -ENOENT, "the package holds none of the %zu module(s)", want_modules);
        else if (!w->modules_only && !have_vmlinux)
                r = log_reason(err, err_size, -ENOENT, "the package holds no %s", vmlinux);
out:
        archive_read_free(in);
        return r;
}

int debpkg_extract(debpkg_read_fn read, void *userdata, const struct debpkg_want *want, const char *dest,
                   struct debpkg_result *res, char *err, size_t err_size) {
        struct ctx *c = calloc(1, sizeof *c);
        struct archive_entry *e;
        int r = -ENOENT;

        memset(res, 0, sizeof *res);
        if (!c)
                return -ENOMEM;
        c->read = read;
        c->userdata = userdata;
        c->outer = archive_read_new();
        if (!c->outer) {
                free(c);
                return -ENOMEM;
        }
        archive_read_support_format_ar(c->outer);
        if (archive_read_open(c->outer, c, NULL, outer_read, NULL) != ARCHIVE_OK) {
                r = log_reason(err, err_size, c->read_error ? -c->read_error : -EBADMSG, "not a Debian package: %s",
                         archive_error_string(c->outer) ? archive_error_string(c->outer) : "unknown format");
                goto out;
        }
        for (;;) {
                int ar = archive_read_next_header(c->outer, &e);
                if (ar == ARCHIVE_EOF) {
                        r = log_reason(err, err_size, -EBADMSG, "not a Debian package: no data.tar member");
                        break;
                }
                if (ar < ARCHIVE_WARN) {
                        r = log_reason(err, err_size, c->read_error ? -c->read_error : -EBADMSG, "not a Debian package: %s",
                                 archive_error_string(c->outer) ? archive_error_string(c->outer) : "unreadable");
                        break;
                }
                const char *name = archive_entry_pathname(e);
                if (name && strncmp(name, "data.tar", 8) == 0) {
                        r = extract_data(c, want, dest, res, err, err_size);
                        break;
                }
        }
out:
        res->bytes_read = c->bytes_read;
        archive_read_free(c->outer);
        free(c);
        return r;
}
