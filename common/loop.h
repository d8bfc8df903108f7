/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An epoll set and what waits on it. The loop knows descriptors and handlers, nothing of jobs:
 * the daemon's supervisor, its HTTP API and the watcher each add their own sources. */
#pragma once

#include <stdint.h>

/* Something the loop waits on: when fd becomes ready, handler(source, epoll events) runs;
 * data is the handler's own (its module's state). */
struct ev_source {
        int fd;
        void (*handler)(struct ev_source *s, uint32_t events);
        void *data;
};

struct loop;

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *l);
int loop_add(struct loop *l, struct ev_source *s, uint32_t events);
int loop_mod(struct loop *l, struct ev_source *s, uint32_t events);
/* Nothing when s->fd < 0. */
void loop_del(struct loop *l, struct ev_source *s);
/* Waits up to timeout_ms (-1: no limit) and runs the handlers of what became ready: the
 * number run, 0 on a timeout or an interrupted wait, or -errno. */
int loop_run_once(struct loop *l, int timeout_ms);
/* A timerfd (non-blocking) firing every interval_ms, in s->fd. */
int loop_timer(struct ev_source *s, int64_t interval_ms);
