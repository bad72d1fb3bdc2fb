/*
 * store — all of bounceguard's state, shared by the milter, the DSN intake
 * and the CLI: by default one Berkeley DB (libdb 5.3) transactional
 * environment on this host; with `store = redis`, a Redis server that
 * several relays share (one blacklist, one quota per sender across them).
 * Both backends keep the same records with the same guarantees (atomic
 * read-modify-write, exact quota under concurrency); callers cannot tell
 * them apart except by bg_store_env_stats_get's `backend`.
 *
 * Every Berkeley DB and Redis call of the project lives in lib/store*.c.
 * Berkeley DB: crash detection is Berkeley DB's own for several processes
 * sharing one environment: every thread is known to the environment
 * (set_thread_id, set_isalive), and it is opened with DB_REGISTER |
 * DB_RECOVER, so that the first process to open it after a process died
 * inside it runs recovery (not the DB_FAILCHK hybrid at open: see
 * store.c, open_env).  A process that then sees DB_RUNRECOVERY (or Berkeley DB's panic
 * event) closes every handle and reopens, transparently on its next call,
 * retrying for a bounded time while another process recovers.  Long-lived
 * programs call bg_store_maintain() from one housekeeping thread: failchk,
 * and only when it finds the environment sound a checkpoint, which lets
 * Berkeley DB remove the log files no longer needed.  Deadlocks are detected
 * by BDB and retried here.
 *
 * Databases (all btree, keys are canonical strings):
 *   rcpt      address -> bg_rcpt_rec (blacklist and its history)
 *   sender    identity -> bg_sender_rec (quota window)
 *   tried     identity NUL address -> time (blacklisted recipients a sender tried)
 *   message   "m:" Message-ID / "q:" queue ID -> bg_message_rec
 *   incident  rbl TAB remote MTA -> bg_incident_rec
 *   seen      DSN id -> time (a DSN processed twice counts once)
 *   meta      name -> value (log follower offsets, run-time switches)
 *   audit     time+seq -> text (who unblocked what, when, why)
 *   expiry    db tag + big-endian purge time + key -> "" (the purge index)
 * Every record that expires has an entry in `expiry`, so purging walks only
 * what is due, in bounded batches of short transactions, never a full scan.
 *
 * Lookups have three outcomes (BG_FOUND, BG_NOTFOUND, BG_LOOKUP_ERROR); the
 * caller decides what an error means (the milter: tempfail).  All functions are
 * thread-safe.  Writes are durable against the death of any process once they
 * return; bounce writes (BG_STORE_SYNC) also against power loss.
 */
#ifndef BOUNCEGUARD_STORE_H
#define BOUNCEGUARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/util.h"

typedef struct bg_store bg_store;

typedef enum bg_lookup {
    BG_LOOKUP_ERROR = -1,
    BG_NOTFOUND = 0,
    BG_FOUND = 1,
} bg_lookup;

typedef enum bg_rcpt_state {
    BG_RCPT_BLACKLISTED = 1, /* refused until `expires` */
    BG_RCPT_UNBLOCKED = 2,   /* released by an operator (history kept) */
} bg_rcpt_state;

/* A recipient's blacklist entry and bounce history. */
typedef struct bg_rcpt_rec {
    int64_t first_bounce;
    int64_t last_bounce;
    int64_t expires;      /* refused while now < expires and state is BLACKLISTED */
    int64_t grace_until;  /* bounces before this do not re-block (after an unblock) */
    int64_t updated;
    uint32_t bounce_count;
    uint8_t state;        /* bg_rcpt_state */
    char source[16];      /* dsn, log, manual, import */
    char reason[24];      /* Sisimai reason vocabulary */
    char status[16];      /* enhanced status code, 5.1.1 */
    char remote_mta[256];
    char diagnostic[512]; /* cut at 511 bytes, marked with "..." */
    char last_sender[256];/* identity whose mail caused the last bounce */
} bg_rcpt_rec;

