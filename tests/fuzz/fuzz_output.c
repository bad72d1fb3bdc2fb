/*
 * fuzz_output — libFuzzer harness for what prints hostile bytes: the
 * sanitiser (bg_sanitize_mem, bg_buf_sanitized), the JSON writer
 * (bg_json_stringn) and the HTML text of `bounceguard report`
 * (bg_html_text).  Any input must give printable, valid UTF-8 that never
 * exceeds its limit and is always terminated, a JSON string that jansson
 * parses back, and HTML text with no < > " ' and no & but an entity's.
 * Built and run by tests/fuzz/build.sh.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/json_out.h"
#include "bounceguard/report_html.h"
#include "bounceguard/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 with no control, DEL, C1 or bidi character, or abort. */
static void
assert_printable(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = bg_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || bg_unicode_is_format_control(cp))
            abort();
        i += n;
    }
}

/* Printable, and markup-free: no < > " ', and & only as one of the five
 * entities bg_html_text writes; or abort. */
static void
assert_html_text(const char *s, size_t len)
{
    static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

    assert_printable(s, len);
    for (size_t i = 0; i < len; i++) {
        bool ok = false;
        if (strchr("<>\"'", s[i]) != NULL)
            abort();
        if (s[i] != '&')
            continue;
        for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++)
            ok = ok || strncmp(s + i, entities[e], strlen(entities[e])) == 0;
        if (!ok)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t lim = size ? data[0] : 0; /* the first byte picks a size */
    char dst[300];
    bg_buf b = BG_BUF_INIT;

    size_t used = bg_sanitize_mem(dst, lim + 1, in, size, lim);
    size_t n = strnlen(dst, lim + 1);
    if (n > lim || used > size)
        abort();
    assert_printable(dst, n);
    bg_buf_sanitized(&b, in, size);
    assert_printable(bg_buf_str(&b), b.len);
    /* the cut form is a prefix of the whole one */
    if (strncmp(bg_buf_str(&b), dst, n) != 0)
        abort();

    bg_buf_reset(&b);
    bg_buf_putc(&b, '[');
    bg_json_stringn(&b, in, size);
    bg_buf_putc(&b, ']');
    json_error_t jerr;
    json_t *v = json_loads(bg_buf_str(&b), JSON_ALLOW_NUL, &jerr);
    if (v == NULL || !json_is_string(json_array_get(v, 0)))
        abort();
    json_decref(v);

    char *text = bg_xstrndup(in, size); /* up to a NUL, as a C string from the store */
    bg_buf_reset(&b);
    bg_html_text(&b, text, 0);
    assert_html_text(bg_buf_str(&b), b.len);
    bg_buf_reset(&b);
    bg_html_text(&b, text, lim);
    assert_html_text(bg_buf_str(&b), b.len);
    free(text);
    bg_buf_free(&b);
    return 0;
}
