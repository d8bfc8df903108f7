/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Byte sources for dump identification.
 * Each one answers pread() without ever reading more of the underlying file than asked. */

#include <archive.h>
#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "dumpsrc.h"

enum src_kind { SRC_FD, SRC_MEMORY, SRC_DECOMPRESS, SRC_FLATTENED };

enum scan_state { SCAN_MORE, SCAN_END, SCAN_TRUNCATED, SCAN_CAPPED, SCAN_BAD };

struct flat_record {
        uint64_t loff; /* offset in the dump */
        uint64_t len;
        uint64_t poff; /* offset of the data in the stream */
};

/* makedumpfile's flattened format: a 4 KiB header block, then records, all big-endian. */
#define FLAT_SIGNATURE "makedumpfile"
#define FLAT_HEADER_BLOCK 4096
#define FLAT_RECORD_MAX (UINT64_C(1) << 30)

struct dumpsrc {
        enum src_kind kind;
        char error[256];
        struct dumpsrc *inner;

        int fd;
        uint64_t size;
        bool size_known;

        const uint8_t *mem;

        /* decompress */
        struct archive *archive;
        uint8_t *buf;
        size_t buf_len, buf_cap, max_bytes;
        bool eof;
        uint64_t inner_pos;
        char filter[32];
        uint8_t iobuf[64 * 1024];

        /* flattened */
        struct flat_record *recs;
        size_t nrecs, recs_cap, max_records;
        uint64_t next_header, extent;
        enum scan_state scan;
};

/* the reason reading the dump failed, in s->error */
#define set_error(s, ...) (void) log_reason((s)->error, sizeof (s)->error, 0, __VA_ARGS__)

static int src_new(enum src_kind kind, struct dumpsrc **ret) {
        struct dumpsrc *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->kind = kind;
        s->fd = -1;
        *ret = s;
        return 0;
}

int dumpsrc_new_fd(int fd, struct dumpsrc **ret) {
        struct dumpsrc *s;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EINVAL;
        r = src_new(SRC_FD, &s);
        if (r < 0)
                return r;
        s->fd = fd;
        if (S_ISREG(st.st_mode)) {
                s->size = (uint64_t) st.st_size;
                s->size_known = true;
        } else {
                uint64_t bytes;
                if (ioctl(fd, BLKGETSIZE64, &bytes) == 0) {
                        s->size = bytes;
                        s->size_known = true;
                }
        }
        *ret = s;
        return 0;
}

int dumpsrc_new_memory(const void *buf, size_t len, struct dumpsrc **ret) {
        struct dumpsrc *s;
        int r = src_new(SRC_MEMORY, &s);
        if (r < 0)
                return r;
        s->mem = buf;
        s->size = len;
        s->size_known = true;
        *ret = s;
        return 0;
}

static la_ssize_t decompress_read_cb(struct archive *a, void *userdata, const void **ret_buf) {
        struct dumpsrc *s = userdata;
        ssize_t n = dumpsrc_pread(s->inner, s->iobuf, sizeof s->iobuf, s->inner_pos);
        if (n < 0) {
                archive_set_error(a, (int) -n, "reading the compressed file: %s", strerror((int) -n));
                return -1;
        }
        s->inner_pos += (uint64_t) n;
        *ret_buf = s->iobuf;
        return n;
}

int dumpsrc_new_decompress(struct dumpsrc *inner, size_t max_bytes, struct dumpsrc **ret,
                           char *reason, size_t reason_size) {
        struct archive_entry *entry;
        struct dumpsrc *s;
        int r;

        r = src_new(SRC_DECOMPRESS, &s);
        if (r < 0) {
                dumpsrc_free(inner);
                return r;
        }
        s->inner = inner;
        s->max_bytes = max_bytes;
        s->archive = archive_read_new();
        if (!s->archive) {
                dumpsrc_free(s);
                return -ENOMEM;
        }
        archive_read_support_filter_all(s->archive);
        archive_read_support_format_raw(s->archive);
        if (archive_read_open(s->archive, s, NULL, decompress_read_cb, NULL) != ARCHIVE_OK ||
            archive_read_next_header(s->archive, &entry) != ARCHIVE_OK) {
                const char *msg = archive_error_string(s->archive);
                set_error(s, "compressed stream: %s", msg ? msg : "not readable");
                r = archive_errno(s->archive) == ENOMEM ? -ENOMEM : -EBADMSG;
                goto fail;
        }
        if (archive_filter_count(s->archive) < 2) {
                set_error(s, "no compression recognised");
                r = -EBADMSG;
                goto fail;
        }
        snprintf(s->filter, sizeof s->filter, "%s", archive_filter_name(s->archive, 0));
        *ret = s;
        return 0;
fail:
        snprintf(reason, reason_size, "%s", s->error);
        dumpsrc_free(s);
        return r;
}

