/*
 * output — what the store-facing commands of the CLI share: opening the store
 * with a clean error, the operator's name for the audit trail, times and
 * durations for people, aligned tables that stream, JSON lines, and the one
 * JSON form of a recipient (list, show and export all print it, import reads
 * it back).
 *
 * Nothing here decides anything: the policy and the gate do.  Every function
 * writes to ctx->out (or stderr for errors) and never exits.
 */
#ifndef BOUNCEGUARD_CLI_OUTPUT_H
#define BOUNCEGUARD_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/addr.h"
#include "bounceguard/json_out.h"
#include "bounceguard/table.h"
#include "bounceguard/policy.h"
#include "bounceguard/store.h"
#include "bounceguard/util.h"
#include "cli.h"

/*
 * Open the store of ctx->config (db_home).  create: make db_home and the
 * databases if missing (commands that write).  Run as root, the process
 * first becomes the config's `user` for good (as the daemons do), so open
 * anything root must read before calling this.  On failure prints
 * "bounceguard: COMMAND: <why>" to stderr and returns CLI_EXIT_RUNTIME; on
 * success 0 with *out set (close with bg_store_close).  From then on, a
 * command that uses no CPU for CLI_STALL_S seconds (blocked in a mutex of a
 * process killed inside the store: bounceguard(8), BUGS), or whose call into
 * the store has not ended in BG_STORE_CALL_STUCK_S, prints one line and
 * exits CLI_EXIT_RUNTIME (bg_stallwatch); a command that then waits for
 * input by design calls bg_stallwatch_stop().
 */
#define CLI_STALL_S 60
int cli_store_open(cli_ctx *ctx, const char *command, bool create, bg_store **out);
/* Become the store's user (root only; with create, make db_home for it
 * first), as cli_store_open does, for a command that opens no store.
 * Returns 0 or CLI_EXIT_RUNTIME after one line on stderr. */
int cli_store_user(cli_ctx *ctx, const char *command, bool create);

/* Print "bounceguard: COMMAND: MESSAGE" to stderr; returns CLI_EXIT_RUNTIME. */
int cli_runtime_error(const char *command, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);

/* Who runs this command, for the audit trail: the name of the real uid
 * ("uid N" when it has none); when the real uid is 0 and SUDO_USER is set,
 * "root (sudo: alice)".  SUDO_USER from any other user is ignored: anyone
 * can set it.  Written into dst[size] (160 bytes hold any); returns dst. */
const char *cli_operator(char *dst, size_t size);

/* Append "OPERATOR TEXT" to the audit trail; prints the error and returns -1
 * when the store fails. */
int cli_audit(bg_store *st, const char *command, int64_t now, const char *fmt, ...)
    BG_ATTR_PRINTF(4, 5);

/*
 * A printable copy of s for printing (bg_sanitize_line, util.h: controls,
 * C1, bidi controls and bytes that are not UTF-8 escaped), cut at
 * CLI_SAFE_MAX bytes; NULL gives "".  Every field from the store, the
 * network or a file goes through this (or a bg_table) before it reaches
 * the terminal.  The copy lives in one of 8 static slots: valid until the
 * eighth call after this one.
 */
#define CLI_SAFE_MAX 600
const char *cli_safe(const char *s);

/* getopt_long() answered '?' or ':': a usage error naming argv[optind-1]. */
int cli_option_error(const char *command, int argc, char **argv);

/* Parse a count for --limit and the like (0..max).  Returns 0 or -1. */
int cli_parse_count(const char *s, long max, long *out);

/* The canonical form of an address given on the command line (the store's
 * key).  Returns 0, or prints a usage error and returns CLI_EXIT_USAGE. */
int cli_canon_addr(const char *command, const char *in, bg_addr *out);

/* The canonical form of a domain ("example.com" or "@example.com": lower
 * case, A-labels) into out[size].  0, or a usage error (CLI_EXIT_USAGE). */
int cli_canon_domain(const char *command, const char *in, char *out, size_t size);

/* The domain part of a canonical address ("" when there is no '@'). */
const char *cli_domain_of(const char *addr);

/* For commands without arguments: accepts only --json.  0, or a usage error. */
int cli_no_args(const char *command, cli_ctx *ctx, int argc, char **argv);

/* The current time (time(NULL)); one place, so every command agrees. */
int64_t cli_now(void);

/* "2024-05-01 12:00:00Z" (UTC), or "-" for 0.  Returns dst. */
const char *cli_time(char *dst, size_t size, int64_t t);

/* The time from now to until as "13d 4h" (two largest units), "expired"
 * when past, "-" for 0. */
const char *cli_time_left(char *dst, size_t size, int64_t until, int64_t now);

/* ---- aligned tables ------------------------------------------------------ */

/*
 * A table on ctx->out (bg_table, bounceguard/table.h): the header in bold
 * and rows in colour when ctx->color; the last column cut at
 * CLI_LAST_CELL_MAX bytes.  Rows go in with bg_table_row(t,
 * cli_color_code(ctx, COLOUR), cells); bg_table_end() prints the rest.
 */
#define CLI_LAST_CELL_MAX 200
bg_table *cli_table_new(cli_ctx *ctx, int ncols, const char *const *head, size_t sample);

/* JSON objects are built with bg_json_obj (bounceguard/json_out.h). */
/* Close, print as one line to fp, and make j ready for the next object. */
void cli_json_print(bg_json_obj *j, FILE *fp);

/* ---- incidents ------------------------------------------------------------ */

/* The incidents whose last report is at or after since (0: all), the most
 * recent first (then by list name); free recs.  Returns 0 or -1 (err). */
typedef struct cli_incidents {
    bg_incident_rec *recs;
    size_t n, cap;
    int64_t since;
} cli_incidents;
int cli_incidents_load(bg_store *st, int64_t since, cli_incidents *l, bg_error *err);

/* ---- recipients ---------------------------------------------------------- */

/* Add every field of a recipient record to j (the export format). */
void cli_json_rcpt(bg_json_obj *j, const char *addr, const bg_rcpt_rec *r, int64_t now);

/* ---- senders ------------------------------------------------------------- */

/* Add the fields of a sender's state to j. */
void cli_json_sender(bg_json_obj *j, const char *id, const bg_sender_status *s);

#endif
