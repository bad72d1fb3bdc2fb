/*
 * test_mtalog — Postfix and Sendmail log lines as a table of named cases:
 * real delivery records, and lines that only look like them (a forged
 * Message-ID or sender logged by cleanup/qmgr, a quoted recipient holding
 * ", dsn=5.1.1, status=bounced (", look-alike program tags); timestamps
 * around the turn of the year, configured tags, and hostile lines (1 MB,
 * binary).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/mtalog.h"

#define NOW 1795438800 /* 2026-11-23T13:00:00Z; the tests run with TZ=UTC */
#define T1200 1795435200

typedef struct log_case {
    const char *name;
    const char *line;
    int ret;
    bg_mtalog_kind kind;
    bg_mtalog_mta mta;
    int64_t time;
    const char *queue_id, *recipient, *orig_to, *dsn, *relay, *relay_ip, *reply, *command;
    bool remote;
} log_case;

#define BOUNCED BG_MTALOG_BOUNCED
#define DEFERRED BG_MTALOG_DEFERRED
#define SENT BG_MTALOG_SENT
#define OTHER BG_MTALOG_OTHER
#define PF BG_MTA_POSTFIX
#define SM BG_MTA_SENDMAIL
#define NONE BG_MTA_UNKNOWN
/* the fields of a line that is no delivery record (not compared) */
#define NOT_A_RECORD "", "", "", "", "", "", "", "", false

/* Columns: name, line, returns, kind, mta, time, queue_id, recipient, orig_to,
 * dsn, relay, relay_ip, reply, command, remote_reply. */
