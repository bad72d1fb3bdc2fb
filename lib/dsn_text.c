/*
 * dsn_text — recipients and diagnostics in human-readable bounces.
 *
 * MTAs that send no message/delivery-status part still follow a few layouts,
 * which this file reads without knowing the MTA:
 *
 *   address on a line, diagnostic indented below      Exim, Exchange, Gmail
 *   <address>: diagnostic (continued on next lines)   qmail, Postfix, OpenSMTPD
 *   label: address ("Recipient address: a@b")        Domino, Courier, providers
 *   550 5.1.1 <address>... reason                     Sendmail transcripts
 *   While talking to H: >>> CMD <<< reply             Sendmail's sections: a
 *                                                     recipient takes its
 *                                                     section's reply and step
 *
 * The text given is the notice only; dsn_text_cut() finds where the copy of
 * the original message starts so that its addresses are never taken for
 * recipients.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/reply.h"
#include "bounceguard/textmatch.h"
#include "dsn_text.h"

#define DIAG_LINES 12

typedef struct line {
    const char *s;
    size_t len;
} line;

/* The lines of a notice: on the stack while they are few (most notices),
 * then on the heap; lines_free() releases them. */
#define LINES_ON_STACK 64

typedef struct lines {
    line *v;
    size_t n, cap;
    line stack[LINES_ON_STACK];
} lines;

static void
split_lines(const char *text, size_t len, lines *ls)
{
    const char *p = text, *end = text + len;
    ls->v = ls->stack;
    ls->n = 0;
    ls->cap = LINES_ON_STACK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (ls->n == ls->cap) {
            ls->cap *= 2;
            ls->v = ls->v == ls->stack ? memcpy(bg_xmalloc(ls->cap * sizeof *ls->v),
                                                ls->stack, sizeof ls->stack)
                                       : bg_xrealloc(ls->v, ls->cap * sizeof *ls->v);
        }
        size_t l = (size_t)(e - p);
        while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
            l--;
        ls->v[ls->n].s = p;
        ls->v[ls->n].len = l;
        ls->n++;
        p = nl ? nl + 1 : end;
    }
}

static void
lines_free(lines *ls)
{
    if (ls->v != ls->stack)
        free(ls->v);
}

static bool
blank(const line *l)
{
    for (size_t i = 0; i < l->len; i++)
        if (!isspace((unsigned char)l->s[i]))
            return false;
    return true;
}

/* ---- where the returned message starts -------------------------------- */

static const char *const markers[] = {
    "this is a copy of the message",
    "copy of the original message",
    "original message follows",
    "original message below",
    "original message headers",
    "header of the original message",
    "headers of the original message",
    "below this line is a copy",
    "unsent message below",
    "------ returned message",
    "----- original message",
    "--- original message",
    "your message reads (in part)",
    "bounced e-mail:",
    "message headers follow",
    "original message header",
    "content of the original message",
    "the message you sent",
    "--- the header of the original",
    "included is a copy of the",
    NULL,
};

static const struct {
    const char *s;
    size_t len;
} field_starts[] = {
#define FS(x)                                                                            \
    {                                                                                    \
        (x), sizeof(x) - 1                                                               \
    }
    FS("return-path:"),    FS("received:"),
    FS("dkim-signature:"), FS("message-id:"),
    FS("delivered-to:"),   FS("x-original-to:"),
    FS("mime-version:"),   FS("authentication-results:"),
    FS("arc-seal:"),
#undef FS
};

static bool
is_field_line(const line *l)
{
    size_t i = 0;
    while (i < l->len && (isalnum((unsigned char)l->s[i]) || l->s[i] == '-'))
        i++;
    return i > 0 && i < l->len && l->s[i] == ':';
}

/* The line (as split_lines() cuts it) that starts at p. */
static line
line_at(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    size_t l = (size_t)(e - p);
    while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
    *next = nl ? nl + 1 : end;
    return (line){p, l};
}

