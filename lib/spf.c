/*
 * spf.c — see include/bounceguard/spf.h.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <spf2/spf.h>

#include "bounceguard/log.h"
#include "bounceguard/spf.h"

static pthread_once_t spf_once = PTHREAD_ONCE_INIT;
static SPF_server_t *spf_server;

static void
spf_log_warning(const char *file, int line, const char *msg)
{
    bg_msg_debug("libspf2 warning: %s", msg ? msg : "");
}

static void
spf_log_debug(const char *file, int line, const char *msg)
{
    bg_msg_debug("libspf2: %s", msg ? msg : "");
}

static void
spf_init(void)
{
    /* libspf2 prints to stdout/stderr by default; the library never prints.
     * SPF_error_handler stays: it reports libspf2's own bugs and aborts. */
    SPF_warning_handler = spf_log_warning;
    SPF_info_handler = spf_log_debug;
    SPF_debug_handler = spf_log_debug;
    spf_server = SPF_server_new(SPF_DNS_CACHE, 0);
    if (spf_server == NULL)
        bg_msg_error("libspf2: cannot create the SPF server");
}

static bg_spf_result
map_result(SPF_result_t r)
{
    switch (r) {
    case SPF_RESULT_PASS:
        return BG_SPF_PASS;
    case SPF_RESULT_FAIL:
        return BG_SPF_FAIL;
    case SPF_RESULT_SOFTFAIL:
        return BG_SPF_SOFTFAIL;
    case SPF_RESULT_NEUTRAL:
        return BG_SPF_NEUTRAL;
    case SPF_RESULT_NONE:
        return BG_SPF_NONE;
    case SPF_RESULT_TEMPERROR:
        return BG_SPF_TEMPERROR;
    case SPF_RESULT_PERMERROR:
    case SPF_RESULT_INVALID:
    default:
        return BG_SPF_PERMERROR;
    }
}

bg_spf_result
bg_spf_check(const char *client_ip, const char *helo, const char *mail_from,
             bg_error *err)
{
    SPF_request_t *req;
    SPF_response_t *resp = NULL;
    SPF_errcode_t rc;
    bg_spf_result res;
    unsigned char bin[sizeof(struct in6_addr)];
    bool v6;

    pthread_once(&spf_once, spf_init);
    if (spf_server == NULL) {
        bg_error_set(err, "SPF not available (libspf2 server could not be created)");
        return BG_SPF_TEMPERROR;
    }
    if (client_ip == NULL || *client_ip == '\0') {
        bg_error_set(err, "SPF: no client address");
        return BG_SPF_PERMERROR;
    }
    if (inet_pton(AF_INET, client_ip, bin) == 1)
        v6 = false;
    else if (inet_pton(AF_INET6, client_ip, bin) == 1)
        v6 = true;
    else {
        bg_error_set(err, "SPF: client address '%.64s' is not an IP address", client_ip);
        return BG_SPF_PERMERROR;
    }
    if ((helo == NULL || *helo == '\0') && (mail_from == NULL || *mail_from == '\0')) {
        bg_error_set(err, "SPF: neither HELO name nor sender to check");
        return BG_SPF_NONE;
    }
    req = SPF_request_new(spf_server);
    rc = v6 ? SPF_request_set_ipv6_str(req, client_ip)
            : SPF_request_set_ipv4_str(req, client_ip);
    if (rc == SPF_E_SUCCESS && helo != NULL && *helo != '\0')
        rc = SPF_request_set_helo_dom(req, helo);
    if (rc == SPF_E_SUCCESS && mail_from != NULL && *mail_from != '\0' &&
        SPF_request_set_env_from(req, mail_from) != 0)
        rc = SPF_E_INVALID_OPT;
    if (rc != SPF_E_SUCCESS) {
        SPF_request_free(req);
        bg_error_set(err, "SPF: unusable arguments: %s", SPF_strerror(rc));
        return BG_SPF_PERMERROR;
    }
    rc = SPF_request_query_mailfrom(req, &resp);
    if (resp == NULL) {
        SPF_request_free(req);
        bg_error_set(err, "SPF: libspf2 gave no response (%s)", SPF_strerror(rc));
        return BG_SPF_TEMPERROR;
    }
    if (SPF_response_result(resp) == SPF_RESULT_INVALID) {
        /* No result: libspf2 gave up.  A DNS failure is worth a retry;
         * anything else is not. */
        res = rc == SPF_E_DNS_ERROR ? BG_SPF_TEMPERROR : BG_SPF_PERMERROR;
        bg_error_set(err, "SPF %s: %s", bg_spf_result_name(res), SPF_strerror(rc));
    } else {
        res = map_result(SPF_response_result(resp));
        if (res != BG_SPF_PASS) {
            const char *why = SPF_response_get_header_comment(resp);

            bg_error_set(err, "SPF %s: %s", bg_spf_result_name(res),
                         why ? why : SPF_strerror(rc));
        }
    }
    SPF_response_free(resp);
    SPF_request_free(req);
    return res;
}

