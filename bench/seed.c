/*
 * seed — build and empty large bounceguard stores, for `make bench`.
 *
 *   seed fill HOME NRCPTS NSENDERS [THREADS]
 *       Create the store in HOME and blacklist NRCPTS recipients
 *       (bench_rcpt_name(i), bounced within the last 13 days, so all are
 *       blacklisted now) and give NSENDERS senders ("ip:10.x.y.z") a quota
 *       window, through the library API (bg_store_rcpt_update with
 *       bg_policy_bounce, bg_store_sender_update with bg_policy_quota_reserve),
 *       i.e. exactly the records the milter and the watcher write.
 *       Prints "fill N SECONDS".
 *       HOME may also be a config file (a name ending in ".conf"): the store
 *       it names, e.g. one on Redis (store = redis), is filled the same way.
 *   seed purge HOME
 *       Purge everything (bg_store_purge at a `now` 30 years ahead, so every
 *       record is due; 200,000 records per call, then a checkpoint) and print
 *       "purge N SECONDS".
 *
 * Every bounce write commits with DB_TXN_SYNC (the store's contract for
 * bounces), so filling is fsync-bound on a disk: bench/run fills on tmpfs
 * (/dev/shm) and copies the store where it is used.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/addr.h"
#include "bounceguard/config.h"
#include "bounceguard/policy.h"
#include "bounceguard/store.h"

#define DAY 86400

typedef struct fill_arg {
    bg_store *st;
    unsigned from, step, nrcpts, nsenders;
    int64_t now;
    int failed;
    bg_error err;
} fill_arg;

static double
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Recipient i of the seeded blacklist (bench/lookup.c uses the same names). */
static void
rcpt_name(unsigned i, char *out, size_t size)
{
    snprintf(out, size, "bl%07u@d%03u.example.com", i, i % 1000);
}

static void
sender_name(unsigned i, char *out, size_t size)
{
    snprintf(out, size, "ip:10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static bg_record_change
bounce_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, arg, purge_at);
}

static void *
fill_rcpts(void *p)
{
    fill_arg *a = p;
    char name[128], mta[128], diag[512], sender[64];
    bg_addr addr;

    for (unsigned i = a->from; i < a->nrcpts && !a->failed; i += a->step) {
        rcpt_name(i, name, sizeof(name));
        if (bg_addr_parse(name, &addr, &a->err) != BG_ADDR_OK) {
            a->failed = 1;
            break;
        }
        snprintf(mta, sizeof(mta), "mx%u.d%03u.example.com", i % 3, i % 1000);
        snprintf(diag, sizeof(diag),
                 "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual "
                 "mailbox table",
                 addr.canon);
        sender_name(i % (a->nsenders ? a->nsenders : 1), sender, sizeof(sender));
        bg_bounce_event ev = {
            .when = a->now - (int64_t)(i % (13 * DAY)),
            .source = "dsn",
            .reason = "userunknown",
            .status = "5.1.1",
            .remote_mta = mta,
            .diagnostic = diag,
            .sender_id = sender,
            .period = 14 * DAY,
            .history = 90 * DAY,
        };
        if (bg_store_rcpt_update(a->st, addr.canon, bounce_update, &ev, &a->err) == BG_STORE_FAILED)
            a->failed = 1;
        /* Let Berkeley DB drop the log files it no longer needs, now and then,
         * as the daemons do: the log would otherwise grow to gigabytes. */
        if (a->from == 0 && i % 200000 == 0 && bg_store_checkpoint(a->st, &a->err) < 0)
            a->failed = 1;
    }
    return NULL;
}

typedef struct reserve_arg {
    int64_t now;
    bool granted;
    int64_t window_start;
} reserve_arg;

static bg_record_change
reserve_update(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    reserve_arg *r = arg;

    return bg_policy_quota_reserve(cur, next, r->now, 100, DAY, 5, &r->granted,
                                   &r->window_start, purge_at);
}

