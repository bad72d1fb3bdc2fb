/*
 * learn.c — see include/bounceguard/learn.h.
 */
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bounceguard/addr.h"
#include "bounceguard/learn.h"
#include "bounceguard/metrics.h"
#include "bounceguard/log.h"
#include "bounceguard/policy.h"
#include "bounceguard/spf.h"
#include "bounceguard/verp.h"
#include "bounceguard/reply.h"

#define DAY (24 * 3600)

const char *
bg_learn_outcome_name(bg_learn_outcome o)
{
    static const char *const names[] = {
        "blacklisted", "ignored-reason",  "untrusted",  "incident",
        "duplicate",   "never-blacklist", "bad-address"};

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

void
bg_learn_result_clear(bg_learn_result *res)
{
    free(res->rcpts);
    memset(res, 0, sizeof(*res));
}

static void
sha256_hex(const void *data, size_t len, char out[2 * SHA256_DIGEST_SIZE + 1])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];

    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof(digest), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

char *
bg_learn_dsn_id(const bg_dsn_report *report, const char *raw, size_t rawlen, char *dst,
                size_t size)
{
    char hex[2 * SHA256_DIGEST_SIZE + 1];
    const char *mid = report ? report->message_id : NULL;

    if (mid && *mid) {
        /* A Message-ID alone does not name one bounce everywhere: dma names
         * its bounce after its spool file's inode, so a later bounce about
         * another message reuses it.  What the bounce returns (the
         * original's Message-ID, else its first recipient) goes with it. */
        const char *what = report->orig_message_id && *report->orig_message_id
                               ? report->orig_message_id
                           : report->nrcpts > 0 && report->rcpts[0].recipient
                               ? report->rcpts[0].recipient
                               : "";
        char *key = bg_xasprintf("%s%s%s", mid, *what ? " " : "", what);
        if (strlen("dsn:mid:") + strlen(key) < size) {
            snprintf(dst, size, "dsn:mid:%s", key);
            /* a seen-id is a store key: no control bytes in it */
            for (char *p = dst; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
        } else {
            sha256_hex(key, strlen(key), hex);
            snprintf(dst, size, "dsn:midhash:%s", hex);
        }
        free(key);
        return dst;
    }
    sha256_hex(raw ? raw : "", raw ? rawlen : 0, hex);
    snprintf(dst, size, "dsn:sha256:%s", hex);
    return dst;
}

/* Is canon one of the recipients (one per line) of a recorded message? */
static bool
rcpt_listed(const char *rcpts, const char *canon)
{
    size_t n = strlen(canon);

    for (const char *p = rcpts ? rcpts : ""; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len == n && strncasecmp(p, canon, n) == 0)
            return true;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return false;
}

static int64_t
seen_purge_at(const bg_config *cfg, int64_t now)
{
    int64_t keep = cfg->history_period > cfg->message_retention ? cfg->history_period
                                                                : cfg->message_retention;
    return now + (keep > 7 * DAY ? keep : 7 * DAY);
}

/* One bounced recipient, whatever it came from. */
typedef struct bounce_in {
    const char *rcpt;   /* as reported */
    const char *action; /* RFC 3464 action, may be NULL */
    const char *status;
    const char *reason;
    bg_bounce_scope scope;
    bg_smtp_stage stage;
    const char *list; /* DNSBL or provider refusing the relay, "" or NULL when none */
    const char *remote_mta;
    const char *diagnostic;
    const char *source; /* "dsn", "log" */
    const char *origin; /* for logs */
    int64_t when;
} bounce_in;

static bg_record_change
bounce_update(const bg_rcpt_rec *cur, bg_rcpt_rec *next, int64_t *purge_at, void *arg)
{
    return bg_policy_bounce(cur, next, arg, purge_at);
}

/*
 * Decide what one recipient's bounce does (out->outcome), without touching
 * the store: the writes happen later, all in one transaction with the seen
 * mark (write_rcpt), and the log lines after that commit (log_rcpt).
 */
static void
decide_rcpt(const bg_config *cfg, const bounce_in *b, const bg_addr *addr, bool trusted,
            bg_learn_rcpt_result *out)
{
    bg_bounce_judged j = {b->action, b->status, b->reason, b->scope, b->stage};

    if (!trusted) {
        out->outcome = BG_LEARN_UNTRUSTED;
        out->why = "not shown to come from the recipient's side";
        return;
    }
    switch (bg_policy_bounce_decision(cfg, &j, &out->why)) {
    case BG_BOUNCE_INCIDENT:
        if (b->list && *b->list)
            bg_strlcpy(out->list, b->list, sizeof(out->list));
        else
            snprintf(out->list, sizeof(out->list), "refused by %s",
                     b->remote_mta && *b->remote_mta ? b->remote_mta : "an unnamed host");
        out->outcome = BG_LEARN_INCIDENT;
        break;
    case BG_BOUNCE_NOTHING:
        out->outcome = BG_LEARN_IGNORED_REASON;
        break;
    case BG_BOUNCE_BLACKLIST:
        if (bg_policy_never_blacklist(cfg, addr->canon, addr->domain)) {
            out->outcome = BG_LEARN_NEVER;
            out->why = "never_blacklist";
        } else {
            out->outcome = BG_LEARN_BLACKLISTED;
        }
        break;
    }
}

/* The store writes of one decided recipient, inside the caller's transaction. */
static int
write_rcpt(bg_store_txn *t, const bg_config *cfg, const bounce_in *b, const bg_addr *addr,
           int64_t now, const bg_learn_rcpt_result *out)
{
    const char *mta = b->remote_mta && *b->remote_mta ? b->remote_mta : "unknown";

    /* Dated by the bounce (a log line's own time), as a blacklisting is: a
     * watcher catching up on an old log does not put old refusals today. */
    int64_t when = b->when > 0 && b->when <= now ? b->when : now;

    if (out->outcome == BG_LEARN_INCIDENT)
        return bg_store_txn_incident_add(t, out->list, mta, addr->canon,
                                         b->diagnostic ? b->diagnostic : "", when,
                                         when + cfg->history_period);
    if (out->outcome != BG_LEARN_BLACKLISTED)
        return 0;
    bg_bounce_event ev = {
        .when = b->when,
        .source = b->source,
        .reason = out->reason,
        .status = b->status ? b->status : "",
        .remote_mta = b->remote_mta ? b->remote_mta : "",
        .diagnostic = b->diagnostic ? b->diagnostic : "",
        .sender_id = out->sender_id,
        .period = cfg->blacklist_period,
        .history = cfg->history_period,
    };
    return bg_store_txn_rcpt_update(t, addr->canon, bounce_update, &ev) == BG_STORE_FAILED ? -1 : 0;
}

/* What was done, once it is committed. */
static void
log_rcpt(const bounce_in *b, const bg_addr *addr, const char *queue_id,
         const bg_learn_rcpt_result *out)
{
    const char *sender = out->sender_id[0] ? out->sender_id : "unknown";
    const char *mta = b->remote_mta && *b->remote_mta ? b->remote_mta : "unknown";
    const char *status = b->status ? b->status : "";
    char qid[80] = "";

    /* the original's queue ID, to match the line with the MTA's own */
    if (queue_id && *queue_id)
        snprintf(qid, sizeof(qid), ", queue ID %s", queue_id);

    switch (out->outcome) {
    case BG_LEARN_UNTRUSTED:
        bg_msg_warn(
            "Ignored forged or unrelated bounce for Recipient %s: %s %s (from %s, "
            "%s%s): not shown to come from the recipient's side",
            addr->canon, status, out->reason, mta, b->origin, qid);
        break;
    case BG_LEARN_INCIDENT:
        bg_msg_warn(
            "RBL incident: the relay is refused by %s, reported by %s for Recipient "
            "%s (sender %s%s): %s",
            out->list, mta, addr->canon, sender, qid, b->diagnostic ? b->diagnostic : "");
        break;
    case BG_LEARN_IGNORED_REASON:
        bg_msg_debug("bounce for %s not blacklisting: %s %s, %s: %s", addr->canon, status,
                     out->reason, bg_scope_name(b->scope), out->why ? out->why : "");
        break;
    case BG_LEARN_NEVER:
        bg_msg_info("bounce for %s not blacklisting: never_blacklist (%s %s)",
                    addr->canon, status, out->reason);
        break;
    case BG_LEARN_BLACKLISTED:
        bg_msg_warn("Blacklisted Recipient %s: %s %s (from %s, sender %s%s)", addr->canon,
                    *status ? status : "-", out->reason, mta, sender, qid);
        break;
    default:
        break;
    }
}

/* One recipient on its way through decide -> write -> log. */
typedef struct pending {
    bounce_in b;
    bg_addr addr;
    bool valid; /* the address parsed: there is something to write */
    /* "once:QID:RCPT:what": the same failure of the same message reaches us
     * through more than one intake (the log follower and the DSN), and
     * counts once; "" when the original message is not known */
    char once[400];
    /* the MTA's queue ID of the original message, for the log line that
     * an administrator matches with the MTA's own; "" when unknown */
    char queue_id[64];
} pending;

/* Name the failure of item p for its message's queue ID (may be ""), and keep
 * the queue ID for the log line. */
static void
once_key(pending *p, const char *queue_id, const bg_learn_rcpt_result *out)
{
    p->once[0] = '\0';
    bg_strlcpy(p->queue_id, queue_id ? queue_id : "", sizeof(p->queue_id));
    if (queue_id == NULL || *queue_id == '\0' ||
        (out->outcome != BG_LEARN_BLACKLISTED && out->outcome != BG_LEARN_INCIDENT))
        return;
    snprintf(p->once, sizeof(p->once), "once:%s:%s:%s", queue_id, p->addr.canon,
             out->outcome == BG_LEARN_INCIDENT ? "incident" : "blacklist");
}

/* The transaction of one piece of evidence: the seen mark and every write. */
typedef struct commit_arg {
    const bg_config *cfg;
    const char *id;
    int64_t now;
    pending *items;
    bg_learn_rcpt_result *out;
    size_t n;
    bool duplicate;
} commit_arg;

/*
 * The counters of the metrics (metrics.h) for what this evidence taught:
 * each judged recipient by scope and reason, each untrusted one (a delay
 * excepted: the log's deferrals of mail that bypassed the milter are no
 * forgery); a duplicate counts nothing.  Inside the transaction of the writes they
 * count, so that a count commits or aborts with its bounce.
 */
static int
count_learned(bg_store_txn *t, const commit_arg *a)
{
    char name[80];

    for (size_t i = 0; i < a->n; i++) {
        /* an untrusted log line is not valid (nothing to write) but counts,
         * unless it is only a delay */
        bool untrusted = a->out[i].outcome == BG_LEARN_UNTRUSTED;
        if (!a->items[i].valid && !untrusted)
            continue;
        if (untrusted && a->items[i].b.action && strcmp(a->items[i].b.action, "delayed") == 0)
            continue;
        switch (a->out[i].outcome) {
        case BG_LEARN_BLACKLISTED:
        case BG_LEARN_INCIDENT:
        case BG_LEARN_IGNORED_REASON:
        case BG_LEARN_NEVER:
            bg_metrics_bounce_counter(name, sizeof(name), a->items[i].b.scope,
                                      a->out[i].reason);
            break;
        case BG_LEARN_UNTRUSTED:
            bg_strlcpy(name, BG_METRICS_COUNTER_UNTRUSTED, sizeof(name));
            break;
        default:
            continue;
        }
        if (bg_store_txn_counter_add(t, name, 1) < 0)
            return -1;
    }
    return 0;
}

static int
commit_body(bg_store_txn *t, void *arg)
{
    commit_arg *a = arg;
    int mark = bg_store_txn_seen_mark(t, a->id, a->now, seen_purge_at(a->cfg, a->now));

    a->duplicate = mark == 0;
    if (mark <= 0)
        return mark;
    for (size_t i = 0; i < a->n; i++) {
        pending *p = &a->items[i];
        if (!p->valid)
            continue;
        if (p->once[0]) {
            int first =
                bg_store_txn_seen_mark(t, p->once, a->now, seen_purge_at(a->cfg, a->now));
            if (first < 0)
                return -1;
            if (first == 0) { /* learned through another intake already */
                a->out[i].outcome = BG_LEARN_DUPLICATE;
                continue;
            }
        }
        if (write_rcpt(t, a->cfg, &p->b, &p->addr, a->now, &a->out[i]) < 0)
            return -1;
    }
    return count_learned(t, a);
}

/* The no-write path's counting: its own transaction, not synced. */
static int
count_body(bg_store_txn *t, void *arg)
{
    return count_learned(t, arg);
}

/* Commit, then log; returns 0, or -1 with err set (nothing was written). */
static int
commit_and_log(bg_store *st, commit_arg *a, bg_learn_result *res, bg_error *err)
{
    bool writes = false;
    int rc;

    /* Evidence that changes nothing (untrusted, temporary, not a blacklisting
     * reason) records nothing and waits for no disk: a flood of forged DSNs
     * must not grow the store.  It only bumps the metrics' counters, a
     * bounded set of records, in a transaction that is not synced; a
     * failure there loses a count, never the evidence.  Its duplicate is
     * judged the same. */
    for (size_t i = 0; i < a->n && !writes; i++)
        writes = a->items[i].valid && (a->out[i].outcome == BG_LEARN_BLACKLISTED ||
                                       a->out[i].outcome == BG_LEARN_INCIDENT);
    if (!writes) {
        bg_error cerr = {""};
        if (bg_store_atomic(st, false, count_body, a, &cerr) != 0)
            bg_msg_error("bounce %s: metrics not counted: %s", a->id, cerr.msg);
        for (size_t i = 0; i < a->n; i++)
            if (a->items[i].valid)
                log_rcpt(&a->items[i].b, &a->items[i].addr, a->items[i].queue_id, &a->out[i]);
        return 0;
    }
    rc = bg_store_atomic(st, true, commit_body, a, err);

    if (rc != 0) {
        if (rc > 0)
            bg_error_set(err, "store: the bounce %s could not be recorded", a->id);
        return -1;
    }
    if (a->duplicate) {
        res->duplicate = true;
        for (size_t i = 0; i < a->n; i++)
            a->out[i].outcome = BG_LEARN_DUPLICATE;
        bg_msg_info("duplicate bounce %s: already processed", a->id);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].valid)
            log_rcpt(&a->items[i].b, &a->items[i].addr, a->items[i].queue_id, &a->out[i]);
    return 0;
}

