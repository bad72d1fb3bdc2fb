/*
 * test_reply_rules — the providers' table: how a row matches, what it
 * decides through the classifier, and the administrator's file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/dsn.h"
#include "bounceguard/reply_rules.h"
#include "bounceguard/reply.h"

static char dir[] = "/tmp/bg-test-rules-XXXXXX";

static const char *
write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

START_TEST(match_is_bounded_by_words)
{
    const bg_reply_rule *r;

    r = bg_reply_rules_find(NULL, "550 5.7.1 ... on our block list (s3150).");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->provider, "microsoft");
    ck_assert_int_eq(r->scope, BG_SCOPE_RELAY);
    /* a longer code is not the row's code */
    ck_assert_ptr_null(bg_reply_rules_find(NULL, "550 error as31500 from somewhere"));
    /* the trailing '*' takes the digits after it */
    r = bg_reply_rules_find(NULL,
                            "554 rejected: bl000010 - see http://postmaster.comcast.net");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->provider, "comcast");
    ck_assert_ptr_null(bg_reply_rules_find(NULL, ""));
    ck_assert_ptr_null(bg_reply_rules_find(NULL, NULL));
}
END_TEST

START_TEST(every_builtin_row_is_well_formed)
{
    size_t n;
    const bg_reply_rule *rows = bg_reply_rules_builtin(&n);

    ck_assert_uint_gt(n, 100);
    for (size_t i = 0; i < n; i++) {
        const bg_reply_rule *r = &rows[i];
        ck_assert_msg(r->match && *r->match, "row %zu: empty match", i);
        for (const char *p = r->match; *p; p++)
            ck_assert_msg(*p < 'A' || *p > 'Z', "row %zu (%s): upper case", i, r->match);
        ck_assert_msg(r->reason == NULL || bg_reason_is_valid(r->reason),
                      "row %zu (%s): reason %s", i, r->match, r->reason);
        ck_assert_msg(r->scope != BG_SCOPE_UNKNOWN && r->scope != BG_SCOPE_NONE,
                      "row %zu (%s): no scope", i, r->match);
        ck_assert_msg(strncmp(r->source, "https://", 8) == 0, "row %zu (%s): source %s",
                      i, r->match, r->source);
        ck_assert_msg(r->name && *r->name, "row %zu: no name", i);
    }
}
END_TEST

/* The classifier: a provider's documented code decides scope and list. */
START_TEST(classifier_uses_the_table)
{
    bg_reply_class cl;

    bg_reply_classify(
        "5.7.1",
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please "
        "contact your Internet service provider since part of their network is "
        "on our block list (S3150). You can also refer your provider to "
        "http://mail.live.com/mail/troubleshooting.aspx#errors.",
        &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);
    ck_assert_str_eq(cl.reason, "blocked");
    ck_assert(strstr(cl.list, "S3150") != NULL);
    ck_assert_str_eq(cl.delist, "http://mail.live.com/mail/troubleshooting.aspx#errors");
    ck_assert(strstr(cl.rule, "microsoft") != NULL);

    bg_reply_classify("5.0.0",
                      "554 delivery error: dd This user doesn't have a yahoo.com "
                      "account (x@yahoo.com) [0] - mta1.mail.yahoo.com",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RECIPIENT);
    ck_assert_str_eq(cl.reason, "userunknown");

    bg_reply_classify("4.2.0",
                      "450 4.2.0 <a@b.example>: Recipient address rejected: "
                      "Greylisted, see http://postgrey.schweikert.ch/help/b.html",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_TRANSIENT);
    ck_assert_str_eq(cl.reason, "expired"); /* what a greylisted message comes to */
    ck_assert(strstr(cl.rule, "greylisting") != NULL);

    /* amavisd-new's refusal of the contents: the message's, not the
     * recipient's nor the relay's */
    bg_reply_classify("5.7.0",
                      "554-5.7.0 Bounce, id=00481-02 - BANNED: 554 5.7.0 "
                      "application/octet-stream,.exe,.exe-ms,invoice.exe",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_MESSAGE);
    ck_assert_str_eq(cl.reason, "securityerror");
    ck_assert(!cl.hard);
    ck_assert(strstr(cl.rule, "amavis") != NULL);
    bg_reply_classify("5.7.0", "554 5.7.0 Bounce, id=00481-04 - spam", &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_MESSAGE);
    ck_assert_str_eq(cl.reason, "spamdetected");
    /* "- spam" is a word: not the start of "- spamhaus" */
    ck_assert_ptr_null(bg_reply_rules_find(NULL, "554 5.7.1 listed - spamhaus zen"));
    /* Microsoft's banned sending IP is still the relay's */
    bg_reply_classify("5.7.606",
                      "550 5.7.606 Access denied, banned sending IP [192.0.2.1].", &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);

    /* a named DNSBL without a row is the relay's too */
    bg_reply_classify("5.7.1",
                      "554 5.7.1 Service unavailable; Client host [192.0.2.1] "
                      "blocked using zen.spamhaus.org",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);
    ck_assert_str_eq(cl.list, "zen.spamhaus.org");
    /* the stage is found */
    bg_reply_classify("5.1.1",
                      "550 5.1.1 <a@b>: Recipient address rejected: User unknown "
                      "(in reply to RCPT TO command)",
                      &cl);
    ck_assert_int_eq(cl.stage, BG_STAGE_RCPT);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RECIPIENT);
}
END_TEST