static void *
fill_senders(void *p)
{
    fill_arg *a = p;
    char id[64];

    for (unsigned i = a->from; i < a->nsenders && !a->failed; i += a->step) {
        reserve_arg r = {a->now - (int64_t)(i % 3600), false, 0};
        sender_name(i, id, sizeof(id));
        if (bg_store_sender_update(a->st, id, reserve_update, &r, &a->err) == BG_STORE_FAILED)
            a->failed = 1;
    }
    return NULL;
}

/* The store HOME names: a directory, or a config file (".conf"). */
static bg_store *
open_target(const char *home, bg_error *err)
{
    size_t n = strlen(home);
    bg_config *c;
    bg_store *st;

    /* A million recipients: the cache of a large relay (db_cache_mb = 64). */
    if (n < 5 || strcmp(home + n - 5, ".conf") != 0)
        return bg_store_open_sized(home, BG_STORE_CREATE, 64, err);
    if ((c = bg_config_load(home, false, err)) == NULL)
        return NULL;
    st = bg_store_open_config(c, BG_STORE_CREATE, err);
    bg_config_unref(c);
    return st;
}

static int
fill(const char *home, unsigned nrcpts, unsigned nsenders, unsigned nthreads)
{
    bg_error err;
    bg_store *st = open_target(home, &err);
    pthread_t th[16];
    fill_arg args[16];
    double t0;
    int rc = 0;

    if (st == NULL) {
        fprintf(stderr, "seed: %s\n", err.msg);
        return 1;
    }
    if (nthreads < 1 || nthreads > 16)
        nthreads = 2;
    t0 = now_mono();
    for (int phase = 0; phase < 2; phase++) {
        for (unsigned t = 0; t < nthreads; t++) {
            args[t] = (fill_arg){st, t, nthreads, nrcpts, nsenders, (int64_t)time(NULL), 0,
                                 {""}};
            pthread_create(&th[t], NULL, phase == 0 ? fill_rcpts : fill_senders, &args[t]);
        }
        for (unsigned t = 0; t < nthreads; t++) {
            pthread_join(th[t], NULL);
            if (args[t].failed) {
                fprintf(stderr, "seed: %s\n", args[t].err.msg);
                rc = 1;
            }
        }
        if (rc)
            break;
    }
    if (rc == 0 && bg_store_checkpoint(st, &err) < 0) {
        fprintf(stderr, "seed: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0)
        printf("fill %u %.3f\n", nrcpts, now_mono() - t0);
    bg_store_close(st);
    return rc;
}

static int
purge(const char *home)
{
    bg_error err;
    bg_store *st = bg_store_open(home, 0, &err);
    size_t n = 0;
    double t0;

    if (st == NULL) {
        fprintf(stderr, "seed: %s\n", err.msg);
        return 1;
    }
    t0 = now_mono();
    /* In bounded rounds with a checkpoint between them, as an upkeep job
     * would run it (the log of a 10M purge would otherwise fill the disk). */
    for (;;) {
        size_t round = 0;
        if (bg_store_purge(st, (int64_t)time(NULL) + 30 * 365 * (int64_t)DAY, 500, 400,
                           &round, &err) < 0 ||
            bg_store_checkpoint(st, &err) < 0) {
            fprintf(stderr, "seed: purge: %s\n", err.msg);
            bg_store_close(st);
            return 1;
        }
        n += round;
        if (round < 500 * 400)
            break;
    }
    printf("purge %zu %.3f\n", n, now_mono() - t0);
    bg_store_close(st);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "fill") == 0)
        return fill(argv[2], (unsigned)strtoul(argv[3], NULL, 10),
                    (unsigned)strtoul(argv[4], NULL, 10),
                    argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 2);
    if (argc == 3 && strcmp(argv[1], "purge") == 0)
        return purge(argv[2]);
    fprintf(stderr, "usage: seed fill HOME NRCPTS NSENDERS [THREADS] | seed purge HOME\n");
    return 2;
}
