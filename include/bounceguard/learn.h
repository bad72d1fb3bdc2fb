/*
 * learn — turn the evidence of a bounce (a parsed DSN, or one MTA log line)
 * into changes of the store: blacklisted recipients, RBL incidents, and the
 * record that this piece of evidence was processed.
 *
 * The intake programs (bounceguard-dsn pipe, maildir, log) only read their
 * input and call these functions; every decision of what a bounce means lives
 * here and in the policy:
 *
 *  - dedup: a DSN is identified by its Message-ID, else by the SHA-256 of its
 *    bytes; a log line by queue ID, recipient and status code.  The id is
 *    marked seen first; a DSN seen before changes nothing.  If a later write
 *    of the same bounce fails, the mark is taken back so that the retry (the
 *    MTA re-delivering after EX_TEMPFAIL) is not lost as a duplicate.
 *  - correlation: the original message is looked up by the returned
 *    Message-ID, else by queue ID (bg_gate_record wrote both); the bounced
 *    recipient must be one of its recipients.  The bounce is attributed to
 *    the message's sender identity.
 *  - trust (dsn_trust): correlated = only correlated bounces count, others
 *    are logged as "forged or unrelated bounce"; spf = an uncorrelated one
 *    counts when SPF passes for the host that delivered it (client IP, HELO,
 *    envelope sender); any = every bounce counts.  A DSN that reached a VERP
 *    address whose signature verified is trusted (src->verp_verified).  A log
 *    line is no better: anyone who can write to the log (logger, a
 *    Message-ID that cleanup logs) can write one, so under log_trust =
 *    recorded (default) it counts only when its queue ID names a message the
 *    milter recorded and the bounced recipient is one of that message's
 *    recipients; log_trust = any takes every delivery record.
 *  - meaning: an RBL bounce (the relay is listed) is recorded as an incident
 *    and never blacklists; a bounce blacklists only if its reason is in
 *    blacklist_reasons, it is not temporary (4.x.x, Action: delayed) and the
 *    address is not in never_blacklist.  Blacklisting goes through
 *    bg_policy_bounce: expiry = last bounce + blacklist_period.
 *
 * Every outcome worth an operator's attention is logged here (log.h):
 * warning for blacklistings, forged bounces and RBL incidents, debug for the
 * rest.  The result says, per recipient, what was done (for logs and tests).
 */
#ifndef BOUNCEGUARD_LEARN_H
#define BOUNCEGUARD_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/addr.h"
#include "bounceguard/config.h"
#include "bounceguard/dsn.h"
#include "bounceguard/mtalog.h"
#include "bounceguard/store.h"
#include "bounceguard/verp.h"

typedef enum bg_learn_outcome {
    BG_LEARN_BLACKLISTED = 0, /* recipient blacklisted (or its period extended) */
    BG_LEARN_IGNORED_REASON,  /* reason not in blacklist_reasons, or temporary */
    BG_LEARN_UNTRUSTED,       /* not correlated and not trusted: forged or unrelated */
    BG_LEARN_INCIDENT,        /* the relay is on an RBL: incident recorded */
    BG_LEARN_DUPLICATE,       /* this DSN / log line was processed before */
    BG_LEARN_NEVER,           /* the address is in never_blacklist */
    BG_LEARN_BAD_ADDRESS,     /* the bounced recipient is not an address */
} bg_learn_outcome;

/* What the intake knows about how a DSN reached it (all may be NULL/""). */
typedef struct bg_learn_source {
    const char *client_ip; /* host that delivered the DSN to the relay */
    const char *helo;      /* its HELO name */
    const char *mail_from; /* the DSN's envelope sender (normally "") */
    const char *origin;    /* for logs: "stdin", a file name, ... */
    /* Set when the DSN came to a bounces+TOKEN@ address whose token verified:
     * the bounce is trusted and attributed from the token. */
    bool verp_verified;
    const char *verp_sender_id; /* identity named by the token */
    const char *verp_rcpt;      /* recipient named by the token, "" = per the DSN */
    const char *verp_message;   /* message key (queue ID) named by the token, or "" */
} bg_learn_source;

typedef struct bg_learn_rcpt_result {
    char recipient[257]; /* canonical, or as reported when it does not parse */
    bg_learn_outcome outcome;
    bool correlated;     /* it was a recipient of the original message */
    char sender_id[256]; /* whose mail bounced, "" when unknown */
    char reason[24];
    char status[16];
    char list[128];      /* BG_LEARN_INCIDENT: the DNSBL or provider system that
                          * refused the relay ("refused by HOST" when unnamed) */
    const char *why;     /* the rule that decided the outcome (static text) */
} bg_learn_rcpt_result;

typedef struct bg_learn_result {
    char id[300];       /* the seen-id of the evidence ("dsn:...", "log:...") */
    bool duplicate;     /* processed before: nothing was changed */
    bool message_found; /* the original message was found in the store */
    size_t nrcpts;
    bg_learn_rcpt_result *rcpts; /* owned: bg_learn_result_clear() */
    unsigned blacklisted, incidents, ignored, untrusted;
} bg_learn_result;

