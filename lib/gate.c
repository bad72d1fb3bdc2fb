/*
 * gate.c — see include/bounceguard/gate.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounceguard/gate.h"
#include "bounceguard/learn.h"
#include "bounceguard/log.h"

void
bg_gate_begin(bg_gate_txn *t, const bg_config *cfg, const char *sasl_login,
              const char *client_ip, const char *env_from)
{
    bg_addr from;
    const char *from_canon = "";

    memset(t, 0, sizeof(*t));
    bg_strlcpy(t->client_ip, client_ip ? client_ip : "", sizeof(t->client_ip));
    if (env_from && bg_addr_parse(env_from, &from, NULL) == BG_ADDR_OK)
        from_canon = from.canon;
    else if (env_from && *env_from)
        from_canon = "<>";
    bg_strlcpy(t->env_from, from_canon, sizeof(t->env_from));
    bg_policy_sender_identity(cfg->sender_identity, sasl_login, client_ip, from_canon,
                              t->identity, sizeof(t->identity));
    t->quota_exempt = bg_policy_quota_exempt(cfg, t->identity, t->client_ip);
}

typedef struct tried_walk_arg {
    bg_store *st;
    int64_t now;
    bg_gate_tried_fn *fn;
    void *arg;
    bool failed;
    bg_error *err;
} tried_walk_arg;

static int
tried_walk_visit(const char *addr, int64_t when, void *arg)
{
    tried_walk_arg *a = arg;
    bg_rcpt_rec r;
    bg_lookup l = bg_store_rcpt_get(a->st, addr, &r, a->err);

    if (l == BG_LOOKUP_ERROR) {
        a->failed = true;
        return 1;
    }
    return a->fn(addr, when, l == BG_FOUND ? &r : NULL,
                 l == BG_FOUND && bg_policy_rcpt_blacklisted(&r, a->now), a->arg);
}

int
bg_gate_tried_foreach(bg_store *st, const char *identity, int64_t now,
                      bg_gate_tried_fn *fn, void *arg, bg_error *err)
{
    tried_walk_arg a = {st, now, fn, arg, false, err};

    if (bg_store_tried_foreach(st, identity, tried_walk_visit, &a, err) < 0 || a.failed)
        return -1;
    return 0;
}

typedef struct tried_count_arg {
    long stop_at;
    long count;
} tried_count_arg;

static int
tried_count_visit(const char *addr, int64_t when, const bg_rcpt_rec *r, bool blacklisted,
                  void *arg)
{
    tried_count_arg *a = arg;

    if (blacklisted)
        a->count++;
    return a->stop_at > 0 && a->count >= a->stop_at;
}

long
bg_gate_tried_blacklisted(bg_store *st, const char *identity, int64_t now, long stop_at,
                          bg_error *err)
{
    tried_count_arg a = {stop_at, 0};

    if (bg_gate_tried_foreach(st, identity, now, tried_count_visit, &a, err) < 0)
        return -1;
    return a.count;
}

/* The sender's limits as this transaction sees them: its exemption was
 * decided at its start (or set by `check`), not read again per command. */
static bg_sender_limits
txn_limits(const bg_config *cfg, const bg_gate_txn *t)
{
    return bg_policy_sender_limits_exempt(cfg, t->identity, t->quota_exempt);
}

/* Rule 3's verdict on n blacklisted recipients tried, kept for the
 * transaction. */
static bg_verdict_kind
sender_judged(bg_gate_txn *t, long n, long limit)
{
    t->sender_checked = true;
    t->sender_verdict =
        bg_policy_sender_blocked(n, limit) ? BG_VERDICT_SENDER_BLOCKED : BG_VERDICT_ACCEPT;
    return t->sender_verdict;
}

static bg_verdict_kind
sender_blocked(bg_store *st, const bg_config *cfg, bg_gate_txn *t, int64_t now,
               bg_error *err)
{
    bg_sender_limits lim = txn_limits(cfg, t);
    long n;

    if (lim.bounce_limit == 0)
        return BG_VERDICT_ACCEPT;
    if (t->sender_checked)
        return t->sender_verdict;
    /* Counting stops at the limit: blocked or not is known by then. */
    n = bg_gate_tried_blacklisted(st, t->identity, now, lim.bounce_limit, err);
    if (n < 0)
        return BG_VERDICT_STORE_ERROR; /* not cached: the next call tries again */
    return sender_judged(t, n, lim.bounce_limit);
}