/* A sender's quota window. */
typedef struct bg_sender_rec {
    int64_t window_start; /* first message of the current window; 0 = none */
    uint32_t count;       /* messages counted (and reserved) in the window */
    uint32_t refused;     /* messages refused in the window */
    int64_t last_seen;
    uint64_t total;       /* messages accepted over the sender's lifetime */
} bg_sender_rec;

/* A message the relay accepted: for tracing a bounce to its sender. */
typedef struct bg_message_rec {
    int64_t time;
    char sender_id[256];
    char env_from[257];
    char message_id[256];
    char queue_id[64];
    char *rcpts;          /* recipients, one per line (owned; bg_message_rec_clear) */
} bg_message_rec;

/* An RBL block of the relay reported by a remote server. */
typedef struct bg_incident_rec {
    int64_t first;
    int64_t last;
    uint32_t count;
    char rbl[128];
    char remote_mta[256];
    char last_rcpt[257];
    char diagnostic[512];
} bg_incident_rec;

/* What a read-modify-write decided (the update function's answer), and
 * what the store answers for it: the same, or BG_STORE_FAILED. */
typedef enum bg_record_change {
    BG_STORE_FAILED = -2,  /* the store failed (err set): nothing changed */
    BG_RECORD_DELETE = -1, /* remove the record */
    BG_RECORD_KEEP = 0,    /* leave it as it is */
    BG_RECORD_WRITE = 1,   /* write `next` */
} bg_record_change;

/* Flags for bg_store_open. */
enum {
    BG_STORE_CREATE = 1 << 0, /* create db_home and the databases if missing */
};

/* The cache of a store opened without a size (db_cache_mb's default): enough
 * for a relay of ten thousand recipients, and the whole store, reserved
 * regions included, stays under 40 MB on disk. */
#define BG_STORE_CACHE_MB_DEFAULT 8

/*
 * Open (joining or creating) the environment in `home`, with a cache of
 * cache_mb megabytes (0 = BG_STORE_CACHE_MB_DEFAULT; the size is fixed by
 * the process that creates the environment, later ones join it as it is).
 * When the environment needs a recovery another process is running, waits
 * for it (at most 15 s, saying so once in the log).  Returns NULL with err
 * naming the path and the cause (missing, not writable, not a bounceguard
 * store, corrupt, still needing recovery).  close returns NULL.
 */
bg_store *bg_store_open_sized(const char *home, unsigned flags, unsigned cache_mb,
                              bg_error *err);
/* bg_store_open_sized with the default cache. */
bg_store *bg_store_open(const char *home, unsigned flags, bg_error *err);
bg_store *bg_store_close(bg_store *s);

/*
 * The Redis backend.  Every call has a deadline (timeout_ms); an unreachable
 * server is a store error like any other (the milter answers per
 * on_store_error).  The primary is the first of `servers` that says it is
 * one (ROLE), or the one the `sentinels` name for master_name; after a
 * failover (a READONLY answer, a lost connection) the next call finds the
 * new one.  Durable writes (bounces, blocks) wait until `replicas` replicas
 * confirm their copy (WAIT) and fail otherwise.
 */
typedef struct bg_store_redis_opts {
    const char *servers;     /* "host:port ..." ([v6]:port, /path/to.sock); may be "" with sentinels */
    const char *sentinels;   /* "host:port ..."; "" = none */
    const char *master_name; /* the sentinels' name for the primary */
    const char *user;        /* ACL user; "" = the default user */
    const char *password;    /* "" = none */
    const char *sentinel_user;     /* the Sentinels' own ACL user; "" = default */
    const char *sentinel_password; /* the Sentinels' requirepass; "" = none */
    long db;                 /* SELECT */
    const char *prefix;      /* every key bounceguard writes begins with it */
    unsigned timeout_ms;     /* deadline of each connect and each call */
    unsigned replicas;       /* durable writes wait for this many copies */
} bg_store_redis_opts;
/* The options come from a config that bg_config_load checked (the
 * addresses are read by netaddr.h); NULL with err set. */
