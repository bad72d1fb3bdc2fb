/*
 * dsn_transcript — which SMTP command a recipient's refusal answered, and
 * the whole of a multi-line reply, read from the session transcript that
 * Sendmail writes into its notice (the DSN's first part), both of which its
 * Diagnostic-Code leaves out:
 *
 *     ... while talking to mx.example.com.:
 *     >>> RCPT To:<a@example.com>
 *     <<< 550 No such user here
 *     550 5.1.1 <a@example.com>... User unknown
 *     >>> DATA
 *     <<< 554 Message rejected as spam
 *     554 5.0.0 Service unavailable
 *
 * Sendmail writes a reply into the transcript only when it is an error, after
 * the last command it sent (">>> "), and then its own verdict: "<addr>... "
 * for a recipient refused at RCPT TO, no address when the whole message
 * failed.  When the server offers PIPELINING the last command sent is DATA
 * even for the RCPT replies:
 *
 *     >>> DATA
 *     <<< 550 Mailbox quota exceeded
 *     550 5.1.1 <b@example.com>... User unknown
 *     <<< 554 Message rejected as spam
 *     554 5.0.0 Service unavailable
 *
 * so the verdict line that names the recipient decides first; the command
 * before the reply only for a reply that names nobody.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/reply.h"
#include "bounceguard/util.h"
#include "dsn_transcript.h"

/* The phrases that bg_reply_classify_ctx() reads as the command (command_of()). */
static const char step_rcpt[] = "in reply to RCPT TO command";
static const char step_data[] = "in reply to DATA command";
static const char step_mail[] = "in reply to MAIL FROM command";
static const char step_ehlo[] = "in reply to EHLO command";

typedef struct line {
    const char *p;
    size_t n;
} line;

/* The line at *pos in text[len] (without its CR LF); advances *pos. */
static line
next_line(const char *text, size_t len, size_t *pos)
{
    line l = {text + *pos, 0};
    const char *nl = memchr(l.p, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - l.p) : len - *pos;
    *pos += nl ? n + 1 : n;
    l.n = n && l.p[n - 1] == '\r' ? n - 1 : n;
    return l;
}

static bool
starts(line l, const char *lit)
{
    size_t n = strlen(lit);
    return l.n >= n && strncasecmp(l.p, lit, n) == 0;
}

/* true when l holds "<rcpt>" (the address in angle brackets, ASCII case
 * folded) at off. */
static bool
names_at(line l, size_t off, const char *rcpt, size_t rlen)
{
    return off + rlen + 2 <= l.n && l.p[off] == '<' && l.p[off + rlen + 1] == '>' &&
           strncasecmp(l.p + off + 1, rcpt, rlen) == 0;
}

/* Sendmail's verdict on one address after a reply: "550 5.1.1 <a@x>... User
 * unknown" or "<a@x>... Deferred: 451 ...".  Sets *off to where "<" is, or
 * returns false when the line names no address that way. */
static bool
verdict_addr(line l, size_t *off)
{
    size_t i = 0;
    if (l.n >= 4 && isdigit((unsigned char)l.p[0]) && isdigit((unsigned char)l.p[1]) &&
        isdigit((unsigned char)l.p[2]) && l.p[3] == ' ') {
        i = 4;
        while (i < l.n && (isdigit((unsigned char)l.p[i]) || l.p[i] == '.'))
            i++;
        while (i < l.n && l.p[i] == ' ')
            i++;
    }
    if (i >= l.n || l.p[i] != '<')
        return false;
    const char *gt = memchr(l.p + i, '>', l.n - i);
    if (!gt || (size_t)(l.p + l.n - gt) < 4 || memcmp(gt + 1, "...", 3) != 0)
        return false;
    *off = i;
    return true;
}

/* The step a command line (after ">>> ") names, NULL for another command;
 * *rcpt_cmd is set when it is RCPT TO. */
static const char *
command_step(line cmd, bool *rcpt_cmd)
{
    *rcpt_cmd = false;
    if (starts(cmd, "RCPT TO:")) {
        *rcpt_cmd = true;
        return step_rcpt;
    }
    if (starts(cmd, "DATA") || (cmd.n == 1 && cmd.p[0] == '.'))
        return step_data;
    if (starts(cmd, "MAIL FROM:"))
        return step_mail;
    if (starts(cmd, "EHLO") || starts(cmd, "HELO") || starts(cmd, "LHLO"))
        return step_ehlo;
    return NULL;
}

