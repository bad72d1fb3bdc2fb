/*
 * dnsbl — DNSBL lists, answer decoding and parallel queries with c-ares.
 * See include/bounceguard/dnsbl.h for the contract and the decoding rules.
 */
#include "bounceguard/dnsbl.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))
/* clang-format off */
#define ONE(a, st, m) {IP4(127, 0, 0, a), IP4(127, 0, 0, a), st, m}
#define END {0, 0, BG_DNSBL_NOT_LISTED, NULL}
/* clang-format on */
#define L BG_DNSBL_LISTED
#define E BG_DNSBL_ERROR
#define N BG_DNSBL_NOT_LISTED

/* Longest TXT reason kept, and most A answers read per list. */
#define TXT_MAX 400
#define ANSWERS_MAX 16

static const bg_dnsbl_code spamhaus_zen[] = {
    ONE(2, L, "SBL: Spamhaus Block List, a known spam source or operation"),
    ONE(3, L, "SBL CSS: snowshoe or low-reputation bulk sending"),
    {IP4(127, 0, 0, 4), IP4(127, 0, 0, 7), L,
     "XBL: exploited host (CBL: malware, botnet, open proxy)"},
    ONE(9, L, "DROP/EDROP: hijacked or criminal netblock"),
    ONE(10, L, "PBL (ISP): end-user address that should not send mail directly"),
    ONE(11, L, "PBL (Spamhaus): end-user address that should not send mail directly"),
    {IP4(127, 255, 255, 252), IP4(127, 255, 255, 252), E,
     "query refused: typing error in the DNSBL name"},
    {IP4(127, 255, 255, 254), IP4(127, 255, 255, 254), E,
     "query refused: public/open resolver or unattributable rDNS (use your own "
     "resolver or Spamhaus DQS)"},
    {IP4(127, 255, 255, 255), IP4(127, 255, 255, 255), E,
     "query refused: excessive number of queries"},
    END,
};

static const bg_dnsbl_code single_2[] = {
    ONE(2, L, "listed"),
    END,
};

static const bg_dnsbl_code spamcop[] = {
    ONE(2, L,
        "reported as a spam source by SpamCop users (expires 24h after the last report)"),
    END,
};

static const bg_dnsbl_code barracuda[] = {
    ONE(2, L, "listed in the Barracuda Reputation Block List"),
    END,
};

static const bg_dnsbl_code psbl[] = {
    ONE(2, L, "sent mail to PSBL spam traps"),
    END,
};

static const bg_dnsbl_code uceprotect[] = {
    ONE(2, L, "listed by UCEPROTECT (spam traps, or collateral at levels 2 and 3)"),
    END,
};

static const bg_dnsbl_code mailspike[] = {
    ONE(2, L, "MBL: listed (worst reputation)"),
    ONE(10, L, "reputation L5: worst"),
    ONE(11, L, "reputation L4: very bad"),
    ONE(12, L, "reputation L3: bad"),
    ONE(13, L, "reputation L2: suspicious"),
    ONE(14, L, "reputation L1: slightly bad"),
    {IP4(127, 0, 0, 15), IP4(127, 0, 0, 20), N, "neutral or good reputation (H0-H5)"},
    END,
};

static const bg_dnsbl_code spamrats[] = {
    ONE(36, L, "RATS-Dyna: dynamic or generic reverse DNS"),
    ONE(37, L, "RATS-NoPtr: no reverse DNS"),
    ONE(38, L, "RATS-Spam: spam source"),
    ONE(43, L, "RATS-Auth: SMTP authentication attacks"),
    END,
};

