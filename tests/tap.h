/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A minimal TAP producer for the C unit tests, read by automake's tap-driver.sh.
 * Each check prints one "ok"/"not ok" line; tap_done() prints the plan and the exit status. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define tap_ok(cond, ...)                                                                   \
        do {                                                                                \
                int tap_c_ = !!(cond);                                                      \
                tap_n++;                                                                    \
                if (!tap_c_)                                                                \
                        tap_failed++;                                                       \
                printf("%s %d - ", tap_c_ ? "ok" : "not ok", tap_n);                        \
                printf(__VA_ARGS__);                                                        \
                printf("\n");                                                               \
                if (!tap_c_)                                                                \
                        printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
        } while (0)

#define tap_is_int(got, want, name)                                                         \
        do {                                                                                \
                long long tap_g_ = (long long) (got), tap_w_ = (long long) (want);          \
                tap_ok(tap_g_ == tap_w_, "%s", name);                                       \
                if (tap_g_ != tap_w_)                                                       \
                        printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                \
        } while (0)

#define tap_is_str(got, want, name)                                                         \
        do {                                                                                \
                const char *tap_g_ = (got), *tap_w_ = (want);                               \
                int tap_eq_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0;              \
                tap_ok(tap_eq_, "%s", name);                                                \
                if (!tap_eq_)                                                               \
                        printf("#   got '%s', want '%s'\n", tap_g_ ? tap_g_ : "(null)",      \
                               tap_w_ ? tap_w_ : "(null)");                                 \
        } while (0)

/* Removes a test's temporary folder (made with mkdtemp, so its name needs no quoting). */
static inline void tap_remove_tree(const char *dir) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
        if (system(cmd) != 0)
                printf("# could not remove %s\n", dir);
}

/* HOTKDUMP_FUZZ_SEEDS=DIR: a test also writes its inputs there, as fuzzing seeds. */
static inline void tap_write_seed(const char *name, const void *d, size_t n) {
        const char *dir = getenv("HOTKDUMP_FUZZ_SEEDS");
        char path[4096];
        if (!dir)
                return;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (f) {
                fwrite(d, 1, n, f);
                fclose(f);
        }
}

static inline int tap_done(void) {
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}
