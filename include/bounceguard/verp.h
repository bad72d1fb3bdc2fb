/*
 * verp — signed VERP return paths: bounces+TOKEN@verp_domain.
 *
 * The milter rewrites the envelope sender to such an address; a DSN that
 * comes back to it is trusted only if the token's signature verifies, so a
 * forged bounce cannot blacklist anybody.
 *
 * What the token carries.  A local part is at most 64 octets and MTAs may
 * lower-case it, so the token is lower-case base32 (RFC 4648 alphabet, no
 * padding) and cannot hold the sender identity, the original envelope
 * sender and the recipient.  It carries a short MESSAGE KEY instead, and the
 * store keeps the mapping key -> (identity, envelope sender, recipients):
 *
 *   byte 0       version: 1 = the token names a message; 2 = it also binds
 *                the one recipient the message was sent to
 *   bytes 1..4   time the token was made, seconds since 1970, big-endian
 *   bytes 5..    the message key, 1..20 printable ASCII octets: the MTA's
 *                queue ID (the key of the store's sent-messages records), or
 *                bg_verp_make_key()'s 16 hex digits naming a tuple
 *   last 10      MAC: HMAC-SHA256(secret, "bounceguard-verp-1" 0x00 bytes
 *                0..end of key [version 2: then the recipient and 0x00]),
 *                cut to 80 bits
 *
 * Why version 2.  A message-bound token is seen by every recipient of the
 * message (it is the Return-Path), so one recipient could put it on a forged
 * DSN about another.  The milter makes a recipient-bound token when the
 * message has one recipient: the token then proves the bounce came back from
 * that recipient's side.  The recipient is not in the token (64 octets are
 * too few); the verifier takes it from the store's record of the message and
 * the MAC decides.  For a message of several recipients the token stays
 * message-bound and lib/learn.c asks for more (docs/ARCHITECTURE.md).
 *
 * A 10-octet Postfix queue ID gives a 40-character token; the longest key
 * (20) gives 56, which with "bounces+" is exactly 64.
 *
 * Verification is case-insensitive, constant-time in the MAC comparison,
 * and strict: non-canonical base32 (stray trailing bits) is malformed, so
 * every changed character is caught.  Tokens from the future (clock skew
 * between relays) are accepted.  A bg_verp is read-only after creation and
 * may be shared by threads.
 */
#ifndef BOUNCEGUARD_VERP_H
#define BOUNCEGUARD_VERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/util.h"

#define BG_VERP_KEY_MAX 20    /* octets of a message key */
#define BG_VERP_TOKEN_MAX 56  /* characters of a token */
#define BG_VERP_SECRET_MIN 16 /* octets of secret, at least */

typedef struct bg_verp bg_verp;

typedef enum bg_verp_status {
    BG_VERP_OK = 0,
    BG_VERP_MALFORMED,     /* not a token of ours: bad characters, length, version */
    BG_VERP_BAD_SIGNATURE, /* well-formed, but the MAC does not match: forged/damaged */
    BG_VERP_EXPIRED,       /* genuine but older than max_age */
} bg_verp_status;

/* A signer/verifier for secret[len] (len >= BG_VERP_SECRET_MIN; the secret is
 * copied).  Returns NULL with err set when the secret is too short.  Release
 * with bg_verp_free(). */
bg_verp *bg_verp_new(const void *secret, size_t len, bg_error *err);

/* The same from a file (verp_secret_file): its whole content is the secret,
 * a trailing newline excepted.  NULL with err set if it cannot be read or is
 * too short.  A file that group or others may read is accepted with a
 * warning in the log. */
bg_verp *bg_verp_load(const char *path, bg_error *err);

/* Wipe the secret and free; returns NULL. */
bg_verp *bg_verp_free(bg_verp *v);

/*
 * Make the token for message key `key` at time `when` into out[outsize]
 * (outsize > BG_VERP_TOKEN_MAX always suffices); rcpt (canonical address)
 * makes a recipient-bound token, NULL or "" a message-bound one.  Returns the
 * token length, or -1 with err set: empty, too long or non-printable key,
 * when outside 0..2^32-1, out too small.
 */
int bg_verp_encode(const bg_verp *v, const char *key, const char *rcpt, int64_t when,
                   char *out, size_t outsize, bg_error *err);

/*
 * What a token says without checking its MAC: the key into key[keysize]
 * and whether it is recipient-bound.  For finding the record that holds the
 * recipient a bound token needs; nothing read here is to be believed until
 * bg_verp_verify() says so.  0, or -1 when it is not a token by its form.
 */
int bg_verp_peek(const char *token, char *key, size_t keysize, bool *bound);

/*
 * Verify token (any case).  rcpt: the recipient a bound token must have been
 * made for (ignored for a message-bound token; a bound token with no rcpt
 * does not verify).  now and max_age (seconds; <= 0: never expires) decide
 * expiry.  On BG_VERP_OK and BG_VERP_EXPIRED, the key is copied to
 * key[keysize] (keysize > BG_VERP_KEY_MAX suffices) and *when (if not NULL)
 * set; the key of an expired token is given for logging only.
 */
bg_verp_status bg_verp_verify(const bg_verp *v, const char *token, const char *rcpt,
                              int64_t now, int64_t max_age, char *key, size_t keysize,
                              int64_t *when);

/*
 * The whole return path: "PREFIX+TOKEN@DOMAIN" into out[outsize], the token
 * as bg_verp_encode(key, rcpt, when).  Returns its length, or -1 with err
 * set (as bg_verp_encode, or a local part over 64 octets, or out too small).
 */
int bg_verp_address(const bg_verp *v, const char *prefix, const char *key, const char *rcpt,
                    int64_t when, const char *domain, char *out, size_t outsize,
                    bg_error *err);

/*
 * Is addr (with or without <>) "PREFIX+TOKEN@DOMAIN", prefix and domain
 * compared without case?  Returns 1 and the token in token[tsize], or 0.
 * Says nothing about the token's validity: bg_verp_verify() does.
 */
int bg_verp_match(const char *addr, const char *prefix, const char *domain, char *token,
                  size_t tsize);

/*
 * A message key for a tuple when there is no queue ID at hand: 16 hex
 * digits of HMAC-SHA256(secret, "bounceguard-verp-key-1" 0 identity 0
 * sender 0 recipient 0 when).  Deterministic, so the store can also check a
 * mapping it holds.  Writes into key[keysize >= 17]; returns key.
 */
char *bg_verp_make_key(const bg_verp *v, const char *identity, const char *sender,
                       const char *recipient, int64_t when, char *key, size_t keysize);

/* "ok", "malformed", "bad-signature", "expired". */
const char *bg_verp_status_name(bg_verp_status st);

#endif
