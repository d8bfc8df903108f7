/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Athena (Salesforce) case comments: login, case lookup by CaseNumber, comment creation, and
 * the splitting of a long comment into parts Salesforce takes. */

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "hooks/athena.h"
#include "hooks/httpcall.h"

struct athena {
        const struct config *cfg;
        char *client_secret, *password, *token;
        char *instance;       /* where the REST API answers, from the login or the configuration */
        bool configured_token;
        char auth[4200];      /* "Authorization: Bearer …" */
        struct {
                char number[128], id[64];
        } cases[16];          /* case numbers already looked up in this run */
        size_t n_cases;
};

int athena_new(const struct config *cfg, struct athena **ret, char *err, size_t err_size) {
        struct athena *a = calloc(1, sizeof *a);
        int r;
        if (!a)
                return -ENOMEM;
        a->cfg = cfg;
        r = sink_secret(config_string(cfg, CONF_ATHENA_TOKEN_FILE), "HOTKDUMP_ATHENA_TOKEN", &a->token, err, err_size);
        if (r < 0)
                goto fail;
        if (a->token) {
                a->configured_token = true;
                if (!*config_string(cfg, CONF_ATHENA_INSTANCE_URL)) {
                        snprintf(err, err_size, "athena: a token is configured but athena.instance_url is not");
                        r = -EINVAL;
                        goto fail;
                }
        } else {
                r = sink_secret(config_string(cfg, CONF_ATHENA_CLIENT_SECRET_FILE), "HOTKDUMP_ATHENA_CLIENT_SECRET",
                                &a->client_secret, err, err_size);
                if (r == 0)
                        r = sink_secret(config_string(cfg, CONF_ATHENA_PASSWORD_FILE), "HOTKDUMP_ATHENA_PASSWORD",
                                        &a->password, err, err_size);
                if (r < 0)
                        goto fail;
                const char *missing = !*config_string(cfg, CONF_ATHENA_CLIENT_ID) ? "athena.client_id"
                                      : !a->client_secret ? "athena.client_secret_file"
                                      : !*config_string(cfg, CONF_ATHENA_USERNAME) ? "athena.username"
                                      : !a->password ? "athena.password_file"
                                      : NULL;
                if (missing) {
                        snprintf(err, err_size, "athena: %s is not set (nor athena.token_file)", missing);
                        r = -EINVAL;
                        goto fail;
                }
        }
        const char *inst = config_string(cfg, CONF_ATHENA_INSTANCE_URL);
        if (*inst && !(a->instance = strdup(inst))) {
                r = -ENOMEM;
                goto fail;
        }
        if (a->token)
                snprintf(a->auth, sizeof a->auth, "Authorization: Bearer %s", a->token);
        *ret = a;
        return 0;
fail:
        athena_free(a);
        return r;
}