/* GMX and WEB.DE put a "For explanation visit .../case?..." link under every
 * error: the lines before it say whether the relay or the message was
 * refused. */
START_TEST(gmx_case_link_decides_nothing)
{
    bg_reply_class cl;

    bg_reply_classify(
        "5.0.0",
        "554-Transaction failed 554-Reject due to policy restrictions. 554 "
        "For explanation visit https://postmaster.gmx.net/en/case?c=hi&i=ip&"
        "v=192.0.2.1&r=0MQ3yj",
        &cl);
    ck_assert_int_ne(cl.scope, BG_SCOPE_RELAY);
    ck_assert_ptr_null(strstr(cl.rule, "provider table"));

    bg_reply_classify("5.0.0",
                      "554-web.de (mxweb112) Nemesis ESMTP Service not available 554-No "
                      "SMTP service 554-Bad DNS PTR resource record. 554 For explanation "
                      "visit https://postmaster.web.de/en/case?c=r0601&i=ip&v=192.0.2.1",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);
    ck_assert_ptr_nonnull(strstr(cl.list, "GMX/WEB.DE"));
}
END_TEST

/* Microsoft's 5.7.133/5.7.134: the address takes mail only from its own
 * organisation, which an outside relay's senders never are; Yahoo's
 * "Excessive unauthenticated traffic" is the sender's authentication, not
 * the relay's reputation, whatever TSS code carries it. */
START_TEST(who_a_provider_code_is_about)
{
    bg_reply_class cl;

    bg_reply_classify("5.7.133",
                      "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; "
                      "authentication required",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RECIPIENT);
    ck_assert_str_eq(cl.reason, "notaccept");
    bg_reply_classify("5.7.134",
                      "550 5.7.134 RESOLVER.RST.SenderNotAuthenticatedForMailbox; "
                      "authentication required",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RECIPIENT);

    bg_reply_classify("4.7.0", "421 4.7.0 [TSS11] Excessive unauthenticated traffic.",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_SENDER);
    ck_assert_str_eq(cl.reason, "authfailure");
    bg_reply_classify("4.7.0",
                      "421 4.7.0 [TSS11] Messages from 192.0.2.1 temporarily deferred "
                      "due to unexpected volume or user complaints",
                      &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);
}
END_TEST

/* Google's table (support.google.com/a/answer/3726730) since 2025 says
 * "unsolicited email", "rate of email", "IP Netblock", "SPF domain",
 * "doesn't have a PTR record"; RFC 7505's x.7.27 is the sender's null MX. */
static const struct {
    const char *status, *reply;
    bg_bounce_scope scope;
} google_cases[] = {
    {"4.7.28",
     "421 4.7.28 Gmail has detected an unusual rate of unsolicited email originating "
     "from your IP Netblock 192.0.2.1.",
     BG_SCOPE_RELAY},
    {"4.7.28",
     "421 4.7.28 Gmail has detected an unusual rate of email originating from your IP "
     "address 192.0.2.1.",
     BG_SCOPE_RELAY},
    {"4.7.28",
     "421 4.7.28 Gmail has detected an unusual rate of unsolicited email originating "
     "from your SPF domain example.com.",
     BG_SCOPE_SENDER},
    {"4.7.28",
     "421 4.7.28 Gmail has detected an unusual rate of unsolicited email containing "
     "one of your URL domains.",
     BG_SCOPE_MESSAGE},
    {"4.7.23",
     "451 4.7.23 192.0.2.1 The sending IP address for this message doesn't have a PTR "
     "record, or the PTR record's forward DNS entry doesn't match the sending IP "
     "address.",
     BG_SCOPE_RELAY},
    {"4.7.0",
     "421 4.7.0 This message is suspicious due to the very low reputation of the "
     "sending domain.",
     BG_SCOPE_SENDER},
    {"4.7.27",
     "421 4.7.27 Your email has been rate limited because SPF authentication didn't "
     "pass for this message.",
     BG_SCOPE_SENDER},
    {"5.7.32",
     "550 5.7.32 Your email was blocked because the From: header (RFC5322) in this "
     "message isn't aligned with either the authenticated SPF or DKIM organizational "
     "domain.",
     BG_SCOPE_SENDER},
    {"5.7.1", "550 5.7.1 Messages missing a valid Message-ID: header are not accepted.",
     BG_SCOPE_MESSAGE},
    {"5.7.27", "550 5.7.27 Sender address has null MX", BG_SCOPE_SENDER},
    /* domain and URI lists name the message's domains, not the relay */
    {"5.7.1",
     "550 5.7.1 Your email was rejected due to having a domain present in the Spamhaus "
     "DBL -- see https://www.spamhaus.org/dbl/",
     BG_SCOPE_SENDER},
    {"5.7.1",
     "550 5.7.1 Message rejected: a web domain in it is listed in multi.surbl.org",
     BG_SCOPE_MESSAGE},
    {"5.7.1", "554 5.7.1 Sender address is blocked by policy", BG_SCOPE_SENDER},
    {"5.7.1",
     "550 5.7.1 The IP you're using to send email is not authorized to send email "
     "directly to our servers.",
     BG_SCOPE_RELAY},
};

