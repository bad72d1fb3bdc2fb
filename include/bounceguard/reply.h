/*
 * reply — judge a remote server's reply, whatever carried it (a DSN, a
 * Postfix or Sendmail log line, an SES notification): its reason in the
 * vocabulary of bounceguard/reason.h, hard or soft, its scope and stage, the
 * blocklist or provider system it names, and the rule that decided.
 *
 * Layers, tried in order (lib/reply.c): the provider table
 * (bounceguard/reply_rules.h, and the administrator's rows), the codes and
 * formats a provider states outright (lib/reply_vendor.c), specific enhanced
 * status codes, the phrase tables per reason (lib/reply_phrases.c), and the
 * status class.  Pure; never fails.
 */
#ifndef BOUNCEGUARD_REPLY_H
#define BOUNCEGUARD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/reason.h"

/* The result of classifying one failure. */
typedef struct bg_reply_class {
    const char *reason; /* static string from the vocabulary, never NULL */
    bool hard;
    char rbl[128]; /* the DNS blacklist's name, "" when the text names none */
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    char list[128];   /* DNSBL or provider system refusing the relay, or "" */
    char delist[256]; /* a URL in a relay refusal, or "" */
    char rule[256];   /* what decided: a provider row, the status code, a phrase */
} bg_reply_class;

/*
 * Classify one failure from its enhanced status code (may be NULL or "") and
 * the remote server's text (may be NULL), e.g. ("5.1.1", "550 5.1.1 <a@b>:
 * Recipient address rejected: User unknown") -> userunknown, hard.  Used for
 * DSNs and for MTA log lines (`status=bounced (host ... said: 550 ...)`).
 * Status codes decide where they are specific; the text decides where the
 * code is generic (x.0.0, 5.7.1, ...).  Pure; never fails.
 */
void bg_reply_classify(const char *status, const char *diagnostic, bg_reply_class *out);

/*
 * bg_reply_classify() with the SMTP command that the reply answered, as Postfix
 * names it ("RCPT TO", "MAIL FROM", "DATA", "end of DATA", "EHLO"; NULL or ""
 * when unknown): "550 No such user here" refused at RCPT TO is a dead
 * mailbox, after the message was sent it is the recipient's filter.
 */
void bg_reply_classify_step(const char *status, const char *diagnostic,
                            const char *command, bg_reply_class *out);

/*
 * The status code a failure is judged by when reply is the remote server's
 * own reply ("550 Mailbox quota exceeded": a basic reply code at its start)
 * and status is what the reporting MTA wrote (DSN Status, log dsn=).  An MTA
 * that gets a reply without an enhanced code makes one up from the basic code
 * (Sendmail: 550 at RCPT TO is 5.1.1 "User unknown", 552 is 5.2.2, 452 is
 * 4.3.1, every expired 4xx is 4.4.7); the detail the remote did not say must
 * not decide.  The reporting MTA keeps the class (it alone knows whether it
 * gave up), the detail is the remote's: its enhanced code's, else ".0.0".
 * Without an enhanced code from the remote, only a status detail that would
 * decide over the text gives way (5.1.1, 5.2.2, 4.3.1, 4.4.7, ...); a
 * generic one (5.2.0, 5.5.0, 5.7.1) stands, as does x.1.6 for 551 ("User
 * not local").
 * Writes that code into dst[size] and returns true when it differs from
 * status; false (dst untouched) when status stands, or when reply is not a
 * 4xx/5xx reply.  Pure; never fails.
 */
bool bg_reply_status_judged(const char *status, const char *reply, char *dst,
                            size_t size);

/*
 * Find an enhanced status code ("5.7.1") in text, or derive one from a bare
 * SMTP reply code ("550" -> "5.0.0").  Writes it into dst[size] and returns
 * true, or returns false when the text has neither.
 */
bool bg_reply_status_from_text(const char *text, char *dst, size_t size);

/*
 * If text says that the sending host is on a DNS blacklist, write the list's
 * name (e.g. "zen.spamhaus.org", "bl.spamcop.net") into dst[size] and return
 * true.
 */
bool bg_reply_rbl_from_text(const char *text, char *dst, size_t size);

/* What else a bounce says about one recipient, beyond the status code and
 * the remote server's text; any field may be NULL. */
typedef struct bg_reply_context {
    const char *notice;    /* the notice's own text about the recipient (the
                            * SMTP command, the MTA's wording) */
    const char *diag_type; /* the Diagnostic-Code type: "smtp", "x-unix" */
    const char *action;    /* RFC 3464 Action: "failed", "delayed" */
    const char *recipient; /* the failed address */
    const char *rhost;     /* the remote server */
    const char *reporter;  /* the MTA that wrote the bounce (Reporting-MTA) */
    bool stage_unsaid;     /* the bounce's layout never names the SMTP command
                            * the reply answered (OpenSMTPD, nullmailer) */
} bg_reply_context;

/* bg_reply_classify() with the context of the bounce (ctx may be NULL). */
void bg_reply_classify_ctx(const char *status, const char *diagnostic,
                           const bg_reply_context *ctx, bg_reply_class *out);

#endif
