/*
 * store_redis.c — the store's Redis backend (store = redis): the record
 * primitives of store_core.h over a Redis server that several relays share,
 * so that a recipient that bounced through one relay is refused by all, and a
 * sender's quota counts its messages through all of them.
 *
 * Keys: PREFIX DB ":" KEY (binary-safe; DB is rcpt, sender, tried, ...), the
 * value the record's payload as Berkeley DB holds it, the purge time the
 * key's own expiry (EXAT): Redis removes what expired by itself.  The
 * databases that are listed in key order (all but the messages and the seen
 * DSNs, which are only looked up) also have an index, PREFIX "idx:" DB, a
 * sorted set of their keys with score 0 that ZRANGEBYLEX walks from a
 * prefix, as a B-tree cursor does.  A key that expired leaves its index
 * member behind until bg_store_purge tidies it.
 *
 * Transactions are optimistic.  A body reads with GET (what it saw is kept)
 * and writes into a list; at commit ONE script compares every read with the
 * server's value and, only if none changed, applies every write.  A
 * read-modify-write is so atomic across all relays (a sender's quota exact
 * under any concurrency), and the decision stays in C, in lib/policy, not in
 * Lua.  A changed read runs the body again, as a deadlock does with Berkeley
 * DB.  hiredis contexts are not thread-safe: each call takes a connection
 * from a small pool and gives it back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <nettle/sha1.h>

#include "bounceguard/config.h"
#include "bounceguard/log.h"
#include "bounceguard/netaddr.h"
#include "store_core.h"

static const char *const db_names[DBI_COUNT] = {
    "rcpt", "sender", "tried", "message", "incident", "seen", "meta", "audit", "expiry"};

/* Listed in key order somewhere (CLI list, a sender's tried recipients). */
static bool
indexed(int dbi)
{
    return dbi != DBI_MESSAGE && dbi != DBI_SEEN && dbi != DBI_EXPIRY;
}

#define SHOWN_MAX 320 /* an address as shown: [host]:port */
#define POOL_MAX 32
#define VISIT_BATCH 256
#define TIDY_BATCH 500 /* index members the purge looks at per call */
#define CONFLICT_RETRY_MS 5000
/* Rounds after a first conflict that take the refusal's answer at once,
 * without a pause (see store_redis_run). */
#define FOUND_ROUNDS 1

/* What a primitive answers when Redis failed (t->why says how), and when a
 * value the body read changed before its commit (run the body again). */
#define STORE_REDIS_FAILED (-6)
#define STORE_REDIS_CONFLICT (-7)

struct store_redis {
    bg_endpoint servers[BG_ENDPOINTS_MAX];
    size_t nservers;
    bg_endpoint sentinels[BG_ENDPOINTS_MAX];
    size_t nsentinels;
    char *master_name, *user, *password, *prefix;
    char *sentinel_user, *sentinel_password;
    long db;
    struct timeval timeout;
    unsigned timeout_ms;
    unsigned replicas;
    pthread_mutex_t mu;       /* guards what follows */
    redisContext *idle[POOL_MAX];
    unsigned idle_gen[POOL_MAX];
    size_t nidle;
    unsigned generation;      /* bumped when the primary may have moved */
    char primary[SHOWN_MAX];      /* "HOST:PORT" of the primary last reached */
    char commit_sha[2 * SHA1_DIGEST_SIZE + 1]; /* the commit script's SHA1, for EVALSHA */
    atomic_bool eval_only;        /* the ACL refused EVALSHA: send the script's text */
    bg_buf purge_from[DBI_COUNT]; /* where the index tidy goes on */
};

/* One key the body read or wrote. */
typedef struct redis_item {
    int dbi;
    bg_buf key;      /* the full Redis key */
    bool present;    /* read: it existed; write: set it (else delete) */
    bg_buf val;
    int64_t purge_at;
} redis_item;

struct store_redis_txn {
    store_redis *r;
    redisContext *c;
    redis_item *reads, *writes;
    size_t nreads, nwrites, capreads, capwrites;
    bool broken;     /* the connection is no longer usable */
    bool committing; /* the failure came at commit: its outcome is unknown */
    bool write;      /* a write transaction (else a read) */
    bool first_try;  /* no conflict sent the body round again yet */
    /* What the commit script found in the keys read when it refused a
     * commit: the next round of the body reads them from here (they are
     * owned by store_redis_run and last over its rounds). */
    redis_item *found;
    size_t nfound, capfound;
    char why[320];
};

/* ---- connections ----------------------------------------------------------- */

static void
addr_show(const bg_endpoint *a, char *out, size_t size)
{
    if (a->unix_path)
        snprintf(out, size, "%s", a->host);
    else if (strchr(a->host, ':'))
        snprintf(out, size, "[%s]:%d", a->host, a->port);
    else
        snprintf(out, size, "%s:%d", a->host, a->port);
}

/* A command of counted arguments; NULL when the connection failed (c->errstr). */
static redisReply *
call(redisContext *c, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(c, argc, argv, lens);
}

/* A command of NUL-terminated words. */
static redisReply *
call_words(redisContext *c, int argc, const char **argv)
{
    size_t lens[8];

    for (int i = 0; i < argc && i < 8; i++)
        lens[i] = strlen(argv[i]);
    return call(c, argc, argv, lens);
}

static bool
reply_is_error(const redisReply *rep, const char *code)
{
    return rep && rep->type == REDIS_REPLY_ERROR && rep->str &&
           strncmp(rep->str, code, strlen(code)) == 0;
}