/* true when line l starts a block of header fields (a known field, then a
 * field or a continuation line); next is where the following line starts. */
static bool
starts_fields(const line *l, const char *next, const char *end)
{
    char c = (char)(l->len ? l->s[0] | 0x20 : 0);
    if (c != 'r' && c != 'd' && c != 'm' && c != 'x' && c != 'a')
        return false;
    for (size_t k = 0; k < sizeof field_starts / sizeof field_starts[0]; k++) {
        size_t fl = field_starts[k].len;
        if (l->len > fl && (char)(l->s[0] | 0x20) == field_starts[k].s[0] &&
            strncasecmp(l->s, field_starts[k].s, fl) == 0 && next < end) {
            const char *after;
            line n = line_at(next, end, &after);
            return is_field_line(&n) || next[0] == ' ' || next[0] == '\t';
        }
    }
    return false;
}

/* Multi-marker search with skips (Wu-Manber): a window of WIN bytes (no
 * marker is shorter) slides along the line; the pair of bytes at its end,
 * in any case, says how far it may move (marker_shift) before it can end where
 * some marker's first WIN bytes end.  At shift 0, the markers whose bytes
 * WIN-2 and WIN-1 are that pair (marker_first, marker_next; index + 1, 0 for
 * none) are compared from the window's start.  Made once. */
#define NMARKERS (sizeof markers / sizeof markers[0] - 1)
#define WIN 15
static unsigned char marker_shift[65536];
static unsigned char marker_first[65536];
_Static_assert(NMARKERS < 255, "marker indexes are bytes");
static unsigned char marker_next[NMARKERS];
static size_t marker_len[NMARKERS];
static pthread_once_t markers_once = PTHREAD_ONCE_INIT;

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline unsigned
pair_key(unsigned char a, unsigned char b)
{
    return (unsigned)a << 8 | b;
}

/* The text's bytes that lower() makes c: c and its capital for a small
 * letter, none for a capital, c alone for any other byte. */
static size_t
lower_preimage(unsigned char c, unsigned char out[2])
{
    if (c >= 'A' && c <= 'Z')
        return 0;
    out[0] = c;
    if (c >= 'a' && c <= 'z') {
        out[1] = (unsigned char)(c - ('a' - 'A'));
        return 2;
    }
    return 1;
}

/* marker_shift is indexed by the text's bytes as they are, so that the
 * scan lowers none (only at shift 0, for marker_first): a marker's pair
 * a, b (lower case) lowers the entry of every pair of bytes that lower()
 * makes a, b. */
static void
shift_at_most(unsigned char a, unsigned char b, unsigned char sh)
{
    unsigned char as[2], bs[2];
    size_t na = lower_preimage(a, as), nb = lower_preimage(b, bs);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            unsigned key = pair_key(as[i], bs[j]);
            if (marker_shift[key] > sh)
                marker_shift[key] = sh;
        }
}

static void
markers_make(void)
{
    memset(marker_shift, WIN - 1, sizeof marker_shift);
    for (size_t k = NMARKERS; k-- > 0;) {
        const unsigned char *mk = (const unsigned char *)markers[k];
        marker_len[k] = strlen(markers[k]);
        /* Every marker must be at least WIN bytes long: a shorter one
         * would never be found (add one only with WIN lowered). */
        for (size_t q = 1; q < WIN; q++)
            shift_at_most(mk[q - 1], mk[q], (unsigned char)(WIN - 1 - q));
        unsigned key = pair_key(mk[WIN - 2], mk[WIN - 1]);
        marker_next[k] = marker_first[key];
        marker_first[key] = (unsigned char)(k + 1);
    }
}

