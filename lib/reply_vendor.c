/*
 * reply_vendor.c — reasons that a provider's own error codes or formats state
 * outright, where the generic phrase tables would guess wrong.
 *
 * Each rule is keyed on something that every bounce of that provider
 * carries (a documented error code, a fixed reply layout), never on one
 * sample:
 *
 *   Orange / Wanadoo / La Poste   "LPN007_510", "OFR_506", "OUK_513": the
 *                                 last three digits are the provider's
 *                                 published error number -> its reason
 *   GoDaddy (secureserver.net)    "IB506": published bounce-back codes
 *   au / KDDI (ezweb.ne.jp)       "550 : User unknown" with no address is
 *                                 au's reply for a recipient-side filter;
 *                                 a real unknown user says "<a@b>: User
 *                                 unknown"
 *   Gmail, Domino, Notes (also its Japanese "not in the directory
 *   list"), Exchange 2003, qmail, IMail ("Unknown user: a@b"), Verizon
 *   ("Invalid user address"): wordings used only for an unknown
 *                                 recipient -> userunknown whatever the
 *                                 command (own_userunknown)
 *   Verizon (vtext.com, vzwpix.com) "Invalid user address": its own
 *                                 servers' unknown recipient (the same
 *                                 wording from Apache James elsewhere is
 *                                 read as the filter at DATA) -> userunknown
 *   Google Groups                 a failed @googlegroups.com recipient
 *                                 whose notice names Google Groups: the
 *                                 group refused the post -> rejected
 *   au EZweb                      "recipients was rejected by a remote
 *                                 mail server": its domain filter
 *                                 (filtered, in lib/reply_phrases.c)
 *   Outlook.com / Hotmail         "Requested action not taken: mailbox
 *                                 unavailable" from Microsoft's consumer
 *                                 servers is its unknown-user reply
 *   i.ua                          "mail.i.ua/err/N": its numbered refusals
 *   Tencent QQ (rhost *.qq.com)   the wordings of its help page: "mailbox
 *                                 unavailable or access denied" is its rate
 *                                 limit, "mailbox not found" an unknown user
 *   Gmail "Send mail as"          the other account's server refused the
 *                                 sender (CustomFromDenied) -> rejected
 *   fml mailing lists             X-MLServer: fml and LIST-admin@ sender:
 *                                 the list refused the poster (rejected),
 *                                 a loop (systemerror), security alert
 *   Amazon SES                    "identities failed the check": sending
 *                                 from an unverified identity, SES will
 *                                 not relay it (norelaying)
 *   Cox, Spectrum (Charter)       "AUP#CXBL", "AUP#In-1310": the code of
 *                                 their published acceptable-use error
 *                                 list -> its reason (aup_reason)
 *   Mimecast (rhost *.mimecast.com, or its community.mimecast.com link
 *                                 in the reply) the reply texts of its
 *                                 published code list (DOC-1369)
 *
 * Used by lib/reply.c; see lib/reply_vendor.h.  Pure; text is lower case.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/textmatch.h"
#include "bounceguard/util.h"
#include "reply_vendor.h"

typedef struct vendor_code {
    int code;
    const char *reason; /* NULL: the code says "try later", no reason */
} vendor_code;

/* Orange and La Poste error numbers (their postmaster pages). */
static const vendor_code franceptt[] = {
    {101, "blocked"},
    {102, "blocked"},
    {103, "blocked"},
    {104, "toomanyconn"},
    {105, NULL},
    {107, NULL},
    {108, NULL},
    {109, NULL},
    {201, NULL},
    {305, "securityerror"},
    {401, "blocked"},
    {402, "securityerror"},
    {403, "rejected"},
    {405, "rejected"},
    {415, "rejected"},
    {416, "userunknown"},
    {417, "mailboxfull"},
    {418, "userunknown"},
    {420, "suspend"},
    {421, "rejected"},
    {423, NULL},
    {424, NULL},
    {426, "suspend"},
    {505, "systemerror"},
    {506, "spamdetected"},
    {510, "blocked"},
    {513, NULL},
    {514, "mesgtoobig"},
    {517, "policyviolation"},
    {630, "policyviolation"},
    {999, "blocked"},
    {0, NULL},
};

/* GoDaddy bounce-back codes (IBnnn). */
static const vendor_code godaddy[] = {
    {7, "toomanyconn"},     {101, "expired"},
    {103, "blocked"},       {104, "blocked"},
    {105, "blocked"},       {106, "blocked"},
    {108, "blocked"},       {110, "blocked"},
    {111, "blocked"},       {112, "blocked"},
    {113, "blocked"},       {212, "spamdetected"},
    {401, "securityerror"}, {501, "rejected"},
    {502, "rejected"},      {504, "toomanyconn"},
    {506, "rejected"},      {508, "rejected"},
    {510, "toomanyconn"},   {607, "toomanyconn"},
    {705, "virusdetected"}, {0, NULL},
};

