/*
 * verp_pass.h — the VERP side of `bounceguard-dsn pipe`: is the envelope
 * recipient a signed bounces+TOKEN@verp_domain address, does its token
 * verify, and passing the DSN on to the original sender afterwards.
 */
#ifndef BOUNCEGUARD_DSN_VERP_PASS_H
#define BOUNCEGUARD_DSN_VERP_PASS_H

#include <stddef.h>

#include "intake.h"

/* The command that re-injects a DSN; "-f <> -- ORIGINAL_SENDER" is appended
 * (the null sender, so that a failure cannot loop). */
#define VERP_DEFAULT_REINJECT "/usr/sbin/sendmail -i"

typedef enum verp_check {
    VERP_NOT_VERP = 0, /* not an address at verp_domain (or VERP is off) */
    VERP_VERIFIED,     /* the token verified: vp is filled */
    VERP_FORGED,       /* at verp_domain, but not a valid token (logged) */
    VERP_UNKNOWN, /* genuine, but expired or its message is no longer known (logged) */
    VERP_STORE_ERROR, /* the store is unavailable: retry later (logged) */
} verp_check;

typedef struct verp_pass {
    char sender_id[300];   /* identity whose message the token names */
    char orig_sender[300]; /* the envelope sender the relay received from it */
    char message_key[80];  /* the message key (queue ID) of the token */
    char rcpt[300];        /* the recipient a bound token names, else "" */
} verp_pass;

/*
 * Check the envelope recipient of the piped message (may be "") with
 * bg_learn_return_path_check: mail to verp_domain must be a
 * bounces+TOKEN@verp_domain address whose token verifies and names a message
 * the store still knows; anything else at verp_domain is a forgery and
 * nothing is learned from it.  Only for a valid token is vp filled.
 */
verp_check verp_pass_check(intake *in, const char *recipient, verp_pass *vp);

/*
 * Pass msg[len] on to vp->orig_sender with the command `reinject` (split at
 * blanks, no shell), the null envelope sender and the DSN on stdin; a
 * leading Return-Path: header (pipe flag R) is left out.  Returns 0 (also
 * when the original sender was the null sender: nothing is passed on, so a
 * bounce never loops), or -1 (logged) when the command fails.
 */
int verp_pass_on(const verp_pass *vp, const char *reinject, const char *msg, size_t len);

#endif
