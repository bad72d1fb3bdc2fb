/*
 * test_gate — one SMTP transaction against policy and a real store: what is
 * reserved, remembered and given back, and what a dry run leaves untouched.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/gate.h"
#include "bounceguard/learn.h"

#include "store_fixture.h"

#define T0 1700000000
#define DAY 86400

static char home[256];
static bg_store *st;
static bg_config *cfg;

static void
setup(void)
{
    bg_error err;

    st = store_fixture_open(home, sizeof(home), "gate");
    cfg = bg_config_parse("t",
                          "quota_limit = 2\n"
                          "sender_bounce_limit = 2\n"
                          "trusted_networks = 10.0.0.0/8\n"
                          "sender_override = sasl:big quota_limit=3\n",
                          &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
}

static void
teardown(void)
{
    cfg = bg_config_unref(cfg);
    st = store_fixture_close(st, home);
}

static bg_record_change
block_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_block(cur, next, T0, 14 * DAY, "test", 0, purge_at);
}

static bg_record_change
bounce_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    bg_bounce_event ev = {T0, "dsn", "userunknown", "5.1.1", "mx.example.com",
                          "550 5.1.1 no such user", "", 14 * DAY, 0};

    return bg_policy_bounce(cur, next, &ev, purge_at);
}

/* Blacklist addr as a bounce does. */
static void
block(const char *addr)
{
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_update(st, addr, bounce_update, NULL, &err), 1);
}

/* Blacklist addr as `bounceguard block` does. */
static void
block_by_hand(const char *addr)
{
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_update(st, addr, block_update, NULL, &err), 1);
}

static bg_verdict_kind
rcpt(bg_gate_txn *t, const char *to, int64_t now)
{
    bg_addr a;
    bg_error err;
    char detail[200];

    return bg_gate_rcpt(st, cfg, t, to, now, &a, detail, sizeof(detail), &err);
}

/* One whole message from ip: MAIL, RCPT to, and the end (record) or abort. */
static bg_verdict_kind
message(const char *sasl, const char *ip, const char *to, bool finish, int64_t now)
{
    bg_gate_txn t;
    bg_error err;
    bg_verdict_kind v;

    bg_gate_begin(&t, cfg, sasl, ip, "app@example.org");
    v = bg_gate_mail(st, cfg, &t, now, &err);
    if (v != BG_VERDICT_ACCEPT)
        return v;
    v = rcpt(&t, to, now);
    if (finish && v == BG_VERDICT_ACCEPT)
        ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<m@x>", "QID1", to, now, &err), 0);
    else
        bg_gate_release(&t);
    return v;
}

START_TEST(quota_counts_messages_and_abort_gives_back)
{
    ck_assert_int_eq(message(NULL, "192.0.2.1", "a@example.com", true, T0), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "b@example.com", false, T0 + 1),
                     BG_VERDICT_ACCEPT); /* aborted: given back */
    ck_assert_int_eq(message(NULL, "192.0.2.1", "c@example.com", true, T0 + 2),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "d@example.com", true, T0 + 3),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "d@example.com", true, T0 + DAY),
                     BG_VERDICT_ACCEPT); /* new window */
}
END_TEST

static bg_verdict_kind
begin_and_rcpt(bg_gate_txn *t, const char *ip, const char *to, int64_t now)
{
    bg_error err;
    bg_verdict_kind v;

    bg_gate_begin(t, cfg, NULL, ip, "app@example.org");
    v = bg_gate_mail(st, cfg, t, now, &err);
    return v == BG_VERDICT_ACCEPT ? rcpt(t, to, now) : v;
}

/* Two sessions of one sender at once, quota 2 with 1 used: the first holds
 * the last message in flight (nothing written yet), so the second is refused
 * at RCPT TO, and a third at MAIL FROM; when the first aborts, its share is
 * back; the store counts each message once, at its end. */
