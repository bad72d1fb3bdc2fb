/*
 * spf — SPF (RFC 7208) for a (client IP, HELO name, envelope sender), a thin
 * wrapper over libspf2.  Used to trust a bounce by the host that reported it
 * (dsn_trust = spf).
 *
 * One libspf2 server (with its DNS cache layer) is made on first use and
 * shared by all threads; each check makes its own request and response, so
 * bg_spf_check() is thread-safe.  libspf2's warnings and debug lines go to
 * the bounceguard log (debug level), never to stdout/stderr.
 *
 * DNS: libspf2 asks the system resolver.  It keeps a private res_state per
 * thread, made by res_ninit() from /etc/resolv.conf, so neither a port nor
 * _res.nsaddr_list set by the caller reach it: a resolver setting in this
 * module could not work and there is none.  The integration test
 * (tests/integration/spf_dns.sh) therefore runs dnsmasq on a free 127.x.y.z
 * address, port 53, and the checker (tests/tools/spf_check) in a private
 * mount namespace (unshare -m) whose /etc/resolv.conf names that address.
 */
#ifndef BOUNCEGUARD_SPF_H
#define BOUNCEGUARD_SPF_H

#include "bounceguard/util.h"

typedef enum bg_spf_result {
    BG_SPF_NONE = 0,  /* no SPF record (or no domain to check) */
    BG_SPF_NEUTRAL,   /* ?all: the domain says nothing */
    BG_SPF_PASS,      /* the client may send for the domain */
    BG_SPF_FAIL,      /* -all: it may not */
    BG_SPF_SOFTFAIL,  /* ~all: probably not */
    BG_SPF_TEMPERROR, /* DNS failed (timeout, SERVFAIL): try again later */
    BG_SPF_PERMERROR, /* the record is broken, or the arguments were unusable */
} bg_spf_result;

/*
 * Check SPF for a client.  client_ip: IPv4 or IPv6 address text (required).
 * helo: the HELO/EHLO name (may be NULL or "").  mail_from: the envelope
 * sender without brackets; NULL or "" (the null sender, as for bounces) checks
 * the HELO identity "postmaster@helo" instead, as RFC 7208 2.4 says.
 * Returns the result.  For every result but PASS err (if not NULL) holds one
 * line saying why (libspf2's comment, or what was wrong with the arguments:
 * then the result is BG_SPF_PERMERROR; an unusable client_ip is one).
 */
bg_spf_result bg_spf_check(const char *client_ip, const char *helo, const char *mail_from,
                           bg_error *err);

/*
 * Does `domain` designate the host at client_ip, either to send its mail
 * (SPF of postmaster@domain passes for client_ip) or to receive it (client_ip
 * is an address of one of its MX hosts; of the domain itself when it has no
 * MX, RFC 5321 5.1)?  A bounce about a recipient of `domain` that such a host
 * delivered comes from the recipient's side.  Returns 1 (yes), 0 (no, err
 * says why), or -1 when DNS failed temporarily (err set: worth a retry).
 * Uses the system resolver, as bg_spf_check does.
 */
int bg_spf_designated(const char *client_ip, const char *domain, bg_error *err);

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *bg_spf_result_name(bg_spf_result r);

#endif
