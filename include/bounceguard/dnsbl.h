/*
 * dnsbl — is an IP address on DNS blacklists?  Parallel DNSBL queries with
 * c-ares, and the decoding of DNSBL answers.
 *
 * A DNSBL is asked by reversing the address (octets for IPv4, nibbles for
 * IPv6) under the list's zone: 192.0.2.1 on zen.spamhaus.org is the A query
 * 1.2.0.192.zen.spamhaus.org.  NXDOMAIN (or no A record) means "not listed";
 * an A answer is a return code that this module decodes per list.  The TXT
 * record at the same name carries the list's reason; it is fetched whenever an
 * A answer came back.
 *
 * Error answers are not listings.  A list answers with a reserved code when it
 * refused the query itself, and reading that as "listed" has made other mail
 * systems refuse all their mail.  The rules (bg_dnsbl_decode()), in order:
 *
 *   answer                     meaning
 *   -------------------------  --------------------------------------------
 *   outside 127.0.0.0/8        error: a resolver that rewrites NXDOMAIN
 *                              (ISP "search" pages, captive portals)
 *   a code in the list's table as the table says (listed / error / not)
 *   127.255.255.0/24           error: query refused.  Spamhaus: .252 typo in
 *                              the zone name, .254 query through a public or
 *                              open resolver (or unattributable rDNS),
 *                              .255 too many queries; other lists follow
 *                              Spamhaus for this range
 *   127.0.0.0, 127.0.0.1       error: RFC 5782 forbids listing 127.0.0.1;
 *                              URIBL, SURBL and others answer it when they
 *                              refuse a query (public resolver, over quota)
 *   any other 127.0.0.0/8      listed, with "unknown code" if not in a table
 *
 * Several A answers: any error answer makes the whole result an error (the
 * answer cannot be trusted); else listed if any answer lists, each decoded.
 *
 * "Not listed" is believed only from a list that lists its own RFC 5782 test
 * entry, 127.0.0.2, asked at the same time: a resolver that answers NXDOMAIN
 * for everything, or a list that refuses the resolver (Spamhaus answers
 * public resolvers 127.255.255.254), would otherwise read as "not listed"
 * everywhere.  Such a list, and one that errs or times out, "cannot tell".
 *
 * Built-in lists (bg_dnsbl_known_find()) carry a name, a delisting URL, the code
 * table and whether the list answers IPv6 queries; a zone given by the
 * operator (rbl_lists, or a list file) that matches a built-in zone uses its
 * table.  Lists that do not answer IPv6 queries are skipped for an IPv6
 * address (BG_DNSBL_SKIPPED) rather than reported "not listed".
 */
#ifndef BOUNCEGUARD_DNSBL_H
#define BOUNCEGUARD_DNSBL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/config.h"
#include "bounceguard/util.h"

typedef enum bg_dnsbl_status {
    BG_DNSBL_NOT_LISTED = 0,
    BG_DNSBL_LISTED,
    BG_DNSBL_ERROR,   /* refused query, bad answer, SERVFAIL, ... */
    BG_DNSBL_TIMEOUT, /* no answer within the timeout */
    BG_DNSBL_SKIPPED, /* not asked: the list does not answer for IPv6 */
    BG_DNSBL_UNVERIFIED, /* answered "not listed" but does not list its test entry */
} bg_dnsbl_status;

/* The RFC 5782 test entry every DNSBL must list. */
#define BG_DNSBL_TEST_ENTRY "127.0.0.2"

/* "listed", "not listed", "error", "timeout", "skipped", "cannot tell". */
const char *bg_dnsbl_status_name(bg_dnsbl_status s);

/* One code of a list: answers lo..hi (host byte order) mean status. */
typedef struct bg_dnsbl_code {
    uint32_t lo, hi;
    bg_dnsbl_status status;
    const char *meaning;
} bg_dnsbl_code;

/* A built-in list (static data; never freed). */
typedef struct bg_dnsbl_known {
    const char *zone;
    const char *name;
    const char *delist_url;
    bool ipv6;                  /* answers queries for IPv6 addresses */
    bool by_default;            /* in the default set of `rbl check` */
    const bg_dnsbl_code *codes; /* terminated by an entry with meaning NULL */
} bg_dnsbl_known;

/* The built-in table: *count entries, static storage. */
const bg_dnsbl_known *bg_dnsbl_known_lists(size_t *count);

/* The built-in entry for zone (case-insensitive; a trailing dot and a
 * Spamhaus DQS key prefix "KEY.zen.dq.spamhaus.net" are understood), or NULL. */
const bg_dnsbl_known *bg_dnsbl_known_find(const char *zone);

/* The built-in list a bounce or an incident names: by its zone
 * (bg_dnsbl_known_find), its display name ("Spamhaus ZEN"), or a text that
 * holds its zone.  NULL when none. */
const bg_dnsbl_known *bg_dnsbl_known_named(const char *name);

/* A list to query, as the operator configured it. */
typedef struct bg_dnsbl_list {
    char *zone;                       /* lower case, no trailing dot */
    char *name;                       /* display name (the zone when none was given) */
    char *delist_url;                 /* NULL when unknown */
    const bg_dnsbl_known *codes_from; /* decoding table, or NULL */
    bool ipv6;                        /* query it for IPv6 addresses */
} bg_dnsbl_list;

