/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Triage rules: loading and its error messages, the condition logic, templates, ordering, and
 * the shipped rules on log excerpts of the causes no fixture dump can show here (a general
 * protection fault, a hard lockup, an RCU stall, a stack overflow, a machine check, a page
 * fault). The causes the fixtures make are tested on real dumps in tests/e2e/triage.sh. */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/firstlook.h"
#include "pipeline/triage/triage.h"
#include "tests/tap.h"

static struct rules *load(const char *text, json_object **errors) {
        struct rules *rs = rules_new(1000000);
        *errors = json_object_new_array();
        rules_add_text(rs, "t.json", text, strlen(text), *errors);
        return rs;
}

static const char *error_at(json_object *errors, size_t i) {
        return i < json_object_array_length(errors) ? json_object_get_string(json_object_array_get_idx(errors, i)) : "";
}

static const char *field(json_object *finding, const char *key) {
        json_object *v;
        return finding && json_object_object_get_ex(finding, key, &v) ? json_object_get_string(v) : NULL;
}

/* Runs rs on a kernel log plus the facts of its first look, as the pipeline does. */
static json_object *run_log(const struct rules *rs, const char *log, const char *release) {
        json_object *errors = json_object_new_array();
        json_object *found = triage_log(rs, log, strlen(log), release, errors);
        for (size_t i = 0; i < json_object_array_length(errors); i++)
                printf("# run error: %s\n", error_at(errors, i));
        json_object_put(errors);
        return found;
}

static json_object *headline(json_object *found) {
        return found && json_object_array_length(found) ? json_object_array_get_idx(found, 0) : NULL;
}

static void test_errors(void) {
        json_object *errors;
        struct rules *rs;

        /* a syntax error: the file and where */
        rs = load("{\"rules\": [ {\"id\": \"a\", \"severity\": \"high\",\n \"when\": {\"source\": \"log\" \"match\": \"x\"}} ]}",
                  &errors);
        tap_is_int(rules_count(rs), 0, "syntax error: nothing loads from that file");
        tap_ok(strstr(error_at(errors, 0), "t.json: not valid JSON at line 2, column 27") != NULL,
               "syntax error names the file, line and column: %s", error_at(errors, 0));
        rules_free(rs);
        json_object_put(errors);

        /* a bad regular expression, an unknown source, an unknown key, a summary that uses a
         * capture nobody makes: each names the rule, and the good rule still loads */
        rs = load("{\"rules\": ["
                  "{\"id\": \"bad-re\", \"severity\": \"high\", \"when\": {\"source\": \"log\", \"match\": \"a(b\"}, \"summary\": \"x\"},"
                  "{\"id\": \"bad-source\", \"when\": {\"source\": \"dmesg\", \"match\": \"a\"}, \"summary\": \"x\"},"
                  "{\"id\": \"bad-key\", \"when\": {\"source\": \"log\", \"match\": \"a\"}, \"summary\": \"x\", \"sumary\": \"y\"},"
                  "{\"id\": \"bad-capture\", \"when\": {\"source\": \"log\", \"match\": \"(?<cpu>\\\\d+)\"}, \"summary\": \"{cpus}\"},"
                  "{\"id\": \"bad-severity\", \"severity\": \"fatal\", \"when\": {\"source\": \"log\", \"match\": \"a\"}, \"summary\": \"x\"},"
                  "{\"id\": \"two-kinds\", \"when\": {\"source\": \"log\", \"match\": \"a\", \"any\": []}, \"summary\": \"x\"},"
                  "{\"id\": \"bad-release\", \"when\": {\"release\": {\"min\": \"latest\"}}, \"summary\": \"x\"},"
                  "{\"id\": \"good\", \"when\": {\"source\": \"log\", \"match\": \"(?<n>\\\\d+)\"}, \"summary\": \"n={n}\"}"
                  "]}",
                  &errors);
        tap_is_int(rules_count(rs), 1, "only the good rule loads");
        tap_is_int(json_object_array_length(errors), 7, "one problem per bad rule");
        tap_ok(strstr(error_at(errors, 0), "t.json: rule 'bad-re': when.match: bad regular expression at offset 3: "
                                           "missing closing parenthesis") != NULL,
               "bad regex: %s", error_at(errors, 0));
        tap_ok(strstr(error_at(errors, 1), "rule 'bad-source': when: unknown source 'dmesg'") != NULL, "unknown source: %s",
               error_at(errors, 1));
        tap_ok(strstr(error_at(errors, 2), "rule 'bad-key': unknown key 'sumary'") != NULL, "unknown key: %s",
               error_at(errors, 2));
        tap_ok(strstr(error_at(errors, 3), "rule 'bad-capture': summary uses {cpus}, which no condition captures") != NULL,
               "template without capture: %s", error_at(errors, 3));
        tap_ok(strstr(error_at(errors, 4), "rule 'bad-severity': \"severity\" must be one of") != NULL, "severity: %s",
               error_at(errors, 4));
        tap_ok(strstr(error_at(errors, 5), "rule 'two-kinds': when must have exactly one of") != NULL, "kinds: %s",
               error_at(errors, 5));
        tap_ok(strstr(error_at(errors, 6), "rule 'bad-release': when.release.min: 'latest' is not a kernel version") != NULL,
               "release: %s", error_at(errors, 6));
        json_object *found = run_log(rs, "value 42\n", "6.1.0-1-amd64");
        tap_is_str(field(headline(found), "summary"), "n=42", "the good rule runs");
        json_object_put(found);
        rules_free(rs);
        json_object_put(errors);

        /* not a rule file at all */
        rs = load("[1, 2]", &errors);
        tap_ok(strstr(error_at(errors, 0), "a rule file is {\"rules\": [RULE, …]} or a single RULE object") != NULL,
               "a list is not a rule file: %s", error_at(errors, 0));
        rules_free(rs);
        json_object_put(errors);
        rs = load("{\"id\": \"x\", \"when\": {\"source\": \"log\", \"match\": \"x\"}, \"summary\": \"x\"} trailing", &errors);
        tap_ok(strstr(error_at(errors, 0), "line 1, column") != NULL && rules_count(rs) == 0, "text after the document: %s",
               error_at(errors, 0));
        rules_free(rs);
        json_object_put(errors);
}

