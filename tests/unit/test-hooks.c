/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the post-back sinks' pure parts: splitting a comment for Salesforce, the webhook
 * signature, and the environment a hook script is given. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/subprocess.h"
#include "hooks/athena.h"
#include "hooks/webhook.h"
#include "tests/tap.h"

/* Every part fits, carries its mark and header, and the parts put back together give the text
 * (but for the blank lines a split may drop at a part's edges). */
static void check_split(const char *name, const char *text, size_t max) {
        char **parts = NULL;
        size_t n = 0;
        int r = athena_split(text, max, "00012345/1/full", &parts, &n);
        tap_is_int(r, 0, name);
        if (r < 0)
                return;
        size_t tl = strlen(text);
        char *joined = calloc(1, tl + 2), *squeezed = calloc(1, tl + 2);
        size_t jl = 0;
        bool fits = true, marked = true, headed = true;
        for (size_t i = 0; i < n; i++) {
                char mark[128], head[64];
                athena_mark("00012345/1/full", i + 1, mark, sizeof mark);
                snprintf(head, sizeof head, "Split comment %zu of %zu\n\n", i + 1, n);
                size_t pl = strlen(parts[i]);
                fits &= pl <= max;
                marked &= pl > strlen(mark) && !strcmp(parts[i] + pl - strlen(mark), mark);
                const char *body = parts[i];
                if (n > 1) {
                        headed &= !strncmp(body, head, strlen(head));
                        body += strlen(head);
                } else
                        headed &= strncmp(body, "Split comment", 13) != 0;
                size_t bl = strlen(body) - strlen(mark) - 1;
                if (jl + bl <= tl) {
                        memcpy(joined + jl, body, bl);
                        jl += bl;
                }
        }
        /* compare without newlines: a split happens at one, which the part ends without */
        size_t k = 0;
        for (const char *p = text; *p; p++)
                if (*p != '\n')
                        squeezed[k++] = *p;
        squeezed[k] = 0;
        k = 0;
        for (char *p = joined; *p; p++)
                if (*p != '\n')
                        joined[k++] = *p;
        joined[k] = 0;
        char what[256];
        snprintf(what, sizeof what, "%s: %zu part(s), each at most %zu bytes", name, n, max);
        tap_ok(fits, "%s", what);
        tap_ok(marked, "%s: each part ends with its mark", name);
        tap_ok(headed, "%s: \"Split comment i of n\" heads each part when there are several", name);
        tap_ok(!strcmp(joined, squeezed), "%s: nothing lost or doubled", name);
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
        free(parts);
        free(joined);
        free(squeezed);
}

int main(void) {
        /* comments of the lengths a report makes, and longer */
        char *big = malloc(20000);
        size_t l = 0;
        for (int i = 0; l < 19000; i++)
                l += (size_t) snprintf(big + l, 20000 - l, "line %d: [<ffffffff8123%04x>] some_function+0x%x/0x200\n", i, i, i);
        check_split("short comment", "Cause: sysrq\nPanic: x\n", 3000);
        check_split("19 KB of lines at 3000", big, 3000);
        check_split("19 KB of lines at 4000", big, 4000);
        check_split("19 KB of lines at 200", big, 200);

        char *one = malloc(9001);
        memset(one, 'x', 9000);
        one[9000] = 0;
        check_split("one 9000-byte line", one, 3000);

        /* a long line of two-byte characters is never cut inside one */
        char *utf = malloc(6001);
        for (int i = 0; i < 3000; i++)
                memcpy(utf + 2 * i, "\xc3\xa9", 2);
        utf[6000] = 0;
        char **parts = NULL;
        size_t n = 0;
        tap_is_int(athena_split(utf, 1000, "1/1/full", &parts, &n), 0, "a line of é splits");
        bool whole = true;
        for (size_t i = 0; i < n; i++) {
                const char *body = strstr(parts[i], "\n\n") + 2;
                size_t bl = strcspn(body, "\n");
                whole &= bl % 2 == 0 && (unsigned char) body[0] == 0xc3;
                free(parts[i]);
        }
        free(parts);
        tap_ok(n > 6 && whole, "a line of é: %zu parts, none starting or ending inside a character", n);

        check_split("empty comment", "", 3000);
        tap_is_int(athena_split("x", 50, "1/1/full", &parts, &n), -EINVAL, "a limit too small for the mark is refused");

        char sig[72];
        tap_is_int(webhook_signature("Jefe", "what do ya want for nothing?", 28, sig), 0, "a signature is made");
        tap_is_str(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                   "the signature is RFC 4231's HMAC-SHA256 test case 2");

        /* a hook's variables reach it, over ours of the same name, and ours stay */
        setenv("HOTKDUMP_CASE", "ours", 1);
        setenv("HK_TEST_KEPT", "kept", 1);
        const char *argv[] = { "sh", "-c", "printf '%s %s %s' \"$HOTKDUMP_CASE\" \"$HOTKDUMP_DIR\" \"$HK_TEST_KEPT\"", NULL };
        const char *env[] = { "HOTKDUMP_CASE=00012345", "HOTKDUMP_DIR=/x y", NULL };
        struct subprocess_opts o = { .argv = argv, .env = env, .stdin_fd = -1, .stdout_fd = -1, .timeout_ms = 10000 };
        struct subprocess_result res;
        tap_is_int(subprocess_run(&o, &res), 0, "a command runs with added variables");
        tap_is_str(res.out ? res.out : "", "00012345 /x y kept", "it sees them, and the rest of the environment");
        subprocess_result_clear(&res);

        free(big);
        free(one);
        free(utf);
        return tap_done();
}
