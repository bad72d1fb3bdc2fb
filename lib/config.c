/*
 * config.c — see include/bounceguard/config.h.
 *
 * The key table below is the single source of truth: the parser, the dump of
 * `bounceguard config`, the `-n` checks and bounceguard.conf(5) all walk it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "bounceguard/config.h"
#include "bounceguard/json_out.h"
#include "bounceguard/netaddr.h"
#include "bounceguard/policy.h"
#include "bounceguard/privs.h"
#include "bounceguard/reply_rules.h"
#include "bounceguard/store.h"
#include "bounceguard/mtalog.h"

typedef enum key_type {
    T_STRING,
    T_BOOL,
    T_INT,
    T_OCTAL,
    T_DURATION,
    T_ENUM,
    T_LIST,
    T_OVERRIDE,
} key_type;

typedef struct enum_value {
    const char *name;
    int value;
} enum_value;

static const enum_value mode_values[] = {
    {"enforce", BG_MODE_ENFORCE}, {"observe", BG_MODE_OBSERVE}, {NULL, 0}};
static const enum_value identity_values[] = {{"auto", BG_IDENTITY_AUTO},
                                             {"sasl", BG_IDENTITY_SASL},
                                             {"ip", BG_IDENTITY_IP},
                                             {"envelope", BG_IDENTITY_ENVELOPE},
                                             {NULL, 0}};
static const enum_value on_error_values[] = {{"tempfail", BG_ON_ERROR_TEMPFAIL},
                                             {"accept", BG_ON_ERROR_ACCEPT},
                                             {"reject", BG_ON_ERROR_REJECT},
                                             {NULL, 0}};
static const enum_value reply_values[] = {
    {"permanent", 1}, {"temporary", 0}, {NULL, 0}};
static const enum_value backend_values[] = {
    {"bdb", BG_BACKEND_BDB}, {"redis", BG_BACKEND_REDIS}, {NULL, 0}};
static const enum_value trust_values[] = {{"correlated", BG_TRUST_CORRELATED},
                                          {"spf", BG_TRUST_SPF},
                                          {"any", BG_TRUST_ANY},
                                          {NULL, 0}};
static const enum_value correlate_values[] = {
    {"queue-id", BG_CORRELATE_QUEUE_ID}, {"message-id", BG_CORRELATE_MESSAGE_ID}, {NULL, 0}};
static const enum_value log_trust_values[] = {
    {"recorded", BG_LOG_TRUST_RECORDED}, {"any", BG_LOG_TRUST_ANY}, {NULL, 0}};

typedef struct key_def {
    const char *name;
    key_type type;
    size_t offset;
    const char *def;           /* default, as it would be written in the file */
    long long min, max;        /* bounds for T_INT, T_OCTAL and T_DURATION (seconds) */
    const enum_value *values;  /* for T_ENUM */
    const char *help;
} key_def;

#define OFF(f) offsetof(bg_config, f)

