/*
 * test_config — the key table, defaults, errors with file:line, durations.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bounceguard/config.h"
#include "bounceguard/netaddr.h"

START_TEST(defaults_match_design)
{
    bg_config *c = bg_config_defaults();

    ck_assert_int_eq(c->mode, BG_MODE_ENFORCE);
    ck_assert_int_eq(c->blacklist_period, 14 * 86400);
    ck_assert_int_eq(c->quota_limit, 100);
    ck_assert_int_eq(c->quota_window, 24 * 3600);
    ck_assert_int_eq(c->sender_bounce_limit, 10);
    ck_assert_int_eq(c->sender_identity, BG_IDENTITY_AUTO);
    ck_assert_int_eq(c->on_store_error, BG_ON_ERROR_TEMPFAIL);
    ck_assert(c->invalid_permanent && c->blacklist_permanent && !c->quota_permanent);
    ck_assert(bg_strlist_has(&c->exempt_recipients, "postmaster"));
    ck_assert(bg_strlist_has(&c->blacklist_reasons, "userunknown"));
    ck_assert(!bg_strlist_has(&c->blacklist_reasons, "blocked"));
    /* what bounceguard-milter(8) promised: a unix socket 0660 */
    ck_assert_int_eq(c->socket_mode, 0660);
    ck_assert_str_eq(c->socket_group, "");
    bg_config_unref(c);
}
END_TEST

START_TEST(parses_values)
{
    bg_error err;
    bg_config *c = bg_config_parse("t.conf",
                                   "# comment\n"
                                   "\n"
                                   "  mode = observe  \n"
                                   "blacklist_period = 1d12h\n"
                                   "quota_limit=7\n"
                                   "sender_identity = sasl\n"
                                   "quota_reply = permanent\n"
                                   "trusted_networks = 10.0.0.0/8, 192.168.0.0/16\n"
                                   "sender_override = sasl:big quota_limit=1000\n"
                                   "sender_override = ip:10.0.0.5 sender_bounce_limit=3\n"
                                   "log_dir = \"\"\n",
                                   &err);

    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(c->mode, BG_MODE_OBSERVE);
    ck_assert_int_eq(c->blacklist_period, 36 * 3600);
    ck_assert_int_eq(c->quota_limit, 7);
    ck_assert_int_eq(c->sender_identity, BG_IDENTITY_SASL);
    ck_assert(c->quota_permanent);
    ck_assert_int_eq(c->trusted_networks.count, 2);
    ck_assert_int_eq(bg_config_quota_for(c, "sasl:big"), 1000);
    ck_assert_int_eq(bg_config_quota_for(c, "sasl:other"), 7);
    ck_assert_int_eq(bg_config_bounce_limit_for(c, "ip:10.0.0.5"), 3);
    ck_assert_int_eq(bg_config_quota_for(c, "ip:10.0.0.5"), 7);
    ck_assert_str_eq(c->log_dir, "");
    bg_config_unref(c);
}
END_TEST