/* Fill the common part of a recipient's result; false if it is no address. */
static bool
result_begin(bg_learn_rcpt_result *out, const bounce_in *b, bg_addr *addr)
{
    bg_error aerr;

    memset(out, 0, sizeof(*out));
    bg_strlcpy(out->reason, b->reason ? b->reason : "undefined", sizeof(out->reason));
    bg_strlcpy(out->status, b->status ? b->status : "", sizeof(out->status));
    if (b->rcpt == NULL || bg_addr_parse(b->rcpt, addr, &aerr) != BG_ADDR_OK) {
        bg_sanitize_line(out->recipient, sizeof(out->recipient), b->rcpt ? b->rcpt : "",
                         sizeof(out->recipient) - 1);
        out->outcome = BG_LEARN_BAD_ADDRESS;
        return false;
    }
    bg_strlcpy(out->recipient, addr->canon, sizeof(out->recipient));
    return true;
}

static void
count(bg_learn_result *res)
{
    for (size_t i = 0; i < res->nrcpts; i++) {
        switch (res->rcpts[i].outcome) {
        case BG_LEARN_BLACKLISTED:
            res->blacklisted++;
            break;
        case BG_LEARN_INCIDENT:
            res->incidents++;
            break;
        case BG_LEARN_UNTRUSTED:
            res->untrusted++;
            break;
        default:
            res->ignored++;
            break;
        }
    }
}

