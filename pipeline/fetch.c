/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fetch stage: local files and http(s) downloads into <job>/input/.
 * A download is written to NAME.part and renamed only when whole and verified. */

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/netpolicy.h"
#include "common/shown.h"
#include "pipeline/fetch.h"
#include "casefolder/job.h"
#include "pipeline/progress.h"

int fetch_is_url(const char *s) {
        const char *p = s;
        if (!isalpha((unsigned char) *p))
                return 0;
        while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
                p++;
        return p[0] == ':' && p[1] == '/' && p[2] == '/';
}

/* A file name safe to create: the last path component, without control characters. */
static void safe_name(const char *in, size_t len, char *out, size_t size) {
        size_t o = 0;
        for (size_t i = 0; i < len && o + 1 < size; i++) {
                unsigned char c = (unsigned char) in[i];
                out[o++] = (isalnum(c) || c == '.' || c == '-' || c == '_' || c == '+') ? (char) c : '_';
        }
        out[o] = 0;
        if (o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
                snprintf(out, size, "upload");
}

static void name_from_source(const char *source, bool url, char *out, size_t size) {
        const char *end = source + strlen(source);
        if (url) {
                const char *q = strpbrk(source, "?#");
                if (q)
                        end = q;
        }
        while (end > source && end[-1] == '/')
                end--;
        const char *start = end;
        while (start > source && start[-1] != '/')
                start--;
        if (url && start <= strstr(source, "://") + 3)
                start = end; /* a bare host: no name in the URL */
        safe_name(start, (size_t) (end - start), out, size);
}

static int sha256_file(const char *path, char hex[65]) {
        unsigned char md[32], buf[1 << 16];
        unsigned int mdlen = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
        if (fd < 0)
                return -errno;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(ctx, buf, (size_t) n);
        }
        EVP_DigestFinal_ex(ctx, md, &mdlen);
        for (unsigned i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
out:
        EVP_MD_CTX_free(ctx);
        close(fd);
        return r;
}

static int verify(struct job *j, const struct fetch_request *req, const char *path, char *err, size_t err_size) {
        struct stat st;
        if (stat(path, &st) < 0)
                return log_reason(err, err_size, -errno, "'%s': %s", path, strerror(errno));
        if (req->expected_size && (uint64_t) st.st_size != req->expected_size)
                return log_reason(err, err_size, -EBADMSG, "'%s' is %lld bytes, expected %llu", req->source,
                            (long long) st.st_size, (unsigned long long) req->expected_size);
        if (req->sha256) {
                char hex[65];
                int r = sha256_file(path, hex);
                if (r < 0)
                        return log_reason(err, err_size, r, "cannot read '%s' back: %s", path, strerror(-r));
                if (strcasecmp(hex, req->sha256) != 0)
                        return log_reason(err, err_size, -EBADMSG, "'%s' has sha256 %s, expected %s", req->source, hex,
                                    req->sha256);
                job_log(j, "sha256 %s verified", hex);
        }
        return 0;
}

static void copy_progress(uint64_t done, uint64_t total, void *userdata) {
        progress_update(userdata, done, total, NULL);
}

/* Checks and links or copies the very file opened, so that a symbolic link or a file swapped
 * after the check can never bring anything else in. */
/* Opens path, which must be under the folder within, one part at a time from within, none of
 * them followed if it is a link: -ELOOP when a part is a link (or, with a link in place of a
 * folder, not a folder), -EACCES when path is not under within. */
static int open_within(const char *within, const char *path) {
        size_t n = strlen(within);
        while (n > 1 && within[n - 1] == '/')
                n--;
        if (strncmp(path, within, n) != 0 || (path[n] != '/' && n > 1))
                return -EACCES;
        int dir = open(within, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the configured folder itself may be a link */
        if (dir < 0)
                return -errno;
        const char *p = path + n;
        for (;;) {
                p += strspn(p, "/");
                size_t len = strcspn(p, "/");
                char name[NAME_MAX + 1];
                if (len == 0 || len > NAME_MAX || (len == 2 && !strncmp(p, "..", 2)) || (len == 1 && *p == '.')) {
                        close(dir);
                        return -EACCES;
                }
                memcpy(name, p, len);
                name[len] = 0;
                p += len;
                bool last = p[strspn(p, "/")] == 0;
                int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK | O_NOCTTY : O_DIRECTORY));
                int e = errno;
                close(dir);
                if (fd < 0)
                        return e == ENOTDIR && !last ? -ELOOP : -e;
                if (last)
                        return fd;
                dir = fd;
        }
}