/* Each bad input must fail with an error that names file:line and the key. */
static const struct {
    const char *name, *text, *expect;
} bad_cases[] = {
    {"unknown key", "mode = enforce\nfrobnicate = 3\n", "t.conf:2: unknown key \"frobnicate\""},
    {"no equals", "mode enforce\n", "t.conf:1: expected \"key = value\""},
    {"bad enum", "mode = strict\n", "t.conf:1: mode: \"strict\" is not one of: enforce, observe"},
    {"bad number", "quota_limit = lots\n", "t.conf:1: quota_limit: \"lots\" is not a number"},
    {"negative", "quota_limit = -1\n", "t.conf:1: quota_limit"},
    {"bad duration unit", "blacklist_period = 14x\n", "unknown unit 'x'"},
    {"duration too short", "blacklist_period = 5\n", "out of range"},
    {"bad bool", "syslog = maybe\n", "t.conf:1: syslog: \"maybe\" is not yes or no"},
    {"bad override", "sender_override = x quota=3\n", "unknown override \"quota\""},
    {"bad socket", "socket = tcp:1234\n", "socket: \"tcp:1234\""},
    /* libmilter truncates the port to 16 bits and listens elsewhere */
    {"port too large", "socket = inet:99999@127.0.0.1\n",
     "socket: \"inet:99999@127.0.0.1\" has a port outside 1 to 65535"},
    {"port zero", "socket = inet:0@127.0.0.1\n", "port outside 1 to 65535"},
    {"no port", "socket = inet:@127.0.0.1\n", "has no port number"},
    {"no host", "socket = inet:8894@\n", "has no host"},
    {"no path", "socket = unix:\n", "socket: \"unix:\" has no path"},
    /* a mode must be octal digits, at most 0777: not a decimal number read
     * in octal, not set-uid or sticky bits */
    {"decimal mode", "socket_mode = 999\n",
     "t.conf:1: socket_mode: \"999\" is not an octal mode from 0000 to 0777"},
    {"mode with sticky bit", "socket_mode = 1660\n", "socket_mode: \"1660\" is not an octal"},
    {"symbolic mode", "socket_mode = rw-rw----\n", "socket_mode: \"rw-rw----\""},
    {"negative mode", "socket_mode = -660\n", "socket_mode: \"-660\""},
    {"empty mode", "socket_mode =\n", "socket_mode: \"\" is not an octal"},
    /* a network that silently never matches */
    {"prefix too long", "trusted_networks = 10.0.0.0/33\n",
     "trusted_networks: \"10.0.0.0/33\" is not a network"},
    {"not a network", "trusted_networks = 10.0.0.0/8 banana\n",
     "trusted_networks: \"banana\" is not a network"},
    {"v6 prefix too long", "trusted_networks = 2001:db8::/129\n", "\"2001:db8::/129\""},
    {"verp without domain", "return_path_rewrite = yes\n", "needs verp_domain"},
    /* the metrics address is bound as written: numbers, a port */
    {"metrics name", "metrics_listen = localhost:9119\n",
     "metrics_listen: \"localhost:9119\" has no numeric IPv4 address"},
    {"metrics no port", "metrics_listen = 127.0.0.1\n",
     "metrics_listen: \"127.0.0.1\" is not ADDRESS:PORT"},
    {"metrics port zero", "metrics_listen = 127.0.0.1:0\n", "has a port outside 1 to 65535"},
    {"metrics port large", "metrics_listen = 127.0.0.1:70000\n", "port outside 1 to 65535"},
    {"metrics bare v6", "metrics_listen = ::1:9119\n", "is not ADDRESS:PORT"},
    {"metrics bad v6", "metrics_listen = [fe80::zz]:9119\n", "has no IPv6 address"},
    {"metrics url", "metrics_listen = http://127.0.0.1:9119/metrics\n", "is not ADDRESS:PORT"},
    /* found by fuzz_config: "a \r," read back from the dump as one item */
    {"control character", "mode = enforce\r\ntrusted_networks = a \r,\n",
     "t.conf:2: control character 0x0d in line"},
    {"escape", "db_home = /var/\x1b[2Jlib\n", "t.conf:1: control character 0x1b"},
};

START_TEST(bad_input_names_file_line)
{
    bg_error err = {""};
    bg_config *c = bg_config_parse("t.conf", bad_cases[_i].text, &err);

    ck_assert_msg(c == NULL, "%s: accepted", bad_cases[_i].name);
    ck_assert_msg(strstr(err.msg, bad_cases[_i].expect) != NULL, "%s: got \"%s\"",
                  bad_cases[_i].name, err.msg);
    ck_assert_msg(strchr(err.msg, '\n') == NULL, "%s: multi-line error", bad_cases[_i].name);
}
END_TEST

