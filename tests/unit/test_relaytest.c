/*
 * test_relaytest — the pure parts of the open-relay test: SMTP reply lines
 * (a table of named cases), HOST[:PORT] targets, the trick envelopes.  The
 * SMTP session itself is tested against a real Postfix and hostile fake
 * servers in tests/integration/relay_test.sh.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/relaytest.h"

typedef struct reply_case {
    const char *name;
    const char *lines[4]; /* one reply, NULL-terminated */
    int want_rc;          /* of the last line fed */
    int want_code;
    const char *want_text;
} reply_case;

static const reply_case reply_cases[] = {
    {"single line", {"250 2.1.0 Ok", NULL}, 1, 250, "2.1.0 Ok"},
    {"code only", {"250", NULL}, 1, 250, ""},
    {"multi-line",
     {"250-relay.example", "250-PIPELINING", "250 8BITMIME", NULL},
     1,
     250,
     "relay.example PIPELINING 8BITMIME"},
    {"refusal",
     {"554 5.7.1 <a@b>: Relay access denied", NULL},
     1,
     554,
     "5.7.1 <a@b>: Relay access denied"},
    {"control characters replaced",
     {"250 ok \033[31mred\a", NULL},
     1,
     250,
     "ok ?[31mred?"},
    {"high bytes replaced", {"220 caf\xc3\xa9 \xc2\x9b", NULL}, 1, 220, "caf?? ??"},
    {"codes differ", {"250-a", "251 b", NULL}, -1, 250, NULL},
    {"not a code", {"hello", NULL}, -1, 0, NULL},
    {"short code", {"25 x", NULL}, -1, 0, NULL},
    {"bad separator", {"250xok", NULL}, -1, 0, NULL},
    {"1xx is not a reply we take", {"199 x", NULL}, -1, 0, NULL},
    {"6xx is not SMTP", {"600 x", NULL}, -1, 0, NULL},
};

START_TEST(reply_table)
{
    const reply_case *c = &reply_cases[_i];
    bg_buf text = BG_BUF_INIT;
    bg_error err;
    int code = 0, rc = 0;

    for (int i = 0; c->lines[i]; i++) {
        rc = bg_relay_reply_line(c->lines[i], &code, &text, &err);
        if (c->lines[i + 1])
            ck_assert_msg(rc == 0 || rc == c->want_rc, "%s: line %d rc %d", c->name, i,
                          rc);
    }
    ck_assert_msg(rc == c->want_rc, "%s: rc %d, want %d", c->name, rc, c->want_rc);
    ck_assert_msg(code == c->want_code, "%s: code %d, want %d", c->name, code,
                  c->want_code);
    if (c->want_text)
        ck_assert_msg(strcmp(bg_buf_str(&text), c->want_text) == 0, "%s: text \"%s\"",
                      c->name, bg_buf_str(&text));
    bg_buf_free(&text);
}
END_TEST

START_TEST(reply_text_is_bounded)
{
    char line[2100];
    bg_buf text = BG_BUF_INIT;
    bg_error err;
    int code = 0;

    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    memcpy(line, "250-", 4);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(bg_relay_reply_line(line, &code, &text, &err), 0);
    ck_assert_uint_le(text.len, 600);
    bg_buf_free(&text);
}
END_TEST

typedef struct target_case {
    const char *spec, *host, *port; /* host NULL = error */
} target_case;

static const target_case target_cases[] = {
    {"mail.example.com", "mail.example.com", "25"},
    {"mail.example.com:2525", "mail.example.com", "2525"},
    {"192.0.2.1", "192.0.2.1", "25"},
    {"192.0.2.1:587", "192.0.2.1", "587"},
    {"[2001:db8::1]:2525", "2001:db8::1", "2525"},
    {"[2001:db8::1]", "2001:db8::1", "25"},
    {"2001:db8::1", "2001:db8::1", "25"},
    {"", NULL, NULL},
    {":25", NULL, NULL},
    {"host:", NULL, NULL},
    {"host:0", NULL, NULL},
    {"host:65536", NULL, NULL},
    {"host:25x", NULL, NULL},
    {"[::1", NULL, NULL},
    {"[::1]x", NULL, NULL},
    {"[]:25", NULL, NULL},
    {"ho st", NULL, NULL},
    {"host\r\nQUIT", NULL, NULL},
};

START_TEST(target_table)
{
    const target_case *c = &target_cases[_i];
    char *host, *port;
    bg_error err;
    int rc = bg_relay_parse_target(c->spec, &host, &port, &err);

    if (c->host == NULL) {
        ck_assert_msg(rc == -1, "\"%s\" should fail", c->spec);
        ck_assert_ptr_null(host);
        return;
    }
    ck_assert_msg(rc == 0, "\"%s\": %s", c->spec, err.msg);
    ck_assert_str_eq(host, c->host);
    ck_assert_str_eq(port, c->port);
    free(host);
    free(port);
}
END_TEST

static const bg_relay_trick *
trick(const bg_relay_trick *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    ck_abort_msg("no trick %s", name);
    return NULL;
}

