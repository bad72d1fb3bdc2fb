/*
 * addr.c — see include/bounceguard/addr.h.
 *
 * The parser walks the input once, left to right: blanks, '<', an optional
 * source route, the local part (dot-atom or quoted string), '@', the domain
 * (name or address literal), '>', blanks.  Nothing is allocated except the
 * IDN conversion of a domain that needs it (libidn2 returns a malloc'd
 * string, freed before return).
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/addr.h"
#include "bounceguard/log.h"

#define LOCAL_MAX 64
#define DOMAIN_MAX 255
#define LABEL_MAX 63
#define PATH_MAX_OCTETS 256
/* Anything longer than this cannot be a path, whatever it holds. */
#define INPUT_MAX 1024

/* One parse in progress: the cursor over the input and the error sink. */
typedef struct cursor {
    const char *p;
    const char *end;
    bg_error *err;
} cursor;

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int
is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0 when
 * it is not one: overlong forms, surrogates, code points past U+10FFFF and
 * the C1 controls (U+0080..U+009F) are refused.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len, i;
    unsigned long cp;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    if (cp < 0xa0)
        return 0;
    return len;
}

/* Is [s, s+n) a dot-atom (RFC 5321 Dot-string, with RFC 6531 UTF-8)? */
static int
is_dot_atom(const char *s, size_t n)
{
    size_t i = 0, k;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (s[i + 1] == '.')
                return 0;
            i++;
        } else if (c < 0x80) {
            if (!is_atext(c))
                return 0;
            i++;
        } else {
            if ((k = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
                return 0;
            i += k;
        }
    }
    return 1;
}

/* Skip "@dom,@dom:" at the cursor.  Route domains are checked for their
 * characters only: the route is dropped, RFC 5321 says to ignore it. */
static int
skip_source_route(cursor *c)
{
    while (c->p < c->end && *c->p == '@') {
        const char *d = ++c->p;

        if (c->p < c->end && *c->p == '[') {
            while (c->p < c->end && *c->p != ']')
                c->p++;
            if (c->p < c->end)
                c->p++;
        } else {
            while (c->p < c->end && (is_ldh((unsigned char)*c->p) || *c->p == '.'))
                c->p++;
        }
        if (c->p == d)
            return bg_error_set(c->err, "empty domain in source route");
        if (c->p >= c->end)
            return bg_error_set(c->err, "source route without ':'");
        if (*c->p == ':') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return bg_error_set(c->err, "bad character in source route");
        c->p++;
        if (c->p >= c->end || *c->p != '@')
            return bg_error_set(c->err, "source route: '@' expected after ','");
    }
    return 0;
}

/*
 * Parse the local part at the cursor into out (canonical: lower-cased ASCII,
 * unquoted when the quotes are not needed).  Stops before '@'.
 */
