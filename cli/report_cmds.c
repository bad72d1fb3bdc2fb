/*
 * report_cmds — reports about the relay's reputation, read from the store:
 *
 *   rbl incidents   (cli_rbl_incidents, routed by cli/rbl.c)
 *                   the RBL blocks learned from bounces: which list, which
 *                   remote server reported it, first and last time, how often
 *   audit [--limit N]
 *                   the audit trail: who blocked, unblocked, reset, imported
 *                   what, when and why (the last N lines with --limit)
 *   diagnose [--top N]
 *                   one report that says what to do next: blacklisted
 *                   recipients by reason and by domain, RBL incidents with
 *                   delisting hints, private blacklists (recipients refused
 *                   for policy or reputation with no RBL named: whose
 *                   postmaster to contact), senders blocked or over quota.
 *
 * Exit status of diagnose: 0 nothing needs attention, 1 something does.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/json_out.h"
#include "bounceguard/dnsbl.h"
#include "bounceguard/gate.h"
#include "bounceguard/policy.h"
#include "output.h"

/* ---- a small counting map (string -> count), for the top-N tables ---------- */

typedef struct counter_item {
    char *key;
    unsigned long count;
    char *extra; /* a sample remote MTA (private blacklists), owned */
} counter_item;

typedef struct counter {
    counter_item *items; /* open addressing, cap a power of two */
    size_t n, cap;
} counter;

static size_t
hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static counter_item *
counter_slot(counter *c, const char *key)
{
    size_t i;

    if (c->n * 2 >= c->cap) {
        counter_item *old = c->items;
        size_t oldcap = c->cap;
        c->cap = c->cap ? c->cap * 2 : 64;
        c->items = bg_xcalloc(c->cap, sizeof(*c->items));
        for (size_t k = 0; k < oldcap; k++) {
            if (old[k].key == NULL)
                continue;
            for (i = hash_str(old[k].key) & (c->cap - 1); c->items[i].key;
                 i = (i + 1) & (c->cap - 1))
                ;
            c->items[i] = old[k];
        }
        free(old);
    }
    for (i = hash_str(key) & (c->cap - 1); c->items[i].key; i = (i + 1) & (c->cap - 1))
        if (strcmp(c->items[i].key, key) == 0)
            return &c->items[i];
    c->items[i].key = bg_xstrdup(key);
    c->n++;
    return &c->items[i];
}

static void
counter_add(counter *c, const char *key, const char *extra)
{
    counter_item *it = counter_slot(c, key && *key ? key : "(none)");

    it->count++;
    if (extra && *extra && it->extra == NULL)
        it->extra = bg_xstrdup(extra);
}

static int
cmp_count(const void *x, const void *y)
{
    const counter_item *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Compact the map into a sorted array (largest first); the map is used up. */
static counter_item *
counter_sorted(counter *c, size_t *n)
{
    size_t k = 0;

    for (size_t i = 0; i < c->cap; i++)
        if (c->items[i].key)
            c->items[k++] = c->items[i];
    if (k > 0)
        qsort(c->items, k, sizeof(*c->items), cmp_count);
    *n = k;
    return c->items;
}

static void
counter_free(counter_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].key);
        free(items[i].extra);
    }
    free(items);
}

/* ---- rbl incidents ------------------------------------------------------- */

static void
incident_json(bg_json_obj *j, const bg_incident_rec *r)
{
    const bg_dnsbl_known *k = bg_dnsbl_known_named(r->rbl);

    bg_json_obj_str(j, "rbl", r->rbl);
    bg_json_obj_str(j, "remote_mta", r->remote_mta);
    bg_json_obj_time(j, "first", r->first);
    bg_json_obj_time(j, "last", r->last);
    bg_json_obj_int(j, "count", r->count);
    bg_json_obj_str(j, "last_rcpt", r->last_rcpt);
    bg_json_obj_str(j, "diagnostic", r->diagnostic);
    bg_json_obj_str(j, "delist_url", k ? k->delist_url : NULL);
}

