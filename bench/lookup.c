/*
 * lookup — the decision per RCPT in-process against a raw Berkeley DB get on
 * the same store, for `make bench`.
 *
 *   lookup HOME NRCPTS COUNT [ROUNDS [REDIS_CONF]]
 *       HOME is a store filled by `seed fill HOME NRCPTS ...`.  COUNT random
 *       recipients (half blacklisted ones, half unknown ones; same sequence
 *       for every contender) are looked up by:
 *         raw     DB->get on HOME/rcpt.db opened directly with libdb (no
 *                 environment, no transaction, no locking: the floor);
 *       The client (sender identity) is one of the 10,000 seeded senders.
 *         gate    bg_gate_rcpt() in dry-run mode: address parsing, TLD check,
 *                 policy, the rcpt lookup and the sender's tried-list walk
 *                 (what `bounceguard check` and the milter read);
 *         enforce bg_gate_rcpt() as the milter runs it: a new transaction per
 *                 lookup, so each accepted one reads the sender's quota and
 *                 holds a message in flight (no write: the count is written
 *                 at the end of the message) and each blacklisted one
 *                 records the attempt (a write).
 *       With REDIS_CONF (a config with store = redis, filled by `seed fill
 *       REDIS_CONF NRCPTS ...` like HOME), two more: gate-redis and
 *       enforce-redis, the same calls on that store.
 *       Contenders take turns, COUNT/ROUNDS lookups at a time (A/B/C/A/B/C),
 *       after one untimed warm-up pass each.  Prints one line per contender:
 *       "lookup NAME COUNT MEDIAN_US P99_US MEAN_US HITS".
 *   lookup walk HOME
 *       Print every key of HOME/rcpt.db, one per line, with a raw cursor
 *       (the floor for `bounceguard list`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <db.h>

#include "bounceguard/config.h"
#include "bounceguard/gate.h"

enum { C_RAW, C_GATE, C_ENFORCE, C_GATE_REDIS, C_ENFORCE_REDIS, C_COUNT };
static const char *const names[C_COUNT] = {"raw", "gate", "enforce", "gate-redis",
                                           "enforce-redis"};

typedef struct bench {
    bg_store *st;
    bg_store *redis; /* NULL: no Redis contenders */
    bg_config *cfg;
    DB *raw;
    char **keys;  /* recipients as sent in RCPT TO */
    char **canon; /* their canonical keys (for the raw get) */
    size_t nkeys;
    double *samples[C_COUNT];
    size_t nsamples[C_COUNT];
    long hits[C_COUNT];
} bench;

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static DB *
raw_open(const char *home)
{
    DB *db;
    char *path = bg_xasprintf("%s/rcpt.db", home);
    int ret = db_create(&db, NULL, 0);

    if (ret == 0) {
        db->set_cachesize(db, 0, 64 * 1024 * 1024, 1); /* as the store's environment */
        ret = db->open(db, NULL, path, NULL, DB_BTREE, DB_RDONLY, 0);
    }
    if (ret != 0) {
        fprintf(stderr, "lookup: %s: %s\n", path, db_strerror(ret));
        free(path);
        return NULL;
    }
    free(path);
    return db;
}

