/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared queue on NATS JetStream (queue.backend = nats), through libnats, the NATS
 * maintainers' C client: it reconnects across a cluster's servers, replays what was published
 * while it was away and speaks JetStream's acks and key-value buckets, none of which we would
 * write as well. The stream is a work queue: a job's message stays until the host that ran it
 * acks it; a host renews it while the job runs (in-progress acks), so one that dies loses it
 * after queue.ack_wait and another host gets it. Every decision that two hosts could make at once
 * (take a job, send a post) is a key-value write checked against the revision read before. */

#include <errno.h>
#include <nats/nats.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/shown.h"
#include "daemon/cluster.h"

struct held {
        struct cluster_job job;
        natsMsg *msg;
        json_object *body;     /* the message's request: job.req's strings point into it */
        uint64_t rev;          /* of the job's status, as this host last wrote it */
        int64_t beat_ms;       /* the last renewal */
        unsigned takes;        /* hosts that took this run of the job, this one counted */
        json_object *ending;   /* ended here, its final status not written yet (the servers not
                                * reached): written, then acked, at a later tick */
};

struct cluster {
        char host[128], url[512], version[64];
        unsigned workers;
        char stream[96], subject[96], durable[96];
        int64_t ack_wait_ms, heartbeat_ms, timeout_ms;
        unsigned max_deliver;
        natsOptions *opts;
        natsConnection *nc;
        jsCtx *js;
        jsOptions jso;
        kvStore *uploads, *jobs, *hosts, *posts;
        natsSubscription *sub;
        /* the fetcher thread and what it hands over */
        pthread_t fetcher;
        bool fetcher_on;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        unsigned want;
        bool stop;
        natsMsg **inbox;
        size_t n_inbox, cap_inbox;
        int efd;
        /* the jobs this host holds */
        struct held *held;
        size_t n_held, cap_held;
        int64_t next_host_ms, next_figures_ms;
        struct cluster_figures fig;
        char peers[4096];
        atomic_uint_fast64_t reconnects, disconnects;
};

static int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* libnats' last error, as one line. */
static const char *nats_why(natsStatus s) {
        const char *t = nats_GetLastError(NULL);
        return t && *t ? t : natsStatus_GetText(s);
}

/* A key of a bucket: P + the first 32 hex digits of the SHA-256 of the parts (keys take a
 * few characters only; case numbers, file names and job ids may hold any). */
static void hashed_key(char *buf, size_t size, const char *prefix, const char *const *parts, size_t n) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                for (size_t i = 0; i < n; i++)
                        EVP_DigestUpdate(ctx, parts[i] ? parts[i] : "", strlen(parts[i] ? parts[i] : "") + 1);
                EVP_DigestFinal_ex(ctx, md, &len);
        }
        EVP_MD_CTX_free(ctx);
        size_t o = (size_t) snprintf(buf, size, "%s", prefix);
        for (unsigned i = 0; i < 16 && i < len && o + 2 < size; i++)
                o += (size_t) snprintf(buf + o, size - o, "%02x", md[i]);
}

static void job_key(char *buf, size_t size, const char *id) {
        const char *parts[] = { id };
        hashed_key(buf, size, "j.", parts, 1);
}

/* A bucket's entry as JSON, and its revision; -ENOENT when there is none. */
static int kv_get_json(kvStore *kv, const char *key, json_object **ret, uint64_t *ret_rev) {
        kvEntry *e = NULL;
        natsStatus s = kvStore_Get(&e, kv, key);
        *ret = NULL;
        if (s == NATS_NOT_FOUND)
                return -ENOENT;
        if (s != NATS_OK)
                return -EIO;
        int len = kvEntry_ValueLen(e);
        json_tokener *tok = json_tokener_new();
        *ret = tok && len > 0 ? json_tokener_parse_ex(tok, kvEntry_Value(e), len) : NULL;
        json_tokener_free(tok);
        if (ret_rev)
                *ret_rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        return *ret ? 0 : -EBADMSG;
}

