/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The webhook sink: a job's summary.json POSTed to a configured URL, signed with HMAC-SHA256. */
#pragma once

#include <stddef.h>

#include "common/config.h"
#include "hooks/sink.h"

/* POSTs body with X-Hotkdump-Event (kind), X-Hotkdump-Delivery (key) and, with a secret,
 * X-Hotkdump-Signature: sha256=HEX. */
enum sink_outcome webhook_post(const struct config *cfg, const char *kind, const char *key, const char *body,
                               size_t len, struct sink_result *res);

/* "sha256=" and the hex HMAC-SHA256 of data under secret (72 bytes with the NUL). */
int webhook_signature(const char *secret, const void *data, size_t len, char sig[72]);