/* Find the original message of a DSN: found / not found / error. */
static bg_lookup
find_message(bg_store *st, const bg_dsn_report *rep, const bg_learn_source *src,
             bg_message_rec *m, bg_error *err)
{
    bg_lookup l = BG_NOTFOUND;

    if (src && src->verp_verified && src->verp_message && *src->verp_message)
        return bg_store_message_get(st, src->verp_message, true, m, err);
    if (rep->orig_message_id && *rep->orig_message_id) {
        /* the milter files the header as written, normally with brackets */
        char *bracketed = bg_xasprintf("<%s>", rep->orig_message_id);
        l = bg_store_message_get(st, bracketed, false, m, err);
        free(bracketed);
        if (l == BG_NOTFOUND)
            l = bg_store_message_get(st, rep->orig_message_id, false, m, err);
        if (l != BG_NOTFOUND)
            return l;
    }
    if (rep->queue_id && *rep->queue_id)
        l = bg_store_message_get(st, rep->queue_id, true, m, err);
    /* The relay's own Received: line in the returned headers names the
     * queue ID the milter filed the message under: an asynchronous bounce
     * from a remote MTA carries no other trace of it (correlate = queue-id). */
    for (size_t i = 0; l == BG_NOTFOUND && i < rep->nreceived_ids; i++)
        l = bg_store_message_get(st, rep->received_ids[i], true, m, err);
    return l;
}

