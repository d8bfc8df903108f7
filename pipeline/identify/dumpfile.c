/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Dump identification from headers: kdump-compressed, diskdump, ELF, flattened streams,
 * whole-file compression and saved kernel logs. Everything read here is untrusted input. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <lzo1x.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/magic.h"
#include "dumpfile.h"
#include "dumpsrc.h"
#include "vmcoreinfo.h"

const struct dumpfile_limits dumpfile_limits_default = {
        .stream_prefix_max = 64u << 20,
        .flattened_records_max = 1u << 18,
        .notes_max = 16u << 20,
        .bitmap_max = 256u << 20,
};

#define KDUMP_SIGNATURE "KDUMP   "
#define DISKDUMP_SIGNATURE "DISKDUMP"
#define SIG_LEN 8

/* disk_dump_header.status and page_desc.flags */
#define DUMP_DH_COMPRESSED_ZLIB 0x1
#define DUMP_DH_COMPRESSED_LZO 0x2
#define DUMP_DH_COMPRESSED_SNAPPY 0x4
#define DUMP_DH_COMPRESSED_INCOMPLETE 0x8
#define DUMP_DH_COMPRESSED_ZSTD 0x20

#define PAGE_DESC_SIZE 24
#define UTS_FIELDS 6
#define UTS_STRUCT_LEN (UTS_FIELDS * DUMP_UTS_LEN)
#define X86_64_START_KERNEL_MAP UINT64_C(0xffffffff80000000)

#define EM_386 3
#define EM_PPC 20
#define EM_PPC64 21
#define EM_S390 22
#define EM_ARM 40
#define EM_X86_64 62
#define EM_AARCH64 183
#define EM_RISCV 243
#define EM_LOONGARCH 258
#define ET_CORE 4
#define PT_LOAD 1
#define PT_NOTE 4
#define NT_PRSTATUS 1
#define NT_AUXV 6
#define NT_FILE 0x46494c45
#define PN_XNUM 0xffff

/* How identification reads physical memory: through the kdump page table or ELF segments. */
struct ident {
        struct dumpsrc *src;
        const struct dumpfile_limits *limits;
        struct dump_info *info;
        char *reason;
        size_t reason_size;
        bool be;    /* big-endian dump */
        bool is64;  /* 64-bit machine */

        /* kdump */
        uint32_t block_size;
        uint64_t bitmap2_off, bitmap_bits, pd_off;
        uint64_t first_pfn;

        /* ELF */
        uint8_t *phdrs;
        size_t phnum, phentsize;
        uint16_t e_machine;
};

/* the reason the dump cannot be identified, in id->reason */
#define fail(id, r, ...) log_reason((id)->reason, (id)->reason_size, (r), __VA_ARGS__)

static void set_incomplete(struct dump_info *info, enum dump_complete c, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void set_incomplete(struct dump_info *info, enum dump_complete c, const char *fmt, ...) {
        va_list ap;
        /* the first reason found is the one that matters */
        if (info->complete == DUMP_COMPLETE_NO)
                return;
        info->complete = c;
        va_start(ap, fmt);
        vsnprintf(info->complete_reason, sizeof info->complete_reason, fmt, ap);
        va_end(ap);
}

static uint64_t get_uint(const struct ident *id, const uint8_t *p, size_t n) {
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++)
                x |= (uint64_t) p[id->be ? n - 1 - i : i] << (8 * i);
        return x;
}
#define U16(id, p) ((uint16_t) get_uint(id, p, 2))
#define U32(id, p) ((uint32_t) get_uint(id, p, 4))
#define U64(id, p) get_uint(id, p, 8)

/* Copies a fixed-size field from a dump into a C string, keeping printable ASCII only. */
static void copy_text(char *dst, size_t size, const void *src, size_t n) {
        const uint8_t *s = src;
        size_t i = 0;
        for (; i < n && i + 1 < size && s[i]; i++)
                dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char) s[i] : '?';
        dst[i] = 0;
}

static ssize_t src_read(struct ident *id, void *buf, size_t len, uint64_t off) {
        return dumpsrc_pread(id->src, buf, len, off);
}

/* Reads exactly len bytes or explains why not: -ENODATA beyond what can be seen, -EPIPE when the
 * file ends first (truncated), other -errno as they come. */
static int src_read_full(struct ident *id, void *buf, size_t len, uint64_t off) {
        ssize_t n = src_read(id, buf, len, off);
        if (n < 0)
                return (int) n;
        if ((size_t) n < len)
                return -EPIPE;
        return 0;
}

static bool is_64bit_machine(const char *m) {
        static const char *const m64[] = { "x86_64", "aarch64", "arm64", "ppc64", "ppc64le", "s390x",
                                           "riscv64", "loongarch64", "mips64", "sparc64", "ia64", "alpha" };
        for (size_t i = 0; i < sizeof m64 / sizeof m64[0]; i++)
                if (strcmp(m, m64[i]) == 0)
                        return true;
        return false;
}

static void vmcoreinfo_facts(struct ident *id) {
        struct dump_info *info = id->info;
        const char *v = info->vmcoreinfo;
        size_t n = info->vmcoreinfo_len;
        char tmp[DUMP_UTS_LEN];
        uint64_t x;

        if (!v)
                return;
        if (!info->release[0] && vmcoreinfo_get_string(v, n, "OSRELEASE", tmp, sizeof tmp) > 0)
                copy_text(info->release, sizeof info->release, tmp, sizeof tmp);
        char bid[sizeof info->build_id];
        int r = vmcoreinfo_get_string(v, n, "BUILD-ID", bid, sizeof bid);
        bool hex = r > 0;
        for (int i = 0; hex && i < r; i++)
                hex = isxdigit((unsigned char) bid[i]);
        if (hex)
                memcpy(info->build_id, bid, (size_t) r + 1);
        if (!info->page_size && vmcoreinfo_get_u64(v, n, "PAGESIZE", 10, &x) == 0 && x >= 512 && x <= (1u << 20) &&
            (x & (x - 1)) == 0)
                info->page_size = (uint32_t) x;
        if (!info->has_crash_time && vmcoreinfo_get_u64(v, n, "CRASHTIME", 10, &x) == 0 && x > 0 &&
            x < (UINT64_C(1) << 40)) {
                info->crash_time = (int64_t) x;
                info->has_crash_time = true;
        }
}

