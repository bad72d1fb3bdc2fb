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

#endif
