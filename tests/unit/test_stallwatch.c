/*
 * test_stallwatch — a process blocked for ever (as in a mutex of a process
 * killed inside the store) is told so; one that works is left alone.  Each
 * case runs in a child, since the watch owns SIGALRM and ends the process.
 */
#include <check.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/stallwatch.h"
#include "bounceguard/store.h"
#include "bounceguard/util.h"

static void
stalled(void)
{
    _exit(42);
}

/* Run body in a child with a watch of idle_s; its exit status. */
static int
in_child(unsigned idle_s, void (*body)(void))
{
    int status;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bg_stallwatch_start(idle_s, stalled);
        body();
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void
block_forever(void)
{
    /* A mutex its owner (this thread) never releases: a plain one deadlocks. */
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&m);
    pthread_mutex_lock(&m);
}

/* Busy for three seconds of the clock (not of CPU: on a saturated machine
 * the process gets a few percent of a core, and is still working). */
static void
work_three_seconds(void)
{
    volatile unsigned long x = 0;
    int64_t until = bg_monotonic_ms() + 3000;

    while (bg_monotonic_ms() < until)
        x++;
}

static void
wait_then_stop(void)
{
    sleep(1);
    bg_stallwatch_stop();
    sleep(2);
}

/* Told within its own idle period, not the programs' default of 60 s.  The
 * bound is loose on purpose: a loaded machine delays a forked child by
 * seconds (a package build saw 5 s for the 1.25 s the watch takes). */
START_TEST(blocked_process_is_told)
{
    time_t t0 = time(NULL);

    ck_assert_int_eq(in_child(1, block_forever), 42);
    ck_assert_int_le(time(NULL) - t0, 20);
}
END_TEST

START_TEST(working_process_is_left_alone)
{
    ck_assert_int_eq(in_child(1, work_three_seconds), 0);
}
END_TEST

/* The program's own sign: work that burns CPU but whose probe says it has
 * not moved (a wait inside the store that polls) is told too. */
static bool
always_stuck(void)
{
    return true;
}

static bool
never_stuck(void)
{
    return false;
}

static void
spin_while_stuck(void)
{
    bg_stallwatch_probe(always_stuck);
    work_three_seconds();
}

static void
work_while_moving(void)
{
    bg_stallwatch_probe(never_stuck);
    work_three_seconds();
}

/* Without the probe the watch would see CPU spent and let the child end
 * with 0 after its three seconds of work. */
START_TEST(spinning_process_its_probe_calls_stuck_is_told)
{
    ck_assert_int_eq(in_child(1, spin_while_stuck), 42);
}
END_TEST

START_TEST(probe_that_sees_progress_changes_nothing)
{
    ck_assert_int_eq(in_child(1, work_while_moving), 0);
}
END_TEST

/* Nothing in flight is never stuck, whatever the time since the last call. */
START_TEST(no_store_call_is_not_stuck)
{
    ck_assert(!bg_store_call_stuck());
}
END_TEST

START_TEST(stopped_watch_says_nothing)
{
    ck_assert_int_eq(in_child(1, wait_then_stop), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("stallwatch");
    TCase *tc = tcase_create("watch");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, blocked_process_is_told);
    tcase_add_test(tc, working_process_is_left_alone);
    tcase_add_test(tc, stopped_watch_says_nothing);
    tcase_add_test(tc, spinning_process_its_probe_calls_stuck_is_told);
    tcase_add_test(tc, probe_that_sees_progress_changes_nothing);
    tcase_add_test(tc, no_store_call_is_not_stuck);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
