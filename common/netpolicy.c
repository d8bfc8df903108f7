/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Which addresses a download may connect to. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netpolicy.h"

static const struct {
        const char *name, *prefixes;
} named[] = {
        { "loopback", "127.0.0.0/8 ::1/128" },
        { "link-local", "169.254.0.0/16 fe80::/10" }, /* cloud metadata services live here */
        { "unspecified", "0.0.0.0/8 ::/128" },
        { "private", "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 fc00::/7" },
        { "multicast", "224.0.0.0/4 ff00::/8" },
};

static int parse_prefix(const char *s, struct netprefix *out) {
        char addr[64];
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        if (n == 0 || n >= sizeof addr)
                return -EINVAL;
        memcpy(addr, s, n);
        addr[n] = 0;
        memset(out, 0, sizeof *out);
        if (inet_pton(AF_INET, addr, out->addr) == 1)
                out->family = AF_INET, out->bits = 32;
        else if (inet_pton(AF_INET6, addr, out->addr) == 1)
                out->family = AF_INET6, out->bits = 128;
        else
                return -EINVAL;
        if (slash) {
                char *end;
                errno = 0;
                unsigned long b = strtoul(slash + 1, &end, 10);
                if (errno || *end || end == slash + 1 || b > out->bits)
                        return -EINVAL;
                out->bits = (unsigned) b;
        }
        return 0;
}

static int parse_list(const char *list, const char *what, struct netprefix *v, size_t *n, char *err, size_t err_size) {
        char buf[4096];
        if (snprintf(buf, sizeof buf, "%s", list) >= (int) sizeof buf) {
                snprintf(err, err_size, "%s is too long", what);
                return -EINVAL;
        }
        *n = 0;
        for (char *save = NULL, *t = strtok_r(buf, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
                const char *expand = NULL;
                for (size_t i = 0; i < sizeof named / sizeof *named; i++)
                        if (!strcmp(t, named[i].name))
                                expand = named[i].prefixes;
                char one[512];
                snprintf(one, sizeof one, "%s", expand ? expand : t);
                for (char *s2 = NULL, *p = strtok_r(one, " ", &s2); p; p = strtok_r(NULL, " ", &s2)) {
                        if (*n == NETPOLICY_MAX) {
                                snprintf(err, err_size, "%s has more than %d prefixes", what, NETPOLICY_MAX);
                                return -EINVAL;
                        }
                        if (parse_prefix(p, &v[*n]) < 0) {
                                snprintf(err, err_size,
                                         "%s: '%s' is not an address, a prefix (ADDRESS/BITS) or one of loopback, "
                                         "link-local, unspecified, private, multicast",
                                         what, t);
                                return -EINVAL;
                        }
                        (*n)++;
                }
        }
        return 0;
}

int netpolicy_parse(const char *deny, const char *allow, struct netpolicy *p, char *err, size_t err_size) {
        assert(deny && allow && p && err);
        int r = parse_list(deny, "fetch.deny", p->deny, &p->n_deny, err, err_size);
        return r < 0 ? r : parse_list(allow, "fetch.allow", p->allow, &p->n_allow, err, err_size);
}

static bool in_prefix(const struct netprefix *np, int family, const unsigned char *a) {
        if (np->family != family)
                return false;
        unsigned full = np->bits / 8, rest = np->bits % 8;
        if (memcmp(np->addr, a, full) != 0)
                return false;
        if (!rest)
                return true;
        unsigned char mask = (unsigned char) (0xff << (8 - rest));
        return (np->addr[full] & mask) == (a[full] & mask);
}

static const struct netprefix *find(const struct netprefix *v, size_t n, int family, const unsigned char *a) {
        for (size_t i = 0; i < n; i++)
                if (in_prefix(&v[i], family, a))
                        return &v[i];
        return NULL;
}

bool netpolicy_allows(const struct netpolicy *p, const struct sockaddr *sa, char *why, size_t why_size) {
        assert(p && sa && why);
        unsigned char a[16];
        int family = sa->sa_family;
        if (family == AF_INET)
                memcpy(a, &((const struct sockaddr_in *) sa)->sin_addr, 4);
        else if (family == AF_INET6) {
                const struct in6_addr *v6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                if (IN6_IS_ADDR_V4MAPPED(v6)) {
                        family = AF_INET;
                        memcpy(a, v6->s6_addr + 12, 4);
                } else
                        memcpy(a, v6->s6_addr, 16);
        } else {
                snprintf(why, why_size, "not an IP address");
                return false;
        }
        char text[INET6_ADDRSTRLEN], rule[INET6_ADDRSTRLEN];
        inet_ntop(family, a, text, sizeof text);
        const struct netprefix *d = find(p->deny, p->n_deny, family, a);
        if (d) {
                inet_ntop(d->family, d->addr, rule, sizeof rule);
                snprintf(why, why_size, "%s is in %s/%u (fetch.deny)", text, rule, d->bits);
                return false;
        }
        if (p->n_allow && !find(p->allow, p->n_allow, family, a)) {
                snprintf(why, why_size, "%s is not in fetch.allow", text);
                return false;
        }
        return true;
}