static const log_case cases[] = {
    /* ---- real delivery records ---- */
    {"postfix smtp bounced rcpt",
     "Nov 23 12:00:00 relay1 postfix/smtp[123]: 3F2A41C0A2: to=<a@b.example>, "
     "relay=mx.b.example[192.0.2.1]:25, delay=0.52, delays=0.1/0.01/0.2/0.21, dsn=5.1.1, "
     "status=bounced (host mx.b.example[192.0.2.1] said: 550 5.1.1 <a@b.example>: "
     "Recipient address rejected: User unknown (in reply to RCPT TO command))",
     1, BOUNCED, PF, T1200, "3F2A41C0A2", "a@b.example", "", "5.1.1", "mx.b.example",
     "192.0.2.1", "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown",
     "RCPT TO", true},
    {"postfix iso timestamp orig_to",
     "2026-11-23T12:00:00.123456+00:00 relay1 postfix/smtp[1]: 4Jx1Yz3sHNz9sQr: "
     "to=<a@b.example>, orig_to=<alias@relay.example>, relay=mx.b.example[192.0.2.1]:25, "
     "delay=1, delays=0.1/0/0.4/0.5, dsn=5.7.1, status=bounced (host "
     "mx.b.example[192.0.2.1] said: 554 5.7.1 Service unavailable; Client host "
     "[198.51.100.7] blocked using zen.spamhaus.org (in reply to RCPT TO command))",
     1, BOUNCED, PF, T1200, "4Jx1Yz3sHNz9sQr", "a@b.example", "alias@relay.example",
     "5.7.1", "mx.b.example", "192.0.2.1",
     "554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using "
     "zen.spamhaus.org",
     "RCPT TO", true},
    {"postfix iso offset",
     "2026-11-23T12:00:00+01:00 h postfix/smtp[1]: ABCDEF1234: to=<a@b.example>, "
     "relay=mx[192.0.2.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 "
     "2.0.0 Ok: queued as 9A8B)",
     1, SENT, PF, T1200 - 3600, "ABCDEF1234", "a@b.example", "", "2.0.0", "mx",
     "192.0.2.1", "250 2.0.0 Ok: queued as 9A8B", "", false},
    {"postfix end of data",
     "Nov 23 12:00:00 h postfix/smtp[9]: 1A2B3C4D5E: to=<x@y.example>, "
     "relay=mx.y.example[2001:db8::25]:25, delay=3, delays=0/0/1/2, dsn=5.7.1, "
     "status=bounced (host mx.y.example[2001:db8::25] said: 550 5.7.1 Message rejected "
     "as spam (in reply to end of DATA command))",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "x@y.example", "", "5.7.1", "mx.y.example",
     "2001:db8::25", "550 5.7.1 Message rejected as spam", "end of DATA", true},
    {"postfix deferred greylist",
     "Nov 23 12:00:00 h postfix/smtp[9]: 1A2B3C4D5E: to=<x@y.example>, "
     "relay=mx.y.example[192.0.2.9]:25, delay=3, delays=0/0/1/2, dsn=4.2.0, "
     "status=deferred (host mx.y.example[192.0.2.9] said: 450 4.2.0 <x@y.example>: "
     "Recipient address rejected: Greylisted (in reply to RCPT TO command))",
     1, DEFERRED, PF, T1200, "1A2B3C4D5E", "x@y.example", "", "4.2.0", "mx.y.example",
     "192.0.2.9", "450 4.2.0 <x@y.example>: Recipient address rejected: Greylisted",
     "RCPT TO", true},
    {"postfix deferred connect",
     "Nov 23 12:00:00 h postfix/smtp[9]: 1A2B3C4D5E: to=<x@y.example>, relay=none, "
     "delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to "
     "mx.y.example[192.0.2.9]:25: Connection refused)",
     1, DEFERRED, PF, T1200, "1A2B3C4D5E", "x@y.example", "", "4.4.1", "", "",
     "connect to mx.y.example[192.0.2.9]:25: Connection refused", "", false},
    {"postfix bounced no mx",
     "Nov 23 12:00:00 h postfix/smtp[9]: 1A2B3C4D5E: to=<x@nx.example>, relay=none, "
     "delay=0.1, delays=0.1/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not "
     "found. Name service error for name=nx.example type=A: Host not found)",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "x@nx.example", "", "5.4.4", "", "",
     "Host or domain name not found. Name service error for name=nx.example type=A: Host "
     "not found",
     "", false},
    {"postfix local bounced",
     "Nov 23 12:00:00 h postfix/local[9]: 1A2B3C4D5E: to=<nobody@relay.example>, "
     "relay=local, delay=0.1, delays=0.1/0/0/0, dsn=5.1.1, status=bounced (unknown user: "
     "\"nobody\")",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "nobody@relay.example", "", "5.1.1", "local",
     "", "unknown user: \"nobody\"", "", false},
    {"postfix lmtp bounced",
     "Nov 23 12:00:00 h postfix/lmtp[3]: 1A2B3C4D5E: to=<u@example.com>, "
     "relay=mail.example.com[private/dovecot-lmtp], delay=0.03, "
     "delays=0.01/0/0/0.02, dsn=5.1.1, status=bounced (host "
     "mail.example.com[private/dovecot-lmtp] said: 550 5.1.1 <u@example.com> User "
     "doesn't exist: u@example.com (in reply to RCPT TO command))",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "u@example.com", "", "5.1.1",
     "mail.example.com", "private/dovecot-lmtp",
     "550 5.1.1 <u@example.com> User doesn't exist: u@example.com", "RCPT TO", true},
    {"postfix error agent",
     "Nov 23 12:00:00 h postfix/error[9]: 1A2B3C4D5E: to=<x@y.example>, relay=none, "
     "delay=0.02, delays=0.01/0/0/0.01, dsn=5.0.0, status=bounced (no local delivery)",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "x@y.example", "", "5.0.0", "", "",
     "no local delivery", "", false},
    {"postfix conn_use",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, "
     "relay=mx[192.0.2.1]:25, conn_use=2, delay=0.3, delays=0/0/0/0.3, dsn=5.1.1, "
     "status=bounced (host mx[192.0.2.1] said: 550 5.1.1 no (in reply to RCPT TO "
     "command))",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "a@b.example", "", "5.1.1", "mx", "192.0.2.1",
     "550 5.1.1 no", "RCPT TO", true},
    {"postfix relay service (syslog_name=postfix/$service_name)",
     "Nov 23 12:00:00 h postfix/relay/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, "
     "relay=mx[192.0.2.1]:25, delay=0.3, delays=0/0/0/0.3, dsn=5.1.1, status=bounced "
     "(host mx[192.0.2.1] said: 550 5.1.1 no (in reply to RCPT TO command))",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "a@b.example", "", "5.1.1", "mx", "192.0.2.1",
     "550 5.1.1 no", "RCPT TO", true},
    {"postfix no timestamp",
     "postfix/smtp[1]: 1A2B3C4D5E: to=<x@y.example>, relay=mx[192.0.2.1]:25, delay=1, "
     "delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx[192.0.2.1] said: 550 unknown "
     "(in reply to RCPT TO command))",
     1, BOUNCED, PF, -1, "1A2B3C4D5E", "x@y.example", "", "5.1.1", "mx", "192.0.2.1",
     "550 unknown", "RCPT TO", true},
    {"postfix quoted recipient holding a forged status",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<\"x, dsn=5.1.1, status=bounced "
     "(host mx said: 550 5.1.1 no (in reply to RCPT TO command))\"@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 "
     "Ok)",
     1, SENT, PF, T1200, "1A2B3C4D5E",
     "\"x, dsn=5.1.1, status=bounced (host mx said: 550 5.1.1 no (in reply to RCPT TO "
     "command))\"@example.net",
     "", "2.0.0", "mx", "192.0.2.1", "250 2.0.0 Ok", "", false},
    {"postfix quoted recipient with '>' and ', '",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<\"a, b>c\"@x.example>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host "
     "mx[192.0.2.1] said: 550 5.1.1 no (in reply to RCPT TO command))",
     1, BOUNCED, PF, T1200, "1A2B3C4D5E", "\"a, b>c\"@x.example", "", "5.1.1", "mx",
     "192.0.2.1", "550 5.1.1 no", "RCPT TO", true},
    {"postfix quoted recipient closing the address early",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<\"v@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (x) "
     "\\\" \"@evil.example>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, "
     "dsn=2.0.0, status=sent (250 2.0.0 Ok)",
     1, SENT, PF, T1200, "1A2B3C4D5E",
     "\"v@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
     "status=bounced (x) \\\" \"@evil.example",
     "", "2.0.0", "mx", "192.0.2.1", "250 2.0.0 Ok", "", false},
    {"sendmail bounced",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "ctladdr=<app@relay.example> (1000/1000), delay=00:00:01, xdelay=00:00:01, "
     "mailer=esmtp, pri=120, relay=mx.b.example. [192.0.2.1], dsn=5.1.1, stat=User "
     "unknown",
     1, BOUNCED, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "5.1.1", "mx.b.example",
     "192.0.2.1", "User unknown", "", false},
    {"sendmail deferred",
     "Nov 23 12:00:00 relay1 sendmail[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:10:00, mailer=esmtp, pri=30120, relay=mx.b.example. [192.0.2.1], "
     "dsn=4.7.1, stat=Deferred: 451 4.7.1 Greylisted, try again later",
     1, DEFERRED, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "4.7.1", "mx.b.example",
     "192.0.2.1", "451 4.7.1 Greylisted, try again later", "", true},
    {"sendmail sent grouped",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: "
     "to=<a@b.example>,<c@b.example>, "
     "delay=00:00:01, mailer=esmtp, pri=120, relay=mx.b.example. [192.0.2.1], dsn=2.0.0, "
     "stat=Sent (Ok: queued as 12345)",
     1, SENT, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "2.0.0", "mx.b.example",
     "192.0.2.1", "Sent (Ok: queued as 12345)", "", false},
    {"sendmail remote 550",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120, relay=mx.b.example. "
     "[192.0.2.1], dsn=5.1.1, stat=User unknown (550 5.1.1 <a@b.example>... no)",
     1, BOUNCED, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "5.1.1", "mx.b.example",
     "192.0.2.1", "User unknown (550 5.1.1 <a@b.example>... no)", "", false},
    {"sendmail queued is other",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:00, mailer=esmtp, pri=30120, stat=queued",
     1, OTHER, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "", "", "", "queued", "",
     false},
    {"sendmail quoted recipient holding a forged stat",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<\"v, dsn=5.1.1, stat=User "
     "unknown\"@example.net>, delay=00:00:01, mailer=esmtp, pri=120, relay=mx. "
     "[192.0.2.1], dsn=2.0.0, stat=Sent (ok)",
     1, SENT, SM, T1200, "2ANC0nm0012345",
     "\"v, dsn=5.1.1, stat=User unknown\"@example.net", "", "2.0.0", "mx", "192.0.2.1",
     "Sent (ok)", "", false},
    /* Sendmail 8.17.1.9, as tests/tools/sendmail_samples.sh logged it: reply=
     * (the remote's words, ", " and all) before stat=; the timestamps moved to
     * the table's day. */
    {"sendmail 8.17 reply with a comma",
     "Nov 23 12:00:00 smtest sendmail[10027]: 6B5DA28F010025: to=<grey@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=relay, pri=30135, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=4.3.0, reply=451 Greylisted, please try again later, "
     "stat=Deferred: "
     "451 Greylisted, please try again later",
     1, DEFERRED, SM, T1200, "6B5DA28F010025", "grey@dest.example", "", "4.3.0", "",
     "127.0.0.1", "451 Greylisted, please try again later", "", true},
    {"sendmail 8.17 bare 550 at RCPT TO is stat=User unknown",
     "Nov 23 12:00:00 smtest sendmail[9075]: 6B5D9qY5009073: to=<quota@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=relay, pri=30137, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=5.1.1, reply=550 Mailbox quota exceeded, stat=User unknown",
     1, BOUNCED, SM, T1200, "6B5D9qY5009073", "quota@dest.example", "", "5.1.1", "",
     "127.0.0.1", "550 Mailbox quota exceeded", "RCPT TO", true},
    {"sendmail 8.17 rbl reply",
     "Nov 23 12:00:00 smtest sendmail[9273]: 6B5D9sim009271: to=<rbl@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=relay, pri=30133, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=5.1.1, reply=550 Service unavailable; Client host [192.0.2.25] "
     "blocked using zen.spamhaus.org, stat=User unknown",
     1, BOUNCED, SM, T1200, "6B5D9sim009271", "rbl@dest.example", "", "5.1.1", "",
     "127.0.0.1",
     "550 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org",
     "RCPT TO", true},
    {"sendmail 8.17 550 after DATA is Service unavailable",
     "Nov 23 12:00:00 smtest sendmail[9803]: 6B5D9xT7009799: "
     "to=<data-unknown@dest.example>, "
     "delay=00:00:01, xdelay=00:00:01, mailer=relay, pri=30151, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=5.2.0, reply=550 User unknown, stat=Service unavailable",
     1, BOUNCED, SM, T1200, "6B5D9xT7009799", "data-unknown@dest.example", "", "5.2.0",
     "", "127.0.0.1", "550 User unknown", "", true},
    /* smtpmailfrom()'s EX_DATAERR: a 553 (or 501) answered MAIL FROM */
    {"sendmail 8.17 553 at MAIL FROM is stat=Data format error",
     "Nov 23 12:00:00 smtest sendmail[1283]: 6B7N4K8S031322: to=<r383@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30129, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=5.1.3, reply=553 sender.test does not exist, stat=Data format "
     "error",
     1, BOUNCED, SM, T1200, "6B7N4K8S031322", "r383@dest.example", "", "5.1.3", "",
     "127.0.0.1", "553 sender.test does not exist", "MAIL FROM", true},
    /* smtpinit()'s 4.5.0/5.5.0: the greeting or EHLO was refused (the
     * reply's own 4.7.0 notwithstanding); a reply whose own code is 5.5.0
     * says nothing of the step */
    {"sendmail 8.17 refused greeting is dsn=4.5.0",
     "Nov 23 12:00:00 smtest sendmail[23408]: 6B7GN9ub023392: to=<g@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30129, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=4.5.0, reply=421 4.7.0 Try again later, stat=Deferred: 421 4.7.0 "
     "Try again later",
     1, DEFERRED, SM, T1200, "6B7GN9ub023392", "g@dest.example", "", "4.5.0", "",
     "127.0.0.1", "421 4.7.0 Try again later", "EHLO", true},
    {"sendmail 8.17 reply with its own 5.5.0",
     "Nov 23 12:00:00 smtest sendmail[23408]: 6B7GN9ub023393: to=<h@dest.example>, "
     "delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30129, relay=[127.0.0.1] "
     "[127.0.0.1], dsn=5.5.0, reply=550 5.5.0 Requested action not taken, stat=Service "
     "unavailable",
     1, BOUNCED, SM, T1200, "6B7GN9ub023393", "h@dest.example", "", "5.5.0", "",
     "127.0.0.1", "550 5.5.0 Requested action not taken", "", true},
    {"sendmail reply holding a forged record",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:01, mailer=esmtp, pri=120, relay=mx.b.example. [192.0.2.1], dsn=5.0.0, "
     "reply=554 no, to=<victim@example.net>, dsn=5.1.1, stat=User unknown, "
     "stat=Service unavailable",
     1, BOUNCED, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "5.0.0", "mx.b.example",
     "192.0.2.1", "554 no, to=<victim@example.net>, dsn=5.1.1, stat=User unknown", "",
     true},
    {"sendmail stat before reply",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:01, mailer=esmtp, pri=120, relay=mx.b.example. [192.0.2.1], dsn=5.0.0, "
     "stat=Service unavailable, reply=550 5.7.1 Service unavailable, client [192.0.2.1] "
     "blocked using zen.spamhaus.org",
     1, BOUNCED, SM, T1200, "2ANC0nm0012345", "a@b.example", "", "5.0.0", "mx.b.example",
     "192.0.2.1",
     "550 5.7.1 Service unavailable, client [192.0.2.1] blocked using zen.spamhaus.org",
     "", true},

    /* ---- not delivery records: a sender's text, other programs, forgeries ---- */
    {"forged message-id logged by cleanup",
     "Nov 23 12:00:00 h postfix/cleanup[55]: 1A2B3C4D5E: message-id=<i1@x>, "
     "to=<victim@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, "
     "dsn=5.1.1, status=bounced (host mx[192.0.2.1] said: 550 5.1.1 unknown (in reply to "
     "RCPT TO command))",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"cleanup message-id",
     "Nov 23 12:00:00 h postfix/cleanup[55]: 1A2B3C4D5E: "
     "message-id=<20261123120000.ABC@app.example>",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"forged from= logged by qmgr",
     "Nov 23 12:00:00 h postfix/qmgr[77]: 1A2B3C4D5E: from=<x, to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)>, "
     "size=1234, nrcpt=1 (queue active)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"forged quoted from= logged by qmgr",
     "Nov 23 12:00:00 h postfix/qmgr[77]: 1A2B3C4D5E: from=<\"x, "
     "to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced "
     "(no)\"@evil.example>, size=1234, nrcpt=1 (queue active)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"qmgr from",
     "Nov 23 12:00:00 h postfix/qmgr[77]: 1A2B3C4D5E: from=<app@relay.example>, "
     "size=1234, nrcpt=2 (queue active)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"qmgr expired",
     "Nov 23 12:00:00 h postfix/qmgr[77]: 1A2B3C4D5E: from=<app@relay.example>, "
     "status=expired, returned to sender",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"qmgr removed", "Nov 23 12:00:00 h postfix/qmgr[77]: 1A2B3C4D5E: removed", 0, OTHER,
     NONE, -1, NOT_A_RECORD},
    {"smtpd client",
     "Nov 23 12:00:00 h postfix/smtpd[5]: 1A2B3C4D5E: client=app[198.51.100.7]", 0, OTHER,
     NONE, -1, NOT_A_RECORD},
    {"forged sendmail msgid",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: from=<app@relay.example>, "
     "size=1234, class=0, nrcpts=1, msgid=<x, to=<victim@example.net>, delay=00:00:01, "
     "mailer=esmtp, pri=120, relay=mx. [192.0.2.1], dsn=5.1.1, stat=User unknown>, "
     "proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"sendmail dsn line",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: 2ANC0nm0012346: DSN: User "
     "unknown",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"sendmail reply with no stat after it",
     "Nov 23 12:00:00 relay1 sm-mta[123]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:01, mailer=esmtp, pri=120, relay=mx. [192.0.2.1], dsn=5.1.1, "
     "reply=550 no",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"sendmail msp queue is not the MTA",
     "Nov 23 12:00:00 relay1 sm-msp-queue[9]: 2ANC0nm0012345: to=<a@b.example>, "
     "delay=00:00:01, mailer=relay, pri=120, relay=[127.0.0.1], dsn=5.1.1, stat=User "
     "unknown",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag postfix-evil/smtp",
     "Nov 23 12:00:00 h postfix-evil/smtp[1]: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag xpostfix/smtp",
     "Nov 23 12:00:00 h xpostfix/smtp[1]: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag postfix/smtpd",
     "Nov 23 12:00:00 h postfix/smtpd[1]: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag postfix/submission/smtpd",
     "Nov 23 12:00:00 h postfix/submission/smtpd[1]: 1A2B3C4D5E: "
     "to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag without a pid",
     "Nov 23 12:00:00 h postfix/smtp: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag in another program's text",
     "Nov 23 12:00:00 h logger: postfix/smtp[1]: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"tag in another program's text, no timestamp",
     "h evil[1]: postfix/smtp[1]: 1A2B3C4D5E: to=<victim@example.net>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"multi-instance name not configured",
     "Nov  3 08:01:02 h postfix-out/smtp[1]: 1A2B3C4D5E: to=<x@y.example>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"item out of order",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, dsn=5.1.1, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"unknown item between",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, x=y, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"unterminated quote",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<\"a@b.example>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"bad dsn code",
     "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=x, status=bounced (no)",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"postfix NOQUEUE",
     "Nov 23 12:00:00 h postfix/smtp[5]: NOQUEUE: reject: RCPT from "
     "app[198.51.100.7]: 550 5.1.1 <x@y>: Recipient address rejected",
     0, OTHER, NONE, -1, NOT_A_RECORD},
    {"postfix warning",
     "Nov 23 12:00:00 h postfix/smtp[5]: warning: hostname x does not resolve", 0, OTHER,
     NONE, -1, NOT_A_RECORD},
    {"other program", "Nov 23 12:00:00 h sshd[5]: Accepted publickey for root", 0, OTHER,
     NONE, -1, NOT_A_RECORD},
    {"empty line", "", 0, OTHER, NONE, -1, NOT_A_RECORD},
    {"garbage", "\x01\x02\xff\xfe<<<>>>===,,,", 0, OTHER, NONE, -1, NOT_A_RECORD},
    {"bad month: the tag is found without a timestamp",
     "Foo 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a@b.example>, "
     "relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (no)",
     1, BOUNCED, PF, -1, "1A2B3C4D5E", "a@b.example", "", "5.1.1", "mx", "192.0.2.1",
     "no", "", false},
};

