/*
 * store_codec.c — see store_codec.h.
 */
#include <stdlib.h>
#include <string.h>

#include "store_codec.h"

enum { FORMAT_V1 = 1 };

void
codec_put_i64(bg_buf *b, int64_t v)
{
    unsigned char le[8];

    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)v >> (8 * i));
    bg_buf_append(b, (const char *)le, 8);
}

int64_t
codec_get_i64_at(const void *p)
{
    const unsigned char *c = p;
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | c[i];
    return (int64_t)v;
}

static void
put_u32(bg_buf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                           (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

    bg_buf_append(b, (const char *)le, 4);
}

static void
put_str(bg_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n > 65535)
        n = 65535;
    bg_buf_putc(b, (char)(n & 0xff));
    bg_buf_putc(b, (char)(n >> 8));
    bg_buf_append(b, s ? s : "", n);
}

void
codec_copy(char *dst, size_t size, const char *src)
{
    if (bg_strlcpy(dst, src ? src : "", size) >= size && size > 4)
        memcpy(dst + size - 4, "...", 4);
}

typedef struct reader {
    const unsigned char *p;
    size_t left;
    bool bad;
} reader;

static const unsigned char *
take(reader *r, size_t n)
{
    const unsigned char *p = r->p;

    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

static int64_t
get_i64(reader *r)
{
    const unsigned char *p = take(r, 8);

    return p ? codec_get_i64_at(p) : 0;
}

static uint32_t
get_u32(reader *r)
{
    const unsigned char *p = take(r, 4);

    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24
             : 0;
}

static uint8_t
get_u8(reader *r)
{
    const unsigned char *p = take(r, 1);

    return p ? p[0] : 0;
}

/* Read a string into dst[size] (cut to fit) or, with size 0, into *heap. */
static void
get_str(reader *r, char *dst, size_t size, char **heap)
{
    const unsigned char *lp = take(r, 2);
    size_t n = lp ? (size_t)lp[0] | (size_t)lp[1] << 8 : 0;
    const unsigned char *s = take(r, n);

    if (s == NULL) {
        if (dst && size)
            dst[0] = '\0';
        return;
    }
    if (heap) {
        *heap = bg_xstrndup((const char *)s, n);
        return;
    }
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static reader
reader_start(const bg_buf *b)
{
    reader r = {(const unsigned char *)bg_buf_str(b), b->len, false};

    if (get_u8(&r) != FORMAT_V1)
        r.bad = true;
    return r;
}

void
codec_rcpt_encode(const bg_rcpt_rec *r, bg_buf *b)
{
    bg_buf_reset(b);
    bg_buf_putc(b, FORMAT_V1);
    codec_put_i64(b, r->first_bounce);
    codec_put_i64(b, r->last_bounce);
    codec_put_i64(b, r->expires);
    codec_put_i64(b, r->grace_until);
    codec_put_i64(b, r->updated);
    put_u32(b, r->bounce_count);
    bg_buf_putc(b, (char)r->state);
    put_str(b, r->source);
    put_str(b, r->reason);
    put_str(b, r->status);
    put_str(b, r->remote_mta);
    put_str(b, r->diagnostic);
    put_str(b, r->last_sender);
}

int
codec_rcpt_decode(const bg_buf *b, bg_rcpt_rec *r)
{
    reader rd = reader_start(b);

    memset(r, 0, sizeof(*r));
    r->first_bounce = get_i64(&rd);
    r->last_bounce = get_i64(&rd);
    r->expires = get_i64(&rd);
    r->grace_until = get_i64(&rd);
    r->updated = get_i64(&rd);
    r->bounce_count = get_u32(&rd);
    r->state = get_u8(&rd);
    get_str(&rd, r->source, sizeof(r->source), NULL);
    get_str(&rd, r->reason, sizeof(r->reason), NULL);
    get_str(&rd, r->status, sizeof(r->status), NULL);
    get_str(&rd, r->remote_mta, sizeof(r->remote_mta), NULL);
    get_str(&rd, r->diagnostic, sizeof(r->diagnostic), NULL);
    get_str(&rd, r->last_sender, sizeof(r->last_sender), NULL);
    return rd.bad ? -1 : 0;
}

void
codec_sender_encode(const bg_sender_rec *r, bg_buf *b)
{
    bg_buf_reset(b);
    bg_buf_putc(b, FORMAT_V1);
    codec_put_i64(b, r->window_start);
    put_u32(b, r->count);
    put_u32(b, r->refused);
    codec_put_i64(b, r->last_seen);
    codec_put_i64(b, (int64_t)r->total);
}

int
codec_sender_decode(const bg_buf *b, bg_sender_rec *r)
{
    reader rd = reader_start(b);

    memset(r, 0, sizeof(*r));
    r->window_start = get_i64(&rd);
    r->count = get_u32(&rd);
    r->refused = get_u32(&rd);
    r->last_seen = get_i64(&rd);
    r->total = (uint64_t)get_i64(&rd);
    return rd.bad ? -1 : 0;
}

void
codec_message_encode(const bg_message_rec *m, bg_buf *b)
{
    bg_buf_reset(b);
    bg_buf_putc(b, FORMAT_V1);
    codec_put_i64(b, m->time);
    put_str(b, m->sender_id);
    put_str(b, m->env_from);
    put_str(b, m->message_id);
    put_str(b, m->queue_id);
    put_str(b, m->rcpts);
}

int
codec_message_decode(const bg_buf *b, bg_message_rec *m)
{
    reader rd = reader_start(b);

    memset(m, 0, sizeof(*m));
    m->time = get_i64(&rd);
    get_str(&rd, m->sender_id, sizeof(m->sender_id), NULL);
    get_str(&rd, m->env_from, sizeof(m->env_from), NULL);
    get_str(&rd, m->message_id, sizeof(m->message_id), NULL);
    get_str(&rd, m->queue_id, sizeof(m->queue_id), NULL);
    get_str(&rd, NULL, 0, &m->rcpts);
    if (rd.bad) {
        free(m->rcpts);
        m->rcpts = NULL;
        return -1;
    }
    return 0;
}

void
codec_incident_encode(const bg_incident_rec *r, bg_buf *b)
{
    bg_buf_reset(b);
    bg_buf_putc(b, FORMAT_V1);
    codec_put_i64(b, r->first);
    codec_put_i64(b, r->last);
    put_u32(b, r->count);
    put_str(b, r->rbl);
    put_str(b, r->remote_mta);
    put_str(b, r->last_rcpt);
    put_str(b, r->diagnostic);
}

int
codec_incident_decode(const bg_buf *b, bg_incident_rec *r)
{
    reader rd = reader_start(b);

    memset(r, 0, sizeof(*r));
    r->first = get_i64(&rd);
    r->last = get_i64(&rd);
    r->count = get_u32(&rd);
    get_str(&rd, r->rbl, sizeof(r->rbl), NULL);
    get_str(&rd, r->remote_mta, sizeof(r->remote_mta), NULL);
    get_str(&rd, r->last_rcpt, sizeof(r->last_rcpt), NULL);
    get_str(&rd, r->diagnostic, sizeof(r->diagnostic), NULL);
    return rd.bad ? -1 : 0;
}
