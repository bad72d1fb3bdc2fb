/*
 * store_fixture — a fresh, real Berkeley DB store in a temporary folder of
 * its own, for the unit tests whose cases each start from an empty store
 * (test_store, test_learn, test_gate, test_import, test_metrics).
 */
#ifndef BG_TEST_STORE_FIXTURE_H
#define BG_TEST_STORE_FIXTURE_H

#include <stddef.h>

#include "bounceguard/store.h"

/* Make a folder named after NAME under $TMPDIR (or /tmp), write its path to
 * HOME (SIZE bytes) and create a store there; a failure fails the case. */
bg_store *store_fixture_open(char *home, size_t size, const char *name);

/* Close ST and remove HOME with all it holds; returns NULL for the caller's
 * pointer. */
bg_store *store_fixture_close(bg_store *st, const char *home);

#endif
