/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sd_notify(3) without libsystemd: one datagram on an AF_UNIX socket, a path or an abstract name
 * ("@name"). */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/notify.h"

static struct sockaddr_un addr;
static socklen_t addr_len;

void notify_init(void) {
        const char *s = getenv("NOTIFY_SOCKET");
        size_t n = s ? strlen(s) : 0;
        addr_len = 0;
        if (n == 0 || n >= sizeof addr.sun_path || (s[0] != '/' && s[0] != '@')) {
                unsetenv("NOTIFY_SOCKET");
                return;
        }
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, s, n);
        if (s[0] == '@')
                addr.sun_path[0] = 0; /* the abstract namespace: no terminating NUL counts */
        addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
        unsetenv("NOTIFY_SOCKET");
}

int notify_send(const char *state) {
        if (addr_len == 0)
                return 0;
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *) &addr, addr_len);
        int r = w < 0 ? -errno : 0;
        close(fd);
        return r;
}
