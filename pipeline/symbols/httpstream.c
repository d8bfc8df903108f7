/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HTTP downloads as pull streams, through libcurl's multi interface: the write callback pauses
 * the transfer when our buffer is full, the reader unpauses it when it wants more. */

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "pipeline/symbols/httpstream.h"
#include "casefolder/job.h"
#include "pipeline/progress.h"

#define BUF_MAX (4u << 20)

struct httpstream {
        char *url;
        struct httpstream_opts o;
        struct job *job;
        CURLM *multi;
        CURL *easy;
        char *buf;
        size_t len, pos;      /* buf[pos..len) not yet read */
        uint64_t delivered;   /* bytes handed to the reader, over all attempts */
        uint64_t received;    /* bytes of the current attempt, from its start offset */
        uint64_t start;       /* offset the current attempt started at */
        bool running, paused, finished;
        unsigned attempt;
        struct timespec last_data;
        char error[CURL_ERROR_SIZE + 128];
        char curl_err[CURL_ERROR_SIZE];
        struct progress progress;
        bool progress_ended;
};

/* the reason the download failed, in s->error */
#define set_error(s, ...) (void) log_reason((s)->error, sizeof (s)->error, 0, __VA_ARGS__)

static uint64_t ms_since(const struct timespec *a) {
        struct timespec now = clock_now();
        double s = clock_seconds(a, &now);
        return s > 0 ? (uint64_t) (s * 1000) : 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata) {
        struct httpstream *s = userdata;
        size_t n = size * nmemb;
        if (s->pos > 0 && s->pos == s->len)
                s->pos = s->len = 0;
        if (s->len + n > BUF_MAX) {
                if (s->pos > 0) { /* make room by moving the unread part down */
                        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
                        s->len -= s->pos;
                        s->pos = 0;
                }
                if (s->len + n > BUF_MAX) {
                        s->paused = true;
                        return CURL_WRITEFUNC_PAUSE;
                }
        }
        if (s->start + s->received + n > s->o.max_bytes) {
                set_error(s, "larger than the %llu bytes allowed", (unsigned long long) s->o.max_bytes);
                return 0;
        }
        memcpy(s->buf + s->len, data, n);
        s->len += n;
        s->received += n;
        s->last_data = clock_now();
        curl_off_t length = -1;
        curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        progress_update(&s->progress, s->start + s->received, length > 0 ? s->start + (uint64_t) length : 0, NULL);
        return n;
}

static int start_attempt(struct httpstream *s) {
        if (s->easy) {
                curl_multi_remove_handle(s->multi, s->easy);
                curl_easy_cleanup(s->easy);
        }
        s->easy = curl_easy_init();
        if (!s->easy)
                return -ENOMEM;
        /* everything buffered but unread is dropped and asked for again */
        s->start = s->delivered;
        s->received = 0;
        s->len = s->pos = 0;
        s->paused = false;
        curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
        curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(s->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(s->easy, CURLOPT_MAXREDIRS, (long) s->o.max_redirects);
        curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT, (long) s->o.connect_timeout_s);
        curl_easy_setopt(s->easy, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(s->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) s->start);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
        curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "hotkdump/" PACKAGE_VERSION);
        if (s->o.bearer) {
                curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
                curl_easy_setopt(s->easy, CURLOPT_XOAUTH2_BEARER, s->o.bearer);
        }
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, 512L * 1024);
        s->curl_err[0] = 0;
        s->last_data = clock_now();
        if (s->start)
                job_say(s->job, "resuming '%s' at byte %llu", s->url, (unsigned long long) s->start);
        if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
                return -ENOMEM;
        s->running = true;
        return 0;
}

