/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs crash on a dump: the command set goes in one command at a time, each followed by an echo
 * of a marker, so every answer is cut out exactly, however long a command runs or fails. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/capbuf.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "pipeline/crash/crash.h"
#include "pipeline/progress.h"
#include "casefolder/job.h"

#define MAX_COMMANDS    256
#define MAX_RESTARTS    3
#define INTERRUPT_GRACE 5000 /* ms for a command to stop after SIGINT */
#define STARTUP_KEEP    (64u << 10)

/* ---- the command set ----------------------------------------------------------------- */

static bool valid_name(const char *s) {
        if (!*s || *s == '.')
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("-_.", *s))
                        return false;
        return true;
}

static int parse_options(char *opts, struct crash_cmd *c, char *why, size_t why_size) {
        char *save = NULL;
        for (char *t = strtok_r(opts, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
                if (!strncmp(t, "timeout=", 8)) {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(t + 8, &end, 10);
                        if (errno || *end || end == t + 8 || v == 0 || v > 7 * 86400)
                                return snprintf(why, why_size, "timeout must be 1 to 604800 seconds, not '%s'", t + 8), -EINVAL;
                        c->timeout_s = v;
                } else if (!strcmp(t, "needs=pykdump"))
                        c->needs_pykdump = true;
                else
                        return snprintf(why, why_size, "unknown option '%s' (timeout=SECONDS, needs=pykdump)", t), -EINVAL;
        }
        return 0;
}

static int parse_builtin(struct crash_cmd *c, char *why, size_t why_size) {
        char word[32];
        unsigned n = 0;
        int used = 0;
        if (sscanf(c->command, "%%%31s %u %n", word, &n, &used) < 2 || c->command[used] != 0 || n == 0 || n > 1000)
                return snprintf(why, why_size, "'%s': a '%%' command is '%%blocked N' or '%%top-memory N' (N 1 to 1000)",
                                c->command), -EINVAL;
        if (!strcmp(word, "blocked"))
                c->kind = CRASH_CMD_BLOCKED;
        else if (!strcmp(word, "top-memory"))
                c->kind = CRASH_CMD_TOP_MEMORY;
        else
                return snprintf(why, why_size, "unknown command '%%%s' (%%blocked, %%top-memory)", word), -EINVAL;
        c->count = n;
        return 0;
}

static int parse_line(char *line, struct crash_cmd *c, char *why, size_t why_size) {
        char *p = line + strspn(line, " \t");
        size_t n = strcspn(p, " \t");
        memset(c, 0, sizeof *c);
        if (n >= sizeof c->name)
                return snprintf(why, why_size, "the name is longer than %zu characters", sizeof c->name - 1), -EINVAL;
        memcpy(c->name, p, n);
        if (!valid_name(c->name))
                return snprintf(why, why_size, "'%s' is not a valid name (letters, digits, '-', '_', '.')", c->name), -EINVAL;
        p += n;
        p += strspn(p, " \t");
        if (*p == '[') {
                char *close = strchr(p, ']');
                if (!close)
                        return snprintf(why, why_size, "'[' without ']'"), -EINVAL;
                *close = 0;
                int r = parse_options(p + 1, c, why, why_size);
                if (r < 0)
                        return r;
                p = close + 1;
                p += strspn(p, " \t");
        }
        size_t len = strlen(p);
        while (len && isspace((unsigned char) p[len - 1]))
                p[--len] = 0;
        if (!len)
                return snprintf(why, why_size, "'%s' has no command", c->name), -EINVAL;
        if (len >= sizeof c->command)
                return snprintf(why, why_size, "the command is longer than %zu characters", sizeof c->command - 1), -EINVAL;
        /* crash runs '|' through a shell and '>' into files: both lose or mix output */
        if (strpbrk(p, "|>!") && *p != '%')
                return snprintf(why, why_size, "'%s': no pipes, redirections or shell escapes ('|', '>', '!')", p), -EINVAL;
        for (const char *q = p; *q; q++)
                if ((unsigned char) *q < 0x20 && *q != '\t')
                        return snprintf(why, why_size, "control characters in the command"), -EINVAL;
        memcpy(c->command, p, len + 1);
        return *p == '%' ? parse_builtin(c, why, why_size) : 0;
}

int crash_cmdset_parse(const char *text, size_t len, const char *origin, struct crash_cmdset *ret, char *err,
                       size_t err_size) {
        struct crash_cmdset s = { 0 };
        unsigned lineno = 0;
        int r = 0;

        for (size_t off = 0; off < len;) {
                const char *nl = memchr(text + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (text + off)) : len - off;
                char line[1024], why[256] = "";
                lineno++;
                if (ll >= sizeof line) {
                        r = log_reason(err, err_size, -EINVAL, "%s:%u: the line is longer than %zu characters", origin,
                                       lineno, sizeof line - 1);
                        goto fail;
                }
                memcpy(line, text + off, ll);
                line[ll] = 0;
                off += ll + (nl ? 1 : 0);
                if (memchr(line, 0, ll)) {
                        r = log_reason(err, err_size, -EINVAL, "%s:%u: a NUL byte in the line", origin, lineno);
                        goto fail;
                }
                char *p = line + strspn(line, " \t\r");
                if (!*p || *p == '#')
                        continue;
                if (s.n == MAX_COMMANDS) {
                        r = log_reason(err, err_size, -E2BIG, "%s:%u: more than %d commands", origin, lineno, MAX_COMMANDS);
                        goto fail;
                }
                struct crash_cmd c;
                r = parse_line(p, &c, why, sizeof why);
                for (size_t i = 0; r == 0 && i < s.n; i++)
                        if (!strcmp(s.v[i].name, c.name)) {
                                snprintf(why, sizeof why, "the name '%s' is used twice", c.name);
                                r = -EINVAL;
                        }
                if (r < 0) {
                        r = log_reason(err, err_size, r, "%s:%u: %s", origin, lineno, why);
                        goto fail;
                }
                struct crash_cmd *nv = realloc(s.v, (s.n + 1) * sizeof *nv);
                if (!nv) {
                        r = -ENOMEM;
                        goto fail;
                }
                s.v = nv;
                s.v[s.n++] = c;
        }
        if (s.n == 0) {
                r = log_reason(err, err_size, -EINVAL, "%s: no commands", origin);
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        crash_cmdset_clear(&s);
        return r;
}

int crash_cmdset_load(const char *path, struct crash_cmdset *ret, char *err, size_t err_size) {
        char *text = NULL;
        size_t len = 0;
        int r = read_file_max(path, 1u << 20, &text, &len);
        if (r < 0)
                return log_reason(err, err_size, r, "cannot read the crash command set '%s': %s", path, strerror(-r));
        r = crash_cmdset_parse(text, len, path, ret, err, err_size);
        free(text);
        return r;
}

void crash_cmdset_clear(struct crash_cmdset *s) {
        free(s->v);
        s->v = NULL;
        s->n = 0;
}

/* ---- parsers of crash's answers ---------------------------------------------------------- */

static int push_task(struct crash_task **v, size_t *n, const struct crash_task *t) {
        if ((*n & (*n - 1)) == 0 || *n == 0) {
                struct crash_task *nv = realloc(*v, (*n ? *n * 2 : 16) * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *v = nv;
        }
        (*v)[(*n)++] = *t;
        return 0;
}

/* Copies one line (without its newline) into buf; returns the offset after it. */
static size_t next_line(const char *text, size_t len, size_t off, char *buf, size_t size) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t ll = nl ? (size_t) (nl - (text + off)) : len - off;
        size_t keep = ll < size - 1 ? ll : size - 1;
        memcpy(buf, text + off, keep);
        buf[keep] = 0;
        return off + ll + (nl ? 1 : 0);
}

static void copy_comm(char *dst, size_t size, const char *src) {
        size_t n = strcspn(src, "\r");
        while (n && isspace((unsigned char) src[n - 1]))
                n--;
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
}

/* `ps`:   PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM
 *      >     0      0   0  ffffffff82a14940  RU   0.0        0        0  [swapper/0] */
int crash_parse_ps(const char *text, size_t len, struct crash_task **ret, size_t *ret_n) {
        struct crash_task *v = NULL;
        size_t n = 0;
        for (size_t off = 0; off < len;) {
                char line[512];
                off = next_line(text, len, off, line, sizeof line);
                const char *p = line;
                if (*p == '>')
                        p++;
                struct crash_task t = { 0 };
                long ppid;
                int cpu, used = 0;
                unsigned long long task, vsz, rss;
                if (sscanf(p, "%ld %ld %d %llx %7s %lf %llu %llu %n", &t.pid, &ppid, &cpu, &task, t.state, &t.mem_pct, &vsz,
                           &rss, &used) < 8 || used == 0 || t.pid < 0)
                        continue;
                t.rss_kb = rss;
                copy_comm(t.comm, sizeof t.comm, p + used);
                if (push_task(&v, &n, &t) < 0) {
                        free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* `ps -m`: [0 00:04:05.123] [UN]  PID: 123    TASK: ffff8cf8c11fc800  CPU: 1    COMMAND: "jbd2/sda1-8" */
int crash_parse_ps_m(const char *text, size_t len, struct crash_task **ret, size_t *ret_n) {
        struct crash_task *v = NULL;
        size_t n = 0;
        for (size_t off = 0; off < len;) {
                char line[512];
                off = next_line(text, len, off, line, sizeof line);
                struct crash_task t = { 0 };
                unsigned long long days, h, m, s, ms;
                int used = 0;
                if (sscanf(line, " [%llu %llu:%llu:%llu.%llu] [%7[A-Z]] PID: %ld %n", &days, &h, &m, &s, &ms, t.state,
                           &t.pid, &used) < 7 || used == 0 || days > 100000 || h > 23 || m > 59 || s > 59 || ms > 999)
                        continue;
                t.since_ms = (((days * 24 + h) * 60 + m) * 60 + s) * 1000 + ms;
                const char *c = strstr(line + used, "COMMAND: \"");
                if (c) {
                        c += 10;
                        const char *e = strrchr(c, '"');
                        size_t cl = e && e >= c ? (size_t) (e - c) : strlen(c);
                        if (cl >= sizeof t.comm)
                                cl = sizeof t.comm - 1;
                        memcpy(t.comm, c, cl);
                        t.comm[cl] = 0;
                }
                if (push_task(&v, &n, &t) < 0) {
                        free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* `mod`:      MODULE       NAME                  BASE         SIZE  OBJECT FILE
 *        ffffffffc02f5340  virtio_ring  ffffffffc02ee000  49152  (not loaded)  [CONFIG_KALLSYMS] */
char **crash_parse_mod(const char *text, size_t len) {
        size_t n = 0;
        char **v = calloc(1, sizeof *v);
        for (size_t off = 0; v && off < len;) {
                char line[512], name[128];
                unsigned long long addr;
                int used = 0;
                off = next_line(text, len, off, line, sizeof line);
                if (sscanf(line, " %llx %127s %n", &addr, name, &used) < 2 || used == 0 || addr == 0 || !strcmp(name, "NAME"))
                        continue;
                bool ok = true;
                for (const char *p = name; *p && ok; p++)
                        ok = isalnum((unsigned char) *p) || *p == '_' || *p == '-';
                if (!ok)
                        continue;
                char **nv = realloc(v, (n + 2) * sizeof *nv);
                if (!nv || !(nv[n] = strdup(name))) {
                        v = nv ? nv : v;
                        for (size_t i = 0; i < n; i++)
                                free(v[i]);
                        free(v);
                        return NULL;
                }
                v = nv;
                v[++n] = NULL;
        }
        return v;
}

/* ---- talking to crash ------------------------------------------------------------------ */

enum mode { MODE_NORMAL, MODE_ZERO_EXCLUDED, MODE_MINIMAL, _MODE_MAX };
static const char *const mode_flag[_MODE_MAX] = { NULL, "--zero_excluded", "--minimal" };
static const char *const mode_name[_MODE_MAX] = { "normal", "zero_excluded", "minimal" };

struct session {
        const struct crash_opts *o;
        const char *binary;  /* the crash build this session runs */
        struct job *job;
        enum mode mode;
        struct subprocess p;
        bool alive;
        unsigned seq;
        char nonce[17];    /* random, per session: text in the dump cannot forge a marker */
        int exit_status;   /* when it died */
        char held[128];    /* the stream's last bytes, which may be the start of a marker */
        size_t held_len;
};

static void session_stop(struct session *s, uint64_t grace_ms) {
        if (!s->alive)
                return;
        s->exit_status = subprocess_finish(&s->p, grace_ms);
        s->alive = false;
}

static int session_send(struct session *s, const char *command, unsigned seq) {
        char buf[1024];
        int n = snprintf(buf, sizeof buf, "%s\necho hotkdump-mark-%s-%u\n", command, s->nonce, seq);
        if (n < 0 || (size_t) n >= sizeof buf)
                return -ENAMETOOLONG;
        for (size_t off = 0; off < (size_t) n;) {
                ssize_t w = write(s->p.in_fd, buf + off, (size_t) n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno; /* -EPIPE: crash has gone */
                off += (size_t) w;
        }
        return 0;
}

/* Reads crash's answer up to the marker of seq. 0: it came; -ETIMEDOUT: deadline passed;
 * -EPIPE: crash exited. The bytes before the marker go to a. */
static int session_read(struct session *s, unsigned seq, uint64_t deadline, struct capbuf *a) {
        char mark[80], buf[65536 + sizeof s->held];
        int ml = snprintf(mark, sizeof mark, "hotkdump-mark-%s-%u", s->nonce, seq);
        for (;;) {
                /* the held bytes first: they may complete a marker with what comes next */
                memcpy(buf, s->held, s->held_len);
                size_t have = s->held_len;
                s->held_len = 0;
                uint64_t t = (uint64_t) clock_now_ms();
                if (t >= deadline) {
                        memcpy(s->held, buf, have);
                        s->held_len = have;
                        return -ETIMEDOUT;
                }
                struct pollfd pf = { .fd = s->p.out_fd, .events = POLLIN };
                int pr = poll(&pf, 1, (int) (deadline - t < INT_MAX ? deadline - t : INT_MAX));
                if (pr < 0 && errno != EINTR)
                        return -errno;
                ssize_t n = 0;
                if (pr > 0) {
                        n = read(s->p.out_fd, buf + have, sizeof buf - have);
                        if (n < 0 && errno != EINTR && errno != EAGAIN)
                                return -errno;
                        if (n == 0) { /* crash exited */
                                int r = capbuf_add(a, buf, have);
                                return r < 0 ? r : -EPIPE;
                        }
                        if (n < 0)
                                n = 0;
                }
                have += (size_t) n;
                char *m = memmem(buf, have, mark, (size_t) ml);
                /* the whole marker: its number not followed by more digits */
                while (m && m + ml < buf + have && isdigit((unsigned char) m[ml]))
                        m = memmem(m + 1, have - (size_t) (m + 1 - buf), mark, (size_t) ml);
                if (m && m + ml < buf + have) {
                        int r = capbuf_add(a, buf, (size_t) (m - buf));
                        /* the rest of the marker's line is not output; nothing else can follow it */
                        return r;
                }
                size_t hold = have < (size_t) ml + 1 ? have : (size_t) ml + 1;
                if (m)
                        hold = have - (size_t) (m - buf);
                int r = capbuf_add(a, buf, have - hold);
                if (r < 0)
                        return r;
                memcpy(s->held, buf + have - hold, hold);
                s->held_len = hold;
        }
}

static int session_start(struct session *s, enum mode mode, uint64_t deadline, struct capbuf *startup) {
        const struct crash_opts *o = s->o;
        const char *argv[8];
        size_t n = 0;
        argv[n++] = s->binary;
        argv[n++] = "-s";
        argv[n++] = "--no_crashrc";
        if (mode_flag[mode])
                argv[n++] = mode_flag[mode];
        argv[n++] = o->vmlinux;
        argv[n++] = o->vmcore;
        argv[n] = NULL;
        char line[8192];
        if (subprocess_format_argv(argv, line, sizeof line) < 0)
                snprintf(line, sizeof line, "%s …", s->binary);
        job_log(s->job, "run: %s", line);

        uint64_t rnd;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                rnd = (uint64_t) clock_now_ms() ^ ((uint64_t) getpid() << 32) ^ (uint64_t) (uintptr_t) s;
        snprintf(s->nonce, sizeof s->nonce, "%016llx", (unsigned long long) rnd);

        struct subprocess_opts so = { .argv = argv, .cwd = o->dir, .guard = true };
        int r = subprocess_spawn(&so, &s->p);
        if (r < 0)
                return r;
        s->alive = true;
        s->mode = mode;
        s->held_len = 0;
        /* what crash says before the marker is its opening: warnings, or why it cannot */
        r = session_send(s, "set scroll off", ++s->seq);
        if (r == 0 || r == -EPIPE)
                r = session_read(s, s->seq, (uint64_t) clock_now_ms() + o->open_timeout_ms < deadline ? (uint64_t) clock_now_ms() + o->open_timeout_ms : deadline,
                                 startup);
        if (r < 0) {
                session_stop(s, r == -ETIMEDOUT ? 0 : 2000);
                job_log(s->job, "crash (%s mode) did not open the dump: %s, exit status %d", mode_name[mode],
                        r == -ETIMEDOUT ? "timed out" : "it exited", s->exit_status);
        }
        if (startup->len)
                job_log(s->job, "crash said on opening:\n%s", startup->buf);
        return r;
}

/* ---- the commands ------------------------------------------------------------------------ */

enum status { ST_OK, ST_ERROR, ST_TIMEOUT, ST_DIED, ST_SKIPPED };
static const char *const status_name[] = { "ok", "error", "timeout", "died", "skipped" };

struct runner {
        struct session s;
        const struct crash_cmdset *set;
        uint64_t deadline;      /* of the whole stage */
        unsigned restarts;
        char *last_ps;          /* the answer of `ps`, for %top-memory */
        size_t last_ps_len;
        json_object *mismatch;  /* lines that say crash does not know this kernel */
        char setup[2][PATH_MAX + 16]; /* mod -S, extend: run again in a restarted crash */
        FILE *out;              /* hotkdump.out.part */
};

/* Lines by which a crash older than the kernel gives itself away. */
static const char *const too_old[] = {
        "invalid structure member offset", "invalid structure size", "not found in PID hash",
};

/* Whether text holds a line by which a crash older than the kernel gives itself away. */
static bool shows_too_old(const char *text, size_t len) {
        for (size_t i = 0; text && i < sizeof too_old / sizeof too_old[0]; i++)
                if (memmem(text, len, too_old[i], strlen(too_old[i])))
                        return true;
        return false;
}

static void note_mismatch(struct runner *rn, const char *text, size_t len) {
        for (size_t off = 0; off < len && json_object_array_length(rn->mismatch) < 8;) {
                char line[256];
                off = next_line(text, len, off, line, sizeof line);
                bool seen = false;
                for (size_t k = 0; k < json_object_array_length(rn->mismatch) && !seen; k++)
                        seen = !strcmp(json_object_get_string(json_object_array_get_idx(rn->mismatch, k)), line);
                for (size_t i = 0; i < sizeof too_old / sizeof too_old[0] && !seen; i++)
                        if (strstr(line, too_old[i])) {
                                json_object_array_add(rn->mismatch, json_object_new_string(line));
                                break;
                        }
        }
}

/* Whether crash refused the command outright: its only lines are errors. */
static bool only_errors(const char *cmd, const char *text, size_t len, char *first, size_t first_size) {
        char word[64];
        size_t wl = strcspn(cmd, " \t");
        if (wl >= sizeof word - 2)
                wl = sizeof word - 3;
        memcpy(word, cmd, wl);
        memcpy(word + wl, ": ", 3);
        bool any = false;
        first[0] = 0;
        for (size_t off = 0; off < len;) {
                char line[512];
                off = next_line(text, len, off, line, sizeof line);
                const char *p = line + strspn(line, " \t");
                if (!*p)
                        continue;
                bool err = !strncmp(p, "crash: ", 7) || !strncmp(p, word, strlen(word)) || !strncmp(p, "NOTE: ", 6);
                if (!err)
                        return false;
                if (!first[0] && strncmp(p, "NOTE: ", 6))
                        snprintf(first, first_size, "%s", p);
                any = true;
        }
        return any;
}

static int restart(struct runner *rn, char *why, size_t why_size) {
        if (rn->restarts >= MAX_RESTARTS)
                return log_reason(why, why_size, -ECHILD, "crash stopped %u times; the rest is skipped", rn->restarts + 1);
        rn->restarts++;
        struct capbuf startup = { .max = STARTUP_KEEP };
        int r = session_start(&rn->s, rn->s.mode, rn->deadline, &startup);
        capbuf_free(&startup);
        if (r < 0)
                return log_reason(why, why_size, r, "crash could not be started again");
        job_log(rn->s.job, "crash restarted (%u of %d)", rn->restarts, MAX_RESTARTS);
        /* what the first session loaded, the new one needs too */
        for (size_t i = 0; i < sizeof rn->setup / sizeof rn->setup[0]; i++) {
                if (!rn->setup[i][0])
                        continue;
                struct capbuf a = { .max = STARTUP_KEEP };
                unsigned seq = ++rn->s.seq;
                job_log(rn->s.job, "crash> %s", rn->setup[i]);
                r = session_send(&rn->s, rn->setup[i], seq);
                if (r == 0 || r == -EPIPE)
                        r = session_read(&rn->s, seq, rn->deadline, &a);
                capbuf_free(&a);
                if (r < 0) {
                        session_stop(&rn->s, 0);
                        return log_reason(why, why_size, r, "crash could not be prepared again ('%s')", rn->setup[i]);
                }
        }
        return 0;
}

/* One crash command, up to its deadline. Interrupts a command that runs too long (crash goes
 * back to its prompt on SIGINT); one that does not stop is killed with its process tree. */
static enum status run_one(struct runner *rn, const char *cmd, uint64_t deadline, struct capbuf *a, char *why,
                           size_t why_size) {
        struct session *s = &rn->s;
        if (!s->alive) {
                if (restart(rn, why, why_size) < 0)
                        return ST_SKIPPED;
        }
        unsigned seq = ++s->seq;
        int r = session_send(s, cmd, seq);
        if (r == 0 || r == -EPIPE)
                r = session_read(s, seq, deadline, a);
        if (r == -ETIMEDOUT) {
                job_log(s->job, "'%s' timed out: interrupting it", cmd);
                /* to the group, as Ctrl-C at a terminal: crash, not only its guard */
                subprocess_signal(&s->p, SIGINT);
                struct capbuf rest = { .max = 0 };
                r = session_read(s, seq, (uint64_t) clock_now_ms() + INTERRUPT_GRACE, &rest);
                capbuf_free(&rest);
                if (r < 0) {
                        job_log(s->job, "'%s' did not stop: killing crash", cmd);
                        session_stop(s, 0);
                }
                snprintf(why, why_size, "timed out; %s", r == 0 ? "interrupted" : "crash was killed");
                return ST_TIMEOUT;
        }
        if (r == -EPIPE) {
                session_stop(s, 2000);
                snprintf(why, why_size, "crash exited during the command (status %d)", s->exit_status);
                return ST_DIED;
        }
        if (r < 0) {
                session_stop(s, 0);
                snprintf(why, why_size, "%s", strerror(-r));
                return ST_DIED;
        }
        if (only_errors(cmd, a->buf ? a->buf : "", a->len, why, why_size))
                return ST_ERROR;
        return ST_OK;
}

static int cmp_since(const void *a, const void *b) {
        const struct crash_task *x = a, *y = b;
        return x->since_ms < y->since_ms ? 1 : x->since_ms > y->since_ms ? -1 : (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_rss(const void *a, const void *b) {
        const struct crash_task *x = a, *y = b;
        return x->rss_kb < y->rss_kb ? 1 : x->rss_kb > y->rss_kb ? -1 : (x->pid > y->pid) - (x->pid < y->pid);
}

static void format_since(uint64_t ms, char *buf, size_t size) {
        uint64_t s = ms / 1000;
        snprintf(buf, size, "%llu %02llu:%02llu:%02llu.%03llu", (unsigned long long) (s / 86400),
                 (unsigned long long) (s / 3600 % 24), (unsigned long long) (s / 60 % 60), (unsigned long long) (s % 60),
                 (unsigned long long) (ms % 1000));
}

static int printf_answer(struct capbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int printf_answer(struct capbuf *a, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        return capbuf_add(a, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
}

/* Runs what a '%' command needs from crash; a failure's answer becomes the '%' command's. */
static enum status run_input(struct runner *rn, const char *cmd, uint64_t deadline, struct capbuf *a,
                             struct capbuf *in, char *why, size_t why_size) {
        enum status st = run_one(rn, cmd, deadline, in, why, why_size);
        if (st != ST_OK) {
                capbuf_add(a, in->buf ? in->buf : "", in->len);
                capbuf_free(in);
        }
        return st;
}

/* %blocked N: tasks in state UN from `ps -m`, longest blocked first, and the backtraces of
 * the first N. */
static enum status run_blocked(struct runner *rn, const struct crash_cmd *c, uint64_t deadline, struct capbuf *a,
                               json_object *crec, char *why, size_t why_size) {
        struct capbuf ps = { .max = a->max };
        enum status st = run_input(rn, "ps -m", deadline, a, &ps, why, why_size);
        if (st != ST_OK)
                return st;
        struct crash_task *t = NULL;
        size_t n = 0, un = 0;
        if (crash_parse_ps_m(ps.buf ? ps.buf : "", ps.len, &t, &n) < 0) {
                capbuf_free(&ps);
                snprintf(why, why_size, "out of memory");
                return ST_ERROR;
        }
        capbuf_free(&ps);
        for (size_t i = 0; i < n; i++)
                if (!strcmp(t[i].state, "UN"))
                        t[un++] = t[i];
        if (un > 1) /* t is NULL when crash listed no task */
                qsort(t, un, sizeof *t, cmp_since);
        json_object *list = json_object_new_array();
        printf_answer(a, "Tasks in state UN (uninterruptible sleep), longest blocked first: %zu\n", un);
        if (un)
                printf_answer(a, "\n  %-18s %8s  %s\n", "BLOCKED FOR", "PID", "COMMAND");
        for (size_t i = 0; i < un; i++) {
                char since[64];
                format_since(t[i].since_ms, since, sizeof since);
                printf_answer(a, "  %-18s %8ld  %s\n", since, t[i].pid, t[i].comm);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "pid", json_object_new_int64(t[i].pid));
                json_object_object_add(o, "comm", json_object_new_string(t[i].comm));
                json_object_object_add(o, "blocked_ms", json_object_new_int64((int64_t) t[i].since_ms));
                json_object_array_add(list, o);
        }
        json_object_object_add(crec, "blocked", list);
        for (size_t i = 0; i < un && i < c->count && st == ST_OK; i++) {
                char cmd[64];
                snprintf(cmd, sizeof cmd, "bt %ld", t[i].pid);
                printf_answer(a, "\ncrash> %s\n", cmd);
                struct capbuf bt = { .max = a->max };
                st = run_one(rn, cmd, deadline, &bt, why, why_size);
                capbuf_add(a, bt.buf ? bt.buf : "", bt.len);
                capbuf_free(&bt);
                if (st == ST_ERROR) /* one task's stack not readable: go on with the next */
                        st = ST_OK;
        }
        free(t);
        return st;
}

/* %top-memory N: the N largest resident sets in `ps`. */
static enum status run_top_memory(struct runner *rn, const struct crash_cmd *c, uint64_t deadline, struct capbuf *a,
                                  json_object *crec, char *why, size_t why_size) {
        struct capbuf ps = { .max = a->max };
        enum status st = ST_OK;
        if (!rn->last_ps && (st = run_input(rn, "ps", deadline, a, &ps, why, why_size)) != ST_OK)
                return st;
        struct crash_task *t = NULL;
        size_t n = 0, users = 0;
        int r = rn->last_ps ? crash_parse_ps(rn->last_ps, rn->last_ps_len, &t, &n)
                            : crash_parse_ps(ps.buf ? ps.buf : "", ps.len, &t, &n);
        capbuf_free(&ps);
        if (r < 0) {
                snprintf(why, why_size, "out of memory");
                return ST_ERROR;
        }
        /* threads share one mm: count each thread group leader's figure once per command name */
        if (n > 1)
                qsort(t, n, sizeof *t, cmp_rss);
        for (size_t i = 0; i < n; i++) {
                if (!t[i].rss_kb)
                        continue;
                bool dup = false;
                for (size_t k = 0; k < users && !dup; k++)
                        dup = t[k].rss_kb == t[i].rss_kb && !strcmp(t[k].comm, t[i].comm);
                if (!dup)
                        t[users++] = t[i];
        }
        json_object *list = json_object_new_array();
        printf_answer(a, "Largest resident memory users (of %zu tasks):\n\n  %8s  %10s  %5s  %s\n", n, "PID", "RSS", "%MEM",
                      "COMMAND");
        for (size_t i = 0; i < users && i < c->count; i++) {
                printf_answer(a, "  %8ld  %7.1f MiB  %5.1f  %s\n", t[i].pid, (double) t[i].rss_kb / 1024.0, t[i].mem_pct,
                              t[i].comm);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "pid", json_object_new_int64(t[i].pid));
                json_object_object_add(o, "comm", json_object_new_string(t[i].comm));
                json_object_object_add(o, "rss_kb", json_object_new_int64((int64_t) t[i].rss_kb));
                json_object_object_add(o, "mem_pct", json_object_new_double(t[i].mem_pct));
                json_object_array_add(list, o);
        }
        if (!users)
                printf_answer(a, "  (no task has resident memory)\n");
        json_object_object_add(crec, "top_memory", list);
        free(t);
        return ST_OK;
}

static bool minimal_allows(const char *cmd) {
        static const char *const ok[] = { "log", "dis", "rd", "sym", "eval", "set", "extend" };
        size_t wl = strcspn(cmd, " \t");
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (strlen(ok[i]) == wl && !strncmp(cmd, ok[i], wl))
                        return true;
        return false;
}

static void trim_leading_blank(struct capbuf *a) {
        size_t skip = 0;
        while (skip < a->len && a->buf[skip] == '\n')
                skip++;
        if (skip) {
                memmove(a->buf, a->buf + skip, a->len - skip + 1);
                a->len -= skip;
        }
}

/* Runs one line of the set; writes crash/NN-name.txt and its part of hotkdump.out. */
static int run_command(struct runner *rn, size_t idx, const struct crash_cmd *c, const char *skip_reason,
                       json_object *commands, json_object *record, bool *ret_useful) {
        const struct crash_opts *o = rn->s.o;
        char why[512] = "", file[128];
        struct capbuf a = { .max = o->max_output };
        enum status st;
        uint64_t t0 = (uint64_t) clock_now_ms();

        snprintf(file, sizeof file, "%02zu-%s.txt", idx, c->name);
        if (skip_reason) {
                st = ST_SKIPPED;
                snprintf(why, sizeof why, "%s", skip_reason);
        } else if (t0 >= rn->deadline) {
                st = ST_SKIPPED;
                snprintf(why, sizeof why, "crash.timeout reached before this command");
        } else if (rn->s.mode == MODE_MINIMAL && (c->kind != CRASH_CMD_PLAIN || !minimal_allows(c->command))) {
                st = ST_SKIPPED;
                snprintf(why, sizeof why, "not available when crash can open the dump only with --minimal");
        } else {
                uint64_t limit = (c->timeout_s ? c->timeout_s * 1000 : o->command_timeout_ms);
                uint64_t deadline = t0 + limit < rn->deadline ? t0 + limit : rn->deadline;
                job_log(rn->s.job, "crash> %s", c->command);
                if (c->kind == CRASH_CMD_BLOCKED)
                        st = run_blocked(rn, c, deadline, &a, record, why, sizeof why);
                else if (c->kind == CRASH_CMD_TOP_MEMORY)
                        st = run_top_memory(rn, c, deadline, &a, record, why, sizeof why);
                else
                        st = run_one(rn, c->command, deadline, &a, why, sizeof why);
                if (st == ST_TIMEOUT && (uint64_t) clock_now_ms() >= rn->deadline)
                        snprintf(why, sizeof why, "stopped at crash.timeout, the limit of the whole stage");
        }
        uint64_t ms = (uint64_t) clock_now_ms() - t0;
        if (a.buf)
                trim_leading_blank(&a);
        size_t dropped = a.dropped;
        if (dropped) {
                a.max += 128; /* room for the note itself */
                printf_answer(&a, "\n[hotkdump: %zu more bytes not kept: crash.max_output]\n", dropped);
        }
        if (c->kind == CRASH_CMD_PLAIN && !strcmp(c->command, "ps") && st == ST_OK && a.buf) {
                free(rn->last_ps);
                rn->last_ps = strndup(a.buf, a.len);
                rn->last_ps_len = rn->last_ps ? a.len : 0;
        }
        if (a.buf)
                note_mismatch(rn, a.buf, a.len);

        char crash_dir[PATH_MAX];
        snprintf(crash_dir, sizeof crash_dir, "%s/crash", o->dir);
        int r = 0;
        if (st != ST_SKIPPED)
                r = write_file_atomic(crash_dir, file, a.buf ? a.buf : "", a.len);
        job_log(rn->s.job, "%s: %s in %.2f s, %zu bytes%s%s", c->name, status_name[st], (double) ms / 1000.0, a.len,
                why[0] ? ": " : "", why);

        fprintf(rn->out, "==== [%02zu] %s  (%s)  %s%s%s, %.2f s ====\n", idx, c->command, c->name, status_name[st],
                why[0] ? ": " : "", why, (double) ms / 1000.0);
        if (a.len) {
                fwrite(a.buf, 1, a.len, rn->out);
                if (a.buf[a.len - 1] != '\n')
                        fputc('\n', rn->out);
        }
        fputc('\n', rn->out);

        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(c->name));
        json_object_object_add(e, "command", json_object_new_string(c->command));
        json_object_object_add(e, "status", json_object_new_string(status_name[st]));
        json_object_object_add(e, "seconds", json_object_new_double((double) ms / 1000.0));
        json_object_object_add(e, "bytes", json_object_new_int64((int64_t) a.len));
        if (dropped)
                json_object_object_add(e, "bytes_not_kept", json_object_new_int64((int64_t) dropped));
        if (st != ST_SKIPPED)
                json_object_object_add(e, "file", json_object_new_string(file));
        if (why[0])
                json_object_object_add(e, st == ST_OK ? "note" : "reason", json_object_new_string(why));
        json_object_array_add(commands, e);
        if (st == ST_OK || (a.len && (st == ST_TIMEOUT || st == ST_DIED)))
                *ret_useful = true;
        capbuf_free(&a);
        return r;
}

/* A build's folder: not hidden, not being made, not a link (current -> 8.0.6 names a build
 * that is listed under its own name). */
static bool is_build(const char *dir, const char *name, void *userdata) {
        char path[PATH_MAX];
        struct stat st;
        (void) userdata;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return name[0] != '.' && !strstr(name, ".tmp.") && lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Builds in a folder: <dir>/<version>/bin/crash (as scripts/build-crash lays them out). */
static int add_folder_builds(const char *dir, char **v, size_t *n, size_t max) {
        char **names = NULL;
        size_t count = 0;
        int r = dir_list_sorted(dir, is_build, NULL, &names, &count);
        if (r < 0)
                return r;
        /* newest version first; the same build under two names (current -> 9.0.2) once */
        for (size_t i = count; i-- > 0 && *n < max;) {
                char path[PATH_MAX], real[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s/bin/crash", dir, names[i]);
                if (access(path, X_OK) < 0 || !realpath(path, real))
                        continue;
                bool dup = false;
                for (size_t k = 0; k < *n && !dup; k++) {
                        char other[PATH_MAX];
                        dup = realpath(v[k], other) && !strcmp(other, real);
                }
                if (!dup && !(v[(*n)++] = strdup(path)))
                        r = -ENOMEM;
        }
        strv_free(names, count);
        return r;
}

static int version_cmp(const void *a, const void *b) {
        return -strverscmp(*(char *const *) a, *(char *const *) b);
}

int crash_binaries(const struct config *cfg, char ***ret, bool *ret_fallback) {
        char words[4096], **v = calloc(CRASH_MAX_BUILDS + 1, sizeof *v);
        size_t n = 0;
        int r = 0;
        bool fallback = false;
        if (!v)
                return -ENOMEM;
        snprintf(words, sizeof words, "%s", config_string(cfg, CONF_CRASH_BINARY));
        char *save = NULL;
        for (char *w = strtok_r(words, " ,", &save); w && r == 0 && n < CRASH_MAX_BUILDS; w = strtok_r(NULL, " ,", &save)) {
                struct stat st;
                if (stat(w, &st) == 0 && S_ISDIR(st.st_mode)) {
                        size_t first = n;
                        r = add_folder_builds(w, v, &n, CRASH_MAX_BUILDS);
                        /* a folder's builds by version, newest first ("9.0.2-abcb45e7" before "8.0.6") */
                        qsort(v + first, n - first, sizeof *v, version_cmp);
                } else if (!strcmp(w, CRASH_DEFAULT) && access(w, X_OK) < 0) {
                        fallback = true;
                        r = (v[n++] = strdup("crash")) ? 0 : -ENOMEM;
                } else
                        r = (v[n++] = strdup(w)) ? 0 : -ENOMEM;
        }
        if (r == 0 && n == 0)
                r = -ENOENT;
        if (r < 0) {
                crash_binaries_free(v);
                return r;
        }
        if (ret_fallback)
                *ret_fallback = fallback;
        *ret = v;
        return 0;
}

void crash_binaries_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

const char *crash_mode_option(const char *mode) {
        for (int m = 0; mode && m < _MODE_MAX; m++)
                if (!strcmp(mode, mode_name[m]))
                        return mode_flag[m];
        return NULL;
}

int crash_version(const char *binary, char *buf, size_t size) {
        const char *argv[] = { binary, "--version", NULL };
        struct subprocess_opts o = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .timeout_ms = 30000,
                                     .capture_max = 4096, .guard = true };
        struct subprocess_result res;
        int r = subprocess_run(&o, &res);
        if (r < 0)
                return r;
        if (res.status == 127)
                r = -ENOENT;
        else if (res.status != 0 || !res.out)
                r = -ENOEXEC;
        else {
                const char *p = res.out + strspn(res.out, " \n");
                char v[64] = "";
                r = sscanf(p, "crash %63s", v) == 1 ? 0 : -ENOEXEC;
                if (r == 0)
                        snprintf(buf, size, "%s", v);
        }
        subprocess_result_clear(&res);
        return r;
}

static bool dir_has_files(const char *path) {
        struct stat st;
        return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink >= 2 && tree_disk_usage(path) > 4096;
}

int crash_run(struct job *j, const struct crash_opts *o, const struct crash_cmdset *set, json_object **ret,
              char *err, size_t err_size) {
        struct runner rn = { .s = { .o = o, .job = j }, .set = set };
        json_object *crec = json_object_new_object(), *attempts = json_object_new_array(),
                    *commands = json_object_new_array();
        char version[64] = "", crash_dir[PATH_MAX], part[PATH_MAX];
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
        bool useful = false, opened = false;
        int r;

        /* the builds to try, newest first: o->binaries, else o->binary alone; those that do
         * not run are left out, and said */
        const char *one[] = { o->binary, NULL };
        const char *const *all = o->binaries && o->binaries[0] ? o->binaries : one;
        const char *builds[CRASH_MAX_BUILDS];
        char versions[CRASH_MAX_BUILDS][64], bad[512] = "";
        size_t nb = 0;
        rn.mismatch = json_object_new_array();
        for (size_t i = 0; all[i] && nb < CRASH_MAX_BUILDS; i++) {
                r = crash_version(all[i], versions[nb], sizeof versions[nb]);
                if (r == 0) {
                        builds[nb++] = all[i];
                        continue;
                }
                size_t bl = strlen(bad);
                snprintf(bad + bl, sizeof bad - bl, "%scannot run crash '%s': %s", bl ? "; " : "", all[i],
                         r == -ENOENT ? "no such program" : r == -ENOEXEC ? "it does not say its version" : strerror(-r));
                job_log(j, "%s", bad + bl);
        }
        if (!nb) {
                json_object_object_add(crec, "binary", json_object_new_string(all[0] ? all[0] : ""));
                json_object_put(attempts);
                json_object_put(commands);
                json_object_put(rn.mismatch);
                *ret = crec;
                return log_reason(err, err_size, -ENOENT, "%s", bad[0] ? bad : "no crash configured (crash.binary)");
        }
        rn.s.binary = builds[0];
        snprintf(version, sizeof version, "%s", versions[0]);
        if (nb > 1) {
                json_object *avail = json_object_new_array();
                for (size_t i = 0; i < nb; i++) {
                        json_object *b = json_object_new_object();
                        json_object_object_add(b, "binary", json_object_new_string(builds[i]));
                        json_object_object_add(b, "version", json_object_new_string(versions[i]));
                        json_object_array_add(avail, b);
                }
                json_object_object_add(crec, "builds", avail);
        }
        job_log(j, "crash %s (%s)%s", version, builds[0], nb > 1 ? ", and older builds if it is too old for the kernel" : "");

        snprintf(crash_dir, sizeof crash_dir, "%s/crash", o->dir);
        snprintf(part, sizeof part, "%s/hotkdump.out.part", o->dir);
        r = mkdir_parents(crash_dir);
        if (r >= 0)
                rn.out = fopen(part, "we");
        if (r < 0 || !rn.out) {
                r = r < 0 ? r : -errno;
                json_object_put(attempts);
                json_object_put(commands);
                json_object_put(rn.mismatch);
                *ret = crec;
                return log_reason(err, err_size, r, "cannot write in '%s': %s", o->dir, strerror(-r));
        }
        sigaction(SIGPIPE, &ign, &old_pipe); /* crash may go away while we write to it */
        rn.deadline = (uint64_t) clock_now_ms() + o->total_timeout_ms;

        /* Open the dump the way engineers do when it resists: as is, with each build from the
         * newest while the one tried shows it is older than the kernel; then, with the newest,
         * with excluded pages read as zeros, then --minimal (log, dis, rd and sym only). */
        char first_failure[512] = "";
        json_object *too_old_builds = NULL; /* the builds passed over as older than the kernel */
        size_t b = 0;
        for (enum mode m = MODE_NORMAL; m < _MODE_MAX && !opened;) {
                struct capbuf startup = { .max = STARTUP_KEEP };
                uint64_t t0 = (uint64_t) clock_now_ms();
                rn.s.binary = builds[b];
                r = session_start(&rn.s, m, rn.deadline, &startup);
                json_object *at = json_object_new_object();
                json_object_object_add(at, "mode", json_object_new_string(mode_name[m]));
                if (nb > 1)
                        json_object_object_add(at, "version", json_object_new_string(versions[b]));
                json_object_object_add(at, "seconds", json_object_new_double((double) ((uint64_t) clock_now_ms() - t0) / 1000.0));
                bool older = startup.buf && shows_too_old(startup.buf, startup.len);
                bool next_build = m == MODE_NORMAL && b + 1 < nb && (r < 0 || older);
                if (next_build && older) {
                        if (!too_old_builds)
                                too_old_builds = json_object_new_array();
                        json_object_array_add(too_old_builds, json_object_new_string(versions[b]));
                }
                if (startup.buf && !next_build)
                        note_mismatch(&rn, startup.buf, startup.len);
                if (r == 0 && next_build) {
                        /* it opened, but reads this kernel wrong: a newer build may not */
                        session_stop(&rn.s, 2000);
                        json_object_object_add(at, "result", json_object_new_string("opened, too old for the kernel"));
                        job_log(j, "crash %s is too old for this kernel: trying crash %s", versions[b], versions[b + 1]);
                } else if (r == 0) {
                        opened = true;
                        json_object_object_add(at, "result", json_object_new_string("opened"));
                } else {
                        char last[400] = "";
                        /* the last non-empty line is crash's reason */
                        for (size_t off = 0; startup.buf && off < startup.len;) {
                                char line[400];
                                off = next_line(startup.buf, startup.len, off, line, sizeof line);
                                if (line[strspn(line, " \t")])
                                        snprintf(last, sizeof last, "%s", line + strspn(line, " \t"));
                        }
                        if (!last[0] && r == -EPIPE)
                                snprintf(last, sizeof last, "crash exited with status %d without saying why (a truncated dump?)",
                                         rn.s.exit_status);
                        else if (!last[0])
                                snprintf(last, sizeof last, "%s", r == -ETIMEDOUT ? "no answer within crash.open_timeout" : strerror(-r));
                        json_object_object_add(at, "result", json_object_new_string(last));
                        if (!first_failure[0])
                                snprintf(first_failure, sizeof first_failure, "%s", last);
                }
                json_object_array_add(attempts, at);
                capbuf_free(&startup);
                if (r == -ENOMEM || (uint64_t) clock_now_ms() >= rn.deadline)
                        break;
                if (opened)
                        break;
                if (next_build) {
                        b++;
                        continue;
                }
                /* the other modes with the newest build */
                if (m == MODE_NORMAL && b != 0)
                        b = 0;
                m++;
        }
        snprintf(version, sizeof version, "%s", versions[opened ? b : 0]);
        json_object_object_add(crec, "binary", json_object_new_string(builds[opened ? b : 0]));
        json_object_object_add(crec, "version", json_object_new_string(version));
        if (too_old_builds)
                json_object_object_add(crec, "too_old_builds", too_old_builds);
        if (opened && b > 0)
                job_log(j, "crash %s opened the dump", version);
        json_object_object_add(crec, "attempts", attempts);
        if (!opened) {
                fclose(rn.out);
                (void) unlink(part); /* a .part file is never taken for a whole one */
                r = log_reason(err, err_size, r == -ENOMEM ? r : -EBADMSG, "crash %s could not open the dump: %s", version,
                               first_failure);
                goto done;
        }
        json_object_object_add(crec, "mode", json_object_new_string(mode_name[rn.s.mode]));
        if (rn.s.mode != MODE_NORMAL)
                job_log(j, "crash opened the dump only in %s mode", mode_name[rn.s.mode]);

        /* module debug info first, so that module frames resolve: the modules the dump has
         * loaded, their debug files fetched when the symbols lack them */
        if (rn.s.mode != MODE_MINIMAL && o->want_modules) {
                struct capbuf mods = { .max = 16u << 20 };
                char why[256];
                uint64_t until = (uint64_t) clock_now_ms() + o->command_timeout_ms;
                if (run_one(&rn, "mod", until < rn.deadline ? until : rn.deadline, &mods, why, sizeof why) == ST_OK &&
                    mods.buf) {
                        char **names = crash_parse_mod(mods.buf, mods.len);
                        size_t count = 0;
                        while (names && names[count])
                                count++;
                        if (count) {
                                int added = o->want_modules(o->userdata, names);
                                job_log(j, "%zu module(s) loaded in the dump; debug files of %d added to the symbols", count,
                                        added > 0 ? added : 0);
                        }
                        for (size_t k = 0; k < count; k++)
                                free(names[k]);
                        free(names);
                }
                capbuf_free(&mods);
        }
        if (rn.s.mode != MODE_MINIMAL && dir_has_files(o->modules_dir)) {
                struct crash_cmd mc = { .name = "mod-S" };
                snprintf(mc.command, sizeof mc.command, "mod -S %s", o->modules_dir);
                json_object *mods = json_object_new_array();
                r = run_command(&rn, 0, &mc, NULL, mods, crec, &(bool) { false });
                json_object_object_add(crec, "modules", json_object_array_get_idx(mods, 0) ?
                                                       json_object_get(json_object_array_get_idx(mods, 0)) : NULL);
                json_object_put(mods);
                snprintf(rn.setup[0], sizeof rn.setup[0], "%s", mc.command);
        }
        const char *pyk_skip = o->pykdump && *o->pykdump ? NULL : "pykdump is not configured (crash.pykdump)";
        if (!pyk_skip && rn.s.mode != MODE_MINIMAL) {
                struct crash_cmd ec = { .name = "extend" };
                snprintf(ec.command, sizeof ec.command, "extend %s", o->pykdump);
                json_object *ext = json_object_new_array();
                bool ok = false;
                if (r == 0)
                        r = run_command(&rn, 0, &ec, NULL, ext, crec, &ok);
                json_object *e = json_object_array_get_idx(ext, 0), *st;
                if (!e || !json_object_object_get_ex(e, "status", &st) || strcmp(json_object_get_string(st), "ok") != 0)
                        pyk_skip = "pykdump could not be loaded (see crash/00-extend.txt)";
                else
                        snprintf(rn.setup[1], sizeof rn.setup[1], "%s", ec.command);
                json_object_object_add(crec, "pykdump", e ? json_object_get(e) : NULL);
                json_object_put(ext);
        }

        struct progress pg;
        progress_init(&pg, rn.s.job, "crash commands", PROGRESS_STEPS, set->n);
        for (size_t i = 0; r == 0 && i < set->n; i++) {
                progress_update(&pg, i, set->n, set->v[i].command);
                r = run_command(&rn, i + 1, &set->v[i], set->v[i].needs_pykdump ? pyk_skip : NULL, commands, crec, &useful);
                if (r < 0)
                        break;
        }
        progress_done(&pg, set->n);
        json_object_object_add(crec, "commands", json_object_get(commands));
        json_object_object_add(crec, "restarts", json_object_new_int((int) rn.restarts));
        session_stop(&rn.s, 5000);

        if (r == 0 && (fflush(rn.out) != 0 || ferror(rn.out) || fsync(fileno(rn.out)) < 0))
                r = errno ? -errno : -EIO;
        if (fclose(rn.out) != 0 && r == 0)
                r = -errno;
        if (r == 0) {
                char final[PATH_MAX];
                snprintf(final, sizeof final, "%s/hotkdump.out", o->dir);
                r = rename(part, final) < 0 ? -errno : 0;
        }
        if (r < 0) {
                (void) unlink(part); /* a .part file is never taken for a whole one */
                r = log_reason(err, err_size, r, "cannot write the crash outputs in '%s': %s", o->dir, strerror(-r));
        } else if (!useful)
                r = log_reason(err, err_size, -ENODATA, "crash %s answered no command usefully (see hotkdump.out)", version);
done:
        if (json_object_array_length(rn.mismatch)) {
                json_object *mm = json_object_new_object();
                json_object_object_add(mm, "version", json_object_new_string(version));
                json_object_object_add(mm, "lines", rn.mismatch);
                json_object_object_add(crec, "too_old", mm);
        } else
                json_object_put(rn.mismatch);
        json_object_put(commands);
        session_stop(&rn.s, 0);
        sigaction(SIGPIPE, &old_pipe, NULL);
        free(rn.last_ps);
        *ret = crec;
        return r;
}
