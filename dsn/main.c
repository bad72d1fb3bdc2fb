/*
 * bounceguard-dsn — the DSN watcher of bounceguard.
 *
 *   bounceguard-dsn [-c FILE] parse [--json] FILE...
 *   bounceguard-dsn [-c FILE] explain [FILE|-]
 *   bounceguard-dsn [-c FILE] pipe | maildir DIR | log FILE   (see the man page)
 *   bounceguard-dsn [-c FILE] -n          (check the configuration and exit)
 *   bounceguard-dsn --help | --version
 *
 * parse reads bounce messages and prints what the library's bounce parser
 * finds in them (read-only: no store, no configuration needed).  The other
 * subcommands feed bounces into the store.  Every subcommand is a thin client
 * of lib/ (bounceguard/dsn.h); this file only dispatches.  Exit status: 0
 * success, 1 some input failed, 2 usage error, 3 configuration error; pipe
 * uses sysexits(3) codes for the MTA.  Manual: bounceguard-dsn(8).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bounceguard/config.h"
#include "bounceguard/reply_rules.h"

#include "dsn.h"
#include "intake.h"

#define DEFAULT_CONFIG "/etc/bounceguard/bounceguard.conf"

typedef struct dsn_command {
    const char *name;
    dsn_command_fn *fn;
    const char *args;
    const char *help;
} dsn_command;

/* To add a subcommand: one row here, the function in dsn/NAME_cmd.c, its
 * declaration in dsn/dsn.h. */
static const dsn_command commands[] = {
    {"parse", dsn_cmd_parse, "[--json] FILE...",
     "print the bounced recipients found in messages (read-only)"},
    {"explain", dsn_cmd_explain, "[FILE|-]",
     "why a bounce (or a reply line) is judged so, and what it would do"},
    {"pipe", dsn_cmd_pipe, "[--client-ip IP] ...", "learn the bounce on stdin (MTA pipe)"},
    {"maildir", dsn_cmd_maildir, "DIR [--follow] [--pid-file F]", "learn the bounces in a Maildir's new/"},
    {"log", dsn_cmd_log, "FILE [--follow] [--pid-file F]", "learn bounced deliveries from an MTA log"},
    {NULL, NULL, NULL, NULL},
};

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: bounceguard-dsn [-c FILE] COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; commands[i].name; i++)
        fprintf(fp, "  %-8s %-30s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(fp, "\noptions:\n  -c FILE  configuration file (default %s)\n", DEFAULT_CONFIG);
    fprintf(fp, "  -n       check the configuration (and reply_rules_file), then exit\n");
    fprintf(fp, "  -h, --help     this text\n  -V, --version  print the version\n");
}

/* -n: load the configuration as the intakes would, say what it adds. */
static int
check_config(const dsn_ctx *ctx)
{
    bg_error err;
    bg_config *cfg = bg_config_load(ctx->config_path, !ctx->config_given, &err);

    if (cfg == NULL) {
        fprintf(stderr, "bounceguard-dsn: %s\n", err.msg);
        return DSN_EXIT_CONFIG;
    }
    /* The intakes become `user` when run as root (a follower under systemd). */
    if (bg_config_check_system(cfg, BG_CHECK_USER, &err) < 0) {
        fprintf(stderr, "bounceguard-dsn: %s: %s\n", ctx->config_path, err.msg);
        bg_config_unref(cfg);
        return DSN_EXIT_CONFIG;
    }
    printf("bounceguard-dsn: %s: ok", ctx->config_path);
    if (cfg->reply_rules_file[0])
        printf(", %zu provider rule(s) from %s", bg_reply_rules_count(cfg->reply_rules),
               cfg->reply_rules_file);
    printf("\n");
    bg_config_unref(cfg);
    return DSN_EXIT_OK;
}

int
main(int argc, char **argv)
{
    dsn_ctx ctx = {DEFAULT_CONFIG, 0};
    bool check_only = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bounceguard-dsn: -c needs a file name\n");
                return DSN_EXIT_USAGE;
            }
            ctx.config_path = argv[++i];
            ctx.config_given = 1;
        } else if (strncmp(a, "-c", 2) == 0) {
            ctx.config_path = a + 2;
            ctx.config_given = 1;
        } else if (strcmp(a, "-n") == 0) {
            check_only = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return DSN_EXIT_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("bounceguard-dsn %s\n", BG_VERSION);
            return DSN_EXIT_OK;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "bounceguard-dsn: unknown option %s\n", a);
            usage(stderr);
            return DSN_EXIT_USAGE;
        }
    }
    if (check_only)
        return check_config(&ctx);
    if (i >= argc) {
        usage(stderr);
        return DSN_EXIT_USAGE;
    }
    for (size_t k = 0; commands[k].name; k++)
        if (strcmp(commands[k].name, argv[i]) == 0)
            return commands[k].fn(&ctx, argc - i, argv + i);
    fprintf(stderr, "bounceguard-dsn: unknown command %s\n", argv[i]);
    usage(stderr);
    return DSN_EXIT_USAGE;
}
