/*
 * intake.c — see dsn/intake.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/reply_rules.h"
#include "bounceguard/pidfile.h"
#include "bounceguard/privs.h"
#include "bounceguard/stallwatch.h"
#include "bounceguard/dsn.h"
#include "bounceguard/log.h"
#include "intake.h"

/* Seconds between two runs of the upkeep: failchk (and a checkpoint when
 * one is due), the debug switch. */
#define UPKEEP_INTERVAL BG_STORE_FAILCHK_S

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

int64_t
intake_now(void)
{
    return (int64_t)time(NULL);
}

static void
on_signal(int sig)
{
    if (sig == SIGUSR1)
        reload_requested = 1;
    else
        stop_requested = 1;
}

void
intake_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool
intake_stopping(void)
{
    return stop_requested != 0;
}

static int
open_logs(const bg_config *cfg, bg_error *err)
{
    bg_log_options lo = {.ident = "bounceguard-dsn",
                         .dir = cfg->log_dir,
                         .use_syslog = cfg->syslog,
                         .debug = cfg->debug};

    return bg_log_open(&lo, err);
}

/*
 * One follower per pid file: the file is made and locked (flock) for the
 * process's life before anything else, so that a second follower of the
 * same log or maildir stops in one line instead of learning every line
 * twice and moving the saved position under the first one's feet.
 */
static int
take_pid_file(intake *in, const char *path, const bg_privs_user *u)
{
    bg_error err;
    long holder;

    mode_t old = umask(022);
    in->pid_file = bg_pidfile_open(path, u, (long)getpid(), &holder, &err);
    umask(old);
    if (in->pid_file == NULL) {
        fprintf(stderr, "bounceguard-dsn: %s\n", err.msg);
        return holder >= 0 ? -2 : -1;
    }
    return 0;
}

int
intake_start(intake *in, const dsn_ctx *ctx, const char *pid_path)
{
    bg_error err;
    int r;

    memset(in, 0, sizeof(*in));
    in->ctx = ctx;
    in->ident = "bounceguard-dsn";
    in->cfg = bg_config_load(ctx->config_path, !ctx->config_given, &err);
    if (in->cfg == NULL) {
        fprintf(stderr, "bounceguard-dsn: %s\n", err.msg);
        return -1;
    }
    bg_reply_rules_use(in->cfg->reply_rules);
    /* Run as root (a follower started by systemd), become the store's user
     * first, so that the files Berkeley DB makes stay usable by the milter. */
    bg_privs_user u;
    /* An account that does not exist: go on as this user (as before). */
    int become = bg_privs_target(in->cfg->user, &u, &err);
    if (pid_path && (r = take_pid_file(in, pid_path, become > 0 ? &u : NULL)) < 0) {
        in->cfg = bg_config_unref(in->cfg);
        return r;
    }
    if (become > 0 && (bg_privs_prepare_dir(&u, in->cfg->db_home, &err) < 0 ||
                       bg_privs_become(&u, &err) < 0)) {
        fprintf(stderr, "bounceguard-dsn: %s\n", err.msg);
        in->pid_file = bg_pidfile_close(in->pid_file);
        in->cfg = bg_config_unref(in->cfg);
        return -1;
    }
    if (open_logs(in->cfg, &err) < 0)
        fprintf(stderr, "bounceguard-dsn: %s (logging to stderr)\n", err.msg);
    intake_busy();
    return 0;
}

/* The line and the exit of a run blocked in the store (bg_stallwatch). */
static void
on_stall(void)
{
    static const char line[] = "bounceguard-dsn: the store stopped answering (a process was "
                               "killed inside it); exiting with EX_TEMPFAIL\n";

    if (write(STDERR_FILENO, line, sizeof(line) - 1) < 0) {
        /* the exit status says it */
    }
    _exit(INTAKE_EX_TEMPFAIL);
}

void
intake_busy(void)
{
    bg_stallwatch_probe(bg_store_call_stuck);
    bg_stallwatch_start(INTAKE_STALL_S, on_stall);
}

void
intake_idle(void)
{
    bg_stallwatch_stop();
}

int
intake_store(intake *in)
{
    bg_error err;

    if (in->st)
        return 0;
    in->st = bg_store_open_config(in->cfg, BG_STORE_CREATE, &err);
    if (in->st == NULL) {
        if (!in->store_failing)
            bg_msg_error("store unavailable: %s", err.msg);
        in->store_failing = true;
        return -1;
    }
    if (in->store_failing)
        bg_msg_info("store %s is available again", in->cfg->db_home);
    in->store_failing = false;
    return 0;
}

void
intake_finish(intake *in)
{
    if (in->pid_file) {
        bg_error err;
        /* Only a pid file that is still this process's own goes; in a
         * directory of root's after the switch to the user, it stays
         * (locked by nobody, taken over by the next start). */
        if (bg_pidfile_remove(in->pid_file, &err) < 0)
            bg_msg_debug("%s", err.msg);
        in->pid_file = bg_pidfile_close(in->pid_file);
    }
    in->st = bg_store_close(in->st);
    bg_reply_rules_use(NULL);
    in->cfg = bg_config_unref(in->cfg);
    bg_log_close();
}

