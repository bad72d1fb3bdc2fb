/*
 * store_cmds — the recipient blacklist from the command line:
 *
 *   list [--blacklisted|--expired|--all] [--domain D] [--reason R]
 *        [--sender ID] [--sort address|expires|last|count] [--limit N]
 *   show ADDR
 *   block ADDR... [--for 30d] [--reason TEXT]
 *   unblock ADDR... [--domain D] [--grace 7d] [--reason TEXT]
 *   purge
 *   stats
 *
 * Every change goes through the policy (bg_policy_block, bg_policy_unblock)
 * inside the store's read-modify-write transaction, and leaves an audit
 * line naming the operator (`audit`, in report_cmds.c, shows the trail).  `list` sorted
 * by address streams; other sort orders keep one (address, key) pair per entry in memory
 * and read each record again while printing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/json_out.h"
#include "bounceguard/addr.h"
#include "bounceguard/policy.h"
#include "output.h"

#define JSON_OPT                                                                         \
    {                                                                                    \
        "json", no_argument, NULL, 'j'                                                   \
    }

/* ---- list ---------------------------------------------------------------- */

enum { SHOW_BLACKLISTED, SHOW_EXPIRED, SHOW_ALL };
enum { SORT_ADDRESS, SORT_EXPIRES, SORT_LAST, SORT_COUNT };

typedef struct sort_item {
    char *addr;
    int64_t key;
} sort_item;

typedef struct list_arg {
    cli_ctx *ctx;
    int64_t now;
    int show;
    int sort;
    char domain[256];
    const char *reason;
    char sender[300];
    long limit; /* 0 = all */
    long printed;
    bg_table *table;
    bg_json_obj json;
    sort_item *items;
    size_t nitems, cap;
} list_arg;

static bool
list_match(const list_arg *a, const char *addr, const bg_rcpt_rec *r)
{
    bool bl = bg_policy_rcpt_blacklisted(r, a->now);

    if ((a->show == SHOW_BLACKLISTED && !bl) || (a->show == SHOW_EXPIRED && bl))
        return false;
    if (a->domain[0] && strcmp(cli_domain_of(addr), a->domain) != 0)
        return false;
    if (a->reason && strcasecmp(r->reason, a->reason) != 0)
        return false;
    if (a->sender[0] && strcmp(r->last_sender, a->sender) != 0)
        return false;
    return true;
}

static void
list_print(list_arg *a, const char *addr, const bg_rcpt_rec *r)
{
    if (a->ctx->json) {
        cli_json_rcpt(&a->json, addr, r, a->now);
        cli_json_print(&a->json, a->ctx->out);
    } else {
        static const char *const head[] = {"ADDRESS", "STATE",       "REASON",  "STATUS",
                                           "BOUNCES", "LAST BOUNCE", "RELEASE", "LEFT"};
        char count[16], last[32], release[32], left[32];
        const char *state = bg_policy_rcpt_state_name(r, a->now);
        bool bl = bg_policy_rcpt_blacklisted(r, a->now);
        const char *cells[] = {addr,
                               state,
                               r->reason,
                               r->status,
                               count,
                               cli_time(last, sizeof(last), r->last_bounce),
                               cli_time(release, sizeof(release), r->expires),
                               bl ? cli_time_left(left, sizeof(left), r->expires, a->now)
                                  : "-"};
        snprintf(count, sizeof(count), "%u", r->bounce_count);
        if (a->table == NULL)
            a->table = cli_table_new(a->ctx, 8, head, 500);
        bg_table_row(a->table, cli_color_code(a->ctx, bl ? CLI_RESET : CLI_DIM), cells);
    }
    a->printed++;
}

static int
list_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    list_arg *a = arg;

    if (!list_match(a, addr, r))
        return 0;
    if (a->sort == SORT_ADDRESS) {
        list_print(a, addr, r);
        return a->limit > 0 && a->printed >= a->limit;
    }
    if (a->nitems == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        a->items = bg_xrealloc(a->items, a->cap * sizeof(*a->items));
    }
    a->items[a->nitems].addr = bg_xstrdup(addr);
    a->items[a->nitems].key = a->sort == SORT_EXPIRES ? r->expires
                              : a->sort == SORT_LAST  ? r->last_bounce
                                                      : (int64_t)r->bounce_count;
    a->nitems++;
    return 0;
}

