/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The service manager's notification protocol (sd_notify(3)): "READY=1", "STOPPING=1",
 * "STATUS=…" as one datagram to $NOTIFY_SOCKET. Its wire format is a few lines of text, stable
 * and documented, so it is spoken here rather than linking libsystemd for one sendto(). */
#pragma once

/* Takes $NOTIFY_SOCKET (and removes it from the environment, so that what the daemon starts
 * does not speak for it). Without one, notify_send() does nothing. */
void notify_init(void);
/* Sends state (lines of KEY=VALUE); 0, or -errno. */
int notify_send(const char *state);
