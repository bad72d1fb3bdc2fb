/*
 * store.c — see include/bounceguard/store.h.  The only file that talks to
 * Berkeley DB.
 *
 * Every value on disk is  [i64 purge_at][u8 format][payload]: the record
 * carries its own purge time, so a writer knows which `expiry` index entry to
 * replace without a second lookup.  Payloads are packed little-endian with
 * length-prefixed strings (store_codec.c); a value that does not decode is
 * reported as an error, never read as "not found".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <db.h>

#include "bounceguard/log.h"
#include "bounceguard/store.h"
#include "store_codec.h"

enum {
    DBI_RCPT,
    DBI_SENDER,
    DBI_TRIED,
    DBI_MESSAGE,
    DBI_INCIDENT,
    DBI_SEEN,
    DBI_META,
    DBI_AUDIT,
    DBI_EXPIRY,
    DBI_COUNT
};

static const char *const db_files[DBI_COUNT] = {
    "rcpt.db", "sender.db", "tried.db", "message.db", "incident.db",
    "seen.db", "meta.db",   "audit.db", "expiry.db"};

#define STORE_FORMAT "bounceguard-store 1"
#define MAX_RETRIES 100
#define VISIT_BATCH 256

struct bg_store {
    pthread_rwlock_t lock;  /* read: any operation; write: reopen after a crash */
    DB_ENV *env;
    DB *db[DBI_COUNT];
    char *home;
    unsigned generation;    /* bumped by each reopen */
    bool sync;
};

/* Berkeley DB's own explanation of the last failure in this thread: added
 * to the one-line error the caller logs, rather than logged on its own (a
 * damaged file makes BDB say the same thing hundreds of times). */
static __thread char bdb_last_msg[256];

static void
bdb_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    bg_strlcpy(bdb_last_msg, msg, sizeof(bdb_last_msg));
    bg_msg_debug("store: Berkeley DB: %s", msg);
}

static const char *
bdb_detail(void)
{
    return bdb_last_msg;
}

static void
close_handles(bg_store *s)
{
    for (int i = 0; i < DBI_COUNT; i++) {
        if (s->db[i])
            s->db[i]->close(s->db[i], 0);
        s->db[i] = NULL;
    }
    if (s->env)
        s->env->close(s->env, 0);
    s->env = NULL;
}

