/*
 * mime — header blocks, encoded words, transfer encodings, charsets and the
 * multipart walk.  See include/bounceguard/mime.h for the contract.
 */
#include "bounceguard/mime.h"

#include "bounceguard/charset.h"
#include "bounceguard/textmatch.h"

#include <assert.h>
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- header blocks ---------------------------------------------------- */

#define ONES UINT64_C(0x0101010101010101) /* one in each byte of a word */

/* End of the line starting at p (pointing at '\n' or end). */
static const char *
line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

static bool
is_blank_line(const char *p, const char *e)
{
    /* A line that ends in another byte (before its CR) is not blank: most
     * do, and continuation lines start with many blanks. */
    const char *q = e > p && e[-1] == '\r' ? e - 1 : e;
    if (q > p && q[-1] != '\r' && q[-1] != ' ' && q[-1] != '\t')
        return false;
    while (p < e && (*p == '\r' || *p == ' ' || *p == '\t'))
        p++;
    return p == e;
}

/* A value as it is unfolded, line by line: its length so far and its last
 * byte. */
typedef struct fold {
    size_t len;
    char last;
} fold;

/* Add line [p, e) of a field to the value f, written at out + f->len:
 * leading blanks, trailing CR and blanks dropped, an empty line adds
 * nothing, a continuation line is joined with one space; at most
 * BG_MIME_MAX_VALUE bytes. */
static void
fold_line(fold *f, const char *p, const char *e, bool continuation, char *out)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (p == e || f->len >= BG_MIME_MAX_VALUE)
        return;
    size_t n = (size_t)(e - p);
    if (continuation && f->len > 0) {
        out[f->len++] = ' ';
        f->last = ' ';
    }
    if (f->len + n > BG_MIME_MAX_VALUE)
        n = BG_MIME_MAX_VALUE - f->len;
    if (n == 0)
        return;
    memcpy(out + f->len, p, n);
    f->len += n;
    f->last = p[n - 1];
}

/* The length of the run at the start of s[n] of bytes '!' to '~' other
 * than ':' (a field name's): eight bytes at a time, each byte flagged
 * exactly (no carry crosses a byte: the sums are of seven-bit values). */
static size_t
name_len(const char *s, size_t n)
{
    size_t i = 0;
    for (uint64_t w; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        uint64_t low7 = w & ONES * 0x7f, x = low7 ^ ONES * ':';
        uint64_t stop = (w | ~(low7 + ONES * (0x80 - 0x21)) | (low7 + ONES) |
                         ~((x + ONES * 0x7f) | x)) &
                        ONES * 0x80;
        if (stop) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)__builtin_ctzll(stop) / 8;
#else
            break;
#endif
        }
    }
    while (i < n && (unsigned char)(s[i] - 33) < 94 && s[i] != ':')
        i++;
    return i;
}

/* What the header parser needs of a value being read: whether it is empty
 * so far and its last byte (does it end in ';'?).  Line [p, e) is added as
 * fold_line() would, without the length limit: once a value reaches
 * BG_MIME_MAX_VALUE, whether more lines join it no longer changes it. */
static inline void
value_track(fold *f, const char *p, const char *e)
{
    while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e > p) { /* e[-1] is no blank: the line is not empty */
        f->len = 1;
        f->last = e[-1];
    }
}

/* The fields of a block, gathered (on the stack while they are few) before
 * they are added to h at once. */
#define FIELDS_ON_STACK 64

typedef struct fieldlist {
    bg_mime_field *v;
    size_t n, cap;
    bg_mime_field stack[FIELDS_ON_STACK];
} fieldlist;

static void
fields_grow(fieldlist *fl)
{
    fl->cap *= 2;
    fl->v = fl->v == fl->stack
                ? memcpy(bg_xmalloc(fl->cap * sizeof *fl->v), fl->stack, sizeof fl->stack)
                : bg_xrealloc(fl->v, fl->cap * sizeof *fl->v);
}

