/*
 * dsn_ses — Amazon SES notifications received by mail.
 *
 * SES publishes bounce, complaint and delivery notifications as one JSON
 * object (Amazon SES Developer Guide, "Amazon SNS notification contents for
 * Amazon SES"): {"notificationType": "Bounce" | "Complaint" | "Delivery",
 * "bounce" | "complaint" | "delivery": {...}, "mail": {...}}; event
 * publishing names the first field "eventType".  Mailed through an SNS
 * e-mail subscription (or SES feedback forwarding to an address), the message
 * body is that object, or an SNS envelope {"Type": "Notification",
 * "Message": "<the object, as a JSON string>", ...} around it.
 *
 * dsn_ses_read() reads one such body:
 *   Bounce     bounce.bouncedRecipients[]: emailAddress, action, status,
 *              diagnosticCode; bounce.reportingMTA, remoteMtaIp.  The reason
 *              comes from bounceType/bounceSubType where the subtype names
 *              one (table below); for General and Undetermined, from the
 *              status and diagnostic as any bounce (bg_reply_classify_ctx()),
 *              "onhold" when SES gives neither (Undetermined).
 *   Complaint  complaint.complainedRecipients[].emailAddress: "feedback",
 *              the diagnostic names complaintFeedbackType.
 *   Delivery   delivery.recipients[]: "delivered", action "delivered",
 *              status from delivery.smtpResponse (2.0.0 when it has none);
 *              never a blacklisting (lib/learn.c reads the action).
 * mail.source is the original sender, mail.commonHeaders.messageId the
 * original Message-ID (mail.messageId is SES's own id, kept when the
 * headers are missing).
 *
 * Work is bounded: the JSON is looked for in the first 1 MB of the text,
 * one SNS envelope is opened (not more), recipients stop at
 * BG_DSN_MAX_RCPTS, and jansson caps the nesting depth.  Pure code.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/util.h"
#include "bounceguard/reply.h"
#include "bounceguard/textmatch.h"
#include "dsn_ses.h"
#include "dsn_text.h"

#define SES_JSON_MAX (1024u * 1024)

/* Bounce subtypes that name a reason (Amazon SES Developer Guide, "Bounce
 * types"); General and Undetermined leave it to the diagnostic. */
static const struct {
    const char *type, *subtype, *reason;
} ses_subtypes[] = {
    {"Permanent", "NoEmail", "userunknown"},
    {"Permanent", "Suppressed", "suppressed"},
    {"Permanent", "OnAccountSuppressionList", "suppressed"},
    {"Transient", "MailboxFull", "mailboxfull"},
    {"Transient", "MessageTooLarge", "mesgtoobig"},
    {"Transient", "ContentRejected", "contenterror"},
    {"Transient", "AttachmentRejected", "securityerror"},
};

