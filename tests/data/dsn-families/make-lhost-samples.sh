#!/usr/bin/env bash
# make-lhost-samples.sh — make real MTAs write bounces on loopback, for the
# lhost-exim-*, lhost-opensmtpd-*, lhost-dma-* and lhost-nullmailer-* samples.
#
#   tests/data/dsn-families/make-lhost-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md says which is which).  It leaves the
# machine's MTA (Postfix) alone: each MTA's Debian package is downloaded
# (apt-get download) and unpacked into a work folder, and the MTA runs from
# there in a mount namespace of its own (unshare -m) where its fixed paths
# (/etc/..., /var/spool/..., /usr/lib/...) are laid over with private folders.
# Nothing is installed but the shared libraries the binaries need.
#
# Every MTA relays to tests/tools/refusing_smtpd.py on 127.0.0.1:2626, which
# answers RCPT by the local part (unknown*: 550 5.1.1, full*: 552 5.2.2,
# rbl*: 554 5.7.1 ... blocked using zen.spamhaus.org, bare*: 550 without an
# enhanced code, temp*: 451 4.2.0, datarej*: 554 5.7.1 at the end of DATA)
# and keeps the messages sent to catch*@ — the bounces, since each test
# message is sent from catch-MTA@sink.test.  Bounce files are written to
# OUTDIR as MTA-CASE.eml.
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-lhost-samples}
PORT=2626
rm -rf "$W"
mkdir -p "$W/debs" "$W/caught"

apt-get install -y -qq libidn12 >/dev/null
(cd "$W/debs" && apt-get download exim4-daemon-light exim4-base opensmtpd dma nullmailer \
    courier-mta courier-base courier-authlib libcourier-unicode4 >/dev/null 2>&1)
for n in exim4 opensmtpd dma nullmailer; do
    mkdir -p "$W/root-$n"
    for f in "$W"/debs/"$n"*.deb; do dpkg-deb -x "$f" "$W/root-$n"; done
done

mkdir -p "$W/root-courier"
for f in "$W"/debs/courier*.deb "$W"/debs/libcourier*.deb; do dpkg-deb -x "$f" "$W/root-courier"; done

python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
SINK=$!
PIDS=$SINK
# The MTAs run in pid namespaces under unshare --kill-child; unshare ignores
# SIGTERM while it waits, so it gets SIGKILL, and the namespace dies with it.
NSPIDS=
trap 'kill $PIDS 2>/dev/null; kill -KILL $NSPIDS 2>/dev/null; true' EXIT
sleep 1

CASES="unknown1 full1 rbl1 bare1 temp1 datarej1"

# A test message to the recipients $2.. from catch-$1@sink.test, on stdout.
message() {
    local m=$1; shift
    local to
    to=$(echo "$*" | sed 's/ /, /g')
    printf 'From: Appliance <catch-%s%s@sink.test>\nTo: %s\nSubject: test for %s\nMessage-ID: <%s.%s@%s.relay.test>\nDate: %s\n\nA test message.\n' \
        "$m" "$SUFFIX" "$to" "$*" "$(date +%s%N)" "$$" "$m" "$(date -R)"
}

# After the recipient cases, each MTA sends one message from
# catch-MTA-rejectme@sink.test, which the sink refuses at MAIL FROM (553 5.7.1
# ... Sender address rejected): the bounce names the sender's address in the
# reply, never the recipient's.
SUFFIX=

# Wait up to $2 s for a new bounce in caught/ and move it to OUT/$1.eml.
collect() {
    local name=$1 t=${2:-20} f
    for _ in $(seq "$((t * 4))"); do
        f=$(ls "$W/caught" | head -n 1)
        if [ -n "$f" ]; then
            sleep 0.5
            mv "$W/caught/$f" "$OUT/$name.eml"
            echo "made $name.eml"
            return 0
        fi
        sleep 0.25
    done
    echo "no bounce for $name" >&2
}

# ---- Exim 4 -------------------------------------------------------------
E=$W/exim
mkdir -p "$E/spool" "$E/log"
cp /etc/passwd /etc/group "$E/"
echo 'Debian-exim:x:990:990::/nonexistent:/usr/sbin/nologin' >>"$E/passwd"
echo 'Debian-exim:x:990:' >>"$E/group"
chown 990:990 "$E/spool" "$E/log"
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
  port = $PORT
  hosts_try_chunking =
