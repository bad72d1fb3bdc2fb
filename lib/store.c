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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/config.h"
#include "bounceguard/log.h"
#include "store_codec.h"
#include "store_core.h"

const char *const store_db_files[DBI_COUNT] = {
    "rcpt.db", "sender.db", "tried.db", "message.db", "incident.db",
    "seen.db", "meta.db",   "audit.db", "expiry.db"};

#define STORE_FORMAT "bounceguard-store 1"
/* The environment's sizes.  A small relay's store must be small (issue 13):
 * the cache follows db_cache_mb (BG_STORE_CACHE_MB_DEFAULT), the lock table
 * is sized for the few pages one transaction touches times the threads of
 * all programs, and the log files are small (STORE_LOG_FILE_BYTES). */
#define STORE_LOCKS 20000
#define STORE_LOCKERS 4000
#define STORE_TXNS 500
/* Threads of all processes that may be inside Berkeley DB at once: the
 * milter's workers, its housekeeping, the followers, a few CLI runs.  A
 * soft limit (Berkeley DB reuses the slots of threads that ended). */
#define STORE_THREADS 256
/* How long a peer process found alive is believed alive (is_alive). */
#define ALIVE_CACHE_MS 200
/* What the environment's files take on disk at their largest, with room to
 * spare: the cache region (Berkeley DB lets it reach 5/4 of the cache size),
 * the primary region (locks, transactions, log buffer, thread slots), the
 * mutexes and two log files. */
#define STORE_REGION_ROOM(cache) ((unsigned long long)(cache) * 5 / 4 + 24ull * 1024 * 1024)
/* How long a transaction chosen as a deadlock victim keeps retrying: far
 * below the 30 s an MTA waits for a milter's answer. */
#define RETRY_FOR_MS 5000
/* How long a call keeps reopening a store that needs recovery (another
 * process runs it, or died while running it) before it gives up with one
 * line: bounded, so that nothing waits forever. */
#define RECOVER_FOR_MS 15000
/* How long a process that found a dead peer lets the live ones see Berkeley
 * DB's panic before it goes on (DB_SET_REG_TIMEOUT, waited twice).  Short:
 * the waiting that makes recovery safe is the gate's (recover_alone), which
 * waits until every other process has closed the environment rather than
 * for a time after which one may still be inside it. */
#define REGISTER_WAIT_US 1000
/* The gate's files in the store's directory (recover_alone). */
#define GATE_FILE "bounceguard.gate"
#define TURNSTILE_FILE "bounceguard.turnstile"
/* How often a process waiting at the gate tries again. */
#define GATE_POLL_US 20000

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

/* Berkeley DB's informational messages (failchk's "Freeing mutex for
 * process ...", recovery's progress): for the debug log, never stdout. */
static void
bdb_msgcall(const DB_ENV *env, const char *msg)
{
    bg_msg_debug("store: Berkeley DB: %s", msg);
}

static const char *
bdb_detail(void)
{
    return bdb_last_msg;
}

/*
 * failchk for an orderly close, in a thread of its own so that it has a
 * deadline: failchk takes the region's mutexes, and one a killed process
 * held makes it spin for ever (faults.sh: a `bounceguard block` spun in
 * __memp_walk_files for ten minutes, using CPU, so that no stall watch saw
 * it, and held up every recovery behind it).  Such a store needs recovery
 * anyway.
 */
#define CLOSE_FAILCHK_MS 5000

typedef struct failchk_call {
    DB_ENV *env;
    int ret; /* failchk's answer, read after the join */
} failchk_call;

static void *
failchk_thread(void *arg)
{
    failchk_call *c = arg;

    c->ret = c->env->failchk(c->env, 0);
    return NULL;
}

/* failchk's answer, or -1 when it did not answer within CLOSE_FAILCHK_MS
 * (its thread goes on, and the call with it: the caller must not touch the
 * environment any more). */
static int
failchk_bounded(DB_ENV *env)
{
    failchk_call *c = bg_xcalloc(1, sizeof(*c));
    struct timespec deadline;
    pthread_t t;
    int ret;

    c->env = env;
    if (pthread_create(&t, NULL, failchk_thread, c) != 0) {
        free(c);
        return DB_RUNRECOVERY; /* no checkpoint, an ordinary close */
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += CLOSE_FAILCHK_MS / 1000;
    if (pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &deadline) != 0) {
        pthread_detach(t); /* and c stays with it */
        return -1;
    }
    ret = c->ret;
    free(c);
    return ret;
}

/*
 * Close the environment's handles.  An orderly close (the program is done
 * with the store) first takes a checkpoint, which writes every page the
 * shared cache holds changed to the databases' files: theirs are then
 * current after an orderly stop, also for a store whose region files go
 * away without a recovery (store_faults.sh).  Only right after failchk said
 * no process died inside the environment, in this thread's call (a
 * checkpoint after a peer's death could make its half-done transactions
 * durable).  The handles then close without flushing again: a flushing
 * close polled for ever for a page a killed process had left pinned
 * (faults.sh: a pipe delivery for 11 minutes, docs/RELIABILITY.md).
 * Without the checkpoint nothing is lost either: what the files lack is in
 * the log, and the next opener recovers.  Returns false when failchk did
 * not come back: the handles are left as they are, for the process to exit
 * (its death then tells the next opener to recover).
 */
