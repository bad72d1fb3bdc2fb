/*
 * callbacks.c — the libmilter callbacks of bounceguard-milter: thin adapters
 * from milter events to the gate (lib/gate.c), which holds every decision.
 *
 * Per-connection state (struct conn) travels with smfi_setpriv; the
 * per-message part is reset at each MAIL FROM; one cleanup path serves the end
 * of a message, an abort and the close, and close copes with no private data.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "bounceguard/gate.h"
#include "bounceguard/learn.h"
#include "bounceguard/metrics.h"
#include "bounceguard/log.h"
#include "milter.h"

typedef struct conn {
    bg_config *cfg;           /* the snapshot this connection started with */
    bool noreply_connect;     /* negotiated: the MTA does not wait for our */
    bool noreply_header;      /* answer to connect / to each header */
    char client_ip[INET6_ADDRSTRLEN];
    char client_name[256];
    /* per message */
    bool in_message;
    bg_gate_txn txn;
    bg_buf rcpts;             /* accepted recipients, one per line */
    unsigned naccepted;
    char message_id[256];
    char queue_id[64];
} conn;

static int64_t
now_seconds(void)
{
    return (int64_t)time(NULL);
}

static const char *
queue_id_of(SMFICTX *ctx, conn *c)
{
    const char *qid = smfi_getsymval(ctx, "i");

    if (qid && *qid && strcmp(qid, "NOQUEUE") != 0)
        bg_strlcpy(c->queue_id, qid, sizeof(c->queue_id));
    return c->queue_id[0] ? c->queue_id : "NOQUEUE";
}

/* End the current message: give back an unspent reservation. */
static void
message_end(conn *c)
{
    if (c->in_message)
        bg_gate_release(&c->txn);
    c->in_message = false;
    c->naccepted = 0;
    bg_buf_reset(&c->rcpts);
    c->message_id[0] = '\0';
    c->queue_id[0] = '\0';
    memset(&c->txn, 0, sizeof(c->txn));
}

/*
 * Map a verdict to a reply.  Observe mode logs what would have happened and
 * lets everything through; enforce refuses.  A store failure follows
 * on_store_error, never a silent accept unless configured so.
 */
static sfsistat
answer(SMFICTX *ctx, conn *c, bg_metrics_stage stage, bg_verdict_kind v, const char *what,
       const char *detail, const bg_error *err)
{
    bg_reply r;

    if (v == BG_VERDICT_ACCEPT) {
        bg_metrics_count(milter_metrics(), stage, v, BG_METRICS_PASSED);
        return SMFIS_CONTINUE;
    }
    r = bg_policy_reply(v, c->cfg);
    if (v == BG_VERDICT_STORE_ERROR) {
        bg_msg_error("%s: store failure, answering per on_store_error: %s", queue_id_of(ctx, c),
                     err->msg);
        if (c->cfg->on_store_error == BG_ON_ERROR_ACCEPT) {
            bg_metrics_count(milter_metrics(), stage, v, BG_METRICS_PASSED);
            return SMFIS_CONTINUE;
        }
    }
    bg_metrics_count(milter_metrics(), stage, v,
                     c->cfg->mode == BG_MODE_OBSERVE ? BG_METRICS_PASSED
                     : r.rcode[0] == '5'             ? BG_METRICS_REJECTED
                                                     : BG_METRICS_TEMPFAILED);
    if (c->cfg->mode == BG_MODE_OBSERVE) {
        bg_msg_warn("Observe mode: would refuse %s (from %s, queue ID %s): %s %s %s [%s]", what,
                    c->txn.identity, queue_id_of(ctx, c), r.rcode, r.xcode, r.text,
                    detail ? detail : "");
        return SMFIS_CONTINUE;
    }
    /* The queue ID, as Postfix and Sendmail log it (NOQUEUE before one is
     * given), so that this line can be matched with the MTA's. */
    bg_msg_warn("Operation failed %s: %s [%s %s, sender %s, queue ID %s%s%s]", what, r.text,
                r.rcode, r.xcode, c->txn.identity, queue_id_of(ctx, c),
                detail && *detail ? ", " : "", detail ? detail : "");
    if (smfi_setreply(ctx, (char *)r.rcode, (char *)r.xcode, (char *)r.text) != MI_SUCCESS)
        bg_msg_error("smfi_setreply failed for %s", what);
    return r.rcode[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* The connection's state: made at negotiation (or at connect, for an MTA
 * that does not negotiate). */
static conn *
conn_get_or_make(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = bg_xcalloc(1, sizeof(*c));
        c->cfg = milter_config_get();
        bg_buf_init(&c->rcpts);
        smfi_setpriv(ctx, c);
    }
    return c;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    conn *c = conn_get_or_make(ctx);

    bg_strlcpy(c->client_name, hostname ? hostname : "unknown", sizeof(c->client_name));
    if (hostaddr && hostaddr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)hostaddr)->sin_addr, c->client_ip,
                  sizeof(c->client_ip));
    else if (hostaddr && hostaddr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)hostaddr)->sin6_addr,
                  c->client_ip, sizeof(c->client_ip));
    bg_msg_debug("connect from %s[%s]", c->client_name, c->client_ip);
    return c->noreply_connect ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The client's address from {client_addr}, when the connect step was
 * negotiated away; anything but an IP address is not kept (rule 4 would
 * match it against trusted_networks). */
