/*
 * json_out.c — see include/bounceguard/json_out.h.
 */
#include <stdint.h>
#include <string.h>

#include "bounceguard/json_out.h"

static void
put_u(bg_buf *b, uint32_t cp)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {
        '\\',        'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
        hex[cp & 15]};

    bg_buf_append(b, esc, sizeof(esc));
}

void
bg_json_stringn(bg_buf *b, const char *s, size_t n)
{
    size_t i = 0, run = 0;

    if (s == NULL) {
        bg_buf_puts(b, "null");
        return;
    }
    bg_buf_putc(b, '"');
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t len;

        /* Plain printable ASCII and ordinary UTF-8 go out in runs. */
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        len = c >= 0x80 ? bg_utf8_decode(s + i, n - i, &cp) : 1;
        if (len > 1 && !bg_unicode_is_format_control(cp)) {
            i += len;
            run += len;
            continue;
        }
        bg_buf_append(b, s + i - run, run);
        run = 0;
        if (len == 0) {
            put_u(b, 0xfffd);
            i++;
            continue;
        }
        i += len;
        if (len > 1)
            put_u(b, cp);
        else if (c == '"')
            bg_buf_puts(b, "\\\"");
        else if (c == '\\')
            bg_buf_puts(b, "\\\\");
        else if (c == '\n')
            bg_buf_puts(b, "\\n");
        else if (c == '\r')
            bg_buf_puts(b, "\\r");
        else if (c == '\t')
            bg_buf_puts(b, "\\t");
        else
            put_u(b, c); /* the other C0 controls, DEL */
    }
    bg_buf_append(b, s + i - run, run);
    bg_buf_putc(b, '"');
}

void
bg_json_string(bg_buf *b, const char *s)
{
    bg_json_stringn(b, s, s ? strlen(s) : 0);
}

/* ---- one JSON object ---------------------------------------------------- */

void
bg_json_obj_begin(bg_json_obj *o)
{
    bg_buf_reset(&o->b);
    bg_buf_putc(&o->b, '{');
    o->any = false;
}

static void
obj_key(bg_json_obj *o, const char *key)
{
    if (o->any)
        bg_buf_puts(&o->b, o->spaced ? ", " : ",");
    o->any = true;
    bg_json_string(&o->b, key);
    bg_buf_puts(&o->b, o->spaced ? ": " : ":");
}

void
bg_json_obj_str(bg_json_obj *o, const char *key, const char *value)
{
    obj_key(o, key);
    bg_json_string(&o->b, value);
}

void
bg_json_obj_int(bg_json_obj *o, const char *key, long long value)
{
    obj_key(o, key);
    bg_buf_printf(&o->b, "%lld", value);
}

void
bg_json_obj_bool(bg_json_obj *o, const char *key, bool value)
{
    obj_key(o, key);
    bg_buf_puts(&o->b, value ? "true" : "false");
}

void
bg_json_obj_time(bg_json_obj *o, const char *key, int64_t t)
{
    char iso[40];

    obj_key(o, key);
    if (t == 0)
        bg_buf_puts(&o->b, "null");
    else
        bg_json_string(&o->b, bg_time_iso(iso, sizeof(iso), t));
}

void
bg_json_obj_raw(bg_json_obj *o, const char *key, const char *json)
{
    obj_key(o, key);
    bg_buf_puts(&o->b, json);
}

const char *
bg_json_obj_close(bg_json_obj *o)
{
    bg_buf_putc(&o->b, '}');
    return bg_buf_str(&o->b);
}

void
bg_json_obj_free(bg_json_obj *o)
{
    bg_buf_free(&o->b);
}
