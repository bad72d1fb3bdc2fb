/*
 * bounceguard-milter — the mail filter daemon of bounceguard.
 *
 * Attached to Postfix (smtpd_milters) or Sendmail (INPUT_MAIL_FILTER), it
 * refuses at RCPT TO recipients that bounced (blacklisted for
 * blacklist_period after their last bounce), invalid addresses and unknown
 * TLDs; at MAIL FROM and RCPT TO senders that keep trying blacklisted
 * recipients and senders over their quota; and records each accepted message
 * so that bounces can be traced back to the sender that caused them.
 *
 *   bounceguard-milter [-c FILE] [-p SOCKET] [-f] [-n]
 *
 * With metrics_listen set, it serves Prometheus metrics at /metrics there
 * (metrics_http.c).
 *
 * Signals: SIGUSR1 reloads the config (a bad one is refused, the old one
 * kept) and reopens the log files; SIGTERM and SIGINT stop it cleanly.
 * SIGHUP also stops it: libmilter's own signal thread treats SIGHUP as
 * "stop", so a reload is deliberately not on SIGHUP (as OpenDKIM does).
 * See bounceguard-milter(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounceguard/log.h"
#include "bounceguard/pidfile.h"
#include "bounceguard/privs.h"
#include "milter.h"


/*
 * How long libmilter lets a connection wait for the MTA's next command (and
 * for a read or write to finish).  Debian's libmilter runs a pool of workers
 * whose controller closes, every ten minutes, each connection idle for longer
 * than this; the MTA then finds the milter gone and answers its client
 * 451 4.7.1.  So it must outlast what the MTA itself waits for a slow client
 * between two commands: Postfix's smtpd_timeout (300 s), Sendmail's
 * Timeout.command (1 h).  libmilter's own default, 7210 s, does; the 30 s set
 * here before refused the mail of any client that paused for 30 s before
 * DATA when the sweep came by (tests/integration/milter_idle.sh).
 */
#define MTA_IDLE_TIMEOUT_S 7210

static const char *config_path;
static bool config_explicit;
static atomic_bool stopping;

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: bounceguard-milter [-c FILE] [-p SOCKET] [-f] [-n]\n"
                "       bounceguard-milter -h | --help | -V | --version\n"
                "  -c FILE    config file (default %s)\n"
                "  -p SOCKET  milter socket, inet:PORT@HOST or unix:PATH (overrides config)\n"
                "  -f         stay in the foreground, log to stderr too\n"
                "  -n         check the config (and what a start needs) and exit\n"
                "  -h, --help     this text\n"
                "  -V, --version  print the version\n",
            BG_CONFIG_DEFAULT_PATH);
}

static void
reload_config(void)
{
    bg_error err;
    bg_config *fresh = bg_config_load(config_path, !config_explicit, &err);
    bg_config *cur;

    if (fresh == NULL) {
        bg_msg_error("reload refused, keeping the running config: %s", err.msg);
        return;
    }
    /* keep the sockets of the running daemon: they cannot change without a
     * restart (only this thread replaces the config) */
    cur = milter_config_get();
    free(fresh->socket);
    fresh->socket = bg_xstrdup(cur->socket);
    if (strcmp(fresh->metrics_listen, cur->metrics_listen) != 0)
        bg_msg_warn("metrics_listen changed to \"%s\": it takes effect at the next start",
                    fresh->metrics_listen);
    free(fresh->metrics_listen);
    fresh->metrics_listen = bg_xstrdup(cur->metrics_listen);
    bg_config_unref(cur);
    milter_config_set(fresh);
    bg_msg_notice("config %s reloaded", config_path);
}

/* SIGUSR1 is blocked in every thread; this one waits for it. */
static void *
signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig;

    while (!atomic_load(&stopping)) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            bg_error err;
            reload_config();
            if (bg_log_reopen(&err) < 0)
                bg_msg_error("cannot reopen logs: %s", err.msg);
        }
    }
    return NULL;
}

static void
try_open_store(void)
{
    bg_config *c = milter_config_get();
    bg_error err;
    bg_store *s = bg_store_open_config(c, BG_STORE_CREATE, &err);
    static bool complained;

    if (s) {
        milter_store_set(s);
        bg_msg_info("store %s open", bg_store_where(s));
        complained = false;
    } else if (!complained) {
        bg_msg_error("%s; answering per on_store_error until it opens", err.msg);
        complained = true;
    }
    bg_config_unref(c);
}

