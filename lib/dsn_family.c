/*
 * dsn_family — repairs for bounce formats that the shared layouts of
 * lib/dsn.c and lib/dsn_text.c read only partly.
 *
 * Rules, and the families they come from (each holds for every bounce of
 * the format, not for one sample):
 *   a delivery-status block whose Final-Recipient is not an address
 *   ("RFC822; @mx.example.org", Sendmail's host-unknown report)
 *                                  the address comes from the notice text
 *                                  that names it, else from the returned
 *                                  message's To when there is one
 *                                  recipient to name
 *   qmail's own notice ("Hi. This is the qmail-send program")
 *   with qmail-remote's "Sorry, I wasn't able to establish an SMTP
 *   connection" (or "couldn't find a mail exchanger", "Although I'm
 *   listed as a best-preference MX")
 *                                  networkerror, even when the notice
 *                                  adds that the message has been in the
 *                                  queue too long (others that copy the
 *                                  wording, such as X2, mean expired)
 *   Gmail's notice: "Technical details of permanent failure: Google tried
 *   to deliver your message, but ... The error that the other server
 *   returned was: 550 ... (state 14)."
 *                                  the diagnostic is the quoted reply, not
 *                                  Google's preamble; "(state N)" is the
 *                                  step of the session: 6 and 9 are
 *                                  STARTTLS (failedstarttls), 14 RCPT, 15
 *                                  to 18 the message itself (filtered,
 *                                  unless the code says more)
 *   Amazon SES: "5.1.0 - Unknown address error 550-'5.2.2 <a>... Mailbox
 *   Full'"                         the remote server's reply is the quoted
 *                                  part after "NNN-'"; SES's own guess
 *                                  before it is dropped
 *   the DragonFly Mail Agent (dma): "There was an error delivering your
 *   mail to <a@b>.", then "host [ip] did not like our RCPT TO:" and the
 *   reply on the next lines
 *                                  the diagnostic is that reply (not the
 *                                  whole notice), the step its command
 *   a temporary refusal (4.x.x) read as "user unknown" or "filtered" in a
 *   report that is still queued (Action: delayed) or that Exim gave up on
 *   ("...: retry timeout exceeded")
 *                                  expired: a "try again later" says
 *                                  nothing against the address
 *   Haraka's outbound notice ("Hi. This is the Haraka Mailer program"):
 *   "Failure Reason: Error: Some recipients failed: <a>" or "... Too many
 *   failures (Some recipients temp failed: <a>)"
 *                                  the reply answered RCPT TO; the second
 *                                  is a deferral given up on: expired
 *                                  (lib/dsn.c takes the remote's 4.x.x
 *                                  over the 5.x.x Haraka writes for it)
 *   the MTA's own "connect to host[addr]:25: Connection refused" (4.x.x)
 *   with Action: failed
 *                                  expired: given up when the queue
 *                                  lifetime ran out
 *   a reply that names another recipient of the report in <> and not
 *   this one (nullmailer copies the first refused RCPT's reply to every
 *   recipient it then never tried)
 *                                  onhold: nothing is known of this one
 *   Sendmail's "<a@d>... Host unknown (Name server: mx.d: host not found)"
 *   for a name other than the domain
 *                                  hostunknown, but about the domain's
 *                                  broken MX, not the domain for good
 *                                  (scope transient)
 *   Exim's own "Unrouteable address" (no remote server)
 *                                  userunknown: no router took the address
 *                                  in a domain of the reporter's own;
 *                                  hostunknown in any other (no route to
 *                                  the domain: it does not exist)
 *   Sendmail's transcript with a reply straight after "... while talking
 *   to host.:" (no ">>> COMMAND" line between)
 *                                  the server refused its greeting: the
 *                                  relay, not the recipient (blocked)
 *   a Diagnostic-Code that holds only the first line of a multi-line reply
 *   ("552-5.7.0 This message was blocked because ...", Sendmail)
 *                                  the reply is completed from the
 *                                  transcript's "<<< 552-5.7.0 ..." lines
 *
 * Used by lib/dsn.c.  Pure: no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/reply.h"
#include "bounceguard/reply_rules.h"
#include "bounceguard/textmatch.h"
#include "bounceguard/util.h"
#include "dsn_family.h"
#include "dsn_text.h"
#include "reply_phrases.h"

static bool
in_report(const bg_dsn_report *r, const char *addr)
{
    for (size_t i = 0; i < r->nrcpts; i++)
        if (r->rcpts[i].recipient && strcmp(r->rcpts[i].recipient, addr) == 0)
            return true;
    return false;
}

void
dsn_name_unnamed(bg_dsn_report *r, const char *notice, size_t cut, const char *skip,
                 const bg_mime_headers *orig)
{
    size_t unnamed = 0;
    for (size_t i = 0; i < r->nrcpts; i++)
        if (!r->rcpts[i].recipient)
            unnamed++;
    if (unnamed == 0)
        return;

    /* The addresses the notice names that the report does not hold yet. */
    bg_dsn_report *t = bg_xcalloc(1, sizeof *t);
    if (notice && cut > 0)
        dsn_text_scan(notice, cut, skip, NULL, t);
    const char *cand[BG_DSN_MAX_RCPTS];
    size_t n = 0;
    for (size_t i = 0; i < t->nrcpts; i++)
        if (t->rcpts[i].recipient && !in_report(r, t->rcpts[i].recipient))
            cand[n++] = t->rcpts[i].recipient;

    char *to = NULL;
    if (n == 0 && unnamed == 1 && r->nrcpts == 1 && orig) {
        to = bg_dsn_addr_canon(bg_mime_headers_get(orig, "To"));
        if (to && (!skip || strcmp(to, skip) != 0))
            cand[n++] = to;
    }
    if (n == unnamed || (unnamed == 1 && n > 0)) {
        size_t k = 0;
        for (size_t i = 0; i < r->nrcpts && k < n; i++)
            if (!r->rcpts[i].recipient)
                r->rcpts[i].recipient = bg_xstrdup(cand[k++]);
    }
    free(to);
    bg_dsn_report_free(t);
}

