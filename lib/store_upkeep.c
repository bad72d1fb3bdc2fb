/*
 * store_upkeep.c — the store's upkeep: purging what expired, counting,
 * checkpointing the log, and the environment's health for `bounceguard
 * stats`.  See include/bounceguard/store.h; the primitives are in store.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bounceguard/log.h"
#include "store_core.h"

typedef struct purge_arg {
    int64_t now;
    size_t batch;
    size_t purged;
    bool more;
} purge_arg;

static int
purge_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    purge_arg *a = arg;
    DBC *c;
    DBT k, d;
    int ret;
    size_t n = 0;

    a->purged = 0;
    a->more = false;
    ret = s->db[DBI_EXPIRY]->cursor(s->db[DBI_EXPIRY], txn->bdb, &c, 0);
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
        store_dbt_init(&pk, p + 9, k.size - 9);
        ret = s->db[p[0]]->del(s->db[p[0]], txn->bdb, &pk, 0);
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

    if (s->redis) /* Redis expires the records itself: tidy the indexes */
        return store_redis_purge(s, a.batch * (max_batches ? max_batches : 1000), purged, err);
    for (size_t i = 0; max_batches == 0 || i < max_batches; i++) {
        if (store_run_txn(s, purge_body, &a, false, err) < 0) {
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

    if (s->redis)
        return store_redis_count(s, dbi, out, err);
    store_enter(s);
    pthread_rwlock_rdlock(&s->lock);
    ret = s->db[dbi] ? s->db[dbi]->stat(s->db[dbi], NULL, &st, DB_READ_COMMITTED)
                     : DB_RUNRECOVERY;
    pthread_rwlock_unlock(&s->lock);
    store_leave(s);
    if (ret != 0)
        return bg_error_set(err, "store %s: stat %s: %s", s->home, store_db_files[dbi],
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

/* 512 KB of log (a quarter of a log file) written since the last
 * checkpoint makes one due even before its time: under a heavy load the log
 * then still holds only a few megabytes and recovery reads little. */
#define CHECKPOINT_KBYTES (STORE_LOG_FILE_BYTES / 4 / 1024)

static int maintain(bg_store *s, unsigned checkpoint_s, bg_error *err);

int
bg_store_maintain(bg_store *s, unsigned checkpoint_s, bg_error *err)
{
    int r;

    if (s->redis) /* no log, no peers inside a shared region */
        return BG_STORE_SOUND;
    store_enter(s);
    r = maintain(s, checkpoint_s, err);
    store_leave(s);
    return r;
}

static int
maintain(bg_store *s, unsigned checkpoint_s, bg_error *err)
{
    unsigned gen;
    int ret, stage = 0;

    pthread_rwlock_rdlock(&s->lock);
    gen = s->generation;
    if (s->env == NULL || atomic_load(&s->panicked) || store_recovery_wanted(s)) {
        /* A peer waits to recover the environment: leave it for that. */
        ret = DB_RUNRECOVERY;
    } else if ((ret = s->env->failchk(s->env, 0)) == 0) {
        /* Only here, in this thread, right after failchk said every process
         * that was inside the environment is alive or cleaned up. */
        int64_t now = bg_monotonic_ms();
        bool due = checkpoint_s == 0 || now - s->last_checkpoint_ms >= 1000LL * checkpoint_s;
        stage = 1;
        ret = s->env->txn_checkpoint(s->env, due ? 0 : CHECKPOINT_KBYTES, 0, 0);
        if (ret == 0 && due)
            s->last_checkpoint_ms = now;
        if (ret == 0) {
            stage = 2;
            ret = s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE);
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (ret == 0)
        return BG_STORE_SOUND;
    if (stage == 0 || ret == DB_RUNRECOVERY) {
        /* Any answer but 0 from failchk means "recover", never "go on". */
        if (stage == 0 && ret != DB_RUNRECOVERY)
            bg_msg_warn("store %s: a process died inside the store (failchk: %s)", s->home,
                        db_strerror(ret));
        if (store_reopen(s, gen, err) < 0)
            return -1;
        return BG_STORE_RECOVERED;
    }
    return bg_error_set(err, "store %s: %s: %s", s->home,
                        stage == 1 ? "checkpoint" : "log removal", db_strerror(ret));
}

int
bg_store_checkpoint(bg_store *s, bg_error *err)
{
    return bg_store_maintain(s, 0, err) < 0 ? -1 : 0;
}

/* How fast recovery reads the log, measured on a 2-core machine (about
 * 25 MB/s with the default cache; docs/RELIABILITY.md), halved for a slow
 * disk, plus the time to open the environment. */
#define RECOVERY_BYTES_PER_MS 12000
#define RECOVERY_OPEN_MS 100

/* From the last checkpoint to the end of the log: what recovery reads (from
 * the first log file when there was no checkpoint yet). */
static uint64_t
log_since_checkpoint(const DB_TXN_STAT *ts, const DB_LOG_STAT *lg)
{
    uint64_t fsize = lg->st_lg_size ? lg->st_lg_size : STORE_LOG_FILE_BYTES;
    uint64_t end = (uint64_t)lg->st_cur_file * fsize + lg->st_cur_offset;
    uint64_t from = ts->st_last_ckp.file
                        ? (uint64_t)ts->st_last_ckp.file * fsize + ts->st_last_ckp.offset
                        : fsize;

    return end > from ? end - from : 0;
}

bool
bg_store_log_pressing(bg_store *s)
{
    DB_TXN_STAT *ts = NULL;
    DB_LOG_STAT *lg = NULL;
    bool pressing = false;

    if (s->redis)
        return false;
    store_enter(s);
    pthread_rwlock_rdlock(&s->lock);
    if (s->env != NULL && !atomic_load(&s->panicked) &&
        s->env->txn_stat(s->env, &ts, 0) == 0 && s->env->log_stat(s->env, &lg, 0) == 0)
        pressing = log_since_checkpoint(ts, lg) >= CHECKPOINT_KBYTES * 1024ull;
    pthread_rwlock_unlock(&s->lock);
    store_leave(s);
    free(ts);
    free(lg);
    return pressing;
}

int
bg_store_env_stats_get(bg_store *s, bg_store_env_stats *out, bg_error *err)
{
    DB_TXN_STAT *ts = NULL;
    DB_LOCK_STAT *ls = NULL;
    DB_LOG_STAT *lg = NULL;
    DIR *d;
    struct dirent *e;
    int ret;

    memset(out, 0, sizeof(*out));
    if (s->redis)
        return store_redis_describe(s, out, err);
    snprintf(out->backend, sizeof(out->backend), "Berkeley DB %s", s->home);
    store_enter(s);
    pthread_rwlock_rdlock(&s->lock);
    if (s->env == NULL)
        ret = DB_RUNRECOVERY;
    else if ((ret = s->env->txn_stat(s->env, &ts, 0)) == 0 &&
             (ret = s->env->lock_stat(s->env, &ls, 0)) == 0)
        ret = s->env->log_stat(s->env, &lg, 0);
    if (ret == 0) {
        u_int32_t gb = 0, b = 0;
        if (s->env->get_cachesize(s->env, &gb, &b, NULL) == 0)
            out->cache_bytes = ((uint64_t)gb << 30) + b;
    }
    pthread_rwlock_unlock(&s->lock);
    store_leave(s);
    if (ret != 0) {
        free(ts);
        free(ls);
        return bg_error_set(err, "store %s: statistics: %s", s->home, db_strerror(ret));
    }
    out->last_checkpoint = (int64_t)ts->st_time_ckp;
    out->deadlocks = ls->st_ndeadlocks;
    out->lock_waits = ls->st_lock_wait;
    out->replay_bytes = log_since_checkpoint(ts, lg);
    out->recovery_ms = RECOVERY_OPEN_MS + out->replay_bytes / RECOVERY_BYTES_PER_MS;
    free(ts);
    free(ls);
    free(lg);
    if ((d = opendir(s->home)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (strncmp(e->d_name, "log.", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", s->home, e->d_name);
        if (stat(path, &st) == 0) {
            out->log_files++;
            out->log_bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return 0;
}
