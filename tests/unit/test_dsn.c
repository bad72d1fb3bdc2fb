/*
 * test_dsn — the bounce classifier as a table of named cases (status code +
 * diagnostic -> reason, hard, rbl), the status and RBL finders, and the parser
 * on small messages: RFC 3464 with its per-message fields, text bounces,
 * feedback reports, auto-replies and non-bounces.  The real-world corpus is
 * scored by tests/integration/dsn_corpus.sh.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/dsn.h"

typedef struct class_case {
    const char *name;
    const char *status;
    const char *diag;
    const char *reason;
    int hard;
    const char *rbl; /* "" = none */
} class_case;

static const class_case class_cases[] = {
    {"5.1.1 decides", "5.1.1", "550 5.1.1 <a@b>: Recipient address rejected: User unknown",
     "userunknown", 1, ""},
    {"status alone", "5.1.1", NULL, "userunknown", 1, ""},
    {"mailbox full by code", "5.2.2", "552 quota", "mailboxfull", 0, ""},
    {"mailbox full by text", "5.0.0", "552 Mailbox full, quota exceeded", "mailboxfull", 0, ""},
    {"host unknown", "5.1.2", "Host or domain name not found", "hostunknown", 1, ""},
    {"spamhaus is blocked with name", "5.7.1",
     "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
     "blocked", 0, "zen.spamhaus.org"},
    {"spamcop url", "5.7.1", "550 5.7.1 Blocked - see http://www.spamcop.net/bl.shtml?192.0.2.1",
     "blocked", 0, "bl.spamcop.net"},
    {"barracuda", "5.7.1",
     "554 Service unavailable; Client host blocked using b.barracudacentral.org", "blocked", 0,
     "b.barracudacentral.org"},
    {"unknown list by generic wording", "5.7.1",
     "550 5.7.1 Your IP 192.0.2.1 is listed in bl.example-rbl.net", "blocked", 0,
     "bl.example-rbl.net"},
    {"domino directory is not an rbl", "5.0.0",
     "550 kijitora@example.jp is not listed in Domino Directory", "userunknown", 1, ""},
    {"relay denied", "5.7.1", "554 5.7.1 <a@b>: Relay access denied", "norelaying", 0, ""},
    {"dmarc", "5.7.1", "550 5.7.1 Unauthenticated email is not accepted due to DMARC policy",
     "authfailure", 0, ""},
    {"5.7.26", "5.7.26", "550-5.7.26 This mail is unauthenticated", "authfailure", 0, ""},
    {"no ptr", "5.7.1", "550 5.7.1 Client host rejected: cannot find your reverse hostname",
     "requireptr", 0, ""},
    {"5.7.25", "5.7.25", "550 5.7.25 PTR", "requireptr", 0, ""},
    {"spam content", "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering",
     "spamdetected", 0, ""},
    {"too big", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", "mesgtoobig", 0, ""},
    {"expired", "4.4.7", "delivery temporarily suspended", "expired", 0, ""},
    {"retry timeout text", NULL, "retry timeout exceeded", "expired", 0, ""},
    {"suspended account", "5.0.0", "550 Account has been suspended", "suspend", 0, ""},
    {"has moved", "5.1.6", "550 5.1.6 recipient no longer on server", "hasmoved", 1, ""},
    {"null mx", "5.1.10", "556 5.1.10 Recipient address has null MX", "notaccept", 1, ""},
    {"temporary notaccept is soft", "4.0.0", "No MX found for domain", "notaccept", 0, ""},
    {"virus", "5.7.1", "554 5.7.1 Message contains a virus", "virusdetected", 0, ""},
    {"rfc 5322", "5.7.1",
     "550-5.7.1 Messages with multiple 550 5.7.1 addresses in From: header are not accepted",
     "notcompliantrfc", 0, ""},
    {"user unknown after DATA is a filter", "5.0.0",
     "550 User unknown (in reply to end of DATA command)", "filtered", 0, ""},
    {"refused at MAIL FROM", "5.0.0", "553 sorry (in reply to MAIL FROM command)", "rejected", 0,
     ""},
    {"refused at connection", "5.0.0",
     "SMTP error from remote mail server after initial connection: 554 go away", "blocked", 0, ""},
    {"too many connections", "4.0.0", "421 Too many connections from your host", "toomanyconn",
     0, ""},
    {"procmail beats 5.1.1", "5.1.1", "procmail: Couldn't create /var/mail/x", "mailererror",
     0, ""},
    {"syntax by reply code", "5.0.0", "501 what?", "syntaxerror", 0, ""},
    {"microsoft banned ip", "5.7.606", "550 5.7.606 Access denied, banned sending IP", "blocked",
     0, ""},
    {"nothing known", "5.9.9", "550 meh", "undefined", 0, ""},
    {"nothing at all", NULL, NULL, "onhold", 0, ""},
};

START_TEST(test_classify)
{
    const class_case *c = &class_cases[_i];
    bg_dsn_class cl;
    bg_dsn_classify(c->status, c->diag, &cl);
    ck_assert_msg(strcmp(cl.reason, c->reason) == 0, "%s: reason %s, want %s", c->name,
                  cl.reason, c->reason);
    ck_assert_msg(cl.hard == (c->hard != 0), "%s: hard %d", c->name, cl.hard);
    ck_assert_msg(strcmp(cl.rbl, c->rbl) == 0, "%s: rbl '%s', want '%s'", c->name, cl.rbl,
                  c->rbl);
    ck_assert(bg_dsn_reason_is_valid(cl.reason));
}
END_TEST

typedef struct status_case {
    const char *name;
    const char *text;
    const char *want; /* NULL = none */
} status_case;

static const status_case status_cases[] = {
    {"enhanced code", "550 5.1.1 <a@b> unknown", "5.1.1"},
    {"multiline prefix", "550-5.7.26 unauthenticated", "5.7.26"},
    {"three digits", "5.7.606 banned", "5.7.606"},
    {"ip is not a code", "host [192.0.2.4] said: 550 nope", "5.0.0"},
    {"version is not a code", "Exim 4.92.3 said", NULL},
    {"success codes ignored", "250 2.1.5 Ok", NULL},
    {"temporary reply", "451 try later", "4.0.0"},
    {"nothing", "no codes here", NULL},
};

START_TEST(test_status_from_text)
{
    const status_case *c = &status_cases[_i];
    char buf[32];
    bool found = bg_dsn_status_from_text(c->text, buf, sizeof buf);
    if (!c->want)
        ck_assert_msg(!found, "%s: found %s", c->name, buf);
    else
        ck_assert_msg(found && strcmp(buf, c->want) == 0, "%s: got %s", c->name,
                      found ? buf : "nothing");
}
END_TEST

START_TEST(test_reason_vocabulary)
{
    ck_assert(bg_dsn_reason_is_valid("userunknown"));
    ck_assert(bg_dsn_reason_is_valid("feedback"));
    ck_assert(bg_dsn_reason_is_valid("undefined"));
    ck_assert(!bg_dsn_reason_is_valid("UserUnknown"));
    ck_assert(!bg_dsn_reason_is_valid(""));
    ck_assert(!bg_dsn_reason_is_valid(NULL));
    ck_assert(bg_dsn_reason_is_hard("userunknown", "5.1.1"));
    ck_assert(!bg_dsn_reason_is_hard("userunknown", "4.1.1"));
    ck_assert(!bg_dsn_reason_is_hard("mailboxfull", "5.2.2"));
}
END_TEST

static bg_dsn_report *
parse(const char *msg)
{
    bg_dsn_report *r = NULL;
    bg_error err;
    ck_assert_int_eq(bg_dsn_parse(msg, strlen(msg), &r, &err), 0);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_parse_rfc3464)
{
    const char *msg =
        "From: MAILER-DAEMON@relay.example.net\r\n"
        "Message-ID: <dsn-1@relay.example.net>\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example.net\r\nX-Postfix-Queue-ID: 4XyZ12\r\n"
        "X-Postfix-Sender: rfc822; App@Example.net\r\n\r\n"
        "Final-Recipient: rfc822; One@Example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Remote-MTA: dns; mx.example.com\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user\r\n  unknown\r\n\r\n"
        "Final-Recipient: rfc822; two@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        "Diagnostic-Code: smtp; connect to mx.example.com: Connection timed out\r\n\r\n"
        "Final-Recipient: rfc822; three@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: app@example.net\r\nMessage-ID: <orig-9@app.example.net>\r\n\r\nhi\r\n"
        "--B--\r\n";
    bg_dsn_report *r = parse(msg);
    ck_assert_int_eq(r->kind, BG_DSN_RFC3464);
    ck_assert_uint_eq(r->nrcpts, 2);
    ck_assert_str_eq(r->rcpts[0].recipient, "one@example.com");
    ck_assert_str_eq(r->rcpts[0].action, "failed");
    ck_assert_str_eq(r->rcpts[0].status, "5.1.1");
    ck_assert_str_eq(r->rcpts[0].reason, "userunknown");
    ck_assert(r->rcpts[0].hard);
    ck_assert_str_eq(r->rcpts[0].remote_mta, "mx.example.com");
    ck_assert_str_eq(r->rcpts[0].diagnostic, "550 5.1.1 user unknown");
    ck_assert_str_eq(r->rcpts[1].action, "delayed");
    ck_assert(!r->rcpts[1].hard);
    ck_assert_str_eq(r->message_id, "dsn-1@relay.example.net");
    ck_assert_str_eq(r->orig_message_id, "orig-9@app.example.net");
    ck_assert_str_eq(r->queue_id, "4XyZ12");
    ck_assert_str_eq(r->orig_sender, "app@example.net");
    ck_assert_str_eq(r->reporting_mta, "relay.example.net");
    ck_assert_ptr_null(bg_dsn_report_free(r));
}
END_TEST

START_TEST(test_parse_text_bounce)
{
    const char *msg = "From: Mail Delivery System <Mailer-Daemon@relay.example.net>\n"
                      "To: app@example.net\n"
                      "Subject: Mail delivery failed: returning message to sender\n\n"
                      "The following address(es) failed:\n\n"
                      "  full@example.com\n"
                      "    host mx.example.com [192.0.2.7]\n"
                      "    SMTP error from remote mail server after RCPT TO:<full@example.com>:\n"
                      "    552 5.2.2 Mailbox full\n\n"
                      "------ This is a copy of the message, including all the headers. ------\n\n"
                      "Return-path: <app@example.net>\n"
                      "To: full@example.com\nFrom: not-a-recipient@example.org\n"
                      "Message-ID: <m1@app.example.net>\n\nbody\n";
    bg_dsn_report *r = parse(msg);
    ck_assert_int_eq(r->kind, BG_DSN_TEXT);
    ck_assert_uint_eq(r->nrcpts, 1);
    ck_assert_str_eq(r->rcpts[0].recipient, "full@example.com");
    ck_assert_str_eq(r->rcpts[0].status, "5.2.2");
    ck_assert_str_eq(r->rcpts[0].reason, "mailboxfull");
    ck_assert_str_eq(r->rcpts[0].remote_mta, "mx.example.com");
    ck_assert_str_eq(r->orig_message_id, "m1@app.example.net");
    ck_assert_str_eq(r->orig_sender, "app@example.net");
    bg_dsn_report_free(r);
}
END_TEST

START_TEST(test_parse_feedback)
{
    const char *msg =
        "From: fbl@isp.example\nContent-Type: multipart/report; "
        "report-type=feedback-report; boundary=x\n\n"
        "--x\nContent-Type: text/plain\n\nabuse report\n"
        "--x\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "Original-Rcpt-To: a@isp.example\nOriginal-Rcpt-To: b@isp.example\n\n--x--\n";
    bg_dsn_report *r = parse(msg);
    ck_assert_int_eq(r->kind, BG_DSN_ARF);
    ck_assert_uint_eq(r->nrcpts, 2);
    ck_assert_str_eq(r->rcpts[1].recipient, "b@isp.example");
    ck_assert_str_eq(r->rcpts[0].reason, "feedback");
    ck_assert(!r->rcpts[0].hard);
    bg_dsn_report_free(r);
}
END_TEST

START_TEST(test_parse_autoreply)
{
    const char *msg = "From: Bob <Bob@example.org>\nTo: app@example.net\n"
                      "Subject: Out of Office: back on Monday\nAuto-Submitted: auto-replied\n\n"
                      "I am away.\n";
    bg_dsn_report *r = parse(msg);
    ck_assert_int_eq(r->kind, BG_DSN_AUTOREPLY);
    ck_assert_uint_eq(r->nrcpts, 1);
    ck_assert_str_eq(r->rcpts[0].recipient, "bob@example.org");
    ck_assert_str_eq(r->rcpts[0].reason, "vacation");
    bg_dsn_report_free(r);
}
END_TEST

START_TEST(test_parse_not_bounce)
{
    const char *msg = "From: alice@example.com\nTo: bob@example.org\nSubject: lunch\n\n"
                      "carol@example.com: are you coming? 550 reasons to.\n";
    bg_dsn_report *r = parse(msg);
    ck_assert_int_eq(r->kind, BG_DSN_NONE);
    ck_assert_uint_eq(r->nrcpts, 0);
    bg_dsn_report_free(r);

    bg_error err;
    ck_assert_int_eq(bg_dsn_parse("", 0, &r, &err), -1);
    ck_assert_ptr_null(r);
    ck_assert_ptr_null(bg_dsn_report_free(NULL));
}
END_TEST

static Suite *
dsn_suite(void)
{
    Suite *s = suite_create("dsn");
    TCase *tc = tcase_create("classify");
    tcase_add_loop_test(tc, test_classify, 0, sizeof class_cases / sizeof class_cases[0]);
    tcase_add_loop_test(tc, test_status_from_text, 0,
                        sizeof status_cases / sizeof status_cases[0]);
    tcase_add_test(tc, test_reason_vocabulary);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("parse");
    tcase_add_test(tp, test_parse_rfc3464);
    tcase_add_test(tp, test_parse_text_bounce);
    tcase_add_test(tp, test_parse_feedback);
    tcase_add_test(tp, test_parse_autoreply);
    tcase_add_test(tp, test_parse_not_bounce);
    suite_add_tcase(s, tp);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dsn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
