/*
 * test_mime — MIME decoding edge cases as tables of named cases: header
 * unfolding, parameters, RFC 2047 words, base64, quoted-printable, charsets,
 * and the multipart walk on broken input.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/mime.h"

typedef struct str_case {
    const char *name;
    const char *in;
    const char *want;
} str_case;

static const str_case words_cases[] = {
    {"plain text untouched", "hello world", "hello world"},
    {"base64 utf-8", "=?UTF-8?B?44Gr44KD44KT44GT?=", "\xe3\x81\xab\xe3\x82\x83\xe3\x82\x93\xe3\x81\x93"},
    {"q with underscore", "=?iso-8859-1?Q?Caf=E9_au_lait?=", "Caf\xc3\xa9 au lait"},
    {"space between words dropped", "=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
    {"space before text kept", "=?utf-8?q?a?= b", "a b"},
    {"broken word left as is", "=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
    {"unterminated word", "=?utf-8?B?abc", "=?utf-8?B?abc"},
    {"iso-2022-jp", "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"},
    {"unknown charset copied", "=?x-nonsense?Q?abc?=", "abc"},
};

START_TEST(test_words)
{
    const str_case *c = &words_cases[_i];
    char *got = bg_mime_decode_words(c->in);
    ck_assert_msg(strcmp(got, c->want) == 0, "%s: got '%s'", c->name, got);
    free(got);
}
END_TEST

static const str_case b64_cases[] = {
    {"simple", "aGVsbG8=", "hello"},
    {"line breaks ignored", "aGVs\r\nbG8=", "hello"},
    {"garbage skipped", "aG!!Vs*bG8", "hello"},
    {"empty", "", ""},
    {"truncated quantum", "aGVsbG", "hell"},
};

START_TEST(test_base64)
{
    const str_case *c = &b64_cases[_i];
    bg_buf b = BG_BUF_INIT;
    bg_mime_decode_base64(c->in, strlen(c->in), &b);
    ck_assert_msg(strcmp(bg_buf_str(&b), c->want) == 0, "%s: got '%s'", c->name, bg_buf_str(&b));
    bg_buf_free(&b);
}
END_TEST

static const str_case qp_cases[] = {
    {"hex escape", "a=3Db", "a=b"},
    {"soft break", "long=\r\nline", "longline"},
    {"soft break lf", "long=\nline", "longline"},
    {"soft break with trailing space", "ab= \t\ncd", "abcd"},
    {"bad escape kept", "a=ZZb", "a=ZZb"},
    {"equals at end", "abc=", "abc"},
    {"lower-case hex", "=e9", "\xe9"},
};

START_TEST(test_qp)
{
    const str_case *c = &qp_cases[_i];
    bg_buf b = BG_BUF_INIT;
    bg_mime_decode_qp(c->in, strlen(c->in), &b);
    ck_assert_msg(strcmp(bg_buf_str(&b), c->want) == 0, "%s: got '%s'", c->name, bg_buf_str(&b));
    bg_buf_free(&b);
}
END_TEST

typedef struct param_case {
    const char *name;
    const char *value;
    const char *param;
    const char *want; /* NULL = absent */
} param_case;

static const param_case param_cases[] = {
    {"quoted boundary", "multipart/report; boundary=\"a b;c\"", "boundary", "a b;c"},
    {"bare value", "text/plain; charset=utf-8", "charset", "utf-8"},
    {"case-insensitive name", "text/plain; CHARSET=utf-8", "charset", "utf-8"},
    {"spaces around =", "text/plain; charset = \"x\"", "charset", "x"},
    {"absent", "text/plain", "charset", NULL},
    {"not fooled by quoted ;", "a/b; x=\"; charset=no\"; charset=yes", "charset", "yes"},
    {"escaped quote", "a/b; name=\"a\\\"b\"", "name", "a\"b"},
};

START_TEST(test_param)
{
    const param_case *c = &param_cases[_i];
    char *got = bg_mime_param(c->value, c->param);
    if (!c->want)
        ck_assert_msg(got == NULL, "%s: got '%s'", c->name, got);
    else
        ck_assert_msg(got && strcmp(got, c->want) == 0, "%s: got '%s'", c->name,
                      got ? got : "(null)");
    free(got);
}
END_TEST

