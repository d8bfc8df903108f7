/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Which addresses a download may connect to: fetch.deny and fetch.allow, lists of address
 * prefixes ("10.0.0.0/8", "fd00::/8", an address alone) and names for well-known ranges. Each
 * connection is checked after the name was resolved, redirects included, so a host name, a
 * decimal (http://2130706433/) or octal (http://0177.1/) form of a denied address is denied
 * too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETPOLICY_MAX 64

struct netprefix {
        int family; /* AF_INET or AF_INET6 */
        unsigned char addr[16];
        unsigned bits;
};

struct netpolicy {
        struct netprefix deny[NETPOLICY_MAX], allow[NETPOLICY_MAX];
        size_t n_deny, n_allow;
};

/* Parses the two lists (space-separated; names: loopback, link-local, unspecified, private,
 * multicast). -EINVAL with err naming the entry and the list. */
int netpolicy_parse(const char *deny, const char *allow, struct netpolicy *p, char *err, size_t err_size);

/* Whether a connection to sa may be made: not in deny, and in allow when allow is not empty.
 * An IPv4 address written as IPv6 (::ffff:a.b.c.d) is taken as the IPv4 one. When it may not,
 * why says which rule refused it. */
bool netpolicy_allows(const struct netpolicy *p, const struct sockaddr *sa, char *why, size_t why_size);
