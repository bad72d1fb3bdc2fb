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

#include "bounceguard/log.h"
#include "bounceguard/verp.h"
#include "verp_pass.h"

#define MAX_ARGS 32

/* A token older than this cannot name a message the store still holds. */
static int64_t
max_age(const bg_config *cfg)
{
    return cfg->message_retention + 86400;
}

/* Verify token with the secret in path into *vs; false when the secret
 * cannot be read (logged). */
static bool
verify_with(const char *path, const char *token, int64_t now, int64_t age, char *key,
            size_t keysize, int64_t *when, const char *safe, bg_verp_status *vs)
{
    bg_error err;
    bg_verp *v = bg_verp_load(path, &err);
    if (v == NULL) {
        bg_msg_error("bounce to %s: %s", safe, err.msg);
        return false;
    }
    *vs = bg_verp_verify(v, token, now, age, key, keysize, when);
    bg_verp_free(v);
    return true;
}

verp_check
verp_pass_check(intake *in, const char *recipient, verp_pass *vp)
{
    char token[BG_VERP_TOKEN_MAX + 8], key[BG_VERP_KEY_MAX + 8], safe[300];
    bg_verp_status vs;
    bg_message_rec m;
    bg_error err;
    bg_lookup l;
    int64_t when = 0, now = intake_now();

    memset(vp, 0, sizeof(*vp));
    if (recipient == NULL || in->cfg->verp_domain[0] == '\0' ||
        !bg_verp_match(recipient, "bounces", in->cfg->verp_domain, token, sizeof(token)))
        return VERP_NOT_VERP;
    bg_sanitize_line(safe, sizeof(safe), recipient, 256);
    if (in->cfg->verp_secret_file[0] == '\0') {
        bg_msg_error("bounce to %s: verp_secret_file is not set, cannot verify", safe);
        return VERP_STORE_ERROR; /* a config problem: keep the mail queued */
    }
    if (!verify_with(in->cfg->verp_secret_file, token, now, max_age(in->cfg), key,
                     sizeof(key), &when, safe, &vs))
        return VERP_STORE_ERROR;
    /* After a rotation, tokens made with the previous secret are still in
     * flight (bounces come back days later): they verify with it. */
    if (vs == BG_VERP_BAD_SIGNATURE && in->cfg->verp_previous_secret_file[0] != '\0' &&
        !verify_with(in->cfg->verp_previous_secret_file, token, now, max_age(in->cfg), key,
                     sizeof(key), &when, safe, &vs))
        return VERP_STORE_ERROR;
    if (vs == BG_VERP_MALFORMED || vs == BG_VERP_BAD_SIGNATURE) {
        bg_msg_warn("Ignored forged bounce to %s: VERP token %s", safe,
                    bg_verp_status_name(vs));
        return VERP_FORGED;
    }
    if (vs == BG_VERP_EXPIRED) {
        bg_msg_info("bounce to %s: VERP token for %s has expired, ignored", safe, key);
        return VERP_UNKNOWN;
    }
    if (intake_store(in) < 0)
        return VERP_STORE_ERROR;
    l = bg_store_message_get(in->st, key, true, &m, &err);
    if (l == BG_LOOKUP_ERROR) {
        bg_msg_error("bounce to %s: %s", safe, err.msg);
        return VERP_STORE_ERROR;
    }
    /* A queue ID is reused in time: the record must be the one of the token. */
    if (l == BG_NOTFOUND || m.time < when - 300 || m.time > when + 300) {
        bg_msg_info("bounce to %s: message %s of the VERP token is no longer known", safe,
                    key);
        if (l == BG_FOUND)
            bg_message_rec_clear(&m);
        return VERP_UNKNOWN;
    }
    bg_strlcpy(vp->sender_id, m.sender_id, sizeof(vp->sender_id));
    bg_strlcpy(vp->orig_sender, m.env_from, sizeof(vp->orig_sender));
    bg_strlcpy(vp->message_key, key, sizeof(vp->message_key));
    bg_message_rec_clear(&m);
    bg_msg_debug("bounce to %s: VERP token verified, message %s of %s", safe, key,
                 vp->sender_id);
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