static bool
close_handles(bg_store *s, bool orderly)
{
    if (orderly && s->env && !atomic_load(&s->panicked) && !store_recovery_wanted(s)) {
        int ret = failchk_bounded(s->env);
        if (ret < 0) {
            bg_msg_warn("store %s: failchk did not finish within %d s at close (a process "
                        "killed inside the store holds a mutex): left for recovery",
                        s->home, CLOSE_FAILCHK_MS / 1000);
            return false;
        }
        if (ret == 0)
            (void)s->env->txn_checkpoint(s->env, 0, 0, 0);
    }
    for (int i = 0; i < DBI_COUNT; i++) {
        if (s->db[i])
            s->db[i]->close(s->db[i], DB_NOSYNC);
        s->db[i] = NULL;
    }
    if (s->env)
        s->env->close(s->env, 0);
    s->env = NULL;
    return true;
}

/* Close every handle and go out through the gate: a peer waiting to
 * recover the environment may go on.  False: the handles could not be
 * closed (close_handles), and the gate stays held until the process ends. */
static bool
leave_env(bg_store *s, bool orderly)
{
    if (!close_handles(s, orderly))
        return false;
    if (s->gate_fd >= 0)
        flock(s->gate_fd, LOCK_UN);
    return true;
}

/*
 * The gate: recovery runs only when no other process is inside the
 * environment.  Berkeley DB's DB_REGISTER recovery does not wait for that: it
 * panics the environment, waits a fixed time and rebuilds the regions, and
 * a peer still inside a call (a commit, a checkpoint writing pages) goes on
 * writing into the log and the databases after recovery read them.
 * faults.sh lost acknowledged bounces so: the last few commits before a
 * recovery, behind a log record such a peer overwrote, were cut at the next
 * one (docs/RELIABILITY.md).  So every process holds a shared lock on
 * GATE_FILE while it has the environment open, and opens without
 * DB_RECOVER; one that finds the environment needs recovery takes
 * TURNSTILE_FILE exclusively (nobody enters any more), waits for an
 * exclusive lock on GATE_FILE (everybody inside has left: Berkeley DB's
 * panic sends them out at their next call, and the housekeeping of the
 * idle ones checks the turnstile), and recovers alone.  The kernel drops a
 * dead process's locks.
 */
static int
open_gate_file(const char *home, const char *name, bg_error *err)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", home, name);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
    if (fd < 0 && errno == EACCES) /* a lock needs no write access */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        bg_error_set(err, "store %s: cannot open %s: %s", home, name, strerror(errno));
    return fd;
}

