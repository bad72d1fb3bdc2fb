/*
 * reply.c — see include/bounceguard/reply.h.  Classify one failure (status code +
 * diagnostic text) into the bounce-reason vocabulary of Sisimai, and find the DNS
 * blacklist a bounce names.
 *
 * The order of the decision, as Sisimai does it:
 *   1. a specific enhanced status code decides (5.1.1 userunknown, x.2.2
 *      mailboxfull, 5.7.26 authfailure, ...);
 *   2. else the text decides, through tables of phrases per reason tried in
 *      a fixed order (the most specific reasons first: authentication and
 *      reverse DNS before "blocked", "mailbox full" before "user unknown");
 *   3. else a generic status code gives its class's usual reason (5.2.1
 *      filtered, 4.4.x expired, 5.7.x blocked/securityerror, ...);
 *   4. else "undefined" (onhold when there is nothing at all to go on).
 * A named blacklist in the text makes the reason "blocked" unless the status
 * code is specific.  A status that the reporting MTA made up from a bare
 * reply code (Sendmail's 5.1.1 for any 550 at RCPT TO) is set aside before
 * (bg_reply_status_judged(), called by the intakes), and the SMTP command the
 * reply answered weighs "user unknown" (bg_reply_classify_step()).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/reply_rules.h"
#include "bounceguard/dsn_report.h"
#include "bounceguard/reply.h"
#include "bounceguard/textmatch.h"
#include "reply_phrases.h"
#include "reply_vendor.h"

/* ---- status codes ----------------------------------------------------- */

static bool
code_at(const char *p, const char *start, char *dst, size_t size)
{
    if (*p == '\0' || !strchr("45", *p) || p[1] != '.')
        return false;
    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
        return false;
    /* RFC 3463 allows three digits of subject, but only 0-7 are defined;
     * "Exim 4.92.3" is a version. */
    const char *q = p + 2;
    int n2 = 0;
    if (*q < '0' || *q > '7' || q[1] != '.')
        return false;
    q += 2;
    while (isdigit((unsigned char)*q) && n2 < 3) {
        q++;
        n2++;
    }
    if (n2 == 0 || isalnum((unsigned char)*q) ||
        (*q == '.' && isdigit((unsigned char)q[1])))
        return false;
    size_t len = (size_t)(q - p);
    if (len + 1 > size)
        return false;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

bool
bg_reply_status_from_text(const char *text, char *dst, size_t size)
{
    if (!text)
        return false;
    for (const char *p = text; (p = strpbrk(p, "45")) != NULL; p++)
        if (code_at(p, text, dst, size))
            return true;
    /* A bare reply code: "550 ...", "said: 554-...". */
    for (const char *p = text; (p = strpbrk(p, "45")) != NULL; p++) {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[1] > '5')
            continue;
        if (p > text && (isalnum((unsigned char)p[-1]) || strchr(".:/-#", p[-1])))
            continue;
        if (p[3] != ' ' && p[3] != '-' && p[3] != '\0')
            continue;
        if (size < 6)
            return false;
        dst[0] = *p;
        memcpy(dst + 1, ".0.0", 5);
        return true;
    }
    return false;
}

typedef struct code_reason {
    const char *code; /* "x.y.z" without the class digit: ".1.1" */
    const char *reason;
    bool specific; /* decides over the text */
} code_reason;