size_t
bg_learn_rcpt_count(const char *rcpts)
{
    size_t n = 0;

    for (const char *p = rcpts ? rcpts : ""; *p; p++)
        if (*p == '\n' || p[1] == '\0')
            n++;
    return n;
}

/* Host checks of one DSN, by recipient domain: a DSN about many recipients
 * of one domain asks DNS once, and a DSN cannot make us ask more than
 * HOST_CHECKS_MAX times (the rest stays unchecked, so untrusted). */
#define HOST_CHECKS_MAX 16

typedef struct host_checks {
    size_t n;
    struct {
        char domain[256];
        bg_host_check host;
    } done[HOST_CHECKS_MAX];
} host_checks;

/* Does the recipient's domain designate the host that delivered the DSN?
 * -1 (err set) when DNS failed for now: the DSN is retried later. */
static int
host_check(host_checks *hc, const bg_learn_source *src, const char *domain,
           bg_host_check *out, bg_error *err)
{
    bg_error derr = {""};
    int d;

    for (size_t i = 0; i < hc->n; i++)
        if (strcasecmp(hc->done[i].domain, domain) == 0) {
            *out = hc->done[i].host;
            return 0;
        }
    if (hc->n == HOST_CHECKS_MAX || src == NULL || src->client_ip == NULL) {
        *out = BG_HOST_UNCHECKED;
        return 0;
    }
    d = bg_spf_designated(src->client_ip, domain, &derr);
    if (d < 0)
        return bg_error_set(err, "cannot tell whether %s may report bounces for %s: %s",
                            src->client_ip, domain, derr.msg);
    *out = d ? BG_HOST_DESIGNATED : BG_HOST_NOT_DESIGNATED;
    bg_msg_info("bounce from %s about a recipient at %s: %s%s%s", src->client_ip, domain,
                d ? "a host of the recipient's domain"
                  : "not a host of the recipient's domain",
                d ? "" : ": ", d ? "" : derr.msg);
    bg_strlcpy(hc->done[hc->n].domain, domain, sizeof(hc->done[hc->n].domain));
    hc->done[hc->n++].host = *out;
    return 0;
}

