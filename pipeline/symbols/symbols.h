/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Debug symbols for a dump: found in a file the user names, the shared cache, debuginfod, the
 * Ubuntu or the Debian archive, in that order; verified against the dump's build-id (or its
 * banner) before anything is trusted; cached once per kernel for every job. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"

struct job;

struct symbols_query {
        char release[65];
        char version[65];   /* utsname version */
        char arch[65];      /* uname -m */
        char build_id[129]; /* "" when the kernel has none (before 5.13) */
        char **modules;     /* names of the modules wanted (NULL-terminated), or NULL */
        char vmcore[4096];  /* the dump, whose module list says which modules it has loaded; or "" */
};

struct symbols_result {
        char dir[4096];      /* the cache entry */
        char vmlinux[4096];
        char modules[4096];  /* folder of module debug files */
        char source[512];    /* where it came from: "cache", "debuginfod", a URL, a file */
        unsigned modules_found;
        int lock_fd;         /* held shared while in use: purge skips the entry; close when done */
};

/* The kernel of a case folder (its summary.json) and the modules its kernel log names. */
int symbols_query_from_case(const char *dir, struct symbols_query *q, char *err, size_t err_size);

/* Finds, fetches, verifies and caches. debug_file may be NULL. err: one line on failure,
 * listing what each source said. -ENOENT: no source had them. */
int symbols_find(const struct config *cfg, const struct symbols_query *q, const char *debug_file, struct job *log,
                 struct symbols_result *ret, char *err, size_t err_size);

/* Adds to the entry res describes the debug files of those modules (names as the kernel lists
 * them) it lacks, from the first package source that has them. Returns how many were added;
 * -ENOENT with err when no package had them. */
int symbols_add_modules(const struct config *cfg, const struct symbols_query *q, struct job *log,
                        struct symbols_result *res, char **modules, char *err, size_t err_size);

/* Removes cache entries unused for longer than symbols.cache_max_age, then the least recently
 * used until the cache fits symbols.cache_max_bytes. An entry whose lock is held (in use, or
 * being fetched) is never removed. Returns the number removed; bytes freed in *ret_freed. */
int symbols_cache_trim(const struct config *cfg, struct job *log, bool dry_run, uint64_t *ret_freed);

/* Prints the candidates in the order they would be tried, fetching nothing. */
int symbols_explain(const struct config *cfg, const struct symbols_query *q, FILE *out);

/* The rules, exposed for tests: Ubuntu package version from release + utsname version
 * ("5.15.0-91-generic", "#101-Ubuntu SMP …" → "5.15.0-91.101"); Debian version from the
 * utsname version ("… Debian 6.1.192-2 (…)" → "6.1.192-2"); Debian architecture name. */
int symbols_ubuntu_version(const char *release, const char *version, char *buf, size_t size);
int symbols_debian_version(const char *version, char *buf, size_t size);
const char *symbols_deb_arch(const char *machine);
/* The kernel's name of an architecture given by either name ("amd64" or "x86_64" → "x86_64");
 * NULL when it is neither. */
const char *symbols_machine_arch(const char *name);

/* Module names from a kernel log's "Modules linked in:" lines (malloc'd, NULL-terminated). */
char **symbols_modules_from_log(const char *log, size_t len);
void symbols_strv_free(char **v);
