/*
 * verp.c — see include/bounceguard/verp.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounceguard/log.h"
#include "bounceguard/verp.h"

#define VERSION_MESSAGE 1 /* the token names a message */
#define VERSION_RCPT 2    /* ... and its MAC binds the one recipient it was made for */
#define MAC_LEN 10
#define HEAD_LEN 5 /* version + time */
#define RAW_MAX (HEAD_LEN + BG_VERP_KEY_MAX + MAC_LEN)
#define SECRET_FILE_MAX 4096

struct bg_verp {
    struct hmac_sha256_ctx keyed; /* keyed once; copied for each use */
};

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char mac_label[] = "bounceguard-verp-1";
static const char key_label[] = "bounceguard-verp-key-1";

bg_verp *
bg_verp_new(const void *secret, size_t len, bg_error *err)
{
    bg_verp *v;

    if (secret == NULL || len < BG_VERP_SECRET_MIN) {
        bg_error_set(err, "VERP secret too short (%zu octets, at least %d)", len,
                     BG_VERP_SECRET_MIN);
        return NULL;
    }
    v = bg_xcalloc(1, sizeof(*v));
    hmac_sha256_set_key(&v->keyed, len, secret);
    return v;
}

bg_verp *
bg_verp_load(const char *path, bg_error *err)
{
    unsigned char buf[SECRET_FILE_MAX + 1];
    struct stat sb;
    ssize_t n;
    size_t len = 0;
    int fd;
    bg_verp *v;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        bg_error_set(err, "cannot open VERP secret %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)))
        bg_msg_warn("VERP secret %s is readable by group or others", path);
    while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bg_error_set(err, "cannot read VERP secret %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len > SECRET_FILE_MAX) {
        bg_error_set(err, "VERP secret %s is larger than %d octets", path,
                     SECRET_FILE_MAX);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    v = bg_verp_new(buf, len, err);
    if (v == NULL)
        bg_error_set(err, "VERP secret %s too short (%zu octets, at least %d)", path, len,
                     BG_VERP_SECRET_MIN);
    memset(buf, 0, sizeof(buf));
    return v;
}

bg_verp *
bg_verp_free(bg_verp *v)
{
    if (v != NULL) {
        memset(v, 0, sizeof(*v));
        free(v);
    }
    return NULL;
}

/* The MAC of a token's bytes; a recipient-bound token's MAC also covers
 * 0x00 and the recipient, which the token does not carry (the store does). */
static void
compute_mac(const bg_verp *v, const unsigned char *data, size_t n, const char *rcpt,
            unsigned char mac[MAC_LEN])
{
    struct hmac_sha256_ctx c = v->keyed;
    unsigned char full[SHA256_DIGEST_SIZE];

    hmac_sha256_update(&c, sizeof(mac_label), (const uint8_t *)mac_label);
    hmac_sha256_update(&c, n, data);
    if (data[0] == VERSION_RCPT && rcpt)
        hmac_sha256_update(&c, strlen(rcpt) + 1, (const uint8_t *)rcpt);
    hmac_sha256_digest(&c, sizeof(full), full);
    memcpy(mac, full, MAC_LEN);
}

static size_t
b32_len(size_t nbytes)
{
    return (nbytes * 8 + 4) / 5;
}

static void
b32_encode(const unsigned char *in, size_t n, char *out)
{
    unsigned int acc = 0, bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* Strict decode of s[len] (any case) into out[outsize]; returns the byte
 * count, or -1 for a bad character, an impossible length or stray bits. */
static int
b32_decode(const char *s, size_t len, unsigned char *out, size_t outsize)
{
    unsigned int acc = 0, bits = 0;
    size_t i, o = 0, nbytes = len * 5 / 8;

    if (nbytes > outsize || b32_len(nbytes) != len)
        return -1;
    for (i = 0; i < len; i++) {
        char c = s[i];
        unsigned int val;

        if (c >= 'a' && c <= 'z')
            val = (unsigned int)(c - 'a');
        else if (c >= 'A' && c <= 'Z')
            val = (unsigned int)(c - 'A');
        else if (c >= '2' && c <= '7')
            val = (unsigned int)(c - '2' + 26);
        else
            return -1;
        acc = ((acc << 5) | val) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            out[o++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (int)o;
}

static int
key_ok(const char *key, size_t n)
{
    size_t i;

    if (n == 0 || n > BG_VERP_KEY_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return 0;
    return 1;
}

int
bg_verp_encode(const bg_verp *v, const char *key, const char *rcpt, int64_t when, char *out,
               size_t outsize, bg_error *err)
{
    unsigned char raw[RAW_MAX];
    size_t klen = key ? strlen(key) : 0, n;

    if (!key_ok(key ? key : "", klen))
        return bg_error_set(err, "VERP message key must be 1..%d printable octets",
                            BG_VERP_KEY_MAX);
    if (when < 0 || when > (int64_t)UINT32_MAX)
        return bg_error_set(err, "VERP time %lld out of range", (long long)when);
    raw[0] = rcpt && *rcpt ? VERSION_RCPT : VERSION_MESSAGE;
    raw[1] = (unsigned char)(when >> 24);
    raw[2] = (unsigned char)(when >> 16);
    raw[3] = (unsigned char)(when >> 8);
    raw[4] = (unsigned char)when;
    memcpy(raw + HEAD_LEN, key, klen);
    n = HEAD_LEN + klen;
    compute_mac(v, raw, n, rcpt, raw + n);
    n += MAC_LEN;
    if (b32_len(n) + 1 > outsize)
        return bg_error_set(err, "VERP token buffer too small");
    b32_encode(raw, n, out);
    return (int)b32_len(n);
}

/* Decode a token's bytes into raw[RAW_MAX]; the byte count, or -1 when it
 * is not one of ours by its form. */
static int
token_decode(const char *token, unsigned char raw[RAW_MAX])
{
    size_t len;
    int n;

    if (token == NULL)
        return -1;
    len = strnlen(token, BG_VERP_TOKEN_MAX + 1);
    if (len > BG_VERP_TOKEN_MAX)
        return -1;
    n = b32_decode(token, len, raw, RAW_MAX);
    if (n < HEAD_LEN + 1 + MAC_LEN || (raw[0] != VERSION_MESSAGE && raw[0] != VERSION_RCPT))
        return -1;
    return n;
}

int
bg_verp_peek(const char *token, char *key, size_t keysize, bool *bound)
{
    unsigned char raw[RAW_MAX];
    int n = token_decode(token, raw);
    size_t klen, c;

    if (key != NULL && keysize > 0)
        key[0] = '\0';
    if (n < 0 || !key_ok((const char *)raw + HEAD_LEN, (size_t)n - HEAD_LEN - MAC_LEN))
        return -1;
    klen = (size_t)n - HEAD_LEN - MAC_LEN;
    if (key != NULL && keysize > 0) {
        c = klen < keysize - 1 ? klen : keysize - 1;
        memcpy(key, raw + HEAD_LEN, c);
        key[c] = '\0';
    }
    if (bound != NULL)
        *bound = raw[0] == VERSION_RCPT;
    return 0;
}

bg_verp_status
bg_verp_verify(const bg_verp *v, const char *token, const char *rcpt, int64_t now,
               int64_t max_age, char *key, size_t keysize, int64_t *when)
{
    unsigned char raw[RAW_MAX], mac[MAC_LEN];
    size_t klen;
    int n;
    int64_t t;

    if (key != NULL && keysize > 0)
        key[0] = '\0';
    if ((n = token_decode(token, raw)) < 0)
        return BG_VERP_MALFORMED;
    klen = (size_t)n - HEAD_LEN - MAC_LEN;
    /* A bound token without its recipient cannot verify: not ours to accept. */
    if (raw[0] == VERSION_RCPT && (rcpt == NULL || *rcpt == '\0'))
        return BG_VERP_BAD_SIGNATURE;
    compute_mac(v, raw, HEAD_LEN + klen, rcpt, mac);
    if (!memeql_sec(mac, raw + HEAD_LEN + klen, MAC_LEN))
        return BG_VERP_BAD_SIGNATURE;
    /* Signed by us, so the key is one we wrote; checked all the same. */
    if (!key_ok((const char *)raw + HEAD_LEN, klen))
        return BG_VERP_MALFORMED;
    t = ((int64_t)raw[1] << 24) | ((int64_t)raw[2] << 16) | ((int64_t)raw[3] << 8) |
        raw[4];
    if (when != NULL)
        *when = t;
    if (key != NULL && keysize > 0) {
        size_t c = klen < keysize - 1 ? klen : keysize - 1;

        memcpy(key, raw + HEAD_LEN, c);
        key[c] = '\0';
    }
    if (max_age > 0 && now - t > max_age)
        return BG_VERP_EXPIRED;
    return BG_VERP_OK;
}

int
bg_verp_address(const bg_verp *v, const char *prefix, const char *key, const char *rcpt,
                int64_t when, const char *domain, char *out, size_t outsize, bg_error *err)
{
    char token[BG_VERP_TOKEN_MAX + 1];
    int tlen = bg_verp_encode(v, key, rcpt, when, token, sizeof(token), err);
    int n;

    if (tlen < 0)
        return -1;
    if (strlen(prefix) + 1 + (size_t)tlen > 64)
        return bg_error_set(err, "VERP local part %s+TOKEN longer than 64 octets",
                            prefix);
    n = snprintf(out, outsize, "%s+%s@%s", prefix, token, domain);
    if (n < 0 || (size_t)n >= outsize)
        return bg_error_set(err, "VERP address buffer too small");
    return n;
}

int
bg_verp_match(const char *addr, const char *prefix, const char *domain, char *token,
              size_t tsize)
{
    size_t plen = strlen(prefix), alen, tlen;
    const char *at, *t;

    if (addr == NULL || tsize == 0)
        return 0;
    if (*addr == '<')
        addr++;
    alen = strlen(addr);
    if (alen > 0 && addr[alen - 1] == '>')
        alen--;
    at = memrchr(addr, '@', alen);
    if (at == NULL || strncasecmp(addr, prefix, plen) != 0 || addr[plen] != '+')
        return 0;
    if ((size_t)(addr + alen - (at + 1)) != strlen(domain) ||
        strncasecmp(at + 1, domain, strlen(domain)) != 0)
        return 0;
    t = addr + plen + 1;
    if (t > at)
        return 0;
    tlen = (size_t)(at - t);
    if (tlen == 0 || tlen >= tsize)
        return 0;
    memcpy(token, t, tlen);
    token[tlen] = '\0';
    return 1;
}

char *
bg_verp_make_key(const bg_verp *v, const char *identity, const char *sender,
                 const char *recipient, int64_t when, char *key, size_t keysize)
{
    struct hmac_sha256_ctx c = v->keyed;
    unsigned char full[SHA256_DIGEST_SIZE];
    char num[32];
    const char *parts[3] = {identity ? identity : "", sender ? sender : "",
                            recipient ? recipient : ""};
    size_t i;

    hmac_sha256_update(&c, sizeof(key_label), (const uint8_t *)key_label);
    for (i = 0; i < 3; i++)
        hmac_sha256_update(&c, strlen(parts[i]) + 1, (const uint8_t *)parts[i]);
    snprintf(num, sizeof(num), "%lld", (long long)when);
    hmac_sha256_update(&c, strlen(num), (const uint8_t *)num);
    hmac_sha256_digest(&c, sizeof(full), full);
    for (i = 0; i < 8 && 2 * i + 2 < keysize; i++)
        snprintf(key + 2 * i, 3, "%02x", full[i]);
    if (keysize > 0)
        key[keysize > 16 ? 16 : keysize - 1] = '\0';
    return key;
}

const char *
bg_verp_status_name(bg_verp_status st)
{
    switch (st) {
    case BG_VERP_OK:
        return "ok";
    case BG_VERP_MALFORMED:
        return "malformed";
    case BG_VERP_BAD_SIGNATURE:
        return "bad-signature";
    case BG_VERP_EXPIRED:
        return "expired";
    }
    return "unknown";
}