/* true when the reply (after "<<< ") is the start of diag, which had its
 * runs of white space folded into one space: its first 60 bytes are
 * compared so folded ("unknown.  Either" is "unknown. Either"). */
static bool
reply_is(line reply, const char *diag)
{
    size_t i = 0, d = 0, n = reply.n < 60 ? reply.n : 60;

    while (n > 0 && reply.p[n - 1] == ' ')
        n--;
    if (n < 4)
        return false;
    while (i < n) {
        if (reply.p[i] == ' ' || reply.p[i] == '\t') {
            while (i < n && (reply.p[i] == ' ' || reply.p[i] == '\t'))
                i++;
            if (diag[d] != ' ')
                return false;
            d++;
            continue;
        }
        if (diag[d] == '\0' ||
            tolower((unsigned char)reply.p[i]) != tolower((unsigned char)diag[d]))
            return false;
        i++;
        d++;
    }
    return true;
}

/* What the transcript says so far about the recipient.  Only a reply whose
 * text is the recipient's diagnostic (the failure the DSN reports) counts
 * when there is one: an earlier 4xx to its RCPT TO, on another server or at
 * another attempt, does not say what the final refusal answered. */
typedef struct finding {
    const char *step;
} finding;

static void
note(finding *f, const char *step, bool exact)
{
    if (step && exact && !f->step)
        f->step = step;
}

/* The reply whose lines run from first to last has ended; verdict is the
 * line after it (may be empty). */
static void
reply_done(finding *f, line cmd, line first, line last, line verdict, const char *rcpt,
           size_t rlen, const char *diag)
{
    size_t off;
    bool exact = diag && (reply_is(first, diag) || reply_is(last, diag));
    if (verdict_addr(verdict, &off)) {
        /* About the address that the verdict names: a refusal at RCPT TO,
         * whatever command was sent last (pipelining). */
        if (names_at(verdict, off, rcpt, rlen))
            note(f, step_rcpt, exact || !diag);
        return;
    }
    bool rcpt_cmd;
    const char *step = cmd.p ? command_step(cmd, &rcpt_cmd) : NULL;
    if (step && rcpt_cmd)
        note(f, names_at(cmd, 8, rcpt, rlen) ? step_rcpt : NULL, exact || !diag);
    else if (step && exact)
        note(f, step, true);
}

/* Does a line of s[len] after the first start with "<<< " (memmem(s, len,
 * "\n<<< ", 5))?  memchr on '<', rarer than '\n' and without memmem's
 * set-up for every notice. */
static bool
has_reply_line(const char *s, size_t len)
{
    const char *end = s + len;
    for (const char *p = s; p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL;
         p++)
        if (p > s && p[-1] == '\n' && end - p >= 4 && memcmp(p, "<<< ", 4) == 0)
            return true;
    return false;
}

const char *
dsn_transcript_step(const char *notice, size_t len, const char *rcpt, const char *diag)
{
    if (!notice || !rcpt || !*rcpt || !has_reply_line(notice, len))
        return NULL;
    size_t rlen = strlen(rcpt), pos = 0;
    line cmd = {NULL, 0};   /* the last ">>> " command of this session */
    line first = {NULL, 0}; /* the first and last lines of the open reply */
    line last = {NULL, 0};
    finding f = {NULL};
    while (pos < len && !f.step) {
        line l = next_line(notice, len, &pos);
        if (starts(l, "<<< ")) {
            line r = {l.p + 4, l.n - 4};
            bool continued = last.p && last.n >= 4 && last.p[3] == '-';
            if (first.p && !continued)
                reply_done(&f, cmd, first, last, (line){"", 0}, rcpt, rlen, diag);
            if (!first.p || !continued)
                first = r;
            last = r;
            continue;
        }
        if (first.p)
            reply_done(&f, cmd, first, last, l, rcpt, rlen, diag);
        first.p = last.p = NULL;
        if (starts(l, ">>> "))
            cmd = (line){l.p + 4, l.n - 4};
        else if (starts(l, "... while talking to "))
            cmd = (line){NULL, 0}; /* another server, another session */
    }
    if (first.p)
        reply_done(&f, cmd, first, last, (line){"", 0}, rcpt, rlen, diag);
    return f.step;
}

