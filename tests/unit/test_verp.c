/*
 * test_verp — signed VERP tokens: round trips, every single-character change
 * refused, case changes tolerated, expiry at its edge, malformed tokens.
 */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounceguard/verp.h"

#define NOW 1795438800
#define DAY 86400

static const char secret[] = "0123456789abcdef-test-secret";
static bg_verp *v;

static void
setup(void)
{
    bg_error err;

    v = bg_verp_new(secret, strlen(secret), &err);
    ck_assert_ptr_nonnull(v);
}

static void
teardown(void)
{
    v = bg_verp_free(v);
}

static const struct {
    const char *name;
    const char *key;
    int token_len;
} round_trips[] = {
    {"postfix short queue id", "3F2A41C0A2", 40},
    {"postfix long queue id", "4Jx1Yz3sHNz9sQr", 48},
    {"sendmail queue id", "2ANC0nm0012345", 47},
    {"made key", "0123456789abcdef", 50},
    {"one octet", "x", 26},
    {"longest key", "ABCDEFGHIJ0123456789", 56},
    {"punctuation", "a.b-c_d!~", 39},
};

START_TEST(round_trip)
{
    char tok[BG_VERP_TOKEN_MAX + 1], key[BG_VERP_KEY_MAX + 1];
    bg_error err;
    int64_t when = 0;
    int n = bg_verp_encode(v, round_trips[_i].key, NULL, NOW, tok, sizeof(tok), &err);
    size_t i;

    ck_assert_msg(n == round_trips[_i].token_len, "%s: length %d", round_trips[_i].name,
                  n);
    ck_assert_int_eq((int)strlen(tok), n);
    for (i = 0; tok[i]; i++)
        ck_assert_msg(islower((unsigned char)tok[i]) || (tok[i] >= '2' && tok[i] <= '7'),
                      "%s: char '%c'", round_trips[_i].name, tok[i]);
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW + 60, 30 * DAY, key, sizeof(key), &when),
                     BG_VERP_OK);
    ck_assert_str_eq(key, round_trips[_i].key);
    ck_assert_int_eq(when, NOW);
}
END_TEST

START_TEST(every_changed_char_refused)
{
    char tok[BG_VERP_TOKEN_MAX + 1], bad[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    int n = bg_verp_encode(v, "3F2A41C0A2", NULL, NOW, tok, sizeof(tok), &err), i, j;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

    for (i = 0; i < n; i++) {
        for (j = 0; j < 32; j++) {
            bg_verp_status st;

            if (alphabet[j] == tok[i])
                continue;
            strcpy(bad, tok);
            bad[i] = alphabet[j];
            st = bg_verp_verify(v, bad, NULL, NOW, 30 * DAY, key, sizeof(key), NULL);
            ck_assert_msg(st == BG_VERP_BAD_SIGNATURE || st == BG_VERP_MALFORMED,
                          "position %d -> '%c' accepted", i, alphabet[j]);
        }
    }
}
END_TEST

START_TEST(case_changes_tolerated)
{
    char tok[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    size_t i;

    bg_verp_encode(v, "4Jx1Yz3sHNz9sQr", NULL, NOW, tok, sizeof(tok), &err);
    for (i = 0; tok[i]; i++)
        tok[i] = (char)toupper((unsigned char)tok[i]);
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_OK);
    /* The key keeps its case: it is inside the signed bytes, not the text. */
    ck_assert_str_eq(key, "4Jx1Yz3sHNz9sQr");
    for (i = 0; tok[i]; i += 2)
        tok[i] = (char)tolower((unsigned char)tok[i]);
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_OK);
}
END_TEST

START_TEST(expiry_edges)
{
    char tok[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    int64_t when;

    bg_verp_encode(v, "ABC123", NULL, NOW, tok, sizeof(tok), &err);
    ck_assert_int_eq(
        bg_verp_verify(v, tok, NULL, NOW + 7 * DAY, 7 * DAY, key, sizeof(key), NULL),
        BG_VERP_OK);
    ck_assert_int_eq(
        bg_verp_verify(v, tok, NULL, NOW + 7 * DAY + 1, 7 * DAY, key, sizeof(key), &when),
        BG_VERP_EXPIRED);
    ck_assert_str_eq(key, "ABC123");
    ck_assert_int_eq(when, NOW);
    /* max_age <= 0: never expires; a token from the future is accepted. */
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW + 3650 * DAY, 0, key, sizeof(key), NULL),
                     BG_VERP_OK);
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW - DAY, DAY, key, sizeof(key), NULL),
                     BG_VERP_OK);
}
END_TEST

