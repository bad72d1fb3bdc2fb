/*
 * test_addr — envelope address parsing, canonical form and TLD check, as a
 * table of named cases, plus hostile input (control bytes, 1 MB strings).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/addr.h"

typedef struct addr_case {
    const char *name;
    const char *in;
    bg_addr_status parse; /* expected from bg_addr_parse */
    const char *canon;    /* expected canon when parse is OK */
    bg_addr_status valid; /* expected from bg_addr_validate */
} addr_case;

#define OK BG_ADDR_OK
#define SYN BG_ADDR_BAD_SYNTAX
#define LONG BG_ADDR_TOO_LONG
#define DOM BG_ADDR_BAD_DOMAIN
#define TLD BG_ADDR_UNKNOWN_TLD

static const addr_case cases[] = {
    {"plain", "john@example.com", OK, "john@example.com", OK},
    {"angle brackets", "<john@example.com>", OK, "john@example.com", OK},
    {"blanks around", "  <john@example.com>\t", OK, "john@example.com", OK},
    {"upper case folded", "John.Smith@Example.COM", OK, "john.smith@example.com", OK},
    {"null path", "<>", BG_ADDR_NULL, "", BG_ADDR_NULL},
    {"source route", "<@relay.example,@b.example:user@example.org>", OK,
     "user@example.org", OK},
    {"source route literal", "<@[192.0.2.1]:user@example.org>", OK, "user@example.org",
     OK},
    {"source route no colon", "<@relay.example,user@example.org>", SYN, NULL, SYN},
    {"plus tag", "user+tag@example.com", OK, "user+tag@example.com", OK},
    {"atext specials", "!#$%&'*+-/=?^_`{|}~@example.com", OK,
     "!#$%&'*+-/=?^_`{|}~@example.com", OK},
    {"quoted unnecessary", "\"john\"@example.com", OK, "john@example.com", OK},
    {"quoted dotted unnecessary", "\"John.Doe\"@example.com", OK, "john.doe@example.com",
     OK},
    {"quoted needed space", "\"john doe\"@example.com", OK, "\"john doe\"@example.com",
     OK},
    {"quoted needed at", "\"a@b\"@example.com", OK, "\"a@b\"@example.com", OK},
    {"quoted double dot kept", "\"a..b\"@example.com", OK, "\"a..b\"@example.com", OK},
    {"quoted escape unneeded", "\"j\\ohn\"@example.com", OK, "john@example.com", OK},
    {"quoted escaped quote", "\"a\\\"b\"@example.com", OK, "\"a\\\"b\"@example.com", OK},
    {"quoted escaped backslash", "\"a\\\\b\"@example.com", OK, "\"a\\\\b\"@example.com",
     OK},
    {"quoted empty", "\"\"@example.com", OK, "\"\"@example.com", OK},
    {"quoted unterminated", "\"john@example.com", SYN, NULL, SYN},
    {"quoted then junk", "\"john\"x@example.com", SYN, NULL, SYN},
    {"quoted control char", "\"jo\x01hn\"@example.com", SYN, NULL, SYN},
    {"leading dot", ".john@example.com", SYN, NULL, SYN},
    {"trailing dot", "john.@example.com", SYN, NULL, SYN},
    {"double dot", "jo..hn@example.com", SYN, NULL, SYN},
    {"no at", "john.example.com", SYN, NULL, SYN},
    {"bare postmaster", "<postmaster>", SYN, NULL, SYN},
    {"two at", "a@b@example.com", SYN, NULL, SYN},
    {"empty local", "@example.com", SYN, NULL, SYN},
    {"empty", "", SYN, NULL, SYN},
    {"blanks only", "   ", SYN, NULL, SYN},
    {"unclosed bracket", "<john@example.com", SYN, NULL, SYN},
    {"stray close bracket", "john@example.com>", SYN, NULL, SYN},
    {"space in local", "jo hn@example.com", SYN, NULL, SYN},
    {"comma in local", "a,b@example.com", SYN, NULL, SYN},
    {"control in local", "jo\thn@example.com", SYN, NULL, SYN},
    {"cr lf injection", "john@example.com\r\nRCPT TO:<x@y.com>", SYN, NULL, SYN},
    {"cr lf in domain", "john@example.com\r\n", DOM, NULL, DOM},
    {"del in local", "jo\x7fhn@example.com", SYN, NULL, SYN},
    {"utf8 local", "j\xc3\xb6rg@example.com", OK, "j\xc3\xb6rg@example.com", OK},
    {"utf8 local case", "J\xc3\xb6rg@example.com", OK, "j\xc3\xb6rg@example.com", OK},
    {"latin1 local", "j\xf6rg@example.com", SYN, NULL, SYN},
    {"overlong utf8", "\xc0\xafx@example.com", SYN, NULL, SYN},
    {"surrogate utf8", "\xed\xa0\x80x@example.com", SYN, NULL, SYN},
    {"c1 control utf8", "a\xc2\x85z@example.com", SYN, NULL, SYN},
    {"truncated utf8", "a\xe2\x82@example.com", SYN, NULL, SYN},
    {"local 64",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", OK,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", OK},
    {"local 65",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com",
     LONG, NULL, LONG},
    {"label 63", "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
     OK, "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", OK},
    {"label 64", "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
     DOM, NULL, DOM},
    {"hyphen inside", "a@my-host.example.com", OK, "a@my-host.example.com", OK},
    {"leading hyphen", "a@-host.example.com", DOM, NULL, DOM},
    {"trailing hyphen", "a@host-.example.com", DOM, NULL, DOM},
    {"underscore", "a@my_host.example.com", DOM, NULL, DOM},
    {"empty label", "a@host..example.com", DOM, NULL, DOM},
    {"trailing dot domain", "a@example.com.", DOM, NULL, DOM},
    {"leading dot domain", "a@.example.com", DOM, NULL, DOM},
    {"empty domain", "a@", DOM, NULL, DOM},
    {"numeric tld", "a@192.0.2.1", DOM, NULL, DOM},
    {"digits in labels", "a@123.example.com", OK, "a@123.example.com", OK},
    {"idn u-label", "a@m\xc3\xbcller.de", OK, "a@xn--mller-kva.de", OK},
    {"idn upper u-label", "a@M\xc3\x9cLLER.DE", OK, "a@xn--mller-kva.de", OK},
    {"idn a-label", "a@xn--mller-kva.de", OK, "a@xn--mller-kva.de", OK},
    {"idn upper a-label", "a@XN--MLLER-KVA.DE", OK, "a@xn--mller-kva.de", OK},
    {"idn eszett nontransitional",
     "a@stra\xc3\x9f"
     "e.de",
     OK, "a@xn--strae-oqa.de", OK},
    {"idn bad punycode", "a@xn--zz.de", DOM, NULL, DOM},
    {"idn tld u-label",
     "a@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
     "\xd1\x80\xd1\x84",
     OK, "a@xn--e1afmkfd.xn--p1ai", OK},
    {"idn tld a-label", "a@xn--e1afmkfd.xn--p1ai", OK, "a@xn--e1afmkfd.xn--p1ai", OK},
    {"invalid utf8 domain", "a@m\xfcller.de", DOM, NULL, DOM},
    {"ipv4 literal", "a@[192.0.2.1]", OK, "a@[192.0.2.1]", OK},
    {"ipv4 literal bad", "a@[192.0.2.256]", DOM, NULL, DOM},
    {"ipv4 literal short", "a@[192.0.2]", DOM, NULL, DOM},
    {"ipv6 literal", "a@[IPv6:2001:DB8:0:0:0:0:0:1]", OK, "a@[IPv6:2001:db8::1]", OK},
    {"ipv6 literal lower tag", "a@[ipv6:::1]", OK, "a@[IPv6:::1]", OK},
    {"ipv6 literal bad", "a@[IPv6:2001:db8::g]", DOM, NULL, DOM},
    {"ipv6 without tag", "a@[2001:db8::1]", DOM, NULL, DOM},
    {"literal unclosed", "a@[192.0.2.1", DOM, NULL, DOM},
    {"literal junk after", "a@[192.0.2.1]x", DOM, NULL, DOM},
    {"general literal", "a@[x400:foo]", DOM, NULL, DOM},
    {"tld com", "a@example.com", OK, "a@example.com", OK},
    {"tld de", "a@example.de", OK, "a@example.de", OK},
    {"tld museum", "a@example.museum", OK, "a@example.museum", OK},
    {"tld co.uk", "a@example.co.uk", OK, "a@example.co.uk", OK},
    {"tld unknown", "a@example.invalidtld", OK, "a@example.invalidtld", TLD},
    {"tld local", "a@printer.local", OK, "a@printer.local", TLD},
    {"tld localhost", "root@localhost", OK, "root@localhost", TLD},
    {"tld upper unknown", "A@EXAMPLE.INVALIDTLD", OK, "a@example.invalidtld", TLD},
};