static int store_vmcoreinfo(struct ident *id, const uint8_t *p, size_t n) {
        struct dump_info *info = id->info;
        const uint8_t *z = memchr(p, 0, n);
        if (z)
                n = (size_t) (z - p);
        free(info->vmcoreinfo);
        info->vmcoreinfo = malloc(n + 1);
        if (!info->vmcoreinfo)
                return -ENOMEM;
        memcpy(info->vmcoreinfo, p, n);
        info->vmcoreinfo[n] = 0;
        info->vmcoreinfo_len = n;
        return 0;
}

/* Walks ELF-style notes (4-byte aligned, as both ELF cores and kdump headers carry them). */
static int parse_notes(struct ident *id, const uint8_t *p, size_t n, int *ret_prstatus, bool *ret_process) {
        size_t o = 0;
        while (o + 12 <= n) {
                uint32_t namesz = U32(id, p + o), descsz = U32(id, p + o + 4), type = U32(id, p + o + 8);
                size_t name_off = o + 12;
                size_t desc_off = name_off + (((size_t) namesz + 3) & ~(size_t) 3);
                size_t end = desc_off + (((size_t) descsz + 3) & ~(size_t) 3);
                if (namesz > n || descsz > n || desc_off > n || end > n || end < desc_off)
                        break;
                const char *name = (const char *) p + name_off;
                if (namesz >= 10 && memcmp(name, "VMCOREINFO", 10) == 0 && (namesz == 10 || name[10] == 0)) {
                        int r = store_vmcoreinfo(id, p + desc_off, descsz);
                        if (r < 0)
                                return r;
                } else if (namesz >= 4 && memcmp(name, "CORE", 4) == 0 && (namesz == 4 || name[4] == 0)) {
                        if (type == NT_PRSTATUS)
                                (*ret_prstatus)++;
                        else if (type == NT_AUXV || type == NT_FILE)
                                *ret_process = true;
                }
                if (end == o)
                        break;
                o = end;
        }
        return 0;
}

/* ---- kdump-compressed ------------------------------------------------------------------- */

static int kdump_count_bits(struct ident *id, uint64_t from, uint64_t to, uint64_t *ret) {
        uint8_t buf[64 * 1024];
        uint64_t count = 0;

        if (to > id->bitmap_bits)
                to = id->bitmap_bits;
        if (from >= to) {
                *ret = 0;
                return 0;
        }
        uint64_t first_byte = from / 8, last_byte = (to - 1) / 8;
        for (uint64_t b = first_byte; b <= last_byte;) {
                size_t chunk = sizeof buf;
                if (last_byte - b + 1 < chunk)
                        chunk = (size_t) (last_byte - b + 1);
                int r = src_read_full(id, buf, chunk, id->bitmap2_off + b);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < chunk; i++) {
                        uint8_t byte = buf[i];
                        uint64_t base = (b + i) * 8;
                        if (base < from)
                                byte &= (uint8_t) (0xffu << (from - base));
                        if (base + 8 > to)
                                byte &= (uint8_t) (0xffu >> (base + 8 - to));
                        count += (uint64_t) __builtin_popcount(byte);
                }
                b += chunk;
        }
        *ret = count;
        return 0;
}

static int kdump_read_page(struct ident *id, uint64_t pfn, uint8_t *out) {
        uint8_t pd[PAGE_DESC_SIZE], bit;
        uint64_t index;
        int r;

        if (pfn < id->first_pfn || pfn >= id->bitmap_bits || pfn >= id->info->max_mapnr)
                return -ENXIO;
        r = src_read_full(id, &bit, 1, id->bitmap2_off + pfn / 8);
        if (r < 0)
                return r;
        if (!(bit & (1u << (pfn % 8))))
                return -ENXIO; /* filtered out of the dump */
        /* the pfn comes from the dump's own VMCOREINFO: do not let it make us read gigabytes */
        if ((pfn - id->first_pfn) / 8 > id->limits->bitmap_max)
                return -ENXIO;
        r = kdump_count_bits(id, id->first_pfn, pfn, &index);
        if (r < 0)
                return r;
        r = src_read_full(id, pd, sizeof pd, id->pd_off + index * PAGE_DESC_SIZE);
        if (r < 0)
                return r;
        uint64_t off = U64(id, pd);
        uint32_t size = U32(id, pd + 8), flags = U32(id, pd + 12);
        if (size == 0 || size > id->block_size)
                return -EBADMSG;
        uint8_t *in = malloc(size);
        if (!in)
                return -ENOMEM;
        r = src_read_full(id, in, size, off);
        if (r < 0)
                goto out;
        size_t bs = id->block_size;
        if (flags & DUMP_DH_COMPRESSED_ZLIB) {
                uLongf outlen = bs;
                r = uncompress(out, &outlen, in, size) == Z_OK && outlen == bs ? 0 : -EBADMSG;
        } else if (flags & DUMP_DH_COMPRESSED_LZO) {
                lzo_uint outlen = bs;
                r = lzo_init() == LZO_E_OK && lzo1x_decompress_safe(in, size, out, &outlen, NULL) == LZO_E_OK &&
                                    outlen == bs
                            ? 0
                            : -EBADMSG;
        } else if (flags & DUMP_DH_COMPRESSED_SNAPPY) {
                size_t outlen = bs;
                r = snappy_uncompress((const char *) in, size, (char *) out, &outlen) == SNAPPY_OK && outlen == bs
                            ? 0
                            : -EBADMSG;
        } else if (flags & DUMP_DH_COMPRESSED_ZSTD) {
                size_t n = ZSTD_decompress(out, bs, in, size);
                r = !ZSTD_isError(n) && n == bs ? 0 : -EBADMSG;
        } else if (size == bs) {
                memcpy(out, in, bs);
                r = 0;
        } else
                r = -EBADMSG;
out:
        free(in);
        return r;
}

/* ---- reading the utsname from memory ---------------------------------------------------- */

static int elf_read_phys(struct ident *id, uint64_t addr, bool virt, uint8_t *buf, size_t len);

