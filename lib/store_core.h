/*
 * store_core — private to the store module (lib/store*.c): the handle,
 * the databases, the transaction runner and the record primitives shared by
 * store.c (Berkeley DB: environment, transactions), store_redis.c (the
 * Redis backend: the same primitives over a Redis server), store_records.c
 * and store_messages.c (the typed records, the same for both backends),
 * store_visit.c (streaming visits) and store_upkeep.c (purge, counts,
 * checkpoints), and the little every backend's calls do alike
 * (store_core.c: calls in flight for the stall guard, the pause between
 * retries).  Nothing outside the store includes it: every Berkeley DB and
 * every Redis call of the project stays in these files.
 *
 * The seam between the backends is the record primitive: a body run in a
 * transaction reads and writes (database, key) -> payload with a purge time
 * through store_rec_get/put/del; Berkeley DB runs it in a DB_TXN (locks,
 * deadlock retry), Redis optimistically (what the body read is compared, and
 * what it wrote applied, by one script on the server; a conflict runs the
 * body again, as a deadlock does).
 */
#ifndef BOUNCEGUARD_STORE_CORE_H
#define BOUNCEGUARD_STORE_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <db.h>

#include "bounceguard/store.h"

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

extern const char *const store_db_files[DBI_COUNT];

/* The size of one transaction log file: small, so that removing the files
 * no checkpoint needs keeps only a few megabytes, and four times what is
 * written between two checkpoints under load (CHECKPOINT_KBYTES), so that
 * the log from the last checkpoint on spans three files at most (1 MB files
 * spanned four at 2,000 messages a second: docs/RELIABILITY.md). */
#define STORE_LOG_FILE_BYTES (2u * 1024 * 1024)

/* What a primitive answers for a key that is not there. */
#define STORE_NOTFOUND DB_NOTFOUND
/* store_rec_get's flag: the body will write what it reads (Berkeley DB takes
 * the write lock at once; Redis compares every read anyway). */
#define STORE_RMW DB_RMW

/* A transaction of either backend, handed to bodies. */
typedef struct store_redis_txn store_redis_txn;
typedef struct store_txn {
    DB_TXN *bdb;            /* Berkeley DB: the transaction, NULL for a plain read */
    store_redis_txn *redis; /* Redis: what the body read and wrote */
} store_txn;

typedef struct store_redis store_redis;

struct bg_store {
    store_redis *redis;     /* the Redis backend; NULL: Berkeley DB (the rest) */
    pthread_rwlock_t lock;  /* read: any operation; write: reopen after a crash */
    pthread_mutex_t writer; /* one write transaction at a time (see run()) */
    DB_ENV *env;
    DB *db[DBI_COUNT];
    char *home;
    int gate_fd;      /* shared lock while this process is inside the environment */
    int turnstile_fd; /* exclusive lock while this process waits to recover it */
    unsigned generation; /* bumped by each reopen */
    bool sync;
    size_t cache_bytes;     /* db_cache_mb */
    atomic_bool panicked;   /* Berkeley DB's panic event: reopen */
    int64_t last_checkpoint_ms; /* this process's last timed checkpoint */
    atomic_int inflight;          /* calls inside the store now (bg_store_stalled_ms) */
    _Atomic int64_t progress_ms;  /* when one last finished, or the first began */
};

/* Around every call that may block inside Berkeley DB or wait for Redis:
 * the accounting bg_store_stalled_ms reads (store_core.c). */
void store_enter(bg_store *s);
void store_leave(bg_store *s);

/* Whether another process waits to recover the environment (Berkeley DB):
 * this one must then leave it, by a reopen. */
bool store_recovery_wanted(bg_store *s);

/* Close every handle and open again (recovery), unless another thread did
 * since generation seen_generation.  0, or -1 with err set. */
int store_reopen(bg_store *s, unsigned seen_generation, bg_error *err);

/* A body run inside a transaction: returns 0 to commit (its answer, >= 0,
 * in *answer), or a Berkeley DB / errno code, or -1 (a record that does not
 * decode), to abort. */
typedef int txn_body_fn(bg_store *s, store_txn *txn, void *arg, int *answer);

/* What a body returns when its caller chose to abort (not a BDB error). */
#define STORE_ABORTED (-2)
/* A durable commit that may not have survived: recovery began around it. */
#define STORE_UNCONFIRMED (-3)

/* A pause before running a body again after a deadlock (or, with Redis, a
 * changed read): growing with the attempt, spread so that the writers that
 * met do not meet again in step. */
useconds_t store_retry_pause(int attempt);

