/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump submit` and `hotkdump status`: hotkdumpd's HTTP API from the command line, to queue
 * an upload on the daemon and follow its jobs without hand-written curl and jq. */

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "common/capbuf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"

/* the daemon lists at most 10000 jobs of about a kilobyte each */
#define REPLY_MAX (16u << 20)
#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 60L
#define WAIT_DEFAULT_S (6u * 3600)

enum { OPT_SERVER = 0x2000, OPT_TOKEN_FILE };
#define CLIENT_OPTIONS                                                                                      \
        { "server", required_argument, NULL, OPT_SERVER }, { "token-file", required_argument, NULL, OPT_TOKEN_FILE }, \
        SETTINGS_OPTIONS, { "help", no_argument, NULL, 'h' }

struct client {
        struct settings settings; /* the options of both commands */
        const char *server_arg, *token_file_arg;
        bool curl_ready;          /* curl_global_init() was called */
        const char *cmd;          /* "submit" or "status", for messages */
        char *server;             /* http(s)://host:port, without a trailing slash */
        char *auth;               /* "Authorization: Bearer …", or NULL */
        char token_note[600];     /* why the configured token file was not used, told with a 401 */
        CURL *curl;
        char curl_err[CURL_ERROR_SIZE];
};

/* One answer: its HTTP status, its body as sent, and the body parsed. */
struct reply {
        long status;
        struct capbuf body;
        json_object *json;
        int write_error; /* -ENOMEM, or -EFBIG past REPLY_MAX */
};

/* ---- output -------------------------------------------------------------------------------- */

/* A copy of s fit for a terminal: a control character (an escape sequence in the name of a file
 * someone uploaded) becomes '?'. What does not fit is cut at a character's start and ends in "…". */
static const char *clean(const char *s, char *buf, size_t size) {
        size_t n = strlen(s), o = 0, end = n < size ? n : size > 4 ? size - 4 : 0;
        while (end < n && end > 0 && ((unsigned char) s[end] & 0xc0) == 0x80)
                end--;
        for (size_t i = 0; i < end; i++) {
                unsigned char ch = (unsigned char) s[i];
                /* C0, DEL, and C1 as UTF-8 (U+0080 … U+009F: 0xc2 0x80 … 0xc2 0x9f) */
                bool c1 = ch == 0xc2 && i + 1 < end && (unsigned char) s[i + 1] >= 0x80 && (unsigned char) s[i + 1] < 0xa0;
                buf[o++] = ch < 0x20 || ch == 0x7f || c1 ? '?' : (char) ch;
                if (c1) {
                        buf[o++] = '?';
                        i++;
                }
        }
        if (end < n && size > 4) {
                memcpy(buf + o, "…", 3);
                o += 3;
        }
        buf[o] = 0;
        return buf;
}

/* The value at a dotted path of the server's JSON, cleaned; NULL when missing or null. */
static const char *field(json_object *o, const char *path, char *buf, size_t size) {
        json_object *v = json_path(o, path);
        return v ? clean(json_object_get_string(v), buf, size) : NULL;
}

/* A link of the API (a path on the server) as a full URL. */
static void print_link(const struct client *cl, const char *indent, const char *name, json_object *link) {
        char buf[4096];
        const char *v = json_object_get_string(link);
        if (v && *v)
                printf("%s%-10s %s%s\n", indent, name, v[0] == '/' ? cl->server : "", clean(v, buf, sizeof buf));
}

static bool state_final(const char *s) {
        return !strcmp(s, "done") || !strcmp(s, "incomplete") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

/* ---- the connection ------------------------------------------------------------------------ */

/* The options both commands take: -1 to go on, else the exit status to end with. */
static int client_option(struct client *cl, int c, void (*usage)(FILE *out)) {
        switch (c) {
        case OPT_SERVER: cl->server_arg = optarg; return -1;
        case OPT_TOKEN_FILE: cl->token_file_arg = optarg; return -1;
        default: return settings_option(&cl->settings, c, optarg, usage);
        }
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata) {
        struct reply *rp = userdata;
        int r = capbuf_add(&rp->body, data, size * n);
        if (r == 0 && rp->body.dropped)
                r = -EFBIG;
        if (r < 0) {
                rp->write_error = r;
                return 0; /* ends the transfer */
        }
        return size * n;
}

static void reply_clear(struct reply *rp) {
        json_object_put(rp->json);
        rp->json = NULL;
        capbuf_free(&rp->body);
}

static void client_close(struct client *cl) {
        curl_easy_cleanup(cl->curl);
        if (cl->auth)
                explicit_bzero(cl->auth, strlen(cl->auth));
        free(cl->auth);
        free(cl->server);
        if (cl->curl_ready)
                curl_global_cleanup();
        settings_clear(&cl->settings);
        *cl = (struct client) { 0 };
}

/* Reads the settings, the server's address and the token (the first line of the token file).
 * Returns an exit status. The token file of the settings (http.token_file, the daemon's own) is
 * not always readable by whoever runs this: without it, reads may still work. client_close()
 * frees what this set up, whether or not it succeeded. */
static int client_open(struct client *cl, const char *cmd) {
        struct config *cfg = NULL;
        char *text = NULL;
        size_t len = 0;
        int r, ret = EXIT_USAGE;

        cl->cmd = cmd;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("%s: cannot set up libcurl", cmd);
                return EXIT_INTERNAL;
        }
        cl->curl_ready = true;
        if (settings_load(&cl->settings, cmd, &cfg) < 0)
                goto out;
        const char *server = cl->server_arg ? cl->server_arg : config_string(cfg, CONF_CLIENT_SERVER);
        if (strncasecmp(server, "http://", 7) != 0 && strncasecmp(server, "https://", 8) != 0) {
                log_error("%s: the server '%s' is not an http:// or https:// URL", cmd, server);
                goto out;
        }
        const char *file = cl->token_file_arg ? cl->token_file_arg : config_string(cfg, CONF_HTTP_TOKEN_FILE);
        if (*file) {
                r = read_secret_file(file, &text, &len);
                const char *why = r == -EFBIG ? "larger than 4 KiB" : r == -ENODATA ? "its first line is empty or blank" : strerror(-r);
                if (r < 0 && cl->token_file_arg) {
                        log_error("%s: --token-file '%s': %s", cmd, file, why);
                        goto out;
                }
                if (r < 0)
                        snprintf(cl->token_note, sizeof cl->token_note, "no token sent: http.token_file '%s': %s", file, why);
                else if (asprintf(&cl->auth, "Authorization: Bearer %s", text) < 0) {
                        cl->auth = NULL;
                        goto oom;
                }
        }
        cl->server = strdup(server);
        cl->curl = curl_easy_init();
        if (!cl->server || !cl->curl)
                goto oom;
        for (size_t n = strlen(cl->server); n > 0 && cl->server[n - 1] == '/'; n--)
                cl->server[n - 1] = 0;
        curl_easy_setopt(cl->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
        curl_easy_setopt(cl->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) REPLY_MAX);
        curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(cl->curl, CURLOPT_USERAGENT, "hotkdump/" PACKAGE_VERSION);
        curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(cl->curl, CURLOPT_ERRORBUFFER, cl->curl_err);
        ret = EXIT_OK;
        goto out;
oom:
        log_error("%s: out of memory", cmd);
        ret = EXIT_INTERNAL;
out:
        if (text)
                explicit_bzero(text, len);
        free(text);
        config_free(cfg);
        return ret;
}

static int add_header(struct curl_slist **list, const char *h) {
        struct curl_slist *l = curl_slist_append(*list, h);
        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

/* One request to the server's path, a POST of body when body is not NULL. Returns an exit status
 * (3 for a 4xx answer, 5 when the server cannot be reached or fails), with why saying what went
 * wrong: the connection, or the server's {"error"}. */
static int client_call(struct client *cl, const char *path, const char *body, struct reply *ret, char *why,
                       size_t why_size) {
        struct curl_slist *headers = NULL;
        char *url = NULL, msg[1024];
        int r = log_reason(why, why_size, EXIT_INTERNAL, "out of memory");

        *ret = (struct reply) { .body.max = REPLY_MAX };
        if (asprintf(&url, "%s%s", cl->server, path) < 0) {
                url = NULL;
                goto out;
        }
        if (add_header(&headers, "Accept: application/json") < 0 || (cl->auth && add_header(&headers, cl->auth) < 0) ||
            (body && (add_header(&headers, "Content-Type: application/json") < 0 || add_header(&headers, "Expect:") < 0)))
                goto out;
        curl_easy_setopt(cl->curl, CURLOPT_URL, url);
        curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, ret);
        if (body) {
                curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
        } else
                curl_easy_setopt(cl->curl, CURLOPT_HTTPGET, 1L);
        cl->curl_err[0] = 0;
        CURLcode c = curl_easy_perform(cl->curl);
        curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &ret->status);
        if (ret->write_error == -ENOMEM)
                goto out;
        if (ret->write_error == -EFBIG || c == CURLE_FILESIZE_EXCEEDED)
                r = log_reason(why, why_size, EXIT_UNREADABLE, "the answer is larger than %u MiB", REPLY_MAX >> 20);
        else if (c != CURLE_OK)
                r = log_reason(why, why_size, EXIT_UNREADABLE, "cannot talk to the server: %s",
                               cl->curl_err[0] ? cl->curl_err : curl_easy_strerror(c));
        else {
                ret->json = json_tokener_parse(ret->body.buf ? ret->body.buf : "");
                const char *e = field(ret->json, "error", msg, sizeof msg);
                bool refused = ret->status / 100 == 4, note = ret->status == 401 && cl->token_note[0];
                if (ret->status / 100 == 2 && json_object_is_type(ret->json, json_type_object))
                        r = EXIT_OK;
                else if (ret->status / 100 == 2)
                        r = log_reason(why, why_size, EXIT_UNREADABLE, "HTTP %ld: the answer is not a JSON object",
                                       ret->status);
                else
                        r = log_reason(why, why_size, refused ? EXIT_NOT_DUMP : EXIT_UNREADABLE, "HTTP %ld: %s%s%s%s",
                                       ret->status, e ? e : "(no message)", note ? " (" : "", note ? cl->token_note : "",
                                       note ? ")" : "");
        }
out:
        curl_slist_free_all(headers);
        free(url);
        return r;
}

/* "/jobs/ID", the ID escaped. */
static char *job_path(struct client *cl, const char *id) {
        char *e = curl_easy_escape(cl->curl, id, 0), *p = NULL;
        if (e && asprintf(&p, "/jobs/%s", e) < 0)
                p = NULL;
        curl_free(e);
        return p;
}

/* ---- hotkdump submit ----------------------------------------------------------------------- */

static void submit_usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump submit --case CASE [OPTIONS] SOURCE\n"
                "\n"
                "Queues the analysis of SOURCE on hotkdumpd (POST /analyze) and prints the job's id, state\n"
                "and URL. SOURCE is an http:// or https:// URL the daemon downloads, or a file the daemon\n"
                "reads (it must be under its watch.dirs or daemon.path_roots). An upload the daemon knows\n"
                "already (same case and file name) is not queued again: its job is printed, \"(already known)\".\n"
                "\n"
                "  --case CASE            the support case number\n"
                "  --filename NAME        the name to give the upload\n"
                "  --size BYTES           the upload's expected size\n"
                "  --sha256 HEX           the upload's expected SHA-256\n"
                "  --wait                 follow the job until it ends, then print its cause and report\n"
                "  --timeout SECS         with --wait, give up after SECS (default 21600, 6 hours); the\n"
                "                         job goes on\n"
                "  --server URL           the daemon (config key client.server, default http://127.0.0.1:8461)\n"
                "  --token-file FILE      the file whose first line is the bearer token (default: the\n"
                "                         config key http.token_file)\n"
                "  --root DIR, --config FILE, --set KEY=VALUE   settings, as for analyze\n"
                "\n"
                "Exit status: 0 queued (with --wait: done); 1 incomplete; 2 usage; 3 refused by the\n"
                "server (HTTP 4xx: case number, path, token, …); 5 the server cannot be reached or\n"
                "failed (HTTP 5xx), or SOURCE cannot be read; 6 failed, cancelled, or --timeout passed.\n");
}

static int put(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || !*s || *s == '-' || v > INT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* GET the job every second until its state is final or timeout_s have passed; a server that is
 * away for a while (restarted) is waited for too. Returns an exit status, *ret the last answer. */
static int wait_job(struct client *cl, const char *path, const char *id, uint64_t timeout_s, json_object **ret) {
        struct timespec start, now;
        char why[2048], state[32] = "queued", stage[32] = "", buf[64];
        bool warned = false;

        start = clock_now();
        for (;;) {
                struct reply rp;
                int r = client_call(cl, path, NULL, &rp, why, sizeof why);
                if (r == EXIT_OK) {
                        const char *s = field(rp.json, "state", buf, sizeof buf);
                        snprintf(state, sizeof state, "%s", s ? s : "?");
                        if (state_final(state)) {
                                *ret = json_object_get(rp.json);
                                reply_clear(&rp);
                                return EXIT_OK;
                        }
                        s = field(rp.json, "stage", buf, sizeof buf);
                        if (s && strcmp(s, stage) != 0)
                                log_info("job %s: %s", id, s);
                        snprintf(stage, sizeof stage, "%s", s ? s : "");
                        warned = false;
                } else if (r != EXIT_UNREADABLE) {
                        reply_clear(&rp);
                        log_error("submit: %s: %s", cl->server, why);
                        return r;
                } else if (!warned) {
                        log_warning("submit: %s: %s; trying again", cl->server, why);
                        warned = true;
                }
                reply_clear(&rp);
                now = clock_now();
                if ((uint64_t) (now.tv_sec - start.tv_sec) >= timeout_s) {
                        log_error("submit: job %s is still %s after %llu s; it goes on, `hotkdump status %s` follows it",
                                  id, state, (unsigned long long) timeout_s, id);
                        return EXIT_INTERNAL;
                }
                nanosleep(&(struct timespec) { .tv_sec = 1 }, NULL);
        }
}

/* The end of a job: its state, cause, error and report. Returns the exit status it makes. */
static int print_outcome(const struct client *cl, const char *id, json_object *j) {
        char state[32] = "?", buf[4096];
        const char *s = field(j, "state", state, sizeof state) ? state : "?";
        printf("%s %s\n", id, s);
        if (field(j, "cause.summary", buf, sizeof buf))
                printf("  %-10s %s\n", "cause", buf);
        if (field(j, "error", buf, sizeof buf))
                printf("  %-10s %s\n", "error", buf);
        print_link(cl, "  ", "report", json_path(j, "links.report"));
        return !strcmp(s, "done") ? EXIT_OK : !strcmp(s, "incomplete") ? EXIT_INCOMPLETE : EXIT_INTERNAL;
}

int cli_submit(int argc, char **argv) {
        static const struct option opts[] = {
                { "case", required_argument, NULL, 'c' },
                { "filename", required_argument, NULL, 'f' },
                { "size", required_argument, NULL, 'z' },
                { "sha256", required_argument, NULL, 'H' },
                { "wait", no_argument, NULL, 'w' },
                { "timeout", required_argument, NULL, 't' },
                CLIENT_OPTIONS,
                {},
        };
        struct client cl = { 0 };
        struct reply rp = { 0 };
        json_object *req = NULL, *final = NULL;
        const char *case_id = NULL, *filename = NULL, *sha256 = NULL;
        char *source = NULL, *path = NULL, why[2048], id[256], state[32];
        uint64_t size = 0, timeout = WAIT_DEFAULT_S;
        bool have_size = false, wait = false;
        int c, done, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c': case_id = optarg; break;
                case 'f': filename = optarg; break;
                case 'w': wait = true; break;
                case 'z':
                        if (parse_u64(optarg, &size) < 0) {
                                log_error("submit: --size: '%s' is not a number of bytes", optarg);
                                goto out;
                        }
                        have_size = true;
                        break;
                case 'H':
                        if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64) {
                                log_error("submit: --sha256: '%s' is not 64 hex digits", optarg);
                                goto out;
                        }
                        sha256 = optarg;
                        break;
                case 't':
                        if (parse_u64(optarg, &timeout) < 0 || timeout == 0) {
                                log_error("submit: --timeout: '%s' is not a number of seconds", optarg);
                                goto out;
                        }
                        break;
                default:
                        if ((done = client_option(&cl, c, submit_usage)) < 0)
                                break;
                        ret = done;
                        goto out;
                }
        }
        if (!case_id || optind != argc - 1) {
                log_error("submit: %s", !case_id ? "--case is required" : "give exactly one SOURCE");
                submit_usage(stderr);
                goto out;
        }
        const char *src = argv[optind];
        bool is_url = !strncasecmp(src, "http://", 7) || !strncasecmp(src, "https://", 8);
        if (!is_url && strstr(src, "://")) {
                log_error("submit: '%s': the daemon fetches only http:// and https:// URLs", src);
                goto out;
        }
        /* the daemon resolves a path itself, but from its own working folder */
        if (!is_url && !(source = realpath(src, NULL))) {
                log_error_errno(errno, "submit: '%s': %m", src);
                ret = EXIT_UNREADABLE;
                goto out;
        }

        ret = client_open(&cl, "submit");
        if (ret != EXIT_OK)
                goto out;
        req = json_object_new_object();
        if (!req || put(req, "case", json_object_new_string(case_id)) < 0 ||
            put(req, is_url ? "url" : "path", json_object_new_string(is_url ? src : source)) < 0 ||
            (filename && put(req, "filename", json_object_new_string(filename)) < 0) ||
            (have_size && put(req, "size", json_object_new_int64((int64_t) size)) < 0) ||
            (sha256 && put(req, "sha256", json_object_new_string(sha256)) < 0)) {
                log_error("submit: out of memory");
                ret = EXIT_INTERNAL;
                goto out;
        }
        const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ret = body ? client_call(&cl, "/analyze", body, &rp, why, sizeof why) : EXIT_INTERNAL;
        if (ret != EXIT_OK) {
                log_error("submit: %s: %s", cl.server, body ? why : "out of memory");
                goto out;
        }
        json_object *v = json_path(rp.json, "id");
        if (!json_object_is_type(v, json_type_string) || !field(rp.json, "state", state, sizeof state)) {
                log_error("submit: %s: the answer names no job", cl.server);
                ret = EXIT_UNREADABLE;
                goto out;
        }
        if (!(path = job_path(&cl, json_object_get_string(v)))) {
                log_error("submit: out of memory");
                ret = EXIT_INTERNAL;
                goto out;
        }
        printf("%s %s %s%s%s\n", clean(json_object_get_string(v), id, sizeof id), state, cl.server, path,
               json_object_get_boolean(json_path(rp.json, "duplicate")) ? " (already known)" : "");
        if (wait) {
                fflush(stdout);
                ret = wait_job(&cl, path, id, timeout, &final);
                if (ret == EXIT_OK)
                        ret = print_outcome(&cl, id, final);
        }
out:
        json_object_put(final);
        reply_clear(&rp);
        json_object_put(req);
        free(path);
        free(source);
        client_close(&cl);
        return ret;
}

/* ---- hotkdump status ----------------------------------------------------------------------- */

static void status_usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump status [OPTIONS] [ID]\n"
                "\n"
                "Without ID, lists hotkdumpd's jobs, newest first (GET /jobs); with ID, shows that job\n"
                "(GET /jobs/ID): its state, stage, times, error, cause and the links to its results.\n"
                "\n"
                "  --case CASE            only the jobs of this case\n"
                "  --state STATE          only the jobs in this state (queued, running, done, incomplete,\n"
                "                         failed, cancelled)\n"
                "  --hosts                every host of the shared queue (queue.backend = nats; GET\n"
                "                         /cluster): its URL, workers, jobs running and queued, last word\n"
                "  --json                 print the server's JSON as it is\n"
                "  --server URL           the daemon (config key client.server, default http://127.0.0.1:8461)\n"
                "  --token-file FILE      the file whose first line is the bearer token, for a daemon\n"
                "                         with http.protect_reads (default: the config key http.token_file)\n"
                "  --root DIR, --config FILE, --set KEY=VALUE   settings, as for analyze\n"
                "\n"
                "Exit status: 0 shown; 2 usage; 3 refused by the server (HTTP 4xx: no such job, …);\n"
                "5 the server cannot be reached or failed (HTTP 5xx).\n");
}

static void print_job(const struct client *cl, json_object *j) {
        static const char *const rows[][2] = {
                { "job", "id" },           { "case", "case" },       { "state", "state" },
                { "stage", "stage" },      { "file", "filename" },   { "source", "source" },
                { "created", "created" },  { "started", "started" }, { "finished", "finished" },
                { "error", "error" },      { "cause", "cause.summary" }, { "folder", "folder" },
        };
        char buf[4096];
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
                if (field(j, rows[i][1], buf, sizeof buf))
                        printf("%-10s %s\n", rows[i][0], buf);
        json_object *stages = json_path(j, "stages"), *links = json_path(j, "links");
        const char *sep = "stages     ";
        if (json_object_is_type(stages, json_type_object)) {
                json_object_object_foreach(stages, name, st) {
                        const char *s = field(st, "state", buf, sizeof buf);
                        json_object *secs = json_path(st, "seconds");
                        printf("%s%s", sep, name);
                        if (s && strcmp(s, "done") != 0)
                                printf(" %s", s);
                        if (secs)
                                printf(" %.1f s", json_object_get_double(secs));
                        sep = ", ";
                }
                if (*sep == ',')
                        putchar('\n');
        }
        /* "CASE/N/KIND SINK": {"ids": […]} for each post delivered */
        json_object *posted = json_path(j, "posted");
        if (json_object_is_type(posted, json_type_object)) {
                sep = "posted     ";
                json_object_object_foreach(posted, key, delivery) {
                        const char *kind = strrchr(key, '/'), *ids = json_object_get_string(json_path(delivery, "ids"));
                        printf("%s%s%s%s", sep, kind ? kind + 1 : key, ids && strcmp(ids, "[ ]") ? " " : "",
                               ids && strcmp(ids, "[ ]") ? ids : "");
                        sep = "           ";
                        putchar('\n');
                }
        }
        if (json_object_is_type(links, json_type_object)) {
                printf("links\n");
                json_object_object_foreach(links, name, link)
                        print_link(cl, "  ", name, link);
        }
}

enum { COL_ID, COL_CASE, COL_STATE, COL_DETAIL, COL_FILE, _COL_MAX };

/* A job's row of the table: its stage while it runs, its error when it has one. */
static void row_of(json_object *j, char cols[_COL_MAX][80]) {
        static const char *const keys[] = { "id", "case", "state", "error", "filename" };
        for (int i = 0; i < _COL_MAX; i++)
                if (!field(j, keys[i], cols[i], sizeof cols[i]))
                        snprintf(cols[i], sizeof cols[i], "-");
        if (!strcmp(cols[COL_DETAIL], "-"))
                field(j, "stage", cols[COL_DETAIL], sizeof cols[COL_DETAIL]);
}

/* Characters, not bytes: the UTF-8 of a file name or an error pads the table right. */
static int width(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

static void print_row(const int w[_COL_MAX], const char *const cols[_COL_MAX]) {
        for (int i = 0; i < _COL_MAX - 1; i++)
                printf("%s%*s", cols[i], w[i] - width(cols[i]) + 2, "");
        printf("%s\n", cols[_COL_MAX - 1]);
}

static void print_list(json_object *o) {
        static const char *const heads[] = { "JOB", "CASE", "STATE", "STAGE/ERROR", "FILE" };
        json_object *jobs = json_path(o, "jobs");
        size_t n = json_object_is_type(jobs, json_type_array) ? json_object_array_length(jobs) : 0;
        int w[_COL_MAX] = { 0 };
        char cols[_COL_MAX][80];
        const char *const row[_COL_MAX] = { cols[0], cols[1], cols[2], cols[3], cols[4] };

        if (n == 0) {
                printf("no jobs\n");
                return;
        }
        for (int i = 0; i < _COL_MAX; i++)
                w[i] = width(heads[i]);
        for (size_t k = 0; k < n; k++) {
                row_of(json_object_array_get_idx(jobs, k), cols);
                for (int i = 0; i < _COL_MAX; i++)
                        if (width(cols[i]) > w[i])
                                w[i] = width(cols[i]);
        }
        print_row(w, heads);
        for (size_t k = 0; k < n; k++) {
                row_of(json_object_array_get_idx(jobs, k), cols);
                print_row(w, row);
        }
        int64_t total = json_object_get_int64(json_path(o, "total"));
        if (total > (int64_t) n)
                printf("(the newest %zu of %lld: --case and --state narrow the list)\n", n, (long long) total);
}

/* The hosts of the shared queue, one row each, then the stream's figures. */
static void print_hosts(json_object *o) {
        json_object *hosts = json_path(o, "hosts");
        size_t n = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
        printf("%-20s %-36s %7s %7s %6s %s\n", "HOST", "URL", "WORKERS", "RUNNING", "QUEUED", "SEEN");
        int64_t now = (int64_t) time(NULL);
        for (size_t i = 0; i < n; i++) {
                json_object *h = json_object_array_get_idx(hosts, i);
                const char *name = json_str(h, "host"), *url = json_str(h, "url");
                printf("%-20s %-36s %7lld %7lld %6lld %llds ago%s\n", name ? name : "?", url ? url : "?",
                       (long long) json_int(h, "workers", 0), (long long) json_int(h, "running", 0),
                       (long long) json_int(h, "queued", 0), (long long) (now - json_int(h, "updated_us", 0) / 1000000),
                       name && json_str(o, "host") && !strcmp(name, json_str(o, "host")) ? " (this one)" : "");
        }
        printf("stream %s: %lld waiting for a host, %lld taken and not ended; %s\n", json_str_or(o, "stream", "?"),
               (long long) json_int(o, "pending", 0), (long long) json_int(o, "ack_pending", 0),
               json_object_get_boolean(json_path(o, "connected")) ? "connected" : "NOT connected to the NATS servers");
}

/* "/jobs?case=…&state=…", escaped. */
static char *list_path(struct client *cl, const char *case_id, const char *state) {
        char *c = case_id ? curl_easy_escape(cl->curl, case_id, 0) : NULL;
        char *s = state ? curl_easy_escape(cl->curl, state, 0) : NULL, *p = NULL;
        if ((case_id && !c) || (state && !s) ||
            asprintf(&p, "/jobs%s%s%s%s%s%s", c || s ? "?" : "", c ? "case=" : "", c ? c : "", c && s ? "&" : "",
                     s ? "state=" : "", s ? s : "") < 0)
                p = NULL;
        curl_free(c);
        curl_free(s);
        return p;
}

int cli_status(int argc, char **argv) {
        static const struct option opts[] = {
                { "case", required_argument, NULL, 'c' },
                { "state", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "hosts", no_argument, NULL, 'H' },
                CLIENT_OPTIONS,
                {},
        };
        struct client cl = { 0 };
        struct reply rp = { 0 };
        const char *case_id = NULL, *state = NULL, *id = NULL;
        char *path = NULL, why[2048];
        bool json = false, hosts = false;
        int c, done, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c': case_id = optarg; break;
                case 's': state = optarg; break;
                case 'j': json = true; break;
                case 'H': hosts = true; break;
                default:
                        if ((done = client_option(&cl, c, status_usage)) < 0)
                                break;
                        ret = done;
                        goto out;
                }
        }
        if (optind < argc)
                id = argv[optind];
        if (argc - optind > 1 || (id && (case_id || state)) || (hosts && (id || case_id || state))) {
                log_error("status: %s", id && (case_id || state) ? "--case and --state list jobs: give them, or an ID"
                                                                  : "give at most one ID");
                status_usage(stderr);
                goto out;
        }

        ret = client_open(&cl, "status");
        if (ret != EXIT_OK)
                goto out;
        path = hosts ? strdup("/cluster") : id ? job_path(&cl, id) : list_path(&cl, case_id, state);
        ret = path ? client_call(&cl, path, NULL, &rp, why, sizeof why) : EXIT_INTERNAL;
        if (ret != EXIT_OK) {
                log_error("status: %s: %s", cl.server, path ? why : "out of memory");
                goto out;
        }
        if (json)
                fwrite(rp.body.buf, 1, rp.body.len, stdout);
        else if (hosts)
                print_hosts(rp.json);
        else if (id)
                print_job(&cl, rp.json);
        else
                print_list(rp.json);
out:
        reply_clear(&rp);
        free(path);
        client_close(&cl);
        return ret;
}
