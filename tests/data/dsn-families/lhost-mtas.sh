# shellcheck shell=bash
# lhost-mtas.sh — run real Exim, OpenSMTPD, dma, nullmailer and Courier
# privately on loopback, relaying everything to one SMTP server of ours.
# Sourced (not run) by make-lhost-samples.sh and
# tests/data/refusals/make-mta-bounces.sh; run as root on Debian 12.
#
# It leaves the machine's MTA (Postfix) alone: each MTA's Debian package is
# downloaded (apt-get download) and unpacked into a work folder, and the MTA
# runs from there in a mount namespace of its own (unshare -m) where its
# fixed paths (/etc/..., /var/spool/..., /usr/lib/...) are laid over with
# private folders.  Nothing is installed but the shared libraries the
# binaries need.
#
# The caller sets W (the work folder, emptied by lhost_unpack) and PORT (the
# relay's port on 127.0.0.1), and reads NSPIDS: the pid namespaces started
# (unshare --kill-child ignores SIGTERM while it waits: kill them with
# SIGKILL, and the namespace dies with them).  Each NAME_send FROM RCPT...
# submits the message on its stdin from FROM to the RCPTs.  With RESOLV set
# (a resolv.conf), Exim, OpenSMTPD and dma see it as /etc/resolv.conf in
# their namespace (make-netfail-samples.sh: a private dnsmasq).
NSPIDS=${NSPIDS:-}

# lhost_unpack: the MTAs' packages, downloaded and unpacked into $W/root-*
lhost_unpack() {
    local n f
    rm -rf "$W"
    mkdir -p "$W/debs"
    apt-get install -y -qq libidn12 >/dev/null
    (cd "$W/debs" && apt-get download exim4-daemon-light exim4-base opensmtpd dma nullmailer \
        courier-mta courier-base courier-authlib libcourier-unicode4 >/dev/null 2>&1)
    for n in exim4 opensmtpd dma nullmailer; do
        mkdir -p "$W/root-$n"
        for f in "$W"/debs/"$n"*.deb; do dpkg-deb -x "$f" "$W/root-$n"; done
    done
    mkdir -p "$W/root-courier"
    for f in "$W"/debs/courier*.deb "$W"/debs/libcourier*.deb; do dpkg-deb -x "$f" "$W/root-courier"; done
}

# ---- Exim 4 -------------------------------------------------------------
# No retry rules: Exim gives up on a temporary error at once ("retry
# timeout exceeded").  An address @exim.relay.test has no router:
# "Unrouteable address".
exim_setup() {
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
}

exim_send() {
    local from=$1
    shift
    unshare -m sh -c "${RESOLV:+mount --bind $RESOLV /etc/resolv.conf;} mount --bind $E/passwd /etc/passwd; mount --bind $E/group /etc/group; mount --bind $W/root-exim4/usr/sbin /usr/sbin; /usr/sbin/exim4 -C $E/exim.conf -odi -f $from $*"
}

# ---- OpenSMTPD ----------------------------------------------------------
# opensmtpd_start LISTEN [CONF]: smtpd listening on 127.0.0.1:LISTEN, its
# queue settings CONF (default: expire after 4 s, a delay report after 1 s);
# OPENSMTPD_RULES, when set, replaces the action and match lines (default:
# everything to 127.0.0.1:$PORT)
opensmtpd_start() {
    O=$W/opensmtpd
    mkdir -p "$O/spool" "$O/varlib/opensmtpd/empty" "$O/mail"
    chmod 711 "$O/spool"
    cp /etc/passwd /etc/group "$O/"
    printf 'opensmtpd:x:991:991::/var/lib/opensmtpd/empty:/usr/sbin/nologin\nopensmtpq:x:992:992::/var/lib/opensmtpd/empty:/usr/sbin/nologin\n' >>"$O/passwd"
    printf 'opensmtpd:x:991:\nopensmtpq:x:992:\n' >>"$O/group"
    cat >"$O/smtpd.conf" <<EOF
listen on 127.0.0.1 port $1
${2:-queue ttl 4s
bounce warn-interval 1s}
${OPENSMTPD_RULES:-action "relay" relay host smtp://127.0.0.1:$PORT
match from local for any action "relay"}
EOF
    unshare -mu -p -f --kill-child sh -c "hostname opensmtpd.relay.test; ${RESOLV:+mount --bind $RESOLV /etc/resolv.conf;} mount --bind $O/passwd /etc/passwd; mount --bind $O/group /etc/group; mount --bind $O/spool /var/spool; mount --bind $W/root-opensmtpd/usr/libexec /usr/libexec; mount --bind $O/varlib /var/lib; exec $W/root-opensmtpd/usr/sbin/smtpd -d -f $O/smtpd.conf" >"$O/smtpd.log" 2>&1 &
    NSPIDS="$NSPIDS $!"
    OPENSMTPD_PORT=$1
    sleep 2
}

opensmtpd_send() {
    local from=$1 rc
    shift
    rc=$(echo "$*" | tr ' ' ,)
    swaks --server "127.0.0.1:$OPENSMTPD_PORT" --from "$from" --to "$rc" --data - >/dev/null
}

