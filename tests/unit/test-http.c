/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the HTTP API's routing, on loopback, with the supervisor's calls (struct
 * http_ops) answered by this file over a real queue: which path and method reach which call,
 * what each answers when the call refuses, the token on writes, the body limit before a byte is
 * read, the content type, and that a refusing daemon still answers /healthz. */

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fileio.h"
#include "common/loop.h"
#include "daemon/http.h"
#include "daemon/queue.h"
#include "tests/tap.h"

static char tmp[] = "/tmp/hotkdump-http-XXXXXX";
static struct config *cfg;
static struct queue *queue;
static atomic_bool stop;
static _Atomic(const char *) refusing_now;
static atomic_int cancel_answer, retry_answer, submits, cancels, retries;

static const struct config *t_config(void *ctx) {
        (void) ctx;
        return cfg;
}
static struct queue *t_queue(void *ctx) {
        (void) ctx;
        return queue;
}
static const char *t_refusing(void *ctx) {
        (void) ctx;
        return atomic_load(&refusing_now);
}
static bool t_draining(void *ctx) {
        (void) ctx;
        return false;
}
static int t_submit(void *ctx, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup) {
        (void) ctx;
        atomic_fetch_add(&submits, 1);
        return queue_put(queue, req, ret, ret_dup);
}
static int t_cancel(void *ctx, const char *id) {
        (void) ctx;
        (void) id;
        atomic_fetch_add(&cancels, 1);
        return atomic_load(&cancel_answer);
}
static int t_retry(void *ctx, const char *id) {
        (void) ctx;
        (void) id;
        atomic_fetch_add(&retries, 1);
        return atomic_load(&retry_answer);
}
static json_object *t_job_json(void *ctx, const struct queue_entry *e) {
        (void) ctx;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(e->id));
        json_object_object_add(o, "case", json_object_new_string(e->case_id));
        return o;
}
static void t_metrics(void *ctx, FILE *out) {
        (void) ctx;
        fputs("hotkdump_test_metric 42\n", out);
}
static int t_path_allowed(void *ctx, const char *path, char *resolved) {
        (void) ctx;
        char allowed[PATH_MAX];
        snprintf(allowed, sizeof allowed, "%s/up/", tmp);
        if (strncmp(path, allowed, strlen(allowed)) != 0)
                return -EACCES;
        snprintf(resolved, PATH_MAX, "%s", path);
        return 0;
}

static struct loop *loop;
static void *run_loop(void *arg) {
        (void) arg;
        while (!atomic_load(&stop))
                loop_run_once(loop, 50);
        return NULL;
}

static unsigned port;
static char body[65536];
static size_t body_len;
static size_t on_body(char *p, size_t size, size_t n, void *userdata) {
        (void) userdata;
        size_t m = size * n;
        if (body_len + m < sizeof body) {
                memcpy(body + body_len, p, m);
                body_len += m;
                body[body_len] = 0;
        }
        return m;
}

/* One request: the status, the body in body[]. */
static long call(const char *method, const char *path, const char *data, const char *type, const char *token) {
        char url[512], auth[256], ct[256];
        struct curl_slist *hd = NULL;
        CURL *c = curl_easy_init();
        long status = 0;
        body_len = 0;
        body[0] = 0;
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        if (token) {
                snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
                hd = curl_slist_append(hd, auth);
        }
        if (data) {
                snprintf(ct, sizeof ct, "Content-Type: %s", type ? type : "application/json");
                hd = curl_slist_append(hd, ct);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hd);
        curl_easy_cleanup(c);
        return status;
}

static bool body_has(const char *s) {
        return strstr(body, s) != NULL;
}

