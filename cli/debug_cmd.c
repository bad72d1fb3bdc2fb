/*
 * debug_cmd — `bounceguard debug on|off|status`: the run-time switch of the
 * debug log.
 *
 * The switch is the store's meta record "debug" ("on" or "off").  The running
 * milter reads it every second (its housekeeping thread) and the DSN watcher
 * does the same while it runs, so the change takes effect within about a
 * second, without a restart and without signals (the CLI may run as another
 * user than the daemons).  While the record is absent the config key `debug`
 * decides.  `status` prints the switch and the config default.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

int
cli_cmd_debug(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *what;
    char value[16];
    bg_store *st;
    bg_error err;
    bg_lookup l;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_option_error("debug", argc, argv);
        ctx->json = true;
    }
    if (optind + 1 != argc)
        return cli_usage_error("debug", "expected on, off or status");
    what = argv[optind];
    if (strcmp(what, "on") != 0 && strcmp(what, "off") != 0 &&
        strcmp(what, "status") != 0)
        return cli_usage_error("debug", "expected on, off or status, not %.20s", what);
    if ((rc = cli_store_open(ctx, "debug", strcmp(what, "status") != 0, &st)) != 0)
        return rc;
    if (strcmp(what, "status") != 0) {
        if (bg_store_meta_put(st, "debug", what, &err) < 0) {
            bg_store_close(st);
            return cli_runtime_error("debug", "%s", err.msg);
        }
        if (cli_audit(st, "debug", cli_now(), "debug %s", what) < 0) {
            bg_store_close(st);
            return CLI_EXIT_RUNTIME;
        }
        bg_store_close(st);
        if (ctx->json)
            fprintf(ctx->out, "{\"debug\":\"%s\"}\n", what);
        else
            fprintf(ctx->out,
                    "debug log switched %s (the milter and the watcher follow "
                    "within a second)\n",
                    what);
        return CLI_EXIT_OK;
    }
    l = bg_store_meta_get(st, "debug", value, sizeof(value), &err);
    bg_store_close(st);
    if (l == BG_LOOKUP_ERROR)
        return cli_runtime_error("debug", "%s", err.msg);
    if (ctx->json) {
        fprintf(ctx->out, "{\"debug\":\"%s\",\"switch_set\":%s,\"config_debug\":%s}\n",
                l == BG_FOUND ? (strcmp(value, "on") == 0 ? "on" : "off")
                              : (ctx->config->debug ? "on" : "off"),
                l == BG_FOUND ? "true" : "false", ctx->config->debug ? "true" : "false");
    } else if (l == BG_FOUND) {
        fprintf(
            ctx->out, "debug %s (switched with `bounceguard debug`; config debug = %s)\n",
            strcmp(value, "on") == 0 ? "on" : "off", ctx->config->debug ? "yes" : "no");
    } else {
        fprintf(ctx->out, "debug %s (never switched: config debug = %s decides)\n",
                ctx->config->debug ? "on" : "off", ctx->config->debug ? "yes" : "no");
    }
    return CLI_EXIT_OK;
}