/* Run body in a transaction; retry on deadlock, reopen once on RUNRECOVERY.
 * Returns body's answer, or -1 with err set. */
int store_run_txn(bg_store *s, txn_body_fn *body, void *arg, bool sync, bg_error *err);
/* The same for a body that only reads (not serialised with the writers). */
int store_run_read_txn(bg_store *s, txn_body_fn *body, void *arg, bg_error *err);

/* The caller's transaction of bg_store_atomic, as its bg_store_txn_* calls
 * see it (store_records.c, store_messages.c). */
struct bg_store_txn {
    bg_store *s;
    store_txn *txn;
    int err; /* the first Berkeley DB error of a write: aborts the transaction */
};

/* Run one body inside the caller's transaction, keeping its first error:
 * 0, or -1 (the transaction aborts). */
int store_in_txn(bg_store_txn *t, txn_body_fn *body, void *arg, int *answer);

void store_dbt_init(DBT *d, const void *data, size_t size);

/* Read a value: 0 found (payload in val, purge time in *purge_at),
 * DB_NOTFOUND, or an error; -1 = the value does not decode. */
int store_rec_get(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen,
                  bg_buf *val, int64_t *purge_at, u_int32_t flags);
/* Write a value replacing one whose purge time was old_purge (0 = none). */
int store_rec_put(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen,
                  const bg_buf *payload, int64_t old_purge, int64_t new_purge);
int store_rec_del(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen,
                  int64_t old_purge);
/* A get in its own short transaction. */
bg_lookup store_plain_get(bg_store *s, int dbi, const void *key, size_t klen, bg_buf *val,
                          bg_error *err);

/* Visit every record of dbi whose key starts with prefix, in key order, in
 * batches read with a short-lived cursor (store_visit.c); visit returns
 * non-zero to stop.  Values are handed over without their purge time. */
typedef int raw_visit_fn(const bg_buf *key, const bg_buf *val, void *arg);
int store_visit_all(bg_store *s, int dbi, const char *prefix, size_t prefix_len,
                    raw_visit_fn *visit, void *arg, bg_error *err);
/* store_plain_get of (get_dbi, key), then store_visit_all: with Redis the
 * read and the visit's first page go in one round trip (the milter's MAIL
 * FROM reads a sender's window and its tried recipients). */
bg_lookup store_get_then_visit(bg_store *s, int get_dbi, const void *key, size_t klen,
                               bg_buf *val, int dbi, const char *prefix, size_t prefix_len,
                               raw_visit_fn *visit, void *arg, bg_error *err);

/* ---- the Redis backend (store_redis.c) ------------------------------------ */

/* Open: connect to the primary (a server of the list that says it is the
 * primary, or the one the sentinels name), load nothing, check it answers.
 * NULL with err set. */
store_redis *store_redis_open(const bg_store_redis_opts *o, bg_error *err);
void store_redis_close(store_redis *r);
/* "redis HOST:PORT" of the last primary used, for messages. */
const char *store_redis_label(store_redis *r);
int store_redis_run(bg_store *s, txn_body_fn *body, void *arg, bool write, bool sync,
                    bg_error *err);
int store_redis_get(store_redis_txn *t, int dbi, const void *key, size_t klen, bg_buf *val);
int store_redis_put(store_redis_txn *t, int dbi, const void *key, size_t klen,
                    const bg_buf *payload, int64_t purge_at);
int store_redis_del(store_redis_txn *t, int dbi, const void *key, size_t klen);
/* Take payload (NULL: no such key) as what the body's read of (dbi, key)
 * answers in the transaction's first round, instead of a GET: a value the
 * caller read a moment ago.  The commit script compares it like any read;
 * a changed one is a conflict, and the next round reads what the script
 * found. */
void store_redis_seen(store_redis_txn *t, int dbi, const void *key, size_t klen,
                      const bg_buf *payload);
int store_redis_visit(bg_store *s, int dbi, const char *prefix, size_t prefix_len,
                      raw_visit_fn *visit, void *arg, bg_error *err);
int store_redis_get_then_visit(bg_store *s, int get_dbi, const void *key, size_t klen,
                               bg_buf *val, bool *found, int dbi, const char *prefix,
                               size_t prefix_len, raw_visit_fn *visit, void *arg,
                               bg_error *err);
int store_redis_purge(bg_store *s, size_t budget, size_t *purged, bg_error *err);
int store_redis_count(bg_store *s, int dbi, uint64_t *out, bg_error *err);
int store_redis_describe(bg_store *s, bg_store_env_stats *out, bg_error *err);

#endif
