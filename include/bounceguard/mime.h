/*
 * mime — just enough MIME (RFC 2045-2049, RFC 5322) to read bounces.
 *
 * A message is read once into a bg_mime_message: its top-level header block
 * (unfolded) and a flat list of leaf parts in document order.  Multiparts are
 * walked recursively; each leaf of text or a message is decoded from its
 * transfer encoding (base64, quoted-printable) and, for text parts in another
 * charset, converted to UTF-8 (bounceguard/charset.h; bytes that do not
 * convert become '?'); the bodies of other leaves (images...) are not read.  A message/rfc822 or
 * text/rfc822-headers part is a leaf whose body is the enclosed message; call
 * bg_mime_headers_parse() on it to read the returned message's headers.
 *
 * Everything is bounded so that hostile input costs linear time: header blocks
 * keep at most BG_MIME_MAX_HEADERS fields of at most BG_MIME_MAX_VALUE bytes,
 * multiparts nest at most BG_MIME_MAX_DEPTH deep and yield at most
 * BG_MIME_MAX_PARTS parts.  Truncated or broken MIME never fails: whatever can
 * be read is returned (a missing closing boundary ends the part at the end of
 * the input; a bad base64 character is skipped).
 *
 * Nothing here logs, prints or exits.
 */
#ifndef BOUNCEGUARD_MIME_H
#define BOUNCEGUARD_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/util.h"

#define BG_MIME_MAX_HEADERS 500
#define BG_MIME_MAX_VALUE 65536
#define BG_MIME_MAX_DEPTH 12
#define BG_MIME_MAX_PARTS 256

/*
 * One header field, pointing into the parsed data: its name as written
 * (name_len bytes, not NUL-terminated) and its lines after the colon (raw,
 * raw_len bytes).  The value is unfolded (CRLF + WSP -> WSP, leading and
 * trailing white space removed, not RFC 2047 decoded) when it is first asked
 * for, by bg_mime_headers_get() or bg_mime_headers_value(), and kept in
 * value (NULL until then): most fields of a bounce are never read.
 */
typedef struct bg_mime_field {
    const char *name;
    size_t name_len;
    const char *raw;
    size_t raw_len;
    char *value;
} bg_mime_field;

typedef struct bg_mime_headers {
    bg_mime_field *v;
    size_t n;
    struct bg_mime_pool *pool; /* where the values unfolded so far are */
} bg_mime_headers;

#define BG_MIME_HEADERS_INIT {NULL, 0, NULL}

/*
 * Parse the header block at the start of data[len] into *h (which the caller
 * initialises to BG_MIME_HEADERS_INIT or reuses after bg_mime_headers_clear(); fields
 * are added after those already in h).  A leading mbox "From " line is
 * skipped; a line that is neither a field nor a continuation is ignored.
 * Returns the offset of the body (after the empty line), or len when there is
 * none.  The fields point into data: keep it unchanged until
 * bg_mime_headers_clear(), which releases h.  Reading a value caches it in h
 * (through a const pointer: a bg_mime_headers is never defined const), so
 * one thread at a time.
 */
size_t bg_mime_headers_parse(const char *data, size_t len, bg_mime_headers *h);
void bg_mime_headers_clear(bg_mime_headers *h);

/* Whether field f is called name (case-insensitive).  (Inline, as
 * bg_mime_headers_get(): the parser asks it of every Received field.) */
static inline bool
bg_mime_field_is(const bg_mime_field *f, const char *name)
{
    size_t len = strlen(name);
    return f->name_len == len && strncasecmp(f->name, name, len) == 0;
}

/* The value of field i (< h->n), unfolded.  The string belongs to h. */
const char *bg_mime_headers_value(const bg_mime_headers *h, size_t i);

/* The value of the first field called name[len] (case-insensitive), or
 * NULL.  The string belongs to h. */
const char *bg_mime_headers_getn(const bg_mime_headers *h, const char *name, size_t len);

/* The value of the first field called name (case-insensitive), or NULL.
 * The string belongs to h.  (Inline: the length of a literal name is then
 * known when compiling; the parser asks for about 17 fields a message.) */
static inline const char *
bg_mime_headers_get(const bg_mime_headers *h, const char *name)
{
    return bg_mime_headers_getn(h, name, strlen(name));
}

/*
 * The value of parameter param (case-insensitive) in a structured field value
 * like `multipart/report; report-type=delivery-status; boundary="x"`, quotes
 * removed; NULL when absent.  The caller frees the result.
 */
char *bg_mime_param(const char *value, const char *param);

/* The lower-cased "type/subtype" of a Content-Type value; "text/plain" for
 * NULL or an unreadable value.  The caller frees the result. */
char *bg_mime_content_type(const char *value);

/*
 * Decode RFC 2047 encoded words (=?charset?B|Q?...?=) in s, converting to
 * UTF-8; white space between two adjacent encoded words is dropped.  Broken
 * words are left as written.  The caller frees the result.
 */
char *bg_mime_decode_words(const char *s);

/* Append the decoding of base64 / quoted-printable src[len] to out.  Bad
 * characters are skipped (base64) or kept literally (quoted-printable). */
void bg_mime_decode_base64(const char *src, size_t len, bg_buf *out);
void bg_mime_decode_qp(const char *src, size_t len, bg_buf *out);

/* Whether the body of a part of this type is read (decoded, converted):
 * text and messages are; the body of any other part (an image, an
 * archive, an application's file) is left empty, as nothing in it tells
 * about a bounce.  NULL (no Content-Type) is text/plain. */
bool bg_mime_type_is_read(const char *type);

/* One leaf part.  body is decoded and NUL-terminated (len excludes the NUL);
 * empty for a type that bg_mime_type_is_read() says is not read. */
typedef struct bg_mime_part {
    char *type;              /* lower-case "type/subtype" */
    bg_mime_headers headers; /* the part's own header block */
    char *body;
    size_t len;
    int depth; /* 0 = the message body itself, 1 = a part of it, ... */
} bg_mime_part;

typedef struct bg_mime_message {
    bg_mime_headers headers; /* top-level header block */
    bg_mime_part *parts;
    size_t nparts;
    bool truncated; /* a limit was hit: some parts were not read */
} bg_mime_message;

/*
 * Parse a whole message.  Never fails: an empty or garbage input gives a
 * message with no headers and one text/plain part.  The header fields point
 * into data (bg_mime_headers_parse()): keep it until bg_mime_message_free(),
 * which releases the message and returns NULL.
 */
bg_mime_message *bg_mime_parse(const char *data, size_t len);
bg_mime_message *bg_mime_message_free(bg_mime_message *m);

#endif
