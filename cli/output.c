/*
 * output.c — see cli/output.h.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <getopt.h>

#include "bounceguard/dsn.h"
#include "bounceguard/json_out.h"
#include "bounceguard/log.h"
#include "bounceguard/addr.h"
#include "bounceguard/policy.h"
#include "bounceguard/privs.h"
#include "bounceguard/reply.h"
#include "bounceguard/stallwatch.h"
#include "output.h"

int
cli_runtime_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bounceguard: %s: ", command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_RUNTIME;
}

/*
 * Run as root, become the user the daemons run as (config key `user`) before
 * touching the store, so that every file Berkeley DB creates (a new log file,
 * the region files, a new store) belongs to that user: a root-owned log file
 * would stop the milter.  A missing db_home is made first, owned by the user.
 * When the user does not exist the daemons cannot run as it either, and the
 * command goes on as root.
 */
int
cli_store_user(cli_ctx *ctx, const char *command, bool create)
{
    const bg_config *c = ctx->config;
    bg_privs_user u;
    bg_error err;

    if (bg_privs_target(c->user, &u, &err) <= 0)
        return 0; /* not root, or no such user: the daemons cannot run as it either */
    if ((create && bg_privs_prepare_dir(&u, c->db_home, &err) < 0) ||
        bg_privs_become(&u, &err) < 0)
        return cli_runtime_error(command, "%s", err.msg);
    return 0;
}

/* The line and exit of a command that stopped moving inside the store
 * (bg_stallwatch): made before the watch starts, written from its signal
 * handler. */
static char stalled_line[256];
static size_t stalled_len;

static void
on_stall(void)
{
    if (write(STDERR_FILENO, stalled_line, stalled_len) < 0) {
        /* nothing more to say */
    }
    _exit(CLI_EXIT_RUNTIME);
}
/* The command that opened the store: its config says where the logs are. */
static const cli_ctx *store_ctx;

int
cli_store_open(cli_ctx *ctx, const char *command, bool create, bg_store **out)
{
    bg_error err;
    char who[160];
    int n;

    *out = NULL;
    store_ctx = ctx;
    cli_operator(who, sizeof(who)); /* the caller, for the audit trail */
    if (cli_store_user(ctx, command, create) != 0)
        return CLI_EXIT_RUNTIME;
    /* A command blocked for ever in a mutex of a process killed inside the
     * store ends in one line instead (nothing it did is half-committed:
     * transactions are whole or nothing); the operator runs it again. */
    n = snprintf(stalled_line, sizeof(stalled_line),
                 "bounceguard: %s: the store stopped answering (a process was killed inside "
                 "it); run the command again\n",
                 command);
    stalled_len = n > 0 && (size_t)n < sizeof(stalled_line) ? (size_t)n : 0;
    bg_stallwatch_probe(bg_store_call_stuck);
    bg_stallwatch_start(CLI_STALL_S, on_stall);
    *out = bg_store_open_config(ctx->config, create ? BG_STORE_CREATE : 0, &err);
    if (*out == NULL)
        return cli_runtime_error(command, "%s", err.msg);
    return 0;
}

/* The name of uid (getpwuid_r), made printable, or "uid N". */
static void
user_name(uid_t uid, char *dst, size_t size)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
        res->pw_name && *res->pw_name)
        bg_sanitize_line(dst, size, res->pw_name, 64);
    else
        snprintf(dst, size, "uid %lu", (unsigned long)uid);
}

const char *
cli_operator(char *dst, size_t size)
{
    /* Taken once, before cli_store_open may switch the uid. */
    static char name[160];

    if (name[0] == '\0') {
        uid_t uid = getuid();
        const char *sudo = getenv("SUDO_USER");
        char real[72], via[72];

        /* The real uid is the actor: the environment is the caller's to set,
         * so SUDO_USER is believed only from root, who could write anything
         * into the trail anyway; then it says on whose behalf root acts. */
        user_name(uid, real, sizeof(real));
        if (uid == 0 && sudo && *sudo) {
            bg_sanitize_line(via, sizeof(via), sudo, 64);
            snprintf(name, sizeof(name), "%s (sudo: %s)", real, via);
        } else {
            bg_strlcpy(name, real, sizeof(name));
        }
    }
    bg_strlcpy(dst, name, size);
    return dst;
}

