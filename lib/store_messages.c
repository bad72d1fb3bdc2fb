/*
 * store_messages.c — the store's records of the messages the relay sent,
 * by queue ID, for correlating bounces with them (and VERP tokens, whose key
 * is the queue ID).  See include/bounceguard/store.h; the primitives are in
 * store.c.
 */
#include <stdlib.h>
#include <string.h>

#include "store_codec.h"
#include "store_core.h"

/* ---- messages ------------------------------------------------------------ */

typedef struct message_put_arg {
    const bg_message_rec *m;
    int64_t purge_at;
} message_put_arg;

static int
put_replacing(bg_store *s, store_txn *txn, int dbi, const char *key, const bg_buf *payload,
              int64_t purge_at)
{
    bg_buf old = BG_BUF_INIT;
    int64_t old_purge = 0;
    size_t klen = strlen(key);
    int ret;

    /* Redis keeps the purge time as the key's own expiry, which SET
     * replaces: no old record to read for its expiry index entry (a round
     * trip per record on the milter's path). */
    if (txn->redis)
        return store_rec_put(s, txn, dbi, key, klen, payload, 0, purge_at);
    ret = store_rec_get(s, txn, dbi, key, klen, &old, &old_purge, STORE_RMW);

    bg_buf_free(&old);
    if (ret != 0 && ret != STORE_NOTFOUND)
        return ret;
    return store_rec_put(s, txn, dbi, key, klen, payload, ret == 0 ? old_purge : 0, purge_at);
}

static int
message_put_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    message_put_arg *a = arg;
    bg_buf v = BG_BUF_INIT, k = BG_BUF_INIT;
    int ret = 0;

    /* The recipients are kept once, under the queue ID; the Message-ID's
     * record then names the queue ID and holds no recipients. */
    if (a->m->message_id[0]) {
        bg_message_rec pointer = *a->m;

        if (a->m->queue_id[0])
            pointer.rcpts = (char *)"";
        codec_message_encode(&pointer, &v);
        bg_buf_printf(&k, "m:%s", a->m->message_id);
        ret = put_replacing(s, txn, DBI_MESSAGE, k.s, &v, a->purge_at);
    }
    if (ret == 0 && a->m->queue_id[0]) {
        bg_buf_reset(&v);
        codec_message_encode(a->m, &v);
        bg_buf_reset(&k);
        bg_buf_printf(&k, "q:%s", a->m->queue_id);
        ret = put_replacing(s, txn, DBI_MESSAGE, k.s, &v, a->purge_at);
    }
    bg_buf_free(&v);
    bg_buf_free(&k);
    return ret;
}

int
bg_store_message_put(bg_store *s, const bg_message_rec *m, int64_t purge_at, bg_error *err)
{
    message_put_arg a = {m, purge_at};

    if (m->message_id[0] == '\0' && m->queue_id[0] == '\0')
        return bg_error_set(err, "store: a message needs a Message-ID or a queue ID");
    return store_run_txn(s, message_put_body, &a, false, err) < 0 ? -1 : 0;
}

int
bg_store_txn_message_put(bg_store_txn *t, const bg_message_rec *m, int64_t purge_at)
{
    message_put_arg a = {m, purge_at};
    int answer = 0;

    if (m->message_id[0] == '\0' && m->queue_id[0] == '\0')
        return 0; /* nothing to file it under */
    return store_in_txn(t, message_put_body, &a, &answer);
}

bg_lookup
bg_store_message_get(bg_store *s, const char *id, bool by_queue_id, bg_message_rec *out,
                     bg_error *err)
{
    bg_buf k = BG_BUF_INIT, v = BG_BUF_INIT;
    bg_lookup r;

    memset(out, 0, sizeof(*out));
    bg_buf_printf(&k, "%s:%s", by_queue_id ? "q" : "m", id);
    r = store_plain_get(s, DBI_MESSAGE, k.s, k.len, &v, err);
    if (r == BG_FOUND && codec_message_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: message record %s does not decode", s->home, id);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&k);
    bg_buf_free(&v);
    if (r == BG_FOUND && !by_queue_id && out->queue_id[0] &&
        (out->rcpts == NULL || out->rcpts[0] == '\0')) {
        /* the Message-ID's record names the full one; it must be the same
         * message (a queue ID is reused in time) */
        bg_message_rec full;
        bg_lookup f = bg_store_message_get(s, out->queue_id, true, &full, err);

        if (f == BG_LOOKUP_ERROR) {
            bg_message_rec_clear(out);
            return f;
        }
        if (f == BG_FOUND && strcmp(full.message_id, out->message_id) == 0) {
            bg_message_rec_clear(out);
            *out = full;
        } else if (f == BG_FOUND) {
            bg_message_rec_clear(&full);
        }
    }
    return r;
}

void
bg_message_rec_clear(bg_message_rec *m)
{
    free(m->rcpts);
    m->rcpts = NULL;
}