static void test_logic(void) {
        json_object *errors;
        struct rules *rs = load(
                "{\"rules\": ["
                /* not on a crash source: unknown before crash ran, so the rule must not match */
                "{\"id\": \"not-unknown\", \"when\": {\"all\": [{\"source\": \"log\", \"match\": \"hello\"},"
                "  {\"not\": {\"source\": \"crash:bt\", \"match\": \"schedule\"}}]}, \"summary\": \"no schedule\"},"
                "{\"id\": \"any-unknown\", \"priority\": 60, \"when\": {\"any\": [{\"source\": \"crash:bt\", \"match\": \"x\"},"
                "  {\"source\": \"log\", \"match\": \"hel(?<rest>lo)\"}]}, \"summary\": \"any {rest}\"},"
                "{\"id\": \"range\", \"priority\": 70, \"when\": {\"release\": {\"min\": \"5.15.0-91\", \"below\": \"6.2\"}}, \"summary\": \"in range\"},"
                "{\"id\": \"vmci\", \"priority\": 80, \"when\": {\"source\": \"vmcoreinfo:OSRELEASE\", \"match\": \"^(?<rel>6\\\\.1\\\\S*)$\"},"
                "  \"summary\": [\"{rel} for {task}\", \"vmcoreinfo {rel}\"]},"
                "{\"id\": \"bad\", \"when\": {\"source\": \"log\", \"match\": \"x\"}, \"summary\": \"{missing_fact}\"},"
                "{\"id\": \"note\", \"kind\": \"note\", \"priority\": 999, \"when\": {\"source\": \"log\", \"match\": \"hello\"}, \"summary\": \"a note\"},"
                "{\"id\": \"off\", \"when\": {\"source\": \"log\", \"match\": \"hello\"}, \"summary\": \"disabled later\"}"
                "]}",
                &errors);
        tap_is_int(json_object_array_length(errors), 1, "one bad template (missing_fact)");
        json_object_put(errors);
        errors = json_object_new_array();
        /* a later file: replaces a rule by id, removes one */
        const char *later = "{\"rules\": [{\"id\": \"off\", \"disabled\": true},"
                            "{\"id\": \"range\", \"priority\": 70, \"when\": {\"release\": {\"min\": \"5.15.0-92\"}}, \"summary\": \"replaced\"}]}";
        tap_is_int(rules_add_text(rs, "site.json", later, strlen(later), errors), 0, "override file loads");
        const char *id, *file, *kind;
        bool off_gone = true;
        for (size_t i = 0; i < rules_count(rs); i++) {
                rules_get(rs, i, &id, &file, &kind);
                off_gone = off_gone && strcmp(id, "off") != 0;
        }
        tap_ok(off_gone, "\"disabled\": true removes a rule");

        const char *log = "[    1.000000] hello world\n";
        const char *vmci = "OSRELEASE=6.1.0-56-cloud-amd64\nPAGESIZE=4096\n";
        struct triage_source src[] = { { "log", log, strlen(log) }, { "release", "5.15.0-91-generic", 17 } };
        struct triage_input in = { .sources = src, .n_sources = 2, .vmcoreinfo = vmci, .vmcoreinfo_len = strlen(vmci) };
        json_object *found = triage_run(rs, &in, errors);
        size_t n = json_object_array_length(found);
        tap_is_int(n, 3, "three findings: any-unknown, vmci, note (not-unknown stays unknown, range is below 5.15.0-92)");
        tap_is_str(field(json_object_array_get_idx(found, 0), "id"), "vmci", "highest priority cause first");
        tap_is_str(field(json_object_array_get_idx(found, 0), "summary"), "vmcoreinfo 6.1.0-56-cloud-amd64",
                   "the first summary whose placeholders all have values");
        tap_is_str(field(json_object_array_get_idx(found, 1), "summary"), "any lo", "any: the branch that matched captures");
        tap_is_str(field(json_object_array_get_idx(found, 2), "id"), "note", "notes after causes, whatever their priority");
        json_object *ev;
        json_object_object_get_ex(json_object_array_get_idx(found, 1), "evidence", &ev);
        tap_ok(ev && json_object_array_length(ev) == 1 &&
                       strstr(json_object_to_json_string(ev), "hello world"), "evidence: the matched line");
        json_object_put(found);

        /* after crash: the crash source is known, not() becomes decidable */
        struct triage_source src2[] = { { "log", log, strlen(log) }, { "crash:bt", "#0 foo\n", 7 },
                                        { "release", "5.15.0-92-generic", 17 } };
        in.sources = src2;
        in.n_sources = 3;
        in.vmcoreinfo = NULL;
        found = triage_run(rs, &in, errors);
        bool have_not = false, have_range = false, have_vmci = false;
        for (size_t i = 0; i < json_object_array_length(found); i++) {
                const char *fid = field(json_object_array_get_idx(found, i), "id");
                have_not = have_not || !strcmp(fid, "not-unknown");
                have_range = have_range || !strcmp(fid, "range");
                have_vmci = have_vmci || !strcmp(fid, "vmci");
        }
        tap_ok(have_not, "not() on a known source that does not match is true");
        tap_ok(have_range, "5.15.0-92 is in the replaced range (min 5.15.0-92)");
        tap_ok(!have_vmci, "no VMCOREINFO: its rule does not match");
        json_object_put(found);
        rules_free(rs);
        json_object_put(errors);

        /* optional: captures when it holds, true when it does not; a multi-line match's last
         * line is in the evidence even past the per-match cap; an id twice in one file */
        rs = load("{\"rules\": ["
                  "{\"id\": \"opt\", \"when\": {\"all\": [{\"source\": \"log\", \"match\": \"start\"},"
                  "  {\"optional\": {\"source\": \"log\", \"match\": \"extra=(?<x>\\\\w+)\"}}]},"
                  "  \"summary\": [\"with {x}\", \"without\"]},"
                  "{\"id\": \"multi\", \"when\": {\"source\": \"log\", \"match\": \"start(?:\\\\n.*){0,30}?\\\\nproof\"},"
                  "  \"summary\": \"m\"},"
                  "{\"id\": \"opt\", \"when\": {\"source\": \"log\", \"match\": \"x\"}, \"summary\": \"dup\"}"
                  "]}",
                  &errors);
        tap_ok(strstr(error_at(errors, 0), "rule 'opt': defined twice in this file") != NULL, "an id twice: %s",
               error_at(errors, 0));
        const char *plain = "start\na\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\nproof\n";
        struct triage_source s4[] = { { "log", plain, strlen(plain) } };
        struct triage_input in4 = { .sources = s4, .n_sources = 1 };
        found = triage_run(rs, &in4, errors);
        tap_is_str(field(json_object_array_get_idx(found, 0), "summary"), "without", "optional that does not hold: still true");
        json_object_object_get_ex(json_object_array_get_idx(found, 1), "evidence", &ev);
        const char *last = ev && json_object_array_length(ev)
                                   ? field(json_object_array_get_idx(ev, json_object_array_length(ev) - 1), "line") : NULL;
        tap_is_str(last, "proof", "the match's last line is in its evidence");
        tap_ok(ev && json_object_array_length(ev) <= 12, "and the evidence stays within the cap (%zu lines)",
               ev ? json_object_array_length(ev) : 0);
        json_object_put(found);
        const char *with = "start extra=yes\n";
        s4[0].text = with;
        s4[0].len = strlen(with);
        found = triage_run(rs, &in4, errors);
        tap_is_str(field(json_object_array_get_idx(found, 0), "summary"), "with yes", "optional that holds: its captures");
        json_object_put(found);
        rules_free(rs);
        json_object_put(errors);

        /* a runaway pattern hits the match limit: reported, not hung */
        rs = load("{\"id\": \"slow\", \"when\": {\"source\": \"log\", \"match\": \"^(a+)+$\"}, \"summary\": \"x\"}", &errors);
        char big[4096];
        memset(big, 'a', sizeof big - 2);
        big[sizeof big - 2] = 'b';
        big[sizeof big - 1] = 0;
        found = run_log(rs, big, "6.1");
        tap_is_int(json_object_array_length(found), 0, "runaway pattern: no finding");
        tap_ok(json_object_array_length(errors) == 0, "no load error for it");
        json_object_put(found);
        json_object *run_errors = json_object_new_array();
        struct triage_source s3[] = { { "log", big, strlen(big) } };
        struct triage_input in3 = { .sources = s3, .n_sources = 1 };
        found = triage_run(rs, &in3, run_errors);
        tap_ok(strstr(error_at(run_errors, 0), "rule 'slow': matching log: match limit exceeded") != NULL,
               "match limit reported: %s", error_at(run_errors, 0));
        json_object_put(found);
        json_object_put(run_errors);
        rules_free(rs);
        json_object_put(errors);
}

