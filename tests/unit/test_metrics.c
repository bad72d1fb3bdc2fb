/*
 * test_metrics — the milter's counters and the text exposition; the store's
 * part read from a real Berkeley DB store in a temp dir.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/metrics.h"
#include "bounceguard/policy.h"
#include "bounceguard/store.h"

#include "store_fixture.h"

#define DAY 86400
#define T0 1700000000

/* Whether the exposition holds this exact line. */
static bool
has_line(const bg_buf *b, const char *line)
{
    const char *p = bg_buf_str(b);
    size_t n = strlen(line);

    while ((p = strstr(p, line)) != NULL) {
        if ((p == bg_buf_str(b) || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
        p += n;
    }
    return false;
}

#define ck_line(b, l) ck_assert_msg(has_line(b, l), "missing line \"%s\" in:\n%s", l, bg_buf_str(b))

static const struct {
    const char *name;
    bg_verdict_kind v;
    const char *rule;
} rules[] = {
    {"accept", BG_VERDICT_ACCEPT, "none"},
    {"syntax", BG_VERDICT_BAD_ADDRESS, "format"},
    {"unknown TLD", BG_VERDICT_BAD_DOMAIN, "tld"},
    {"bounced", BG_VERDICT_BLACKLISTED, "blacklisted"},
    {"blocked by hand is rule 1 too", BG_VERDICT_BLOCKED_MANUALLY, "blacklisted"},
    {"sender", BG_VERDICT_SENDER_BLOCKED, "sender_blocked"},
    {"quota", BG_VERDICT_QUOTA, "quota"},
    {"store", BG_VERDICT_STORE_ERROR, "store_error"},
    {"too many", BG_VERDICT_TOO_MANY_RCPTS, "too_many_recipients"},
    {"verp", BG_VERDICT_BAD_RETURN_PATH, "bad_return_path"},
};

START_TEST(rule_names)
{
    ck_assert_msg(strcmp(bg_metrics_rule_name(rules[_i].v), rules[_i].rule) == 0, "%s: %s",
                  rules[_i].name, bg_metrics_rule_name(rules[_i].v));
}
END_TEST

START_TEST(milter_counts_what_the_client_was_told)
{
    bg_metrics *m = bg_metrics_new();
    bg_buf b = BG_BUF_INIT;

    /* every series exists at zero before anything happened */
    bg_metrics_format_milter(m, &b);
    ck_line(&b, "bounceguard_recipients_refused_total{rule=\"quota\"} 0");
    ck_line(&b, "bounceguard_messages_accepted_total 0");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_count 0");
    bg_buf_reset(&b);

    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_ACCEPT, BG_METRICS_PASSED);
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_ACCEPT, BG_METRICS_PASSED);
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_BLACKLISTED, BG_METRICS_REJECTED);
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_BLOCKED_MANUALLY, BG_METRICS_REJECTED);
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_BAD_DOMAIN, BG_METRICS_REJECTED);
    bg_metrics_count(m, BG_METRICS_MAIL, BG_VERDICT_QUOTA, BG_METRICS_TEMPFAILED);
    bg_metrics_count(m, BG_METRICS_MAIL, BG_VERDICT_ACCEPT, BG_METRICS_PASSED);
    /* observe mode: passed, counted as observed, and as an accepted recipient */
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_BAD_ADDRESS, BG_METRICS_PASSED);
    /* the store failed: tempfail (default), then accept (on_store_error = accept) */
    bg_metrics_count(m, BG_METRICS_RCPT, BG_VERDICT_STORE_ERROR, BG_METRICS_TEMPFAILED);
    bg_metrics_count(m, BG_METRICS_MAIL, BG_VERDICT_STORE_ERROR, BG_METRICS_PASSED);
    bg_metrics_message_accepted(m);
    bg_metrics_format_milter(m, &b);
    ck_line(&b, "bounceguard_recipients_accepted_total 3");
    ck_line(&b, "bounceguard_recipients_refused_total{rule=\"blacklisted\"} 2");
    ck_line(&b, "bounceguard_recipients_refused_total{rule=\"tld\"} 1");
    ck_line(&b, "bounceguard_recipients_refused_total{rule=\"format\"} 0");
    ck_line(&b, "bounceguard_recipients_refused_total{rule=\"store_error\"} 1");
    ck_line(&b, "bounceguard_messages_refused_total{rule=\"quota\"} 1");
    ck_line(&b, "bounceguard_messages_refused_total{rule=\"store_error\"} 0");
    ck_line(&b, "bounceguard_observed_refusals_total{stage=\"rcpt\",rule=\"format\"} 1");
    ck_line(&b, "bounceguard_store_errors_total 2");
    ck_line(&b, "bounceguard_tempfails_total 2");
    ck_line(&b, "bounceguard_messages_accepted_total 1");
    ck_line(&b, "# TYPE bounceguard_recipients_refused_total counter");
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "rule=\"none\""));
    bg_buf_free(&b);
    bg_metrics_free(m);
}
END_TEST

