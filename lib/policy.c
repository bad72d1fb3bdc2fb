/*
 * policy.c — see include/bounceguard/policy.h.  Pure: no clock, no I/O.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/addr.h"
#include "bounceguard/netaddr.h"
#include "bounceguard/policy.h"

static const char TEXT_BAD_ADDRESS[] = "Email address format is not valid.";
static const char TEXT_BLACKLISTED[] =
    "Email send failed. Recipient is blacklisted due to bounce messages.";
static const char TEXT_BLOCKED_MANUALLY[] =
    "Email send failed. Recipient is blocked by the mail administrator.";
static const char TEXT_SENDER_BLOCKED[] =
    "Your appliance is not allowed to send emails due to too many bounced emails.";
static const char TEXT_QUOTA[] = "Your appliance exhausted email quota.";
static const char TEXT_RETURN_PATH[] = "No such bounce address.";
static const char TEXT_TOO_MANY[] = "Too many recipients, send the rest in another message.";
static const char TEXT_STORE[] = "Temporary failure of the bounce blacklist, try again later.";

/* The administrator's text for a case, or the built-in one. */
static const char *
text_or(const char *configured, const char *builtin)
{
    return configured && *configured ? configured : builtin;
}

bg_reply
bg_policy_reply(bg_verdict_kind kind, const bg_config *cfg)
{
    bool perm;

    switch (kind) {
    case BG_VERDICT_BAD_ADDRESS:
        perm = cfg->invalid_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.1.3" : "4.1.3",
                          text_or(cfg->invalid_text, TEXT_BAD_ADDRESS)};
    case BG_VERDICT_BAD_DOMAIN:
        perm = cfg->invalid_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.1.2" : "4.1.2",
                          text_or(cfg->invalid_text, TEXT_BAD_ADDRESS)};
    case BG_VERDICT_BLACKLISTED:
        perm = cfg->blacklist_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.7.1" : "4.7.1",
                          text_or(cfg->blacklist_text, TEXT_BLACKLISTED)};
    case BG_VERDICT_BLOCKED_MANUALLY:
        perm = cfg->blacklist_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.7.1" : "4.7.1",
                          text_or(cfg->manual_block_text, TEXT_BLOCKED_MANUALLY)};
    case BG_VERDICT_SENDER_BLOCKED:
        perm = cfg->sender_blocked_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.7.1" : "4.7.1",
                          text_or(cfg->sender_blocked_text, TEXT_SENDER_BLOCKED)};
    case BG_VERDICT_QUOTA:
        perm = cfg->quota_permanent;
        return (bg_reply){perm ? "550" : "450", perm ? "5.7.1" : "4.7.1",
                          text_or(cfg->quota_text, TEXT_QUOTA)};
    case BG_VERDICT_STORE_ERROR:
        if (cfg->on_store_error == BG_ON_ERROR_REJECT)
            return (bg_reply){"550", "5.3.0", TEXT_STORE};
        return (bg_reply){"451", "4.3.0", TEXT_STORE};
    case BG_VERDICT_BAD_RETURN_PATH:
        return (bg_reply){"550", "5.1.1", TEXT_RETURN_PATH};
    case BG_VERDICT_TOO_MANY_RCPTS:
        return (bg_reply){"452", "4.5.3", TEXT_TOO_MANY};
    case BG_VERDICT_ACCEPT:
        break;
    }
    return (bg_reply){"250", "2.0.0", "OK"};
}

