/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HTTP calls of the post-back sinks, through libcurl.
 * Small answers read whole; the caller decides what an answer means. */

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/capbuf.h"
#include "hooks/httpcall.h"

#define ANSWER_MAX (4u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        struct capbuf *b = userdata;
        return capbuf_add(b, p, size * n) < 0 ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        struct httpcall_answer *a = userdata;
        size_t len = size * n;
        if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
                char v[32];
                size_t l = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
                memcpy(v, p + 12, l);
                v[l] = 0;
                char *end;
                unsigned long s = strtoul(v, &end, 10);
                if (end != v)
                        a->retry_after_s = s > 86400 ? 86400 : (unsigned) s;
        }
        return len;
}

int httpcall_run(const struct httpcall *c, struct httpcall_answer *ret) {
        struct capbuf b = { .max = ANSWER_MAX };
        struct curl_slist *hdrs = NULL;
        int r = 0;

        memset(ret, 0, sizeof *ret);
        CURL *curl = curl_easy_init();
        if (!curl)
                return -ENOMEM;
        for (size_t i = 0; c->headers && c->headers[i]; i++) {
                struct curl_slist *n = curl_slist_append(hdrs, c->headers[i]);
                if (!n) {
                        r = -ENOMEM;
                        goto out;
                }
                hdrs = n;
        }
        /* a POST without it waits a second for "100 Continue" */
        struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
        if (!n) {
                r = -ENOMEM;
                goto out;
        }
        hdrs = n;
        curl_easy_setopt(curl, CURLOPT_URL, c->url);
        /* a fresh connection per call: on a reused one that closes without an answer, libcurl
         * sends the request again by itself, and a POST sent twice is a second comment */
        curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long) c->timeout_s);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long) (c->timeout_s < 10 ? c->timeout_s : 10));
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "hotkdump/" PACKAGE_VERSION);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, ret);
        if (!strcmp(c->method, "POST")) {
                curl_easy_setopt(curl, CURLOPT_POST, 1L);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c->body ? c->body : "");
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) c->body_len);
        }
        CURLcode cc = curl_easy_perform(curl);
        long request_size = 0;
        curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
        ret->sent = request_size > 0;
        if (cc != CURLE_OK) {
                snprintf(ret->error, sizeof ret->error, "%s", curl_easy_strerror(cc));
                r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
                goto out;
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ret->status);
        if (b.dropped) {
                /* half an answer is no answer: its JSON would not parse, or say less than it should */
                snprintf(ret->error, sizeof ret->error, "the answer is larger than %u MiB", ANSWER_MAX >> 20);
                r = -EIO;
                goto out;
        }
        ret->body = b.buf ? b.buf : strdup("");
        if (!ret->body) {
                r = -ENOMEM;
                goto out;
        }
        ret->len = b.buf ? b.len : 0;
        b.buf = NULL;
out:
        capbuf_free(&b);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(curl);
        if (r < 0)
                ret->status = 0;
        return r;
}

void httpcall_answer_clear(struct httpcall_answer *a) {
        free(a->body);
        memset(a, 0, sizeof *a);
}

bool httpcall_transient(long status) {
        return status == 0 || status == 408 || status == 429 || status >= 500;
}
