/* SPDX-License-Identifier: GPL-3.0-or-later */
/* External commands for the pipeline (makedumpfile, crash …).
 * The child leads its own process group so that a timeout takes down everything it started. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/capbuf.h"
#include "common/clock.h"
#include "common/subprocess.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct capture {
        int fd;
        struct capbuf b;
};

static int capture_read(struct capture *c) {
        char tmp[65536];
        ssize_t n = read(c->fd, tmp, sizeof tmp);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0) {
                close(c->fd);
                c->fd = -1;
                return 0;
        }
        return capbuf_add(&c->b, tmp, (size_t) n);
}

/* Our environment with opts->env set on top, made before fork(): the child of a process with
 * threads (libcurl's resolver) may not allocate. The strings are borrowed. */
static char **make_env(const char *const *add) {
        size_t n = 0, n_add = 0;
        while (environ[n])
                n++;
        while (add[n_add])
                n_add++;
        char **v = calloc(n + n_add + 1, sizeof *v);
        if (!v)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                size_t name = strcspn(environ[i], "=");
                bool replaced = false;
                for (size_t a = 0; a < n_add && !replaced; a++)
                        replaced = !strncmp(add[a], environ[i], name + 1);
                if (!replaced)
                        v[k++] = environ[i];
        }
        for (size_t a = 0; a < n_add; a++)
                v[k++] = (char *) add[a];
        return v;
}

/* Moves the command's stdin, stdout and stderr onto 0, 1 and 2. */
static int setup_stdio(const struct subprocess_opts *o, int in_r, int out_w, int err_w) {
        int in = in_r >= 0 ? in_r : o->stdin_fd >= 0 ? o->stdin_fd : open("/dev/null", O_RDONLY);
        int out = in_r < 0 && o->stdout_fd >= 0 ? o->stdout_fd : out_w;

        /* pipes that landed on 0-2 (we were started with those closed) are moved out of the
         * way first, so that dup2() below neither skips them nor overwrites one with another */
        if (in >= 0 && in <= 2)
                in = fcntl(in, F_DUPFD, 3);
        if (out >= 0 && out <= 2)
                out = fcntl(out, F_DUPFD, 3);
        if (err_w >= 0 && err_w <= 2)
                err_w = fcntl(err_w, F_DUPFD, 3);
        return in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err_w, 2) < 0 ? -1 : 0;
}

