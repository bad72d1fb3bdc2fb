/*
 * dsn — read a bounce: is this message a delivery status notification, which
 * recipients failed or were delayed, and why.
 *
 * bg_dsn_parse() reads one whole message.  It understands RFC 3464
 * multipart/report DSNs (Final-Recipient, Original-Recipient, Action, Status,
 * Diagnostic-Code, Remote-MTA, Reporting-MTA), RFC 5965 ARF feedback reports
 * (reason "feedback"), auto-replies (reason "vacation"), Amazon SES
 * notifications mailed as JSON (lib/dsn_ses.c), success reports (RFC 3464
 * delivered/relayed/expanded and SES Delivery: reason "delivered", never a
 * blacklisting), and the plain-text
 * bounces that real MTAs send without a delivery-status part (Exim, qmail,
 * old Sendmail, Postfix without DSN, Exchange, Domino, OpenSMTPD, Courier, the
 * big mailbox providers, ...), walking MIME with bounceguard/mime.h.
 *
 * Each recipient is classified (bg_dsn_classify()) into the bounce-reason
 * vocabulary of Sisimai (userunknown, mailboxfull, blocked, ...; see
 * bg_dsn_reason_is_valid()), hard or soft, and when the diagnostic says that
 * the sending relay is on a DNS blacklist, the list's name (rbl).  Such an RBL
 * bounce is about the relay's reputation, never about the recipient.
 *
 * Work is bounded: only the first BG_DSN_SCAN_MAX bytes of a message are read
 * (the notice and the returned headers come first; a 50 MB attachment after
 * them is not needed), every extracted string is capped, and at most
 * BG_DSN_MAX_RCPTS recipients are reported.
 *
 * Pure code: no I/O, no logging, no clock.
 */
#ifndef BOUNCEGUARD_DSN_H
#define BOUNCEGUARD_DSN_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/util.h"

#define BG_DSN_SCAN_MAX (4u * 1024 * 1024)
#define BG_DSN_MAX_RCPTS 200
#define BG_DSN_TEXT_MAX 1000 /* longest diagnostic kept, in bytes */

/* The kind of message bg_dsn_parse() recognised. */
typedef enum bg_dsn_kind {
    BG_DSN_NONE = 0,  /* not a bounce */
    BG_DSN_RFC3464,   /* multipart/report; report-type=delivery-status */
    BG_DSN_TEXT,      /* a non-standard, human-readable bounce */
    BG_DSN_ARF,       /* RFC 5965 feedback report (reason "feedback") */
    BG_DSN_AUTOREPLY, /* vacation / out-of-office (reason "vacation") */
} bg_dsn_kind;

/* Whom a failure is about, above the reason: only a permanent failure about
 * the recipient can blacklist it, one about the relay is an incident
 * (lib/policy.c decides). */
typedef enum bg_bounce_scope {
    BG_SCOPE_UNKNOWN = 0,
    BG_SCOPE_RECIPIENT, /* the mailbox or its domain: dead, disabled, moved, no mail */
    BG_SCOPE_RELAY,     /* the sending relay's IP or name: a DNSBL, a provider's blocklist */
    BG_SCOPE_SENDER,    /* the envelope sender: address, domain, SPF/DKIM/DMARC, account */
    BG_SCOPE_MESSAGE,   /* this message: content, size, virus, loop */
    BG_SCOPE_TRANSIENT, /* rate, greylisting, busy, a full mailbox for now */
    BG_SCOPE_NONE,      /* not a failure: delivered, relayed, an auto-reply */
} bg_bounce_scope;

/* The SMTP command a remote reply answered, when the bounce says. */
typedef enum bg_smtp_stage {
    BG_STAGE_UNKNOWN = 0,
    BG_STAGE_CONNECT, /* the greeting, EHLO/HELO */
    BG_STAGE_MAIL,    /* MAIL FROM */
    BG_STAGE_RCPT,    /* RCPT TO */
    BG_STAGE_DATA,    /* DATA or the end of the message */
} bg_smtp_stage;

/* "recipient", "relay", ... and "connect", "mail", "rcpt", "data", "" */
const char *bg_scope_name(bg_bounce_scope s);
const char *bg_stage_name(bg_smtp_stage s);

/* One bounced, delayed or (reason "delivered") successfully delivered
 * recipient.  All strings are owned by the report;
 * any of them may be NULL when the bounce does not say. */
