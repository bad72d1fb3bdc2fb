/*
 * fuzz_addr — libFuzzer harness for the address parser: any bytes in, a
 * status out, no crash, no read past the input, and the invariants of a
 * canonical address hold.  Built by tests/fuzz/build.sh.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    bg_addr a, again;
    bg_error err;
    bg_addr_status st;

    memcpy(s, data, size);
    s[size] = '\0';
    st = bg_addr_validate(s, &a, &err);
    if (st == BG_ADDR_OK || st == BG_ADDR_UNKNOWN_TLD) {
        assert(strlen(a.local) <= 64);
        assert(strlen(a.canon) <= 254);
        /* The canonical form is a fixed point. */
        assert(bg_addr_parse(a.canon, &again, &err) == BG_ADDR_OK);
        assert(strcmp(a.canon, again.canon) == 0);
    }
    free(s);
    return 0;
}
