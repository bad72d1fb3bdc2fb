/*
 * test_policy — the rules at their edges, with time under the test's control.
 */
#include <check.h>
#include <string.h>

#include "bounceguard/policy.h"

#define DAY 86400
#define T0 1700000000 /* a fixed "now" */

static bg_config *cfg;

static void
setup(void)
{
    cfg = bg_config_defaults();
}

static void
teardown(void)
{
    cfg = bg_config_unref(cfg);
}

static bg_bounce_event
bounce_at(int64_t when)
{
    return (bg_bounce_event){when, "dsn", "userunknown", "5.1.1", "mx.example.com",
                             "550 5.1.1 user unknown", "ip:192.0.2.1", 14 * DAY, 90 * DAY};
}

START_TEST(blacklist_holds_14_days_minus_one_second)
{
    bg_rcpt_rec next;
    int64_t purge;
    bg_bounce_event ev = bounce_at(T0);

    ck_assert_int_eq(bg_policy_bounce(NULL, &next, &ev, &purge), 1);
    ck_assert(bg_policy_rcpt_blacklisted(&next, T0));
    ck_assert(bg_policy_rcpt_blacklisted(&next, T0 + 14 * DAY - 1));
    ck_assert(!bg_policy_rcpt_blacklisted(&next, T0 + 14 * DAY));
    ck_assert(!bg_policy_rcpt_blacklisted(&next, T0 + 14 * DAY + 1));
    ck_assert_int_eq(next.bounce_count, 1);
    ck_assert_int_eq(purge, T0 + 14 * DAY + 90 * DAY);
}
END_TEST

START_TEST(new_bounce_extends_period)
{
    bg_rcpt_rec a, b;
    int64_t purge;
    bg_bounce_event ev1 = bounce_at(T0), ev2 = bounce_at(T0 + 10 * DAY);

    bg_policy_bounce(NULL, &a, &ev1, &purge);
    bg_policy_bounce(&a, &b, &ev2, &purge);
    ck_assert(bg_policy_rcpt_blacklisted(&b, T0 + 14 * DAY + 1));
    ck_assert(bg_policy_rcpt_blacklisted(&b, T0 + 24 * DAY - 1));
    ck_assert(!bg_policy_rcpt_blacklisted(&b, T0 + 24 * DAY));
    ck_assert_int_eq(b.bounce_count, 2);
    ck_assert_int_eq(b.first_bounce, T0);
    ck_assert_int_eq(b.last_bounce, T0 + 10 * DAY);
}
END_TEST

START_TEST(late_old_bounce_never_shortens)
{
    bg_rcpt_rec a, b;
    int64_t purge;
    bg_bounce_event recent = bounce_at(T0 + 5 * DAY), old = bounce_at(T0);

    bg_policy_bounce(NULL, &a, &recent, &purge);
    bg_policy_bounce(&a, &b, &old, &purge);
    ck_assert_int_eq(b.expires, T0 + 19 * DAY);
    ck_assert_int_eq(b.first_bounce, T0);
    ck_assert_int_eq(b.last_bounce, T0 + 5 * DAY);
}
END_TEST

START_TEST(bounce_after_expiry_blocks_again)
{
    bg_rcpt_rec a, b;
    int64_t purge;
    bg_bounce_event ev1 = bounce_at(T0), ev2 = bounce_at(T0 + 30 * DAY);

    bg_policy_bounce(NULL, &a, &ev1, &purge);
    ck_assert(!bg_policy_rcpt_blacklisted(&a, T0 + 30 * DAY));
    bg_policy_bounce(&a, &b, &ev2, &purge);
    ck_assert(bg_policy_rcpt_blacklisted(&b, T0 + 30 * DAY));
    ck_assert(bg_policy_rcpt_blacklisted(&b, T0 + 44 * DAY - 1));
}
END_TEST