START_TEST(quota_in_flight_is_held_not_written)
{
    bg_gate_txn a, b, c;
    bg_sender_rec r;
    bg_error err;

    ck_assert_int_eq(message(NULL, "192.0.2.3", "x@example.com", true, T0), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(begin_and_rcpt(&a, "192.0.2.3", "a@example.com", T0 + 1),
                     BG_VERDICT_ACCEPT);
    ck_assert(a.reserved);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.3", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.count, 1); /* held, not counted */
    ck_assert_int_eq(begin_and_rcpt(&b, "192.0.2.3", "b@example.com", T0 + 2),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(begin_and_rcpt(&c, "192.0.2.3", "c@example.com", T0 + 3),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.3", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.refused, 2);
    ck_assert_uint_eq(r.count, 1);
    bg_gate_release(&a);
    ck_assert(!a.reserved);
    ck_assert_int_eq(begin_and_rcpt(&b, "192.0.2.3", "b@example.com", T0 + 4),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(bg_gate_record(st, cfg, &b, "<b@x>", "QB", "b@example.com\n", T0 + 4,
                                    &err),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.3", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.total, 2);
    ck_assert_int_eq(message(NULL, "192.0.2.3", "d@example.com", true, T0 + 5),
                     BG_VERDICT_QUOTA);
}
END_TEST

static bg_record_change
fill_update(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    bool granted;
    int64_t ws;

    return bg_policy_quota_reserve(cur, next, *(int64_t *)arg, 2, DAY, 1, &granted, &ws,
                                   purge_at);
}

/* Another relay on the same store (Redis) counts a message of the sender
 * between this one's RCPT TO and its end, filling the quota: the end of
 * this message checks the quota again and refuses it, files nothing, and
 * counts the refusal; no more than the quota got through. */
START_TEST(quota_filled_elsewhere_refuses_at_the_end)
{
    bg_gate_txn t;
    bg_sender_rec r;
    bg_message_rec m;
    bg_error err;
    int64_t at = T0 + 10;

    ck_assert_int_eq(message(NULL, "192.0.2.4", "x@example.com", true, T0), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(begin_and_rcpt(&t, "192.0.2.4", "a@example.com", T0 + 5),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(bg_store_sender_update(st, "ip:192.0.2.4", fill_update, &at, &err),
                     BG_RECORD_WRITE);
    ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<late@x>", "QLATE", "a@example.com\n",
                                    T0 + 20, &err),
                     BG_VERDICT_QUOTA);
    ck_assert(!t.reserved);
    ck_assert_int_eq(bg_store_message_get(st, "QLATE", true, &m, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.4", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.refused, 1);
}
END_TEST

/* Quota 2 with 1 used when session A reads the window at MAIL FROM; session
 * B's message ends before A's RCPT TO and takes the last one: A, which by
 * its read would take the last message, reads the window again and is
 * refused at RCPT TO, before its data (not after it, at the end). */
START_TEST(last_message_of_the_window_is_read_again)
{
    bg_gate_txn a;
    bg_sender_rec r;
    bg_error err;

    ck_assert_int_eq(message(NULL, "192.0.2.6", "x@example.com", true, T0), BG_VERDICT_ACCEPT);
    bg_gate_begin(&a, cfg, NULL, "192.0.2.6", "app@example.org");
    ck_assert_int_eq(bg_gate_mail(st, cfg, &a, T0 + 1, &err), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.6", "y@example.com", true, T0 + 2),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(rcpt(&a, "z@example.com", T0 + 3), BG_VERDICT_QUOTA);
    ck_assert(!a.reserved);
    bg_gate_release(&a);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.6", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.refused, 1);
}
END_TEST

/* mode = observe: the same message goes out although its count was refused,
 * so its bounces must find it: it is filed, and the refusal still counted. */
START_TEST(observe_files_what_the_end_would_refuse)
{
    bg_gate_txn t;
    bg_sender_rec r;
    bg_message_rec m;
    bg_error err;
    int64_t at = T0 + 10;

    cfg->mode = BG_MODE_OBSERVE;
    ck_assert_int_eq(begin_and_rcpt(&t, "192.0.2.5", "a@example.com", T0 + 5),
                     BG_VERDICT_ACCEPT);
    for (int i = 0; i < 2; i++) /* another relay sends two */
        ck_assert_int_eq(bg_store_sender_update(st, "ip:192.0.2.5", fill_update, &at, &err),
                         BG_RECORD_WRITE);
    ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<seen@x>", "QSEEN", "a@example.com\n",
                                    T0 + 20, &err),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(bg_store_message_get(st, "QSEEN", true, &m, &err), BG_FOUND);
    ck_assert_str_eq(m.sender_id, "ip:192.0.2.5");
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.5", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.refused, 1);
    bg_message_rec_clear(&m);
}
END_TEST

/* A refusal at MAIL FROM is counted in the window and moves last_seen
 * (`sender show`); a dry run (`bounceguard check`) counts nothing. */
START_TEST(quota_refusals_are_counted)
{
    bg_sender_rec r;
    bg_gate_txn t;
    bg_error err;

    ck_assert_int_eq(message(NULL, "192.0.2.2", "a@example.com", true, T0), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.2", "b@example.com", true, T0 + 1),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.2", "c@example.com", true, T0 + 10),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(message(NULL, "192.0.2.2", "c@example.com", true, T0 + 20),
                     BG_VERDICT_QUOTA);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.2", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.refused, 2);
    ck_assert_int_eq(r.last_seen, T0 + 20);
    ck_assert_uint_eq(r.count, 2);
    bg_gate_begin(&t, cfg, NULL, "192.0.2.2", "app@example.org");
    t.dry_run = true;
    ck_assert_int_eq(bg_gate_mail(st, cfg, &t, T0 + 30, &err), BG_VERDICT_QUOTA);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.2", &r, &err), BG_FOUND);
    ck_assert_uint_eq(r.refused, 2);
    ck_assert_int_eq(r.last_seen, T0 + 20);
}
END_TEST

START_TEST(trusted_network_and_override)
{
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(message(NULL, "10.1.2.3", "a@example.com", true, T0 + i),
                         BG_VERDICT_ACCEPT);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(message("big", "192.0.2.9", "a@example.com", true, T0 + i),
                         BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message("big", "192.0.2.9", "a@example.com", true, T0 + 5),
                     BG_VERDICT_QUOTA);
}
END_TEST

START_TEST(sender_blocked_after_distinct_blacklisted)
{
    bg_error err;

    block("x@example.com");
    block("y@example.com");
    ck_assert_int_eq(message(NULL, "192.0.2.7", "x@example.com", false, T0),
                     BG_VERDICT_BLACKLISTED);
    ck_assert_int_eq(message(NULL, "192.0.2.7", "x@example.com", false, T0 + 1),
                     BG_VERDICT_BLACKLISTED); /* same one again: still 1 distinct */
    ck_assert_int_eq(message(NULL, "192.0.2.7", "ok@example.com", false, T0 + 2),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.7", "y@example.com", false, T0 + 3),
                     BG_VERDICT_BLACKLISTED);
    ck_assert_int_eq(message(NULL, "192.0.2.7", "ok@example.com", false, T0 + 4),
                     BG_VERDICT_SENDER_BLOCKED);
    ck_assert_int_eq(bg_gate_tried_blacklisted(st, "ip:192.0.2.7", T0 + 4, 0, &err), 2);
    /* When the entries expire, the sender is free again. */
    ck_assert_int_eq(bg_gate_tried_blacklisted(st, "ip:192.0.2.7", T0 + 14 * DAY, 0, &err), 0);
    ck_assert_int_eq(message(NULL, "192.0.2.7", "ok@example.com", false, T0 + 14 * DAY),
                     BG_VERDICT_ACCEPT);
}
END_TEST

/* A block by hand is refused with a text that says so; a bounce after it
 * makes it a bounce's again.  The texts are configurable per case. */
START_TEST(manual_block_says_so)
{
    bg_error err;
    bg_reply r;
    bg_config *c2;

    block_by_hand("m@example.com");
    ck_assert_int_eq(message(NULL, "192.0.2.3", "m@example.com", false, T0),
                     BG_VERDICT_BLOCKED_MANUALLY);
    r = bg_policy_reply(BG_VERDICT_BLOCKED_MANUALLY, cfg);
    ck_assert_str_eq(r.rcode, "550");
    ck_assert_str_eq(r.xcode, "5.7.1");
    ck_assert_str_eq(r.text, "Email send failed. Recipient is blocked by the mail administrator.");
    r = bg_policy_reply(BG_VERDICT_BLACKLISTED, cfg);
    ck_assert_str_eq(r.text, "Email send failed. Recipient is blacklisted due to bounce messages.");
    block("m@example.com");
    ck_assert_int_eq(message(NULL, "192.0.2.3", "m@example.com", false, T0 + 1),
                     BG_VERDICT_BLACKLISTED);

    c2 = bg_config_parse("t",
                         "manual_block_text = Blocked by postmaster, call 555-0100.\n"
                         "blacklist_reply = temporary\n",
                         &err);
    ck_assert_msg(c2 != NULL, "%s", err.msg);
    r = bg_policy_reply(BG_VERDICT_BLOCKED_MANUALLY, c2);
    ck_assert_str_eq(r.rcode, "450");
    ck_assert_str_eq(r.text, "Blocked by postmaster, call 555-0100.");
    r = bg_policy_reply(BG_VERDICT_BLACKLISTED, c2);
    ck_assert_str_eq(r.text, "Email send failed. Recipient is blacklisted due to bounce messages.");
    bg_config_unref(c2);
    ck_assert_ptr_null(bg_config_parse("t", "quota_text = 100% used\n", &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "quota_text"));
}
END_TEST

START_TEST(exempt_and_invalid)
{
    block("postmaster@example.com");
    ck_assert_int_eq(message(NULL, "192.0.2.1", "postmaster@example.com", false, T0),
                     BG_VERDICT_ACCEPT);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "a@example.invalidtld", false, T0),
                     BG_VERDICT_BAD_DOMAIN);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "a..b@example.com", false, T0),
                     BG_VERDICT_BAD_ADDRESS);
    ck_assert_int_eq(message(NULL, "192.0.2.1", "<>", false, T0), BG_VERDICT_BAD_ADDRESS);
}
END_TEST

START_TEST(dry_run_writes_nothing)
{
    bg_gate_txn t;
    bg_error err;
    bg_sender_rec s;

    block("x@example.com");
    for (int i = 0; i < 5; i++) {
        bg_gate_begin(&t, cfg, NULL, "192.0.2.5", "a@b.example");
        t.dry_run = true;
        ck_assert_int_eq(rcpt(&t, "fine@example.com", T0), BG_VERDICT_ACCEPT);
        ck_assert_int_eq(rcpt(&t, "x@example.com", T0), BG_VERDICT_BLACKLISTED);
    }
    ck_assert_int_eq(bg_store_sender_get(st, "ip:192.0.2.5", &s, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_gate_tried_blacklisted(st, "ip:192.0.2.5", T0, 0, &err), 0);
}
END_TEST

START_TEST(record_keeps_message_for_bounces)
{
    bg_error err;
    bg_message_rec m;

    ck_assert_int_eq(message(NULL, "192.0.2.1", "a@example.com", true, T0), BG_VERDICT_ACCEPT);
    ck_assert_int_eq(bg_store_message_get(st, "QID1", true, &m, &err), BG_FOUND);
    ck_assert_str_eq(m.sender_id, "ip:192.0.2.1");
    ck_assert_str_eq(m.env_from, "app@example.org");
    ck_assert_str_eq(m.rcpts, "a@example.com");
    bg_message_rec_clear(&m);
}
END_TEST

/* A config with VERP on, its secret in the store's temp dir. */
static bg_config *
verp_config(const char *more)
{
    char path[300], text[700];
    bg_error err;
    FILE *fp;
    bg_config *c;

    snprintf(path, sizeof(path), "%s/verp.secret", home);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("0123456789abcdef0123456789abcdef\n", fp);
    fclose(fp);
    snprintf(text, sizeof(text),
             "return_path_rewrite = yes\nverp_domain = verp.relay.example\n"
             "verp_secret_file = %s\n%s",
             path, more);
    c = bg_config_parse("t", text, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

/* Record a message Q1 from 192.0.2.1 to rcpts and make its return path. */
static void
sent(bg_config *c, const char *qid, const char *rcpts, const char *bound, char *rp,
     size_t size)
{
    bg_gate_txn t;
    bg_error err;

    bg_gate_begin(&t, c, NULL, "192.0.2.1", "<app@example.org>");
    ck_assert_int_eq(bg_gate_record(st, c, &t, "", qid, rcpts, T0, &err), 0);
    ck_assert_int_eq(bg_learn_return_path(c, "app@example.org", qid, bound, T0, rp, size, &err),
                     1);
}

START_TEST(verp_domain_takes_only_valid_return_paths)
{
    bg_config *c = verp_config("");
    char rp[300], bound[300], forged[300];
    bg_gate_txn t;
    bg_addr a;
    bg_error err;

    sent(c, "Q1", "x@example.com\ny@example.com", NULL, rp, sizeof(rp));
    sent(c, "Q2", "x@example.com", "x@example.com", bound, sizeof(bound));
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, rp, T0 + 60, &a, NULL, 0, &err),
                     BG_VERDICT_ACCEPT);
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, bound, T0 + 60, &a, NULL, 0, &err),
                     BG_VERDICT_ACCEPT);
    /* anything else at the VERP domain is refused */
    const char *bad[] = {"bounces+abc@verp.relay.example", "postmaster@verp.relay.example",
                         "someone@VERP.relay.example", "bounces@verp.relay.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
        ck_assert_msg(bg_gate_rcpt(st, c, &t, bad[i], T0 + 60, &a, NULL, 0, &err) ==
                          BG_VERDICT_BAD_RETURN_PATH,
                      "%s accepted", bad[i]);
    }
    /* one character changed in the token */
    bg_strlcpy(forged, rp, sizeof(forged));
    forged[10] = forged[10] == 'a' ? 'b' : 'a';
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, forged, T0 + 60, &a, NULL, 0, &err),
                     BG_VERDICT_BAD_RETURN_PATH);
    /* a message past message_retention: its token no longer gets in */
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, rp, T0 + 9 * DAY, &a, NULL, 0, &err),
                     BG_VERDICT_BAD_RETURN_PATH);
    bg_config_unref(c);
}
END_TEST