static void
client_from_macro(SMFICTX *ctx, conn *c)
{
    const char *ip = smfi_getsymval(ctx, "{client_addr}");
    unsigned char bin[sizeof(struct in6_addr)];

    if (ip == NULL)
        return;
    if (strncasecmp(ip, "IPv6:", 5) == 0) /* Sendmail's form */
        ip += 5;
    if (inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1)
        bg_strlcpy(c->client_ip, ip, sizeof(c->client_ip));
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    bg_store *st = milter_store();
    bg_error err = {""};
    bg_verdict_kind v;
    char what[400];

    if (c == NULL)
        return SMFIS_TEMPFAIL;
    message_end(c);
    c->in_message = true;
    if (c->client_ip[0] == '\0')
        client_from_macro(ctx, c);
    bg_gate_begin(&c->txn, c->cfg, smfi_getsymval(ctx, "{auth_authen}"), c->client_ip,
                  argv[0]);
    queue_id_of(ctx, c);
    snprintf(what, sizeof(what), "Sender %s", c->txn.identity);
    if (st == NULL) {
        bg_error_set(&err, "store is not open");
        v = BG_VERDICT_STORE_ERROR;
    } else {
        v = bg_gate_mail(st, c->cfg, &c->txn, now_seconds(), &err);
    }
    bg_msg_debug("MAIL FROM %s identity %s: %s", c->txn.env_from, c->txn.identity,
                 bg_policy_verdict_name(v));
    return answer(ctx, c, BG_METRICS_MAIL, v, what, NULL, &err);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
    conn *c = smfi_getpriv(ctx);
    bg_store *st = milter_store();
    bg_error err = {""};
    bg_addr addr;
    char detail[300], what[400], safe[300];
    bg_verdict_kind v;
    sfsistat rc;

    if (c == NULL)
        return SMFIS_TEMPFAIL;
    memset(&addr, 0, sizeof(addr));
    bg_sanitize_line(safe, sizeof(safe), argv[0], 256);
    if (st == NULL) {
        bg_error_set(&err, "store is not open");
        v = BG_VERDICT_STORE_ERROR;
        detail[0] = '\0';
    } else {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        v = bg_gate_rcpt(st, c->cfg, &c->txn, argv[0], now_seconds(), &addr, detail,
                         sizeof(detail), &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        bg_metrics_rcpt_latency(milter_metrics(),
                                (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
                                           (t1.tv_nsec - t0.tv_nsec)));
    }
    snprintf(what, sizeof(what), "Recipient %s", addr.canon[0] ? addr.canon : safe);
    bg_msg_debug("RCPT TO %s from %s: %s %s", safe, c->txn.identity,
                 bg_policy_verdict_name(v), detail);
    rc = answer(ctx, c, BG_METRICS_RCPT, v, what, detail, &err);
    /* what is recorded stays within recipient_limit, even in observe mode */
    if (rc == SMFIS_CONTINUE && c->naccepted < (unsigned long)c->cfg->recipient_limit) {
        bg_buf_puts(&c->rcpts, addr.canon[0] ? addr.canon : safe);
        bg_buf_putc(&c->rcpts, '\n');
        c->naccepted++;
    }
    return rc;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
    /* Registered only so that Postfix does not wait 40 ms for a delayed ACK
     * after the DATA macros (see docs/ARCHITECTURE.md). */
    return SMFIS_CONTINUE;
}

/*
 * The Message-ID as the store files it for correlation with bounces: cut to
 * size, each control character made '?'.  A key, not text for a person, so
 * not bg_sanitize_line (whose escapes would change the key of every
 * Message-ID with 8-bit bytes in it, and with it what a bounce matches).
 */
static void
message_id_copy(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    for (; src[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL)
        return SMFIS_CONTINUE;
    if (strcasecmp(name, "Message-ID") == 0 && c->message_id[0] == '\0') {
        const char *v = value;
        while (*v == ' ' || *v == '\t')
            v++;
        message_id_copy(c->message_id, sizeof(c->message_id), v);
    }
    return c->noreply_header ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);
    bg_store *st = milter_store();
    bg_error err = {""};
    bg_verdict_kind v;
    const char *qid;
    sfsistat rc;

    if (c == NULL)
        return SMFIS_CONTINUE;
    qid = queue_id_of(ctx, c);
    if (st == NULL) {
        bg_error_set(&err, "store is not open");
        v = BG_VERDICT_STORE_ERROR;
    } else {
        v = bg_gate_record(st, c->cfg, &c->txn, c->message_id, qid, bg_buf_str(&c->rcpts),
                           now_seconds(), &err);
    }
    /* The message's one write: its quota count and its record.  Refused
     * here only when another relay filled the quota since RCPT TO, or per
     * on_store_error when the store failed (never accepted uncounted). */
    if (v != BG_VERDICT_ACCEPT) {
        char what[400];
        snprintf(what, sizeof(what), "Message from %s", c->txn.identity);
        rc = answer(ctx, c, BG_METRICS_MAIL, v, what, "at the end of the message", &err);
        if (rc != SMFIS_CONTINUE) {
            message_end(c);
            return rc;
        }
    }
    if (v != BG_VERDICT_STORE_ERROR && c->cfg->return_path_rewrite) {
        /* signed VERP return path naming the record just made (lib/learn.c);
         * observe mode files a message it lets go past a refusal too */
        char rp[BG_ADDR_MAX + 1], only[BG_ADDR_MAX + 1] = "";
        int r;

        /* one recipient: the token binds it, so only its side can use it */
        if (c->naccepted == 1) {
            bg_strlcpy(only, bg_buf_str(&c->rcpts), sizeof(only));
            only[strcspn(only, "\n")] = '\0';
        }
        r = bg_learn_return_path(c->cfg, c->txn.env_from, qid, only, now_seconds(), rp,
                                 sizeof(rp), &err);
        if (r < 0)
            bg_msg_error("%s: envelope sender not rewritten: %s", qid, err.msg);
        else if (r > 0 && smfi_chgfrom(ctx, rp, NULL) != MI_SUCCESS)
            bg_msg_error("%s: smfi_chgfrom %s failed", qid, rp);
    }
    bg_msg_debug("%s: accepted message %s from %s to %u recipient(s)", qid,
                 c->message_id[0] ? c->message_id : "(no Message-ID)", c->txn.identity,
                 c->naccepted);
    bg_metrics_message_accepted(milter_metrics());
    message_end(c);
    return SMFIS_CONTINUE;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c)
        message_end(c);
    return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL)
        return SMFIS_CONTINUE;
    message_end(c);
    bg_buf_free(&c->rcpts);
    bg_config_unref(c->cfg);
    free(c);
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