/* true when line l holds a marker, in any case (ASCII). */
static bool
has_marker(const line *l)
{
    const unsigned char *s = (const unsigned char *)l->s;
    size_t len = l->len;
    for (size_t e = WIN - 1; e < len;) {
        unsigned sh = marker_shift[pair_key(s[e - 1], s[e])];
        if (sh) {
            e += sh;
            continue;
        }
        unsigned key = pair_key(lower(s[e - 1]), lower(s[e]));
        size_t i = e - (WIN - 1);
        for (unsigned m = marker_first[key]; m; m = marker_next[m - 1]) {
            const char *mk = markers[m - 1];
            size_t n = marker_len[m - 1], j;
            if (n > len - i)
                continue;
            for (j = 0; j < n && lower(s[i + j]) == (unsigned char)mk[j]; j++)
                ;
            if (j == n)
                return true;
        }
        e++;
    }
    return false;
}

size_t
dsn_text_cut(const char *text, size_t len)
{
    if (!text || len == 0)
        return len;
    pthread_once(&markers_once, markers_make);
    /* The first line that holds a marker (when shorter than 200 bytes) or
     * starts a header block. */
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *next;
        line l = line_at(p, end, &next);
        if ((l.len < 200 && has_marker(&l)) || starts_fields(&l, next, end))
            return (size_t)(p - text);
        p = next;
    }
    return len;
}

/* ---- recipients ------------------------------------------------------- */

static bool
eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The address at the start of line l (after white space, a bullet and '<'),
 * and where the rest of the line begins.  NULL when the line does not start
 * with one. */
static char *
leading_addr(const line *l, size_t *rest)
{
    size_t i = 0;
    while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
        i++;
    if (i + 1 < l->len && (l->s[i] == '-' || l->s[i] == '*') && l->s[i + 1] == ' ')
        i += 2;
    /* an arrow as the bullet (amavisd-new's "-> a@b") */
    else if (i + 2 < l->len && (l->s[i] == '-' || l->s[i] == '=') && l->s[i + 1] == '>' &&
             l->s[i + 2] == ' ')
        i += 3;
    /* Sendmail-style list: ">>> a@b <a@b>" */
    /* (the first byte tested inline: most lines start with neither) */
    if (i + 4 < l->len && l->s[i] == '>' && strncmp(l->s + i, ">>> ", 4) == 0)
        i += 4;
    while (i < l->len && (l->s[i] == '<' || l->s[i] == '"' || l->s[i] == '\''))
        i++;
    if (i + 7 < l->len && (l->s[i] | 0x20) == 'm' &&
        strncasecmp(l->s + i, "mailto:", 7) == 0)
        i += 7;
    /* A UTF-8 address escaped in ASCII (Exim's "\\347\\224...@b", RFC
     * 6533's "\\x{7528}@b"): bg_dsn_addr_canon() reads it back. */
    size_t e = i;
    while (e < l->len && l->s[e] != ' ' && l->s[e] != '\t' && l->s[e] != '>')
        e++;
    if (e - i > 4 && e - i < 600 && memchr(l->s + i, '\\', e - i) &&
        memchr(l->s + i, '@', e - i)) {
        char esc[600];
        memcpy(esc, l->s + i, e - i);
        esc[e - i] = '\0';
        char *a = bg_dsn_addr_canon(esc);
        if (a)
            *rest = e;
        return a;
    }
    /* No address without an '@', nor one that starts with no address byte
     * (bg_dsn_addr_len() would say 0 for both). */
    if (i >= l->len || !bg_dsn_addr_byte((unsigned char)l->s[i]) ||
        !memchr(l->s + i, '@', l->len - i))
        return NULL;
    char tmp[600];
    size_t n = l->len - i < sizeof tmp - 1 ? l->len - i : sizeof tmp - 1;
    memcpy(tmp, l->s + i, n);
    tmp[n] = '\0';
    size_t al = bg_dsn_addr_len(tmp);
    if (!al)
        return NULL;
    *rest = i + al;
    return bg_text_lower_dup(tmp, al);
}

static const char *const labels[] = {
    "recipient", "address", "rcpt to", "adresse", "destinat", "empf",
    "failed",    "user",    "mailbox", "to:",     "for:",     NULL,
};

