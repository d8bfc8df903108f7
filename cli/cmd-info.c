/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump info`: what each file is, read from its headers.
 * Exit status tells scripts which kind of problem the worst file had. */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/log.h"
#include "pipeline/identify/dumpfile.h"
#include "common/clock.h"
#include "pipeline/identify/vmcoreinfo.h"

static void format_line(const struct dump_info *i, char *buf, size_t size) {
        const char *f = dump_format_to_string(i->format);
        if (i->format == DUMP_FORMAT_KDUMP || i->format == DUMP_FORMAT_DISKDUMP)
                snprintf(buf, size, "%s%s (%s)%s", i->flattened ? "flattened " : "", f, i->page_compression,
                         i->split ? ", split part" : "");
        else
                snprintf(buf, size, "%s%s", i->flattened ? "flattened " : "", f);
}

/* Keys wanted by --vmcoreinfo=A,B; NULL means all. */
static void print_vmcoreinfo(const struct dump_info *i, const char *keys, FILE *out) {
        if (!i->vmcoreinfo) {
                fprintf(out, "  (no VMCOREINFO)\n");
                return;
        }
        if (!keys || !*keys) {
                for (const char *p = i->vmcoreinfo; *p;) {
                        const char *nl = strchr(p, '\n');
                        int len = nl ? (int) (nl - p) : (int) strlen(p);
                        if (len > 0)
                                fprintf(out, "  %.*s\n", len, p);
                        p += len + (nl ? 1 : 0);
                }
                return;
        }
        char *copy = strdup(keys), *save = NULL;
        if (!copy)
                return;
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                size_t vlen;
                const char *v = vmcoreinfo_get(i->vmcoreinfo, i->vmcoreinfo_len, k, &vlen);
                if (v)
                        fprintf(out, "  %s=%.*s\n", k, (int) vlen, v);
                else
                        fprintf(out, "  %s (absent)\n", k);
        }
        free(copy);
}

static void print_text(const char *path, const struct dump_info *i, bool vmcoreinfo, const char *keys) {
        char buf[256];

        printf("%s\n", path);
        format_line(i, buf, sizeof buf);
        printf("  format:       %s\n", buf);
        if (i->file_compression[0])
                printf("  compressed:   %s (the whole file)\n", i->file_compression);
        if (i->split)
                printf("  split range:  pfn %llu-%llu of %llu\n", (unsigned long long) i->split_start_pfn,
                       (unsigned long long) i->split_end_pfn, (unsigned long long) i->max_mapnr);
        printf("  arch:         %s\n", i->arch[0] ? i->arch : "unknown");
        printf("  release:      %s\n", i->release[0] ? i->release : "unknown");
        printf("  version:      %s\n", i->version[0] ? i->version : "unknown");
        printf("  machine:      %s\n", i->machine[0] ? i->machine : "unknown");
        if (i->nodename[0])
                printf("  hostname:     %s\n", i->nodename);
        printf("  build-id:     %s\n", i->build_id[0] ? i->build_id : "unknown");
        if (i->has_crash_time) {
                clock_format_utc(i->crash_time, false, buf, sizeof buf);
                printf("  crash time:   %s\n", buf);
        } else
                printf("  crash time:   unknown\n");
        if (i->page_size)
                printf("  page size:    %u\n", i->page_size);
        else
                printf("  page size:    unknown\n");
        if (i->dump_level >= 0)
                printf("  dump level:   %d\n", i->dump_level);
        else
                printf("  dump level:   unknown\n");
        if (i->nr_cpus >= 0)
                printf("  cpus:         %d\n", i->nr_cpus);
        else
                printf("  cpus:         unknown\n");
        if (i->complete == DUMP_COMPLETE_YES && i->expected_size)
                printf("  complete:     yes (%llu bytes, as the headers say)\n", (unsigned long long) i->file_size);
        else if (i->complete == DUMP_COMPLETE_YES)
                printf("  complete:     yes\n");
        else
                printf("  complete:     %s (%s)\n", dump_complete_to_string(i->complete), i->complete_reason);
        if (vmcoreinfo) {
                printf("  vmcoreinfo:\n");
                print_vmcoreinfo(i, keys, stdout);
        }
}

static json_object *info_to_json(const char *path, const struct dump_info *i, bool vmcoreinfo, const char *keys) {
        json_object *o = dump_info_to_json(path, i);
        if (vmcoreinfo && i->vmcoreinfo) {
                json_object *v = json_object_new_object();
                char *copy = strdup(i->vmcoreinfo), *save = NULL;
                for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
                        char *eq = strchr(line, '=');
                        if (!eq)
                                continue;
                        *eq = 0;
                        if (keys && *keys) {
                                /* only the keys asked for */
                                size_t kl = strlen(line);
                                const char *p = keys;
                                bool want = false;
                                while (*p && !want) {
                                        const char *c = strchr(p, ',');
                                        size_t l = c ? (size_t) (c - p) : strlen(p);
                                        want = l == kl && memcmp(p, line, l) == 0;
                                        p += l + (c ? 1 : 0);
                                }
                                if (!want)
                                        continue;
                        }
                        json_object_object_add(v, line, json_object_new_string(eq + 1));
                }
                free(copy);
                json_object_object_add(o, "vmcoreinfo", v);
        }
        return o;
}

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump info [--json] [--vmcoreinfo[=KEY,…]] FILE…\n"
                "\n"
                "Tells what each FILE is from its headers alone: dump format, kernel release and\n"
                "version, build-id, crash time, and whether the file is complete.\n"
                "\n"
                "  --json               one JSON object per file, in an array\n"
                "  --vmcoreinfo[=KEYS]  also print VMCOREINFO (all of it, or the keys named)\n"
                "\n"
                "Exit status: 0 all identified; 1 a dump is incomplete (truncated); 2 usage;\n"
                "3 not a dump; 4 damaged dump; 5 cannot read. With several files, the highest.\n");
}

int cli_info(int argc, char **argv) {
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "vmcoreinfo", optional_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool json = false, vmcoreinfo = false;
        const char *keys = NULL;
        int c, worst = EXIT_OK;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'v':
                        vmcoreinfo = true;
                        keys = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                log_error("info: no file given");
                usage(stderr);
                return EXIT_USAGE;
        }

        json_object *array = json ? json_object_new_array() : NULL;
        for (int a = optind; a < argc; a++) {
                const char *path = argv[a];
                struct dump_info *info = NULL;
                char reason[256];
                int r = dumpfile_identify(path, NULL, &info, reason, sizeof reason);
                int code;

                if (r < 0) {
                        code = r == DUMPFILE_ENOTDUMP ? EXIT_NOT_DUMP
                             : r == DUMPFILE_EDAMAGED ? EXIT_DAMAGED
                             : r == -ENOMEM ? EXIT_INTERNAL
                                             : EXIT_UNREADABLE;
                        log_error("%s: %s%s", path,
                                  code == EXIT_NOT_DUMP ? "not a dump: " : code == EXIT_DAMAGED ? "damaged dump: " : "cannot read: ",
                                  reason);
                        if (array) {
                                json_object *o = json_object_new_object();
                                json_object_object_add(o, "file", json_object_new_string(path));
                                json_object_object_add(o, "error",
                                                       json_object_new_string(code == EXIT_NOT_DUMP  ? "not-a-dump"
                                                                              : code == EXIT_DAMAGED ? "damaged"
                                                                                                         : "unreadable"));
                                json_object_object_add(o, "reason", json_object_new_string(reason));
                                json_object_array_add(array, o);
                        }
                } else {
                        code = info->complete == DUMP_COMPLETE_NO ? EXIT_INCOMPLETE : EXIT_OK;
                        if (code == EXIT_INCOMPLETE)
                                log_warning("%s: incomplete dump: %s", path, info->complete_reason);
                        if (array)
                                json_object_array_add(array, info_to_json(path, info, vmcoreinfo, keys));
                        else {
                                if (a > optind)
                                        putchar('\n');
                                print_text(path, info, vmcoreinfo, keys);
                        }
                        dump_info_free(info);
                }
                if (code > worst)
                        worst = code;
        }
        if (array) {
                puts(json_object_to_json_string_ext(array, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(array);
        }
        if (fflush(stdout) != 0) {
                log_error_errno(errno, "writing the output: %m");
                return EXIT_UNREADABLE;
        }
        return worst;
}
