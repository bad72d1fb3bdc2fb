/*
 * conf_man — a build tool: copies man/bounceguard.conf.5.in from stdin to
 * stdout, replacing the line "@KEYS@" with the config key table of
 * lib/config.c, so the man page can never disagree with the parser.
 */
#include <stdio.h>
#include <string.h>

#include "bounceguard/config.h"

int
main(void)
{
    char line[4096];

    while (fgets(line, sizeof(line), stdin)) {
        if (strcmp(line, "@KEYS@\n") == 0)
            bg_config_man(stdout);
        else
            fputs(line, stdout);
    }
    return ferror(stdout) ? 1 : 0;
}