static bg_addr_status
parse_local(cursor *c, char *out, size_t outsize)
{
    char buf[INPUT_MAX + 1];
    size_t n = 0, raw_len;
    const char *start = c->p;
    int quoted = 0;

    if (c->p < c->end && *c->p == '"') {
        quoted = 1;
        c->p++;
        for (;;) {
            unsigned char ch;

            if (c->p >= c->end) {
                bg_error_set(c->err, "unterminated quoted local part");
                return BG_ADDR_BAD_SYNTAX;
            }
            ch = (unsigned char)*c->p;
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (c->p + 1 >= c->end || c->p[1] < 32 || c->p[1] > 126) {
                    bg_error_set(c->err, "bad escape in quoted local part");
                    return BG_ADDR_BAD_SYNTAX;
                }
                buf[n++] = c->p[1];
                c->p += 2;
            } else if (ch >= 32 && ch <= 126) {
                buf[n++] = (char)ch;
                c->p++;
            } else if (ch >= 0x80) {
                size_t k = utf8_seq((const unsigned char *)c->p, (size_t)(c->end - c->p));

                if (k == 0) {
                    bg_error_set(c->err, "invalid UTF-8 in local part");
                    return BG_ADDR_BAD_SYNTAX;
                }
                memcpy(buf + n, c->p, k);
                n += k;
                c->p += k;
            } else {
                bg_error_set(c->err, "control character in local part");
                return BG_ADDR_BAD_SYNTAX;
            }
        }
        c->p++; /* closing quote */
        if (c->p >= c->end || *c->p != '@') {
            bg_error_set(c->err, "'@' expected after quoted local part");
            return BG_ADDR_BAD_SYNTAX;
        }
    } else {
        while (c->p < c->end && *c->p != '@')
            buf[n++] = *c->p++;
        if (c->p >= c->end) {
            bg_error_set(c->err, "no '@' in address");
            return BG_ADDR_BAD_SYNTAX;
        }
    }
    buf[n] = '\0';
    raw_len = (size_t)(c->p - start);
    if (raw_len > LOCAL_MAX) {
        bg_error_set(c->err, "local part longer than %d octets", LOCAL_MAX);
        return BG_ADDR_TOO_LONG;
    }
    bg_ascii_lower(buf);
    if (is_dot_atom(buf, n)) {
        bg_strlcpy(out, buf, outsize);
        return BG_ADDR_OK;
    }
    if (!quoted) {
        size_t i;

        if (n == 0)
            bg_error_set(c->err, "empty local part");
        else if (buf[0] == '.' || buf[n - 1] == '.' || strstr(buf, ".."))
            bg_error_set(c->err, "misplaced dot in local part");
        else {
            for (i = 0; i < n && (is_atext((unsigned char)buf[i]) || buf[i] == '.'); i++)
                ;
            if ((unsigned char)buf[i] >= 0x80)
                bg_error_set(c->err, "invalid UTF-8 in local part");
            else if ((unsigned char)buf[i] < 32 || buf[i] == 127)
                bg_error_set(c->err, "control character in local part");
            else
                bg_error_set(c->err, "character '%c' not allowed in local part", buf[i]);
        }
        return BG_ADDR_BAD_SYNTAX;
    }
    /* Quotes needed: re-quote with the fewest escapes.  Never longer than the
     * raw quoted string, which fitted in LOCAL_MAX. */
    {
        size_t i, o = 0;

        out[o++] = '"';
        for (i = 0; i < n; i++) {
            if (buf[i] == '"' || buf[i] == '\\')
                out[o++] = '\\';
            out[o++] = buf[i];
        }
        out[o++] = '"';
        out[o] = '\0';
    }
    return BG_ADDR_OK;
}

/* Check the labels of an ASCII domain name (LDH, 1..63, no hyphen at either
 * end) and that its last label is not all digits. */
static bg_addr_status
check_labels(const char *d, bg_error *err)
{
    const char *label = d, *p;
    int all_digits = 1;

    for (p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t len = (size_t)(p - label);

            if (len == 0) {
                bg_error_set(err, "empty label in domain");
                return BG_ADDR_BAD_DOMAIN;
            }
            if (len > LABEL_MAX) {
                bg_error_set(err, "domain label longer than %d octets", LABEL_MAX);
                return BG_ADDR_BAD_DOMAIN;
            }
            if (label[0] == '-' || p[-1] == '-') {
                bg_error_set(err, "domain label starts or ends with '-'");
                return BG_ADDR_BAD_DOMAIN;
            }
            if (*p == '\0')
                break;
            label = p + 1;
            all_digits = 1;
        } else if (!is_ldh((unsigned char)*p)) {
            bg_error_set(err, "character not allowed in domain");
            return BG_ADDR_BAD_DOMAIN;
        } else if (*p < '0' || *p > '9') {
            all_digits = 0;
        }
    }
    if (all_digits) {
        bg_error_set(err, "numeric top-level label (an IP address needs [brackets])");
        return BG_ADDR_BAD_DOMAIN;
    }
    return BG_ADDR_OK;
}

/* An address literal "[...]" of n octets: validate and write it to out in a
 * canonical form ("[192.0.2.1]", "[IPv6:2001:db8::1]"). */
static bg_addr_status
parse_literal(const char *s, size_t n, char *out, size_t outsize, bg_error *err)
{
    char inner[128], text[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];

    if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(inner)) {
        bg_error_set(err, "malformed address literal");
        return BG_ADDR_BAD_DOMAIN;
    }
    memcpy(inner, s + 1, n - 2);
    inner[n - 2] = '\0';
    if (strncasecmp(inner, "IPv6:", 5) == 0) {
        if (inet_pton(AF_INET6, inner + 5, bin) != 1 ||
            inet_ntop(AF_INET6, bin, text, sizeof(text)) == NULL) {
            bg_error_set(err, "invalid IPv6 address literal");
            return BG_ADDR_BAD_DOMAIN;
        }
        snprintf(out, outsize, "[IPv6:%s]", text);
        return BG_ADDR_OK;
    }
    if (inet_pton(AF_INET, inner, bin) != 1 ||
        inet_ntop(AF_INET, bin, text, sizeof(text)) == NULL) {
        bg_error_set(err, "invalid address literal");
        return BG_ADDR_BAD_DOMAIN;
    }
    snprintf(out, outsize, "[%s]", text);
    return BG_ADDR_OK;
}

