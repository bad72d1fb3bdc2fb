/*
 * mtalog — one line of a Postfix or Sendmail log, parsed into an event.
 *
 * The log follower (bounceguard-dsn log FILE) learns synchronous bounces
 * from lines such as
 *
 *   Nov 23 12:00:00 host postfix/smtp[123]: 3F2A41C0A2: to=<a@b.example>,
 *     relay=mx.b.example[192.0.2.1]:25, delay=0.5, dsn=5.1.1, status=bounced
 *     (host mx.b.example[192.0.2.1] said: 550 5.1.1 <a@b.example>: Recipient
 *     address rejected: User unknown (in reply to RCPT TO command))
 *   2026-11-23T12:00:00.123456+00:00 host postfix/smtp[1]: ...   (maillog_file)
 *   Nov 23 12:00:00 host sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>,
 *     ctladdr=<s@x> (1000/1000), delay=00:00:01, mailer=esmtp, pri=120,
 *     relay=mx.b.example. [192.0.2.1], dsn=5.1.1, stat=User unknown
 *
 * and correlates them through the cleanup (message-id=<...>), qmgr
 * (from=<...>, size=...) and Sendmail from= (msgid=<...>) lines.
 *
 * Recognised: lines of a program whose name contains "postfix" (postfix/smtp,
 * postfix-out/lmtp, ...), or is sendmail, sm-mta or sm-msp-queue, with a
 * queue ID.  The syslog timestamp ("Nov 23 12:00:00", no year) is read as
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
    BG_MTALOG_OTHER = 0,  /* an MTA line of no interest, or not an MTA line */
    BG_MTALOG_BOUNCED,    /* status=bounced, or Sendmail dsn=5.x.x */
    BG_MTALOG_DEFERRED,   /* status=deferred, Sendmail dsn=4.x.x / stat=Deferred */
    BG_MTALOG_SENT,       /* status=sent, Sendmail stat=Sent */
    BG_MTALOG_EXPIRED,    /* Postfix from=<...>, status=expired, returned to sender */
    BG_MTALOG_MESSAGE_ID, /* Postfix cleanup: message-id=<...> */
    BG_MTALOG_FROM,       /* qmgr from=<...>, size=...; Sendmail from= (+ msgid) */
} bg_mtalog_kind;

typedef enum bg_mtalog_mta {
    BG_MTA_UNKNOWN = 0,
    BG_MTA_POSTFIX,
    BG_MTA_SENDMAIL,
} bg_mtalog_mta;

typedef struct bg_mtalog_event {
    bg_mtalog_kind kind;
    bg_mtalog_mta mta;
    int64_t time;         /* UNIX time of the line, -1 if it did not parse */
    char host[128];       /* the syslog host field */
    char program[64];     /* "postfix/smtp", "sm-mta" */
    char queue_id[32];    /* "3F2A41C0A2" */
    char recipient[257];  /* to=<...>, as logged (not canonical); Sendmail may
                             group recipients (to=<a>,<b>): the first one */
    int rcpt_count;       /* addresses in to= (Sendmail groups them), 0 if none */
    char orig_to[257];    /* Postfix orig_to=<...> */
    char sender[257];     /* from=<...>; "" also for the null sender <> */
    char message_id[256]; /* message-id=<...> / msgid=<...>, without brackets */
    char dsn[16];         /* "5.1.1" */
    char status[16];      /* Postfix status= ("bounced", "deferred", "sent",
                             "expired", ...); Sendmail: "bounced", "deferred" or
                             "sent" as read from dsn= and stat= */
    char relay[256];      /* relay host name ("mx.b.example"), "" if none */
    char relay_ip[64];    /* relay address ("192.0.2.1"), "" if none */
    char reply[1024];     /* the remote reply when a server "said:" it (without
                             "(in reply to ...)"); else the status text */
    char command[32];     /* "RCPT TO", "end of DATA": what the reply answered */
    bool remote_reply;    /* reply came from the remote server ("said:") */
    bool truncated;       /* some field was cut to fit */
} bg_mtalog_event;

/*
 * Parse one log line of len bytes (no trailing newline needed; the line
 * need not be NUL-terminated and may contain any bytes).  now picks the year
 * of a syslog timestamp.  Fills *ev completely.
 * Returns 1 for a Postfix or Sendmail line with a queue ID (ev->kind says
 * what it was, BG_MTALOG_OTHER for lines of no interest), 0 for anything else
 * (ev->kind is BG_MTALOG_OTHER).  Never fails otherwise.
 */
int bg_mtalog_parse(const char *line, size_t len, int64_t now, bg_mtalog_event *ev);

/* Short name of a kind for logs and JSON: "bounced", "deferred", "sent",
 * "expired", "message-id", "from", "other". */
const char *bg_mtalog_kind_name(bg_mtalog_kind kind);

/*
 * Parse only the timestamp at the start of a line: "Nov 23 12:00:00" (local
 * time, year chosen from now as above) or "2026-11-23T12:00:00[.frac](Z|+hh:mm)".
 * Returns the number of bytes consumed and *t, or 0 if there is no timestamp.
 */
size_t bg_mtalog_parse_time(const char *line, size_t len, int64_t now, int64_t *t);

#endif
