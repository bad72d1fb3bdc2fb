/*
 * store_codec — private to the store: how records are packed on disk.
 *
 * A payload is [u8 format version][fields]; integers little-endian, strings
 * as u16 length + bytes.  Decoding checks every length against what is left,
 * so a damaged or foreign value is an error, never an overread.
 */
#ifndef BOUNCEGUARD_STORE_CODEC_H
#define BOUNCEGUARD_STORE_CODEC_H

#include "bounceguard/store.h"

void codec_put_i64(bg_buf *b, int64_t v);
int64_t codec_get_i64_at(const void *p);

/* Bounded copy; a cut string ends in "..." so that nobody mistakes it for
 * the whole text.  NULL copies as "". */
void codec_copy(char *dst, size_t size, const char *src);

/* encode resets b; decode returns 0 or -1 (malformed). */
void codec_rcpt_encode(const bg_rcpt_rec *r, bg_buf *b);
int codec_rcpt_decode(const bg_buf *b, bg_rcpt_rec *r);
void codec_sender_encode(const bg_sender_rec *r, bg_buf *b);
int codec_sender_decode(const bg_buf *b, bg_sender_rec *r);
void codec_message_encode(const bg_message_rec *m, bg_buf *b);
/* m->rcpts is allocated on success. */
int codec_message_decode(const bg_buf *b, bg_message_rec *m);
void codec_incident_encode(const bg_incident_rec *r, bg_buf *b);
int codec_incident_decode(const bg_buf *b, bg_incident_rec *r);

#endif