/* Reads len bytes of the kernel's memory at the kernel-image virtual address vaddr. */
static int read_kernel_vaddr(struct ident *id, uint64_t vaddr, uint8_t *buf, size_t len) {
        struct dump_info *info = id->info;
        uint64_t phys_base = 0;
        bool x86_64 = strcmp(info->arch, "x86_64") == 0;
        int r;

        if (info->format == DUMP_FORMAT_ELF) {
                r = elf_read_phys(id, vaddr, true, buf, len);
                if (r != -ENXIO)
                        return r;
        }
        if (!x86_64 || vaddr < X86_64_START_KERNEL_MAP)
                return -ENXIO;
        (void) vmcoreinfo_get_u64(info->vmcoreinfo, info->vmcoreinfo_len, "NUMBER(phys_base)", 10, &phys_base);
        uint64_t paddr = vaddr - X86_64_START_KERNEL_MAP + phys_base;

        if (info->format == DUMP_FORMAT_ELF)
                return elf_read_phys(id, paddr, false, buf, len);

        uint32_t ps = id->block_size;
        uint8_t *page = malloc(ps);
        if (!page)
                return -ENOMEM;
        size_t done = 0;
        r = 0;
        while (done < len) {
                uint64_t a = paddr + done;
                size_t in_page = ps - (size_t) (a % ps);
                if (in_page > len - done)
                        in_page = len - done;
                r = kdump_read_page(id, a / ps, page);
                if (r < 0)
                        break;
                memcpy(buf + done, page + a % ps, in_page);
                done += in_page;
        }
        free(page);
        return r;
}

/* The utsname version is in init_uts_ns, which VMCOREINFO locates; used when no header has it. */
static void utsname_from_memory(struct ident *id) {
        struct dump_info *info = id->info;
        uint8_t buf[UTS_STRUCT_LEN + 64];
        uint64_t vaddr;

        if (info->version[0] || !info->vmcoreinfo ||
            vmcoreinfo_get_u64(info->vmcoreinfo, info->vmcoreinfo_len, "SYMBOL(init_uts_ns)", 16, &vaddr) < 0)
                return;
        if (read_kernel_vaddr(id, vaddr, buf, sizeof buf) < 0)
                return;
        /* struct uts_namespace starts with the utsname on current kernels and with a kref on old
         * ones: look for "Linux" a few words in. */
        for (size_t o = 0; o + UTS_STRUCT_LEN <= sizeof buf; o += 4) {
                if (memcmp(buf + o, "Linux", 6) != 0)
                        continue;
                const uint8_t *rel = buf + o + 2 * DUMP_UTS_LEN;
                if (info->release[0] && strncmp((const char *) rel, info->release, DUMP_UTS_LEN) != 0)
                        continue;
                if (!info->release[0])
                        copy_text(info->release, sizeof info->release, rel, DUMP_UTS_LEN);
                if (!info->nodename[0])
                        copy_text(info->nodename, sizeof info->nodename, buf + o + 1 * DUMP_UTS_LEN, DUMP_UTS_LEN);
                copy_text(info->version, sizeof info->version, buf + o + 3 * DUMP_UTS_LEN, DUMP_UTS_LEN);
                if (!info->machine[0])
                        copy_text(info->machine, sizeof info->machine, buf + o + 4 * DUMP_UTS_LEN, DUMP_UTS_LEN);
                return;
        }
}

/* A read error while checking completeness says something about the file, not an error. */
static int completeness_from_error(struct ident *id, int r, const char *what) {
        struct dump_info *info = id->info;
        if (r == -EPIPE)
                set_incomplete(info, DUMP_COMPLETE_NO, "truncated: the file ends inside the %s", what);
        else if (r == -ENODATA)
                set_incomplete(info, DUMP_COMPLETE_UNKNOWN, "the %s lies past what was read of the stream", what);
        else if (r == -EBADMSG)
                set_incomplete(info, DUMP_COMPLETE_UNKNOWN, "%s", dumpsrc_error(id->src));
        else
                return r;
        return 0;
}

static int kdump_check_size(struct ident *id, uint64_t pages) {
        struct dump_info *info = id->info;
        uint8_t pds[PAGE_DESC_SIZE * 256];
        uint64_t end = id->pd_off + pages * PAGE_DESC_SIZE;
        int r;

        /* The last descriptors say where the page data ends. A zero page shares one copy written
         * first, so take the largest end among the last few rather than the very last. */
        uint64_t tail = pages < 256 ? pages : 256;
        if (tail > 0) {
                r = src_read_full(id, pds, (size_t) tail * PAGE_DESC_SIZE, end - tail * PAGE_DESC_SIZE);
                if (r < 0)
                        return completeness_from_error(id, r, "page descriptor table");
                for (uint64_t i = 0; i < tail; i++) {
                        const uint8_t *pd = pds + i * PAGE_DESC_SIZE;
                        uint64_t off = U64(id, pd);
                        uint32_t size = U32(id, pd + 8);
                        if (off < id->pd_off || off > UINT64_MAX / 2 || size > id->block_size * 2u) {
                                set_incomplete(info, DUMP_COMPLETE_NO,
                                               "damaged: page descriptor %llu is not valid",
                                               (unsigned long long) (pages - tail + i));
                                return 0;
                        }
                        if (off + size > end)
                                end = off + size;
                }
        }
        info->expected_size = end > info->expected_size ? end : info->expected_size;
        return 0;
}

