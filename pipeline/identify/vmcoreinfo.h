/* SPDX-License-Identifier: GPL-3.0-or-later */
/* VMCOREINFO: the KEY=VALUE text the kernel leaves for dump tools.
 * Read-only lookups over an untrusted buffer that need not be NUL-terminated. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Finds KEY's value. Returns a pointer into text (not NUL-terminated) and its length in
 * *ret_len, or NULL when the key is absent. */
const char *vmcoreinfo_get(const char *text, size_t len, const char *key, size_t *ret_len);

/* Copies KEY's value into buf as a NUL-terminated string. Returns the value's length,
 * -ENOENT when absent, -ERANGE when it does not fit. */
int vmcoreinfo_get_string(const char *text, size_t len, const char *key, char *buf, size_t size);

/* Parses KEY's value as an integer in base (10 or 16; a negative decimal is accepted and
 * returned two's-complement, as the kernel prints phys_base with %ld). Returns 0, -ENOENT or
 * -EINVAL. */
int vmcoreinfo_get_u64(const char *text, size_t len, const char *key, int base, uint64_t *ret);