static const key_def keys[] = {
    {"socket", T_STRING, OFF(socket), "inet:8894@127.0.0.1", 0, 0, NULL,
     "milter socket: inet:PORT@HOST, inet6:PORT@HOST or unix:PATH"},
    {"socket_mode", T_OCTAL, OFF(socket_mode), "0660", 0, 0777, NULL,
     "permissions of a unix socket, made so at bind (the MTA needs read and write; "
     "ignored for inet)"},
    {"socket_group", T_STRING, OFF(socket_group), "", 0, 0, NULL,
     "group of a unix socket, e.g. postfix, so that the MTA may connect; empty = the "
     "group of user"},
    {"db_home", T_STRING, OFF(db_home), "/var/lib/bounceguard", 0, 0, NULL,
     "Berkeley DB environment directory shared by milter, watcher and CLI"},
    {"db_cache_mb", T_INT, OFF(db_cache_mb), "8", 1, 4096, NULL,
     "Berkeley DB cache in MB, fixed when the store is created (8 MB holds about 10,000 "
     "recipients' pages; a store takes about 14 MB on disk plus 1.25 times this)"},
    {"store", T_ENUM, OFF(store_backend), "bdb", 0, 0, backend_values,
     "where the state lives: bdb (Berkeley DB in db_home, this host only) or redis "
     "(a Redis server several relays share: the redis_ keys)"},
    {"redis_servers", T_STRING, OFF(redis_servers), "", 0, 0, NULL,
     "with store = redis: HOST:PORT, [IPV6]:PORT or /path/to/redis.sock, blank-separated; "
     "the first that says it is the primary is used (rediss:// is refused: no TLS in "
     "hiredis 0.14)"},
    {"redis_sentinels", T_STRING, OFF(redis_sentinels), "", 0, 0, NULL,
     "Redis Sentinels (HOST:PORT, port 26379 by default) that name the primary; tried "
     "before redis_servers"},
    {"redis_master_name", T_STRING, OFF(redis_master_name), "mymaster", 0, 0, NULL,
     "the name under which the sentinels monitor the primary"},
    {"redis_user", T_STRING, OFF(redis_user), "", 0, 0, NULL,
     "Redis ACL user; empty = the default user"},
    {"redis_password", T_STRING, OFF(redis_password), "", 0, 0, NULL,
     "password of redis_user (or requirepass); keep this file unreadable by others"},
    {"redis_sentinel_user", T_STRING, OFF(redis_sentinel_user), "", 0, 0, NULL,
     "the Sentinels' ACL user, when they have their own; empty = their default user"},
    {"redis_sentinel_password", T_STRING, OFF(redis_sentinel_password), "", 0, 0, NULL,
     "the Sentinels' password (their requirepass), which may differ from the data "
     "servers' redis_password; empty = the Sentinels ask for none"},
    {"redis_db", T_INT, OFF(redis_db), "0", 0, 10000, NULL, "the Redis database number"},
    {"redis_prefix", T_STRING, OFF(redis_prefix), "bounceguard:", 0, 0, NULL,
     "every key bounceguard writes begins with it (one prefix per cluster of relays)"},
    {"redis_timeout", T_INT, OFF(redis_timeout), "500", 10, 60000, NULL,
     "deadline of each Redis connect and call, in milliseconds"},
    {"redis_replicas", T_INT, OFF(redis_replicas), "0", 0, 16, NULL,
     "a learned bounce or a block is acknowledged only after this many replicas "
     "confirm it (WAIT); 0 = once the primary has it"},
    {"log_dir", T_STRING, OFF(log_dir), "/var/log/bounceguard", 0, 0, NULL,
     "directory of debug.log, warning.log and error.log; empty = no log files"},
    {"syslog", T_BOOL, OFF(syslog), "yes", 0, 0, NULL,
     "also log to syslog, facility mail"},
    {"debug", T_BOOL, OFF(debug), "no", 0, 0, NULL,
     "debug log at start-up (switch at run time with `bounceguard debug on|off`)"},
    {"pid_file", T_STRING, OFF(pid_file), "/run/bounceguard/bounceguard-milter.pid", 0, 0,
     NULL, "pid file of the milter; empty = none"},
    {"user", T_STRING, OFF(user), "bounceguard", 0, 0, NULL,
     "unprivileged user the daemons switch to when started as root"},
    {"mode", T_ENUM, OFF(mode), "enforce", 0, 0, mode_values,
     "enforce: refuse mail; observe: decide and log everything, refuse nothing"},
    {"blacklist_period", T_DURATION, OFF(blacklist_period), "14d", 60, 3650LL * 86400,
     NULL, "a bounced recipient is refused this long after its last bounce"},
    {"quota_limit", T_INT, OFF(quota_limit), "100", 0, 100000000, NULL,
     "messages a sender may send per quota window; 0 = no quota"},
    {"quota_window", T_DURATION, OFF(quota_window), "24h", 60, 366LL * 86400, NULL,
     "fixed window anchored at the first message in it"},
    {"sender_bounce_limit", T_INT, OFF(sender_bounce_limit), "10", 0, 1000000, NULL,
     "a sender that tried this many distinct blacklisted recipients is blocked; 0 = never"},
    {"sender_identity", T_ENUM, OFF(sender_identity), "auto", 0, 0, identity_values,
     "who a sender is: auto (SASL login, else client IP), sasl, ip, envelope"},
    {"on_store_error", T_ENUM, OFF(on_store_error), "tempfail", 0, 0, on_error_values,
     "verdict when the store fails: tempfail, accept, reject"},
    {"invalid_reply", T_ENUM, OFF(invalid_permanent), "permanent", 0, 0, reply_values,
     "invalid address / unknown TLD: permanent (5xx) or temporary (4xx)"},
    {"blacklist_reply", T_ENUM, OFF(blacklist_permanent), "permanent", 0, 0, reply_values,
     "blacklisted recipient: permanent or temporary"},
    {"sender_blocked_reply", T_ENUM, OFF(sender_blocked_permanent), "permanent", 0, 0,
     reply_values, "blocked sender: permanent or temporary"},
    {"quota_reply", T_ENUM, OFF(quota_permanent), "temporary", 0, 0, reply_values,
     "sender over quota: permanent or temporary"},
    {"invalid_text", T_STRING, OFF(invalid_text), "", 0, 0, NULL,
     "reply text for an invalid address or unknown TLD; empty = \"Email address format "
     "is not valid.\""},
    {"blacklist_text", T_STRING, OFF(blacklist_text), "", 0, 0, NULL,
     "reply text for a recipient blacklisted by its bounces; empty = \"Email send failed. "
     "Recipient is blacklisted due to bounce messages.\""},
    {"manual_block_text", T_STRING, OFF(manual_block_text), "", 0, 0, NULL,
     "reply text for a recipient blocked by hand (bounceguard block); empty = \"Email send "
     "failed. Recipient is blocked by the mail administrator.\""},
    {"sender_blocked_text", T_STRING, OFF(sender_blocked_text), "", 0, 0, NULL,
     "reply text for a blocked sender; empty = \"Your appliance is not allowed to send "
     "emails due to too many bounced emails.\""},
    {"quota_text", T_STRING, OFF(quota_text), "", 0, 0, NULL,
     "reply text for a sender over quota; empty = \"Your appliance exhausted email "
     "quota.\""},
    {"check_tld", T_BOOL, OFF(check_tld), "yes", 0, 0, NULL,
     "refuse recipients whose top-level domain does not exist (Public Suffix List)"},
    {"recipient_limit", T_INT, OFF(recipient_limit), "1000", 1, 100000, NULL,
     "recipients accepted per message (more get 452 4.5.3, sent in a later "
     "transaction): bounds what is recorded per message"},
    {"exempt_recipients", T_LIST, OFF(exempt_recipients), "postmaster abuse", 0, 0, NULL,
     "local parts never refused as blacklisted or for a blocked sender (they count "
     "against the quota)"},
    {"trusted_networks", T_LIST, OFF(trusted_networks), "", 0, 0, NULL,
     "client networks (CIDR) that skip the quota"},
    {"trusted_senders", T_LIST, OFF(trusted_senders), "", 0, 0, NULL,
     "sender identities that skip the quota"},
    {"never_blacklist", T_LIST, OFF(never_blacklist), "", 0, 0, NULL,
     "recipients (addresses or @domain) that are never blacklisted"},
    {"sender_override", T_OVERRIDE, 0, "", 0, 0, NULL,
     "ID quota_limit=N sender_bounce_limit=N (repeatable): per-sender limits"},
    {"blacklist_reasons", T_LIST, OFF(blacklist_reasons),
     "userunknown hostunknown hasmoved notaccept suspend", 0, 0, NULL,
     "bounce reasons that blacklist the recipient"},
    {"dsn_trust", T_ENUM, OFF(dsn_trust), "correlated", 0, 0, trust_values,
     "which bounces may blacklist: correlated (from the recipient's side of a message "
     "sent), spf (also uncorrelated ones from a host of the recipient's domain), any"},
    {"grace_period", T_DURATION, OFF(grace_period), "0", 0, 365LL * 86400, NULL,
     "after an unblock, bounces do not re-block for this long (unblock --grace)"},
    {"history_period", T_DURATION, OFF(history_period), "90d", 0, 3650LL * 86400, NULL,
     "expired blacklist entries are kept this long for `list --expired`, then purged"},
    {"message_retention", T_DURATION, OFF(message_retention), "7d", 3600, 365LL * 86400,
     NULL, "how long sent messages are remembered for correlating bounces"},
    {"correlate", T_ENUM, OFF(correlate), "message-id", 0, 0, correlate_values,
     "what the milter files to match a message's bounces: queue-id (the relay's queue ID, "
     "which a bounce carries in the returned Received: header or in its own DSN; no header "
     "is read) or message-id (also the Message-ID: the milter reads every header)"},
    {"return_path_rewrite", T_BOOL, OFF(return_path_rewrite), "no", 0, 0, NULL,
     "rewrite the envelope sender to a signed VERP address at verp_domain"},
    {"verp_domain", T_STRING, OFF(verp_domain), "", 0, 0, NULL,
     "domain of the VERP return path (bounces+TOKEN@verp_domain); the milter refuses "
     "any other address there"},
    {"verp_secret_file", T_STRING, OFF(verp_secret_file), "", 0, 0, NULL,
     "file holding the HMAC secret of VERP tokens"},
    {"verp_previous_secret_file", T_STRING, OFF(verp_previous_secret_file), "", 0, 0, NULL,
     "file holding the secret used before the current one: its tokens still verify "
     "(rotation)"},
    {"log_syslog_names", T_LIST, OFF(log_syslog_names), BG_MTALOG_SYSLOG_NAMES, 0, 0, NULL,
     "Postfix syslog_name values whose delivery lines `bounceguard-dsn log` reads "
     "(multi-instance: postfix-out ...)"},
    {"log_delivery_agents", T_LIST, OFF(log_delivery_agents), BG_MTALOG_DELIVERY_AGENTS, 0,
     0, NULL,
     "Postfix delivery agents and master.cf service names: only NAME/AGENT[pid] and "
     "NAME/SERVICE/AGENT[pid] lines are delivery records"},
    {"log_trust", T_ENUM, OFF(log_trust), "recorded", 0, 0, log_trust_values,
     "which log bounces count: recorded (queue ID and recipient recorded by the milter), "
     "any (unsafe)"},
    {"reply_rules_file", T_STRING, OFF(reply_rules_file), "", 0, 0, NULL,
     "more provider refusal codes, tried before the built-in table: provider, match, "
     "scope, reason, name, source per line, tab-separated (bounceguard-dsn(8))"},
    {"purge_batch", T_INT, OFF(purge_batch), "500", 1, 100000, NULL,
     "expired records removed per transaction"},
    {"rbl_lists", T_LIST, OFF(rbl_lists), "", 0, 0, NULL,
     "DNSBL zones for `bounceguard rbl check`; empty = the built-in list"},
    {"dns_resolver", T_STRING, OFF(dns_resolver), "", 0, 0, NULL,
     "resolver IP[:PORT] for DNSBL queries; empty = the system resolver"},
    {"rbl_timeout", T_DURATION, OFF(rbl_timeout), "5s", 1, 300, NULL,
     "time allowed to each DNSBL query"},
    {"metrics_listen", T_STRING, OFF(metrics_listen), "", 0, 0, NULL,
     "ADDRESS:PORT ([ADDRESS]:PORT for IPv6) where the milter serves Prometheus metrics "
     "at /metrics; empty = off; read at start only"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void
strlist_free(bg_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static void
strlist_parse(bg_strlist *l, const char *value)
{
    const char *p = value;

    strlist_free(l);
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        if (p > start) {
            l->items = bg_xrealloc(l->items, (l->count + 1) * sizeof(char *));
            l->items[l->count++] = bg_xstrndup(start, (size_t)(p - start));
        }
    }
}

bool
bg_strlist_has(const bg_strlist *l, const char *word)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcasecmp(l->items[i], word) == 0)
            return true;
    return false;
}