static int parse_kdump(struct ident *id, const uint8_t *h, size_t hn, bool diskdump) {
        struct dump_info *info = id->info;
        char machine[DUMP_UTS_LEN];
        int r;

        info->format = diskdump ? DUMP_FORMAT_DISKDUMP : DUMP_FORMAT_KDUMP;
        if (hn < 464)
                return fail(id, DUMPFILE_EDAMAGED, "%s header cut short (%zu bytes)",
                            diskdump ? "diskdump" : "kdump", hn);

        id->be = false;
        uint32_t hv = U32(id, h + 8);
        if (hv > 0xffff) {
                id->be = true;
                hv = U32(id, h + 8);
        }
        if (hv > 100)
                return fail(id, DUMPFILE_EDAMAGED, "header version %u is not one makedumpfile writes", hv);
        info->header_version = (int) hv;

        const uint8_t *uts = h + 12;
        copy_text(info->nodename, sizeof info->nodename, uts + 1 * DUMP_UTS_LEN, DUMP_UTS_LEN);
        copy_text(info->release, sizeof info->release, uts + 2 * DUMP_UTS_LEN, DUMP_UTS_LEN);
        copy_text(info->version, sizeof info->version, uts + 3 * DUMP_UTS_LEN, DUMP_UTS_LEN);
        copy_text(machine, sizeof machine, uts + 4 * DUMP_UTS_LEN, DUMP_UTS_LEN);
        snprintf(info->machine, sizeof info->machine, "%s", machine);

        /* The header is a C struct of the dumped machine: word size decides the layout. QEMU
         * leaves the utsname empty, so fall back to which layout gives a sane block size. */
        size_t base;
        uint32_t bs64 = U32(id, h + 428), bs32 = U32(id, h + 416);
#define SANE_BS(x) ((x) >= 512 && (x) <= (1u << 20) && ((x) & ((x) - 1)) == 0)
        if (machine[0])
                id->is64 = is_64bit_machine(machine);
        else
                id->is64 = SANE_BS(bs64) || !SANE_BS(bs32);
        base = id->is64 ? 408 : 404;
        uint64_t tv_sec = id->is64 ? U64(id, h + base) : U32(id, h + base);
        size_t f = base + (id->is64 ? 16 : 8);
        uint32_t status = U32(id, h + f);
        uint32_t block_size = U32(id, h + f + 4);
        uint32_t sub_hdr_size = U32(id, h + f + 8);
        uint32_t bitmap_blocks = U32(id, h + f + 12);
        uint32_t max_mapnr32 = U32(id, h + f + 16);
        int32_t nr_cpus = (int32_t) U32(id, h + f + 36);
        if (!SANE_BS(block_size))
                return fail(id, DUMPFILE_EDAMAGED, "block size %u in the header is not possible", block_size);
#undef SANE_BS
        id->block_size = block_size;
        info->page_size = block_size;
        if (sub_hdr_size > (1u << 20) || (uint64_t) sub_hdr_size * block_size > (UINT64_C(1) << 32))
                return fail(id, DUMPFILE_EDAMAGED, "sub-header size of %u blocks is not possible", sub_hdr_size);
        if (bitmap_blocks == 0 || (uint64_t) bitmap_blocks * block_size > (UINT64_C(1) << 40))
                return fail(id, DUMPFILE_EDAMAGED, "bitmap size of %u blocks is not possible", bitmap_blocks);
        if (nr_cpus > 0 && nr_cpus <= 65536)
                info->nr_cpus = nr_cpus;
        if (tv_sec > 0 && tv_sec < (UINT64_C(1) << 40)) {
                info->crash_time = (int64_t) tv_sec;
                info->has_crash_time = true;
        }
        if (status & DUMP_DH_COMPRESSED_ZLIB)
                snprintf(info->page_compression, sizeof info->page_compression, "zlib");
        else if (status & DUMP_DH_COMPRESSED_LZO)
                snprintf(info->page_compression, sizeof info->page_compression, "lzo");
        else if (status & DUMP_DH_COMPRESSED_SNAPPY)
                snprintf(info->page_compression, sizeof info->page_compression, "snappy");
        else if (status & DUMP_DH_COMPRESSED_ZSTD)
                snprintf(info->page_compression, sizeof info->page_compression, "zstd");
        else
                snprintf(info->page_compression, sizeof info->page_compression, "none");
        if (status & DUMP_DH_COMPRESSED_INCOMPLETE)
                set_incomplete(info, DUMP_COMPLETE_NO,
                               "makedumpfile marked the dump incomplete (its disk filled up while writing)");

        info->max_mapnr = max_mapnr32;
        uint64_t start_pfn = 0, end_pfn = 0;

        if (!diskdump) {
                uint8_t sub[104];
                r = src_read_full(id, sub, sizeof sub, block_size);
                if (r == -EPIPE)
                        return fail(id, DUMPFILE_EDAMAGED, "file ends inside the kdump sub-header");
                if (r < 0)
                        return r == -ENODATA ? fail(id, DUMPFILE_EDAMAGED, "kdump sub-header is out of reach") : r;
                /* field offsets for the two word sizes, in struct kdump_sub_header order */
                const size_t *o = id->is64 ? (const size_t[]) { 0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96 }
                                           : (const size_t[]) { 0, 4, 8, 12, 16, 20, 28, 32, 40, 44, 52, 56, 64, 72 };
                size_t w = id->is64 ? 8 : 4;
                if (hv >= 1)
                        info->dump_level = (int) U32(id, sub + o[1]);
                if (hv >= 2 && U32(id, sub + o[2])) {
                        info->split = true;
                        start_pfn = get_uint(id, sub + o[3], w);
                        end_pfn = get_uint(id, sub + o[4], w);
                }
                if (hv >= 6) {
                        info->max_mapnr = U64(id, sub + o[13]);
                        if (info->split) {
                                start_pfn = U64(id, sub + o[11]);
                                end_pfn = U64(id, sub + o[12]);
                        }
                }
                if (info->dump_level < 0 || info->dump_level > 31)
                        info->dump_level = -1;

                uint64_t vi_off = 0, vi_size = 0, note_off = 0, note_size = 0, erase_off = 0, erase_size = 0;
                if (hv >= 3) {
                        vi_off = U64(id, sub + o[5]);
                        vi_size = get_uint(id, sub + o[6], w);
                }
                if (hv >= 4) {
                        note_off = U64(id, sub + o[7]);
                        note_size = get_uint(id, sub + o[8], w);
                }
                if (hv >= 5) {
                        erase_off = U64(id, sub + o[9]);
                        erase_size = get_uint(id, sub + o[10], w);
                }
                if (vi_size > id->limits->notes_max || note_size > id->limits->notes_max ||
                    vi_off > UINT64_MAX / 2 || note_off > UINT64_MAX / 2 || erase_off > UINT64_MAX / 2 ||
                    erase_size > UINT64_MAX / 2)
                        return fail(id, DUMPFILE_EDAMAGED, "VMCOREINFO or note area in the sub-header is not possible");

                if (vi_size > 0 || note_size > 0) {
                        bool from_notes = vi_size == 0;
                        uint64_t off = from_notes ? note_off : vi_off, size = from_notes ? note_size : vi_size;
                        uint8_t *buf = malloc((size_t) size);
                        if (!buf)
                                return -ENOMEM;
                        r = src_read_full(id, buf, (size_t) size, off);
                        if (r == 0) {
                                int prstatus = 0;
                                bool process = false;
                                r = from_notes ? parse_notes(id, buf, (size_t) size, &prstatus, &process)
                                               : store_vmcoreinfo(id, buf, (size_t) size);
                        }
                        free(buf);
                        if (r == -EPIPE)
                                return fail(id, DUMPFILE_EDAMAGED, "file ends inside VMCOREINFO");
                        if (r < 0 && r != -ENODATA)
                                return r;
                }
                if (erase_size > 0 && erase_off + erase_size > info->expected_size)
                        info->expected_size = erase_off + erase_size;
        }

        if (!info->machine[0] && info->vmcoreinfo) {
                /* QEMU writes no utsname; the arch still shows in VMCOREINFO's symbols */
                if (vmcoreinfo_get(info->vmcoreinfo, info->vmcoreinfo_len, "SYMBOL(init_top_pgt)", &(size_t) { 0 }) ||
                    vmcoreinfo_get(info->vmcoreinfo, info->vmcoreinfo_len, "SYMBOL(init_level4_pgt)", &(size_t) { 0 }))
                        snprintf(info->arch, sizeof info->arch, "x86_64");
        }
        if (info->machine[0])
                snprintf(info->arch, sizeof info->arch, "%s", info->machine);
        vmcoreinfo_facts(id);

        /* Where the pages are: two bitmaps, then one descriptor per page in the dump. */
        uint64_t bitmap_off = (1 + (uint64_t) sub_hdr_size) * block_size;
        uint64_t bitmap_len = (uint64_t) bitmap_blocks * block_size;
        id->bitmap2_off = bitmap_off + bitmap_len / 2;
        id->bitmap_bits = (bitmap_len / 2) * 8;
        id->pd_off = bitmap_off + bitmap_len;
        if (info->max_mapnr == 0 || info->max_mapnr > id->bitmap_bits)
                info->max_mapnr = id->bitmap_bits;
        if (info->split) {
                if (start_pfn >= end_pfn || end_pfn > info->max_mapnr)
                        return fail(id, DUMPFILE_EDAMAGED, "split range %llu-%llu is not possible",
                                    (unsigned long long) start_pfn, (unsigned long long) end_pfn);
                info->split_start_pfn = start_pfn;
                info->split_end_pfn = end_pfn;
                id->first_pfn = start_pfn;
        } else
                end_pfn = info->max_mapnr;

        /* A flattened stream holds the page table scattered to its end: its end record tells
         * completeness instead, and reading the table would cost time growing with the dump. */
        if (!diskdump && !info->flattened) {
                uint64_t pages = 0;
                if (bitmap_len / 2 > id->limits->bitmap_max)
                        set_incomplete(info, DUMP_COMPLETE_UNKNOWN, "the page bitmap is larger than the %zu bytes read to check it",
                                       id->limits->bitmap_max);
                else {
                        r = kdump_count_bits(id, id->first_pfn, end_pfn, &pages);
                        if (r < 0)
                                r = completeness_from_error(id, r, "page bitmap");
                        else
                                r = kdump_check_size(id, pages);
                        if (r < 0)
                                return r;
                }
        }
        utsname_from_memory(id);
        return 0;
}

