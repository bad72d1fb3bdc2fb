/*
 * maildir_cmd.c — `bounceguard-dsn maildir DIR [--follow]`: learn the bounces
 * delivered into a Maildir (the bounce mailbox of the relay).
 *
 * Each message in DIR/new is parsed and learned, and moved to DIR/cur (with
 * the Seen flag, "NAME:2,S") only after its bounce is committed to the store:
 * a message left in new/ is processed again next time (never counted twice).
 * When the store is unavailable, messages stay in new/: a single pass exits 1,
 * --follow waits and retries.  Messages that are not bounces, unreadable or
 * over 50 MB are acknowledged (moved to cur/) with a log line.
 *
 * --follow watches DIR/new with inotify and runs until SIGTERM/SIGINT; it
 * also rescans every few seconds (a retry after a store failure, or an event
 * lost to a queue overflow).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounceguard/log.h"
#include "intake.h"

#define RESCAN_INTERVAL 5

typedef struct pass_stats {
    unsigned done, left;
} pass_stats;

static int
read_file(const char *path, bg_buf *out, bg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int r;

    if (fd < 0)
        return bg_error_set(err, "open %s: %s", path, strerror(errno));
    r = intake_read_fd(fd, INTAKE_MAX_MESSAGE, out, err);
    close(fd);
    return r;
}

/* Move new/NAME to cur/NAME:2,S (keep flags a name already has). */
static int
to_cur(const char *dir, const char *name)
{
    char *from = bg_xasprintf("%s/new/%s", dir, name);
    char *to = bg_xasprintf("%s/cur/%s%s", dir, name, strstr(name, ":2,") ? "" : ":2,S");
    int rc = rename(from, to);

    if (rc < 0)
        bg_msg_error("maildir: cannot move %s to cur/: %s", from, strerror(errno));
    free(from);
    free(to);
    return rc;
}

/* One message: 0 done (moved), 1 left for later (store), -1 vanished. */
static int
one(intake *in, const char *dir, const char *name)
{
    char *path = bg_xasprintf("%s/new/%s", dir, name);
    bg_buf msg = BG_BUF_INIT;
    bg_error err;
    bg_learn_source src = {.origin = path};
    int r = read_file(path, &msg, &err), rc = 0;

    if (r < 0) {
        bg_msg_warn("maildir: %s", err.msg);
        rc = -1; /* gone (another watcher took it) or unreadable: skip */
    } else if (r > 0) {
        bg_msg_warn("maildir: %s is larger than %u MB, acknowledged unread", path,
                    INTAKE_MAX_MESSAGE / (1024 * 1024));
        rc = to_cur(dir, name) < 0 ? -1 : 0;
    } else if (intake_message(in, msg.s ? msg.s : "", msg.len, path, &src, NULL, NULL) <
               0) {
        rc = 1;
    } else {
        rc = to_cur(dir, name) < 0 ? -1 : 0;
    }
    bg_buf_free(&msg);
    free(path);
    return rc;
}

/* Process every message in new/, oldest name first is not promised. */
static int
scan(intake *in, const char *dir, pass_stats *ps)
{
    char *newdir = bg_xasprintf("%s/new", dir);
    DIR *d = opendir(newdir);
    struct dirent *e;

    if (d == NULL) {
        bg_msg_error("maildir: cannot read %s: %s", newdir, strerror(errno));
        free(newdir);
        return -1;
    }
    while ((e = readdir(d)) != NULL && !intake_stopping()) {
        int r;
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        r = one(in, dir, e->d_name);
        if (r == 0)
            ps->done++;
        else if (r > 0) {
            ps->left++;
            break; /* the store is down: the others would fail alike */
        }
        intake_upkeep(in, intake_now());
    }
    closedir(d);
    free(newdir);
    return 0;
}

static int
check_maildir(const char *dir)
{
    const char *subs[] = {"new", "cur", "tmp"};

    for (size_t i = 0; i < 3; i++) {
        char *p = bg_xasprintf("%s/%s", dir, subs[i]);
        struct stat sb;
        int ok = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(p);
        if (!ok) {
            fprintf(stderr, "bounceguard-dsn maildir: %s is not a Maildir (no %s/)\n",
                    dir, subs[i]);
            return -1;
        }
    }
    return 0;
}

static int
follow(intake *in, const char *dir)
{
    char *newdir = bg_xasprintf("%s/new", dir);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int64_t next_scan = 0;

    if (fd < 0 || inotify_add_watch(fd, newdir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        bg_msg_error("maildir: inotify on %s: %s", newdir, strerror(errno));
        free(newdir);
        if (fd >= 0)
            close(fd);
        return DSN_EXIT_FAIL;
    }
    bg_msg_info("maildir: following %s", newdir);
    while (!intake_stopping()) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int64_t now = intake_now();
        int n;

        intake_upkeep(in, now);
        if (now >= next_scan) {
            pass_stats ps = {0, 0};
            scan(in, dir, &ps);
            next_scan = now + RESCAN_INTERVAL;
        }
        intake_idle(); /* waiting for mail is no stall */
        n = poll(&pfd, 1, 1000);
        intake_busy();
        if (n > 0) {
            char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
            while (read(fd, buf, sizeof(buf)) > 0)
                ; /* what changed does not matter: scan new/ */
            next_scan = 0;
        }
    }
    bg_msg_info("maildir: stopped following %s", newdir);
    close(fd);
    free(newdir);
    return DSN_EXIT_OK;
}

#define MAILDIR_USAGE "usage: bounceguard-dsn [-c FILE] maildir DIR [--follow] [--pid-file FILE]\n"

int
dsn_cmd_maildir(const dsn_ctx *ctx, int argc, char **argv)
{
    const char *dir = NULL, *pid_path = NULL;
    bool follow_mode = false;
    intake in;
    pass_stats ps = {0, 0};
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(MAILDIR_USAGE, stdout);
            return DSN_EXIT_OK;
        } else if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            follow_mode = true;
        else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc)
            pid_path = argv[++i];
        else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else {
            fprintf(stderr, MAILDIR_USAGE);
            return DSN_EXIT_USAGE;
        }
    }
    if (dir == NULL || (pid_path && !follow_mode)) {
        fprintf(stderr, MAILDIR_USAGE);
        return DSN_EXIT_USAGE;
    }
    if (check_maildir(dir) < 0)
        return DSN_EXIT_FAIL;
    if ((rc = intake_start(&in, ctx, pid_path)) < 0)
        return rc == -2 ? DSN_EXIT_FAIL : DSN_EXIT_CONFIG;
    intake_signals();
    intake_store(&in); /* logged if it fails; a message then stays in new/ */
    intake_upkeep(&in, intake_now());
    if (follow_mode) {
        rc = follow(&in, dir);
    } else {
        rc = scan(&in, dir, &ps) < 0 ? DSN_EXIT_FAIL : DSN_EXIT_OK;
        bg_msg_info("maildir %s: %u message(s) processed, %u left for a retry", dir,
                    ps.done, ps.left);
        if (ps.left)
            rc = DSN_EXIT_FAIL;
    }
    intake_finish(&in);
    return rc;
}
