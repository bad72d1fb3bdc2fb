/*
 * log_cmd.c — `bounceguard-dsn log FILE [--follow] [--from-start]`: learn the
 * synchronous bounces of the relay from its MTA's log (Postfix status=bounced
 * lines, Sendmail dsn=5.x.x / stat= lines; bounceguard/mtalog.h).  Only the
 * delivery records of the configured tags (log_syslog_names,
 * log_delivery_agents) are read, and a bounce counts only for a message the
 * milter recorded (log_trust, bg_learn_log_event).
 *
 * Position: the offset reached is kept in the store (meta "logpos:PATH" =
 * "INODE:OFFSET"), written after the lines it covers are learned.  A restart
 * continues there; lines read twice after a crash between the two writes are
 * not counted twice, because each learned line is marked seen
 * (bg_learn_log_event).  With no saved position the follower starts at the
 * end of the file (like tail -f), or at its beginning with --from-start.
 *
 * Rotation: when FILE is renamed and a new one created (logrotate, postfix
 * logrotate), the rest of the old file is read, then the new one from 0; a
 * file truncated in place (copytruncate) is read again from 0.  When the
 * inode changed while the follower was not running, FILE.0 / FILE.1 with the
 * saved inode is finished first.
 *
 * Lines longer than LINE_MAX_BYTES are cut (the rest of the line skipped).
 * A line is learned only once it is complete (ends in a newline).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounceguard/log.h"
#include "bounceguard/mtalog.h"
#include "intake.h"

#define LINE_MAX_BYTES (64 * 1024)
#define POLL_MS 300

typedef struct follower {
    intake *in;
    char *path; /* absolute path of FILE */
    char *key;  /* "logpos:" + path */
    int fd;
    ino_t ino;
    off_t off; /* offset of the first byte not yet learned */
    off_t saved_off;
    ino_t saved_ino;
    bg_buf pending; /* bytes read after off, not yet a whole line */
    bool skipping;  /* inside an over-long line: drop until newline */
    unsigned learned, blacklisted;
} follower;

static int
save_pos(follower *f)
{
    char v[64];
    bg_error err;

    if (f->off == f->saved_off && f->ino == f->saved_ino)
        return 0;
    snprintf(v, sizeof(v), "%ju:%jd", (uintmax_t)f->ino, (intmax_t)f->off);
    if (intake_store(f->in) < 0)
        return -1;
    if (bg_store_meta_put(f->in->st, f->key, v, &err) < 0) {
        bg_msg_error("log %s: cannot save the position: %s", f->path, err.msg);
        return -1;
    }
    f->saved_off = f->off;
    f->saved_ino = f->ino;
    return 0;
}

/* Learn one line.  Returns 0, or -1 when the store failed (retry it). */
static int
learn_line(follower *f, const char *line, size_t len)
{
    const bg_config *cfg = f->in->cfg;
    bg_mtalog_names names = {(const char *const *)cfg->log_syslog_names.items,
                             cfg->log_syslog_names.count,
                             (const char *const *)cfg->log_delivery_agents.items,
                             cfg->log_delivery_agents.count};
    bg_mtalog_event ev;
    bg_learn_result res;
    bg_error err;
    int64_t now = intake_now();

    if (bg_mtalog_parse(line, len, now, &names, &ev) != 1 ||
        (ev.kind != BG_MTALOG_BOUNCED && ev.kind != BG_MTALOG_DEFERRED))
        return 0;
    if (intake_store(f->in) < 0)
        return -1;
    if (bg_learn_log_event(f->in->st, f->in->cfg, &ev, now, &res, &err) < 0) {
        bg_msg_error("log %s: cannot record the bounce of %s (%s), will retry: %s",
                     f->path, ev.recipient, ev.queue_id, err.msg);
        return -1;
    }
    if (!res.duplicate && res.nrcpts > 0 &&
        (ev.kind == BG_MTALOG_BOUNCED || res.incidents > 0)) {
        f->learned++;
        f->blacklisted += res.blacklisted;
        bg_msg_debug("log %s: %s to=<%s> %s %s -> %s", f->path, ev.queue_id, ev.recipient,
                     res.rcpts[0].status, res.rcpts[0].reason,
                     bg_learn_outcome_name(res.rcpts[0].outcome));
    }
    bg_learn_result_clear(&res);
    return 0;
}

/*
 * Learn the whole lines in pending; f->off moves past each one.  On a store
 * failure, the unlearned rest is dropped and the file position set back to
 * f->off, so that it is read again.  Returns 0 or -1.
 */