/* expires: soonest release first; last and count: the largest first. */
static int
cmp_asc(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key ? 1 : strcmp(a->addr, b->addr);
}

static int
cmp_desc(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    return a->key > b->key ? -1 : a->key < b->key ? 1 : strcmp(a->addr, b->addr);
}

int
cli_cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"blacklisted", no_argument, NULL, 'b'},
                                         {"expired", no_argument, NULL, 'e'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"domain", required_argument, NULL, 'd'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"sender", required_argument, NULL, 's'},
                                         {"sort", required_argument, NULL, 'S'},
                                         {"limit", required_argument, NULL, 'n'},
                                         JSON_OPT,
                                         {NULL, 0, NULL, 0}};
    list_arg a;
    bg_store *st;
    bg_error err;
    int c, rc = CLI_EXIT_OK;

    memset(&a, 0, sizeof(a));
    a.ctx = ctx;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":bead:r:s:S:n:", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            a.show = SHOW_BLACKLISTED;
            break;
        case 'e':
            a.show = SHOW_EXPIRED;
            break;
        case 'a':
            a.show = SHOW_ALL;
            break;
        case 'd':
            if (cli_canon_domain("list", optarg, a.domain, sizeof(a.domain)))
                return CLI_EXIT_USAGE;
            break;
        case 'r':
            a.reason = optarg;
            break;
        case 's':
            if (bg_policy_identity_parse(optarg, a.sender, sizeof(a.sender), &err) < 0)
                return cli_usage_error("list", "%s", err.msg);
            break;
        case 'S':
            if (strcmp(optarg, "address") == 0)
                a.sort = SORT_ADDRESS;
            else if (strcmp(optarg, "expires") == 0)
                a.sort = SORT_EXPIRES;
            else if (strcmp(optarg, "last") == 0)
                a.sort = SORT_LAST;
            else if (strcmp(optarg, "count") == 0)
                a.sort = SORT_COUNT;
            else
                return cli_usage_error("list",
                                       "--sort takes address, expires, last or count");
            break;
        case 'n':
            if (cli_parse_count(optarg, 1000000000L, &a.limit) < 0)
                return cli_usage_error("list", "--limit takes a number");
            break;
        case 'j':
            ctx->json = true;
            break;
        default:
            return cli_option_error("list", argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("list", "unexpected argument %.60s", argv[optind]);
    if ((rc = cli_store_open(ctx, "list", false, &st)) != 0)
        return rc;
    a.now = cli_now();
    bg_json_obj_begin(&a.json);
    if (bg_store_rcpt_foreach(st, NULL, list_visit, &a, &err) < 0) {
        rc = cli_runtime_error("list", "%s", err.msg);
    } else if (a.sort != SORT_ADDRESS) {
        qsort(a.items, a.nitems, sizeof(*a.items),
              a.sort == SORT_EXPIRES ? cmp_asc : cmp_desc);
        for (size_t i = 0; i < a.nitems && (a.limit == 0 || a.printed < a.limit); i++) {
            bg_rcpt_rec r;
            bg_lookup l = bg_store_rcpt_get(st, a.items[i].addr, &r, &err);
            if (l == BG_LOOKUP_ERROR) {
                rc = cli_runtime_error("list", "%s", err.msg);
                break;
            }
            if (l == BG_FOUND && list_match(&a, a.items[i].addr, &r))
                list_print(&a, a.items[i].addr, &r);
        }
    }
    for (size_t i = 0; i < a.nitems; i++)
        free(a.items[i].addr);
    free(a.items);
    a.table = bg_table_end(a.table);
    if (rc == CLI_EXIT_OK && a.printed == 0 && !ctx->json)
        fprintf(ctx->out, "no %srecipients match\n",
                a.show == SHOW_BLACKLISTED ? "blacklisted " : "");
    bg_json_obj_free(&a.json);
    bg_store_close(st);
    return rc;
}

