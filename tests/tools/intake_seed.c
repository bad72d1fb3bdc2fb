/*
 * intake_seed — a test tool for the bounce intake tests
 * (tests/integration/dsn_intake.sh): records sent messages as the milter
 * does, and prints what the watcher left in the store.
 *
 *   intake_seed DB_HOME message MESSAGE-ID QUEUE-ID CLIENT-IP ENV-FROM RCPT...
 *       record a message accepted from CLIENT-IP (identity ip:CLIENT-IP)
 *   intake_seed DB_HOME rcpt ADDR
 *       "blacklisted COUNT SENDER STATUS REASON SOURCE", "released ...", or "none"
 *   intake_seed DB_HOME incidents
 *       one line per RBL incident: "RBL REMOTE_MTA COUNT"
 *   intake_seed DB_HOME meta NAME [VALUE]
 *       print the value (or "none"); with VALUE, set it
 * Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/gate.h"
#include "bounceguard/policy.h"
#include "bounceguard/store.h"

static int
print_incident(const bg_incident_rec *rec, void *arg)
{
    printf("%s %s %u\n", rec->rbl, rec->remote_mta, rec->count);
    return 0;
}

static int
seed_message(bg_store *st, int argc, char **argv, bg_error *err)
{
    bg_config *cfg = bg_config_defaults();
    bg_gate_txn t;
    bg_buf rcpts = BG_BUF_INIT;
    int rc;

    for (int i = 4; i < argc; i++) {
        bg_buf_puts(&rcpts, argv[i]);
        bg_buf_putc(&rcpts, '\n');
    }
    cfg->sender_identity = BG_IDENTITY_IP;
    bg_gate_begin(&t, cfg, NULL, argv[2], argv[3]);
    rc = bg_gate_record(st, cfg, &t, argv[0], argv[1], bg_buf_str(&rcpts), time(NULL),
                        err) == BG_VERDICT_ACCEPT ? 0 : -1;
    bg_buf_free(&rcpts);
    bg_config_unref(cfg);
    return rc;
}

int
main(int argc, char **argv)
{
    bg_error err;
    bg_store *st;
    int rc = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: intake_seed DB_HOME message|rcpt|incidents|meta ...\n");
        return 1;
    }
    st = bg_store_open(argv[1], BG_STORE_CREATE, &err);
    if (st == NULL) {
        fprintf(stderr, "intake_seed: %s\n", err.msg);
        return 1;
    }
    if (strcmp(argv[2], "message") == 0 && argc >= 8) {
        rc = seed_message(st, argc - 3, argv + 3, &err);
    } else if (strcmp(argv[2], "rcpt") == 0 && argc == 4) {
        bg_rcpt_rec r;
        bg_lookup l = bg_store_rcpt_get(st, argv[3], &r, &err);
        if (l == BG_LOOKUP_ERROR)
            rc = -1;
        else if (l == BG_NOTFOUND)
            printf("none\n");
        else
            printf("%s %u %s %s %s %s\n",
                   bg_policy_rcpt_blacklisted(&r, time(NULL)) ? "blacklisted"
                                                              : "released",
                   r.bounce_count, r.last_sender[0] ? r.last_sender : "-", r.status,
                   r.reason, r.source);
    } else if (strcmp(argv[2], "incidents") == 0) {
        rc = bg_store_incident_foreach(st, print_incident, NULL, &err);
    } else if (strcmp(argv[2], "meta") == 0 && argc == 5) {
        rc = bg_store_meta_put(st, argv[3], argv[4], &err);
    } else if (strcmp(argv[2], "meta") == 0 && argc == 4) {
        char v[256];
        bg_lookup l = bg_store_meta_get(st, argv[3], v, sizeof(v), &err);
        if (l == BG_LOOKUP_ERROR)
            rc = -1;
        else
            printf("%s\n", l == BG_FOUND ? v : "none");
    } else {
        fprintf(stderr, "intake_seed: bad arguments\n");
        bg_store_close(st);
        return 1;
    }
    if (rc < 0)
        fprintf(stderr, "intake_seed: %s\n", err.msg);
    bg_store_close(st);
    return rc < 0 ? 1 : 0;
}