START_TEST(first_bad_key_unknown_a)
{
    bg_error err;

    ck_assert_ptr_null(bg_config_parse("t.conf", "a = 1\n", &err));
    ck_assert_str_eq(err.msg, "t.conf:1: unknown key \"a\"");
}
END_TEST

START_TEST(missing_file)
{
    bg_error err;
    bg_config *c = bg_config_load("/nonexistent/bg.conf", false, &err);

    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/bg.conf"));
    c = bg_config_load("/nonexistent/bg.conf", true, &err);
    ck_assert_ptr_nonnull(c);
    bg_config_unref(c);
}
END_TEST

START_TEST(binary_file_refused)
{
    char path[] = "/tmp/bg-conf-XXXXXX";
    int fd = mkstemp(path);
    bg_error err;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "mode = enforce\n\0\x01\x02", 18), 18);
    close(fd);
    ck_assert_ptr_null(bg_config_load(path, false, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
    unlink(path);
}
END_TEST

/*
 * A config file the caller could not read is never quoted in an error (sudo
 * bounceguard -c /etc/shadow): each bad line holds a secret that must not
 * appear, while file:line and the key still do.  Run as root with SUDO_UID
 * set, as sudo does; without it root sees the value (helpful).
 */
static const struct {
    const char *name, *text, *expect;
} secret_cases[] = {
    {"no equals", "root:$6$SECRET:19000::::::\n", ":1: expected \"key = value\" (line not shown)"},
    {"unknown key", "SECRET = 1\n", ":1: unknown key (not shown)"},
    {"bad enum", "mode = SECRET\n", ":1: mode: the value is not one of: enforce, observe"},
    {"bad number", "quota_limit = SECRET\n", ":1: quota_limit: the value is not a number"},
    {"bad bool", "syslog = SECRET\n", ":1: syslog: the value is not yes or no"},
    {"bad duration", "blacklist_period = SECRET\n", ":1: blacklist_period: the value is not a"},
    {"duration range", "mode = enforce\nblacklist_period = 5\n", ":2: blacklist_period: the value"},
    {"bad override word", "sender_override = x SECRET\n", ":1: sender_override: the value"},
    {"bad override name", "sender_override = x SECRET=1\n", "unknown override the value"},
    {"bad override number", "sender_override = x quota_limit=SECRET\n", "quota_limit=..."},
    {"bad socket", "socket = SECRET:1\n", "socket: the value is not"},
};

START_TEST(unreadable_config_not_quoted)
{
    char path[] = "/tmp/bg-conf-XXXXXX";
    int fd = mkstemp(path);
    bg_error err = {""};
    size_t n = strlen(secret_cases[_i].text);

    if (getuid() != 0)
        return; /* only root can be "sudo"; the integration test covers set-uid */
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, secret_cases[_i].text, n), (ssize_t)n);
    close(fd);
    setenv("SUDO_UID", "65534", 1);
    ck_assert_ptr_null(bg_config_load(path, false, &err));
    unsetenv("SUDO_UID");
    ck_assert_msg(strstr(err.msg, "SECRET") == NULL, "%s: quoted: %s", secret_cases[_i].name,
                  err.msg);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s: no file: %s",
                  secret_cases[_i].name, err.msg);
    ck_assert_msg(strstr(err.msg, secret_cases[_i].expect) != NULL, "%s: got \"%s\"",
                  secret_cases[_i].name, err.msg);
    /* root itself (no sudo) may read the file: the error quotes it */
    ck_assert_ptr_null(bg_config_load(path, false, &err));
    ck_assert_msg(strstr(secret_cases[_i].text, "SECRET") == NULL ||
                      strstr(err.msg, "SECRET") != NULL,
                  "%s: root not told: %s", secret_cases[_i].name, err.msg);
    unlink(path);
}
END_TEST

