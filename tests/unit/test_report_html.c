/*
 * test_report_html — the page of `bounceguard report`: escaping of hostile
 * text (table of named cases), the days of a period and of a chart at their
 * edges, the stacked bars and their legend (the smallest series folded into
 * "(other)"), the y scale, and a whole page built from hostile data that
 * must hold no markup but its own and refer to nothing outside itself.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/report_html.h"

#define DAY BG_REPORT_DAY
/* 2026-12-07T06:00:13Z */
#define NOW 1796623213LL

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *
escaped(const char *s, size_t max)
{
    bg_buf b = BG_BUF_INIT;
    bg_html_text(&b, s, max);
    if (b.s == NULL)
        bg_buf_puts(&b, "");
    return bg_buf_steal(&b);
}

START_TEST(escapes_hostile_text)
{
    static const struct {
        const char *name, *in;
        size_t max;
        const char *want;
    } cases[] = {
        {"plain", "userunknown", 0, "userunknown"},
        {"null", NULL, 0, ""},
        {"angle brackets", "\"<script>\"@example.com", 0,
         "&quot;&lt;script&gt;&quot;@example.com"},
        {"closing svg", "</svg><b>", 0, "&lt;/svg&gt;&lt;b&gt;"},
        {"ampersand first", "&lt;", 0, "&amp;lt;"},
        {"single quote", "a'b", 0, "a&#39;b"},
        {"terminal escape made visible", "x\033[31m", 0, "x\\x1b[31m"},
        {"newline in a cell", "a\nb", 0, "a\\x0ab"},
        {"bidi control",
         "a\xe2\x80\xae"
         "b",
         0, "a\\u202eb"},
        {"not UTF-8", "a\xff", 0, "a\\xff"},
        {"UTF-8 kept", "caf\xc3\xa9", 0, "caf\xc3\xa9"},
        {"cut with dots", "0123456789abcdef", 10, "0123456..."},
        {"cut before escaping", "<<<<<<<<<<<<", 6, "&lt;&lt;&lt;..."},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = escaped(cases[i].in, cases[i].max);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s: got '%s', want '%s'",
                      cases[i].name, got, cases[i].want);
        free(got);
    }
}
END_TEST

START_TEST(period_and_chart_days)
{
    bg_report_chart c;
    int64_t start = bg_report_period_start(NOW, 30);

    ck_assert_int_eq(start % DAY, 0);
    ck_assert_int_eq(start, NOW - NOW % DAY - 29 * DAY); /* 2026-11-08 */
    ck_assert_int_eq(bg_report_period_start(NOW, 1), NOW - NOW % DAY);
    ck_assert_int_eq(bg_report_period_start(NOW - NOW % DAY, 1), NOW - NOW % DAY);

    bg_report_chart_init(&c, start, 30);
    ck_assert(!bg_report_chart_add(&c, "userunknown", start - 1));
    ck_assert(bg_report_chart_add(&c, "userunknown", start));
    ck_assert(bg_report_chart_add(&c, "hostunknown", start + 30 * DAY - 1));
    ck_assert(!bg_report_chart_add(&c, "hostunknown", start + 30 * DAY));
    ck_assert(bg_report_chart_add(&c, NULL, NOW));
    ck_assert(bg_report_chart_add(&c, "userunknown", NOW));
    ck_assert_uint_eq(c.nseries, 3);
    ck_assert_str_eq(c.series[0], "userunknown");
    ck_assert_str_eq(c.series[2], "(none)");
    ck_assert_uint_eq(c.counts[0 * 30 + 0], 1);
    ck_assert_uint_eq(c.counts[0 * 30 + 29], 1);
    ck_assert_uint_eq(c.counts[1 * 30 + 29], 1);
    ck_assert_uint_eq(bg_report_chart_total(&c), 4);
    bg_report_chart_clear(&c);
    ck_assert_uint_eq(c.nseries, 0);
}
END_TEST