static int fetch_local(struct job *j, const struct fetch_request *req, const char *dest, char *err, size_t err_size) {
        const struct config *cfg = job_config(j);
        struct stat st;
        char fdpath[64], part[PATH_MAX + 8];
        int in, out, r;

        if (req->within) {
                in = open_within(req->within, req->source);
                if (in == -ELOOP || in == -EACCES)
                        return log_reason(err, err_size, -EPERM,
                                          "'%s': a part of the path has become a symbolic link since it was queued "
                                          "(or leads out of '%s'): refused",
                                          req->source, req->within);
                if (in < 0) {
                        errno = -in;
                        in = -1;
                }
        } else
                in = open(req->source, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (req->no_follow ? O_NOFOLLOW : 0));
        if (in < 0 && errno == ELOOP && req->no_follow)
                return log_reason(err, err_size, -EPERM, "'%s' has become a symbolic link since it was queued: refused",
                                  req->source);
        if (in < 0)
                return log_reason(err, err_size, -errno, "cannot read '%s': %s", req->source, strerror(errno));
        if (fstat(in, &st) < 0) {
                r = log_reason(err, err_size, -errno, "cannot read '%s': %s", req->source, strerror(errno));
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = log_reason(err, err_size, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "'%s' is not a regular file",
                         req->source);
                goto out;
        }
        if ((uint64_t) st.st_size > config_u64(cfg, CONF_FETCH_MAX_BYTES)) {
                r = log_reason(err, err_size, -EFBIG, "'%s' is %lld bytes, over fetch.max_bytes (%llu)", req->source,
                         (long long) st.st_size, (unsigned long long) config_u64(cfg, CONF_FETCH_MAX_BYTES));
                goto out;
        }
        /* The stage runs again until its result is recorded, so what a run cut short (kill -9,
         * SIGTERM, a power cut) left in input/ is its own: a link made before the record is the
         * source itself and is kept; a copy (whole or .part) is discarded and made again. */
        struct stat was;
        snprintf(part, sizeof part, "%s.part", dest);
        if (lstat(dest, &was) == 0) {
                if (S_ISREG(was.st_mode) && was.st_dev == st.st_dev && was.st_ino == st.st_ino) {
                        job_log(j, "'%s' was linked before a restart: kept", req->source);
                        r = 0;
                        goto out;
                }
                if (unlink(dest) < 0) {
                        r = log_reason(err, err_size, -errno, "cannot remove '%s', left by a run cut short: %s", dest,
                                       strerror(errno));
                        goto out;
                }
                job_log(j, "a copy left by a run cut short: '%s' removed, made again", dest);
        }
        if (unlink(part) == 0)
                job_log(j, "a copy cut short: '%s' removed, made again", part);
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", in);
        if (linkat(AT_FDCWD, fdpath, AT_FDCWD, dest, AT_SYMLINK_FOLLOW) == 0) {
                job_log(j, "linked '%s' (%lld bytes, same filesystem)", req->source, (long long) st.st_size);
                r = 0;
                goto out;
        }
        if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOENT) {
                r = log_reason(err, err_size, -errno, "cannot link '%s' into the job: %s", req->source, strerror(errno));
                goto out;
        }
        out = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) {
                r = log_reason(err, err_size, -errno, "cannot create '%s': %s", part, strerror(errno));
                goto out;
        }
        struct progress p;
        progress_init(&p, j, "copy", PROGRESS_BYTES, 0);
        int64_t n = copy_fd_sparse(in, out, config_u64(cfg, CONF_FETCH_MAX_BYTES), copy_progress, &p);
        r = n < 0 ? (int) n : 0;
        if (r == 0 && fsync(out) < 0)
                r = -errno;
        if (close(out) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(part, dest) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(part); /* a .part file is never taken for a whole one */
                r = log_reason(err, err_size, r, "cannot copy '%s': %s", req->source, strerror(-r));
                goto out;
        }
        progress_done(&p, (uint64_t) n);
