/*
 * dsn_parse — bg_dsn_parse() over a corpus of messages, in-process, for
 * `make bench` (compared with bench/sisimai.pl on the same files).
 *
 *   dsn_parse SECONDS FILE...
 *
 * Reads every file into memory first, then parses them all over and over
 * until SECONDS of CPU time have been used (at least one pass).  Prints
 * "dsn MESSAGES SECONDS RECIPIENTS" (SECONDS: CPU time; RECIPIENTS: bounced
 * or delayed recipients found in one pass).  CPU time, not wall clock: on
 * a shared machine the time another process had the CPU is not the
 * parser's (bench/sisimai.pl measures the same way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounceguard/dsn.h"

typedef struct msg {
    char *text;
    size_t len;
} msg;

static double
now_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
read_file(const char *path, msg *m)
{
    FILE *fp = fopen(path, "rb");
    bg_buf b = BG_BUF_INIT;
    char chunk[65536];
    size_t n;

    if (fp == NULL) {
        perror(path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        bg_buf_append(&b, chunk, n);
    fclose(fp);
    m->len = b.len;
    m->text = bg_buf_steal(&b);
    return 0;
}

/* One pass over every message; returns the recipients found, -1 on error. */
static long
pass(const msg *msgs, int n)
{
    long found = 0;

    for (int i = 0; i < n; i++) {
        bg_dsn_report *r = NULL;
        bg_error err;
        if (bg_dsn_parse(msgs[i].text, msgs[i].len, &r, &err) < 0)
            continue; /* an empty file: counted, like any message */
        found += (long)r->nrcpts;
        bg_dsn_report_free(r);
    }
    return found;
}

int
main(int argc, char **argv)
{
    double secs, t0, elapsed;
    long found, count = 0;
    int n = argc - 2;
    msg *msgs;

    if (argc < 3) {
        fprintf(stderr, "usage: dsn_parse SECONDS FILE...\n");
        return 2;
    }
    secs = strtod(argv[1], NULL);
    msgs = bg_xcalloc((size_t)n, sizeof(*msgs));
    for (int i = 0; i < n; i++)
        if (read_file(argv[i + 2], &msgs[i]) < 0)
            return 1;
    found = pass(msgs, n); /* warm the caches, untimed */
    t0 = now_cpu();
    do {
        pass(msgs, n);
        count += n;
        elapsed = now_cpu() - t0;
    } while (elapsed < secs);
    printf("dsn %ld %.4f %ld\n", count, elapsed, found);
    for (int i = 0; i < n; i++)
        free(msgs[i].text);
    free(msgs);
    return 0;
}