/* One lookup by contender c; returns 1 for a blacklisted recipient. */
static int
one(bench *b, int c, size_t i, bool *failed)
{
    bg_gate_txn t;
    bg_addr addr;
    bg_error err;
    bg_verdict_kind v;

    if (c == C_RAW) {
        unsigned char val[4096];
        DBT k, d;
        int ret;
        memset(&k, 0, sizeof(k));
        memset(&d, 0, sizeof(d));
        k.data = b->canon[i];
        k.size = (u_int32_t)strlen(b->canon[i]);
        d.data = val;
        d.ulen = sizeof(val);
        d.flags = DB_DBT_USERMEM;
        ret = b->raw->get(b->raw, NULL, &k, &d, 0);
        if (ret != 0 && ret != DB_NOTFOUND) {
            fprintf(stderr, "lookup: raw get: %s\n", db_strerror(ret));
            *failed = true;
        }
        return ret == 0;
    }
    char ip[32];
    unsigned s = (unsigned)(i % 10000); /* one of the seeded senders */
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", (s >> 16) & 255, (s >> 8) & 255, s & 255);
    bg_store *st = c == C_GATE_REDIS || c == C_ENFORCE_REDIS ? b->redis : b->st;
    bg_gate_begin(&t, b->cfg, NULL, ip, "app@sender.example.com");
    t.dry_run = c == C_GATE || c == C_GATE_REDIS;
    v = bg_gate_rcpt(st, b->cfg, &t, b->keys[i], (int64_t)time(NULL), &addr, NULL, 0, &err);
    if (v == BG_VERDICT_STORE_ERROR || v == BG_VERDICT_BAD_ADDRESS ||
        v == BG_VERDICT_BAD_DOMAIN) {
        fprintf(stderr, "lookup: gate: %s %s\n", bg_policy_verdict_name(v), err.msg);
        *failed = true;
    }
    /* went through: the quota it held goes back (its count is the end of
     * the message's write, not the decision's) */
    bg_gate_release(&t);
    return v == BG_VERDICT_BLACKLISTED;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int
run(const char *home, unsigned nrcpts, size_t count, unsigned rounds, const char *redis_conf)
{
    bench b;
    bg_error err;
    bool failed = false;
    unsigned seed = 12345;

    memset(&b, 0, sizeof(b));
    b.cfg = bg_config_defaults();
    b.cfg->quota_limit = 1000000000; /* measure the filter, not refusals */
    b.st = bg_store_open(home, 0, &err);
    if (b.st == NULL) {
        fprintf(stderr, "lookup: %s\n", err.msg);
        return 1;
    }
    if ((b.raw = raw_open(home)) == NULL)
        return 1;
    if (redis_conf) {
        bg_config *rc = bg_config_load(redis_conf, false, &err);
        if (rc == NULL || (b.redis = bg_store_open_config(rc, 0, &err)) == NULL) {
            fprintf(stderr, "lookup: %s\n", err.msg);
            return 1;
        }
        bg_config_unref(rc);
    }
    b.nkeys = count;
    b.keys = bg_xcalloc(count, sizeof(char *));
    b.canon = bg_xcalloc(count, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        unsigned r = (unsigned)rand_r(&seed) % (nrcpts ? nrcpts : 1);
        bg_addr a;
        if (i % 2 == 0) /* a blacklisted one (bench/seed.c names) */
            b.keys[i] = bg_xasprintf("<bl%07u@D%03u.Example.com>", r, r % 1000);
        else
            b.keys[i] = bg_xasprintf("<ok%07u@d%03u.example.com>", r, r % 1000);
        if (bg_addr_parse(b.keys[i], &a, &err) != BG_ADDR_OK) {
            fprintf(stderr, "lookup: %s: %s\n", b.keys[i], err.msg);
            return 1;
        }
        b.canon[i] = bg_xstrdup(a.canon);
    }
    int ncont = b.redis ? C_COUNT : C_GATE_REDIS;
    for (int c = 0; c < ncont; c++) {
        b.samples[c] = bg_xcalloc(count, sizeof(double));
        for (size_t i = 0; i < count && !failed; i++) /* warm-up, untimed */
            one(&b, c, i, &failed);
    }
    if (rounds == 0)
        rounds = 1;
    for (unsigned r = 0; r < rounds && !failed; r++) {
        size_t lo = count * r / rounds, hi = count * (r + 1) / rounds;
        for (int c = 0; c < ncont && !failed; c++) {
            for (size_t i = lo; i < hi && !failed; i++) {
                double t0 = now_us();
                b.hits[c] += one(&b, c, i, &failed);
                b.samples[c][b.nsamples[c]++] = now_us() - t0;
            }
        }
    }
    if (failed)
        return 1;
    for (int c = 0; c < ncont; c++) {
        double sum = 0;
        size_t n = b.nsamples[c];
        for (size_t i = 0; i < n; i++)
            sum += b.samples[c][i];
        qsort(b.samples[c], n, sizeof(double), cmp_double);
        printf("lookup %s %zu %.2f %.2f %.2f %ld\n", names[c], n, b.samples[c][n / 2],
               b.samples[c][n * 99 / 100], sum / (double)n, b.hits[c]);
        free(b.samples[c]);
    }
    for (size_t i = 0; i < count; i++) {
        free(b.keys[i]);
        free(b.canon[i]);
    }
    free(b.keys);
    free(b.canon);
    b.raw->close(b.raw, 0);
    bg_store_close(b.st);
    if (b.redis)
        bg_store_close(b.redis);
    bg_config_unref(b.cfg);
    return 0;
}

static int
walk(const char *home)
{
    DB *db = raw_open(home);
    DBC *c;
    DBT k, d;
    int ret;

    if (db == NULL)
        return 1;
    if ((ret = db->cursor(db, NULL, &c, 0)) != 0) {
        fprintf(stderr, "lookup: cursor: %s\n", db_strerror(ret));
        return 1;
    }
    memset(&k, 0, sizeof(k));
    memset(&d, 0, sizeof(d));
    while ((ret = c->get(c, &k, &d, DB_NEXT)) == 0) {
        fwrite(k.data, 1, k.size, stdout);
        putchar('\n');
    }
    c->close(c);
    db->close(db, 0);
    if (ret != DB_NOTFOUND) {
        fprintf(stderr, "lookup: walk: %s\n", db_strerror(ret));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "walk") == 0)
        return walk(argv[2]);
    if (argc >= 4 && argc <= 6)
        return run(argv[1], (unsigned)strtoul(argv[2], NULL, 10),
                   (size_t)strtoul(argv[3], NULL, 10),
                   argc >= 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 10,
                   argc == 6 ? argv[5] : NULL);
    fprintf(stderr,
            "usage: lookup HOME NRCPTS COUNT [ROUNDS [REDIS_CONF]] | lookup walk HOME\n");
    return 2;
}