static void
reload(intake *in)
{
    bg_error err;
    bg_config *fresh = bg_config_load(in->ctx->config_path, !in->ctx->config_given, &err);

    if (fresh == NULL) {
        bg_msg_error("reload refused, keeping the running config: %s", err.msg);
    } else {
        /* the store stays where it was opened: db_home needs a restart */
        bg_reply_rules_use(fresh->reply_rules);
        in->cfg = bg_config_unref(in->cfg);
        in->cfg = fresh;
        if (open_logs(in->cfg, &err) < 0)
            bg_msg_error("cannot open logs: %s", err.msg);
        bg_msg_notice("config %s reloaded, logs reopened", in->ctx->config_path);
        return;
    }
    if (bg_log_reopen(&err) < 0)
        bg_msg_error("cannot reopen logs: %s", err.msg);
}

void
intake_upkeep(intake *in, int64_t now)
{
    if (reload_requested) {
        reload_requested = 0;
        reload(in);
    }
    if (now < in->next_upkeep || in->st == NULL)
        return;
    in->next_upkeep = now + UPKEEP_INTERVAL;
    {
        /* This process's housekeeping runs in its only thread, between two
         * messages or lines: failchk, then a checkpoint if due. */
        bg_error err;
        int r = bg_store_maintain(in->st, BG_STORE_CHECKPOINT_S, &err);
        if (r < 0)
            bg_msg_error("store upkeep: %s", err.msg);
        else if (r == BG_STORE_RECOVERED)
            bg_msg_warn("store %s recovered after a process failed inside it",
                        in->cfg->db_home);
    }
    {
        char v[16];
        bg_error err;
        bg_lookup l = bg_store_meta_get(in->st, "debug", v, sizeof(v), &err);
        if (l == BG_FOUND) {
            bool on = strcmp(v, "on") == 0;
            if (on != bg_log_debug_enabled()) {
                bg_log_set_debug(on);
                bg_msg_notice("debug log switched %s", on ? "on" : "off");
            }
        } else if (l == BG_LOOKUP_ERROR) {
            bg_msg_debug("cannot read the debug switch: %s", err.msg);
        }
    }
}

int
intake_read_fd(int fd, size_t limit, bg_buf *out, bg_error *err)
{
    char chunk[65536];
    bool over = false;

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR && !intake_stopping())
                continue;
            return bg_error_set(err, "read: %s", strerror(errno));
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > limit) {
            size_t room = limit - out->len;
            if (room)
                bg_buf_append(out, chunk, room);
            over = true;
            continue; /* drain the rest */
        }
        bg_buf_append(out, chunk, (size_t)n);
    }
    return over ? 1 : 0;
}

static void
log_result(const char *what, const bg_dsn_report *rep, const bg_learn_result *res)
{
    if (res->duplicate) {
        bg_msg_info("%s: bounce %s was processed before, counted once", what, res->id);
        return;
    }
    bg_msg_info("%s: bounce %s (%zu recipient(s), original message %s): %u blacklisted, "
                "%u incident(s), %u ignored, %u untrusted",
                what, res->id, rep->nrcpts, res->message_found ? "found" : "not found",
                res->blacklisted, res->incidents, res->ignored, res->untrusted);
    for (size_t i = 0; i < res->nrcpts; i++)
        bg_msg_debug("%s: %s %s %s -> %s (sender %s)", what, res->rcpts[i].recipient,
                     res->rcpts[i].status, res->rcpts[i].reason,
                     bg_learn_outcome_name(res->rcpts[i].outcome),
                     res->rcpts[i].sender_id[0] ? res->rcpts[i].sender_id : "unknown");
}

int
intake_message(intake *in, const char *msg, size_t len, const char *what,
               const bg_learn_source *src, bg_dsn_report **report_out,
               bg_learn_result *res_out)
{
    bg_dsn_report *rep = NULL;
    bg_learn_result res;
    bg_error err;
    int rc = 0;

    memset(&res, 0, sizeof(res));
    if (report_out)
        *report_out = NULL;
    if (res_out)
        memset(res_out, 0, sizeof(*res_out));
    if (bg_dsn_parse(msg, len, &rep, &err) < 0) {
        bg_msg_warn("%s: not a readable message, acknowledged and dropped: %s", what,
                    err.msg);
        return 0;
    }
    if (rep->kind == BG_DSN_NONE || rep->nrcpts == 0) {
        bg_msg_warn("%s: not a bounce (%zu bytes), acknowledged", what, len);
    } else if (intake_store(in) < 0) {
        rc = -1;
    } else if (bg_learn_dsn(in->st, in->cfg, rep, msg, len, src, intake_now(), &res,
                            &err) < 0) {
        bg_msg_error("%s: cannot record the bounce, will retry: %s", what, err.msg);
        rc = -1;
    } else {
        log_result(what, rep, &res);
    }
    if (res_out)
        *res_out = res;
    else
        bg_learn_result_clear(&res);
    if (report_out)
        *report_out = rep;
    else
        bg_dsn_report_free(rep);
    return rc;
}