typedef struct bg_dsn_rcpt {
    char *recipient;    /* canonical lower-case address */
    char *action;       /* "failed", "delayed", ... (RFC 3464 Action) */
    char *status;       /* enhanced status code "5.1.1" */
    const char *reason; /* static string from the reason vocabulary, never NULL */
    bool hard;          /* permanent and about the address itself */
    char *remote_mta;   /* host name or address of the server that refused */
    char *diagnostic;   /* the remote server's text, one line */
    char *rbl;          /* DNS blacklist listing the relay, e.g. "zen.spamhaus.org" */
    char *diagnostic_type; /* Diagnostic-Code type, lower case: "smtp", "x-unix" */
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    char *list;   /* who refused the relay: a DNSBL or a provider's own system
                   * ("Microsoft S3150"); NULL unless the scope is the relay */
    char *delist; /* the URL the refusal gives for delisting, or NULL */
    char *rule;   /* the rule that decided the reason and scope, for explain */
} bg_dsn_rcpt;

typedef struct bg_dsn_report {
    bg_dsn_kind kind;
    bg_dsn_rcpt *rcpts;
    size_t nrcpts;
    char *message_id;      /* the DSN's own Message-ID (without <>) */
    char *orig_message_id; /* Message-ID of the returned original message */
    char *orig_sender;     /* envelope sender / From of the original, lower case */
    char *reporting_mta;   /* Reporting-MTA, or the host in the DSN's From */
    char *queue_id;        /* Postfix queue id / Original-Envelope-Id, if any */
} bg_dsn_report;

/*
 * Parse the message msg[len] (raw RFC 5322 bytes, CRLF or LF).  Returns 0 and
 * a report in *out (kind BG_DSN_NONE with no recipients when the message is not
 * a bounce), or -1 with err set when the message cannot be read at all (an
 * empty input).  The caller frees the report with bg_dsn_report_free().
 */
int bg_dsn_parse(const char *msg, size_t len, bg_dsn_report **out, bg_error *err);

/* Free a report (NULL is fine); returns NULL. */
bg_dsn_report *bg_dsn_report_free(bg_dsn_report *r);

/* The result of classifying one failure. */
typedef struct bg_dsn_class {
    const char *reason; /* static string from the vocabulary, never NULL */
    bool hard;
    char rbl[128]; /* the DNS blacklist's name, "" when the text names none */
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    char list[128];   /* DNSBL or provider system refusing the relay, or "" */
    char delist[256]; /* a URL in a relay refusal, or "" */
    char rule[256];   /* what decided: a provider row, the status code, a phrase */
} bg_dsn_class;

/* The scope a reason of the vocabulary has when nothing more specific is
 * known (a named list makes it the relay, a provider row decides itself). */
bg_bounce_scope bg_dsn_reason_scope(const char *reason);

/*
 * Classify one failure from its enhanced status code (may be NULL or "") and
 * the remote server's text (may be NULL), e.g. ("5.1.1", "550 5.1.1 <a@b>:
 * Recipient address rejected: User unknown") -> userunknown, hard.  Used for
 * DSNs and for MTA log lines (`status=bounced (host ... said: 550 ...)`).
 * Status codes decide where they are specific; the text decides where the
 * code is generic (x.0.0, 5.7.1, ...).  Pure; never fails.
 */
void bg_dsn_classify(const char *status, const char *diagnostic, bg_dsn_class *out);

/*
 * bg_dsn_classify() with the SMTP command that the reply answered, as Postfix
 * names it ("RCPT TO", "MAIL FROM", "DATA", "end of DATA", "EHLO"; NULL or ""
 * when unknown): "550 No such user here" refused at RCPT TO is a dead
 * mailbox, after the message was sent it is the recipient's filter.
 */
void bg_dsn_classify_step(const char *status, const char *diagnostic, const char *command,
                          bg_dsn_class *out);

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
bool bg_dsn_status_judged(const char *status, const char *reply, char *dst, size_t size);

/*
 * Find an enhanced status code ("5.7.1") in text, or derive one from a bare
 * SMTP reply code ("550" -> "5.0.0").  Writes it into dst[size] and returns
 * true, or returns false when the text has neither.
 */
bool bg_dsn_status_from_text(const char *text, char *dst, size_t size);

/*
 * If text says that the sending host is on a DNS blacklist, write the list's
 * name (e.g. "zen.spamhaus.org", "bl.spamcop.net") into dst[size] and return
 * true.
 */
bool bg_dsn_rbl_from_text(const char *text, char *dst, size_t size);

/* true when name is one of the reason names of the vocabulary. */
bool bg_dsn_reason_is_valid(const char *name);

/* true when reason is a hard bounce for this status ("userunknown" with 5.x.x). */
bool bg_dsn_reason_is_hard(const char *reason, const char *status);

#endif
