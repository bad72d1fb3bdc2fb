/*
 * parse_cmd — `bounceguard-dsn parse [--json] FILE...`: run the bounce parser
 * over messages and print what it finds.  Read-only; needs neither the store
 * nor the configuration.  "-" reads standard input.
 *
 * --json prints one object per line, per bounced or delayed recipient
 *   {"file", "recipient", "action", "status", "reason", "remote_mta",
 *    "diagnostic", "rbl", "scope", "stage", "list", "delist", "rule"}
 * (scope: whom the failure is about; list and delist: who refused the relay
 * and the URL it gave; rule: what decided the reason and scope)
 * and {"file": ..., "bounce": false} for a message that is not a bounce.
 * Without it, an aligned table.  An unreadable file gives one line on stderr;
 * the other files are still parsed and the exit status is 1 at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/json_out.h"
#include "bounceguard/table.h"
#include "bounceguard/dsn.h"
#include "bounceguard/util.h"
#include "dsn.h"

/* Read at most max bytes of fp: the parser looks no further anyway, and a
 * 50 MB message must not cost 50 MB. */
static int
read_capped(FILE *fp, size_t max, bg_buf *out)
{
    char tmp[65536];
    while (out->len < max) {
        size_t want = max - out->len < sizeof tmp ? max - out->len : sizeof tmp;
        size_t n = fread(tmp, 1, want, fp);
        bg_buf_append(out, tmp, n);
        if (n < want)
            return ferror(fp) ? -1 : 0;
    }
    return 0;
}

static void
print_json(const char *file, const bg_dsn_report *r)
{
    bg_json_obj o = BG_JSON_OBJ_SPACED;

    if (r->nrcpts == 0) {
        bg_json_obj_begin(&o);
        bg_json_obj_str(&o, "file", file);
        bg_json_obj_bool(&o, "bounce", false);
        puts(bg_json_obj_close(&o));
    }
    bg_buf ids = BG_BUF_INIT;
    for (size_t i = 0; i < r->nreceived_ids; i++)
        bg_buf_printf(&ids, "%s%s", i ? " " : "", r->received_ids[i]);
    for (size_t i = 0; i < r->nrcpts; i++) {
        const bg_dsn_rcpt *rc = &r->rcpts[i];
        bg_json_obj_begin(&o);
        bg_json_obj_str(&o, "file", file);
        bg_json_obj_str(&o, "recipient", rc->recipient);
        bg_json_obj_str(&o, "action", rc->action);
        bg_json_obj_str(&o, "status", rc->status);
        bg_json_obj_str(&o, "reason", rc->reason);
        bg_json_obj_str(&o, "remote_mta", rc->remote_mta);
        bg_json_obj_str(&o, "diagnostic", rc->diagnostic);
        bg_json_obj_str(&o, "rbl", rc->rbl);
        bg_json_obj_str(&o, "scope", bg_scope_name(rc->scope));
        bg_json_obj_str(&o, "stage", rc->stage ? bg_stage_name(rc->stage) : NULL);
        bg_json_obj_str(&o, "list", rc->list);
        bg_json_obj_str(&o, "delist", rc->delist);
        bg_json_obj_str(&o, "rule", rc->rule);
        /* what correlates the bounce with the message sent */
        bg_json_obj_str(&o, "original_message_id", r->orig_message_id);
        bg_json_obj_str(&o, "received_ids", bg_buf_str(&ids));
        puts(bg_json_obj_close(&o));
    }
    bg_buf_free(&ids);
    bg_json_obj_free(&o);
}

/* The table (bg_table): every row is collected first so that the columns
 * align; the diagnostic is cut at 70 bytes. */
#define NCOLS 8
#define DIAGNOSTIC_MAX 70

static void
table_report(bg_table *t, const char *file, const bg_dsn_report *r)
{
    if (r->nrcpts == 0) {
        const char *vals[NCOLS] = {file, "(not a bounce)", NULL, NULL, NULL, NULL, NULL, NULL};
        bg_table_row(t, NULL, vals);
    }
    for (size_t i = 0; i < r->nrcpts; i++) {
        const bg_dsn_rcpt *rc = &r->rcpts[i];
        const char *vals[NCOLS] = {file,          rc->recipient,
                                   rc->action,    rc->status,
                                   rc->reason,    bg_scope_name(rc->scope),
                                   rc->list,      rc->diagnostic};
        bg_table_row(t, NULL, vals);
    }
}

int
dsn_cmd_parse(const dsn_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    int i = 1, failed = 0, nfiles = 0;
    static const char *const head[NCOLS] = {"FILE",   "RECIPIENT", "ACTION", "STATUS",
                                            "REASON", "SCOPE",     "LIST",   "DIAGNOSTIC"};
    bg_table *t = NULL;
    (void)ctx;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            puts("usage: bounceguard-dsn parse [--json] FILE...");
            return 0;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "bounceguard-dsn parse: unknown option %s\n", argv[i]);
            return DSN_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: bounceguard-dsn parse [--json] FILE...\n");
        return DSN_EXIT_USAGE;
    }
    for (; i < argc; i++) {
        const char *file = argv[i];
        bool is_stdin = strcmp(file, "-") == 0;
        FILE *fp = is_stdin ? stdin : fopen(file, "rb");
        nfiles++;
        if (!fp) {
            fprintf(stderr, "bounceguard-dsn parse: %s: %s\n", file, strerror(errno));
            failed++;
            continue;
        }
        bg_buf msg = BG_BUF_INIT;
        int rc = read_capped(fp, BG_DSN_SCAN_MAX, &msg);
        int saved = errno;
        if (!is_stdin)
            fclose(fp);
        if (rc < 0) {
            fprintf(stderr, "bounceguard-dsn parse: %s: %s\n", file, strerror(saved));
            bg_buf_free(&msg);
            failed++;
            continue;
        }
        bg_error err = {{0}};
        bg_dsn_report *r = NULL;
        if (bg_dsn_parse(bg_buf_str(&msg), msg.len, &r, &err) < 0) {
            fprintf(stderr, "bounceguard-dsn parse: %s: %s\n", file, err.msg);
            bg_buf_free(&msg);
            failed++;
            continue;
        }
        if (json) {
            print_json(file, r);
        } else {
            if (t == NULL)
                t = bg_table_new(stdout, NCOLS, head, 0, DIAGNOSTIC_MAX, NULL, NULL);
            table_report(t, file, r);
        }
        fflush(stdout);
        r = bg_dsn_report_free(r);
        bg_buf_free(&msg);
    }
    t = bg_table_end(t);
    return failed ? DSN_EXIT_FAIL : DSN_EXIT_OK;
}