/* qmail-remote's words for a connection that never got to SMTP. */
static bool
qmail_no_connection(const char *diag)
{
    static const char *const words[] = {
        "wasn't able to establish an smtp connection",
        "couldn't find a mail exchanger",
        "although i'm listed as a best-preference mx",
        NULL,
    };
    if (!diag)
        return false;
    size_t n = strlen(diag);
    for (size_t i = 0; words[i]; i++)
        if (bg_text_find(diag, n, words[i]))
            return true;
    return false;
}

static bool
is_reason(const bg_dsn_rcpt *rc, const char *a, const char *b)
{
    return rc->reason &&
           (strcmp(rc->reason, a) == 0 || (b && strcmp(rc->reason, b) == 0));
}

/* Haraka's outbound bounce, in its shipped template ("Hi. This is the
 * Haraka Mailer program at ...", then "Failure Reason: Error: {reason}"):
 * notice[nlen] says why the message was given up.  "Some recipients failed:
 * <a>, ..." is written only for recipients refused at RCPT TO (each bounce
 * holds only those: Haraka splits the others off), "Too many failures (Some
 * recipients temp failed: <a>)" for recipients deferred at RCPT TO until
 * its retries ran out; a reply to MAIL FROM or to the end of DATA is quoted
 * as is ("Error: 554 ...").  0 when the notice is not Haraka's or names no
 * command, 'r' for a refusal at RCPT TO, 't' for a deferral there given up
 * on. */
static char
haraka_failure(const char *notice, size_t nlen)
{
    size_t head = nlen < 512 ? nlen : 512;
    if (!notice || !bg_text_find(notice, head, "this is the haraka mailer program"))
        return 0;
    if (bg_text_find(notice, nlen,
                     "failure reason: error: too many failures (some recipients temp "
                     "failed: <"))
        return 't';
    if (bg_text_find(notice, nlen, "failure reason: error: some recipients failed: <"))
        return 'r';
    return 0;
}