/* ---- ELF ---------------------------------------------------------------------------------- */

static void phdr_get(struct ident *id, size_t i, uint32_t *type, uint64_t *offset, uint64_t *vaddr,
                     uint64_t *paddr, uint64_t *filesz) {
        const uint8_t *p = id->phdrs + i * id->phentsize;
        if (id->is64) {
                *type = U32(id, p);
                *offset = U64(id, p + 8);
                *vaddr = U64(id, p + 16);
                *paddr = U64(id, p + 24);
                *filesz = U64(id, p + 32);
        } else {
                *type = U32(id, p);
                *offset = U32(id, p + 4);
                *vaddr = U32(id, p + 8);
                *paddr = U32(id, p + 12);
                *filesz = U32(id, p + 16);
        }
}

static int elf_read_phys(struct ident *id, uint64_t addr, bool virt, uint8_t *buf, size_t len) {
        for (size_t i = 0; i < id->phnum; i++) {
                uint32_t type;
                uint64_t offset, vaddr, paddr, filesz;
                phdr_get(id, i, &type, &offset, &vaddr, &paddr, &filesz);
                uint64_t start = virt ? vaddr : paddr;
                if (type != PT_LOAD || (virt && start == 0) || addr < start || addr - start >= filesz ||
                    filesz - (addr - start) < len)
                        continue;
                int r = src_read_full(id, buf, len, offset + (addr - start));
                return r == -EPIPE ? -ENXIO : r;
        }
        return -ENXIO;
}

static const char *elf_machine_name(uint16_t m, bool be) {
        switch (m) {
        case EM_X86_64: return "x86_64";
        case EM_386: return "i386";
        case EM_AARCH64: return "aarch64";
        case EM_ARM: return "arm";
        case EM_PPC64: return be ? "ppc64" : "ppc64le";
        case EM_PPC: return "ppc";
        case EM_S390: return "s390x";
        case EM_RISCV: return "riscv64";
        case EM_LOONGARCH: return "loongarch64";
        default: return NULL;
        }
}

