/*
 * mtalog.c — see include/bounceguard/mtalog.h.
 *
 * A line is: timestamp, host, "program[pid]:", "QUEUEID:", then a list of
 * "key=value" items separated by ", ".  Values are spans into the line until
 * they are copied into the event; nothing is allocated.  Every scan is
 * bounded by the line's end, never by a NUL.
 */
#include <string.h>
#include <time.h>

#include "bounceguard/mtalog.h"
#include "bounceguard/util.h"

typedef struct span {
    const char *p;
    size_t n;
} span;

/* Every field the body may hold, as spans; copied at the end. */
typedef struct fields {
    span to, orig_to, from, msgid, relay, dsn, status, status_text, stat, size;
    bool have_from;
    int nrcpt;
} fields;

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Copy a span into dst[size]: cut to fit (noting it), control bytes as '?'. */
static void
put(char *dst, size_t size, span s, bg_mtalog_event *ev)
{
    size_t i, n = s.n;

    if (n >= size) {
        n = size - 1;
        ev->truncated = true;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];

        dst[i] = (c < 32 || c == 127) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

static span
mkspan(const char *p, const char *end)
{
    span s = {p, end > p ? (size_t)(end - p) : 0};

    return s;
}

static int
span_eq(span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int
span_starts(span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Find lit inside s; NULL if absent. */
static const char *
span_find(span s, const char *lit)
{
    return memmem(s.p, s.n, lit, strlen(lit));
}

/* Read n digits at p into *v; 0 if they are not all digits. */
static int
digits(const char *p, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        *v = *v * 10 + (p[i] - '0');
    }
    return 1;
}

static int
tm_sane(const struct tm *tm)
{
    return tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
           tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec <= 60;
}

static _Thread_local struct {
    int64_t now_minute;
    int now_year, now_valid;
    int mon, day, hour, hour_valid;
    time_t hour_start;
} cache;

/* "Nov 23 12:00:00" / "Nov  3 12:00:00" */
static size_t
parse_syslog_time(const char *s, size_t len, int64_t now, int64_t *t)
{
    struct tm tm, nowtm;
    time_t now_t = (time_t)now, when;
    int mon, day;

    if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        return 0;
    for (mon = 0; mon < 12; mon++)
        if (memcmp(s, months[mon], 3) == 0)
            break;
    if (mon == 12)
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = mon;
    if (s[4] == ' ' && is_digit(s[5]))
        day = s[5] - '0';
    else if (!digits(s + 4, 2, &day))
        return 0;
    tm.tm_mday = day;
    if (!digits(s + 7, 2, &tm.tm_hour) || !digits(s + 10, 2, &tm.tm_min) ||
        !digits(s + 13, 2, &tm.tm_sec) || !tm_sane(&tm))
        return 0;
    /* mktime() and localtime_r() cost a microsecond or more each (they
     * consult the zone file); a follower reads a million lines with a few
     * distinct hours, so both results are cached per thread.  The cache holds
     * the hour's start: zone offsets change on hour boundaries. */
    if (cache.now_minute != now / 60 || !cache.now_valid) {
        if (localtime_r(&now_t, &nowtm) == NULL)
            return 0;
        cache.now_minute = now / 60;
        cache.now_year = nowtm.tm_year;
        cache.now_valid = 1;
        cache.hour_valid = 0;
    }
    if (cache.hour_valid && cache.mon == mon && cache.day == day &&
        cache.hour == tm.tm_hour) {
        when = cache.hour_start;
    } else {
        struct tm h = tm;

        h.tm_min = h.tm_sec = 0;
        h.tm_year = cache.now_year;
        h.tm_isdst = -1;
        if ((when = mktime(&h)) == (time_t)-1)
            return 0;
        cache.mon = mon;
        cache.day = day;
        cache.hour = tm.tm_hour;
        cache.hour_start = when;
        cache.hour_valid = 1;
    }
    when += tm.tm_min * 60 + tm.tm_sec;
    if ((int64_t)when > now + 86400) {
        /* December's lines read in January belong to last year. */
        tm.tm_year = cache.now_year - 1;
        tm.tm_isdst = -1;
        if ((when = mktime(&tm)) == (time_t)-1)
            return 0;
    }
    *t = (int64_t)when;
    return 15;
}

/* "2026-11-23T12:00:00[.123456](Z|+00:00|+0000)" */
static size_t
parse_iso_time(const char *s, size_t len, int64_t *t)
{
    struct tm tm;
    int year, mon, off = 0, sign, oh, om;
    size_t i;
    time_t when;

    if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return 0;
    memset(&tm, 0, sizeof(tm));
    if (!digits(s, 4, &year) || !digits(s + 5, 2, &mon) ||
        !digits(s + 8, 2, &tm.tm_mday) || !digits(s + 11, 2, &tm.tm_hour) ||
        !digits(s + 14, 2, &tm.tm_min) || !digits(s + 17, 2, &tm.tm_sec))
        return 0;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    if (year < 1970 || !tm_sane(&tm))
        return 0;
    i = 19;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++;
    }
    if (i < len && s[i] == 'Z') {
        i++;
        when = timegm(&tm);
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        i++;
        if (i + 2 > len || !digits(s + i, 2, &oh))
            return 0;
        i += 2;
        if (i < len && s[i] == ':')
            i++;
        if (i + 2 > len || !digits(s + i, 2, &om))
            return 0;
        i += 2;
        off = sign * (oh * 3600 + om * 60);
        when = timegm(&tm);
    } else {
        tm.tm_isdst = -1;
        when = mktime(&tm);
    }
    if (when == (time_t)-1)
        return 0;
    *t = (int64_t)when - off;
    return i;
}

size_t
bg_mtalog_parse_time(const char *line, size_t len, int64_t now, int64_t *t)
{
    size_t n;

    if (len > 0 && is_digit(line[0]))
        n = parse_iso_time(line, len, t);
    else
        n = parse_syslog_time(line, len, now, t);
    return n;
}

/* Next blank-separated token from *p; empty span at the end. */
static span
token(const char **p, const char *end)
{
    const char *s;

    while (*p < end && **p == ' ')
        (*p)++;
    s = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return mkspan(s, *p);
}

/* "postfix/smtp[123]:" -> "postfix/smtp"; empty span if not a program tag. */
static span
program_name(span tok)
{
    const char *b;

    if (tok.n < 2 || tok.p[tok.n - 1] != ':')
        return mkspan(tok.p, tok.p);
    tok.n--;
    if (tok.p[tok.n - 1] == ']' && (b = memchr(tok.p, '[', tok.n)) != NULL)
        tok.n = (size_t)(b - tok.p);
    return tok;
}

static bg_mtalog_mta
which_mta(span prog)
{
    if (memmem(prog.p, prog.n, "postfix", 7) != NULL)
        return BG_MTA_POSTFIX;
    if (span_eq(prog, "sendmail") || span_eq(prog, "sm-mta") ||
        span_eq(prog, "sm-msp-queue"))
        return BG_MTA_SENDMAIL;
    return BG_MTA_UNKNOWN;
}

/* A queue ID: 5..31 letters and digits, not an all-lower-case word
 * ("warning:", "error:") and not NOQUEUE. */
static int
is_queue_id(span tok)
{
    size_t i;
    int lower_only = 1;

    if (tok.n < 6 || tok.n > 32 || tok.p[tok.n - 1] != ':')
        return 0;
    for (i = 0; i < tok.n - 1; i++) {
        if (!is_alnum(tok.p[i]))
            return 0;
        if (!(tok.p[i] >= 'a' && tok.p[i] <= 'z'))
            lower_only = 0;
    }
    return !lower_only && !span_eq(tok, "NOQUEUE:");
}

/* Split "key=value, key=value, ..." into fields. */
static void
parse_items(const char *p, const char *end, fields *f)
{
    while (p < end) {
        const char *k = p, *v, *e;
        span key;

        while (p < end && (is_alnum(*p) || *p == '_' || *p == '-'))
            p++;
        if (p == k || p >= end || *p != '=')
            return;
        key = mkspan(k, p);
        v = ++p;
        if (span_eq(key, "stat")) {
            /* Sendmail: the status text runs to the end of the line. */
            f->stat = mkspan(v, end);
            return;
        }
        if (span_eq(key, "status")) {
            while (p < end && *p != ' ' && *p != ',')
                p++;
            f->status = mkspan(v, p);
            while (p < end && (*p == ' ' || *p == ','))
                p++;
            if (p < end && *p == '(') {
                e = end;
                if (e[-1] == ')')
                    e--;
                f->status_text = mkspan(p + 1, e);
            } else {
                f->status_text = mkspan(p, end);
            }
            return;
        }
        if (p < end && *p == '<') {
            /* "<a@x>" or Sendmail's grouped "<a@x>,<b@x>" */
            for (;;) {
                e = memchr(p, '>', (size_t)(end - p));
                if (e == NULL)
                    return; /* a cut line: no half addresses */
                e++;
                if (span_eq(key, "to"))
                    f->nrcpt++;
                if (end - e < 2 || e[0] != ',' || e[1] != '<')
                    break;
                p = e + 1;
            }
        } else {
            e = memmem(p, (size_t)(end - p), ", ", 2);
            if (e == NULL)
                e = end;
        }
        {
            span val = mkspan(v, e);

            if (span_eq(key, "to"))
                f->to = val;
            else if (span_eq(key, "orig_to"))
                f->orig_to = val;
            else if (span_eq(key, "from")) {
                f->from = val;
                f->have_from = true;
            } else if (span_eq(key, "message-id") || span_eq(key, "msgid"))
                f->msgid = val;
            else if (span_eq(key, "relay"))
                f->relay = val;
            else if (span_eq(key, "dsn"))
                f->dsn = val;
            else if (span_eq(key, "size"))
                f->size = val;
        }
        /* On to the next ", " (skips " (1000/1000)" after ctladdr). */
        e = memmem(e, (size_t)(end - e), ", ", 2);
        if (e == NULL)
            return;
        p = e + 2;
    }
}

/* "<a@b>" -> "a@b" */
static span
unbracket(span s)
{
    if (s.n >= 2 && s.p[0] == '<' && s.p[s.n - 1] == '>') {
        s.p++;
        s.n -= 2;
    }
    return s;
}

/* The first address of "<a@x>,<b@x>" or "a@x", without brackets. */
static span
first_address(span s)
{
    const char *e;

    if (s.n > 0 && s.p[0] == '<' && (e = memchr(s.p, '>', s.n)) != NULL)
        return mkspan(s.p + 1, e);
    return unbracket(s);
}

/* "mx.example[192.0.2.1]:25" (Postfix) or "mx.example. [192.0.2.1]" (Sendmail). */
static void
put_relay(span r, bg_mtalog_event *ev)
{
    const char *b = memchr(r.p, '[', r.n), *c;
    span host = mkspan(r.p, b ? b : r.p + r.n);

    while (host.n > 0 && (host.p[host.n - 1] == ' ' || host.p[host.n - 1] == '.'))
        host.n--;
    if (span_eq(host, "none"))
        host.n = 0;
    put(ev->relay, sizeof(ev->relay), host, ev);
    if (b && (c = memchr(b, ']', (size_t)(r.p + r.n - b))) != NULL)
        put(ev->relay_ip, sizeof(ev->relay_ip), mkspan(b + 1, c), ev);
}

/* The parenthesised Postfix status text: "host X[ip] said: REPLY (in reply to
 * CMD command)" gives the reply, the command and (if missing) the relay. */
static void
put_status_text(span t, bg_mtalog_event *ev)
{
    const char *said = span_find(t, " said: ");

    if (said != NULL) {
        span who = mkspan(t.p, said), reply = mkspan(said + 7, t.p + t.n);
        const char *irt = span_find(reply, " (in reply to ");

        if (ev->relay[0] == '\0' && span_starts(who, "host "))
            put_relay(mkspan(who.p + 5, who.p + who.n), ev);
        if (irt != NULL) {
            span cmd = mkspan(irt + 14, reply.p + reply.n);

            if (cmd.n > 0 && cmd.p[cmd.n - 1] == ')')
                cmd.n--;
            if (cmd.n > 8 && memcmp(cmd.p + cmd.n - 8, " command", 8) == 0)
                cmd.n -= 8;
            put(ev->command, sizeof(ev->command), cmd, ev);
            reply.n = (size_t)(irt - reply.p);
        }
        put(ev->reply, sizeof(ev->reply), reply, ev);
        ev->remote_reply = true;
    } else {
        put(ev->reply, sizeof(ev->reply), t, ev);
    }
}

static void
classify_postfix(const fields *f, bg_mtalog_event *ev)
{
    if (f->status.n > 0) {
        put(ev->status, sizeof(ev->status), f->status, ev);
        if (span_eq(f->status, "bounced"))
            ev->kind = BG_MTALOG_BOUNCED;
        else if (span_eq(f->status, "deferred"))
            ev->kind = BG_MTALOG_DEFERRED;
        else if (span_eq(f->status, "sent"))
            ev->kind = BG_MTALOG_SENT;
        else if (span_eq(f->status, "expired"))
            ev->kind = BG_MTALOG_EXPIRED;
        if (f->status_text.n > 0)
            put_status_text(f->status_text, ev);
    } else if (f->msgid.n > 0 && !f->have_from) {
        ev->kind = BG_MTALOG_MESSAGE_ID;
    } else if (f->have_from && f->to.n == 0) {
        ev->kind = BG_MTALOG_FROM;
    }
}

static void
classify_sendmail(const fields *f, bg_mtalog_event *ev)
{
    span st = f->stat;
    char d = f->dsn.n > 0 ? f->dsn.p[0] : '\0';

    if (f->to.n > 0 && st.n > 0) {
        /* dsn= decides; without it, stat= does; an unknown stat is a failure */
        if (d == '5')
            ev->kind = BG_MTALOG_BOUNCED;
        else if (d == '4' || (d == '\0' && span_starts(st, "Deferred")))
            ev->kind = BG_MTALOG_DEFERRED;
        else if (d == '2' || (d == '\0' && span_starts(st, "Sent")))
            ev->kind = BG_MTALOG_SENT;
        else
            ev->kind = BG_MTALOG_BOUNCED;
        bg_strlcpy(ev->status, bg_mtalog_kind_name(ev->kind), sizeof(ev->status));
        if (span_starts(st, "Deferred: "))
            st = mkspan(st.p + 10, st.p + st.n);
        put(ev->reply, sizeof(ev->reply), st, ev);
        ev->remote_reply = st.n >= 4 && (st.p[0] == '4' || st.p[0] == '5') &&
                           is_digit(st.p[1]) && is_digit(st.p[2]) &&
                           (st.p[3] == ' ' || st.p[3] == '-');
    } else if (f->have_from && f->to.n == 0) {
        ev->kind = BG_MTALOG_FROM;
    }
}

static void
event_clear(bg_mtalog_event *ev)
{
    ev->kind = BG_MTALOG_OTHER;
    ev->mta = BG_MTA_UNKNOWN;
    ev->time = -1;
    ev->host[0] = ev->program[0] = ev->queue_id[0] = '\0';
    ev->recipient[0] = ev->orig_to[0] = ev->sender[0] = ev->message_id[0] = '\0';
    ev->dsn[0] = ev->status[0] = ev->relay[0] = ev->relay_ip[0] = '\0';
    ev->reply[0] = ev->command[0] = '\0';
    ev->rcpt_count = 0;
    ev->remote_reply = false;
    ev->truncated = false;
}

int
bg_mtalog_parse(const char *line, size_t len, int64_t now, bg_mtalog_event *ev)
{
    const char *p = line, *end = line + len;
    span tok = {line, 0}, prog = {line, 0}, host;
    fields f;
    size_t n;
    int i;

    event_clear(ev);
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    n = bg_mtalog_parse_time(p, (size_t)(end - p), now, &ev->time);
    p += n;
    if (n == 0)
        ev->time = -1;
    /* "host program[pid]:"; without a (readable) timestamp the tag is looked
     * for among the first few tokens, the one before it being the host. */
    host = mkspan(p, p);
    for (i = 0; i < 6; i++) {
        tok = token(&p, end);
        prog = program_name(tok);
        if (tok.n == 0 || (prog.n > 0 && which_mta(prog) != BG_MTA_UNKNOWN))
            break;
        host = tok;
        if (n > 0 && i == 1)
            return 0; /* after a timestamp: host, then the tag */
    }
    if (prog.n == 0 || (ev->mta = which_mta(prog)) == BG_MTA_UNKNOWN)
        return 0;
    put(ev->host, sizeof(ev->host), host, ev);
    put(ev->program, sizeof(ev->program), prog, ev);
    tok = token(&p, end);
    if (!is_queue_id(tok))
        return 0;
    tok.n--;
    put(ev->queue_id, sizeof(ev->queue_id), tok, ev);
    while (p < end && *p == ' ')
        p++;

    memset(&f, 0, sizeof(f));
    parse_items(p, end, &f);
    put(ev->recipient, sizeof(ev->recipient), first_address(f.to), ev);
    ev->rcpt_count = f.nrcpt;
    put(ev->orig_to, sizeof(ev->orig_to), unbracket(f.orig_to), ev);
    put(ev->sender, sizeof(ev->sender), unbracket(f.from), ev);
    put(ev->message_id, sizeof(ev->message_id), unbracket(f.msgid), ev);
    put(ev->dsn, sizeof(ev->dsn), f.dsn, ev);
    if (f.relay.n > 0)
        put_relay(f.relay, ev);
    if (ev->mta == BG_MTA_POSTFIX)
        classify_postfix(&f, ev);
    else
        classify_sendmail(&f, ev);
    return 1;
}

const char *
bg_mtalog_kind_name(bg_mtalog_kind kind)
{
    switch (kind) {
    case BG_MTALOG_BOUNCED:
        return "bounced";
    case BG_MTALOG_DEFERRED:
        return "deferred";
    case BG_MTALOG_SENT:
        return "sent";
    case BG_MTALOG_EXPIRED:
        return "expired";
    case BG_MTALOG_MESSAGE_ID:
        return "message-id";
    case BG_MTALOG_FROM:
        return "from";
    case BG_MTALOG_OTHER:
        break;
    }
    return "other";
}