static int
parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

/*
 * The offending text for an error message: "\"maybe\"" when the caller may
 * see the config's content, else "the value".  A config error must not
 * quote a file the caller could not read (`sudo bounceguard -c /etc/shadow`
 * would print a line of it); file:line, the key and what is wrong are
 * enough to find it.  Written into buf[size]; returns it.
 */
static const char *
shown(const char *text, bool quote, char *buf, size_t size)
{
    if (quote)
        snprintf(buf, size, "\"%.80s\"", text);
    else
        bg_strlcpy(buf, "the value", size);
    return buf;
}

static int
parse_override(bg_config *c, const char *value, bool quote, bg_error *err)
{
    char q[100];

    bg_strlist words = {NULL, 0};
    bg_sender_override o = {NULL, -1, -1};
    int rc = 0;

    strlist_parse(&words, value);
    if (words.count < 2) {
        strlist_free(&words);
        return bg_error_set(err, "expected \"IDENTITY quota_limit=N "
                                 "sender_bounce_limit=N\"");
    }
    for (size_t i = 1; i < words.count && rc == 0; i++) {
        char *eq = strchr(words.items[i], '=');
        char *end;
        long *dst;
        if (eq == NULL) {
            rc = bg_error_set(err, "%s: expected NAME=NUMBER",
                              shown(words.items[i], quote, q, sizeof(q)));
            break;
        }
        *eq = '\0';
        if (strcmp(words.items[i], "quota_limit") == 0)
            dst = &o.quota_limit;
        else if (strcmp(words.items[i], "sender_bounce_limit") == 0)
            dst = &o.sender_bounce_limit;
        else {
            rc = bg_error_set(err, "unknown override %s (quota_limit, "
                                   "sender_bounce_limit)",
                              shown(words.items[i], quote, q, sizeof(q)));
            break;
        }
        errno = 0;
        long v = strtol(eq + 1, &end, 10);
        if (errno || *end || eq[1] == '\0' || v < 0 || v > 100000000)
            rc = bg_error_set(err, "%s=%s: not a number from 0 to 100000000",
                              words.items[i], quote ? eq + 1 : "...");
        *dst = v;
    }
    if (rc == 0) {
        o.identity = bg_xstrdup(words.items[0]);
        c->overrides = bg_xrealloc(c->overrides, (c->override_count + 1) * sizeof(o));
        c->overrides[c->override_count++] = o;
    }
    strlist_free(&words);
    return rc;
}

