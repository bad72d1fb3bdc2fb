/*
 * store_records.c — the typed records of the store: recipients, senders,
 * tried recipients, incidents, seen DSNs, meta and audit (the messages sent
 * are in store_messages.c).  See include/bounceguard/store.h; the
 * primitives are in store.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_codec.h"
#include "store_core.h"

/* ---- recipients ---------------------------------------------------------- */

bg_lookup
bg_store_rcpt_get(bg_store *s, const char *addr, bg_rcpt_rec *out, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = store_plain_get(s, DBI_RCPT, addr, strlen(addr), &v, err);

    if (r == BG_FOUND && codec_rcpt_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: recipient record of %s does not decode", s->home, addr);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&v);
    return r;
}

/*
 * One read-modify-write of a typed record.  Recipients and senders differ
 * only in their database, their codec and the caller's decision function, so
 * one body serves both through a small table of thunks.
 */
typedef union any_rec {
    bg_rcpt_rec rcpt;
    bg_sender_rec sender;
} any_rec;

typedef struct rmw_arg rmw_arg;

typedef struct rmw_kind {
    int dbi;
    bool sync; /* commit to disk: bounces and blocks survive power loss */
    int (*decode)(const bg_buf *b, any_rec *rec);
    void (*encode)(const any_rec *rec, bg_buf *b);
    int (*decide)(const rmw_arg *a, const any_rec *cur, any_rec *next, int64_t *purge_at);
} rmw_kind;

struct rmw_arg {
    const rmw_kind *kind;
    const char *key;
    union {
        bg_rcpt_update_fn *rcpt;
        bg_sender_update_fn *sender;
    } fn;
    void *arg;
};

static int
rmw_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    rmw_arg *a = arg;
    const rmw_kind *k = a->kind;
    bg_buf v = BG_BUF_INIT;
    any_rec cur, next;
    int64_t old_purge = 0, new_purge = 0;
    size_t klen = strlen(a->key);
    int ret, verdict;

    ret = store_rec_get(s, txn, k->dbi, a->key, klen, &v, &old_purge, STORE_RMW);
    if (ret != 0 && ret != STORE_NOTFOUND)
        goto out;
    bool have = ret == 0;
    if (have && k->decode(&v, &cur) < 0) {
        ret = -1;
        goto out;
    }
    memset(&next, 0, sizeof(next));
    if (have)
        next = cur;
    new_purge = old_purge;
    verdict = k->decide(a, have ? &cur : NULL, &next, &new_purge);
    if (verdict == BG_RECORD_WRITE) {
        k->encode(&next, &v);
        ret = store_rec_put(s, txn, k->dbi, a->key, klen, &v, have ? old_purge : 0,
                            new_purge);
    } else if (verdict == BG_RECORD_DELETE && have) {
        ret = store_rec_del(s, txn, k->dbi, a->key, klen, old_purge);
    } else {
        ret = 0;
    }
    if (ret == 0)
        *answer = verdict == BG_RECORD_DELETE ? 2 : verdict == BG_RECORD_WRITE;
out:
    bg_buf_free(&v);
    return ret;
}

/* rmw_body answers 2 for a delete (a body's answer is >= 0). */
static bg_record_change
change_of(int answer)
{
    return answer == 2 ? BG_RECORD_DELETE : answer == 1 ? BG_RECORD_WRITE : BG_RECORD_KEEP;
}

static bg_record_change
rmw(bg_store *s, rmw_arg *a, bg_error *err)
{
    int r = store_run_txn(s, rmw_body, a, a->kind->sync, err);

    return r < 0 ? BG_STORE_FAILED : change_of(r);
}

static int
rcpt_decode(const bg_buf *b, any_rec *rec)
{
    return codec_rcpt_decode(b, &rec->rcpt);
}

static void
rcpt_encode(const any_rec *rec, bg_buf *b)
{
    codec_rcpt_encode(&rec->rcpt, b);
}

static int
rcpt_decide(const rmw_arg *a, const any_rec *cur, any_rec *next, int64_t *purge_at)
{
    return a->fn.rcpt(cur ? &cur->rcpt : NULL, &next->rcpt, purge_at, a->arg);
}

static const rmw_kind rcpt_kind = {DBI_RCPT, true, rcpt_decode, rcpt_encode, rcpt_decide};

