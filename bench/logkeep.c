/*
 * logkeep — the transaction log under the milter's sustained load, for
 * `make bench`: MESSAGES messages through the gate as the milter's SMTP
 * threads make them (MAIL FROM, RCPT TO, the message record at the end of
 * the message), from THREADS threads, while one more thread keeps the store
 * as the milter's housekeeping does (bg_store_maintain every
 * BG_STORE_FAILCHK_S seconds, and sooner when bg_store_log_pressing says
 * 512 KB of log were written since the last checkpoint: failchk, a
 * checkpoint when due, old log files removed).  At each look (every
 * BG_STORE_LOG_LOOK_MS, as the milter's) it counts the log files in the
 * store's directory.
 *
 *   logkeep HOME MESSAGES THREADS RATE
 *
 * RATE caps the messages per second of all threads together (0: no cap):
 * the library alone goes ten times faster than any MTA feeds a milter, and
 * what the log holds between two upkeeps depends on the rate.
 *
 * prints one line:
 *   logkeep MESSAGES SECONDS max_files N max_mb M bytes_per_message B
 *           checkpoints C files_at_end F
 * (bytes_per_message: the log written per message, from the log's position
 * before and after).  The store is made with the defaults (sync off, as the
 * milter writes), one sender per thread with a quota that never refuses.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/addr.h"
#include "bounceguard/config.h"
#include "bounceguard/gate.h"
#include "bounceguard/store.h"

typedef struct worker {
    bg_store *st;
    const bg_config *cfg;
    unsigned id, from, count;
    double start, interval; /* this thread's pace: one message per interval */
    int failed;
} worker;

static atomic_bool done;
static atomic_uint checkpoints;

