/*
 * policy — bounceguard's decisions, and nothing else: state + event + `now`
 * in, verdict or next state out.  No clock, no I/O, no globals, no locks, so a
 * test can stand at 14 days minus one second.  The store makes the updates
 * atomic by calling these functions inside its transactions
 * (bg_store_rcpt_update, bg_store_sender_update).
 *
 * The rules (DESIGN.md):
 *  1. a recipient is refused until `blacklist_period` after its LAST bounce;
 *  2. an invalid address or unknown TLD is refused (lib/addr);
 *  3. a sender that tried `limit` distinct currently-blacklisted recipients is
 *     refused until that number falls below the limit again;
 *  4. a sender may send `limit` messages per fixed window of `window` seconds
 *     anchored at the first message in it.
 */
#ifndef BOUNCEGUARD_POLICY_H
#define BOUNCEGUARD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "bounceguard/config.h"
#include "bounceguard/dsn.h"
#include "bounceguard/reply.h"
#include "bounceguard/store.h"

typedef enum bg_verdict_kind {
    BG_VERDICT_ACCEPT = 0,
    BG_VERDICT_BAD_ADDRESS,    /* syntax or length: 5.1.3 */
    BG_VERDICT_BAD_DOMAIN,     /* domain syntax or unknown TLD: 5.1.2 */
    BG_VERDICT_BLACKLISTED,    /* rule 1: 5.7.1 */
    BG_VERDICT_SENDER_BLOCKED, /* rule 3: 5.7.1 */
    BG_VERDICT_QUOTA,          /* rule 4: 4.7.1 */
    BG_VERDICT_STORE_ERROR,    /* the store failed: per on_store_error */
    BG_VERDICT_BAD_RETURN_PATH, /* at verp_domain, not a valid token: 5.1.1 */
    BG_VERDICT_TOO_MANY_RCPTS, /* over recipient_limit: 452 4.5.3 (RFC 5321 4.5.3.1.10) */
    BG_VERDICT_BLOCKED_MANUALLY, /* rule 1, blocked by an operator: 5.7.1 */
} bg_verdict_kind;

/* The SMTP reply for a verdict. */
typedef struct bg_reply {
    const char *rcode; /* "550", "450", "451" */
    const char *xcode; /* "5.7.1" ... */
    const char *text;  /* the product's message, no CR/LF */
} bg_reply;

/* The reply for a refusal, with permanent/temporary from the config and the
 * text from its *_text key when set (else the built-in text).
 * For BG_VERDICT_STORE_ERROR it follows on_store_error (tempfail/reject). */
bg_reply bg_policy_reply(bg_verdict_kind kind, const bg_config *cfg);

/* Short name for logs and JSON ("blacklisted", "quota", ...). */
const char *bg_policy_verdict_name(bg_verdict_kind kind);

/* ---- rule 1: recipients --------------------------------------------------- */

/* Is this recipient refused at `now`? (NULL record: no.) */
bool bg_policy_rcpt_blacklisted(const bg_rcpt_rec *r, int64_t now);

/* The state of a recipient record at now, as the CLI names it:
 * "blacklisted" (refused now), "unblocked" (released by an operator) or
 * "expired" (its period is over). */
const char *bg_policy_rcpt_state_name(const bg_rcpt_rec *r, int64_t now);

/* Which rule made the record, for the operator: "blocked by hand
 * (bounceguard block)", "imported from a suppression list", or the rule
 * the reply classifier names when it reads the stored reply again by this
 * version's rules; "" when the record says nothing.  buf[size] may hold the
 * text; the result is buf or static. */
const char *bg_policy_rcpt_rule(const bg_rcpt_rec *r, char *buf, size_t size);

/* Was its blacklisting made by an operator (`bounceguard block`), not by a
 * bounce?  Its refusal then says so (BG_VERDICT_BLOCKED_MANUALLY). */
bool bg_policy_rcpt_manual(const bg_rcpt_rec *r);

/* A bounce learned from a DSN or a log line. */
typedef struct bg_bounce_event {
    int64_t when;            /* time of the bounce */
    const char *source;      /* "dsn", "log", "import" */
    const char *reason;      /* reason vocabulary */
    const char *status;      /* 5.1.1 */
    const char *remote_mta;
    const char *diagnostic;
    const char *sender_id;   /* whose mail bounced, "" if unknown */
    int64_t period;          /* blacklist_period */
    int64_t history;         /* history_period: kept that long after expiry */
} bg_bounce_event;

