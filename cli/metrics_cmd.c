/*
 * metrics_cmd — `bounceguard metrics [--output FILE]`: the store's part of
 * the Prometheus metrics (lib/metrics.c formats them, as the milter's
 * /metrics does), for node_exporter's textfile collector or a look by hand.
 * The milter's own counters (replies, latency) live in the milter process
 * and are served only by its /metrics (metrics_listen).
 *
 * Without --output the exposition goes to standard output.  With it, FILE is
 * replaced atomically (a temporary file in FILE's directory, then rename),
 * so that the collector never reads half a file.  The store is read by a
 * child process, which may become the store's user (cli_store_open) and
 * hands the text over a pipe; the file is made and renamed by the caller
 * as it was started (root, typically, for a collector's directory).
 * Exit status: 0, 2 usage, 3 configuration, 4 store or output error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounceguard/metrics.h"
#include "cli.h"
#include "output.h"

/* Read the store and append the exposition to out.  A CLI exit status. */
static int
exposition(cli_ctx *ctx, bg_buf *out)
{
    bg_metrics_store_view v;
    bg_store *st;
    bg_error err;
    int rc;

    memset(&v, 0, sizeof(v));
    if ((rc = cli_store_open(ctx, "metrics", false, &st)) != 0)
        return rc;
    if (bg_metrics_store_read(st, ctx->config, cli_now(), BG_METRICS_READ_ALL, &v, &err) < 0) {
        bg_store_close(st);
        bg_metrics_store_view_clear(&v);
        return cli_runtime_error("metrics", "%s", err.msg);
    }
    bg_store_close(st);
    bg_metrics_format_store(&v, out);
    bg_metrics_store_view_clear(&v);
    return CLI_EXIT_OK;
}

static int
write_all(int fd, const char *p, size_t left)
{
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        left -= (size_t)w;
    }
    return 0;
}

/* The exposition from a child that reads the store, into out.  A CLI exit
 * status (the child's, which said what went wrong on stderr). */
static int
exposition_from_child(cli_ctx *ctx, bg_buf *out)
{
    int fds[2], status;
    pid_t pid;
    char chunk[8192];
    ssize_t n;

    if (pipe(fds) < 0)
        return cli_runtime_error("metrics", "pipe: %s", strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return cli_runtime_error("metrics", "fork: %s", strerror(errno));
    if (pid == 0) {
        bg_buf text = BG_BUF_INIT;
        close(fds[0]);
        int rc = exposition(ctx, &text);
        if (rc == CLI_EXIT_OK && write_all(fds[1], bg_buf_str(&text), text.len) < 0)
            rc = CLI_EXIT_RUNTIME;
        _exit(rc);
    }
    close(fds[1]);
    while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        bg_buf_append(out, chunk, (size_t)n);
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        return cli_runtime_error("metrics", "the process reading the store died");
    return WEXITSTATUS(status);
}

/* Replace path with text: a temporary file beside it, then rename. */
static int
replace_file(const char *path, const bg_buf *text)
{
    char *tmp = bg_xasprintf("%s.XXXXXX", path);
    int fd = mkstemp(tmp), rc = CLI_EXIT_OK;

    if (fd < 0) {
        rc = cli_runtime_error("metrics", "cannot make a file beside %s: %s", cli_safe(path),
                               strerror(errno));
        free(tmp);
        return rc;
    }
    /* readable by the collector's user, as a .prom file is */
    if (fchmod(fd, 0644) < 0 || write_all(fd, bg_buf_str(text), text->len) < 0 ||
        fsync(fd) < 0) {
        rc = cli_runtime_error("metrics", "cannot write %s: %s", cli_safe(tmp), strerror(errno));
        close(fd);
    } else if (close(fd) < 0 || rename(tmp, path) < 0) {
        rc = cli_runtime_error("metrics", "cannot replace %s: %s", cli_safe(path),
                               strerror(errno));
    }
    if (rc != CLI_EXIT_OK)
        (void)unlink(tmp);
    free(tmp);
    return rc;
}

int
cli_cmd_metrics(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bg_buf text = BG_BUF_INIT;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (c == 'o' && *optarg)
            path = optarg;
        else if (c == 'o')
            return cli_usage_error("metrics", "--output takes a file name");
        else
            return cli_option_error("metrics", argc, argv);
    }
    if (optind < argc)
        return cli_usage_error("metrics", "unexpected argument %.60s", cli_safe(argv[optind]));
    if (path == NULL || strcmp(path, "-") == 0) {
        rc = exposition(ctx, &text);
        if (rc == CLI_EXIT_OK && (fwrite(text.s, 1, text.len, ctx->out) != text.len ||
                                  fflush(ctx->out) != 0))
            rc = cli_runtime_error("metrics", "cannot write: %s", strerror(errno));
    } else {
        rc = exposition_from_child(ctx, &text);
        if (rc == CLI_EXIT_OK)
            rc = replace_file(path, &text);
    }
    bg_buf_free(&text);
    return rc;
}
