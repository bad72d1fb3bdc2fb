/*
 * relaytest — `bounceguard relay-test HOST[:PORT]`: is that server an open
 * relay?
 *
 *   relay-test HOST[:PORT] [--from-domain D] [--to-domain D] [--helo NAME]
 *              [--timeout 10s] [--json]
 *
 * Runs the tricks of lib/relaytest.c (never sends a message: it stops at
 * RCPT TO) and prints one row per trick and the overall verdict; --json
 * prints one object per trick and a closing summary object, one per line.
 * Exit 1 if any trick was accepted (open relay), 0 if none was (closed),
 * 4 if no session could be held or no trick got a conclusive answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/json_out.h"
#include "bounceguard/relaytest.h"
#include "cli.h"
#include "output.h"

static cli_color
verdict_color(bg_relay_verdict v)
{
    switch (v) {
    case BG_RELAY_ACCEPTED:
        return CLI_RED;
    case BG_RELAY_REFUSED:
        return CLI_GREEN;
    default:
        return CLI_YELLOW;
    }
}

static void
print_json(cli_ctx *ctx, const bg_relay_report *rep)
{
    bg_json_obj o = BG_JSON_OBJ_INIT;

    for (size_t i = 0; i < rep->count; i++) {
        const bg_relay_result *r = &rep->results[i];
        bg_json_obj_begin(&o);
        bg_json_obj_str(&o, "trick", r->name);
        bg_json_obj_str(&o, "mail_from", r->mail_from);
        bg_json_obj_str(&o, "rcpt_to", r->rcpt_to);
        bg_json_obj_str(&o, "verdict",
                        r->verdict == BG_RELAY_ACCEPTED
                            ? "accepted"
                            : bg_relay_verdict_name(r->verdict));
        bg_json_obj_str(&o, "stage", r->stage);
        bg_json_obj_int(&o, "code", r->code);
        bg_json_obj_str(&o, "reply", r->reply);
        cli_json_print(&o, ctx->out);
    }
    bg_json_obj_begin(&o);
    bg_json_obj_bool(&o, "summary", true);
    bg_json_obj_str(&o, "server", rep->peer);
    bg_json_obj_str(&o, "banner", rep->banner);
    bg_json_obj_str(&o, "server_domain", rep->server_domain);
    bg_json_obj_str(&o, "verdict",
                    rep->overall == BG_RELAY_OPEN      ? "open"
                    : rep->overall == BG_RELAY_CLOSED  ? "closed"
                    : rep->overall == BG_RELAY_PARTIAL ? "partial"
                    : rep->overall == BG_RELAY_TRUSTED ? "relays-for-client"
                                                       : "unknown");
    bg_json_obj_str(&o, "client", rep->local && *rep->local ? rep->local : NULL);
    bg_json_obj_str(&o, "vantage",
                    rep->vantage == BG_VANTAGE_LOOPBACK    ? "loopback"
                    : rep->vantage == BG_VANTAGE_SAME_HOST ? "same-host"
                                                           : "outside");
    bg_json_obj_bool(&o, "open", rep->overall == BG_RELAY_OPEN);
    bg_json_obj_int(&o, "tricks", (long long)rep->count);
    bg_json_obj_int(&o, "accepted", (long long)rep->accepted);
    bg_json_obj_int(&o, "refused", (long long)rep->refused);
    bg_json_obj_int(&o, "deferred", (long long)rep->deferred);
    bg_json_obj_int(&o, "errors", (long long)rep->errors);
    bg_json_obj_int(&o, "sessions", (long long)rep->sessions);
    cli_json_print(&o, ctx->out);
    bg_json_obj_free(&o);
}

static void
print_table(cli_ctx *ctx, const bg_relay_report *rep)
{
    size_t wn = strlen("TRICK"), wr = strlen("RCPT TO"), wv = strlen("ACCEPTED");

    fprintf(ctx->out, "server %s: %s\n\n", cli_safe(rep->peer), cli_safe(rep->banner));
    for (size_t i = 0; i < rep->count; i++) {
        size_t n = strlen(rep->results[i].name), r = strlen(rep->results[i].rcpt_to) + 2;
        wn = n > wn ? n : wn;
        wr = r > wr ? r : wr;
    }
    fprintf(ctx->out, "%s%-*s  %-*s  %-*s  %s%s\n", cli_color_code(ctx, CLI_BOLD),
            (int)wn, "TRICK", (int)wr, "RCPT TO", (int)wv, "VERDICT", "REPLY",
            cli_color_code(ctx, CLI_RESET));
    for (size_t i = 0; i < rep->count; i++) {
        const bg_relay_result *r = &rep->results[i];
        char *rcpt = bg_xasprintf("<%s>", r->rcpt_to);
        char reply[100];

        if (r->code)
            snprintf(reply, sizeof(reply), "%s %d %.70s", r->stage, r->code,
                     r->reply ? r->reply : "");
        else
            snprintf(reply, sizeof(reply), "%s: %.80s", r->stage,
                     r->reply ? r->reply : "");
        fprintf(ctx->out, "%-*s  %-*s  %s%-*s%s  %s\n", (int)wn, r->name, (int)wr,
                cli_safe(rcpt), cli_color_code(ctx, verdict_color(r->verdict)), (int)wv,
                bg_relay_verdict_name(r->verdict), cli_color_code(ctx, CLI_RESET),
                cli_safe(reply));
        free(rcpt);
    }
    fprintf(ctx->out,
            "\nverdict: %s%s%s (%zu tricks: %zu accepted, %zu refused, %zu deferred, "
            "%zu errors; %zu sessions; no message was sent)\n",
            cli_color_code(ctx, rep->overall == BG_RELAY_OPEN ? CLI_RED : CLI_GREEN),
            bg_relay_overall_name(rep->overall), cli_color_code(ctx, CLI_RESET),
            rep->count, rep->accepted, rep->refused, rep->deferred, rep->errors,
            rep->sessions);
    if (rep->vantage != BG_VANTAGE_OUTSIDE)
        fprintf(ctx->out,
                "%s: tested from %s (%s), which a relay trusts (Postfix's mynetworks "
                "holds loopback and its own addresses)%s; run relay-test from a host "
                "outside the relay's networks, or with --outside if this one is not in "
                "them\n",
                rep->overall == BG_RELAY_TRUSTED ? "cannot tell" : "note",
                cli_safe(rep->local), bg_relay_vantage_name(rep->vantage),
                rep->overall == BG_RELAY_TRUSTED ? ": what it accepts here it may refuse "
                                                   "to strangers"
                                                 : "");
}

int
cli_cmd_relay_test(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"from-domain", required_argument, NULL, 'f'},
        {"to-domain", required_argument, NULL, 't'},
        {"helo", required_argument, NULL, 'H'},
        {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},
        {"outside", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bg_relay_options opt = {0};
    bg_relay_report *rep = NULL;
    bg_error err;
    char *host = NULL, *port = NULL;
    int64_t timeout = 10;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            opt.from_domain = optarg;
            break;
        case 't':
            opt.to_domain = optarg;
            break;
        case 'H':
            opt.helo = optarg;
            break;
        case 'T':
            if (bg_duration_parse(optarg, &timeout, &err) < 0)
                return cli_usage_error("relay-test", "--timeout: %s", err.msg);
            if (timeout < 1 || timeout > 600)
                return cli_usage_error("relay-test", "--timeout must be 1s to 600s");
            break;
        case 'j':
            ctx->json = true;
            break;
        case 'o':
            opt.outside = true;
            break;
        case 'h':
            return cli_usage_error("relay-test", "test a server for open relaying");
        case ':':
            return cli_usage_error("relay-test", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("relay-test", "unknown option %.40s",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("relay-test",
                               optind >= argc ? "which server?" : "one server at a time");
    if (bg_relay_parse_target(argv[optind], &host, &port, &err) < 0)
        return cli_usage_error("relay-test", "%s", err.msg);
    opt.host = host;
    opt.port = port;
    opt.timeout_ms = timeout * 1000;

    if (bg_relay_check_options(&opt, &err) < 0) {
        free(host);
        free(port);
        return cli_usage_error("relay-test", "%s", err.msg);
    }
    if (bg_relay_test(&opt, &rep, &err) < 0) {
        fprintf(stderr, "bounceguard: relay-test: %s\n", err.msg);
        free(host);
        free(port);
        return CLI_EXIT_RUNTIME;
    }
    if (ctx->json)
        print_json(ctx, rep);
    else
        print_table(ctx, rep);
    switch (rep->overall) {
    case BG_RELAY_OPEN:
        rc = CLI_EXIT_NEGATIVE;
        break;
    case BG_RELAY_UNKNOWN:
    case BG_RELAY_TRUSTED: /* cannot tell, as rbl check's unanswered test entry */
        rc = CLI_EXIT_RUNTIME;
        break;
    default:
        rc = CLI_EXIT_OK;
    }
    bg_relay_report_free(rep);
    free(host);
    free(port);
    return rc;
}
