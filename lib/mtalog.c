/*
 * mtalog.c — see include/bounceguard/mtalog.h.
 *
 * A line is: timestamp, host, "program[pid]:", "QUEUEID:", then the items of
 * a delivery record, read in the order the MTA writes them (never looked for
 * anywhere in the line: a logged Message-ID or address may hold any text).
 * Values are spans into the line until they are copied into the event;
 * nothing is allocated.  Every scan is bounded by the line's end, never by a
 * NUL.
 */
#include <string.h>
#include <time.h>

#include "bounceguard/mtalog.h"
#include "bounceguard/util.h"

typedef struct span {
    const char *p;
    size_t n;
} span;

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

/* "postfix/smtp[123]:" -> "postfix/smtp"; empty span unless it is a program
 * tag with a pid, as every Postfix and Sendmail process logs it. */
static span
program_name(span tok)
{
    const char *b;
    size_t i;

    if (tok.n < 5 || tok.p[tok.n - 1] != ':' || tok.p[tok.n - 2] != ']')
        return mkspan(tok.p, tok.p);
    b = memchr(tok.p, '[', tok.n);
    if (b == NULL || b == tok.p || b + 1 == tok.p + tok.n - 2)
        return mkspan(tok.p, tok.p);
    for (i = (size_t)(b + 1 - tok.p); i < tok.n - 2; i++)
        if (!is_digit(tok.p[i]))
            return mkspan(tok.p, tok.p);
    return mkspan(tok.p, b);
}

static int
word_listed(span w, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (span_eq(w, list[i]))
            return 1;
    return 0;
}

static const char *const default_syslog_names[] = {"postfix"};
static const char *const default_agents[] = {"smtp",  "lmtp", "local", "virtual",
                                             "error", "pipe", "retry", "relay"};
static const bg_mtalog_names default_names = {
    default_syslog_names, sizeof(default_syslog_names) / sizeof(default_syslog_names[0]),
    default_agents, sizeof(default_agents) / sizeof(default_agents[0])};

/* Is prog NAME/AGENT or NAME/SERVICE/AGENT for a configured name? */
static int
is_postfix_agent(span prog, const bg_mtalog_names *nm)
{
    size_t i;

    for (i = 0; i < nm->nsyslog_names; i++) {
        size_t n = strlen(nm->syslog_names[i]);
        span rest;
        const char *slash;

        if (n == 0 || prog.n <= n + 1 || memcmp(prog.p, nm->syslog_names[i], n) != 0 ||
            prog.p[n] != '/')
            continue;
        rest = mkspan(prog.p + n + 1, prog.p + prog.n);
        if (word_listed(rest, nm->agents, nm->nagents))
            return 1;
        slash = memchr(rest.p, '/', rest.n);
        if (slash != NULL &&
            word_listed(mkspan(rest.p, slash), nm->agents, nm->nagents) &&
            word_listed(mkspan(slash + 1, rest.p + rest.n), nm->agents, nm->nagents))
            return 1;
    }
    return 0;
}