/*
 * Upkeep: open the store if it is not, follow the run-time debug switch,
 * purge expired records in small batches, and keep the store sound: this is
 * the milter's one thread that runs failchk and, only after failchk found
 * the environment sound, the checkpoint that lets old log files go.
 */
static void *
housekeeping_thread(void *arg)
{
    time_t last_purge = 0;
    int64_t last_failchk_ms = 0, last_debug_ms = 0;

    while (!atomic_load(&stopping)) {
        bg_store *st = milter_store();
        if (st == NULL) {
            try_open_store();
        } else {
            char v[16];
            bg_error err;
            int64_t now_ms = bg_monotonic_ms();
            if (now_ms - last_debug_ms >= 1000) {
                last_debug_ms = now_ms;
                if (bg_store_meta_get(st, "debug", v, sizeof(v), &err) == BG_FOUND) {
                    bool on = strcmp(v, "on") == 0;
                    if (on != bg_log_debug_enabled()) {
                        bg_log_set_debug(on);
                        bg_msg_notice("debug log switched %s", on ? "on" : "off");
                    }
                }
            }
            /* Every second, and sooner when the log grows fast. */
            if (now_ms - last_failchk_ms >= 1000LL * BG_STORE_FAILCHK_S ||
                bg_store_log_pressing(st)) {
                int r = bg_store_maintain(st, BG_STORE_CHECKPOINT_S, &err);
                if (r < 0)
                    bg_msg_error("store upkeep: %s", err.msg);
                else if (r == BG_STORE_RECOVERED)
                    bg_msg_warn("store recovered after a process failed inside it");
                last_failchk_ms = now_ms;
            }
            time_t now = time(NULL);
            if (now - last_purge >= 60) {
                bg_config *c = milter_config_get();
                size_t purged = 0;
                if (bg_store_purge(st, now, (size_t)c->purge_batch, 20, &purged, &err) < 0)
                    bg_msg_error("purge: %s", err.msg);
                else if (purged)
                    bg_msg_debug("purged %zu expired records", purged);
                bg_config_unref(c);
                last_purge = now;
            }
        }
        usleep(BG_STORE_LOG_LOOK_MS * 1000);
    }
    return NULL;
}

/*
 * The stall guard.  A thread that waits inside Berkeley DB for a mutex a
 * SIGKILLed process held waits for ever (bg_store_stalled_ms), and the
 * threads that need the handles it holds wait behind it: the milter would
 * stay connected and answer nothing, each SMTP session waiting out the MTA's
 * milter timeout.  Only a new process gets out of it, so after STALL_S
 * seconds without a store call finishing the milter says so and exits
 * EX_TEMPFAIL (75) for its service manager to start it again (the unit's
 * Restart=on-failure); the MTA meanwhile applies its milter default action.
 */
#define MILTER_STALL_S 60

static bg_pidfile *pid_file;

static void *
stall_guard_thread(void *arg)
{
    (void)arg;
    for (;;) {
        bg_store *st = milter_store();
        int64_t ms = st ? bg_store_stalled_ms(st, bg_monotonic_ms()) : 0;

        if (ms >= 1000LL * MILTER_STALL_S) {
            bg_error err;
            bg_msg_error("the store did not answer for %lld s (with Berkeley DB: a process "
                         "was killed while it held one of its locks); exiting with EX_TEMPFAIL "
                         "for the service manager to restart the milter",
                         (long long)(ms / 1000));
            if (pid_file)
                bg_pidfile_remove(pid_file, &err);
            _exit(75);
        }
        sleep(2);
    }
    return NULL;
}

/*
 * The files made at start-up, so that no symlink or hard link put in their
 * place can redirect them (security issue 18): nothing is ever chowned or
 * chmodded as root by a name anyone but root could change (a socket's group
 * in a set-group-ID directory is changed as the directory's owner: see
 * open_socket).  The pid file first, locked for the daemon's life, so
 * that a second daemon stops before it touches the socket of the first; then
 * the socket; then root is given up.  A file in a directory of the daemon's
 * user is made as that user, in root's as root; a directory anyone else may
 * write is refused (bg_privs_check_dir).
 */
static bg_privs_user daemon_user;
static bool have_user; /* started as root, with a user to become */

static const bg_privs_user *
user_or_null(void)
{
    return have_user ? &daemon_user : NULL;
}