/* ---- shipped rules on log excerpts, in the kernel's own formats ---------------------------- */

static const char gpf_log[] =
        "[  712.100000] general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[  712.100100] CPU: 3 PID: 4242 Comm: kworker/3:1 Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\n"
        "[  712.100200] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)\n"
        "[  712.100300] Workqueue: events free_work\n"
        "[  712.100400] RIP: 0010:__list_del_entry_valid+0x2e/0x90\n"
        "[  712.100500] Call Trace:\n"
        "[  712.100600]  <TASK>\n"
        "[  712.100700]  free_work+0x27/0x40\n"
        "[  712.100800]  process_one_work+0x1c7/0x380\n"
        "[  712.100900] Kernel panic - not syncing: Fatal exception\n";

static const char hardlockup_log[] =
        "[  300.000000] NMI watchdog: Watchdog detected hard LOCKUP on cpu 2\n"
        "[  300.000100] Modules linked in: nvidia(POE) ext4\n"
        "[  300.000200] CPU: 2 PID: 977 Comm: spinner Tainted: P           OE      6.1.0-56-amd64 #1\n"
        "[  300.000300] RIP: 0010:native_queued_spin_lock_slowpath+0x63/0x2c0\n"
        "[  300.000400] Kernel panic - not syncing: Hard LOCKUP\n";

