/*
 * test_learn — what a bounce does to the store: a table of named cases, each
 * on a fresh real Berkeley DB store in a temp dir, with one message recorded
 * the way the milter records it (bg_gate_record).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/gate.h"
#include "bounceguard/learn.h"
#include "bounceguard/metrics.h"
#include "bounceguard/mtalog.h"
#include "bounceguard/verp.h"

#include "store_fixture.h"

#define DAY 86400
#define T0 1700000000

static char home[256];
static bg_store *st;

static void
setup(void)
{
    st = store_fixture_open(home, sizeof(home), "learn");
}

static void
teardown(void)
{
    st = store_fixture_close(st, home);
}

static bg_config *
config(const char *text)
{
    bg_error err;
    bg_config *c = bg_config_parse("test", text ? text : "", &err);

    ck_assert_msg(c != NULL, "config: %s", err.msg);
    return c;
}

/* The messages the relay sent from 192.0.2.10: orig-1 (4QID1AB) to a@ alone,
 * orig-2 (4QID2CD) to a@ and b@example.com. */
static void
seed(const bg_config *cfg)
{
    bg_gate_txn t;
    bg_error err;

    bg_gate_begin(&t, cfg, NULL, "192.0.2.10", "<app@customer.example>");
    ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<orig-1@relay.example>", "4QID1AB",
                                    "a@example.com\n", T0 - 3600, &err),
                     0);
    ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<orig-2@relay.example>", "4QID2CD",
                                    "a@example.com\nb@example.com\n", T0 - 3600, &err),
                     0);
}

typedef struct dsn_case {
    const char *name;
    const char *conf;     /* config text */
    const char *orig_mid; /* Message-ID of the returned original (no brackets) */
    const char *queue_id;
    const char *rcpt;
    const char *action;
    const char *status;
    const char *reason;
    const char *rbl;
    int times;             /* how often the same DSN is learned */
    bool verp;             /* arrived at a verified VERP address naming rcpt */
    bg_learn_outcome want; /* outcome of the first time */
    bool want_blacklisted; /* is rcpt blacklisted at T0 afterwards */
    int want_incidents;
} dsn_case;

