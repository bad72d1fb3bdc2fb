/*
 * test_import — a suppression list or an export read into the blacklist:
 * the format detected, the status code found as the reply parser finds it,
 * bad entries told and skipped, the same bounce counted once, and a dry run
 * that writes nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/import.h"
#include "bounceguard/policy.h"

#include "store_fixture.h"

#define T0 1700000000
#define DAY 86400

static char home[256];
static bg_store *st;
static bg_config *cfg;
static char told[1024]; /* the bad entries, "WHERE: WHY\n" each */

static void
setup(void)
{
    bg_error err;

    st = store_fixture_open(home, sizeof(home), "import");
    cfg = bg_config_parse("t", "never_blacklist = @never.example\n", &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    told[0] = '\0';
}

static void
teardown(void)
{
    cfg = bg_config_unref(cfg);
    st = store_fixture_close(st, home);
}

static void
tell(const char *where, const char *why, void *arg)
{
    size_t n = strlen(told);

    snprintf(told + n, sizeof(told) - n, "%s: %s\n", where, why);
}

static bg_import_result
import(bg_store *s, const char *text)
{
    bg_import_result res;
    bg_error err;

    ck_assert_msg(
        bg_import_text(s, cfg, text, strlen(text), T0, tell, NULL, &res, &err) == 0, "%s",
        err.msg);
    return res;
}

static bg_rcpt_rec
rec(const char *addr)
{
    bg_rcpt_rec r;
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_get(st, addr, &r, &err), BG_FOUND);
    return r;
}

/* Each format by its own fields, as the CLI's integration test feeds files. */
static const struct {
    const char *name, *text, *format;
} formats[] = {
    {"SES",
     "{\"SuppressedDestinationSummaries\": [{\"EmailAddress\": \"a@example.com\", "
     "\"Reason\": \"BOUNCE\", \"LastUpdateTime\": \"2023-11-14T00:00:00Z\"}]}",
     "Amazon SES"},
    {"SendGrid JSON",
     "[{\"email\": \"a@example.com\", \"created\": 1699900000, "
     "\"reason\": \"550 5.1.1 no such user\", \"status\": \"5.1.1\"}]",
     "SendGrid"},
    {"SendGrid CSV", "email,created,reason,status\na@example.com,1699900000,gone,5.1.1\n",
     "SendGrid"},
    {"Mailgun JSON",
     "{\"items\": [{\"address\": \"a@example.com\", \"code\": 550, "
     "\"error\": \"5.1.1 unknown\", \"created_at\": 1699900000}]}",
     "Mailgun"},
    {"Mailgun CSV",
     "\xef\xbb\xbf"
     "address,code,error,created_at\n"
     "a@example.com,550,\"5.1.1 unknown\",1699900000\n",
     "Mailgun"},
    {"our export",
     "{\"address\": \"a@example.com\", \"state\": \"blacklisted\", "
     "\"last_bounce\": \"2023-11-14T00:00:00Z\", \"bounce_count\": 2}\n",
     "bounceguard"},
};

START_TEST(each_format_detected)
{
    bg_import_result res = import(st, formats[_i].text);

    ck_assert_msg(strcmp(res.format, formats[_i].format) == 0, "%s: %s", formats[_i].name,
                  res.format);
    ck_assert_msg(res.imported == 1 && res.bad == 0, "%s: %lu imported, %lu bad: %s",
                  formats[_i].name, res.imported, res.bad, told);
    ck_assert_int_eq(res.blacklisted, 1);
    rec("a@example.com");
}
END_TEST

/* The status: an enhanced code in the status field, else in the text, else
 * derived from a bare reply code (the reply parser's rules), and the reason
 * from the code by the classifier's table. */
START_TEST(status_found_as_the_reply_parser_finds_it)
{
    import(st, "address,code,error,created_at\n"
               "a@example.com,550,\"5.2.2 mailbox full\",1699900000\n"
               "b@example.com,550,No such mailbox,1699900000\n"
               "c@example.com,5.1.6,moved,1699900000\n");
    ck_assert_str_eq(rec("a@example.com").status, "5.2.2");
    ck_assert_str_eq(rec("a@example.com").reason, "mailboxfull");
    ck_assert_str_eq(rec("b@example.com").status, "5.0.0");
    ck_assert_str_eq(rec("b@example.com").reason, "suppressed");
    ck_assert_str_eq(rec("c@example.com").reason, "hasmoved");
    ck_assert_str_eq(rec("c@example.com").source, "import");
}
END_TEST