static const char rcu_log[] =
        "[  120.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n"
        "[  120.000100] rcu: \t1-....: (5249 ticks this GP) idle=a05c/1/0x4000000000000000 softirq=1503/1503 fqs=2598\n"
        "[  120.000200] \t(detected by 0, t=5252 jiffies, g=2189, q=37 ncpus=2)\n"
        "[  120.000300] Sending NMI from CPU 0 to CPUs 1:\n"
        "[  120.000400] NMI backtrace for cpu 1\n"
        "[  120.000500] CPU: 1 PID: 1 Comm: sh Not tainted 6.1.0-56-cloud-amd64 #1\n"
        "[  120.000600] RIP: 0010:busy_loop+0x10/0x20\n"
        "[  120.000700] Kernel panic - not syncing: RCU Stall\n";

static const char stack_log[] =
        "[   50.000000] BUG: TASK stack guard page was hit at 00000000a1b2c3d4 (stack is 000000001f2e3d4c..00000000aabbccdd)\n"
        "[   50.000100] stack guard page: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[   50.000200] CPU: 0 PID: 880 Comm: recurse Not tainted 6.1.0-56-amd64 #1\n"
        "[   50.000300] RIP: 0010:recursive_fn+0x11/0x30\n"
        "[   50.000400] Kernel panic - not syncing: Fatal exception in interrupt\n";

static const char mce_log[] =
        "[ 9000.000000] mce: [Hardware Error]: CPU 5: Machine Check Exception: 5 Bank 4: b200000000070005\n"
        "[ 9000.000100] mce: [Hardware Error]: TSC 0 ADDR 1234000 MISC 86 \n"
        "[ 9000.000200] mce: [Hardware Error]: Machine check: Processor context corrupt\n"
        "[ 9000.000300] Kernel panic - not syncing: Fatal machine check\n";

static const char pagefault_log[] =
        "[   80.000000] BUG: unable to handle page fault for address: ffffa0e1c4b5a000\n"
        "[   80.000100] #PF: supervisor read access in kernel mode\n"
        "[   80.000200] #PF: error_code(0x0000) - not-present page\n"
        "[   80.000300] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[   80.000400] CPU: 1 PID: 512 Comm: reader Not tainted 6.1.0-56-amd64 #1\n"
        "[   80.000500] RIP: 0010:memcpy_orig+0x20/0x140\n"
        "[   80.000600] Kernel panic - not syncing: Fatal exception\n";

static const char unknown_log[] =
        "[    5.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
        "[    5.000100] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-56-amd64 #1\n"
        "[    5.000200] Call Trace:\n"
        "[    5.000300]  <TASK>\n"
        "[    5.000400]  dump_stack_lvl+0x44/0x5c\n"
        "[    5.000500]  panic+0x118/0x2f4\n"
        "[    5.000600]  mount_block_root+0x1d3/0x1e6\n";

/* a hung task warned about long before, then the real crash: the NULL dereference */
static const char earlier_hang_log[] =
        "[  100.000000] INFO: task jbd2/sda1-8:311 blocked for more than 120 seconds.\n"
        "[  100.000100]       Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\n"
        "[  100.000200] task:jbd2/sda1-8     state:D stack:0     pid:311   ppid:2      flags:0x00004000\n"
        "[  100.000300] Call Trace:\n"
        "[  100.000400]  <TASK>\n"
        "[  100.000500]  __schedule+0x34d/0xa00\n"
        "[  100.000600]  schedule+0x5a/0xd0\n"
        "[  100.000700]  io_schedule+0x42/0x70\n"
        "[  100.000800]  bit_wait_io+0xd/0x60\n"
        "[  100.000900]  __wait_on_bit+0x4b/0x140\n"
        "[  100.001000]  jbd2_journal_commit_transaction+0x1550/0x1a00\n"
        "[ 5000.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
        "[ 5000.000100] #PF: supervisor read access in kernel mode\n"
        "[ 5000.000200] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[ 5000.000300] CPU: 0 PID: 900 Comm: kworker/0:1 Not tainted 6.1.0-56-amd64 #1\n"
        "[ 5000.000400] RIP: 0010:blk_mq_free_request+0x1a/0x120\n";

/* the format of kernels up to 4.19 */
static const char old_pagefault_log[] =
        "[   80.000000] BUG: unable to handle kernel paging request at ffffa0e1c4b5a000\n"
        "[   80.000100] IP: memcpy_erms+0x6/0x10\n"
        "[   80.000200] Oops: 0000 [#1] SMP PTI\n"
        "[   80.000300] CPU: 1 PID: 512 Comm: reader Not tainted 4.15.0-213-generic #224-Ubuntu\n"
        "[   80.000400] RIP: 0010:memcpy_erms+0x6/0x10\n";