/* "Recipient address: <a@b>" — an address right after a label that names a
 * recipient.  Sets *rest to after the address. */
static char *labelled_at(const line *l, const char *colon, size_t *rest);

/* The longest label before a colon, in bytes, the colon not counted. */
#define LABEL_MAX 40

/* true when the lower-case label low[n] holds word (lower case): a label is
 * short, so memchr on the word's first byte, then memcmp. */
static bool
label_has(const char *low, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (wl == 0 || wl > n)
        return wl == 0;
    const char *last = low + (n - wl);
    for (const char *p = low; p <= last; p++) {
        p = memchr(p, word[0], (size_t)(last - p) + 1);
        if (p == NULL)
            return false;
        if (memcmp(p, word, wl) == 0)
            return true;
    }
    return false;
}

static char *
labelled_addr(const line *l, size_t *rest)
{
    size_t lim = l->len < 120 ? l->len : 120;
    /* labelled_at() reads the address with leading_addr(): none without '@'. */
    if (!memchr(l->s, '@', l->len))
        return NULL;
    for (const char *c = l->s; (c = memchr(c, ':', lim - (size_t)(c - l->s))) != NULL;
         c++) {
        line sub = {l->s, l->len};
        const char *start = c;
        /* The label is the word(s) just before this colon. */
        while (start > l->s && start[-1] != ',' && start[-1] != '[' && start[-1] != ';' &&
               (size_t)(c - start) < LABEL_MAX)
            start--;
        sub.s = start;
        sub.len = l->len - (size_t)(start - l->s);
        char *a = labelled_at(&sub, c, rest);
        if (a) {
            *rest += (size_t)(start - l->s);
            return a;
        }
        if ((size_t)(c + 1 - l->s) >= lim)
            break;
    }
    return NULL;
}

static char *
labelled_at(const line *l, const char *colon, size_t *rest)
{
    size_t lab = (size_t)(colon - l->s) + 1;
    /* One lower-case copy of the label for all the words looked for in it
     * (labelled_addr() keeps it to LABEL_MAX bytes and the colon); a label
     * that names none of the recipient words is the common case, so those
     * are looked for before the words that disqualify one. */
    char low[LABEL_MAX + 1];
    if (lab > sizeof low)
        return NULL;
    bg_text_lower_copy(low, l->s, lab);
    bool known = false;
    for (size_t k = 0; labels[k] && !known; k++)
        known = label_has(low, lab, labels[k]);
    if (!known || label_has(low, lab, "sender") || label_has(low, lab, "from") ||
        label_has(low, lab, "reply") || label_has(low, lab, "http"))
        return NULL;
    /* "To:" alone is the original message's header, not a recipient list. */
    size_t i = 0;
    while (i < lab && isspace((unsigned char)l->s[i]))
        i++;
    if (lab - i == 3 && strncasecmp(l->s + i, "to:", 3) == 0)
        return NULL;
    line after = {colon + 1, l->len - lab};
    size_t r2;
    const char *semi = memchr(after.s, ';', after.len < 12 ? after.len : 12);
    if (semi) {
        after.len -= (size_t)(semi + 1 - after.s);
        after.s = semi + 1;
    }
    char *a = leading_addr(&after, &r2);
    if (a)
        *rest = (size_t)(after.s - l->s) + r2;
    return a;
}

