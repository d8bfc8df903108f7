/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Configuration table and its parser.
 * Every limit the daemon enforces is a row here, so that none is a magic number in the code. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"

enum config_type { TYPE_STRING, TYPE_PATH, TYPE_SIZE, TYPE_SECONDS, TYPE_UINT, TYPE_BOOL };

struct config_row {
        const char *name;
        enum config_type type;
        const char *def;
        uint64_t min, max;
        const char *help;
};

#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

static const struct config_row table[_CONF_MAX] = {
        [CONF_ROOT] = { "root", TYPE_PATH, HOTKDUMP_STATEDIR, 0, 0,
                        "Where case folders (cases/<CASE>/<N>/) and the symbol cache live." },
        [CONF_CASE_PATTERN] = { "case_pattern", TYPE_STRING, "^[0-9]{5,10}$", 0, 0,
                                "Extended regular expression a case number must match." },
        [CONF_KEEP_INPUT] = { "keep_input", TYPE_BOOL, "no", 0, 1,
                              "Keep what was fetched (input/) after a good unpack." },
        [CONF_FETCH_MAX_BYTES] = { "fetch.max_bytes", TYPE_SIZE, "64G", 1, 16 * TiB,
                                   "Largest download or local file accepted." },
        [CONF_FETCH_CONNECT_TIMEOUT] = { "fetch.connect_timeout", TYPE_SECONDS, "30", 1, 3600,
                                         "Seconds to wait for a server to accept a connection." },
        [CONF_FETCH_STALL_TIMEOUT] = { "fetch.stall_timeout", TYPE_SECONDS, "60", 1, 3600,
                                       "Seconds without a byte received before a transfer counts as stalled." },
        [CONF_FETCH_RETRIES] = { "fetch.retries", TYPE_UINT, "5", 0, 100,
                                 "Retries of a failed or stalled download; each resumes where the last stopped." },
        [CONF_FETCH_BACKOFF] = { "fetch.backoff", TYPE_SECONDS, "2", 0, 3600,
                                 "First wait between retries; it doubles each time." },
        [CONF_FETCH_DENY] = { "fetch.deny", TYPE_STRING, "loopback link-local unspecified", 0, 0,
                              "Addresses a download from a URL never connects to, checked on every connection and "
                              "redirect after the name is resolved: prefixes (10.0.0.0/8, fd00::/8), addresses, or "
                              "loopback, link-local (cloud metadata), unspecified, private, multicast. Empty: none." },
        [CONF_FETCH_ALLOW] = { "fetch.allow", TYPE_STRING, "", 0, 0,
                               "When set, the only addresses a download from a URL connects to (the same forms as "
                               "fetch.deny, which still applies)." },
        [CONF_FETCH_MAX_REDIRECTS] = { "fetch.max_redirects", TYPE_UINT, "5", 0, 50,
                                       "HTTP redirects followed." },
        [CONF_UNPACK_MAX_BYTES] = { "unpack.max_bytes", TYPE_SIZE, "256G", 1, 64 * TiB,
                                    "Most bytes an upload may unpack to, all files together." },
        [CONF_UNPACK_MAX_ENTRIES] = { "unpack.max_entries", TYPE_UINT, "10000", 1, 100000000,
                                      "Most entries (files, folders) in an upload, nested archives included." },
        [CONF_UNPACK_MAX_RATIO] = { "unpack.max_ratio", TYPE_UINT, "1000", 1, 1000000,
                                    "Most bytes out per byte in: a higher ratio is taken for a compression bomb." },
        [CONF_UNPACK_MAX_DEPTH] = { "unpack.max_depth", TYPE_UINT, "4", 1, 16,
                                    "How deep archives inside archives are opened." },
        [CONF_MAKEDUMPFILE] = { "makedumpfile", TYPE_PATH, "makedumpfile", 0, 0,
                                "The makedumpfile binary used to read the kernel log." },
        [CONF_COMMAND_TIMEOUT] = { "command_timeout", TYPE_SECONDS, "600", 1, 86400,
                                   "Seconds an external command (makedumpfile …) may run before it is killed." },
        [CONF_SYMBOLS_SOURCES] = { "symbols.sources", TYPE_STRING, "cache debuginfod ubuntu debian", 0, 0,
                                   "Where debug symbols are looked for, in order (cache, debuginfod, ubuntu, debian)." },
        [CONF_SYMBOLS_DEBUGINFOD_URLS] = { "symbols.debuginfod_urls", TYPE_STRING, "", 0, 0,
                                           "debuginfod servers, space-separated; empty: $DEBUGINFOD_URLS." },
        [CONF_SYMBOLS_PEERS] = { "symbols.peers", TYPE_STRING, "", 0, 0,
                                 "hotkdumpd hosts (their URLs, space-separated) whose symbol caches are asked "
                                 "after this one's and before any other source (their /buildid/); with "
                                 "queue.backend = nats and cluster.peer_symbols, the daemon's jobs ask the "
                                 "other hosts." },
        [CONF_SYMBOLS_UBUNTU_MIRROR] = { "symbols.ubuntu_mirror", TYPE_STRING, "http://ddebs.ubuntu.com", 0, 0,
                                         "The Ubuntu debug-symbol archive (its dists/ and pool/)." },
        [CONF_SYMBOLS_UBUNTU_SUITES] = { "symbols.ubuntu_suites", TYPE_STRING, "updates security release", 0, 0,
                                         "Pockets whose Packages index is searched for a ddeb's pool folder." },
        [CONF_SYMBOLS_LAUNCHPAD_URL] = { "symbols.launchpad_url", TYPE_STRING,
                                         "https://launchpad.net/ubuntu/+archive/primary/+files", 0, 0,
                                         "Where Ubuntu's files are fetched by name when the index does not list them." },
        [CONF_SYMBOLS_DEBIAN_MIRRORS] = { "symbols.debian_mirrors", TYPE_STRING,
                                          "http://deb.debian.org/debian http://deb.debian.org/debian-security", 0, 0,
                                          "Debian archives whose pool/ holds linux-image-*-dbg packages, space-separated." },
        [CONF_SYMBOLS_MAX_BYTES] = { "symbols.max_bytes", TYPE_SIZE, "8G", 1, 1 * TiB,
                                     "Most bytes of debug files written for one kernel." },
        [CONF_SYMBOLS_CACHE_MAX_BYTES] = { "symbols.cache_max_bytes", TYPE_SIZE, "200G", 1, 1024 * TiB,
                                           "Size of the symbol cache; past it, the least recently used kernels go." },
        [CONF_SYMBOLS_CACHE_MAX_AGE] = { "symbols.cache_max_age", TYPE_SECONDS, "90d", 60, 36500ull * 86400,
                                         "A kernel's symbols unused this long are removed from the cache." },
        [CONF_SYMBOLS_PREPARE] = { "symbols.prepare", TYPE_BOOL, "yes", 0, 1,
                                   "Prepare a vmlinux for speed when it enters the cache: a gdb index added and the "
                                   "relocation sections crash never reads dropped (the build-id is checked again). "
                                   "Entries made without it are prepared the first time they are used." },
        [CONF_SYMBOLS_GDB] = { "symbols.gdb", TYPE_PATH, "gdb", 0, 0,
                               "The gdb that writes the index of a vmlinux (symbols.prepare)." },
        [CONF_SYMBOLS_OBJCOPY] = { "symbols.objcopy", TYPE_PATH, "objcopy", 0, 0,
                                   "The objcopy that adds the index to a vmlinux (symbols.prepare)." },
        [CONF_SYMBOLS_PREPARE_TIMEOUT] = { "symbols.prepare_timeout", TYPE_SECONDS, "20m", 1, 86400,
                                           "Seconds the preparation of one vmlinux may take; past it, the plain file is used." },
        [CONF_CRASH_BINARY] = { "crash.binary", TYPE_PATH, CRASH_DEFAULT, 0, 0,
                                "The crash builds, newest first: programs, or folders of builds laid out as "
                                "scripts/build-crash makes them (<folder>/<version>/bin/crash, newest version first). "
                                "The first is used; one that cannot open the dump or is too old for its kernel gives "
                                "way to the next before the fallback modes. The default is the one "
                                "scripts/build-crash builds; when it is missing, crash from PATH is used." },
        [CONF_CRASH_COMMANDS] = { "crash.commands", TYPE_PATH, HOTKDUMP_CONFDIR "/crash-commands", 0, 0,
                                  "The crash command set; when the file is missing, the built-in copy of "
                                  "etc/crash-commands is used." },
        [CONF_CRASH_PYKDUMP] = { "crash.pykdump", TYPE_STRING, "", 0, 0,
                                 "pykdump's mpykdump.so; empty: its commands (needs=pykdump) are skipped." },
        [CONF_CRASH_OPEN_TIMEOUT] = { "crash.open_timeout", TYPE_SECONDS, "15m", 1, 86400,
                                      "Seconds crash may take to open a dump." },
        [CONF_CRASH_COMMAND_TIMEOUT] = { "crash.command_timeout", TYPE_SECONDS, "10m", 1, 86400,
                                         "Seconds one crash command may run; a command set line can say otherwise." },
        [CONF_CRASH_TIMEOUT] = { "crash.timeout", TYPE_SECONDS, "2h", 1, 7 * 86400,
                                 "Seconds for the whole crash stage; commands not reached by then are skipped." },
        [CONF_CRASH_MAX_OUTPUT] = { "crash.max_output", TYPE_SIZE, "256M", 4096, 64 * GiB,
                                    "Bytes kept of one command's output; the rest is counted, not kept." },
        [CONF_STORAGE_DRGN] = { "storage.drgn", TYPE_STRING, "drgn", 0, 0,
                                "drgn (python3-drgn), which reads the storage view out of the dump; empty: no storage view." },
        [CONF_STORAGE_SCRIPT] = { "storage.script", TYPE_STRING, "", 0, 0,
                                  "The storage view's drgn script; empty: the built-in one, written into the case folder." },
        [CONF_STORAGE_TIMEOUT] = { "storage.timeout", TYPE_SECONDS, "10m", 1, 86400,
                                   "Seconds drgn may take over the storage view." },
        [CONF_STORAGE_MAX_OUTPUT] = { "storage.max_output", TYPE_SIZE, "64M", 4096, 4 * GiB,
                                      "Bytes of storage view drgn may print; a larger one is not kept." },
        [CONF_STORAGE_STUCK_AFTER] = { "storage.stuck_after", TYPE_SECONDS, "30s", 1, 86400,
                                       "Seconds a request may be in flight before the rules call its device stuck." },
        [CONF_TRIAGE_RULES_DIR] = { "triage.rules_dir", TYPE_PATH, HOTKDUMP_CONFDIR "/rules.d", 0, 0,
                                    "Site triage rules (*.json), read with the built-in ones at each job's start; a "
                                    "file named like a shipped one replaces it, a rule with a shipped id replaces it." },
        [CONF_TRIAGE_MATCH_LIMIT] = { "triage.match_limit", TYPE_UINT, "10000000", 1000, 4000000000ull,
                                      "Backtracking steps one rule's regular expression may take on one source." },
        [CONF_REPORT_BASE_URL] = { "report.base_url", TYPE_STRING, "", 0, 0,
                                   "URL under which <root>/cases/ is served, for links in comments; empty: the folder's path." },
        [CONF_REPORT_COMMENT_MAX] = { "report.comment_max", TYPE_UINT, "3000", 500, 32000,
                                      "Most characters in comment.txt." },
        [CONF_DAEMON_LISTEN] = { "daemon.listen", TYPE_STRING, "127.0.0.1:8461", 0, 0,
                                 "Address and port hotkdumpd's HTTP API listens on (port 0: any free port)." },
        [CONF_DAEMON_WORKERS] = { "daemon.workers", TYPE_UINT, "2", 0, 256,
                                  "Jobs analysed at the same time; the others wait in the queue. 0 (with "
                                  "queue.backend = nats): a host that takes uploads and runs no job." },
        [CONF_DAEMON_JOB_TIMEOUT] = { "daemon.job_timeout", TYPE_SECONDS, "6h", 1, 30ull * 86400,
                                      "Seconds one job may run before its worker is killed and the job failed." },
        [CONF_DAEMON_DISK_RETRY] = { "daemon.disk_retry", TYPE_SECONDS, "60", 1, 86400,
                                     "A job stopped by a full disk goes back to the queue where it stopped; no job "
                                     "starts for this long after (the purge makes room meanwhile)." },
        [CONF_DAEMON_MAX_ATTEMPTS] = { "daemon.max_attempts", TYPE_UINT, "3", 1, 100,
                                       "Times a job is started before a worker that keeps dying fails it." },
        [CONF_DAEMON_DRAIN_TIMEOUT] = { "daemon.drain_timeout", TYPE_SECONDS, "30", 0, 3600,
                                        "On SIGTERM, seconds running workers get to stop before they are killed; "
                                        "their jobs go on from their last finished stage at the next start." },
        [CONF_DAEMON_STOP_AFTER] = { "daemon.stop_after", TYPE_STRING, "report", 0, 0,
                                     "The last stage the daemon's jobs run (fetch … report); an earlier one makes "
                                     "a quick stand-in for trying the triggers." },
        [CONF_DAEMON_PATH_ROOTS] = { "daemon.path_roots", TYPE_STRING, "", 0, 0,
                                     "Folders (space-separated) under which POST /analyze may name a \"path\"; "
                                     "the watched folders always count." },
        [CONF_QUEUE_BACKEND] = { "queue.backend", TYPE_STRING, "local", 0, 0,
                                 "Where jobs wait: local (<root>/queue/, this host only) or nats (a NATS "
                                 "JetStream work queue shared by every host that names the same servers)." },
        [CONF_QUEUE_NATS_URL] = { "queue.nats_url", TYPE_STRING, "nats://127.0.0.1:4222", 0, 0,
                                  "The NATS servers of queue.backend = nats, comma-separated (nats:// or tls://); "
                                  "the client reconnects to any of them." },
        [CONF_QUEUE_NATS_CREDS] = { "queue.nats_creds", TYPE_STRING, "", 0, 0,
                                    "A NATS credentials file (user JWT and NKey seed) to connect with; empty: none." },
        [CONF_QUEUE_NATS_TOKEN_FILE] = { "queue.nats_token_file", TYPE_STRING, "", 0, 0,
                                         "A file holding the NATS servers' token; empty: none." },
        [CONF_QUEUE_NATS_CA] = { "queue.nats_ca", TYPE_STRING, "", 0, 0,
                                 "CA certificates (PEM) a tls:// server's certificate is checked against; empty: "
                                 "the system's." },
        [CONF_QUEUE_NAME] = { "queue.name", TYPE_STRING, "hotkdump", 0, 0,
                              "The prefix of the stream, consumer, subject and buckets on the NATS servers: hosts "
                              "with the same name share their jobs (letters, digits, - and _)." },
        [CONF_QUEUE_REPLICAS] = { "queue.replicas", TYPE_UINT, "1", 1, 5,
                                  "Copies JetStream keeps of the stream and the buckets (3 on a cluster of three "
                                  "or more servers: a server lost loses no job)." },
        [CONF_QUEUE_ACK_WAIT] = { "queue.ack_wait", TYPE_SECONDS, "60", 2, 3600,
                                  "A job not renewed for this long is given to another host (its host died)." },
        [CONF_QUEUE_HEARTBEAT] = { "queue.heartbeat", TYPE_SECONDS, "10", 1, 600,
                                   "How often a host renews its running jobs and its entry in the host list; "
                                   "under queue.ack_wait / 2." },
        [CONF_QUEUE_MAX_DELIVER] = { "queue.max_deliver", TYPE_UINT, "5", 1, 100,
                                     "Hosts a job is handed to before it fails (each died or was stopped while "
                                     "it ran)." },
        [CONF_QUEUE_DUPLICATE_WINDOW] = { "queue.duplicate_window", TYPE_SECONDS, "2m", 1, 86400,
                                          "JetStream's window for the same upload announced twice at once; the "
                                          "bucket of known uploads covers all time." },
        [CONF_QUEUE_TIMEOUT] = { "queue.timeout", TYPE_SECONDS, "5", 1, 120,
                                 "Seconds one call to the NATS servers may take." },
        [CONF_CLUSTER_HOST] = { "cluster.host", TYPE_STRING, "", 0, 0,
                                "This host's name among the hosts of queue.backend = nats; empty: the host name." },
        [CONF_CLUSTER_URL] = { "cluster.url", TYPE_STRING, "", 0, 0,
                               "The URL other hosts and people reach this host's API at, for links to its "
                               "jobs and reports, its uploads and its symbols; empty: where it listens." },
        [CONF_CLUSTER_PEER_SYMBOLS] = { "cluster.peer_symbols", TYPE_BOOL, "yes", 0, 1,
                                        "Before the archive, debug symbols are asked of the other hosts' caches "
                                        "(their /buildid/ endpoint)." },
        [CONF_HTTP_TOKEN_FILE] = { "http.token_file", TYPE_STRING, "", 0, 0,
                                   "File holding the bearer token that writes (POST, DELETE) need; hotkdump submit "
                                   "sends it too." },
        [CONF_HTTP_HMAC_SECRET_FILE] = { "http.hmac_secret_file", TYPE_STRING, "", 0, 0,
                                         "File holding the secret of the X-Hotkdump-Signature header (sha256=HEX, "
                                         "HMAC-SHA256 of the body), which the upload system's webhook sends instead "
                                         "of a token. With neither set, writes are open." },
        [CONF_HTTP_PROTECT_READS] = { "http.protect_reads", TYPE_BOOL, "no", 0, 1,
                                      "Reads (GET) need the token too." },
        [CONF_HTTP_MAX_BODY] = { "http.max_body", TYPE_SIZE, "64K", 256, 16u << 20,
                                 "Largest request body; a larger one is answered 413 without being read." },
        [CONF_HTTP_MAX_CONNECTIONS] = { "http.max_connections", TYPE_UINT, "512", 1, 65536,
                                        "Connections open at once, all clients together." },
        [CONF_HTTP_MAX_PER_IP] = { "http.max_per_ip", TYPE_UINT, "64", 1, 65536,
                                   "Connections open at once from one address." },
        [CONF_HTTP_TIMEOUT] = { "http.timeout", TYPE_SECONDS, "30", 1, 3600,
                                "Seconds a connection may stay idle before it is closed." },
        [CONF_HTTP_REQUEST_TIME] = { "http.request_time", TYPE_SECONDS, "30", 1, 3600,
                                     "Seconds a client has to send a whole request, headers and body, however "
                                     "steadily it sends; past it the connection is closed." },
        [CONF_HTTP_CONNECTION_MEMORY] = { "http.connection_memory", TYPE_SIZE, "32K", 4096, 16u << 20,
                                          "Memory for one connection's request headers and buffers." },
        [CONF_HTTP_TLS_CERT] = { "http.tls_cert", TYPE_STRING, "", 0, 0,
                                 "PEM certificate (chain): with http.tls_key, the API speaks HTTPS only." },
        [CONF_HTTP_TLS_KEY] = { "http.tls_key", TYPE_STRING, "", 0, 0, "PEM private key of http.tls_cert." },
        [CONF_WATCH_DIRS] = { "watch.dirs", TYPE_STRING, "", 0, 0,
                              "Upload mirror folders (space-separated) watched, with every folder under them, for "
                              "new dumps; empty: no watcher." },
        [CONF_WATCH_SETTLE_MS] = { "watch.settle_ms", TYPE_UINT, "2000", 0, 3600000,
                                   "Milliseconds a new file must stay unchanged after it was closed or moved in "
                                   "before its job starts." },
        [CONF_WATCH_CASE_PATTERN] = { "watch.case_pattern", TYPE_STRING, "(?<![0-9])[0-9]{5,10}(?![0-9])", 0, 0,
                                      "PCRE2 pattern finding the case number in a watched file's path (its folders "
                                      "first, then its name): the group named case, else the whole match." },
        [CONF_WATCH_MAX_DEPTH] = { "watch.max_depth", TYPE_UINT, "8", 1, 64,
                                   "Folder levels watched under each watched folder." },
        [CONF_CLIENT_SERVER] = { "client.server", TYPE_STRING, "http://127.0.0.1:8461", 0, 0,
                                 "The hotkdumpd that hotkdump submit and hotkdump status talk to." },
        [CONF_POST_SINKS] = { "post.sinks", TYPE_STRING, "", 0, 0,
                              "Where results are posted, space-separated: athena (a comment on the case), webhook "
                              "(summary.json to webhook.url), exec (each script in hooks.dir). Empty: nowhere." },
        [CONF_POST_EARLY] = { "post.early", TYPE_BOOL, "yes", 0, 1,
                              "Post what the first look found (the kernel log's cause) before symbols and crash; "
                              "the full post follows. Not sent when the full one is ready first." },
        [CONF_POST_RETRY_MIN] = { "post.retry_min", TYPE_SECONDS, "30", 1, 86400,
                                  "First wait before a failed post is sent again; it doubles each time, with jitter." },
        [CONF_POST_RETRY_MAX] = { "post.retry_max", TYPE_SECONDS, "1h", 1, 7 * 86400,
                                  "Longest wait between two tries of a post." },
        [CONF_POST_GIVE_UP] = { "post.give_up", TYPE_SECONDS, "3d", 60, 365ull * 86400,
                                "How long a post is tried again; then it stays in the outbox, failed, for a person "
                                "(hotkdump outbox retry)." },
        [CONF_ATHENA_LOGIN_URL] = { "athena.login_url", TYPE_STRING, "https://login.salesforce.com", 0, 0,
                                    "Salesforce login server, for the OAuth2 username-password flow." },
        [CONF_ATHENA_API_VERSION] = { "athena.api_version", TYPE_STRING, "v59.0", 0, 0,
                                      "Salesforce REST API version used in /services/data/<version>/." },
        [CONF_ATHENA_CLIENT_ID] = { "athena.client_id", TYPE_STRING, "", 0, 0,
                                    "Consumer key of the connected app hotkdump logs in through." },
        [CONF_ATHENA_CLIENT_SECRET_FILE] = { "athena.client_secret_file", TYPE_STRING, "", 0, 0,
                                             "File holding the connected app's consumer secret; empty: "
                                             "$HOTKDUMP_ATHENA_CLIENT_SECRET." },
        [CONF_ATHENA_USERNAME] = { "athena.username", TYPE_STRING, "", 0, 0,
                                   "The Salesforce user the comments are posted as." },
        [CONF_ATHENA_PASSWORD_FILE] = { "athena.password_file", TYPE_STRING, "", 0, 0,
                                        "File holding that user's password (with its security token appended when "
                                        "the org asks for one); empty: $HOTKDUMP_ATHENA_PASSWORD." },
        [CONF_ATHENA_TOKEN_FILE] = { "athena.token_file", TYPE_STRING, "", 0, 0,
                                     "Instead of logging in: a file holding an access token, used with "
                                     "athena.instance_url; $HOTKDUMP_ATHENA_TOKEN also counts." },
        [CONF_ATHENA_INSTANCE_URL] = { "athena.instance_url", TYPE_STRING, "", 0, 0,
                                       "The org's URL (https://NAME.my.salesforce.com), with a configured token." },
        [CONF_ATHENA_PUBLIC] = { "athena.public", TYPE_BOOL, "no", 0, 1,
                                 "Post comments the customer can see (IsPublished); by default they are internal." },
        [CONF_ATHENA_COMMENT_MAX] = { "athena.comment_max", TYPE_UINT, "3000", 200, 4000,
                                      "Most characters in one case comment (Salesforce takes 4000); a longer text "
                                      "is split on line boundaries into parts headed \"Split comment i of n\"." },
        [CONF_ATHENA_TIMEOUT] = { "athena.timeout", TYPE_SECONDS, "30", 1, 600,
                                  "Seconds one call to Salesforce may take." },
        [CONF_WEBHOOK_URL] = { "webhook.url", TYPE_STRING, "", 0, 0,
                               "Where the webhook sink POSTs each job's summary.json." },
        [CONF_WEBHOOK_SECRET_FILE] = { "webhook.secret_file", TYPE_STRING, "", 0, 0,
                                       "File holding the key of the X-Hotkdump-Signature header (sha256=HEX, "
                                       "HMAC-SHA256 of the body); empty: $HOTKDUMP_WEBHOOK_SECRET, else unsigned." },
        [CONF_WEBHOOK_TIMEOUT] = { "webhook.timeout", TYPE_SECONDS, "30", 1, 600,
                                   "Seconds one webhook call may take." },
        [CONF_HOOKS_DIR] = { "hooks.dir", TYPE_PATH, HOTKDUMP_CONFDIR "/hooks.d", 0, 0,
                             "Scripts the exec sink runs, each executable file in name order, with the job's "
                             "facts in HOTKDUMP_* environment variables. Exit 0: done; 75: try again later; "
                             "anything else: failed." },
        [CONF_HOOKS_TIMEOUT] = { "hooks.timeout", TYPE_SECONDS, "60", 1, 86400,
                                 "Seconds one hook script may run before it is killed (and tried again later)." },
        [CONF_PURGE_OLDER_THAN] = { "purge.older_than", TYPE_SECONDS, "14d", 0, 36500ull * 86400,
                                    "A case folder whose job ended longer ago than this is removed by the purge, "
                                    "unless a NOPURGE file in it (or in its case's folder) keeps it." },
        [CONF_PURGE_INTERVAL] = { "purge.interval", TYPE_SECONDS, "1d", 1, 365ull * 86400,
                                  "How often hotkdumpd purges (and once when it starts)." },
        [CONF_PURGE_MIN_FREE] = { "purge.min_free", TYPE_SIZE, "1G", 0, 1024 * TiB,
                                  "Free space on root's file system under which hotkdumpd refuses new jobs (HTTP 503) "
                                  "and purges finished folders oldest first, whatever their age, until there is "
                                  "this much again; 0: never." },
};

