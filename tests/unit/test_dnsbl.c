/*
 * test_dnsbl — DNSBL answer decoding (a table of named cases), query names,
 * list files.  The queries themselves are tested against a real DNS server in
 * tests/integration/rbl_check.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/dnsbl.h"

typedef struct decode_case {
    const char *name;
    const char *zone;    /* NULL = an unknown list (generic rules) */
    const char *answers; /* comma-separated A answers */
    bg_dnsbl_status want;
    const char *meaning_has; /* substring of the decoded meaning, or NULL */
} decode_case;

static const decode_case decode_cases[] = {
    {"nothing is not listed", "zen.spamhaus.org", "", BG_DNSBL_NOT_LISTED, NULL},
    {"zen SBL", "zen.spamhaus.org", "127.0.0.2", BG_DNSBL_LISTED, "SBL"},
    {"zen CSS", "zen.spamhaus.org", "127.0.0.3", BG_DNSBL_LISTED, "CSS"},
    {"zen XBL .4", "zen.spamhaus.org", "127.0.0.4", BG_DNSBL_LISTED, "XBL"},
    {"zen XBL .7", "zen.spamhaus.org", "127.0.0.7", BG_DNSBL_LISTED, "XBL"},
    {"zen DROP", "zen.spamhaus.org", "127.0.0.9", BG_DNSBL_LISTED, "DROP"},
    {"zen PBL isp", "zen.spamhaus.org", "127.0.0.10", BG_DNSBL_LISTED, "PBL (ISP)"},
    {"zen PBL spamhaus", "zen.spamhaus.org", "127.0.0.11", BG_DNSBL_LISTED,
     "PBL (Spamhaus)"},
    {"zen SBL+XBL both decoded", "zen.spamhaus.org", "127.0.0.2,127.0.0.4",
     BG_DNSBL_LISTED, "127.0.0.4 XBL"},
    {"zen typo refused", "zen.spamhaus.org", "127.255.255.252", BG_DNSBL_ERROR, "typing"},
    {"zen public resolver refused", "zen.spamhaus.org", "127.255.255.254", BG_DNSBL_ERROR,
     "public/open resolver"},
    {"zen over quota refused", "zen.spamhaus.org", "127.255.255.255", BG_DNSBL_ERROR,
     "excessive"},
    {"zen other 127.255.255.x is an error", "zen.spamhaus.org", "127.255.255.250",
     BG_DNSBL_ERROR, "reserved"},
    {"zen DQS zone uses zen codes", "abcdefkey.zen.dq.spamhaus.net", "127.255.255.254",
     BG_DNSBL_ERROR, "public/open"},
    {"error answer spoils a listing", "zen.spamhaus.org", "127.0.0.2,127.255.255.254",
     BG_DNSBL_ERROR, NULL},
    {"nxdomain rewriting resolver", "zen.spamhaus.org", "198.51.100.7", BG_DNSBL_ERROR,
     "outside 127.0.0.0/8"},
    {"outside 127/8 on unknown list", NULL, "10.0.0.1", BG_DNSBL_ERROR,
     "rewrites NXDOMAIN"},
    {"127.0.0.1 is a refusal", "bl.spamcop.net", "127.0.0.1", BG_DNSBL_ERROR, "RFC 5782"},
    {"127.0.0.0 is a refusal", NULL, "127.0.0.0", BG_DNSBL_ERROR, "RFC 5782"},
    {"spamcop listed", "bl.spamcop.net", "127.0.0.2", BG_DNSBL_LISTED, "SpamCop"},
    {"barracuda listed", "b.barracudacentral.org", "127.0.0.2", BG_DNSBL_LISTED,
     "Barracuda"},
    {"unknown code on known list", "bl.spamcop.net", "127.0.0.9", BG_DNSBL_LISTED,
     "unknown code"},
    {"unknown list listed", NULL, "127.0.0.2", BG_DNSBL_LISTED, "listed"},
    {"unknown list reserved range", NULL, "127.255.255.254", BG_DNSBL_ERROR, "refused"},
    {"mailspike bad reputation", "bl.mailspike.net", "127.0.0.12", BG_DNSBL_LISTED, "L3"},
    {"mailspike good reputation", "rep.mailspike.net", "127.0.0.18", BG_DNSBL_NOT_LISTED,
     "good"},
    {"sorbs open relay", "dnsbl.sorbs.net", "127.0.0.5", BG_DNSBL_LISTED,
     "open SMTP relay"},
    {"sorbs dynamic", "dnsbl.sorbs.net", "127.0.0.10", BG_DNSBL_LISTED, "DUL"},
    {"spamrats noptr", "all.spamrats.com", "127.0.0.37", BG_DNSBL_LISTED, "NoPtr"},
    {"dronebl open resolver", "dnsbl.dronebl.org", "127.0.0.12", BG_DNSBL_LISTED,
     "open DNS resolver"},
    {"uceprotect", "dnsbl-1.uceprotect.net", "127.0.0.2", BG_DNSBL_LISTED, "UCEPROTECT"},
    {"psbl", "psbl.surriel.com", "127.0.0.2", BG_DNSBL_LISTED, "spam traps"},
    {"zone with trailing dot and case", "ZEN.Spamhaus.ORG.", "127.0.0.3", BG_DNSBL_LISTED,
     "CSS"},
};

