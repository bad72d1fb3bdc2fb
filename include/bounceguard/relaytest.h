/*
 * relaytest — does an SMTP server relay mail for strangers?
 *
 * Connects over plain TCP, says EHLO (HELO if refused) and tries the classic
 * open-relay tricks one after the other: a foreign sender to a foreign
 * recipient, the null sender, a sender at the server's own domain or IP
 * literal, the percent hack, source routes, bang paths, quoted local parts,
 * addresses at the server's IP literal, upper-case and trailing-dot
 * domains.  It NEVER sends a message: every trick stops at RCPT TO, RSET
 * separates the tricks and QUIT ends the session.  A RCPT TO answered 2xx
 * means the server would relay that trick (ACCEPTED).
 *
 * The server's replies are untrusted: lines are bounded (BG_RELAY_LINE_MAX),
 * replies are bounded in lines, every read and write has a timeout, and the
 * text kept in results holds printable ASCII only.  A server that drops the
 * connection (or says 421) is reconnected for the next trick; a server that
 * counts errors against a session (Postfix slows down after 10) gets a new
 * session every few refused tricks.
 */
#ifndef BOUNCEGUARD_RELAYTEST_H
#define BOUNCEGUARD_RELAYTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/util.h"

/* Longest reply line accepted from the server (RFC 5321 says 512). */
#define BG_RELAY_LINE_MAX 2048
/* Most lines in one multi-line reply. */
#define BG_RELAY_REPLY_LINES 100

typedef enum bg_relay_verdict {
    BG_RELAY_REFUSED = 0, /* 5xx at MAIL FROM or RCPT TO */
    BG_RELAY_ACCEPTED,    /* 2xx at RCPT TO: the server relays this trick */
    BG_RELAY_DEFERRED,    /* 4xx: not conclusive (greylisting, tempfail) */
    BG_RELAY_ERROR,       /* no usable answer (connection lost, timeout, garbage) */
} bg_relay_verdict;

/* "refused", "ACCEPTED", "deferred", "error". */
const char *bg_relay_verdict_name(bg_relay_verdict v);

typedef enum bg_relay_overall {
    BG_RELAY_CLOSED = 0, /* every trick refused */
    BG_RELAY_PARTIAL,    /* none accepted, some refused, some not conclusive */
    BG_RELAY_OPEN,       /* at least one trick accepted */
    BG_RELAY_UNKNOWN,    /* no trick got a conclusive answer */
    BG_RELAY_TRUSTED,    /* tricks accepted from a vantage point the server likely
                            trusts (its own host, loopback): cannot tell */
} bg_relay_overall;

/* "closed", "closed (some tricks inconclusive)", "OPEN RELAY", "unknown",
 * "relays for this client". */
const char *bg_relay_overall_name(bg_relay_overall o);

/* One trick: an envelope to try.  Strings are owned by the trick list. */
typedef struct bg_relay_trick {
    char *name;
    char *mail_from; /* without the angle brackets; "" for the null sender */
    char *rcpt_to;
} bg_relay_trick;

/*
 * Where the test runs from, as the server sees it.  A relay relays for its
 * own networks (Postfix's mynetworks holds loopback and, with
 * mynetworks_style = subnet or host, the relay's own addresses): tricks it
 * accepts from there say nothing about strangers.
 */
typedef enum bg_relay_vantage {
    BG_VANTAGE_OUTSIDE = 0, /* another host's address (or the caller said so) */
    BG_VANTAGE_LOOPBACK,    /* a loopback address: 127.0.0.0/8, ::1 */
    BG_VANTAGE_SAME_HOST,   /* the server's own address */
} bg_relay_vantage;

/* "outside", "loopback", "the server's own host". */
const char *bg_relay_vantage_name(bg_relay_vantage v);

/*
 * The vantage point of a session from local_ip to peer_ip (numeric
 * addresses; IPv4-mapped IPv6 counts as IPv4).  Pure.  An address that does
 * not parse is OUTSIDE.
 */
bg_relay_vantage bg_relay_vantage_of(const char *local_ip, const char *peer_ip);

/*
 * The tricks for a server known as server_domain (a host name) and
 * server_literal (its address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]"),
 * with from_domain and to_domain as the foreign domains.  Pure: no I/O.
 * Returns an array of *count tricks; free with bg_relay_tricks_free().
 */
bg_relay_trick *bg_relay_tricks(const char *server_domain, const char *server_literal,
                                const char *from_domain, const char *to_domain,
                                size_t *count);
bg_relay_trick *bg_relay_tricks_free(bg_relay_trick *t, size_t count);

/*
 * Split "HOST[:PORT]", "[IPv6]:PORT" or a bare IPv6 address into *host and
 * *port (newly allocated, caller frees; port "25" when none is given).
 * Returns 0, or -1 with err on an empty host or a bad port.
 */
int bg_relay_parse_target(const char *spec, char **host, char **port, bg_error *err);

/*
 * Fold one reply line into a reply being read.  `line` is one line without
 * CR LF.  Returns 1 when the line ends the reply (code in *code), 0 when more
 * lines follow, -1 with err when the line is not an SMTP reply line or its
 * code differs from the first line's (*code is the first line's code, 0
 * before the first line).  The line's text, sanitised, is appended to text
 * (lines joined by " "), at most 512 bytes in all.  Pure (for tests).
 */
int bg_relay_reply_line(const char *line, int *code, bg_buf *text, bg_error *err);

typedef struct bg_relay_options {
    const char *host;
    const char *port;        /* NULL = "25" */
    const char *helo;        /* NULL = this host's name */
    const char *from_domain; /* NULL = "example.com" */
    const char *to_domain;   /* NULL = "example.net" */
    int64_t timeout_ms;      /* per connect / reply; <= 0 means 10000 */
    bool outside;            /* the caller knows its address is not one the server
                                trusts: accepted tricks make an open relay
                                whatever the vantage point */
} bg_relay_options;

typedef struct bg_relay_result {
    const char *name; /* points into report->tricks */
    const char *mail_from;
    const char *rcpt_to;
    bg_relay_verdict verdict;
    const char *stage; /* "MAIL", "RCPT" or "session" */
    int code;          /* the deciding reply code, 0 if none */
    char *reply;       /* the deciding reply text (sanitised), or NULL */
} bg_relay_result;

typedef struct bg_relay_report {
    char *peer;          /* "192.0.2.1 port 25" */
    char *local;         /* this end of the first session: "127.0.0.1" */
    bg_relay_vantage vantage;
    char *banner;        /* the greeting (sanitised) */
    char *server_domain; /* from the greeting, else the host given */
    bg_relay_trick *tricks;
    bg_relay_result *results; /* one per trick */
    size_t count;
    size_t accepted, refused, deferred, errors, sessions;
    bg_relay_overall overall;
} bg_relay_report;

/*
 * Check the caller's options (domains, HELO name: letters, digits, '.', '-';
 * a HELO may be an address literal).  Returns 0, or -1 with err.  Pure.
 */
int bg_relay_check_options(const bg_relay_options *opt, bg_error *err);

/*
 * Run the test (after bg_relay_check_options(), which it repeats).  Returns 0 and a
 * report (free with bg_relay_report_free()), or -1 with err when no session could be
 * started at all (name lookup, connect, greeting refused, timeout).  Per-trick failures
 * are results.
 */
int bg_relay_test(const bg_relay_options *opt, bg_relay_report **report, bg_error *err);

bg_relay_report *bg_relay_report_free(bg_relay_report *r);

#endif