/* With a recipient-naming VERP token, the token's recipient is the one that
 * bounced (the DSN may report a forwarded address): take the DSN recipient
 * that matches it, else the first one, and learn it under the token's name. */
static size_t
verp_pick(const bg_dsn_report *rep, const char *verp_rcpt)
{
    bg_addr a;
    bg_error aerr;

    for (size_t i = 0; i < rep->nrcpts; i++)
        if (rep->rcpts[i].recipient &&
            bg_addr_parse(rep->rcpts[i].recipient, &a, &aerr) == BG_ADDR_OK &&
            strcasecmp(a.canon, verp_rcpt) == 0)
            return i;
    return 0;
}

int
bg_learn_dsn(bg_store *st, const bg_config *cfg, const bg_dsn_report *rep,
             const char *raw, size_t rawlen, const bg_learn_source *src, int64_t now,
             bg_learn_result *res, bg_error *err)
{
    bg_message_rec m;
    bg_lookup found;
    bg_bounce_origin whence;
    bg_trust_answer answer;
    host_checks hosts = {0};
    int rc;
    bool verp = src && src->verp_verified;
    bool verp_rcpt = verp && src->verp_rcpt && *src->verp_rcpt;
    size_t first = 0, n;
    const char *origin = src && src->origin ? src->origin : "dsn";
    char from[200];
    pending *items;

    memset(res, 0, sizeof(*res));
    if (rep->nrcpts == 0)
        return 0;
    bg_learn_dsn_id(rep, raw, rawlen, res->id, sizeof(res->id));
    snprintf(from, sizeof(from), "%s%s%s", origin,
             src && src->client_ip && *src->client_ip ? ", client " : "",
             src && src->client_ip ? src->client_ip : "");

    n = rep->nrcpts;
    if (verp_rcpt) {
        first = verp_pick(rep, src->verp_rcpt);
        n = 1;
    }
    res->rcpts = bg_xcalloc(n, sizeof(*res->rcpts));
    res->nrcpts = n;
    items = bg_xcalloc(n, sizeof(*items));

    /* Everything that reads (the original message, SPF over the network) is
     * done before the transaction, which then only writes. */
    found = find_message(st, rep, src, &m, err);
    if (found == BG_LOOKUP_ERROR) {
        free(items);
        return -1;
    }
    res->message_found = found == BG_FOUND;

    for (size_t i = 0; i < n; i++) {
        const bg_dsn_rcpt *r = &rep->rcpts[first + i];
        bg_learn_rcpt_result *o = &res->rcpts[i];
        pending *p = &items[i];
        bool trusted;

        p->b = (bounce_in){
            .rcpt = verp_rcpt ? src->verp_rcpt : r->recipient,
            .action = r->action,
            .status = r->status,
            .reason = r->reason,
            /* a report made elsewhere than bg_dsn_parse() may not say */
            .scope = r->scope ? r->scope
                     : r->rbl ? BG_SCOPE_RELAY
                              : bg_reason_scope(r->reason),
            .stage = r->stage,
            .list = r->list ? r->list : r->rbl,
            .remote_mta = r->remote_mta ? r->remote_mta : rep->reporting_mta,
            .diagnostic = r->diagnostic,
            .source = "dsn",
            .origin = from,
            .when = now,
        };
        p->valid = result_begin(o, &p->b, &p->addr);
        if (!p->valid)
            continue;
        o->correlated = res->message_found && rcpt_listed(m.rcpts, p->addr.canon);
        if (o->correlated)
            bg_strlcpy(o->sender_id, m.sender_id, sizeof(o->sender_id));
        if (verp_rcpt) {
            /* the signed token names this very recipient */
            o->correlated = true;
            bg_strlcpy(o->sender_id, src->verp_sender_id ? src->verp_sender_id : "",
                       sizeof(o->sender_id));
        }
        whence = (bg_bounce_origin){
            .token_names_rcpt = verp_rcpt,
            .message_found = res->message_found,
            .rcpt_of_message = o->correlated,
            .message_rcpts = res->message_found ? bg_learn_rcpt_count(m.rcpts) : 0,
            .host_known = src && src->client_ip && *src->client_ip,
        };
        answer = bg_policy_bounce_trusted(cfg->dsn_trust, &whence);
        if (answer == BG_TRUST_ASK_HOST) {
            if (host_check(&hosts, src, p->addr.domain, &whence.host, err) < 0) {
                if (res->message_found)
                    bg_message_rec_clear(&m);
                free(items);
                return -1;
            }
            answer = bg_policy_bounce_trusted(cfg->dsn_trust, &whence);
        }
        trusted = answer == BG_TRUST_YES;
        decide_rcpt(cfg, &p->b, &p->addr, trusted, o);
        once_key(p,
                 verp                 ? src->verp_message
                 : res->message_found ? m.queue_id
                                      : rep->queue_id,
                 o);
    }
    if (res->message_found)
        bg_message_rec_clear(&m);

    commit_arg a = {cfg, res->id, now, items, res->rcpts, n, false};
    rc = commit_and_log(st, &a, res, err);
    free(items);
    if (rc == 0)
        count(res);
    return rc;
}