static int
drain_pending(follower *f)
{
    size_t start = 0;

    for (;;) {
        const char *base = f->pending.s + start;
        size_t avail = f->pending.len - start;
        const char *nl = avail ? memchr(base, '\n', avail) : NULL;
        size_t len;

        if (nl == NULL) {
            if (avail < LINE_MAX_BYTES || f->skipping)
                break;
            /* an over-long line: learn its head, skip the rest */
            len = LINE_MAX_BYTES;
            if (learn_line(f, base, len) < 0)
                goto failed;
            f->skipping = true;
            f->off += (off_t)avail;
            start += avail;
            continue;
        }
        len = (size_t)(nl - base);
        if (!f->skipping && learn_line(f, base, len) < 0)
            goto failed;
        f->skipping = false;
        f->off += (off_t)len + 1;
        start += len + 1;
    }
    if (f->skipping) { /* still inside the long line: nothing of it is kept */
        f->off += (off_t)(f->pending.len - start);
        start = f->pending.len;
    }
    memmove(f->pending.s, f->pending.s + start, f->pending.len - start);
    f->pending.len -= start;
    if (f->pending.s)
        f->pending.s[f->pending.len] = '\0';
    return 0;

failed:
    bg_buf_reset(&f->pending);
    f->skipping = false;
    if (lseek(f->fd, f->off, SEEK_SET) < 0)
        bg_msg_error("log %s: seek: %s", f->path, strerror(errno));
    return -1;
}

/* Read fd to its end.  Returns 0, or -1 when the store failed. */
static int
read_to_end(follower *f)
{
    char chunk[65536];

    for (;;) {
        ssize_t n = read(f->fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR) {
                if (intake_stopping())
                    return 0;
                continue;
            }
            bg_msg_error("log %s: read: %s", f->path, strerror(errno));
            return 0;
        }
        if (n == 0)
            return 0;
        bg_buf_append(&f->pending, chunk, (size_t)n);
        if (drain_pending(f) < 0)
            return -1;
        if (save_pos(f) < 0)
            return -1;
        intake_upkeep(f->in, intake_now());
        if (intake_stopping())
            return 0;
    }
}

static int
open_at(follower *f, const char *path, off_t off)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0 || lseek(fd, off, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->ino = sb.st_ino;
    f->off = off;
    bg_buf_reset(&f->pending);
    f->skipping = false;
    return 0;
}

/* The inode changed while we were away: finish the rotated file first. */
static void
finish_rotated(follower *f, ino_t ino, off_t off)
{
    static const char *const suffixes[] = {".0", ".1"};

    for (size_t i = 0; i < 2; i++) {
        char *old = bg_xasprintf("%s%s", f->path, suffixes[i]);
        struct stat sb;
        if (stat(old, &sb) == 0 && sb.st_ino == ino && off <= sb.st_size &&
            open_at(f, old, off) == 0) {
            bg_msg_info("log %s: finishing the rotated %s from offset %jd", f->path, old,
                        (intmax_t)off);
            read_to_end(f);
            free(old);
            return;
        }
        free(old);
    }
}

/* Open FILE where the saved position (or the options) says. */
static int
start(follower *f, bool from_start)
{
    char v[64];
    bg_error err;
    struct stat sb;
    uintmax_t ino = 0;
    intmax_t off = 0;
    bg_lookup l;

    if (stat(f->path, &sb) < 0)
        return -1;
    if (intake_store(f->in) < 0)
        return -2;
    l = bg_store_meta_get(f->in->st, f->key, v, sizeof(v), &err);
    if (l == BG_LOOKUP_ERROR) {
        bg_msg_error("log %s: cannot read the saved position: %s", f->path, err.msg);
        return -2;
    }
    if (l == BG_FOUND && sscanf(v, "%ju:%jd", &ino, &off) == 2 && off >= 0) {
        f->saved_ino = (ino_t)ino;
        f->saved_off = (off_t)off;
        if ((ino_t)ino != sb.st_ino) {
            finish_rotated(f, (ino_t)ino, (off_t)off);
            off = 0;
        } else if ((off_t)off > sb.st_size) {
            bg_msg_info("log %s: shorter than the saved position, truncated: from 0",
                        f->path);
            off = 0;
        }
    } else {
        off = from_start ? 0 : (intmax_t)sb.st_size;
    }
    if (open_at(f, f->path, (off_t)off) < 0)
        return -1;
    bg_msg_info("log %s: reading from offset %jd", f->path, off);
    return save_pos(f) < 0 ? -2 : 0;
}

