/*
 * report_html — the page of `bounceguard report` (bounceguard/report_html.h).
 *
 * bg_report_chart_init/add/total/clear
 *     counts per UTC day and series, for one stacked-bar chart.  add answers
 *     false for a time outside the chart's days; the chart grows its series
 *     as names come (no limit here: the drawing folds the smallest ones).
 * bg_report_period_start(now, days)
 *     00:00 UTC of the first of `days` days ending with now's day.
 * bg_report_html(out, r)
 *     the page: header (generated-at time in ISO 8601, store, period),
 *     summary numbers, three stacked-bar charts, the incident timeline and
 *     table, the senders and the latest blacklistings, and what each part
 *     counts.  Plots are SVG drawn here: bars with a <title> each (the
 *     browser shows it on hover), axes with gridlines, day labels, a legend.
 * bg_html_text(out, s, max)
 *     the one way a string from the store reaches the page: made printable
 *     (bg_sanitize_line's escapes for controls, bidi and bytes that are not
 *     UTF-8), cut at max bytes with "...", then & < > " ' as entities.
 *
 * DIAGNOSTICS: none; memory exhaustion aborts (util.h).  The page has no
 * script and asks for nothing from outside: its Content-Security-Policy is
 * default-src 'none' with inline styles only, so even markup that slipped
 * through could load nothing.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/dnsbl.h"
#include "bounceguard/report_html.h"

/* ---- charts' data -------------------------------------------------------- */

void
bg_report_chart_init(bg_report_chart *c, int64_t start, size_t ndays)
{
    memset(c, 0, sizeof(*c));
    c->start = start;
    c->ndays = ndays;
}

bool
bg_report_chart_add(bg_report_chart *c, const char *name, int64_t when)
{
    size_t s;

    if (when < c->start || c->ndays == 0 ||
        (uint64_t)(when - c->start) / BG_REPORT_DAY >= c->ndays)
        return false;
    if (name == NULL || *name == '\0')
        name = "(none)";
    for (s = 0; s < c->nseries; s++)
        if (strcmp(c->series[s], name) == 0)
            break;
    if (s == c->nseries) {
        c->series = bg_xrealloc(c->series, (c->nseries + 1) * sizeof(*c->series));
        c->series[c->nseries] = bg_xstrdup(name);
        c->counts =
            bg_xrealloc(c->counts, (c->nseries + 1) * c->ndays * sizeof(*c->counts));
        memset(c->counts + c->nseries * c->ndays, 0, c->ndays * sizeof(*c->counts));
        c->nseries++;
    }
    c->counts[s * c->ndays + (size_t)((when - c->start) / BG_REPORT_DAY)]++;
    return true;
}

unsigned long
bg_report_chart_total(const bg_report_chart *c)
{
    unsigned long t = 0;

    for (size_t i = 0; i < c->nseries * c->ndays; i++)
        t += c->counts[i];
    return t;
}

void
bg_report_chart_clear(bg_report_chart *c)
{
    for (size_t s = 0; s < c->nseries; s++)
        free(c->series[s]);
    free(c->series);
    free(c->counts);
    memset(c, 0, sizeof(*c));
}

int64_t
bg_report_period_start(int64_t now, unsigned days)
{
    int64_t today = now - ((now % BG_REPORT_DAY) + BG_REPORT_DAY) % BG_REPORT_DAY;

    return today - (int64_t)(days > 0 ? days - 1 : 0) * BG_REPORT_DAY;
}

/* ---- text ----------------------------------------------------------------- */

