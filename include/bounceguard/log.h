/*
 * log — the one logging API of bounceguard (Postfix's msg_*).
 *
 * Three logs, each a file under log_dir and/or syslog (facility mail):
 *   debug.log    every request, decision and error; off by default because it
 *                costs; switched at run time with bg_log_set_debug()
 *   warning.log  rejections, blacklistings, RBL incidents, the operator's
 *                actions (notices: reloads, block/unblock) and errors
 *   error.log    errors
 * File lines look like
 *   [07/Aug/2018 15:29:57] {bounceguard-milter[4242]} Operation failed Recipient a@b: ...
 * naming the program and its pid, as syslog does: three programs write the
 * same files, and two daemons' "debug log switched on" must be told apart.
 * Before bg_log_open() (or with no files and no syslog) lines go to stderr, so
 * a program's start-up errors are never lost.  The logger is process-wide and
 * thread-safe; bg_msg_debug() costs one atomic load when debug is off.
 */
#ifndef BOUNCEGUARD_LOG_H
#define BOUNCEGUARD_LOG_H

#include <stdbool.h>

#include "bounceguard/util.h"

typedef enum bg_log_level {
    BG_LOG_DEBUG = 0,
    BG_LOG_INFO,
    BG_LOG_NOTICE,  /* an operator's event: reload, block, unblock (warning.log) */
    BG_LOG_WARNING,
    BG_LOG_ERROR,
} bg_log_level;

typedef struct bg_log_options {
    const char *ident;   /* program name for syslog and stderr ("bounceguard-milter") */
    const char *dir;     /* log_dir; NULL or "" = no log files */
    bool use_syslog;     /* also send to syslog, facility LOG_MAIL */
    bool use_stderr;     /* also write to stderr (foreground runs) */
    bool debug;          /* initial state of the debug log */
    bool existing_only;  /* append to the files that exist, make none: a
                            program run by others (the CLI) must not make a
                            file the daemons then cannot open */
} bg_log_options;

/* Open the logs.  Errors (an unwritable log_dir) return -1 with err set; the
 * logger then keeps writing to stderr. */
int bg_log_open(const bg_log_options *opt, bg_error *err);

/* Reopen the log files (after logrotate moved them).  Safe from any thread;
 * async-signal-unsafe: call it from a signal-waiting thread, not a handler. */
int bg_log_reopen(bg_error *err);

void bg_log_close(void);

void bg_log(bg_log_level level, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);

void bg_log_set_debug(bool on);
bool bg_log_debug_enabled(void);

/* Debug lines cost nothing (no formatting) while debug is off. */
#define bg_msg_debug(...)                                                                \
    do {                                                                                \
        if (bg_log_debug_enabled())                                                     \
            bg_log(BG_LOG_DEBUG, __VA_ARGS__);                                          \
    } while (0)
#define bg_msg_info(...) bg_log(BG_LOG_INFO, __VA_ARGS__)
#define bg_msg_notice(...) bg_log(BG_LOG_NOTICE, __VA_ARGS__)
#define bg_msg_warn(...) bg_log(BG_LOG_WARNING, __VA_ARGS__)
#define bg_msg_error(...) bg_log(BG_LOG_ERROR, __VA_ARGS__)

#endif