static const dsn_case dsn_cases[] = {
    {"correlated hard bounce blacklists", NULL, "orig-1@relay.example", NULL,
     "A@Example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_BLACKLISTED, true, 0},
    {"correlated by queue id", NULL, NULL, "4QID1AB", "a@example.com", "failed", "5.1.1",
     "userunknown", NULL, 1, false, BG_LEARN_BLACKLISTED, true, 0},
    /* orig-2 went to a@ and b@: either could forge a DSN about the other with
     * its Message-ID; without a host of example.com behind it, not believed */
    {"co-recipient of a message of several is not enough", NULL, "orig-2@relay.example",
     NULL, "b@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_UNTRUSTED, false, 0},
    {"co-recipient by queue id neither", NULL, NULL, "4QID2CD", "a@example.com", "failed",
     "5.1.1", "userunknown", NULL, 1, false, BG_LEARN_UNTRUSTED, false, 0},
    {"dsn_trust any believes a co-recipient", "dsn_trust = any\n", "orig-2@relay.example",
     NULL, "b@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_BLACKLISTED, true, 0},
    {"soft bounce mailboxfull does not", NULL, "orig-1@relay.example", NULL,
     "a@example.com", "failed", "5.2.2", "mailboxfull", NULL, 1, false,
     BG_LEARN_IGNORED_REASON, false, 0},
    {"temporary userunknown does not", NULL, "orig-1@relay.example", NULL,
     "a@example.com", "delayed", "4.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_IGNORED_REASON, false, 0},
    {"rbl bounce is an incident, no blacklist", NULL, "orig-1@relay.example", NULL,
     "a@example.com", "failed", "5.7.1", "userunknown", "zen.spamhaus.org", 1, false,
     BG_LEARN_INCIDENT, false, 1},
    {"forged uncorrelated bounce does nothing", NULL, "forged@elsewhere.example", NULL,
     "a@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_UNTRUSTED, false, 0},
    {"forged rbl bounce records no incident", NULL, NULL, NULL, "a@example.com", "failed",
     "5.7.1", "blocked", "bl.spamcop.net", 1, false, BG_LEARN_UNTRUSTED, false, 0},
    {"recipient never sent to does nothing", NULL, "orig-1@relay.example", NULL,
     "victim@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_UNTRUSTED, false, 0},
    {"same dsn twice counts once", NULL, "orig-1@relay.example", NULL, "a@example.com",
     "failed", "5.1.1", "userunknown", NULL, 2, false, BG_LEARN_BLACKLISTED, true, 0},
    {"dsn_trust any blacklists uncorrelated", "dsn_trust = any\n", NULL, NULL,
     "victim@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_BLACKLISTED, true, 0},
    {"dsn_trust spf without a client address does not", "dsn_trust = spf\n", NULL, NULL,
     "victim@example.com", "failed", "5.1.1", "userunknown", NULL, 1, false,
     BG_LEARN_UNTRUSTED, false, 0},
    {"never_blacklist is honoured", "never_blacklist = @example.com\n",
     "orig-1@relay.example", NULL, "a@example.com", "failed", "5.1.1", "userunknown",
     NULL, 1, false, BG_LEARN_NEVER, false, 0},
    {"reason outside blacklist_reasons does not", "blacklist_reasons = hostunknown\n",
     "orig-1@relay.example", NULL, "a@example.com", "failed", "5.1.1", "userunknown",
     NULL, 1, false, BG_LEARN_IGNORED_REASON, false, 0},
    {"verified verp token is trusted without a record", NULL, NULL, NULL,
     "far@example.org", "failed", "5.1.1", "userunknown", NULL, 1, true,
     BG_LEARN_BLACKLISTED, true, 0},
    {"not an address", NULL, "orig-1@relay.example", NULL, "not an address", "failed",
     "5.1.1", "userunknown", NULL, 1, false, BG_LEARN_BAD_ADDRESS, false, 0},
    /* Success reports (RFC 3464 delivered/relayed/expanded, Amazon SES
     * Delivery): never a blacklisting, even when the configuration lists
     * the reason. */
    {"delivered success report does not", NULL, "orig-1@relay.example", NULL,
     "a@example.com", "delivered", "2.0.0", "delivered", NULL, 1, false,
     BG_LEARN_IGNORED_REASON, false, 0},
    {"relayed report with delivered listed does not",
     "blacklist_reasons = delivered, userunknown\n", "orig-1@relay.example", NULL,
     "a@example.com", "relayed", "2.0.0", "delivered", NULL, 1, false,
     BG_LEARN_IGNORED_REASON, false, 0},
    {"expanded report does not", "blacklist_reasons = delivered\n", "orig-1@relay.example",
     NULL, "a@example.com", "expanded", "2.0.0", "delivered", NULL, 1, false,
     BG_LEARN_IGNORED_REASON, false, 0},
};

static int
count_incident(const bg_incident_rec *rec, void *arg)
{
    (*(int *)arg) += (int)rec->count;
    return 0;
}

START_TEST(dsn_table)
{
    const dsn_case *c = &dsn_cases[_i];
    bg_config *cfg = config(c->conf);
    bg_dsn_rcpt r = {0};
    bg_dsn_report rep = {0};
    bg_learn_source src = {0};
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;
    bg_addr a;
    bg_lookup l;
    int incidents = 0;
    bool parsed = bg_addr_parse(c->rcpt, &a, &err) == BG_ADDR_OK;

    seed(cfg);
    r.recipient = (char *)c->rcpt;
    r.action = (char *)c->action;
    r.status = (char *)c->status;
    r.reason = c->reason;
    r.hard = c->status[0] == '5';
    r.remote_mta = (char *)"mx.example.com";
    r.diagnostic = (char *)"550 5.1.1 no such user";
    r.rbl = (char *)c->rbl;
    rep.kind = BG_DSN_RFC3464;
    rep.rcpts = &r;
    rep.nrcpts = 1;
    rep.message_id = (char *)"dsn-1@mx.example.com";
    rep.orig_message_id = (char *)c->orig_mid;
    rep.queue_id = (char *)c->queue_id;
    src.origin = "test";
    if (c->verp) {
        src.verp_verified = true;
        src.verp_sender_id = "ip:198.51.100.7";
        src.verp_rcpt = c->rcpt;
    }
    for (int i = 0; i < c->times; i++) {
        ck_assert_msg(bg_learn_dsn(st, cfg, &rep, NULL, 0, &src, T0, &res, &err) == 0,
                      "%s: %s", c->name, err.msg);
        ck_assert_int_eq(res.nrcpts, 1);
        ck_assert_msg(res.rcpts[0].outcome == (i == 0 ? c->want : BG_LEARN_DUPLICATE),
                      "%s (time %d): got %s", c->name, i + 1,
                      bg_learn_outcome_name(res.rcpts[0].outcome));
        ck_assert(res.duplicate == (i > 0));
        bg_learn_result_clear(&res);
    }
    l = parsed ? bg_store_rcpt_get(st, a.canon, &rec, &err) : BG_NOTFOUND;
    ck_assert_int_ne(l, BG_LOOKUP_ERROR);
    ck_assert_msg((l == BG_FOUND && bg_policy_rcpt_blacklisted(&rec, T0)) ==
                      c->want_blacklisted,
                  "%s: blacklisted?", c->name);
    if (c->want_blacklisted) {
        ck_assert_int_eq(rec.bounce_count, 1);
        ck_assert_int_eq(rec.expires, T0 + 14 * DAY);
        ck_assert_str_eq(rec.reason, c->reason);
        ck_assert_str_eq(rec.status, c->status);
        ck_assert_str_eq(rec.source, "dsn");
        if (c->verp)
            ck_assert_str_eq(rec.last_sender, "ip:198.51.100.7");
        else if (cfg->dsn_trust != BG_TRUST_ANY)
            ck_assert_str_eq(rec.last_sender, "ip:192.0.2.10");
    }
    ck_assert_int_eq(bg_store_incident_foreach(st, count_incident, &incidents, &err), 0);
    ck_assert_int_eq(incidents, c->want_incidents);
    bg_config_unref(cfg);
}
END_TEST

START_TEST(dsn_without_message_id_is_deduped_by_content)
{
    bg_config *cfg = config(NULL);
    bg_dsn_rcpt r = {.recipient = (char *)"a@example.com",
                     .action = (char *)"failed",
                     .status = (char *)"5.1.1",
                     .reason = "userunknown"};
    bg_dsn_report rep = {.kind = BG_DSN_TEXT,
                         .rcpts = &r,
                         .nrcpts = 1,
                         .orig_message_id = (char *)"orig-1@relay.example"};
    const char raw1[] = "From: MAILER-DAEMON\n\nUser unknown: a@example.com\n";
    const char raw2[] = "From: MAILER-DAEMON\n\nUser unknown: a@example.com (again)\n";
    const char raw3[] = "From: MAILER-DAEMON\n\nUser unknown: a@example.com (orig-3)\n";
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    seed(cfg);
    ck_assert_int_eq(
        bg_learn_dsn(st, cfg, &rep, raw1, strlen(raw1), NULL, T0, &res, &err), 0);
    ck_assert(strncmp(res.id, "dsn:sha256:", 11) == 0);
    ck_assert_int_eq(res.blacklisted, 1);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(
        bg_learn_dsn(st, cfg, &rep, raw1, strlen(raw1), NULL, T0 + 5, &res, &err), 0);
    ck_assert(res.duplicate);
    bg_learn_result_clear(&res);
    /* another bounce of the same message for the same recipient (the DSN
     * and, say, a copy through another intake) counts once */
    ck_assert_int_eq(
        bg_learn_dsn(st, cfg, &rep, raw2, strlen(raw2), NULL, T0 + 60, &res, &err), 0);
    ck_assert_int_eq(res.blacklisted, 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_DUPLICATE);
    bg_learn_result_clear(&res);
    /* the bounce of another message a day later extends the period */
    bg_gate_txn t;
    bg_gate_begin(&t, cfg, NULL, "192.0.2.10", "<app@customer.example>");
    ck_assert_int_eq(bg_gate_record(st, cfg, &t, "<orig-3@relay.example>", "4QID3EF",
                                    "a@example.com\n", T0, &err),
                     0);
    rep.orig_message_id = (char *)"orig-3@relay.example";
    ck_assert_int_eq(
        bg_learn_dsn(st, cfg, &rep, raw3, strlen(raw3), NULL, T0 + DAY, &res, &err), 0);
    ck_assert_int_eq(res.blacklisted, 1);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_FOUND);
    ck_assert_int_eq(rec.bounce_count, 2);
    ck_assert_int_eq(rec.expires, T0 + DAY + 14 * DAY);
    bg_config_unref(cfg);
}
END_TEST

START_TEST(verp_message_token_is_not_enough_for_a_co_recipient)
{
    bg_config *cfg = config(NULL);
    bg_dsn_rcpt r[2] = {
        {.recipient = (char *)"victim@example.com",
         .action = (char *)"failed",
         .status = (char *)"5.1.1",
         .reason = "userunknown"},
        {.recipient = (char *)"b@example.com",
         .action = (char *)"failed",
         .status = (char *)"5.1.1",
         .reason = "userunknown"},
    };
    bg_dsn_report rep = {.kind = BG_DSN_RFC3464,
                         .rcpts = r,
                         .nrcpts = 2,
                         .message_id = (char *)"dsn-2@mx"};
    bg_learn_source src = {.verp_verified = true,
                           .verp_sender_id = "ip:192.0.2.10",
                           .verp_message = "4QID2CD",
                           .origin = "test"};
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    /* A message-bound token of a message to a@ and b@: a@ saw it and could put
     * it on a forged DSN about b@.  Nothing is believed without a host of
     * b@'s domain behind the DSN (no client address here), and a recipient
     * the message never had is not even a candidate. */
    seed(cfg);
    ck_assert_int_eq(bg_learn_dsn(st, cfg, &rep, NULL, 0, &src, T0, &res, &err), 0);
    ck_assert(res.message_found);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_UNTRUSTED);
    ck_assert_int_eq(res.rcpts[1].outcome, BG_LEARN_UNTRUSTED);
    ck_assert_int_eq(res.blacklisted, 0);
    ck_assert_int_eq(res.untrusted, 2);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "victim@example.com", &rec, &err),
                     BG_NOTFOUND);
    ck_assert_int_eq(bg_store_rcpt_get(st, "b@example.com", &rec, &err), BG_NOTFOUND);
    bg_config_unref(cfg);
}
END_TEST

static bg_mtalog_event
log_event(const char *qid, const char *rcpt, const char *dsn, const char *reply,
          int64_t t)
{
    bg_mtalog_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = BG_MTALOG_BOUNCED;
    ev.mta = BG_MTA_POSTFIX;
    ev.time = t;
    bg_strlcpy(ev.program, "postfix/smtp", sizeof(ev.program));
    bg_strlcpy(ev.queue_id, qid, sizeof(ev.queue_id));
    bg_strlcpy(ev.recipient, rcpt, sizeof(ev.recipient));
    bg_strlcpy(ev.dsn, dsn, sizeof(ev.dsn));
    bg_strlcpy(ev.status, "bounced", sizeof(ev.status));
    bg_strlcpy(ev.relay, "mx.example.com", sizeof(ev.relay));
    bg_strlcpy(ev.reply, reply, sizeof(ev.reply));
    ev.remote_reply = true;
    return ev;
}

START_TEST(log_bounce_is_learned_once)
{
    bg_config *cfg = config(NULL);
    bg_mtalog_event ev =
        log_event("4QID1AB", "<A@example.com>", "5.1.1",
                  "550 5.1.1 <a@example.com>: Recipient address rejected: "
                  "User unknown in virtual mailbox table",
                  T0 - 60);
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &ev, T0, &res, &err), 0);
    ck_assert_int_eq(res.nrcpts, 1);
    ck_assert_str_eq(bg_learn_outcome_name(res.rcpts[0].outcome), "blacklisted");
    ck_assert(res.rcpts[0].correlated);
    ck_assert_str_eq(res.rcpts[0].sender_id, "ip:192.0.2.10");
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &ev, T0 + 10, &res, &err), 0);
    ck_assert(res.duplicate);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_FOUND);
    ck_assert_int_eq(rec.bounce_count, 1);
    ck_assert_str_eq(rec.source, "log");
    ck_assert_int_eq(rec.last_bounce, T0 - 60);
    ck_assert_int_eq(rec.expires, T0 - 60 + 14 * DAY);
    bg_config_unref(cfg);
}
END_TEST

