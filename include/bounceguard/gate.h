/*
 * gate — one SMTP transaction checked against the policy and the store.
 *
 * The milter (and `bounceguard check`) call these at MAIL FROM, RCPT TO and
 * the end of a message; the gate reads the store, asks the policy, and writes
 * back what must be remembered (a reservation of quota, a blacklisted
 * recipient this sender tried, the message sent).  It never talks SMTP: it
 * returns a verdict kind, and the caller maps it to a reply
 * (bg_policy_reply) and to its own protocol.  Every store failure comes back
 * as BG_VERDICT_STORE_ERROR with err set; what that means is the caller's
 * choice (on_store_error), never a silent accept.
 */
#ifndef BOUNCEGUARD_GATE_H
#define BOUNCEGUARD_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "bounceguard/addr.h"
#include "bounceguard/config.h"
#include "bounceguard/policy.h"
#include "bounceguard/store.h"

/* What the gate remembers about one transaction (reset at each MAIL FROM). */
typedef struct bg_gate_txn {
    char identity[300];     /* sender identity, "sasl:NAME" / "ip:ADDR" / "env:ADDR" */
    char client_ip[64];
    char env_from[BG_ADDR_MAX + 1];
    bool quota_exempt;
    long accepted;          /* recipients accepted so far (recipient_limit) */
    /* The sender's quota record as read at MAIL FROM (or at the first RCPT
     * TO that needed it): what RCPT TO decides by, with this process's
     * messages in flight added (see bg_gate_rcpt). */
    bool sender_read;
    bool sender_found;
    bg_sender_rec sender;
    bool reserved;          /* one message of quota is held in flight for it */
    const bg_store *held_in;/* the store it is held for */
    bool dry_run;           /* `bounceguard check`: decide, write nothing */
    /* Rule 3 walks the sender's tried list: done at MAIL FROM and again at a
     * RCPT only when this transaction has tried a blacklisted recipient since
     * (other sessions' attempts count from the next transaction on). */
    bool sender_checked;
    bg_verdict_kind sender_verdict;
} bg_gate_txn;

/* Fill the transaction from what the MTA told (any of them may be NULL/""). */
void bg_gate_begin(bg_gate_txn *t, const bg_config *cfg, const char *sasl_login,
                   const char *client_ip, const char *env_from);

/* MAIL FROM: is the sender blocked, or its quota used up?  Takes nothing. */
bg_verdict_kind bg_gate_mail(bg_store *st, const bg_config *cfg, bg_gate_txn *t, int64_t now,
                             bg_error *err);

/*
 * RCPT TO: recipient_limit, the VERP domain (only valid return paths, see
 * bg_learn_return_path_check), address syntax and TLD, exemptions (never
 * refused as blacklisted or for a blocked sender), blacklist, sender block,
 * quota.  On the first accepted recipient of a transaction, whoever it is,
 * one message of quota is held in flight: in this process's memory, not in
 * the store, which counts the message once, at its end (bg_gate_record).
 * The quota a recipient is refused by is what the store counted plus what
 * this process holds in flight, so that a sender's concurrent sessions
 * through one milter never get more than its quota at RCPT TO; the last
 * message of a window reads the window again, for what ended since MAIL
 * FROM read it.  `addr` gets
 * the parsed address (canon may be "" if it does not parse).  `detail` gets
 * a short explanation for logs (may be NULL).
 */
bg_verdict_kind bg_gate_rcpt(bg_store *st, const bg_config *cfg, bg_gate_txn *t,
                             const char *rcpt, int64_t now, bg_addr *addr, char *detail,
                             size_t detail_size, bg_error *err);

/* The transaction ended without a message (abort, QUIT, all refused): give
 * back the quota it held in flight.  Nothing is written. */
void bg_gate_release(bg_gate_txn *t);

/*
 * The end of the message: count it in the sender's quota and remember it
 * for correlating bounces (rcpts: one per line), both in ONE transaction,
 * the only write of an accepted message.  The count checks the quota again:
 * another relay sharing the store (Redis) may have filled it since RCPT TO,
 * and then the message is refused here (BG_VERDICT_QUOTA, the refusal
 * counted, nothing filed; with mode = observe the message still goes out,
 * so it is filed), so that no more than the quota gets through under any
 * concurrency.  Returns BG_VERDICT_ACCEPT, BG_VERDICT_QUOTA or
 * BG_VERDICT_STORE_ERROR (err set); the quota held in flight is given back
 * whatever the answer.
 */
bg_verdict_kind bg_gate_record(bg_store *st, const bg_config *cfg, bg_gate_txn *t,
                               const char *message_id, const char *queue_id,
                               const char *rcpts, int64_t now, bg_error *err);

/*
 * Visit the recipients this sender tried while they were blacklisted (rule
 * 3), each with its record now (NULL: gone from the store) and whether it is
 * blacklisted at now, the judgement rule 3 counts by.  fn returns non-zero
 * to stop.  Returns 0, or -1 on a store error (err set).
 */
typedef int bg_gate_tried_fn(const char *addr, int64_t tried_at, const bg_rcpt_rec *rec,
                             bool blacklisted, void *arg);
int bg_gate_tried_foreach(bg_store *st, const char *identity, int64_t now,
                          bg_gate_tried_fn *fn, void *arg, bg_error *err);

/* How many distinct recipients this sender tried that are blacklisted at now,
 * counting at most up to `stop_at` (0 = count all).  -1 on error. */
long bg_gate_tried_blacklisted(bg_store *st, const char *identity, int64_t now,
                               long stop_at, bg_error *err);

/*
 * The state of one sender under rules 3 and 4 at now, read from the store and
 * judged by bg_policy_sender_status(): what `bounceguard senders`, `sender
 * show`, `check` and `diagnose` print, by the same rules bg_gate_mail() and
 * bg_gate_rcpt() refuse with.  client_ip as for bg_policy_sender_limits()
 * (NULL: from an "ip:" identity).  Returns 0, or -1 on a store error (err
 * set).
 */
int bg_gate_sender_status(bg_store *st, const bg_config *cfg, const char *identity,
                          const char *client_ip, int64_t now, bg_sender_status *out,
                          bg_error *err);

/*
 * `bounceguard sender reset`: forget a sender's quota window and the
 * blacklisted recipients it tried, so that it is neither over quota (rule 4)
 * nor blocked (rule 3).  *had_window says whether it had a quota record,
 * *tried how many tried recipients were forgotten.  Returns 0, or -1 on a
 * store error (err set).
 */
int bg_gate_sender_reset(bg_store *st, const char *identity, bool *had_window,
                         size_t *tried, bg_error *err);

#endif
