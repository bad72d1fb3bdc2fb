/*
 * pidfile.c — see include/bounceguard/pidfile.h.
 *
 * Every step goes through a descriptor of the directory (openat, unlinkat,
 * fstatat), checked once, so that the directory the checks were made on is
 * the one the file is made in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounceguard/pidfile.h"

/* Attempts at making the file while something keeps replacing it. */
#define PIDFILE_TRIES 10

struct bg_pidfile {
    char *path;
    char *name; /* the last component of path */
    int dirfd;
    int fd;
    dev_t dev;
    ino_t ino;
};

/* Unlink whatever is in the pid file's place (a symlink, a hard link, a file
 * of someone else's): the name goes, what it led to is not touched. */
static int
clear_name(const bg_pidfile *pf, bg_error *err)
{
    if (unlinkat(pf->dirfd, pf->name, 0) < 0 && errno != ENOENT)
        return bg_error_set(err, "cannot remove what is in the place of pid file %s: %s",
                            pf->path, strerror(errno));
    return 0;
}

static long
read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid;
    char *end;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* Open or make the file as the current effective user, lock it, fill it. */
static int
take(bg_pidfile *pf, long pid, long *holder, bg_error *err)
{
    uid_t owner = geteuid();
    struct stat sb, now;
    char buf[32];
    int fd, n, tries;

    for (tries = 0; tries < PIDFILE_TRIES; tries++) {
        fd = openat(pf->dirfd, pf->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            fd = openat(pf->dirfd, pf->name,
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
            if (fd < 0 && errno == EEXIST)
                continue;
            if (fd < 0)
                return bg_error_set(err, "cannot make pid file %s: %s", pf->path,
                                    strerror(errno));
        } else if (fd < 0) {
            /* ELOOP: a symlink; EACCES, EPERM: someone else's file; ENXIO:
             * a socket; ETXTBSY: a running program.  None is ours. */
            if (errno != ELOOP && errno != EACCES && errno != EPERM && errno != ENXIO &&
                errno != ETXTBSY)
                return bg_error_set(err, "cannot open pid file %s: %s", pf->path,
                                    strerror(errno));
            if (clear_name(pf, err) < 0)
                return -1;
            continue;
        }
        if (fstat(fd, &sb) < 0) {
            close(fd);
            return bg_error_set(err, "pid file %s: %s", pf->path, strerror(errno));
        }
        if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1 || sb.st_uid != owner) {
            close(fd);
            if (clear_name(pf, err) < 0)
                return -1;
            continue;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            if (e == EWOULDBLOCK) {
                *holder = read_pid(fd);
                close(fd);
                if (*holder > 0)
                    return bg_error_set(err, "already running (pid %ld): pid file %s is locked",
                                        *holder, pf->path);
                return bg_error_set(err, "already running (pid not yet written): pid file %s "
                                         "is locked",
                                    pf->path);
            }
            close(fd);
            return bg_error_set(err, "cannot lock pid file %s: %s", pf->path, strerror(e));
        }
        /* Still the file under that name?  Another starting daemon may have
         * cleared the name between our open and our lock. */
        if (fstatat(pf->dirfd, pf->name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
            now.st_dev != sb.st_dev || now.st_ino != sb.st_ino) {
            close(fd);
            continue;
        }
        n = snprintf(buf, sizeof(buf), "%ld\n", pid);
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
            int e = errno;
            close(fd);
            return bg_error_set(err, "cannot write pid file %s: %s", pf->path, strerror(e));
        }
        pf->fd = fd;
        pf->dev = sb.st_dev;
        pf->ino = sb.st_ino;
        return 0;
    }
    return bg_error_set(err, "pid file %s is replaced again each time it is made", pf->path);
}

bg_pidfile *
bg_pidfile_open(const char *path, const bg_privs_user *u, long pid, long *holder,
                bg_error *err)
{
    bg_pidfile *pf = bg_xcalloc(1, sizeof(*pf));
    const char *slash = strrchr(path, '/');
    char *dir;
    struct stat sb;
    bool as_user;
    bg_error back;
    int r;

    *holder = -1;
    pf->path = bg_xstrdup(path);
    pf->dirfd = pf->fd = -1;
    if (slash == NULL)
        dir = bg_xstrdup(".");
    else if (slash == path)
        dir = bg_xstrdup("/");
    else
        dir = bg_xstrndup(path, (size_t)(slash - path));
    pf->name = bg_xstrdup(slash ? slash + 1 : path);
    if (pf->name[0] == '\0' || strcmp(pf->name, ".") == 0 || strcmp(pf->name, "..") == 0) {
        bg_error_set(err, "pid file %s does not name a file", path);
        goto fail;
    }
    pf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pf->dirfd < 0) {
        bg_error_set(err, "directory of pid file %s: %s: %s", path, dir, strerror(errno));
        goto fail;
    }
    if (fstat(pf->dirfd, &sb) < 0) {
        bg_error_set(err, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (bg_privs_check_dir(dir, &sb, u, err) < 0)
        goto fail;
    as_user = u != NULL && sb.st_uid == u->uid;
    if (as_user && bg_privs_assume(u->uid, u->gid, err) < 0)
        goto fail;
    r = take(pf, pid, holder, err);
    if (as_user && bg_privs_resume(&back) < 0) {
        if (err)
            *err = back;
        goto fail;
    }
    if (r < 0)
        goto fail;
    free(dir);
    return pf;
fail:
    free(dir);
    bg_pidfile_close(pf);
    return NULL;
}

int
bg_pidfile_remove(bg_pidfile *pf, bg_error *err)
{
    struct stat now;

    if (fstatat(pf->dirfd, pf->name, &now, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 1 : bg_error_set(err, "%s: %s", pf->path, strerror(errno));
    if (now.st_dev != pf->dev || now.st_ino != pf->ino)
        return 1;
    if (unlinkat(pf->dirfd, pf->name, 0) < 0)
        return bg_error_set(err, "cannot remove pid file %s: %s", pf->path, strerror(errno));
    return 0;
}

bg_pidfile *
bg_pidfile_close(bg_pidfile *pf)
{
    if (pf == NULL)
        return NULL;
    if (pf->fd >= 0)
        close(pf->fd);
    if (pf->dirfd >= 0)
        close(pf->dirfd);
    free(pf->path);
    free(pf->name);
    free(pf);
    return NULL;
}