START_TEST(unblock_releases_and_grace_prevents_reblock)
{
    bg_rcpt_rec a, b, c, d;
    int64_t purge;
    bg_bounce_event ev1 = bounce_at(T0), ev2 = bounce_at(T0 + DAY + 10),
                    ev3 = bounce_at(T0 + 3 * DAY);

    bg_policy_bounce(NULL, &a, &ev1, &purge);
    ck_assert_int_eq(bg_policy_unblock(&a, &b, T0 + DAY, 2 * DAY, 90 * DAY, &purge), 1);
    ck_assert(!bg_policy_rcpt_blacklisted(&b, T0 + DAY));
    bg_policy_bounce(&b, &c, &ev2, &purge); /* inside grace */
    ck_assert(!bg_policy_rcpt_blacklisted(&c, T0 + DAY + 10));
    ck_assert_int_eq(c.bounce_count, 2);
    bg_policy_bounce(&c, &d, &ev3, &purge); /* after grace */
    ck_assert(bg_policy_rcpt_blacklisted(&d, T0 + 3 * DAY));
}
END_TEST

START_TEST(unblock_of_unknown_does_nothing)
{
    bg_rcpt_rec n;
    int64_t purge;

    ck_assert_int_eq(bg_policy_unblock(NULL, &n, T0, 0, 0, &purge), 0);
}
END_TEST

START_TEST(manual_block_for_duration)
{
    bg_rcpt_rec n;
    int64_t purge;

    bg_policy_block(NULL, &n, T0, 30 * DAY, "asked by customer", 0, &purge);
    ck_assert(bg_policy_rcpt_blacklisted(&n, T0 + 30 * DAY - 1));
    ck_assert(!bg_policy_rcpt_blacklisted(&n, T0 + 30 * DAY));
    ck_assert_str_eq(n.reason, "manual");
}
END_TEST

START_TEST(sender_blocked_at_limit)
{
    ck_assert(!bg_policy_sender_blocked(9, 10));
    ck_assert(bg_policy_sender_blocked(10, 10));
    ck_assert(bg_policy_sender_blocked(11, 10));
    ck_assert(!bg_policy_sender_blocked(1000, 0)); /* 0 = never */
}
END_TEST

/* Reserve one message at `now` starting from *rec; returns granted. */
static bool
send_one(bg_sender_rec *rec, bool *have, int64_t now, long limit)
{
    bg_sender_rec next;
    bool granted;
    int64_t ws, purge;

    bg_policy_quota_reserve(*have ? rec : NULL, &next, now, limit, DAY, 1, &granted, &ws,
                            &purge);
    *rec = next;
    *have = true;
    return granted;
}

START_TEST(quota_100th_accepted_101st_refused)
{
    bg_sender_rec r;
    bool have = false;

    for (int i = 1; i <= 100; i++)
        ck_assert_msg(send_one(&r, &have, T0 + i, 100), "message %d refused", i);
    ck_assert(!send_one(&r, &have, T0 + 101, 100));
    ck_assert(bg_policy_quota_exhausted(&r, T0 + 102, 100, DAY));
    ck_assert_int_eq(r.count, 100);
    ck_assert_int_eq(r.refused, 1);
}
END_TEST

START_TEST(quota_window_resets_24h_after_first_message)
{
    bg_sender_rec r;
    bool have = false;
    int64_t first = T0 + 5 * 3600; /* not midnight */

    ck_assert(send_one(&r, &have, first, 2));
    ck_assert(send_one(&r, &have, first + 20 * 3600, 2));
    ck_assert(!send_one(&r, &have, first + DAY - 1, 2));
    /* fixed window: exactly 24 h after the FIRST message, not after the last */
    ck_assert(send_one(&r, &have, first + DAY, 2));
    ck_assert_int_eq(r.window_start, first + DAY);
    ck_assert(send_one(&r, &have, first + DAY + 1, 2));
    ck_assert(!send_one(&r, &have, first + DAY + 2, 2));
}
END_TEST

START_TEST(quota_not_sliding)
{
    bg_sender_rec r;
    bool have = false;

    /* a sliding window would still count the message of first+23h at first+25h */
    ck_assert(send_one(&r, &have, T0, 2));
    ck_assert(send_one(&r, &have, T0 + 23 * 3600, 2));
    ck_assert(send_one(&r, &have, T0 + 25 * 3600, 2));
    ck_assert(send_one(&r, &have, T0 + 25 * 3600 + 1, 2));
}
END_TEST

/* Messages in flight (held at RCPT TO, counted at their end) fill the
 * quota as counted ones do, in the current window only; a refusal is counted
 * only when the quota is full with them. */
