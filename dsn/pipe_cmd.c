/*
 * pipe_cmd.c — `bounceguard-dsn pipe`: one message on stdin, from a Postfix
 * pipe(8) transport or a Sendmail alias ("|/usr/sbin/bounceguard-dsn pipe").
 *
 *   bounceguard-dsn [-c FILE] pipe [--client-ip IP] [--helo NAME]
 *       [--sender ADDR] [--recipient ADDR] [--reinject "PROGRAM ARGS"]
 * (each also as --name=VALUE, which stays one argument when VALUE is empty)
 *
 * The exit status speaks sysexits(3) to the MTA:
 *   0   processed: learned, or a duplicate, or not a bounce / garbage
 *       (logged and acknowledged: retrying would not make it better)
 *   75  EX_TEMPFAIL: the store is unavailable or failed, or the config does
 *       not load, or passing a VERP bounce on failed; the MTA keeps the
 *       message and retries (a retry is never counted twice)
 *   65  EX_DATAERR: only for a message over 50 MB, which is refused
 * When the recipient is at verp_domain, it must be a bounces+TOKEN address
 * whose token verifies (dsn/verp_pass.c); a good one attributes the bounce
 * (a token bound to its recipient makes it trusted) and the DSN is passed on
 * to the original sender; anything else is logged as forged and
 * acknowledged, and nothing is learned from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounceguard/log.h"
#include "intake.h"
#include "verp_pass.h"

static void
pipe_usage(FILE *fp)
{
    fprintf(fp, "usage: bounceguard-dsn [-c FILE] pipe [--client-ip IP] [--helo NAME] "
                "[--sender ADDR] [--recipient ADDR] [--reinject \"PROGRAM ARGS\"]\n");
}

/* Postfix pipe(8) writes the null sender as MAILER-DAEMON unless told not to. */
static const char *
real_sender(const char *s)
{
    if (s == NULL || strcmp(s, "<>") == 0 || strcasecmp(s, "MAILER-DAEMON") == 0)
        return "";
    return s;
}

int
dsn_cmd_pipe(const dsn_ctx *ctx, int argc, char **argv)
{
    const char *client_ip = "", *helo = "", *sender = "", *recipient = "";
    const char *reinject = VERP_DEFAULT_REINJECT;
    bg_learn_source src = {0};
    bg_buf msg = BG_BUF_INIT;
    bg_error err;
    intake in;
    verp_pass vp;
    int r, rc = 0;

    for (int i = 1; i < argc; i++) {
        static const char *const names[] = {"--client-ip", "--helo", "--sender",
                                            "--recipient", "--reinject"};
        const char **slots[] = {&client_ip, &helo, &sender, &recipient, &reinject};
        const char **slot = NULL, *value = NULL;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            pipe_usage(stdout);
            return 0;
        }
        /* "--name VALUE" or "--name=VALUE": the second form keeps an empty
         * ${client_helo} of pipe(8) from swallowing the next option */
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && slot == NULL; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(argv[i], names[k], n) == 0 && argv[i][n] == '=') {
                slot = slots[k];
                value = argv[i] + n + 1;
            } else if (strcmp(argv[i], names[k]) == 0) {
                slot = slots[k];
                value = i + 1 < argc ? argv[++i] : NULL;
            }
        }
        if (slot == NULL || value == NULL) {
            fprintf(stderr, "bounceguard-dsn pipe: %s %s\n",
                    slot ? "missing value for" : "unknown argument", argv[i]);
            pipe_usage(stderr);
            /* a broken master.cf line: keep the mail queued until it is fixed */
            return INTAKE_EX_TEMPFAIL;
        }
        *slot = value;
    }
    if (intake_start(&in, ctx, NULL) < 0)
        return INTAKE_EX_TEMPFAIL;

    r = intake_read_fd(STDIN_FILENO, INTAKE_MAX_MESSAGE, &msg, &err);
    if (r < 0) {
        bg_msg_error("pipe: cannot read the message: %s", err.msg);
        rc = INTAKE_EX_TEMPFAIL;
        goto out;
    }
    if (r > 0) {
        bg_msg_warn("pipe: message from %s for <%s> is larger than %u MB, refused",
                    client_ip[0] ? client_ip : "unknown", recipient,
                    INTAKE_MAX_MESSAGE / (1024 * 1024));
        rc = INTAKE_EX_DATAERR;
        goto out;
    }

    src.client_ip = client_ip;
    src.helo = helo;
    src.mail_from = real_sender(sender);
    src.origin = "pipe";
    switch (verp_pass_check(&in, recipient, &vp)) {
    case VERP_NOT_VERP:
        break;
    case VERP_FORGED:
    case VERP_UNKNOWN:
        /* verp_pass_check logged it: nothing is learned from it */
        goto out;
    case VERP_STORE_ERROR:
        rc = INTAKE_EX_TEMPFAIL;
        goto out;
    case VERP_VERIFIED:
        src.verp_verified = true;
        src.verp_sender_id = vp.sender_id;
        src.verp_message = vp.message_key;
        src.verp_rcpt = vp.rcpt;
        break;
    }
    if (intake_message(&in, msg.s ? msg.s : "", msg.len, "pipe", &src, NULL, NULL) < 0) {
        rc = INTAKE_EX_TEMPFAIL;
        goto out;
    }
    if (src.verp_verified && verp_pass_on(&vp, reinject, msg.s ? msg.s : "", msg.len) < 0)
        rc = INTAKE_EX_TEMPFAIL; /* learned already: the retry is a duplicate */

out:
    bg_buf_free(&msg);
    intake_finish(&in);
    return rc;
}