bg_store *bg_store_open_redis(const bg_store_redis_opts *o, bg_error *err);

/* Where the store is, for messages: its directory, or "redis HOST:PORT". */
const char *bg_store_where(const bg_store *s);

/* Open the store a config names (store = bdb | redis). */
struct bg_config;
bg_store *bg_store_open_config(const struct bg_config *c, unsigned flags, bg_error *err);

/* Used by tests: commit every write to disk before returning (power loss). */
void bg_store_set_sync(bg_store *s, bool sync);

/* ---- recipients ---------------------------------------------------------- */

bg_lookup bg_store_rcpt_get(bg_store *s, const char *addr, bg_rcpt_rec *out,
                            bg_error *err);

/*
 * Read-modify-write of one recipient in one transaction.  `update` gets the
 * current record (NULL if none) and fills `next`; it returns BG_RECORD_WRITE,
 * BG_RECORD_KEEP or BG_RECORD_DELETE.  `purge_at` is when the written record
 * may be purged (0 = never).  The decision belongs to the caller (the
 * policy); the store only makes it atomic.  Returns update's answer, or
 * BG_STORE_FAILED (err set).
 */
typedef bg_record_change bg_rcpt_update_fn(const bg_rcpt_rec *cur, bg_rcpt_rec *next,
                                           int64_t *purge_at, void *arg);
bg_record_change bg_store_rcpt_update(bg_store *s, const char *addr,
                                      bg_rcpt_update_fn *update, void *arg, bg_error *err);

/* Call fn for each recipient in key order (optionally only keys starting with
 * prefix); fn returns non-zero to stop.  Streams: memory does not grow with
 * the number of entries.  Returns 0, or -1 on a store error. */
typedef int bg_rcpt_visit_fn(const char *addr, const bg_rcpt_rec *rec, void *arg);
int bg_store_rcpt_foreach(bg_store *s, const char *prefix, bg_rcpt_visit_fn *fn, void *arg,
                          bg_error *err);

/* ---- senders ------------------------------------------------------------- */

bg_lookup bg_store_sender_get(bg_store *s, const char *id, bg_sender_rec *out,
                              bg_error *err);

/* As bg_store_rcpt_update, for a sender's quota record; writes are exclusive
 * (DB_RMW), so concurrent reservations of one sender serialise. */
typedef bg_record_change bg_sender_update_fn(const bg_sender_rec *cur, bg_sender_rec *next,
                                             int64_t *purge_at, void *arg);
bg_record_change bg_store_sender_update(bg_store *s, const char *id, bg_sender_update_fn *update,
                           void *arg, bg_error *err);

typedef int bg_sender_visit_fn(const char *id, const bg_sender_rec *rec, void *arg);
int bg_store_sender_foreach(bg_store *s, bg_sender_visit_fn *fn, void *arg, bg_error *err);

/* Remember that sender `id` tried blacklisted recipient `addr` at `now`; the
 * entry may be purged at purge_at. */
int bg_store_tried_add(bg_store *s, const char *id, const char *addr, int64_t now,
                       int64_t purge_at, bg_error *err);

/* Visit the recipients sender `id` tried (fn gets the address and the time
 * tried, returns non-zero to stop). */
typedef int bg_tried_visit_fn(const char *addr, int64_t when, void *arg);
int bg_store_tried_foreach(bg_store *s, const char *id, bg_tried_visit_fn *fn, void *arg,
                           bg_error *err);

/* bg_store_sender_get and bg_store_tried_foreach of one sender at once:
 * with Redis in one round trip (the milter's MAIL FROM needs both). */
bg_lookup bg_store_sender_get_tried(bg_store *s, const char *id, bg_sender_rec *out,
                                    bg_tried_visit_fn *fn, void *arg, bg_error *err);

/* Visit the senders that tried recipient addr (fn gets the sender id and the
 * time tried, returns non-zero to stop).  The records are keyed by sender,
 * so this reads them all: their number is bounded by the senders times
 * sender_bounce_limit. */