void
bg_html_text(bg_buf *out, const char *s, size_t max)
{
    bg_buf shown = BG_BUF_INIT;
    const char *p;

    if (s == NULL)
        s = "";
    if (max > 0) {
        char *cut = bg_xmalloc(max + 1);
        bg_sanitize_cell(cut, max + 1, s, max);
        bg_buf_puts(&shown, cut);
        free(cut);
    } else {
        bg_buf_sanitized(&shown, s, strlen(s));
    }
    for (p = bg_buf_str(&shown); *p; p++) {
        switch (*p) {
        case '&':
            bg_buf_puts(out, "&amp;");
            break;
        case '<':
            bg_buf_puts(out, "&lt;");
            break;
        case '>':
            bg_buf_puts(out, "&gt;");
            break;
        case '"':
            bg_buf_puts(out, "&quot;");
            break;
        case '\'':
            bg_buf_puts(out, "&#39;");
            break;
        default:
            bg_buf_putc(out, *p);
            break;
        }
    }
    bg_buf_free(&shown);
}

/* "2026-12-07" or "12-07" of a time, UTC. */
static const char *
day_label(char *dst, size_t size, int64_t t, bool year)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(dst, size, year ? "%Y-%m-%d" : "%m-%d", &tm) == 0)
        bg_strlcpy(dst, "?", size);
    return dst;
}

/* "2026-12-07 06:01Z", or "-" for 0. */
static const char *
time_label(char *dst, size_t size, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(dst, size, "%Y-%m-%d %H:%MZ", &tm) == 0)
        bg_strlcpy(dst, "-", size);
    return dst;
}

/* ---- stacked bars ---------------------------------------------------------- */

static const char *const palette[BG_REPORT_MAX_SERIES] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#8c8c8c"};

/* The series as drawn: the largest first, the ones beyond the palette folded
 * into BG_REPORT_OTHER.  Owns names (borrowed) and counts. */
typedef struct drawn {
    size_t n, ndays;
    const char *names[BG_REPORT_MAX_SERIES];
    unsigned long *counts; /* counts[s * ndays + d] */
} drawn;

static int
cmp_series(const void *x, const void *y, void *arg)
{
    const bg_report_chart *sort_chart = arg;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    unsigned long ta = 0, tb = 0;

    for (size_t d = 0; d < sort_chart->ndays; d++) {
        ta += sort_chart->counts[a * sort_chart->ndays + d];
        tb += sort_chart->counts[b * sort_chart->ndays + d];
    }
    if (ta != tb)
        return ta > tb ? -1 : 1;
    return strcmp(sort_chart->series[a], sort_chart->series[b]);
}

static void
drawn_make(drawn *dr, const bg_report_chart *c)
{
    size_t *order = bg_xcalloc(c->nseries + 1, sizeof(*order));

    memset(dr, 0, sizeof(*dr));
    dr->ndays = c->ndays;
    dr->counts =
        bg_xcalloc(BG_REPORT_MAX_SERIES * (c->ndays ? c->ndays : 1), sizeof(*dr->counts));
    for (size_t s = 0; s < c->nseries; s++)
        order[s] = s;
    if (c->nseries > 1)
        qsort_r(order, c->nseries, sizeof(*order), cmp_series, (void *)c);
    for (size_t i = 0; i < c->nseries; i++) {
        size_t to = i;
        if (c->nseries > BG_REPORT_MAX_SERIES && i >= BG_REPORT_MAX_SERIES - 1)
            to = BG_REPORT_MAX_SERIES - 1;
        dr->names[to] = to == i ? c->series[order[i]] : BG_REPORT_OTHER;
        for (size_t d = 0; d < c->ndays; d++)
            dr->counts[to * c->ndays + d] += c->counts[order[i] * c->ndays + d];
        if (to + 1 > dr->n)
            dr->n = to + 1;
    }
    free(order);
}

/* 1, 2 or 5 times a power of ten: the step of at most 5 gridlines up to max. */
static unsigned long
nice_step(unsigned long max)
{
    unsigned long p = 1;

    for (;;) {
        if (max <= 5 * p)
            return p;
        if (max <= 10 * p)
            return 2 * p;
        if (max <= 25 * p)
            return 5 * p;
        p *= 10;
    }
}

/* Geometry of the charts (SVG user units = CSS pixels at the page's width). */
#define CW 960.0  /* width */
#define CX0 56.0  /* left of the plot (y labels on its left) */
#define CX1 950.0 /* right of the plot */
#define CY0 12.0  /* top of the plot */
#define CPH 160.0 /* height of the plot */
#define LEGEND_W 186.0