START_TEST(log_rbl_and_deferred_do_not_blacklist)
{
    bg_config *cfg = config(NULL);
    bg_mtalog_event rbl =
        log_event("4QID1AB", "a@example.com", "5.7.1",
                  "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
                  "zen.spamhaus.org",
                  T0);
    bg_mtalog_event soft =
        log_event("4QID2CD", "b@example.com", "4.2.2", "452 4.2.2 Mailbox full", T0);
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;
    int incidents = 0;

    soft.kind = BG_MTALOG_DEFERRED;
    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &rbl, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_INCIDENT);
    ck_assert_str_eq(res.rcpts[0].list, "zen.spamhaus.org");
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &soft, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_IGNORED_REASON);
    bg_learn_result_clear(&res);
    /* a deferral that refuses the relay is an incident all the same */
    bg_mtalog_event tss = log_event("4QID2CD", "b@example.com", "4.7.0",
                                    "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily "
                                    "deferred due to unexpected volume or user complaints",
                                    T0);
    tss.kind = BG_MTALOG_DEFERRED;
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &tss, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_INCIDENT);
    ck_assert(strstr(res.rcpts[0].list, "TSS04") != NULL);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_rcpt_get(st, "b@example.com", &rec, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_incident_foreach(st, count_incident, &incidents, &err), 0);
    ck_assert_int_eq(incidents, 2);
    bg_config_unref(cfg);
}
END_TEST

