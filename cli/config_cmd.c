/*
 * config_cmd.c — `bounceguard config [--check]`: the configuration in force,
 * every key with its value and one line of help (like postconf), straight
 * from the key table of lib/config.c.  --check only says whether it is valid.
 * --json (or the global --json): one JSON object, key -> value.
 */
#include <string.h>

#include "bounceguard/json_out.h"
#include "cli.h"

int
cli_cmd_config(cli_ctx *ctx, int argc, char **argv)
{
    bool check_only = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check_only = true;
        else if (strcmp(argv[i], "--json") == 0)
            ctx->json = true;
        else
            return cli_usage_error("config", "unknown argument \"%s\"", argv[i]);
    }
    /* main has loaded and validated the file already: a bad one never gets here. */
    if (check_only) {
        if (ctx->json) {
            bg_buf b = BG_BUF_INIT;
            bg_buf_puts(&b, "{\"config\":");
            bg_json_string(&b, ctx->config->path[0] ? ctx->config->path : NULL);
            bg_buf_puts(&b, ",\"valid\":true}\n");
            fputs(bg_buf_str(&b), ctx->out);
            bg_buf_free(&b);
        } else
            fprintf(ctx->out, "config %s is valid\n",
                    ctx->config->path[0] ? ctx->config->path : "(built-in defaults)");
        return CLI_EXIT_OK;
    }
    if (ctx->json) {
        bg_buf b = BG_BUF_INIT;
        bg_config_dump_json(ctx->config, &b);
        bg_buf_putc(&b, '\n');
        fputs(bg_buf_str(&b), ctx->out);
        bg_buf_free(&b);
        return CLI_EXIT_OK;
    }
    fprintf(ctx->out, "# bounceguard configuration from %s\n",
            ctx->config->path[0] ? ctx->config->path : "(built-in defaults)");
    bg_config_dump(ctx->config, ctx->out);
    return CLI_EXIT_OK;
}
