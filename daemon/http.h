/* The HTTP API: libmicrohttpd in external epoll mode inside the daemon's loop. */
#pragma once

#include <stddef.h>

struct daemon;
struct http;
int http_start(struct daemon *d, struct http **ret, char *err, size_t err_size);
/* Stops accepting connections; those open are answered. */
void http_quiesce(struct http *h);
struct http *http_free(struct http *h);
unsigned http_port(const struct http *h);
/* Reloads what can change without a restart: the token and the signing secret. */
int http_reload(struct http *h, char *err, size_t err_size);