static int
keep_incident(const bg_incident_rec *rec, void *arg)
{
    *(bg_incident_rec *)arg = *rec;
    return 0;
}

/* An incident is dated by its log line, not by when the watcher read it
 * (a watcher catching up on an old log), and lines read out of order make
 * one record spanning them, with the latest one's details. */
START_TEST(log_incident_takes_the_line_time)
{
    bg_config *cfg = config(NULL);
    const char *reply = "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked "
                        "using zen.spamhaus.org";
    bg_mtalog_event later = log_event("4QID1AB", "a@example.com", "5.7.1", reply, T0);
    bg_mtalog_event earlier = log_event("4QID2CD", "b@example.com", "5.7.1", reply, T0 - 86400);
    bg_incident_rec inc;
    bg_learn_result res;
    bg_error err;

    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &later, T0 + 3 * 86400, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_INCIDENT);
    bg_learn_result_clear(&res);
    memset(&inc, 0, sizeof(inc));
    ck_assert_int_eq(bg_store_incident_foreach(st, keep_incident, &inc, &err), 0);
    ck_assert_int_eq(inc.first, T0);
    ck_assert_int_eq(inc.last, T0);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &earlier, T0 + 3 * 86400, &res, &err), 0);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_incident_foreach(st, keep_incident, &inc, &err), 0);
    ck_assert_int_eq(inc.count, 2);
    ck_assert_int_eq(inc.first, T0 - 86400);
    ck_assert_int_eq(inc.last, T0);
    ck_assert_str_eq(inc.last_rcpt, "a@example.com");
    bg_config_unref(cfg);
}
END_TEST

