/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An epoll set and what waits on it. */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/loop.h"

struct loop {
        int epfd;
};

int loop_new(struct loop **ret) {
        assert(ret);
        struct loop *l = malloc(sizeof *l);
        if (!l)
                return -ENOMEM;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = -errno;
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

struct loop *loop_free(struct loop *l) {
        if (l) {
                close(l->epfd);
                free(l);
        }
        return NULL;
}

static int ctl(struct loop *l, int op, struct ev_source *s, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = s };
        return epoll_ctl(l->epfd, op, s->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct loop *l, struct ev_source *s, uint32_t events) {
        assert(l && s);
        return ctl(l, EPOLL_CTL_ADD, s, events);
}

int loop_mod(struct loop *l, struct ev_source *s, uint32_t events) {
        assert(l && s);
        return ctl(l, EPOLL_CTL_MOD, s, events);
}

void loop_del(struct loop *l, struct ev_source *s) {
        assert(l && s);
        if (l && s->fd >= 0)
                (void) epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL); /* a closed fd is gone already */
}

int loop_run_once(struct loop *l, int timeout_ms) {
        assert(l);
        struct epoll_event ev[32];
        int n = epoll_wait(l->epfd, ev, 32, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct ev_source *s = ev[i].data.ptr;
                s->handler(s, ev[i].events);
        }
        return n;
}

int loop_timer(struct ev_source *s, int64_t interval_ms) {
        assert(s);
        s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->fd < 0)
                return -errno;
        struct itimerspec its = { .it_interval = { interval_ms / 1000, (interval_ms % 1000) * 1000000 },
                                  .it_value = { interval_ms / 1000, (interval_ms % 1000) * 1000000 } };
        return timerfd_settime(s->fd, 0, &its, NULL) < 0 ? -errno : 0;
}
