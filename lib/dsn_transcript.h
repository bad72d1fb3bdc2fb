/*
 * dsn_transcript — which SMTP command a recipient's refusal answered, and the
 * whole of a multi-line reply, read from the session transcript that Sendmail
 * writes into its notice.
 */
#ifndef BOUNCEGUARD_DSN_TRANSCRIPT_H
#define BOUNCEGUARD_DSN_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

/* The SMTP command that the recipient rcpt's refusal answered, from the
 * session transcript in a Sendmail notice[len] (">>> RCPT To:<...>", "<<<
 * 550 ...", "550 5.1.1 <rcpt>... User unknown"), as a phrase that
 * bg_reply_classify_ctx() reads ("in reply to RCPT TO command"); diag (may be
 * NULL) is the recipient's diagnostic, for a reply that names no address.
 * NULL when the transcript does not say (lib/dsn_transcript.c). */
const char *dsn_transcript_step(const char *notice, size_t len, const char *rcpt,
                                const char *diag);

/* The whole of a multi-line reply whose first line (first: "550-Mailbox
 * unknown ...", all that Sendmail puts in the Diagnostic-Code) the
 * transcript in notice[len] shows, its lines joined by a space; NULL when
 * first is not the start of a multi-line reply there.  The caller frees. */
char *dsn_transcript_reply(const char *notice, size_t len, const char *first);

/* The reply that deferred rcpt, as Sendmail's verdict on it quotes its first
 * line in the transcript of notice[len] ("<rcpt>... Deferred: 421-4.7.0
 * ..."): a Sendmail DSN for mail it gave up on after a 4xx (Status 4.4.7)
 * has an empty Diagnostic-Code, and a refused greeting has no other trace
 * of the remote's words.  NULL when there is none.  The caller frees. */
char *dsn_transcript_deferred(const char *notice, size_t len, const char *rcpt);

#endif