static redisContext *
connect_addr(store_redis *r, const bg_endpoint *a, bg_buf *why)
{
    char shown[SHOWN_MAX];
    redisContext *c = a->unix_path ? redisConnectUnixWithTimeout(a->host, r->timeout)
                                   : redisConnectWithTimeout(a->host, a->port, r->timeout);

    addr_show(a, shown, sizeof(shown));
    if (c == NULL || c->err) {
        bg_buf_printf(why, "%s%s: %s", why->len ? "; " : "", shown,
                      c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, r->timeout);
    return c;
}

/* AUTH as user (or the default user) with password: the reply. */
static redisReply *
authenticate(redisContext *c, const char *user, const char *password)
{
    const char *with_user[] = {"AUTH", user, password};
    const char *plain[] = {"AUTH", password};

    return user[0] ? call_words(c, 3, with_user) : call_words(c, 2, plain);
}

/* AUTH, SELECT and ROLE on a fresh connection: 1 primary, 0 a replica, -1 failed. */
static int
login(store_redis *r, redisContext *c, const bg_endpoint *a, bg_buf *why)
{
    char shown[SHOWN_MAX], dbs[24];
    redisReply *rep = NULL;
    int role = -1;

    addr_show(a, shown, sizeof(shown));
    if (r->password[0]) {
        rep = authenticate(c, r->user, r->password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
            goto failed;
        freeReplyObject(rep);
    }
    if (r->db != 0) {
        const char *sel[] = {"SELECT", dbs};
        snprintf(dbs, sizeof(dbs), "%ld", r->db);
        rep = call_words(c, 2, sel);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
            goto failed;
        freeReplyObject(rep);
    }
    {
        const char *roles[] = {"ROLE"};
        rep = call_words(c, 1, roles);
    }
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        goto failed;
    role = strcmp(rep->element[0]->str, "master") == 0 ? 1 : 0;
    if (role == 0)
        bg_buf_printf(why, "%s%s is a %s, not the primary", why->len ? "; " : "", shown,
                      rep->element[0]->str);
    freeReplyObject(rep);
    return role;
failed:
    if (rep == NULL)
        bg_buf_printf(why, "%s%s: %s", why->len ? "; " : "", shown, c->errstr);
    else if (reply_is_error(rep, "NOAUTH"))
        bg_buf_printf(why, "%s%s asks for a password (redis_password)", why->len ? "; " : "",
                      shown);
    else
        bg_buf_printf(why, "%s%s: %s", why->len ? "; " : "", shown,
                      rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected answer to ROLE");
    if (rep)
        freeReplyObject(rep);
    return -1;
}

/* Connect to a and keep the connection if it is the primary. */
static redisContext *
try_primary(store_redis *r, const bg_endpoint *a, bg_buf *why)
{
    redisContext *c = connect_addr(r, a, why);

    if (c == NULL)
        return NULL;
    if (login(r, c, a, why) != 1) {
        redisFree(c);
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    addr_show(a, r->primary, sizeof(r->primary));
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* Ask a sentinel where the primary is. */
static int
sentinel_ask(store_redis *r, const bg_endpoint *s, bg_endpoint *out, bg_buf *why)
{
    char shown[SHOWN_MAX];
    redisContext *c = connect_addr(r, s, why);
    redisReply *rep;
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", r->master_name};
    int rc = -1;

    if (c == NULL)
        return -1;
    addr_show(s, shown, sizeof(shown));
    /* Sentinels have their own password (requirepass in sentinel.conf),
     * often not the data servers' one. */
    if (r->sentinel_password[0]) {
        rep = authenticate(c, r->sentinel_user, r->sentinel_password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            bg_buf_printf(why, "%ssentinel %s refuses redis_sentinel_password: %s",
                          why->len ? "; " : "", shown, rep ? rep->str : c->errstr);
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            return -1;
        }
        freeReplyObject(rep);
    }
    rep = call_words(c, 3, argv);
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        memset(out, 0, sizeof(*out));
        snprintf(out->host, sizeof(out->host), "%s", rep->element[0]->str);
        out->port = atoi(rep->element[1]->str);
        rc = out->port > 0 ? 0 : -1;
    }
    if (rc < 0)
        bg_buf_printf(why, "%ssentinel %s: %s", why->len ? "; " : "", shown,
                      rep == NULL ? c->errstr
                      : reply_is_error(rep, "NOAUTH")
                          ? "asks for a password (redis_sentinel_password)"
                      : rep->type == REDIS_REPLY_ERROR ? rep->str
                                                       : "does not know redis_master_name");
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

/* The primary: the one the sentinels name, else the first server that says
 * it is one. */
static redisContext *
connect_primary(store_redis *r, bg_error *err)
{
    bg_buf why = BG_BUF_INIT;
    redisContext *c = NULL;

    for (size_t i = 0; c == NULL && i < r->nsentinels; i++) {
        bg_endpoint m;
        if (sentinel_ask(r, &r->sentinels[i], &m, &why) == 0)
            c = try_primary(r, &m, &why);
    }
    for (size_t i = 0; c == NULL && i < r->nservers; i++)
        c = try_primary(r, &r->servers[i], &why);
    if (c == NULL)
        bg_error_set(err, "store redis: no primary reachable: %s", bg_buf_str(&why));
    bg_buf_free(&why);
    return c;
}

static redisContext *
pool_take(store_redis *r, unsigned *gen, bg_error *err)
{
    pthread_mutex_lock(&r->mu);
    while (r->nidle > 0) {
        r->nidle--;
        redisContext *c = r->idle[r->nidle];
        if (r->idle_gen[r->nidle] == r->generation) {
            *gen = r->generation;
            pthread_mutex_unlock(&r->mu);
            return c;
        }
        redisFree(c);
    }
    *gen = r->generation;
    pthread_mutex_unlock(&r->mu);
    return connect_primary(r, err);
}

/* Give a connection back; a broken one is closed, and the others of its
 * generation with it (the primary may have moved). */
static void
pool_give(store_redis *r, redisContext *c, unsigned gen, bool broken)
{
    pthread_mutex_lock(&r->mu);
    if (broken && gen == r->generation)
        r->generation++;
    if (!broken && gen == r->generation && r->nidle < POOL_MAX) {
        r->idle[r->nidle] = c;
        r->idle_gen[r->nidle] = gen;
        r->nidle++;
        c = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (c)
        redisFree(c);
}

/* ---- opening and closing --------------------------------------------------- */

static char *
dup_or_empty(const char *s)
{
    return bg_xstrdup(s ? s : "");
}

/*
 * The commit: compare, then apply.  KEYS: the keys read, then per write its
 * key and its database's index.  ARGV: the number of reads and of writes,
 * per read what was seen ("" absent, "=" value), per write the value (""
 * delete, "=" value), its expiry (UNIX time, 0 none) and its index member
 * ("" none, "=" key).  Answers 1 when applied; when a read changed, nothing
 * is applied and the answer is what the keys read hold now (nil: absent),
 * so that the next round needs no GET: under several relays reserving in
 * one sender's window at once, a conflict costs one round trip, not two.
 */
static const char commit_script[] =
    "local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local now = {}\n"
    "local same = true\n"
    "for i = 1, n do\n"
    "  now[i] = redis.call('GET', KEYS[i])\n"
    "  local have = ''\n"
    "  if now[i] then have = '=' .. now[i] end\n"
    "  if have ~= ARGV[2 + i] then same = false end\n"
    "end\n"
    "if not same then return now end\n"
    "local a = 2 + n\n"
    "for j = 1, m do\n"
    "  local key, idx = KEYS[n + 2 * j - 1], KEYS[n + 2 * j]\n"
    "  local val, at, member = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3]\n"
    "  a = a + 3\n"
    "  if val == '' then\n"
    "    redis.call('DEL', key)\n"
    "    if member ~= '' then redis.call('ZREM', idx, string.sub(member, 2)) end\n"
    "  else\n"
    "    if at > 0 then redis.call('SET', key, string.sub(val, 2), 'EXAT', at)\n"
    "    else redis.call('SET', key, string.sub(val, 2)) end\n"
    "    if member ~= '' then redis.call('ZADD', idx, 0, string.sub(member, 2)) end\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* The hex SHA1 of a script, its name for EVALSHA. */
static void
script_sha(const char *script, char hex[2 * SHA1_DIGEST_SIZE + 1])
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];

    sha1_init(&ctx);
    sha1_update(&ctx, strlen(script), (const uint8_t *)script);
    sha1_digest(&ctx, sizeof(digest), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

store_redis *
store_redis_open(const bg_store_redis_opts *o, bg_error *err)
{
    store_redis *r;
    redisContext *c;
    unsigned gen;

    r = bg_xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    if (bg_endpoint_list_parse("redis_servers", o->servers, BG_REDIS_PORT, r->servers,
                               &r->nservers, err) < 0 ||
        bg_endpoint_list_parse("redis_sentinels", o->sentinels, BG_SENTINEL_PORT, r->sentinels,
                               &r->nsentinels, err) < 0) {
        store_redis_close(r);
        return NULL;
    }
    if (r->nservers == 0 && r->nsentinels == 0) {
        store_redis_close(r);
        bg_error_set(err, "store = redis needs redis_servers or redis_sentinels");
        return NULL;
    }
    r->master_name = dup_or_empty(o->master_name);
    r->user = dup_or_empty(o->user);
    r->password = dup_or_empty(o->password);
    r->sentinel_user = dup_or_empty(o->sentinel_user);
    r->sentinel_password = dup_or_empty(o->sentinel_password);
    r->prefix = dup_or_empty(o->prefix);
    r->db = o->db;
    r->timeout_ms = o->timeout_ms ? o->timeout_ms : 500;
    r->timeout.tv_sec = r->timeout_ms / 1000;
    r->timeout.tv_usec = (suseconds_t)(r->timeout_ms % 1000) * 1000;
    r->replicas = o->replicas;
    script_sha(commit_script, r->commit_sha);
    c = pool_take(r, &gen, err);
    if (c == NULL) {
        store_redis_close(r);
        return NULL;
    }
    pool_give(r, c, gen, false);
    return r;
}

void
store_redis_close(store_redis *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nidle; i++)
        redisFree(r->idle[i]);
    for (int i = 0; i < DBI_COUNT; i++)
        bg_buf_free(&r->purge_from[i]);
    free(r->master_name);
    free(r->user);
    free(r->password);
    free(r->sentinel_user);
    free(r->sentinel_password);
    free(r->prefix);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

const char *
store_redis_label(store_redis *r)
{
    return r->primary;
}

/* ---- the record primitives ------------------------------------------------- */

static void
full_key(const store_redis *r, int dbi, const void *key, size_t klen, bg_buf *out)
{
    bg_buf_reset(out);
    bg_buf_puts(out, r->prefix);
    bg_buf_puts(out, db_names[dbi]);
    bg_buf_putc(out, ':');
    bg_buf_append(out, key, klen);
}

static void
index_key(const store_redis *r, int dbi, bg_buf *out)
{
    bg_buf_reset(out);
    bg_buf_puts(out, r->prefix);
    bg_buf_puts(out, "idx:");
    bg_buf_puts(out, db_names[dbi]);
}

static void
items_free(redis_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bg_buf_free(&items[i].key);
        bg_buf_free(&items[i].val);
    }
    free(items);
}

static redis_item *
find_item(redis_item *items, size_t n, const bg_buf *key)
{
    for (size_t i = n; i-- > 0;)
        if (items[i].key.len == key->len && memcmp(items[i].key.s, key->s, key->len) == 0)
            return &items[i];
    return NULL;
}

static redis_item *
add_item(redis_item **items, size_t *n, size_t *cap, int dbi, bg_buf *key)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *items = bg_xrealloc(*items, *cap * sizeof(**items));
    }
    redis_item *it = &(*items)[(*n)++];
    memset(it, 0, sizeof(*it));
    it->dbi = dbi;
    it->key = *key; /* takes the buffer */
    bg_buf_init(key);
    return it;
}

/* Remember how the connection failed; it is not given back to the pool. */
static int
failed(store_redis_txn *t, const redisReply *rep)
{
    if (rep == NULL) {
        t->broken = true;
        snprintf(t->why, sizeof(t->why), "%s", t->c->errstr[0] ? t->c->errstr : "no answer");
    } else {
        /* READONLY: the server became a replica (a failover): find the new
         * primary.  Any other error answer leaves the connection usable. */
        if (reply_is_error(rep, "READONLY") || reply_is_error(rep, "LOADING"))
            t->broken = true;
        snprintf(t->why, sizeof(t->why), "%s",
                 rep->type == REDIS_REPLY_ERROR && rep->str ? rep->str : "unexpected answer");
    }
    return STORE_REDIS_FAILED;
}

void
store_redis_seen(store_redis_txn *t, int dbi, const void *key, size_t klen,
                 const bg_buf *payload)
{
    bg_buf fk = BG_BUF_INIT;
    redis_item *it;

    if (!t->first_try)
        return; /* a refused round reads what the script found */
    full_key(t->r, dbi, key, klen, &fk);
    if (find_item(t->reads, t->nreads, &fk) == NULL &&
        find_item(t->writes, t->nwrites, &fk) == NULL) {
        it = add_item(&t->reads, &t->nreads, &t->capreads, dbi, &fk);
        it->present = payload != NULL;
        if (payload)
            bg_buf_append(&it->val, payload->s, payload->len);
    }
    bg_buf_free(&fk);
}

int
store_redis_get(store_redis_txn *t, int dbi, const void *key, size_t klen, bg_buf *val)
{
    bg_buf fk = BG_BUF_INIT;
    redis_item *it;
    redisReply *rep;
    int ret;

    full_key(t->r, dbi, key, klen, &fk);
    if ((it = find_item(t->writes, t->nwrites, &fk)) != NULL ||
        (it = find_item(t->reads, t->nreads, &fk)) != NULL) {
        bg_buf_free(&fk);
        if (!it->present)
            return STORE_NOTFOUND;
        bg_buf_reset(val);
        bg_buf_append(val, it->val.s, it->val.len);
        return 0;
    }
    if ((it = find_item(t->found, t->nfound, &fk)) != NULL) {
        /* As the commit script found it when it refused the last round:
         * this round's commit compares it again like any read. */
        bool present = it->present;
        redis_item *read = add_item(&t->reads, &t->nreads, &t->capreads, dbi, &fk);
        read->present = present;
        if (present) {
            bg_buf_append(&read->val, it->val.s, it->val.len);
            bg_buf_reset(val);
            bg_buf_append(val, it->val.s, it->val.len);
        }
        return present ? 0 : STORE_NOTFOUND;
    }
    {
        const char *argv[] = {"GET", fk.s};
        size_t lens[] = {3, fk.len};
        rep = call(t->c, 2, argv, lens);
    }
    if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        ret = failed(t, rep);
        if (rep)
            freeReplyObject(rep);
        bg_buf_free(&fk);
        return ret;
    }
    it = add_item(&t->reads, &t->nreads, &t->capreads, dbi, &fk);
    it->present = rep->type == REDIS_REPLY_STRING;
    if (it->present) {
        bg_buf_append(&it->val, rep->str, rep->len);
        bg_buf_reset(val);
        bg_buf_append(val, rep->str, rep->len);
    }
    freeReplyObject(rep);
    return it->present ? 0 : STORE_NOTFOUND;
}

static redis_item *
write_item(store_redis_txn *t, int dbi, const void *key, size_t klen)
{
    bg_buf fk = BG_BUF_INIT;
    redis_item *it;

    full_key(t->r, dbi, key, klen, &fk);
    it = find_item(t->writes, t->nwrites, &fk);
    if (it) {
        bg_buf_free(&fk);
        return it;
    }
    return add_item(&t->writes, &t->nwrites, &t->capwrites, dbi, &fk);
}

int
store_redis_put(store_redis_txn *t, int dbi, const void *key, size_t klen,
                const bg_buf *payload, int64_t purge_at)
{
    redis_item *it = write_item(t, dbi, key, klen);

    it->present = true;
    bg_buf_reset(&it->val);
    bg_buf_append(&it->val, payload->s, payload->len);
    it->purge_at = purge_at;
    return 0;
}

int
store_redis_del(store_redis_txn *t, int dbi, const void *key, size_t klen)
{
    redis_item *it = write_item(t, dbi, key, klen);

    it->present = false;
    bg_buf_reset(&it->val);
    it->purge_at = 0;
    return 0;
}


/* The argument vector of one command, its strings owned. */
typedef struct argvec {
    size_t n, cap;
    char **v;
    size_t *len;
} argvec;

static void
argvec_add(argvec *a, const void *s, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = bg_xrealloc(a->v, a->cap * sizeof(*a->v));
        a->len = bg_xrealloc(a->len, a->cap * sizeof(*a->len));
    }
    a->v[a->n] = bg_xmalloc(len + 1);
    memcpy(a->v[a->n], s, len);
    a->v[a->n][len] = '\0';
    a->len[a->n++] = len;
}

static void
argvec_set(argvec *a, size_t i, const void *s, size_t len)
{
    free(a->v[i]);
    a->v[i] = bg_xmalloc(len + 1);
    memcpy(a->v[i], s, len);
    a->v[i][len] = '\0';
    a->len[i] = len;
}

static void
argvec_addf(argvec *a, const char *tag, const void *s, size_t len)
{
    bg_buf b = BG_BUF_INIT;

    bg_buf_puts(&b, tag);
    bg_buf_append(&b, s, len);
    argvec_add(a, b.s ? b.s : "", b.len);
    bg_buf_free(&b);
}

static void
argvec_free(argvec *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    free(a->len);
}

/* A refused commit's answer: what each key read holds now, for the next
 * round (what an earlier refusal said is replaced). */
static void
keep_found(store_redis_txn *t, const redisReply *rep)
{
    items_free(t->found, t->nfound);
    t->found = NULL;
    t->nfound = t->capfound = 0;
    for (size_t i = 0; i < t->nreads; i++) {
        const redisReply *e = rep->element[i];
        bg_buf key = BG_BUF_INIT;
        if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_NIL)
            continue; /* not understood: that key is read again */
        bg_buf_append(&key, t->reads[i].key.s, t->reads[i].key.len);
        redis_item *it = add_item(&t->found, &t->nfound, &t->capfound, t->reads[i].dbi, &key);
        it->present = e->type == REDIS_REPLY_STRING;
        if (it->present)
            bg_buf_append(&it->val, e->str, e->len);
    }
}

