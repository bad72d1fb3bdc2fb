/*
 * milter.h — what the files of bounceguard-milter share: the running state
 * (state.c: config snapshot, store), the metrics server (metrics_http.c) and
 * the libmilter callback table (callbacks.c).
 */
#ifndef BOUNCEGUARD_MILTER_H
#define BOUNCEGUARD_MILTER_H

#include <libmilter/mfapi.h>

#include "bounceguard/config.h"
#include "bounceguard/store.h"

/* The current config snapshot, with a reference for the caller
 * (release with bg_config_unref). */
bg_config *milter_config_get(void);

/* Make c the current config, taking the caller's reference to it; the one
 * before is released (sessions that hold it keep it until they end). */
void milter_config_set(bg_config *c);

/* The store, opened once; NULL until it could be opened (then every check
 * gets the on_store_error verdict). */
bg_store *milter_store(void);
void milter_store_set(bg_store *s);

/*
 * Metrics (metrics_http.c).  milter_metrics: the process's counters, made
 * at the first call (main makes them before any thread).  open binds
 * metrics_listen (as root, before privileges are given up), start runs the
 * HTTP server (after, in the daemon), stop ends it (after smfi_main).  open
 * and start: 0, or -1 with err set; start without open does nothing.
 */
struct bg_metrics;
struct bg_metrics *milter_metrics(void);
int milter_metrics_open(const char *spec, bg_error *err);
int milter_metrics_start(bg_error *err);
void milter_metrics_stop(void);

/* The libmilter description of bounceguard (callbacks.c). */
extern struct smfiDesc milter_desc;

#endif