static const code_reason codes[] = {
    {".1.0", "userunknown", false},
    {".1.1", "userunknown", true},
    {".1.2", "hostunknown", true},
    {".1.3", "userunknown", false},
    {".1.4", "userunknown", false},
    {".1.5", "userunknown", false},
    {".1.6", "hasmoved", true},
    {".1.7", "rejected", true},
    {".1.8", "rejected", true},
    {".1.9", "systemerror", false},
    {".1.10", "notaccept", false},
    {".2.0", "filtered", false},
    {".2.1", "filtered", false},
    {".2.2", "mailboxfull", true},
    {".2.3", "exceedlimit", true},
    {".2.4", "systemerror", false},
    {".3.0", "systemerror", false},
    {".3.1", "systemfull", true},
    {".3.2", "notaccept", false},
    {".3.3", "systemerror", false},
    {".3.4", "mesgtoobig", true},
    {".3.5", "systemerror", false},
    {".4.0", "networkerror", false},
    {".4.1", "expired", false},
    {".4.2", "expired", false},
    {".4.3", "systemerror", false},
    {".4.4", "hostunknown", false},
    {".4.5", "toomanyconn", false},
    {".4.6", "networkerror", true},
    {".4.7", "expired", true},
    {".5.0", "syntaxerror", false},
    {".5.1", "syntaxerror", false},
    {".5.2", "syntaxerror", false},
    {".5.3", "exceedlimit", false},
    {".5.4", "syntaxerror", false},
    {".5.5", "syntaxerror", false},
    {".5.6", "syntaxerror", false},
    {".6.0", "contenterror", false},
    {".6.1", "contenterror", false},
    {".6.2", "contenterror", false},
    {".6.3", "contenterror", false},
    {".6.4", "contenterror", false},
    {".6.5", "contenterror", false},
    {".6.6", "contenterror", false},
    {".6.7", "contenterror", false},
    {".6.8", "contenterror", false},
    {".6.9", "contenterror", false},
    {".6.10", "contenterror", false},
    {".7.0", "blocked", false},
    {".7.1", "blocked", false},
    {".7.2", "rejected", false},
    {".7.3", "securityerror", false},
    {".7.4", "securityerror", false},
    {".7.5", "securityerror", false},
    {".7.6", "securityerror", false},
    {".7.7", "securityerror", false},
    {".7.8", "securityerror", false},
    {".7.9", "policyviolation", true},
    {".7.10", "securityerror", false},
    {".7.11", "securityerror", false},
    {".7.12", "securityerror", false},
    {".7.13", "suspend", true},
    {".7.14", "securityerror", false},
    {".7.15", "securityerror", false},
    {".7.16", "exceedlimit", false},
    {".7.17", "hasmoved", false},
    {".7.18", "hasmoved", false},
    {".7.19", "rejected", false},
    {".7.20", "authfailure", true},
    {".7.21", "authfailure", true},
    {".7.22", "authfailure", true},
    {".7.23", "authfailure", true},
    {".7.24", "authfailure", true},
    {".7.25", "requireptr", true},
    {".7.26", "authfailure", true},
    /* RFC 7505: x.7.27 is "Sender address has null MX", the sender's
     * domain, as x.1.10 is the recipient's */
    {".7.27", "rejected", true},
    {".7.28", "speeding", false},
    {".7.29", "authfailure", true},
    {".7.30", "failedstarttls", false},
    /* Microsoft 365's own codes. */
    {".7.509", "authfailure", true},
    {".7.510", "notaccept", false},
    {".7.606", "blocked", true},
    {".7.650", "badreputation", true},
    {".7.708", "badreputation", true},
    {".7.750", "badreputation", true},
    {NULL, NULL, false},
};

static const code_reason *
code_lookup(const char *status)
{
    if (!status || status[0] == '\0' || !strchr("45", status[0]) || status[1] != '.')
        return NULL;
    for (size_t i = 0; codes[i].code; i++) /* the class digit first: cheap */
        if (codes[i].code[1] == status[2] && strcmp(status + 1, codes[i].code) == 0)
            return &codes[i];
    /* Microsoft's x.7.6nn "banned sending IP" family. */
    static const code_reason ms_banned = {".7.6xx", "blocked", true};
    if (strncmp(status + 1, ".7.6", 4) == 0 && strlen(status) == 7)
        return &ms_banned;
    return NULL;
}

bool
bg_reply_status_judged(const char *status, const char *reply, char *dst, size_t size)
{
    char found[32], judged[32];
    if (!status || !reply || !strchr("45", status[0]) || status[0] == '\0' ||
        status[1] != '.')
        return false;
    const char *p = reply;
    while (*p == ' ')
        p++;
    /* The remote's own reply starts with its basic code: "550 ...". */
    if (!strchr("45", p[0]) || p[0] == '\0' || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]) || (p[3] != ' ' && p[3] != '-' && p[3] != '\0'))
        return false;
    const char *detail = ".0.0";
    if (bg_reply_status_from_text(p, found, sizeof found) && found[1] == '.')
        detail = found + 1;
    /* No enhanced code of the remote's own: the made-up detail gives way
     * where it would decide over the remote's text (5.1.1, 5.2.2, 4.3.1,
     * 4.4.7); a generic one (Sendmail's 5.2.0 for a 550 after DATA, 5.5.0
     * for a refused greeting, another MTA's 5.7.1) decides nothing and
     * stands, as does x.1.6 for 551, which is "User not local" (RFC 5321). */
    const code_reason *cr = code_lookup(status);
    if (strcmp(detail, ".0.0") == 0 &&
        (!cr || !cr->specific ||
         (strncmp(p, "551", 3) == 0 && strcmp(status + 1, ".1.6") == 0)))
        return false;
    size_t n = strlen(detail);
    if (n + 2 > sizeof judged || n + 2 > size)
        return false;
    judged[0] = status[0];
    memcpy(judged + 1, detail, n + 1);
    if (strcmp(judged, status) == 0)
        return false;
    memcpy(dst, judged, n + 2);
    return true;
}