/*
 * What the audit trail records goes to the warning log too, where the
 * administrator follows the daemons: the logs are opened at the first
 * audited action, after cli_store_open() made this process the store's user.
 * Only files that exist are written (the daemons make them): an operator's
 * command must not make a log file of its own user that the daemons then
 * cannot open.  A log that cannot be opened is said once on stderr; the
 * action and its audit line stand.
 */
static void
log_notice(const char *command, const char *line)
{
    static bool opened;
    const cli_ctx *ctx = store_ctx;

    if (!opened && ctx != NULL) {
        bg_log_options lo = {.ident = "bounceguard",
                             .dir = ctx->config->log_dir,
                             .use_syslog = ctx->config->syslog,
                             .existing_only = true};
        bg_error err;
        opened = true;
        if (bg_log_open(&lo, &err) < 0)
            fprintf(stderr, "bounceguard: %s: warning log: %s\n", command, err.msg);
    }
    bg_msg_notice("%s", line);
}

int
cli_audit(bg_store *st, const char *command, int64_t now, const char *fmt, ...)
{
    char who[160];
    bg_buf b = BG_BUF_INIT;
    bg_error err;
    va_list ap;
    int rc;

    bg_buf_printf(&b, "%s ", cli_operator(who, sizeof(who)));
    va_start(ap, fmt);
    bg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    rc = bg_store_audit_add(st, now, bg_buf_str(&b), &err);
    if (rc < 0)
        cli_runtime_error(command, "audit trail: %s", err.msg);
    else
        log_notice(command, bg_buf_str(&b));
    bg_buf_free(&b);
    return rc < 0 ? -1 : 0;
}

const char *
cli_safe(const char *s)
{
    /* A few live at once, so one printf can show several fields; the CLI is
     * one thread. */
    static char ring[8][CLI_SAFE_MAX + 1];
    static unsigned next;
    char *dst = ring[next++ % 8];

    return bg_sanitize_line(dst, CLI_SAFE_MAX + 1, s ? s : "", CLI_SAFE_MAX);
}

int
cli_option_error(const char *command, int argc, char **argv)
{
    const char *bad = optind - 1 >= 1 && optind - 1 < argc ? argv[optind - 1] : "?";
    char safe[64];

    bg_sanitize_line(safe, sizeof(safe), bad, 60);
    return cli_usage_error(command, "unknown option or missing value: %s", safe);
}

int
cli_parse_count(const char *s, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int
cli_canon_addr(const char *command, const char *in, bg_addr *out)
{
    bg_error err;
    bg_addr_status st = bg_addr_parse(in, out, &err);

    if (st == BG_ADDR_OK)
        return 0;
    if (st == BG_ADDR_NULL)
        bg_strlcpy(err.msg, "the null address <> is not a recipient", sizeof(err.msg));
    return cli_usage_error(command, "%s", err.msg);
}

int
cli_canon_domain(const char *command, const char *in, char *out, size_t size)
{
    char probe[300];
    bg_addr a;
    bg_error err;

    snprintf(probe, sizeof(probe), "x@%s", in[0] == '@' ? in + 1 : in);
    if (bg_addr_parse(probe, &a, &err) != BG_ADDR_OK)
        return cli_usage_error(command, "bad domain: %s", err.msg);
    bg_strlcpy(out, a.domain, size);
    return 0;
}

const char *
cli_domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

int
cli_no_args(const char *command, cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_option_error(command, argc, argv);
        ctx->json = true;
    }
    if (optind < argc)
        return cli_usage_error(command, "unexpected argument %.60s", argv[optind]);
    return 0;
}

int64_t
cli_now(void)
{
    return (int64_t)time(NULL);
}

const char *
cli_time(char *dst, size_t size, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
        bg_strlcpy(dst, "-", size);
        return dst;
    }
    strftime(dst, size, "%Y-%m-%d %H:%M:%SZ", &tm);
    return dst;
}

const char *
cli_time_left(char *dst, size_t size, int64_t until, int64_t now)
{
    if (until == 0)
        bg_strlcpy(dst, "-", size);
    else if (until <= now)
        bg_strlcpy(dst, "expired", size);
    else {
        char *sp;
        bg_duration_format(dst, size, until - now);
        /* two largest units: "13d 23h", not "13d 23h 59m 59s" */
        if ((sp = strchr(dst, ' ')) != NULL && (sp = strchr(sp + 1, ' ')) != NULL)
            *sp = '\0';
    }
    return dst;
}

/* ---- tables -------------------------------------------------------------- */

