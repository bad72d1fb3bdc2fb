/*
 * textmatch — the one substring matcher of the bounce parser and the reply
 * classifier: a case-insensitive search that jumps between the needle's
 * rarest byte (bg_text_find()), lower-case copies to search in
 * (bg_text_lower_dup()), and a quick rejection for the hundreds of phrases
 * the classifier looks for in one short text: a text's byte pairs are noted
 * once (bg_text_pairs_init()), and a needle with a pair the text lacks is
 * never searched for (bg_text_needle_may()).
 */
#ifndef BOUNCEGUARD_TEXTMATCH_H
#define BOUNCEGUARD_TEXTMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first place of needle in hay[len], ignoring ASCII case, or NULL
 * (also for a NULL hay).  hay need not be NUL-terminated. */
const char *bg_text_find(const char *hay, size_t len, const char *needle);

/* A copy of s (at most max bytes, up to a NUL) with ASCII capitals made
 * small; the caller frees it. */
char *bg_text_lower_dup(const char *s, size_t max);

/* Copy n bytes of src to dst with ASCII capitals made small (NUL bytes are
 * copied like any other; dst gets no terminator). */
void bg_text_lower_copy(char *dst, const char *src, size_t n);

/* The byte pairs that a text holds: a 4096-bit set of the low six bits of
 * both bytes (exact for lower-case ASCII letters, digits and most
 * punctuation). */
typedef struct bg_text_pairs {
    uint64_t bits[64];
} bg_text_pairs;

/* A needle with the (at most eight) pairs English text is least likely to
 * have, the rarest first, that bg_text_needle_may() checks. */
typedef struct bg_text_needle {
    const char *s;
    size_t len;
    uint16_t pairs[8];
    size_t npairs;
} bg_text_needle;

/* Note the byte pairs of text[len]. */
void bg_text_pairs_init(bg_text_pairs *pp, const char *text, size_t len);

/* Prepare the NUL-terminated needle s (kept by reference) for
 * bg_text_needle_may(). */
void bg_text_needle_init(bg_text_needle *nd, const char *s);
/* The same for the first n bytes of s (a needle with a wildcard after it). */
void bg_text_needle_initn(bg_text_needle *nd, const char *s, size_t n);

/*
 * A table of needles, grouped by each one's rarest pair (pairs[0]), for the
 * classifier's tables of hundreds of phrases: a text's candidates are the
 * groups whose pair it holds, found from the 64 words of its pairs, not by
 * a test per needle.  Made once (bg_text_set_init()), then read-only: any
 * number of threads may ask it at once.
 */
#define BG_TEXT_SET_WORDS 32 /* candidates as bits: 2048 needles at most */

/* A group's needles in one word of the candidates: a group holds a few
 * needles, so it is kept as its nonzero words only. */
typedef struct bg_text_set_word {
    uint64_t bits;
    size_t word;
} bg_text_set_word;

typedef struct bg_text_set {
    size_t n, nwords;  /* needles; words of their bits (0: no groups) */
    uint64_t keys[64]; /* the pairs that are some group's */
    uint16_t *group;   /* pair -> group, for the pairs in keys */
    size_t *first;     /* group g's words: words[first[g]] to words[first[g + 1]] */
    bg_text_set_word *words;
    uint64_t always[BG_TEXT_SET_WORDS]; /* needles without a pair */
} bg_text_set;

/* Group the n needles nd[] (their pairs only are read; a set is never
 * freed). */
void bg_text_set_init(bg_text_set *set, const bg_text_needle *nd, size_t n);

/* The needles of set that may occur in the text whose pairs pp holds, as
 * bits in table order (needle i: bit i % 64 of cand[i / 64]), in
 * set->nwords words.  false, cand untouched, when the set has more than
 * BG_TEXT_SET_WORDS * 64 needles: the caller tests them all. */
bool bg_text_set_candidates(const bg_text_set *set, const bg_text_pairs *pp,
                            uint64_t cand[BG_TEXT_SET_WORDS]);

/* false when the needle cannot occur in the text whose pairs pp holds;
 * true when it may.  Inline: the classifier asks it for every phrase. */
static inline bool
bg_text_needle_may(const bg_text_pairs *pp, const bg_text_needle *nd)
{
    for (size_t k = 0; k < nd->npairs; k++)
        if (!((pp->bits[nd->pairs[k] >> 6] >> (nd->pairs[k] & 63)) & 1u))
            return false;
    return true;
}

#endif
