/*
 * metrics — bounceguard's Prometheus metrics: the counters the milter keeps
 * in its own memory, what is read from the store for every process alike,
 * and the text exposition format (version 0.0.4) of both.
 *
 * Two sources, because two kinds of process count:
 *
 *  - the milter's replies (messages and recipients accepted or refused, by
 *    rule; store errors; tempfails; the RCPT decision's latency) live in a
 *    bg_metrics of the milter process: relaxed atomics, no lock, nothing
 *    written anywhere, lost at a restart as Prometheus counters may be;
 *  - what the DSN intake learned (another process) and the store's state
 *    (blacklist size, senders at quota, incidents, the store's log) are read
 *    from the store (bg_metrics_store_read): counters the intake keeps there
 *    with bg_store_txn_counter_add under the names this module gives
 *    (bg_metrics_bounce_counter), and the records themselves.
 *
 * The milter serves both at /metrics; `bounceguard metrics` prints the
 * store's part for node_exporter's textfile collector.  The formatting is
 * pure (state in, text out); the metrics only count, the policy decides.
 *
 * Names follow Prometheus' conventions: bounceguard_ prefix, _total for
 * counters, base units (seconds, bytes), and bounded label sets: a rule, a
 * scope and a reason of the fixed vocabularies, an RBL's name among the
 * BG_METRICS_LISTS_MAX most recent (the others summed as "other").  Never an
 * address or a sender as a label.
 */
#ifndef BOUNCEGUARD_METRICS_H
#define BOUNCEGUARD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/config.h"
#include "bounceguard/policy.h"
#include "bounceguard/reason.h"
#include "bounceguard/store.h"
#include "bounceguard/util.h"

/* ---- the milter's counters ----------------------------------------------- */

typedef struct bg_metrics bg_metrics;

typedef enum bg_metrics_stage {
    BG_METRICS_MAIL = 0, /* MAIL FROM: the message */
    BG_METRICS_RCPT = 1, /* RCPT TO: one recipient */
} bg_metrics_stage;

/* What the MTA was told. */
typedef enum bg_metrics_reply {
    BG_METRICS_PASSED = 0,    /* continue (accepted, or observe mode, or on_store_error = accept) */
    BG_METRICS_REJECTED = 5,  /* a 5xx reply */
    BG_METRICS_TEMPFAILED = 4,/* a 4xx reply */
} bg_metrics_reply;

/* New counters, all 0 (never NULL: allocation failure is fatal, util.h). */
bg_metrics *bg_metrics_new(void);
/* Returns NULL. */
bg_metrics *bg_metrics_free(bg_metrics *m);

/*
 * Count one answer at MAIL FROM or RCPT TO: verdict v of the gate, and the
 * reply the MTA got.  A recipient passed with BG_VERDICT_ACCEPT is
 * accepted; a verdict that would refuse but passed counts as observed (mode
 * = observe) or as a store error let through (on_store_error = accept).
 * Thread-safe, lock-free.
 */
void bg_metrics_count(bg_metrics *m, bg_metrics_stage stage, bg_verdict_kind v,
                      bg_metrics_reply reply);
/* Count a message the milter let through to the end (its end of message). */
void bg_metrics_message_accepted(bg_metrics *m);
/* Add one RCPT decision that took ns nanoseconds to the latency histogram. */
void bg_metrics_rcpt_latency(bg_metrics *m, uint64_t ns);

/* The label value of a verdict's rule ("format", "tld", "blacklisted",
 * "sender_blocked", "quota", ...; "none" for BG_VERDICT_ACCEPT). */
const char *bg_metrics_rule_name(bg_verdict_kind v);

/* Append the milter's families (counters and the histogram) to out. */
void bg_metrics_format_milter(const bg_metrics *m, bg_buf *out);

/* ---- what the store says --------------------------------------------------- */

/* The most RBLs shown by name in the incident families; older ones are
 * summed under list="other". */
#define BG_METRICS_LISTS_MAX 20

/* The store counter's name for a learned bounce of scope and reason (an
 * unknown reason counts as "undefined"), into buf (64 bytes are enough). */
void bg_metrics_bounce_counter(char *buf, size_t size, bg_bounce_scope scope,
                               const char *reason);
/* The store counter of a bounce ignored as forged or unrelated. */
#define BG_METRICS_COUNTER_UNTRUSTED "bounce-untrusted"

typedef struct bg_metrics_bounces {
    char scope[16];
    char reason[24];
    uint64_t count;
} bg_metrics_bounces;

typedef struct bg_metrics_list {
    char name[80]; /* printable, cut to fit; "other" for the rest */
    uint64_t reports; /* bounces that reported it, over the incidents kept */
    int64_t last;     /* the latest report, UNIX time */
} bg_metrics_list;

/* A reading of the store (owned arrays: bg_metrics_store_view_clear).  Two
 * parts, read apart (bg_metrics_store_read's parts): the counters, bounded
 * and cheap, and the scan of every recipient and sender, which costs about
 * 2 s of CPU per million recipients. */
typedef struct bg_metrics_store_view {
    /* BG_METRICS_READ_COUNTERS */
    bool ok;                     /* false: the store did not answer (the rest is 0) */
    bool redis;                  /* no log, no checkpoint (Berkeley DB's only) */
    uint64_t log_files, log_bytes;
    int64_t last_checkpoint;     /* 0 = none yet */
    uint64_t untrusted;          /* bounces ignored as forged or unrelated */
    bg_metrics_bounces *bounces; /* learned, by scope and reason */
    size_t nbounces, bounces_cap;
    bg_metrics_list lists[BG_METRICS_LISTS_MAX + 1];
    size_t nlists;
    /* BG_METRICS_READ_SCAN; a failed scan keeps the last one */
    bool scanned;                /* a scan succeeded */
    uint64_t blacklisted;        /* recipients refused now */
    uint64_t senders_at_quota;   /* senders whose next message would be refused */
    bg_store_stats records;
    int64_t scan_time;           /* when (UNIX time) */
    double scan_seconds;         /* and how long it took */
} bg_metrics_store_view;

enum {
    BG_METRICS_READ_COUNTERS = 1 << 0,
    BG_METRICS_READ_SCAN = 1 << 1,
    BG_METRICS_READ_ALL = BG_METRICS_READ_COUNTERS | BG_METRICS_READ_SCAN,
};

/*
 * Read the parts of the view (BG_METRICS_READ_*) at now from the store st
 * under config cfg (quota limits, quota window); out must be zeroed before
 * its first read, the parts not asked for are left as they are.  The scan
 * streams (bounded memory) and times itself (scan_seconds), so that a
 * long-lived caller can space scans by their cost.  0, or -1 with err set
 * (a failed counters part sets ok false; a failed scan keeps the last).
 */
int bg_metrics_store_read(bg_store *st, const bg_config *cfg, int64_t now, unsigned parts,
                          bg_metrics_store_view *out, bg_error *err);
void bg_metrics_store_view_clear(bg_metrics_store_view *v);

/* Append the store's families to out: bounceguard_store_up, then (when it
 * answered) the learned counters and the gauges, those of the scan once one
 * succeeded, with its time and duration. */
void bg_metrics_format_store(const bg_metrics_store_view *v, bg_buf *out);

/* The media type of the text exposition. */
#define BG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
