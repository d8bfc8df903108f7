/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unpack stage: libarchive extraction with path, link, type, size, count and ratio checks.
 * Nothing is created outside dest: every path is walked one component at a time with
 * O_NOFOLLOW, and no symbolic link is ever created. */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/magic.h"
#include "pipeline/progress.h"
#include "pipeline/unpack.h"

struct unpack {
        struct job *job;
        const struct config *cfg;
        struct unpack_stats *stats;
        uint64_t input_size;  /* the outermost input: what ratios are measured against */
        struct progress progress; /* of the archive being read: its bytes read of its size */
        char *err;
        size_t err_size;
};

/* the reason the upload is refused, in u->err */
#define errf(u, r, ...) log_reason((u)->err, (u)->err_size, (r), __VA_ARGS__)

enum kind { KIND_PLAIN, KIND_COMPRESSED, KIND_ARCHIVE };

/* No dump upload needs deeper paths; deeper ones only serve to exhaust inodes and stacks. */
#define MAX_DEPTH 64

/* What a file is, from its first bytes: a plain file (a dump, a log), a compressed single
 * file, or an archive. */
static enum kind sniff(const char *path) {
        unsigned char h[512];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return KIND_PLAIN;
        ssize_t n = read(fd, h, sizeof h);
        close(fd);
        if (n < 6)
                return KIND_PLAIN;
        switch (magic_kind(h, (size_t) n, NULL)) {
        case MAGIC_COMPRESSED: return KIND_COMPRESSED;
        case MAGIC_ARCHIVE: return KIND_ARCHIVE;
        default: break;
        }
        return KIND_PLAIN;
}

/* Checks an archive path and splits it into components. Refuses absolute paths and "..". */
static int split_path(struct unpack *u, const char *path, char ***ret, size_t *ret_n) {
        if (!path || !*path)
                return errf(u, -EPERM, "an archive entry has no name");
        if (path[0] == '/')
                return errf(u, -EPERM, "archive entry '%s' has an absolute path", path);
        char *copy = strdup(path), *save = NULL;
        char **parts = calloc(strlen(path) / 2 + 2, sizeof *parts);
        size_t n = 0;
        if (!copy || !parts) {
                free(copy);
                free(parts);
                return -ENOMEM;
        }
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        free(copy);
                        free(parts);
                        return errf(u, -EPERM, "archive entry '%s' climbs out with '..'", path);
                }
                if (n == MAX_DEPTH) {
                        free(copy);
                        free(parts);
                        return errf(u, -EPERM, "archive entry '%.80s…' is more than %d folders deep", path, MAX_DEPTH);
                }
                parts[n++] = c;
        }
        if (n == 0) {
                free(copy);
                free(parts);
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        /* parts point into copy: keep copy alive through parts[-1] */
        char **out = calloc(n + 2, sizeof *out);
        if (!out) {
                free(copy);
                free(parts);
                return -ENOMEM;
        }
        out[0] = copy;
        memcpy(out + 1, parts, n * sizeof *parts);
        free(parts);
        *ret = out + 1;
        *ret_n = n;
        return 0;
}

static void free_parts(char **parts) {
        if (parts) {
                free(parts[-1]);
                free(parts - 1);
        }
}

static int check_limits(struct unpack *u);

/* Opens (making them) the folders leading to the last component, never following a link.
 * Returns a directory fd for the parent. */
static int open_parent(struct unpack *u, int root, char **parts, size_t n, const char *path) {
        int fd = dup(root);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i + 1 < n; i++) {
                if (mkdirat(fd, parts[i], 0755) == 0) {
                        /* a folder made on the way counts as an entry too */
                        u->stats->entries++;
                        int r = check_limits(u);
                        if (r < 0) {
                                close(fd);
                                return r;
                        }
                } else if (errno != EEXIST) {
                        int r = -errno;
                        close(fd);
                        return errf(u, r, "cannot make folder for '%s': %s", path, strerror(-r));
                }
                int next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int e = errno;
                close(fd);
                if (next < 0)
                        return errf(u, e == ELOOP || e == ENOTDIR ? -EPERM : -e, "cannot enter folder for '%s': %s",
                                    path, strerror(e));
                fd = next;
        }
        return fd;
}