/* ---- blacklists ------------------------------------------------------- */

typedef struct rbl_name {
    const char *needle; /* lower case, found anywhere in the text */
    const char *name;   /* the name reported */
} rbl_name;

static const rbl_name rbl_names[] = {
    {"zen.spamhaus.org", "zen.spamhaus.org"},
    {"sbl-xbl.spamhaus.org", "sbl-xbl.spamhaus.org"},
    {"sbl.spamhaus.org", "sbl.spamhaus.org"},
    {"xbl.spamhaus.org", "xbl.spamhaus.org"},
    {"pbl.spamhaus.org", "pbl.spamhaus.org"},
    {"dbl.spamhaus.org", "dbl.spamhaus.org"},
    {"spamhaus", "zen.spamhaus.org"},
    {"bl.spamcop.net", "bl.spamcop.net"},
    {"spamcop", "bl.spamcop.net"},
    {"b.barracudacentral.org", "b.barracudacentral.org"},
    {"barracudacentral", "b.barracudacentral.org"},
    {"barracuda reputation", "b.barracudacentral.org"},
    {"cbl.abuseat.org", "cbl.abuseat.org"},
    {"abuseat.org", "cbl.abuseat.org"},
    {"dnsbl.sorbs.net", "dnsbl.sorbs.net"},
    {"sorbs.net", "dnsbl.sorbs.net"},
    {"psbl.surriel.com", "psbl.surriel.com"},
    {"psbl", "psbl.surriel.com"},
    {"bl.mailspike.net", "bl.mailspike.net"},
    {"mailspike", "bl.mailspike.net"},
    {"uceprotect", "dnsbl-1.uceprotect.net"},
    {"ix.dnsbl.manitu.net", "ix.dnsbl.manitu.net"},
    {"dnsbl.manitu.net", "ix.dnsbl.manitu.net"},
    {"truncate.gbudb.net", "truncate.gbudb.net"},
    {"dnsbl.dronebl.org", "dnsbl.dronebl.org"},
    {"spamrats", "all.spamrats.com"},
    {"backscatterer.org", "ips.backscatterer.org"},
    {"bl.0spam.org", "bl.0spam.org"},
    {"invaluement", "invaluement"},
    {"senderscore", "bl.score.senderscore.com"},
    {"rbl.interserver.net", "rbl.interserver.net"},
    {"hostkarma", "hostkarma.junkemailfilter.com"},
    {"mail-abuse.com", "mail-abuse.com"},
    {"cloudmark", "cloudmark"},
    {"spameatingmonkey", "bl.spameatingmonkey.net"},
    {"nixspam", "ix.dnsbl.manitu.net"},
    {"blocklist.de", "bl.blocklist.de"},
    {NULL, NULL},
};

static char *
lower_copy(const char *s, size_t max)
{
    return bg_text_lower_dup(s, max);
}

/* The classifier's copies: a diagnostic is short, so its lower-case copy
 * (8 KB at most) goes in buf[size] when it fits, on the heap when not;
 * lower_drop() frees the heap's. */
#define LOWER_MAX 8192

static char *
lower_in(char *buf, size_t size, const char *s)
{
    size_t n = strnlen(s, LOWER_MAX);
    char *d = n < size ? buf : bg_xmalloc(n + 1);
    bg_text_lower_copy(d, s, n);
    d[n] = '\0';
    return d;
}

static void
lower_drop(char *d, const char *buf)
{
    if (d != buf)
        free(d);
}

/* The domain-like token after "blocked using", "listed in" ... */
static const char *const rbl_intros[] = {
    "blocked using ", "listed in ", "listed at ",      "listed on ",      "listed by ",
    "rbl ",           "dnsbl ",     "blacklisted by ", "blacklisted at ", NULL};

/* The SMTP command the failure answered, from the MTA's wording: the first
 * group with a phrase in the text decides. */
typedef enum smtp_cmd { CMD_NONE, CMD_CONNECT, CMD_MAIL, CMD_RCPT, CMD_DATA } smtp_cmd;