bg_record_change
bg_store_rcpt_update(bg_store *s, const char *addr, bg_rcpt_update_fn *update, void *arg,
                     bg_error *err)
{
    rmw_arg a = {&rcpt_kind, addr, {.rcpt = update}, arg};

    return rmw(s, &a, err);
}

typedef struct rcpt_visit_arg {
    bg_rcpt_visit_fn *fn;
    void *arg;
    int bad;
} rcpt_visit_arg;

static int
rcpt_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    rcpt_visit_arg *a = arg;
    bg_rcpt_rec rec;
    char *addr = bg_xstrndup(key->s, key->len);
    int stop;

    if (codec_rcpt_decode(val, &rec) < 0) {
        a->bad++;
        free(addr);
        return 0;
    }
    stop = a->fn(addr, &rec, a->arg);
    free(addr);
    return stop;
}

int
bg_store_rcpt_foreach(bg_store *s, const char *prefix, bg_rcpt_visit_fn *fn, void *arg,
                      bg_error *err)
{
    rcpt_visit_arg a = {fn, arg, 0};

    return store_visit_all(s, DBI_RCPT, prefix, prefix ? strlen(prefix) : 0, rcpt_visit, &a, err);
}

/* ---- senders ------------------------------------------------------------- */

bg_lookup
bg_store_sender_get(bg_store *s, const char *id, bg_sender_rec *out, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = store_plain_get(s, DBI_SENDER, id, strlen(id), &v, err);

    if (r == BG_FOUND && codec_sender_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: sender record of %s does not decode", s->home, id);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&v);
    return r;
}

static int
sender_decode(const bg_buf *b, any_rec *rec)
{
    return codec_sender_decode(b, &rec->sender);
}

static void
sender_encode(const any_rec *rec, bg_buf *b)
{
    codec_sender_encode(&rec->sender, b);
}

static int
sender_decide(const rmw_arg *a, const any_rec *cur, any_rec *next, int64_t *purge_at)
{
    return a->fn.sender(cur ? &cur->sender : NULL, &next->sender, purge_at, a->arg);
}

/* Quota writes are many and cheap to lose on power failure: no sync. */
static const rmw_kind sender_kind = {DBI_SENDER, false, sender_decode, sender_encode,
                                     sender_decide};

bg_record_change
bg_store_sender_update(bg_store *s, const char *id, bg_sender_update_fn *update, void *arg,
                       bg_error *err)
{
    rmw_arg a = {&sender_kind, id, {.sender = update}, arg};

    return rmw(s, &a, err);
}

typedef struct sender_visit_arg {
    bg_sender_visit_fn *fn;
    void *arg;
} sender_visit_arg;

static int
sender_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    sender_visit_arg *a = arg;
    bg_sender_rec rec;
    char *id;
    int stop;

    if (codec_sender_decode(val, &rec) < 0)
        return 0;
    id = bg_xstrndup(key->s, key->len);
    stop = a->fn(id, &rec, a->arg);
    free(id);
    return stop;
}

int
bg_store_sender_foreach(bg_store *s, bg_sender_visit_fn *fn, void *arg, bg_error *err)
{
    sender_visit_arg a = {fn, arg};

    return store_visit_all(s, DBI_SENDER, NULL, 0, sender_visit, &a, err);
}

/* ---- tried --------------------------------------------------------------- */

static void
tried_key(bg_buf *k, const char *id, const char *addr)
{
    bg_buf_reset(k);
    bg_buf_puts(k, id);
    bg_buf_putc(k, '\0');
    if (addr)
        bg_buf_puts(k, addr);
}

typedef struct tried_arg {
    bg_buf key;
    int64_t now;
    int64_t purge_at;
} tried_arg;

static int
tried_add_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    tried_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge = 0;
    int ret = store_rec_get(s, txn, DBI_TRIED, a->key.s, a->key.len, &v, &old_purge, STORE_RMW);

    if (ret == 0 || ret == STORE_NOTFOUND) {
        bool have = ret == 0;
        bg_buf_reset(&v);
        codec_put_i64(&v, a->now);
        ret = store_rec_put(s, txn, DBI_TRIED, a->key.s, a->key.len, &v, have ? old_purge : 0,
                      a->purge_at > old_purge ? a->purge_at : old_purge);
    }
    bg_buf_free(&v);
    return ret;
}