int httpstream_open(const char *url, const struct httpstream_opts *o, struct job *log, struct httpstream **ret) {
        struct httpstream *s = calloc(1, sizeof *s);
        if (!s || !(s->url = strdup(url)) || !(s->buf = malloc(BUF_MAX)) || !(s->multi = curl_multi_init())) {
                httpstream_free(s);
                return -ENOMEM;
        }
        s->o = *o;
        s->job = log;
        const char *name = strrchr(url, '/');
        progress_init(&s->progress, log, "download", PROGRESS_BYTES, 0);
        snprintf(s->progress.item, sizeof s->progress.item, "%s", name && name[1] ? name + 1 : url);
        int r = start_attempt(s);
        if (r < 0) {
                httpstream_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct httpstream *httpstream_free(struct httpstream *s) {
        if (!s)
                return NULL;
        if (s->easy) {
                curl_multi_remove_handle(s->multi, s->easy);
                curl_easy_cleanup(s->easy);
        }
        if (s->multi)
                curl_multi_cleanup(s->multi);
        free(s->buf);
        free(s->url);
        free(s);
        return NULL;
}

/* The transfer ended: done, or retry, or give up. */
static int finished(struct httpstream *s, CURLcode c) {
        long http = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
        s->running = false;
        if (c == CURLE_OK) {
                s->finished = true;
                return 0;
        }
        if (s->error[0] && c == CURLE_WRITE_ERROR)
                return -EFBIG;
        if (c == CURLE_HTTP_RETURNED_ERROR && (http == 404 || http == 410)) {
                set_error(s, "HTTP %ld", http);
                return -ENOENT;
        }
        bool retry = c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE ||
                     c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
                     c == CURLE_ABORTED_BY_CALLBACK || c == CURLE_RANGE_ERROR ||
                     (c == CURLE_HTTP_RETURNED_ERROR && (http >= 500 || http == 429 || http == 408));
        if (c == CURLE_RANGE_ERROR && s->delivered > 0) {
                /* what was read is gone into the reader: we cannot start over under it */
                set_error(s, "cut after %llu bytes and the server cannot resume", (unsigned long long) s->delivered);
                return -EIO;
        }
        char what[CURL_ERROR_SIZE + 32];
        if (c == CURLE_HTTP_RETURNED_ERROR)
                snprintf(what, sizeof what, "HTTP %ld", http);
        else
                snprintf(what, sizeof what, "%s", s->curl_err[0] ? s->curl_err : curl_easy_strerror(c));
        if (!retry || s->attempt >= s->o.retries) {
                set_error(s, "%s%s", what, retry ? " (no retries left)" : "");
                return -EIO;
        }
        s->attempt++;
        uint64_t wait = (uint64_t) s->o.backoff_ms << (s->attempt - 1 < 10 ? s->attempt - 1 : 10);
        job_say(s->job, "download of '%s' failed: %s; retry %u of %u in %.1f s", s->url, what, s->attempt, s->o.retries,
            (double) wait / 1000.0);
        struct timespec ts = { (time_t) (wait / 1000), (long) (wait % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        return start_attempt(s);
}

ssize_t httpstream_read(struct httpstream *s, void *buf, size_t len) {
        for (;;) {
                if (s->pos < s->len) {
                        size_t n = s->len - s->pos < len ? s->len - s->pos : len;
                        memcpy(buf, s->buf + s->pos, n);
                        s->pos += n;
                        s->delivered += n;
                        return (ssize_t) n;
                }
                if (s->finished) {
                        if (!s->progress_ended) {
                                s->progress_ended = true;
                                progress_done(&s->progress, s->start + s->received);
                        }
                        return 0;
                }
                if (!s->running)
                        return -EIO;
                if (s->paused) {
                        s->paused = false;
                        curl_easy_pause(s->easy, CURLPAUSE_CONT);
                }
                int still = 0;
                if (curl_multi_perform(s->multi, &still) != CURLM_OK) {
                        set_error(s, "transfer failed");
                        return -EIO;
                }
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(s->multi, &left)))
                        if (m->msg == CURLMSG_DONE) {
                                int r = finished(s, m->data.result);
                                if (r < 0)
                                        return r;
                        }
                if (s->pos < s->len || s->finished)
                        continue;
                if (s->running && !s->paused && ms_since(&s->last_data) >= (uint64_t) s->o.stall_timeout_s * 1000) {
                        char msg[64];
                        snprintf(msg, sizeof msg, "no data for %u s", s->o.stall_timeout_s);
                        snprintf(s->curl_err, sizeof s->curl_err, "%s", msg);
                        int r = finished(s, CURLE_OPERATION_TIMEDOUT);
                        if (r < 0)
                                return r;
                        continue;
                }
                curl_multi_poll(s->multi, NULL, 0, 200, NULL);
        }
}

const char *httpstream_error(const struct httpstream *s) {
        return s->error;
}

uint64_t httpstream_bytes(const struct httpstream *s) {
        return s->delivered;
}
