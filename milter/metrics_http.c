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
 * scraper that asks every second must not make the milter do every second:
 * they are counted again only after 5 s and 100 times as long as the last
 * count took (refresh).
 * Stopped after smfi_main() returns, before the store closes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
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
#define METRICS_SCAN_SPACING 100

static bg_metrics *counters;
static int listen_fd = -1;
static struct MHD_Daemon *daemon_http;

/* The store's part, cached; only the server's thread touches it, the lock
 * is for a second server thread should the threading model ever change. */
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;
static bg_metrics_store_view view;
static int64_t counters_ms = -1, scan_ms = -1;
static bool view_failed_logged;

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

/* Whether the store's part, of the kind `what`, is due: the counters after
 * METRICS_COUNTERS_MS, the scan of every record after METRICS_SCAN_MIN_MS
 * and at least METRICS_SCAN_SPACING times as long as the last one took, so
 * that scans take about 1 % of a core whatever the store's size (a million
 * recipients take 2 s: one scan every 200 s). */
static bool
due(int64_t now_ms, int64_t last_ms, int64_t every_ms)
{
    return last_ms < 0 || now_ms - last_ms >= every_ms;
}

static void
refresh(int64_t now_ms)
{
    unsigned parts = 0;
    int64_t scan_every = (int64_t)(view.scan_seconds * 1000 * METRICS_SCAN_SPACING);

    if (scan_every < METRICS_SCAN_MIN_MS)
        scan_every = METRICS_SCAN_MIN_MS;
    if (due(now_ms, counters_ms, METRICS_COUNTERS_MS))
        parts |= BG_METRICS_READ_COUNTERS;
    if (due(now_ms, scan_ms, scan_every))
        parts |= BG_METRICS_READ_SCAN;
    if (parts == 0)
        return;

    bg_store *st = milter_store();
    bg_config *cfg = milter_config_get();
    bg_error err = {""};
    if (st == NULL) {
        bg_error_set(&err, "store is not open");
        view.ok = false;
    }
    if (st == NULL ||
        bg_metrics_store_read(st, cfg, (int64_t)time(NULL), parts, &view, &err) < 0) {
        if (!view_failed_logged)
            bg_msg_error("metrics: cannot read the store: %s", err.msg);
        view_failed_logged = true;
    } else {
        view_failed_logged = false;
    }
    bg_config_unref(cfg);
    if (parts & BG_METRICS_READ_COUNTERS)
        counters_ms = now_ms;
    if (parts & BG_METRICS_READ_SCAN)
        scan_ms = bg_monotonic_ms(); /* spaced from its end */
}

/* The exposition: the milter's counters, then the store's (cached) part. */
static void
exposition(bg_buf *out)
{
    bg_metrics_format_milter(milter_metrics(), out);
    pthread_mutex_lock(&view_lock);
    refresh(bg_monotonic_ms());
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
    return 0;
}

void
milter_metrics_stop(void)
{
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
