/*
 * stallwatch — tells a short-lived program that it has stopped moving.
 *
 * Berkeley DB's mutexes live in the store's shared regions.  A process
 * SIGKILLed while it holds one never releases it, and another process
 * already waiting for it waits for ever: failchk and recovery let the
 * others go on, but cannot wake a thread blocked in that mutex.  A process
 * blocked there uses no CPU at all, while one that works (or waits with a
 * bound: a recovery, a deadlock retry) always uses some.  The watch samples
 * this process's CPU time on a timer and calls the program's handler when it
 * did not advance for idle_s seconds; what to do then (one line and an exit
 * status the caller understands) is the program's decision.
 */
#ifndef BOUNCEGUARD_STALLWATCH_H
#define BOUNCEGUARD_STALLWATCH_H

#include <stdbool.h>

/*
 * Start the watch: every idle_s / 4 seconds (SIGALRM, SA_RESTART) compare
 * the process's CPU time with the last sample; after idle_s seconds without
 * 50 ms of CPU per quarter, call on_stall from the signal handler, so it may do
 * only what is async-signal-safe (write(2), _exit(2)).  A program that sleeps
 * by design (waits for input from a terminal) must not start it.  One watch
 * per process; starting it again restarts it.  Returns 0, or -1 when the
 * timer cannot be set (errno set).
 */
int bg_stallwatch_start(unsigned idle_s, void (*on_stall)(void));

/*
 * A second sign, for a wait that burns CPU: Berkeley DB waits for some
 * things by polling (memp_sync's yield loop), and a loop that polls fast
 * enough would stay above the CPU mark for ever.  stuck is called at each
 * sample, from the signal handler (so it may only read atomics and clocks),
 * and returns true when the program's own measure says its work has not
 * moved for too long (a call into the store under way for minutes); the
 * handler is then called as for a process without CPU.  NULL removes it;
 * bg_stallwatch_stop keeps it for the next start.
 */
void bg_stallwatch_probe(bool (*stuck)(void));

/* Stop the watch (its timer and its handler).  Safe when not started. */
void bg_stallwatch_stop(void);

#endif