START_TEST(quota_full_counts_messages_in_flight)
{
    bg_sender_rec r, n;
    bool granted;
    int64_t ws, purge = 0;

    ck_assert(!bg_policy_quota_full(NULL, T0, 3, DAY, 2));
    ck_assert(bg_policy_quota_full(NULL, T0, 3, DAY, 3));
    ck_assert(!bg_policy_quota_full(NULL, T0, 0, DAY, 1000)); /* no quota */
    bg_policy_quota_reserve(NULL, &r, T0, 3, DAY, 2, &granted, &ws, &purge);
    ck_assert(granted);
    ck_assert(!bg_policy_quota_full(&r, T0 + 1, 3, DAY, 0));
    ck_assert(bg_policy_quota_full(&r, T0 + 1, 3, DAY, 1));
    ck_assert(!bg_policy_quota_exhausted(&r, T0 + 1, 3, DAY));
    ck_assert(!bg_policy_quota_full(&r, T0 + DAY, 3, DAY, 1)); /* a new window */
    ck_assert_int_eq(bg_policy_quota_refused(&r, &n, T0 + 2, 3, DAY, 0, &purge), 0);
    ck_assert_int_eq(bg_policy_quota_refused(&r, &n, T0 + 2, 3, DAY, 1, &purge), 1);
    ck_assert_uint_eq(n.refused, 1);
    ck_assert_uint_eq(n.count, 2);
    ck_assert_int_eq(n.last_seen, T0 + 2);
    ck_assert_int_eq(purge, T0 + DAY + DAY);
}
END_TEST

START_TEST(quota_zero_means_unlimited)
{
    bg_sender_rec r;
    bool have = false;

    for (int i = 0; i < 1000; i++)
        ck_assert(send_one(&r, &have, T0 + i, 0));
}
END_TEST

START_TEST(replies_match_design)
{
    bg_reply r = bg_policy_reply(BG_VERDICT_BLACKLISTED, cfg);
    ck_assert_str_eq(r.rcode, "550");
    ck_assert_str_eq(r.xcode, "5.7.1");
    ck_assert_str_eq(r.text,
                     "Email send failed. Recipient is blacklisted due to bounce messages.");
    r = bg_policy_reply(BG_VERDICT_QUOTA, cfg);
    ck_assert_str_eq(r.rcode, "450");
    ck_assert_str_eq(r.xcode, "4.7.1");
    r = bg_policy_reply(BG_VERDICT_BAD_ADDRESS, cfg);
    ck_assert_str_eq(r.xcode, "5.1.3");
    r = bg_policy_reply(BG_VERDICT_BAD_DOMAIN, cfg);
    ck_assert_str_eq(r.xcode, "5.1.2");
    r = bg_policy_reply(BG_VERDICT_SENDER_BLOCKED, cfg);
    ck_assert_str_eq(r.text,
                     "Your appliance is not allowed to send emails due to too many bounced "
                     "emails.");
    r = bg_policy_reply(BG_VERDICT_STORE_ERROR, cfg);
    ck_assert_str_eq(r.rcode, "451");
    cfg->blacklist_permanent = false;
    r = bg_policy_reply(BG_VERDICT_BLACKLISTED, cfg);
    ck_assert_str_eq(r.rcode, "450");
}
END_TEST

