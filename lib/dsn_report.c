/*
 * dsn_report.c — see include/bounceguard/dsn_report.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "bounceguard/dsn_report.h"
#include "bounceguard/textmatch.h"

#define ONES UINT64_C(0x0101010101010101)

/* The classes of the bytes of an address, by table (isalnum() per byte cost
 * a call each): ADDR_LOCAL, ASCII letters and digits,
 * "!#$%&'*+/=?^_`{|}~.-" and all bytes from 0x80 (isalnum() is the C
 * locale's: ASCII only); ADDR_DOMAIN, letters, digits, ".-_" and all bytes
 * from 0x80. */
#define ADDR_LOCAL 1
#define ADDR_DOMAIN 2
static const unsigned char addr_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 3, 3, 1, /* 0x20 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 0, 1, /* 0x30 */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x40 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 3, /* 0x50 */
    1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 0, /* 0x70 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x80 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x90 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xA0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xB0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xC0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xD0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xE0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xF0 */
};

bool
bg_dsn_addr_byte(unsigned char c)
{
    return addr_class[c] & ADDR_LOCAL;
}

static bool
domain_char(unsigned char c)
{
    return addr_class[c] & ADDR_DOMAIN;
}

size_t
bg_dsn_addr_len(const char *s)
{
    const char *p = s;
    /* (NUL is of neither class: the loops stop there) */
    while (bg_dsn_addr_byte((unsigned char)*p) && p - s < 256)
        p++;
    if (p == s || *p != '@')
        return 0;
    const char *at = p++;
    const char *d = p;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close - p > 64)
            return 0;
        p = close + 1;
    } else {
        while (domain_char((unsigned char)*p) && p - d < 256)
            p++;
        while (p > d && (p[-1] == '.' || p[-1] == '-'))
            p--;
    }
    if (p == d || at == s)
        return 0;
    /* A local part does not start with a dot; URLs like a.b@c are fine. */
    return (size_t)(p - s);
}

/* The UTF-8 bytes of code point cp at d (room for 4); their count, 0 when
 * cp is no character an escape may stand for here: a control, a surrogate,
 * or an ASCII character other than the two xtext must escape ('+', '=') —
 * an escaped '@', '<' or '\\' would change where the address ends. */
static size_t
utf8_put(char *d, unsigned long cp)
{
    if ((cp < 0x80 && cp != '+' && cp != '=') || (cp >= 0xd800 && cp < 0xe000) ||
        cp > 0x10ffff)
        return 0;
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * A UTF-8 address written in ASCII, back in UTF-8: RFC 6533's
 * utf-8-addr-xtext "\x{7528}" (a code point in 1 to 6 hex digits) and
 * Exim's "\347" (a byte over 0x7f in three octal digits, as Exim prints a
 * non-ASCII byte in X-Failed-Recipients:, its notice's text and its
 * Diagnostic-Code).  NULL when s has no such escape.
 */
