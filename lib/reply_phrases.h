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

#endif
