/*
 * dsn_report — what the bounce parser reports: the kind of message, and per
 * recipient its address, status, reason, scope and the remote server's
 * words; with the helpers that every format's reader builds it with
 * (addresses made canonical, diagnostics folded onto one line and capped).
 */
#ifndef BOUNCEGUARD_DSN_REPORT_H
#define BOUNCEGUARD_DSN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/reason.h"
#include "bounceguard/util.h"

#define BG_DSN_MAX_RCPTS 200
#define BG_DSN_TEXT_MAX 1000 /* longest diagnostic kept, in bytes */

/* The kind of message bg_dsn_parse() recognised. */
typedef enum bg_dsn_kind {
    BG_DSN_NONE = 0,  /* not a bounce */
    BG_DSN_RFC3464,   /* multipart/report; report-type=delivery-status */
    BG_DSN_TEXT,      /* a non-standard, human-readable bounce */
    BG_DSN_ARF,       /* RFC 5965 feedback report (reason "feedback") */
    BG_DSN_AUTOREPLY, /* vacation / out-of-office (reason "vacation") */
    BG_DSN_MDN,       /* RFC 8098 disposition notification: a Sieve reject
                       * (reason "filtered") or a read receipt ("delivered") */
} bg_dsn_kind;

/* One bounced, delayed or (reason "delivered") successfully delivered
 * recipient.  All strings are owned by the report;
 * any of them may be NULL when the bounce does not say. */
typedef struct bg_dsn_rcpt {
    char *recipient;       /* canonical lower-case address */
    char *action;          /* "failed", "delayed", ... (RFC 3464 Action) */
    char *status;          /* enhanced status code "5.1.1" */
    const char *reason;    /* static string from the reason vocabulary, never NULL */
    bool hard;             /* permanent and about the address itself */
    char *remote_mta;      /* host name or address of the server that refused */
    char *diagnostic;      /* the remote server's text, one line */
    char *rbl;             /* DNS blacklist listing the relay, e.g. "zen.spamhaus.org" */
    char *diagnostic_type; /* Diagnostic-Code type, lower case: "smtp", "x-unix" */
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    char *list;   /* who refused the relay: a DNSBL or a provider's own system
                   * ("Microsoft S3150"); NULL unless the scope is the relay */
    char *delist; /* the URL the refusal gives for delisting, or NULL */
    char *rule;   /* the rule that decided the reason and scope, for explain */
} bg_dsn_rcpt;

/* How many Received: lines of a returned original are read for queue IDs:
 * the relay's own is near the top (the remote MTA's, perhaps a filter's or
 * a smarthost's above it). */
#define BG_DSN_RECEIVED_IDS 6

typedef struct bg_dsn_report {
    bg_dsn_kind kind;
    bg_dsn_rcpt *rcpts;
    size_t nrcpts;
    char *message_id;      /* the DSN's own Message-ID (without <>) */
    char *orig_message_id; /* Message-ID of the returned original message */
    char *orig_sender;     /* envelope sender / From of the original, lower case */
    char *reporting_mta;   /* Reporting-MTA, or the host in the DSN's From */
    char *queue_id;        /* Postfix queue id / Original-Envelope-Id, if any */
    /* The "id" of each Received: line of the returned original, top down:
     * when the relay's own line is among them, one is the queue ID its
     * milter filed the message under (correlate = queue-id). */
    char *received_ids[BG_DSN_RECEIVED_IDS];
    size_t nreceived_ids;
    size_t orig_received; /* how many Received: lines the returned original has */
} bg_dsn_report;

/* Free a report (NULL is fine); returns NULL. */
bg_dsn_report *bg_dsn_report_free(bg_dsn_report *r);

/* The first e-mail address in s (after "rfc822;" and inside <> if any),
 * lower case (ASCII letters only: a UTF-8 address keeps its other bytes);
 * NULL when s holds none.  A UTF-8 address escaped in ASCII, RFC 6533's
 * "\x{7528}" or Exim's octal "\347", is read back in UTF-8.  The caller
 * frees the result. */
char *bg_dsn_addr_canon(const char *s);

/* true when c may be part of an address's local part (bg_dsn_addr_len()). */
bool bg_dsn_addr_byte(unsigned char c);

/* Length of the address starting exactly at s (local@domain), 0 if none. */
size_t bg_dsn_addr_len(const char *s);

/* Append s[len] to b with runs of white space (CR, LF, tabs) folded into one
 * space, stopping once b holds BG_DSN_TEXT_MAX bytes. */
void bg_dsn_collapse(bg_buf *b, const char *s, size_t len);

/* Cut s (may be NULL) in place to at most max bytes, at a UTF-8 character
 * boundary. */
void bg_dsn_cap_text(char *s, size_t max);

/* Add a recipient (addr may be NULL) and return it; an address already in
 * the report returns the existing entry, NULL when the report is full. */
bg_dsn_rcpt *bg_dsn_rcpt_add(bg_dsn_report *r, const char *addr, bool *existed);

#endif
