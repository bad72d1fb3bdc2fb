/*
 * privs.c — see include/bounceguard/privs.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
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
