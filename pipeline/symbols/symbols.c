/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Debug symbols: the sources, the naming rules of each archive, verification and the cache.
 * A cache entry appears under its final name only once its vmlinux is whole and verified. */

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "pipeline/symbols/debpkg.h"
#include "pipeline/symbols/elfinfo.h"
#include "pipeline/symbols/httpstream.h"
#include "pipeline/symbols/prepare.h"
#include "pipeline/identify/modlist.h"
#include "casefolder/job.h"
#include "pipeline/progress.h"
#include "pipeline/symbols/symbols.h"

#define note(c, ...) job_say((c)->job, "symbols: " __VA_ARGS__)

struct ctx {
        const struct config *cfg;
        const struct symbols_query *q;
        struct job *job;
        char root[PATH_MAX];  /* <root>/symbols */
        char key[200];
        char tried[2048];     /* what each source said, for the final error */
        char **loaded;        /* the modules the dump has loaded, read from its memory, or NULL */
        bool learn_tried;
};

/* The modules wanted: those the dump has loaded when its memory said, else those of the query. */
static char *const *wanted(const struct ctx *c) {
        return c->loaded ? c->loaded : c->q->modules;
}

/* The loaded modules, from the dump's own list, found through the address of `modules` in a
 * System.map (map) or a vmlinux's .symtab. Once per job: a failure is said and the query's
 * list (from the kernel log) stays. */
static void learn_loaded(struct ctx *c, const char *map, size_t map_len, const char *vmlinux) {
        char err[512];
        uint64_t addr = 0;
        int r;
        if (c->learn_tried || !c->q->vmcore[0])
                return;
        c->learn_tried = true;
        r = map ? modlist_map_address(map, map_len, &addr) : elfinfo_symbol(vmlinux, "modules", &addr);
        if (r < 0) {
                note(c, "the module list: no address for 'modules' in %s (%s)", map ? "the System.map" : vmlinux, strerror(-r));
                return;
        }
        r = modlist_read(c->q->vmcore, addr, &c->loaded, err, sizeof err);
        if (r < 0) {
                note(c, "the module list: %s; looking for the modules the kernel log names", err);
                return;
        }
        /* modules asked for by name (--modules, crash's mod) are wanted too */
        for (char **m = c->q->modules; m && *m; m++) {
                bool have = false;
                size_t k = 0;
                for (; c->loaded[k]; k++)
                        have = have || !strcmp(c->loaded[k], *m);
                char **nv = have ? NULL : realloc(c->loaded, (k + 2) * sizeof *nv);
                if (nv && (nv[k] = strdup(*m))) {
                        nv[k + 1] = NULL;
                        c->loaded = nv;
                } else if (nv)
                        c->loaded = nv;
        }
        size_t n = 0;
        char names[1024] = "";
        for (char **m = c->loaded; *m; m++, n++) {
                size_t o = strlen(names);
                if (o + strlen(*m) + 8 < sizeof names)
                        snprintf(names + o, sizeof names - o, "%s%s", o ? " " : "", *m);
                else if (!strstr(names, " …"))
                        snprintf(names + o, sizeof names - o, " …");
        }
        note(c, "the dump has %zu module(s) loaded (its module list, read with the %s): %s", n,
             map ? "System.map" : "vmlinux's symbols", n ? names : "none");
}

static char *const *on_learn(void *userdata, const char *map, size_t map_len, const char *vmlinux) {
        struct ctx *c = userdata;
        learn_loaded(c, map, map_len, vmlinux);
        return c->loaded;
}

/* Prepares the vmlinux at path for speed (symbols.prepare); the plain file stays on failure. */
static void prepare(struct ctx *c, const char *path) {
        char err[1024];
        if (!config_bool(c->cfg, CONF_SYMBOLS_PREPARE))
                return;
        note(c, "preparing %s for crash (a gdb index, no relocation sections)", path);
        int r = prepare_vmlinux(c->cfg, c->job, path, c->q->build_id, err, sizeof err);
        if (r == 0)
                note(c, "prepared: %s", path);
        else if (r < 0)
                note(c, "not prepared, the plain file is used: %s", err);
}