const char *
bg_policy_verdict_name(bg_verdict_kind kind)
{
    static const char *const names[] = {"accept",          "bad-address", "bad-domain",
                                        "blacklisted",     "sender-blocked", "quota",
                                        "store-error",     "bad-return-path",
                                        "too-many-recipients", "blocked-manually"};

    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

bg_trust_answer
bg_policy_bounce_trusted(bg_dsn_trust mode, const bg_bounce_origin *o)
{
    bool by_host;

    if (mode == BG_TRUST_ANY || o->token_names_rcpt)
        return BG_TRUST_YES;
    if (o->message_found && o->rcpt_of_message && o->message_rcpts == 1)
        return BG_TRUST_YES;
    by_host = (o->message_found && o->rcpt_of_message) || mode == BG_TRUST_SPF;
    if (!by_host || !o->host_known)
        return BG_TRUST_NO;
    switch (o->host) {
    case BG_HOST_DESIGNATED:
        return BG_TRUST_YES;
    case BG_HOST_NOT_DESIGNATED:
        return BG_TRUST_NO;
    case BG_HOST_UNCHECKED:
        break;
    }
    return BG_TRUST_ASK_HOST;
}

bool
bg_policy_bounce_temporary(const char *action, const char *status)
{
    if (status && status[0] == '4')
        return true;
    return action && *action && strcasecmp(action, "failed") != 0;
}

bg_bounce_decision
bg_policy_bounce_decision(const bg_config *cfg, const bg_bounce_judged *b, const char **why)
{
    const char *unused;
    const char *a = b->action;

    if (why == NULL)
        why = &unused;
    if (a && (strcasecmp(a, "delivered") == 0 || strcasecmp(a, "relayed") == 0 ||
              strcasecmp(a, "expanded") == 0)) {
        *why = "a delivery report, not a failure";
        return BG_BOUNCE_NOTHING;
    }
    if (b->scope == BG_SCOPE_RELAY) {
        *why = "the relay was refused: an incident, not the recipient's fault";
        return BG_BOUNCE_INCIDENT;
    }
    if (bg_policy_bounce_temporary(a, b->status)) {
        *why = "temporary: the recipient may take mail again";
        return BG_BOUNCE_NOTHING;
    }
    if (b->stage == BG_STAGE_MAIL || b->stage == BG_STAGE_CONNECT) {
        *why = "refused before any recipient was named (connect, EHLO or MAIL FROM)";
        return BG_BOUNCE_NOTHING;
    }
    if (b->scope != BG_SCOPE_RECIPIENT) {
        *why = "not about the recipient";
        return BG_BOUNCE_NOTHING;
    }
    if (!bg_strlist_has(&cfg->blacklist_reasons, b->reason)) {
        *why = "its reason is not in blacklist_reasons";
        return BG_BOUNCE_NOTHING;
    }
    *why = "a permanent failure of the recipient, reason in blacklist_reasons";
    return BG_BOUNCE_BLACKLIST;
}

const char *
bg_policy_import_reason(const char *word, const char *status)
{
    static const char *const words[] = {"userunknown",  "hostunknown", "mailboxfull",
                                        "suspend",      "blocked",     "policyviolation",
                                        "spamdetected", "rejected",    "hasmoved",
                                        "filtered",     NULL};
    bg_reply_class cl;

    if (word) {
        for (size_t i = 0; words[i]; i++)
            if (strcasecmp(word, words[i]) == 0)
                return words[i];
        if (strcasecmp(word, "COMPLAINT") == 0)
            return "feedback";
    }
    if (status == NULL || *status == '\0')
        return "suppressed";
    /* The code read as any bounce's is: one table for every intake. */
    bg_reply_classify(status, NULL, &cl);
    if (strcmp(cl.reason, "undefined") == 0 || strcmp(cl.reason, "onhold") == 0)
        return "suppressed";
    return cl.reason;
}

bg_record_change
bg_policy_import_foreign(const bg_rcpt_rec *cur, bg_rcpt_rec *next,
                         const bg_bounce_event *ev, bool have_time, int64_t now,
                         int64_t *purge_at)
{
    if (!have_time) {
        int rc = bg_policy_block(cur, next, now, ev->period, ev->diagnostic, ev->history,
                                 purge_at);
        bg_strlcpy(next->source, "import", sizeof(next->source)); /* not typed by hand */
        return rc;
    }
    if (cur && cur->last_bounce == ev->when) /* this bounce is known already */
        return 0;
    return bg_policy_bounce(cur, next, ev, purge_at);
}

bg_record_change
bg_policy_import_restore(const bg_rcpt_rec *cur, bg_rcpt_rec *next,
                         const bg_rcpt_rec *saved, int64_t history, int64_t *purge_at)
{
    int64_t last = saved->expires;

    if (cur && saved->updated != 0 && cur->updated >= saved->updated)
        return 0;
    *next = *saved;
    if (next->last_bounce > last)
        last = next->last_bounce;
    if (next->grace_until > last)
        last = next->grace_until;
    *purge_at = last + history;
    return 1;
}

const char *
bg_policy_rcpt_state_name(const bg_rcpt_rec *r, int64_t now)
{
    if (bg_policy_rcpt_blacklisted(r, now))
        return "blacklisted";
    return r->state == BG_RCPT_UNBLOCKED ? "unblocked" : "expired";
}

bool
bg_policy_private_blacklist_reason(const char *reason)
{
    static const char *const reasons[] = {
        "blocked",    "policyviolation", "badreputation", "spamdetected",
        "requireptr", "notcompliantrfc", "authfailure",   NULL};

    for (size_t i = 0; reason && reasons[i]; i++)
        if (strcasecmp(reason, reasons[i]) == 0)
            return true;
    return false;
}

const char *
bg_policy_rcpt_rule(const bg_rcpt_rec *r, char *buf, size_t size)
{
    bg_reply_class cl;

    if (strcmp(r->source, "manual") == 0)
        return "blocked by hand (bounceguard block)";
    if (strcmp(r->source, "import") == 0)
        return "imported from a suppression list";
    if (r->status[0] == '\0' && r->diagnostic[0] == '\0')
        return "";
    /* the stored reply read again by the rules of this version */
    bg_reply_classify(r->status, r->diagnostic, &cl);
    snprintf(buf, size, "%s", cl.rule);
    return buf;
}

bool
bg_policy_rcpt_manual(const bg_rcpt_rec *r)
{
    return r != NULL && strcmp(r->source, "manual") == 0;
}

bool
bg_policy_rcpt_blacklisted(const bg_rcpt_rec *r, int64_t now)
{
    return r != NULL && r->state == BG_RCPT_BLACKLISTED && now < r->expires;
}

static void
copy(char *dst, size_t size, const char *src)
{
    if (src == NULL)
        return;
    if (bg_strlcpy(dst, src, size) >= size && size > 4)
        memcpy(dst + size - 4, "...", 4);
}

bg_record_change
bg_policy_bounce(const bg_rcpt_rec *cur, bg_rcpt_rec *next, const bg_bounce_event *ev,
                 int64_t *purge_at)
{
    bool in_grace = cur && cur->state == BG_RCPT_UNBLOCKED && ev->when < cur->grace_until;

    if (cur == NULL) {
        memset(next, 0, sizeof(*next));
        next->first_bounce = ev->when;
    } else {
        *next = *cur;
        if (ev->when < next->first_bounce || next->first_bounce == 0)
            next->first_bounce = ev->when;
    }
    next->bounce_count++;
    next->updated = ev->when;
    /* An older bounce arriving late must not move the period backwards. */
    if (ev->when >= next->last_bounce) {
        next->last_bounce = ev->when;
        copy(next->source, sizeof(next->source), ev->source);
        copy(next->reason, sizeof(next->reason), ev->reason);
        copy(next->status, sizeof(next->status), ev->status);
        copy(next->remote_mta, sizeof(next->remote_mta), ev->remote_mta);
        copy(next->diagnostic, sizeof(next->diagnostic), ev->diagnostic);
        copy(next->last_sender, sizeof(next->last_sender), ev->sender_id);
    }
    if (!in_grace) {
        int64_t until = next->last_bounce + ev->period;
        if (next->state != BG_RCPT_BLACKLISTED || until > next->expires)
            next->expires = until;
        next->state = BG_RCPT_BLACKLISTED;
    }
    *purge_at = (next->expires > next->last_bounce ? next->expires : next->last_bounce) +
                ev->history;
    return 1;
}

bg_record_change
bg_policy_block(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t now, int64_t duration,
                const char *reason, int64_t history, int64_t *purge_at)
{
    if (cur == NULL) {
        memset(next, 0, sizeof(*next));
    } else {
        *next = *cur;
    }
    next->state = BG_RCPT_BLACKLISTED;
    next->expires = now + duration;
    next->grace_until = 0;
    next->updated = now;
    copy(next->source, sizeof(next->source), "manual");
    copy(next->reason, sizeof(next->reason), "manual");
    copy(next->diagnostic, sizeof(next->diagnostic), reason ? reason : "");
    *purge_at = next->expires + history;
    return 1;
}

bg_record_change
bg_policy_unblock(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t now, int64_t grace,
                  int64_t history, int64_t *purge_at)
{
    if (cur == NULL || !bg_policy_rcpt_blacklisted(cur, now)) {
        if (cur == NULL || grace <= 0)
            return 0;
    }
    *next = *cur;
    next->state = BG_RCPT_UNBLOCKED;
    if (next->expires > now)
        next->expires = now;
    next->grace_until = grace > 0 ? now + grace : 0;
    next->updated = now;
    *purge_at = (next->grace_until > now ? next->grace_until : now) + history;
    return 1;
}

bool
bg_policy_sender_blocked(long tried_blacklisted, long limit)
{
    return limit > 0 && tried_blacklisted >= limit;
}

bg_sender_limits
bg_policy_sender_limits(const bg_config *cfg, const char *identity, const char *client_ip)
{
    if (client_ip == NULL)
        client_ip = strncmp(identity, "ip:", 3) == 0 ? identity + 3 : "";
    return bg_policy_sender_limits_exempt(cfg, identity,
                                          bg_policy_quota_exempt(cfg, identity, client_ip));
}

bg_sender_limits
bg_policy_sender_limits_exempt(const bg_config *cfg, const char *identity, bool quota_exempt)
{
    bg_sender_limits lim;

    lim.quota_limit = bg_config_quota_for(cfg, identity);
    if (lim.quota_limit < 0)
        lim.quota_limit = 0;
    lim.quota_exempt = quota_exempt;
    lim.bounce_limit = bg_config_bounce_limit_for(cfg, identity);
    if (lim.bounce_limit < 0)
        lim.bounce_limit = 0;
    return lim;
}

bool
bg_policy_sender_over_quota(const bg_sender_limits *lim, const bg_sender_rec *rec,
                            int64_t now, int64_t window, unsigned held)
{
    return !lim->quota_exempt && bg_policy_quota_full(rec, now, lim->quota_limit, window, held);
}

void
bg_policy_sender_status(const bg_sender_limits *lim, const bg_sender_rec *rec,
                        long tried_blacklisted, int64_t now, int64_t window,
                        bg_sender_status *out)
{
    memset(out, 0, sizeof(*out));
    out->found = rec != NULL;
    if (rec)
        out->rec = *rec;
    out->quota_limit = lim->quota_limit;
    out->quota_exempt = lim->quota_exempt;
    out->window_open = rec != NULL && !bg_policy_window_over(rec, now, window);
    out->used = out->window_open ? (long)rec->count : 0;
    out->left = out->quota_limit > out->used ? out->quota_limit - out->used : 0;
    out->window_reset = out->window_open ? rec->window_start + window : 0;
    out->over_quota = bg_policy_sender_over_quota(lim, rec, now, window, 0);
    out->bounce_limit = lim->bounce_limit;
    out->tried_blacklisted = tried_blacklisted;
    out->blocked = bg_policy_sender_blocked(tried_blacklisted, lim->bounce_limit);
}

bool
bg_policy_window_over(const bg_sender_rec *r, int64_t now, int64_t window)
{
    return r == NULL || r->window_start == 0 || now >= r->window_start + window ||
           now < r->window_start; /* clock stepped back: start afresh */
}

bool
bg_policy_quota_exhausted(const bg_sender_rec *r, int64_t now, long limit, int64_t window)
{
    return r != NULL && bg_policy_quota_full(r, now, limit, window, 0);
}

bool
bg_policy_quota_full(const bg_sender_rec *r, int64_t now, long limit, int64_t window,
                     unsigned held)
{
    uint64_t counted = bg_policy_window_over(r, now, window) ? 0 : r->count;

    return limit > 0 && counted + held >= (uint64_t)limit;
}

bg_record_change
bg_policy_quota_reserve(const bg_sender_rec *cur, bg_sender_rec *next, int64_t now,
                        long limit, int64_t window, unsigned n, bool *granted,
                        int64_t *window_start, int64_t *purge_at)
{
    if (cur)
        *next = *cur;
    else
        memset(next, 0, sizeof(*next));
    if (bg_policy_window_over(cur, now, window)) {
        next->window_start = now;
        next->count = 0;
        next->refused = 0;
    }
    next->last_seen = now;
    *window_start = next->window_start;
    *purge_at = next->window_start + window + 86400;
    if (limit > 0 && (uint64_t)next->count + n > (uint64_t)limit) {
        next->refused++;
        *granted = false;
        return 1;
    }
    next->count += n;
    next->total += n;
    *granted = true;
    return 1;
}

bg_record_change
bg_policy_quota_refused(const bg_sender_rec *cur, bg_sender_rec *next, int64_t now,
                        long limit, int64_t window, unsigned held, int64_t *purge_at)
{
    if (!bg_policy_quota_full(cur, now, limit, window, held))
        return 0;
    if (cur)
        *next = *cur;
    else
        memset(next, 0, sizeof(*next));
    if (bg_policy_window_over(cur, now, window)) {
        next->window_start = now; /* all of the window is still in flight */
        next->count = 0;
        next->refused = 0;
    }
    next->refused++;
    next->last_seen = now;
    *purge_at = next->window_start + window + 86400;
    return 1;
}

void
bg_policy_sender_identity(bg_identity how, const char *sasl_login, const char *client_ip,
                          const char *env_from, char *out, size_t size)
{
    bool have_login = sasl_login && *sasl_login;

    switch (how) {
    case BG_IDENTITY_ENVELOPE:
        snprintf(out, size, "env:%s", env_from && *env_from ? env_from : "<>");
        return;
    case BG_IDENTITY_IP:
        snprintf(out, size, "ip:%s", client_ip && *client_ip ? client_ip : "unknown");
        return;
    case BG_IDENTITY_SASL:
    case BG_IDENTITY_AUTO:
        if (have_login) {
            snprintf(out, size, "sasl:%s", sasl_login);
            return;
        }
        snprintf(out, size, "ip:%s", client_ip && *client_ip ? client_ip : "unknown");
        return;
    }
}

int
bg_policy_identity_parse(const char *in, char *out, size_t size, bg_error *err)
{
    if (strncmp(in, "ip:", 3) == 0) {
        unsigned char bin[16];
        char text[INET6_ADDRSTRLEN];
        const char *ip = in + 3;
        if (inet_pton(AF_INET, ip, bin) == 1)
            inet_ntop(AF_INET, bin, text, sizeof(text));
        else if (inet_pton(AF_INET6, ip, bin) == 1)
            inet_ntop(AF_INET6, bin, text, sizeof(text));
        else
            return bg_error_set(err, "\"%.60s\" is not an IPv4 or IPv6 address", ip);
        snprintf(out, size, "ip:%s", text);
        return 0;
    }
    if (strncmp(in, "sasl:", 5) == 0) {
        if (in[5] == '\0' || strlen(in) >= size)
            return bg_error_set(err, "sasl: needs a login name (at most %zu bytes)",
                                size - 6);
        for (const char *p = in; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return bg_error_set(err, "control character in sender identity");
        bg_strlcpy(out, in, size);
        return 0;
    }
    if (strncmp(in, "env:", 4) == 0) {
        bg_addr a;
        bg_error aerr;
        bg_addr_status st = bg_addr_parse(in + 4, &a, &aerr);
        if (st == BG_ADDR_NULL || strcmp(in + 4, "<>") == 0) {
            bg_strlcpy(out, "env:<>", size);
            return 0;
        }
        if (st != BG_ADDR_OK)
            return bg_error_set(err, "env: %s", aerr.msg);
        snprintf(out, size, "env:%s", a.canon);
        return 0;
    }
    return bg_error_set(
        err, "sender \"%.60s\" is not ip:ADDRESS, sasl:LOGIN or env:ADDRESS", in);
}

bool
bg_policy_rcpt_exempt(const bg_config *cfg, const char *local_part)
{
    return bg_strlist_has(&cfg->exempt_recipients, local_part);
}

bool
bg_policy_never_blacklist(const bg_config *cfg, const char *canon, const char *domain)
{
    for (size_t i = 0; i < cfg->never_blacklist.count; i++) {
        const char *item = cfg->never_blacklist.items[i];
        if (item[0] == '@' ? strcasecmp(item + 1, domain) == 0 : strcasecmp(item, canon) == 0)
            return true;
    }
    return false;
}

bool
bg_policy_ip_in(const bg_strlist *networks, const char *ip)
{
    if (ip == NULL || *ip == '\0')
        return false;
    for (size_t i = 0; i < networks->count; i++)
        if (bg_network_contains(networks->items[i], ip))
            return true;
    return false;
}

bool
bg_policy_quota_exempt(const bg_config *cfg, const char *identity, const char *client_ip)
{
    return bg_strlist_has(&cfg->trusted_senders, identity) ||
           bg_policy_ip_in(&cfg->trusted_networks, client_ip);
}
