/*
 * report_html — the page of `bounceguard report`: one self-contained HTML
 * file (inline CSS, plots drawn here as inline SVG, no script, no fetch of
 * anything: a Content-Security-Policy of default-src 'none' says so to the
 * browser too) that shows an administrator without Prometheus the last N
 * days of the store: bounces per day by reason, recipients blacklisted and
 * released per day, RBL incidents on a timeline, the senders the store
 * knows refusals of, and the latest blacklistings.
 *
 * Pure formatting: the caller (cli/report_page.c) reads the store and fills
 * a bg_report; bg_report_html() writes the page into a buffer.  No clock, no
 * I/O.  Every string from the store (addresses, sender identities, list
 * names, diagnostics, even reason names) is made printable
 * (bg_sanitize_line's convention) and HTML-escaped (& < > " ') before it
 * reaches the markup, in text and in attributes alike.
 */
#ifndef BOUNCEGUARD_REPORT_HTML_H
#define BOUNCEGUARD_REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounceguard/store.h"
#include "bounceguard/util.h"

#define BG_REPORT_DAY 86400
/* At most this many series in one chart: the smallest ones beyond it are
 * counted together as BG_REPORT_OTHER (the legend stays readable). */
#define BG_REPORT_MAX_SERIES 10
#define BG_REPORT_OTHER "(other)"
/* --days accepts 1..BG_REPORT_MAX_DAYS. */
#define BG_REPORT_MAX_DAYS 366

/*
 * Counts per UTC day and per series (a reason, a source...): the data of one
 * stacked-bar chart.  Owns its memory: bg_report_chart_clear() frees it.
 */
typedef struct bg_report_chart {
    int64_t start; /* 00:00 UTC of the first day */
    size_t ndays;
    char **series; /* names, in the order first seen */
    size_t nseries;
    unsigned long *counts; /* counts[s * ndays + d] */
} bg_report_chart;

/* An empty chart of ndays days from start (a multiple of a day). */
void bg_report_chart_init(bg_report_chart *c, int64_t start, size_t ndays);
/* Count one event of series name (NULL or "" is "(none)") at time when;
 * false, counting nothing, when when is outside the chart's days. */
bool bg_report_chart_add(bg_report_chart *c, const char *name, int64_t when);
/* The sum of every count. */
unsigned long bg_report_chart_total(const bg_report_chart *c);
void bg_report_chart_clear(bg_report_chart *c);

/* A sender with what the store knows of its refusals. */
typedef struct bg_report_sender {
    char *id;                /* identity: ip:, sasl:, env: (owned by the caller) */
    unsigned long bounced;   /* recipients whose last bounce (in the period)
                              * came back from its mail */
    unsigned long tried;     /* blacklisted recipients it tried in the period */
    unsigned long tried_now; /* of all it tried, the ones blacklisted now */
    unsigned long refused;   /* messages refused for its quota in its window */
    long used, limit;        /* its quota window now; limit 0 = no quota */
    uint64_t total;          /* messages accepted over its lifetime */
    bool blocked, over_quota;
} bg_report_sender;

/* A recipient for the table of the latest blacklistings. */
typedef struct bg_report_rcpt {
    char *addr; /* owned by the caller */
    bg_rcpt_rec rec;
    const char *state; /* "blacklisted", "unblocked", "expired" */
} bg_report_rcpt;

/* Everything the page shows.  The caller owns every pointer. */
typedef struct bg_report {
    int64_t now;         /* generated at */
    unsigned days;       /* the period: the `days` UTC days up to now's */
    int64_t start;       /* 00:00 UTC of its first day */
    const char *backend; /* "Berkeley DB" or "Redis" */
    const char *where;   /* the store's directory or server */
    const char *version; /* bounceguard's */

    unsigned long rcpts;        /* recipients in the store */
    unsigned long blacklisted;  /* blacklisted now */
    unsigned long bounce_total; /* bounces counted on recipients whose last
                                 * bounce falls in the period (bounce_count) */
    bg_report_chart bounces;    /* dated bounces per day by reason */
    bg_report_chart listed;     /* recipients blacklisted per day by how */
    bg_report_chart released;   /* recipients released per day by how */

    const bg_incident_rec *incidents; /* active in the period, latest first */
    size_t nincidents;
    const bg_report_sender *senders; /* the top ones, in order */
    size_t nsenders, nsenders_all, nsenders_blocked, nsenders_over;
    const bg_report_rcpt *recent; /* latest changes first */
    size_t nrecent;
} bg_report;

/* The first day of a period of `days` UTC days that ends with now's day. */
int64_t bg_report_period_start(int64_t now, unsigned days);

/* Append the whole page to out. */
void bg_report_html(bg_buf *out, const bg_report *r);

/* Append s to out made printable and HTML-escaped: safe in text and in a
 * quoted attribute.  At most max bytes of the display form (0 = no limit);
 * a longer text ends in "...". */
void bg_html_text(bg_buf *out, const char *s, size_t max);

#endif