int
cli_rbl_incidents(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    static const char *const head[] = {"RBL",  "REPORTED BY", "FIRST",
                                       "LAST", "COUNT",       "LAST RECIPIENT"};
    cli_incidents l;
    bg_store *st;
    bg_error err;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_option_error("rbl", argc, argv);
        ctx->json = true;
    }
    if (optind < argc)
        return cli_usage_error("rbl", "incidents takes no argument");
    if ((rc = cli_store_open(ctx, "rbl incidents", false, &st)) != 0)
        return rc;
    rc = cli_incidents_load(st, 0, &l, &err);
    bg_store_close(st);
    if (rc < 0) {
        free(l.recs);
        return cli_runtime_error("rbl incidents", "%s", err.msg);
    }
    if (ctx->json) {
        bg_json_obj j = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&j);
        for (size_t i = 0; i < l.n; i++) {
            incident_json(&j, &l.recs[i]);
            cli_json_print(&j, ctx->out);
        }
        bg_json_obj_free(&j);
    } else if (l.n == 0) {
        fprintf(ctx->out,
                "no RBL incident recorded: no bounce said the relay is listed\n");
    } else {
        bg_table *t = cli_table_new(ctx, 6, head, 0);
        for (size_t i = 0; i < l.n; i++) {
            const bg_incident_rec *r = &l.recs[i];
            char first[32], last[32], count[16];
            const char *cells[] = {r->rbl,
                                   r->remote_mta,
                                   cli_time(first, sizeof(first), r->first),
                                   cli_time(last, sizeof(last), r->last),
                                   count,
                                   r->last_rcpt};
            snprintf(count, sizeof(count), "%u", r->count);
            bg_table_row(t, cli_color_code(ctx, CLI_RESET), cells);
        }
        bg_table_end(t);
    }
    free(l.recs);
    return CLI_EXIT_OK;
}

/* ---- audit --------------------------------------------------------------- */

typedef struct audit_arg {
    cli_ctx *ctx;
    long limit; /* keep the last `limit` lines; 0 = print all as they come */
    char **ring;
    int64_t *when;
    size_t n;
    bg_table *table;
    bg_json_obj json;
} audit_arg;

static void
audit_print(audit_arg *a, int64_t when, const char *text)
{
    char t[32];

    if (a->ctx->json) {
        bg_json_obj_time(&a->json, "time", when);
        bg_json_obj_str(&a->json, "text", text);
        cli_json_print(&a->json, a->ctx->out);
    } else {
        static const char *const head[] = {"TIME", "WHO AND WHAT"};
        const char *cells[] = {cli_time(t, sizeof(t), when), text};
        if (a->table == NULL)
            a->table = cli_table_new(a->ctx, 2, head, 1);
        bg_table_row(a->table, cli_color_code(a->ctx, CLI_RESET), cells);
    }
}

static int
audit_visit(int64_t when, const char *text, void *arg)
{
    audit_arg *a = arg;
    size_t slot;

    if (a->limit == 0) {
        audit_print(a, when, text);
        return 0;
    }
    slot = a->n++ % (size_t)a->limit;
    free(a->ring[slot]);
    a->ring[slot] = bg_xstrdup(text);
    a->when[slot] = when;
    return 0;
}

int
cli_cmd_audit(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    audit_arg a;
    bg_store *st;
    bg_error err;
    int c, rc;

    memset(&a, 0, sizeof(a));
    a.ctx = ctx;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:", opts, NULL)) != -1) {
        if (c == 'j')
            ctx->json = true;
        else if (c != 'n' || cli_parse_count(optarg, 1000000, &a.limit) < 0)
            return c == 'n' ? cli_usage_error("audit", "--limit takes a number")
                            : cli_option_error("audit", argc, argv);
    }
    if (optind < argc)
        return cli_usage_error("audit", "unexpected argument %.60s", argv[optind]);
    if ((rc = cli_store_open(ctx, "audit", false, &st)) != 0)
        return rc;
    if (a.limit > 0) {
        a.ring = bg_xcalloc((size_t)a.limit, sizeof(*a.ring));
        a.when = bg_xcalloc((size_t)a.limit, sizeof(*a.when));
    }
    bg_json_obj_begin(&a.json);
    if (bg_store_audit_foreach(st, audit_visit, &a, &err) < 0)
        rc = cli_runtime_error("audit", "%s", err.msg);
    if (a.limit > 0) {
        size_t k = a.n < (size_t)a.limit ? a.n : (size_t)a.limit;
        for (size_t i = 0; i < k; i++) {
            size_t slot = (a.n - k + i) % (size_t)a.limit;
            audit_print(&a, a.when[slot], a.ring[slot]);
        }
        for (long i = 0; i < a.limit; i++)
            free(a.ring[i]);
        free(a.ring);
        free(a.when);
    }
    if (a.table == NULL && !ctx->json && rc == 0)
        fprintf(ctx->out, "the audit trail is empty\n");
    a.table = bg_table_end(a.table);
    bg_json_obj_free(&a.json);
    bg_store_close(st);
    return rc;
}

