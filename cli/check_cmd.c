/*
 * check_cmd — `bounceguard check ADDR [--sender ID]`: would bounceguard
 * refuse mail to ADDR (from sender ID), and why.
 *
 * The answer comes from the same code the milter runs: bg_gate_begin, then
 * bg_gate_mail (MAIL FROM) when a sender is given, then bg_gate_rcpt (RCPT
 * TO), all with txn.dry_run set, so nothing is written: no quota is taken
 * and the attempt is not counted against the sender.  Around the verdict
 * it prints what led to it: the address's canonical form, its blacklist
 * entry with the release time, and the sender's block and quota state.
 *
 * ID is the sender identity as the store files it: ip:ADDRESS, sasl:LOGIN or
 * env:ADDRESS (see sender_identity in bounceguard.conf(5)).
 * Exit 0 accepted, 1 refused, 2 bad arguments, 4 the store failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bounceguard/gate.h"
#include "output.h"

typedef struct check_result {
    bg_verdict_kind verdict;
    const char *stage; /* "MAIL FROM" or "RCPT TO" */
    char detail[300];
    bg_addr addr;
    bool have_rec;
    bg_rcpt_rec rec;
    bool have_sender;
    bg_sender_status sender;
} check_result;

static void
print_json(cli_ctx *ctx, const char *input, const char *id, const check_result *r,
           int64_t now)
{
    bg_json_obj j = BG_JSON_OBJ_INIT;
    bg_reply reply = bg_policy_reply(r->verdict, ctx->config);
    bool refused = r->verdict != BG_VERDICT_ACCEPT;

    bg_json_obj_begin(&j);
    bg_json_obj_str(&j, "address", input);
    bg_json_obj_str(&j, "canonical", r->addr.canon[0] ? r->addr.canon : NULL);
    bg_json_obj_bool(&j, "accepted", !refused);
    bg_json_obj_str(&j, "verdict", bg_policy_verdict_name(r->verdict));
    bg_json_obj_str(&j, "stage", refused ? r->stage : NULL);
    if (refused) {
        bg_buf b = BG_BUF_INIT;
        bg_buf_printf(&b, "%s %s %s", reply.rcode, reply.xcode, reply.text);
        bg_json_obj_str(&j, "reply", bg_buf_str(&b));
        bg_buf_free(&b);
    } else {
        bg_json_obj_raw(&j, "reply", "null");
    }
    bg_json_obj_str(&j, "detail", r->detail[0] ? r->detail : NULL);
    bg_json_obj_bool(&j, "observe_mode", ctx->config->mode == BG_MODE_OBSERVE);
    bg_json_obj_bool(&j, "blacklisted",
                     r->have_rec && bg_policy_rcpt_blacklisted(&r->rec, now));
    bg_json_obj_time(
        &j, "release",
        r->have_rec && bg_policy_rcpt_blacklisted(&r->rec, now) ? r->rec.expires : 0);
    if (r->have_rec) {
        bg_json_obj j2 = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j2);
        cli_json_rcpt(&j2, r->addr.canon, &r->rec, now);
        bg_json_obj_raw(&j, "record", bg_json_obj_close(&j2));
        bg_json_obj_free(&j2);
    } else {
        bg_json_obj_raw(&j, "record", "null");
    }
    if (r->have_sender) {
        bg_json_obj j2 = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j2);
        cli_json_sender(&j2, id, &r->sender);
        bg_json_obj_raw(&j, "sender", bg_json_obj_close(&j2));
        bg_json_obj_free(&j2);
    } else {
        bg_json_obj_raw(&j, "sender", "null");
    }
    cli_json_print(&j, ctx->out);
    bg_json_obj_free(&j);
}