out:
        close(in);
        return r;
}

struct transfer {
        struct job *job;
        int fd;
        uint64_t resume_from, written, max;
        bool too_big;
        bool stalled;
        int write_errno;
        uint64_t stall_ms, last_bytes;
        struct timespec last_data;
        struct progress progress;
        CURL *curl;
        const struct netpolicy *policy;
        char refused[256]; /* why a connection was not made (fetch.deny, fetch.allow) */
};

int fetch_check_config(const struct config *cfg, char *err, size_t err_size) {
        struct netpolicy p;
        return netpolicy_parse(config_string(cfg, CONF_FETCH_DENY), config_string(cfg, CONF_FETCH_ALLOW), &p, err, err_size);
}

/* Every connection libcurl makes, to the first address and after each redirect, once the name
 * is resolved: refused unless the policy allows its address. */
static curl_socket_t open_checked(void *userdata, curlsocktype purpose, struct curl_sockaddr *a) {
        struct transfer *t = userdata;
        (void) purpose;
        if (!netpolicy_allows(t->policy, &a->addr, t->refused, sizeof t->refused))
                return CURL_SOCKET_BAD;
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata) {
        struct transfer *t = userdata;
        size_t n = size * nmemb;

        if (t->resume_from + t->written + n > t->max) {
                t->too_big = true;
                return 0;
        }
        const char *p = data;
        size_t left = n;
        while (left > 0) {
                ssize_t w = write(t->fd, p, left);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        t->write_errno = errno;
                        return 0;
                }
                p += w;
                left -= (size_t) w;
        }
        t->written += n;
        return n;
}

static uint64_t ms_since(const struct timespec *a) {
        struct timespec now = clock_now();
        double s = clock_seconds(a, &now);
        return s > 0 ? (uint64_t) (s * 1000) : 0;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        struct transfer *t = userdata;
        (void) ultotal;
        (void) ulnow;
        /* A stall is time without a single byte, measured here: curl's own low-speed check
         * averages over a window and reacts seconds later than configured. */
        if ((uint64_t) dlnow != t->last_bytes) {
                t->last_bytes = (uint64_t) dlnow;
                t->last_data = clock_now();
        } else if (ms_since(&t->last_data) >= t->stall_ms) {
                t->stalled = true;
                return 1;
        }
        if (dlnow > 0)
                progress_update(&t->progress, t->resume_from + (uint64_t) dlnow,
                                dltotal > 0 ? t->resume_from + (uint64_t) dltotal : 0, NULL);
        return 0;
}

static bool retryable(CURLcode c, long http) {
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        case CURLE_HTTP_RETURNED_ERROR:
                return http >= 500 || http == 429 || http == 408;
        default:
                return false;
        }
}

