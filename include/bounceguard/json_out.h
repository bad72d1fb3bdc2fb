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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/util.h"

/* Append s as a JSON string literal (with its quotes); NULL appends null. */
void bg_json_string(bg_buf *b, const char *s);

/* The same for the n bytes at s, which may hold NULs (written as \u0000);
 * s NULL appends null. */
void bg_json_stringn(bg_buf *b, const char *s, size_t n);

/* ---- one JSON object ---------------------------------------------------------
 *
 * The one way a program builds a JSON line (`bounceguard --json ...`,
 * `bounceguard-dsn parse --json`): keys in the order added, every string
 * through bg_json_string.  Compact ({"a":1,"b":2}) as the CLI writes it, or
 * spaced ({"a": 1, "b": 2}) as the DSN parser's golden files hold it.
 */
typedef struct bg_json_obj {
    bg_buf b;
    bool any;    /* a key was written */
    bool spaced; /* ", " and ": " between members and after keys */
} bg_json_obj;

#define BG_JSON_OBJ_INIT                                                                 \
    {                                                                                    \
        BG_BUF_INIT, false, false                                                        \
    }
#define BG_JSON_OBJ_SPACED                                                               \
    {                                                                                    \
        BG_BUF_INIT, false, true                                                         \
    }

/* Start (or start again) an object: "{". */
void bg_json_obj_begin(bg_json_obj *o);
/* A member: value NULL -> null (bg_json_string). */
void bg_json_obj_str(bg_json_obj *o, const char *key, const char *value);
void bg_json_obj_int(bg_json_obj *o, const char *key, long long value);
void bg_json_obj_bool(bg_json_obj *o, const char *key, bool value);
/* A time as ISO 8601 UTC ("2024-05-01T12:00:00Z"); 0 -> null. */
void bg_json_obj_time(bg_json_obj *o, const char *key, int64_t t);
/* A value that is JSON already (an object, an array, null). */
void bg_json_obj_raw(bg_json_obj *o, const char *key, const char *json);
/* Close the object and return its text, owned by o: valid until the next
 * begin or free. */
const char *bg_json_obj_close(bg_json_obj *o);
void bg_json_obj_free(bg_json_obj *o);

#endif