static int
commit(store_redis_txn *t, bool sync)
{
    store_redis *r = t->r;
    argvec a = {0};
    bg_buf idx = BG_BUF_INIT;
    char num[32];
    redisReply *rep;
    int ret = 0;

    /* By the script's SHA1: 40 bytes sent instead of its text, and no
     * hashing of the text by the server at each commit. */
    if (atomic_load(&r->eval_only)) {
        argvec_add(&a, "EVAL", 4);
        argvec_add(&a, commit_script, sizeof(commit_script) - 1);
    } else {
        argvec_add(&a, "EVALSHA", 7);
        argvec_add(&a, r->commit_sha, strlen(r->commit_sha));
    }
    snprintf(num, sizeof(num), "%zu", t->nreads + 2 * t->nwrites);
    argvec_add(&a, num, strlen(num));
    for (size_t i = 0; i < t->nreads; i++)
        argvec_add(&a, t->reads[i].key.s, t->reads[i].key.len);
    for (size_t i = 0; i < t->nwrites; i++) {
        argvec_add(&a, t->writes[i].key.s, t->writes[i].key.len);
        index_key(r, t->writes[i].dbi, &idx);
        argvec_add(&a, idx.s, idx.len);
    }
    snprintf(num, sizeof(num), "%zu", t->nreads);
    argvec_add(&a, num, strlen(num));
    snprintf(num, sizeof(num), "%zu", t->nwrites);
    argvec_add(&a, num, strlen(num));
    for (size_t i = 0; i < t->nreads; i++) {
        if (t->reads[i].present)
            argvec_addf(&a, "=", t->reads[i].val.s, t->reads[i].val.len);
        else
            argvec_add(&a, "", 0);
    }
    for (size_t i = 0; i < t->nwrites; i++) {
        const redis_item *w = &t->writes[i];
        size_t prefix_len = strlen(r->prefix) + strlen(db_names[w->dbi]) + 1;
        if (w->present)
            argvec_addf(&a, "=", w->val.s, w->val.len);
        else
            argvec_add(&a, "", 0);
        snprintf(num, sizeof(num), "%lld", (long long)(w->purge_at > 0 ? w->purge_at : 0));
        argvec_add(&a, num, strlen(num));
        if (indexed(w->dbi))
            argvec_addf(&a, "=", w->key.s + prefix_len, w->key.len - prefix_len);
        else
            argvec_add(&a, "", 0);
    }
    t->committing = true;
    rep = call(t->c, (int)a.n, (const char **)a.v, a.len);
    if (reply_is_error(rep, "NOPERM") && strcmp(a.v[0], "EVALSHA") == 0 &&
        !atomic_exchange(&r->eval_only, true))
        bg_msg_warn("store redis %s: the user may not run EVALSHA; committing with EVAL "
                    "(add +evalsha to its ACL)",
                    store_redis_label(r));
    if (reply_is_error(rep, "NOSCRIPT") ||
        (reply_is_error(rep, "NOPERM") && strcmp(a.v[0], "EVALSHA") == 0)) {
        /* Not in this server's script cache (a restart, a failover, SCRIPT
         * FLUSH) or not allowed by name: nothing was applied; EVAL runs the
         * text and caches it for the next EVALSHA. */
        freeReplyObject(rep);
        argvec_set(&a, 0, "EVAL", 4);
        argvec_set(&a, 1, commit_script, sizeof(commit_script) - 1);
        rep = call(t->c, (int)a.n, (const char **)a.v, a.len);
    }
    argvec_free(&a);
    bg_buf_free(&idx);
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == t->nreads) {
        t->committing = false; /* nothing was applied */
        keep_found(t, rep);
        ret = STORE_REDIS_CONFLICT;
    } else if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer != 1) {
        ret = failed(t, rep);
    } else if (sync && r->replicas > 0) {
        /* The bounce is acknowledged to the MTA only once a replica has it:
         * a failover then cannot lose it. */
        char nrep[16], ms[16];
        const char *argv[] = {"WAIT", nrep, ms};
        snprintf(nrep, sizeof(nrep), "%u", r->replicas);
        snprintf(ms, sizeof(ms), "%u", r->timeout_ms);
        freeReplyObject(rep);
        /* WAIT answers after its own timeout at the latest: the socket's
         * deadline must not end first. */
        struct timeval longer = {(time_t)(r->timeout_ms * 2 / 1000),
                                 (suseconds_t)(r->timeout_ms * 2 % 1000) * 1000};
        redisSetTimeout(t->c, longer);
        rep = call_words(t->c, 3, argv);
        redisSetTimeout(t->c, r->timeout);
        if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
            ret = failed(t, rep);
        else if (rep->integer < (long long)r->replicas) {
            snprintf(t->why, sizeof(t->why),
                     "only %lld of %u replicas confirmed the write within %u ms (redis_replicas)",
                     rep->integer, r->replicas, r->timeout_ms);
            ret = STORE_REDIS_FAILED;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return ret;
}

static void
txn_clear(store_redis_txn *t)
{
    items_free(t->reads, t->nreads);
    items_free(t->writes, t->nwrites);
}

int
store_redis_run(bg_store *s, txn_body_fn *body, void *arg, bool write, bool sync,
                bg_error *err)
{
    store_redis *r = s->redis;
    int64_t give_up_at = 0;
    bool reconnected = false;
    store_redis_txn found = {0}; /* only its found items: kept over the rounds */
    int ret;

    store_enter(s);
    for (int attempt = 0;; attempt++) {
        store_redis_txn t;
        unsigned gen;
        int answer = 0;

        memset(&t, 0, sizeof(t));
        t.r = r;
        t.write = write;
        t.first_try = give_up_at == 0;
        t.found = found.found, t.nfound = found.nfound, t.capfound = found.capfound;
        t.c = pool_take(r, &gen, err);
        if (t.c == NULL) {
            items_free(t.found, t.nfound);
            store_leave(s);
            return -1;
        }
        store_txn st = {NULL, &t};
        ret = body(s, &st, arg, &answer);
        if (ret == 0 && write && t.nwrites > 0)
            ret = commit(&t, sync);
        pool_give(r, t.c, gen, t.broken);
        found.found = t.found, found.nfound = t.nfound, found.capfound = t.capfound;
        if (ret == 0) {
            txn_clear(&t);
            items_free(found.found, found.nfound);
            store_leave(s);
            return answer;
        }
        if (ret == STORE_REDIS_CONFLICT) {
            txn_clear(&t);
            if (give_up_at == 0)
                give_up_at = bg_monotonic_ms() + CONFLICT_RETRY_MS;
            if (bg_monotonic_ms() < give_up_at) {
                /* What the refusal answered is as fresh as a GET now, and
                 * goes stale during a pause: the round after a first
                 * conflict takes it at once; later ones pause (contenders
                 * fall out of step) and read afresh.  Measured with 4
                 * racers on one window (store_redis.sh): taking it for
                 * three rounds made more conflicts; taking it after a
                 * pause starved three relays of 20 sessions each. */
                if (found.nfound > 0 && attempt < FOUND_ROUNDS)
                    continue;
                items_free(found.found, found.nfound);
                memset(&found, 0, sizeof(found));
                usleep(store_retry_pause(attempt));
                continue;
            }
            bg_error_set(err, "store redis %s: the same records kept changing for %d s",
                         store_redis_label(r), CONFLICT_RETRY_MS / 1000);
            break;
        }
        /* A connection the server closed while idle, or a failover: once
         * more on a fresh one, unless a commit was sent (it may have been
         * applied: the caller retries, and the records count it once). */
        if (ret == STORE_REDIS_FAILED && t.broken && !t.committing && !reconnected) {
            reconnected = true;
            txn_clear(&t);
            continue;
        }
        bg_error_set(err, "store redis %s: %s", store_redis_label(r),
                     ret == -1                   ? "a record does not decode"
                     : ret == STORE_ABORTED      ? "transaction abandoned by its caller"
                     : ret == STORE_REDIS_FAILED ? t.why
                                                 : "unexpected error");
        txn_clear(&t);
        break;
    }
    items_free(found.found, found.nfound);
    store_leave(s);
    return -1;
}

/* ---- visits, purge, counts ------------------------------------------------- */

/* One command on a pooled connection; the reply or NULL with err set. */
static redisReply *
pooled_call(bg_store *s, int argc, const char **argv, const size_t *lens, bg_error *err)
{
    store_redis *r = s->redis;
    unsigned gen;
    redisReply *rep = NULL;

    store_enter(s);
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = pool_take(r, &gen, err);
        if (c == NULL)
            break;
        rep = call(c, argc, argv, lens);
        bool broken = rep == NULL || reply_is_error(rep, "READONLY");
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
            bg_error_set(err, "store redis %s: %s: %s", store_redis_label(r), argv[0],
                         rep ? rep->str : c->errstr);
        pool_give(r, c, gen, broken);
        if (rep && rep->type != REDIS_REPLY_ERROR)
            break;
        if (rep)
            freeReplyObject(rep);
        rep = NULL;
        if (!broken)
            break;
    }
    store_leave(s);
    return rep;
}