static int
has_ace_label(const char *d)
{
    const char *p = d;

    for (;;) {
        if (strncasecmp(p, "xn--", 4) == 0)
            return 1;
        if ((p = strchr(p, '.')) == NULL)
            return 0;
        p++;
    }
}

/* A domain name of n octets (no brackets) to canonical A-label form. */
static bg_addr_status
parse_domain_name(const char *s, size_t n, char *out, size_t outsize, bg_error *err)
{
    char raw[INPUT_MAX + 1];
    size_t i;
    int ascii = 1;

    if (n == 0) {
        bg_error_set(err, "empty domain");
        return BG_ADDR_BAD_DOMAIN;
    }
    memcpy(raw, s, n);
    raw[n] = '\0';
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)raw[i];

        if (ch < 32 || ch == 127) {
            bg_error_set(err, "control character in domain");
            return BG_ADDR_BAD_DOMAIN;
        }
        if (ch >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)raw + i, n - i);

            if (k == 0) {
                bg_error_set(err, "invalid UTF-8 in domain");
                return BG_ADDR_BAD_DOMAIN;
            }
            ascii = 0;
            i += k - 1;
        }
    }
    if (raw[n - 1] == '.' || raw[0] == '.' || strstr(raw, "..")) {
        bg_error_set(err, "empty label in domain");
        return BG_ADDR_BAD_DOMAIN;
    }
    if (ascii && !has_ace_label(raw)) {
        if (n > DOMAIN_MAX) {
            bg_error_set(err, "domain longer than %d octets", DOMAIN_MAX);
            return BG_ADDR_TOO_LONG;
        }
        bg_ascii_lower(raw);
    } else {
        /* UTS #46 non-transitional mapping: "MÜLLER.de", "müller.de" and
         * "xn--mller-kva.de" all become "xn--mller-kva.de". */
        char *ace = NULL;
        int rc = idn2_lookup_u8((const uint8_t *)raw, (uint8_t **)&ace,
                                IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);

        if (rc != IDN2_OK) {
            bg_error_set(err, "invalid internationalized domain: %s", idn2_strerror(rc));
            return rc == IDN2_TOO_BIG_DOMAIN ? BG_ADDR_TOO_LONG : BG_ADDR_BAD_DOMAIN;
        }
        n = strlen(ace);
        if (n > DOMAIN_MAX) {
            idn2_free(ace);
            bg_error_set(err, "domain longer than %d octets", DOMAIN_MAX);
            return BG_ADDR_TOO_LONG;
        }
        memcpy(raw, ace, n + 1);
        idn2_free(ace);
        bg_ascii_lower(raw);
    }
    {
        bg_addr_status st = check_labels(raw, err);

        if (st != BG_ADDR_OK)
            return st;
    }
    bg_strlcpy(out, raw, outsize);
    return BG_ADDR_OK;
}

