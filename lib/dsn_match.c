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

const unsigned char dsn_byte_rank[256] = {
    [' '] = 27, ['e'] = 26, ['t'] = 25, ['a'] = 24, ['o'] = 23, ['i'] = 22, ['n'] = 21,
    ['s'] = 20, ['r'] = 19, ['h'] = 18, ['l'] = 17, ['d'] = 16, ['c'] = 15, ['u'] = 14,
    ['m'] = 13, ['f'] = 12, ['p'] = 11, ['g'] = 10, ['w'] = 9,  ['y'] = 8,  ['b'] = 7,
    ['v'] = 6,  ['k'] = 5,  ['x'] = 4,  ['j'] = 3,  ['q'] = 2,  ['z'] = 1,
};

void
dsn_needle_init(dsn_needle *nd, const char *s)
{
    dsn_needle_initn(nd, s, strlen(s));
}

void
dsn_needle_initn(dsn_needle *nd, const char *s, size_t n)
{
    int score[8] = {0};
    nd->s = s;
    nd->len = n;
    nd->npairs = 0;
    /* The eight pairs that English text is least likely to have, the
     * rarest first (dsn_needle_may() stops at the first pair missing):
     * insertion into a list kept sorted. */
    for (size_t j = 0; j + 1 < n; j++) {
        int sc = dsn_byte_commonness(s[j]) + dsn_byte_commonness(s[j + 1]);
        size_t k = nd->npairs < 8 ? nd->npairs++ : 8;
        while (k > 0 && score[k - 1] > sc) {
            if (k < 8) {
                score[k] = score[k - 1];
                nd->pairs[k] = nd->pairs[k - 1];
            }
            k--;
        }
        if (k < 8) {
            score[k] = sc;
            nd->pairs[k] = (uint16_t)dsn_pair_hash(s + j);
        }
    }
}
