/*
 * dsn — the bounce parser: message kinds (RFC 3464, ARF, auto-reply, text),
 * the report and its recipients.  Human-readable bounces are read by
 * lib/dsn_text.c, the classification is lib/reply.c.  See
 * include/bounceguard/dsn.h for the contract.
 */
#include "bounceguard/dsn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/mime.h"
#include "bounceguard/reply.h"
#include "bounceguard/textmatch.h"
#include "dsn_family.h"
#include "dsn_ses.h"
#include "dsn_text.h"
#include "dsn_transcript.h"

/* ---- small helpers ---------------------------------------------------- */

static char *
strip_angle(const char *v)
{
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '<')
        v++;
    size_t n = strcspn(v, "> \t");
    return n ? bg_xstrndup(v, n) : NULL;
}

/* "dns; mx.example.com" -> "mx.example.com" */
static char *
after_type(const char *v)
{
    if (!v)
        return NULL;
    const char *semi = strchr(v, ';');
    if (semi && semi - v < 16)
        v = semi + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    bg_buf b = BG_BUF_INIT;
    bg_dsn_collapse(&b, v, strlen(v));
    if (b.len == 0) {
        bg_buf_free(&b);
        return NULL;
    }
    return bg_buf_steal(&b);
}

/* true when the header block looks like a bounce notice (daemon sender,
 * bounce subject, X-Failed-Recipients). */
static bool
looks_like_bounce(const bg_mime_headers *h)
{
    static const char *const senders[] = {"mailer-daemon",
                                          "postmaster",
                                          "mail delivery",
                                          "maildelivery",
                                          "mdaemon",
                                          "mail administrator",
                                          "system administrator",
                                          "mailerdaemon",
                                          "nobody@",
                                          "bounce",
                                          "noreply",
                                          NULL};
    static const char *const subjects[] = {"undeliver",
                                           "undelivered",
                                           "delivery status",
                                           "delivery fail",
                                           "delivery notification",
                                           "failure notice",
                                           "returned mail",
                                           "mail delivery",
                                           "non-delivery",
                                           "nondeliverable",
                                           "delivery problem",
                                           "could not be delivered",
                                           "not delivered",
                                           "delivery error",
                                           "mail failure",
                                           "bounce",
                                           "rejected",
                                           "delivery has failed",
                                           "warning:",
                                           "mail system error",
                                           "error sending",
                                           "message not",
                                           "unzustellbar",
                                           "non remis",
                                           "non recapitabile",
                                           "error",
                                           NULL};
    if (bg_mime_headers_get(h, "X-Failed-Recipients"))
        return true;
    const char *from = bg_mime_headers_get(h, "From");
    if (from)
        for (size_t i = 0; senders[i]; i++)
            if (bg_text_find(from, strlen(from), senders[i]))
                return true;
    const char *subj = bg_mime_headers_get(h, "Subject");
    if (subj) {
        char *d = bg_mime_decode_words(subj);
        bool hit = false;
        for (size_t i = 0; subjects[i] && !hit; i++)
            hit = bg_text_find(d, strlen(d), subjects[i]) != NULL;
        free(d);
        if (hit)
            return true;
    }
    return false;
}

/* ---- RFC 3464 delivery-status ----------------------------------------- */

static void
take(char **dst, char *src)
{
    if (!*dst)
        *dst = src;
    else
        free(src);
}

/* The 2.x.y code of a success report's Status field (may be NULL),
 * "2.0.0" when it has none. */
static char *
success_status(const char *status)
{
    while (status && (*status == ' ' || *status == '\t'))
        status++;
    size_t n = status ? strspn(status, "0123456789.") : 0;
    if (n < 5 || n > 11 || status[0] != '2' || status[1] != '.')
        return bg_xstrdup("2.0.0");
    return bg_xstrndup(status, n);
}

/*
 * The lines of a multi-line reply that the reporter wrote unfolded after the
 * Diagnostic-Code field, in the field block grp[glen]: nullmailer writes
 * "550-5.7.1 ...likely" on the field's line and "550-5.7.1 suspicious ..."
 * and "550 5.7.1 ..." at the start of the next ones, which a header reader
 * drops as neither a field nor a continuation.  Each following line that
 * starts with the reply's own code and a '-' or ' ' is appended to *diag
 * (a space between), until the first that does not.
 */
static void
unfolded_reply_lines(const char *grp, size_t glen, char **diag)
{
    static const char field[] = "diagnostic-code:";
    const char *d = *diag, *end = grp + glen, *p = grp;

    if (!d || !isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
        !isdigit((unsigned char)d[2]) || d[3] != '-')
        return;
    /* the field's line, then its folded continuations */
    while (p < end &&
           !((p == grp || p[-1] == '\n') && (size_t)(end - p) >= sizeof field - 1 &&
             strncasecmp(p, field, sizeof field - 1) == 0))
        p++;
    if (p >= end)
        return;
    do {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    } while (p < end && (*p == ' ' || *p == '\t'));
    bg_buf b = BG_BUF_INIT;
    bg_buf_append(&b, d, strlen(d));
    bool more = false;
    while (end - p >= 4 && memcmp(p, d, 3) == 0 && (p[3] == '-' || p[3] == ' ')) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        bg_buf_putc(&b, ' ');
        bg_buf_append(&b, p, n);
        more = true;
        p = nl ? nl + 1 : end;
    }
    if (more) {
        free(*diag);
        *diag = bg_buf_steal(&b);
    } else
        bg_buf_free(&b);
}