START_TEST(table)
{
    const addr_case *c = &cases[_i];
    bg_addr a;
    bg_error err = {""};
    bg_addr_status st;

    st = bg_addr_parse(c->in, &a, &err);
    ck_assert_msg(st == c->parse, "%s: parse gave %s (%s), expected %s", c->name,
                  bg_addr_status_name(st), err.msg, bg_addr_status_name(c->parse));
    if (st == OK) {
        ck_assert_msg(strcmp(a.canon, c->canon) == 0, "%s: canon '%s', expected '%s'",
                      c->name, a.canon, c->canon);
        ck_assert_msg(strlen(a.local) <= 64 && strlen(a.canon) <= 254, "%s: limits",
                      c->name);
    } else if (st != BG_ADDR_NULL) {
        ck_assert_msg(err.msg[0] != '\0', "%s: no error text", c->name);
        ck_assert_msg(a.canon[0] == '\0', "%s: canon left on failure", c->name);
    }
    err.msg[0] = '\0';
    st = bg_addr_validate(c->in, &a, &err);
    ck_assert_msg(st == c->valid, "%s: validate gave %s (%s), expected %s", c->name,
                  bg_addr_status_name(st), err.msg, bg_addr_status_name(c->valid));
    if (st == TLD)
        ck_assert_msg(strstr(err.msg, "does not exist") != NULL, "%s: err '%s'", c->name,
                      err.msg);
}
END_TEST