/* What a temporary refusal means once the MTA reports it: still queued
 * ("Action: delayed", OpenSMTPD, nullmailer) or given up after its retry
 * time (Exim appends ": retry timeout exceeded" to the last reply, Haraka's
 * notice says "Too many failures").  A 4xx "Recipient address rejected: try
 * again later" is not a verdict on the address: expired, as with any delay
 * that names no other cause. */
static void
temporary_adjust(bg_dsn_report *r, bool notice_gave_up)
{
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (!rc->status || rc->status[0] != '4' ||
            !is_reason(rc, "userunknown", "filtered"))
            continue;
        bool delayed = rc->action && strcmp(rc->action, "delayed") == 0;
        bool gave_up =
            rc->diagnostic && bg_text_find(rc->diagnostic, strlen(rc->diagnostic),
                                           "retry timeout exceeded");
        if (delayed || gave_up || notice_gave_up) {
            rc->reason = "expired";
            rc->hard = false;
        }
    }
    /* A connection that failed before any server spoke (the MTA's own
     * "connect to host[addr]:25: Connection refused") and that the MTA gave
     * up on (4.x.x, Action failed): its queue lifetime ran out. */
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (rc->status && rc->status[0] == '4' && is_reason(rc, "networkerror", NULL) &&
            rc->action && strcasecmp(rc->action, "failed") == 0 && rc->diagnostic &&
            reply_phrase_own_connect(rc->diagnostic)) {
            rc->reason = "expired";
            rc->hard = false;
        }
    }
}

/* Exim's own "Unrouteable address" (no remote server was asked) is about
 * the address, like "user unknown" answered to RCPT TO, not a filter's
 * verdict: in a domain of the reporting MTA's own (its name is the domain
 * or under it) no router took the local part; in any other the domain has
 * no route (the dnslookup router found no such domain): hostunknown. */
static void
unrouteable_adjust(bg_dsn_report *r)
{
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (rc->remote_mta || !rc->diagnostic || !is_reason(rc, "filtered", NULL) ||
            strcasecmp(rc->diagnostic, "unrouteable address") != 0)
            continue;
        const char *at = rc->recipient ? strrchr(rc->recipient, '@') : NULL;
        bool own =
            !at || !r->reporting_mta || bg_host_in_domain(r->reporting_mta, at + 1);
        rc->reason = own ? "userunknown" : "hostunknown";
        rc->hard = bg_reason_is_hard(rc->reason, rc->status);
    }
}

/* Sendmail's own "<a@d>... Host unknown (Name server: N: host not found)"
 * (or "no data known") for a name N other than the domain d: d exists and
 * has an MX, whose host does not resolve.  Still hostunknown (Status 5.1.2),
 * but a broken MX may be mended: no verdict on the address for good. */
static void
broken_mx_adjust(const char *notice, size_t len, bg_dsn_report *r)
{
    static const char key[] = "... Host unknown (Name server: ";
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        const char *at = rc->recipient ? strrchr(rc->recipient, '@') : NULL;
        if (!at || !at[1] || !is_reason(rc, "hostunknown", NULL) ||
            rc->scope != BG_SCOPE_RECIPIENT)
            continue;
        char needle[320];
        const char *p = NULL;
        int k = 0;
        for (int angle = 1; angle >= 0 && !p; angle--) { /* "<a@d>... ", "a@d... " */
            k = snprintf(needle, sizeof needle, "%s%s%s", rc->recipient, angle ? ">" : "",
                         key);
            if (k > 0 && (size_t)k < sizeof needle)
                p = bg_text_find(notice, len, needle);
        }
        if (!p)
            continue;
        p += k;
        size_t n = 0, left = len - (size_t)(p - notice);
        while (n < left && n < 256 && p[n] != ':' && p[n] != ' ' && p[n] != '\n')
            n++;
        if (n > 0 && p[n - 1] == '.') /* the root dot */
            n--;
        if (n == 0 || (strlen(at + 1) == n && strncasecmp(p, at + 1, n) == 0))
            continue;
        rc->scope = BG_SCOPE_TRANSIENT;
        free(rc->rule);
        rc->rule = bg_xasprintf("the notice of its family: hostunknown, of an MX host "
                                "(%.*s), not the domain",
                                (int)n, p);
    }
}