/* What the MAIL step needs when the connect step is negotiated away: the
 * client's address (rule 4's trusted_networks, the identity of a sender
 * without SASL), the SASL login, and the queue ID (Sendmail gives it at
 * MAIL, Postfix at the end of the message). */
#define MAIL_MACROS "{client_addr} {auth_authen} i"

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
             unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
             unsigned long *pf3)
{
    conn *c = conn_get_or_make(ctx);
    unsigned long steps_off = SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN;

    /*
     * Ask only for the steps the rules use: MAIL and RCPT (the refusals),
     * DATA (see cb_data), the end of the message and abort (the quota
     * reservation, the record that correlates bounces).  Every other step
     * is one more packet per message for the MTA to write and us to read.
     * The connect step is left out when the MTA sends the macros a milter
     * asks for at MAIL (Postfix, Sendmail 8.14 and later); the headers
     * unless correlate = message-id.  What stays and never changes a
     * verdict (connect, headers) is answered by no reply.
     */
    *pf0 = f0 & (SMFIF_CHGFROM | SMFIF_ADDHDRS);
    if ((f0 & SMFIF_SETSYMLIST) && (f1 & SMFIP_NOCONNECT) &&
        smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)MAIL_MACROS) == MI_SUCCESS) {
        *pf0 |= SMFIF_SETSYMLIST;
        steps_off |= SMFIP_NOCONNECT;
    }
    if (c->cfg->correlate != BG_CORRELATE_MESSAGE_ID)
        steps_off |= SMFIP_NOHDRS;
    *pf1 = f1 & (steps_off | SMFIP_HDR_LEADSPC | SMFIP_NR_CONN | SMFIP_NR_HDR);
    c->noreply_connect = (*pf1 & SMFIP_NR_CONN) != 0;
    c->noreply_header = (*pf1 & SMFIP_NR_HDR) != 0;
    bg_msg_debug("negotiated (the MTA offers actions 0x%lx, steps 0x%lx): connect step %s, "
                 "header step %s",
                 f0, f1,
                 (*pf1 & SMFIP_NOCONNECT) ? "off ({client_addr} at MAIL)"
                 : c->noreply_connect ? "on, no reply"
                                      : "on",
                 (*pf1 & SMFIP_NOHDRS) ? "off"
                 : c->noreply_header   ? "on, no reply"
                                       : "on");
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
    .xxfi_name = "bounceguard",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_CHGFROM | SMFIF_ADDHDRS | SMFIF_SETSYMLIST,
    .xxfi_connect = cb_connect,
    .xxfi_helo = NULL,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = NULL,
    .xxfi_body = NULL,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = cb_data,
    .xxfi_negotiate = cb_negotiate,
};
