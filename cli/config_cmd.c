/*
 * config_cmd.c — `bounceguard config [--check]`: the configuration in force,
 * every key with its value and one line of help (like postconf), straight
 * from the key table of lib/config.c.  --check only says whether it is valid.
 */
#include <string.h>

#include "cli.h"

int
cli_cmd_config(cli_ctx *ctx, int argc, char **argv)
{
    bool check_only = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check_only = true;
        else
            return cli_usage_error("config", "unknown argument \"%s\"", argv[i]);
    }
    /* main has loaded and validated the file already: a bad one never gets here. */
    if (check_only) {
        fprintf(ctx->out, "config %s is valid\n",
                ctx->config->path[0] ? ctx->config->path : "(built-in defaults)");
        return CLI_EXIT_OK;
    }
    fprintf(ctx->out, "# bounceguard configuration from %s\n",
            ctx->config->path[0] ? ctx->config->path : "(built-in defaults)");
    bg_config_dump(ctx->config, ctx->out);
    return CLI_EXIT_OK;
}
