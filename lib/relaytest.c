/*
 * relaytest — the open-relay test: SMTP client up to RCPT TO, never DATA.
 * See include/bounceguard/relaytest.h.
 */
#include "bounceguard/relaytest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/log.h"

#define TEXT_MAX 512         /* reply text kept per reply */
#define ERRORS_PER_SESSION 6 /* refused tricks before a fresh session */
#define LOCAL_PART "relaytest"

const char *
bg_relay_verdict_name(bg_relay_verdict v)
{
    switch (v) {
    case BG_RELAY_REFUSED:
        return "refused";
    case BG_RELAY_ACCEPTED:
        return "ACCEPTED";
    case BG_RELAY_DEFERRED:
        return "deferred";
    case BG_RELAY_ERROR:
        return "error";
    }
    return "?";
}

const char *
bg_relay_overall_name(bg_relay_overall o)
{
    switch (o) {
    case BG_RELAY_CLOSED:
        return "closed";
    case BG_RELAY_PARTIAL:
        return "closed (some tricks inconclusive)";
    case BG_RELAY_OPEN:
        return "OPEN RELAY";
    case BG_RELAY_UNKNOWN:
        return "unknown";
    case BG_RELAY_TRUSTED:
        return "relays for this client";
    }
    return "?";
}

const char *
bg_relay_vantage_name(bg_relay_vantage v)
{
    switch (v) {
    case BG_VANTAGE_OUTSIDE:
        return "outside";
    case BG_VANTAGE_LOOPBACK:
        return "loopback";
    case BG_VANTAGE_SAME_HOST:
        return "the server's own host";
    }
    return "?";
}

/* ip as 16 bytes (IPv4 as IPv4-mapped IPv6); false when it does not parse. */
static bool
ip_bytes(const char *ip, unsigned char out[16])
{
    struct in_addr a4;

    if (ip == NULL)
        return false;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return true;
    }
    return inet_pton(AF_INET6, ip, out) == 1;
}

bg_relay_vantage
bg_relay_vantage_of(const char *local_ip, const char *peer_ip)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    unsigned char l[16], p[16];

    if (!ip_bytes(local_ip, l))
        return BG_VANTAGE_OUTSIDE;
    if (memcmp(l, loop6, 16) == 0 || (memcmp(l, mapped, 12) == 0 && l[12] == 127))
        return BG_VANTAGE_LOOPBACK;
    if (ip_bytes(peer_ip, p) && memcmp(l, p, 16) == 0)
        return BG_VANTAGE_SAME_HOST;
    return BG_VANTAGE_OUTSIDE;
}

/* ---- pure parts --------------------------------------------------------- */

