/*
 * dsn_match — quick rejection for the classifier's substring searches.
 *
 * The classifier looks for hundreds of phrases in one short lower-case
 * text.  dsn_pairs_init() notes which byte pairs the text holds (a 4096-bit
 * set: the low six bits of both bytes, exact for lower-case ASCII letters,
 * digits and most punctuation); a needle that has a pair not in the set
 * cannot be in the text, so strstr() runs only for the needles that may be.
 */
#include <string.h>

#include "dsn_priv.h"

void
dsn_pairs_init(dsn_pairs *pp, const char *text, size_t len)
{
    memset(pp->bits, 0, sizeof pp->bits);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned h = dsn_pair_hash(text + i);
        pp->bits[h >> 6] |= UINT64_C(1) << (h & 63);
    }
}

void
dsn_needle_init(dsn_needle *nd, const char *s)
{
    size_t n = strlen(s);
    nd->s = s;
    nd->len = n;
    nd->npairs = 0;
    if (n < 2)
        return;
    /* The first and the last pair, and up to six spread in between (all
     * of them for a short needle). */
    size_t m = n - 2, want = m < 7 ? m + 1 : 8;
    nd->pairs[nd->npairs++] = (uint16_t)dsn_pair_hash(s);
    nd->pairs[nd->npairs++] = (uint16_t)dsn_pair_hash(s + m);
    for (size_t k = 2; k < want; k++)
        nd->pairs[nd->npairs++] = (uint16_t)dsn_pair_hash(s + m * (k - 1) / (want - 1));
}