/* Sendmail 8.17's delivery lines (as tests/tools/sendmail_samples.sh logged
 * them, queue IDs of the seeded messages): the remote's reply= decides, not
 * the dsn= that Sendmail made up from a bare 550 (5.1.1 "User unknown"). */
static bg_learn_rcpt_result
learn_sendmail_line(const bg_config *cfg, const char *qid, const char *rcpt,
                    const char *tail)
{
    char line[1024];
    bg_mtalog_event ev;
    bg_learn_result res;
    bg_learn_rcpt_result out;
    bg_error err;

    snprintf(
        line, sizeof(line),
        "2023-11-14T22:10:00Z smtest sendmail[9075]: %s: to=<%s>, delay=00:00:00, "
        "xdelay=00:00:00, mailer=relay, pri=30137, relay=[127.0.0.1] [127.0.0.1], %s",
        qid, rcpt, tail);
    ck_assert_int_eq(bg_mtalog_parse(line, strlen(line), T0, NULL, &ev), 1);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &ev, T0, &res, &err), 0);
    ck_assert_int_eq(res.nrcpts, 1);
    out = res.rcpts[0];
    bg_learn_result_clear(&res);
    return out;
}

START_TEST(log_sendmail_reply_decides)
{
    bg_config *cfg = config(NULL);
    bg_learn_rcpt_result r;
    bg_rcpt_rec rec;
    bg_error err;

    seed(cfg);
    r = learn_sendmail_line(
        cfg, "4QID1AB", "a@example.com",
        "dsn=5.1.1, reply=550 Service unavailable; Client host "
        "[192.0.2.25] blocked using zen.spamhaus.org, stat=User unknown");
    ck_assert_int_eq(r.outcome, BG_LEARN_INCIDENT);
    ck_assert_str_eq(r.list, "zen.spamhaus.org");
    r = learn_sendmail_line(
        cfg, "4QID2CD", "b@example.com",
        "dsn=5.1.1, reply=550 Mailbox quota exceeded, stat=User unknown");
    ck_assert_str_eq(r.reason, "mailboxfull");
    ck_assert_str_eq(r.status, "5.0.0");
    ck_assert_int_ne(r.outcome, BG_LEARN_BLACKLISTED);
    r = learn_sendmail_line(
        cfg, "4QID1AB", "a@example.com",
        "dsn=5.2.0, reply=550 User unknown, stat=Service unavailable");
    ck_assert_str_eq(r.reason, "filtered"); /* after DATA: the recipient's filter */
    ck_assert_int_ne(r.outcome, BG_LEARN_BLACKLISTED);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_rcpt_get(st, "b@example.com", &rec, &err), BG_NOTFOUND);
    /* Positive control: a bare 550 that answered RCPT TO (stat=User unknown)
     * and says the mailbox does not exist is a dead recipient. */
    r = learn_sendmail_line(cfg, "4QID2CD", "a@example.com",
                            "dsn=5.1.1, reply=550 No such user here, stat=User unknown");
    ck_assert_str_eq(r.reason, "userunknown");
    ck_assert_int_eq(r.outcome, BG_LEARN_BLACKLISTED);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_FOUND);
    bg_config_unref(cfg);
}
END_TEST

