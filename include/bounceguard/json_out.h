/*
 * json_out — the one writer of JSON strings.  Every JSON line a program
 * prints (`bounceguard --json ...`, `bounceguard-dsn parse --json`, the
 * export) writes its strings here, so every one of them is valid UTF-8 and
 * valid JSON whatever bytes the store or a bounce held.
 *
 * The rules (RFC 8259 strings, written into a bg_buf):
 *   - valid UTF-8 is copied as it is (é, 中文), so valid input gives the same
 *     bytes as it always did;
 *   - '"' and '\' are escaped; LF, CR and tab as \n, \r, \t; the other C0
 *     controls and DEL as \u00HH;
 *   - characters a terminal acts on — C1 controls U+0080..U+009F, the bidi
 *     controls and U+2028/U+2029 (bg_unicode_is_format_control, util.h) —
 *     as \uHHHH: valid JSON that parses back to the same character, and
 *     `cat` of the output cannot drive the terminal;
 *   - every byte that is not part of valid UTF-8 (a raw 0x9B, an overlong
 *     form, a surrogate, > U+10FFFF, a sequence cut short) becomes \ufffd,
 *     U+FFFD REPLACEMENT CHARACTER, one per byte: the field is kept and its
 *     length hints at what was lost.  Such strings do not round-trip.
 * Unlike jansson's json_string() this never refuses its input (no NULL, no
 * field silently dropped), and it needs no allocation beyond the bg_buf.
 */
#ifndef BOUNCEGUARD_JSON_OUT_H
#define BOUNCEGUARD_JSON_OUT_H

#include <stddef.h>

#include "bounceguard/util.h"

/* Append s as a JSON string literal (with its quotes); NULL appends null. */
void bg_json_string(bg_buf *b, const char *s);

/* The same for the n bytes at s, which may hold NULs (written as \u0000);
 * s NULL appends null. */
void bg_json_stringn(bg_buf *b, const char *s, size_t n);

#endif