int
bg_gate_sender_status(bg_store *st, const bg_config *cfg, const char *identity,
                      const char *client_ip, int64_t now, bg_sender_status *out,
                      bg_error *err)
{
    bg_sender_limits lim = bg_policy_sender_limits(cfg, identity, client_ip);
    bg_sender_rec rec;
    bg_lookup l = bg_store_sender_get(st, identity, &rec, err);
    long tried;

    if (l == BG_LOOKUP_ERROR)
        return -1;
    tried = bg_gate_tried_blacklisted(st, identity, now, 0, err);
    if (tried < 0)
        return -1;
    bg_policy_sender_status(&lim, l == BG_FOUND ? &rec : NULL, tried, now,
                            cfg->quota_window, out);
    return 0;
}

/* ---- messages in flight ---------------------------------------------------- */

/*
 * The messages of this process between their first accepted RCPT TO and
 * their end, per store and sender: the quota they will take.  The store
 * counts a message once, at its end, in the transaction that files it
 * (bg_gate_record): one write per accepted message, none for an aborted
 * one.  Until then it is held here, so that RCPT TO refuses by what the
 * store counted plus what is in flight.  Lost with the process, as the
 * sessions holding it are.  A few entries at a time (one per sender with a
 * session between RCPT TO and its end), looked up by hash first.
 */
typedef struct inflight {
    const bg_store *st;
    uint32_t hash;
    unsigned held;
    char identity[sizeof(((bg_gate_txn *)0)->identity)];
} inflight;

static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static inflight *inflight_v;
static size_t inflight_n, inflight_cap;

static uint32_t
identity_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The entry of (st, identity), or NULL; under inflight_lock. */
static inflight *
inflight_find(const bg_store *st, const char *identity, uint32_t hash)
{
    for (size_t i = 0; i < inflight_n; i++)
        if (inflight_v[i].hash == hash && inflight_v[i].st == st &&
            strcmp(inflight_v[i].identity, identity) == 0)
            return &inflight_v[i];
    return NULL;
}

static unsigned
inflight_held(const bg_store *st, const char *identity)
{
    inflight *e;
    unsigned held;

    pthread_mutex_lock(&inflight_lock);
    e = inflight_find(st, identity, identity_hash(identity));
    held = e ? e->held : 0;
    pthread_mutex_unlock(&inflight_lock);
    return held;
}

/* Hold one more message of t's sender if its quota has room for it at now
 * (rec: its record as t read it); *held gets what was in flight before. */
static bool
inflight_take(const bg_store *st, const bg_gate_txn *t, const bg_sender_rec *rec,
              const bg_sender_limits *lim, int64_t now, int64_t window, unsigned *held)
{
    uint32_t hash = identity_hash(t->identity);
    inflight *e;
    bool room;

    pthread_mutex_lock(&inflight_lock);
    e = inflight_find(st, t->identity, hash);
    *held = e ? e->held : 0;
    room = !bg_policy_sender_over_quota(lim, rec, now, window, *held);
    if (room && e == NULL) {
        if (inflight_n == inflight_cap) {
            inflight_cap = inflight_cap ? 2 * inflight_cap : 16;
            inflight_v = bg_xrealloc(inflight_v, inflight_cap * sizeof(*inflight_v));
        }
        e = &inflight_v[inflight_n++];
        memset(e, 0, sizeof(*e));
        e->st = st;
        e->hash = hash;
        bg_strlcpy(e->identity, t->identity, sizeof(e->identity));
    }
    if (room)
        e->held++;
    pthread_mutex_unlock(&inflight_lock);
    return room;
}

static void
inflight_give_back(const bg_store *st, const char *identity)
{
    inflight *e;

    pthread_mutex_lock(&inflight_lock);
    e = inflight_find(st, identity, identity_hash(identity));
    if (e && --e->held == 0)
        *e = inflight_v[--inflight_n]; /* order does not matter */
    pthread_mutex_unlock(&inflight_lock);
}

/* ---- MAIL FROM and RCPT TO ----------------------------------------------- */

typedef struct refused_arg {
    int64_t now;
    long limit;
    int64_t window;
    unsigned held;
} refused_arg;

static bg_record_change
refused_update(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    refused_arg *a = arg;

    return bg_policy_quota_refused(cur, next, a->now, a->limit, a->window, a->held, purge_at);
}

/* The sender's quota record, read once per transaction. */
static int
sender_read(bg_store *st, bg_gate_txn *t, bg_error *err)
{
    bg_lookup l;

    if (t->sender_read)
        return 0;
    l = bg_store_sender_get(st, t->identity, &t->sender, err);
    if (l == BG_LOOKUP_ERROR)
        return -1;
    t->sender_read = true;
    t->sender_found = l == BG_FOUND;
    return 0;
}