/* Postfix logs a bare reply with dsn=5.0.0 (it adds no detail of its own,
 * seen with a real Postfix 3.7) and the command it answered: "550 No such
 * user here (in reply to RCPT TO command)" is a dead mailbox, the same reply
 * after DATA is not. */
START_TEST(log_postfix_command_counts)
{
    bg_config *cfg = config(NULL);
    bg_mtalog_event data = log_event("4QID2CD", "b@example.com", "5.0.0",
                                     "550 No such user here", T0 - 60);
    bg_mtalog_event rcpt = data;
    bg_learn_result res;
    bg_error err;

    bg_strlcpy(data.command, "end of DATA", sizeof(data.command));
    bg_strlcpy(rcpt.command, "RCPT TO", sizeof(rcpt.command));
    rcpt.time = T0 - 30;
    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &data, T0, &res, &err), 0);
    ck_assert_str_eq(res.rcpts[0].reason, "filtered");
    ck_assert_int_ne(res.rcpts[0].outcome, BG_LEARN_BLACKLISTED);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &rcpt, T0, &res, &err), 0);
    ck_assert_str_eq(res.rcpts[0].reason, "userunknown");
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_BLACKLISTED);
    bg_learn_result_clear(&res);
    bg_config_unref(cfg);
}
END_TEST

/* One failure that reaches two intakes (the log follower reads Postfix's
 * line, the pipe gets the DSN of the same delivery) counts once. */
START_TEST(log_line_and_dsn_of_one_failure_count_once)
{
    bg_config *cfg = config(NULL);
    bg_mtalog_event ev = log_event("4QID1AB", "a@example.com", "5.1.1",
                                   "550 5.1.1 <a@example.com>: User unknown", T0 - 60);
    bg_dsn_rcpt r = {.recipient = (char *)"a@example.com",
                     .action = (char *)"failed",
                     .status = (char *)"5.1.1",
                     .reason = "userunknown"};
    bg_dsn_report rep = {.kind = BG_DSN_RFC3464,
                         .rcpts = &r,
                         .nrcpts = 1,
                         .message_id = (char *)"dsn-of-4QID1AB@relay.example",
                         .orig_message_id = (char *)"orig-1@relay.example"};
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &ev, T0, &res, &err), 0);
    ck_assert_int_eq(res.blacklisted, 1);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_dsn(st, cfg, &rep, NULL, 0, NULL, T0 + 5, &res, &err), 0);
    ck_assert(!res.duplicate); /* a new DSN ... */
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_DUPLICATE); /* ... of a known failure */
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "a@example.com", &rec, &err), BG_FOUND);
    ck_assert_int_eq(rec.bounce_count, 1);
    bg_config_unref(cfg);
}
END_TEST

/* A log line is believed only for a queue ID the milter recorded and one of
 * that message's recipients: anyone can put a line in the log (a forged
 * Message-ID logged by cleanup, logger -t postfix/smtp). */