struct config {
        char *str[_CONF_MAX];
        uint64_t num[_CONF_MAX];
};

static int parse_u64(const char *v, enum config_type type, uint64_t *ret) {
        char *end;
        uint64_t mult = 1;

        if (type == TYPE_BOOL) {
                if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
                        *ret = 1;
                else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
                        *ret = 0;
                else
                        return -EINVAL;
                return 0;
        }
        if (!isdigit((unsigned char) v[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno)
                return -EINVAL;
        if (type == TYPE_SIZE && *end) {
                switch (toupper((unsigned char) *end)) {
                case 'K': mult = UINT64_C(1) << 10; break;
                case 'M': mult = UINT64_C(1) << 20; break;
                case 'G': mult = UINT64_C(1) << 30; break;
                case 'T': mult = UINT64_C(1) << 40; break;
                default: return -EINVAL;
                }
                end++;
                if (*end == 'i' || *end == 'I')
                        end++;
                if (*end == 'B' || *end == 'b')
                        end++;
        } else if (type == TYPE_SECONDS && *end) {
                switch (*end) {
                case 's': break;
                case 'm': mult = 60; break;
                case 'h': mult = 3600; break;
                case 'd': mult = 86400; break;
                default: return -EINVAL;
                }
                end++;
        }
        if (*end)
                return -EINVAL;
        if (x > UINT64_MAX / mult)
                return -ERANGE;
        *ret = x * mult;
        return 0;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t err_size) {
        assert(c && key && value && err);
        for (int k = 0; k < _CONF_MAX; k++) {
                const struct config_row *row = &table[k];
                if (strcmp(row->name, key) != 0)
                        continue;
                if (row->type == TYPE_STRING || row->type == TYPE_PATH) {
                        if (row->type == TYPE_PATH && !*value)
                                return log_reason(err, err_size, -EINVAL, "%s: a path cannot be empty", key);
                        size_t len = strlen(value);
                        /* `root = "/srv/x y"` would be a folder named with its quotes */
                        if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0])
                                return log_reason(err, err_size, -EINVAL,
                                                  "%s: %s is quoted; values are taken as written, without quotes", key, value);
                        if (k == CONF_ROOT && value[0] != '/')
                                return log_reason(err, err_size, -EINVAL, "%s: '%s' is not an absolute path", key, value);
                        char *s = strdup(value);
                        if (!s)
                                return -ENOMEM;
                        free(c->str[k]);
                        c->str[k] = s;
                        return 0;
                }
                uint64_t x;
                if (parse_u64(value, row->type, &x) < 0)
                        return log_reason(err, err_size, -EINVAL, "%s: '%s' is not a %s", key, value,
                                    row->type == TYPE_SIZE      ? "size (like 512M or 64G)"
                                    : row->type == TYPE_SECONDS ? "duration (seconds, or with s/m/h/d)"
                                    : row->type == TYPE_BOOL    ? "yes or no"
                                                                : "whole number");
                if (x < row->min || x > row->max)
                        return log_reason(err, err_size, -ERANGE, "%s: %s is out of range (%llu to %llu)", key, value,
                                    (unsigned long long) row->min, (unsigned long long) row->max);
                c->num[k] = x;
                return 0;
        }
        return log_reason(err, err_size, -ENOENT, "unknown key '%s'", key);
}

