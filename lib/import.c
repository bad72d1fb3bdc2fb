/*
 * import.c — see include/bounceguard/import.h.  Reading the formats; what an
 * entry does is lib/policy.c's.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/addr.h"
#include "bounceguard/import.h"
#include "bounceguard/policy.h"
#include "bounceguard/reply.h"
#include "bounceguard/util.h"

/* ---- one entry, whatever its source ----------------------------------------- */

typedef struct import_ctx {
    bg_store *st; /* NULL for a dry run */
    const bg_config *cfg;
    int64_t now;
    bg_import_bad_fn *bad_fn;
    void *bad_arg;
    bg_import_result *res;
    bool failed; /* the store failed: stop */
    bg_error *err;
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
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ic->bad_fn)
        ic->bad_fn(where, msg, ic->bad_arg);
    ic->res->bad++;
}

/*
 * The entry's status code, as the reply parser finds one in any bounce: an
 * enhanced code in its status field, else in its text, else one derived
 * from a bare reply code ("550" -> "5.0.0").  Anything else the status
 * field holds is kept as it is (printable): it is what the list said.
 */
static void
entry_status(const foreign *f, char *dst, size_t size)
{
    bg_buf both = BG_BUF_INIT;

    dst[0] = '\0';
    /* One text, the status field first: the parser looks for an enhanced
     * code through all of it before it falls back on a bare reply code. */
    bg_buf_printf(&both, "%s %s", f->status ? f->status : "", f->text ? f->text : "");
    if (!bg_reply_status_from_text(bg_buf_str(&both), dst, size) && f->status)
        bg_sanitize_line(dst, size, f->status, size - 1);
    bg_buf_free(&both);
}

typedef struct foreign_arg {
    bg_bounce_event ev;
    bool have_time;
    int64_t now;
    bool skipped_same;
} foreign_arg;

static bg_record_change
foreign_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    foreign_arg *a = arg;
    int rc = bg_policy_import_foreign(cur, next, &a->ev, a->have_time, a->now, purge_at);

    a->skipped_same = rc == 0;
    return rc;
}

static void
import_foreign(import_ctx *ic, const char *where, const foreign *f)
{
    const bg_config *cfg = ic->cfg;
    char status[16], diag[600], safe_status[16];
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
        if (bg_time_parse(f->when, &a.ev.when) < 0) {
            bad_entry(ic, where, "cannot read the time \"%.60s\"", f->when);
            return;
        }
        a.have_time = true;
    }
    entry_status(f, status, sizeof(status));
    bg_sanitize_line(safe_status, sizeof(safe_status), status, sizeof(safe_status) - 1);
    snprintf(diag, sizeof(diag), "%s suppression list%s%s%s%s", ic->res->format,
             f->reason && *f->reason ? ": " : "", f->reason ? f->reason : "",
             f->text && *f->text ? ": " : "", f->text ? f->text : "");
    if (bg_policy_never_blacklist(cfg, addr.canon, addr.domain)) {
        ic->res->skipped++;
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
    if (ic->st == NULL) {
        /* --dry-run: the record the entry would make on its own (the store
         * is not read), judged by the rule the import applies */
        int64_t purge_at;
        memset(&after, 0, sizeof(after));
        foreign_update(NULL, &after, &purge_at, &a);
        ic->res->imported++;
        if (bg_policy_rcpt_blacklisted(&after, ic->now))
            ic->res->blacklisted++;
        return;
    }
    if (bg_store_rcpt_update(ic->st, addr.canon, foreign_update, &a, ic->err) == BG_STORE_FAILED ||
        bg_store_rcpt_get(ic->st, addr.canon, &after, ic->err) == BG_LOOKUP_ERROR) {
        ic->failed = true;
        return;
    }
    if (a.skipped_same) {
        ic->res->skipped++;
        return;
    }
    ic->res->imported++;
    if (bg_policy_rcpt_blacklisted(&after, ic->now))
        ic->res->blacklisted++;
}

/* ---- our own JSON lines ------------------------------------------ */

typedef struct restore_arg {
    bg_rcpt_rec rec;
    int64_t history;
    bool kept_newer;
} restore_arg;

static bg_record_change
restore_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    restore_arg *a = arg;
    int rc = bg_policy_import_restore(cur, next, &a->rec, a->history, purge_at);

    a->kept_newer = rc == 0;
    return rc;
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
    return json_is_string(v) && bg_time_parse(json_string_value(v), out) == 0 ? 0 : -1;
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
    if (r->expires == 0 && r->last_bounce) /* an export without it: the period's end */
        r->expires = r->last_bounce + ic->cfg->blacklist_period;
    a.history = ic->cfg->history_period;
    if (ic->st == NULL) { /* --dry-run: counted as the import counts it */
        ic->res->imported++;
        if (bg_policy_rcpt_blacklisted(r, ic->now))
            ic->res->blacklisted++;
        return;
    }
    if (bg_store_rcpt_update(ic->st, addr.canon, restore_update, &a, ic->err) == BG_STORE_FAILED) {
        ic->failed = true;
        return;
    }
    if (a.kept_newer) {
        ic->res->skipped++;
        return;
    }
    ic->res->imported++;
    if (bg_policy_rcpt_blacklisted(r, ic->now))
        ic->res->blacklisted++;
}