START_TEST(latency_histogram_is_cumulative_in_seconds)
{
    bg_metrics *m = bg_metrics_new();
    bg_buf b = BG_BUF_INIT;

    bg_metrics_rcpt_latency(m, 50000);          /* 50 us */
    bg_metrics_rcpt_latency(m, 100000);         /* 100 us: on the bound, inside it */
    bg_metrics_rcpt_latency(m, 3000000);        /* 3 ms */
    bg_metrics_rcpt_latency(m, 20000000000ULL); /* 20 s: only +Inf */
    bg_metrics_format_milter(m, &b);
    ck_line(&b, "# TYPE bounceguard_rcpt_decision_seconds histogram");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_bucket{le=\"0.0001\"} 2");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_bucket{le=\"0.0025\"} 2");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_bucket{le=\"0.005\"} 3");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_bucket{le=\"10\"} 3");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_bucket{le=\"+Inf\"} 4");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_count 4");
    ck_line(&b, "bounceguard_rcpt_decision_seconds_sum 20.003150000");
    bg_buf_free(&b);
    bg_metrics_free(m);
}
END_TEST

START_TEST(store_view_formats_and_escapes)
{
    bg_metrics_store_view v;
    bg_buf b = BG_BUF_INIT;

    memset(&v, 0, sizeof(v));
    bg_metrics_format_store(&v, &b);
    ck_line(&b, "bounceguard_store_up 0");
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "bounceguard_blacklisted_recipients"));
    bg_buf_reset(&b);
    v.ok = true;
    v.scanned = true;
    v.blacklisted = 7;
    v.last_checkpoint = T0;
    v.nlists = 1;
    bg_strlcpy(v.lists[0].name, "a \"quoted\" \\ list", sizeof(v.lists[0].name));
    v.lists[0].reports = 3;
    v.lists[0].last = T0;
    bg_metrics_format_store(&v, &b);
    ck_line(&b, "bounceguard_store_up 1");
    ck_line(&b, "bounceguard_blacklisted_recipients 7");
    ck_line(&b, "bounceguard_incident_reports{list=\"a \\\"quoted\\\" \\\\ list\"} 3");
    ck_line(&b, "bounceguard_store_last_checkpoint_timestamp_seconds 1700000000");
    bg_buf_reset(&b);
    v.redis = true;
    bg_metrics_format_store(&v, &b);
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "bounceguard_store_log_bytes"));
    bg_buf_free(&b);
}
END_TEST

/* ---- the store's part, from a real store ---------------------------------- */

static char home[256];
static bg_store *st;

static void
setup(void)
{
    st = store_fixture_open(home, sizeof(home), "metrics");
}

static void
teardown(void)
{
    st = store_fixture_close(st, home);
}

static bg_record_change
apply_bounce(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, arg, purge_at);
}

static void
bounce(const char *addr, int64_t when)
{
    bg_bounce_event ev = {when, "dsn", "userunknown", "5.1.1", "mx.example.com", "550 no",
                          "ip:192.0.2.1", 14 * DAY, 1 * DAY};
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_update(st, addr, apply_bounce, &ev, &err), BG_RECORD_WRITE);
}

typedef struct quota_arg {
    int64_t now;
    long limit;
} quota_arg;

static bg_record_change
reserve(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    quota_arg *q = arg;
    bool granted;
    int64_t start;

    return bg_policy_quota_reserve(cur, next, q->now, q->limit, DAY, 1, &granted, &start,
                                   purge_at);
}

typedef struct count_arg {
    const char *names[4];
    int n;
} count_arg;

static int
add_counts(bg_store_txn *t, void *arg)
{
    count_arg *c = arg;

    for (int i = 0; i < c->n; i++)
        if (bg_store_txn_counter_add(t, c->names[i], 1) < 0)
            return -1;
    return 0;
}

