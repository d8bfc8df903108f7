/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text as it may be shown (logs, the API, job.json): URLs without their credentials, and for
 * a log line one line of valid UTF-8. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Copies in to out (size bytes, always terminated) with what grants access taken out of a URL:
 * the user information ("user:password@" becomes "***@") and every query value ("?X-Amz-
 * Signature=abc&x=1" becomes "?X-Amz-Signature=***&x=***": presigned URLs carry their
 * signature, tokens and expiry there); a fragment is dropped. Anything not a URL (no "://"
 * after the scheme) is copied as it is. Returns out. */
char *url_redact(const char *in, char *out, size_t size);

/* The same over a whole text: every URL in it (a scheme of letters, then "://", up to white
 * space or a quote) redacted, the rest copied. Returns out. */
char *url_redact_text(const char *in, char *out, size_t size);

/* url_redact_text, then every byte that is not part of valid UTF-8 written as "\\xNN", and
 * with one_line every control character too (a newline in a file name cannot forge a line of
 * a log). Returns out. */
char *shown_text(const char *in, char *out, size_t size, bool one_line);