/* ---- diagnose ------------------------------------------------------------ */

typedef struct diag_scan {
    int64_t now;
    unsigned long total, blacklisted;
    counter by_reason, by_domain, private_bl;
} diag_scan;

static int
diag_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    diag_scan *d = arg;
    const char *domain = cli_domain_of(addr);

    d->total++;
    if (bg_policy_private_blacklist_reason(r->reason))
        counter_add(&d->private_bl, domain, r->remote_mta);
    if (!bg_policy_rcpt_blacklisted(r, d->now))
        return 0;
    d->blacklisted++;
    counter_add(&d->by_reason, r->reason, NULL);
    counter_add(&d->by_domain, domain, NULL);
    return 0;
}

typedef struct diag_sender {
    char *id;
    bg_sender_status info;
} diag_sender;

typedef struct diag_senders {
    char **ids;
    size_t n, cap;
} diag_senders;

static int
diag_sender_visit(const char *id, const bg_sender_rec *rec, void *arg)
{
    diag_senders *s = arg;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ids = bg_xrealloc(s->ids, s->cap * sizeof(*s->ids));
    }
    s->ids[s->n++] = bg_xstrdup(id);
    return 0;
}

/* A top-N table as JSON array [{"KEY": key, "count": n}...]. */
static void
top_json(bg_json_obj *j, const char *name, const char *keyname, const counter_item *it,
         size_t n, size_t top, bool with_contact)
{
    bg_buf b = BG_BUF_INIT;

    bg_buf_putc(&b, '[');
    for (size_t i = 0; i < n && i < top; i++) {
        bg_json_obj o = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&o);
        bg_json_obj_str(&o, keyname, it[i].key);
        bg_json_obj_int(&o, "count", (long long)it[i].count);
        if (with_contact) {
            char contact[300];
            snprintf(contact, sizeof(contact), "postmaster@%s", it[i].key);
            bg_json_obj_str(&o, "contact", contact);
            bg_json_obj_str(&o, "remote_mta", it[i].extra);
        }
        bg_buf_puts(&b, i ? "," : "");
        bg_buf_puts(&b, bg_json_obj_close(&o));
        bg_json_obj_free(&o);
    }
    bg_buf_putc(&b, ']');
    bg_json_obj_raw(j, name, bg_buf_str(&b));
    bg_buf_free(&b);
}

static void
top_human(cli_ctx *ctx, const char *title, const char *col, const counter_item *it,
          size_t n, size_t top)
{
    const char *head[] = {col, "COUNT"};
    bg_table *t;

    fprintf(ctx->out, "\n%s%s%s\n", cli_color_code(ctx, CLI_BOLD), title,
            cli_color_code(ctx, CLI_RESET));
    if (n == 0) {
        fprintf(ctx->out, "  none\n");
        return;
    }
    t = cli_table_new(ctx, 2, head, 0);
    for (size_t i = 0; i < n && i < top; i++) {
        char count[24];
        const char *cells[] = {it[i].key, count};
        snprintf(count, sizeof(count), "%lu", it[i].count);
        bg_table_row(t, cli_color_code(ctx, CLI_RESET), cells);
    }
    bg_table_end(t);
    if (n > top)
        fprintf(ctx->out, "  ... and %zu more\n", n - top);
}

/* The advice: what to do next, one line each. */
typedef struct advice {
    char **lines;
    size_t n;
} advice;

static void advise(advice *a, const char *fmt, ...) BG_ATTR_PRINTF(2, 3);

