/*
 * netaddr — the network addresses a config names, read in one place each:
 * networks (trusted_networks: ADDR/BITS or ADDR, IPv4 or IPv6) and server
 * endpoints (redis_servers, redis_sentinels: HOST, HOST:PORT,
 * [IPv6]:PORT, redis://HOST:PORT, or a unix socket's absolute path) and a
 * listening address (metrics_listen: IPv4:PORT or [IPv6]:PORT).  The
 * config check and the code that uses a value call the same reader, so
 * that what `-n` accepts is exactly what the program then uses.  Pure
 * functions, no I/O.
 */
#ifndef BOUNCEGUARD_NETADDR_H
#define BOUNCEGUARD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "bounceguard/util.h"

/* Whether cidr is a network this module reads. */
bool bg_network_valid(const char *cidr);
/* Whether the address ip (text) lies in the network cidr; false for either
 * unreadable, or of different families. */
bool bg_network_contains(const char *cidr, const char *ip);

#define BG_ENDPOINTS_MAX 16

/* A server to connect to. */
typedef struct bg_endpoint {
    char host[300]; /* name or address; the socket's path when unix_path */
    int port;
    bool unix_path;
} bg_endpoint;

/* Read a list of endpoints separated by blanks or commas into out[] (at
 * most BG_ENDPOINTS_MAX), *n of them; a missing port is default_port.
 * 0, or -1 with err naming key and the endpoint (TLS URLs, rediss://, are
 * refused: Debian's hiredis 0.14 has no TLS). */
int bg_endpoint_list_parse(const char *key, const char *list, int default_port,
                           bg_endpoint *out, size_t *n, bg_error *err);

/*
 * Read a listening address written ADDRESS:PORT with a numeric IPv4
 * address, or [ADDRESS]:PORT with an IPv6 one (no names: what is bound
 * must not depend on a resolver at start-up); PORT 1 to 65535.  Fills
 * *ss and *len (either may be NULL to only check).  Returns NULL, or what
 * is wrong as a phrase for "KEY: \"VALUE\" <phrase>".
 */
const char *bg_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

#endif