/* true when text names addr inside angle brackets ("<a@b>"). */
static bool
names_in_angles(const char *text, const char *addr)
{
    size_t n = strlen(addr);
    for (const char *p = strchr(text, '<'); p; p = strchr(p + 1, '<'))
        if (strncasecmp(p + 1, addr, n) == 0 && p[1 + n] == '>')
            return true;
    return false;
}

/* A reply copied to every recipient of a message: nullmailer gives up the
 * whole message at the first refused RCPT TO and reports the reply
 * ("550 5.1.1 <first@b>: ... User unknown") for the recipients it never
 * tried.  A reply that names, in <>, another recipient of the report and
 * not this one says nothing about this one: onhold, never a blacklisting. */
static void
borrowed_reply_adjust(bg_dsn_report *r)
{
    if (r->nrcpts < 2 || r->nrcpts > 50)
        return;
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (!rc->recipient || !rc->diagnostic || is_reason(rc, "delivered", "feedback") ||
            names_in_angles(rc->diagnostic, rc->recipient))
            continue;
        for (size_t k = 0; k < r->nrcpts; k++) {
            const char *other = r->rcpts[k].recipient;
            if (k == i || !other || !names_in_angles(rc->diagnostic, other))
                continue;
            /* An RBL named there stays: it is about the relay. */
            rc->reason = "onhold";
            rc->hard = false;
            break;
        }
    }
}

/* A mail loop that the notice does not name: Exim's bounce for "Too many
 * "Received" headers - suspected mail loop" lists the address alone (the
 * words stay in its log).  The returned message tells: no MTA passes on a
 * message with 25 Received: lines or more (Sendmail's MaxHopCount, the
 * lowest of the defaults; Exim's received_headers_max is 30, Postfix's
 * hopcount_limit 50), so a permanent failure with nothing more telling
 * than that is the loop's. */
#define LOOP_RECEIVED 25
static void
hop_loop_adjust(bg_dsn_report *r)
{
    if (r->orig_received < LOOP_RECEIVED)
        return;
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (!rc->status || rc->status[0] != '5' || strcmp(rc->status + 1, ".0.0") != 0 ||
            !(rc->reason == NULL || is_reason(rc, "systemerror", "undefined") ||
              is_reason(rc, "onhold", NULL)))
            continue;
        rc->reason = "networkerror";
        rc->hard = false;
    }
}

/* Sendmail found that the next hop is itself ("553 5.3.5 [host] config
 * error: mail loops back to me (MX problem?)" in its transcript): a
 * routing loop, which its Diagnostic-Code shortens to "system config
 * error". */
static void
loops_back_adjust(const char *notice, size_t len, bg_dsn_report *r)
{
    bool said = false, looked = false; /* the notice read once, if needed */
    for (size_t i = 0; notice && i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (!rc->status || strcmp(rc->status, "5.3.5") != 0 ||
            !is_reason(rc, "systemerror", NULL))
            continue;
        if (!looked) {
            said = bg_text_find(notice, len, "mail loops back to me") != NULL;
            looked = true;
        }
        if (!said)
            return;
        rc->reason = "networkerror";
        rc->hard = false;
    }
}

void
dsn_family_adjust(const char *notice, size_t len, const dsn_layout *lay, bg_dsn_report *r)
{
    loops_back_adjust(notice, len, r);
    temporary_adjust(r, lay->gave_up);
    hop_loop_adjust(r);
    borrowed_reply_adjust(r);
    unrouteable_adjust(r);
    if (notice)
        broken_mx_adjust(notice, len, r);
    if (!notice || r->kind != BG_DSN_TEXT)
        return;
    size_t head = len < 512 ? len : 512;
    if (!bg_text_find(notice, head, "this is the qmail-send program"))
        return;
    for (size_t i = 0; i < r->nrcpts; i++) {
        bg_dsn_rcpt *rc = &r->rcpts[i];
        if (rc->reason &&
            (strcmp(rc->reason, "expired") == 0 || strcmp(rc->reason, "undefined") == 0 ||
             strcmp(rc->reason, "systemerror") == 0) &&
            qmail_no_connection(rc->diagnostic)) {
            rc->reason = "networkerror";
            rc->hard = false;
        }
    }
}

