/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump rules`: the triage rules a job would load now (built in plus the site folder),
 * with every problem in them; `--check FILE…` checks rule files before they are installed. */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/fileio.h"
#include "common/log.h"
#include "pipeline/triage/triage.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump rules [OPTIONS]\n"
                "       hotkdump rules --check FILE…\n"
                "       hotkdump rules --test LOG [--release RELEASE]\n"
                "\n"
                "Lists the triage rules a job loads now: the built-in ones, then the site folder's\n"
                "(triage.rules_dir), in the order they are evaluated, with the problems found in them.\n"
                "With --check, loads the files named as a job loads the site folder's (over the\n"
                "built-in rules, so overrides count) and reports their problems.\n"
                "\n"
                "With --test, runs the rules on a kernel log (a dmesg file) as the first look would and\n"
                "prints the findings, headline first, with their evidence.\n"
                "\n"
                "  --check            check the files named on the command line\n"
                "  --test LOG         run the rules on the kernel log LOG\n"
                "  --release RELEASE  the kernel release for --test (default: none known)\n"
                "  --root DIR, --config FILE, --set KEY=VALUE   settings, as for analyze\n"
                "\n"
                "Exit status: 0 all rules load; 1 some rule or file has a problem (each is printed);\n"
                "2 usage.\n");
}

/* --test LOG: the findings on one kernel log */
static int test_log(const struct rules *rs, const char *path, const char *release, json_object *errors) {
        char *log = NULL;
        size_t len = 0;
        int r = read_file_max(path, 256u << 20, &log, &len);
        if (r < 0) {
                log_error("rules: %s: %s", path, r == -EFBIG ? "larger than 256 MiB" : strerror(-r));
                return EXIT_UNREADABLE;
        }
        json_object *found = triage_log(rs, log, len, release, errors);
        free(log);
        if (!found)
                return EXIT_INTERNAL;
        size_t n = json_object_array_length(found);
        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(found, i), *ev;
                printf("%s%s [%s, %s] %s\n", i ? "" : "headline: ", json_str_or(f, "id", ""), json_str_or(f, "kind", ""), json_str_or(f, "severity", ""),
                       json_str_or(f, "summary", ""));
                if (json_object_object_get_ex(f, "evidence", &ev))
                        for (size_t k = 0; k < json_object_array_length(ev); k++)
                                printf("    %s: %s\n", json_str_or(json_object_array_get_idx(ev, k), "source", ""),
                                       json_str_or(json_object_array_get_idx(ev, k), "line", ""));
        }
        if (!n || !strcmp(json_str_or(json_object_array_get_idx(found, 0), "kind", ""), "note"))
                printf("Cause not recognised\n");
        json_object_put(found);
        for (size_t i = 0; i < json_object_array_length(errors); i++)
                log_error("%s", json_object_get_string(json_object_array_get_idx(errors, i)));
        return json_object_array_length(errors) ? 1 : EXIT_OK;
}

int cli_rules(int argc, char **argv) {
        static const struct option opts[] = {
                { "check", no_argument, NULL, 'c' },
                { "test", required_argument, NULL, 't' },
                { "release", required_argument, NULL, 'r' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        struct rules *rs = NULL;
        json_object *errors = json_object_new_array();
        bool check = false;
        const char *test = NULL, *release = "";
        int c, done, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'c')
                        check = true;
                else if (c == 't')
                        test = optarg;
                else if (c == 'r')
                        release = optarg;
                else if ((done = settings_option(&settings, c, optarg, usage)) >= 0) {
                        ret = done;
                        goto out;
                }
        }
        if (!errors) {
                ret = EXIT_INTERNAL;
                goto out;
        }
        if (test && check) {
                log_error("rules: --test and --check do not go together");
                usage(stderr);
                goto out;
        }
        if (check != (optind < argc)) {
                log_error("rules: %s", check ? "--check needs the files to check" : "unexpected argument (did you mean --check?)");
                usage(stderr);
                goto out;
        }
        if (settings_load(&settings, "rules", &cfg) < 0)
                goto out;
        uint64_t limit = config_u64(cfg, CONF_TRIAGE_MATCH_LIMIT);
        /* the files named are loaded as a job loads the site folder's */
        int r = check ? rules_load_paths((const char *const *) argv + optind, (size_t) (argc - optind), limit, &rs, errors)
                      : rules_load(config_string(cfg, CONF_TRIAGE_RULES_DIR), limit, &rs, errors);
        if (r < 0) {
                log_error("rules: %s", strerror(-r));
                ret = EXIT_INTERNAL;
                goto out;
        }
        if (test) {
                ret = test_log(rs, test, release, errors);
                goto out;
        }
        for (size_t i = 0; i < rules_count(rs); i++) {
                const char *id, *file, *kind;
                rules_get(rs, i, &id, &file, &kind);
                printf("%-28s %-5s  %s\n", id, kind, file);
        }
        size_t n = json_object_array_length(errors);
        for (size_t i = 0; i < n; i++)
                log_error("%s", json_object_get_string(json_object_array_get_idx(errors, i)));
        printf("%zu rules loaded, %zu problem(s)\n", rules_count(rs), n);
        ret = n ? 1 : EXIT_OK;
out:
        rules_free(rs);
        json_object_put(errors);
        config_free(cfg);
        settings_clear(&settings);
        return ret;
}