static int fetch_url(struct job *j, const struct fetch_request *req, const char *dest, char *err, size_t err_size) {
        const struct config *cfg = job_config(j);
        char part[PATH_MAX + 8], curl_err[CURL_ERROR_SIZE] = "";
        struct transfer t = { .job = j, .max = config_u64(cfg, CONF_FETCH_MAX_BYTES) };
        uint64_t backoff = config_u64(cfg, CONF_FETCH_BACKOFF) * 1000;
        unsigned retries = (unsigned) config_u64(cfg, CONF_FETCH_RETRIES);
        int r = 0;

        if (strncasecmp(req->source, "http://", 7) != 0 && strncasecmp(req->source, "https://", 8) != 0)
                return log_reason(err, err_size, -EPROTONOSUPPORT, "only http:// and https:// URLs are fetched");
        struct netpolicy policy;
        char perr[512];
        if (netpolicy_parse(config_string(cfg, CONF_FETCH_DENY), config_string(cfg, CONF_FETCH_ALLOW), &policy, perr,
                            sizeof perr) < 0)
                return log_reason(err, err_size, -EINVAL, "%s", perr);
        t.policy = &policy;
        snprintf(part, sizeof part, "%s.part", dest);
        /* what a run cut short left: NAME appears only by the rename of a whole download (it is
         * verified again after this), and NAME.part is resumed */
        struct stat was;
        if (lstat(dest, &was) == 0 && S_ISREG(was.st_mode)) {
                job_log(j, "'%s' was downloaded whole before a restart: kept", req->source);
                (void) unlink(part); /* a .part beside a whole file is older than it */
                return 0;
        }
        t.fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (t.fd < 0)
                return log_reason(err, err_size, -errno, "cannot create '%s': %s", part, strerror(errno));
        t.curl = curl_easy_init();
        if (!t.curl) {
                close(t.fd);
                (void) unlink(part); /* a .part file is never taken for a whole one */
                return log_reason(err, err_size, -ENOMEM, "cannot start a download");
        }
        progress_init(&t.progress, j, "download", PROGRESS_BYTES, 0);

        for (unsigned attempt = 0;; attempt++) {
                struct stat st;
                long http = 0;
                if (fstat(t.fd, &st) < 0 || lseek(t.fd, 0, SEEK_END) < 0) {
                        r = log_reason(err, err_size, -errno, "'%s': %s", part, strerror(errno));
                        break;
                }
                t.resume_from = (uint64_t) st.st_size;
                t.written = 0;
                t.stalled = false;
                t.last_bytes = 0;
                t.stall_ms = config_u64(cfg, CONF_FETCH_STALL_TIMEOUT) * 1000;
                t.last_data = clock_now();
                if (t.resume_from)
                        job_log(j, "resuming '%s' at byte %llu", req->source, (unsigned long long) t.resume_from);
                else
                        job_log(j, "downloading '%s'", req->source);

                curl_easy_reset(t.curl);
                curl_easy_setopt(t.curl, CURLOPT_URL, req->source);
                curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, (long) config_u64(cfg, CONF_FETCH_MAX_REDIRECTS));
                curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, (long) config_u64(cfg, CONF_FETCH_CONNECT_TIMEOUT));
                curl_easy_setopt(t.curl, CURLOPT_FAILONERROR, 1L);
                curl_easy_setopt(t.curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) t.max);
                curl_easy_setopt(t.curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) t.resume_from);
                curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
                curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
                curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
                curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, curl_err);
                curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "hotkdump/" PACKAGE_VERSION);
                if (req->bearer) {
                        curl_easy_setopt(t.curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
                        curl_easy_setopt(t.curl, CURLOPT_XOAUTH2_BEARER, req->bearer);
                }
                curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(t.curl, CURLOPT_BUFFERSIZE, 512L * 1024);
                curl_easy_setopt(t.curl, CURLOPT_OPENSOCKETFUNCTION, open_checked);
                curl_easy_setopt(t.curl, CURLOPT_OPENSOCKETDATA, &t);
                t.refused[0] = 0;
                curl_err[0] = 0;
                CURLcode c = curl_easy_perform(t.curl);
                curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &http);
                if (c == CURLE_OK)
                        break;
                if (t.refused[0]) {
                        char shown[2048];
                        r = log_reason(err, err_size, -EPERM, "cannot download '%s': %s: refused",
                                       url_redact(req->source, shown, sizeof shown), t.refused);
                        break;
                }
                if (t.write_errno) {
                        r = log_reason(err, err_size, -t.write_errno, "cannot write '%s': %s", part, strerror(t.write_errno));
                        break;
                }
                if (t.too_big || c == CURLE_FILESIZE_EXCEEDED) {
                        r = log_reason(err, err_size, -EFBIG, "'%s' is larger than fetch.max_bytes (%llu)", req->source,
                                 (unsigned long long) t.max);
                        break;
                }
                if (c == CURLE_RANGE_ERROR && t.resume_from) {
                        /* the server cannot resume: start over from the first byte */
                        job_log(j, "server cannot resume at byte %llu: starting over", (unsigned long long) t.resume_from);
                        if (ftruncate(t.fd, 0) < 0) {
                                r = log_reason(err, err_size, -errno, "'%s': %s", part, strerror(errno));
                                break;
                        }
                        continue;
                }
                if (http == 416 && t.resume_from) {
                        /* our part is longer than the file: it changed; start over once */
                        job_log(j, "HTTP 416 resuming at %llu: starting over", (unsigned long long) t.resume_from);
                        if (ftruncate(t.fd, 0) < 0) {
                                r = log_reason(err, err_size, -errno, "'%s': %s", part, strerror(errno));
                                break;
                        }
                        continue;
                }
                char what[CURL_ERROR_SIZE + 64];
                if (t.stalled) {
                        c = CURLE_OPERATION_TIMEDOUT;
                        snprintf(what, sizeof what, "no data for %llu s (fetch.stall_timeout)",
                                 (unsigned long long) config_u64(cfg, CONF_FETCH_STALL_TIMEOUT));
                } else if (c == CURLE_HTTP_RETURNED_ERROR)
                        snprintf(what, sizeof what, "HTTP %ld", http);
                else
                        snprintf(what, sizeof what, "%s", curl_err[0] ? curl_err : curl_easy_strerror(c));
                if (!retryable(c, http) || attempt >= retries) {
                        r = log_reason(err, err_size, c == CURLE_UNSUPPORTED_PROTOCOL ? -EPROTONOSUPPORT : -EIO,
                                 "cannot download: %s%s", what,
                                 retryable(c, http) ? " (no retries left)" : "");
                        break;
                }
                job_log(j, "download of '%s' failed: %s; retry %u of %u in %.1f s", req->source, what, attempt + 1,
                        retries, (double) backoff / 1000.0);
                struct timespec ts = { (time_t) (backoff / 1000), (long) (backoff % 1000) * 1000000 };
                nanosleep(&ts, NULL);
                backoff = backoff * 2 > 600000 ? 600000 : backoff * 2;
        }
        curl_easy_cleanup(t.curl);
        if (r == 0 && fsync(t.fd) < 0)
                r = log_reason(err, err_size, -errno, "cannot write '%s': %s", part, strerror(errno));
        if (close(t.fd) < 0 && r == 0)
                r = log_reason(err, err_size, -errno, "cannot write '%s': %s", part, strerror(errno));
        if (r == 0) {
                struct stat st;
                stat(part, &st);
                progress_done(&t.progress, (uint64_t) st.st_size);
                if (rename(part, dest) < 0)
                        r = log_reason(err, err_size, -errno, "cannot rename '%s': %s", part, strerror(errno));
        }
        if (r < 0)
                (void) unlink(part); /* a .part file is never taken for a whole one */
        return r;
}

