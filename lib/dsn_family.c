/*
 * dsn_family — repairs for bounce formats that the shared layouts of
 * lib/dsn.c and lib/dsn_text.c read only partly.
 *
 * Rules, and the families they come from (each holds for every bounce of
 * the format, not for one sample):
 *   a delivery-status block whose Final-Recipient is not an address
 *   ("RFC822; @mx.example.org", Sendmail's host-unknown report)
 *                                  the address comes from the notice text
 *                                  that names it, else from the returned
 *                                  message's To when there is one
 *                                  recipient to name
 *   qmail's own notice ("Hi. This is the qmail-send program")
 *   with qmail-remote's "Sorry, I wasn't able to establish an SMTP
 *   connection" (or "couldn't find a mail exchanger", "Although I'm
 *   listed as a best-preference MX")
 *                                  networkerror, even when the notice
 *                                  adds that the message has been in the
 *                                  queue too long (others that copy the
 *                                  wording, such as X2, mean expired)
 *
 * Used by lib/dsn.c.  Pure: no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "dsn_priv.h"

static bool
in_report(const bg_dsn_report *r, const char *addr)
{
    for (size_t i = 0; i < r->nrcpts; i++)
        if (r->rcpts[i].recipient && strcmp(r->rcpts[i].recipient, addr) == 0)
            return true;
    return false;
}

void
dsn_name_unnamed(bg_dsn_report *r, const char *notice, size_t cut, const char *skip,
                 const bg_mime_headers *orig)
{
    size_t unnamed = 0;
    for (size_t i = 0; i < r->nrcpts; i++)
        if (!r->rcpts[i].recipient)
            unnamed++;
    if (unnamed == 0)
        return;

    /* The addresses the notice names that the report does not hold yet. */
    bg_dsn_report *t = bg_xcalloc(1, sizeof *t);
    if (notice && cut > 0)
        dsn_text_scan(notice, cut, skip, NULL, t);
    const char *cand[BG_DSN_MAX_RCPTS];
    size_t n = 0;
    for (size_t i = 0; i < t->nrcpts; i++)
        if (t->rcpts[i].recipient && !in_report(r, t->rcpts[i].recipient))
            cand[n++] = t->rcpts[i].recipient;

    char *to = NULL;
    if (n == 0 && unnamed == 1 && r->nrcpts == 1 && orig) {
        to = dsn_addr_canon(bg_mime_headers_get(orig, "To"));
        if (to && (!skip || strcmp(to, skip) != 0))
            cand[n++] = to;
    }
    if (n == unnamed || (unnamed == 1 && n > 0)) {
        size_t k = 0;
        for (size_t i = 0; i < r->nrcpts && k < n; i++)
            if (!r->rcpts[i].recipient)
                r->rcpts[i].recipient = bg_xstrdup(cand[k++]);
    }
    free(to);
    bg_dsn_report_free(t);
}

/* qmail-remote's words for a connection that never got to SMTP. */
static bool
qmail_no_connection(const char *diag)
{
    static const char *const words[] = {
        "wasn't able to establish an smtp connection", "couldn't find a mail exchanger",
        "although i'm listed as a best-preference mx", NULL,
    };
    if (!diag)
        return false;
    size_t n = strlen(diag);
    for (size_t i = 0; words[i]; i++)
        if (dsn_memcasemem(diag, n, words[i]))
            return true;
    return false;
}

void
dsn_family_adjust(const char *notice, size_t len, bg_dsn_report *r)
{
    if (!notice || r->kind != BG_DSN_TEXT)
        return;
    size_t head = len < 512 ? len : 512;
    if (!dsn_memcasemem(notice, head, "this is the qmail-send program"))
        return;
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (rc->reason && (strcmp(rc->reason, "expired") == 0 ||
                           strcmp(rc->reason, "undefined") == 0 ||
                           strcmp(rc->reason, "systemerror") == 0) &&
            qmail_no_connection(rc->diagnostic)) {
            rc->reason = "networkerror";
            rc->hard = false;
        }
    }
}