static int check_limits(struct unpack *u) {
        const struct config *c = u->cfg;
        struct unpack_stats *s = u->stats;
        if (s->entries > config_u64(c, CONF_UNPACK_MAX_ENTRIES))
                return errf(u, -EPERM, "the upload holds more than unpack.max_entries (%llu) entries",
                            (unsigned long long) config_u64(c, CONF_UNPACK_MAX_ENTRIES));
        if (s->bytes_out > config_u64(c, CONF_UNPACK_MAX_BYTES))
                return errf(u, -EPERM, "the upload unpacks to more than unpack.max_bytes (%llu bytes)",
                            (unsigned long long) config_u64(c, CONF_UNPACK_MAX_BYTES));
        /* measured against the whole upload, so that nesting cannot hide a bomb */
        uint64_t base = u->input_size > (1u << 20) ? u->input_size : (1u << 20);
        if (s->bytes_out / base >= config_u64(c, CONF_UNPACK_MAX_RATIO))
                return errf(u, -EPERM,
                            "the upload expands more than unpack.max_ratio (%llu) times its size: refused as a "
                            "compression bomb",
                            (unsigned long long) config_u64(c, CONF_UNPACK_MAX_RATIO));
        return 0;
}

/* Copies the current entry's data into fd, keeping holes. */
static int write_entry(struct unpack *u, struct archive *a, struct archive_entry *e, int fd, const char *path,
                       const char *label) {
        const void *buf;
        size_t size;
        la_int64_t offset, end = 0;
        for (;;) {
                int r = archive_read_data_block(a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return errf(u, -EBADMSG, "'%s' is damaged or truncated (in '%s'): %s", label, path,
                                    archive_error_string(a) ? archive_error_string(a) : "unreadable");
                if (lseek(fd, (off_t) offset, SEEK_SET) < 0)
                        return errf(u, -errno, "'%s': %s", path, strerror(errno));
                r = write_sparse(fd, buf, size);
                if (r < 0)
                        return errf(u, r, "cannot write '%s': %s%s", path, strerror(-r),
                                    r == -ENOSPC ? " (the disk is full)" : "");
                if (offset + (la_int64_t) size > end)
                        end = offset + (la_int64_t) size;
                u->stats->bytes_out += size;
                progress_update(&u->progress, (uint64_t) archive_filter_bytes(a, -1), 0, archive_entry_pathname(e));
                r = check_limits(u);
                if (r < 0)
                        return r;
        }
        /* a sparse file may end in a hole: the header has its real size */
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > end)
                end = archive_entry_size(e);
        if ((uint64_t) end > config_u64(u->cfg, CONF_UNPACK_MAX_BYTES))
                return errf(u, -EPERM, "'%s' claims %lld bytes, more than unpack.max_bytes (%llu bytes)", path,
                            (long long) end, (unsigned long long) config_u64(u->cfg, CONF_UNPACK_MAX_BYTES));
        if (ftruncate(fd, (off_t) end) < 0)
                return errf(u, -errno, "cannot write '%s': %s", path, strerror(errno));
        return 0;
}

