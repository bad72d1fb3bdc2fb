/*
 * store_writer — a test tool: writes bounces into a store and prints each
 * address once its transaction has committed, or verifies a list of
 * addresses read from stdin.  Used by tests/integration/store_crash.sh.
 *
 *   store_writer write DB_HOME PREFIX COUNT [WHEN]
 *                                -> one committed address per line; the
 *                                   bounces happen at WHEN (default: a fixed
 *                                   time in 2023, long expired; "now")
 *   store_writer verify DB_HOME < addresses   -> "missing N" (exit 1 if N > 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/policy.h"
#include "bounceguard/store.h"

static bg_record_change
apply(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, arg, purge_at);
}

int
main(int argc, char **argv)
{
    bg_error err;
    bg_store *st;

    if (argc < 3) {
        fprintf(stderr, "usage: store_writer write|verify DB_HOME [PREFIX COUNT]\n");
        return 2;
    }
    st = bg_store_open(argv[2], BG_STORE_CREATE, &err);
    if (st == NULL) {
        fprintf(stderr, "store_writer: %s\n", err.msg);
        return 1;
    }
    if (strcmp(argv[1], "write") == 0 && (argc == 5 || argc == 6)) {
        long n = atol(argv[4]);
        bg_bounce_event ev = {1700000000, "dsn",          "userunknown", "5.1.1",
                              "mx.test",  "550 5.1.1 no", "ip:127.0.0.1", 14 * 86400,
                              86400};
        if (argc == 6)
            ev.when = strcmp(argv[5], "now") == 0 ? (int64_t)time(NULL) : atoll(argv[5]);
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (long i = 0; i < n; i++) {
            char addr[128];
            snprintf(addr, sizeof(addr), "%s-%ld@example.com", argv[3], i);
            if (bg_store_rcpt_update(st, addr, apply, &ev, &err) == BG_STORE_FAILED) {
                fprintf(stderr, "store_writer: %s\n", err.msg);
                bg_store_close(st);
                return 1;
            }
            printf("%s\n", addr);
        }
    } else if (strcmp(argv[1], "verify") == 0) {
        char line[256];
        long missing = 0, present = 0;
        while (fgets(line, sizeof(line), stdin)) {
            bg_rcpt_rec r;
            line[strcspn(line, "\n")] = '\0';
            if (*line == '\0')
                continue;
            bg_lookup l = bg_store_rcpt_get(st, line, &r, &err);
            if (l == BG_LOOKUP_ERROR) {
                fprintf(stderr, "store_writer: %s\n", err.msg);
                return 1;
            }
            if (l == BG_FOUND)
                present++;
            else
                missing++;
        }
        printf("present %ld missing %ld\n", present, missing);
        bg_store_close(st);
        return missing ? 1 : 0;
    } else {
        fprintf(stderr, "store_writer: bad arguments\n");
        return 2;
    }
    bg_store_close(st);
    return 0;
}