START_TEST(dump_parses_back)
{
    bg_error err;
    /* db_home with quotes of its own (found by fuzz_config): read back the same */
    bg_config *c = bg_config_parse("t",
                                   "quota_limit = 42\nsender_override = sasl:x quota_limit=5\n"
                                   "db_home = \"\"\"\"\nsocket_mode = 0640\n"
                                   "socket_group = postfix\n",
                                   &err);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    bg_config_dump(c, fp);
    fclose(fp);
    bg_config *c2 = bg_config_parse("dump", text, &err);
    ck_assert_msg(c2 != NULL, "%s", err.msg);
    ck_assert_int_eq(c2->quota_limit, 42);
    ck_assert_int_eq(bg_config_quota_for(c2, "sasl:x"), 5);
    ck_assert_int_eq(c2->blacklist_period, c->blacklist_period);
    ck_assert_str_eq(c2->db_home, "\"\"");
    ck_assert_int_eq(c2->socket_mode, 0640);
    ck_assert_str_eq(c2->socket_group, "postfix");
    ck_assert_ptr_nonnull(strstr(text, "socket_mode = 0640\n"));
    free(text);
    bg_config_unref(c);
    bg_config_unref(c2);
}
END_TEST

START_TEST(sample_config_is_valid)
{
    bg_error err;
    bg_config *c = bg_config_load(SRCDIR "/conf/bounceguard.conf", false, &err);

    ck_assert_msg(c != NULL, "%s", err.msg);
    bg_config_unref(c);
    c = bg_config_load(SRCDIR "/conf/demo.conf", false, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    bg_config_unref(c);
}
END_TEST

START_TEST(socket_specs)
{
    bg_error err;

    ck_assert_int_eq(bg_config_check_socket("inet:8894@127.0.0.1", &err), 0);
    ck_assert_int_eq(bg_config_check_socket("inet:65535", &err), 0);
    ck_assert_int_eq(bg_config_check_socket("inet6:8894@[::1]", &err), 0);
    ck_assert_int_eq(bg_config_check_socket("unix:/run/bounceguard/milter.sock", &err), 0);
    ck_assert_int_eq(bg_config_check_socket("inet:65536@127.0.0.1", &err), -1);
    ck_assert_str_eq(err.msg, "socket \"inet:65536@127.0.0.1\" has a port outside 1 to 65535");
    ck_assert_int_eq(bg_config_check_socket("inet:123456789012@h", &err), -1);
    ck_assert_int_eq(bg_config_check_socket("inet:25x@h", &err), -1);
}
END_TEST

/* What only the machine can say: -n must refuse what a start would. */
/* metrics_listen: off by default; the addresses it takes, read as bound */
START_TEST(metrics_listen_specs)
{
    bg_error err = {""};
    bg_config *c = bg_config_defaults();
    struct sockaddr_storage ss;
    socklen_t len = 0;

    ck_assert_str_eq(c->metrics_listen, "");
    bg_config_unref(c);
    c = bg_config_parse("t.conf", "metrics_listen = [::1]:9119\n", &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_str_eq(c->metrics_listen, "[::1]:9119");
    bg_config_unref(c);
    ck_assert_ptr_null(bg_listen_parse("127.0.0.1:9119", &ss, &len));
    ck_assert_int_eq(ss.ss_family, AF_INET);
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port), 9119);
    ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
    ck_assert_ptr_null(bg_listen_parse("[::]:80", &ss, &len));
    ck_assert_int_eq(ss.ss_family, AF_INET6);
    ck_assert_ptr_nonnull(bg_listen_parse("[::1]9119", NULL, NULL));
    ck_assert_ptr_nonnull(bg_listen_parse(":9119", NULL, NULL));
}
END_TEST

