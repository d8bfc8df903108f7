/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for dump identification on synthetic dumps: every page compression, QEMU-style
 * headers, truncation at each depth, absurd headers, flattened streams and gzip'd files. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/identify/dumpfile.h"
#include "synth.h"
#include "tests/tap.h"

static int identify(const uint8_t *d, size_t n, struct dump_info **ret, char *reason) {
        return dumpfile_identify_buffer(d, n, NULL, ret, reason, 256);
}

static void check_kdump(uint32_t compression, const char *name, bool uts_in_header) {
        struct synth_kdump opt = { .compression = compression, .uts_in_header = uts_in_header };
        struct dump_info *info = NULL;
        char reason[256], what[128];
        size_t n;
        uint8_t *d = synth_kdump(&opt, &n);

        snprintf(what, sizeof what, "kdump %s (%s)", name, uts_in_header ? "utsname in header" : "utsname from memory");
        int r = identify(d, n, &info, reason);
        tap_is_int(r, 0, what);
        if (r == 0) {
                tap_is_str(dump_format_to_string(info->format), "kdump-compressed", "  format");
                tap_is_str(info->page_compression, name, "  page compression");
                tap_is_str(info->release, SYNTH_RELEASE, "  release");
                tap_is_str(info->version, SYNTH_VERSION, "  utsname version");
                tap_is_str(info->build_id, SYNTH_BUILD_ID, "  build-id");
                tap_is_str(info->arch, "x86_64", "  arch");
                tap_is_int(info->crash_time, SYNTH_CRASHTIME, "  crash time");
                tap_is_int(info->dump_level, 31, "  dump level");
                tap_is_int(info->nr_cpus, 2, "  cpus");
                tap_is_int(info->complete, DUMP_COMPLETE_YES, "  complete");
                tap_is_int(info->expected_size, n, "  expected size is the file size");
        }
        dump_info_free(info);

        /* cut inside the last page: still identified, but incomplete */
        r = identify(d, n - 100, &info, reason);
        tap_is_int(r, 0, "  cut mid-data: still identified");
        if (r == 0) {
                tap_is_int(info->complete, DUMP_COMPLETE_NO, "  cut mid-data: incomplete");
                tap_ok(strstr(info->complete_reason, "truncated") != NULL, "  cut mid-data: says truncated (%s)",
                       info->complete_reason);
        }
        dump_info_free(info);
        free(d);
}

static void expect_error(const uint8_t *d, size_t n, int want, const char *what, const char *needle) {
        struct dump_info *info = NULL;
        char reason[256] = "";
        int r = identify(d, n, &info, reason);
        tap_is_int(r, want, what);
        tap_ok(info == NULL, "  no result on failure");
        if (needle)
                tap_ok(strstr(reason, needle) != NULL, "  reason '%s' mentions '%s'", reason, needle);
        dump_info_free(info);
}

/* HOTKDUMP_FUZZ_SEEDS=DIR: also write the synthetic dumps there, as fuzzing seeds. */
static void write_seed(const char *name, const uint8_t *d, size_t n) {
        char seed_name[256];
        snprintf(seed_name, sizeof seed_name, "synth-%s", name);
        tap_write_seed(seed_name, d, n);
}

static void write_seeds(void) {
        static const uint32_t comp[] = { 0, 1, 2, 4, 0x20 };
        uint8_t *d, *f;
        size_t n, fn;
        char name[64];

        for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++)
                for (int uts = 0; uts < 2; uts++) {
                        d = synth_kdump(&(struct synth_kdump) { .compression = comp[i], .uts_in_header = uts }, &n);
                        snprintf(name, sizeof name, "kdump-%x-%d", comp[i], uts);
                        write_seed(name, d, n);
                        if (i == 1 && !uts) {
                                f = synth_flatten(d, n, 1500, false, true, &fn);
                                write_seed("flat", f, fn);
                                free(f);
                                f = synth_gzip(d, n, &fn);
                                write_seed("gzip", f, fn);
                                free(f);
                        }
                        free(d);
                }
        d = synth_elf(true, false, 4, &n);
        write_seed("elf", d, n);
        free(d);
}

