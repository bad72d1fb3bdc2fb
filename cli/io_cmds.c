/*
 * io_cmds — the blacklist in and out of the store:
 *
 *   export [--all|--blacklisted]   every recipient as one JSON object per
 *                                  line (the format of `list --json`)
 *   import FILE... [--dry-run]     read entries back; the format is detected:
 *
 *   our JSON lines     {"address", "first_bounce", "last_bounce", "expires",
 *                      "state", ...}: restored as they were (a backup); an
 *                      entry in the store updated later than the line wins
 *   Amazon SES         `aws sesv2 list-suppressed-destinations` output:
 *                      {"SuppressedDestinationSummaries": [{"EmailAddress",
 *                      "Reason": BOUNCE|COMPLAINT, "LastUpdateTime"}]}
 *   SendGrid           bounces CSV (email,created,reason,status) or JSON
 *                      ([{"email","created","reason","status"}])
 *   Mailgun            bounces CSV (address,code,error,created_at) or JSON
 *                      ({"items": [{"address","code","error","created_at"}]})
 *
 * A foreign entry is a bounce at its own time (bg_policy_bounce, source
 * "import"), so an old bounce comes in already expired and a recent one
 * expires blacklist_period after it; an entry without a time is blocked for
 * blacklist_period from now (bg_policy_block).  The same bounce imported twice
 * counts once.  A bad line gives one error naming FILE:LINE and the import
 * goes on; the exit status is then 1.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/addr.h"
#include "bounceguard/policy.h"
#include "bounceguard/stallwatch.h"
#include "output.h"

/* ---- export -------------------------------------------------------------- */

typedef struct export_arg {
    cli_ctx *ctx;
    int64_t now;
    bool only_blacklisted;
    cli_json json;
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
    export_arg a = {ctx, cli_now(), false, {BG_BUF_INIT, false}, 0};
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
    cli_json_begin(&a.json);
    if (bg_store_rcpt_foreach(st, NULL, export_visit, &a, &err) < 0)
        rc = cli_runtime_error("export", "%s (after %lu entries)", err.msg, a.n);
    cli_json_free(&a.json);
    bg_store_close(st);
    return rc;
}

/* ---- import: one entry, whatever its source -------------------------------- */

typedef struct import_ctx {
    cli_ctx *ctx;
    bg_store *st; /* NULL for --dry-run */
    const char *file;
    const char *format;
    int64_t now;
    unsigned long imported, blacklisted, skipped, bad;
    bool failed; /* the store failed: stop */
} import_ctx;

/* An entry of a foreign list. */
typedef struct foreign {
    const char *addr;
    const char *when;   /* as written; NULL or "" = unknown */
    const char *reason; /* provider's reason word or text */
    const char *status; /* enhanced code or SMTP code */
    const char *text;   /* diagnostic */
} foreign;

static void bad_entry(import_ctx *ic, const char *where, const char *fmt, ...)
    BG_ATTR_PRINTF(3, 4);

static void
bad_entry(import_ctx *ic, const char *where, const char *fmt, ...)
{
    char msg[400], safe[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "bounceguard: import: %s:%s: %s\n", ic->file, where,
            bg_sanitize_line(safe, sizeof(safe), msg, 300));
    ic->bad++;
}

/* The first enhanced status code (2.0.0 .. 5.999.999) in s, into dst. */
static bool
find_enhanced(const char *s, char *dst, size_t size)
{
    for (const char *p = s ? s : ""; *p; p++) {
        int cls, sub, det, n = 0;
        if ((*p == '2' || *p == '4' || *p == '5') &&
            (p == s || !strchr("0123456789.", p[-1])) &&
            sscanf(p, "%1d.%3d.%3d%n", &cls, &sub, &det, &n) == 3 &&
            !strchr("0123456789.", p[n] ? p[n] : ' ')) {
            snprintf(dst, size, "%d.%d.%d", cls, sub, det);
            return true;
        }
    }
    return false;
}

