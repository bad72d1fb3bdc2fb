#!/usr/bin/env bash
# bounceguard-milter as a daemon: -n, pid file, dropping root, log reopening
# for logrotate, clean stop on SIGTERM, bad command lines.
set -u
T=$(mktemp -d /tmp/bg-milter-d.XXXXXX)
MILTER_PORT=2558
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT
M=$BIN/bounceguard-milter
chmod 755 "$T"

# -n: valid and invalid configs, one-line errors naming file:line.
write_milter_conf "$T/good.conf"
out=$("$M" -n -c "$T/good.conf" 2>&1); rc=$?
check "-n accepts a valid config (rc $rc)" [ $rc -eq 0 ]
printf 'quota_limit = 10\nblacklist_period = fortnight\n' > "$T/bad.conf"
out=$("$M" -n -c "$T/bad.conf" 2>&1); rc=$?
check "-n refuses a bad value with file:line, exit 3 ($out)" \
    bash -c "[ $rc -eq 3 ] && grep -q '$T/bad.conf:2: blacklist_period' <<<'$out' && [ \$(wc -l <<<'$out') -eq 1 ]"
out=$("$M" -n -c "$T/nonexistent.conf" 2>&1); rc=$?
check "-n on a missing file names it, exit 3" bash -c "[ $rc -eq 3 ] && grep -q nonexistent.conf <<<'$out'"
# -n refuses what a start would refuse, naming the key and the value.
n_refuses() { # n_refuses WHAT EXPECT key=value...
    local what=$1 expect=$2; shift 2
    write_milter_conf "$T/n.conf" "$@"
    out=$("$M" -n -c "$T/n.conf" 2>&1); rc=$?
    check "-n refuses $what: exit 3, one line naming it ($out)" \
        bash -c "[ $rc -eq 3 ] && grep -qF -- '$expect' <<<'$out' && [ \$(wc -l <<<'$out') -eq 1 ]"
}
n_refuses "a port beyond 65535" 'socket: "inet:99999@127.0.0.1"' "socket=inet:99999@127.0.0.1"
n_refuses "a prefix longer than 32" 'trusted_networks: "10.0.0.0/33"' "trusted_networks=10.0.0.0/33"
n_refuses "a word as a network" 'trusted_networks: "banana"' "trusted_networks=10.0.0.0/8 banana"
n_refuses "a user that does not exist" 'user: "nosuchuser"' "user=nosuchuser"
n_refuses "a missing pid directory" "pid_file: directory $T/no-run" "pid_file=$T/no-run/m.pid"
n_refuses "a missing log_dir" "log_dir: directory $T/no-log" "log_dir=$T/no-log"
n_refuses "a unix socket in a missing directory" "socket: directory $T/no-sock" "socket=unix:$T/no-sock/m.sock"
n_refuses "a socket_mode not in octal" 'socket_mode: "999" is not an octal mode' "socket_mode=999"
n_refuses "a socket_group that does not exist" 'socket_group: group "nosuchgroup" does not exist' \
    "socket=unix:$T/m.sock" "socket_group=nosuchgroup"
out=$("$M" -n -p inet:70000@127.0.0.1 -c "$T/good.conf" 2>&1); rc=$?
check "-p with a port beyond 65535: exit 2, named ($out)" bash -c "[ $rc -eq 2 ] && grep -q 'inet:70000' <<<'$out'"
write_milter_conf "$T/n.conf" "user=nosuchuser"
out=$("$BIN/bounceguard-dsn" -n -c "$T/n.conf" 2>&1); rc=$?
check "bounceguard-dsn -n refuses a user that does not exist ($out)" \
    bash -c "[ $rc -eq 3 ] && grep -q 'user: \"nosuchuser\"' <<<'$out'"
out=$("$M" -x 2>&1); rc=$?
check "unknown option: usage and exit 2" bash -c "[ $rc -eq 2 ] && grep -q usage <<<'$out'"
out=$("$M" -c "$T/good.conf" extra 2>&1); rc=$?
check "stray argument: exit 2" [ $rc -eq 2 ]