/* "550 5.1.1 <a@b>... User unknown" or "<<< 550 <a@b>..." */
static char *
reply_addr(const line *l, size_t *rest)
{
    size_t i = 0;
    while (i < l->len && (l->s[i] == ' ' || l->s[i] == '<' || l->s[i] == '\t'))
        i++;
    if (i + 4 > l->len || !strchr("245", l->s[i]) ||
        !isdigit((unsigned char)l->s[i + 1]) || !isdigit((unsigned char)l->s[i + 2]) ||
        (l->s[i + 3] != ' ' && l->s[i + 3] != '-'))
        return NULL;
    i += 4;
    while (i < l->len && (isdigit((unsigned char)l->s[i]) || l->s[i] == '.'))
        i++;
    while (i < l->len && l->s[i] == ' ')
        i++;
    if (i >= l->len || l->s[i] != '<')
        return NULL;
    line after = {l->s + i, l->len - i};
    char *a = leading_addr(&after, rest);
    *rest = 0; /* the whole line is the diagnostic */
    return a;
}

/* true when b holds an SMTP reply or status code. */
static bool
has_reply(const bg_buf *b)
{
    char code[32];
    return b->len > 0 && bg_reply_status_from_text(b->s, code, sizeof code);
}

/* ---- Sendmail's SMTP transcript ---------------------------------------- */

/*
 *   While talking to mx.example.org:       (V8: "... while talking to H.:")
 *   >>> MAIL From:<s@example.com>          what Sendmail sent
 *   <<< 501 ... which is an open relay     what the server answered
 *   554 <a@example.org>... Remote protocol error     Sendmail on a recipient
 *
 * A recipient's reply is the server's "<<<" answer in its section, and the
 * ">>>" command before it is the step of the session that failed: Sendmail's
 * own line is often only a summary ("Remote protocol error"), and without
 * the step "User unknown" cannot be told from a content filter's refusal.
 */
#define NO_LINE ((size_t)-1)

typedef struct transcript {
    size_t section; /* the last "while talking to" line */
    size_t cmd;     /* the section's last ">>> COMMAND" line */
    size_t reply;   /* the first "<<<" line after it */
} transcript;

#define TRANSCRIPT_INIT                                                                  \
    {                                                                                    \
        NO_LINE, NO_LINE, NO_LINE                                                        \
    }

/* Where line l's text starts after white space and Sendmail's "... ". */
static size_t
text_start(const line *l)
{
    size_t i = 0;
    while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t' || l->s[i] == '.'))
        i++;
    return i;
}

static bool
is_talking(const line *l)
{
    size_t i = text_start(l);
    return l->len - i > 17 && (l->s[i] | 0x20) == 'w' &&
           strncasecmp(l->s + i, "while talking to ", 17) == 0;
}

/* ">>> RCPT To:<a@b>", not a Sendmail-style list (">>> a@b <a@b>"). */
static bool
is_command(const line *l)
{
    static const char *const verbs[] = {"mail from", "rcpt to", "data", "ehlo", "helo",
                                        "starttls",  "quit",    "rset", ".",    NULL};
    if (l->len < 5 || memcmp(l->s, ">>> ", 4) != 0)
        return false;
    for (size_t k = 0; verbs[k]; k++) {
        size_t vl = strlen(verbs[k]);
        if (l->len - 4 >= vl && strncasecmp(l->s + 4, verbs[k], vl) == 0 &&
            (l->len - 4 == vl || !isalpha((unsigned char)l->s[4 + vl])))
            return true;
    }
    return false;
}

static bool
is_reply(const line *l)
{
    return l->len > 7 && memcmp(l->s, "<<< ", 4) == 0 && isdigit((unsigned char)l->s[4]);
}

/* true when line l opens a new section or exchange of a transcript. */
static bool
opens_exchange(const line *l)
{
    if (l->len < 5)
        return false;
    if (l->s[0] == '>')
        return is_command(l);
    /* Most lines start with a word: only "While" can be "While talking to". */
    if (isalnum((unsigned char)l->s[0]) && (l->s[0] | 0x20) != 'w')
        return false;
    return is_talking(l);
}

