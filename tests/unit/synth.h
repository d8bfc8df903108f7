/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Builds small synthetic dumps in memory, byte for byte in the on-disk layouts, so that the
 * unit tests can cover what Debian's makedumpfile cannot write (snappy, zstd, odd headers). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNTH_RELEASE "6.1.0-99-synth-amd64"
#define SYNTH_VERSION "#1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 (2026-01-01)"
#define SYNTH_BUILD_ID "4f1c0a77d2e9c5b8a3f60e1d9b7c2a4e5f6a7b8c"
#define SYNTH_CRASHTIME 1790000000
#define SYNTH_UTS_PFN 5

struct synth_kdump {
        uint32_t compression; /* DUMP_DH_COMPRESSED_* flag, 0 for none */
        bool uts_in_header;   /* false: empty utsname, as QEMU writes */
        uint32_t status_extra;
        uint32_t block_size_override;
        uint32_t bitmap_blocks_override;
        uint64_t vmcoreinfo_size_override;
        bool split;
};

/* Returns a malloc'd buffer and its size in *ret_len. */
uint8_t *synth_kdump(const struct synth_kdump *opt, size_t *ret_len);
uint8_t *synth_elf(bool with_vmcoreinfo, bool process_core, uint16_t e_type, size_t *ret_len);
/* Wraps a plain dump in a flattened stream in records of chunk bytes, last record first when
 * reversed; with_end adds the end record. */
uint8_t *synth_flatten(const uint8_t *dump, size_t len, size_t chunk, bool reversed, bool with_end, size_t *ret_len);
uint8_t *synth_gzip(const uint8_t *data, size_t len, size_t *ret_len);