/* Keep diag[from..] (a NUL-terminated string) as the whole diagnostic. */
static void
keep_from(char *diag, size_t from)
{
    size_t n = strlen(diag + from);
    memmove(diag, diag + from, n + 1);
}

/* Gmail's "(state N)" after the quoted reply: what it says of the session
 * step (the step's command in *step), and the reason it decides or NULL. */
static const char *
gmail_state(const char *diag, const char **step)
{
    const char *p = bg_text_find(diag, strlen(diag), "(state ");
    if (!p || !isdigit((unsigned char)p[7]))
        return NULL;
    int n = atoi(p + 7);
    if (n == 6 || n == 9)
        return "failedstarttls";
    if (n == 13)
        *step = "smtp:mail";
    else if (n == 14)
        *step = "smtp:rcpt";
    else if (n >= 15 && n <= 18) {
        *step = ">>> data";
        return "filtered";
    }
    return NULL;
}

/* The rest of a multi-line reply whose first line diag[len] is: the
 * transcript lines "<<< NNN-..." / "<<< NNN ..." that follow it in the
 * notice, appended to b. */
static bool
reply_continued(const char *notice, size_t nlen, const char *diag, bg_buf *b)
{
    size_t dlen = strlen(diag);
    if (dlen < 8 || !isdigit((unsigned char)diag[0]) || diag[3] != '-')
        return false;
    /* The transcript's line, not the summary's "(reason: 552-...)": the
     * first "<<< NNN-" line that reads as diag once its white space is
     * folded as the Diagnostic-Code's was ("unknown.  Either"). */
    const char *end = notice + nlen, *p = NULL;
    char key[9];
    memcpy(key, "<<< ", 4);
    memcpy(key + 4, diag, 4);
    key[8] = '\0';
    for (const char *at = memmem(notice, nlen, key, 8); at && !p;
         at = memmem(at + 8, (size_t)(end - at - 8), key, 8)) {
        const char *le = memchr(at, '\n', (size_t)(end - at));
        size_t ll = le ? (size_t)(le - at) : (size_t)(end - at);
        bg_buf line = BG_BUF_INIT;
        bg_dsn_collapse(&line, at + 4, ll - 4);
        if (line.len >= dlen && memcmp(line.s, diag, dlen) == 0)
            p = at + ll;
        bg_buf_free(&line);
    }
    if (!p)
        return false;
    bool more = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
        if ((size_t)(end - p) < 8 || memcmp(p, "<<< ", 4) != 0 ||
            memcmp(p + 4, diag, 3) != 0 || (p[7] != '-' && p[7] != ' '))
            break;
        const char *le = memchr(p, '\n', (size_t)(end - p));
        size_t ll = le ? (size_t)(le - p) : (size_t)(end - p);
        /* The text after the reply code and the status code if any. */
        const char *t = p + 8, *te = p + ll;
        char code[32];
        if (bg_reply_status_from_text(t, code, sizeof code) &&
            strncmp(t, code, strlen(code)) == 0)
            t += strlen(code);
        bg_buf_append(b, " ", 1);
        bg_dsn_collapse(b, t, (size_t)(te - t));
        more = true;
        if (p[7] == ' ')
            break;
    }
    return more;
}

/* Sendmail's transcript: "... while talking to mx.example.org.:" and then
 * at once "<<< 554 ..." (no ">>> COMMAND" between) is the server's
 * greeting; true when the reply diag (NNN ...) was given there. */
static bool
refused_greeting(const char *notice, size_t nlen, const char *diag)
{
    if (!isdigit((unsigned char)diag[0]) || strlen(diag) < 4)
        return false;
    const char *end = notice + nlen, *p = notice;
    while ((p = memmem(p, (size_t)(end - p), "while talking to ", 17)) != NULL) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
        if ((size_t)(end - p) > 8 && memcmp(p, "<<< ", 4) == 0 &&
            memcmp(p + 4, diag, 3) == 0)
            return true;
    }
    return false;
}