START_TEST(every_accepted_message_takes_quota)
{
    bg_config *c = verp_config("quota_limit = 2\n");
    char rp[300];
    bg_gate_txn t;
    bg_addr a;
    bg_error err;
    bg_sender_rec s;

    sent(c, "Q1", "x@example.com\ny@example.com", NULL, rp, sizeof(rp));
    /* bounces to a valid return path and mail to postmaster@ count like any mail */
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, rp, T0 + 60, &a, NULL, 0, &err),
                     BG_VERDICT_ACCEPT);
    ck_assert(t.reserved);
    ck_assert_int_eq(bg_gate_record(st, c, &t, "", "QB1", "", T0 + 60, &err), 0);
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<a@b.example>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, "postmaster@example.com", T0 + 61, &a, NULL, 0,
                                  &err),
                     BG_VERDICT_ACCEPT);
    ck_assert(t.reserved);
    ck_assert_int_eq(bg_gate_record(st, c, &t, "", "QB2", "postmaster@example.com",
                                    T0 + 61, &err),
                     0);
    ck_assert_int_eq(bg_store_sender_get(st, "ip:203.0.113.5", &s, &err), BG_FOUND);
    ck_assert_int_eq(s.count, 2);
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<a@b.example>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, "abuse@example.com", T0 + 62, &a, NULL, 0,
                                  &err),
                     BG_VERDICT_QUOTA);
    bg_gate_begin(&t, c, NULL, "203.0.113.5", "<>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, rp, T0 + 62, &a, NULL, 0, &err),
                     BG_VERDICT_QUOTA);
    bg_config_unref(c);
}
END_TEST