static int
open_pid_file(const bg_config *c)
{
    bg_error err;
    long holder;

    if (c->pid_file[0] == '\0')
        return 0;
    umask(022);
    pid_file = bg_pidfile_open(c->pid_file, user_or_null(), (long)getpid(), &holder, &err);
    if (pid_file == NULL) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/*
 * An inet socket is opened as root (a port below 1024 needs it).  A unix
 * socket is made by the owner of its directory (the user's own directory,
 * the usual /run/bounceguard, gives a socket of the user's; root's one of
 * root's) with the group socket_group, else the daemon user's group, and
 * the umask makes it socket_mode at bind: it is never a moment more open
 * than that.  A directory that is set-group-ID gives its own group instead:
 * bg_privs_socket_access() then changes it, still as the directory's owner.
 */
static int
open_socket(const bg_config *c)
{
    const char *sock = c->socket;
    const char *path = NULL;
    mode_t mode = (mode_t)c->socket_mode & 0777;
    gid_t group = (gid_t)-1;
    bool switched = false, access_ok = true;
    bg_error err, access_err;
    int r;

    if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0) {
        struct stat sb;
        path = strchr(sock, ':') + 1;
        if (bg_privs_check_parent(path, &sb, user_or_null(), &err) < 0) {
            fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
            return -1;
        }
        if (c->socket_group[0] && bg_privs_group(c->socket_group, &group, &err) < 0) {
            fprintf(stderr, "bounceguard-milter: socket_group: %s\n", err.msg);
            return -1;
        }
        if (geteuid() == 0 && (have_user || group != (gid_t)-1)) {
            uid_t uid = have_user && sb.st_uid == daemon_user.uid ? daemon_user.uid : 0;
            gid_t gid = group != (gid_t)-1 ? group : have_user ? daemon_user.gid : getegid();
            if (bg_privs_assume(uid, gid, &err) < 0) {
                fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
                return -1;
            }
            switched = true;
        }
    }
    umask(0777 & ~mode);
    r = smfi_opensocket(true);
    if (r != MI_FAILURE && path)
        access_ok = bg_privs_socket_access(path, mode, group, user_or_null(), &access_err) == 0;
    /* The store and the logs are made after this under umask 007, as they
     * were when that was the socket's umask and stayed. */
    umask(007);
    if (switched && bg_privs_resume(&err) < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return -1;
    }
    if (r == MI_FAILURE) {
        fprintf(stderr, "bounceguard-milter: cannot open milter socket %s (in use?)\n", sock);
        return -1;
    }
    if (!access_ok) {
        fprintf(stderr, "bounceguard-milter: socket_mode, socket_group: %s\n", access_err.msg);
        return -1;
    }
    return 0;
}

/*
 * Become a daemon in two steps, so that a failure while starting up (no
 * such user, an unwritable log_dir, ...) is still printed on the terminal and
 * ends the command with a non-zero status: the parent waits on a pipe until
 * the daemon says it is ready (daemon_ready) or dies.
 */
static int ready_fd = -1;

static int
daemon_start(void)
{
    int fds[2];
    pid_t pid;
    char c = 0;

    if (pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(c == 'k' ? 0 : 4);
    }
    close(fds[0]);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    ready_fd = fds[1];
    return 0;
}

static void
daemon_ready(void)
{
    int fd;

    if (ready_fd < 0)
        return;
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    if (write(ready_fd, "k", 1) != 1)
        _exit(4);
    close(ready_fd);
    ready_fd = -1;
}

