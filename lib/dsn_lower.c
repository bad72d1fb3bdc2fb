/*
 * dsn_lower — lower-case copies of texts for the DSN parser's searches,
 * eight bytes at a time.  See dsn_lower_dup() in dsn_priv.h.
 */
#include <stdint.h>
#include <string.h>

#include "dsn_priv.h"

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

char *
dsn_lower_dup(const char *s, size_t max)
{
    size_t n = strnlen(s, max), i = 0;
    char *d = bg_xmalloc(n + 1);

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        w = lower8(w);
        memcpy(d + i, &w, 8);
    }
    for (; i < n; i++)
        d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    d[n] = '\0';
    return d;
}