static int
set_key(bg_config *c, const key_def *k, const char *value, bool quote, bg_error *err)
{
    char *base = (char *)c;
    char *end;
    char q[100];

    switch (k->type) {
    case T_STRING: {
        char **dst = (char **)(base + k->offset);
        free(*dst);
        *dst = bg_xstrdup(value);
        return 0;
    }
    case T_BOOL:
        if (parse_bool(value, (bool *)(base + k->offset)) < 0)
            return bg_error_set(err, "%s: %s is not yes or no", k->name,
                                shown(value, quote, q, sizeof(q)));
        return 0;
    case T_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || *end || *value == '\0' || v < k->min || v > k->max)
            return bg_error_set(err, "%s: %s is not a number from %lld to %lld", k->name,
                                shown(value, quote, q, sizeof(q)), k->min, k->max);
        *(long *)(base + k->offset) = (long)v;
        return 0;
    }
    case T_OCTAL: {
        /* Digits 0 to 7 only: "999" or "rw-rw----" is an error, not a
         * decimal read in octal or a mode of 0. */
        errno = 0;
        long long v = strtoll(value, &end, 8);
        if (errno || *end || *value == '\0' || strspn(value, "01234567") != strlen(value) ||
            v < k->min || v > k->max)
            return bg_error_set(err, "%s: %s is not an octal mode from %04llo to %04llo",
                                k->name, shown(value, quote, q, sizeof(q)), k->min, k->max);
        *(long *)(base + k->offset) = (long)v;
        return 0;
    }
    case T_DURATION: {
        int64_t v;
        bg_error derr;
        if (bg_duration_parse(value, &v, &derr) < 0)
            return quote ? bg_error_set(err, "%s: %s", k->name, derr.msg)
                         : bg_error_set(err, "%s: the value is not a duration (90, 30s, "
                                             "15m, 24h, 14d, 2w, 1d12h)",
                                        k->name);
        if (v < k->min || v > k->max)
            return bg_error_set(err, "%s: %s is out of range (%llds to %llds)", k->name,
                                shown(value, quote, q, sizeof(q)), k->min, k->max);
        *(int64_t *)(base + k->offset) = v;
        return 0;
    }
    case T_ENUM:
        for (const enum_value *ev = k->values; ev->name; ev++) {
            if (strcasecmp(ev->name, value) == 0) {
                /* Reply classes are stored as bool, the others as int enums. */
                if (k->values == reply_values)
                    *(bool *)(base + k->offset) = ev->value != 0;
                else
                    *(int *)(base + k->offset) = ev->value;
                return 0;
            }
        }
        {
            bg_buf names = BG_BUF_INIT;
            for (const enum_value *ev = k->values; ev->name; ev++)
                bg_buf_printf(&names, "%s%s", ev == k->values ? "" : ", ", ev->name);
            bg_error_set(err, "%s: %s is not one of: %s", k->name,
                         shown(value, quote, q, sizeof(q)), bg_buf_str(&names));
            bg_buf_free(&names);
        }
        return -1;
    case T_LIST:
        strlist_parse((bg_strlist *)(base + k->offset), value);
        return 0;
    case T_OVERRIDE:
        if (*value == '\0')
            return 0;
        {
            bg_error oerr;
            if (parse_override(c, value, quote, &oerr) < 0)
                return bg_error_set(err, "%s: %s", k->name, oerr.msg);
        }
        return 0;
    }
    return bg_error_set(err, "%s: internal error: unknown key type", k->name);
}

static const key_def *
find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void
bg_config_redis_opts(const bg_config *c, bg_store_redis_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->servers = c->redis_servers;
    o->sentinels = c->redis_sentinels;
    o->master_name = c->redis_master_name;
    o->user = c->redis_user;
    o->password = c->redis_password;
    o->sentinel_user = c->redis_sentinel_user;
    o->sentinel_password = c->redis_sentinel_password;
    o->db = c->redis_db;
    o->prefix = c->redis_prefix;
    o->timeout_ms = (unsigned)c->redis_timeout;
    o->replicas = (unsigned)c->redis_replicas;
}

