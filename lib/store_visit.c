/*
 * store_visit.c — streaming visits over one database of the store.
 *
 * call the visitor, so that a visitor may write to the store (no cursor holds
 * a lock while it runs) and memory stays bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "store_core.h"

#define VISIT_BATCH 256

typedef struct visit_batch {
    int dbi;
    bg_buf start;    /* position: first key >= start (exclusive of `after`) */
    bool have_last;
    bg_buf last;     /* last key returned, to skip it in the next batch */
    const char *prefix;
    size_t prefix_len;
    size_t n;
    bg_buf keys[VISIT_BATCH];
    bg_buf vals[VISIT_BATCH];
    bool done;
} visit_batch;

static int
visit_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    visit_batch *b = arg;
    DBC *c;
    DBT k, d;
    int ret;

    b->n = 0;
    ret = s->db[b->dbi]->cursor(s->db[b->dbi], txn->bdb, &c, DB_READ_COMMITTED);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.flags = d.flags = DB_DBT_REALLOC;
    if (b->have_last) {
        k.data = bg_xmalloc(b->last.len);
        memcpy(k.data, b->last.s, b->last.len);
        k.size = (u_int32_t)b->last.len;
    } else if (b->start.len > 0) {
        k.data = bg_xmalloc(b->start.len);
        memcpy(k.data, b->start.s, b->start.len);
        k.size = (u_int32_t)b->start.len;
    }
    ret = c->get(c, &k, &d, k.size ? DB_SET_RANGE : DB_FIRST);
    /* Skip the key the previous batch ended on. */
    if (ret == 0 && b->have_last && k.size == b->last.len &&
        memcmp(k.data, b->last.s, k.size) == 0)
        ret = c->get(c, &k, &d, DB_NEXT);
    while (ret == 0 && b->n < VISIT_BATCH) {
        if (b->prefix_len &&
            (k.size < b->prefix_len || memcmp(k.data, b->prefix, b->prefix_len) != 0)) {
            b->done = true;
            break;
        }
        bg_buf_reset(&b->keys[b->n]);
        bg_buf_append(&b->keys[b->n], k.data, k.size);
        bg_buf_reset(&b->vals[b->n]);
        bg_buf_append(&b->vals[b->n], d.data, d.size);
        b->n++;
        ret = c->get(c, &k, &d, DB_NEXT);
    }
    if (ret == DB_NOTFOUND) {
        b->done = true;
        ret = 0;
    }
    free(k.data);
    free(d.data);
    c->close(c);
    return ret;
}


int
store_visit_all(bg_store *s, int dbi, const char *prefix, size_t prefix_len, raw_visit_fn *visit,
          void *arg, bg_error *err)
{
    visit_batch *b;
    int rc = 0;

    if (s->redis)
        return store_redis_visit(s, dbi, prefix, prefix_len, visit, arg, err);
    b = bg_xcalloc(1, sizeof(*b));
    b->dbi = dbi;
    b->prefix = prefix;
    b->prefix_len = prefix_len;
    if (prefix_len)
        bg_buf_append(&b->start, prefix, prefix_len);
    while (!b->done || b->n > 0) {
        if (store_run_read_txn(s, visit_body, b, err) < 0) {
            rc = -1;
            break;
        }
        size_t n = b->n;
        for (size_t i = 0; i < n; i++) {
            bg_buf payload = BG_BUF_INIT;
            if (b->vals[i].len < 8) {
                rc = bg_error_set(err, "store %s: short record in %s", s->home,
                                  store_db_files[dbi]);
                goto out;
            }
            bg_buf_append(&payload, b->vals[i].s + 8, b->vals[i].len - 8);
            int stop = visit(&b->keys[i], &payload, arg);
            bg_buf_free(&payload);
            if (stop)
                goto out;
        }
        if (n > 0) {
            bg_buf_reset(&b->last);
            bg_buf_append(&b->last, b->keys[n - 1].s, b->keys[n - 1].len);
            b->have_last = true;
        }
        if (b->done || n == 0)
            break;
    }
out:
    for (size_t i = 0; i < VISIT_BATCH; i++) {
        bg_buf_free(&b->keys[i]);
        bg_buf_free(&b->vals[i]);
    }
    bg_buf_free(&b->start);
    bg_buf_free(&b->last);
    free(b);
    return rc;
}

bg_lookup
store_get_then_visit(bg_store *s, int get_dbi, const void *key, size_t klen, bg_buf *val,
                     int dbi, const char *prefix, size_t prefix_len, raw_visit_fn *visit,
                     void *arg, bg_error *err)
{
    bg_lookup l;
    bool found = false;

    if (s->redis)
        return store_redis_get_then_visit(s, get_dbi, key, klen, val, &found, dbi, prefix,
                                          prefix_len, visit, arg, err) < 0
                   ? BG_LOOKUP_ERROR
                   : found ? BG_FOUND
                           : BG_NOTFOUND;
    l = store_plain_get(s, get_dbi, key, klen, val, err);
    if (l != BG_LOOKUP_ERROR &&
        store_visit_all(s, dbi, prefix, prefix_len, visit, arg, err) < 0)
        return BG_LOOKUP_ERROR;
    return l;
}
