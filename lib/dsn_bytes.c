/*
 * dsn_bytes — the DSN parser's byte loops that run eight bytes at a time:
 * lower-case copies for its searches (dsn_lower_dup()), white space
 * collapsed in diagnostics (dsn_collapse()), and a case-insensitive search
 * that jumps between the needle's rarest byte (dsn_memcasemem()); see
 * dsn_priv.h.
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

void
dsn_collapse(bg_buf *b, const char *s, size_t len)
{
    /* No locale is set: every isspace() byte is <= ' ', as the controls. */
    char out[BG_DSN_TEXT_MAX];
    size_t o = 0, room = b->len < BG_DSN_TEXT_MAX ? BG_DSN_TEXT_MAX - b->len : 0;
    bool space = b->len > 0 && b->s[b->len - 1] == ' ';
    size_t i = 0;
    while (i < len && o < room) {
        if (i + 8 <= len && o + 8 <= room) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            /* The bytes before the first one below 0x21 (bytes from 0x80
             * count as above; the lowest flag is exact) are copied as they
             * are. */
            uint64_t m = (w - ONES * 0x21) & ~w & (ONES * 0x80);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            size_t k = m ? (size_t)__builtin_ctzll(m) / 8 : 8;
#else
            size_t k = m ? 0 : 8;
#endif
            memcpy(out + o, &w, 8);
            o += k;
            i += k;
            if (k > 0)
                space = false;
            if (k == 8)
                continue;
        }
        unsigned char c = (unsigned char)s[i++];
        if (c > ' ') {
            out[o++] = (char)c;
            space = false;
        } else if (c != '\0') {
            if (!space && b->len + o > 0)
                out[o++] = ' ';
            space = true;
        }
    }
    if (o)
        bg_buf_append(b, out, o);
}

static inline unsigned char
lower1(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

const char *
dsn_memcasemem(const char *hay, size_t len, const char *needle)
{
    /* The anchor: the needle's byte least common in text. */
    size_t k = 0;
    int best = 1000;
    for (size_t j = 0; needle[j]; j++) {
        int sc = dsn_byte_commonness((char)lower1((unsigned char)needle[j]));
        if (sc < best) {
            best = sc;
            k = j;
        }
    }
    return bg_memcasemem_anchored(hay, len, needle, k);
}

void
dsn_cap_text(char *s, size_t max)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence in two */
    s[n] = '\0';
}
