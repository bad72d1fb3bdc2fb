/*
 * dsn_family — what particular bounce families' fixed layouts say beyond the shared
 * readers of lib/dsn.c and lib/dsn_text.c: unnamed recipients, a reply cut
 * over several lines, notices only the whole text decides, mailing-list
 * managers' refusals.
 */
#ifndef BOUNCEGUARD_DSN_FAMILY_H
#define BOUNCEGUARD_DSN_FAMILY_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/dsn_report.h"
#include "bounceguard/mime.h"

/* Name the recipients of a delivery-status report whose Final-Recipient is
 * not an address: from the addresses the notice text[cut] names (skip is
 * never one), else from the returned message's To (orig, may be NULL) when
 * one recipient is unnamed (lib/dsn_family.c). */
void dsn_name_unnamed(bg_dsn_report *r, const char *notice, size_t cut, const char *skip,
                      const bg_mime_headers *orig);

/* Reasons that only the whole notice of a family decides (qmail's own
 * notice: qmail-remote's connection failures are networkerror), applied to
 * the classified recipients of r; notice[len] is the notice text
 * (lib/dsn_family.c). */
void dsn_family_adjust(const char *notice, size_t len, bg_dsn_report *r);

/* What a family's fixed layout says of the diagnostic *diag (may be
 * NULL; replaced or cut in place): Gmail's preamble before the quoted
 * reply and Amazon SES's before "550-'...'" dropped, a multi-line reply
 * completed from the transcript in notice[nlen] (may be NULL).  *step is
 * set to a phrase naming the SMTP command when the layout tells it, else
 * NULL.  Returns the reason the layout decides, NULL when none
 * (lib/dsn_family.c). */
const char *dsn_family_reply(char **diag, const char *notice, size_t nlen,
                             const char **step);

/* Is notice[nlen] the notice of a layout that never names the SMTP command
 * a reply answered (OpenSMTPD's bounce, nullmailer-dsn's)?  Then a reply
 * without one came at any stage, DATA no likelier than RCPT TO. */
bool dsn_family_names_no_command(const char *notice, size_t nlen);

/* The reason a mailing-list manager (fml, mlmmj, Mailman 3) gives for
 * refusing a post (header block h, notice body[len]), NULL when the message
 * is not such a notice.  *list is set to the list's address when the notice
 * names it (a new string), else NULL; *diag to the notice's own words when
 * they say more than its Subject (a new string), else NULL. */
const char *dsn_family_mlserver(const bg_mime_headers *h, const char *body, size_t len,
                                char **list, char **diag);

#endif