static const struct {
    smtp_cmd cmd;
    const char *const *phrases;
} cmd_groups[] = {
    {CMD_DATA,
     (const char *const[]){"end of data", "reply to data", "after data", "smtp:data",
                           ">>> data", "failed after i sent the message",
                           "failed on data command", NULL}},
    /* qmail-remote: "Connected to H but sender was rejected", "... but my
     * name was rejected", "most progress was RCPT TO response". */
    {CMD_MAIL, (const char *const[]){"but sender was rejected",
                                     "most progress was mail from", NULL}},
    {CMD_CONNECT, (const char *const[]){"but my name was rejected", NULL}},
    {CMD_RCPT, (const char *const[]){"rcpt to:<", "rcpt to command", "smtp:rcpt",
                                     "after rcpt", ">>> rcpt", "does not like recipient",
                                     "most progress was rcpt", NULL}},
    {CMD_MAIL, (const char *const[]){"mail from command", "after mail from", "smtp:mail",
                                     ">>> mail from", NULL}},
    {CMD_CONNECT,
     (const char *const[]){"initial connection", "greeting", "after ehlo", "after helo",
                           ">>> ehlo", ">>> helo", "in reply to ehlo", "in reply to helo",
                           "refused to talk to me", NULL}},
};

#define NCMD_GROUPS (sizeof cmd_groups / sizeof cmd_groups[0])
#define MAX_GROUP 12 /* phrases per group at most (the largest has 8) */

/* The needles of the tables above with their byte pairs, made once. */
static bg_text_needle rbl_nd[sizeof rbl_names / sizeof rbl_names[0]];
static bg_text_needle intro_nd[sizeof rbl_intros / sizeof rbl_intros[0]];
static bg_text_needle cmd_nd[NCMD_GROUPS][MAX_GROUP];
/* Words bg_reply_classify_ctx() looks for in every diagnostic. */
static bg_text_needle access_denied_nd, greylist_nd, graylist_nd;
static pthread_once_t needles_once = PTHREAD_ONCE_INIT;

static void
needles_make(void)
{
    for (size_t i = 0; rbl_names[i].needle; i++)
        bg_text_needle_init(&rbl_nd[i], rbl_names[i].needle);
    for (size_t i = 0; rbl_intros[i]; i++)
        bg_text_needle_init(&intro_nd[i], rbl_intros[i]);
    for (size_t g = 0; g < NCMD_GROUPS; g++)
        for (size_t i = 0; i < MAX_GROUP && cmd_groups[g].phrases[i]; i++)
            bg_text_needle_init(&cmd_nd[g][i], cmd_groups[g].phrases[i]);
    bg_text_needle_init(&access_denied_nd, "access denied");
    bg_text_needle_init(&greylist_nd, "greylist");
    bg_text_needle_init(&graylist_nd, "graylist");
}

/* strstr() of a prepared needle in low, whose pairs pp holds. */
static const char *
find(const bg_text_pairs *pp, const char *low, const bg_text_needle *nd)
{
    return bg_text_needle_may(pp, nd) ? strstr(low, nd->s) : NULL;
}

static bool
generic_rbl(const bg_text_pairs *pp, const char *low, char *dst, size_t size)
{
    for (size_t k = 0; rbl_intros[k]; k++) {
        const char *hit = find(pp, low, &intro_nd[k]);
        if (!hit)
            continue;
        const char *p = hit + intro_nd[k].len;
        while (*p == ' ' || *p == '"' || *p == '\'' || *p == '(' || *p == '[')
            p++;
        if (strncmp(p, "the ", 4) == 0)
            p += 4;
        const char *s = p;
        while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
            p++;
        while (p > s && (p[-1] == '.' || p[-1] == '-'))
            p--;
        size_t n = (size_t)(p - s);
        const char *dot = memchr(s, '.', n);
        if (n < 4 || !dot || dot == s || n >= size || isdigit((unsigned char)p[-1]))
            continue;
        memcpy(dst, s, n);
        dst[n] = '\0';
        return true;
    }
    return false;
}

/* bg_reply_rbl_from_text() over the lower-case copy low (its pairs pp). */
static bool
rbl_from_low(const char *low, const bg_text_pairs *pp, char *dst, size_t size)
{
    pthread_once(&needles_once, needles_make);
    for (size_t i = 0; rbl_names[i].needle; i++) {
        if (find(pp, low, &rbl_nd[i])) {
            bg_strlcpy(dst, rbl_names[i].name, size);
            return true;
        }
    }
    return generic_rbl(pp, low, dst, size);
}

bool
bg_reply_rbl_from_text(const char *text, char *dst, size_t size)
{
    if (!text || !*text || size == 0)
        return false;
    char *low = lower_copy(text, 8192);
    bg_text_pairs pp;
    bg_text_pairs_init(&pp, low, strlen(low));
    bool found = rbl_from_low(low, &pp, dst, size);
    free(low);
    return found;
}