int fetch_run(struct job *j, const struct fetch_request *req, char **ret_path, char *err, size_t err_size) {
        char input[PATH_MAX], name[256], dest[PATH_MAX];
        bool url = fetch_is_url(req->source);
        int r;

        if (url && strncasecmp(req->source, "http://", 7) != 0 && strncasecmp(req->source, "https://", 8) != 0)
                return log_reason(err, err_size, -EPROTONOSUPPORT, "only http:// and https:// URLs are fetched");
        snprintf(input, sizeof input, "%s/input", job_dir(j));
        if (mkdir(input, 0755) < 0 && errno != EEXIST)
                return log_reason(err, err_size, -errno, "cannot make '%s': %s", input, strerror(errno));
        if (req->filename)
                safe_name(req->filename, strlen(req->filename), name, sizeof name);
        else
                name_from_source(req->source, url, name, sizeof name);
        if (snprintf(dest, sizeof dest, "%s/%s", input, name) >= (int) sizeof dest)
                return log_reason(err, err_size, -ENAMETOOLONG, "file name too long");

        r = url ? fetch_url(j, req, dest, err, err_size) : fetch_local(j, req, dest, err, err_size);
        if (r == 0) {
                r = verify(j, req, dest, err, err_size);
                if (r < 0)
                        (void) unlink(dest); /* the job fails with the reason either way */
        }
        if (r < 0)
                return r;
        *ret_path = strdup(dest);
        return *ret_path ? 0 : -ENOMEM;
}