/* The text of one reply line after its code ("550-" or "550 ") and, when it
 * has one, its enhanced code ("5.1.1 "), which goes to code[size]. */
static line
reply_text(line l, char *code, size_t size)
{
    line t = {l.p + 4, l.n - 4};
    size_t k = 0;

    while (k < t.n && (isdigit((unsigned char)t.p[k]) || t.p[k] == '.'))
        k++;
    if (k >= 5 && k < size && k < t.n && t.p[k] == ' ' && t.p[1] == '.' &&
        t.p[0] == l.p[0]) {
        memcpy(code, t.p, k);
        code[k] = '\0';
        t.p += k + 1;
        t.n -= k + 1;
    }
    return t;
}

/* Whether l and s[n] hold the same text, runs of white space being one
 * space (a Diagnostic-Code's value has them folded). */
static bool
same_words(line l, const char *s, size_t n)
{
    size_t i = 0, j = 0;

    while (i < l.n && j < n) {
        bool wi = l.p[i] == ' ' || l.p[i] == '\t', wj = s[j] == ' ' || s[j] == '\t';
        if (wi && wj) {
            while (i < l.n && (l.p[i] == ' ' || l.p[i] == '\t'))
                i++;
            while (j < n && (s[j] == ' ' || s[j] == '\t'))
                j++;
        } else if (l.p[i] == s[j]) {
            i++, j++;
        } else {
            return false;
        }
    }
    return i == l.n && j == n;
}

char *
dsn_transcript_reply(const char *notice, size_t len, const char *first)
{
    size_t flen = strcspn(first, "\r\n"), pos = 0;
    char code[16] = "";
    bg_buf text = BG_BUF_INIT;

    if (!notice || flen < 4 || first[3] != '-')
        return NULL;
    while (pos < len) {
        line l = next_line(notice, len, &pos);
        if (!starts(l, "<<< ") || !same_words((line){l.p + 4, l.n - 4}, first, flen))
            continue;
        /* the reply's first line, then its continuations up to the line
         * whose code is followed by a space (RFC 5321 4.2.1), written as
         * one line: "550 5.1.1 all the lines' text", the enhanced code the
         * last of the lines' own */
        line t = reply_text((line){l.p + 4, l.n - 4}, code, sizeof code);
        bg_buf_append(&text, t.p, t.n);
        while (pos < len) {
            line c = next_line(notice, len, &pos);
            if (!starts(c, "<<< ") || c.n < 8 || memcmp(c.p + 4, first, 3) != 0)
                break;
            t = reply_text((line){c.p + 4, c.n - 4}, code, sizeof code);
            bg_buf_putc(&text, ' ');
            bg_buf_append(&text, t.p, t.n);
            if (c.p[7] != '-') {
                char *whole = bg_xasprintf("%.3s %s%s%s", first, code, code[0] ? " " : "",
                                           bg_buf_str(&text));
                bg_buf_free(&text);
                return whole;
            }
        }
        break;
    }
    bg_buf_free(&text);
    return NULL;
}

char *
dsn_transcript_deferred(const char *notice, size_t len, const char *rcpt)
{
    size_t rlen = rcpt ? strlen(rcpt) : 0, pos = 0, off;

    if (!notice || rlen == 0 || !has_reply_line(notice, len))
        return NULL;
    while (pos < len) {
        line l = next_line(notice, len, &pos);
        if (l.n < 4 || !verdict_addr(l, &off) || !names_at(l, off, rcpt, rlen) ||
            l.n < off + rlen + 5) /* "<rcpt>..." whole, even if rcpt holds a '>' */
            continue;
        /* "<a@x>... Deferred: 421-4.7.0 ...": Sendmail repeats the first
         * line of the reply that deferred the address */
        line t = {l.p + off + rlen + 5, l.n - off - rlen - 5};
        if (!starts(t, " Deferred: "))
            continue;
        t.p += 11;
        t.n -= 11;
        if (t.n >= 4 && t.p[0] == '4' && isdigit((unsigned char)t.p[1]) &&
            isdigit((unsigned char)t.p[2]) && (t.p[3] == ' ' || t.p[3] == '-'))
            return bg_xstrndup(t.p, t.n);
    }
    return NULL;
}
