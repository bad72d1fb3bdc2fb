/*
 * metrics_http.c — the milter's /metrics endpoint (metrics_listen), served
 * by libmicrohttpd: the milter's own counters (lib/metrics.c) and the
 * store's part, in Prometheus' text format.
 *
 * The listening socket is bound while the milter still runs as root (with
 * the milter socket and the pid file: a port below 1024 needs it); the
 * server's one thread starts after the daemon forked and gave up root, with
 * every signal blocked, so it runs as the milter's user and never takes
 * libmilter's SIGTERM.  It answers GET and HEAD of /metrics, 404 elsewhere,
 * at most METRICS_CONNECTIONS clients at once, each for at most
 * METRICS_TIMEOUT_S idle seconds.  The store's counters are read at most
 * once a second; its gauges count every recipient and sender, which a
 * scraper must neither wait for nor make the milter do every second: a
 * thread of their own counts them again after 5 s and 1000 times as long as
 * the last count took (scan_thread).
 * Stopped after smfi_main() returns, before the store closes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bounceguard/log.h"
#include "bounceguard/metrics.h"
#include "bounceguard/netaddr.h"
#include "milter.h"

#define METRICS_CONNECTIONS 8
#define METRICS_TIMEOUT_S 10
#define METRICS_COUNTERS_MS 1000
#define METRICS_SCAN_MIN_MS 5000
#define METRICS_SCAN_SPACING 1000

static bg_metrics *counters;
static int listen_fd = -1;
static struct MHD_Daemon *daemon_http;

/* The store's part.  The counters are read by the server's thread when a
 * scrape finds them older than METRICS_COUNTERS_MS; the scan of every record
 * by a thread of its own (scan_thread), so that a scrape never waits for
 * one.  view_lock guards the view, never held across a scan. */
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;
static bg_metrics_store_view view;
static int64_t counters_ms = -1;
static bool counters_failed_logged;
static pthread_t scan_tid;
static bool scan_running;
static atomic_bool scan_stop;

bg_metrics *
milter_metrics(void)
{
    if (counters == NULL)
        counters = bg_metrics_new();
    return counters;
}

int
milter_metrics_open(const char *spec, bg_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const char *problem = bg_listen_parse(spec, &ss, &len);
    int one = 1;

    milter_metrics(); /* before any thread: the counters are never NULL */
    if (problem)
        return bg_error_set(err, "metrics_listen: \"%s\" %s", spec, problem);
    listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        return bg_error_set(err, "metrics_listen %s: socket: %s", spec, strerror(errno));
    (void)setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(listen_fd, 16) < 0) {
        int e = errno;
        close(listen_fd);
        listen_fd = -1;
        return bg_error_set(err, "metrics_listen %s: cannot listen: %s", spec, strerror(e));
    }
    return 0;
}

/* Read the store's part of kind parts into v; log a failure once in a row. */
static int
read_store(unsigned parts, bg_metrics_store_view *v, bool *failed_logged)
{
    bg_store *st = milter_store();
    bg_config *cfg = milter_config_get();
    bg_error err = {""};
    int rc = -1;

    if (st == NULL)
        bg_error_set(&err, "store is not open");
    else
        rc = bg_metrics_store_read(st, cfg, (int64_t)time(NULL), parts, v, &err);
    if (rc < 0 && !*failed_logged)
        bg_msg_error("metrics: cannot read the store: %s", err.msg);
    *failed_logged = rc < 0;
    bg_config_unref(cfg);
    return rc;
}

/*
 * Count every recipient and sender (the gauges), at the start and then after
 * METRICS_SCAN_MIN_MS and at least METRICS_SCAN_SPACING times as long as the
 * last count took, so that counts take about 0.1 % of a core whatever the
 * store's size: a million recipients take 1.8 s of CPU idle, up to 9 s
 * beside a busy Postfix (bench/run, bgm), so one count every half hour or
 * more; ten thousand, every 20 s.
 */
