/*
 * null_milter — the physical limit for any milter, for `make bench`.
 *
 * A libmilter daemon that accepts everything: it registers RCPT TO, DATA and
 * end-of-message callbacks that return SMFIS_CONTINUE and does nothing else
 * (libmilter tells the MTA not to send the steps it has no callback for).
 * The end-to-end benchmark (bench/run) compares bounceguard-milter with it,
 * side by side, in one run.
 *
 *   null_milter [-a|-q] SOCKET   e.g. unix:/tmp/x/null.sock or inet:2590@127.0.0.1
 *
 * -a: also take the steps bounceguard-milter takes by default (MAIL FROM
 * with the macros it asks for, each header without a reply; no connect
 * step), still doing nothing in them: the same protocol traffic as
 * bounceguard without its work, to tell one cost from the other.
 * -q: the steps bounceguard-milter takes with correlate = queue-id: as -a
 * without the header step.
 *
 * Runs in the foreground until SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

static int header_noreply; /* negotiated (-a): headers get no reply */

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
    return header_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static int no_headers; /* -q: the header step negotiated away */

/* -a, -q: bounceguard-milter's negotiation with correlate = message-id,
 * queue-id. */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
               unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
               unsigned long *pf3)
{
    unsigned long off = SMFIP_NOHELO | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN;

    *pf0 = 0;
    if ((f0 & SMFIF_SETSYMLIST) && (f1 & SMFIP_NOCONNECT) &&
        smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"{client_addr} {auth_authen} i") ==
            MI_SUCCESS) {
        *pf0 |= SMFIF_SETSYMLIST;
        off |= SMFIP_NOCONNECT;
    }
    if (no_headers)
        off |= SMFIP_NOHDRS;
    *pf1 = f1 & (off | SMFIP_HDR_LEADSPC | SMFIP_NR_CONN | SMFIP_NR_HDR);
    header_noreply = (*pf1 & SMFIP_NR_HDR) != 0;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_data(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    .xxfi_name = "null",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_envrcpt = null_envrcpt,
    .xxfi_eom = null_eom,
    .xxfi_data = null_data,
};

int
main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "-a") == 0 || strcmp(argv[1], "-q") == 0)) {
        no_headers = argv[1][1] == 'q';
        null_desc.xxfi_connect = null_connect;
        null_desc.xxfi_envfrom = null_envfrom;
        null_desc.xxfi_header = null_header;
        null_desc.xxfi_negotiate = null_negotiate;
        null_desc.xxfi_flags = SMFIF_SETSYMLIST;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: null_milter [-a|-q] SOCKET\n");
        return 2;
    }
    if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(null_desc) == MI_FAILURE) {
        fprintf(stderr, "null_milter: cannot use socket %s\n", argv[1]);
        return 1;
    }
    smfi_settimeout(30);
    smfi_setbacklog(256);
    if (smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "null_milter: cannot open socket %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
