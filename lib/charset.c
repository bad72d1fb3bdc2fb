/*
 * charset — MIME charsets to UTF-8 through iconv, with the shortcuts that
 * give iconv's output without it.  See include/bounceguard/charset.h.
 */
#include "bounceguard/charset.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
bg_charset_is_plain(const char *cs)
{
    return !cs || !*cs || strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "utf-8") == 0 ||
           strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "ascii") == 0 ||
           strcasecmp(cs, "unknown-8bit") == 0 || strcasecmp(cs, "x-unknown") == 0;
}

/*
 * iconv descriptors, kept per thread and per charset name: glibc loads (and
 * on close unloads) a gconv module at every iconv_open, which cost more than
 * the conversions themselves.  A failed open is remembered too.  Each
 * descriptor is used in its initial shift state and put back in it after use.
 */
#define ICONV_CACHE 8

typedef struct iconv_slot {
    char name[48];
    iconv_t cd;
} iconv_slot;

typedef struct iconv_cache {
    iconv_slot v[ICONV_CACHE];
    size_t n, next; /* used slots; the one replaced when all are used */
} iconv_cache;

static pthread_key_t iconv_key;
static pthread_once_t iconv_once = PTHREAD_ONCE_INIT;

static void
iconv_cache_free(void *p)
{
    iconv_cache *c = p;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].cd != (iconv_t)-1)
            iconv_close(c->v[i].cd);
    free(c);
}

static void
iconv_key_make(void)
{
    (void)pthread_key_create(&iconv_key, iconv_cache_free);
}

/* The descriptor converting charset (at most 40 bytes) to UTF-8, or
 * (iconv_t)-1 when iconv does not know it.  *owned is set when the cache
 * could not be made (the caller closes the descriptor then). */
static iconv_t
cached_iconv(const char *charset, bool *owned)
{
    *owned = false;
    pthread_once(&iconv_once, iconv_key_make);
    iconv_cache *c = pthread_getspecific(iconv_key);
    if (!c) {
        c = bg_xcalloc(1, sizeof *c);
        if (pthread_setspecific(iconv_key, c) != 0) {
            free(c);
            *owned = true;
            return iconv_open("UTF-8", charset);
        }
    }
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, charset) == 0)
            return c->v[i].cd;
    iconv_slot *s;
    if (c->n < ICONV_CACHE) {
        s = &c->v[c->n++];
    } else {
        s = &c->v[c->next];
        c->next = (c->next + 1) % ICONV_CACHE;
        if (s->cd != (iconv_t)-1)
            iconv_close(s->cd);
    }
    bg_strlcpy(s->name, charset, sizeof s->name);
    s->cd = iconv_open("UTF-8", charset);
    return s->cd;
}

/* true for the single-byte charsets (that glibc's iconv knows) whose bytes
 * 0x00-0x7f are ASCII: text in them without a byte from 0x80 is already
 * UTF-8.  ISO 8859-1 to -16 (there is no -12), windows-1250 to -1254,
 * -1256 and -1257 (1255 and 1258 compose characters), KOI8-R and -U. */
static bool
ascii_superset(const char *cs)
{
    static const struct {
        const char *prefix;
        int lo, hi;
    } families[] = {
        {"iso-8859-", 1, 16}, {"iso8859-", 1, 16}, {"iso_8859-", 1, 16},
        {"windows-", 1250, 1257}, {"cp", 1250, 1257},
    };
    if (strcasecmp(cs, "koi8-r") == 0 || strcasecmp(cs, "koi8-u") == 0)
        return true;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        size_t n = strlen(families[i].prefix);
        if (strncasecmp(cs, families[i].prefix, n) != 0)
            continue;
        const char *p = cs + n;
        int v = 0, d = 0;
        while (p[d] >= '0' && p[d] <= '9' && d < 5)
            v = v * 10 + (p[d++] - '0');
        return d > 0 && p[d] == '\0' && p[0] != '0' && v >= families[i].lo &&
               v <= families[i].hi && v != 12 && v != 1255;
    }
    return false;
}

#define ONES UINT64_C(0x0101010101010101) /* one in each byte of a word */

/* The length of the run at the start of s[len] of ASCII bytes other than
 * stop (a byte from 0x80 when stop is 0x80, which every byte differs
 * from): eight bytes at a time while none ends it, then byte by byte. */