static const char *json_text(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Writes a key: expecting revision rev (0: the key must not exist). *ret_rev: the new one. */
static int kv_write(kvStore *kv, const char *key, json_object *o, uint64_t rev, uint64_t *ret_rev) {
        const char *t = json_text(o);
        uint64_t nr = 0;
        natsStatus s = rev ? kvStore_Update(&nr, kv, key, t, (int) strlen(t), rev) : kvStore_Create(&nr, kv, key, t, (int) strlen(t));
        if (s != NATS_OK)
                return -EEXIST; /* another host wrote it first (or the servers were not reached) */
        if (ret_rev)
                *ret_rev = nr;
        return 0;
}

static int kv_put(kvStore *kv, const char *key, json_object *o) {
        const char *t = json_text(o);
        return kvStore_Put(NULL, kv, key, t, (int) strlen(t)) == NATS_OK ? 0 : -EIO;
}

/* ---- connecting ------------------------------------------------------------------------------ */

static void on_disconnected(natsConnection *nc, void *ud) {
        struct cluster *c = ud;
        (void) nc;
        atomic_fetch_add(&c->disconnects, 1);
}

static void on_reconnected(natsConnection *nc, void *ud) {
        struct cluster *c = ud;
        char url[256] = "";
        atomic_fetch_add(&c->reconnects, 1);
        natsConnection_GetConnectedUrl(nc, url, sizeof url);
        log_info("queue: reconnected to %s", url);
}

static int open_bucket(struct cluster *c, const struct config *cfg, const char *what, int64_t ttl_ms, kvStore **ret,
                       char *err, size_t err_size) {
        char name[128];
        snprintf(name, sizeof name, "%s-%s", config_string(cfg, CONF_QUEUE_NAME), what);
        for (int attempt = 0; attempt < 2; attempt++) {
                natsStatus s = js_KeyValue(ret, c->js, name);
                if (s == NATS_OK)
                        return 0;
                kvConfig kc;
                kvConfig_Init(&kc);
                kc.Bucket = name;
                kc.History = 1;
                kc.TTL = ttl_ms * 1000000; /* nanoseconds */
                kc.Replicas = (int) config_u64(cfg, CONF_QUEUE_REPLICAS);
                kc.StorageType = js_FileStorage;
                s = js_CreateKeyValue(ret, c->js, &kc);
                if (s == NATS_OK)
                        return 0;
                snprintf(err, err_size, "queue: cannot open the bucket %s: %s", name, nats_why(s));
        }
        return -EIO;
}

static bool name_ok(const char *s) {
        if (!*s || strlen(s) > 48)
                return false;
        for (; *s; s++)
                if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_')
                        return false;
        return true;
}

static int make_stream(struct cluster *c, const struct config *cfg, char *err, size_t err_size) {
        jsStreamConfig sc;
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        const char *subjects[] = { c->subject };
        jsStreamConfig_Init(&sc);
        sc.Name = c->stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Retention = js_WorkQueuePolicy;
        sc.Storage = js_FileStorage;
        sc.Replicas = (int64_t) config_u64(cfg, CONF_QUEUE_REPLICAS);
        sc.Duplicates = (int64_t) config_u64(cfg, CONF_QUEUE_DUPLICATE_WINDOW) * 1000000000;
        natsStatus s = js_GetStreamInfo(&si, c->js, c->stream, &c->jso, &jerr);
        if (s == NATS_NOT_FOUND)
                s = js_AddStream(&si, c->js, &sc, &c->jso, &jerr);
        else if (s == NATS_OK) {
                jsStreamInfo_Destroy(si);
                si = NULL;
                s = js_UpdateStream(&si, c->js, &sc, &c->jso, &jerr);
                if (s != NATS_OK) /* a replica count a cluster cannot change, say: the stream as it is serves */
                        log_warning("queue: the stream %s keeps its settings: %s", c->stream, nats_why(s)), s = NATS_OK;
        }
        jsStreamInfo_Destroy(si);
        if (s != NATS_OK) {
                snprintf(err, err_size, "queue: cannot make the stream %s: %s", c->stream, nats_why(s));
                return -EIO;
        }
        jsConsumerConfig cc;
        jsConsumerInfo *ci = NULL;
        jsConsumerConfig_Init(&cc);
        cc.Durable = c->durable;
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = c->ack_wait_ms * 1000000;
        cc.MaxDeliver = -1; /* counted here: the last delivery fails the job with the reason */
        cc.MaxAckPending = 100000;
        cc.FilterSubject = c->subject;
        s = js_GetConsumerInfo(&ci, c->js, c->stream, c->durable, &c->jso, &jerr);
        if (s == NATS_NOT_FOUND)
                s = js_AddConsumer(&ci, c->js, c->stream, &cc, &c->jso, &jerr);
        else if (s == NATS_OK) {
                jsConsumerInfo_Destroy(ci);
                ci = NULL;
                s = js_UpdateConsumer(&ci, c->js, c->stream, &cc, &c->jso, &jerr);
                if (s != NATS_OK)
                        log_warning("queue: the consumer %s keeps its settings: %s", c->durable, nats_why(s)), s = NATS_OK;
        }
        jsConsumerInfo_Destroy(ci);
        if (s != NATS_OK) {
                snprintf(err, err_size, "queue: cannot make the consumer %s: %s", c->durable, nats_why(s));
                return -EIO;
        }
        return 0;
}

static void *fetcher_main(void *arg);
static void held_drop(struct cluster *c, struct held *h);

int cluster_open(const struct config *cfg, const struct cluster_self *self, struct cluster **ret, char *err,
                 size_t err_size) {
        const char *name = config_string(cfg, CONF_QUEUE_NAME);
        if (!name_ok(name)) {
                snprintf(err, err_size, "queue.name '%s': letters, digits, - and _ only (at most 48)", name);
                return -EINVAL;
        }
        if (config_u64(cfg, CONF_QUEUE_HEARTBEAT) * 2 > config_u64(cfg, CONF_QUEUE_ACK_WAIT)) {
                snprintf(err, err_size, "queue.heartbeat (%llu s) must be at most half of queue.ack_wait (%llu s)",
                         (unsigned long long) config_u64(cfg, CONF_QUEUE_HEARTBEAT),
                         (unsigned long long) config_u64(cfg, CONF_QUEUE_ACK_WAIT));
                return -EINVAL;
        }
        struct cluster *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->efd = -1;
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        snprintf(c->host, sizeof c->host, "%s", self->host);
        snprintf(c->url, sizeof c->url, "%s", self->url);
        snprintf(c->version, sizeof c->version, "%s", self->version);
        c->workers = self->workers;
        snprintf(c->stream, sizeof c->stream, "%s-jobs", name);
        snprintf(c->subject, sizeof c->subject, "%s.jobs", name);
        snprintf(c->durable, sizeof c->durable, "%s-workers", name);
        c->ack_wait_ms = (int64_t) config_u64(cfg, CONF_QUEUE_ACK_WAIT) * 1000;
        c->heartbeat_ms = (int64_t) config_u64(cfg, CONF_QUEUE_HEARTBEAT) * 1000;
        c->timeout_ms = (int64_t) config_u64(cfg, CONF_QUEUE_TIMEOUT) * 1000;
        c->max_deliver = (unsigned) config_u64(cfg, CONF_QUEUE_MAX_DELIVER);

        /* the servers, comma-separated */
        char list[4096];
        const char *urls[32];
        int n = 0;
        snprintf(list, sizeof list, "%s", config_string(cfg, CONF_QUEUE_NATS_URL));
        for (char *save = NULL, *u = strtok_r(list, ", \t", &save); u && n < 32; u = strtok_r(NULL, ", \t", &save))
                urls[n++] = u;
        natsStatus s = n ? natsOptions_Create(&c->opts) : NATS_INVALID_ARG;
        if (s == NATS_OK)
                s = natsOptions_SetServers(c->opts, urls, n);
        if (s == NATS_OK)
                s = natsOptions_SetName(c->opts, c->host);
        if (s == NATS_OK)
                s = natsOptions_SetMaxReconnect(c->opts, -1);
        if (s == NATS_OK)
                s = natsOptions_SetReconnectWait(c->opts, 250);
        if (s == NATS_OK)
                s = natsOptions_SetTimeout(c->opts, c->timeout_ms);
        if (s == NATS_OK)
                s = natsOptions_SetDisconnectedCB(c->opts, on_disconnected, c);
        if (s == NATS_OK)
                s = natsOptions_SetReconnectedCB(c->opts, on_reconnected, c);
        const char *creds = config_string(cfg, CONF_QUEUE_NATS_CREDS), *tokf = config_string(cfg, CONF_QUEUE_NATS_TOKEN_FILE),
                   *ca = config_string(cfg, CONF_QUEUE_NATS_CA);
        if (s == NATS_OK && *creds)
                s = natsOptions_SetUserCredentialsFromFiles(c->opts, creds, NULL);
        if (s == NATS_OK && *tokf) {
                char tok[1024] = "";
                FILE *f = fopen(tokf, "re");
                if (!f || !fgets(tok, sizeof tok, f)) {
                        snprintf(err, err_size, "queue.nats_token_file '%s': %s", tokf, f ? "empty" : strerror(errno));
                        if (f)
                                fclose(f);
                        cluster_free(c);
                        return -EINVAL;
                }
                fclose(f);
                tok[strcspn(tok, "\r\n")] = 0;
                s = natsOptions_SetToken(c->opts, tok);
        }
        if (s == NATS_OK && *ca)
                s = natsOptions_LoadCATrustedCertificates(c->opts, ca);
        if (s != NATS_OK) {
                snprintf(err, err_size, "queue: the NATS settings (queue.nats_url '%s'): %s", config_string(cfg, CONF_QUEUE_NATS_URL),
                         n ? nats_why(s) : "no server");
                cluster_free(c);
                return -EINVAL;
        }
        s = natsConnection_Connect(&c->nc, c->opts);
        if (s != NATS_OK) {
                snprintf(err, err_size, "queue: cannot reach the NATS servers %s: %s", config_string(cfg, CONF_QUEUE_NATS_URL),
                         nats_why(s));
                cluster_free(c);
                return -EHOSTUNREACH;
        }
        jsOptions_Init(&c->jso);
        c->jso.Wait = c->timeout_ms;
        s = natsConnection_JetStream(&c->js, c->nc, &c->jso);
        int r = s == NATS_OK ? 0 : -EIO;
        if (r < 0)
                snprintf(err, err_size, "queue: JetStream: %s", nats_why(s));
        if (r == 0)
                r = make_stream(c, cfg, err, err_size);
        if (r == 0)
                r = open_bucket(c, cfg, "uploads", 0, &c->uploads, err, err_size);
        if (r == 0)
                r = open_bucket(c, cfg, "jobs", 0, &c->jobs, err, err_size);
        if (r == 0)
                r = open_bucket(c, cfg, "hosts", 3 * c->heartbeat_ms < 3000 ? 3000 : 3 * c->heartbeat_ms, &c->hosts, err, err_size);
        if (r == 0)
                r = open_bucket(c, cfg, "posts", 0, &c->posts, err, err_size);
        if (r == 0 && c->workers > 0) {
                jsSubOptions so;
                jsErrCode jerr = 0;
                jsSubOptions_Init(&so);
                so.Stream = c->stream;
                so.Consumer = c->durable;
                so.ManualAck = true;
                s = js_PullSubscribe(&c->sub, c->js, c->subject, c->durable, &c->jso, &so, &jerr);
                if (s != NATS_OK) {
                        snprintf(err, err_size, "queue: cannot pull from %s: %s", c->stream, nats_why(s));
                        r = -EIO;
                }
        }
        if (r == 0) {
                c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
                r = c->efd < 0 ? -errno : 0;
        }
        if (r == 0 && c->sub) {
                r = -pthread_create(&c->fetcher, NULL, fetcher_main, c);
                c->fetcher_on = r == 0;
        }
        if (r < 0) {
                if (!err[0])
                        snprintf(err, err_size, "queue: %s", strerror(-r));
                cluster_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

struct cluster *cluster_free(struct cluster *c) {
        if (!c)
                return NULL;
        if (c->fetcher_on) {
                pthread_mutex_lock(&c->mu);
                c->stop = true;
                pthread_cond_signal(&c->cv);
                pthread_mutex_unlock(&c->mu);
                pthread_join(c->fetcher, NULL);
        }
        /* what this host took and did not end goes back to the others now, not after ack_wait */
        for (size_t i = 0; i < c->n_inbox; i++) {
                natsMsg_Nak(c->inbox[i], &c->jso);
                natsMsg_Destroy(c->inbox[i]);
        }
        free(c->inbox);
        while (c->n_held) {
                char id[96];
                snprintf(id, sizeof id, "%s", c->held[0].job.id);
                if (c->held[0].ending)
                        held_drop(c, &c->held[0]); /* its end not written: handed out again, settled there */
                else
                        cluster_release(c, id);
        }
        free(c->held);
        natsSubscription_Destroy(c->sub);
        kvStore_Destroy(c->uploads);
        kvStore_Destroy(c->jobs);
        kvStore_Destroy(c->hosts);
        kvStore_Destroy(c->posts);
        jsCtx_Destroy(c->js);
        if (c->nc) {
                natsConnection_FlushTimeout(c->nc, 1000);
                natsConnection_Destroy(c->nc);
        }
        natsOptions_Destroy(c->opts);
        if (c->efd >= 0)
                close(c->efd);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return NULL;
}

int cluster_fd(const struct cluster *c) {
        return c->efd;
}

const char *cluster_host(const struct cluster *c) {
        return c->host;
}

/* ---- the fetcher: one long poll at a time, for as many jobs as the loop can start ------------- */

static void *fetcher_main(void *arg) {
        struct cluster *c = arg;
        for (;;) {
                pthread_mutex_lock(&c->mu);
                while (!c->stop && c->want == 0)
                        pthread_cond_wait(&c->cv, &c->mu);
                bool stop = c->stop;
                int want = (int) c->want;
                pthread_mutex_unlock(&c->mu);
                if (stop)
                        break;
                natsMsgList list = { 0 };
                jsErrCode jerr = 0;
                natsStatus s = natsSubscription_Fetch(&list, c->sub, want, 1000, &jerr);
                if (s == NATS_OK && list.Count > 0) {
                        pthread_mutex_lock(&c->mu);
                        for (int i = 0; i < list.Count; i++) {
                                if (c->n_inbox == c->cap_inbox) {
                                        size_t cap = c->cap_inbox ? c->cap_inbox * 2 : 16;
                                        natsMsg **v = realloc(c->inbox, cap * sizeof *v);
                                        if (!v)
                                                break; /* left unacked: redelivered */
                                        c->inbox = v;
                                        c->cap_inbox = cap;
                                }
                                c->inbox[c->n_inbox++] = list.Msgs[i];
                                list.Msgs[i] = NULL;
                                c->want = c->want ? c->want - 1 : 0;
                        }
                        pthread_mutex_unlock(&c->mu);
                        uint64_t one = 1;
                        (void) !write(c->efd, &one, sizeof one);
                } else if (s != NATS_OK && s != NATS_TIMEOUT) {
                        struct timespec ts = { 0, 250000000 }; /* disconnected: the client reconnects meanwhile */
                        nanosleep(&ts, NULL);
                }
                natsMsgList_Destroy(&list);
        }
        return NULL;
}

void cluster_want(struct cluster *c, unsigned n) {
        if (!c->sub)
                return;
        pthread_mutex_lock(&c->mu);
        c->want = n > c->n_inbox ? n - (unsigned) c->n_inbox : 0;
        if (c->want)
                pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
}

/* ---- announcing ------------------------------------------------------------------------------- */

static void base_name(const char *source, char *buf, size_t size) {
        const char *end = source + strcspn(source, "?#");
        const char *p = end;
        while (p > source && p[-1] != '/')
                p--;
        size_t n = (size_t) (end - p);
        if (n == 0 || n >= size)
                snprintf(buf, size, "upload");
        else
                snprintf(buf, size, "%.*s", (int) n, p);
}

static void add_str(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* A queued job as the API shows it, before a host has it. */
static json_object *queued_status(struct cluster *c, const char *id, const struct queue_request *req, const char *name,
                                  unsigned run) {
        json_object *o = json_object_new_object();
        char shown[1024];
        add_str(o, "id", id);
        add_str(o, "case", req->case_id);
        add_str(o, "state", "queued");
        url_redact(req->source, shown, sizeof shown);
        add_str(o, "source", shown);
        add_str(o, "filename", name);
        add_str(o, "trigger", req->trigger ? req->trigger : "unknown");
        json_object_object_add(o, "size", req->size ? json_object_new_int64((int64_t) req->size) : NULL);
        add_str(o, "sha256", req->sha256);
        json_object_object_add(o, "attempts", json_object_new_int(0));
        char when[64], self[160];
        clock_format_utc((int64_t) time(NULL), true, when, sizeof when);
        add_str(o, "created", when);
        add_str(o, "started", NULL);
        add_str(o, "finished", NULL);
        add_str(o, "error", NULL);
        json_object *links = json_object_new_object();
        snprintf(self, sizeof self, "/jobs/%s", id);
        add_str(links, "self", self);
        json_object_object_add(o, "links", links);
        json_object_object_add(o, "run", json_object_new_int((int) run));
        add_str(o, "host", NULL);
        add_str(o, "submitted_by", c->host);
        json_object_object_add(o, "updated_us", json_object_new_int64(now_us()));
        return o;
}

static bool conflicts(json_object *known, const struct queue_request *req) {
        int64_t size = json_int(known, "size", 0);
        const char *sha = json_str(known, "sha256");
        return (size && req->size && (uint64_t) size != req->size) || (sha && req->sha256 && strcasecmp(sha, req->sha256) != 0);
}

static int publish(struct cluster *c, json_object *msg, const char *msg_id, bool *ret_dup, char *err, size_t err_size) {
        jsPubOptions po;
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        const char *t = json_text(msg);
        jsPubOptions_Init(&po);
        po.MsgId = msg_id;
        po.MaxWait = c->timeout_ms;
        natsStatus s = js_Publish(&pa, c->js, c->subject, t, (int) strlen(t), &po, &jerr);
        if (s != NATS_OK) {
                snprintf(err, err_size, "the shared queue did not take the job: %s", nats_why(s));
                return -EIO;
        }
        *ret_dup = pa->Duplicate;
        jsPubAck_Destroy(pa);
        c->fig.published += !*ret_dup;
        c->fig.duplicates += *ret_dup;
        return 0;
}

int cluster_submit(struct cluster *c, const struct queue_request *req, const char *local_url, json_object **ret_status,
                   bool *ret_dup, char *err, size_t err_size) {
        char name[256], key[64], id[96], size_s[32];
        json_object *known = NULL;
        int r;

        *ret_status = NULL;
        *ret_dup = false;
        if (req->filename && *req->filename)
                snprintf(name, sizeof name, "%s", req->filename);
        else
                base_name(req->source, name, sizeof name);
        /* the upload's key: its case and name; a different upload under a known name (another
         * size or checksum) gets the key that counts those too */
        const char *parts[] = { req->case_id, name, size_s, req->sha256 ? req->sha256 : "" };
        snprintf(size_s, sizeof size_s, "%llu", (unsigned long long) req->size);
        hashed_key(key, sizeof key, "u.", parts, 2);
        r = kv_get_json(c->uploads, key, &known, NULL);
        if (r == 0 && conflicts(known, req)) {
                json_object_put(known);
                known = NULL;
                hashed_key(key, sizeof key, "u.", parts, 4);
                r = kv_get_json(c->uploads, key, &known, NULL);
        }
        if (r == -EIO) {
                snprintf(err, err_size, "the shared queue's uploads cannot be read: %s", nats_why(NATS_ERR));
                return -EIO;
        }
        if (r == 0 && json_str(known, "id")) {
                /* known: the job it made, as its status says now */
                *ret_dup = true;
                char jk[64];
                job_key(jk, sizeof jk, json_str(known, "id"));
                if (kv_get_json(c->jobs, jk, ret_status, NULL) < 0)
                        *ret_status = queued_status(c, json_str(known, "id"), req, name, 0);
                else
                        json_object_object_del(*ret_status, "request"); /* its source may hold credentials */
                json_object_put(known);
                return 0;
        }
        json_object_put(known);
        /* the id comes from the key: two hosts announcing the upload at once name one job, and
         * JetStream's duplicate window keeps one of their two messages */
        snprintf(id, sizeof id, "%.64s-%.8s", req->case_id, key + 2);
        json_object *status = queued_status(c, id, req, name, 0);
        char jk[64];
        job_key(jk, sizeof jk, id);
        (void) kv_write(c->jobs, jk, status, 0, NULL); /* a host may have taken it already */
        json_object *m = json_object_new_object();
        add_str(m, "id", id);
        add_str(m, "case", req->case_id);
        add_str(m, "source", req->source);
        add_str(m, "url", local_url);
        add_str(m, "filename", name);
        json_object_object_add(m, "size", json_object_new_int64((int64_t) req->size));
        add_str(m, "sha256", req->sha256);
        add_str(m, "trigger", req->trigger ? req->trigger : "unknown");
        add_str(m, "submitted_by", c->host);
        json_object_object_add(m, "run", json_object_new_int(0));
        json_object_object_add(m, "created_us", json_object_new_int64(now_us()));
        r = publish(c, m, key, ret_dup, err, err_size);
        json_object_put(m);
        if (r == 0) {
                json_object *u = json_object_new_object();
                add_str(u, "id", id);
                add_str(u, "case", req->case_id);
                add_str(u, "filename", name);
                json_object_object_add(u, "size", json_object_new_int64((int64_t) req->size));
                add_str(u, "sha256", req->sha256);
                add_str(u, "host", c->host);
                json_object_object_add(u, "created_us", json_object_new_int64(now_us()));
                (void) kv_write(c->uploads, key, u, 0, NULL); /* the other announcer wrote the same */
                json_object_put(u);
        }
        if (r < 0) {
                json_object_put(status);
                return r;
        }
        *ret_status = status;
        return 0;
}

int cluster_retry(struct cluster *c, const char *id, char *err, size_t err_size) {
        char jk[64], msg_id[128];
        json_object *st = NULL;
        uint64_t rev;
        job_key(jk, sizeof jk, id);
        if (kv_get_json(c->jobs, jk, &st, &rev) < 0)
                return -ENOENT;
        const char *state = json_str(st, "state");
        int s = state ? queue_state_from_string(state) : -1;
        if (s < 0 || !queue_state_final((enum queue_state) s) || !json_get(st, "request")) {
                int r = s >= 0 && queue_state_final((enum queue_state) s) ? -ENOENT : -EBUSY;
                json_object_put(st);
                return r;
        }
        unsigned run = (unsigned) json_int(st, "run", 0) + 1;
        json_object *m = json_object_get(json_get(st, "request"));
        json_object_object_add(m, "run", json_object_new_int((int) run));
        snprintf(msg_id, sizeof msg_id, "%s#%u", id, run);
        json_object_object_add(st, "state", json_object_new_string("queued"));
        json_object_object_add(st, "run", json_object_new_int((int) run));
        json_object_object_add(st, "host", NULL);
        json_object_object_add(st, "takes", json_object_new_int(0));
        json_object_object_add(st, "error", NULL);
        json_object_object_add(st, "updated_us", json_object_new_int64(now_us()));
        int r = kv_write(c->jobs, jk, st, rev, NULL);
        bool dup = false;
        if (r == 0)
                r = publish(c, m, msg_id, &dup, err, err_size);
        else
                snprintf(err, err_size, "the job changed meanwhile");
        json_object_put(m);
        json_object_put(st);
        return r;
}

/* ---- taking, renewing, ending ---------------------------------------------------------------- */

static struct held *held_of(const struct cluster *c, const char *id) {
        for (size_t i = 0; i < c->n_held; i++)
                if (!strcmp(c->held[i].job.id, id))
                        return &c->held[i];
        return NULL;
}

bool cluster_holds(const struct cluster *c, const char *id) {
        return held_of(c, id) != NULL;
}

static void held_drop(struct cluster *c, struct held *h) {
        natsMsg_Destroy(h->msg);
        json_object_put(h->body);
        json_object_put(h->ending);
        *h = c->held[--c->n_held];
}

/* The status this host writes of a job it holds: the API's view, its host, its links. */
static json_object *owned_status(struct cluster *c, struct held *h, json_object *job, const char *state) {
        json_object *o = job ? json_object_get(job) : json_object_new_object();
        char link[1024];
        if (!job) {
                add_str(o, "id", h->job.id);
                add_str(o, "case", h->job.req.case_id);
        }
        if (state)
                add_str(o, "state", state);
        add_str(o, "host", c->host);
        add_str(o, "host_url", c->url);
        /* the links lead to this host, from wherever the status is read */
        json_object *links = json_get(o, "links");
        if (!links || !json_object_is_type(links, json_type_object)) {
                links = json_object_new_object();
                json_object_object_add(o, "links", links);
        }
        json_object_object_foreach(links, k, v) {
                const char *t = json_object_get_string(v);
                if (t && t[0] == '/') {
                        snprintf(link, sizeof link, "%s%s", c->url, t);
                        json_object_object_add(links, k, json_object_new_string(link));
                }
        }
        snprintf(link, sizeof link, "%s/ui/jobs/%s", c->url, h->job.id);
        add_str(links, "page", link);
        json_object_object_add(o, "run", json_object_new_int((int) json_int(h->body, "run", 0)));
        json_object_object_add(o, "request", json_object_get(h->body));
        json_object_object_add(o, "delivered", json_object_new_int((int) h->job.delivered));
        json_object_object_add(o, "takes", json_object_new_int((int) h->takes));
        json_object_object_add(o, "updated_us", json_object_new_int64(now_us()));
        return o;
}

static bool fill_request(struct held *h) {
        json_object *b = h->body;
        const char *id = json_str(b, "id"), *case_id = json_str(b, "case"), *source = json_str(b, "source");
        if (!id || !case_id || !source || strlen(id) >= sizeof h->job.id)
                return false;
        snprintf(h->job.id, sizeof h->job.id, "%s", id);
        h->job.req = (struct queue_request) {
                .case_id = case_id, .source = source, .filename = json_str(b, "filename"),
                .size = (uint64_t) json_int(b, "size", 0), .sha256 = json_str(b, "sha256"),
                .trigger = json_str(b, "trigger"), .rebuildable = true, .id = h->job.id,
        };
        h->job.url = json_str(b, "url");
        h->job.run = (unsigned) json_int(b, "run", 0);
        return true;
}

/* Settles one message: 1 and held when this host runs it. */
static int settle(struct cluster *c, natsMsg *msg, struct held **ret) {
        struct held h = { .msg = msg };
        jsMsgMetaData *meta = NULL;
        char jk[64];
        json_tokener *tok = json_tokener_new();
        h.body = tok ? json_tokener_parse_ex(tok, natsMsg_GetData(msg), natsMsg_GetDataLength(msg)) : NULL;
        json_tokener_free(tok);
        if (!h.body || !fill_request(&h)) {
                log_error("queue: a message that is not a job request (%d bytes): dropped", natsMsg_GetDataLength(msg));
                natsMsg_Term(msg, &c->jso);
                json_object_put(h.body);
                natsMsg_Destroy(msg);
                return 0;
        }
        if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
                h.job.delivered = (unsigned) meta->NumDelivered;
                jsMsgMetaData_Destroy(meta);
        }
        const char *id = h.job.id;
        unsigned run = (unsigned) json_int(h.body, "run", 0);
        struct held *mine_already = held_of(c, id);
        if (mine_already) {
                /* handed to this host again while it holds it (its renewals were lost): the new
                 * delivery is the one to renew and ack */
                natsMsg_Destroy(mine_already->msg);
                mine_already->msg = msg;
                natsMsg_InProgress(msg, &c->jso);
                json_object_put(h.body);
                return 0;
        }
        json_object *st = NULL;
        uint64_t rev = 0;
        job_key(jk, sizeof jk, id);
        int r = kv_get_json(c->jobs, jk, &st, &rev);
        const char *state = r == 0 ? json_str(st, "state") : NULL, *host = r == 0 ? json_str(st, "host") : NULL;
        int s = state ? queue_state_from_string(state) : -1;
        bool stale_run = r == 0 && json_int(st, "run", 0) > run;
        int64_t age_ms = r == 0 ? (now_us() - json_int(st, "updated_us", 0)) / 1000 : 0;
        /* the hosts that took this run of it: a hand-out settled here without running it (its
         * status could not be read, another host still renews it) is not one */
        unsigned takes = r == 0 && json_int(st, "run", 0) == run ? (unsigned) json_int(st, "takes", 0) : 0;
        const char *why = NULL;
        if (r == -EIO) {
                natsMsg_NakWithDelay(msg, 1000, &c->jso); /* the bucket cannot be read now */
                why = "";
        } else if (stale_run || (s >= 0 && queue_state_final((enum queue_state) s) && json_int(st, "run", 0) == run)) {
                natsMsg_AckSync(msg, &c->jso, NULL); /* ended, here or elsewhere: not run again */
                why = "has ended";
        } else if (s == QUEUE_RUNNING && host && strcmp(host, c->host) != 0 && age_ms < 2 * c->heartbeat_ms) {
                /* its host still renews it (every heartbeat): its acks were lost (a server went away
                 * meanwhile) */
                natsMsg_NakWithDelay(msg, c->ack_wait_ms, &c->jso);
                why = "runs on another host";
        } else if (takes >= c->max_deliver) {
                h.takes = takes;
                json_object *f = owned_status(c, &h, NULL, "failed");
                char reason[512];
                snprintf(reason, sizeof reason,
                         "taken by a host %u times (queue.max_deliver %u); each time its host died or stopped before "
                         "it ended%s%s", takes, c->max_deliver, host ? "; the last was " : "", host ? host : "");
                add_str(f, "error", reason);
                add_str(f, "host", NULL);
                if (kv_write(c->jobs, jk, f, rev, NULL) == 0) {
                        natsMsg_Term(msg, &c->jso);
                        c->fig.failed_max_deliver++;
                        log_warning("job %s: failed: %s", id, reason);
                } else
                        natsMsg_NakWithDelay(msg, 1000, &c->jso);
                json_object_put(f);
                why = "failed";
        }
        if (why) {
                if (*why)
                        log_info("queue: job %s %s: not run here", id, why);
                json_object_put(st);
                json_object_put(h.body);
                natsMsg_Destroy(msg);
                return 0;
        }
        h.takes = takes + 1;
        json_object *mine = owned_status(c, &h, NULL, "running");
        if (st) {
                /* what the API showed of it so far stays, under this host's name */
                json_object_object_foreach(st, k, v) if (!json_get(mine, k)) json_object_object_add(mine, k, json_object_get(v));
        }
        r = kv_write(c->jobs, jk, mine, rev, &h.rev);
        json_object_put(mine);
        json_object_put(st);
        if (r < 0) {
                natsMsg_NakWithDelay(msg, 500, &c->jso); /* another host took it a moment ago */
                json_object_put(h.body);
                natsMsg_Destroy(msg);
                return 0;
        }
        natsMsg_InProgress(msg, &c->jso);
        h.beat_ms = clock_now_ms();
        if (c->n_held == c->cap_held) {
                size_t cap = c->cap_held ? c->cap_held * 2 : 16;
                struct held *v = realloc(c->held, cap * sizeof *v);
                if (!v) {
                        natsMsg_Nak(msg, &c->jso);
                        json_object_put(h.body);
                        natsMsg_Destroy(msg);
                        return -ENOMEM;
                }
                c->held = v;
                c->cap_held = cap;
        }
        c->held[c->n_held] = h;
        /* the request's strings point into the body, which moved with it: fill them again */
        fill_request(&c->held[c->n_held]);
        *ret = &c->held[c->n_held++];
        c->fig.taken++;
        return 1;
}

int cluster_take(struct cluster *c, struct cluster_job **ret) {
        uint64_t n;
        (void) !read(c->efd, &n, sizeof n);
        for (;;) {
                natsMsg *msg = NULL;
                pthread_mutex_lock(&c->mu);
                if (c->n_inbox) {
                        msg = c->inbox[0];
                        memmove(c->inbox, c->inbox + 1, --c->n_inbox * sizeof *c->inbox);
                }
                pthread_mutex_unlock(&c->mu);
                if (!msg)
                        return 0;
                struct held *h = NULL;
                int r = settle(c, msg, &h);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret = &h->job;
                        return 1;
                }
        }
}

/* Writes the status of a held job: 1 written, 0 another host has taken it over, -1 the
 * servers not reached now. */
static int write_owned(struct cluster *c, struct held *h, json_object *job, const char *state, char *by, size_t by_size) {
        char jk[64];
        job_key(jk, sizeof jk, h->job.id);
        for (int attempt = 0; attempt < 2; attempt++) {
                json_object *o = owned_status(c, h, job, state);
                int r = kv_write(c->jobs, jk, o, h->rev, &h->rev);
                json_object_put(o);
                if (r == 0)
                        return 1;
                json_object *st = NULL;
                uint64_t rev;
                if (kv_get_json(c->jobs, jk, &st, &rev) < 0)
                        return -1;
                const char *host = json_str(st, "host");
                bool other = !host || strcmp(host, c->host) != 0 || json_int(st, "run", 0) != json_int(h->body, "run", 0);
                snprintf(by, by_size, "%s", host ? host : "none");
                json_object_put(st);
                if (other)
                        return 0;
                h->rev = rev; /* this host's own write, whose answer was lost: again on top of it */
        }
        return -1;
}

void cluster_update(struct cluster *c, const char *id, json_object *job) {
        struct held *h = held_of(c, id);
        char by[128];
        if (h && !h->ending)
                (void) write_owned(c, h, job, NULL, by, sizeof by);
}

/* The end of a job, its final status written: acked, and no longer held. */
static void ack_end(struct cluster *c, struct held *h) {
        natsStatus s = natsMsg_AckSync(h->msg, &c->jso, NULL);
        if (s != NATS_OK) /* the status is final: a host handed it again acks it without running it */
                log_warning("job %s: the shared queue did not take its end now (%s)", h->job.id, nats_why(s));
        c->fig.finished++;
        held_drop(c, h);
}

int cluster_finish(struct cluster *c, const char *id, json_object *job) {
        struct held *h = held_of(c, id);
        char by[128] = "";
        if (!h)
                return -ENOENT;
        int r = write_owned(c, h, job, NULL, by, sizeof by);
        if (r == 0) {
                log_warning("job %s: ended here, but host %s had taken it over: its run counts", id, by);
                c->fig.lost++;
                held_drop(c, h);
                return -EEXIST;
        }
        if (r < 0) {
                /* held, renewed and written at the next ticks: acked only once its status is final */
                log_warning("job %s: the shared queue is not reached now: its end is written there later", id);
                h->ending = json_object_get(job);
                return 0;
        }
        ack_end(c, h);
        return 0;
}

void cluster_release(struct cluster *c, const char *id) {
        struct held *h = held_of(c, id);
        char by[128];
        if (!h)
                return;
        json_object *o = json_object_new_object();
        add_str(o, "id", id);
        add_str(o, "case", h->job.req.case_id);
        add_str(o, "stage", NULL);
        if (h->takes)
                h->takes--; /* stopped for this host's shutdown: not a take that counts */
        (void) write_owned(c, h, o, "queued", by, sizeof by);
        json_object_put(o);
        natsMsg_Nak(h->msg, &c->jso);
        c->fig.released++;
        held_drop(c, h);
}

static json_object *host_list(struct cluster *c);
static void refresh_peers(struct cluster *c);

void cluster_tick(struct cluster *c, unsigned running, unsigned queued, const struct cluster_tick_ops *ops) {
        int64_t now = clock_now_ms();
        for (size_t i = 0; i < c->n_held;) {
                struct held *h = &c->held[i];
                char by[128] = "", id[96];
                if (now - h->beat_ms < c->heartbeat_ms) {
                        i++;
                        continue;
                }
                h->beat_ms = now;
                natsMsg_InProgress(h->msg, &c->jso);
                if (h->ending) {
                        int w = write_owned(c, h, h->ending, NULL, by, sizeof by);
                        if (w > 0)
                                ack_end(c, h);
                        else if (w == 0)
                                held_drop(c, h), c->fig.lost++;
                        else
                                i++;
                        continue;
                }
                json_object *o = ops->view(ops->ud, h->job.id);
                int mine = write_owned(c, h, o, NULL, by, sizeof by);
                json_object_put(o);
                if (mine != 0) {
                        i++;
                        continue;
                }
                snprintf(id, sizeof id, "%s", h->job.id);
                log_warning("job %s: host %s has taken it over (this host's renewals did not reach the queue in time)", id, by);
                c->fig.lost++;
                held_drop(c, h);
                ops->lost(ops->ud, id, by);
        }
        if (now >= c->next_host_ms) {
                c->next_host_ms = now + c->heartbeat_ms;
                json_object *o = json_object_new_object();
                add_str(o, "host", c->host);
                add_str(o, "url", c->url);
                add_str(o, "version", c->version);
                json_object_object_add(o, "workers", json_object_new_int((int) c->workers));
                json_object_object_add(o, "running", json_object_new_int((int) running));
                json_object_object_add(o, "queued", json_object_new_int((int) queued));
                json_object_object_add(o, "updated_us", json_object_new_int64(now_us()));
                char key[160];
                snprintf(key, sizeof key, "h.");
                for (const char *p = c->host; *p && strlen(key) + 1 < sizeof key; p++) {
                        char ch = *p;
                        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
                        size_t l = strlen(key);
                        key[l] = ok ? ch : '_';
                        key[l + 1] = 0;
                }
                (void) kv_put(c->hosts, key, o);
                json_object_put(o);
                /* the others, for the symbols' peers and their uploads */
                refresh_peers(c);
        }
        if (now >= c->next_figures_ms) {
                c->next_figures_ms = now + 5000;
                jsConsumerInfo *ci = NULL;
                jsErrCode jerr = 0;
                if (js_GetConsumerInfo(&ci, c->js, c->stream, c->durable, &c->jso, &jerr) == NATS_OK) {
                        c->fig.pending = ci->NumPending;
                        c->fig.ack_pending = (uint64_t) ci->NumAckPending;
                        c->fig.redelivered = (uint64_t) ci->NumRedelivered;
                        jsConsumerInfo_Destroy(ci);
                }
        }
}

/* ---- what any host can read -------------------------------------------------------------------- */

json_object *cluster_job(struct cluster *c, const char *id) {
        char jk[64];
        json_object *st = NULL;
        job_key(jk, sizeof jk, id);
        if (kv_get_json(c->jobs, jk, &st, NULL) < 0)
                return NULL;
        json_object_object_del(st, "request"); /* the source as given: its URL may hold credentials */
        return st;
}

/* Every host's entry; NULL when the bucket cannot be read now. */
static json_object *host_list(struct cluster *c) {
        kvKeysList keys = { 0 };
        natsStatus s = kvStore_Keys(&keys, c->hosts, NULL);
        if (s != NATS_OK && s != NATS_NOT_FOUND)
                return NULL;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < keys.Count; i++) {
                json_object *h = NULL;
                if (kv_get_json(c->hosts, keys.Keys[i], &h, NULL) == 0)
                        json_object_array_add(arr, h);
        }
        kvKeysList_Destroy(&keys);
        return arr;
}

json_object *cluster_view(struct cluster *c) {
        json_object *o = json_object_new_object();
        add_str(o, "host", c->host);
        add_str(o, "url", c->url);
        add_str(o, "stream", c->stream);
        json_object *hosts = host_list(c);
        if (hosts)
                c->fig.hosts = (unsigned) json_object_array_length(hosts);
        json_object_object_add(o, "hosts", hosts ? hosts : json_object_new_array());
        json_object_object_add(o, "pending", json_object_new_int64((int64_t) c->fig.pending));
        json_object_object_add(o, "ack_pending", json_object_new_int64((int64_t) c->fig.ack_pending));
        json_object_object_add(o, "connected", json_object_new_boolean(natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED));
        return o;
}

void cluster_figures(struct cluster *c, struct cluster_figures *ret) {
        *ret = c->fig;
        ret->reconnects = atomic_load(&c->reconnects);
        ret->disconnects = atomic_load(&c->disconnects);
        ret->connected = natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

const char *cluster_peer_urls(const struct cluster *c) {
        return c->peers;
}

static void refresh_peers(struct cluster *c) {
        json_object *hosts = host_list(c);
        size_t n = 0;
        if (!hosts)
                return; /* the servers not reached now: the list stays as it was */
        c->peers[0] = 0;
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                json_object *hh = json_object_array_get_idx(hosts, i);
                const char *url = json_str(hh, "url"), *name = json_str(hh, "host");
                if (url && name && strcmp(name, c->host) != 0 && n + strlen(url) + 2 < sizeof c->peers)
                        n += (size_t) snprintf(c->peers + n, sizeof c->peers - n, "%s%s", n ? " " : "", url);
        }
        c->fig.hosts = (unsigned) json_object_array_length(hosts);
        json_object_put(hosts);
}

static bool in_peers(const struct cluster *c, const char *url) {
        char list[sizeof c->peers];
        snprintf(list, sizeof list, "%s", c->peers);
        for (char *save = NULL, *p = strtok_r(list, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
                size_t n = strlen(p);
                if (!strncmp(url, p, n) && !strncmp(url + n, "/uploads/", 9))
                        return true;
        }
        return false;
}

bool cluster_is_peer_upload(struct cluster *c, const char *url) {
        if (in_peers(c, url))
                return true;
        refresh_peers(c); /* a host that joined since the last renewal */
        return in_peers(c, url);
}

/* ---- the posts --------------------------------------------------------------------------------- */

int cluster_post_claim(struct cluster *c, const char *key, int64_t lease_s, char *by, size_t by_size) {
        char pk[64];
        const char *parts[] = { key };
        hashed_key(pk, sizeof pk, "p.", parts, 1);
        json_object *o = json_object_new_object(), *st = NULL;
        uint64_t rev = 0;
        add_str(o, "key", key);
        add_str(o, "host", c->host);
        add_str(o, "state", "sending");
        json_object_object_add(o, "at_us", json_object_new_int64(now_us()));
        int r = kv_write(c->posts, pk, o, 0, NULL), ret = CLUSTER_CLAIM_MINE;
        if (r < 0) {
                r = kv_get_json(c->posts, pk, &st, &rev);
                const char *host = r == 0 ? json_str(st, "host") : NULL, *state = r == 0 ? json_str(st, "state") : NULL;
                snprintf(by, by_size, "%s", host ? host : "?");
                if (r < 0)
                        ret = r == -ENOENT ? CLUSTER_CLAIM_BUSY : -EIO;
                else if (state && !strcmp(state, "sent"))
                        ret = CLUSTER_CLAIM_SENT;
                else if (host && !strcmp(host, c->host))
                        ret = kv_write(c->posts, pk, o, rev, NULL) == 0 ? CLUSTER_CLAIM_MINE : CLUSTER_CLAIM_BUSY;
                else if ((now_us() - json_int(st, "at_us", 0)) / 1000000 > lease_s)
                        /* its host stopped while it sent: the sink's own check (a comment's tag) covers the rest */
                        ret = kv_write(c->posts, pk, o, rev, NULL) == 0 ? CLUSTER_CLAIM_MINE : CLUSTER_CLAIM_BUSY;
                else
                        ret = CLUSTER_CLAIM_BUSY;
        }
        json_object_put(st);
        json_object_put(o);
        return ret;
}

int cluster_post_sent(struct cluster *c, const char *key) {
        char pk[64];
        const char *parts[] = { key };
        hashed_key(pk, sizeof pk, "p.", parts, 1);
        json_object *o = json_object_new_object();
        add_str(o, "key", key);
        add_str(o, "host", c->host);
        add_str(o, "state", "sent");
        json_object_object_add(o, "at_us", json_object_new_int64(now_us()));
        int r = kv_put(c->posts, pk, o);
        json_object_put(o);
        return r;
}