int main(void) {
        struct dump_info *info = NULL;
        char reason[256];
        size_t n, fn, gn;
        uint8_t *d, *f, *g;
        int r;

        write_seeds();
        check_kdump(0x1, "zlib", true);
        check_kdump(0x2, "lzo", true);
        check_kdump(0x4, "snappy", true);
        check_kdump(0x20, "zstd", true);
        check_kdump(0, "none", true);
        check_kdump(0x1, "zlib", false);
        check_kdump(0x2, "lzo", false);
        check_kdump(0x4, "snappy", false);
        check_kdump(0x20, "zstd", false);

        /* truncation inside the headers is damage, not truncation */
        d = synth_kdump(&(struct synth_kdump) { .compression = 1, .uts_in_header = true }, &n);
        expect_error(d, 1024, DUMPFILE_EDAMAGED, "kdump cut at 1 KiB", "sub-header");
        expect_error(d, 300, DUMPFILE_EDAMAGED, "kdump cut inside the main header", "cut short");
        expect_error(d, 4096 + 200, DUMPFILE_EDAMAGED, "kdump cut inside VMCOREINFO", "VMCOREINFO");
        r = identify(d, 4 * 4096 + 10, &info, reason);
        tap_ok(r == 0 && info->complete == DUMP_COMPLETE_NO, "kdump cut inside the page table: identified, incomplete");
        info = dump_info_free(info);

        /* the flattened form of the same dump, in order and reversed */
        f = synth_flatten(d, n, 1000, false, true, &fn);
        r = identify(f, fn, &info, reason);
        tap_is_int(r, 0, "flattened kdump identified");
        if (r == 0) {
                tap_ok(info->flattened, "  flattened flag");
                tap_is_str(info->release, SYNTH_RELEASE, "  release");
                tap_is_str(info->version, SYNTH_VERSION, "  version");
                tap_is_int(info->complete, DUMP_COMPLETE_YES, "  complete with end record");
        }
        info = dump_info_free(info);
        r = identify(f, fn - 16, &info, reason);
        tap_ok(r == 0 && info->complete == DUMP_COMPLETE_NO, "flattened without end record: incomplete");
        info = dump_info_free(info);
        r = identify(f, fn - 16 - 500, &info, reason);
        tap_ok(r == 0 && info->complete == DUMP_COMPLETE_NO, "flattened cut inside a record: incomplete");
        info = dump_info_free(info);
        /* a record whose size is absurd */
        memset(f + 4096 + 16 + 1000 + 8, 0x7f, 8);
        expect_error(f, fn, DUMPFILE_EDAMAGED, "flattened stream with a bad record", "bad record");
        free(f);
        f = synth_flatten(d, n, 700, true, true, &fn);
        r = identify(f, fn, &info, reason);
        tap_ok(r == 0 && strcmp(info->version, SYNTH_VERSION) == 0, "flattened with records in reverse order");
        info = dump_info_free(info);
        free(f);

        /* gzip'd */
        g = synth_gzip(d, n, &gn);
        r = identify(g, gn, &info, reason);
        tap_is_int(r, 0, "gzip'd kdump identified");
        if (r == 0) {
                tap_is_str(info->file_compression, "gzip", "  file compression");
                tap_is_str(info->release, SYNTH_RELEASE, "  release");
                tap_is_int(info->complete, DUMP_COMPLETE_UNKNOWN, "  completeness unknown inside a stream");
        }
        info = dump_info_free(info);
        expect_error(g, 20, DUMPFILE_EDAMAGED, "gzip cut at 20 bytes", NULL);
        free(g);
        free(d);

        /* absurd headers */
        d = synth_kdump(&(struct synth_kdump) { .compression = 1, .block_size_override = 12345 }, &n);
        expect_error(d, n, DUMPFILE_EDAMAGED, "absurd block size", "block size");
        free(d);
        d = synth_kdump(&(struct synth_kdump) { .compression = 1, .bitmap_blocks_override = 0xffffffff }, &n);
        expect_error(d, n, DUMPFILE_EDAMAGED, "absurd bitmap size", "bitmap");
        free(d);
        d = synth_kdump(&(struct synth_kdump) { .compression = 1, .vmcoreinfo_size_override = 1ull << 40 }, &n);
        expect_error(d, n, DUMPFILE_EDAMAGED, "absurd VMCOREINFO size", "VMCOREINFO");
        free(d);
        d = synth_kdump(&(struct synth_kdump) { .compression = 1, .uts_in_header = true, .status_extra = 0x8 }, &n);
        r = identify(d, n, &info, reason);
        tap_ok(r == 0 && info->complete == DUMP_COMPLETE_NO && strstr(info->complete_reason, "incomplete"),
               "makedumpfile's incomplete flag is reported");
        info = dump_info_free(info);
        free(d);
        d = synth_kdump(&(struct synth_kdump) { .compression = 0x20, .uts_in_header = true, .split = true }, &n);
        r = identify(d, n, &info, reason);
        tap_ok(r == 0 && info->split && info->split_end_pfn == 64, "split part reported");
        info = dump_info_free(info);
        free(d);

        /* ELF */
        d = synth_elf(true, false, 4, &n);
        r = identify(d, n, &info, reason);
        tap_is_int(r, 0, "ELF core identified");
        if (r == 0) {
                tap_is_str(dump_format_to_string(info->format), "elf", "  format");
                tap_is_str(info->release, SYNTH_RELEASE, "  release from VMCOREINFO");
                tap_is_str(info->version, SYNTH_VERSION, "  version from init_uts_ns");
                tap_is_str(info->build_id, SYNTH_BUILD_ID, "  build-id");
                tap_is_int(info->nr_cpus, 2, "  cpus from PRSTATUS notes");
                tap_is_int(info->page_size, 4096, "  page size");
                tap_is_int(info->complete, DUMP_COMPLETE_YES, "  complete");
        }
        info = dump_info_free(info);
        r = identify(d, n - 5000, &info, reason);
        tap_ok(r == 0 && info->complete == DUMP_COMPLETE_NO, "ELF cut mid-data: identified, incomplete");
        info = dump_info_free(info);
        expect_error(d, 100, DUMPFILE_EDAMAGED, "ELF cut inside program headers", "program headers");
        /* absurd program header count */
        d[56] = 0xfe;
        d[57] = 0xff;
        expect_error(d, n, DUMPFILE_EDAMAGED, "ELF with absurd program header table", NULL);
        free(d);
        d = synth_elf(false, true, 4, &n);
        expect_error(d, n, DUMPFILE_ENOTDUMP, "process core dump", "process core");
        free(d);
        d = synth_elf(true, false, 2, &n);
        expect_error(d, n, DUMPFILE_ENOTDUMP, "vmlinux-like ELF executable", "executable");
        free(d);

        /* not dumps */
        expect_error((const uint8_t *) "", 0, DUMPFILE_ENOTDUMP, "empty input", "empty");
        static const char text[] = "hello\nthis is a note about the case\n";
        expect_error((const uint8_t *) text, sizeof text - 1, DUMPFILE_ENOTDUMP, "plain text", "text");
        uint8_t rnd[4096];
        for (size_t i = 0; i < sizeof rnd; i++)
                rnd[i] = (uint8_t) (i * 2654435761u >> 13);
        expect_error(rnd, sizeof rnd, DUMPFILE_ENOTDUMP, "random bytes", "signature");

        /* a saved kernel log */
        static const char dmesg[] =
                "[    0.000000] Linux version 6.1.0-99-synth-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian "
                "12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 "
                "(2026-01-01)\n[    0.000000] Command line: console=ttyS0\n";
        r = identify((const uint8_t *) dmesg, sizeof dmesg - 1, &info, reason);
        tap_is_int(r, 0, "kernel log identified");
        if (r == 0) {
                tap_is_str(dump_format_to_string(info->format), "dmesg", "  format");
                tap_is_str(info->release, SYNTH_RELEASE, "  release from the banner");
                tap_is_str(info->version, SYNTH_VERSION, "  version from the banner");
        }
        info = dump_info_free(info);
        return tap_done();
}
