/*
 * privs — giving up root for good, the same way in every program.
 *
 * The daemons (and the CLI and the watcher when an operator runs them as
 * root) become the configured `user` before they open the store and the
 * logs, so that every file Berkeley DB makes belongs to that user: a
 * root-owned log or region file would lock the milter out of its own store.
 */
#ifndef BOUNCEGUARD_PRIVS_H
#define BOUNCEGUARD_PRIVS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bounceguard/util.h"

typedef struct bg_privs_user {
    char name[64];
    uid_t uid;
    gid_t gid;
} bg_privs_user;

/*
 * Is there a user to become?  Returns 1 with *out filled when this process
 * runs as root and `user` names another account; 0 when there is nothing to
 * do (not root, user "" or root itself); -1 with err set when the account
 * does not exist (the caller decides: the milter stops, the CLI goes on).
 */
int bg_privs_target(const char *user, bg_privs_user *out, bg_error *err);

/*
 * Make dir (if missing, mode 0750) and give it to u; used for db_home before
 * the switch.  Returns 0, or -1 with err set.
 */
int bg_privs_prepare_dir(const bg_privs_user *u, const char *dir, bg_error *err);

/* Become u with its groups, for good (checks that root cannot be regained).
 * Returns 0, or -1 with err set. */
int bg_privs_become(const bg_privs_user *u, bg_error *err);

/*
 * May the files of a daemon be made in this directory?  sb is its stat();
 * dir only names it in the message.  Yes (0) when it is a directory owned by
 * root or by the daemon's user (u, or this process' user when u is NULL) and
 * writable by its owner alone: then no one else can put a symlink or a hard
 * link where a file is about to be made.  Otherwise -1, with err naming dir
 * and what is wrong.
 */
int bg_privs_check_dir(const char *dir, const struct stat *sb, const bg_privs_user *u,
                       bg_error *err);

/* bg_privs_check_dir() on the directory that holds path (by name: for a file
 * made by someone else's code, e.g. libmilter's socket); its stat() goes to
 * *sb.  Returns 0, or -1 with err set. */
int bg_privs_check_parent(const char *path, struct stat *sb, const bg_privs_user *u,
                          bg_error *err);

/* The id of group name, in *gid.  Returns 0, or -1 with err = "group \"NAME\"
 * does not exist" (or the lookup's error). */
int bg_privs_group(const char *name, gid_t *gid, bg_error *err);

/*
 * Give the unix socket at path the permissions mode and the group gid, if it
 * has not got them (-1: leave the group): the socket of socket_mode and
 * socket_group.  The socket's directory is opened and checked as
 * bg_privs_check_dir() does (u as there), and the socket is reached through
 * that descriptor without following a symlink and must be a socket: no one
 * but the directory's owner (root or u) can put anything in its place.  Call
 * it as that owner (inside bg_privs_assume()): a name the owner swapped
 * between the check and the change then leads only to a file the owner could
 * change anyway.  Changing the group needs root, or a process in that group
 * (bg_privs_assume() puts it there).  Returns 0, or -1 with err naming path
 * and what is wrong.
 */
int bg_privs_socket_access(const char *path, mode_t mode, gid_t gid, const bg_privs_user *u,
                           bg_error *err);

/*
 * Make the next files as uid:gid, for a while: only the effective ids change
 * (and the groups become gid alone), root stays the real and saved user, and
 * bg_privs_resume() comes back to root.  Postfix's set_eugid(): a socket or
 * pid file made in the daemon's own directory belongs to it from the start,
 * and is never given away by a chown that a symlink could redirect.  Returns
 * 0, or -1 with err set.  Only for a process running as root.
 */
int bg_privs_assume(uid_t uid, gid_t gid, bg_error *err);
/* Back to root after bg_privs_assume() (root's supplementary groups are not
 * given back: bg_privs_become() comes next).  Returns 0, or -1 with err set. */
int bg_privs_resume(bg_error *err);

#endif
