/*
 * privs.c — see include/bounceguard/privs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounceguard/privs.h"

int
bg_privs_target(const char *user, bg_privs_user *out, bg_error *err)
{
    struct passwd *pw;

    if (geteuid() != 0 || user == NULL || user[0] == '\0')
        return 0;
    pw = getpwnam(user);
    if (pw == NULL)
        return bg_error_set(err, "user \"%s\" does not exist (create it, or set user = to an "
                                 "existing one)",
                            user);
    if (pw->pw_uid == 0)
        return 0;
    if (bg_strlcpy(out->name, pw->pw_name, sizeof(out->name)) >= sizeof(out->name))
        return bg_error_set(err, "user name \"%s\" is too long", user);
    out->uid = pw->pw_uid;
    out->gid = pw->pw_gid;
    return 1;
}

int
bg_privs_prepare_dir(const bg_privs_user *u, const char *dir, bg_error *err)
{
    struct stat sb;

    if (dir == NULL || dir[0] == '\0' || stat(dir, &sb) == 0)
        return 0;
    if (errno != ENOENT)
        return bg_error_set(err, "%s: %s", dir, strerror(errno));
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return bg_error_set(err, "cannot create %s: %s", dir, strerror(errno));
    if (chown(dir, u->uid, u->gid) < 0)
        return bg_error_set(err, "cannot give %s to %s: %s", dir, u->name, strerror(errno));
    return 0;
}

int
bg_privs_become(const bg_privs_user *u, bg_error *err)
{
    if (setgroups(0, NULL) < 0 || initgroups(u->name, u->gid) < 0 || setgid(u->gid) < 0 ||
        setuid(u->uid) < 0)
        return bg_error_set(err, "cannot switch to user %s: %s", u->name, strerror(errno));
    if (setuid(0) == 0)
        return bg_error_set(err, "could regain root after switching to %s", u->name);
    return 0;
}

int
bg_privs_check_dir(const char *dir, const struct stat *sb, const bg_privs_user *u,
                   bg_error *err)
{
    uid_t user = u ? u->uid : geteuid();
    const char *name = u ? u->name : "this user";

    if (!S_ISDIR(sb->st_mode))
        return bg_error_set(err, "%s is not a directory", dir);
    if (sb->st_uid != 0 && sb->st_uid != user)
        return bg_error_set(err,
                            "%s belongs to uid %ld: it must be root's or %s's, or they could "
                            "be made to write elsewhere",
                            dir, (long)sb->st_uid, name);
    if (sb->st_mode & (S_IWGRP | S_IWOTH))
        return bg_error_set(err,
                            "%s is writable by %s (mode %04o): only its owner (root or %s) "
                            "may write there",
                            dir, sb->st_mode & S_IWOTH ? "everyone" : "its group",
                            (unsigned)(sb->st_mode & 07777), name);
    return 0;
}

int
bg_privs_check_parent(const char *path, struct stat *sb, const bg_privs_user *u, bg_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL   ? bg_xstrdup(".")
                : slash == path ? bg_xstrdup("/")
                                : bg_xstrndup(path, (size_t)(slash - path));
    int r;

    if (stat(dir, sb) < 0)
        r = bg_error_set(err, "directory of %s: %s: %s", path, dir, strerror(errno));
    else
        r = bg_privs_check_dir(dir, sb, u, err);
    free(dir);
    return r;
}

int
bg_privs_group(const char *name, gid_t *gid, bg_error *err)
{
    struct group *gr;

    errno = 0;
    gr = getgrnam(name);
    if (gr == NULL)
        return errno == 0 || errno == ENOENT || errno == ESRCH
                   ? bg_error_set(err, "group \"%.64s\" does not exist", name)
                   : bg_error_set(err, "group \"%.64s\": %s", name, strerror(errno));
    *gid = gr->gr_gid;
    return 0;
}

int
bg_privs_socket_access(const char *path, mode_t mode, gid_t gid, const bg_privs_user *u,
                       bg_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char *dir = slash == NULL   ? bg_xstrdup(".")
                : slash == path ? bg_xstrdup("/")
                                : bg_xstrndup(path, (size_t)(slash - path));
    struct stat dsb, sb;
    int r = 0;
    /* The checks and the changes go through one descriptor of the directory:
     * the directory checked is the one the changes are made in. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0 || fstat(dfd, &dsb) < 0)
        r = bg_error_set(err, "directory of %s: %s: %s", path, dir, strerror(errno));
    else if (bg_privs_check_dir(dir, &dsb, u, err) < 0)
        r = -1;
    else if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        r = bg_error_set(err, "%s: %s", path, strerror(errno));
    else if (!S_ISSOCK(sb.st_mode))
        r = bg_error_set(err, "%s is not a socket", path);
    else if (gid != (gid_t)-1 && sb.st_gid != gid &&
             fchownat(dfd, name, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0)
        r = bg_error_set(err, "cannot give %s to group %ld: %s", path, (long)gid,
                         strerror(errno));
    /* fchmodat() cannot refuse a symlink (AT_SYMLINK_NOFOLLOW is not
     * supported for it on Linux): only the directory's owner can have put
     * one there since the fstatat(), and the caller runs as that owner. */
    else if ((sb.st_mode & 07777) != mode && fchmodat(dfd, name, mode, 0) < 0)
        r = bg_error_set(err, "cannot set the mode of %s to %04o: %s", path, (unsigned)mode,
                         strerror(errno));
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return r;
}

int
bg_privs_assume(uid_t uid, gid_t gid, bg_error *err)
{
    if (setgroups(1, &gid) < 0 || setegid(gid) < 0 || seteuid(uid) < 0)
        return bg_error_set(err, "cannot take uid %ld gid %ld for a while: %s", (long)uid,
                            (long)gid, strerror(errno));
    return 0;
}

int
bg_privs_resume(bg_error *err)
{
    if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(0, NULL) < 0)
        return bg_error_set(err, "cannot come back to root: %s", strerror(errno));
    return 0;
}