/* The DragonFly Mail Agent's notice (dma's net.c):
 *   "There was an error delivering your mail to <a@b>.\n\n"
 *   "mx.example.com [192.0.2.1] did not like our RCPT TO:\n"
 *   "550 5.1.1 ... (the reply, up to an empty line)"
 * The reply replaces *diag (the lines by the address are empty, so the
 * caller took the whole notice) and *step names the command.  true when
 * the notice has that layout. */
static bool
dma_reply(char **diag, const char *notice, size_t nlen, const char **step)
{
    static const struct {
        const char *said, *step;
    } cmds[] = {
        {"rcpt to:", "smtp:rcpt"}, {"mail from:", "smtp:mail"}, {"data:", ">>> data"},
        {"ehlo:", "greeting"},     {"helo:", "greeting"},
    };
    size_t head = nlen < 256 ? nlen : 256;
    if (!notice || !bg_text_find(notice, head, "dragonfly mail agent"))
        return false;
    const char *end = notice + nlen;
    const char *p = bg_text_find(notice, nlen, " did not like our ");
    if (!p)
        return false;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return false;
    const char *cmd = p + 18;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (bg_text_find(cmd, (size_t)(nl - cmd), cmds[i].said))
            *step = cmds[i].step;
    /* The reply: the lines after, up to an empty one. */
    const char *r = nl + 1, *q = r;
    while (q < end && *q != '\n') {
        const char *e = memchr(q, '\n', (size_t)(end - q));
        q = e ? e + 1 : end;
    }
    bg_buf b = BG_BUF_INIT;
    bg_dsn_collapse(&b, r, (size_t)(q - r));
    while (b.len && b.s[b.len - 1] == ' ')
        b.s[--b.len] = '\0';
    if (b.len == 0) {
        bg_buf_free(&b);
        return true;
    }
    free(*diag);
    *diag = bg_buf_steal(&b);
    return true;
}

static bool
names_no_command(const char *notice, size_t nlen)
{
    static const char *const marks[] = {
        /* OpenSMTPD (smtpd/bounce.c), for a failure and a delay alike */
        "An error has occurred while attempting to deliver a message for",
        /* nullmailer-dsn */
        "This is the nullmailer delivery system.",
        NULL,
    };

    /* Both open the notice: its first kilobyte is enough. */
    size_t head = nlen < 1024 ? nlen : 1024;
    for (size_t i = 0; notice && marks[i]; i++)
        if (memmem(notice, head, marks[i], strlen(marks[i])))
            return true;
    return false;
}

/* fetchmail's bounce (send_bouncemail in its sink.c) gives its reason in
 * one line of the notice: "Reason: Some addresses were rejected by the MDA
 * fetchmail forwards to." is written only for the recipients the listener
 * refused at RCPT TO; its other reasons ("General SMTP/ESMTP error.", a
 * reply to MAIL FROM or to the end of DATA) name no command.  true when
 * notice[nlen] says the refusal was at RCPT TO. */
static bool
fetchmail_rcpt(const char *notice, size_t nlen)
{
    /* The line follows the notice's two first paragraphs. */
    return bg_text_find(notice, nlen < 1024 ? nlen : 1024,
                        "reason: some addresses were rejected by the mda fetchmail "
                        "forwards to") != NULL;
}

void
dsn_family_layout(const char *notice, size_t nlen, dsn_layout *out)
{
    char haraka = notice ? haraka_failure(notice, nlen) : 0;
    out->step = haraka || (notice && fetchmail_rcpt(notice, nlen)) ? "smtp:rcpt" : NULL;
    out->names_no_command = notice && names_no_command(notice, nlen);
    out->gave_up = haraka == 't';
}

