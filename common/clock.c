/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one monotonic clock. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void clock_format_utc(int64_t epoch_s, bool iso, char *buf, size_t size) {
        time_t t = (time_t) epoch_s;
        struct tm tm;
        if (!size)
                return;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
            !strftime(buf, size, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm))
                snprintf(buf, size, "%lld", (long long) epoch_s);
}

static int digits(const char *s, int n) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

int clock_parse_utc(const char *s, int64_t *ret) {
        if (!s || !*s)
                return -EINVAL;
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (!*end && !errno) {
                *ret = n;
                return 0;
        }
        /* YYYY-MM-DDTHH:MM:SS[.fff]Z */
        if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
                return -EINVAL;
        int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2), mi = digits(s + 14, 2),
            se = digits(s + 17, 2);
        const char *z = s + 19;
        if (*z == '.')
                for (z++; *z >= '0' && *z <= '9'; z++)
                        ;
        if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 ||
            strcmp(z, "Z") != 0)
                return -EINVAL;
        /* days from the civil date (proleptic Gregorian), without the local time zone */
        int64_t yy = y - (mo <= 2);
        int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
        int64_t yoe = yy - era * 400, mp = (mo + 9) % 12;
        int64_t doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        int64_t days = era * 146097 + doe - 719468;
        *ret = days * 86400 + h * 3600 + mi * 60 + se;
        return 0;
}
