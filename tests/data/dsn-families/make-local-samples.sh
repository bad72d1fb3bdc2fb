#!/usr/bin/env bash
# make-local-samples.sh — make real MTAs write the notices of their own local
# deliveries (no such local user, a mailbox over its size limit, a pipe
# command that fails, a forwarding loop) and their delay warnings, on
# loopback, for the lhost-postfix3-*, lhost-sendmail817-31.. and
# lhost-exim-20.. samples.
#
#   tests/data/dsn-families/make-local-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md says which is which).  Each MTA runs
# privately in a mount namespace of its own (unshare -m) with a private
# /etc/passwd that adds its test users; the machine's own MTA and its
# configuration are left alone.  Every test message is from
# catch-MTA@sink.test; the MTA sends its notice to tests/tools/refusing_smtpd.py
# on 127.0.0.1:2960, which keeps it (catch*).  Files: OUTDIR/MTA-CASE.eml,
# unchanged.  Ports: 2960 (sink), 2961 (Postfix's smtpd), 2962 (Sendmail),
# 2963 (Exim's daemon).  ONLY=postfix|sendmail|exim makes one MTA's samples.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-local-samples}
PORT=2960
NSPIDS=
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"
rm -rf "$W"
mkdir -p "$W/caught"

python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
SINK=$!
PIDS=$SINK
cleanup() {
    [ -n "${PF:-}" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
    kill $PIDS 2>/dev/null
    [ -n "$NSPIDS" ] && kill -KILL $NSPIDS 2>/dev/null
    true
}
trap cleanup EXIT
sleep 1

# want MTA: true unless ONLY names another MTA (ONLY=sendmail: that one alone)
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

# smtp_send PORT FROM RCPT: one small test message over SMTP
smtp_send() {
    python3 - "$@" <<'PY'
import smtplib, sys, time, email.utils
port, frm, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = ("From: Appliance <%s>\r\nTo: <%s>\r\nSubject: test for %s\r\n"
       "Message-ID: <%d.local@app.sink.test>\r\nDate: %s\r\n\r\nA test message.\r\n"
       % (frm, rcpt, rcpt, time.time_ns(), email.utils.formatdate(localtime=True)))
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.sendmail(frm, [rcpt], msg)
PY
}

# The pipe commands: exit with a given sysexits code.
mkdir -p "$W/bin"
for c in 67 73 75 77; do
    printf '#!/bin/sh\ncat >/dev/null\nexit %s\n' "$c" >"$W/bin/exit$c"
done
chmod 755 "$W" "$W/bin" "$W"/bin/*

# ---- Postfix 3.7 (the machine's package, a private instance) -------------
# local(8) delivers to mbox files in $PF/mail; the mailbox of "fullbox" is
# filled up to mailbox_size_limit before its message comes.  Aliases: pipes
# to /bin/false and to scripts exiting 67, 73, 77 and 75 (a temporary
# failure: the message stays queued and a delay warning goes out after
# delay_warning_time), and loopa -> loopb -> loopa (an alias loop); bob's
# .forward sends his mail to carol, whose .forward sends it back (a
# forwarding loop, found by the Delivered-To: header).  temp1@remote.test
# goes to the sink, which answers 451: a delay warning for a remote retry.
postfix_setup() {
    PF=$W/postfix
    mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/mail" "$PF/home/fullbox" "$PF/home/bob"
    chmod 1777 "$PF/mail"
    chown postfix "$PF/data"
    cp /etc/postfix/master.cf /etc/postfix/dynamicmaps.cf "$PF/etc/"
    cp /etc/passwd /etc/group "$PF/"
    echo "fullbox:x:2961:2961::$PF/home/fullbox:/bin/sh" >>"$PF/passwd"
    echo "bob:x:2962:2962::$PF/home/bob:/bin/sh" >>"$PF/passwd"
    echo "carol:x:2963:2963::$PF/home/carol:/bin/sh" >>"$PF/passwd"
    printf 'fullbox:x:2961:\nbob:x:2962:\ncarol:x:2963:\n' >>"$PF/group"
    mkdir -p "$PF/home/carol"
    # bob's mail goes on to carol, carol's back to bob
    echo carol@postfix.local.test >"$PF/home/bob/.forward"
    echo bob@postfix.local.test >"$PF/home/carol/.forward"
    chown 2961:2961 "$PF/home/fullbox"
    chown -R 2962:2962 "$PF/home/bob"
    chown -R 2963:2963 "$PF/home/carol"
    # the mailbox already at its limit (20000 bytes)
    head -c 20000 /dev/zero | tr '\0' x | fold -w 70 >"$PF/mail/fullbox"
    truncate -s 20000 "$PF/mail/fullbox"
    chown 2961:2961 "$PF/mail/fullbox"
    chmod 600 "$PF/mail/fullbox"
    cat >"$PF/aliases" <<EOF
postmaster: root
pipefalse: "|/bin/false"
pipenouser: "|$W/bin/exit67"
pipecantcreat: "|$W/bin/exit73"
pipenoperm: "|$W/bin/exit77"
pipetemp: "|$W/bin/exit75"
loopa: loopb
loopb: loopa
EOF
    cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = postfix.local.test
mydomain = local.test
myorigin = postfix.local.test
mydestination = postfix.local.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$PORT
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
alias_maps = hash:$PF/aliases
alias_database = hash:$PF/aliases
mail_spool_directory = $PF/mail
message_size_limit = 10000
mailbox_size_limit = 20000
delay_warning_time = 1s
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
biff = no
EOF
    sed -i -e 's/^smtp \{6\}inet.*/127.0.0.1:2961 inet n - n - - smtpd/' \
        -e 's/^\([a-z]* *\(unix\|inet\|fifo\|pass\|unix-dgram\) *[-ny] *[-ny] *\)[-y]/\1n/' "$PF/etc/master.cf"
    grep -q '^postlog' "$PF/etc/master.cf" || echo 'postlog unix-dgram n - n - 1 postlogd' >>"$PF/etc/master.cf"
    postalias -c "$PF/etc" "$PF/aliases"
    unshare -m sh -c "mount --bind $PF/passwd /etc/passwd && mount --bind $PF/group /etc/group && postfix -c $PF/etc start" >"$PF/start.log" 2>&1
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2961) 2>/dev/null && break; sleep 0.2; done
}

