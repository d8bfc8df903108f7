/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Configuration: one table row per key (type, default, range), read from a file once,
 * validated as it is read, and overridable from the command line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The configured folders, which the defaults name (Makefile.am passes them from configure's
 * sysconfdir and localstatedir): the settings file, the command set, the rules and hooks
 * folders, and root. */
#ifndef HOTKDUMP_CONFDIR
#define HOTKDUMP_CONFDIR "/etc/hotkdump"
#endif
#ifndef HOTKDUMP_STATEDIR
#define HOTKDUMP_STATEDIR "/var/lib/hotkdump"
#endif

enum config_key {
        CONF_ROOT,
        CONF_CASE_PATTERN,
        CONF_KEEP_INPUT,
        CONF_FETCH_MAX_BYTES,
        CONF_FETCH_CONNECT_TIMEOUT,
        CONF_FETCH_STALL_TIMEOUT,
        CONF_FETCH_RETRIES,
        CONF_FETCH_BACKOFF,
        CONF_FETCH_DENY,
        CONF_FETCH_ALLOW,
        CONF_FETCH_MAX_REDIRECTS,
        CONF_UNPACK_MAX_BYTES,
        CONF_UNPACK_MAX_ENTRIES,
        CONF_UNPACK_MAX_RATIO,
        CONF_UNPACK_MAX_DEPTH,
        CONF_MAKEDUMPFILE,
        CONF_COMMAND_TIMEOUT,
        CONF_SYMBOLS_SOURCES,
        CONF_SYMBOLS_DEBUGINFOD_URLS,
        CONF_SYMBOLS_PEERS,
        CONF_SYMBOLS_UBUNTU_MIRROR,
        CONF_SYMBOLS_UBUNTU_SUITES,
        CONF_SYMBOLS_LAUNCHPAD_URL,
        CONF_SYMBOLS_DEBIAN_MIRRORS,
        CONF_SYMBOLS_MAX_BYTES,
        CONF_SYMBOLS_CACHE_MAX_BYTES,
        CONF_SYMBOLS_CACHE_MAX_AGE,
        CONF_SYMBOLS_PREPARE,
        CONF_SYMBOLS_GDB,
        CONF_SYMBOLS_OBJCOPY,
        CONF_SYMBOLS_PREPARE_TIMEOUT,
        CONF_CRASH_BINARY,
        CONF_CRASH_COMMANDS,
        CONF_CRASH_PYKDUMP,
        CONF_CRASH_OPEN_TIMEOUT,
        CONF_CRASH_COMMAND_TIMEOUT,
        CONF_CRASH_TIMEOUT,
        CONF_CRASH_MAX_OUTPUT,
        CONF_STORAGE_DRGN,
        CONF_STORAGE_SCRIPT,
        CONF_STORAGE_TIMEOUT,
        CONF_STORAGE_MAX_OUTPUT,
        CONF_STORAGE_STUCK_AFTER,
        CONF_TRIAGE_RULES_DIR,
        CONF_TRIAGE_MATCH_LIMIT,
        CONF_REPORT_BASE_URL,
        CONF_REPORT_COMMENT_MAX,
        CONF_DAEMON_LISTEN,
        CONF_DAEMON_WORKERS,
        CONF_DAEMON_JOB_TIMEOUT,
        CONF_DAEMON_DISK_RETRY,
        CONF_DAEMON_MAX_ATTEMPTS,
        CONF_DAEMON_DRAIN_TIMEOUT,
        CONF_DAEMON_STOP_AFTER,
        CONF_DAEMON_PATH_ROOTS,
        CONF_QUEUE_BACKEND,
        CONF_QUEUE_NATS_URL,
        CONF_QUEUE_NATS_CREDS,
        CONF_QUEUE_NATS_TOKEN_FILE,
        CONF_QUEUE_NATS_CA,
        CONF_QUEUE_NAME,
        CONF_QUEUE_REPLICAS,
        CONF_QUEUE_ACK_WAIT,
        CONF_QUEUE_HEARTBEAT,
        CONF_QUEUE_MAX_DELIVER,
        CONF_QUEUE_DUPLICATE_WINDOW,
        CONF_QUEUE_TIMEOUT,
        CONF_CLUSTER_HOST,
        CONF_CLUSTER_URL,
        CONF_CLUSTER_PEER_SYMBOLS,
        CONF_HTTP_TOKEN_FILE,
        CONF_HTTP_HMAC_SECRET_FILE,
        CONF_HTTP_PROTECT_READS,
        CONF_HTTP_MAX_BODY,
        CONF_HTTP_MAX_CONNECTIONS,
        CONF_HTTP_MAX_PER_IP,
        CONF_HTTP_TIMEOUT,
        CONF_HTTP_REQUEST_TIME,
        CONF_HTTP_CONNECTION_MEMORY,
        CONF_HTTP_TLS_CERT,
        CONF_HTTP_TLS_KEY,
        CONF_WATCH_DIRS,
        CONF_WATCH_SETTLE_MS,
        CONF_WATCH_CASE_PATTERN,
        CONF_WATCH_MAX_DEPTH,
        CONF_CLIENT_SERVER,
        CONF_POST_SINKS,
        CONF_POST_EARLY,
        CONF_POST_RETRY_MIN,
        CONF_POST_RETRY_MAX,
        CONF_POST_GIVE_UP,
        CONF_ATHENA_LOGIN_URL,
        CONF_ATHENA_API_VERSION,
        CONF_ATHENA_CLIENT_ID,
        CONF_ATHENA_CLIENT_SECRET_FILE,
        CONF_ATHENA_USERNAME,
        CONF_ATHENA_PASSWORD_FILE,
        CONF_ATHENA_TOKEN_FILE,
        CONF_ATHENA_INSTANCE_URL,
        CONF_ATHENA_PUBLIC,
        CONF_ATHENA_COMMENT_MAX,
        CONF_ATHENA_TIMEOUT,
        CONF_WEBHOOK_URL,
        CONF_WEBHOOK_SECRET_FILE,
        CONF_WEBHOOK_TIMEOUT,
        CONF_HOOKS_DIR,
        CONF_HOOKS_TIMEOUT,
        CONF_PURGE_OLDER_THAN,
        CONF_PURGE_INTERVAL,
        CONF_PURGE_MIN_FREE,
        _CONF_MAX,
};

struct config;

int config_new(struct config **ret);
struct config *config_free(struct config *c);

/* Reads KEY = VALUE lines ('#' comments). Unknown keys and bad values fail with a message
 * naming the file, line and key in err. */
int config_load_file(struct config *c, const char *path, char *err, size_t err_size);
/* Sets one key by name, as from a command-line flag. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t err_size);

const char *config_string(const struct config *c, enum config_key k);
uint64_t config_u64(const struct config *c, enum config_key k);
bool config_bool(const struct config *c, enum config_key k);

/* Writes every key commented out at its default, with its help text (etc/hotkdump.conf). */
void config_write_defaults(FILE *out);
/* Every setting in force, one "key = value" line each, with a "# default: …" line before those
 * not at their default: it reads back as a settings file. */
void config_write(const struct config *c, FILE *out);
