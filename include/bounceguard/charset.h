/*
 * charset — text in a MIME charset to UTF-8, for reading bounces.
 *
 * glibc's iconv does the conversions; this module adds what makes it cheap
 * enough to run on every text part of every bounce: descriptors kept per
 * thread and charset name (iconv_open loads a gconv module each time), and
 * paths that give iconv's own output without calling it (ASCII text in a
 * charset that is a superset of ASCII, ISO 8859-1, the ASCII runs of
 * ISO-2022-JP).  Bytes that do not convert become '?'.
 *
 * Nothing here logs, prints or exits.
 */
#ifndef BOUNCEGUARD_CHARSET_H
#define BOUNCEGUARD_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/util.h"

/* true when text in charset needs no conversion: NULL, empty, US-ASCII,
 * UTF-8 and the "unknown" labels. */
bool bg_charset_is_plain(const char *charset);

/*
 * Convert src[len] from charset to UTF-8, appending to out.  Plain and
 * unknown charsets (and names over 40 bytes) are copied as they are; bytes
 * that do not convert become '?'.  Returns true when a conversion was done.
 */
bool bg_charset_to_utf8(const char *charset, const char *src, size_t len, bg_buf *out);

#endif