static char *
addr_unescape(const char *s)
{
    if (!strchr(s, '\\'))
        return NULL;
    size_t n = strlen(s);
    char *d = bg_xmalloc(n + 1), *o = d;
    bool any = false;
    for (const char *p = s; *p;) {
        if (p[0] == '\\' && p[1] == 'x' && p[2] == '{') {
            const char *h = p + 3;
            unsigned long cp = 0;
            size_t k = 0;
            while (k < 6 && isxdigit((unsigned char)h[k])) {
                cp = cp * 16 +
                     (unsigned long)(isdigit((unsigned char)h[k])
                                         ? h[k] - '0'
                                         : (tolower((unsigned char)h[k]) - 'a' + 10));
                k++;
            }
            size_t w;
            /* the encoded form is longer than its UTF-8: o stays behind p */
            if (k > 0 && h[k] == '}' && (w = utf8_put(o, cp)) > 0) {
                o += w;
                p = h + k + 1;
                any = true;
                continue;
            }
        } else if (p[0] == '\\' && (p[1] == '2' || p[1] == '3') && p[2] >= '0' &&
                   p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 4;
            any = true;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
    if (!any) {
        free(d);
        return NULL;
    }
    return d;
}

static char *addr_canon_plain(const char *s);

char *
bg_dsn_addr_canon(const char *s)
{
    if (!s)
        return NULL;
    char *un = addr_unescape(s);
    if (!un)
        return addr_canon_plain(s);
    char *res = addr_canon_plain(un);
    free(un);
    return res;
}

static char *
addr_canon_plain(const char *s)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *semi = strchr(p, ';');
    if (semi && semi - p < 16)
        p = semi + 1;
    for (; *p; p++) {
        if (*p == '@' || !bg_dsn_addr_byte((unsigned char)*p))
            continue;
        if (p > s && bg_dsn_addr_byte((unsigned char)p[-1]) && p[-1] != '\0')
            continue; /* only at the start of a token */
        size_t n = bg_dsn_addr_len(p);
        if (n) {
            /* Keep an RFC 5321 source route: "@relay.example:user@host". */
            if (p - s >= 3 && p[-1] == ':') {
                const char *r0 = p - 1;
                while (r0 > s && (domain_char((unsigned char)r0[-1]) || r0[-1] == '@' ||
                                  r0[-1] == ','))
                    r0--;
                if (*r0 == '@' && r0 + 2 < p - 1) {
                    n += (size_t)(p - r0);
                    p = r0;
                }
            }
            /* Strip a leading quote or dot left by the tokenising (p[n]
             * holds no NUL: bg_dsn_addr_len() stops at one). */
            while (n > 0 && (*p == '\'' || *p == '.' || *p == '`')) {
                p++;
                n--;
            }
            char *res = bg_text_lower_dup(p, n); /* trimmed below */
            size_t l = strlen(res);
            while (l > 0 && (res[l - 1] == '\'' || res[l - 1] == '.'))
                res[--l] = '\0';
            return res;
        }
    }
    return NULL;
}

bg_dsn_rcpt *
bg_dsn_rcpt_add(bg_dsn_report *r, const char *addr, bool *existed)
{
    if (existed)
        *existed = false;
    if (addr) {
        for (size_t i = 0; i < r->nrcpts; i++) {
            if (r->rcpts[i].recipient && strcmp(r->rcpts[i].recipient, addr) == 0) {
                if (existed)
                    *existed = true;
                return &r->rcpts[i];
            }
        }
    }
    if (r->nrcpts >= BG_DSN_MAX_RCPTS)
        return NULL;
    r->rcpts = bg_xrealloc(r->rcpts, (r->nrcpts + 1) * sizeof *r->rcpts);
    bg_dsn_rcpt *rc = &r->rcpts[r->nrcpts++];
    memset(rc, 0, sizeof *rc);
    rc->recipient = addr ? bg_xstrdup(addr) : NULL;
    rc->reason = "undefined";
    return rc;
}

void
bg_dsn_collapse(bg_buf *b, const char *s, size_t len)
{
    /* No locale is set: every isspace() byte is <= ' ', as the controls. */
    char out[BG_DSN_TEXT_MAX];
    size_t o = 0, room = b->len < BG_DSN_TEXT_MAX ? BG_DSN_TEXT_MAX - b->len : 0;
    bool space = b->len > 0 && b->s[b->len - 1] == ' ';
    size_t i = 0;
    while (i < len && o < room) {
#ifdef __SSE2__
        /* Most of a diagnostic is words between single spaces, which come
         * out as they are: sixteen bytes at a time up to the first byte
         * that does not, one below 0x21 other than a space, or a space
         * after such a byte (or after a space, or at the start of the text),
         * which is then read below. */
        if (i + 16 <= len && o + 16 <= room) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            /* bytes <= ' ' (unsigned), and bytes == ' ' */
            unsigned low = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(' ')), v));
            unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
            unsigned space_before = (low << 1) | (space || b->len + o == 0 ? 1u : 0u);
            unsigned stop = ((low & ~sp) | (sp & space_before)) & 0xffffu;
            size_t k = stop ? (size_t)__builtin_ctz(stop) : 16;
            _mm_storeu_si128((__m128i *)(void *)(out + o), v);
            o += k;
            i += k;
            if (k > 0)
                space = ((sp >> (k - 1)) & 1u) != 0;
            if (k == 16)
                continue;
        } else if (i + 8 <= len && o + 8 <= room) {
#else
        if (i + 8 <= len && o + 8 <= room) {
#endif
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

void
bg_dsn_cap_text(char *s, size_t max)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence in two */
    s[n] = '\0';
}

bg_dsn_report *
bg_dsn_report_free(bg_dsn_report *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        free(rc->recipient);
        free(rc->action);
        free(rc->status);
        free(rc->remote_mta);
        free(rc->diagnostic);
        free(rc->rbl);
        free(rc->diagnostic_type);
        free(rc->list);
        free(rc->delist);
        free(rc->rule);
    }
    free(r->rcpts);
    free(r->message_id);
    free(r->orig_message_id);
    free(r->orig_sender);
    free(r->reporting_mta);
    free(r->queue_id);
    for (size_t i = 0; i < r->nreceived_ids; i++)
        free(r->received_ids[i]);
    free(r);
    return NULL;
}