typedef int bg_tried_by_fn(const char *id, int64_t when, void *arg);
int bg_store_tried_by(bg_store *s, const char *addr, bg_tried_by_fn *fn, void *arg,
                      bg_error *err);

/* Forget every tried recipient of a sender (sender reset). */
int bg_store_tried_clear(bg_store *s, const char *id, bg_error *err);

/* ---- messages, incidents, seen DSNs -------------------------------------- */

int bg_store_message_put(bg_store *s, const bg_message_rec *m, int64_t purge_at,
                         bg_error *err);
/* Look up by Message-ID (by_queue_id false) or by queue ID.  out->rcpts is
 * allocated: release with bg_message_rec_clear(). */
bg_lookup bg_store_message_get(bg_store *s, const char *id, bool by_queue_id,
                               bg_message_rec *out, bg_error *err);
void bg_message_rec_clear(bg_message_rec *m);

/* Add one occurrence of an RBL incident (creates or updates). */
int bg_store_incident_add(bg_store *s, const char *rbl, const char *remote_mta,
                          const char *rcpt, const char *diagnostic, int64_t now,
                          int64_t purge_at, bg_error *err);
typedef int bg_incident_visit_fn(const bg_incident_rec *rec, void *arg);
int bg_store_incident_foreach(bg_store *s, bg_incident_visit_fn *fn, void *arg,
                              bg_error *err);

/* Mark a DSN as processed.  Returns 1 if it was new, 0 if seen before, -1 on
 * error.  Atomic: of two processes marking the same id, one gets 1. */
int bg_store_seen_mark(bg_store *s, const char *dsn_id, int64_t now, int64_t purge_at,
                       bg_error *err);
int bg_store_seen_unmark(bg_store *s, const char *dsn_id, bg_error *err);

/* ---- several writes in one transaction ----------------------------------- */

/*
 * A DSN marks itself seen and blacklists its recipients in ONE transaction:
 * a process killed between the two would otherwise leave a DSN that counts
 * as processed while its bounce was never recorded.
 */
typedef struct bg_store_txn bg_store_txn;

/* Writes inside bg_store_atomic; fn returns 0 to commit, -1 to abort.  After a
 * deadlock fn runs again from the start: it may fill results in arg but must
 * not act on the world (log, send) until bg_store_atomic has returned. */
typedef int bg_store_txn_fn(bg_store_txn *t, void *arg);

/* Returns 0 committed, 1 aborted by fn, -1 store error (err set). */
int bg_store_atomic(bg_store *s, bool sync, bg_store_txn_fn *fn, void *arg, bg_error *err);

/* As bg_store_seen_mark: 1 new, 0 seen before, -1 error (return -1 from fn). */
int bg_store_txn_seen_mark(bg_store_txn *t, const char *dsn_id, int64_t now,
                           int64_t purge_at);
/* As bg_store_rcpt_update: update's answer, or BG_STORE_FAILED (return -1 from fn). */
bg_record_change bg_store_txn_rcpt_update(bg_store_txn *t, const char *addr,
                                          bg_rcpt_update_fn *update,
                             void *arg);
/* As bg_store_sender_update: update's answer, or BG_STORE_FAILED (return -1 from fn). */
bg_record_change bg_store_txn_sender_update(bg_store_txn *t, const char *id,
                                            bg_sender_update_fn *update, void *arg);
/* What the caller read of sender id a moment ago (NULL: no record), for the
 * next bg_store_txn_sender_update of it: with Redis its read then costs no
 * round trip (the commit still checks it: a record changed since is a
 * conflict, and the update runs again on what the server holds). */
void bg_store_txn_sender_seen(bg_store_txn *t, const char *id, const bg_sender_rec *seen);
/* As bg_store_message_put (a message with neither ID is not filed): 0, or
 * -1 on error (return -1 from fn). */
int bg_store_txn_message_put(bg_store_txn *t, const bg_message_rec *m, int64_t purge_at);
/* As bg_store_incident_add: 0, or -1 on error (return -1 from fn). */
int bg_store_txn_incident_add(bg_store_txn *t, const char *rbl, const char *remote_mta,
                              const char *rcpt, const char *diagnostic, int64_t now,
                              int64_t purge_at);