static int parse_elf(struct ident *id, const uint8_t *h, size_t hn) {
        struct dump_info *info = id->info;
        int r;

        info->format = DUMP_FORMAT_ELF;
        if (hn < 52)
                return fail(id, DUMPFILE_EDAMAGED, "ELF header cut short (%zu bytes)", hn);
        if (h[4] != 1 && h[4] != 2)
                return fail(id, DUMPFILE_EDAMAGED, "ELF class %u is not 32- or 64-bit", h[4]);
        if (h[5] != 1 && h[5] != 2)
                return fail(id, DUMPFILE_EDAMAGED, "ELF data encoding %u is not known", h[5]);
        id->is64 = h[4] == 2;
        id->be = h[5] == 2;
        if (id->is64 && hn < 64)
                return fail(id, DUMPFILE_EDAMAGED, "ELF header cut short (%zu bytes)", hn);

        uint16_t type = U16(id, h + 16);
        id->e_machine = U16(id, h + 18);
        uint64_t phoff = id->is64 ? U64(id, h + 32) : U32(id, h + 28);
        uint64_t shoff = id->is64 ? U64(id, h + 40) : U32(id, h + 32);
        size_t phentsize = U16(id, h + (id->is64 ? 54 : 42));
        size_t phnum = U16(id, h + (id->is64 ? 56 : 44));

        if (type != ET_CORE)
                return fail(id, DUMPFILE_ENOTDUMP, "an ELF %s, not a crash dump",
                            type == 2 ? "executable (a vmlinux?)" : type == 1 ? "object file" : type == 3 ? "shared object" : "file");
        const char *arch = elf_machine_name(id->e_machine, id->be);
        if (arch)
                snprintf(info->arch, sizeof info->arch, "%s", arch);
        else
                snprintf(info->arch, sizeof info->arch, "elf-machine-%u", id->e_machine);

        if (phentsize != (id->is64 ? 56u : 32u))
                return fail(id, DUMPFILE_EDAMAGED, "program header size %zu is not possible", phentsize);
        if (phnum == PN_XNUM) {
                /* more than 65534 segments: the real count is in section header 0 */
                uint8_t sh[64];
                r = src_read_full(id, sh, sizeof sh, shoff);
                if (r < 0)
                        return r == -EPIPE || r == -ENODATA ? fail(id, DUMPFILE_EDAMAGED, "section header 0 is out of the file") : r;
                phnum = U32(id, sh + (id->is64 ? 44 : 28));
        }
        if (phnum == 0 || phnum * phentsize > id->limits->notes_max)
                return fail(id, DUMPFILE_EDAMAGED, "%zu program headers is not possible", phnum);
        if (phoff > UINT64_MAX / 2)
                return fail(id, DUMPFILE_EDAMAGED, "program header offset %llu is not possible", (unsigned long long) phoff);
        id->phnum = phnum;
        id->phentsize = phentsize;
        id->phdrs = malloc(phnum * phentsize);
        if (!id->phdrs)
                return -ENOMEM;
        r = src_read_full(id, id->phdrs, phnum * phentsize, phoff);
        if (r == -EPIPE || r == -ENODATA)
                return fail(id, DUMPFILE_EDAMAGED, "file ends inside the program headers");
        if (r < 0)
                return r;

        uint64_t expected = phoff + phnum * phentsize, notes_total = 0;
        int prstatus = 0;
        bool process = false;
        for (size_t i = 0; i < phnum; i++) {
                uint32_t ptype;
                uint64_t offset, vaddr, paddr, filesz;
                phdr_get(id, i, &ptype, &offset, &vaddr, &paddr, &filesz);
                if (offset > UINT64_MAX / 2 || filesz > UINT64_MAX / 2)
                        return fail(id, DUMPFILE_EDAMAGED, "segment %zu has offset %llu and size %llu, not possible", i,
                                    (unsigned long long) offset, (unsigned long long) filesz);
                if (offset + filesz > expected)
                        expected = offset + filesz;
                if (ptype != PT_NOTE || filesz == 0)
                        continue;
                notes_total += filesz;
                if (notes_total > id->limits->notes_max)
                        return fail(id, DUMPFILE_EDAMAGED, "notes larger than %zu bytes", id->limits->notes_max);
                uint8_t *notes = malloc((size_t) filesz);
                if (!notes)
                        return -ENOMEM;
                r = src_read_full(id, notes, (size_t) filesz, offset);
                if (r == 0)
                        r = parse_notes(id, notes, (size_t) filesz, &prstatus, &process);
                free(notes);
                if (r == -EPIPE || r == -ENODATA)
                        return fail(id, DUMPFILE_EDAMAGED, "file ends inside the notes");
                if (r < 0)
                        return r;
        }
        if (!info->vmcoreinfo && process)
                return fail(id, DUMPFILE_ENOTDUMP, "a process core dump, not a kernel crash dump");
        if (prstatus > 0)
                info->nr_cpus = prstatus;
        info->expected_size = expected;
        vmcoreinfo_facts(id);
        utsname_from_memory(id);
        if (info->release[0])
                snprintf(info->machine, sizeof info->machine, "%s", info->arch);
        return 0;
}

/* ---- saved kernel log ------------------------------------------------------------------- */

static bool looks_like_text(const uint8_t *p, size_t n) {
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = p[i];
                if (c == 0)
                        return false;
                if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b)
                        bad++;
        }
        return bad * 100 <= n;
}

static bool has_timestamp_line(const char *t, size_t n) {
        for (size_t i = 0; i < n;) {
                const char *line = t + i;
                const char *nl = memchr(line, '\n', n - i);
                size_t len = nl ? (size_t) (nl - line) : n - i;
                size_t j = 0;
                if (len > 3 && line[0] == '<' && isdigit((unsigned char) line[1])) { /* "<6>[ … ]" */
                        while (j < len && line[j] != '>')
                                j++;
                        j++;
                }
                if (j < len && line[j] == '[') {
                        j++;
                        while (j < len && line[j] == ' ')
                                j++;
                        size_t d = j;
                        while (j < len && isdigit((unsigned char) line[j]))
                                j++;
                        if (j > d && j < len && line[j] == '.') {
                                size_t d2 = ++j;
                                while (j < len && isdigit((unsigned char) line[j]))
                                        j++;
                                if (j > d2 && j < len && line[j] == ']')
                                        return true;
                        }
                }
                i += len + 1;
        }
        return false;
}