static void
advise(advice *a, const char *fmt, ...)
{
    bg_buf line = BG_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    bg_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    a->lines = bg_xrealloc(a->lines, (a->n + 1) * sizeof(*a->lines));
    a->lines[a->n++] = bg_buf_steal(&line);
}

/* Everything diagnose gathers. */
typedef struct diag {
    diag_scan scan;
    counter_item *reasons, *domains, *private_bl;
    size_t nreasons, ndomains, nprivate;
    cli_incidents incidents;
    diag_sender *senders; /* only the blocked or over quota ones */
    size_t nsenders, nsenders_all;
} diag;

static int
diag_gather(cli_ctx *ctx, bg_store *st, diag *d, bg_error *err)
{
    diag_senders s = {NULL, 0, 0};
    int rc = 0;

    memset(d, 0, sizeof(*d));
    d->scan.now = cli_now();
    if (bg_store_rcpt_foreach(st, NULL, diag_visit, &d->scan, err) < 0)
        rc = -1;
    d->reasons = counter_sorted(&d->scan.by_reason, &d->nreasons);
    d->domains = counter_sorted(&d->scan.by_domain, &d->ndomains);
    d->private_bl = counter_sorted(&d->scan.private_bl, &d->nprivate);
    if (rc < 0 || cli_incidents_load(st, 0, &d->incidents, err) < 0 ||
        bg_store_sender_foreach(st, diag_sender_visit, &s, err) < 0)
        rc = -1;
    d->nsenders_all = s.n;
    for (size_t i = 0; i < s.n; i++) {
        bg_sender_status info;
        if (rc == 0 && bg_gate_sender_status(st, ctx->config, s.ids[i], NULL, d->scan.now,
                                             &info, err) < 0)
            rc = -1;
        if (rc == 0 && (info.blocked || info.over_quota)) {
            d->senders = bg_xrealloc(d->senders, (d->nsenders + 1) * sizeof(*d->senders));
            d->senders[d->nsenders].id = s.ids[i];
            d->senders[d->nsenders++].info = info;
        } else {
            free(s.ids[i]);
        }
    }
    free(s.ids);
    return rc;
}

static void
diag_free(diag *d)
{
    counter_free(d->reasons, d->nreasons);
    counter_free(d->domains, d->ndomains);
    counter_free(d->private_bl, d->nprivate);
    free(d->incidents.recs);
    for (size_t i = 0; i < d->nsenders; i++)
        free(d->senders[i].id);
    free(d->senders);
}

static void
diag_advise(const cli_ctx *ctx, const diag *d, advice *a)
{
    for (size_t i = 0; i < d->incidents.n; i++) {
        const bg_incident_rec *r = &d->incidents.recs[i];
        const bg_dnsbl_known *k = bg_dnsbl_known_named(r->rbl);
        char last[32];
        advise(a,
               "The relay is listed on %s (reported by %s, %u time%s, last %s): "
               "find the cause first, then ask for delisting%s%s.",
               r->rbl, r->remote_mta, r->count, r->count == 1 ? "" : "s",
               cli_time(last, sizeof(last), r->last), k && k->delist_url ? " at " : "",
               k && k->delist_url ? k->delist_url : "");
    }
    if (d->incidents.n > 0) {
        advise(a, "Make sure the relay is not an open relay: run `bounceguard relay-test "
                  "HOST` against it from a host outside its networks (from the relay "
                  "itself, loopback and its own addresses are trusted: it relays for them).");
        advise(a,
               "Check the relay's public IP on the common lists: `bounceguard rbl check "
               "IP`.");
    }
    for (size_t i = 0; i < d->nprivate && i < 5; i++)
        advise(a,
               "%s refuses mail from the relay for policy or reputation (%lu "
               "recipient%s) without naming an RBL: a private blacklist; write to "
               "postmaster@%s.",
               d->private_bl[i].key, d->private_bl[i].count,
               d->private_bl[i].count == 1 ? "" : "s", d->private_bl[i].key);
    for (size_t i = 0; i < d->nsenders && i < 10; i++) {
        const diag_sender *s = &d->senders[i];
        if (s->info.blocked)
            advise(
                a,
                "Sender %s is blocked: it tried %ld blacklisted recipients (limit %ld). "
                "Have its owner clean its address list, then `bounceguard sender reset "
                "%s`.",
                s->id, s->info.tried_blacklisted, s->info.bounce_limit, s->id);
        else
            advise(a,
                   "Sender %s used its quota (%ld of %ld). If that is legitimate, raise "
                   "it with a sender_override line; else find out why it sends so much.",
                   s->id, s->info.used, s->info.quota_limit);
    }
    if (d->ndomains > 0 && d->domains[0].count >= 10 &&
        d->domains[0].count * 2 >= d->scan.blacklisted)
        advise(a,
               "%lu of the %lu blacklisted recipients are at %s: if that domain's own "
               "servers were failing (rather than its users being unknown), `bounceguard "
               "unblock --domain %s` once it is fixed; else the senders mailing it need "
               "to clean their lists.",
               d->domains[0].count, d->scan.blacklisted, d->domains[0].key,
               d->domains[0].key);
    (void)ctx;
}

