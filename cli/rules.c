/* `hotkdump rules`: the triage rules a job would load now (built in plus the site folder),
 * with every problem in them; `--check FILE…` checks rule files before they are installed. */

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "pipeline/triage.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump rules [OPTIONS]\n"
                "       hotkdump rules --check FILE…\n"
                "\n"
                "Lists the triage rules a job loads now: the built-in ones, then the site folder's\n"
                "(triage.rules_dir), in the order they are evaluated, with the problems found in them.\n"
                "With --check, reads only the files named (with the built-in rules underneath, so\n"
                "overrides count) and reports their problems.\n"
                "\n"
                "  --check            check the files named on the command line\n"
                "  --root DIR, --config FILE, --set KEY=VALUE   settings, as for analyze\n"
                "\n"
                "Exit status: 0 all rules load; 1 some rule or file has a problem (each is printed);\n"
                "2 usage.\n");
}

int cli_rules(int argc, char **argv) {
        static const struct option opts[] = {
                { "check", no_argument, NULL, 'c' },
                CLI_SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct cli_settings settings = { 0 };
        struct config *cfg = NULL;
        struct rules *rs = NULL;
        json_object *errors = json_object_new_array();
        bool check = false;
        int c, done, ret = CLI_EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'c')
                        check = true;
                else if ((done = cli_common_option(&settings, c, optarg, usage)) >= 0) {
                        ret = done;
                        goto out;
                }
        }
        if (!errors) {
                ret = CLI_EXIT_INTERNAL;
                goto out;
        }
        if (check != (optind < argc)) {
                log_error("rules: %s", check ? "--check needs the files to check" : "unexpected argument (did you mean --check?)");
                usage(stderr);
                goto out;
        }
        if (cli_settings_load(&settings, "rules", &cfg) < 0)
                goto out;
        uint64_t limit = config_u64(cfg, CONF_TRIAGE_MATCH_LIMIT);
        int r = rules_load(check ? NULL : config_string(cfg, CONF_TRIAGE_RULES_DIR), limit, &rs, errors);
        for (int i = optind; r >= 0 && i < argc; i++) {
                char *text = NULL;
                size_t len = 0;
                int q = read_file_max(argv[i], 1u << 20, &text, &len);
                if (q < 0) {
                        char msg[4200];
                        snprintf(msg, sizeof msg, "%s: cannot read: %s", argv[i], q == -EFBIG ? "larger than 1 MiB" : strerror(-q));
                        json_object_array_add(errors, json_object_new_string(msg));
                        continue;
                }
                r = rules_add_text(rs, argv[i], text, len, errors);
                free(text);
        }
        if (r < 0) {
                log_error("rules: %s", strerror(-r));
                ret = CLI_EXIT_INTERNAL;
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
        ret = n ? 1 : CLI_EXIT_OK;
out:
        rules_free(rs);
        json_object_put(errors);
        config_free(cfg);
        cli_settings_clear(&settings);
        return ret;
}