static const bg_dnsbl_code dronebl[] = {
    ONE(3, L, "IRC drone"),
    ONE(5, L, "bottler"),
    ONE(6, L, "unknown spambot or drone"),
    ONE(7, L, "DDoS drone"),
    ONE(8, L, "SOCKS proxy"),
    ONE(9, L, "HTTP proxy"),
    ONE(10, L, "proxy chain"),
    ONE(11, L, "web page proxy"),
    ONE(12, L, "open DNS resolver"),
    ONE(13, L, "brute force attacker"),
    ONE(14, L, "open Wingate proxy"),
    ONE(15, L, "compromised router or gateway"),
    ONE(16, L, "autorooting worm"),
    ONE(17, L, "automatically detected botnet address"),
    ONE(18, L, "DNS/MX type host name detected"),
    ONE(19, L, "abused VPN service"),
    ONE(255, L, "uncategorised"),
    END,
};

static const bg_dnsbl_code sorbs[] = {
    ONE(2, L, "HTTP proxy"),
    ONE(3, L, "SOCKS proxy"),
    ONE(4, L, "misc proxy"),
    ONE(5, L, "open SMTP relay"),
    ONE(6, L, "spam source"),
    ONE(7, L, "vulnerable web server"),
    ONE(8, L, "BLOCK: the network owner asked not to be tested"),
    ONE(9, L, "zombie: hijacked network"),
    ONE(10, L, "DUL: dynamic address"),
    ONE(11, L, "BADCONF: bad mail server configuration"),
    ONE(12, L, "NOMAIL: the domain sends no mail"),
    ONE(14, L, "NOSERVER: address should not run a mail server"),
    END,
};