/* Who may tell us a recipient bounced: each row could go the other way. */
static const struct trust_case {
    const char *name;
    bg_dsn_trust mode;
    bg_bounce_origin o;
    bg_trust_answer want;
} trust_cases[] = {
    {"token bound to the recipient", BG_TRUST_CORRELATED, {.token_names_rcpt = true},
     BG_TRUST_YES},
    {"only recipient of a recorded message", BG_TRUST_CORRELATED,
     {.message_found = true, .rcpt_of_message = true, .message_rcpts = 1}, BG_TRUST_YES},
    {"one of several, host unknown", BG_TRUST_CORRELATED,
     {.message_found = true, .rcpt_of_message = true, .message_rcpts = 2}, BG_TRUST_NO},
    {"one of several, host to be asked", BG_TRUST_CORRELATED,
     {.message_found = true, .rcpt_of_message = true, .message_rcpts = 2, .host_known = true},
     BG_TRUST_ASK_HOST},
    {"one of several, host designated", BG_TRUST_CORRELATED,
     {.message_found = true, .rcpt_of_message = true, .message_rcpts = 2, .host_known = true,
      .host = BG_HOST_DESIGNATED},
     BG_TRUST_YES},
    {"one of several, host not designated", BG_TRUST_CORRELATED,
     {.message_found = true, .rcpt_of_message = true, .message_rcpts = 2, .host_known = true,
      .host = BG_HOST_NOT_DESIGNATED},
     BG_TRUST_NO},
    {"message found, not its recipient", BG_TRUST_CORRELATED,
     {.message_found = true, .message_rcpts = 1, .host_known = true,
      .host = BG_HOST_DESIGNATED},
     BG_TRUST_NO},
    {"nothing on record, correlated", BG_TRUST_CORRELATED,
     {.host_known = true, .host = BG_HOST_DESIGNATED}, BG_TRUST_NO},
    {"nothing on record, spf asks the host", BG_TRUST_SPF, {.host_known = true},
     BG_TRUST_ASK_HOST},
    {"nothing on record, spf, designated", BG_TRUST_SPF,
     {.host_known = true, .host = BG_HOST_DESIGNATED}, BG_TRUST_YES},
    {"nothing on record, spf, no host", BG_TRUST_SPF, {0}, BG_TRUST_NO},
    {"any", BG_TRUST_ANY, {0}, BG_TRUST_YES},
};

START_TEST(bounce_trust)
{
    const struct trust_case *c = &trust_cases[_i];

    ck_assert_msg(bg_policy_bounce_trusted(c->mode, &c->o) == c->want, "%s", c->name);
}
END_TEST

START_TEST(identity_and_exemptions)
{
    char id[300];
    bg_error err;
    bg_config *c = bg_config_parse("t", "trusted_networks = 10.0.0.0/8 2001:db8::/32\n"
                                        "trusted_senders = sasl:backup\n"
                                        "never_blacklist = ceo@example.com @partner.example\n",
                                   &err);

    ck_assert_ptr_nonnull(c);
    bg_policy_sender_identity(BG_IDENTITY_AUTO, "alice", "192.0.2.1", "a@b", id, sizeof(id));
    ck_assert_str_eq(id, "sasl:alice");
    bg_policy_sender_identity(BG_IDENTITY_AUTO, "", "192.0.2.1", "a@b", id, sizeof(id));
    ck_assert_str_eq(id, "ip:192.0.2.1");
    bg_policy_sender_identity(BG_IDENTITY_ENVELOPE, "alice", "192.0.2.1", "a@b", id,
                              sizeof(id));
    ck_assert_str_eq(id, "env:a@b");
    ck_assert(bg_policy_quota_exempt(c, "ip:10.1.2.3", "10.1.2.3"));
    ck_assert(bg_policy_quota_exempt(c, "ip:2001:db8::1", "2001:db8::1"));
    ck_assert(!bg_policy_quota_exempt(c, "ip:11.1.2.3", "11.1.2.3"));
    ck_assert(bg_policy_quota_exempt(c, "sasl:backup", "192.0.2.9"));
    ck_assert(bg_policy_rcpt_exempt(c, "postmaster"));
    ck_assert(bg_policy_rcpt_exempt(c, "ABUSE"));
    ck_assert(!bg_policy_rcpt_exempt(c, "info"));
    ck_assert(bg_policy_never_blacklist(c, "ceo@example.com", "example.com"));
    ck_assert(bg_policy_never_blacklist(c, "x@partner.example", "partner.example"));
    ck_assert(!bg_policy_never_blacklist(c, "x@example.com", "example.com"));
    bg_config_unref(c);
}
END_TEST

/* What a judged failure does: only a permanent failure about the recipient,
 * named at RCPT TO or later, blacklists; the relay's refusals are incidents
 * whatever their class; a delivery report does nothing. */
