/*
 * test_util — the sanitiser every printed field goes through: what is
 * escaped (C0, DEL, C1 in both encodings, invalid UTF-8 of each kind, bidi
 * controls), what is kept (valid UTF-8), and the bounds (never half an
 * escape or half a character, always NUL-terminated).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/util.h"

/* in is in[0..len) (len 0: strlen); want is the whole display form. */
static const struct {
    const char *name, *in;
    size_t len;
    const char *want;
} cases[] = {
    {"plain ASCII", "550 5.1.1 user unknown", 0, "550 5.1.1 user unknown"},
    {"CR LF", "bad\r\nInjected: line", 0, "bad\\x0d\\x0aInjected: line"},
    {"tab", "a\tb", 0, "a\\x09b"},
    {"ESC sequence", "\x1b]0;owned\x07\x1b[2J", 0, "\\x1b]0;owned\\x07\\x1b[2J"},
    {"NUL inside", "a\0b", 3, "a\\x00b"},
    {"DEL",
     "a\x7f"
     "b",
     0, "a\\x7fb"},
    {"C1 CSI as a raw byte",
     "\x9b"
     "31m",
     0, "\\x9b31m"},
    {"C1 CSI as UTF-8",
     "\xc2\x9b"
     "31m",
     0, "\\u009b31m"},
    {"C1 first and last", "\xc2\x80\xc2\x9f", 0, "\\u0080\\u009f"},
    {"U+00A0 is not C1", "\xc2\xa0", 0, "\xc2\xa0"},
    {"stray continuation", "a\x80z", 0, "a\\x80z"},
    {"overlong slash", "\xc0\xaf", 0, "\\xc0\\xaf"},
    {"overlong 3 bytes", "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"},
    {"overlong 4 bytes", "\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf"},
    {"surrogate", "\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"},
    {"F5 lead", "\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80"},
    {"truncated at end", "ok\xe4\xb8", 0, "ok\\xe4\\xb8"},
    {"truncated before ASCII", "\xe4\xb8z", 0, "\\xe4\\xb8z"},
    {"RLO (Trojan Source)",
     "admin\xe2\x80\xae"
     "gpj.exe",
     0, "admin\\u202egpj.exe"},
    {"LRE PDF", "\xe2\x80\xaa\xe2\x80\xac", 0, "\\u202a\\u202c"},
    {"isolates", "\xe2\x81\xa6\xe2\x81\xa9", 0, "\\u2066\\u2069"},
    {"LRM RLM ALM", "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "\\u200e\\u200f\\u061c"},
    {"line separator",
     "a\xe2\x80\xa8"
     "b",
     0, "a\\u2028b"},
    {"e acute kept", "caf\xc3\xa9", 0, "caf\xc3\xa9"},
    {"CJK kept", "\xe4\xb8\xad\xe6\x96\x87", 0, "\xe4\xb8\xad\xe6\x96\x87"},
    {"emoji kept", "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80"},
    {"backslash kept", "C:\\x1b", 0, "C:\\x1b"},
};

START_TEST(escapes)
{
    char out[256];
    size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
    size_t used = bg_sanitize_mem(out, sizeof(out), cases[_i].in, len, sizeof(out));

    ck_assert_msg(strcmp(out, cases[_i].want) == 0, "%s: got '%s'", cases[_i].name, out);
    ck_assert_msg(used == len, "%s: covered %zu of %zu", cases[_i].name, used, len);
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p != 0x7f, "%s: control byte 0x%02x left",
                      cases[_i].name, *p);
    /* the unlimited form says the same */
    bg_buf b = BG_BUF_INIT;
    bg_buf_sanitized(&b, cases[_i].in, len);
    ck_assert_str_eq(bg_buf_str(&b), cases[_i].want);
    bg_buf_free(&b);
}
END_TEST

/* Every size and every max: NUL-terminated inside dst, never more than max
 * bytes, and always the display form of a whole prefix of the input (so
 * never half "\x9b" nor half a UTF-8 character). */