START_TEST(bad_entries_told_and_skipped)
{
    bg_error err;
    bg_import_result res = import(st, "email,created,reason,status\n"
                                      "good@example.com,1699900000,gone,5.1.1\n"
                                      "not an address,1699900000,gone,5.1.1\n"
                                      "bad-time@example.com,yesterday-ish,gone,5.1.1\n"
                                      "x@never.example,1699900000,gone,5.1.1\n");

    ck_assert_int_eq(res.imported, 1);
    ck_assert_int_eq(res.bad, 2);
    ck_assert_int_eq(res.skipped, 1); /* never_blacklist */
    ck_assert_ptr_nonnull(strstr(told, "3: "));
    ck_assert_ptr_nonnull(strstr(told, "4: cannot read the time"));
    told[0] = '\0';
    res = import(st, "{\"a\": 1}\n{broken\n");
    ck_assert_int_eq(res.bad, 2);
    ck_assert_ptr_nonnull(strstr(told, "2: bad JSON"));
    ck_assert_int_eq(bg_import_text(st, cfg, "\0\1binary", 8, T0, tell, NULL, &res, &err),
                     0);
    ck_assert_int_eq(res.bad, 1);
    ck_assert_ptr_nonnull(strstr(told, "binary data"));
}
END_TEST

START_TEST(same_bounce_counted_once_and_old_one_expired)
{
    const char *csv = "email,created,reason,status\n"
                      "old@example.com,2020-01-01 00:00:00,gone,5.1.1\n"
                      "new@example.com,1699990000,gone,5.1.1\n"
                      "notime@example.com,,gone,5.1.1\n";
    bg_import_result res = import(st, csv);
    bg_rcpt_rec old;

    ck_assert_int_eq(res.imported, 3);
    ck_assert_int_eq(res.blacklisted, 2);
    old = rec("old@example.com");
    ck_assert(!bg_policy_rcpt_blacklisted(&old, T0)); /* its period ended long ago */
    ck_assert_int_eq(rec("new@example.com").expires, 1699990000 + cfg->blacklist_period);
    ck_assert_int_eq(rec("notime@example.com").expires, T0 + cfg->blacklist_period);
    res = import(st, csv);
    ck_assert_int_eq(res.skipped, 2); /* the two with a time; notime is blocked again */
    ck_assert_int_eq(rec("new@example.com").bounce_count, 1);
}
END_TEST

START_TEST(dry_run_writes_nothing)
{
    bg_import_result res = import(NULL, "email,created,reason,status\n"
                                        "a@example.com,1699990000,gone,5.1.1\n");
    bg_rcpt_rec r;
    bg_error err;

    ck_assert_int_eq(res.imported, 1);
    ck_assert_int_eq(res.blacklisted, 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &r, &err), BG_NOTFOUND);
}
END_TEST

/* A restored entry does not overwrite one the store updated since. */
START_TEST(restore_keeps_newer)
{
    bg_rcpt_rec saved = {0}, cur = {0}, next;
    int64_t purge;

    saved.updated = T0;
    saved.expires = T0 + DAY;
    cur.updated = T0 + 1;
    ck_assert_int_eq(bg_policy_import_restore(&cur, &next, &saved, DAY, &purge), 0);
    cur.updated = T0 - 1;
    ck_assert_int_eq(bg_policy_import_restore(&cur, &next, &saved, DAY, &purge), 1);
    ck_assert_int_eq(purge, T0 + 2 * DAY);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("formats");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, each_format_detected, 0,
                        sizeof(formats) / sizeof(formats[0]));
    tcase_add_test(tc, status_found_as_the_reply_parser_finds_it);
    tcase_add_test(tc, bad_entries_told_and_skipped);
    tcase_add_test(tc, same_bounce_counted_once_and_old_one_expired);
    tcase_add_test(tc, dry_run_writes_nothing);
    tcase_add_test(tc, restore_keeps_newer);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