static void parse_banner(struct dump_info *info, const char *t, size_t n) {
        static const char key[] = "Linux version ";
        const char *p = NULL;
        for (size_t i = 0; i + sizeof key - 1 <= n; i++)
                if (memcmp(t + i, key, sizeof key - 1) == 0) {
                        p = t + i + sizeof key - 1;
                        break;
                }
        if (!p)
                return;
        const char *end = memchr(p, '\n', (size_t) (t + n - p));
        if (!end)
                end = t + n;
        const char *q = p;
        while (q < end && *q != ' ')
                q++;
        copy_text(info->release, sizeof info->release, p, (size_t) (q - p));
        /* "Linux version REL (builder@host) (compiler, linker) #1 SMP …": skip the parentheses */
        for (;;) {
                while (q < end && *q == ' ')
                        q++;
                if (q >= end || *q != '(')
                        break;
                int depth = 0;
                for (; q < end; q++) {
                        if (*q == '(')
                                depth++;
                        else if (*q == ')' && --depth == 0) {
                                q++;
                                break;
                        }
                }
        }
        size_t vlen = (size_t) (end - q);
        while (vlen > 0 && (q[vlen - 1] == '\r' || q[vlen - 1] == ' '))
                vlen--;
        if (vlen > 0 && *q == '#')
                copy_text(info->version, sizeof info->version, q, vlen);
}

static int parse_dmesg(struct ident *id, const uint8_t *h, size_t hn) {
        struct dump_info *info = id->info;
        static const size_t scan = 1024 * 1024;
        uint8_t *buf = malloc(scan);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = src_read(id, buf, scan, 0);
        if (n == -ENODATA) {
                memcpy(buf, h, hn);
                n = (ssize_t) hn;
        }
        if (n < 0) {
                free(buf);
                return (int) n;
        }
        info->format = DUMP_FORMAT_DMESG;
        parse_banner(info, (const char *) buf, (size_t) n);
        free(buf);
        info->complete = DUMP_COMPLETE_UNKNOWN;
        snprintf(info->complete_reason, sizeof info->complete_reason, "a kernel log has no size in a header");
        return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static int identify(struct ident *id, int depth) {
        struct dump_info *info = id->info;
        uint8_t h[4096];
        ssize_t n;
        int r;

        n = src_read(id, h, sizeof h, 0);
        if (n == -EBADMSG)
                return fail(id, DUMPFILE_EDAMAGED, "%s", dumpsrc_error(id->src));
        if (n < 0)
                return (int) n;
        if (n == 0)
                return depth == 0      ? fail(id, DUMPFILE_ENOTDUMP, "empty file")
                       : info->flattened ? fail(id, DUMPFILE_EDAMAGED, "the flattened stream holds no data")
                                         : fail(id, DUMPFILE_EDAMAGED, "the compressed stream is empty");
        size_t hn = (size_t) n;

        if (hn >= SIG_LEN && memcmp(h, KDUMP_SIGNATURE, SIG_LEN) == 0)
                return parse_kdump(id, h, hn, false);
        if (hn >= SIG_LEN && memcmp(h, DISKDUMP_SIGNATURE, SIG_LEN) == 0)
                return parse_kdump(id, h, hn, true);
        if (hn >= 4 && memcmp(h, "\x7f" "ELF", 4) == 0)
                return parse_elf(id, h, hn);
        if (hn >= 16 && memcmp(h, "makedumpfile\0\0\0\0", 16) == 0 && !info->flattened) {
                struct dumpsrc *flat;
                uint64_t type = 0, version = 0;
                if (hn < 32)
                        return fail(id, DUMPFILE_EDAMAGED, "flattened header cut short");
                for (int i = 0; i < 8; i++) {
                        type = (type << 8) | h[16 + i];
                        version = (version << 8) | h[24 + i];
                }
                if (type != 1 || version != 1)
                        return fail(id, DUMPFILE_EDAMAGED, "flattened header type %llu version %llu is not known",
                                    (unsigned long long) type, (unsigned long long) version);
                uint64_t size;
                if (dumpsrc_size(id->src, &size) && size < 4096 + 16)
                        return fail(id, DUMPFILE_EDAMAGED, "flattened stream cut inside its header block (%llu bytes)",
                                    (unsigned long long) size);
                r = dumpsrc_new_flattened(id->src, id->limits->flattened_records_max, &flat);
                id->src = NULL;
                if (r < 0)
                        return r;
                id->src = flat;
                info->flattened = true;
                bool ended = false;
                int ended_r = dumpsrc_flattened_complete(flat, &ended);
                if (ended_r < 0 && ended_r != -ENODATA)
                        return ended_r;
                r = identify(id, depth + 1);
                if (r == DUMPFILE_ENOTDUMP || (r == 0 && info->format == DUMP_FORMAT_DMESG))
                        return fail(id, DUMPFILE_EDAMAGED, "the flattened stream holds no dump");
                if (r < 0)
                        return r;
                /* The stream's size says nothing about the dump's; its end record does. */
                info->expected_size = 0;
                if (info->complete == DUMP_COMPLETE_NO)
                        return 0;
                if (ended_r == -ENODATA)
                        set_incomplete(info, DUMP_COMPLETE_UNKNOWN, "a flattened stream inside a compressed file is not read to its end");
                else if (!ended)
                        set_incomplete(info, DUMP_COMPLETE_NO, "truncated: the flattened stream has no end record");
                else {
                        info->complete = DUMP_COMPLETE_YES;
                        info->complete_reason[0] = 0;
                }
                return 0;
        }
        if (depth == 0 && magic_kind(h, hn, NULL) == MAGIC_COMPRESSED) {
                struct dumpsrc *dec;
                r = dumpsrc_new_decompress(id->src, id->limits->stream_prefix_max, &dec, id->reason, id->reason_size);
                id->src = NULL;
                if (r == -EBADMSG)
                        return DUMPFILE_EDAMAGED;
                if (r < 0)
                        return r;
                id->src = dec;
                snprintf(info->file_compression, sizeof info->file_compression, "%s", dumpsrc_filter_name(dec));
                r = identify(id, depth + 1);
                if (r == DUMPFILE_ENOTDUMP) {
                        char inner[256];
                        snprintf(inner, sizeof inner, "%s", id->reason);
                        return fail(id, DUMPFILE_ENOTDUMP, "%s-compressed, but not a kernel dump inside (%s)",
                                    info->file_compression, inner);
                }
                if (r == 0 && info->complete == DUMP_COMPLETE_YES)
                        set_incomplete(info, DUMP_COMPLETE_UNKNOWN, "inside a %s stream, which is not read to its end",
                                       info->file_compression);
                return r;
        }
        if (looks_like_text(h, hn)) {
                if (has_timestamp_line((const char *) h, hn) || memmem(h, hn, "Linux version ", 14))
                        return parse_dmesg(id, h, hn);
                return fail(id, DUMPFILE_ENOTDUMP, "a text file, not a kernel log");
        }
        return fail(id, DUMPFILE_ENOTDUMP, "not a kernel crash dump (signature %02x %02x %02x %02x %02x %02x %02x %02x)",
                    h[0], hn > 1 ? h[1] : 0, hn > 2 ? h[2] : 0, hn > 3 ? h[3] : 0, hn > 4 ? h[4] : 0,
                    hn > 5 ? h[5] : 0, hn > 6 ? h[6] : 0, hn > 7 ? h[7] : 0);
}

/* Takes ownership of src. */
static int identify_source(struct dumpsrc *src, const struct dumpfile_limits *limits,
                           struct dump_info **ret, char *reason, size_t reason_size) {
        struct ident id = {
                .src = src,
                .limits = limits ? limits : &dumpfile_limits_default,
                .reason = reason,
                .reason_size = reason_size,
        };
        struct dump_info *info = calloc(1, sizeof *info);
        int r;

        if (!info) {
                dumpsrc_free(src);
                return -ENOMEM;
        }
        reason[0] = 0;
        info->dump_level = -1;
        info->nr_cpus = -1;
        info->header_version = -1;
        info->complete = DUMP_COMPLETE_YES;
        dumpsrc_size(src, &info->file_size);
        id.info = info;

        r = identify(&id, 0);
        if (r == -EBADMSG && !reason[0] && id.src)
                snprintf(reason, reason_size, "%s", dumpsrc_error(id.src));

        /* wrappers own what they wrap: freeing the outermost frees the chain */
        dumpsrc_free(id.src);
        free(id.phdrs);
        if (r < 0) {
                if (!reason[0])
                        snprintf(reason, reason_size, "%s", strerror(-r));
                dump_info_free(info);
                return r;
        }
        if (info->complete == DUMP_COMPLETE_YES && info->expected_size > 0 && !info->file_compression[0] &&
            info->file_size < info->expected_size)
                set_incomplete(info, DUMP_COMPLETE_NO, "truncated: %llu of %llu bytes",
                               (unsigned long long) info->file_size, (unsigned long long) info->expected_size);
        *ret = info;
        return 0;
}

int dumpfile_identify_buffer(const void *buf, size_t len, const struct dumpfile_limits *limits,
                             struct dump_info **ret, char *reason, size_t reason_size) {
        struct dumpsrc *src;
        int r = dumpsrc_new_memory(buf, len, &src);
        if (r < 0)
                return r;
        return identify_source(src, limits, ret, reason, reason_size);
}

int dumpfile_identify(const char *path, const struct dumpfile_limits *limits, struct dump_info **ret,
                      char *reason, size_t reason_size) {
        struct dumpsrc *src;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                snprintf(reason, reason_size, "%s", strerror(errno));
                return r;
        }
        r = dumpsrc_new_fd(fd, &src);
        if (r < 0) {
                snprintf(reason, reason_size, "%s",
                         r == -EINVAL ? "not a regular file" : r == -EISDIR ? "is a directory" : strerror(-r));
                close(fd);
                return r == -EINVAL ? -EINVAL : r;
        }
        r = identify_source(src, limits, ret, reason, reason_size);
        close(fd);
        return r;
}