/* ---- the decision ----------------------------------------------------- */

/* Lower-case copy of a diagnostic with the reply-code prefixes of
 * continuation lines ("550-5.7.1 ", "550 5.7.1 ") after the first removed, so
 * that phrases broken over lines match again; low (a lower-case copy, 8 KB at
 * most) is changed in place and returned. */
static char *
normalize(char *low)
{
    char *w = low;
    bool first = true;
    for (const char *p = low; *p;) {
        bool at_word = p == low || p[-1] == ' ';
        if (at_word && p[0] != '\0' && strchr("245", p[0]) &&
            isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
            (p[3] == '-' || p[3] == ' ')) {
            const char *q = p + 4;
            char code[32];
            if (code_at(q, low, code, sizeof code))
                q += strlen(code);
            if (*q == ' ' || *q == '\0' || p[3] == '-') {
                if (!first) {
                    p = *q == ' ' ? q + 1 : q;
                    continue;
                }
                first = false;
            }
        }
        /* Nothing to drop before the next word that may start a reply
         * code (a space, then 2, 4 or 5): copy up to it in one run (nothing
         * to copy while nothing was dropped).  strpbrk skips the words
         * between a vector at a time; bytes at or after p are still the
         * text's own (w never passes p), so c[-1] is the original byte. */
        const char *c = p + 1;
        while ((c = strpbrk(c, "245")) != NULL && c[-1] != ' ')
            c++;
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (w != p)
            memmove(w, p, n);
        w += n;
        p += n;
    }
    *w = '\0';
    /* Mask the local parts of addresses: "filtered@", "spam@", "virus@"
     * are mailbox names, not what the server says. */
    for (char *at = strchr(low, '@'); at; at = strchr(at + 1, '@')) {
        char *q = at;
        while (q > low && (isalnum((unsigned char)q[-1]) || strchr("._+-=%", q[-1])))
            *--q = 'x';
    }
    return low;
}

/* The SMTP command that the lower-case text low (pairs pp) names. */
static smtp_cmd
command_of(const char *low, const bg_text_pairs *pp)
{
    pthread_once(&needles_once, needles_make);
    for (size_t g = 0; g < NCMD_GROUPS; g++)
        for (size_t i = 0; i < MAX_GROUP && cmd_groups[g].phrases[i]; i++)
            if (find(pp, low, &cmd_nd[g][i]))
                return cmd_groups[g].cmd;
    return CMD_NONE;
}

static bool
is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* A failure answered to MAIL FROM is about the sender ("rejected") unless
 * the text names a more telling cause: only no reason, a recipient reason
 * (which cannot apply yet) or a bare "access denied" give way. */
static bool
weak_at_mail(const char *reason, bool rbl, bool access_denied)
{
    return !reason || is(reason, "userunknown") || is(reason, "filtered") ||
           is(reason, "hostunknown") || (is(reason, "blocked") && !rbl && access_denied);
}

void
bg_reply_classify(const char *status, const char *diagnostic, bg_reply_class *out)
{
    bg_reply_classify_ctx(status, diagnostic, NULL, out);
}

/* The first http(s) URL of text into dst[size] (cut at blank, '>', ')'). */
static void
first_url(const char *text, char *dst, size_t size)
{
    const char *p = text ? strstr(text, "http") : NULL;

    dst[0] = '\0';
    for (; p; p = strstr(p + 4, "http")) {
        if (strncasecmp(p, "http://", 7) != 0 && strncasecmp(p, "https://", 8) != 0)
            continue;
        size_t n = strcspn(p, " \t\r\n<>)\"';,");
        while (n > 0 && p[n - 1] == '.')
            n--;
        if (n >= size)
            n = size - 1;
        memcpy(dst, p, n);
        dst[n] = '\0';
        return;
    }
}

/* The reason of a provider row that names none, when the generic reading
 * is about someone else. */
static const char *
scope_reason(bg_bounce_scope scope)
{
    switch (scope) {
    case BG_SCOPE_RECIPIENT:
        return "userunknown";
    case BG_SCOPE_RELAY:
        return "blocked";
    case BG_SCOPE_SENDER:
        return "rejected";
    case BG_SCOPE_MESSAGE:
        return "policyviolation";
    case BG_SCOPE_TRANSIENT:
        return "toomanyconn";
    case BG_SCOPE_UNKNOWN:
    case BG_SCOPE_NONE:
        break;
    }
    return "undefined";
}

