/*
 * netaddr.c — see include/bounceguard/netaddr.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/netaddr.h"

/* ---- networks -------------------------------------------------------------- */

/* Read a network written as ADDR/BITS or a bare ADDR (IPv4 or IPv6) into
 * net[16], *family and *bits. */
static bool
parse_network(const char *cidr, unsigned char net[16], int *family, int *bits)
{
    char buf[64];
    const char *slash = strchr(cidr, '/');
    size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);
    int maxbits;

    if (len >= sizeof(buf))
        return false;
    memcpy(buf, cidr, len);
    buf[len] = '\0';
    *family = strchr(buf, ':') ? AF_INET6 : AF_INET;
    maxbits = *family == AF_INET6 ? 128 : 32;
    if (inet_pton(*family, buf, net) != 1)
        return false;
    *bits = maxbits;
    if (slash) {
        /* Only digits: "10.0.0.0/x" read by atoi as /0 would trust every client. */
        const char *d = slash + 1;
        size_t nd = strspn(d, "0123456789");
        if (nd == 0 || nd > 3 || d[nd] != '\0')
            return false;
        *bits = (int)strtol(d, NULL, 10);
    }
    return *bits >= 0 && *bits <= maxbits;
}

bool
bg_network_valid(const char *cidr)
{
    unsigned char net[16];
    int family, bits;

    return parse_network(cidr, net, &family, &bits);
}

bool
bg_network_contains(const char *cidr, const char *ip)
{
    unsigned char net[16], addr[16];
    int family, bits;

    if (!parse_network(cidr, net, &family, &bits) || inet_pton(family, ip, addr) != 1)
        return false;
    for (int i = 0; i < bits / 8; i++)
        if (net[i] != addr[i])
            return false;
    if (bits % 8) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
        if ((net[bits / 8] & mask) != (addr[bits / 8] & mask))
            return false;
    }
    return true;
}

/* ---- endpoints ------------------------------------------------------------- */

static int
endpoint_parse(const char *key, const char *item, size_t len, int defport, bg_endpoint *out,
               bg_error *err)
{
    char buf[300];
    const char *p = buf, *colon;

    if (len >= sizeof(buf))
        return bg_error_set(err, "%s: an address is too long", key);
    memcpy(buf, item, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    out->port = defport;
    if (strncmp(p, "rediss://", 9) == 0)
        return bg_error_set(err, "%s: %s: TLS (rediss://) is not supported by Debian's hiredis "
                                 "0.14: reach Redis over loopback, a private network or stunnel",
                            key, buf);
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    if (strncmp(p, "unix:", 5) == 0 || p[0] == '/') {
        p += p[0] == '/' ? 0 : 5;
        if (p[0] != '/')
            return bg_error_set(err, "%s: %s: a socket path must be absolute", key, buf);
        out->unix_path = true;
        snprintf(out->host, sizeof(out->host), "%s", p);
        return 0;
    }
    if (p[0] == '[') {
        const char *end = strchr(p, ']');
        if (end == NULL || end == p + 1)
            return bg_error_set(err, "%s: %s: an IPv6 address needs its closing ]", key, buf);
        snprintf(out->host, sizeof(out->host), "%.*s", (int)(end - p - 1), p + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] != '\0' && colon == NULL)
            return bg_error_set(err, "%s: %s: expected [ADDRESS]:PORT", key, buf);
    } else {
        colon = strchr(p, ':');
        if (colon && strchr(colon + 1, ':'))
            return bg_error_set(err, "%s: %s: write an IPv6 address as [ADDRESS]:PORT", key,
                                buf);
        size_t hl = colon ? (size_t)(colon - p) : strlen(p);
        if (hl == 0)
            return bg_error_set(err, "%s: %s: no host", key, buf);
        snprintf(out->host, sizeof(out->host), "%.*s", (int)hl, p);
    }
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
            return bg_error_set(err, "%s: %s: the port is not a number from 1 to 65535", key,
                                buf);
        out->port = (int)port;
    }
    return 0;
}

int
bg_endpoint_list_parse(const char *key, const char *list, int default_port, bg_endpoint *out,
                       size_t *n, bg_error *err)
{
    const char *p = list ? list : "";

    *n = 0;
    while (*p) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        if (*n == BG_ENDPOINTS_MAX)
            return bg_error_set(err, "%s: more than %d addresses", key, BG_ENDPOINTS_MAX);
        if (endpoint_parse(key, p, len, default_port, &out[*n], err) < 0)
            return -1;
        (*n)++;
        p += len;
    }
    return 0;
}


/* ---- listening addresses ---------------------------------------------------- */

const char *
bg_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    static const char *const form = "is not ADDRESS:PORT (e.g. 127.0.0.1:9119 or [::1]:9119)";
    struct sockaddr_storage tmp;
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon, *h = spec;
    size_t hl;
    char *end;
    long port;
    bool v6 = spec[0] == '[';

    if (v6) {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return form;
        h = spec + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
            return form;
        hl = (size_t)(colon - spec);
    }
    if (hl == 0 || hl >= sizeof(host))
        return form;
    memcpy(host, h, hl);
    host[hl] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535)
        return "has a port outside 1 to 65535";
    memset(&tmp, 0, sizeof(tmp));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&tmp;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return "has no IPv6 address between [ and ]";
        if (len)
            *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)(void *)&tmp;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return "has no numeric IPv4 address before the port (write IPv6 as [ADDRESS]:PORT)";
        if (len)
            *len = sizeof(*a);
    }
    if (ss)
        *ss = tmp;
    return NULL;
}