static void tried(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tried(struct ctx *c, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (strstr(c->tried, msg))
                return; /* the same finding again (an entry checked once more under the fetch lock) */
        note(c, "%s", msg);
        size_t o = strlen(c->tried);
        snprintf(c->tried + o, sizeof c->tried - o, "%s%s", o ? "; " : "", msg);
}

/* ---- naming rules ------------------------------------------------------------------------ */

int symbols_ubuntu_version(const char *release, const char *version, char *buf, size_t size) {
        /* the ABI part of the release: "5.15.0-91" of "5.15.0-91-generic" */
        const char *dash = strchr(release, '-');
        if (!dash || !isdigit((unsigned char) dash[1]))
                return -EINVAL;
        const char *abi_end = dash + 1;
        while (isdigit((unsigned char) *abi_end))
                abi_end++;
        const char *hash = strchr(version, '#');
        const char *ub = hash ? strstr(hash, "-Ubuntu") : NULL;
        if (!hash || !ub || ub == hash + 1)
                return -EINVAL;
        int n = snprintf(buf, size, "%.*s.%.*s", (int) (abi_end - release), release, (int) (ub - hash - 1), hash + 1);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

int symbols_debian_version(const char *version, char *buf, size_t size) {
        const char *p = strstr(version, " Debian ");
        if (!p)
                return -EINVAL;
        p += 8;
        size_t n = strcspn(p, " ");
        if (n == 0 || !isdigit((unsigned char) *p) || n >= size)
                return -EINVAL;
        memcpy(buf, p, n);
        buf[n] = 0;
        return 0;
}

/* Each architecture by its two names: the kernel's (uname -m, in a dump's utsname) and Debian's
 * (in package file names). Some kernels report the Debian-like name ("arm64", "i386"). */
static const char *const arch_names[][2] = {
        { "x86_64", "amd64" },  { "aarch64", "arm64" }, { "arm64", "arm64" },     { "ppc64le", "ppc64el" },
        { "s390x", "s390x" },   { "i686", "i386" },     { "i386", "i386" },       { "riscv64", "riscv64" },
        { "armv7l", "armhf" },  { "loongarch64", "loong64" },
};
#define N_ARCH_NAMES (sizeof arch_names / sizeof arch_names[0])

const char *symbols_deb_arch(const char *m) {
        for (size_t i = 0; i < N_ARCH_NAMES; i++)
                if (strcmp(m, arch_names[i][0]) == 0)
                        return arch_names[i][1];
        return NULL;
}

const char *symbols_machine_arch(const char *name) {
        for (size_t i = 0; i < N_ARCH_NAMES; i++)
                if (strcmp(name, arch_names[i][0]) == 0)
                        return arch_names[i][0];
        for (size_t i = 0; i < N_ARCH_NAMES; i++)
                if (strcmp(name, arch_names[i][1]) == 0)
                        return arch_names[i][0];
        return NULL;
}

/* The Ubuntu series a kernel was built for: from a "~22.04.1" suffix, else from its version. */
static const char *ubuntu_series(const char *release, const char *version) {
        static const char *const by_release[][2] = {
                { "14.04", "trusty" }, { "16.04", "xenial" }, { "18.04", "bionic" }, { "20.04", "focal" },
                { "22.04", "jammy" },  { "24.04", "noble" },  { "24.10", "oracular" }, { "25.04", "plucky" },
                { "25.10", "questing" },
        };
        static const char *const by_kernel[][2] = {
                { "3.13.", "trusty" }, { "4.4.", "xenial" }, { "4.15.", "bionic" }, { "5.4.", "focal" },
                { "5.15.", "jammy" },  { "6.8.", "noble" },  { "6.11.", "oracular" }, { "6.14.", "plucky" },
                { "6.17.", "questing" },
        };
        const char *t = strchr(version, '~');
        if (t)
                for (size_t i = 0; i < sizeof by_release / sizeof by_release[0]; i++)
                        if (strncmp(t + 1, by_release[i][0], 5) == 0)
                                return by_release[i][1];
        for (size_t i = 0; i < sizeof by_kernel / sizeof by_kernel[0]; i++)
                if (strncmp(release, by_kernel[i][0], strlen(by_kernel[i][0])) == 0)
                        return by_kernel[i][1];
        return NULL;
}

char **symbols_modules_from_log(const char *log, size_t len) {
        char **v = calloc(1, sizeof *v);
        size_t n = 0;
        if (!v)
                return NULL;
        const char *end = log + len;
        for (const char *p = log; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                const char *m = memmem(p, (size_t) (le - p), "Modules linked in:", 18);
                /* only the first list: later oopses repeat it */
                if (m && n == 0) {
                        /* "Modules linked in: a b(OE) c [last unloaded: d]": names end at '(' */
                        const char *br = memchr(m, '[', (size_t) (le - m));
                        const char *stop = br ? br : le;
                        for (const char *w = m + 18; w < stop;) {
                                while (w < stop && *w == ' ')
                                        w++;
                                const char *we = w;
                                while (we < stop && *we != ' ')
                                        we++;
                                /* the log need not be NUL-terminated: look only inside the word */
                                const char *paren = memchr(w, '(', (size_t) (we - w));
                                size_t wl = (size_t) ((paren ? paren : we) - w);
                                if (wl > 0 && wl < 64) {
                                        char **nv = realloc(v, (n + 2) * sizeof *v);
                                        if (!nv)
                                                break;
                                        v = nv;
                                        v[n] = strndup(w, wl);
                                        if (!v[n])
                                                break;
                                        v[++n] = NULL;
                                }
                                w = we;
                        }
                }
                p = nl ? nl + 1 : end;
        }
        return v;
}

void symbols_strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static void make_key(struct ctx *c);
static void record_absent(struct ctx *c, const char *dir, char *const *wanted);

/* ---- candidates ---------------------------------------------------------------------------- */

struct candidate {
        char source[16];
        char file[256];
        char url[1024];      /* "" for Ubuntu pool entries: found through the index */
        char index[1024];    /* the Packages index that names the pool folder */
        char package[256];
        char version[128];
};

static bool source_enabled(const struct ctx *c, const char *name) {
        const char *s = config_string(c->cfg, CONF_SYMBOLS_SOURCES);
        size_t n = strlen(name);
        for (const char *p = s; (p = strstr(p, name)); p += n)
                if ((p == s || p[-1] == ' ' || p[-1] == ',') && (p[n] == 0 || p[n] == ' ' || p[n] == ','))
                        return true;
        return false;
}

static size_t candidates(const struct ctx *c, struct candidate *out, size_t max) {
        const struct symbols_query *q = c->q;
        const char *arch = symbols_deb_arch(q->arch[0] ? q->arch : "x86_64");
        char ver[128];
        size_t n = 0;

        if (!arch)
                return 0;
        if (source_enabled(c, "ubuntu") && symbols_ubuntu_version(q->release, q->version, ver, sizeof ver) == 0) {
                const char *series = ubuntu_series(q->release, q->version);
                const char *mirror = config_string(c->cfg, CONF_SYMBOLS_UBUNTU_MIRROR);
                static const char *const prefixes[] = { "linux-image-unsigned-", "linux-image-" };
                for (size_t k = 0; k < 2; k++) {
                        char pkg[256];
                        snprintf(pkg, sizeof pkg, "%s%s-dbgsym", prefixes[k], q->release);
                        /* the pool folder is the source package, which only the index names */
                        char suites[256];
                        snprintf(suites, sizeof suites, "%s", config_string(c->cfg, CONF_SYMBOLS_UBUNTU_SUITES));
                        char *save = NULL;
                        for (char *s = series ? strtok_r(suites, " ,", &save) : NULL; s && n < max;
                             s = strtok_r(NULL, " ,", &save)) {
                                struct candidate *d = &out[n++];
                                memset(d, 0, sizeof *d);
                                snprintf(d->source, sizeof d->source, "ubuntu");
                                snprintf(d->package, sizeof d->package, "%s", pkg);
                                snprintf(d->version, sizeof d->version, "%s", ver);
                                snprintf(d->file, sizeof d->file, "%s_%s_%s.ddeb", pkg, ver, arch);
                                snprintf(d->index, sizeof d->index, "%s/dists/%s%s%s/main/binary-%s/Packages.xz", mirror,
                                         series, strcmp(s, "release") ? "-" : "", strcmp(s, "release") ? s : "", arch);
                        }
                        if (n < max) {
                                struct candidate *d = &out[n++];
                                memset(d, 0, sizeof *d);
                                snprintf(d->source, sizeof d->source, "launchpad");
                                snprintf(d->package, sizeof d->package, "%s", pkg);
                                snprintf(d->version, sizeof d->version, "%s", ver);
                                snprintf(d->file, sizeof d->file, "%s_%s_%s.ddeb", pkg, ver, arch);
                                snprintf(d->url, sizeof d->url, "%s/%s", config_string(c->cfg, CONF_SYMBOLS_LAUNCHPAD_URL),
                                         d->file);
                        }
                }
        }
        if (source_enabled(c, "debian") && symbols_debian_version(q->version, ver, sizeof ver) == 0) {
                char mirrors[1024];
                snprintf(mirrors, sizeof mirrors, "%s", config_string(c->cfg, CONF_SYMBOLS_DEBIAN_MIRRORS));
                /* source package "linux", or "linux-X.Y" for a newer kernel packaged beside it */
                char major_minor[32] = "";
                int dots = 0;
                for (size_t i = 0; q->release[i] && i + 1 < sizeof major_minor; i++) {
                        if (q->release[i] == '.' && ++dots == 2)
                                break;
                        if (!isdigit((unsigned char) q->release[i]) && q->release[i] != '.')
                                break;
                        major_minor[i] = q->release[i];
                        major_minor[i + 1] = 0;
                }
                char *save = NULL;
                for (char *m = strtok_r(mirrors, " ,", &save); m; m = strtok_r(NULL, " ,", &save))
                        for (int k = 0; k < 2 && n < max; k++) {
                                struct candidate *d = &out[n++];
                                memset(d, 0, sizeof *d);
                                snprintf(d->source, sizeof d->source, "debian");
                                snprintf(d->package, sizeof d->package, "linux-image-%s-dbg", q->release);
                                snprintf(d->version, sizeof d->version, "%s", ver);
                                snprintf(d->file, sizeof d->file, "%s_%s_%s.deb", d->package, ver, arch);
                                /* the security archive keeps its pool under pool/updates/ */
                                size_t ml = strlen(m);
                                bool security = ml > 9 && strcmp(m + ml - 9, "-security") == 0;
                                snprintf(d->url, sizeof d->url, "%s/pool/%smain/l/linux%s%s/%s", m,
                                         security ? "updates/" : "", k ? "-" : "", k ? major_minor : "", d->file);
                        }
        }
        return n;
}

int symbols_explain(const struct config *cfg, const struct symbols_query *q, FILE *out) {
        struct ctx c = { .cfg = cfg, .q = q };
        struct candidate cand[32];
        size_t n = candidates(&c, cand, 32);
        int i = 1;

        fprintf(out, "kernel %s %s (%s), build-id %s\n", q->release, q->version, q->arch[0] ? q->arch : "x86_64",
                q->build_id[0] ? q->build_id : "none");
        make_key(&c);
        if (source_enabled(&c, "cache"))
                fprintf(out, "%2d. cache       %s/symbols/%s\n", i++, config_string(cfg, CONF_ROOT), c.key);
        if (source_enabled(&c, "debuginfod")) {
                const char *urls = config_string(cfg, CONF_SYMBOLS_DEBUGINFOD_URLS);
                if (!*urls)
                        urls = getenv("DEBUGINFOD_URLS") ? getenv("DEBUGINFOD_URLS") : "";
                fprintf(out, "%2d. debuginfod  %s\n", i++,
                        !q->build_id[0] ? "(skipped: the dump has no build-id)"
                        : *urls        ? urls
                                       : "(skipped: no servers configured)");
        }
        for (size_t k = 0; k < n; k++) {
                if (cand[k].url[0])
                        fprintf(out, "%2d. %-11s %s\n    %s\n", i++, cand[k].source, cand[k].file, cand[k].url);
                else
                        fprintf(out, "%2d. %-11s %s\n    pool folder from %s\n", i++, cand[k].source, cand[k].file,
                                cand[k].index);
        }
        if (!symbols_deb_arch(q->arch[0] ? q->arch : "x86_64"))
                fprintf(out, "    no archive package: the architecture '%s' has no Debian name hotkdump knows\n",
                        q->arch);
        if (n == 0 && !source_enabled(&c, "cache") && !source_enabled(&c, "debuginfod"))
                fprintf(out, "no source applies\n");
        return 0;
}

/* ---- cache ----------------------------------------------------------------------------------- */

static void make_key(struct ctx *c) {
        const struct symbols_query *q = c->q;
        if (q->build_id[0]) {
                snprintf(c->key, sizeof c->key, "%s", q->build_id);
                return;
        }
        /* no build-id: release and version, made safe as one file name */
        size_t o = 0;
        for (const char *p = q->release; *p && o + 2 < sizeof c->key / 2; p++)
                c->key[o++] = isalnum((unsigned char) *p) || *p == '.' || *p == '-' ? *p : '_';
        c->key[o++] = '@';
        for (const char *p = q->version; *p && o + 1 < sizeof c->key; p++)
                c->key[o++] = isalnum((unsigned char) *p) || *p == '.' || *p == '-' ? *p : '_';
        c->key[o] = 0;
}

static int verify(struct ctx *c, const char *vmlinux, char *why, size_t why_size) {
        const struct symbols_query *q = c->q;
        if (q->build_id[0]) {
                char bid[129];
                int r = elfinfo_build_id(vmlinux, bid, sizeof bid);
                if (r == -ENOEXEC) {
                        snprintf(why, why_size, "not an ELF file");
                        return -EBADMSG;
                }
                if (r < 0) {
                        snprintf(why, why_size, "no build-id in it (%s)", strerror(-r));
                        return -EBADMSG;
                }
                if (strcmp(bid, q->build_id) != 0) {
                        snprintf(why, why_size, "build-id %s, the dump's is %s: symbols of another build", bid,
                                 q->build_id);
                        return -EBADMSG;
                }
                return 0;
        }
        bool match = false;
        int r = elfinfo_banner_matches(vmlinux, q->release, q->version, &match);
        if (r < 0 || !match) {
                snprintf(why, why_size, "its linux_banner does not read '%s … %s'", q->release, q->version);
                return -EBADMSG;
        }
        return 0;
}

/* Moves the module debug files of tmp into the entry that is already there, one whole file at
 * a time, leaving those it has. */
static int merge_modules(const char *from, const char *to, unsigned depth) {
        DIR *d = depth < 16 ? opendir(from) : NULL;
        int r = 0;
        if (!d)
                return errno == ENOENT || depth >= 16 ? 0 : -errno;
        for (struct dirent *e; r == 0 && (e = readdir(d));) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char a[PATH_MAX], b[PATH_MAX];
                struct stat st;
                snprintf(a, sizeof a, "%s/%s", from, e->d_name);
                snprintf(b, sizeof b, "%s/%s", to, e->d_name);
                if (lstat(a, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        r = merge_modules(a, b, depth + 1);
                else if (S_ISREG(st.st_mode) && access(b, F_OK) < 0 && (r = mkdir_parents(to)) == 0)
                        r = rename(a, b) < 0 ? -errno : 0;
        }
        closedir(d);
        return r;
}

/* Moves a verified temporary folder into place as the cache entry. An entry already there
 * (the same build: both were verified against it) is in use by other jobs and stays; only the
 * module files it lacks are added to it. */
static int install(struct ctx *c, const char *tmp, const char *source, unsigned modules, struct symbols_result *res) {
        char path[PATH_MAX], from[PATH_MAX + 16], to[PATH_MAX + 16];
        json_object *info = json_object_new_object();
        json_object_object_add(info, "release", json_object_new_string(c->q->release));
        json_object_object_add(info, "version", json_object_new_string(c->q->version));
        json_object_object_add(info, "build_id", json_object_new_string(c->q->build_id));
        json_object_object_add(info, "source", json_object_new_string(source));
        json_object_object_add(info, "created", json_object_new_int64((int64_t) time(NULL)));
        const char *text = json_object_to_json_string_ext(info, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = write_file_atomic(tmp, "info.json", text, strlen(text));
        json_object_put(info);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "%s/%s", c->root, c->key);
        snprintf(from, sizeof from, "%s/vmlinux", tmp);
        if (access(path, F_OK) < 0)
                prepare(c, from); /* checked again before it is renamed into place */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
                if (errno != EEXIST)
                        return -errno;
                snprintf(from, sizeof from, "%s/modules", tmp);
                snprintf(to, sizeof to, "%s/modules", path);
                r = merge_modules(from, to, 0);
                remove_tree(tmp);
                if (r < 0)
                        return r;
                snprintf(from, sizeof from, "%s/vmlinux", path);
                if (access(from, F_OK) < 0)
                        return -ENOENT;
        }
        (void) fsync_dir(c->root); /* a cache entry lost to a power cut is fetched again */
        snprintf(res->source, sizeof res->source, "%s", source);
        res->modules_found = modules;
        return 0;
}

static int new_tmp(struct ctx *c, char *tmp, size_t size) {
        snprintf(tmp, size, "%s/.tmp-%s-XXXXXX", c->root, c->key);
        return mkdtemp(tmp) ? 0 : -errno;
}

static ssize_t file_read(void *userdata, void *buf, size_t len) {
        ssize_t n;
        do
                n = read(*(int *) userdata, buf, len);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

static ssize_t http_read(void *userdata, void *buf, size_t len) {
        return httpstream_read(userdata, buf, len);
}

static void stream_opts(const struct ctx *c, struct httpstream_opts *o) {
        *o = (struct httpstream_opts) {
                .max_bytes = config_u64(c->cfg, CONF_FETCH_MAX_BYTES),
                .connect_timeout_s = (unsigned) config_u64(c->cfg, CONF_FETCH_CONNECT_TIMEOUT),
                .stall_timeout_s = (unsigned) config_u64(c->cfg, CONF_FETCH_STALL_TIMEOUT),
                .retries = (unsigned) config_u64(c->cfg, CONF_FETCH_RETRIES),
                .backoff_ms = (unsigned) config_u64(c->cfg, CONF_FETCH_BACKOFF) * 1000,
                .max_redirects = (unsigned) config_u64(c->cfg, CONF_FETCH_MAX_REDIRECTS),
        };
}

/* Says why a package gave nothing: not there at all, the server's failure, or the package's. */
static void package_failed(struct ctx *c, const char *source, const struct httpstream *stream,
                           const struct debpkg_result *dr, const char *err) {
        const char *server = stream ? httpstream_error(stream) : "";
        if (dr->read_error == ENOENT && dr->bytes_read == 0)
                tried(c, "%s: not in the archive (%s)", source, server[0] ? server : "no such file");
        else if (server[0])
                tried(c, "%s: %s (%s)", source, err, server);
        else
                tried(c, "%s: %s", source, err);
}

/* Extracts from a package (read through fn), verifies, installs. */
static int from_package(struct ctx *c, debpkg_read_fn fn, void *userdata, struct httpstream *stream,
                        const char *source, struct symbols_result *res) {
        char tmp[PATH_MAX], vmlinux[PATH_MAX + 16], err[512], why[512];
        struct debpkg_want want = { .release = c->q->release, .modules = wanted(c),
                                    .max_bytes = config_u64(c->cfg, CONF_SYMBOLS_MAX_BYTES),
                                    .learn_modules = c->q->vmcore[0] && !c->learn_tried ? on_learn : NULL, .learn_userdata = c };
        struct debpkg_result dr;
        int r = new_tmp(c, tmp, sizeof tmp);
        if (r < 0) {
                tried(c, "cannot make a folder in %s: %s", c->root, strerror(-r));
                return r;
        }
        r = debpkg_extract(fn, userdata, &want, tmp, &dr, err, sizeof err);
        if (r < 0) {
                /* say what the server did, not only what the package reader saw */
                package_failed(c, source, stream, &dr, err);
                remove_tree(tmp);
                return r;
        }
        snprintf(vmlinux, sizeof vmlinux, "%s/vmlinux", tmp);
        r = verify(c, vmlinux, why, sizeof why);
        if (r < 0) {
                tried(c, "%s: refused: %s", source, why);
                remove_tree(tmp);
                return r;
        }
        note(c, "%s: vmlinux and %u module(s) extracted, %llu bytes written from %llu read%s", source, dr.modules_found,
             (unsigned long long) dr.bytes_written, (unsigned long long) dr.bytes_read,
             dr.stopped_early ? " (stopped early: the rest of the package was not needed)" : "");
        r = install(c, tmp, source, dr.modules_found, res);
        if (r < 0)
                remove_tree(tmp);
        else if (wanted(c) && !dr.stopped_early)
                record_absent(c, res->dir, wanted(c));
        return r;
}

static int from_url(struct ctx *c, const char *url, const char *label, struct symbols_result *res) {
        struct httpstream_opts o;
        struct httpstream *s;
        char source[1200];
        stream_opts(c, &o);
        snprintf(source, sizeof source, "%s %s", label, url);
        int r = httpstream_open(url, &o, c->job, &s);
        if (r < 0)
                return r;
        note(c, "trying %s", source);
        r = from_package(c, http_read, s, s, source, res);
        httpstream_free(s);
        return r;
}

struct stream_reader {
        struct httpstream *s;
        char buf[65536];
};

static la_ssize_t stream_read_cb(struct archive *a, void *userdata, const void **buf) {
        struct stream_reader *rd = userdata;
        ssize_t n = httpstream_read(rd->s, rd->buf, sizeof rd->buf);
        if (n < 0) {
                archive_set_error(a, (int) -n, "%s", httpstream_error(rd->s));
                return -1;
        }
        *buf = rd->buf;
        return n;
}

/* Checks one stanza of a Packages index. */
static bool stanza_matches(const char *pkg, const char *ver, const char *filename, const struct candidate *d) {
        return strcmp(pkg, d->package) == 0 && strcmp(ver, d->version) == 0 && filename[0] && !strstr(filename, "..");
}

/* Finds the pool path of package=version in a Packages index, streamed and decompressed. */
static int index_lookup(struct ctx *c, const struct candidate *d, char *url, size_t size) {
        struct httpstream_opts o;
        struct stream_reader *rd = calloc(1, sizeof *rd);
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char line[4096], pkg[256] = "", ver[128] = "", filename[1024] = "";
        size_t ll = 0;
        int r;

        if (!rd || !a) {
                free(rd);
                if (a)
                        archive_read_free(a);
                return -ENOMEM;
        }
        stream_opts(c, &o);
        r = httpstream_open(d->index, &o, c->job, &rd->s);
        if (r < 0)
                goto out;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open(a, rd, NULL, stream_read_cb, NULL) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                tried(c, "index %s: %s", d->index, archive_error_string(a) ? archive_error_string(a) : "unreadable");
                r = -ENOENT;
                goto out;
        }
        r = -ENOENT;
        for (;;) {
                char chunk[65536];
                la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
                if (n < 0) {
                        tried(c, "index %s: %s", d->index, archive_error_string(a) ? archive_error_string(a) : "unreadable");
                        break;
                }
                for (la_ssize_t i = 0; i <= n; i++) {
                        bool eol = i == n ? n == 0 : chunk[i] == '\n';
                        if (i == n && n > 0)
                                break;
                        if (!eol) {
                                if (ll + 1 < sizeof line)
                                        line[ll++] = chunk[i];
                                continue;
                        }
                        line[ll] = 0;
                        if (ll == 0) { /* end of a stanza */
                                if (stanza_matches(pkg, ver, filename, d)) {
                                        snprintf(url, size, "%s/%s", config_string(c->cfg, CONF_SYMBOLS_UBUNTU_MIRROR), filename);
                                        r = 0;
                                        goto out;
                                }
                                pkg[0] = ver[0] = filename[0] = 0;
                        } else if (!strncmp(line, "Package: ", 9))
                                snprintf(pkg, sizeof pkg, "%s", line + 9);
                        else if (!strncmp(line, "Version: ", 9))
                                snprintf(ver, sizeof ver, "%s", line + 9);
                        else if (!strncmp(line, "Filename: ", 10))
                                snprintf(filename, sizeof filename, "%s", line + 10);
                        ll = 0;
                }
                if (n == 0)
                        break;
        }
        if (r == -ENOENT)
                tried(c, "index %s does not list %s %s", d->index, d->package, d->version);
out:
        archive_read_free(a);
        httpstream_free(rd->s);
        free(rd);
        return r;
}

struct dfd_progress {
        struct progress pg;
};

/* libdebuginfod's progress callback, into the progress of downloads. */
static int on_debuginfod_progress(debuginfod_client *client, long done, long total) {
        struct dfd_progress *p = debuginfod_get_user_data(client);
        if (done >= 0)
                progress_update(&p->pg, (uint64_t) done, total > 0 ? (uint64_t) total : 0, NULL);
        return 0; /* never cancel: the stall timeout (DEBUGINFOD_TIMEOUT) ends a dead transfer */
}

static int from_debuginfod(struct ctx *c, struct symbols_result *res) {
        const char *urls = config_string(c->cfg, CONF_SYMBOLS_DEBUGINFOD_URLS);
        char cache[PATH_MAX], tmp[PATH_MAX], vmlinux[PATH_MAX + 16], why[512];
        char *path = NULL;
        int r;

        if (!c->q->build_id[0])
                return -ENOENT;
        if (!*urls)
                urls = getenv("DEBUGINFOD_URLS");
        if (!urls || !*urls)
                return -ENOENT;
        /* libdebuginfod reads its settings from the environment; we run one query at a time */
        snprintf(cache, sizeof cache, "%s/.debuginfod-client", c->root);
        setenv("DEBUGINFOD_URLS", urls, 1);
        setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
        char timeout[32];
        snprintf(timeout, sizeof timeout, "%llu", (unsigned long long) config_u64(c->cfg, CONF_FETCH_STALL_TIMEOUT));
        setenv("DEBUGINFOD_TIMEOUT", timeout, 1);
        debuginfod_client *client = debuginfod_begin();
        if (!client)
                return -ENOMEM;
        struct dfd_progress progress;
        progress_init(&progress.pg, c->job, "debuginfod", PROGRESS_BYTES, 0);
        debuginfod_set_user_data(client, &progress);
        debuginfod_set_progressfn(client, on_debuginfod_progress);
        note(c, "asking debuginfod (%s) for %s", urls, c->q->build_id);
        int fd = debuginfod_find_debuginfo(client, (const unsigned char *) c->q->build_id, 0, &path);
        debuginfod_end(client);
        if (fd >= 0 && progress.pg.done)
                progress_done(&progress.pg, progress.pg.done);
        if (fd < 0) {
                tried(c, "debuginfod %s: %s", urls, strerror(-fd));
                return fd == -ENOENT ? -ENOENT : -EIO;
        }
        r = new_tmp(c, tmp, sizeof tmp);
        snprintf(vmlinux, sizeof vmlinux, "%s/vmlinux", tmp);
        if (r == 0 && link(path, vmlinux) < 0) {
                /* not on our filesystem: copy, keeping holes */
                int out = open(vmlinux, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                int64_t n = out < 0 ? -errno : copy_fd_sparse(fd, out, config_u64(c->cfg, CONF_SYMBOLS_MAX_BYTES), NULL, NULL);
                if (out >= 0 && (fsync(out) < 0 || close(out) < 0) && n >= 0)
                        n = -errno;
                r = n < 0 ? (int) n : 0;
        }
        close(fd);
        /* our cache keeps it; debuginfod's own copy would only double the disk used */
        (void) unlink(path); /* only disk space is lost if it stays */
        free(path);
        if (r == 0 && (r = verify(c, vmlinux, why, sizeof why)) < 0)
                tried(c, "debuginfod %s: refused: %s", urls, why);
        if (r == 0)
                r = install(c, tmp, "debuginfod", 0, res);
        if (r < 0)
                remove_tree(tmp);
        return r;
}

/* ---- another hotkdumpd's cache: its /buildid/ID/debuginfo, /modules and /modules/PATH ---------- */

/* url's body into path (made, not there before), at most max bytes. */
static int download_to(struct ctx *c, const char *url, const char *path, uint64_t max, char *why, size_t why_size) {
        struct httpstream_opts o;
        struct httpstream *s = NULL;
        char *token = NULL;
        size_t len;
        stream_opts(c, &o);
        o.max_bytes = max;
        /* the hosts of one shared queue share their token */
        if (*config_string(c->cfg, CONF_HTTP_TOKEN_FILE) && read_secret_file(config_string(c->cfg, CONF_HTTP_TOKEN_FILE), &token, &len) == 0)
                o.bearer = token;
        o.retries = 0; /* a peer that is not there now is not waited for: the archive is next */
        int r = httpstream_open(url, &o, c->job, &s);
        int fd = r == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
        if (r == 0 && fd < 0)
                r = -errno;
        char buf[65536];
        for (ssize_t n; r == 0 && (n = httpstream_read(s, buf, sizeof buf)) != 0;) {
                if (n < 0) {
                        r = (int) n;
                        snprintf(why, why_size, "%s", httpstream_error(s) ? httpstream_error(s) : strerror(-r));
                        break;
                }
                for (ssize_t done = 0; r == 0 && done < n;) {
                        ssize_t w = write(fd, buf + done, (size_t) (n - done));
                        if (w < 0 && errno != EINTR)
                                r = -errno;
                        else if (w > 0)
                                done += w;
                }
        }
        if (fd >= 0 && r == 0 && fsync(fd) < 0)
                r = -errno;
        if (fd >= 0 && close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0 && !why[0])
                snprintf(why, why_size, "%s", strerror(-r));
        httpstream_free(s);
        free(token);
        return r;
}

/* Whether a peer's module path is plain: relative, no dot-dot, names of a few characters. */
static bool peer_path_ok(const char *p) {
        if (!*p || *p == '/' || strlen(p) > 1024 || strstr(p, "//"))
                return false;
        for (const char *s = p; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("._+-/", *s))
                        return false;
        for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
                if (s[0] == '.')
                        return false;
        return true;
}

static int from_peer(struct ctx *c, const char *peer, struct symbols_result *res) {
        char tmp[PATH_MAX], file[PATH_MAX + 1200], url[2400], why[512] = "";
        uint64_t max = config_u64(c->cfg, CONF_SYMBOLS_MAX_BYTES);
        int r = new_tmp(c, tmp, sizeof tmp);
        if (r < 0)
                return r;
        note(c, "asking the cache of %s for %s", peer, c->q->build_id);
        snprintf(url, sizeof url, "%s/buildid/%s/debuginfo", peer, c->q->build_id);
        snprintf(file, sizeof file, "%s/vmlinux", tmp);
        r = download_to(c, url, file, max, why, sizeof why);
        if (r == 0 && (r = verify(c, file, why, sizeof why)) < 0)
                tried(c, "peer %s: refused: %s", peer, why);
        else if (r < 0)
                tried(c, "peer %s: %s", peer, r == -ENOENT ? "not in its cache" : why);
        /* its modules' debug files, as many as it has */
        unsigned modules = 0;
        snprintf(url, sizeof url, "%s/buildid/%s/modules", peer, c->q->build_id);
        snprintf(file, sizeof file, "%s/modules.json", tmp);
        json_object *list = NULL;
        if (r == 0 && download_to(c, url, file, 4u << 20, why, sizeof why) == 0 && json_read_object(file, 4u << 20, &list) == 0) {
                json_object *arr = json_get(list, "modules");
                size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
                for (size_t i = 0; r == 0 && i < n && i < 8192; i++) {
                        const char *rel = json_object_get_string(json_object_array_get_idx(arr, i));
                        if (!rel || !peer_path_ok(rel)) {
                                tried(c, "peer %s: a module path that is not plain, left out", peer);
                                continue;
                        }
                        snprintf(file, sizeof file, "%s/modules/%s", tmp, rel);
                        char *slash = strrchr(file, '/');
                        *slash = 0;
                        r = mkdir_parents(file);
                        *slash = '/';
                        snprintf(url, sizeof url, "%s/buildid/%s/modules/%s", peer, c->q->build_id, rel);
                        why[0] = 0;
                        if (r == 0 && download_to(c, url, file, max, why, sizeof why) == 0)
                                modules++;
                        else if (r == 0)
                                (void) unlink(file); /* this one from the archive, then */
                }
        }
        json_object_put(list);
        snprintf(file, sizeof file, "%s/modules.json", tmp);
        (void) unlink(file);
        if (r == 0) {
                char source[600];
                snprintf(source, sizeof source, "peer %s", peer);
                note(c, "from the cache of %s: the vmlinux and %u module debug file(s)", peer, modules);
                r = install(c, tmp, source, modules, res);
        }
        if (r < 0)
                remove_tree(tmp);
        return r;
}

static int from_peers(struct ctx *c, struct symbols_result *res) {
        char list[4096];
        int r = -ENOENT;
        if (!c->q->build_id[0])
                return -ENOENT;
        snprintf(list, sizeof list, "%s", config_string(c->cfg, CONF_SYMBOLS_PEERS));
        for (char *save = NULL, *p = strtok_r(list, " \t", &save); p && r < 0; p = strtok_r(NULL, " \t", &save))
                r = from_peer(c, p, res);
        return r < 0 ? -ENOENT : 0;
}

static int from_file(struct ctx *c, const char *file, struct symbols_result *res) {
        char tmp[PATH_MAX], vmlinux[PATH_MAX + 16], why[512], bid[129];
        int fd = open(file, O_RDONLY | O_CLOEXEC), r;
        if (fd < 0) {
                tried(c, "'%s': %s", file, strerror(errno));
                return -errno;
        }
        r = elfinfo_build_id_fd(fd, bid, sizeof bid);
        if (r == -ENOEXEC) {
                /* not ELF: a .deb or .ddeb */
                lseek(fd, 0, SEEK_SET);
                char source[PATH_MAX + 16];
                snprintf(source, sizeof source, "file %s", file);
                r = from_package(c, file_read, &fd, NULL, source, res);
                close(fd);
                return r;
        }
        r = new_tmp(c, tmp, sizeof tmp);
        snprintf(vmlinux, sizeof vmlinux, "%s/vmlinux", tmp);
        if (r == 0 && (r = verify(c, file, why, sizeof why)) < 0)
                tried(c, "'%s' refused: %s", file, why);
        if (r == 0 && link(file, vmlinux) < 0) {
                int out = open(vmlinux, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                lseek(fd, 0, SEEK_SET);
                int64_t n = out < 0 ? -errno : copy_fd_sparse(fd, out, config_u64(c->cfg, CONF_SYMBOLS_MAX_BYTES), NULL, NULL);
                if (out >= 0 && (fsync(out) < 0 || close(out) < 0) && n >= 0)
                        n = -errno;
                r = n < 0 ? (int) n : 0;
                if (r < 0)
                        tried(c, "cannot copy '%s': %s", file, strerror(-r));
        }
        close(fd);
        char source[PATH_MAX + 16];
        snprintf(source, sizeof source, "file %s", file);
        if (r == 0)
                r = install(c, tmp, source, 0, res);
        if (r < 0)
                remove_tree(tmp);
        return r;
}

/* .locks/<key>.<suffix>, taken with flock(how). */
static int lock_entry(struct ctx *c, const char *suffix, int how) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/.locks", c->root);
        int r = mkdir_parents(path);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "%s/.locks/%s.%s", c->root, c->key, suffix);
        return lock_path(path, how);
}

static void fill_result(struct ctx *c, struct symbols_result *res) {
        snprintf(res->dir, sizeof res->dir, "%s/%s", c->root, c->key);
        snprintf(res->vmlinux, sizeof res->vmlinux, "%s/vmlinux", res->dir);
        snprintf(res->modules, sizeof res->modules, "%s/modules", res->dir);
}

struct entry {
        char key[256];
        time_t used;
        uint64_t bytes;
};

static int cmp_used(const void *a, const void *b) {
        const struct entry *x = a, *y = b;
        return x->used < y->used ? -1 : x->used > y->used;
}

int symbols_cache_trim(const struct config *cfg, struct job *log, bool dry_run, uint64_t *ret_freed) {
        struct ctx c = { .cfg = cfg, .job = log };
        struct entry *v = NULL;
        size_t n = 0;
        uint64_t total = 0, freed = 0;
        int removed = 0;

        snprintf(c.root, sizeof c.root, "%s/symbols", config_string(cfg, CONF_ROOT));
        DIR *d = opendir(c.root);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                char path[PATH_MAX];
                struct stat st;
                snprintf(path, sizeof path, "%s/%s/info.json", c.root, e->d_name);
                if (stat(path, &st) < 0)
                        continue;
                struct entry *nv = realloc(v, (n + 1) * sizeof *v);
                if (!nv)
                        break;
                v = nv;
                snprintf(v[n].key, sizeof v[n].key, "%s", e->d_name);
                v[n].used = st.st_mtime;
                snprintf(path, sizeof path, "%s/%s", c.root, e->d_name);
                int64_t b = tree_disk_usage(path);
                v[n].bytes = b > 0 ? (uint64_t) b : 0;
                total += v[n].bytes;
                n++;
        }
        closedir(d);
        if (n > 1)
                qsort(v, n, sizeof *v, cmp_used);
        time_t now = time(NULL);
        uint64_t cap = config_u64(cfg, CONF_SYMBOLS_CACHE_MAX_BYTES), age = config_u64(cfg, CONF_SYMBOLS_CACHE_MAX_AGE);
        for (size_t i = 0; i < n; i++) {
                bool old = (uint64_t) (now - v[i].used) > age;
                if (!old && total <= cap)
                        break;
                char lock[PATH_MAX], path[PATH_MAX], trash[PATH_MAX + 32];
                snprintf(lock, sizeof lock, "%s/.locks/%s.lock", c.root, v[i].key);
                /* a dry run makes nothing, not even a lock file: without one, nobody holds it */
                int fd = open(lock, O_RDWR | O_CLOEXEC | (dry_run ? 0 : O_CREAT), 0644);
                if (fd < 0 && !(dry_run && errno == ENOENT))
                        continue;
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        note(&c, "cache: %s is in use, kept", v[i].key);
                        close(fd);
                        continue;
                }
                const char *why = old ? "unused past symbols.cache_max_age" : "over symbols.cache_max_bytes";
                if (dry_run) {
                        note(&c, "cache: would remove %s (%llu bytes, %s)", v[i].key, (unsigned long long) v[i].bytes, why);
                        total -= v[i].bytes;
                        freed += v[i].bytes;
                        removed++;
                        if (fd >= 0)
                                close(fd);
                        continue;
                }
                /* renamed first, so that a crash midway leaves no entry that looks whole */
                snprintf(path, sizeof path, "%s/%s", c.root, v[i].key);
                snprintf(trash, sizeof trash, "%s/.trash-%s-%ld", c.root, v[i].key, (long) getpid());
                if (rename(path, trash) == 0) {
                        remove_tree(trash);
                        note(&c, "cache: removed %s (%llu bytes, %s)", v[i].key, (unsigned long long) v[i].bytes, why);
                        total -= v[i].bytes;
                        freed += v[i].bytes;
                        removed++;
                }
                close(fd);
        }
        free(v);
        if (ret_freed)
                *ret_freed = freed;
        return removed;
}

