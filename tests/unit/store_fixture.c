/*
 * store_fixture.c — the temporary store the store-backed unit tests start
 * each case from (store_fixture.h).
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store_fixture.h"

bg_store *
store_fixture_open(char *home, size_t size, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    bg_error err;
    bg_store *st;
    int n = snprintf(home, size, "%s/bg-test-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);

    ck_assert_msg(n > 0 && (size_t)n < size, "the store's path is too long for %zu bytes", size);
    ck_assert_msg(mkdtemp(home) != NULL, "mkdtemp %s failed", home);
    st = bg_store_open(home, BG_STORE_CREATE, &err);
    ck_assert_msg(st != NULL, "open %s: %s", home, err.msg);
    return st;
}

static int
remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    return remove(path);
}

bg_store *
store_fixture_close(bg_store *st, const char *home)
{
    bg_store_close(st);
    ck_assert_msg(nftw(home, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove %s",
                  home);
    return NULL;
}