/* Rule 3's tried recipients and rule 4's window, when MAIL FROM needs both,
 * read at once (with Redis one round trip instead of two); sender_blocked
 * and sender_read then find them.  0, or -1 on a store error. */
static int
mail_reads(bg_store *st, const bg_config *cfg, bg_gate_txn *t, int64_t now, bg_error *err)
{
    bg_sender_limits lim = txn_limits(cfg, t);
    tried_count_arg count = {lim.bounce_limit, 0};
    tried_walk_arg walk = {st, now, tried_count_visit, &count, false, err};
    bg_lookup l;

    if (lim.bounce_limit == 0 || t->sender_checked || lim.quota_exempt ||
        lim.quota_limit == 0 || t->sender_read)
        return 0; /* one read at most: made where it is needed */
    l = bg_store_sender_get_tried(st, t->identity, &t->sender, tried_walk_visit, &walk, err);
    if (l == BG_LOOKUP_ERROR || walk.failed)
        return -1;
    t->sender_read = true;
    t->sender_found = l == BG_FOUND;
    sender_judged(t, count.count, lim.bounce_limit);
    return 0;
}

bg_verdict_kind
bg_gate_mail(bg_store *st, const bg_config *cfg, bg_gate_txn *t, int64_t now, bg_error *err)
{
    /* A null sender is a bounce coming in (to our VERP address, say): judge
     * it by its recipients, so that a busy remote MTA's DSNs are not refused
     * for its quota at MAIL FROM. */
    if (strcmp(t->env_from, "<>") == 0)
        return BG_VERDICT_ACCEPT;
    if (mail_reads(st, cfg, t, now, err) < 0)
        return BG_VERDICT_STORE_ERROR;
    bg_verdict_kind v = sender_blocked(st, cfg, t, now, err);
    bg_sender_limits lim = txn_limits(cfg, t);
    unsigned held;

    if (v != BG_VERDICT_ACCEPT || lim.quota_exempt || lim.quota_limit == 0)
        return v; /* no quota to look up */
    if (sender_read(st, t, err) < 0)
        return BG_VERDICT_STORE_ERROR;
    held = t->dry_run ? 0 : inflight_held(st, t->identity);
    if (!bg_policy_sender_over_quota(&lim, t->sender_found ? &t->sender : NULL, now,
                                     cfg->quota_window, held))
        return BG_VERDICT_ACCEPT;
    if (t->dry_run)
        return BG_VERDICT_QUOTA;
    /* Count the refusal (written only when refusing: an accepted MAIL FROM
     * stays a read).  The window may have ended meanwhile: then accept. */
    refused_arg a = {now, lim.quota_limit, cfg->quota_window, held};
    bg_record_change w = bg_store_sender_update(st, t->identity, refused_update, &a, err);
    if (w == BG_STORE_FAILED) {
        /* The refusal stands; only its count is lost. */
        bg_msg_error("cannot count the quota refusal of %s: %s", t->identity, err->msg);
        return BG_VERDICT_QUOTA;
    }
    return w == BG_RECORD_WRITE ? BG_VERDICT_QUOTA : BG_VERDICT_ACCEPT;
}

static bg_verdict_kind
reserve(bg_store *st, const bg_config *cfg, bg_gate_txn *t, int64_t now, bg_error *err)
{
    bg_sender_limits lim = txn_limits(cfg, t);
    const bg_sender_rec *rec;
    unsigned held;

    if (t->reserved || lim.quota_exempt || lim.quota_limit == 0)
        return BG_VERDICT_ACCEPT;
    if (sender_read(st, t, err) < 0)
        return BG_VERDICT_STORE_ERROR;
    rec = t->sender_found ? &t->sender : NULL;
    if (t->dry_run)
        return bg_policy_sender_over_quota(&lim, rec, now, cfg->quota_window, 0)
                   ? BG_VERDICT_QUOTA
                   : BG_VERDICT_ACCEPT;
    /* The last message of the window by what MAIL FROM read: read the window
     * again (once per message, at the edge only).  A message of the sender
     * that another session or relay counted since then refuses this one
     * here, before its data, not after it at the end. */
    held = inflight_held(st, t->identity);
    if (!bg_policy_sender_over_quota(&lim, rec, now, cfg->quota_window, held) &&
        bg_policy_sender_over_quota(&lim, rec, now, cfg->quota_window, held + 1)) {
        t->sender_read = false;
        if (sender_read(st, t, err) < 0)
            return BG_VERDICT_STORE_ERROR;
        rec = t->sender_found ? &t->sender : NULL;
    }
    if (inflight_take(st, t, rec, &lim, now, cfg->quota_window, &held)) {
        t->reserved = true;
        t->held_in = st;
        return BG_VERDICT_ACCEPT;
    }
    /* Refused: counted in the window, as at MAIL FROM. */
    refused_arg a = {now, lim.quota_limit, cfg->quota_window, held};
    if (bg_store_sender_update(st, t->identity, refused_update, &a, err) == BG_STORE_FAILED)
        bg_msg_error("cannot count the quota refusal of %s: %s", t->identity, err->msg);
    return BG_VERDICT_QUOTA;
}

