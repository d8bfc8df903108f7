/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The report: summary.json for machines, report.html for a person, comment.txt for the case,
 * all made from job.json and the files in the case folder, so they can be made again. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

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

/* Writes summary.json, report.html and comment.txt into the job's folder. */
int report_write(struct job *j, char *err, size_t err_size);
