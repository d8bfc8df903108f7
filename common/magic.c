/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The signatures of the files an upload can hold. */

#include <stdbool.h>
#include <string.h>

#include "common/magic.h"

static const struct {
        enum magic_kind kind;
        size_t off, len;
        const char *magic, *name;
        bool digit_after; /* bzip2: "BZh" and the block size, 1 to 9 */
} magics[] = {
        { MAGIC_DUMP, 0, 4, "\x7f" "ELF", "ELF", false },
        { MAGIC_DUMP, 0, 8, "KDUMP   ", "kdump-compressed", false },
        { MAGIC_DUMP, 0, 8, "DISKDUMP", "diskdump", false },
        { MAGIC_DUMP, 0, 12, "makedumpfile", "flattened", false },
        { MAGIC_COMPRESSED, 0, 2, "\x1f\x8b", "gzip", false },
        { MAGIC_COMPRESSED, 0, 6, "\xfd" "7zXZ\0", "xz", false },
        { MAGIC_COMPRESSED, 0, 4, "\x28\xb5\x2f\xfd", "zstd", false },
        { MAGIC_COMPRESSED, 0, 3, "BZh", "bzip2", true },
        { MAGIC_COMPRESSED, 0, 4, "\x04\x22\x4d\x18", "lz4", false },
        { MAGIC_ARCHIVE, 0, 4, "PK\x03\x04", "zip", false },
        { MAGIC_ARCHIVE, 0, 6, "7z\xbc\xaf\x27\x1c", "7-Zip", false },
        { MAGIC_ARCHIVE, 0, 6, "070701", "cpio", false },
        { MAGIC_ARCHIVE, 0, 6, "070702", "cpio", false },
        { MAGIC_ARCHIVE, 0, 6, "070707", "cpio", false },
        { MAGIC_ARCHIVE, 257, 5, "ustar", "tar", false },
};

enum magic_kind magic_kind(const unsigned char *h, size_t n, const char **ret_name) {
        for (size_t i = 0; h && i < sizeof magics / sizeof magics[0]; i++) {
                size_t end = magics[i].off + magics[i].len + (magics[i].digit_after ? 1 : 0);
                if (n < end || memcmp(h + magics[i].off, magics[i].magic, magics[i].len) != 0)
                        continue;
                if (magics[i].digit_after && (h[end - 1] < '1' || h[end - 1] > '9'))
                        continue;
                if (ret_name)
                        *ret_name = magics[i].name;
                return magics[i].kind;
        }
        if (ret_name)
                *ret_name = NULL;
        return MAGIC_NONE;
}