static const char old_null_log[] =
        "[   80.000000] BUG: unable to handle kernel NULL pointer dereference at 0000000000000010\n"
        "[   80.000200] Oops: 0000 [#1] SMP PTI\n"
        "[   80.000300] CPU: 1 PID: 512 Comm: reader Not tainted 4.15.0-213-generic #224-Ubuntu\n"
        "[   80.000400] RIP: 0010:nfs_file_read+0x1a/0x90 [nfs]\n";

/* ---- the kernel's own diagnoses (25-kernel-checks.json), in its formats ------------------- */

static const char kasan_log[] =
        "[  123.456789] ==================================================================\n"
        "[  123.456790] BUG: KASAN: slab-use-after-free in ext4_es_lookup_extent+0x4a1/0x5c0\n"
        "[  123.456791] Read of size 4 at addr ffff888104b3c6a8 by task kworker/u8:2/345\n"
        "[  123.456792]\n"
        "[  123.456793] CPU: 1 PID: 345 Comm: kworker/u8:2 Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2\n"
        "[  123.456795] Workqueue: writeback wb_workfn (flush-8:0)\n"
        "[  123.456796] Call Trace:\n"
        "[  123.456797]  <TASK>\n"
        "[  123.456798]  dump_stack_lvl+0x44/0x5c\n"
        "[  123.456799]  print_report+0x184/0x4be\n"
        "[  123.456800]  kasan_report+0xc5/0x100\n"
        "[  123.456801]  ext4_es_lookup_extent+0x4a1/0x5c0\n"
        "[  123.456802]  ext4_map_blocks+0x1b3/0xc50\n"
        "[  123.456803]  </TASK>\n"
        "[  123.456804]\n"
        "[  123.456810] Allocated by task 300:\n"
        "[  123.456811]  kasan_save_stack+0x1e/0x40\n"
        "[  123.456812]  kasan_set_track+0x21/0x30\n"
        "[  123.456813]  __kasan_slab_alloc+0x7a/0x90\n"
        "[  123.456814]  kmem_cache_alloc+0x15a/0x360\n"
        "[  123.456815]  __es_insert_extent+0x2c9/0x8a0\n"
        "[  123.456816]  ext4_es_insert_extent+0x22e/0x8e0\n"
        "[  123.456817]\n"
        "[  123.456820] Freed by task 310:\n"
        "[  123.456821]  kasan_save_stack+0x1e/0x40\n"
        "[  123.456822]  kasan_set_track+0x21/0x30\n"
        "[  123.456823]  kasan_save_free_info+0x2a/0x50\n"
        "[  123.456824]  ____kasan_slab_free+0x174/0x1e0\n"
        "[  123.456825]  kmem_cache_free+0xf6/0x3f0\n"
        "[  123.456826]  __es_shrink+0x3d2/0x6e0\n"
        "[  123.456827]\n"
        "[  123.456830] The buggy address belongs to the object at ffff888104b3c690\n"
        "[  123.456831]  which belongs to the cache extent_status of size 40\n"
        "[  123.456900] Kernel panic - not syncing: kasan.fault=panic set ...\n";

static const char kfence_log[] =
        "[   32.040609] ==================================================================\n"
        "[   32.040656] BUG: KFENCE: use-after-free read in nfs_page_group_destroy+0xb3/0x143 [nfs]\n"
        "[   32.040656]\n"
        "[   32.040673] Use-after-free read at 0x000000004d1f4f02 (in kfence-#79):\n"
        "[   32.040677]  nfs_page_group_destroy+0xb3/0x143 [nfs]\n"
        "[   32.040680]  nfs_release_request+0x51/0x85 [nfs]\n"
        "[   32.040684]\n"
        "[   32.040687] kfence-#79: 0x000000008a2d4b63-0x00000000d9f6f4d2, size=128, cache=nfs_page\n"
        "[   32.040687]\n"
        "[   32.040690] allocated by task 94 on cpu 0 at 32.040468s:\n"
        "[   32.040694]  nfs_page_create+0xf0/0x6ff [nfs]\n"
        "[   32.040697]  nfs_create_request+0x76/0x143 [nfs]\n"
        "[   32.040700]\n"
        "[   32.040703] freed by task 97 on cpu 1 at 32.040544s:\n"
        "[   32.040706]  nfs_free_request+0xa8/0x143 [nfs]\n"
        "[   32.040709]  nfs_unlock_and_release_request+0x2a/0x40 [nfs]\n"
        "[   32.040800] CPU: 0 PID: 94 Comm: kworker/0:3 Not tainted 6.12.117+deb13-amd64 #1\n";

static const char atomic_log[] =
        "[  200.000000] BUG: scheduling while atomic: insmod/1234/0x00000002\n"
        "[  200.000100] Modules linked in: badmod(OE) ext4\n"
        "[  200.000200] Preemption disabled at:\n"
        "[  200.000300] [<ffffffffc0a01020>] badmod_lock+0x20/0x40 [badmod]\n"
        "[  200.000400] CPU: 0 PID: 1234 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1\n"
        "[  200.000500] Call Trace:\n"
        "[  200.000600]  <TASK>\n"
        "[  200.000700]  dump_stack_lvl+0x44/0x5c\n"
        "[  200.000800]  __schedule_bug.cold+0x7d/0x8b\n"
        "[  200.000900]  __schedule+0x5e3/0x7a0\n"
        "[  200.001000]  schedule+0x5d/0xe0\n"
        "[  200.001100]  schedule_timeout+0x98/0x160\n"
        "[  200.001200]  msleep+0x2d/0x40\n"
        "[  200.001300]  badmod_init+0x35/0x1000 [badmod]\n"
        "[  200.001400]  do_one_initcall+0x41/0x200\n"
        "[  200.001500] Kernel panic - not syncing: scheduling while atomic\n";