const char *
dsn_family_reply(char **diag, const char *notice, size_t nlen, const char **step)
{
    /* Both end in " was:": one search for that, then a look behind. */
    static const char *const intros[] = {
        "the error that the other server returned",
        "the response from the remote server",
        NULL,
    };
    *step = NULL;
    if (dma_reply(diag, notice, nlen, step))
        return NULL;
    char *d = *diag;
    if (!d)
        return NULL;
    size_t n = strlen(d);
    for (const char *w = strstr(d, " was:"); w; w = strstr(w + 5, " was:")) {
        for (size_t i = 0; intros[i]; i++) {
            size_t il = strlen(intros[i]);
            if ((size_t)(w - d) < il || strncasecmp(w - il, intros[i], il) != 0)
                continue;
            size_t from = (size_t)(w - d) + 5;
            while (d[from] == ' ')
                from++;
            if (!d[from])
                return NULL;
            keep_from(d, from);
            return gmail_state(d, step);
        }
    }
    /* "NNN-'quoted reply'" */
    for (const char *p = d; (p = strstr(p, "-'")) != NULL; p += 2) {
        if (p - d >= 3 && isdigit((unsigned char)p[-1]) &&
            isdigit((unsigned char)p[-2]) && isdigit((unsigned char)p[-3]) &&
            (p - d == 3 || p[-4] == ' ')) {
            keep_from(d, (size_t)(p + 2 - d));
            char *q = strrchr(d, '\'');
            if (q)
                *q = '\0';
            return NULL;
        }
    }
    if (notice && refused_greeting(notice, nlen, d))
        *step = "greeting";
    if (notice && n >= 8 && d[3] == '-' && memmem(notice, nlen, "<<< ", 4)) {
        bg_buf b = BG_BUF_INIT;
        bg_buf_append(&b, d, n);
        if (reply_continued(notice, nlen, d, &b)) {
            free(*diag);
            *diag = bg_buf_steal(&b);
        } else
            bg_buf_free(&b);
    }
    return NULL;
}

/*
 * mlmmj (Debian's mlmmj 1.3) refuses a post with its "deny-post" text, sent
 * from LIST+owner@DOMAIN with a Message-ID of its own making
 * ("<...-mlmmj-...@DOMAIN>"): the list's address is the recipient the
 * message went to.  The reason follows the text's "because ..." (English
 * list texts; any other language is the list refusing the sender).
 */
static const char *
mlmmj_refusal(const bg_mime_headers *h, const char *body, size_t len, char **list)
{
    const char *id = bg_mime_headers_get(h, "Message-ID");
    if (!id || !strstr(id, "-mlmmj-"))
        return NULL;
    char *from = bg_dsn_addr_canon(bg_mime_headers_get(h, "From"));
    const char *owner = from ? strstr(from, "+owner@") : NULL;
    if (!owner) {
        free(from);
        return NULL;
    }
    /* LIST+owner@DOMAIN -> LIST@DOMAIN */
    memmove((char *)owner, owner + 6, strlen(owner + 6) + 1);
    *list = from;
    /* the text is wrapped where the poster's subject puts the line ends */
    bg_buf flat = BG_BUF_INIT;
    const char *reason = "rejected";
    if (body)
        bg_dsn_collapse(&flat, body, len < 4096 ? len : 4096);
    if (flat.len && bg_text_find(flat.s, flat.len, "maximum allowed message size"))
        reason = "mesgtoobig";
    else if (flat.len &&
             bg_text_find(flat.s, flat.len, "without any moderator releasing"))
        reason = "expired";
    bg_buf_free(&flat);
    return reason;
}

/*
 * GNU Mailman 3 (3.3) refuses a post in two English texts, both with an
 * X-Mailman-Version of 3.x: its reject chain (a non-member, or any rule the
 * list rejects on) sends "Your message to the LIST mailing-list was rejected
 * for the following reasons: ..." from LIST-owner@DOMAIN with the post
 * attached; a moderator rejecting a held post (too large, implicit
 * destination, too many recipients, ...) sends "Your request to the
 * LIST@DOMAIN mailing list Posting of your message titled ... has been
 * rejected by the list moderator ... reason ..." from LIST-bounces@DOMAIN.
 * The list's address (From without -owner / -bounces) is the recipient;
 * the reason is the sender's (rejected) unless the text gives the size rule
 * ("The message is larger than the N KB maximum size").  *diag is the
 * notice's text up to its closing words.
 */
