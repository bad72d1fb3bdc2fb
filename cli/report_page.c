/*
 * report_page — `bounceguard report [--days N] [--output FILE|-]`: the HTML
 * report for an administrator without Prometheus, one self-contained file
 * (bounceguard/report_html.h draws it; this file reads the store for it).
 *
 * What it reads, all through the store interface, so both backends serve:
 *   recipients   each record's first and last bounce (the bounces per day
 *                by reason), first bounce or block time (blacklisted per
 *                day), expiry (released per day by expiry), and the latest
 *                changes for the table;
 *   audit trail  the unblock lines (released per day by an operator);
 *   incidents    the ones whose last report is in the period;
 *   senders      every quota record, the blacklisted recipients each tried
 *                and bg_gate_sender_status (blocked, over quota).
 *
 * The output file is opened before the store (which may make a process run
 * as root the store's user) and truncated only when the page is ready: a
 * failed run leaves an older report as it was.  Exit status: 0, 2 usage,
 * 3 configuration, 4 store or output error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/gate.h"
#include "bounceguard/policy.h"
#include "bounceguard/report_html.h"
#include "output.h"

#define REPORT_DAYS_DEFAULT 30
#define REPORT_TOP_SENDERS 20
#define REPORT_RECENT 25

/* ---- recipients ------------------------------------------------------------ */

typedef struct rcpt_scan {
    bg_report *r;
    char *
        *bouncers; /* last_sender of each recipient whose last bounce is in the period */
    size_t nbouncers, capbouncers;
    bg_report_rcpt recent[REPORT_RECENT]; /* sorted by rec.updated, latest first */
    size_t nrecent;
} rcpt_scan;

static const char *
listed_how(const bg_rcpt_rec *rec)
{
    if (strcmp(rec->source, "manual") == 0)
        return "blocked by hand";
    if (strcmp(rec->source, "import") == 0)
        return "imported";
    if (strcmp(rec->source, "log") == 0)
        return "bounce (MTA log)";
    if (strcmp(rec->source, "dsn") == 0)
        return "bounce (DSN)";
    return rec->source;
}

/* When a record last changed: its update, or its last bounce when it came
 * without one (an import of an older export). */
static int64_t
changed(const bg_rcpt_rec *rec)
{
    return rec->updated > rec->last_bounce ? rec->updated : rec->last_bounce;
}

/* Keep the REPORT_RECENT records changed last (in the period). */
static void
keep_recent(rcpt_scan *sc, const char *addr, const bg_rcpt_rec *rec)
{
    size_t i = sc->nrecent;
    int64_t t = changed(rec);

    if (t < sc->r->start)
        return;
    if (i == REPORT_RECENT) {
        if (t <= changed(&sc->recent[i - 1].rec))
            return;
        free(sc->recent[--i].addr);
    } else {
        sc->nrecent++;
    }
    for (; i > 0 && changed(&sc->recent[i - 1].rec) < t; i--)
        sc->recent[i] = sc->recent[i - 1];
    sc->recent[i].addr = bg_xstrdup(addr);
    sc->recent[i].rec = *rec;
    sc->recent[i].state = bg_policy_rcpt_state_name(rec, sc->r->now);
}

