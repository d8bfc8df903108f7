/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Webhook deliveries: one signed POST per post, the same signature scheme POST /analyze
 * accepts, so one receiver can check both. */

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/httpcall.h"
#include "hooks/webhook.h"

int webhook_signature(const char *secret, const void *data, size_t len, char sig[72]) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (!HMAC(EVP_sha256(), secret, (int) strlen(secret), data, len, mac, &mac_len) || mac_len != 32)
                return -EIO;
        memcpy(sig, "sha256=", 7);
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
        return 0;
}

/* The URL as errors show it: without user:password@ nor the query, which may carry a token. */
static void shown_url(const char *url, char *buf, size_t size) {
        const char *scheme = strstr(url, "://"), *host = scheme ? scheme + 3 : url;
        size_t auth = strcspn(host, "@/?#");
        if (host[auth] == '@')
                host += auth + 1;
        snprintf(buf, size, "%.*s%.*s", scheme ? (int) (scheme + 3 - url) : 0, url, (int) strcspn(host, "?#"), host);
}

enum sink_outcome webhook_post(const struct config *cfg, const char *kind, const char *key, const char *body,
                               size_t len, struct sink_result *res) {
        const char *url = config_string(cfg, CONF_WEBHOOK_URL);
        char *secret = NULL, err[512] = "", sig[72], h_sig[96], h_event[64], h_key[600];
        struct httpcall_answer an;

        res->unclear = false;
        if (!*url) {
                snprintf(res->error, sizeof res->error, "webhook: webhook.url is not set");
                return res->outcome = SINK_REJECTED;
        }
        int r = sink_secret(config_string(cfg, CONF_WEBHOOK_SECRET_FILE), "HOTKDUMP_WEBHOOK_SECRET", &secret, err,
                            sizeof err);
        if (r < 0) {
                snprintf(res->error, sizeof res->error, "webhook: %s", err);
                return res->outcome = SINK_RETRY;
        }
        snprintf(h_event, sizeof h_event, "X-Hotkdump-Event: %s", kind);
        snprintf(h_key, sizeof h_key, "X-Hotkdump-Delivery: %s", key);
        const char *headers[] = { "Content-Type: application/json", h_event, h_key, NULL, NULL };
        if (secret) {
                r = webhook_signature(secret, body, len, sig);
                explicit_bzero(secret, strlen(secret));
                free(secret);
                if (r < 0) {
                        snprintf(res->error, sizeof res->error, "webhook: cannot sign the body");
                        return res->outcome = SINK_RETRY;
                }
                snprintf(h_sig, sizeof h_sig, "X-Hotkdump-Signature: %s", sig);
                headers[3] = h_sig;
        }
        struct httpcall c = { .method = "POST", .url = url, .headers = headers, .body = body, .body_len = len,
                              .timeout_s = (unsigned) config_u64(cfg, CONF_WEBHOOK_TIMEOUT) };
        r = httpcall_run(&c, &an);
        if (r == 0 && an.status >= 200 && an.status <= 299) {
                httpcall_answer_clear(&an);
                return res->outcome = SINK_SENT;
        }
        char shown[512];
        shown_url(url, shown, sizeof shown);
        if (r < 0)
                snprintf(res->error, sizeof res->error, "webhook: %s: no answer: %s", shown, an.error);
        else
                snprintf(res->error, sizeof res->error, "webhook: %s: HTTP %ld%s%.200s", shown, an.status,
                         an.len ? ": " : "", an.len ? an.body : "");
        for (char *p = res->error; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        res->outcome = r < 0 || httpcall_transient(an.status) ? SINK_RETRY : SINK_REJECTED;
        res->unclear = res->outcome == SINK_RETRY && an.sent;
        res->retry_after_s = an.retry_after_s;
        httpcall_answer_clear(&an);
        return res->outcome;
}
