/* SPDX-License-Identifier: GPL-3.0-or-later */
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
#include "pipeline/symbols/debpkg.h"

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
                archive_set_error(a, (int) -n, "cannot read the package");
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
                (void) unlink(part); /* a .part file is never taken for a whole one */
        return r;
}

/* A path inside the package as the tar names it, without "./" in front. */
static const char *entry_path(struct archive_entry *e) {
        const char *p = archive_entry_pathname(e);
        while (p && p[0] == '.' && p[1] == '/')
                p += 2;
        return p;
}

/* The package path a symbolic link at link points to: an absolute target is taken from the
 * package's root, a relative one from the link's folder; "." and ".." are resolved. False when
 * the target leaves the package or is too long. */
bool debpkg_link_target(const char *link, const char *target, char *out, size_t size) {
        char buf[PATH_MAX * 2];
        size_t dir = 0;
        if (target[0] != '/' && strrchr(link, '/'))
                dir = (size_t) (strrchr(link, '/') - link) + 1;
        int n = snprintf(buf, sizeof buf, "%.*s%s", (int) dir, link, target);
        if (n < 0 || (size_t) n >= sizeof buf || size == 0)
                return false;
        size_t o = 0;
        for (char *save = NULL, *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
                if (!strcmp(part, "."))
                        continue;
                if (!strcmp(part, "..")) {
                        if (o == 0)
                                return false; /* above the package's root */
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        o = o > 0 ? o - 1 : 0;
                        continue;
                }
                size_t l = strlen(part);
                if (o + (o ? 1 : 0) + l + 1 > size)
                        return false;
                if (o)
                        out[o++] = '/';
                memcpy(out + o, part, l);
                o += l;
        }
        out[o] = 0;
        return o > 0;
}

/* Links met in the package whose names are wanted: a later entry at target is read as if it
 * were at name (links to links resolve the same way, in stream order). */
struct alias {
        char *target, *name;
};

struct aliases {
        struct alias *v;
        size_t n;
};

static const char *alias_of(const struct aliases *a, const char *path) {
        for (size_t i = 0; i < a->n; i++)
                if (!strcmp(a->v[i].target, path))
                        return a->v[i].name;
        return NULL;
}

static int alias_add(struct aliases *a, const char *target, const char *name) {
        struct alias *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        a->v = nv;
        a->v[a->n].target = strdup(target);
        a->v[a->n].name = strdup(name);
        if (!a->v[a->n].target || !a->v[a->n].name) {
                free(a->v[a->n].target);
                free(a->v[a->n].name);
                return -ENOMEM;
        }
        a->n++;
        return 0;
}

static void aliases_free(struct aliases *a) {
        for (size_t i = 0; i < a->n; i++) {
                free(a->v[i].target);
                free(a->v[i].name);
        }
        free(a->v);
}

/* What the extraction looks for, and where each file goes. */
struct layout {
        char vmlinux[PATH_MAX];     /* usr/lib/debug/boot/vmlinux-<release> */
        char vmlinux_alt[PATH_MAX]; /* usr/lib/debug/lib/modules/<release>/vmlinux (Debian since 7.x) */
        char modprefix[PATH_MAX];   /* usr/lib/debug/lib/modules/<release>/ */
        char map[PATH_MAX];         /* usr/lib/debug/boot/System.map-<release> */
        char map_alt[PATH_MAX];     /* usr/lib/debug/lib/modules/<release>/System.map */
};

#define MAX_MAP (64u << 20)

/* Reads a System.map entry into memory: it is only looked at, never written. */
static int read_map(struct archive *in, struct archive_entry *e, char **ret, size_t *ret_len) {
        la_int64_t size = archive_entry_size(e);
        if (size <= 0 || size > (la_int64_t) MAX_MAP)
                return -EFBIG;
        char *text = malloc((size_t) size + 1);
        size_t len = 0;
        if (!text)
                return -ENOMEM;
        while (len < (size_t) size) {
                la_ssize_t n = archive_read_data(in, text + len, (size_t) size - len);
                if (n <= 0) {
                        free(text);
                        return -EBADMSG;
                }
                len += (size_t) n;
        }
        text[len] = 0;
        *ret = text;
        *ret_len = len;
        return 0;
}

static size_t count_modules(char *const *m) {
        size_t n = 0;
        while (m && m[n])
                n++;
        return n;
}

static bool is_vmlinux(const struct layout *l, const char *name) {
        return !strcmp(name, l->vmlinux) || !strcmp(name, l->vmlinux_alt);
}

static bool is_wanted_module(const struct layout *l, const struct debpkg_want *w, const char *name) {
        return strncmp(name, l->modprefix, strlen(l->modprefix)) == 0 && strstr(name, ".ko") && !strstr(name, "/../") &&
               wanted_module(w, name);
}

