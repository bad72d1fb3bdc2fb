/*
 * spf.c — see include/bounceguard/spf.h.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
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