static int
check_home(const char *home, unsigned flags, bg_error *err)
{
    struct stat st;

    if (stat(home, &st) < 0) {
        if (errno == ENOENT && (flags & BG_STORE_CREATE)) {
            if (mkdir(home, 0750) < 0)
                return bg_error_set(err, "cannot create store directory %s: %s", home,
                                    strerror(errno));
            return 0;
        }
        return bg_error_set(err, "store directory %s: %s", home, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return bg_error_set(err, "store %s is not a directory", home);
    if (access(home, R_OK | W_OK | X_OK) < 0)
        return bg_error_set(err, "store directory %s is not writable by this user: %s",
                            home, strerror(errno));
    return 0;
}

static int
open_handles(bg_store *s, bg_error *err)
{
    DB_ENV *env;
    int ret;

    bdb_last_msg[0] = '\0';
    if ((ret = db_env_create(&env, 0)) != 0)
        return bg_error_set(err, "store: cannot create environment: %s", db_strerror(ret));
    s->env = env;
    env->set_errcall(env, bdb_errcall);
    env->set_cachesize(env, 0, 64 * 1024 * 1024, 1);
    env->set_lk_detect(env, DB_LOCK_DEFAULT);
    env->set_lk_max_locks(env, 100000);
    env->set_lk_max_objects(env, 100000);
    env->set_lk_max_lockers(env, 10000);
    env->set_tx_max(env, 1000);
    env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
    /* Commit writes the log to the OS: it survives the death of any process.
     * Bounces ask for DB_TXN_SYNC on top (power loss). */
    env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1);
    ret = env->open(env, s->home,
                    DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN |
                        DB_THREAD | DB_REGISTER | DB_RECOVER,
                    0660);
    if (ret != 0) {
        bg_error_set(err, "store %s: cannot open environment: %s", s->home,
                     db_strerror(ret));
        close_handles(s);
        return -1;
    }
    for (int i = 0; i < DBI_COUNT; i++) {
        DB *db;
        if ((ret = db_create(&db, env, 0)) != 0) {
            bg_error_set(err, "store: cannot create handle: %s", db_strerror(ret));
            close_handles(s);
            return -1;
        }
        s->db[i] = db;
        ret = db->open(db, NULL, db_files[i], NULL, DB_BTREE,
                       DB_CREATE | DB_THREAD | DB_AUTO_COMMIT, 0660);
        if (ret != 0) {
            bg_error_set(err, "store %s/%s: %s%s", s->home, db_files[i],
                         ret == EINVAL || ret == DB_VERIFY_BAD || bdb_detail()[0]
                             ? "not a bounceguard store file or damaged: "
                             : "",
                         bdb_detail()[0] ? bdb_detail() : db_strerror(ret));
            close_handles(s);
            return -1;
        }
    }
    return 0;
}

/* Check (or, in a new store, write) the format marker. */
static int
check_format(bg_store *s, bg_error *err)
{
    char value[64];
    bg_lookup r = bg_store_meta_get(s, "format", value, sizeof(value), err);

    if (r == BG_LOOKUP_ERROR)
        return -1;
    if (r == BG_NOTFOUND)
        return bg_store_meta_put(s, "format", STORE_FORMAT, err);
    if (strcmp(value, STORE_FORMAT) != 0)
        return bg_error_set(err, "store %s has format \"%s\", this program reads \"%s\"",
                            s->home, value, STORE_FORMAT);
    return 0;
}

bg_store *
bg_store_open(const char *home, unsigned flags, bg_error *err)
{
    bg_store *s;

    if (home == NULL || *home == '\0') {
        bg_error_set(err, "store: no db_home given");
        return NULL;
    }
    if (check_home(home, flags, err) < 0)
        return NULL;
    s = bg_xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    s->home = bg_xstrdup(home);
    if (open_handles(s, err) < 0 || check_format(s, err) < 0)
        return bg_store_close(s);
    return s;
}

bg_store *
bg_store_close(bg_store *s)
{
    if (s == NULL)
        return NULL;
    close_handles(s);
    pthread_rwlock_destroy(&s->lock);
    free(s->home);
    free(s);
    return NULL;
}

void
bg_store_set_sync(bg_store *s, bool sync)
{
    s->sync = sync;
}

/*
 * After another process died, Berkeley DB tells the survivors DB_RUNRECOVERY:
 * every handle is dead.  Close them all and open again (which recovers).
 */
static int
reopen(bg_store *s, unsigned seen_generation, bg_error *err)
{
    int rc = 0;

    pthread_rwlock_wrlock(&s->lock);
    if (s->generation == seen_generation) {
        bg_msg_warn("store %s: recovering after another process failed", s->home);
        close_handles(s);
        rc = open_handles(s, err);
        s->generation++;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

typedef int txn_body_fn(bg_store *s, DB_TXN *txn, void *arg, int *answer);

/*
 * Run body in a transaction; retry on deadlock, reopen once on RUNRECOVERY.
 * body returns 0 to commit (with its answer in *answer, >= 0), anything else
 * (a Berkeley DB or errno code, or -1 for a record that does not decode) to
 * abort.  Returns body's answer, or -1 with err set.
 */
static int
run_txn(bg_store *s, txn_body_fn *body, void *arg, bool sync, bg_error *err)
{
    int ret = 0;
    bool reopened = false;

    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        DB_TXN *txn = NULL;
        unsigned gen;

        pthread_rwlock_rdlock(&s->lock);
        gen = s->generation;
        if (s->env == NULL) {
            ret = DB_RUNRECOVERY;
        } else if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) == 0) {
            int answer = 0;
            ret = body(s, txn, arg, &answer);
            if (ret == 0) {
                ret = txn->commit(txn, sync || s->sync ? DB_TXN_SYNC : 0);
                if (ret == 0) {
                    pthread_rwlock_unlock(&s->lock);
                    return answer;
                }
            } else {
                txn->abort(txn);
            }
        }
        pthread_rwlock_unlock(&s->lock);
        if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
            usleep((useconds_t)(100 * (attempt + 1)));
            continue;
        }
        if (ret == DB_RUNRECOVERY && !reopened) {
            reopened = true;
            if (reopen(s, gen, err) < 0)
                return -1;
            continue;
        }
        break;
    }
    bg_error_set(err, "store %s: %s", s->home,
                 ret == -1 ? "a record does not decode (corrupt store?)" : db_strerror(ret));
    return -1;
}