#define CHECK_STR(field)                                                                 \
    ck_assert_msg(strcmp(ev.field, c->field) == 0, "%s: " #field " '%s', expected '%s'", \
                  c->name, ev.field, c->field)

START_TEST(table)
{
    const log_case *c = &cases[_i];
    bg_mtalog_event ev;
    int ret = bg_mtalog_parse(c->line, strlen(c->line), NOW, NULL, &ev);

    ck_assert_msg(ret == c->ret, "%s: returned %d", c->name, ret);
    ck_assert_msg(ev.kind == c->kind, "%s: kind %s, expected %s", c->name,
                  bg_mtalog_kind_name(ev.kind), bg_mtalog_kind_name(c->kind));
    if (ret == 0) {
        ck_assert_msg(ev.recipient[0] == '\0', "%s: recipient '%s'", c->name,
                      ev.recipient);
        return;
    }
    ck_assert_msg(ev.mta == c->mta, "%s: mta %d", c->name, ev.mta);
    ck_assert_msg(ev.time == c->time, "%s: time %lld, expected %lld", c->name,
                  (long long)ev.time, (long long)c->time);
    CHECK_STR(queue_id);
    CHECK_STR(recipient);
    CHECK_STR(orig_to);
    CHECK_STR(dsn);
    CHECK_STR(relay);
    CHECK_STR(relay_ip);
    CHECK_STR(reply);
    CHECK_STR(command);
    ck_assert_msg(ev.remote_reply == c->remote, "%s: remote_reply", c->name);
    ck_assert_msg(!ev.truncated, "%s: truncated", c->name);
}
END_TEST