/* One page of an index in key order: the members from `from` up to `to`
 * (ZRANGEBYLEX bounds: "-", "+", "[KEY" or "(KEY": binary, as long as their
 * lengths say; tried keys hold a NUL), at most `count`.  The array reply, or
 * NULL with err set. */
static redisReply *
index_page(bg_store *s, const bg_buf *idx, const char *from, size_t from_len, const char *to,
           size_t to_len, size_t count, bg_error *err)
{
    char n[24];
    const char *argv[] = {"ZRANGEBYLEX", idx->s, from, to, "LIMIT", "0", n};
    size_t lens[] = {11, idx->len, from_len, to_len, 5, 1, 0};
    redisReply *rep;

    lens[6] = (size_t)snprintf(n, sizeof(n), "%zu", count);
    rep = pooled_call(s, 7, argv, lens, err);

    if (rep != NULL && rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        bg_error_set(err, "store redis: ZRANGEBYLEX: unexpected answer");
        return NULL;
    }
    return rep;
}

/*
 * Two commands written at once on a pooled connection, their replies read
 * after: one round trip.  0 with both replies, or -1 with err set (nothing
 * to free).  A connection the server closed is retried once on a fresh one,
 * as pooled_call does (both are reads).
 */
static int
pooled_pair(bg_store *s, int argc1, const char **argv1, const size_t *lens1, int argc2,
            const char **argv2, const size_t *lens2, redisReply **rep1, redisReply **rep2,
            bg_error *err)
{
    store_redis *r = s->redis;
    unsigned gen;
    int rc = -1;

    store_enter(s);
    for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
        redisContext *c = pool_take(r, &gen, err);
        void *a = NULL, *b = NULL;
        if (c == NULL)
            break;
        bool sent = redisAppendCommandArgv(c, argc1, argv1, lens1) == REDIS_OK &&
                    redisAppendCommandArgv(c, argc2, argv2, lens2) == REDIS_OK;
        bool got = sent && redisGetReply(c, &a) == REDIS_OK && redisGetReply(c, &b) == REDIS_OK;
        bool broken = !got || reply_is_error(a, "READONLY") || reply_is_error(b, "READONLY");
        if (!got) {
            bg_error_set(err, "store redis %s: %s: %s", store_redis_label(r), argv1[0],
                         c->errstr[0] ? c->errstr : "no answer");
        } else if (((redisReply *)a)->type == REDIS_REPLY_ERROR ||
                   ((redisReply *)b)->type == REDIS_REPLY_ERROR) {
            const redisReply *e = ((redisReply *)a)->type == REDIS_REPLY_ERROR ? a : b;
            bg_error_set(err, "store redis %s: %s", store_redis_label(r), e->str);
        } else {
            *rep1 = a;
            *rep2 = b;
            a = b = NULL;
            rc = 0;
        }
        if (a)
            freeReplyObject(a);
        if (b)
            freeReplyObject(b);
        pool_give(r, c, gen, broken);
        if (!broken)
            break;
    }
    store_leave(s);
    return rc;
}

