/*
 * reply_phrases — the classifier's generic phrase tables: which reason a remote
 * server's words name, in several languages, tried in a fixed order
 * (specific before generic).  The long tail that no provider row decides.
 */
#ifndef BOUNCEGUARD_REPLY_PHRASES_H
#define BOUNCEGUARD_REPLY_PHRASES_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/textmatch.h"

/* The reason that the phrases of the lower-case text low (pp: its byte
 * pairs, bg_text_pairs_init()) name, NULL when none matches;
 * *phrase (phrase may be NULL) gets the phrase that matched. */
const char *reply_phrase_reason(const char *low, const bg_text_pairs *pp,
                                const char **phrase);

/* The reporting MTA's own words for a failure no server spoke in: a
 * connection that failed (networkerror) overrides text, the reason
 * reply_phrase_reason() found; else text.  *broken_mx: text is hostunknown
 * for an MX host that does not resolve (Exim's "all relevant MX records
 * point to non-existent hosts", Postfix's name service error for a name
 * other than the recipient's domain), not for the domain itself. */
const char *reply_phrase_own_network(const char *low, const char *text,
                                     const char *recipient, const char **phrase,
                                     bool *broken_mx);

/* true when text is the MTA's own words for a connection that failed
 * before any server spoke (Postfix's "connect to mx.example.com[192.0.2.1]:25:
 * Connection refused"). */
bool reply_phrase_own_connect(const char *text);

#endif