START_TEST(bounds)
{
    static const char in[] =
        "a\xc3\xa9\x1b[\xc2\x9b\xe4\xb8\xad\xe2\x80\xae\x9bz\xf0\x9f\x98\x80";
    size_t len = sizeof(in) - 1;

    for (size_t size = 0; size < 48; size++) {
        for (size_t max = 0; max < 48; max++) {
            char dst[64];
            memset(dst, 'Z', sizeof(dst));
            size_t used = bg_sanitize_mem(dst, size, in, len, max);
            if (size == 0) {
                ck_assert_int_eq(used, 0);
                ck_assert_int_eq(dst[0], 'Z');
                continue;
            }
            size_t n = strnlen(dst, size);
            ck_assert_msg(n < size, "size %zu max %zu: not terminated", size, max);
            ck_assert_msg(n <= max, "size %zu max %zu: %zu bytes", size, max, n);
            ck_assert_int_eq(dst[size], 'Z'); /* nothing written past size */
            bg_buf whole = BG_BUF_INIT;
            bg_buf_sanitized(&whole, in, used);
            ck_assert_msg(strcmp(dst, bg_buf_str(&whole)) == 0,
                          "size %zu max %zu: '%s' is not the form of %zu input bytes",
                          size, max, dst, used);
            /* and the next piece really did not fit */
            if (used < len) {
                char tmp[16];
                size_t m = 1; /* the length of the next piece's form */
                while (bg_sanitize_mem(tmp, sizeof(tmp), in + used, len - used, m) == 0)
                    m++;
                size_t lim = max < size - 1 ? max : size - 1;
                ck_assert_msg(whole.len + m > lim, "size %zu max %zu: cut too early",
                              size, max);
            }
            bg_buf_free(&whole);
        }
    }
}
END_TEST

START_TEST(line_and_cell)
{
    char out[32];

    ck_assert_str_eq(bg_sanitize_line(out, sizeof(out), NULL, 10), "");
    ck_assert_str_eq(bg_sanitize_line(out, sizeof(out), "abc\x9b", 5), "abc");
    ck_assert_str_eq(bg_sanitize_line(out, sizeof(out), "abc\x9b", 7), "abc\\x9b");
    ck_assert_str_eq(bg_sanitize_cell(out, sizeof(out), "abcdefghij", 10), "abcdefghij");
    ck_assert_str_eq(bg_sanitize_cell(out, sizeof(out), "abcdefghijk", 10), "abcdefg...");
    ck_assert_str_eq(bg_sanitize_cell(out, sizeof(out), "abcdef\x1b", 10), "abcdef\\x1b");
    ck_assert_str_eq(bg_sanitize_cell(out, sizeof(out), "abcdefg\x1b", 10), "abcdefg...");
    ck_assert_str_eq(bg_sanitize_cell(out, sizeof(out), "ab\xe4\xb8\xad\xe4\xb8\xad", 7),
                     "ab...");
}
END_TEST

START_TEST(error_messages_are_printable)
{
    bg_error err;

    bg_error_set(&err, "said: %s", "550 \x1b[31mred\xc2\x9b\x9b\xe2\x80\xae\r\nX: y");
    ck_assert_str_eq(err.msg, "said: 550 \\x1b[31mred\\u009b\\x9b\\u202e\\x0d\\x0aX: y");
    /* long text: cut whole, terminated */
    char big[2000];
    memset(big, '\x9b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bg_error_set(&err, "%s", big);
    ck_assert_uint_le(strlen(err.msg), sizeof(err.msg) - 1);
    ck_assert_uint_eq(strlen(err.msg) % 4, 0);
}
END_TEST

START_TEST(utf8_decode)
{
    uint32_t cp = 0;

    ck_assert_uint_eq(bg_utf8_decode("\xc3\xa9", 2, &cp), 2);
    ck_assert_uint_eq(cp, 0xe9);
    ck_assert_uint_eq(bg_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    ck_assert_uint_eq(cp, 0x10ffff);
    ck_assert_uint_eq(bg_utf8_decode("\xc3\xa9", 1, &cp), 0);
    ck_assert_uint_eq(bg_utf8_decode("", 0, &cp), 0);
    ck_assert_uint_eq(bg_utf8_decode("\xc1\xbf", 2, &cp), 0);
}
END_TEST

/* The programs' small text files: whole, bounded, no NUL, errno says why. */
START_TEST(read_text_file)
{
    char dir[] = "/tmp/bg-test-util-XXXXXX", path[64];
    bg_buf b = BG_BUF_INIT;
    FILE *fp;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    fp = fopen(path, "w");
    fputs("a = 1\nb = 2\n", fp);
    fclose(fp);
    ck_assert_int_eq(bg_read_text_file(path, 100, &b), 0);
    ck_assert_str_eq(bg_buf_str(&b), "a = 1\nb = 2\n");
    bg_buf_reset(&b);
    ck_assert_int_eq(bg_read_text_file(path, 5, &b), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_uint_eq(b.len, 0);
    fp = fopen(path, "w");
    fwrite("a\0b", 1, 3, fp);
    fclose(fp);
    ck_assert_int_eq(bg_read_text_file(path, 100, &b), -1);
    ck_assert_int_eq(errno, EILSEQ);
    remove(path);
    ck_assert_int_eq(bg_read_text_file(path, 100, &b), -1);
    ck_assert_int_eq(errno, ENOENT);
    bg_buf_free(&b);
    rmdir(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("sanitize");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, escapes, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, line_and_cell);
    tcase_add_test(tc, error_messages_are_printable);
    tcase_add_test(tc, utf8_decode);
    tcase_add_test(tc, read_text_file);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