static char *
upper_dup(const char *s)
{
    char *u = bg_xstrdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

bg_relay_trick *
bg_relay_tricks(const char *server_domain, const char *server_literal,
                const char *from_domain, const char *to_domain, size_t *count)
{
    const char *u = LOCAL_PART, *S = server_domain, *I = server_literal;
    const char *F = from_domain, *T = to_domain;
    char *foreign = bg_xasprintf("%s@%s", u, F);
    char *target = bg_xasprintf("%s@%s", u, T);
    char *UT = upper_dup(target);
    struct {
        const char *name;
        char *from, *to;
    } spec[] = {
        {"foreign sender, foreign recipient", bg_xstrdup(foreign), bg_xstrdup(target)},
        {"null sender", bg_xstrdup(""), bg_xstrdup(target)},
        {"sender at the server's domain", bg_xasprintf("%s@%s", u, S),
         bg_xstrdup(target)},
        {"sender at the server's IP literal", bg_xasprintf("%s@%s", u, I),
         bg_xstrdup(target)},
        {"sender postmaster@localhost", bg_xstrdup("postmaster@localhost"),
         bg_xstrdup(target)},
        {"sender without domain", bg_xstrdup(u), bg_xstrdup(target)},
        {"upper-case recipient", bg_xstrdup(foreign), bg_xstrdup(UT)},
        {"recipient domain with trailing dot", bg_xstrdup(foreign),
         bg_xasprintf("%s@%s.", u, T)},
        {"percent hack", bg_xstrdup(foreign), bg_xasprintf("%s%%%s@%s", u, T, S)},
        {"percent hack at IP literal", bg_xstrdup(foreign),
         bg_xasprintf("%s%%%s@%s", u, T, I)},
        {"percent hack without domain", bg_xstrdup(foreign),
         bg_xasprintf("%s%%%s", u, T)},
        {"double @", bg_xstrdup(foreign), bg_xasprintf("%s@%s@%s", u, T, S)},
        {"source route", bg_xstrdup(foreign), bg_xasprintf("@%s:%s@%s", S, u, T)},
        {"source route via IP literal", bg_xstrdup(foreign),
         bg_xasprintf("@%s:%s@%s", I, u, T)},
        {"bang path", bg_xstrdup(foreign), bg_xasprintf("%s!%s@%s", T, u, S)},
        {"bang path at IP literal", bg_xstrdup(foreign),
         bg_xasprintf("%s!%s@%s", T, u, I)},
        {"bang path without domain", bg_xstrdup(foreign), bg_xasprintf("%s!%s", T, u)},
        {"quoted address at server", bg_xstrdup(foreign),
         bg_xasprintf("\"%s@%s\"@%s", u, T, S)},
        {"quoted address at IP literal", bg_xstrdup(foreign),
         bg_xasprintf("\"%s@%s\"@%s", u, T, I)},
        {"quoted percent at server", bg_xstrdup(foreign),
         bg_xasprintf("\"%s%%%s\"@%s", u, T, S)},
        {"quoted address without domain", bg_xstrdup(foreign),
         bg_xasprintf("\"%s@%s\"", u, T)},
        {"quoted percent without domain", bg_xstrdup(foreign),
         bg_xasprintf("\"%s%%%s\"", u, T)},
    };
    size_t n = sizeof(spec) / sizeof(spec[0]);
    bg_relay_trick *t = bg_xcalloc(n, sizeof(*t));

    for (size_t i = 0; i < n; i++) {
        t[i].name = bg_xstrdup(spec[i].name);
        t[i].mail_from = spec[i].from;
        t[i].rcpt_to = spec[i].to;
    }
    free(foreign);
    free(target);
    free(UT);
    *count = n;
    return t;
}

bg_relay_trick *
bg_relay_tricks_free(bg_relay_trick *t, size_t count)
{
    for (size_t i = 0; t && i < count; i++) {
        free(t[i].name);
        free(t[i].mail_from);
        free(t[i].rcpt_to);
    }
    free(t);
    return NULL;
}

int
bg_relay_parse_target(const char *spec, char **host, char **port, bg_error *err)
{
    const char *p = NULL, *colon;
    size_t hlen;

    *host = *port = NULL;
    if (spec == NULL || *spec == '\0')
        return bg_error_set(err, "no host given");
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close == spec + 1)
            return bg_error_set(err, "bad host: missing ']'");
        if (close[1] != '\0' && close[1] != ':')
            return bg_error_set(err, "bad host: junk after ']'");
        hlen = (size_t)(close - spec - 1);
        *host = bg_xstrndup(spec + 1, hlen);
        p = close[1] == ':' ? close + 2 : NULL;
    } else if ((colon = strchr(spec, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
        if (colon == spec)
            return bg_error_set(err, "no host given");
        *host = bg_xstrndup(spec, (size_t)(colon - spec));
        p = colon + 1;
    } else {
        *host = bg_xstrdup(spec); /* a name, an IPv4 or a bare IPv6 address */
    }
    for (const char *c = *host; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != ':' &&
            *c != '_') {
            free(*host);
            *host = NULL;
            return bg_error_set(err, "bad character in host name");
        }
    if (p != NULL) {
        char *end;
        long n = strtol(p, &end, 10);
        if (*p == '\0' || *end != '\0' || n < 1 || n > 65535) {
            free(*host);
            *host = NULL;
            return bg_error_set(err, "bad port (1-65535)");
        }
        *port = bg_xasprintf("%ld", n);
    } else {
        *port = bg_xstrdup("25");
    }
    return 0;
}

/* Printable ASCII only: server text goes to terminals, logs and JSON. */
static void
append_printable(bg_buf *b, const char *s, size_t max_total)
{
    for (; *s && b->len < max_total; s++) {
        unsigned char c = (unsigned char)*s;
        bg_buf_putc(b, (c >= 0x20 && c < 0x7f) ? (char)c : '?');
    }
}

int
bg_relay_reply_line(const char *line, int *code, bg_buf *text, bg_error *err)
{
    int c;

    if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
        (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
        return bg_error_set(err, "not an SMTP reply line");
    c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (*code != 0 && c != *code)
        return bg_error_set(err, "reply codes differ within one reply (%d, %d)", *code,
                            c);
    *code = c;
    if (line[3] != '\0' && line[4] != '\0') {
        if (text->len > 0 && text->len < TEXT_MAX)
            bg_buf_putc(text, ' ');
        append_printable(text, line + 4, TEXT_MAX);
    }
    return line[3] == '-' ? 0 : 1;
}

/* ---- the SMTP connection ------------------------------------------------ */

typedef struct smtp_conn {
    int fd;
    int64_t timeout_ms;
    char in[BG_RELAY_LINE_MAX * 2];
    size_t in_len;
} smtp_conn;

/* Wait for fd to be ready for events before deadline; 0, or -1 with err. */
static int
wait_fd(int fd, short events, int64_t deadline, bg_error *err)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int64_t left = deadline - bg_monotonic_ms();
        int rc;

        if (left <= 0)
            return bg_error_set(err, "timeout");
        rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return bg_error_set(err, "poll: %s", strerror(errno));
    }
}

