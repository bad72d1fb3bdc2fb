/*
 * metrics.c — see include/bounceguard/metrics.h.
 *
 *   bg_metrics_new / bg_metrics_free
 *       the milter's counters (relaxed atomics).
 *   bg_metrics_count, bg_metrics_message_accepted, bg_metrics_rcpt_latency
 *       count a reply, an accepted message, a decision's time.
 *   bg_metrics_format_milter, bg_metrics_format_store
 *       the text exposition (pure: state in, text appended to a bg_buf).
 *   bg_metrics_store_read
 *       the store's part: counts streamed over the records, the counters
 *       the DSN intake keeps, the environment's log.  DIAGNOSTICS: -1 with
 *       err set when the store fails; the view then says ok = false.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/metrics.h"

/* ---- rules ----------------------------------------------------------------- */

/* The label values of the rules, bounded: what a refusal is counted under. */
enum {
    RULE_FORMAT,
    RULE_TLD,
    RULE_BLACKLISTED,
    RULE_SENDER_BLOCKED,
    RULE_QUOTA,
    RULE_TOO_MANY_RCPTS,
    RULE_BAD_RETURN_PATH,
    RULE_STORE_ERROR,
    NRULES
};

static const char *const rule_names[NRULES] = {
    "format", "tld", "blacklisted", "sender_blocked", "quota", "too_many_recipients",
    "bad_return_path", "store_error"};

static int
rule_of(bg_verdict_kind v)
{
    switch (v) {
    case BG_VERDICT_BAD_ADDRESS:
        return RULE_FORMAT;
    case BG_VERDICT_BAD_DOMAIN:
        return RULE_TLD;
    case BG_VERDICT_BLACKLISTED:
    case BG_VERDICT_BLOCKED_MANUALLY: /* rule 1 either way */
        return RULE_BLACKLISTED;
    case BG_VERDICT_SENDER_BLOCKED:
        return RULE_SENDER_BLOCKED;
    case BG_VERDICT_QUOTA:
        return RULE_QUOTA;
    case BG_VERDICT_TOO_MANY_RCPTS:
        return RULE_TOO_MANY_RCPTS;
    case BG_VERDICT_BAD_RETURN_PATH:
        return RULE_BAD_RETURN_PATH;
    case BG_VERDICT_STORE_ERROR:
        return RULE_STORE_ERROR;
    case BG_VERDICT_ACCEPT:
        break;
    }
    return -1;
}

const char *
bg_metrics_rule_name(bg_verdict_kind v)
{
    int r = rule_of(v);

    return r < 0 ? "none" : rule_names[r];
}

/* ---- the milter's counters -------------------------------------------------- */

/* Upper bounds of the RCPT decision's latency buckets, in seconds: a lookup
 * in a warm Berkeley DB takes tens of microseconds, one Redis round trip
 * about a hundred; the long tail is a deadlock retry or a failover. */
static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                        1,      2.5,     5,      10};
#define NBUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

typedef _Atomic uint64_t counter;

struct bg_metrics {
    counter messages_accepted;
    counter rcpts_accepted;
    counter refused[2][NRULES];  /* [stage][rule]: what the client was refused */
    counter observed[2][NRULES]; /* [stage][rule]: observe mode, would have refused */
    counter store_errors;        /* verdicts the store's failure decided */
    counter tempfails;           /* 4xx replies */
    counter buckets[NBUCKETS];   /* not cumulative: added up when formatted */
    counter latency_ns;
    counter decisions;
};

bg_metrics *
bg_metrics_new(void)
{
    bg_metrics *m = bg_xcalloc(1, sizeof(*m));

    return m; /* calloc's zero bytes are zero atomics on every target we build for */
}

bg_metrics *
bg_metrics_free(bg_metrics *m)
{
    free(m);
    return NULL;
}