int
bg_learn_log_event(bg_store *st, const bg_config *cfg, const bg_mtalog_event *ev,
                   int64_t now, bg_learn_result *res, bg_error *err)
{
    bg_reply_class cls;
    bg_message_rec m;
    bg_lookup found = BG_NOTFOUND;
    bg_addr addr;
    char origin[200];
    const char *status = ev->dsn;
    char derived[16];
    bounce_in b;
    bool trusted;

    memset(res, 0, sizeof(*res));
    /* A deferral can only be an incident (a relay refused for now): the
     * decision (lib/policy.c) treats it as any temporary failure. */
    bool deferred = ev->kind == BG_MTALOG_DEFERRED;
    if ((ev->kind != BG_MTALOG_BOUNCED && !deferred) || ev->recipient[0] == '\0')
        return 0;
    if (status[0] == '\0' &&
        bg_reply_status_from_text(ev->reply, derived, sizeof(derived)))
        status = derived;
    /* The remote's own reply (Postfix "said:", Sendmail reply=) decides over
     * the dsn= that the MTA made up from a bare reply code, as for a DSN. */
    else if (ev->remote_reply && !ev->dsn_remote &&
             bg_reply_status_judged(status, ev->reply, derived, sizeof(derived)))
        status = derived;
    bg_reply_classify_step(status, ev->reply, ev->command, &cls);
    snprintf(origin, sizeof(origin), "log %s %s", ev->program, ev->queue_id);
    b = (bounce_in){
        .rcpt = ev->recipient,
        .action = deferred ? "delayed" : "failed",
        .status = status,
        .reason = cls.reason,
        .scope = cls.scope,
        .stage = cls.stage,
        .list = cls.list,
        .remote_mta = ev->relay[0] ? ev->relay : ev->relay_ip,
        .diagnostic = ev->reply,
        .source = "log",
        .origin = origin,
        .when = ev->time > 0 && ev->time <= now ? ev->time : now,
    };
    res->rcpts = bg_xcalloc(1, sizeof(*res->rcpts));
    res->nrcpts = 1;
    if (!result_begin(&res->rcpts[0], &b, &addr)) {
        count(res);
        return 0;
    }
    {
        char *id = bg_xasprintf("log:%s:%s:%s:%lld", ev->queue_id, addr.canon, status,
                                (long long)ev->time);
        if (strlen(id) < sizeof(res->id)) {
            bg_strlcpy(res->id, id, sizeof(res->id));
        } else {
            char hex[2 * SHA256_DIGEST_SIZE + 1];
            sha256_hex(id, strlen(id), hex);
            snprintf(res->id, sizeof(res->id), "log:sha256:%s", hex);
        }
        free(id);
    }

    if (ev->queue_id[0])
        found = bg_store_message_get(st, ev->queue_id, true, &m, err);
    if (found == BG_LOOKUP_ERROR)
        return -1;
    res->message_found = found == BG_FOUND;
    res->rcpts[0].correlated = res->message_found && rcpt_listed(m.rcpts, addr.canon);
    if (res->rcpts[0].correlated)
        bg_strlcpy(res->rcpts[0].sender_id, m.sender_id, sizeof(res->rcpts[0].sender_id));
    if (found == BG_FOUND)
        bg_message_rec_clear(&m);
    /* Anyone who can write a line to the log (logger, or a Message-ID that
     * cleanup logs) can write a bounce: a line counts only for a message the
     * milter recorded and one of its recipients (log_trust = recorded). */
    trusted = res->rcpts[0].correlated || cfg->log_trust == BG_LOG_TRUST_ANY;
    decide_rcpt(cfg, &b, &addr, trusted, &res->rcpts[0]);

    /* An ignored line is marked seen but logged here, not by commit_and_log
     * (its warning speaks of forged DSNs). */
    pending item = {b, addr, trusted, "", ""};
    once_key(&item, ev->queue_id, &res->rcpts[0]);
    commit_arg a = {cfg, res->id, now, &item, res->rcpts, 1, false};
    if (commit_and_log(st, &a, res, err) < 0)
        return -1;
    if (!trusted && !res->duplicate && !deferred)
        bg_msg_warn("Ignored bounce in log line of %s %s for Recipient %s (%s %s): %s",
                    ev->program, ev->queue_id, addr.canon, status, cls.reason,
                    res->message_found
                        ? "not a recipient of the message recorded by the milter"
                        : "no message recorded by the milter");
    count(res);
    return 0;
}