/* The index of dbi and the ZRANGEBYLEX bounds of the members that start
 * with prefix: from it up to its successor (the prefix with its last byte
 * below 0xff counted up, the rest cut), so that a sender's tried recipients
 * are one short page, not a page of the next senders' fetched and thrown
 * away. */
static void
visit_bounds(const store_redis *r, int dbi, const char *prefix, size_t prefix_len, bg_buf *idx,
             bg_buf *from, bg_buf *to)
{
    index_key(r, dbi, idx);
    if (prefix_len) {
        bg_buf_putc(from, '[');
        bg_buf_append(from, prefix, prefix_len);
    } else {
        bg_buf_putc(from, '-');
    }
    bg_buf_putc(to, '+');
    for (size_t i = prefix_len; i > 0; i--) {
        if ((unsigned char)prefix[i - 1] != 0xff) {
            bg_buf_reset(to);
            bg_buf_putc(to, '(');
            bg_buf_append(to, prefix, i);
            to->s[i] = (char)((unsigned char)prefix[i - 1] + 1);
            break;
        }
    }
}

/* The visit itself, page by page; `first`, when given, is its first page,
 * already read (and freed here). */
static int
visit_pages(bg_store *s, int dbi, const char *prefix, size_t prefix_len, bg_buf *idx,
            bg_buf *from, const bg_buf *to, redisReply *first, raw_visit_fn *visit, void *arg,
            bg_error *err)
{
    store_redis *r = s->redis;
    bg_buf fk = BG_BUF_INIT;
    int rc = 0;
    bool done = false;

    while (!done && rc == 0) {
        redisReply *members =
                       first ? first
                             : index_page(s, idx, from->s, from->len, to->s, to->len,
                                          VISIT_BATCH, err),
                   *vals = NULL;

        first = NULL;
        if (members == NULL) {
            rc = -1;
            break;
        }
        size_t n = members->elements;
        if (n < VISIT_BATCH)
            done = true;
        if (n > 0) {
            argvec a = {0};
            argvec_add(&a, "MGET", 4);
            for (size_t i = 0; i < n; i++) {
                full_key(r, dbi, members->element[i]->str, members->element[i]->len, &fk);
                argvec_add(&a, fk.s, fk.len);
            }
            vals = pooled_call(s, (int)a.n, (const char **)a.v, a.len, err);
            argvec_free(&a);
            if (vals == NULL || vals->type != REDIS_REPLY_ARRAY || vals->elements != n) {
                rc = vals ? bg_error_set(err, "store redis: MGET: unexpected answer") : -1;
                n = 0;
            }
        }
        for (size_t i = 0; i < n; i++) {
            const redisReply *m = members->element[i], *v = vals->element[i];
            bg_buf key = BG_BUF_INIT, val = BG_BUF_INIT;
            if (prefix_len && (m->len < prefix_len || memcmp(m->str, prefix, prefix_len) != 0)) {
                done = true;
                break;
            }
            if (v->type != REDIS_REPLY_STRING)
                continue; /* expired since: the purge tidies its member */
            bg_buf_append(&key, m->str, m->len);
            bg_buf_append(&val, v->str, v->len);
            int stop = visit(&key, &val, arg);
            bg_buf_free(&key);
            bg_buf_free(&val);
            if (stop) {
                done = true;
                break;
            }
        }
        if (n > 0) {
            bg_buf_reset(from);
            bg_buf_putc(from, '(');
            bg_buf_append(from, members->element[n - 1]->str, members->element[n - 1]->len);
        }
        if (vals)
            freeReplyObject(vals);
        freeReplyObject(members);
    }
    if (first)
        freeReplyObject(first);
    bg_buf_free(&fk);
    return rc;
}

