/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Athena's case comments, through the Salesforce REST API: an OAuth2 login (or a configured
 * token), the case found by its CaseNumber with SOQL, and a CaseComment made on it. */
#pragma once

#include <stddef.h>

#include "common/config.h"
#include "hooks/sink.h"

struct athena;

/* Reads the configuration and its secrets; nothing is sent yet. -EINVAL (err says which key)
 * when the sink is not configured enough to log in. */
int athena_new(const struct config *cfg, struct athena **ret, char *err, size_t err_size);
struct athena *athena_free(struct athena *a);

/* The Id of the case with this CaseNumber. An unknown case is SINK_REJECTED. */
enum sink_outcome athena_case_id(struct athena *a, const char *case_number, char id[64], struct sink_result *res);
/* Whether a comment of the case already holds the text mark (a post's idempotency key): *found
 * and its Id. */
enum sink_outcome athena_find_comment(struct athena *a, const char *parent, const char *mark, char id[64], int *found,
                                      struct sink_result *res);
/* Makes a comment on the case; its Id in id. */
enum sink_outcome athena_comment(struct athena *a, const char *parent, const char *body, char id[64],
                                 struct sink_result *res);

/* Splits text into comments of at most max bytes each (so at most max characters), on line
 * boundaries where it can, each one ending with its mark "[hotkdump:KEY/i]" and, when there
 * are several, starting "Split comment i of n". The parts are NULL-terminated. */
int athena_split(const char *text, size_t max, const char *key, char ***ret_parts, size_t *ret_n);
/* The mark of part i (1-based) of a post. */
void athena_mark(const char *key, size_t i, char *buf, size_t size);
