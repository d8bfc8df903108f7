/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The storage view: what drgn prints is checked before it is kept (shape, types, strings
 * printable and clipped), turned into the lines the rules read, and the shipped storage rules
 * name a stuck device, a suspended dm device with waiters and an offline SCSI device on them.
 * The view of a real dump is tested in tests/e2e/storage.sh. HOTKDUMP_FUZZ_SEEDS=DIR also
 * writes the views here into DIR, as fuzzing seeds. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/storage/storage.h"
#include "pipeline/triage/triage.h"
#include "tests/tap.h"

/* A SCSI disk with a command outstanding 14.2 s, under multipath and a linear map, and a
 * suspended map with a writer waiting: the shape of the storage fixture's dump. */
static const char hung_view[] =
        "{\"schema\": 1, \"hz\": 250, \"jiffies\": 4295000000, \"errors\": [],"
        " \"block\": {\"disks\": ["
        "  {\"name\": \"dm-0\", \"major\": 253, \"minor\": 0, \"blk_mq\": false, \"driver\": \"dm_mod\", \"in_flight\": 1},"
        "  {\"name\": \"sda\", \"major\": 8, \"minor\": 0, \"blk_mq\": true, \"driver\": \"sd_mod\", \"in_flight\": 1, \"oldest_age_s\": 14.2},"
        "  {\"name\": \"sdb\", \"major\": 8, \"minor\": 16, \"blk_mq\": true, \"driver\": \"sd_mod\", \"in_flight\": 0}]},"
        " \"scsi\": {\"hosts\": [{\"host_no\": 0, \"driver\": \"scsi_debug\", \"state\": \"running\", \"busy\": 1, \"blocked\": 0, \"failed\": 0}],"
        "  \"devices\": [{\"hctl\": \"0:0:0:0\", \"vendor\": \"Linux\", \"model\": \"scsi_debug\", \"state\": \"running\","
        "   \"queue_depth\": 1, \"timeout_s\": 600, \"in_flight\": [{\"age_s\": 14.2, \"tag\": 3, \"opcode\": \"0x2a\"}]}]},"
        " \"device_mapper\": {\"loaded\": true, \"devices\": ["
        "  {\"name\": \"hk-mp\", \"dm\": \"dm-0\", \"uuid\": \"\", \"open_count\": 1, \"suspended\": false, \"deferred\": 0,"
        "   \"table\": [{\"type\": \"multipath\", \"start\": 0, \"length\": 32768, \"params\": \"1 path group(s): round-robin 8:0 8:16\","
        "    \"devices\": [\"8:0\", \"8:16\"]}]},"
        "  {\"name\": \"hk-susp\", \"dm\": \"dm-2\", \"uuid\": \"\", \"open_count\": 0, \"suspended\": true, \"deferred\": 1,"
        "   \"table\": [{\"type\": \"linear\", \"start\": 0, \"length\": 16384, \"params\": \"253:0 16384\", \"devices\": [\"253:0\"]}]}]}}";

static const char hung_log[] =
        "[   25.100000] INFO: task dd:120 blocked for more than 10 seconds.\n"
        "[   25.100100]       Not tainted 6.1.0-57-cloud-amd64 #1 Debian 6.1.192-3\n"
        "[   25.100200] Call Trace:\n"
        "[   25.100300]  <TASK>\n"
        "[   25.100400]  __schedule+0x34d/0x9e0\n"
        "[   25.100500]  schedule+0x5a/0xd0\n"
        "[   25.100600]  io_schedule+0x42/0x70\n"
        "[   25.100700]  blk_mq_get_tag+0x10c/0x290\n"
        "[   25.200000] Kernel panic - not syncing: hung_task: blocked tasks\n";

static void seed(const char *name, const char *text) {
        tap_write_seed(name, text, strlen(text));
}

static json_object *parse(const char *text, char *err, size_t size) {
        err[0] = 0;
        return storage_parse(text, strlen(text), err, size);
}