/* The built-in lists; by_default ones form the default set of `rbl check`. */
static const bg_dnsbl_known known[] = {
    {"zen.spamhaus.org", "Spamhaus ZEN", "https://check.spamhaus.org/", true, true,
     spamhaus_zen},
    {"b.barracudacentral.org", "Barracuda BRBL",
     "https://www.barracudacentral.org/rbl/removal-request", false, true, barracuda},
    {"bl.spamcop.net", "SpamCop", "https://www.spamcop.net/bl.shtml", false, true,
     spamcop},
    {"dnsbl-1.uceprotect.net", "UCEPROTECT level 1",
     "https://www.uceprotect.net/en/rblcheck.php", false, true, uceprotect},
    {"psbl.surriel.com", "PSBL", "https://psbl.org/", false, true, psbl},
    {"bl.mailspike.net", "Mailspike", "https://mailspike.org/iplookup.html", false, true,
     mailspike},
    {"all.s5h.net", "s5h", "https://www.usenix.org.uk/content/rbl.html", false, true,
     single_2},
    {"all.spamrats.com", "SpamRATS", "https://www.spamrats.com/removal.php", false, true,
     spamrats},
    {"ix.dnsbl.manitu.net", "NiX Spam", "https://www.nixspam.net/", false, true,
     single_2},
    {"dnsbl.dronebl.org", "DroneBL", "https://dronebl.org/lookup", true, true, dronebl},
    /* Not asked by default: collateral listings, or a closed service. */
    {"dnsbl-2.uceprotect.net", "UCEPROTECT level 2",
     "https://www.uceprotect.net/en/rblcheck.php", false, false, uceprotect},
    {"dnsbl-3.uceprotect.net", "UCEPROTECT level 3",
     "https://www.uceprotect.net/en/rblcheck.php", false, false, uceprotect},
    {"rep.mailspike.net", "Mailspike reputation", "https://mailspike.org/iplookup.html",
     false, false, mailspike},
    {"dnsbl.sorbs.net", "SORBS (closed 2024)", NULL, false, false, sorbs},
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

const char *
bg_dnsbl_status_name(bg_dnsbl_status s)
{
    static const char *const names[] = {
        [BG_DNSBL_NOT_LISTED] = "not listed", [BG_DNSBL_LISTED] = "listed",
        [BG_DNSBL_ERROR] = "error",           [BG_DNSBL_TIMEOUT] = "timeout",
        [BG_DNSBL_SKIPPED] = "skipped",       [BG_DNSBL_UNVERIFIED] = "cannot tell",
    };

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const bg_dnsbl_known *
bg_dnsbl_known_lists(size_t *count)
{
    *count = NKNOWN;
    return known;
}

const bg_dnsbl_known *
bg_dnsbl_known_find(const char *zone)
{
    size_t n = strlen(zone);
    static const char dqs[] = ".zen.dq.spamhaus.net";

    if (n > 0 && zone[n - 1] == '.')
        n--;
    for (size_t i = 0; i < NKNOWN; i++)
        if (strlen(known[i].zone) == n && strncasecmp(known[i].zone, zone, n) == 0)
            return &known[i];
    /* Spamhaus DQS: KEY.zen.dq.spamhaus.net answers like zen.spamhaus.org. */
    if (n > sizeof(dqs) - 1 &&
        strncasecmp(zone + n - (sizeof(dqs) - 1), dqs, sizeof(dqs) - 1) == 0)
        return &known[0];
    return NULL;
}

const bg_dnsbl_known *
bg_dnsbl_known_named(const char *name)
{
    const bg_dnsbl_known *k = bg_dnsbl_known_find(name);
    size_t n;

    if (k)
        return k;
    k = bg_dnsbl_known_lists(&n);
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(k[i].name, name) == 0 || strcasestr(name, k[i].zone) != NULL)
            return &k[i];
    return NULL;
}

/* ---- the pure decoder ------------------------------------------------- */

static bg_dnsbl_status
decode_one(const bg_dnsbl_known *k, uint32_t a, const char **meaning)
{
    if ((a >> 24) != 127) {
        *meaning = "answer outside 127.0.0.0/8: the resolver rewrites NXDOMAIN";
        return BG_DNSBL_ERROR;
    }
    for (const bg_dnsbl_code *c = k ? k->codes : NULL; c && c->meaning; c++)
        if (a >= c->lo && a <= c->hi) {
            *meaning = c->meaning;
            return c->status;
        }
    if ((a & 0xffffff00u) == IP4(127, 255, 255, 0)) {
        *meaning = "query refused (127.255.255.0/24 is reserved for errors)";
        return BG_DNSBL_ERROR;
    }
    if (a == IP4(127, 0, 0, 1) || a == IP4(127, 0, 0, 0)) {
        *meaning = "query refused (127.0.0.0/127.0.0.1 is never a listing, RFC 5782)";
        return BG_DNSBL_ERROR;
    }
    *meaning = "listed (unknown code)";
    return BG_DNSBL_LISTED;
}

bg_dnsbl_status
bg_dnsbl_decode(const bg_dnsbl_known *codes, const struct in_addr *answers, size_t n,
                bg_buf *meaning)
{
    bool listed = false, error = false;

    for (size_t i = 0; i < n; i++) {
        uint32_t a = ntohl(answers[i].s_addr);
        const char *m = NULL;
        char ip[INET_ADDRSTRLEN];
        bg_dnsbl_status st = decode_one(codes, a, &m);

        if (st == BG_DNSBL_LISTED)
            listed = true;
        else if (st == BG_DNSBL_ERROR)
            error = true;
        inet_ntop(AF_INET, &answers[i], ip, sizeof(ip));
        if (meaning) {
            if (i > 0)
                bg_buf_puts(meaning, "; ");
            bg_buf_printf(meaning, "%s %s", ip, m);
        }
    }
    if (error)
        return BG_DNSBL_ERROR;
    return listed ? BG_DNSBL_LISTED : BG_DNSBL_NOT_LISTED;
}

bg_dnsbl_status
bg_dnsbl_verify(bg_dnsbl_status status, bg_dnsbl_status test_entry)
{
    /* A listing stands on its own: a list that answers nothing lists nothing.
     * An error or a timeout is already "cannot tell". */
    if (status != BG_DNSBL_NOT_LISTED)
        return status;
    return test_entry == BG_DNSBL_LISTED ? BG_DNSBL_NOT_LISTED : BG_DNSBL_UNVERIFIED;
}

bool
bg_dnsbl_cannot_tell(bg_dnsbl_status s)
{
    return s == BG_DNSBL_ERROR || s == BG_DNSBL_TIMEOUT || s == BG_DNSBL_UNVERIFIED;
}

bg_dnsbl_verdict
bg_dnsbl_summarize(const bg_dnsbl_result *r, size_t n, bg_dnsbl_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t i = 0; i < n; i++) {
        if (r[i].status == BG_DNSBL_SKIPPED) {
            sum->skipped++;
            continue;
        }
        sum->asked++;
        if (r[i].status == BG_DNSBL_LISTED)
            sum->listed++;
        else if (r[i].status == BG_DNSBL_NOT_LISTED)
            sum->not_listed++;
        else
            sum->cannot_tell++;
        sum->unverified += r[i].status == BG_DNSBL_UNVERIFIED;
        sum->refused += r[i].status == BG_DNSBL_ERROR && r[i].meaning &&
                        strstr(r[i].meaning, "refused") != NULL;
    }
    if (sum->listed)
        return BG_DNSBL_VERDICT_LISTED;
    if (sum->cannot_tell || sum->asked == 0)
        return BG_DNSBL_VERDICT_CANNOT_TELL;
    return BG_DNSBL_VERDICT_NOT_LISTED;
}

