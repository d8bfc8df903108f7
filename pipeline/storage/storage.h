/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The storage stage: device-mapper, SCSI and block devices as the dump holds them, read by
 * storage-view.py (built in) under drgn with the job's vmlinux and module debug files. The
 * view is checked here before anything keeps it, and rendered as the lines the triage rules
 * read (source "storage"). */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

struct job;
struct symbols_result;

/* storage-view.py, built in (generated from pipeline/storage/storage-view.py). */
extern const char storage_view_script[];

/* Runs the view on the job's dump (its folder's vmcore) and records it (JOB_STORAGE, and
 * storage/view.json with drgn's stderr in storage/drgn.log). A view that cannot be had (no
 * drgn, a timeout, output that is not a view) is recorded with its reason and is not the
 * job's failure: 0. -ENOMEM and a record that cannot be written are errors. */
int storage_run(struct job *j, const struct symbols_result *sym, char *err, size_t err_size);

/* What drgn printed, checked: an object of the view's shape, strings printable and at most
 * 256 bytes, arrays of at most 4096 items, numbers where numbers go; NULL with err when it
 * is not a view. */
json_object *storage_parse(const char *text, size_t len, char *err, size_t err_size);

/* The view as lines for the triage rules ("stuck disk sda (sd_mod): 2 request(s) in flight,
 * the oldest for 14.2 s", "dm hk-susp (dm-2): suspended, open 1, 1 bio(s) waiting", …);
 * "stuck" where the oldest request is at least stuck_after_s old. Malloc'd, or NULL. */
char *storage_facts(json_object *view, double stuck_after_s, size_t *len);