static void
print_human(cli_ctx *ctx, const char *input, const char *id, const check_result *r,
            int64_t now)
{
    FILE *out = ctx->out;
    bg_reply reply = bg_policy_reply(r->verdict, ctx->config);
    bool refused = r->verdict != BG_VERDICT_ACCEPT;
    char t1[32], t2[32], safe[320];

    fprintf(out, "%-12s %s\n", "address",
            bg_sanitize_line(safe, sizeof(safe), input, 300));
    if (r->addr.canon[0])
        fprintf(out, "%-12s %s\n", "canonical", cli_safe(r->addr.canon));
    if (r->verdict == BG_VERDICT_BAD_ADDRESS || r->verdict == BG_VERDICT_BAD_DOMAIN)
        fprintf(out, "%-12s invalid: %s\n", "format", cli_safe(r->detail));
    else if (r->addr.canon[0])
        fprintf(out, "%-12s valid%s\n", "format",
                ctx->config->check_tld ? ", top-level domain exists"
                                       : " (TLD not checked)");
    if (r->have_rec && bg_policy_rcpt_blacklisted(&r->rec, now) &&
        bg_policy_rcpt_manual(&r->rec)) /* as the gate tells them apart */
        fprintf(out, "%-12s blocked by hand until %s (in %s)%s%s\n", "blacklist",
                cli_time(t1, sizeof(t1), r->rec.expires),
                cli_time_left(t2, sizeof(t2), r->rec.expires, now),
                r->rec.diagnostic[0] ? ": " : "",
                bg_sanitize_line(safe, sizeof(safe), r->rec.diagnostic, 200));
    else if (r->have_rec && bg_policy_rcpt_blacklisted(&r->rec, now))
        fprintf(out, "%-12s blacklisted until %s (in %s): %s %s, %u bounce%s, last %s\n",
                "blacklist", cli_time(t1, sizeof(t1), r->rec.expires),
                cli_time_left(t2, sizeof(t2), r->rec.expires, now),
                r->rec.status[0] ? cli_safe(r->rec.status) : "-", cli_safe(r->rec.reason),
                r->rec.bounce_count, r->rec.bounce_count == 1 ? "" : "s",
                cli_time(safe, sizeof(safe), r->rec.last_bounce));
    else if (r->have_rec)
        fprintf(out, "%-12s not blacklisted (%s since %s)\n", "blacklist",
                bg_policy_rcpt_state_name(&r->rec, now),
                cli_time(t1, sizeof(t1), r->rec.expires));
    else if (r->addr.canon[0])
        fprintf(out, "%-12s not blacklisted (never bounced)\n", "blacklist");
    if (r->have_sender) {
        const bg_sender_status *s = &r->sender;
        fprintf(out, "%-12s %s\n", "sender", cli_safe(id));
        if (s->bounce_limit > 0)
            fprintf(out, "%-12s %s: tried %ld blacklisted recipient%s (limit %ld)\n", "",
                    s->blocked ? "BLOCKED" : "not blocked", s->tried_blacklisted,
                    s->tried_blacklisted == 1 ? "" : "s", s->bounce_limit);
        else
            fprintf(out, "%-12s never blocked (sender_bounce_limit = 0)\n", "");
        if (s->quota_exempt || s->quota_limit == 0)
            fprintf(out, "%-12s quota: %s\n", "",
                    s->quota_exempt ? "exempt (trusted)" : "none (quota_limit = 0)");
        else if (s->window_open)
            fprintf(
                out,
                "%-12s quota: %ld of %ld used, %ld left; window since %s, resets %s\n",
                "", s->used, s->quota_limit, s->left,
                cli_time(t1, sizeof(t1), s->rec.window_start),
                cli_time(t2, sizeof(t2), s->window_reset));
        else
            fprintf(out, "%-12s quota: 0 of %ld used (no window running)\n", "",
                    s->quota_limit);
    } else {
        fprintf(out, "%-12s not checked (give --sender ip:IP, sasl:LOGIN or env:ADDR)\n",
                "sender");
    }
    if (refused)
        fprintf(out, "%-12s %sREFUSED%s at %s: %s %s %s\n", "verdict",
                cli_color_code(ctx, CLI_RED), cli_color_code(ctx, CLI_RESET), r->stage,
                reply.rcode, reply.xcode, reply.text);
    else if (r->have_rec && bg_policy_rcpt_blacklisted(&r->rec, now))
        fprintf(out,
                "%-12s %sACCEPTED%s: never_blacklist or exempt_recipients lets it "
                "through\n",
                "verdict", cli_color_code(ctx, CLI_GREEN),
                cli_color_code(ctx, CLI_RESET));
    else
        fprintf(out, "%-12s %sACCEPTED%s%s%s\n", "verdict",
                cli_color_code(ctx, CLI_GREEN), cli_color_code(ctx, CLI_RESET),
                r->detail[0] ? ": " : "", cli_safe(r->detail));
    if (refused && ctx->config->mode == BG_MODE_OBSERVE)
        fprintf(out,
                "%-12s mode = observe: the milter logs this refusal and lets the mail "
                "through\n",
                "note");
}

