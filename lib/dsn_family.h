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

/* What a notice's layout says of all its recipients at once, read once a
 * message (the searches are over the whole notice; a report may hold
 * hundreds of recipients). */
typedef struct dsn_layout {
    /* the SMTP command every reply of the notice answered, when its words
     * tell it (fetchmail's and Haraka's reason lines), else NULL */
    const char *step;
    /* a layout that never names the command (OpenSMTPD, nullmailer-dsn):
     * a reply without one came at any stage, DATA no likelier than RCPT */
    bool names_no_command;
    /* the notice says the MTA gave up on deferrals (Haraka's "Too many
     * failures") */
    bool gave_up;
} dsn_layout;

/* Reads notice[nlen] (may be NULL) into *out (lib/dsn_family.c). */
void dsn_family_layout(const char *notice, size_t nlen, dsn_layout *out);

/* Reasons that only the whole notice of a family decides (qmail's own
 * notice: qmail-remote's connection failures are networkerror), applied to
 * the classified recipients of r; notice[len] is the notice text, lay what
 * dsn_family_layout() read of it (lib/dsn_family.c). */
void dsn_family_adjust(const char *notice, size_t len, const dsn_layout *lay,
                       bg_dsn_report *r);

/* What a family's fixed layout says of the diagnostic *diag (may be
 * NULL; replaced or cut in place): Gmail's preamble before the quoted
 * reply and Amazon SES's before "550-'...'" dropped, a multi-line reply
 * completed from the transcript in notice[nlen] (may be NULL).  *step is
 * set to a phrase naming the SMTP command when the layout tells it, else
 * NULL.  Returns the reason the layout decides, NULL when none
 * (lib/dsn_family.c). */
const char *dsn_family_reply(char **diag, const char *notice, size_t nlen,
                             const char **step);

/* The reason a mailing-list manager (fml, mlmmj, Mailman 3) gives for
 * refusing a post (header block h, notice body[len]), NULL when the message
 * is not such a notice.  *list is set to the list's address when the notice
 * names it (a new string), else NULL; *diag to the notice's own words when
 * they say more than its Subject (a new string), else NULL. */
const char *dsn_family_mlserver(const bg_mime_headers *h, const char *body, size_t len,
                                char **list, char **diag);

#endif