int
bg_store_tried_add(bg_store *s, const char *id, const char *addr, int64_t now,
                   int64_t purge_at, bg_error *err)
{
    tried_arg a = {BG_BUF_INIT, now, purge_at};
    int r;

    tried_key(&a.key, id, addr);
    r = store_run_txn(s, tried_add_body, &a, false, err);
    bg_buf_free(&a.key);
    return r < 0 ? -1 : 0;
}

typedef struct tried_visit_arg {
    bg_tried_visit_fn *fn;
    void *arg;
    size_t prefix_len;
} tried_visit_arg;

static int
tried_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    tried_visit_arg *a = arg;
    char *addr = bg_xstrndup(key->s + a->prefix_len, key->len - a->prefix_len);
    int64_t when = val->len >= 8 ? codec_get_i64_at(val->s) : 0;
    int stop = a->fn(addr, when, a->arg);

    free(addr);
    return stop;
}

int
bg_store_tried_foreach(bg_store *s, const char *id, bg_tried_visit_fn *fn, void *arg,
                       bg_error *err)
{
    bg_buf prefix = BG_BUF_INIT;
    tried_visit_arg a = {fn, arg, 0};
    int rc;

    tried_key(&prefix, id, NULL);
    a.prefix_len = prefix.len;
    rc = store_visit_all(s, DBI_TRIED, prefix.s, prefix.len, tried_visit, &a, err);
    bg_buf_free(&prefix);
    return rc;
}

bg_lookup
bg_store_sender_get_tried(bg_store *s, const char *id, bg_sender_rec *out,
                          bg_tried_visit_fn *fn, void *arg, bg_error *err)
{
    bg_buf prefix = BG_BUF_INIT, v = BG_BUF_INIT;
    tried_visit_arg a = {fn, arg, 0};
    bg_lookup l;

    tried_key(&prefix, id, NULL);
    a.prefix_len = prefix.len;
    l = store_get_then_visit(s, DBI_SENDER, id, strlen(id), &v, DBI_TRIED, prefix.s,
                             prefix.len, tried_visit, &a, err);
    if (l == BG_FOUND && codec_sender_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: sender record of %s does not decode", s->home, id);
        l = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&prefix);
    bg_buf_free(&v);
    return l;
}

typedef struct tried_by_arg {
    const char *addr;
    size_t addr_len;
    bg_tried_by_fn *fn;
    void *arg;
} tried_by_arg;

/* A key is "id NUL addr": the records of addr end in NUL addr. */
static int
tried_by_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    tried_by_arg *a = arg;
    if (key->len < a->addr_len + 2 || key->s[key->len - a->addr_len - 1] != '\0' ||
        memcmp(key->s + key->len - a->addr_len, a->addr, a->addr_len) != 0)
        return 0;
    char *id = bg_xstrndup(key->s, key->len - a->addr_len - 1);
    int64_t when = val->len >= 8 ? codec_get_i64_at(val->s) : 0;
    int stop = strlen(id) == key->len - a->addr_len - 1 ? a->fn(id, when, a->arg) : 0;
    free(id);
    return stop;
}

int
bg_store_tried_by(bg_store *s, const char *addr, bg_tried_by_fn *fn, void *arg, bg_error *err)
{
    tried_by_arg a = {addr, strlen(addr), fn, arg};
    return store_visit_all(s, DBI_TRIED, NULL, 0, tried_by_visit, &a, err);
}

typedef struct tried_clear_arg {
    bg_store *s;
    const char *id;
    int failed;
    bg_error *err;
} tried_clear_arg;

typedef struct del_arg {
    int dbi;
    const void *key;
    size_t klen;
} del_arg;

static int
del_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    del_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge = 0;
    int ret = store_rec_get(s, txn, a->dbi, a->key, a->klen, &v, &old_purge, STORE_RMW);

    bg_buf_free(&v);
    if (ret == STORE_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    ret = store_rec_del(s, txn, a->dbi, a->key, a->klen, old_purge);
    *answer = ret == 0;
    return ret;
}

static int
tried_clear_visit(const char *addr, int64_t when, void *arg)
{
    tried_clear_arg *a = arg;
    bg_buf k = BG_BUF_INIT;
    del_arg d;

    tried_key(&k, a->id, addr);
    d = (del_arg){DBI_TRIED, k.s, k.len};
    if (store_run_txn(a->s, del_body, &d, false, a->err) < 0)
        a->failed = 1;
    bg_buf_free(&k);
    return a->failed;
}