static const char badpage_log[] =
        "[  300.000000] BUG: Bad page state in process kworker/0:2  pfn:10a3f2\n"
        "[  300.000100] page:000000003cda6b0a refcount:0 mapcount:0 mapping:000000008cf4d9e4 index:0x7f2d5 pfn:0x10a3f2\n"
        "[  300.000200] flags: 0x17ffffc0000000(node=0|zone=2|lastcpupid=0x1fffff)\n"
        "[  300.000300] raw: 0017ffffc0000000 dead000000000100 dead000000000122 ffff9a0f4c1e2a01\n"
        "[  300.000400] page dumped because: non-NULL mapping\n"
        "[  300.000500] Modules linked in: ext4\n"
        "[  300.000600] CPU: 0 PID: 4321 Comm: kworker/0:2 Tainted: G    B             6.1.0-56-amd64 #1\n"
        "[  300.000700] Kernel panic - not syncing: panic_on_taint set ...\n";

static const char fsbug_log[] =
        "[  400.000000] kernel BUG at fs/ext4/inode.c:1234!\n"
        "[  400.000100] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[  400.000200] CPU: 2 PID: 999 Comm: rsync Not tainted 6.1.0-56-amd64 #1\n"
        "[  400.000300] RIP: 0010:ext4_write_begin+0x4a5/0x4f0 [ext4]\n";

/* the warning format of newer kernels, from a core subsystem and from a driver */
static const char netwarn_log[] =
        "[  500.000000] ------------[ cut here ]------------\n"
        "[  500.000100] WARNING: net/core/skbuff.c:4567 at skb_try_coalesce+0x3f1/0x4a0, CPU#3: ksoftirqd/3/30\n"
        "[  500.000200] Modules linked in: virtio_net\n"
        "[  500.000300] CPU: 3 UID: 0 PID: 30 Comm: ksoftirqd/3 Not tainted 7.2.13+deb14-cloud-amd64 #1\n"
        "[  500.000400] RIP: 0010:skb_try_coalesce+0x3f1/0x4a0\n"
        "[  500.000500] Kernel panic - not syncing: kernel: panic_on_warn set ...\n";

static const char newwarn_log[] =
        "[   30.000000][  T135] ------------[ cut here ]------------\n"
        "[   30.000100][  T135] WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0x17/0x20 [lkdtm], CPU#1: sh/135\n"
        "[   30.000200][  T135] Modules linked in: lkdtm(OE)\n"
        "[   30.000300][  T135] CPU: 1 UID: 0 PID: 135 Comm: sh Tainted: G           OE       7.2.13+deb14-cloud-amd64 #1\n"
        "[   30.000400][  T135] RIP: 0010:lkdtm_WARNING+0x17/0x20 [lkdtm]\n"
        "[   30.000500][  T135] Kernel panic - not syncing: kernel: panic_on_warn set ...\n";

static const char redzone_log[] =
        "[  600.000000] =============================================================================\n"
        "[  600.000100] BUG kmalloc-64 (Tainted: G    B      OE     ): Right Redzone overwritten\n"
        "[  600.000200] -----------------------------------------------------------------------------\n"
        "[  600.000300]\n"
        "[  600.000400] 0xffff8a01c3e4a440-0xffff8a01c3e4a443 @offset=1088. First byte 0x78 instead of 0xcc\n"
        "[  600.000500] Allocated in mydrv_probe+0x51/0x200 [mydrv] age=12 cpu=1 pid=200\n"
        "[  600.000600]  __kmem_cache_alloc_node+0x2d9/0x300\n"
        "[  600.000700]  kmalloc_trace+0x26/0x90\n"
        "[  600.000800]  mydrv_probe+0x51/0x200 [mydrv]\n"
        "[  600.000900] Freed in mydrv_reset+0x2a/0x40 [mydrv] age=300 cpu=0 pid=1\n"
        "[  600.001000] CPU: 1 PID: 250 Comm: mydrvd Tainted: G    B      OE      6.1.0-56-amd64 #1\n"
        "[  600.001100] Call Trace:\n"
        "[  600.001200]  <TASK>\n"
        "[  600.001300]  dump_stack_lvl+0x44/0x5c\n"
        "[  600.001400]  check_bytes_and_report.cold+0x4c/0x59\n"
        "[  600.001500]  check_object+0x1f5/0x270\n"
        "[  600.001600]  free_debug_processing+0x1b3/0x2d0\n"
        "[  600.001700]  __slab_free+0x7c/0x2e0\n"
        "[  600.001800]  kfree+0xbb/0x100\n"
        "[  600.001900]  mydrv_release+0x32/0x50 [mydrv]\n"
        "[  600.002000] Kernel panic - not syncing: panic_on_taint set ...\n";