static void
diag_print_json(cli_ctx *ctx, const diag *d, const advice *a, size_t top)
{
    bg_json_obj j = BG_JSON_OBJ_INIT;
    bg_buf b = BG_BUF_INIT;

    bg_json_obj_begin(&j);
    bg_json_obj_time(&j, "time", d->scan.now);
    bg_json_obj_int(&j, "recipients", (long long)d->scan.total);
    bg_json_obj_int(&j, "blacklisted", (long long)d->scan.blacklisted);
    top_json(&j, "by_reason", "reason", d->reasons, d->nreasons, top, false);
    top_json(&j, "by_domain", "domain", d->domains, d->ndomains, top, false);
    bg_buf_putc(&b, '[');
    for (size_t i = 0; i < d->incidents.n; i++) {
        bg_json_obj o = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&o);
        incident_json(&o, &d->incidents.recs[i]);
        bg_buf_puts(&b, i ? "," : "");
        bg_buf_puts(&b, bg_json_obj_close(&o));
        bg_json_obj_free(&o);
    }
    bg_buf_putc(&b, ']');
    bg_json_obj_raw(&j, "rbl_incidents", bg_buf_str(&b));
    top_json(&j, "private_blacklists", "domain", d->private_bl, d->nprivate, top, true);
    bg_buf_reset(&b);
    bg_buf_putc(&b, '[');
    for (size_t i = 0; i < d->nsenders; i++) {
        bg_json_obj o = BG_JSON_OBJ_INIT;
        bg_json_obj_begin(&o);
        cli_json_sender(&o, d->senders[i].id, &d->senders[i].info);
        bg_buf_puts(&b, i ? "," : "");
        bg_buf_puts(&b, bg_json_obj_close(&o));
        bg_json_obj_free(&o);
    }
    bg_buf_putc(&b, ']');
    bg_json_obj_raw(&j, "senders", bg_buf_str(&b));
    bg_buf_reset(&b);
    bg_buf_putc(&b, '[');
    for (size_t i = 0; i < a->n; i++) {
        bg_buf_puts(&b, i ? "," : "");
        bg_json_string(&b, a->lines[i]);
    }
    bg_buf_putc(&b, ']');
    bg_json_obj_raw(&j, "actions", bg_buf_str(&b));
    cli_json_print(&j, ctx->out);
    bg_json_obj_free(&j);
    bg_buf_free(&b);
}

