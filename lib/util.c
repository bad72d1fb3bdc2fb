/*
 * util.c — see include/bounceguard/util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounceguard/util.h"

int
bg_error_set(bg_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    char raw[sizeof(err->msg)];

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* One printable line, whatever the input echoed in it held (a CR or LF
     * from a config file or a message must not forge a log line or an SMTP
     * reply; an ESC or a CSI must not reach the operator's terminal). */
    bg_sanitize_line(err->msg, sizeof(err->msg), raw, sizeof(err->msg) - 1);
    return -1;
}

static void
out_of_memory(size_t n)
{
    /* The one place where allocation failure is handled. */
    fprintf(stderr, "bounceguard: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
bg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        out_of_memory(n);
    return p;
}

void *
bg_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);

    if (p == NULL)
        out_of_memory(count * n);
    return p;
}

void *
bg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        out_of_memory(n);
    return q;
}

char *
bg_xstrdup(const char *s)
{
    return bg_xstrndup(s, strlen(s));
}

char *
bg_xstrndup(const char *s, size_t n)
{
    char *p = bg_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
bg_xasprintf(const char *fmt, ...)
{
    bg_buf b = BG_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    bg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return bg_buf_steal(&b);
}

void
bg_buf_init(bg_buf *b)
{
    b->s = NULL;
    b->len = 0;
    b->cap = 0;
}

void
bg_buf_free(bg_buf *b)
{
    free(b->s);
    bg_buf_init(b);
}

void
bg_buf_reset(bg_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

static void
buf_reserve(bg_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (need < extra)
        out_of_memory(SIZE_MAX);
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            out_of_memory(need);
        cap *= 2;
    }
    b->s = bg_xrealloc(b->s, cap);
    b->cap = cap;
}

void
bg_buf_append(bg_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void
bg_buf_puts(bg_buf *b, const char *s)
{
    bg_buf_append(b, s, strlen(s));
}

void
bg_buf_putc(bg_buf *b, char c)
{
    bg_buf_append(b, &c, 1);
}

void
bg_buf_vprintf(bg_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    int n;

    /* Most lines fit on the stack: format once; only longer ones twice. */
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    if ((size_t)n < sizeof(small))
        memcpy(b->s + b->len, small, (size_t)n + 1);
    else
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void
bg_buf_printf(bg_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *
bg_buf_room(bg_buf *b, size_t n)
{
    buf_reserve(b, n);
    return b->s + b->len;
}

void
bg_buf_grew(bg_buf *b, size_t k)
{
    b->len += k;
    b->s[b->len] = '\0';
}

char *
bg_buf_steal(bg_buf *b)
{
    char *s = b->s ? b->s : bg_xstrdup("");

    bg_buf_init(b);
    return s;
}

const char *
bg_buf_str(const bg_buf *b)
{
    return b->s ? b->s : "";
}

size_t
bg_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

bool
bg_host_in_domain(const char *host, const char *domain)
{
    if (!host)
        return false;
    const char *at = strrchr(host, '@');
    if (at)
        host = at + 1;
    size_t hl = strlen(host), dl = strlen(domain);
    if (hl < dl || strcasecmp(host + hl - dl, domain) != 0)
        return false;
    return hl == dl || host[hl - dl - 1] == '.';
}

char *
bg_ascii_lower(char *s)
{
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

size_t
bg_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    uint32_t min, c;

    if (len == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, min = 0x80, c = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800, c = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, min = 0x10000, c = p[0] & 0x07;
    else
        return 0; /* a continuation byte, an overlong C0/C1 lead, F5..FF */
    if (n > len)
        return 0; /* truncated */
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0; /* overlong, beyond Unicode, surrogate */
    *cp = c;
    return n;
}

bool
bg_unicode_is_format_control(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) ||     /* C1: U+009B is a terminal's CSI */
           cp == 0x061c ||                   /* ARABIC LETTER MARK */
           cp == 0x200e || cp == 0x200f ||   /* LRM, RLM */
           (cp >= 0x2028 && cp <= 0x202e) || /* LS, PS, LRE..RLO ("Trojan Source") */
           (cp >= 0x2066 && cp <= 0x2069);   /* LRI..PDI */
}

/*
 * The display form of the character at s[0..len) (len >= 1): writes it into
 * out[8] and returns how many input bytes it covers; *outlen is its length.
 */
static size_t
display_piece(const char *s, size_t len, char *out, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[0];
    uint32_t cp;
    size_t n = bg_utf8_decode(s, len, &cp);

    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
        /* a C0 control, DEL, or a byte that is not (part of) valid UTF-8 */
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        *outlen = 4;
        return 1;
    }
    if (bg_unicode_is_format_control(cp)) {
        *outlen = (size_t)snprintf(out, 8, "\\u%04x", (unsigned)cp);
        return n;
    }
    memcpy(out, s, n);
    *outlen = n;
    return n;
}

size_t
bg_sanitize_mem(char *dst, size_t size, const char *src, size_t len, size_t max)
{
    size_t in = 0, out = 0;

    if (size == 0)
        return 0;
    if (max > size - 1)
        max = size - 1;
    while (src && in < len) {
        char piece[8];
        size_t plen, used = display_piece(src + in, len - in, piece, &plen);
        if (plen > max - out)
            break; /* never half an escape or half a character */
        memcpy(dst + out, piece, plen);
        out += plen;
        in += used;
    }
    dst[out] = '\0';
    return in;
}

char *
bg_sanitize_line(char *dst, size_t size, const char *src, size_t max)
{
    bg_sanitize_mem(dst, size, src, src ? strlen(src) : 0, max);
    return dst;
}

char *
bg_sanitize_cell(char *dst, size_t size, const char *src, size_t max)
{
    size_t len = src ? strlen(src) : 0;

    if (size == 0)
        return dst;
    if (max > size - 1)
        max = size - 1;
    if (bg_sanitize_mem(dst, size, src, len, max) < len && max >= 3) {
        bg_sanitize_mem(dst, size, src, len, max - 3);
        strcat(dst, "...");
    }
    return dst;
}

void
bg_buf_sanitized(bg_buf *b, const char *src, size_t len)
{
    size_t in = 0;

    while (in < len) {
        char piece[8];
        size_t plen;
        in += display_piece(src + in, len - in, piece, &plen);
        bg_buf_append(b, piece, plen);
    }
}

int64_t
bg_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
bg_time_iso(char *dst, size_t size, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(dst, size, "%lld", (long long)t);
    return dst;
}

/* "+hh:mm", "+hhmm", "-hh", "Z", "UTC", "GMT" at s (after blanks); *off in
 * seconds east.  Returns 0 if s holds exactly a zone (or nothing). */
static int
parse_zone(const char *s, long *off)
{
    int hh = 0, mm = 0, n = 0;

    *off = 0;
    while (*s == ' ')
        s++;
    if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0 ||
        strcmp(s, "GMT") == 0 || strcmp(s, "UT") == 0)
        return 0;
    if (*s != '+' && *s != '-')
        return -1;
    if (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 ||
        sscanf(s + 1, "%2d%2d%n", &hh, &mm, &n) == 2 ||
        sscanf(s + 1, "%2d%n", &hh, &n) == 1) {
        if (s[1 + n] != '\0' || hh > 23 || mm > 59)
            return -1;
        *off = (hh * 3600L + mm * 60L) * (*s == '-' ? -1 : 1);
        return 0;
    }
    return -1;
}

static int
tm_to_time(struct tm *tm, long off, int64_t *out)
{
    int mday = tm->tm_mday, mon = tm->tm_mon;
    time_t t;

    tm->tm_isdst = 0;
    t = timegm(tm);
    /* timegm normalises 31 Feb into March: refuse what it had to move. */
    if (t == (time_t)-1 || tm->tm_mday != mday || tm->tm_mon != mon)
        return -1;
    *out = (int64_t)t - off;
    return 0;
}

int
bg_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *p;
    long off;
    int n = 0;

    while (*s == ' ')
        s++;
    if (*s == '\0')
        return -1;
    /* seconds (or milliseconds) since the epoch, maybe with a fraction */
    for (p = s; isdigit((unsigned char)*p); p++)
        ;
    if (p > s &&
        (*p == '\0' || (*p == '.' && strspn(p + 1, "0123456789") == strlen(p + 1)))) {
        long long v;
        errno = 0;
        v = strtoll(s, NULL, 10);
        if (errno || p - s > 14)
            return -1;
        *out = v > 100000000000LL ? v / 1000 : v;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    /* ISO 8601 and its SQL-ish spelling with a blank */
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) == 3 &&
        n == 10) {
        p = s + n;
        if (*p == 'T' || *p == ' ') {
            int k = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &k) != 2)
                return -1;
            p += 1 + k;
            if (*p == ':') {
                if (sscanf(p + 1, "%2d%n", &tm.tm_sec, &k) != 1)
                    return -1;
                p += 1 + k;
            }
            if (*p == '.' || *p == ',')
                for (p++; isdigit((unsigned char)*p); p++)
                    ;
        }
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_mon < 1 ||
            tm.tm_mon > 12 || parse_zone(p, &off) < 0)
            return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return tm_to_time(&tm, off, out);
    }
    /* RFC 2822: [Wed, ]01 May 2024 12:00:00 +0000 */
    p = strchr(s, ',') ? strchr(s, ',') + 1 : s;
    while (*p == ' ')
        p++;
    {
        const char *end = strptime(p, "%d %b %Y %H:%M:%S", &tm);
        if (end == NULL) {
            memset(&tm, 0, sizeof(tm));
            end = strptime(p, "%d %b %Y %H:%M", &tm);
        }
        if (end == NULL || parse_zone(end, &off) < 0)
            return -1;
        return tm_to_time(&tm, off, out);
    }
}