/* The slot of the next field (read in place, kept by fl->n++). */
static inline bg_mime_field *
fields_next(fieldlist *fl)
{
    if (fl->n == fl->cap)
        fields_grow(fl);
    return &fl->v[fl->n];
}

size_t
bg_mime_headers_parse(const char *data, size_t len, bg_mime_headers *h)
{
    const char *p = data, *end = data + len;
    fieldlist fl;
    bg_mime_field *cur = NULL; /* fl.v[fl.n], while open */
    fl.v = fl.stack;
    fl.n = 0;
    fl.cap = FIELDS_ON_STACK;
    fold value = {0, 0}; /* of cur, while open (value_track()) */
    bool open = false;   /* a field is being read */

    if (len >= 5 && memcmp(p, "From ", 5) == 0) {
        p = line_end(p, end);
        if (p < end)
            p++;
    }
    while (p < end) {
        const char *e = line_end(p, end);
        const char *next = e < end ? e + 1 : end;
        /* (a line that starts with another byte, a field's, is not blank) */
        bool starts_blank = p == e || *p == ' ' || *p == '\t' || *p == '\r';
        if (starts_blank && is_blank_line(p, e)) {
            p = next;
            break;
        }
        if (*p == ' ' || *p == '\t') {
            if (open) {
                value_track(&value, p, e);
                cur->raw_len = (size_t)(e - cur->raw);
            }
            p = next;
            continue;
        }
        /* A field name is printable ASCII without spaces (trailing spaces
         * before the colon are tolerated) and shorter than 128 bytes: read
         * up to the first byte that is not '!'..'~' or is the colon. */
        const char *q = p + name_len(p, (size_t)(e - p) < 128 ? (size_t)(e - p) : 128);
        const char *colon = q;
        while (colon < e && (*colon == ' ' || *colon == '\t'))
            colon++;
        bool field = colon < e && *colon == ':' && q > p && q - p < 128;
        /* Some mailers fold a parameter list without the leading white
         * space ("Content-Type: multipart/mixed;" then "boundary=..." at the
         * start of the next line): a line that is no field after a value
         * ending in ';' continues it. */
        if (!field && open && value.len > 0 && value.last == ';') {
            value_track(&value, p, e);
            cur->raw_len = (size_t)(e - cur->raw);
            p = next;
            continue;
        }
        if (open && h->n + fl.n < BG_MIME_MAX_HEADERS)
            fl.n++; /* kept (past the limit, its slot is read into again) */
        open = false;
        if (field) {
            cur = fields_next(&fl);
            *cur = (bg_mime_field){p, (size_t)(q - p), colon + 1, (size_t)(e - colon - 1), NULL};
            value = (fold){0, 0};
            value_track(&value, colon + 1, e);
            open = true;
        }
        p = next;
    }
    if (open && h->n + fl.n < BG_MIME_MAX_HEADERS)
        fl.n++;
    if (fl.n > 0) {
        h->v = bg_xrealloc(h->v, (h->n + fl.n) * sizeof *h->v);
        memcpy(h->v + h->n, fl.v, fl.n * sizeof *fl.v);
        h->n += fl.n;
    }
    if (fl.v != fl.stack)
        free(fl.v);
    return (size_t)(p - data);
}

struct bg_mime_pool {
    struct bg_mime_pool *next; /* the chunk filled before */
    size_t used, size;
    char bytes[];
};

/* The values of a header block are unfolded into chunks of at least
 * POOL_CHUNK bytes, not one allocation each (chunk and header in 1 KB: what
 * glibc's thread cache keeps). */
#define POOL_CHUNK (1024 - sizeof(struct bg_mime_pool))

/* Room for n bytes in h's pool, at the end of chunk *in (where the unused
 * end can be given back). */
static char *
pool_take(const bg_mime_headers *h, size_t n, struct bg_mime_pool **in)
{
    struct bg_mime_pool **pool = (struct bg_mime_pool **)&h->pool, *c = *pool;
    if (!c || c->size - c->used < n) {
        size_t size = n > POOL_CHUNK ? n : POOL_CHUNK;
        c = bg_xmalloc(sizeof *c + size);
        c->next = *pool;
        c->used = 0;
        c->size = size;
        *pool = c;
    }
    char *out = c->bytes + c->used;
    c->used += n;
    *in = c;
    return out;
}