bg_config *
bg_config_defaults(void)
{
    bg_config *c = bg_xcalloc(1, sizeof(*c));

    c->path = bg_xstrdup("");
    for (size_t i = 0; i < NKEYS; i++) {
        bg_error err;
        if (set_key(c, &keys[i], keys[i].def, true, &err) < 0)
            abort(); /* a bad default is a bug, caught by the unit tests */
    }
    c->refs_ = 1;
    return c;
}

/*
 * What is wrong with a milter socket spec, or NULL when libmilter will bind
 * what it says.  libmilter reads a port with atoi() and truncates it to 16
 * bits: inet:99999 listens on 34463, a port no MTA is told about.
 */
static const char *
socket_problem(const char *spec)
{
    const char *rest;

    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
        return strchr(spec, ':')[1] == '\0' ? "has no path" : NULL;
    if (strncmp(spec, "inet:", 5) == 0)
        rest = spec + 5;
    else if (strncmp(spec, "inet6:", 6) == 0)
        rest = spec + 6;
    else
        return "is not inet:PORT@HOST, inet6:PORT@HOST or unix:PATH";
    size_t digits = strspn(rest, "0123456789");
    if (digits == 0 || (rest[digits] != '\0' && rest[digits] != '@'))
        return "has no port number (inet:PORT@HOST)";
    long port = digits > 5 ? 0 : strtol(rest, NULL, 10);
    if (port < 1 || port > 65535)
        return "has a port outside 1 to 65535";
    if (rest[digits] == '@' && rest[digits + 1] == '\0')
        return "has no host after @";
    return NULL;
}

int
bg_config_check_socket(const char *spec, bg_error *err)
{
    const char *problem = socket_problem(spec);

    return problem ? bg_error_set(err, "socket \"%.80s\" %s", spec, problem) : 0;
}

/* store = redis: the servers it names, and what finding them needs. */
static int
redis_check(const bg_config *c, bg_error *err)
{
    bg_endpoint e[BG_ENDPOINTS_MAX];
    size_t ns = 0, nsent = 0;

    if (bg_endpoint_list_parse("redis_servers", c->redis_servers, BG_REDIS_PORT, e, &ns, err) <
            0 ||
        bg_endpoint_list_parse("redis_sentinels", c->redis_sentinels, BG_SENTINEL_PORT, e, &nsent,
                               err) < 0)
        return -1;
    if (ns == 0 && nsent == 0)
        return bg_error_set(err, "store = redis needs redis_servers or redis_sentinels");
    if (nsent > 0 && c->redis_master_name[0] == '\0')
        return bg_error_set(err, "redis_sentinels needs redis_master_name (the name the "
                                 "sentinels monitor)");
    if (c->redis_prefix[0] == '\0')
        return bg_error_set(err, "redis_prefix must not be empty (it keeps bounceguard's keys "
                                 "apart from others')");
    return 0;
}

/* Cross-key checks, and values a type alone cannot check. */
static int
validate(const bg_config *c, bool quote, bg_error *err)
{
    char q[100];
    const char *problem;

    if (c->db_home[0] == '\0')
        return bg_error_set(err, "db_home must not be empty");
    if (c->store_backend == BG_BACKEND_REDIS && redis_check(c, err) < 0)
        return -1;
    if (c->return_path_rewrite && (c->verp_domain[0] == '\0' || c->verp_secret_file[0] == '\0'))
        return bg_error_set(err, "return_path_rewrite = yes needs verp_domain and "
                                 "verp_secret_file");
    if ((problem = socket_problem(c->socket)) != NULL)
        return bg_error_set(err, "socket: %s %s", shown(c->socket, quote, q, sizeof(q)),
                            problem);
    if (c->metrics_listen[0] && (problem = bg_listen_parse(c->metrics_listen, NULL, NULL)))
        return bg_error_set(err, "metrics_listen: %s %s",
                            shown(c->metrics_listen, quote, q, sizeof(q)), problem);
    /* Reply texts go to the SMTP client as they are: printable ASCII (RFC 5321
     * replies are ASCII), no '%' (libmilter's smfi_setreply() reads it as a
     * format), short enough for one reply line. */
    const char *const texts[][2] = {{"invalid_text", c->invalid_text},
                                    {"blacklist_text", c->blacklist_text},
                                    {"manual_block_text", c->manual_block_text},
                                    {"sender_blocked_text", c->sender_blocked_text},
                                    {"quota_text", c->quota_text}};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *t = texts[i][1];
        if (strlen(t) > 200)
            return bg_error_set(err, "%s: longer than 200 characters", texts[i][0]);
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
            if (*p < 0x20 || *p > 0x7e || *p == '%')
                return bg_error_set(err, "%s: %s holds '%s' (printable ASCII only, no %%)",
                                    texts[i][0], shown(t, quote, q, sizeof(q)),
                                    *p == '%' ? "%" : "a non-ASCII byte");
    }
    /* A network the quota exemption cannot read would silently never match. */
    for (size_t i = 0; i < c->trusted_networks.count; i++)
        if (!bg_network_valid(c->trusted_networks.items[i]))
            return bg_error_set(err,
                                "trusted_networks: %s is not a network (ADDR/BITS or ADDR, "
                                "IPv4 or IPv6)",
                                shown(c->trusted_networks.items[i], quote, q, sizeof(q)));
    return 0;
}