START_TEST(decode_table)
{
    const decode_case *c = &decode_cases[_i];
    struct in_addr a[8];
    size_t n = 0;
    char *copy = strdup(c->answers), *save = NULL;
    bg_buf m = BG_BUF_INIT;
    const bg_dnsbl_known *k = c->zone ? bg_dnsbl_known_find(c->zone) : NULL;

    if (c->zone)
        ck_assert_msg(k != NULL, "%s: zone %s not known", c->name, c->zone);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        ck_assert_int_eq(inet_pton(AF_INET, t, &a[n++]), 1);
    free(copy);
    bg_dnsbl_status got = bg_dnsbl_decode(k, a, n, &m);
    ck_assert_msg(got == c->want, "%s: got %s, want %s (%s)", c->name,
                  bg_dnsbl_status_name(got), bg_dnsbl_status_name(c->want),
                  bg_buf_str(&m));
    if (c->meaning_has)
        ck_assert_msg(strstr(bg_buf_str(&m), c->meaning_has) != NULL,
                      "%s: meaning \"%s\" lacks \"%s\"", c->name, bg_buf_str(&m),
                      c->meaning_has);
    bg_buf_free(&m);
}
END_TEST

START_TEST(every_known_list_has_sane_codes)
{
    size_t n;
    const bg_dnsbl_known *k = bg_dnsbl_known_lists(&n);

    ck_assert_uint_gt(n, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(k[i].codes);
        ck_assert_ptr_eq(bg_dnsbl_known_find(k[i].zone), &k[i]);
        for (const bg_dnsbl_code *c = k[i].codes; c->meaning; c++) {
            ck_assert_msg(c->lo <= c->hi, "%s: bad range", k[i].zone);
            /* A listing code must be inside 127/8 and never 127.0.0.1. */
            if (c->status == BG_DNSBL_LISTED) {
                ck_assert_msg((c->lo >> 24) == 127 && c->lo > 0x7f000001u, "%s: %s",
                              k[i].zone, c->meaning);
                ck_assert_msg((c->hi & 0xffffff00u) != 0x7fffff00u, "%s: %s", k[i].zone,
                              c->meaning);
            }
        }
    }
}
END_TEST