START_TEST(recipients_per_message_are_bounded)
{
    bg_error err;
    bg_config *c = bg_config_parse("t", "recipient_limit = 3\n", &err);
    bg_gate_txn t;
    bg_addr a;
    char rcpt[64];

    ck_assert_ptr_nonnull(c);
    bg_gate_begin(&t, c, NULL, "192.0.2.9", "<app@example.org>");
    for (int i = 0; i < 5; i++) {
        snprintf(rcpt, sizeof(rcpt), "r%d@example.com", i);
        ck_assert_int_eq(bg_gate_rcpt(st, c, &t, rcpt, T0, &a, NULL, 0, &err),
                         i < 3 ? BG_VERDICT_ACCEPT : BG_VERDICT_TOO_MANY_RCPTS);
    }
    ck_assert_str_eq(bg_policy_reply(BG_VERDICT_TOO_MANY_RCPTS, c).rcode, "452");
    /* the next transaction starts again */
    bg_gate_begin(&t, c, NULL, "192.0.2.9", "<app@example.org>");
    ck_assert_int_eq(bg_gate_rcpt(st, c, &t, "r9@example.com", T0, &a, NULL, 0, &err),
                     BG_VERDICT_ACCEPT);
    bg_config_unref(c);
}
END_TEST

/* What the gate would answer this client now, at MAIL FROM and at RCPT TO
 * (dry runs: nothing written), must be what the sender's status says, as
 * `bounceguard senders` and `sender show` print it (client_ip NULL: they
 * know only the identity), so that the CLI and the milter never disagree. */