int
bg_dnsbl_query_name(const char *ip, const char *zone, char *dst, size_t size, bool *is_v6,
                    bg_error *err)
{
    unsigned char a[16];
    bg_buf b = BG_BUF_INIT;

    if (inet_pton(AF_INET, ip, a) == 1) {
        *is_v6 = false;
        bg_buf_printf(&b, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        static const char hex[] = "0123456789abcdef";
        *is_v6 = true;
        for (int i = 15; i >= 0; i--) {
            bg_buf_putc(&b, hex[a[i] & 0xf]);
            bg_buf_putc(&b, '.');
            bg_buf_putc(&b, hex[a[i] >> 4]);
            bg_buf_putc(&b, '.');
        }
        bg_buf_puts(&b, zone);
    } else {
        char safe[64];
        return bg_error_set(err, "not an IPv4 or IPv6 address: %s",
                            bg_sanitize_line(safe, sizeof(safe), ip, 46));
    }
    if (b.len >= size || b.len > 253) {
        bg_buf_free(&b);
        return bg_error_set(err, "query name too long for zone %s", zone);
    }
    memcpy(dst, bg_buf_str(&b), b.len + 1);
    bg_buf_free(&b);
    return 0;
}

/* ---- sets of lists ---------------------------------------------------- */

/* Printable ASCII only: DNS text goes to terminals and JSON. */
static void
append_printable(bg_buf *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n && b->len < TXT_MAX; i++)
        bg_buf_putc(b, (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?');
}

static bool
zone_valid(const char *z)
{
    size_t n = strlen(z), label = 0;

    if (n == 0 || n > 180)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)z[i];
        if (c == '.') {
            if (label == 0 && i != n - 1)
                return false;
            label = 0;
        } else if (isalnum(c) || c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return z[0] != '.';
}

static void
set_add(bg_dnsbl_set *set, const char *zone, const char *name, const char *delist,
        const bg_dnsbl_known *codes_from, int ipv6)
{
    bg_dnsbl_list *l;
    const bg_dnsbl_known *k = bg_dnsbl_known_find(zone);
    size_t n = strlen(zone);

    if (codes_from == NULL)
        codes_from = k;
    set->lists = bg_xrealloc(set->lists, (set->count + 1) * sizeof(*set->lists));
    l = &set->lists[set->count++];
    if (n > 0 && zone[n - 1] == '.')
        n--;
    l->zone = bg_ascii_lower(bg_xstrndup(zone, n));
    if (name && *name)
        l->name = bg_xstrdup(name);
    else if (k)
        l->name = bg_xstrdup(k->name);
    else
        l->name = bg_xstrdup(l->zone);
    if (delist && *delist)
        l->delist_url = bg_xstrdup(delist);
    else
        l->delist_url = (k && k->delist_url) ? bg_xstrdup(k->delist_url) : NULL;
    l->codes_from = codes_from;
    /* Unknown zones are asked for IPv6 too: the operator chose them. */
    l->ipv6 = ipv6 >= 0 ? ipv6 != 0 : (k ? k->ipv6 : true);
}

bg_dnsbl_set *
bg_dnsbl_set_default(void)
{
    bg_dnsbl_set *set = bg_xcalloc(1, sizeof(*set));

    for (size_t i = 0; i < NKNOWN; i++)
        if (known[i].by_default)
            set_add(set, known[i].zone, NULL, NULL, NULL, -1);
    return set;
}

bg_dnsbl_set *
bg_dnsbl_set_from_strlist(const bg_strlist *zones, bg_error *err)
{
    bg_dnsbl_set *set;

    if (zones == NULL || zones->count == 0)
        return bg_dnsbl_set_default();
    set = bg_xcalloc(1, sizeof(*set));
    for (size_t i = 0; i < zones->count; i++) {
        if (!zone_valid(zones->items[i])) {
            char safe[200];
            bg_error_set(err, "rbl_lists: not a DNS zone: %s",
                         bg_sanitize_line(safe, sizeof(safe), zones->items[i], 180));
            return bg_dnsbl_set_free(set);
        }
        set_add(set, zones->items[i], NULL, NULL, NULL, -1);
    }
    return set;
}

/* One line of a list file; returns 0, or -1 with err. */
static int
parse_line(bg_dnsbl_set *set, const char *name, int lineno, char *line, bg_error *err)
{
    char *save = NULL, *tok, *zone = NULL, *delist = NULL;
    const bg_dnsbl_known *codes = NULL;
    bg_buf disp = BG_BUF_INIT;
    int ipv6 = -1, rc = 0;

    for (tok = strtok_r(line, " \t\r", &save); tok;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (zone == NULL) {
            zone = tok;
            if (!zone_valid(zone)) {
                rc = bg_error_set(err, "%s:%d: not a DNS zone: %.100s", name, lineno,
                                  zone);
                break;
            }
        } else if (strncmp(tok, "codes=", 6) == 0) {
            if ((codes = bg_dnsbl_known_find(tok + 6)) == NULL) {
                rc = bg_error_set(err, "%s:%d: codes=%.100s is not a built-in list", name,
                                  lineno, tok + 6);
                break;
            }
        } else if (strncmp(tok, "delist=", 7) == 0) {
            delist = tok + 7;
        } else if (strcmp(tok, "ipv6=yes") == 0 || strcmp(tok, "ipv6=no") == 0) {
            ipv6 = tok[5] == 'y';
        } else if (strchr(tok, '=') != NULL) {
            rc = bg_error_set(err, "%s:%d: unknown option %.100s", name, lineno, tok);
            break;
        } else {
            if (disp.len > 0)
                bg_buf_putc(&disp, ' ');
            bg_buf_puts(&disp, tok);
        }
    }
    if (rc == 0 && zone != NULL) {
        bg_buf safe_name = BG_BUF_INIT, safe_url = BG_BUF_INIT;
        append_printable(&safe_name, (const unsigned char *)bg_buf_str(&disp), disp.len);
        if (delist)
            append_printable(&safe_url, (const unsigned char *)delist, strlen(delist));
        set_add(set, zone, bg_buf_str(&safe_name), delist ? bg_buf_str(&safe_url) : NULL,
                codes, ipv6);
        bg_buf_free(&safe_name);
        bg_buf_free(&safe_url);
    }
    bg_buf_free(&disp);
    return rc;
}

bg_dnsbl_set *
bg_dnsbl_set_parse(const char *name, const char *text, bg_error *err)
{
    bg_dnsbl_set *set = bg_xcalloc(1, sizeof(*set));
    const char *p = text;
    int lineno = 0;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = bg_xstrndup(p, len), *hash = strchr(line, '#');
        int rc;

        lineno++;
        if (hash)
            *hash = '\0';
        rc = parse_line(set, name, lineno, line, err);
        free(line);
        if (rc < 0)
            return bg_dnsbl_set_free(set);
        p += len + (nl != NULL);
    }
    if (set->count == 0) {
        bg_error_set(err, "%s: no DNSBL zone in the file", name);
        return bg_dnsbl_set_free(set);
    }
    return set;
}

bg_dnsbl_set *
bg_dnsbl_set_load(const char *path, bg_error *err)
{
    bg_buf text = BG_BUF_INIT;
    bg_dnsbl_set *set;

    if (bg_read_text_file(path, 1024 * 1024, &text) < 0) {
        int e = errno;

        bg_buf_free(&text);
        return bg_error_set(err, "%s: %s", path,
                            e == EFBIG    ? "too large for a list file"
                            : e == EILSEQ ? "binary file"
                                          : strerror(e)),
               NULL;
    }
    set = bg_dnsbl_set_parse(path, bg_buf_str(&text), err);
    bg_buf_free(&text);
    return set;
}

bg_dnsbl_set *
bg_dnsbl_set_free(bg_dnsbl_set *set)
{
    if (set == NULL)
        return NULL;
    for (size_t i = 0; i < set->count; i++) {
        free(set->lists[i].zone);
        free(set->lists[i].name);
        free(set->lists[i].delist_url);
    }
    free(set->lists);
    free(set);
    return NULL;
}

bg_dnsbl_result *
bg_dnsbl_results_free(bg_dnsbl_result *results, size_t n)
{
    if (results == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        free(results[i].answers);
        free(results[i].meaning);
        free(results[i].txt);
        free(results[i].error);
    }
    free(results);
    return NULL;
}

/* ---- the queries ------------------------------------------------------ */

typedef struct query_state {
    ares_channel channel;
    int pending;
    int64_t start_ms;
} query_state;

typedef struct list_query {
    query_state *st;
    bg_dnsbl_result *r;
    bool test_entry; /* the RFC 5782 test entry: no TXT wanted */
    char name[300];
} list_query;

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status = ARES_SUCCESS;

static void
ares_init_once(void)
{
    ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void
txt_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    list_query *q = arg;
    struct ares_txt_ext *txt = NULL;
    bg_buf b = BG_BUF_INIT;

    q->st->pending--;
    if (status != ARES_SUCCESS ||
        ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
        return;
    for (struct ares_txt_ext *t = txt; t; t = t->next) {
        if (t->record_start && b.len > 0)
            bg_buf_puts(&b, " | ");
        append_printable(&b, t->txt, t->length);
    }
    ares_free_data(txt);
    if (b.len > 0)
        q->r->txt = bg_buf_steal(&b);
    bg_buf_free(&b);
}

static void
a_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    list_query *q = arg;
    bg_dnsbl_result *r = q->r;
    struct ares_addrttl at[ANSWERS_MAX];
    struct in_addr addrs[ANSWERS_MAX];
    int n = ANSWERS_MAX;
    bg_buf m = BG_BUF_INIT, ans = BG_BUF_INIT;

    q->st->pending--;
    r->elapsed_ms = bg_monotonic_ms() - q->st->start_ms;
    if (status == ARES_SUCCESS)
        status = ares_parse_a_reply(abuf, alen, NULL, at, &n);
    switch (status) {
    case ARES_SUCCESS:
        break;
    case ARES_ENOTFOUND: /* NXDOMAIN */
    case ARES_ENODATA:   /* the name exists, with no A record */
        r->status = BG_DNSBL_NOT_LISTED;
        return;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        r->status = BG_DNSBL_TIMEOUT;
        r->error = bg_xstrdup("no answer within the timeout");
        return;
    default:
        r->status = BG_DNSBL_ERROR;
        r->error = bg_xasprintf("DNS error: %s", ares_strerror(status));
        return;
    }
    for (int i = 0; i < n; i++) {
        char ip[INET_ADDRSTRLEN];
        addrs[i] = at[i].ipaddr;
        inet_ntop(AF_INET, &addrs[i], ip, sizeof(ip));
        bg_buf_printf(&ans, "%s%s", i ? "," : "", ip);
    }
    r->status = bg_dnsbl_decode(r->list->codes_from, addrs, (size_t)n, &m);
    r->answers = bg_buf_steal(&ans);
    r->meaning = bg_buf_steal(&m);
    if (r->status == BG_DNSBL_ERROR)
        r->error =
            bg_xstrdup("the list refused the query or the answer is not a DNSBL code");
    bg_buf_free(&ans);
    bg_buf_free(&m);
    if (n > 0 && !q->test_entry) {
        q->st->pending++;
        ares_query(q->st->channel, q->name, ns_c_in, ns_t_txt, txt_done, q);
    }
}

/* "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address. */
static bool
resolver_valid(const char *s)
{
    unsigned char a[16];
    char host[INET6_ADDRSTRLEN + 2];
    const char *port = NULL;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (size_t)(close - s - 1) >= sizeof(host))
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, host, a) != 1)
            return false;
        if (close[1] == '\0')
            return true;
        if (close[1] != ':')
            return false;
        port = close + 2;
    } else if (inet_pton(AF_INET6, s, a) == 1 || inet_pton(AF_INET, s, a) == 1) {
        return true;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (inet_pton(AF_INET, host, a) != 1)
            return false;
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    return *port && *end == '\0' && p > 0 && p <= 65535;
}