# ---- DragonFly Mail Agent ---------------------------------------------
# dma retries a temporary error for days (not configurable): with
# DMA_LINGER=S, dma_send runs it in a pid namespace that ends after S
# seconds, so a retrying process does not outlive it.  Without, dma's
# delivering process (it forks one) goes on after dma_send returns.
dma_setup() {
    D=$W/dma
    mkdir -p "$D/upper/dma" "$D/work" "$D/spool"
    chown mail:mail "$D/spool"
    : >"$D/aliases"
    printf 'SMARTHOST 127.0.0.1\nPORT %s\nMAILNAME dma.relay.test\nSPOOLDIR %s\nALIASES %s\n' "$PORT" "$D/spool" "$D/aliases" >"$D/upper/dma/dma.conf"
    cp "$W/root-dma/etc/dma/auth.conf" "$D/upper/dma/"
}

dma_send() {
    local from=$1
    shift
    if [ -n "${DMA_LINGER:-}" ]; then
        unshare -m -p -f sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$D/upper,workdir=$D/work /etc && ${RESOLV:+mount --bind $RESOLV /etc/resolv.conf &&} $W/root-dma/usr/sbin/dma -f $from $*; sleep $DMA_LINGER"
    else
        unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$D/upper,workdir=$D/work /etc && ${RESOLV:+mount --bind $RESOLV /etc/resolv.conf &&} $W/root-dma/usr/sbin/dma -f $from $*"
    fi
}

# ---- nullmailer ---------------------------------------------------------
# nullmailer_setup LIFETIME: messages bounce after LIFETIME s in the queue.
# nm COMMAND runs COMMAND in nullmailer's namespace; nullmailer_send FROM
# RCPT... queues a message (nullmailer-send, run by the caller, sends it).
nullmailer_setup() {
    N=$W/nullmailer
    mkdir -p "$N/etc/nullmailer" "$N/spool/nullmailer/queue" "$N/spool/nullmailer/tmp" "$N/spool/nullmailer/failed"
    mkfifo "$N/spool/nullmailer/trigger"
    chown -R mail:mail "$N/spool/nullmailer"
    echo "127.0.0.1 smtp --port=$PORT" >"$N/etc/nullmailer/remotes"
    echo nullmailer.relay.test >"$N/etc/mailname"
    echo nullmailer.relay.test >"$N/etc/nullmailer/defaultdomain"
    echo "${1:-5}" >"$N/etc/nullmailer/queuelifetime"
    echo 2 >"$N/etc/nullmailer/pausetime"
    echo 2 >"$N/etc/nullmailer/maxpause"
}

nm() {
    unshare -m sh -c "mount -t overlay overlay -o lowerdir=$N/etc:/etc /etc && mount -t overlay overlay -o lowerdir=$W/root-nullmailer/usr:/usr /usr && mount --bind $N/spool /var/spool && $*"
}

nullmailer_send() {
    local from=$1
    shift
    nm "/usr/sbin/sendmail -f $from $*"
}

# ---- Courier ------------------------------------------------------------
# courierd runs as user courier (added to a private /etc/passwd) with /etc,
# /usr, /var/lib and /run laid over; messages are submitted inside its
# mount namespace (nsenter).  An unknown local user is refused at
# submission (no bounce).  courier_start [FILE=VALUE...]: each FILE of
# /etc/courier set to VALUE (e.g. queuetime=10s: Courier gives up on a
# deferred message after 10 s rather than a week).  COURIER_ROUTES, when
# set, is its esmtproutes (default: everything to 127.0.0.1:$PORT).
courier_start() {
    K=$W/courier
    local r=$W/root-courier
    mkdir -p "$K/etc/courier" "$K/var-up/courier" "$K/var-w" "$K/run-up/courier" "$K/run-w"
    cp -a "$r/var/lib/courier/." "$K/var-up/courier/"
    cp /etc/passwd /etc/group "$K/etc/"
    echo 'courier:x:994:994::/var/lib/courier:/usr/sbin/nologin' >>"$K/etc/passwd"
    echo 'courier:x:994:' >>"$K/etc/group"
    echo courier.relay.test >"$K/etc/courier/me"
    echo courier.relay.test >"$K/etc/courier/defaultdomain"
    echo courier.relay.test >"$K/etc/courier/locals"
    echo "${COURIER_ROUTES:-: [127.0.0.1],$PORT}" >"$K/etc/courier/esmtproutes"
    if [ -n "${RESOLV:-}" ]; then cp "$RESOLV" "$K/etc/resolv.conf"; fi
    for a in "$@"; do echo "${a#*=}" >"$K/etc/courier/${a%%=*}"; done
    chown -R 994:994 "$K/var-up/courier" "$K/run-up/courier"
    CLIB=/usr/lib/x86_64-linux-gnu/courier-authlib
    unshare -m -p -f --kill-child sh -c "mount -t overlay overlay -o lowerdir=$K/etc:$r/etc:/etc /etc && mount -t overlay overlay -o lowerdir=$r/usr:/usr /usr && mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$K/var-up,workdir=$K/var-w /var/lib && mount -t overlay overlay -o lowerdir=/run,upperdir=$K/run-up,workdir=$K/run-w /run && exec env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH=$CLIB sh -c 'set -a; . /etc/courier/courierd; /usr/lib/courier/courier/courierd'" >"$K/courierd.log" 2>&1 &
    COURIER_PID=$!
    NSPIDS="$NSPIDS $COURIER_PID"
    sleep 3
}

courier_send() {
    local from=$1
    shift
    nsenter -t "$COURIER_PID" -m env LD_LIBRARY_PATH="$CLIB" /usr/sbin/sendmail -f "$from" "$@"
}

# collect NAME [SECONDS]: wait up to SECONDS (20) for a new message in
# $W/caught/ and move it to $OUT/NAME.eml (the caller sets OUT).
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