bg_table *
cli_table_new(cli_ctx *ctx, int ncols, const char *const *head, size_t sample)
{
    return bg_table_new(ctx->out, ncols, head, sample, CLI_LAST_CELL_MAX,
                        cli_color_code(ctx, CLI_BOLD), cli_color_code(ctx, CLI_RESET));
}

/* ---- JSON ---------------------------------------------------------------- */

void
cli_json_print(bg_json_obj *j, FILE *fp)
{
    fputs(bg_json_obj_close(j), fp);
    fputc('\n', fp);
    bg_json_obj_begin(j);
}

/* ---- recipients ---------------------------------------------------------- */

void
cli_json_rcpt(bg_json_obj *j, const char *addr, const bg_rcpt_rec *r, int64_t now)
{
    char rule[256];

    bg_json_obj_str(j, "address", addr);
    bg_json_obj_str(j, "state", bg_policy_rcpt_state_name(r, now));
    bg_json_obj_bool(j, "blacklisted", bg_policy_rcpt_blacklisted(r, now));
    bg_json_obj_time(j, "first_bounce", r->first_bounce);
    bg_json_obj_time(j, "last_bounce", r->last_bounce);
    bg_json_obj_int(j, "bounce_count", r->bounce_count);
    bg_json_obj_time(j, "expires", r->expires);
    bg_json_obj_int(j, "seconds_left",
                    bg_policy_rcpt_blacklisted(r, now) ? (long long)(r->expires - now)
                                                       : 0);
    bg_json_obj_time(j, "grace_until", r->grace_until);
    bg_json_obj_time(j, "updated", r->updated);
    bg_json_obj_str(j, "source", r->source);
    bg_json_obj_str(j, "reason", r->reason);
    bg_json_obj_str(j, "status", r->status);
    bg_json_obj_str(j, "remote_mta", r->remote_mta);
    bg_json_obj_str(j, "diagnostic", r->diagnostic);
    bg_json_obj_str(j, "rule", bg_policy_rcpt_rule(r, rule, sizeof(rule)));
    bg_json_obj_str(j, "last_sender", r->last_sender);
}

/* ---- senders ------------------------------------------------------------- */

void
cli_json_sender(bg_json_obj *j, const char *id, const bg_sender_status *s)
{
    bg_json_obj_str(j, "sender", id);
    bg_json_obj_bool(j, "known", s->found);
    bg_json_obj_bool(j, "blocked", s->blocked);
    bg_json_obj_int(j, "tried_blacklisted", s->tried_blacklisted);
    bg_json_obj_int(j, "bounce_limit", s->bounce_limit);
    bg_json_obj_bool(j, "quota_exempt", s->quota_exempt);
    bg_json_obj_int(j, "quota_limit", s->quota_limit);
    bg_json_obj_int(j, "quota_used", s->used);
    if (s->quota_limit > 0 && !s->quota_exempt)
        bg_json_obj_int(j, "quota_left", s->left);
    else
        bg_json_obj_raw(j, "quota_left", "null");
    bg_json_obj_bool(j, "over_quota", s->over_quota);
    bg_json_obj_time(j, "window_start", s->window_open ? s->rec.window_start : 0);
    bg_json_obj_time(j, "window_reset", s->window_reset);
    bg_json_obj_int(j, "refused_in_window",
                    s->window_open ? (long long)s->rec.refused : 0);
    bg_json_obj_int(j, "total", (long long)s->rec.total);
    bg_json_obj_time(j, "last_seen", s->rec.last_seen);
}

/* ---- incidents ------------------------------------------------------------ */

static int
incident_visit(const bg_incident_rec *rec, void *arg)
{
    cli_incidents *l = arg;

    if (rec->last < l->since)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->recs = bg_xrealloc(l->recs, l->cap * sizeof(*l->recs));
    }
    l->recs[l->n++] = *rec;
    return 0;
}

static int
cmp_incident(const void *x, const void *y)
{
    const bg_incident_rec *a = x, *b = y;
    return a->last > b->last ? -1 : a->last < b->last ? 1 : strcmp(a->rbl, b->rbl);
}

int
cli_incidents_load(bg_store *st, int64_t since, cli_incidents *l, bg_error *err)
{
    memset(l, 0, sizeof(*l));
    l->since = since;
    if (bg_store_incident_foreach(st, incident_visit, l, err) < 0)
        return -1;
    if (l->n > 1)
        qsort(l->recs, l->n, sizeof(*l->recs), cmp_incident);
    return 0;
}