/* A report with the period and three charts, nothing else. */
static void
report_init(bg_report *r, unsigned days)
{
    memset(r, 0, sizeof(*r));
    r->now = NOW;
    r->days = days;
    r->start = bg_report_period_start(NOW, days);
    r->backend = "Berkeley DB";
    r->where = "/var/lib/bounceguard";
    r->version = "0.1.0";
    bg_report_chart_init(&r->bounces, r->start, days);
    bg_report_chart_init(&r->listed, r->start, days);
    bg_report_chart_init(&r->released, r->start, days);
}

static char *
page(bg_report *r)
{
    bg_buf b = BG_BUF_INIT;

    bg_report_html(&b, r);
    bg_report_chart_clear(&r->bounces);
    bg_report_chart_clear(&r->listed);
    bg_report_chart_clear(&r->released);
    return bg_buf_steal(&b);
}

START_TEST(stacked_bars_and_legend)
{
    bg_report r;
    char *html;

    report_init(&r, 7);
    /* 7 bounces: 4 userunknown on 2 days, 3 hostunknown today */
    for (int i = 0; i < 3; i++)
        bg_report_chart_add(&r.bounces, "userunknown", NOW - 2 * DAY);
    bg_report_chart_add(&r.bounces, "userunknown", NOW);
    for (int i = 0; i < 3; i++)
        bg_report_chart_add(&r.bounces, "hostunknown", NOW);
    html = page(&r);
    ck_assert_uint_eq(count(html, "<rect class=\"bar\" data-series=\"userunknown\""), 2);
    ck_assert_uint_eq(count(html, "<rect class=\"bar\" data-series=\"hostunknown\""), 1);
    ck_assert_ptr_nonnull(strstr(html,
                                 "data-series=\"userunknown\" data-day=\"2026-12-05\" "
                                 "data-count=\"3\""));
    /* the largest series is drawn first and first in the legend */
    ck_assert_ptr_nonnull(strstr(html, ">userunknown (4)</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">hostunknown (3)</text>"));
    ck_assert(strstr(html, ">userunknown (4)<") < strstr(html, ">hostunknown (3)<"));
    /* y scale: the highest day is 4 -> steps of 1 up to 4 */
    ck_assert_ptr_nonnull(strstr(html, "text-anchor=\"end\">4</text>"));
    /* the two empty charts say so */
    ck_assert_uint_eq(count(html, "nothing in this period"), 2);
    /* today's label is always there */
    ck_assert_ptr_nonnull(strstr(html, ">12-07</text>"));
    free(html);
}
END_TEST

START_TEST(y_scale_is_round)
{
    bg_report r;
    char *html;

    report_init(&r, 3);
    for (int i = 0; i < 7; i++)
        bg_report_chart_add(&r.listed, "bounce (DSN)", NOW);
    html = page(&r);
    /* 7 -> steps of 2 up to 8 */
    ck_assert_ptr_nonnull(strstr(html, "text-anchor=\"end\">8</text>"));
    ck_assert_ptr_nonnull(strstr(html, "text-anchor=\"end\">6</text>"));
    ck_assert_ptr_null(strstr(html, "text-anchor=\"end\">7</text>"));
    free(html);
}
END_TEST

START_TEST(many_series_fold_into_other)
{
    bg_report r;
    char name[32];
    char *html;

    report_init(&r, 2);
    for (int s = 0; s < BG_REPORT_MAX_SERIES + 3; s++) {
        snprintf(name, sizeof(name), "reason%02d", s);
        for (int k = 0; k < 20 - s; k++)
            bg_report_chart_add(&r.bounces, name, NOW);
    }
    html = page(&r);
    ck_assert_uint_eq(count(html, "<g class=\"legend\">"), BG_REPORT_MAX_SERIES);
    /* the 4 smallest: 11 + 10 + 9 + 8 */
    ck_assert_ptr_nonnull(strstr(html, ">(other) (38)</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">reason08 (12)</text>"));
    ck_assert_ptr_null(strstr(html, ">reason09 ("));
    free(html);
}
END_TEST

START_TEST(hostile_page_is_inert_and_self_contained)
{
    static const char evil[] = "\"<script>alert(1)</script>\"@example.com";
    bg_report r;
    bg_incident_rec in;
    bg_report_sender snd;
    bg_report_rcpt rc;
    char *html;

    report_init(&r, 30);
    r.where = "/srv/</code><script>x</script>";
    bg_report_chart_add(&r.bounces, "</svg><script>alert(2)</script>", NOW);
    bg_report_chart_add(&r.listed, "<img src=x onerror=alert(3)>", NOW - DAY);
    bg_report_chart_add(&r.released, "unblocked", NOW);
    memset(&in, 0, sizeof(in));
    in.first = NOW - 3 * DAY;
    in.last = NOW - DAY;
    in.count = 4;
    snprintf(in.rbl, sizeof(in.rbl), "zen.spamhaus.org");
    snprintf(in.remote_mta, sizeof(in.remote_mta),
             "<iframe src=\"https://evil.example/\">");
    snprintf(in.last_rcpt, sizeof(in.last_rcpt), "%s", evil);
    snprintf(in.diagnostic, sizeof(in.diagnostic),
             "550 </svg><style>@import url(https://evil.example/x.css)</style>");
    r.incidents = &in;
    r.nincidents = 1;
    memset(&snd, 0, sizeof(snd));
    snd.id = (char *)"env:'><svg onload=alert(4)>@evil.example";
    snd.tried = 3;
    snd.blocked = true;
    r.senders = &snd;
    r.nsenders = r.nsenders_all = r.nsenders_blocked = 1;
    memset(&rc, 0, sizeof(rc));
    rc.addr = (char *)evil;
    rc.state = "blacklisted";
    snprintf(rc.rec.reason, sizeof(rc.rec.reason), "<b>");
    r.recent = &rc;
    r.nrecent = 1;
    html = page(&r);

    /* no markup but the page's own */
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<img"));
    ck_assert_ptr_null(strstr(html, "<iframe"));
    ck_assert_ptr_null(strstr(html, "<svg onload"));
    ck_assert_ptr_nonnull(strstr(html, "<td>&lt;b&gt;</td>")); /* the reason */
    ck_assert_ptr_null(strstr(html, "\"></code>")); /* no attribute was closed early */
    ck_assert_uint_eq(count(html, "<svg"), 4);      /* three charts and the timeline */
    ck_assert_uint_eq(count(html, "</svg>"), 4);
    ck_assert_uint_eq(count(html, "<style>"), 1);
    /* nothing to load from anywhere: no attribute that loads, and the one
     * style sheet (the page's own) has no @import or url() */
    ck_assert_ptr_null(strstr(html, "src=\""));
    ck_assert_ptr_null(strstr(html, "href=\""));
    {
        const char *a = strstr(html, "<style>"), *z = strstr(html, "</style>");
        ck_assert(a != NULL && z != NULL && a < z);
        for (const char *p = a; p < z; p++) {
            ck_assert(strncmp(p, "@import", 7) != 0);
            ck_assert(strncmp(p, "url(", 4) != 0);
        }
    }
    ck_assert_ptr_nonnull(strstr(html, "content=\"default-src 'none'; style-src "
                                       "'unsafe-inline'\""));
    /* the hostile strings are there, escaped */
    ck_assert_ptr_nonnull(strstr(html, "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"
                                       "@example.com"));
    ck_assert_ptr_nonnull(
        strstr(html, "data-series=\"&lt;/svg&gt;&lt;script&gt;alert(2)"));
    ck_assert_ptr_nonnull(strstr(html, "env:&#39;&gt;&lt;svg onload=alert(4)&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;/svg&gt;&lt;style&gt;@import"));
    /* the known list's delisting page, as text */
    ck_assert_ptr_nonnull(strstr(html, "<code>https://"));
    ck_assert_ptr_nonnull(strstr(html, "datetime=\"2026-12-07T06:00:13Z\""));
    free(html);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("page");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, escapes_hostile_text);
    tcase_add_test(tc, period_and_chart_days);
    tcase_add_test(tc, stacked_bars_and_legend);
    tcase_add_test(tc, y_scale_is_round);
    tcase_add_test(tc, many_series_fold_into_other);
    tcase_add_test(tc, hostile_page_is_inert_and_self_contained);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
