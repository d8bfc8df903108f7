/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The report: summary.json for machines, report.html for a person, comment.txt for the case,
 * all made from job.json and the files in the case folder, so they can be made again. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct job;

/* summary.json's schema_version: 2 since its times are ISO 8601 (before, identity.crash_time
 * and first_look.crash_time were seconds since the epoch, and there was no schema_version).
 * The schema is components.schemas.Summary of daemon/openapi.json. */
#define SUMMARY_SCHEMA_VERSION 2

/* The crashing function from a crash `bt`: the exception RIP when there is one, else the first
 * frame that is not the panic or exception machinery. "" when none. Exposed for tests. */
void report_crashing_function(const char *bt, size_t len, char *buf, size_t size);

/* The task line of a crash `bt` ("PID: 1  TASK: …  CPU: 1  COMMAND: "init""): 0, or -ENOENT. */
int report_bt_task(const char *bt, size_t len, long *pid, int *cpu, char comm[64]);

/* The PANIC: string of a crash `sys` answer, or "". */
void report_sys_panic(const char *sys, size_t len, char *buf, size_t size);

/* The figures of crash's `kmem -i`, in pages (-1: not in the answer). */
struct report_kmem {
        int64_t total, free, used, buffers, cached, slab, commit_limit, committed;
};
/* 0, or -ENOENT when the answer has no TOTAL MEM line. */
int report_parse_kmem(const char *text, size_t len, struct report_kmem *ret);

/* The tasks of crash's `ps` by state (its ST column: RU, IN, UN, ID, ZO, …), most first. */
#define REPORT_STATES_MAX 16
struct report_state {
        char state[8];
        size_t count;
};
struct report_states {
        size_t n, tasks;
        struct report_state v[REPORT_STATES_MAX];
};
/* 0, or -ENOENT when the answer has no ST column. */
int report_ps_states(const char *text, size_t len, struct report_states *ret);

/* Writes summary.json, report.html and comment.txt into the job's folder. */
int report_write(struct job *j, char *err, size_t err_size);