static void
assert_status_agrees(const char *sasl, const char *ip, int64_t now)
{
    bg_gate_txn t;
    bg_sender_status s, cli;
    bg_error err;
    bg_verdict_kind expect, mail, to;

    bg_gate_begin(&t, cfg, sasl, ip, "app@example.org");
    t.dry_run = true;
    ck_assert_int_eq(
        bg_gate_sender_status(st, cfg, t.identity, t.client_ip, now, &s, &err), 0);
    expect = s.blocked      ? BG_VERDICT_SENDER_BLOCKED
             : s.over_quota ? BG_VERDICT_QUOTA
                            : BG_VERDICT_ACCEPT;
    mail = bg_gate_mail(st, cfg, &t, now, &err);
    ck_assert_msg(mail == expect, "%s at T0%+lld: MAIL FROM %s, status says %s",
                  t.identity, (long long)(now - T0), bg_policy_verdict_name(mail),
                  bg_policy_verdict_name(expect));
    bg_gate_begin(&t, cfg, sasl, ip, "app@example.org");
    t.dry_run = true;
    to = rcpt(&t, "fine@example.com", now);
    ck_assert_msg(to == expect, "%s at T0%+lld: RCPT TO %s, status says %s", t.identity,
                  (long long)(now - T0), bg_policy_verdict_name(to),
                  bg_policy_verdict_name(expect));
    if (sasl == NULL) { /* an ip: identity: the CLI's view is the same */
        ck_assert_int_eq(
            bg_gate_sender_status(st, cfg, t.identity, NULL, now, &cli, &err), 0);
        ck_assert_int_eq(cli.blocked, s.blocked);
        ck_assert_int_eq(cli.over_quota, s.over_quota);
        ck_assert_int_eq(cli.quota_exempt, s.quota_exempt);
        ck_assert_int_eq(cli.tried_blacklisted, s.tried_blacklisted);
    }
}

