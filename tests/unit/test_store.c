/*
 * test_store — the Berkeley DB store, on a real environment in a temp dir.
 */
#include <check.h>
#include <pthread.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounceguard/policy.h"
#include "bounceguard/store.h"
#include "bounceguard/util.h"

#include "store_fixture.h"

#define DAY 86400
#define T0 1700000000

static char home[256];
static bg_store *st;

static void
setup(void)
{
    st = store_fixture_open(home, sizeof(home), "store");
}

static void
teardown(void)
{
    st = store_fixture_close(st, home);
}

typedef struct bounce_arg {
    bg_bounce_event ev;
} bounce_arg;

static bg_record_change
apply_bounce(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, &((bounce_arg *)arg)->ev, purge_at);
}

static void
bounce(const char *addr, int64_t when)
{
    bounce_arg a = {{when, "dsn", "userunknown", "5.1.1", "mx.example.com", "550 no such user",
                     "ip:192.0.2.1", 14 * DAY, 1 * DAY}};
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_update(st, addr, apply_bounce, &a, &err), 1);
}

/* A call held inside the store (its body waits on a pipe) reads as a stall
 * that grows with the time asked about; once it finished, nothing is
 * stalled.  (The milter's stall guard exits on minutes of this.) */
static int held_pipe[2];

static bg_record_change
apply_held(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    char c;

    (void)cur;
    (void)arg;
    if (read(held_pipe[0], &c, 1) != 1)
        return -1;
    memset(next, 0, sizeof(*next));
    next->state = BG_RCPT_BLACKLISTED;
    *purge_at = T0 + DAY;
    return 1;
}

static void *
held_call(void *arg)
{
    bg_error err;

    (void)arg;
    bg_store_rcpt_update(st, "held@example.com", apply_held, NULL, &err);
    return NULL;
}

START_TEST(a_held_call_reads_as_a_stall)
{
    pthread_t t;
    int64_t start = bg_monotonic_ms();

    ck_assert_int_eq(bg_store_stalled_ms(st, start + 61000), 0);
    ck_assert_int_eq(pipe(held_pipe), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, held_call, NULL), 0);
    while (bg_store_stalled_ms(st, bg_monotonic_ms() + 61000) == 0)
        usleep(1000);
    ck_assert_int_ge(bg_store_stalled_ms(st, bg_monotonic_ms() + 61000), 60000);
    ck_assert_int_eq(write(held_pipe[1], "x", 1), 1);
    pthread_join(t, NULL);
    ck_assert_int_eq(bg_store_stalled_ms(st, bg_monotonic_ms() + 61000), 0);
    close(held_pipe[0]);
    close(held_pipe[1]);
}
END_TEST

