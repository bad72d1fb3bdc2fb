/*
 * intake.h — what the intake subcommands of bounceguard-dsn (pipe, maildir,
 * log) share: the config, the logs and the store of one run, signals, the
 * run-time debug switch, bounded reading, and "one message in, learned".
 *
 * The decisions (what a bounce means, whom it blacklists) are in the library
 * (bounceguard/learn.h); these helpers only move bytes and report.
 */
#ifndef BOUNCEGUARD_DSN_INTAKE_H
#define BOUNCEGUARD_DSN_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/config.h"
#include "bounceguard/learn.h"
#include "bounceguard/pidfile.h"
#include "bounceguard/store.h"
#include "dsn.h"

/* The largest message an intake accepts (a bounce is a few KB; its returned
 * original may be big, but 50 MB is beyond any real MTA's size limit). */
#define INTAKE_MAX_MESSAGE (50u * 1024 * 1024)

/* sysexits(3) codes used by pipe (and for "store unavailable" elsewhere). */
#define INTAKE_EX_DATAERR 65
#define INTAKE_EX_SOFTWARE 70
#define INTAKE_EX_TEMPFAIL 75
#define INTAKE_EX_CONFIG 78

dsn_command_fn dsn_cmd_pipe;
dsn_command_fn dsn_cmd_maildir;
dsn_command_fn dsn_cmd_log;

typedef struct intake {
    const dsn_ctx *ctx;
    const char *ident; /* "bounceguard-dsn" */
    bg_config *cfg;
    bg_store *st;        /* NULL until intake_store() succeeds */
    int64_t next_upkeep; /* when to re-read the debug switch */
    bool store_failing;  /* the last open failed (log once per change) */
    struct bg_pidfile *pid_file; /* --pid-file, locked while running */
} intake;

/*
 * Load the config (-c FILE, or the default file, missing allowed only when
 * -c was not given), take the pid file pid_path (NULL = none) and open the
 * logs.  Returns 0; -2 when a live process holds the pid file; -1 otherwise;
 * either after printing why in one line on stderr.
 */
int intake_start(intake *in, const dsn_ctx *ctx, const char *pid_path);

/*
 * A run blocked in the store (in a Berkeley DB mutex that a process killed
 * inside it held: no failchk or recovery wakes it) must not hang the MTA's
 * delivery or a follower for ever.  From intake_start on, a run that uses no
 * CPU for INTAKE_STALL_S seconds, or whose one call into the store has not
 * ended in BG_STORE_CALL_STUCK_S (a wait that polls), writes one line to stderr and exits
 * INTAKE_EX_TEMPFAIL (the MTA retries; systemd restarts a follower; what was
 * committed is whole, a retry counts once).  A follower calls intake_idle()
 * before it waits for input by design and intake_busy() after.
 */
#define INTAKE_STALL_S 60
void intake_busy(void);
void intake_idle(void);

/* Open the store if it is not open.  Returns 0, or -1 (logged as an error
 * once, until it opens again). */
int intake_store(intake *in);

/* Close everything (store, config, logs, pid file). */
void intake_finish(intake *in);

/*
 * Install the handlers: SIGTERM and SIGINT ask the run to stop, SIGUSR1 asks
 * for the logs to be reopened and the config reloaded.  No SA_RESTART, so a
 * blocking poll() or read() returns EINTR and the loop sees the request.
 */
void intake_signals(void);
bool intake_stopping(void);

/* Act on the requests of signals (SIGUSR1) and, every few seconds, on the
 * store's run-time debug switch (meta "debug" = on/off).  Cheap to call
 * often. */
void intake_upkeep(intake *in, int64_t now);

/*
 * Read all of fd into out, at most `limit` bytes.  Returns 0; 1 when the
 * input was longer than limit (out holds the first limit bytes, the rest was
 * read and thrown away so that the writer never sees a broken pipe); -1 on a
 * read error (err set).
 */
int intake_read_fd(int fd, size_t limit, bg_buf *out, bg_error *err);

/*
 * Parse one message and learn its bounce.  what names the message in logs
 * (a file name, "stdin").  A message that is not a bounce, or not readable
 * at all, is logged and acknowledged (returns 0).  Returns 0 when done, or
 * -1 when the store is unavailable or failed (nothing committed: retry
 * later).  report_out (may be NULL) gets the parsed report (the caller frees
 * it with bg_dsn_report_free), or NULL.  res_out (may be NULL) gets the
 * learn result (zeroed when nothing was learned; release it with
 * bg_learn_result_clear).
 */
int intake_message(intake *in, const char *msg, size_t len, const char *what,
                   const bg_learn_source *src, bg_dsn_report **report_out,
                   bg_learn_result *res_out);

/* Seconds since the epoch. */
int64_t intake_now(void);

#endif
