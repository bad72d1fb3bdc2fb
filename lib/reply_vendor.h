/*
 * reply_vendor — reasons that a provider's own codes or reply formats state outright
 * and that need code rather than a table row (a number inside a code mapped
 * to a reason, a wording that means one thing only from one provider's
 * servers).
 */
#ifndef BOUNCEGUARD_REPLY_VENDOR_H
#define BOUNCEGUARD_REPLY_VENDOR_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/reply.h"
#include "bounceguard/textmatch.h"

/* A reason that a provider's own error code or reply format states
 * NULL when none; *decided tells whether it overrides
 * the status code.  low is lower case, pp its byte pairs
 * (bg_text_pairs_init()); ctx (may be NULL) names the recipient and the remote
 * server. */
const char *reply_vendor_reason(const char *low, const bg_text_pairs *pp,
                                const bg_reply_context *ctx, bool *decided);

#endif