static void
x_axis(bg_buf *b, int64_t start, size_t ndays, double x0, double x1, double y)
{
    double slot = (x1 - x0) / (double)ndays;
    size_t every = (ndays + 14) / 15;
    char lab[16];

    bg_buf_printf(
        b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0,
        y, x1, y);
    for (size_t d = 0; d < ndays; d++) {
        if ((ndays - 1 - d) % every != 0) /* today always has its label */
            continue;
        bg_buf_printf(
            b,
            "<text class=\"xl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            x0 + slot * ((double)d + 0.5), y + 15,
            day_label(lab, sizeof(lab), start + (int64_t)d * BG_REPORT_DAY, false));
    }
}

static void
chart_svg(bg_buf *b, const bg_report_chart *c, const char *id, const char *what)
{
    drawn dr;
    unsigned long max = 0, step, top;
    double slot, barw, legend_y;
    size_t rows, per_row = (size_t)((CX1 - CX0) / LEGEND_W);
    char lab[16];

    drawn_make(&dr, c);
    for (size_t d = 0; d < c->ndays; d++) {
        unsigned long sum = 0;
        for (size_t s = 0; s < dr.n; s++)
            sum += dr.counts[s * c->ndays + d];
        if (sum > max)
            max = sum;
    }
    step = nice_step(max ? max : 1);
    top = ((max ? max : 1) + step - 1) / step * step;
    rows = dr.n ? (dr.n + per_row - 1) / per_row : 1;
    legend_y = CY0 + CPH + 36;
    bg_buf_printf(
        b,
        "<svg class=\"chart\" id=\"%s\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 "
        "%.0f %.0f\" role=\"img\" aria-label=\"",
        id, CW, legend_y + 20.0 * (double)rows, CW, legend_y + 20.0 * (double)rows);
    bg_html_text(b, what, 0);
    bg_buf_puts(b, "\">\n");
    /* gridlines and y labels */
    for (unsigned long v = 0; v <= top; v += step) {
        double y = CY0 + CPH - CPH * (double)v / (double)top;
        bg_buf_printf(
            b,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
            "<text class=\"yl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%lu</text>\n",
            CX0, y, CX1, y, CX0 - 6, y + 4, v);
    }
    bg_buf_printf(
        b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
        CX0, CY0, CX0, CY0 + CPH);
    /* the bars, stacked from the largest series up */
    slot = (CX1 - CX0) / (double)(c->ndays ? c->ndays : 1);
    barw = slot * 0.78 < 1 ? 1 : slot * 0.78;
    for (size_t d = 0; d < c->ndays; d++) {
        double y = CY0 + CPH;
        for (size_t s = 0; s < dr.n; s++) {
            unsigned long v = dr.counts[s * c->ndays + d];
            double h = CPH * (double)v / (double)top;
            if (v == 0)
                continue;
            y -= h;
            bg_buf_puts(b, "<rect class=\"bar\" data-series=\"");
            bg_html_text(b, dr.names[s], 0);
            bg_buf_printf(
                b,
                "\" data-day=\"%s\" data-count=\"%lu\" x=\"%.1f\" y=\"%.1f\" "
                "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
                day_label(lab, sizeof(lab), c->start + (int64_t)d * BG_REPORT_DAY, true),
                v, CX0 + slot * (double)d + (slot - barw) / 2, y, barw, h, palette[s]);
            bg_buf_printf(b, "%s ", lab);
            bg_html_text(b, dr.names[s], 0);
            bg_buf_printf(b, ": %lu</title></rect>\n", v);
        }
    }
    x_axis(b, c->start, c->ndays ? c->ndays : 1, CX0, CX1, CY0 + CPH);
    if (dr.n == 0)
        bg_buf_printf(
            b,
            "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
            "nothing in this period</text>\n",
            (CX0 + CX1) / 2, CY0 + CPH / 2);
    /* the legend, in rows under the axis */
    for (size_t s = 0; s < dr.n; s++) {
        size_t row = s / per_row, col = s % per_row;
        double x = CX0 + LEGEND_W * (double)col;
        double y = legend_y + 20.0 * (double)row;
        unsigned long total = 0;
        for (size_t d = 0; d < c->ndays; d++)
            total += dr.counts[s * c->ndays + d];
        bg_buf_printf(b,
                      "<g class=\"legend\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                      "height=\"12\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
                      x, y - 10, palette[s], x + 17, y);
        bg_html_text(b, dr.names[s], 24);
        bg_buf_printf(b, " (%lu)</text></g>\n", total);
    }
    bg_buf_puts(b, "</svg>\n");
    free(dr.counts);
}