/* ---- VERP return path ---------------------------------------------------- */

/* The secrets of verp_secret_file and verp_previous_secret_file, each read
 * once and again whenever its file (path, inode, size or mtime) changes. */
typedef struct verp_slot {
    bg_verp *verp;
    char path[1024];
    struct stat sb; /* of the file the secret was read from */
} verp_slot;

static struct {
    pthread_mutex_t lock;
    verp_slot current, previous;
} verp_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The signer of path, fresh from its file if it changed; call with the lock
 * held.  NULL with err set when it cannot be read. */
static bg_verp *
slot_get(verp_slot *slot, const char *path, bg_error *err)
{
    struct stat sb;

    if (stat(path, &sb) < 0) {
        bg_error_set(err, "verp secret %s: %m", path);
        return NULL;
    }
    if (slot->verp == NULL || strcmp(slot->path, path) != 0 ||
        !same_file(&sb, &slot->sb)) {
        bg_verp *fresh = bg_verp_load(path, err);
        if (fresh == NULL)
            return NULL;
        bg_verp_free(slot->verp);
        slot->verp = fresh;
        bg_strlcpy(slot->path, path, sizeof(slot->path));
        slot->sb = sb;
    }
    return slot->verp;
}

int
bg_learn_return_path(const bg_config *cfg, const char *env_from, const char *queue_id,
                     const char *rcpt, int64_t now, char *out, size_t size, bg_error *err)
{
    bg_verp *v;
    int rc;

    if (!cfg->return_path_rewrite || env_from == NULL || env_from[0] == '\0' ||
        strcmp(env_from, "<>") == 0 || queue_id == NULL || queue_id[0] == '\0' ||
        strcmp(queue_id, "NOQUEUE") == 0)
        return 0;
    pthread_mutex_lock(&verp_cache.lock);
    v = slot_get(&verp_cache.current, cfg->verp_secret_file, err);
    rc = v == NULL ? -1
                   : bg_verp_address(v, "bounces", queue_id, rcpt, now, cfg->verp_domain,
                                     out, size, err);
    pthread_mutex_unlock(&verp_cache.lock);
    return rc < 0 ? -1 : 1;
}

/* Verify token with the current secret, then (after a rotation, tokens made
 * with the previous one are still in flight) with the previous one.  -1 with
 * err set when a secret cannot be read. */
static int
verify_token(const bg_config *cfg, const char *token, const char *rcpt, int64_t now,
             int64_t max_age, char *key, size_t keysize, int64_t *when,
             bg_verp_status *vs, bg_error *err)
{
    bg_verp *v;
    int rc = 0;

    pthread_mutex_lock(&verp_cache.lock);
    if ((v = slot_get(&verp_cache.current, cfg->verp_secret_file, err)) == NULL)
        rc = -1;
    else
        *vs = bg_verp_verify(v, token, rcpt, now, max_age, key, keysize, when);
    if (rc == 0 && *vs == BG_VERP_BAD_SIGNATURE && cfg->verp_previous_secret_file[0]) {
        if ((v = slot_get(&verp_cache.previous, cfg->verp_previous_secret_file, err)) ==
            NULL)
            rc = -1;
        else
            *vs = bg_verp_verify(v, token, rcpt, now, max_age, key, keysize, when);
    }
    pthread_mutex_unlock(&verp_cache.lock);
    return rc;
}