begin retry
EOF
# No retry rules: Exim gives up on a temporary error at once ("retry
# timeout exceeded").  nosuchuser@exim.relay.test has no router: "Unrouteable address".
exim_send() {
    message exim "$@" | unshare -m sh -c "mount --bind $E/passwd /etc/passwd; mount --bind $E/group /etc/group; mount --bind $W/root-exim4/usr/sbin /usr/sbin; /usr/sbin/exim4 -C $E/exim.conf -odi -f catch-exim$SUFFIX@sink.test $*"
}
n=0
for c in $CASES nosuchuser@exim.relay.test "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do case $a in *@*) echo "$a" ;; *) echo "$a@remote.test" ;; esac; done | tr '\n' ' ')
    exim_send $rc
    collect "$(printf 'exim-%02d' $n)"
done
# exim-09 is the success report (SOURCES.md)
SUFFIX=-rejectme
exim_send ok1@remote.test
collect exim-10
SUFFIX=

# ---- OpenSMTPD ----------------------------------------------------------
O=$W/opensmtpd
mkdir -p "$O/spool" "$O/varlib/opensmtpd/empty" "$O/mail"
chmod 711 "$O/spool"
cp /etc/passwd /etc/group "$O/"
printf 'opensmtpd:x:991:991::/var/lib/opensmtpd/empty:/usr/sbin/nologin\nopensmtpq:x:992:992::/var/lib/opensmtpd/empty:/usr/sbin/nologin\n' >>"$O/passwd"
printf 'opensmtpd:x:991:\nopensmtpq:x:992:\n' >>"$O/group"
cat >"$O/smtpd.conf" <<EOF
listen on 127.0.0.1 port 2531
queue ttl 4s
bounce warn-interval 1s
action "relay" relay host smtp://127.0.0.1:$PORT
match from local for any action "relay"
EOF
unshare -mu -p -f --kill-child sh -c "hostname opensmtpd.relay.test; mount --bind $O/passwd /etc/passwd; mount --bind $O/group /etc/group; mount --bind $O/spool /var/spool; mount --bind $W/root-opensmtpd/usr/libexec /usr/libexec; mount --bind $O/varlib /var/lib; exec $W/root-opensmtpd/usr/sbin/smtpd -d -f $O/smtpd.conf" >"$O/smtpd.log" 2>&1 &
NSPIDS="$NSPIDS $!"
sleep 2
n=0
for c in $CASES "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do echo "$a@remote.test"; done | paste -sd, -)
    message opensmtpd $c | swaks --server 127.0.0.1:2531 --from catch-opensmtpd$SUFFIX@sink.test --to "$rc" --data - >/dev/null
    collect "$(printf 'opensmtpd-%02d' $n)"
    # temp1: a "delayed" report first, then the expiry's "failed" one
    [ "$c" = temp1 ] && { n=$((n + 1)); collect "$(printf 'opensmtpd-%02d' $n)"; }
done
SUFFIX=-rejectme
message opensmtpd ok1@remote.test | swaks --server 127.0.0.1:2531 --from catch-opensmtpd$SUFFIX@sink.test --to ok1@remote.test --data - >/dev/null
collect opensmtpd-09
SUFFIX=

# ---- DragonFly Mail Agent ---------------------------------------------
D=$W/dma
mkdir -p "$D/upper/dma" "$D/work" "$D/spool"
chown mail:mail "$D/spool"
: >"$D/aliases"
printf 'SMARTHOST 127.0.0.1\nPORT %s\nMAILNAME dma.relay.test\nSPOOLDIR %s\nALIASES %s\n' $PORT "$D/spool" "$D/aliases" >"$D/upper/dma/dma.conf"
cp "$W/root-dma/etc/dma/auth.conf" "$D/upper/dma/"
n=0
for c in $CASES "unknown2 full2"; do
    n=$((n + 1))
    rc=$(for a in $c; do echo "$a@remote.test"; done | tr '\n' ' ')
    # dma keeps temp1 in its queue (it retries for days): no bounce; its
    # retrying process lives in a pid namespace that ends after 5 s
    if [ "$c" = temp1 ]; then
        message dma $rc | unshare -m -p -f sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$D/upper,workdir=$D/work /etc && $W/root-dma/usr/sbin/dma -f catch-dma$SUFFIX@sink.test $rc; sleep 5"
        continue
    fi
    message dma $rc | unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$D/upper,workdir=$D/work /etc && $W/root-dma/usr/sbin/dma -f catch-dma$SUFFIX@sink.test $rc"
    collect "$(printf 'dma-%02d' $n)"
    # two recipients: one bounce each
    [ "$c" = "unknown2 full2" ] && { n=$((n + 1)); collect "$(printf 'dma-%02d' $n)"; }
done
SUFFIX=-rejectme
message dma ok1@remote.test | unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$D/upper,workdir=$D/work /etc && $W/root-dma/usr/sbin/dma -f catch-dma$SUFFIX@sink.test ok1@remote.test"
collect dma-09
SUFFIX=

