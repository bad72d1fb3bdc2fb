/*
 * verp_pass.c — see dsn/verp_pass.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounceguard/learn.h"
#include "bounceguard/log.h"
#include "verp_pass.h"

#define MAX_ARGS 32

verp_check
verp_pass_check(intake *in, const char *recipient, verp_pass *vp)
{
    char safe[300];
    bg_return_path rp;
    bg_error err = {""};
    bg_return_path_status st;

    memset(vp, 0, sizeof(*vp));
    if (recipient == NULL || in->cfg->verp_domain[0] == '\0')
        return VERP_NOT_VERP;
    if (intake_store(in) < 0)
        return VERP_STORE_ERROR;
    bg_sanitize_line(safe, sizeof(safe), recipient, 256);
    st = bg_learn_return_path_check(in->st, in->cfg, recipient, intake_now(), &rp, &err);
    switch (st) {
    case BG_RP_NONE:
        return VERP_NOT_VERP;
    case BG_RP_ERROR:
        bg_msg_error("bounce to %s: %s", safe, err.msg);
        return VERP_STORE_ERROR; /* keep the mail queued until it can be checked */
    case BG_RP_FORGED:
        bg_msg_warn("Ignored forged bounce to %s: %s", safe, rp.why);
        return VERP_FORGED;
    case BG_RP_STALE:
        bg_msg_info("bounce to %s: VERP token of %s: %s, ignored", safe,
                    rp.key[0] ? rp.key : "an unknown message", rp.why);
        return VERP_UNKNOWN;
    case BG_RP_VALID:
        break;
    }
    bg_strlcpy(vp->sender_id, rp.sender_id, sizeof(vp->sender_id));
    bg_strlcpy(vp->orig_sender, rp.orig_sender, sizeof(vp->orig_sender));
    bg_strlcpy(vp->message_key, rp.key, sizeof(vp->message_key));
    bg_strlcpy(vp->rcpt, rp.rcpt, sizeof(vp->rcpt));
    bg_msg_debug("bounce to %s: VERP token verified, message %s of %s%s%s", safe, rp.key,
                 vp->sender_id, vp->rcpt[0] ? ", recipient " : "", vp->rcpt);
    return VERP_VERIFIED;
}

/* Split cmd at blanks into argv (no shell, no quoting); returns argc. */
static int
split_command(char *cmd, char **argv, int max)
{
    int argc = 0;

    for (char *p = strtok(cmd, " \t"); p && argc < max; p = strtok(NULL, " \t"))
        argv[argc++] = p;
    return argc;
}

/* Skip a leading "Return-Path:" header (with its continuation lines). */
static size_t
skip_return_path(const char *msg, size_t len)
{
    size_t i = 0;

    if (len < 12 || strncasecmp(msg, "Return-Path:", 12) != 0)
        return 0;
    for (;;) {
        const char *nl = memchr(msg + i, '\n', len - i);
        if (nl == NULL)
            return 0;
        i = (size_t)(nl - msg) + 1;
        if (i >= len || (msg[i] != ' ' && msg[i] != '\t'))
            return i;
    }
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
verp_pass_on(const verp_pass *vp, const char *reinject, const char *msg, size_t len)
{
    char *cmd = bg_xstrdup(reinject);
    char *argv[MAX_ARGS + 6];
    int argc = split_command(cmd, argv, MAX_ARGS), pfd[2], status = 0, rc = -1;
    size_t skip = skip_return_path(msg, len);
    pid_t pid;

    if (vp->orig_sender[0] == '\0' || strcmp(vp->orig_sender, "<>") == 0) {
        bg_msg_info("VERP bounce for %s: the original sender was empty, not passed on",
                    vp->sender_id);
        free(cmd);
        return 0;
    }
    if (argc == 0) {
        bg_msg_error("VERP: empty re-inject command");
        free(cmd);
        return -1;
    }
    argv[argc++] = (char *)"-f";
    argv[argc++] = (char *)"";
    argv[argc++] = (char *)"--";
    argv[argc++] = (char *)vp->orig_sender;
    argv[argc] = NULL;
    if (pipe(pfd) < 0) {
        bg_msg_error("VERP: pipe: %s", strerror(errno));
        free(cmd);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        bg_msg_error("VERP: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        free(cmd);
        return -1;
    }
    if (pid == 0) {
        dup2(pfd[0], STDIN_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[0]);
    if (write_all(pfd[1], msg + skip, len - skip) < 0)
        bg_msg_error("VERP: writing to %s: %s", argv[0], strerror(errno));
    close(pfd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        bg_msg_info("VERP bounce passed on to <%s> (sender %s)", vp->orig_sender,
                    vp->sender_id);
        rc = 0;
    } else {
        bg_msg_error("VERP: %s failed (%s %d) passing the bounce on to <%s>", argv[0],
                     WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                     vp->orig_sender);
    }
    free(cmd);
    return rc;
}