static double
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The log as files: how many, their bytes, and the position of its end
 * (the last file's number and size). */
typedef struct log_view {
    unsigned files;
    unsigned long long bytes, last_no, last_size, file_size;
} log_view;

static void
look_at_log(const char *home, log_view *v)
{
    DIR *d = opendir(home);
    struct dirent *e;

    memset(v, 0, sizeof(*v));
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        unsigned long long no;

        if (strncmp(e->d_name, "log.", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", home, e->d_name);
        if (stat(path, &st) < 0)
            continue;
        no = strtoull(e->d_name + 4, NULL, 10);
        v->files++;
        v->bytes += (unsigned long long)st.st_size;
        if (no >= v->last_no) {
            if (v->last_no && v->last_size > v->file_size)
                v->file_size = v->last_size;
            v->last_no = no;
            v->last_size = (unsigned long long)st.st_size;
        } else if ((unsigned long long)st.st_size > v->file_size) {
            v->file_size = (unsigned long long)st.st_size;
        }
    }
    closedir(d);
}

static void *
work(void *arg)
{
    worker *w = arg;
    char sender[64];

    snprintf(sender, sizeof(sender), "app%u@lan.example", w->id);
    for (unsigned i = 0; i < w->count && !w->failed; i++) {
        bg_gate_txn t;
        bg_addr a;
        bg_error err;
        char rcpt[96], qid[32], list[100];
        int64_t now = (int64_t)time(NULL);
        bg_verdict_kind v;
        double due = w->start + w->interval * i, wait = due - now_mono();

        if (wait > 0)
            usleep((useconds_t)(wait * 1e6));
        snprintf(rcpt, sizeof(rcpt), "r%u@d%03u.example.net", w->from + i, (w->from + i) % 997);
        snprintf(qid, sizeof(qid), "4L%07X%u", w->from + i, w->id);
        snprintf(list, sizeof(list), "%s\n", rcpt);
        bg_gate_begin(&t, w->cfg, NULL, "127.0.0.1", sender);
        v = bg_gate_mail(w->st, w->cfg, &t, now, &err);
        if (v == BG_VERDICT_ACCEPT)
            v = bg_gate_rcpt(w->st, w->cfg, &t, rcpt, now, &a, NULL, 0, &err);
        if (v == BG_VERDICT_ACCEPT)
            v = bg_gate_record(w->st, w->cfg, &t, "", qid, list, now, &err);
        if (v != BG_VERDICT_ACCEPT) {
            fprintf(stderr, "logkeep: message %u: verdict %d: %s\n", w->from + i, (int)v,
                    err.msg);
            w->failed = 1;
        }
    }
    return NULL;
}

typedef struct keeper {
    bg_store *st;
    const char *home;
    unsigned max_files;
    unsigned long long max_bytes;
    unsigned long long file_size; /* a full log file's, as seen before its removal */
} keeper;

static void *
keep(void *arg)
{
    keeper *k = arg;
    double next = now_mono() + BG_STORE_FAILCHK_S;

    while (!atomic_load(&done)) {
        log_view v;
        look_at_log(k->home, &v);
        if (v.files > k->max_files)
            k->max_files = v.files;
        if (v.bytes > k->max_bytes)
            k->max_bytes = v.bytes;
        if (v.file_size > k->file_size)
            k->file_size = v.file_size;
        if (now_mono() >= next || bg_store_log_pressing(k->st)) {
            bg_error err;
            bg_store_env_stats before, after;
            bg_store_env_stats_get(k->st, &before, &err);
            if (bg_store_maintain(k->st, BG_STORE_CHECKPOINT_S, &err) < 0)
                fprintf(stderr, "logkeep: upkeep: %s\n", err.msg);
            bg_store_env_stats_get(k->st, &after, &err);
            if (after.last_checkpoint != before.last_checkpoint ||
                after.replay_bytes < before.replay_bytes)
                atomic_fetch_add(&checkpoints, 1);
            next = now_mono() + BG_STORE_FAILCHK_S;
        }
        usleep(BG_STORE_LOG_LOOK_MS * 1000);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    bg_error err;
    bg_config *cfg;
    bg_store *st;
    unsigned n, nthreads;
    double rate;
    worker *ws;
    pthread_t *tids, ktid;
    keeper k = {0};
    log_view start, end;
    double t0, secs;
    unsigned long long written, fsize;
    int failed = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: logkeep HOME MESSAGES THREADS RATE\n");
        return 2;
    }
    rate = strtod(argv[4], NULL);
    n = (unsigned)strtoul(argv[2], NULL, 10);
    nthreads = (unsigned)strtoul(argv[3], NULL, 10);
    if (n == 0 || nthreads == 0 || nthreads > 64 || rate < 0) {
        fprintf(stderr, "logkeep: MESSAGES > 0, 1 <= THREADS <= 64, RATE >= 0\n");
        return 2;
    }
    /* Senders whose quota never refuses: every message takes the whole
     * accepting path. */
    if ((cfg = bg_config_parse("logkeep", "quota_limit = 100000000\ncheck_tld = no\n", &err)) ==
        NULL) {
        fprintf(stderr, "logkeep: %s\n", err.msg);
        return 1;
    }
    if ((st = bg_store_open(argv[1], BG_STORE_CREATE, &err)) == NULL) {
        fprintf(stderr, "logkeep: %s\n", err.msg);
        bg_config_unref(cfg);
        return 1;
    }
    ws = calloc(nthreads, sizeof(*ws));
    tids = calloc(nthreads, sizeof(*tids));
    if (ws == NULL || tids == NULL)
        return 1;
    k.st = st;
    k.home = argv[1];
    bg_store_checkpoint(st, &err);
    look_at_log(argv[1], &start);
    t0 = now_mono();
    pthread_create(&ktid, NULL, keep, &k);
    for (unsigned i = 0; i < nthreads; i++) {
        ws[i] = (worker){st, cfg, i, i * (n / nthreads),
                         n / nthreads + (i + 1 == nthreads ? n % nthreads : 0), t0,
                         rate > 0 ? nthreads / rate : 0, 0};
        pthread_create(&tids[i], NULL, work, &ws[i]);
    }
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(tids[i], NULL);
        failed |= ws[i].failed;
    }
    secs = now_mono() - t0;
    look_at_log(argv[1], &end);
    atomic_store(&done, true);
    pthread_join(ktid, NULL);
    fsize = k.file_size       ? k.file_size
            : end.file_size   ? end.file_size
            : start.file_size ? start.file_size
                              : 2097152;
    written = (end.last_no - start.last_no) * fsize + end.last_size - start.last_size;
    printf("logkeep %u %.1f max_files %u max_mb %.1f bytes_per_message %.0f checkpoints %u "
           "files_at_end %u\n",
           n, secs, k.max_files, (double)k.max_bytes / 1048576.0, (double)written / n,
           atomic_load(&checkpoints), end.files);
    bg_store_close(st);
    bg_config_unref(cfg);
    free(ws);
    free(tids);
    return failed;
}