/*
 * Apply a bounce to a recipient record (cur may be NULL): the period runs from
 * the LAST bounce, so a new bounce extends it; a bounce older than the last
 * one never shortens it; inside an unblock's grace period the bounce is
 * counted but does not re-block.  Sets *purge_at.  Returns BG_RECORD_WRITE.
 */
bg_record_change bg_policy_bounce(const bg_rcpt_rec *cur, bg_rcpt_rec *next, const bg_bounce_event *ev,
                     int64_t *purge_at);

/* An operator's block for `duration` (manual), reason free text. */
bg_record_change bg_policy_block(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t now,
                    int64_t duration, const char *reason, int64_t history,
                    int64_t *purge_at);

/* An operator's unblock, with an optional grace period (0 = none) during which
 * new bounces do not re-block.  Returns BG_RECORD_WRITE, or BG_RECORD_KEEP when there is nothing
 * to unblock (cur NULL or not blacklisted at now). */
bg_record_change bg_policy_unblock(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t now, int64_t grace,
                      int64_t history, int64_t *purge_at);

/* ---- what a bounce does ---------------------------------------------------- */

/* What one judged failure does to the store. */
typedef enum bg_bounce_decision {
    BG_BOUNCE_NOTHING = 0, /* recorded nowhere (logged) */
    BG_BOUNCE_BLACKLIST,   /* the recipient is refused (rule 1) */
    BG_BOUNCE_INCIDENT,    /* an incident about the relay: a list or provider refused it */
} bg_bounce_decision;

/* A failure as the classifier judged it (lib/dsn: bg_reply_classify()). */
typedef struct bg_bounce_judged {
    const char *action; /* RFC 3464 Action, may be NULL ("failed") */
    const char *status; /* enhanced status code, may be NULL */
    const char *reason; /* reason vocabulary */
    bg_bounce_scope scope;
    bg_smtp_stage stage;
} bg_bounce_judged;

/*
 * The decision for one failure:
 *  - a delivery, relay or expansion report does nothing;
 *  - a refusal of the relay (a DNS blacklist, a provider's own block list or
 *    reputation system), permanent or not, is an incident;
 *  - only a permanent failure about the recipient itself, whose reason is in
 *    blacklist_reasons, blacklists it; a refusal at MAIL FROM or before
 *    (connect, EHLO) never does: no recipient had been named yet.
 * *why (may be NULL) gets a short static text saying which rule decided.
 */
bg_bounce_decision bg_policy_bounce_decision(const bg_config *cfg, const bg_bounce_judged *b,
                                             const char **why);

/* Is a failure temporary (4xx, or an Action that is not "failed")? */
bool bg_policy_bounce_temporary(const char *action, const char *status);

/* Is reason one by which a remote side refuses the relay itself (policy,
 * reputation, reverse DNS, authentication) rather than the recipient?  Where
 * no RBL is named, such refusals are a private blacklist: `bounceguard
 * diagnose` tells the operator whose postmaster to write to. */
bool bg_policy_private_blacklist_reason(const char *reason);

/* ---- `bounceguard import` ------------------------------------------------- */

/* The reason of an entry of a foreign suppression list (an ESP's export,
 * lib/import.c): its own reason word when it is one of ours ("COMPLAINT" is
 * feedback), else what its status code says as the reply classifier reads
 * a code (bg_reply_classify: x.1.1 userunknown, x.2.2 mailboxfull, ...),
 * else "suppressed".  The entry's text is not weighed: a list does not say
 * which SMTP command was refused, and without it the same words can mean
 * a dead mailbox or a filter.  Either argument may be NULL. */
const char *bg_policy_import_reason(const char *word, const char *status);

/*
 * An entry of a foreign suppression list applied to a recipient (cur may be
 * NULL).  With its time (have_time) it is a bounce at that time
 * (bg_policy_bounce: an old one comes in already expired, a recent one
 * expires blacklist_period after it), and the same bounce imported twice
 * counts once: returns 0 when cur's last bounce is at ev->when already.
 * Without a time the recipient is blocked for ev->period from now
 * (bg_policy_block, ev->diagnostic the reason), its source "import".
 * Returns 1 (write next) or 0 (nothing to write); sets *purge_at.
 */
bg_record_change bg_policy_import_foreign(const bg_rcpt_rec *cur, bg_rcpt_rec *next,
                             const bg_bounce_event *ev, bool have_time, int64_t now,
                             int64_t *purge_at);

