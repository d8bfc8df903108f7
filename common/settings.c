/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Settings for both programs: the config file, then --root and --set, in the order given. */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/settings.h"

int settings_add(struct settings *s, const char *key, const char *value) {
        assert(s && key); /* value NULL: key is KEY=VALUE whole (--set) */
        if (s->n == sizeof s->sets / sizeof s->sets[0]) {
                log_error("too many settings");
                return -E2BIG;
        }
        size_t n = strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
        s->sets[s->n] = malloc(n);
        if (!s->sets[s->n])
                return -ENOMEM;
        if (value)
                snprintf(s->sets[s->n], n, "%s=%s", key, value);
        else
                snprintf(s->sets[s->n], n, "%s", key);
        s->n++;
        return 0;
}

static const char *program = PACKAGE_NAME;

void settings_set_program(const char *name) {
        program = name;
}

int settings_option(struct settings *s, int c, const char *arg, void (*usage)(FILE *out)) {
        assert(s);
        switch (c) {
        case SETTINGS_OPT_VERSION: printf("%s %s\n", program, PACKAGE_VERSION); return EXIT_OK;
        case SETTINGS_OPT_ROOT: return settings_add(s, "root", arg) < 0 ? EXIT_USAGE : -1;
        case SETTINGS_OPT_SET: return settings_add(s, arg, NULL) < 0 ? EXIT_USAGE : -1;
        case SETTINGS_OPT_CONFIG: s->file = arg; return -1;
        case 'h': usage(stdout); return EXIT_OK;
        default: /* getopt_long() said what was wrong */
                fprintf(stderr, "Try '%s --help' for more information.\n", program);
                return EXIT_USAGE;
        }
}

int settings_load(struct settings *s, const char *cmd, struct config **ret) {
        assert(s && cmd && ret);
        struct config *cfg;
        char err[512];
        int r = config_new(&cfg);
        if (r < 0)
                return r;
        const char *file = s->file ? s->file : HOTKDUMP_CONFDIR "/hotkdump.conf";
        r = config_load_file(cfg, file, err, sizeof err);
        if (r == -ENOENT && !s->file)
                r = 0;
        else if (r < 0)
                log_error("%s: %s", cmd, err);
        for (size_t i = 0; i < s->n && r == 0; i++) {
                char *eq = strchr(s->sets[i], '=');
                if (!eq) {
                        log_error("%s: --set '%s': expected KEY=VALUE", cmd, s->sets[i]);
                        r = -EINVAL;
                        break;
                }
                *eq = 0;
                r = config_set(cfg, s->sets[i], eq + 1, err, sizeof err);
                *eq = '=';
                if (r < 0)
                        log_error("%s: %s", cmd, err);
        }
        if (r < 0) {
                config_free(cfg);
                return r;
        }
        *ret = cfg;
        return 0;
}

void settings_clear(struct settings *s) {
        assert(s);
        for (size_t i = 0; i < s->n; i++)
                free(s->sets[i]);
        s->n = 0;
}