START_TEST(rcpt_three_outcomes)
{
    bg_rcpt_rec r;
    bg_error err;

    ck_assert_int_eq(bg_store_rcpt_get(st, "nobody@example.com", &r, &err), BG_NOTFOUND);
    bounce("user@example.com", T0);
    ck_assert_int_eq(bg_store_rcpt_get(st, "user@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(r.state, BG_RCPT_BLACKLISTED);
    ck_assert_int_eq(r.expires, T0 + 14 * DAY);
    ck_assert_str_eq(r.reason, "userunknown");
    ck_assert_str_eq(r.remote_mta, "mx.example.com");
    bounce("user@example.com", T0 + 100);
    ck_assert_int_eq(bg_store_rcpt_get(st, "user@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(r.bounce_count, 2);
    ck_assert_int_eq(r.expires, T0 + 100 + 14 * DAY);
}
END_TEST

START_TEST(record_survives_reopen)
{
    bg_rcpt_rec r;
    bg_error err;

    bounce("keep@example.com", T0);
    st = bg_store_close(st);
    st = bg_store_open(home, 0, &err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(bg_store_rcpt_get(st, "keep@example.com", &r, &err), BG_FOUND);
}
END_TEST

static int
log_files(void)
{
    DIR *d = opendir(home);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, "log.", 4) == 0;
    closedir(d);
    return n;
}

static bg_record_change
touch_sender(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    next->window_start = T0;
    *purge_at = T0 + DAY;
    return 1;
}

/* n sender records written (no sync: the quota's writes). */
static void
write_senders(const char *prefix, int n)
{
    bg_error err;
    char id[64];

    for (int k = 0; k < n; k++) {
        snprintf(id, sizeof(id), "%s%d@example.com", prefix, k);
        ck_assert_int_ge(bg_store_sender_update(st, id, touch_sender, NULL, &err), 0);
    }
}

/* Without a checkpoint no log file is ever removed: a checkpoint removes
 * the ones recovery no longer needs (it keeps the file of the checkpoint
 * before, hence at most two). */
START_TEST(checkpoint_removes_old_logs)
{
    bg_error err;
    bg_store_env_stats e;
    char prefix[32];

    /* Fill more than four log files. */
    for (int round = 0; log_files() < 5 && round < 100; round++) {
        snprintf(prefix, sizeof(prefix), "s%d-", round);
        write_senders(prefix, 2000);
    }
    ck_assert_int_ge(log_files(), 5);
    ck_assert_int_eq(bg_store_env_stats_get(st, &e, &err), 0);
    ck_assert_uint_gt(e.replay_bytes, 3u << 20);
    ck_assert_int_eq(bg_store_checkpoint(st, &err), 0);
    ck_assert_int_le(log_files(), 2);
    ck_assert_int_eq(bg_store_env_stats_get(st, &e, &err), 0);
    ck_assert_uint_lt(e.replay_bytes, 64u << 10);
    ck_assert_int_gt(e.last_checkpoint, 0);
}
END_TEST

/* Under a steady stream of writes the housekeeping's checkpoints (half a
 * log file written makes one due) keep the log a few files long. */
START_TEST(maintain_keeps_the_log_short)
{
    bg_error err;
    char prefix[32];
    int most = 0;

    for (int round = 0; round < 40; round++) {
        snprintf(prefix, sizeof(prefix), "m%d-", round);
        write_senders(prefix, 500);
        ck_assert_int_eq(bg_store_maintain(st, BG_STORE_CHECKPOINT_S, &err), BG_STORE_SOUND);
        if (log_files() > most)
            most = log_files();
    }
    ck_assert_int_le(most, 3);
}
END_TEST

/* The upkeep is told to run early once half a log file was written since
 * the last checkpoint, and not before; a checkpoint resets it. */
START_TEST(log_pressing_follows_the_log)
{
    bg_error err;
    bg_store_env_stats e;
    char prefix[32];

    ck_assert_int_eq(bg_store_checkpoint(st, &err), 0);
    ck_assert(!bg_store_log_pressing(st));
    write_senders("p0-", 20);
    ck_assert_int_eq(bg_store_env_stats_get(st, &e, &err), 0);
    ck_assert_uint_lt(e.replay_bytes, 512u << 10);
    ck_assert(!bg_store_log_pressing(st));
    for (int round = 1; !bg_store_log_pressing(st) && round < 200; round++) {
        snprintf(prefix, sizeof(prefix), "p%d-", round);
        write_senders(prefix, 100);
    }
    ck_assert(bg_store_log_pressing(st));
    ck_assert_int_eq(bg_store_env_stats_get(st, &e, &err), 0);
    ck_assert_uint_ge(e.replay_bytes, 512u << 10);
    ck_assert_int_eq(bg_store_maintain(st, BG_STORE_CHECKPOINT_S, &err), BG_STORE_SOUND);
    ck_assert(!bg_store_log_pressing(st));
}
END_TEST

/* Berkeley DB records a seat per thread (lib/store.c, thread_id): more
 * threads at once than there are seats still work (the others fall back to
 * their kernel ids), and a thousand threads one after the other, as
 * libmilter's per-connection threads come and go, each find a slot. */
#define MANY_AT_ONCE 300
static pthread_barrier_t all_in;

static void *
look_twice(void *arg)
{
    bg_rcpt_rec r;
    bg_error err;
    intptr_t bad = 0;

    (void)arg;
    bad += bg_store_rcpt_get(st, "user@example.com", &r, &err) != BG_FOUND;
    pthread_barrier_wait(&all_in); /* every thread holds its seat now */
    bad += bg_store_rcpt_get(st, "nobody@example.com", &r, &err) != BG_NOTFOUND;
    return (void *)bad;
}

static void *
look_once(void *arg)
{
    bg_rcpt_rec r;
    bg_error err;

    (void)arg;
    return (void *)(intptr_t)(bg_store_rcpt_get(st, "user@example.com", &r, &err) != BG_FOUND);
}

START_TEST(threads_beyond_the_seats_and_one_after_another)
{
    pthread_t t[MANY_AT_ONCE];
    void *bad;
    long failures = 0;

    bounce("user@example.com", T0);
    pthread_barrier_init(&all_in, NULL, MANY_AT_ONCE);
    for (int i = 0; i < MANY_AT_ONCE; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, look_twice, NULL), 0);
    for (int i = 0; i < MANY_AT_ONCE; i++) {
        pthread_join(t[i], &bad);
        failures += (intptr_t)bad;
    }
    pthread_barrier_destroy(&all_in);
    ck_assert_int_eq(failures, 0);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(pthread_create(&t[0], NULL, look_once, NULL), 0);
        pthread_join(t[0], &bad);
        failures += (intptr_t)bad;
    }
    ck_assert_int_eq(failures, 0);
}
END_TEST

/* A small relay's store is small: the regions' reserved blocks, the cache
 * and the log of a new store with the default cache stay under 40 MB. */
START_TEST(fresh_store_is_small)
{
    DIR *d = opendir(home);
    struct dirent *e;
    unsigned long long bytes = 0;
    bg_store_env_stats es;
    bg_error err;

    bounce("small@example.com", T0);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[600];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", home, e->d_name);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            bytes += (unsigned long long)sb.st_blocks * 512;
    }
    closedir(d);
    ck_assert_msg(bytes <= 40ull << 20, "a new store takes %llu MB", bytes >> 20);
    ck_assert_int_eq(bg_store_env_stats_get(st, &es, &err), 0);
    /* Berkeley DB adds a quarter to a small cache for its own bookkeeping. */
    ck_assert_uint_ge(es.cache_bytes, (uint64_t)BG_STORE_CACHE_MB_DEFAULT << 20);
    ck_assert_uint_le(es.cache_bytes, (uint64_t)BG_STORE_CACHE_MB_DEFAULT * 3 / 2 << 20);
}
END_TEST

/* ---- a peer that dies inside the store ------------------------------------ */

static bg_record_change
die_inside(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    /* In the middle of a write transaction, holding the record's write
     * lock: what a SIGKILL of the milter or the watcher can do. */
    raise(SIGKILL);
    return 0;
}

/* A child process, with the store open, that commits `committed` and then
 * dies inside a transaction on `dying`. */
static void
peer_dies_inside(const char *committed, const char *dying)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bg_error err;
        bg_store *child = bg_store_open(home, 0, &err);
        bounce_arg a = {{T0, "dsn", "userunknown", "5.1.1", "mx", "550", "ip:1", 14 * DAY, DAY}};
        if (child == NULL ||
            bg_store_rcpt_update(child, committed, apply_bounce, &a, &err) != 1)
            _exit(3);
        bg_store_rcpt_update(child, dying, die_inside, NULL, &err);
        _exit(4); /* not reached */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The survivor's housekeeping finds the dead peer by failchk, which aborts
 * its transaction and releases its locks (or, when it cannot, the survivor
 * recovers), and the store goes on: the peer's committed bounce is there,
 * its half-done write is not, and nobody waits for the lock the dead
 * process held (without failchk this write would wait for ever: the test's
 * timeout fails it). */
START_TEST(failchk_finds_a_dead_peer)
{
    bg_rcpt_rec r;
    bg_error err;

    bounce("before@example.com", T0);
    peer_dies_inside("acked@example.com", "halfway@example.com");
    ck_assert_int_ge(bg_store_maintain(st, BG_STORE_CHECKPOINT_S, &err), BG_STORE_SOUND);
    ck_assert_int_eq(bg_store_maintain(st, 0, &err), BG_STORE_SOUND);
    bounce("halfway@example.com", T0 + 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "halfway@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(r.bounce_count, 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "acked@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(bg_store_rcpt_get(st, "before@example.com", &r, &err), BG_FOUND);
}
END_TEST

/* A process that opens the store after a peer died inside it (the CLI, the
 * pipe) recovers it on open, but only once the survivor that had it open
 * has left it (its housekeeping sees the late opener waiting, and it
 * reopens behind): recovery never rebuilds the environment under a live
 * process. */
#define SURVIVOR_STAYS_MS 1500
START_TEST(open_after_a_dead_peer_recovers)
{
    bg_rcpt_rec r;
    bg_error err;
    pid_t pid;
    int status;

    peer_dies_inside("acked2@example.com", "halfway2@example.com");
    /* DB_REGISTER allows one environment handle per process: the late
     * opener is another process, as the CLI is.  Its time counts from the
     * fork, as the survivor's stay does: a child slow to start (valgrind)
     * must not look early. */
    int64_t t0 = bg_monotonic_ms();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bounce_arg a = {{T0, "dsn", "userunknown", "5.1.1", "mx", "550", "ip:1", 14 * DAY, DAY}};
        bg_store *late = bg_store_open(home, 0, &err);
        if (late == NULL)
            _exit(2);
        if (bg_monotonic_ms() - t0 < SURVIVOR_STAYS_MS - 100)
            _exit(6); /* recovered while the survivor was still inside */
        if (bg_store_rcpt_get(late, "acked2@example.com", &r, &err) != BG_FOUND)
            _exit(3);
        if (bg_store_rcpt_get(late, "halfway2@example.com", &r, &err) != BG_NOTFOUND)
            _exit(4);
        if (bg_store_rcpt_update(late, "late@example.com", apply_bounce, &a, &err) != 1)
            _exit(5);
        bg_store_close(late);
        _exit(0);
    }
    /* The survivor stays inside for a while, then goes on as the daemons do:
     * its housekeeping sees that the late opener waits to recover, and
     * leaves the environment for it. */
    while (bg_monotonic_ms() - t0 < SURVIVOR_STAYS_MS) /* a signal may end a sleep early */
        usleep(10 * 1000);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        ck_assert_int_ge(bg_store_maintain(st, BG_STORE_CHECKPOINT_S, &err), BG_STORE_SOUND);
        usleep(50 * 1000);
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "late opener: status %d (exit 6: it recovered with the survivor inside)",
                  status);
    ck_assert_int_eq(bg_store_rcpt_get(st, "late@example.com", &r, &err), BG_FOUND);
    bounce("halfway2@example.com", T0 + 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "halfway2@example.com", &r, &err), BG_FOUND);
}
END_TEST