int
bg_store_tried_clear(bg_store *s, const char *id, bg_error *err)
{
    tried_clear_arg a = {s, id, 0, err};

    if (bg_store_tried_foreach(s, id, tried_clear_visit, &a, err) < 0)
        return -1;
    return a.failed ? -1 : 0;
}

/* ---- incidents ----------------------------------------------------------- */

typedef struct incident_arg {
    bg_buf key;
    bg_incident_rec rec;
    int64_t purge_at;
} incident_arg;

static int
incident_add_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    incident_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    bg_incident_rec cur;
    int64_t old_purge = 0;
    int ret = store_rec_get(s, txn, DBI_INCIDENT, a->key.s, a->key.len, &v, &old_purge, STORE_RMW);
    bg_incident_rec next = a->rec;

    if (ret != 0 && ret != STORE_NOTFOUND)
        goto out;
    if (ret == 0) {
        if (codec_incident_decode(&v, &cur) < 0) {
            ret = -1;
            goto out;
        }
        /* Reports may come out of order (a log read late, a DSN before
         * it): the record spans them all and keeps the latest's details. */
        int64_t when = next.first;
        if (cur.last > when)
            next = cur;
        next.first = cur.first < when ? cur.first : when;
        next.count = cur.count + 1;
    }
    bg_buf_reset(&v);
    codec_incident_encode(&next, &v);
    ret = store_rec_put(s, txn, DBI_INCIDENT, a->key.s, a->key.len, &v, ret == 0 ? old_purge : 0,
                        ret == 0 && old_purge > a->purge_at ? old_purge : a->purge_at);
out:
    bg_buf_free(&v);
    return ret;
}

static void
incident_arg_init(incident_arg *a, const char *rbl, const char *remote_mta, const char *rcpt,
                  const char *diagnostic, int64_t now, int64_t purge_at)
{
    memset(a, 0, sizeof(*a));
    a->rec.first = a->rec.last = now;
    a->rec.count = 1;
    codec_copy(a->rec.rbl, sizeof(a->rec.rbl), rbl);
    codec_copy(a->rec.remote_mta, sizeof(a->rec.remote_mta), remote_mta);
    codec_copy(a->rec.last_rcpt, sizeof(a->rec.last_rcpt), rcpt);
    codec_copy(a->rec.diagnostic, sizeof(a->rec.diagnostic), diagnostic);
    a->purge_at = purge_at;
    bg_buf_printf(&a->key, "%s\t%s", a->rec.rbl, a->rec.remote_mta);
}

int
bg_store_incident_add(bg_store *s, const char *rbl, const char *remote_mta, const char *rcpt,
                      const char *diagnostic, int64_t now, int64_t purge_at, bg_error *err)
{
    incident_arg a;
    int r;

    incident_arg_init(&a, rbl, remote_mta, rcpt, diagnostic, now, purge_at);
    r = store_run_txn(s, incident_add_body, &a, true, err);
    bg_buf_free(&a.key);
    return r < 0 ? -1 : 0;
}

typedef struct incident_visit_arg {
    bg_incident_visit_fn *fn;
    void *arg;
} incident_visit_arg;

static int
incident_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    incident_visit_arg *a = arg;
    bg_incident_rec rec;

    if (codec_incident_decode(val, &rec) < 0)
        return 0;
    return a->fn(&rec, a->arg);
}

int
bg_store_incident_foreach(bg_store *s, bg_incident_visit_fn *fn, void *arg, bg_error *err)
{
    incident_visit_arg a = {fn, arg};

    return store_visit_all(s, DBI_INCIDENT, NULL, 0, incident_visit, &a, err);
}

/* ---- seen DSNs ----------------------------------------------------------- */

typedef struct seen_arg {
    const char *id;
    int64_t now;
    int64_t purge_at;
} seen_arg;

static int
seen_mark_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    seen_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge;
    size_t klen = strlen(a->id);
    int ret = store_rec_get(s, txn, DBI_SEEN, a->id, klen, &v, &old_purge, STORE_RMW);

    if (ret == 0) {
        bg_buf_free(&v);
        *answer = 0; /* seen before */
        return 0;
    }
    if (ret == STORE_NOTFOUND) {
        bg_buf_reset(&v);
        codec_put_i64(&v, a->now);
        ret = store_rec_put(s, txn, DBI_SEEN, a->id, klen, &v, 0, a->purge_at);
        *answer = ret == 0;
    }
    bg_buf_free(&v);
    return ret;
}

