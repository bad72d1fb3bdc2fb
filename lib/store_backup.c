/*
 * store_backup.c — hot backup, verification and restore of the store, with
 * Berkeley DB's own tools: DB_ENV->backup (the library form of
 * db_hotbackup: the databases, then the log files, while every program goes
 * on writing), catastrophic recovery (DB_RECOVER_FATAL) to make a copy
 * consistent, and DB->verify.  See include/bounceguard/store.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_core.h"

/* Is dir missing or empty?  1 yes, 0 no (it holds something), -1 error. */
static int
dir_is_empty(const char *dir, bg_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (d == NULL) {
        if (errno == ENOENT)
            return 1;
        return bg_error_set(err, "%s: %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

int
bg_store_backup(bg_store *s, const char *dir, bg_error *err)
{
    int r, ret;

    if (s->redis)
        return bg_error_set(err, "backup: the store is Redis (%s): back it up with Redis's own "
                                 "persistence (a replica, BGSAVE), or move it with "
                                 "`bounceguard export`",
                            s->home);
    /* A backup never mixes with other files: an old backup in the way is
     * the operator's to move, not ours to overwrite. */
    if ((r = dir_is_empty(dir, err)) < 0)
        return -1;
    if (r == 0)
        return bg_error_set(err, "backup directory %s is not empty", dir);
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return bg_error_set(err, "cannot create backup directory %s: %s", dir,
                            strerror(errno));
    /* The databases' files as of now, not of the last checkpoint (fewer
     * log files to copy and to replay at restore): failchk, then a
     * checkpoint, as every checkpoint is taken. */
    if (bg_store_maintain(s, 0, err) < 0)
        return -1;
    pthread_rwlock_rdlock(&s->lock);
    /* Databases first, then every log file from the oldest still needed:
     * Berkeley DB holds back log removal while it copies. */
    ret = s->env ? s->env->backup(s->env, dir, DB_CREATE) : DB_RUNRECOVERY;
    pthread_rwlock_unlock(&s->lock);
    if (ret != 0)
        return bg_error_set(err, "backup of %s into %s: %s", s->home, dir, db_strerror(ret));
    return 0;
}

/* Catastrophic recovery in dir, in a private environment that leaves no
 * region files behind: the copied pages and the copied log agree after it. */
static int
recover_dir(const char *dir, bg_error *err)
{
    DB_ENV *env;
    int ret;

    if ((ret = db_env_create(&env, 0)) != 0)
        return bg_error_set(err, "cannot create environment: %s", db_strerror(ret));
    env->set_lg_max(env, STORE_LOG_FILE_BYTES);
    ret = env->open(env, dir,
                    DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN |
                        DB_PRIVATE | DB_RECOVER_FATAL,
                    0660);
    if (ret == 0)
        ret = env->txn_checkpoint(env, 0, 0, DB_FORCE);
    env->close(env, 0);
    if (ret != 0)
        return bg_error_set(err, "%s: catastrophic recovery failed: %s", dir,
                            db_strerror(ret));
    return 0;
}

/* The first thing Berkeley DB says about a damaged file: into the one-line
 * error, never on stderr (it says it once per bad page). */
static __thread char verify_said[200];

static void
verify_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    if (verify_said[0] == '\0')
        bg_strlcpy(verify_said, msg, sizeof(verify_said));
}

static void
verify_msgcall(const DB_ENV *env, const char *msg)
{
}

int
bg_store_verify_dir(const char *dir, bool recover, unsigned *bad, bg_error *err)
{
    char path[4096];

    *bad = 0;
    if (recover && recover_dir(dir, err) < 0)
        return -1;
    for (int i = 0; i < DBI_COUNT; i++) {
        DB *db;
        int ret;

        snprintf(path, sizeof(path), "%s/%s", dir, store_db_files[i]);
        if (access(path, F_OK) < 0) {
            if (*bad == 0)
                bg_error_set(err, "%s: missing", path);
            (*bad)++;
            continue;
        }
        if ((ret = db_create(&db, NULL, 0)) != 0)
            return bg_error_set(err, "cannot create a handle: %s", db_strerror(ret));
        verify_said[0] = '\0';
        db->set_errcall(db, verify_errcall);
        db->set_msgcall(db, verify_msgcall);
        /* verify closes the handle, whatever it answers */
        ret = db->verify(db, path, NULL, NULL, 0);
        if (ret != 0) {
            if (*bad == 0)
                bg_error_set(err, "%s: %s%s%s", path,
                             ret == DB_VERIFY_BAD ? "damaged (db_verify failed)"
                                                  : db_strerror(ret),
                             verify_said[0] ? ": " : "", verify_said);
            (*bad)++;
        }
    }
    return 0;
}

/* Copy one file into dir, refusing to replace anything. */
static int
copy_file(const char *from, const char *to, bg_error *err)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t n;

    if (in < 0)
        return bg_error_set(err, "%s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
    if (out < 0) {
        close(in);
        return bg_error_set(err, "%s: %s", to, strerror(errno));
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    if (n == 0 && fsync(out) < 0)
        n = -1;
    if (n < 0)
        bg_error_set(err, "copying %s to %s: %s", from, to, strerror(errno));
    close(in);
    if (close(out) < 0 && n == 0) {
        n = -1;
        bg_error_set(err, "%s: %s", to, strerror(errno));
    }
    return n < 0 ? -1 : 0;
}

int
bg_store_restore(const char *backup, const char *home, bg_error *err)
{
    DIR *d;
    struct dirent *e;
    unsigned bad;
    int r, rc = 0, copied = 0;

    if ((r = dir_is_empty(home, err)) < 0)
        return -1;
    if (r == 0)
        return bg_error_set(err, "store directory %s is not empty: move it aside first", home);
    if ((d = opendir(backup)) == NULL)
        return bg_error_set(err, "backup %s: %s", backup, strerror(errno));
    if (mkdir(home, 0750) < 0 && errno != EEXIST) {
        closedir(d);
        return bg_error_set(err, "cannot create store directory %s: %s", home,
                            strerror(errno));
    }
    /* The databases and the log; no region files (a backup has none, and
     * those of another machine mean nothing here). */
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char from[4096], to[4096];

        if (!(n > 3 && strcmp(e->d_name + n - 3, ".db") == 0) &&
            strncmp(e->d_name, "log.", 4) != 0)
            continue;
        snprintf(from, sizeof(from), "%s/%s", backup, e->d_name);
        snprintf(to, sizeof(to), "%s/%s", home, e->d_name);
        rc = copy_file(from, to, err);
        copied++;
    }
    closedir(d);
    if (rc < 0)
        return -1;
    if (copied == 0)
        return bg_error_set(err, "backup %s holds no store files", backup);
    if (bg_store_verify_dir(home, true, &bad, err) < 0)
        return -1;
    if (bad) {
        char first[sizeof(err->msg)];
        bg_strlcpy(first, err->msg, sizeof(first));
        return bg_error_set(err, "restored store fails verification: %s", first);
    }
    return 0;
}
