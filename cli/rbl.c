/*
 * rbl — `bounceguard rbl SUBCOMMAND`: the relay's standing on DNS blacklists.
 *
 *   rbl check IP [--lists FILE] [--resolver IP[:PORT]] [--timeout 5s] [--json]
 *
 * check asks every list in parallel (lib/dnsbl.c), each for the address and
 * for its RFC 5782 test entry, and prints one row per list; --json prints one
 * JSON object per list, one per line.  Exit 0 when every list answered and
 * none lists the address, 1 when one lists it, 4 when none does but some
 * list cannot tell (no answer, refused, or its test entry not listed).
 * Subcommands live in the table `subcommands` below (one row each).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/json_out.h"
#include "bounceguard/dnsbl.h"
#include "cli.h"

typedef struct rbl_subcommand {
    const char *name;
    cli_command_fn *fn;
} rbl_subcommand;

static int rbl_check(cli_ctx *ctx, int argc, char **argv);

/* One row per subcommand.  `rbl incidents` (the RBL blocks learned from
 * bounces, read from the store) lives in cli/report_cmds.c. */
static const rbl_subcommand subcommands[] = {
    {"check", rbl_check},
    {"incidents", cli_rbl_incidents},
};

int
cli_cmd_rbl(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("rbl", "which subcommand?");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(ctx, argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return cli_usage_error("rbl", "subcommands: check, incidents");
    return cli_usage_error("rbl", "unknown subcommand %.40s", argv[1]);
}

/* ---- rbl check -------------------------------------------------------- */

#define COL_MAX 60 /* longest meaning / reason shown in the table */

/* s cut to max bytes with "..." (into dst[size]); "-" for NULL or "". */
static const char *
cell(char *dst, size_t size, const char *s, size_t max)
{
    if (s == NULL || *s == '\0')
        return "-";
    return bg_sanitize_cell(dst, size, s, max);
}

static cli_color
status_color(bg_dnsbl_status s)
{
    switch (s) {
    case BG_DNSBL_LISTED:
        return CLI_RED;
    case BG_DNSBL_NOT_LISTED:
        return CLI_GREEN;
    case BG_DNSBL_SKIPPED:
        return CLI_DIM;
    default:
        return CLI_YELLOW;
    }
}

static void
print_json(cli_ctx *ctx, const char *ip, const bg_dnsbl_result *r, size_t n)
{
    bg_json_obj o = BG_JSON_OBJ_INIT;
    bg_buf answers = BG_BUF_INIT;

    for (size_t i = 0; i < n; i++) {
        bg_buf_reset(&answers);
        bg_buf_putc(&answers, '[');
        if (r[i].answers) {
            char *copy = bg_xstrdup(r[i].answers), *save = NULL;
            int k = 0;
            for (char *t = strtok_r(copy, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                if (k++)
                    bg_buf_putc(&answers, ',');
                bg_json_string(&answers, t);
            }
            free(copy);
        }
        bg_buf_putc(&answers, ']');
        bg_json_obj_begin(&o);
        bg_json_obj_str(&o, "ip", ip);
        bg_json_obj_str(&o, "list", r[i].list->name);
        bg_json_obj_str(&o, "zone", r[i].list->zone);
        bg_json_obj_str(&o, "status", bg_dnsbl_status_name(r[i].status));
        bg_json_obj_bool(&o, "listed", r[i].status == BG_DNSBL_LISTED);
        bg_json_obj_bool(&o, "cannot_tell", bg_dnsbl_cannot_tell(r[i].status));
        bg_json_obj_str(&o, "test_entry",
                        r[i].status == BG_DNSBL_SKIPPED
                            ? NULL
                            : bg_dnsbl_status_name(r[i].test_entry));
        bg_json_obj_raw(&o, "answers", bg_buf_str(&answers));
        bg_json_obj_str(&o, "meaning", r[i].meaning);
        bg_json_obj_str(&o, "txt", r[i].txt);
        bg_json_obj_str(&o, "delist_url", r[i].list->delist_url);
        bg_json_obj_str(&o, "error", r[i].error);
        bg_json_obj_int(&o, "elapsed_ms", (long long)r[i].elapsed_ms);
        fprintf(ctx->out, "%s\n", bg_json_obj_close(&o));
    }
    bg_json_obj_free(&o);
    bg_buf_free(&answers);
}

/* One row of the human table; the cells are owned by the row. */
enum { C_LIST, C_RESULT, C_CODE, C_MEANING, C_TXT, C_DELIST, NCOL };
typedef struct table_row {
    char *cell[NCOL];
    bg_dnsbl_status status;
    bool first; /* the list's first row: carries the coloured result */
} table_row;

static void
add_row(table_row **rows, size_t *n, bg_dnsbl_status st, bool first,
        const char *const v[NCOL])
{
    char buf[COL_MAX + 8];
    table_row *r;

    *rows = bg_xrealloc(*rows, (*n + 1) * sizeof(**rows));
    r = &(*rows)[(*n)++];
    r->status = st;
    r->first = first;
    for (int c = 0; c < NCOL; c++)
        r->cell[c] = bg_xstrdup(first || c == C_CODE || c == C_MEANING
                                    ? cell(buf, sizeof(buf), v[c], COL_MAX)
                                    : "");
}

/* The rows of one list: one per answer code, each with its own meaning. */
static void
result_rows(table_row **rows, size_t *n, const bg_dnsbl_result *x)
{
    const char *v[NCOL] = {
        x->list->name, bg_dnsbl_status_name(x->status),
        NULL,          NULL,
        x->txt,        x->status == BG_DNSBL_LISTED ? x->list->delist_url : NULL};
    char *copy, *save = NULL;
    bool first = true;

    if (x->answers == NULL) {
        v[C_MEANING] = x->error;
        add_row(rows, n, x->status, true, v);
        return;
    }
    copy = bg_xstrdup(x->answers);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        struct in_addr a;
        bg_buf m = BG_BUF_INIT;
        if (inet_pton(AF_INET, t, &a) != 1)
            continue;
        bg_dnsbl_decode(x->list->codes_from, &a, 1, &m);
        v[C_CODE] = t;
        /* the decoder writes "ADDRESS meaning" */
        v[C_MEANING] = m.len > strlen(t) + 1 ? bg_buf_str(&m) + strlen(t) + 1 : "-";
        add_row(rows, n, x->status, first, v);
        first = false;
        bg_buf_free(&m);
    }
    free(copy);
}

static void
print_table(cli_ctx *ctx, const char *ip, const bg_dnsbl_result *r, size_t n)
{
    static const char *const head[NCOL] = {"LIST",    "RESULT",       "CODE",
                                           "MEANING", "REASON (TXT)", "DELISTING"};
    table_row *rows = NULL;
    size_t nrows = 0, w[NCOL];
    bg_dnsbl_summary sum;
    bg_dnsbl_verdict verdict = bg_dnsbl_summarize(r, n, &sum);

    for (size_t i = 0; i < n; i++)
        result_rows(&rows, &nrows, &r[i]);
    for (int c = 0; c < NCOL; c++) {
        w[c] = strlen(head[c]);
        for (size_t i = 0; i < nrows; i++)
            if (strlen(rows[i].cell[c]) > w[c])
                w[c] = strlen(rows[i].cell[c]);
    }
    fputs(cli_color_code(ctx, CLI_BOLD), ctx->out);
    for (int c = 0; c < NCOL; c++)
        fprintf(ctx->out, "%-*s%s", c < NCOL - 1 ? (int)w[c] : 0, head[c],
                c < NCOL - 1 ? "  " : "");
    fprintf(ctx->out, "%s\n", cli_color_code(ctx, CLI_RESET));
    for (size_t i = 0; i < nrows; i++) {
        char **v = rows[i].cell;
        /* Pad outside the colour codes so that the columns stay aligned. */
        fprintf(ctx->out, "%-*s  %s%s%s%*s  %-*s  %-*s  %-*s  %s\n", (int)w[C_LIST],
                v[C_LIST], cli_color_code(ctx, status_color(rows[i].status)), v[C_RESULT],
                cli_color_code(ctx, CLI_RESET), (int)(w[C_RESULT] - strlen(v[C_RESULT])),
                "", (int)w[C_CODE], v[C_CODE], (int)w[C_MEANING], v[C_MEANING],
                (int)w[C_TXT], v[C_TXT], v[C_DELIST]);
        for (int c = 0; c < NCOL; c++)
            free(v[c]);
    }
    free(rows);

    switch (verdict) {
    case BG_DNSBL_VERDICT_LISTED:
        fprintf(ctx->out, "\n%s: %sLISTED%s on %zu of %zu lists", ip,
                cli_color_code(ctx, CLI_RED), cli_color_code(ctx, CLI_RESET), sum.listed,
                sum.asked);
        if (sum.cannot_tell)
            fprintf(ctx->out, "; %zu cannot tell", sum.cannot_tell);
        break;
    case BG_DNSBL_VERDICT_CANNOT_TELL:
        fprintf(ctx->out, "\n%s: %scannot tell%s: %zu of %zu %s could not say", ip,
                cli_color_code(ctx, CLI_YELLOW), cli_color_code(ctx, CLI_RESET),
                sum.cannot_tell, sum.asked, sum.asked == 1 ? "list" : "lists");
        if (sum.not_listed)
            fprintf(ctx->out, "; not listed on the other %zu", sum.not_listed);
        break;
    case BG_DNSBL_VERDICT_NOT_LISTED:
        fprintf(ctx->out, "\n%s: %snot listed%s (%zu %s asked, each answered its test entry)",
                ip, cli_color_code(ctx, CLI_GREEN), cli_color_code(ctx, CLI_RESET), sum.asked,
                sum.asked == 1 ? "list" : "lists");
        break;
    }
    if (sum.skipped)
        fprintf(ctx->out, "; %zu skipped (no IPv6 support)", sum.skipped);
    fputc('\n', ctx->out);
    if (sum.refused || sum.unverified)
        fprintf(ctx->out,
                "hint: a list that refuses the query or does not list its test entry "
                "%s is not answering this resolver: ask through a resolver of your own "
                "(dns_resolver, --resolver), not a public one\n",
                BG_DNSBL_TEST_ENTRY);
}

static int
rbl_check(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"lists", required_argument, NULL, 'l'},
        {"resolver", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *lists_file = NULL, *resolver = ctx->config->dns_resolver;
    int64_t timeout = ctx->config->rbl_timeout;
    bg_dnsbl_set *set;
    bg_dnsbl_result *res = NULL;
    bg_dnsbl_options opt;
    bg_error err;
    bool resolver_from_option = false;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            lists_file = optarg;
            break;
        case 'r':
            resolver = optarg;
            resolver_from_option = true;
            break;
        case 't':
            if (bg_duration_parse(optarg, &timeout, &err) < 0)
                return cli_usage_error("rbl", "--timeout: %s", err.msg);
            if (timeout < 1 || timeout > 300)
                return cli_usage_error("rbl", "--timeout must be 1s to 300s");
            break;
        case 'j':
            ctx->json = true;
            break;
        case 'h':
            return cli_usage_error("rbl", "check an address on DNS blacklists");
        case ':':
            return cli_usage_error("rbl", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("rbl", "unknown option %.40s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("rbl", optind >= argc ? "check needs an IP address"
                                                     : "check takes one IP address");

    if (lists_file)
        set = bg_dnsbl_set_load(lists_file, &err);
    else
        set = bg_dnsbl_set_from_strlist(&ctx->config->rbl_lists, &err);
    if (set == NULL) {
        fprintf(stderr, "bounceguard: rbl: %s\n", err.msg);
        return lists_file ? CLI_EXIT_USAGE : CLI_EXIT_CONFIG;
    }
    {
        char probe[300];
        bool v6;
        if (bg_dnsbl_query_name(argv[optind], "x", probe, sizeof(probe), &v6, &err) < 0) {
            bg_dnsbl_set_free(set);
            fprintf(stderr, "bounceguard: rbl: %s\n", err.msg); /* one line */
            return CLI_EXIT_USAGE;
        }
    }
    opt.resolver = resolver;
    opt.timeout_ms = timeout * 1000;
    if (bg_dnsbl_check(set, argv[optind], &opt, &res, &err) < 0) {
        fprintf(stderr, "bounceguard: rbl: %s\n", err.msg);
        bg_dnsbl_set_free(set);
        /* A bad --resolver is the caller's mistake, a bad dns_resolver the config's. */
        if (resolver_from_option)
            return CLI_EXIT_USAGE;
        return (resolver && *resolver) ? CLI_EXIT_CONFIG : CLI_EXIT_RUNTIME;
    }
    if (ctx->json)
        print_json(ctx, argv[optind], res, set->count);
    else
        print_table(ctx, argv[optind], res, set->count);
    bg_dnsbl_summary sum;
    bg_dnsbl_verdict verdict = bg_dnsbl_summarize(res, set->count, &sum);
    bg_dnsbl_results_free(res, set->count);
    bg_dnsbl_set_free(set);
    switch (verdict) {
    case BG_DNSBL_VERDICT_LISTED:
        return CLI_EXIT_NEGATIVE;
    case BG_DNSBL_VERDICT_CANNOT_TELL:
        return CLI_EXIT_RUNTIME;
    case BG_DNSBL_VERDICT_NOT_LISTED:
        break;
    }
    return CLI_EXIT_OK;
}