static int handle_entry(struct unpack *u, struct archive *a, struct archive_entry *e, int root, const char *label) {
        const char *path = archive_entry_pathname(e);
        char **parts = NULL;
        size_t n = 0;
        int r, dirfd = -1, fd = -1;

        u->stats->entries++;
        r = check_limits(u);
        if (r < 0)
                return r;
        r = split_path(u, path, &parts, &n);
        if (r < 0)
                return r;
        if (n == 0)
                goto out; /* "./" */

        mode_t type = archive_entry_filetype(e);
        const char *hardlink = archive_entry_hardlink(e);
        const char *symlink = archive_entry_symlink(e);

        if (symlink) {
                /* a link whose target climbs out or is absolute is an attack; others are dropped */
                if (symlink[0] == '/') {
                        r = errf(u, -EPERM, "symbolic link '%s' points outside the upload (to '%s')", path, symlink);
                        goto out;
                }
                int depth = (int) n - 1;
                char *t = strdup(symlink), *save = NULL;
                if (!t) {
                        r = -ENOMEM;
                        goto out;
                }
                for (char *c = strtok_r(t, "/", &save); c && depth >= 0; c = strtok_r(NULL, "/", &save))
                        depth += strcmp(c, "..") == 0 ? -1 : strcmp(c, ".") == 0 ? 0 : 1;
                free(t);
                if (depth < 0) {
                        r = errf(u, -EPERM, "symbolic link '%s' points outside the upload (to '%s')", path, symlink);
                        goto out;
                }
                job_log(u->job, "%s: skipped symbolic link '%s' -> '%s'", label, path, symlink);
                goto out;
        }
        if (hardlink) {
                char **tparts = NULL;
                size_t tn = 0;
                char msg[512];
                snprintf(msg, sizeof msg, "hard link '%s' points outside the upload (to '%s')", path, hardlink);
                if (hardlink[0] == '/' || split_path(u, hardlink, &tparts, &tn) < 0 || tn == 0) {
                        free_parts(tparts);
                        r = errf(u, -EPERM, "%s", msg);
                        goto out;
                }
                int tdir = open_parent(u, root, tparts, tn, hardlink);
                struct stat st;
                if (tdir < 0 || fstatat(tdir, tparts[tn - 1], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
                        if (tdir >= 0)
                                close(tdir);
                        free_parts(tparts);
                        r = errf(u, -EPERM, "hard link '%s' does not point to a file of this upload (to '%s')", path,
                                 hardlink);
                        goto out;
                }
                dirfd = open_parent(u, root, parts, n, path);
                if (dirfd < 0) {
                        r = dirfd;
                        dirfd = -1;
                } else if (linkat(tdir, tparts[tn - 1], dirfd, parts[n - 1], 0) < 0)
                        r = errf(u, -errno, "cannot link '%s': %s", path, strerror(errno));
                close(tdir);
                free_parts(tparts);
                goto out;
        }
        switch (type) {
        case AE_IFDIR:
                dirfd = open_parent(u, root, parts, n, path);
                if (dirfd < 0) {
                        r = dirfd;
                        dirfd = -1;
                } else if (mkdirat(dirfd, parts[n - 1], 0755) < 0 && errno != EEXIST)
                        r = errf(u, -errno, "cannot make folder '%s': %s", path, strerror(errno));
                goto out;
        case AE_IFREG:
                break;
        default:
                r = errf(u, -EPERM, "'%s' is a %s, not a file", path,
                         type == AE_IFCHR    ? "character device"
                         : type == AE_IFBLK  ? "block device"
                         : type == AE_IFIFO  ? "named pipe"
                         : type == AE_IFSOCK ? "socket"
                                             : "special file");
                goto out;
        }
        dirfd = open_parent(u, root, parts, n, path);
        if (dirfd < 0) {
                r = dirfd;
                dirfd = -1;
                goto out;
        }
        /* a later entry of the same name replaces an earlier one, as tar does */
        unlinkat(dirfd, parts[n - 1], 0);
        fd = openat(dirfd, parts[n - 1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
                r = errf(u, -errno, "cannot create '%s': %s", path, strerror(errno));
                goto out;
        }
        r = write_entry(u, a, e, fd, path, label);
        if (close(fd) < 0 && r == 0)
                r = errf(u, -errno, "cannot write '%s': %s", path, strerror(errno));
        fd = -1;
out:
        if (dirfd >= 0)
                close(dirfd);
        free_parts(parts);
        return r;
}

static struct archive *open_input(const char *input, bool raw) {
        struct archive *a = archive_read_new();
        if (!a)
                return NULL;
        archive_read_support_filter_all(a);
        if (raw)
                archive_read_support_format_raw(a);
        else
                archive_read_support_format_all(a);
        if (archive_read_open_filename(a, input, 1 << 20) != ARCHIVE_OK)
                return a; /* the caller reports archive_error_string() */
        return a;
}

/* Extracts an archive (raw = a single compressed file) into root. */
static int extract(struct unpack *u, const char *input, int root, const char *name, bool raw) {
        struct archive *a = open_input(input, raw);
        struct archive_entry *e;
        int r = 0;

        if (!a)
                return -ENOMEM;
        u->stats->archives++;
        struct stat st;
        progress_init(&u->progress, u->job, "unpack", PROGRESS_BYTES, stat(input, &st) == 0 ? (uint64_t) st.st_size : 0);
        for (;;) {
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = errf(u, -EBADMSG, "'%s' is damaged or truncated: %s", name,
                                 archive_error_string(a) ? archive_error_string(a) : "unreadable");
                        break;
                }
                if (raw) {
                        /* the single file inside: the name without its compression suffix */
                        char out[NAME_MAX + 1];
                        snprintf(out, sizeof out, "%s", name);
                        char *dot = strrchr(out, '.');
                        if (dot && dot != out)
                                *dot = 0;
                        if (!dot || dot == out || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
                                snprintf(out, sizeof out, "%s.out", name);
                        archive_entry_set_pathname(e, out);
                        archive_entry_set_filetype(e, AE_IFREG);
                }
                r = handle_entry(u, a, e, root, name);
                if (r < 0)
                        break;
        }
        u->stats->bytes_in += (uint64_t) archive_filter_bytes(a, -1);
        if (r == 0) /* read to its end: a tar's padding after the last entry is never read */
                progress_done(&u->progress, u->progress.total ? u->progress.total : (uint64_t) archive_filter_bytes(a, -1));
        archive_read_free(a);
        return r;
}

/* dir/NAME+SUFFIX, or with a counter when that is taken: nested results never overwrite. */
static int free_name(struct unpack *u, const char *dir, const char *name, const char *suffix, char *out, size_t size) {
        for (unsigned i = 0; i < 1000; i++) {
                int n = i ? snprintf(out, size, "%s/%.200s%s.%u", dir, name, suffix, i)
                          : snprintf(out, size, "%s/%.200s%s", dir, name, suffix);
                if (n < 0 || (size_t) n >= size)
                        return errf(u, -ENAMETOOLONG, "path too long under '%s'", dir);
                if (access(out, F_OK) < 0 && errno == ENOENT)
                        return 0;
        }
        return errf(u, -EEXIST, "too many files named '%s' under '%s'", name, dir);
}

/* Walks the tree under root for files that are themselves archives or compressed, and opens
 * them in place (into a folder of their name, or beside them for a compressed file). */
static int expand_nested(struct unpack *u, const char *dir, unsigned depth) {
        DIR *d = opendir(dir);
        int r = 0;
        if (!d)
                return errf(u, -errno, "cannot read '%s': %s", dir, strerror(errno));
        char **names = NULL;
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d));) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char **nn = realloc(names, (n + 1) * sizeof *names);
                if (!nn || !(nn[n] = strdup(e->d_name))) {
                        names = nn ? nn : names;
                        r = -ENOMEM;
                        break;
                }
                names = nn;
                n++;
        }
        closedir(d);
        for (size_t i = 0; i < n && r == 0; i++) {
                char path[PATH_MAX];
                struct stat st;
                if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int) sizeof path) {
                        r = errf(u, -ENAMETOOLONG, "path too long under '%s'", dir);
                        break;
                }
                if (lstat(path, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = expand_nested(u, path, depth);
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                enum kind k = sniff(path);
                if (k == KIND_PLAIN)
                        continue;
                if (depth >= config_u64(u->cfg, CONF_UNPACK_MAX_DEPTH)) {
                        r = errf(u, -EPERM, "'%s' is nested more than unpack.max_depth (%llu) archives deep", names[i],
                                 (unsigned long long) config_u64(u->cfg, CONF_UNPACK_MAX_DEPTH));
                        break;
                }
                /* open it into a fresh folder, then put the result where the archive was */
                char tmp[PATH_MAX];
                if (snprintf(tmp, sizeof tmp, "%s/.unpack-XXXXXX", dir) >= (int) sizeof tmp) {
                        r = errf(u, -ENAMETOOLONG, "path too long under '%s'", dir);
                        break;
                }
                if (!mkdtemp(tmp)) {
                        r = errf(u, -errno, "cannot make a folder under '%s': %s", dir, strerror(errno));
                        break;
                }
                int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        r = errf(u, -errno, "cannot open '%s': %s", tmp, strerror(errno));
                        break;
                }
                job_log(u->job, "unpacking nested %s '%s'", k == KIND_ARCHIVE ? "archive" : "compressed file", path);
                r = extract(u, path, fd, names[i], k == KIND_COMPRESSED);
                close(fd);
                if (r < 0)
                        break;
                if (unlink(path) < 0) {
                        r = errf(u, -errno, "cannot remove '%s': %s", path, strerror(errno));
                        break;
                }
                r = expand_nested(u, tmp, depth + 1);
                if (r < 0)
                        break;
                if (k == KIND_COMPRESSED) {
                        /* dump.gz → dump, beside where it was */
                        DIR *t = opendir(tmp);
                        for (struct dirent *e; t && (e = readdir(t));) {
                                if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
                                        continue;
                                char from[PATH_MAX], to[PATH_MAX];
                                snprintf(from, sizeof from, "%s/%s", tmp, e->d_name);
                                if ((r = free_name(u, dir, e->d_name, "", to, sizeof to)) < 0 || rename(from, to) < 0) {
                                        r = r < 0 ? r : errf(u, -errno, "cannot move '%s': %s", from, strerror(errno));
                                        break;
                                }
                        }
                        if (t)
                                closedir(t);
                        (void) rmdir(tmp); /* the unpack folder is removed whole on failure */
                } else {
                        char to[PATH_MAX];
                        if ((r = free_name(u, dir, names[i], ".d", to, sizeof to)) == 0 && rename(tmp, to) < 0)
                                r = errf(u, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
                }
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

int unpack_run(struct job *j, const char *input, const char *dest, struct unpack_stats *stats, char *err,
               size_t err_size) {
        struct unpack u = { .job = j, .cfg = job_config(j), .stats = stats, .err = err, .err_size = err_size };
        struct stat st;
        int r, root;

        *stats = (struct unpack_stats) { 0 };
        if (stat(input, &st) < 0)
                return errf(&u, -errno, "cannot read '%s': %s", input, strerror(errno));
        u.input_size = (uint64_t) st.st_size;
        if (mkdir(dest, 0755) < 0)
                return errf(&u, -errno, "cannot make '%s': %s", dest, strerror(errno));
        const char *base = strrchr(input, '/') ? strrchr(input, '/') + 1 : input;
        enum kind k = sniff(input);
        if (k == KIND_PLAIN) {
                /* a bare dump: move it, no copy */
                char to[PATH_MAX];
                snprintf(to, sizeof to, "%s/%s", dest, base);
                if (link(input, to) < 0) {
                        r = errf(&u, -errno, "cannot link '%s' into '%s': %s", input, dest, strerror(errno));
                        goto fail;
                }
                stats->entries = 1;
                return 0;
        }
        root = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                r = errf(&u, -errno, "cannot open '%s': %s", dest, strerror(errno));
                goto fail;
        }
        job_log(j, "unpacking %s '%s'", k == KIND_ARCHIVE ? "archive" : "compressed file", input);
        r = extract(&u, input, root, base, k == KIND_COMPRESSED);
        close(root);
        if (r == 0)
                r = expand_nested(&u, dest, 1);
        if (r == 0)
                return 0;
fail:
        if (!err[0])
                errf(&u, r, "cannot unpack '%s': %s", base, strerror(-r));
        job_log(j, "unpack failed: %s; removing '%s'", err, dest);
        remove_tree(dest);
        return r;
}

static uint64_t be64(const unsigned char *p) {
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
                x = (x << 8) | p[i];
        return x;
}

int unpack_reassemble_flattened(const char *in, const char *out, char *err, size_t err_size) {
        struct unpack u = { .err = err, .err_size = err_size };
        char part[PATH_MAX];
        unsigned char h[16];
        const size_t bufsize = 1 << 20;
        char *buf = NULL;
        uint64_t end = 0, pos = 4096;
        int r = 0, ifd, ofd = -1;

        ifd = open(in, O_RDONLY | O_CLOEXEC);
        if (ifd < 0)
                return errf(&u, -errno, "cannot read '%s': %s", in, strerror(errno));
        snprintf(part, sizeof part, "%s.part", out);
        ofd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        buf = malloc(bufsize);
        if (ofd < 0 || !buf) {
                r = ofd < 0 ? errf(&u, -errno, "cannot create '%s': %s", part, strerror(errno)) : -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n = pread(ifd, h, sizeof h, (off_t) pos);
                if (n != (ssize_t) sizeof h) {
                        r = errf(&u, -EBADMSG, "'%s' ends without its end record (truncated at byte %llu)", in,
                                 (unsigned long long) pos);
                        goto out;
                }
                int64_t off = (int64_t) be64(h), size = (int64_t) be64(h + 8);
                if (off == -1 && size == -1)
                        break;
                if (off < 0 || off > INT64_MAX / 2 || size <= 0 || size > (1ll << 30)) {
                        r = errf(&u, -EBADMSG, "'%s' has a bad record at byte %llu", in, (unsigned long long) pos);
                        goto out;
                }
                pos += sizeof h;
                for (int64_t done = 0; done < size;) {
                        size_t want = (size_t) (size - done) < bufsize ? (size_t) (size - done) : bufsize;
                        n = pread(ifd, buf, want, (off_t) (pos + (uint64_t) done));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                r = errf(&u, n < 0 ? -errno : -EBADMSG, "'%s' ends inside a record", in);
                                goto out;
                        }
                        if (lseek(ofd, (off_t) off + done, SEEK_SET) < 0 || (r = write_sparse(ofd, buf, (size_t) n)) < 0) {
                                r = errf(&u, r < 0 ? r : -errno, "cannot write '%s': %s", part, strerror(r < 0 ? -r : errno));
                                goto out;
                        }
                        done += n;
                }
                if ((uint64_t) (off + size) > end)
                        end = (uint64_t) (off + size);
                pos += (uint64_t) size;
        }
        if (ftruncate(ofd, (off_t) end) < 0 || fsync(ofd) < 0) {
                r = errf(&u, -errno, "cannot write '%s': %s", part, strerror(errno));
                goto out;
        }
        if (close(ofd) < 0) {
                ofd = -1;
                r = errf(&u, -errno, "cannot write '%s': %s", part, strerror(errno));
                goto out;
        }
        ofd = -1;
        if (rename(part, out) < 0)
                r = errf(&u, -errno, "cannot rename '%s': %s", part, strerror(errno));
out:
        if (ofd >= 0)
                close(ofd);
        if (r < 0)
                (void) unlink(part); /* a .part file is never taken for a whole one */
        close(ifd);
        free(buf);
        return r;
}