/* ---- meta and audit ------------------------------------------------------ */

/*
 * Counters shared by every process (metrics of what the DSN intake learned,
 * read by the milter's /metrics and `bounceguard metrics`): named integers
 * in the meta database under "count:" NAME, kept by both backends.  Add
 * delta to one inside the caller's transaction (created at 0): the count
 * commits or aborts with the writes it counts.  0, or -1 (return -1 from fn).
 * Names are the caller's and must come from a bounded set.
 */
int bg_store_txn_counter_add(bg_store_txn *t, const char *name, uint64_t delta);
/* Visit every counter whose name starts with prefix ("" = all), in name
 * order; fn returns non-zero to stop.  0, or -1 on a store error. */
typedef int bg_counter_visit_fn(const char *name, uint64_t value, void *arg);
int bg_store_counter_foreach(bg_store *s, const char *prefix, bg_counter_visit_fn *fn,
                             void *arg, bg_error *err);

bg_lookup bg_store_meta_get(bg_store *s, const char *name, char *value, size_t size,
                            bg_error *err);
int bg_store_meta_put(bg_store *s, const char *name, const char *value, bg_error *err);

/* Append one audit line ("who action address: why"). */
int bg_store_audit_add(bg_store *s, int64_t now, const char *text, bg_error *err);
typedef int bg_audit_visit_fn(int64_t when, const char *text, void *arg);
int bg_store_audit_foreach(bg_store *s, bg_audit_visit_fn *fn, void *arg, bg_error *err);

/* ---- upkeep -------------------------------------------------------------- */

/*
 * Remove records whose purge time is <= now, at most `batch` per transaction,
 * at most `max_batches` transactions (0 = until none is due).  *purged gets
 * the number removed.  Returns 0, or -1 on error.
 */
int bg_store_purge(bg_store *s, int64_t now, size_t batch, size_t max_batches,
                   size_t *purged, bg_error *err);

/* Counts per database, for `bounceguard stats`. */
typedef struct bg_store_stats {
    uint64_t rcpts, senders, tried, messages, incidents, seen, expiry;
} bg_store_stats;
int bg_store_stats_get(bg_store *s, bg_store_stats *out, bg_error *err);

/* The environment's health, for `bounceguard stats`: counts since the
 * environment was made (its region files; a reboot keeps them). */
typedef struct bg_store_env_stats {
    char backend[192];             /* "Berkeley DB DIR" or "Redis HOST:PORT (...)" */
    bool redis;                    /* the counts below are Berkeley DB's, 0 for Redis */
    uint64_t log_files, log_bytes; /* transaction log files kept, and their size */
    int64_t last_checkpoint;       /* UNIX time; 0 = none yet */
    uint64_t replay_bytes;         /* log written since the last checkpoint:
                                    * what recovery after a crash reads */
    uint64_t recovery_ms;          /* estimated time of that recovery */
    uint64_t deadlocks;            /* transactions Berkeley DB aborted to break one */
    uint64_t lock_waits;           /* lock requests that had to wait */
    uint64_t cache_bytes;          /* the cache's size */
} bg_store_env_stats;
int bg_store_env_stats_get(bg_store *s, bg_store_env_stats *out, bg_error *err);

/* What bg_store_maintain did. */
typedef enum bg_store_upkeep {
    BG_STORE_SOUND = 0,      /* failchk found nothing; checkpointed if due */
    BG_STORE_RECOVERED = 1,  /* a process had died inside: reopened (recovery) */
} bg_store_upkeep;