int
cli_cmd_check(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"sender", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const bg_config *cfg = ctx->config;
    char id[300] = "";
    check_result r;
    bg_gate_txn t;
    bg_store *st;
    bg_error err;
    int64_t now;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (bg_policy_identity_parse(optarg, id, sizeof(id), &err) < 0)
                return cli_usage_error("check", "%s", err.msg);
            break;
        case 'j':
            ctx->json = true;
            break;
        default:
            return cli_option_error("check", argc, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("check", "give exactly one address");
    if ((rc = cli_store_open(ctx, "check", false, &st)) != 0)
        return rc;
    memset(&r, 0, sizeof(r));
    now = cli_now();

    /* The transaction as the milter would begin it for this client. */
    bg_gate_begin(&t, cfg, strncmp(id, "sasl:", 5) == 0 ? id + 5 : NULL,
                  strncmp(id, "ip:", 3) == 0 ? id + 3 : NULL,
                  strncmp(id, "env:", 4) == 0 ? id + 4 : NULL);
    t.dry_run = true;
    if (id[0] && strcmp(t.identity, id) != 0) {
        /* The operator names the identity; sender_identity may derive
         * another one from the same client, so say so and use theirs. */
        if (!ctx->json)
            fprintf(stderr,
                    "bounceguard: check: note: with sender_identity as configured "
                    "the milter would name this client %s; checking %s\n",
                    t.identity, id);
        bg_strlcpy(t.identity, id, sizeof(t.identity));
        t.quota_exempt = bg_policy_quota_exempt(cfg, t.identity, t.client_ip);
    } else if (id[0] == '\0') {
        t.quota_exempt = true; /* no sender given: the quota is not asked about */
    }

    r.verdict = BG_VERDICT_ACCEPT;
    if (id[0]) {
        r.stage = "MAIL FROM";
        r.verdict = bg_gate_mail(st, cfg, &t, now, &err);
    }
    if (r.verdict == BG_VERDICT_ACCEPT) {
        r.stage = "RCPT TO";
        r.verdict = bg_gate_rcpt(st, cfg, &t, argv[optind], now, &r.addr, r.detail,
                                 sizeof(r.detail), &err);
    } else {
        /* Refused at MAIL FROM: still show what RCPT TO would find. */
        bg_error e2;
        (void)bg_addr_parse(argv[optind], &r.addr, &e2);
    }
    if (r.verdict == BG_VERDICT_STORE_ERROR) {
        bg_store_close(st);
        return cli_runtime_error("check", "%s", err.msg);
    }
    if (r.addr.canon[0]) {
        bg_lookup l = bg_store_rcpt_get(st, r.addr.canon, &r.rec, &err);
        if (l == BG_LOOKUP_ERROR) {
            bg_store_close(st);
            return cli_runtime_error("check", "%s", err.msg);
        }
        r.have_rec = l == BG_FOUND;
    }
    if (id[0]) {
        if (bg_gate_sender_status(st, cfg, id, NULL, now, &r.sender, &err) < 0) {
            bg_store_close(st);
            return cli_runtime_error("check", "%s", err.msg);
        }
        r.have_sender = true;
    }
    bg_store_close(st);
    if (ctx->json)
        print_json(ctx, argv[optind], id, &r, now);
    else
        print_human(ctx, argv[optind], id, &r, now);
    return r.verdict == BG_VERDICT_ACCEPT ? CLI_EXIT_OK : CLI_EXIT_NEGATIVE;
}