/* An accepted recipient counts towards recipient_limit. */
static bg_verdict_kind
counted(bg_gate_txn *t, bg_verdict_kind v)
{
    if (v == BG_VERDICT_ACCEPT)
        t->accepted++;
    return v;
}

bg_verdict_kind
bg_gate_rcpt(bg_store *st, const bg_config *cfg, bg_gate_txn *t, const char *rcpt,
             int64_t now, bg_addr *addr, char *detail, size_t detail_size, bg_error *err)
{
    char scratch[8];
    bg_error aerr;
    bg_addr_status as;
    bg_rcpt_rec rec;
    bg_lookup l;
    bg_verdict_kind v;

    if (detail == NULL) {
        detail = scratch;
        detail_size = sizeof(scratch);
    }
    detail[0] = '\0';
    memset(addr, 0, sizeof(*addr));
    as = bg_addr_parse(rcpt, addr, &aerr);
    if (t->accepted >= cfg->recipient_limit) {
        snprintf(detail, detail_size, "recipient_limit %ld reached", cfg->recipient_limit);
        return BG_VERDICT_TOO_MANY_RCPTS;
    }
    /* The VERP domain takes only bounces to a return path of ours: anything
     * else there could only be a forgery (lib/learn.c). */
    if (as == BG_ADDR_OK && cfg->verp_domain[0] &&
        strcasecmp(addr->domain, cfg->verp_domain) == 0) {
        bg_return_path rp;

        switch (bg_learn_return_path_check(st, cfg, addr->canon, now, &rp, err)) {
        case BG_RP_VALID:
            snprintf(detail, detail_size, "bounce to the VERP return path of %s", rp.key);
            return counted(t, reserve(st, cfg, t, now, err));
        case BG_RP_ERROR:
            return BG_VERDICT_STORE_ERROR;
        case BG_RP_NONE:
        case BG_RP_FORGED:
        case BG_RP_STALE:
            break;
        }
        snprintf(detail, detail_size, "not a VERP return path: %s", rp.why);
        return BG_VERDICT_BAD_RETURN_PATH;
    }
    if (as == BG_ADDR_OK && cfg->check_tld)
        as = bg_addr_check_tld(addr, &aerr);
    switch (as) {
    case BG_ADDR_OK:
        break;
    case BG_ADDR_NULL:
    case BG_ADDR_BAD_SYNTAX:
    case BG_ADDR_TOO_LONG:
        snprintf(detail, detail_size, "%s", as == BG_ADDR_NULL ? "empty address" : aerr.msg);
        return BG_VERDICT_BAD_ADDRESS;
    case BG_ADDR_BAD_DOMAIN:
    case BG_ADDR_UNKNOWN_TLD:
        snprintf(detail, detail_size, "%s", aerr.msg);
        return BG_VERDICT_BAD_DOMAIN;
    }
    /* postmaster@ and abuse@ are never refused as blacklisted or for a
     * blocked sender, but they are mail like any other: they take quota. */
    if (bg_policy_rcpt_exempt(cfg, addr->local)) {
        snprintf(detail, detail_size, "exempt recipient");
        return counted(t, reserve(st, cfg, t, now, err));
    }
    l = bg_store_rcpt_get(st, addr->canon, &rec, err);
    if (l == BG_LOOKUP_ERROR)
        return BG_VERDICT_STORE_ERROR;
    if (l == BG_FOUND && bg_policy_rcpt_blacklisted(&rec, now) &&
        !bg_policy_never_blacklist(cfg, addr->canon, addr->domain)) {
        char until[32];
        snprintf(detail, detail_size, "blacklisted until %s (%s%s%s)",
                 bg_time_iso(until, sizeof(until), rec.expires), rec.status,
                 rec.status[0] ? " " : "", rec.reason);
        /* Remember the attempt: rule 3 counts distinct blacklisted recipients. */
        if (!t->dry_run &&
            bg_store_tried_add(st, t->identity, addr->canon, now, rec.expires, err) < 0)
            return BG_VERDICT_STORE_ERROR;
        t->sender_checked = false; /* the count may have reached the limit */
        return bg_policy_rcpt_manual(&rec) ? BG_VERDICT_BLOCKED_MANUALLY
                                           : BG_VERDICT_BLACKLISTED;
    }
    v = sender_blocked(st, cfg, t, now, err);
    if (v != BG_VERDICT_ACCEPT)
        return v;
    return counted(t, reserve(st, cfg, t, now, err));
}