static const char initexit_log[] =
        "[    9.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n"
        "[    9.000100] CPU: 0 PID: 1 Comm: systemd Not tainted 6.1.0-56-amd64 #1\n";

static const char listdel_poison_log[] =
        "[  700.000000] list_del corruption, ffff9a0f4c1e2a08->next is LIST_POISON1 (dead000000000100)\n"
        "[  700.000100] ------------[ cut here ]------------\n"
        "[  700.000200] kernel BUG at lib/list_debug.c:56!\n"
        "[  700.000300] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[  700.000400] CPU: 0 PID: 77 Comm: kworker/0:1 Not tainted 6.1.0-56-amd64 #1\n"
        "[  700.000500] RIP: 0010:__list_del_entry_valid.cold+0x1d/0x47\n"
        "[  700.000600] Call Trace:\n"
        "[  700.000700]  <TASK>\n"
        "[  700.000800]  ? die+0x36/0x90\n"
        "[  700.000900]  ? do_trap+0xda/0x100\n"
        "[  700.001000]  mydrv_remove_entry+0x3c/0x90 [mydrv]\n"
        "[  700.001100]  process_one_work+0x1c7/0x380\n";

static void shipped(const struct rules *rs, const char *name, const char *log, const char *id, const char *summary) {
        json_object *found = run_log(rs, log, "6.1.0-56-amd64");
        json_object *h = headline(found);
        tap_is_str(field(h, "id"), id, name);
        tap_is_str(field(h, "summary"), summary, name);
        json_object_put(found);
}

static void test_shipped(void) {
        json_object *errors = json_object_new_array();
        struct rules *rs = NULL;
        int r = rules_load(NULL, 10000000, &rs, errors);
        tap_is_int(r, 0, "the shipped rules load without problems");
        for (size_t i = 0; i < json_object_array_length(errors); i++)
                printf("# %s\n", error_at(errors, i));
        tap_ok(rules_count(rs) >= 15, "shipped rules: %zu", rules_count(rs));
        shipped(rs, "general protection fault", gpf_log, "general-protection-fault",
                "General protection fault (non-canonical address 0xdead000000000122) in __list_del_entry_valid, task kworker/3:1");
        shipped(rs, "hard lockup", hardlockup_log, "hard-lockup",
                "Hard lockup on CPU 2 in native_queued_spin_lock_slowpath (interrupts disabled too long)");
        shipped(rs, "RCU stall", rcu_log, "rcu-stall", "RCU stall (rcu_preempt) on CPU 1 in busy_loop, task sh");
        shipped(rs, "stack overflow", stack_log, "stack-overflow", "Kernel stack overflow in recursive_fn, task recurse");
        shipped(rs, "machine check", mce_log, "machine-check",
                "Machine check (hardware error) on CPU 5, bank 4, status b200000000070005");
        shipped(rs, "page fault", pagefault_log, "page-fault-oops",
                "Kernel page fault on address ffffa0e1c4b5a000 in memcpy_orig, task reader");
        shipped(rs, "a panic no rule knows", unknown_log, "panic-call",
                "panic() called in mount_block_root: \"VFS: Unable to mount root fs on unknown-block(0,0)\"");

        shipped(rs, "an old hung task does not headline a later oops", earlier_hang_log, "null-pointer-dereference",
                "NULL pointer dereference (read of address 0000000000000008) in blk_mq_free_request, task kworker/0:1");
        json_object *found0 = run_log(rs, earlier_hang_log, "6.1.0-56-amd64");
        const char *seen = NULL;
        for (size_t i = 0; i < json_object_array_length(found0); i++)
                if (!strcmp(field(json_object_array_get_idx(found0, i), "id"), "hung-task-seen"))
                        seen = field(json_object_array_get_idx(found0, i), "summary");
        tap_is_str(seen, "A hung task was reported before the crash: jbd2/sda1-8 (PID 311), blocked more than 120 s",
                   "the earlier hang is a note");
        json_object_put(found0);
        shipped(rs, "old page-fault format", old_pagefault_log, "page-fault-oops",
                "Kernel page fault on address ffffa0e1c4b5a000 in memcpy_erms, task reader");
        shipped(rs, "old NULL format", old_null_log, "null-pointer-dereference",
                "NULL pointer dereference (address 0000000000000010) in nfs_file_read [nfs], task reader");

        shipped(rs, "KASAN", kasan_log, "kasan-report",
                "KASAN: slab-use-after-free in ext4_es_lookup_extent: Read of 4 bytes at ffff888104b3c6a8 by "
                "kworker/u8:2/345; allocated in __es_insert_extent, freed in __es_shrink");
        shipped(rs, "KFENCE", kfence_log, "kfence-report",
                "KFENCE: use-after-free read in nfs_page_group_destroy, a 128-byte nfs_page object allocated in "
                "nfs_page_create, freed in nfs_free_request");
        shipped(rs, "scheduling while atomic", atomic_log, "scheduling-while-atomic",
                "Scheduling while atomic: insmod (PID 1234) slept in badmod_init with preempt count 0x00000002; "
                "preemption was disabled in badmod_lock");
        shipped(rs, "bad page state", badpage_log, "bad-page-state",
                "Bad page state (pfn 10a3f2) in process kworker/0:2: non-NULL mapping; flags "
                "0x17ffffc0000000(node=0|zone=2|lastcpupid=0x1fffff)");
        shipped(rs, "a BUG in a file system", fsbug_log, "subsystem-bug",
                "Kernel BUG() in file systems (ext4) at fs/ext4/inode.c:1234 in ext4_write_begin, task rsync");
        shipped(rs, "a warning in networking, newer format", netwarn_log, "subsystem-warning",
                "WARNING in networking (core), skb_try_coalesce (net/core/skbuff.c:4567), turned into a panic by "
                "panic_on_warn, task ksoftirqd/3");
        shipped(rs, "a warning in a driver, newer format with caller ids", newwarn_log, "warning-panic",
                "WARNING in lkdtm_WARNING (drivers/misc/lkdtm/bugs.c:164) turned into a panic by panic_on_warn, "
                "task sh on CPU 1");
        shipped(rs, "a slab red zone overwritten", redzone_log, "slab-corruption",
                "Slab corruption in cache kmalloc-64: Right Redzone overwritten; the object was last freed in "
                "mydrv_reset, allocated in mydrv_probe, task mydrvd");
        shipped(rs, "init exited", initexit_log, "init-killed",
                "init (PID 1, systemd) exited with status 1; the kernel cannot run without init");
        shipped(rs, "list_del of a deleted entry", listdel_poison_log, "list-corruption",
                "list_del corruption: ffff9a0f4c1e2a08->next is LIST_POISON1 (dead000000000100); called from "
                "mydrv_remove_entry, task kworker/0:1");
        /* a decoder the rules do not know is a problem of that rule */
        json_object *derr = NULL;
        struct rules *bad = load("{\"id\": \"x\", \"when\": {\"source\": \"log\", \"match\": \"(?<c>0x\\\\w+)\"}, "
                                 "\"summary\": \"{c:nosuch}\"}", &derr);
        tap_ok(json_object_array_length(derr) == 1 && strstr(error_at(derr, 0), "no decoder 'nosuch'"),
               "an unknown decoder is refused: %s", json_object_array_length(derr) ? error_at(derr, 0) : "no error");
        rules_free(bad);
        json_object_put(derr);

        /* a taint note names the modules that taint */
        json_object *found = run_log(rs, hardlockup_log, "6.1.0-56-amd64");
        const char *taint = NULL;
        for (size_t i = 0; i < json_object_array_length(found); i++)
                if (!strcmp(field(json_object_array_get_idx(found, i), "id"), "tainted-kernel"))
                        taint = field(json_object_array_get_idx(found, i), "summary");
        tap_is_str(taint, "Kernel tainted (P           OE) by modules nvidia(POE)", "taint note with its modules");
        json_object_put(found);

        /* no log at all: nothing matches, nothing breaks */
        found = run_log(rs, "", "6.1.0-56-amd64");
        tap_is_int(json_object_array_length(found), 0, "an empty log gives no finding");
        json_object_put(found);
        rules_free(rs);
        json_object_put(errors);
}

