/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP API: libmicrohttpd in external epoll mode inside the daemon's loop. Every handler
 * checks method, path, authorisation, content type and size first, and none of them blocks. */

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "casefolder/record.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/html.h"
#include "common/json.h"
#include "common/log.h"
#include "daemon/http.h"
#include "daemon/request.h"
#include "daemon/webui.h"

struct http {
        struct http_env env;
        struct MHD_Daemon *mhd;
        struct ev_source io, timer;
        unsigned port;
        char url[320];           /* how others reach it: http(s)://HOST:PORT */
        char *token;             /* NULL: none configured */
        unsigned char *secret;   /* the HMAC key, or NULL */
        size_t secret_len;
        char *tls_cert, *tls_key;
        struct conn *conns; /* every open connection, for the request deadline */
        bool run_again;     /* a connection closed or was cut: MHD runs once more at once */
};

/* One connection: the deadline by which its request (headers and body) must have arrived,
 * however steadily it trickles; 0 while it is answered. http.timeout is MHD's idle timeout,
 * which a client sending a byte now and then never meets. */
struct conn {
        struct conn *next, **prev;
        int fd;
        uint64_t deadline_ms;
};

/* One request's state across the handler's calls. */
struct request {
        char *body;
        size_t len;
        bool too_big, authorised;
};

#define JSON_TYPE "application/json"
#define PROBLEM_TYPE "application/problem+json"
#define OOM_PROBLEM                                                                                      \
        "{\"type\":\"/problems/unavailable\",\"title\":\"The daemon could not do it\",\"status\":503,"          \
        "\"detail\":\"out of memory\",\"error\":\"out of memory\"}\n"

/* The supervisor, through the calls the daemon gave us. */
static const struct config *cfg_of(const struct http *h) {
        return h->env.ops->config(h->env.ctx);
}
static struct queue *queue_of(const struct http *h) {
        return h->env.ops->queue(h->env.ctx);
}
static const char *refusing(const struct http *h) {
        return h->env.ops->refusing(h->env.ctx);
}
static bool shared(const struct http *h) {
        return h->env.ops->shared && h->env.ops->shared(h->env.ctx);
}

/* A job no entry of this host's queue has: another host's, from the shared queue. */
static json_object *remote_job(const struct http *h, const char *id) {
        return shared(h) && h->env.ops->remote_job ? h->env.ops->remote_job(h->env.ctx, id) : NULL;
}

/* The job as the shared queue's status tells it, when that is the better account: the job is
 * not in this host's queue, or it is one this host took from the shared queue that another host
 * has since, or none (it waits, or failed for the hosts that died with it). NULL: this host's
 * own record tells it. */
static json_object *elsewhere(const struct http *h, const struct queue_entry *e, const char *id) {
        if (!shared(h) || (e && !e->remote))
                return NULL;
        json_object *far = remote_job(h, id);
        const char *host = json_str(far, "host"), *self = h->env.ops->host ? h->env.ops->host(h->env.ctx) : NULL;
        if (e && far && e->dir && host && self && !strcmp(host, self)) { /* this host has it */
                json_object_put(far);
                return NULL;
        }
        return far;
}

static json_object *job_json(const struct http *h, const struct queue_entry *e) {
        return h->env.ops->job_json(h->env.ctx, e);
}


/* ---- responses ----------------------------------------------------------------------------- */

static struct conn *conn_of(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return i ? i->socket_context : NULL;
}

static enum MHD_Result send_response(struct http *h, struct MHD_Connection *c, unsigned status,
                                     struct MHD_Response *resp, const char *type) {
        if (!resp)
                return MHD_NO;
        struct conn *k = conn_of(c);
        if (k)
                k->deadline_ms = 0; /* answered: the response takes as long as the client reads */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"hotkdump\"");
        enum MHD_Result r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        if (status / 100 < 6)
                h->env.counters->requests[status / 100]++;
        return r;
}

/* Sends a malloc'd buffer, which MHD frees, or this when MHD cannot take it. */
static enum MHD_Result send_buffer(struct http *h, struct MHD_Connection *c, unsigned status, char *buf, size_t len,
                                   const char *type) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                free(buf);
        return send_response(h, c, status, resp, type);
}

static enum MHD_Result send_text(struct http *h, struct MHD_Connection *c, unsigned status, const char *text,
                                 size_t len, const char *type) {
        return send_response(h, c, status, MHD_create_response_from_buffer(len, (void *) text, MHD_RESPMEM_MUST_COPY),
                             type);
}

/* The API's errors: RFC 9457 problem details (application/problem+json). Each kind has a
 * stable type, "/problems/SLUG", that GET /problems lists with what to do about it; the
 * detail says what was wrong with this request. "error" repeats the detail for the clients of
 * the API's first version. */
enum problem {
        P_MEDIA_TYPE,
        P_BODY_TOO_LARGE,
        P_AMBIGUOUS_LENGTH,
        P_INVALID_REQUEST,
        P_INVALID_CASE,
        P_PATH_FORBIDDEN,
        P_INVALID_PATH,
        P_INVALID_PARAMETER,
        P_UNAUTHORIZED,
        P_NOT_FOUND,
        P_NO_SUCH_JOB,
        P_JOB_NOT_FINISHED,
        P_JOB_FINISHED,
        P_METHOD_NOT_ALLOWED,
        P_JOB_ELSEWHERE,
        P_NOT_SHARED,
        P_REFUSING,
        P_UNAVAILABLE,
        _P_MAX
};

