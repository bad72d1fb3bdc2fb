#!/usr/bin/env bash
# make-netfail-samples.sh — make real MTAs write the bounces they write
# themselves when the destination cannot be reached (no remote reply): a
# domain that does not exist, a null MX (RFC 7505), an MX host that does not
# resolve, an MX pointing back at the MTA itself, a refused connection, no
# route to the host and a silent server until the queue lifetime runs out.
#
#   tests/data/dsn-families/make-netfail-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md, "Network failures").  Exim and OpenSMTPD
# run privately as lhost-mtas.sh (beside this script) says; Postfix is a
# private instance of the machine's postfix package (config, queue and log
# under the work folder, as ../shared/notes/mta-on-loopback.md says);
# Sendmail is the private one of scripts/install-deps, when it is there;
# Courier as lhost-mtas.sh says.
# After the download, everything runs in a network namespace of its own.  The
# machine's resolver and MTA are left alone: each MTA sees a resolv.conf of
# its own (bind-mounted in its mount namespace) naming a dnsmasq on
# 127.0.0.53:53 that knows only these names (everything else under .test is
# NXDOMAIN):
#
#   sink.test       MX mx.sink.test = 127.0.0.1 (the bounces come back here)
#   nosuchdomain.test  NXDOMAIN
#   nullmx.test     MX 0 .  (null MX)
#   badmx.test      MX mx.nowhere.test, which is NXDOMAIN
#   loop.test       MX mx.loop.test = 127.0.0.1, the MTA's own address
#   refused.test    MX mx.refused.test = 127.0.0.9 (nothing listens: refused)
#   noroute.test    MX mx.noroute.test = 127.0.0.77 (no route to host)
#   silent.test     MX mx.silent.test = 127.0.0.8, where a server on ports
#                   2958 and 2950 accepts the connection and never greets
#
# The bounces go to tests/tools/refusing_smtpd.py on 127.0.0.1:2950 (each
# test message is from catch-MTA@sink.test; sink.test is routed there
# statically, or by its MX for Sendmail).  dma (no smarthost, PORT 2950) was tried too: it kept all
# three DNS cases in its queue, retrying, and wrote no bounce.
# Queue lifetimes are short (Postfix 60 s, Sendmail and Courier 1 min,
# OpenSMTPD 20 s; Exim has no retry rule and gives up at once): the run
# takes 2-3 minutes.
# Each bounce is found by its recipient and written to OUTDIR as
# lhost-MTA-NN.eml, unchanged, numbered after the family's last sample.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-netfail-samples}
PORT=2950
DNS=127.0.0.53
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"
# Everything runs in a network namespace of its own (entered once the
# packages are downloaded): its loopback is up, and one loopback address,
# 127.0.0.77, has an unreachable route ("No route to host").  Nothing the
# script starts is seen from the machine's network, nor the reverse.
if [ -z "${NETFAIL_NETNS:-}" ]; then
    lhost_unpack
    exec unshare -n env NETFAIL_NETNS=1 WORK="$W" "$0" "$OUT"
fi
ip link set lo up
ip route add unreachable 127.0.0.77/32 table local
mkdir -p "$W/caught"
PIDS=
trap 'kill $PIDS 2>/dev/null; kill -KILL $NSPIDS 2>/dev/null; [ -n "${PF:-}" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1; true' EXIT

# ---- DNS ------------------------------------------------------------------
dnsmasq --keep-in-foreground --no-hosts --no-resolv --no-poll \
    --listen-address=$DNS --bind-interfaces --port=53 --local=/test/ \
    --mx-host=sink.test,mx.sink.test,10 --host-record=mx.sink.test,127.0.0.1 \
    --dns-rr=nullmx.test,15,000000 \
    --mx-host=badmx.test,mx.nowhere.test,10 \
    --mx-host=loop.test,mx.loop.test,10 --host-record=mx.loop.test,127.0.0.1 \
    --mx-host=refused.test,mx.refused.test,10 --host-record=mx.refused.test,127.0.0.9 \
    --mx-host=noroute.test,mx.noroute.test,10 --host-record=mx.noroute.test,127.0.0.77 \
    --host-record=sendmail.relay.test,127.0.0.1 \
    --mx-host=silent.test,mx.silent.test,10 --host-record=mx.silent.test,127.0.0.8 \
    --log-queries --log-facility="$W/dnsmasq.log" &
PIDS="$PIDS $!"
printf 'nameserver %s\noptions attempts:1 timeout:2\n' $DNS >"$W/resolv.conf"
RESOLV=$W/resolv.conf

python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
PIDS="$PIDS $!"
# the silent server: accepts, never says a word (port 2958 for Exim and
# Postfix, 2950 for Sendmail, whose SMTP port is 2950 for every host)
for p in 2958 $PORT; do
    python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.8", int(sys.argv[1]))); s.listen(8); held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$p" &
    PIDS="$PIDS $!"