static char *
trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* The parser; quote: error messages may quote the text (see shown()). */
static bg_config *
config_parse(const char *name, const char *text, bool quote, bg_error *err)
{
    bg_config *c = bg_config_defaults();
    const char *p = text;
    unsigned lineno = 0;

    free(c->path);
    c->path = bg_xstrdup(name);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len > 4096) {
            bg_error_set(err, "%s:%u: line longer than 4096 bytes", name, lineno);
            return bg_config_unref(c);
        }
        if (memchr(p, '\0', len) != NULL) {
            bg_error_set(err, "%s:%u: NUL byte in line", name, lineno);
            return bg_config_unref(c);
        }
        char *line = bg_xstrndup(p, len);
        char *s = trim(line);
        p += len + (nl ? 1 : 0);
        if (*s == '\0' || *s == '#') {
            free(line);
            continue;
        }
        /* A control character other than a tab (a stray CR, an escape) is
         * refused: it would be invisible in an editor and in the -n dump, and a
         * CR at the end of a value vanishes when the dump is read back. */
        for (const unsigned char *q = (const unsigned char *)s; *q; q++)
            if ((*q < 0x20 && *q != '\t') || *q == 0x7f) {
                bg_error_set(err, "%s:%u: control character 0x%02x in line", name, lineno,
                             *q);
                free(line);
                return bg_config_unref(c);
            }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            if (quote)
                bg_error_set(err, "%s:%u: expected \"key = value\", got \"%.60s\"", name,
                             lineno, s);
            else
                bg_error_set(err, "%s:%u: expected \"key = value\" (line not shown)",
                             name, lineno);
            free(line);
            return bg_config_unref(c);
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        /* Allow "value" with quotes, for values with leading blanks. */
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        const key_def *k = find_key(key);
        bg_error kerr;
        if (k == NULL) {
            if (quote)
                bg_error_set(err, "%s:%u: unknown key \"%.60s\"", name, lineno, key);
            else
                bg_error_set(err, "%s:%u: unknown key (not shown)", name, lineno);
            free(line);
            return bg_config_unref(c);
        }
        if (set_key(c, k, value, quote, &kerr) < 0) {
            bg_error_set(err, "%s:%u: %s", name, lineno, kerr.msg);
            free(line);
            return bg_config_unref(c);
        }
        free(line);
    }
    bg_error verr;
    if (validate(c, quote, &verr) < 0) {
        bg_error_set(err, "%s: %s", name, verr.msg);
        return bg_config_unref(c);
    }
    return c;
}

bg_config *
bg_config_parse(const char *name, const char *text, bg_error *err)
{
    return config_parse(name, text, true, err);
}

/*
 * May the person running this program read the file at path?  access()
 * answers for the real uid (a set-uid caller); under sudo the real uid is 0
 * and the person is SUDO_UID, who may not have been able to: then no.  The
 * environment can only make this answer "no", which costs a quote in an
 * error message, never discloses anything.
 */
static bool
caller_may_read(const char *path)
{
    if (getuid() == 0) {
        const char *sudo = getenv("SUDO_UID");
        return sudo == NULL || strcmp(sudo, "0") == 0;
    }
    return access(path, R_OK) == 0;
}

/* Make *slot absolute, relative to dir, unless it is empty or absolute. */
static void
anchor_path(char **slot, const char *prefix, const char *dir)
{
    const char *rel = *slot + strlen(prefix);

    if (strncmp(*slot, prefix, strlen(prefix)) != 0 || rel[0] == '\0' || rel[0] == '/')
        return;
    char *abs = bg_xasprintf("%s%s/%s", prefix, dir, rel);
    free(*slot);
    *slot = abs;
}

/*
 * A relative path in the file is taken from the file's own directory, not
 * from wherever the program was started: `bounceguard -c conf/demo.conf`
 * finds the demo's store from any directory, and a daemon that started in /
 * reads the same paths as the CLI run from a shell.
 */
static int
anchor_relative_paths(bg_config *c, const char *path, bg_error *err)
{
    char *real = realpath(path, NULL);
    char *slash;

    if (real == NULL)
        return bg_error_set(err, "cannot resolve config path %s: %s", path, strerror(errno));
    if ((slash = strrchr(real, '/')) != NULL)
        *slash = '\0'; /* "/bounceguard.conf" gives "", and "/" + path */
    anchor_path(&c->db_home, "", real);
    anchor_path(&c->log_dir, "", real);
    anchor_path(&c->pid_file, "", real);
    anchor_path(&c->socket, "unix:", real);
    anchor_path(&c->verp_secret_file, "", real);
    anchor_path(&c->verp_previous_secret_file, "", real);
    anchor_path(&c->reply_rules_file, "", real);
    free(real);
    return 0;
}

bg_config *
bg_config_load(const char *path, bool allow_missing, bg_error *err)
{
    bg_buf text = BG_BUF_INIT;

    if (bg_read_text_file(path, 1024 * 1024, &text) < 0) {
        int e = errno;

        bg_buf_free(&text);
        if (e == ENOENT && allow_missing)
            return bg_config_defaults();
        if (e == EFBIG)
            bg_error_set(err, "%s: config larger than 1 MB", path);
        /* An embedded NUL would hide the rest of the file from the parser. */
        else if (e == EILSEQ)
            bg_error_set(err, "%s: file contains a NUL byte (is it a text file?)", path);
        else
            bg_error_set(err, "cannot read config %s: %s", path, strerror(e));
        return NULL;
    }
    bg_config *c = config_parse(path, bg_buf_str(&text), caller_may_read(path), err);
    bg_buf_free(&text);
    if (c && anchor_relative_paths(c, path, err) < 0)
        return bg_config_unref(c);
    if (c && c->reply_rules_file[0]) {
        bg_error rerr;
        c->reply_rules = bg_reply_rules_load(c->reply_rules_file, &rerr);
        if (c->reply_rules == NULL) {
            bg_error_set(err, "%s: reply_rules_file: %s", path, rerr.msg);
            return bg_config_unref(c);
        }
    }
    return c;
}

