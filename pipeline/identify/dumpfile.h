/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Dump identification: what a file is (format, kernel, build-id, completeness), read from its
 * headers only, so that the time it takes does not grow with the size of the dump. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dump_format {
        DUMP_FORMAT_KDUMP,    /* makedumpfile's kdump-compressed */
        DUMP_FORMAT_DISKDUMP, /* the older diskdump, same header family */
        DUMP_FORMAT_ELF,      /* /proc/vmcore as is, makedumpfile -E, QEMU's ELF dump */
        DUMP_FORMAT_DMESG,    /* a kernel log saved as text (makedumpfile --dump-dmesg) */
};

enum dump_complete { DUMP_COMPLETE_UNKNOWN, DUMP_COMPLETE_YES, DUMP_COMPLETE_NO };

/* Error classes returned by dumpfile_identify() besides I/O errors. */
#define DUMPFILE_ENOTDUMP (-ENOEXEC) /* not a kernel dump at all */
#define DUMPFILE_EDAMAGED (-EBADMSG) /* a dump whose headers cannot be read */

struct dumpfile_limits {
        size_t stream_prefix_max;     /* bytes of a compressed file decompressed to identify it */
        size_t flattened_records_max; /* records of a flattened stream indexed */
        size_t notes_max;             /* bytes of ELF notes / VMCOREINFO read */
        size_t bitmap_max;            /* bytes of kdump page bitmap read to check completeness */
};

extern const struct dumpfile_limits dumpfile_limits_default;

#define DUMP_UTS_LEN 65

struct dump_info {
        enum dump_format format;
        bool flattened;              /* makedumpfile -F / QEMU kdump-* stream */
        char file_compression[32];   /* the whole file compressed: "gzip", "xz", … or "" */
        char page_compression[16];   /* kdump: "zlib", "lzo", "snappy", "zstd", "none" */
        char arch[DUMP_UTS_LEN];
        char release[DUMP_UTS_LEN];
        char version[DUMP_UTS_LEN];  /* utsname version: "#1 SMP PREEMPT_DYNAMIC Debian …" */
        char machine[DUMP_UTS_LEN];
        char nodename[DUMP_UTS_LEN];
        char build_id[129];
        int64_t crash_time;          /* seconds since the epoch, when has_crash_time */
        bool has_crash_time;
        uint32_t page_size;          /* 0 when unknown */
        int dump_level;              /* makedumpfile -d, -1 when unknown */
        int nr_cpus;                 /* -1 when unknown */
        int header_version;          /* kdump header version, -1 for other formats */
        bool split;                  /* makedumpfile --split part */
        uint64_t split_start_pfn, split_end_pfn;
        uint64_t max_mapnr;
        enum dump_complete complete;
        uint64_t file_size;          /* bytes on disk */
        uint64_t expected_size;      /* what the headers say the file should hold; 0 unknown */
        char complete_reason[200];   /* why incomplete or unknown */
        char *vmcoreinfo;            /* NUL-terminated copy, or NULL */
        size_t vmcoreinfo_len;
};

struct dump_info *dump_info_free(struct dump_info *info);

/* Identifies the file at path. On failure returns -errno, DUMPFILE_ENOTDUMP or
 * DUMPFILE_EDAMAGED and writes a one-line reason (without the path) into reason. */
int dumpfile_identify(const char *path, const struct dumpfile_limits *limits, struct dump_info **ret,
                      char *reason, size_t reason_size);

/* The same for a file already in memory (tests, fuzzing). */
int dumpfile_identify_buffer(const void *buf, size_t len, const struct dumpfile_limits *limits,
                             struct dump_info **ret, char *reason, size_t reason_size);

const char *dump_format_to_string(enum dump_format f);
const char *dump_complete_to_string(enum dump_complete c);

/* The identity as JSON, as `hotkdump info --json` prints it and summary.json records it. */
struct json_object *dump_info_to_json(const char *path, const struct dump_info *info);