done
sleep 1

# A test message from catch-$1@sink.test to $2, on stdout.
message() {
    printf 'From: Appliance <catch-%s@sink.test>\nTo: %s\nSubject: test for %s\nMessage-ID: <%s.%s@%s.relay.test>\nDate: %s\n\nA test message.\n' \
        "$1" "$2" "$2" "$(date +%s%N)" "$$" "$1" "$(date -R)"
}

# want NAME RCPT: the bounce naming RCPT is to become OUTDIR/NAME.eml
WANT=
want() { WANT="$WANT $1=$2"; }

# ---- Exim 4 -------------------------------------------------------------
# No retry rule: a refused connection or a silent server is given up at
# once ("retry timeout exceeded").  self = fail: an MX pointing at the host
# itself bounces ("lowest numbered MX record points to local host") rather
# than freezing the message (Exim's default).
exim_setup
cat >"$E/exim.conf" <<EOF
primary_hostname = exim.relay.test
spool_directory = $E/spool
log_file_path = $E/log/%slog
exim_user = Debian-exim
exim_group = Debian-exim
trusted_users = root
local_interfaces = 127.0.0.1
domainlist local_domains = exim.relay.test
qualify_domain = exim.relay.test
host_lookup =
keep_environment =
disable_ipv6 = true
begin routers
sink:
  driver = manualroute
  domains = sink.test
  transport = sink_smtp
  route_list = * 127.0.0.1 byname
  self = send
  no_more
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  self = fail
  no_more
begin transports
sink_smtp:
  driver = smtp
  port = $PORT
  hosts_try_chunking =
remote_smtp:
  driver = smtp
  port = \${if eq{\$domain}{silent.test}{2958}{25}}
  connect_timeout = 5s
  command_timeout = 5s
  hosts_try_chunking =
begin retry
EOF
n=10
for d in nosuchdomain.test nullmx.test badmx.test loop.test refused.test silent.test noroute.test; do
    n=$((n + 1))
    want "$(printf 'lhost-exim-%02d' $n)" "user-exim@$d"
    message exim "user-exim@$d" | exim_send catch-exim@sink.test "user-exim@$d" &
    PIDS="$PIDS $!"
done

# ---- OpenSMTPD ----------------------------------------------------------
# Its MX relay always connects to port 25: no silent case (127.0.0.8:25 is
# refused like 127.0.0.9:25) and no loop case (nothing of its own on 25).
# No noroute case: it logs "No MX found for domain" for it (as for the null
# MX), never tries 127.0.0.77, and expires it like 11 and 12.
# shellcheck disable=SC2034 # read by opensmtpd_start
OPENSMTPD_RULES="action \"sink\" relay host smtp://127.0.0.1:$PORT
action \"mx\" relay
match from local for domain \"sink.test\" action \"sink\"
match from local for any action \"mx\""
opensmtpd_start 2951 "queue ttl 20s"
n=9
# It takes every one of them as temporary ("No MX found for domain",
# "Network error on destination MXs"; only NXDOMAIN fails at once): they
# expire after the queue ttl, reported as "delayed" ("Envelope expired").
for d in nosuchdomain.test nullmx.test badmx.test refused.test; do
    n=$((n + 1))
    want "$(printf 'lhost-opensmtpd-%02d' $n)" "user-opensmtpd@$d"
    message opensmtpd "user-opensmtpd@$d" | opensmtpd_send catch-opensmtpd@sink.test "user-opensmtpd@$d"
done

# ---- Postfix (a private instance) ----------------------------------------
# Queue lifetime 60 s, a retry every 10 to 20 s, 5 s to connect and to wait
# for the greeting; sink.test by the transport map, the rest by MX.
PF=$W/postfix
mkdir -p "$PF/etc" "$PF/data" "$PF/queue"
chown postfix "$PF/data"
cp /etc/postfix/dynamicmaps.cf "$PF/etc/" 2>/dev/null || true
[ -d /etc/postfix/dynamicmaps.cf.d ] && cp -r /etc/postfix/dynamicmaps.cf.d "$PF/etc/"
sed -e 's/^smtp \{1,\}inet.*smtpd$/127.0.0.1:2952 inet n - n - - smtpd/' \
    -e 's/^\([a-z0-9:.]\{1,\} \{1,\}[a-z-]\{1,\} \{1,\}[-ny] \{1,\}[-ny] \{1,\}\)[-y]/\1n/' \
    /etc/postfix/master.cf >"$PF/etc/master.cf"