/* ---- JSON -------------------------------------------------------- */

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
        ic->res->format = "bounceguard";
        import_ours(ic, where, o);
        return;
    }
    memset(&f, 0, sizeof(f));
    if (json_object_get(o, "EmailAddress")) {
        ic->res->format = "Amazon SES";
        f.addr = jstr(o, "EmailAddress");
        f.when = jtext(o, "LastUpdateTime", b1, sizeof(b1));
        f.reason = jstr(o, "Reason");
    } else if (json_object_get(o, "email")) {
        ic->res->format = "SendGrid";
        f.addr = jstr(o, "email");
        f.when = jtext(o, "created", b1, sizeof(b1));
        f.text = jstr(o, "reason");
        f.status = jtext(o, "status", b2, sizeof(b2));
    } else if (json_object_get(o, "address")) {
        ic->res->format = "Mailgun";
        f.addr = jstr(o, "address");
        f.when = jtext(o, "created_at", b1, sizeof(b1));
        f.text = jstr(o, "error");
        f.status = jtext(o, "code", b2, sizeof(b2));
    } else {
        bad_entry(ic, where, "no address field (address, email or EmailAddress)");
        return;
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

/* ---- CSV --------------------------------------------------------- */

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
    ic->res->format = strcasecmp(bg_buf_str(&f[ca]), "email") == 0          ? "SendGrid"
                      : strcasecmp(bg_buf_str(&f[ca]), "address") == 0      ? "Mailgun"
                      : strcasecmp(bg_buf_str(&f[ca]), "EmailAddress") == 0 ? "Amazon SES"
                                                                            : "CSV";
    ct = csv_column(f, n, time_names);
    cr = csv_column(f, n, reason_names);
    cx = csv_column(f, n, text_names);
    cs = csv_column(f, n, status_names);
    if (cr >= 0 && cr == cx) /* "reason": a word for SES, free text for SendGrid */
        cr = strcmp(ic->res->format, "Amazon SES") == 0 ? cr : -1;
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

/* JSON lines: one object per line. */
static void
import_json_lines(import_ctx *ic, const char *text, size_t len)
{
    size_t line = 0;
    const char *end = text + len, *next;

    for (const char *l = text; l < end && !ic->failed; l = next) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l), blank = 0;
        char where[24];
        json_error_t jerr;
        json_t *o;
        next = nl ? nl + 1 : end;
        line++;
        while (blank < n && strchr(" \t\r", l[blank]))
            blank++;
        if (blank == n)
            continue;
        snprintf(where, sizeof(where), "%zu", line);
        o = json_loadb(l, n, JSON_REJECT_DUPLICATES, &jerr);
        if (o == NULL) {
            bad_entry(ic, where, "bad JSON: %s", jerr.text);
            continue;
        }
        import_object(ic, where, o);
        json_decref(o);
    }
}

int
bg_import_text(bg_store *st, const bg_config *cfg, const char *text, size_t len,
               int64_t now, bg_import_bad_fn *bad_fn, void *bad_arg,
               bg_import_result *res, bg_error *err)
{
    import_ctx ic = {st, cfg, now, bad_fn, bad_arg, res, false, NULL};
    json_error_t jerr;
    json_t *doc;

    ic.err = err; /* written only when the store fails */
    memset(res, 0, sizeof(*res));
    res->format = "unknown";
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3; /* UTF-8 byte order mark (spreadsheet exports) */
        len -= 3;
    }
    if (memchr(text, '\0', len) != NULL) {
        bad_entry(&ic, "1", "binary data (a NUL byte): not an export");
        return 0;
    }
    size_t lead = 0;
    while (lead < len && strchr(" \t\r\n", text[lead]))
        lead++;
    if (lead == len)
        return 0;
    if (text[lead] == '{' || text[lead] == '[') {
        doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc) {
            import_document(&ic, doc);
            json_decref(doc);
        } else if (text[lead] == '[') {
            bad_entry(&ic, "1", "bad JSON at line %d: %s", jerr.line, jerr.text);
        } else {
            import_json_lines(&ic, text, len);
        }
    } else {
        import_csv(&ic, text, len);
    }
    return ic.failed ? -1 : 0;
}