static void *
scan_thread(void *arg)
{
    bool failed_logged = false;
    int64_t next_ms = 0;

    (void)arg;
    while (!atomic_load(&scan_stop)) {
        int64_t now_ms = bg_monotonic_ms();
        if (now_ms < next_ms) {
            usleep(200 * 1000);
            continue;
        }
        bg_metrics_store_view fresh;
        memset(&fresh, 0, sizeof(fresh));
        if (read_store(BG_METRICS_READ_SCAN, &fresh, &failed_logged) == 0) {
            pthread_mutex_lock(&view_lock);
            view.scanned = true;
            view.blacklisted = fresh.blacklisted;
            view.senders_at_quota = fresh.senders_at_quota;
            view.records = fresh.records;
            view.scan_time = fresh.scan_time;
            view.scan_seconds = fresh.scan_seconds;
            pthread_mutex_unlock(&view_lock);
        }
        bg_metrics_store_view_clear(&fresh);
        int64_t spacing = (int64_t)(fresh.scan_seconds * 1000 * METRICS_SCAN_SPACING);
        next_ms = bg_monotonic_ms() + (spacing > METRICS_SCAN_MIN_MS ? spacing : METRICS_SCAN_MIN_MS);
    }
    return NULL;
}

/* The exposition: the milter's counters, then the store's part. */
static void
exposition(bg_buf *out)
{
    int64_t now_ms = bg_monotonic_ms();

    bg_metrics_format_milter(milter_metrics(), out);
    pthread_mutex_lock(&view_lock);
    if (counters_ms < 0 || now_ms - counters_ms >= METRICS_COUNTERS_MS) {
        /* bounded and cheap: a few records, the log's statistics */
        if (read_store(BG_METRICS_READ_COUNTERS, &view, &counters_failed_logged) < 0)
            view.ok = false;
        counters_ms = now_ms;
    }
    bg_metrics_format_store(&view, out);
    pthread_mutex_unlock(&view_lock);
}

static enum MHD_Result
answer_text(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
            size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc;

    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **state)
{
    bg_buf out = BG_BUF_INIT;
    size_t len;

    (void)cls;
    (void)version;
    (void)upload;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                           bg_xstrdup("only GET\n"), 9);
    if (*upload_size != 0) /* a GET has no body; refuse one rather than read it */
        return MHD_NO;
    if (*state == NULL) { /* the headers: answer on the next call */
        *state = conn;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                           bg_xstrdup("bounceguard: see /metrics\n"), 26);
    exposition(&out);
    len = out.len;
    return answer_text(conn, MHD_HTTP_OK, BG_METRICS_CONTENT_TYPE, bg_buf_steal(&out), len);
}

int
milter_metrics_start(bg_error *err)
{
    if (listen_fd < 0)
        return 0;
    daemon_http = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)METRICS_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)METRICS_TIMEOUT_S, MHD_OPTION_END);
    if (daemon_http == NULL) {
        close(listen_fd);
        listen_fd = -1;
        return bg_error_set(err, "metrics_listen: libmicrohttpd did not start");
    }
    atomic_store(&scan_stop, false);
    if (pthread_create(&scan_tid, NULL, scan_thread, NULL) != 0) {
        milter_metrics_stop();
        return bg_error_set(err, "metrics_listen: cannot start the store's counting thread");
    }
    scan_running = true;
    return 0;
}

void
milter_metrics_stop(void)
{
    if (scan_running) { /* it ends within 200 ms, or when a count under way ends */
        atomic_store(&scan_stop, true);
        pthread_join(scan_tid, NULL);
        scan_running = false;
    }
    if (daemon_http) {
        /* stops the server's thread and closes its connections; the
         * listening socket is ours to close */
        MHD_stop_daemon(daemon_http);
        daemon_http = NULL;
    }
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
    }
    pthread_mutex_lock(&view_lock);
    bg_metrics_store_view_clear(&view);
    pthread_mutex_unlock(&view_lock);
    /* the counters stay: a libmilter worker may still be finishing */
}
