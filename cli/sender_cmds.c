/*
 * sender_cmds — the senders ("appliances") from the command line:
 *
 *   senders [--blocked]   every sender with a quota record: window, quota
 *                         used and left, reset time, blacklisted recipients
 *                         tried, blocked or not
 *   sender show ID        one sender, with the blacklisted recipients it tried
 *   sender reset ID       forget its quota window and the recipients it tried
 *                         (so it is neither over quota nor blocked); audited
 *
 * ID is ip:ADDRESS, sasl:LOGIN or env:ADDRESS, as the milter names senders
 * (sender_identity in bounceguard.conf(5)).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/gate.h"
#include "bounceguard/policy.h"
#include "output.h"

typedef struct id_list {
    char **ids;
    size_t n, cap;
} id_list;

static int
collect(const char *id, const bg_sender_rec *rec, void *arg)
{
    id_list *l = arg;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ids = bg_xrealloc(l->ids, l->cap * sizeof(*l->ids));
    }
    l->ids[l->n++] = bg_xstrdup(id);
    return 0;
}

static void
quota_cell(char *dst, size_t size, const bg_sender_status *s)
{
    if (s->quota_exempt)
        snprintf(dst, size, "exempt");
    else if (s->quota_limit == 0)
        snprintf(dst, size, "none");
    else
        snprintf(dst, size, "%ld/%ld", s->used, s->quota_limit);
}

int
cli_cmd_senders(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"blocked", no_argument, NULL, 'b'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    static const char *const head[] = {"SENDER", "STATE",   "QUOTA USED", "LEFT",
                                       "RESETS", "REFUSED", "TRIED BL",   "LAST SEEN"};
    bool only_blocked = false;
    id_list l = {NULL, 0, 0};
    bg_table *table = NULL;
    bg_json_obj j = BG_JSON_OBJ_INIT;
    bg_store *st;
    bg_error err;
    int64_t now;
    size_t shown = 0;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b", opts, NULL)) != -1) {
        if (c == 'b')
            only_blocked = true;
        else if (c == 'j')
            ctx->json = true;
        else
            return cli_option_error("senders", argc, argv);
    }
    if (optind < argc)
        return cli_usage_error("senders", "unexpected argument %.60s", argv[optind]);
    if ((rc = cli_store_open(ctx, "senders", false, &st)) != 0)
        return rc;
    now = cli_now();
    /* Ids first, then one look at each: the tried count reads other records. */
    if (bg_store_sender_foreach(st, collect, &l, &err) < 0)
        rc = cli_runtime_error("senders", "%s", err.msg);
    bg_json_obj_begin(&j);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        bg_sender_status s;
        char used[32], left[24], resets[32], refused[16], tried[24], seen[32];
        if (bg_gate_sender_status(st, ctx->config, l.ids[i], NULL, now, &s, &err) < 0) {
            rc = cli_runtime_error("senders", "%s", err.msg);
            break;
        }
        if (only_blocked && !s.blocked && !s.over_quota)
            continue;
        shown++;
        if (ctx->json) {
            cli_json_sender(&j, l.ids[i], &s);
            cli_json_print(&j, ctx->out);
            continue;
        }
        quota_cell(used, sizeof(used), &s);
        if (s.quota_exempt || s.quota_limit == 0)
            snprintf(left, sizeof(left), "-");
        else
            snprintf(left, sizeof(left), "%ld", s.left);
        snprintf(refused, sizeof(refused), "%u", s.window_open ? s.rec.refused : 0);
        if (s.bounce_limit > 0)
            snprintf(tried, sizeof(tried), "%ld/%ld", s.tried_blacklisted,
                     s.bounce_limit);
        else
            snprintf(tried, sizeof(tried), "%ld", s.tried_blacklisted);
        const char *cells[] = {l.ids[i],
                               s.blocked      ? "blocked"
                               : s.over_quota ? "over quota"
                                              : "ok",
                               used,
                               left,
                               cli_time(resets, sizeof(resets), s.window_reset),
                               refused,
                               tried,
                               cli_time(seen, sizeof(seen), s.rec.last_seen)};
        if (table == NULL)
            table = cli_table_new(ctx, 8, head, 500);
        bg_table_row(table,
                     cli_color_code(ctx, s.blocked || s.over_quota ? CLI_RED : CLI_RESET),
                     cells);
    }
    table = bg_table_end(table);
    if (rc == 0 && shown == 0 && !ctx->json)
        fprintf(ctx->out, only_blocked
                              ? "no sender is blocked or over quota\n"
                              : "no sender has sent mail through the relay yet\n");
    for (size_t i = 0; i < l.n; i++)
        free(l.ids[i]);
    free(l.ids);
    bg_json_obj_free(&j);
    bg_store_close(st);
    return rc;
}