/* An ordered set of lists.  The set owns its strings. */
typedef struct bg_dnsbl_set {
    bg_dnsbl_list *lists;
    size_t count;
} bg_dnsbl_set;

/* The default set (built-in lists marked by_default).  Never fails. */
bg_dnsbl_set *bg_dnsbl_set_default(void);

/* A set from zone names (config key rbl_lists).  An empty list gives the
 * default set.  Returns NULL with err on a malformed zone name. */
bg_dnsbl_set *bg_dnsbl_set_from_strlist(const bg_strlist *zones, bg_error *err);

/*
 * Read a list file: one list per line, `ZONE [NAME...] [codes=ZONE]
 * [delist=URL] [ipv6=yes|no]`; `#` starts a comment; blank lines are
 * ignored.  codes= decodes the answers with a built-in list's table (for
 * mirrors and test zones).  Returns NULL with err "FILE:LINE: ..." on a bad
 * line, an unreadable file or a file with no list.
 */
bg_dnsbl_set *bg_dnsbl_set_load(const char *path, bg_error *err);

/* Parse list-file text (for tests); `name` appears in error messages. */
bg_dnsbl_set *bg_dnsbl_set_parse(const char *name, const char *text, bg_error *err);

/* Free a set; returns NULL. */
bg_dnsbl_set *bg_dnsbl_set_free(bg_dnsbl_set *set);

/*
 * The pure decoder.  Decodes n A answers of the list whose table is `codes`
 * (NULL = the generic rules only), appends the meaning of each answer to
 * `meaning` ("127.0.0.2 SBL: ...; 127.0.0.4 XBL: ..."), and returns the
 * status.  n == 0 returns BG_DNSBL_NOT_LISTED with nothing appended.
 */
bg_dnsbl_status bg_dnsbl_decode(const bg_dnsbl_known *codes,
                                const struct in_addr *answers, size_t n, bg_buf *meaning);

/*
 * Build the query name for ip (an IPv4 or IPv6 address in text form) under
 * zone into dst[size].  Sets *is_v6.  Returns 0, or -1 with err on an address
 * that does not parse or a name that does not fit.
 */
int bg_dnsbl_query_name(const char *ip, const char *zone, char *dst, size_t size,
                        bool *is_v6, bg_error *err);

/* The result for one list. */
typedef struct bg_dnsbl_result {
    const bg_dnsbl_list *list; /* points into the set passed to bg_dnsbl_check() */
    bg_dnsbl_status status;
    char *answers; /* "127.0.0.2,127.0.0.4", or NULL */
    char *meaning; /* decoded codes, or NULL */
    char *txt;     /* the TXT reason (printable ASCII only), or NULL */
    char *error;   /* for ERROR / TIMEOUT / SKIPPED / UNVERIFIED: why; else NULL */
    bg_dnsbl_status test_entry; /* the list's answer for BG_DNSBL_TEST_ENTRY
                                   (NOT_LISTED when it was not asked) */
    int64_t elapsed_ms;
} bg_dnsbl_result;

typedef struct bg_dnsbl_options {
    const char *resolver; /* "IP[:PORT]", "[IPv6]:PORT"; NULL or "" = system */
    int64_t timeout_ms;   /* per list; <= 0 means 5000 */
} bg_dnsbl_options;

/*
 * Query every list of set for ip in parallel.  On success returns 0 and an
 * array of set->count results in the order of the set (*results, freed with
 * bg_dnsbl_results_free()).  Per-list failures are results, not errors; -1
 * with err only for a bad address, a bad resolver or a c-ares failure.
 * Blocks at most about timeout_ms (TXT lookups share the list's deadline).
 */
int bg_dnsbl_check(const bg_dnsbl_set *set, const char *ip, const bg_dnsbl_options *opt,
                   bg_dnsbl_result **results, bg_error *err);

/*
 * The pure rule: a list's status for the address, given its status for the
 * test entry.  "Not listed" stands only when the test entry is listed; else
 * BG_DNSBL_UNVERIFIED.  Other statuses are returned as they are.
 */
bg_dnsbl_status bg_dnsbl_verify(bg_dnsbl_status status, bg_dnsbl_status test_entry);

/* Does this status leave the question open (error, timeout, unverified)? */
bool bg_dnsbl_cannot_tell(bg_dnsbl_status s);

typedef enum bg_dnsbl_verdict {
    BG_DNSBL_VERDICT_NOT_LISTED,  /* every list asked answered, none lists it */
    BG_DNSBL_VERDICT_LISTED,      /* at least one list lists it */
    BG_DNSBL_VERDICT_CANNOT_TELL, /* none lists it, but some list could not tell
                                     (or no list was asked) */
} bg_dnsbl_verdict;

typedef struct bg_dnsbl_summary {
    size_t asked, listed, not_listed, cannot_tell, skipped;
    size_t unverified; /* of cannot_tell: test entry not listed */
    size_t refused;    /* of cannot_tell: the list refused the query */
} bg_dnsbl_summary;

/* Count n results into *sum and say what they add up to. */
bg_dnsbl_verdict bg_dnsbl_summarize(const bg_dnsbl_result *r, size_t n, bg_dnsbl_summary *sum);

/* Free n results; returns NULL. */
bg_dnsbl_result *bg_dnsbl_results_free(bg_dnsbl_result *results, size_t n);

#endif