static bg_mtalog_mta
which_mta(span prog, const bg_mtalog_names *nm)
{
    if (is_postfix_agent(prog, nm))
        return BG_MTA_POSTFIX;
    if (span_eq(prog, "sendmail") || span_eq(prog, "sm-mta"))
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

/* ---- items, by position ------------------------------------------------- */

/* Every field of a delivery record, as spans; copied at the end. */
typedef struct fields {
    span to, orig_to, relay, dsn, status, text, reply;
    int nrcpt;
} fields;

/* If p starts with lit, step over it. */
static int
eat(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/*
 * An address as the MTA logs it, from *p: "<...>" up to the first '>' outside
 * a quoted string, or a bare one up to stop (',' or ' ') outside quotes.  In a
 * quoted string ("a, b>c"@x) a backslash escapes the next byte.  Sets *addr
 * to the address without brackets.  Returns 0 for an unterminated address or
 * quote (a cut or malformed line: no half addresses).
 */
static int
address(const char **p, const char *end, char stop, span *addr)
{
    const char *s = *p, *q;
    int angle = s < end && *s == '<', quoted = 0;

    for (q = s + angle; q < end; q++) {
        if (quoted) {
            if (*q == '\\') {
                if (++q == end)
                    return 0;
            } else if (*q == '"') {
                quoted = 0;
            }
        } else if (*q == '"') {
            quoted = 1;
        } else if (angle && *q == '>') {
            *addr = mkspan(s + 1, q);
            *p = q + 1;
            return 1;
        } else if (!angle && (*q == stop || *q == ' ')) {
            break;
        }
    }
    if (angle || quoted || q == s)
        return 0;
    *addr = mkspan(s, q);
    *p = q;
    return 1;
}

/* The value of a "key=" already eaten: up to the next ", " or the end. */
static span
value(const char **p, const char *end)
{
    const char *s = *p, *e = s < end ? memmem(s, (size_t)(end - s), ", ", 2) : NULL;

    if (e == NULL)
        e = end;
    *p = e;
    return mkspan(s, e);
}

/* A key=value item that must come next: ", key=value". */
static int
item(const char **p, const char *end, const char *key, span *v)
{
    const char *q = *p;

    if (!eat(&q, end, ", ") || !eat(&q, end, key) || !eat(&q, end, "="))
        return 0;
    *v = value(&q, end);
    *p = q;
    return v->n > 0;
}

/* "5.1.1": a class digit, then dots and digits (Postfix writes what it has). */
static int
dsn_code(span s)
{
    size_t i;

    if (s.n < 5 || s.n > 11 || (s.p[0] != '2' && s.p[0] != '4' && s.p[0] != '5') ||
        s.p[1] != '.')
        return 0;
    for (i = 2; i < s.n; i++)
        if (!is_digit(s.p[i]) && s.p[i] != '.')
            return 0;
    return 1;
}

/*
 * Postfix (log_adhoc.c): "to=<ADDR>, [orig_to=<ADDR>, ]relay=R, [conn_use=N, ]
 * delay=D, delays=A/B/C/D, dsn=X.Y.Z, status=WORD[ (TEXT)]".
 */
static int
parse_postfix(const char *p, const char *end, fields *f)
{
    span v;
    const char *q;

    if (!eat(&p, end, "to=") || p >= end || *p != '<' || !address(&p, end, 0, &f->to))
        return 0;
    f->nrcpt = 1;
    q = p;
    if (eat(&q, end, ", orig_to=")) {
        if (q >= end || *q != '<' || !address(&q, end, 0, &f->orig_to))
            return 0;
        p = q;
    }
    if (!item(&p, end, "relay", &f->relay))
        return 0;
    q = p;
    if (item(&q, end, "conn_use", &v))
        p = q;
    if (!item(&p, end, "delay", &v) || !item(&p, end, "delays", &v) ||
        !item(&p, end, "dsn", &f->dsn) || !dsn_code(f->dsn) || !eat(&p, end, ", status="))
        return 0;
    q = p;
    while (q < end && *q != ' ')
        q++;
    f->status = mkspan(p, q);
    if (f->status.n == 0)
        return 0;
    if (q < end) {
        /* " (TEXT)": the rest of the line, whatever it says */
        if (!eat(&q, end, " (") || end[-1] != ')')
            return 0;
        f->text = mkspan(q, end - 1);
    }
    return 1;
}

/* The last ", stat=" in [p, end), NULL if none. */
static const char *
last_stat(const char *p, const char *end)
{
    const char *last = NULL, *q = p;

    while (q < end && (q = memmem(q, (size_t)(end - q), ", stat=", 7)) != NULL) {
        last = q;
        q += 7;
    }
    return last;
}

/*
 * Sendmail (logdelivery): "to=ADDRS, ctladdr=<A> (U/G), delay=..., xdelay=...,
 * mailer=..., pri=..., relay=..., dsn=..., [reply=REPLY, ]stat=TEXT": to=
 * first; then whatever items this version writes, each read to its ", " (an
 * address value quote-aware), up to stat=, which runs to the end.
 *
 * reply= (Sendmail 8.17: the remote server's reply, before stat=) is the
 * remote's text and may hold anything a server can write on one reply line,
 * ", " and "stat=" included: it runs to the last ", stat=" of the line, the
 * item Sendmail writes last, whose text on a failure is Sendmail's own
 * ("User unknown", "Service unavailable"); with no stat= after it, to the end
 * of the line.  A stat= that comes first ("stat=Service unavailable,
 * reply=550 ...") runs to its first ", reply=", and reply= to the end.  This
 * is safe because everything that makes the record, the program tag, the
 * queue ID, to=, relay= and dsn=, is read by position before reply= and
 * cannot be changed by it; what a server puts in its reply ("550 x, to=<v@x>,
 * dsn=5.1.1") is only ever read as the text of this recipient's refusal,
 * which the server states anyway.  A reply holds no line break (one SMTP
 * reply line; the log reader splits at newlines first), so it cannot begin a
 * second record.  When the remote's text holds ", stat=" and Sendmail's stat
 * repeats it (a deferral: "Deferred: REPLY"), the cut falls in the repeat:
 * the reply keeps some of its own text twice, and dsn= still decides.
 */
static int
parse_sendmail(const char *p, const char *end, fields *f)
{
    const char *first = NULL;

    if (!eat(&p, end, "to="))
        return 0;
    for (;;) { /* "<a@x>,<b@x>" or "a@x,b@x" */
        span a;

        if (!address(&p, end, ',', &a))
            return 0;
        if (first == NULL) {
            f->to = a;
            first = p;
        }
        f->nrcpt++;
        if (p < end && *p == ',' && p + 1 < end && p[1] != ' ') {
            p++;
            continue;
        }
        break;
    }
    for (;;) {
        const char *k;
        span key, v;

        if (!eat(&p, end, ", "))
            return 0;
        k = p;
        while (p < end && (is_alnum(*p) || *p == '_'))
            p++;
        key = mkspan(k, p);
        if (key.n == 0 || !eat(&p, end, "="))
            return 0;
        if (span_eq(key, "stat")) {
            const char *r =
                f->reply.n == 0 ? memmem(p, (size_t)(end - p), ", reply=", 8) : NULL;

            f->status = mkspan(p, r ? r : end);
            if (r != NULL)
                f->reply = mkspan(r + 8, end);
            return f->status.n > 0;
        }
        if (span_eq(key, "reply")) {
            const char *st = last_stat(p, end);

            f->reply = mkspan(p, st ? st : end);
            p = st ? st : end;
            if (st == NULL)
                return 0; /* a record ends with stat= */
            continue;
        }
        if (p < end && *p == '<') {
            if (!address(&p, end, 0, &v))
                return 0;
            value(&p, end); /* " (1000/1000)" after ctladdr */
        } else {
            v = value(&p, end);
        }
        if (span_eq(key, "relay"))
            f->relay = v;
        else if (span_eq(key, "dsn"))
            f->dsn = v;
    }
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
    put(ev->status, sizeof(ev->status), f->status, ev);
    if (span_eq(f->status, "bounced"))
        ev->kind = BG_MTALOG_BOUNCED;
    else if (span_eq(f->status, "deferred"))
        ev->kind = BG_MTALOG_DEFERRED;
    else if (span_eq(f->status, "sent"))
        ev->kind = BG_MTALOG_SENT;
    if (f->text.n > 0)
        put_status_text(f->text, ev);
}

static void
classify_sendmail(const fields *f, bg_mtalog_event *ev)
{
    span st = f->status;
    char d = f->dsn.n > 0 ? f->dsn.p[0] : '\0';

    /* dsn= decides; without it, stat= does; an unknown stat is a failure,
     * except "queued" (accepted for a later queue run: nothing happened yet) */
    if (d == '\0' && span_starts(st, "queued"))
        ev->kind = BG_MTALOG_OTHER;
    else if (d == '5')
        ev->kind = BG_MTALOG_BOUNCED;
    else if (d == '4' || (d == '\0' && span_starts(st, "Deferred")))
        ev->kind = BG_MTALOG_DEFERRED;
    else if (d == '2' || (d == '\0' && span_starts(st, "Sent")))
        ev->kind = BG_MTALOG_SENT;
    else
        ev->kind = BG_MTALOG_BOUNCED;
    bg_strlcpy(ev->status,
               ev->kind == BG_MTALOG_OTHER ? "queued" : bg_mtalog_kind_name(ev->kind),
               sizeof(ev->status));
    if (f->reply.n > 0) {
        /* reply= (Sendmail 8.17): the remote server's own words.  "User
         * unknown" is Sendmail's stat for a 550, 551 or 553 that answered
         * RCPT TO (usersmtp.c, EX_NOUSER); after DATA a 550 is "Service
         * unavailable". */
        put(ev->reply, sizeof(ev->reply), f->reply, ev);
        ev->remote_reply = true;
        if (span_eq(st, "User unknown"))
            bg_strlcpy(ev->command, "RCPT TO", sizeof(ev->command));
        /* "Data format error" (EX_DATAERR) is smtpmailfrom()'s for a 501 or
         * 553 that answered MAIL FROM (usersmtp.c): the sender was refused,
         * whatever the words ("553 sender.test does not exist"); every
         * such line of the refusal set's Sendmail run (7 rows) is one. */
        else if (span_eq(st, "Data format error"))
            bg_strlcpy(ev->command, "MAIL FROM", sizeof(ev->command));
        /* smtpinit() (usersmtp.c) sets 4.5.0 or 5.5.0 when the greeting or
         * EHLO/HELO failed, whatever code the reply had, and no other step
         * of Sendmail writes x.5.0 (smtptodsn() has none): unless the
         * reply's own code is that, it answered the greeting or EHLO. */
        else if (f->dsn.n == 5 &&
                 (span_eq(f->dsn, "4.5.0") || span_eq(f->dsn, "5.5.0")) &&
                 !(f->reply.n > 9 && memcmp(f->reply.p + 4, f->dsn.p, 5) == 0))
            bg_strlcpy(ev->command, "EHLO", sizeof(ev->command));
        /* reply= is the first line of the reply; Sendmail takes the
         * enhanced code from the reply's last line.  The codes it makes up
         * for a bare reply are smtptodsn()'s (savemail.c: 550 5.2.0, 551
         * 5.1.6, 552 5.2.2, 553 5.1.0 or 5.1.3, 554 5.0.0, ...), which never end in
         * .1.1, and 5.1.1 only with its "User unknown" (EX_NOUSER): an x.1.1
         * with any other stat is the remote's ("550-Mailbox unknown ...",
         * "550 5.1.1 User unknown" on the last line). */
        ev->dsn_remote = f->dsn.n == 5 && memcmp(f->dsn.p + 1, ".1.1", 4) == 0 &&
                         !span_eq(st, "User unknown");
        return;
    }
    if (span_starts(st, "Deferred: "))
        st = mkspan(st.p + 10, st.p + st.n);
    put(ev->reply, sizeof(ev->reply), st, ev);
    ev->remote_reply = st.n >= 4 && (st.p[0] == '4' || st.p[0] == '5') &&
                       is_digit(st.p[1]) && is_digit(st.p[2]) &&
                       (st.p[3] == ' ' || st.p[3] == '-');
}

static void
event_clear(bg_mtalog_event *ev)
{
    ev->kind = BG_MTALOG_OTHER;
    ev->mta = BG_MTA_UNKNOWN;
    ev->time = -1;
    ev->host[0] = ev->program[0] = ev->queue_id[0] = '\0';
    ev->recipient[0] = ev->orig_to[0] = '\0';
    ev->dsn[0] = ev->status[0] = ev->relay[0] = ev->relay_ip[0] = '\0';
    ev->reply[0] = ev->command[0] = '\0';
    ev->rcpt_count = 0;
    ev->remote_reply = false;
    ev->dsn_remote = false;
    ev->truncated = false;
}

int
bg_mtalog_parse(const char *line, size_t len, int64_t now, const bg_mtalog_names *names,
                bg_mtalog_event *ev)
{
    const char *p = line, *end = line + len;
    span tok = {line, 0}, prog = {line, 0}, host;
    fields f;
    size_t n;
    int i, ok;

    if (names == NULL)
        names = &default_names;
    event_clear(ev);
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    n = bg_mtalog_parse_time(p, (size_t)(end - p), now, &ev->time);
    p += n;
    if (n == 0)
        ev->time = -1;
    /* "host program[pid]:"; without a (readable) timestamp the tag is the
     * first token that ends in ':' among the first few.  Either way the first
     * tag decides: text after another program's tag is that program's. */
    host = mkspan(p, p);
    for (i = 0; i < 6; i++) {
        tok = token(&p, end);
        if (tok.n == 0 || tok.p[tok.n - 1] == ':')
            break;
        host = tok;
        if (n > 0 && i == 1)
            return 0; /* after a timestamp: host, then the tag */
    }
    prog = program_name(tok);
    if (prog.n == 0 || (ev->mta = which_mta(prog, names)) == BG_MTA_UNKNOWN)
        return 0;
    put(ev->host, sizeof(ev->host), host, ev);
    put(ev->program, sizeof(ev->program), prog, ev);
    tok = token(&p, end);
    if (!is_queue_id(tok))
        return 0;
    tok.n--;
    put(ev->queue_id, sizeof(ev->queue_id), tok, ev);
    if (p >= end || *p != ' ')
        return 0;
    p++;

    memset(&f, 0, sizeof(f));
    if (ev->mta == BG_MTA_POSTFIX)
        ok = parse_postfix(p, end, &f);
    else
        ok = parse_sendmail(p, end, &f);
    if (!ok)
        return 0;
    put(ev->recipient, sizeof(ev->recipient), f.to, ev);
    ev->rcpt_count = f.nrcpt;
    put(ev->orig_to, sizeof(ev->orig_to), f.orig_to, ev);
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
    case BG_MTALOG_OTHER:
        break;
    }
    return "other";
}