START_TEST(system_checks)
{
    bg_error err;
    char dir[] = "/tmp/bg-test-config.XXXXXX";
    char text[512];
    bg_config *c;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(text, sizeof(text),
             "user =\nlog_dir = %s\npid_file = %s/m.pid\nsocket = unix:%s/m.sock\n", dir,
             dir, dir);
    c = bg_config_parse("t.conf", text, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_msg(bg_config_check_system(c, ~0u, &err) == 0, "%s", err.msg);
    bg_config_unref(c);

    c = bg_config_parse("t.conf", "user = nosuchuser-bg\n", &err);
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_USER, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "user: \"nosuchuser-bg\" is not an account"));
    bg_config_unref(c);

    snprintf(text, sizeof(text), "user =\npid_file = %s/gone/m.pid\n", dir);
    c = bg_config_parse("t.conf", text, &err);
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_PID_FILE, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "pid_file: directory"));
    ck_assert_ptr_nonnull(strstr(err.msg, "/gone"));
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_USER, &err), 0);
    bg_config_unref(c);

    snprintf(text, sizeof(text), "user =\nlog_dir = %s/gone\n", dir);
    c = bg_config_parse("t.conf", text, &err);
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_LOG_DIR, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "log_dir: directory"));
    bg_config_unref(c);

    snprintf(text, sizeof(text), "user =\nsocket = unix:%s/gone/m.sock\n", dir);
    c = bg_config_parse("t.conf", text, &err);
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_SOCKET, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "socket: directory"));
    bg_config_unref(c);

    /* a group that does not exist, for a unix socket or (a typo waiting for
     * the day it becomes one) an inet socket */
    c = bg_config_parse("t.conf", "user =\nsocket_group = nosuchgroup-bg\n", &err);
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_SOCKET, &err), -1);
    ck_assert_str_eq(err.msg, "socket_group: group \"nosuchgroup-bg\" does not exist");
    ck_assert_int_eq(bg_config_check_system(c, BG_CHECK_USER, &err), 0);
    bg_config_unref(c);
    c = bg_config_parse("t.conf", "user =\nsocket_group = root\n", &err);
    ck_assert_msg(bg_config_check_system(c, BG_CHECK_SOCKET, &err) == 0, "%s", err.msg);
    bg_config_unref(c);
    rmdir(dir);
}
END_TEST

START_TEST(durations)
{
    int64_t v;
    bg_error err;

    ck_assert_int_eq(bg_duration_parse("14d", &v, &err), 0);
    ck_assert_int_eq(v, 14 * 86400);
    ck_assert_int_eq(bg_duration_parse("24h", &v, &err), 0);
    ck_assert_int_eq(v, 86400);
    ck_assert_int_eq(bg_duration_parse("2w", &v, &err), 0);
    ck_assert_int_eq(v, 14 * 86400);
    ck_assert_int_eq(bg_duration_parse("90", &v, &err), 0);
    ck_assert_int_eq(v, 90);
    ck_assert_int_eq(bg_duration_parse("1h30m", &v, &err), 0);
    ck_assert_int_eq(v, 5400);
    ck_assert_int_eq(bg_duration_parse("", &v, &err), -1);
    ck_assert_int_eq(bg_duration_parse("d", &v, &err), -1);
    ck_assert_int_eq(bg_duration_parse("-5d", &v, &err), -1);
    ck_assert_int_eq(bg_duration_parse("99999999999999999999d", &v, &err), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, defaults_match_design);
    tcase_add_test(tc, parses_values);
    tcase_add_loop_test(tc, bad_input_names_file_line, 0,
                        sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, first_bad_key_unknown_a);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, binary_file_refused);
    tcase_add_loop_test(tc, unreadable_config_not_quoted, 0,
                        sizeof(secret_cases) / sizeof(secret_cases[0]));
    tcase_add_test(tc, dump_parses_back);
    tcase_add_test(tc, sample_config_is_valid);
    tcase_add_test(tc, socket_specs);
    tcase_add_test(tc, metrics_listen_specs);
    tcase_add_test(tc, system_checks);
    tcase_add_test(tc, durations);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