static void
dbt_init(DBT *d, const void *data, size_t size)
{
    memset(d, 0, sizeof(*d));
    d->data = (void *)data;
    d->size = (u_int32_t)size;
}

/* Read a value: 0 found (payload in val, purge time in *purge_at),
 * DB_NOTFOUND, or an error.  -1 = the value does not decode. */
static int
rec_get(bg_store *s, DB_TXN *txn, int dbi, const void *key, size_t klen, bg_buf *val,
        int64_t *purge_at, u_int32_t flags)
{
    DBT k, d;
    int ret;

    dbt_init(&k, key, klen);
    memset(&d, 0, sizeof(d));
    d.flags = DB_DBT_MALLOC;
    ret = s->db[dbi]->get(s->db[dbi], txn, &k, &d, flags);
    if (ret != 0)
        return ret;
    if (d.size < 9) {
        free(d.data);
        return -1;
    }
    *purge_at = codec_get_i64_at(d.data);
    bg_buf_reset(val);
    bg_buf_append(val, (const char *)d.data + 8, d.size - 8);
    free(d.data);
    return 0;
}

static void
expiry_key(bg_buf *out, int dbi, int64_t when, const void *key, size_t klen)
{
    unsigned char be[8];

    bg_buf_reset(out);
    bg_buf_putc(out, (char)dbi);
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)when >> (56 - 8 * i));
    bg_buf_append(out, (const char *)be, 8);
    bg_buf_append(out, key, klen);
}

static int
expiry_change(bg_store *s, DB_TXN *txn, int dbi, const void *key, size_t klen,
              int64_t old_purge, int64_t new_purge)
{
    bg_buf ek = BG_BUF_INIT;
    DBT k, d;
    int ret = 0;

    if (old_purge == new_purge)
        return 0;
    if (old_purge > 0) {
        expiry_key(&ek, dbi, old_purge, key, klen);
        dbt_init(&k, ek.s, ek.len);
        ret = s->db[DBI_EXPIRY]->del(s->db[DBI_EXPIRY], txn, &k, 0);
        if (ret == DB_NOTFOUND)
            ret = 0;
    }
    if (ret == 0 && new_purge > 0) {
        expiry_key(&ek, dbi, new_purge, key, klen);
        dbt_init(&k, ek.s, ek.len);
        dbt_init(&d, "", 0);
        ret = s->db[DBI_EXPIRY]->put(s->db[DBI_EXPIRY], txn, &k, &d, 0);
    }
    bg_buf_free(&ek);
    return ret;
}

/* Write a value; old_purge is the purge time of the value it replaces
 * (0 = none), so that the expiry index stays exact. */
static int
rec_put(bg_store *s, DB_TXN *txn, int dbi, const void *key, size_t klen,
        const bg_buf *payload, int64_t old_purge, int64_t new_purge)
{
    bg_buf v = BG_BUF_INIT;
    DBT k, d;
    int ret;

    codec_put_i64(&v, new_purge);
    bg_buf_append(&v, bg_buf_str(payload), payload->len);
    dbt_init(&k, key, klen);
    dbt_init(&d, v.s, v.len);
    ret = s->db[dbi]->put(s->db[dbi], txn, &k, &d, 0);
    bg_buf_free(&v);
    if (ret == 0)
        ret = expiry_change(s, txn, dbi, key, klen, old_purge, new_purge);
    return ret;
}

