/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Synthetic dumps for unit tests: kdump-compressed v6, ELF cores and flattened streams,
 * laid out as makedumpfile and the kernel lay them out on x86_64. */

#include <lzo1x.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "synth.h"

#define BS 4096u
#define NPFN 64u

static void put(uint8_t *p, uint64_t v, int n) {
        for (int i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static void put_be(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * (7 - i)));
}

static size_t vmcoreinfo_text(char *buf, size_t size, uint64_t phys_base) {
        return (size_t) snprintf(buf, size,
                                 "OSRELEASE=" SYNTH_RELEASE "\nPAGESIZE=4096\nBUILD-ID=" SYNTH_BUILD_ID "\n"
                                 "SYMBOL(init_uts_ns)=%llx\nSYMBOL(init_top_pgt)=ffffffff82a0a000\n"
                                 "NUMBER(phys_base)=%llu\nCRASHTIME=%d\n",
                                 (unsigned long long) (0xffffffff80000000ull + (SYNTH_UTS_PFN - 2) * BS + 0x40),
                                 (unsigned long long) (2 * BS), SYNTH_CRASHTIME);
}

/* The page holding init_uts_ns: utsname at offset 0x40 (the kernel maps it at phys_base + …). */
static void uts_page(uint8_t *page) {
        memset(page, 0xa5, BS);
        uint8_t *u = page + 0x40;
        memset(u, 0, 6 * 65);
        strcpy((char *) u, "Linux");
        strcpy((char *) u + 65, "synthhost");
        strcpy((char *) u + 130, SYNTH_RELEASE);
        strcpy((char *) u + 195, SYNTH_VERSION);
        strcpy((char *) u + 260, "x86_64");
}

static size_t compress_page(uint32_t how, const uint8_t *in, uint8_t *out, size_t cap) {
        switch (how) {
        case 0x1: {
                uLongf n = cap;
                return compress2(out, &n, in, BS, 6) == Z_OK ? n : 0;
        }
        case 0x2: {
                static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
                lzo_uint n = cap;
                lzo_init();
                return lzo1x_1_compress(in, BS, out, &n, wrk) == LZO_E_OK ? n : 0;
        }
        case 0x4: {
                size_t n = cap;
                return snappy_compress((const char *) in, BS, (char *) out, &n) == SNAPPY_OK ? n : 0;
        }
        case 0x20: {
                size_t n = ZSTD_compress(out, cap, in, BS, 3);
                return ZSTD_isError(n) ? 0 : n;
        }
        default:
                memcpy(out, in, BS);
                return BS;
        }
}

uint8_t *synth_kdump(const struct synth_kdump *opt, size_t *ret_len) {
        static const uint32_t dumpable[] = { 0, 1, SYNTH_UTS_PFN, 9, 10 };
        const size_t npages = sizeof dumpable / sizeof dumpable[0];
        size_t cap = BS * (6 + 2 * npages);
        uint8_t *d = calloc(1, cap), page[BS], comp[2 * BS];
        char vi[1024];
        size_t vlen = vmcoreinfo_text(vi, sizeof vi, 2 * BS);

        memcpy(d, "KDUMP   ", 8);
        put(d + 8, 6, 4);
        if (opt->uts_in_header) {
                strcpy((char *) d + 12, "Linux");
                strcpy((char *) d + 12 + 65, "synthhost");
                strcpy((char *) d + 12 + 130, SYNTH_RELEASE);
                strcpy((char *) d + 12 + 195, SYNTH_VERSION);
                strcpy((char *) d + 12 + 260, "x86_64");
        }
        put(d + 408, SYNTH_CRASHTIME, 8);
        put(d + 424, opt->compression | opt->status_extra, 4);
        put(d + 428, opt->block_size_override ? opt->block_size_override : BS, 4);
        put(d + 432, 1, 4);                                                           /* sub_hdr_size */
        put(d + 436, opt->bitmap_blocks_override ? opt->bitmap_blocks_override : 2, 4); /* bitmap_blocks */
        put(d + 440, NPFN, 4);
        put(d + 460, 2, 4); /* nr_cpus */

        uint8_t *sub = d + BS;
        put(sub + 0, 0x9a000000ull, 8); /* a wrong phys_base, as QEMU writes: VMCOREINFO's wins */
        put(sub + 8, 31, 4);
        if (opt->split) {
                put(sub + 12, 1, 4);
                put(sub + 80, 0, 8);
                put(sub + 88, NPFN, 8);
        }
        put(sub + 32, BS + 104, 8);
        put(sub + 40, opt->vmcoreinfo_size_override ? opt->vmcoreinfo_size_override : vlen, 8);
        put(sub + 96, NPFN, 8);
        memcpy(sub + 104, vi, vlen);

        uint8_t *bm1 = d + 2 * BS, *bm2 = d + 3 * BS;
        memset(bm1, 0xff, NPFN / 8);
        for (size_t i = 0; i < npages; i++)
                bm2[dumpable[i] / 8] |= (uint8_t) (1u << (dumpable[i] % 8));

        size_t pd_off = 4 * BS, data = pd_off + npages * 24;
        for (size_t i = 0; i < npages; i++) {
                if (dumpable[i] == SYNTH_UTS_PFN)
                        uts_page(page);
                else
                        memset(page, (int) (0x11 * (i + 1)), BS);
                size_t n = compress_page(opt->compression, page, comp, sizeof comp);
                uint32_t flags = opt->compression;
                if (n == 0 || n >= BS) { /* incompressible: stored raw, as makedumpfile does */
                        memcpy(comp, page, BS);
                        n = BS;
                        flags = 0;
                }
                put(d + pd_off + i * 24, data, 8);
                put(d + pd_off + i * 24 + 8, n, 4);
                put(d + pd_off + i * 24 + 12, flags, 4);
                memcpy(d + data, comp, n);
                data += n;
        }
        *ret_len = data;
        return d;
}