typedef struct foreign_arg {
    bg_bounce_event ev;
    bool have_time;
    int64_t now;
    int64_t history;
    const char *why;
    bool skipped_same;
} foreign_arg;

static int
foreign_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    foreign_arg *a = arg;

    if (!a->have_time) {
        int rc = bg_policy_block(cur, next, a->now, a->ev.period, a->why, a->history,
                                 purge_at);
        bg_strlcpy(next->source, "import", sizeof(next->source)); /* not typed by hand */
        return rc;
    }
    if (cur && cur->last_bounce == a->ev.when) { /* this bounce is known already */
        a->skipped_same = true;
        return 0;
    }
    return bg_policy_bounce(cur, next, &a->ev, purge_at);
}

static void
import_foreign(import_ctx *ic, const char *where, const foreign *f)
{
    const bg_config *cfg = ic->ctx->config;
    char status[16] = "", diag[600], safe_status[16];
    foreign_arg a;
    bg_addr addr;
    bg_error err;
    bg_rcpt_rec after;

    if (f->addr == NULL || *f->addr == '\0') {
        bad_entry(ic, where, "no address");
        return;
    }
    if (bg_addr_parse(f->addr, &addr, &err) != BG_ADDR_OK) {
        bad_entry(ic, where, "%s", err.msg);
        return;
    }
    memset(&a, 0, sizeof(a));
    if (f->when && *f->when) {
        if (cli_time_parse(f->when, &a.ev.when) < 0) {
            bad_entry(ic, where, "cannot read the time \"%.60s\"", f->when);
            return;
        }
        a.have_time = true;
    }
    if (!find_enhanced(f->status, status, sizeof(status)) &&
        !find_enhanced(f->text, status, sizeof(status)) && f->status)
        bg_sanitize_line(status, sizeof(status), f->status, sizeof(status) - 1);
    bg_sanitize_line(safe_status, sizeof(safe_status), status, sizeof(safe_status) - 1);
    snprintf(diag, sizeof(diag), "%s suppression list%s%s%s%s", ic->format,
             f->reason && *f->reason ? ": " : "", f->reason ? f->reason : "",
             f->text && *f->text ? ": " : "", f->text ? f->text : "");
    if (bg_policy_never_blacklist(cfg, addr.canon, addr.domain)) {
        ic->skipped++;
        return;
    }
    a.ev.source = "import";
    a.ev.reason = bg_policy_import_reason(f->reason, status);
    a.ev.status = safe_status;
    a.ev.remote_mta = "";
    a.ev.diagnostic = diag;
    a.ev.sender_id = "";
    a.ev.period = cfg->blacklist_period;
    a.ev.history = cfg->history_period;
    a.now = ic->now;
    a.history = cfg->history_period;
    a.why = diag;
    if (ic->st == NULL) {
        /* --dry-run: the record the entry would make on its own (the store
         * is not read), judged by the rule the import applies */
        int64_t purge_at;
        memset(&after, 0, sizeof(after));
        foreign_update(NULL, &after, &purge_at, &a);
        ic->imported++;
        if (bg_policy_rcpt_blacklisted(&after, ic->now))
            ic->blacklisted++;
        return;
    }
    if (bg_store_rcpt_update(ic->st, addr.canon, foreign_update, &a, &err) < -1 ||
        bg_store_rcpt_get(ic->st, addr.canon, &after, &err) == BG_LOOKUP_ERROR) {
        cli_runtime_error("import", "%s", err.msg);
        ic->failed = true;
        return;
    }
    if (a.skipped_same) {
        ic->skipped++;
        return;
    }
    ic->imported++;
    if (bg_policy_rcpt_blacklisted(&after, ic->now))
        ic->blacklisted++;
}

/* ---- import: our own JSON lines ------------------------------------------ */

typedef struct restore_arg {
    bg_rcpt_rec rec;
    int64_t history;
    bool kept_newer;
} restore_arg;

