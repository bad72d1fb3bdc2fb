/*
 * reply_rules — what receiving systems document about their own refusals,
 * as data: one row per code or fixed wording, with whom the refusal is about
 * (the scope), the reason, the name of the system that refused (for a
 * refusal of the relay: the incident's name) and where the provider
 * documents it.
 *
 * The built-in rows are the table in lib/reply_rules.c.  An administrator
 * adds rows without recompiling in the file that `reply_rules_file` names,
 * tab-separated, one row per line, the columns of the built-in table:
 *
 *     provider  match  scope  reason  name  source
 *
 * e.g. "example-isp	err-ip-17	relay	blocked	Example ISP IP list
 * https://…". `match` is lower-case text that the reply contains, bounded by anything but
 * a letter or digit on both sides (so "bl21" is not found in "bl210"); a trailing '*'
 * lets letters and digits follow ("bl0000*" finds "BL000010").  `scope` is recipient,
 * relay, sender, message or transient; `reason` a word of the reason vocabulary, or "-"
 * to keep the reason the phrases give.  '#' starts a comment line.  The administrator's
 * rows are tried before the built-in ones, in file order; the first that matches decides.
 */
#ifndef BOUNCEGUARD_REPLY_RULES_H
#define BOUNCEGUARD_REPLY_RULES_H

#include <stddef.h>

#include "bounceguard/reason.h"
#include "bounceguard/textmatch.h"
#include "bounceguard/util.h"

typedef struct bg_reply_rule {
    const char *provider;  /* who documents it: "microsoft", "yahoo", ... */
    const char *match;     /* lower-case text of the reply (see above) */
    bg_bounce_scope scope; /* whom the refusal is about */
    const char *reason;    /* reason vocabulary, NULL: the phrases decide */
    const char *name;      /* the refusing system, "Microsoft S3150" */
    const char *source;    /* where the provider documents the code */
} bg_reply_rule;

/* A table of rows read from a file (the strings belong to it). */
typedef struct bg_reply_rules bg_reply_rules;

/*
 * Read the rows of path.  Returns the table, or NULL with err set to one
 * line naming the file, the line and what is wrong (an unknown scope or
 * reason, a missing column, an empty match, an unreadable file).
 */
bg_reply_rules *bg_reply_rules_load(const char *path, bg_error *err);

/* Free a table (NULL is fine); returns NULL. */
bg_reply_rules *bg_reply_rules_free(bg_reply_rules *r);

/* Number of rows of a table (NULL: 0). */
size_t bg_reply_rules_count(const bg_reply_rules *r);

/*
 * The first row whose match is in the lower-case text low: the rows of
 * extra (may be NULL) first, then the built-in ones; NULL when none.
 */
const bg_reply_rule *bg_reply_rules_find(const bg_reply_rules *extra, const char *low);

/* bg_reply_rules_find() for a text whose byte pairs pp holds: a row's
 * search runs only when all its rarest pairs are there (the classifier
 * notes a text's pairs once for all its tables). */
const bg_reply_rule *bg_reply_rules_find_pairs(const bg_reply_rules *extra,
                                               const char *low, const bg_text_pairs *pp);

/*
 * The administrator's table that the classifier (bg_reply_classify(),
 * bg_dsn_parse()) consults before the built-in one, for the whole process;
 * NULL for none.  The programs set it after loading their configuration;
 * the caller keeps the table alive while it is in use.
 */
void bg_reply_rules_use(const bg_reply_rules *extra);
const bg_reply_rules *bg_reply_rules_in_use(void);

/* The built-in rows, for tests and `bounceguard-dsn explain`. */
const bg_reply_rule *bg_reply_rules_builtin(size_t *n);

#endif