/* Drive the channel until every query is answered or the deadline passed. */
static void
run_loop(query_state *st, int64_t deadline)
{
    int cancels = 0;

    while (st->pending > 0) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        struct timeval maxtv, tv, *tvp;
        int64_t now = bg_monotonic_ms(), wait;
        int bits, nfd = 0;

        if (now >= deadline) {
            if (++cancels > 3)
                break;
            ares_cancel(st->channel); /* callbacks report TIMEOUT */
            continue;
        }
        bits = ares_getsock(st->channel, socks, ARES_GETSOCK_MAXNUM);
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            /* c-ares's own ARES_GETSOCK_* macros shift a signed 1 into the
             * sign bit (undefined behaviour for the 16th socket). */
            if ((unsigned)bits & (1u << i))
                ev |= POLLIN;
            if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
                ev |= POLLOUT;
            if (ev) {
                pfd[nfd].fd = socks[i];
                pfd[nfd].events = ev;
                pfd[nfd].revents = 0;
                nfd++;
            }
        }
        maxtv.tv_sec = (deadline - now) / 1000;
        maxtv.tv_usec = ((deadline - now) % 1000) * 1000;
        tvp = ares_timeout(st->channel, &maxtv, &tv);
        wait = (int64_t)tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1;
        if (poll(pfd, (nfds_t)nfd, (int)wait) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < nfd; i++) {
            if (pfd[i].revents == 0)
                continue;
            ares_process_fd(st->channel,
                            (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
                                ? pfd[i].fd
                                : ARES_SOCKET_BAD,
                            (pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
        }
        ares_process_fd(st->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
    }
}

int
bg_dnsbl_check(const bg_dnsbl_set *set, const char *ip, const bg_dnsbl_options *opt,
               bg_dnsbl_result **results, bg_error *err)
{
    struct ares_options ao;
    query_state st = {0};
    list_query *qs;
    bg_dnsbl_result *rs, *tests;
    int64_t timeout = (opt && opt->timeout_ms > 0) ? opt->timeout_ms : 5000;
    const char *resolver = opt ? opt->resolver : NULL;
    char probe[300];
    bool v6 = false; /* set by bg_dnsbl_query_name; clang-analyzer cannot see it */
    int rc;

    *results = NULL;
    if (bg_dnsbl_query_name(ip, "x", probe, sizeof(probe), &v6, err) < 0)
        return -1;
    if (resolver && *resolver && !resolver_valid(resolver)) {
        char safe[80];
        return bg_error_set(err, "resolver must be IP[:PORT] or [IPv6]:PORT, not %s",
                            bg_sanitize_line(safe, sizeof(safe), resolver, 70));
    }
    pthread_once(&ares_once, ares_init_once);
    if (ares_init_status != ARES_SUCCESS)
        return bg_error_set(err, "c-ares: %s", ares_strerror(ares_init_status));

    memset(&ao, 0, sizeof(ao));
    /* Three tries (c-ares doubles the wait of each), within the deadline. */
    ao.timeout = (int)(timeout / 4 > 200 ? timeout / 4 : 200);
    ao.tries = 3;
    /* NOCHECKRESP: report REFUSED and SERVFAIL as they are (a list that
     * refuses us is an error to show, not a server to skip silently). */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    rc = ares_init_options(&st.channel, &ao,
                           ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
    if (rc != ARES_SUCCESS)
        return bg_error_set(err, "c-ares: %s", ares_strerror(rc));
    if (resolver && *resolver &&
        (rc = ares_set_servers_ports_csv(st.channel, resolver)) != ARES_SUCCESS) {
        ares_destroy(st.channel);
        return bg_error_set(err, "resolver %s: %s", resolver, ares_strerror(rc));
    }

    rs = bg_xcalloc(set->count ? set->count : 1, sizeof(*rs));
    tests = bg_xcalloc(set->count ? set->count : 1, sizeof(*tests));
    qs = bg_xcalloc(set->count ? 2 * set->count : 1, sizeof(*qs));
    st.start_ms = bg_monotonic_ms();
    for (size_t i = 0; i < set->count; i++) {
        bg_error qerr;
        rs[i].list = &set->lists[i];
        qs[i].st = &st;
        qs[i].r = &rs[i];
        if (v6 && !set->lists[i].ipv6) {
            rs[i].status = BG_DNSBL_SKIPPED;
            rs[i].error = bg_xstrdup("the list does not answer for IPv6 addresses");
            continue;
        }
        if (bg_dnsbl_query_name(ip, set->lists[i].zone, qs[i].name, sizeof(qs[i].name),
                                &v6, &qerr) < 0) {
            rs[i].status = BG_DNSBL_ERROR;
            rs[i].error = bg_xstrdup(qerr.msg);
            continue;
        }
        st.pending++;
        ares_query(st.channel, qs[i].name, ns_c_in, ns_t_a, a_done, &qs[i]);
        /* The same list asked for its test entry at the same time: a list
         * that does not answer it cannot say "not listed" either. */
        list_query *tq = &qs[set->count + i];
        bool tv6;
        tests[i].list = &set->lists[i];
        tq->st = &st;
        tq->r = &tests[i];
        tq->test_entry = true;
        if (bg_dnsbl_query_name(BG_DNSBL_TEST_ENTRY, set->lists[i].zone, tq->name,
                                sizeof(tq->name), &tv6, &qerr) < 0) {
            tests[i].status = BG_DNSBL_ERROR;
            continue;
        }
        st.pending++;
        ares_query(st.channel, tq->name, ns_c_in, ns_t_a, a_done, tq);
    }
    run_loop(&st, st.start_ms + timeout);
    ares_destroy(st.channel); /* runs what is left over with ARES_EDESTRUCTION */
    for (size_t i = 0; i < set->count; i++) {
        if (rs[i].status == BG_DNSBL_SKIPPED || tests[i].list == NULL)
            continue;
        rs[i].test_entry = tests[i].status;
        rs[i].status = bg_dnsbl_verify(rs[i].status, tests[i].status);
        if (rs[i].status == BG_DNSBL_UNVERIFIED)
            rs[i].error = tests[i].answers
                              ? bg_xasprintf("its test entry " BG_DNSBL_TEST_ENTRY
                                             " answered %s: the list refuses this resolver",
                                             tests[i].meaning ? tests[i].meaning
                                                              : tests[i].answers)
                          : tests[i].status == BG_DNSBL_TIMEOUT
                              ? bg_xstrdup("its test entry " BG_DNSBL_TEST_ENTRY
                                           " got no answer in time")
                              : bg_xstrdup("its test entry " BG_DNSBL_TEST_ENTRY
                                           " is not listed: the list is not answering "
                                           "(resolver refused, or not a DNSBL)");
    }
    bg_dnsbl_results_free(tests, set->count);
    free(qs);
    *results = rs;
    return 0;
}
