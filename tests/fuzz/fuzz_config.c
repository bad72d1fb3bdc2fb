/*
 * fuzz_config — libFuzzer harness for the config parser (bg_config_parse):
 * any bytes in, a snapshot or a one-line error out, never a crash.  A config
 * that parses keeps every value inside the bounds of the key table, and what
 * bg_config_dump writes parses again to the same values (the -n check and a
 * reload see what the operator wrote).  Built by tests/fuzz/run-all.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_bounds(const bg_config *c)
{
    assert(c->socket && c->db_home && c->log_dir && c->pid_file && c->user);
    assert(c->blacklist_period >= 60 && c->blacklist_period <= 3650LL * 86400);
    assert(c->quota_limit >= 0 && c->quota_limit <= 100000000);
    assert(c->quota_window >= 60 && c->quota_window <= 366LL * 86400);
    assert(c->sender_bounce_limit >= 0 && c->sender_bounce_limit <= 1000000);
    assert(c->purge_batch >= 1 && c->purge_batch <= 100000);
    assert(c->message_retention >= 3600);
    for (size_t i = 0; i < c->override_count; i++)
        assert(c->overrides[i].identity != NULL);
}

static void
same(const bg_config *a, const bg_config *b)
{
    assert(strcmp(a->socket, b->socket) == 0);
    assert(strcmp(a->db_home, b->db_home) == 0);
    assert(a->mode == b->mode);
    assert(a->blacklist_period == b->blacklist_period);
    assert(a->quota_limit == b->quota_limit);
    assert(a->quota_window == b->quota_window);
    assert(a->sender_bounce_limit == b->sender_bounce_limit);
    assert(a->on_store_error == b->on_store_error);
    assert(a->dsn_trust == b->dsn_trust);
    assert(a->trusted_networks.count == b->trusted_networks.count);
    assert(a->blacklist_reasons.count == b->blacklist_reasons.count);
    assert(a->override_count == b->override_count);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    bg_error err;
    bg_config *c;

    memcpy(text, data, size);
    text[size] = '\0';
    err.msg[0] = '\0';
    c = bg_config_parse("fuzz.conf", text, &err);
    if (c == NULL) {
        /* a clear error: one line, naming the file */
        assert(err.msg[0] != '\0');
        assert(strchr(err.msg, '\n') == NULL && strchr(err.msg, '\r') == NULL);
        assert(strncmp(err.msg, "fuzz.conf", 9) == 0);
    } else {
        char *dump = NULL;
        size_t dlen = 0;
        FILE *fp = open_memstream(&dump, &dlen);
        bg_config *again;

        check_bounds(c);
        assert(fp != NULL);
        bg_config_dump(c, fp);
        fclose(fp);
        again = bg_config_parse("dump", dump, &err);
        if (again == NULL) {
            fprintf(stderr, "dump does not parse again: %s\n--- dump:\n%s\n", err.msg, dump);
            abort();
        }
        same(c, again);
        bg_config_unref(again);
        free(dump);
        bg_config_unref(c);
    }
    free(text);
    return 0;
}