/*
 * A record of bounceguard's own export restored (cur may be NULL): it is
 * written as it was, unless the store's entry was updated at or after it
 * (saved->updated, when known): then returns 0 and the newer stays.  The
 * record is kept history seconds after its last date.  Returns 1 (write).
 */
bg_record_change bg_policy_import_restore(const bg_rcpt_rec *cur, bg_rcpt_rec *next,
                             const bg_rcpt_rec *saved, int64_t history,
                             int64_t *purge_at);

/* ---- who may tell us a recipient bounced (DESIGN.md rule 6) --------------- */

/* Whether the host that delivered a bounce is one the recipient's domain
 * designates to send its mail (SPF pass) or to receive it (its MX). */
typedef enum bg_host_check {
    BG_HOST_UNCHECKED = 0, /* not looked up (yet), or no client address known */
    BG_HOST_DESIGNATED,
    BG_HOST_NOT_DESIGNATED,
} bg_host_check;

/* What is known of where a bounce about one recipient came from. */
typedef struct bg_bounce_origin {
    bool token_names_rcpt; /* a verified VERP token bound to this very recipient */
    bool message_found;    /* the original message is on record */
    bool rcpt_of_message;  /* the recipient is one of that message's recipients */
    size_t message_rcpts;  /* how many recipients the message had */
    bool host_known;       /* the delivering host's address is known */
    bg_host_check host;
} bg_bounce_origin;

typedef enum bg_trust_answer {
    BG_TRUST_NO = 0,
    BG_TRUST_YES,
    BG_TRUST_ASK_HOST, /* decide again once origin->host is looked up */
} bg_trust_answer;

/*
 * Is a bounce about a recipient R believed?  Only if it can have come from
 * R's side (dsn_trust = any excepted: every bounce counts):
 *  - a token bound to R: only R's side saw that return path;
 *  - a recorded message whose only recipient was R: only R's side saw its
 *    Message-ID, queue ID or token;
 *  - a recorded message of several recipients, R among them, delivered by a
 *    host R's domain designates: a co-recipient saw the same identifiers and
 *    could forge a DSN with them, but not from R's domain's hosts;
 *  - nothing on record (dsn_trust = spf only): a host R's domain designates.
 * Asks for the host check (BG_TRUST_ASK_HOST) only when it can change the
 * answer and the host's address is known.
 */
bg_trust_answer bg_policy_bounce_trusted(bg_dsn_trust mode, const bg_bounce_origin *o);

/* ---- rule 3: senders that keep trying blacklisted recipients -------------- */

/* Blocked when the distinct blacklisted recipients tried reach limit (> 0). */
bool bg_policy_sender_blocked(long tried_blacklisted, long limit);

/* ---- rule 4: quota -------------------------------------------------------- */

/* Is the window of r over at now (or never started)? */
bool bg_policy_window_over(const bg_sender_rec *r, int64_t now, int64_t window);

/* Would one more message be refused at now?  (MAIL FROM: look, do not take.) */
bool bg_policy_quota_exhausted(const bg_sender_rec *r, int64_t now, long limit,
                               int64_t window);

/*
 * The same with `held` messages in flight besides those r counts: taken at
 * RCPT TO by this milter's other sessions, counted in r when they end
 * (lib/gate.c).  r may be NULL (the sender's first message).
 */
bool bg_policy_quota_full(const bg_sender_rec *r, int64_t now, long limit, int64_t window,
                          unsigned held);

/*
 * Reserve n messages for a sender (cur may be NULL).  A window starts at the
 * first message and lasts `window` seconds; then a new window starts at the
 * next message.  Returns 1 with next = the record holding the reservation, or
 * 1 with next->refused incremented and *granted = false when over quota.
 * limit 0 = no quota (always granted).  *window_start gets the window the
 * reservation belongs to (for the release).
 */
bg_record_change bg_policy_quota_reserve(const bg_sender_rec *cur, bg_sender_rec *next, int64_t now,
                            long limit, int64_t window, unsigned n, bool *granted,
                            int64_t *window_start, int64_t *purge_at);

/*
 * A message refused for its quota before it took any (at MAIL FROM or RCPT
 * TO): count it in the window and move last_seen, so that `sender show`
 * tells the refusals.  Returns 1 (write) when the quota is full at now with
 * `held` messages in flight (bg_policy_quota_full), else 0 (cur's window
 * ended meanwhile: nothing refused).
 */
bg_record_change bg_policy_quota_refused(const bg_sender_rec *cur, bg_sender_rec *next, int64_t now,
                            long limit, int64_t window, unsigned held, int64_t *purge_at);