/* Cox's lettered AUP codes (its email error code page). */
static const struct {
    const char *code;
    const char *reason;
} cox[] = {
    {"cxbl", "blocked"},         {"cdrbl", "blocked"},      {"cxdns", "blocked"},
    {"cxthrt", "securityerror"}, {"cxmj", "securityerror"}, {"cxsndr", "rejected"},
    {"cxsmtp", "rejected"},      {"cxcnct", "toomanyconn"}, {"cxmxrt", "toomanyconn"},
    {"ipbl", "blocked"},         {"urlbl", "spamdetected"}, {NULL, NULL},
};

/* Spectrum's numbered AUP codes: single numbers, then ranges. */
static const vendor_code spectrum[] = {
    {1000, "blocked"},
    {1010, "rejected"},
    {1090, "systemerror"},
    {1260, "networkerror"},
    {1500, "rejected"},
    {1520, "rejected"},
    {1530, "mesgtoobig"},
    {1540, "toomanyconn"},
    {1550, "toomanyconn"},
    {1560, "policyviolation"},
    {0, NULL},
};
static const struct {
    int lo, hi;
    const char *reason;
} spectrum_range[] = {
    {1020, 1080, "rejected"},        {1100, 1150, "blocked"},
    {1160, 1190, "policyviolation"}, {1200, 1250, "blocked"},
    {1300, 1490, "toomanyconn"},     {0, 0, NULL},
};

/* Mimecast's reply texts (its code list), first match wins. */
static const struct {
    const char *phrase;
    const char *reason;
} mimecast[] = {
    {"host network not allowed", "policyviolation"},
    {"anti-spoofing policy", "policyviolation"},
    {"content examination policy", "policyviolation"},
    {"ip reputation", "blocked"},
    {"ip temporarily blacklisted", "blocked"},
    {"sender address blocked", "blocked"},
    {"envelope blocked", "rejected"},
    {"blocked senders", "rejected"},
    {"block policy for envelope from", "rejected"},
    {"maximum email size exceeded", "mesgtoobig"},
    {"mail loop detected", "networkerror"},
    {"open relay not allowed", "norelaying"},
    {"account inbounds disabled", "notaccept"},
    {"invalid recipient", "userunknown"},
    {"sender has no a, aaaa, or mx dns records", "rejected"},
    {"too many recipients", "toomanyconn"},
    {NULL, NULL},
};

/* Wordings that MTAs and providers use only for a recipient that does not
 * exist, whatever the SMTP command or status code. */
static const char *const own_userunknown[] = {
    /* Gmail / Google Workspace notices */
    "the address couldn't be found",
    "the email account that you tried to reach does not exist",
    /* IBM Domino / Lotus Notes */
    "not listed in domino directory",
    "not listed in public name & address book",
    "non r\xc3\xa9pertori\xc3\xa9 dans l'annuaire domino",
    /* Notes' Japanese "not in the directory list" (one literal on three lines) */
    /* NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
    "\xe3\x83\x87\xe3\x82\xa3\xe3\x83\xac\xe3\x82\xaf\xe3\x83\x88\xe3\x83\xaa"
    "\xe3\x81\xae\xe3\x83\xaa\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xab\xe3\x81\x82"
    "\xe3\x82\x8a\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93",
    /* Ipswitch IMail: "Unknown user: a@b", "Invalid final delivery userid" */
    "unknown user: ",
    "invalid final delivery userid",
    /* Exchange 2003 diagnostic code for an unknown recipient */
    "000c05a6",
    /* qmail (vpopmail, chkuser) */
    "no mailbox here by that name",
    "does not like recipient.",
    NULL,
};

/* Tencent QQ's replies (service.mail.qq.com help page), first match wins. */
static const struct {
    const char *phrase;
    const char *reason;
} qq[] = {
    {"mailbox not found", "userunknown"},
    {"mailbox unavailable or access denied", "toomanyconn"},
    {"frequency limited", "toomanyconn"},
    {"connection denied", "toomanyconn"},
    {"mail is rejected by recipients", "filtered"},
    {"suspected spam ip", "blocked"},
    {"mail content denied", "spamdetected"},
    {"spam is embedded in the email", "spamdetected"},
    {"suspected spam", "spamdetected"},
    {"message too large", "mesgtoobig"},
    {"bad address syntax", "syntaxerror"},
    {"dmarc check failed", "authfailure"},
    {"spf check failed", "authfailure"},
    {NULL, NULL},
};

static const vendor_code *
code_find(const vendor_code *t, int code)
{
    for (size_t i = 0; t[i].code; i++)
        if (t[i].code == code)
            return &t[i];
    return NULL;
}