static bg_addr_status
parse_inner(const char *in, bg_addr *out, bg_error *err)
{
    cursor c = {in, NULL, err};
    size_t len;
    bg_addr_status st;

    len = strnlen(in, INPUT_MAX + 1);
    if (len > INPUT_MAX) {
        bg_error_set(err, "address longer than %d octets", PATH_MAX_OCTETS);
        return BG_ADDR_TOO_LONG;
    }
    c.end = in + len;
    while (c.p < c.end && is_blank(*c.p))
        c.p++;
    while (c.end > c.p && is_blank(c.end[-1]))
        c.end--;
    if (c.p == c.end) {
        bg_error_set(err, "empty address");
        return BG_ADDR_BAD_SYNTAX;
    }
    if (*c.p == '<') {
        if (c.end[-1] != '>' || c.end - c.p < 2) {
            bg_error_set(err, "'<' without closing '>'");
            return BG_ADDR_BAD_SYNTAX;
        }
        c.p++;
        c.end--;
        if (c.p == c.end)
            return BG_ADDR_NULL;
    }
    if (c.end - c.p + 2 > PATH_MAX_OCTETS) {
        bg_error_set(err, "address longer than %d octets", PATH_MAX_OCTETS);
        return BG_ADDR_TOO_LONG;
    }
    if (skip_source_route(&c) < 0)
        return BG_ADDR_BAD_SYNTAX;

    st = parse_local(&c, out->local, sizeof(out->local));
    if (st != BG_ADDR_OK)
        return st;
    c.p++; /* '@' */
    if (c.p < c.end && *c.p == '[') {
        st = parse_literal(c.p, (size_t)(c.end - c.p), out->domain, sizeof(out->domain),
                           err);
        out->is_literal = true;
    } else {
        if (memchr(c.p, '@', (size_t)(c.end - c.p)) != NULL) {
            bg_error_set(err, "more than one '@' (quote the local part)");
            return BG_ADDR_BAD_SYNTAX;
        }
        if (memchr(c.p, '>', (size_t)(c.end - c.p)) != NULL ||
            memchr(c.p, '<', (size_t)(c.end - c.p)) != NULL) {
            bg_error_set(err, "stray angle bracket");
            return BG_ADDR_BAD_SYNTAX;
        }
        st = parse_domain_name(c.p, (size_t)(c.end - c.p), out->domain,
                               sizeof(out->domain), err);
    }
    if (st != BG_ADDR_OK)
        return st;
    {
        size_t ll = strlen(out->local), dl = strlen(out->domain);

        if (ll + 1 + dl + 2 > PATH_MAX_OCTETS) {
            bg_error_set(err, "address longer than %d octets", PATH_MAX_OCTETS);
            return BG_ADDR_TOO_LONG;
        }
        memcpy(out->canon, out->local, ll);
        out->canon[ll] = '@';
        memcpy(out->canon + ll + 1, out->domain, dl + 1);
    }
    return BG_ADDR_OK;
}

bg_addr_status
bg_addr_parse(const char *in, bg_addr *out, bg_error *err)
{
    bg_addr_status st;

    memset(out, 0, sizeof(*out));
    if (in == NULL) {
        bg_error_set(err, "no address");
        return BG_ADDR_BAD_SYNTAX;
    }
    st = parse_inner(in, out, err);
    if (st != BG_ADDR_OK) {
        /* Never hand out half a parse. */
        memset(out, 0, sizeof(*out));
    }
    return st;
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

static void
psl_load(void)
{
    /* The newer of the system list and libpsl's built-in copy. */
    psl_ctx = psl_latest(NULL);
    if (psl_ctx == NULL)
        psl_ctx = psl_builtin();
    if (psl_ctx == NULL)
        bg_msg_error("no Public Suffix List available: TLDs are not checked");
}

bg_addr_status
bg_addr_check_tld(const bg_addr *a, bg_error *err)
{
    const char *tld;

    if (a->is_literal)
        return BG_ADDR_OK;
    pthread_once(&psl_once, psl_load);
    if (a->domain[0] == '\0') {
        bg_error_set(err, "no domain");
        return BG_ADDR_UNKNOWN_TLD;
    }
    if (psl_ctx == NULL)
        return BG_ADDR_OK; /* refusing all mail would be worse; logged once */
    tld = strrchr(a->domain, '.');
    tld = tld ? tld + 1 : a->domain;
    if (!psl_is_public_suffix2(psl_ctx, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) {
        bg_error_set(err, "top-level domain .%s does not exist", tld);
        return BG_ADDR_UNKNOWN_TLD;
    }
    return BG_ADDR_OK;
}

bg_addr_status
bg_addr_validate(const char *in, bg_addr *out, bg_error *err)
{
    bg_addr_status st = bg_addr_parse(in, out, err);

    if (st != BG_ADDR_OK)
        return st;
    return bg_addr_check_tld(out, err);
}

const char *
bg_addr_status_code(bg_addr_status st)
{
    switch (st) {
    case BG_ADDR_OK:
    case BG_ADDR_NULL:
        return "2.1.0";
    case BG_ADDR_BAD_DOMAIN:
    case BG_ADDR_UNKNOWN_TLD:
        return "5.1.2";
    case BG_ADDR_BAD_SYNTAX:
    case BG_ADDR_TOO_LONG:
    default:
        return "5.1.3";
    }
}

const char *
bg_addr_status_name(bg_addr_status st)
{
    switch (st) {
    case BG_ADDR_OK:
        return "ok";
    case BG_ADDR_NULL:
        return "null";
    case BG_ADDR_BAD_SYNTAX:
        return "bad-syntax";
    case BG_ADDR_TOO_LONG:
        return "too-long";
    case BG_ADDR_BAD_DOMAIN:
        return "bad-domain";
    case BG_ADDR_UNKNOWN_TLD:
        return "unknown-tld";
    }
    return "unknown";
}
