/*
 * test_json_out — the one JSON string writer: any bytes in, a string that
 * jansson parses back (valid JSON, valid UTF-8) out; valid UTF-8 round-trips
 * and keeps its bytes; invalid bytes become U+FFFD.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/json_out.h"

/* Parse "[<literal>]" with jansson; returns the string (malloc'd), or NULL. */
static char *
parse_back(const char *literal, size_t *len)
{
    char *doc = bg_xasprintf("[%s]", literal);
    json_error_t jerr;
    json_t *v = json_loads(doc, JSON_ALLOW_NUL, &jerr);
    char *s = NULL;

    free(doc);
    if (v && json_is_string(json_array_get(v, 0))) {
        json_t *e = json_array_get(v, 0);
        *len = json_string_length(e);
        s = bg_xstrndup(json_string_value(e), *len);
    }
    json_decref(v);
    return s;
}

static const struct {
    const char *name, *in;
    size_t len;
    const char *want_json; /* exact output */
    const char *want_back; /* what jansson reads back; NULL: the input */
} cases[] = {
    {"plain", "user unknown", 0, "\"user unknown\"", NULL},
    {"quote and backslash", "say \"hi\" \\o/", 0, "\"say \\\"hi\\\" \\\\o/\"", NULL},
    {"CR LF tab", "a\r\nb\tc", 0, "\"a\\r\\nb\\tc\"", NULL},
    {"ESC and DEL", "\x1b[2J\x7f", 0, "\"\\u001b[2J\\u007f\"", NULL},
    {"NUL inside", "a\0b", 3, "\"a\\u0000b\"", NULL},
    {"e acute and CJK kept", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87", 0,
     "\"caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87\"", NULL},
    {"emoji kept", "\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\"", NULL},
    {"C1 CSI as UTF-8 escaped",
     "\xc2\x9b"
     "31m",
     0, "\"\\u009b31m\"", NULL},
    {"RLO escaped",
     "a\xe2\x80\xae"
     "b",
     0, "\"a\\u202eb\"", NULL},
    {"U+2028 escaped", "\xe2\x80\xa8", 0, "\"\\u2028\"", NULL},
    {"raw 0x9B", "x\x9by", 0, "\"x\\ufffdy\"", "x\xef\xbf\xbdy"},
    {"Latin-1 e acute", "caf\xe9", 0, "\"caf\\ufffd\"", "caf\xef\xbf\xbd"},
    {"overlong", "\xc0\xaf", 0, "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate", "\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"",
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"truncated", "ok\xe4\xb8", 0, "\"ok\\ufffd\\ufffd\"", "ok\xef\xbf\xbd\xef\xbf\xbd"},
};

START_TEST(strings)
{
    bg_buf b = BG_BUF_INIT;
    size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in), blen = 0;
    const char *want_back = cases[_i].want_back ? cases[_i].want_back : cases[_i].in;
    size_t want_len = cases[_i].want_back ? strlen(want_back) : len;

    bg_json_stringn(&b, cases[_i].in, len);
    ck_assert_msg(strcmp(bg_buf_str(&b), cases[_i].want_json) == 0, "%s: got %s",
                  cases[_i].name, bg_buf_str(&b));
    char *back = parse_back(bg_buf_str(&b), &blen);
    ck_assert_msg(back != NULL, "%s: jansson refuses %s", cases[_i].name, bg_buf_str(&b));
    ck_assert_msg(blen == want_len && memcmp(back, want_back, blen) == 0,
                  "%s: read back differs", cases[_i].name);
    free(back);
    bg_buf_free(&b);
}
END_TEST

START_TEST(null_is_null)
{
    bg_buf b = BG_BUF_INIT;

    bg_json_string(&b, NULL);
    bg_json_stringn(&b, NULL, 3);
    ck_assert_str_eq(bg_buf_str(&b), "nullnull");
    bg_buf_free(&b);
}
END_TEST

/* Every byte value, every pair: always parses (jansson checks UTF-8). */
START_TEST(any_bytes_parse)
{
    unsigned seed = 12345;

    for (int round = 0; round < 20000; round++) {
        char in[16];
        size_t len = (size_t)(round % 16), blen;
        bg_buf b = BG_BUF_INIT;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)(seed >> 16);
        }
        bg_json_stringn(&b, in, len);
        char *back = parse_back(bg_buf_str(&b), &blen);
        ck_assert_msg(back != NULL, "round %d: jansson refuses %s", round,
                      bg_buf_str(&b));
        free(back);
        bg_buf_free(&b);
    }
}
END_TEST

/* One object, as the CLI writes it and as the DSN parser's golden files
 * hold it: the bytes are the contract. */
START_TEST(objects_compact_and_spaced)
{
    bg_json_obj o = BG_JSON_OBJ_INIT, sp = BG_JSON_OBJ_SPACED;
    json_error_t err;
    json_t *v;

    bg_json_obj_begin(&o);
    bg_json_obj_str(&o, "a", "x\x9b");
    bg_json_obj_int(&o, "n", -3);
    bg_json_obj_bool(&o, "b", true);
    bg_json_obj_time(&o, "t", 0);
    bg_json_obj_time(&o, "u", 1700000000);
    bg_json_obj_raw(&o, "r", "[1]");
    bg_json_obj_str(&o, "z", NULL);
    ck_assert_str_eq(bg_json_obj_close(&o), "{\"a\":\"x\\ufffd\",\"n\":-3,\"b\":true,"
                                            "\"t\":null,\"u\":\"2023-11-14T22:13:20Z\","
                                            "\"r\":[1],\"z\":null}");
    bg_json_obj_begin(&o);
    bg_json_obj_int(&o, "n", -3);
    v = json_loads(bg_json_obj_close(&o), 0, &err); /* and it parses */
    ck_assert_msg(v != NULL, "%s", err.text);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "n")), -3);
    json_decref(v);
    bg_json_obj_begin(&sp);
    bg_json_obj_str(&sp, "file", "f");
    bg_json_obj_bool(&sp, "bounce", false);
    ck_assert_str_eq(bg_json_obj_close(&sp), "{\"file\": \"f\", \"bounce\": false}");
    bg_json_obj_begin(&o); /* begins afresh */
    ck_assert_str_eq(bg_json_obj_close(&o), "{}");
    bg_json_obj_free(&o);
    bg_json_obj_free(&sp);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("json_out");
    TCase *tc = tcase_create("strings");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, strings, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, null_is_null);
    tcase_add_test(tc, any_bytes_parse);
    tcase_add_test(tc, objects_compact_and_spaced);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