static bool
word_start(const char *p, const char *text)
{
    return p == text || !isalnum((unsigned char)p[-1]);
}

/* The phrases looked for in every text, prepared once for bg_text_needle_may()
 * (the text's pairs are at hand: most searches are skipped). */
static const char *const prefixes[] = {"lpnaaa", "lpn", "ofr", "ouk", NULL};
enum {
    F_IB,
    F_KDDI,
    F_IUA,
    F_SENDAS,
    F_CFD,
    F_SES,
    F_AU,
    F_MS,
    F_VZ1,
    F_VZ2,
    F_GG1,
    F_GG2,
    F_AUP,
    NFIXED
};
static const char *const fixed[NFIXED] = {
    "ib",
    "550 : user unknown",
    ".i.ua/err/",
    "'send mail as'",
    "customfromdenied",
    "identities failed the check",
    ">: user unknown",
    "requested action not taken: mailbox unavailable",
    "invalid user address",
    "no such user",
    "google groups",
    "groups.google.com",
    "aup#",
};
static bg_text_needle prefix_nd[4], fixed_nd[NFIXED];
static bg_text_needle uu_nd[sizeof own_userunknown / sizeof own_userunknown[0]];
static pthread_once_t nd_once = PTHREAD_ONCE_INIT;

static void
nd_make(void)
{
    for (size_t k = 0; prefixes[k]; k++)
        bg_text_needle_init(&prefix_nd[k], prefixes[k]);
    for (size_t k = 0; k < NFIXED; k++)
        bg_text_needle_init(&fixed_nd[k], fixed[k]);
    for (size_t k = 0; own_userunknown[k]; k++)
        bg_text_needle_init(&uu_nd[k], own_userunknown[k]);
}

/* strstr() of a prepared needle in low, whose pairs pp holds. */
static const char *
find(const bg_text_pairs *pp, const char *low, const bg_text_needle *nd)
{
    return bg_text_needle_may(pp, nd) ? strstr(low, nd->s) : NULL;
}

/* "lpn007_510", "lpnaaa_101", "ofr_506", "ofr004_405", "ouk_513",
 * "lpn105-104": the error number, or -1. */
static int
franceptt_code(const bg_text_pairs *pp, const char *low)
{
    for (size_t k = 0; prefixes[k]; k++) {
        if (!bg_text_needle_may(pp, &prefix_nd[k]))
            continue;
        size_t pl = strlen(prefixes[k]);
        for (const char *p = low; (p = strstr(p, prefixes[k])) != NULL; p++) {
            if (!word_start(p, low))
                continue;
            const char *q = p + pl;
            const char *d = q;
            while (isdigit((unsigned char)*d))
                d++;
            size_t nd = (size_t)(d - q);
            if (nd != 0 && nd != 3)
                continue;
            if (*d != '_' && !(nd == 3 && *d == '-'))
                continue;
            d++;
            const char *e = d;
            while (isdigit((unsigned char)*e))
                e++;
            if (e - d != 3 || isalnum((unsigned char)*e))
                continue;
            return atoi(d);
        }
    }
    return -1;
}

/* " ib506": GoDaddy's code, or -1. */
static int
godaddy_code(const bg_text_pairs *pp, const char *low)
{
    if (!bg_text_needle_may(pp, &fixed_nd[F_IB]))
        return -1;
    for (const char *p = low; (p = strstr(p, "ib")) != NULL; p++) {
        if (!word_start(p, low) || !isdigit((unsigned char)p[2]) ||
            !isdigit((unsigned char)p[3]) || !isdigit((unsigned char)p[4]) ||
            isalnum((unsigned char)p[5]))
            continue;
        return atoi(p + 2);
    }
    return -1;
}

/* "aup#cdrbl" (Cox) or "aup#in-1310", "aup#out-1000" (Spectrum): the
 * reason its published code states, or NULL. */
static const char *
aup_reason(const bg_text_pairs *pp, const char *low)
{
    const char *p = find(pp, low, &fixed_nd[F_AUP]);
    if (!p)
        return NULL;
    p += 4;
    const char *q = p;
    while (isalpha((unsigned char)*q) || *q == '-')
        q++;
    if (isdigit((unsigned char)*q) && (q == p || q[-1] == '-')) {
        int n = atoi(q);
        const vendor_code *v = code_find(spectrum, n);
        if (v)
            return v->reason;
        for (size_t i = 0; spectrum_range[i].reason; i++)
            if (n >= spectrum_range[i].lo && n <= spectrum_range[i].hi)
                return spectrum_range[i].reason;
        return NULL;
    }
    for (size_t i = 0; cox[i].code; i++)
        if (strncmp(p, cox[i].code, strlen(cox[i].code)) == 0)
            return cox[i].reason;
    return NULL;
}

