/*
 * test_netaddr — networks (trusted_networks) and server endpoints
 * (redis_servers, redis_sentinels): what is read, what is refused and
 * with which words, and membership at the edges of a prefix.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/netaddr.h"

START_TEST(networks_read_and_refused)
{
    const char *good[] = {"10.0.0.0/8", "192.0.2.1", "0.0.0.0/0", "2001:db8::/32", "::1",
                          "2001:db8::1/128"};
    const char *bad[] = {"10.0.0.0/33", "2001:db8::/129", "banana", "10.0.0.0/", "10.0.0.0/x",
                         "10.0.0.0/8x", "10.0.0.0/-1", "", "/8", "10.0.0.0/0008"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(bg_network_valid(good[i]), "%s should be a network", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!bg_network_valid(bad[i]), "%s should not be a network", bad[i]);
}
END_TEST

START_TEST(membership_at_the_prefix_edges)
{
    ck_assert(bg_network_contains("10.0.0.0/8", "10.255.255.255"));
    ck_assert(!bg_network_contains("10.0.0.0/8", "11.0.0.0"));
    ck_assert(bg_network_contains("192.0.2.0/25", "192.0.2.127"));
    ck_assert(!bg_network_contains("192.0.2.0/25", "192.0.2.128"));
    ck_assert(bg_network_contains("192.0.2.7", "192.0.2.7"));
    ck_assert(!bg_network_contains("192.0.2.7", "192.0.2.8"));
    ck_assert(bg_network_contains("0.0.0.0/0", "203.0.113.9"));
    ck_assert(bg_network_contains("2001:db8::/33", "2001:db8:7fff::1"));
    ck_assert(!bg_network_contains("2001:db8::/33", "2001:db8:8000::1"));
    /* families never mix; unreadable input never matches */
    ck_assert(!bg_network_contains("0.0.0.0/0", "2001:db8::1"));
    ck_assert(!bg_network_contains("::/0", "192.0.2.1"));
    ck_assert(!bg_network_contains("10.0.0.0/8", "10.0.0"));
    ck_assert(!bg_network_contains("banana", "10.0.0.1"));
}
END_TEST

START_TEST(endpoints_every_form)
{
    bg_endpoint e[BG_ENDPOINTS_MAX];
    size_t n = 99;
    bg_error err;

    ck_assert_int_eq(bg_endpoint_list_parse("k",
                                            "10.0.0.5, redis.example:6380\t[2001:db8::5]:7000 "
                                            "redis://10.0.0.6:6390,/run/redis/redis.sock "
                                            "unix:/tmp/r.sock [::1]",
                                            6379, e, &n, &err),
                     0);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(e[0].host, "10.0.0.5");
    ck_assert_int_eq(e[0].port, 6379);
    ck_assert_str_eq(e[1].host, "redis.example");
    ck_assert_int_eq(e[1].port, 6380);
    ck_assert_str_eq(e[2].host, "2001:db8::5");
    ck_assert_int_eq(e[2].port, 7000);
    ck_assert_str_eq(e[3].host, "10.0.0.6");
    ck_assert_int_eq(e[3].port, 6390);
    ck_assert(e[4].unix_path);
    ck_assert_str_eq(e[4].host, "/run/redis/redis.sock");
    ck_assert(e[5].unix_path);
    ck_assert_str_eq(e[5].host, "/tmp/r.sock");
    ck_assert(!e[6].unix_path);
    ck_assert_str_eq(e[6].host, "::1");
    ck_assert_int_eq(e[6].port, 6379);

    ck_assert_int_eq(bg_endpoint_list_parse("k", "", 6379, e, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(bg_endpoint_list_parse("k", NULL, 6379, e, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static const struct {
    const char *list, *said;
} refused[] = {
    {"rediss://10.0.0.5:6379", "TLS (rediss://) is not supported"},
    {"10.0.0.5:0", "the port is not a number from 1 to 65535"},
    {"10.0.0.5:65536", "the port is not a number from 1 to 65535"},
    {"10.0.0.5:", "the port is not a number from 1 to 65535"},
    {"10.0.0.5:63x", "the port is not a number from 1 to 65535"},
    {"2001:db8::5", "write an IPv6 address as [ADDRESS]:PORT"},
    {"[2001:db8::5", "needs its closing ]"},
    {"[]:6379", "needs its closing ]"},
    {"[2001:db8::5]x", "expected [ADDRESS]:PORT"},
    {":6379", "no host"},
    {"unix:relative.sock", "a socket path must be absolute"},
    {"a b c d e f g h i j k l m n o p q", "more than 16 addresses"},
};

START_TEST(endpoints_refused_in_words)
{
    bg_endpoint e[BG_ENDPOINTS_MAX];
    size_t n;
    bg_error err;

    ck_assert_int_eq(bg_endpoint_list_parse("redis_servers", refused[_i].list, 6379, e, &n, &err),
                     -1);
    ck_assert_msg(strstr(err.msg, refused[_i].said) != NULL, "%s: said \"%s\"", refused[_i].list,
                  err.msg);
    ck_assert_msg(strncmp(err.msg, "redis_servers: ", 15) == 0, "names the key: %s", err.msg);
}
END_TEST

START_TEST(an_overlong_endpoint_is_refused)
{
    char list[400];
    bg_endpoint e[BG_ENDPOINTS_MAX];
    size_t n;
    bg_error err;

    memset(list, 'h', sizeof(list) - 1);
    list[sizeof(list) - 1] = '\0';
    ck_assert_int_eq(bg_endpoint_list_parse("k", list, 6379, e, &n, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("netaddr");
    TCase *tc = tcase_create("netaddr");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, networks_read_and_refused);
    tcase_add_test(tc, membership_at_the_prefix_edges);
    tcase_add_test(tc, endpoints_every_form);
    tcase_add_loop_test(tc, endpoints_refused_in_words, 0,
                        (int)(sizeof(refused) / sizeof(refused[0])));
    tcase_add_test(tc, an_overlong_endpoint_is_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