/* 127.0.0.0/8 or ::1 (bin in network order). */
static bool
is_loopback(const unsigned char *bin, bool v6)
{
    static const unsigned char one6[16] = {[15] = 1};

    return v6 ? memcmp(bin, one6, 16) == 0 : bin[0] == 127;
}

/* Is ip (text) an address of host?  1 yes, 0 no, -1 temporary failure. */
static int
host_has_address(const char *host, const unsigned char *ip, bool v6)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc, found = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = v6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc == EAI_AGAIN)
        return -1;
    if (rc != 0)
        return 0;
    for (ai = res; ai && !found; ai = ai->ai_next) {
        if (v6 && ai->ai_family == AF_INET6)
            found = memcmp(&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, ip,
                           16) == 0;
        else if (!v6 && ai->ai_family == AF_INET)
            found = memcmp(&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, ip,
                           4) == 0;
    }
    freeaddrinfo(res);
    return found;
}

/* Is ip an address of one of domain's MX hosts (or of the domain itself
 * when it has no MX)?  1, 0, or -1 on a temporary DNS failure. */
static int
mx_has_address(const char *domain, const unsigned char *ip, bool v6)
{
    struct __res_state rs;
    unsigned char answer[8192];
    char host[NS_MAXDNAME];
    ns_msg msg;
    ns_rr rr;
    int n, i, r, temp = 0, mx = 0;

    memset(&rs, 0, sizeof(rs));
    if (res_ninit(&rs) != 0)
        return -1;
    n = res_nquery(&rs, domain, ns_c_in, ns_t_mx, answer, sizeof(answer));
    if (n < 0) {
        int h = rs.res_h_errno;

        res_nclose(&rs);
        if (h == TRY_AGAIN)
            return -1;
        /* no MX record: the domain's own address receives (RFC 5321 5.1) */
        return h == NO_DATA ? host_has_address(domain, ip, v6) : 0;
    }
    res_nclose(&rs);
    if (ns_initparse(answer, n, &msg) < 0)
        return 0;
    for (i = 0; i < ns_msg_count(msg, ns_s_an) && i < 20; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx ||
            ns_rr_rdlen(rr) < 3)
            continue;
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host,
                      sizeof(host)) < 0)
            continue;
        mx++;
        r = host_has_address(host, ip, v6);
        if (r > 0)
            return 1;
        if (r < 0)
            temp = 1;
    }
    if (mx == 0)
        return host_has_address(domain, ip, v6);
    return temp ? -1 : 0;
}

int
bg_spf_designated(const char *client_ip, const char *domain, bg_error *err)
{
    unsigned char bin[sizeof(struct in6_addr)];
    bg_error serr = {""};
    bg_spf_result spf;
    char postmaster[300];
    bool v6;
    int mx;

    if (client_ip == NULL || domain == NULL || *domain == '\0')
        return bg_error_set(err, "no domain to ask"), 0;
    if (inet_pton(AF_INET, client_ip, bin) == 1)
        v6 = false;
    else if (inet_pton(AF_INET6, client_ip, bin) == 1)
        v6 = true;
    else
        return bg_error_set(err, "client address '%.64s' is not an IP address", client_ip),
               0;
    /* libspf2 passes a loopback client without asking the domain: for a
     * loopback address only the domain's MX speaks. */
    if (is_loopback(bin, v6)) {
        spf = BG_SPF_NONE;
    } else {
        snprintf(postmaster, sizeof(postmaster), "postmaster@%s", domain);
        spf = bg_spf_check(client_ip, domain, postmaster, &serr);
        if (spf == BG_SPF_PASS)
            return 1;
    }
    mx = mx_has_address(domain, bin, v6);
    if (mx > 0)
        return 1;
    if (mx < 0 || spf == BG_SPF_TEMPERROR)
        return bg_error_set(err, "DNS of %s failed for now (SPF %s)", domain,
                            bg_spf_result_name(spf)),
               -1;
    bg_error_set(err, "%s is neither an MX of %s nor allowed by its SPF (%s)", client_ip,
                 domain, bg_spf_result_name(spf));
    return 0;
}

const char *
bg_spf_result_name(bg_spf_result r)
{
    switch (r) {
    case BG_SPF_NONE:
        return "none";
    case BG_SPF_NEUTRAL:
        return "neutral";
    case BG_SPF_PASS:
        return "pass";
    case BG_SPF_FAIL:
        return "fail";
    case BG_SPF_SOFTFAIL:
        return "softfail";
    case BG_SPF_TEMPERROR:
        return "temperror";
    case BG_SPF_PERMERROR:
        return "permerror";
    }
    return "unknown";
}
