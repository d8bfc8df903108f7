/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The crash stage: one crash process per job, fed the command set one command at a time, each
 * answer captured on its own; blocked tasks and top memory users are worked out here. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct job;

enum crash_cmd_kind {
        CRASH_CMD_PLAIN,      /* given to crash as written */
        CRASH_CMD_BLOCKED,    /* %blocked N */
        CRASH_CMD_TOP_MEMORY, /* %top-memory N */
};

struct crash_cmd {
        char name[64];
        char command[512];
        enum crash_cmd_kind kind;
        unsigned count;       /* the N of a '%' command */
        uint64_t timeout_s;   /* 0: crash.command_timeout */
        bool needs_pykdump;
};

struct crash_cmdset {
        struct crash_cmd *v;
        size_t n;
};

/* Parses a command set (the format is described in etc/crash-commands). err names origin
 * and the line. */
int crash_cmdset_parse(const char *text, size_t len, const char *origin, struct crash_cmdset *ret, char *err,
                       size_t err_size);
/* Reads path; -ENOENT when it does not exist. */
int crash_cmdset_load(const char *path, struct crash_cmdset *ret, char *err, size_t err_size);
void crash_cmdset_clear(struct crash_cmdset *s);
/* etc/crash-commands as built in, for hosts where the configured file is missing. */
extern const char crash_cmdset_builtin[];

#define CRASH_MAX_BUILDS 8

struct crash_opts {
        const char *binary;
        /* Several crash builds, newest first (NULL-terminated), or NULL for binary alone: the
         * first is used; when it fails to open the dump, or opens it with the signs of a crash
         * older than the kernel, the next is tried before the fallback modes. */
        const char *const *binaries;
        const char *vmlinux, *vmcore;
        const char *modules_dir;  /* module debug files for `mod -S`, or NULL */
        const char *pykdump;      /* mpykdump.so, or NULL/"" */
        const char *dir;          /* the job folder: crash/ and hotkdump.out are written here */
        uint64_t open_timeout_ms, command_timeout_ms, total_timeout_ms;
        size_t max_output;        /* bytes kept of one command's output */
        /* Called with the modules crash lists (NULL-terminated) before their debug files are
         * loaded, so that missing ones can be fetched; returns how many were added. May be NULL. */
        int (*want_modules)(void *userdata, char **names);
        void *userdata;
};

/* Runs the set. Returns 0 when crash opened the dump and answered at least one command;
 * -errno with a one-line err otherwise. *ret receives the record of what ran (mode, each
 * command's status and timing, blocked tasks, top memory users, signs of a crash too old
 * for the kernel) either way, except on -ENOMEM. */
int crash_run(struct job *j, const struct crash_opts *o, const struct crash_cmdset *set, json_object **ret,
              char *err, size_t err_size);

/* The crash builds of the config, newest first (malloc'd, NULL-terminated; free with
 * crash_binaries_free): crash.binary's words, each a program or a folder of builds laid out as
 * scripts/build-crash does (<folder>/<version>/bin/crash), its builds newest version first.
 * The built-in default, when it is not there, falls back to crash from PATH (*ret_fallback
 * says so). -ENOENT: a folder without a build and nothing else. */
int crash_binaries(const struct config *cfg, char ***ret, bool *ret_fallback);
void crash_binaries_free(char **v);

/* The option that opens a dump in the mode a job recorded ("normal", "zero_excluded",
 * "minimal"), or NULL. */
const char *crash_mode_option(const char *mode);

/* The version crash --version prints ("8.0.6"), or -errno (-ENOENT: no such binary). */
int crash_version(const char *binary, char *buf, size_t size);

/* One task, from `ps` (rss_kb, mem_pct) or `ps -m` (since_ms: time since it last ran). */
struct crash_task {
        long pid;
        char state[8];
        char comm[64];
        uint64_t rss_kb;
        double mem_pct;
        uint64_t since_ms;
};

/* Parsers of crash's answers, exposed for the tests and the fuzzer. Both skip lines they do
 * not understand; they fail only for lack of memory. */
int crash_parse_ps(const char *text, size_t len, struct crash_task **ret, size_t *ret_n);
int crash_parse_ps_m(const char *text, size_t len, struct crash_task **ret, size_t *ret_n);
/* The module names of a `mod` answer (malloc'd, NULL-terminated), or NULL for lack of memory. */
char **crash_parse_mod(const char *text, size_t len);