START_TEST(tricks_are_the_classic_ones)
{
    size_t n;
    bg_relay_trick *t =
        bg_relay_tricks("mx.example.org", "[192.0.2.1]", "f.example", "t.example", &n);

    ck_assert_uint_ge(n, 20);
    ck_assert_str_eq(trick(t, n, "foreign sender, foreign recipient")->mail_from,
                     "relaytest@f.example");
    ck_assert_str_eq(trick(t, n, "foreign sender, foreign recipient")->rcpt_to,
                     "relaytest@t.example");
    ck_assert_str_eq(trick(t, n, "null sender")->mail_from, "");
    ck_assert_str_eq(trick(t, n, "sender at the server's domain")->mail_from,
                     "relaytest@mx.example.org");
    ck_assert_str_eq(trick(t, n, "percent hack")->rcpt_to,
                     "relaytest%t.example@mx.example.org");
    ck_assert_str_eq(trick(t, n, "percent hack at IP literal")->rcpt_to,
                     "relaytest%t.example@[192.0.2.1]");
    ck_assert_str_eq(trick(t, n, "source route")->rcpt_to,
                     "@mx.example.org:relaytest@t.example");
    ck_assert_str_eq(trick(t, n, "bang path")->rcpt_to,
                     "t.example!relaytest@mx.example.org");
    ck_assert_str_eq(trick(t, n, "quoted address at server")->rcpt_to,
                     "\"relaytest@t.example\"@mx.example.org");
    ck_assert_str_eq(trick(t, n, "quoted percent at server")->rcpt_to,
                     "\"relaytest%t.example\"@mx.example.org");
    ck_assert_str_eq(trick(t, n, "upper-case recipient")->rcpt_to, "RELAYTEST@T.EXAMPLE");
    ck_assert_str_eq(trick(t, n, "recipient domain with trailing dot")->rcpt_to,
                     "relaytest@t.example.");
    /* No trick may carry CR, LF or a '>' that would end the path early. */
    for (size_t i = 0; i < n; i++) {
        ck_assert(strpbrk(t[i].mail_from, "\r\n>") == NULL);
        ck_assert(strpbrk(t[i].rcpt_to, "\r\n>") == NULL);
    }
    bg_relay_tricks_free(t, n);
}
END_TEST

/* From the relay itself the tricks say nothing about strangers. */
START_TEST(vantage_point_is_named)
{
    static const struct {
        const char *local, *peer;
        bg_relay_vantage want;
    } cases[] = {
        {"127.0.0.1", "127.0.0.1", BG_VANTAGE_LOOPBACK},
        {"127.0.0.53", "192.0.2.1", BG_VANTAGE_LOOPBACK},
        {"::1", "::1", BG_VANTAGE_LOOPBACK},
        {"::ffff:127.0.0.1", "::ffff:127.0.0.1", BG_VANTAGE_LOOPBACK},
        {"192.0.2.1", "192.0.2.1", BG_VANTAGE_SAME_HOST},
        {"::ffff:192.0.2.1", "192.0.2.1", BG_VANTAGE_SAME_HOST},
        {"2001:db8::1", "2001:db8::1", BG_VANTAGE_SAME_HOST},
        {"198.51.100.7", "192.0.2.1", BG_VANTAGE_OUTSIDE},
        {"128.0.0.1", "192.0.2.1", BG_VANTAGE_OUTSIDE},
        {"", "192.0.2.1", BG_VANTAGE_OUTSIDE},
        {"banana", "banana", BG_VANTAGE_OUTSIDE},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(bg_relay_vantage_of(cases[i].local, cases[i].peer) == cases[i].want,
                      "%s -> %s", cases[i].local, cases[i].peer);
    ck_assert_str_eq(bg_relay_overall_name(BG_RELAY_TRUSTED), "relays for this client");
}
END_TEST

START_TEST(options_are_checked)
{
    bg_error err;
    bg_relay_options o = {.host = "mx.example.org", .port = "25"};

    ck_assert_int_eq(bg_relay_check_options(&o, &err), 0);
    o.helo = "[192.0.2.7]";
    ck_assert_int_eq(bg_relay_check_options(&o, &err), 0);
    o.helo = "bad name";
    ck_assert_int_eq(bg_relay_check_options(&o, &err), -1);
    o.helo = NULL;
    o.to_domain = "x\r\nDATA";
    ck_assert_int_eq(bg_relay_check_options(&o, &err), -1);
    o.to_domain = "ok.example";
    o.from_domain = "a>b";
    ck_assert_int_eq(bg_relay_check_options(&o, &err), -1);
    o.from_domain = NULL;
    o.host = "";
    ck_assert_int_eq(bg_relay_check_options(&o, &err), -1);
}
END_TEST

static Suite *
relaytest_suite(void)
{
    Suite *s = suite_create("relaytest");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, reply_table, 0,
                        (int)(sizeof(reply_cases) / sizeof(reply_cases[0])));
    tcase_add_test(tc, reply_text_is_bounded);
    tcase_add_loop_test(tc, target_table, 0,
                        (int)(sizeof(target_cases) / sizeof(target_cases[0])));
    tcase_add_test(tc, tricks_are_the_classic_ones);
    tcase_add_test(tc, options_are_checked);
    tcase_add_test(tc, vantage_point_is_named);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(relaytest_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
