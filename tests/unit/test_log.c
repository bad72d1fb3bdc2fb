/*
 * test_log — the three log files, their line format, the debug switch,
 * reopening after rotation, and one event staying one line.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/log.h"

static char dir[64];

static void
setup(void)
{
    bg_error err;
    bg_log_options o = {.ident = "test"};

    snprintf(dir, sizeof(dir), "/tmp/bg-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    o.dir = dir;
    ck_assert_int_eq(bg_log_open(&o, &err), 0);
}

static void
teardown(void)
{
    char cmd[128];

    bg_log_close();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The whole content of dir/name ("" if missing); caller frees. */
static char *
slurp(const char *name)
{
    char path[128], *buf = calloc(1, 65536);
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "r");
    if (fp) {
        size_t n = fread(buf, 1, 65535, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

START_TEST(levels_go_to_their_files)
{
    bg_msg_warn("Operation failed Recipient %s: %s", "asmith@example.com", "blacklisted");
    bg_msg_error("store broken");
    bg_msg_debug("not written while debug is off");
    char *w = slurp("warning.log"), *e = slurp("error.log"), *d = slurp("debug.log");
    ck_assert_ptr_nonnull(strstr(w, "Operation failed Recipient asmith@example.com"));
    ck_assert_ptr_nonnull(strstr(w, "store broken")); /* errors are warnings too */
    ck_assert_ptr_null(strstr(e, "Operation failed"));
    ck_assert_ptr_nonnull(strstr(e, "store broken"));
    ck_assert_str_eq(d, "");
    free(w);
    free(e);
    free(d);
}
END_TEST

START_TEST(line_format_matches_design)
{
    regex_t re;
    char *w;

    bg_msg_warn("Operation failed Recipient a@b.com: x");
    w = slurp("warning.log");
    ck_assert_int_eq(regcomp(&re,
                             "^\\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\\] "
                             "\\{test\\[[0-9]+\\]\\} Operation failed Recipient a@b.com: x\n$",
                             REG_EXTENDED),
                     0);
    ck_assert_msg(regexec(&re, w, 0, NULL, 0) == 0, "line: %s", w);
    regfree(&re);
    free(w);
}
END_TEST

/* Notices (an operator's events) go to warning.log, not error.log, tagged
 * with the program and its pid. */
START_TEST(notices_in_warning_log_with_pid)
{
    char tag[64], *w, *e;

    bg_msg_notice("config reloaded");
    bg_msg_info("not in the files while debug is off");
    w = slurp("warning.log");
    e = slurp("error.log");
    snprintf(tag, sizeof(tag), "{test[%ld]} config reloaded", (long)getpid());
    ck_assert_msg(strstr(w, tag) != NULL, "%s", w);
    ck_assert_ptr_null(strstr(w, "not in the files"));
    ck_assert_str_eq(e, "");
    free(w);
    free(e);
}
END_TEST

START_TEST(debug_switch_at_run_time)
{
    char *d;

    bg_log_set_debug(true);
    bg_msg_debug("decision %d", 1);
    bg_log_set_debug(false);
    bg_msg_debug("decision %d", 2);
    d = slurp("debug.log");
    ck_assert_ptr_nonnull(strstr(d, "decision 1"));
    ck_assert_ptr_null(strstr(d, "decision 2"));
    free(d);
}
END_TEST

START_TEST(reopen_after_rotation)
{
    char from[128], to[128];
    bg_error err;
    char *w;

    bg_msg_warn("before rotation");
    snprintf(from, sizeof(from), "%s/warning.log", dir);
    snprintf(to, sizeof(to), "%s/warning.log.1", dir);
    ck_assert_int_eq(rename(from, to), 0);
    ck_assert_int_eq(bg_log_reopen(&err), 0);
    bg_msg_warn("after rotation");
    w = slurp("warning.log");
    ck_assert_ptr_nonnull(strstr(w, "after rotation"));
    ck_assert_ptr_null(strstr(w, "before rotation"));
    free(w);
}
END_TEST

START_TEST(network_text_stays_one_line)
{
    char *w;

    bg_msg_warn("said: %s", "550 bad\r\nInjected: line");
    w = slurp("warning.log");
    ck_assert_ptr_nonnull(strstr(w, "550 bad\\x0d\\x0aInjected: line\n"));
    ck_assert_int_eq((int)(strchr(w, '\n') - w) + 1, (int)strlen(w));
    free(w);
}
END_TEST

START_TEST(network_text_cannot_drive_a_terminal)
{
    char *w;

    bg_msg_warn("said: %s", "\x1b[2J\xc2\x9b" "31m\x9b\xe2\x80\xae\xff caf\xc3\xa9");
    w = slurp("warning.log");
    ck_assert_ptr_nonnull(strstr(w, "said: \\x1b[2J\\u009b31m\\x9b\\u202e\\xff caf\xc3\xa9\n"));
    free(w);
}
END_TEST

START_TEST(unwritable_dir_is_an_error)
{
    bg_error err;
    bg_log_options o = {.ident = "test", .dir = "/nonexistent/logs"};

    ck_assert_int_eq(bg_log_open(&o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/logs"));
}
END_TEST

/* existing_only (the CLI): writes to the files that are there, makes none. */
START_TEST(existing_only_makes_no_file)
{
    bg_error err;
    bg_log_options o = {.ident = "test", .dir = dir, .existing_only = true};
    char path[160], *w;

    bg_log_close();
    snprintf(path, sizeof(path), "%s/error.log", dir);
    ck_assert_int_eq(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/debug.log", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(bg_log_open(&o, &err), 0);
    bg_msg_error("an error with error.log missing");
    w = slurp("warning.log");
    ck_assert_ptr_nonnull(strstr(w, "an error with error.log missing"));
    free(w);
    ck_assert_int_eq(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/error.log", dir);
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("files");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, levels_go_to_their_files);
    tcase_add_test(tc, line_format_matches_design);
    tcase_add_test(tc, notices_in_warning_log_with_pid);
    tcase_add_test(tc, debug_switch_at_run_time);
    tcase_add_test(tc, reopen_after_rotation);
    tcase_add_test(tc, network_text_stays_one_line);
    tcase_add_test(tc, network_text_cannot_drive_a_terminal);
    tcase_add_test(tc, unwritable_dir_is_an_error);
    tcase_add_test(tc, existing_only_makes_no_file);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
