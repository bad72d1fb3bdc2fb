#!/usr/bin/env bash
# make-utf8-samples.sh — make real Postfix and Exim write the bounces of
# internationalised mail (SMTPUTF8, RFC 6531/6533) on loopback, for the
# lhost-postfix3-11.. and lhost-exim-28.. samples.
#
#   tests/data/dsn-families/make-utf8-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md says which is which).  Postfix is the
# machine's package run as a private instance (own config directory, queue
# and maillog_file); Exim is Debian's exim4-daemon-light, downloaded and
# unpacked, run in a mount namespace with its configuration laid over /etc
# (as make-local-samples.sh does).  The machine's own MTA is left alone.
#
# Two tests/tools/refusing_smtpd.py sinks play "the internet": 127.0.0.1:2980
# offers SMTPUTF8 (--smtputf8) and answers RCPT by the local part (未知*: 550
# 5.1.1 user unknown, 满*: 552 5.2.2 mailbox full), 127.0.0.1:2981 does not
# offer SMTPUTF8.  Mail for the domain plain.test goes to 2981, any other to
# 2980.  The test messages are submitted over SMTP with SMTPUTF8 (Postfix's
# smtpd on 2982, Exim's daemon on 2983) from catch-MTA@sink.test or, for a
# message whose sender needs SMTPUTF8, catch-送信者-MTA@sink.test; the bounce
# comes back to the sink on 2980, which keeps it (catch*).  Files:
# OUTDIR/MTA-NN.eml, unchanged.  ONLY=postfix|exim makes one MTA's samples.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-utf8-samples}
PORT=2980
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"
rm -rf "$W"
mkdir -p "$W/caught"

