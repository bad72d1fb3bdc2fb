/*
 * config — bounceguard.conf: one file of `key = value` lines.
 *
 * Every key lives in one table (lib/config.c: name, type, default, bounds,
 * one line of help) that drives the parser, the `-n` check of the programs,
 * `bounceguard config` (prints every key with its value and help) and the
 * man page bounceguard.conf(5).  Unknown keys and bad values are errors that
 * name file:line.  A loaded config is an immutable, reference-counted
 * snapshot: a reload builds and validates a new one and swaps it in, while
 * work in flight keeps the snapshot it started with (OpenDKIM's model).
 */
#ifndef BOUNCEGUARD_CONFIG_H
#define BOUNCEGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bounceguard/util.h"

#define BG_CONFIG_DEFAULT_PATH "/etc/bounceguard/bounceguard.conf"

typedef enum bg_mode { BG_MODE_ENFORCE, BG_MODE_OBSERVE } bg_mode;

typedef enum bg_identity {
    BG_IDENTITY_AUTO,     /* SASL login if any, else client IP */
    BG_IDENTITY_SASL,
    BG_IDENTITY_IP,
    BG_IDENTITY_ENVELOPE, /* the MAIL FROM address */
} bg_identity;

typedef enum bg_on_error {
    BG_ON_ERROR_TEMPFAIL, /* 451 4.3.0: the MTA retries later (default) */
    BG_ON_ERROR_ACCEPT,   /* let mail through unchecked (logged) */
    BG_ON_ERROR_REJECT,   /* 550 5.3.0 */
} bg_on_error;

typedef enum bg_backend {
    BG_BACKEND_BDB,   /* Berkeley DB in db_home (default) */
    BG_BACKEND_REDIS, /* a Redis server shared by several relays */
} bg_backend;

typedef enum bg_dsn_trust {
    BG_TRUST_CORRELATED, /* only bounces of messages the relay sent (default) */
    BG_TRUST_SPF,        /* correlated, or SPF pass for the reporting host */
    BG_TRUST_ANY,        /* every bounce (unsafe: for migration only) */
} bg_dsn_trust;

/* What the milter files about a message for matching its bounces (the
 * queue ID always; the Message-ID only when asked: reading it costs one
 * protocol step per header of every message). */
typedef enum bg_correlate {
    BG_CORRELATE_QUEUE_ID,   /* the queue ID (default) */
    BG_CORRELATE_MESSAGE_ID, /* the queue ID and the Message-ID header */
} bg_correlate;

typedef enum bg_log_trust {
    BG_LOG_TRUST_RECORDED, /* a log line counts only for a queue ID and recipient
                              the milter recorded (default) */
    BG_LOG_TRUST_ANY,      /* every delivery record counts (unsafe: anyone who
                              can write the log, or a Message-ID, decides) */
} bg_log_trust;

/* A list of words (from a value separated by blanks or commas). */
typedef struct bg_strlist {
    char **items;
    size_t count;
} bg_strlist;

/* A per-sender override: `sender_override = ID quota_limit=N sender_bounce_limit=M`. */
typedef struct bg_sender_override {
    char *identity;
    long quota_limit;          /* -1 = not overridden */
    long sender_bounce_limit;  /* -1 = not overridden */
} bg_sender_override;

typedef struct bg_config {
    /* where things are */
    char *path;            /* the file this was read from ("" for defaults only) */
    char *socket;
    long socket_mode;      /* permissions of a unix socket, 0 to 0777 */
    char *socket_group;    /* its group; "" = the group of `user` */
    char *db_home;
    long db_cache_mb;      /* Berkeley DB cache of a new store, MB */
    bg_backend store_backend;
    char *redis_servers;   /* with store = redis: see bg_store_redis_opts */
    char *redis_sentinels;
    char *redis_master_name;
    char *redis_user;
    char *redis_password;
    char *redis_sentinel_user;
    char *redis_sentinel_password;
    long redis_db;
    char *redis_prefix;
    long redis_timeout;    /* milliseconds */
    long redis_replicas;
    char *log_dir;
    char *pid_file;
    char *user;
    bool syslog;
    bool debug;

    /* what is decided */
    bg_mode mode;
    int64_t blacklist_period;
    long quota_limit;
    int64_t quota_window;
    long sender_bounce_limit;
    bg_identity sender_identity;
    bg_on_error on_store_error;
    bool invalid_permanent;
    bool blacklist_permanent;
    bool sender_blocked_permanent;
    bool quota_permanent;
    bool check_tld;
    char *invalid_text;             /* reply texts; "" = the built-in one */
    char *blacklist_text;
    char *manual_block_text;
    char *sender_blocked_text;
    char *quota_text;
    long recipient_limit;           /* recipients per message; more get 452 4.5.3 */
    bg_strlist exempt_recipients;   /* local parts always accepted (postmaster, abuse) */
    bg_strlist trusted_networks;    /* CIDRs that skip the quota */
    bg_strlist trusted_senders;     /* identities that skip the quota */
    bg_strlist never_blacklist;     /* addresses or @domains never blacklisted */
    bg_sender_override *overrides;
    size_t override_count;

    /* what is learned */
    bg_strlist blacklist_reasons;
    bg_dsn_trust dsn_trust;
    int64_t grace_period;
    int64_t history_period;
    int64_t message_retention;
    bg_correlate correlate;
    bool return_path_rewrite;
    char *verp_domain;
    char *verp_secret_file;
    char *verp_previous_secret_file; /* "" = none: only the current secret verifies */
    bg_strlist log_syslog_names;     /* Postfix syslog_name values (mtalog.h) */
    bg_strlist log_delivery_agents;  /* delivery agents / master.cf services */
    bg_log_trust log_trust;
    char *reply_rules_file;             /* "" = the built-in provider table only */
    struct bg_reply_rules *reply_rules; /* its rows, read by bg_config_load() */

    /* store upkeep */
    long purge_batch;

    /* reputation */
    bg_strlist rbl_lists;
    char *dns_resolver;
    int64_t rbl_timeout;

    /* watching it */
    char *metrics_listen; /* ADDRESS:PORT of the milter's /metrics; "" = off */

    int refs_; /* private: reference count */
} bg_config;