/* The command itself, its stdio in place: it dies with parent. */
static _Noreturn void exec_command(const struct subprocess_opts *o, char **envp, pid_t parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        /* the parent may ignore or block signals; the command should not inherit that */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (o->cwd && chdir(o->cwd) < 0) {
                dprintf(2, "cannot enter '%s': %s\n", o->cwd, strerror(errno));
                _exit(127);
        }
        if (envp)
                execvpe(o->argv[0], (char *const *) o->argv, envp);
        else
                execvp(o->argv[0], (char *const *) o->argv);
        dprintf(2, "cannot run '%s': %s\n", o->argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

/* Dies as the command did: the same exit code, or the same signal (without a core of ours). */
static _Noreturn void exit_as(int wstatus) {
        if (WIFSIGNALED(wstatus)) {
                int sig = WTERMSIG(wstatus);
                struct rlimit none = { 0, 0 };
                (void) setrlimit(RLIMIT_CORE, &none);
                signal(sig, SIG_DFL);
                sigset_t one;
                sigemptyset(&one);
                sigaddset(&one, sig);
                raise(sig);
                sigprocmask(SIG_UNBLOCK, &one, NULL);
                _exit(128 + sig);
        }
        _exit(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 127);
}

/* opts->guard: the leader of the command's group, between parent and the command, for a
 * command that replaces the parent-death signal it was given. crash does (SIGUSR2, whose
 * handler runs its whole exit path in the signal handler and can hang on a lock another of its
 * threads held), so a killed worker could leave crash running for ever. The guard watches
 * parent through a pidfd and kills the group, itself included, when parent dies; otherwise it
 * waits for the command and exits as it did. Signals sent to the group (a timeout's SIGTERM)
 * are for the command: the guard blocks them and follows the command out. Without pidfd_open
 * (Linux < 5.3) the command is run directly. */
static void guard(const struct subprocess_opts *o, char **envp, pid_t parent) {
        int parent_fd = (int) syscall(SYS_pidfd_open, parent, 0);
        if (parent_fd < 0)
                return;
        if (getppid() != parent)
                _exit(127);
        /* nothing of the parent's stays open here: another command's pipes would not close */
        if (parent_fd != 3) {
                if (dup2(parent_fd, 3) < 0)
                        _exit(127);
                parent_fd = 3;
        }
        if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
                for (int fd = 4; fd < 1024; fd++)
                        close(fd);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        (void) prctl(PR_SET_NAME, "hotkdump-guard");
        pid_t me = getpid(), cmd = fork();
        if (cmd < 0)
                _exit(126);
        if (cmd == 0) {
                close(parent_fd);
                exec_command(o, envp, me);
        }
        /* stdio is the command's alone: its readers see it end when it does */
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; fd <= 2; fd++)
                if (null >= 0)
                        dup2(null, fd);
        int cmd_fd = (int) syscall(SYS_pidfd_open, cmd, 0);
        for (;;) {
                struct pollfd p[2] = { { .fd = parent_fd, .events = POLLIN }, { .fd = cmd_fd, .events = POLLIN } };
                int n = poll(p, cmd_fd >= 0 ? 2 : 1, cmd_fd >= 0 ? -1 : 100);
                if (n < 0 && errno != EINTR)
                        break;
                if (n > 0 && p[0].revents)
                        break;
                int wstatus;
                pid_t w = waitpid(cmd, &wstatus, WNOHANG);
                if (w == cmd)
                        exit_as(wstatus);
                if (w < 0 && errno != EINTR)
                        break;
        }
        kill(0, SIGKILL);
        _exit(137);
}

static void child(const struct subprocess_opts *o, char **envp, pid_t parent, int in_r, int out_w, int err_w) {
        if (setup_stdio(o, in_r, out_w, err_w) < 0)
                _exit(127);
        setpgid(0, 0);
        /* the command dies with us: a worker killed by the daemon leaves no crash behind */
        if (o->guard)
                guard(o, envp, parent);
        exec_command(o, envp, parent);
}

/* The process groups of the commands running now. The command itself dies with us
 * (PR_SET_PDEATHSIG), but what it started does not: a process told to stop takes the groups
 * with it (subprocess_kill_on_signal). Written only outside signal handlers, read in them. */
#define LIVE_MAX 8
static volatile sig_atomic_t live_groups[LIVE_MAX];

static void live_add(pid_t pgid) {
        for (size_t i = 0; i < LIVE_MAX; i++)
                if (live_groups[i] == 0) {
                        live_groups[i] = (sig_atomic_t) pgid;
                        return;
                }
}

static void live_del(pid_t pgid) {
        for (size_t i = 0; i < LIVE_MAX; i++)
                if (live_groups[i] == (sig_atomic_t) pgid)
                        live_groups[i] = 0;
}

static void kill_live_and_reraise(int sig) {
        int saved = errno;
        for (size_t i = 0; i < LIVE_MAX; i++)
                if (live_groups[i] > 0)
                        kill(-(pid_t) live_groups[i], SIGKILL);
        signal(sig, SIG_DFL);
        raise(sig);
        errno = saved;
}

void subprocess_kill_on_signal(void) {
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        struct sigaction sa = { .sa_handler = kill_live_and_reraise };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
                (void) sigaction(sigs[i], &sa, NULL); /* cannot fail for these signals */
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

int subprocess_run(const struct subprocess_opts *o, struct subprocess_result *ret) {
        assert(o && ret);
        int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, pidfd = -1;
        struct subprocess_result res = { 0 };
        size_t max = o->capture_max ? o->capture_max : 1 << 20;
        struct capture cap[2] = {
                { .fd = -1, .b.max = max },
                { .fd = -1, .b.max = max },
        };
        uint64_t grace = o->kill_grace_ms ? o->kill_grace_ms : 5000;
        uint64_t deadline = o->timeout_ms ? (uint64_t) clock_now_ms() + o->timeout_ms : 0;
        bool termed = false, exited = false;
        siginfo_t si = { 0 };
        pid_t pid, parent = getpid();
        char **envp = NULL;
        int r = 0;

        if (!o->argv || !o->argv[0])
                return -EINVAL;
        if (o->env && !(envp = make_env(o->env)))
                return -ENOMEM;
        if ((o->stdout_fd < 0 && pipe2(out_p, O_CLOEXEC) < 0) || pipe2(err_p, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0)
                child(o, envp, parent, -1, out_p[1], err_p[1]);
        /* Also here, so that a signal sent before the child ran setpgid() finds the group. */
        setpgid(pid, pid);
        live_add(pid);
        close_fd(&out_p[1]);
        close_fd(&err_p[1]);
        cap[0].fd = out_p[0];
        cap[1].fd = err_p[0];
        out_p[0] = err_p[0] = -1;
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        /* Read both pipes until the command exits. The exit is seen on the pidfd (or, without
         * one, when the pipes close), so a descendant that escaped the group and holds the pipes
         * open cannot keep us here. */
        while (!exited) {
                struct pollfd p[3];
                int n = 0, timeout = -1;
                for (int i = 0; i < 2; i++)
                        if (cap[i].fd >= 0)
                                p[n++] = (struct pollfd) { .fd = cap[i].fd, .events = POLLIN };
                if (pidfd >= 0)
                        p[n++] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
                else if (n == 0)
                        break;
                if (deadline) {
                        uint64_t t = (uint64_t) clock_now_ms();
                        if (t >= deadline) {
                                /* The leader is not reaped yet, so its pid (= group id) cannot
                                 * have been recycled: signalling the group hits only its own. */
                                kill(-pid, termed ? SIGKILL : SIGTERM);
                                res.timed_out = true;
                                deadline = termed ? 0 : t + grace;
                                termed = true;
                                continue;
                        }
                        timeout = (int) (deadline - t);
                }
                if (poll(p, (nfds_t) n, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                for (int i = 0; i < n; i++) {
                        if (!p[i].revents)
                                continue;
                        if (p[i].fd == pidfd)
                                exited = true;
                        for (int c = 0; c < 2; c++)
                                if (cap[c].fd == p[i].fd && (r = capture_read(&cap[c])) < 0)
                                        goto reap;
                }
        }
        /* What the command wrote before it exited is in the pipes: take it, without waiting
         * for writers that outlive it. */
        uint64_t drain_until = (uint64_t) clock_now_ms() + 1000;
        for (bool more = true; more && r == 0 && (uint64_t) clock_now_ms() < drain_until;) {
                more = false;
                for (int c = 0; c < 2; c++) {
                        struct pollfd p = { .fd = cap[c].fd, .events = POLLIN };
                        if (cap[c].fd >= 0 && poll(&p, 1, 0) > 0) {
                                size_t before = cap[c].b.len + cap[c].b.dropped;
                                if ((r = capture_read(&cap[c])) < 0)
                                        break;
                                more |= cap[c].fd >= 0 && cap[c].b.len + cap[c].b.dropped > before;
                        }
                }
        }
reap:
        close_fd(&cap[0].fd);
        close_fd(&cap[1].fd);
        /* Wait without reaping, end what is left of the group while the pid is still ours,
         * then reap. */
        while (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
                ;
        kill(-pid, SIGKILL);
        live_del(pid);
        int wstatus = 0;
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
                ;
        res.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        if (r == 0) {
                res.out = cap[0].b.buf;
                res.out_len = cap[0].b.len;
                res.err = cap[1].b.buf;
                res.err_len = cap[1].b.len;
                res.dropped = cap[0].b.dropped + cap[1].b.dropped;
                cap[0].b.buf = cap[1].b.buf = NULL;
                *ret = res;
        }
out:
        for (int i = 0; i < 2; i++) {
                close_fd(&out_p[i]);
                close_fd(&err_p[i]);
                close_fd(&cap[i].fd);
                capbuf_free(&cap[i].b);
        }
        close_fd(&pidfd);
        free(envp);
        return r;
}

int subprocess_spawn(const struct subprocess_opts *o, struct subprocess *ret) {
        assert(o && ret);
        int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, r;

        if (!o->argv || !o->argv[0])
                return -EINVAL;
        if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        char **envp = NULL;
        if (o->env && !(envp = make_env(o->env))) {
                r = -ENOMEM;
                goto fail;
        }
        pid_t parent = getpid(), pid = fork();
        if (pid < 0) {
                r = -errno;
                free(envp);
                goto fail;
        }
        if (pid == 0)
                child(o, envp, parent, in_p[0], out_p[1], out_p[1]);
        free(envp);
        setpgid(pid, pid);
        live_add(pid);
        close(in_p[0]);
        close(out_p[1]);
        *ret = (struct subprocess) { .pid = pid, .pidfd = (int) syscall(SYS_pidfd_open, pid, 0), .in_fd = in_p[1],
                                     .out_fd = out_p[0] };
        return 0;
fail:
        for (int i = 0; i < 2; i++) {
                close_fd(&in_p[i]);
                close_fd(&out_p[i]);
        }
        return r;
}

int subprocess_signal(struct subprocess *p, int sig) {
        assert(p);
        if (p->pid <= 0)
                return -ESRCH;
        /* not reaped yet, so the group id is still this command's */
        return kill(-p->pid, sig) < 0 ? -errno : 0;
}

int subprocess_finish(struct subprocess *p, uint64_t grace_ms) {
        assert(p);
        siginfo_t si = { 0 };
        int wstatus = 0;

        if (p->pid <= 0)
                return -ESRCH;
        close_fd(&p->in_fd);
        close_fd(&p->out_fd);
        /* gone already, or within the grace time; else the group is killed */
        for (uint64_t until = (uint64_t) clock_now_ms() + grace_ms;;) {
                si.si_pid = 0;
                if (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid == p->pid)
                        break;
                uint64_t t = (uint64_t) clock_now_ms();
                if (t >= until) {
                        kill(-p->pid, SIGKILL);
                        while (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
                                ;
                        break;
                }
                if (p->pidfd >= 0) {
                        struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
                        poll(&pf, 1, (int) (until - t));
                } else
                        usleep(10000);
        }
        kill(-p->pid, SIGKILL); /* whatever it left behind in its group */
        live_del(p->pid);
        pid_t w;
        while ((w = waitpid(p->pid, &wstatus, 0)) < 0 && errno == EINTR)
                ;
        int r = w < 0 ? -errno : 0;
        close_fd(&p->pidfd);
        p->pid = 0;
        if (r < 0)
                return r;
        return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

void subprocess_result_clear(struct subprocess_result *r) {
        assert(r);
        free(r->out);
        free(r->err);
        *r = (struct subprocess_result) { 0 };
}

int subprocess_format_argv(const char *const *argv, char *buf, size_t size) {
        assert(argv && buf);
        size_t o = 0;
        buf[0] = 0;
        for (size_t i = 0; argv[i]; i++) {
                const char *a = argv[i];
                bool plain = *a != 0;
                for (const char *p = a; *p && plain; p++)
                        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p) != NULL;
                int n = plain ? snprintf(buf + o, size - o, "%s%s", i ? " " : "", a)
                              : snprintf(buf + o, size - o, "%s'", i ? " " : "");
                if (n < 0 || (size_t) n >= size - o)
                        return -ENOBUFS;
                o += (size_t) n;
                if (plain)
                        continue;
                for (const char *p = a; *p; p++) {
                        n = *p == '\'' ? snprintf(buf + o, size - o, "'\\''") : snprintf(buf + o, size - o, "%c", *p);
                        if (n < 0 || (size_t) n >= size - o)
                                return -ENOBUFS;
                        o += (size_t) n;
                }
                if (o + 2 > size)
                        return -ENOBUFS;
                buf[o++] = '\'';
                buf[o] = 0;
        }
        return (int) o;
}