static int
rcpt_visit(const char *addr, const bg_rcpt_rec *rec, void *arg)
{
    rcpt_scan *sc = arg;
    bg_report *r = sc->r;

    r->rcpts++;
    if (bg_policy_rcpt_blacklisted(rec, r->now))
        r->blacklisted++;
    if (rec->last_bounce != 0) {
        /* the dated bounces: the last one, and the first when it is another */
        if (bg_report_chart_add(&r->bounces, rec->reason, rec->last_bounce)) {
            r->bounce_total += rec->bounce_count;
            if (rec->last_sender[0] != '\0') {
                if (sc->nbouncers == sc->capbouncers) {
                    sc->capbouncers = sc->capbouncers ? sc->capbouncers * 2 : 64;
                    sc->bouncers = bg_xrealloc(sc->bouncers,
                                               sc->capbouncers * sizeof(*sc->bouncers));
                }
                sc->bouncers[sc->nbouncers++] = bg_xstrdup(rec->last_sender);
            }
        }
        if (rec->bounce_count > 1 && rec->first_bounce != 0 &&
            rec->first_bounce != rec->last_bounce)
            bg_report_chart_add(&r->bounces, rec->reason, rec->first_bounce);
    }
    if (rec->first_bounce != 0)
        bg_report_chart_add(&r->listed,
                            strcmp(rec->source, "log") == 0 ? "bounce (MTA log)"
                                                            : "bounce (DSN)",
                            rec->first_bounce);
    else if (rec->state == BG_RCPT_BLACKLISTED)
        bg_report_chart_add(&r->listed, listed_how(rec), rec->updated);
    if (rec->state == BG_RCPT_BLACKLISTED && rec->expires <= r->now)
        bg_report_chart_add(&r->released, "expired", rec->expires);
    keep_recent(sc, addr, rec);
    return 0;
}

/* ---- audit trail ------------------------------------------------------------- */

/*
 * Is this audit line an unblock that released a recipient?  The lines are
 * "OPERATOR unblock ADDR[ (not blacklisted)][ grace D]: WHY" (cli_audit,
 * cli/store_cmds.c), OPERATOR being "NAME", "uid N" or "NAME (sudo: NAME)".
 * "(not blacklisted)" only granted a grace period: not a release.
 */
static bool
audit_is_release(const char *text)
{
    const char *p = text;

    if (strncmp(p, "uid ", 4) == 0)
        p += 4;
    p += strcspn(p, " ");
    if (strncmp(p, " (sudo: ", 8) == 0) {
        const char *close = strchr(p, ')');
        if (close == NULL)
            return false;
        p = close + 1;
    }
    if (strncmp(p, " unblock ", 9) != 0)
        return false;
    p += 9;
    p += strcspn(p, " :");
    return strncmp(p, " (not blacklisted)", 18) != 0;
}

static int
audit_visit(int64_t when, const char *text, void *arg)
{
    bg_report *r = arg;

    if (audit_is_release(text))
        bg_report_chart_add(&r->released, "unblocked", when);
    return 0;
}

/* ---- incidents ----------------------------------------------------------------- */

/* ---- senders ------------------------------------------------------------------ */

typedef struct sender_list {
    bg_report_sender *s;
    size_t n, cap;
} sender_list;

static bg_report_sender *
sender_push(sender_list *l, const char *id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->s = bg_xrealloc(l->s, l->cap * sizeof(*l->s));
    }
    memset(&l->s[l->n], 0, sizeof(l->s[l->n]));
    l->s[l->n].id = bg_xstrdup(id);
    return &l->s[l->n++];
}

static int
sender_collect(const char *id, const bg_sender_rec *rec, void *arg)
{
    sender_push(arg, id);
    return 0;
}

static int
cmp_sender_id(const void *x, const void *y)
{
    return strcmp(((const bg_report_sender *)x)->id, ((const bg_report_sender *)y)->id);
}

static int
cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/*
 * The senders: every quota record, and every sender whose mail caused a
 * recipient's last bounce in the period (a sender without a quota, exempt
 * or with quota_limit 0, has no record), with that count of bounces.
 */
static void
merge_bouncers(sender_list *l, char **bouncers, size_t n)
{
    size_t known = l->n;

    if (known > 1)
        qsort(l->s, known, sizeof(*l->s), cmp_sender_id);
    if (n > 1)
        qsort(bouncers, n, sizeof(*bouncers), cmp_str);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        bg_report_sender key = {0}, *s;

        while (j < n && strcmp(bouncers[j], bouncers[i]) == 0)
            j++;
        key.id = bouncers[i];
        s = known ? bsearch(&key, l->s, known, sizeof(*l->s), cmp_sender_id) : NULL;
        if (s == NULL)
            s = sender_push(l, bouncers[i]);
        s->bounced = j - i;
        i = j;
    }
}