static int
rec_del(bg_store *s, DB_TXN *txn, int dbi, const void *key, size_t klen, int64_t old_purge)
{
    DBT k;
    int ret;

    dbt_init(&k, key, klen);
    ret = s->db[dbi]->del(s->db[dbi], txn, &k, 0);
    if (ret == 0)
        ret = expiry_change(s, txn, dbi, key, klen, old_purge, 0);
    return ret;
}

/* A get outside any read-modify-write: one short transaction. */
typedef struct get_arg {
    int dbi;
    const void *key;
    size_t klen;
    bg_buf *val;
    int64_t purge_at;
} get_arg;

static int
get_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    get_arg *a = arg;
    int ret = rec_get(s, txn, a->dbi, a->key, a->klen, a->val, &a->purge_at, 0);

    if (ret == DB_NOTFOUND || ret == 0) {
        *answer = ret == 0;
        return 0;
    }
    return ret;
}

static bg_lookup
plain_get(bg_store *s, int dbi, const void *key, size_t klen, bg_buf *val, bg_error *err)
{
    get_arg a = {dbi, key, klen, val, 0};
    int r = run_txn(s, get_body, &a, false, err);

    return r < 0 ? BG_LOOKUP_ERROR : r == 1 ? BG_FOUND : BG_NOTFOUND;
}

/* ---- recipients ---------------------------------------------------------- */

bg_lookup
bg_store_rcpt_get(bg_store *s, const char *addr, bg_rcpt_rec *out, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = plain_get(s, DBI_RCPT, addr, strlen(addr), &v, err);

    if (r == BG_FOUND && codec_rcpt_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: recipient record of %s does not decode", s->home, addr);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&v);
    return r;
}

typedef struct rcpt_update_arg {
    const char *addr;
    bg_rcpt_update_fn *fn;
    void *arg;
} rcpt_update_arg;

static int
rcpt_update_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    rcpt_update_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    bg_rcpt_rec cur, next;
    int64_t old_purge = 0, new_purge = 0;
    size_t klen = strlen(a->addr);
    int ret, verdict;

    ret = rec_get(s, txn, DBI_RCPT, a->addr, klen, &v, &old_purge, DB_RMW);
    if (ret != 0 && ret != DB_NOTFOUND)
        goto out;
    bool have = ret == 0;
    if (have && codec_rcpt_decode(&v, &cur) < 0) {
        ret = -1;
        goto out;
    }
    memset(&next, 0, sizeof(next));
    if (have)
        next = cur;
    new_purge = old_purge;
    verdict = a->fn(have ? &cur : NULL, &next, &new_purge, a->arg);
    if (verdict == 1) {
        codec_rcpt_encode(&next, &v);
        ret = rec_put(s, txn, DBI_RCPT, a->addr, klen, &v, have ? old_purge : 0, new_purge);
    } else if (verdict < 0 && have) {
        ret = rec_del(s, txn, DBI_RCPT, a->addr, klen, old_purge);
    } else {
        ret = 0;
    }
    if (ret == 0)
        *answer = verdict < 0 ? 2 : verdict; /* -1 travels as 2: answers are >= 0 */
out:
    bg_buf_free(&v);
    return ret;
}

int
bg_store_rcpt_update(bg_store *s, const char *addr, bg_rcpt_update_fn *update, void *arg,
                     bg_error *err)
{
    rcpt_update_arg a = {addr, update, arg};
    int r = run_txn(s, rcpt_update_body, &a, true, err);

    return r < 0 ? -2 : r == 2 ? -1 : r;
}