int main(void) {
        static const struct http_ops ops = {
                .config = t_config,     .queue = t_queue,   .refusing = t_refusing, .draining = t_draining,
                .submit = t_submit,     .cancel = t_cancel, .retry = t_retry,       .job_json = t_job_json,
                .metrics = t_metrics,   .path_allowed = t_path_allowed,
        };
        struct http_counters counters = { 0 };
        struct http *h = NULL;
        char err[512], path[PATH_MAX + 32];
        if (!mkdtemp(tmp))
                return 99;
        snprintf(path, sizeof path, "%s/root", tmp);
        tap_ok(config_new(&cfg) == 0 && config_set(cfg, "root", path, err, sizeof err) == 0 &&
                       config_set(cfg, "daemon.listen", "127.0.0.1:0", err, sizeof err) == 0 &&
                       config_set(cfg, "http.max_body", "1K", err, sizeof err) == 0,
               "config");
        tap_ok(write_file_atomic(tmp, "token", "s3cret\n", 7) == 0, "a token file");
        snprintf(path, sizeof path, "%s/token", tmp);
        tap_is_int(config_set(cfg, "http.token_file", path, err, sizeof err), 0, "http.token_file");
        snprintf(path, sizeof path, "%s/up", tmp);
        mkdir(path, 0755);
        tap_ok(write_file_atomic(path, "vmcore", "KDUMP   ", 8) == 0 && write_file_atomic(path, "other", "KDUMP   ", 8) == 0,
               "two uploads under the allowed root");
        snprintf(path, sizeof path, "%s/queue", tmp);
        tap_is_int(queue_open(path, &queue, err, sizeof err), 0, "a queue");
        tap_is_int(loop_new(&loop), 0, "a loop");
        const struct http_env env = { .loop = loop, .ops = &ops, .ctx = NULL, .counters = &counters };
        tap_is_int(http_start(&env, &h, err, sizeof err), 0, "the API starts");
        port = http_port(h);
        tap_ok(port > 0, "on an ephemeral port (%u)", port);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        pthread_t t;
        pthread_create(&t, NULL, run_loop, NULL);

        /* reads are open, writes need the token */
        tap_is_int(call("GET", "/healthz", NULL, NULL, NULL), 200, "GET /healthz: 200");
        tap_ok(body_has("\"status\":\"ok\"") || body_has("\"status\": \"ok\""), "… ok");
        tap_is_int(call("GET", "/metrics", NULL, NULL, NULL), 200, "GET /metrics: 200");
        tap_ok(body_has("hotkdump_test_metric 42"), "… the supervisor's text");
        tap_is_int(call("GET", "/jobs", NULL, NULL, NULL), 200, "GET /jobs: 200");
        tap_is_int(call("GET", "/", NULL, NULL, NULL), 200, "GET /: the status page");
        tap_ok(body_has("<!DOCTYPE html>"), "… is HTML");
        tap_is_int(call("POST", "/healthz", "{}", NULL, "s3cret"), 405, "POST /healthz: 405");
        tap_is_int(call("DELETE", "/metrics", NULL, NULL, "s3cret"), 405, "DELETE /metrics: 405");
        tap_is_int(call("GET", "/analyze", NULL, NULL, NULL), 405, "GET /analyze: 405");
        tap_is_int(call("GET", "/nothing/here", NULL, NULL, NULL), 404, "an unknown path: 404");
        tap_ok(body_has("no such resource"), "… says so");

        char req[PATH_MAX + 128];
        snprintf(req, sizeof req, "{\"case\": \"00345677\", \"path\": \"%s/up/vmcore\"}", tmp);
        tap_is_int(call("POST", "/analyze", req, NULL, NULL), 401, "POST /analyze without the token: 401");
        tap_is_int(call("POST", "/analyze", req, NULL, "wrong"), 401, "… with a wrong token: 401");
        tap_ok(atomic_load(&submits) == 0, "… and nothing reached the supervisor");
        tap_ok(counters.rejected_auth >= 2, "refused authorisations are counted (%llu)",
               (unsigned long long) counters.rejected_auth);
        tap_is_int(call("POST", "/analyze", req, "text/plain", "s3cret"), 415, "a body that is not JSON: 415");
        char big[2048];
        memset(big, ' ', sizeof big - 1);
        big[sizeof big - 1] = 0;
        big[0] = '{';
        tap_is_int(call("POST", "/analyze", big, NULL, "s3cret"), 413, "a body over http.max_body: 413");
        tap_is_int(call("POST", "/analyze", "{\"case\": \"00345677\", \"path\": \"/etc/passwd\"}", NULL, "s3cret"), 403,
                   "a path the supervisor does not allow: 403");
        tap_is_int(call("POST", "/analyze", "{\"case\": \"../x\", \"path\": \"/tmp/x\"}", NULL, "s3cret"), 400,
                   "a bad case number: 400");
        tap_ok(atomic_load(&submits) == 0, "none of those reached submit");

        tap_is_int(call("POST", "/analyze", req, NULL, "s3cret"), 202, "a good request: 202");
        tap_ok(atomic_load(&submits) == 1, "… submitted once");
        char id[96] = "";
        const char *p = strstr(body, "\"id\"");
        if (p && (p = strchr(p + 4, '"')))
                snprintf(id, sizeof id, "%.*s", (int) strcspn(p + 1, "\""), p + 1);
        tap_ok(id[0] != 0, "… with the job's id (%s)", id);
        tap_is_int(call("POST", "/analyze", req, NULL, "s3cret"), 200, "the same again: 200, the job it made");
        tap_ok(body_has("\"duplicate\":true") || body_has("\"duplicate\": true"), "… marked duplicate");

        char jp[160];
        snprintf(jp, sizeof jp, "/jobs/%s", id);
        tap_is_int(call("GET", jp, NULL, NULL, NULL), 200, "GET /jobs/ID: 200");
        tap_ok(body_has("00345677"), "… the supervisor's view of it");
        tap_is_int(call("GET", "/jobs/no-such-job", NULL, NULL, NULL), 404, "GET of an unknown job: 404");
        tap_is_int(call("DELETE", jp, NULL, NULL, NULL), 401, "DELETE without the token: 401");
        atomic_store(&cancel_answer, 0);
        tap_is_int(call("DELETE", jp, NULL, NULL, "s3cret"), 202, "DELETE: 202 when the supervisor cancels");
        atomic_store(&cancel_answer, -EALREADY);
        tap_is_int(call("DELETE", jp, NULL, NULL, "s3cret"), 409, "DELETE of a finished job: 409");
        tap_is_int(atomic_load(&cancels), 2, "both reached cancel");
        snprintf(jp, sizeof jp, "/jobs/%s/retry", id);
        atomic_store(&retry_answer, -EBUSY);
        tap_is_int(call("POST", jp, "", NULL, "s3cret"), 409, "retry of a job not finished: 409");
        atomic_store(&retry_answer, 0);
        tap_is_int(call("POST", jp, "", NULL, "s3cret"), 202, "retry: 202");
        tap_is_int(call("GET", jp, NULL, NULL, NULL), 405, "GET of .../retry: 405");

        tap_is_int(call("GET", "/cases/00345677/1/vmcore", NULL, NULL, NULL), 404, "the dump is never served: 404");
        tap_is_int(call("GET", "/cases/00345677/1/report.html", NULL, NULL, NULL), 404, "a report not written yet: 404");

        /* a refusing daemon (disk full, draining) refuses new work and still answers */
        atomic_store(&refusing_now, "the disk is nearly full");
        snprintf(req, sizeof req, "{\"case\": \"00345678\", \"path\": \"%s/up/other\"}", tmp);
        tap_is_int(call("POST", "/analyze", req, NULL, "s3cret"), 503, "POST /analyze while refusing: 503");
        tap_ok(body_has("nearly full"), "… with the reason");
        tap_is_int(call("GET", "/healthz", NULL, NULL, NULL), 200, "/healthz still answers");
        tap_ok(body_has("refusing"), "… and says it is refusing");
        tap_ok(counters.requests[2] > 0 && counters.requests[4] > 0 && counters.requests[5] > 0,
               "responses are counted by class (2xx %llu, 4xx %llu, 5xx %llu)", (unsigned long long) counters.requests[2],
               (unsigned long long) counters.requests[4], (unsigned long long) counters.requests[5]);

        atomic_store(&stop, true);
        pthread_join(t, NULL);
        h = http_free(h);
        loop = loop_free(loop);
        queue = queue_free(queue);
        config_free(cfg);
        curl_global_cleanup();
        tap_remove_tree(tmp);
        return tap_done();
}