/* ---- show ---------------------------------------------------------------- */

typedef struct tried_by_out {
    bg_buf *human, arr;
    int found;
} tried_by_out;

static int
tried_by_item(const char *id, int64_t when, void *arg)
{
    tried_by_out *o = arg;
    char t[32];

    bg_buf_printf(o->human, "%s%s (%s)", o->found ? ", " : "", id, cli_time(t, sizeof(t), when));
    if (o->found++)
        bg_buf_putc(&o->arr, ',');
    bg_json_string(&o->arr, id);
    return 0;
}

/* The senders that tried addr while it was blacklisted: "ID (time)" items
 * appended to human, the ids to j.  Returns -1 on a store error, else 0. */
static int
tried_by(bg_store *st, const char *addr, bg_buf *human, bg_json_obj *j, bg_error *err)
{
    tried_by_out o = {human, BG_BUF_INIT, 0};
    int rc;

    bg_buf_putc(&o.arr, '[');
    rc = bg_store_tried_by(st, addr, tried_by_item, &o, err);
    bg_buf_putc(&o.arr, ']');
    bg_json_obj_raw(j, "tried_by", bg_buf_str(&o.arr));
    bg_json_obj_bool(j, "tried_by_complete", rc == 0);
    bg_buf_free(&o.arr);
    return rc < 0 ? -1 : 0;
}

static void
show_line(cli_ctx *ctx, const char *key, const char *value)
{
    char safe[600];

    fprintf(ctx->out, "%-16s %s\n", key,
            value && *value ? bg_sanitize_line(safe, sizeof(safe), value, 590) : "-");
}

int
cli_cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {JSON_OPT, {NULL, 0, NULL, 0}};
    bg_store *st;
    bg_error err;
    bg_addr addr;
    bg_rcpt_rec r;
    bg_lookup l;
    bg_buf tried = BG_BUF_INIT;
    bg_json_obj j = BG_JSON_OBJ_INIT;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_option_error("show", argc, argv);
        ctx->json = true;
    }
    if (optind + 1 != argc)
        return cli_usage_error("show", "give exactly one address");
    if (cli_canon_addr("show", argv[optind], &addr))
        return CLI_EXIT_USAGE;
    if ((rc = cli_store_open(ctx, "show", false, &st)) != 0)
        return rc;
    l = bg_store_rcpt_get(st, addr.canon, &r, &err);
    if (l == BG_LOOKUP_ERROR) {
        rc = cli_runtime_error("show", "%s", err.msg);
    } else if (l == BG_NOTFOUND) {
        fprintf(stderr, "bounceguard: show: %s is not in the store (never bounced)\n",
                cli_safe(addr.canon));
        rc = CLI_EXIT_NEGATIVE;
    } else {
        int64_t now = cli_now();
        char buf[5][64];
        bg_json_obj_begin(&j);
        cli_json_rcpt(&j, addr.canon, &r, now);
        if (tried_by(st, addr.canon, &tried, &j, &err) < 0) {
            rc = cli_runtime_error("show", "%s", err.msg);
        } else if (ctx->json) {
            cli_json_print(&j, ctx->out);
        } else {
            bool bl = bg_policy_rcpt_blacklisted(&r, now);
            fprintf(ctx->out, "%s%s%s\n", cli_color_code(ctx, CLI_BOLD),
                    cli_safe(addr.canon), cli_color_code(ctx, CLI_RESET));
            fprintf(ctx->out, "%-16s %s%s%s\n", "state",
                    cli_color_code(ctx, bl ? CLI_RED : CLI_GREEN),
                    bg_policy_rcpt_state_name(&r, now), cli_color_code(ctx, CLI_RESET));
            if (bl) {
                snprintf(buf[4], sizeof(buf[4]), "%s (in %s)",
                         cli_time(buf[0], sizeof(buf[0]), r.expires),
                         cli_time_left(buf[1], sizeof(buf[1]), r.expires, now));
                show_line(ctx, "release", buf[4]);
            } else {
                show_line(ctx, "released", cli_time(buf[0], sizeof(buf[0]), r.expires));
            }
            if (r.grace_until > now) {
                snprintf(buf[4], sizeof(buf[4]), "until %s: new bounces do not re-block",
                         cli_time(buf[0], sizeof(buf[0]), r.grace_until));
                show_line(ctx, "grace", buf[4]);
            } else {
                show_line(ctx, "grace", NULL);
            }
            show_line(ctx, "first bounce",
                      cli_time(buf[0], sizeof(buf[0]), r.first_bounce));
            show_line(ctx, "last bounce",
                      cli_time(buf[0], sizeof(buf[0]), r.last_bounce));
            snprintf(buf[2], sizeof(buf[2]), "%u", r.bounce_count);
            show_line(ctx, "bounces", buf[2]);
            show_line(ctx, "source", r.source);
            show_line(ctx, "reason", r.reason);
            show_line(ctx, "status", r.status);
            show_line(ctx, "remote MTA", r.remote_mta);
            show_line(ctx, "diagnostic", r.diagnostic);
            char rule[256];
            show_line(ctx, "rule", bg_policy_rcpt_rule(&r, rule, sizeof(rule)));
            show_line(ctx, "last sender", r.last_sender);
            show_line(ctx, "updated", cli_time(buf[0], sizeof(buf[0]), r.updated));
            show_line(ctx, "tried by", bg_buf_str(&tried));
        }
    }
    bg_json_obj_free(&j);
    bg_buf_free(&tried);
    bg_store_close(st);
    return rc;
}