static void
diag_print_human(cli_ctx *ctx, const diag *d, const advice *a, size_t top)
{
    FILE *out = ctx->out;
    const char *bold = cli_color_code(ctx, CLI_BOLD),
               *reset = cli_color_code(ctx, CLI_RESET);

    fprintf(out, "%sbounceguard diagnosis%s (store %s)\n", bold, reset,
            cli_safe(ctx->config->db_home));
    fprintf(out,
            "%lu recipient%s known, %s%lu blacklisted now%s; %zu sender%s, "
            "%zu RBL incident%s\n",
            d->scan.total, d->scan.total == 1 ? "" : "s",
            cli_color_code(ctx, d->scan.blacklisted ? CLI_YELLOW : CLI_GREEN),
            d->scan.blacklisted, reset, d->nsenders_all, d->nsenders_all == 1 ? "" : "s",
            d->incidents.n, d->incidents.n == 1 ? "" : "s");
    top_human(ctx, "Blacklisted recipients by reason", "REASON", d->reasons, d->nreasons,
              top);
    top_human(ctx, "Blacklisted recipients by domain", "DOMAIN", d->domains, d->ndomains,
              top);

    fprintf(out, "\n%sRBL incidents (bounces saying the relay is listed)%s\n", bold,
            reset);
    if (d->incidents.n == 0)
        fprintf(out, "  none\n");
    for (size_t i = 0; i < d->incidents.n && i < top; i++) {
        const bg_incident_rec *r = &d->incidents.recs[i];
        char last[32];
        fprintf(out, "  %s%s%s reported by %s, %u time%s, last %s\n",
                cli_color_code(ctx, CLI_RED), cli_safe(r->rbl), reset,
                cli_safe(r->remote_mta), r->count, r->count == 1 ? "" : "s",
                cli_time(last, sizeof(last), r->last));
    }

    fprintf(out,
            "\n%sPrivate blacklists (refused for policy/reputation, no RBL named)%s\n",
            bold, reset);
    if (d->nprivate == 0)
        fprintf(out, "  none\n");
    for (size_t i = 0; i < d->nprivate && i < top; i++)
        fprintf(out, "  %s: %lu recipient%s%s%s; contact postmaster@%s\n",
                cli_safe(d->private_bl[i].key), d->private_bl[i].count,
                d->private_bl[i].count == 1 ? "" : "s",
                d->private_bl[i].extra ? ", via " : "", cli_safe(d->private_bl[i].extra),
                cli_safe(d->private_bl[i].key));

    fprintf(out, "\n%sSenders blocked or over quota%s\n", bold, reset);
    if (d->nsenders == 0)
        fprintf(out, "  none\n");
    for (size_t i = 0; i < d->nsenders; i++) {
        const bg_sender_status *s = &d->senders[i].info;
        char reset_at[32];
        if (s->blocked)
            fprintf(out,
                    "  %s%s%s blocked: tried %ld blacklisted recipients (limit %ld)\n",
                    cli_color_code(ctx, CLI_RED), cli_safe(d->senders[i].id), reset,
                    s->tried_blacklisted, s->bounce_limit);
        else
            fprintf(out, "  %s%s%s over quota: %ld of %ld, window resets %s\n",
                    cli_color_code(ctx, CLI_YELLOW), cli_safe(d->senders[i].id), reset,
                    s->used, s->quota_limit,
                    cli_time(reset_at, sizeof(reset_at), s->window_reset));
    }

    fprintf(out, "\n%sWhat to do next%s\n", bold, reset);
    if (a->n == 0)
        fprintf(out, "  Nothing needs attention.\n");
    for (size_t i = 0; i < a->n; i++)
        fprintf(out, "  %zu. %s\n", i + 1, cli_safe(a->lines[i]));
}

int
cli_cmd_diagnose(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"top", required_argument, NULL, 't'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    long top = 10;
    advice a = {NULL, 0};
    diag d;
    bg_store *st;
    bg_error err;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:", opts, NULL)) != -1) {
        if (c == 'j')
            ctx->json = true;
        else if (c != 't' || cli_parse_count(optarg, 100000, &top) < 0 || top == 0)
            return c == 't' ? cli_usage_error("diagnose", "--top takes a number > 0")
                            : cli_option_error("diagnose", argc, argv);
    }
    if (optind < argc)
        return cli_usage_error("diagnose", "unexpected argument %.60s", argv[optind]);
    if ((rc = cli_store_open(ctx, "diagnose", false, &st)) != 0)
        return rc;
    rc = diag_gather(ctx, st, &d, &err);
    bg_store_close(st);
    if (rc < 0) {
        diag_free(&d);
        return cli_runtime_error("diagnose", "%s", err.msg);
    }
    diag_advise(ctx, &d, &a);
    if (ctx->json)
        diag_print_json(ctx, &d, &a, (size_t)top);
    else
        diag_print_human(ctx, &d, &a, (size_t)top);
    rc = a.n > 0 ? CLI_EXIT_NEGATIVE : CLI_EXIT_OK;
    for (size_t i = 0; i < a.n; i++)
        free(a.lines[i]);
    free(a.lines);
    diag_free(&d);
    return rc;
}