static void test_site_folder(void) {
        char dir[] = "/tmp/hotkdump-rules-XXXXXX";
        tap_ok(mkdtemp(dir) != NULL, "temp folder");
        char path[300];
        /* replaces the shipped 10-deliberate.json wholesale, adds a rule */
        snprintf(path, sizeof path, "%s/10-deliberate.json", dir);
        FILE *f = fopen(path, "w");
        fputs("{\"id\": \"site-only\", \"when\": {\"source\": \"log\", \"match\": \"sysrq\"}, \"summary\": \"site\"}\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/20-oops.json", dir); /* named like a shipped file, but broken */
        f = fopen(path, "w");
        fputs("{\"rules\": [ oops\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/50-broken.json", dir);
        f = fopen(path, "w");
        fputs("{\"rules\": [\n", f);
        fclose(f);
        snprintf(path, sizeof path, "%s/README", dir); /* not *.json: ignored */
        f = fopen(path, "w");
        fputs("not a rule\n", f);
        fclose(f);
        json_object *errors = json_object_new_array();
        struct rules *rs = NULL;
        int r = rules_load(dir, 1000000, &rs, errors);
        tap_is_int(r, 2, "two problems: the broken files");
        tap_ok(strstr(error_at(errors, 0), "20-oops.json: not valid JSON at line 1, column 13") != NULL,
               "broken site file named: %s", error_at(errors, 0));
        tap_ok(strstr(error_at(errors, 1), "50-broken.json: not valid JSON at line 2, column 1: the text ends too early") != NULL,
               "broken site file named: %s", error_at(errors, 1));
        bool sysrq = false, site = false, oops = false;
        for (size_t i = 0; i < rules_count(rs); i++) {
                const char *id, *file, *kind;
                rules_get(rs, i, &id, &file, &kind);
                sysrq = sysrq || !strcmp(id, "sysrq-crash");
                oops = oops || !strcmp(id, "kernel-bug");
                site = site || !strcmp(id, "site-only");
        }
        tap_ok(!sysrq && site, "a site file named like a shipped one replaces it");
        tap_ok(oops, "a broken one does not: the shipped rules of that name stay");
        rules_free(rs);
        json_object_put(errors);
        snprintf(path, sizeof path, "rm -rf -- '%s'", dir);
        tap_is_int(system(path), 0, "cleanup");
}

int main(void) {
        test_errors();
        test_logic();
        test_shipped();
        test_site_folder();
        return tap_done();
}