/* ---- sender show --------------------------------------------------------- */

typedef struct tried_arg {
    bg_buf json; /* JSON array of {address, tried, blacklisted, release} */
    bg_table *table;
    cli_ctx *ctx;
    int64_t now;
    size_t n;
} tried_arg;

static int
tried_visit(const char *addr, int64_t when, const bg_rcpt_rec *r, bool bl, void *arg)
{
    tried_arg *a = arg;
    int64_t release = bl && r ? r->expires : 0; /* bl: r is there */
    char t1[32], t2[32];

    if (a->ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        bg_json_obj_str(&j, "address", addr);
        bg_json_obj_time(&j, "tried", when);
        bg_json_obj_bool(&j, "blacklisted", bl);
        bg_json_obj_time(&j, "release", release);
        bg_buf_puts(&a->json, a->n ? "," : "");
        bg_buf_puts(&a->json, bg_json_obj_close(&j));
        bg_json_obj_free(&j);
    } else {
        static const char *const head[] = {"TRIED RECIPIENT", "TRIED AT", "STATE",
                                           "RELEASE"};
        const char *cells[] = {addr, cli_time(t1, sizeof(t1), when),
                               r ? bg_policy_rcpt_state_name(r, a->now) : "gone",
                               release ? cli_time(t2, sizeof(t2), release) : "-"};
        if (a->table == NULL)
            a->table = cli_table_new(a->ctx, 4, head, 200);
        bg_table_row(a->table, cli_color_code(a->ctx, bl ? CLI_RESET : CLI_DIM), cells);
    }
    a->n++;
    return 0;
}

static int
sender_show(cli_ctx *ctx, bg_store *st, const char *id)
{
    bg_sender_status s;
    bg_error err;
    int64_t now = cli_now();
    tried_arg a = {BG_BUF_INIT, NULL, ctx, now, 0};
    char t1[32], t2[32], used[32];

    if (bg_gate_sender_status(st, ctx->config, id, NULL, now, &s, &err) < 0)
        return cli_runtime_error("sender", "%s", err.msg);
    if (!ctx->json) {
        quota_cell(used, sizeof(used), &s);
        fprintf(ctx->out, "%s%s%s%s\n", cli_color_code(ctx, CLI_BOLD), cli_safe(id),
                cli_color_code(ctx, CLI_RESET), s.found ? "" : " (no quota record)");
        fprintf(ctx->out, "%-22s %s%s%s\n", "state",
                cli_color_code(ctx, s.blocked || s.over_quota ? CLI_RED : CLI_GREEN),
                s.blocked      ? "blocked (too many blacklisted recipients tried)"
                : s.over_quota ? "over quota"
                               : "may send",
                cli_color_code(ctx, CLI_RESET));
        if (s.bounce_limit > 0)
            fprintf(ctx->out, "%-22s %ld (blocked at %ld)\n", "tried blacklisted",
                    s.tried_blacklisted, s.bounce_limit);
        else
            fprintf(ctx->out, "%-22s %ld (never blocked)\n", "tried blacklisted",
                    s.tried_blacklisted);
        fprintf(ctx->out, "%-22s %s", "quota used", used);
        if (!s.quota_exempt && s.quota_limit > 0)
            fprintf(ctx->out, ", %ld left", s.left);
        fputc('\n', ctx->out);
        fprintf(ctx->out, "%-22s %s\n", "window start",
                cli_time(t1, sizeof(t1), s.window_open ? s.rec.window_start : 0));
        fprintf(ctx->out, "%-22s %s%s%s%s\n", "window resets",
                cli_time(t2, sizeof(t2), s.window_reset), s.window_reset ? " (in " : "",
                s.window_reset ? cli_time_left(t1, sizeof(t1), s.window_reset, now) : "",
                s.window_reset ? ")" : "");
        fprintf(ctx->out, "%-22s %u\n", "refused in window",
                s.window_open ? s.rec.refused : 0);
        fprintf(ctx->out, "%-22s %llu\n", "accepted (lifetime)",
                (unsigned long long)s.rec.total);
        fprintf(ctx->out, "%-22s %s\n\n", "last seen",
                cli_time(t1, sizeof(t1), s.rec.last_seen));
    }
    bg_buf_putc(&a.json, '[');
    if (bg_gate_tried_foreach(st, id, now, tried_visit, &a, &err) < 0) {
        a.table = bg_table_end(a.table);
        bg_buf_free(&a.json);
        return cli_runtime_error("sender", "%s", err.msg);
    }
    bg_buf_putc(&a.json, ']');
    a.table = bg_table_end(a.table);
    if (ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        cli_json_sender(&j, id, &s);
        bg_json_obj_raw(&j, "tried", bg_buf_str(&a.json));
        cli_json_print(&j, ctx->out);
        bg_json_obj_free(&j);
    } else if (a.n == 0) {
        fprintf(ctx->out, "no blacklisted recipient tried\n");
    }
    bg_buf_free(&a.json);
    return s.found || a.n > 0 ? CLI_EXIT_OK : CLI_EXIT_NEGATIVE;
}

