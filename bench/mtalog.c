/*
 * mtalog — a generated Postfix log and bg_mtalog_parse() over it, for
 * `make bench`.
 *
 *   mtalog gen FILE LINES
 *       Write LINES lines of a busy relay's Postfix log (syslog format): per
 *       message smtpd connect/client, cleanup message-id, qmgr from,
 *       smtp to=... status=sent (2 % bounced with a remote 550 5.1.1, 3 %
 *       deferred), qmgr removed, smtpd disconnect.  Deterministic.
 *   mtalog parse FILE [ROUNDS]
 *       Read FILE into memory, then, ROUNDS times in turn: split it into lines
 *       (memchr only: the floor) and parse every line with bg_mtalog_parse().
 *       Then the parse again with TZ set in the environment.  Prints
 *       "mtalog LINES SPLIT_SECONDS PARSE_SECONDS BOUNCED PARSE_TZ_SECONDS"
 *       with the median time of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/mtalog.h"
#include "bounceguard/util.h"

static double
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
gen(const char *path, unsigned long lines)
{
    FILE *fp = fopen(path, "w");
    unsigned long n = 0, m = 0;
    unsigned sec = 0;

    if (fp == NULL) {
        perror(path);
        return 1;
    }
    while (n < lines) {
        char qid[16], ts[32];
        unsigned pid = 1000 + (unsigned)(m % 30000), d = (unsigned)(m % 997);
        snprintf(qid, sizeof(qid), "%05lX%05lX", (m * 7919) & 0xFFFFF, m & 0xFFFFF);
        snprintf(ts, sizeof(ts), "Nov 23 %02u:%02u:%02u", (sec / 3600) % 24, (sec / 60) % 60,
                 sec % 60);
        sec += m % 10 == 0;
        n += (unsigned long)fprintf(fp,
                "%s relay postfix/smtpd[%u]: connect from app%u.lan.example[10.0.%u.%u]\n",
                ts, pid, d, d / 250, d % 250 + 1) > 0;
        n += fprintf(fp, "%s relay postfix/smtpd[%u]: %s: client=app%u.lan.example[10.0.%u.%u]\n",
                     ts, pid, qid, d, d / 250, d % 250 + 1) > 0;
        n += fprintf(fp, "%s relay postfix/cleanup[%u]: %s: message-id=<%lu.%s@app%u.lan.example>\n",
                     ts, pid + 1, qid, m, qid, d) > 0;
        n += fprintf(fp,
                     "%s relay postfix/qmgr[900]: %s: from=<app%u@lan.example>, size=%lu, "
                     "nrcpt=1 (queue active)\n",
                     ts, qid, d, 1200 + m % 5000) > 0;
        if (m % 50 == 7)
            n += fprintf(fp,
                         "%s relay postfix/smtp[%u]: %s: to=<user%lu@d%u.example.com>, "
                         "relay=mx.d%u.example.com[192.0.2.%u]:25, delay=0.52, "
                         "delays=0.01/0/0.3/0.21, dsn=5.1.1, status=bounced (host "
                         "mx.d%u.example.com[192.0.2.%u] said: 550 5.1.1 "
                         "<user%lu@d%u.example.com>: Recipient address rejected: User unknown "
                         "in virtual mailbox table (in reply to RCPT TO command))\n",
                         ts, pid + 2, qid, m, d, d, d % 250 + 1, d, d % 250 + 1, m, d) > 0;
        else if (m % 33 == 5)
            n += fprintf(fp,
                         "%s relay postfix/smtp[%u]: %s: to=<user%lu@d%u.example.com>, "
                         "relay=mx.d%u.example.com[192.0.2.%u]:25, delay=1.1, "
                         "delays=0.01/0/0.3/0.8, dsn=4.7.1, status=deferred (host "
                         "mx.d%u.example.com[192.0.2.%u] said: 450 4.7.1 Greylisted, try again "
                         "later (in reply to RCPT TO command))\n",
                         ts, pid + 2, qid, m, d, d, d % 250 + 1, d, d % 250 + 1) > 0;
        else
            n += fprintf(fp,
                         "%s relay postfix/smtp[%u]: %s: to=<user%lu@d%u.example.com>, "
                         "relay=mx.d%u.example.com[192.0.2.%u]:25, delay=0.31, "
                         "delays=0.01/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued "
                         "as %s)\n",
                         ts, pid + 2, qid, m, d, d, d % 250 + 1, qid) > 0;
        n += fprintf(fp, "%s relay postfix/qmgr[900]: %s: removed\n", ts, qid) > 0;
        n += fprintf(fp,
                     "%s relay postfix/smtpd[%u]: disconnect from app%u.lan.example[10.0.%u.%u] "
                     "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n",
                     ts, pid, d, d / 250, d % 250 + 1) > 0;
        m++;
    }
    if (fclose(fp) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int
parse(const char *path, unsigned rounds)
{
    FILE *fp = fopen(path, "rb");
    bg_buf b = BG_BUF_INIT;
    char chunk[1 << 16];
    size_t n;
    double split[64], parsed[64], parsed_tz[64];
    long lines = 0, bounced = 0;
    int64_t now = (int64_t)time(NULL);

    if (fp == NULL) {
        perror(path);
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        bg_buf_append(&b, chunk, n);
    fclose(fp);
    if (rounds < 1 || rounds > 64)
        rounds = 5;
    for (unsigned r = 0; r < rounds; r++) {
        volatile size_t total = 0;
        double t0 = now_mono();
        const char *p = b.s, *end = b.s + b.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            total += len;
            p += len + 1;
        }
        split[r] = now_mono() - t0;

        bg_mtalog_event ev;
        lines = bounced = 0;
        t0 = now_mono();
        p = b.s;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (bg_mtalog_parse(p, len, now, NULL, &ev) == 1 && ev.kind == BG_MTALOG_BOUNCED)
                bounced++;
            lines++;
            p += len + 1;
        }
        parsed[r] = now_mono() - t0;
    }
    /* The same with TZ set: glibc's mktime() then skips its stat() of
     * /etc/localtime on every call (TZ unset means "check the file again"). */
    if (getenv("TZ") == NULL)
        setenv("TZ", ":/etc/localtime", 1);
    tzset();
    for (unsigned r = 0; r < rounds; r++) {
        bg_mtalog_event ev;
        const char *p = b.s, *end = b.s + b.len;
        double t0 = now_mono();
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            bg_mtalog_parse(p, len, now, NULL, &ev);
            p += len + 1;
        }
        parsed_tz[r] = now_mono() - t0;
    }
    qsort(split, rounds, sizeof(double), cmp_double);
    qsort(parsed, rounds, sizeof(double), cmp_double);
    qsort(parsed_tz, rounds, sizeof(double), cmp_double);
    printf("mtalog %ld %.4f %.4f %ld %.4f\n", lines, split[rounds / 2], parsed[rounds / 2],
           bounced, parsed_tz[rounds / 2]);
    bg_buf_free(&b);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], strtoul(argv[3], NULL, 10));
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "parse") == 0)
        return parse(argv[2], argc == 4 ? (unsigned)strtoul(argv[3], NULL, 10) : 5);
    fprintf(stderr, "usage: mtalog gen FILE LINES | mtalog parse FILE [ROUNDS]\n");
    return 2;
}
