#!/usr/bin/env bash
# The Debian package, end to end, as root on a Debian 12 machine without
# systemd running (CI): make deb builds it, lintian finds no error, apt
# installs it with its dependencies; the programs, man pages, conffiles,
# units (the milter's enabled), tmpfiles.d, logrotate and examples are where
# Debian puts them, and the bounceguard user, store and log directory exist.
# The installed milter, started by hand with the installed config, becomes
# that user and answers a private Postfix on loopback: a recipient blocked
# with the installed CLI is refused 550 at RCPT, another is accepted and
# delivered.  dpkg --remove keeps the config, store, logs and user;
# dpkg --purge then leaves nothing behind: no file of the package, no
# /etc/bounceguard, no store, no logs, no user, no group.
#
# Not part of make test (it installs into the machine): .ci/run's deb
# stage runs it, after scripts/install-deps and scripts/install-deps-deb.
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed".
# Ports: Postfix 2790, sink 2791; the milter listens where the installed
# config says (inet:8894@127.0.0.1), or on 2792 when that port is taken.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
export TOP
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/bg-deb-test.XXXXXX)
SMTPD=2790
SINK=2791
MILTER_PORT=8894
. "$TOP/tests/integration/lib.sh"
OUT=$TOP/build-deb
CONF=/etc/bounceguard/bounceguard.conf
PIDFILE=/run/bounceguard/bounceguard-milter.pid
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
notok() { echo "not ok - $*"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit
}
installed() { dpkg-query -W -f='${Status}\n' bounceguard 2>/dev/null | grep -q ' installed$'; }
stop_installed_milter() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || return 0
    wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
}
cleanup() {
    stop_installed_milter
    stop_all
    # Never leave the package on the machine, whatever failed.
    installed && dpkg --purge bounceguard > /dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
    notok "run as root (it installs the package)"
    finish
fi

# 1. Build and lint.
start=$(date +%s)
make -s deb > "$T/make-deb.out" 2>&1
rc=$?
check "make deb builds the package in $(($(date +%s) - start)) s ($(tail -1 "$T/make-deb.out"))" \
    test $rc -eq 0
# An older package in build-deb/ is not this tree's.
[ $rc -eq 0 ] || { sed 's/^/# /' "$T/make-deb.out"; finish; }
DEB=$(ls "$OUT"/bounceguard_*.deb 2>/dev/null | head -1)
CHANGES=$(ls "$OUT"/bounceguard_*.changes 2>/dev/null | head -1)
[ -n "$DEB" ] && [ -n "$CHANGES" ] || { notok "build-deb/ holds the .deb and .changes"; finish; }
lintian --tag-display-limit 0 "$CHANGES" > "$T/lintian.out" 2>&1
lrc=$?
sed 's/^/# lintian: /' "$T/lintian.out"
errors=$(grep -c '^E: ' "$T/lintian.out")
warnings=$(grep -c '^W: ' "$T/lintian.out")
check "lintian: no error ($errors errors, $warnings warnings, exit $lrc)" \
    bash -c "[ $lrc -eq 0 ] && [ $errors -eq 0 ]"

# 2. Install.  The machine's tests take turns on loopback ports and on
# what is installed (tests/run-all): hold the same lock until the purge.
exec 9> "${TMPDIR:-/tmp}/bounceguard-tests.lock"
start=$(date +%s)
flock 9
echo "# waited $(($(date +%s) - start)) s for ${TMPDIR:-/tmp}/bounceguard-tests.lock"
if installed; then
    echo "# bounceguard was installed before this test: purging it first"
    dpkg --purge bounceguard > /dev/null 2>&1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$(realpath "$DEB")" > "$T/apt.out" 2>&1
check "apt-get install ./build-deb/${DEB##*/} ($(grep -E '^(E:|Setting up bounceguard)' "$T/apt.out" | tr '\n' ' '))" installed
installed || { sed 's/^/# /' "$T/apt.out"; finish; }
dpkg -L bounceguard | sort > "$T/files"
version=$(dpkg-query -W -f='${Version}' bounceguard)

for f in /usr/sbin/bounceguard-milter /usr/sbin/bounceguard-dsn /usr/bin/bounceguard; do
    check "$f installed and reports the package's version ($version)" \
        bash -c "[ -x $f ] && [ \"\$($f -V)\" = '${f##*/} $version' ]"
done
for m in man5/bounceguard.conf.5 man8/bounceguard-milter.8 man8/bounceguard-dsn.8 man8/bounceguard.8; do
    check "man page $m installed and renders" \
        bash -c "MANWIDTH=80 man -l /usr/share/man/$m.gz 2>/dev/null | grep -q SEE"
done
check "$CONF is conf/bounceguard.conf" cmp -s "$TOP/conf/bounceguard.conf" "$CONF"
conffiles=$(dpkg-query -W -f='${Conffiles}' bounceguard | awk '{print $1}' | sort | tr '\n' ' ')
check "conffiles: $CONF and /etc/logrotate.d/bounceguard ($conffiles)" \
    [ "$conffiles" = "/etc/bounceguard/bounceguard.conf /etc/logrotate.d/bounceguard " ]
check "/etc/logrotate.d/bounceguard is conf/logrotate" \
    cmp -s "$TOP/conf/logrotate" /etc/logrotate.d/bounceguard
for u in bounceguard-milter bounceguard-dsn-log; do
    check "unit $u.service in /lib/systemd/system runs /usr/sbin/${u%-log} with $CONF" \
        grep -q "^ExecStart=/usr/sbin/${u%-log} .*-c $CONF" "/lib/systemd/system/$u.service"
done
check "bounceguard-milter.service enabled (multi-user.target.wants)" \
    test -L /etc/systemd/system/multi-user.target.wants/bounceguard-milter.service
check "bounceguard-dsn-log.service installed but not enabled (it needs a readable mail log)" \
    test ! -e /etc/systemd/system/multi-user.target.wants/bounceguard-dsn-log.service
check "tmpfiles.d/bounceguard.conf installed" test -f /usr/lib/tmpfiles.d/bounceguard.conf
ex=/usr/share/doc/bounceguard/examples
for f in postfix-main.cf postfix-master.cf postfix-transport sendmail.mc sendmail-aliases \
    reply-rules.example; do
    check "example $f in $ex" bash -c "cmp -s '$TOP/conf/$f' $ex/$f || zcmp -s '$TOP/conf/$f' $ex/$f.gz"
done
check "/usr/share/doc/bounceguard/copyright" test -f /usr/share/doc/bounceguard/copyright

pw=$(getent passwd bounceguard)
check "user bounceguard: a system user, home /var/lib/bounceguard, no login shell ($pw)" \
    bash -c "IFS=: read -r n x uid gid g home sh <<<'$pw' && [ \$uid -lt 1000 ] && [ \$home = /var/lib/bounceguard ] && [ \$sh = /usr/sbin/nologin ] && [ \"\$(getent group bounceguard | cut -d: -f3)\" = \$gid ]"
owner() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
check "/var/lib/bounceguard: bounceguard:bounceguard 750 ($(owner /var/lib/bounceguard))" \
    [ "$(owner /var/lib/bounceguard)" = "bounceguard:bounceguard 750" ]
check "/var/log/bounceguard: bounceguard:adm 750 ($(owner /var/log/bounceguard))" \
    [ "$(owner /var/log/bounceguard)" = "bounceguard:adm 750" ]
check "/run/bounceguard made by tmpfiles.d: bounceguard:bounceguard 755 ($(owner /run/bounceguard))" \
    [ "$(owner /run/bounceguard)" = "bounceguard:bounceguard 755" ]
out=$(bounceguard-milter -n -c "$CONF" 2>&1)
check "the installed config is valid ($out)" grep -q 'is valid' <<<"$out"

# Installing again (an upgrade to the same version) changes nothing.
uid=$(id -u bounceguard)
echo "# an edited line" >> "$CONF"
dpkg -i "$DEB" > "$T/dpkg-again.out" 2>&1
rc=$?
check "a second install succeeds, keeps user $uid and the edited conffile" \
    bash -c "[ $rc -eq 0 ] && [ \"\$(id -u bounceguard)\" = $uid ] && grep -q '^# an edited line' $CONF"
sed -i '/^# an edited line$/d' "$CONF"

# 3. The installed milter, as the installed config says, behind Postfix.
MOPTS=()
if ! port_is_free "$MILTER_PORT" 2> /dev/null; then
    echo "# port $MILTER_PORT of $CONF is taken: the milter gets -p inet:2792@127.0.0.1"
    MILTER_PORT=2792
    MOPTS=(-p "inet:$MILTER_PORT@127.0.0.1")
fi
bounceguard-milter -c "$CONF" "${MOPTS[@]}" > "$T/milter.out" 2>&1
rc=$?
check "bounceguard-milter -c $CONF starts and becomes a daemon ($rc $(head -c 300 "$T/milter.out"))" \
    test $rc -eq 0
wait_port "$MILTER_PORT" 15 2> /dev/null
wait_for 10 test -s "$PIDFILE"
mpid=$(cat "$PIDFILE" 2>/dev/null)
check "the milter listens on $MILTER_PORT, pid file $PIDFILE ($mpid)" \
    bash -c "[ -n '$mpid' ] && kill -0 '$mpid' && (exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT)"
who=$(ps -o ruser:32=,euser:32=,egroup:32= -p "${mpid:-0}" 2>/dev/null | tr -s ' ' | sed 's/^ //; s/ $//')
check "the milter runs as bounceguard:bounceguard (real user, effective user and group: $who)" [ "$who" = "bounceguard bounceguard bounceguard" ]

out=$(bounceguard -c "$CONF" block blocked@example.net --reason "package test" 2>&1)
check "bounceguard block blocked@example.net with the installed CLI ($out)" \
    bash -c "bounceguard -c '$CONF' list 2>/dev/null | grep -q blocked@example.net"
left=$(find /var/lib/bounceguard ! -user bounceguard 2>/dev/null | head -3 | tr '\n' ' ')
check "every file of the store belongs to bounceguard (${left:-all})" [ -z "$left" ]

start_sink $SINK || notok "smtp-sink started"
if start_postfix $SMTPD $SINK "inet:127.0.0.1:$MILTER_PORT"; then
    r=$(rcpt_reply "$(smtp $SMTPD app@app.example blocked@example.net --quit-after RCPT)")
    check "blocked recipient refused 550 5.7.1 at RCPT ($r)" grep -q '^550 5.7.1 ' <<<"$r"
    out=$(smtp $SMTPD app@app.example good@example.com --body "deb-pass-marker")
    check "another recipient accepted ($(rcpt_reply "$out"))" grep -q '<-  250 2.0.0' <<<"$out"
    wait_for 10 sink_has deb-pass-marker
    check "and delivered to the sink" sink_has deb-pass-marker
    check "the refusal logged in /var/log/bounceguard/warning.log" \
        grep -q 'Recipient blocked@example.net' /var/log/bounceguard/warning.log
else
    notok "private Postfix started on $SMTPD"
fi
stop_all
stop_installed_milter
check "the milter stopped" bash -c "! kill -0 '${mpid:-0}' 2>/dev/null"

# 4. Remove keeps the config, the store, the logs and the user; purge
# leaves nothing.
dpkg --remove bounceguard > "$T/remove.out" 2>&1
check "dpkg --remove bounceguard removes the programs ($(tail -1 "$T/remove.out"))" \
    test ! -e /usr/sbin/bounceguard-milter
check "and keeps $CONF, the store, the logs and the user" \
    bash -c "[ -f $CONF ] && ls /var/lib/bounceguard | grep -q . && [ -d /var/log/bounceguard ] && getent passwd bounceguard > /dev/null"
dpkg --purge bounceguard > "$T/purge.out" 2>&1
check "dpkg --purge bounceguard ($(tail -1 "$T/purge.out"))" \
    bash -c "! dpkg-query -W -f='\${Status}' bounceguard 2>/dev/null | grep -qv not-installed"
left=$(while read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && echo "$f"; done < "$T/files" | tr '\n' ' ')
check "no file of the package is left (${left:-none})" [ -z "$left" ]
for d in /etc/bounceguard /var/lib/bounceguard /var/log/bounceguard /run/bounceguard \
    /usr/share/doc/bounceguard; do
    check "$d removed" test ! -e "$d"
done
check "user bounceguard removed ($(getent passwd bounceguard))" bash -c "! getent passwd bounceguard"
check "group bounceguard removed ($(getent group bounceguard))" bash -c "! getent group bounceguard"
left=$(find /etc/systemd /lib/systemd /var/lib/systemd -name 'bounceguard*' 2>/dev/null | tr '\n' ' ')
check "no unit file, enablement link or systemd state left (${left:-none})" [ -z "$left" ]
finish
