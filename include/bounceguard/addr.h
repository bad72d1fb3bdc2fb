/*
 * addr — envelope addresses: parse, normalise, validate (RFC 5321/5322, IDN).
 *
 * The canonical form is the key under which the store files an address:
 *   - angle brackets, surrounding blanks and an RFC 5321 source route
 *     ("<@a,@b:user@dom>") are removed;
 *   - the domain is lower-cased and IDN U-labels are converted to A-labels
 *     (müller.de -> xn--mller-kva.de), so both spellings are one key;
 *   - the local part is lower-cased (mail administrators expect John@ and
 *     john@ to be one recipient) and unquoted when quoting is unnecessary
 *     ("john"@x -> john@x); a quoted local part that needs its quotes keeps them;
 *   - address literals ([192.0.2.1], [IPv6:...]) are kept, after inet_pton
 *     has validated them, in one spelling: the tag "IPv6:" and the address as
 *     inet_ntop writes it (RFC 5952 compressed, lower-case hex);
 *   - SMTPUTF8 local parts (valid UTF-8, no C1 controls) are accepted; only
 *     their ASCII letters are lower-cased.
 * Not accepted: "<>" without brackets, a bare "postmaster" without a domain,
 * a trailing dot in the domain, a numeric last label (use [brackets]), the
 * general address literal "[tag:...]".
 * Limits of RFC 5321 4.5.3.1: local part 64 octets, domain 255, path 256.
 */
#ifndef BOUNCEGUARD_ADDR_H
#define BOUNCEGUARD_ADDR_H

#include <stdbool.h>

#include "bounceguard/util.h"

#define BG_ADDR_MAX 256 /* RFC 5321 path limit incl. brackets: enough for the form */

typedef enum bg_addr_status {
    BG_ADDR_OK = 0,
    BG_ADDR_NULL,        /* "<>": the null reverse-path (bounces); valid for MAIL FROM */
    BG_ADDR_BAD_SYNTAX,  /* not an address -> 5.1.3 */
    BG_ADDR_TOO_LONG,    /* over an RFC 5321 limit -> 5.1.3 */
    BG_ADDR_BAD_DOMAIN,  /* domain syntax (labels, hyphens, IDN) wrong -> 5.1.2 */
    BG_ADDR_UNKNOWN_TLD, /* syntactically fine, TLD does not exist -> 5.1.2 */
} bg_addr_status;

typedef struct bg_addr {
    char canon[BG_ADDR_MAX + 1];  /* local@domain, canonical (see above) */
    char local[65];               /* canonical local part */
    char domain[256];             /* canonical domain (A-labels), "" for NULL */
    bool is_literal;              /* domain is an address literal */
} bg_addr;

/*
 * Parse an envelope address as it comes from MAIL FROM / RCPT TO (with or
 * without angle brackets) or from a DSN field.  Checks syntax and lengths but
 * not the TLD.  Returns BG_ADDR_OK or BG_ADDR_NULL with *out filled, or another
 * status with err naming the problem in one line.
 */
bg_addr_status bg_addr_parse(const char *in, bg_addr *out, bg_error *err);

/*
 * Does the TLD of a parsed address exist?  Uses libpsl (the Public Suffix
 * List of the system, /usr/share/publicsuffix, or libpsl's built-in copy),
 * never a hand-kept list.  Address literals always pass.  Thread-safe.
 * Returns BG_ADDR_OK or BG_ADDR_UNKNOWN_TLD (with err set).
 */
bg_addr_status bg_addr_check_tld(const bg_addr *a, bg_error *err);

/* parse + TLD check in one call: what RCPT TO needs. */
bg_addr_status bg_addr_validate(const char *in, bg_addr *out, bg_error *err);

/* The enhanced status code (RFC 3463) for a refused status: "5.1.3" for
 * syntax and length, "5.1.2" for domain and TLD problems. */
const char *bg_addr_status_code(bg_addr_status st);

/* Short name for logs and JSON: "ok", "null", "bad-syntax", ... */
const char *bg_addr_status_name(bg_addr_status st);

#endif