static bool have_module(const char *dir, const char *key, unsigned depth) {
        DIR *d = depth < 16 ? opendir(dir) : NULL;
        bool found = false;
        if (!d)
                return false;
        for (struct dirent *e; !found && (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                char k[256], sub[PATH_MAX];
                struct stat st;
                bool is_dir = e->d_type == DT_DIR;
                if (e->d_type == DT_UNKNOWN) /* file systems that do not say */
                        is_dir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
                if (is_dir) {
                        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
                        found = have_module(sub, key, depth + 1);
                } else if (strstr(e->d_name, ".ko")) {
                        debpkg_module_name(e->d_name, k, sizeof k);
                        found = !strcmp(k, key);
                }
        }
        closedir(d);
        return found;
}

/* <entry>/modules.absent: the modules looked for in the kernel's debug package and not found
 * there (out-of-tree, DKMS), one per line, so that the package is not read for them again. */
static bool known_absent(const char *absent, const char *key) {
        size_t kl = strlen(key);
        for (const char *p = absent; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t) (nl - p) : strlen(p);
                if (l == kl && !strncmp(p, key, kl))
                        return true;
                p = nl ? nl + 1 : p + l;
        }
        return false;
}

static void record_absent(struct ctx *c, const char *dir, char *const *wanted) {
        char path[PATH_MAX], mods[PATH_MAX], *old = NULL;
        size_t old_len = 0;
        snprintf(path, sizeof path, "%s/modules.absent", dir);
        snprintf(mods, sizeof mods, "%s/modules", dir);
        if (read_file_max(path, 1u << 20, &old, &old_len) < 0)
                old = NULL, old_len = 0;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                free(old);
                return;
        }
        if (old_len)
                fwrite(old, 1, old_len, f);
        unsigned added = 0;
        for (char *const *m = wanted; m && *m; m++) {
                char key[256];
                debpkg_module_name(*m, key, sizeof key);
                if (key[0] && !known_absent(old, key) && !have_module(mods, key, 0)) {
                        fprintf(f, "%s\n", key);
                        added++;
                }
        }
        if (fclose(f) == 0 && added) {
                (void) write_file_atomic(dir, "modules.absent", text, len); /* a hint: without it they are looked for again */
                note(c, "%u module(s) have no debug file in the package (out of tree?): not looked for again", added);
        }
        free(text);
        free(old);
}