int
main(int argc, char **argv)
{
    const char *socket_override = NULL;
    bool foreground = false, check_only = false;
    bg_config *cfg; /* main's own reference: a reload replaces the running one */
    bg_error err;
    int opt, rc;
    sigset_t set;
    pthread_t sig_tid, house_tid, guard_tid;

    config_path = BG_CONFIG_DEFAULT_PATH;
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    while ((opt = getopt_long(argc, argv, "c:p:fnhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            config_explicit = true;
            break;
        case 'p':
            socket_override = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'n':
            check_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("bounceguard-milter %s\n", BG_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "bounceguard-milter: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    cfg = bg_config_load(config_path, !config_explicit, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return 3;
    }
    if (socket_override) {
        if (bg_config_check_socket(socket_override, &err) < 0) {
            fprintf(stderr, "bounceguard-milter: -p: %s\n", err.msg);
            bg_config_unref(cfg);
            return 2;
        }
        free(cfg->socket);
        cfg->socket = bg_xstrdup(socket_override);
    }
    if (check_only) {
        /* Also what only the machine can answer, so that -n passes no
         * config that a start would then refuse. */
        if (bg_config_check_system(cfg,
                                   BG_CHECK_USER | BG_CHECK_LOG_DIR | BG_CHECK_PID_FILE |
                                       BG_CHECK_SOCKET,
                                   &err) < 0) {
            fprintf(stderr, "bounceguard-milter: %s: %s\n",
                    cfg->path[0] ? cfg->path : "(defaults)", err.msg);
            bg_config_unref(cfg);
            return 3;
        }
        printf("bounceguard-milter: config %s is valid\n",
               cfg->path[0] ? cfg->path : "(defaults)");
        bg_config_unref(cfg);
        return 0;
    }

    milter_config_set(bg_config_ref(cfg));
    if (smfi_setconn(cfg->socket) == MI_FAILURE ||
        smfi_register(milter_desc) == MI_FAILURE) {
        fprintf(stderr, "bounceguard-milter: cannot set up milter socket %s\n",
                cfg->socket);
        return 4;
    }
    smfi_settimeout(MTA_IDLE_TIMEOUT_S);
    smfi_setbacklog(256);
    rc = bg_privs_target(cfg->user, &daemon_user, &err);
    if (rc < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return 4;
    }
    have_user = rc > 0;
    if (!foreground && daemon_start() < 0) {
        fprintf(stderr, "bounceguard-milter: cannot become a daemon: %s\n", strerror(errno));
        return 4;
    }
    /* Open what needs root, then become the unprivileged user, who opens the
     * logs and the store. */
    if (open_pid_file(cfg) < 0 || open_socket(cfg) < 0)
        return 4;
    milter_metrics(); /* the counters, before any thread counts */
    if (cfg->metrics_listen[0] &&
        milter_metrics_open(cfg->metrics_listen, &err) < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return 4;
    }
    if (have_user && bg_privs_become(&daemon_user, &err) < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return 4;
    }
    bg_log_options lo = {.ident = "bounceguard-milter",
                         .dir = cfg->log_dir,
                         .use_syslog = cfg->syslog,
                         .use_stderr = foreground,
                         .debug = cfg->debug};
    if (bg_log_open(&lo, &err) < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        return 3;
    }

    /* Signals blocked here, before any thread exists: only our signal
     * thread takes SIGUSR1, only libmilter's takes SIGHUP, SIGTERM, SIGINT. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    /* Our threads must not take libmilter's signals either: a SIGTERM landing
     * in one of them would kill the process instead of stopping it cleanly. */
    sigset_t all = set;
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    signal(SIGPIPE, SIG_IGN);
    try_open_store();
    pthread_create(&sig_tid, NULL, signal_thread, &set);
    pthread_create(&house_tid, NULL, housekeeping_thread, NULL);
    pthread_create(&guard_tid, NULL, stall_guard_thread, NULL);
    pthread_detach(sig_tid);
    pthread_detach(guard_tid);
    /* as the daemon's user, with every signal of ours and libmilter's blocked */
    if (milter_metrics_start(&err) < 0) {
        fprintf(stderr, "bounceguard-milter: %s\n", err.msg);
        bg_msg_error("%s", err.msg);
        return 4;
    }
    if (cfg->metrics_listen[0])
        bg_msg_info("metrics served at http://%s/metrics", cfg->metrics_listen);
    daemon_ready(); /* the parent may exit 0 now; stdio goes to /dev/null */

    bg_msg_notice("bounceguard-milter %s listening on %s (mode %s)", BG_VERSION,
                cfg->socket,
                cfg->mode == BG_MODE_OBSERVE ? "observe" : "enforce");
    rc = smfi_main();
    milter_metrics_stop();
    atomic_store(&stopping, true);
    pthread_join(house_tid, NULL);
    bg_msg_notice("bounceguard-milter stopping");
    if (pid_file && bg_pidfile_remove(pid_file, &err) < 0)
        bg_msg_debug("%s", err.msg);
    pid_file = bg_pidfile_close(pid_file);
    bg_store_close(milter_store());
    bg_log_close();
    milter_config_set(NULL);
    bg_config_unref(cfg);
    return rc == MI_SUCCESS ? 0 : 1;
}