int dumpsrc_new_flattened(struct dumpsrc *inner, size_t max_records, struct dumpsrc **ret) {
        uint8_t h[32];
        struct dumpsrc *s;
        ssize_t n;
        int r;

        r = src_new(SRC_FLATTENED, &s);
        if (r < 0) {
                dumpsrc_free(inner);
                return r;
        }
        s->inner = inner;
        s->max_records = max_records;
        s->next_header = FLAT_HEADER_BLOCK;

        n = dumpsrc_pread(inner, h, sizeof h, 0);
        if (n < 0) {
                dumpsrc_free(s);
                return (int) n;
        }
        if (n < (ssize_t) sizeof h || memcmp(h, FLAT_SIGNATURE, strlen(FLAT_SIGNATURE)) != 0) {
                dumpsrc_free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

struct dumpsrc *dumpsrc_free(struct dumpsrc *s) {
        if (!s)
                return NULL;
        if (s->archive)
                archive_read_free(s->archive);
        dumpsrc_free(s->inner);
        free(s->buf);
        free(s->recs);
        free(s);
        return NULL;
}

static uint64_t be64(const uint8_t *p) {
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
                x = (x << 8) | p[i];
        return x;
}

static ssize_t fd_pread(struct dumpsrc *s, void *buf, size_t len, uint64_t off) {
        size_t done = 0;
        while (done < len) {
                ssize_t n = pread(s->fd, (uint8_t *) buf + done, len - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

static ssize_t decompress_pread(struct dumpsrc *s, void *buf, size_t len, uint64_t off) {
        uint64_t want = off + len;

        while (s->buf_len < want && !s->eof && s->buf_len < s->max_bytes) {
                if (s->buf_len == s->buf_cap) {
                        size_t cap = s->buf_cap ? s->buf_cap * 2 : 1024 * 1024;
                        if (cap > s->max_bytes)
                                cap = s->max_bytes;
                        uint8_t *b = realloc(s->buf, cap);
                        if (!b)
                                return -ENOMEM;
                        s->buf = b;
                        s->buf_cap = cap;
                }
                la_ssize_t n = archive_read_data(s->archive, s->buf + s->buf_len, s->buf_cap - s->buf_len);
                if (n < 0) {
                        const char *msg = archive_error_string(s->archive);
                        set_error(s, "%s stream: %s", s->filter, msg ? msg : "damaged");
                        return -EBADMSG;
                }
                if (n == 0)
                        s->eof = true;
                s->buf_len += (size_t) n;
        }
        if (off >= s->buf_len)
                return s->eof ? 0 : -ENODATA;
        size_t avail = s->buf_len - (size_t) off;
        if (avail < len && !s->eof)
                return -ENODATA;
        if (avail > len)
                avail = len;
        memcpy(buf, s->buf + off, avail);
        return (ssize_t) avail;
}

/* Reads the next record header; updates the scan state. */
static int flat_scan_one(struct dumpsrc *s) {
        uint8_t h[16];
        uint64_t inner_size;
        ssize_t n;

        if (s->nrecs >= s->max_records) {
                s->scan = SCAN_CAPPED;
                return 0;
        }
        n = dumpsrc_pread(s->inner, h, sizeof h, s->next_header);
        if (n < 0)
                return (int) n;
        if (n < (ssize_t) sizeof h) {
                s->scan = SCAN_TRUNCATED;
                return 0;
        }
        int64_t loff = (int64_t) be64(h), len = (int64_t) be64(h + 8);
        if (loff == -1 && len == -1) {
                s->scan = SCAN_END;
                return 0;
        }
        if (loff < 0 || len <= 0 || (uint64_t) len > FLAT_RECORD_MAX ||
            (uint64_t) loff > UINT64_MAX / 2) {
                set_error(s, "flattened stream: bad record at byte %llu (offset %lld, size %lld)",
                          (unsigned long long) s->next_header, (long long) loff, (long long) len);
                s->scan = SCAN_BAD;
                return 0;
        }
        uint64_t data = s->next_header + sizeof h;
        uint64_t avail = (uint64_t) len;
        bool cut = false;
        if (dumpsrc_size(s->inner, &inner_size) && data + avail > inner_size) {
                avail = data < inner_size ? inner_size - data : 0;
                cut = true;
        }
        if (avail > 0) {
                if (s->nrecs == s->recs_cap) {
                        size_t cap = s->recs_cap ? s->recs_cap * 2 : 256;
                        struct flat_record *r = realloc(s->recs, cap * sizeof *r);
                        if (!r)
                                return -ENOMEM;
                        s->recs = r;
                        s->recs_cap = cap;
                }
                s->recs[s->nrecs++] = (struct flat_record) { (uint64_t) loff, avail, data };
                if ((uint64_t) loff + avail > s->extent)
                        s->extent = (uint64_t) loff + avail;
        }
        s->next_header = data + (uint64_t) len;
        if (cut)
                s->scan = SCAN_TRUNCATED;
        return 0;
}

static ssize_t flat_pread(struct dumpsrc *s, void *buf, size_t len, uint64_t off) {
        uint8_t *covered;
        size_t applied = 0, ncovered = 0;
        ssize_t result;
        int r;

        if (len == 0)
                return 0;
        covered = calloc(1, len);
        if (!covered)
                return -ENOMEM;
        memset(buf, 0, len);

        for (;;) {
                /* Apply records in stream order so that a region written twice reads as the last write. */
                for (; applied < s->nrecs; applied++) {
                        const struct flat_record *rec = &s->recs[applied];
                        uint64_t a = rec->loff > off ? rec->loff : off;
                        uint64_t b = rec->loff + rec->len < off + len ? rec->loff + rec->len : off + len;
                        if (a >= b)
                                continue;
                        ssize_t n = dumpsrc_pread(s->inner, (uint8_t *) buf + (a - off), (size_t) (b - a),
                                                  rec->poff + (a - rec->loff));
                        if (n < 0) {
                                result = n;
                                goto out;
                        }
                        for (uint64_t i = a - off; i < b - off; i++)
                                if (!covered[i]) {
                                        covered[i] = 1;
                                        ncovered++;
                                }
                }
                if (ncovered == len) {
                        result = (ssize_t) len;
                        goto out;
                }
                if (s->scan != SCAN_MORE)
                        break;
                r = flat_scan_one(s);
                if (r < 0) {
                        result = r;
                        goto out;
                }
        }

        switch (s->scan) {
        case SCAN_END:
                /* never written means a hole: zeros, up to the end of what was written */
                result = off >= s->extent ? 0 : (ssize_t) (s->extent - off < len ? s->extent - off : len);
                break;
        case SCAN_TRUNCATED: {
                size_t i = 0;
                while (i < len && covered[i])
                        i++;
                result = (ssize_t) i;
                break;
        }
        case SCAN_CAPPED:
                result = -ENODATA;
                break;
        default:
                result = -EBADMSG;
                break;
        }
out:
        free(covered);
        return result;
}

ssize_t dumpsrc_pread(struct dumpsrc *s, void *buf, size_t len, uint64_t off) {
        if (len > SSIZE_MAX)
                return -EINVAL;
        switch (s->kind) {
        case SRC_FD:
                return fd_pread(s, buf, len, off);
        case SRC_MEMORY:
                if (off >= s->size)
                        return 0;
                if (len > s->size - off)
                        len = (size_t) (s->size - off);
                memcpy(buf, s->mem + off, len);
                return (ssize_t) len;
        case SRC_DECOMPRESS:
                return decompress_pread(s, buf, len, off);
        case SRC_FLATTENED:
                return flat_pread(s, buf, len, off);
        }
        return -EINVAL;
}

bool dumpsrc_size(struct dumpsrc *s, uint64_t *ret) {
        if (!s->size_known)
                return false;
        *ret = s->size;
        return true;
}

const char *dumpsrc_filter_name(struct dumpsrc *s) {
        for (; s; s = s->inner)
                if (s->kind == SRC_DECOMPRESS)
                        return s->filter;
        return NULL;
}

int dumpsrc_flattened_complete(struct dumpsrc *s, bool *ret) {
        uint64_t size;
        uint8_t t[16];
        ssize_t n;

        if (s->kind != SRC_FLATTENED)
                return -EINVAL;
        if (!dumpsrc_size(s->inner, &size))
                return -ENODATA;
        if (size < FLAT_HEADER_BLOCK + sizeof t) {
                *ret = false;
                return 0;
        }
        n = dumpsrc_pread(s->inner, t, sizeof t, size - sizeof t);
        if (n < 0)
                return (int) n;
        *ret = n == (ssize_t) sizeof t && be64(t) == UINT64_MAX && be64(t + 8) == UINT64_MAX;
        return 0;
}

const char *dumpsrc_error(struct dumpsrc *s) {
        for (; s; s = s->inner)
                if (s->error[0])
                        return s->error;
        return "";
}