static void
read_delivery_status(const char *body, size_t len, bg_dsn_report *r)
{
    const char *p = body, *end = body + len;
    bool first = true;
    while (p < end) {
        while (p < end && (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t'))
            p++;
        if (p >= end)
            break;
        bg_mime_headers h = BG_MIME_HEADERS_INIT;
        size_t used = bg_mime_headers_parse(p, (size_t)(end - p), &h);
        const char *final = bg_mime_headers_get(&h, "Final-Recipient");
        const char *orig = bg_mime_headers_get(&h, "Original-Recipient");
        const char *xact = bg_mime_headers_get(&h, "X-Actual-Recipient");
        if (!final && !orig) {
            if (first || bg_mime_headers_get(&h, "Reporting-MTA")) {
                take(&r->reporting_mta,
                     after_type(bg_mime_headers_get(&h, "Reporting-MTA")));
                take(&r->queue_id,
                     after_type(bg_mime_headers_get(&h, "X-Postfix-Queue-ID")));
                take(&r->queue_id,
                     after_type(bg_mime_headers_get(&h, "Original-Envelope-Id")));
                take(&r->orig_sender,
                     bg_dsn_addr_canon(bg_mime_headers_get(&h, "X-Postfix-Sender")));
            }
        } else {
            char *addr = bg_dsn_addr_canon(final);
            if (!addr)
                addr = bg_dsn_addr_canon(orig);
            if (!addr)
                addr = bg_dsn_addr_canon(xact);
            const char *action = bg_mime_headers_get(&h, "Action");
            const char *status = bg_mime_headers_get(&h, "Status");
            /* A success report (RFC 3464 delivered, relayed to a server
             * without DSN, expanded by an alias or list; status 2.x.x) is
             * reported as "delivered", never as a failure; lib/learn.c
             * ignores it by its action. */
            bool success = action && (strncasecmp(action, "delivered", 9) == 0 ||
                                      strncasecmp(action, "relayed", 7) == 0 ||
                                      strncasecmp(action, "expanded", 8) == 0);
            if (status && status[0] == '2')
                success = true;
            bool existed;
            bg_dsn_rcpt *rc = bg_dsn_rcpt_add(r, addr, &existed);
            if (rc && !existed && success)
                rc->reason = "delivered";
            if (rc && !existed) {
                if (action) {
                    rc->action =
                        bg_ascii_lower(bg_xstrndup(action, strcspn(action, " ;(\t")));
                }
                char code[32];
                if (status && bg_reply_status_from_text(status, code, sizeof code))
                    rc->status = bg_xstrdup(code);
                else if (success)
                    rc->status = success_status(status);
                rc->remote_mta = after_type(bg_mime_headers_get(&h, "Remote-MTA"));
                const char *dc = bg_mime_headers_get(&h, "Diagnostic-Code");
                rc->diagnostic = after_type(dc);
                unfolded_reply_lines(p, used ? used : (size_t)(end - p), &rc->diagnostic);
                const char *semi = dc ? strchr(dc, ';') : NULL;
                if (semi && semi - dc < 16) {
                    while (*dc == ' ' || *dc == '\t')
                        dc++;
                    if (semi > dc)
                        rc->diagnostic_type =
                            bg_ascii_lower(bg_xstrndup(dc, strcspn(dc, " \t;")));
                }
            }
            free(addr);
        }
        first = false;
        bg_mime_headers_clear(&h);
        if (used == 0)
            break;
        p += used;
    }
}

/* ---- ARF feedback reports --------------------------------------------- */

static void
read_feedback(const bg_mime_part *fb, const bg_mime_headers *orig, bg_dsn_report *r)
{
    bg_mime_headers h = BG_MIME_HEADERS_INIT;
    if (fb)
        bg_mime_headers_parse(fb->body, fb->len, &h);
    for (size_t i = 0; i < h.n; i++) {
        if (!bg_mime_field_is(&h.v[i], "Original-Rcpt-To") &&
            !bg_mime_field_is(&h.v[i], "Removal-Recipient"))
            continue;
        char *a = bg_dsn_addr_canon(bg_mime_headers_value(&h, i));
        if (a)
            bg_dsn_rcpt_add(r, a, NULL);
        free(a);
    }
    take(&r->orig_sender,
         bg_dsn_addr_canon(bg_mime_headers_get(&h, "Original-Mail-From")));
    if (r->nrcpts == 0 && orig) {
        const char *to = bg_mime_headers_get(orig, "X-HmXmrOriginalRecipient");
        if (!to)
            to = bg_mime_headers_get(orig, "To");
        char *a = bg_dsn_addr_canon(to);
        bg_dsn_rcpt_add(r, a, NULL);
        free(a);
    }
    if (r->nrcpts == 0)
        bg_dsn_rcpt_add(r, NULL, NULL);
    const char *ft = bg_mime_headers_get(&h, "Feedback-Type");
    for (size_t i = 0; i < r->nrcpts; i++) {
        r->rcpts[i].reason = "feedback";
        if (ft) {
            bg_buf b = BG_BUF_INIT;
            bg_buf_printf(&b, "Feedback-Type: %.100s", ft);
            r->rcpts[i].diagnostic = bg_buf_steal(&b);
        }
    }
    bg_mime_headers_clear(&h);
}

/* A complaint without a feedback-report part: Hotmail's JMRP, Apple Mail's
 * unsubscribe request. */
static bool
looks_like_feedback(const bg_mime_message *m, const bg_mime_headers *orig)
{
    const char *subj = bg_mime_headers_get(&m->headers, "Subject");
    if (orig && bg_mime_headers_get(orig, "X-HmXmrOriginalRecipient"))
        return true;
    if (subj && bg_text_find(subj, strlen(subj), "complaint about message from"))
        return true;
    for (size_t i = 0; i < m->nparts; i++) {
        const bg_mime_part *p = &m->parts[i];
        if (strcmp(p->type, "text/plain") == 0 &&
            bg_text_find(p->body, p->len < 2000 ? p->len : 2000,
                         "sent this email to unsubscribe"))
            return true;
    }
    return false;
}

/* ---- message disposition notifications (RFC 8098) ---------------------- */

/*
 * What became of a message in the recipient's mailbox.  A Sieve "reject"
 * answers with an MDN whose disposition is "deleted", sent automatically
 * (RFC 5429 2.2.1; Dovecot's Pigeonhole and Cyrus do so), the script's
 * reason in its text: the recipient's own filter refused the message, reason
 * "filtered" (which the default blacklist_reasons leaves out).  Any other
 * disposition (displayed, dispatched, processed, a deletion by hand) reports
 * a message that arrived: "delivered", never a failure.
 */
static void
read_mdn(const bg_mime_part *mdn, const char *notice, size_t nlen, bg_dsn_report *r)
{
    bg_mime_headers h = BG_MIME_HEADERS_INIT;
    bg_mime_headers_parse(mdn->body, mdn->len, &h);
    char *addr = bg_dsn_addr_canon(bg_mime_headers_get(&h, "Final-Recipient"));
    if (!addr)
        addr = bg_dsn_addr_canon(bg_mime_headers_get(&h, "Original-Recipient"));
    if (addr) {
        /* "automatic-action/MDN-sent-automatically; deleted" */
        const char *disp = bg_mime_headers_get(&h, "Disposition");
        const char *type = disp ? strchr(disp, ';') : NULL;
        while (disp && (*disp == ' ' || *disp == '\t'))
            disp++;
        while (type && (*type == ';' || *type == ' ' || *type == '\t'))
            type++;
        bool rejected = disp && type && strncasecmp(disp, "automatic-action", 16) == 0 &&
                        strncasecmp(type, "deleted", 7) == 0;
        bg_dsn_rcpt *rc = bg_dsn_rcpt_add(r, addr, NULL);
        rc->reason = rejected ? "filtered" : "delivered";
        rc->action = bg_xstrdup(rejected ? "failed" : "delivered");
        if (rejected && nlen > 0) {
            bg_buf b = BG_BUF_INIT;
            bg_dsn_collapse(&b, notice, nlen);
            rc->diagnostic = bg_buf_steal(&b);
        }
        /* "Reporting-UA: host; product" (RFC 8098 3.2.2): the host */
        const char *ua = bg_mime_headers_get(&h, "Reporting-UA");
        while (ua && (*ua == ' ' || *ua == '\t'))
            ua++;
        if (ua && *ua && *ua != ';')
            take(&r->reporting_mta, bg_xstrndup(ua, strcspn(ua, "; \t")));
        take(&r->orig_message_id,
             strip_angle(bg_mime_headers_get(&h, "Original-Message-ID")));
    }
    free(addr);
    bg_mime_headers_clear(&h);
}

/* ---- auto-replies ----------------------------------------------------- */

static bool
looks_like_autoreply(const bg_mime_headers *h)
{
    static const char *const subjects[] = {"auto:",
                                           "automatic reply",
                                           "autoreply",
                                           "auto-reply",
                                           "auto reply",
                                           "out of office",
                                           "out of the office",
                                           "vacation",
                                           "abwesenheit",
                                           "absence",
                                           "r\xc3\xa9ponse automatique",
                                           "respuesta autom\xc3\xa1tica",
                                           "resposta autom\xc3\xa1tica",
                                           "risposta automatica",
                                           "automatisch antwoord",
                                           "automatische antwort",
                                           "autosvar",
                                           NULL};
    const char *as = bg_mime_headers_get(h, "Auto-Submitted");
    if (as && strncasecmp(as, "auto-replied", 12) == 0)
        return true;
    if (bg_mime_headers_get(h, "X-Autoreply") ||
        bg_mime_headers_get(h, "X-Autorespond") ||
        bg_mime_headers_get(h, "X-Autoresponder"))
        return true;
    /* Microsoft's "X-Autogenerated: Reply" (Outlook.com, Hotmail). */
    const char *ag = bg_mime_headers_get(h, "X-Autogenerated");
    if (ag && strncasecmp(ag, "reply", 5) == 0)
        return true;
    const char *prec = bg_mime_headers_get(h, "Precedence");
    if (prec && strncasecmp(prec, "auto_reply", 10) == 0)
        return true;
    const char *subj = bg_mime_headers_get(h, "Subject");
    if (subj) {
        char *d = bg_mime_decode_words(subj);
        bool hit = false;
        for (size_t i = 0; subjects[i] && !hit; i++)
            hit = bg_text_find(d, strlen(d), subjects[i]) == d ||
                  (i >= 5 && bg_text_find(d, strlen(d), subjects[i]));
        free(d);
        return hit;
    }
    return false;
}

/* ---- the whole message ------------------------------------------------ */

/* The notice: the readable text of the DSN, before the returned message. */
static void
notice_text(const bg_mime_message *m, bg_buf *out)
{
    for (size_t i = 0; i < m->nparts; i++) {
        const bg_mime_part *p = &m->parts[i];
        if (strncmp(p->type, "message/", 8) == 0 ||
            strcmp(p->type, "text/rfc822-headers") == 0)
            break;
        if (strcmp(p->type, "text/plain") != 0)
            continue;
        bg_buf_append(out, p->body, p->len);
        bg_buf_putc(out, '\n');
    }
    if (out->len > 0)
        return;
    /* Only HTML: drop the tags. */
    for (size_t i = 0; i < m->nparts; i++) {
        const bg_mime_part *p = &m->parts[i];
        if (strcmp(p->type, "text/html") != 0)
            continue;
        bool tag = false;
        for (size_t j = 0; j < p->len; j++) {
            char c = p->body[j];
            if (c == '<') {
                tag = true;
                if (j + 3 < p->len && (strncasecmp(p->body + j, "<br", 3) == 0 ||
                                       strncasecmp(p->body + j, "<p", 2) == 0 ||
                                       strncasecmp(p->body + j, "<tr", 3) == 0 ||
                                       strncasecmp(p->body + j, "<div", 4) == 0))
                    bg_buf_putc(out, '\n');
            } else if (c == '>' && tag) {
                tag = false;
            } else if (!tag) {
                if (c == '&' && j + 5 < p->len && strncmp(p->body + j, "&lt;", 4) == 0) {
                    bg_buf_putc(out, '<');
                    j += 3;
                } else if (c == '&' && j + 5 < p->len &&
                           strncmp(p->body + j, "&gt;", 4) == 0) {
                    bg_buf_putc(out, '>');
                    j += 3;
                } else if (c == '&' && j + 6 < p->len &&
                           strncmp(p->body + j, "&nbsp;", 6) == 0) {
                    bg_buf_putc(out, ' ');
                    j += 5;
                } else {
                    bg_buf_putc(out, c);
                }
            }
        }
        break;
    }
}

/* The first of the next few lines of s that starts a header field. */
static const char *
first_field_line(const char *s)
{
    for (int i = 0; i < 8 && *s; i++) {
        const char *q = s;
        while (*q && (isalnum((unsigned char)*q) || *q == '-'))
            q++;
        if (q > s && *q == ':')
            return s;
        const char *nl = strchr(s, '\n');
        if (!nl)
            break;
        s = nl + 1;
    }
    return NULL;
}

/*
 * The id a Received: line gives its message ("... with ESMTP id 4XyZ1k2Lq0z
 * for <...>; date" from Postfix, "... id 5B6Hk3aQ012345" from Sendmail),
 * or NULL: the word after a free-standing "id", of the characters queue
 * IDs are made of (Exim's have '-').  The clauses after ';' are the date.
 */
static char *
received_id(const char *v)
{
    const char *end = strchr(v, ';');
    size_t n = end ? (size_t)(end - v) : strlen(v);

    /* Each "id" in either case, in order (bg_text_find() skips the bytes
     * between a vector at a time), then the blanks around it. */
    for (const char *at = v; (at = bg_text_find(at, (size_t)(v + n - at), "id")) != NULL;
         at++) {
        size_t i = (size_t)(at - v);
        if (i + 3 >= n)
            break;
        if ((i > 0 && v[i - 1] != ' ' && v[i - 1] != '\t') ||
            (v[i + 2] != ' ' && v[i + 2] != '\t'))
            continue;
        size_t s = i + 3;
        while (s < n && (v[s] == ' ' || v[s] == '\t'))
            s++;
        size_t len = 0;
        while (s + len < n && (isalnum((unsigned char)v[s + len]) || v[s + len] == '-' ||
                               v[s + len] == '.'))
            len++;
        if (len >= 5 && len <= 40)
            return bg_xstrndup(v + s, len);
    }
    return NULL;
}

static void
read_original(const bg_mime_headers *h, bg_dsn_report *r)
{
    for (size_t i = 0; i < h->n; i++)
        if (bg_mime_field_is(&h->v[i], "Received")) {
            r->orig_received++;
            if (r->nreceived_ids >= BG_DSN_RECEIVED_IDS)
                continue;
            char *id = received_id(bg_mime_headers_value(h, i));
            if (id)
                r->received_ids[r->nreceived_ids++] = id;
        }
    take(&r->orig_message_id, strip_angle(bg_mime_headers_get(h, "Message-ID")));
    const char *rp = bg_mime_headers_get(h, "Return-Path");
    if (!rp)
        rp = bg_mime_headers_get(h, "From");
    take(&r->orig_sender, bg_dsn_addr_canon(rp));
}

/* Does text start with a 4xx SMTP reply ("452-...", "421 ...")? */
static bool
reply_is_temporary(const char *text)
{
    while (*text == ' ')
        text++;
    return text[0] == '4' && isdigit((unsigned char)text[1]) &&
           isdigit((unsigned char)text[2]) && (text[3] == ' ' || text[3] == '-');
}

/* Does the Remote-MTA name the recipient's own domain ("DNS; example.org")?
 * Sendmail writes so when no host was reached (the domain does not exist,
 * a null MX): its "550 Host unknown" is then its own words, not a remote
 * server's reply, and its Status (5.1.2) is no guess from a basic code. */
static bool
remote_is_own_domain(const bg_dsn_rcpt *rc)
{
    const char *at = rc->recipient ? strrchr(rc->recipient, '@') : NULL;
    if (!at || !at[1] || !rc->remote_mta)
        return false;
    size_t n = strlen(rc->remote_mta);
    if (n > 0 && rc->remote_mta[n - 1] == '.')
        n--;
    return n == strlen(at + 1) && strncasecmp(rc->remote_mta, at + 1, n) == 0;
}

static void
finish_rcpt(bg_dsn_rcpt *rc, const char *notice, size_t nlen, const dsn_layout *lay,
            size_t nrcpts, const char *reporter)
{
    char code[32];
    /* Decided by the kind of message (feedback, vacation, a list's notice). */
    if (rc->reason && strcmp(rc->reason, "undefined") != 0) {
        rc->scope = bg_reason_scope(rc->reason);
        free(rc->rule);
        rc->rule = bg_xasprintf("the kind of message: %s", rc->reason);
        return;
    }
    /* The notice's own words about the recipient: the diagnostic when the
     * DSN has none, else context (the SMTP command, "in reply to end of
     * DATA command", that the Diagnostic-Code leaves out). */
    char *said =
        rc->recipient && notice ? dsn_text_diag_for(notice, nlen, rc->recipient) : NULL;
    /* Sendmail gave up on a deferred address (Status 4.4.7, an empty
     * Diagnostic-Code): its transcript quotes the reply that deferred it. */
    if ((!rc->diagnostic || !*rc->diagnostic) && notice && rc->recipient) {
        char *deferred = dsn_transcript_deferred(notice, nlen, rc->recipient);
        if (deferred) {
            free(rc->diagnostic);
            rc->diagnostic = deferred;
        }
    }
    if (!rc->diagnostic) {
        rc->diagnostic = said;
        said = NULL;
    }
    /* One recipient and the lines by its address hold no reply: the reply
     * is elsewhere in the notice ("Error message below: 550 ..."). */
    if (rc->diagnostic && notice && nrcpts == 1 &&
        !bg_reply_status_from_text(rc->diagnostic, code, sizeof code)) {
        bg_buf b = BG_BUF_INIT;
        bg_dsn_collapse(&b, notice, nlen);
        if (b.len && bg_reply_status_from_text(bg_buf_str(&b), code, sizeof code)) {
            free(rc->diagnostic);
            rc->diagnostic = bg_buf_steal(&b);
        }
        bg_buf_free(&b);
    }
    if (!rc->diagnostic && notice && nrcpts == 1) {
        bg_buf b = BG_BUF_INIT;
        bg_dsn_collapse(&b, notice, nlen);
        rc->diagnostic = b.len ? bg_buf_steal(&b) : (bg_buf_free(&b), NULL);
    }
    /* Sendmail's Diagnostic-Code holds only the first line of a multi-line
     * reply ("550-Mailbox unknown ..."): the whole of it, from the
     * transcript, has the remote's own enhanced code on its last line. */
    char *first_line = NULL; /* what the transcript's reply is found by */
    if (rc->diagnostic && notice) {
        char *whole = dsn_transcript_reply(notice, nlen, rc->diagnostic);
        if (whole) {
            first_line = rc->diagnostic;
            rc->diagnostic = whole;
        }
    }
    const char *step = NULL;
    const char *decided = dsn_family_reply(&rc->diagnostic, notice, nlen, &step);
    if (!step)
        step = lay->step;
    /* The remote server's own code beats the reporting MTA's summary in
     * the Status field (5.0.0, or 5.1.1 for "552 5.2.2 Over quota"), as long
     * as both agree on permanent vs temporary. */
    if (rc->diagnostic && bg_reply_status_from_text(rc->diagnostic, code, sizeof code) &&
        strcmp(code + 1, ".0.0") != 0 &&
        (!rc->status || strcmp(rc->status + 1, ".0.0") == 0 || code[0] == rc->status[0] ||
         (code[0] == '5' && rc->action && strcmp(rc->action, "failed") == 0))) {
        free(rc->status);
        rc->status = bg_xstrdup(code);
    } else if (!rc->status && rc->diagnostic &&
               bg_reply_status_from_text(rc->diagnostic, code, sizeof code)) {
        rc->status = bg_xstrdup(code);
    }
    /* A deferral given up on: over a 4xx reply, the reporter's generic
     * 5.0.0 (Exim's "retry timeout exceeded", nullmailer's and Courier's
     * queue lifetime) is its own summary, not the remote's refusal: the
     * remote's enhanced code when it gave one, else 4.0.0. */
    if (rc->status && strcmp(rc->status, "5.0.0") == 0 && rc->diagnostic &&
        reply_is_temporary(rc->diagnostic)) {
        free(rc->status);
        rc->status = bg_xstrdup(
            bg_reply_status_from_text(rc->diagnostic, code, sizeof code) && code[0] == '4'
                ? code
                : "4.0.0");
    }
    /* A deferral given up on whose class the reporter turned to 5 (Haraka's
     * outbound writes "Status: 5.2.0" over the remote's "451 4.2.0 ..."):
     * the remote's own code, as with the generic 5.0.0 above. */
    if (rc->status && rc->status[0] == '5' && rc->action &&
        strcmp(rc->action, "failed") == 0 && rc->diagnostic &&
        reply_is_temporary(rc->diagnostic) &&
        bg_reply_status_from_text(rc->diagnostic, code, sizeof code) && code[0] == '4' &&
        strcmp(code + 1, rc->status + 1) == 0) {
        free(rc->status);
        rc->status = bg_xstrdup(code);
    }
    /* A remote reply without an enhanced code (Diagnostic-Code "smtp; 550
     * Mailbox quota exceeded"): the Status detail is the reporting MTA's
     * guess from the basic code (Sendmail's 5.1.1 "User unknown" for any 550
     * at RCPT TO, 4.4.7 for any expired 4xx), and the remote's words decide. */
    if (rc->status && rc->diagnostic && rc->diagnostic_type &&
        strcmp(rc->diagnostic_type, "smtp") == 0 && !remote_is_own_domain(rc) &&
        bg_reply_status_judged(rc->status, rc->diagnostic, code, sizeof code)) {
        free(rc->status);
        rc->status = bg_xstrdup(code);
    }
    /* The command the reply answered, from a Sendmail transcript. */
    if (!step && notice && rc->recipient)
        step = dsn_transcript_step(notice, nlen, rc->recipient,
                                   first_line ? first_line : rc->diagnostic);
    free(first_line);
    if (!rc->remote_mta && rc->diagnostic)
        rc->remote_mta = dsn_text_remote_mta(rc->diagnostic, strlen(rc->diagnostic));
    if (!rc->action)
        rc->action =
            bg_xstrdup(rc->status && rc->status[0] == '4' ? "delayed" : "failed");
    bg_reply_class cl;
    bg_reply_context ctx = {step ? step : said,
                            rc->diagnostic_type,
                            rc->action,
                            rc->recipient,
                            rc->remote_mta,
                            reporter,
                            !step && lay->names_no_command};
    bg_reply_classify_ctx(rc->status, rc->diagnostic, &ctx, &cl);
    free(said);
    rc->reason = cl.reason;
    /* The layout's reason, unless a mailbox code (x.2.*, x.3.4) says more
     * about a refused message. */
    if (decided &&
        (strcmp(decided, "filtered") != 0 || !rc->status ||
         (rc->status[2] != '2' && strcmp(rc->status + 1, ".3.4") != 0)) &&
        strcmp(decided, rc->reason) != 0) {
        rc->reason = decided;
        if (cl.scope != BG_SCOPE_RELAY)
            cl.scope = bg_reason_scope(decided);
        snprintf(cl.rule, sizeof cl.rule, "the layout of the bounce: %s", decided);
    }
    rc->hard = bg_reason_is_hard(rc->reason, rc->status);
    if (cl.rbl[0] && !rc->rbl)
        rc->rbl = bg_xstrdup(cl.rbl);
    rc->scope = cl.scope;
    rc->stage = cl.stage;
    if (cl.list[0])
        rc->list = bg_xstrdup(cl.list);
    if (cl.delist[0])
        rc->delist = bg_xstrdup(cl.delist);
    free(rc->rule);
    rc->rule = bg_xstrdup(cl.rule);
}

/* RFC 3464 fields written into the text of the notice (Amazon SES, some
 * appliances): read them as a delivery-status part. */
static void
read_inline_status(const char *text, size_t len, bg_dsn_report *r)
{
    static const char *const starts[] = {
        "\nReporting-MTA:", "\nFinal-Recipient:", "\nOriginal-Recipient:", NULL};
    /* The first line start where any of them begins (one pass over the
     * newlines instead of one search per field). */
    const char *best = NULL, *end = text + len;
    for (const char *p = text; !best && (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
         p++) {
        char c = (char)(p + 1 < end ? p[1] | 0x20 : 0);
        if (c != 'r' && c != 'f' && c != 'o')
            continue;
        for (size_t i = 0; starts[i] && !best; i++) {
            size_t n = strlen(starts[i]);
            if (n <= (size_t)(end - p) && strncasecmp(p, starts[i], n) == 0)
                best = p;
        }
    }
    if (best)
        read_delivery_status(best + 1, len - (size_t)(best + 1 - text), r);
}

/* Phrases that make a message from an ordinary sender a bounce anyway. */
static bool
notice_says_bounce(const char *text, size_t len)
{
    static const char *const phrases[] = {"could not be delivered",
                                          "couldn't be delivered",
                                          "undeliverable",
                                          "delivery failed",
                                          "delivery has failed",
                                          "permanent error",
                                          "failed permanently",
                                          "was not delivered",
                                          "wasn't delivered",
                                          "error message below",
                                          "delivery to the following",
                                          "not be delivered",
                                          "unable to deliver",
                                          NULL};
    size_t n = len < 8192 ? len : 8192;
    for (size_t i = 0; phrases[i]; i++)
        if (bg_text_find(text, n, phrases[i]))
            return true;
    return false;
}

/*
 * Exim's X-Failed-Recipients: header lists the envelope addresses that
 * failed.  It adds the recipients when nothing else named them, names the
 * ones whose Final-Recipient is not an address (a file or a pipe), and
 * replaces the addresses read from the text when none of them is in it and
 * the counts agree (the text shows the address as rewritten).
 */
static void
failed_recipients(const char *xf, bg_dsn_report *r)
{
    if (!xf)
        return;
    char *list[BG_DSN_MAX_RCPTS];
    size_t n = 0;
    char *copy = bg_xstrdup(xf);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < BG_DSN_MAX_RCPTS;
         t = strtok_r(NULL, ",", &save)) {
        char *a = bg_dsn_addr_canon(t);
        if (a)
            list[n++] = a;
    }
    free(copy);
    size_t known = 0, named = 0;
    for (size_t i = 0; i < r->nrcpts; i++) {
        if (!r->rcpts[i].recipient)
            continue;
        named++;
        for (size_t k = 0; k < n; k++)
            if (strcmp(r->rcpts[i].recipient, list[k]) == 0)
                known++;
    }
    if (r->nrcpts == 0) {
        for (size_t k = 0; k < n; k++)
            bg_dsn_rcpt_add(r, list[k], NULL);
    } else if (named == r->nrcpts && known == 0 && n == r->nrcpts) {
        for (size_t i = 0; i < r->nrcpts; i++) {
            free(r->rcpts[i].recipient);
            r->rcpts[i].recipient = bg_xstrdup(list[i]);
        }
    } else {
        size_t k = 0;
        for (size_t i = 0; i < r->nrcpts; i++) {
            if (r->rcpts[i].recipient)
                continue;
            /* The next listed address that is not in the report yet. */
            for (; k < n; k++) {
                bool seen = false;
                for (size_t j = 0; j < r->nrcpts && !seen; j++)
                    seen = r->rcpts[j].recipient &&
                           strcmp(r->rcpts[j].recipient, list[k]) == 0;
                if (!seen)
                    break;
            }
            if (k < n)
                r->rcpts[i].recipient = bg_xstrdup(list[k++]);
        }
    }
    for (size_t k = 0; k < n; k++)
        free(list[k]);
}

static int parse_depth(const char *msg, size_t len, bg_dsn_report **out, int depth);

/* A bounce forwarded inside the text of another message: parse the inner
 * one and take its recipients. */
static void
read_forwarded(const char *s, size_t len, bg_dsn_report *r, int depth)
{
    bg_dsn_report *inner = NULL;
    if (depth >= 2 || parse_depth(s, len, &inner, depth + 1) < 0)
        return;
    if (inner->nrcpts > 0 && r->nrcpts == 0) {
        r->rcpts = inner->rcpts;
        r->nrcpts = inner->nrcpts;
        inner->rcpts = NULL;
        inner->nrcpts = 0;
        take(&r->orig_message_id, inner->orig_message_id);
        inner->orig_message_id = NULL;
        if (r->nreceived_ids == 0) {
            memcpy(r->received_ids, inner->received_ids, sizeof(r->received_ids));
            r->nreceived_ids = inner->nreceived_ids;
            inner->nreceived_ids = 0;
        }
        if (r->orig_received == 0)
            r->orig_received = inner->orig_received;
    }
    bg_dsn_report_free(inner);
}

int
bg_dsn_parse(const char *msg, size_t len, bg_dsn_report **out, bg_error *err)
{
    *out = NULL;
    if (!msg || len == 0)
        return bg_error_set(err, "empty message");
    int rc = parse_depth(msg, len, out, 0);
    /* Whatever path made it, a diagnostic keeps the promise of dsn.h. */
    for (size_t i = 0; rc == 0 && *out && i < (*out)->nrcpts; i++)
        bg_dsn_cap_text((*out)->rcpts[i].diagnostic, BG_DSN_TEXT_MAX);
    return rc;
}

static int
parse_depth(const char *msg, size_t len, bg_dsn_report **out, int depth)
{
    *out = NULL;
    if (len > BG_DSN_SCAN_MAX)
        len = BG_DSN_SCAN_MAX;
    bg_mime_message *m = bg_mime_parse(msg, len);
    bg_dsn_report *r = bg_xcalloc(1, sizeof *r);
    r->message_id = strip_angle(bg_mime_headers_get(&m->headers, "Message-ID"));

    const bg_mime_part *ds = NULL, *fb = NULL, *mdn = NULL, *orig = NULL;
    for (size_t i = 0; i < m->nparts; i++) {
        const bg_mime_part *p = &m->parts[i];
        /* (all the types below are message/... but one: most parts, text,
         * are passed over with one compare instead of nine) */
        if (p->type[0] != 'm' && strcmp(p->type, "text/rfc822-headers") != 0)
            continue;
        if (!ds && (strcmp(p->type, "message/delivery-status") == 0 ||
                    strcmp(p->type, "message/global-delivery-status") == 0))
            ds = p;
        else if (!fb && strcmp(p->type, "message/feedback-report") == 0)
            fb = p;
        else if (!mdn &&
                 (strcmp(p->type, "message/disposition-notification") == 0 ||
                  strcmp(p->type, "message/global-disposition-notification") == 0))
            mdn = p;
        else if (!orig && (strcmp(p->type, "message/rfc822") == 0 ||
                           strcmp(p->type, "message/global") == 0 ||
                           strcmp(p->type, "text/rfc822-headers") == 0 ||
                           strcmp(p->type, "message/global-headers") == 0))
            orig = p;
    }
    bg_mime_headers oh = BG_MIME_HEADERS_INIT;
    if (orig)
        bg_mime_headers_parse(orig->body, orig->len, &oh);

    bg_buf notice = BG_BUF_INIT;
    notice_text(m, &notice);
    size_t cut = dsn_text_cut(bg_buf_str(&notice), notice.len);
    if (!orig && cut < notice.len) {
        /* The returned message is inline after the notice. */
        const char *s = first_field_line(bg_buf_str(&notice) + cut);
        if (s)
            bg_mime_headers_parse(s, notice.len - (size_t)(s - notice.s), &oh);
    }
    read_original(&oh, r);

    const char *from = bg_mime_headers_get(&m->headers, "From");
    char *from_addr = bg_dsn_addr_canon(from);
    const char *ml_reason = NULL;
    char *ml_list = NULL;
    char *ml_diag = NULL;
    /* An Amazon SES notification mailed as JSON comes finished. */
    bool finished = !ds && !fb && dsn_ses_read(bg_buf_str(&notice), notice.len, r);
    if (finished) {
        /* read by lib/dsn_ses.c */
    } else if (!ds && !fb && mdn) {
        r->kind = BG_DSN_MDN;
        read_mdn(mdn, bg_buf_str(&notice), cut, r);
    } else if (fb || looks_like_feedback(m, orig ? &oh : NULL)) {
        r->kind = BG_DSN_ARF;
        read_feedback(fb, &oh, r);
    } else if (!ds && (ml_reason = dsn_family_mlserver(&m->headers, notice.s, notice.len,
                                                       &ml_list, &ml_diag))) {
        /* A mailing list refusing the post: the list's address when the
         * notice names it, else (fml) the poster. */
        r->kind = BG_DSN_TEXT;
        char *a =
            ml_list ? ml_list : bg_dsn_addr_canon(bg_mime_headers_get(&m->headers, "To"));
        bg_dsn_rcpt *rc = bg_dsn_rcpt_add(r, a, NULL);
        rc->reason = ml_reason;
        const char *subj = bg_mime_headers_get(&m->headers, "Subject");
        if (ml_diag) {
            rc->diagnostic = ml_diag;
            ml_diag = NULL;
        } else if (subj) {
            char *decoded = bg_mime_decode_words(subj);
            bg_buf b = BG_BUF_INIT;
            bg_dsn_collapse(&b, decoded, strlen(decoded));
            rc->diagnostic = bg_buf_steal(&b);
            free(decoded);
        }
        rc->action = bg_xstrdup("failed");
        free(a);
    } else if (ds) {
        r->kind = BG_DSN_RFC3464;
        read_delivery_status(ds->body, ds->len, r);
        if (r->nrcpts == 0)
            dsn_text_scan(bg_buf_str(&notice), cut, from_addr, NULL, r);
        failed_recipients(bg_mime_headers_get(&m->headers, "X-Failed-Recipients"), r);
        dsn_name_unnamed(r, bg_buf_str(&notice), cut, from_addr, orig ? &oh : NULL);
    } else if (looks_like_bounce(&m->headers) || notice_says_bounce(notice.s, cut)) {
        r->kind = BG_DSN_TEXT;
        char *to_addr = bg_dsn_addr_canon(bg_mime_headers_get(&m->headers, "To"));
        read_inline_status(bg_buf_str(&notice), notice.len, r);
        if (r->nrcpts == 0)
            dsn_text_scan(bg_buf_str(&notice), cut, from_addr, to_addr, r);
        if (r->nrcpts == 0 && cut < notice.len) {
            const char *s = first_field_line(bg_buf_str(&notice) + cut);
            if (s)
                read_forwarded(s, notice.len - (size_t)(s - notice.s), r, depth);
        }
        failed_recipients(bg_mime_headers_get(&m->headers, "X-Failed-Recipients"), r);
        if (r->nrcpts == 0 && (orig || cut < notice.len)) {
            char *a = bg_dsn_addr_canon(bg_mime_headers_get(&oh, "To"));
            if (a && (!to_addr || strcmp(a, to_addr) != 0))
                bg_dsn_rcpt_add(r, a, NULL);
            free(a);
        }
        free(to_addr);
    } else if (looks_like_autoreply(&m->headers) && from_addr) {
        r->kind = BG_DSN_AUTOREPLY;
        bg_dsn_rcpt *rc = bg_dsn_rcpt_add(r, from_addr, NULL);
        rc->reason = "vacation";
    }
    if (r->nrcpts == 0)
        r->kind = BG_DSN_NONE;
    if (!r->reporting_mta && from_addr && r->kind != BG_DSN_NONE) {
        const char *at = strchr(from_addr, '@');
        if (at)
            r->reporting_mta = bg_xstrdup(at + 1);
    }
    /* (set up to nbefore only: zeroing all of it cost more than a parse's
     * recipients) */
    const char *before[BG_DSN_MAX_RCPTS];
    size_t nbefore = 0;
    dsn_layout lay = {NULL, false, false};
    if (!finished)
        dsn_family_layout(bg_buf_str(&notice), cut, &lay);
    for (size_t i = 0; i < r->nrcpts && i < BG_DSN_MAX_RCPTS; i++) {
        if (!finished)
            finish_rcpt(&r->rcpts[i], bg_buf_str(&notice), cut, &lay, r->nrcpts,
                        r->reporting_mta);
        before[i] = finished ? NULL : r->rcpts[i].reason;
        nbefore = i + 1;
    }
    if (!finished)
        dsn_family_adjust(bg_buf_str(&notice), cut, &lay, r);
    for (size_t i = 0; i < r->nrcpts && i < BG_DSN_MAX_RCPTS; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i]; /* what the whole notice changed */
        /* before[] is set up to nbefore (cppcheck does not follow that) */
        /* cppcheck-suppress uninitvar */
        const char *was = i < nbefore ? before[i] : NULL;
        if (rc->reason != was && rc->scope != BG_SCOPE_RELAY) {
            rc->scope = bg_reason_scope(rc->reason);
            free(rc->rule);
            rc->rule = bg_xasprintf(
                "%s: %s", finished ? "its notification" : "the notice of its family",
                rc->reason);
        }
    }

    free(from_addr);
    bg_buf_free(&notice);
    bg_mime_headers_clear(&oh);
    bg_mime_message_free(m);
    *out = r;
    return 0;
}