static size_t
ascii_run(const char *s, size_t len, unsigned char stop)
{
    size_t i = 0;
    for (uint64_t w; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        uint64_t x = w ^ (ONES * stop); /* a zero byte where w has stop */
        if ((w | ((x - ONES) & ~x)) & ONES * 0x80)
            break;
    }
    while (i < len && (unsigned char)s[i] < 0x80 && (unsigned char)s[i] != stop)
        i++;
    return i;
}

/* The length of the run of ASCII bytes at the start of s[len]. */
static size_t
ascii_len(const char *s, size_t len)
{
    return ascii_run(s, len, 0x80);
}

/* Convert src[len] with cd (in its initial state), appending to out: a
 * byte that does not convert becomes '?' and puts cd back in its initial
 * state.  cd is left in its initial state. */
static void
iconv_append(iconv_t cd, const char *src, size_t len, bg_buf *out)
{
    char *in = (char *)src;
    size_t inleft = len;
    char tmp[4096];
    while (inleft > 0) {
        char *o = tmp;
        size_t oleft = sizeof tmp;
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        bg_buf_append(out, tmp, (size_t)(o - tmp));
        if (r == (size_t)-1) {
            if (errno == E2BIG)
                continue;
            /* EILSEQ or EINVAL: replace one byte and go on. */
            bg_buf_putc(out, '?');
            in++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
    }
    char *o = tmp;
    size_t oleft = sizeof tmp;
    iconv(cd, NULL, NULL, &o, &oleft); /* flush shift state */
    bg_buf_append(out, tmp, (size_t)(o - tmp));
    iconv(cd, NULL, NULL, NULL, NULL); /* the initial state for the next use */
}

/*
 * ISO-2022-JP is ASCII until an escape sequence switches to JIS X 0208 (or
 * JIS X 0201), and Japanese bounces are mostly ASCII: only the stretches
 * from an ESC (or a byte from 0x80, which iconv refuses) to the next
 * ESC ( B, which switches back to ASCII, go through iconv.  In the ASCII
 * state iconv gives every byte below 0x80 but ESC as it is, and each
 * stretch starts and ends in that state, so the output is iconv's, byte for
 * byte (the unit tests compare the two on random text).
 */
static void
iso2022jp_append(iconv_t cd, const char *src, size_t len, bg_buf *out)
{
    static const char to_ascii[3] = {0x1b, '(', 'B'};
    size_t i = 0;
    while (i < len) {
        size_t run = i + ascii_run(src + i, len - i, 0x1b);
        bg_buf_append(out, src + i, run - i);
        if (run == len)
            break;
        const char *back = memmem(src + run, len - run, to_ascii, sizeof to_ascii);
        size_t stop = back ? (size_t)(back - src) + sizeof to_ascii : len;
        iconv_append(cd, src + run, stop - run, out);
        i = stop;
    }
}

bool
bg_charset_to_utf8(const char *charset, const char *src, size_t len, bg_buf *out)
{
    if (bg_charset_is_plain(charset) || strlen(charset) > 40) {
        bg_buf_append(out, src, len);
        return false;
    }
    if (ascii_superset(charset) && ascii_len(src, len) == len) {
        /* What iconv would give, without it. */
        bg_buf_append(out, src, len);
        return true;
    }
    if (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "iso8859-1") == 0 ||
        strcasecmp(charset, "latin1") == 0) { /* code points 0-255: as iconv, without it */
        for (size_t i = 0; i < len; i++) {
            size_t run = ascii_len(src + i, len - i);
            bg_buf_append(out, src + i, run);
            unsigned c = (i += run) < len ? (unsigned char)src[i] : 0; /* i == len: ends */
            if (c)
                bg_buf_append(out, (char[]){(char)(0xc0 | c >> 6), (char)(0x80 | (c & 63))}, 2);
        }
        return true;
    }
    bool owned;
    iconv_t cd = cached_iconv(charset, &owned);
    if (cd == (iconv_t)-1) {
        bg_buf_append(out, src, len);
        return false;
    }
    if (strcasecmp(charset, "iso-2022-jp") == 0)
        iso2022jp_append(cd, src, len, out);
    else
        iconv_append(cd, src, len, out);
    if (owned)
        iconv_close(cd);
    return true;
}