static void
bump(counter *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t
get(const counter *c)
{
    return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

void
bg_metrics_count(bg_metrics *m, bg_metrics_stage stage, bg_verdict_kind v,
                 bg_metrics_reply reply)
{
    int rule = rule_of(v);
    int st = stage == BG_METRICS_RCPT;

    if (v == BG_VERDICT_STORE_ERROR)
        bump(&m->store_errors);
    if (reply == BG_METRICS_TEMPFAILED)
        bump(&m->tempfails);
    if (reply != BG_METRICS_PASSED) {
        if (rule >= 0)
            bump(&m->refused[st][rule]);
        return;
    }
    if (rule >= 0 && v != BG_VERDICT_STORE_ERROR)
        bump(&m->observed[st][rule]);
    if (st)
        bump(&m->rcpts_accepted);
}

void
bg_metrics_message_accepted(bg_metrics *m)
{
    bump(&m->messages_accepted);
}

void
bg_metrics_rcpt_latency(bg_metrics *m, uint64_t ns)
{
    size_t i = 0;

    while (i < NBUCKETS && (double)ns > latency_bounds[i] * 1e9)
        i++;
    if (i < NBUCKETS)
        bump(&m->buckets[i]);
    atomic_fetch_add_explicit(&m->latency_ns, ns, memory_order_relaxed);
    bump(&m->decisions);
}

/* ---- the exposition --------------------------------------------------------- */

static void
family(bg_buf *out, const char *name, const char *type, const char *help)
{
    bg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the exposition format writes it: \, " and newline escaped. */
static void
label_value(bg_buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            bg_buf_putc(out, '\\');
        if (*v == '\n') {
            bg_buf_puts(out, "\\n");
            continue;
        }
        bg_buf_putc(out, *v);
    }
}

static void
sample1(bg_buf *out, const char *name, const char *label, const char *value, uint64_t n)
{
    bg_buf_printf(out, "%s{%s=\"", name, label);
    label_value(out, value);
    bg_buf_printf(out, "\"} %llu\n", (unsigned long long)n);
}

static void
sample0(bg_buf *out, const char *name, uint64_t n)
{
    bg_buf_printf(out, "%s %llu\n", name, (unsigned long long)n);
}

/* A family over every rule, zeros included, so that each series exists from
 * the start (a rate over a series that appears late misses its first hits). */
static void
by_rule(bg_buf *out, const char *name, const char *help, const counter *c)
{
    family(out, name, "counter", help);
    for (int r = 0; r < NRULES; r++)
        sample1(out, name, "rule", rule_names[r], get(&c[r]));
}

void
bg_metrics_format_milter(const bg_metrics *m, bg_buf *out)
{
    uint64_t cum = 0;

    family(out, "bounceguard_messages_accepted_total", "counter",
           "Messages the milter let through to their end of message.");
    sample0(out, "bounceguard_messages_accepted_total", get(&m->messages_accepted));
    by_rule(out, "bounceguard_messages_refused_total",
            "Messages refused at MAIL FROM (or at their end, when another relay filled "
            "the sender's quota since RCPT TO), by the rule that refused them.",
            m->refused[BG_METRICS_MAIL]);
    family(out, "bounceguard_recipients_accepted_total", "counter",
           "Recipients accepted at RCPT TO.");
    sample0(out, "bounceguard_recipients_accepted_total", get(&m->rcpts_accepted));
    by_rule(out, "bounceguard_recipients_refused_total",
            "Recipients refused at RCPT TO, by the rule that refused them.",
            m->refused[BG_METRICS_RCPT]);
    family(out, "bounceguard_observed_refusals_total", "counter",
           "Refusals that mode = observe let through, by stage and rule.");
    for (int st = 0; st < 2; st++)
        for (int r = 0; r < NRULES; r++) {
            if (r == RULE_STORE_ERROR)
                continue;
            bg_buf_printf(out,
                          "bounceguard_observed_refusals_total{stage=\"%s\",rule=\"%s\"} %llu\n",
                          st ? "rcpt" : "mail", rule_names[r],
                          (unsigned long long)get(&m->observed[st][r]));
        }
    family(out, "bounceguard_store_errors_total", "counter",
           "MAIL FROM, RCPT TO and ends of messages answered per on_store_error because "
           "the store failed.");
    sample0(out, "bounceguard_store_errors_total", get(&m->store_errors));
    family(out, "bounceguard_tempfails_total", "counter",
           "Temporary (4xx) refusals at MAIL FROM, RCPT TO and the end of a message.");
    sample0(out, "bounceguard_tempfails_total", get(&m->tempfails));

    family(out, "bounceguard_rcpt_decision_seconds", "histogram",
           "Time the milter took to decide on one RCPT TO, store lookups included.");
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += get(&m->buckets[i]);
        bg_buf_printf(out, "bounceguard_rcpt_decision_seconds_bucket{le=\"%g\"} %llu\n",
                      latency_bounds[i], (unsigned long long)cum);
    }
    /* +Inf is the count, read once, so that the buckets never exceed it
     * by more than the decisions counted while this was written */
    uint64_t n = get(&m->decisions);
    bg_buf_printf(out, "bounceguard_rcpt_decision_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)(n > cum ? n : cum));
    bg_buf_printf(out, "bounceguard_rcpt_decision_seconds_sum %.9f\n",
                  (double)get(&m->latency_ns) / 1e9);
    bg_buf_printf(out, "bounceguard_rcpt_decision_seconds_count %llu\n",
                  (unsigned long long)(n > cum ? n : cum));
}

void
bg_metrics_format_store(const bg_metrics_store_view *v, bg_buf *out)
{
    static const char *const dbs[] = {"recipients", "senders", "tried", "messages",
                                      "incidents",  "seen",    "expiry"};
    const uint64_t recs[] = {v->records.rcpts,     v->records.senders, v->records.tried,
                             v->records.messages,  v->records.incidents, v->records.seen,
                             v->records.expiry};

    family(out, "bounceguard_build_info", "gauge", "The version of bounceguard, as a label.");
    sample1(out, "bounceguard_build_info", "version", BG_VERSION, 1);
    family(out, "bounceguard_store_up", "gauge",
           "1 when the store answered this scrape, 0 when it failed (see the error log).");
    sample0(out, "bounceguard_store_up", v->ok ? 1 : 0);
    if (!v->ok)
        return;
    if (v->scanned) {
        family(out, "bounceguard_blacklisted_recipients", "gauge",
               "Recipients refused now because they bounced or were blocked by hand.");
        sample0(out, "bounceguard_blacklisted_recipients", v->blacklisted);
        family(out, "bounceguard_senders_at_quota", "gauge",
               "Senders whose next message would be refused for their quota.");
        sample0(out, "bounceguard_senders_at_quota", v->senders_at_quota);
        family(out, "bounceguard_store_records", "gauge", "Records in the store, by database.");
        for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
            sample1(out, "bounceguard_store_records", "db", dbs[i], recs[i]);
        family(out, "bounceguard_store_scan_timestamp_seconds", "gauge",
               "When the gauges above were counted over every record (UNIX time).");
        sample0(out, "bounceguard_store_scan_timestamp_seconds",
                (uint64_t)(v->scan_time > 0 ? v->scan_time : 0));
        family(out, "bounceguard_store_scan_duration_seconds", "gauge",
               "How long that count took.");
        bg_buf_printf(out, "bounceguard_store_scan_duration_seconds %.3f\n", v->scan_seconds);
    }

    family(out, "bounceguard_bounces_learned_total", "counter",
           "Bounces the DSN intake judged (trusted, not duplicate), by scope and reason.");
    for (size_t i = 0; i < v->nbounces; i++)
        bg_buf_printf(out, "bounceguard_bounces_learned_total{scope=\"%s\",reason=\"%s\"} %llu\n",
                      v->bounces[i].scope, v->bounces[i].reason,
                      (unsigned long long)v->bounces[i].count);
    family(out, "bounceguard_bounces_untrusted_total", "counter",
           "Bounces ignored as forged or unrelated (not correlated, not trusted).");
    sample0(out, "bounceguard_bounces_untrusted_total", v->untrusted);

    family(out, "bounceguard_incident_reports", "gauge",
           "Bounces that reported the relay on a blocklist, over the incidents kept "
           "(history_period), by list.");
    for (size_t i = 0; i < v->nlists; i++)
        sample1(out, "bounceguard_incident_reports", "list", v->lists[i].name,
                v->lists[i].reports);
    family(out, "bounceguard_incident_last_report_timestamp_seconds", "gauge",
           "When a bounce last reported the relay on a blocklist, by list (UNIX time).");
    for (size_t i = 0; i < v->nlists; i++)
        sample1(out, "bounceguard_incident_last_report_timestamp_seconds", "list",
                v->lists[i].name, (uint64_t)(v->lists[i].last > 0 ? v->lists[i].last : 0));

    if (v->redis) /* Redis keeps no log of ours */
        return;
    family(out, "bounceguard_store_log_bytes", "gauge",
           "Size of the Berkeley DB transaction log files kept.");
    sample0(out, "bounceguard_store_log_bytes", v->log_bytes);
    family(out, "bounceguard_store_log_files", "gauge",
           "Berkeley DB transaction log files kept.");
    sample0(out, "bounceguard_store_log_files", v->log_files);
    family(out, "bounceguard_store_last_checkpoint_timestamp_seconds", "gauge",
           "When the store was last checkpointed (UNIX time; 0 = not yet).");
    sample0(out, "bounceguard_store_last_checkpoint_timestamp_seconds",
            (uint64_t)(v->last_checkpoint > 0 ? v->last_checkpoint : 0));
}

/* ---- reading the store ------------------------------------------------------ */

void
bg_metrics_bounce_counter(char *buf, size_t size, bg_bounce_scope scope, const char *reason)
{
    snprintf(buf, size, "bounce:%s:%s", bg_scope_name(scope),
             reason && bg_reason_is_valid(reason) ? reason : "undefined");
}

typedef struct read_arg {
    const bg_config *cfg;
    int64_t now;
    bg_metrics_store_view *v;
    /* every list seen, before the cap */
    bg_metrics_list *lists;
    size_t nlists, lists_cap;
} read_arg;

static int
rcpt_visit(const char *addr, const bg_rcpt_rec *r, void *arg)
{
    read_arg *a = arg;

    if (bg_policy_rcpt_blacklisted(r, a->now))
        a->v->blacklisted++;
    return 0;
}

static int
sender_visit(const char *id, const bg_sender_rec *r, void *arg)
{
    read_arg *a = arg;
    long limit = bg_config_quota_for(a->cfg, id);

    if (limit > 0 && bg_policy_quota_exhausted(r, a->now, limit, a->cfg->quota_window))
        a->v->senders_at_quota++;
    return 0;
}

static int
counter_visit(const char *name, uint64_t value, void *arg)
{
    read_arg *a = arg;
    bg_metrics_store_view *v = a->v;
    const char *scope = name + strlen("bounce:"), *colon;

    if (strcmp(name, BG_METRICS_COUNTER_UNTRUSTED) == 0) {
        v->untrusted = value;
        return 0;
    }
    if (strncmp(name, "bounce:", 7) != 0 || (colon = strchr(scope, ':')) == NULL)
        return 0; /* not one of ours: never shown, so never an unbounded label */
    if (!bg_reason_is_valid(colon + 1) || (size_t)(colon - scope) >= sizeof(v->bounces->scope))
        return 0;
    if (v->nbounces == v->bounces_cap) {
        v->bounces_cap = v->bounces_cap ? 2 * v->bounces_cap : 32;
        v->bounces = bg_xrealloc(v->bounces, v->bounces_cap * sizeof(*v->bounces));
    }
    bg_metrics_bounces *b = &v->bounces[v->nbounces++];
    snprintf(b->scope, sizeof(b->scope), "%.*s", (int)(colon - scope), scope);
    bg_strlcpy(b->reason, colon + 1, sizeof(b->reason));
    b->count = value;
    return 0;
}

/* An RBL's name as a label: printable ASCII, cut to fit. */
static void
list_name(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    for (; src[i] && i + 1 < size; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    dst[i] = '\0';
}

static int
incident_visit(const bg_incident_rec *r, void *arg)
{
    read_arg *a = arg;
    char name[sizeof(a->lists->name)];
    size_t i;

    list_name(name, sizeof(name), r->rbl);
    for (i = 0; i < a->nlists; i++)
        if (strcmp(a->lists[i].name, name) == 0)
            break;
    if (i == a->nlists) {
        if (a->nlists == a->lists_cap) {
            a->lists_cap = a->lists_cap ? 2 * a->lists_cap : 16;
            a->lists = bg_xrealloc(a->lists, a->lists_cap * sizeof(*a->lists));
        }
        memset(&a->lists[i], 0, sizeof(a->lists[i]));
        bg_strlcpy(a->lists[i].name, name, sizeof(a->lists[i].name));
        a->nlists++;
    }
    a->lists[i].reports += r->count;
    if (r->last > a->lists[i].last)
        a->lists[i].last = r->last;
    return 0;
}

static int
latest_first(const void *x, const void *y)
{
    const bg_metrics_list *a = x, *b = y;

    if (a->last != b->last)
        return a->last > b->last ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Keep the BG_METRICS_LISTS_MAX lists reported last, the rest as "other";
 * shown in name order, so that a scrape reads the same from one to the next. */
static void
cap_lists(read_arg *a)
{
    bg_metrics_store_view *v = a->v;
    bg_metrics_list other = {"other", 0, 0};

    if (a->nlists > 1) /* qsort of no array (NULL) is undefined */
        qsort(a->lists, a->nlists, sizeof(*a->lists), latest_first);
    for (size_t i = 0; i < a->nlists; i++) {
        if (i < BG_METRICS_LISTS_MAX && strcmp(a->lists[i].name, "other") != 0) {
            v->lists[v->nlists++] = a->lists[i];
            continue;
        }
        other.reports += a->lists[i].reports;
        if (a->lists[i].last > other.last)
            other.last = a->lists[i].last;
    }
    if (other.reports > 0)
        v->lists[v->nlists++] = other;
    for (size_t i = 1; i < v->nlists; i++)
        for (size_t j = i; j > 0 && strcmp(v->lists[j - 1].name, v->lists[j].name) > 0; j--) {
            bg_metrics_list t = v->lists[j];
            v->lists[j] = v->lists[j - 1];
            v->lists[j - 1] = t;
        }
}

static int
read_counters(bg_store *st, read_arg *a, bg_error *err)
{
    bg_metrics_store_view *v = a->v;
    bg_store_env_stats e;

    v->nbounces = 0;
    v->untrusted = 0;
    v->nlists = 0;
    if (bg_store_env_stats_get(st, &e, err) < 0 ||
        bg_store_counter_foreach(st, "", counter_visit, a, err) < 0 ||
        bg_store_incident_foreach(st, incident_visit, a, err) < 0) {
        v->ok = false;
        return -1;
    }
    v->redis = e.redis;
    v->log_files = e.log_files;
    v->log_bytes = e.log_bytes;
    v->last_checkpoint = e.last_checkpoint;
    cap_lists(a);
    v->ok = true;
    return 0;
}

static int
read_scan(bg_store *st, read_arg *a, bg_error *err)
{
    bg_metrics_store_view *v = a->v, fresh;
    int64_t t0 = bg_monotonic_ms();

    /* counted apart, so that a failed scan leaves the last one shown */
    memset(&fresh, 0, sizeof(fresh));
    a->v = &fresh;
    int rc = bg_store_stats_get(st, &fresh.records, err) < 0 ||
                     bg_store_rcpt_foreach(st, NULL, rcpt_visit, a, err) < 0 ||
                     bg_store_sender_foreach(st, sender_visit, a, err) < 0
                 ? -1
                 : 0;
    a->v = v;
    if (rc < 0)
        return -1;
    v->blacklisted = fresh.blacklisted;
    v->senders_at_quota = fresh.senders_at_quota;
    v->records = fresh.records;
    v->scan_time = a->now;
    v->scan_seconds = (double)(bg_monotonic_ms() - t0) / 1000;
    v->scanned = true;
    return 0;
}

int
bg_metrics_store_read(bg_store *st, const bg_config *cfg, int64_t now, unsigned parts,
                      bg_metrics_store_view *out, bg_error *err)
{
    read_arg a = {cfg, now, out, NULL, 0, 0};
    int rc = 0;

    if ((parts & BG_METRICS_READ_COUNTERS) && read_counters(st, &a, err) < 0)
        rc = -1;
    if (rc == 0 && (parts & BG_METRICS_READ_SCAN) && read_scan(st, &a, err) < 0)
        rc = -1;
    free(a.lists);
    return rc;
}

void
bg_metrics_store_view_clear(bg_metrics_store_view *v)
{
    free(v->bounces);
    v->bounces = NULL;
    v->nbounces = v->bounces_cap = 0;
}