START_TEST(other_secret_refused)
{
    char tok[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    bg_verp *w = bg_verp_new("another-secret-of-enough-length", 31, &err);

    bg_verp_encode(v, "3F2A41C0A2", NULL, NOW, tok, sizeof(tok), &err);
    ck_assert_int_eq(bg_verp_verify(w, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_BAD_SIGNATURE);
    ck_assert_str_eq(key, "");
    bg_verp_free(w);
    ck_assert_ptr_null(bg_verp_new("short", 5, &err));
    ck_assert(strstr(err.msg, "too short") != NULL);
}
END_TEST

static const struct {
    const char *name;
    const char *token;
} malformed[] = {
    {"empty", ""},
    {"too short", "aaaaaaaa"},
    {"bad char 1", "1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"bad char 8", "8aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"plus sign", "+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"padding", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=="},
    {"impossible length 41", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"wrong version", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"space inside", "aaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    {"utf8", "\xc3\xa4"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
};

START_TEST(malformed_tokens)
{
    char key[32];

    ck_assert_msg(bg_verp_verify(v, malformed[_i].token, NULL, NOW, DAY, key, sizeof(key),
                                 NULL) == BG_VERP_MALFORMED,
                  "%s accepted as well-formed", malformed[_i].name);
}
END_TEST

START_TEST(stray_trailing_bits_are_malformed)
{
    /* 40 chars hold 200 bits for 25 bytes: no spare bits.  A 26-byte token
     * (42 chars, 210 bits) has 2 spare bits that must be zero. */
    char tok[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    int n = bg_verp_encode(v, "3F2A41C0A2x", NULL, NOW, tok, sizeof(tok), &err);
    char *last = &tok[n - 1];
    const char *p = strchr("abcdefghijklmnopqrstuvwxyz234567", *last);

    ck_assert_int_eq(n, 42);
    ck_assert_int_eq((int)(p - "abcdefghijklmnopqrstuvwxyz234567") & 3, 0);
    *last =
        "abcdefghijklmnopqrstuvwxyz234567"[(p - "abcdefghijklmnopqrstuvwxyz234567") | 1];
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_MALFORMED);
}
END_TEST

START_TEST(bad_encode_arguments)
{
    char tok[BG_VERP_TOKEN_MAX + 1], small[10];
    bg_error err;

    ck_assert_int_eq(bg_verp_encode(v, "", NULL, NOW, tok, sizeof(tok), &err), -1);
    ck_assert_int_eq(
        bg_verp_encode(v, "ABCDEFGHIJ01234567890", NULL, NOW, tok, sizeof(tok), &err), -1);
    ck_assert_int_eq(bg_verp_encode(v, "a b", NULL, NOW, tok, sizeof(tok), &err), -1);
    ck_assert_int_eq(bg_verp_encode(v, "abc", NULL, -1, tok, sizeof(tok), &err), -1);
    ck_assert_int_eq(bg_verp_encode(v, "abc", NULL, (int64_t)1 << 32, tok, sizeof(tok), &err),
                     -1);
    ck_assert_int_eq(bg_verp_encode(v, "abc", NULL, NOW, small, sizeof(small), &err), -1);
}
END_TEST

START_TEST(address_and_match)
{
    char addr[300], tok[BG_VERP_TOKEN_MAX + 1], key[32];
    bg_error err;
    int n = bg_verp_address(v, "bounces", "3F2A41C0A2", NULL, NOW, "relay.example", addr,
                            sizeof(addr), &err);
    char *at = strchr(addr, '@');

    ck_assert_int_gt(n, 0);
    ck_assert(strncmp(addr, "bounces+", 8) == 0);
    ck_assert_int_le((int)(at - addr), 64);
    ck_assert_str_eq(at, "@relay.example");
    /* Seen again upper-cased and in brackets, as a DSN may bring it. */
    {
        char up[310];
        size_t i;

        snprintf(up, sizeof(up), "<%s>", addr);
        for (i = 0; up[i]; i++)
            up[i] = (char)toupper((unsigned char)up[i]);
        ck_assert_int_eq(bg_verp_match(up, "bounces", "relay.example", tok, sizeof(tok)),
                         1);
        ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                         BG_VERP_OK);
        ck_assert_str_eq(key, "3F2A41C0A2");
    }
    ck_assert_int_eq(bg_verp_match(addr, "bounces", "other.example", tok, sizeof(tok)),
                     0);
    ck_assert_int_eq(bg_verp_match(addr, "bounce", "relay.example", tok, sizeof(tok)), 0);
    ck_assert_int_eq(bg_verp_match("bounces@relay.example", "bounces", "relay.example",
                                   tok, sizeof(tok)),
                     0);
    ck_assert_int_eq(bg_verp_match("bounces+@relay.example", "bounces", "relay.example",
                                   tok, sizeof(tok)),
                     0);
    ck_assert_int_eq(
        bg_verp_match("x+abc@sub.relay.example", "x", "relay.example", tok, sizeof(tok)),
        0);
    /* The longest key with a longer prefix does not fit in 64 octets. */
    ck_assert_int_eq(bg_verp_address(v, "bouncesx", "ABCDEFGHIJ0123456789", NULL, NOW,
                                     "relay.example", addr, sizeof(addr), &err),
                     -1);
    ck_assert(strstr(err.msg, "64") != NULL);
}
END_TEST

START_TEST(bound_token_verifies_only_for_its_recipient)
{
    char tok[BG_VERP_TOKEN_MAX + 1], key[BG_VERP_KEY_MAX + 1], plain[BG_VERP_TOKEN_MAX + 1];
    bg_error err;
    bool bound = false;
    int n = bg_verp_encode(v, "4QID1AB", "a@example.com", NOW, tok, sizeof(tok), &err);

    ck_assert_int_gt(n, 0);
    /* the same length as a message-bound token: the recipient is not in it */
    ck_assert_int_eq(bg_verp_encode(v, "4QID1AB", NULL, NOW, plain, sizeof(plain), &err), n);
    ck_assert_str_ne(tok, plain);
    ck_assert_int_eq(bg_verp_verify(v, tok, "a@example.com", NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_OK);
    ck_assert_str_eq(key, "4QID1AB");
    /* a co-recipient cannot use it, nor can anyone without the recipient */
    ck_assert_int_eq(bg_verp_verify(v, tok, "b@example.com", NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_BAD_SIGNATURE);
    ck_assert_int_eq(bg_verp_verify(v, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_BAD_SIGNATURE);
    ck_assert_int_eq(bg_verp_verify(v, tok, "", NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_BAD_SIGNATURE);
    /* a message-bound token ignores the recipient it is shown */
    ck_assert_int_eq(bg_verp_verify(v, plain, "b@example.com", NOW, DAY, key, sizeof(key),
                                    NULL),
                     BG_VERP_OK);
    /* peek says what to look up, without believing it */
    ck_assert_int_eq(bg_verp_peek(tok, key, sizeof(key), &bound), 0);
    ck_assert(bound);
    ck_assert_str_eq(key, "4QID1AB");
    ck_assert_int_eq(bg_verp_peek(plain, key, sizeof(key), &bound), 0);
    ck_assert(!bound);
    ck_assert_int_eq(bg_verp_peek("not-a-token", key, sizeof(key), &bound), -1);
    /* flipping the version byte of a bound token does not make it message-bound */
    {
        char flipped[BG_VERP_TOKEN_MAX + 1];
        bg_strlcpy(flipped, tok, sizeof(flipped));
        flipped[0] = plain[0];
        flipped[1] = plain[1];
        ck_assert_int_ne(bg_verp_verify(v, flipped, NULL, NOW, DAY, key, sizeof(key), NULL),
                         BG_VERP_OK);
    }
}
END_TEST

START_TEST(made_keys)
{
    char k1[17], k2[17], k3[17];

    bg_verp_make_key(v, "ip:192.0.2.1", "app@x.example", "a@b.example", NOW, k1,
                     sizeof(k1));
    bg_verp_make_key(v, "ip:192.0.2.1", "app@x.example", "a@b.example", NOW, k2,
                     sizeof(k2));
    bg_verp_make_key(v, "ip:192.0.2.1", "app@x.example", "a@b.exampl", NOW, k3,
                     sizeof(k3));
    ck_assert_int_eq((int)strlen(k1), 16);
    ck_assert_str_eq(k1, k2);
    ck_assert_str_ne(k1, k3);
    /* Field boundaries matter: ("ab","c") differs from ("a","bc"). */
    bg_verp_make_key(v, "ab", "c", "", NOW, k2, sizeof(k2));
    bg_verp_make_key(v, "a", "bc", "", NOW, k3, sizeof(k3));
    ck_assert_str_ne(k2, k3);
}
END_TEST

START_TEST(secret_file)
{
    char path[] = "/tmp/bg-verp-secret.XXXXXX", tok[BG_VERP_TOKEN_MAX + 1], key[32];
    int fd = mkstemp(path);
    bg_error err;
    bg_verp *w;

    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret));
    ck_assert(write(fd, "\n", 1) == 1);
    close(fd);
    w = bg_verp_load(path, &err);
    ck_assert_ptr_nonnull(w);
    /* The trailing newline is not part of the secret: both sign alike. */
    bg_verp_encode(v, "Q1", NULL, NOW, tok, sizeof(tok), &err);
    ck_assert_int_eq(bg_verp_verify(w, tok, NULL, NOW, DAY, key, sizeof(key), NULL),
                     BG_VERP_OK);
    bg_verp_free(w);
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert(write(fd, "short\n", 6) == 6);
    close(fd);
    ck_assert_ptr_null(bg_verp_load(path, &err));
    ck_assert(strstr(err.msg, path) != NULL);
    unlink(path);
    ck_assert_ptr_null(bg_verp_load(path, &err));
    ck_assert(strstr(err.msg, "cannot open") != NULL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("verp");
    TCase *tc = tcase_create("verp");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, round_trip, 0,
                        (int)(sizeof(round_trips) / sizeof(round_trips[0])));
    tcase_add_test(tc, every_changed_char_refused);
    tcase_add_test(tc, case_changes_tolerated);
    tcase_add_test(tc, expiry_edges);
    tcase_add_test(tc, other_secret_refused);
    tcase_add_loop_test(tc, malformed_tokens, 0,
                        (int)(sizeof(malformed) / sizeof(malformed[0])));
    tcase_add_test(tc, stray_trailing_bits_are_malformed);
    tcase_add_test(tc, bad_encode_arguments);
    tcase_add_test(tc, address_and_match);
    tcase_add_test(tc, bound_token_verifies_only_for_its_recipient);
    tcase_add_test(tc, made_keys);
    tcase_add_test(tc, secret_file);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
