/*
 * test_table — the one table printer: columns aligned on the sampled rows,
 * hostile cells made printable and cut with "...", empty cells as "-",
 * colour codes only where the caller gives them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/table.h"

static const char *const head[] = {"NAME", "NOTE"};

/* The rows as a table prints them, in memory; returns the text (free it). */
static char *
printed(size_t sample, size_t last_max, const char *on, const char *const rows[][2],
        size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    bg_table *t = bg_table_new(fp, 2, head, sample, last_max, on, on ? "<R>" : NULL);

    for (size_t i = 0; i < n; i++)
        bg_table_row(t, on, rows[i]);
    t = bg_table_end(t);
    fclose(fp);
    return text;
}

START_TEST(aligned_and_safe)
{
    static const char *const rows[][2] = {
        {"a", "x"}, {"longer name", ""}, {"esc\033[31m", "0123456789abcdef"}};
    char *s = printed(0, 10, NULL, rows, 3);

    ck_assert_str_eq(s, "NAME         NOTE\n"
                        "a            x\n"
                        "longer name  -\n"
                        "esc\\x1b[31m  0123456...\n");
    free(s);
}
END_TEST

START_TEST(streams_after_sample_and_colours_rows)
{
    static const char *const rows[][2] = {{"a", "1"}, {"bbbbbb", "2"}};
    char *s = printed(1, 10, "<B>", rows, 2);

    /* the widths come from the first row; the second pushes its own row */
    ck_assert_str_eq(s, "<B>NAME  NOTE<R>\n"
                        "<B>a     1<R>\n"
                        "<B>bbbbbb  2<R>\n");
    free(s);
    s = printed(0, 10, NULL, rows, 0);
    ck_assert_str_eq(s, ""); /* no rows: nothing, not even the header */
    free(s);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("table");
    TCase *tc = tcase_create("print");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, aligned_and_safe);
    tcase_add_test(tc, streams_after_sample_and_colours_rows);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