static int
read_line(smtp_conn *c, bg_buf *line, int64_t deadline, bg_error *err)
{
    for (;;) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->in), rest = c->in_len - n - 1;
            if (n > BG_RELAY_LINE_MAX)
                return bg_error_set(err, "reply line longer than %d bytes",
                                    BG_RELAY_LINE_MAX);
            bg_buf_reset(line);
            for (size_t i = 0; i < n; i++) /* NUL would cut the line short */
                bg_buf_putc(line, c->in[i] == '\0' ? '?' : c->in[i]);
            if (line->len > 0 && line->s[line->len - 1] == '\r')
                line->s[--line->len] = '\0';
            memmove(c->in, nl + 1, rest);
            c->in_len = rest;
            return 0;
        }
        if (c->in_len > BG_RELAY_LINE_MAX)
            return bg_error_set(err, "reply line longer than %d bytes",
                                BG_RELAY_LINE_MAX);
        if (wait_fd(c->fd, POLLIN, deadline, err) < 0)
            return -1;
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (r == 0)
            return bg_error_set(err, "the server closed the connection");
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return bg_error_set(err, "read: %s", strerror(errno));
        }
        c->in_len += (size_t)r;
    }
}

/* Read one (multi-line) reply within one timeout; code and text out. */
static int
read_reply(smtp_conn *c, int *code, bg_buf *text, bg_error *err)
{
    int64_t deadline = bg_monotonic_ms() + c->timeout_ms;
    bg_buf line = BG_BUF_INIT;

    *code = 0;
    bg_buf_reset(text);
    for (int n = 0; n < BG_RELAY_REPLY_LINES; n++) {
        int rc;
        if (read_line(c, &line, deadline, err) < 0)
            break;
        rc = bg_relay_reply_line(bg_buf_str(&line), code, text, err);
        if (rc != 0) {
            bg_buf_free(&line);
            return rc < 0 ? -1 : 0;
        }
        if (n == BG_RELAY_REPLY_LINES - 1)
            bg_error_set(err, "reply longer than %d lines", BG_RELAY_REPLY_LINES);
    }
    bg_buf_free(&line);
    return -1;
}

