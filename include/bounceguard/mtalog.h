/*
 * mtalog — one line of a Postfix or Sendmail log, parsed into an event.
 *
 * The log follower (bounceguard-dsn log FILE) learns synchronous bounces
 * from lines such as
 *
 *   Nov 23 12:00:00 host postfix/smtp[123]: 3F2A41C0A2: to=<a@b.example>,
 *     relay=mx.b.example[192.0.2.1]:25, delay=0.5, delays=0.1/0/0.2/0.2,
 *     dsn=5.1.1, status=bounced
 *     (host mx.b.example[192.0.2.1] said: 550 5.1.1 <a@b.example>: Recipient
 *     address rejected: User unknown (in reply to RCPT TO command))
 *   2026-11-23T12:00:00.123456+00:00 host postfix/smtp[1]: ...   (maillog_file)
 *   Nov 23 12:00:00 host sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>,
 *     ctladdr=<s@x> (1000/1000), delay=00:00:01, mailer=esmtp, pri=120,
 *     relay=mx.b.example. [192.0.2.1], dsn=5.1.1, stat=User unknown
 *
 * Only delivery records are read, and they are read by position, never by
 * searching a line for "key=value": what a sender controls (a Message-ID
 * header logged by cleanup, an envelope sender logged by qmgr, a quoted
 * recipient) can hold any text, "status=bounced" included.
 *
 *  - The program tag must be exactly NAME/AGENT or NAME/SERVICE/AGENT
 *    (master.cf's "-o syslog_name=postfix/$service_name", Debian's default
 *    for the relay service, logs as postfix/relay/smtp), followed by
 *    "[pid]:", where NAME is one of the configured Postfix syslog names
 *    (log_syslog_names: "postfix", "postfix-out", ...) and AGENT and SERVICE
 *    are configured delivery agents (log_delivery_agents: smtp, lmtp, local,
 *    virtual, error, pipe, retry, relay, ...); or exactly "sm-mta[pid]:" or
 *    "sendmail[pid]:".  postfix/cleanup, postfix/qmgr, "xpostfix/smtp" and
 *    "postfix-evil/smtp" (unless configured) are not delivery records.
 *  - Postfix: "QID: to=<ADDR>, [orig_to=<ADDR>,] relay=R, [conn_use=N,]
 *    delay=D, delays=A/B/C/D, dsn=X.Y.Z, status=WORD[ (TEXT)]", each item in
 *    this order, nothing else.  ADDR is read up to its closing '>' outside a
 *    quoted local part (Postfix logs to=<"a, b>c"@x>); TEXT runs to the end
 *    of the line and is never searched for items.
 *  - Sendmail: "QID: to=ADDRS, KEY=VALUE, ..., stat=TEXT" with to= first
 *    (ADDRS: one address or Sendmail's grouped "<a@x>,<b@x>", quote-aware
 *    like ADDR), then items up to stat=, whose text runs to the end.
 *
 * Anyone who can write to the log can still write such a line (logger -t
 * postfix/smtp into syslog): the parser cannot tell, so bg_learn_log_event
 * believes a line only for a queue ID and recipient the milter recorded.
 *
 * The syslog timestamp ("Nov 23 12:00:00", no year) is read as
 * local time (TZ) in the year that puts it closest before `now` (a line up to
 * one day ahead of `now` is taken as clock skew, not as last year); the ISO
 * form with a UTC offset is exact.
 *
 * Nothing is allocated: every field is a bounded copy inside the event, cut
 * at its size (ev->truncated says so) and with control bytes replaced by '?'.
 * Lines of any length and any bytes (NUL included) are safe.
 */
#ifndef BOUNCEGUARD_MTALOG_H
#define BOUNCEGUARD_MTALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum bg_mtalog_kind {
    BG_MTALOG_OTHER = 0, /* not a delivery record, or another status= word */
    BG_MTALOG_BOUNCED,   /* status=bounced, or Sendmail dsn=5.x.x */
    BG_MTALOG_DEFERRED,  /* status=deferred, Sendmail dsn=4.x.x / stat=Deferred */
    BG_MTALOG_SENT,      /* status=sent, Sendmail stat=Sent */
} bg_mtalog_kind;

