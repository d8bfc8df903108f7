/* SPDX-License-Identifier: GPL-3.0-or-later */
/* File helpers: atomic replacement, folder creation, sparse-preserving copy.
 * Every write checks for errors, so that a full disk is a clean failure and never a short file. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int fsync_dir(const char *path) {
        assert(path);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = fsync(fd) < 0 ? -errno : 0;
        close(fd);
        return r;
}

int write_file_atomic(const char *dir, const char *name, const void *data, size_t len) {
        return write_file_replace(dir, name, data, len, true);
}

int write_file_replace(const char *dir, const char *name, const void *data, size_t len, bool durable) {
        assert(dir && name && (data || len == 0));
        char tmp[PATH_MAX], final[PATH_MAX];
        int fd, r;

        if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long) getpid()) >= (int) sizeof tmp ||
            snprintf(final, sizeof final, "%s/%s", dir, name) >= (int) sizeof final)
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, final) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp); /* a tmp name is never read as the file */
                return r;
        }
        return durable ? fsync_dir(dir) : 0;
}

int mkdir_parents(const char *path) {
        assert(path);
        char buf[PATH_MAX];
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1; ; p++) {
                if (*p == '/' || *p == 0) {
                        char c = *p;
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = c;
                        if (!c)
                                break;
                }
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static bool all_zero(const void *buf, size_t len) {
        const unsigned char *p = buf;
        /* compare word-wise after a quick first-byte check */
        if (len == 0)
                return true;
        if (p[0] != 0)
                return false;
        return memcmp(p, p + 1, len - 1) == 0;
}

int write_sparse(int fd, const void *buf, size_t len) {
        assert(buf || len == 0);
        if (len >= 4096 && all_zero(buf, len))
                return lseek(fd, (off_t) len, SEEK_CUR) < 0 ? -errno : 0;
        return write_all(fd, buf, len);
}

int64_t copy_fd_sparse(int in_fd, int out_fd, uint64_t max_bytes, copy_progress_fn progress, void *userdata) {
        struct stat st;
        uint64_t done = 0, next_report = 0;
        const size_t bufsize = 1 << 20;
        char *buf;
        int r = 0;

        if (fstat(in_fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > max_bytes)
                return -EFBIG;
        buf = malloc(bufsize);
        if (!buf)
                return -ENOMEM;
        uint64_t total = (uint64_t) st.st_size;
        off_t pos = 0;
        while ((uint64_t) pos < total) {
                off_t data = lseek(in_fd, pos, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO) /* only a hole is left */
                                break;
                        data = pos;         /* no SEEK_DATA here: copy everything */
                }
                off_t hole = lseek(in_fd, data, SEEK_HOLE);
                if (hole < 0)
                        hole = (off_t) total;
                for (off_t o = data; o < hole;) {
                        size_t want = (size_t) ((uint64_t) (hole - o) < bufsize ? (uint64_t) (hole - o) : bufsize);
                        ssize_t n = pread(in_fd, buf, want, o);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                r = -errno;
                                goto out;
                        }
                        if (n == 0)
                                break;
                        if (lseek(out_fd, o, SEEK_SET) < 0 || (r = write_sparse(out_fd, buf, (size_t) n)) < 0) {
                                r = r < 0 ? r : -errno;
                                goto out;
                        }
                        o += n;
                        done = (uint64_t) o;
                        if (progress && done >= next_report) {
                                progress(done, total, userdata);
                                next_report = done + total / 100 + 1;
                        }
                }
                pos = hole;
        }
        /* a trailing hole still counts in the size */
        if (ftruncate(out_fd, (off_t) total) < 0) {
                r = -errno;
                goto out;
        }
        if (progress)
                progress(total, total, userdata);
out:
        free(buf);
        return r < 0 ? r : (int64_t) total;
}

int lock_path(const char *path, int how) {
        assert(path);
        int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        while (flock(fd, how) < 0)
                if (errno != EINTR) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
        return fd;
}

int read_file_max(const char *path, size_t max, char **ret, size_t *ret_len) {
        assert(path && ret && ret_len);
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if ((uint64_t) st.st_size > max) {
                r = -EFBIG;
                goto out;
        }
        char *buf = malloc((size_t) st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        size_t len = 0;
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        free(buf);
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        *ret = buf;
        *ret_len = len;
out:
        close(fd);
        return r;
}

static int64_t du_total;
static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *f) {
        (void) path;
        (void) flag;
        (void) f;
        du_total += (int64_t) st->st_blocks * 512;
        return 0;
}

int64_t tree_disk_usage(const char *path) {
        assert(path);
        du_total = 0;
        if (nftw(path, du_cb, 32, FTW_PHYS) < 0)
                return -errno;
        return du_total;
}

int read_secret_file(const char *path, char **ret, size_t *ret_len) {
        assert(path && ret && ret_len);
        char *text = NULL;
        size_t len;
        int r = read_file_max(path, 4096, &text, &len);
        if (r < 0)
                return r;
        len = strcspn(text, "\r\n");
        text[len] = 0;
        /* white space around a secret is an editor's, never part of it; a blank line is none */
        while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
                text[--len] = 0;
        size_t lead = strspn(text, " \t");
        memmove(text, text + lead, len - lead + 1);
        len -= lead;
        if (len == 0) {
                free(text);
                return -ENODATA;
        }
        *ret = text;
        *ret_len = len;
        return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f) {
        (void) st;
        (void) f;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void remove_tree(const char *path) {
        assert(path);
        nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT); /* never into another file system */
}

int remove_tree_via_trash(const char *path) {
        assert(path);
        char trash[PATH_MAX];
        if (snprintf(trash, sizeof trash, "%s.trash", path) >= (int) sizeof trash)
                return -ENAMETOOLONG;
        remove_tree(trash); /* left by an earlier crash */
        if (rename(path, trash) < 0)
                return errno == ENOENT ? 0 : -errno;
        remove_tree(trash);
        return 0;
}

void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int dir_list_sorted(const char *dir, bool (*keep)(const char *dir, const char *name, void *userdata), void *userdata,
                    char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;
        *ret = NULL;
        *ret_n = 0;
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *e; (e = readdir(d));) {
                if (!keep(dir, e->d_name, userdata))
                        continue;
                char **v2 = realloc(v, (n + 1) * sizeof *v2);
                if (!v2 || !(v2[n] = strdup(e->d_name))) {
                        if (v2)
                                v = v2;
                        strv_free(v, n);
                        closedir(d);
                        return -ENOMEM;
                }
                v = v2;
                n++;
        }
        closedir(d);
        if (n)
                qsort(v, n, sizeof *v, cmp_names);
        *ret = v;
        *ret_n = n;
        return 0;
}