static const struct {
        const char *slug;
        unsigned status;
        const char *title, *help;
} problems[_P_MAX] = {
        [P_MEDIA_TYPE] = { "unsupported-media-type", 415, "The body must be JSON",
                           "Send the body with Content-Type: application/json." },
        [P_BODY_TOO_LARGE] = { "body-too-large", 413, "The body is too large",
                               "The body is larger than http.max_body; a request names its upload by url or path, "
                               "it never carries it." },
        [P_AMBIGUOUS_LENGTH] = { "ambiguous-length", 400, "The body's length is ambiguous",
                                 "Send one Content-Length, or chunked encoding, not both." },
        [P_INVALID_REQUEST] = { "invalid-request", 400, "The request is not valid",
                                "The detail names the field and what is wrong with it; POST /analyze takes "
                                "{\"case\", \"url\" or \"path\", \"filename\", \"size\", \"sha256\"}." },
        [P_INVALID_CASE] = { "invalid-case", 400, "The case number is not valid",
                             "A case number must match case.pattern." },
        [P_PATH_FORBIDDEN] = { "path-forbidden", 403, "The path is outside the folders jobs may read",
                               "A path must lie under watch.dirs or daemon.path_roots." },
        [P_INVALID_PATH] = { "invalid-path", 400, "The path is not a file that can be read",
                             "The detail says why: missing, not a regular file, or unreadable." },
        [P_INVALID_PARAMETER] = { "invalid-parameter", 400, "A query parameter is not valid",
                                  "The detail names the parameter and what it takes." },
        [P_UNAUTHORIZED] = { "unauthorized", 401, "Authorisation is needed",
                             "Send Authorization: Bearer TOKEN (http.token_file), or sign the body of POST /analyze "
                             "(X-Hotkdump-Signature: sha256=HMAC, http.secret_file)." },
        [P_NOT_FOUND] = { "not-found", 404, "No such resource", "GET /openapi.json lists what there is." },
        [P_NO_SUCH_JOB] = { "no-such-job", 404, "No such job",
                            "The job's id is not known: mistyped, or its record was pruned (daemon.keep_jobs)." },
        [P_JOB_NOT_FINISHED] = { "job-not-finished", 409, "The job has not finished",
                                 "Only a finished job can be run again; cancel it first, or wait." },
        [P_JOB_FINISHED] = { "job-finished", 409, "The job has finished", "A finished job cannot be cancelled." },
        [P_METHOD_NOT_ALLOWED] = { "method-not-allowed", 405, "The method is not allowed here",
                                   "The Allow header lists the methods the resource takes." },
        [P_JOB_ELSEWHERE] = { "job-elsewhere", 409, "The job runs on another host",
                              "With queue.backend = nats, a job is cancelled on the host that runs it: the job's "
                              "host_url names it." },
        [P_NOT_SHARED] = { "not-shared", 404, "This daemon has no shared queue",
                           "GET /cluster answers with queue.backend = nats only." },
        [P_REFUSING] = { "refusing", 503, "The daemon is not taking work now",
                         "It is stopping, or its disk is nearly full (purge.min_free); try again later "
                         "(the detail says which)." },
        [P_UNAVAILABLE] = { "unavailable", 503, "The daemon could not do it",
                            "Out of memory, or the queue could not be written; the daemon's log has more." },
};

static json_object *problem_json(enum problem p, const char *detail) {
        char type[64];
        snprintf(type, sizeof type, "/problems/%s", problems[p].slug);
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "title", json_object_new_string(problems[p].title));
        json_object_object_add(o, "status", json_object_new_int((int) problems[p].status));
        if (detail) {
                json_object_object_add(o, "detail", json_object_new_string(detail));
                json_object_object_add(o, "error", json_object_new_string(detail));
        }
        return o;
}

/* Sends o (taken) with its type, and one more header when header is not NULL. */
static enum MHD_Result send_json_as(struct http *h, struct MHD_Connection *c, unsigned status, json_object *o,
                                    const char *type, const char *header, const char *value) {
        if (!o)
                return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, OOM_PROBLEM, sizeof OOM_PROBLEM - 1, PROBLEM_TYPE);
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t n = s ? strlen(s) : 0;
        char *buf = s ? malloc(n + 2) : NULL;
        enum MHD_Result r;
        if (!buf)
                r = send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, OOM_PROBLEM, sizeof OOM_PROBLEM - 1, PROBLEM_TYPE);
        else {
                memcpy(buf, s, n);
                buf[n++] = '\n';
                struct MHD_Response *resp = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
                if (!resp)
                        free(buf);
                else if (header)
                        MHD_add_response_header(resp, header, value);
                r = send_response(h, c, status, resp, type);
        }
        json_object_put(o);
        return r;
}

static enum MHD_Result send_json(struct http *h, struct MHD_Connection *c, unsigned status, json_object *o) {
        return send_json_as(h, c, status, o, JSON_TYPE, NULL, NULL);
}

static enum MHD_Result send_problem(struct http *h, struct MHD_Connection *c, enum problem p, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_problem(struct http *h, struct MHD_Connection *c, enum problem p, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return send_json_as(h, c, problems[p].status, problem_json(p, msg), PROBLEM_TYPE, NULL, NULL);
}

/* A job's answer, with Location: /jobs/ID (201 and 202 name what they made or changed). */
static enum MHD_Result send_job(struct http *h, struct MHD_Connection *c, unsigned status, const struct queue_entry *e,
                                json_object *o) {
        char where[160];
        snprintf(where, sizeof where, "/jobs/%s", e ? e->id : "");
        return send_json_as(h, c, status, o, JSON_TYPE, e ? MHD_HTTP_HEADER_LOCATION : NULL, where);
}

/* GET /problems: every type, with its status, title and what to do; GET /problems/SLUG: one. */
static enum MHD_Result problem_list(struct http *h, struct MHD_Connection *c, const char *slug) {
        for (int p = 0; slug && p < _P_MAX; p++)
                if (!strcmp(slug, problems[p].slug)) {
                        json_object *o = problem_json((enum problem) p, NULL);
                        if (o)
                                json_object_object_add(o, "help", json_object_new_string(problems[p].help));
                        return send_json(h, c, MHD_HTTP_OK, o);
                }
        if (slug)
                return send_problem(h, c, P_NOT_FOUND, "no problem type '%.64s' (GET /problems lists them)", slug);
        json_object *arr = json_object_new_array();
        for (int p = 0; arr && p < _P_MAX; p++) {
                json_object *o = problem_json((enum problem) p, NULL);
                if (o)
                        json_object_object_add(o, "help", json_object_new_string(problems[p].help));
                json_object_array_add(arr, o);
        }
        json_object *o = json_object_new_object();
        if (o)
                json_object_object_add(o, "problems", arr);
        else
                json_object_put(arr);
        return send_json(h, c, MHD_HTTP_OK, o);
}

/* ---- authorisation ------------------------------------------------------------------------- */

static bool bearer_ok(struct http *h, struct MHD_Connection *c) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h->token || !v || strncasecmp(v, "Bearer ", 7) != 0)
                return false;
        v += 7;
        size_t n = strlen(h->token);
        return strlen(v) == n && CRYPTO_memcmp(v, h->token, n) == 0;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* X-Hotkdump-Signature: sha256=HEX, the HMAC-SHA256 of the body under the shared secret. */
static bool signature_ok(struct http *h, struct MHD_Connection *c, const struct request *rq) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hotkdump-Signature");
        unsigned char want[32], got[32];
        unsigned int len = 0;
        if (!h->secret || !v || strncmp(v, "sha256=", 7) != 0 || strlen(v + 7) != 64)
                return false;
        for (int i = 0; i < 32; i++) {
                int hi = unhex(v[7 + 2 * i]), lo = unhex(v[8 + 2 * i]);
                if (hi < 0 || lo < 0)
                        return false;
                got[i] = (unsigned char) (hi << 4 | lo);
        }
        if (!HMAC(EVP_sha256(), h->secret, (int) h->secret_len, (const unsigned char *) (rq->body ? rq->body : ""),
                  rq->len, want, &len) ||
            len != 32)
                return false;
        return CRYPTO_memcmp(want, got, 32) == 0;
}

static bool writes_open(const struct http *h) {
        return !h->token && !h->secret;
}

/* ---- POST /analyze ------------------------------------------------------------------------- */

