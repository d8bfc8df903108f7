/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one monotonic clock: every timeout, deadline and duration is measured on it. */
#pragma once

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_now_ms(void);
/* CLOCK_MONOTONIC as a timespec. */
struct timespec clock_now(void);
/* Seconds from a to b. */
double clock_seconds(const struct timespec *a, const struct timespec *b);