typedef struct tried_count {
    int64_t since;
    unsigned long n;
} tried_count;

static int
tried_visit(const char *addr, int64_t when, void *arg)
{
    tried_count *t = arg;

    if (when >= t->since)
        t->n++;
    return 0;
}

static int
cmp_sender(const void *x, const void *y)
{
    const bg_report_sender *a = x, *b = y;
    unsigned long ra = a->tried + a->refused + a->bounced,
                  rb = b->tried + b->refused + b->bounced;
    bool ha = a->blocked || a->over_quota, hb = b->blocked || b->over_quota;

    if (ha != hb)
        return ha ? -1 : 1;
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Every sender with its refusals; the ones with none are dropped from the
 * table (they stay in the counts).  0, or -1 (err). */
static int
load_senders(cli_ctx *ctx, bg_store *st, bg_report *r, rcpt_scan *sc, sender_list *l,
             bg_error *err)
{
    size_t keep = 0;

    if (bg_store_sender_foreach(st, sender_collect, l, err) < 0)
        return -1;
    merge_bouncers(l, sc->bouncers, sc->nbouncers);
    r->nsenders_all = l->n;
    for (size_t i = 0; i < l->n; i++) {
        bg_report_sender *s = &l->s[i];
        bg_sender_status info;
        tried_count t = {r->start, 0};

        if (bg_gate_sender_status(st, ctx->config, s->id, NULL, r->now, &info, err) < 0 ||
            bg_store_tried_foreach(st, s->id, tried_visit, &t, err) < 0) {
            for (size_t k = i; k < l->n; k++)
                free(l->s[k].id);
            l->n = keep;
            return -1;
        }
        s->tried = t.n;
        s->tried_now =
            info.tried_blacklisted > 0 ? (unsigned long)info.tried_blacklisted : 0;
        s->refused = info.window_open ? info.rec.refused : 0;
        s->used = info.used;
        s->limit = info.quota_exempt ? 0 : info.quota_limit;
        s->total = info.rec.total;
        s->blocked = info.blocked;
        s->over_quota = info.over_quota;
        r->nsenders_blocked += s->blocked;
        r->nsenders_over += s->over_quota && !s->blocked;
        if (s->tried || s->tried_now || s->refused || s->bounced || s->blocked ||
            s->over_quota)
            l->s[keep++] = *s;
        else
            free(s->id);
    }
    l->n = keep;
    if (keep > 1)
        qsort(l->s, keep, sizeof(*l->s), cmp_sender);
    r->senders = l->s;
    r->nsenders = keep < REPORT_TOP_SENDERS ? keep : REPORT_TOP_SENDERS;
    return 0;
}

/* ---- the command ---------------------------------------------------------------- */

/* Open FILE for the page, without truncating it yet; "-" is stdout.
 * *created says whether this made the file.  Returns the fd, or -1 after
 * one line on stderr. */
static int
open_output(const char *path, bool *created)
{
    int fd;

    *created = false;
    if (strcmp(path, "-") == 0)
        return STDOUT_FILENO;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd >= 0)
        *created = true;
    else if (errno == EEXIST)
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        cli_runtime_error("report", "cannot open %s: %s", cli_safe(path),
                          strerror(errno));
    return fd;
}

/* A run that failed before writing: close, and remove the file it made
 * (best effort: the process may have become the store's user since). */
static void
drop_output(int fd, const char *path, bool created)
{
    if (fd == STDOUT_FILENO)
        return;
    close(fd);
    if (created)
        (void)unlink(path);
}

/* Replace the contents of fd with the page.  0, or -1 after a line on stderr. */
static int
write_output(int fd, const char *path, const bg_buf *page)
{
    const char *p = bg_buf_str(page);
    size_t left = page->len;

    if (fd != STDOUT_FILENO && ftruncate(fd, 0) < 0)
        goto fail;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        left -= (size_t)w;
    }
    if (fd != STDOUT_FILENO && close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:
    cli_runtime_error("report", "cannot write %s: %s", cli_safe(path), strerror(errno));
    if (fd >= 0 && fd != STDOUT_FILENO)
        close(fd);
    return -1;
}

