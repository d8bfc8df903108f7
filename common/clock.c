/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one monotonic clock. */

#include "common/clock.h"

struct timespec clock_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts;
}

int64_t clock_now_ms(void) {
        struct timespec ts = clock_now();
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double clock_seconds(const struct timespec *a, const struct timespec *b) {
        return (double) (b->tv_sec - a->tv_sec) + (double) (b->tv_nsec - a->tv_nsec) / 1e9;
}