int
store_redis_visit(bg_store *s, int dbi, const char *prefix, size_t prefix_len,
                  raw_visit_fn *visit, void *arg, bg_error *err)
{
    bg_buf idx = BG_BUF_INIT, from = BG_BUF_INIT, to = BG_BUF_INIT;
    int rc;

    if (!indexed(dbi))
        return bg_error_set(err, "store redis: %s is not listed", db_names[dbi]);
    visit_bounds(s->redis, dbi, prefix, prefix_len, &idx, &from, &to);
    rc = visit_pages(s, dbi, prefix, prefix_len, &idx, &from, &to, NULL, visit, arg, err);
    bg_buf_free(&idx);
    bg_buf_free(&from);
    bg_buf_free(&to);
    return rc;
}

int
store_redis_get_then_visit(bg_store *s, int get_dbi, const void *key, size_t klen,
                           bg_buf *val, bool *found, int dbi, const char *prefix,
                           size_t prefix_len, raw_visit_fn *visit, void *arg, bg_error *err)
{
    bg_buf idx = BG_BUF_INIT, from = BG_BUF_INIT, to = BG_BUF_INIT, fk = BG_BUF_INIT;
    redisReply *got = NULL, *page = NULL;
    char n[24];
    int rc;

    if (!indexed(dbi))
        return bg_error_set(err, "store redis: %s is not listed", db_names[dbi]);
    visit_bounds(s->redis, dbi, prefix, prefix_len, &idx, &from, &to);
    full_key(s->redis, get_dbi, key, klen, &fk);
    {
        const char *get[] = {"GET", fk.s};
        size_t get_lens[] = {3, fk.len};
        const char *range[] = {"ZRANGEBYLEX", idx.s, from.s, to.s, "LIMIT", "0", n};
        size_t range_lens[] = {11, idx.len, from.len, to.len, 5, 1, 0};

        range_lens[6] = (size_t)snprintf(n, sizeof(n), "%d", VISIT_BATCH);
        rc = pooled_pair(s, 2, get, get_lens, 7, range, range_lens, &got, &page, err);
    }
    if (rc == 0 && ((got->type != REDIS_REPLY_STRING && got->type != REDIS_REPLY_NIL) ||
                    page->type != REDIS_REPLY_ARRAY)) {
        rc = bg_error_set(err, "store redis: GET, ZRANGEBYLEX: unexpected answer");
        freeReplyObject(page);
    }
    if (rc == 0) {
        *found = got->type == REDIS_REPLY_STRING;
        bg_buf_reset(val);
        if (*found)
            bg_buf_append(val, got->str, got->len);
        rc = visit_pages(s, dbi, prefix, prefix_len, &idx, &from, &to, page, visit, arg, err);
    }
    if (got)
        freeReplyObject(got);
    bg_buf_free(&idx);
    bg_buf_free(&from);
    bg_buf_free(&to);
    bg_buf_free(&fk);
    return rc;
}