void
bg_gate_release(bg_gate_txn *t)
{
    if (t->reserved && !t->dry_run)
        inflight_give_back(t->held_in, t->identity);
    t->reserved = false;
}

/* ---- the end of a message -------------------------------------------------- */

typedef struct record_arg {
    const bg_message_rec *m;
    const bg_sender_rec *seen; /* the window as read at MAIL FROM / RCPT TO */
    int64_t purge_at;
    bool count;      /* the message takes quota */
    int64_t now;
    long limit;
    int64_t window;
    bool granted;    /* the count was within the quota */
    bool passes;     /* mode = observe: the message goes out whatever the count */
} record_arg;

static bg_record_change
count_update(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    record_arg *a = arg;
    int64_t window_start;

    return bg_policy_quota_reserve(cur, next, a->now, a->limit, a->window, 1, &a->granted,
                                   &window_start, purge_at);
}

static int
record_body(bg_store_txn *txn, void *arg)
{
    record_arg *a = arg;

    a->granted = true;
    if (a->count) {
        bg_store_txn_sender_seen(txn, a->m->sender_id, a->seen);
        if (bg_store_txn_sender_update(txn, a->m->sender_id, count_update, a) ==
            BG_STORE_FAILED)
            return -1;
    }
    /* What goes out is filed: its bounces must find it */
    if ((a->granted || a->passes) && bg_store_txn_message_put(txn, a->m, a->purge_at) < 0)
        return -1;
    return 0;
}

bg_verdict_kind
bg_gate_record(bg_store *st, const bg_config *cfg, bg_gate_txn *t, const char *message_id,
               const char *queue_id, const char *rcpts, int64_t now, bg_error *err)
{
    bg_sender_limits lim = txn_limits(cfg, t);
    bg_message_rec m;
    record_arg a = {&m, t->sender_found ? &t->sender : NULL, now + cfg->message_retention,
                    t->reserved, now, lim.quota_limit, cfg->quota_window, true,
                    cfg->mode == BG_MODE_OBSERVE};
    int rc;

    if (t->dry_run)
        return BG_VERDICT_ACCEPT;
    memset(&m, 0, sizeof(m));
    m.time = now;
    bg_strlcpy(m.sender_id, t->identity, sizeof(m.sender_id));
    bg_strlcpy(m.env_from, t->env_from, sizeof(m.env_from));
    bg_strlcpy(m.message_id, message_id ? message_id : "", sizeof(m.message_id));
    bg_strlcpy(m.queue_id, queue_id ? queue_id : "", sizeof(m.queue_id));
    m.rcpts = (char *)(rcpts ? rcpts : "");
    if (!a.count && m.message_id[0] == '\0' && m.queue_id[0] == '\0')
        return BG_VERDICT_ACCEPT; /* nothing to count, nothing to file it under */
    rc = bg_store_atomic(st, false, record_body, &a, err);
    bg_gate_release(t);
    if (rc != 0)
        return BG_VERDICT_STORE_ERROR;
    return a.granted ? BG_VERDICT_ACCEPT : BG_VERDICT_QUOTA;
}

static bg_record_change
delete_sender(const bg_sender_rec *cur, bg_sender_rec *next, int64_t *purge_at, void *arg)
{
    *(bool *)arg = cur != NULL;
    return cur ? -1 : 0;
}

static int
count_tried(const char *addr, int64_t when, void *arg)
{
    (*(size_t *)arg)++;
    return 0;
}

int
bg_gate_sender_reset(bg_store *st, const char *identity, bool *had_window, size_t *tried,
                     bg_error *err)
{
    *had_window = false;
    *tried = 0;
    if (bg_store_tried_foreach(st, identity, count_tried, tried, err) < 0 ||
        bg_store_sender_update(st, identity, delete_sender, had_window, err) == BG_STORE_FAILED ||
        bg_store_tried_clear(st, identity, err) < 0)
        return -1;
    return 0;
}