static int
count_visit(const char *addr, const bg_rcpt_rec *rec, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

START_TEST(purge_in_bounded_batches)
{
    bg_error err;
    size_t purged = 99;
    char addr[64];
    int n = 0;

    /* 1000 recipients expire (purge at T0 + 15 d), 10 later ones do not. */
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof(addr), "old%04d@example.com", i);
        bounce(addr, T0);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(addr, sizeof(addr), "new%02d@example.com", i);
        bounce(addr, T0 + 30 * DAY);
    }
    ck_assert_int_eq(bg_store_purge(st, T0 + 15 * DAY - 1, 100, 0, &purged, &err), 0);
    ck_assert_int_eq(purged, 0);
    /* One batch of 100 at most per call with max_batches = 1. */
    ck_assert_int_eq(bg_store_purge(st, T0 + 15 * DAY, 100, 1, &purged, &err), 0);
    ck_assert_int_eq(purged, 100);
    ck_assert_int_eq(bg_store_purge(st, T0 + 15 * DAY, 100, 0, &purged, &err), 0);
    ck_assert_int_eq(purged, 900);
    ck_assert_int_eq(bg_store_rcpt_foreach(st, NULL, count_visit, &n, &err), 0);
    ck_assert_int_eq(n, 10);
}
END_TEST