#define MAX_MODULES 1024

/* Adds the debug files of the modules the entry lacks, from the first package that has
 * them. The entry is in use (shared lock): files are only added, each one whole, and one job
 * at a time does it. Returns the number added. */
static int add_modules(struct ctx *c, char *const *modules, struct symbols_result *res) {
        char **missing = NULL, *absent = NULL, path[PATH_MAX];
        size_t n = 0, absent_len = 0, given = 0;
        int r = 0, lock = -1;

        if (!source_enabled(c, "ubuntu") && !source_enabled(c, "debian"))
                return 0;
        /* what is missing is worked out under the lock: a job that waited finds the files the
         * other one added */
        lock = lock_entry(c, "modules.lock", LOCK_EX);
        snprintf(path, sizeof path, "%s/modules.absent", res->dir);
        if (read_file_max(path, 1u << 20, &absent, &absent_len) < 0)
                absent = NULL;
        for (char *const *m = modules; m && *m; m++)
                given++;
        missing = calloc(given < MAX_MODULES ? given + 1 : MAX_MODULES + 1, sizeof *missing);
        if (!missing) {
                r = -ENOMEM;
                goto out;
        }
        for (char *const *m = modules; m && *m && n < MAX_MODULES; m++) {
                char key[256];
                debpkg_module_name(*m, key, sizeof key);
                if (!key[0] || known_absent(absent, key) || have_module(res->modules, key, 0))
                        continue;
                bool dup = false;
                for (size_t i = 0; i < n && !dup; i++) {
                        char other[256];
                        debpkg_module_name(missing[i], other, sizeof other);
                        dup = !strcmp(other, key);
                }
                if (!dup)
                        missing[n++] = *m;
        }
        if (!n)
                goto out;
        note(c, "debug files of %zu module(s) are not in the cache yet: looking in the packages", n);
        struct candidate cand[32];
        size_t nc = candidates(c, cand, 32);
        struct debpkg_want want = { .release = c->q->release, .modules = missing, .modules_only = true,
                                    .max_bytes = config_u64(c->cfg, CONF_SYMBOLS_MAX_BYTES) };
        r = -ENOENT;
        for (size_t i = 0; i < nc && r == -ENOENT; i++) {
                char url[1200], source[1300], err[512];
                if (cand[i].url[0])
                        snprintf(url, sizeof url, "%s", cand[i].url);
                else if (index_lookup(c, &cand[i], url, sizeof url) < 0)
                        continue;
                struct httpstream_opts o;
                struct httpstream *st;
                stream_opts(c, &o);
                snprintf(source, sizeof source, "%s %s", cand[i].source, url);
                if (httpstream_open(url, &o, c->job, &st) < 0)
                        continue;
                struct debpkg_result dr = { 0 };
                r = debpkg_extract(http_read, st, &want, res->dir, &dr, err, sizeof err);
                if (r < 0)
                        package_failed(c, source, st, &dr, err);
                else {
                        note(c, "%s: %u module debug file(s) added, %llu bytes written from %llu read", source,
                             dr.modules_found, (unsigned long long) dr.bytes_written, (unsigned long long) dr.bytes_read);
                        res->modules_found += dr.modules_found;
                        r = (int) dr.modules_found;
                }
                httpstream_free(st);
                /* the package was read to its end: what it did not hold, it does not have */
                if ((r >= 0 && !dr.stopped_early) || (r == -ENOENT && dr.bytes_read))
                        record_absent(c, res->dir, missing);
                /* the same package everywhere: one that lacks them settles it */
                if (r == -ENOENT && dr.bytes_read)
                        break;
        }
out:
        if (lock >= 0)
                close(lock);
        free(absent);
        free(missing);
        return r;
}