static const char *
mailman3_refusal(const bg_mime_headers *h, const char *body, size_t len, char **list,
                 char **diag)
{
    static const char *const suffixes[] = {"-owner@", "-bounces@", NULL};
    static const char *const ends[] = {"The original message as received",
                                       "Any questions or comments", NULL};
    const char *v = bg_mime_headers_get(h, "X-Mailman-Version");
    if (!v || !body)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    if (v[0] != '3' || v[1] != '.')
        return NULL;
    bg_buf flat = BG_BUF_INIT;
    bg_dsn_collapse(&flat, body, len < 4096 ? len : 4096);
    if (!flat.len ||
        (!bg_text_find(flat.s, flat.len, "mailing-list was rejected for the following") &&
         !bg_text_find(flat.s, flat.len, "has been rejected by the list moderator"))) {
        bg_buf_free(&flat);
        return NULL;
    }
    char *from = bg_dsn_addr_canon(bg_mime_headers_get(h, "From"));
    char *at = from ? strrchr(from, '@') : NULL;
    const char *suffix = NULL;
    for (size_t i = 0; at && suffixes[i]; i++) {
        size_t sl = strlen(suffixes[i]) - 1; /* without the '@' */
        if ((size_t)(at - from) > sl && strncasecmp(at - sl, suffixes[i], sl) == 0) {
            suffix = at - sl;
            break;
        }
    }
    if (!suffix) {
        free(from);
        bg_buf_free(&flat);
        return NULL;
    }
    /* LIST-owner@DOMAIN -> LIST@DOMAIN */
    memmove((char *)suffix, at, strlen(at) + 1);
    *list = from;
    const char *reason = "rejected";
    if (bg_text_find(flat.s, flat.len, "kb maximum size"))
        reason = "mesgtoobig";
    size_t n = flat.len;
    for (size_t i = 0; ends[i]; i++) {
        const char *e = bg_text_find(flat.s, n, ends[i]);
        if (e)
            n = (size_t)(e - flat.s);
    }
    while (n && flat.s[n - 1] == ' ')
        n--;
    flat.s[n] = '\0';
    flat.len = n;
    *diag = bg_buf_steal(&flat);
    return reason;
}

/* fml, the mailing-list manager, answers a poster itself (X-MLServer: fml,
 * From: LIST-admin@): refused as a non-member, a loop, a security alert. */
const char *
dsn_family_mlserver(const bg_mime_headers *h, const char *body, size_t len, char **list,
                    char **diag)
{
    static const struct {
        const char *phrase;
        const char *reason;
    } fml[] = {
        {"not member", "rejected"},
        {"not a member of this mailing list", "rejected"},
        {"reject mail from", "rejected"},
        {"spam mail from a spammer is rejected", "rejected"},
        {"fml system error message", "systemerror"},
        {"loop alert:", "systemerror"},
        {"loop back warning", "systemerror"},
        {"unix from loop", "systemerror"},
        {"duplicated message-id", "systemerror"},
        {"has detected a loop condition", "systemerror"},
        {"security alert", "securityerror"},
        {NULL, NULL},
    };
    const char *mlmmj = mlmmj_refusal(h, body, len, list);
    if (mlmmj)
        return mlmmj;
    const char *mailman = mailman3_refusal(h, body, len, list, diag);
    if (mailman)
        return mailman;
    const char *ml = bg_mime_headers_get(h, "X-MLServer");
    const char *from = bg_mime_headers_get(h, "From");
    if (!ml || !from || !bg_text_find(ml, strlen(ml), "fml") ||
        !bg_text_find(from, strlen(from), "-admin@"))
        return NULL;
    const char *subj = bg_mime_headers_get(h, "Subject");
    size_t n = len < 4096 ? len : 4096;
    for (size_t i = 0; fml[i].phrase; i++) {
        if ((subj && bg_text_find(subj, strlen(subj), fml[i].phrase)) ||
            (body && bg_text_find(body, n, fml[i].phrase)))
            return fml[i].reason;
    }
    return NULL;
}