/* ---- incidents on a timeline ------------------------------------------------- */

#define TL_X0 250.0
#define TL_ROW 24.0
#define TL_MAX 25

static void
timeline_svg(bg_buf *b, const bg_report *r)
{
    size_t n = r->nincidents < TL_MAX ? r->nincidents : TL_MAX;
    double span = (double)r->days * BG_REPORT_DAY, h = CY0 + TL_ROW * (double)n + 24;

    bg_buf_printf(b,
                  "<svg class=\"timeline\" id=\"incident-timeline\" width=\"%.0f\" "
                  "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                  "aria-label=\"RBL incidents, first to last report\">\n",
                  CW, h, CW, h);
    for (size_t i = 0; i < n; i++) {
        const bg_incident_rec *in = &r->incidents[i];
        int64_t from = in->first > r->start ? in->first : r->start;
        int64_t to = in->last > r->now ? r->now : in->last;
        double y = CY0 + TL_ROW * (double)i;
        double x0 = TL_X0 + (CX1 - TL_X0) * (double)(from - r->start) / span;
        double x1 = TL_X0 + (CX1 - TL_X0) * (double)(to - r->start) / span;
        char a[32], z[32];

        if (x1 - x0 < 4)
            x1 = x0 + 4;
        if (x1 > CX1) {
            x1 = CX1;
            x0 = x0 > x1 - 4 ? x1 - 4 : x0;
        }
        bg_buf_printf(
            b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            TL_X0, y + TL_ROW / 2, CX1, y + TL_ROW / 2);
        bg_buf_printf(b, "<text class=\"tll\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                      TL_X0 - 8, y + TL_ROW / 2 + 4);
        bg_html_text(b, in->rbl, 34);
        bg_buf_printf(
            b,
            "</text>\n<rect class=\"span\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\" rx=\"3\" fill=\"%s\"><title>",
            x0, y + 5, x1 - x0, TL_ROW - 10, palette[2]);
        bg_html_text(b, in->rbl, 0);
        bg_buf_puts(b, " via ");
        bg_html_text(b, in->remote_mta, 0);
        bg_buf_printf(b, ": %" PRIu32 " report%s, %s to %s</title></rect>\n", in->count,
                      in->count == 1 ? "" : "s", time_label(a, sizeof(a), in->first),
                      time_label(z, sizeof(z), in->last));
    }
    x_axis(b, r->start, r->days, TL_X0, CX1, CY0 + TL_ROW * (double)n);
    bg_buf_puts(b, "</svg>\n");
    if (r->nincidents > n)
        bg_buf_printf(b,
                      "<p class=\"note\">The timeline shows the %zu latest of %zu.</p>\n",
                      n, r->nincidents);
}

/* ---- the page ------------------------------------------------------------------ */

static const char css[] =
    "body{font-family:system-ui,\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;"
    "color:#1f2328;background:#f6f8fa;margin:0}"
    "main{max-width:1000px;margin:0 auto;padding:16px 20px 40px;background:#fff}"
    "h1{font-size:26px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 6px;"
    "border-bottom:1px solid #d0d7de;padding-bottom:4px}"
    ".meta{color:#57606a;font-size:14px;margin:2px 0}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}"
    ".card{flex:1 1 100px;border:1px solid #d0d7de;border-radius:6px;padding:6px 10px}"
    ".card b{display:block;font-size:24px}.card span{color:#57606a;font-size:12px}"
    "h3{font-size:15px;margin:14px 0 2px}"
    ".card.warn b{color:#cf222e}"
    "svg{display:block;max-width:100%;height:auto;font-size:12px}"
    "svg text{fill:#1f2328}svg .xl,svg .yl{fill:#57606a;font-size:11px}"
    "svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#8c959f;stroke-width:1}"
    "svg .empty{fill:#8c959f;font-size:15px}"
    ".note{color:#57606a;font-size:13px;margin:4px 0 8px}"
    "table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}"
    "th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:left;"
    "vertical-align:top;overflow-wrap:break-word}"
    "th{background:#f6f8fa}td.n{text-align:right;white-space:nowrap}td.t,td.bad,td.ok"
    "{white-space:nowrap}td.a{word-break:break-all;min-width:12em}"
    "code{font-size:12px}td code{word-break:break-all}.bad{color:#cf222e;font-weight:600}"
    ".ok{color:#1a7f37}"
    "footer{color:#57606a;font-size:12px;margin-top:30px}";

static void
card(bg_buf *b, unsigned long v, const char *label, bool warn)
{
    bg_buf_printf(b, "<div class=\"card%s\"><b>%lu</b><span>%s</span></div>\n",
                  warn && v > 0 ? " warn" : "", v, label);
}

static void
head_section(bg_buf *b, const bg_report *r)
{
    char now[32], first[16], last[16];

    bg_time_iso(now, sizeof(now), r->now);
    bg_buf_puts(
        b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
           "'none'; style-src 'unsafe-inline'\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"bounceguard ");
    bg_html_text(b, r->version, 40);
    bg_buf_printf(
        b,
        "\">\n<title>bounceguard report %s</title>\n<style>%s</style>\n</head>\n"
        "<body>\n<main>\n<h1>bounceguard report</h1>\n",
        now, css);
    bg_buf_printf(
        b,
        "<p class=\"meta\">Generated at <time id=\"generated\" datetime=\"%s\">%s"
        "</time> by bounceguard ",
        now, now);
    bg_html_text(b, r->version, 40);
    bg_buf_puts(b, ".</p>\n<p class=\"meta\">Store: ");
    bg_html_text(b, r->backend, 60);
    bg_buf_puts(b, " <code>");
    bg_html_text(b, r->where, 300);
    bg_buf_printf(b,
                  "</code></p>\n<p class=\"meta\">Period: the last %u day%s, %s to %s "
                  "(UTC days; today until the time above).</p>\n",
                  r->days, r->days == 1 ? "" : "s",
                  day_label(first, sizeof(first), r->start, true),
                  day_label(last, sizeof(last), r->now, true));
}

static void
summary_section(bg_buf *b, const bg_report *r)
{
    bg_buf_puts(b, "<section id=\"summary\"><div class=\"cards\">\n");
    card(b, r->blacklisted, "recipients blacklisted now", false);
    card(b, bg_report_chart_total(&r->bounces), "dated bounces in the period", false);
    card(b, bg_report_chart_total(&r->listed), "recipients blacklisted in the period",
         false);
    card(b, bg_report_chart_total(&r->released), "releases in the period", false);
    card(b, r->nincidents, "RBL incidents in the period", true);
    card(b, r->nsenders_blocked, "senders blocked now", true);
    card(b, r->nsenders_over, "senders over quota now", true);
    bg_buf_puts(b, "</div></section>\n");
}

static void
incident_section(bg_buf *b, const bg_report *r)
{
    bg_buf_puts(
        b, "<section id=\"incidents\"><h2>RBL and provider incidents</h2>\n"
           "<p class=\"note\">Bounces that said the relay itself is refused (a DNS "
           "blacklist or a provider's own list): they blacklist nobody; each bar runs "
           "from the first to the last report in the period.</p>\n");
    if (r->nincidents == 0) {
        bg_buf_puts(b, "<p>None: no bounce in the period said the relay is listed.</p>"
                       "</section>\n");
        return;
    }
    timeline_svg(b, r);
    bg_buf_puts(b, "<table id=\"incident-table\"><tr><th>List</th><th>Reported by</th>"
                   "<th>First</th><th>Last</th><th>Count</th><th>Last recipient</th>"
                   "<th>Delisting</th></tr>\n");
    for (size_t i = 0; i < r->nincidents; i++) {
        const bg_incident_rec *in = &r->incidents[i];
        const bg_dnsbl_known *k = bg_dnsbl_known_named(in->rbl);
        char a[32], z[32];

        bg_buf_puts(b, "<tr><td class=\"bad\">");
        bg_html_text(b, in->rbl, 128);
        bg_buf_puts(b, "</td><td>");
        bg_html_text(b, in->remote_mta, 256);
        bg_buf_printf(
            b,
            "</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td class=\"n\">%" PRIu32
            "</td><td class=\"a\">",
            time_label(a, sizeof(a), in->first), time_label(z, sizeof(z), in->last),
            in->count);
        bg_html_text(b, in->last_rcpt, 257);
        /* as text, not a link: the page refers to nothing outside itself */
        bg_buf_puts(b, "</td><td>");
        if (k && k->delist_url) {
            bg_buf_puts(b, "<code>");
            bg_html_text(b, k->delist_url, 200);
            bg_buf_puts(b, "</code>");
        } else {
            bg_buf_puts(b, "ask the reporting server's postmaster");
        }
        bg_buf_puts(b, "</td></tr>\n<tr><td></td><td colspan=\"6\" class=\"note\">");
        bg_html_text(b, in->diagnostic, 300);
        bg_buf_puts(b, "</td></tr>\n");
    }
    bg_buf_puts(b, "</table></section>\n");
}

static void
sender_section(bg_buf *b, const bg_report *r)
{
    bg_buf_puts(
        b, "<section id=\"senders\"><h2>Senders by refusals</h2>\n"
           "<p class=\"note\">What the store keeps of a sender's refusals: the "
           "blacklisted recipients it tried (each one once, with the time of its last "
           "try) and the messages refused for its quota in its running window; "
           "beside them, the recipients whose last bounce came back from its mail. "
           "Other refusals (an invalid address or domain, a blacklisted recipient "
           "tried again) are not counted per sender.</p>\n");
    if (r->nsenders == 0) {
        bg_buf_puts(b, "<p>No sender with a refusal.</p></section>\n");
        return;
    }
    bg_buf_puts(b, "<table id=\"sender-table\"><tr><th>Sender</th><th>State</th>"
                   "<th>Blacklisted recipients tried in the period</th><th>Of all tried, "
                   "blacklisted now</th><th>Refused for quota (window)</th><th>Bounces "
                   "caused</th><th>Window</th><th>Messages (lifetime)</th></tr>\n");
    for (size_t i = 0; i < r->nsenders; i++) {
        const bg_report_sender *s = &r->senders[i];
        bg_buf_puts(b, "<tr><td class=\"a\">");
        bg_html_text(b, s->id, 256);
        bg_buf_printf(
            b,
            "</td><td class=\"%s\">%s</td><td class=\"n\">%lu</td>"
            "<td class=\"n\">%lu</td><td class=\"n\">%lu</td><td class=\"n\">%lu"
            "</td><td class=\"n\">",
            s->blocked || s->over_quota ? "bad" : "ok",
            s->blocked      ? "blocked"
            : s->over_quota ? "over quota"
                            : "sending",
            s->tried, s->tried_now, s->refused, s->bounced);
        if (s->limit > 0)
            bg_buf_printf(b, "%ld of %ld", s->used, s->limit);
        else
            bg_buf_puts(b, "no quota");
        bg_buf_printf(b, "</td><td class=\"n\">%" PRIu64 "</td></tr>\n", s->total);
    }
    bg_buf_puts(b, "</table>\n");
    if (r->nsenders_all > r->nsenders)
        bg_buf_printf(b,
                      "<p class=\"note\">The %zu senders with the most refusals of %zu "
                      "known.</p>\n",
                      r->nsenders, r->nsenders_all);
    bg_buf_puts(b, "</section>\n");
}

static void
recent_section(bg_buf *b, const bg_report *r)
{
    bg_buf_puts(b, "<section id=\"recent\"><h2>Recipients changed last</h2>\n");
    if (r->nrecent == 0) {
        bg_buf_puts(b, "<p>No recipient changed in the period.</p></section>\n");
        return;
    }
    bg_buf_puts(b,
                "<table id=\"recent-table\"><tr><th>Recipient</th><th>State</th>"
                "<th>Reason</th><th>Source</th><th>First bounce</th><th>Last bounce</th>"
                "<th>Bounces</th><th>Until</th></tr>\n");
    for (size_t i = 0; i < r->nrecent; i++) {
        const bg_report_rcpt *x = &r->recent[i];
        char a[32], z[32], u[32];

        bg_buf_puts(b, "<tr><td class=\"a\">");
        bg_html_text(b, x->addr, 257);
        bg_buf_printf(b, "</td><td class=\"%s\">",
                      strcmp(x->state, "blacklisted") == 0 ? "bad" : "ok");
        bg_html_text(b, x->state, 20);
        bg_buf_puts(b, "</td><td>");
        bg_html_text(b, x->rec.reason, 24);
        bg_buf_puts(b, "</td><td>");
        bg_html_text(b, x->rec.source, 16);
        bg_buf_printf(
            b,
            "</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td class=\"n\">%" PRIu32
            "</td><td class=\"t\">%s</td></tr>\n",
            time_label(a, sizeof(a), x->rec.first_bounce),
            time_label(z, sizeof(z), x->rec.last_bounce), x->rec.bounce_count,
            time_label(u, sizeof(u), x->rec.expires));
    }
    bg_buf_puts(b, "</table></section>\n");
}

void
bg_report_html(bg_buf *b, const bg_report *r)
{
    head_section(b, r);
    summary_section(b, r);

    bg_buf_puts(b, "<section id=\"bounces\"><h2>Bounces per day by reason</h2>\n");
    chart_svg(b, &r->bounces, "chart-bounces", "bounces per day by reason");
    bg_buf_printf(
        b,
        "<p class=\"note\">The bounces that blacklisted a recipient (a reason in "
        "blacklist_reasons, from the recipient's side of a message the relay "
        "sent). The store keeps each recipient's first and last bounce with a "
        "count, not every bounce: both dated ones are drawn, under the reason of "
        "the last; the recipients whose last bounce is in the period bounced "
        "%lu times in all. Bounces about the relay are the incidents below; "
        "temporary failures are not stored.</p>\n</section>\n",
        r->bounce_total);

    bg_buf_puts(
        b, "<section id=\"blacklist\"><h2>Recipients blacklisted and released</h2>\n");
    bg_buf_puts(b, "<h3>Blacklisted per day</h3>\n");
    chart_svg(b, &r->listed, "chart-listed", "recipients blacklisted per day");
    bg_buf_puts(
        b, "<p class=\"note\">Blacklisted: by the day of a recipient's first bounce, "
           "or of the block or import that listed it without one.</p>\n");
    bg_buf_puts(b, "<h3>Released per day</h3>\n");
    chart_svg(b, &r->released, "chart-released", "recipients released per day");
    bg_buf_puts(
        b, "<p class=\"note\">Released: unblocked by an operator (the audit trail's "
           "unblock lines) or expired (a blacklisting whose time ran out; a record is "
           "kept for history_period after it).</p>\n</section>\n");

    incident_section(b, r);
    sender_section(b, r);
    recent_section(b, r);

    bg_buf_printf(b,
                  "<footer>%lu recipient%s in the store, %zu sender%s. This page is one "
                  "file: no script, nothing fetched from anywhere.</footer>\n"
                  "</main>\n</body>\n</html>\n",
                  r->rcpts, r->rcpts == 1 ? "" : "s", r->nsenders_all,
                  r->nsenders_all == 1 ? "" : "s");
}