START_TEST(extending_moves_the_purge_entry)
{
    bg_error err;
    size_t purged;
    bg_rcpt_rec r;
    bg_store_stats stats;

    bounce("x@example.com", T0);
    bounce("x@example.com", T0 + 10 * DAY);
    ck_assert_int_eq(bg_store_stats_get(st, &stats, &err), 0);
    ck_assert_int_eq(stats.expiry, 1); /* the old index entry was replaced */
    ck_assert_int_eq(bg_store_purge(st, T0 + 15 * DAY, 100, 0, &purged, &err), 0);
    ck_assert_int_eq(purged, 0);
    ck_assert_int_eq(bg_store_rcpt_get(st, "x@example.com", &r, &err), BG_FOUND);
}
END_TEST

static int
prefix_visit(const char *addr, const bg_rcpt_rec *rec, void *arg)
{
    ck_assert(strncmp(addr, "b", 1) == 0);
    (*(int *)arg)++;
    return 0;
}

START_TEST(foreach_streams_in_order_with_prefix)
{
    bg_error err;
    int n = 0;
    char addr[64];

    for (int i = 0; i < 600; i++) {
        snprintf(addr, sizeof(addr), "%c%03d@example.com", "abc"[i % 3], i);
        bounce(addr, T0);
    }
    ck_assert_int_eq(bg_store_rcpt_foreach(st, "b", prefix_visit, &n, &err), 0);
    ck_assert_int_eq(n, 200);
}
END_TEST