static bg_smtp_stage
stage_of(smtp_cmd cmd)
{
    switch (cmd) {
    case CMD_CONNECT:
        return BG_STAGE_CONNECT;
    case CMD_MAIL:
        return BG_STAGE_MAIL;
    case CMD_RCPT:
        return BG_STAGE_RCPT;
    case CMD_DATA:
        return BG_STAGE_DATA;
    case CMD_NONE:
        break;
    }
    return BG_STAGE_UNKNOWN;
}

void
bg_reply_classify_step(const char *status, const char *diagnostic, const char *command,
                       bg_reply_class *out)
{
    if (!command || !*command) {
        bg_reply_classify_ctx(status, diagnostic, NULL, out);
        return;
    }
    /* Postfix's own words, which command_of() knows: "in reply to RCPT TO
     * command", "in reply to end of DATA command". */
    char step[96];
    snprintf(step, sizeof step, "in reply to %.60s command", command);
    bg_reply_context ctx = {step, NULL, NULL, NULL, NULL, NULL, false};
    bg_reply_classify_ctx(status, diagnostic, &ctx, out);
}

/*
 * Where the remote server's own reply starts in a diagnostic that the
 * reporting MTA wrapped in its words: Postfix's "host mx.example.com[192.0.2.1]
 * said: 550 ..." and "host ... refused to talk to me: 421 ..." (its log lines
 * and some DSNs).  The wrapper names a host, whose name may hold any word
 * ("spamfilter", "blocked-mx"), and "refused" is Postfix's, not the remote's:
 * only the reply is judged, so that a log line and a DSN that carry the same
 * reply are judged alike.  The whole text still tells the SMTP stage.
 */
static const char *
remote_reply(const char *diag)
{
    static const char *const ends[] = {" said: ", " refused to talk to me: ", NULL};

    if (strncasecmp(diag, "host ", 5) != 0)
        return diag;
    for (size_t k = 0; ends[k]; k++) {
        const char *e = strstr(diag, ends[k]);
        /* the host's name and address, nothing more, before the end */
        if (e && e - diag < 320 && memchr(diag + 5, ' ', (size_t)(e - diag - 5)) == NULL)
            return e + strlen(ends[k]);
    }
    return diag;
}