/* Drop the index members whose key is gone, atomically (a key written again
 * meanwhile keeps its member). */
static const char tidy_script[] =
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then\n"
    "    n = n + redis.call('ZREM', KEYS[1], ARGV[i])\n"
    "  end\n"
    "end\n"
    "return n\n";

int
store_redis_purge(bg_store *s, size_t budget, size_t *purged, bg_error *err)
{
    store_redis *r = s->redis;
    bg_buf idx = BG_BUF_INIT, kp = BG_BUF_INIT;
    size_t total = 0, seen = 0;
    int rc = 0;

    for (int dbi = 0; dbi < DBI_COUNT && rc == 0 && seen < budget; dbi++) {
        if (!indexed(dbi))
            continue;
        index_key(r, dbi, &idx);
        bg_buf_reset(&kp);
        bg_buf_puts(&kp, r->prefix);
        bg_buf_puts(&kp, db_names[dbi]);
        bg_buf_putc(&kp, ':');
        for (;;) {
            bg_buf *from = &r->purge_from[dbi]; /* one housekeeping thread calls this */
            redisReply *m = index_page(s, &idx, from->len ? from->s : "-",
                                       from->len ? from->len : 1, "+", 1, TIDY_BATCH, err);
            if (m == NULL) {
                rc = -1;
                break;
            }
            size_t n = m->elements;
            if (n > 0) {
                argvec a = {0};
                argvec_add(&a, "EVAL", 4);
                argvec_add(&a, tidy_script, sizeof(tidy_script) - 1);
                argvec_add(&a, "1", 1);
                argvec_add(&a, idx.s, idx.len);
                argvec_add(&a, kp.s, kp.len);
                for (size_t i = 0; i < n; i++)
                    argvec_add(&a, m->element[i]->str, m->element[i]->len);
                redisReply *t = pooled_call(s, (int)a.n, (const char **)a.v, a.len, err);
                argvec_free(&a);
                if (t == NULL)
                    rc = -1;
                else if (t->type == REDIS_REPLY_INTEGER)
                    total += (size_t)t->integer;
                if (t)
                    freeReplyObject(t);
                bg_buf_reset(from);
                bg_buf_putc(from, '(');
                bg_buf_append(from, m->element[n - 1]->str, m->element[n - 1]->len);
            }
            seen += n;
            freeReplyObject(m);
            if (rc < 0)
                break;
            if (n < TIDY_BATCH) { /* the end: start over next time */
                bg_buf_reset(from);
                break;
            }
            if (seen >= budget)
                break;
        }
    }
    bg_buf_free(&idx);
    bg_buf_free(&kp);
    if (purged)
        *purged = total;
    return rc;
}