bg_config *
bg_config_ref(bg_config *c)
{
    __atomic_fetch_add(&c->refs_, 1, __ATOMIC_SEQ_CST);
    return c;
}

bg_config *
bg_config_unref(bg_config *c)
{
    if (c == NULL || __atomic_fetch_sub(&c->refs_, 1, __ATOMIC_ACQ_REL) != 1)
        return NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        char *base = (char *)c;
        if (keys[i].type == T_STRING)
            free(*(char **)(base + keys[i].offset));
        else if (keys[i].type == T_LIST)
            strlist_free((bg_strlist *)(base + keys[i].offset));
    }
    for (size_t i = 0; i < c->override_count; i++)
        free(c->overrides[i].identity);
    free(c->overrides);
    bg_reply_rules_free(c->reply_rules);
    free(c->path);
    free(c);
    return NULL;
}

static void
format_value(const bg_config *c, const key_def *k, bg_buf *out)
{
    const char *base = (const char *)c;

    switch (k->type) {
    case T_STRING:
        /* `bounceguard config` shows the config to whoever runs it: not the
         * password of the shared store. */
        if ((strcmp(k->name, "redis_password") == 0 ||
             strcmp(k->name, "redis_sentinel_password") == 0) &&
            **(char *const *)(base + k->offset))
            bg_buf_puts(out, "(set, not shown)");
        else
            bg_buf_puts(out, *(char *const *)(base + k->offset));
        break;
    case T_BOOL:
        bg_buf_puts(out, *(const bool *)(base + k->offset) ? "yes" : "no");
        break;
    case T_INT:
        bg_buf_printf(out, "%ld", *(const long *)(base + k->offset));
        break;
    case T_OCTAL:
        bg_buf_printf(out, "%04lo", (unsigned long)*(const long *)(base + k->offset));
        break;
    case T_DURATION: {
        int64_t v = *(const int64_t *)(base + k->offset);
        if (v % 86400 == 0 && v)
            bg_buf_printf(out, "%lldd", (long long)(v / 86400));
        else if (v % 3600 == 0 && v)
            bg_buf_printf(out, "%lldh", (long long)(v / 3600));
        else
            bg_buf_printf(out, "%llds", (long long)v);
        break;
    }
    case T_ENUM: {
        int v = k->values == reply_values ? *(const bool *)(base + k->offset)
                                          : *(const int *)(base + k->offset);
        for (const enum_value *ev = k->values; ev->name; ev++)
            if (ev->value == v) {
                bg_buf_puts(out, ev->name);
                break;
            }
        break;
    }
    case T_LIST: {
        const bg_strlist *l = (const bg_strlist *)(base + k->offset);
        for (size_t i = 0; i < l->count; i++)
            bg_buf_printf(out, "%s%s", i ? " " : "", l->items[i]);
        break;
    }
    case T_OVERRIDE:
        break;
    }
}

void
bg_config_dump(const bg_config *c, FILE *fp)
{
    bg_buf v = BG_BUF_INIT;

    for (size_t i = 0; i < NKEYS; i++) {
        fprintf(fp, "# %s\n", keys[i].help);
        if (keys[i].type == T_OVERRIDE) {
            for (size_t j = 0; j < c->override_count; j++) {
                const bg_sender_override *o = &c->overrides[j];
                fprintf(fp, "%s = %s", keys[i].name, o->identity);
                if (o->quota_limit >= 0)
                    fprintf(fp, " quota_limit=%ld", o->quota_limit);
                if (o->sender_bounce_limit >= 0)
                    fprintf(fp, " sender_bounce_limit=%ld", o->sender_bounce_limit);
                fputc('\n', fp);
            }
            continue;
        }
        bg_buf_reset(&v);
        format_value(c, &keys[i], &v);
        /* A value that starts or ends with a quote or a blank is written in
         * quotes, so that it reads back the same (the parser strips one pair). */
        const char *val = bg_buf_str(&v);
        bool quote = v.len > 0 && (val[0] == '"' || val[0] == ' ' || val[0] == '\t' ||
                                   val[v.len - 1] == '"' || val[v.len - 1] == ' ' ||
                                   val[v.len - 1] == '\t');
        fprintf(fp, quote ? "%s = \"%s\"\n" : "%s = %s\n", keys[i].name, val);
    }
    bg_buf_free(&v);
}

void
bg_config_dump_json(const bg_config *c, bg_buf *out)
{
    const char *base = (const char *)c;
    bg_buf v = BG_BUF_INIT;

    bg_buf_puts(out, "{\"config\":");
    bg_json_string(out, c->path[0] ? c->path : NULL);
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        bg_buf_putc(out, ',');
        bg_json_string(out, k->name);
        bg_buf_putc(out, ':');
        switch (k->type) {
        case T_BOOL:
            bg_buf_puts(out, *(const bool *)(base + k->offset) ? "true" : "false");
            break;
        case T_INT:
            bg_buf_printf(out, "%ld", *(const long *)(base + k->offset));
            break;
        case T_DURATION: /* seconds: what a script computes with */
            bg_buf_printf(out, "%lld", (long long)*(const int64_t *)(base + k->offset));
            break;
        case T_LIST: {
            const bg_strlist *l = (const bg_strlist *)(base + k->offset);
            bg_buf_putc(out, '[');
            for (size_t j = 0; j < l->count; j++) {
                if (j)
                    bg_buf_putc(out, ',');
                bg_json_string(out, l->items[j]);
            }
            bg_buf_putc(out, ']');
            break;
        }
        case T_OVERRIDE:
            bg_buf_putc(out, '[');
            for (size_t j = 0; j < c->override_count; j++) {
                const bg_sender_override *o = &c->overrides[j];
                bg_buf_puts(out, j ? ",{\"identity\":" : "{\"identity\":");
                bg_json_string(out, o->identity);
                if (o->quota_limit >= 0)
                    bg_buf_printf(out, ",\"quota_limit\":%ld", o->quota_limit);
                if (o->sender_bounce_limit >= 0)
                    bg_buf_printf(out, ",\"sender_bounce_limit\":%ld", o->sender_bounce_limit);
                bg_buf_putc(out, '}');
            }
            bg_buf_putc(out, ']');
            break;
        case T_STRING:
        case T_ENUM:
        case T_OCTAL: /* "0660": JSON has no octal, and 432 says nothing */
            bg_buf_reset(&v);
            format_value(c, k, &v);
            bg_json_string(out, bg_buf_str(&v));
            break;
        }
    }
    bg_buf_putc(out, '}');
    bg_buf_free(&v);
}