START_TEST(log_bounce_needs_a_recorded_message)
{
    bg_config *cfg = config(NULL);
    const char *reply = "550 5.1.1 User unknown";
    bg_mtalog_event unknown_qid = log_event("4QIDNONE", "victim@example.com", "5.1.1",
                                            reply, T0 - 60),
                    not_a_rcpt = log_event("4QID1AB", "victim@example.com", "5.1.1",
                                           reply, T0 - 60),
                    no_qid = log_event("", "victim@example.com", "5.1.1", reply, T0 - 60),
                    real = log_event("4QID2CD", "b@example.com", "5.1.1", reply, T0 - 60);
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &unknown_qid, T0, &res, &err), 0);
    ck_assert_int_eq(res.nrcpts, 1);
    ck_assert(!res.message_found);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_UNTRUSTED);
    ck_assert_int_eq(res.untrusted, 1);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &not_a_rcpt, T0, &res, &err), 0);
    ck_assert(res.message_found);
    ck_assert(!res.rcpts[0].correlated);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_UNTRUSTED);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &no_qid, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_UNTRUSTED);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "victim@example.com", &rec, &err),
                     BG_NOTFOUND);
    /* the positive control: the same line for a recorded recipient */
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &real, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_BLACKLISTED);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "b@example.com", &rec, &err), BG_FOUND);
    bg_config_unref(cfg);
}
END_TEST

/* The metrics' counters in the store (metrics.h): a judged bounce by scope
 * and reason, once (not its duplicate); an untrusted one apart. */
typedef struct counter_find {
    const char *name;
    uint64_t value;
} counter_find;

static int
counter_visit(const char *name, uint64_t value, void *arg)
{
    counter_find *f = arg;

    if (strcmp(name, f->name) == 0)
        f->value = value;
    return 0;
}

static uint64_t
counter(const char *name)
{
    counter_find f = {name, 0};
    bg_error err;

    ck_assert_int_eq(bg_store_counter_foreach(st, "", counter_visit, &f, &err), 0);
    return f.value;
}

START_TEST(learned_bounces_are_counted_once)
{
    bg_config *cfg = config(NULL);
    const char *reply = "550 5.1.1 User unknown";
    bg_mtalog_event real = log_event("4QID2CD", "b@example.com", "5.1.1", reply, T0 - 60),
                    forged = log_event("4QIDNONE", "victim@example.com", "5.1.1", reply, T0 - 60),
                    forged2 = log_event("4QIDNONE", "victim2@example.com", "5.1.1", reply, T0 - 60);
    bg_learn_result res;
    bg_error err;
    char name[80];

    seed(cfg);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &real, T0, &res, &err), 0);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_BLACKLISTED);
    bg_metrics_bounce_counter(name, sizeof(name), BG_SCOPE_RECIPIENT, res.rcpts[0].reason);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &real, T0 + 5, &res, &err), 0);
    ck_assert(res.duplicate);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &forged, T0, &res, &err), 0);
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_learn_log_event(st, cfg, &forged2, T0, &res, &err), 0);
    bg_learn_result_clear(&res);
    ck_assert_uint_eq(counter(name), 1);
    ck_assert_uint_eq(counter(BG_METRICS_COUNTER_UNTRUSTED), 2);
    bg_config_unref(cfg);
}
END_TEST

/* log_trust = any: every delivery record counts (mail that never passed the
 * milter: local submission, or older than message_retention). */
START_TEST(log_trust_any_takes_unrecorded_lines)
{
    bg_config *cfg = config("log_trust = any\n");
    bg_mtalog_event ev = log_event("4QIDNONE", "c@example.com", "5.1.1",
                                   "550 5.1.1 User unknown", T0 - 60);
    bg_learn_result res;
    bg_rcpt_rec rec;
    bg_error err;

    ck_assert_int_eq(bg_learn_log_event(st, cfg, &ev, T0, &res, &err), 0);
    ck_assert(!res.message_found);
    ck_assert_int_eq(res.rcpts[0].outcome, BG_LEARN_BLACKLISTED);
    ck_assert_str_eq(res.rcpts[0].sender_id, "");
    bg_learn_result_clear(&res);
    ck_assert_int_eq(bg_store_rcpt_get(st, "c@example.com", &rec, &err), BG_FOUND);
    ck_assert_str_eq(rec.source, "log");
    bg_config_unref(cfg);
}
END_TEST

