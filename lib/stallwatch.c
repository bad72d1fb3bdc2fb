/*
 * stallwatch.c — see include/bounceguard/stallwatch.h.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "bounceguard/stallwatch.h"

/* Samples per idle period: a stall is found between idle_s and 5/4 idle_s. */
#define STALLWATCH_SAMPLES 4
/* Less CPU than a third of a percent of a core between two samples (50 ms
 * in the 15 s of the programs' 60 s watch) is no progress.  Not "none at
 * all": Berkeley DB waits for some things by polling (DB->close waited for
 * a page a killed process had pinned in memp_sync's yield loop, a few
 * wakeups a second, for 11 minutes in faults.sh), and a bounded wait of
 * ours polls too.  A share of the period, not a fixed amount: a working
 * process on a saturated machine gets a few percent of a core, and a short
 * watch must not take that for a stall. */
#define STALLWATCH_MIN_CPU_SHARE 300

static void (*watch_handler)(void);
static bool (*volatile watch_probe)(void);
static volatile sig_atomic_t idle_samples;
static long long last_cpu_ns = -1;
static long long min_cpu_ns; /* progress between two samples */

static long long
cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
        return -1;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
on_alarm(int sig)
{
    int saved = errno;
    long long now = cpu_ns();

    bool (*stuck)(void) = watch_probe;

    (void)sig;
    if (stuck != NULL && stuck() && watch_handler != NULL) {
        watch_handler();
    } else if (now < 0 || last_cpu_ns < 0 || now - last_cpu_ns >= min_cpu_ns) {
        last_cpu_ns = now;
        idle_samples = 0;
    } else if (++idle_samples >= STALLWATCH_SAMPLES && watch_handler != NULL) {
        watch_handler();
    }
    errno = saved;
}

int
bg_stallwatch_start(unsigned idle_s, void (*on_stall)(void))
{
    struct sigaction sa;
    struct itimerval it;
    long long period_ms = (long long)(idle_s ? idle_s : 1) * 1000 / STALLWATCH_SAMPLES;

    watch_handler = on_stall;
    min_cpu_ns = period_ms * 1000000LL / STALLWATCH_MIN_CPU_SHARE;
    idle_samples = 0;
    last_cpu_ns = cpu_ns();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        return -1;
    memset(&it, 0, sizeof(it));
    it.it_interval.tv_sec = period_ms / 1000;
    it.it_interval.tv_usec = (period_ms % 1000) * 1000;
    it.it_value = it.it_interval;
    return setitimer(ITIMER_REAL, &it, NULL);
}

void
bg_stallwatch_probe(bool (*stuck)(void))
{
    watch_probe = stuck;
}

void
bg_stallwatch_stop(void)
{
    struct itimerval it;

    memset(&it, 0, sizeof(it));
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
    watch_handler = NULL;
}