static bool
kddi(const bg_reply_context *ctx)
{
    if (!ctx)
        return false;
    return bg_host_in_domain(ctx->rhost, "ezweb.ne.jp") ||
           bg_host_in_domain(ctx->rhost, "au.com") ||
           bg_host_in_domain(ctx->recipient, "ezweb.ne.jp") ||
           bg_host_in_domain(ctx->recipient, "au.com");
}

const char *
reply_vendor_reason(const char *low, const bg_text_pairs *pp, const bg_reply_context *ctx,
                    bool *decided)
{
    *decided = false;
    if (!low)
        return NULL;
    pthread_once(&nd_once, nd_make);
    int c = franceptt_code(pp, low);
    if (c >= 0) {
        const vendor_code *v = code_find(franceptt, c);
        if (v) {
            *decided = v->reason != NULL;
            return v->reason;
        }
    }
    c = godaddy_code(pp, low);
    if (c >= 0) {
        const vendor_code *v = code_find(godaddy, c);
        if (v) {
            *decided = true;
            return v->reason;
        }
    }
    /* au (KDDI): the address left out of "550 <a@b>: User unknown" is its
     * recipient-side filter; with the address, the user is unknown. */
    if (find(pp, low, &fixed_nd[F_KDDI])) {
        *decided = true;
        return "filtered";
    }
    /* The text first: cheaper than the domain tests, with the same answer. */
    if (find(pp, low, &fixed_nd[F_AU]) && kddi(ctx)) {
        *decided = true;
        return "userunknown";
    }
    for (size_t i = 0; own_userunknown[i]; i++) {
        if (find(pp, low, &uu_nd[i])) {
            *decided = true;
            return "userunknown";
        }
    }
    if (find(pp, low, &fixed_nd[F_MS]) && ctx &&
        (bg_host_in_domain(ctx->reporter, "hotmail.com") ||
         bg_host_in_domain(ctx->reporter, "outlook.com") ||
         bg_host_in_domain(ctx->reporter, "live.com"))) {
        *decided = true;
        return "userunknown";
    }
    if ((find(pp, low, &fixed_nd[F_VZ1]) || find(pp, low, &fixed_nd[F_VZ2])) && ctx &&
        (bg_host_in_domain(ctx->reporter, "vtext.com") ||
         bg_host_in_domain(ctx->reporter, "vzwpix.com"))) {
        *decided = true;
        return "userunknown";
    }
    /* Google Groups: a group that does not exist or does not take posts
     * from the sender refuses the poster, whatever the notice's language. */
    if ((find(pp, low, &fixed_nd[F_GG1]) || find(pp, low, &fixed_nd[F_GG2])) && ctx &&
        bg_host_in_domain(ctx->recipient, "googlegroups.com")) {
        *decided = true;
        return "rejected";
    }
    /* i.ua: "http://mail.i.ua/err/N/" numbers its refusals. */
    const char *iua = find(pp, low, &fixed_nd[F_IUA]);
    if (iua && isdigit((unsigned char)iua[10])) {
        static const char *const iua_reasons[] = {
            NULL,          "norelaying",  "userunknown", "suspend",
            "mailboxfull", "toomanyconn", "norelaying",  "blocked",
            "rejected",    "blocked",     "filtered",
        };
        int n = atoi(iua + 10);
        if (n > 0 && n <= 10) {
            *decided = true;
            return iua_reasons[n];
        }
    }
    const char *aup = aup_reason(pp, low);
    if (aup) {
        *decided = true;
        return aup;
    }
    /* Mimecast: by its servers' name, or by the link to its code list that
     * every one of its refusals carries (the log line and the DSN of one
     * refusal read alike, the log naming no remote host). */
    if ((ctx && bg_host_in_domain(ctx->rhost, "mimecast.com")) ||
        strstr(low, "community.mimecast.com") != NULL) {
        for (size_t i = 0; mimecast[i].phrase; i++) {
            if (strstr(low, mimecast[i].phrase)) {
                *decided = true;
                return mimecast[i].reason;
            }
        }
    }
    /* Tencent QQ (mx*.qq.com): its help page's wordings. */
    if (ctx && bg_host_in_domain(ctx->rhost, "qq.com")) {
        for (size_t i = 0; qq[i].phrase; i++) {
            if (strstr(low, qq[i].phrase)) {
                *decided = true;
                return qq[i].reason;
            }
        }
    }
    /* Gmail's "Send mail as" refused by the other account's server: the
     * sender is refused. */
    if (find(pp, low, &fixed_nd[F_SENDAS]) || find(pp, low, &fixed_nd[F_CFD])) {
        *decided = true;
        return "rejected";
    }
    if (find(pp, low, &fixed_nd[F_SES])) {
        *decided = true;
        return "norelaying";
    }
    return NULL;
}