static int
restore_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    restore_arg *a = arg;
    int64_t last = a->rec.expires;

    if (cur && cur->updated >= a->rec.updated && a->rec.updated != 0) {
        a->kept_newer = true;
        return 0;
    }
    *next = a->rec;
    if (next->last_bounce > last)
        last = next->last_bounce;
    if (next->grace_until > last)
        last = next->grace_until;
    *purge_at = last + a->history;
    return 1;
}

static const char *
jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A time field: an ISO string, a number, or null/absent (0). -1 if bad. */
static int
jtime(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) && cli_time_parse(json_string_value(v), out) == 0 ? 0 : -1;
}

static void
copy_field(char *dst, size_t size, json_t *o, const char *key)
{
    const char *s = jstr(o, key);
    bg_strlcpy(dst, s ? s : "", size);
}

static void
import_ours(import_ctx *ic, const char *where, json_t *o)
{
    restore_arg a;
    bg_rcpt_rec *r = &a.rec;
    const char *addr_in = jstr(o, "address"), *state = jstr(o, "state");
    json_t *count = json_object_get(o, "bounce_count");
    bg_addr addr;
    bg_error err;

    memset(&a, 0, sizeof(a));
    if (addr_in == NULL || bg_addr_parse(addr_in, &addr, &err) != BG_ADDR_OK) {
        bad_entry(ic, where, "%s", addr_in ? err.msg : "no \"address\"");
        return;
    }
    if (jtime(o, "first_bounce", &r->first_bounce) < 0 ||
        jtime(o, "last_bounce", &r->last_bounce) < 0 ||
        jtime(o, "expires", &r->expires) < 0 ||
        jtime(o, "grace_until", &r->grace_until) < 0 ||
        jtime(o, "updated", &r->updated) < 0) {
        bad_entry(ic, where, "a time field is neither a number nor an ISO 8601 time");
        return;
    }
    if (count && (!json_is_integer(count) || json_integer_value(count) < 0 ||
                  json_integer_value(count) > UINT32_MAX)) {
        bad_entry(ic, where, "\"bounce_count\" is not a count");
        return;
    }
    r->bounce_count = count ? (uint32_t)json_integer_value(count) : 1;
    r->state = state && strcmp(state, "unblocked") == 0 ? BG_RCPT_UNBLOCKED
                                                        : BG_RCPT_BLACKLISTED;
    copy_field(r->source, sizeof(r->source), o, "source");
    copy_field(r->reason, sizeof(r->reason), o, "reason");
    copy_field(r->status, sizeof(r->status), o, "status");
    copy_field(r->remote_mta, sizeof(r->remote_mta), o, "remote_mta");
    copy_field(r->diagnostic, sizeof(r->diagnostic), o, "diagnostic");
    copy_field(r->last_sender, sizeof(r->last_sender), o, "last_sender");
    if (r->expires == 0 && r->last_bounce)
        r->expires = r->last_bounce + ic->ctx->config->blacklist_period;
    a.history = ic->ctx->config->history_period;
    if (ic->st == NULL) { /* --dry-run: counted as the import counts it */
        ic->imported++;
        if (bg_policy_rcpt_blacklisted(r, ic->now))
            ic->blacklisted++;
        return;
    }
    if (bg_store_rcpt_update(ic->st, addr.canon, restore_update, &a, &err) < -1) {
        cli_runtime_error("import", "%s", err.msg);
        ic->failed = true;
        return;
    }
    if (a.kept_newer) {
        ic->skipped++;
        return;
    }
    ic->imported++;
    if (bg_policy_rcpt_blacklisted(r, ic->now))
        ic->blacklisted++;
}

/* ---- import: JSON -------------------------------------------------------- */

/* A scalar as text (numbers too: SendGrid's created, Mailgun's code). */
static const char *
jtext(json_t *o, const char *key, char *buf, size_t size)
{
    json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, size, "%.0f", json_real_value(v));
        return buf;
    }
    return NULL;
}

