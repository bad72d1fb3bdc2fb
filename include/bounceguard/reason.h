/*
 * reason — the bounce vocabulary: the reasons a failure can have (those of
 * Sisimai: userunknown, mailboxfull, blocked, ...), whom each is about (its
 * scope: the recipient, the relay, the sender, the message, a transient
 * state) and the SMTP stage a reply answered.  Names only; which reason a
 * reply has is decided in bounceguard/reply.h, what follows from it in
 * bounceguard/policy.h.
 */
#ifndef BOUNCEGUARD_REASON_H
#define BOUNCEGUARD_REASON_H

#include <stdbool.h>

/* Whom a failure is about, above the reason: only a permanent failure about
 * the recipient can blacklist it, one about the relay is an incident
 * (lib/policy.c decides). */
typedef enum bg_bounce_scope {
    BG_SCOPE_UNKNOWN = 0,
    BG_SCOPE_RECIPIENT, /* the mailbox or its domain: dead, disabled, moved, no mail */
    BG_SCOPE_RELAY,  /* the sending relay's IP or name: a DNSBL, a provider's blocklist */
    BG_SCOPE_SENDER, /* the envelope sender: address, domain, SPF/DKIM/DMARC, account */
    BG_SCOPE_MESSAGE,   /* this message: content, size, virus, loop */
    BG_SCOPE_TRANSIENT, /* rate, greylisting, busy, a full mailbox for now */
    BG_SCOPE_NONE,      /* not a failure: delivered, relayed, an auto-reply */
} bg_bounce_scope;

/* The SMTP command a remote reply answered, when the bounce says. */
typedef enum bg_smtp_stage {
    BG_STAGE_UNKNOWN = 0,
    BG_STAGE_CONNECT, /* the greeting, EHLO/HELO */
    BG_STAGE_MAIL,    /* MAIL FROM */
    BG_STAGE_RCPT,    /* RCPT TO */
    BG_STAGE_DATA,    /* DATA or the end of the message */
} bg_smtp_stage;

/* "recipient", "relay", ... and "connect", "mail", "rcpt", "data", "" */
const char *bg_scope_name(bg_bounce_scope s);
const char *bg_stage_name(bg_smtp_stage s);

/* true when name is one of the reason names of the vocabulary. */
bool bg_reason_is_valid(const char *name);

/* The scope a reason of the vocabulary has when nothing more specific is
 * known (a named list makes it the relay, a provider row decides itself). */
bg_bounce_scope bg_reason_scope(const char *reason);

/* true when reason is a hard bounce for this status ("userunknown" with 5.x.x). */
bool bg_reason_is_hard(const char *reason, const char *status);

#endif