int config_new(struct config **ret) {
        assert(ret);
        struct config *c = calloc(1, sizeof *c);
        char err[256];
        if (!c)
                return -ENOMEM;
        for (int k = 0; k < _CONF_MAX; k++) {
                int r = config_set(c, table[k].name, table[k].def, err, sizeof err);
                if (r < 0) {
                        config_free(c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        for (int k = 0; k < _CONF_MAX; k++)
                free(c->str[k]);
        free(c);
        return NULL;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        return s;
}

int config_load_file(struct config *c, const char *path, char *err, size_t err_size) {
        assert(c && path && err);
        FILE *f = fopen(path, "re");
        char line[4096];
        int lineno = 0, r = 0;

        if (!f)
                return log_reason(err, err_size, -errno, "%s: %s", path, strerror(errno));
        while (fgets(line, sizeof line, f)) {
                lineno++;
                if (!strchr(line, '\n') && !feof(f)) {
                        r = log_reason(err, err_size, -EINVAL, "%s:%d: line too long", path, lineno);
                        break;
                }
                char *s = strip(line);
                if (!*s || *s == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        r = log_reason(err, err_size, -EINVAL, "%s:%d: expected KEY = VALUE", path, lineno);
                        break;
                }
                *eq = 0;
                char msg[256];
                r = config_set(c, strip(s), strip(eq + 1), msg, sizeof msg);
                if (r < 0) {
                        log_reason(err, err_size, r, "%s:%d: %s", path, lineno, msg);
                        break;
                }
        }
        fclose(f);
        return r;
}

const char *config_string(const struct config *c, enum config_key k) {
        assert(c);
        return c->str[k];
}

uint64_t config_u64(const struct config *c, enum config_key k) {
        assert(c);
        return c->num[k];
}

bool config_bool(const struct config *c, enum config_key k) {
        assert(c);
        return c->num[k] != 0;
}

/* A number as it would be written: sizes and durations with the largest unit that divides them. */
struct unit {
        char unit;
        uint64_t mult;
};

static void format_u64(enum config_type type, uint64_t x, char *buf, size_t size) {
        static const struct unit sizes[] = { { 'T', 1ull << 40 }, { 'G', 1ull << 30 }, { 'M', 1ull << 20 }, { 'K', 1ull << 10 } },
                                 times[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 } };
        if (type == TYPE_BOOL) {
                snprintf(buf, size, "%s", x ? "yes" : "no");
                return;
        }
        const struct unit *u = type == TYPE_SIZE ? sizes : type == TYPE_SECONDS ? times : NULL;
        size_t n = type == TYPE_SIZE ? sizeof sizes / sizeof sizes[0] : type == TYPE_SECONDS ? sizeof times / sizeof times[0] : 0;
        for (size_t i = 0; i < n && x; i++)
                if (x % u[i].mult == 0) {
                        snprintf(buf, size, "%" PRIu64 "%c", x / u[i].mult, u[i].unit);
                        return;
                }
        snprintf(buf, size, "%" PRIu64 "%s", x, type == TYPE_SECONDS && x ? "s" : "");
}

void config_write(const struct config *c, FILE *out) {
        assert(c && out);
        for (int k = 0; k < _CONF_MAX; k++) {
                const struct config_row *row = &table[k];
                char value[64];
                const char *v = value;
                bool is_default;
                if (row->type == TYPE_STRING || row->type == TYPE_PATH) {
                        v = c->str[k] ? c->str[k] : "";
                        is_default = !strcmp(v, row->def);
                } else {
                        uint64_t d = 0;
                        format_u64(row->type, c->num[k], value, sizeof value);
                        is_default = parse_u64(row->def, row->type, &d) == 0 && d == c->num[k];
                }
                /* the default on a line of its own: the output reads back as a settings file */
                if (!is_default)
                        fprintf(out, "# default: %s\n", *row->def ? row->def : "(empty)");
                fprintf(out, "%s = %s\n", row->name, v);
        }
}

void config_write_defaults(FILE *out) {
        assert(out);
        fprintf(out, "# hotkdump configuration: every key, commented out at its default.\n"
                     "# Sizes take K, M, G, T; durations take s, m, h, d.\n");
        for (int k = 0; k < _CONF_MAX; k++)
                fprintf(out, "\n# %s\n#%s = %s\n", table[k].help, table[k].name, table[k].def);
}