/* ---- block / unblock ----------------------------------------------------- */

typedef struct change_arg {
    int64_t now;
    int64_t duration; /* block: how long; unblock: grace */
    int64_t history;
    const char *reason;
    bool existed;
    bool was_blacklisted;
    int64_t result; /* the new expires (block) or grace_until (unblock) */
} change_arg;

static bg_record_change
block_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    change_arg *a = arg;
    int rc;

    a->existed = cur != NULL;
    a->was_blacklisted = bg_policy_rcpt_blacklisted(cur, a->now);
    rc = bg_policy_block(cur, next, a->now, a->duration, a->reason, a->history, purge_at);
    a->result = next->expires;
    return rc;
}

static bg_record_change
unblock_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    change_arg *a = arg;
    int rc;

    a->existed = cur != NULL;
    a->was_blacklisted = bg_policy_rcpt_blacklisted(cur, a->now);
    rc = bg_policy_unblock(cur, next, a->now, a->duration, a->history, purge_at);
    a->result = rc == 1 ? next->grace_until : 0;
    return rc;
}

/* Print one result line (human or JSON). */
static void
change_report(cli_ctx *ctx, const char *addr, const char *result, int64_t when,
              const char *when_key)
{
    char t[32];

    if (ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        bg_json_obj_str(&j, "address", addr);
        bg_json_obj_str(&j, "result", result);
        bg_json_obj_time(&j, when_key, when);
        cli_json_print(&j, ctx->out);
        bg_json_obj_free(&j);
    } else if (when) {
        fprintf(ctx->out, "%s: %s (%s %s)\n", cli_safe(addr), result, when_key,
                cli_time(t, sizeof(t), when));
    } else {
        fprintf(ctx->out, "%s: %s\n", cli_safe(addr), result);
    }
}