/* ---- one sender's state under rules 3 and 4 ------------------------------- */

/* The limits that apply to one sender: the config's, with its
 * sender_override applied and its quota exemption. */
typedef struct bg_sender_limits {
    long quota_limit;  /* messages per window (rule 4); 0 = no quota */
    bool quota_exempt; /* trusted_networks or trusted_senders: no quota */
    long bounce_limit; /* sender_bounce_limit (rule 3); 0 = never blocked */
} bg_sender_limits;

/* The limits for identity; client_ip is the client's address for
 * trusted_networks (NULL: the address of an "ip:" identity, else none). */
bg_sender_limits bg_policy_sender_limits(const bg_config *cfg, const char *identity,
                                         const char *client_ip);
/* The same when the exemption is already known (the milter's transaction
 * decided it once, at its start): the trusted lists are not read again. */
bg_sender_limits bg_policy_sender_limits_exempt(const bg_config *cfg, const char *identity,
                                                bool quota_exempt);

/* Rule 4 at MAIL FROM: would the sender's next message be refused at now,
 * with `held` of its messages in flight (bg_policy_quota_full)?  rec is its
 * quota record (NULL: none). */
bool bg_policy_sender_over_quota(const bg_sender_limits *lim, const bg_sender_rec *rec,
                                 int64_t now, int64_t window, unsigned held);

/*
 * Everything rules 3 and 4 say of one sender at `now`.  The gate refuses a
 * sender by these same functions (lib/gate.c), and the operator's views
 * (`bounceguard senders`, `sender show`, `check`, `diagnose`) print this, so
 * the two cannot disagree (tests/unit/test_gate.c holds them together).
 */
typedef struct bg_sender_status {
    bool found;             /* the sender has a quota record */
    bg_sender_rec rec;      /* zero when not found */
    long quota_limit;       /* per sender (overrides applied); 0 = no quota */
    bool quota_exempt;      /* trusted network or trusted sender */
    bool window_open;       /* a window is running at now */
    long used, left;        /* in the running window */
    int64_t window_reset;   /* when the running window ends (0 = none) */
    long bounce_limit;      /* sender_bounce_limit for it; 0 = off */
    long tried_blacklisted; /* distinct recipients tried that are blacklisted now */
    bool blocked;           /* rule 3: every recipient is refused */
    bool over_quota;        /* rule 4: the next message would be refused */
} bg_sender_status;

/*
 * The status of a sender at now, from its limits (bg_policy_sender_limits),
 * its quota record (NULL: none) and the distinct recipients it tried that
 * are blacklisted at now (bg_gate_tried_blacklisted).  Pure.
 */
void bg_policy_sender_status(const bg_sender_limits *lim, const bg_sender_rec *rec,
                             long tried_blacklisted, int64_t now, int64_t window,
                             bg_sender_status *out);

/* ---- who and what is exempt ----------------------------------------------- */

/*
 * The sender identity ("appliance") per sender_identity: auto = the SASL
 * login if any, else the client IP; sasl (falls back to the IP when there is
 * no login); ip; envelope (the canonical MAIL FROM, "<>" for bounces).
 * Writes "sasl:NAME", "ip:ADDR" or "env:ADDR" into out[size].
 */
void bg_policy_sender_identity(bg_identity how, const char *sasl_login, const char *client_ip,
                               const char *env_from, char *out, size_t size);

/*
 * A sender identity as an operator writes it, in the form the gate files it
 * under: "ip:ADDR" (the address normalised), "sasl:NAME" (no controls) or
 * "env:ADDR" (the canonical address, or "<>").  Returns 0 with out[size]
 * filled, or -1 with err naming the problem.
 */
int bg_policy_identity_parse(const char *in, char *out, size_t size, bg_error *err);

/* Always accepted (postmaster@, abuse@ ... per exempt_recipients)? */
bool bg_policy_rcpt_exempt(const bg_config *cfg, const char *local_part);

/* Never blacklisted (never_blacklist: addresses or @domain)? */
bool bg_policy_never_blacklist(const bg_config *cfg, const char *canon, const char *domain);

/* Is ip inside one of the networks (netaddr.h reads them, as the config
 * check does: an entry it refuses would silently never match)? */
bool bg_policy_ip_in(const bg_strlist *networks, const char *ip);

/* Does this identity skip the quota (trusted network or trusted sender)? */
bool bg_policy_quota_exempt(const bg_config *cfg, const char *identity, const char *client_ip);

#endif