int symbols_add_modules(const struct config *cfg, const struct symbols_query *q, struct job *log,
                        struct symbols_result *res, char **modules, char *err, size_t err_size) {
        struct ctx c = { .cfg = cfg, .q = q, .job = log };
        snprintf(c.root, sizeof c.root, "%s/symbols", config_string(cfg, CONF_ROOT));
        make_key(&c);
        int r = add_modules(&c, modules, res);
        if (r < 0 && r != -ENOMEM)
                snprintf(err, err_size, "module debug files: %s", c.tried[0] ? c.tried : "no package source applies");
        return r;
}

/* Whether the entry has a vmlinux that is the dump's: an entry is checked at every use, so
 * one whose file was replaced or prepared wrongly is never given to crash. */
static bool cache_usable(struct ctx *c, const struct symbols_result *res) {
        char why[512];
        struct stat st;
        if (stat(res->vmlinux, &st) < 0)
                return false;
        if (verify(c, res->vmlinux, why, sizeof why) < 0) {
                tried(c, "cache: %s refused: %s", res->vmlinux, why);
                return false;
        }
        return true;
}

/* Removes an entry that failed its check (under the fetch lock), renamed away first. */
static void discard_entry(struct ctx *c) {
        char path[PATH_MAX], trash[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", c->root, c->key);
        snprintf(trash, sizeof trash, "%s/.trash-%s-%ld", c->root, c->key, (long) getpid());
        if (access(path, F_OK) == 0 && rename(path, trash) == 0) {
                remove_tree(trash);
                note(c, "cache: removed %s, which is fetched again", path);
        }
}

/* Prepares an entry made before preparation existed, the first time it is used: only when no
 * other job holds it (nobody's crash has the file open), with the fetch lock held so that no
 * fetch or other upgrade runs beside it. *lock, the caller's shared lock, is given up and
 * taken again; the entry may have been purged in between (the caller looks again). */
static int upgrade(struct ctx *c, int *lock, struct symbols_result *res) {
        int fetch = lock_entry(c, "fetch.lock", LOCK_EX);
        if (fetch < 0)
                return fetch;
        close(*lock);
        *lock = lock_entry(c, "lock", LOCK_EX | LOCK_NB);
        if (*lock >= 0) {
                if (access(res->vmlinux, F_OK) == 0 && !prepare_done(res->vmlinux))
                        prepare(c, res->vmlinux);
                while (flock(*lock, LOCK_SH) < 0 && errno == EINTR)
                        ;
        } else {
                note(c, "cache: %s is not prepared yet and is in use by another job: prepared when it is not", res->dir);
                *lock = lock_entry(c, "lock", LOCK_SH);
        }
        close(fetch);
        return *lock < 0 ? *lock : 0;
}

int symbols_find(const struct config *cfg, const struct symbols_query *q, const char *debug_file, struct job *log,
                 struct symbols_result *res, char *err, size_t err_size) {
        struct ctx c = { .cfg = cfg, .q = q, .job = log };
        struct stat st;
        int r, lock;

        memset(res, 0, sizeof *res);
        res->lock_fd = -1;
        if (!q->release[0]) {
                snprintf(err, err_size, "the dump's kernel release is not known");
                return -EINVAL;
        }
        snprintf(c.root, sizeof c.root, "%s/symbols", config_string(cfg, CONF_ROOT));
        r = mkdir_parents(c.root);
        if (r < 0) {
                snprintf(err, err_size, "cannot make '%s': %s", c.root, strerror(-r));
                return r;
        }
        make_key(&c);
        fill_result(&c, res);
        /* The entry's lock is held shared by every job that uses it, from now until the caller
         * closes res->lock_fd; purging takes it exclusive, without waiting, and so skips entries
         * in use. Fetching and installing take a second lock, exclusive, so that one job fetches
         * a kernel and the others wait for that (not for each other's crash sessions), then find
         * it in the cache. */
        lock = lock_entry(&c, "lock", LOCK_SH);
        if (lock < 0) {
                snprintf(err, err_size, "cannot lock the cache entry %s: %s", c.key, strerror(-lock));
                return lock;
        }
        bool hit = !debug_file && source_enabled(&c, "cache") && cache_usable(&c, res);
        int fetch_lock = -1;
        if (hit && config_bool(cfg, CONF_SYMBOLS_PREPARE) && !prepare_done(res->vmlinux)) {
                r = upgrade(&c, &lock, res);
                if (r < 0) {
                        snprintf(err, err_size, "cannot lock the cache entry %s: %s", c.key, strerror(-r));
                        return r;
                }
                hit = stat(res->vmlinux, &st) == 0; /* the purge may have taken it in between */
        }
        if (!hit) {
                fetch_lock = lock_entry(&c, "fetch.lock", LOCK_EX);
                if (fetch_lock < 0) {
                        close(lock);
                        snprintf(err, err_size, "cannot lock the cache entry %s: %s", c.key, strerror(-fetch_lock));
                        return fetch_lock;
                }
                hit = !debug_file && source_enabled(&c, "cache") && cache_usable(&c, res);
                /* an entry there that failed its check is fetched again; a user's file is
                 * checked before it takes an entry's place, which stays until then */
                if (!hit && !debug_file && source_enabled(&c, "cache"))
                        discard_entry(&c);
        }

        r = -ENOENT;
        if (debug_file) {
                /* the user's file wins over the cache once verified: install() swaps it in */
                r = from_file(&c, debug_file, res);
        } else {
                if (hit) {
                        char info[PATH_MAX + 16];
                        snprintf(info, sizeof info, "%s/info.json", res->dir);
                        utimensat(AT_FDCWD, info, NULL, 0); /* last use, for least-recently-used purging */
                        snprintf(res->source, sizeof res->source, "cache");
                        note(&c, "cache hit: %s", res->dir);
                        r = 0;
                }
                if (r < 0 && *config_string(cfg, CONF_SYMBOLS_PEERS))
                        r = from_peers(&c, res);
                if (r < 0 && source_enabled(&c, "debuginfod"))
                        r = from_debuginfod(&c, res);
                if (r < 0) {
                        struct candidate cand[32];
                        size_t n = candidates(&c, cand, 32);
                        if (!symbols_deb_arch(q->arch[0] ? q->arch : "x86_64"))
                                tried(&c, "archives: the architecture '%s' has no Debian name hotkdump knows", q->arch);
                        for (size_t i = 0; i < n && r < 0; i++) {
                                char url[1200];
                                if (cand[i].url[0])
                                        r = from_url(&c, cand[i].url, cand[i].source, res);
                                else if (index_lookup(&c, &cand[i], url, sizeof url) == 0)
                                        r = from_url(&c, url, cand[i].source, res);
                        }
                }
        }
        if (fetch_lock >= 0)
                close(fetch_lock);
        if (r < 0) {
                snprintf(err, err_size, "no debug symbols for %s%s%s: %s", q->release, q->build_id[0] ? " build-id " : "",
                         q->build_id, c.tried[0] ? c.tried : "no source applies");
                close(lock);
                symbols_strv_free(c.loaded);
                return r == -EBADMSG ? -EBADMSG : -ENOENT;
        }
        res->lock_fd = lock;
        if (strcmp(res->source, "cache") != 0)
                symbols_cache_trim(cfg, log, false, NULL);
        /* the cache or debuginfod may lack modules this dump has loaded (add_modules says why
         * when it cannot add them) */
        if (!debug_file) {
                learn_loaded(&c, NULL, 0, res->vmlinux);
                if (wanted(&c))
                        add_modules(&c, wanted(&c), res);
        }
        symbols_strv_free(c.loaded);
        if (!res->modules_found) {
                struct stat ms;
                if (stat(res->modules, &ms) == 0)
                        res->modules_found = 1;
        }
        return 0;
}

/* The kernel of a case folder (its summary.json) and the modules its kernel log names. */
int symbols_query_from_case(const char *dir, struct symbols_query *q, char *err, size_t err_size) {
        char path[4096];
        snprintf(path, sizeof path, "%s/summary.json", dir);
        json_object *s = json_object_from_file(path), *id;
        if (!s || !json_object_object_get_ex(s, "identity", &id)) {
                json_object_put(s);
                return log_reason(err, err_size, -ENOENT, "'%s' has no summary.json with the dump's identity (run analyze first)",
                                  dir);
        }
        static const struct {
                const char *key;
                size_t off;
        } f[] = {
                { "release", offsetof(struct symbols_query, release) },
                { "version", offsetof(struct symbols_query, version) },
                { "arch", offsetof(struct symbols_query, arch) },
                { "build_id", offsetof(struct symbols_query, build_id) },
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
                json_object *v;
                if (json_object_object_get_ex(id, f[i].key, &v) && json_object_get_string(v))
                        snprintf((char *) q + f[i].off, 65, "%s", json_object_get_string(v));
        }
        json_object *v;
        if (json_object_object_get_ex(id, "build_id", &v) && json_object_get_string(v))
                snprintf(q->build_id, sizeof q->build_id, "%s", json_object_get_string(v));
        json_object_put(s);
        snprintf(path, sizeof path, "%s/vmcore", dir);
        if (access(path, R_OK) == 0)
                snprintf(q->vmcore, sizeof q->vmcore, "%s", path);
        char *log = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/dmesg.txt", dir);
        if (!q->modules && read_file_max(path, 64u << 20, &log, &len) == 0) {
                q->modules = symbols_modules_from_log(log, len);
                free(log);
        }
        return 0;
}
