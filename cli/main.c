/*
 * bounceguard — the operator CLI of bounceguard.
 *
 *   bounceguard [-c FILE] [--json] [--no-color] COMMAND [ARGS...]
 *   bounceguard --help | --version
 *
 * Reads the configuration (-c FILE, default /etc/bounceguard/bounceguard.conf;
 * a missing default file means the built-in defaults), then runs one command
 * from the table below.  Every command is a thin client of the library in
 * lib/; it prints, the library does not.  Exit status: 0 success, 1 a
 * "negative" answer (address refused, IP listed, relay open), 2 usage error,
 * 3 configuration error, 4 run-time error (see cli.h and bounceguard(8)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/reply_rules.h"
#include "bounceguard/config.h"
#include "bounceguard/util.h"
#include "cli.h"

typedef struct cli_command {
    const char *name;
    cli_command_fn *fn;
    const char *args; /* the usage line after the name */
    const char *help; /* one line */
} cli_command;

/*
 * The commands.  To add one: one row here, the function in cli/NAME.c, its
 * declaration in cli.h.  Keep the rows in the order of `bounceguard --help`.
 */
static const cli_command commands[] = {
    {"list", cli_cmd_list,
     "[--blacklisted|--expired|--all] [--domain D] [--reason R] [--sender ID] "
     "[--sort address|expires|last|count] [--limit N]",
     "list recipients (default: the ones blacklisted now)"},
    {"show", cli_cmd_show, "ADDR", "everything known about one recipient"},
    {"block", cli_cmd_block, "ADDR... [--for 30d] [--reason TEXT]",
     "blacklist recipients by hand (default for blacklist_period)"},
    {"unblock", cli_cmd_unblock, "ADDR... [--domain D] [--grace 7d] [--reason TEXT]",
     "release blacklisted recipients, optionally with a grace period"},
    {"audit", cli_cmd_audit, "[--limit N]", "who blocked and unblocked what, when and why"},
    {"check", cli_cmd_check, "ADDR [--sender ip:IP|sasl:LOGIN|env:ADDR]",
     "would bounceguard refuse mail to ADDR, and why (writes nothing)"},
    {"senders", cli_cmd_senders, "[--blocked]",
     "senders with their quota window and blacklisted recipients tried"},
    {"sender", cli_cmd_sender, "show|reset ID", "one sender's state; reset its window"},
    {"debug", cli_cmd_debug, "on|off|status",
     "switch the debug log of the running milter and watcher"},
    {"purge", cli_cmd_purge, "", "remove the records whose time is up"},
    {"stats", cli_cmd_stats, "", "counts of everything in the store"},
    {"metrics", cli_cmd_metrics, "[--output FILE]",
     "the store's Prometheus metrics (node_exporter textfile); FILE replaced atomically"},
    {"backup", cli_cmd_backup, "DIR", "hot backup of the store into DIR (new or empty)"},
    {"verify", cli_cmd_verify, "[DIR]",
     "db_verify every database of the store (of a backup of it) or of the backup DIR"},
    {"restore", cli_cmd_restore, "DIR",
     "restore the backup DIR into an empty db_home (programs stopped), recover, verify"},
    {"export", cli_cmd_export, "[--all|--blacklisted]", "recipients as JSON lines (backup)"},
    {"import", cli_cmd_import, "FILE... [--dry-run]",
     "read JSON lines, or Amazon SES, SendGrid, Mailgun suppression exports"},
    {"diagnose", cli_cmd_diagnose, "[--top N]",
     "what is wrong with the relay's reputation, and what to do next"},
    {"report", cli_cmd_report, "[--days N] [--output FILE|-]",
     "an HTML page of the last N days (default 30): bounces, blacklist, incidents, senders"},
    {"rbl", cli_cmd_rbl,
     "check IP [--lists FILE] [--resolver IP[:PORT]] [--timeout 5s] [--json] | incidents",
     "query DNS blacklists (DNSBLs) for an address; RBL incidents learned from bounces"},
    {"config", cli_cmd_config, "[--check] [--json]",
     "print every configuration key with its value and help, or check the file"},
    {"relay-test", cli_cmd_relay_test,
     "HOST[:PORT] [--from-domain D] [--to-domain D] [--helo NAME] [--timeout 10s] [--outside] "
     "[--json]",
     "test whether an SMTP server relays for strangers (never sends a message)"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const cli_command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void
cli_print_usage(FILE *fp)
{
    fprintf(fp, "usage: bounceguard [-c FILE] [--json] [--no-color] COMMAND [ARGS...]\n"
                "       bounceguard --help | --version\n\n"
                "global options:\n"
                "  -c FILE      configuration file (default %s)\n"
                "  --json       machine-readable output (JSON lines)\n"
                "  --no-color   no colours, even on a terminal\n"
                "  -h, --help   this text\n"
                "  -V, --version  print the version\n\n"
                "commands:\n",
            BG_CONFIG_DEFAULT_PATH);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-12s %s\n  %-12s   %s %s\n", commands[i].name, commands[i].help, "",
                commands[i].name, commands[i].args);
    fprintf(fp, "\nexit status: 0 ok, 1 negative answer (listed, open relay, refused), "
                "2 usage, 3 configuration, 4 run-time error\n");
}

/*
 * Does the command line after the command ask for its help?  -h or --help
 * anywhere before "--": answered before the config is read, so that help
 * works where the config does not.
 */
static bool
wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

static void
print_command_usage(const cli_command *c, FILE *fp)
{
    fprintf(fp, "usage: bounceguard [-c FILE] [--json] %s %s\n\n%s\n\nSee bounceguard(8).\n",
            c->name, c->args, c->help);
}

int
cli_usage_error(const char *command, const char *fmt, ...)
{
    const cli_command *c = command ? find_command(command) : NULL;
    va_list ap;

    fprintf(stderr, "bounceguard: %s%s", command ? command : "", command ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c)
        fprintf(stderr, "usage: bounceguard %s %s\n", c->name, c->args);
    else
        fprintf(stderr, "Try 'bounceguard --help'.\n");
    return CLI_EXIT_USAGE;
}

const char *
cli_color_code(const cli_ctx *ctx, cli_color c)
{
    static const char *const codes[] = {
        [CLI_RESET] = "\033[0m",  [CLI_RED] = "\033[31m", [CLI_GREEN] = "\033[32m",
        [CLI_YELLOW] = "\033[33m", [CLI_BOLD] = "\033[1m", [CLI_DIM] = "\033[2m",
    };

    if (ctx == NULL || !ctx->color || (size_t)c >= sizeof(codes) / sizeof(codes[0]))
        return "";
    return codes[c];
}

/* Colour only for a terminal that can show it, and never against NO_COLOR. */
static bool
want_color(bool no_color)
{
    const char *term = getenv("TERM");

    if (no_color || getenv("NO_COLOR") != NULL)
        return false;
    if (term == NULL || strcmp(term, "dumb") == 0)
        return false;
    return isatty(STDOUT_FILENO) == 1;
}

int
main(int argc, char **argv)
{
    cli_ctx ctx = {BG_CONFIG_DEFAULT_PATH, NULL, false, false, stdout};
    const cli_command *cmd;
    bool explicit_config = false, no_color = false;
    bg_error err;
    int i, rc;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(NULL, "%s needs a file name", a);
            ctx.config_path = argv[++i];
            explicit_config = true;
        } else if (strncmp(a, "-c", 2) == 0 || strncmp(a, "--config=", 9) == 0) {
            ctx.config_path = a[1] == 'c' ? a + 2 : a + 9;
            explicit_config = true;
        } else if (strcmp(a, "--json") == 0) {
            ctx.json = true;
        } else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0) {
            no_color = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_print_usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("bounceguard %s\n", BG_VERSION);
            return CLI_EXIT_OK;
        } else {
            char safe[64];
            return cli_usage_error(NULL, "unknown option %s",
                                   bg_sanitize_line(safe, sizeof(safe), a, 60));
        }
    }
    if (i >= argc)
        return cli_usage_error(NULL, "no command given");
    if (strcmp(argv[i], "help") == 0) {
        cli_print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if ((cmd = find_command(argv[i])) == NULL) {
        char safe[64];
        return cli_usage_error(NULL, "unknown command %s",
                               bg_sanitize_line(safe, sizeof(safe), argv[i], 60));
    }
    if (wants_help(argc - i, argv + i)) {
        print_command_usage(cmd, stdout);
        return CLI_EXIT_OK;
    }
    if (*ctx.config_path == '\0')
        return cli_usage_error(NULL, "-c needs a file name");

    ctx.config = bg_config_load(ctx.config_path, !explicit_config, &err);
    if (ctx.config == NULL) {
        fprintf(stderr, "bounceguard: %s\n", err.msg);
        return CLI_EXIT_CONFIG;
    }
    bg_reply_rules_use(ctx.config->reply_rules);
    ctx.color = want_color(no_color);

    optind = 0; /* glibc: start getopt afresh for the command */
    rc = cmd->fn(&ctx, argc - i, argv + i);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bounceguard: error writing the output\n");
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_RUNTIME;
    }
    bg_reply_rules_use(NULL);
    ctx.config = bg_config_unref(ctx.config);
    return rc;
}