START_TEST(google_wordings)
{
    bg_reply_class cl;
    bg_reply_classify(google_cases[_i].status, google_cases[_i].reply, &cl);
    ck_assert_msg(cl.scope == google_cases[_i].scope, "case %d: scope %d (%s, %s)", _i,
                  cl.scope, cl.reason, cl.rule);
}
END_TEST

START_TEST(administrator_rows_come_first)
{
    bg_error err;
    bg_reply_rules *r = bg_reply_rules_load(
        write_file("ok.tsv", "# ours\n\nexample-isp\terr-ip-17\trelay\t-\tExample ISP IP "
                             "list\thttps://example.net/errors\r\n"
                             "example-isp\ts3150\tmessage\tspamdetected\tnot microsoft\t"
                             "https://example.net/x\n"),
        &err);
    bg_reply_class cl;

    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_uint_eq(bg_reply_rules_count(r), 2);
    ck_assert_str_eq(bg_reply_rules_find(r, "550 err-ip-17 go away")->name,
                     "Example ISP IP list");
    ck_assert_str_eq(bg_reply_rules_find(r, "on our block list (s3150)")->provider,
                     "example-isp");
    bg_reply_rules_use(r);
    bg_reply_classify("5.0.0", "550 ERR-IP-17 go away", &cl);
    ck_assert_int_eq(cl.scope, BG_SCOPE_RELAY);
    ck_assert_str_eq(cl.list, "Example ISP IP list");
    ck_assert_str_eq(cl.reason, "blocked");
    bg_reply_rules_use(NULL);
    bg_reply_classify("5.0.0", "550 ERR-IP-17 go away", &cl);
    ck_assert_int_ne(cl.scope, BG_SCOPE_RELAY);
    bg_reply_rules_free(r);
}
END_TEST

START_TEST(bad_files_say_where)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a\tb\tc\n", ":1: expected 6 tab-separated columns"},
        {"\n# x\nisp\tERR\trelay\t-\tn\thttps://x\n", ":3: match must be lower case"},
        {"isp\t\trelay\t-\tn\thttps://x\n", ":1: empty match"},
        {"isp\tx\twhoever\t-\tn\thttps://x\n", ":1: scope must be"},
        {"isp\tx\trelay\tbadword\tn\thttps://x\n", ":1: unknown reason"},
    };
    bg_error err;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = write_file("bad.tsv", bad[i].text);
        ck_assert_ptr_null(bg_reply_rules_load(path, &err));
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%zu: %s", i, err.msg);
        ck_assert(strchr(err.msg, '\n') == NULL);
    }
    ck_assert_ptr_null(bg_reply_rules_load("/nonexistent/rules", &err));
    ck_assert(strstr(err.msg, "/nonexistent/rules") != NULL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("reply_rules");
    TCase *tc = tcase_create("rules");
    SRunner *sr;
    int failed;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    tcase_add_test(tc, match_is_bounded_by_words);
    tcase_add_test(tc, every_builtin_row_is_well_formed);
    tcase_add_test(tc, classifier_uses_the_table);
    tcase_add_test(tc, gmx_case_link_decides_nothing);
    tcase_add_test(tc, who_a_provider_code_is_about);
    tcase_add_loop_test(tc, google_wordings, 0,
                        (int)(sizeof google_cases / sizeof google_cases[0]));
    tcase_add_test(tc, administrator_rows_come_first);
    tcase_add_test(tc, bad_files_say_where);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        failed++;
    return failed ? 1 : 0;
}