int
store_redis_count(bg_store *s, int dbi, uint64_t *out, bg_error *err)
{
    store_redis *r = s->redis;
    bg_buf k = BG_BUF_INIT;
    int rc = 0;

    *out = 0;
    if (dbi == DBI_EXPIRY) /* Redis expires keys itself: no purge index */
        return 0;
    if (indexed(dbi)) {
        index_key(r, dbi, &k);
        const char *argv[] = {"ZCARD", k.s};
        size_t lens[] = {5, k.len};
        redisReply *rep = pooled_call(s, 2, argv, lens, err);
        if (rep && rep->type == REDIS_REPLY_INTEGER)
            *out = (uint64_t)rep->integer;
        else
            rc = rep ? bg_error_set(err, "store redis: ZCARD: unexpected answer") : -1;
        if (rep)
            freeReplyObject(rep);
        bg_buf_free(&k);
        return rc;
    }
    /* Not indexed: count by SCAN (a CLI's question, not the hot path). */
    for (const char *p = r->prefix; *p; p++) {
        if (strchr("*?[]\\", *p))
            bg_buf_putc(&k, '\\');
        bg_buf_putc(&k, *p);
    }
    bg_buf_puts(&k, db_names[dbi]);
    bg_buf_puts(&k, ":*");
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", k.s, "COUNT", "1000"};
        size_t lens[] = {4, strlen(cursor), 5, k.len, 5, 4};
        redisReply *rep = pooled_call(s, 6, argv, lens, err);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = rep ? bg_error_set(err, "store redis: SCAN: unexpected answer") : -1;
            if (rep)
                freeReplyObject(rep);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        *out += rep->element[1]->elements;
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    bg_buf_free(&k);
    return rc;
}

int
store_redis_describe(bg_store *s, bg_store_env_stats *out, bg_error *err)
{
    store_redis *r = s->redis;
    const char *argv[] = {"INFO", "replication"};
    size_t lens[] = {4, 11};
    redisReply *rep = pooled_call(s, 2, argv, lens, err);
    long replicas = 0;

    if (rep == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_STRING) {
        const char *p = strstr(rep->str, "connected_slaves:");
        if (p)
            replicas = strtol(p + strlen("connected_slaves:"), NULL, 10);
    }
    freeReplyObject(rep);
    out->redis = true;
    snprintf(out->backend, sizeof(out->backend),
             "Redis %.100s (primary, %ld replica%s connected, db %ld, keys %.30s*)",
             store_redis_label(r), replicas, replicas == 1 ? "" : "s", r->db, r->prefix);
    return 0;
}