int
bg_store_seen_mark(bg_store *s, const char *dsn_id, int64_t now, int64_t purge_at,
                   bg_error *err)
{
    seen_arg a = {dsn_id, now, purge_at};

    return store_run_txn(s, seen_mark_body, &a, true, err);
}

int
bg_store_seen_unmark(bg_store *s, const char *dsn_id, bg_error *err)
{
    del_arg a = {DBI_SEEN, dsn_id, strlen(dsn_id)};

    return store_run_txn(s, del_body, &a, true, err) < 0 ? -1 : 0;
}

/* ---- meta and audit ------------------------------------------------------ */

typedef struct put_arg {
    int dbi;
    const char *key;
    size_t klen;
    bg_buf val;
} put_arg;

static int
put_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    put_arg *a = arg;

    return store_rec_put(s, txn, a->dbi, a->key, a->klen, &a->val, 0, 0);
}

int
bg_store_audit_add(bg_store *s, int64_t now, const char *text, bg_error *err)
{
    static unsigned seq;
    unsigned char key[12];
    put_arg a;
    unsigned n = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
    int r;

    /* time (big-endian, sorts) + pid + sequence: unique across processes */
    for (int i = 0; i < 8; i++)
        key[i] = (unsigned char)((uint64_t)now >> (56 - 8 * i));
    uint32_t tag = ((uint32_t)getpid() << 12) ^ n;
    for (int i = 0; i < 4; i++)
        key[8 + i] = (unsigned char)(tag >> (24 - 8 * i));
    a = (put_arg){DBI_AUDIT, (const char *)key, sizeof(key), BG_BUF_INIT};
    bg_buf_puts(&a.val, text);
    r = store_run_txn(s, put_body, &a, true, err);
    bg_buf_free(&a.val);
    return r < 0 ? -1 : 0;
}

typedef struct audit_visit_arg {
    bg_audit_visit_fn *fn;
    void *arg;
} audit_visit_arg;

static int
audit_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    audit_visit_arg *a = arg;
    int64_t when = 0;
    char *text;
    int stop;

    for (size_t i = 0; i < 8 && i < key->len; i++)
        when = (int64_t)(((uint64_t)when << 8) | (unsigned char)key->s[i]);
    text = bg_xstrndup(bg_buf_str(val), val->len);
    stop = a->fn(when, text, a->arg);
    free(text);
    return stop;
}

int
bg_store_audit_foreach(bg_store *s, bg_audit_visit_fn *fn, void *arg, bg_error *err)
{
    audit_visit_arg a = {fn, arg};

    return store_visit_all(s, DBI_AUDIT, NULL, 0, audit_visit, &a, err);
}


/* ---- several writes in one transaction ----------------------------------- */

typedef struct atomic_arg {
    bg_store_txn_fn *fn;
    void *arg;
    bool aborted;
} atomic_arg;

static int
atomic_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    atomic_arg *a = arg;
    bg_store_txn t = {s, txn, 0};
    int rc = a->fn(&t, a->arg);

    a->aborted = false;
    if (t.err != 0)
        return t.err;
    if (rc < 0) {
        a->aborted = true;
        return STORE_ABORTED;
    }
    return 0;
}

int
bg_store_atomic(bg_store *s, bool sync, bg_store_txn_fn *fn, void *arg, bg_error *err)
{
    atomic_arg a = {fn, arg, false};

    if (store_run_txn(s, atomic_body, &a, sync, err) < 0)
        return a.aborted ? 1 : -1;
    return 0;
}

int
store_in_txn(bg_store_txn *t, txn_body_fn *body, void *arg, int *answer)
{
    int ret;

    if (t->err != 0)
        return -1;
    ret = body(t->s, t->txn, arg, answer);
    if (ret != 0) {
        t->err = ret;
        return -1;
    }
    return 0;
}

int
bg_store_txn_seen_mark(bg_store_txn *t, const char *dsn_id, int64_t now, int64_t purge_at)
{
    seen_arg a = {dsn_id, now, purge_at};
    int answer = 0;

    return store_in_txn(t, seen_mark_body, &a, &answer) < 0 ? -1 : answer;
}