static const struct decision_case {
    const char *name, *action, *status, *reason;
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    bg_bounce_decision want;
} decision_cases[] = {
    {"dead mailbox at RCPT", "failed", "5.1.1", "userunknown", BG_SCOPE_RECIPIENT,
     BG_STAGE_RCPT, BG_BOUNCE_BLACKLIST},
    {"dead mailbox, stage unknown", "failed", "5.1.1", "userunknown", BG_SCOPE_RECIPIENT,
     BG_STAGE_UNKNOWN, BG_BOUNCE_BLACKLIST},
    {"dead mailbox after DATA", "failed", "5.0.0", "userunknown", BG_SCOPE_RECIPIENT,
     BG_STAGE_DATA, BG_BOUNCE_BLACKLIST},
    {"'unknown' at MAIL FROM is the sender's", "failed", "5.1.1", "userunknown",
     BG_SCOPE_RECIPIENT, BG_STAGE_MAIL, BG_BOUNCE_NOTHING},
    {"refused at connect", "failed", "5.0.0", "userunknown", BG_SCOPE_RECIPIENT,
     BG_STAGE_CONNECT, BG_BOUNCE_NOTHING},
    {"temporary", "delayed", "4.1.1", "userunknown", BG_SCOPE_RECIPIENT, BG_STAGE_RCPT,
     BG_BOUNCE_NOTHING},
    {"a delay warning, whatever its status", "delayed", "5.1.1", "userunknown",
     BG_SCOPE_RECIPIENT, BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
    {"a local command's delay warning", "delayed", "4.3.0", "expired", BG_SCOPE_TRANSIENT,
     BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
    {"4xx even with action failed", "failed", "4.2.2", "mailboxfull", BG_SCOPE_TRANSIENT,
     BG_STAGE_RCPT, BG_BOUNCE_NOTHING},
    {"full mailbox: not in blacklist_reasons", "failed", "5.2.2", "mailboxfull",
     BG_SCOPE_RECIPIENT, BG_STAGE_RCPT, BG_BOUNCE_NOTHING},
    {"relay refused, permanent", "failed", "5.7.1", "blocked", BG_SCOPE_RELAY,
     BG_STAGE_CONNECT, BG_BOUNCE_INCIDENT},
    {"relay refused, deferred", "delayed", "4.7.0", "blocked", BG_SCOPE_RELAY,
     BG_STAGE_MAIL, BG_BOUNCE_INCIDENT},
    {"sender's authentication", "failed", "5.7.26", "authfailure", BG_SCOPE_SENDER,
     BG_STAGE_DATA, BG_BOUNCE_NOTHING},
    {"message content", "failed", "5.7.1", "spamdetected", BG_SCOPE_MESSAGE,
     BG_STAGE_DATA, BG_BOUNCE_NOTHING},
    {"delivered", "delivered", "2.0.0", "delivered", BG_SCOPE_NONE, BG_STAGE_UNKNOWN,
     BG_BOUNCE_NOTHING},
    {"relayed, even naming a relay scope", "relayed", "2.0.0", "blocked", BG_SCOPE_RELAY,
     BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
    /* The MTA's own bounces when no server was reached: a domain that does
     * not exist or has a null MX blacklists; a broken MX (hostunknown, but
     * not about the recipient for good), an MX loop or a connection refused
     * until the queue lifetime ran out does nothing. */
    {"NXDOMAIN", "failed", "5.4.4", "hostunknown", BG_SCOPE_RECIPIENT, BG_STAGE_UNKNOWN,
     BG_BOUNCE_BLACKLIST},
    {"null MX", "failed", "5.1.10", "notaccept", BG_SCOPE_RECIPIENT, BG_STAGE_UNKNOWN,
     BG_BOUNCE_BLACKLIST},
    {"MX host NXDOMAIN", "failed", "5.4.4", "hostunknown", BG_SCOPE_TRANSIENT,
     BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
    {"MX loops back", "failed", "5.4.6", "networkerror", BG_SCOPE_TRANSIENT,
     BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
    {"refused until expiry", "failed", "4.4.1", "expired", BG_SCOPE_TRANSIENT,
     BG_STAGE_UNKNOWN, BG_BOUNCE_NOTHING},
};

START_TEST(bounce_decision)
{
    const struct decision_case *c = &decision_cases[_i];
    bg_bounce_judged j = {c->action, c->status, c->reason, c->scope, c->stage};
    const char *why = NULL;

    ck_assert_msg(bg_policy_bounce_decision(cfg, &j, &why) == c->want, "%s", c->name);
    ck_assert_msg(why != NULL && *why, "%s: no reason given", c->name);
}
END_TEST

START_TEST(import_reasons)
{
    ck_assert_str_eq(bg_policy_import_reason("UserUnknown", NULL), "userunknown");
    ck_assert_str_eq(bg_policy_import_reason("COMPLAINT", NULL), "feedback");
    ck_assert_str_eq(bg_policy_import_reason("Bounce", "5.1.1"), "userunknown");
    ck_assert_str_eq(bg_policy_import_reason(NULL, "5.2.2"), "mailboxfull");
    ck_assert_str_eq(bg_policy_import_reason("whatever", "5.0.0"), "suppressed");
    ck_assert_str_eq(bg_policy_import_reason("BOUNCE", ""), "suppressed");
    /* the code read by the reply classifier's table, not a copy of it */
    ck_assert_str_eq(bg_policy_import_reason(NULL, "5.1.6"), "hasmoved");
    ck_assert_str_eq(bg_policy_import_reason("whatever", "5.7.1"), "blocked");
}
END_TEST

/* One sender's status at the edges of its window and limits: the numbers
 * `bounceguard senders` prints and the two refusals the gate makes. */
START_TEST(sender_status_edges)
{
    bg_config *c;
    bg_error err;
    bg_sender_limits lim;
    bg_sender_status s;
    bg_sender_rec r = {0};

    c = bg_config_parse(
        "t",
        "quota_limit = 3\nsender_bounce_limit = 2\n"
        "trusted_networks = 10.0.0.0/8\n"
        "sender_override = sasl:free quota_limit=0 sender_bounce_limit=0\n",
        &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    lim = bg_policy_sender_limits(c, "ip:192.0.2.1", NULL);
    ck_assert_int_eq(lim.quota_limit, 3);
    ck_assert_int_eq(lim.bounce_limit, 2);
    ck_assert(!lim.quota_exempt);
    ck_assert(bg_policy_sender_limits(c, "ip:10.1.2.3", NULL).quota_exempt);
    ck_assert(!bg_policy_sender_limits(c, "sasl:x", NULL).quota_exempt);
    ck_assert(bg_policy_sender_limits(c, "sasl:x", "10.1.2.3").quota_exempt);

    /* no record: nothing used, nothing refused */
    bg_policy_sender_status(&lim, NULL, 0, T0, DAY, &s);
    ck_assert(!s.found && !s.window_open && !s.over_quota && !s.blocked);
    ck_assert_int_eq(s.left, 3);
    /* three of three used: over quota until the window ends, not a second later */
    r.window_start = T0;
    r.count = 3;
    bg_policy_sender_status(&lim, &r, 1, T0 + DAY - 1, DAY, &s);
    ck_assert(s.found && s.window_open && s.over_quota && !s.blocked);
    ck_assert_int_eq(s.used, 3);
    ck_assert_int_eq(s.left, 0);
    ck_assert_int_eq(s.window_reset, T0 + DAY);
    bg_policy_sender_status(&lim, &r, 2, T0 + DAY, DAY, &s);
    ck_assert(!s.window_open && !s.over_quota && s.blocked);
    ck_assert_int_eq(s.used, 0);
    ck_assert_int_eq(s.window_reset, 0);
    /* exempt or without limits: never refused */
    lim.quota_exempt = true;
    bg_policy_sender_status(&lim, &r, 1, T0 + 1, DAY, &s);
    ck_assert(!s.over_quota && s.window_open);
    lim = bg_policy_sender_limits(c, "sasl:free", NULL);
    bg_policy_sender_status(&lim, &r, 50, T0 + 1, DAY, &s);
    ck_assert(!s.over_quota && !s.blocked);
    ck_assert_int_eq(s.quota_limit, 0);
    ck_assert_int_eq(s.bounce_limit, 0);
    bg_config_unref(c);
}
END_TEST

/* Sender identities as an operator types them, filed as the gate files them. */
static const struct {
    const char *in, *want; /* want NULL: refused */
} identity_cases[] = {
    {"ip:192.0.2.1", "ip:192.0.2.1"},
    {"ip:2001:DB8:0:0::1", "ip:2001:db8::1"},
    {"ip:192.0.2.256", NULL},
    {"sasl:alice", "sasl:alice"},
    {"sasl:", NULL},
    {"sasl:a\tb", NULL},
    {"env:Alice@Example.COM", "env:alice@example.com"},
    {"env:<>", "env:<>"},
    {"env:not an address", NULL},
    {"alice", NULL},
};

START_TEST(identity_parse)
{
    char out[300];
    bg_error err;
    int rc = bg_policy_identity_parse(identity_cases[_i].in, out, sizeof(out), &err);

    if (identity_cases[_i].want == NULL) {
        ck_assert_msg(rc < 0, "%s: accepted as %s", identity_cases[_i].in, out);
        ck_assert(err.msg[0] != '\0');
    } else {
        ck_assert_msg(rc == 0, "%s: %s", identity_cases[_i].in, err.msg);
        ck_assert_str_eq(out, identity_cases[_i].want);
    }
}
END_TEST

START_TEST(rcpt_state_and_private_blacklists)
{
    bg_rcpt_rec r;
    int64_t purge;
    bg_bounce_event ev = bounce_at(T0);

    ck_assert_int_eq(bg_policy_bounce(NULL, &r, &ev, &purge), 1);
    ck_assert_str_eq(bg_policy_rcpt_state_name(&r, T0 + 14 * DAY - 1), "blacklisted");
    ck_assert_str_eq(bg_policy_rcpt_state_name(&r, T0 + 14 * DAY), "expired");
    r.state = BG_RCPT_UNBLOCKED;
    ck_assert_str_eq(bg_policy_rcpt_state_name(&r, T0), "unblocked");
    ck_assert(bg_policy_private_blacklist_reason("Blocked"));
    ck_assert(bg_policy_private_blacklist_reason("authfailure"));
    ck_assert(!bg_policy_private_blacklist_reason("userunknown"));
    ck_assert(!bg_policy_private_blacklist_reason(NULL));

    char buf[256];
    ck_assert_ptr_nonnull(strstr(bg_policy_rcpt_rule(&r, buf, sizeof(buf)), "5.1.1"));
    bg_strlcpy(r.source, "manual", sizeof(r.source));
    ck_assert_str_eq(bg_policy_rcpt_rule(&r, buf, sizeof(buf)),
                     "blocked by hand (bounceguard block)");
    memset(&r, 0, sizeof(r));
    ck_assert_str_eq(bg_policy_rcpt_rule(&r, buf, sizeof(buf)), "");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("rules");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, blacklist_holds_14_days_minus_one_second);
    tcase_add_test(tc, new_bounce_extends_period);
    tcase_add_test(tc, late_old_bounce_never_shortens);
    tcase_add_test(tc, bounce_after_expiry_blocks_again);
    tcase_add_test(tc, unblock_releases_and_grace_prevents_reblock);
    tcase_add_test(tc, unblock_of_unknown_does_nothing);
    tcase_add_test(tc, manual_block_for_duration);
    tcase_add_test(tc, sender_blocked_at_limit);
    tcase_add_test(tc, quota_100th_accepted_101st_refused);
    tcase_add_test(tc, quota_window_resets_24h_after_first_message);
    tcase_add_test(tc, quota_not_sliding);
    tcase_add_test(tc, quota_full_counts_messages_in_flight);
    tcase_add_test(tc, quota_zero_means_unlimited);
    tcase_add_test(tc, replies_match_design);
    tcase_add_loop_test(tc, bounce_trust, 0, sizeof(trust_cases) / sizeof(trust_cases[0]));
    tcase_add_test(tc, identity_and_exemptions);
    tcase_add_loop_test(tc, bounce_decision, 0,
                        sizeof(decision_cases) / sizeof(decision_cases[0]));
    tcase_add_test(tc, import_reasons);
    tcase_add_test(tc, sender_status_edges);
    tcase_add_loop_test(tc, identity_parse, 0,
                        sizeof(identity_cases) / sizeof(identity_cases[0]));
    tcase_add_test(tc, rcpt_state_and_private_blacklists);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