START_TEST(store_read_counts_records_and_counters)
{
    bg_config *cfg = bg_config_defaults();
    bg_metrics_store_view v;
    bg_buf b = BG_BUF_INIT;
    bg_error err;
    char name[64], bad[64];
    int64_t now = T0 + 20 * DAY;

    cfg->quota_limit = 2;
    bounce("gone@example.com", now - DAY);
    bounce("gone2@example.com", now - 2 * DAY);
    bounce("old@example.com", T0); /* expired at T0 + 14 days */
    for (int i = 0; i < 2; i++) {
        quota_arg q = {now - 60, 2};
        ck_assert_int_eq(bg_store_sender_update(st, "ip:192.0.2.7", reserve, &q, &err),
                         BG_RECORD_WRITE);
    }
    quota_arg q1 = {now - 60, 2};
    ck_assert_int_eq(bg_store_sender_update(st, "ip:192.0.2.8", reserve, &q1, &err),
                     BG_RECORD_WRITE);

    bg_metrics_bounce_counter(name, sizeof(name), BG_SCOPE_RECIPIENT, "userunknown");
    ck_assert_str_eq(name, "bounce:recipient:userunknown");
    bg_metrics_bounce_counter(bad, sizeof(bad), BG_SCOPE_MESSAGE, "no such reason");
    ck_assert_str_eq(bad, "bounce:message:undefined");
    count_arg c = {{name, name, BG_METRICS_COUNTER_UNTRUSTED, bad}, 4};
    ck_assert_int_eq(bg_store_atomic(st, false, add_counts, &c, &err), 0);
    c.n = 1;
    ck_assert_int_eq(bg_store_atomic(st, false, add_counts, &c, &err), 0);
    /* a meta record that is not a counter is not shown */
    ck_assert_int_eq(bg_store_meta_put(st, "debug", "on", &err), 0);

    /* 25 lists: the 20 reported last by name, the 5 oldest as "other" */
    for (int i = 0; i < 25; i++) {
        char rbl[32];
        snprintf(rbl, sizeof(rbl), "list%02d.example", i);
        ck_assert_int_eq(bg_store_incident_add(st, rbl, "mx.example.net", "a@example.com",
                                               "554 listed", now - 1000 + i, now + DAY, &err),
                         0);
    }
    ck_assert_int_eq(bg_store_incident_add(st, "list24.example", "mx2.example.net",
                                           "b@example.com", "554 listed", now - 10, now + DAY,
                                           &err),
                     0);

    memset(&v, 0, sizeof(v));
    ck_assert_int_eq(bg_metrics_store_read(st, cfg, now, BG_METRICS_READ_ALL, &v, &err), 0);
    ck_assert(v.scanned);
    ck_assert_int_eq(v.scan_time, now);
    ck_assert(v.ok);
    ck_assert_uint_eq(v.blacklisted, 2);
    ck_assert_uint_eq(v.senders_at_quota, 1);
    ck_assert_uint_eq(v.records.rcpts, 3);
    ck_assert_uint_eq(v.untrusted, 1);
    ck_assert_uint_eq(v.nlists, BG_METRICS_LISTS_MAX + 1);
    bg_metrics_format_store(&v, &b);
    ck_line(&b, "bounceguard_bounces_learned_total{scope=\"recipient\",reason=\"userunknown\"} 3");
    ck_line(&b, "bounceguard_bounces_learned_total{scope=\"message\",reason=\"undefined\"} 1");
    ck_line(&b, "bounceguard_bounces_untrusted_total 1");
    ck_line(&b, "bounceguard_incident_reports{list=\"list24.example\"} 2");
    ck_line(&b, "bounceguard_incident_reports{list=\"other\"} 5");
    ck_line(&b, "bounceguard_incident_last_report_timestamp_seconds{list=\"other\"} 1701727004");
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "list04.example"));
    ck_assert_ptr_nonnull(strstr(bg_buf_str(&b), "list05.example"));
    ck_line(&b, "bounceguard_senders_at_quota 1");
    ck_line(&b, "bounceguard_store_records{db=\"recipients\"} 3");
    ck_assert_ptr_nonnull(strstr(bg_buf_str(&b), "bounceguard_store_log_bytes "));
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "debug"));
    bg_metrics_store_view_clear(&v);
    bg_buf_free(&b);
    bg_config_unref(cfg);
}
END_TEST

/* An empty store: nothing to sort, nothing to show, every gauge at 0
 * (under UBSan: no qsort of a NULL array). */
START_TEST(store_read_empty)
{
    bg_config *cfg = bg_config_defaults();
    bg_metrics_store_view v;
    bg_buf b = BG_BUF_INIT;
    bg_error err;

    memset(&v, 0, sizeof(v));
    /* the counters alone: no scan, no gauge of one */
    ck_assert_int_eq(bg_metrics_store_read(st, cfg, T0, BG_METRICS_READ_COUNTERS, &v, &err), 0);
    ck_assert(v.ok);
    ck_assert(!v.scanned);
    bg_metrics_format_store(&v, &b);
    ck_assert_ptr_null(strstr(bg_buf_str(&b), "bounceguard_blacklisted_recipients"));
    bg_buf_reset(&b);
    ck_assert_int_eq(bg_metrics_store_read(st, cfg, T0, BG_METRICS_READ_SCAN, &v, &err), 0);
    ck_assert(v.scanned);
    ck_assert_uint_eq(v.nlists, 0);
    ck_assert_uint_eq(v.nbounces, 0);
    bg_metrics_format_store(&v, &b);
    ck_line(&b, "bounceguard_store_up 1");
    ck_line(&b, "bounceguard_blacklisted_recipients 0");
    ck_line(&b, "bounceguard_bounces_untrusted_total 0");
    ck_line(&b, "# TYPE bounceguard_incident_reports gauge");
    bg_metrics_store_view_clear(&v);
    bg_buf_free(&b);
    bg_config_unref(cfg);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    TCase *ts = tcase_create("store");

    tcase_add_loop_test(tc, rule_names, 0, sizeof(rules) / sizeof(rules[0]));
    tcase_add_test(tc, milter_counts_what_the_client_was_told);
    tcase_add_test(tc, latency_histogram_is_cumulative_in_seconds);
    tcase_add_test(tc, store_view_formats_and_escapes);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, store_read_counts_records_and_counters);
    tcase_add_test(ts, store_read_empty);
    suite_add_tcase(s, ts);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