void
bg_mime_headers_clear(bg_mime_headers *h)
{
    for (struct bg_mime_pool *c = h->pool, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(h->v);
    h->v = NULL;
    h->n = 0;
    h->pool = NULL;
}

const char *
bg_mime_headers_value(const bg_mime_headers *h, size_t i)
{
    bg_mime_field *f = &h->v[i];
    if (f->value)
        return f->value;
    /* The unfolded value is never longer than the field's lines: every
     * joining space stands for at least one line end. */
    struct bg_mime_pool *chunk;
    char *out = pool_take(h, f->raw_len + 1, &chunk);
    fold value = {0, 0};
    const char *p = f->raw, *end = f->raw + f->raw_len;
    for (bool continuation = false;; continuation = true) {
        const char *e = line_end(p, end);
        fold_line(&value, p, e, continuation, out);
        if (e == end)
            break;
        p = e + 1;
    }
    size_t n = strnlen(out, value.len); /* up to a NUL */
    while (n > 0 && (out[n - 1] == ' ' || (out[n - 1] >= '\t' && out[n - 1] <= '\r')))
        n--; /* isspace() without a locale */
    out[n] = '\0';
    chunk->used -= f->raw_len - n; /* give back what the value did not need */
    f->value = out;
    return out;
}

const char *
bg_mime_headers_getn(const bg_mime_headers *h, const char *name, size_t len)
{
    int first = name[0] | 0x20; /* names are ASCII: equal ignoring case, equal here */
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].name_len == len && (h->v[i].name[0] | 0x20) == first &&
            strncasecmp(h->v[i].name, name, len) == 0)
            return bg_mime_headers_value(h, i);
    return NULL;
}

char *
bg_mime_param(const char *value, const char *param)
{
    size_t plen = strlen(param);
    const char *p = value;
    bool quoted = false;

    if (!value)
        return NULL;
    /* Only quotes and semicolons matter: strcspn skips the bytes between. */
    for (; *(p += strcspn(p, "\";")); p++) {
        if (*p == '"')
            quoted = !quoted;
        if (quoted || *p != ';')
            continue;
        const char *q = p + 1 + strspn(p + 1, " \t");
        if (strncasecmp(q, param, plen) != 0)
            continue;
        q += plen + strspn(q + plen, " \t");
        if (*q != '=')
            continue;
        q += 1 + strspn(q + 1, " \t");
        bool qv = *q == '"'; /* a quoted value, up to the next quote */
        q += qv;
        size_t n = qv ? strlen(q) : strcspn(q, "; \t\n\v\f\r"); /* isspace(), no locale */
        char *out = bg_xmalloc(n + 1), *o = out;
        for (const char *e = q + n; q < e && !(qv && *q == '"'); q++) {
            if (qv && *q == '\\' && q[1])
                q++;
            *o++ = *q;
        }
        *o = '\0';
        return out;
    }
    return NULL;
}

char *
bg_mime_content_type(const char *value)
{
    const char *p = value, *s;
    if (!p)
        return bg_xstrdup("text/plain");
    p += strspn(p, " \t\n\v\f\r"); /* isspace() without a locale */
    s = p;
    p += strcspn(p, "; \t\n\v\f\r"); /* to a ';' or isspace(), no locale */
    if (p == s || !memchr(s, '/', (size_t)(p - s)))
        return bg_xstrdup("text/plain");
    return bg_text_lower_dup(s, (size_t)(p - s)); /* copied and lowered in one pass */
}

/* ---- transfer encodings and charsets ---------------------------------- */

/* Each base64 digit's value plus one (both alphabets: "+/" and "-_"); 0 for
 * the bytes that are no digit. */