int
cli_cmd_block(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"for", required_argument, NULL, 'f'},
                                         {"reason", required_argument, NULL, 'r'},
                                         JSON_OPT,
                                         {NULL, 0, NULL, 0}};
    change_arg a;
    bg_store *st;
    bg_error err;
    char dur[32];
    int c, rc;

    memset(&a, 0, sizeof(a));
    a.duration = ctx->config->blacklist_period;
    a.history = ctx->config->history_period;
    a.reason = "";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:r:", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (bg_duration_parse(optarg, &a.duration, &err) < 0 || a.duration <= 0)
                return cli_usage_error("block", "--for: %s",
                                       a.duration <= 0 ? "must be positive" : err.msg);
            break;
        case 'r':
            a.reason = optarg;
            break;
        case 'j':
            ctx->json = true;
            break;
        default:
            return cli_option_error("block", argc, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("block", "which address?");
    for (int i = optind; i < argc; i++) {
        bg_addr addr;
        if (cli_canon_addr("block", argv[i], &addr))
            return CLI_EXIT_USAGE;
    }
    if ((rc = cli_store_open(ctx, "block", true, &st)) != 0)
        return rc;
    a.now = cli_now();
    bg_duration_format(dur, sizeof(dur), a.duration);
    for (int i = optind; i < argc && rc == 0; i++) {
        bg_addr addr;
        bg_addr_parse(argv[i], &addr, NULL);
        if (bg_store_rcpt_update(st, addr.canon, block_update, &a, &err) == BG_STORE_FAILED) {
            rc = cli_runtime_error("block", "%s", err.msg);
            break;
        }
        if (cli_audit(st, "block", a.now, "block %s for %s: %s", addr.canon, dur,
                      *a.reason ? a.reason : "(no reason given)") < 0)
            rc = CLI_EXIT_RUNTIME;
        change_report(ctx, addr.canon, "blocked", a.result, "until");
        if (bg_policy_never_blacklist(ctx->config, addr.canon, addr.domain))
            fprintf(stderr,
                    "bounceguard: block: warning: %s matches never_blacklist, so the "
                    "milter will not refuse it\n",
                    addr.canon);
    }
    bg_store_close(st);
    return rc;
}

typedef struct domain_collect {
    const char *domain;
    int64_t now;
    char **addrs;
    size_t n, cap;
} domain_collect;

static int
domain_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    domain_collect *d = arg;

    if (strcmp(cli_domain_of(addr), d->domain) != 0 ||
        !bg_policy_rcpt_blacklisted(r, d->now))
        return 0;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->addrs = bg_xrealloc(d->addrs, d->cap * sizeof(*d->addrs));
    }
    d->addrs[d->n++] = bg_xstrdup(addr);
    return 0;
}

static int
unblock_one(cli_ctx *ctx, bg_store *st, change_arg *a, const char *addr, const char *why)
{
    bg_error err;
    char grace[32];
    bg_record_change r = bg_store_rcpt_update(st, addr, unblock_update, a, &err);

    if (r == BG_STORE_FAILED)
        return cli_runtime_error("unblock", "%s", err.msg);
    if (r == BG_RECORD_KEEP) {
        change_report(ctx, addr, a->existed ? "not blacklisted" : "not found", 0, "");
        return CLI_EXIT_NEGATIVE;
    }
    if (a->duration > 0)
        bg_duration_format(grace, sizeof(grace), a->duration);
    if (cli_audit(st, "unblock", a->now, "unblock %s%s%s%s: %s", addr,
                  a->was_blacklisted ? "" : " (not blacklisted)",
                  a->duration > 0 ? " grace " : "", a->duration > 0 ? grace : "",
                  why && *why ? why : "(no reason given)") < 0)
        return CLI_EXIT_RUNTIME;
    change_report(ctx, addr, a->was_blacklisted ? "unblocked" : "grace granted",
                  a->result, "grace until");
    return 0;
}