# ---- nullmailer ---------------------------------------------------------
N=$W/nullmailer
mkdir -p "$N/etc/nullmailer" "$N/spool/nullmailer/queue" "$N/spool/nullmailer/tmp" "$N/spool/nullmailer/failed"
mkfifo "$N/spool/nullmailer/trigger"
chown -R mail:mail "$N/spool/nullmailer"
echo "127.0.0.1 smtp --port=$PORT" >"$N/etc/nullmailer/remotes"
echo nullmailer.relay.test >"$N/etc/mailname"
echo nullmailer.relay.test >"$N/etc/nullmailer/defaultdomain"
echo 5 >"$N/etc/nullmailer/queuelifetime"
echo 2 >"$N/etc/nullmailer/pausetime"
echo 2 >"$N/etc/nullmailer/maxpause"
nm() {
    unshare -m sh -c "mount -t overlay overlay -o lowerdir=$N/etc:/etc /etc && mount -t overlay overlay -o lowerdir=$W/root-nullmailer/usr:/usr /usr && mount --bind $N/spool /var/spool && $*"
}
n=0
for c in $CASES sender; do
    n=$((n + 1))
    # the sender case after the recipient ones
    [ "$c" = sender ] && { SUFFIX=-rejectme; c=ok1; }
    message nullmailer "$c@remote.test" | nm "/usr/sbin/sendmail -f catch-nullmailer$SUFFIX@sink.test $c@remote.test"
    nm "su -s /bin/sh mail -c 'timeout 15 /usr/sbin/nullmailer-send'" >>"$N/send.log" 2>&1 &
    collect "$(printf 'nullmailer-%02d' $n)" 20
    wait $! || true
done
SUFFIX=
# ---- Courier ------------------------------------------------------------
# courierd runs as user courier (added to a private /etc/passwd) with /etc,
# /usr, /var/lib and /run laid over; messages are submitted inside its
# mount namespace (nsenter).  No temp case (Courier retries for a week) and
# no unknown local user (refused at submission: no bounce).
K=$W/courier
R=$W/root-courier
mkdir -p "$K/etc/courier" "$K/var-up/courier" "$K/var-w" "$K/run-up/courier" "$K/run-w"
cp -a "$R/var/lib/courier/." "$K/var-up/courier/"
cp /etc/passwd /etc/group "$K/etc/"
echo 'courier:x:994:994::/var/lib/courier:/usr/sbin/nologin' >>"$K/etc/passwd"
echo 'courier:x:994:' >>"$K/etc/group"
echo courier.relay.test >"$K/etc/courier/me"
echo courier.relay.test >"$K/etc/courier/defaultdomain"
echo courier.relay.test >"$K/etc/courier/locals"
echo ": [127.0.0.1],$PORT" >"$K/etc/courier/esmtproutes"
chown -R 994:994 "$K/var-up/courier" "$K/run-up/courier"
CLIB=/usr/lib/x86_64-linux-gnu/courier-authlib
unshare -m -p -f --kill-child sh -c "mount -t overlay overlay -o lowerdir=$K/etc:$R/etc:/etc /etc && mount -t overlay overlay -o lowerdir=$R/usr:/usr /usr && mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$K/var-up,workdir=$K/var-w /var/lib && mount -t overlay overlay -o lowerdir=/run,upperdir=$K/run-up,workdir=$K/run-w /run && exec env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH=$CLIB sh -c 'set -a; . /etc/courier/courierd; /usr/lib/courier/courier/courierd'" >"$K/courierd.log" 2>&1 &
CPID=$!
NSPIDS="$NSPIDS $CPID"
sleep 3
n=0
for c in unknown1 full1 rbl1 bare1 datarej1 "unknown2 full2" sender; do
    n=$((n + 1))
    from=catch-courier@sink.test rc=
    for a in $c; do
        case $a in
        sender) rc="$rc ok1@remote.test" from=catch-courier-rejectme@sink.test ;;
        *) rc="$rc $a@remote.test" ;;
        esac
    done
    printf 'From: Appliance <%s>\nTo: %s\nSubject: test for %s\n\nA test message.\n' "$from" \
        "$(echo $rc | sed 's/ /, /g')" "$c" |
        nsenter -t "$CPID" -m env LD_LIBRARY_PATH=$CLIB /usr/sbin/sendmail -f "$from" $rc
    collect "$(printf 'courier-%02d' $n)"
done
# courierd and its delivery modules live in a pid namespace of their own:
# ending unshare (--kill-child) ends them all
kill -KILL "$CPID" 2>/dev/null || true
echo done
