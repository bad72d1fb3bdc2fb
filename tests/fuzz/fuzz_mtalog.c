/*
 * fuzz_mtalog — libFuzzer harness for the MTA log line parser: any bytes in
 * (the line is not NUL-terminated, so ASan sees every read past its end), an
 * event out whose strings are terminated and free of control bytes.
 * Built by tests/fuzz/build.sh.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/mtalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
clean(const char *s, size_t size)
{
    size_t n = strnlen(s, size), i;

    assert(n < size);
    for (i = 0; i < n; i++)
        assert((unsigned char)s[i] >= 32 && s[i] != 127);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size ? size : 1);
    bg_mtalog_event ev;

    memcpy(line, data, size);
    bg_mtalog_parse(line, size, 1795438800, NULL, &ev);
    clean(ev.queue_id, sizeof(ev.queue_id));
    clean(ev.recipient, sizeof(ev.recipient));
    clean(ev.reply, sizeof(ev.reply));
    clean(ev.relay, sizeof(ev.relay));
    clean(ev.command, sizeof(ev.command));
    clean(ev.orig_to, sizeof(ev.orig_to));
    clean(ev.program, sizeof(ev.program));
    free(line);
    return 0;
}
