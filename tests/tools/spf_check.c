/*
 * spf_check — check SPF from the command line through the spf module, for
 * tests/integration/spf_dns.sh.
 *
 *   spf_check CLIENT_IP HELO SENDER     ("" for no HELO / the null sender)
 *
 * Prints the result name ("pass", "fail", ...) on the first line and the
 * module's reason on the second; exits 0 (a result was reached) or 2 (usage).
 */
#include <stdio.h>

#include "bounceguard/spf.h"

int
main(int argc, char **argv)
{
    bg_error err = {""};
    bg_spf_result r;

    if (argc != 4) {
        fprintf(stderr, "usage: spf_check CLIENT_IP HELO SENDER\n");
        return 2;
    }
    r = bg_spf_check(argv[1], argv[2], argv[3], &err);
    printf("%s\n%s\n", bg_spf_result_name(r), err.msg);
    return 0;
}