/*
 * Visiting: read a batch of records with a short-lived cursor, close it, then
 * call the visitor, so that a visitor may write to the store (no cursor holds
 * a lock while it runs) and memory stays bounded.
 */
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
visit_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    visit_batch *b = arg;
    DBC *c;
    DBT k, d;
    int ret;

    b->n = 0;
    ret = s->db[b->dbi]->cursor(s->db[b->dbi], txn, &c, DB_READ_COMMITTED);
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

/* Visit every record of dbi whose key starts with prefix; visit returns
 * non-zero to stop.  Values are handed over without the purge-time prefix. */
typedef int raw_visit_fn(const bg_buf *key, const bg_buf *val, void *arg);

static int
visit_all(bg_store *s, int dbi, const char *prefix, size_t prefix_len, raw_visit_fn *visit,
          void *arg, bg_error *err)
{
    visit_batch *b = bg_xcalloc(1, sizeof(*b));
    int rc = 0;

    b->dbi = dbi;
    b->prefix = prefix;
    b->prefix_len = prefix_len;
    if (prefix_len)
        bg_buf_append(&b->start, prefix, prefix_len);
    while (!b->done || b->n > 0) {
        if (run_txn(s, visit_body, b, false, err) < 0) {
            rc = -1;
            break;
        }
        size_t n = b->n;
        for (size_t i = 0; i < n; i++) {
            bg_buf payload = BG_BUF_INIT;
            if (b->vals[i].len < 8) {
                rc = bg_error_set(err, "store %s: short record in %s", s->home,
                                  db_files[dbi]);
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

    return visit_all(s, DBI_RCPT, prefix, prefix ? strlen(prefix) : 0, rcpt_visit, &a, err);
}

/* ---- senders ------------------------------------------------------------- */

bg_lookup
bg_store_sender_get(bg_store *s, const char *id, bg_sender_rec *out, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = plain_get(s, DBI_SENDER, id, strlen(id), &v, err);

    if (r == BG_FOUND && codec_sender_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: sender record of %s does not decode", s->home, id);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&v);
    return r;
}

typedef struct sender_update_arg {
    const char *id;
    bg_sender_update_fn *fn;
    void *arg;
} sender_update_arg;

static int
sender_update_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    sender_update_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    bg_sender_rec cur, next;
    int64_t old_purge = 0, new_purge = 0;
    size_t klen = strlen(a->id);
    int ret, verdict;

    ret = rec_get(s, txn, DBI_SENDER, a->id, klen, &v, &old_purge, DB_RMW);
    if (ret != 0 && ret != DB_NOTFOUND)
        goto out;
    bool have = ret == 0;
    if (have && codec_sender_decode(&v, &cur) < 0) {
        ret = -1;
        goto out;
    }
    memset(&next, 0, sizeof(next));
    if (have)
        next = cur;
    new_purge = old_purge;
    verdict = a->fn(have ? &cur : NULL, &next, &new_purge, a->arg);
    if (verdict == 1) {
        codec_sender_encode(&next, &v);
        ret = rec_put(s, txn, DBI_SENDER, a->id, klen, &v, have ? old_purge : 0, new_purge);
    } else if (verdict < 0 && have) {
        ret = rec_del(s, txn, DBI_SENDER, a->id, klen, old_purge);
    } else {
        ret = 0;
    }
    if (ret == 0)
        *answer = verdict < 0 ? 2 : verdict;
out:
    bg_buf_free(&v);
    return ret;
}

int
bg_store_sender_update(bg_store *s, const char *id, bg_sender_update_fn *update, void *arg,
                       bg_error *err)
{
    sender_update_arg a = {id, update, arg};
    int r = run_txn(s, sender_update_body, &a, false, err);

    return r < 0 ? -2 : r == 2 ? -1 : r;
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

    return visit_all(s, DBI_SENDER, NULL, 0, sender_visit, &a, err);
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
tried_add_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    tried_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge = 0;
    int ret = rec_get(s, txn, DBI_TRIED, a->key.s, a->key.len, &v, &old_purge, DB_RMW);

    if (ret == 0 || ret == DB_NOTFOUND) {
        bool have = ret == 0;
        bg_buf_reset(&v);
        codec_put_i64(&v, a->now);
        ret = rec_put(s, txn, DBI_TRIED, a->key.s, a->key.len, &v, have ? old_purge : 0,
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
    r = run_txn(s, tried_add_body, &a, false, err);
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
    rc = visit_all(s, DBI_TRIED, prefix.s, prefix.len, tried_visit, &a, err);
    bg_buf_free(&prefix);
    return rc;
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
del_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    del_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge = 0;
    int ret = rec_get(s, txn, a->dbi, a->key, a->klen, &v, &old_purge, DB_RMW);

    bg_buf_free(&v);
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    ret = rec_del(s, txn, a->dbi, a->key, a->klen, old_purge);
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
    if (run_txn(a->s, del_body, &d, false, a->err) < 0)
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

/* ---- messages ------------------------------------------------------------ */

typedef struct message_put_arg {
    const bg_message_rec *m;
    int64_t purge_at;
} message_put_arg;

static int
put_replacing(bg_store *s, DB_TXN *txn, int dbi, const char *key, const bg_buf *payload,
              int64_t purge_at)
{
    bg_buf old = BG_BUF_INIT;
    int64_t old_purge = 0;
    size_t klen = strlen(key);
    int ret = rec_get(s, txn, dbi, key, klen, &old, &old_purge, DB_RMW);

    bg_buf_free(&old);
    if (ret != 0 && ret != DB_NOTFOUND)
        return ret;
    return rec_put(s, txn, dbi, key, klen, payload, ret == 0 ? old_purge : 0, purge_at);
}

static int
message_put_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    message_put_arg *a = arg;
    bg_buf v = BG_BUF_INIT, k = BG_BUF_INIT;
    int ret = 0;

    codec_message_encode(a->m, &v);
    if (a->m->message_id[0]) {
        bg_buf_printf(&k, "m:%s", a->m->message_id);
        ret = put_replacing(s, txn, DBI_MESSAGE, k.s, &v, a->purge_at);
    }
    if (ret == 0 && a->m->queue_id[0]) {
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
    return run_txn(s, message_put_body, &a, false, err) < 0 ? -1 : 0;
}

bg_lookup
bg_store_message_get(bg_store *s, const char *id, bool by_queue_id, bg_message_rec *out,
                     bg_error *err)
{
    bg_buf k = BG_BUF_INIT, v = BG_BUF_INIT;
    bg_lookup r;

    memset(out, 0, sizeof(*out));
    bg_buf_printf(&k, "%s:%s", by_queue_id ? "q" : "m", id);
    r = plain_get(s, DBI_MESSAGE, k.s, k.len, &v, err);
    if (r == BG_FOUND && codec_message_decode(&v, out) < 0) {
        bg_error_set(err, "store %s: message record %s does not decode", s->home, id);
        r = BG_LOOKUP_ERROR;
    }
    bg_buf_free(&k);
    bg_buf_free(&v);
    return r;
}

void
bg_message_rec_clear(bg_message_rec *m)
{
    free(m->rcpts);
    m->rcpts = NULL;
}

/* ---- incidents ----------------------------------------------------------- */

typedef struct incident_arg {
    bg_buf key;
    bg_incident_rec rec;
    int64_t purge_at;
} incident_arg;

static int
incident_add_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    incident_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    bg_incident_rec cur;
    int64_t old_purge = 0;
    int ret = rec_get(s, txn, DBI_INCIDENT, a->key.s, a->key.len, &v, &old_purge, DB_RMW);
    bg_incident_rec next = a->rec;

    if (ret != 0 && ret != DB_NOTFOUND)
        goto out;
    if (ret == 0) {
        if (codec_incident_decode(&v, &cur) < 0) {
            ret = -1;
            goto out;
        }
        next.first = cur.first;
        next.count = cur.count + 1;
    }
    bg_buf_reset(&v);
    codec_incident_encode(&next, &v);
    ret = rec_put(s, txn, DBI_INCIDENT, a->key.s, a->key.len, &v, ret == 0 ? old_purge : 0,
                  a->purge_at);
out:
    bg_buf_free(&v);
    return ret;
}

int
bg_store_incident_add(bg_store *s, const char *rbl, const char *remote_mta, const char *rcpt,
                      const char *diagnostic, int64_t now, int64_t purge_at, bg_error *err)
{
    incident_arg a;
    int r;

    memset(&a, 0, sizeof(a));
    a.rec.first = a.rec.last = now;
    a.rec.count = 1;
    codec_copy(a.rec.rbl, sizeof(a.rec.rbl), rbl);
    codec_copy(a.rec.remote_mta, sizeof(a.rec.remote_mta), remote_mta);
    codec_copy(a.rec.last_rcpt, sizeof(a.rec.last_rcpt), rcpt);
    codec_copy(a.rec.diagnostic, sizeof(a.rec.diagnostic), diagnostic);
    a.purge_at = purge_at;
    bg_buf_printf(&a.key, "%s\t%s", a.rec.rbl, a.rec.remote_mta);
    r = run_txn(s, incident_add_body, &a, true, err);
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

    return visit_all(s, DBI_INCIDENT, NULL, 0, incident_visit, &a, err);
}

/* ---- seen DSNs ----------------------------------------------------------- */

typedef struct seen_arg {
    const char *id;
    int64_t now;
    int64_t purge_at;
} seen_arg;

static int
seen_mark_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    seen_arg *a = arg;
    bg_buf v = BG_BUF_INIT;
    int64_t old_purge;
    size_t klen = strlen(a->id);
    int ret = rec_get(s, txn, DBI_SEEN, a->id, klen, &v, &old_purge, DB_RMW);

    if (ret == 0) {
        bg_buf_free(&v);
        *answer = 0; /* seen before */
        return 0;
    }
    if (ret == DB_NOTFOUND) {
        bg_buf_reset(&v);
        codec_put_i64(&v, a->now);
        ret = rec_put(s, txn, DBI_SEEN, a->id, klen, &v, 0, a->purge_at);
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

    return run_txn(s, seen_mark_body, &a, true, err);
}

int
bg_store_seen_unmark(bg_store *s, const char *dsn_id, bg_error *err)
{
    del_arg a = {DBI_SEEN, dsn_id, strlen(dsn_id)};

    return run_txn(s, del_body, &a, true, err) < 0 ? -1 : 0;
}

/* ---- meta and audit ------------------------------------------------------ */

bg_lookup
bg_store_meta_get(bg_store *s, const char *name, char *value, size_t size, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = plain_get(s, DBI_META, name, strlen(name), &v, err);

    if (r == BG_FOUND && size > 0) {
        size_t n = v.len < size - 1 ? v.len : size - 1;
        memcpy(value, v.s, n);
        value[n] = '\0';
    }
    bg_buf_free(&v);
    return r;
}

typedef struct put_arg {
    int dbi;
    const char *key;
    size_t klen;
    bg_buf val;
} put_arg;

static int
put_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    put_arg *a = arg;

    return rec_put(s, txn, a->dbi, a->key, a->klen, &a->val, 0, 0);
}

int
bg_store_meta_put(bg_store *s, const char *name, const char *value, bg_error *err)
{
    put_arg a = {DBI_META, name, strlen(name), BG_BUF_INIT};
    int r;

    bg_buf_puts(&a.val, value);
    r = run_txn(s, put_body, &a, false, err);
    bg_buf_free(&a.val);
    return r < 0 ? -1 : 0;
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
    r = run_txn(s, put_body, &a, true, err);
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

    return visit_all(s, DBI_AUDIT, NULL, 0, audit_visit, &a, err);
}

/* ---- upkeep -------------------------------------------------------------- */

typedef struct purge_arg {
    int64_t now;
    size_t batch;
    size_t purged;
    bool more;
} purge_arg;

static int
purge_body(bg_store *s, DB_TXN *txn, void *arg, int *answer)
{
    purge_arg *a = arg;
    DBC *c;
    DBT k, d;
    int ret;
    size_t n = 0;

    a->purged = 0;
    a->more = false;
    ret = s->db[DBI_EXPIRY]->cursor(s->db[DBI_EXPIRY], txn, &c, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    k.flags = d.flags = DB_DBT_REALLOC;
    while ((ret = c->get(c, &k, &d, DB_FIRST)) == 0) {
        const unsigned char *p = k.data;
        int64_t when = 0;
        if (k.size < 9 || p[0] >= DBI_EXPIRY) {
            ret = c->del(c, 0); /* a stray index entry: drop it */
            if (ret != 0)
                break;
            continue;
        }
        for (int i = 1; i <= 8; i++)
            when = (int64_t)(((uint64_t)when << 8) | p[i]);
        if (when > a->now)
            break;
        if (n == a->batch) {
            a->more = true;
            break;
        }
        DBT pk;
        dbt_init(&pk, p + 9, k.size - 9);
        ret = s->db[p[0]]->del(s->db[p[0]], txn, &pk, 0);
        if (ret != 0 && ret != DB_NOTFOUND)
            break;
        ret = c->del(c, 0);
        if (ret != 0)
            break;
        n++;
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
    free(k.data);
    free(d.data);
    c->close(c);
    a->purged = n;
    return ret;
}

int
bg_store_purge(bg_store *s, int64_t now, size_t batch, size_t max_batches, size_t *purged,
               bg_error *err)
{
    purge_arg a = {now, batch ? batch : 500, 0, false};
    size_t total = 0;

    for (size_t i = 0; max_batches == 0 || i < max_batches; i++) {
        if (run_txn(s, purge_body, &a, false, err) < 0) {
            if (purged)
                *purged = total;
            return -1;
        }
        total += a.purged;
        if (!a.more)
            break;
    }
    if (purged)
        *purged = total;
    return 0;
}

static int
count_db(bg_store *s, int dbi, uint64_t *out, bg_error *err)
{
    DB_BTREE_STAT *st = NULL;
    int ret;

    pthread_rwlock_rdlock(&s->lock);
    ret = s->db[dbi] ? s->db[dbi]->stat(s->db[dbi], NULL, &st, DB_READ_COMMITTED)
                     : DB_RUNRECOVERY;
    pthread_rwlock_unlock(&s->lock);
    if (ret != 0)
        return bg_error_set(err, "store %s: stat %s: %s", s->home, db_files[dbi],
                            db_strerror(ret));
    *out = st->bt_nkeys;
    free(st);
    return 0;
}

int
bg_store_stats_get(bg_store *s, bg_store_stats *out, bg_error *err)
{
    memset(out, 0, sizeof(*out));
    if (count_db(s, DBI_RCPT, &out->rcpts, err) < 0 ||
        count_db(s, DBI_SENDER, &out->senders, err) < 0 ||
        count_db(s, DBI_TRIED, &out->tried, err) < 0 ||
        count_db(s, DBI_MESSAGE, &out->messages, err) < 0 ||
        count_db(s, DBI_INCIDENT, &out->incidents, err) < 0 ||
        count_db(s, DBI_SEEN, &out->seen, err) < 0 ||
        count_db(s, DBI_EXPIRY, &out->expiry, err) < 0)
        return -1;
    return 0;
}

int
bg_store_checkpoint(bg_store *s, bg_error *err)
{
    int ret;

    pthread_rwlock_rdlock(&s->lock);
    ret = s->env ? s->env->txn_checkpoint(s->env, 0, 0, 0) : DB_RUNRECOVERY;
    pthread_rwlock_unlock(&s->lock);
    if (ret != 0)
        return bg_error_set(err, "store %s: checkpoint: %s", s->home, db_strerror(ret));
    return 0;
}
