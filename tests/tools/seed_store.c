/*
 * seed_store — a test tool: puts state into a store through the library API,
 * as the milter and the watcher would, for tests of the operator CLI
 * (tests/integration/cli_store.sh).
 *
 *   seed_store DB_HOME bounces PREFIX COUNT [DOMAIN]
 *       COUNT bounces (5.1.1 userunknown, now) for PREFIX-N@DOMAIN
 *   seed_store DB_HOME bounce ADDR REASON STATUS AGO SENDER
 *       one bounce AGO seconds ago, caused by sender identity SENDER
 *   seed_store DB_HOME quota ID COUNT LIMIT
 *       reserve COUNT messages for ID (window quota_window 24h, limit LIMIT)
 *   seed_store DB_HOME tried ID ADDR...
 *       remember that ID tried each ADDR (blacklisted recipients)
 *   seed_store DB_HOME incident RBL REMOTE_MTA RCPT
 *       one RBL incident
 * Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/policy.h"
#include "bounceguard/store.h"

#define DAY 86400

static bg_record_change
apply_bounce(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, arg, purge_at);
}

typedef struct reserve_arg {
    int64_t now;
    long limit;
    bool granted;
} reserve_arg;

static bg_record_change
apply_reserve(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    reserve_arg *a = arg;
    int64_t ws;

    return bg_policy_quota_reserve(cur, next, a->now, a->limit, DAY, 1, &a->granted, &ws,
                                   purge_at);
}

static int
fail(bg_store *st, const bg_error *err)
{
    fprintf(stderr, "seed_store: %s\n", err->msg);
    bg_store_close(st);
    return 1;
}

int
main(int argc, char **argv)
{
    int64_t now = (int64_t)time(NULL);
    bg_error err;
    bg_store *st;
    const char *what;

    if (argc < 4) {
        fprintf(stderr,
                "usage: seed_store DB_HOME bounces|bounce|quota|tried|incident ...\n");
        return 2;
    }
    what = argv[2];
    st = bg_store_open(argv[1], BG_STORE_CREATE, &err);
    if (st == NULL) {
        fprintf(stderr, "seed_store: %s\n", err.msg);
        return 1;
    }
    if (strcmp(what, "bounces") == 0 && argc >= 5) {
        long n = atol(argv[4]);
        const char *domain = argc > 5 ? argv[5] : "example.com";
        bg_bounce_event ev = {now,
                              "dsn",
                              "userunknown",
                              "5.1.1",
                              "mx.example.net",
                              "550 5.1.1 user unknown",
                              "ip:192.0.2.1",
                              14 * DAY,
                              90 * DAY};
        for (long i = 0; i < n; i++) {
            char addr[300];
            snprintf(addr, sizeof(addr), "%s-%07ld@%s", argv[3], i, domain);
            if (bg_store_rcpt_update(st, addr, apply_bounce, &ev, &err) == BG_STORE_FAILED)
                return fail(st, &err);
        }
    } else if (strcmp(what, "bounce") == 0 && argc == 8) {
        bg_bounce_event ev = {
            now - atol(argv[6]), "dsn",   argv[4],  argv[5], "mx.example.net",
            "550 seeded bounce", argv[7], 14 * DAY, 90 * DAY};
        if (bg_store_rcpt_update(st, argv[3], apply_bounce, &ev, &err) == BG_STORE_FAILED)
            return fail(st, &err);
    } else if (strcmp(what, "quota") == 0 && argc == 6) {
        reserve_arg a = {now, atol(argv[5]), false};
        for (long i = atol(argv[4]); i > 0; i--)
            if (bg_store_sender_update(st, argv[3], apply_reserve, &a, &err) == BG_STORE_FAILED)
                return fail(st, &err);
    } else if (strcmp(what, "tried") == 0 && argc >= 5) {
        for (int i = 4; i < argc; i++)
            if (bg_store_tried_add(st, argv[3], argv[i], now, now + 14 * DAY, &err) < 0)
                return fail(st, &err);
    } else if (strcmp(what, "incident") == 0 && argc == 6) {
        if (bg_store_incident_add(st, argv[3], argv[4], argv[5],
                                  "554 5.7.1 Service unavailable; client host blocked",
                                  now, now + 90 * DAY, &err) < 0)
            return fail(st, &err);
    } else {
        fprintf(stderr, "seed_store: bad arguments for %s\n", what);
        bg_store_close(st);
        return 2;
    }
    bg_store_close(st);
    return 0;
}