typedef enum bg_mtalog_mta {
    BG_MTA_UNKNOWN = 0,
    BG_MTA_POSTFIX,
    BG_MTA_SENDMAIL,
} bg_mtalog_mta;

typedef struct bg_mtalog_event {
    bg_mtalog_kind kind;
    bg_mtalog_mta mta;
    int64_t time;        /* UNIX time of the line, -1 if it did not parse */
    char host[128];      /* the syslog host field */
    char program[64];    /* "postfix/smtp", "sm-mta" */
    char queue_id[32];   /* "3F2A41C0A2" */
    char recipient[257]; /* to=<...>, as logged (not canonical); Sendmail may
                            group recipients (to=<a>,<b>): the first one */
    int rcpt_count;      /* addresses in to= (Sendmail groups them), 0 if none */
    char orig_to[257];   /* Postfix orig_to=<...> */
    char dsn[16];        /* "5.1.1" */
    char status[16];     /* Postfix status= ("bounced", "deferred", "sent",
                            "undeliverable", ...); Sendmail: "bounced",
                            "deferred", "sent" (from dsn= and stat=) or
                            "queued" */
    char relay[256];     /* relay host name ("mx.b.example"), "" if none */
    char relay_ip[64];   /* relay address ("192.0.2.1"), "" if none */
    char reply[1024];    /* the remote reply when a server "said:" it (without
                            "(in reply to ...)"); else the status text */
    char command[32];    /* "RCPT TO", "end of DATA": what the reply answered */
    bool remote_reply;   /* reply came from the remote server ("said:") */
    bool dsn_remote;     /* dsn= is the remote's own enhanced code, though
                            reply= (its first line) shows none (Sendmail) */
    bool truncated;      /* some field was cut to fit */
} bg_mtalog_event;

/*
 * The program tags that are delivery records (see above).  Arrays of
 * count words, borrowed for the call (a bg_strlist of the config fits:
 * log_syslog_names, log_delivery_agents).  A NULL pointer to the whole
 * struct means the defaults below.
 */
typedef struct bg_mtalog_names {
    const char *const *syslog_names; /* Postfix syslog_name values */
    size_t nsyslog_names;
    const char *const *agents; /* delivery agents and master.cf service names */
    size_t nagents;
} bg_mtalog_names;

#define BG_MTALOG_SYSLOG_NAMES "postfix"
#define BG_MTALOG_DELIVERY_AGENTS "smtp lmtp local virtual error pipe retry relay"

/*
 * Parse one log line of len bytes (no trailing newline needed; the line
 * need not be NUL-terminated and may contain any bytes).  now picks the year
 * of a syslog timestamp; names says which Postfix tags are delivery agents
 * (NULL = BG_MTALOG_SYSLOG_NAMES and BG_MTALOG_DELIVERY_AGENTS).  Fills *ev
 * completely.
 * Returns 1 for a Postfix or Sendmail delivery record (ev->kind says which
 * status, BG_MTALOG_OTHER for one of no interest), 0 for anything else
 * (ev->kind is BG_MTALOG_OTHER; the tag and queue ID may be filled).  Never
 * fails otherwise.
 */
int bg_mtalog_parse(const char *line, size_t len, int64_t now,
                    const bg_mtalog_names *names, bg_mtalog_event *ev);

/* Short name of a kind for logs and JSON: "bounced", "deferred", "sent",
 * "other". */
const char *bg_mtalog_kind_name(bg_mtalog_kind kind);

/*
 * Parse only the timestamp at the start of a line: "Nov 23 12:00:00" (local
 * time, year chosen from now as above) or "2026-11-23T12:00:00[.frac](Z|+hh:mm)".
 * Returns the number of bytes consumed and *t, or 0 if there is no timestamp.
 */
size_t bg_mtalog_parse_time(const char *line, size_t len, int64_t now, int64_t *t);

#endif
