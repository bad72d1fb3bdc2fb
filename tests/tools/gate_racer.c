/*
 * gate_racer — a test tool: N transactions of one sender through the gate
 * (MAIL FROM, RCPT TO, end of message) against the store a config names,
 * as the milter makes them, to race several of these processes — one per
 * "relay" — on one sender's quota.  Used by tests/integration/store_redis.sh.
 *
 *   gate_racer CONF CLIENT_IP N   -> "accepted A quota Q error E"
 *                                    (exit 1 if a transaction hit a store error)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/config.h"
#include "bounceguard/gate.h"
#include "bounceguard/store.h"

int
main(int argc, char **argv)
{
    bg_error err;
    bg_config *cfg;
    bg_store *st;
    long n, accepted = 0, quota = 0, errors = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: gate_racer CONF CLIENT_IP N\n");
        return 2;
    }
    n = atol(argv[3]);
    if ((cfg = bg_config_load(argv[1], false, &err)) == NULL ||
        (st = bg_store_open_config(cfg, BG_STORE_CREATE, &err)) == NULL) {
        fprintf(stderr, "gate_racer: %s\n", err.msg);
        if (cfg)
            bg_config_unref(cfg);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        bg_gate_txn t;
        bg_addr a;
        char qid[64];
        int64_t now = (int64_t)time(NULL);
        bg_verdict_kind v;

        bg_gate_begin(&t, cfg, NULL, argv[2], "racer@example.org");
        v = bg_gate_mail(st, cfg, &t, now, &err);
        if (v == BG_VERDICT_ACCEPT)
            v = bg_gate_rcpt(st, cfg, &t, "someone@example.org", now, &a, NULL, 0, &err);
        if (v == BG_VERDICT_ACCEPT) {
            snprintf(qid, sizeof(qid), "Q%ldP%ld", i, (long)getpid());
            v = bg_gate_record(st, cfg, &t, "", qid, "someone@example.org\n", now, &err);
        }
        if (v == BG_VERDICT_ACCEPT)
            accepted++;
        else if (v == BG_VERDICT_QUOTA)
            quota++;
        else {
            errors++;
            fprintf(stderr, "gate_racer: verdict %d: %s\n", (int)v, err.msg);
        }
    }
    printf("accepted %ld quota %ld error %ld\n", accepted, quota, errors);
    bg_store_close(st);
    bg_config_unref(cfg);
    return errors ? 1 : 0;
}