static void
man_escape(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", fp);
        else if (*s == '-')
            fputs("\\-", fp);
        else
            fputc(*s, fp);
    }
}

void
bg_config_man(FILE *fp)
{
    static const char *const type_names[] = {"string", "boolean", "number", "octal",
                                             "duration", "choice", "list", "override"};

    for (size_t i = 0; i < NKEYS; i++) {
        fputs(".TP\n.BR ", fp);
        man_escape(fp, keys[i].name);
        fputs(" \" = \" ", fp);
        fputs(type_names[keys[i].type], fp);
        fputs("\n", fp);
        man_escape(fp, keys[i].help);
        fputs(".\nDefault: ", fp);
        if (keys[i].def[0])
            man_escape(fp, keys[i].def);
        else
            fputs("(empty)", fp);
        fputs(".\n", fp);
    }
}

/* Is dir an existing directory?  Else -1 with err "KEY: dir: why". */
static int
check_directory(const char *key, const char *dir, bg_error *err)
{
    struct stat sb;

    if (stat(dir, &sb) < 0)
        return bg_error_set(err, "%s: directory %s: %s", key, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return bg_error_set(err, "%s: %s is not a directory", key, dir);
    return 0;
}

/* The directory part of path ("." for a bare name), malloc'd. */
static char *
parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash == NULL ? bg_xstrdup(".") : slash == path ? bg_xstrdup("/")
                                                           : bg_xstrndup(path, (size_t)(slash - path));
}

int
bg_config_check_system(const bg_config *c, unsigned what, bg_error *err)
{
    bg_privs_user u, *target = NULL;
    int r = 0;

    if ((what & BG_CHECK_USER) && c->user[0]) {
        struct passwd *pw = getpwnam(c->user);
        if (pw == NULL)
            return bg_error_set(err, "user: \"%.64s\" is not an account on this system "
                                     "(create it, or set user = to an existing one)",
                                c->user);
        if (pw->pw_uid != 0 && bg_strlcpy(u.name, pw->pw_name, sizeof(u.name)) < sizeof(u.name)) {
            u.uid = pw->pw_uid;
            u.gid = pw->pw_gid;
            target = &u;
        }
    }
    if ((what & BG_CHECK_LOG_DIR) && c->log_dir[0] &&
        check_directory("log_dir", c->log_dir, err) < 0)
        return -1;
    /* The pid file and a unix socket are made in directories that only root
     * or the daemon's user may write (bg_privs_check_dir): the same test here
     * as at start. */
    if ((what & BG_CHECK_PID_FILE) && c->pid_file[0]) {
        char *dir = parent_of(c->pid_file);
        struct stat sb;
        bg_error derr;
        if (check_directory("pid_file", dir, err) < 0)
            r = -1;
        else if (stat(dir, &sb) == 0 && bg_privs_check_dir(dir, &sb, target, &derr) < 0)
            r = bg_error_set(err, "pid_file: %s", derr.msg);
        free(dir);
        if (r < 0)
            return r;
    }
    if ((what & BG_CHECK_SOCKET) &&
        (strncmp(c->socket, "unix:", 5) == 0 || strncmp(c->socket, "local:", 6) == 0)) {
        char *dir = parent_of(strchr(c->socket, ':') + 1);
        struct stat sb;
        bg_error derr;
        if (check_directory("socket", dir, err) < 0)
            r = -1;
        else if (stat(dir, &sb) == 0 && bg_privs_check_dir(dir, &sb, target, &derr) < 0)
            r = bg_error_set(err, "socket: %s", derr.msg);
        free(dir);
        if (r < 0)
            return r;
    }
    /* Checked for an inet socket too: a typo must not wait for the day the
     * socket becomes a unix one. */
    if ((what & BG_CHECK_SOCKET) && c->socket_group[0]) {
        gid_t gid;
        bg_error gerr;
        if (bg_privs_group(c->socket_group, &gid, &gerr) < 0)
            return bg_error_set(err, "socket_group: %s", gerr.msg);
    }
    return r;
}

static const bg_sender_override *
find_override(const bg_config *c, const char *identity)
{
    for (size_t i = 0; i < c->override_count; i++)
        if (strcasecmp(c->overrides[i].identity, identity) == 0)
            return &c->overrides[i];
    return NULL;
}

long
bg_config_quota_for(const bg_config *c, const char *identity)
{
    const bg_sender_override *o = find_override(c, identity);

    return o && o->quota_limit >= 0 ? o->quota_limit : c->quota_limit;
}

long
bg_config_bounce_limit_for(const bg_config *c, const char *identity)
{
    const bg_sender_override *o = find_override(c, identity);

    return o && o->sender_bounce_limit >= 0 ? o->sender_bounce_limit
                                            : c->sender_bounce_limit;
}
