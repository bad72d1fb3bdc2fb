/*
 * dsn_priv — helpers shared by lib/dsn.c (RFC 3464, ARF, auto-replies, the
 * report), lib/dsn_text.c (human-readable bounces) and lib/dsn_reason.c (the
 * classifier).  Not part of the library's interface.
 */
#ifndef BOUNCEGUARD_DSN_PRIV_H
#define BOUNCEGUARD_DSN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/dsn.h"
#include "bounceguard/mime.h"
#include "bounceguard/util.h"

/* The first e-mail address in s (after "rfc822;" and inside <> if any),
 * lower case; NULL when s holds none.  The caller frees the result. */
char *dsn_addr_canon(const char *s);

/* true when c may be part of an address's local part (dsn_addr_len()). */
bool dsn_addr_byte(unsigned char c);

/* Length of the address starting exactly at s (local@domain), 0 if none. */
size_t dsn_addr_len(const char *s);

/* Append s[len] to b with runs of white space (CR, LF, tabs) folded into one
 * space, stopping once b holds BG_DSN_TEXT_MAX bytes (lib/dsn_bytes.c). */
void dsn_collapse(bg_buf *b, const char *s, size_t len);

/* Cut s (may be NULL) in place to at most max bytes, at a UTF-8 character
 * boundary. */
void dsn_cap_text(char *s, size_t max);

/* Add a recipient (addr may be NULL) and return it; an address already in
 * the report returns the existing entry, NULL when the report is full. */
bg_dsn_rcpt *dsn_rcpt_add(bg_dsn_report *r, const char *addr, bool *existed);

/* true when the header block looks like a bounce notice (daemon sender,
 * bounce subject, X-Failed-Recipients). */
bool dsn_looks_like_bounce(const bg_mime_headers *h);

/*
 * Find recipients and their diagnostics in a human-readable notice text[len]
 * (already cut before the returned message) and add them to r.  skip1 and
 * skip2 are addresses that are never recipients (the notice's own From and
 * To), may be NULL.  Returns the number of recipients added.
 */
size_t dsn_text_scan(const char *text, size_t len, const char *skip1, const char *skip2,
                     bg_dsn_report *r);

/* The diagnostic that the notice text[len] gives for addr (the lines after
 * the address), collapsed, or NULL.  The caller frees the result. */
char *dsn_text_diag_for(const char *text, size_t len, const char *addr);

/* Where the returned original message starts inside a notice text[len]
 * (a "copy of the message follows" line or a block of header fields);
 * len when it is not found. */
size_t dsn_text_cut(const char *text, size_t len);

/* The remote server named in a diagnostic or notice ("host mx.example.com
 * [192.0.2.1] said"), or NULL.  The caller frees the result. */
char *dsn_text_remote_mta(const char *text, size_t len);

/* What else a bounce says about one recipient, beyond the status code and
 * the remote server's text; any field may be NULL. */
typedef struct dsn_context {
    const char *notice;    /* the notice's own text about the recipient (the
                            * SMTP command, the MTA's wording) */
    const char *diag_type; /* the Diagnostic-Code type: "smtp", "x-unix" */
    const char *action;    /* RFC 3464 Action: "failed", "delayed" */
    const char *recipient; /* the failed address */
    const char *rhost;     /* the remote server */
    const char *reporter;  /* the MTA that wrote the bounce (Reporting-MTA) */
} dsn_context;

/* bg_dsn_classify() with the context of the bounce (ctx may be NULL). */
void dsn_classify_ctx(const char *status, const char *diagnostic, const dsn_context *ctx,
                      bg_dsn_class *out);

/* A reason that a provider's own error code or reply format states
 * (lib/dsn_vendor.c), NULL when none; *decided tells whether it overrides
 * the status code.  low is lower case, pp its byte pairs
 * (dsn_pairs_init()); ctx (may be NULL) names the recipient and the remote
 * server. */
/* A copy of s (at most max bytes, up to a NUL) with ASCII capitals made
 * small, like bg_ascii_lower(bg_xstrndup(s, max)) (lib/dsn_bytes.c); the
 * caller frees it. */
char *dsn_lower_dup(const char *s, size_t max);

struct dsn_pairs;
const char *dsn_vendor_reason(const char *low, const struct dsn_pairs *pp, const dsn_context *ctx,
                              bool *decided);

/* The reason an fml mailing list gives for refusing a post (header block h,
 * notice body[len]), NULL when the message is not such a notice. */
const char *dsn_vendor_mlserver(const bg_mime_headers *h, const char *body, size_t len);

/* The reason that the phrases of the lower-case text low (pp: its byte
 * pairs, dsn_pairs_init()) name, NULL when none matches (lib/dsn_phrases.c);
 * *phrase (phrase may be NULL) gets the phrase that matched. */
const char *dsn_phrase_reason(const char *low, const struct dsn_pairs *pp, const char **phrase);