int
cli_cmd_unblock(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"domain", required_argument, NULL, 'd'},
                                         {"grace", required_argument, NULL, 'g'},
                                         {"reason", required_argument, NULL, 'r'},
                                         JSON_OPT,
                                         {NULL, 0, NULL, 0}};
    change_arg a;
    domain_collect d;
    char domain[256] = "";
    const char *why = "";
    bg_store *st;
    bg_error err;
    int c, rc, worst = 0;

    memset(&a, 0, sizeof(a));
    memset(&d, 0, sizeof(d));
    a.duration = ctx->config->grace_period;
    a.history = ctx->config->history_period;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:g:r:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (cli_canon_domain("unblock", optarg, domain, sizeof(domain)))
                return CLI_EXIT_USAGE;
            break;
        case 'g':
            if (bg_duration_parse(optarg, &a.duration, &err) < 0)
                return cli_usage_error("unblock", "--grace: %s", err.msg);
            break;
        case 'r':
            why = optarg;
            break;
        case 'j':
            ctx->json = true;
            break;
        default:
            return cli_option_error("unblock", argc, argv);
        }
    }
    if (optind >= argc && domain[0] == '\0')
        return cli_usage_error("unblock", "which address (or --domain)?");
    for (int i = optind; i < argc; i++) {
        bg_addr addr;
        if (cli_canon_addr("unblock", argv[i], &addr))
            return CLI_EXIT_USAGE;
    }
    if ((rc = cli_store_open(ctx, "unblock", false, &st)) != 0)
        return rc;
    a.now = cli_now();
    for (int i = optind; i < argc && worst != CLI_EXIT_RUNTIME; i++) {
        bg_addr addr;
        bg_addr_parse(argv[i], &addr, NULL);
        rc = unblock_one(ctx, st, &a, addr.canon, why);
        worst = rc > worst ? rc : worst;
    }
    if (domain[0] && worst != CLI_EXIT_RUNTIME) {
        d.domain = domain;
        d.now = a.now;
        if (bg_store_rcpt_foreach(st, NULL, domain_visit, &d, &err) < 0)
            worst = cli_runtime_error("unblock", "%s", err.msg);
        else if (d.n == 0) {
            fprintf(stderr, "bounceguard: unblock: no blacklisted recipient at %s\n",
                    cli_safe(domain));
            worst = worst > CLI_EXIT_NEGATIVE ? worst : CLI_EXIT_NEGATIVE;
        }
        for (size_t i = 0; i < d.n; i++) {
            if (worst != CLI_EXIT_RUNTIME) {
                rc = unblock_one(ctx, st, &a, d.addrs[i], why);
                worst = rc > worst ? rc : worst;
            }
            free(d.addrs[i]);
        }
        free(d.addrs);
    }
    bg_store_close(st);
    return worst;
}

/* ---- purge and stats ----------------------------------------------------- */

int
cli_cmd_purge(cli_ctx *ctx, int argc, char **argv)
{
    bg_store *st;
    bg_error err;
    size_t purged = 0;
    int rc;

    if ((rc = cli_no_args("purge", ctx, argc, argv)) != 0 ||
        (rc = cli_store_open(ctx, "purge", false, &st)) != 0)
        return rc;
    if (bg_store_purge(st, cli_now(), (size_t)ctx->config->purge_batch, 0, &purged,
                       &err) < 0)
        rc = cli_runtime_error("purge", "%s (%zu records purged before the error)",
                               err.msg, purged);
    else if (ctx->json)
        fprintf(ctx->out, "{\"purged\":%zu}\n", purged);
    else
        fprintf(ctx->out, "purged %zu expired record%s\n", purged,
                purged == 1 ? "" : "s");
    bg_store_close(st);
    return rc;
}

typedef struct rcpt_counts {
    int64_t now;
    uint64_t blacklisted, expired, unblocked, grace;
} rcpt_counts;

static int
count_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    rcpt_counts *c = arg;

    if (bg_policy_rcpt_blacklisted(r, c->now))
        c->blacklisted++;
    else if (r->state == BG_RCPT_UNBLOCKED)
        c->unblocked++;
    else
        c->expired++;
    if (r->grace_until > c->now)
        c->grace++;
    return 0;
}