/* Senders of every kind (plain, trusted network, an override, blocked by
 * rule 3, over quota by rule 4, both) through windows and expiries: at every
 * step the status and the gate agree. */
START_TEST(sender_status_agrees_with_gate)
{
    static const struct {
        const char *sasl, *ip;
    } senders[] = {{NULL, "192.0.2.60"},    {NULL, "10.9.8.7"},  {"big", "192.0.2.61"},
                   {"small", "192.0.2.62"}, {"big", "10.1.1.1"}, {NULL, "2001:db8::5"}};
    static const int64_t steps[] = {
        0, 1, 2, 3, 60, DAY - 1, DAY, DAY + 5, 14 * DAY - 1, 14 * DAY, 15 * DAY};
    size_t ns = sizeof(senders) / sizeof(senders[0]);
    bg_sender_status s;
    bg_error err;

    block("dead1@example.com");
    block("dead2@example.com");
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        int64_t now = T0 + steps[k];
        for (size_t i = 0; i < ns; i++) {
            assert_status_agrees(senders[i].sasl, senders[i].ip, now);
            /* then each sender does something: a message, or a try at a
             * blacklisted recipient (senders 3 and 5 only) */
            if ((i == 3 || i == 5) && k < 2)
                (void)message(senders[i].sasl, senders[i].ip,
                              k == 0 ? "dead1@example.com" : "dead2@example.com", false,
                              now);
            else
                (void)message(senders[i].sasl, senders[i].ip, "fine@example.com", true,
                              now);
            assert_status_agrees(senders[i].sasl, senders[i].ip, now);
        }
    }
    /* the run above went through both rules */
    ck_assert_int_eq(
        bg_gate_sender_status(st, cfg, "ip:192.0.2.60", NULL, T0 + 2, &s, &err), 0);
    ck_assert(s.found);
    ck_assert_int_eq(bg_gate_sender_status(st, cfg, "sasl:small", NULL, T0 + 2, &s, &err),
                     0);
    ck_assert(s.blocked);
    ck_assert_int_eq(s.tried_blacklisted, 2);
}
END_TEST