static void
transcript_step(transcript *t, const lines *ls, size_t i)
{
    const line *l = &ls->v[i];
    if (l->len < 5)
        return;
    if (l->s[0] == '<') {
        if (t->cmd != NO_LINE && t->reply == NO_LINE && is_reply(l))
            t->reply = i;
    } else if (l->s[0] == '>') {
        if (is_command(l)) {
            t->cmd = i;
            t->reply = NO_LINE;
        }
    } else if (opens_exchange(l)) {
        t->section = i;
        t->cmd = t->reply = NO_LINE;
    }
}

/* The "<<<" lines from line i on, without their "<<< ", appended to b. */
static void
append_replies(const lines *ls, size_t i, bg_buf *b)
{
    for (size_t taken = 0; i < ls->n && taken < DIAG_LINES && is_reply(&ls->v[i]);
         i++, taken++) {
        if (b->len)
            bg_buf_putc(b, ' ');
        bg_dsn_collapse(b, ls->v[i].s + 4, ls->v[i].len - 4);
    }
}

/* true when Sendmail's line about a recipient, "NNN <a@b>... text", quotes
 * a reply of its own ("554 <a@b>... 550 Host unknown"). */
static bool
quotes_reply(const line *l)
{
    const char *dots = l->len > 4 ? memmem(l->s, l->len, "... ", 4) : NULL;
    if (!dots)
        return false;
    const char *p = dots + 4, *end = l->s + l->len;
    return end - p >= 4 && strchr("245", *p) && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-');
}

/* The diagnostic of the recipient found on line i inside a transcript: the
 * server's reply, after the command it answered when with_cmd (the context
 * the classifier reads the step from).  false when line i is not about a
 * reply in the transcript. */
static bool
transcript_diag(const lines *ls, size_t i, const transcript *t, bool with_cmd, bg_buf *b)
{
    const line *l = &ls->v[i];
    size_t from, cmd = t->cmd;
    if (is_command(l)) { /* ">>> RCPT To:<a@b>", its answer below */
        if (i + 1 >= ls->n || !is_reply(&ls->v[i + 1]))
            return false;
        cmd = i;
        from = i + 1;
    } else if (is_reply(l) && cmd != NO_LINE) { /* "<<< 550 <a@b>... User unknown" */
        from = i;
    } else if (t->reply != NO_LINE && t->reply < i && !quotes_reply(l)) {
        from = t->reply;
    } else {
        return false;
    }
    if (with_cmd && cmd != NO_LINE)
        bg_dsn_collapse(b, ls->v[cmd].s, ls->v[cmd].len);
    append_replies(ls, from, b);
    return true;
}

/* The remote server of the transcript's current section. */
static char *host_token(const char *p, const char *end);

static char *
section_host(const lines *ls, const transcript *t)
{
    if (t->section == NO_LINE)
        return NULL;
    const line *l = &ls->v[t->section];
    size_t i = text_start(l) + 17;
    return host_token(l->s + i, l->s + l->len);
}

/* Collect the diagnostic for the recipient addr found on line i.  A line
 * that starts with another address ends it; the same address again (Exim
 * wraps "after RCPT TO:\n<a@b>:" onto its own line) does not. */
static void
collect_diag(const lines *ls, size_t i, size_t rest, const char *addr, bg_buf *b)
{
    const line *l = &ls->v[i];
    size_t k = rest;
    while (k < l->len && (l->s[k] == '\0' || memchr(">:.;, \t", l->s[k], 7)))
        k++;
    if (k < l->len)
        bg_dsn_collapse(b, l->s + k, l->len - k);
    size_t j = i + 1;
    if (b->len == 0) {
        /* "address" alone, then a blank line, then the details (Gmail). */
        while (j < ls->n && j < i + 3 && blank(&ls->v[j]))
            j++;
    }
    for (size_t taken = 0; j < ls->n && taken < DIAG_LINES; j++, taken++) {
        const line *n = &ls->v[j];
        size_t r2;
        /* Once a reply is in, the transcript's next section or exchange is
         * about another address; before, it is the one that explains addr
         * ("<a@b>" listed, then ">>> RCPT TO:<a@b>", "<<< 553 ..."). */
        if (opens_exchange(n) && has_reply(b))
            break;
        if (blank(n)) {
            /* Go on into the next paragraph while no reply has been seen
             * ("Technical details:", "For the following reason:"). */
            if (has_reply(b))
                break;
            continue;
        }
        /* (neither finds an address on a line without '@') */
        bool at = memchr(n->s, '@', n->len) != NULL;
        char *a = at ? leading_addr(n, &r2) : NULL;
        /* Sendmail's next "554 <c@d>... text", at the start of its line
         * (an indented one continues a reply that quotes an address). */
        if (!a && at && isdigit((unsigned char)n->s[0]))
            a = reply_addr(n, &r2);
        if (a) {
            bool same = addr && strcmp(a, addr) == 0;
            free(a);
            if (!same)
                break;
        }
        if (b->len)
            bg_buf_putc(b, ' ');
        bg_dsn_collapse(b, n->s, n->len);
    }
}