START_TEST(test_headers_unfold)
{
    const char *msg = "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\r\n"
                      "Subject: a\r\n\tb\r\n  c\r\n"
                      "X-Empty:\r\n"
                      "not a header line\r\n"
                      "To : x@y\r\n"
                      "\r\nbody";
    bg_mime_headers h = BG_MIME_HEADERS_INIT;
    size_t off = bg_mime_headers_parse(msg, strlen(msg), &h);
    ck_assert_str_eq(msg + off, "body");
    ck_assert_str_eq(bg_mime_headers_get(&h, "subject"), "a b c");
    ck_assert_str_eq(bg_mime_headers_get(&h, "X-Empty"), "");
    ck_assert_str_eq(bg_mime_headers_get(&h, "To"), "x@y");
    ck_assert_ptr_null(bg_mime_headers_get(&h, "From"));
    bg_mime_headers_clear(&h);
}
END_TEST

START_TEST(test_headers_lazy)
{
    const char *msg = "Content-Type: multipart/mixed;\r\n"
                      "boundary=\"b\"\r\n"
                      "Received: from a\r\n by b\r\n"
                      "X-Nul: a\0b\r\n"
                      "\r\n";
    size_t len = strlen(msg) + 1 + strlen("b\r\n\r\n"); /* past the NUL */
    bg_mime_headers h = BG_MIME_HEADERS_INIT;
    bg_mime_headers_parse(msg, len, &h);
    ck_assert_uint_eq(h.n, 3);
    /* Nothing is unfolded before it is asked for. */
    for (size_t i = 0; i < h.n; i++)
        ck_assert_ptr_null(h.v[i].value);
    ck_assert(bg_mime_field_is(&h.v[1], "RECEIVED"));
    ck_assert(!bg_mime_field_is(&h.v[1], "Receive"));
    ck_assert_uint_eq(h.v[1].name_len, 8);
    /* A parameter list folded without white space is one value. */
    const char *ct = bg_mime_headers_get(&h, "content-type");
    ck_assert_str_eq(ct, "multipart/mixed; boundary=\"b\"");
    ck_assert_ptr_eq(bg_mime_headers_get(&h, "Content-Type"), ct); /* kept */
    ck_assert_ptr_null(h.v[1].value);
    ck_assert_str_eq(bg_mime_headers_value(&h, 1), "from a by b");
    ck_assert_str_eq(bg_mime_headers_get(&h, "X-Nul"), "a"); /* up to a NUL */
    bg_mime_headers_clear(&h);
    ck_assert_uint_eq(h.n, 0);
    ck_assert_ptr_null(h.pool);
}
END_TEST

START_TEST(test_content_type)
{
    char *t = bg_mime_content_type(" Message/Delivery-Status ; x=y");
    ck_assert_str_eq(t, "message/delivery-status");
    free(t);
    t = bg_mime_content_type("garbage");
    ck_assert_str_eq(t, "text/plain");
    free(t);
    t = bg_mime_content_type(NULL);
    ck_assert_str_eq(t, "text/plain");
    free(t);
}
END_TEST

START_TEST(test_multipart_walk)
{
    const char *msg = "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
                      "This is a multi-part message in MIME format.\n"
                      "--outer\n"
                      "Content-Type: multipart/alternative; boundary=outer2\n\n"
                      "--outer2\n"
                      "Content-Type: text/plain; charset=iso-8859-1\n"
                      "Content-Transfer-Encoding: quoted-printable\n\n"
                      "caf=E9\n"
                      "--outer2--\n"
                      "--outer\n"
                      "Content-Type: text/plain\n"
                      "Content-Transfer-Encoding: base64\n\n"
                      "aGVsbG8=\n"
                      "--outer\n"
                      "Content-Type: message/rfc822\n\n"
                      "Message-ID: <x@y>\n\nbody\n"
                      "--outer--\n";
    bg_mime_message *m = bg_mime_parse(msg, strlen(msg));
    ck_assert_uint_eq(m->nparts, 3);
    ck_assert_str_eq(m->parts[0].type, "text/plain");
    ck_assert_str_eq(m->parts[0].body, "caf\xc3\xa9");
    ck_assert_int_eq(m->parts[0].depth, 2);
    ck_assert_str_eq(m->parts[1].body, "hello");
    ck_assert_str_eq(m->parts[2].type, "message/rfc822");
    ck_assert_ptr_nonnull(strstr(m->parts[2].body, "Message-ID: <x@y>"));
    ck_assert_ptr_null(bg_mime_message_free(m));
}
END_TEST