/*
 * The housekeeping of a long-lived program, from ONE thread of it: reopen
 * when Berkeley DB said the environment panicked; run failchk, and reopen
 * (recovery) on any non-zero answer — in 5.3 failchk says EBUSY when the
 * dead process held a database handle; only when it answered 0, in the same
 * thread right after, checkpoint if checkpoint_s seconds passed since this
 * process's last one (0 = now) or 512 KB of log were written, and remove
 * the log files no longer needed.  A checkpoint never runs between a peer's
 * death and the failchk that would have seen it: that checkpoint could let
 * recovery skip a committed transaction (docs/RELIABILITY.md).
 * Returns BG_STORE_SOUND or BG_STORE_RECOVERED, or -1 with err set.
 */
int bg_store_maintain(bg_store *s, unsigned checkpoint_s, bg_error *err);

/*
 * How long calls have been inside the store without any of them finishing,
 * in milliseconds at monotonic time now_ms (0 when none is inside).  With
 * the pthread mutexes Debian's Berkeley DB is built with, a thread that
 * waits for a mutex a SIGKILLed process held waits for ever: no failchk or
 * recovery wakes it, and the threads that need the handles it holds wait
 * behind it.  A healthy call ends within seconds (deadlock retries and the
 * wait for a peer's recovery are bounded, 20 s together), so a long-lived
 * program that sees minutes here is stuck for good and can only exit for its
 * service manager to start it again (the milter's stall guard).
 */
int64_t bg_store_stalled_ms(bg_store *s, int64_t now_ms);

/*
 * Whether one call into any store of this process has been under way for
 * BG_STORE_CALL_STUCK_S, by the clock: the single-threaded programs' second
 * sign of a stall (bg_stallwatch_probe), for a wait inside Berkeley DB that
 * polls fast enough to look like work.  The bounded waits inside a call
 * (deadlock retries, a peer's recovery, failchk at close) end long before.
 * Reads only atomics and the clock: safe in a signal handler.
 */
bool bg_store_call_stuck(void);
#define BG_STORE_CALL_STUCK_S 120

/* How often the long-lived programs checkpoint a store that is written
 * (bg_store_maintain's checkpoint_s), and how often they run failchk. */
#define BG_STORE_CHECKPOINT_S 30
#define BG_STORE_FAILCHK_S 1

/*
 * Whether the log has grown by 512 KB since the last checkpoint, so that
 * the upkeep should run bg_store_maintain now rather than at its next
 * second: 2,000 messages a second write 1.7 MB of log a second, and a
 * checkpoint once a second let the log reach 5 files.  Two statistics calls,
 * no failchk: cheap enough to ask several times a second.  Always false for
 * Redis.
 */
bool bg_store_log_pressing(bg_store *s);
#define BG_STORE_LOG_LOOK_MS 200

/* ---- backup, verification, restore ---------------------------------------- */

/*
 * Hot backup (Berkeley DB's DB_ENV->backup, the library form of
 * db_hotbackup): the databases, then the log files they need, copied into
 * dir (created, must be empty) while every program goes on using the store.
 * A backup is made consistent by the catastrophic recovery that
 * bg_store_restore() and bg_store_verify_dir(recover) run.  Returns 0, or
 * -1 with err set.
 */
int bg_store_backup(bg_store *s, const char *dir, bg_error *err);

/*
 * db_verify of every database of the store in dir: a backup or the
 * directory of a store no program uses (Berkeley DB's verification takes no
 * locks).  With recover, catastrophic recovery runs in dir first (a hot
 * backup's copies are consistent only after it).  *bad gets the number of
 * databases that are damaged or missing, err names the first.  Returns 0
 * (look at *bad), or -1 with err set when nothing could be checked.
 */
int bg_store_verify_dir(const char *dir, bool recover, unsigned *bad, bg_error *err);

/*
 * Restore a backup into home, which must be missing or empty (the old store
 * moved aside, every program stopped): copy the databases and log files,
 * run catastrophic recovery, verify.  The store then opens as usual.
 * Returns 0, or -1 with err set.
 */
int bg_store_restore(const char *backup, const char *home, bg_error *err);

/* bg_store_maintain with a checkpoint now: for the benchmarks' seeding and
 * for `bounceguard checkpoint`-like uses. */
int bg_store_checkpoint(bg_store *s, bg_error *err);

#endif