bg_record_change
bg_store_txn_rcpt_update(bg_store_txn *t, const char *addr, bg_rcpt_update_fn *update,
                         void *arg)
{
    rmw_arg a = {&rcpt_kind, addr, {.rcpt = update}, arg};
    int answer = 0;

    if (store_in_txn(t, rmw_body, &a, &answer) < 0)
        return BG_STORE_FAILED;
    return change_of(answer);
}

int
bg_store_txn_sender_update(bg_store_txn *t, const char *id, bg_sender_update_fn *update,
                           void *arg)
{
    rmw_arg a = {&sender_kind, id, {.sender = update}, arg};
    int answer = 0;

    if (store_in_txn(t, rmw_body, &a, &answer) < 0)
        return BG_STORE_FAILED;
    return change_of(answer);
}

void
bg_store_txn_sender_seen(bg_store_txn *t, const char *id, const bg_sender_rec *seen)
{
    bg_buf v = BG_BUF_INIT;

    if (t->txn->redis == NULL || t->err != 0)
        return; /* Berkeley DB reads under the transaction's lock anyway */
    if (seen)
        codec_sender_encode(seen, &v);
    store_redis_seen(t->txn->redis, DBI_SENDER, id, strlen(id), seen ? &v : NULL);
    bg_buf_free(&v);
}

int
bg_store_txn_incident_add(bg_store_txn *t, const char *rbl, const char *remote_mta,
                          const char *rcpt, const char *diagnostic, int64_t now,
                          int64_t purge_at)
{
    incident_arg a;
    int answer = 0, rc;

    incident_arg_init(&a, rbl, remote_mta, rcpt, diagnostic, now, purge_at);
    rc = store_in_txn(t, incident_add_body, &a, &answer);
    bg_buf_free(&a.key);
    return rc;
}

/* ---- counters ------------------------------------------------------------ */

#define COUNTER_PREFIX "count:"

typedef struct counter_arg {
    bg_buf key;
    uint64_t delta;
} counter_arg;

static int
counter_add_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    counter_arg *a = arg;
    bg_buf val = BG_BUF_INIT;
    int64_t purge = 0;
    uint64_t n = 0;
    int ret = store_rec_get(s, txn, DBI_META, a->key.s, a->key.len, &val, &purge, STORE_RMW);

    if (ret == 0) {
        char *end;
        n = strtoull(bg_buf_str(&val), &end, 10);
        if (end == bg_buf_str(&val) || *end != '\0')
            n = 0; /* not a number: start again rather than refuse the bounce */
    } else if (ret != STORE_NOTFOUND) {
        bg_buf_free(&val);
        return ret;
    }
    bg_buf_reset(&val);
    n += a->delta;
    bg_buf_printf(&val, "%llu", (unsigned long long)n);
    ret = store_rec_put(s, txn, DBI_META, a->key.s, a->key.len, &val, 0, 0);
    bg_buf_free(&val);
    return ret;
}

int
bg_store_txn_counter_add(bg_store_txn *t, const char *name, uint64_t delta)
{
    counter_arg a = {BG_BUF_INIT, delta};
    int answer = 0, rc;

    bg_buf_puts(&a.key, COUNTER_PREFIX);
    bg_buf_puts(&a.key, name);
    rc = store_in_txn(t, counter_add_body, &a, &answer);
    bg_buf_free(&a.key);
    return rc;
}

typedef struct counter_visit_arg {
    bg_counter_visit_fn *fn;
    void *arg;
} counter_visit_arg;

static int
counter_visit(const bg_buf *key, const bg_buf *val, void *arg)
{
    counter_visit_arg *a = arg;
    size_t plen = sizeof(COUNTER_PREFIX) - 1;
    char *name = bg_xstrndup(key->s + plen, key->len - plen);
    char *text = bg_xstrndup(bg_buf_str(val), val->len);
    int stop = a->fn(name, strtoull(text, NULL, 10), a->arg);

    free(name);
    free(text);
    return stop;
}

int
bg_store_counter_foreach(bg_store *s, const char *prefix, bg_counter_visit_fn *fn, void *arg,
                         bg_error *err)
{
    counter_visit_arg a = {fn, arg};
    bg_buf p = BG_BUF_INIT;
    int rc;

    bg_buf_puts(&p, COUNTER_PREFIX);
    bg_buf_puts(&p, prefix ? prefix : "");
    rc = store_visit_all(s, DBI_META, p.s, p.len, counter_visit, &a, err);
    bg_buf_free(&p);
    return rc;
}
