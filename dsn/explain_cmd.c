/*
 * explain_cmd — `bounceguard-dsn [-c FILE] explain [FILE|-]`: why a bounce is
 * judged the way it is.  For each failed recipient of a bounce message: what
 * was read (action, status, the SMTP stage, the remote server and its
 * reply), the reason and scope, the rule that decided them (a provider's
 * documented code, the status code, a phrase), and what bounceguard would do
 * with it under the configuration's blacklist_reasons (blacklist, an
 * incident naming the list or provider, or nothing and why).
 *
 * Input that is not a bounce message is read as remote replies, one per
 * line ("550 5.7.1 ... (S3150)"), so that an administrator can paste a line
 * from a log or a ticket.  Read-only: no store.  The configuration is read
 * when it exists (for blacklist_reasons and reply_rules_file), else the
 * defaults apply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/config.h"
#include "bounceguard/dsn.h"
#include "bounceguard/policy.h"
#include "bounceguard/reply_rules.h"
#include "bounceguard/util.h"
#include "bounceguard/reply.h"
#include "dsn.h"

#define INPUT_MAX (4u * 1024 * 1024)

static void
line(const char *key, const char *value)
{
    char safe[1100];

    if (value && *value)
        printf("  %-10s %s\n", key, bg_sanitize_line(safe, sizeof safe, value, 1000));
}

static void
decision(const bg_config *cfg, const bg_bounce_judged *j, const char *list)
{
    const char *why;
    char safe[200];

    switch (bg_policy_bounce_decision(cfg, j, &why)) {
    case BG_BOUNCE_BLACKLIST:
        printf("  %-10s blacklist the recipient: %s\n", "decision", why);
        break;
    case BG_BOUNCE_INCIDENT:
        printf("  %-10s an incident about the relay (%s): %s\n", "decision",
               list && *list ? bg_sanitize_line(safe, sizeof safe, list, 120)
                             : "named by the remote server",
               why);
        break;
    case BG_BOUNCE_NOTHING:
        printf("  %-10s nothing: %s\n", "decision", why);
        break;
    }
}

static void
explain_report(const bg_config *cfg, const char *file, const bg_dsn_report *r)
{
    static const char *const kinds[] = {
        "not a bounce",           "an RFC 3464 delivery-status report",
        "a bounce in plain text", "an ARF feedback report",
        "an auto-reply",          "a message disposition notification"};
    char safe[300];

    printf("%s: %s, %zu recipient(s)\n", bg_sanitize_line(safe, sizeof safe, file, 200),
           kinds[r->kind], r->nrcpts);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const bg_dsn_rcpt *rc = &r->rcpts[i];
        bg_bounce_judged j = {rc->action, rc->status, rc->reason, rc->scope, rc->stage};

        printf("%s\n",
               bg_sanitize_line(safe, sizeof safe,
                                rc->recipient ? rc->recipient : "(no address)", 256));
        line("action", rc->action);
        line("status", rc->status);
        line("stage", bg_stage_name(rc->stage));
        line("remote", rc->remote_mta);
        line("reply", rc->diagnostic);
        line("reason", rc->reason);
        line("scope", bg_scope_name(rc->scope));
        line("list", rc->list);
        line("delist", rc->delist);
        line("rule", rc->rule);
        decision(cfg, &j, rc->list);
    }
}

/* Each non-empty line of text as a remote server's reply. */
/* Whether the input is a mail message (a header block, a blank line, a
 * body) rather than reply lines: a message that is no bounce is said to be
 * none, not read line by line as replies. */
static bool
looks_like_message(const char *s, size_t len)
{
    size_t name =
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

    if (name == 0 || name >= len || s[name] != ':')
        return false;
    return memmem(s, len, "\n\n", 2) != NULL || memmem(s, len, "\r\n\r\n", 4) != NULL;
}

static void
explain_replies(const bg_config *cfg, char *text)
{
    for (char *p = text, *next; p && *p; p = next) {
        char status[16] = "";
        bg_reply_class cl;

        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (len == 0)
            continue;
        bg_reply_status_from_text(p, status, sizeof status);
        bg_reply_classify(status, p, &cl);
        bg_bounce_judged j = {NULL, status, cl.reason, cl.scope, cl.stage};
        printf("reply\n");
        line("text", p);
        line("status", status);
        line("stage", bg_stage_name(cl.stage));
        line("reason", cl.reason);
        line("scope", bg_scope_name(cl.scope));
        line("list", cl.list);
        line("delist", cl.delist);
        line("rule", cl.rule);
        decision(cfg, &j, cl.list);
    }
}

int
dsn_cmd_explain(const dsn_ctx *ctx, int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "-";
    bool is_stdin = strcmp(file, "-") == 0;
    bg_buf in = BG_BUF_INIT;
    bg_error err = {""};
    bg_config *cfg;
    bg_dsn_report *r = NULL;
    FILE *fp;
    char chunk[65536];
    size_t n;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        puts("usage: bounceguard-dsn explain [FILE|-]");
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0')) {
        fprintf(stderr, "usage: bounceguard-dsn explain [FILE|-]\n");
        return DSN_EXIT_USAGE;
    }
    cfg = bg_config_load(ctx->config_path, !ctx->config_given, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bounceguard-dsn: %s\n", err.msg);
        return DSN_EXIT_CONFIG;
    }
    bg_reply_rules_use(cfg->reply_rules);
    fp = is_stdin ? stdin : fopen(file, "rb");
    if (fp == NULL) {
        fprintf(stderr, "bounceguard-dsn explain: %s: %s\n", file, strerror(errno));
        bg_reply_rules_use(NULL);
        bg_config_unref(cfg);
        return DSN_EXIT_FAIL;
    }
    while (in.len < INPUT_MAX && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        bg_buf_append(&in, chunk, n);
    if (!is_stdin)
        fclose(fp);
    int rc = DSN_EXIT_OK;
    if (in.len == 0) {
        fprintf(stderr, "bounceguard-dsn explain: %s: empty input\n", file);
        rc = DSN_EXIT_FAIL;
    } else if (bg_dsn_parse(bg_buf_str(&in), in.len, &r, &err) < 0) {
        fprintf(stderr, "bounceguard-dsn explain: %s: %s\n", file, err.msg);
        rc = DSN_EXIT_FAIL;
    } else if (r->kind != BG_DSN_NONE) {
        explain_report(cfg, is_stdin ? "stdin" : file, r);
    } else if (looks_like_message(bg_buf_str(&in), in.len)) {
        char safe[300];
        printf("%s: not a bounce (no delivery or disposition report, no notice of a "
               "layout it knows, no auto-reply): it would change nothing\n",
               bg_sanitize_line(safe, sizeof safe, is_stdin ? "stdin" : file, 200));
    } else if (memchr(bg_buf_str(&in), '\0', in.len) == NULL) {
        explain_replies(cfg, in.s);
    } else {
        fprintf(stderr, "bounceguard-dsn explain: %s: neither a bounce nor reply text\n",
                file);
        rc = DSN_EXIT_FAIL;
    }
    bg_dsn_report_free(r);
    bg_buf_free(&in);
    bg_reply_rules_use(NULL);
    bg_config_unref(cfg);
    return rc;
}
