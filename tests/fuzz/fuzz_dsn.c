/*
 * fuzz_dsn — libFuzzer harness for the bounce parser (bg_dsn_parse, and
 * through it the MIME walker and the classifier).  Built and run by
 * tests/fuzz/build.sh with -fsanitize=fuzzer,address,undefined.  Besides
 * memory errors it checks the report's invariants: every reason is in the
 * vocabulary, recipients are lower case, strings are bounded.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/dsn.h"
#include "bounceguard/mime.h"
#include "bounceguard/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bg_dsn_report *r = NULL;
    bg_error err;
    if (bg_dsn_parse((const char *)data, size, &r, &err) < 0) {
        if (size != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < r->nrcpts; i++) {
        const bg_dsn_rcpt *rc = &r->rcpts[i];
        if (!bg_reason_is_valid(rc->reason))
            abort();
        if (rc->recipient)
            for (const char *p = rc->recipient; *p; p++)
                if (isupper((unsigned char)*p))
                    abort();
        if (rc->diagnostic && strlen(rc->diagnostic) > BG_DSN_TEXT_MAX + 8)
            abort();
    }
    if (r->nrcpts > BG_DSN_MAX_RCPTS)
        abort();
    bg_dsn_report_free(r);

    /* The classifier alone, on the input as text. */
    char *text = strndup((const char *)data, size < 4096 ? size : 4096);
    bg_reply_class cl;
    bg_reply_classify(text, text, &cl);
    if (!bg_reason_is_valid(cl.reason))
        abort();
    char *w = bg_mime_decode_words(text);
    free(w);
    free(text);
    return 0;
}
