/* SPDX-License-Identifier: GPL-3.0-or-later */
/* File helpers with the durability rules of the case folder: atomic replace (tmp + fsync +
 * rename + fsync of the folder), folder creation, and copying with holes kept. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Replaces dir/name with data: a reader sees the old file or the new one, never a part. */
int write_file_atomic(const char *dir, const char *name, const void *data, size_t len);
/* The same; without durable, nothing is fsync'd: the change survives the process being killed
 * but maybe not a power failure, for records that can be rebuilt from elsewhere. */
int write_file_replace(const char *dir, const char *name, const void *data, size_t len, bool durable);

/* mkdir -p with mode 0755; an existing folder is fine. */
int mkdir_parents(const char *path);

/* fsync() of a folder, so that a rename or a new entry in it survives a crash. */
int fsync_dir(const char *path);

/* Copies in_fd to out_fd from the start, keeping holes (SEEK_DATA/SEEK_HOLE) and calling
 * progress(done, total, userdata) now and then. Returns bytes copied or -errno. */
typedef void (*copy_progress_fn)(uint64_t done, uint64_t total, void *userdata);
int64_t copy_fd_sparse(int in_fd, int out_fd, uint64_t max_bytes, copy_progress_fn progress, void *userdata);

/* Writes len bytes at the current offset, leaving a hole where the data is all zeros. */
int write_sparse(int fd, const void *buf, size_t len);

/* Opens path (made if missing, 0644; a link in its place is refused) read-only and takes
 * flock(how) on it, waiting through signals: the descriptor, to close() to unlock, or -errno
 * (-EWOULDBLOCK with LOCK_NB when another holds it). Read-only, so that a lock file made by
 * root (a command run with sudo) still serves the daemon's user: flock() needs no write. */
int lock_path(const char *path, int how);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer. -EFBIG when larger. */
int read_file_max(const char *path, size_t max, char **ret, size_t *ret_len);

/* A secret kept in a file (a token, a signing key): its first line without the spaces and tabs
 * around it, at most 4 KiB. -ENODATA when that leaves nothing, -EFBIG when the file is larger. */
int read_secret_file(const char *path, char **ret, size_t *ret_len);

/* The names in a folder that keep(dir, name, userdata) accepts, sorted (strcmp); a missing
 * folder has none. Free with strv_free(). */
int dir_list_sorted(const char *dir, bool (*keep)(const char *dir, const char *name, void *userdata), void *userdata,
                    char ***ret, size_t *ret_n);
void strv_free(char **v, size_t n);
/* Bytes used by a file or a whole tree (without following links). */
int64_t tree_disk_usage(const char *path);

/* Removes a tree without following links (rm -rf). */
void remove_tree(const char *path);
/* Renames path to path.trash first, so that a crash in the middle never leaves a part of the
 * tree under its own name, then removes it. A missing path is fine. */
int remove_tree_via_trash(const char *path);
