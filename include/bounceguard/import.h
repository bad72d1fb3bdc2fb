/*
 * import — a blacklist read in from a file: bounceguard's own export (JSON
 * lines, `bounceguard export`) restored as it was, or an email service's
 * suppression list applied as the bounces it records.  The format is
 * detected from the text:
 *
 *   our JSON lines     {"address", "first_bounce", "last_bounce", "expires",
 *                      "state", ...}: restored as they were (a backup); an
 *                      entry in the store updated later than the line wins
 *   Amazon SES         `aws sesv2 list-suppressed-destinations` output:
 *                      {"SuppressedDestinationSummaries": [{"EmailAddress",
 *                      "Reason": BOUNCE|COMPLAINT, "LastUpdateTime"}]}
 *   SendGrid           bounces CSV (email,created,reason,status) or JSON
 *                      ([{"email","created","reason","status"}])
 *   Mailgun            bounces CSV (address,code,error,created_at) or JSON
 *                      ({"items": [{"address","code","error","created_at"}]})
 *
 * What an entry does to its recipient is the policy's
 * (bg_policy_import_foreign, bg_policy_import_restore); its status code is
 * found by the reply parser (bg_reply_status_from_text) and its reason by
 * bg_policy_import_reason.  The CLI (`bounceguard import`) only opens the
 * files, hands their text here and prints the counts.
 */
#ifndef BOUNCEGUARD_IMPORT_H
#define BOUNCEGUARD_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bounceguard/config.h"
#include "bounceguard/store.h"

/* What the import of one file did. */
typedef struct bg_import_result {
    const char *format;        /* "bounceguard", "Amazon SES", "SendGrid",
                                * "Mailgun", "CSV" or "unknown"; static */
    unsigned long imported;    /* entries written (dry run: valid) */
    unsigned long blacklisted; /* of those, blacklisted at now */
    unsigned long skipped;     /* known already, or never_blacklist */
    unsigned long bad;         /* entries refused (each told to bad_fn) */
} bg_import_result;

/* Told of each refused entry: where ("3" = line 3, "entry 2") and why (the
 * text may hold bytes of the file: make it printable before showing it). */
typedef void bg_import_bad_fn(const char *where, const char *why, void *arg);

/*
 * Import the text of one file (len bytes, any content: a UTF-8 byte order
 * mark is skipped, binary data refused as one bad entry).  st NULL is a dry
 * run: each entry is judged on its own, nothing is read or written.  A bad
 * entry is told to bad_fn (may be NULL) and the import goes on.  Fills
 * *res.  Returns 0, or -1 when the store failed (err set): the import stops
 * there, *res counts what was done before.
 */
int bg_import_text(bg_store *st, const bg_config *cfg, const char *text, size_t len,
                   int64_t now, bg_import_bad_fn *bad_fn, void *bad_arg,
                   bg_import_result *res, bg_error *err);

#endif
