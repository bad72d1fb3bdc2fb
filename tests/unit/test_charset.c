/*
 * test_charset — conversion to UTF-8: named cases, and the shortcuts of
 * lib/charset.c (ASCII in a superset of ASCII, ISO 8859-1, the ASCII runs of
 * ISO-2022-JP) compared byte for byte with a plain iconv loop on random text.
 */
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/charset.h"

typedef struct conv_case {
    const char *name;
    const char *charset;
    const char *in;
    const char *want;
    bool converted;
} conv_case;

static const conv_case conv_cases[] = {
    {"utf-8 copied", "utf-8", "caf\xc3\xa9", "caf\xc3\xa9", false},
    {"no charset copied", NULL, "abc", "abc", false},
    {"unknown charset copied", "x-nonsense", "a\xe9", "a\xe9", false},
    {"latin-1", "ISO-8859-1", "caf\xe9", "caf\xc3\xa9", true},
    {"latin-9 euro", "iso-8859-15", "\xa4 5", "\xe2\x82\xac 5", true},
    {"koi8-r ascii", "koi8-r", "plain", "plain", true},
    {"iso-2022-jp", "ISO-2022-JP", "a \x1b$B%F%9%H\x1b(B b",
     "a \xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88 b", true},
    {"iso-2022-jp without closing escape", "iso-2022-jp", "x\x1b$B%F",
     "x\xe3\x83\x86", true},
    {"iso-2022-jp high byte refused", "iso-2022-jp", "a\x80z", "a?z", true},
    {"iso-2022-jp JIS Roman yen", "iso-2022-jp", "\x1b(J\\\x1b(B\\", "\xc2\xa5\\", true},
};

START_TEST(test_conv)
{
    const conv_case *c = &conv_cases[_i];
    bg_buf b = BG_BUF_INIT;
    bool conv = bg_charset_to_utf8(c->charset, c->in, strlen(c->in), &b);
    ck_assert_msg(strcmp(bg_buf_str(&b), c->want) == 0, "%s: got '%s'", c->name,
                  bg_buf_str(&b));
    ck_assert_msg(conv == c->converted, "%s: converted %d", c->name, conv);
    bg_buf_free(&b);
}
END_TEST

/* The reference: the whole input through iconv, a bad byte made '?'. */
static void
reference(const char *charset, const char *src, size_t len, bg_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    ck_assert(cd != (iconv_t)-1);
    char *in = (char *)src;
    size_t inleft = len;
    char tmp[256];
    while (inleft > 0) {
        char *o = tmp;
        size_t oleft = sizeof tmp;
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        bg_buf_append(out, tmp, (size_t)(o - tmp));
        if (r == (size_t)-1 && errno != E2BIG) {
            bg_buf_putc(out, '?');
            in++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
    }
    char *o = tmp;
    size_t oleft = sizeof tmp;
    iconv(cd, NULL, NULL, &o, &oleft);
    bg_buf_append(out, tmp, (size_t)(o - tmp));
    iconv_close(cd);
}

/* Random text built from pieces that matter to ISO-2022-JP (escapes, JIS
 * pairs, odd bytes, high bytes) and to the 8-bit charsets. */
static size_t
random_text(unsigned *seed, char *buf, size_t size)
{
    static const char *const pieces[] = {
        "\x1b$B", "\x1b(B", "\x1b(J", "\x1b$@", "\x1b(I", "\x1b$", "\x1b(", "\x1b",
        "%F", "%9", "4A", "!!", "\x7e", "\\", "a", "Mail ", "\r\n", "\x0e", "\x0f",
        "\x80", "\xa4", "\xe9", "\xff", "\x00",
    };
    size_t n = 0, npieces = sizeof pieces / sizeof pieces[0];
    size_t want = (size_t)(rand_r(seed) % 60);
    for (size_t k = 0; k < want; k++) {
        size_t which = (size_t)rand_r(seed) % npieces;
        size_t plen = which == npieces - 1 ? 1 : strlen(pieces[which]);
        if (n + plen > size)
            break;
        memcpy(buf + n, pieces[which], plen);
        n += plen;
    }
    return n;
}

START_TEST(test_same_as_iconv)
{
    static const char *const charsets[] = {"ISO-2022-JP", "iso-8859-1", "ISO-8859-15",
                                           "windows-1252", "koi8-r"};
    unsigned seed = 20261123;
    char text[512];
    for (int round = 0; round < 20000; round++) {
        const char *cs = charsets[round % 5];
        size_t len = random_text(&seed, text, sizeof text);
        bg_buf got = BG_BUF_INIT, want = BG_BUF_INIT;
        bg_charset_to_utf8(cs, text, len, &got);
        reference(cs, text, len, &want);
        bool same = got.len == want.len &&
                    memcmp(bg_buf_str(&got), bg_buf_str(&want), got.len) == 0;
        ck_assert_msg(same, "%s, round %d: %zu bytes from us, %zu from iconv", cs, round,
                      got.len, want.len);
        bg_buf_free(&got);
        bg_buf_free(&want);
    }
}
END_TEST

static Suite *
charset_suite(void)
{
    Suite *s = suite_create("charset");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_conv, 0, sizeof conv_cases / sizeof conv_cases[0]);
    tcase_add_test(tc, test_same_as_iconv);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(charset_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