/* One JSON object of any supported kind. */
static void
import_object(import_ctx *ic, const char *where, json_t *o)
{
    char b1[32], b2[32];
    foreign f;

    if (!json_is_object(o)) {
        bad_entry(ic, where, "not a JSON object");
        return;
    }
    if (json_object_get(o, "address") &&
        (json_object_get(o, "bounce_count") || json_object_get(o, "last_bounce") ||
         json_object_get(o, "state"))) {
        ic->format = "bounceguard";
        {
            import_ours(ic, where, o);
            return;
        }
    }
    memset(&f, 0, sizeof(f));
    if (json_object_get(o, "EmailAddress")) {
        ic->format = "Amazon SES";
        f.addr = jstr(o, "EmailAddress");
        f.when = jtext(o, "LastUpdateTime", b1, sizeof(b1));
        f.reason = jstr(o, "Reason");
    } else if (json_object_get(o, "email")) {
        ic->format = "SendGrid";
        f.addr = jstr(o, "email");
        f.when = jtext(o, "created", b1, sizeof(b1));
        f.text = jstr(o, "reason");
        f.status = jtext(o, "status", b2, sizeof(b2));
    } else if (json_object_get(o, "address")) {
        ic->format = "Mailgun";
        f.addr = jstr(o, "address");
        f.when = jtext(o, "created_at", b1, sizeof(b1));
        f.text = jstr(o, "error");
        f.status = jtext(o, "code", b2, sizeof(b2));
    } else {
        {
            bad_entry(ic, where, "no address field (address, email or EmailAddress)");
            return;
        }
    }
    import_foreign(ic, where, &f);
}

/* A whole JSON document: an array of entries, SES's or Mailgun's wrapper,
 * or a single entry. */
static void
import_document(import_ctx *ic, json_t *doc)
{
    json_t *items = doc, *v;
    size_t i;
    char where[32];

    if (json_is_object(doc)) {
        if ((v = json_object_get(doc, "SuppressedDestinationSummaries")) != NULL)
            items = v;
        else if ((v = json_object_get(doc, "items")) != NULL)
            items = v;
        else {
            import_object(ic, "1", doc);
            return;
        }
    }
    if (!json_is_array(items)) {
        bad_entry(ic, "1", "expected a list of entries");
        return;
    }
    json_array_foreach(items, i, v)
    {
        if (ic->failed)
            return;
        snprintf(where, sizeof(where), "entry %zu", i + 1);
        import_object(ic, where, v);
    }
}

/* ---- import: CSV --------------------------------------------------------- */

#define CSV_MAX_FIELDS 32

/*
 * One CSV record (RFC 4180: quoted fields may hold commas, doubled quotes and
 * line breaks) from text[*pos..len).  Fields go to f[]; *line advances over
 * the lines consumed.  Returns the number of fields, 0 at the end, -1 for an
 * unterminated quote.
 */
static int
csv_record(const char *text, size_t len, size_t *pos, size_t *line, bg_buf *f)
{
    size_t p = *pos;
    int n = 0;
    bool quoted = false, was_quoted = false;

    if (p >= len)
        return 0;
    bg_buf_reset(&f[0]);
    while (p < len) {
        char c = text[p++];
        if (quoted) {
            if (c == '"' && p < len && text[p] == '"') {
                bg_buf_putc(&f[n], '"');
                p++;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n')
                    (*line)++;
                bg_buf_putc(&f[n], c);
            }
        } else if (c == '"' && f[n].len == 0 && !was_quoted) {
            quoted = was_quoted = true;
        } else if (c == ',') {
            if (n + 1 < CSV_MAX_FIELDS)
                n++;
            bg_buf_reset(&f[n]);
            was_quoted = false;
        } else if (c == '\n') {
            (*line)++;
            break;
        } else if (c != '\r') {
            bg_buf_putc(&f[n], c);
        }
    }
    *pos = p;
    return quoted ? -1 : n + 1;
}

static int
csv_column(bg_buf *f, int n, const char *const *names)
{
    for (int i = 0; i < n; i++)
        for (size_t k = 0; names[k]; k++)
            if (strcasecmp(bg_buf_str(&f[i]), names[k]) == 0)
                return i;
    return -1;
}

