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
 * Each recipient is classified (bg_reply_classify()) into the bounce-reason
 * vocabulary of Sisimai (userunknown, mailboxfull, blocked, ...; see
 * bg_reason_is_valid()), hard or soft, and when the diagnostic says that
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

#include "bounceguard/dsn_report.h"
#include "bounceguard/util.h"

#define BG_DSN_SCAN_MAX (4u * 1024 * 1024)

/*
 * Parse the message msg[len] (raw RFC 5322 bytes, CRLF or LF).  Returns 0 and
 * a report in *out (kind BG_DSN_NONE with no recipients when the message is not
 * a bounce), or -1 with err set when the message cannot be read at all (an
 * empty input).  The caller frees the report with bg_dsn_report_free().
 */
int bg_dsn_parse(const char *msg, size_t len, bg_dsn_report **out, bg_error *err);

#endif
