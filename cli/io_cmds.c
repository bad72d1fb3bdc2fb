/*
 * io_cmds — the blacklist in and out of the store:
 *
 *   export [--all|--blacklisted]   every recipient as one JSON object per
 *                                  line (the format of `list --json`)
 *   import FILE... [--dry-run]     read entries back: our own export (a
 *                                  backup), or an Amazon SES, SendGrid or
 *                                  Mailgun suppression list, CSV or JSON
 *
 * The formats and what an entry does are the library's (lib/import.c,
 * lib/policy.c); here the files are opened (as the caller, before the store
 * may drop root), read, and the counts printed.  A bad line gives one error
 * naming FILE:LINE and the import goes on; the exit status is then 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/import.h"
#include "bounceguard/policy.h"
#include "bounceguard/stallwatch.h"
#include "output.h"

/* ---- export -------------------------------------------------------------- */

typedef struct export_arg {
    cli_ctx *ctx;
    int64_t now;
    bool only_blacklisted;
    bg_json_obj json;
    unsigned long n;
} export_arg;

static int
export_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    export_arg *a = arg;

    if (a->only_blacklisted && !bg_policy_rcpt_blacklisted(r, a->now))
        return 0;
    cli_json_rcpt(&a->json, addr, r, a->now);
    cli_json_print(&a->json, a->ctx->out);
    a->n++;
    return 0;
}

int
cli_cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"blacklisted", no_argument, NULL, 'b'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    export_arg a = {ctx, cli_now(), false, BG_JSON_OBJ_INIT, 0};
    bg_store *st;
    bg_error err;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ab", opts, NULL)) != -1) {
        if (c == 'a' || c == 'b')
            a.only_blacklisted = c == 'b';
        else if (c != 'j')
            return cli_option_error("export", argc, argv);
    }
    if (optind < argc)
        return cli_usage_error("export",
                               "unexpected argument %.60s (the export goes to "
                               "standard output)",
                               argv[optind]);
    if ((rc = cli_store_open(ctx, "export", false, &st)) != 0)
        return rc;
    bg_json_obj_begin(&a.json);
    if (bg_store_rcpt_foreach(st, NULL, export_visit, &a, &err) < 0)
        rc = cli_runtime_error("export", "%s (after %lu entries)", err.msg, a.n);
    bg_json_obj_free(&a.json);
    bg_store_close(st);
    return rc;
}

/* ---- import: files ------------------------------------------------------- */

/* Read fp to the end (and close it unless stdin); errno set on -1. */
static int
read_file(FILE *fp, bg_buf *out)
{
    char chunk[65536];
    size_t n;
    int failed;

    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        bg_buf_append(out, chunk, n);
    failed = ferror(fp);
    if (fp != stdin)
        fclose(fp);
    if (failed && errno == 0)
        errno = EIO;
    return failed ? -1 : 0;
}

/* One refused entry: "bounceguard: import: FILE:WHERE: WHY". */
static void
print_bad(const char *where, const char *why, void *file)
{
    char safe[400];

    fprintf(stderr, "bounceguard: import: %s:%s: %s\n", (const char *)file, where,
            bg_sanitize_line(safe, sizeof(safe), why, 300));
}

/* Import one file, opened before the store (fp NULL: open failed with
 * open_errno).  Returns -1 when the store failed (the error printed). */
static int
import_file(bg_store *st, const bg_config *cfg, int64_t now, const char *path, FILE *fp,
            int open_errno, bg_import_result *res)
{
    bg_buf b = BG_BUF_INIT;
    bg_error err;
    int rc = 0;

    errno = open_errno;
    if (fp == NULL || read_file(fp, &b) < 0) {
        fprintf(stderr, "bounceguard: import: %s: cannot read: %s\n", path,
                strerror(errno));
        memset(res, 0, sizeof(*res));
        res->format = "unknown";
        res->bad = 1;
    } else if (bg_import_text(st, cfg, b.s ? b.s : "", b.len, now, print_bad,
                              (void *)path, res, &err) < 0) {
        cli_runtime_error("import", "%s", err.msg);
        rc = -1;
    }
    bg_buf_free(&b);
    return rc;
}

int
cli_cmd_import(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const bg_config *cfg = ctx->config;
    bg_store *st = NULL;
    bg_import_result res;
    FILE **fps;
    int *errs;
    bool dry_run = false, failed = false;
    unsigned long total_bad = 0, total_imported = 0;
    int64_t now;
    int c, rc = 0;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n", opts, NULL)) != -1) {
        if (c == 'n')
            dry_run = true;
        else if (c == 'j')
            ctx->json = true;
        else
            return cli_option_error("import", argc, argv);
    }
    if (optind >= argc)
        return cli_usage_error("import", "which file? (- for standard input)");
    now = cli_now();
    /* Open the files as the caller, before the store (which may drop root). */
    fps = bg_xcalloc((size_t)argc, sizeof(*fps));
    errs = bg_xcalloc((size_t)argc, sizeof(*errs));
    for (int i = optind; i < argc; i++) {
        errno = 0;
        fps[i] = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "rb");
        errs[i] = errno;
    }
    if (!dry_run && (rc = cli_store_open(ctx, "import", true, &st)) != 0)
        failed = true;
    for (int i = optind; i < argc; i++)
        if (fps[i] == stdin)
            bg_stallwatch_stop(); /* standard input may wait as long as it likes */
    for (int i = optind; i < argc && !failed; i++) {
        failed = import_file(st, cfg, now, argv[i], fps[i], errs[i], &res) < 0;
        fps[i] = NULL;
        total_bad += res.bad;
        total_imported += res.imported;
        if (ctx->json) {
            bg_json_obj j = BG_JSON_OBJ_INIT;
            bg_json_obj_begin(&j);
            bg_json_obj_str(&j, "file", argv[i]);
            bg_json_obj_str(&j, "format", res.format);
            bg_json_obj_int(&j, "imported", (long long)res.imported);
            bg_json_obj_int(&j, "blacklisted_now", (long long)res.blacklisted);
            bg_json_obj_int(&j, "skipped", (long long)res.skipped);
            bg_json_obj_int(&j, "errors", (long long)res.bad);
            bg_json_obj_bool(&j, "dry_run", dry_run);
            cli_json_print(&j, ctx->out);
            bg_json_obj_free(&j);
        } else {
            fprintf(ctx->out,
                    "%s: %s format, %lu %s (%lu blacklisted now), %lu skipped "
                    "(known already or never_blacklist), %lu bad\n",
                    argv[i], res.format, res.imported, dry_run ? "valid" : "imported",
                    res.blacklisted, res.skipped, res.bad);
        }
    }
    if (!dry_run && !failed && total_imported > 0 &&
        cli_audit(st, "import", now, "import of %d file%s", argc - optind,
                  argc - optind == 1 ? "" : "s") < 0)
        failed = true;
    bg_store_close(st);
    for (int i = optind; i < argc; i++)
        if (fps[i] && fps[i] != stdin)
            fclose(fps[i]);
    free(fps);
    free(errs);
    if (failed)
        return CLI_EXIT_RUNTIME;
    return total_bad ? CLI_EXIT_NEGATIVE : CLI_EXIT_OK;
}