START_TEST(dsn_ids)
{
    bg_dsn_report rep = {0};
    char id[80], id2[80];
    char longmid[200];

    rep.message_id = (char *)"abc@mx";
    ck_assert_str_eq(bg_learn_dsn_id(&rep, NULL, 0, id, sizeof(id)), "dsn:mid:abc@mx");
    /* one Message-ID, two bounces (dma reuses them): what they return tells */
    rep.orig_message_id = (char *)"m1@app";
    ck_assert_str_eq(bg_learn_dsn_id(&rep, NULL, 0, id, sizeof(id)), "dsn:mid:abc@mx m1@app");
    rep.orig_message_id = (char *)"m2@app";
    ck_assert_str_ne(bg_learn_dsn_id(&rep, NULL, 0, id2, sizeof(id2)), id);
    rep.orig_message_id = NULL;
    memset(longmid, 'x', sizeof(longmid) - 1);
    longmid[sizeof(longmid) - 1] = '\0';
    rep.message_id = longmid;
    ck_assert(
        strncmp(bg_learn_dsn_id(&rep, NULL, 0, id, sizeof(id)), "dsn:midhash:", 12) == 0);
    rep.message_id = NULL;
    bg_learn_dsn_id(&rep, "a", 1, id, sizeof(id));
    bg_learn_dsn_id(&rep, "b", 1, id2, sizeof(id2));
    ck_assert_str_ne(id, id2);
    ck_assert_int_eq(strlen(id), strlen("dsn:sha256:") + 64);
}
END_TEST

START_TEST(verp_return_path_names_the_queue_id)
{
    char secret[300], text[600], rp[300], token[80], key[40];
    bg_config *cfg;
    bg_verp *v;
    bg_error err;
    FILE *fp;

    snprintf(secret, sizeof(secret), "%s/verp.secret", home);
    fp = fopen(secret, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("0123456789abcdef0123456789abcdef\n", fp);
    fclose(fp);
    snprintf(text, sizeof(text),
             "return_path_rewrite = yes\nverp_domain = verp.relay.example\n"
             "verp_secret_file = %s\n",
             secret);
    cfg = config(text);
    ck_assert_int_eq(bg_learn_return_path(cfg, "app@customer.example", "4QID1AB", NULL, T0, rp,
                                          sizeof(rp), &err),
                     1);
    ck_assert_int_eq(
        bg_verp_match(rp, "bounces", "verp.relay.example", token, sizeof(token)), 1);
    v = bg_verp_load(secret, &err);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(bg_verp_verify(v, token, NULL, T0 + 60, 0, key, sizeof(key), NULL),
                     BG_VERP_OK);
    ck_assert_str_eq(key, "4QID1AB");
    bg_verp_free(v);
    /* a bounce keeps its null sender; no queue ID, no token */
    ck_assert_int_eq(bg_learn_return_path(cfg, "<>", "4QID1AB", NULL, T0, rp, sizeof(rp), &err),
                     0);
    ck_assert_int_eq(bg_learn_return_path(cfg, "", "4QID1AB", NULL, T0, rp, sizeof(rp), &err),
                     0);
    ck_assert_int_eq(bg_learn_return_path(cfg, "app@customer.example", "NOQUEUE", NULL, T0, rp,
                                          sizeof(rp), &err),
                     0);
    bg_config_unref(cfg);
    /* off by default */
    cfg = config(NULL);
    ck_assert_int_eq(bg_learn_return_path(cfg, "app@customer.example", "4QID1AB", NULL, T0, rp,
                                          sizeof(rp), &err),
                     0);
    bg_config_unref(cfg);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("learn");
    TCase *tc = tcase_create("store");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, dsn_table, 0,
                        (int)(sizeof(dsn_cases) / sizeof(dsn_cases[0])));
    tcase_add_test(tc, dsn_without_message_id_is_deduped_by_content);
    tcase_add_test(tc, log_line_and_dsn_of_one_failure_count_once);
    tcase_add_test(tc, verp_message_token_is_not_enough_for_a_co_recipient);
    tcase_add_test(tc, log_bounce_is_learned_once);
    tcase_add_test(tc, log_rbl_and_deferred_do_not_blacklist);
    tcase_add_test(tc, log_incident_takes_the_line_time);
    tcase_add_test(tc, log_bounce_needs_a_recorded_message);
    tcase_add_test(tc, learned_bounces_are_counted_once);
    tcase_add_test(tc, log_trust_any_takes_unrecorded_lines);
    tcase_add_test(tc, log_sendmail_reply_decides);
    tcase_add_test(tc, log_postfix_command_counts);
    tcase_add_test(tc, dsn_ids);
    tcase_add_test(tc, verp_return_path_names_the_queue_id);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