START_TEST(query_names)
{
    char name[300];
    bool v6;
    bg_error err;

    ck_assert_int_eq(
        bg_dnsbl_query_name("192.0.2.1", "zen.test", name, sizeof(name), &v6, &err), 0);
    ck_assert_str_eq(name, "1.2.0.192.zen.test");
    ck_assert(!v6);
    ck_assert_int_eq(
        bg_dnsbl_query_name("2001:db8::1", "zen.test", name, sizeof(name), &v6, &err), 0);
    ck_assert_str_eq(
        name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test");
    ck_assert(v6);
    ck_assert_int_eq(
        bg_dnsbl_query_name("2001:DB8:0:0:0:0:0:AB", "z", name, sizeof(name), &v6, &err),
        0);
    ck_assert(strncmp(name, "b.a.0.0.", 8) == 0);
    ck_assert_int_eq(bg_dnsbl_query_name("192.0.2", "z", name, sizeof(name), &v6, &err),
                     -1);
    ck_assert(strstr(err.msg, "not an IPv4 or IPv6") != NULL);
    ck_assert_int_eq(
        bg_dnsbl_query_name("192.0.2.1\n", "z", name, sizeof(name), &v6, &err), -1);
    ck_assert(strchr(err.msg, '\n') == NULL);
    ck_assert_int_eq(
        bg_dnsbl_query_name("example.com", "z", name, sizeof(name), &v6, &err), -1);
    ck_assert_int_eq(bg_dnsbl_query_name("", "z", name, sizeof(name), &v6, &err), -1);
    ck_assert_int_eq(bg_dnsbl_query_name("1.2.3.4", "zen.test", name, 8, &v6, &err), -1);
}
END_TEST

START_TEST(list_file_parsing)
{
    bg_error err;
    bg_dnsbl_set *s =
        bg_dnsbl_set_parse("t",
                           "# comment\n\n"
                           "zen.test  Test ZEN codes=zen.spamhaus.org\n"
                           "ZEN.SPAMHAUS.ORG.\n"
                           "bl.test delist=https://x.test/ ipv6=no # tail\n",
                           &err);

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->count, 3);
    ck_assert_str_eq(s->lists[0].zone, "zen.test");
    ck_assert_str_eq(s->lists[0].name, "Test ZEN");
    ck_assert_ptr_eq(s->lists[0].codes_from, bg_dnsbl_known_find("zen.spamhaus.org"));
    ck_assert(s->lists[0].ipv6);
    ck_assert_str_eq(s->lists[1].zone, "zen.spamhaus.org");
    ck_assert_str_eq(s->lists[1].name, "Spamhaus ZEN");
    ck_assert_ptr_nonnull(s->lists[1].delist_url);
    ck_assert_str_eq(s->lists[2].name, "bl.test");
    ck_assert_str_eq(s->lists[2].delist_url, "https://x.test/");
    ck_assert(!s->lists[2].ipv6);
    ck_assert_ptr_null(s->lists[2].codes_from);
    s = bg_dnsbl_set_free(s);

    ck_assert_ptr_null(bg_dnsbl_set_parse("f", "ok.test\nbad!zone.test name\n", &err));
    ck_assert_str_eq(err.msg, "f:2: not a DNS zone: bad!zone.test");
    ck_assert(strncmp(err.msg, "f:2: ", 5) == 0);
    ck_assert_ptr_null(bg_dnsbl_set_parse("f", "a.test codes=nope.test\n", &err));
    ck_assert(strstr(err.msg, "not a built-in list") != NULL);
    ck_assert_ptr_null(bg_dnsbl_set_parse("f", "a.test colour=red\n", &err));
    ck_assert_ptr_null(bg_dnsbl_set_parse("f", "# only comments\n\n", &err));
    ck_assert(strstr(err.msg, "no DNSBL zone") != NULL);
    ck_assert_ptr_null(bg_dnsbl_set_parse("f", "a..test\n", &err));
    ck_assert_ptr_null(bg_dnsbl_set_load("/nonexistent/lists", &err));
    ck_assert(strstr(err.msg, "/nonexistent/lists") != NULL);
}
END_TEST

START_TEST(default_and_configured_sets)
{
    bg_error err;
    bg_dnsbl_set *s = bg_dnsbl_set_default();
    bool zen = false;
    char *items[] = {"bl.spamcop.net", "my.list.test"};
    bg_strlist sl = {items, 2};

    ck_assert_uint_ge(s->count, 8);
    for (size_t i = 0; i < s->count; i++) {
        zen |= strcmp(s->lists[i].zone, "zen.spamhaus.org") == 0;
        ck_assert_msg(strcmp(s->lists[i].zone, "dnsbl.sorbs.net") != 0,
                      "closed list asked");
    }
    ck_assert(zen);
    s = bg_dnsbl_set_free(s);

    s = bg_dnsbl_set_from_strlist(&sl, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->count, 2);
    ck_assert_str_eq(s->lists[0].name, "SpamCop");
    ck_assert(!s->lists[0].ipv6);
    ck_assert_str_eq(s->lists[1].name, "my.list.test");
    ck_assert(s->lists[1].ipv6);
    s = bg_dnsbl_set_free(s);

    char *bad[] = {"ok.test", "no spaces"};
    bg_strlist bl = {bad, 2};
    ck_assert_ptr_null(bg_dnsbl_set_from_strlist(&bl, &err));
}
END_TEST