grep -q '^postlog' "$PF/etc/master.cf" || echo 'postlog unix-dgram n - n - 1 postlogd' >>"$PF/etc/master.cf"
printf 'sink.test smtp:[127.0.0.1]:%s\nsilent.test smtp:silent.test:2958\n' $PORT >"$PF/etc/transport"
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = postfix.relay.test
mydomain = relay.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_transport = error:no local delivery
transport_maps = texthash:$PF/etc/transport
maximal_queue_lifetime = 60s
bounce_queue_lifetime = 60s
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
smtp_connect_timeout = 5s
smtp_helo_timeout = 5s
delay_warning_time = 0
EOF
unshare -m sh -c "mount --bind $RESOLV /etc/resolv.conf && postfix -c $PF/etc start" >"$PF/start.log" 2>&1
sleep 2
n=0
for d in nosuchdomain.test nullmx.test badmx.test loop.test refused.test silent.test noroute.test; do
    n=$((n + 1))
    want "$(printf 'lhost-postfix-%02d' $n)" "user-postfix@$d"
    message postfix "user-postfix@$d" |
        swaks --server 127.0.0.1:2952 --from catch-postfix@sink.test --to "user-postfix@$d" --data - >/dev/null
done

# ---- Sendmail 8.17 (the private one of scripts/install-deps) --------------
# No smart host: the esmtp mailer looks up the MX and connects to PORT on
# every host (sink.test's MX is the sink).  Its own name is
# sendmail.relay.test; mx.loop.test is one of its names too (class w), so
# loop.test's MX points back at it.  1 min to return a deferred message, a
# queue run every 15 s, 5 s to connect and to wait for the greeting.
SENDMAIL_ROOT=${SENDMAIL_ROOT:-/var/cache/bounceguard/sendmail/root}
sm=$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail
if [ -x "$sm" ]; then
    S=$W/sendmail
    mkdir -p "$S/q"
    chmod 700 "$S/q"
    cf=$SENDMAIL_ROOT/usr/share/sendmail/cf
    cat >"$S/test.mc" <<EOC
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$S/q')dnl
define(\`confPID_FILE', \`$S/sendmail.pid')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $PORT')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_CONNECT', \`5s')dnl
define(\`confTO_INITIAL', \`5s')dnl
define(\`confTO_QUEUERETURN', \`1m')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
DAEMON_OPTIONS(\`Port=2953, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
MAILER(\`smtp')dnl
LOCAL_CONFIG
Cwmx.loop.test
EOC
    m4 "$S/test.mc" >"$S/test.cf"
    unshare --uts --mount sh -c "hostname sendmail.relay.test && mount --bind $RESOLV /etc/resolv.conf && exec $sm -bD -q15s -C $S/test.cf" >"$S/sendmail.out" 2>&1 &
    PIDS="$PIDS $!"
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/2953) 2>/dev/null && break; sleep 0.1; done
    n=20
    for d in nosuchdomain.test nullmx.test badmx.test loop.test refused.test silent.test noroute.test; do
        n=$((n + 1))
        want "$(printf 'lhost-sendmail817-%02d' $n)" "user-sendmail@$d"
        message sendmail "user-sendmail@$d" |
            swaks --server 127.0.0.1:2953 --from catch-sendmail@sink.test --to "user-sendmail@$d" --data - >/dev/null
    done
fi

# ---- Courier ------------------------------------------------------------
# sink.test by esmtproutes, the rest by MX (port 25: no silent case).  A
# deferred message is given up after queuetime 1 min; a retry every 10 s.
# Not kept: null MX, refused and no route, which it gives up after
# queuetime with the same words for all three ("Network is down").
COURIER_ROUTES="sink.test: [127.0.0.1],$PORT"
courier_start queuetime=60s retryalpha=10 retrybeta=3 retrygamma=20 retrymaxdelta=1 \
    esmtptimeoutconnect=5
n=7
for d in nosuchdomain.test badmx.test loop.test; do
    n=$((n + 1))
    want "$(printf 'lhost-courier-%02d' $n)" "user-courier@$d"
    message courier "user-courier@$d" | courier_send catch-courier@sink.test "user-courier@$d"
done

# ---- collect: each bounce by the recipient it names -----------------------
left=$WANT
for _ in $(seq 60); do
    [ -z "${left# }" ] && break
    next=
    for w in $left; do
        f=$(grep -l -F "${w#*=}" "$W"/caught/* 2>/dev/null | head -n 1 || true)
        if [ -n "$f" ]; then
            mv "$f" "$OUT/${w%%=*}.eml"
            echo "made ${w%%=*}.eml (${w#*=})"
        else
            next="$next $w"
        fi
    done
    left=$next
    sleep 5
done
for w in $left; do echo "no bounce for ${w%%=*} (${w#*=})" >&2; done
ls "$W/caught" | sed 's/^/left in caught: /'
echo "done"