static const char *
case_line(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, name) == 0)
            return cases[i].line;
    ck_abort_msg("no case %s", name);
    return NULL;
}

/* Sendmail's dsn= for a reply whose first line has no enhanced code: x.1.1
 * is the remote's own (from the reply's last line) unless Sendmail said
 * "User unknown", which is where it makes 5.1.1 up. */
START_TEST(sendmail_dsn_from_the_reply)
{
    static const struct {
        const char *dsn, *stat;
        bool remote;
    } rows[] = {
        {"5.1.1", "Service unavailable", true},
        {"5.1.1", "User unknown", false},
        {"5.2.0", "Service unavailable", false},
        {"4.4.7", "Deferred: 421 Try later", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char line[512];
        bg_mtalog_event ev;
        snprintf(line, sizeof line,
                 "Nov 23 12:00:00 smtest sendmail[9]: 6B7GN91F023392: to=<a@b.example>, "
                 "delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30129, "
                 "relay=[192.0.2.1] [192.0.2.1], dsn=%s, reply=550 Mailbox unknown.  "
                 "Either there is no mailbox associated with this, stat=%s",
                 rows[i].dsn, rows[i].stat);
        ck_assert_int_eq(bg_mtalog_parse(line, strlen(line), NOW, NULL, &ev), 1);
        ck_assert_msg(ev.dsn_remote == rows[i].remote, "row %zu: dsn_remote %d", i,
                      ev.dsn_remote);
    }
}
END_TEST

START_TEST(fields_beyond_basics)
{
    bg_mtalog_event ev;
    const char *l = cases[0].line;

    ck_assert_int_eq(bg_mtalog_parse(l, strlen(l), NOW, NULL, &ev), 1);
    ck_assert_str_eq(ev.host, "relay1");
    ck_assert_str_eq(ev.program, "postfix/smtp");
    ck_assert_str_eq(ev.status, "bounced");
    ck_assert_int_eq(ev.rcpt_count, 1);
    l = case_line("sendmail sent grouped");
    ck_assert_int_eq(bg_mtalog_parse(l, strlen(l), NOW, NULL, &ev), 1);
    ck_assert_int_eq(ev.rcpt_count, 2);
    ck_assert_str_eq(ev.status, "sent");
    /* A line need not end in NUL: a prefix of a longer buffer is read as what
     * it is, a cut line, which is no delivery record. */
    ck_assert_int_eq(bg_mtalog_parse(l, 60, NOW, NULL, &ev), 0);
    ck_assert_str_eq(ev.queue_id, "2ANC0nm0012345");
    ck_assert_str_eq(ev.recipient, "");
    ck_assert_int_eq(bg_mtalog_parse(l, strlen(l) - 20, NOW, NULL, &ev), 1);
    ck_assert_str_eq(ev.reply, "Sent (");
}
END_TEST

START_TEST(year_rollover)
{
    int64_t t = 0;
    const char *dec = "Dec 31 23:59:00 h";

    /* Read on 2026-01-01 00:05 UTC: last year's December. */
    ck_assert_int_eq((int)bg_mtalog_parse_time(dec, strlen(dec), 1767225900, &t), 15);
    ck_assert_int_eq(t, 1767225540);
    /* Read at 2026-11-23: a line of tomorrow is clock skew, still this year. */
    ck_assert_int_eq((int)bg_mtalog_parse_time("Nov 24 12:00:00", 15, NOW, &t), 15);
    ck_assert_int_eq(t, 1795521600);
    ck_assert_int_eq((int)bg_mtalog_parse_time("Nov 31 12:00:00", 15, NOW, &t) > 0, 1);
    ck_assert_int_eq((int)bg_mtalog_parse_time("Nov 23 25:00:00", 15, NOW, &t), 0);
    ck_assert_int_eq((int)bg_mtalog_parse_time("Nov 23 12:00", 12, NOW, &t), 0);
    ck_assert_int_eq((int)bg_mtalog_parse_time("2026-11-23T12:00:00Z", 20, NOW, &t), 20);
    ck_assert_int_eq(t, T1200);
    ck_assert_int_eq((int)bg_mtalog_parse_time("2026-13-23T12:00:00Z", 20, NOW, &t), 0);
    ck_assert_int_eq((int)bg_mtalog_parse_time("2026-11-23T12:00:00+01", 22, NOW, &t), 0);
}
END_TEST

START_TEST(long_fields_are_cut_not_overrun)
{
    /* A 1 MB recipient and a 1 MB reply. */
    size_t big = 1 << 20, n;
    char *l = malloc(2 * big + 512);
    bg_mtalog_event ev;

    n = (size_t)sprintf(l, "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<");
    memset(l + n, 'a', big);
    n += big;
    n += (size_t)sprintf(l + n,
                         "@x.example>, relay=mx[1.2.3.4]:25, delay=1, delays=0/0/0/1, "
                         "dsn=5.1.1, status=bounced (host mx[1.2.3.4] said: 550 ");
    memset(l + n, 'z', big);
    n += big;
    n += (size_t)sprintf(l + n, " (in reply to RCPT TO command))");
    ck_assert_int_eq(bg_mtalog_parse(l, n, NOW, NULL, &ev), 1);
    ck_assert_int_eq(ev.kind, BG_MTALOG_BOUNCED);
    ck_assert(ev.truncated);
    ck_assert_int_eq((int)strlen(ev.recipient), (int)sizeof(ev.recipient) - 1);
    ck_assert_int_eq((int)strlen(ev.reply), (int)sizeof(ev.reply) - 1);
    ck_assert_str_eq(ev.command, "RCPT TO");
    ck_assert_str_eq(ev.dsn, "5.1.1");
    free(l);
}
END_TEST

START_TEST(binary_and_nul_bytes)
{
    char line[] = "Nov 23 12:00:00 h postfix/smtp[1]: 1A2B3C4D5E: to=<a\0b\n@x>, "
                  "relay=none, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (550 "
                  "\x1b[31m evil)";
    bg_mtalog_event ev;
    size_t i;
    unsigned int seed = 1;
    char *junk = malloc(1 << 20);

    ck_assert_int_eq(bg_mtalog_parse(line, sizeof(line) - 1, NOW, NULL, &ev), 1);
    ck_assert_str_eq(ev.recipient, "a?b?@x");
    ck_assert_str_eq(ev.reply, "550 ?[31m evil");
    for (i = 0; i < (1 << 20); i++)
        junk[i] = (char)(rand_r(&seed) & 0xff);
    ck_assert_int_eq(bg_mtalog_parse(junk, 1 << 20, NOW, NULL, &ev), 0);
    /* Every prefix of a real line parses without reading past it. */
    for (i = 0; i <= strlen(cases[0].line); i++)
        bg_mtalog_parse(cases[0].line, i, NOW, NULL, &ev);
    free(junk);
}
END_TEST

/* log_syslog_names and log_delivery_agents decide which tags are records. */
START_TEST(configured_names)
{
    static const char *const names_out[] = {"postfix-out"};
    static const char *const agents_slow[] = {"smtp", "slow"};
    bg_mtalog_names out = {names_out, 1, agents_slow, 2};
    bg_mtalog_event ev;
    char l[512];
    const char *rest = "1A2B3C4D5E: to=<x@y.example>, relay=mx[192.0.2.1]:25, delay=1, "
                       "delays=0/0/0/1, dsn=5.1.1, status=bounced (no)";
    static const struct {
        const char *tag;
        int ret;
    } tags[] = {
        {"postfix-out/smtp", 1},
        {"postfix-out/slow/smtp", 1},
        {"postfix-out/slow", 1},
        {"postfix/smtp", 0},
        {"postfix-out/lmtp", 0},
        {"postfix-out/submission/smtp", 0},
        {"postfix-out/slow/smtpd", 0},
        {"postfix-out/smtp/slow/smtp", 0},
        {"postfix-outx/smtp", 0},
        {"xpostfix-out/smtp", 0},
        {"postfix-out", 0},
        {"postfix-out/", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        snprintf(l, sizeof(l), "Nov 23 12:00:00 h %s[7]: %s", tags[i].tag, rest);
        ck_assert_msg(bg_mtalog_parse(l, strlen(l), NOW, &out, &ev) == tags[i].ret,
                      "%s: expected %d", tags[i].tag, tags[i].ret);
        if (tags[i].ret)
            ck_assert_str_eq(ev.program, tags[i].tag);
    }
    /* Sendmail's tags are not configured: sm-mta and sendmail, always. */
    l[0] = '\0';
    snprintf(l, sizeof(l), "%s", case_line("sendmail bounced"));
    ck_assert_int_eq(bg_mtalog_parse(l, strlen(l), NOW, &out, &ev), 1);
    /* No names at all: no Postfix line is a record. */
    out.nsyslog_names = 0;
    l[0] = '\0';
    snprintf(l, sizeof(l), "Nov 23 12:00:00 h postfix-out/smtp[7]: %s", rest);
    ck_assert_int_eq(bg_mtalog_parse(l, strlen(l), NOW, &out, &ev), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mtalog");
    TCase *tc = tcase_create("mtalog");
    SRunner *sr;
    int failed;

    setenv("TZ", "UTC", 1);
    tzset();
    tcase_add_loop_test(tc, table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, fields_beyond_basics);
    tcase_add_test(tc, configured_names);
    tcase_add_test(tc, year_rollover);
    tcase_add_test(tc, sendmail_dsn_from_the_reply);
    tcase_add_test(tc, long_fields_are_cut_not_overrun);
    tcase_add_test(tc, binary_and_nul_bytes);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
