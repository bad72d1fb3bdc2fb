/*
 * textmatch.c — see include/bounceguard/textmatch.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "bounceguard/textmatch.h"
#include "bounceguard/util.h"

/* The bit of the pair p[0], p[1] in bg_text_pairs. */
static inline unsigned
pair_hash(const char *p)
{
    return ((unsigned)((unsigned char)p[0] & 63u) << 6) | ((unsigned char)p[1] & 63u);
}

/* How likely English text has byte c: higher for the more common letters
 * (" etaoinsrhldcumfpgwybvkxjqz", most common first), 0 for other bytes
 * (digits, punctuation, capitals). */
static const unsigned char byte_rank[256] = {
    [' '] = 27, ['e'] = 26, ['t'] = 25, ['a'] = 24, ['o'] = 23, ['i'] = 22, ['n'] = 21,
    ['s'] = 20, ['r'] = 19, ['h'] = 18, ['l'] = 17, ['d'] = 16, ['c'] = 15, ['u'] = 14,
    ['m'] = 13, ['f'] = 12, ['p'] = 11, ['g'] = 10, ['w'] = 9,  ['y'] = 8,  ['b'] = 7,
    ['v'] = 6,  ['k'] = 5,  ['x'] = 4,  ['j'] = 3,  ['q'] = 2,  ['z'] = 1,
};

/* byte_rank with the capitals ranked as their small letters, for needles in
 * either case (bg_text_find()). */
static const unsigned char byte_rank_ci[256] = {
    [' '] = 27, ['e'] = 26, ['t'] = 25, ['a'] = 24, ['o'] = 23, ['i'] = 22, ['n'] = 21,
    ['s'] = 20, ['r'] = 19, ['h'] = 18, ['l'] = 17, ['d'] = 16, ['c'] = 15, ['u'] = 14,
    ['m'] = 13, ['f'] = 12, ['p'] = 11, ['g'] = 10, ['w'] = 9,  ['y'] = 8,  ['b'] = 7,
    ['v'] = 6,  ['k'] = 5,  ['x'] = 4,  ['j'] = 3,  ['q'] = 2,  ['z'] = 1,  ['E'] = 26,
    ['T'] = 25, ['A'] = 24, ['O'] = 23, ['I'] = 22, ['N'] = 21, ['S'] = 20, ['R'] = 19,
    ['H'] = 18, ['L'] = 17, ['D'] = 16, ['C'] = 15, ['U'] = 14, ['M'] = 13, ['F'] = 12,
    ['P'] = 11, ['G'] = 10, ['W'] = 9,  ['Y'] = 8,  ['B'] = 7,  ['V'] = 6,  ['K'] = 5,
    ['X'] = 4,  ['J'] = 3,  ['Q'] = 2,  ['Z'] = 1,
};

static inline int
commonness(char c)
{
    return byte_rank[(unsigned char)c];
}

#define ONES UINT64_C(0x0101010101010101)

/* w with its ASCII capitals 'A'..'Z' made small; other bytes (bytes from
 * 0x80 too) kept.  Per byte: set the top bit when b & 0x7f >= 'A' and when
 * b & 0x7f > 'Z' (no carry can cross a byte: at most 0x7f + 0x3f), keep
 * the bytes with the first and not the second, ASCII only, and add 0x20. */
static inline uint64_t
lower8(uint64_t w)
{
    uint64_t low7 = w & (ONES * 0x7f);
    uint64_t ge_a = low7 + ONES * (0x80 - 'A');
    uint64_t gt_z = low7 + ONES * (0x80 - 'Z' - 1);
    uint64_t upper = ge_a & ~gt_z & ~w & (ONES * 0x80);
    return w | (upper >> 2);
}

void
bg_text_lower_copy(char *d, const char *s, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        w = lower8(w);
        memcpy(d + i, &w, 8);
    }
    for (; i < n; i++)
        d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
}

char *
bg_text_lower_dup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = bg_xmalloc(n + 1);

    bg_text_lower_copy(d, s, n);
    d[n] = '\0';
    return d;
}

static inline unsigned char
ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* The first byte of p[n] that is the small letter lo or its capital: the
 * two are the bytes whose value ORed with 0x20 is lo.  Sixteen bytes at a
 * time with SSE2 (one pass, where two memchr calls took turns at every
 * candidate), byte by byte elsewhere. */
static const char *
find_letter(const char *p, size_t n, unsigned char lo)
{
#ifdef __SSE2__
    const __m128i fold = _mm_set1_epi8(0x20), want = _mm_set1_epi8((char)lo);
    for (; n >= 16; p += 16, n -= 16) {
        __m128i v = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)p), fold);
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, want));
        if (mask)
            return p + __builtin_ctz(mask);
    }
#endif
    for (; n > 0; p++, n--)
        if (((unsigned char)*p | 0x20) == lo)
            return p;
    return NULL;
}

/*
 * bg_text_find() finds the candidates by one anchor byte.  The bounce parser's hottest
 * function: candidates for the anchor byte are found with memchr (both cases), which
 * glibc runs a word or a vector at a time, and only those are compared.
 */
