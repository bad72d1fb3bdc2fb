/*
 * cli.h — the commands of the operator CLI `bounceguard`, one function each.
 *
 * cli/main.c parses the global options (-c FILE, --json, --no-color), loads
 * the config and dispatches to a command through the table in main.c.  A
 * command returns the process exit status (see bounceguard(8)):
 *   0 success / address accepted / IP not listed
 *   1 "negative" answer: address would be refused, IP listed, relay open
 *   2 usage error (bad arguments)
 *   3 configuration error
 *   4 store unavailable or other run-time error
 */
#ifndef BOUNCEGUARD_CLI_H
#define BOUNCEGUARD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "bounceguard/config.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NEGATIVE = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_CONFIG = 3,
    CLI_EXIT_RUNTIME = 4,
};

typedef struct cli_ctx {
    const char *config_path;   /* -c FILE, or the default */
    bg_config *config;         /* loaded config (owned by main) */
    bool json;                 /* --json */
    bool color;                /* colour allowed (stdout is a terminal, no --no-color) */
    FILE *out;                 /* stdout */
} cli_ctx;

/* A command: argv[0] is the command name, options follow. */
typedef int cli_command_fn(cli_ctx *ctx, int argc, char **argv);

/* Print "bounceguard: COMMAND: MESSAGE" to stderr and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);

#endif