START_TEST(test_binary_parts_not_read)
{
    /* A Gmail-style notice with a logo: the image is a part, its body is
     * not decoded; text around it is. */
    const char *msg = "Content-Type: multipart/related; boundary=r\n\n"
                      "--r\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                      "aGVsbG8=\n"
                      "--r\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
                      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\n"
                      "--r\nContent-Type: application/octet-stream\n\nraw bytes\n"
                      "--r\nContent-Type: TEXT/HTML\nContent-Transfer-Encoding: base64\n\n"
                      "PGI+aGk8L2I+\n"
                      "--r--\n";
    bg_mime_message *m = bg_mime_parse(msg, strlen(msg));
    ck_assert_uint_eq(m->nparts, 4);
    ck_assert_str_eq(m->parts[0].body, "hello");
    ck_assert_str_eq(m->parts[1].type, "image/png");
    ck_assert_uint_eq(m->parts[1].len, 0);
    ck_assert_str_eq(m->parts[1].body, "");
    ck_assert_uint_eq(m->parts[2].len, 0);
    ck_assert_str_eq(m->parts[3].body, "<b>hi</b>");
    bg_mime_message_free(m);
    ck_assert(bg_mime_type_is_read(NULL));
    ck_assert(bg_mime_type_is_read("message/delivery-status"));
    ck_assert(!bg_mime_type_is_read("application/ms-tnef"));
}
END_TEST

START_TEST(test_multipart_broken)
{
    /* No closing boundary, a boundary that is a prefix of another. */
    const char *msg = "Content-Type: multipart/report; boundary=b\n\n"
                      "--b\nContent-Type: text/plain\n\nfirst\n"
                      "--bb not a delimiter\n"
                      "--b\nContent-Type: text/plain\n\nsecond, truncated";
    bg_mime_message *m = bg_mime_parse(msg, strlen(msg));
    ck_assert_uint_eq(m->nparts, 2);
    ck_assert_ptr_nonnull(strstr(m->parts[0].body, "--bb not a delimiter"));
    ck_assert_str_eq(m->parts[1].body, "second, truncated");
    bg_mime_message_free(m);

    /* A boundary that never appears: one text part. */
    const char *msg2 = "Content-Type: multipart/mixed; boundary=zz\n\nplain body";
    m = bg_mime_parse(msg2, strlen(msg2));
    ck_assert_uint_eq(m->nparts, 1);
    ck_assert_str_eq(m->parts[0].body, "plain body");
    bg_mime_message_free(m);

    /* Empty input. */
    m = bg_mime_parse("", 0);
    ck_assert_uint_eq(m->nparts, 1);
    bg_mime_message_free(m);
}
END_TEST

START_TEST(test_multipart_depth_bounded)
{
    bg_buf b = BG_BUF_INIT;
    for (int i = 0; i < 40; i++)
        bg_buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    bg_buf_puts(&b, "Content-Type: text/plain\n\ndeep\n");
    bg_mime_message *m = bg_mime_parse(b.s, b.len);
    ck_assert(m->truncated);
    ck_assert_uint_ge(m->nparts, 1);
    bg_mime_message_free(m);
    bg_buf_free(&b);
}
END_TEST

static Suite *
mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, test_words, 0, sizeof words_cases / sizeof words_cases[0]);
    tcase_add_loop_test(tc, test_base64, 0, sizeof b64_cases / sizeof b64_cases[0]);
    tcase_add_loop_test(tc, test_qp, 0, sizeof qp_cases / sizeof qp_cases[0]);
    tcase_add_loop_test(tc, test_param, 0, sizeof param_cases / sizeof param_cases[0]);
    tcase_add_test(tc, test_headers_unfold);
    tcase_add_test(tc, test_headers_lazy);
    tcase_add_test(tc, test_content_type);
    tcase_add_test(tc, test_multipart_walk);
    tcase_add_test(tc, test_multipart_broken);
    tcase_add_test(tc, test_binary_parts_not_read);
    tcase_add_test(tc, test_multipart_depth_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(mime_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