void
bg_reply_classify_ctx(const char *status, const char *diagnostic,
                      const bg_reply_context *ctx, bg_reply_class *out)
{
    const code_reason *cr = code_lookup(status);
    const char *reason = NULL, *text = NULL, *vendor = NULL, *phrase = NULL;
    const bg_reply_rule *row = NULL;
    bool vendor_decides = false, access_denied = false, greylisted = false;
    bool broken_mx = false;
    smtp_cmd cmd = CMD_NONE;
    char reply[32] = "";
    enum { BY_NONE, BY_VENDOR, BY_CODE, BY_PHRASE, BY_RULE } by = BY_NONE;

    memset(out, 0, sizeof *out);
    bool rbl = false;

    if (diagnostic && *diagnostic) {
        /* One lower-case copy for the blacklists (as bg_reply_rbl_from_text())
         * and, normalised, for the phrase, vendor and command searches: its
         * pairs noted once, twice only when normalising changed it. */
        const char *said = remote_reply(diagnostic);
        char rawbuf[1024], lowbuf[1024];
        char *raw = lower_in(rawbuf, sizeof rawbuf, said);
        bg_text_pairs pp;
        bg_text_pairs_init(&pp, raw, strlen(raw));
        rbl = rbl_from_low(raw, &pp, out->rbl, sizeof out->rbl);
        char *low = normalize(lower_in(lowbuf, sizeof lowbuf, raw));
        if (strcmp(low, raw) != 0)
            bg_text_pairs_init(&pp, low, strlen(low));
        /* continuation codes dropped: "unsolicited mail 421-4.7.0 originating" */
        row = bg_reply_rules_find_pairs(bg_reply_rules_in_use(), low, &pp);
        lower_drop(raw, rawbuf);
        text = reply_phrase_reason(low, &pp, &phrase);
        text = reply_phrase_own_network(low, text, ctx ? ctx->recipient : NULL, &phrase,
                                        &broken_mx);
        vendor = reply_vendor_reason(low, &pp, ctx, &vendor_decides);
        if (said != diagnostic) {
            char *whole = lower_copy(diagnostic, 8192);
            bg_text_pairs wp;
            bg_text_pairs_init(&wp, whole, strlen(whole));
            cmd = command_of(whole, &wp);
            free(whole);
        } else {
            cmd = command_of(low, &pp);
        }
        /* (pp: the pairs of low; rbl_from_low() made the needles) */
        access_denied = find(&pp, low, &access_denied_nd) != NULL;
        greylisted = find(&pp, low, &greylist_nd) || find(&pp, low, &graylist_nd);
        const char *p = low;
        while (*p == ' ')
            p++;
        if (p[0] && strchr("245", p[0]) && isdigit((unsigned char)p[1]) &&
            isdigit((unsigned char)p[2]))
            memcpy(reply, p, 3);
        lower_drop(low, lowbuf);
    }
    if (ctx && ctx->notice && *ctx->notice && (cmd == CMD_NONE || !vendor)) {
        char noticebuf[2048];
        char *low = normalize(lower_in(noticebuf, sizeof noticebuf, ctx->notice));
        bg_text_pairs pp;
        bg_text_pairs_init(&pp, low, strlen(low));
        if (cmd == CMD_NONE)
            cmd = command_of(low, &pp);
        if (!vendor)
            vendor = reply_vendor_reason(low, &pp, ctx, &vendor_decides);
        lower_drop(low, noticebuf);
    }
    /* Google's and Microsoft's directory-based edge blocking refuse an
     * address the domain does not have with 5.4.1 "Recipient address
     * rejected: Access denied"; the same words with another code are an
     * access map's (Postfix's check_recipient_access), which says nothing
     * of the mailbox. */
    if (is(text, "filtered") && phrase &&
        strcmp(phrase, "recipient address rejected: access denied") == 0 && status &&
        strcmp(status + 1, ".4.1") == 0)
        text = "userunknown";
    /* A provider's code that would blame the relay yields to the reply's
     * own specific status when that names the recipient or the message:
     * Orange's OFR_999 on "552 5.3.4 Message size exceeds the limit",
     * Spectrum's AUP#In-1000 on "550 5.1.1 Recipient address rejected". */
    if (vendor_decides && cr && cr->specific && bg_reason_scope(vendor) == BG_SCOPE_RELAY &&
        (bg_reason_scope(cr->reason) == BG_SCOPE_RECIPIENT ||
         bg_reason_scope(cr->reason) == BG_SCOPE_MESSAGE))
        vendor_decides = false;
    if (vendor && vendor_decides)
        reason = vendor, by = BY_VENDOR;
    if (!reason && cr && cr->specific && !is(text, "mailererror"))
        reason = cr->reason, by = BY_CODE;
    if (!reason && text)
        reason = text, by = BY_PHRASE;
    if (!reason && vendor)
        reason = vendor, by = BY_VENDOR;
    if (rbl && !vendor_decides && (!cr || !cr->specific) &&
        (!reason || is(reason, "spamdetected") || is(reason, "policyviolation") ||
         is(reason, "rejected") || is(reason, "systemerror") ||
         is(reason, "userunknown")))
        reason = "blocked";
    /* Greylisting is temporary by definition: whatever else the reply says
     * ("Recipient address rejected: Greylisted"), a greylisted message that
     * failed was never let in before its time ran out. */
    if (greylisted && status && status[0] == '4' && !vendor_decides && !rbl)
        reason = "expired";
    /* "User unknown" is the recipient's address only when the status code
     * says so or it answered RCPT TO; after the message was sent (DATA), or
     * with no command to go on, it is the recipient's filter speaking, as
     * Sisimai reads it.  Not so in a layout that never names the command
     * (OpenSMTPD's, nullmailer's bounce): there its absence says nothing of
     * DATA, and the words stand. */
    bool addr_status =
        status && status[0] && status[1] == '.' && status[2] == '1' && status[3] == '.';
    if (is(reason, "userunknown") && !addr_status && !vendor_decides &&
        (cmd == CMD_DATA || (cmd == CMD_NONE && !(ctx && ctx->stage_unsaid))))
        reason = "filtered";
    /* Refused for good when connecting or at EHLO: about the relay itself.
     * A 4xx there ("421 Try again later", "Too many connections") is the
     * server's state, not a verdict on the relay, unless its words say so. */
    if (cmd == CMD_CONNECT && !(status && status[0] == '4') &&
        (!reason || is(reason, "systemerror")))
        reason = "blocked";
    /* Refused at MAIL FROM: the sender was refused. */
    if (cmd == CMD_MAIL && !vendor_decides && !(cr && cr->specific) &&
        weak_at_mail(reason, rbl, access_denied))
        reason = "rejected";
    /* A local delivery command failed (Postfix pipe/local, Sendmail's prog
     * mailer: "x-unix;").  Its words are the meaning of the command's exit
     * code (Postfix's sysexits table: "permission denied", "unknown mail
     * system error 1"), never a remote filter's or a relay's: only the
     * no-such-user and full-mailbox readings (by word or status) stand. */
    if (ctx && ctx->diag_type && strncasecmp(ctx->diag_type, "x-unix", 6) == 0 &&
        !vendor_decides &&
        (!reason || is(reason, "systemerror") || is(reason, "undefined") ||
         is(reason, "filtered") || is(reason, "blocked") || is(reason, "rejected") ||
         is(reason, "policyviolation") || is(reason, "securityerror")))
        reason = "mailererror";
    /* A delay warning (Action: delayed) of a command that failed for now
     * (EX_TEMPFAIL) is still queued: its delay will expire or pass. */
    if (is(reason, "mailererror") && ctx && ctx->action &&
        strncasecmp(ctx->action, "delayed", 7) == 0)
        reason = "expired";
    if (!reason && reply[0] == '5' && reply[1] == '0' && reply[2] <= '4')
        reason = "syntaxerror";
    /* Still queued and nothing more telling: the delay will expire; a
     * temporary failure given up on (4.x.x, failed) has expired. */
    if (!reason && ctx && ctx->action && strncasecmp(ctx->action, "delayed", 7) == 0)
        reason = "expired";
    /* A temporary failure with nothing more telling (a generic 4.7.0 "Try
     * again later") will expire or pass: the same whether a DSN (Action
     * failed or delayed) or a log line (status=deferred) carried it. */
    if (!reason && status && status[0] == '4')
        reason = "expired";
    if (!reason && cr)
        reason = cr->reason, by = BY_CODE;
    if (!reason)
        reason =
            (status && *status) || (diagnostic && *diagnostic) ? "undefined" : "onhold";
    /* A receiving system's own documented code or wording says more than
     * any generic reading of it. */
    /* ... except a provider's own numbered code read by lib/reply_vendor.c,
     * which a row may only name. */
    if (row && vendor_decides && bg_reason_scope(reason) != row->scope)
        row = NULL;
    if (row) {
        if (!vendor_decides && row->reason)
            reason = row->reason;
        else if (!vendor_decides && bg_reason_scope(reason) != row->scope)
            reason = scope_reason(row->scope);
        by = BY_RULE;
    }
    out->reason = reason;
    out->hard = bg_reason_is_hard(reason, status);
    out->stage = stage_of(cmd);
    out->scope = by == BY_RULE ? row->scope : bg_reason_scope(reason);
    if (by != BY_RULE && rbl)
        out->scope = BG_SCOPE_RELAY;
    /* A domain whose MX host does not resolve exists: its MX is broken and
     * may be mended, no verdict on the address for good. */
    if (broken_mx && out->scope == BG_SCOPE_RECIPIENT)
        out->scope = BG_SCOPE_TRANSIENT;
    /* A full mailbox that is only refused for now will take mail again. */
    if (out->scope == BG_SCOPE_RECIPIENT && status && status[0] == '4' &&
        is(reason, "mailboxfull"))
        out->scope = BG_SCOPE_TRANSIENT;
    if (out->scope == BG_SCOPE_RELAY) {
        bg_strlcpy(out->list,
                   rbl             ? out->rbl
                   : by == BY_RULE ? row->name
                                   : "",
                   sizeof out->list);
        first_url(diagnostic, out->delist, sizeof out->delist);
    }
    switch (by) {
    case BY_RULE:
        snprintf(out->rule, sizeof out->rule, "provider table, %s \"%s\": %s, %s",
                 row->provider, row->match, row->name, row->source);
        break;
    case BY_VENDOR:
        snprintf(out->rule, sizeof out->rule,
                 "a provider's own code or layout "
                 "(lib/reply_vendor.c)");
        break;
    case BY_CODE:
        snprintf(out->rule, sizeof out->rule, "the status code %s", status);
        break;
    case BY_PHRASE:
        snprintf(out->rule, sizeof out->rule, "the phrase \"%s\"", phrase ? phrase : "");
        break;
    case BY_NONE:
        snprintf(out->rule, sizeof out->rule, "no rule: %s", out->reason);
        break;
    }
    if (strcmp(reason, text ? text : "") != 0 && by == BY_PHRASE)
        snprintf(out->rule + strlen(out->rule), sizeof out->rule - strlen(out->rule),
                 ", read as %s", reason);
    if (rbl && by != BY_RULE)
        snprintf(out->rule + strlen(out->rule), sizeof out->rule - strlen(out->rule),
                 "; names the DNS blacklist %s", out->rbl);
    if (broken_mx && out->scope == BG_SCOPE_TRANSIENT)
        snprintf(out->rule + strlen(out->rule), sizeof out->rule - strlen(out->rule),
                 "; of an MX host, not the domain");
}