static void
import_csv(import_ctx *ic, const char *text, size_t len)
{
    static const char *const addr_names[] = {"email", "address", "EmailAddress",
                                             "recipient", NULL};
    static const char *const time_names[] = {"created", "created_at", "LastUpdateTime",
                                             "timestamp", NULL};
    static const char *const reason_names[] = {"Reason", NULL};
    static const char *const text_names[] = {"error", "reason", NULL};
    static const char *const status_names[] = {"status", "code", NULL};
    bg_buf f[CSV_MAX_FIELDS];
    size_t pos = 0, line = 1, start;
    int n, ca, ct, cr, cx, cs;

    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        bg_buf_init(&f[i]);
    n = csv_record(text, len, &pos, &line, f);
    ca = n > 0 ? csv_column(f, n, addr_names) : -1;
    if (ca < 0) {
        bad_entry(ic, "1",
                  "not a format bounceguard reads: no JSON, and no CSV header with an "
                  "email or address column");
        goto out;
    }
    ic->format = strcasecmp(bg_buf_str(&f[ca]), "email") == 0          ? "SendGrid"
                 : strcasecmp(bg_buf_str(&f[ca]), "address") == 0      ? "Mailgun"
                 : strcasecmp(bg_buf_str(&f[ca]), "EmailAddress") == 0 ? "Amazon SES"
                                                                       : "CSV";
    ct = csv_column(f, n, time_names);
    cr = csv_column(f, n, reason_names);
    cx = csv_column(f, n, text_names);
    cs = csv_column(f, n, status_names);
    if (cr >= 0 && cr == cx) /* "reason": a word for SES, free text for SendGrid */
        cr = strcmp(ic->format, "Amazon SES") == 0 ? cr : -1;
    for (;;) {
        char where[24];
        foreign fr;
        start = line;
        n = csv_record(text, len, &pos, &line, f);
        snprintf(where, sizeof(where), "%zu", start);
        if (n == 0 || ic->failed)
            break;
        if (n < 0) {
            bad_entry(ic, where, "a quoted field is not closed");
            break;
        }
        if (n == 1 && f[0].len == 0)
            continue; /* blank line */
        if (ca >= n) {
            bad_entry(ic, where, "%d field%s, the address is field %d", n,
                      n == 1 ? "" : "s", ca + 1);
            continue;
        }
        memset(&fr, 0, sizeof(fr));
        fr.addr = bg_buf_str(&f[ca]);
        fr.when = ct >= 0 && ct < n ? bg_buf_str(&f[ct]) : NULL;
        fr.reason = cr >= 0 && cr < n ? bg_buf_str(&f[cr]) : NULL;
        fr.text = cx >= 0 && cx < n && cx != cr ? bg_buf_str(&f[cx]) : NULL;
        fr.status = cs >= 0 && cs < n ? bg_buf_str(&f[cs]) : NULL;
        import_foreign(ic, where, &fr);
    }
out:
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        bg_buf_free(&f[i]);
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

/* JSON lines: one object per line. */
static void
import_json_lines(import_ctx *ic, char *text)
{
    size_t line = 0;
    char *save = NULL;

    for (char *l = text; l && !ic->failed; l = save) {
        char where[24];
        json_error_t jerr;
        json_t *o;
        save = strchr(l, '\n');
        if (save)
            *save++ = '\0';
        line++;
        if (l[strspn(l, " \t\r")] == '\0')
            continue;
        snprintf(where, sizeof(where), "%zu", line);
        o = json_loads(l, JSON_REJECT_DUPLICATES, &jerr);
        if (o == NULL) {
            bad_entry(ic, where, "bad JSON: %s", jerr.text);
            continue;
        }
        import_object(ic, where, o);
        json_decref(o);
    }
}

/* Import one file, opened before the store (fp NULL: open failed with
 * open_errno). */
static void
import_file(import_ctx *ic, const char *path, FILE *fp, int open_errno)
{
    bg_buf b = BG_BUF_INIT;
    char *text;
    size_t skip = 0;
    json_error_t jerr;
    json_t *doc;

    ic->file = path;
    ic->format = "unknown";
    errno = open_errno;
    if (fp == NULL || read_file(fp, &b) < 0) {
        fprintf(stderr, "bounceguard: import: %s: cannot read: %s\n", path,
                strerror(errno));
        ic->bad++;
        bg_buf_free(&b);
        return;
    }
    text = b.s ? b.s : (char *)"";
    if (b.len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        skip = 3; /* UTF-8 byte order mark (spreadsheet exports) */
    text += skip;
    if (memchr(text, '\0', b.len - skip) != NULL) {
        bad_entry(ic, "1", "binary data (a NUL byte): not an export");
    } else {
        const char *first = text + strspn(text, " \t\r\n");
        if (*first == '{' || *first == '[') {
            doc = json_loadb(text, b.len - skip, JSON_REJECT_DUPLICATES, &jerr);
            if (doc) {
                import_document(ic, doc);
                json_decref(doc);
            } else if (*first == '[') {
                bad_entry(ic, "1", "bad JSON at line %d: %s", jerr.line, jerr.text);
            } else {
                import_json_lines(ic, text);
            }
        } else if (*first != '\0') {
            import_csv(ic, text, b.len - skip);
        }
    }
    bg_buf_free(&b);
}

int
cli_cmd_import(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    import_ctx ic;
    FILE **fps;
    int *errs;
    bool dry_run = false;
    unsigned long total_bad = 0;
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
    memset(&ic, 0, sizeof(ic));
    ic.ctx = ctx;
    ic.now = cli_now();
    /* Open the files as the caller, before the store (which may drop root). */
    fps = bg_xcalloc((size_t)argc, sizeof(*fps));
    errs = bg_xcalloc((size_t)argc, sizeof(*errs));
    for (int i = optind; i < argc; i++) {
        errno = 0;
        fps[i] = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "rb");
        errs[i] = errno;
    }
    if (!dry_run && (rc = cli_store_open(ctx, "import", true, &ic.st)) != 0)
        ic.failed = true;
    for (int i = optind; i < argc; i++)
        if (fps[i] == stdin)
            bg_stallwatch_stop(); /* standard input may wait as long as it likes */
    for (int i = optind; i < argc && !ic.failed; i++) {
        ic.imported = ic.blacklisted = ic.skipped = ic.bad = 0;
        import_file(&ic, argv[i], fps[i], errs[i]);
        fps[i] = NULL;
        total_bad += ic.bad;
        if (ctx->json) {
            cli_json j = {BG_BUF_INIT, false};
            cli_json_begin(&j);
            cli_json_str(&j, "file", argv[i]);
            cli_json_str(&j, "format", ic.format);
            cli_json_int(&j, "imported", (long long)ic.imported);
            cli_json_int(&j, "blacklisted_now", (long long)ic.blacklisted);
            cli_json_int(&j, "skipped", (long long)ic.skipped);
            cli_json_int(&j, "errors", (long long)ic.bad);
            cli_json_bool(&j, "dry_run", dry_run);
            cli_json_print(&j, ctx->out);
            cli_json_free(&j);
        } else {
            fprintf(ctx->out,
                    "%s: %s format, %lu %s (%lu blacklisted now), %lu skipped "
                    "(known already or never_blacklist), %lu bad\n",
                    argv[i], ic.format, ic.imported, dry_run ? "valid" : "imported",
                    ic.blacklisted, ic.skipped, ic.bad);
        }
    }
    if (!dry_run && !ic.failed && ic.imported > 0 &&
        cli_audit(ic.st, "import", ic.now, "import of %d file%s", argc - optind,
                  argc - optind == 1 ? "" : "s") < 0)
        ic.failed = true;
    bg_store_close(ic.st);
    for (int i = optind; i < argc; i++)
        if (fps[i] && fps[i] != stdin)
            fclose(fps[i]);
    free(fps);
    free(errs);
    if (ic.failed)
        return CLI_EXIT_RUNTIME;
    return total_bad ? CLI_EXIT_NEGATIVE : CLI_EXIT_OK;
}
