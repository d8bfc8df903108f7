/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one monotonic clock: every timeout, deadline and duration is measured on it; and the
 * two ways a wall-clock time is written: ISO 8601 for machines, "… UTC" for people. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_now_ms(void);
/* CLOCK_MONOTONIC as a timespec. */
struct timespec clock_now(void);
/* Seconds from a to b. */
double clock_seconds(const struct timespec *a, const struct timespec *b);

/* Seconds since the epoch as ISO 8601 UTC ("2026-12-03T12:00:00Z"), or for a person
 * ("2026-12-03 12:00:00 UTC"). The number itself when the year is out of range. */
void clock_format_utc(int64_t epoch_s, bool iso, char *buf, size_t size);
/* The seconds of an ISO 8601 UTC time as clock_format_utc() writes it (fractions allowed), or
 * of a plain number of seconds (records written before times were ISO 8601). -EINVAL. */
int clock_parse_utc(const char *s, int64_t *ret);
