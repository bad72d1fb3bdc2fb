/*
 * state.c — bounceguard-milter's running state, read by every thread: the
 * config snapshot (replaced whole by a reload, never changed in place) and
 * the store (opened once, by the upkeep thread if not at start-up).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "milter.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static bg_config *running_config;
static _Atomic(bg_store *) running_store;

bg_config *
milter_config_get(void)
{
    bg_config *c;

    pthread_mutex_lock(&config_lock);
    c = bg_config_ref(running_config);
    pthread_mutex_unlock(&config_lock);
    return c;
}

void
milter_config_set(bg_config *c)
{
    bg_config *old;

    pthread_mutex_lock(&config_lock);
    old = running_config;
    running_config = c;
    pthread_mutex_unlock(&config_lock);
    bg_config_unref(old); /* sessions still holding it keep it alive */
}

bg_store *
milter_store(void)
{
    return atomic_load(&running_store);
}

void
milter_store_set(bg_store *s)
{
    atomic_store(&running_store, s);
}
