/*
 * util — memory, error reporting and growing strings for the whole library.
 *
 * Allocation failure is handled here, once: bg_xmalloc() and friends log the
 * failure to stderr and abort(), so no caller ever checks for NULL (Postfix's
 * mymalloc).  Errors that a caller can act on travel as a bg_error filled with
 * one line of text; the library never prints and never exits on them.
 */
#ifndef BOUNCEGUARD_UTIL_H
#define BOUNCEGUARD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BG_ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* The version of the library and of all three programs (one string, so that
 * -V/--version of each says the same). */
#define BG_VERSION "0.1.0"

/* One line of error text; callers pass it down, the callee fills it. */
typedef struct bg_error {
    char msg[512];
} bg_error;

/* Set err (if not NULL) from a format; returns -1 so that callers can write
 * `return bg_error_set(err, ...)`.  The message is always one line: control
 * characters (CR, LF, ...) are replaced by '?'. */
int bg_error_set(bg_error *err, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);

/* Allocators that never return NULL: they abort on exhaustion. */
void *bg_xmalloc(size_t n);
void *bg_xcalloc(size_t count, size_t n);
void *bg_xrealloc(void *p, size_t n);
char *bg_xstrdup(const char *s);
char *bg_xstrndup(const char *s, size_t n);
char *bg_xasprintf(const char *fmt, ...) BG_ATTR_PRINTF(1, 2);

/*
 * bg_buf — a growing, always NUL-terminated string.  Initialise with
 * BG_BUF_INIT or bg_buf_init(); release with bg_buf_free().  The buffer owns
 * its memory; bg_buf_steal() hands it to the caller (who frees it).
 */
typedef struct bg_buf {
    char *s;
    size_t len;
    size_t cap;
} bg_buf;

#define BG_BUF_INIT {NULL, 0, 0}

void bg_buf_init(bg_buf *b);
void bg_buf_free(bg_buf *b);
void bg_buf_reset(bg_buf *b);
void bg_buf_append(bg_buf *b, const char *s, size_t n);
void bg_buf_puts(bg_buf *b, const char *s);
void bg_buf_putc(bg_buf *b, char c);
void bg_buf_printf(bg_buf *b, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);
void bg_buf_vprintf(bg_buf *b, const char *fmt, va_list ap);
char *bg_buf_steal(bg_buf *b);
/* Room to write up to n more bytes in place: returns where they go (the
 * buffer may move); bg_buf_grew() then adds the k <= n bytes written. */
char *bg_buf_room(bg_buf *b, size_t n);
void bg_buf_grew(bg_buf *b, size_t k);
/* The contents, "" for an empty buffer (never NULL). */
const char *bg_buf_str(const bg_buf *b);

/*
 * Append the whole file at path to out, reading at most max bytes more than
 * it: 0, or -1 with errno set (EFBIG when the file holds more than max
 * bytes, EILSEQ when it holds a NUL byte: not a text file); out is then
 * empty.  For the small text files the programs read (config, lists).
 */
int bg_read_text_file(const char *path, size_t max, bg_buf *out);

/*
 * Copy src into dst[size] always NUL-terminated; returns strlen(src) so that a
 * result >= size tells the caller the copy was cut (strlcpy semantics).
 */
size_t bg_strlcpy(char *dst, const char *src, size_t size);

/* Lower-case ASCII in place; returns s. */
char *bg_ascii_lower(char *s);

/* true when host (or the domain of an address: what follows its last '@')
 * is domain or a name under it ("mx.example.com" and "example.com"), in
 * any case; false for a NULL host. */
bool bg_host_in_domain(const char *host, const char *domain);

/*
 * Printable text from hostile bytes — the one sanitiser for everything shown
 * to a person (tables, `show`, error messages, log lines, SMTP replies).
 *
 * The escape convention (display only; it is not meant to be reversed):
 *   - a C0 control (tab, CR and LF included), DEL, and every byte that is not
 *     part of a valid UTF-8 sequence (a raw C1 byte such as 0x9B — a
 *     terminal's CSI —, a stray continuation byte, an overlong form, a UTF-16
 *     surrogate, a code point above U+10FFFF, a sequence cut short) becomes
 *     "\xHH", one escape per byte, lower-case hex;
 *   - a valid UTF-8 character that a terminal or an editor acts on instead
 *     of showing — C1 controls U+0080..U+009F, the bidi controls U+061C,
 *     U+200E, U+200F, U+202A..U+202E, U+2066..U+2069 ("Trojan Source") and
 *     the separators U+2028, U+2029 — becomes "\uHHHH";
 *   - everything else, any other valid UTF-8 (é, 中文) included, is kept.
 * A backslash is kept as it is: "\x1b" in the output may have been those
 * four characters in the input, never an ESC.  Tabs are escaped too: the
 * output is one line or one table cell, and the only tabs and newlines a
 * program prints are its own.
 */

/*
 * Write the display form of src[0..len) (NULs in it are escaped too) into
 * dst[size], at most max bytes of it (and never more than size - 1); the
 * result is always NUL-terminated and never ends in half an escape or half a
 * UTF-8 character.  Returns how many bytes of src it covers: less than len
 * means the text was cut.  size 0 writes nothing.
 */
size_t bg_sanitize_mem(char *dst, size_t size, const char *src, size_t len, size_t max);

/* The same for a NUL-terminated src (NULL is ""); returns dst. */
char *bg_sanitize_line(char *dst, size_t size, const char *src, size_t max);

/* The same, but a text that does not fit whole ends in "..." (still within
 * max bytes): for table cells. */
char *bg_sanitize_cell(char *dst, size_t size, const char *src, size_t max);

/* Append the display form of all of src[0..len) to b (no limit). */
void bg_buf_sanitized(bg_buf *b, const char *src, size_t len);

/*
 * The Unicode character at s[0..len): returns its length in bytes (1..4) and
 * sets *cp, or 0 when s does not start with a valid UTF-8 sequence (a stray
 * continuation byte, an overlong form, a surrogate, > U+10FFFF, cut short
 * by len) or len is 0.
 */
size_t bg_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* True for the characters that act on a display instead of showing: C1
 * controls, bidi controls, U+2028/U+2029 (the list above). */
bool bg_unicode_is_format_control(uint32_t cp);

/* Milliseconds of a clock that only moves forward (for timeouts and
 * deadlines, never for dates). */
int64_t bg_monotonic_ms(void);

/* Format a UNIX time as "2018-08-07T15:29:57Z" into dst[size]; returns dst. */
char *bg_time_iso(char *dst, size_t size, int64_t t);

/* Parse a time as scripts and exports write it: seconds since the epoch,
 * ISO 8601 ("2024-05-01T12:00:00Z", "2024-05-01 12:00:00", fractions and
 * +hh:mm offsets allowed), or RFC 2822 ("Wed, 01 May 2024 12:00:00 UTC").
 * Returns 0 with *out, or -1. */
int bg_time_parse(const char *s, int64_t *out);

/* Format a duration in seconds as "13d 23h 59m 59s" (largest units only). */
char *bg_duration_format(char *dst, size_t size, int64_t seconds);

/* Parse a duration: "90", "30s", "15m", "24h", "14d", "2w", "1d12h".
 * Returns 0 and *out in seconds, or -1 with err naming the problem. */
int bg_duration_parse(const char *s, int64_t *out, bg_error *err);

#endif
