/*
 * store_core.c — see store_core.h: what the files of the store share
 * beyond the handle, whichever backend runs the call.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "store_core.h"

/* The longest pause between two attempts of a transaction. */
#define RETRY_PAUSE_MAX_US 20000

/* ---- calls in flight (the milter's stall guard reads them) ---------------- */

/* The first call in sets the clock before it counts itself in: the stall
 * watch reads the count, then the clock, and must never pair one call in
 * flight with the time the last one left (an hour ago after an idle hour;
 * 0, the machine's uptime ago, in a store that never had a call — ASan's
 * slow threads once made the milter exit at its start with "the store did
 * not answer for 2968 s"). */
/* The same accounting for all the stores of the process together
 * (bg_store_call_stuck): a signal handler reads it, so no store pointer that
 * a close could free. */
static atomic_int process_inflight;
static _Atomic int64_t process_progress_ms;

void
store_enter(bg_store *s)
{
    int64_t now = bg_monotonic_ms();

    if (atomic_load(&s->inflight) == 0)
        atomic_store(&s->progress_ms, now);
    atomic_fetch_add(&s->inflight, 1);
    if (atomic_load(&process_inflight) == 0)
        atomic_store(&process_progress_ms, now);
    atomic_fetch_add(&process_inflight, 1);
}

void
store_leave(bg_store *s)
{
    int64_t now = bg_monotonic_ms();

    atomic_store(&s->progress_ms, now);
    atomic_fetch_sub(&s->inflight, 1);
    atomic_store(&process_progress_ms, now);
    atomic_fetch_sub(&process_inflight, 1);
}

bool
bg_store_call_stuck(void)
{
    int64_t since, now;

    if (atomic_load(&process_inflight) == 0)
        return false;
    since = atomic_load(&process_progress_ms);
    now = bg_monotonic_ms();
    return since != 0 && now - since >= BG_STORE_CALL_STUCK_S * 1000LL;
}

int64_t
bg_store_stalled_ms(bg_store *s, int64_t now_ms)
{
    if (atomic_load(&s->inflight) == 0)
        return 0;
    int64_t since = atomic_load(&s->progress_ms);
    if (since == 0 || now_ms <= since)
        return 0;
    return now_ms - since;
}

/* ---- retries ---------------------------------------------------------------- */

/*
 * The pause before a deadlock victim's next attempt (writers of different
 * processes, or a writer and a reader).  A pause drawn at random, its
 * ceiling doubling with each attempt, keeps the victims from colliding
 * again in step.
 */
useconds_t
store_retry_pause(int attempt)
{
    static __thread uint32_t state;
    uint32_t ceiling = 100u << (attempt < 8 ? attempt : 8);

    if (state == 0)
        state = (uint32_t)bg_monotonic_ms() ^ (uint32_t)(uintptr_t)&state ^ 0x9e3779b9u;
    state ^= state << 13; /* xorshift32: quality is not the point, spread is */
    state ^= state >> 17;
    state ^= state << 5;
    if (ceiling > RETRY_PAUSE_MAX_US)
        ceiling = RETRY_PAUSE_MAX_US;
    return (useconds_t)(ceiling / 2 + state % (ceiling / 2 + 1));
}