/* Name the recipients of a delivery-status report whose Final-Recipient is
 * not an address: from the addresses the notice text[cut] names (skip is
 * never one), else from the returned message's To (orig, may be NULL) when
 * one recipient is unnamed (lib/dsn_family.c). */
void dsn_name_unnamed(bg_dsn_report *r, const char *notice, size_t cut, const char *skip,
                      const bg_mime_headers *orig);

/* Reasons that only the whole notice of a family decides (qmail's own
 * notice: qmail-remote's connection failures are networkerror), applied to
 * the classified recipients of r; notice[len] is the notice text
 * (lib/dsn_family.c). */
void dsn_family_adjust(const char *notice, size_t len, bg_dsn_report *r);

/* What a family's fixed layout says of the diagnostic *diag (may be
 * NULL; replaced or cut in place): Gmail's preamble before the quoted
 * reply and Amazon SES's before "550-'...'" dropped, a multi-line reply
 * completed from the transcript in notice[nlen] (may be NULL).  *step is
 * set to a phrase naming the SMTP command when the layout tells it, else
 * NULL.  Returns the reason the layout decides, NULL when none
 * (lib/dsn_family.c). */
const char *dsn_family_reply(char **diag, const char *notice, size_t nlen, const char **step);

/* The SMTP command that the recipient rcpt's refusal answered, from the
 * session transcript in a Sendmail notice[len] (">>> RCPT To:<...>", "<<<
 * 550 ...", "550 5.1.1 <rcpt>... User unknown"), as a phrase that
 * dsn_classify_ctx() reads ("in reply to RCPT TO command"); diag (may be
 * NULL) is the recipient's diagnostic, for a reply that names no address.
 * NULL when the transcript does not say (lib/dsn_transcript.c). */
const char *dsn_transcript_step(const char *notice, size_t len, const char *rcpt,
                                const char *diag);

/* Read an Amazon SES notification (JSON: notificationType or eventType
 * Bounce, Complaint, Delivery; bare or inside an SNS envelope) in text[len]
 * and add its recipients to r, classified and finished (reason, status,
 * action, hard), with r->kind set.  Returns true when text holds one with at
 * least one recipient, false (r untouched but for nothing) otherwise
 * (lib/dsn_ses.c). */
bool dsn_ses_read(const char *text, size_t len, bg_dsn_report *r);

/* The byte pairs that a text holds (lib/dsn_match.c), to skip substring
 * searches that cannot succeed. */
typedef struct dsn_pairs {
    uint64_t bits[64];
} dsn_pairs;

/* A needle with the pairs that dsn_needle_may() checks. */
typedef struct dsn_needle {
    const char *s;
    size_t len;
    uint16_t pairs[8];
    size_t npairs;
} dsn_needle;

/* The bit of the pair p[0], p[1] in dsn_pairs: the low six bits of both
 * bytes (exact for lower-case ASCII letters, digits and most punctuation). */
static inline unsigned
dsn_pair_hash(const char *p)
{
    return ((unsigned)((unsigned char)p[0] & 63u) << 6) | ((unsigned char)p[1] & 63u);
}

/* How likely English text has byte c: higher for the more common letters
 * (" etaoinsrhldcumfpgwybvkxjqz", most common first), 0 for other bytes
 * (digits, punctuation, capitals) (the table is in lib/dsn_match.c). */
extern const unsigned char dsn_byte_rank[256];

static inline int
dsn_byte_commonness(char c)
{
    return dsn_byte_rank[(unsigned char)c];
}

/* bg_memcasemem() (the same result: the first match, ASCII case folded),
 * looking for the needle's least common byte rather than its first
 * (lib/dsn_bytes.c). */
const char *dsn_memcasemem(const char *hay, size_t len, const char *needle);

/* Note the byte pairs of text[len]. */
void dsn_pairs_init(dsn_pairs *pp, const char *text, size_t len);

/* Prepare the NUL-terminated needle s (kept by reference) for
 * dsn_needle_may(). */
void dsn_needle_init(dsn_needle *nd, const char *s);
/* The same for the first n bytes of s (a needle with a wildcard after it). */
void dsn_needle_initn(dsn_needle *nd, const char *s, size_t n);

/* false when the needle cannot occur in the text whose pairs pp holds;
 * true when it may.  Inline: the classifier asks it for every phrase. */
static inline bool
dsn_needle_may(const dsn_pairs *pp, const dsn_needle *nd)
{
    for (size_t k = 0; k < nd->npairs; k++)
        if (!((pp->bits[nd->pairs[k] >> 6] >> (nd->pairs[k] & 63)) & 1u))
            return false;
    return true;
}

/* bg_reply_rules_find() for a text whose byte pairs pp holds: a row's
 * search runs only when all its rarest pairs are there (lib/reply_rules.c). */
struct bg_reply_rules;
struct bg_reply_rule;
const struct bg_reply_rule *dsn_reply_rule_find(const struct bg_reply_rules *extra,
                                                const char *low, const dsn_pairs *pp);

#endif