/* Is addr at domain (with or without <>)? */
static bool
at_domain(const char *addr, const char *domain)
{
    size_t alen = strlen(addr), dlen = strlen(domain);
    const char *at;

    if (alen > 0 && addr[alen - 1] == '>')
        alen--;
    at = memrchr(addr, '@', alen);
    return at != NULL && (size_t)(addr + alen - at - 1) == dlen &&
           strncasecmp(at + 1, domain, dlen) == 0;
}

/* The first line of a recipient list. */
static void
first_rcpt(const char *rcpts, char *out, size_t size)
{
    const char *eol = strchr(rcpts ? rcpts : "", '\n');
    size_t n = eol ? (size_t)(eol - rcpts) : strlen(rcpts ? rcpts : "");

    if (n >= size)
        n = size - 1;
    memcpy(out, rcpts ? rcpts : "", n);
    out[n] = '\0';
}

bg_return_path_status
bg_learn_return_path_check(bg_store *st, const bg_config *cfg, const char *addr,
                           int64_t now, bg_return_path *rp, bg_error *err)
{
    char token[BG_VERP_TOKEN_MAX + 8], key[BG_VERP_KEY_MAX + 8];
    bool bound = false;
    bg_verp_status vs = BG_VERP_MALFORMED;
    bg_message_rec m;
    bg_lookup l;
    int64_t when = 0;
    /* a token older than this cannot name a message the store still holds */
    int64_t max_age = cfg->message_retention + DAY;

    memset(rp, 0, sizeof(*rp));
    if (addr == NULL || cfg->verp_domain[0] == '\0' || !at_domain(addr, cfg->verp_domain))
        return BG_RP_NONE;
    if (!bg_verp_match(addr, "bounces", cfg->verp_domain, token, sizeof(token)) ||
        bg_verp_peek(token, key, sizeof(key), &bound) < 0) {
        bg_strlcpy(rp->why, "not a return path of ours", sizeof(rp->why));
        return BG_RP_FORGED;
    }
    if (cfg->verp_secret_file[0] == '\0') {
        bg_error_set(err, "verp_secret_file is not set, cannot verify return paths");
        return BG_RP_ERROR;
    }
    /* The message the token names, read before the MAC is checked: a bound
     * token's MAC covers the recipient, which only the record holds. */
    l = bg_store_message_get(st, key, true, &m, err);
    if (l == BG_LOOKUP_ERROR)
        return BG_RP_ERROR;
    if (l == BG_FOUND) {
        rp->message_rcpts = bg_learn_rcpt_count(m.rcpts);
        if (bound)
            first_rcpt(m.rcpts, rp->rcpt, sizeof(rp->rcpt));
    }
    if (verify_token(cfg, token, bound ? rp->rcpt : NULL, now, max_age, rp->key,
                     sizeof(rp->key), &when, &vs, err) < 0) {
        if (l == BG_FOUND)
            bg_message_rec_clear(&m);
        return BG_RP_ERROR;
    }
    rp->when = when;
    if (vs == BG_VERP_OK &&
        (l == BG_NOTFOUND || m.time < when - 300 || m.time > when + 300))
        vs = BG_VERP_EXPIRED; /* a queue ID is reused in time: not this message */
    if (vs == BG_VERP_OK) {
        bg_strlcpy(rp->sender_id, m.sender_id, sizeof(rp->sender_id));
        bg_strlcpy(rp->orig_sender, m.env_from, sizeof(rp->orig_sender));
    }
    if (l == BG_FOUND)
        bg_message_rec_clear(&m);
    switch (vs) {
    case BG_VERP_OK:
        if (!bound)
            rp->rcpt[0] = '\0';
        return BG_RP_VALID;
    case BG_VERP_EXPIRED:
        rp->rcpt[0] = '\0';
        bg_strlcpy(rp->why,
                   l == BG_FOUND && bound ? "its message is no longer known"
                                          : "expired or its message is gone",
                   sizeof(rp->why));
        return BG_RP_STALE;
    case BG_VERP_MALFORMED:
    case BG_VERP_BAD_SIGNATURE:
        break;
    }
    rp->rcpt[0] = '\0';
    /* Without the record a bound token cannot be told from a forged one. */
    if (bound && l == BG_NOTFOUND) {
        bg_strlcpy(rp->why, "its message is no longer known", sizeof(rp->why));
        return BG_RP_STALE;
    }
    snprintf(rp->why, sizeof(rp->why), "token %s", bg_verp_status_name(vs));
    return BG_RP_FORGED;
}
