/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writes one of the unit tests' synthetic dumps to a file, for the quick end-to-end tier, which
 * runs before (and without) the QEMU fixtures: mkdump kdump|kdump-zlib|elf|flat|gzip OUT. */
#include "tests/unit/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: mkdump kdump|kdump-zlib|elf|flat|gzip OUT\n");
                return 2;
        }
        const char *kind = argv[1];
        size_t n = 0, m = 0;
        uint8_t *d = NULL, *w = NULL;
        if (strcmp(kind, "elf") == 0)
                d = synth_elf(true, false, 4, &n);
        else if (strcmp(kind, "kdump") == 0)
                d = synth_kdump(&(struct synth_kdump) { .uts_in_header = true }, &n);
        else if (strcmp(kind, "kdump-zlib") == 0 || strcmp(kind, "flat") == 0 || strcmp(kind, "gzip") == 0)
                d = synth_kdump(&(struct synth_kdump) { .compression = 1, .uts_in_header = true }, &n);
        else {
                fprintf(stderr, "mkdump: unknown kind '%s'\n", kind);
                return 2;
        }
        if (strcmp(kind, "flat") == 0)
                w = synth_flatten(d, n, 4096, false, true, &m);
        else if (strcmp(kind, "gzip") == 0)
                w = synth_gzip(d, n, &m);
        FILE *f = fopen(argv[2], "wbx");
        if (!f) {
                perror(argv[2]);
                return 1;
        }
        size_t len = w ? m : n;
        int bad = fwrite(w ? w : d, 1, len, f) != len;
        bad |= fclose(f) != 0;
        free(d);
        free(w);
        if (bad) {
                perror(argv[2]);
                return 1;
        }
        return 0;
}