/* A string of n copies of c with a suffix; the caller frees. */
static char *
repeat(char c, size_t n, const char *suffix)
{
    char *s = malloc(n + strlen(suffix) + 1);

    memset(s, c, n);
    strcpy(s + n, suffix);
    return s;
}

START_TEST(domain_and_path_limits)
{
    bg_addr a;
    bg_error err;
    /* 4 labels of 63 + ".com" = 4*64+3 = 259 > 255 */
    char dom[300], in[400];
    int i;

    dom[0] = '\0';
    for (i = 0; i < 4; i++) {
        strcat(dom, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        strcat(dom, ".");
    }
    strcat(dom, "com");
    snprintf(in, sizeof(in), "a@%s", dom);
    ck_assert_int_eq(bg_addr_parse(in, &a, &err), BG_ADDR_TOO_LONG);

    /* Domain of 3*64+60 = 252 octets and local 1: path 1+1+252+2 = 256 fits. */
    dom[0] = '\0';
    for (i = 0; i < 3; i++) {
        strcat(dom, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        strcat(dom, ".");
    }
    strcat(dom, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com");
    ck_assert_int_eq((int)strlen(dom), 252);
    snprintf(in, sizeof(in), "<a@%s>", dom);
    ck_assert_int_eq(bg_addr_parse(in, &a, &err), BG_ADDR_OK);
    ck_assert_int_eq((int)strlen(a.canon), 254);
    /* One more octet in the local part: path 257. */
    snprintf(in, sizeof(in), "<ab@%s>", dom);
    ck_assert_int_eq(bg_addr_parse(in, &a, &err), BG_ADDR_TOO_LONG);
}
END_TEST

START_TEST(megabyte_inputs)
{
    static const struct {
        char c;
        const char *suffix;
    } shapes[] = {
        {'a', "@example.com"}, {'\x01', ""},           {'"', ""}, {'<', ""}, {'@', ""},
        {'\xff', "@x.com"},    {' ', "a@example.com"}, {'.', ""}};
    bg_addr a;
    bg_error err;
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *s = repeat(shapes[i].c, 1 << 20, shapes[i].suffix);
        bg_addr_status st = bg_addr_validate(s, &a, &err);

        ck_assert_msg(st == BG_ADDR_TOO_LONG, "shape %zu gave %s", i,
                      bg_addr_status_name(st));
        free(s);
    }
    ck_assert_int_eq(bg_addr_parse(NULL, &a, &err), BG_ADDR_BAD_SYNTAX);
}
END_TEST

START_TEST(every_single_byte)
{
    /* Every byte in the local part and in the domain gives a status, and
     * only the allowed ones give OK. */
    bg_addr a;
    bg_error err;
    char in[64];
    int b;

    for (b = 1; b < 256; b++) {
        bg_addr_status st;

        snprintf(in, sizeof(in), "x%cy@example.com", b);
        st = bg_addr_parse(in, &a, &err);
        if (b >= 0x80 || b < 32 || b == 127 || strchr(" \"(),:;<>@[\\]", b))
            ck_assert_msg(st != BG_ADDR_OK, "byte %d accepted in local part", b);
        else
            ck_assert_msg(st == BG_ADDR_OK || b == '.', "byte %d refused in local part",
                          b);
        snprintf(in, sizeof(in), "x@ex%cmple.com", b);
        st = bg_addr_parse(in, &a, &err);
        if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
            b == '-' || b == '.')
            ck_assert_msg(st == BG_ADDR_OK, "byte %d refused in domain", b);
        else
            ck_assert_msg(st != BG_ADDR_OK, "byte %d accepted in domain", b);
    }
}
END_TEST

START_TEST(status_codes_and_names)
{
    ck_assert_str_eq(bg_addr_status_code(BG_ADDR_BAD_SYNTAX), "5.1.3");
    ck_assert_str_eq(bg_addr_status_code(BG_ADDR_TOO_LONG), "5.1.3");
    ck_assert_str_eq(bg_addr_status_code(BG_ADDR_BAD_DOMAIN), "5.1.2");
    ck_assert_str_eq(bg_addr_status_code(BG_ADDR_UNKNOWN_TLD), "5.1.2");
    ck_assert_str_eq(bg_addr_status_name(BG_ADDR_OK), "ok");
    ck_assert_str_eq(bg_addr_status_name(BG_ADDR_NULL), "null");
    ck_assert_str_eq(bg_addr_status_name(BG_ADDR_UNKNOWN_TLD), "unknown-tld");
}
END_TEST

START_TEST(literal_skips_tld_and_fields)
{
    bg_addr a;
    bg_error err;

    ck_assert_int_eq(bg_addr_validate("<Postmaster@[IPv6:::1]>", &a, &err), BG_ADDR_OK);
    ck_assert(a.is_literal);
    ck_assert_str_eq(a.local, "postmaster");
    ck_assert_str_eq(a.domain, "[IPv6:::1]");
    ck_assert_int_eq(bg_addr_validate("x@example.com", &a, &err), BG_ADDR_OK);
    ck_assert(!a.is_literal);
    ck_assert_str_eq(a.domain, "example.com");
}
END_TEST

/* Many threads at once, the first TLD check among them: the Public Suffix
 * List is loaded once and every answer stays right. */
static void *
hammer(void *arg)
{
    long bad = 0;
    int i;

    (void)arg;
    for (i = 0; i < 2000; i++) {
        bg_addr a;
        bg_error err;

        if (bg_addr_validate("a@m\xc3\xbcller.de", &a, &err) != BG_ADDR_OK ||
            strcmp(a.canon, "a@xn--mller-kva.de") != 0)
            bad++;
        if (bg_addr_validate("a@example.invalidtld", &a, &err) != BG_ADDR_UNKNOWN_TLD)
            bad++;
    }
    return (void *)bad;
}

START_TEST(threads)
{
    pthread_t th[8];
    int i;

    for (i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (i = 0; i < 8; i++) {
        void *bad;

        pthread_join(th[i], &bad);
        ck_assert_int_eq((long)bad, 0);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("addr");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, domain_and_path_limits);
    tcase_add_test(tc, megabyte_inputs);
    tcase_add_test(tc, every_single_byte);
    tcase_add_test(tc, status_codes_and_names);
    tcase_add_test(tc, literal_skips_tld_and_fields);
    tcase_add_test(tc, threads);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
