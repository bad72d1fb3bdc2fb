/*
 * backup_cmds.c — `bounceguard backup DIR`, `verify [DIR]` and `restore DIR`:
 * the store's hot backup, its check and its restore, thin adapters of the
 * store's own (bg_store_backup, bg_store_verify_dir, bg_store_restore; the
 * procedure is in bounceguard(8)).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/store.h"
#include "cli.h"
#include "output.h"

/* The one operand of a command (DIR), or NULL; *rc set on a usage error. */
static const char *
one_dir(const char *command, int argc, char **argv, bool required, int *rc)
{
    *rc = 0;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-') || (required && argc < 2)) {
        *rc = cli_usage_error(command, "expects %sone directory", required ? "" : "at most ");
        return NULL;
    }
    return argc == 2 ? argv[1] : NULL;
}

int
cli_cmd_backup(cli_ctx *ctx, int argc, char **argv)
{
    const char *dir;
    bg_store *st;
    bg_error err;
    int rc;

    if ((dir = one_dir("backup", argc, argv, true, &rc)) == NULL)
        return rc;
    if ((rc = cli_store_open(ctx, "backup", false, &st)) != 0)
        return rc;
    rc = bg_store_backup(st, dir, &err);
    bg_store_close(st);
    if (rc < 0)
        return cli_runtime_error("backup", "%s", err.msg);
    fprintf(ctx->out, "store %s backed up into %s\n", ctx->config->db_home, dir);
    return CLI_EXIT_OK;
}

/* Remove the files of a scratch directory, then the directory. */
static void
remove_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096 + 256];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int
cli_cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
    const char *dir;
    char scratch[4096];
    bg_error err;
    unsigned bad = 0;
    int rc;

    dir = one_dir("verify", argc, argv, false, &rc);
    if (rc != 0)
        return rc;
    if (dir != NULL) {
        /* A backup (or a stopped store's directory): recovered in place
         * first, as a restore would, as the store's user, so that a log
         * file the recovery adds stays readable for the restore. */
        if ((rc = cli_store_user(ctx, "verify", false)) != 0)
            return rc;
        if (bg_store_verify_dir(dir, true, &bad, &err) < 0)
            return cli_runtime_error("verify", "%s", err.msg);
    } else {
        /* The store in use: Berkeley DB's verification takes no locks, so
         * it checks a hot backup of the store, made beside it. */
        bg_store *st;
        if ((rc = cli_store_open(ctx, "verify", false, &st)) != 0)
            return rc;
        snprintf(scratch, sizeof(scratch), "%s/verify.XXXXXX", ctx->config->db_home);
        if (mkdtemp(scratch) == NULL) {
            bg_store_close(st);
            return cli_runtime_error("verify", "cannot make %s: %m", scratch);
        }
        rc = bg_store_backup(st, scratch, &err);
        bg_store_close(st);
        if (rc == 0)
            rc = bg_store_verify_dir(scratch, true, &bad, &err);
        remove_scratch(scratch);
        if (rc < 0)
            return cli_runtime_error("verify", "%s", err.msg);
        dir = ctx->config->db_home;
    }
    if (bad) {
        fprintf(stderr, "bounceguard: verify: %u database(s) of %s damaged or missing: %s\n",
                bad, dir, err.msg);
        return CLI_EXIT_NEGATIVE;
    }
    fprintf(ctx->out, "%s: every database verified\n", dir);
    return CLI_EXIT_OK;
}

int
cli_cmd_restore(cli_ctx *ctx, int argc, char **argv)
{
    const char *dir;
    bg_error err;
    int rc;

    if ((dir = one_dir("restore", argc, argv, true, &rc)) == NULL)
        return rc;
    if ((rc = cli_store_user(ctx, "restore", true)) != 0)
        return rc;
    if (bg_store_restore(dir, ctx->config->db_home, &err) < 0)
        return cli_runtime_error("restore", "%s", err.msg);
    fprintf(ctx->out, "backup %s restored into %s (recovered and verified)\n", dir,
            ctx->config->db_home);
    return CLI_EXIT_OK;
}