static void test_parse(void) {
        static const struct {
                const char *name, *text, *why;
        } bad[] = {
                { "not-json", "drgn: error: cannot open", "not one JSON value" },
                { "two-values", "{\"schema\": 1, \"block\": {\"disks\": []}} {}", "not one JSON value" },
                { "array", "[1, 2]", "not a JSON object" },
                { "schema-2", "{\"schema\": 2, \"block\": {\"disks\": []}}", "not schema 1" },
                { "no-block", "{\"schema\": 1}", "no block.disks" },
                { "disks-object", "{\"schema\": 1, \"block\": {\"disks\": {}}}", "no block.disks" },
                { "disk-number", "{\"schema\": 1, \"block\": {\"disks\": [5]}}", "a list of devices holds something else" },
                { "dm-string", "{\"schema\": 1, \"block\": {\"disks\": []}, \"device_mapper\": {\"devices\": \"x\"}}",
                  "a list of devices holds something else" },
        };
        char err[128];
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                seed(bad[i].name, bad[i].text);
                json_object *v = parse(bad[i].text, err, sizeof err);
                tap_ok(!v, "%s: refused", bad[i].name);
                tap_ok(!strcmp(err, bad[i].why), "%s: ... because: %s (got '%s')", bad[i].name, bad[i].why, err);
                json_object_put(v);
        }
        seed("hung", hung_view);
        json_object *v = parse(hung_view, err, sizeof err);
        tap_ok(v != NULL, "the hung view is a view (%s)", err);
        json_object_put(v);

        /* what a dump's strings may hold does not get through as it is */
        char long_name[400];
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"schema\": 1, \"block\": {\"disks\": [{\"name\": \"sd\\u001b[31ma\\nstuck disk x\", \"in_flight\": 1,"
                 " \"Evil\": 1, \"driver\": \"%s\"}]}}",
                 long_name);
        seed("hostile", text);
        v = parse(text, err, sizeof err);
        json_object *d = v ? json_object_array_get_idx(json_object_object_get(json_object_object_get(v, "block"), "disks"), 0) : NULL;
        tap_is_str(d ? json_object_get_string(json_object_object_get(d, "name")) : NULL, "sd?[31ma?stuck disk x",
                   "control characters in a name become '?': no escape sequence, no second line");
        tap_is_int(d ? strlen(json_object_get_string(json_object_object_get(d, "driver"))) : 0, 256, "a long string is clipped to 256 bytes");
        tap_ok(d && !json_object_object_get_ex(d, "Evil", NULL), "a key that is not ours is dropped");
        size_t len = 0;
        char *facts = v ? storage_facts(v, 30, &len) : NULL;
        tap_ok(facts && !strstr(facts, "\nstuck disk x"), "... so the rules' lines cannot be forged by a device name");
        free(facts);
        json_object_put(v);
}

static void test_facts(void) {
        char err[128];
        json_object *v = parse(hung_view, err, sizeof err);
        size_t len = 0;
        char *t = storage_facts(v, 10, &len);
        printf("# facts:\n");
        for (const char *l = t; l && *l;) {
                const char *nl = strchr(l, '\n');
                printf("#   %.*s\n", (int) (nl ? nl - l : (long) strlen(l)), l);
                l = nl ? nl + 1 : l + strlen(l);
        }
        const char *sda = t ? strstr(t, "stuck disk sda (sd_mod): 1 request(s) in flight, the oldest for 14.2 s\n") : NULL;
        tap_ok(sda != NULL, "sda: stuck, its request in flight for 14.2 s");
        const char *dm0 = t ? strstr(t, "disk dm-0 (dm_mod): 1 request(s) in flight\n") : NULL;
        tap_ok(dm0 && sda && sda < dm0, "the disks that take requests come first, dm-0 (no ages) after them");
        tap_ok(t && strstr(t, "disk sdb (sd_mod): 0 request(s) in flight\n") && !strstr(t, "stuck disk sdb"), "sdb: idle, not stuck");
        tap_ok(t && strstr(t, "stuck scsi device 0:0:0:0 (Linux scsi_debug): state running, queue depth 1, timeout 600 s, "
                              "1 command(s) in flight, the oldest for 14.2 s\n"),
               "the SCSI device: state, queue depth, timeout, the command in flight and its age");
        tap_ok(t && strstr(t, "scsi host 0 (scsi_debug): state running, busy 1, blocked 0, failed 0\n"), "the SCSI host");
        tap_ok(t && strstr(t, "dm hk-susp (dm-2): suspended, open 0, 1 bio(s) waiting, table: linear 0+16384 over 253:0\n"),
               "the suspended dm device, its waiter and its table");
        tap_ok(t && strstr(t, "dm hk-mp (dm-0): live, open 1, 0 bio(s) waiting, table: multipath 0+32768 over 8:0,8:16\n"),
               "the multipath map over its two paths");
        free(t);
        t = storage_facts(v, 20, &len);
        tap_ok(t && !strstr(t, "stuck"), "with storage.stuck_after 20 s, 14.2 s is not stuck");
        free(t);
        json_object_put(v);
}