if want postfix; then
postfix_setup
n=0
for rc in nosuchuser fullbox pipefalse pipenouser pipecantcreat pipenoperm loopa pipetemp bob \
    temp1@remote.test; do
    n=$((n + 1))
    case $rc in *@*) ;; *) rc=$rc@postfix.local.test ;; esac
    smtp_send 2961 catch-postfix@sink.test "$rc"
    collect "$(printf 'postfix3-%02d' $n)" 40
done
postsuper -c "$PF/etc" -d ALL >/dev/null 2>&1 || true
postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
PF=
fi

# ---- Sendmail 8.17 (unpacked by scripts/install-deps) -------------------
# The local mailer is Sendmail's mail.local (FEATURE(local_lmtp)) writing to
# a private /var/mail, with LOCAL_MAILER_MAX 2000 (a larger message is too
# large for it); the prog mailer runs the alias pipes.  Messages are
# submitted on the command line with -oem (an unknown local user is refused
# at RCPT over SMTP: no bounce), so errors are mailed back to the sender,
# through the smart host (the sink; the relay mailer), and ring.sendmail.test
# goes back to Sendmail's own daemon (a mailertable entry; the esmtp mailer
# dials port 2962).  Timeout.queuewarn 1m: a warning for
# a message still queued (a pipe exiting 75, a remote 451) after a minute.
SENDMAIL_ROOT=${SENDMAIL_ROOT:-/var/cache/bounceguard/sendmail/root}
sendmail_start() {
    S=$W/sendmail
    local sm=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail cf=$SENDMAIL_ROOT/usr/share/sendmail/cf
    mkdir -p "$S/q" "$S/mail"
    chmod 700 "$S/q"
    chmod 1777 "$S/mail"
    cp /etc/passwd /etc/group "$S/"
    echo "bob:x:2962:2962::/nonexistent:/bin/sh" >>"$S/passwd"
    echo 'bob:x:2962:' >>"$S/group"
    cat >"$S/aliases" <<EOF
postmaster: root
MAILER-DAEMON: postmaster
pipefalse: "|/bin/false"
pipenouser: "|$W/bin/exit67"
pipecantcreat: "|$W/bin/exit73"
pipenoperm: "|$W/bin/exit77"
pipetemp: "|$W/bin/exit75"
loopa: loopb
loopb: loopa
EOF
    cat >"$S/local.mc" <<EOF
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$S/q')dnl
define(\`confPID_FILE', \`$S/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$S/aliases')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h 2962')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_QUEUEWARN', \`1m')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`LOCAL_MAILER_MAX', \`2000')dnl
DAEMON_OPTIONS(\`Port=2962, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`local_lmtp', \`$SENDMAIL_ROOT/usr/libexec/sendmail/mail.local')dnl
FEATURE(\`mailertable', \`hash $S/mailertable')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
    m4 "$S/local.mc" >"$S/local.cf"
    echo 'ring.sendmail.test esmtp:[127.0.0.1]' | "$SENDMAIL_ROOT/usr/libexec/sendmail/makemap" -C "$S/local.cf" hash "$S/mailertable"
    cat >"$S/ns.sh" <<EOF
mount --bind $S/passwd /etc/passwd && mount --bind $S/group /etc/group && mount --bind $S/mail /var/mail || exit 1
hostname sendmail.local.test
$sm -bi -C $S/local.cf
exec $sm -bD -q15s -C $S/local.cf
EOF
    # a daemon left from an earlier run would answer on 2962 in its place
    if (exec 3<>/dev/tcp/127.0.0.1/2962) 2>/dev/null; then
        echo "port 2962 is taken" >&2
        exit 1
    fi
    # no pid namespace: sh execs the daemon, so $! is Sendmail's own pid
    # (--kill-child would not end it: Sendmail changes its credentials)
    unshare --uts --mount sh "$S/ns.sh" >"$S/sendmail.out" 2>&1 &
    SM_NS=$!
    PIDS="$PIDS $SM_NS"
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/2962) 2>/dev/null && break; sleep 0.2; done
}

# sendmail_send RCPT [PAD]: a test message (PAD lines of padding) submitted
# on Sendmail's command line inside its namespace
sendmail_send() {
    local rcpt=$1 pad=${2:-0}
    {
        printf 'From: Appliance <catch-sendmail@sink.test>\nTo: <%s>\nSubject: test for %s\nMessage-ID: <%s.local@app.sink.test>\nDate: %s\n\nA test message.\n' \
            "$rcpt" "$rcpt" "$(date +%s%N)" "$(date -R)"
        for _ in $(seq "$pad"); do echo "padding padding padding padding padding padding padding"; done
    } | nsenter -t "$SM_NS" -m -u "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" -C "$S/local.cf" \
        -odi -oem -f catch-sendmail@sink.test "$rcpt"
}

# collect_for NAME WORD [SECONDS]: as collect, for the message in $W/caught
# that holds WORD (two warnings may come in either order)
collect_for() {
    local name=$1 word=$2 t=${3:-20} f
    for _ in $(seq "$((t * 4))"); do
        f=$(grep -l -- "$word" "$W"/caught/* 2>/dev/null | head -n 1)
        if [ -n "$f" ]; then
            sleep 0.5
            mv "$f" "$OUT/$name.eml"
            echo "made $name.eml"
            return 0
        fi
        sleep 0.25
    done
    echo "no bounce for $name" >&2
}

if want sendmail; then
sendmail_start
n=30
for rc in nosuchuser bob pipefalse pipenouser pipecantcreat pipenoperm loopa; do
    n=$((n + 1))
    pad=0
    [ "$rc" = bob ] && pad=60
    sendmail_send "$rc@sendmail.local.test" $pad || true
    collect "$(printf 'sendmail817-%02d' $n)" 30
done
# ring.sendmail.test: the mailertable sends it to Sendmail's own daemon
# (the esmtp mailer to port 2962), which greets with its own name
sendmail_send ring1@ring.sendmail.test || true
collect sendmail817-40 30
# the two warnings come after Timeout.queuewarn (a minute) and a queue run
sendmail_send pipetemp@sendmail.local.test || true
sendmail_send temp1@remote.test || true
collect_for sendmail817-38 pipetemp 150
collect_for sendmail817-39 temp1@remote.test 60
kill "$SM_NS" 2>/dev/null || true
fi

# ---- Exim 4.96 (Debian's exim4-daemon-light, downloaded and unpacked) ----
# An unknown local user is "Unrouteable address" (no router takes it:
# lhost-exim-07 has it), so Exim's cases are its transports' failures:
# appendfile with quota 20K on a mailbox already that large, the alias
# pipes (pipe transport, temp_errors 75:73 as by default), a routing loop
# (the domain ring.exim.test is sent to Exim's own daemon on 127.0.0.1:2963
# until received_headers_max, 30 by default, is passed) and delay warnings (delay_warning
# 15s, a retry rule for the two addresses that stay queued; all others have
# none, so a temporary failure is given up at once).
exim_local_setup() {
    E=$W/exim
    mkdir -p "$E/spool" "$E/log" "$E/mail" "$W/debs" "$W/root-exim4"
    (cd "$W/debs" && apt-get download exim4-daemon-light exim4-base >/dev/null 2>&1)
    for f in "$W"/debs/exim4*.deb; do dpkg-deb -x "$f" "$W/root-exim4"; done
    mkdir -p "$E/etc-up/exim4" "$E/etc-w"
    cp /etc/passwd /etc/group "$E/etc-up/"
    echo 'Debian-exim:x:990:990::/nonexistent:/usr/sbin/nologin' >>"$E/etc-up/passwd"
    echo "fullbox:x:2961:2961::$E/mail/fullbox:/bin/sh" >>"$E/etc-up/passwd"
    printf 'Debian-exim:x:990:\nfullbox:x:2961:\n' >>"$E/etc-up/group"
    chown 990:990 "$E/spool" "$E/log"
    # fullbox's mailbox ($home/mbox) already at its quota
    mkdir -p "$E/mail/fullbox"
    head -c 20480 /dev/zero | tr '\0' x | fold -w 70 >"$E/mail/fullbox/mbox"
    truncate -s 20480 "$E/mail/fullbox/mbox"
    chown -R 2961:2961 "$E/mail/fullbox"
    chmod 600 "$E/mail/fullbox/mbox"
    cat >"$E/aliases" <<EOF
pipefalse: |/bin/false
pipenouser: |$W/bin/exit67
pipecantcreat: |$W/bin/exit73
pipenoperm: |$W/bin/exit77
pipetemp: |$W/bin/exit75
EOF
    cat >"$E/etc-up/exim4/exim4.conf" <<EOF
primary_hostname = exim.local.test
spool_directory = $E/spool
log_file_path = $E/log/%slog
pid_file_path = $E/exim.pid
exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
local_interfaces = 127.0.0.1
daemon_smtp_ports = 2963
domainlist local_domains = exim.local.test
qualify_domain = exim.local.test
host_lookup =
keep_environment =
delay_warning = 15s
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
system_aliases:
  driver = redirect
  domains = +local_domains
  data = \${lookup{\$local_part}lsearch{$E/aliases}}
  pipe_transport = address_pipe
  user = nobody
  group = nogroup
localuser:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = local_delivery
remote:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * 127.0.0.1 byname
  self = send
  no_more
begin transports
remote_smtp:
  driver = smtp
  port = \${if eq{\$domain}{ring.exim.test}{2963}{$PORT}}
  hosts_try_chunking =
local_delivery:
  driver = appendfile
  file = \$home/mbox
  delivery_date_add
  envelope_to_add
  return_path_add
  quota = 20K
  mode = 0600
address_pipe:
  driver = pipe
  return_fail_output
begin retry
pipetemp@exim.local.test  *  F,1h,10s
temp1@remote.test  *  F,1h,10s
EOF
}

# ex ARGS...: Exim with the private files, in a mount namespace.  Its
# configuration is laid over /etc as /etc/exim4/exim4.conf, the file Debian's
# build reads: with -C Exim drops root and cannot deliver locally.
ex() {
    unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$E/etc-up,workdir=$E/etc-w /etc && mount --bind $W/root-exim4/usr/sbin /usr/sbin && /usr/sbin/exim4 $*"
}

exim_local_send() {
    printf 'From: Appliance <catch-exim@sink.test>\nTo: <%s>\nSubject: test for %s\nMessage-ID: <%s.local@app.sink.test>\nDate: %s\n\nA test message.\n' \
        "$1" "$1" "$(date +%s%N)" "$(date -R)" | ex -odi -f catch-exim@sink.test "$1"
}

if want exim; then
    exim_local_setup
    ex -bd
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2963) 2>/dev/null && break; sleep 0.2; done
    n=19
    for rc in fullbox pipefalse pipenouser pipecantcreat pipenoperm ring1@ring.exim.test; do
        n=$((n + 1))
        case $rc in *@*) ;; *) rc=$rc@exim.local.test ;; esac
        exim_local_send "$rc" || true
        collect "$(printf 'exim-%02d' $n)" 40
    done
    # the warnings: both addresses deferred, then a queue run after 15 s
    exim_local_send pipetemp@exim.local.test || true
    exim_local_send temp1@remote.test || true
    sleep 20
    ex -qf || true
    collect_for exim-26 pipetemp 30
    collect_for exim-27 temp1@remote.test 30
    [ -f "$E/exim.pid" ] && kill "$(cat "$E/exim.pid")" 2>/dev/null
fi

echo "done"