/* flock(fd, op), trying again until give_up_at (monotonic ms).  0, or -1. */
static int
lock_until(int fd, int op, int64_t give_up_at)
{
    for (;;) {
        if (flock(fd, op | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (bg_monotonic_ms() >= give_up_at)
            return -1;
        usleep(GATE_POLL_US);
    }
}

/* Whether another process waits to recover the environment: then this one
 * must leave it (close its handles) for the recovery to begin. */
bool
store_recovery_wanted(bg_store *s)
{
    if (s->turnstile_fd < 0 || flock(s->turnstile_fd, LOCK_SH | LOCK_NB) == 0) {
        if (s->turnstile_fd >= 0)
            flock(s->turnstile_fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

static int
check_home(const char *home, unsigned flags, bg_error *err)
{
    struct stat st;

    if (stat(home, &st) < 0) {
        if (errno == ENOENT && (flags & BG_STORE_CREATE)) {
            /* Another process may create it at the same moment: that is fine. */
            if (mkdir(home, 0750) < 0 && errno != EEXIST)
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

/*
 * Berkeley DB maps its region files (__db.0NN) into memory after making them
 * with ftruncate: sparse files whose pages get disk blocks only when first
 * touched.  On a full filesystem that touch is a SIGBUS, not an error.  A
 * region also grows while the store is in use (the cache starts at 500 KB and
 * may reach 80 MB as it fills): Berkeley DB writes the new last page of the
 * file and uses the pages between, holes again.  So: refuse to create an
 * environment where there is no room for it, and right after opening give
 * each region file the blocks of its largest size (fallocate, beyond the
 * end of the file for the part it may grow into), while an error can still
 * be returned.
 */
static int
check_room(const char *home, size_t cache_bytes, bg_error *err)
{
    char path[4096];
    struct statvfs v;
    unsigned long long avail;

    snprintf(path, sizeof(path), "%s/__db.001", home);
    if (access(path, F_OK) == 0 || statvfs(home, &v) < 0)
        return 0; /* the regions exist already, or no way to tell */
    avail = (unsigned long long)v.f_bavail * v.f_frsize;
    if (avail < STORE_REGION_ROOM(cache_bytes))
        return bg_error_set(err,
                            "store %s: not enough free space to create the store "
                            "(%llu MB free, %llu MB needed)",
                            home, avail >> 20, STORE_REGION_ROOM(cache_bytes) >> 20);
    return 0;
}

/* A region's size now and the most it may grow to. */
typedef struct region_size {
    uintmax_t now, max;
} region_size;

/* The regions that may grow: the cache, the mutexes, and the primary region
 * (locks, transactions, log buffer), whose size the lock statistics give. */
static size_t
growing_regions(DB_ENV *env, region_size out[3])
{
    DB_MPOOL_STAT *mp = NULL;
    DB_MUTEX_STAT *mx = NULL;
    DB_LOCK_STAT *lk = NULL;
    u_int32_t gbytes, bytes;
    size_t n = 0;

    if (env->memp_stat(env, &mp, NULL, 0) == 0 && mp != NULL)
        out[n++] = (region_size){(uintmax_t)mp->st_regsize, (uintmax_t)mp->st_regmax};
    free(mp);
    if (env->mutex_stat(env, &mx, 0) == 0 && mx != NULL)
        out[n++] = (region_size){(uintmax_t)mx->st_regsize, (uintmax_t)mx->st_regmax};
    free(mx);
    if (env->lock_stat(env, &lk, 0) == 0 && lk != NULL &&
        env->get_memory_max(env, &gbytes, &bytes) == 0)
        out[n++] = (region_size){(uintmax_t)lk->st_regsize, ((uintmax_t)gbytes << 30) + bytes};
    free(lk);
    return n;
}

/* The largest size of the region file of size file_size: that of the
 * region whose size it is (give or take the page Berkeley DB writes last:
 * the statistics do not say which file holds which region), else its own. */
static off_t
region_file_max(off_t file_size, const region_size *rs, size_t n)
{
    uintmax_t fs = (uintmax_t)file_size;

    for (size_t i = 0; i < n; i++) {
        uintmax_t gap = fs > rs[i].now ? fs - rs[i].now : rs[i].now - fs;
        if (gap < 65536 && rs[i].max > fs && rs[i].max < ((uintmax_t)1 << 40))
            return (off_t)rs[i].max;
    }
    return file_size;
}

static int
reserve_regions(DB_ENV *env, const char *home, bg_error *err)
{
    region_size rs[3];
    size_t nrs = growing_regions(env, rs);
    DIR *d = opendir(home);
    struct dirent *e;
    int rc = 0;

    if (d == NULL)
        return 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        int fd, r;

        if (strncmp(e->d_name, "__db.0", 6) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", home, e->d_name);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            /* What the file holds now must have its blocks: failing that
             * is a SIGBUS soon, so the store does not open. */
            r = posix_fallocate(fd, 0, st.st_size);
            if (r != 0 && r != EOPNOTSUPP && r != EINVAL)
                rc = bg_error_set(err, "store %s: cannot reserve space for %s: %s", home,
                                  e->d_name, strerror(r));
            /* Room to grow, kept past the end of the file.  Without it the
             * store still works until the disk is full: a warning. */
            off_t max = region_file_max(st.st_size, rs, nrs);
            if (rc == 0 && max > st.st_size &&
                fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, max - st.st_size) < 0 &&
                errno != EOPNOTSUPP && errno != ENOSYS)
                bg_msg_warn("store %s: cannot reserve %lld MB for %s to grow into (%s): "
                            "if the disk fills up, the store may fail",
                            home, (long long)((max - st.st_size) >> 20), e->d_name,
                            strerror(errno));
        }
        close(fd);
    }
    closedir(d);
    return rc;
}

/*
 * Crash detection as Berkeley DB documents it for several processes sharing
 * one environment ("Architecting Transactional Data Store applications",
 * DB_ENV->failchk): every thread has an id Berkeley DB records in the
 * region, and is_alive tells failchk whether the process behind an id still
 * runs.  The id is the process and the thread's seat (below).
 */
/* This process's id, without a system call per question: Berkeley DB asks
 * thread_id at every call into the environment and is_alive for every
 * thread slot it looks at (getpid and the slot search were half of the
 * milter's CPU in `make bench`'s profile).  A forked child sets its own. */
static atomic_int self_pid;

/*
 * The thread id Berkeley DB records is a seat, not the kernel's thread id:
 * libmilter runs each SMTP connection in a new thread, and a new id made
 * every new thread search Berkeley DB's table of STORE_THREADS slots (full
 * after 256 connections, then scanned with is_alive at each new thread:
 * 17 % of the milter's CPU in `make bench`'s profile).  A thread takes the
 * lowest free seat at its first call and gives it back when it ends, so
 * the table holds as many slots as threads that run at once, and a new
 * thread finds its slot where the last one left it.  Two live threads never
 * share a seat; a seat's slot is only reused once its thread has left the
 * environment (is_alive answers for the process, which is what failchk
 * needs).  Beyond STORE_THREADS threads at once, a thread falls back to its
 * kernel id, above every seat.
 */
static pthread_mutex_t seat_lock = PTHREAD_MUTEX_INITIALIZER;
static bool seat_taken[STORE_THREADS];
static pthread_key_t seat_key;
#define SEAT_NONE ((long)-1)
#define SEAT_KERNEL_BASE (1L << 32)

static void
seat_release(void *value)
{
    long seat = (long)(intptr_t)value - 1;

    if (seat < 0 || seat >= STORE_THREADS)
        return;
    pthread_mutex_lock(&seat_lock);
    seat_taken[seat] = false;
    pthread_mutex_unlock(&seat_lock);
}

static long
seat_take(void)
{
    long seat = SEAT_NONE;

    pthread_mutex_lock(&seat_lock);
    for (long i = 0; i < STORE_THREADS; i++)
        if (!seat_taken[i]) {
            seat_taken[i] = true;
            seat = i;
            break;
        }
    pthread_mutex_unlock(&seat_lock);
    /* The key gives the seat back when the thread ends (also one that
     * never calls into the store again). */
    pthread_setspecific(seat_key, (void *)(intptr_t)(seat + 1));
    return seat;
}

static void
self_pid_reset(void)
{
    atomic_store(&self_pid, (int)getpid());
}

/* In a forked child only the forking thread lives: every seat is free (the
 * forking thread takes one again, its pid having changed), and the lock
 * may have been held by a thread the child does not have. */
static void
self_after_fork(void)
{
    pthread_mutex_init(&seat_lock, NULL);
    memset(seat_taken, 0, sizeof(seat_taken));
    pthread_setspecific(seat_key, NULL);
    self_pid_reset();
}

static void
self_pid_once(void)
{
    pthread_key_create(&seat_key, seat_release);
    self_pid_reset();
    pthread_atfork(NULL, NULL, self_after_fork);
}

static pid_t
self(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int pid = atomic_load(&self_pid);

    if (pid == 0) {
        pthread_once(&once, self_pid_once);
        pid = atomic_load(&self_pid);
    }
    return (pid_t)pid;
}

static void
thread_id(DB_ENV *env, pid_t *pid, db_threadid_t *tid)
{
    static __thread pid_t my_pid;
    static __thread long my_tid;

    (void)env;
    /* After a fork the child's thread takes a seat of its own. */
    if (my_pid != self()) {
        long seat = seat_take();

        my_pid = self();
        my_tid = seat != SEAT_NONE ? seat : SEAT_KERNEL_BASE + syscall(SYS_gettid);
    }
    if (pid)
        *pid = my_pid;
    if (tid)
        *tid = (db_threadid_t)my_tid;
}

/* Whether /proc/PID/stat is a process that runs: a zombie (killed, not yet
 * reaped) is dead.  1 alive, 0 dead, -1 cannot tell. */
static int
proc_alive(const char *path)
{
    char buf[512];
    FILE *fp = fopen(path, "re");
    size_t n;
    const char *paren;

    if (fp == NULL)
        return errno == ENOENT || errno == ESRCH ? 0 : -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* "PID (COMM) S ...": the command may hold spaces and parentheses. */
    if ((paren = strrchr(buf, ')')) == NULL || paren[1] != ' ')
        return -1;
    return paren[2] == 'Z' || paren[2] == 'X' ? 0 : 1;
}

/*
 * A thread is alive while its process is: the failure bounceguard recovers
 * from is a process killed.  Asking about the thread itself freed live
 * state: libmilter runs each SMTP session in a thread that ends with it, and
 * Berkeley DB keeps the cursors (and their lockers) a thread used for the
 * next thread to reuse; failchk took a locker of such a cached cursor for a
 * dead thread's and freed it while another session's thread used it, and
 * the milter died of SIGSEGV in the deadlock detector (tests/long/load.sh,
 * 200 sessions, no kill at all).
 */
static int
is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    char path[64];
    int r;

    /* Berkeley DB asks once per thread slot, locker and transaction of a
     * peer (hundreds of times in one failchk of a busy milter's peer, with
     * a region mutex held): a peer found alive is not read again for
     * ALIVE_CACHE_MS in this thread.  One that dies meanwhile is found by
     * the next pass, a second later. */
    static __thread pid_t alive_pid;
    static __thread int64_t alive_ms;
    int64_t now;

    (void)env;
    (void)tid;
    (void)flags;
    if (pid == self())
        return 1;
    now = bg_monotonic_ms();
    if (pid == alive_pid && now - alive_ms < ALIVE_CACHE_MS)
        return 1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    r = proc_alive(path);
    if (r < 0) /* no /proc: the process, by signal 0 (EPERM: it exists, not ours) */
        r = kill(pid, 0) == 0 || errno == EPERM;
    if (r == 1)
        alive_pid = pid, alive_ms = now;
    else if (pid == alive_pid)
        alive_pid = 0;
    return r;
}

/* Berkeley DB's word that the environment is dead for this process: another
 * process found a dead peer and runs recovery (DB_EVENT_REG_PANIC), or a
 * failure panicked it.  The next call or the housekeeping reopens. */
static void
event_notify(DB_ENV *env, u_int32_t event, void *info)
{
    bg_store *s = env->app_private;

    (void)info;
    if (s != NULL && (event == DB_EVENT_PANIC || event == DB_EVENT_REG_PANIC))
        atomic_store(&s->panicked, true);
}

static int
open_env(bg_store *s, bool recover, bg_error *err)
{
    DB_ENV *env;
    int ret;

    bdb_last_msg[0] = '\0';
    if (check_room(s->home, s->cache_bytes, err) < 0)
        return -1;
    if ((ret = db_env_create(&env, 0)) != 0)
        return bg_error_set(err, "store: cannot create environment: %s", db_strerror(ret));
    s->env = env;
    env->app_private = s;
    env->set_errcall(env, bdb_errcall);
    env->set_msgcall(env, bdb_msgcall);
    env->set_cachesize(env, 0, (u_int32_t)s->cache_bytes, 1);
    env->set_lk_detect(env, DB_LOCK_DEFAULT);
    env->set_lk_max_locks(env, STORE_LOCKS);
    env->set_lk_max_objects(env, STORE_LOCKS);
    env->set_lk_max_lockers(env, STORE_LOCKERS);
    env->set_tx_max(env, STORE_TXNS);
    env->set_lg_max(env, STORE_LOG_FILE_BYTES);
    env->set_thread_count(env, STORE_THREADS);
    env->set_thread_id(env, thread_id);
    env->set_isalive(env, is_alive);
    env->set_event_notify(env, event_notify);
    env->set_timeout(env, REGISTER_WAIT_US, DB_SET_REG_TIMEOUT);
    /* Log files no checkpoint needs any more go at once: the log stays a few
     * files whatever the age of the store.  (The backup copies the logs it
     * needs itself: catastrophic recovery starts from a backup.) */
    env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
    /* Commit writes the log to the OS: it survives the death of any process.
     * Bounces ask for DB_TXN_SYNC on top (power loss). */
    env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1);
    /* DB_REGISTER finds a process that died inside the environment; the
     * environment then needs recovery, which only the process that holds the
     * gate alone runs (recover, DB_RECOVER).  Not DB_FAILCHK at open, the
     * documented hybrid that runs failchk instead of recovery there: in
     * store_crash.sh, the opener after a writer's SIGKILL once spun for
     * ever inside that open (failchk attaches to regions whose mutexes the
     * dead writer may hold); a full recovery rebuilds the regions instead
     * (docs/RELIABILITY.md).  failchk runs in the housekeeping of the
     * long-lived programs (bg_store_maintain), and any answer but 0 leads
     * here. */
    ret = env->open(env, s->home,
                    DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN |
                        DB_THREAD | DB_REGISTER | (recover ? DB_RECOVER : 0),
                    0660);
    if (ret != 0) {
        bg_error_set(err, "store %s: cannot open environment: %s%s%s", s->home,
                     db_strerror(ret), bdb_detail()[0] ? ": " : "", bdb_detail());
        close_handles(s, false);
        /* DB_RUNRECOVERY: a process died inside, or the regions are
         * panicked.  EINVAL: regions rebuilt under this open ("mmap"), or
         * this process's slot in the registry left by an open that found
         * recovery needed ("one open DB_ENV handle per environment").  All
         * are for recovery; a store that cannot be opened fails there. */
        return ret == DB_RUNRECOVERY || (ret == EINVAL && !recover) ? -2 : -1;
    }
    atomic_store(&s->panicked, false);
    return 0;
}

/* Open the environment and the databases.  Returns 0, -1 with err set, or
 * -2 (err set) when the environment needs a recovery that another process
 * is running: worth another try. */
static int
open_handles(bg_store *s, bool recover, bg_error *err)
{
    DB_ENV *env;
    int ret;

    if ((ret = open_env(s, recover, err)) < 0)
        return ret;
    env = s->env;
    if (reserve_regions(env, s->home, err) < 0) {
        close_handles(s, false);
        return -1;
    }
    for (int i = 0; i < DBI_COUNT; i++) {
        DB *db;
        if ((ret = db_create(&db, env, 0)) != 0) {
            bg_error_set(err, "store: cannot create handle: %s", db_strerror(ret));
            close_handles(s, false);
            return -1;
        }
        s->db[i] = db;
        ret = db->open(db, NULL, store_db_files[i], NULL, DB_BTREE,
                       DB_CREATE | DB_THREAD | DB_AUTO_COMMIT, 0660);
        if (ret == DB_RUNRECOVERY) {
            bg_error_set(err, "store %s: %s", s->home, db_strerror(ret));
            close_handles(s, false);
            return -2;
        }
        if (ret != 0) {
            bg_error_set(err, "store %s/%s: %s%s", s->home, store_db_files[i],
                         ret == EINVAL || ret == DB_VERIFY_BAD || bdb_detail()[0]
                             ? "not a bounceguard store file or damaged: "
                             : "",
                         bdb_detail()[0] ? bdb_detail() : db_strerror(ret));
            close_handles(s, false);
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

/* Whether Berkeley DB's registry of the processes inside is missing or
 * empty: its first open makes it, and that open recovers. */
static void
registry_path(const char *home, char *path, size_t size)
{
    snprintf(path, size, "%s/__db.register", home);
}

static bool
registry_is_new(const char *home)
{
    char path[4096];
    struct stat st;

    registry_path(home, path, sizeof(path));
    return stat(path, &st) < 0 || st.st_size == 0;
}

/*
 * Recover the environment with nobody else inside (the gate, above): close
 * the turnstile behind, wait for the others to leave, recover.  Berkeley
 * DB's registry then still holds this process's slot from the open that
 * found recovery needed, which would refuse its next open ("one handle per
 * process"): with everybody out it goes, and recovery starts from a new one.
 * Returns 0 with the gate held shared, -1 (err set), or -2 (the others did
 * not leave in time: err set).
 */
static int
recover_alone(bg_store *s, int64_t give_up_at, bool *said, bg_error *err)
{
    char path[4096];
    int r;

    if (lock_until(s->turnstile_fd, LOCK_EX, give_up_at) < 0)
        return -2;
    if (flock(s->gate_fd, LOCK_EX | LOCK_NB) < 0 && !*said) {
        bg_msg_warn("store %s needs recovery after a process failed; waiting for the "
                    "others to leave it (at most %d s)",
                    s->home, RECOVER_FOR_MS / 1000);
        *said = true;
    }
    if (lock_until(s->gate_fd, LOCK_EX, give_up_at) < 0) {
        flock(s->turnstile_fd, LOCK_UN);
        bg_error_set(err, "store %s needs recovery, and a process still inside it did not "
                          "leave it within %d s",
                     s->home, RECOVER_FOR_MS / 1000);
        return -2;
    }
    /* Another process may have recovered it while this one waited. */
    r = registry_is_new(s->home) ? -2 : open_handles(s, false, err);
    if (r == -2) {
        registry_path(s->home, path, sizeof(path));
        if (unlink(path) < 0 && errno != ENOENT)
            bg_msg_warn("store %s: cannot remove %s: %s", s->home, path, strerror(errno));
        r = open_handles(s, true, err);
    }
    if (r == 0)
        flock(s->gate_fd, LOCK_SH); /* the turnstile is still closed: nobody got in */
    else
        flock(s->gate_fd, LOCK_UN);
    flock(s->turnstile_fd, LOCK_UN);
    return r < 0 ? -1 : 0;
}

/* Open the handles: enter through the gate, and if the environment needs
 * recovery, recover it alone; for at most RECOVER_FOR_MS in all. */
static int
open_handles_patiently(bg_store *s, bg_error *err)
{
    int64_t give_up_at = bg_monotonic_ms() + RECOVER_FOR_MS;
    bool said = false;
    int r;

    for (;;) {
        if (lock_until(s->turnstile_fd, LOCK_SH, give_up_at) < 0) {
            r = -2;
        } else if (lock_until(s->gate_fd, LOCK_SH, give_up_at) < 0) {
            flock(s->turnstile_fd, LOCK_UN);
            r = -2;
        } else {
            flock(s->turnstile_fd, LOCK_UN);
            /* A new store (no registry yet): Berkeley DB makes the registry
             * with a recovery, which recover_alone runs too. */
            r = registry_is_new(s->home) ? -2 : open_handles(s, false, err);
            if (r < 0)
                flock(s->gate_fd, LOCK_UN);
            if (r == -2)
                r = recover_alone(s, give_up_at, &said, err);
        }
        if (r != -2 || bg_monotonic_ms() >= give_up_at)
            break;
        usleep(GATE_POLL_US);
    }
    if (r == -2)
        bg_error_set(err, "store %s still needs recovery after %d s "
                          "(a process failed inside it, and another did not leave it): %s",
                     s->home, RECOVER_FOR_MS / 1000, db_strerror(DB_RUNRECOVERY));
    return r < 0 ? -1 : 0;
}

bg_store *
bg_store_open(const char *home, unsigned flags, bg_error *err)
{
    return bg_store_open_sized(home, flags, 0, err);
}

bg_store *
bg_store_open_sized(const char *home, unsigned flags, unsigned cache_mb, bg_error *err)
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
    pthread_mutex_init(&s->writer, NULL);
    s->home = bg_xstrdup(home);
    s->cache_bytes = (size_t)(cache_mb ? cache_mb : BG_STORE_CACHE_MB_DEFAULT) << 20;
    s->gate_fd = open_gate_file(home, GATE_FILE, err);
    s->turnstile_fd = s->gate_fd < 0 ? -1 : open_gate_file(home, TURNSTILE_FILE, err);
    if (s->turnstile_fd < 0 || open_handles_patiently(s, err) < 0 || check_format(s, err) < 0)
        return bg_store_close(s);
    return s;
}

bg_store *
bg_store_open_redis(const bg_store_redis_opts *o, bg_error *err)
{
    store_redis *r = store_redis_open(o, err);
    bg_store *s;

    if (r == NULL)
        return NULL;
    s = bg_xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->writer, NULL);
    s->redis = r;
    s->home = bg_xasprintf("redis %s", store_redis_label(r));
    s->gate_fd = s->turnstile_fd = -1;
    return s;
}

const char *
bg_store_where(const bg_store *s)
{
    return s->home;
}

bg_store *
bg_store_open_config(const bg_config *c, unsigned flags, bg_error *err)
{
    if (c->store_backend == BG_BACKEND_REDIS) {
        bg_store_redis_opts o;
        bg_config_redis_opts(c, &o);
        return bg_store_open_redis(&o, err);
    }
    return bg_store_open_sized(c->db_home, flags, (unsigned)c->db_cache_mb, err);
}

#ifdef __SANITIZE_ADDRESS__
/*
 * In the ASan build (make asan) only: Berkeley DB keeps part of the handle
 * of an environment a peer's recovery panicked (about 38 KB, once per
 * reopen) after DB_ENV->close; the leak is libdb's, not ours, and a long
 * life sees few recoveries.  Our own allocations stay checked.  Compiled
 * into the binaries, so that a test run as another user needs no file.
 */
const char *__lsan_default_suppressions(void); /* NOLINT(bugprone-reserved-identifier) */
const char *
__lsan_default_suppressions(void) /* NOLINT(bugprone-reserved-identifier) */
{
    return "leak:libdb-5.3.so\n";
}
#endif

bg_store *
bg_store_close(bg_store *s)
{
    if (s == NULL)
        return NULL;
    if (s->redis)
        store_redis_close(s->redis);
    else if (!leave_env(s, true))
        return NULL; /* s stays: a thread is still inside its environment */
    if (s->gate_fd >= 0)
        close(s->gate_fd);
    if (s->turnstile_fd >= 0)
        close(s->turnstile_fd);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->writer);
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
 * every handle is dead.  Close them all and open again (DB_REGISTER finds the
 * dead process and recovery runs), retrying for a bounded time while another
 * process runs that recovery.  Only the first caller of a generation reopens.
 */
int
store_reopen(bg_store *s, unsigned seen_generation, bg_error *err)
{
    int rc = 0;

    pthread_rwlock_wrlock(&s->lock);
    if (s->generation == seen_generation) {
        bg_msg_warn("store %s: recovering after another process failed", s->home);
        leave_env(s, false);
        rc = open_handles_patiently(s, err);
        s->generation++;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

/*
 * Run body in a transaction; retry on deadlock (for up to RETRY_FOR_MS),
 * reopen once on RUNRECOVERY.
 * body returns 0 to commit (with its answer in *answer, >= 0), anything else
 * (a Berkeley DB or errno code, or -1 for a record that does not decode) to
 * abort.  Returns body's answer, or -1 with err set.
 */
enum run_mode { RUN_TXN, RUN_TXN_SYNC, RUN_TXN_READ, RUN_NO_TXN };

static int run_attempts(bg_store *s, txn_body_fn *body, void *arg, enum run_mode mode,
                        bg_error *err);

/* The store whose writer lock this thread holds (a body that writes through
 * another call of run() must not wait for itself). */
static __thread bg_store *writing;

/*
 * Write transactions of one process run one at a time.  Concurrent writers
 * insert side by side in the same B-tree pages (the expiry index is ordered
 * by time, queue IDs too), and a writer that waits for such a page keeps its
 * read lock on the parent page, which the writer that holds the page needs
 * to split it: a deadlock at every split.  A mutex costs a few microseconds
 * of waiting; a deadlock an aborted transaction, a pause and a retry.
 * Writers of other processes (the DSN watcher, the CLI) still meet Berkeley
 * DB's deadlock detection.
 */
static int
run(bg_store *s, txn_body_fn *body, void *arg, enum run_mode mode, bg_error *err)
{
    bool take = (mode == RUN_TXN || mode == RUN_TXN_SYNC) && writing != s;
    int r;

    if (s->redis)
        return store_redis_run(s, body, arg, mode == RUN_TXN || mode == RUN_TXN_SYNC,
                               mode == RUN_TXN_SYNC || s->sync, err);
    store_enter(s);
    if (!take) {
        r = run_attempts(s, body, arg, mode, err);
    } else {
        pthread_mutex_lock(&s->writer);
        writing = s;
        r = run_attempts(s, body, arg, mode, err);
        writing = NULL;
        pthread_mutex_unlock(&s->writer);
    }
    store_leave(s);
    return r;
}

/*
 * A durable commit is acknowledged (a bounce's maildir file moved, a pipe's
 * exit 0, a CLI block's "ok") only if no recovery began around it.  A process
 * that finds a dead peer panics the environment and then recovers it from the
 * log; a commit that wrote its record after recovery had read the log end is
 * overwritten, yet returned 0 (faults.sh lost such a bounce).  Panic is set
 * before recovery reads the log, so a commit that sees no panic after it
 * wrote was read; one that sees it is not confirmed: the caller gives the
 * input back for a retry, which a seen mark counts once.
 */
static int
confirm_commit(bg_store *s)
{
    int ret = s->env->log_flush(s->env, NULL);
    if (ret == 0 && !atomic_load(&s->panicked))
        return 0;
    atomic_store(&s->panicked, true);
    return STORE_UNCONFIRMED;
}

static int
run_attempts(bg_store *s, txn_body_fn *body, void *arg, enum run_mode mode, bg_error *err)
{
    int ret = 0;
    bool reopened = false;
    int64_t give_up_at = 0;

    for (int attempt = 0;; attempt++) {
        DB_TXN *txn = NULL;
        unsigned gen;

        pthread_rwlock_rdlock(&s->lock);
        gen = s->generation;
        if (s->env == NULL || atomic_load(&s->panicked)) {
            ret = DB_RUNRECOVERY;
        } else if (mode == RUN_NO_TXN) {
            int answer = 0;
            store_txn none = {NULL, NULL};
            ret = body(s, &none, arg, &answer);
            if (ret == 0) {
                pthread_rwlock_unlock(&s->lock);
                return answer;
            }
        } else if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) == 0) {
            int answer = 0;
            store_txn t = {txn, NULL};
            ret = body(s, &t, arg, &answer);
            if (ret == 0) {
                bool durable = mode == RUN_TXN_SYNC || s->sync;
                ret = txn->commit(txn, durable ? DB_TXN_SYNC : 0);
                if (ret == 0 && durable)
                    ret = confirm_commit(s);
                if (ret == 0) {
                    pthread_rwlock_unlock(&s->lock);
                    return answer;
                }
            } else {
                txn->abort(txn);
            }
        }
        pthread_rwlock_unlock(&s->lock);
        /* A peer's recovery panicked the environment under this call: what
         * Berkeley DB answered then (EINVAL from a handle whose regions went
         * away; faults.sh saw a CLI block fail so) means "reopen". */
        if (ret > 0 && atomic_load(&s->panicked))
            ret = DB_RUNRECOVERY;
        if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
            if (give_up_at == 0)
                give_up_at = bg_monotonic_ms() + RETRY_FOR_MS;
            else if (bg_monotonic_ms() >= give_up_at)
                break;
            usleep(store_retry_pause(attempt));
            continue;
        }
        if (ret == DB_RUNRECOVERY && !reopened) {
            reopened = true;
            if (store_reopen(s, gen, err) < 0)
                return -1;
            continue;
        }
        break;
    }
    bg_error_set(err, "store %s: %s", s->home,
                 ret == -1              ? "a record does not decode (corrupt store?)"
                 : ret == STORE_ABORTED ? "transaction abandoned by its caller"
                 : ret == STORE_UNCONFIRMED
                     ? "recovery began while this was committed: not confirmed, retry it"
                                        : db_strerror(ret));
    return -1;
}

int
store_run_txn(bg_store *s, txn_body_fn *body, void *arg, bool sync, bg_error *err)
{
    return run(s, body, arg, sync ? RUN_TXN_SYNC : RUN_TXN, err);
}

int
store_run_read_txn(bg_store *s, txn_body_fn *body, void *arg, bg_error *err)
{
    return run(s, body, arg, RUN_TXN_READ, err);
}

void
store_dbt_init(DBT *d, const void *data, size_t size)
{
    memset(d, 0, sizeof(*d));
    d->data = (void *)data;
    d->size = (u_int32_t)size;
}

/* Read a value: 0 found (payload in val, purge time in *purge_at),
 * DB_NOTFOUND, or an error.  -1 = the value does not decode. */
int
store_rec_get(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen, bg_buf *val,
              int64_t *purge_at, u_int32_t flags)
{
    unsigned char small[2048];
    DBT k, d;
    int ret;

    if (txn->redis) {
        *purge_at = 0; /* Redis keeps it as the key's expiry */
        return store_redis_get(txn->redis, dbi, key, klen, val);
    }
    /* Most records fit on the stack: no allocation per lookup (the milter's
     * hot path); a larger one is read again into a buffer of its size. */
    store_dbt_init(&k, key, klen);
    memset(&d, 0, sizeof(d));
    d.data = small;
    d.ulen = sizeof(small);
    d.flags = DB_DBT_USERMEM;
    ret = s->db[dbi]->get(s->db[dbi], txn->bdb, &k, &d, flags);
    if (ret == DB_BUFFER_SMALL) {
        d.data = bg_xmalloc(d.size);
        d.ulen = d.size;
        ret = s->db[dbi]->get(s->db[dbi], txn->bdb, &k, &d, flags);
    }
    if (ret == 0 && d.size < 9)
        ret = -1;
    if (ret == 0) {
        *purge_at = codec_get_i64_at(d.data);
        bg_buf_reset(val);
        bg_buf_append(val, (const char *)d.data + 8, d.size - 8);
    }
    if (d.data != small)
        free(d.data);
    return ret;
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
        store_dbt_init(&k, ek.s, ek.len);
        ret = s->db[DBI_EXPIRY]->del(s->db[DBI_EXPIRY], txn, &k, 0);
        if (ret == DB_NOTFOUND)
            ret = 0;
    }
    if (ret == 0 && new_purge > 0) {
        expiry_key(&ek, dbi, new_purge, key, klen);
        store_dbt_init(&k, ek.s, ek.len);
        store_dbt_init(&d, "", 0);
        ret = s->db[DBI_EXPIRY]->put(s->db[DBI_EXPIRY], txn, &k, &d, 0);
    }
    bg_buf_free(&ek);
    return ret;
}

/* Write a value; old_purge is the purge time of the value it replaces
 * (0 = none), so that the expiry index stays exact. */
int
store_rec_put(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen,
              const bg_buf *payload, int64_t old_purge, int64_t new_purge)
{
    bg_buf v = BG_BUF_INIT;
    DBT k, d;
    int ret;

    if (txn->redis)
        return store_redis_put(txn->redis, dbi, key, klen, payload, new_purge);
    codec_put_i64(&v, new_purge);
    bg_buf_append(&v, bg_buf_str(payload), payload->len);
    store_dbt_init(&k, key, klen);
    store_dbt_init(&d, v.s, v.len);
    ret = s->db[dbi]->put(s->db[dbi], txn->bdb, &k, &d, 0);
    bg_buf_free(&v);
    if (ret == 0)
        ret = expiry_change(s, txn->bdb, dbi, key, klen, old_purge, new_purge);
    return ret;
}

int
store_rec_del(bg_store *s, store_txn *txn, int dbi, const void *key, size_t klen,
              int64_t old_purge)
{
    DBT k;
    int ret;

    if (txn->redis)
        return store_redis_del(txn->redis, dbi, key, klen);
    store_dbt_init(&k, key, klen);
    ret = s->db[dbi]->del(s->db[dbi], txn->bdb, &k, 0);
    if (ret == 0)
        ret = expiry_change(s, txn->bdb, dbi, key, klen, old_purge, 0);
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
get_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    get_arg *a = arg;
    int ret = store_rec_get(s, txn, a->dbi, a->key, a->klen, a->val, &a->purge_at, 0);

    if (ret == DB_NOTFOUND || ret == 0) {
        *answer = ret == 0;
        return 0;
    }
    return ret;
}

bg_lookup
store_plain_get(bg_store *s, int dbi, const void *key, size_t klen, bg_buf *val, bg_error *err)
{
    get_arg a = {dbi, key, klen, val, 0};
    /* A single read needs no transaction of its own: Berkeley DB locks the
     * page for the call, the reader sees committed data, and the milter saves
     * a txn_begin/commit per lookup. */
    int r = run(s, get_body, &a, RUN_NO_TXN, err);

    return r < 0 ? BG_LOOKUP_ERROR : r == 1 ? BG_FOUND : BG_NOTFOUND;
}

/* ---- meta records (the format marker, log follower offsets, switches) ------ */

bg_lookup
bg_store_meta_get(bg_store *s, const char *name, char *value, size_t size, bg_error *err)
{
    bg_buf v = BG_BUF_INIT;
    bg_lookup r = store_plain_get(s, DBI_META, name, strlen(name), &v, err);

    if (r == BG_FOUND && size > 0) {
        size_t n = v.len < size - 1 ? v.len : size - 1;
        memcpy(value, v.s, n);
        value[n] = '\0';
    }
    bg_buf_free(&v);
    return r;
}

typedef struct meta_put_arg {
    const char *name;
    bg_buf val;
} meta_put_arg;

static int
meta_put_body(bg_store *s, store_txn *txn, void *arg, int *answer)
{
    meta_put_arg *a = arg;

    return store_rec_put(s, txn, DBI_META, a->name, strlen(a->name), &a->val, 0, 0);
}

int
bg_store_meta_put(bg_store *s, const char *name, const char *value, bg_error *err)
{
    meta_put_arg a = {name, BG_BUF_INIT};
    int r;

    bg_buf_puts(&a.val, value);
    r = store_run_txn(s, meta_put_body, &a, false, err);
    bg_buf_free(&a.val);
    return r < 0 ? -1 : 0;
}