static int extract_data(struct ctx *c, const struct debpkg_want *want, const char *dest, struct debpkg_result *res,
                        char *err, size_t err_size) {
        struct debpkg_want wl = *want, *w = &wl; /* its module list may be learnt on the way */
        bool learnt = !w->learn_modules;
        struct layout l;
        struct aliases links = { 0 };
        char vmlinux_link[PATH_MAX] = ""; /* where a vmlinux link pointed, for the error */
        size_t want_modules = 0;
        bool have_vmlinux = false;
        struct archive_entry *e;
        int r = 0;

        snprintf(l.vmlinux, sizeof l.vmlinux, "usr/lib/debug/boot/vmlinux-%s", w->release);
        snprintf(l.vmlinux_alt, sizeof l.vmlinux_alt, "usr/lib/debug/lib/modules/%s/vmlinux", w->release);
        snprintf(l.modprefix, sizeof l.modprefix, "usr/lib/debug/lib/modules/%s/", w->release);
        snprintf(l.map, sizeof l.map, "usr/lib/debug/boot/System.map-%s", w->release);
        snprintf(l.map_alt, sizeof l.map_alt, "usr/lib/debug/lib/modules/%s/System.map", w->release);
        want_modules = count_modules(w->modules);

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
                const char *p = entry_path(e);
                if (!p)
                        continue;
                /* an entry a wanted link points to stands for that link */
                const char *name = alias_of(&links, p);
                if (!name)
                        name = p;
                if (!learnt && archive_entry_filetype(e) == AE_IFREG && (!strcmp(name, l.map) || !strcmp(name, l.map_alt))) {
                        char *map = NULL;
                        size_t map_len = 0;
                        learnt = true;
                        if (read_map(in, e, &map, &map_len) == 0) {
                                char *const *m = w->learn_modules(w->learn_userdata, map, map_len, NULL);
                                if (m) {
                                        w->modules = m;
                                        want_modules = count_modules(m);
                                }
                        }
                        free(map);
                        continue;
                }
                if (!learnt && !strncmp(name, l.modprefix, strlen(l.modprefix)) && strstr(name, ".ko"))
                        learnt = true; /* too late: the modules have begun; the list stays what it was */
                bool vm = !w->modules_only && is_vmlinux(&l, name) && !have_vmlinux;
                bool mod = !vm && is_wanted_module(&l, w, name);
                if (!vm && !mod)
                        continue;
                if (archive_entry_filetype(e) == AE_IFLNK) {
                        char target[PATH_MAX];
                        const char *t = archive_entry_symlink(e);
                        if (!t || !debpkg_link_target(p, t, target, sizeof target))
                                continue; /* leaves the package: never followed */
                        if (vm)
                                snprintf(vmlinux_link, sizeof vmlinux_link, "%s is a link to %s", p, target);
                        if ((r = alias_add(&links, target, name)) < 0)
                                goto out;
                        continue;
                }
                if (archive_entry_filetype(e) != AE_IFREG)
                        continue;
                char out[PATH_MAX];
                if (vm) {
                        snprintf(out, sizeof out, "%s/vmlinux", dest);
                        r = write_entry(in, out, &res->bytes_written, w->max_bytes, err, err_size);
                        if (r < 0)
                                goto out;
                        have_vmlinux = true;
                        if (!learnt) {
                                learnt = true;
                                char *const *m = w->learn_modules(w->learn_userdata, NULL, 0, out);
                                if (m) {
                                        w->modules = m;
                                        want_modules = count_modules(m);
                                }
                        }
                } else {
                        snprintf(out, sizeof out, "%s/modules/%s", dest, name + strlen(l.modprefix));
                        char *slash = strrchr(out, '/');
                        *slash = 0;
                        r = mkdir_parents(out);
                        *slash = '/';
                        /* a module at two names (a file and a link to it) is written once */
                        if (r == 0 && access(out, F_OK) == 0)
                                continue;
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
        else if (!w->modules_only && !have_vmlinux && vmlinux_link[0])
                r = log_reason(err, err_size, -ENOENT, "the package's %s, which does not follow it in the package", vmlinux_link);
        else if (!w->modules_only && !have_vmlinux)
                r = log_reason(err, err_size, -ENOENT, "the package holds no %s nor %s", l.vmlinux, l.vmlinux_alt);
out:
        aliases_free(&links);
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
                if (c->read_error)
                        r = log_reason(err, err_size, -c->read_error, "cannot read the package");
                else
                        r = log_reason(err, err_size, -EBADMSG, "not a Debian package: %s",
                                       archive_error_string(c->outer) ? archive_error_string(c->outer) : "unknown format");
                goto out;
        }
        for (;;) {
                int ar = archive_read_next_header(c->outer, &e);
                if (ar == ARCHIVE_EOF) {
                        r = log_reason(err, err_size, -EBADMSG, "not a Debian package: no data.tar member");
                        break;
                }
                if (ar < ARCHIVE_WARN && c->read_error) {
                        r = log_reason(err, err_size, -c->read_error, "cannot read the package");
                        break;
                }
                if (ar < ARCHIVE_WARN) {
                        r = log_reason(err, err_size, -EBADMSG, "not a Debian package: %s",
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
        res->read_error = c->read_error;
        archive_read_free(c->outer);
        free(c);
        return r;
}
