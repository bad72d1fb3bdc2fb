/*
 * pidfile — a daemon's pid file that no link can redirect, locked for the
 * daemon's life.
 *
 * The file is made in a directory that only root or the daemon's user may
 * write (bg_privs_check_dir), by the directory's owner, through a descriptor
 * of the directory: an existing file is opened without following a symlink
 * and kept only if it is a plain file of that owner with one link (a stale
 * file from a crash); anything else in its place is unlinked and the file
 * made anew with O_EXCL.  It is then locked (flock) as long as the daemon
 * runs, so that a second daemon with the same pid file is refused and
 * neither overwrites nor removes it.
 */
#ifndef BOUNCEGUARD_PIDFILE_H
#define BOUNCEGUARD_PIDFILE_H

#include "bounceguard/privs.h"
#include "bounceguard/util.h"

typedef struct bg_pidfile bg_pidfile;

/*
 * Make, lock and fill the pid file path with pid.  u is the daemon's user
 * when the process runs as root and will become it (NULL otherwise): in a
 * directory of u's the file is made as u (bg_privs_assume), in root's as
 * root.  Returns the open pid file (the caller owns it: bg_pidfile_close),
 * or NULL with err set; when another process holds the lock, *holder is set
 * to its pid (0 when its file does not say yet) and err says "already running
 * (pid N)".  *holder is -1 on any other error.
 */
bg_pidfile *bg_pidfile_open(const char *path, const bg_privs_user *u, long pid, long *holder,
                            bg_error *err);

/*
 * Unlink the pid file if its name still leads to the file this process
 * locked (someone may have replaced it).  Returns 0 when removed, 1 when the
 * name leads elsewhere or nowhere, -1 with err set when the unlink failed
 * (e.g. a directory of root's after the switch to the daemon's user).
 */
int bg_pidfile_remove(bg_pidfile *pf, bg_error *err);

/* Close the pid file and let go of the lock; returns NULL. */
bg_pidfile *bg_pidfile_close(bg_pidfile *pf);

#endif