char *
bg_duration_format(char *dst, size_t size, int64_t s)
{
    static const struct {
        char unit;
        int64_t secs;
    } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t off = 0;

    if (s <= 0) {
        snprintf(dst, size, "0s");
        return dst;
    }
    dst[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < size; i++) {
        int64_t q = s / units[i].secs;
        if (q == 0)
            continue;
        s -= q * units[i].secs;
        int n = snprintf(dst + off, size - off, "%s%lld%c", off ? " " : "", (long long)q,
                         units[i].unit);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return dst;
}

int
bg_duration_parse(const char *s, int64_t *out, bg_error *err)
{
    int64_t total = 0;
    const char *p = s;

    if (s == NULL || *s == '\0')
        return bg_error_set(err, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return bg_error_set(err, "bad duration \"%s\": expected a number at \"%s\"",
                                s, p);
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > 100LL * 365 * 86400)
            return bg_error_set(err, "bad duration \"%s\": number out of range", s);
        int64_t mult;
        switch (*end) {
        case '\0': mult = 1; break;
        case 's': mult = 1; end++; break;
        case 'm': mult = 60; end++; break;
        case 'h': mult = 3600; end++; break;
        case 'd': mult = 86400; end++; break;
        case 'w': mult = 7 * 86400; end++; break;
        default:
            return bg_error_set(err,
                                "bad duration \"%s\": unknown unit '%c' (use s, m, h, d, w)",
                                s, *end);
        }
        total += (int64_t)v * mult;
        if (total > 100LL * 365 * 86400)
            return bg_error_set(err, "bad duration \"%s\": longer than 100 years", s);
        p = end;
    }
    *out = total;
    return 0;
}

int
bg_read_text_file(const char *path, size_t max, bg_buf *out)
{
    FILE *fp = fopen(path, "r");
    char chunk[4096];
    size_t n;
    int saved = 0;

    if (fp == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        bg_buf_append(out, chunk, n);
        if (out->len > max) {
            saved = EFBIG;
            break;
        }
    }
    if (saved == 0 && ferror(fp))
        saved = errno ? errno : EIO;
    fclose(fp);
    if (saved == 0 && memchr(bg_buf_str(out), '\0', out->len) != NULL)
        saved = EILSEQ;
    if (saved != 0) {
        bg_buf_reset(out);
        errno = saved;
        return -1;
    }
    return 0;
}