static bool content_type_json(struct MHD_Connection *c) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        size_t n = strlen(JSON_TYPE);
        return v && !strncasecmp(v, JSON_TYPE, n) && (v[n] == 0 || v[n] == ';' || v[n] == ' ');
}

static enum MHD_Result analyze(struct http *h, struct MHD_Connection *c, struct request *rq) {
        const struct config *cfg = cfg_of(h);
        struct queue_request req = { .trigger = "http" };
        struct analyze_request ar;
        char why[512], resolved[PATH_MAX];
        const struct queue_entry *e;
        bool dup;
        enum MHD_Result ret;
        int r;

        if (!content_type_json(c))
                return send_problem(h, c, P_MEDIA_TYPE, "the body must be JSON (Content-Type: %s)",
                                  JSON_TYPE);
        if (rq->too_big)
                return send_problem(h, c, P_BODY_TOO_LARGE, "the body is larger than %llu bytes (http.max_body)",
                                  (unsigned long long) config_u64(cfg, CONF_HTTP_MAX_BODY));
        r = request_parse_analyze(rq->body, rq->len, &ar, why, sizeof why);
        if (r < 0)
                return r == -ENOMEM ? send_problem(h, c, P_UNAVAILABLE, "out of memory")
                                    : send_problem(h, c, P_INVALID_REQUEST, "%s", why);
        req.case_id = ar.case_id;
        req.filename = ar.filename;
        req.size = ar.size;
        req.sha256 = ar.sha256;
        req.source = ar.url;
        if (job_case_valid(cfg, ar.case_id, why, sizeof why) < 0) {
                ret = send_problem(h, c, P_INVALID_CASE, "%s", why);
                goto out;
        }
        if (ar.path) {
                struct stat st;
                r = h->env.ops->path_allowed(h->env.ctx, ar.path, resolved);
                if (r == -EACCES) {
                        ret = send_problem(h, c, P_PATH_FORBIDDEN,
                                         "'%.1024s' is outside the folders jobs may read (watch.dirs, daemon.path_roots)",
                                         ar.path);
                        goto out;
                }
                if (r == 0 && (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode)))
                        r = -EISDIR;
                if (r < 0) {
                        ret = send_problem(h, c, P_INVALID_PATH, "'path' %.1024s: %s", ar.path,
                                         r == -EISDIR ? "is not a file" : strerror(-r));
                        goto out;
                }
                req.source = resolved;
        }
        if (refusing(h)) {
                ret = send_problem(h, c, P_REFUSING, "%s", refusing(h));
                goto out;
        }
        if (shared(h)) {
                char err[512] = "";
                json_object *j = h->env.ops->submit_shared(h->env.ctx, &req, &dup, err, sizeof err);
                if (!j) {
                        log_error("cannot queue a job for case %s: %s", req.case_id, err);
                        ret = send_problem(h, c, P_UNAVAILABLE, "cannot queue the job: %s", err);
                        goto out;
                }
                char where[160];
                snprintf(where, sizeof where, "/jobs/%s", json_str(j, "id") ? json_str(j, "id") : "");
                json_object_object_add(j, "duplicate", json_object_new_boolean(dup));
                ret = send_json_as(h, c, dup ? MHD_HTTP_OK : MHD_HTTP_ACCEPTED, j, JSON_TYPE, MHD_HTTP_HEADER_LOCATION, where);
                goto out;
        }
        r = h->env.ops->submit(h->env.ctx, &req, &e, &dup);
        if (r < 0) {
                log_error_errno(r, "cannot queue a job for case %s: %m", req.case_id);
                ret = send_problem(h, c, P_UNAVAILABLE, "cannot queue the job: %s", strerror(-r));
                goto out;
        }
        json_object *j = job_json(h, e);
        if (j) {
                json_object_object_add(j, "duplicate", json_object_new_boolean(dup));
                if (dup && e->pruned) {
                        char hint[256];
                        snprintf(hint, sizeof hint,
                                 "this upload was analysed by job %s, whose case folder has since been purged; "
                                 "it is not analysed again",
                                 e->id);
                        json_object_object_add(j, "hint", json_object_new_string(hint));
                } else if (dup && (e->state == QUEUE_FAILED || e->state == QUEUE_CANCELLED)) {
                        char hint[256];
                        snprintf(hint, sizeof hint, "this upload's job %s; POST /jobs/%s/retry runs it again",
                                 e->state == QUEUE_FAILED ? "failed" : "was cancelled", e->id);
                        json_object_object_add(j, "hint", json_object_new_string(hint));
                }
        }
        ret = send_job(h, c, dup ? MHD_HTTP_OK : MHD_HTTP_ACCEPTED, e, j);
out:
        request_clear(&ar);
        return ret;
}

/* ---- reads --------------------------------------------------------------------------------- */

static enum MHD_Result list_jobs(struct http *h, struct MHD_Connection *c) {
        const char *want_case = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "case");
        const char *want_state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
        const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
        const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
        unsigned long limit = 100;
        if (want_state && queue_state_from_string(want_state) < 0)
                return send_problem(h, c, P_INVALID_PARAMETER, "unknown state '%.32s'", want_state);
        if (limit_s) {
                char *end;
                limit = strtoul(limit_s, &end, 10);
                if (*end || !*limit_s || limit == 0 || limit > 10000)
                        return send_problem(h, c, P_INVALID_PARAMETER, "'limit' must be 1 to 10000");
        }
        size_t n;
        const struct queue_entry *const *v = queue_entries(queue_of(h), &n);
        /* newest first; a cursor is the id of the last job of the page before, so a page
         * stays where it was while new jobs arrive */
        size_t start = n;
        if (cursor) {
                while (start > 0 && strcmp(v[start - 1]->id, cursor))
                        start--;
                if (start == 0)
                        return send_problem(h, c, P_INVALID_PARAMETER,
                                            "'cursor' %.96s is not a job of the queue (its record may have been pruned)",
                                            cursor);
                start--;
        }
        json_object *o = json_object_new_object(), *arr = json_object_new_array();
        if (!o || !arr) {
                json_object_put(o);
                json_object_put(arr);
                return send_json(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL); /* the out-of-memory problem */
        }
        size_t total = 0, shown = 0;
        const char *last = NULL;
        bool more = false;
        for (size_t i = n; i-- > 0;) {
                if (want_case && strcmp(v[i]->case_id, want_case))
                        continue;
                if (want_state && strcmp(queue_state_to_string(v[i]->state), want_state))
                        continue;
                total++;
                if (i >= start)
                        continue;
                if (shown < limit) {
                        json_object_array_add(arr, job_json(h, v[i]));
                        last = v[i]->id;
                        shown++;
                } else
                        more = true;
        }
        json_object_object_add(o, "jobs", arr);
        json_object_object_add(o, "total", json_object_new_int64((int64_t) total));
        json_object_object_add(o, "next_cursor", more && last ? json_object_new_string(last) : NULL);
        return send_json(h, c, MHD_HTTP_OK, o);
}

/* ---- the web UI (daemon/webui renders) ----------------------------------------------------- */