/* true when line l, a line without an address, introduces addresses that
 * are no failed recipients: the sender ("A message sent by" in Exim's
 * notice to someone else than the sender) or the recipients a partial
 * failure did reach ("Your message WAS SUCCESSFULLY RELAYED to:",
 * amavisd-new).  Its list runs to the next line with words and no address. */
static bool
introduces_others(const line *l)
{
    static const char *const ends[] = {
        "sent by",
        "message from",
        "sender",
        "successfully relayed to",
        "successfully delivered to",
        "delivered successfully to",
        NULL,
    };
    size_t n = l->len;
    while (n && (l->s[n - 1] == ' ' || l->s[n - 1] == '\t' || l->s[n - 1] == ':'))
        n--;
    char low[64];
    /* Every ending above ends in one of these letters: most lines do not. */
    if (n == 0 || !memchr("ymroYMRO", l->s[n - 1], 8))
        return false;
    size_t from = n > sizeof low ? n - sizeof low : 0;
    bg_text_lower_copy(low, l->s + from, n - from);
    for (size_t k = 0; ends[k]; k++) {
        size_t el = strlen(ends[k]);
        if (el <= n - from && memcmp(low + (n - from) - el, ends[k], el) == 0 &&
            (el == n - from || !isalnum((unsigned char)low[(n - from) - el - 1])))
            return true;
    }
    return false;
}

size_t
dsn_text_scan(const char *text, size_t len, const char *skip1, const char *skip2,
              bg_dsn_report *r)
{
    bool others = false; /* in a list introduced by introduces_others() */
    lines ls;
    size_t added = 0;
    transcript t = TRANSCRIPT_INIT;
    split_lines(text, len, &ls);
    for (size_t i = 0; i < ls.n; i++) {
        size_t rest = 0;
        const line *l = &ls.v[i];
        if (l->len > 2000)
            continue;
        transcript_step(&t, &ls, i);
        if (!memchr(l->s, '@', l->len)) {
            if (!blank(l))
                others = introduces_others(l);
            continue; /* no address for any of the three below */
        }
        char *a = leading_addr(l, &rest);
        if (a && others) {
            free(a);
            continue;
        }
        if (!a)
            a = labelled_addr(l, &rest);
        if (!a)
            a = reply_addr(l, &rest);
        if (!a)
            continue;
        if (eq(a, skip1) || eq(a, skip2)) {
            free(a);
            continue;
        }
        bool existed;
        bg_dsn_rcpt *rc = bg_dsn_rcpt_add(r, a, &existed);
        if (rc && !rc->diagnostic) {
            bg_buf b = BG_BUF_INIT;
            if (transcript_diag(&ls, i, &t, false, &b)) {
                if (!rc->remote_mta)
                    rc->remote_mta = section_host(&ls, &t);
            } else {
                collect_diag(&ls, i, rest, a, &b);
            }
            if (b.len)
                rc->diagnostic = bg_buf_steal(&b);
            bg_buf_free(&b);
        }
        if (rc && !existed)
            added++;
        free(a);
    }
    lines_free(&ls);
    return added;
}