int
cli_cmd_stats(cli_ctx *ctx, int argc, char **argv)
{
    bg_store *st;
    bg_error err;
    bg_store_stats s;
    bg_store_env_stats e;
    rcpt_counts n = {cli_now(), 0, 0, 0, 0};
    char ckp[48];
    int rc;

    if ((rc = cli_no_args("stats", ctx, argc, argv)) != 0 ||
        (rc = cli_store_open(ctx, "stats", false, &st)) != 0)
        return rc;
    if (bg_store_stats_get(st, &s, &err) < 0 || bg_store_env_stats_get(st, &e, &err) < 0 ||
        bg_store_rcpt_foreach(st, NULL, count_visit, &n, &err) < 0) {
        bg_store_close(st);
        return cli_runtime_error("stats", "%s", err.msg);
    }
    bg_store_close(st);
    if (ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        bg_json_obj_str(&j, "db_home", ctx->config->db_home);
        bg_json_obj_int(&j, "recipients", (long long)s.rcpts);
        bg_json_obj_int(&j, "blacklisted", (long long)n.blacklisted);
        bg_json_obj_int(&j, "expired", (long long)n.expired);
        bg_json_obj_int(&j, "unblocked", (long long)n.unblocked);
        bg_json_obj_int(&j, "in_grace", (long long)n.grace);
        bg_json_obj_int(&j, "senders", (long long)s.senders);
        bg_json_obj_int(&j, "tried", (long long)s.tried);
        bg_json_obj_int(&j, "messages", (long long)s.messages);
        bg_json_obj_int(&j, "incidents", (long long)s.incidents);
        bg_json_obj_int(&j, "seen_dsns", (long long)s.seen);
        bg_json_obj_int(&j, "expiry_index", (long long)s.expiry);
        bg_json_obj_str(&j, "backend", e.backend);
        if (!e.redis) {
            bg_json_obj_int(&j, "log_files", (long long)e.log_files);
            bg_json_obj_int(&j, "log_bytes", (long long)e.log_bytes);
            if (e.last_checkpoint > 0)
                bg_json_obj_str(&j, "last_checkpoint",
                                bg_time_iso(ckp, sizeof(ckp), e.last_checkpoint));
            else
                bg_json_obj_raw(&j, "last_checkpoint", "null");
            bg_json_obj_int(&j, "log_since_checkpoint_bytes", (long long)e.replay_bytes);
            bg_json_obj_int(&j, "recovery_estimate_ms", (long long)e.recovery_ms);
            bg_json_obj_int(&j, "cache_bytes", (long long)e.cache_bytes);
            bg_json_obj_int(&j, "deadlocks", (long long)e.deadlocks);
            bg_json_obj_int(&j, "lock_waits", (long long)e.lock_waits);
        }
        cli_json_print(&j, ctx->out);
        bg_json_obj_free(&j);
        return 0;
    }
    fprintf(ctx->out,
            "store                %s\n"
            "recipients           %llu\n"
            "  blacklisted now    %s%llu%s\n"
            "  expired (history)  %llu\n"
            "  unblocked          %llu\n"
            "  in grace period    %llu\n"
            "senders              %llu\n"
            "tried (sender,rcpt)  %llu\n"
            "messages remembered  %llu\n"
            "RBL incidents        %llu\n"
            "DSNs seen            %llu\n",
            e.backend, (unsigned long long)s.rcpts,
            cli_color_code(ctx, n.blacklisted ? CLI_RED : CLI_GREEN),
            (unsigned long long)n.blacklisted, cli_color_code(ctx, CLI_RESET),
            (unsigned long long)n.expired, (unsigned long long)n.unblocked,
            (unsigned long long)n.grace, (unsigned long long)s.senders,
            (unsigned long long)s.tried, (unsigned long long)s.messages,
            (unsigned long long)s.incidents, (unsigned long long)s.seen);
    if (e.redis) /* Redis expires records itself and keeps no log of ours */
        return 0;
    fprintf(ctx->out,
            "purge index entries  %llu\n"
            "transaction log      %llu file%s, %llu MB\n"
            "last checkpoint      %s\n"
            "recovery estimate    %s%.1f s (%llu kB of log since the last checkpoint)\n"
            "cache                %llu MB\n"
            "deadlocks            %llu (lock waits %llu)\n",
            (unsigned long long)s.expiry, (unsigned long long)e.log_files,
            e.log_files == 1 ? "" : "s", (unsigned long long)((e.log_bytes + (1 << 19)) >> 20),
            e.last_checkpoint > 0 ? bg_time_iso(ckp, sizeof(ckp), e.last_checkpoint) : "none yet",
            e.recovery_ms < 1000 ? "under " : "about ",
            e.recovery_ms < 1000 ? 1.0 : (double)e.recovery_ms / 1000,
            (unsigned long long)((e.replay_bytes + 512) >> 10),
            (unsigned long long)((e.cache_bytes + (1 << 19)) >> 20),
            (unsigned long long)e.deadlocks, (unsigned long long)e.lock_waits);
    return 0;
}