struct dump_info *dump_info_free(struct dump_info *info) {
        if (!info)
                return NULL;
        free(info->vmcoreinfo);
        free(info);
        return NULL;
}

const char *dump_format_to_string(enum dump_format f) {
        switch (f) {
        case DUMP_FORMAT_KDUMP: return "kdump-compressed";
        case DUMP_FORMAT_DISKDUMP: return "diskdump";
        case DUMP_FORMAT_ELF: return "elf";
        case DUMP_FORMAT_DMESG: return "dmesg";
        }
        return "unknown";
}

json_object *dump_info_to_json(const char *path, const struct dump_info *i) {
        json_object *o = json_object_new_object();
#define STR(k, v) json_object_object_add(o, k, (v) && *(v) ? json_object_new_string(v) : NULL)
        STR("file", path);
        STR("format", dump_format_to_string(i->format));
        json_object_object_add(o, "flattened", json_object_new_boolean(i->flattened));
        STR("page_compression", i->page_compression);
        STR("file_compression", i->file_compression);
        json_object_object_add(o, "split", json_object_new_boolean(i->split));
        if (i->split) {
                json_object_object_add(o, "split_start_pfn", json_object_new_int64((int64_t) i->split_start_pfn));
                json_object_object_add(o, "split_end_pfn", json_object_new_int64((int64_t) i->split_end_pfn));
        }
        STR("arch", i->arch);
        STR("release", i->release);
        STR("version", i->version);
        STR("machine", i->machine);
        STR("hostname", i->nodename);
        STR("build_id", i->build_id);
        char when[32];
        clock_format_utc(i->crash_time, true, when, sizeof when);
        json_object_object_add(o, "crash_time", i->has_crash_time ? json_object_new_string(when) : NULL);
        json_object_object_add(o, "page_size", i->page_size ? json_object_new_int64(i->page_size) : NULL);
        json_object_object_add(o, "dump_level", i->dump_level >= 0 ? json_object_new_int(i->dump_level) : NULL);
        json_object_object_add(o, "cpus", i->nr_cpus >= 0 ? json_object_new_int(i->nr_cpus) : NULL);
        json_object_object_add(o, "header_version",
                               i->header_version >= 0 ? json_object_new_int(i->header_version) : NULL);
        STR("complete", dump_complete_to_string(i->complete));
        STR("complete_reason", i->complete_reason);
        json_object_object_add(o, "file_size", json_object_new_int64((int64_t) i->file_size));
        json_object_object_add(o, "expected_size",
                               i->expected_size ? json_object_new_int64((int64_t) i->expected_size) : NULL);
#undef STR
        return o;
}

const char *dump_complete_to_string(enum dump_complete c) {
        return c == DUMP_COMPLETE_YES ? "yes" : c == DUMP_COMPLETE_NO ? "no" : "unknown";
}