python3 "$TOP/tests/tools/refusing_smtpd.py" --smtputf8 2980 "$W/caught" "$W/sink.log" &
PIDS=$!
python3 "$TOP/tests/tools/refusing_smtpd.py" 2981 "$W/caught" "$W/sink-plain.log" &
PIDS="$PIDS $!"
cleanup() {
    [ -n "${PF:-}" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
    [ -n "${E:-}" ] && [ -f "$E/exim.pid" ] && kill "$(cat "$E/exim.pid")" 2>/dev/null
    kill $PIDS 2>/dev/null
    true
}
trap cleanup EXIT
sleep 1

want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

# utf8_send PORT FROM RCPT: one small test message over SMTP with SMTPUTF8;
# its From: and Subject: are UTF-8 (RFC 6532) when FROM is.
utf8_send() {
    python3 - "$@" <<'PY'
import smtplib, sys, time, email.utils
port, frm, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = ("From: Appliance <%s>\r\nTo: <%s>\r\nSubject: テスト test for %s\r\n"
       "Message-ID: <%d.utf8@app.sink.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
       "\r\nA test message. 試験。\r\n"
       % (frm, rcpt, rcpt, time.time_ns(), email.utils.formatdate(localtime=True)))
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.ehlo()
    s.sendmail(frm, [rcpt], msg.encode("utf-8"), mail_options=["SMTPUTF8", "BODY=8BITMIME"])
PY
}

# The cases, in order: a UTF-8 recipient refused at RCPT (user unknown) and
# one whose mailbox is full, by a host offering SMTPUTF8; an ASCII recipient
# of a message from a UTF-8 sender, and a UTF-8 recipient, at a host that
# does not offer SMTPUTF8.  (An ASCII recipient refused in a message that
# needs SMTPUTF8 gave nothing new: SOURCES.md.)
CASES="catch-MTA@sink.test:未知用户@例子.测试
catch-MTA@sink.test:满箱@例子.测试
catch-送信者-MTA@sink.test:ok1@plain.test
catch-MTA@sink.test:用户@plain.test"

run_cases() { # MTA SMTP-PORT FIRST-NUMBER
    local m=$1 port=$2 n=$3 c from rcpt
    while IFS= read -r c; do
        from=${c%%:*} rcpt=${c#*:}
        from=${from/MTA/$m}
        utf8_send "$port" "$from" "$rcpt" || echo "send failed: $c" >&2
        collect "$(printf 'lhost-%s-%02d' "$m" "$n")" 40
        n=$((n + 1))
    done <<EOF
$CASES
EOF
}

# ---- Postfix 3.7 (the machine's package, a private instance) -------------
if want postfix; then
    PF=$W/postfix
    mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
    chown postfix "$PF/data"
    cp /etc/postfix/master.cf /etc/postfix/dynamicmaps.cf "$PF/etc/"
    printf 'plain.test smtp:[127.0.0.1]:2981\n' >"$PF/transport"
    cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = postfix.utf8.test
mydomain = utf8.test
myorigin = postfix.utf8.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$PORT
transport_maps = hash:$PF/transport
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtputf8_enable = yes
alias_maps =
alias_database =
local_transport = error:no local delivery
biff = no
EOF
    postmap -c "$PF/etc" "$PF/transport"
    sed -i -e 's/^smtp \{6\}inet.*/127.0.0.1:2982 inet n - n - - smtpd/' \
        -e 's/^\([a-z]* *\(unix\|inet\|fifo\|pass\|unix-dgram\) *[-ny] *[-ny] *\)[-y]/\1n/' "$PF/etc/master.cf"
    grep -q '^postlog' "$PF/etc/master.cf" || echo 'postlog unix-dgram n - n - 1 postlogd' >>"$PF/etc/master.cf"
    postfix -c "$PF/etc" start >"$PF/start.log" 2>&1
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2982) 2>/dev/null && break; sleep 0.2; done
    run_cases postfix3 2982 "${POSTFIX_FIRST:-11}"
    postsuper -c "$PF/etc" -d ALL >/dev/null 2>&1 || true
    postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
    PF=
fi

# ---- Exim 4.96 (Debian's exim4-daemon-light, downloaded and unpacked) ----
# smtputf8_advertise_hosts is left at its default (*); the smtp transport
# does not downconvert (utf8_downconvert = 0), so a message that needs
# SMTPUTF8 is not sent to a host that does not offer it.
if want exim; then
    E=$W/exim
    mkdir -p "$E/spool" "$E/log" "$W/debs" "$W/root-exim4" "$E/etc-up/exim4" "$E/etc-w"
    (cd "$W/debs" && apt-get download exim4-daemon-light exim4-base >/dev/null 2>&1)
    for f in "$W"/debs/exim4*.deb; do dpkg-deb -x "$f" "$W/root-exim4"; done
    cp /etc/passwd /etc/group "$E/etc-up/"
    echo 'Debian-exim:x:990:990::/nonexistent:/usr/sbin/nologin' >>"$E/etc-up/passwd"
    echo 'Debian-exim:x:990:' >>"$E/etc-up/group"
    chown 990:990 "$E/spool" "$E/log"
    cat >"$E/etc-up/exim4/exim4.conf" <<EOF
primary_hostname = exim.utf8.test
spool_directory = $E/spool
log_file_path = $E/log/%slog
pid_file_path = $E/exim.pid
exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
local_interfaces = 127.0.0.1
daemon_smtp_ports = 2983
domainlist local_domains = exim.utf8.test
qualify_domain = exim.utf8.test
host_lookup =
keep_environment =
smtputf8_advertise_hosts = *
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
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
  port = \${if eq{\$domain}{plain.test}{2981}{$PORT}}
  hosts_try_chunking =
  utf8_downconvert = 0
begin retry
EOF
    unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$E/etc-up,workdir=$E/etc-w /etc && mount --bind $W/root-exim4/usr/sbin /usr/sbin && /usr/sbin/exim4 -bd -q1m" >"$E/daemon.log" 2>&1
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2983) 2>/dev/null && break; sleep 0.2; done
    run_cases exim 2983 "${EXIM_FIRST:-28}"
    [ -f "$E/exim.pid" ] && kill "$(cat "$E/exim.pid")" 2>/dev/null
    E=
fi
echo "done"
