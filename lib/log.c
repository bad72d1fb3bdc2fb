/*
 * log.c — see include/bounceguard/log.h.
 *
 * One mutex guards the file handles; lines are written whole with one fputs +
 * fflush so that concurrent threads and processes never interleave inside a
 * line (the files are opened O_APPEND).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/log.h"

enum { LOGF_DEBUG, LOGF_WARNING, LOGF_ERROR, LOGF_COUNT };

static const char *const log_file_names[LOGF_COUNT] = {"debug.log", "warning.log",
                                                       "error.log"};

static struct {
    pthread_mutex_t lock;
    FILE *files[LOGF_COUNT];
    char dir[1024];
    char ident[64];
    bool use_syslog;
    bool use_stderr;
    bool existing_only;
    bool opened;
} logger = {.lock = PTHREAD_MUTEX_INITIALIZER, .ident = "bounceguard"};

static atomic_bool debug_on;

/* Open dir/name to append; with existing_only a missing file is no error
 * (NULL, err untouched: *missing set). */
static FILE *
open_append(const char *dir, const char *name, bool existing_only, bool *missing,
            bg_error *err)
{
    char path[1200];
    int fd;
    FILE *fp;

    *missing = false;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (existing_only ? 0 : O_CREAT), 0640);
    if (fd < 0 && existing_only && errno == ENOENT) {
        *missing = true;
        return NULL;
    }
    if (fd < 0) {
        bg_error_set(err, "cannot open log file %s: %s", path, strerror(errno));
        return NULL;
    }
    fp = fdopen(fd, "a");
    if (fp == NULL) {
        close(fd);
        bg_error_set(err, "cannot open log file %s: %s", path, strerror(errno));
    }
    return fp;
}

static void
close_files(void)
{
    for (int i = 0; i < LOGF_COUNT; i++) {
        if (logger.files[i])
            fclose(logger.files[i]);
        logger.files[i] = NULL;
    }
}

static int
open_files(bg_error *err)
{
    if (logger.dir[0] == '\0')
        return 0;
    for (int i = 0; i < LOGF_COUNT; i++) {
        bool missing;
        logger.files[i] =
            open_append(logger.dir, log_file_names[i], logger.existing_only, &missing, err);
        if (logger.files[i] == NULL && !missing) {
            close_files();
            return -1;
        }
    }
    return 0;
}

int
bg_log_open(const bg_log_options *opt, bg_error *err)
{
    int rc;

    pthread_mutex_lock(&logger.lock);
    close_files();
    bg_strlcpy(logger.ident, opt->ident ? opt->ident : "bounceguard", sizeof(logger.ident));
    if (opt->dir && bg_strlcpy(logger.dir, opt->dir, sizeof(logger.dir)) >= sizeof(logger.dir)) {
        logger.dir[0] = '\0';
        pthread_mutex_unlock(&logger.lock);
        return bg_error_set(err, "log_dir is too long (%zu bytes at most)",
                            sizeof(logger.dir) - 1);
    }
    if (opt->dir == NULL)
        logger.dir[0] = '\0';
    logger.use_syslog = opt->use_syslog;
    logger.use_stderr = opt->use_stderr;
    logger.existing_only = opt->existing_only;
    if (logger.use_syslog)
        openlog(logger.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
    rc = open_files(err);
    if (rc < 0)
        logger.dir[0] = '\0';
    logger.opened = true;
    pthread_mutex_unlock(&logger.lock);
    atomic_store(&debug_on, opt->debug);
    return rc;
}

int
bg_log_reopen(bg_error *err)
{
    int rc;

    pthread_mutex_lock(&logger.lock);
    close_files();
    rc = open_files(err);
    pthread_mutex_unlock(&logger.lock);
    return rc;
}

void
bg_log_close(void)
{
    pthread_mutex_lock(&logger.lock);
    close_files();
    if (logger.use_syslog)
        closelog();
    logger.opened = false;
    logger.dir[0] = '\0';
    pthread_mutex_unlock(&logger.lock);
}

void
bg_log_set_debug(bool on)
{
    atomic_store(&debug_on, on);
}

bool
bg_log_debug_enabled(void)
{
    return atomic_load_explicit(&debug_on, memory_order_relaxed);
}

static void
write_line(FILE *fp, const char *line)
{
    if (fp) {
        fputs(line, fp);
        fflush(fp);
    }
}

void
bg_log(bg_log_level level, const char *fmt, ...)
{
    static const int syslog_prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};
    static const char *const level_tag[] = {"debug", "info", "notice", "warning", "error"};
    char msg[2048], safe[2048], stamp[64], line[2200];
    struct tm tm;
    time_t now;
    va_list ap;

    if (level == BG_LOG_DEBUG && !bg_log_debug_enabled())
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Text from the network may carry CR/LF: one event must stay one line. */
    bg_sanitize_line(safe, sizeof(safe), msg, sizeof(safe) - 1);

    now = time(NULL);
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%d/%b/%Y %H:%M:%S", &tm);
    pthread_mutex_lock(&logger.lock);
    snprintf(line, sizeof(line), "[%s] {%s[%ld]} %s\n", stamp, logger.ident, (long)getpid(),
             safe);
    bool any_file = logger.dir[0] != '\0';
    if (any_file) {
        if (bg_log_debug_enabled())
            write_line(logger.files[LOGF_DEBUG], line);
        if (level >= BG_LOG_NOTICE)
            write_line(logger.files[LOGF_WARNING], line);
        if (level >= BG_LOG_ERROR)
            write_line(logger.files[LOGF_ERROR], line);
    }
    if (logger.use_syslog)
        syslog(syslog_prio[level], "%s", safe);
    if (logger.use_stderr || (!any_file && !logger.use_syslog && level >= BG_LOG_WARNING))
        fprintf(stderr, "%s: %s: %s\n", logger.ident, level_tag[level], safe);
    pthread_mutex_unlock(&logger.lock);
}