static const char *
find_anchored(const char *hay, size_t len, const char *needle, size_t n, size_t k)
{
    if (hay == NULL) /* an empty bg_buf's string: nothing to find in it */
        return NULL;
    if (n == 0)
        return hay;
    if (n > len)
        return NULL;
    unsigned char lo = ascii_lower((unsigned char)needle[k]);
    unsigned char up = lo >= 'a' && lo <= 'z' ? (unsigned char)(lo - ('a' - 'A')) : lo;
    /* Each anchor hit is a possible start k bytes before it, in increasing
     * order, so the first match found is the first one. */
    const char *p = hay + k, *last = hay + (len - n) + k; /* the last possible anchor */

    while (p <= last) {
        size_t span = (size_t)(last - p) + 1;
        const char *c = up != lo ? find_letter(p, span, lo) : memchr(p, lo, span);
        size_t i;

        if (c == NULL)
            return NULL;
        const char *s = c - k;
        for (i = 0; i < n; i++)
            if (ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)needle[i]))
                break;
        if (i == n)
            return s;
        p = c + 1;
    }
    return NULL;
}

const char *
bg_text_find(const char *hay, size_t len, const char *needle)
{
    /* The anchor: the needle's first byte least common in text (capitals
     * ranked as their small letters); none is less common than a byte of
     * rank 0 (a digit, a punctuation mark), where the search stops. */
    size_t k = 0, n = strlen(needle);
    int best = 1000;
    for (size_t i = 0; i < n; i++) {
        int sc = byte_rank_ci[(unsigned char)needle[i]];
        if (sc < best) {
            best = sc;
            k = i;
            if (sc == 0)
                break;
        }
    }
    return find_anchored(hay, len, needle, n, k);
}

void
bg_text_pairs_init(bg_text_pairs *pp, const char *text, size_t len)
{
    memset(pp->bits, 0, sizeof pp->bits);
    const unsigned char *t = (const unsigned char *)text;
    size_t i = 0;
    /* Four pairs a round, each byte read once (pair_hash(): the first
     * byte's low six bits pick the word, the second's the bit). */
    for (; i + 4 < len; i += 4) {
        unsigned a = t[i], b = t[i + 1], c = t[i + 2], d = t[i + 3], e = t[i + 4];
        pp->bits[a & 63] |= UINT64_C(1) << (b & 63);
        pp->bits[b & 63] |= UINT64_C(1) << (c & 63);
        pp->bits[c & 63] |= UINT64_C(1) << (d & 63);
        pp->bits[d & 63] |= UINT64_C(1) << (e & 63);
    }
    for (; i + 1 < len; i++) {
        unsigned h = pair_hash(text + i);
        pp->bits[h >> 6] |= UINT64_C(1) << (h & 63);
    }
}

void
bg_text_needle_init(bg_text_needle *nd, const char *s)
{
    bg_text_needle_initn(nd, s, strlen(s));
}

void
bg_text_needle_initn(bg_text_needle *nd, const char *s, size_t n)
{
    int score[8] = {0};
    nd->s = s;
    nd->len = n;
    nd->npairs = 0;
    /* The eight pairs that English text is least likely to have, the
     * rarest first (bg_text_needle_may() stops at the first pair missing):
     * insertion into a list kept sorted. */
    for (size_t j = 0; j + 1 < n; j++) {
        int sc = commonness(s[j]) + commonness(s[j + 1]);
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
            nd->pairs[k] = (uint16_t)pair_hash(s + j);
        }
    }
}

void
bg_text_set_init(bg_text_set *set, const bg_text_needle *nd, size_t n)
{
    memset(set, 0, sizeof *set);
    set->n = n;
    if (n == 0 || (n + 63) / 64 > BG_TEXT_SET_WORDS)
        return;
    size_t nw = (n + 63) / 64, ngroups = 0;
    set->nwords = nw;
    set->group = bg_xcalloc(4096, sizeof *set->group);
    uint64_t *bits = bg_xcalloc(n * nw, sizeof *bits); /* each group's needles */
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = UINT64_C(1) << (i & 63);
        if (nd[i].npairs == 0) {
            set->always[i >> 6] |= bit;
            continue;
        }
        unsigned p = nd[i].pairs[0];
        if (!((set->keys[p >> 6] >> (p & 63)) & 1)) {
            set->keys[p >> 6] |= UINT64_C(1) << (p & 63);
            set->group[p] = (uint16_t)ngroups++;
        }
        bits[set->group[p] * nw + (i >> 6)] |= bit;
    }
    /* Each group as its nonzero words: no more words than needles. */
    set->first = bg_xcalloc(ngroups + 1, sizeof *set->first);
    set->words = bg_xcalloc(n, sizeof *set->words);
    size_t k = 0;
    for (size_t g = 0; g < ngroups; g++) {
        set->first[g] = k;
        for (size_t w = 0; w < nw; w++)
            if (bits[g * nw + w])
                set->words[k++] = (bg_text_set_word){bits[g * nw + w], w};
    }
    set->first[ngroups] = k;
    free(bits);
}

bool
bg_text_set_candidates(const bg_text_set *set, const bg_text_pairs *pp,
                       uint64_t cand[BG_TEXT_SET_WORDS])
{
    if (set->nwords == 0 && set->n > 0)
        return false;
    memcpy(cand, set->always, set->nwords * sizeof *cand);
    for (unsigned w = 0; w < 64; w++)
        for (uint64_t m = pp->bits[w] & set->keys[w]; m; m &= m - 1) {
            unsigned g = set->group[w * 64 + (unsigned)__builtin_ctzll(m)];
            for (size_t k = set->first[g]; k < set->first[g + 1]; k++)
                cand[set->words[k].word] |= set->words[k].bits;
        }
    return true;
}