static void wipe(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

struct athena *athena_free(struct athena *a) {
        if (!a)
                return NULL;
        wipe(a->client_secret);
        wipe(a->password);
        wipe(a->token);
        explicit_bzero(a->auth, sizeof a->auth);
        free(a->instance);
        free(a);
        return NULL;
}

/* What Salesforce said in a refusal: [{"message","errorCode"}] or {"error","error_description"}. */
static void refusal(const struct httpcall_answer *an, char *buf, size_t size) {
        json_object *o = an->body ? json_tokener_parse(an->body) : NULL;
        json_object *e = o && json_object_is_type(o, json_type_array) && json_object_array_length(o)
                                 ? json_object_array_get_idx(o, 0)
                                 : o;
        const char *code = json_str(e, "errorCode") ? json_str(e, "errorCode") : json_str(e, "error");
        const char *msg = json_str(e, "message") ? json_str(e, "message") : json_str(e, "error_description");
        if (code || msg)
                snprintf(buf, size, "HTTP %ld: %s%s%.300s", an->status, code ? code : "", code && msg ? ": " : "",
                         msg ? msg : "");
        else
                snprintf(buf, size, "HTTP %ld", an->status);
        json_object_put(o);
}

static enum sink_outcome fail(struct sink_result *res, enum sink_outcome oc, bool unclear, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static enum sink_outcome fail(struct sink_result *res, enum sink_outcome oc, bool unclear, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof res->error, fmt, ap);
        va_end(ap);
        res->outcome = oc;
        res->unclear = unclear;
        return oc;
}

/* A call that got no answer, or an answer that was no success. */
static enum sink_outcome failed_call(struct sink_result *res, const char *step, const struct httpcall_answer *an,
                                     int r, bool may_have_acted) {
        if (r < 0)
                return fail(res, SINK_RETRY, may_have_acted && an->sent, "athena: %s: no answer: %s", step,
                            r == -ENOMEM ? "out of memory" : an->error);
        char why[512];
        refusal(an, why, sizeof why);
        res->retry_after_s = an->retry_after_s;
        /* the org's daily API allowance spent: it comes back */
        bool again = httpcall_transient(an->status) || (an->status == 403 && strstr(why, "REQUEST_LIMIT_EXCEEDED"));
        return fail(res, again ? SINK_RETRY : SINK_REJECTED, again && may_have_acted && an->status != 429,
                    "athena: %s: %s", step, why);
}

static enum sink_outcome login(struct athena *a, struct sink_result *res) {
        const struct config *cfg = a->cfg;
        char *id = curl_easy_escape(NULL, config_string(cfg, CONF_ATHENA_CLIENT_ID), 0);
        char *sec = curl_easy_escape(NULL, a->client_secret, 0);
        char *user = curl_easy_escape(NULL, config_string(cfg, CONF_ATHENA_USERNAME), 0);
        char *pw = curl_easy_escape(NULL, a->password, 0);
        char *body = NULL, url[2048];
        struct httpcall_answer an = { 0 };
        enum sink_outcome oc;
        int len = -1, r;

        if (id && sec && user && pw)
                len = asprintf(&body, "grant_type=password&client_id=%s&client_secret=%s&username=%s&password=%s", id,
                               sec, user, pw);
        if (pw)
                explicit_bzero(pw, strlen(pw));
        if (sec)
                explicit_bzero(sec, strlen(sec));
        curl_free(id);
        curl_free(sec);
        curl_free(user);
        curl_free(pw);
        if (len < 0)
                return fail(res, SINK_RETRY, false, "athena: login: out of memory");
        const char *base = config_string(cfg, CONF_ATHENA_LOGIN_URL);
        snprintf(url, sizeof url, "%s%s/services/oauth2/token", base, base[0] && base[strlen(base) - 1] == '/' ? "." : "");
        const char *headers[] = { "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL };
        struct httpcall c = { .method = "POST", .url = url, .headers = headers, .body = body, .body_len = (size_t) len,
                              .timeout_s = (unsigned) config_u64(cfg, CONF_ATHENA_TIMEOUT) };
        r = httpcall_run(&c, &an);
        explicit_bzero(body, (size_t) len);
        free(body);
        if (r == 0 && (an.status == 400 || an.status == 401)) {
                char why[512];
                refusal(&an, why, sizeof why);
                httpcall_answer_clear(&an);
                return fail(res, SINK_REJECTED, false, "athena: login as '%s' refused (check the credentials): %s",
                            config_string(cfg, CONF_ATHENA_USERNAME), why);
        }
        if (r < 0 || an.status != 200) {
                oc = failed_call(res, "login", &an, r, false);
                httpcall_answer_clear(&an);
                return oc;
        }
        json_object *o = json_tokener_parse(an.body);
        const char *tok = json_str(o, "access_token"), *inst = json_str(o, "instance_url");
        if (!tok || !inst || strlen(tok) > 4000) {
                size_t got = an.len;
                json_object_put(o);
                httpcall_answer_clear(&an);
                return fail(res, SINK_RETRY, false, "athena: login: the answer is not the JSON of a token (%zu bytes)", got);
        }
        wipe(a->token);
        free(a->instance);
        a->token = strdup(tok);
        a->instance = strdup(inst);
        json_object_put(o);
        explicit_bzero(an.body, an.len);
        httpcall_answer_clear(&an);
        if (!a->token || !a->instance)
                return fail(res, SINK_RETRY, false, "athena: login: out of memory");
        snprintf(a->auth, sizeof a->auth, "Authorization: Bearer %s", a->token);
        return SINK_SENT;
}

/* One call to the REST API, logged in first; a session that expired is renewed once. */
static enum sink_outcome call(struct athena *a, const char *step, const char *method, const char *path,
                              const char *body, bool may_act, struct httpcall_answer *an, struct sink_result *res) {
        for (int attempt = 0;; attempt++) {
                if (!a->token && login(a, res) != SINK_SENT)
                        return res->outcome;
                char url[8192];
                snprintf(url, sizeof url, "%s/services/data/%s%s", a->instance, config_string(a->cfg, CONF_ATHENA_API_VERSION),
                         path);
                const char *headers[] = { a->auth, "Accept: application/json", "Content-Type: application/json", NULL };
                struct httpcall c = { .method = method, .url = url, .headers = headers, .body = body,
                                      .body_len = body ? strlen(body) : 0,
                                      .timeout_s = (unsigned) config_u64(a->cfg, CONF_ATHENA_TIMEOUT) };
                int r = httpcall_run(&c, an);
                if (r == 0 && an->status == 401 && !a->configured_token && attempt == 0) {
                        /* INVALID_SESSION_ID: the token expired; nothing was done */
                        httpcall_answer_clear(an);
                        wipe(a->token);
                        a->token = NULL;
                        continue;
                }
                if (r < 0 || an->status < 200 || an->status > 299) {
                        enum sink_outcome oc = failed_call(res, step, an, r, may_act);
                        if (an->status == 401)
                                snprintf(res->error, sizeof res->error, "athena: %s: the access token is refused (HTTP 401)",
                                         step);
                        httpcall_answer_clear(an);
                        return oc;
                }
                return SINK_SENT;
        }
}

static enum sink_outcome query(struct athena *a, const char *step, const char *soql, json_object **ret,
                               struct sink_result *res) {
        struct httpcall_answer an;
        char *q = curl_easy_escape(NULL, soql, 0);
        char path[4096];
        if (!q)
                return fail(res, SINK_RETRY, false, "athena: %s: out of memory", step);
        snprintf(path, sizeof path, "/query?q=%s", q);
        curl_free(q);
        if (call(a, step, "GET", path, NULL, false, &an, res) != SINK_SENT)
                return res->outcome;
        json_object *o = json_tokener_parse(an.body), *recs;
        httpcall_answer_clear(&an);
        if (!o || !json_object_object_get_ex(o, "records", &recs) || !json_object_is_type(recs, json_type_array)) {
                json_object_put(o);
                return fail(res, SINK_RETRY, false, "athena: %s: the answer is not the JSON of query results", step);
        }
        *ret = o;
        return SINK_SENT;
}

/* A SOQL string literal: quotes and backslashes escaped. */
static void soql_quote(const char *s, char *buf, size_t size) {
        size_t n = 0;
        for (; *s && n + 3 < size; s++) {
                if (*s == '\'' || *s == '\\')
                        buf[n++] = '\\';
                buf[n++] = *s;
        }
        buf[n] = 0;
}

enum sink_outcome athena_case_id(struct athena *a, const char *number, char id[64], struct sink_result *res) {
        for (size_t i = 0; i < a->n_cases; i++)
                if (!strcmp(a->cases[i].number, number)) {
                        snprintf(id, 64, "%s", a->cases[i].id);
                        return SINK_SENT;
                }
        char lit[300], soql[400];
        json_object *o = NULL, *recs;
        soql_quote(number, lit, sizeof lit);
        snprintf(soql, sizeof soql, "SELECT Id FROM Case WHERE CaseNumber = '%s'", lit);
        if (query(a, "case lookup", soql, &o, res) != SINK_SENT)
                return res->outcome;
        json_object_object_get_ex(o, "records", &recs);
        const char *found = json_object_array_length(recs) ? json_str(json_object_array_get_idx(recs, 0), "Id") : NULL;
        if (!found || strlen(found) >= 64) {
                json_object_put(o);
                return fail(res, SINK_REJECTED, false, "athena: no case with CaseNumber '%s'", number);
        }
        snprintf(id, 64, "%s", found);
        if (a->n_cases < sizeof a->cases / sizeof a->cases[0] && strlen(number) < sizeof a->cases[0].number) {
                snprintf(a->cases[a->n_cases].number, sizeof a->cases[0].number, "%s", number);
                snprintf(a->cases[a->n_cases++].id, sizeof a->cases[0].id, "%s", found);
        }
        json_object_put(o);
        return SINK_SENT;
}

enum sink_outcome athena_find_comment(struct athena *a, const char *parent, const char *mark, char id[64], int *found,
                                      struct sink_result *res) {
        char lit[200], soql[400];
        json_object *o = NULL, *recs;
        soql_quote(parent, lit, sizeof lit);
        /* CommentBody is a long text field, which a WHERE cannot search: the case's comments are
         * read and searched here */
        /* the newest 200: the part looked for was sent moments (or a restart) ago, and 200 comments
         * of at most 4,000 characters fit in one answer */
        snprintf(soql, sizeof soql,
                 "SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '%s' ORDER BY CreatedDate DESC LIMIT 200", lit);
        *found = 0;
        if (query(a, "comment lookup", soql, &o, res) != SINK_SENT)
                return res->outcome;
        json_object_object_get_ex(o, "records", &recs);
        for (size_t i = 0; i < json_object_array_length(recs); i++) {
                json_object *c = json_object_array_get_idx(recs, i);
                const char *body = json_str(c, "CommentBody"), *cid = json_str(c, "Id");
                if (body && cid && strstr(body, mark)) {
                        snprintf(id, 64, "%s", cid);
                        *found = 1;
                        break;
                }
        }
        json_object_put(o);
        return SINK_SENT;
}

enum sink_outcome athena_comment(struct athena *a, const char *parent, const char *body, char id[64],
                                 struct sink_result *res) {
        json_object *o = json_object_new_object();
        if (!o)
                return fail(res, SINK_RETRY, false, "athena: comment: out of memory");
        json_object_object_add(o, "ParentId", json_object_new_string(parent));
        json_object_object_add(o, "CommentBody", json_object_new_string(body));
        json_object_object_add(o, "IsPublished", json_object_new_boolean(config_bool(a->cfg, CONF_ATHENA_PUBLIC)));
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        struct httpcall_answer an;
        enum sink_outcome oc = text ? call(a, "comment", "POST", "/sobjects/CaseComment", text, true, &an, res)
                                    : fail(res, SINK_RETRY, false, "athena: comment: out of memory");
        json_object_put(o);
        if (oc != SINK_SENT)
                return oc;
        json_object *ans = json_tokener_parse(an.body), *ok;
        const char *cid = json_str(ans, "id");
        bool success = json_object_object_get_ex(ans, "success", &ok) && json_object_get_boolean(ok);
        if (!cid || !success || strlen(cid) >= 64) {
                /* taken or not, nobody can say: the next try looks for it first */
                long status = an.status;
                json_object_put(ans);
                httpcall_answer_clear(&an);
                return fail(res, SINK_RETRY, true, "athena: comment: HTTP %ld, but the answer is not the JSON of a new record",
                            status);
        }
        snprintf(id, 64, "%s", cid);
        json_object_put(ans);
        httpcall_answer_clear(&an);
        return SINK_SENT;
}

/* ---- splitting ---------------------------------------------------------------------------------- */

void athena_mark(const char *key, size_t i, char *buf, size_t size) {
        snprintf(buf, size, "[hotkdump:%s/%zu]", key, i);
}

/* A cut at most at len that does not split a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len) {
        size_t n = len;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                n--;
        return n ? n : len;
}

int athena_split(const char *text, size_t max, const char *key, char ***ret_parts, size_t *ret_n) {
        char mark[512];
        athena_mark(key, 999, mark, sizeof mark);
        /* room for "Split comment 999 of 999\n\n", "\n" and the mark */
        size_t overhead = strlen("Split comment 999 of 999\n\n") + 1 + strlen(mark);
        if (max < overhead + 80)
                return -EINVAL;
        size_t budget = max - overhead, len = strlen(text);
        size_t *starts = NULL, *lens = NULL, n = 0, cap = 0;
        char **parts = NULL;
        int r = 0;

        for (size_t off = 0; off < len;) {
                /* a part: whole lines while they fit, else as much of one long line as fits */
                size_t end = off, room = len - off < budget ? len - off : budget;
                while (end < off + room) {
                        const char *nl = memchr(text + end, '\n', off + room - end);
                        if (!nl)
                                break;
                        end = (size_t) (nl - text) + 1;
                }
                if (off + room == len)
                        end = len;
                else if (end == off)
                        end = off + utf8_cut(text + off, room);
                if (n == cap) {
                        cap = cap ? cap * 2 : 8;
                        size_t *s2 = realloc(starts, cap * sizeof *s2), *l2 = s2 ? realloc(lens, cap * sizeof *l2) : NULL;
                        if (s2)
                                starts = s2;
                        if (!l2) {
                                r = -ENOMEM;
                                goto out;
                        }
                        lens = l2;
                }
                starts[n] = off;
                lens[n++] = end - off;
                off = end;
                while (off < len && text[off] == '\n') /* no part starts with blank lines */
                        off++;
        }
        if (n == 0) {
                starts = malloc(sizeof *starts);
                lens = malloc(sizeof *lens);
                if (!starts || !lens) {
                        r = -ENOMEM;
                        goto out;
                }
                starts[0] = lens[0] = 0;
                n = 1;
        }
        if (n > 999) {
                r = -EFBIG;
                goto out;
        }
        parts = calloc(n + 1, sizeof *parts);
        if (!parts) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                size_t l = lens[i];
                while (l && text[starts[i] + l - 1] == '\n')
                        l--;
                char head[64] = "";
                if (n > 1)
                        snprintf(head, sizeof head, "Split comment %zu of %zu\n\n", i + 1, n);
                athena_mark(key, i + 1, mark, sizeof mark);
                if (asprintf(&parts[i], "%s%.*s\n%s", head, (int) l, text + starts[i], mark) < 0) {
                        parts[i] = NULL;
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret_parts = parts;
        *ret_n = n;
        parts = NULL;
out:
        for (size_t i = 0; parts && parts[i]; i++)
                free(parts[i]);
        free(parts);
        free(starts);
        free(lens);
        return r;
}