/* The page written to f, an open_memstream of *buf and *len: they are only final once f is closed. */
static enum MHD_Result send_page(struct http *h, struct MHD_Connection *c, char **buf, size_t *len, FILE *f) {
        if (fclose(f) != 0) {
                free(*buf);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(*len, *buf, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(*buf);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        /* no script, no frame, forms to ourselves only: what the pages are, enforced */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
        return send_response(h, c, MHD_HTTP_OK, resp, "text/html; charset=utf-8");
}

/* The job list (GET /, with the filters of its form), or one case's jobs (GET /ui/cases/CASE). */
static enum MHD_Result ui_list(struct http *h, struct MHD_Connection *c, const char *case_page) {
        struct webui_filter flt = {
                .case_id = case_page ? case_page : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "case"),
                .state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state"),
                .cause = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cause"),
                .kernel = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kernel"),
        };
        if (flt.state && *flt.state && queue_state_from_string(flt.state) < 0)
                return send_problem(h, c, P_INVALID_PARAMETER, "unknown state '%.32s'", flt.state);
        char *buf = NULL;
        size_t len = 0, n, total = 0, shown = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        const struct queue_entry *const *v = queue_entries(queue_of(h), &n);
        json_object *page[200];
        for (size_t i = n; i-- > 0;) { /* newest first */
                json_object *j = job_json(h, v[i]);
                bool match = j && webui_matches(j, &flt);
                total += match;
                if (match && shown < sizeof page / sizeof *page)
                        page[shown++] = j;
                else
                        json_object_put(j);
        }
        char title[128];
        snprintf(title, sizeof title, case_page ? "Case %.64s" : "Jobs", case_page);
        bool running = queue_count(queue_of(h), QUEUE_RUNNING) || queue_count(queue_of(h), QUEUE_QUEUED);
        webui_begin(f, title, running ? 5 : 0);
        if (!case_page && refusing(h)) {
                fputs("<section id=refusing><b>", f);
                html_write_str(f, refusing(h));
                fputs("</b></section>\n", f);
        }
        webui_list(f, page, shown, total, &flt, case_page != NULL);
        webui_end(f);
        for (size_t i = 0; i < shown; i++)
                json_object_put(page[i]);
        return send_page(h, c, &buf, &len, f);
}

static enum MHD_Result ui_job(struct http *h, struct MHD_Connection *c, const char *id) {
        const struct queue_entry *e = queue_get(queue_of(h), id);
        json_object *far = elsewhere(h, e, id);
        json_object *j = far ? far : e ? job_json(h, e) : NULL, *rec = NULL, *v;
        if (!j && !e)
                return send_problem(h, c, P_NO_SUCH_JOB, "no job '%.96s'", id);
        if (far)
                e = NULL; /* the findings are on the host that ran it */
        /* the page lists every finding; the API's job carries the cause only */
        if (j && e && e->dir && job_record_read(e->dir, &rec) == 0 && (v = job_record_get(rec, JOB_FINDINGS)))
                json_object_object_add(j, "findings", json_object_get(v));
        json_object_put(rec);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = j ? open_memstream(&buf, &len) : NULL;
        if (!f) {
                json_object_put(j);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        char title[160];
        const char *state = json_str(j, "state");
        snprintf(title, sizeof title, "Job %s", id);
        webui_begin(f, title, state && (!strcmp(state, "running") || !strcmp(state, "queued")) ? 2 : 0);
        webui_job(f, j);
        webui_end(f);
        json_object_put(j);
        return send_page(h, c, &buf, &len, f);
}

static enum MHD_Result ui_daemon(struct http *h, struct MHD_Connection *c) {
        json_object *o = json_object_new_object();
        char *buf = NULL;
        size_t len = 0;
        FILE *f = o ? open_memstream(&buf, &len) : NULL;
        if (!f) {
                json_object_put(o);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        const struct config *cfg = cfg_of(h);
        struct queue *q = queue_of(h);
        json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "listening", json_object_new_string(h->url));
        json_object_object_add(o, "root", json_object_new_string(config_string(cfg, CONF_ROOT)));
        for (int s = 0; s < _QUEUE_STATE_MAX; s++) {
                char key[32];
                snprintf(key, sizeof key, "jobs_%s", queue_state_to_string((enum queue_state) s));
                json_object_object_add(o, key, json_object_new_int64((int64_t) queue_count(q, (enum queue_state) s)));
        }
        json_object_object_add(o, "workers", json_object_new_int64((int64_t) config_u64(cfg, CONF_DAEMON_WORKERS)));
        struct statvfs sv;
        if (statvfs(config_string(cfg, CONF_ROOT), &sv) == 0) {
                char free_s[64];
                snprintf(free_s, sizeof free_s, "%.1f GiB", (double) sv.f_bavail * (double) sv.f_frsize / 1073741824.0);
                json_object_object_add(o, "disk_free", json_object_new_string(free_s));
        }
        const char *why = refusing(h), *less = h->env.ops->degraded ? h->env.ops->degraded(h->env.ctx) : NULL;
        json_object_object_add(o, "status", json_object_new_string(why ? why : less ? less : "taking jobs"));
        webui_begin(f, "Daemon", 0);
        webui_daemon(f, o);
        webui_end(f);
        json_object_put(o);
        return send_page(h, c, &buf, &len, f);
}

static enum MHD_Result metrics(struct http *h, struct MHD_Connection *c) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        h->env.ops->metrics(h->env.ctx, f);
        if (fclose(f) != 0) {
                free(buf);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        return send_buffer(h, c, MHD_HTTP_OK, buf, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* Serves an open file, which it takes; one that is not there or not a regular file is a 404
 * "no such file: WHAT". csp: the report's Content-Security-Policy. */
static enum MHD_Result send_file(struct http *h, struct MHD_Connection *c, int fd, const char *type, bool csp, const char *what) {
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                if (fd >= 0)
                        close(fd);
                return send_problem(h, c, P_NOT_FOUND, "no such file: %.1100s", what);
        }
        struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t) st.st_size, fd);
        if (!resp) {
                close(fd);
                return send_problem(h, c, P_UNAVAILABLE, "out of memory");
        }
        if (csp)
                MHD_add_response_header(resp, "Content-Security-Policy",
                                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
        return send_response(h, c, MHD_HTTP_OK, resp, type);
}

static enum MHD_Result case_file(struct http *h, struct MHD_Connection *c, const char *rest) {
        const struct config *cfg = cfg_of(h);
        char case_id[80], num[16], why[256], path[PATH_MAX];
        const char *name, *type;
        unsigned number;
        if (request_case_file(rest, case_id, sizeof case_id, &number, &name, &type) < 0 ||
            job_case_valid(cfg, case_id, why, sizeof why) < 0)
                return send_problem(h, c, P_NOT_FOUND, "no such file: /cases/%s (use /cases/CASE/N/FILE)", rest);
        snprintf(num, sizeof num, "%u", number);
        /* each folder opened without following links, so a link planted in a case folder
         * cannot make us serve a file elsewhere */
        snprintf(path, sizeof path, "%s/cases", config_string(cfg, CONF_ROOT));
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *parts[] = { case_id, num, !strncmp(name, "crash/", 6) ? "crash" : NULL };
        for (size_t i = 0; i < 3 && fd >= 0 && parts[i]; i++) {
                int next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                fd = next;
        }
        if (fd >= 0) {
                const char *leaf = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
                int file = openat(fd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                fd = file;
        }
        char what[600];
        snprintf(what, sizeof what, "/cases/%.500s", rest);
        return send_file(h, c, fd, type, !strcmp(name, "report.html"), what);
}

/* GET /uploads/PATH: an upload under watch.dirs or daemon.path_roots, for the host of the
 * shared queue that runs its job (the message names the path and this URL). */
static enum MHD_Result upload_file(struct http *h, struct MHD_Connection *c, const char *path) {
        char resolved[PATH_MAX], what[PATH_MAX + 16];
        int r = h->env.ops->path_allowed(h->env.ctx, path, resolved);
        if (r == -EACCES)
                return send_problem(h, c, P_PATH_FORBIDDEN, "%.1024s is outside watch.dirs and daemon.path_roots", path);
        snprintf(what, sizeof what, "/uploads%s", path);
        return send_file(h, c, r == 0 ? open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1, "application/octet-stream",
                         false, what);
}

/* ---- the symbol cache, for the other hosts: GET /buildid/ID/… ------------------------------------ */

static bool hex_id(const char *s, size_t n) {
        if (n < 2 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* A module's debug file's place in an entry: relative, plain names, no dot-dot. */
static bool plain_relative(const char *p) {
        if (!*p || *p == '/' || strlen(p) > 1024)
                return false;
        for (const char *s = p; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._+-/", *s)) ||
                    (*s == '/' && s[1] == '/'))
                        return false;
        for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
                if (s[0] == '.' && (s[1] == '/' || s[1] == 0 || (s[1] == '.' && (s[2] == '/' || s[2] == 0))))
                        return false;
        return p[strlen(p) - 1] != '/';
}

/* Opens path under dirfd one component at a time, following no link. */
static int open_beneath(int dirfd, const char *path, int flags) {
        char buf[1100];
        snprintf(buf, sizeof buf, "%s", path);
        int fd = dup(dirfd);
        for (char *save = NULL, *part = strtok_r(buf, "/", &save); fd >= 0 && part; part = strtok_r(NULL, "/", &save)) {
                bool last = !save || !*save;
                int next = openat(fd, part, (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
                close(fd);
                fd = next;
        }
        return fd;
}

static void list_files(int fd, const char *prefix, json_object *arr, unsigned depth) {
        DIR *d = depth < 12 ? fdopendir(fd) : NULL;
        if (!d) {
                close(fd);
                return;
        }
        for (struct dirent *e; (e = readdir(d)) && json_object_array_length(arr) < 8192;) {
                char rel[1100];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
                if (!plain_relative(rel))
                        continue;
                if (e->d_type == DT_DIR) {
                        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                list_files(sub, rel, arr, depth + 1);
                } else if (e->d_type == DT_REG)
                        json_object_array_add(arr, json_object_new_string(rel));
        }
        closedir(d);
}

/* debuginfod's /buildid/ID/debuginfo: the entry's vmlinux, prepared for crash; and, of ours,
 * /buildid/ID/modules (the list of its modules' debug files) and /buildid/ID/modules/PATH. */
static enum MHD_Result buildid(struct http *h, struct MHD_Connection *c, const char *rest) {
        const char *slash = strchr(rest, '/');
        char path[PATH_MAX];
        if (!slash || !hex_id(rest, (size_t) (slash - rest)))
                return send_problem(h, c, P_NOT_FOUND, "no such build-id: /buildid/%.256s", rest);
        snprintf(path, sizeof path, "%s/symbols/%.*s", config_string(cfg_of(h), CONF_ROOT), (int) (slash - rest), rest);
        int dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd = -1;
        const char *what = slash + 1;
        if (dir >= 0 && faccessat(dir, "info.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0) { /* a whole entry only */
                close(dir);
                dir = -1;
        }
        if (dir >= 0 && !strcmp(what, "modules")) {
                json_object *arr = json_object_new_array();
                int m = openat(dir, "modules", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (m >= 0)
                        list_files(m, "", arr, 0);
                close(dir);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "modules", arr);
                return send_json(h, c, MHD_HTTP_OK, o);
        }
        if (dir >= 0 && !strcmp(what, "debuginfo"))
                fd = openat(dir, "vmlinux", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        else if (dir >= 0 && !strncmp(what, "modules/", 8) && plain_relative(what + 8)) {
                int m = openat(dir, "modules", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                fd = m >= 0 ? open_beneath(m, what + 8, O_RDONLY) : -1;
                if (m >= 0)
                        close(m);
        }
        if (dir >= 0)
                close(dir);
        char name[300];
        snprintf(name, sizeof name, "/buildid/%.256s in the symbol cache", rest);
        return send_file(h, c, fd, "application/octet-stream", false, name);
}

/* ---- routing ------------------------------------------------------------------------------- */

static enum MHD_Result method_not_allowed(struct http *h, struct MHD_Connection *c, const char *allow) {
        char detail[128];
        snprintf(detail, sizeof detail, "this resource takes %s", allow);
        return send_json_as(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, problem_json(P_METHOD_NOT_ALLOWED, detail), PROBLEM_TYPE,
                            MHD_HTTP_HEADER_ALLOW, allow);
}

static enum MHD_Result job_route(struct http *h, struct MHD_Connection *c, const char *method, const char *rest) {
        char id[96];
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t) (slash - rest) : strlen(rest);
        if (n == 0 || n >= sizeof id)
                return send_problem(h, c, P_NO_SUCH_JOB, "no such job");
        snprintf(id, sizeof id, "%.*s", (int) n, rest);
        const struct queue_entry *e = queue_get(queue_of(h), id);
        if (slash && strcmp(slash, "/retry") != 0)
                return send_problem(h, c, P_NOT_FOUND, "no such resource");
        json_object *far = elsewhere(h, e, id);
        if (!e && !far)
                return send_problem(h, c, P_NO_SUCH_JOB, "no job '%s'", id);
        if (far && (!slash || strcmp(method, "POST") != 0)) {
                /* another host's job: read here, changed there */
                if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
                        return send_json(h, c, MHD_HTTP_OK, far);
                const char *host = json_str(far, "host"), *url = json_str(far, "host_url");
                enum MHD_Result res = strcmp(method, "DELETE") != 0 ? method_not_allowed(h, c, "GET, DELETE")
                                      : host ? send_problem(h, c, P_JOB_ELSEWHERE, "job '%s' runs on host %.128s: cancel it there (%.256s)",
                                                            id, host, url ? url : "its API")
                                             : send_problem(h, c, P_JOB_ELSEWHERE, "job '%s' waits for a host: cancel it on the host that takes it", id);
                json_object_put(far);
                return res;
        }
        json_object_put(far);
        if (slash) {
                if (strcmp(method, "POST") != 0)
                        return method_not_allowed(h, c, "POST");
                int r = refusing(h) ? -ESHUTDOWN : h->env.ops->retry(h->env.ctx, id);
                if (r == -EBUSY)
                        return send_problem(h, c, P_JOB_NOT_FINISHED, "job '%s' has not finished", id);
                if (r < 0)
                        return send_problem(h, c, r == -ESHUTDOWN ? P_REFUSING : P_UNAVAILABLE, "cannot retry job '%s': %s",
                                            id, r == -ESHUTDOWN ? refusing(h) : strerror(-r));
                e = queue_get(queue_of(h), id);
                json_object *j = elsewhere(h, e, id);
                if (!j && e)
                        j = job_json(h, e);
                char where[160];
                snprintf(where, sizeof where, "/jobs/%s", id);
                return send_json_as(h, c, MHD_HTTP_ACCEPTED, j, JSON_TYPE, MHD_HTTP_HEADER_LOCATION, where);
        }
        if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
                return send_json(h, c, MHD_HTTP_OK, job_json(h, e));
        if (!strcmp(method, "DELETE")) {
                int r = h->env.ops->cancel(h->env.ctx, id);
                if (r == -EALREADY)
                        return send_problem(h, c, P_JOB_FINISHED, "job '%s' has finished", id);
                if (r < 0)
                        return send_problem(h, c, P_UNAVAILABLE, "cannot cancel job '%s': %s", id, strerror(-r));
                e = queue_get(queue_of(h), id);
                return send_job(h, c, MHD_HTTP_ACCEPTED, e, e ? job_json(h, e) : NULL);
        }
        return method_not_allowed(h, c, "GET, DELETE");
}

static bool is_write(const char *method) {
        return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static enum MHD_Result dispatch(struct http *h, struct MHD_Connection *c, const char *url, const char *method,
                                struct request *rq) {
        bool get = !is_write(method);
        if (!strcmp(url, "/healthz")) {
                if (!get)
                        return method_not_allowed(h, c, "GET");
                json_object *o = json_object_new_object();
                if (o) {
                        const char *why = refusing(h), *less = h->env.ops->degraded ? h->env.ops->degraded(h->env.ctx) : NULL;
                        json_object_object_add(o, "status", json_object_new_string(why ? h->env.ops->draining(h->env.ctx) ? "stopping" : "refusing"
                                                                                   : less ? "degraded" : "ok"));
                        json_object_object_add(o, "reason", why ? json_object_new_string(why) : less ? json_object_new_string(less) : NULL);
                        json_object_object_add(o, "queued", json_object_new_int64((int64_t) queue_count(queue_of(h), QUEUE_QUEUED)));
                        json_object_object_add(o, "running", json_object_new_int64((int64_t) queue_count(queue_of(h), QUEUE_RUNNING)));
                }
                return send_json(h, c, MHD_HTTP_OK, o);
        }
        /* what the API is: no secret in it */
        if (!strcmp(url, "/openapi.json"))
                return get ? send_text(h, c, MHD_HTTP_OK, http_openapi, strlen(http_openapi), JSON_TYPE)
                           : method_not_allowed(h, c, "GET");
        if (!strcmp(url, "/problems") || !strncmp(url, "/problems/", 10))
                return get ? problem_list(h, c, url[9] ? url + 10 : NULL) : method_not_allowed(h, c, "GET");
        /* everything else may need the token */
        if ((!get || config_bool(cfg_of(h), CONF_HTTP_PROTECT_READS)) && !rq->authorised && !writes_open(h) &&
            /* a signature covers a body only: it may queue that upload, and nothing else */
            !(strcmp(method, "POST") == 0 && strcmp(url, "/analyze") == 0 && !rq->too_big && signature_ok(h, c, rq))) {
                h->env.counters->rejected_auth++;
                return send_problem(h, c, P_UNAUTHORIZED,
                                  "a bearer token (Authorization: Bearer …) or a signature (X-Hotkdump-Signature: "
                                  "sha256=…) is needed, and the one given is not right");
        }
        if (!strcmp(url, "/"))
                return get ? ui_list(h, c, NULL) : method_not_allowed(h, c, "GET");
        if (!strncmp(url, "/ui/", 4) && !get)
                return method_not_allowed(h, c, "GET");
        if (!strncmp(url, "/ui/jobs/", 9) && url[9] && !strchr(url + 9, '/'))
                return ui_job(h, c, url + 9);
        if (!strncmp(url, "/ui/cases/", 10) && url[10] && !strchr(url + 10, '/')) {
                char why[256];
                if (job_case_valid(cfg_of(h), url + 10, why, sizeof why) < 0)
                        return send_problem(h, c, P_INVALID_CASE, "%s", why);
                return ui_list(h, c, url + 10);
        }
        if (!strcmp(url, "/ui/daemon"))
                return ui_daemon(h, c);
        if (!strcmp(url, "/metrics"))
                return get ? metrics(h, c) : method_not_allowed(h, c, "GET");
        if (!strcmp(url, "/analyze"))
                return strcmp(method, "POST") == 0 ? analyze(h, c, rq) : method_not_allowed(h, c, "POST");
        if (!strcmp(url, "/jobs"))
                return get ? list_jobs(h, c) : method_not_allowed(h, c, "GET");
        if (!strncmp(url, "/jobs/", 6))
                return job_route(h, c, method, url + 6);
        if (!strncmp(url, "/cases/", 7))
                return get ? case_file(h, c, url + 7) : method_not_allowed(h, c, "GET");
        if (!strcmp(url, "/cluster")) {
                if (!get)
                        return method_not_allowed(h, c, "GET");
                return shared(h) && h->env.ops->hosts ? send_json(h, c, MHD_HTTP_OK, h->env.ops->hosts(h->env.ctx))
                                                      : send_problem(h, c, P_NOT_SHARED, "queue.backend is local: there are no other hosts");
        }
        /* what the other hosts fetch (uploads, debug symbols) needs the token whatever
         * http.protect_reads says: an upload is a customer's dump */
        if ((!strncmp(url, "/buildid/", 9) || !strncmp(url, "/uploads/", 9)) && !rq->authorised && !writes_open(h)) {
                h->env.counters->rejected_auth++;
                return send_problem(h, c, P_UNAUTHORIZED, "uploads and debug symbols are served with the bearer token only");
        }
        if (!strncmp(url, "/buildid/", 9))
                return get ? buildid(h, c, url + 9) : method_not_allowed(h, c, "GET");
        if (!strncmp(url, "/uploads/", 9))
                return get ? upload_file(h, c, url + 8) : method_not_allowed(h, c, "GET");
        return send_problem(h, c, P_NOT_FOUND, "no such resource: %.256s", url);
}

struct framing {
        unsigned lengths, encodings;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct framing *f = cls;
        (void) kind;
        (void) value;
        if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
                f->lengths++;
        else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
                f->encodings++;
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
        struct http *h = cls;
        struct request *rq = *con_cls;
        (void) version;

        if (!rq) {
                rq = calloc(1, sizeof *rq);
                if (!rq)
                        return MHD_NO;
                *con_cls = rq;
                rq->authorised = bearer_ok(h, c);
                /* two lengths, or a length beside chunked encoding: a proxy in front may have
                 * read the body differently (request smuggling), so neither is trusted */
                struct framing f = { 0 };
                MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
                if (f.lengths > 1 || (f.lengths && f.encodings))
                        return send_problem(h, c, P_AMBIGUOUS_LENGTH, "%s: the body's length is ambiguous",
                                          f.lengths > 1 ? "more than one Content-Length header"
                                                        : "Content-Length together with Transfer-Encoding");
                /* answered once the request is complete: an answer queued on this first call is
                 * an early one, after which MHD closes the connection instead of keeping it */
                if (strcmp(method, "POST") != 0)
                        return MHD_YES;
                /* refused before a byte of the body is read */
                const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                uint64_t max = config_u64(cfg_of(h), CONF_HTTP_MAX_BODY);
                if (len && strtoull(len, NULL, 10) > max)
                        return send_problem(h, c, P_BODY_TOO_LARGE,
                                          "the body is larger than %llu bytes (http.max_body)", (unsigned long long) max);
                if (!rq->authorised && !writes_open(h) && !MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hotkdump-Signature")) {
                        h->env.counters->rejected_auth++;
                        return send_problem(h, c, P_UNAUTHORIZED, "a bearer token (Authorization: Bearer …) or a "
                                          "signature (X-Hotkdump-Signature: sha256=…) is needed");
                }
                return MHD_YES;
        }
        if (*upload_size) {
                uint64_t max = config_u64(cfg_of(h), CONF_HTTP_MAX_BODY);
                if (!rq->too_big && rq->len + *upload_size <= max) {
                        char *b = realloc(rq->body, rq->len + *upload_size + 1);
                        if (!b)
                                return MHD_NO;
                        rq->body = b;
                        memcpy(rq->body + rq->len, upload, *upload_size);
                        rq->len += *upload_size;
                        rq->body[rq->len] = 0;
                } else
                        rq->too_big = true; /* read and dropped: the answer is 413 */
                *upload_size = 0;
                return MHD_YES;
        }
        return dispatch(h, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct request *rq = *con_cls;
        struct http *h = cls;
        (void) toe;
        struct conn *k = conn_of(c);
        if (k) /* a next request on the connection has the whole budget again */
                k->deadline_ms = (uint64_t) clock_now_ms() + config_u64(cfg_of(h), CONF_HTTP_REQUEST_TIME) * 1000;
        if (rq) {
                free(rq->body);
                free(rq);
                *con_cls = NULL;
        }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        struct http *h = cls;
        struct conn *k = *socket_context;
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                k = calloc(1, sizeof *k);
                if (!k || !i) {
                        free(k);
                        return; /* without a deadline: MHD's idle timeout still applies */
                }
                k->fd = i->connect_fd;
                k->deadline_ms = (uint64_t) clock_now_ms() + config_u64(cfg_of(h), CONF_HTTP_REQUEST_TIME) * 1000;
                k->next = h->conns;
                k->prev = &h->conns;
                if (h->conns)
                        h->conns->prev = &k->next;
                h->conns = k;
                *socket_context = k;
        } else if (k) {
                *k->prev = k->next;
                if (k->next)
                        k->next->prev = k->prev;
                free(k);
                *socket_context = NULL;
                /* below http.max_connections again, MHD takes up listening only in a run after
                 * this one */
                h->run_again = true;
        }
}

/* Cuts the connections whose request is past its deadline: a shutdown, which MHD then sees as
 * the client's end and closes in its own way. Returns the milliseconds to the next deadline. */
static uint64_t cut_late(struct http *h) {
        uint64_t now = (uint64_t) clock_now_ms(), next = UINT64_MAX;
        for (struct conn *k = h->conns; k; k = k->next) {
                if (!k->deadline_ms)
                        continue;
                if (k->deadline_ms <= now) {
                        (void) shutdown(k->fd, SHUT_RDWR); /* MHD closes it at its next run */
                        k->deadline_ms = 0;
                        h->run_again = true;
                        h->env.counters->cut_slow++;
                        log_warning("http: a request not received within http.request_time (%llu s): connection closed",
                                    (unsigned long long) config_u64(cfg_of(h), CONF_HTTP_REQUEST_TIME));
                } else if (k->deadline_ms - now < next)
                        next = k->deadline_ms - now;
        }
        return next;
}

/* ---- the loop's side ----------------------------------------------------------------------- */

/* MHD's own timeout drives a one-shot timer; 0 means "call again at once". */
static void rearm(struct http *h) {
        MHD_UNSIGNED_LONG_LONG ms = 0;
        struct itimerspec its = { 0 };
        uint64_t late = cut_late(h);
        bool has = MHD_get_timeout(h->mhd, &ms) == MHD_YES;
        if (late != UINT64_MAX && (!has || late < ms)) {
                ms = late;
                has = true;
        }
        if (h->run_again) {
                h->run_again = false;
                ms = 0;
                has = true;
        }
        if (has) {
                if (ms == 0)
                        its.it_value.tv_nsec = 1;
                else {
                        its.it_value.tv_sec = (time_t) (ms / 1000);
                        its.it_value.tv_nsec = (long) (ms % 1000) * 1000000;
                }
        }
        timerfd_settime(h->timer.fd, 0, &its, NULL);
}

static void on_io(struct ev_source *s, uint32_t events) {
        struct http *h = s->data;
        (void) events;
        MHD_run(h->mhd);
        rearm(h);
}

static void on_timer(struct ev_source *s, uint32_t events) {
        struct http *h = s->data;
        uint64_t n;
        (void) events;
        if (read(s->fd, &n, sizeof n) < 0 && errno != EAGAIN)
                return;
        MHD_run(h->mhd);
        rearm(h);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
        char msg[1024];
        (void) cls;
        vsnprintf(msg, sizeof msg, fmt, ap);
        msg[strcspn(msg, "\n")] = 0;
        log_warning("http: %s", msg);
}

/* A secret from a file: its first line, which must not be empty. */
static int read_secret(const char *path, char **ret, size_t *ret_len, char *err, size_t err_size) {
        *ret = NULL;
        *ret_len = 0;
        if (!*path)
                return 0;
        int r = read_secret_file(path, ret, ret_len);
        if (r < 0)
                snprintf(err, err_size, "'%s': %s", path, r == -ENODATA ? "its first line is empty or blank" : strerror(-r));
        struct stat st;
        if (r == 0 && stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
                log_warning("http: the secret in '%s' can be read by %s (mode %04o): chmod 600 it", path,
                            st.st_mode & S_IROTH ? "every user" : "its group", (unsigned) (st.st_mode & 07777));
        return r;
}

static void forget_secrets(struct http *h) {
        if (h->token)
                OPENSSL_cleanse(h->token, strlen(h->token));
        if (h->secret)
                OPENSSL_cleanse(h->secret, h->secret_len);
        free(h->token);
        free(h->secret);
        h->token = NULL;
        h->secret = NULL;
}

int http_reload(struct http *h, char *err, size_t err_size) {
        const struct config *cfg = cfg_of(h);
        char *token = NULL, *secret = NULL;
        size_t tlen, slen;
        int r = read_secret(config_string(cfg, CONF_HTTP_TOKEN_FILE), &token, &tlen, err, err_size);
        if (r == 0)
                r = read_secret(config_string(cfg, CONF_HTTP_HMAC_SECRET_FILE), &secret, &slen, err, err_size);
        if (r < 0) {
                free(token);
                return r;
        }
        forget_secrets(h);
        h->token = token;
        h->secret = (unsigned char *) secret;
        h->secret_len = secret ? slen : 0;
        return 0;
}

static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len) {
        char host[256];
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || (size_t) (colon - spec) >= sizeof host)
                return -EINVAL;
        snprintf(host, sizeof host, "%.*s", (int) (colon - spec), spec);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = 0;
        }
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM },
                        *ai = NULL;
        if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

int http_start(const struct http_env *env, struct http **ret, char *err, size_t err_size) {
        const struct config *cfg = env->ops->config(env->ctx);
        struct sockaddr_storage ss;
        socklen_t sslen;
        size_t n;
        int r;

        struct http *h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->env = *env;
        h->io.fd = h->timer.fd = -1;
        h->io.handler = on_io;
        h->timer.handler = on_timer;
        h->io.data = h->timer.data = h;
        r = http_reload(h, err, err_size);
        if (r < 0)
                goto fail;
        if (parse_listen(config_string(cfg, CONF_DAEMON_LISTEN), &ss, &sslen) < 0) {
                snprintf(err, err_size, "daemon.listen '%s' is not ADDRESS:PORT", config_string(cfg, CONF_DAEMON_LISTEN));
                r = -EINVAL;
                goto fail;
        }
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        bool tls = *config_string(cfg, CONF_HTTP_TLS_CERT) || *config_string(cfg, CONF_HTTP_TLS_KEY);
        if (tls) {
                r = read_file_max(config_string(cfg, CONF_HTTP_TLS_CERT), 1u << 20, &h->tls_cert, &n);
                if (r < 0) {
                        snprintf(err, err_size, "http.tls_cert '%s': %s", config_string(cfg, CONF_HTTP_TLS_CERT), strerror(-r));
                        goto fail;
                }
                r = read_file_max(config_string(cfg, CONF_HTTP_TLS_KEY), 1u << 20, &h->tls_key, &n);
                if (r < 0) {
                        snprintf(err, err_size, "http.tls_key '%s': %s", config_string(cfg, CONF_HTTP_TLS_KEY), strerror(-r));
                        goto fail;
                }
                flags |= MHD_USE_TLS;
        }
        if (writes_open(h))
                log_warning("http: neither http.token_file nor http.hmac_secret_file is set: anyone who can reach "
                            "%s can queue jobs", config_string(cfg, CONF_DAEMON_LISTEN));
        h->mhd = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned) config_u64(cfg, CONF_HTTP_MAX_CONNECTIONS),
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) config_u64(cfg, CONF_HTTP_MAX_PER_IP),
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) config_u64(cfg, CONF_HTTP_TIMEOUT),
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) config_u64(cfg, CONF_HTTP_CONNECTION_MEMORY),
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
                MHD_OPTION_END);
        if (!h->mhd) {
                snprintf(err, err_size, "cannot listen on %s%s", config_string(cfg, CONF_DAEMON_LISTEN),
                         tls ? " with TLS (is the certificate and key pair right?)" : " (address in use?)");
                r = -EADDRINUSE;
                goto fail;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        const union MHD_DaemonInfo *lfd = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_LISTEN_FD);
        struct sockaddr_storage bound;
        socklen_t blen = sizeof bound;
        if (!info || !lfd || getsockname(lfd->listen_fd, (struct sockaddr *) &bound, &blen) < 0) {
                snprintf(err, err_size, "cannot set up the HTTP server's event source");
                r = -EIO;
                goto fail;
        }
        h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                                    : ((struct sockaddr_in *) &bound)->sin_port);
        h->io.fd = info->epoll_fd;
        h->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (h->timer.fd < 0 || loop_add(env->loop, &h->io, EPOLLIN) < 0 || loop_add(env->loop, &h->timer, EPOLLIN) < 0) {
                r = -errno;
                snprintf(err, err_size, "cannot watch the HTTP server: %s", strerror(errno));
                goto fail;
        }
        rearm(h);
        char host[INET6_ADDRSTRLEN] = "?";
        inet_ntop(bound.ss_family, bound.ss_family == AF_INET6 ? (void *) &((struct sockaddr_in6 *) &bound)->sin6_addr
                                                               : (void *) &((struct sockaddr_in *) &bound)->sin_addr,
                  host, sizeof host);
        log_info("listening on %s://%s%s%s:%u/", tls ? "https" : "http", bound.ss_family == AF_INET6 ? "[" : "", host,
                 bound.ss_family == AF_INET6 ? "]" : "", h->port);
        /* bound to every address: others reach it by the host's name */
        bool any = bound.ss_family == AF_INET6 ? IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *) &bound)->sin6_addr)
                                               : ((struct sockaddr_in *) &bound)->sin_addr.s_addr == htonl(INADDR_ANY);
        char name[256] = "";
        if (any && (gethostname(name, sizeof name - 1) < 0 || !name[0]))
                snprintf(name, sizeof name, "localhost");
        bool brackets = !any && bound.ss_family == AF_INET6;
        snprintf(h->url, sizeof h->url, "%s://%s%s%s:%u", tls ? "https" : "http", brackets ? "[" : "", any ? name : host,
                 brackets ? "]" : "", h->port);
        *ret = h;
        return 0;
fail:
        http_free(h);
        return r;
}

void http_quiesce(struct http *h) {
        if (!h || !h->mhd)
                return;
        int fd = MHD_quiesce_daemon(h->mhd);
        if (fd >= 0)
                close(fd);
}

const char *http_url(const struct http *h) {
        return h ? h->url : "";
}

unsigned http_port(const struct http *h) {
        return h->port;
}

struct http *http_free(struct http *h) {
        if (!h)
                return NULL;
        if (h->mhd) {
                loop_del(h->env.loop, &h->io);
                MHD_stop_daemon(h->mhd);
        }
        if (h->timer.fd >= 0) {
                loop_del(h->env.loop, &h->timer);
                close(h->timer.fd);
        }
        forget_secrets(h);
        free(h->tls_cert);
        free(h->tls_key);
        free(h);
        return NULL;
}
