/*
 * milter.h — what the two files of bounceguard-milter share: the running
 * state (config snapshot, store) and the libmilter callback table.
 */
#ifndef BOUNCEGUARD_MILTER_H
#define BOUNCEGUARD_MILTER_H

#include <libmilter/mfapi.h>

#include "bounceguard/config.h"
#include "bounceguard/store.h"

/* The current config snapshot, with a reference for the caller
 * (release with bg_config_unref). */
bg_config *milter_config_get(void);

/* The store, opened once at start-up; NULL if it could not be opened (then
 * every check gets the on_store_error verdict). */
bg_store *milter_store(void);

/* The libmilter description of bounceguard (callbacks.c). */
extern struct smfiDesc milter_desc;

#endif