/* A config with every default and no file (refcount 1). */
bg_config *bg_config_defaults(void);

/* The ports redis_servers and redis_sentinels default to (Redis's own). */
#define BG_REDIS_PORT 6379
#define BG_SENTINEL_PORT 26379

/* The Redis options of the config (pointers into c, valid while c lives). */
struct bg_store_redis_opts;
void bg_config_redis_opts(const bg_config *c, struct bg_store_redis_opts *o);

/*
 * Read and validate a config file.  Returns a new snapshot (refcount 1) or
 * NULL with err = "FILE:LINE: what is wrong" (one line).  A missing file is an
 * error unless allow_missing, in which case the defaults are returned.
 * The error quotes the offending value or line only when the person running
 * the program may read the file: not for a set-uid caller whose real uid
 * cannot (access(2)), and never under sudo (real uid 0 with SUDO_UID set to
 * another user); then it says "the value" / "(not shown)" and still names
 * file:line, the key and what is wrong.
 */
bg_config *bg_config_load(const char *path, bool allow_missing, bg_error *err);

/* Parse config text (for tests); `name` appears in error messages, which
 * quote the text (the caller gave it). */
bg_config *bg_config_parse(const char *name, const char *text, bg_error *err);

/* Reference counting (thread-safe).  unref returns NULL: `c = bg_config_unref(c)`. */
bg_config *bg_config_ref(bg_config *c);
bg_config *bg_config_unref(bg_config *c);

/* Write every key = value (with its help as a comment) to fp. */
void bg_config_dump(const bg_config *c, FILE *fp);

/* Append the config as one JSON object to out: "config" (its file, or null
 * for the defaults), then every key with a typed value: booleans, numbers,
 * durations in seconds, lists as arrays, sender_override as an array of
 * {identity, quota_limit, sender_bounce_limit}. */
void bg_config_dump_json(const bg_config *c, bg_buf *out);

/* Write the key table as man(7) source for bounceguard.conf(5). */
void bg_config_man(FILE *fp);

/*
 * Is spec a milter socket libmilter will bind as written (inet:PORT@HOST,
 * inet6:PORT@HOST, unix:PATH; PORT 1 to 65535)?  For a socket given on the
 * command line; the config's own is checked by bg_config_load().  Returns 0,
 * or -1 with err naming spec and what is wrong.
 */
int bg_config_check_socket(const char *spec, bg_error *err);

/* What bg_config_check_system() looks at. */
enum {
    BG_CHECK_USER = 1,     /* user names an account */
    BG_CHECK_LOG_DIR = 2,  /* log_dir is a directory */
    BG_CHECK_PID_FILE = 4, /* pid_file's directory exists, root's or user's alone */
    BG_CHECK_SOCKET = 8,   /* a unix socket's directory: the same; socket_group exists */
};

/*
 * What a daemon's start would refuse that the file's text cannot say: the
 * machine is asked (getpwnam, stat), for the `-n` checks.  The user must
 * exist whoever runs the check: the daemons are started as root.  Returns 0,
 * or -1 with err = "KEY: what is wrong" (one line).
 */
int bg_config_check_system(const bg_config *c, unsigned what, bg_error *err);

/* The quota and bounce limit for a sender identity, overrides applied. */
long bg_config_quota_for(const bg_config *c, const char *identity);
long bg_config_bounce_limit_for(const bg_config *c, const char *identity);

/* Is word in the list (ASCII case-insensitive)? */
bool bg_strlist_has(const bg_strlist *l, const char *word);

#endif