/* Parse --days: 1..BG_REPORT_MAX_DAYS. */
static int
parse_days(const char *s, unsigned *out)
{
    long v;

    if (cli_parse_count(s, BG_REPORT_MAX_DAYS, &v) < 0 || v < 1)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int
gather(cli_ctx *ctx, bg_store *st, bg_report *r, rcpt_scan *sc, cli_incidents *inc,
       sender_list *senders, bg_error *err)
{
    sc->r = r;
    if (bg_store_rcpt_foreach(st, NULL, rcpt_visit, sc, err) < 0 ||
        bg_store_audit_foreach(st, audit_visit, r, err) < 0)
        return -1;
    r->recent = sc->recent;
    r->nrecent = sc->nrecent;
    if (cli_incidents_load(st, r->start, inc, err) < 0)
        return -1;
    r->incidents = inc->recs;
    r->nincidents = inc->n;
    return load_senders(ctx, st, r, sc, senders, err);
}

int
cli_cmd_report(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"days", required_argument, NULL, 'd'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *path = "-";
    unsigned days = REPORT_DAYS_DEFAULT;
    bg_report r;
    rcpt_scan sc;
    cli_incidents inc;
    sender_list senders;
    bg_buf page = BG_BUF_INIT;
    bg_store *st;
    bg_error err;
    bool created;
    int c, fd, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:o:", opts, NULL)) != -1) {
        if (c == 'd') {
            if (parse_days(optarg, &days) < 0)
                return cli_usage_error("report",
                                       "--days takes a number of days from 1 to %d, "
                                       "not '%.40s'",
                                       BG_REPORT_MAX_DAYS, cli_safe(optarg));
        } else if (c == 'o') {
            if (*optarg == '\0')
                return cli_usage_error("report", "--output takes a file name (or - for "
                                                 "standard output)");
            path = optarg;
        } else {
            return cli_option_error("report", argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument %.60s",
                               cli_safe(argv[optind]));
    if ((fd = open_output(path, &created)) < 0)
        return CLI_EXIT_RUNTIME;
    if ((rc = cli_store_open(ctx, "report", false, &st)) != 0) {
        drop_output(fd, path, created);
        return rc;
    }

    memset(&r, 0, sizeof(r));
    memset(&sc, 0, sizeof(sc));
    memset(&inc, 0, sizeof(inc));
    memset(&senders, 0, sizeof(senders));
    r.now = cli_now();
    r.days = days;
    r.start = bg_report_period_start(r.now, days);
    r.backend = ctx->config->store_backend == BG_BACKEND_REDIS ? "Redis" : "Berkeley DB";
    r.where = bg_store_where(st);
    r.version = BG_VERSION;
    bg_report_chart_init(&r.bounces, r.start, days);
    bg_report_chart_init(&r.listed, r.start, days);
    bg_report_chart_init(&r.released, r.start, days);

    if (gather(ctx, st, &r, &sc, &inc, &senders, &err) < 0) {
        rc = cli_runtime_error("report", "%s", err.msg);
        drop_output(fd, path, created);
    } else {
        bg_report_html(&page, &r);
        rc = write_output(fd, path, &page) < 0 ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
    }
    bg_store_close(st);
    bg_buf_free(&page);
    bg_report_chart_clear(&r.bounces);
    bg_report_chart_clear(&r.listed);
    bg_report_chart_clear(&r.released);
    for (size_t i = 0; i < sc.nrecent; i++)
        free(sc.recent[i].addr);
    for (size_t i = 0; i < sc.nbouncers; i++)
        free(sc.bouncers[i]);
    free(sc.bouncers);
    for (size_t i = 0; i < senders.n; i++)
        free(senders.s[i].id);
    free(senders.s);
    free(inc.recs);
    return rc;
}