# Daemon: started as root, drops to an unprivileged user, writes its pid file.
id bgtest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin bgtest
mkdir -p "$T/db" "$T/log" "$T/run"
chown bgtest "$T/db" "$T/log" "$T/run"
write_milter_conf "$T/d.conf" "user=bgtest" "pid_file=$T/run/milter.pid"
"$M" -c "$T/d.conf" > "$T/d.out" 2>&1
rc=$?
check "daemon start returns 0 ($rc)" [ $rc -eq 0 ]
wait_port $MILTER_PORT
wait_for 5 test -s "$T/run/milter.pid"
pid=$(cat "$T/run/milter.pid" 2>/dev/null)
check "pid file names a live process" kill -0 "${pid:-0}"
uid=$(awk '/^Uid:/{print $2}' /proc/"$pid"/status 2>/dev/null)
check "daemon runs as bgtest, not root (uid $uid)" [ "$uid" = "$(id -u bgtest)" ]
wait_for 5 test -e "$T/db/rcpt.db"
owner=$(stat -c %U "$T/db/rcpt.db" 2>/dev/null)
check "store files belong to the unprivileged user ($owner)" [ "$owner" = bgtest ]
mode=$(stat -c %a "$T/db/rcpt.db" 2>/dev/null)
check "store files are not world-accessible (mode $mode)" bash -c "[ \$(( 0$mode & 7 )) -eq 0 ]"

# logrotate: rename the logs, SIGUSR1, the daemon writes to new files.
mv "$T/log/warning.log" "$T/log/warning.log.1"
kill -USR1 "$pid"
wait_for 5 test -e "$T/log/warning.log"
check "SIGUSR1 reopens the log files after rotation" test -e "$T/log/warning.log"
owner=$(stat -c %U "$T/log/warning.log" 2>/dev/null)
check "log files belong to the unprivileged user ($owner)" [ "$owner" = bgtest ]

# SIGTERM: clean stop, pid file removed.
kill -TERM "$pid"
wait_for 20 bash -c "! kill -0 $pid 2>/dev/null"
check "SIGTERM stops the daemon" bash -c "! kill -0 $pid 2>/dev/null"
check "pid file removed at stop" test ! -e "$T/run/milter.pid"

# The watcher run as root (a follower started by systemd) also becomes the
# store's user: the files it makes must stay usable by the milter.
rm -rf "$T/db2"
write_milter_conf "$T/w.conf" "user=bgtest" "db_home=$T/db2" "log_dir="
"$BIN/bounceguard-dsn" -c "$T/w.conf" pipe < "$TOP/tests/data/intake/hard-5.1.1.eml" > "$T/w.out" 2>&1
rc=$?
check "bounceguard-dsn as root: pipe succeeds ($rc: $(head -c 200 "$T/w.out"))" [ $rc -eq 0 ]
bad=$(find "$T/db2" ! -user bgtest | head -3)
check "bounceguard-dsn as root made every store file as the store's user (${bad:-none other})" [ -z "$bad" ]

# A failure after it became a daemon is still told on the terminal, with a
# non-zero status (the parent waits until the daemon is ready or dead).
write_milter_conf "$T/l.conf" "user=bgtest" "pid_file=$T/run/l.pid" "log_dir=$T/no/such/dir"
out=$("$M" -c "$T/l.conf" 2>&1); rc=$?
check "daemon start with an unusable log_dir: exit $rc and the reason on stderr ($out)" \
    bash -c "[ $rc -ne 0 ] && grep -q 'no/such/dir' <<<'$out'"
wait_port_free $MILTER_PORT

# A user that does not exist: a clear error, not a crash.
write_milter_conf "$T/u.conf" "user=no-such-user-bg"
out=$("$M" -f -c "$T/u.conf" 2>&1); rc=$?
check "nonexistent user: clear error, exit 4 ($out)" \
    bash -c "[ $rc -eq 4 ] && grep -q 'no-such-user-bg' <<<'$out'"