/*
 * Apply one parsed DSN (report) to the store.  raw[rawlen] are the bytes it
 * was parsed from (for the content hash when it has no Message-ID; may be
 * NULL when report->message_id is set).  src may be NULL.  A report with no
 * recipients changes nothing and returns 0.
 * Returns 0 with *res filled (release with bg_learn_result_clear), or -1 on a
 * store error with err set; then the seen mark is taken back (best effort)
 * and the caller should ask for a retry (EX_TEMPFAIL).
 */
int bg_learn_dsn(bg_store *st, const bg_config *cfg, const bg_dsn_report *report,
                 const char *raw, size_t rawlen, const bg_learn_source *src, int64_t now,
                 bg_learn_result *res, bg_error *err);

/*
 * Apply one MTA log event.  Only BG_MTALOG_BOUNCED events with a recipient
 * are learned (others return 0 with res->nrcpts == 0).  The failure is
 * classified with bg_reply_classify(dsn, reply); the bounce time is the line's
 * time (or now when the line has none or is in the future).  Unless
 * cfg->log_trust is any, an event whose queue ID the milter did not record,
 * or whose recipient was not one of that message's, is BG_LEARN_UNTRUSTED:
 * marked seen, nothing else written, one warning "Ignored bounce in log
 * line ... no message recorded by the milter".  Returns as bg_learn_dsn.
 */
int bg_learn_log_event(bg_store *st, const bg_config *cfg, const bg_mtalog_event *ev,
                       int64_t now, bg_learn_result *res, bg_error *err);

/* Release what a result holds (and zero it); safe on a zeroed result. */
void bg_learn_result_clear(bg_learn_result *res);

/* "blacklisted", "ignored-reason", "untrusted", "incident", "duplicate",
 * "never-blacklist", "bad-address". */
const char *bg_learn_outcome_name(bg_learn_outcome o);

/*
 * The seen-id of a DSN: "dsn:mid:" + its Message-ID, a space and the
 * returned original's Message-ID (else the first recipient's address), when
 * it has them ("dsn:midhash:" + the SHA-256 of that when it does not fit),
 * else "dsn:sha256:" + the hex SHA-256 of raw[rawlen].  The Message-ID alone
 * is not unique: dma reuses its bounces' ones.  Writes into dst[size] (size >= 80 holds
 * every form; 300 keeps ordinary Message-IDs readable); returns dst.
 */
char *bg_learn_dsn_id(const bg_dsn_report *report, const char *raw, size_t rawlen,
                      char *dst, size_t size);

/*
 * The signed VERP return path for a message the milter accepted, when
 * return_path_rewrite is on: "bounces+TOKEN@verp_domain", the token naming
 * the message key queue_id (bounceguard/verp.h), under which bg_gate_record
 * filed the sender identity, the original envelope sender and the
 * recipients; rcpt (canonical), when the message has exactly one recipient,
 * binds the token to it.  Writes it into out[size] and returns 1; returns 0
 * when the envelope sender must stay as it is (rewriting off, a null sender
 * "<>" or "" — a bounce must stay a bounce — or no queue ID); -1 with err set
 * when the secret cannot be read.  The secret of verp_secret_file is read
 * once and again whenever the file (path, inode, size or mtime) changes;
 * thread-safe.
 */
int bg_learn_return_path(const bg_config *cfg, const char *env_from, const char *queue_id,
                         const char *rcpt, int64_t now, char *out, size_t size,
                         bg_error *err);

typedef enum bg_return_path_status {
    BG_RP_NONE = 0, /* not an address at verp_domain (or no verp_domain) */
    BG_RP_VALID,    /* bounces+TOKEN whose token verifies and names a recorded message */
    BG_RP_FORGED,   /* at verp_domain, but not a token of ours (rp->why says how) */
    BG_RP_STALE,    /* a token of ours, but expired or its message is no longer known */
    BG_RP_ERROR,    /* a secret cannot be read or the store failed: err set */
} bg_return_path_status;

/* What a valid return path names. */
typedef struct bg_return_path {
    char key[BG_VERP_KEY_MAX + 8]; /* the message key (queue ID) */
    char sender_id[300];           /* whose message it was */
    char orig_sender[BG_ADDR_MAX + 1]; /* its envelope sender before the rewrite */
    char rcpt[BG_ADDR_MAX + 1];    /* the recipient a bound token names, else "" */
    size_t message_rcpts;          /* recipients of the message on record */
    int64_t when;                  /* when the token was made */
    char why[64];                  /* for logs, when not valid */
} bg_return_path;

/*
 * Check an envelope recipient against the VERP return paths: mail to
 * verp_domain is a bounce coming back only if it is bounces+TOKEN, the token
 * verifies (current secret, else verp_previous_secret_file), is younger than
 * message_retention + 1 day, and names a message the store holds from the
 * token's time (a bound token: for the recipient on record).  Used at RCPT
 * by the gate (anything else at verp_domain is refused) and by the DSN pipe
 * (anything else is never learned).
 */
bg_return_path_status bg_learn_return_path_check(bg_store *st, const bg_config *cfg,
                                                 const char *addr, int64_t now,
                                                 bg_return_path *rp, bg_error *err);

/* How many recipients (lines) a recorded message's list holds. */
size_t bg_learn_rcpt_count(const char *rcpts);

#endif