static const unsigned char b64p1[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['-'] = 63,
    ['/'] = 64, ['_'] = 64,
};

void
bg_mime_decode_base64(const char *src, size_t len, bg_buf *out)
{
    unsigned acc = 0;
    int bits = 0;
    /* At most three bytes for every four digits (and one more for a
     * trailing partial quantum): written in place. */
    unsigned char *o = (unsigned char *)bg_buf_room(out, len / 4 * 3 + 3), *o0 = o;
    const unsigned char *s = (const unsigned char *)src, *end = s + len;
    while (s < end) {
        int d0, d1, d2, d3; /* four digits, three bytes */
        while (bits == 0 && end - s >= 4 &&
               ((d0 = b64p1[s[0]] - 1) | (d1 = b64p1[s[1]] - 1) | (d2 = b64p1[s[2]] - 1) |
                (d3 = b64p1[s[3]] - 1)) >= 0) {
            unsigned q = (unsigned)d0 << 18 | (unsigned)d1 << 12 | (unsigned)d2 << 6 | (unsigned)d3;
            o[0] = (unsigned char)(q >> 16);
            o[1] = (unsigned char)(q >> 8);
            o[2] = (unsigned char)q;
            o += 3;
            s += 4;
        }
        if (s == end || *s == '=')
            break;
        int v = (int)b64p1[*s++] - 1;
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    bg_buf_grew(out, (size_t)(o - o0));
}

static int
hexval(unsigned char c)
{
    c = (unsigned char)tolower(c); /* digits stay as they are */
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void
bg_mime_decode_qp(const char *src, size_t len, bg_buf *out)
{
    size_t i = 0;
    while (i < len) {
        char c = src[i];
        if (c != '=') {
            /* The run up to the next '=' as it is. */
            const char *eq = memchr(src + i, '=', len - i);
            size_t run = eq ? (size_t)(eq - (src + i)) : len - i;
            bg_buf_append(out, src + i, run);
            i += run;
            continue;
        }
        /* Soft line break: "=" then optional white space then (CR)LF. */
        size_t j = i + 1;
        while (j < len && (src[j] == ' ' || src[j] == '\t'))
            j++;
        if (j < len && src[j] == '\r')
            j++;
        if (j < len && src[j] == '\n') {
            i = j + 1;
            continue;
        }
        if (j >= len)
            break;
        if (i + 2 < len && hexval((unsigned char)src[i + 1]) >= 0 &&
            hexval((unsigned char)src[i + 2]) >= 0) {
            bg_buf_putc(out, (char)(hexval((unsigned char)src[i + 1]) * 16 +
                                    hexval((unsigned char)src[i + 2])));
            i += 3;
            continue;
        }
        bg_buf_putc(out, '=');
        i++;
    }
}

/* ---- RFC 2047 encoded words ------------------------------------------- */

/* Try to decode one encoded word at s; on success append the text to out and
 * return its length in s, else 0. */
static size_t
decode_word(const char *s, bg_buf *out)
{
    if (s[0] != '=' || s[1] != '?')
        return 0;
    const char *cs = s + 2;
    const char *q1 = strchr(cs, '?');
    if (!q1 || q1 - cs > 40 || q1 == cs)
        return 0;
    char enc = (char)toupper((unsigned char)q1[1]);
    if ((enc != 'B' && enc != 'Q') || q1[2] != '?')
        return 0;
    const char *txt = q1 + 3;
    const char *q2 = strstr(txt, "?=");
    if (!q2 || memchr(txt, ' ', (size_t)(q2 - txt)))
        return 0;
    char charset[48];
    memcpy(charset, cs, (size_t)(q1 - cs));
    charset[q1 - cs] = '\0';
    charset[strcspn(charset, "*")] = '\0'; /* RFC 2231 language suffix */
    bg_buf raw = BG_BUF_INIT;
    if (enc == 'B') {
        bg_mime_decode_base64(txt, (size_t)(q2 - txt), &raw);
    } else {
        for (const char *p = txt; p < q2; p++) {
            if (*p == '_') {
                bg_buf_putc(&raw, ' ');
            } else if (*p == '=' && p + 2 < q2 && hexval((unsigned char)p[1]) >= 0 &&
                       hexval((unsigned char)p[2]) >= 0) {
                bg_buf_putc(&raw, (char)(hexval((unsigned char)p[1]) * 16 +
                                         hexval((unsigned char)p[2])));
                p += 2;
            } else {
                bg_buf_putc(&raw, *p);
            }
        }
    }
    bg_charset_to_utf8(charset, bg_buf_str(&raw), raw.len, out);
    bg_buf_free(&raw);
    return (size_t)(q2 + 2 - s);
}

char *
bg_mime_decode_words(const char *s)
{
    bg_buf out = BG_BUF_INIT;
    bg_buf_puts(&out, "");
    const char *p = s;
    bool last_was_word = false;
    while (*p) {
        if (p[0] == '=' && p[1] == '?') {
            size_t n = decode_word(p, &out);
            if (n) {
                p += n;
                last_was_word = true;
                continue;
            }
        }
        if (last_was_word && (*p == ' ' || *p == '\t')) {
            /* Drop white space between two encoded words. */
            const char *q = p + strspn(p, " \t");
            if (q[0] == '=' && q[1] == '?') {
                bg_buf tmp = BG_BUF_INIT;
                size_t n = decode_word(q, &tmp);
                bg_buf_free(&tmp);
                if (n) {
                    p = q;
                    continue;
                }
            }
        }
        last_was_word = false;
        bg_buf_putc(&out, *p++);
    }
    return bg_buf_steal(&out);
}

bool
bg_mime_type_is_read(const char *type)
{
    return !type || strncmp(type, "text/", 5) == 0 || strncmp(type, "message/", 8) == 0;
}

/* ---- the multipart walk ----------------------------------------------- */

typedef struct walker {
    bg_mime_message *m;
} walker;

static void walk(walker *w, const char *data, size_t len, bg_mime_headers *h, int depth);

/* Add a leaf of type (a string from bg_mime_content_type() or NULL for
 * text/plain; consumed) whose headers are *h (consumed). */
static void
add_leaf(walker *w, bg_mime_headers *h, char *type, const char *body, size_t len, int depth)
{
    bg_mime_message *m = w->m;
    if (m->nparts >= BG_MIME_MAX_PARTS) {
        m->truncated = true;
        bg_mime_headers_clear(h);
        free(type);
        return;
    }
    if (!type)
        type = bg_xstrdup("text/plain");
    const char *cte = bg_mime_headers_get(h, "Content-Transfer-Encoding");
    bg_buf dec = BG_BUF_INIT;
    if (!bg_mime_type_is_read(type))
        len = 0; /* an image, an archive...: no bounce says anything in one */
    else if (cte && strncasecmp(cte, "base64", 6) == 0)
        bg_mime_decode_base64(body, len, &dec);
    else if (cte && strncasecmp(cte, "quoted-printable", 16) == 0)
        bg_mime_decode_qp(body, len, &dec);
    else
        bg_buf_append(&dec, body, len);

    bg_buf fin = BG_BUF_INIT;
    char *charset = NULL;
    if (strncmp(type, "text/", 5) == 0 && strcmp(type, "text/rfc822-headers") != 0)
        charset = bg_mime_param(bg_mime_headers_get(h, "Content-Type"), "charset");
    if (charset && !bg_charset_is_plain(charset)) {
        bg_charset_to_utf8(charset, bg_buf_str(&dec), dec.len, &fin);
        bg_buf_free(&dec);
    } else {
        fin = dec;
    }
    free(charset);
    bg_buf_puts(&fin, "");

    if (m->nparts == 0 || (m->nparts >= 4 && (m->nparts & (m->nparts - 1)) == 0)) /* 4, 8... */
        m->parts = bg_xrealloc(m->parts, (m->nparts ? 2 * m->nparts : 4) * sizeof *m->parts);
    bg_mime_part *p = &m->parts[m->nparts++];
    p->type = type;
    p->headers = *h;
    *h = (bg_mime_headers)BG_MIME_HEADERS_INIT;
    p->len = fin.len;
    p->body = bg_buf_steal(&fin);
    p->depth = depth;
}

/*
 * The search for a multipart body's delimiter "--boundary": Horspool's skips
 * over byte pairs, as glibc's memmem does for needles up to 256 bytes, with
 * the skip table made once per body instead of at every memmem() call (a
 * body is searched once per part, and more after a false hit).
 */
typedef struct delim_search {
    const unsigned char *s; /* "--boundary" */
    size_t n;               /* its length, 3 to 202 */
    size_t shift_end;       /* the skip after the last pair matched, the rest not */
    unsigned char shift[256];
} delim_search;

/* The hash of the pair p[-1], p[0]: with p[-1] known, it tells p[0]. */
static inline unsigned
pair_hash(const unsigned char *p)
{
    return (unsigned)(p[0] - (p[-1] << 3)) & 255;
}

static void
delim_search_init(delim_search *ds, const char *delim, size_t n)
{
    const unsigned char *s = (const unsigned char *)delim;
    size_t last = n - 1;
    assert(n >= 2 && n <= 256); /* skips fit a byte; the pair needs two */
    ds->s = s;
    ds->n = n;
    /* shift[h]: the end of the needle's last pair before its end with hash
     * h, 0 for none; the end pair's own entry is last. */
    memset(ds->shift, 0, sizeof ds->shift);
    for (size_t i = 1; i < last; i++)
        ds->shift[pair_hash(s + i)] = (unsigned char)i;
    ds->shift_end = last - ds->shift[pair_hash(s + last)];
    ds->shift[pair_hash(s + last)] = (unsigned char)last;
}

/* The first occurrence of the delimiter in [from, end), or NULL: what
 * memmem() returns. */
static const char *
delim_search_next(const delim_search *ds, const char *from, const char *end)
{
    if (end - from < (ptrdiff_t)ds->n)
        return NULL;
    const unsigned char *hs = (const unsigned char *)from;
    const unsigned char *final = (const unsigned char *)end - ds->n; /* the last start */
    size_t last = ds->n - 1, k;
    while (hs <= final) {
        /* hs: where an occurrence may start; the pair that would end it
         * (in the text: hs + last is below end) says where one can. */
        do {
            hs += last;
            k = ds->shift[pair_hash(hs)];
        } while (k == 0 && hs <= final);
        hs -= k;
        if (k < last)
            continue; /* the pair is inside the needle: align it, look again */
        /* The end pair's hash matched: with the byte before it equal, so is
         * the last byte. */
        if (memcmp(hs, ds->s, last) == 0)
            return (const char *)hs;
        hs += ds->shift_end;
    }
    return NULL;
}

/* Find the next delimiter line "--boundary" at or after from; returns its
 * start (at a line start) or NULL. */
static const char *
find_delim(const char *from, const char *end, const delim_search *ds, const char *start)
{
    const char *p = from;
    while (p < end) {
        const char *hit = delim_search_next(ds, p, end);
        if (!hit)
            return NULL;
        const char *after = hit + ds->n;
        bool line_start = hit == start || hit[-1] == '\n';
        bool whole = after >= end || *after == '\r' || *after == '\n' || *after == ' ' ||
                     *after == '\t' || *after == '-';
        if (line_start && whole)
            return hit;
        p = hit + 1;
    }
    return NULL;
}

static void
walk_multipart(walker *w, const char *data, size_t len, const char *boundary, int depth)
{
    const char *end = data + len;
    char delim[208]; /* "--" and a boundary of at most 200 bytes (walk()) */
    size_t blen = strnlen(boundary, sizeof delim - 2), dlen = blen + 2;
    delim[0] = delim[1] = '-';
    memcpy(delim + 2, boundary, blen);
    delim_search ds;
    delim_search_init(&ds, delim, dlen);
    const char *p = find_delim(data, end, &ds, data);

    if (!p) {
        /* No delimiter at all: treat the body as one text part. */
        bg_mime_headers none = BG_MIME_HEADERS_INIT;
        add_leaf(w, &none, NULL, data, len, depth);
        return;
    }
    /* A preamble with text in it (some MTAs put the notice there), unless it
     * is the usual "This is a multi-part message in MIME format". */
    if (p > data && !is_blank_line(data, p) && p - data > 2 &&
        !memmem(data, (size_t)(p - data), "MIME", 4)) {
        bg_mime_headers none = BG_MIME_HEADERS_INIT;
        add_leaf(w, &none, NULL, data, (size_t)(p - data), depth);
    }
    while (p && p < end) {
        const char *after = p + dlen;
        if (after + 1 < end && after[0] == '-' && after[1] == '-')
            break; /* closing delimiter */
        const char *bodystart = line_end(after, end);
        if (bodystart < end)
            bodystart++;
        const char *next = find_delim(bodystart, end, &ds, data);
        const char *partend = next ? next : end;
        /* The CRLF before the delimiter belongs to the delimiter. */
        if (next && partend > bodystart && partend[-1] == '\n') {
            partend--;
            if (partend > bodystart && partend[-1] == '\r')
                partend--;
        }
        if (w->m->nparts >= BG_MIME_MAX_PARTS) {
            w->m->truncated = true;
            break;
        }
        bg_mime_headers h = BG_MIME_HEADERS_INIT;
        size_t off = bg_mime_headers_parse(bodystart, (size_t)(partend - bodystart), &h);
        walk(w, bodystart + off, (size_t)(partend - bodystart) - off, &h, depth);
        p = next;
    }
}

/* Walk the body data[len] whose headers are *h (consumed). */
static void
walk(walker *w, const char *data, size_t len, bg_mime_headers *h, int depth)
{
    const char *ctv = bg_mime_headers_get(h, "Content-Type");
    char *type = bg_mime_content_type(ctv);
    if (strncmp(type, "multipart/", 10) == 0) {
        free(type);
        char *boundary = bg_mime_param(ctv, "boundary");
        if (boundary && *boundary && strlen(boundary) <= 200 && depth < BG_MIME_MAX_DEPTH) {
            bg_mime_headers_clear(h);
            walk_multipart(w, data, len, boundary, depth + 1);
        } else {
            if (depth >= BG_MIME_MAX_DEPTH)
                w->m->truncated = true;
            add_leaf(w, h, NULL, data, len, depth);
        }
        free(boundary);
    } else {
        add_leaf(w, h, type, data, len, depth);
    }
}

bg_mime_message *
bg_mime_parse(const char *data, size_t len)
{
    bg_mime_message *m = bg_xcalloc(1, sizeof *m);
    walker w = {m};
    size_t off = bg_mime_headers_parse(data, len, &m->headers);
    bg_mime_headers h = BG_MIME_HEADERS_INIT;
    /* The top-level body's own headers are the message's MIME fields (the
     * same lines of data: their values are unfolded again when asked). */
    const char *fields[] = {"Content-Type", "Content-Transfer-Encoding"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (size_t j = 0; j < m->headers.n; j++) {
            if (!bg_mime_field_is(&m->headers.v[j], fields[i]))
                continue;
            h.v = bg_xrealloc(h.v, (h.n + 1) * sizeof *h.v);
            h.v[h.n] = m->headers.v[j];
            h.v[h.n++].value = NULL;
            break;
        }
    }
    walk(&w, data + off, len - off, &h, 0);
    return m;
}

bg_mime_message *
bg_mime_message_free(bg_mime_message *m)
{
    if (!m)
        return NULL;
    bg_mime_headers_clear(&m->headers);
    for (size_t i = 0; i < m->nparts; i++) {
        free(m->parts[i].type);
        free(m->parts[i].body);
        bg_mime_headers_clear(&m->parts[i].headers);
    }
    free(m->parts);
    free(m);
    return NULL;
}