/* "Not listed" only from a list that lists its RFC 5782 test entry. */
START_TEST(verify_against_test_entry)
{
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_NOT_LISTED, BG_DNSBL_LISTED),
                     BG_DNSBL_NOT_LISTED);
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_NOT_LISTED, BG_DNSBL_NOT_LISTED),
                     BG_DNSBL_UNVERIFIED);
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_NOT_LISTED, BG_DNSBL_ERROR),
                     BG_DNSBL_UNVERIFIED);
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_NOT_LISTED, BG_DNSBL_TIMEOUT),
                     BG_DNSBL_UNVERIFIED);
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_LISTED, BG_DNSBL_NOT_LISTED), BG_DNSBL_LISTED);
    ck_assert_int_eq(bg_dnsbl_verify(BG_DNSBL_TIMEOUT, BG_DNSBL_LISTED), BG_DNSBL_TIMEOUT);
    ck_assert_str_eq(bg_dnsbl_status_name(BG_DNSBL_UNVERIFIED), "cannot tell");
    ck_assert(bg_dnsbl_cannot_tell(BG_DNSBL_TIMEOUT) && bg_dnsbl_cannot_tell(BG_DNSBL_ERROR) &&
              bg_dnsbl_cannot_tell(BG_DNSBL_UNVERIFIED));
    ck_assert(!bg_dnsbl_cannot_tell(BG_DNSBL_NOT_LISTED) && !bg_dnsbl_cannot_tell(BG_DNSBL_SKIPPED));
}
END_TEST

START_TEST(summary_verdicts)
{
    bg_dnsbl_result r[3];
    bg_dnsbl_summary sum;

    memset(r, 0, sizeof(r));
    r[0].status = BG_DNSBL_NOT_LISTED;
    r[1].status = BG_DNSBL_NOT_LISTED;
    r[2].status = BG_DNSBL_SKIPPED;
    ck_assert_int_eq(bg_dnsbl_summarize(r, 3, &sum), BG_DNSBL_VERDICT_NOT_LISTED);
    ck_assert_int_eq(sum.asked, 2);
    ck_assert_int_eq(sum.skipped, 1);
    r[1].status = BG_DNSBL_TIMEOUT; /* a timeout is never "not listed" */
    ck_assert_int_eq(bg_dnsbl_summarize(r, 3, &sum), BG_DNSBL_VERDICT_CANNOT_TELL);
    ck_assert_int_eq(sum.cannot_tell, 1);
    r[0].status = BG_DNSBL_UNVERIFIED;
    ck_assert_int_eq(bg_dnsbl_summarize(r, 3, &sum), BG_DNSBL_VERDICT_CANNOT_TELL);
    ck_assert_int_eq(sum.unverified, 1);
    r[1].status = BG_DNSBL_LISTED;
    ck_assert_int_eq(bg_dnsbl_summarize(r, 3, &sum), BG_DNSBL_VERDICT_LISTED);
    ck_assert_int_eq(bg_dnsbl_summarize(r + 2, 1, &sum), BG_DNSBL_VERDICT_CANNOT_TELL);
}
END_TEST

START_TEST(check_rejects_bad_input)
{
    bg_error err;
    bg_dnsbl_set *s = bg_dnsbl_set_default();
    bg_dnsbl_result *r = (bg_dnsbl_result *)1;
    bg_dnsbl_options o = {"not-an-ip:53", 1000};

    ck_assert_int_eq(bg_dnsbl_check(s, "300.1.2.3", NULL, &r, &err), -1);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(bg_dnsbl_check(s, "192.0.2.1", &o, &r, &err), -1);
    ck_assert(strstr(err.msg, "resolver") != NULL);
    o.resolver = "127.0.0.1:99999";
    ck_assert_int_eq(bg_dnsbl_check(s, "192.0.2.1", &o, &r, &err), -1);
    bg_dnsbl_set_free(s);
}
END_TEST

/* An incident names its list by zone, by display name, or inside a text. */
START_TEST(known_by_any_name)
{
    ck_assert_str_eq(bg_dnsbl_known_named("zen.spamhaus.org")->zone, "zen.spamhaus.org");
    ck_assert_str_eq(bg_dnsbl_known_named("spamhaus zen")->zone, "zen.spamhaus.org");
    ck_assert_str_eq(bg_dnsbl_known_named("listed at zen.spamhaus.org today")->zone,
                     "zen.spamhaus.org");
    ck_assert_ptr_null(bg_dnsbl_known_named("a private list"));
}
END_TEST

static Suite *
dnsbl_suite(void)
{
    Suite *s = suite_create("dnsbl");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, decode_table, 0,
                        (int)(sizeof(decode_cases) / sizeof(decode_cases[0])));
    tcase_add_test(tc, every_known_list_has_sane_codes);
    tcase_add_test(tc, query_names);
    tcase_add_test(tc, list_file_parsing);
    tcase_add_test(tc, default_and_configured_sets);
    tcase_add_test(tc, check_rejects_bad_input);
    tcase_add_test(tc, verify_against_test_entry);
    tcase_add_test(tc, summary_verdicts);
    tcase_add_test(tc, known_by_any_name);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dnsbl_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
