/*
 * dsn_text — recipients and diagnostics in human-readable bounces (Exim, qmail,
 * Exchange, Domino, the providers' own notices): where the returned message
 * starts, which addresses failed and what the remote server said of each.
 */
#ifndef BOUNCEGUARD_DSN_TEXT_H
#define BOUNCEGUARD_DSN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/dsn_report.h"

/*
 * Find recipients and their diagnostics in a human-readable notice text[len]
 * (already cut before the returned message) and add them to r.  skip1 and
 * skip2 are addresses that are never recipients (the notice's own From and
 * To), may be NULL.  Returns the number of recipients added.
 */
size_t dsn_text_scan(const char *text, size_t len, const char *skip1, const char *skip2,
                     bg_dsn_report *r);

/* The diagnostic that the notice text[len] gives for addr (the lines after
 * the address), collapsed, or NULL.  The caller frees the result. */
char *dsn_text_diag_for(const char *text, size_t len, const char *addr);

/* Where the returned original message starts inside a notice text[len]
 * (a "copy of the message follows" line or a block of header fields);
 * len when it is not found. */
size_t dsn_text_cut(const char *text, size_t len);

/* The remote server named in a diagnostic or notice ("host mx.example.com
 * [192.0.2.1] said"), or NULL.  The text is read up to len bytes or its
 * first NUL.  The caller frees the result. */
char *dsn_text_remote_mta(const char *text, size_t len);

#endif