static const char *
str_of(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A copy of s cut to at most BG_DSN_TEXT_MAX bytes with white space folded,
 * NULL for NULL or "". */
static char *
text_dup(const char *s)
{
    if (!s || !*s)
        return NULL;
    bg_buf b = BG_BUF_INIT;
    bg_dsn_collapse(&b, s, strlen(s));
    return b.len ? bg_buf_steal(&b) : (bg_buf_free(&b), NULL);
}

/* "dns; a8-70.smtp-out.amazonses.com" -> "a8-70.smtp-out.amazonses.com". */
static char *
after_type(const char *v)
{
    if (!v)
        return NULL;
    const char *semi = strchr(v, ';');
    if (semi && semi - v < 16)
        v = semi + 1;
    while (*v == ' ')
        v++;
    return *v ? bg_xstrndup(v, strcspn(v, " \t\r\n")) : NULL;
}

/* The notification object in text[len]: the first '{' that starts a JSON
 * object with a notificationType/eventType, directly or in an SNS envelope's
 * Message.  NULL when there is none; the caller json_decref()s it. */
static json_t *
find_notification(const char *text, size_t len)
{
    if (len > SES_JSON_MAX)
        len = SES_JSON_MAX;
    const char *brace = memchr(text, '{', len);
    if (!brace)
        return NULL;
    /* Cheap test before parsing: a notification names its type. */
    size_t rest = len - (size_t)(brace - text);
    /* (also inside an SNS envelope, where the quotes are escaped) */
    if (!bg_text_find(brace, rest, "notificationType") &&
        !bg_text_find(brace, rest, "eventType"))
        return NULL;
    json_error_t jerr;
    /* The mail's text may go on after the object (a signature, the list's
     * footer): JSON_DISABLE_EOF_CHECK stops at its end. */
    json_t *root =
        json_loadb(brace, rest, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    const char *type = str_of(root, "Type");
    const char *msg = str_of(root, "Message");
    if (type && msg && strcmp(type, "Notification") == 0) {
        json_t *inner = json_loadb(msg, strlen(msg), 0, &jerr);
        json_decref(root);
        if (!json_is_object(inner)) {
            json_decref(inner);
            return NULL;
        }
        root = inner;
    }
    if (!str_of(root, "notificationType") && !str_of(root, "eventType")) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void
read_mail(const json_t *mail, bg_dsn_report *r)
{
    if (!json_is_object(mail))
        return;
    const char *src = str_of(mail, "source");
    if (src && !r->orig_sender)
        r->orig_sender = bg_dsn_addr_canon(src);
    const char *mid = str_of(json_object_get(mail, "commonHeaders"), "messageId");
    if (!mid)
        mid = str_of(mail, "messageId");
    if (mid && !r->orig_message_id) {
        while (*mid == '<' || *mid == ' ')
            mid++;
        r->orig_message_id = bg_xstrndup(mid, strcspn(mid, ">"));
    }
}

static const char *
subtype_reason(const char *type, const char *subtype)
{
    if (!type || !subtype)
        return NULL;
    for (size_t i = 0; i < sizeof ses_subtypes / sizeof ses_subtypes[0]; i++)
        if (strcasecmp(type, ses_subtypes[i].type) == 0 &&
            strcasecmp(subtype, ses_subtypes[i].subtype) == 0)
            return ses_subtypes[i].reason;
    return NULL;
}

static void
read_bounce(const json_t *b, bg_dsn_report *r)
{
    const char *type = str_of(b, "bounceType");
    const char *subtype = str_of(b, "bounceSubType");
    const char *named = subtype_reason(type, subtype);
    char *mta = after_type(str_of(b, "reportingMTA"));
    const char *rip = str_of(b, "remoteMtaIp");
    const json_t *list = json_object_get(b, "bouncedRecipients");
    size_t i;
    const json_t *v;
    r->kind = BG_DSN_TEXT;
    if (mta && !r->reporting_mta)
        r->reporting_mta = bg_xstrdup(mta);
    json_array_foreach(list, i, v)
    {
        char *addr = bg_dsn_addr_canon(str_of(v, "emailAddress"));
        bool existed = false;
        bg_dsn_rcpt *rc = addr ? bg_dsn_rcpt_add(r, addr, &existed) : NULL;
        free(addr);
        if (!rc || existed)
            continue;
        const char *action = str_of(v, "action");
        char code[32];
        rc->diagnostic = text_dup(str_of(v, "diagnosticCode"));
        if (rc->diagnostic) {
            /* "smtp; 550 5.1.1 ..." keeps its type apart, as in a DSN. */
            const char *semi = strchr(rc->diagnostic, ';');
            if (semi && semi - rc->diagnostic < 16) {
                rc->diagnostic_type = bg_ascii_lower(
                    bg_xstrndup(rc->diagnostic, (size_t)(semi - rc->diagnostic)));
                char *rest = text_dup(semi + 1);
                free(rc->diagnostic);
                rc->diagnostic = rest;
            }
        }
        const char *st = str_of(v, "status");
        if (st && bg_reply_status_from_text(st, code, sizeof code))
            rc->status = bg_xstrdup(code);
        else if (rc->diagnostic &&
                 bg_reply_status_from_text(rc->diagnostic, code, sizeof code))
            rc->status = bg_xstrdup(code);
        else if (type && strcasecmp(type, "Permanent") == 0)
            rc->status = bg_xstrdup("5.0.0");
        else if (type && strcasecmp(type, "Transient") == 0)
            rc->status = bg_xstrdup("4.0.0");
        if (action && *action)
            rc->action = bg_ascii_lower(bg_xstrndup(action, strcspn(action, " ;\t")));
        else
            rc->action =
                bg_xstrdup(rc->status && rc->status[0] == '4' ? "delayed" : "failed");
        /* remoteMtaIp is the server SES talked to; an address in the
         * diagnostic may be the sender's ("Client host [192.0.2.10]"). */
        if (rip && *rip)
            rc->remote_mta = bg_xstrndup(rip, strnlen(rip, 64));
        else if (rc->diagnostic)
            rc->remote_mta = dsn_text_remote_mta(rc->diagnostic, strlen(rc->diagnostic));
        bg_reply_class cl;
        bg_reply_context ctx = {NULL,          rc->diagnostic_type, rc->action,
                                rc->recipient, rc->remote_mta,      mta,
                                false};
        bg_reply_classify_ctx(rc->status, rc->diagnostic, &ctx, &cl);
        /* A General or Undetermined bounce that says nothing more is
         * "onhold" (bg_reply_classify_ctx() with no status and no text). */
        rc->reason = named ? named : cl.reason;
        if (cl.rbl[0])
            rc->rbl = bg_xstrdup(cl.rbl);
        rc->hard = bg_reason_is_hard(rc->reason, rc->status);
        if (!rc->diagnostic && type) {
            bg_buf d = BG_BUF_INIT;
            bg_buf_printf(&d, "Amazon SES bounce %.40s/%.40s", type,
                          subtype ? subtype : "-");
            rc->diagnostic = bg_buf_steal(&d);
        }
    }
    free(mta);
}

static void
read_complaint(const json_t *c, bg_dsn_report *r)
{
    const json_t *list = json_object_get(c, "complainedRecipients");
    const char *ft = str_of(c, "complaintFeedbackType");
    const char *sub = str_of(c, "complaintSubType");
    size_t i;
    const json_t *v;
    r->kind = BG_DSN_ARF;
    json_array_foreach(list, i, v)
    {
        char *addr = bg_dsn_addr_canon(str_of(v, "emailAddress"));
        bool existed = false;
        bg_dsn_rcpt *rc = addr ? bg_dsn_rcpt_add(r, addr, &existed) : NULL;
        free(addr);
        if (!rc || existed)
            continue;
        /* A complaint against an address on the account's suppression list
         * was never sent: SES suppressed it. */
        rc->reason = sub && strcasecmp(sub, "OnAccountSuppressionList") == 0
                         ? "suppressed"
                         : "feedback";
        bg_buf d = BG_BUF_INIT;
        bg_buf_printf(&d, "Feedback-Type: %.100s", ft ? ft : "unknown");
        rc->diagnostic = bg_buf_steal(&d);
        rc->hard = false;
    }
}

static void
read_delivery(const json_t *d, bg_dsn_report *r)
{
    const json_t *list = json_object_get(d, "recipients");
    char *mta = after_type(str_of(d, "reportingMTA"));
    const char *smtp = str_of(d, "smtpResponse");
    const char *rip = str_of(d, "remoteMtaIp");
    char code[32];
    size_t i;
    const json_t *v;
    r->kind = BG_DSN_RFC3464;
    if (mta && !r->reporting_mta)
        r->reporting_mta = bg_xstrdup(mta);
    json_array_foreach(list, i, v)
    {
        char *addr = json_is_string(v) ? bg_dsn_addr_canon(json_string_value(v)) : NULL;
        bool existed = false;
        bg_dsn_rcpt *rc = addr ? bg_dsn_rcpt_add(r, addr, &existed) : NULL;
        free(addr);
        if (!rc || existed)
            continue;
        rc->action = bg_xstrdup("delivered");
        rc->diagnostic = text_dup(smtp);
        rc->status = bg_xstrdup(
            smtp && bg_reply_status_from_text(smtp, code, sizeof code) && code[0] == '2'
                ? code
                : "2.0.0");
        rc->reason = "delivered";
        rc->hard = false;
        if (rip && *rip)
            rc->remote_mta = bg_xstrndup(rip, strnlen(rip, 64));
    }
    free(mta);
}

bool
dsn_ses_read(const char *text, size_t len, bg_dsn_report *r)
{
    if (!text || len == 0)
        return false;
    json_t *root = find_notification(text, len);
    if (!root)
        return false;
    const char *type = str_of(root, "notificationType");
    if (!type)
        type = str_of(root, "eventType");
    size_t before = r->nrcpts;
    if (strcasecmp(type, "Bounce") == 0)
        read_bounce(json_object_get(root, "bounce"), r);
    else if (strcasecmp(type, "Complaint") == 0)
        read_complaint(json_object_get(root, "complaint"), r);
    else if (strcasecmp(type, "Delivery") == 0)
        read_delivery(json_object_get(root, "delivery"), r);
    bool got = r->nrcpts > before;
    if (got)
        read_mail(json_object_get(root, "mail"), r);
    json_decref(root);
    return got;
}