static int
send_line(smtp_conn *c, const char *cmd, bg_error *err)
{
    char *s = bg_xasprintf("%s\r\n", cmd);
    size_t len = strlen(s), off = 0;
    int64_t deadline = bg_monotonic_ms() + c->timeout_ms;

    bg_msg_debug("relay-test: >>> %s", cmd);
    while (off < len) {
        if (wait_fd(c->fd, POLLOUT, deadline, err) < 0)
            break;
        ssize_t w = send(c->fd, s + off, len - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            bg_error_set(err, "write: %s", strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    free(s);
    return off == len ? 0 : -1;
}

/* Send a command and read its reply. */
static int
command(smtp_conn *c, const char *cmd, int *code, bg_buf *text, bg_error *err)
{
    if (send_line(c, cmd, err) < 0)
        return -1;
    return read_reply(c, code, text, err);
}

static int
connect_addr(const struct sockaddr *sa, socklen_t salen, int64_t timeout_ms,
             bg_error *err)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (fd < 0)
        return bg_error_set(err, "socket: %s", strerror(errno));
    if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
        bg_error_set(err, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (wait_fd(fd, POLLOUT, bg_monotonic_ms() + timeout_ms, err) < 0) {
        bg_error_set(err, "connect: timeout");
        close(fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
        bg_error_set(err, "connect: %s", strerror(soerr ? soerr : errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the test ----------------------------------------------------------- */

typedef struct relay_state {
    const bg_relay_options *opt;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char helo[256];
    bg_relay_report *rep;
} relay_state;

/* Connect, read the greeting, say EHLO (or HELO).  Fills c. */
static int
session_open(relay_state *st, smtp_conn *c, bg_error *err)
{
    bg_buf text = BG_BUF_INIT;
    int code, fd, rc;
    char *cmd;

    fd =
        connect_addr((struct sockaddr *)&st->addr, st->addrlen, st->opt->timeout_ms, err);
    if (fd < 0)
        return -1;
    c->fd = fd;
    c->in_len = 0;
    c->timeout_ms = st->opt->timeout_ms;
    st->rep->sessions++;
    if (read_reply(c, &code, &text, err) < 0)
        goto fail;
    if (code != 220) {
        bg_error_set(err, "greeting refused: %d %s", code, bg_buf_str(&text));
        goto fail;
    }
    if (st->rep->banner == NULL)
        st->rep->banner = bg_xasprintf("%d %s", code, bg_buf_str(&text));
    cmd = bg_xasprintf("EHLO %s", st->helo);
    rc = command(c, cmd, &code, &text, err);
    free(cmd);
    if (rc < 0)
        goto fail;
    if (code / 100 != 2) {
        cmd = bg_xasprintf("HELO %s", st->helo);
        rc = command(c, cmd, &code, &text, err);
        free(cmd);
        if (rc < 0)
            goto fail;
        if (code / 100 != 2) {
            bg_error_set(err, "HELO refused: %d %s", code, bg_buf_str(&text));
            goto fail;
        }
    }
    bg_buf_free(&text);
    return 0;
fail:
    bg_buf_free(&text);
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void
session_close(smtp_conn *c, bool polite)
{
    if (c->fd < 0)
        return;
    if (polite) {
        bg_buf text = BG_BUF_INIT;
        bg_error ignored;
        int code;
        c->timeout_ms = c->timeout_ms > 2000 ? 2000 : c->timeout_ms;
        command(c, "QUIT", &code, &text, &ignored);
        bg_buf_free(&text);
    }
    close(c->fd);
    c->fd = -1;
}

static bg_relay_verdict
verdict_of(int code)
{
    switch (code / 100) {
    case 2:
        return BG_RELAY_ACCEPTED;
    case 4:
        return BG_RELAY_DEFERRED;
    case 5:
        return BG_RELAY_REFUSED;
    default:
        return BG_RELAY_ERROR;
    }
}

static void
set_result(bg_relay_result *r, const char *stage, bg_relay_verdict v, int code,
           const char *text)
{
    r->stage = stage;
    r->verdict = v;
    r->code = code;
    free(r->reply);
    r->reply = text ? bg_xstrdup(text) : NULL;
}

/*
 * One trick: MAIL FROM, RCPT TO (if MAIL was accepted), RSET.  Returns 0 if
 * the session can go on, -1 if it cannot (the result says why).  *refusals
 * counts the server's error replies in this session.
 */
static int
run_trick(smtp_conn *c, const bg_relay_trick *t, bg_relay_result *r, int *refusals)
{
    bg_buf text = BG_BUF_INIT;
    bg_error err;
    int code, rc = -1;
    char *cmd = bg_xasprintf("MAIL FROM:<%s>", t->mail_from);

    if (command(c, cmd, &code, &text, &err) < 0) {
        set_result(r, "MAIL", BG_RELAY_ERROR, 0, err.msg);
        goto out;
    }
    if (code == 421) {
        set_result(r, "MAIL", BG_RELAY_ERROR, code, bg_buf_str(&text));
        goto out;
    }
    if (code / 100 != 2) {
        /* The sender was refused: this trick cannot relay. */
        set_result(r, "MAIL",
                   verdict_of(code) == BG_RELAY_ACCEPTED ? BG_RELAY_ERROR
                                                         : verdict_of(code),
                   code, bg_buf_str(&text));
        (*refusals)++;
    } else {
        free(cmd);
        cmd = bg_xasprintf("RCPT TO:<%s>", t->rcpt_to);
        if (command(c, cmd, &code, &text, &err) < 0) {
            set_result(r, "RCPT", BG_RELAY_ERROR, 0, err.msg);
            goto out;
        }
        set_result(r, "RCPT", code == 421 ? BG_RELAY_ERROR : verdict_of(code), code,
                   bg_buf_str(&text));
        if (code == 421)
            goto out;
        if (code / 100 != 2)
            (*refusals)++;
    }
    if (command(c, "RSET", &code, &text, &err) == 0 && code / 100 == 2)
        rc = 0;
out:
    free(cmd);
    bg_buf_free(&text);
    return rc;
}

static bool
word_valid(const char *s, const char *extra, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && !strchr(extra, *s))
            return false;
    return true;
}

int
bg_relay_check_options(const bg_relay_options *opt, bg_error *err)
{
    if (opt->from_domain && !word_valid(opt->from_domain, "", 200))
        return bg_error_set(err,
                            "--from-domain may hold only letters, digits, '.' and '-'");
    if (opt->to_domain && !word_valid(opt->to_domain, "", 200))
        return bg_error_set(err,
                            "--to-domain may hold only letters, digits, '.' and '-'");
    if (opt->helo && !word_valid(opt->helo, "[]:", 250))
        return bg_error_set(err, "--helo must be a host name or an address literal");
    if (opt->host == NULL || *opt->host == '\0')
        return bg_error_set(err, "no host given");
    return 0;
}

/* The first word of the greeting when it looks like a host name. */
static char *
banner_domain(const char *banner)
{
    const char *p = strchr(banner, ' ');
    size_t n;
    char *d;

    if (p == NULL)
        return NULL;
    p++;
    n = strcspn(p, " ");
    d = bg_xstrndup(p, n);
    if (!word_valid(d, "", 253) || strchr(d, '.') == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

static void
peer_literal(const struct sockaddr_storage *ss, char *lit, size_t size, char *ip,
             size_t ipsize, int *port)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)ipsize);
        snprintf(lit, size, "[IPv6:%s]", ip);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)ipsize);
        snprintf(lit, size, "[%s]", ip);
        *port = ntohs(s4->sin_port);
    }
}

/* Resolve and open the first session; fills st->addr. */
static int
first_session(relay_state *st, smtp_conn *c, bg_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(st->opt->host, st->opt->port ? st->opt->port : "25", &hints, &res);
    if (rc != 0)
        return bg_error_set(err, "%s: %s", st->opt->host, gai_strerror(rc));
    rc = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(st->addr))
            continue;
        memcpy(&st->addr, ai->ai_addr, ai->ai_addrlen);
        st->addrlen = ai->ai_addrlen;
        if ((rc = session_open(st, c, err)) == 0)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int
bg_relay_test(const bg_relay_options *opt_in, bg_relay_report **report, bg_error *err)
{
    bg_relay_options opt = *opt_in;
    relay_state st;
    smtp_conn *c = bg_xcalloc(1, sizeof(*c));
    bg_relay_report *rep;
    char lit[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];
    int port, refusals = 0, failed_opens = 0;

    *report = NULL;
    memset(&st, 0, sizeof(st));
    if (opt.timeout_ms <= 0)
        opt.timeout_ms = 10000;
    if (opt.from_domain == NULL)
        opt.from_domain = "example.com";
    if (opt.to_domain == NULL)
        opt.to_domain = "example.net";
    if (bg_relay_check_options(&opt, err) < 0) {
        free(c);
        return -1;
    }
    if (opt.helo) {
        bg_strlcpy(st.helo, opt.helo, sizeof(st.helo));
    } else if (gethostname(st.helo, sizeof(st.helo)) != 0 ||
               !word_valid(st.helo, "", 250)) {
        bg_strlcpy(st.helo, "localhost", sizeof(st.helo));
    }
    st.opt = &opt;
    st.rep = rep = bg_xcalloc(1, sizeof(*rep));
    c->fd = -1;

    if (first_session(&st, c, err) < 0) {
        free(c);
        bg_relay_report_free(rep);
        return -1;
    }
    peer_literal(&st.addr, lit, sizeof(lit), ip, sizeof(ip), &port);
    rep->peer = bg_xasprintf("%s port %d", ip, port);
    {
        struct sockaddr_storage local = { 0 };
        socklen_t len = sizeof(local);
        char llit[INET6_ADDRSTRLEN + 8], lip[INET6_ADDRSTRLEN] = "";
        int lport;

        if (getsockname(c->fd, (struct sockaddr *)&local, &len) == 0 &&
            (local.ss_family == AF_INET || local.ss_family == AF_INET6))
            peer_literal(&local, llit, sizeof(llit), lip, sizeof(lip), &lport);
        rep->local = bg_xstrdup(lip);
        rep->vantage = bg_relay_vantage_of(lip, ip);
    }
    rep->server_domain = banner_domain(rep->banner);
    if (rep->server_domain == NULL)
        rep->server_domain =
            bg_xstrdup(word_valid(opt.host, "", 253) ? opt.host : "localhost");
    rep->tricks = bg_relay_tricks(rep->server_domain, lit, opt.from_domain, opt.to_domain,
                                  &rep->count);
    rep->results = bg_xcalloc(rep->count, sizeof(*rep->results));

    for (size_t i = 0; i < rep->count; i++) {
        bg_relay_result *r = &rep->results[i];
        r->name = rep->tricks[i].name;
        r->mail_from = rep->tricks[i].mail_from;
        r->rcpt_to = rep->tricks[i].rcpt_to;
        if (c->fd < 0) {
            bg_error oerr;
            if (failed_opens >= 2) {
                set_result(r, "session", BG_RELAY_ERROR, 0,
                           "not tried: the server refused two sessions in a row");
                continue;
            }
            if (session_open(&st, c, &oerr) < 0) {
                set_result(r, "session", BG_RELAY_ERROR, 0, oerr.msg);
                failed_opens++;
                continue;
            }
            failed_opens = 0;
            refusals = 0;
        }
        if (run_trick(c, &rep->tricks[i], r, &refusals) < 0)
            session_close(c, false);
        else if (refusals >= ERRORS_PER_SESSION)
            session_close(c, true); /* avoid the server's error throttling */
        bg_msg_debug("relay-test: %s: %s %d", r->name, bg_relay_verdict_name(r->verdict),
                     r->code);
    }
    session_close(c, true);
    free(c);

    for (size_t i = 0; i < rep->count; i++) {
        switch (rep->results[i].verdict) {
        case BG_RELAY_ACCEPTED:
            rep->accepted++;
            break;
        case BG_RELAY_REFUSED:
            rep->refused++;
            break;
        case BG_RELAY_DEFERRED:
            rep->deferred++;
            break;
        case BG_RELAY_ERROR:
            rep->errors++;
            break;
        }
    }
    if (rep->accepted > 0 && rep->vantage != BG_VANTAGE_OUTSIDE && !opt.outside)
        rep->overall = BG_RELAY_TRUSTED;
    else if (rep->accepted > 0)
        rep->overall = BG_RELAY_OPEN;
    else if (rep->refused == rep->count)
        rep->overall = BG_RELAY_CLOSED;
    else if (rep->refused > 0)
        rep->overall = BG_RELAY_PARTIAL;
    else
        rep->overall = BG_RELAY_UNKNOWN;
    *report = rep;
    return 0;
}

bg_relay_report *
bg_relay_report_free(bg_relay_report *r)
{
    if (r == NULL)
        return NULL;
    for (size_t i = 0; r->results && i < r->count; i++)
        free(r->results[i].reply);
    free(r->results);
    bg_relay_tricks_free(r->tricks, r->count);
    free(r->peer);
    free(r->local);
    free(r->banner);
    free(r->server_domain);
    free(r);
    return NULL;
}