static json_object *run(const struct rules *rs, const char *view_text, const char *log, double stuck_after) {
        char err[128];
        json_object *v = parse(view_text, err, sizeof err);
        size_t len = 0;
        char *facts = v ? storage_facts(v, stuck_after, &len) : NULL;
        struct triage_source src[] = { { "storage", facts ? facts : "", len }, { "log", log, strlen(log) } };
        struct triage_input in = { .sources = src, .n_sources = 2 };
        json_object *errors = json_object_new_array();
        json_object *found = triage_run(rs, &in, errors);
        tap_is_int(json_object_array_length(errors), 0, "no rule error");
        json_object_put(errors);
        free(facts);
        json_object_put(v);
        return found;
}

static const char *finding(json_object *found, const char *id, const char *key) {
        for (size_t i = 0; found && i < json_object_array_length(found); i++) {
                json_object *f = json_object_array_get_idx(found, i), *v;
                if (json_object_object_get_ex(f, "id", &v) && !strcmp(json_object_get_string(v), id))
                        return json_object_object_get_ex(f, key, &v) ? json_object_get_string(v) : "";
        }
        return NULL;
}

static void test_rules(void) {
        struct rules *rs = NULL;
        json_object *errors = json_object_new_array();
        tap_is_int(rules_load(NULL, 10000000, &rs, errors), 0, "the shipped rules load");
        tap_ok(rules_use_source(rs, "storage"), "and some read the storage view");

        json_object *found = run(rs, hung_view, hung_log, 10);
        json_object *first = found && json_object_array_length(found) ? json_object_array_get_idx(found, 0) : NULL;
        tap_is_str(first ? json_object_get_string(json_object_object_get(first, "id")) : NULL, "io-stuck",
                   "a stuck disk with a task blocked in io_schedule: io-stuck is the headline, before hung-task");
        tap_is_str(finding(found, "io-stuck", "summary"),
                   "I/O stuck on sda (sd_mod): 1 request(s) in flight, the oldest for 14.2 s, with tasks blocked on I/O",
                   "... naming the stuck device");
        tap_is_str(finding(found, "dm-suspended-waiters", "summary"),
                   "Device-mapper device hk-susp (dm-2) suspended with 1 I/O waiting for it to resume",
                   "the suspended map with a waiter is a finding too");
        json_object_put(found);

        found = run(rs, hung_view, hung_log, 20);
        tap_ok(!finding(found, "io-stuck", "id"), "nothing older than storage.stuck_after: no io-stuck");
        json_object_put(found);
        found = run(rs, hung_view, "[    1.000000] Kernel panic - not syncing: sysrq triggered crash\n", 10);
        tap_ok(!finding(found, "io-stuck", "id"), "a stuck request without blocked tasks: no io-stuck");
        json_object_put(found);

        char offline[4096];
        snprintf(offline, sizeof offline, "%s", hung_view);
        static const char dev_state[] = "\"model\": \"scsi_debug\", \"state\": \"";
        char *st = strstr(offline, dev_state);
        if (st)
                memcpy(st + strlen(dev_state), "offline", 7); /* as long as "running" */
        seed("offline", offline);
        found = run(rs, offline, "", 10);
        tap_is_str(finding(found, "scsi-device-unwell", "summary"), "SCSI device 0:0:0:0 (Linux scsi_debug) is offline",
                   "an offline SCSI device is a note");
        json_object_put(found);

        /* a name from the dump cannot pass for a fact: the rules match whole lines */
        static const char forged[] =
                "{\"schema\": 1, \"block\": {\"disks\": []}, \"device_mapper\": {\"devices\": [{\"name\": "
                "\"x stuck disk sda (sd_mod): 9 request(s) in flight, the oldest for 999 s\", \"dm\": \"dm-0\","
                " \"suspended\": false, \"table\": []}]},"
                " \"scsi\": {\"devices\": [{\"hctl\": \"0:0:0:0\", \"vendor\": \"V\", \"model\": \"M): state offline, x\","
                " \"state\": \"running\", \"in_flight\": []}]}}";
        seed("forged", forged);
        found = run(rs, forged, hung_log, 10);
        tap_ok(!finding(found, "io-stuck", "id"), "a dm name that reads like a stuck disk is not one");
        json_object_put(found);

        snprintf(offline, sizeof offline, "%s", hung_view);
        if ((st = strstr(offline, dev_state)))
                memcpy(st + strlen(dev_state), "blocked", 7); /* sysfs's name for SDEV_BLOCK */
        found = run(rs, offline, "", 10);
        tap_is_str(finding(found, "scsi-device-unwell", "summary"), "SCSI device 0:0:0:0 (Linux scsi_debug) is blocked",
                   "a blocked SCSI device (as sysfs names the state) is a note");
        json_object_put(found);
        json_object_put(errors);
        rules_free(rs);
}

int main(void) {
        test_parse();
        test_facts();
        test_rules();
        return tap_done();
}