/* At the end of the file: was it rotated or truncated?  Reopens if so. */
static void
check_rotation(follower *f)
{
    struct stat now_sb, fd_sb;

    if (stat(f->path, &now_sb) < 0)
        return; /* between the rename and the new file: try again later */
    if (now_sb.st_ino != f->ino) {
        read_to_end(f); /* the last lines written to the old file */
        if (open_at(f, f->path, 0) == 0) {
            bg_msg_info("log %s: rotated, following the new file", f->path);
            save_pos(f);
        }
        return;
    }
    if (fstat(f->fd, &fd_sb) == 0 && fd_sb.st_size < f->off) {
        bg_msg_info("log %s: truncated, reading again from 0", f->path);
        if (lseek(f->fd, 0, SEEK_SET) == 0) {
            f->off = 0;
            bg_buf_reset(&f->pending);
            f->skipping = false;
            save_pos(f);
        }
    }
}

static void
nap(int ms)
{
    intake_idle(); /* waiting for the log is no stall */
    poll(NULL, 0, ms); /* returns early on a signal */
    intake_busy();
}

static int
follow(follower *f, bool from_start)
{
    int started = start(f, from_start);

    while (started < 0 && !intake_stopping()) {
        /* the file or the store is not there yet: wait for them */
        nap(1000);
        intake_upkeep(f->in, intake_now());
        started = start(f, from_start);
    }
    while (!intake_stopping()) {
        if (read_to_end(f) < 0) {
            nap(2000); /* the store failed: retry from f->off */
            continue;
        }
        intake_upkeep(f->in, intake_now());
        check_rotation(f);
        nap(POLL_MS);
    }
    save_pos(f);
    return DSN_EXIT_OK;
}

static void
log_usage(FILE *fp)
{
    fprintf(fp, "usage: bounceguard-dsn [-c FILE] log FILE [--follow] [--from-start] "
                "[--pid-file FILE]\n");
}

int
dsn_cmd_log(const dsn_ctx *ctx, int argc, char **argv)
{
    const char *file = NULL, *pid_path = NULL;
    bool follow_mode = false, from_start = false;
    follower f;
    intake in;
    char real[PATH_MAX];
    int rc = DSN_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            log_usage(stdout);
            return DSN_EXIT_OK;
        } else if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            follow_mode = true;
        else if (strcmp(argv[i], "--from-start") == 0)
            from_start = true;
        else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc)
            pid_path = argv[++i];
        else if (argv[i][0] != '-' && file == NULL)
            file = argv[i];
        else {
            log_usage(stderr);
            return DSN_EXIT_USAGE;
        }
    }
    if (file == NULL || (pid_path && !follow_mode)) {
        log_usage(stderr);
        return DSN_EXIT_USAGE;
    }
    if ((rc = intake_start(&in, ctx, pid_path)) < 0)
        return rc == -2 ? DSN_EXIT_FAIL : DSN_EXIT_CONFIG;
    intake_signals();
    memset(&f, 0, sizeof(f));
    f.in = &in;
    f.fd = -1;
    bg_buf_init(&f.pending);
    /* the key must not depend on the working directory */
    if (realpath(file, real) != NULL)
        f.path = bg_xstrdup(real);
    else if (file[0] != '/' && getcwd(real, sizeof(real)) != NULL)
        f.path = bg_xasprintf("%s/%s", real, file);
    else
        f.path = bg_xstrdup(file);
    f.key = bg_xasprintf("logpos:%s", f.path);
    intake_store(&in);
    intake_upkeep(&in, intake_now());

    if (follow_mode) {
        rc = follow(&f, from_start);
    } else {
        int s = start(&f, from_start);
        if (s == -1) {
            bg_msg_error("log %s: cannot open: %s", f.path, strerror(errno));
            fprintf(stderr, "bounceguard-dsn log: cannot open %s: %s\n", f.path,
                    strerror(errno));
            rc = DSN_EXIT_FAIL;
        } else if (s < 0 || read_to_end(&f) < 0) {
            rc = DSN_EXIT_FAIL;
        }
    }
    bg_msg_info(
        "log %s: %u bounce line(s) learned, %u recipient(s) blacklisted, at offset "
        "%jd",
        f.path, f.learned, f.blacklisted, (intmax_t)f.off);
    if (f.fd >= 0)
        close(f.fd);
    bg_buf_free(&f.pending);
    free(f.path);
    free(f.key);
    intake_finish(&in);
    return rc;
}