/* ---- sender reset -------------------------------------------------------- */

static int
sender_reset(cli_ctx *ctx, bg_store *st, const char *id, const char *why)
{
    bool existed = false;
    bg_error err;
    int64_t now = cli_now();
    size_t tried = 0;

    if (bg_gate_sender_reset(st, id, &existed, &tried, &err) < 0)
        return cli_runtime_error("sender", "%s", err.msg);
    if (!existed && tried == 0) {
        fprintf(stderr,
                "bounceguard: sender: %s is not in the store (nothing to reset)\n", id);
        return CLI_EXIT_NEGATIVE;
    }
    if (cli_audit(st, "sender", now, "sender reset %s (quota window%s, %zu tried): %s",
                  id, existed ? "" : " none", tried,
                  why && *why ? why : "(no reason given)") < 0)
        return CLI_EXIT_RUNTIME;
    if (ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        bg_json_obj_str(&j, "sender", id);
        bg_json_obj_str(&j, "result", "reset");
        bg_json_obj_bool(&j, "had_window", existed);
        bg_json_obj_int(&j, "tried_forgotten", (long long)tried);
        cli_json_print(&j, ctx->out);
        bg_json_obj_free(&j);
    } else {
        fprintf(ctx->out, "%s: quota window reset, %zu tried recipient%s forgotten\n",
                cli_safe(id), tried, tried == 1 ? "" : "s");
    }
    return CLI_EXIT_OK;
}

int
cli_cmd_sender(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *why = "";
    char id[300];
    bg_store *st;
    bg_error err;
    bool reset;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:", opts, NULL)) != -1) {
        if (c == 'r')
            why = optarg;
        else if (c == 'j')
            ctx->json = true;
        else
            return cli_option_error("sender", argc, argv);
    }
    if (optind + 2 != argc ||
        (strcmp(argv[optind], "show") != 0 && strcmp(argv[optind], "reset") != 0))
        return cli_usage_error("sender", "expected show ID or reset ID");
    reset = strcmp(argv[optind], "reset") == 0;
    if (bg_policy_identity_parse(argv[optind + 1], id, sizeof(id), &err) < 0)
        return cli_usage_error("sender", "%s", err.msg);
    if ((rc = cli_store_open(ctx, "sender", false, &st)) != 0)
        return rc;
    rc = reset ? sender_reset(ctx, st, id, why) : sender_show(ctx, st, id);
    bg_store_close(st);
    return rc;
}