uint8_t *synth_elf(bool with_vmcoreinfo, bool process_core, uint16_t e_type, size_t *ret_len) {
        size_t mem = 8 * BS, notes_cap = 2048, off_notes = 64 + 2 * 56;
        size_t off_load = (off_notes + notes_cap + BS - 1) / BS * BS;
        uint8_t *d = calloc(1, off_load + mem);
        char vi[1024];
        size_t vlen = vmcoreinfo_text(vi, sizeof vi, 2 * BS);

        memcpy(d, "\x7f" "ELF", 4);
        d[4] = 2;
        d[5] = 1;
        d[6] = 1;
        put(d + 16, e_type, 2);
        put(d + 18, 62, 2);
        put(d + 20, 1, 4);
        put(d + 32, 64, 8);
        put(d + 52, 64, 2);
        put(d + 54, 56, 2);
        put(d + 56, 2, 2);

        size_t o = off_notes;
        for (int cpu = 0; cpu < 2; cpu++) { /* NT_PRSTATUS */
                put(d + o, 5, 4);
                put(d + o + 4, 336, 4);
                put(d + o + 8, 1, 4);
                memcpy(d + o + 12, "CORE", 5);
                o += 12 + 8 + 336;
        }
        if (process_core) { /* NT_AUXV */
                put(d + o, 5, 4);
                put(d + o + 4, 16, 4);
                put(d + o + 8, 6, 4);
                memcpy(d + o + 12, "CORE", 5);
                o += 12 + 8 + 16;
        }
        if (with_vmcoreinfo) {
                put(d + o, 11, 4);
                put(d + o + 4, vlen, 4);
                put(d + o + 8, 0, 4);
                memcpy(d + o + 12, "VMCOREINFO", 11);
                memcpy(d + o + 24, vi, vlen);
                o += 24 + ((vlen + 3) & ~3u);
        }
        uint8_t *ph = d + 64;
        put(ph, 4, 4); /* PT_NOTE */
        put(ph + 8, off_notes, 8);
        put(ph + 32, o - off_notes, 8);
        ph += 56;
        put(ph, 1, 4); /* PT_LOAD of physical memory, vaddr 0 as QEMU writes it */
        put(ph + 8, off_load, 8);
        put(ph + 24, 0, 8);
        put(ph + 32, mem, 8);
        put(ph + 40, mem, 8);
        uts_page(d + off_load + SYNTH_UTS_PFN * BS);
        *ret_len = off_load + mem;
        return d;
}

uint8_t *synth_flatten(const uint8_t *dump, size_t len, size_t chunk, bool reversed, bool with_end, size_t *ret_len) {
        size_t nrec = (len + chunk - 1) / chunk;
        uint8_t *f = calloc(1, 4096 + nrec * (16 + chunk) + 16), *p = f + 4096;
        memcpy(f, "makedumpfile", 12);
        put_be(f + 16, 1);
        put_be(f + 24, 1);
        for (size_t k = 0; k < nrec; k++) {
                size_t i = reversed ? nrec - 1 - k : k;
                size_t off = i * chunk, n = len - off < chunk ? len - off : chunk;
                put_be(p, off);
                put_be(p + 8, n);
                memcpy(p + 16, dump + off, n);
                p += 16 + n;
        }
        if (with_end) {
                put_be(p, UINT64_MAX);
                put_be(p + 8, UINT64_MAX);
                p += 16;
        }
        *ret_len = (size_t) (p - f);
        return f;
}

uint8_t *synth_gzip(const uint8_t *data, size_t len, size_t *ret_len) {
        z_stream z = { 0 };
        size_t cap = len + len / 10 + 1024;
        uint8_t *out = malloc(cap);
        deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (uint8_t *) data;
        z.avail_in = (uInt) len;
        z.next_out = out;
        z.avail_out = (uInt) cap;
        deflate(&z, Z_FINISH);
        *ret_len = z.total_out;
        deflateEnd(&z);
        return out;
}
