/*
* dsn.h — the subcommands of bounceguard-dsn.  Each one lives in its own file
 * (dsn/parse_cmd.c, ...) and is one row of the table in dsn/main.c.
 */
#ifndef BOUNCEGUARD_DSN_PROG_H
#define BOUNCEGUARD_DSN_PROG_H

/* Exit statuses of bounceguard-dsn (pipe uses sysexits.h on top). */
#define DSN_EXIT_OK 0
#define DSN_EXIT_FAIL 1  /* some input could not be read or processed */
#define DSN_EXIT_USAGE 2 /* bad command line */
#define DSN_EXIT_CONFIG 3

/* What every subcommand gets: the global options. */
typedef struct dsn_ctx {
    const char *config_path; /* -c FILE, or the default path */
    int config_given;        /* -c was on the command line */
} dsn_ctx;

/* A subcommand: argv[0] is its name; returns the exit status. */
typedef int dsn_command_fn(const dsn_ctx *ctx, int argc, char **argv);

dsn_command_fn dsn_cmd_parse;
dsn_command_fn dsn_cmd_explain;

#endif
