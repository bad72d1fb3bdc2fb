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

/*
 * How to add a command: write `int cli_cmd_NAME(cli_ctx *, int, char **)` in
 * cli/NAME.c, declare it below, and add one row {name, function, arguments,
 * help} to the table in cli/main.c.  A command parses its own options with
 * getopt_long(); main.c sets optind = 0 before each call, so getopt starts
 * afresh and permutes (options may follow operands).  cli_usage_error()
 * prints the row's arguments as the usage line.
 */
cli_command_fn cli_cmd_rbl;        /* cli/rbl.c: rbl check IP, rbl incidents */
cli_command_fn cli_cmd_relay_test; /* cli/relaytest.c: relay-test HOST[:PORT] */

/* The store-facing commands (see bounceguard(8)). */
cli_command_fn cli_cmd_list;       /* cli/store_cmds.c */
cli_command_fn cli_cmd_show;
cli_command_fn cli_cmd_block;
cli_command_fn cli_cmd_unblock;
cli_command_fn cli_cmd_audit;      /* cli/report_cmds.c */
cli_command_fn cli_cmd_purge;
cli_command_fn cli_cmd_backup;     /* cli/backup_cmds.c */
cli_command_fn cli_cmd_verify;
cli_command_fn cli_cmd_restore;
cli_command_fn cli_cmd_stats;
cli_command_fn cli_cmd_metrics;    /* cli/metrics_cmd.c: metrics [--output FILE] */
cli_command_fn cli_cmd_check;      /* cli/check_cmd.c */
cli_command_fn cli_cmd_senders;    /* cli/sender_cmds.c: senders */
cli_command_fn cli_cmd_sender;     /* cli/sender_cmds.c: sender show|reset ID */
cli_command_fn cli_cmd_debug;      /* cli/debug_cmd.c: debug on|off|status */
cli_command_fn cli_cmd_export;     /* cli/io_cmds.c */
cli_command_fn cli_cmd_import;
cli_command_fn cli_cmd_diagnose;   /* cli/report_cmds.c */
cli_command_fn cli_cmd_report;     /* cli/report_page.c: report [--days N] [--output FILE] */
cli_command_fn cli_cmd_config;     /* cli/config_cmd.c: config [--check] */

/*
 * `rbl incidents` (cli/report_cmds.c): the RBL blocks learned from bounces,
 * read from the store.  argv[0] is "incidents"; cli/rbl.c routes its
 * subcommand here.  Returns an exit status as a command does.
 */
int cli_rbl_incidents(cli_ctx *ctx, int argc, char **argv);

/* Print the usage of the whole CLI (global options and the command table). */
void cli_print_usage(FILE *fp);

/*
 * Terminal colours for human output: returns the escape sequence for a colour
 * when ctx->color is set, else "" (so printf("%s...%s") works either way).
 */
typedef enum cli_color { CLI_RESET, CLI_RED, CLI_GREEN, CLI_YELLOW, CLI_BOLD, CLI_DIM } cli_color;
const char *cli_color_code(const cli_ctx *ctx, cli_color c);

#endif