START_TEST(seen_counts_once)
{
    bg_error err;

    ck_assert_int_eq(bg_store_seen_mark(st, "<dsn-1@mx>", T0, T0 + DAY, &err), 1);
    ck_assert_int_eq(bg_store_seen_mark(st, "<dsn-1@mx>", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_seen_mark(st, "<dsn-2@mx>", T0, T0 + DAY, &err), 1);
    ck_assert_int_eq(bg_store_seen_unmark(st, "<dsn-1@mx>", &err), 0);
    ck_assert_int_eq(bg_store_seen_mark(st, "<dsn-1@mx>", T0, T0 + DAY, &err), 1);
}
END_TEST

START_TEST(messages_by_id_and_queue_id)
{
    bg_message_rec m, out;
    bg_error err;

    memset(&m, 0, sizeof(m));
    m.time = T0;
    strcpy(m.sender_id, "ip:192.0.2.1");
    strcpy(m.env_from, "app@relay.example");
    strcpy(m.message_id, "<abc@relay.example>");
    strcpy(m.queue_id, "4XyZ1");
    m.rcpts = (char *)"a@example.com\nb@example.com";
    ck_assert_int_eq(bg_store_message_put(st, &m, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_message_get(st, "<abc@relay.example>", false, &out, &err),
                     BG_FOUND);
    ck_assert_str_eq(out.sender_id, "ip:192.0.2.1");
    ck_assert_str_eq(out.rcpts, "a@example.com\nb@example.com");
    bg_message_rec_clear(&out);
    ck_assert_int_eq(bg_store_message_get(st, "4XyZ1", true, &out, &err), BG_FOUND);
    ck_assert_str_eq(out.env_from, "app@relay.example");
    bg_message_rec_clear(&out);
    ck_assert_int_eq(bg_store_message_get(st, "nope", true, &out, &err), BG_NOTFOUND);
    /* The queue ID is reused by a later message: the first Message-ID no
     * longer finds recipients that were never its own. */
    strcpy(m.message_id, "<later@relay.example>");
    m.rcpts = (char *)"c@example.com";
    ck_assert_int_eq(bg_store_message_put(st, &m, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_message_get(st, "<abc@relay.example>", false, &out, &err),
                     BG_FOUND);
    ck_assert(out.rcpts == NULL || strstr(out.rcpts, "c@example.com") == NULL);
    bg_message_rec_clear(&out);
    ck_assert_int_eq(bg_store_message_get(st, "<later@relay.example>", false, &out, &err),
                     BG_FOUND);
    ck_assert_str_eq(out.rcpts, "c@example.com");
    bg_message_rec_clear(&out);
}
END_TEST

/* A message's recipients are kept once, under its queue ID; the Message-ID's
 * record leads there, and a list of 1,000 comes back whole either way. */
START_TEST(message_recipients_kept_once)
{
    bg_message_rec m, out;
    bg_error err;
    bg_buf list = BG_BUF_INIT;

    for (int i = 0; i < 1000; i++)
        bg_buf_printf(&list, "recipient-number-%04d@example.com\n", i);
    memset(&m, 0, sizeof(m));
    m.time = T0;
    strcpy(m.sender_id, "ip:192.0.2.1");
    strcpy(m.queue_id, "4BIG1");
    m.rcpts = (char *)bg_buf_str(&list);
    ck_assert_int_eq(bg_store_message_put(st, &m, T0 + DAY, &err), 0);
    strcpy(m.queue_id, "4BIG2");
    strcpy(m.message_id, "<big@relay.example>");
    ck_assert_int_eq(bg_store_message_put(st, &m, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_message_get(st, "<big@relay.example>", false, &out, &err),
                     BG_FOUND);
    ck_assert_str_eq(out.rcpts, bg_buf_str(&list));
    bg_message_rec_clear(&out);
    ck_assert_int_eq(bg_store_message_get(st, "4BIG2", true, &out, &err), BG_FOUND);
    ck_assert_str_eq(out.rcpts, bg_buf_str(&list));
    bg_message_rec_clear(&out);
    bg_buf_free(&list);
}
END_TEST

static int
tried_count(const char *addr, int64_t when, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

START_TEST(tried_is_distinct_per_sender)
{
    bg_error err;
    int n = 0;

    ck_assert_int_eq(bg_store_tried_add(st, "ip:1.2.3.4", "a@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_add(st, "ip:1.2.3.4", "a@x.com", T0 + 1, T0 + DAY, &err),
                     0);
    ck_assert_int_eq(bg_store_tried_add(st, "ip:1.2.3.4", "b@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_add(st, "ip:1.2.3.40", "c@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_foreach(st, "ip:1.2.3.4", tried_count, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(bg_store_tried_clear(st, "ip:1.2.3.4", &err), 0);
    n = 0;
    ck_assert_int_eq(bg_store_tried_foreach(st, "ip:1.2.3.4", tried_count, &n, &err), 0);
    ck_assert_int_eq(n, 0);
}
END_TEST

typedef struct tried_ids {
    char seen[256];
    int64_t when;
} tried_ids;

static int
tried_id(const char *id, int64_t when, void *arg)
{
    tried_ids *t = arg;
    size_t n = strlen(t->seen);
    snprintf(t->seen + n, sizeof t->seen - n, "%s;", id);
    t->when = when;
    return 0;
}

START_TEST(tried_by_finds_every_sender)
{
    bg_error err;
    tried_ids t = {"", 0};

    /* Senders with no quota record: only the tried records know them. */
    ck_assert_int_eq(bg_store_tried_add(st, "ip:1.2.3.4", "a@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_add(st, "sasl:b", "a@x.com", T0 + 5, T0 + DAY, &err), 0);
    /* Not a@x.com: another address, one that ends like it, one it starts. */
    ck_assert_int_eq(bg_store_tried_add(st, "sasl:c", "b@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_add(st, "sasl:d", "ba@x.com", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_add(st, "sasl:e", "a@x.com.au", T0, T0 + DAY, &err), 0);
    ck_assert_int_eq(bg_store_tried_by(st, "a@x.com", tried_id, &t, &err), 0);
    ck_assert_str_eq(t.seen, "ip:1.2.3.4;sasl:b;");
    ck_assert_int_eq(t.when, T0 + 5);
    t.seen[0] = '\0';
    ck_assert_int_eq(bg_store_tried_by(st, "nobody@x.com", tried_id, &t, &err), 0);
    ck_assert_str_eq(t.seen, "");
}
END_TEST

START_TEST(meta_and_incidents)
{
    bg_error err;
    char v[64];

    ck_assert_int_eq(bg_store_meta_get(st, "debug", v, sizeof(v), &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_meta_put(st, "debug", "on", &err), 0);
    ck_assert_int_eq(bg_store_meta_get(st, "debug", v, sizeof(v), &err), BG_FOUND);
    ck_assert_str_eq(v, "on");
    ck_assert_int_eq(bg_store_incident_add(st, "zen.spamhaus.org", "mx.example.com",
                                           "a@x.com", "554 listed", T0, 0, &err),
                     0);
    ck_assert_int_eq(bg_store_incident_add(st, "zen.spamhaus.org", "mx.example.com",
                                           "b@x.com", "554 listed", T0 + 5, 0, &err),
                     0);
    bg_store_stats stats;
    ck_assert_int_eq(bg_store_stats_get(st, &stats, &err), 0);
    ck_assert_int_eq(stats.incidents, 1);
}
END_TEST

START_TEST(missing_dir_is_a_clear_error)
{
    bg_error err;
    bg_store *s2 = bg_store_open("/nonexistent/bounceguard", 0, &err);

    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/bounceguard"));
}
END_TEST

START_TEST(foreign_file_is_a_clear_error)
{
    char dir[300], path[320];
    bg_error err;
    FILE *fp;

    snprintf(dir, sizeof(dir), "%s/foreign", home);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/rcpt.db", dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 1000; i++)
        fputs("this is not a database\n", fp);
    fclose(fp);
    bg_store *s2 = bg_store_open(dir, 0, &err);
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(err.msg, "rcpt.db"));
}
END_TEST

START_TEST(not_a_directory)
{
    char path[300];
    bg_error err;

    snprintf(path, sizeof(path), "%s/file", home);
    fclose(fopen(path, "w"));
    ck_assert_ptr_null(bg_store_open(path, BG_STORE_CREATE, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "not a directory"));
}
END_TEST

typedef struct atomic_case {
    bool abort_after_writes;
} atomic_case;

static int
atomic_writes(bg_store_txn *t, void *arg)
{
    atomic_case *c = arg;
    bounce_arg b = {{T0, "dsn", "userunknown", "5.1.1", "mx", "550", "ip:1", 14 * DAY, DAY}};

    if (bg_store_txn_seen_mark(t, "<dsn-atomic@mx>", T0, T0 + DAY) != 1)
        return -1;
    if (bg_store_txn_rcpt_update(t, "atomic@example.com", apply_bounce, &b) == BG_STORE_FAILED)
        return -1;
    if (bg_store_txn_incident_add(t, "zen.spamhaus.org", "mx", "atomic@example.com", "554",
                                  T0, 0) < 0)
        return -1;
    return c->abort_after_writes ? -1 : 0;
}

START_TEST(atomic_is_all_or_nothing)
{
    bg_error err;
    bg_rcpt_rec r;
    bg_store_stats stats;
    atomic_case c = {true};

    /* Aborted after all three writes: none of them is there. */
    ck_assert_int_eq(bg_store_atomic(st, true, atomic_writes, &c, &err), 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "atomic@example.com", &r, &err), BG_NOTFOUND);
    ck_assert_int_eq(bg_store_stats_get(st, &stats, &err), 0);
    ck_assert_int_eq(stats.incidents, 0);
    ck_assert_int_eq(stats.seen, 0);
    /* Committed: all three are. */
    c.abort_after_writes = false;
    ck_assert_int_eq(bg_store_atomic(st, true, atomic_writes, &c, &err), 0);
    ck_assert_int_eq(bg_store_rcpt_get(st, "atomic@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(bg_store_stats_get(st, &stats, &err), 0);
    ck_assert_int_eq(stats.incidents, 1);
    ck_assert_int_eq(stats.seen, 1);
    /* The same evidence again: seen, so fn aborts and nothing changes. */
    ck_assert_int_eq(bg_store_atomic(st, true, atomic_writes, &c, &err), 1);
    ck_assert_int_eq(bg_store_rcpt_get(st, "atomic@example.com", &r, &err), BG_FOUND);
    ck_assert_int_eq(r.bounce_count, 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("bdb");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rcpt_three_outcomes);
    tcase_add_test(tc, record_survives_reopen);
    tcase_add_test(tc, checkpoint_removes_old_logs);
    tcase_add_test(tc, maintain_keeps_the_log_short);
    tcase_add_test(tc, log_pressing_follows_the_log);
    tcase_add_test(tc, threads_beyond_the_seats_and_one_after_another);
    tcase_add_test(tc, fresh_store_is_small);
    tcase_add_test(tc, failchk_finds_a_dead_peer);
    tcase_add_test(tc, open_after_a_dead_peer_recovers);
    tcase_add_test(tc, purge_in_bounded_batches);
    tcase_add_test(tc, extending_moves_the_purge_entry);
    tcase_add_test(tc, foreach_streams_in_order_with_prefix);
    tcase_add_test(tc, seen_counts_once);
    tcase_add_test(tc, messages_by_id_and_queue_id);
    tcase_add_test(tc, message_recipients_kept_once);
    tcase_add_test(tc, tried_is_distinct_per_sender);
    tcase_add_test(tc, tried_by_finds_every_sender);
    tcase_add_test(tc, meta_and_incidents);
    tcase_add_test(tc, missing_dir_is_a_clear_error);
    tcase_add_test(tc, foreign_file_is_a_clear_error);
    tcase_add_test(tc, not_a_directory);
    tcase_add_test(tc, atomic_is_all_or_nothing);
    tcase_add_test(tc, a_held_call_reads_as_a_stall);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