/* A reset sender is neither blocked nor over quota, and the gate agrees. */
START_TEST(sender_reset_frees_it)
{
    bg_sender_status s;
    bg_error err;
    bool had;
    size_t tried;

    block("dead1@example.com");
    block("dead2@example.com");
    (void)message(NULL, "192.0.2.70", "dead1@example.com", false, T0);
    (void)message(NULL, "192.0.2.70", "dead2@example.com", false, T0 + 1);
    ck_assert_int_eq(
        bg_gate_sender_status(st, cfg, "ip:192.0.2.70", NULL, T0 + 2, &s, &err), 0);
    ck_assert(s.blocked);
    ck_assert_int_eq(bg_gate_sender_reset(st, "ip:192.0.2.70", &had, &tried, &err), 0);
    ck_assert_int_eq(tried, 2);
    assert_status_agrees(NULL, "192.0.2.70", T0 + 2);
    (void)message(NULL, "192.0.2.70", "a@example.com", true, T0 + 3);
    (void)message(NULL, "192.0.2.70", "b@example.com", true, T0 + 4);
    ck_assert_int_eq(
        bg_gate_sender_status(st, cfg, "ip:192.0.2.70", NULL, T0 + 5, &s, &err), 0);
    ck_assert(s.over_quota && !s.blocked);
    ck_assert_int_eq(bg_gate_sender_reset(st, "ip:192.0.2.70", &had, &tried, &err), 0);
    ck_assert(had);
    ck_assert_int_eq(tried, 0);
    ck_assert_int_eq(
        bg_gate_sender_status(st, cfg, "ip:192.0.2.70", NULL, T0 + 5, &s, &err), 0);
    ck_assert(!s.blocked && !s.over_quota && !s.found);
    assert_status_agrees(NULL, "192.0.2.70", T0 + 5);
    ck_assert_int_eq(bg_gate_sender_reset(st, "ip:192.0.2.70", &had, &tried, &err), 0);
    ck_assert(!had);
    ck_assert_int_eq(tried, 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("transactions");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, quota_counts_messages_and_abort_gives_back);
    tcase_add_test(tc, quota_refusals_are_counted);
    tcase_add_test(tc, quota_in_flight_is_held_not_written);
    tcase_add_test(tc, quota_filled_elsewhere_refuses_at_the_end);
    tcase_add_test(tc, observe_files_what_the_end_would_refuse);
    tcase_add_test(tc, last_message_of_the_window_is_read_again);
    tcase_add_test(tc, manual_block_says_so);
    tcase_add_test(tc, trusted_network_and_override);
    tcase_add_test(tc, sender_blocked_after_distinct_blacklisted);
    tcase_add_test(tc, exempt_and_invalid);
    tcase_add_test(tc, dry_run_writes_nothing);
    tcase_add_test(tc, record_keeps_message_for_bounces);
    tcase_add_test(tc, verp_domain_takes_only_valid_return_paths);
    tcase_add_test(tc, every_accepted_message_takes_quota);
    tcase_add_test(tc, recipients_per_message_are_bounded);
    tcase_add_test(tc, sender_status_agrees_with_gate);
    tcase_add_test(tc, sender_reset_frees_it);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