/* Does s[n] hold a transcript's command line (">>> RCPT To:...")?  memchr
 * for its first byte: a notice holds few '>', and memmem costs more. */
static bool
has_command(const char *s, size_t n)
{
    const char *end = s + n;
    for (const char *p = s; (p = memchr(p, '>', (size_t)(end - p))) != NULL; p++)
        if (end - p >= 4 && memcmp(p, ">>> ", 4) == 0)
            return true;
    return false;
}

char *
dsn_text_diag_for(const char *text, size_t len, const char *addr)
{
    lines ls;
    char *res = NULL;
    bool in_transcript = false;
    transcript t = TRANSCRIPT_INIT;
    split_lines(text, len, &ls);
    /* The first lines that name the address, unless a transcript further
     * down names it too: Sendmail lists "<a@b> (reason: 550 ...)" first
     * and the command that reply answered (">>> RCPT To:<a@b>") only in its
     * transcript. */
    for (size_t i = 0; i < ls.n && !in_transcript; i++) {
        size_t rest;
        transcript_step(&t, &ls, i);
        /* A line without '@' names no address: leading_addr(),
         * labelled_addr() and reply_addr() all need one. */
        if (!memchr(ls.v[i].s, '@', ls.v[i].len))
            continue;
        char *a = leading_addr(&ls.v[i], &rest);
        if (!a)
            a = labelled_addr(&ls.v[i], &rest);
        /* Sendmail's "NNN <a@b>... text" counts only inside a transcript. */
        if (!a && t.cmd != NO_LINE)
            a = reply_addr(&ls.v[i], &rest);
        if (a && strcmp(a, addr) == 0) {
            bg_buf b = BG_BUF_INIT;
            bool from_transcript = transcript_diag(&ls, i, &t, true, &b);
            if (!from_transcript && !res)
                collect_diag(&ls, i, rest, a, &b);
            if (b.len) {
                free(res);
                res = bg_buf_steal(&b);
                in_transcript = from_transcript;
            }
            bg_buf_free(&b);
            /* Past the first mention only when a transcript follows. */
            const char *next = ls.v[i].s + ls.v[i].len;
            if (!in_transcript && res &&
                !has_command(next, len - (size_t)(next - text))) {
                free(a);
                break;
            }
        }
        free(a);
    }
    lines_free(&ls);
    return res;
}

/* ---- the remote server ------------------------------------------------ */

static bool
host_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':';
}

/* Copy a host name or address token at p (inside [..] or bare). */
static char *
host_token(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '['))
        p++;
    const char *s = p;
    while (p < end && host_char((unsigned char)*p))
        p++;
    while (p > s && (p[-1] == '.' || p[-1] == ':'))
        p--;
    if (p - s < 3 || !memchr(s, '.', (size_t)(p - s)) || p - s > 255)
        return NULL;
    return bg_text_lower_dup(s, (size_t)(p - s));
}

char *
dsn_text_remote_mta(const char *text, size_t len)
{
    static const char *const intros[] = {
        "host ",          "while talking to ", "connected to ", "remote host ",
        "remote server ", "server ",           "mx ",           NULL};
    const char *end = text + len;
    /* One lower-case copy searched with strstr for every intro (a
     * diagnostic holds no NUL: the search ends at the first one); the host
     * is read from the text at the same offset. */
    char *low = bg_text_lower_dup(text, len);
    char *res = NULL;
    for (size_t k = 0; intros[k] && !res; k++) {
        for (const char *hit = strstr(low, intros[k]); hit;
             hit = strstr(hit + 1, intros[k])) {
            char *h = host_token(text + (hit - low) + strlen(intros[k]), end);
            if (h && !strchr(h, '@')) {
                res = h;
                break;
            }
            free(h);
        }
    }
    free(low);
    return res;
}
